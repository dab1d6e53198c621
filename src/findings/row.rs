//! The row contract: one finding as the report states it, with its
//! catalogue fields (`Row`, the CSV columns and the report's schema
//! version, a contract with auditors documented in
//! `docs/report-format.md`), and how text from AWS users is made safe for a
//! spreadsheet ([`defuse`]) and a terminal or an email ([`printable`]).
//! `history` reads rows back from earlier reports; `report` writes them.

use std::io;

use serde::{Deserialize, Serialize};

use crate::checks::catalog::Status;
use crate::checks::Finding;
use crate::facts::ScanHeader;

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
    pub fn new(scan: &ScanHeader, f: Finding) -> Self {
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

/// Account names, OU names, resource names and details come from AWS users; a cell
/// starting with `=`, `+`, `-`, `@`, tab or carriage return may run as a
/// formula when an auditor opens the CSV in a spreadsheet, so it gets a
/// leading apostrophe.
pub fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Text from AWS users or from an earlier report (OU and account names, ids
/// read back from a file anyone with the bucket may edit): control
/// characters are shown escaped rather than sent to a terminal or an email,
/// so no such text can start a line of its own.
pub fn printable(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
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
