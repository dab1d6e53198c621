//! The page's "Changes since the previous report" section, from the same
//! [`Changes`] that findings.json's `changes` section and `changes.csv`
//! are written from: what got worse first (keys newly pending deletion,
//! new FAILs, new ERRORs), then what was fixed, then the rest collapsed,
//! and the accounts that appeared or left. Without a comparison it says
//! why none was made. Each kind lists at most [`LISTED_PER_KIND`] rows,
//! read from disk one at a time, and says how many more `changes.csv`
//! holds: a week in which every row changed would otherwise be a page of
//! a million rows.

use std::io;

use super::markup::Markup;
use super::{end_rows, more_rows};
use crate::checks::catalog::Status;
use crate::history::changes::{AccountRef, Changes, Compared};
use crate::history::diff::{Change, ChangeKind};

/// Rows listed on the page for each kind of change.
const LISTED_PER_KIND: usize = 500;

/// Kinds listed in view, in this order: what a reader must act on first.
const IN_VIEW: [(ChangeKind, &str); 4] = [
    (
        ChangeKind::NewPendingDeletion,
        "Keys newly pending deletion",
    ),
    (ChangeKind::NewFail, "New FAIL rows"),
    (ChangeKind::NewError, "Newly ERROR (not read, never a PASS)"),
    (
        ChangeKind::FixedFail,
        "Fixed (FAIL before, PASS or gone now)",
    ),
];

/// Kinds listed collapsed: status moves that are neither a new problem
/// nor a fix.
const COLLAPSED: [(ChangeKind, &str); 3] = [
    (ChangeKind::StatusChanged, "Other status changes"),
    (ChangeKind::Appeared, "Rows that appeared"),
    (ChangeKind::Disappeared, "Rows that disappeared"),
];

const HEAD: &str = "<table>\n<thead><tr><th>Account</th><th>Region</th><th>Check</th><th>Resource</th><th>Was</th><th>Now</th><th>Detail</th></tr></thead>\n<tbody>\n";

pub(super) fn section(page: &mut Markup<'_>, changes: &Changes) -> io::Result<()> {
    page.raw("<section id=\"changes\"><h2>Changes since the previous report</h2>\n")?;
    match changes.against() {
        Some(against) => {
            page.raw("<p class=\"note\">Compared with ")?;
            page.text(&against.describe())?;
            page.raw(". The same rows are in <code>changes.csv</code>.</p>\n")?;
            compared_body(page, against.compared)?;
        }
        None => {
            page.raw("<p class=\"note\">No comparison was made: ")?;
            page.text(&changes.reason().unwrap_or_default())?;
            page.raw(".</p>\n")?;
        }
    }
    page.raw("</section>\n")
}

fn compared_body(page: &mut Markup<'_>, compared: &Compared) -> io::Result<()> {
    for (kind, title) in IN_VIEW {
        let count = compared.diff.count(kind);
        page.raw("<h3>")?;
        page.raw(title)?;
        page.raw(" · ")?;
        page.count(count)?;
        page.raw("</h3>\n")?;
        if count == 0 {
            page.raw("<p class=\"empty\">None.</p>\n")?;
        } else {
            table(page, compared, kind)?;
        }
    }
    for (kind, title) in COLLAPSED {
        let count = compared.diff.count(kind);
        if count == 0 {
            continue;
        }
        page.raw("<details class=\"more\"><summary>")?;
        page.raw(title)?;
        page.raw(" · ")?;
        page.count(count)?;
        page.raw("</summary>\n")?;
        table(page, compared, kind)?;
        page.raw("</details>\n")?;
    }
    accounts(
        page,
        "Accounts that appeared",
        "Accounts with rows now and none in the previous report",
        &compared.accounts_appeared,
    )?;
    accounts(
        page,
        "Accounts that left",
        "Accounts with rows in the previous report and none now: closed, suspended, moved out of the scanned OUs or filtered out",
        &compared.accounts_left,
    )
}

/// The first [`LISTED_PER_KIND`] changes of `kind`, and how many more
/// there are.
fn table(page: &mut Markup<'_>, compared: &Compared, kind: ChangeKind) -> io::Result<()> {
    let total = compared.diff.count(kind);
    let listed = total.min(LISTED_PER_KIND);
    page.raw(HEAD)?;
    for (i, change) in compared.diff.changes.of_kind(kind).take(listed).enumerate() {
        let change: Change = change?;
        more_rows(page, i, listed, " more rows", HEAD)?;
        page.raw("<tr><td><a class=\"mono\" href=\"#acct-")?;
        page.text(&change.key.account_id)?;
        page.raw("\">")?;
        page.text(&change.key.account_id)?;
        page.raw("</a><br>")?;
        page.text(&change.account_name)?;
        page.raw("</td><td class=\"nw\">")?;
        page.text(&change.key.region)?;
        page.raw("</td><td class=\"mono\">")?;
        page.text(&change.key.check_id)?;
        page.raw("</td><td class=\"res\">")?;
        page.text(&change.resource_id)?;
        page.raw("</td><td>")?;
        status(page, change.old_status)?;
        page.raw("</td><td>")?;
        status(page, change.new_status)?;
        page.raw("</td><td>")?;
        let detail = if change.new_status.is_some() {
            &change.new_detail
        } else {
            &change.old_detail
        };
        page.text(detail)?;
        page.raw("</td></tr>\n")?;
    }
    end_rows(page, listed)?;
    if total > listed {
        page.raw("<p class=\"note\">")?;
        page.count(total - listed)?;
        page.raw(" more not listed here: every changed row is in <a href=\"changes.csv\">changes.csv</a>.</p>\n")?;
    }
    Ok(())
}

fn status(page: &mut Markup<'_>, status: Option<Status>) -> io::Result<()> {
    match status {
        Some(status) => {
            page.raw("<span class=\"badge ")?;
            page.raw(status.as_str())?;
            page.raw("\">")?;
            page.raw(status.as_str())?;
            page.raw("</span>")
        }
        None => page.raw("<span class=\"note\">no row</span>"),
    }
}

fn accounts(
    page: &mut Markup<'_>,
    title: &'static str,
    what: &'static str,
    accounts: &[AccountRef],
) -> io::Result<()> {
    page.raw("<h3>")?;
    page.raw(title)?;
    page.raw(" · ")?;
    page.count(accounts.len())?;
    page.raw("</h3>\n<p class=\"note\">")?;
    page.raw(what)?;
    page.raw(".</p>\n")?;
    if accounts.is_empty() {
        return page.raw("<p class=\"empty\">None.</p>\n");
    }
    page.raw("<ul>\n")?;
    for account in accounts {
        page.raw("<li><span class=\"mono\">")?;
        page.text(&account.id)?;
        page.raw("</span> ")?;
        page.text(&account.name)?;
        page.raw("</li>\n")?;
    }
    page.raw("</ul>\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalog::CheckId;
    use crate::facts::PreviousReport;
    use crate::findings::{KeyActivity, Row};
    use crate::history::fixtures::{self, report};

    fn row(account: &str, name: &str, check: CheckId, status: Status, resource: &str) -> Row {
        Row {
            account_id: account.into(),
            account_name: name.into(),
            ou_path: "Root".into(),
            ..fixtures::row(
                check.as_str(),
                status,
                resource,
                &format!("{check:?} is {status:?}"),
            )
        }
    }

    fn section_of(page: &str) -> &str {
        &page[page.find("id=\"changes\"").unwrap()..page.find("id=\"findings\"").unwrap()]
    }

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/k1";
    const HOSTILE: &str = "<img src=x onerror=alert(1)>";

    #[test]
    fn a_comparison_lists_what_got_worse_what_was_fixed_and_the_accounts() {
        let old = report(
            "20261122T060000Z-0001",
            vec![
                row(
                    "111111111111",
                    "prod",
                    CheckId::KmsKeyRecording,
                    Status::Pass,
                    "",
                ),
                row("111111111111", "prod", CheckId::KeyState, Status::Pass, KEY),
                row(
                    "111111111111",
                    "prod",
                    CheckId::KmsDisableDeleteAlerting,
                    Status::Fail,
                    "",
                ),
                row(
                    "222222222222",
                    HOSTILE,
                    CheckId::KmsKeyRecording,
                    Status::Pass,
                    "",
                ),
            ],
        );
        let new = report(
            "20261129T060000Z-0002",
            vec![
                row(
                    "111111111111",
                    "prod",
                    CheckId::KmsKeyRecording,
                    Status::Fail,
                    "",
                ),
                row("111111111111", "prod", CheckId::KeyState, Status::Fail, KEY),
                row(
                    "111111111111",
                    "prod",
                    CheckId::KmsDisableDeleteAlerting,
                    Status::Pass,
                    "",
                ),
                row(
                    "333333333333",
                    "new-account",
                    CheckId::KmsKeyRecording,
                    Status::Pass,
                    "",
                ),
            ],
        );
        let changes =
            Changes::compare("s3://reports/2026/11/22/x/findings.json".into(), &old, &new).unwrap();
        let page = super::super::tests::render(Vec::new(), &KeyActivity::default(), &changes);
        let section = section_of(&page);
        assert!(!section.contains("No comparison was made"), "{section}");
        assert!(
            section.contains("Compared with scan 20261122T060000Z-0001"),
            "{section}"
        );
        assert!(section.contains("s3://reports/2026/11/22/x/findings.json"));
        // One row under each of the first three headings, in this order.
        let pending = section
            .find("Keys newly pending deletion · 1")
            .expect("pending heading");
        let fails = section.find("New FAIL rows · 1").expect("new FAIL heading");
        let errors = section
            .find("Newly ERROR (not read, never a PASS) · 0")
            .expect("error heading");
        let fixed = section
            .find("Fixed (FAIL before, PASS or gone now) · 1")
            .expect("fixed heading");
        assert!(
            pending < fails && fails < errors && errors < fixed,
            "{section}"
        );
        assert!(section[pending..fails].contains(KEY), "{section}");
        assert!(section[fails..errors].contains("config.kms_key_recording"));
        assert!(section[fixed..].contains("alerting.kms_disable_delete"));
        assert!(section.contains("Accounts that appeared · 1"));
        assert!(section.contains("new-account"));
        assert!(section.contains("Accounts that left · 1"));
        // The departed account's name came from AWS: text, never markup.
        assert!(!section.contains(HOSTILE), "{section}");
        assert!(
            section.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{section}"
        );
    }

    #[test]
    fn without_a_comparison_the_section_says_why() {
        let changes = Changes::not_compared(PreviousReport::Unavailable {
            source: "s3://reports/findings.json".into(),
            reason: format!("the previous report is not JSON: {HOSTILE}"),
        });
        let page = super::super::tests::render(Vec::new(), &KeyActivity::default(), &changes);
        let section = section_of(&page);
        assert!(
            section.contains("No comparison was made: the previous report is not JSON: &lt;img"),
            "{section}"
        );
        assert!(!section.contains("<h3>"), "{section}");
    }
}
