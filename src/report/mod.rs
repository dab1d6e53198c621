//! The report: findings with their catalogue fields, in CSV (for auditors)
//! and JSON (findings plus summary, for machines). Both formats are a
//! contract documented in `docs/report-format.md`.

mod summary;

use serde::{Deserialize, Serialize};

use crate::checks::catalog::Status;
use crate::checks::Finding;
pub use summary::Summary;

/// CSV columns, in order. Changing them breaks auditors' tooling.
pub const CSV_COLUMNS: [&str; 13] = [
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
];

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub scan_id: String,
    pub scan_time: String,
    pub summary: Summary,
    pub findings: Vec<Row>,
}

impl Report {
    pub fn new(scan_id: &str, scan_time: &str, findings: &[Finding], summary: Summary) -> Self {
        let findings = findings
            .iter()
            .map(|f| Row {
                scan_id: scan_id.to_string(),
                scan_time: scan_time.to_string(),
                account_id: f.account_id.clone(),
                account_name: f.account_name.clone(),
                region: f.region.clone(),
                check_id: f.check.as_str().to_string(),
                status: f.status,
                severity: f.check.severity().as_str().to_string(),
                resource_id: f.resource_id.clone(),
                title: f.check.title().to_string(),
                detail: f.detail.clone(),
                remediation: f.check.remediation().to_string(),
                controls: f.check.controls(),
            })
            .collect();
        Report {
            schema_version: 1,
            scan_id: scan_id.to_string(),
            scan_time: scan_time.to_string(),
            summary,
            findings,
        }
    }

    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(CSV_COLUMNS)?;
        for row in &self.findings {
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
            ])?;
        }
        writer.into_inner().map_err(|err| err.into_error().into())
    }

    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Account names, resource names and details come from AWS users; a cell
/// starting with `=`, `+`, `-`, `@`, tab or carriage return may run as a
/// formula when an auditor opens the CSV in a spreadsheet, so it gets a
/// leading apostrophe.
fn defuse(cell: &str) -> String {
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
