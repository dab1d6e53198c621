//! The EventBridge chain: a logging trail puts the events on the region's
//! default bus, an enabled rule matches them, and a target tells a person:
//! an SNS topic that delivers (as for alarms), or an event bus whose rule
//! does so in turn.
//!
//! - "To record events with one of the CloudTrail detail-type values, you
//!   must enable a CloudTrail trail with logging"
//!   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
//! - A forwarded event is forwarded once: "If a receiver account sets up a
//!   rule that sends events received from a sender account on to a third
//!   account, these events are not sent to the third account"
//!   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html).
//!   It keeps its original `account` and `region`, so the receiving rules
//!   are judged on the events of the account and region of the row.
//! - Putting events on another account's bus needs its policy to allow the
//!   sender; "If … that account granted permission to your account through
//!   an organization instead of directly by the account ID, then you must
//!   specify a RoleArn" (PutTargets,
//!   https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html).

use super::policy::{self, Caller, Decision, Request};
use super::topic::{self, Publisher};
use super::{quoted, Chain, Walk};
use crate::aws::arn::Arn;
use crate::checks::kms_events::{self, PatternCoverage, Subject};
use crate::checks::trails::{self, TrailGap};
use crate::checks::RegionContext;
use crate::facts::{FollowedBus, RuleFacts, TargetFacts, TrailFacts};

/// Where a rule sits: the row's default bus, or a bus events were
/// forwarded to (which forwards no further).
#[derive(Clone, Copy)]
enum Hop<'a> {
    Source,
    Forwarded { bus: &'a str },
}

pub fn rule_chain(ctx: &RegionContext<'_>, subject: Subject<'_>, walk: &mut Walk) -> Option<Chain> {
    let rules = match &ctx.region.rules {
        Ok(rules) => rules,
        Err(err) => {
            walk.unknown.push(format!("EventBridge rules: {err}"));
            return None;
        }
    };
    let mut any_candidate = false;
    let mut chain = None;
    for rule in rules {
        let Some(pattern) = rule.event_pattern.as_deref() else {
            continue;
        };
        match kms_events::rule_coverage(pattern, subject) {
            PatternCoverage::Misses(_) => continue,
            PatternCoverage::Undecidable(why) => {
                walk.undecidable
                    .push(format!("EventBridge rule {}: {why}", rule.name));
                continue;
            }
            PatternCoverage::Both { broader } => {
                any_candidate = true;
                if let Some(delivery) = rule_notifies(rule, ctx, subject, Hop::Source, walk) {
                    let mut detail = format!("EventBridge rule {} matches both events", rule.name);
                    if broader {
                        detail
                            .push_str(" (the pattern is broader: it matches other KMS events too)");
                    }
                    chain = Some((rule.name.clone(), detail, delivery));
                    break;
                }
            }
        }
    }
    if !any_candidate {
        walk.gaps.push(format!(
            "no EventBridge rule matches DisableKey and ScheduleKeyDeletion ({} rules on the default event bus)",
            rules.len()
        ));
    }
    let (resource, rule, delivery) = chain?;
    let trail = feeding_trail(ctx, &rule, walk)?;
    let trail_kind = if trail.described.is_organization_trail {
        "organisation trail"
    } else {
        "trail"
    };
    Some((
        resource,
        format!("{trail_kind} {} → {rule} → {delivery}", trail.described.arn),
    ))
}

/// The trail that puts the region's KMS calls on its default bus; without
/// one, `rule` (a complete rule chain, described) receives nothing.
fn feeding_trail<'a>(
    ctx: &'a RegionContext<'a>,
    rule: &str,
    walk: &mut Walk,
) -> Option<&'a TrailFacts> {
    let mut reasons = Vec::new();
    let mut unknown = Vec::new();
    let mut undecidable = Vec::new();
    for trail in trails::covering(ctx) {
        match trails::records_kms_writes(trail) {
            Ok(()) => return Some(trail),
            Err(TrailGap::Missing(why)) => reasons.push(format!("{} {why}", trail.described.arn)),
            Err(TrailGap::Unknown(why)) => unknown.push(format!("{}: {why}", trail.described.arn)),
            Err(TrailGap::Undecidable(why)) => {
                undecidable.push(format!("{} {why}", trail.described.arn))
            }
        }
    }
    for (trail, withheld) in trails::withheld_organization_trails(ctx) {
        // Only a trail that would feed EventBridge is in doubt.
        let gap = match (withheld, trails::records_kms_writes(trail)) {
            (withheld @ TrailGap::Missing(_), _) | (withheld, Ok(())) => withheld,
            (_, Err(own)) => own,
        };
        let arn = &trail.described.arn;
        match gap {
            TrailGap::Missing(why) => reasons.push(format!("{arn} {why}")),
            TrailGap::Unknown(why) => unknown.push(format!("{arn} {why}")),
            TrailGap::Undecidable(why) => undecidable.push(format!("{arn} {why}")),
        }
    }
    let without = format!(
        "{rule}, but EventBridge receives \"AWS API Call via CloudTrail\" events only from a logging trail, and"
    );
    if !unknown.is_empty() {
        walk.unknown.push(format!(
            "{without} whether one records KMS management events here is unknown: {}",
            unknown.join("; ")
        ));
    } else if !undecidable.is_empty() {
        walk.undecidable.push(format!(
            "{without} whether one records KMS management events here cannot be decided: {}",
            undecidable.join("; ")
        ));
    } else if reasons.is_empty() {
        walk.gaps.push(format!("{without} none covers this region"));
    } else {
        walk.gaps.push(format!(
            "{without} none covering this region records KMS management events (trail {})",
            reasons.join("; trail ")
        ));
    }
    None
}

/// What an enabled rule that matches both events delivers to a person,
/// described from its first target that does (`SNS topic T (N confirmed
/// subscription(s))`, or the forwarding through a bus).
fn rule_notifies(
    rule: &RuleFacts,
    ctx: &RegionContext<'_>,
    subject: Subject<'_>,
    hop: Hop<'_>,
    walk: &mut Walk,
) -> Option<String> {
    let named = match hop {
        Hop::Source => format!("EventBridge rule {}", rule.name),
        Hop::Forwarded { bus } => format!("EventBridge rule {} on event bus {bus}", rule.name),
    };
    if !rule.state.starts_with("ENABLED") {
        walk.gaps
            .push(format!("{named} is disabled (state {})", rule.state));
        return None;
    }
    match &rule.targets {
        Some(Ok(0)) => {
            walk.gaps.push(format!("{named} has no target"));
            return None;
        }
        Some(Ok(_)) => {}
        Some(Err(err)) => {
            walk.unknown.push(format!("targets of {named}: {err}"));
            return None;
        }
        None => {
            walk.unknown
                .push(format!("targets of {named} were not collected"));
            return None;
        }
    }
    let Some(targets) = &rule.target_details else {
        walk.undecidable.push(format!(
            "the targets of {named} were counted but not collected (evidence from an earlier cmkscan)"
        ));
        return None;
    };
    targets
        .iter()
        .find_map(|target| target_notifies(target, rule, &named, ctx, subject, hop, walk))
}

fn target_notifies(
    target: &TargetFacts,
    rule: &RuleFacts,
    named: &str,
    ctx: &RegionContext<'_>,
    subject: Subject<'_>,
    hop: Hop<'_>,
    walk: &mut Walk,
) -> Option<String> {
    let unverifiable = |walk: &mut Walk| {
        walk.undecidable.push(format!(
            "{named}: delivery to a person cannot be verified: target {}",
            target.arn
        ));
        None
    };
    let Ok(arn) = Arn::parse(&target.arn) else {
        return unverifiable(walk);
    };
    let rule_account = rule
        .arn
        .as_deref()
        .and_then(|a| Arn::parse(a).ok())
        .and_then(|a| a.account())
        .unwrap_or(match hop {
            Hop::Source => subject.account,
            Hop::Forwarded { bus } => Arn::parse(bus).ok().and_then(|a| a.account()).unwrap_or(""),
        });
    match arn.service {
        "sns" => sns_target(target, rule, named, rule_account, subject, walk),
        "events" if arn.resource.starts_with("event-bus/") => match hop {
            Hop::Source => bus_target(target, &arn, named, ctx, subject, walk),
            Hop::Forwarded { .. } => {
                walk.gaps.push(format!(
                    "{named} forwards to event bus {}, but EventBridge forwards an event once, so it never arrives",
                    target.arn
                ));
                None
            }
        },
        _ => unverifiable(walk),
    }
}

fn sns_target(
    target: &TargetFacts,
    rule: &RuleFacts,
    named: &str,
    rule_account: &str,
    subject: Subject<'_>,
    walk: &mut Walk,
) -> Option<String> {
    // "For Lambda, Amazon SNS, and Amazon SQS resources, EventBridge can
    // use either an IAM execution role or a resource-based policy": with a
    // role, delivery rests on that role's permissions, which cmkscan does
    // not read.
    if let Some(role) = &target.role_arn {
        walk.undecidable.push(format!(
            "{named} delivers to SNS topic {} through the role {role}, whose permissions cmkscan does not read: delivery cannot be verified",
            target.arn
        ));
        return None;
    }
    match &target.confirmed_subscriptions {
        None => {
            walk.undecidable.push(format!(
                "{named}: the subscribers of its target SNS topic {} were not collected (evidence from an earlier cmkscan)",
                target.arn
            ));
            None
        }
        Some(Err(err)) => {
            walk.unknown
                .push(format!("subscribers of {}: {err}", target.arn));
            None
        }
        Some(Ok(0)) => {
            walk.gaps.push(format!(
                "SNS topic {}, the target of {named}, has no confirmed subscriber",
                target.arn
            ));
            None
        }
        Some(Ok(n)) => {
            let publisher = Publisher::Rule {
                arn: rule.arn.as_deref(),
                account: rule_account,
                subject,
                input: target.input.as_deref(),
            };
            topic::delivers(&target.arn, target.topic.as_ref(), &publisher, walk)
                .then(|| format!("SNS topic {} ({n} confirmed subscription(s))", target.arn))
        }
    }
}

fn bus_target(
    target: &TargetFacts,
    arn: &Arn<'_>,
    named: &str,
    ctx: &RegionContext<'_>,
    subject: Subject<'_>,
    walk: &mut Walk,
) -> Option<String> {
    let bus_account = arn.account().unwrap_or_default();
    let bus_region = arn.region().unwrap_or_default();
    let followed = match &target.bus {
        None => {
            walk.undecidable.push(format!(
                "{named} forwards to event bus {}, which was not read (evidence from an earlier cmkscan)",
                target.arn
            ));
            return None;
        }
        Some(Err(err)) => {
            walk.undecidable.push(format!(
                "{named} forwards to event bus {}, which cmkscan could not read ({err}): delivery cannot be verified",
                target.arn
            ));
            return None;
        }
        Some(Ok(followed)) => followed,
    };
    if bus_account != subject.account && !bus_admits(target, followed, named, ctx, subject, walk) {
        return None;
    }
    let rules = match &followed.rules {
        Ok(rules) => rules,
        Err(err) => {
            walk.unknown
                .push(format!("rules of event bus {}: {err}", target.arn));
            return None;
        }
    };
    let mut matched = false;
    for rule in rules {
        let Some(pattern) = rule.event_pattern.as_deref() else {
            continue;
        };
        match kms_events::rule_coverage(pattern, subject) {
            PatternCoverage::Misses(_) => {}
            PatternCoverage::Undecidable(why) => walk.undecidable.push(format!(
                "EventBridge rule {} on event bus {}: {why}",
                rule.name, target.arn
            )),
            PatternCoverage::Both { .. } => {
                matched = true;
                let hop = Hop::Forwarded { bus: &target.arn };
                if let Some(delivery) = rule_notifies(rule, ctx, subject, hop, walk) {
                    let mut crossing = Vec::new();
                    if bus_account != subject.account {
                        crossing.push(format!("account {bus_account}, cross-account"));
                    }
                    if bus_region != subject.region {
                        crossing.push(format!("region {bus_region}, cross-region"));
                    }
                    let crossing = if crossing.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", crossing.join("; "))
                    };
                    return Some(format!(
                        "event bus {}{crossing} → EventBridge rule {} (pattern {}) → {delivery}",
                        target.arn,
                        rule.name,
                        quoted(pattern)
                    ));
                }
            }
        }
    }
    if !matched {
        walk.gaps.push(format!(
            "no rule on event bus {} (where {named} forwards them) matches DisableKey and ScheduleKeyDeletion of account {} in {} ({} rules)",
            target.arn,
            subject.account,
            subject.region,
            rules.len()
        ));
    }
    None
}

/// Whether the bus policy lets the sender's account put events on it. An
/// organisation-wide grant (`aws:PrincipalOrgID`) works only through a
/// target role.
fn bus_admits(
    target: &TargetFacts,
    followed: &FollowedBus,
    named: &str,
    ctx: &RegionContext<'_>,
    subject: Subject<'_>,
    walk: &mut Walk,
) -> bool {
    let policy = match &followed.policy {
        Err(err) => {
            walk.unknown
                .push(format!("policy of event bus {}: {err}", target.arn));
            return false;
        }
        Ok(None) => {
            walk.gaps.push(format!(
                "event bus {}, where {named} forwards the events, has no policy letting account {} put events on it",
                target.arn, subject.account
            ));
            return false;
        }
        Ok(Some(policy)) => policy,
    };
    let caller = Caller::Account {
        account: subject.account,
        role: target.role_arn.as_deref(),
    };
    let request = |context: &'_ [(&'_ str, &'_ str)], absent: &'_ [&'_ str]| {
        policy::decide(
            policy,
            &Request {
                caller,
                actions: &["events:PutEvents"],
                resource: &target.arn,
                context,
                absent,
            },
        )
    };
    let account_context = [("aws:PrincipalAccount", subject.account)];
    let decision = match request(&account_context, &["aws:PrincipalOrgID"]) {
        Decision::NotAllowed(action) if !ctx.scan.organization_id.is_empty() => {
            let with_org = [
                ("aws:PrincipalAccount", subject.account),
                ("aws:PrincipalOrgID", ctx.scan.organization_id),
            ];
            match request(&with_org, &[]) {
                Decision::Allowed(statement) if target.role_arn.is_none() => {
                    walk.gaps.push(format!(
                        "event bus {} admits account {} only through the organisation (statement {statement}), and EventBridge then needs a role on the target, which {named} does not set",
                        target.arn, subject.account
                    ));
                    return false;
                }
                Decision::NotAllowed(_) => Decision::NotAllowed(action),
                other => other,
            }
        }
        other => other,
    };
    match decision {
        Decision::Allowed(_) => return true,
        Decision::Denied { statement, .. } => walk.gaps.push(format!(
            "the policy of event bus {} denies account {} events:PutEvents (statement {statement})",
            target.arn, subject.account
        )),
        Decision::NotAllowed(_) => walk.gaps.push(format!(
            "the policy of event bus {} does not let account {} put events on it",
            target.arn, subject.account
        )),
        Decision::Undecidable { statement, why } => walk.undecidable.push(format!(
            "whether the policy of event bus {} lets account {} put events depends on statement {statement}: {why}",
            target.arn, subject.account
        )),
        Decision::Unreadable(why) => walk.undecidable.push(format!(
            "the policy of event bus {} cannot be read: {why}",
            target.arn
        )),
    }
    false
}
