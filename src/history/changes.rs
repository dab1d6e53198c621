//! What changed since the previous report: the rows `cmkscan diff` lists
//! between that report and this one, and the accounts that appeared or
//! left. The `changes` section of findings.json, `changes.csv`, the line on
//! stdout and the changes in the SNS message all come from [`Changes`].
//! Pure: finding and reading the previous report is [`crate::history::previous`].

use std::collections::BTreeMap;
use std::io;

use serde::ser::{Error as _, SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::checks::catalog::Status;
use crate::facts::PreviousReport;
use crate::findings::printable;
use crate::history::diff::{self, Change, ChangeKind, Diff, Joined};
use crate::history::report_file::ReportFile;

/// An account, by id and by its name as the report rows hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRef {
    pub id: String,
    pub name: String,
}

/// This report against the previous one, or why it was compared with none.
#[derive(Debug)]
pub struct Changes {
    /// [`PreviousReport::Read`] exactly when `compared` is `Some`.
    pub previous: PreviousReport,
    pub compared: Option<Compared>,
}

/// The outcome of a comparison.
#[derive(Debug)]
pub struct Compared {
    /// The changed rows, as `cmkscan diff` lists them.
    pub diff: Diff,
    /// Accounts with rows now and none in the previous report, by id.
    pub accounts_appeared: Vec<AccountRef>,
    /// Accounts with rows in the previous report and none now (closed,
    /// suspended, moved out of the scanned OUs or filtered out), by id.
    pub accounts_left: Vec<AccountRef>,
}

impl Changes {
    /// No comparison: `previous` says why (it is not `Read`).
    pub fn not_compared(previous: PreviousReport) -> Changes {
        Changes {
            previous,
            compared: None,
        }
    }

    /// `new` compared with `old`, the report read from `source`; only
    /// reading the rows back from disk can fail.
    pub fn compare(source: String, old: &ReportFile, new: &ReportFile) -> io::Result<Changes> {
        let Joined {
            diff,
            old_accounts: before,
            new_accounts: after,
        } = diff::join(old, new)?;
        let only_in = |these: &BTreeMap<String, String>,
                       those: &BTreeMap<String, String>|
         -> Vec<AccountRef> {
            these
                .iter()
                .filter(|(id, _)| !those.contains_key(*id))
                .map(|(id, name)| AccountRef {
                    id: id.clone(),
                    name: name.clone(),
                })
                .collect()
        };
        Ok(Changes {
            previous: PreviousReport::Read {
                source,
                scan_id: old.scan_id.clone(),
                scan_time: old.scan_time.clone(),
            },
            compared: Some(Compared {
                diff,
                accounts_appeared: only_in(&after, &before),
                accounts_left: only_in(&before, &after),
            }),
        })
    }

    /// The comparison made and the report it was made against; `None`
    /// when none was.
    pub fn against(&self) -> Option<Against<'_>> {
        match (&self.compared, &self.previous) {
            (
                Some(compared),
                PreviousReport::Read {
                    source,
                    scan_id,
                    scan_time,
                },
            ) => Some(Against {
                compared,
                source,
                scan_id,
                scan_time,
            }),
            _ => None,
        }
    }

    /// Why no comparison was made; `None` when one was.
    pub fn reason(&self) -> Option<String> {
        if self.compared.is_some() {
            return None;
        }
        Some(match &self.previous {
            PreviousReport::NotRequested => {
                "no previous report: no --previous was given, and no --s3-uri to look under".into()
            }
            PreviousReport::Unavailable { reason, .. } => reason.clone(),
            // Not built by this module's constructors; said plainly anyway.
            PreviousReport::Read { source, .. } => {
                format!("the report {source} was read but not compared")
            }
        })
    }

    /// The comparison's rows, for `changes.csv` (the columns of `cmkscan
    /// diff --output`, [`Diff::write_csv`]); `None` when no comparison was
    /// made, so that no file says "nothing changed".
    pub fn diff(&self) -> Option<&Diff> {
        self.compared.as_ref().map(|compared| &compared.diff)
    }

    /// One line for stdout after the summary of a re-evaluation, which has
    /// `--previous` and no `--s3-uri`: a scan that compared with nothing
    /// is said in its terms. (The report keeps the scan's reason, byte for
    /// byte.)
    pub fn render_for_evaluate(&self) -> String {
        match (&self.compared, &self.previous) {
            (None, PreviousReport::NotRequested) => "changes: not compared: no --previous was \
                 given, and the scan compared with no earlier report\n"
                .into(),
            _ => self.render(),
        }
    }

    /// One line for stdout after the summary.
    pub fn render(&self) -> String {
        match self.against() {
            Some(against) => format!(
                "changes since {} ({}): {}\n",
                printable(against.scan_id),
                printable(against.source),
                against.compared.counts_line()
            ),
            None => format!(
                "changes: not compared: {}\n",
                printable(&self.reason().unwrap_or_default())
            ),
        }
    }
}

/// A comparison and the earlier report it was made against.
#[derive(Debug, Clone, Copy)]
pub struct Against<'a> {
    pub compared: &'a Compared,
    /// Where the earlier report was read: a path or an `s3://` URI.
    pub source: &'a str,
    pub scan_id: &'a str,
    pub scan_time: &'a str,
}

impl Against<'_> {
    /// `scan <id> (<time>, <source>): <counts>`, as the page and the SNS
    /// message head their changes. Text read back from the earlier report:
    /// escape it for where it goes.
    pub fn describe(&self) -> String {
        format!(
            "scan {} ({}, {}): {}",
            self.scan_id,
            self.scan_time,
            self.source,
            self.compared.counts_line()
        )
    }
}

impl Compared {
    /// `2 changed (1 new_pending_deletion, 1 new_fail), 45 unchanged; accounts: 1 appeared, 0 left`.
    pub fn counts_line(&self) -> String {
        let kinds: Vec<String> = ChangeKind::ALL
            .iter()
            .map(|kind| (self.diff.count(*kind), kind.as_str()))
            .filter(|(n, _)| *n > 0)
            .map(|(n, kind)| format!("{n} {kind}"))
            .collect();
        let kinds = if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        };
        format!(
            "{} changed{kinds}, {} unchanged; accounts: {} appeared, {} left",
            self.diff.changes.len(),
            self.diff.unchanged,
            self.accounts_appeared.len(),
            self.accounts_left.len()
        )
    }
}

/// The `changes` section of findings.json: `compared`, `previous`,
/// `reason`, `counts`, `accounts_appeared`, `accounts_left`, `rows`
/// (docs/report-format.md).
impl Serialize for Changes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Changes", 7)?;
        out.serialize_field("compared", &self.compared.is_some())?;
        out.serialize_field("previous", &PreviousField(&self.previous))?;
        out.serialize_field("reason", &self.reason())?;
        out.serialize_field("counts", &self.compared.as_ref().map(Counts))?;
        let no_accounts: &[AccountRef] = &[];
        let (appeared, left) = self
            .compared
            .as_ref()
            .map_or((no_accounts, no_accounts), |c| {
                (&c.accounts_appeared[..], &c.accounts_left[..])
            });
        out.serialize_field("accounts_appeared", appeared)?;
        out.serialize_field("accounts_left", left)?;
        out.serialize_field("rows", &Rows(self.diff()))?;
        out.end()
    }
}

/// The changed rows, streamed from disk one at a time.
struct Rows<'a>(Option<&'a Diff>);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut rows =
            serializer.serialize_seq(Some(self.0.map_or(0, |diff| diff.changes.len())))?;
        for change in self.0.into_iter().flat_map(|diff| diff.changes.iter()) {
            let c: Change = change.map_err(S::Error::custom)?;
            rows.serialize_element(&ChangeRow {
                change: c.kind.as_str(),
                account_id: &c.key.account_id,
                account_name: &c.account_name,
                region: &c.key.region,
                check_id: &c.key.check_id,
                resource_id: &c.resource_id,
                old_status: c.old_status,
                new_status: c.new_status,
                old_detail: &c.old_detail,
                new_detail: &c.new_detail,
            })?;
        }
        rows.end()
    }
}

/// `null`, or `{source, scan_id, scan_time}` with the ids `null` when the
/// report was not read.
struct PreviousField<'a>(&'a PreviousReport);

impl Serialize for PreviousField<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (source, scan_id, scan_time) = match self.0 {
            PreviousReport::NotRequested => return serializer.serialize_none(),
            PreviousReport::Read {
                source,
                scan_id,
                scan_time,
            } => (source, Some(scan_id), Some(scan_time)),
            PreviousReport::Unavailable { source, .. } => (source, None, None),
        };
        let mut out = serializer.serialize_struct("Previous", 3)?;
        out.serialize_field("source", source)?;
        out.serialize_field("scan_id", &scan_id)?;
        out.serialize_field("scan_time", &scan_time)?;
        out.end()
    }
}

/// Every change kind in report order, then `unchanged`.
struct Counts<'a>(&'a Compared);

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(ChangeKind::ALL.len() + 1))?;
        for kind in ChangeKind::ALL {
            out.serialize_entry(kind.as_str(), &self.0.diff.count(kind))?;
        }
        out.serialize_entry("unchanged", &self.0.diff.unchanged)?;
        out.end()
    }
}

/// One row of `changes.csv`, with a missing status as `null`.
#[derive(Serialize)]
struct ChangeRow<'a> {
    change: &'static str,
    account_id: &'a str,
    account_name: &'a str,
    region: &'a str,
    check_id: &'a str,
    resource_id: &'a str,
    old_status: Option<Status>,
    new_status: Option<Status>,
    old_detail: &'a str,
    new_detail: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::CheckId;
    use crate::findings::Row;
    use crate::history::fixtures::{self, report};

    fn row(account: &str, check: CheckId, status: Status, resource: &str) -> Row {
        Row {
            account_id: account.into(),
            account_name: format!("name-{account}"),
            ou_path: "Root".into(),
            ..fixtures::row(check.as_str(), status, resource, "=detail")
        }
    }

    #[test]
    fn a_comparison_lists_rows_and_accounts_that_came_and_went() {
        let old = report(
            "old",
            vec![
                row("111111111111", CheckId::KmsKeyRecording, Status::Pass, ""),
                row("222222222222", CheckId::KmsKeyRecording, Status::Pass, ""),
            ],
        );
        let new = report(
            "new",
            vec![
                row("111111111111", CheckId::KmsKeyRecording, Status::Fail, ""),
                row("333333333333", CheckId::KmsKeyRecording, Status::Pass, ""),
            ],
        );
        let changes = Changes::compare("s3://b/p/findings.json".into(), &old, &new).unwrap();
        let json = serde_json::to_value(&changes).expect("serialisable");
        assert_eq!(json["compared"], true);
        assert_eq!(json["reason"], serde_json::Value::Null);
        assert_eq!(
            json["previous"],
            serde_json::json!({"source": "s3://b/p/findings.json", "scan_id": "old", "scan_time": "2026-11-21T06:00:00Z"})
        );
        assert_eq!(
            json["accounts_appeared"],
            serde_json::json!([{"id": "333333333333", "name": "name-333333333333"}])
        );
        assert_eq!(
            json["accounts_left"],
            serde_json::json!([{"id": "222222222222", "name": "name-222222222222"}])
        );
        // In report order (a serde_json::Value would sort the keys).
        let text = serde_json::to_string(&changes).expect("serialisable");
        assert!(
            text.contains(
                r#""counts":{"new_pending_deletion":0,"new_fail":1,"new_error":0,"fixed_fail":0,"status_changed":0,"appeared":1,"disappeared":1,"unchanged":0}"#
            ),
            "{text}"
        );
        let rows = json["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["change"], "new_fail");
        assert_eq!(rows[0]["old_status"], "PASS");
        assert_eq!(rows[0]["new_status"], "FAIL");
        // Cells as in changes.csv: formula-defused.
        assert_eq!(rows[0]["new_detail"], "'=detail");
        assert_eq!(rows[1]["old_status"], serde_json::Value::Null);
        let mut csv = Vec::new();
        changes
            .diff()
            .expect("compared")
            .write_csv(&mut csv)
            .expect("csv");
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(csv.lines().count(), 4, "{csv}");
        assert_eq!(
            changes.render(),
            "changes since old (s3://b/p/findings.json): 3 changed (1 new_fail, 1 appeared, 1 disappeared), 0 unchanged; accounts: 1 appeared, 1 left\n"
        );
    }

    #[test]
    fn no_comparison_says_why_and_has_no_csv() {
        for (previous, reason, source) in [
            (
                PreviousReport::NotRequested,
                "no previous report: no --previous was given, and no --s3-uri to look under",
                serde_json::Value::Null,
            ),
            (
                PreviousReport::Unavailable {
                    source: "prev.json".into(),
                    reason: "cannot read prev.json: gone".into(),
                },
                "cannot read prev.json: gone",
                serde_json::json!({"source": "prev.json", "scan_id": null, "scan_time": null}),
            ),
        ] {
            let changes = Changes::not_compared(previous);
            assert!(changes.diff().is_none());
            let json = serde_json::to_value(&changes).expect("serialisable");
            assert_eq!(
                json,
                serde_json::json!({
                    "compared": false,
                    "previous": source,
                    "reason": reason,
                    "counts": null,
                    "accounts_appeared": [],
                    "accounts_left": [],
                    "rows": [],
                })
            );
            assert_eq!(
                changes.render(),
                format!("changes: not compared: {reason}\n")
            );
        }
    }
}
