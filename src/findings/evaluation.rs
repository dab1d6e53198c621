//! Facts to findings, one account at a time, the one way both `cmkscan
//! scan` (as each account finishes) and `cmkscan evaluate` (over a saved
//! facts file, in the same order) make them: the checks' verdicts, the
//! exceptions' marks, the summary's counts, the keys pending deletion and
//! recent events, and the findings parked in the spool. Nothing of an
//! account stays in memory afterwards but its counts and its few keys and
//! events, so memory follows the accounts in flight, not the organisation.

use std::collections::BTreeMap;
use std::io;

use super::spool::{FindingSpool, SpooledFindings};
use super::{KeyActivity, Summary, Tally};
use crate::checks::{self, ScanContext};
use crate::exceptions::Judge;
use crate::facts::{AccountFacts, Fetched, OrgAccount, ScanFacts, ScanHeader, TrailFacts};

/// A scan's findings as they are being made.
pub struct Evaluation {
    tally: Tally,
    key_activity: KeyActivity,
    spool: FindingSpool,
    management_account_id: String,
    organization_id: String,
    cloudtrail_trusted_access: Option<Fetched<bool>>,
    lookback_days: u32,
    /// `--exceptions`, applied to each account's findings before they are
    /// counted and parked.
    judge: Option<Judge>,
}

/// A scan's findings, made: in report order on disk, with what the report
/// says of them.
pub struct Evaluated {
    pub findings: SpooledFindings,
    pub summary: Summary,
    /// Keys pending deletion and recent disable / deletion events.
    pub key_activity: KeyActivity,
}

impl Evaluation {
    /// Makes the spool before any account is judged: a temporary directory
    /// that cannot take it ends a scan before any AWS work is wasted.
    pub fn new(scan: &ScanHeader, judge: Option<Judge>) -> io::Result<Self> {
        Ok(Evaluation {
            tally: Tally::default(),
            key_activity: KeyActivity::default(),
            spool: FindingSpool::new()?,
            management_account_id: scan.management_account_id.clone(),
            organization_id: scan.organization_id.clone(),
            cloudtrail_trusted_access: scan.cloudtrail_trusted_access.clone(),
            lookback_days: scan.lookback_days,
            judge,
        })
    }

    /// Judges, marks, counts and parks one account. `organization_trails`
    /// are those its verdicts see (the management account's own verdicts
    /// do not read them).
    pub fn account(
        &mut self,
        facts: &AccountFacts,
        organization_trails: &Fetched<Vec<TrailFacts>>,
    ) -> io::Result<()> {
        self.tally.account(facts);
        self.key_activity.account(facts);
        let scan = ScanContext {
            management_account_id: &self.management_account_id,
            organization_id: &self.organization_id,
            organization_trails,
            cloudtrail_trusted_access: &self.cloudtrail_trusted_access,
            lookback_days: self.lookback_days,
        };
        let mut findings = Vec::new();
        checks::evaluate_account(&scan, facts, &mut findings);
        if let Some(judge) = &mut self.judge {
            judge.apply(facts, &mut findings);
        }
        self.tally.findings(&findings);
        self.spool.push_account(&mut findings)
    }

    /// The findings in report order, the summary (with what the exceptions
    /// did) and the key activity. `inactive` are the accounts listed but
    /// not ACTIVE, in any order.
    pub fn finish(
        self,
        inactive: &[OrgAccount],
        duration_seconds: f64,
        api_calls: &BTreeMap<String, u64>,
    ) -> io::Result<Evaluated> {
        let findings = self.spool.finish()?;
        let mut summary = self.tally.summary(inactive, duration_seconds, api_calls);
        summary.exceptions = self.judge.map(Judge::finish);
        Ok(Evaluated {
            findings,
            summary,
            key_activity: self.key_activity.finish(),
        })
    }
}

/// The findings of saved facts, made as their scan made them: the report
/// they give is the scan's own, byte for byte.
pub fn evaluate(facts: &ScanFacts, judge: Option<Judge>) -> io::Result<Evaluated> {
    let mut evaluation = Evaluation::new(&facts.header(), judge)?;
    for account in &facts.accounts {
        evaluation.account(account, &facts.organization_trails)?;
    }
    evaluation.finish(
        &facts.inactive_accounts,
        facts.duration_seconds,
        &facts.api_calls,
    )
}
