//! `alerting.kms_disable_delete`: does a DisableKey or ScheduleKeyDeletion in
//! the region reach a human? Either trail → log group → metric filter →
//! alarm (actions enabled) → SNS topic with a confirmed subscriber, or an
//! enabled EventBridge rule with a target.

use super::catalog::{CheckId, Status};
use super::kms_events::{self, Coverage, Subject};
use super::trails::{self, TrailGap};
use super::{Finding, RegionContext};
use crate::facts::{AlarmFacts, MetricFilterFacts, RuleFacts, TrailFacts};

/// What the walk along every possible chain found.
#[derive(Default)]
struct Walk {
    /// Links that demonstrably are missing.
    gaps: Vec<String>,
    /// Patterns the evaluators cannot decide on.
    undecidable: Vec<String>,
    /// Failed calls that leave a link unknown.
    unknown: Vec<String>,
}

/// A complete chain: (resource id, detail).
type Chain = (String, String);

pub fn check(ctx: &RegionContext<'_>, out: &mut Vec<Finding>) {
    let mut walk = Walk::default();
    let subject = Subject {
        account: &ctx.account.id,
        region: &ctx.region.region,
    };
    let mut covered = false;
    let trail_chain = trails::covering(ctx).find_map(|trail| {
        covered = true;
        trail_chain(trail, subject, &mut walk)
    });
    if !covered {
        walk.gaps.push("no trail covers this region".into());
    }
    walk.unknown.extend(trails::lookup_errors(ctx));
    let chain = trail_chain.or_else(|| rule_chain(ctx, subject, &mut walk));
    // A proven chain wins over failed calls elsewhere; otherwise a failed
    // call (ERROR) outranks a pattern that cannot be judged (WARN).
    let (status, resource, detail) = match chain {
        Some((resource, detail)) => (Status::Pass, resource, detail),
        None if !walk.unknown.is_empty() => (Status::Error, String::new(), walk.unknown.join("; ")),
        None if !walk.undecidable.is_empty() => (
            Status::Warn,
            String::new(),
            format!("cannot decide: {}", walk.undecidable.join("; ")),
        ),
        None => (Status::Fail, String::new(), walk.gaps.join("; ")),
    };
    out.push(ctx.finding(CheckId::KmsDisableDeleteAlerting, status, &resource, detail));
}

fn trail_chain(trail: &TrailFacts, subject: Subject<'_>, walk: &mut Walk) -> Option<Chain> {
    match trails::qualifies(trail) {
        Ok(()) => {}
        Err(TrailGap::Missing(why)) => {
            walk.gaps.push(format!("trail {} {why}", trail.name));
            return None;
        }
        Err(TrailGap::Unknown(why)) => {
            walk.unknown.push(format!("trail {}: {why}", trail.name));
            return None;
        }
        Err(TrailGap::Undecidable(why)) => {
            walk.undecidable.push(format!("trail {} {why}", trail.name));
            return None;
        }
    }
    let filters = match &trail.metric_filters {
        None => {
            walk.gaps.push(format!(
                "trail {} does not deliver to CloudWatch Logs",
                trail.name
            ));
            return None;
        }
        Some(Err(err)) => {
            walk.unknown
                .push(format!("metric filters of trail {}: {err}", trail.name));
            return None;
        }
        Some(Ok(filters)) => filters,
    };
    if filters.is_empty() {
        walk.gaps.push(format!(
            "log group of trail {} has no metric filter",
            trail.name
        ));
        return None;
    }
    filters
        .iter()
        .find_map(|filter| filter_chain(trail, filter, subject, walk))
}

fn filter_chain(
    trail: &TrailFacts,
    filter: &MetricFilterFacts,
    subject: Subject<'_>,
    walk: &mut Walk,
) -> Option<Chain> {
    let broader = match kms_events::filter_coverage(&filter.pattern, subject) {
        Coverage::Both { broader } => broader,
        Coverage::Misses(missed) => {
            walk.gaps.push(format!(
                "metric filter {} on the log group of trail {} does not match {}",
                filter.name,
                trail.name,
                missed.join(" or ")
            ));
            return None;
        }
        Coverage::Undecidable(why) => {
            walk.undecidable
                .push(format!("metric filter {}: {why}", filter.name));
            return None;
        }
    };
    let alarms = match &filter.alarms {
        Ok(alarms) => alarms,
        Err(err) => {
            walk.unknown
                .push(format!("alarms of metric filter {}: {err}", filter.name));
            return None;
        }
    };
    if alarms.is_empty() {
        walk.gaps
            .push(format!("no alarm on the metric of filter {}", filter.name));
        return None;
    }
    let alarm = alarms.iter().find(|alarm| alarm_notifies(alarm, walk))?;
    let scope = if trail.is_organization_trail {
        format!("organisation trail {}", trail.name)
    } else {
        format!("trail {}", trail.name)
    };
    let mut detail = format!(
        "{scope} → metric filter {} → alarm {} → SNS topic with a confirmed subscriber",
        filter.name, alarm.name
    );
    if broader {
        detail.push_str(
            " (the filter is broader than the CIS pattern: it matches other KMS events too)",
        );
    }
    Some((alarm.name.clone(), detail))
}

fn alarm_notifies(alarm: &AlarmFacts, walk: &mut Walk) -> bool {
    if !alarm.actions_enabled {
        walk.gaps
            .push(format!("alarm {} has its actions disabled", alarm.name));
        return false;
    }
    let mut topics = 0;
    for action in &alarm.actions {
        match &action.confirmed_subscriptions {
            None => {}
            Some(Ok(0)) => topics += 1,
            Some(Ok(_)) => return true,
            Some(Err(err)) => {
                walk.unknown
                    .push(format!("subscribers of {}: {err}", action.arn));
                topics += 1;
            }
        }
    }
    if topics == 0 {
        walk.gaps
            .push(format!("alarm {} has no SNS topic action", alarm.name));
    } else {
        walk.gaps.push(format!(
            "SNS topics of alarm {} have no confirmed subscriber",
            alarm.name
        ));
    }
    false
}

fn rule_chain(ctx: &RegionContext<'_>, subject: Subject<'_>, walk: &mut Walk) -> Option<Chain> {
    let rules = match &ctx.region.rules {
        Ok(rules) => rules,
        Err(err) => {
            walk.unknown.push(format!("EventBridge rules: {err}"));
            return None;
        }
    };
    let mut any_candidate = false;
    for rule in rules {
        let Some(pattern) = rule.event_pattern.as_deref() else {
            continue;
        };
        match kms_events::rule_coverage(pattern, subject) {
            Coverage::Misses(_) => continue,
            Coverage::Undecidable(why) => {
                walk.undecidable
                    .push(format!("EventBridge rule {}: {why}", rule.name));
                continue;
            }
            Coverage::Both { broader } => {
                any_candidate = true;
                if let Some(chain) = rule_notifies(rule, broader, walk) {
                    return Some(chain);
                }
            }
        }
    }
    if !any_candidate {
        walk.gaps
            .push("no EventBridge rule matches DisableKey and ScheduleKeyDeletion".into());
    }
    None
}

fn rule_notifies(rule: &RuleFacts, broader: bool, walk: &mut Walk) -> Option<Chain> {
    if !rule.state.starts_with("ENABLED") {
        walk.gaps
            .push(format!("EventBridge rule {} is disabled", rule.name));
        return None;
    }
    match &rule.targets {
        Some(Ok(0)) => {
            walk.gaps
                .push(format!("EventBridge rule {} has no target", rule.name));
            None
        }
        Some(Ok(n)) => {
            let mut detail = format!(
                "EventBridge rule {} matches both events and has {n} target(s)",
                rule.name
            );
            if broader {
                detail.push_str(" (the pattern is broader: it matches other KMS events too)");
            }
            Some((rule.name.clone(), detail))
        }
        Some(Err(err)) => {
            walk.unknown
                .push(format!("targets of EventBridge rule {}: {err}", rule.name));
            None
        }
        None => {
            walk.unknown.push(format!(
                "targets of EventBridge rule {} were not collected",
                rule.name
            ));
            None
        }
    }
}
