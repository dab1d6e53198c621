//! What a plan is, as `plan.json` states it (docs/plan.schema.json): the
//! scan it was made from, the options, the `--check` result, and its
//! steps, each with what it fixes, what it does and how to undo it.

use serde::Serialize;

use super::effect::Effect;
use crate::checks::catalog::{CheckId, Status};
use crate::checks::Finding;
use crate::findings::plan_anchor;

/// `plan_schema_version` of plan.json; changes with any incompatible change
/// of docs/plan.schema.json.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// A plan, as plan.json holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub plan_schema_version: u32,
    /// `cmkscan <version>`.
    pub generated_by: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub scan: ScanRef,
    pub options: OptionsUsed,
    /// The `--check` result; `None` when it was not asked for.
    pub check: Option<CheckOutcome>,
    /// What the scripts' exit codes mean.
    pub script_exit_codes: Vec<ExitCodeMeaning>,
    /// In plan.md order: refusals first, then the organisation-wide
    /// steps, then the steps of each account by OU.
    pub steps: Vec<Step>,
    /// Another way to the same end, for the change board to weigh.
    pub alternatives: Vec<Alternative>,
    /// FAIL rows an active exception accepts: not planned.
    pub accepted: Vec<RowRef>,
}

/// The evidence a plan was made from.
#[derive(Debug, Clone, Serialize)]
pub struct ScanRef {
    pub scan_id: String,
    pub scan_time: String,
    /// Where the facts were read from (a path or an `s3://` URI).
    pub facts: String,
    /// SHA-256 of the facts file's bytes, lowercase hex.
    pub facts_sha256: String,
    pub partition: String,
    pub management_account_id: String,
    pub organization_id: String,
    /// Whole days between the scan and the plan.
    pub age_days: i64,
}

/// The options that shaped the plan.
#[derive(Debug, Clone, Serialize)]
pub struct OptionsUsed {
    pub max_age_days: u32,
    pub config_bucket: Option<String>,
    pub alerts_account: String,
    pub alerts_region: Option<String>,
    pub alert_email: Option<String>,
    pub forwarders: &'static str,
    /// The exceptions file the rows were judged with, if any.
    pub exceptions: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExitCodeMeaning {
    pub code: u8,
    pub meaning: &'static str,
}

/// What a step asks of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A change the account's administrators run, with its backout.
    Apply,
    /// A change only another team can make (the management account, or
    /// CloudTrail's delegated administrator).
    Request,
    /// A decision for an owner (a key pending deletion, a failing recorder).
    Decide,
    /// Not planned, and why.
    Refused,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Apply => "apply",
            Action::Request => "request",
            Action::Decide => "decide",
            Action::Refused => "refused",
        }
    }
}

/// Why a row was not planned, as a code machines can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The evidence lacks what an exact backout needs (written by an
    /// earlier cmkscan).
    EvidenceTooOld,
    /// The scan is older than `--max-age`.
    EvidenceExpired,
    /// The resource belongs to AWS Control Tower.
    ControlTowerManaged,
    /// Only the linked service may change the recorder.
    ServiceLinkedRecorder,
    /// The evidence could not read the account or region (an ERROR row).
    Unreadable,
    /// A WARN row: someone decides first.
    NotAFail,
    /// Creating a delivery channel needs `--config-bucket`.
    NeedsConfigBucket,
    /// The evidence has no organisation root to target a StackSet at.
    NoOuInEvidence,
    /// The evidence shows a state the planner does not change by itself.
    UnexpectedState,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::EvidenceTooOld => "evidence_too_old",
            ReasonCode::EvidenceExpired => "evidence_expired",
            ReasonCode::ControlTowerManaged => "control_tower_managed",
            ReasonCode::ServiceLinkedRecorder => "service_linked_recorder",
            ReasonCode::Unreadable => "unreadable",
            ReasonCode::NotAFail => "not_a_fail",
            ReasonCode::NeedsConfigBucket => "needs_config_bucket",
            ReasonCode::NoOuInEvidence => "no_ou_in_evidence",
            ReasonCode::UnexpectedState => "unexpected_state",
        }
    }
}

/// One report row a step is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub check_id: CheckId,
    pub status: Status,
    pub resource_id: String,
    pub detail: String,
    /// The anchor report.html links this row to in plan.md.
    pub anchor: String,
}

impl RowRef {
    pub fn of(finding: &Finding) -> RowRef {
        RowRef {
            account_id: finding.account_id.clone(),
            account_name: finding.account_name.clone(),
            region: finding.region.clone(),
            check_id: finding.check,
            status: finding.status,
            resource_id: finding.resource_id.clone(),
            detail: finding.detail.clone(),
            anchor: plan_anchor(finding),
        }
    }
}

/// A key pending deletion, for its owner to decide on.
#[derive(Debug, Clone, Serialize)]
pub struct KeyDecision {
    pub key_arn: String,
    /// What `--key-id` takes with `--region`: the ARN's last segment.
    pub key_id: String,
    /// `PendingDeletion` or `PendingReplicaDeletion`.
    pub state: String,
    /// RFC 3339, as KMS reported it.
    pub deletion_date: Option<String>,
    pub aliases: Vec<String>,
    /// The key's state once its deletion is cancelled.
    pub state_after_cancel: &'static str,
}

/// Who runs a step, where, with which permissions.
#[derive(Debug, Clone, Serialize)]
pub struct RunAs {
    pub account_id: String,
    pub principal: String,
    pub permissions: Vec<&'static str>,
}

/// A step's scripts, relative to the plan's directory.
#[derive(Debug, Clone, Serialize)]
pub struct Scripts {
    pub apply: String,
    pub backout: String,
}

/// One change (or refusal), as plan.json lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `s001`, … in plan.md order; also the anchor of its section.
    pub id: String,
    /// Run order among the steps that change something (`apply`,
    /// `request`); `None` for decisions and refusals.
    pub order: Option<u32>,
    /// Steps that must be done first.
    pub depends_on: Vec<String>,
    /// Where the step runs (for a refusal: what it is about).
    pub account_id: String,
    pub account_name: String,
    pub ou_path: String,
    pub region: String,
    pub check_id: CheckId,
    pub action: Action,
    /// Set exactly when `action` is `refused`.
    pub reason_code: Option<ReasonCode>,
    /// Why this step exists (or was refused), from the evidence.
    pub reason: String,
    /// What it changes, in words; empty for a refusal.
    pub change: String,
    /// The state the change starts from, quoted from the evidence.
    pub evidence: Vec<String>,
    /// The rows the step fixes (or, refused, is about).
    pub rows: Vec<RowRef>,
    /// What `--check` expects each row to become: PASS, or WARN for a
    /// cancelled key deletion (the key comes back Disabled).
    pub expected_status: Option<Status>,
    pub run_as: Option<RunAs>,
    pub cost: Option<String>,
    pub scripts: Option<Scripts>,
    /// CloudFormation templates the scripts deploy, relative to the plan.
    pub templates: Vec<String>,
    /// The commands of a step without scripts (a decision), and of its
    /// backout.
    pub commands: Vec<String>,
    pub backout_commands: Vec<String>,
    /// What the backout does, in words.
    pub backout: String,
    /// How to see that it worked.
    pub verify: Option<String>,
    /// Notes the change board should read.
    pub notes: Vec<String>,
    /// The key of a `kms.key_state` decision.
    pub key: Option<KeyDecision>,
    /// What `--check` simulates on the facts; not part of plan.json.
    #[serde(skip)]
    pub effects: Vec<Effect>,
    /// The files of the step (scripts), written under the plan's directory.
    #[serde(skip)]
    pub files: Vec<PlanFile>,
    /// How plan.md groups the step: organisation-wide steps first.
    #[serde(skip)]
    pub org_wide: bool,
}

impl Step {
    /// A step about `rows`, with nothing filled in but where and why.
    pub fn new(
        place: &Place,
        check_id: CheckId,
        action: Action,
        reason: String,
        rows: Vec<RowRef>,
    ) -> Step {
        Step {
            id: String::new(),
            order: None,
            depends_on: Vec::new(),
            account_id: place.account_id.clone(),
            account_name: place.account_name.clone(),
            ou_path: place.ou_path.clone(),
            region: place.region.clone(),
            check_id,
            action,
            reason_code: None,
            reason,
            change: String::new(),
            evidence: Vec::new(),
            rows,
            expected_status: None,
            run_as: None,
            cost: None,
            scripts: None,
            templates: Vec::new(),
            commands: Vec::new(),
            backout_commands: Vec::new(),
            backout: String::new(),
            verify: None,
            notes: Vec::new(),
            key: None,
            effects: Vec::new(),
            files: Vec::new(),
            org_wide: false,
        }
    }

    /// A refusal of `rows`, with its code and reason.
    pub fn refused(place: &Place, row: &Finding, code: ReasonCode, reason: String) -> Step {
        let mut step = Step::new(
            place,
            row.check,
            Action::Refused,
            reason,
            vec![RowRef::of(row)],
        );
        step.reason_code = Some(code);
        step
    }

    /// Whether the step changes something in AWS when run.
    pub fn changes_aws(&self) -> bool {
        matches!(self.action, Action::Apply | Action::Request)
    }
}

/// Where a step runs: an account (by id, name and OU path) and a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub account_id: String,
    pub account_name: String,
    pub ou_path: String,
    pub region: String,
}

impl Place {
    pub fn of(finding: &Finding) -> Place {
        Place {
            account_id: finding.account_id.clone(),
            account_name: finding.account_name.clone(),
            ou_path: finding.ou_path.clone(),
            region: finding.region.clone(),
        }
    }
}

/// A file of the plan: its path under the plan's directory, its text, and
/// whether it is a script (written executable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFile {
    pub path: String,
    pub text: String,
    pub executable: bool,
}

/// Another way to the same end.
#[derive(Debug, Clone, Serialize)]
pub struct Alternative {
    pub id: String,
    pub title: String,
    pub account_id: String,
    pub region: String,
    pub instead_of: Vec<String>,
    pub description: String,
    pub templates: Vec<String>,
    pub commands: Vec<String>,
    pub backout_commands: Vec<String>,
}

/// What `--check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    /// Every planned row became what its step expects, and no other row
    /// changed.
    pub passed: bool,
    /// Rows the plan's changes are about (apply, request and decide steps).
    pub planned_rows: usize,
    pub turned_pass: usize,
    /// Rows that became WARN as their step expects (a cancelled deletion).
    pub turned_warn: usize,
    /// Planned rows that did not become what their step expects.
    pub not_as_planned: Vec<RowChange>,
    /// Rows no step is about that changed anyway.
    pub other_rows_changed: Vec<RowChange>,
}

/// A row before and after the simulated changes.
#[derive(Debug, Clone, Serialize)]
pub struct RowChange {
    pub account_id: String,
    pub region: String,
    pub check_id: CheckId,
    pub resource_id: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
    pub expected: Option<Status>,
    pub detail_after: Option<String>,
}
