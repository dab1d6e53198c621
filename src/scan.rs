//! The orchestrator: accounts stream in from Organizations and are scanned
//! with bounded concurrency while later pages are still being listed.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use aws_config::SdkConfig;
use aws_smithy_types::date_time::{DateTime, Format};
use aws_smithy_types::retry::RetryConfig;
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::stream::{self, TryStreamExt};
use futures::Stream;
use tokio::sync::OnceCell;

use crate::api::Api;
use crate::checks;
use crate::collect::access::{self, CallerIdentity, RoleRequest};
use crate::collect::regions::{self, RegionInfo};
use crate::collect::session::AccountSession;
use crate::collect::{self as collectors};
use crate::evidence::FactsSink;
use crate::facts::{AccountFacts, Fetched, OrgAccount, ScanHeader, ScanTail, TrailFacts};
use crate::ids::{AccountId, InputError, RegionName};
use crate::report::{Summary, Tally};
use crate::spool::{FindingSpool, SpooledFindings};
use crate::throttle::{CallError, Throttle};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSelection {
    /// Every region the account has enabled.
    All,
    /// Exactly these (those an account has not enabled are skipped).
    Listed(Vec<RegionName>),
}

impl std::str::FromStr for RegionSelection {
    type Err = InputError;

    /// `all`, or comma-separated region names (duplicates collapse).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "all" {
            return Ok(RegionSelection::All);
        }
        let names: BTreeSet<RegionName> = s.split(',').map(str::parse).collect::<Result<_, _>>()?;
        Ok(RegionSelection::Listed(names.into_iter().collect()))
    }
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub regions: RegionSelection,
    /// Scan only these accounts; empty means all.
    pub include_accounts: BTreeSet<AccountId>,
    pub exclude_accounts: BTreeSet<AccountId>,
    pub role_name: String,
    pub external_id: Option<String>,
    /// Accounts in flight at once.
    pub concurrency: NonZeroUsize,
    pub lookback_days: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("no AWS region configured: set AWS_REGION (or a profile region)")]
    NoRegion,
    #[error("cannot identify the caller (are AWS credentials configured?)")]
    Identity(#[source] CallError),
    #[error("cannot read the organization (is this the management account?)")]
    Organization(#[source] CallError),
    #[error("cannot list the organization's accounts")]
    ListAccounts(#[source] CallError),
    #[error("cannot write the evidence file")]
    Evidence(#[source] std::io::Error),
    #[error("cannot park findings in the temporary directory (TMPDIR)")]
    Spool(#[source] std::io::Error),
    #[error("cannot list the partition's regions")]
    PartitionRegions(#[source] CallError),
    #[error("unknown region(s) {}: the {partition} partition has {}", unknown.join(", "), known.join(", "))]
    UnknownRegions {
        unknown: Vec<String>,
        partition: String,
        known: Vec<String>,
    },
}

impl ScanError {
    /// Errors the user can fix by changing the command line.
    pub fn is_usage(&self) -> bool {
        matches!(self, ScanError::UnknownRegions { .. })
    }
}

pub struct ScanOutcome {
    pub scan: ScanHeader,
    pub findings: SpooledFindings,
    pub summary: Summary,
}

/// Everything an account scan needs, shared by all of them.
struct Context {
    runner: AccountSession,
    caller: CallerIdentity,
    home_region: String,
    management_account_id: String,
    options: ScanOptions,
    role: RoleRequest,
    now: SystemTime,
    done: AtomicUsize,
}

/// The management account's scan, started before its page is listed:
/// members' verdicts wait for its organisation trails.
type ManagementScan = Shared<BoxFuture<'static, Arc<AccountFacts>>>;

/// Runs a whole scan with the runner's SDK configuration (credentials,
/// region, endpoint); tests pass one that points at the emulator. Each
/// account's facts go to `evidence` as soon as it is done and are then
/// dropped; its findings go to a spool on disk.
pub async fn run(
    config: SdkConfig,
    options: ScanOptions,
    evidence: &mut dyn FactsSink,
) -> Result<ScanOutcome, ScanError> {
    let started = Instant::now();
    let now = SystemTime::now();
    // Whole seconds: the scan time names report folders and is read by people.
    let scan_time = DateTime::from_secs(DateTime::from(now).secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let scan_id = scan_id(&scan_time);
    let home_region = config
        .region()
        .map(|r| r.to_string())
        .ok_or(ScanError::NoRegion)?;
    let throttle = Arc::new(Throttle::new(
        config
            .retry_config()
            .cloned()
            .unwrap_or_else(RetryConfig::standard),
    ));
    let runner = AccountSession::runner(config, Arc::clone(&throttle));
    let caller = access::caller_identity(&runner, &home_region)
        .await
        .map_err(ScanError::Identity)?;
    let runner = AccountSession {
        account_id: caller.account_id.clone(),
        ..runner
    };
    let management_account_id = describe_organization(&runner, &home_region)
        .await
        .map_err(ScanError::Organization)?;
    let partition_regions = regions::describe_regions(&runner, &home_region, &caller.partition)
        .await
        .map_err(ScanError::PartitionRegions)?;
    validate_regions(&options.regions, &partition_regions, &caller.partition)?;
    tracing::info!(
        scan_id,
        caller_account = caller.account_id,
        management_account = management_account_id,
        partition = caller.partition,
        "scan started"
    );
    let header = ScanHeader {
        scan_id: scan_id.clone(),
        scan_time,
        partition: caller.partition.clone(),
        management_account_id: management_account_id.clone(),
        lookback_days: options.lookback_days,
    };
    evidence.begin(&header).map_err(ScanError::Evidence)?;

    let ctx = Arc::new(Context {
        role: RoleRequest {
            partition: caller.partition.clone(),
            role_name: options.role_name.clone(),
            external_id: options.external_id.clone(),
            session_name: format!("cmkscan-{scan_id}"),
            sts_region: home_region.clone(),
        },
        runner,
        caller,
        home_region,
        management_account_id,
        options,
        now,
        done: AtomicUsize::new(0),
    });
    let management = ctx.is_selected(&ctx.management_account_id).then(|| {
        let ctx = Arc::clone(&ctx);
        let account = OrgAccount {
            id: ctx.management_account_id.clone(),
            name: String::new(),
            status: "ACTIVE".into(),
        };
        async move { Arc::new(scan_account(&ctx, account).await) }
            .boxed()
            .shared()
    });
    let organization_trails = OnceCell::new();
    let common = Common {
        ctx: &ctx,
        management: management.as_ref(),
        organization_trails: &organization_trails,
    };

    let mut tally = Tally::default();
    let mut spool = FindingSpool::new().map_err(ScanError::Spool)?;
    let mut inactive_accounts = Vec::new();
    let mut management_listed = false;
    let no_trails: Fetched<Vec<TrailFacts>> = Ok(Vec::new());
    let mut finish_account = |facts: &AccountFacts| -> Result<(), ScanError> {
        evidence.account(facts).map_err(ScanError::Evidence)?;
        tally.account(facts);
        let scope = checks::Scope {
            management_account_id: &ctx.management_account_id,
            // Set before any member gets here; the management account's own
            // verdicts do not read it.
            organization_trails: organization_trails.get().unwrap_or(&no_trails),
            lookback_days: ctx.options.lookback_days,
        };
        let mut findings = Vec::new();
        checks::evaluate_account(&scope, facts, &mut findings);
        tally.findings(&findings);
        spool.push_account(&mut findings).map_err(ScanError::Spool)
    };
    let accounts = list_accounts(&ctx)
        .map_ok(|account| scan_listed(common, account))
        .try_buffer_unordered(ctx.options.concurrency.get());
    let drain = async {
        futures::pin_mut!(accounts);
        while let Some(listed) = accounts.try_next().await.map_err(ScanError::ListAccounts)? {
            match listed {
                Listed::Scanned(facts) => {
                    management_listed |= facts.id == ctx.management_account_id;
                    finish_account(&facts)?;
                }
                Listed::Inactive(account) => inactive_accounts.push(account),
                Listed::Filtered => {}
            }
        }
        // Organizations always lists its management account; should it not,
        // its scan still counts rather than vanishing.
        if let (Some(scan), false) = (&management, management_listed) {
            finish_account(&*scan.clone().await)?;
        }
        Ok::<(), ScanError>(())
    };
    // The management scan runs beside the listing, not in one of its slots.
    let drive_management = async {
        if let Some(scan) = &management {
            scan.clone().await;
        }
    };
    let (drained, ()) = futures::join!(drain, drive_management);
    drained?;

    let organization_trails = match organization_trails.into_inner() {
        Some(trails) => trails,
        None => match &management {
            Some(scan) => trails_from_management(&*scan.clone().await).unwrap_or(Ok(Vec::new())),
            None => Ok(Vec::new()),
        },
    };
    let findings = spool.finish().map_err(ScanError::Spool)?;
    let api_calls: BTreeMap<String, u64> = throttle
        .call_counts()
        .into_iter()
        .map(|(api, count)| (api.to_string(), count))
        .collect();
    let duration_seconds = started.elapsed().as_secs_f64();
    let summary = tally.summary(&inactive_accounts, duration_seconds, &api_calls);
    evidence
        .end(&ScanTail {
            organization_trails,
            inactive_accounts,
            duration_seconds,
            api_calls,
        })
        .map_err(ScanError::Evidence)?;
    Ok(ScanOutcome {
        scan: header,
        findings,
        summary,
    })
}

/// `20261128T101500Z-1a2b`: sortable by time, unique across concurrent runs.
fn scan_id(scan_time: &str) -> String {
    let compact: String = scan_time
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{compact}-{:04x}", fastrand::u16(..))
}

fn validate_regions(
    selection: &RegionSelection,
    partition_regions: &[RegionInfo],
    partition: &str,
) -> Result<(), ScanError> {
    let RegionSelection::Listed(wanted) = selection else {
        return Ok(());
    };
    let known: BTreeSet<&str> = partition_regions.iter().map(|r| r.name.as_str()).collect();
    let unknown: Vec<String> = wanted
        .iter()
        .filter(|r| !known.contains(r.as_str()))
        .map(|r| r.as_str().to_string())
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ScanError::UnknownRegions {
            unknown,
            partition: partition.to_string(),
            known: known.into_iter().map(str::to_string).collect(),
        })
    }
}

async fn describe_organization(runner: &AccountSession, region: &str) -> Result<String, CallError> {
    let client = runner.organizations(region);
    let out = runner
        .throttle
        .call(
            Api::OrganizationsDescribeOrganization,
            &runner.scope(region),
            || client.describe_organization().send(),
        )
        .await?;
    out.organization()
        .and_then(|o| o.master_account_id())
        .map(str::to_string)
        .ok_or_else(|| {
            CallError::new(
                Api::OrganizationsDescribeOrganization,
                "MalformedResponse",
                "no management account id in the organization",
            )
        })
}

/// Every account of the organization, page by page, as a stream: scanning
/// starts with the first page. Pages may be empty while a NextToken is set.
fn list_accounts(ctx: &Context) -> impl Stream<Item = Result<OrgAccount, CallError>> + '_ {
    let client = ctx.runner.organizations(&ctx.home_region);
    let scope = ctx.runner.scope(&ctx.home_region);
    stream::try_unfold(Some(None::<String>), move |state| {
        let client = client.clone();
        let scope = scope.clone();
        async move {
            let Some(token) = state else {
                return Ok(None);
            };
            let page = ctx
                .runner
                .throttle
                .call(Api::OrganizationsListAccounts, &scope, || {
                    client
                        .list_accounts()
                        .max_results(LIST_ACCOUNTS_PAGE)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            let accounts: Vec<Result<OrgAccount, CallError>> = page
                .accounts()
                .iter()
                .map(|a| {
                    Ok(OrgAccount {
                        id: a.id().unwrap_or_default().to_string(),
                        name: a.name().unwrap_or_default().to_string(),
                        // `State` replaces the retired `Status` field; read
                        // both so older and newer API answers work alike.
                        status: a
                            .state()
                            .map(|s| s.as_str().to_string())
                            .or_else(|| a.status().map(|s| s.as_str().to_string()))
                            .unwrap_or_else(|| UNREPORTED_STATE.into()),
                    })
                })
                .collect();
            let next = page.next_token().map(|t| Some(t.to_string()));
            Ok(Some((stream::iter(accounts), next)))
        }
    })
    .try_flatten()
}

/// The most accounts Organizations returns in one page: fewest pages at the
/// strict ListAccounts pace.
const LIST_ACCOUNTS_PAGE: i32 = 20;

/// Status recorded for an account whose state AWS did not report.
const UNREPORTED_STATE: &str = "UNREPORTED";

enum Listed {
    Scanned(Box<AccountFacts>),
    Inactive(OrgAccount),
    Filtered,
}

/// What every account's scan borrows.
#[derive(Clone, Copy)]
struct Common<'a> {
    ctx: &'a Context,
    management: Option<&'a ManagementScan>,
    organization_trails: &'a OnceCell<Fetched<Vec<TrailFacts>>>,
}

impl Context {
    /// Filters compare ids as text, so an id AWS spells oddly is still
    /// scanned when no filter names it, never silently dropped.
    fn is_selected(&self, id: &str) -> bool {
        let named = |set: &BTreeSet<AccountId>| set.iter().any(|a| a.as_str() == id);
        (self.options.include_accounts.is_empty() || named(&self.options.include_accounts))
            && !named(&self.options.exclude_accounts)
    }
}

async fn scan_listed(common: Common<'_>, account: OrgAccount) -> Result<Listed, CallError> {
    let ctx = common.ctx;
    if !ctx.is_selected(&account.id) {
        return Ok(Listed::Filtered);
    }
    // An account whose state AWS does not report is scanned: skipping it
    // silently could hide a whole organisation.
    if account.status != "ACTIVE" && account.status != UNREPORTED_STATE {
        tracing::info!(
            account = account.id,
            status = account.status,
            "account not active: skipped"
        );
        return Ok(Listed::Inactive(account));
    }
    let facts = match common.management {
        Some(scan) if account.id == ctx.management_account_id => AccountFacts {
            name: account.name,
            ..AccountFacts::clone(&*scan.clone().await)
        },
        _ => {
            let facts = scan_account(ctx, account).await;
            // Members' verdicts need the organisation trails.
            common
                .organization_trails
                .get_or_init(|| organization_trails(ctx, common.management))
                .await;
            facts
        }
    };
    let done = ctx.done.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::info!(
        account = facts.id,
        regions = facts.regions.len(),
        access_ok = facts.access.is_ok(),
        accounts_done = done,
        "account scanned"
    );
    Ok(Listed::Scanned(Box::new(facts)))
}

/// An account's facts; its rate limiters are dropped afterwards, however it
/// went, so memory follows the accounts in flight, not the organisation.
async fn scan_account(ctx: &Context, account: OrgAccount) -> AccountFacts {
    let facts = collect_account(ctx, account).await;
    // The runner's own limiters (AssumeRole, ListAccounts) outlive its scan.
    if facts.id != ctx.caller.account_id {
        ctx.runner.throttle.forget_account(&facts.id);
    }
    facts
}

async fn collect_account(ctx: &Context, account: OrgAccount) -> AccountFacts {
    let mut facts = AccountFacts {
        id: account.id,
        name: account.name,
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
    let (regions, trails) =
        collectors::collect_regions(&session, &scan, ctx.options.lookback_days, ctx.now).await;
    facts.skipped_regions = skipped;
    facts.regions = regions;
    facts.trails = trails;
    facts
}

/// The runner's own session for its own account, an assumed role elsewhere.
async fn open_session(ctx: &Context, account_id: &str) -> Result<AccountSession, CallError> {
    if account_id == ctx.caller.account_id {
        Ok(ctx.runner.clone())
    } else {
        access::assume_role(&ctx.runner, account_id, &ctx.role).await
    }
}

/// (regions to scan, requested regions the account has not enabled).
async fn regions_to_scan(
    ctx: &Context,
    session: &AccountSession,
) -> Result<(Vec<String>, Vec<String>), CallError> {
    let available =
        regions::describe_regions(session, &ctx.home_region, &ctx.caller.partition).await?;
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

/// The management account's organisation trails, which cover every member.
/// Taken from its own scan when it is scanned; fetched on their own when it
/// is filtered out (or its scan saw no region).
async fn organization_trails(
    ctx: &Context,
    management: Option<&ManagementScan>,
) -> Fetched<Vec<TrailFacts>> {
    if let Some(scan) = management {
        if let Some(trails) = trails_from_management(&*scan.clone().await) {
            return trails;
        }
    }
    let trails = fetch_organization_trails(ctx).await;
    // The runner's own limiters (AssumeRole, ListAccounts) stay.
    if ctx.management_account_id != ctx.caller.account_id {
        ctx.runner
            .throttle
            .forget_account(&ctx.management_account_id);
    }
    trails
}

async fn fetch_organization_trails(ctx: &Context) -> Fetched<Vec<TrailFacts>> {
    let session = open_session(ctx, &ctx.management_account_id).await?;
    let (mut regions, _) = regions_to_scan(ctx, &session).await?;
    // The home region always lists every multi-region organisation trail,
    // whichever regions the scan was asked for.
    if !regions.contains(&ctx.home_region) {
        regions.push(ctx.home_region.clone());
    }
    collectors::organization_trails(&session, &regions).await
}

/// The organisation trails as the management account's scan found them;
/// `None` when that scan cannot tell (no access, or no region scanned).
fn trails_from_management(management: &AccountFacts) -> Option<Fetched<Vec<TrailFacts>>> {
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
            .filter(|t| t.is_organization_trail)
            .cloned()
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> RegionInfo {
        RegionInfo {
            name: name.into(),
            opt_in_status: "opt-in-not-required".into(),
        }
    }

    #[test]
    fn listed_regions_must_exist_in_the_partition() {
        let known = [region("us-east-1"), region("eu-west-1")];
        let listed = |names: &[&str]| {
            RegionSelection::Listed(names.iter().map(|n| n.parse().unwrap()).collect())
        };
        assert!(validate_regions(&listed(&["us-east-1"]), &known, "aws").is_ok());
        assert!(validate_regions(&RegionSelection::All, &known, "aws").is_ok());
        let err =
            validate_regions(&listed(&["us-east-1", "mars-north-1"]), &known, "aws").unwrap_err();
        assert!(err.is_usage());
        assert!(err.to_string().contains("mars-north-1"), "{err}");
    }

    #[test]
    fn scan_ids_sort_by_time() {
        let id = scan_id("2026-11-28T10:15:00Z");
        assert!(id.starts_with("20261128T101500Z-"), "{id}");
        assert_eq!(id.len(), "20261128T101500Z-".len() + 4);
    }
}
