//! Findings as every output reads them: the row contract ([`row`]), the
//! summary and its counts, the keys pending deletion and recent key events
//! gathered beside them ([`activity`]), and the spool that parks a scan's
//! findings on disk until the report is written. [`Evaluation`] makes all
//! of them from facts, account by account: the scan as accounts finish,
//! `cmkscan evaluate` over a saved facts file, the same way.

pub(crate) mod activity;
mod anchor;
mod evaluation;
#[cfg(test)]
pub(crate) mod fixtures;
mod row;
mod security_hub;
pub mod spool;
mod summary;

pub use activity::{KeyActivity, KeyPlace, PendingKey, TimeLeft};
pub use anchor::plan_anchor;
pub use evaluation::{evaluate, Evaluated, Evaluation};
pub use row::{
    defuse, printable, rows, FindingRows, Row, CSV_COLUMNS, EARLIER_CSV_WIDTHS,
    REPORT_SCHEMA_VERSION,
};
pub use security_hub::{IssueOutcome, SecurityHubIssue, SecurityHubSummary};
pub use summary::{Summary, Tally, Telling};
