//! Scanning one account: into it (the runner's own session, or the scan
//! role), its enabled regions, then every region's facts.

use std::collections::BTreeSet;

use crate::aws::access;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::collect;
use crate::collect::regions;
use crate::facts::{AccountFacts, OrgAccount};
use crate::ids::{RegionName, RegionSelection};

use super::progress::AccountInFlight;
use super::Context;

/// An account's facts; its rate limiters are dropped afterwards, however it
/// went, so memory follows the accounts in flight, not the organisation.
pub(super) async fn scan(ctx: &Context, account: OrgAccount) -> AccountFacts {
    let mut in_flight = ctx.progress.account_started(&account.id, &account.name);
    let facts = collect_account(ctx, account, &mut in_flight).await;
    in_flight.done();
    if !ctx.keeps_limiters(&facts.id) {
        ctx.start.runner.throttle.forget_account(&facts.id);
    }
    facts
}

async fn collect_account(
    ctx: &Context,
    account: OrgAccount,
    in_flight: &mut AccountInFlight<'_>,
) -> AccountFacts {
    let mut facts = AccountFacts {
        id: account.id,
        name: account.name,
        ou_path: account.ou_path,
        ou_id: account.ou_id,
        ou_ancestors: account.ou_ancestors,
        access: Ok(()),
        skipped_regions: Vec::new(),
        trails: Vec::new(),
        regions: Vec::new(),
    };
    let session = match open_session(ctx, &facts.id).await {
        Ok(session) => session,
        Err(err) => {
            tracing::warn!(account = facts.id, error = %err, "cannot assume the scan role");
            facts.access = Err(err);
            return facts;
        }
    };
    let (scan, skipped) = match regions_to_scan(ctx, &session).await {
        Ok(regions) => regions,
        Err(err) => {
            tracing::warn!(account = facts.id, error = %err, "cannot list the account's regions");
            facts.access = Err(err);
            return facts;
        }
    };
    in_flight.regions(scan.len());
    let (regions, trails) = collect::collect_regions(
        &session,
        &scan,
        ctx.options.lookback_days,
        ctx.now,
        &ctx.buses,
    )
    .await;
    facts.skipped_regions = skipped;
    facts.regions = regions;
    facts.trails = trails;
    facts
}

/// The runner's own session for its own account, an assumed role elsewhere.
pub(super) async fn open_session(
    ctx: &Context,
    account_id: &str,
) -> Result<AccountSession, CallError> {
    if account_id == ctx.start.caller.account_id {
        Ok(ctx.start.runner.clone())
    } else {
        access::assume_role(&ctx.start.runner, account_id, &ctx.start.role).await
    }
}

/// (regions to scan, requested regions the account has not enabled).
pub(super) async fn regions_to_scan(
    ctx: &Context,
    session: &AccountSession,
) -> Result<(Vec<String>, Vec<String>), CallError> {
    let available =
        regions::describe_regions(session, &ctx.home_region, &ctx.start.caller.partition).await?;
    // Only a region the account reports as not opted in is skipped. One it
    // does not report at all is scanned, so that its calls fail loudly
    // (ERROR rows) instead of the region quietly counting as not enabled.
    let not_enabled: BTreeSet<&str> = available
        .iter()
        .filter(|r| !r.is_enabled())
        .map(|r| r.name.as_str())
        .collect();
    let requested: BTreeSet<&str> = match &ctx.options.regions {
        RegionSelection::All => available.iter().map(|r| r.name.as_str()).collect(),
        RegionSelection::Listed(list) => list.iter().map(RegionName::as_str).collect(),
    };
    let (scan, skipped): (Vec<&str>, Vec<&str>) = requested
        .into_iter()
        .partition(|r| !not_enabled.contains(r));
    Ok((
        scan.into_iter().map(str::to_string).collect(),
        skipped.into_iter().map(str::to_string).collect(),
    ))
}
