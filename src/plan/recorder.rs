//! `config.kms_key_recording`: the smallest change that makes the region's
//! recorder record `AWS::KMS::Key`, keeping its name, role, recording mode
//! and everything else, and the script that puts back exactly what the
//! evidence shows.
//!
//! AWS Config rules this follows
//! (https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigurationRecorder.html,
//! API_RecordingGroup.html, API_RecordingStrategy.html,
//! API_ExclusionByResourceTypes.html):
//! - `PutConfigurationRecorder` replaces the whole recorder, so every put
//!   carries the captured role and recording mode;
//! - one customer-managed recorder per region; an exclusion list may not
//!   be empty, so removing the only excluded type records all supported
//!   types with the global IAM types (what an exclusion of nothing records,
//!   and what AWS's Control Tower customisation sample does);
//! - `includeGlobalResourceTypes` may be true only with `allSupported`;
//! - a recorder starts only with a delivery channel, and the last channel
//!   is deleted only once the recorder is stopped;
//! - service-linked recorders (`AWSConfigurationRecorderFor…`, with a
//!   service principal) only change through their service.

use serde_json::{json, Value};

use super::effect::Effect;
use super::model::{Action, Place, PlanFile, ReasonCode, RowRef, RunAs, Step};
use super::script::{sh_quote, write_json_file, Direction, Preamble, SAME_AS};
use super::Context;
use crate::checks::catalog::{CheckId, Status};
use crate::checks::Finding;
use crate::facts::{
    ConfigFacts, DeliveryChannelFacts, RecorderFacts, RecorderSettings, RecordingModeFacts,
};

pub const KMS_KEY: &str = "AWS::KMS::Key";
const ALL: &str = "ALL_SUPPORTED_RESOURCE_TYPES";
const INCLUSION: &str = "INCLUSION_BY_RESOURCE_TYPES";
const EXCLUSION: &str = "EXCLUSION_BY_RESOURCE_TYPES";
/// The name AWS gives a recorder made from the console; ours when we make one.
const NEW_NAME: &str = "default";
/// Reserved for service-linked recorders (StartConfigurationRecorder's
/// `InvalidConfigurationRecorderNameException`).
const SERVICE_LINKED_PREFIX: &str = "AWSConfigurationRecorderFor";
/// Control Tower's recorder and channel (`aws-controltower-BaselineConfigRecorder`).
pub const CONTROL_TOWER_PREFIX: &str = "aws-controltower-";

/// The recorder and channels of a region, before or after the change.
#[derive(Debug, Clone)]
struct ConfigState {
    recorders: Vec<RecorderFacts>,
    channels: Vec<DeliveryChannelFacts>,
}

/// What the change does, call by call.
#[derive(Debug, Clone, Default)]
struct Calls {
    create_service_linked_role: bool,
    /// The recorder put by the apply (`None`: left as it is).
    put_recorder: Option<RecorderFacts>,
    put_channel: Option<DeliveryChannelFacts>,
    start: bool,
    /// The recorder did not exist: the backout deletes it.
    created_recorder: bool,
}

pub fn plan(ctx: &Context<'_>, finding: &Finding) -> Step {
    let place = Place::of(finding);
    let Some(config) = ctx
        .region(&finding.account_id, &finding.region)
        .and_then(|r| r.config.as_ref().ok())
    else {
        return Step::refused(
            &place,
            finding,
            ReasonCode::Unreadable,
            "the evidence holds no Config facts for this region".into(),
        );
    };
    match change(ctx, config, &place.account_id) {
        Ok(Planned::Apply(change)) => {
            let (before, after, calls) = *change;
            apply_step(ctx, finding, place, before, after, calls)
        }
        Ok(Planned::Decide(reason)) => decide_step(finding, place, config, reason),
        Err((code, reason)) => Step::refused(&place, finding, code, reason),
    }
}

enum Planned {
    Apply(Box<(ConfigState, ConfigState, Calls)>),
    Decide(String),
}

fn change(
    ctx: &Context<'_>,
    config: &ConfigFacts,
    account_id: &str,
) -> Result<Planned, (ReasonCode, String)> {
    let too_old = |what: &str| {
        Err((
            ReasonCode::EvidenceTooOld,
            format!("the evidence does not hold {what}, which an exact backout needs: re-scan with this version of cmkscan"),
        ))
    };
    let Some(channels) = &config.channels else {
        return too_old("the delivery channels' settings");
    };
    for recorder in &config.recorders {
        if recorder.name.starts_with(CONTROL_TOWER_PREFIX) {
            return Err((
                ReasonCode::ControlTowerManaged,
                format!(
                    "recorder {} belongs to AWS Control Tower: change what it records through Control Tower (its landing zone settings, or AWS's published customisation), not here",
                    recorder.name
                ),
            ));
        }
        let service_linked = recorder.name.starts_with(SERVICE_LINKED_PREFIX)
            || recorder
                .settings
                .as_ref()
                .is_some_and(|s| s.service_principal.is_some());
        if service_linked {
            return Err((
                ReasonCode::ServiceLinkedRecorder,
                format!(
                    "recorder {} is service-linked: only its service changes it",
                    recorder.name
                ),
            ));
        }
        if recorder.settings.is_none() {
            return too_old("the recorder's role, global-types setting and recording mode");
        }
    }
    if let Some(channel) = channels
        .iter()
        .find(|c| c.name.starts_with(CONTROL_TOWER_PREFIX))
    {
        return Err((
            ReasonCode::ControlTowerManaged,
            format!(
                "delivery channel {} belongs to AWS Control Tower: fix the region through Control Tower",
                channel.name
            ),
        ));
    }
    if config.recorders.len() > 1 {
        return Err((
            ReasonCode::UnexpectedState,
            format!(
                "{} customer-managed recorders in one region, where AWS allows one: look at the region first",
                config.recorders.len()
            ),
        ));
    }
    let before = ConfigState {
        recorders: config.recorders.clone(),
        channels: channels.clone(),
    };
    let mut calls = Calls::default();
    let mut after = before.clone();
    let bucket = ctx.options.config_bucket.as_ref();
    if after.channels.is_empty() {
        let Some(bucket) = bucket else {
            return Err((
                ReasonCode::NeedsConfigBucket,
                "the region has no delivery channel: plan again with --config-bucket naming the S3 bucket Config delivers to".into(),
            ));
        };
        let channel = DeliveryChannelFacts {
            name: NEW_NAME.into(),
            s3_bucket_name: Some(bucket.to_string()),
            ..DeliveryChannelFacts::default()
        };
        after.channels.push(channel.clone());
        calls.put_channel = Some(channel);
    }
    match after.recorders.first_mut() {
        None => {
            let recorder = RecorderFacts {
                name: NEW_NAME.into(),
                all_supported: false,
                strategy: Some(INCLUSION.into()),
                resource_types: vec![KMS_KEY.into()],
                recording: true,
                settings: Some(RecorderSettings {
                    role_arn: Some(format!(
                        "arn:{}:iam::{}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
                        ctx.facts.partition, account_id
                    )),
                    ..RecorderSettings::default()
                }),
                ..RecorderFacts::default()
            };
            calls.create_service_linked_role = true;
            calls.created_recorder = true;
            calls.put_recorder = Some(recorder.clone());
            calls.start = true;
            after.recorders.push(recorder);
        }
        Some(recorder) => {
            if recorder
                .last_status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("failure"))
            {
                return Ok(Planned::Decide(format!(
                    "recorder {} is failing ({}): its role or its bucket's policy needs fixing, which the evidence cannot tell; fix that, then re-scan",
                    recorder.name,
                    recorder.last_error.as_deref().unwrap_or("no error reported")
                )));
            }
            if recorder
                .settings
                .as_ref()
                .is_some_and(|s| s.role_arn.is_none())
            {
                return Err((
                    ReasonCode::UnexpectedState,
                    format!(
                        "recorder {} has no role, which PutConfigurationRecorder needs",
                        recorder.name
                    ),
                ));
            }
            if !crate::checks::covers_kms_keys(recorder) {
                record_kms_keys(recorder)?;
                calls.put_recorder = Some(recorder.clone());
            }
            if !recorder.recording {
                recorder.recording = true;
                calls.start = true;
            }
        }
    }
    if calls.put_recorder.is_none() && calls.put_channel.is_none() && !calls.start {
        return Err((
            ReasonCode::UnexpectedState,
            "the evidence shows nothing to change, yet the row fails: re-scan".into(),
        ));
    }
    Ok(Planned::Apply(Box::new((before, after, calls))))
}

/// The smallest change of the recording group that covers KMS keys.
fn record_kms_keys(recorder: &mut RecorderFacts) -> Result<(), (ReasonCode, String)> {
    match recorder.strategy.as_deref() {
        Some(EXCLUSION) => {
            recorder.excluded_resource_types.retain(|t| t != KMS_KEY);
            if recorder.excluded_resource_types.is_empty() {
                // An empty exclusion list is rejected: what excluding
                // nothing records is everything, global IAM types included.
                recorder.all_supported = true;
                recorder.strategy = Some(ALL.into());
                if let Some(settings) = &mut recorder.settings {
                    settings.include_global_resource_types = true;
                }
            }
            Ok(())
        }
        Some(INCLUSION) | None => {
            recorder.resource_types.push(KMS_KEY.into());
            Ok(())
        }
        Some(other) => Err((
            ReasonCode::UnexpectedState,
            format!("recorder {} uses the recording strategy {other}, which this version does not change", recorder.name),
        )),
    }
}

fn apply_step(
    ctx: &Context<'_>,
    finding: &Finding,
    place: Place,
    before: ConfigState,
    after: ConfigState,
    calls: Calls,
) -> Step {
    let mut step = Step::new(
        &place,
        CheckId::KmsKeyRecording,
        Action::Apply,
        finding.detail.clone(),
        vec![RowRef::of(finding)],
    );
    let recorder_name = after
        .recorders
        .first()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let mut change = Vec::new();
    let mut backout = Vec::new();
    if calls.created_recorder {
        change.push(format!(
            "create recorder {recorder_name} recording only {KMS_KEY}, with the service-linked role AWSServiceRoleForConfig (created if missing)"
        ));
        backout.push(format!(
            "delete recorder {recorder_name} (the service-linked role stays: other services may use it)"
        ));
    } else if let (Some(old), Some(new)) = (before.recorders.first(), &calls.put_recorder) {
        change.push(format!(
            "recorder {}: {} (was {}); its name, role and recording mode stay",
            old.name,
            group_words(new),
            group_words(old)
        ));
        backout.push(format!(
            "put recorder {} back as the evidence shows it: {}",
            old.name,
            group_words(old)
        ));
    }
    if let Some(channel) = &calls.put_channel {
        change.push(format!(
            "create delivery channel {} to S3 bucket {}",
            channel.name,
            channel.s3_bucket_name.as_deref().unwrap_or_default()
        ));
        backout.insert(0, format!("delete delivery channel {}", channel.name));
    }
    if calls.start {
        change.push(format!("start recorder {recorder_name}"));
        backout.insert(
            0,
            format!("stop recorder {recorder_name} (it was not recording)"),
        );
    }
    step.change = change.join("; ");
    step.backout = backout.join("; ");
    step.evidence = evidence(&before);
    step.expected_status = Some(Status::Pass);
    let mut apply_permissions = describe_permissions();
    let mut backout_permissions = describe_permissions();
    if calls.put_recorder.is_some() {
        apply_permissions.extend(["config:PutConfigurationRecorder", "iam:PassRole"]);
    }
    if calls.create_service_linked_role {
        apply_permissions.extend(["iam:GetRole", "iam:CreateServiceLinkedRole"]);
        backout_permissions.push("config:DeleteConfigurationRecorder");
    } else if calls.put_recorder.is_some() {
        backout_permissions.extend(["config:PutConfigurationRecorder", "iam:PassRole"]);
    }
    if calls.put_channel.is_some() {
        apply_permissions.push("config:PutDeliveryChannel");
        backout_permissions.push("config:DeleteDeliveryChannel");
    }
    if calls.start {
        apply_permissions.push("config:StartConfigurationRecorder");
        backout_permissions.push("config:StopConfigurationRecorder");
    }
    step.run_as = Some(RunAs {
        account_id: place.account_id.clone(),
        principal: format!(
            "an administrator of account {} ({})",
            place.account_id, place.account_name
        ),
        permissions: apply_permissions.clone(),
    });
    step.cost = Some(cost_words(&before, &after));
    if let Some(mode) = after
        .recorders
        .first()
        .and_then(|r| r.settings.as_ref())
        .and_then(|s| s.recording_mode.as_ref())
        .filter(|m| m.recording_frequency == "DAILY")
    {
        step.notes.push(format!(
            "the recorder records {} daily, not continuously: a key disabled or scheduled for deletion shows in Config within a day, and daily recording is billed per periodic item",
            if mode.overrides.is_empty() { "every type" } else { "most types" }
        ));
    }
    if calls.put_channel.is_some() {
        step.notes.push("the bucket's policy must allow AWS Config to write to it (https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html); otherwise the recorder fails and the next scan says so".into());
    }
    step.verify = Some(ctx.verify_command(&place));
    let paths = ctx.script_paths(&place, "config");
    let provenance = ctx.provenance();
    let apply = render(
        &paths.apply,
        Direction::Apply,
        &place,
        &provenance,
        &step.change,
        &apply_permissions,
        &before,
        &after,
        &calls,
    );
    let backout_text = render(
        &paths.backout,
        Direction::Backout,
        &place,
        &provenance,
        &step.backout,
        &backout_permissions,
        &before,
        &after,
        &calls,
    );
    step.files = vec![
        PlanFile {
            path: paths.apply.clone(),
            text: apply,
            executable: true,
        },
        PlanFile {
            path: paths.backout.clone(),
            text: backout_text,
            executable: true,
        },
    ];
    step.scripts = Some(paths);
    step.effects = vec![Effect::Config {
        account: place.account_id.clone(),
        region: place.region.clone(),
        recorders: after.recorders,
        channels: after.channels,
    }];
    step
}

fn decide_step(finding: &Finding, place: Place, config: &ConfigFacts, reason: String) -> Step {
    let mut step = Step::new(
        &place,
        CheckId::KmsKeyRecording,
        Action::Decide,
        reason,
        vec![RowRef::of(finding)],
    );
    step.change = "find why the recorder fails (its role's permissions, the delivery bucket's policy or its KMS key) and fix that".into();
    step.commands = vec![format!(
        "aws configservice describe-configuration-recorder-status --region {}",
        sh_quote(&place.region)
    )];
    if let Some(channels) = &config.channels {
        step.evidence = evidence(&ConfigState {
            recorders: config.recorders.clone(),
            channels: channels.clone(),
        });
    }
    step
}

fn step_title(place: &Place) -> String {
    format!(
        "config.kms_key_recording in account {} ({}), region {}",
        place.account_id, place.account_name, place.region
    )
}

fn describe_permissions() -> Vec<&'static str> {
    vec![
        "sts:GetCallerIdentity",
        "config:DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorderStatus",
        "config:DescribeDeliveryChannels",
    ]
}

fn group_words(recorder: &RecorderFacts) -> String {
    let global = recorder
        .settings
        .as_ref()
        .is_some_and(|s| s.include_global_resource_types);
    match effective_strategy(recorder).as_str() {
        EXCLUSION => format!(
            "all supported types except {}",
            recorder.excluded_resource_types.join(", ")
        ),
        ALL if global => "all supported types, global IAM types included".into(),
        ALL => "all supported types".into(),
        _ => format!("only {}", recorder.resource_types.join(", ")),
    }
}

fn cost_words(before: &ConfigState, after: &ConfigState) -> String {
    let pricing = "AWS Config bills each configuration item it records (https://aws.amazon.com/config/pricing/)";
    match (before.recorders.first(), after.recorders.first()) {
        (None, _) => format!("{pricing}: this recorder records KMS keys only, which change rarely; the delivery channel's S3 storage is billed by S3"),
        (Some(old), Some(new)) if old.strategy.as_deref() == Some(EXCLUSION) && new.strategy.as_deref() == Some(ALL) => {
            format!("{pricing}: the same types as before, plus KMS keys, which change rarely")
        }
        (Some(old), Some(new)) if old.resource_types != new.resource_types => {
            format!("{pricing}: one more type, KMS keys, which change rarely")
        }
        _ => format!("{pricing}: while it was stopped it recorded nothing; started, it records its types again"),
    }
}

/// The state quoted in plan.md.
fn evidence(state: &ConfigState) -> Vec<String> {
    let mut lines = Vec::new();
    if state.recorders.is_empty() {
        lines.push("no configuration recorder".into());
    }
    for r in &state.recorders {
        let settings = r.settings.clone().unwrap_or_default();
        lines.push(format!(
            "recorder {}: records {} (strategy {}); role {}; recording mode {}; {}; last status {}{}",
            &r.name,
            &group_words(r),
            r.strategy.as_deref().unwrap_or("none"),
            settings.role_arn.as_deref().unwrap_or("none"),
            &mode_words(settings.recording_mode.as_ref()),
            if r.recording { "recording" } else { "stopped" },
            r.last_status.as_deref().unwrap_or("not reported"),
            r.last_error
                .as_deref()
                .map(|e| format!(" ({})", e))
                .unwrap_or_default()
        ));
    }
    if state.channels.is_empty() {
        lines.push("no delivery channel".into());
    }
    for c in &state.channels {
        lines.push(format!(
            "delivery channel {}: S3 bucket {}, prefix {}, KMS key {}, SNS topic {}, snapshots {}",
            &c.name,
            c.s3_bucket_name.as_deref().unwrap_or("none"),
            c.s3_key_prefix.as_deref().unwrap_or("none"),
            c.s3_kms_key_arn.as_deref().unwrap_or("none"),
            c.sns_topic_arn.as_deref().unwrap_or("none"),
            c.delivery_frequency.as_deref().unwrap_or("not set"),
        ));
    }
    lines
}

fn mode_words(mode: Option<&RecordingModeFacts>) -> String {
    match mode {
        None => "not described (continuous by default)".into(),
        Some(mode) if mode.overrides.is_empty() => mode.recording_frequency.clone(),
        Some(mode) => format!(
            "{} with overrides: {}",
            mode.recording_frequency,
            mode.overrides
                .iter()
                .map(|o| format!("{} {}", o.resource_types.join(", "), o.recording_frequency))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// The strategy as AWS applies it: a group without one records all
/// supported types when `allSupported`, else its listed types.
fn effective_strategy(recorder: &RecorderFacts) -> String {
    match &recorder.strategy {
        Some(strategy) => strategy.clone(),
        None if recorder.all_supported => ALL.into(),
        None => INCLUSION.into(),
    }
}

/// The recording mode AWS applies when none is described: continuous.
fn canonical_mode(mode: Option<&RecordingModeFacts>) -> Value {
    match mode {
        None => json!({"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []}),
        Some(mode) => json!({
            "recordingFrequency": mode.recording_frequency,
            "recordingModeOverrides": mode.overrides.iter().map(|o| {
                let mut types = o.resource_types.clone();
                types.sort();
                json!({
                    "description": o.description,
                    "resourceTypes": types,
                    "recordingFrequency": o.recording_frequency,
                })
            }).collect::<Vec<_>>(),
        }),
    }
}

/// The state as the script's `normalize` reduces the three Describe
/// answers: the fields the evidence holds, lists sorted.
fn canonical(state: &ConfigState) -> Value {
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort();
        list
    };
    let mut recorders: Vec<&RecorderFacts> = state.recorders.iter().collect();
    recorders.sort_by(|a, b| a.name.cmp(&b.name));
    let mut channels: Vec<&DeliveryChannelFacts> = state.channels.iter().collect();
    channels.sort_by(|a, b| a.name.cmp(&b.name));
    json!({
        "recorders": recorders.iter().map(|r| {
            let settings = r.settings.clone().unwrap_or_default();
            json!({
                "name": r.name,
                "roleARN": settings.role_arn,
                "allSupported": r.all_supported,
                "includeGlobalResourceTypes": settings.include_global_resource_types,
                "resourceTypes": sorted(&r.resource_types),
                "excludedResourceTypes": sorted(&r.excluded_resource_types),
                "strategy": effective_strategy(r),
                "recordingMode": canonical_mode(settings.recording_mode.as_ref()),
                "servicePrincipal": settings.service_principal,
            })
        }).collect::<Vec<_>>(),
        "status": recorders.iter().map(|r| json!({"name": r.name, "recording": r.recording})).collect::<Vec<_>>(),
        "channels": channels.iter().map(|c| json!({
            "name": c.name,
            "s3BucketName": c.s3_bucket_name,
            "s3KeyPrefix": c.s3_key_prefix,
            "s3KmsKeyArn": c.s3_kms_key_arn,
            "snsTopicARN": c.sns_topic_arn,
            "deliveryFrequency": c.delivery_frequency,
        })).collect::<Vec<_>>(),
    })
}

/// `PutConfigurationRecorder`'s input for `recorder`, as `--cli-input-json`
/// takes it: the strategy's own group shape, the captured recording mode.
fn put_recorder_input(recorder: &RecorderFacts) -> Value {
    let settings = recorder.settings.clone().unwrap_or_default();
    let mut group = json!({
        "allSupported": recorder.all_supported,
        "includeGlobalResourceTypes": settings.include_global_resource_types,
    });
    match recorder.strategy.as_deref() {
        Some(EXCLUSION) => {
            group["exclusionByResourceTypes"] =
                json!({"resourceTypes": recorder.excluded_resource_types});
        }
        Some(ALL) => {}
        _ if recorder.all_supported => {}
        _ => group["resourceTypes"] = json!(recorder.resource_types),
    }
    if let Some(strategy) = &recorder.strategy {
        group["recordingStrategy"] = json!({"useOnly": strategy});
    }
    let mut input = json!({
        "name": recorder.name,
        "roleARN": settings.role_arn,
        "recordingGroup": group,
    });
    if let Some(mode) = &settings.recording_mode {
        input["recordingMode"] = json!({
            "recordingFrequency": mode.recording_frequency,
            "recordingModeOverrides": mode.overrides.iter().map(|o| {
                let mut entry = json!({
                    "resourceTypes": o.resource_types,
                    "recordingFrequency": o.recording_frequency,
                });
                if let Some(description) = &o.description {
                    entry["description"] = json!(description);
                }
                entry
            }).collect::<Vec<_>>(),
        });
    }
    json!({ "ConfigurationRecorder": input })
}

fn put_channel_input(channel: &DeliveryChannelFacts) -> Value {
    let mut input = json!({"name": channel.name});
    for (key, value) in [
        ("s3BucketName", &channel.s3_bucket_name),
        ("s3KeyPrefix", &channel.s3_key_prefix),
        ("s3KmsKeyArn", &channel.s3_kms_key_arn),
        ("snsTopicARN", &channel.sns_topic_arn),
    ] {
        if let Some(value) = value {
            input[key] = json!(value);
        }
    }
    if let Some(frequency) = &channel.delivery_frequency {
        input["configSnapshotDeliveryProperties"] = json!({"deliveryFrequency": frequency});
    }
    json!({ "DeliveryChannel": input })
}

/// Reads the three Describe answers and reduces them to `$work/live.json`
/// the way [`canonical`] writes the evidence.
const READ_STATE: &str = r#"read_state() {
  # The three reads at once; each must succeed.
  awsr configservice describe-configuration-recorders > "$work/recorders.json" &
  local recorders=$!
  awsr configservice describe-configuration-recorder-status > "$work/status.json" &
  local status=$!
  awsr configservice describe-delivery-channels > "$work/channels.json" &
  local channels=$!
  wait "$recorders"
  wait "$status"
  wait "$channels"
  python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
load = lambda name: json.load(open(f"{work}/{name}.json"))
def strategy(group):
    chosen = (group.get("recordingStrategy") or {}).get("useOnly")
    if chosen:
        return chosen
    return "ALL_SUPPORTED_RESOURCE_TYPES" if group.get("allSupported", False) else "INCLUSION_BY_RESOURCE_TYPES"
def mode(m):
    if not m:
        return {"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []}
    return {"recordingFrequency": m.get("recordingFrequency"),
            "recordingModeOverrides": [{"description": o.get("description"),
                                        "resourceTypes": sorted(o.get("resourceTypes") or []),
                                        "recordingFrequency": o.get("recordingFrequency")}
                                       for o in m.get("recordingModeOverrides") or []]}
def recorder(r):
    g = r.get("recordingGroup") or {}
    return {"name": r.get("name"), "roleARN": r.get("roleARN"),
            "allSupported": g.get("allSupported", False),
            "includeGlobalResourceTypes": g.get("includeGlobalResourceTypes", False),
            "resourceTypes": sorted(g.get("resourceTypes") or []),
            "excludedResourceTypes": sorted((g.get("exclusionByResourceTypes") or {}).get("resourceTypes") or []),
            "strategy": strategy(g), "recordingMode": mode(r.get("recordingMode")),
            "servicePrincipal": r.get("servicePrincipal")}
def channel(c):
    return {"name": c.get("name"), "s3BucketName": c.get("s3BucketName"),
            "s3KeyPrefix": c.get("s3KeyPrefix"), "s3KmsKeyArn": c.get("s3KmsKeyArn"),
            "snsTopicARN": c.get("snsTopicARN"),
            "deliveryFrequency": (c.get("configSnapshotDeliveryProperties") or {}).get("deliveryFrequency")}
by_name = lambda items: sorted(items, key=lambda item: item.get("name") or "")
live = {"recorders": by_name(recorder(r) for r in load("recorders").get("ConfigurationRecorders", [])),
        "status": by_name({"name": s.get("name"), "recording": s.get("recording", False)}
                          for s in load("status").get("ConfigurationRecordersStatus", [])),
        "channels": by_name(channel(c) for c in load("channels").get("DeliveryChannels", []))}
json.dump(live, open(f"{work}/live.json", "w"))
PY
}
"#;

#[allow(clippy::too_many_arguments)]
fn render(
    path: &str,
    direction: Direction,
    place: &Place,
    provenance: &str,
    what: &str,
    permissions: &[&'static str],
    before: &ConfigState,
    after: &ConfigState,
    calls: &Calls,
) -> String {
    let mut s = Preamble {
        path,
        direction,
        title: step_title(place),
        provenance: provenance.to_string(),
        what: vec![what.to_string()],
        account_id: &place.account_id,
        region: &place.region,
        permissions,
        options: Vec::new(),
        delegated_admin: false,
    }
    .render();
    s.push_str(READ_STATE);
    s.push_str(SAME_AS);
    s.push_str("# The state the scan found, and the planned state, as read_state writes them.\n");
    s.push_str(&write_json_file("before", &canonical(before).to_string()));
    s.push_str(&write_json_file("after", &canonical(after).to_string()));
    s.push_str("read_state\n");
    let name = after
        .recorders
        .first()
        .or(before.recorders.first())
        .map(|r| r.name.as_str())
        .unwrap_or(NEW_NAME);
    let name_q = sh_quote(name);
    match direction {
        Direction::Apply => {
            s.push_str("if same_as \"$work/after.json\" 2>/dev/null; then\n  echo \"already applied: nothing to do\"\n  exit 0\nfi\n");
            s.push_str("if ! same_as \"$work/before.json\"; then\n  echo \"STALE PLAN: Config in $ACCOUNT $REGION is not as the scan found it (above): nothing changed. Re-scan and plan again.\" >&2\n  exit 4\nfi\n");
            if calls.create_service_linked_role {
                s.push_str("# The recorder records with AWS Config's service-linked role.\nif ! awsr iam get-role --role-name AWSServiceRoleForConfig >/dev/null 2>&1; then\n  awsr iam create-service-linked-role --aws-service-name config.amazonaws.com >/dev/null\nfi\n");
            }
            if let Some(recorder) = &calls.put_recorder {
                s.push_str(&write_json_file(
                    "put-recorder",
                    &put_recorder_input(recorder).to_string(),
                ));
                s.push_str("awsr configservice put-configuration-recorder --cli-input-json \"file://$work/put-recorder.json\"\n");
            }
            if let Some(channel) = &calls.put_channel {
                s.push_str(&write_json_file(
                    "put-channel",
                    &put_channel_input(channel).to_string(),
                ));
                s.push_str("awsr configservice put-delivery-channel --cli-input-json \"file://$work/put-channel.json\"\n");
            }
            if calls.start {
                s.push_str(&format!(
                    "awsr configservice start-configuration-recorder --configuration-recorder-name {name_q}\n"
                ));
            }
            s.push_str("read_state\nif ! same_as \"$work/after.json\"; then\n  echo \"applied, but Config in $ACCOUNT $REGION does not read back as planned (above)\" >&2\n  exit 5\nfi\n");
            s.push_str("echo \"applied: Config records AWS::KMS::Key in $ACCOUNT $REGION\"\n");
        }
        Direction::Backout => {
            s.push_str("if same_as \"$work/before.json\" 2>/dev/null; then\n  echo \"already as the scan found it: nothing to do\"\n  exit 0\nfi\n");
            s.push_str("if ! same_as \"$work/after.json\"; then\n  if [ \"$force\" != true ]; then\n    echo \"Config in $ACCOUNT $REGION changed since the apply (above): nothing changed. --force puts the scan's state back anyway.\" >&2\n    exit 4\n  fi\n  echo \"--force: putting the scan's state back over the state above\" >&2\nfi\n");
            if calls.start {
                s.push_str(&format!(
                    "awsr configservice stop-configuration-recorder --configuration-recorder-name {name_q}\n"
                ));
            }
            if let Some(channel) = &calls.put_channel {
                s.push_str(&format!(
                    "awsr configservice delete-delivery-channel --delivery-channel-name {}\n",
                    sh_quote(&channel.name)
                ));
            }
            if calls.created_recorder {
                s.push_str(&format!(
                    "awsr configservice delete-configuration-recorder --configuration-recorder-name {name_q}\n"
                ));
            } else if calls.put_recorder.is_some() {
                if let Some(old) = before.recorders.first() {
                    s.push_str(&write_json_file(
                        "put-recorder",
                        &put_recorder_input(old).to_string(),
                    ));
                    s.push_str("awsr configservice put-configuration-recorder --cli-input-json \"file://$work/put-recorder.json\"\n");
                }
            }
            s.push_str("read_state\nif ! same_as \"$work/before.json\"; then\n  echo \"backed out, but Config in $ACCOUNT $REGION does not read back as the scan found it (above)\" >&2\n  exit 5\nfi\n");
            s.push_str("echo \"backed out: Config in $ACCOUNT $REGION is as the scan found it\"\n");
        }
    }
    s
}

#[cfg(test)]
mod tests;
