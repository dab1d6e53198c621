//! `report.html`: the page people read. One self-contained file (no
//! external script, font, stylesheet or image; a Content-Security-Policy
//! that allows only its own style and script), readable without
//! JavaScript: the charts are SVG written here, and the script only
//! filters the findings table.
//!
//! Written in two passes over the findings, each streaming: the first
//! rolls them up per account (the organisation grid and the account
//! headings need it above the rows), the second writes the rows. Memory
//! holds the roll-up — a few counters per account — never the rows.
//!
//! Everything from AWS goes through [`Markup::text`]: see `markup`.

mod changes;
mod coverage;
mod exceptions;
mod findings;
mod keys;
mod listing;
mod markup;
mod organisation;
mod posture;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::Report;
use crate::checks::catalog::{CheckId, Status, StatusCounts};
use crate::checks::{ExceptionMark, ExceptionState};
use crate::checks::{Finding, ACCOUNT_WIDE};
use crate::exceptions::{format_date, ExceptionOutcome};
use crate::findings::{plan_anchor, KeyActivity, KeyPlace, PendingKey, TimeLeft};
use exceptions::{accepted, exception_note};
pub use markup::Markup;
use organisation::{grid, AccountRollup, Organisation};

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Above this many accounts, the findings of each account start collapsed.
const OPEN_ACCOUNTS_UP_TO: usize = 25;
/// Above this many accounts, each OU of the grid starts collapsed.
const OPEN_OUS_UP_TO: usize = 100;
/// Accounts of one kind (not active, unreachable) named in view in the
/// coverage section; the others are named in a collapsed list.
const ACCOUNTS_IN_VIEW: usize = 5;
/// Keys pending deletion and events listed in view; the others are
/// listed collapsed.
const ROWS_IN_VIEW: usize = 25;
/// A key deleted within this many days is highlighted.
const SOON_DAYS: u64 = 7;

/// Opens the comment after each FAIL row's detail that names the row's
/// section of a plan (`findings::plan_anchor`); [`link_plan`] turns it
/// into a link when a plan is written beside the page. Text from AWS is
/// escaped, so it can never contain this.
const PLAN_MARKER: &str = "<!--plan:";

/// `html` (a report.html of scan `scan_id`) with the FAIL rows whose
/// anchor is in `sections` (anchor → step id) linked to that section of
/// `plan.md` beside it; `None` when the page is not that scan's report.
pub fn link_plan(html: &str, scan_id: &str, sections: &BTreeMap<String, String>) -> Option<String> {
    let mut title = b"<title>cmkscan report ".to_vec();
    markup::escape(scan_id, &mut title).ok()?;
    title.extend_from_slice(b"</title>");
    if !html.contains(std::str::from_utf8(&title).ok()?) {
        return None;
    }
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let mut out = String::with_capacity(html.len() + 64 * sections.len());
    let mut rest = html;
    while let Some(at) = rest.find(PLAN_MARKER) {
        let after = &rest[at + PLAN_MARKER.len()..];
        let Some(end) = after.find("-->") else {
            break;
        };
        let anchor = &after[..end];
        out.push_str(&rest[..at]);
        match sections.get(anchor) {
            Some(step) if plain(anchor) && plain(step) => {
                out.push_str(" <a class=\"plan\" href=\"plan.md#");
                out.push_str(anchor);
                out.push_str("\">plan ");
                out.push_str(step);
                out.push_str("</a>");
            }
            _ => out.push_str(&rest[at..at + PLAN_MARKER.len() + end + 3]),
        }
        rest = &after[end + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// The page, from the same report the CSV and JSON are written from.
pub struct HtmlPage<'a> {
    pub report: &'a Report<'a>,
    pub activity: &'a KeyActivity,
}

impl HtmlPage<'_> {
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let org = Organisation::read(self.report)?;
        let mut page = Markup::new(out);
        self.head(&mut page)?;
        self.coverage(&mut page, &org)?;
        self.posture(&mut page)?;
        grid(&mut page, &org)?;
        self.pending_deletion(&mut page, &org)?;
        self.events(&mut page, &org)?;
        self.exceptions(&mut page)?;
        changes::section(&mut page, self.report.changes)?;
        self.findings(&mut page, &org)?;
        page.raw("</main>\n<footer>Written by cmkscan for scan ")?;
        page.text(&self.report.scan.scan_id)?;
        page.raw(". Names, ARNs, events and details on this page come from AWS and are shown as text.</footer>\n<script>")?;
        page.raw(SCRIPT)?;
        page.raw("</script>\n</body>\n</html>\n")
    }
    fn head(&self, page: &mut Markup<'_>) -> io::Result<()> {
        let scan = self.report.scan;
        let summary = self.report.summary;
        page.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")?;
        // Only this page's own style and script may run: should any text
        // from AWS ever become markup, the browser still refuses it.
        page.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'; style-src '")?;
        page.text(&csp_hash(STYLE))?;
        page.raw("'; script-src '")?;
        page.text(&csp_hash(SCRIPT))?;
        page.raw("'\">\n<title>cmkscan report ")?;
        page.text(&scan.scan_id)?;
        page.raw("</title>\n<style>")?;
        page.raw(STYLE)?;
        page.raw("</style>\n</head>\n<body>\n<header><h1>KMS key disable / deletion monitoring</h1>\n<p class=\"meta\">Scan <b>")?;
        page.text(&scan.scan_id)?;
        page.raw("</b> at <b>")?;
        page.text(&scan.scan_time)?;
        page.raw("</b> · partition ")?;
        page.text(&scan.partition)?;
        page.raw(" · management account ")?;
        page.text(&scan.management_account_id)?;
        page.raw(" · events looked up for the last ")?;
        page.count(scan.lookback_days as usize)?;
        page.raw(" days · took ")?;
        page.decimal(summary.duration_seconds)?;
        page.raw(" s, ")?;
        page.count(summary.api_calls.values().sum::<u64>() as usize)?;
        page.raw(" AWS requests</p>\n<p class=\"headline\">")?;
        for status in Status::WORST_FIRST {
            badge_count(page, status, summary.by_status.get(status))?;
        }
        if let Some(exceptions) = &summary.exceptions {
            let accepted = exceptions.accepted_rows.total();
            page.raw("<a href=\"#exceptions\">")?;
            page.count(accepted)?;
            page.raw(" accepted</a> ·")?;
        }
        let pending = &self.activity.pending_deletion;
        page.raw(" <a href=\"#pending\">")?;
        page.count(pending.len())?;
        page.raw(plural(
            pending.len(),
            " key pending deletion",
            " keys pending deletion",
        ))?;
        page.raw("</a>")?;
        if let Some(left) = pending.first().and_then(|key| self.time_left(key)) {
            match left {
                TimeLeft::Past => page.raw(", the soonest past its date")?,
                TimeLeft::UnderADay => page.raw(", the soonest in under a day")?,
                TimeLeft::Days(days) => {
                    let days = days as usize;
                    page.raw(", the soonest in ")?;
                    page.count(days)?;
                    page.raw(plural(days, " day", " days"))?;
                }
            }
        }
        page.raw(" · <a href=\"#events\">")?;
        page.count(self.activity.events.len())?;
        page.raw(plural(
            self.activity.events.len(),
            " DisableKey / ScheduleKeyDeletion event",
            " DisableKey / ScheduleKeyDeletion events",
        ))?;
        page.raw("</a> in the last ")?;
        page.count(scan.lookback_days as usize)?;
        page.raw(" days</p></header>\n<nav><a href=\"#coverage\">Coverage</a><a href=\"#posture\">Posture</a><a href=\"#organisation\">Organisation</a><a href=\"#pending\">Keys pending deletion</a><a href=\"#events\">Recent events</a><a href=\"#exceptions\">Exceptions</a><a href=\"#changes\">Changes</a><a href=\"#findings\">Findings</a></nav>\n<main>\n")
    }
}

/// Before row `i` of `total`: past the first [`ROWS_IN_VIEW`], the rest
/// go into a collapsed table of their own (with the same `head`), so that
/// a long list does not push the rest of the page out of reach.
fn more_rows(
    page: &mut Markup<'_>,
    i: usize,
    total: usize,
    what: &'static str,
    head: &'static str,
) -> io::Result<()> {
    if i != ROWS_IN_VIEW {
        return Ok(());
    }
    page.raw("</tbody>\n</table>\n<details class=\"more\"><summary>")?;
    page.count(total - ROWS_IN_VIEW)?;
    page.raw(what)?;
    page.raw("</summary>\n")?;
    page.raw(head)
}

/// Ends what [`more_rows`] began.
fn end_rows(page: &mut Markup<'_>, total: usize) -> io::Result<()> {
    page.raw("</tbody>\n</table>\n")?;
    if total > ROWS_IN_VIEW {
        page.raw("</details>\n")?;
    }
    Ok(())
}

/// `sha256-…` of an inline script or style, as a CSP source names it.
fn csp_hash(inline: &str) -> String {
    format!(
        "sha256-{}",
        aws_smithy_types::base64::encode(&Sha256::digest(inline.as_bytes())[..])
    )
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn badge_count(page: &mut Markup<'_>, status: Status, n: usize) -> io::Result<()> {
    page.raw("<span class=\"badge ")?;
    page.raw(status.as_str())?;
    page.raw("\">")?;
    page.count(n)?;
    page.raw(" ")?;
    page.raw(status.as_str())?;
    page.raw("</span>")
}
