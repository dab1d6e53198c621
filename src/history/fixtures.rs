//! Reports as tests write them: rows and their CSV and JSON files.

use super::report_file::{Format, ReportFile, RowKey};
use crate::checks::catalog::Status;
use crate::findings::Row;

/// A row of scan `s` at time `t`, under `Root/Prod`.
pub fn row(check: &str, status: Status, resource: &str, detail: &str) -> Row {
    Row {
        scan_id: "s".into(),
        scan_time: "t".into(),
        resource_id: resource.into(),
        detail: detail.into(),
        ou_path: "Root/Prod".into(),
        ..crate::findings::fixtures::row(check, status)
    }
}

/// A scan's own rows as a comparison reads them.
pub fn report(scan_id: &str, rows: Vec<Row>) -> ReportFile {
    ReportFile::from_rows(scan_id.into(), "2026-11-21T06:00:00Z".into(), rows).expect("unique")
}

pub fn json(scan_id: &str, rows: &[Row]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schema_version": 1,
        "scan_id": scan_id,
        "scan_time": "2026-11-28T13:51:09Z",
        "summary": {"anything": "ignored"},
        "findings": rows,
    }))
    .expect("serialisable")
}

pub fn findings(scan_id: &str, rows: &[Row]) -> ReportFile {
    ReportFile::parse(&json(scan_id, rows), Format::Json).expect("valid report")
}

pub fn csv_of(rows: &[Row]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).expect("row");
    }
    writer.into_inner().expect("flushed")
}

/// A report's rows as read back, in key order.
pub fn rows_of(report: &ReportFile) -> Vec<(RowKey, Row)> {
    report
        .rows
        .iter()
        .collect::<std::io::Result<_>>()
        .expect("rows read back")
}
