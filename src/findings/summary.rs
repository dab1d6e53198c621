//! The scan summary: what was scanned and skipped, counts by status and
//! check, duration and API usage. Part of `findings.json` and of stdout.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use super::printable;
use crate::checks::catalog::{CheckId, Status, StatusCounts};
use crate::checks::Finding;
use crate::exceptions::{format_date, ExceptionsSummary};
use crate::facts::{AccountFacts, OrgAccount};

/// A scan in numbers: the `summary` of findings.json, which also states
/// [`Summary::accounts_errored`], and the table printed on stdout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub accounts_scanned: usize,
    /// Listed by Organizations but not ACTIVE: never scanned.
    pub accounts_skipped: Vec<OrgAccount>,
    /// Opt-in regions the account has not enabled: not scanned, not failed.
    pub regions_skipped: BTreeMap<String, Vec<String>>,
    /// How much of the organisation was read in full, at a glance.
    pub coverage: Coverage,
    pub by_status: StatusCounts,
    pub by_check: BTreeMap<CheckId, StatusCounts>,
    /// Findings by top-level OU path (`Root/Workloads`; `Root` for accounts
    /// directly under the root). Rows without an OU (facts written before
    /// OUs were listed) are not counted here.
    pub by_top_level_ou: BTreeMap<String, StatusCounts>,
    pub duration_seconds: f64,
    pub api_calls: BTreeMap<String, u64>,
    /// What `--exceptions` accepted and flagged; `None` without it.
    pub exceptions: Option<ExceptionsSummary>,
    /// What `--security-hub` did; `None` without it (and from `evaluate`).
    pub security_hub: Option<super::SecurityHubSummary>,
}

/// Complete means no call failed: every verdict there rests on data read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Coverage {
    /// Accounts entered with no ERROR row.
    pub accounts_complete: usize,
    /// Accounts entered with at least one ERROR row.
    pub accounts_partial: usize,
    /// Accounts whose role or regions could not be read at all.
    pub accounts_unreachable: usize,
    /// Account × region pairs scanned.
    pub regions_scanned: usize,
    /// Scanned pairs with no ERROR row.
    pub regions_complete: usize,
    /// Scanned pairs with at least one ERROR row.
    pub regions_errored: usize,
    /// Pairs skipped because the account has not enabled the region.
    pub regions_not_enabled: usize,
    /// Rows with a verdict: PASS, FAIL or WARN.
    pub findings_decided: usize,
    /// ERROR rows.
    pub findings_errored: usize,
}

impl Coverage {
    /// Accounts, account-regions and verdicts, one phrase each, as stdout
    /// and the SNS message say them.
    pub fn phrases(&self) -> [String; 3] {
        [
            format!(
                "{} of {} accounts complete ({} partial, {} unreachable)",
                self.accounts_complete,
                self.accounts_complete + self.accounts_partial + self.accounts_unreachable,
                self.accounts_partial,
                self.accounts_unreachable,
            ),
            format!(
                "{} of {} account-regions complete ({} with errors, {} not enabled)",
                self.regions_complete,
                self.regions_scanned,
                self.regions_errored,
                self.regions_not_enabled,
            ),
            format!(
                "{} of {} verdicts decided ({} ERROR)",
                self.findings_decided,
                self.findings_decided + self.findings_errored,
                self.findings_errored,
            ),
        ]
    }
}

/// Counts accounts and their findings as they finish, so the summary needs
/// neither their facts nor their findings kept.
#[derive(Debug, Default)]
pub struct Tally {
    accounts_scanned: usize,
    accounts_unreachable: usize,
    regions_scanned: usize,
    regions_skipped: BTreeMap<String, Vec<String>>,
    by_status: StatusCounts,
    by_check: BTreeMap<CheckId, StatusCounts>,
    by_top_level_ou: BTreeMap<String, StatusCounts>,
    /// Accounts and regions with an ERROR row other than `scan.account_access`.
    errored_regions: BTreeSet<(String, String)>,
}

impl Tally {
    pub fn account(&mut self, account: &AccountFacts) {
        if account.access.is_ok() {
            self.accounts_scanned += 1;
        } else {
            self.accounts_unreachable += 1;
        }
        self.regions_scanned += account.regions.len();
        if !account.skipped_regions.is_empty() {
            self.regions_skipped
                .insert(account.id.clone(), account.skipped_regions.clone());
        }
    }

    pub fn findings(&mut self, findings: &[Finding]) {
        for finding in findings {
            self.by_status.add(finding.status);
            self.by_check
                .entry(finding.check)
                .or_default()
                .add(finding.status);
            if let Some(ou) = top_level_ou(&finding.ou_path) {
                self.by_top_level_ou
                    .entry(ou.to_string())
                    .or_default()
                    .add(finding.status);
            }
            if finding.status == Status::Error && finding.check != CheckId::AccountAccess {
                self.errored_regions
                    .insert((finding.account_id.clone(), finding.region.clone()));
            }
        }
    }

    /// `inactive` in any order.
    pub fn summary(
        self,
        inactive: &[OrgAccount],
        duration_seconds: f64,
        api_calls: &BTreeMap<String, u64>,
    ) -> Summary {
        let by_status = self.by_status;
        let partial_accounts: BTreeSet<&str> = self
            .errored_regions
            .iter()
            .map(|(account, _)| account.as_str())
            .collect();
        let errored = by_status.get(Status::Error);
        let total = by_status.total();
        let coverage = Coverage {
            accounts_complete: self.accounts_scanned.saturating_sub(partial_accounts.len()),
            accounts_partial: partial_accounts.len(),
            accounts_unreachable: self.accounts_unreachable,
            regions_scanned: self.regions_scanned,
            regions_complete: self
                .regions_scanned
                .saturating_sub(self.errored_regions.len()),
            regions_errored: self.errored_regions.len(),
            regions_not_enabled: self.regions_skipped.values().map(Vec::len).sum(),
            findings_decided: total - errored,
            findings_errored: errored,
        };
        let mut accounts_skipped = inactive.to_vec();
        accounts_skipped.sort_by(|a, b| a.id.cmp(&b.id));
        Summary {
            accounts_scanned: self.accounts_scanned,
            accounts_skipped,
            regions_skipped: self.regions_skipped,
            coverage,
            by_status,
            by_check: self.by_check,
            by_top_level_ou: self.by_top_level_ou,
            duration_seconds,
            api_calls: api_calls.clone(),
            exceptions: None,
            security_hub: None,
        }
    }
}

/// How the summary is told on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Telling {
    /// ANSI colour on the FAIL and ERROR counts (`--color`).
    pub colour: bool,
    /// Told of a re-evaluation (`cmkscan evaluate`): the duration and the
    /// requests are the scan's, read from its evidence, not this run's.
    pub re_evaluation: bool,
}

/// Red, as cargo and ripgrep colour an error.
const RED: &str = "\x1b[1;31m";
/// Yellow: an ERROR row is a verdict not made, not a failure.
const YELLOW: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

impl Telling {
    /// `text` (already padded) coloured for `status` when it counts
    /// something worth the eye: a non-zero FAIL or ERROR count.
    fn count(&self, status: Status, count: usize, text: String) -> String {
        let colour = match status {
            Status::Fail => RED,
            Status::Error => YELLOW,
            _ => return text,
        };
        if self.colour && count > 0 {
            format!("{colour}{text}{RESET}")
        } else {
            text
        }
    }
}

impl Summary {
    /// Accounts whose role could not be assumed or whose regions could not
    /// be listed (one `scan.account_access` ERROR row each): the
    /// `accounts_errored` of findings.json and the "access errors" on
    /// stdout, which predate `coverage` and say the same.
    pub fn accounts_errored(&self) -> usize {
        self.coverage.accounts_unreachable
    }

    /// Rows of `threshold` or worse (by [`Status::WORST_FIRST`]: a FAIL is
    /// worse than an ERROR) that no exception accepts, by status, worst
    /// first: what `--fail-on` gates on. Rows under an expired exception
    /// count; ERROR rows are never accepted.
    pub fn unaccepted_at_or_worse(&self, threshold: Status) -> Vec<(Status, usize)> {
        Status::WORST_FIRST
            .into_iter()
            .filter(|status| status.rank() <= threshold.rank())
            .map(|status| {
                let accepted = self
                    .exceptions
                    .as_ref()
                    .map_or(0, |e| e.accepted_rows.get(status));
                (status, self.by_status.get(status).saturating_sub(accepted))
            })
            .collect()
    }

    /// The table printed on stdout at the end of a scan.
    pub fn render(&self) -> String {
        self.tell(Telling::default())
    }

    /// The table printed on stdout, told as `telling` says.
    pub fn tell(&self, telling: Telling) -> String {
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
            self.accounts_errored(),
            self.accounts_skipped.len(),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join(", "))
            }
        );
        let _ = writeln!(
            out,
            "coverage: {}",
            self.coverage.phrases().join("\n          ")
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
        let row = |out: &mut String, name: &str, counts: &StatusCounts| {
            let cells: Vec<String> = [Status::Pass, Status::Fail, Status::Warn, Status::Error]
                .into_iter()
                .map(|status| {
                    let count = counts.get(status);
                    telling.count(status, count, format!("{count:>6}"))
                })
                .collect();
            let _ = writeln!(out, "{name:<34} {}", cells.join(" "));
        };
        for (check, counts) in &self.by_check {
            row(&mut out, check.as_str(), counts);
        }
        row(&mut out, "total", &self.by_status);
        if !self.by_top_level_ou.is_empty() {
            let _ = writeln!(
                out,
                "{:<34} {:>6} {:>6} {:>6} {:>6}",
                "top-level OU", "PASS", "FAIL", "WARN", "ERROR"
            );
            for (ou, counts) in &self.by_top_level_ou {
                row(&mut out, &printable(ou), counts);
            }
        }
        if let Some(exceptions) = &self.exceptions {
            render_exceptions(&mut out, exceptions, &self.by_status);
        }
        let calls: u64 = self.api_calls.values().sum();
        if telling.re_evaluation {
            let _ = writeln!(
                out,
                "the scan (from its evidence): duration {:.1}s, AWS requests {calls}",
                self.duration_seconds
            );
        } else {
            let _ = writeln!(
                out,
                "duration: {:.1}s, AWS requests: {calls}",
                self.duration_seconds
            );
        }
        out
    }
}

/// The exceptions' lines on stdout: accepted rows counted apart from their
/// status's total, then the exceptions that need a reviewer: expired, stale
/// and those matching ERROR rows. Ids are printed as they are (the file
/// allows only letters, digits and `._-` in them).
fn render_exceptions(out: &mut String, exceptions: &ExceptionsSummary, by_status: &StatusCounts) {
    let _ = writeln!(
        out,
        "exceptions: {} in {} (sha256 {}), judged as of {}",
        exceptions.exceptions.len(),
        printable(&exceptions.source),
        exceptions.sha256.get(..12).unwrap_or(&exceptions.sha256),
        format_date(exceptions.as_of)
    );
    for status in [Status::Fail, Status::Warn, Status::Pass] {
        let total = by_status.get(status);
        let accepted = exceptions.accepted_rows.get(status);
        let flagged = exceptions.expired_rows.get(status);
        // PASS rows are worth a line only when an exception names them.
        if status == Status::Pass && accepted + flagged == 0 {
            continue;
        }
        let _ = write!(
            out,
            "          {status} {total}, of which {accepted} accepted"
        );
        if flagged > 0 {
            let _ = write!(out, " ({flagged} more under expired exceptions)");
        }
        out.push('\n');
    }
    let errors = by_status.get(Status::Error);
    let _ = writeln!(out, "          ERROR {errors}, never accepted");
    let expired: Vec<String> = exceptions
        .exceptions
        .iter()
        .filter(|e| exceptions.expired.contains(&e.id))
        .map(|e| format!("{} (expired {})", e.id, format_date(e.expires)))
        .collect();
    if !expired.is_empty() {
        let _ = writeln!(out, "          expired: {}", expired.join(", "));
    }
    if !exceptions.stale.is_empty() {
        let _ = writeln!(
            out,
            "          stale (matched nothing): {}",
            exceptions.stale.join(", ")
        );
    }
    if !exceptions.matching_errors.is_empty() {
        let _ = writeln!(
            out,
            "          matching ERROR rows (not accepted): {}",
            exceptions.matching_errors.join(", ")
        );
    }
}

/// The root and the OU right under it of an OU path: `Root/Workloads` of
/// `Root/Workloads/Prod`, `Root` itself for an account directly under the
/// root; `None` for an empty path (facts from before OUs were listed).
fn top_level_ou(ou_path: &str) -> Option<&str> {
    if ou_path.is_empty() {
        return None;
    }
    let mut slashes = ou_path.match_indices('/').map(|(at, _)| at);
    Some(match (slashes.next(), slashes.next()) {
        (Some(_), Some(second)) => &ou_path[..second],
        _ => ou_path,
    })
}

/// The `summary` object of findings.json (docs/report-format.md): the fields
/// in their order, with `accounts_errored` derived where it always stood.
impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            accounts_scanned: usize,
            accounts_errored: usize,
            accounts_skipped: &'a [OrgAccount],
            regions_skipped: &'a BTreeMap<String, Vec<String>>,
            coverage: &'a Coverage,
            by_status: &'a StatusCounts,
            by_check: &'a BTreeMap<CheckId, StatusCounts>,
            by_top_level_ou: &'a BTreeMap<String, StatusCounts>,
            duration_seconds: f64,
            api_calls: &'a BTreeMap<String, u64>,
            exceptions: &'a Option<ExceptionsSummary>,
            #[serde(skip_serializing_if = "Option::is_none")]
            security_hub: Option<&'a super::SecurityHubSummary>,
        }
        // Destructured, so that a field added to `Summary` cannot be left
        // out of the JSON unnoticed.
        let Summary {
            accounts_scanned,
            accounts_skipped,
            regions_skipped,
            coverage,
            by_status,
            by_check,
            by_top_level_ou,
            duration_seconds,
            api_calls,
            exceptions,
            security_hub,
        } = self;
        Json {
            accounts_scanned: *accounts_scanned,
            accounts_errored: self.accounts_errored(),
            accounts_skipped,
            regions_skipped,
            coverage,
            by_status,
            by_check,
            by_top_level_ou,
            duration_seconds: *duration_seconds,
            api_calls,
            exceptions,
            security_hub: security_hub.as_ref(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{fixtures, ACCOUNT_WIDE};

    #[test]
    fn skipped_regions_are_grouped_by_identical_lists() {
        let list = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let summary = Summary {
            accounts_scanned: 3,
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
            duration_seconds: 1.0,
            ..Summary::default()
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

    #[test]
    fn json_states_accounts_errored_as_the_unreachable_count_in_its_place() {
        let summary = Summary {
            accounts_scanned: 1,
            coverage: Coverage {
                accounts_unreachable: 2,
                ..Coverage::default()
            },
            duration_seconds: 1.5,
            ..Summary::default()
        };
        let json = serde_json::to_string(&summary).unwrap();
        assert!(
            json.starts_with(
                r#"{"accounts_scanned":1,"accounts_errored":2,"accounts_skipped":[],"regions_skipped":{},"coverage":{"#
            ),
            "{json}"
        );
        assert!(
            json.ends_with(
                r#""by_status":{"PASS":0,"FAIL":0,"WARN":0,"ERROR":0},"by_check":{},"by_top_level_ou":{},"duration_seconds":1.5,"api_calls":{},"exceptions":null}"#
            ),
            "{json}"
        );
        assert!(
            summary
                .render()
                .starts_with("accounts: 1 scanned, 2 access errors, 0 not active\n"),
            "{}",
            summary.render()
        );
    }

    #[test]
    fn findings_roll_up_by_top_level_ou() {
        assert_eq!(
            top_level_ou("Root/Workloads/Prod/Web"),
            Some("Root/Workloads")
        );
        assert_eq!(top_level_ou("Root/Workloads"), Some("Root/Workloads"));
        assert_eq!(top_level_ou("Root"), Some("Root"));
        assert_eq!(top_level_ou(""), None);
        let in_ou = |ou: &str, status| Finding {
            ou_path: ou.into(),
            ..finding("111111111111", "us-east-1", CheckId::KeyState, status)
        };
        let mut tally = Tally::default();
        tally.findings(&[
            in_ou("Root/Workloads/Prod", Status::Fail),
            in_ou("Root/Workloads", Status::Pass),
            in_ou("Root", Status::Error),
            in_ou("Root/Evil\u{1b}[31m", Status::Warn),
            // From facts written before OUs: counted, but in no OU.
            in_ou("", Status::Pass),
        ]);
        let summary = tally.summary(&[], 0.0, &BTreeMap::new());
        let counts = |ou: &str| {
            summary.by_top_level_ou[ou]
                .iter()
                .filter(|(_, n)| *n > 0)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            counts("Root/Workloads"),
            [(Status::Pass, 1), (Status::Fail, 1)]
        );
        assert_eq!(counts("Root"), [(Status::Error, 1)]);
        assert_eq!(summary.by_top_level_ou.len(), 3);
        assert_eq!(summary.by_status.get(Status::Pass), 2);
        let rendered = summary.render();
        assert!(rendered.contains("\ntop-level OU "), "{rendered}");
        assert!(rendered.contains("\nRoot/Workloads "), "{rendered}");
        // The escape character never reaches the terminal.
        assert!(!rendered.contains('\u{1b}'), "{rendered}");
        assert!(rendered.contains("Root/Evil\\u{1b}[31m"), "{rendered}");
    }

    use fixtures::bare_finding as finding;

    fn account(id: &str, regions: &[&str], skipped: &[&str], reached: bool) -> AccountFacts {
        AccountFacts {
            id: id.into(),
            name: String::new(),
            ou_path: String::new(),
            ou_id: String::new(),
            ou_ancestors: Vec::new(),
            access: if reached {
                Ok(())
            } else {
                Err(crate::aws::throttle::CallError::new(
                    crate::aws::api::Api::StsAssumeRole,
                    "AccessDenied",
                    "no",
                ))
            },
            skipped_regions: skipped.iter().map(|s| s.to_string()).collect(),
            trails: Vec::new(),
            regions: regions
                .iter()
                .map(|r| crate::facts::RegionFacts {
                    region: r.to_string(),
                    visible_trails: Ok(Vec::new()),
                    config: Ok(Default::default()),
                    rules: Ok(Vec::new()),
                    keys: Ok(Default::default()),
                    recent_events: Ok(Vec::new()),
                })
                .collect(),
        }
    }

    #[test]
    fn coverage_counts_complete_partial_and_unreachable() {
        let mut tally = Tally::default();
        tally.account(&account(
            "111111111111",
            &["us-east-1", "eu-west-1"],
            &[],
            true,
        ));
        tally.account(&account(
            "222222222222",
            &["us-east-1", "eu-west-1"],
            &["ap-east-1"],
            true,
        ));
        tally.account(&account("333333333333", &[], &[], false));
        let findings = [
            finding(
                "111111111111",
                "us-east-1",
                CheckId::KmsEventsLogged,
                Status::Pass,
            ),
            finding(
                "111111111111",
                "eu-west-1",
                CheckId::KmsEventsLogged,
                Status::Fail,
            ),
            finding(
                "222222222222",
                "us-east-1",
                CheckId::KmsEventsLogged,
                Status::Pass,
            ),
            finding(
                "222222222222",
                "eu-west-1",
                CheckId::KmsEventsLogged,
                Status::Error,
            ),
            finding(
                "222222222222",
                "eu-west-1",
                CheckId::KmsKeyRecording,
                Status::Error,
            ),
            finding(
                "333333333333",
                ACCOUNT_WIDE,
                CheckId::AccountAccess,
                Status::Error,
            ),
        ];
        tally.findings(&findings);
        let summary = tally.summary(&[], 1.0, &BTreeMap::new());
        assert_eq!(
            summary.coverage,
            Coverage {
                accounts_complete: 1,
                accounts_partial: 1,
                accounts_unreachable: 1,
                regions_scanned: 4,
                regions_complete: 3,
                regions_errored: 1,
                regions_not_enabled: 1,
                findings_decided: 3,
                findings_errored: 3,
            }
        );
        assert!(
            summary.render().contains(
                "coverage: 1 of 3 accounts complete (1 partial, 1 unreachable)\n          \
                 3 of 4 account-regions complete (1 with errors, 1 not enabled)\n          \
                 3 of 6 verdicts decided (3 ERROR)\n"
            ),
            "{}",
            summary.render()
        );
    }

    #[test]
    fn only_non_zero_fail_and_error_counts_are_coloured_and_evaluate_names_the_scan() {
        let mut by_status = StatusCounts::default();
        by_status.add(Status::Fail);
        by_status.add(Status::Pass);
        let summary = Summary {
            by_status,
            ..Summary::default()
        };
        let plain = summary.render();
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = summary.tell(Telling {
            colour: true,
            re_evaluation: false,
        });
        let total = coloured
            .lines()
            .find(|l| l.starts_with("total"))
            .expect("total");
        assert_eq!(
            total,
            format!(
                "{:<34} {:>6} {RED}{:>6}{RESET} {:>6} {:>6}",
                "total", 1, 1, 0, 0
            )
        );
        // Without colour, the same table.
        assert_eq!(coloured.replace(RED, "").replace(RESET, ""), plain);
        let told = summary.tell(Telling {
            colour: false,
            re_evaluation: true,
        });
        assert!(
            told.contains("the scan (from its evidence): duration 0.0s, AWS requests 0"),
            "{told}"
        );
        assert!(!told.contains("\nduration:"), "{told}");
    }

    #[test]
    fn fail_on_counts_rows_at_or_worse_than_its_status_less_the_accepted() {
        let mut by_status = StatusCounts::default();
        for status in [Status::Fail, Status::Fail, Status::Error, Status::Warn] {
            by_status.add(status);
        }
        let summary = Summary {
            by_status,
            ..Summary::default()
        };
        assert_eq!(
            summary.unaccepted_at_or_worse(Status::Fail),
            vec![(Status::Fail, 2)]
        );
        assert_eq!(
            summary.unaccepted_at_or_worse(Status::Error),
            vec![(Status::Fail, 2), (Status::Error, 1)]
        );
    }
}
