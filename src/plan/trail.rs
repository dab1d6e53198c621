//! `cloudtrail.kms_events_logged`: never a member trail (a second copy of
//! management events is billed,
//! https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-trail-manage-costs.html),
//! but one `request` to the management account or CloudTrail's delegated
//! administrator: create an organisation trail, or fix the one there is
//! (start it, make it multi-region, make its selectors keep KMS write
//! management events) with the captured state as the backout.
//!
//! `PutEventSelectors` replaces every selector of the trail and must be
//! called in its home region
//! (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html);
//! a trail without custom selectors logs all management events, which is
//! also what the backout of [`EventSelectors::Default`] puts back.

use serde_json::{json, Value};

use super::effect::Effect;
use super::model::{Action, Place, PlanFile, ReasonCode, RowRef, RunAs, Scripts, Step};
use super::recorder::CONTROL_TOWER_PREFIX;
use super::script::{sh_quote, write_json_file, Direction, Preamble, ScriptOption, SAME_AS};
use super::Context;
use crate::checks::catalog::{CheckId, Status};
use crate::checks::{captures_kms_writes, Finding};
use crate::facts::{
    AdvancedFieldSelector, AdvancedSelector, ClassicSelector, DescribedTrail, EventSelectors,
    TrailFacts, TrailStatus,
};

const NEW_TRAIL: &str = "cmkscan-organization-trail";
const KMS_SOURCE: &str = "kms.amazonaws.com";

pub fn plan(ctx: &Context<'_>, rows: &[&Finding]) -> Vec<Step> {
    if rows.is_empty() {
        return Vec::new();
    }
    let refuse_all = |code: ReasonCode, reason: String| -> Vec<Step> {
        rows.iter()
            .map(|row| Step::refused(&Place::of(row), row, code, reason.clone()))
            .collect()
    };
    let trails = match &ctx.facts.organization_trails {
        Ok(trails) => trails,
        Err(err) => {
            return refuse_all(
                ReasonCode::Unreadable,
                format!("the management account's organisation trails could not be read: {err}"),
            )
        }
    };
    let mut organisation: Vec<&TrailFacts> = trails
        .iter()
        .filter(|t| t.described.is_organization_trail)
        .collect();
    organisation.sort_by(|a, b| a.described.arn.cmp(&b.described.arn));
    let Some(trail) = organisation
        .iter()
        .find(|t| !t.described.name.starts_with(CONTROL_TOWER_PREFIX))
    else {
        if let Some(ct) = organisation.first() {
            return refuse_all(
                ReasonCode::ControlTowerManaged,
                format!(
                    "the organisation trail {} belongs to AWS Control Tower: fix it through Control Tower",
                    ct.described.arn
                ),
            );
        }
        return vec![create_step(ctx, rows)];
    };
    match fix(trail) {
        Ok(Fix::Change(after, parts)) => vec![fix_step(ctx, rows, trail, after, parts)],
        Ok(Fix::Decide(reason)) => vec![decide_step(ctx, rows, trail, reason)],
        Err((code, reason)) => refuse_all(code, reason),
    }
}

enum Fix {
    Change(Box<TrailFacts>, Parts),
    Decide(String),
}

/// Which calls the fix makes.
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    start_logging: bool,
    multi_region: bool,
    selectors: bool,
}

fn fix(trail: &TrailFacts) -> Result<Fix, (ReasonCode, String)> {
    let name = &trail.described.arn;
    let status = trail.status.as_ref().map_err(|err| {
        (
            ReasonCode::Unreadable,
            format!("the status of trail {name} could not be read: {err}"),
        )
    })?;
    let selectors = trail.selectors.as_ref().map_err(|err| {
        (
            ReasonCode::Unreadable,
            format!("the event selectors of trail {name} could not be read: {err}"),
        )
    })?;
    if let Some(error) = &status.s3_delivery_error {
        return Ok(Fix::Decide(format!(
            "trail {name} fails to deliver to S3 ({error}): its bucket's policy or KMS key needs fixing, which the evidence cannot tell"
        )));
    }
    let mut after = trail.clone();
    let mut parts = Parts::default();
    if !status.is_logging {
        parts.start_logging = true;
        after.status = Ok(TrailStatus {
            is_logging: true,
            ..status.clone()
        });
    }
    if !trail.described.is_multi_region {
        parts.multi_region = true;
        after.described.is_multi_region = true;
    }
    if captures_kms_writes(selectors).is_err() {
        if let EventSelectors::Classic(list) = selectors {
            if list.iter().any(|s| s.data_resources.is_none()) {
                return Err((
                    ReasonCode::EvidenceTooOld,
                    format!("the evidence does not hold the data events of trail {name}'s selectors, which putting them back needs: re-scan with this version of cmkscan"),
                ));
            }
        }
        let fixed = fixed_selectors(selectors);
        if captures_kms_writes(&fixed).is_err() {
            return Ok(Fix::Decide(format!(
                "trail {name}'s selectors do not keep KMS write management events, and removing the KMS exclusion or the read-only condition would not change that: edit them by hand"
            )));
        }
        parts.selectors = true;
        after.selectors = Ok(fixed);
    }
    Ok(Fix::Change(Box::new(after), parts))
}

/// The selectors with the smallest edit that keeps KMS write management
/// events: the KMS exclusion removed and read-only widened to all, on the
/// selectors of management events.
fn fixed_selectors(selectors: &EventSelectors) -> EventSelectors {
    match selectors {
        EventSelectors::Default => EventSelectors::Default,
        EventSelectors::Classic(list) => {
            let mut list = list.clone();
            if list.is_empty() {
                list.push(ClassicSelector {
                    include_management_events: true,
                    read_write_type: "All".into(),
                    exclude_management_event_sources: Vec::new(),
                    data_resources: Some(Vec::new()),
                });
            }
            let index = list
                .iter()
                .position(|s| s.include_management_events)
                .unwrap_or(0);
            let selector = &mut list[index];
            selector.include_management_events = true;
            if selector.read_write_type == "ReadOnly" {
                selector.read_write_type = "All".into();
            }
            selector
                .exclude_management_event_sources
                .retain(|s| s != KMS_SOURCE);
            EventSelectors::Classic(list)
        }
        EventSelectors::Advanced(list) => {
            let mut list = list.clone();
            let management = |s: &AdvancedSelector| {
                s.fields
                    .iter()
                    .any(|f| f.field == "eventCategory" && f.equals == ["Management"])
            };
            if !list.iter().any(management) {
                list.push(AdvancedSelector {
                    name: Some("Management events".into()),
                    fields: vec![AdvancedFieldSelector {
                        field: "eventCategory".into(),
                        equals: vec!["Management".into()],
                        ..AdvancedFieldSelector::default()
                    }],
                });
            }
            for selector in list.iter_mut().filter(|s| management(s)) {
                for field in selector
                    .fields
                    .iter_mut()
                    .filter(|f| f.field == "eventSource")
                {
                    field.not_equals.retain(|s| s != KMS_SOURCE);
                    field
                        .not_starts_with
                        .retain(|s| !KMS_SOURCE.starts_with(s.as_str()));
                }
                selector.fields.retain(|f| {
                    let empty = f.equals.is_empty()
                        && f.not_equals.is_empty()
                        && f.starts_with.is_empty()
                        && f.not_starts_with.is_empty()
                        && f.ends_with.is_empty()
                        && f.not_ends_with.is_empty();
                    let read_only = f.field == "readOnly" && f.equals == ["true"];
                    !empty && !read_only
                });
            }
            EventSelectors::Advanced(list)
        }
    }
}

fn management_place(ctx: &Context<'_>, region: &str) -> Place {
    ctx.place(&ctx.facts.management_account_id, region)
}

fn request_run_as(place: &Place, permissions: Vec<&'static str>) -> RunAs {
    RunAs {
        account_id: place.account_id.clone(),
        principal: format!(
            "the team owning the management account {} (or CloudTrail's delegated administrator)",
            place.account_id
        ),
        permissions,
    }
}

const COST: &str = "the organisation trail's first copy of management events is free; a second copy (another trail in the same account and region) is billed at $2.00 per 100,000 events (https://aws.amazon.com/cloudtrail/pricing/), which is why member trails are never created. S3 storage of the log files is billed by S3.";

fn create_step(ctx: &Context<'_>, rows: &[&Finding]) -> Step {
    let region = ctx.busiest_region(rows);
    let place = management_place(ctx, &region);
    let mut step = Step::new(
        &place,
        CheckId::KmsEventsLogged,
        Action::Request,
        "the organisation has no organisation trail: no trail logs KMS write management events for the failing account-regions".into(),
        rows.iter().map(|r| RowRef::of(r)).collect(),
    );
    step.org_wide = true;
    step.change = format!("create the multi-region organisation trail {NEW_TRAIL} (log file validation on) delivering to the S3 bucket the script's --s3-bucket names, and start it");
    step.backout = format!("stop and delete trail {NEW_TRAIL} (its log files stay in the bucket)");
    step.expected_status = Some(Status::Pass);
    let permissions = vec![
        "sts:GetCallerIdentity",
        "cloudtrail:GetTrail",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:CreateTrail",
        "cloudtrail:StartLogging",
        "cloudtrail:StopLogging",
        "cloudtrail:DeleteTrail",
        "organizations:DescribeOrganization",
        "organizations:ListAWSServiceAccessForOrganization",
        "iam:GetRole",
        "iam:CreateServiceLinkedRole",
    ];
    step.run_as = Some(request_run_as(&place, permissions.clone()));
    step.cost = Some(COST.into());
    step.notes.push("needs trusted access for CloudTrail in Organizations and a bucket policy admitting CloudTrail for AWSLogs/<organisation id>/ (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html)".into());
    step.verify = Some(ctx.verify_all_command(rows));
    let arn = format!(
        "arn:{}:cloudtrail:{}:{}:trail/{NEW_TRAIL}",
        ctx.facts.partition, place.region, place.account_id
    );
    step.effects.push(Effect::OrgTrail {
        trail: Box::new(TrailFacts {
            described: DescribedTrail {
                arn,
                name: NEW_TRAIL.into(),
                home_region: place.region.clone(),
                is_multi_region: true,
                is_organization_trail: true,
                s3_bucket: Some("the bucket --s3-bucket names".into()),
                log_group_arn: None,
            },
            status: Ok(TrailStatus {
                is_logging: true,
                ..TrailStatus::default()
            }),
            selectors: Ok(EventSelectors::Default),
            metric_filters: None,
        }),
    });
    let paths = ctx.script_paths(&place, "cloudtrail-org-trail");
    let title = format!(
        "cloudtrail.kms_events_logged: an organisation trail, from the management account {}",
        place.account_id
    );
    let provenance = ctx.provenance();
    let bucket = || ScriptOption {
        flag: "--s3-bucket",
        var: "s3_bucket",
        value: Some("BUCKET"),
        default: None,
        required: true,
    };
    let mut apply = Preamble {
        path: &paths.apply,
        direction: Direction::Apply,
        title: title.clone(),
        provenance: provenance.clone(),
        what: vec![step.change.clone()],
        account_id: &place.account_id,
        region: &place.region,
        permissions: &permissions,
        options: vec![bucket()],
        delegated_admin: false,
    }
    .render();
    let exists = format!(
        "TRAIL={}\ntrail_exists() {{\n  if awsr cloudtrail get-trail --name \"$TRAIL\" >/dev/null 2>\"$work/err\"; then return 0; fi\n  grep -q TrailNotFound \"$work/err\" && return 1\n  cat \"$work/err\" >&2\n  exit 1\n}}\nlogging() {{ awsr cloudtrail get-trail-status --name \"$TRAIL\" --query IsLogging --output text; }}\n",
        sh_quote(NEW_TRAIL)
    );
    apply.push_str(&exists);
    apply.push_str("if trail_exists; then\n  if [ \"$(logging)\" = True ]; then echo \"already applied: trail $TRAIL is logging\"; exit 0; fi\n  echo \"trail $TRAIL exists and is not logging: nothing changed\" >&2\n  exit 4\nfi\nawsr cloudtrail create-trail --name \"$TRAIL\" --s3-bucket-name \"$s3_bucket\" --is-organization-trail --is-multi-region-trail --enable-log-file-validation >/dev/null\nawsr cloudtrail start-logging --name \"$TRAIL\"\nif [ \"$(logging)\" != True ]; then echo \"trail $TRAIL was created but is not logging\" >&2; exit 5; fi\necho \"applied: organisation trail $TRAIL is logging to s3://$s3_bucket\"\n");
    let mut back = Preamble {
        path: &paths.backout,
        direction: Direction::Backout,
        title,
        provenance,
        what: vec![step.backout.clone()],
        account_id: &place.account_id,
        region: &place.region,
        permissions: &permissions,
        options: Vec::new(),
        delegated_admin: false,
    }
    .render();
    back.push_str(&exists);
    back.push_str("if ! trail_exists; then echo \"already backed out: no trail $TRAIL\"; exit 0; fi\nawsr cloudtrail stop-logging --name \"$TRAIL\"\nawsr cloudtrail delete-trail --name \"$TRAIL\"\nif trail_exists; then echo \"trail $TRAIL is still there\" >&2; exit 5; fi\necho \"backed out: trail $TRAIL deleted\"\n");
    step.files = scripts(&paths, apply, back);
    step.scripts = Some(paths);
    step
}

fn scripts(paths: &Scripts, apply: String, backout: String) -> Vec<PlanFile> {
    vec![
        PlanFile {
            path: paths.apply.clone(),
            text: apply,
            executable: true,
        },
        PlanFile {
            path: paths.backout.clone(),
            text: backout,
            executable: true,
        },
    ]
}

fn decide_step(ctx: &Context<'_>, rows: &[&Finding], trail: &TrailFacts, reason: String) -> Step {
    let place = management_place(ctx, &trail.described.home_region);
    let mut step = Step::new(
        &place,
        CheckId::KmsEventsLogged,
        Action::Decide,
        reason,
        rows.iter().map(|r| RowRef::of(r)).collect(),
    );
    step.org_wide = true;
    step.evidence = trail_evidence(trail);
    step.change = "the trail's owners decide the fix; plan again after the next scan".into();
    step
}

fn trail_evidence(trail: &TrailFacts) -> Vec<String> {
    let d = &trail.described;
    let mut lines = vec![format!(
        "organisation trail {} (home region {}): {}, S3 bucket {}",
        &d.arn,
        &d.home_region,
        if d.is_multi_region {
            "multi-region"
        } else {
            "single-region"
        },
        d.s3_bucket.as_deref().unwrap_or("none")
    )];
    if let Ok(status) = &trail.status {
        lines.push(format!(
            "{}{}",
            if status.is_logging {
                "logging"
            } else {
                "not logging"
            },
            status
                .s3_delivery_error
                .as_deref()
                .map(|e| format!("; S3 delivery error {}", e))
                .unwrap_or_default()
        ));
    }
    if let Ok(selectors) = &trail.selectors {
        lines.push(format!(
            "event selectors: {}",
            &selectors_input(selectors).1.to_string()
        ));
    }
    lines
}

fn fix_step(
    ctx: &Context<'_>,
    rows: &[&Finding],
    trail: &TrailFacts,
    after: Box<TrailFacts>,
    parts: Parts,
) -> Step {
    let home = &trail.described.home_region;
    let place = management_place(ctx, home);
    let arn = &trail.described.arn;
    let mut step = Step::new(
        &place,
        CheckId::KmsEventsLogged,
        Action::Request,
        format!(
            "organisation trail {arn} does not log KMS write management events for the failing account-regions"
        ),
        rows.iter().map(|r| RowRef::of(r)).collect(),
    );
    step.org_wide = true;
    let mut change = Vec::new();
    let mut backout = Vec::new();
    let mut permissions = vec![
        "sts:GetCallerIdentity",
        "cloudtrail:GetTrail",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
    ];
    if parts.selectors {
        change.push("put event selectors that keep KMS write management events (the KMS exclusion removed, read-only widened to all)".to_string());
        backout.push("put the captured event selectors back".to_string());
        permissions.push("cloudtrail:PutEventSelectors");
    }
    if parts.multi_region {
        change.push("make it multi-region".to_string());
        backout.push("make it single-region again".to_string());
        permissions.push("cloudtrail:UpdateTrail");
    }
    if parts.start_logging {
        change.push("start logging".to_string());
        backout.insert(0, "stop logging".to_string());
        permissions.extend(["cloudtrail:StartLogging", "cloudtrail:StopLogging"]);
    }
    step.change = format!("trail {arn}: {}", change.join("; "));
    step.backout = format!("trail {arn}: {}", backout.join("; "));
    step.evidence = trail_evidence(trail);
    step.expected_status = Some(Status::Pass);
    step.run_as = Some(request_run_as(&place, permissions.clone()));
    step.cost = Some(COST.into());
    step.verify = Some(ctx.verify_all_command(rows));
    let paths = ctx.script_paths(&place, "cloudtrail-org-trail");
    let title = format!(
        "cloudtrail.kms_events_logged: fix the organisation trail {arn}, from the management account {}",
        place.account_id
    );
    let provenance = ctx.provenance();
    let state = |t: &TrailFacts| {
        json!({
            "logging": t.status.as_ref().is_ok_and(|s| s.is_logging),
            "multiRegion": t.described.is_multi_region,
            "selectors": t.selectors.as_ref().map(canonical_selectors).unwrap_or(Value::Null),
        })
        .to_string()
    };
    let mut common = format!("TRAIL={}\n", sh_quote(arn));
    common.push_str(READ_TRAIL);
    common.push_str(SAME_AS);
    common.push_str(&write_json_file("before", &state(trail)));
    common.push_str(&write_json_file("after", &state(&after)));
    common.push_str("read_state\n");
    let put = |selectors: &EventSelectors| {
        let (key, list) = selectors_input(selectors);
        let input = json!({"TrailName": arn, key: list});
        format!(
            "{}awsr cloudtrail put-event-selectors --cli-input-json \"file://$work/selectors.json\" >/dev/null\n",
            write_json_file("selectors", &input.to_string())
        )
    };
    let preamble = |path: &str, direction, what: &str| {
        Preamble {
            path,
            direction,
            title: title.clone(),
            provenance: provenance.clone(),
            what: vec![what.into()],
            account_id: &place.account_id,
            region: &place.region,
            permissions: &permissions,
            options: Vec::new(),
            delegated_admin: false,
        }
        .render()
    };
    let mut apply = preamble(&paths.apply, Direction::Apply, &step.change);
    apply.push_str(&common);
    apply.push_str("if same_as \"$work/after.json\" 2>/dev/null; then echo \"already applied: nothing to do\"; exit 0; fi\nif ! same_as \"$work/before.json\"; then\n  echo \"STALE PLAN: trail $TRAIL is not as the scan found it (above): nothing changed. Re-scan and plan again.\" >&2\n  exit 4\nfi\n");
    if let (true, Ok(selectors)) = (parts.selectors, &after.selectors) {
        apply.push_str(&put(selectors));
    }
    if parts.multi_region {
        apply.push_str(
            "awsr cloudtrail update-trail --name \"$TRAIL\" --is-multi-region-trail >/dev/null\n",
        );
    }
    if parts.start_logging {
        apply.push_str("awsr cloudtrail start-logging --name \"$TRAIL\"\n");
    }
    apply.push_str("read_state\nif ! same_as \"$work/after.json\"; then echo \"applied, but trail $TRAIL does not read back as planned (above)\" >&2; exit 5; fi\necho \"applied: trail $TRAIL logs KMS write management events\"\n");
    let mut back = preamble(&paths.backout, Direction::Backout, &step.backout);
    back.push_str(&common);
    back.push_str("if same_as \"$work/before.json\" 2>/dev/null; then echo \"already as the scan found it: nothing to do\"; exit 0; fi\nif ! same_as \"$work/after.json\"; then\n  if [ \"$force\" != true ]; then\n    echo \"trail $TRAIL changed since the apply (above): nothing changed. --force puts the scan's state back anyway.\" >&2\n    exit 4\n  fi\n  echo \"--force: putting the scan's state back over the state above\" >&2\nfi\n");
    if parts.start_logging {
        back.push_str("awsr cloudtrail stop-logging --name \"$TRAIL\"\n");
    }
    if parts.multi_region {
        back.push_str("awsr cloudtrail update-trail --name \"$TRAIL\" --no-is-multi-region-trail >/dev/null\n");
    }
    if let (true, Ok(selectors)) = (parts.selectors, &trail.selectors) {
        back.push_str(&put(selectors));
    }
    back.push_str("read_state\nif ! same_as \"$work/before.json\"; then echo \"backed out, but trail $TRAIL does not read back as the scan found it (above)\" >&2; exit 5; fi\necho \"backed out: trail $TRAIL is as the scan found it\"\n");
    step.files = scripts(&paths, apply, back);
    step.scripts = Some(paths);
    step.effects.push(Effect::OrgTrail { trail: after });
    step
}

/// Reads the trail's logging, region scope and selectors into
/// `$work/live.json`, as [`canonical_selectors`] writes the evidence's.
const READ_TRAIL: &str = r#"read_state() {
  # The three reads at once; each must succeed.
  awsr cloudtrail get-trail-status --name "$TRAIL" > "$work/status.json" &
  local status=$!
  awsr cloudtrail get-trail --name "$TRAIL" > "$work/trail.json" &
  local trail=$!
  awsr cloudtrail get-event-selectors --trail-name "$TRAIL" > "$work/selectors-now.json" &
  local selectors=$!
  wait "$status"
  wait "$trail"
  wait "$selectors"
  python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
load = lambda name: json.load(open(f"{work}/{name}.json"))
selectors = load("selectors-now")
advanced = selectors.get("AdvancedEventSelectors") or []
basic = selectors.get("EventSelectors") or []
FIELDS = ("Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith")
if advanced:
    kept = {"advanced": [{"name": s.get("Name"),
                          "fields": [{"field": f.get("Field"), **{k: sorted(f.get(k) or []) for k in FIELDS}}
                                     for f in s.get("FieldSelectors") or []]}
                         for s in advanced]}
else:
    # No selectors at all is AWS's default: all management events.
    basic = basic or [{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    kept = {"basic": [{"readWriteType": s.get("ReadWriteType", "All"),
                       "includeManagementEvents": s.get("IncludeManagementEvents", True),
                       "excludeManagementEventSources": sorted(s.get("ExcludeManagementEventSources") or []),
                       "dataResources": sorted(({"type": d.get("Type"), "values": sorted(d.get("Values") or [])}
                                                for d in s.get("DataResources") or []),
                                               key=lambda d: json.dumps(d, sort_keys=True))}
                      for s in basic]}
live = {"logging": load("status").get("IsLogging", False),
        "multiRegion": (load("trail").get("Trail") or {}).get("IsMultiRegionTrail", False),
        "selectors": kept}
json.dump(live, open(f"{work}/live.json", "w"))
PY
}
"#;

/// The evidence's selectors as `read_state` reduces the live ones.
fn canonical_selectors(selectors: &EventSelectors) -> Value {
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort();
        list
    };
    let basic = |list: &[ClassicSelector]| {
        json!({"basic": list.iter().map(|s| {
            let mut data: Vec<Value> = s.data_resources.clone().unwrap_or_default().iter().map(|d| {
                json!({"type": d.resource_type, "values": sorted(&d.values)})
            }).collect();
            data.sort_by_key(|d| d.to_string());
            json!({
                "readWriteType": s.read_write_type,
                "includeManagementEvents": s.include_management_events,
                "excludeManagementEventSources": sorted(&s.exclude_management_event_sources),
                "dataResources": data,
            })
        }).collect::<Vec<_>>()})
    };
    match selectors {
        EventSelectors::Default => basic(&[ClassicSelector {
            include_management_events: true,
            read_write_type: "All".into(),
            exclude_management_event_sources: Vec::new(),
            data_resources: Some(Vec::new()),
        }]),
        EventSelectors::Classic(list) if list.is_empty() => basic(&[ClassicSelector {
            include_management_events: true,
            read_write_type: "All".into(),
            exclude_management_event_sources: Vec::new(),
            data_resources: Some(Vec::new()),
        }]),
        EventSelectors::Classic(list) => basic(list),
        EventSelectors::Advanced(list) => json!({"advanced": list.iter().map(|s| json!({
            "name": s.name,
            "fields": s.fields.iter().map(|f| json!({
                "field": f.field,
                "Equals": sorted(&f.equals),
                "NotEquals": sorted(&f.not_equals),
                "StartsWith": sorted(&f.starts_with),
                "NotStartsWith": sorted(&f.not_starts_with),
                "EndsWith": sorted(&f.ends_with),
                "NotEndsWith": sorted(&f.not_ends_with),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()}),
    }
}

/// `PutEventSelectors`' member and value for `selectors`: the default
/// (no custom selectors) as the one selector AWS describes it with.
fn selectors_input(selectors: &EventSelectors) -> (&'static str, Value) {
    match selectors {
        EventSelectors::Default => (
            "EventSelectors",
            json!([{"ReadWriteType": "All", "IncludeManagementEvents": true}]),
        ),
        EventSelectors::Classic(list) => (
            "EventSelectors",
            Value::Array(
                list.iter()
                    .map(|s| {
                        json!({
                            "ReadWriteType": s.read_write_type,
                            "IncludeManagementEvents": s.include_management_events,
                            "ExcludeManagementEventSources": s.exclude_management_event_sources,
                            "DataResources": s.data_resources.clone().unwrap_or_default().iter().map(|d| json!({
                                "Type": d.resource_type,
                                "Values": d.values,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            ),
        ),
        EventSelectors::Advanced(list) => (
            "AdvancedEventSelectors",
            Value::Array(
                list.iter()
                    .map(|s| {
                        let mut selector = json!({"FieldSelectors": s.fields.iter().map(|f| {
                            let mut field = json!({"Field": f.field});
                            for (key, values) in [
                                ("Equals", &f.equals),
                                ("NotEquals", &f.not_equals),
                                ("StartsWith", &f.starts_with),
                                ("NotStartsWith", &f.not_starts_with),
                                ("EndsWith", &f.ends_with),
                                ("NotEndsWith", &f.not_ends_with),
                            ] {
                                if !values.is_empty() {
                                    field[key] = json!(values);
                                }
                            }
                            field
                        }).collect::<Vec<_>>()});
                        if let Some(name) = &s.name {
                            selector["Name"] = json!(name);
                        }
                        selector
                    })
                    .collect(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic(rw: &str, exclude: &[&str]) -> ClassicSelector {
        ClassicSelector {
            include_management_events: true,
            read_write_type: rw.into(),
            exclude_management_event_sources: exclude.iter().map(|s| s.to_string()).collect(),
            data_resources: Some(vec![crate::facts::DataResourceFacts {
                resource_type: "AWS::S3::Object".into(),
                values: vec!["arn:aws:s3:::bucket/".into()],
            }]),
        }
    }

    #[test]
    fn selector_fixes_are_the_smallest_edit_and_keep_data_events() {
        let before = EventSelectors::Classic(vec![classic(
            "ReadOnly",
            &[KMS_SOURCE, "rdsdata.amazonaws.com"],
        )]);
        let EventSelectors::Classic(after) = fixed_selectors(&before) else {
            panic!("still basic selectors");
        };
        assert_eq!(after[0].read_write_type, "All");
        assert_eq!(
            after[0].exclude_management_event_sources,
            ["rdsdata.amazonaws.com"]
        );
        assert_eq!(after[0].data_resources, classic("All", &[]).data_resources);
        assert!(captures_kms_writes(&EventSelectors::Classic(after)).is_ok());

        let advanced = EventSelectors::Advanced(vec![AdvancedSelector {
            name: Some("mgmt".into()),
            fields: vec![
                AdvancedFieldSelector {
                    field: "eventCategory".into(),
                    equals: vec!["Management".into()],
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "eventSource".into(),
                    not_equals: vec![KMS_SOURCE.into()],
                    ..Default::default()
                },
                AdvancedFieldSelector {
                    field: "readOnly".into(),
                    equals: vec!["true".into()],
                    ..Default::default()
                },
            ],
        }]);
        let fixed = fixed_selectors(&advanced);
        assert!(captures_kms_writes(&fixed).is_ok(), "{fixed:?}");
        let EventSelectors::Advanced(list) = fixed else {
            panic!()
        };
        assert_eq!(list[0].fields.len(), 1, "{list:?}");
    }

    #[test]
    fn the_default_selectors_put_back_as_aws_describes_them() {
        let (key, value) = selectors_input(&EventSelectors::Default);
        assert_eq!(key, "EventSelectors");
        assert_eq!(value[0]["ReadWriteType"], "All");
        assert_eq!(
            canonical_selectors(&EventSelectors::Default),
            canonical_selectors(&EventSelectors::Classic(vec![ClassicSelector {
                include_management_events: true,
                read_write_type: "All".into(),
                exclude_management_event_sources: Vec::new(),
                data_resources: Some(Vec::new()),
            }]))
        );
    }
}
