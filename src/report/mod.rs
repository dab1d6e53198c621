//! The report: one scan's findings in every format it is written in, each
//! format one module, each written straight to its file a row at a time
//! from any [`FindingRows`] (the scan's spool, or `evaluate`'s findings):
//! `findings.csv` for auditors ([`csv`]), `findings.json` with the summary
//! and the changes for machines ([`json`]), `findings.ocsf.json` for data
//! lakes and SIEMs ([`ocsf`]), and `report.html`, the page people read
//! ([`html`]). The formats are a contract documented in
//! `docs/report-format.md`; the row they share is [`crate::findings::Row`].

mod csv;
pub mod html;
mod json;
mod ocsf;

use crate::facts::ScanHeader;
use crate::findings::{FindingRows, Summary};
use crate::history::Changes;
pub use ocsf::OCSF_VERSION;

/// A scan's report, rendered straight from its findings: rows are made one
/// at a time while writing, so a large report is never held in memory.
pub struct Report<'a> {
    pub scan: &'a ScanHeader,
    pub summary: &'a Summary,
    /// What changed since the previous report, or why that is not known.
    pub changes: &'a Changes,
    pub findings: &'a dyn FindingRows,
}
