//! The evidence file: a scan's facts, written account by account as the scan
//! goes (so memory does not grow with the organisation), and read back for
//! `cmkscan evaluate`.
//!
//! The file is one JSON object with the fields of [`ScanFacts`]; the scan
//! writes the header first, the accounts as they finish (in completion
//! order), and the tail last. Readers must not rely on field or account
//! order: the report sorts its rows.

use std::io::{Read, Write};

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use crate::facts::{AccountFacts, ScanFacts, ScanHeader, ScanTail, FACTS_SCHEMA_VERSION};

/// Where a scan puts its facts while it runs.
pub trait FactsSink {
    fn begin(&mut self, header: &ScanHeader) -> std::io::Result<()>;
    fn account(&mut self, facts: &AccountFacts) -> std::io::Result<()>;
    fn end(&mut self, tail: &ScanTail) -> std::io::Result<()>;
}

/// Streams the facts as JSON into `out` (the binary gives it a gzip file).
pub struct FactsWriter<W: Write> {
    out: W,
    accounts: usize,
}

impl<W: Write> FactsWriter<W> {
    pub fn new(out: W) -> Self {
        FactsWriter { out, accounts: 0 }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn field(&mut self, name: &str, value: &impl Serialize) -> std::io::Result<()> {
        write!(self.out, ",\"{name}\":")?;
        serde_json::to_writer(&mut self.out, value)?;
        Ok(())
    }
}

impl<W: Write> FactsSink for FactsWriter<W> {
    fn begin(&mut self, header: &ScanHeader) -> std::io::Result<()> {
        write!(self.out, "{{\"schema_version\":{FACTS_SCHEMA_VERSION}")?;
        self.field("scan_id", &header.scan_id)?;
        self.field("scan_time", &header.scan_time)?;
        self.field("partition", &header.partition)?;
        self.field("management_account_id", &header.management_account_id)?;
        self.field("organization_id", &header.organization_id)?;
        self.field("lookback_days", &header.lookback_days)?;
        if let Some(exceptions) = &header.exceptions {
            self.field("exceptions", exceptions)?;
        }
        self.field("previous_report", &header.previous_report)?;
        self.field(
            "cloudtrail_trusted_access",
            &header.cloudtrail_trusted_access,
        )?;
        self.out.write_all(b",\"accounts\":[")
    }

    fn account(&mut self, facts: &AccountFacts) -> std::io::Result<()> {
        if self.accounts > 0 {
            self.out.write_all(b",\n")?;
        }
        self.accounts += 1;
        serde_json::to_writer(&mut self.out, facts)?;
        Ok(())
    }

    fn end(&mut self, tail: &ScanTail) -> std::io::Result<()> {
        self.out.write_all(b"]")?;
        self.field("inactive_accounts", &tail.inactive_accounts)?;
        self.field("organization_trails", &tail.organization_trails)?;
        self.field("duration_seconds", &tail.duration_seconds)?;
        self.field("api_calls", &tail.api_calls)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

/// Keeps the facts in memory: for tests and small tools, never for an
/// organisation-wide scan.
#[derive(Default)]
pub struct CollectedFacts {
    header: Option<ScanHeader>,
    accounts: Vec<AccountFacts>,
    facts: Option<ScanFacts>,
}

impl CollectedFacts {
    /// The whole facts, once the scan has ended; accounts sorted by id.
    pub fn into_facts(self) -> Option<ScanFacts> {
        self.facts
    }
}

impl FactsSink for CollectedFacts {
    fn begin(&mut self, header: &ScanHeader) -> std::io::Result<()> {
        self.header = Some(header.clone());
        Ok(())
    }

    fn account(&mut self, facts: &AccountFacts) -> std::io::Result<()> {
        self.accounts.push(facts.clone());
        Ok(())
    }

    fn end(&mut self, tail: &ScanTail) -> std::io::Result<()> {
        let header = self
            .header
            .take()
            .ok_or_else(|| std::io::Error::other("facts ended before they began"))?;
        let mut accounts = std::mem::take(&mut self.accounts);
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        self.facts = Some(ScanFacts::new(header, accounts, tail.clone()));
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("not a gzip file, or a truncated one")]
    Gzip(#[source] std::io::Error),
    #[error("not a cmkscan facts file")]
    Json(#[source] serde_json::Error),
    #[error("not a cmkscan facts file (it has no schema_version)")]
    Unversioned,
    #[error("facts schema version {found}; this cmkscan reads version {FACTS_SCHEMA_VERSION}")]
    Version { found: u32 },
}

/// Reads a facts file, gzip-compressed (`facts.json.gz`) or not.
pub fn read_facts(bytes: &[u8]) -> Result<ScanFacts, EvidenceError> {
    const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
    let json = if bytes.starts_with(&GZIP_MAGIC) {
        let mut json = Vec::new();
        MultiGzDecoder::new(bytes)
            .read_to_end(&mut json)
            .map_err(EvidenceError::Gzip)?;
        json
    } else {
        bytes.to_vec()
    };
    // The version first, so an older or newer file gets a message naming
    // it rather than a complaint about some field.
    #[derive(Deserialize)]
    struct Version {
        schema_version: Option<u32>,
    }
    let version: Version = serde_json::from_slice(&json).map_err(EvidenceError::Json)?;
    match version.schema_version {
        Some(FACTS_SCHEMA_VERSION) => {}
        Some(found) => return Err(EvidenceError::Version { found }),
        None => return Err(EvidenceError::Unversioned),
    }
    serde_json::from_slice(&json).map_err(EvidenceError::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::OrgAccount;
    use flate2::write::GzEncoder;

    fn header() -> ScanHeader {
        ScanHeader {
            previous_report: crate::facts::PreviousReport::Read {
                source: "s3://reports/cmkscan/2026/11/21/20261121T101500Z-cd34/findings.json"
                    .into(),
                scan_id: "20261121T101500Z-cd34".into(),
                scan_time: "2026-11-21T10:15:00Z".into(),
            },
            ..crate::facts::fixtures::header()
        }
    }

    fn account(id: &str) -> AccountFacts {
        AccountFacts {
            id: id.into(),
            name: format!("name-{id}"),
            ou_path: "Root/Workloads".into(),
            ou_id: "ou-ab12-workload".into(),
            ou_ancestors: vec!["r-ab12".into(), "ou-ab12-workload".into()],
            access: Ok(()),
            skipped_regions: vec!["ap-east-1".into()],
            trails: Vec::new(),
            regions: Vec::new(),
        }
    }

    fn tail() -> ScanTail {
        ScanTail {
            organization_trails: Ok(Vec::new()),
            inactive_accounts: vec![OrgAccount {
                id: "333333333333".into(),
                name: "gone".into(),
                status: "SUSPENDED".into(),
                ou_path: "Root/Suspended".into(),
                ou_id: "ou-ab12-suspended".into(),
                ou_ancestors: Vec::new(),
            }],
            // Printed as 1.7869491530000001: without serde_json's
            // float_roundtrip it read back one unit in the last place off.
            duration_seconds: 1.786_949_153_000_000_1,
            api_calls: [("kms:ListKeys".to_string(), 4)].into_iter().collect(),
        }
    }

    fn write(sink: &mut impl FactsSink, accounts: &[AccountFacts]) {
        sink.begin(&header()).unwrap();
        for a in accounts {
            sink.account(a).unwrap();
        }
        sink.end(&tail()).unwrap();
    }

    #[test]
    fn streamed_gzip_file_reads_back_as_the_collected_facts() {
        let accounts = [account("222222222222"), account("111111111111")];
        let mut writer = FactsWriter::new(GzEncoder::new(Vec::new(), Default::default()));
        write(&mut writer, &accounts);
        let bytes = writer.into_inner().finish().unwrap();
        let mut collected = CollectedFacts::default();
        write(&mut collected, &accounts);

        let mut read = read_facts(&bytes).unwrap();
        read.accounts.sort_by(|a, b| a.id.cmp(&b.id));
        let expected = collected.into_facts().unwrap();
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
        assert_eq!(read.header(), header());
    }

    #[test]
    fn the_exceptions_file_travels_in_the_header() {
        let mut header = header();
        header.exceptions = Some(crate::facts::StoredExceptions {
            source: "s3://risk-register/exceptions.yaml".into(),
            sha256: "ab".repeat(32),
            text: "exceptions: []\n# \u{2192} kept byte for byte\n".into(),
        });
        let mut writer = FactsWriter::new(Vec::new());
        writer.begin(&header).unwrap();
        writer.end(&tail()).unwrap();
        let read = read_facts(&writer.into_inner()).unwrap();
        assert_eq!(read.header(), header);
        // Without exceptions the field is absent, as in older files.
        let mut writer = FactsWriter::new(Vec::new());
        write(&mut writer, &[]);
        let bytes = writer.into_inner();
        assert!(!String::from_utf8(bytes.clone())
            .unwrap()
            .contains("exceptions"));
        assert_eq!(read_facts(&bytes).unwrap().exceptions, None);
    }

    #[test]
    fn an_empty_scan_is_a_valid_file() {
        let mut writer = FactsWriter::new(Vec::new());
        write(&mut writer, &[]);
        let read = read_facts(&writer.into_inner()).unwrap();
        assert!(read.accounts.is_empty());
    }

    #[test]
    fn other_versions_and_damaged_files_are_named() {
        let err = read_facts(br#"{"schema_version":1,"scan_id":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("version 1"), "{err}");
        let err = read_facts(br#"{"scan_id":"x"}"#).unwrap_err();
        assert!(matches!(err, EvidenceError::Unversioned), "{err}");
        let mut writer = FactsWriter::new(GzEncoder::new(Vec::new(), Default::default()));
        write(&mut writer, &[account("111111111111")]);
        let bytes = writer.into_inner().finish().unwrap();
        let err = read_facts(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(matches!(err, EvidenceError::Gzip(_)), "{err}");
        assert!(matches!(
            read_facts(b"not json").unwrap_err(),
            EvidenceError::Json(_)
        ));
    }
}
