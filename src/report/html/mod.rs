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
mod markup;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::activity::{KeyActivity, KeyPlace, PendingKey, TimeLeft};
use super::Report;
use crate::checks::catalog::{CheckId, Status};
use crate::checks::{Finding, ACCOUNT_WIDE};
use crate::exceptions::{format_date, ExceptionMark, ExceptionOutcome, ExceptionState};
pub use markup::Markup;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Above this many accounts, the findings of each account start collapsed.
const OPEN_ACCOUNTS_UP_TO: usize = 25;
/// Above this many accounts, each OU of the grid starts collapsed.
const OPEN_OUS_UP_TO: usize = 100;
/// Unreachable accounts listed in view in the coverage section; the
/// others are listed collapsed.
const UNREACHABLE_LISTED: usize = 5;
/// Keys pending deletion and events listed in view; the others are
/// listed collapsed.
const ROWS_IN_VIEW: usize = 25;
/// A key deleted within this many days is highlighted.
const SOON_DAYS: u64 = 7;

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
        for status in WORST_FIRST {
            badge_count(
                page,
                status,
                summary.by_status.get(&status).copied().unwrap_or(0),
            )?;
        }
        if let Some(exceptions) = &summary.exceptions {
            let accepted: usize = exceptions.accepted_rows.values().sum();
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

    fn coverage(&self, page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
        let summary = self.report.summary;
        let c = &summary.coverage;
        let accounts = c.accounts_complete + c.accounts_partial + c.accounts_unreachable;
        page.raw("<section id=\"coverage\"><h2>Scope and coverage</h2>\n<p>Scanned: ")?;
        let ous: BTreeSet<&str> = org.accounts.values().map(|a| a.ou_path.as_str()).collect();
        page.count(org.accounts.len())?;
        page.raw(plural(org.accounts.len(), " account", " accounts"))?;
        page.raw(" in ")?;
        page.count(ous.len())?;
        page.raw(plural(ous.len(), " OU", " OUs"))?;
        page.raw("; regions ")?;
        let regions: Vec<&str> = org
            .regions
            .iter()
            .map(String::as_str)
            .filter(|r| *r != ACCOUNT_WIDE)
            .collect();
        page.text(&if regions.is_empty() {
            "none".to_string()
        } else {
            regions.join(", ")
        })?;
        page.raw(".</p>\n<div class=\"tiles\">\n")?;
        tile(
            page,
            Some(c.accounts_partial + c.accounts_unreachable == 0),
            c.accounts_complete,
            accounts,
            "accounts read in full",
            &[
                (c.accounts_partial, "partial (some calls failed)"),
                (c.accounts_unreachable, "unreachable"),
            ],
        )?;
        tile(
            page,
            Some(c.regions_errored == 0),
            c.regions_complete,
            c.regions_scanned,
            "account-regions read in full",
            &[
                (c.regions_errored, "with errors"),
                (c.regions_not_enabled, "not enabled (skipped)"),
            ],
        )?;
        tile(
            page,
            Some(c.findings_errored == 0),
            c.findings_decided,
            c.findings_decided + c.findings_errored,
            "verdicts decided",
            &[(c.findings_errored, "ERROR rows (never counted as PASS)")],
        )?;
        // Neither good nor bad on its own: Organizations lists suspended
        // and closing accounts, which have nothing to scan, and the
        // unreachable ones are the first tile's.
        tile(
            page,
            None,
            summary.accounts_scanned,
            accounts + summary.accounts_skipped.len(),
            "listed accounts entered",
            &[
                (c.accounts_unreachable, "unreachable"),
                (summary.accounts_skipped.len(), "not active (never scanned)"),
            ],
        )?;
        page.raw("</div>\n<h3>Not read in full, and why</h3>\n<ul class=\"plain\">\n")?;
        let mut anything = false;
        for account in &summary.accounts_skipped {
            anything = true;
            page.raw("<li>Account <span class=\"mono\">")?;
            page.text(&account.id)?;
            page.raw("</span> ")?;
            page.text(&account.name)?;
            page.raw(" is ")?;
            page.text(&account.status)?;
            page.raw(": listed by Organizations but not active, so not scanned.</li>\n")?;
        }
        // Every unreachable account is named; past the first few, in a
        // collapsed list, so that the rest of the page stays in view.
        for (i, (id, name, why)) in org.unreachable.iter().enumerate() {
            anything = true;
            if i == UNREACHABLE_LISTED {
                page.raw("<li><details><summary>")?;
                page.count(org.unreachable.len() - UNREACHABLE_LISTED)?;
                page.raw(" more unreachable accounts</summary><ul class=\"plain\">\n")?;
            }
            page.raw("<li>Account <a class=\"mono\" href=\"#acct-")?;
            page.text(id)?;
            page.raw("\">")?;
            page.text(id)?;
            page.raw("</a> ")?;
            page.text(name)?;
            page.raw(" could not be read: ")?;
            page.text(why)?;
            page.raw("</li>\n")?;
        }
        if org.unreachable.len() > UNREACHABLE_LISTED {
            page.raw("</ul></details></li>\n")?;
        }
        if c.regions_errored > 0 {
            anything = true;
            page.raw("<li>")?;
            page.count(c.regions_errored)?;
            page.raw(plural(
                c.regions_errored,
                " account-region in ",
                " account-regions in ",
            ))?;
            page.count(c.accounts_partial)?;
            page.raw(plural(c.accounts_partial, " account", " accounts"))?;
            page.raw(" answered some calls with errors: each such verdict is an ERROR row naming the failed call (<a href=\"#status=ERROR\">show ERROR rows</a>).</li>\n")?;
        }
        // Most accounts share the same opt-in choices: one line per choice.
        let mut by_regions: BTreeMap<&[String], usize> = BTreeMap::new();
        for regions in summary.regions_skipped.values() {
            *by_regions.entry(regions.as_slice()).or_default() += 1;
        }
        for (regions, accounts) in by_regions {
            anything = true;
            page.raw("<li>Not enabled in ")?;
            page.count(accounts)?;
            page.raw(plural(accounts, " account", " accounts"))?;
            page.raw(" (opt-in regions, skipped, not failed): ")?;
            page.text(&regions.join(", "))?;
            page.raw("</li>\n")?;
        }
        if !anything {
            page.raw("<li>Nothing: every account and region in scope was read in full.</li>\n")?;
        }
        page.raw("</ul>\n</section>\n")
    }

    fn posture(&self, page: &mut Markup<'_>) -> io::Result<()> {
        let summary = self.report.summary;
        page.raw("<section id=\"posture\"><h2>Posture per check</h2>\n<p class=\"legend\">")?;
        for status in Status::ALL {
            page.raw("<span><span class=\"badge ")?;
            page.raw(status.as_str())?;
            page.raw("\">")?;
            page.raw(status.as_str())?;
            page.raw("</span></span>")?;
        }
        page.raw("</p>\n")?;
        let mut bars: Vec<(&str, &BTreeMap<Status, usize>)> = summary
            .by_check
            .iter()
            .map(|(check, counts)| (check.as_str(), counts))
            .collect();
        bars.push(("all checks", &summary.by_status));
        stacked_bars(page, &bars)?;
        page.raw("<table>\n<thead><tr><th>Check</th><th>What PASS means</th><th>Severity</th><th class=\"num\">PASS</th><th class=\"num\">FAIL</th><th class=\"num\">WARN</th><th class=\"num\">ERROR</th><th>Controls</th></tr></thead>\n<tbody>\n")?;
        for (check, counts) in &summary.by_check {
            page.raw("<tr><td><a class=\"id\" href=\"#check=")?;
            page.raw(check.as_str())?;
            page.raw("\">")?;
            page.raw(check.as_str())?;
            page.raw("</a></td><td>")?;
            page.text(check.title())?;
            page.raw("</td><td>")?;
            page.raw(check.severity().as_str())?;
            page.raw("</td>")?;
            for status in Status::ALL {
                page.raw("<td class=\"num\">")?;
                page.count(counts.get(&status).copied().unwrap_or(0))?;
                page.raw("</td>")?;
            }
            page.raw("<td>")?;
            page.text(&check.controls())?;
            page.raw("</td></tr>\n")?;
        }
        page.raw("</tbody>\n</table>\n</section>\n")
    }

    fn pending_deletion(&self, page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
        let keys = &self.activity.pending_deletion;
        let exceptions = self.exception_outcomes();
        page.raw("<section id=\"pending\"><h2>Keys pending deletion</h2>\n")?;
        if keys.is_empty() {
            page.raw("<p class=\"note\">No customer-managed key is pending deletion in the accounts and regions read.")?;
            self.unknown_note(page, CheckId::KeyState, "key states")?;
            return page.raw("</p>\n</section>\n");
        }
        page.raw("<p class=\"note\">Soonest first. A key is gone on its deletion date; until then <span class=\"mono\">aws kms cancel-key-deletion</span> keeps it. Days left are counted from the scan time.")?;
        self.unknown_note(page, CheckId::KeyState, "key states")?;
        page.raw("</p>\n")?;
        const HEAD: &str = "<table>\n<thead><tr><th>Deletion date (UTC)</th><th class=\"num nw\">Days left</th><th>Account</th><th>Region</th><th>Key</th><th>Aliases</th></tr></thead>\n<tbody>\n";
        page.raw(HEAD)?;
        for (i, key) in keys.iter().enumerate() {
            more_rows(
                page,
                i,
                keys.len(),
                " more keys pending deletion, later",
                HEAD,
            )?;
            let left = self.time_left(key);
            page.raw(if left.is_some_and(|left| left.is_under(SOON_DAYS)) {
                "<tr class=\"soon\"><td class=\"nw\">"
            } else {
                "<tr><td class=\"nw\">"
            })?;
            page.text(key.deletion_date.as_deref().unwrap_or("not reported"))?;
            page.raw("</td><td class=\"num\">")?;
            match left {
                Some(left) => days_left(page, left)?,
                None => page.raw("unknown")?,
            }
            page.raw("</td>")?;
            place(page, &key.place)?;
            page.raw("<td class=\"res\">")?;
            page.text(&key.arn)?;
            if let Some(mark) = org.key_mark(&key.place, CheckId::KeyState, &key.arn) {
                exception_note(page, mark, &exceptions)?;
            }
            page.raw("</td><td>")?;
            page.text(&aliases(&key.aliases))?;
            page.raw("</td></tr>\n")?;
        }
        end_rows(page, keys.len())?;
        page.raw("</section>\n")
    }

    fn events(&self, page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
        let events = &self.activity.events;
        let exceptions = self.exception_outcomes();
        page.raw("<section id=\"events\"><h2>Recent DisableKey and ScheduleKeyDeletion</h2>\n<p class=\"note\">From CloudTrail event history, the last ")?;
        page.count(self.report.scan.lookback_days as usize)?;
        page.raw(" days before the scan, newest first.")?;
        self.unknown_note(page, CheckId::RecentDisableDeleteEvents, "event histories")?;
        page.raw("</p>\n")?;
        if events.is_empty() {
            return page.raw(
                "<p class=\"empty\">None in the accounts and regions read.</p>\n</section>\n",
            );
        }
        const HEAD: &str = "<table>\n<thead><tr><th>When (UTC)</th><th>Event</th><th>Account</th><th>Region</th><th>Key</th><th>Who</th><th>From</th><th>Event id</th></tr></thead>\n<tbody>\n";
        page.raw(HEAD)?;
        for (i, event) in events.iter().enumerate() {
            more_rows(page, i, events.len(), " more events, earlier", HEAD)?;
            let e = &event.event;
            page.raw("<tr><td class=\"nw\">")?;
            page.text(&e.event_time)?;
            page.raw("</td><td>")?;
            page.text(&e.event_name)?;
            page.raw("</td>")?;
            place(page, &event.place)?;
            page.raw("<td class=\"res\">")?;
            page.text(&e.key)?;
            if !event.key_aliases.is_empty() {
                page.raw("<br>")?;
                page.text(&aliases(&event.key_aliases))?;
            }
            if let Some(mark) =
                org.key_mark(&event.place, CheckId::RecentDisableDeleteEvents, &e.key)
            {
                exception_note(page, mark, &exceptions)?;
            }
            page.raw("</td><td class=\"res\">")?;
            page.text(&e.actor)?;
            page.raw("</td><td class=\"mono\">")?;
            page.text(&e.source_ip)?;
            page.raw("</td><td class=\"res\">")?;
            page.text(&e.event_id)?;
            page.raw("</td></tr>\n")?;
        }
        end_rows(page, events.len())?;
        page.raw("</section>\n")
    }

    /// The exceptions file applied, each exception with what it matched,
    /// and those that need attention: expired, stale, matching ERROR rows.
    fn exceptions(&self, page: &mut Markup<'_>) -> io::Result<()> {
        page.raw("<section id=\"exceptions\"><h2>Accepted exceptions</h2>\n")?;
        let Some(summary) = &self.report.summary.exceptions else {
            return page.raw("<p class=\"note\">No exceptions file was applied: every row stands as judged.</p>\n</section>\n");
        };
        let total = |rows: &BTreeMap<Status, usize>| rows.values().sum::<usize>();
        page.raw("<p class=\"note\">From ")?;
        page.text(&summary.source)?;
        page.raw(" (sha256 ")?;
        page.text(summary.sha256.get(..12).unwrap_or(&summary.sha256))?;
        page.raw("…), judged as of ")?;
        page.text(&format_date(summary.as_of))?;
        page.raw(": ")?;
        page.count(total(&summary.accepted_rows))?;
        page.raw(" rows accepted, ")?;
        page.count(total(&summary.expired_rows))?;
        page.raw(" flagged by expired exceptions and not accepted. Accepted rows keep their status and are shown as accepted (<a href=\"#exception=accepted\">show them</a>); ERROR rows are never accepted.</p>\n")?;
        for (ids, what) in [
            (
                &summary.expired,
                "Expired (accept nothing, flag their rows): ",
            ),
            (&summary.stale, "Stale (matched no row): "),
            (
                &summary.matching_errors,
                "Matching ERROR rows (not accepted): ",
            ),
        ] {
            if !ids.is_empty() {
                page.raw("<p>")?;
                page.raw(what)?;
                page.text(&ids.join(", "))?;
                page.raw("</p>\n")?;
            }
        }
        page.raw("<table>\n<thead><tr><th>Exception</th><th>State</th><th>Until</th><th>Reason</th><th>Approved by</th><th>Ticket</th><th class=\"num\">Rows matched</th></tr></thead>\n<tbody>\n")?;
        for exception in &summary.exceptions {
            page.raw("<tr><td class=\"id\">")?;
            page.text(&exception.id)?;
            page.raw("</td><td>")?;
            page.raw(exception.state.as_str())?;
            page.raw("</td><td class=\"nw\">")?;
            page.text(&format_date(exception.expires))?;
            page.raw("</td><td>")?;
            page.text(&exception.reason)?;
            page.raw("</td><td>")?;
            page.text(&exception.approved_by)?;
            page.raw("</td><td>")?;
            page.text(exception.ticket.as_deref().unwrap_or(""))?;
            page.raw("</td><td class=\"num\">")?;
            page.count(total(&exception.rows))?;
            page.raw("</td></tr>\n")?;
        }
        page.raw("</tbody>\n</table>\n</section>\n")
    }

    /// From the scan time, so that a re-evaluated report says the same.
    /// The exceptions of the file applied, by id.
    fn exception_outcomes(&self) -> BTreeMap<&str, &ExceptionOutcome> {
        self.report
            .summary
            .exceptions
            .iter()
            .flat_map(|summary| &summary.exceptions)
            .map(|exception| (exception.id.as_str(), exception))
            .collect()
    }

    fn time_left(&self, key: &PendingKey) -> Option<TimeLeft> {
        TimeLeft::between(&self.report.scan.scan_time, key.deletion_date.as_deref()?)
    }

    /// Says where a list may be incomplete: the check's ERROR rows.
    fn unknown_note(
        &self,
        page: &mut Markup<'_>,
        check: CheckId,
        what: &'static str,
    ) -> io::Result<()> {
        let errors = self
            .report
            .summary
            .by_check
            .get(&check)
            .and_then(|counts| counts.get(&Status::Error))
            .copied()
            .unwrap_or(0);
        if errors == 0 {
            return Ok(());
        }
        page.raw(" Incomplete: ")?;
        page.raw(what)?;
        page.raw(" could not be read in ")?;
        page.count(errors)?;
        page.raw(plural(
            errors,
            " place (<a href=\"#check=",
            " places (<a href=\"#check=",
        ))?;
        page.raw(check.as_str())?;
        page.raw("&amp;status=ERROR\">their ERROR rows</a>).")
    }

    fn findings(&self, page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
        page.raw("<section id=\"findings\"><h2>Every finding</h2>\n<noscript><p class=\"note\">Filtering needs JavaScript; every finding is listed below, by account.</p></noscript>\n<form id=\"filters\" hidden><label>Account id or name<input name=\"account\" type=\"search\" autocomplete=\"off\"></label><label>Region<select name=\"region\"><option value=\"\">all</option>")?;
        for region in &org.regions {
            option(page, region)?;
        }
        page.raw(
            "</select></label><label>Check<select name=\"check\"><option value=\"\">all</option>",
        )?;
        for check in self.report.summary.by_check.keys() {
            option(page, check.as_str())?;
        }
        page.raw(
            "</select></label><label>Status<select name=\"status\"><option value=\"\">all</option>",
        )?;
        for status in Status::ALL {
            option(page, status.as_str())?;
        }
        page.raw("</select></label><label>Exception<select name=\"exception\"><option value=\"\">all</option><option value=\"accepted\">accepted</option><option value=\"expired\">expired</option><option value=\"none\">none</option></select></label><button type=\"reset\">Show all</button><span id=\"matching\"></span></form>\n")?;
        let exceptions = self.exception_outcomes();
        let open = org.accounts.len() <= OPEN_ACCOUNTS_UP_TO;
        // The account whose rows are being written.
        let mut current: Option<(String, Option<&AccountRollup>)> = None;
        for finding in self.report.findings.rows() {
            let finding = finding?;
            if current.as_ref().map(|(id, _)| id.as_str()) != Some(finding.account_id.as_str()) {
                if let Some((_, rollup)) = current {
                    account_end(page, rollup)?;
                }
                let rollup = org.accounts.get(&finding.account_id);
                account_heading(page, &finding, rollup, open)?;
                current = Some((finding.account_id.clone(), rollup));
            }
            finding_row(page, &finding, &exceptions)?;
        }
        match current {
            Some((_, rollup)) => account_end(page, rollup)?,
            None => page.raw("<p class=\"empty\">No findings.</p>\n")?,
        }
        page.raw("</section>\n")
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

/// A number with its shortfalls; `good`: `None` for one that is neither.
fn tile(
    page: &mut Markup<'_>,
    good: Option<bool>,
    done: usize,
    of: usize,
    what: &'static str,
    details: &[(usize, &'static str)],
) -> io::Result<()> {
    page.raw(match good {
        Some(true) => "<div class=\"tile good\"><div class=\"big\">",
        Some(false) => "<div class=\"tile bad\"><div class=\"big\">",
        None => "<div class=\"tile\"><div class=\"big\">",
    })?;
    page.count(done)?;
    page.raw(" of ")?;
    page.count(of)?;
    page.raw("</div><div>")?;
    page.raw(what)?;
    page.raw("</div><div class=\"sub\">")?;
    for (i, (n, label)) in details.iter().enumerate() {
        if i > 0 {
            page.raw(", ")?;
        }
        page.count(*n)?;
        page.raw(" ")?;
        page.raw(label)?;
    }
    page.raw("</div></div>\n")
}

/// One horizontal bar per entry, its PASS / FAIL / WARN / ERROR shares
/// stacked, each labelled with its count where it is wide enough.
fn stacked_bars(
    page: &mut Markup<'_>,
    bars: &[(&str, &BTreeMap<Status, usize>)],
) -> io::Result<()> {
    const LABEL: f64 = 250.0;
    const BAR: f64 = 540.0;
    const ROW: f64 = 28.0;
    let height = ROW * bars.len() as f64 + 6.0;
    page.raw("<svg role=\"img\" aria-label=\"Findings by status for each check\" width=\"1120\" height=\"")?;
    page.decimal(height)?;
    page.raw("\" viewBox=\"0 0 1120 ")?;
    page.decimal(height)?;
    page.raw("\">\n")?;
    for (row, (name, counts)) in bars.iter().enumerate() {
        let y = ROW * row as f64 + 4.0;
        let total: usize = counts.values().sum();
        page.raw("<text x=\"0\" y=\"")?;
        page.decimal(y + 15.0)?;
        page.raw("\">")?;
        page.text(name)?;
        page.raw("</text>\n")?;
        let mut x = LABEL;
        for status in Status::ALL {
            let n = counts.get(&status).copied().unwrap_or(0);
            if n == 0 || total == 0 {
                continue;
            }
            let width = BAR * n as f64 / total as f64;
            page.raw("<rect x=\"")?;
            page.decimal(x)?;
            page.raw("\" y=\"")?;
            page.decimal(y)?;
            page.raw("\" width=\"")?;
            page.decimal(width)?;
            page.raw("\" height=\"20\" fill=\"")?;
            page.raw(colour(status))?;
            page.raw("\"><title>")?;
            page.text(name)?;
            page.raw(": ")?;
            page.count(n)?;
            page.raw(" ")?;
            page.raw(status.as_str())?;
            page.raw("</title></rect>\n")?;
            // A digit is about 7 units wide at this size.
            if width >= 8.0 + 7.0 * digits(n) as f64 {
                page.raw("<text class=\"in\" x=\"")?;
                page.decimal(x + 4.0)?;
                page.raw("\" y=\"")?;
                page.decimal(y + 15.0)?;
                page.raw("\">")?;
                page.count(n)?;
                page.raw("</text>\n")?;
            }
            x += width;
        }
        page.raw("<text x=\"")?;
        page.decimal(LABEL + BAR + 10.0)?;
        page.raw("\" y=\"")?;
        page.decimal(y + 15.0)?;
        page.raw("\">")?;
        for (i, status) in Status::ALL.into_iter().enumerate() {
            if i > 0 {
                page.raw(" · ")?;
            }
            page.count(counts.get(&status).copied().unwrap_or(0))?;
            page.raw(" ")?;
            page.raw(status.as_str())?;
        }
        page.raw("</text>\n")?;
    }
    page.raw("</svg>\n")
}

/// Whole days, `under 1`, or `past`.
fn days_left(page: &mut Markup<'_>, left: TimeLeft) -> io::Result<()> {
    match left {
        TimeLeft::Past => page.raw("past"),
        TimeLeft::UnderADay => page.raw("under 1"),
        TimeLeft::Days(days) => page.count(days as usize),
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().unwrap_or(0) as usize + 1
}

fn colour(status: Status) -> &'static str {
    match status {
        Status::Pass => "#2e7d32",
        Status::Fail => "#c62828",
        Status::Warn => "#b26a00",
        Status::Error => "#6a1b9a",
    }
}

/// The organisation at a glance: accounts × checks, the worst status of
/// each cell, grouped by OU.
fn grid(page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
    page.raw("<section id=\"organisation\"><h2>Organisation at a glance</h2>\n<p class=\"note\">The worst status of each account's rows for each check (FAIL, then ERROR, WARN, PASS), accounts in that order within each OU, whose heading counts its accounts by their worst status; a cell links to the account's findings. “read”: the scan got into the account; – : the check has no row there (an account that could not be read has only its access row).</p>\n")?;
    let mut by_ou: BTreeMap<&str, Vec<&AccountRollup>> = BTreeMap::new();
    for account in org.accounts.values() {
        by_ou
            .entry(account.ou_path.as_str())
            .or_default()
            .push(account);
    }
    let open = org.accounts.len() <= OPEN_OUS_UP_TO;
    for (ou, mut accounts) in by_ou {
        // The accounts that need attention first; by id within a status.
        accounts.sort_by_key(|a| (worst_of(&a.counts).map(rank), a.id.as_str()));
        page.raw(if open {
            "<details class=\"ou\" open><summary><b>"
        } else {
            "<details class=\"ou\"><summary><b>"
        })?;
        page.text(if ou.is_empty() {
            "(OU not recorded)"
        } else {
            ou
        })?;
        page.raw("</b> · ")?;
        page.count(accounts.len())?;
        page.raw(plural(accounts.len(), " account", " accounts"))?;
        // How many accounts are at each worst status: the OU at a glance
        // even when collapsed.
        let mut worst = [0usize; 4];
        for account in &accounts {
            if let Some(status) = worst_of(&account.counts) {
                worst[index(status)] += 1;
            }
        }
        page.raw("<span class=\"counts\">")?;
        for status in WORST_FIRST {
            let n = worst[index(status)];
            if n > 0 {
                badge_count(page, status, n)?;
            }
        }
        page.raw("</span></summary><div class=\"body\"><table class=\"grid\"><thead><tr><th>Account</th><th>Name</th>")?;
        for check in CheckId::ALL {
            page.raw("<th title=\"")?;
            page.raw(check.as_str())?;
            page.raw("\">")?;
            page.raw(short_name(check))?;
            page.raw("</th>")?;
        }
        page.raw("</tr></thead><tbody>\n")?;
        for account in accounts {
            page.raw("<tr><td class=\"mono\"><a href=\"#acct-")?;
            page.text(&account.id)?;
            page.raw("\">")?;
            page.text(&account.id)?;
            page.raw("</a></td><td>")?;
            page.text(&account.name)?;
            page.raw("</td>")?;
            for (i, check) in CheckId::ALL.into_iter().enumerate() {
                let counts = &account.cells[i];
                let accepted = &account.accepted_cells[i];
                let open_rows = worst_of(counts);
                let accepted_worst = worst_of(accepted).filter(|s| *s != Status::Pass);
                // What the cell shows: its worst row no exception accepts,
                // unless that is a PASS (or nothing) beside accepted rows.
                let (class, label) = match (open_rows, accepted_worst) {
                    (Some(status), _) if status != Status::Pass => {
                        (status.as_str(), status.as_str())
                    }
                    (_, Some(_)) => ("ACCEPTED", "accepted"),
                    (Some(status), None) => (status.as_str(), status.as_str()),
                    // Access has rows only for accounts it failed on.
                    (None, None) if check == CheckId::AccountAccess => {
                        page.raw("<td class=\"cell read\">read</td>")?;
                        continue;
                    }
                    (None, None) => {
                        page.raw("<td class=\"cell\">–</td>")?;
                        continue;
                    }
                };
                page.raw("<td class=\"cell\"><a class=\"badge ")?;
                page.raw(class)?;
                page.raw("\" href=\"#acct-")?;
                page.text(&account.id)?;
                page.raw("\" title=\"")?;
                let mut first = true;
                for (counts, suffix) in [(counts, ""), (accepted, " accepted")] {
                    for s in WORST_FIRST {
                        let n = counts[index(s)];
                        if n > 0 {
                            if !first {
                                page.raw(", ")?;
                            }
                            first = false;
                            page.count(n)?;
                            page.raw(" ")?;
                            page.raw(s.as_str())?;
                            page.raw(suffix)?;
                        }
                    }
                }
                page.raw("\">")?;
                page.raw(label)?;
                page.raw("</a></td>")?;
            }
            page.raw("</tr>\n")?;
        }
        page.raw("</tbody></table></div></details>\n")?;
    }
    if org.accounts.is_empty() {
        page.raw("<p class=\"empty\">No accounts were scanned.</p>\n")?;
    }
    page.raw("</section>\n")
}

fn short_name(check: CheckId) -> &'static str {
    match check {
        CheckId::AccountAccess => "access",
        CheckId::KmsEventsLogged => "trail",
        CheckId::KmsKeyRecording => "config",
        CheckId::KmsDisableDeleteAlerting => "alerting",
        CheckId::KeyState => "key state",
        CheckId::RecentDisableDeleteEvents => "recent events",
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

fn place(page: &mut Markup<'_>, place: &KeyPlace) -> io::Result<()> {
    page.raw("<td><a class=\"mono\" href=\"#acct-")?;
    page.text(&place.account_id)?;
    page.raw("\">")?;
    page.text(&place.account_id)?;
    page.raw("</a><br>")?;
    page.text(&place.account_name)?;
    if !place.ou_path.is_empty() {
        page.raw(" · ")?;
        page.text(&place.ou_path)?;
    }
    page.raw("</td><td class=\"nw\">")?;
    page.text(&place.region)?;
    page.raw("</td>")
}

fn aliases(aliases: &[String]) -> String {
    if aliases.is_empty() {
        "no alias".to_string()
    } else {
        aliases.join(", ")
    }
}

fn option(page: &mut Markup<'_>, value: &str) -> io::Result<()> {
    page.raw("<option value=\"")?;
    page.text(value)?;
    page.raw("\">")?;
    page.text(value)?;
    page.raw("</option>")
}

fn account_heading(
    page: &mut Markup<'_>,
    first: &Finding,
    rollup: Option<&AccountRollup>,
    open: bool,
) -> io::Result<()> {
    page.raw("<details class=\"acct\" id=\"acct-")?;
    page.text(&first.account_id)?;
    page.raw("\" data-account=\"")?;
    page.text(&first.account_id)?;
    page.raw("\" data-name=\"")?;
    page.text(&first.account_name)?;
    page.raw(if open {
        "\" open><summary><b class=\"mono\">"
    } else {
        "\"><summary><b class=\"mono\">"
    })?;
    page.text(&first.account_id)?;
    page.raw("</b> ")?;
    page.text(&first.account_name)?;
    if !first.ou_path.is_empty() {
        page.raw(" · ")?;
        page.text(&first.ou_path)?;
    }
    page.raw("<span class=\"counts\">")?;
    if let Some(rollup) = rollup {
        for status in WORST_FIRST {
            let n = rollup.counts[index(status)];
            if n > 0 {
                badge_count(page, status, n)?;
            }
        }
        if rollup.accepted > 0 {
            page.raw("<span class=\"badge ACCEPTED\">")?;
            page.count(rollup.accepted)?;
            page.raw(" accepted</span>")?;
        }
    }
    page.raw("</span></summary><div class=\"body\"><table class=\"rows\"><thead><tr><th>Region</th><th>Check</th><th>Status</th><th>Resource</th><th>Detail</th></tr></thead><tbody>\n")
}

/// Ends an account's rows with the remediation of each check it has rows
/// other than PASS of: once per account and check, not once per row, which
/// would take most of a large organisation's page.
fn account_end(page: &mut Markup<'_>, rollup: Option<&AccountRollup>) -> io::Result<()> {
    page.raw("</tbody></table>")?;
    let to_fix: Vec<CheckId> = CheckId::ALL
        .into_iter()
        .zip(rollup.map_or([[0; 4]; CheckId::ALL.len()], |r| r.cells))
        .filter(|(_, counts)| counts.iter().sum::<usize>() > counts[index(Status::Pass)])
        .map(|(check, _)| check)
        .collect();
    if !to_fix.is_empty() {
        page.raw("<dl class=\"fix\">")?;
        for check in to_fix {
            page.raw("<dt>Remediation of ")?;
            page.raw(check.as_str())?;
            page.raw("</dt><dd>")?;
            page.text(check.remediation())?;
            page.raw("</dd>")?;
        }
        page.raw("</dl>")?;
    }
    page.raw("</div></details>\n")
}

/// One row, lean: a large organisation has tens of thousands. The filter
/// reads the region, check and status from the cells themselves, and the
/// exception from the row's class.
fn finding_row(
    page: &mut Markup<'_>,
    finding: &Finding,
    exceptions: &BTreeMap<&str, &ExceptionOutcome>,
) -> io::Result<()> {
    let status = finding.status.as_str();
    page.raw(match finding.exception.as_ref().map(|mark| mark.state) {
        None => "<tr><td>",
        Some(ExceptionState::Active) => "<tr class=\"accepted\"><td>",
        Some(ExceptionState::Expired) => "<tr class=\"expired\"><td>",
    })?;
    page.text(&finding.region)?;
    page.raw("</td><td>")?;
    page.raw(finding.check.as_str())?;
    page.raw("</td><td class=\"")?;
    page.raw(status)?;
    page.raw("\">")?;
    page.raw(status)?;
    page.raw("</td><td>")?;
    page.text(&finding.resource_id)?;
    page.raw("</td><td>")?;
    page.text(&finding.detail)?;
    if let Some(mark) = &finding.exception {
        exception_note(page, mark, exceptions)?;
    }
    page.raw("</td></tr>\n")
}

/// What a row's exception says, under the row's text: accepted (or
/// expired), by whom and why.
fn exception_note(
    page: &mut Markup<'_>,
    mark: &ExceptionMark,
    exceptions: &BTreeMap<&str, &ExceptionOutcome>,
) -> io::Result<()> {
    page.raw(match mark.state {
        ExceptionState::Active => "<div class=\"exc\">Accepted by exception <b>",
        ExceptionState::Expired => "<div class=\"exc\">Not accepted: exception <b>",
    })?;
    page.text(&mark.id)?;
    page.raw("</b>")?;
    if mark.state == ExceptionState::Expired {
        page.raw(" has expired")?;
    }
    if let Some(exception) = exceptions.get(mark.id.as_str()) {
        page.raw(": ")?;
        page.text(&exception.reason)?;
        page.raw(" — approved by ")?;
        page.text(&exception.approved_by)?;
        if let Some(ticket) = &exception.ticket {
            page.raw(" (")?;
            page.text(ticket)?;
            page.raw(")")?;
        }
        page.raw(if mark.state == ExceptionState::Active {
            ", until "
        } else {
            ", expired after "
        })?;
        page.text(&format_date(exception.expires))?;
    }
    page.raw("</div>")
}

/// Whether an exception in force accepts the row (an expired one only
/// flags it).
fn accepted(finding: &Finding) -> bool {
    finding
        .exception
        .as_ref()
        .is_some_and(|mark| mark.state == ExceptionState::Active)
}

/// The statuses from worst to best: the order of "worst status per cell".
const WORST_FIRST: [Status; 4] = [Status::Fail, Status::Error, Status::Warn, Status::Pass];

/// Where a status counts in a `[usize; 4]`: [`Status::ALL`] order.
fn index(status: Status) -> usize {
    match status {
        Status::Pass => 0,
        Status::Fail => 1,
        Status::Warn => 2,
        Status::Error => 3,
    }
}

/// 0 for the worst status.
fn rank(status: Status) -> usize {
    WORST_FIRST
        .iter()
        .position(|s| *s == status)
        .unwrap_or_default()
}

fn worst_of(counts: &[usize; 4]) -> Option<Status> {
    WORST_FIRST.into_iter().find(|s| counts[index(*s)] > 0)
}

/// One account's rows, counted: all the page keeps of them in memory.
struct AccountRollup {
    id: String,
    name: String,
    ou_path: String,
    /// Counts by status for each check, in [`CheckId::ALL`] order, of the
    /// rows no exception accepts.
    cells: [[usize; 4]; CheckId::ALL.len()],
    /// The same of the rows an exception accepts: shown as accepted,
    /// never as the account's worst.
    accepted_cells: [[usize; 4]; CheckId::ALL.len()],
    /// Counts by status over all its rows no exception accepts.
    counts: [usize; 4],
    /// Rows an exception accepts.
    accepted: usize,
}

/// The first pass over the findings.
struct Organisation {
    /// By account id, the report's order.
    accounts: BTreeMap<String, AccountRollup>,
    /// Regions with rows, for the filter.
    regions: BTreeSet<String>,
    /// Accounts that could not be read: id, name and why.
    unreachable: Vec<(String, String, String)>,
    /// The exceptions on `kms.key_state` and `kms.recent_disable_delete_events`
    /// rows, by account, region, check and key ARN: the key and event
    /// tables mark an accepted key as the findings do (few rows carry one).
    key_marks: BTreeMap<(String, String, CheckId, String), ExceptionMark>,
}

impl Organisation {
    fn key_mark(&self, place: &KeyPlace, check: CheckId, arn: &str) -> Option<&ExceptionMark> {
        self.key_marks.get(&(
            place.account_id.clone(),
            place.region.clone(),
            check,
            arn.to_string(),
        ))
    }

    fn read(report: &Report) -> io::Result<Self> {
        let mut org = Organisation {
            accounts: BTreeMap::new(),
            regions: BTreeSet::new(),
            unreachable: Vec::new(),
            key_marks: BTreeMap::new(),
        };
        for finding in report.findings.rows() {
            let finding = finding?;
            if let Some(mark) = &finding.exception {
                if matches!(
                    finding.check,
                    CheckId::KeyState | CheckId::RecentDisableDeleteEvents
                ) {
                    org.key_marks.insert(
                        (
                            finding.account_id.clone(),
                            finding.region.clone(),
                            finding.check,
                            finding.resource_id.clone(),
                        ),
                        mark.clone(),
                    );
                }
            }
            if finding.check == CheckId::AccountAccess && finding.status == Status::Error {
                org.unreachable.push((
                    finding.account_id.clone(),
                    finding.account_name.clone(),
                    finding.detail.clone(),
                ));
            }
            if !org.regions.contains(&finding.region) {
                org.regions.insert(finding.region.clone());
            }
            let account = org
                .accounts
                .entry(finding.account_id.clone())
                .or_insert_with(|| AccountRollup {
                    id: finding.account_id.clone(),
                    name: finding.account_name.clone(),
                    ou_path: finding.ou_path.clone(),
                    cells: [[0; 4]; CheckId::ALL.len()],
                    accepted_cells: [[0; 4]; CheckId::ALL.len()],
                    counts: [0; 4],
                    accepted: 0,
                });
            let check = CheckId::ALL
                .iter()
                .position(|c| *c == finding.check)
                .unwrap_or_default();
            if accepted(&finding) {
                account.accepted_cells[check][index(finding.status)] += 1;
                account.accepted += 1;
            } else {
                account.cells[check][index(finding.status)] += 1;
                account.counts[index(finding.status)] += 1;
            }
        }
        Ok(org)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::changes::Changes;
    use crate::facts::{PreviousReport, ScanHeader};
    use crate::report::{Coverage, Summary};

    fn header() -> ScanHeader {
        ScanHeader {
            scan_id: "20261128T101500Z-0001".into(),
            scan_time: "2026-11-28T10:15:00Z".into(),
            partition: "aws".into(),
            management_account_id: "111111111111".into(),
            lookback_days: 7,
            exceptions: None,
            organization_id: String::new(),
            previous_report: PreviousReport::NotRequested,
        }
    }

    /// The section when no comparison was asked for.
    fn not_compared() -> Changes {
        Changes::not_compared(PreviousReport::NotRequested)
    }

    fn summary() -> Summary {
        Summary {
            accounts_scanned: 0,
            accounts_skipped: Vec::new(),
            regions_skipped: BTreeMap::new(),
            coverage: Coverage::default(),
            by_status: BTreeMap::new(),
            by_check: BTreeMap::new(),
            by_top_level_ou: BTreeMap::new(),
            duration_seconds: 0.0,
            api_calls: BTreeMap::new(),
            exceptions: None,
            security_hub: None,
        }
    }

    pub(super) fn render(
        findings: Vec<Finding>,
        activity: &KeyActivity,
        changes: &Changes,
    ) -> String {
        let (scan, summary) = (header(), summary());
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
        let section =
            &page[page.find("id=\"pending\"").unwrap()..page.find("id=\"events\"").unwrap()];
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
            events: vec![crate::report::RecentEvent {
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
            region: "us-east-1".into(),
            check,
            status,
            resource_id: arn.into(),
            detail: "detail".into(),
            exception: Some(ExceptionMark {
                id: id.into(),
                state,
            }),
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
        let pending =
            &page[page.find("id=\"pending\"").unwrap()..page.find("id=\"events\"").unwrap()];
        assert!(
            pending.contains(
                "key/k1<div class=\"exc\">Accepted by exception <b>decommission</b></div>"
            ),
            "{pending}"
        );
        let events =
            &page[page.find("id=\"events\"").unwrap()..page.find("id=\"exceptions\"").unwrap()];
        assert!(
            events.contains("key/k1<div class=\"exc\">Not accepted: exception <b>old-window</b> has expired</div>"),
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
        let counts = |pass, fail, warn, error| [pass, fail, warn, error];
        assert_eq!(worst_of(&counts(3, 1, 1, 1)), Some(Status::Fail));
        assert_eq!(worst_of(&counts(3, 0, 1, 1)), Some(Status::Error));
        assert_eq!(worst_of(&counts(3, 0, 1, 0)), Some(Status::Warn));
        assert_eq!(worst_of(&counts(3, 0, 0, 0)), Some(Status::Pass));
        assert_eq!(worst_of(&counts(0, 0, 0, 0)), None);
        for status in Status::ALL {
            assert_eq!(Status::ALL[index(status)], status);
        }
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
}
