//! The page's unit tests; the page as a whole is pinned by
//! `tests/integration/report_html.rs`.

use super::keys::days_left;
use super::*;
use crate::facts::{PreviousReport, ScanHeader};
use crate::findings::Summary;
use crate::history::changes::Changes;

fn header() -> ScanHeader {
    ScanHeader {
        scan_id: "20261128T101500Z-0001".into(),
        organization_id: String::new(),
        ..crate::facts::fixtures::header()
    }
}

/// The section when no comparison was asked for.
fn not_compared() -> Changes {
    Changes::not_compared(PreviousReport::NotRequested)
}

pub(super) fn render(findings: Vec<Finding>, activity: &KeyActivity, changes: &Changes) -> String {
    let (scan, summary) = (header(), Summary::default());
    let report = Report {
        scan: &scan,
        summary: &summary,
        changes,
        findings: &findings,
    };
    let mut out = Vec::new();
    HtmlPage {
        report: &report,
        activity,
    }
    .write(&mut out)
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn an_empty_organisation_is_said_to_be_empty() {
    let activity = KeyActivity::default();
    let without = render(Vec::new(), &activity, &not_compared());
    assert!(without.contains("No findings."));
    assert!(without.contains("No accounts were scanned."));
    assert!(without.contains("No customer-managed key is pending deletion"));
}

#[test]
fn past_the_first_rows_a_long_list_is_collapsed_not_cut() {
    let key = |i: usize| PendingKey {
        place: KeyPlace {
            account_id: format!("{i:012}"),
            account_name: String::new(),
            ou_path: String::new(),
            region: "us-east-1".into(),
        },
        arn: format!("arn:aws:kms:us-east-1:{i:012}:key/k{i}"),
        aliases: Vec::new(),
        deletion_date: Some("2026-12-01T10:15:00Z".into()),
    };
    let activity = KeyActivity {
        pending_deletion: (0..ROWS_IN_VIEW + 5).map(key).collect(),
        events: Vec::new(),
    };
    let page = render(Vec::new(), &activity, &not_compared());
    let section = &page[page.find("id=\"pending\"").unwrap()..page.find("id=\"events\"").unwrap()];
    // Every key is listed; the last five in a collapsed table.
    assert_eq!(section.matches(":key/k").count(), ROWS_IN_VIEW + 5);
    let collapsed = &section[section
        .find("<details class=\"more\"><summary>5 more keys pending deletion, later</summary>")
        .unwrap()..];
    assert_eq!(collapsed.matches(":key/k").count(), 5);
    assert!(collapsed.contains(":key/k29<"));
    // Three days and five minutes after the scan: 3 days left.
    assert!(section.contains("<td class=\"num\">3</td>"), "{section}");
    assert!(page.contains("30 keys pending deletion</a>, the soonest in 3 days"));
}

#[test]
fn an_accepted_key_is_marked_in_the_key_and_event_tables() {
    let arn = "arn:aws:kms:us-east-1:222222222222:key/k1";
    let place = KeyPlace {
        account_id: "222222222222".into(),
        account_name: "dev".into(),
        ou_path: "Root".into(),
        region: "us-east-1".into(),
    };
    let activity = KeyActivity {
        pending_deletion: vec![PendingKey {
            place: place.clone(),
            arn: arn.into(),
            aliases: Vec::new(),
            deletion_date: Some("2026-12-01T10:15:00Z".into()),
        }],
        events: vec![crate::findings::activity::RecentEvent {
            place,
            event: crate::facts::KeyEvent {
                event_id: "e1".into(),
                event_name: "ScheduleKeyDeletion".into(),
                event_time: "2026-11-27T10:00:00Z".into(),
                actor: "arn:aws:iam::222222222222:user/x".into(),
                key: arn.into(),
                source_ip: "10.0.0.1".into(),
            },
            key_aliases: Vec::new(),
        }],
    };
    let finding = |check, status, id: &str, state| Finding {
        account_id: "222222222222".into(),
        account_name: "dev".into(),
        ou_path: "Root".into(),
        ou_id: "r-a1b2".into(),
        resource_id: arn.into(),
        detail: "detail".into(),
        exception: Some(ExceptionMark {
            id: id.into(),
            state,
        }),
        ..crate::checks::fixtures::finding(check, status)
    };
    let page = render(
        vec![
            finding(
                CheckId::KeyState,
                Status::Fail,
                "decommission",
                ExceptionState::Active,
            ),
            finding(
                CheckId::RecentDisableDeleteEvents,
                Status::Warn,
                "old-window",
                ExceptionState::Expired,
            ),
        ],
        &activity,
        &not_compared(),
    );
    let pending = &page[page.find("id=\"pending\"").unwrap()..page.find("id=\"events\"").unwrap()];
    assert!(
        pending
            .contains("key/k1<div class=\"exc\">Accepted by exception <b>decommission</b></div>"),
        "{pending}"
    );
    let events =
        &page[page.find("id=\"events\"").unwrap()..page.find("id=\"exceptions\"").unwrap()];
    assert!(
        events.contains(
            "key/k1<div class=\"exc\">Not accepted: exception <b>old-window</b> has expired</div>"
        ),
        "{events}"
    );
    assert!(!events.contains("decommission"), "{events}");
}

#[test]
fn days_left_are_whole_days_from_the_scan_time() {
    let days = |date| {
        let left = TimeLeft::between("2026-11-28T15:56:26Z", date).expect("dates");
        let mut out = Vec::new();
        days_left(&mut Markup::new(&mut out), left).unwrap();
        String::from_utf8(out).unwrap()
    };
    assert_eq!(days("2026-11-28T15:56:25Z"), "past");
    assert_eq!(days("2026-11-28T15:56:26Z"), "under 1");
    assert_eq!(days("2026-11-29T15:56:25Z"), "under 1");
    assert_eq!(days("2026-11-29T15:56:26Z"), "1");
    assert_eq!(days("2026-12-05T16:56:26Z"), "7");
    // Rounded down, as the SNS message says it.
    assert_eq!(days("2026-12-05T15:55:26Z"), "6");
}

#[test]
fn a_cell_shows_its_worst_status() {
    let counts = |pass, fail, warn, error| {
        let mut counts = StatusCounts::default();
        for (status, n) in Status::ALL.into_iter().zip([pass, fail, warn, error]) {
            (0..n).for_each(|_| counts.add(status));
        }
        counts
    };
    assert_eq!(counts(3, 1, 1, 1).worst(), Some(Status::Fail));
    assert_eq!(counts(3, 0, 1, 1).worst(), Some(Status::Error));
    assert_eq!(counts(3, 0, 1, 0).worst(), Some(Status::Warn));
    assert_eq!(counts(3, 0, 0, 0).worst(), Some(Status::Pass));
    assert_eq!(counts(0, 0, 0, 0).worst(), None);
}

#[test]
fn the_policy_names_the_inline_style_and_script_by_their_hashes() {
    // sha256("") in base64, as CSP spells it.
    assert_eq!(
        csp_hash(""),
        "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    let page = render(Vec::new(), &KeyActivity::default(), &not_compared());
    assert!(page.contains(&format!("style-src '{}'", csp_hash(STYLE))));
    assert!(page.contains(&format!("script-src '{}'", csp_hash(SCRIPT))));
    assert!(page.contains(&format!("<style>{STYLE}</style>")));
    assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
}

/// Findings of `accounts` accounts, each with `per_check` rows of every
/// check × status, in report order.
fn many_findings(accounts: usize, per_check: usize) -> Vec<Finding> {
    let mut findings = Vec::new();
    for a in 0..accounts {
        let account = format!("{:012}", a + 1);
        for check in CheckId::ALL {
            for status in Status::ALL {
                for n in 0..per_check {
                    findings.push(Finding {
                        resource_id: format!("{}-{}-{n}", check.as_str(), status.as_str()),
                        ..crate::checks::fixtures::bare_finding(
                            &account,
                            "us-east-1",
                            check,
                            status,
                        )
                    });
                }
            }
        }
    }
    crate::checks::sort(&mut findings);
    findings
}

#[test]
fn a_small_report_lists_every_row() {
    // 4 accounts × 6 checks × 4 statuses × 2 = 192 rows.
    let findings = many_findings(4, 2);
    let total = findings.len();
    let page = render(findings, &KeyActivity::default(), &not_compared());
    let table = &page[page.find("id=\"findings\"").unwrap()..];
    assert_eq!(table.matches("<tr><td>").count(), total);
    assert!(!table.contains("Not listed"), "{table}");
    assert!(!table.contains("id=\"not-listed\""));
}

#[test]
fn a_large_report_lists_the_worst_rows_and_counts_the_others_exactly() {
    // 60 accounts × 6 checks × 4 statuses × 6 = 8,640 rows, 2,160 of each
    // status: every ERROR and FAIL row, and 680 WARN rows of the first
    // accounts, make the 5,000 listed; no PASS row.
    let findings = many_findings(60, 6);
    assert_eq!(findings.len(), 8_640);
    let page = render(findings, &KeyActivity::default(), &not_compared());
    let table = &page[page.find("id=\"findings\"").unwrap()..];
    assert!(
        table.contains("This table lists <b>5000</b> of the report's 8640 rows"),
        "{}",
        &table[..2000]
    );
    assert!(
        table.contains("<b>Not listed: 3640 rows</b> (1480 WARN, 2160 PASS)"),
        "{}",
        &table[..2000]
    );
    let cells = |status: &str| table.matches(&format!("<td class=\"{status}\">")).count();
    assert_eq!(
        (cells("ERROR"), cells("FAIL"), cells("WARN"), cells("PASS")),
        (2_160, 2_160, 680, 0)
    );
    // Each account's own line counts what of its rows is not listed: 36
    // WARN rows an account, so the first 18 accounts have every WARN row
    // listed, the 19th 32 of its 36, the others none.
    let not_listed: Vec<&str> = table
        .split("<p class=\"note\">Not listed here: ")
        .skip(1)
        .map(|rest| &rest[..rest.find("</p>").unwrap()])
        .collect();
    assert_eq!(not_listed.len(), 60);
    assert!(not_listed[..18]
        .iter()
        .all(|line| line.starts_with("36 PASS (") && !line.contains("WARN")));
    assert!(
        not_listed[18].starts_with("4 WARN (kms.recent_disable_delete_events 4); 36 PASS ("),
        "{}",
        not_listed[18]
    );
    assert!(not_listed[19..]
        .iter()
        .all(|line| line.starts_with("36 WARN (scan.account_access 6, ")));
    // Summed over the accounts, the lines say exactly what the note does.
    let sum = |status: &str| -> usize {
        not_listed
            .iter()
            .filter_map(|line| {
                line.split("; ")
                    .find(|part| part.split(' ').nth(1) == Some(status))
                    .and_then(|part| part.split(' ').next())
                    .map(|n| n.parse::<usize>().unwrap())
            })
            .sum()
    };
    assert_eq!((sum("WARN"), sum("PASS"), sum("FAIL")), (1_480, 2_160, 0));
}

#[test]
fn past_the_first_five_accounts_not_active_are_named_in_a_collapsed_list() {
    let skipped: Vec<crate::facts::OrgAccount> = (0..ACCOUNTS_IN_VIEW + 3)
        .map(|i| crate::facts::OrgAccount {
            id: format!("{:012}", 900 + i),
            name: format!("closed-{i}"),
            status: "SUSPENDED".into(),
            ou_path: "Root/Suspended".into(),
            ou_id: "ou-susp-11111111".into(),
            ou_ancestors: Vec::new(),
        })
        .collect();
    let summary = Summary {
        accounts_skipped: skipped,
        ..Summary::default()
    };
    let (scan, findings, changes) = (header(), Vec::new(), not_compared());
    let report = Report {
        scan: &scan,
        summary: &summary,
        changes: &changes,
        findings: &findings,
    };
    let mut out = Vec::new();
    HtmlPage {
        report: &report,
        activity: &KeyActivity::default(),
    }
    .write(&mut out)
    .unwrap();
    let page = String::from_utf8(out).unwrap();
    // Every account is named; the last three in the collapsed list.
    assert_eq!(
        page.matches(" is SUSPENDED: listed by Organizations")
            .count(),
        8
    );
    let collapsed = &page[page
        .find("<li><details><summary>3 more accounts not active</summary>")
        .unwrap()..];
    assert_eq!(
        collapsed
            .matches(" is SUSPENDED: listed by Organizations")
            .count(),
        3
    );
    assert!(collapsed.contains("closed-5") && !collapsed.contains("closed-4"));
}
