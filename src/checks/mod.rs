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
pub mod filter_pattern;
mod keys;
pub mod kms_events;
mod recording;
mod trails;

#[cfg(test)]
pub(crate) mod fixtures;

use serde::{Deserialize, Serialize};

use crate::exceptions::ExceptionMark;
use crate::facts::{AccountFacts, Fetched, RegionFacts, ScanFacts, TrailFacts};
use crate::throttle::CallError;
use catalog::{CheckId, Status};

/// Region column for rows about a whole account.
pub const ACCOUNT_WIDE: &str = "global";

/// One verdict. Title, severity, remediation and controls come from the
/// catalogue by `check`, so they cannot drift between rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub account_id: String,
    pub account_name: String,
    /// The account's OU path from the root (`Root/Workloads/Prod`).
    pub ou_path: String,
    /// The id of the account's parent (`ou-…`, or `r-…` for the root):
    /// OCSF findings name the OU by it. Empty when the facts were recorded
    /// before OUs.
    pub ou_id: String,
    pub region: String,
    pub check: CheckId,
    pub status: Status,
    pub resource_id: String,
    pub detail: String,
    /// The accepted risk that matches the row, set after the checks by
    /// [`crate::exceptions::Judge`]; the checks always leave it `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionMark>,
}

/// What one row stands for within its account, region and check (see
/// [`catalog::RowsPer`]): what finds the same row in another scan's report.
/// OCSF's `finding_info.uid` and Security Hub's `Id` are both made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// The whole region (or account): a region's row keeps its subject
    /// whatever its verdict, and so does the row of a per-resource or
    /// per-event check that stands for the region (an ERROR when the
    /// listing failed, a PASS without events), whatever its detail says.
    Region,
    /// One resource, by its id.
    Resource(&'a str),
    /// One event about a resource, told apart by the detail naming it.
    Event { resource: &'a str, detail: &'a str },
}

impl Finding {
    pub fn subject(&self) -> Subject<'_> {
        match self.check.rows_per() {
            catalog::RowsPer::Region => Subject::Region,
            _ if self.resource_id.is_empty() => Subject::Region,
            catalog::RowsPer::Resource => Subject::Resource(&self.resource_id),
            catalog::RowsPer::Event => Subject::Event {
                resource: &self.resource_id,
                detail: &self.detail,
            },
        }
    }

    /// Whether the row says the check could not be run at all here (the
    /// listing it needed failed): an ERROR standing for the whole region,
    /// which hides whatever rows the check would have had.
    pub fn check_failed_here(&self) -> bool {
        self.status == Status::Error && self.resource_id.is_empty()
    }
}

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
        Finding {
            account_id: self.account.id.clone(),
            account_name: self.account.name.clone(),
            ou_path: self.account.ou_path.clone(),
            ou_id: self.account.ou_id.clone(),
            region: self.region.region.clone(),
            check,
            status,
            resource_id: resource_id.to_string(),
            detail,
            exception: None,
        }
    }

    fn is_management_account(&self) -> bool {
        self.account.id == self.scan.management_account_id
    }

    /// Organisation trails that cover this member account (none for the
    /// management account, whose own trails already include them).
    fn organization_trails(&self) -> &'a [TrailFacts] {
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
    pub organization_trails: &'a Fetched<Vec<TrailFacts>>,
    pub lookback_days: u32,
}

impl<'a> ScanContext<'a> {
    pub fn of(facts: &'a ScanFacts) -> Self {
        ScanContext {
            management_account_id: &facts.management_account_id,
            organization_trails: &facts.organization_trails,
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

/// Report order: by account, region, check and resource, so a report does
/// not depend on the order accounts finished in.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (&a.account_id, &a.region, a.check, &a.resource_id, &a.detail).cmp(&(
            &b.account_id,
            &b.region,
            b.check,
            &b.resource_id,
            &b.detail,
        ))
    });
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
