//! The coverage section: how much of the organisation was read in full,
//! as four tiles, and the accounts that could not be read.

use super::*;

impl HtmlPage<'_> {
    pub(super) fn coverage(&self, page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
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
        // Suspended and closing accounts, like the unreachable ones: the
        // first few named in view, the others collapsed.
        for (i, account) in summary.accounts_skipped.iter().enumerate() {
            anything = true;
            if i == ACCOUNTS_IN_VIEW {
                page.raw("<li><details><summary>")?;
                page.count(summary.accounts_skipped.len() - ACCOUNTS_IN_VIEW)?;
                page.raw(" more accounts not active</summary><ul class=\"plain\">\n")?;
            }
            page.raw("<li>Account <span class=\"mono\">")?;
            page.text(&account.id)?;
            page.raw("</span> ")?;
            page.text(&account.name)?;
            page.raw(" is ")?;
            page.text(&account.status)?;
            page.raw(": listed by Organizations but not active, so not scanned.</li>\n")?;
        }
        if summary.accounts_skipped.len() > ACCOUNTS_IN_VIEW {
            page.raw("</ul></details></li>\n")?;
        }
        // Every unreachable account is named; past the first few, in a
        // collapsed list, so that the rest of the page stays in view.
        for (i, (id, name, why)) in org.unreachable.iter().enumerate() {
            anything = true;
            if i == ACCOUNTS_IN_VIEW {
                page.raw("<li><details><summary>")?;
                page.count(org.unreachable.len() - ACCOUNTS_IN_VIEW)?;
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
        if org.unreachable.len() > ACCOUNTS_IN_VIEW {
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
}

/// A number with its shortfalls; `good`: `None` for one that is neither.
pub(super) fn tile(
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
