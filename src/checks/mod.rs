//! Verdicts: pure functions from [`crate::facts`] to [`Finding`]s. No I/O
//! here, so every rule is unit-tested and a saved facts file re-evaluates to
//! the same report.
//!
//! Each check's module holds its rule and its catalogue entry (a
//! [`catalog::CheckDef`]): `access`, `trails`, `recording`, `alerting`, and
//! `keys` (two checks). A new check is a new module, a [`CheckId`] variant
//! in the catalogue and, for a regional check, a line in `evaluate_region`.

mod access;
mod alerting;
pub mod catalog;
pub mod event_pattern;
#[cfg(test)]
mod fetch_agreement;
pub mod filter_pattern;
mod finding;
mod keys;
pub mod kms_events;
mod recording;
mod status;
mod trails;

#[cfg(test)]
pub(crate) mod fixtures;

use crate::aws::throttle::CallError;
use crate::facts::{AccountFacts, Fetched, RegionFacts, ScanFacts, TrailFacts};
use catalog::{CheckId, Status};
pub use finding::{sort, ExceptionMark, ExceptionState, Finding, Subject, ACCOUNT_WIDE};
pub use recording::covers_kms_keys;
pub use trails::{captures_kms_writes, qualifies as trail_qualifies};

/// What the pattern evaluators answer when a pattern uses a construct they
/// do not implement, with the construct that stopped them. The alerting
/// check turns this into a WARN ("cannot decide"), never into a match:
/// guessing here could produce a false PASS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Undecidable(pub String);

impl Undecidable {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// What a regional check may look at.
pub struct RegionContext<'a> {
    pub scan: &'a ScanContext<'a>,
    pub account: &'a AccountFacts,
    pub region: &'a RegionFacts,
}

impl<'a> RegionContext<'a> {
    fn finding(
        &self,
        check: CheckId,
        status: Status,
        resource_id: &str,
        detail: String,
    ) -> Finding {
        Finding::new(
            self.account,
            &self.region.region,
            check,
            status,
            resource_id,
            detail,
        )
    }

    fn is_management_account(&self) -> bool {
        self.account.id == self.scan.management_account_id
    }

    /// Organisation trails that log for this member account: none for the
    /// management account (its own trails already include them), and none
    /// unless trusted access for CloudTrail is known to be enabled ("If you
    /// disable trusted access … the trails stop functioning for member
    /// accounts",
    /// https://docs.aws.amazon.com/organizations/latest/userguide/services-that-can-integrate-cloudtrail.html).
    fn organization_trails(&self) -> &'a [TrailFacts] {
        match self.scan.organization_trails {
            Ok(_) if !matches!(self.scan.cloudtrail_trusted_access, Some(Ok(true))) => &[],
            Ok(trails) if !self.is_management_account() => trails,
            _ => &[],
        }
    }

    /// The management account's organisation trails, for a member, whether
    /// or not they log for it.
    fn listed_organization_trails(&self) -> &'a [TrailFacts] {
        match self.scan.organization_trails {
            Ok(trails) if !self.is_management_account() => trails,
            _ => &[],
        }
    }

    /// The error that hides the organisation trails from a member, if any.
    fn organization_trails_error(&self) -> Option<&'a CallError> {
        if self.is_management_account() {
            return None;
        }
        self.scan.organization_trails.as_ref().err()
    }
}

/// What every account's verdicts share: the scan-wide facts.
pub struct ScanContext<'a> {
    pub management_account_id: &'a str,
    /// `o-…`; empty in facts recorded before it was kept.
    pub organization_id: &'a str,
    pub organization_trails: &'a Fetched<Vec<TrailFacts>>,
    /// Whether trusted access for CloudTrail is enabled; `None`: not
    /// collected.
    pub cloudtrail_trusted_access: &'a Option<Fetched<bool>>,
    pub lookback_days: u32,
}

impl<'a> ScanContext<'a> {
    pub fn of(facts: &'a ScanFacts) -> Self {
        ScanContext {
            management_account_id: &facts.management_account_id,
            organization_id: &facts.organization_id,
            organization_trails: &facts.organization_trails,
            cloudtrail_trusted_access: &facts.cloudtrail_trusted_access,
            lookback_days: facts.lookback_days,
        }
    }
}

/// Every finding of a scan, in report order.
pub fn evaluate(facts: &ScanFacts) -> Vec<Finding> {
    let scan = ScanContext::of(facts);
    let mut out = Vec::new();
    for account in &facts.accounts {
        evaluate_account(&scan, account, &mut out);
    }
    sort(&mut out);
    out
}

/// The findings of one account, appended to `out` (unsorted).
pub fn evaluate_account(scan: &ScanContext, account: &AccountFacts, out: &mut Vec<Finding>) {
    if let Some(denied) = access::denied(account) {
        out.push(denied);
        return;
    }
    for region in &account.regions {
        let ctx = RegionContext {
            scan,
            account,
            region,
        };
        evaluate_region(&ctx, out);
    }
}

/// The findings of every regional check for one account and region.
fn evaluate_region(ctx: &RegionContext<'_>, out: &mut Vec<Finding>) {
    trails::check(ctx, out);
    recording::check(ctx, out);
    alerting::check(ctx, out);
    keys::key_state(ctx, out);
    keys::recent_events(ctx, out);
}
