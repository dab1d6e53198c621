//! The organisation's management account, which the scan treats apart from
//! every member for one reason: its organisation trails cover every member,
//! so members' verdicts wait for them.
//!
//! - When the account is selected, its scan starts at once, beside the
//!   listing and outside the `--concurrency` slots, and its entry in the
//!   listing takes that scan rather than scanning it again.
//! - The organisation trails are worked out once, when the first member
//!   needs them: from its scan when it has one that can tell, fetched on
//!   their own otherwise (the account filtered out, unreachable, or no
//!   region scanned).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::sync::OnceCell;

use super::{account, Context};
use crate::collect;
use crate::facts::{AccountFacts, Fetched, OrgAccount, TrailFacts};

/// What members are judged against before any organisation trail is known:
/// only the management account's own verdicts are made then, and they do
/// not read them.
static NO_TRAILS: Fetched<Vec<TrailFacts>> = Ok(Vec::new());

pub(super) struct ManagementAccount {
    id: String,
    /// Its scan, started before its page is listed; `None` when filtered
    /// out by `--accounts` / `--exclude-accounts` or by its OU.
    scan: Option<Shared<BoxFuture<'static, Arc<AccountFacts>>>>,
    /// Whether the listing delivered its entry (it always should).
    listed: AtomicBool,
    organization_trails: OnceCell<Fetched<Vec<TrailFacts>>>,
}

impl ManagementAccount {
    /// Prepares its scan if it is selected; the scan runs when
    /// [`Self::scan_beside_listing`] or a waiting member polls it.
    pub(super) fn new(ctx: &Arc<Context>) -> Self {
        let id = ctx.start.management_account_id.clone();
        let scan = (ctx.is_selected(&id) && ctx.start.management_in_ou_scope).then(|| {
            let ctx = Arc::clone(ctx);
            let account = OrgAccount {
                id: id.clone(),
                name: String::new(),
                status: "ACTIVE".into(),
                ou_path: String::new(),
                ou_id: String::new(),
                ou_ancestors: Vec::new(),
            };
            async move { Arc::new(account::scan(&ctx, account).await) }
                .boxed()
                .shared()
        });
        ManagementAccount {
            id,
            scan,
            listed: AtomicBool::new(false),
            organization_trails: OnceCell::new(),
        }
    }

    /// Drives its scan to the end, beside the listing.
    pub(super) async fn scan_beside_listing(&self) {
        if let Some(scan) = &self.scan {
            scan.clone().await;
        }
    }

    /// Its facts, under the name and OU Organizations lists, when `account` is its
    /// entry in the listing and it is scanned here.
    pub(super) async fn take_listed(&self, account: &OrgAccount) -> Option<AccountFacts> {
        let scan = self.scan.as_ref().filter(|_| account.id == self.id)?;
        self.listed.store(true, Ordering::Relaxed);
        Some(AccountFacts {
            name: account.name.clone(),
            ou_path: account.ou_path.clone(),
            ou_id: account.ou_id.clone(),
            ou_ancestors: account.ou_ancestors.clone(),
            ..AccountFacts::clone(&*scan.clone().await)
        })
    }

    /// Its facts when it is scanned here but the listing never delivered
    /// it, so that its scan still counts.
    pub(super) async fn unlisted_facts(&self) -> Option<Arc<AccountFacts>> {
        match &self.scan {
            Some(scan) if !self.listed.load(Ordering::Relaxed) => Some(scan.clone().await),
            _ => None,
        }
    }

    /// The organisation trails, worked out by the first member to ask.
    pub(super) async fn organization_trails(&self, ctx: &Context) -> &Fetched<Vec<TrailFacts>> {
        self.organization_trails
            .get_or_init(|| self.work_out_organization_trails(ctx))
            .await
    }

    /// The organisation trails if a member has worked them out (every
    /// member waits for that before it finishes), otherwise none.
    pub(super) fn known_organization_trails(&self) -> &Fetched<Vec<TrailFacts>> {
        self.organization_trails.get().unwrap_or(&NO_TRAILS)
    }

    /// The value the members were judged against, for the evidence file;
    /// with no member scanned, what the management account's scan found.
    pub(super) async fn final_organization_trails(&self) -> Fetched<Vec<TrailFacts>> {
        if let Some(trails) = self.organization_trails.get() {
            return trails.clone();
        }
        match &self.scan {
            Some(scan) => trails_in(&*scan.clone().await).unwrap_or(Ok(Vec::new())),
            None => Ok(Vec::new()),
        }
    }

    async fn work_out_organization_trails(&self, ctx: &Context) -> Fetched<Vec<TrailFacts>> {
        if let Some(scan) = &self.scan {
            if let Some(trails) = trails_in(&*scan.clone().await) {
                return trails;
            }
        }
        let trails = fetch_organization_trails(ctx).await;
        if !ctx.keeps_limiters(&self.id) {
            ctx.start.runner.throttle.forget_account(&self.id);
        }
        trails
    }
}

/// Only the organisation trails of the management account: its enabled
/// regions among those requested, plus the runner's region.
async fn fetch_organization_trails(ctx: &Context) -> Fetched<Vec<TrailFacts>> {
    let session = account::open_session(ctx, &ctx.start.management_account_id).await?;
    let (mut regions, _) = account::regions_to_scan(ctx, &session).await?;
    // The home region always lists every multi-region organisation trail,
    // whichever regions the scan was asked for.
    if !regions.contains(&ctx.home_region) {
        regions.push(ctx.home_region.clone());
    }
    collect::organization_trails(&session, &regions).await
}

/// The organisation trails as the management account's scan found them;
/// `None` when that scan cannot tell (no access, or no region scanned).
fn trails_in(management: &AccountFacts) -> Option<Fetched<Vec<TrailFacts>>> {
    // A region whose trails could not be listed may hide an organisation
    // trail homed there: members must not read "no trail" from that.
    if let Some(Err(err)) = management
        .regions
        .iter()
        .map(|r| &r.visible_trails)
        .find(|r| r.is_err())
    {
        return Some(Err(err.clone()));
    }
    (management.access.is_ok() && !management.regions.is_empty()).then(|| {
        Ok(management
            .trails
            .iter()
            .filter(|t| t.described.is_organization_trail)
            .cloned()
            .collect())
    })
}
