//! A report read back: `findings.csv` or `findings.json`, of this version
//! or an earlier one, reduced to the columns a comparison reads and keyed by
//! what each row stands for ([`RowKey`]). Read as a stream, a row at a
//! time, into rows sorted by key on disk ([`RowSorter`]): a report's size
//! never reaches memory.
//!
//! Rows are kept in their CSV form: cells read from a JSON report are
//! formula-defused the way the CSV writer does it, so a CSV report and a JSON
//! report of the same scan compare equal, and every cell a comparison writes
//! back is as safe to open in a spreadsheet as the report it came from.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::sorted::{RowSorter, SortedRows};
use crate::checks::catalog::{CheckId, RowsPer, Status};
use crate::findings::{defuse, Row, CSV_COLUMNS, EARLIER_CSV_WIDTHS, REPORT_SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a cmkscan findings CSV: its header is {found:?}, expected {expected:?}")]
    CsvHeader { found: String, expected: String },
    #[error("not a cmkscan findings CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("not a cmkscan findings JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "findings.json schema version {found}; this cmkscan reads version {REPORT_SCHEMA_VERSION}"
    )]
    SchemaVersion { found: String },
    #[error(
        "two rows are about the same thing ({key}): a findings file has one row per key; \
         was it edited or concatenated from several scans?"
    )]
    DuplicateKey { key: String },
    #[error("{path}: {source}")]
    InFile {
        path: String,
        source: Box<ReadError>,
    },
    #[error("cannot sort the rows on disk (TMPDIR): {0}")]
    Spool(#[source] io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// By the extension `.csv` or `.json` (any case); otherwise a document
    /// whose first non-blank character is `{` is JSON, anything else CSV.
    /// `bytes` is the document's start.
    pub fn detect(path: &Path, bytes: &[u8]) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Format::Csv,
            Some("json") => Format::Json,
            _ if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => Format::Json,
            _ => Format::Csv,
        }
    }
}

/// One report's rows, in CSV form, sorted by key for matching (clones
/// share the rows on disk).
#[derive(Debug, Clone)]
pub struct ReportFile {
    pub scan_id: String,
    pub scan_time: String,
    /// Only the columns a comparison reads are kept (see [`Compared`]);
    /// the others are empty.
    pub rows: SortedRows,
}

/// What a row is about: two reports' rows with the same key are the same
/// thing seen twice. `subject` depends on the check, because `resource_id`
/// alone is not stable or not unique (see [`RowKey::of`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowKey {
    pub account_id: String,
    pub region: String,
    /// Catalogue position; checks this version does not know sort last.
    check_rank: usize,
    pub check_id: String,
    pub subject: String,
}

impl RowKey {
    /// A key read back (the catalogue position follows from the check id).
    pub fn new(account_id: String, region: String, check_id: String, subject: String) -> RowKey {
        RowKey {
            account_id,
            region,
            check_rank: CheckId::from_id(&check_id).map_or(usize::MAX, |check| check as usize),
            check_id,
            subject,
        }
    }

    /// By what one row of the check stands for ([`RowsPer`] in the catalogue):
    /// - one per region (`scan.account_access` and the three regional
    ///   checks): the account and region alone, since their `resource_id`
    ///   changes with the verdict (the trail, recorder, alarm or rule that
    ///   passed, empty for a FAIL);
    /// - one per resource (`kms.key_state`): the key ARN (`resource_id`;
    ///   empty for the region-wide row);
    /// - one per event (`kms.recent_disable_delete_events`), and check ids
    ///   this version does not know: `resource_id` and `detail`, since a key
    ///   may have several events (the detail names each event's id).
    pub fn of(row: &Row) -> RowKey {
        let check = CheckId::from_id(&row.check_id);
        let subject = match check.map(CheckId::rows_per) {
            Some(RowsPer::Region) => String::new(),
            Some(RowsPer::Resource) => row.resource_id.clone(),
            Some(RowsPer::Event) | None => format!("{} {}", row.resource_id, row.detail),
        };
        RowKey::new(
            row.account_id.clone(),
            row.region.clone(),
            row.check_id.clone(),
            subject,
        )
    }
}

impl std::fmt::Display for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.account_id, self.region, self.check_id)?;
        if !self.subject.is_empty() {
            write!(f, " {}", self.subject)?;
        }
        Ok(())
    }
}

/// The columns of a row that a comparison reads. The rest (the scan's id
/// and time, repeated on every row, and the check's catalogue text) is
/// skipped when a report is read, and dropped from a scan's own rows: a
/// report of 85,000 rows then takes about half the memory.
#[derive(Deserialize)]
struct Compared {
    account_id: String,
    account_name: String,
    region: String,
    check_id: String,
    status: Status,
    resource_id: String,
    detail: String,
    #[serde(default)]
    ou_path: String,
    #[serde(default)]
    exception_id: String,
    #[serde(default)]
    exception_state: String,
}

impl From<Compared> for Row {
    fn from(c: Compared) -> Row {
        Row {
            scan_id: String::new(),
            scan_time: String::new(),
            account_id: c.account_id,
            account_name: c.account_name,
            region: c.region,
            check_id: c.check_id,
            status: c.status,
            severity: String::new(),
            resource_id: c.resource_id,
            title: String::new(),
            detail: c.detail,
            remediation: String::new(),
            controls: String::new(),
            ou_path: c.ou_path,
            exception_id: c.exception_id,
            exception_state: c.exception_state,
        }
    }
}

impl From<Row> for Compared {
    fn from(row: Row) -> Compared {
        Compared {
            account_id: row.account_id,
            account_name: row.account_name,
            region: row.region,
            check_id: row.check_id,
            status: row.status,
            resource_id: row.resource_id,
            detail: row.detail,
            ou_path: row.ou_path,
            exception_id: row.exception_id,
            exception_state: row.exception_state,
        }
    }
}

impl ReportFile {
    pub fn from_path(path: &Path) -> Result<ReportFile, ReadError> {
        let file = std::fs::File::open(path).map_err(|source| ReadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ReportFile::read_detected(path, file).map_err(|source| match source {
            // An I/O error already names the path.
            err @ ReadError::Read { .. } => err,
            source => ReadError::InFile {
                path: path.display().to_string(),
                source: Box::new(source),
            },
        })
    }

    /// A report read from `input`, its format detected by `name` and its
    /// first bytes ([`Format::detect`]).
    pub fn read_detected(name: &Path, input: impl Read) -> Result<ReportFile, ReadError> {
        let mut input = BufReader::with_capacity(64 * 1024, input);
        let start = input.fill_buf().map_err(|source| ReadError::Read {
            path: name.display().to_string(),
            source,
        })?;
        let format = Format::detect(name, start);
        ReportFile::read(input, format)
    }

    /// A whole report in memory (tests, and small reports).
    pub fn parse(bytes: &[u8], format: Format) -> Result<ReportFile, ReadError> {
        ReportFile::read(bytes, format)
    }

    /// A report read row by row from `input` into rows sorted on disk.
    pub fn read(input: impl Read, format: Format) -> Result<ReportFile, ReadError> {
        let mut sorter = RowSorter::default();
        let (scan_id, scan_time) = match format {
            Format::Csv => read_csv(input, &mut sorter)?,
            Format::Json => read_json(input, &mut sorter)?,
        };
        Ok(ReportFile {
            scan_id,
            scan_time,
            rows: sorter.finish()?,
        })
    }

    /// A report's rows as the report holds them (raw, as in findings.json):
    /// how a scan compares its own findings with an earlier report.
    pub fn from_rows(
        scan_id: String,
        scan_time: String,
        rows: impl IntoIterator<Item = Row>,
    ) -> Result<ReportFile, ReadError> {
        let mut sorter = RowSorter::default();
        for row in rows {
            sorter
                .push(csv_form(Compared::from(row).into()))
                .map_err(ReadError::Spool)?;
        }
        Ok(ReportFile {
            scan_id,
            scan_time,
            rows: sorter.finish()?,
        })
    }
}

/// The scan id and time (of the first row); the rows go to `sorter`.
fn read_csv(input: impl Read, sorter: &mut RowSorter) -> Result<(String, String), ReadError> {
    let mut reader = csv::Reader::from_reader(input);
    let header = reader.headers()?.clone();
    // Reports of earlier versions lack the columns appended since (`ou_path`,
    // the exception columns); their rows read with empty ones.
    let known = |width: usize| header.iter().eq(CSV_COLUMNS[..width].iter().copied());
    if !known(CSV_COLUMNS.len()) && !EARLIER_CSV_WIDTHS.into_iter().any(known) {
        return Err(ReadError::CsvHeader {
            found: header.iter().collect::<Vec<_>>().join(","),
            expected: CSV_COLUMNS.join(","),
        });
    }
    let (mut scan_id, mut scan_time) = (None, None);
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        if scan_id.is_none() {
            // The first two columns, scan_id and scan_time, by the header.
            scan_id = Some(record.get(0).unwrap_or_default().to_string());
            scan_time = Some(record.get(1).unwrap_or_default().to_string());
        }
        let row = Row::from(record.deserialize::<Compared>(Some(&header))?);
        sorter.push(row).map_err(ReadError::Spool)?;
    }
    Ok((scan_id.unwrap_or_default(), scan_time.unwrap_or_default()))
}

/// `findings.json`, streamed: the schema version (checked as soon as it is
/// read, the first field of every report), the scan id and time, and the
/// rows into `sorter`; the summary and the changes are skipped, so that
/// reports whose summary gained fields still compare.
fn read_json(input: impl Read, sorter: &mut RowSorter) -> Result<(String, String), ReadError> {
    let mut deserializer = serde_json::Deserializer::from_reader(input);
    let (mut wrong_version, mut spool_error) = (None, None);
    let read = JsonReport {
        sorter,
        wrong_version: &mut wrong_version,
        spool_error: &mut spool_error,
    }
    .deserialize(&mut deserializer)
    .and_then(|ids| deserializer.end().map(|()| ids));
    if let Some(found) = wrong_version {
        return Err(ReadError::SchemaVersion { found });
    }
    if let Some(err) = spool_error {
        return Err(ReadError::Spool(err));
    }
    Ok(read?)
}

/// The top level of `findings.json`.
struct JsonReport<'a> {
    sorter: &'a mut RowSorter,
    /// Set when the schema version is not this cmkscan's (or is absent).
    wrong_version: &'a mut Option<String>,
    /// Set when a row could not be parked on disk.
    spool_error: &'a mut Option<io::Error>,
}

impl<'de> DeserializeSeed<'de> for JsonReport<'_> {
    type Value = (String, String);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for JsonReport<'_> {
    type Value = (String, String);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a cmkscan findings.json object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut version, mut scan_id, mut scan_time, mut findings) = (None, None, None, false);
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "schema_version" => {
                    let value: serde_json::Value = map.next_value()?;
                    let current = matches!(&value, serde_json::Value::Number(n)
                        if n.as_u64() == Some(REPORT_SCHEMA_VERSION.into()));
                    if !current {
                        *self.wrong_version = Some(value.to_string());
                        return Err(de::Error::custom("another schema version"));
                    }
                    version = Some(());
                }
                "scan_id" => scan_id = Some(map.next_value::<String>()?),
                "scan_time" => scan_time = Some(map.next_value::<String>()?),
                "findings" => {
                    map.next_value_seed(Findings {
                        sorter: self.sorter,
                        spool_error: self.spool_error,
                    })?;
                    findings = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if version.is_none() {
            *self.wrong_version = Some("absent".into());
            return Err(de::Error::custom("no schema version"));
        }
        if !findings {
            return Err(de::Error::missing_field("findings"));
        }
        Ok((
            scan_id.ok_or_else(|| de::Error::missing_field("scan_id"))?,
            scan_time.ok_or_else(|| de::Error::missing_field("scan_time"))?,
        ))
    }
}

/// The `findings` array, each row into the sorter as it is read.
struct Findings<'a> {
    sorter: &'a mut RowSorter,
    spool_error: &'a mut Option<io::Error>,
}

impl<'de> DeserializeSeed<'de> for Findings<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Findings<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of findings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<Compared>()? {
            if let Err(err) = self.sorter.push(csv_form(row.into())) {
                let message = err.to_string();
                *self.spool_error = Some(err);
                return Err(de::Error::custom(message));
            }
        }
        Ok(())
    }
}

/// The row as `findings.csv` holds it.
fn csv_form(mut row: Row) -> Row {
    for cell in [
        &mut row.account_name,
        &mut row.resource_id,
        &mut row.detail,
        &mut row.ou_path,
    ] {
        *cell = defuse(cell);
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::diff::diff;
    use crate::history::fixtures::{csv_of, findings, json, row, rows_of};

    #[test]
    fn csv_and_json_of_the_same_rows_compare_equal_in_csv_form() {
        let mut tricky = row(CheckId::KeyState.as_str(), Status::Warn, "+x", "-y");
        tricky.account_name = "@team".into();
        let from_json = findings("s", std::slice::from_ref(&tricky));
        let csv_rows = vec![csv_form(tricky)];
        let from_csv = ReportFile::parse(&csv_of(&csv_rows), Format::Csv).expect("valid csv");
        assert_eq!(rows_of(&from_json), rows_of(&from_csv));
        let (_, only) = rows_of(&from_csv).pop().expect("one row");
        assert_eq!(
            (
                only.account_name.as_str(),
                only.resource_id.as_str(),
                only.detail.as_str()
            ),
            ("'@team", "'+x", "'-y")
        );
        assert!(diff(&from_json, &from_csv).unwrap().changes.is_empty());
    }

    #[test]
    fn reports_of_earlier_versions_read_and_compare_with_new_ones() {
        let mut new = row(CheckId::KeyState.as_str(), Status::Fail, "k", "d");
        new.exception_id = "sandbox".into();
        new.exception_state = "active".into();
        let new_csv = String::from_utf8(csv_of(std::slice::from_ref(&new))).expect("utf-8");
        let new = ReportFile::parse(new_csv.as_bytes(), Format::Csv).expect("new CSV");
        let (_, new_row) = rows_of(&new).pop().expect("a row");
        assert_eq!(
            (new_row.ou_path.as_str(), new_row.exception_id.as_str()),
            ("Root/Prod", "sandbox")
        );
        // The same row as earlier versions wrote it: without the exception
        // columns (14), and without `ou_path` too (13). No cell of this row
        // holds a comma.
        for width in EARLIER_CSV_WIDTHS {
            let old_csv: String = new_csv
                .lines()
                .map(|line| {
                    format!(
                        "{}\n",
                        line.split(',').take(width).collect::<Vec<_>>().join(",")
                    )
                })
                .collect();
            assert!(
                old_csv.starts_with(&format!("{}\n", CSV_COLUMNS[..width].join(","))),
                "{old_csv}"
            );
            let old = ReportFile::parse(old_csv.as_bytes(), Format::Csv).expect("older CSV");
            let (_, old_row) = rows_of(&old).pop().expect("a row");
            assert_eq!(old_row.exception_id, "");
            assert_eq!(old_row.ou_path, if width == 13 { "" } else { "Root/Prod" });
            let mut old_json: serde_json::Value =
                serde_json::from_slice(&json("s", std::slice::from_ref(&old_row))).expect("json");
            let fields = old_json["findings"][0].as_object_mut().expect("a row");
            for column in &CSV_COLUMNS[width..] {
                fields.remove(*column);
            }
            let old_from_json =
                ReportFile::parse(&serde_json::to_vec(&old_json).expect("json"), Format::Json)
                    .expect("older JSON");
            assert_eq!(rows_of(&old), rows_of(&old_from_json));
            // Only the status matters: columns appearing change nothing.
            assert!(diff(&old, &new).unwrap().changes.is_empty());
        }
    }

    #[test]
    fn malformed_reports_are_refused_with_the_reason() {
        let bad_header = ReportFile::parse(b"scan_id,status\ns,PASS\n", Format::Csv);
        assert!(
            matches!(&bad_header, Err(ReadError::CsvHeader { found, .. }) if found == "scan_id,status"),
            "{bad_header:?}"
        );
        let bad_status = row(CheckId::KeyState.as_str(), Status::Pass, "", "").clone();
        let mut bytes = csv_of(&[bad_status]);
        let text = String::from_utf8(bytes.clone())
            .expect("utf-8")
            .replace(",PASS,", ",MAYBE,");
        bytes = text.into_bytes();
        assert!(matches!(
            ReportFile::parse(&bytes, Format::Csv),
            Err(ReadError::Csv(_))
        ));
        for (doc, found) in [
            (r#"{"schema_version": 2, "findings": []}"#, "2"),
            (r#"{"findings": []}"#, "absent"),
            (r#"{"schema_version": "1"}"#, "\"1\""),
        ] {
            let refused = ReportFile::parse(doc.as_bytes(), Format::Json);
            assert!(
                matches!(&refused, Err(ReadError::SchemaVersion { found: f }) if f == found),
                "{doc}: {refused:?}"
            );
        }
        assert!(matches!(
            ReportFile::parse(b"[1, 2]", Format::Json),
            Err(ReadError::Json(_))
        ));
        let twice = row(CheckId::KmsKeyRecording.as_str(), Status::Pass, "a", "x");
        let dup = ReportFile::parse(&json("s", &[twice.clone(), twice]), Format::Json);
        assert!(
            matches!(&dup, Err(ReadError::DuplicateKey { key }) if key == "111122223333 us-east-1 config.kms_key_recording"),
            "{dup:?}"
        );
    }

    #[test]
    fn format_by_extension_then_content() {
        let p = Path::new;
        assert_eq!(Format::detect(p("a.CSV"), b"{"), Format::Csv);
        assert_eq!(Format::detect(p("a.json"), b"scan_id"), Format::Json);
        assert_eq!(Format::detect(p("report"), b" \n{\"a\":1}"), Format::Json);
        assert_eq!(Format::detect(p("report.txt"), b"scan_id,"), Format::Csv);
    }
}
