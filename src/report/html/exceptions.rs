//! The exceptions section: the file applied, each exception with what it
//! matched, and the note under a row an exception marks.

use super::*;

impl HtmlPage<'_> {
    /// The exceptions file applied, each exception with what it matched,
    /// and those that need attention: expired, stale, matching ERROR rows.
    pub(super) fn exceptions(&self, page: &mut Markup<'_>) -> io::Result<()> {
        page.raw("<section id=\"exceptions\"><h2>Accepted exceptions</h2>\n")?;
        let Some(summary) = &self.report.summary.exceptions else {
            return page.raw("<p class=\"note\">No exceptions file was applied: every row stands as judged.</p>\n</section>\n");
        };
        page.raw("<p class=\"note\">From ")?;
        page.text(&summary.source)?;
        page.raw(" (sha256 ")?;
        page.text(summary.sha256.get(..12).unwrap_or(&summary.sha256))?;
        page.raw("…), judged as of ")?;
        page.text(&format_date(summary.as_of))?;
        page.raw(": ")?;
        page.count(summary.accepted_rows.total())?;
        page.raw(" rows accepted, ")?;
        page.count(summary.expired_rows.total())?;
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
            page.count(exception.rows.total())?;
            page.raw("</td></tr>\n")?;
        }
        page.raw("</tbody>\n</table>\n</section>\n")
    }
    /// From the scan time, so that a re-evaluated report says the same.
    /// The exceptions of the file applied, by id.
    pub(super) fn exception_outcomes(&self) -> BTreeMap<&str, &ExceptionOutcome> {
        self.report
            .summary
            .exceptions
            .iter()
            .flat_map(|summary| &summary.exceptions)
            .map(|exception| (exception.id.as_str(), exception))
            .collect()
    }
}

/// What a row's exception says, under the row's text: accepted (or
/// expired), by whom and why.
pub(super) fn exception_note(
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
pub(super) fn accepted(finding: &Finding) -> bool {
    finding
        .exception
        .as_ref()
        .is_some_and(|mark| mark.state == ExceptionState::Active)
}
