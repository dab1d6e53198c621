//! `cloudtrail.kms_events_logged`: does a trail that covers the region log,
//! deliver to S3 and capture KMS write management events?

use super::catalog::{CheckDef, CheckId, RowsPer, Severity, Status};
use super::{Finding, RegionContext};
use crate::facts::{
    AdvancedFieldSelector, AdvancedSelector, EventSelectors, TrailFacts, WATCHED_EVENTS,
};

pub const DEFINITION: CheckDef = CheckDef {
    id: "cloudtrail.kms_events_logged",
    title: "A logging trail captures KMS write management events in the region",
    severity: Severity::High,
    remediation: "Create or fix a multi-region (or organisation) trail: start logging, deliver to S3, and record management events with ReadWriteType All or WriteOnly without excluding kms.amazonaws.com (aws cloudtrail put-event-selectors).",
    controls: Some("CIS AWS Foundations 3.1; Security Hub CloudTrail.1"),
    rows: RowsPer::Region,
};

/// Why a trail does or does not capture the events; `Ok` when it qualifies.
pub fn qualifies(trail: &TrailFacts) -> Result<(), TrailGap> {
    let status = match &trail.status {
        Err(err) => return Err(TrailGap::Unknown(err.to_string())),
        Ok(status) => status,
    };
    if !status.is_logging {
        return Err(TrailGap::Missing("is not logging".into()));
    }
    if trail.described.s3_bucket.is_none() {
        return Err(TrailGap::Missing("has no S3 bucket".into()));
    }
    if let Some(error) = &status.s3_delivery_error {
        return Err(TrailGap::Missing(format!(
            "fails to deliver to S3: {error}"
        )));
    }
    match &trail.selectors {
        Err(err) => Err(TrailGap::Unknown(err.to_string())),
        Ok(selectors) => captures_kms_writes(selectors),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailGap {
    /// The trail demonstrably misses; the text completes "trail X …".
    Missing(String),
    /// A call needed to judge the trail failed.
    Unknown(String),
    /// The selectors use a construct cmkscan does not evaluate.
    Undecidable(String),
}

/// Whether a trail records DisableKey and ScheduleKeyDeletion as events,
/// wherever it delivers them: logging, with selectors that keep KMS write
/// management events. What EventBridge needs of a trail ("To record events
/// with one of the CloudTrail detail-type values, you must enable a
/// CloudTrail trail with logging",
/// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html);
/// no document ties EventBridge's copy to the trail's S3 delivery.
pub fn records_kms_writes(trail: &TrailFacts) -> Result<(), TrailGap> {
    let status = match &trail.status {
        Err(err) => return Err(TrailGap::Unknown(err.to_string())),
        Ok(status) => status,
    };
    if !status.is_logging {
        return Err(TrailGap::Missing("is not logging".into()));
    }
    match &trail.selectors {
        Err(err) => Err(TrailGap::Unknown(err.to_string())),
        Ok(selectors) => captures_kms_writes(selectors),
    }
}

/// Trails covering `region`: the account's own (homed there or multi-region)
/// and, for members, the management account's organisation trails while
/// trusted access for CloudTrail is enabled.
pub fn covering<'a>(ctx: &'a RegionContext<'a>) -> impl Iterator<Item = &'a TrailFacts> + 'a {
    let own = ctx.account.trails.iter();
    let org = ctx.organization_trails().iter();
    own.chain(org).filter(move |t| covers_region(t, ctx))
}

fn covers_region(trail: &TrailFacts, ctx: &RegionContext<'_>) -> bool {
    trail.described.is_multi_region || trail.described.home_region == ctx.region.region
}

/// Organisation trails that would cover this member's region but are not
/// counted, because trusted access for CloudTrail is disabled, unknown or
/// not collected: each with why (the text completes "organisation trail
/// T …"). Callers judge a trail whose trusted access is merely unknown on
/// its own merits first: one that would not count anyway needs no doubt.
pub fn withheld_organization_trails<'a>(
    ctx: &'a RegionContext<'a>,
) -> Vec<(&'a TrailFacts, TrailGap)> {
    if !ctx.organization_trails().is_empty() {
        return Vec::new();
    }
    let reason = match ctx.scan.cloudtrail_trusted_access {
        Some(Ok(true)) => return Vec::new(),
        Some(Ok(false)) => TrailGap::Missing(
            "does not log for this account: trusted access for cloudtrail.amazonaws.com is disabled in Organizations".into(),
        ),
        Some(Err(err)) => TrailGap::Unknown(format!(
            "may not log for this account: trusted access for cloudtrail.amazonaws.com: {err}"
        )),
        None => TrailGap::Undecidable(
            "may not log for this account: whether trusted access for cloudtrail.amazonaws.com is enabled in Organizations was not collected (evidence from an earlier cmkscan)".into(),
        ),
    };
    ctx.listed_organization_trails()
        .iter()
        .filter(|t| covers_region(t, ctx))
        .map(|t| (t, reason.clone()))
        .collect()
}

pub fn check(ctx: &RegionContext<'_>, out: &mut Vec<Finding>) {
    let mut gaps = Vec::new();
    let mut unknown = Vec::new();
    let mut undecidable: Vec<String> = Vec::new();
    for trail in covering(ctx) {
        match qualifies(trail) {
            Ok(()) => {
                let trail_kind = if trail.described.is_organization_trail {
                    "organisation trail"
                } else if trail.described.is_multi_region {
                    "multi-region trail"
                } else {
                    "trail"
                };
                out.push(ctx.finding(
                    CheckId::KmsEventsLogged,
                    Status::Pass,
                    &trail.described.arn,
                    format!(
                        "{trail_kind} {} (home region {}) is logging to S3 bucket {} and captures KMS write management events ({})",
                        trail.described.arn,
                        trail.described.home_region,
                        // `qualifies` required the bucket.
                        trail.described.s3_bucket.as_deref().unwrap_or("?"),
                        selector_kind(trail)
                    ),
                ));
                return;
            }
            Err(TrailGap::Missing(why)) => {
                gaps.push(format!("trail {} {why}", trail.described.arn))
            }
            Err(TrailGap::Unknown(why)) => {
                unknown.push(format!("trail {}: {why}", trail.described.arn))
            }
            Err(TrailGap::Undecidable(why)) => {
                undecidable.push(format!("trail {} {why}", trail.described.arn))
            }
        }
    }
    for (trail, withheld) in withheld_organization_trails(ctx) {
        // Unless it certainly does not log for members, a trail that would
        // not qualify anyway is judged like any other.
        let gap = match (withheld, qualifies(trail)) {
            (withheld @ TrailGap::Missing(_), _) | (withheld, Ok(())) => withheld,
            (_, Err(own)) => own,
        };
        let arn = &trail.described.arn;
        match gap {
            TrailGap::Missing(why) => gaps.push(format!("organisation trail {arn} {why}")),
            TrailGap::Unknown(why) => unknown.push(format!("organisation trail {arn} {why}")),
            TrailGap::Undecidable(why) => {
                undecidable.push(format!("organisation trail {arn} {why}"))
            }
        }
    }
    unknown.extend(lookup_errors(ctx));
    let (status, detail) = if !unknown.is_empty() {
        (Status::Error, unknown.join("; "))
    } else if !undecidable.is_empty() {
        (
            Status::Warn,
            format!("cannot decide: {}", undecidable.join("; ")),
        )
    } else if gaps.is_empty() {
        (Status::Fail, "no trail covers this region".to_string())
    } else {
        (
            Status::Fail,
            format!("no trail qualifies: {}", gaps.join("; ")),
        )
    };
    out.push(ctx.finding(CheckId::KmsEventsLogged, status, "", detail));
}

/// Which kind of event selectors made a qualifying trail capture the events.
fn selector_kind(trail: &TrailFacts) -> &'static str {
    match trail.selectors {
        Ok(EventSelectors::Default) => "default event selectors",
        Ok(EventSelectors::Classic(_)) => "basic event selectors",
        Ok(EventSelectors::Advanced(_)) => "advanced event selectors",
        // A trail whose selectors are unknown never qualifies.
        Err(_) => "event selectors unknown",
    }
}

/// Failed lookups that may hide a trail covering the region: DescribeTrails
/// here, or the management account's organisation trails for a member.
pub fn lookup_errors(ctx: &RegionContext<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(err) = &ctx.region.visible_trails {
        errors.push(format!("listing trails: {err}"));
    }
    if let Some(err) = ctx.organization_trails_error() {
        errors.push(format!(
            "organisation trails of the management account: {err}"
        ));
    }
    errors
}

/// Does this selector configuration record DisableKey and ScheduleKeyDeletion
/// (write management events from kms.amazonaws.com)? `Err` says why not.
pub fn captures_kms_writes(selectors: &EventSelectors) -> Result<(), TrailGap> {
    match selectors {
        EventSelectors::Default => Ok(()),
        EventSelectors::Classic(list) => {
            if list.is_empty() {
                return Err(TrailGap::Missing("has no event selectors".into()));
            }
            let mut reasons = Vec::new();
            for s in list {
                if !s.include_management_events {
                    reasons.push("excludes management events".to_string());
                } else if s.read_write_type == "ReadOnly" {
                    reasons.push("records read-only management events only".to_string());
                } else if s
                    .exclude_management_event_sources
                    .iter()
                    .any(|src| src == "kms.amazonaws.com")
                {
                    reasons.push("excludes kms.amazonaws.com management events".to_string());
                } else {
                    return Ok(());
                }
            }
            Err(TrailGap::Missing(dedup_join(reasons)))
        }
        EventSelectors::Advanced(list) => {
            let mut reasons = Vec::new();
            // Per watched event: kept by some selector, or maybe kept by one
            // that cannot be evaluated.
            let mut captured = [false; WATCHED_EVENTS.len()];
            let mut maybe = [false; WATCHED_EVENTS.len()];
            for selector in list {
                for (i, event_name) in WATCHED_EVENTS.iter().enumerate() {
                    match advanced_selects(selector, event_name) {
                        Ok(true) => captured[i] = true,
                        Ok(false) => {}
                        Err(why) => {
                            maybe[i] = true;
                            reasons.push(why);
                        }
                    }
                }
            }
            let certainly_missed = (0..WATCHED_EVENTS.len()).any(|i| !captured[i] && !maybe[i]);
            if captured.iter().all(|c| *c) {
                Ok(())
            } else if !certainly_missed {
                Err(TrailGap::Undecidable(dedup_join(reasons)))
            } else {
                Err(TrailGap::Missing(
                    "has advanced selectors that do not keep KMS write management events".into(),
                ))
            }
        }
    }
}

fn dedup_join(mut reasons: Vec<String>) -> String {
    reasons.sort();
    reasons.dedup();
    reasons.join(", ")
}

/// Does one advanced selector keep the management event `event_name` from
/// kms.amazonaws.com? Field selectors are ANDed, so one field that certainly
/// rejects the event decides; `Err` when the answer hangs on a field (such as
/// userIdentity.arn) whose value depends on who made the call.
fn advanced_selects(selector: &AdvancedSelector, event_name: &str) -> Result<bool, String> {
    let mut keeps_management = false;
    let mut unevaluated = Vec::new();
    for field in &selector.fields {
        let value = match field.field.as_str() {
            "eventCategory" => "Management",
            "readOnly" => "false",
            "eventSource" => "kms.amazonaws.com",
            "eventName" => event_name,
            "eventType" => "AwsApiCall",
            other => {
                unevaluated.push(other);
                continue;
            }
        };
        if !field_matches(field, value) {
            return Ok(false);
        }
        if field.field == "eventCategory" {
            keeps_management = true;
        }
    }
    // Advanced selectors without an eventCategory condition select data
    // events only when they name resources; AWS requires eventCategory.
    if !keeps_management {
        return Ok(false);
    }
    if !unevaluated.is_empty() {
        return Err(format!(
            "has an advanced selector on {}, which cmkscan does not evaluate",
            unevaluated.join(", ")
        ));
    }
    Ok(true)
}

fn field_matches(f: &AdvancedFieldSelector, value: &str) -> bool {
    (f.equals.is_empty() || f.equals.iter().any(|v| v == value))
        && !f.not_equals.iter().any(|v| v == value)
        && (f.starts_with.is_empty() || f.starts_with.iter().any(|p| value.starts_with(p.as_str())))
        && !f
            .not_starts_with
            .iter()
            .any(|p| value.starts_with(p.as_str()))
        && (f.ends_with.is_empty() || f.ends_with.iter().any(|p| value.ends_with(p.as_str())))
        && !f.not_ends_with.iter().any(|p| value.ends_with(p.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::Api;
    use crate::aws::throttle::CallError;
    use crate::checks::catalog::Status;
    use crate::facts::{ClassicSelector, TrailStatus};

    fn trail(status: TrailStatus) -> TrailFacts {
        TrailFacts {
            status: Ok(status),
            ..crate::checks::fixtures::logging_trail()
        }
    }

    fn logging() -> TrailStatus {
        TrailStatus {
            is_logging: true,
            ..Default::default()
        }
    }

    fn rows(
        trails: Vec<TrailFacts>,
        org: crate::facts::Fetched<Vec<TrailFacts>>,
    ) -> Vec<(Status, String)> {
        use crate::checks::fixtures::{account, empty_region, evaluate_region, verdicts};
        let mut member = account(empty_region());
        member.trails = trails;
        verdicts(&evaluate_region(&member, &org), CheckId::KmsEventsLogged)
    }

    const MAIN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";

    #[test]
    fn details_name_the_trail_by_arn_with_its_evidence() {
        assert_eq!(
            rows(vec![trail(logging())], Ok(vec![])),
            vec![(
                Status::Pass,
                format!("multi-region trail {MAIN} (home region us-east-1) is logging to S3 bucket trail-bucket and captures KMS write management events (default event selectors)")
            )]
        );
        let mut org_trail = trail(logging());
        org_trail.described.is_organization_trail = true;
        org_trail.described.arn = "arn:aws:cloudtrail:eu-west-1:999999999999:trail/org".into();
        org_trail.described.home_region = "eu-west-1".into();
        org_trail.selectors = Ok(EventSelectors::Classic(vec![classic(true, "All", &[])]));
        assert_eq!(
            rows(vec![trail(TrailStatus::default())], Ok(vec![org_trail])),
            vec![(
                Status::Pass,
                "organisation trail arn:aws:cloudtrail:eu-west-1:999999999999:trail/org (home region eu-west-1) is logging to S3 bucket trail-bucket and captures KMS write management events (basic event selectors)".to_string()
            )]
        );
        assert_eq!(
            rows(vec![trail(TrailStatus::default())], Ok(vec![])),
            vec![(
                Status::Fail,
                format!("no trail qualifies: trail {MAIN} is not logging")
            )]
        );
        let mut unknown = trail(logging());
        unknown.selectors = Err(CallError::new(
            Api::CloudTrailGetEventSelectors,
            "AccessDeniedException",
            "no",
        ));
        assert_eq!(
            rows(vec![unknown], Err(CallError::new(Api::CloudTrailDescribeTrails, "AccessDenied", "no"))),
            vec![(
                Status::Error,
                format!("trail {MAIN}: cloudtrail:GetEventSelectors failed: AccessDeniedException: no; organisation trails of the management account: cloudtrail:DescribeTrails failed: AccessDenied: no")
            )]
        );
        let mut undecidable = trail(logging());
        undecidable.selectors = Ok(advanced(vec![
            field("eventCategory", &["Management"], &[]),
            field("userIdentity.arn", &[], &["x"]),
        ]));
        assert_eq!(
            rows(vec![undecidable], Ok(vec![])),
            vec![(
                Status::Warn,
                format!("cannot decide: trail {MAIN} has an advanced selector on userIdentity.arn, which cmkscan does not evaluate")
            )]
        );
    }

    #[test]
    fn organisation_trails_credit_members_only_with_trusted_access() {
        use crate::checks::fixtures::{account, empty_region, evaluate_region_with, verdicts};
        let mut org = trail(logging());
        org.described.is_organization_trail = true;
        org.described.arn = "arn:aws:cloudtrail:us-east-1:999999999999:trail/org".into();
        let rows = |org: TrailFacts, access: Option<crate::facts::Fetched<bool>>| {
            let member = account(empty_region());
            verdicts(
                &evaluate_region_with(&member, &Ok(vec![org]), &access),
                CheckId::KmsEventsLogged,
            )
        };
        assert_eq!(rows(org.clone(), Some(Ok(true)))[0].0, Status::Pass);
        assert_eq!(
            rows(org.clone(), Some(Ok(false))),
            vec![(
                Status::Fail,
                "no trail qualifies: organisation trail arn:aws:cloudtrail:us-east-1:999999999999:trail/org does not log for this account: trusted access for cloudtrail.amazonaws.com is disabled in Organizations".to_string()
            )]
        );
        let denied = CallError::new(
            Api::OrganizationsListAwsServiceAccessForOrganization,
            "AccessDeniedException",
            "no",
        );
        assert_eq!(
            rows(org.clone(), Some(Err(denied.clone()))),
            vec![(
                Status::Error,
                "organisation trail arn:aws:cloudtrail:us-east-1:999999999999:trail/org may not log for this account: trusted access for cloudtrail.amazonaws.com: organizations:ListAWSServiceAccessForOrganization failed: AccessDeniedException: no".to_string()
            )]
        );
        let old = rows(org.clone(), None);
        assert_eq!(old[0].0, Status::Warn);
        assert!(
            old[0]
                .1
                .contains("was not collected (evidence from an earlier cmkscan)"),
            "{old:?}"
        );
        // A trail that would not qualify anyway is judged on its own.
        let mut stopped = org;
        stopped.status = Ok(TrailStatus::default());
        assert_eq!(
            rows(stopped, Some(Err(denied))),
            vec![(
                Status::Fail,
                "no trail qualifies: organisation trail arn:aws:cloudtrail:us-east-1:999999999999:trail/org is not logging".to_string()
            )]
        );
    }

    #[test]
    fn logging_trail_without_delivery_errors_qualifies() {
        assert_eq!(qualifies(&trail(logging())), Ok(()));
    }

    #[test]
    fn s3_delivery_error_is_a_missing_link() {
        let verdict = qualifies(&trail(TrailStatus {
            s3_delivery_error: Some("AccessDenied".into()),
            ..logging()
        }));
        assert_eq!(
            verdict,
            Err(TrailGap::Missing(
                "fails to deliver to S3: AccessDenied".into()
            ))
        );
    }

    #[test]
    fn logs_delivery_error_alone_does_not_disqualify_the_trail() {
        // The S3 delivery is what this check is about; the CloudWatch Logs
        // delivery is judged by the alerting check.
        let verdict = qualifies(&trail(TrailStatus {
            logs_delivery_error: Some("AccessDeniedException".into()),
            ..logging()
        }));
        assert_eq!(verdict, Ok(()));
    }

    #[test]
    fn not_logging_and_failed_status_call() {
        assert_eq!(
            qualifies(&trail(TrailStatus::default())),
            Err(TrailGap::Missing("is not logging".into()))
        );
        let mut unknown = trail(logging());
        unknown.status = Err(CallError::new(
            Api::CloudTrailGetTrailStatus,
            "AccessDenied",
            "denied",
        ));
        assert!(
            matches!(qualifies(&unknown), Err(TrailGap::Unknown(_))),
            "{unknown:?}"
        );
    }

    fn classic(include: bool, rw: &str, exclude: &[&str]) -> ClassicSelector {
        ClassicSelector {
            include_management_events: include,
            read_write_type: rw.into(),
            exclude_management_event_sources: exclude.iter().map(|s| s.to_string()).collect(),
            data_resources: None,
        }
    }

    fn field(name: &str, equals: &[&str], not_equals: &[&str]) -> AdvancedFieldSelector {
        AdvancedFieldSelector {
            field: name.into(),
            equals: equals.iter().map(|s| s.to_string()).collect(),
            not_equals: not_equals.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn advanced(fields: Vec<AdvancedFieldSelector>) -> EventSelectors {
        EventSelectors::Advanced(vec![AdvancedSelector { name: None, fields }])
    }

    #[test]
    fn classic_selector_table() {
        let cases: Vec<(Vec<ClassicSelector>, bool)> = vec![
            (vec![classic(true, "All", &[])], true),
            (vec![classic(true, "WriteOnly", &[])], true),
            (vec![classic(true, "ReadOnly", &[])], false),
            (vec![classic(false, "All", &[])], false),
            (vec![classic(true, "All", &["kms.amazonaws.com"])], false),
            (vec![classic(true, "All", &["rdsdata.amazonaws.com"])], true),
            (
                vec![
                    classic(true, "ReadOnly", &[]),
                    classic(true, "WriteOnly", &[]),
                ],
                true,
            ),
            (vec![], false),
        ];
        for (selectors, expected) in cases {
            let verdict = captures_kms_writes(&EventSelectors::Classic(selectors.clone()));
            assert_eq!(verdict.is_ok(), expected, "{selectors:?} -> {verdict:?}");
        }
    }

    #[test]
    fn default_selectors_capture_everything() {
        assert_eq!(captures_kms_writes(&EventSelectors::Default), Ok(()));
    }

    #[test]
    fn advanced_selector_table() {
        let cases = vec![
            (vec![field("eventCategory", &["Management"], &[])], true),
            (
                vec![
                    field("eventCategory", &["Management"], &[]),
                    field("readOnly", &["true"], &[]),
                ],
                false,
            ),
            (
                vec![
                    field("eventCategory", &["Management"], &[]),
                    field("readOnly", &["false"], &[]),
                ],
                true,
            ),
            (
                vec![
                    field("eventCategory", &["Management"], &[]),
                    field("eventSource", &[], &["kms.amazonaws.com"]),
                ],
                false,
            ),
            (
                vec![
                    field("eventCategory", &["Management"], &[]),
                    field("eventSource", &[], &["rdsdata.amazonaws.com"]),
                ],
                true,
            ),
            (
                vec![
                    field("eventCategory", &["Data"], &[]),
                    field("resources.type", &["AWS::S3::Object"], &[]),
                ],
                false,
            ),
            (
                vec![
                    field("eventCategory", &["Management"], &[]),
                    field("userIdentity.arn", &[], &["x"]),
                ],
                false,
            ),
        ];
        for (fields, expected) in cases {
            let verdict = captures_kms_writes(&advanced(fields.clone()));
            assert_eq!(verdict.is_ok(), expected, "{fields:?} -> {verdict:?}");
        }
    }

    #[test]
    fn advanced_readonly_only_names_the_reason() {
        let verdict = captures_kms_writes(&advanced(vec![
            field("eventCategory", &["Management"], &[]),
            field("readOnly", &["true"], &[]),
        ]));
        assert!(
            matches!(&verdict, Err(TrailGap::Missing(why)) if why.contains("do not keep KMS write")),
            "{verdict:?}"
        );
    }

    #[test]
    fn unevaluated_field_is_undecidable_unless_another_field_rejects() {
        let by_user = captures_kms_writes(&advanced(vec![
            field("eventCategory", &["Management"], &[]),
            field("userIdentity.arn", &[], &["arn:aws:iam::1:role/x"]),
        ]));
        assert!(
            matches!(&by_user, Err(TrailGap::Undecidable(why)) if why.contains("userIdentity.arn")),
            "{by_user:?}"
        );
        let data_only = captures_kms_writes(&advanced(vec![
            field("eventCategory", &["Data"], &[]),
            field("resources.type", &["AWS::S3::Object"], &[]),
        ]));
        assert!(
            matches!(data_only, Err(TrailGap::Missing(_))),
            "{data_only:?}"
        );
    }
}

/// Property tests over trail event selectors as they enter: deserialised
/// from JSON (a facts file) with arbitrary fields and values.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::{captures_kms_writes, TrailGap};
    use crate::facts::EventSelectors;

    fn strings() -> impl Strategy<Value = Value> {
        prop::collection::vec(
            prop_oneof![
                Just("Management".to_string()),
                Just("Data".to_string()),
                Just("kms.amazonaws.com".to_string()),
                Just("DisableKey".to_string()),
                Just("ScheduleKeyDeletion".to_string()),
                Just("false".to_string()),
                Just("true".to_string()),
                Just("".to_string()),
                "\\PC{0,10}",
            ],
            0..3,
        )
        .prop_map(|v| json!(v))
    }

    fn field_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("eventCategory".to_string()),
            Just("readOnly".to_string()),
            Just("eventSource".to_string()),
            Just("eventName".to_string()),
            Just("eventType".to_string()),
            Just("userIdentity.arn".to_string()),
            Just("resources.type".to_string()),
            "\\PC{0,12}",
        ]
    }

    fn field() -> impl Strategy<Value = Value> {
        (
            field_name(),
            strings(),
            strings(),
            strings(),
            strings(),
            strings(),
            strings(),
        )
            .prop_map(|(field, eq, ne, sw, nsw, ew, new)| {
                json!({
                    "field": field,
                    "equals": eq,
                    "not_equals": ne,
                    "starts_with": sw,
                    "not_starts_with": nsw,
                    "ends_with": ew,
                    "not_ends_with": new,
                })
            })
    }

    fn advanced() -> impl Strategy<Value = Value> {
        prop::collection::vec(
            (
                prop::option::of("\\PC{0,8}"),
                prop::collection::vec(field(), 0..5),
            )
                .prop_map(|(name, fields)| json!({"name": name, "fields": fields})),
            0..4,
        )
        .prop_map(|selectors| json!({ "Advanced": selectors }))
    }

    fn classic() -> impl Strategy<Value = Value> {
        prop::collection::vec(
            (
                any::<bool>(),
                prop_oneof![
                    Just("All".to_string()),
                    Just("ReadOnly".to_string()),
                    Just("WriteOnly".to_string()),
                    "\\PC{0,8}",
                ],
                strings(),
            )
                .prop_map(|(include, rw, exclude)| {
                    json!({
                        "include_management_events": include,
                        "read_write_type": rw,
                        "exclude_management_event_sources": exclude,
                    })
                }),
            0..4,
        )
        .prop_map(|selectors| json!({ "Classic": selectors }))
    }

    /// Selector-shaped JSON, some of it with values of the wrong type.
    fn selector_json() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => advanced(),
            2 => classic(),
            1 => Just(json!("Default")),
            1 => any::<i64>().prop_map(|n| json!({"Advanced": [{"name": n, "fields": "x"}]})),
            1 => "\\PC{0,12}".prop_map(Value::from),
        ]
    }

    fn has_management_category(selectors: &Value) -> bool {
        selectors["Advanced"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["fields"].as_array().into_iter().flatten())
            .any(|f| f["field"] == "eventCategory")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn any_selector_json_gets_an_answer_that_survives_the_evidence_file(value in selector_json()) {
            if let Ok(selectors) = serde_json::from_value::<EventSelectors>(value) {
                // Written to the evidence file and read back, the same
                // selectors get the same answer: `evaluate` reproduces it.
                let written = serde_json::to_value(&selectors).expect("selectors serialise");
                let read_back: EventSelectors =
                    serde_json::from_value(written).expect("selectors read back");
                prop_assert_eq!(captures_kms_writes(&selectors), captures_kms_writes(&read_back));
            }
        }

        /// Advanced selectors select management events only through an
        /// eventCategory condition: without one, the trail never qualifies.
        #[test]
        fn advanced_selectors_without_event_category_never_qualify(value in advanced()) {
            prop_assume!(!has_management_category(&value));
            let selectors: EventSelectors = serde_json::from_value(value).expect("advanced selectors");
            prop_assert!(matches!(
                captures_kms_writes(&selectors),
                Err(TrailGap::Missing(_))
            ));
        }
    }
}
