//! Which rows an exception matches, and whether it is still in force.

use time::Date;

use super::file::Exception;
use super::ExceptionState;
use crate::checks::catalog::CheckId;
use crate::ids::{AccountId, OuId, RegionName};

/// An entry of `accounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountPattern {
    Any,
    Account(String),
    /// An OU or a root: every account under it, however deep.
    Ou(String),
}

/// An entry of `regions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionPattern {
    /// Every region, and the account-wide rows (region `global`).
    Any,
    Region(String),
}

/// An entry of `checks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckPattern {
    Any,
    Check(CheckId),
}

/// An entry of `resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcePattern {
    /// `*`: every row, those with an empty `resource_id` too.
    Any,
    Exact(String),
    /// With `*` (any run of characters, `/` and `:` included) or `?` (one
    /// character); every other character stands for itself.
    Glob(String),
}

impl AccountPattern {
    pub fn parse(value: &str) -> Option<Self> {
        if value == "*" {
            return Some(AccountPattern::Any);
        }
        if let Ok(id) = value.parse::<AccountId>() {
            return Some(AccountPattern::Account(id.as_str().to_string()));
        }
        value
            .parse::<OuId>()
            .ok()
            .map(|ou| AccountPattern::Ou(ou.as_str().to_string()))
    }
}

impl RegionPattern {
    /// `*`, or a name shaped like AWS's: a two-letter prefix, words, and a
    /// number (`eu-west-1`, `us-gov-west-1`). A well-formed region that
    /// does not exist simply matches nothing.
    pub fn parse(value: &str) -> Option<Self> {
        if value == "*" {
            return Some(RegionPattern::Any);
        }
        let name = value.parse::<RegionName>().ok()?;
        let parts: Vec<&str> = name.as_str().split('-').collect();
        let letters = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
        let shaped = parts.len() >= 3
            && parts[0].len() == 2
            && parts[..parts.len() - 1].iter().all(|p| letters(p))
            && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit());
        shaped.then(|| RegionPattern::Region(name.as_str().to_string()))
    }
}

impl CheckPattern {
    pub fn parse(value: &str) -> Option<Self> {
        if value == "*" {
            return Some(CheckPattern::Any);
        }
        CheckId::from_id(value).map(CheckPattern::Check)
    }
}

impl ResourcePattern {
    pub fn parse(value: &str) -> Self {
        if value == "*" {
            ResourcePattern::Any
        } else if value.contains(['*', '?']) {
            ResourcePattern::Glob(value.to_string())
        } else {
            ResourcePattern::Exact(value.to_string())
        }
    }

    fn matches(&self, resource_id: &str) -> bool {
        match self {
            ResourcePattern::Any => true,
            ResourcePattern::Exact(arn) => arn == resource_id,
            ResourcePattern::Glob(glob) => glob_matches(glob, resource_id),
        }
    }
}

/// What an exception is matched against: a row, and where its account sits
/// in the organisation.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub account_id: &'a str,
    /// The ids of the root and every OU above the account.
    pub ou_ids: &'a [String],
    pub region: &'a str,
    pub check: CheckId,
    pub resource_id: &'a str,
}

impl Exception {
    /// Whether the row is one this exception names: some entry of each of
    /// `accounts`, `regions`, `checks` and `resources` fits it.
    pub fn matches(&self, row: &Subject<'_>) -> bool {
        self.accounts.iter().any(|a| match a {
            AccountPattern::Any => true,
            AccountPattern::Account(id) => id == row.account_id,
            AccountPattern::Ou(ou) => row.ou_ids.iter().any(|id| id == ou),
        }) && self.regions.iter().any(|r| match r {
            RegionPattern::Any => true,
            RegionPattern::Region(name) => name == row.region,
        }) && self.checks.iter().any(|c| match c {
            CheckPattern::Any => true,
            CheckPattern::Check(id) => *id == row.check,
        }) && self.resources.iter().any(|r| r.matches(row.resource_id))
    }

    /// Active through its `expires` day (UTC), expired from the next.
    pub fn state_on(&self, day: Date) -> ExceptionState {
        if day > self.expires {
            ExceptionState::Expired
        } else {
            ExceptionState::Active
        }
    }
}

/// `*` matches any run of characters (none included), `?` exactly one.
/// Greedy with one backtrack point, so linear in practice and never
/// exponential.
fn glob_matches(glob: &str, text: &str) -> bool {
    let glob: Vec<char> = glob.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut g, mut t) = (0, 0);
    // The last `*` seen and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) => {
                    g = star_g + 1;
                    t = star_t + 1;
                    star = Some((star_g, star_t + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_and_single_characters() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd";
        assert!(glob_matches("arn:aws:kms:*:key/*", key));
        assert!(glob_matches("arn:aws:kms:us-east-1:*", key));
        assert!(glob_matches("*1234abcd", key));
        assert!(glob_matches(
            "arn:aws:kms:us-east-?:111122223333:key/1234abc?",
            key
        ));
        assert!(glob_matches("*:*:*", key));
        assert!(!glob_matches("arn:aws:kms:eu-*", key));
        assert!(!glob_matches(
            "arn:aws:kms:us-east-1:111122223333:key/1234abc",
            key
        ));
        assert!(!glob_matches("?", ""));
        assert!(glob_matches("**", ""));
        assert!(!glob_matches("arn:*", ""));
        // Backtracking over many stars stays cheap.
        let long = "a".repeat(2000);
        assert!(!glob_matches(&format!("{}b", "*a".repeat(50)), &long));
    }

    #[test]
    fn patterns_parse_only_well_formed_values() {
        assert_eq!(AccountPattern::parse("*"), Some(AccountPattern::Any));
        assert_eq!(
            AccountPattern::parse("111122223333"),
            Some(AccountPattern::Account("111122223333".into()))
        );
        assert_eq!(
            AccountPattern::parse("ou-ab12-cdef3456"),
            Some(AccountPattern::Ou("ou-ab12-cdef3456".into()))
        );
        assert_eq!(
            AccountPattern::parse("r-ab12"),
            Some(AccountPattern::Ou("r-ab12".into()))
        );
        for bad in [
            "11112222333",
            "1111222233334",
            "ou-ab12",
            "ou-AB12-cdef3456",
            "prod",
            "",
        ] {
            assert_eq!(AccountPattern::parse(bad), None, "{bad}");
        }
        for good in ["eu-west-1", "us-gov-west-1", "ap-southeast-7", "cn-north-1"] {
            assert_eq!(
                RegionPattern::parse(good),
                Some(RegionPattern::Region(good.into()))
            );
        }
        for bad in [
            "global",
            "eu-west",
            "euwest1",
            "EU-WEST-1",
            "e-west-1",
            "eu--1",
            "eu-west-1a",
        ] {
            assert_eq!(RegionPattern::parse(bad), None, "{bad}");
        }
        assert_eq!(
            CheckPattern::parse("kms.key_state"),
            Some(CheckPattern::Check(CheckId::KeyState))
        );
        assert_eq!(CheckPattern::parse("kms.keystate"), None);
        assert_eq!(ResourcePattern::parse("*"), ResourcePattern::Any);
        assert!(matches!(
            ResourcePattern::parse("arn:aws:kms:*"),
            ResourcePattern::Glob(_)
        ));
        assert!(matches!(
            ResourcePattern::parse("arn:aws:kms:x"),
            ResourcePattern::Exact(_)
        ));
    }
}
