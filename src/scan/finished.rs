//! Where a finished account goes: its facts to the evidence file, its
//! verdicts to the findings spool, both counted for the summary. Nothing of
//! it stays in memory afterwards but its keys pending deletion and recent
//! key events (a few, for the HTML report), so a scan's memory follows the
//! accounts in flight, not the size of the organisation.

use std::collections::BTreeMap;

use super::ScanError;
use crate::checks;
use crate::evidence::FactsSink;
use crate::exceptions::Judge;
use crate::facts::{AccountFacts, Fetched, OrgAccount, ScanHeader, ScanTail, TrailFacts};
use crate::report::{KeyActivity, Summary, Tally};
use crate::spool::{FindingSpool, SpooledFindings};

pub(super) struct FinishedAccounts<'a> {
    evidence: &'a mut dyn FactsSink,
    tally: Tally,
    key_activity: KeyActivity,
    spool: FindingSpool,
    /// Listed but not ACTIVE: never scanned, named in the summary.
    inactive: Vec<OrgAccount>,
    management_account_id: String,
    lookback_days: u32,
    /// `--exceptions`, applied to each account's findings before they are
    /// counted and parked.
    judge: Option<Judge>,
}

impl<'a> FinishedAccounts<'a> {
    /// Makes the spool before any account is scanned: a temporary directory
    /// that cannot take it ends the run before any AWS work is wasted.
    pub(super) fn new(
        evidence: &'a mut dyn FactsSink,
        scan: &ScanHeader,
        judge: Option<Judge>,
    ) -> Result<Self, ScanError> {
        Ok(FinishedAccounts {
            evidence,
            tally: Tally::default(),
            key_activity: KeyActivity::default(),
            spool: FindingSpool::new().map_err(ScanError::Spool)?,
            inactive: Vec::new(),
            management_account_id: scan.management_account_id.clone(),
            lookback_days: scan.lookback_days,
            judge,
        })
    }

    /// Records, judges and parks one scanned account. `organization_trails`
    /// are those its verdicts see (the management account's own verdicts
    /// do not read them).
    pub(super) fn scanned(
        &mut self,
        facts: &AccountFacts,
        organization_trails: &Fetched<Vec<TrailFacts>>,
    ) -> Result<(), ScanError> {
        self.evidence.account(facts).map_err(ScanError::Evidence)?;
        self.tally.account(facts);
        self.key_activity.account(facts);
        let scan = checks::ScanContext {
            management_account_id: &self.management_account_id,
            organization_trails,
            lookback_days: self.lookback_days,
        };
        let mut findings = Vec::new();
        checks::evaluate_account(&scan, facts, &mut findings);
        if let Some(judge) = &mut self.judge {
            judge.apply(facts, &mut findings);
        }
        self.tally.findings(&findings);
        self.spool
            .push_account(&mut findings)
            .map_err(ScanError::Spool)
    }

    pub(super) fn inactive(&mut self, account: OrgAccount) {
        self.inactive.push(account);
    }

    /// Ends the evidence file and returns the findings in report order with
    /// the summary and the key activity.
    pub(super) fn close(
        self,
        organization_trails: Fetched<Vec<TrailFacts>>,
        duration_seconds: f64,
        api_calls: BTreeMap<String, u64>,
    ) -> Result<(SpooledFindings, Summary, KeyActivity), ScanError> {
        let findings = self.spool.finish().map_err(ScanError::Spool)?;
        let mut summary = self
            .tally
            .summary(&self.inactive, duration_seconds, &api_calls);
        summary.exceptions = self.judge.map(Judge::finish);
        self.evidence
            .end(&ScanTail {
                organization_trails,
                inactive_accounts: self.inactive,
                duration_seconds,
                api_calls,
            })
            .map_err(ScanError::Evidence)?;
        Ok((findings, summary, self.key_activity.finish()))
    }
}
