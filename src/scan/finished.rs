//! Where a finished account goes: its facts to the evidence file, then to
//! the [`Evaluation`] that judges, counts and parks its findings. Nothing of
//! it stays in memory afterwards but its counts and its keys pending
//! deletion and recent key events, so a scan's memory follows the accounts
//! in flight, not the size of the organisation.

use std::collections::BTreeMap;

use super::ScanError;
use crate::exceptions::Judge;
use crate::facts::evidence::FactsSink;
use crate::facts::{AccountFacts, Fetched, OrgAccount, ScanHeader, ScanTail, TrailFacts};
use crate::findings::{Evaluated, Evaluation};

pub(super) struct FinishedAccounts<'a> {
    evidence: &'a mut dyn FactsSink,
    evaluation: Evaluation,
    /// Listed but not ACTIVE: never scanned, named in the summary.
    inactive: Vec<OrgAccount>,
}

impl<'a> FinishedAccounts<'a> {
    pub(super) fn new(
        evidence: &'a mut dyn FactsSink,
        scan: &ScanHeader,
        judge: Option<Judge>,
    ) -> Result<Self, ScanError> {
        Ok(FinishedAccounts {
            evidence,
            evaluation: Evaluation::new(scan, judge).map_err(ScanError::Spool)?,
            inactive: Vec::new(),
        })
    }

    /// Records, judges and parks one scanned account. `organization_trails`
    /// are those its verdicts see.
    pub(super) fn scanned(
        &mut self,
        facts: &AccountFacts,
        organization_trails: &Fetched<Vec<TrailFacts>>,
    ) -> Result<(), ScanError> {
        self.evidence.account(facts).map_err(ScanError::Evidence)?;
        self.evaluation
            .account(facts, organization_trails)
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
    ) -> Result<Evaluated, ScanError> {
        let evaluated = self
            .evaluation
            .finish(&self.inactive, duration_seconds, &api_calls)
            .map_err(ScanError::Spool)?;
        self.evidence
            .end(&ScanTail {
                organization_trails,
                inactive_accounts: self.inactive,
                duration_seconds,
                api_calls,
            })
            .map_err(ScanError::Evidence)?;
        Ok(evaluated)
    }
}
