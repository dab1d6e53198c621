//! The `security_hub` section of findings.json: what `--security-hub` did
//! with the scan's findings (docs/report-format.md).

use std::fmt::Write as _;

use serde::Serialize;

/// Counts are findings; every finding of the scan is in exactly one of
/// `imported`, `failed` and `skipped`; `archived` and `archive_failed`
/// count earlier findings, not this scan's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecurityHubSummary {
    /// Findings imported (created, or updated in place), `ACTIVE`.
    pub imported: usize,
    /// Findings cmkscan had sent before that this scan no longer reports,
    /// now `ARCHIVED`.
    pub archived: usize,
    /// This scan's findings Security Hub refused (`FailedFindings`), or
    /// whose request still failed after its retries.
    pub failed: usize,
    /// Earlier findings that should have been archived and were not
    /// (refused, or their request failed): still `ACTIVE`.
    pub archive_failed: usize,
    /// Findings not sent: Security Hub is not enabled in their region, or
    /// the import role cannot be assumed in their account.
    pub skipped: usize,
    /// Accounts with findings to import.
    pub accounts: usize,
    /// Of those, accounts whose import role was refused (`AccessDenied`).
    /// All of them refused means the role is missing everywhere, or named
    /// or trusted wrongly: the run fails ([`Self::role_refused_everywhere`]).
    pub accounts_without_role: usize,
    /// Every account × region not imported in full, and why.
    pub issues: Vec<SecurityHubIssue>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecurityHubIssue {
    pub account_id: String,
    pub region: String,
    pub outcome: IssueOutcome,
    /// Findings it concerns.
    pub findings: usize,
    /// The error, as AWS gave it.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueOutcome {
    /// Not sent, by the organisation's choice (Security Hub off, no role).
    Skipped,
    /// Sent, or meant to be, and lost.
    Failed,
}

impl SecurityHubSummary {
    /// Adds another account's or region's counts.
    pub fn add(&mut self, other: SecurityHubSummary) {
        self.imported += other.imported;
        self.archived += other.archived;
        self.failed += other.failed;
        self.archive_failed += other.archive_failed;
        self.skipped += other.skipped;
        self.accounts += other.accounts;
        self.accounts_without_role += other.accounts_without_role;
        self.issues.extend(other.issues);
        self.issues.sort();
    }

    /// Whether no account at all could be entered because its import role
    /// was refused: not a choice of some accounts to stay out, but a runner
    /// that imports nothing, week after week, unless the run fails.
    pub fn role_refused_everywhere(&self) -> bool {
        self.accounts > 0 && self.accounts_without_role == self.accounts
    }

    /// The lines printed on stdout after the import. Reasons come from AWS:
    /// control characters are shown escaped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "security hub: {} imported, {} archived, {} failed, {} skipped",
            self.imported, self.archived, self.failed, self.skipped
        );
        if self.archive_failed > 0 {
            let _ = write!(out, ", {} not archived", self.archive_failed);
        }
        out.push('\n');
        for issue in &self.issues {
            let outcome = match issue.outcome {
                IssueOutcome::Skipped => "skipped",
                IssueOutcome::Failed => "failed",
            };
            let _ = writeln!(
                out,
                "  {outcome} {} in {} {}: {}",
                issue.findings,
                issue.account_id,
                issue.region,
                issue.reason.escape_debug()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_issues_print_escaped() {
        let mut total = SecurityHubSummary::default();
        total.add(SecurityHubSummary {
            imported: 10,
            ..Default::default()
        });
        total.add(SecurityHubSummary {
            skipped: 5,
            issues: vec![SecurityHubIssue {
                account_id: "111122223333".into(),
                region: "eu-west-1".into(),
                outcome: IssueOutcome::Skipped,
                findings: 5,
                reason: "Security Hub is not enabled: \u{1b}[31mno".into(),
            }],
            ..Default::default()
        });
        total.add(SecurityHubSummary {
            archive_failed: 2,
            accounts: 3,
            accounts_without_role: 1,
            ..Default::default()
        });
        assert_eq!((total.imported, total.skipped), (10, 5));
        assert_eq!(total.archive_failed, 2);
        assert!(!total.role_refused_everywhere());
        total.add(SecurityHubSummary {
            accounts_without_role: 2,
            ..Default::default()
        });
        assert!(total.role_refused_everywhere());
        assert!(!SecurityHubSummary::default().role_refused_everywhere());
        let rendered = total.render();
        assert!(
            rendered.starts_with(
                "security hub: 10 imported, 0 archived, 0 failed, 5 skipped, 2 not archived\n"
            ),
            "{rendered}"
        );
        assert!(
            rendered.contains("  skipped 5 in 111122223333 eu-west-1: Security Hub is not enabled: \\u{1b}[31mno\n"),
            "{rendered}"
        );
        let json = serde_json::to_value(&total).unwrap();
        assert_eq!(json["issues"][0]["outcome"], "skipped");
    }
}
