//! The report: findings with their catalogue fields, in CSV (for auditors),
//! JSON (findings plus summary, for machines) and OCSF (for data lakes and
//! SIEMs, `ocsf.rs`). The formats are a contract documented in
//! `docs/report-format.md`; and `report.html` ([`html`]), the page people
//! read.

mod activity;
pub mod html;
mod ocsf;
mod security_hub;
mod summary;

use std::io::{self, Write};

use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};

use crate::changes::Changes;
use crate::checks::catalog::Status;
use crate::checks::Finding;
use crate::facts::ScanHeader;
pub use activity::{KeyActivity, KeyPlace, PendingKey, RecentEvent, TimeLeft};
pub use ocsf::OCSF_VERSION;
pub use security_hub::{IssueOutcome, SecurityHubIssue, SecurityHubSummary};
pub(crate) use summary::printable;
pub use summary::{Coverage, Summary, Tally};

/// CSV columns, in order. Changing them breaks auditors' tooling.
pub const CSV_COLUMNS: [&str; 16] = [
    "scan_id",
    "scan_time",
    "account_id",
    "account_name",
    "region",
    "check_id",
    "status",
    "severity",
    "resource_id",
    "title",
    "detail",
    "remediation",
    "controls",
    "ou_path",
    "exception_id",
    "exception_state",
];

/// How many of [`CSV_COLUMNS`] the reports of earlier versions have: 13
/// before `ou_path` was appended, 14 before the exception columns were.
/// `cmkscan diff` still reads them.
pub const EARLIER_CSV_WIDTHS: [usize; 2] = [13, 14];

/// One report row; field order and names are the CSV columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub scan_id: String,
    pub scan_time: String,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub check_id: String,
    pub status: Status,
    pub severity: String,
    pub resource_id: String,
    pub title: String,
    pub detail: String,
    pub remediation: String,
    pub controls: String,
    /// Absent from reports written before it was added, which read as "".
    #[serde(default)]
    pub ou_path: String,
    /// The accepted risk matching the row (`--exceptions`), or "". Absent,
    /// like the next one, from reports written before it was added.
    #[serde(default)]
    pub exception_id: String,
    /// `active` (the row is accepted), `expired` (flagged, not accepted) or "".
    #[serde(default)]
    pub exception_state: String,
}

/// Version of the report layout: the `schema_version` of the findings.json
/// this version writes, and the only one `cmkscan diff` reads.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

impl Row {
    fn new(scan: &ScanHeader, f: Finding) -> Self {
        Row {
            scan_id: scan.scan_id.clone(),
            scan_time: scan.scan_time.clone(),
            account_id: f.account_id,
            account_name: f.account_name,
            region: f.region,
            check_id: f.check.as_str().to_string(),
            status: f.status,
            severity: f.check.severity().as_str().to_string(),
            resource_id: f.resource_id,
            title: f.check.title().to_string(),
            detail: f.detail,
            remediation: f.check.remediation().to_string(),
            controls: f.check.controls(),
            ou_path: f.ou_path,
            exception_id: f
                .exception
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_default(),
            exception_state: f
                .exception
                .map(|e| e.state.as_str().to_string())
                .unwrap_or_default(),
        }
    }
}

/// Findings in report order (see [`crate::checks::sort`]), read once for
/// each format: from memory, or from the scan's spool on disk.
pub trait FindingRows {
    fn rows(&self) -> Box<dyn Iterator<Item = io::Result<Finding>> + '_>;
}

impl FindingRows for Vec<Finding> {
    fn rows(&self) -> Box<dyn Iterator<Item = io::Result<Finding>> + '_> {
        Box::new(self.iter().cloned().map(Ok))
    }
}

/// A scan's report, rendered straight from its findings: rows are made one
/// at a time while writing, so a large report is never held in memory.
pub struct Report<'a> {
    pub scan: &'a ScanHeader,
    pub summary: &'a Summary,
    /// What changed since the previous report, or why that is not known.
    pub changes: &'a Changes,
    pub findings: &'a dyn FindingRows,
}

/// A scan's rows as its report holds them, made one at a time from its
/// findings.
pub fn rows<'a>(
    scan: &'a ScanHeader,
    findings: &'a dyn FindingRows,
) -> impl Iterator<Item = io::Result<Row>> + 'a {
    findings
        .rows()
        .map(move |finding| finding.map(|f| Row::new(scan, f)))
}

impl Report<'_> {
    pub fn write_csv(&self, out: impl Write) -> Result<(), csv::Error> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(CSV_COLUMNS)?;
        for finding in self.findings.rows() {
            let row = Row::new(self.scan, finding?);
            writer.write_record([
                row.scan_id.as_str(),
                &row.scan_time,
                &row.account_id,
                &defuse(&row.account_name),
                &row.region,
                &row.check_id,
                row.status.as_str(),
                &row.severity,
                &defuse(&row.resource_id),
                &row.title,
                &defuse(&row.detail),
                &row.remediation,
                &row.controls,
                &defuse(&row.ou_path),
                &row.exception_id,
                &row.exception_state,
            ])?;
        }
        writer.flush()?;
        Ok(())
    }

    pub fn write_json(&self, mut out: impl Write) -> serde_json::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n").map_err(serde_json::Error::io)
    }
}

/// `{schema_version, scan_id, scan_time, summary, changes, findings: [Row]}`.
impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Rows<'a>(&'a ScanHeader, &'a dyn FindingRows);
        impl Serialize for Rows<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut rows = serializer.serialize_seq(None)?;
                for finding in self.1.rows() {
                    rows.serialize_element(&Row::new(self.0, finding.map_err(S::Error::custom)?))?;
                }
                rows.end()
            }
        }
        let mut report = serializer.serialize_struct("Report", 6)?;
        report.serialize_field("schema_version", &REPORT_SCHEMA_VERSION)?;
        report.serialize_field("scan_id", &self.scan.scan_id)?;
        report.serialize_field("scan_time", &self.scan.scan_time)?;
        report.serialize_field("summary", self.summary)?;
        report.serialize_field("changes", self.changes)?;
        report.serialize_field("findings", &Rows(self.scan, self.findings))?;
        report.end()
    }
}

/// Account names, OU names, resource names and details come from AWS users; a cell
/// starting with `=`, `+`, `-`, `@`, tab or carriage return may run as a
/// formula when an auditor opens the CSV in a spreadsheet, so it gets a
/// leading apostrophe.
pub(crate) fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused_and_others_kept() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("\t=1+1"), "'\t=1+1");
        assert_eq!(defuse("prod-account"), "prod-account");
        assert_eq!(defuse(""), "");
    }
}
