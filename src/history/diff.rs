//! `cmkscan diff`: the rows whose status changed between two reports read
//! back ([`super::report_file`]), grouped by what the security team looks at
//! first, rendered for stdout and as CSV. The rules are in
//! `docs/report-format.md` ("Comparing two reports"). Both reports' rows
//! are sorted by key on disk, so matching them is one pass over each,
//! side by side, and the changes go back to disk ([`ChangeList`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use super::change_list::{ChangeList, ChangeListWriter};
use super::report_file::{ReportFile, RowKey};
use crate::checks::catalog::{CheckId, Status};
use crate::findings::{printable, Row};

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

    /// Its position in [`ChangeKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

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

#[derive(Debug)]
pub struct Diff {
    pub old_scan_id: String,
    pub new_scan_id: String,
    /// Sorted by kind, then account, region, check (catalogue order) and subject.
    pub changes: ChangeList,
    /// Rows in both reports with the same status (their details may differ).
    pub unchanged: usize,
}

/// A comparison, and the accounts each report has rows of (by id, with
/// the name its last row in key order gives).
pub struct Joined {
    pub diff: Diff,
    pub old_accounts: BTreeMap<String, String>,
    pub new_accounts: BTreeMap<String, String>,
}

pub fn diff(old: &ReportFile, new: &ReportFile) -> io::Result<Diff> {
    Ok(join(old, new)?.diff)
}

/// Both reports' rows side by side in key order, in one pass over each.
pub fn join(old: &ReportFile, new: &ReportFile) -> io::Result<Joined> {
    let mut changes = ChangeListWriter::new();
    let mut unchanged = 0;
    let (mut old_accounts, mut new_accounts) = (BTreeMap::new(), BTreeMap::new());
    let (mut olds, mut news) = (old.rows.iter(), new.rows.iter());
    let (mut a, mut b) = (olds.next().transpose()?, news.next().transpose()?);
    loop {
        let order = match (&a, &b) {
            (None, None) => break,
            (Some((old_key, _)), Some((new_key, _))) => old_key.cmp(new_key),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
        };
        let before: Option<(RowKey, Row)> = match order {
            std::cmp::Ordering::Greater => None,
            _ => std::mem::replace(&mut a, olds.next().transpose()?),
        };
        let after: Option<(RowKey, Row)> = match order {
            std::cmp::Ordering::Less => None,
            _ => std::mem::replace(&mut b, news.next().transpose()?),
        };
        for (row, accounts) in [(&before, &mut old_accounts), (&after, &mut new_accounts)] {
            if let Some((key, row)) = row {
                accounts.insert(key.account_id.clone(), row.account_name.clone());
            }
        }
        let key = match (&after, &before) {
            (Some((key, _)), _) | (None, Some((key, _))) => key,
            (None, None) => continue,
        };
        let (before, after) = (before.as_ref().map(|r| &r.1), after.as_ref().map(|r| &r.1));
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
        changes.push(&Change {
            kind,
            key: key.clone(),
            account_name: shown.account_name.clone(),
            resource_id: shown.resource_id.clone(),
            old_status: before.map(|r| r.status),
            new_status: after.map(|r| r.status),
            old_detail: before.map(|r| r.detail.clone()).unwrap_or_default(),
            new_detail: after.map(|r| r.detail.clone()).unwrap_or_default(),
        })?;
    }
    Ok(Joined {
        diff: Diff {
            old_scan_id: old.scan_id.clone(),
            new_scan_id: new.scan_id.clone(),
            changes: changes.finish()?,
            unchanged,
        },
        old_accounts,
        new_accounts,
    })
}

impl Change {
    /// Its row of `changes.csv`, in [`DIFF_CSV_COLUMNS`] order.
    fn csv_record(&self) -> [&str; 10] {
        [
            self.kind.as_str(),
            &self.key.account_id,
            &self.account_name,
            &self.key.region,
            &self.key.check_id,
            &self.resource_id,
            status_cell(self.old_status),
            status_cell(self.new_status),
            &self.old_detail,
            &self.new_detail,
        ]
    }
}

fn status_cell(status: Option<Status>) -> &'static str {
    status.map_or("", Status::as_str)
}

impl Diff {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.count(kind)
    }

    /// The short table for stdout, written to `out`: a count line, then
    /// one group per kind with rows, aligned; no details (they are in the
    /// CSV). Two passes over the changes on disk: the widths, then the rows.
    pub fn render(&self, out: &mut dyn io::Write) -> io::Result<()> {
        writeln!(
            out,
            "{} → {}",
            printable(&self.old_scan_id),
            printable(&self.new_scan_id)
        )?;
        let counts: Vec<String> = ChangeKind::ALL
            .iter()
            .map(|kind| (self.count(*kind), kind.as_str()))
            .filter(|(n, _)| *n > 0)
            .map(|(n, kind)| format!("{n} {kind}"))
            .collect();
        writeln!(
            out,
            "{} changed{}{}; {} unchanged",
            self.changes.len(),
            if counts.is_empty() { "" } else { ": " },
            counts.join(", "),
            self.unchanged
        )?;
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
        for change in self.changes.iter() {
            for (width, cell) in widths.iter_mut().zip(cells(&change?)) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for kind in ChangeKind::ALL {
            let count = self.count(kind);
            if count == 0 {
                continue;
            }
            writeln!(out, "\n{} ({count})", kind.heading())?;
            for change in self.changes.of_kind(kind) {
                let cells = cells(&change?);
                let mut line = String::from(" ");
                for (cell, width) in cells[..5].iter().zip(widths) {
                    let _ = write!(line, " {cell:<width$}");
                }
                writeln!(out, "{line} {}", cells[5])?;
            }
        }
        Ok(())
    }

    /// The CSV of `cmkscan diff --output` and `changes.csv`, row by row.
    pub fn write_csv(&self, out: impl io::Write) -> Result<(), csv::Error> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(DIFF_CSV_COLUMNS)?;
        for c in self.changes.iter() {
            let c = c?;
            writer.write_record(c.csv_record())?;
        }
        writer.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Row;
    use crate::history::fixtures::{findings, row};

    const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

    fn changes_of(diff: &Diff) -> Vec<Change> {
        diff.changes.iter().collect::<io::Result<_>>().unwrap()
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
        let changes = changes_of(&diff(&old, &new).unwrap());
        assert_eq!(changes.len(), 1, "{changes:?}");
        let change = &changes[0];
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
        let diff = diff(&old, &new).unwrap();
        let changes = changes_of(&diff);
        let kinds: Vec<_> = changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![ChangeKind::NewPendingDeletion, ChangeKind::Appeared]
        );
        assert_eq!(diff.unchanged, 1);
        assert_eq!(
            changes[1].new_detail,
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
        let diff = diff(&old, &findings("new", &new_rows)).unwrap();
        let changes = changes_of(&diff);
        let order: Vec<(ChangeKind, &str, &str)> = changes
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
        let mut table = Vec::new();
        diff.render(&mut table).unwrap();
        let table = String::from_utf8(table).unwrap();
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
        let mut csv = Vec::new();
        diff(&old, &new).unwrap().write_csv(&mut csv).expect("csv");
        let csv = String::from_utf8(csv).expect("utf-8");
        assert_eq!(
            csv,
            "change,account_id,account_name,region,check_id,resource_id,old_status,new_status,old_detail,new_detail\n\
             disappeared,111122223333,prod,us-east-1,config.kms_key_recording,default,PASS,,'=recording,\n"
        );
    }

    /// The comparison as it was before it streamed: both reports whole in
    /// memory, keyed in maps. The oracle the streaming one must match.
    fn in_memory(old: &[Row], new: &[Row]) -> (Vec<Change>, usize) {
        let keyed = |rows: &[Row]| -> std::collections::BTreeMap<RowKey, Row> {
            rows.iter().map(|r| (RowKey::of(r), r.clone())).collect()
        };
        let (old, new) = (keyed(old), keyed(new));
        let keys: std::collections::BTreeSet<&RowKey> = old.keys().chain(new.keys()).collect();
        let (mut changes, mut unchanged) = (Vec::new(), 0);
        for key in keys {
            let (before, after) = (old.get(key), new.get(key));
            let Some(kind) = ChangeKind::classify(
                &key.check_id,
                before.map(|r| r.status),
                after.map(|r| r.status),
            ) else {
                unchanged += 1;
                continue;
            };
            let shown = after.or(before).unwrap();
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
        (changes, unchanged)
    }

    /// `changes.csv` of a list of changes, as the in-memory comparison
    /// wrote it.
    fn csv_of_changes(changes: &[Change]) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(DIFF_CSV_COLUMNS).unwrap();
        for c in changes {
            writer.write_record(c.csv_record()).unwrap();
        }
        writer.into_inner().unwrap()
    }

    /// A report's worth of rows, one per key: every check in a few regions
    /// of `accounts` accounts, keys and events with several rows each.
    fn generated(rng: &mut fastrand::Rng, accounts: usize) -> Vec<Row> {
        let mut rows = Vec::new();
        for a in 0..accounts {
            let account = format!("{:012}", 100 + a);
            for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
                for check in CheckId::ALL {
                    let subjects = match check {
                        CheckId::KeyState | CheckId::RecentDisableDeleteEvents => rng.usize(0..6),
                        _ => 1,
                    };
                    for k in 0..subjects {
                        rows.push(Row {
                            account_id: account.clone(),
                            account_name: format!("name-{a}"),
                            region: region.into(),
                            check_id: check.as_str().into(),
                            status: Status::ALL[rng.usize(..4)],
                            resource_id: match check {
                                CheckId::KeyState | CheckId::RecentDisableDeleteEvents => {
                                    format!("arn:aws:kms:{region}:{account}:key/k{}", k % 3)
                                }
                                _ => format!("resource-{}", rng.u8(..3)),
                            },
                            detail: format!("detail {k} {}", rng.u8(..2)),
                            ..row(check.as_str(), Status::Pass, "", "")
                        });
                    }
                }
            }
        }
        // One row per key, as a report has.
        let mut seen = std::collections::BTreeSet::new();
        rows.retain(|r| seen.insert(RowKey::of(r)));
        rows
    }

    /// `rows`, shuffled, sorted on disk in runs of a few rows.
    fn sorted(scan_id: &str, rows: &[Row], rng: &mut fastrand::Rng) -> ReportFile {
        let mut shuffled = rows.to_vec();
        rng.shuffle(&mut shuffled);
        let mut sorter = crate::history::sorted::RowSorter::with_budget(4096);
        for row in shuffled {
            sorter.push(row).unwrap();
        }
        ReportFile {
            scan_id: scan_id.into(),
            scan_time: "t".into(),
            rows: sorter.finish().unwrap(),
        }
    }

    #[test]
    fn the_streaming_comparison_gives_the_in_memory_ones_changes_on_shuffled_reports() {
        for seed in 0..8 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let old_rows = generated(&mut rng, 12);
            // The new report: statuses changed, rows gone, rows added
            // (another account, and keys of the others), names changed.
            let mut new_rows = Vec::new();
            for row in &old_rows {
                if rng.u8(..100) < 8 {
                    continue;
                }
                let mut row = row.clone();
                if rng.u8(..100) < 20 {
                    row.status = Status::ALL[rng.usize(..4)];
                    row.detail = format!("changed {}", rng.u8(..9));
                }
                if row.account_id.ends_with('3') {
                    row.account_name = "renamed".into();
                }
                new_rows.push(row);
            }
            // A changed event detail is another event: one row per key.
            let mut seen = std::collections::BTreeSet::new();
            new_rows.retain(|r| seen.insert(RowKey::of(r)));
            let mut seen: std::collections::BTreeSet<RowKey> =
                new_rows.iter().map(RowKey::of).collect();
            new_rows.extend(
                generated(&mut rng, 14)
                    .into_iter()
                    .filter(|r| seen.insert(RowKey::of(r))),
            );
            let (expected, unchanged) = in_memory(&old_rows, &new_rows);
            assert!(
                expected.len() > 50 && unchanged > 50,
                "seed {seed}: a pair with changes and without"
            );
            let (old, new) = (
                sorted("old", &old_rows, &mut rng),
                sorted("new", &new_rows, &mut rng),
            );
            let streamed = diff(&old, &new).unwrap();
            assert_eq!(changes_of(&streamed), expected, "seed {seed}");
            assert_eq!(streamed.unchanged, unchanged, "seed {seed}");
            for kind in ChangeKind::ALL {
                let n = expected.iter().filter(|c| c.kind == kind).count();
                assert_eq!(streamed.count(kind), n, "seed {seed} {kind:?}");
            }
            let mut csv = Vec::new();
            streamed.write_csv(&mut csv).unwrap();
            assert_eq!(csv, csv_of_changes(&expected), "seed {seed}: changes.csv");
            // The same reports in another order: the same bytes.
            let again = diff(
                &sorted("old", &old_rows, &mut rng),
                &sorted("new", &new_rows, &mut rng),
            )
            .unwrap();
            let mut csv_again = Vec::new();
            again.write_csv(&mut csv_again).unwrap();
            assert_eq!(
                csv_again, csv,
                "seed {seed}: the order of the rows mattered"
            );
        }
    }
}
