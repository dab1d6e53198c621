//! The scan summary: what was scanned and skipped, counts by status and
//! check, duration and API usage. Part of `findings.json` and of stdout.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::api::Api;
use crate::checks::catalog::{CheckId, Status};
use crate::checks::Finding;
use crate::facts::{OrgAccount, ScanFacts};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub accounts_scanned: usize,
    /// Accounts whose role could not be assumed or whose regions could not
    /// be listed (one `scan.account_access` ERROR row each).
    pub accounts_errored: usize,
    /// Listed by Organizations but not ACTIVE: never scanned.
    pub accounts_skipped: Vec<OrgAccount>,
    /// Opt-in regions the account has not enabled: not scanned, not failed.
    pub regions_skipped: BTreeMap<String, Vec<String>>,
    pub by_status: BTreeMap<Status, usize>,
    pub by_check: BTreeMap<CheckId, BTreeMap<Status, usize>>,
    pub duration_seconds: f64,
    pub api_calls: BTreeMap<String, u64>,
}

impl Summary {
    pub fn new(
        facts: &ScanFacts,
        findings: &[Finding],
        duration_seconds: f64,
        api_calls: &[(Api, u64)],
    ) -> Self {
        let mut by_status: BTreeMap<Status, usize> = Status::ALL.iter().map(|s| (*s, 0)).collect();
        let mut by_check: BTreeMap<CheckId, BTreeMap<Status, usize>> = BTreeMap::new();
        for finding in findings {
            *by_status.entry(finding.status).or_default() += 1;
            *by_check
                .entry(finding.check)
                .or_insert_with(|| Status::ALL.iter().map(|s| (*s, 0)).collect())
                .entry(finding.status)
                .or_default() += 1;
        }
        let accounts_errored = facts.accounts.iter().filter(|a| a.access.is_err()).count();
        Summary {
            accounts_scanned: facts.accounts.len() - accounts_errored,
            accounts_errored,
            accounts_skipped: facts.inactive_accounts.clone(),
            regions_skipped: facts
                .accounts
                .iter()
                .filter(|a| !a.skipped_regions.is_empty())
                .map(|a| (a.id.clone(), a.skipped_regions.clone()))
                .collect(),
            by_status,
            by_check,
            duration_seconds,
            api_calls: api_calls
                .iter()
                .map(|(api, count)| (api.to_string(), *count))
                .collect(),
        }
    }

    /// The table printed on stdout at the end of a scan.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let skipped = self
            .accounts_skipped
            .iter()
            .map(|a| format!("{} {}", a.id, a.status))
            .collect::<Vec<_>>();
        let _ = writeln!(
            out,
            "accounts: {} scanned, {} access errors, {} not active{}",
            self.accounts_scanned,
            self.accounts_errored,
            self.accounts_skipped.len(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join(", "))
            }
        );
        // Most accounts share the same opt-in choices: one line per choice.
        let mut by_regions: BTreeMap<&[String], Vec<&str>> = BTreeMap::new();
        for (account, regions) in &self.regions_skipped {
            by_regions.entry(regions).or_default().push(account);
        }
        for (regions, accounts) in by_regions {
            let whose = match accounts.as_slice() {
                [one] => (*one).to_string(),
                many => format!("{} accounts", many.len()),
            };
            let _ = writeln!(
                out,
                "regions not enabled in {whose} (skipped): {}",
                regions.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "{:<34} {:>6} {:>6} {:>6} {:>6}",
            "check", "PASS", "FAIL", "WARN", "ERROR"
        );
        let row = |out: &mut String, name: &str, counts: &BTreeMap<Status, usize>| {
            let n = |s| counts.get(&s).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "{:<34} {:>6} {:>6} {:>6} {:>6}",
                name,
                n(Status::Pass),
                n(Status::Fail),
                n(Status::Warn),
                n(Status::Error)
            );
        };
        for (check, counts) in &self.by_check {
            row(&mut out, check.as_str(), counts);
        }
        row(&mut out, "total", &self.by_status);
        let calls: u64 = self.api_calls.values().sum();
        let _ = writeln!(
            out,
            "duration: {:.1}s, AWS requests: {calls}",
            self.duration_seconds
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_regions_are_grouped_by_identical_lists() {
        let list = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let summary = Summary {
            accounts_scanned: 3,
            accounts_errored: 0,
            accounts_skipped: Vec::new(),
            regions_skipped: [
                (
                    "111111111111".to_string(),
                    list(&["ap-east-1", "me-south-1"]),
                ),
                (
                    "222222222222".to_string(),
                    list(&["ap-east-1", "me-south-1"]),
                ),
                ("333333333333".to_string(), list(&["ap-east-1"])),
            ]
            .into_iter()
            .collect(),
            by_status: BTreeMap::new(),
            by_check: BTreeMap::new(),
            duration_seconds: 1.0,
            api_calls: BTreeMap::new(),
        };
        let rendered = summary.render();
        assert!(
            rendered.contains("regions not enabled in 2 accounts (skipped): ap-east-1, me-south-1"),
            "{rendered}"
        );
        assert!(
            rendered.contains("regions not enabled in 333333333333 (skipped): ap-east-1\n"),
            "{rendered}"
        );
    }
}
