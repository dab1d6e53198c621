//! `cmkscan diff`: the rows whose status changed between two reports read
//! back ([`super::report_file`]), grouped by what the security team looks at
//! first, rendered for stdout and as CSV. Pure; the rules are in
//! `docs/report-format.md` ("Comparing two reports").

use std::fmt::Write as _;

use super::report_file::{ReportFile, RowKey};
use crate::checks::catalog::{CheckId, Status};
use crate::findings::printable;

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

pub fn diff(old: &ReportFile, new: &ReportFile) -> Diff {
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
    use crate::findings::Row;
    use crate::history::fixtures::{findings, row};

    const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

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
}
