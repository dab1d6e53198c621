//! Every finding, account by account, with the filter form the script
//! drives and each account's remediations once; past a size, the rows
//! [`Listing`] picks, each account saying which of its rows are not
//! listed.

use super::listing::{Listing, NotListed};
use super::*;

impl HtmlPage<'_> {
    pub(super) fn findings(&self, page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
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
        let mut listing = Listing::of(org);
        listing.note(page)?;
        let open = org.accounts.len() <= OPEN_ACCOUNTS_UP_TO;
        // The account whose rows are going by, whether its entry is open,
        // and its rows not listed.
        let mut current: Option<(String, bool, NotListed)> = None;
        let mut any = false;
        for finding in self.report.findings.rows() {
            let finding = finding?;
            any = true;
            if current.as_ref().map(|(id, _, _)| id.as_str()) != Some(finding.account_id.as_str()) {
                if let Some((id, true, not_listed)) = current.take() {
                    account_end(page, org.accounts.get(&id), &not_listed)?;
                }
                current = Some((finding.account_id.clone(), false, NotListed::default()));
            }
            let Some((id, entry, not_listed)) = current.as_mut() else {
                continue;
            };
            if !listing.lists(finding.status) {
                not_listed.add(finding.check, finding.status);
                continue;
            }
            if !*entry {
                account_heading(page, &finding, org.accounts.get(id.as_str()), open)?;
                *entry = true;
            }
            finding_row(page, &finding, &exceptions)?;
        }
        if let Some((id, true, not_listed)) = current {
            account_end(page, org.accounts.get(&id), &not_listed)?;
        }
        if !any {
            page.raw("<p class=\"empty\">No findings.</p>\n")?;
        }
        page.raw("</section>\n")
    }
}

pub(super) fn option(page: &mut Markup<'_>, value: &str) -> io::Result<()> {
    page.raw("<option value=\"")?;
    page.text(value)?;
    page.raw("\">")?;
    page.text(value)?;
    page.raw("</option>")
}

pub(super) fn account_heading(
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
        for status in Status::WORST_FIRST {
            let n = rollup.counts.get(status);
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

/// Ends an account's rows with what of them is not listed, and the
/// remediation of each check it has rows other than PASS of: once per
/// account and check, not once per row, which would take most of a large
/// organisation's page.
pub(super) fn account_end(
    page: &mut Markup<'_>,
    rollup: Option<&AccountRollup>,
    not_listed: &NotListed,
) -> io::Result<()> {
    page.raw("</tbody></table>")?;
    not_listed.write(page)?;
    let to_fix: Vec<CheckId> = CheckId::ALL
        .into_iter()
        .zip(rollup.map_or([StatusCounts::default(); CheckId::ALL.len()], |r| r.cells))
        .filter(|(_, counts)| counts.total() > counts.get(Status::Pass))
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
pub(super) fn finding_row(
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
    if finding.status == Status::Fail {
        // Where `cmkscan plan` links the row to its plan (`link_plan`).
        page.raw(PLAN_MARKER)?;
        page.text(&plan_anchor(finding))?;
        page.raw("-->")?;
    }
    page.raw("</td></tr>\n")
}
