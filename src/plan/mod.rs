//! `cmkscan plan`: from a scan's evidence to the changes that fix exactly
//! what failed, each with its way back, for a change board. Pure: it reads
//! the facts and the findings they give, and writes files ([`output`]); it
//! makes no AWS call at all.
//!
//! - `model` — the plan as plan.json states it (docs/plan.schema.json);
//! - `recorder`, `alerts`, `trail`, `keys` — one planner per failing check,
//!   each writing its steps, scripts and simulated effects from the same
//!   values;
//! - `effect` — what a step does to the facts, which `check` (`--check`)
//!   applies to a copy before judging it again with the same checks;
//! - `script`, `markdown` — how values from AWS reach bash and plan.md
//!   safely;
//! - `render` — plan.md; `output` — the directory, complete or untouched,
//!   and report.html's links.

mod alerts;
mod check;
mod effect;
mod keys;
mod markdown;
mod model;
mod output;
mod recorder;
mod render;
mod script;
mod trail;

use std::collections::BTreeMap;

use aws_smithy_types::date_time::{DateTime, Format};

use crate::checks::catalog::{CheckId, Status};
use crate::checks::{ExceptionState, Finding};
use crate::facts::{AccountFacts, RegionFacts, ScanFacts};
use crate::ids::{AccountId, BucketName, EmailAddress, RegionName};
pub use check::{findings_of, run as check};
pub use model::{Action, Plan, ReasonCode, PLAN_SCHEMA_VERSION};
use model::{ExitCodeMeaning, OptionsUsed, Place, RowRef, ScanRef, Scripts};
pub use output::{write, OutputError, Written};

/// What the planner may do beyond the evidence.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Evidence older than this many days is not planned from.
    pub max_age_days: u32,
    /// The bucket a new delivery channel delivers to; without it, a region
    /// without a channel is refused.
    pub config_bucket: Option<BucketName>,
    /// Where the central alert stack goes: default the management account.
    pub alerts_account: Option<AccountId>,
    /// Default: the region with the most failing alerting rows.
    pub alerts_region: Option<RegionName>,
    /// The address the central topic emails; the scripts ask for it when
    /// it is not given here.
    pub alert_email: Option<EmailAddress>,
    pub forwarders: Forwarders,
}

/// How member accounts get their alert forwarders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarders {
    /// One service-managed StackSet, run from the management account.
    StackSet,
    /// A plain stack per account-region, run in each account.
    Stacks,
}

impl Forwarders {
    pub fn as_str(self) -> &'static str {
        match self {
            Forwarders::StackSet => "stackset",
            Forwarders::Stacks => "stacks",
        }
    }
}

/// The evidence a plan is made from.
pub struct PlanInput<'a> {
    pub facts: &'a ScanFacts,
    /// Where the facts were read from.
    pub facts_source: String,
    pub facts_sha256: String,
    /// The exceptions file the findings were judged with.
    pub exceptions_source: Option<String>,
    /// The facts' findings, judged by those exceptions, in report order
    /// ([`findings_of`]).
    pub findings: &'a [Finding],
    /// Seconds since the Unix epoch at planning time.
    pub now_epoch: i64,
}

/// What the planners share: the facts, the options, and how every step
/// names its files and its provenance.
pub struct Context<'a> {
    pub facts: &'a ScanFacts,
    pub options: &'a PlanOptions,
    pub now_epoch: i64,
    provenance: String,
}

impl<'a> Context<'a> {
    pub fn account(&self, id: &str) -> Option<&'a AccountFacts> {
        self.facts.accounts.iter().find(|a| a.id == id)
    }

    pub fn region(&self, account: &str, region: &str) -> Option<&'a RegionFacts> {
        self.account(account)?
            .regions
            .iter()
            .find(|r| r.region == region)
    }

    /// An account-region, named as the evidence names the account.
    pub fn place(&self, account_id: &str, region: &str) -> Place {
        let account = self.account(account_id);
        Place {
            account_id: account_id.to_string(),
            account_name: account.map(|a| a.name.clone()).unwrap_or_default(),
            ou_path: account.map(|a| a.ou_path.clone()).unwrap_or_default(),
            region: region.to_string(),
        }
    }

    /// `scripts/<account>/<region>/<name>.{apply,backout}.sh`: account ids
    /// and regions are checked before any step is planned (see
    /// [`safe_place`]), so they are plain path segments.
    pub fn script_paths(&self, place: &Place, name: &str) -> Scripts {
        let base = format!("scripts/{}/{}/{name}", place.account_id, place.region);
        Scripts {
            apply: format!("{base}.apply.sh"),
            backout: format!("{base}.backout.sh"),
        }
    }

    /// From a script's directory back to the plan's.
    pub fn up_from_scripts(&self) -> &'static str {
        "../../../"
    }

    /// What every script's header says it was planned from.
    pub fn provenance(&self) -> String {
        self.provenance.clone()
    }

    pub fn verify_command(&self, place: &Place) -> String {
        format!(
            "cmkscan scan --accounts {} --regions {}",
            place.account_id, place.region
        )
    }

    /// The scan that shows every row of `rows` again.
    pub fn verify_all_command(&self, rows: &[&Finding]) -> String {
        let mut accounts: Vec<&str> = rows.iter().map(|r| r.account_id.as_str()).collect();
        accounts.sort();
        accounts.dedup();
        let mut regions: Vec<&str> = rows.iter().map(|r| r.region.as_str()).collect();
        regions.sort();
        regions.dedup();
        format!(
            "cmkscan scan --accounts {} --regions {}",
            accounts.join(","),
            regions.join(",")
        )
    }

    /// The region most of `rows` are in (the first by name among equals).
    pub fn busiest_region(&self, rows: &[&Finding]) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for row in rows {
            *counts.entry(&row.region).or_default() += 1;
        }
        counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(region, _)| region.to_string())
            .unwrap_or_default()
    }
}

/// An account id and region that can name files and reach bash and
/// CloudFormation as they are: 12 digits, and a region name's characters.
fn safe_place(account: &str, region: &str) -> bool {
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && region
            .parse::<RegionName>()
            .is_ok_and(|r| r.as_str() == region)
}

/// The plan for `input`'s findings.
pub fn build(input: &PlanInput<'_>, options: &PlanOptions) -> Plan {
    let facts = input.facts;
    let scan_epoch = DateTime::from_str(&facts.scan_time, Format::DateTime)
        .map(|t| t.secs())
        .unwrap_or(i64::MIN / 2);
    let age_seconds = input.now_epoch.saturating_sub(scan_epoch);
    let age_days = age_seconds.div_euclid(86_400);
    let expired = age_seconds > i64::from(options.max_age_days) * 86_400;
    let ctx = Context {
        facts,
        options,
        now_epoch: input.now_epoch,
        provenance: format!(
            "Planned from scan {} ({}), facts {} (sha256 {}).",
            facts.scan_id, facts.scan_time, input.facts_source, input.facts_sha256
        ),
    };
    let facts_sane = safe_place(&facts.management_account_id, "us-east-1")
        && !facts.partition.is_empty()
        && facts
            .partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    let mut steps = Vec::new();
    let mut accepted = Vec::new();
    let mut alerting = Vec::new();
    let mut trails = Vec::new();
    // WARN and ERROR trail rows: refused, unless an organisation trail is
    // planned, which covers them whatever their own trails.
    let mut trail_others: Vec<model::Step> = Vec::new();
    for finding in input.findings {
        let place = Place::of(finding);
        let accepted_here = finding
            .exception
            .as_ref()
            .is_some_and(|mark| mark.state == ExceptionState::Active);
        if accepted_here {
            if finding.status == Status::Fail {
                accepted.push(RowRef::of(finding));
            }
            continue;
        }
        let refusals = if finding.check == CheckId::KmsEventsLogged && !expired {
            &mut trail_others
        } else {
            &mut steps
        };
        match finding.status {
            Status::Pass => {}
            Status::Error => refusals.push(model::Step::refused(
                &place,
                finding,
                ReasonCode::Unreadable,
                format!("the scan could not read this: {}; re-scan first", finding.detail),
            )),
            Status::Warn => refusals.push(model::Step::refused(
                &place,
                finding,
                ReasonCode::NotAFail,
                format!("a WARN: decide first ({})", finding.detail),
            )),
            Status::Fail if expired => steps.push(model::Step::refused(
                &place,
                finding,
                ReasonCode::EvidenceExpired,
                format!(
                    "the scan is {age_days} days old, past --max-age {} days: re-scan and plan again",
                    options.max_age_days
                ),
            )),
            Status::Fail if !facts_sane || !safe_place(&finding.account_id, &finding.region) => {
                steps.push(model::Step::refused(
                    &place,
                    finding,
                    ReasonCode::UnexpectedState,
                    "the evidence's account id, region or partition is malformed: not planned".into(),
                ))
            }
            Status::Fail => match finding.check {
                CheckId::KmsKeyRecording => steps.push(recorder::plan(&ctx, finding)),
                CheckId::KeyState => steps.push(keys::plan(&ctx, finding)),
                CheckId::KmsDisableDeleteAlerting => alerting.push(finding),
                CheckId::KmsEventsLogged => trails.push(finding),
                CheckId::AccountAccess | CheckId::RecentDisableDeleteEvents => {
                    steps.push(model::Step::refused(
                        &place,
                        finding,
                        ReasonCode::UnexpectedState,
                        "this check has no planned change".into(),
                    ))
                }
            },
        }
    }
    let mut trail_steps = trail::plan(&ctx, &trails);
    match trail_steps.iter_mut().find(|s| s.changes_aws()) {
        Some(org_trail) if !trail_others.is_empty() => {
            org_trail.notes.push(format!(
                "it also turns {} WARN or ERROR rows of this check PASS: the organisation trail covers their account-regions whatever their own trails are",
                trail_others.len()
            ));
            org_trail
                .rows
                .extend(trail_others.into_iter().flat_map(|s| s.rows));
        }
        _ => steps.append(&mut trail_others),
    }
    steps.extend(trail_steps);
    let (alert_steps, mut alternatives) = alerts::plan(&ctx, &alerting);
    steps.extend(alert_steps);
    order(&mut steps);
    for (i, alternative) in alternatives.iter_mut().enumerate() {
        alternative.id = format!("a{}", i + 1);
        alternative.instead_of = steps
            .iter()
            .filter(|s| s.check_id == CheckId::KmsDisableDeleteAlerting && s.changes_aws())
            .map(|s| s.id.clone())
            .collect();
    }
    Plan {
        plan_schema_version: PLAN_SCHEMA_VERSION,
        generated_by: format!("cmkscan {}", env!("CARGO_PKG_VERSION")),
        generated_at: DateTime::from_secs(input.now_epoch)
            .fmt(Format::DateTime)
            .unwrap_or_default(),
        scan: ScanRef {
            scan_id: facts.scan_id.clone(),
            scan_time: facts.scan_time.clone(),
            facts: input.facts_source.clone(),
            facts_sha256: input.facts_sha256.clone(),
            partition: facts.partition.clone(),
            management_account_id: facts.management_account_id.clone(),
            organization_id: facts.organization_id.clone(),
            age_days,
        },
        options: OptionsUsed {
            max_age_days: options.max_age_days,
            config_bucket: options.config_bucket.as_ref().map(|b| b.to_string()),
            alerts_account: options
                .alerts_account
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_else(|| facts.management_account_id.clone()),
            alerts_region: options
                .alerts_region
                .as_ref()
                .map(|r| r.as_str().to_string()),
            alert_email: options.alert_email.as_ref().map(|e| e.to_string()),
            forwarders: options.forwarders.as_str(),
            exceptions: input.exceptions_source.clone(),
        },
        check: None,
        script_exit_codes: script::EXIT_CODES
            .iter()
            .map(|(code, meaning)| ExitCodeMeaning {
                code: *code,
                meaning,
            })
            .collect(),
        steps,
        alternatives,
        accepted,
    }
}

/// Puts the steps in plan.md order (refusals; the organisation-wide
/// steps, trail before alerting; then by OU, account, region and check),
/// numbers them, and says which must come first.
fn order(steps: &mut [model::Step]) {
    let group = |s: &model::Step| match (s.action, s.org_wide) {
        (model::Action::Refused, _) => 0,
        (_, true) => 1,
        _ => 2,
    };
    let check_rank = |s: &model::Step| {
        // Trails first: EventBridge gets "AWS API Call via CloudTrail"
        // events only where a trail logs them.
        let order = [
            CheckId::KmsEventsLogged,
            CheckId::KmsDisableDeleteAlerting,
            CheckId::KmsKeyRecording,
            CheckId::KeyState,
        ];
        order
            .iter()
            .position(|c| *c == s.check_id)
            .unwrap_or(order.len())
    };
    // Within the organisation-wide group, the central stack before the
    // StackSet that sends to it.
    let central_first = |s: &model::Step| {
        s.scripts
            .as_ref()
            .map_or(1, |p| usize::from(!p.apply.contains("/alerts-central.")))
    };
    let first_resource = |s: &model::Step| s.rows.first().map(|r| r.resource_id.clone());
    steps.sort_by(|a, b| {
        group(a).cmp(&group(b)).then_with(|| {
            if group(a) == 1 {
                (check_rank(a), central_first(a), &a.account_id, &a.region).cmp(&(
                    check_rank(b),
                    central_first(b),
                    &b.account_id,
                    &b.region,
                ))
            } else {
                (&a.ou_path, &a.account_id, &a.region, check_rank(a))
                    .cmp(&(&b.ou_path, &b.account_id, &b.region, check_rank(b)))
                    .then_with(|| first_resource(a).cmp(&first_resource(b)))
            }
        })
    });
    let mut next = 1;
    for (i, step) in steps.iter_mut().enumerate() {
        step.id = format!("s{:03}", i + 1);
        if step.changes_aws() {
            step.order = Some(next);
            next += 1;
        }
    }
    let trail_request = steps
        .iter()
        .find(|s| s.check_id == CheckId::KmsEventsLogged && s.changes_aws())
        .map(|s| s.id.clone());
    let central = steps
        .iter()
        .find(|s| {
            s.scripts
                .as_ref()
                .is_some_and(|p| p.apply.contains("/alerts-central."))
        })
        .map(|s| s.id.clone());
    for step in steps.iter_mut().filter(|s| s.changes_aws()) {
        if step.check_id != CheckId::KmsDisableDeleteAlerting {
            continue;
        }
        let is_central = Some(&step.id) == central.as_ref();
        if let (false, Some(central)) = (is_central, &central) {
            step.depends_on.push(central.clone());
        }
        if let Some(trail) = &trail_request {
            step.depends_on.push(trail.clone());
        }
    }
}

#[cfg(test)]
mod tests;
