//! The organisation at a glance: the first pass over the findings rolls
//! them up per account ([`Organisation`]), and the grid shows each
//! account's worst status per check, OU by OU.

use super::*;

/// The organisation at a glance: accounts × checks, the worst status of
/// each cell, grouped by OU.
pub(super) fn grid(page: &mut Markup<'_>, org: &Organisation) -> io::Result<()> {
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
        accounts.sort_by_key(|a| (a.counts.worst().map(Status::rank), a.id.as_str()));
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
        let mut worst = StatusCounts::default();
        for account in &accounts {
            if let Some(status) = account.counts.worst() {
                worst.add(status);
            }
        }
        page.raw("<span class=\"counts\">")?;
        for status in Status::WORST_FIRST {
            let n = worst.get(status);
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
            // A link to the account's findings, when the table lists any.
            let entry = org.has_entry(&account.id);
            if entry {
                page.raw("<tr><td class=\"mono\"><a href=\"#acct-")?;
                page.text(&account.id)?;
                page.raw("\">")?;
                page.text(&account.id)?;
                page.raw("</a></td><td>")?;
            } else {
                page.raw("<tr><td class=\"mono\">")?;
                page.text(&account.id)?;
                page.raw("</td><td>")?;
            }
            page.text(&account.name)?;
            page.raw("</td>")?;
            for (i, check) in CheckId::ALL.into_iter().enumerate() {
                let counts = &account.cells[i];
                let accepted = &account.accepted_cells[i];
                let open_rows = counts.worst();
                let accepted_worst = accepted.worst().filter(|s| *s != Status::Pass);
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
                if entry {
                    page.raw("\" href=\"#acct-")?;
                    page.text(&account.id)?;
                }
                page.raw("\" title=\"")?;
                let mut first = true;
                for (counts, suffix) in [(counts, ""), (accepted, " accepted")] {
                    for s in Status::WORST_FIRST {
                        let n = counts.get(s);
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

pub(super) fn short_name(check: CheckId) -> &'static str {
    match check {
        CheckId::AccountAccess => "access",
        CheckId::KmsEventsLogged => "trail",
        CheckId::KmsKeyRecording => "config",
        CheckId::KmsDisableDeleteAlerting => "alerting",
        CheckId::KeyState => "key state",
        CheckId::RecentDisableDeleteEvents => "recent events",
    }
}

/// One account's rows, counted: all the page keeps of them in memory.
pub(super) struct AccountRollup {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) ou_path: String,
    /// Counts by status for each check, in [`CheckId::ALL`] order, of the
    /// rows no exception accepts.
    pub(super) cells: [StatusCounts; CheckId::ALL.len()],
    /// The same of the rows an exception accepts: shown as accepted,
    /// never as the account's worst.
    pub(super) accepted_cells: [StatusCounts; CheckId::ALL.len()],
    /// Counts by status over all its rows no exception accepts.
    pub(super) counts: StatusCounts,
    /// Rows an exception accepts.
    pub(super) accepted: usize,
}

/// The first pass over the findings.
pub(super) struct Organisation {
    /// By account id, the report's order.
    pub(super) accounts: BTreeMap<String, AccountRollup>,
    /// Regions with rows, for the filter.
    pub(super) regions: BTreeSet<String>,
    /// Accounts that could not be read: id, name and why.
    pub(super) unreachable: Vec<(String, String, String)>,
    /// The exceptions on `kms.key_state` and `kms.recent_disable_delete_events`
    /// rows, by account, region, check and key ARN: the key and event
    /// tables mark an accepted key as the findings do (few rows carry one).
    pub(super) key_marks: BTreeMap<(String, String, CheckId, String), ExceptionMark>,
    /// Accounts with an entry in the findings table (every account, unless
    /// the table is bounded: see `listing`).
    pub(super) with_entry: BTreeSet<String>,
}

impl Organisation {
    /// Whether the findings table has an entry for the account, to link to.
    pub(super) fn has_entry(&self, account_id: &str) -> bool {
        self.with_entry.contains(account_id)
    }

    pub(super) fn key_mark(
        &self,
        place: &KeyPlace,
        check: CheckId,
        arn: &str,
    ) -> Option<&ExceptionMark> {
        self.key_marks.get(&(
            place.account_id.clone(),
            place.region.clone(),
            check,
            arn.to_string(),
        ))
    }

    pub(super) fn read(report: &Report) -> io::Result<Self> {
        let mut org = Organisation {
            accounts: BTreeMap::new(),
            regions: BTreeSet::new(),
            unreachable: Vec::new(),
            key_marks: BTreeMap::new(),
            with_entry: BTreeSet::new(),
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
                    cells: [StatusCounts::default(); CheckId::ALL.len()],
                    accepted_cells: [StatusCounts::default(); CheckId::ALL.len()],
                    counts: StatusCounts::default(),
                    accepted: 0,
                });
            let check = CheckId::ALL
                .iter()
                .position(|c| *c == finding.check)
                .unwrap_or_default();
            if accepted(&finding) {
                account.accepted_cells[check].add(finding.status);
                account.accepted += 1;
            } else {
                account.cells[check].add(finding.status);
                account.counts.add(finding.status);
            }
        }
        org.with_entry = super::listing::Listing::of(&org).accounts_listed(&org);
        Ok(org)
    }
}
