//! `findings.csv`, for auditors: the row contract's columns, with every
//! cell that comes from AWS users defused for spreadsheets.

use std::io::Write;

use super::Report;
use crate::findings::{defuse, Row, CSV_COLUMNS};

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
}
