//! Accepted risks (`--exceptions`): a reviewed YAML file of findings an
//! organisation has decided to live with, applied to the findings after the
//! checks have judged them. Applying it changes no status: a matched row
//! keeps its PASS, FAIL or WARN and is marked with the exception's id and
//! state, and the summary counts accepted rows apart. An ERROR row is never
//! accepted; an expired exception accepts nothing and flags its rows.
//!
//! - `file` — the YAML read and validated, every problem at its line;
//! - `matching` — which rows an exception names, and its expiry;
//! - `source` — a local path or an S3 object read with the runner's
//!   credentials;
//! - here — the [`Judge`] that marks rows and keeps the counts for the
//!   summary's `exceptions` part, and what the evidence file keeps.

mod file;
mod matching;
mod source;

use std::time::SystemTime;

use serde::{Serialize, Serializer};
use time::Date;

use crate::checks::catalog::{Status, StatusCounts};
use crate::checks::{ExceptionMark, ExceptionState, Finding};
use crate::facts::AccountFacts;
use crate::facts::StoredExceptions;
pub use file::{parse_date, Exceptions};
pub use matching::Subject;
pub use source::{load, LoadError};

impl Exceptions {
    /// What the evidence keeps of this file.
    pub fn stored(&self) -> StoredExceptions {
        StoredExceptions {
            source: self.source.clone(),
            sha256: self.sha256.clone(),
            text: self.text.clone(),
        }
    }

    /// The file a scan kept, validated again; its window counts from
    /// `today` (the scan's day: the file met it when the scan read it). A
    /// text that no longer has the digest the scan recorded is refused: the
    /// evidence was altered.
    pub fn from_stored(stored: &StoredExceptions, today: Date) -> Result<Self, LoadError> {
        let computed = file::sha256_hex(stored.text.as_bytes());
        if computed != stored.sha256 {
            return Err(LoadError::Altered {
                source_name: stored.source.clone(),
                recorded: stored.sha256.clone(),
                computed,
            });
        }
        Ok(Exceptions::parse(
            &stored.source,
            stored.text.as_bytes(),
            today,
        )?)
    }
}

/// Today in UTC, by the system clock.
pub fn today_utc() -> Date {
    time::OffsetDateTime::from(SystemTime::now()).date()
}

/// The UTC day of a scan time (`2026-11-28T13:51:09Z`).
pub fn day_of(scan_time: &str) -> Option<Date> {
    scan_time.get(..10).and_then(parse_date)
}

/// The OU ids above an account, root first: its ancestors as the listing
/// walked them, or only its parent in facts written before those were kept.
pub fn ou_ids_of(account: &AccountFacts) -> Vec<String> {
    if !account.ou_ancestors.is_empty() {
        account.ou_ancestors.clone()
    } else if !account.ou_id.is_empty() {
        vec![account.ou_id.clone()]
    } else {
        Vec::new()
    }
}

/// Marks rows with the exception that matches them and counts what it did,
/// account by account as the scan goes (or over saved facts).
#[derive(Debug)]
pub struct Judge {
    exceptions: Exceptions,
    /// The day expiry is judged on: the scan's, so that re-evaluating its
    /// facts later gives the same report.
    as_of: Date,
    /// Per exception (file order): rows it matches, by status.
    matched: Vec<StatusCounts>,
    accepted: StatusCounts,
    flagged: StatusCounts,
}

impl Judge {
    pub fn new(exceptions: Exceptions, as_of: Date) -> Self {
        let count = exceptions.entries.len();
        Judge {
            exceptions,
            as_of,
            matched: vec![StatusCounts::default(); count],
            accepted: StatusCounts::default(),
            flagged: StatusCounts::default(),
        }
    }

    /// Marks the findings of one account. A row matched by several
    /// exceptions takes the first active one in the file, or the first
    /// expired one if none is active; each of them counts the row. ERROR
    /// rows are counted against the exceptions that match them and never
    /// marked.
    pub fn apply(&mut self, account: &AccountFacts, findings: &mut [Finding]) {
        let ou_ids = ou_ids_of(account);
        for finding in findings {
            let subject = Subject {
                account_id: &finding.account_id,
                ou_ids: &ou_ids,
                region: &finding.region,
                check: finding.check,
                resource_id: &finding.resource_id,
            };
            let mut mark: Option<(usize, ExceptionState)> = None;
            for (index, exception) in self.exceptions.entries.iter().enumerate() {
                if !exception.matches(&subject) {
                    continue;
                }
                self.matched[index].add(finding.status);
                let state = exception.state_on(self.as_of);
                let better = match mark {
                    None => true,
                    Some((_, ExceptionState::Expired)) => state == ExceptionState::Active,
                    Some((_, ExceptionState::Active)) => false,
                };
                if better {
                    mark = Some((index, state));
                }
            }
            finding.exception = None;
            if finding.status == Status::Error {
                continue;
            }
            if let Some((index, state)) = mark {
                let counts = match state {
                    ExceptionState::Active => &mut self.accepted,
                    ExceptionState::Expired => &mut self.flagged,
                };
                counts.add(finding.status);
                finding.exception = Some(ExceptionMark {
                    id: self.exceptions.entries[index].id.clone(),
                    state,
                });
            }
        }
    }

    /// The summary's `exceptions` part.
    pub fn finish(self) -> ExceptionsSummary {
        let entries: Vec<ExceptionOutcome> = self
            .exceptions
            .entries
            .iter()
            .zip(&self.matched)
            .map(|(exception, matched)| ExceptionOutcome {
                id: exception.id.clone(),
                state: exception.state_on(self.as_of),
                expires: exception.expires,
                reason: exception.reason.clone(),
                approved_by: exception.approved_by.clone(),
                ticket: exception.ticket.clone(),
                rows: *matched,
            })
            .collect();
        let ids = |keep: &dyn Fn(&ExceptionOutcome) -> bool| {
            entries
                .iter()
                .filter(|e| keep(e))
                .map(|e| e.id.clone())
                .collect::<Vec<_>>()
        };
        ExceptionsSummary {
            source: self.exceptions.source.clone(),
            sha256: self.exceptions.sha256.clone(),
            as_of: self.as_of,
            max_days: self.exceptions.max_days,
            accepted_rows: self.accepted,
            expired_rows: self.flagged,
            stale: ids(&|e| e.rows.total() == 0),
            expired: ids(&|e| e.state == ExceptionState::Expired),
            matching_errors: ids(&|e| e.rows.get(Status::Error) > 0),
            exceptions: entries,
        }
    }
}

/// What the exceptions did in a report: `summary.exceptions` of
/// findings.json (docs/report-format.md), and its lines on stdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionsSummary {
    /// Where the file was read from, as given.
    pub source: String,
    /// SHA-256 of the file, lowercase hex: the one the evidence keeps.
    pub sha256: String,
    /// The UTC day expiry was judged on: the scan's.
    #[serde(serialize_with = "iso_date")]
    pub as_of: Date,
    pub max_days: u32,
    /// Rows an active exception accepts, by status (ERROR always 0).
    pub accepted_rows: StatusCounts,
    /// Rows only expired exceptions match: flagged, not accepted.
    pub expired_rows: StatusCounts,
    /// Exceptions that matched no row at all.
    pub stale: Vec<String>,
    /// Exceptions past their `expires` day.
    pub expired: Vec<String>,
    /// Exceptions that match ERROR rows, which no exception can accept.
    pub matching_errors: Vec<String>,
    /// Every exception, in file order.
    pub exceptions: Vec<ExceptionOutcome>,
}

/// One exception of the file and the rows it matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionOutcome {
    pub id: String,
    pub state: ExceptionState,
    #[serde(serialize_with = "iso_date")]
    pub expires: Date,
    pub reason: String,
    pub approved_by: String,
    pub ticket: Option<String>,
    /// Rows it matches, by status, whether or not they carry its id.
    pub rows: StatusCounts,
}

fn iso_date<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_date(*date))
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

#[cfg(test)]
mod tests;
