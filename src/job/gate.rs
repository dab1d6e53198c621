//! `--fail-on`: the verdict a pipeline gates on, given once the report is
//! written and delivered, like Prowler's exit code 3. A row counts when its
//! status is the threshold or worse (by [`Status::WORST_FIRST`]: FAIL,
//! then ERROR) and no exception accepts it.

use std::fmt;

use crate::checks::catalog::Status;
use crate::findings::Summary;

/// The rows at or worse than `--fail-on`'s status that no exception
/// accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub threshold: Status,
    /// By status, worst first.
    pub rows: Vec<(Status, usize)>,
}

impl Gate {
    pub fn of(summary: &Summary, threshold: Status) -> Gate {
        Gate {
            threshold,
            rows: summary.unaccepted_at_or_worse(threshold),
        }
    }

    /// Whether any row makes the run fail the gate.
    pub fn tripped(&self) -> bool {
        self.rows.iter().any(|(_, count)| *count > 0)
    }
}

impl fmt::Display for Gate {
    /// `--fail-on error: 3 FAIL and 1 ERROR rows that no exception accepts`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self
            .rows
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(status, count)| format!("{count} {status}"))
            .collect();
        let counts = match counts.as_slice() {
            [] => "no".to_string(),
            _ => counts.join(" and "),
        };
        write!(
            f,
            "--fail-on {}: {counts} rows that no exception accepts",
            self.threshold.as_str().to_lowercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::StatusCounts;

    fn summary(counts: &[(Status, usize)]) -> Summary {
        let mut by_status = StatusCounts::default();
        for (status, count) in counts {
            for _ in 0..*count {
                by_status.add(*status);
            }
        }
        Summary {
            by_status,
            ..Summary::default()
        }
    }

    #[test]
    fn fail_counts_fail_rows_and_error_counts_fail_and_error_rows() {
        let warned = summary(&[(Status::Pass, 5), (Status::Warn, 2)]);
        assert!(!Gate::of(&warned, Status::Fail).tripped());
        assert!(!Gate::of(&warned, Status::Error).tripped());

        let errored = summary(&[(Status::Pass, 5), (Status::Error, 1)]);
        assert!(!Gate::of(&errored, Status::Fail).tripped());
        let gate = Gate::of(&errored, Status::Error);
        assert!(gate.tripped());
        assert_eq!(
            gate.to_string(),
            "--fail-on error: 1 ERROR rows that no exception accepts"
        );

        let failed = summary(&[(Status::Fail, 3), (Status::Error, 1)]);
        assert_eq!(
            Gate::of(&failed, Status::Fail).to_string(),
            "--fail-on fail: 3 FAIL rows that no exception accepts"
        );
        assert_eq!(
            Gate::of(&failed, Status::Error).to_string(),
            "--fail-on error: 3 FAIL and 1 ERROR rows that no exception accepts"
        );
    }
}
