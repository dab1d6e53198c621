//! `findings.json`, for machines: the schema version, the scan, its
//! summary, what changed since the previous report, and every row
//! (`docs/findings.schema.json`).

use std::io::Write;

use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::Report;
use crate::facts::ScanHeader;
use crate::findings::{FindingRows, Row, REPORT_SCHEMA_VERSION};

impl Report<'_> {
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
