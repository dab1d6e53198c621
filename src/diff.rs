//! `cmkscan diff`: the rows whose status changed between two reports (each
//! `findings.csv` or `findings.json`), grouped by what the security team
//! looks at first. Pure, apart from [`Findings::from_path`]; the rules are in
//! `docs/report-format.md` ("Comparing two reports").
//!
//! Rows are compared in their CSV form: cells read from a JSON report are
//! formula-defused the way the CSV writer does it, so a CSV report and a JSON
//! report of the same scan compare equal, and every cell diff writes back is
//! as safe to open in a spreadsheet as the report it came from.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::checks::catalog::{CheckId, RowsPer, Status};
use crate::report::{
    defuse, printable, Row, CSV_COLUMNS, EARLIER_CSV_WIDTHS, REPORT_SCHEMA_VERSION,
};

/// Columns of the CSV `cmkscan diff --output` writes, in order.
pub const DIFF_CSV_COLUMNS: [&str; 10] = [
    "change",
    "account_id",
    "account_name",
    "region",
    "check_id",
    "resource_id",
    "old_status",
    "new_status",
    "old_detail",
    "new_detail",
];

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
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
        source: Box<DiffError>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// By the extension `.csv` or `.json` (any case); otherwise a document
    /// whose first non-blank character is `{` is JSON, anything else CSV.
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

/// One report's rows, in CSV form, keyed for matching.
#[derive(Debug, Clone)]
pub struct Findings {
    pub scan_id: String,
    pub scan_time: String,
    /// Only the columns a comparison reads are kept (see [`Compared`]);
    /// the others are empty.
    pub rows: BTreeMap<RowKey, Row>,
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
        RowKey {
            account_id: row.account_id.clone(),
            region: row.region.clone(),
            check_rank: check.map_or(usize::MAX, |check| check as usize),
            check_id: row.check_id.clone(),
            subject,
        }
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

/// The part of `findings.json` diff reads; the summary is left alone so
/// that reports whose summary gained fields still compare.
#[derive(Deserialize)]
struct JsonReport {
    scan_id: String,
    scan_time: String,
    findings: Vec<Compared>,
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

#[derive(Deserialize)]
struct Versioned {
    schema_version: Option<serde_json::Value>,
}

impl Findings {
    pub fn from_path(path: &Path) -> Result<Findings, DiffError> {
        let in_file = |source| DiffError::InFile {
            path: path.display().to_string(),
            source: Box::new(source),
        };
        let bytes = std::fs::read(path).map_err(|source| DiffError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Findings::parse(&bytes, Format::detect(path, &bytes)).map_err(in_file)
    }

    pub fn parse(bytes: &[u8], format: Format) -> Result<Findings, DiffError> {
        let (scan_id, scan_time, rows) = match format {
            Format::Csv => parse_csv(bytes)?,
            Format::Json => {
                let version: Versioned = serde_json::from_slice(bytes)?;
                match version.schema_version {
                    Some(serde_json::Value::Number(n))
                        if n.as_u64() == Some(REPORT_SCHEMA_VERSION.into()) => {}
                    other => {
                        return Err(DiffError::SchemaVersion {
                            found: other.map_or("absent".into(), |v| v.to_string()),
                        })
                    }
                }
                let report: JsonReport = serde_json::from_slice(bytes)?;
                let rows = report.findings.into_iter().map(|c| csv_form(c.into()));
                return Findings::keyed(report.scan_id, report.scan_time, rows);
            }
        };
        Findings::keyed(scan_id, scan_time, rows)
    }

    /// A report's rows as the report holds them (raw, as in findings.json):
    /// how a scan compares its own findings with an earlier report.
    pub fn from_rows(
        scan_id: String,
        scan_time: String,
        rows: impl IntoIterator<Item = Row>,
    ) -> Result<Findings, DiffError> {
        let rows = rows
            .into_iter()
            .map(|row| csv_form(Compared::from(row).into()));
        Findings::keyed(scan_id, scan_time, rows)
    }

    /// Rows already in CSV form, keyed; two with one key are refused.
    fn keyed(
        scan_id: String,
        scan_time: String,
        rows: impl IntoIterator<Item = Row>,
    ) -> Result<Findings, DiffError> {
        let mut keyed = BTreeMap::new();
        for row in rows {
            let key = RowKey::of(&row);
            if keyed.contains_key(&key) {
                return Err(DiffError::DuplicateKey {
                    key: key.to_string(),
                });
            }
            keyed.insert(key, row);
        }
        Ok(Findings {
            scan_id,
            scan_time,
            rows: keyed,
        })
    }
}

/// The scan id and time (of the first row) and the rows.
fn parse_csv(bytes: &[u8]) -> Result<(String, String, Vec<Row>), DiffError> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers()?.clone();
    // Reports of earlier versions lack the columns appended since (`ou_path`,
    // the exception columns); their rows read with empty ones.
    let known = |width: usize| header.iter().eq(CSV_COLUMNS[..width].iter().copied());
    if !known(CSV_COLUMNS.len()) && !EARLIER_CSV_WIDTHS.into_iter().any(known) {
        return Err(DiffError::CsvHeader {
            found: header.iter().collect::<Vec<_>>().join(","),
            expected: CSV_COLUMNS.join(","),
        });
    }
    let (mut scan_id, mut scan_time) = (String::new(), String::new());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        if rows.is_empty() {
            // The first two columns, scan_id and scan_time, by the header.
            scan_id = record.get(0).unwrap_or_default().to_string();
            scan_time = record.get(1).unwrap_or_default().to_string();
        }
        rows.push(Row::from(record.deserialize::<Compared>(Some(&header))?));
    }
    Ok((scan_id, scan_time, rows))
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

/// Why a row is listed. Each changed row gets the first kind that fits, in
/// this order, which is also the order of the printed groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A `kms.key_state` row that is FAIL (the key is pending deletion) and
    /// was not FAIL, or did not exist, before.
    NewPendingDeletion,
    /// Any other row that is FAIL and was not FAIL, or did not exist, before.
    NewFail,
    /// ERROR and was not ERROR, or did not exist, before.
    NewError,
    /// FAIL before, PASS now or gone.
    FixedFail,
    /// Any other change of status.
    StatusChanged,
    /// A row that did not exist before (not FAIL or ERROR).
    Appeared,
    /// A row that no longer exists (was not FAIL).
    Disappeared,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 7] = [
        ChangeKind::NewPendingDeletion,
        ChangeKind::NewFail,
        ChangeKind::NewError,
        ChangeKind::FixedFail,
        ChangeKind::StatusChanged,
        ChangeKind::Appeared,
        ChangeKind::Disappeared,
    ];

    /// The `change` column of the diff CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NewPendingDeletion => "new_pending_deletion",
            ChangeKind::NewFail => "new_fail",
            ChangeKind::NewError => "new_error",
            ChangeKind::FixedFail => "fixed_fail",
            ChangeKind::StatusChanged => "status_changed",
            ChangeKind::Appeared => "appeared",
            ChangeKind::Disappeared => "disappeared",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            ChangeKind::NewPendingDeletion => "Keys newly pending deletion",
            ChangeKind::NewFail => "New FAILs",
            ChangeKind::NewError => "New ERRORs",
            ChangeKind::FixedFail => "Fixed FAILs",
            ChangeKind::StatusChanged => "Other status changes",
            ChangeKind::Appeared => "Rows appeared",
            ChangeKind::Disappeared => "Rows disappeared",
        }
    }

    /// `None` when the row did not change status.
    fn classify(check_id: &str, old: Option<Status>, new: Option<Status>) -> Option<ChangeKind> {
        use Status::{Error, Fail, Pass};
        Some(match (old, new) {
            (old, Some(Fail)) if old != Some(Fail) => {
                if check_id == CheckId::KeyState.as_str() {
                    ChangeKind::NewPendingDeletion
                } else {
                    ChangeKind::NewFail
                }
            }
            (old, Some(Error)) if old != Some(Error) => ChangeKind::NewError,
            (Some(Fail), Some(Pass) | None) => ChangeKind::FixedFail,
            (Some(old), Some(new)) if old != new => ChangeKind::StatusChanged,
            (None, Some(_)) => ChangeKind::Appeared,
            (Some(_), None) => ChangeKind::Disappeared,
            _ => return None,
        })
    }
}

/// One row whose status changed, appeared or disappeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub key: RowKey,
    /// From the new row, or the old one when the row disappeared.
    pub account_name: String,
    pub resource_id: String,
    pub old_status: Option<Status>,
    pub new_status: Option<Status>,
    pub old_detail: String,
    pub new_detail: String,
}

#[derive(Debug, Clone)]
pub struct Diff {
    pub old_scan_id: String,
    pub new_scan_id: String,
    /// Sorted by kind, then account, region, check (catalogue order) and subject.
    pub changes: Vec<Change>,
    /// Rows in both reports with the same status (their details may differ).
    pub unchanged: usize,
}

pub fn diff(old: &Findings, new: &Findings) -> Diff {
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let keys: std::collections::BTreeSet<&RowKey> =
        old.rows.keys().chain(new.rows.keys()).collect();
    for key in keys {
        let (before, after) = (old.rows.get(key), new.rows.get(key));
        let Some(kind) = ChangeKind::classify(
            &key.check_id,
            before.map(|r| r.status),
            after.map(|r| r.status),
        ) else {
            unchanged += 1;
            continue;
        };
        let Some(shown) = after.or(before) else {
            continue;
        };
        changes.push(Change {
            kind,
            key: key.clone(),
            account_name: shown.account_name.clone(),
            resource_id: shown.resource_id.clone(),
            old_status: before.map(|r| r.status),
            new_status: after.map(|r| r.status),
            old_detail: before.map(|r| r.detail.clone()).unwrap_or_default(),
            new_detail: after.map(|r| r.detail.clone()).unwrap_or_default(),
        });
    }
    changes.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    Diff {
        old_scan_id: old.scan_id.clone(),
        new_scan_id: new.scan_id.clone(),
        changes,
        unchanged,
    }
}

fn status_cell(status: Option<Status>) -> &'static str {
    status.map_or("", Status::as_str)
}

impl Diff {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }

    /// The short table for stdout: a count line, then one group per kind
    /// with rows, aligned; no details (they are in the CSV).
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} → {}\n",
            printable(&self.old_scan_id),
            printable(&self.new_scan_id)
        );
        let counts: Vec<String> = ChangeKind::ALL
            .iter()
            .map(|kind| (self.count(*kind), kind.as_str()))
            .filter(|(n, _)| *n > 0)
            .map(|(n, kind)| format!("{n} {kind}"))
            .collect();
        let _ = writeln!(
            out,
            "{} changed{}{}; {} unchanged",
            self.changes.len(),
            if counts.is_empty() { "" } else { ": " },
            counts.join(", "),
            self.unchanged
        );
        let cells = |c: &Change| -> [String; 6] {
            let status = |s: Option<Status>| s.map_or("-", Status::as_str);
            [
                printable(&c.key.account_id),
                printable(&c.account_name),
                printable(&c.key.region),
                printable(&c.key.check_id),
                printable(&c.resource_id),
                format!("{} → {}", status(c.old_status), status(c.new_status)),
            ]
        };
        let mut widths = [0; 5];
        for change in &self.changes {
            for (width, cell) in widths.iter_mut().zip(cells(change)) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for kind in ChangeKind::ALL {
            let group: Vec<&Change> = self.changes.iter().filter(|c| c.kind == kind).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{} ({})", kind.heading(), group.len());
            for change in group {
                let cells = cells(change);
                let mut line = String::from(" ");
                for (cell, width) in cells[..5].iter().zip(widths) {
                    let _ = write!(line, " {cell:<width$}");
                }
                let _ = writeln!(out, "{line} {}", cells[5]);
            }
        }
        out
    }

    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(DIFF_CSV_COLUMNS)?;
        for c in &self.changes {
            writer.write_record([
                c.kind.as_str(),
                &c.key.account_id,
                &c.account_name,
                &c.key.region,
                &c.key.check_id,
                &c.resource_id,
                status_cell(c.old_status),
                status_cell(c.new_status),
                &c.old_detail,
                &c.new_detail,
            ])?;
        }
        writer.into_inner().map_err(|err| err.into_error().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

    fn row(check: &str, status: Status, resource: &str, detail: &str) -> Row {
        Row {
            scan_id: "s".into(),
            scan_time: "t".into(),
            account_id: "111122223333".into(),
            account_name: "prod".into(),
            region: "us-east-1".into(),
            check_id: check.into(),
            status,
            severity: "HIGH".into(),
            resource_id: resource.into(),
            title: "title".into(),
            detail: detail.into(),
            remediation: "fix it".into(),
            controls: "".into(),
            ou_path: "Root/Prod".into(),
            exception_id: String::new(),
            exception_state: String::new(),
        }
    }

    fn json(scan_id: &str, rows: &[Row]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "schema_version": 1,
            "scan_id": scan_id,
            "scan_time": "2026-11-28T13:51:09Z",
            "summary": {"anything": "ignored"},
            "findings": rows,
        }))
        .expect("serialisable")
    }

    fn findings(scan_id: &str, rows: &[Row]) -> Findings {
        Findings::parse(&json(scan_id, rows), Format::Json).expect("valid report")
    }

    fn csv_of(rows: &[Row]) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in rows {
            writer.serialize(row).expect("row");
        }
        writer.into_inner().expect("flushed")
    }

    #[test]
    fn classify_table() {
        use ChangeKind::*;
        use Status::{Error, Fail, Pass, Warn};
        let key_state = CheckId::KeyState.as_str();
        let config = CheckId::KmsKeyRecording.as_str();
        let cases = [
            (key_state, Some(Pass), Some(Fail), Some(NewPendingDeletion)),
            (key_state, None, Some(Fail), Some(NewPendingDeletion)),
            (key_state, Some(Warn), Some(Fail), Some(NewPendingDeletion)),
            (key_state, Some(Fail), Some(Fail), None),
            (key_state, Some(Fail), None, Some(FixedFail)),
            (config, Some(Pass), Some(Fail), Some(NewFail)),
            (config, None, Some(Fail), Some(NewFail)),
            (config, Some(Fail), Some(Error), Some(NewError)),
            (config, None, Some(Error), Some(NewError)),
            (config, Some(Error), Some(Error), None),
            (config, Some(Fail), Some(Pass), Some(FixedFail)),
            (config, Some(Fail), Some(Warn), Some(StatusChanged)),
            (config, Some(Error), Some(Pass), Some(StatusChanged)),
            (config, None, Some(Warn), Some(Appeared)),
            (config, Some(Pass), None, Some(Disappeared)),
            (config, Some(Error), None, Some(Disappeared)),
            (config, Some(Pass), Some(Pass), None),
        ];
        for (check, old, new, expected) in cases {
            assert_eq!(
                ChangeKind::classify(check, old, new),
                expected,
                "{check} {old:?} -> {new:?}"
            );
        }
    }

    #[test]
    fn a_regional_row_is_matched_whatever_its_resource() {
        let check = CheckId::KmsEventsLogged.as_str();
        let old = findings(
            "old",
            &[row(
                check,
                Status::Pass,
                "arn:aws:cloudtrail:us-east-1:1:trail/t",
                "ok",
            )],
        );
        let new = findings("new", &[row(check, Status::Fail, "", "no trail covers")]);
        let diff = diff(&old, &new);
        assert_eq!(diff.changes.len(), 1, "{:?}", diff.changes);
        let change = &diff.changes[0];
        assert_eq!(change.kind, ChangeKind::NewFail);
        assert_eq!(
            (change.old_status, change.new_status),
            (Some(Status::Pass), Some(Status::Fail))
        );
        assert_eq!(
            (change.old_detail.as_str(), change.new_detail.as_str()),
            ("ok", "no trail covers")
        );
    }

    #[test]
    fn keys_and_events_are_rows_of_their_own() {
        let events = CheckId::RecentDisableDeleteEvents.as_str();
        let key_state = CheckId::KeyState.as_str();
        let disable = row(events, Status::Warn, KEY_ARN, "DisableKey at t1 (event e1)");
        let schedule = row(
            events,
            Status::Warn,
            KEY_ARN,
            "ScheduleKeyDeletion at t2 (event e2)",
        );
        let old = findings(
            "old",
            &[
                row(key_state, Status::Pass, KEY_ARN, "key is enabled"),
                disable.clone(),
            ],
        );
        let new = findings(
            "new",
            &[
                row(key_state, Status::Fail, KEY_ARN, "key is PendingDeletion"),
                disable,
                schedule,
            ],
        );
        let diff = diff(&old, &new);
        let kinds: Vec<_> = diff.changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![ChangeKind::NewPendingDeletion, ChangeKind::Appeared]
        );
        assert_eq!(diff.unchanged, 1);
        assert_eq!(
            diff.changes[1].new_detail,
            "ScheduleKeyDeletion at t2 (event e2)"
        );
    }

    #[test]
    fn changes_are_grouped_then_sorted_by_account_region_and_catalogue_order() {
        let rows = |status| {
            vec![
                Row {
                    region: "us-east-1".into(),
                    ..row(CheckId::KmsDisableDeleteAlerting.as_str(), status, "", "a")
                },
                Row {
                    region: "eu-west-1".into(),
                    ..row(CheckId::KmsDisableDeleteAlerting.as_str(), status, "", "b")
                },
                row(CheckId::KmsEventsLogged.as_str(), status, "", "c"),
            ]
        };
        let old = findings("old", &rows(Status::Pass));
        let mut new_rows = rows(Status::Fail);
        new_rows.push(row(
            CheckId::KmsKeyRecording.as_str(),
            Status::Error,
            "",
            "d",
        ));
        let diff = diff(&old, &findings("new", &new_rows));
        let order: Vec<(ChangeKind, &str, &str)> = diff
            .changes
            .iter()
            .map(|c| (c.kind, c.key.region.as_str(), c.key.check_id.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                (
                    ChangeKind::NewFail,
                    "eu-west-1",
                    "alerting.kms_disable_delete"
                ),
                (
                    ChangeKind::NewFail,
                    "us-east-1",
                    "cloudtrail.kms_events_logged"
                ),
                (
                    ChangeKind::NewFail,
                    "us-east-1",
                    "alerting.kms_disable_delete"
                ),
                (
                    ChangeKind::NewError,
                    "us-east-1",
                    "config.kms_key_recording"
                ),
            ]
        );
        let table = diff.render();
        assert!(
            table.starts_with("old → new\n4 changed: 3 new_fail, 1 new_error; 0 unchanged\n"),
            "{table}"
        );
        assert!(
            table.contains("\nNew FAILs (3)\n") && table.contains("\nNew ERRORs (1)\n"),
            "{table}"
        );
        assert!(
            table.contains("PASS → FAIL") && table.contains("- → ERROR"),
            "{table}"
        );
    }

    #[test]
    fn diff_csv_has_the_documented_columns_and_one_row_per_change() {
        let check = CheckId::KmsKeyRecording.as_str();
        let old = findings("old", &[row(check, Status::Pass, "default", "=recording")]);
        let new = findings("new", &[]);
        let csv = String::from_utf8(diff(&old, &new).to_csv().expect("csv")).expect("utf-8");
        assert_eq!(
            csv,
            "change,account_id,account_name,region,check_id,resource_id,old_status,new_status,old_detail,new_detail\n\
             disappeared,111122223333,prod,us-east-1,config.kms_key_recording,default,PASS,,'=recording,\n"
        );
    }

    #[test]
    fn csv_and_json_of_the_same_rows_compare_equal_in_csv_form() {
        let mut tricky = row(CheckId::KeyState.as_str(), Status::Warn, "+x", "-y");
        tricky.account_name = "@team".into();
        let from_json = findings("s", std::slice::from_ref(&tricky));
        let csv_rows = vec![csv_form(tricky)];
        let from_csv = Findings::parse(&csv_of(&csv_rows), Format::Csv).expect("valid csv");
        assert_eq!(from_json.rows, from_csv.rows);
        let only = from_csv.rows.values().next().expect("one row");
        assert_eq!(
            (
                only.account_name.as_str(),
                only.resource_id.as_str(),
                only.detail.as_str()
            ),
            ("'@team", "'+x", "'-y")
        );
        assert!(diff(&from_json, &from_csv).changes.is_empty());
    }

    #[test]
    fn reports_of_earlier_versions_read_and_compare_with_new_ones() {
        let mut new = row(CheckId::KeyState.as_str(), Status::Fail, "k", "d");
        new.exception_id = "sandbox".into();
        new.exception_state = "active".into();
        let new_csv = String::from_utf8(csv_of(std::slice::from_ref(&new))).expect("utf-8");
        let new = Findings::parse(new_csv.as_bytes(), Format::Csv).expect("new CSV");
        let new_row = new.rows.values().next().expect("a row");
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
            let old = Findings::parse(old_csv.as_bytes(), Format::Csv).expect("older CSV");
            let old_row = old.rows.values().next().expect("a row");
            assert_eq!(old_row.exception_id, "");
            assert_eq!(old_row.ou_path, if width == 13 { "" } else { "Root/Prod" });
            let mut old_json: serde_json::Value =
                serde_json::from_slice(&json("s", std::slice::from_ref(old_row))).expect("json");
            let fields = old_json["findings"][0].as_object_mut().expect("a row");
            for column in &CSV_COLUMNS[width..] {
                fields.remove(*column);
            }
            let old_from_json =
                Findings::parse(&serde_json::to_vec(&old_json).expect("json"), Format::Json)
                    .expect("older JSON");
            assert_eq!(old.rows, old_from_json.rows);
            // Only the status matters: columns appearing change nothing.
            assert!(diff(&old, &new).changes.is_empty());
        }
    }

    #[test]
    fn malformed_reports_are_refused_with_the_reason() {
        let bad_header = Findings::parse(b"scan_id,status\ns,PASS\n", Format::Csv);
        assert!(
            matches!(&bad_header, Err(DiffError::CsvHeader { found, .. }) if found == "scan_id,status"),
            "{bad_header:?}"
        );
        let bad_status = row(CheckId::KeyState.as_str(), Status::Pass, "", "").clone();
        let mut bytes = csv_of(&[bad_status]);
        let text = String::from_utf8(bytes.clone())
            .expect("utf-8")
            .replace(",PASS,", ",MAYBE,");
        bytes = text.into_bytes();
        assert!(matches!(
            Findings::parse(&bytes, Format::Csv),
            Err(DiffError::Csv(_))
        ));
        for (doc, found) in [
            (r#"{"schema_version": 2, "findings": []}"#, "2"),
            (r#"{"findings": []}"#, "absent"),
            (r#"{"schema_version": "1"}"#, "\"1\""),
        ] {
            let refused = Findings::parse(doc.as_bytes(), Format::Json);
            assert!(
                matches!(&refused, Err(DiffError::SchemaVersion { found: f }) if f == found),
                "{doc}: {refused:?}"
            );
        }
        assert!(matches!(
            Findings::parse(b"[1, 2]", Format::Json),
            Err(DiffError::Json(_))
        ));
        let twice = row(CheckId::KmsKeyRecording.as_str(), Status::Pass, "a", "x");
        let dup = Findings::parse(&json("s", &[twice.clone(), twice]), Format::Json);
        assert!(
            matches!(&dup, Err(DiffError::DuplicateKey { key }) if key == "111122223333 us-east-1 config.kms_key_recording"),
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
