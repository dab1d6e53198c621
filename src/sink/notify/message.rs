//! The message itself: subject, text and attributes, made from the
//! finished scan and cut to SNS's limits. No I/O but reading the findings
//! back once.

use std::fmt::Write as _;
use std::io;

use crate::checks::catalog::{CheckId, Status};
use crate::checks::Finding;
use crate::facts::{PendingDeletion, ScanHeader};
use crate::findings::{printable, FindingRows, Summary, TimeLeft};
use crate::history::changes::Changes;
use crate::history::diff::ChangeKind;

/// Bytes of message text at most: SNS takes 262,144 bytes with the message
/// attributes, and the attributes take a few hundred.
pub const MESSAGE_LIMIT: usize = 256 * 1024 - 4 * 1024;
/// SNS wants a subject of fewer than 100 characters.
pub const SUBJECT_LIMIT: usize = 99;
/// One line of a list at most, in bytes: a detail can be long.
const LINE_LIMIT: usize = 2_000;
/// Bytes a list's "... and N more (see …)" line takes at most.
const CUT_LINE_ROOM: usize = 120;

/// No line of a list is shorter than this (a change line names its kind,
/// account, region, check and statuses).
const MIN_LINE: usize = 32;

/// Where the report is, for the message.
#[derive(Debug, Clone)]
pub enum ReportLocation {
    /// The URIs of the uploaded files.
    Uploaded(Vec<String>),
    /// No `--s3-uri`: the local directory.
    Local(String),
    /// The upload failed: why, and the local directory that keeps the files.
    UploadFailed { reason: String, dir: String },
}

/// A message ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub message: String,
    /// Name, SNS data type (`String` or `Number`) and value.
    pub attributes: Vec<(&'static str, &'static str, String)>,
}

/// What the message is made of.
pub struct Scan<'a> {
    pub header: &'a ScanHeader,
    pub summary: &'a Summary,
    pub changes: &'a Changes,
    pub findings: &'a dyn FindingRows,
    pub location: &'a ReportLocation,
}

/// A key pending deletion, from its `kms.key_state` FAIL row.
struct PendingKey {
    /// When it will be deleted; `None` when KMS did not report it.
    deletion_date: Option<String>,
    line: String,
}

impl Notice {
    /// The subject and message of a finished scan; reads its findings once.
    pub fn new(scan: &Scan) -> io::Result<Notice> {
        let mut keys = Vec::new();
        let mut events = Vec::new();
        for finding in scan.findings.rows() {
            let finding = finding?;
            if let Some(deletion) = &finding.pending_deletion {
                keys.push(pending_key(&finding, deletion, &scan.header.scan_time));
            } else if (finding.check, finding.status)
                == (CheckId::RecentDisableDeleteEvents, Status::Warn)
            {
                events.push(clip(format!(
                    "- {}: key {}",
                    place(&finding),
                    printable(&finding.resource_id)
                )));
            }
        }
        // Soonest first; a key whose date AWS did not report, last.
        keys.sort_by(|a, b| {
            (a.deletion_date.is_none(), &a.deletion_date, &a.line).cmp(&(
                b.deletion_date.is_none(),
                &b.deletion_date,
                &b.line,
            ))
        });

        let summary = scan.summary;
        let count = |status| summary.by_status.get(status);
        let new_findings = scan.changes.compared.as_ref().map(|c| {
            [
                ChangeKind::NewPendingDeletion,
                ChangeKind::NewFail,
                ChangeKind::NewError,
            ]
            .iter()
            .map(|kind| c.diff.count(*kind))
            .sum::<usize>()
        });

        let mut head = String::new();
        let _ = writeln!(
            head,
            "cmkscan scan {} (started {})\n",
            scan.header.scan_id, scan.header.scan_time
        );
        let _ = writeln!(
            head,
            "Findings: {} PASS, {} FAIL, {} WARN, {} ERROR",
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Warn),
            count(Status::Error)
        );
        let _ = writeln!(head, "Coverage: {}", summary.coverage.phrases().join("; "));
        if let Some(exceptions) = &summary.exceptions {
            let _ = writeln!(
                head,
                "Of which accepted by exceptions ({}): {} FAIL, {} WARN; under expired exceptions: {} FAIL, {} WARN",
                printable(&exceptions.source),
                exceptions.accepted_rows.get(Status::Fail),
                exceptions.accepted_rows.get(Status::Warn),
                exceptions.expired_rows.get(Status::Fail),
                exceptions.expired_rows.get(Status::Warn),
            );
        }
        if !summary.accounts_skipped.is_empty() {
            let _ = writeln!(
                head,
                "Not active, not scanned: {} account(s)",
                summary.accounts_skipped.len()
            );
        }
        head.push('\n');
        let changes = &scan.changes;
        match changes.against() {
            Some(against) => {
                let _ = writeln!(head, "Changes since {}", printable(&against.describe()));
                let compared = against.compared;
                for (what, accounts) in [
                    ("appeared", &compared.accounts_appeared),
                    ("left", &compared.accounts_left),
                ] {
                    if !accounts.is_empty() {
                        let names: Vec<String> = accounts
                            .iter()
                            .map(|a| format!("{} ({})", printable(&a.id), printable(&a.name)))
                            .collect();
                        let _ = writeln!(head, "Accounts {what}: {}", clip(names.join(", ")));
                    }
                }
            }
            None => {
                let _ = writeln!(
                    head,
                    "Changes: not compared: {}",
                    printable(&changes.reason().unwrap_or_default())
                );
            }
        }

        let mut tail = String::from("\nReport:\n");
        match scan.location {
            ReportLocation::Uploaded(uris) => {
                for uri in uris {
                    let _ = writeln!(tail, "  {}", printable(uri));
                }
            }
            ReportLocation::Local(dir) => {
                let _ = writeln!(
                    tail,
                    "  not uploaded (no --s3-uri); written to {}",
                    printable(dir)
                );
            }
            ReportLocation::UploadFailed { reason, dir } => {
                let _ = writeln!(
                    tail,
                    "  the upload failed: {}; the files are kept in {} on the runner",
                    printable(reason),
                    printable(dir)
                );
            }
        }

        // Never more lines than the message could hold (each is longer than
        // MIN_LINE): the changes are read from disk, and may be a million.
        let change_total = changes.diff().map_or(0, |diff| diff.changes.len());
        let change_lines: Vec<String> = changes
            .diff()
            .into_iter()
            .flat_map(|diff| diff.changes.iter())
            .take(MESSAGE_LIMIT / MIN_LINE)
            .map(|c| {
                let c = c?;
                let status = |s: Option<Status>| s.map_or("-", Status::as_str);
                Ok(clip(format!(
                    "- {} {} ({}) {} {} {}: {} -> {}",
                    c.kind.as_str(),
                    printable(&c.key.account_id),
                    printable(&c.account_name),
                    printable(&c.key.region),
                    printable(&c.key.check_id),
                    printable(&c.resource_id),
                    status(c.old_status),
                    status(c.new_status)
                )))
            })
            .collect::<io::Result<_>>()?;
        let lookback = scan.header.lookback_days;
        let (key_total, event_total) = (keys.len(), events.len());
        let lists = [
            (
                format!("Keys pending deletion ({key_total}), soonest first:"),
                keys.into_iter().map(|k| k.line).collect::<Vec<_>>(),
                key_total,
                "findings.csv, kms.key_state FAIL",
            ),
            (
                format!(
                    "DisableKey / ScheduleKeyDeletion in the last {lookback} days ({event_total}):"
                ),
                events,
                event_total,
                "findings.csv, kms.recent_disable_delete_events",
            ),
            (
                format!("Changed rows ({change_total}):"),
                change_lines,
                change_total,
                "changes.csv",
            ),
        ];
        let mut message = head;
        // What the lists may take: the tail is always kept whole, and each
        // list keeps room for the title and the cut line of those after it.
        let budget = MESSAGE_LIMIT.saturating_sub(message.len() + tail.len());
        let least = |title: &str| title.len() + 2 + CUT_LINE_ROOM;
        let reserved: Vec<usize> = lists.iter().map(|(title, _, _, _)| least(title)).collect();
        let mut used = 0;
        for (at, (title, lines, total, where_all)) in lists.into_iter().enumerate() {
            let room = budget.saturating_sub(used + reserved[at + 1..].iter().sum::<usize>());
            let mut section = format!("\n{title}\n");
            if total == 0 {
                section.push_str("  none\n");
            }
            let mut shown = 0;
            for line in lines {
                // Room for this line and the "... more" line after it.
                let cut = format!("  ... and {} more (see {where_all})\n", total - shown);
                if section.len() + line.len() + 1 + cut.len() > room {
                    break;
                }
                section.push_str(&line);
                section.push('\n');
                shown += 1;
            }
            if shown < total {
                let _ = writeln!(
                    section,
                    "  ... and {} more (see {where_all})",
                    total - shown
                );
            }
            used += section.len();
            message.push_str(&section);
        }
        message.push_str(&tail);

        let pending = summary
            .by_check
            .get(&CheckId::KeyState)
            .map_or(0, |counts| counts.get(Status::Fail));
        let mut subject = format!(
            "cmkscan {}: {} FAIL, {} ERROR, {pending} key(s) pending deletion",
            scan.header.scan_time.get(..10).unwrap_or_default(),
            count(Status::Fail),
            count(Status::Error)
        );
        if let Some(new) = new_findings {
            let _ = write!(subject, ", {new} new");
        }
        let subject: String = subject
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .take(SUBJECT_LIMIT)
            .collect();

        let mut attributes = vec![
            ("scan_id", "String", scan.header.scan_id.clone()),
            ("fail", "Number", count(Status::Fail).to_string()),
            ("error", "Number", count(Status::Error).to_string()),
            ("keys_pending_deletion", "Number", pending.to_string()),
        ];
        if let Some(new) = new_findings {
            attributes.push(("new_findings", "Number", new.to_string()));
        }
        Ok(Notice {
            subject,
            message,
            attributes,
        })
    }
}

/// `111122223333 (prod) us-east-1: <detail>`, and the exception the row
/// carries, if any: an accepted key is still listed, marked.
fn place(finding: &Finding) -> String {
    let exception = finding.exception.as_ref().map_or(String::new(), |mark| {
        format!(
            " [exception {} {}]",
            printable(&mark.id),
            mark.state.as_str()
        )
    });
    format!(
        "{} ({}) {}{exception}: {}",
        finding.account_id,
        printable(&finding.account_name),
        finding.region,
        printable(&finding.detail)
    )
}

fn pending_key(finding: &Finding, deletion: &PendingDeletion, scan_time: &str) -> PendingKey {
    let deletion_date = deletion.date.clone();
    let when = match deletion_date
        .as_deref()
        .and_then(|d| TimeLeft::between(scan_time, d))
    {
        Some(TimeLeft::Past) => "past its date".to_string(),
        Some(TimeLeft::UnderADay) => "in under a day".to_string(),
        Some(TimeLeft::Days(1)) => "in 1 day".to_string(),
        Some(TimeLeft::Days(days)) => format!("in {days} days"),
        None => "date not reported".to_string(),
    };
    PendingKey {
        line: clip(format!("- {when}: {}", place(finding))),
        deletion_date,
    }
}

/// A list line cut to [`LINE_LIMIT`] bytes, on a character boundary.
fn clip(mut line: String) -> String {
    if line.len() > LINE_LIMIT {
        let mut end = LINE_LIMIT;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str(" ...");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::CheckId;
    use crate::facts::PreviousReport;
    use crate::findings::Tally;
    use crate::history::changes::Changes;

    fn header() -> ScanHeader {
        ScanHeader {
            scan_id: "20261128T155626Z-0c4b".into(),
            scan_time: "2026-11-28T15:56:26Z".into(),
            ..crate::facts::fixtures::header()
        }
    }

    fn finding(check: CheckId, status: Status, resource: &str, detail: &str) -> Finding {
        Finding {
            account_name: "prod\nFAKE LINE".into(),
            ou_path: "Root".into(),
            ou_id: "r-a1b2".into(),
            resource_id: resource.into(),
            detail: detail.into(),
            ..crate::checks::fixtures::finding(check, status)
        }
    }

    fn notice(findings: Vec<Finding>, location: &ReportLocation) -> Notice {
        let mut tally = Tally::default();
        tally.findings(&findings);
        let mut summary = tally.summary(&[], 1.0, &Default::default());
        let mut accepted = crate::checks::catalog::StatusCounts::default();
        for f in findings.iter().filter(|f| f.exception.is_some()) {
            accepted.add(f.status);
        }
        if accepted.total() > 0 {
            summary.exceptions = Some(crate::exceptions::ExceptionsSummary {
                source: "risk/exceptions.yaml".into(),
                sha256: String::new(),
                as_of: crate::exceptions::day_of("2026-11-28T15:56:26Z").expect("a day"),
                max_days: 365,
                accepted_rows: accepted,
                expired_rows: Default::default(),
                stale: Vec::new(),
                expired: Vec::new(),
                matching_errors: Vec::new(),
                exceptions: Vec::new(),
            });
        }
        let changes = Changes::not_compared(PreviousReport::NotRequested);
        Notice::new(&Scan {
            header: &header(),
            summary: &summary,
            changes: &changes,
            findings: &findings,
            location,
        })
        .expect("in memory")
    }

    #[test]
    fn keys_soonest_first_with_days_left_and_names_escaped() {
        let key = |arn: &str, date: &str| Finding {
            pending_deletion: Some(PendingDeletion {
                date: (date != "not reported").then(|| date.to_string()),
            }),
            ..finding(
                CheckId::KeyState,
                Status::Fail,
                arn,
                &format!("key {arn} is PendingDeletion (deletion date {date}); aliases: none"),
            )
        };
        let mut accepted = key("arn:k/late", "2026-12-29T10:00:00.5Z");
        accepted.exception = Some(crate::checks::ExceptionMark {
            id: "legacy-migration".into(),
            state: crate::checks::ExceptionState::Active,
        });
        let n = notice(
            vec![
                accepted,
                key("arn:k/soon", "2026-12-05T15:56:26Z"),
                key("arn:k/unknown", "not reported"),
                finding(
                    CheckId::RecentDisableDeleteEvents,
                    Status::Warn,
                    "arn:k/soon",
                    "ScheduleKeyDeletion at 2026-11-28T10:00:00Z by arn:aws:iam::1:user/x from 10.0.0.1 (event e1)",
                ),
            ],
            &ReportLocation::Uploaded(vec!["s3://b/p/findings.csv".into()]),
        );
        let soon = n.message.find("arn:k/soon is").expect("soon");
        let late = n.message.find("arn:k/late is").expect("late");
        let unknown = n.message.find("arn:k/unknown is").expect("unknown");
        assert!(soon < late && late < unknown, "{}", n.message);
        assert!(
            n.message
                .contains("- in 7 days: 111122223333 (prod\\nFAKE LINE)"),
            "{}",
            n.message
        );
        assert!(
            n.message.contains("- in 30 days: 111122223333 (prod\\nFAKE LINE) us-east-1 [exception legacy-migration active]: key arn:k/late"),
            "{}",
            n.message
        );
        assert!(n.message.contains("- date not reported: "), "{}", n.message);
        assert!(
            n.message.contains("\nOf which accepted by exceptions (risk/exceptions.yaml): 1 FAIL, 0 WARN; under expired exceptions: 0 FAIL, 0 WARN\n"),
            "{}",
            n.message
        );
        assert!(!n.message.contains("\nFAKE LINE"), "{}", n.message);
        assert!(
            n.message
                .contains("ScheduleKeyDeletion at 2026-11-28T10:00:00Z"),
            "{}",
            n.message
        );
        assert!(
            n.message
                .contains("Changes: not compared: no previous report"),
            "{}",
            n.message
        );
        assert!(
            n.message.ends_with("Report:\n  s3://b/p/findings.csv\n"),
            "{}",
            n.message
        );
        assert_eq!(
            n.subject,
            "cmkscan 2026-11-28: 3 FAIL, 0 ERROR, 3 key(s) pending deletion"
        );
        assert!(n
            .attributes
            .contains(&("keys_pending_deletion", "Number", "3".into())));
    }

    #[test]
    fn text_read_back_from_an_edited_previous_report_cannot_forge_lines() {
        // findings.json in the bucket is editable by anyone who may write
        // there: its scan id, time and row keys reach the message too.
        let forged = "\nFORGED: all clear";
        let row = crate::findings::Row {
            scan_id: format!("old{forged}"),
            scan_time: format!("2026-11-21T06:00:00Z{forged}"),
            account_id: format!("111122223333{forged}"),
            account_name: format!("name{forged}"),
            region: format!("us-east-1{forged}"),
            check_id: format!("kms.key_state{forged}"),
            status: Status::Fail,
            severity: "HIGH".into(),
            resource_id: format!("arn:k/1{forged}"),
            title: String::new(),
            detail: String::new(),
            remediation: String::new(),
            controls: String::new(),
            ou_path: "Root".into(),
            exception_id: String::new(),
            exception_state: String::new(),
        };
        let old = crate::history::ReportFile::from_rows(
            format!("old{forged}"),
            format!("2026-11-21T06:00:00Z{forged}"),
            vec![row],
        )
        .expect("one row");
        let new = crate::history::ReportFile::from_rows("new".into(), "t".into(), Vec::new())
            .expect("no rows");
        let changes =
            Changes::compare(format!("s3://b/p/findings.json{forged}"), &old, &new).unwrap();
        let summary = Tally::default().summary(&[], 1.0, &Default::default());
        let no_findings: Vec<Finding> = Vec::new();
        let n = Notice::new(&Scan {
            header: &header(),
            summary: &summary,
            changes: &changes,
            findings: &no_findings,
            location: &ReportLocation::Local("/reports".into()),
        })
        .expect("in memory");
        assert!(
            n.message.contains("Changes since scan old\\nFORGED: all clear (2026-11-21T06:00:00Z\\nFORGED: all clear, "),
            "{}",
            n.message
        );
        assert!(
            n.message.contains("- fixed_fail 111122223333\\nFORGED: all clear (name\\nFORGED: all clear) us-east-1\\nFORGED: all clear kms.key_state\\nFORGED: all clear arn:k/1\\nFORGED: all clear: FAIL -> -"),
            "{}",
            n.message
        );
        assert!(!n.message.contains("\nFORGED"), "{}", n.message);
        let stdout = changes.render();
        assert!(!stdout.contains("\nFORGED"), "{stdout}");
        let mut diff = Vec::new();
        changes.diff().expect("compared").render(&mut diff).unwrap();
        let diff = String::from_utf8(diff).unwrap();
        assert!(!diff.contains("\nFORGED"), "{diff}");
    }

    #[test]
    fn long_lists_are_cut_with_a_count_and_the_report_location_kept() {
        let detail =
            "DisableKey at 2026-11-28T10:00:00Z by someone from 10.0.0.1 (event e)".repeat(20);
        let events: Vec<Finding> = (0..5_000)
            .map(|i| {
                finding(
                    CheckId::RecentDisableDeleteEvents,
                    Status::Warn,
                    &format!("arn:k/{i}"),
                    &detail,
                )
            })
            .collect();
        let n = notice(
            events,
            &ReportLocation::UploadFailed {
                reason: "AccessDenied".into(),
                dir: "/reports".into(),
            },
        );
        assert!(n.message.len() <= MESSAGE_LIMIT, "{}", n.message.len());
        assert!(
            n.message.len() > MESSAGE_LIMIT - 4_000,
            "{}",
            n.message.len()
        );
        let cut = n
            .message
            .lines()
            .find(|l| l.starts_with("  ... and "))
            .expect("a cut line");
        assert!(
            cut.ends_with("more (see findings.csv, kms.recent_disable_delete_events)"),
            "{cut}"
        );
        let shown = n.message.lines().filter(|l| l.starts_with("- ")).count();
        let more: usize = cut
            .trim_start_matches("  ... and ")
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert_eq!(shown + more, 5_000);
        assert!(
            n.message.contains("Changed rows (0):\n  none\n"),
            "the sections after stay"
        );
        assert!(n.message.ends_with("kept in /reports on the runner\n"));
        assert!(n.subject.len() < 100 && n.subject.is_ascii());
    }
}
