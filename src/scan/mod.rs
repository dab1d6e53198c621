//! The orchestrator: who the runner is, which organisation, then accounts
//! streamed from Organizations and scanned with bounded concurrency while
//! later pages are still being listed. It decides nothing itself: the AWS
//! I/O is in [`crate::collect`], the verdicts in [`crate::checks`], and what
//! becomes of a finished account in [`finished`].

mod account;
mod finished;
mod management;
pub mod progress;
mod start;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Instant, SystemTime};

use aws_config::SdkConfig;
use aws_smithy_types::date_time::{DateTime, Format};
use futures::stream::{StreamExt, TryStreamExt};

use crate::aws::throttle::{CallError, Throttle};
use crate::collect::organizations::{self, UNREPORTED_STATE};
use crate::collect::Buses;
use crate::exceptions::{self, Exceptions, Judge};
use crate::facts::evidence::FactsSink;
use crate::facts::{AccountFacts, OrgAccount, PreviousReport, ScanHeader};
use crate::findings::Evaluated;
use crate::ids::{AccountId, ExternalId, OuId, RegionSelection, RoleArn};
use finished::FinishedAccounts;
use management::ManagementAccount;
use progress::{Phase, Progress};
use start::Start;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub regions: RegionSelection,
    /// Scan only these accounts; empty means all.
    pub include_accounts: BTreeSet<AccountId>,
    pub exclude_accounts: BTreeSet<AccountId>,
    /// Scan only accounts under these OUs or roots (recursively); empty
    /// means all. An account must pass both this and the account filters.
    pub include_ous: BTreeSet<OuId>,
    /// Never scan accounts under these OUs (recursively).
    pub exclude_ous: BTreeSet<OuId>,
    pub role_name: String,
    /// A role for the Organizations reads only; `None`: the runner's own
    /// credentials make them (the management account, or an account the
    /// organisation has delegated them to).
    pub org_role: Option<RoleArn>,
    pub external_id: Option<ExternalId>,
    /// Accounts in flight at once.
    pub concurrency: NonZeroUsize,
    pub lookback_days: u32,
    /// Accepted risks applied to the findings (`--exceptions`), already
    /// validated: a bad file never reaches the scan.
    pub exceptions: Option<Exceptions>,
    /// The earlier report this scan is compared with, found before it
    /// starts: the scan writes it into the evidence and reads nothing of it.
    pub previous_report: PreviousReport,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("no AWS region configured: set AWS_REGION (or a profile region)")]
    NoRegion,
    /// `cause` names what a newcomer fixes; the failed call, whose text can
    /// run to a paragraph of credential providers, is kept for
    /// [`ScanError::detail`] rather than said as the error's source.
    #[error("cannot identify the caller: {cause}")]
    Identity { cause: String, call: CallError },
    #[error("cannot read the organization: run from the management account, from an account it has delegated the Organizations reads to, or with --org-role")]
    Organization(#[source] CallError),
    #[error("cannot assume --org-role {role} for the Organizations reads")]
    OrgRole {
        role: String,
        #[source]
        source: CallError,
    },
    #[error("cannot list the organization's accounts")]
    AccountListing(#[source] CallError),
    #[error("no such organizational unit or root in this organization: {}", .0.join(", "))]
    UnknownOus(Vec<String>),
    #[error("--accounts names account(s) not in this organization: {}", .0.join(", "))]
    UnknownAccounts(Vec<String>),
    #[error("cannot check the accounts named by --accounts")]
    CheckAccounts(#[source] CallError),
    #[error("cannot check the organizational units named by --ous / --exclude-ous")]
    CheckOus(#[source] CallError),
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
        matches!(
            self,
            ScanError::UnknownRegions { .. }
                | ScanError::UnknownOus(_)
                | ScanError::UnknownAccounts(_)
        )
    }

    /// What the one-line message leaves out, for the JSON log and debug
    /// level: the failed call in full.
    pub fn detail(&self) -> Option<String> {
        match self {
            ScanError::Identity { call, .. } => Some(call.to_string()),
            _ => None,
        }
    }
}

pub struct ScanOutcome {
    pub scan: ScanHeader,
    /// The runner's region (a scan cannot run without one): the report
    /// bucket's unless `--s3-region` says otherwise.
    pub runner_region: String,
    /// The findings, the summary and the key activity.
    pub evaluated: Evaluated,
}

/// Everything an account scan needs, shared by all of them.
struct Context {
    /// Who runs the scan, through which sessions, in which organisation.
    start: Start,
    /// The event buses members' rules forward to, each read once.
    buses: Buses,
    /// The runner's region: its STS, Organizations and EC2 endpoints serve
    /// the whole scan.
    home_region: String,
    options: ScanOptions,
    /// The scan's start: LookupEvents' window ends here for every account.
    now: SystemTime,
    /// Accounts and account-regions started and done, and in flight.
    progress: Arc<Progress>,
}

impl Context {
    /// Whether an account's rate limiters must outlive its scan: those of
    /// the runner's account pace AssumeRole for the whole scan, those of
    /// the Organizations session the listing.
    fn keeps_limiters(&self, account_id: &str) -> bool {
        account_id == self.start.caller.account_id
            || account_id == self.start.organizations.account_id
    }

    /// Filters compare ids as text, so an id AWS spells oddly is still
    /// scanned when no filter names it, never silently dropped.
    fn is_selected(&self, id: &str) -> bool {
        let named = |set: &BTreeSet<AccountId>| set.iter().any(|a| a.as_str() == id);
        (self.options.include_accounts.is_empty() || named(&self.options.include_accounts))
            && !named(&self.options.exclude_accounts)
    }
}

/// What became of one listed account.
enum Listed {
    Scanned(Box<AccountFacts>),
    Inactive(OrgAccount),
    Filtered,
}

/// Runs a whole scan with the runner's SDK configuration (credentials,
/// region, endpoint); tests pass one that points at the emulator. Each
/// account's facts go to `evidence` as soon as it is done and are then
/// dropped; its findings go to a spool on disk.
pub async fn run(
    config: SdkConfig,
    options: ScanOptions,
    evidence: &mut dyn FactsSink,
) -> Result<ScanOutcome, ScanError> {
    run_observed(config, options, evidence, &Progress::new()).await
}

/// [`run`], telling `progress` what it does: accounts and account-regions
/// started and done, its requests, and what is in flight.
pub async fn run_observed(
    config: SdkConfig,
    options: ScanOptions,
    evidence: &mut dyn FactsSink,
    progress: &Arc<Progress>,
) -> Result<ScanOutcome, ScanError> {
    progress.set_phase(Phase::Scanning);
    let started = Instant::now();
    let now = SystemTime::now();
    // Whole seconds: the scan time names report folders and is read by people.
    let scan_time = DateTime::from_secs(DateTime::from(now).secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let scan_id = scan_id(&scan_time, fastrand::u16(..));
    let home_region = config
        .region()
        .map(|r| r.to_string())
        .ok_or(ScanError::NoRegion)?;
    let throttle = Arc::new(Throttle::for_config(&config));
    progress.watch(&throttle);
    let (start, roots) = start::start(config, &throttle, &options, &scan_id, &home_region).await?;
    tracing::info!(
        scan_id,
        caller_account = start.caller.account_id,
        organizations_reads_by = start.organizations.account_id,
        management_account = start.management_account_id,
        partition = start.caller.partition,
        "scan started"
    );
    let header = ScanHeader {
        scan_id: scan_id.clone(),
        scan_time,
        partition: start.caller.partition.clone(),
        management_account_id: start.management_account_id.clone(),
        organization_id: start.organization_id.clone(),
        lookback_days: options.lookback_days,
        exceptions: options.exceptions.as_ref().map(Exceptions::stored),
        previous_report: options.previous_report.clone(),
        cloudtrail_trusted_access: Some(start.cloudtrail_trusted_access.clone()),
    };
    // Expiry is judged on the scan's day, as `cmkscan evaluate` of its
    // facts will judge it.
    let judge = options.exceptions.clone().map(|file| {
        let day = exceptions::day_of(&header.scan_time).unwrap_or_else(exceptions::today_utc);
        Judge::new(file, day)
    });
    evidence.begin(&header).map_err(ScanError::Evidence)?;
    let mut finished = FinishedAccounts::new(evidence, &header, judge)?;

    let buses = Buses::new(start.runner.clone(), start.role.clone());
    let ctx = Arc::new(Context {
        start,
        buses,
        home_region,
        options,
        now,
        progress: Arc::clone(progress),
    });
    let management = Arc::new(ManagementAccount::new(&ctx));

    // Each account on a task of its own: on a multi-threaded runtime
    // (src/main.rs) accounts are scanned on every core the task has, while
    // this future lists the organisation and records finished accounts.
    let listing_ended = futures::stream::poll_fn(|_| {
        ctx.progress.listing_done();
        std::task::Poll::Ready(None)
    });
    let accounts = organizations::accounts(
        &ctx.start.organizations,
        &ctx.home_region,
        roots,
        &ctx.start.ou_scope,
    )
    // Polled once, when the listing has no more accounts.
    .chain(listing_ended)
    .map_ok(|account| {
        let (ctx, management) = (Arc::clone(&ctx), Arc::clone(&management));
        Task(tokio::spawn(async move {
            scan_listed(&ctx, &management, account).await
        }))
    })
    .try_buffer_unordered(ctx.options.concurrency.get());
    let drain = async {
        futures::pin_mut!(accounts);
        while let Some(listed) = accounts
            .try_next()
            .await
            .map_err(ScanError::AccountListing)?
        {
            match listed {
                Listed::Scanned(facts) => {
                    finished.scanned(&facts, management.known_organization_trails())?
                }
                Listed::Inactive(account) => finished.inactive(account),
                Listed::Filtered => {}
            }
        }
        // Organizations always lists its management account; should it not,
        // its scan still counts rather than vanishing.
        if let Some(facts) = management.unlisted_facts().await {
            finished.scanned(&facts, management.known_organization_trails())?;
        }
        Ok::<(), ScanError>(())
    };
    let (drained, ()) = futures::join!(drain, management.scan_beside_listing());
    drained?;

    let organization_trails = management.final_organization_trails().await;
    let api_calls: BTreeMap<String, u64> = throttle
        .call_counts()
        .into_iter()
        .map(|(api, count)| (api.to_string(), count))
        .collect();
    let evaluated = finished.close(
        organization_trails,
        started.elapsed().as_secs_f64(),
        api_calls,
    )?;
    Ok(ScanOutcome {
        scan: header,
        runner_region: ctx.home_region.clone(),
        evaluated,
    })
}

/// A spawned account scan, aborted if the scan is dropped before it ends
/// (a failed listing): no account scan outlives its scan.
struct Task<T>(tokio::task::JoinHandle<T>);

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(value) => value,
            // A panic in an account's scan is the scan's panic.
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        })
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `20261128T101500Z-1a2b`: sortable by time, unique across concurrent runs
/// by its random suffix.
fn scan_id(scan_time: &str, suffix: u16) -> String {
    let compact: String = scan_time
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{compact}-{suffix:04x}")
}

/// One entry of the listing: filtered out, put aside as inactive, or
/// scanned (the management account's entry takes its running scan).
async fn scan_listed(
    ctx: &Context,
    management: &ManagementAccount,
    account: OrgAccount,
) -> Result<Listed, CallError> {
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
    let facts = match management.take_listed(&account).await {
        Some(facts) => facts,
        None => {
            let facts = account::scan(ctx, account).await;
            // Members' verdicts need the organisation trails.
            management.organization_trails(ctx).await;
            facts
        }
    };
    tracing::info!(
        account = facts.id,
        regions = facts.regions.len(),
        access_ok = facts.access.is_ok(),
        accounts_done = ctx.progress.accounts_done(),
        "account scanned"
    );
    Ok(Listed::Scanned(Box::new(facts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_ids_sort_by_time() {
        let earlier = scan_id("2026-11-28T10:15:00Z", 0xffff);
        let later = scan_id("2026-11-28T10:15:01Z", 0x0000);
        assert_eq!(earlier, "20261128T101500Z-ffff");
        assert_eq!(later, "20261128T101501Z-0000");
        // Time decides the order, whatever the random suffixes.
        assert!(earlier < later);
        assert!(scan_id("2026-12-01T00:00:00Z", 0) > scan_id("2026-11-30T23:59:59Z", 0xffff));
    }
}
