//! Which rows the "Every finding" table lists. A page of a million rows is
//! one no browser opens, so past [`LISTED_ROWS`] rows the table lists
//! rows other than PASS, by status, ERROR first (what could not be read),
//! then FAIL, then WARN, each status whole while it fits and otherwise its
//! first rows in report order; PASS rows are then only counted, per
//! account and check. Decided from the roll-up before the table is
//! written, so the page says exactly what it leaves out, and where it is
//! (findings.csv and findings.json beside it).

use super::*;

/// Rows the table lists at most: about 1.7 MB of a page whose first
/// screen must come within a few seconds (docs/performance.md).
pub(super) const LISTED_ROWS: usize = 5_000;

/// Statuses in the order they are listed when the table is bounded.
const LISTED_FIRST: [Status; 3] = [Status::Error, Status::Fail, Status::Warn];

/// Which rows are listed.
pub(super) struct Listing {
    /// Rows of each status ([`Status::ALL`] order) the table lists, the
    /// first ones in report order; `None`: every row.
    quota: Option<[usize; 4]>,
    /// Rows of each status in the report ([`Status::ALL`] order).
    totals: [usize; 4],
    /// Rows of each status listed so far.
    listed: [usize; 4],
}

impl Listing {
    pub(super) fn of(org: &Organisation) -> Listing {
        Listing::bounded_at(org, LISTED_ROWS)
    }

    pub(super) fn bounded_at(org: &Organisation, bound: usize) -> Listing {
        let mut totals = [0; 4];
        for account in org.accounts.values() {
            for (i, status) in Status::ALL.into_iter().enumerate() {
                totals[i] += all_rows(account, status);
            }
        }
        let total: usize = totals.iter().sum();
        let quota = (total > bound).then(|| {
            let mut quota = [0; 4];
            let mut left = bound;
            for status in LISTED_FIRST {
                let i = index(status);
                quota[i] = totals[i].min(left);
                left -= quota[i];
            }
            quota
        });
        Listing {
            quota,
            totals,
            listed: [0; 4],
        }
    }

    pub(super) fn is_bounded(&self) -> bool {
        self.quota.is_some()
    }

    /// Whether the next row of `status`, in report order, is listed.
    pub(super) fn lists(&mut self, status: Status) -> bool {
        let i = index(status);
        let listed = self.quota.is_none_or(|quota| self.listed[i] < quota[i]);
        if listed {
            self.listed[i] += 1;
        }
        listed
    }

    /// Rows of `status` in the report.
    pub(super) fn total(&self, status: Status) -> usize {
        self.totals[index(status)]
    }

    /// Rows of `status` the table lists in all.
    pub(super) fn quota(&self, status: Status) -> usize {
        self.quota
            .map_or(self.total(status), |quota| quota[index(status)])
    }

    /// Whether `account` (whose rows come `before` (by status) rows in
    /// report order) has a row listed: then it has an entry in the table.
    fn lists_any(&self, account: &AccountRollup, before: &[usize; 4]) -> bool {
        Status::ALL.into_iter().any(|status| {
            all_rows(account, status) > 0 && before[index(status)] < self.quota(status)
        })
    }

    /// The accounts with an entry in the table, by id: walked in report
    /// order (the roll-up's), counting the rows before each.
    pub(super) fn accounts_listed(&self, org: &Organisation) -> BTreeSet<String> {
        let mut before = [0; 4];
        let mut listed = BTreeSet::new();
        for (id, account) in &org.accounts {
            if self.lists_any(account, &before) {
                listed.insert(id.clone());
            }
            for status in Status::ALL {
                before[index(status)] += all_rows(account, status);
            }
        }
        listed
    }

    /// The paragraph at the top of a bounded table: how many rows it lists
    /// and leaves out, by status, and where every row is.
    pub(super) fn note(&self, page: &mut Markup<'_>) -> io::Result<()> {
        if !self.is_bounded() {
            return Ok(());
        }
        let listed: usize = Status::ALL.into_iter().map(|s| self.quota(s)).sum();
        let total: usize = self.totals.iter().sum();
        page.raw("<p class=\"note\" id=\"not-listed\">This table lists <b>")?;
        page.count(listed)?;
        page.raw("</b> of the report's ")?;
        page.count(total)?;
        page.raw(" rows, so that the page stays quick to open: rows other than PASS, ERROR first, then FAIL, then WARN, each in report order, up to ")?;
        page.count(LISTED_ROWS)?;
        page.raw(". <b>Not listed: ")?;
        page.count(total - listed)?;
        page.raw(" rows</b> (")?;
        let mut first = true;
        for status in Status::WORST_FIRST {
            let left_out = self.total(status) - self.quota(status);
            if left_out > 0 {
                if !first {
                    page.raw(", ")?;
                }
                first = false;
                page.count(left_out)?;
                page.raw(" ")?;
                page.raw(status.as_str())?;
            }
        }
        page.raw("). Every row is in <a href=\"findings.csv\">findings.csv</a> and <a href=\"findings.json\">findings.json</a> beside this page. Each account below says which of its rows are not listed; an account with none listed has no entry here, and the organisation grid above shows every account. The filters apply to the listed rows.</p>\n")
    }
}

/// Rows of `status` in `account`, accepted by an exception or not.
fn all_rows(account: &AccountRollup, status: Status) -> usize {
    account.counts.get(status)
        + account
            .accepted_cells
            .iter()
            .map(|cell| cell.get(status))
            .sum::<usize>()
}

fn index(status: Status) -> usize {
    Status::ALL
        .iter()
        .position(|s| *s == status)
        .expect("every status is in Status::ALL")
}

/// The rows of one account's entry that are not listed, by status and
/// check: counted as the rows go by.
#[derive(Default)]
pub(super) struct NotListed {
    /// By check ([`CheckId::ALL`] order), by status.
    cells: [StatusCounts; CheckId::ALL.len()],
}

impl NotListed {
    pub(super) fn add(&mut self, check: CheckId, status: Status) {
        let at = CheckId::ALL
            .iter()
            .position(|c| *c == check)
            .unwrap_or_default();
        self.cells[at].add(status);
    }

    /// `Not listed here: 120 PASS (trail 17, config 17, …), 3 WARN (…).`
    pub(super) fn write(&self, page: &mut Markup<'_>) -> io::Result<()> {
        let by_status = |status| self.cells.iter().map(|c| c.get(status)).sum::<usize>();
        if Status::ALL.into_iter().all(|s| by_status(s) == 0) {
            return Ok(());
        }
        page.raw("<p class=\"note\">Not listed here: ")?;
        let mut first = true;
        for status in Status::WORST_FIRST {
            let n = by_status(status);
            if n == 0 {
                continue;
            }
            if !first {
                page.raw("; ")?;
            }
            first = false;
            page.count(n)?;
            page.raw(" ")?;
            page.raw(status.as_str())?;
            page.raw(" (")?;
            let mut first_check = true;
            for (check, cell) in CheckId::ALL.into_iter().zip(&self.cells) {
                let n = cell.get(status);
                if n == 0 {
                    continue;
                }
                if !first_check {
                    page.raw(", ")?;
                }
                first_check = false;
                page.raw(check.as_str())?;
                page.raw(" ")?;
                page.count(n)?;
            }
            page.raw(")")?;
        }
        page.raw(". They are in findings.csv.</p>")
    }
}
