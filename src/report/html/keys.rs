//! The keys pending deletion, soonest first, and the recent DisableKey /
//! ScheduleKeyDeletion events, newest first, each with where it is and
//! the exception its row carries. Each lists at most [`LISTED`] and says
//! how many more findings.csv holds.

use super::*;

/// Keys pending deletion, and events, listed on the page at most: the
/// soonest and the newest (the full lists are findings.csv's rows).
pub(super) const LISTED: usize = 500;

impl HtmlPage<'_> {
    pub(super) fn pending_deletion(
        &self,
        page: &mut Markup<'_>,
        org: &Organisation,
    ) -> io::Result<()> {
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
        let listed = keys.len().min(LISTED);
        for (i, key) in keys.iter().take(listed).enumerate() {
            more_rows(page, i, listed, " more keys pending deletion, later", HEAD)?;
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
            place(page, &key.place, org)?;
            page.raw("<td class=\"res\">")?;
            page.text(&key.arn)?;
            if let Some(mark) = org.key_mark(&key.place, CheckId::KeyState, &key.arn) {
                exception_note(page, mark, &exceptions)?;
            }
            page.raw("</td><td>")?;
            page.text(&aliases(&key.aliases))?;
            page.raw("</td></tr>\n")?;
        }
        end_rows(page, listed)?;
        not_listed(
            page,
            keys.len() - listed,
            "keys pending deletion",
            "kms.key_state FAIL",
        )?;
        page.raw("</section>\n")
    }
    pub(super) fn events(&self, page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
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
        let listed = events.len().min(LISTED);
        for (i, event) in events.iter().take(listed).enumerate() {
            more_rows(page, i, listed, " more events, earlier", HEAD)?;
            let e = &event.event;
            page.raw("<tr><td class=\"nw\">")?;
            page.text(&e.event_time)?;
            page.raw("</td><td>")?;
            page.text(&e.event_name)?;
            page.raw("</td>")?;
            place(page, &event.place, org)?;
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
        end_rows(page, listed)?;
        not_listed(
            page,
            events.len() - listed,
            "events, earlier",
            "kms.recent_disable_delete_events",
        )?;
        page.raw("</section>\n")
    }
    pub(super) fn time_left(&self, key: &PendingKey) -> Option<TimeLeft> {
        TimeLeft::between(&self.report.scan.scan_time, key.deletion_date.as_deref()?)
    }
    /// Says where a list may be incomplete: the check's ERROR rows.
    pub(super) fn unknown_note(
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
            .map_or(0, |counts| counts.get(Status::Error));
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
}

/// Says how many of a list are not on the page, and where they all are.
fn not_listed(
    page: &mut Markup<'_>,
    left_out: usize,
    what: &'static str,
    rows: &'static str,
) -> io::Result<()> {
    if left_out == 0 {
        return Ok(());
    }
    page.raw("<p class=\"note\">")?;
    page.count(left_out)?;
    page.raw(" more ")?;
    page.raw(what)?;
    page.raw(" not listed here: every one is a <span class=\"mono\">")?;
    page.raw(rows)?;
    page.raw("</span> row of <a href=\"findings.csv\">findings.csv</a>.</p>\n")
}

/// Whole days, `under 1`, or `past`.
pub(super) fn days_left(page: &mut Markup<'_>, left: TimeLeft) -> io::Result<()> {
    match left {
        TimeLeft::Past => page.raw("past"),
        TimeLeft::UnderADay => page.raw("under 1"),
        TimeLeft::Days(days) => page.count(days as usize),
    }
}

/// The account (a link to its findings, when the table lists any) and the
/// region.
pub(super) fn place(page: &mut Markup<'_>, place: &KeyPlace, org: &Organisation) -> io::Result<()> {
    if org.has_entry(&place.account_id) {
        page.raw("<td><a class=\"mono\" href=\"#acct-")?;
        page.text(&place.account_id)?;
        page.raw("\">")?;
        page.text(&place.account_id)?;
        page.raw("</a><br>")?;
    } else {
        page.raw("<td><span class=\"mono\">")?;
        page.text(&place.account_id)?;
        page.raw("</span><br>")?;
    }
    page.text(&place.account_name)?;
    if !place.ou_path.is_empty() {
        page.raw(" · ")?;
        page.text(&place.ou_path)?;
    }
    page.raw("</td><td class=\"nw\">")?;
    page.text(&place.region)?;
    page.raw("</td>")
}

pub(super) fn aliases(aliases: &[String]) -> String {
    if aliases.is_empty() {
        "no alias".to_string()
    } else {
        aliases.join(", ")
    }
}
