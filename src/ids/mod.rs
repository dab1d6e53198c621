//! Validated input: once parsed, these cannot hold a bad value, and nothing
//! downstream checks them again.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::aws::arn::Arn;

mod kms_key;
mod metric_namespace;
mod s3;
mod topic;

pub use crate::aws::external_id::ExternalId;
pub use kms_key::KmsKeyId;
pub use metric_namespace::MetricNamespace;
pub use s3::{BucketName, FileSource, S3Uri};
pub use topic::TopicArn;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{0:?} is not an AWS account id (12 digits)")]
    AccountId(String),
    #[error("{0:?} is not an S3 URI: expected s3://bucket or s3://bucket/prefix")]
    S3Uri(String),
    #[error("{value:?} is not a valid S3 bucket name: {why}")]
    BucketName { value: String, why: &'static str },
    #[error("{0:?} names no S3 object: expected s3://bucket/key")]
    S3ObjectKey(String),
    #[error("expected a path or s3://bucket/key, not an empty value")]
    EmptyPath,
    #[error(
        "{value:?} is not an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<topic>): {why}"
    )]
    TopicArn { value: String, why: &'static str },
    #[error("{0:?} is not a KMS key: expected a key id, key ARN, alias/name or alias ARN")]
    KmsKeyId(String),
    #[error("{0:?} is not a region name")]
    RegionName(String),
    #[error("{0:?} is not an IAM role name: 1 to 64 letters, digits or _+=,.@- (optionally after a path such as team/)")]
    RoleName(String),
    #[error(
        "{value:?} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>): {why}"
    )]
    RoleArn { value: String, why: String },
    #[error("{0:?} is not an organizational unit id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)")]
    OuId(String),
    #[error("{value:?} is not a CloudWatch metric namespace: {why}")]
    MetricNamespace { value: String, why: &'static str },
    #[error("{0:?} is not an email address (one @, no spaces or quotes, at most 254 characters)")]
    EmailAddress(String),
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(InputError::AccountId(s.to_string()))
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organizational unit id (`ou-` then 4 to 32 lowercase letters or
/// digits, `-`, 8 to 32 more) or a root id (`r-` then 4 to 32), the shapes
/// AWS documents for them; whether it exists is asked of Organizations when
/// the scan starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OuId(String);

impl OuId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.starts_with("r-")
    }
}

impl FromStr for OuId {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let run = |part: &str, min: usize| {
            (min..=32).contains(&part.len())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let shaped = match (s.strip_prefix("ou-"), s.strip_prefix("r-")) {
            (Some(ou), _) => ou
                .split_once('-')
                .is_some_and(|(root, own)| run(root, 4) && run(own, 8)),
            (None, Some(root)) => run(root, 4),
            (None, None) => false,
        };
        if shaped {
            Ok(OuId(s.to_string()))
        } else {
            Err(InputError::OuId(s.to_string()))
        }
    }
}

impl fmt::Display for OuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A region name as typed; whether it exists is checked against the
/// partition's region list (from AWS) when the scan starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionName(String);

impl RegionName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RegionName {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let shaped = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if shaped {
            Ok(RegionName(s.to_string()))
        } else {
            Err(InputError::RegionName(s.to_string()))
        }
    }
}

/// An IAM role name, optionally after a path (`team/ops/Name`): it becomes
/// `arn:…:role/<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RoleName {
    type Err = InputError;

    /// AWS's rules: a name of 1-64 letters, digits and `_+=,.@-`; path
    /// segments of the same characters; 512 characters in all.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        };
        let name = s.rsplit('/').next().unwrap_or_default();
        if s.len() <= 512 && name.len() <= 64 && s.split('/').all(segment_ok) {
            Ok(RoleName(s.to_string()))
        } else {
            Err(InputError::RoleName(s.to_string()))
        }
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ARN of an IAM role in one account, e.g. `--org-role`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    arn: String,
    account: AccountId,
}

impl RoleArn {
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The account the role lives in.
    pub fn account(&self) -> &AccountId {
        &self.account
    }
}

impl FromStr for RoleArn {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let fail = |why: String| InputError::RoleArn {
            value: s.to_string(),
            why,
        };
        let arn = Arn::parse(s).map_err(|err| fail(err.why.to_string()))?;
        if arn.service != "iam" || !arn.region.is_empty() {
            return Err(fail("not an IAM ARN (service iam, no region)".into()));
        }
        let account: AccountId = arn
            .account
            .parse()
            .map_err(|err: InputError| fail(err.to_string()))?;
        let name = arn
            .resource
            .strip_prefix("role/")
            .ok_or_else(|| fail("its resource is not role/<name>".into()))?;
        name.parse::<RoleName>()
            .map_err(|err| fail(err.to_string()))?;
        Ok(RoleArn {
            arn: s.to_string(),
            account,
        })
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// An email address an alert goes to (`cmkscan plan --alert-email`): the
/// shape SNS needs, `local@domain`, and nothing a shell or a template
/// would read as more than text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EmailAddress {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let shaped = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
            })
            && s.matches('@').count() == 1
            && s.chars().all(|c| {
                c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '`' | '\\' | '<' | '>' | '$')
            });
        if shaped {
            Ok(EmailAddress(s.to_string()))
        } else {
            Err(InputError::EmailAddress(s.to_string()))
        }
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which regions to scan, as `--regions` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSelection {
    /// Every region the account has enabled.
    All,
    /// Exactly these (those an account has not enabled are skipped).
    Listed(Vec<RegionName>),
}

impl FromStr for RegionSelection {
    type Err = InputError;

    /// `all`, or comma-separated region names (duplicates collapse).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "all" {
            return Ok(RegionSelection::All);
        }
        let names: BTreeSet<RegionName> = s.split(',').map(str::parse).collect::<Result<_, _>>()?;
        Ok(RegionSelection::Listed(names.into_iter().collect()))
    }
}

/// The partition a region belongs to, from its name.
pub fn partition_of(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-iso-", "aws-iso"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map(|(_, partition)| *partition)
        .unwrap_or("aws")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses() {
        assert!("security@example.com".parse::<EmailAddress>().is_ok());
        for bad in [
            "",
            "security",
            "a@b",
            "a@@example.com",
            "a b@example.com",
            "a'b@example.com",
            "$(id)@example.com",
            "a@.example.com",
        ] {
            assert!(bad.parse::<EmailAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ou_and_root_ids() {
        for good in ["ou-ab12-cdef3456", "r-ab12", " ou-abcd-0123456789abcdef "] {
            assert!(good.parse::<OuId>().is_ok(), "{good}");
        }
        assert!("r-ab12".parse::<OuId>().unwrap().is_root());
        assert!(!"ou-ab12-cdef3456".parse::<OuId>().unwrap().is_root());
        for bad in [
            "",
            "ou-",
            "ou-ab12",
            "ou-ab1-cdef3456",
            "ou-ab12-cdef345",
            "ou-AB12-cdef3456",
            "ou-ab12-cdef3456-x",
            "r-ab1",
            "r-ab12-x",
            "Root",
            "123456789012",
        ] {
            assert!(bad.parse::<OuId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn account_ids() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "",
            "-12345678901",
        ] {
            assert_eq!(
                bad.parse::<AccountId>(),
                Err(InputError::AccountId(bad.to_string()))
            );
        }
    }

    #[test]
    fn role_names_and_arns() {
        for name in ["CmkScanReadOnly", "team/ops/Cmk-Scan_1", "a+b=c,d.e@f"] {
            assert_eq!(name.parse::<RoleName>().unwrap().as_str(), name);
        }
        for bad in ["", "team//Name", "Name/", "has space", &"r".repeat(65)] {
            assert!(bad.parse::<RoleName>().is_err(), "{bad}");
        }
        let arn: RoleArn = "arn:aws:iam::111122223333:role/security/CmkScanOrgReader"
            .parse()
            .unwrap();
        assert_eq!(arn.account().as_str(), "111122223333");
        assert!("arn:aws-cn:iam::111122223333:role/R"
            .parse::<RoleArn>()
            .is_ok());
        for bad in [
            "CmkScanOrgReader",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam:us-east-1:111122223333:role/R",
            "arn:aws:sts::111122223333:role/R",
            "arn:aws:iam::1111:role/R",
            "arn:aws:iam::111122223333:role/bad name",
        ] {
            let err = bad.parse::<RoleArn>().unwrap_err();
            assert!(
                err.to_string().contains("not an IAM role ARN"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn region_selections() {
        assert_eq!("all".parse(), Ok(RegionSelection::All));
        let listed: RegionSelection = "eu-west-1,us-east-1,eu-west-1".parse().unwrap();
        let names = |names: &[&str]| names.iter().map(|n| n.parse().unwrap()).collect();
        assert_eq!(
            listed,
            RegionSelection::Listed(names(&["eu-west-1", "us-east-1"]))
        );
        assert_eq!(
            "us-east-1,Mars".parse::<RegionSelection>(),
            Err(InputError::RegionName("Mars".into()))
        );
    }

    #[test]
    fn region_names() {
        assert!("eu-west-1".parse::<RegionName>().is_ok());
        for bad in ["", "EU-WEST-1", "eu_west_1", "-eu", "eu-west-1 ; rm"] {
            assert!(bad.parse::<RegionName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn partition_follows_region_prefix() {
        assert_eq!(partition_of("eu-west-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of("us-isob-east-1"), "aws-iso-b");
    }
}
