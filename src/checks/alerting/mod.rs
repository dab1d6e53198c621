//! `alerting.kms_disable_delete`: does a DisableKey or ScheduleKeyDeletion in
//! the region reach a human? Either trail → log group → metric filter →
//! alarm → SNS topic → confirmed subscriber, or trail → EventBridge rule →
//! target (an SNS topic, or an event bus whose rule notifies), each link
//! judged by what AWS does with it.
//!
//! - `alarm`: whether one event changes an alarm's state to ALARM, and
//!   whether its actions then run (mute rules);
//! - `topic`: whether an SNS topic can be published to and passes the
//!   message to a subscriber (encryption key, access policy, filter
//!   policies);
//! - `eventbridge`: the rules, their targets and the buses they forward to;
//! - `policy`, `sns_filter`: the policy languages those links use.

mod alarm;
mod eventbridge;
mod mute;
mod policy;
mod sns_filter;
mod topic;

use std::collections::BTreeMap;

use super::catalog::{CheckDef, CheckId, RowsPer, Severity, Status};
use super::kms_events::{self, PatternCoverage, PublishedTo, Subject};
use super::trails::{self, TrailGap};
use super::{Finding, RegionContext};
use crate::aws::arn::Arn;
use crate::facts::{MetricFilterFacts, MetricRef, TrailFacts, TrailStatus};

pub const DEFINITION: CheckDef = CheckDef {
    id: "alerting.kms_disable_delete",
    title: "DisableKey and ScheduleKeyDeletion raise an alert in the region",
    severity: Severity::High,
    remediation: "Send the trail to CloudWatch Logs with the metric filter { ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) } and an alarm on its metric (actions enabled, missing data notBreaching or missing) notifying an SNS topic with a confirmed subscriber; or, with a logging trail, an enabled EventBridge rule on aws.kms DisableKey/ScheduleKeyDeletion targeting such a topic or the central security event bus.",
    controls: Some("CIS AWS Foundations 4.7; Security Hub CloudWatch.7"),
    rows: RowsPer::Region,
};

/// What the walk along every possible chain found.
#[derive(Default)]
struct Walk {
    /// Links that demonstrably are missing.
    gaps: Vec<String>,
    /// Links whose effect cmkscan cannot decide.
    undecidable: Vec<String>,
    /// Failed calls that leave a link unknown.
    unknown: Vec<String>,
}

impl Walk {
    fn trail_gap(&mut self, trail: &TrailFacts, gap: TrailGap) {
        let arn = &trail.described.arn;
        match gap {
            TrailGap::Missing(why) => self.gaps.push(format!("trail {arn} {why}")),
            TrailGap::Unknown(why) => self.unknown.push(format!("trail {arn}: {why}")),
            TrailGap::Undecidable(why) => self.undecidable.push(format!("trail {arn} {why}")),
        }
    }
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
    let trail_chain = trail_chain.or_else(|| {
        trails::withheld_organization_trails(ctx)
            .into_iter()
            .find_map(|(trail, withheld)| {
                covered = true;
                withheld_trail_chain(trail, withheld, subject, &mut walk)
            })
    });
    if !covered {
        walk.gaps.push("no trail covers this region".into());
    }
    walk.unknown.extend(trails::lookup_errors(ctx));
    let chain = trail_chain.or_else(|| eventbridge::rule_chain(ctx, subject, &mut walk));
    // A proven chain wins over failed calls elsewhere; otherwise a failed
    // call (ERROR) outranks a link that cannot be judged (WARN).
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

/// An organisation trail that may not log for this member (trusted access
/// disabled, unknown or not collected): what completing a chain through it
/// would need is said, never assumed. A trail that would complete no chain
/// anyway is judged like any other.
fn withheld_trail_chain(
    trail: &TrailFacts,
    withheld: TrailGap,
    subject: Subject<'_>,
    walk: &mut Walk,
) -> Option<Chain> {
    let arn = &trail.described.arn;
    let mut probe = Walk::default();
    // A trail that certainly does not log for members is not probed.
    let completes = (!matches!(withheld, TrailGap::Missing(_)))
        .then(|| trail_chain(trail, subject, &mut probe).is_some());
    match (completes, withheld) {
        (Some(false), _) => {
            walk.gaps.extend(probe.gaps);
            walk.unknown.extend(probe.unknown);
            walk.undecidable.extend(probe.undecidable);
        }
        (_, TrailGap::Missing(why)) => walk.gaps.push(format!("organisation trail {arn} {why}")),
        (_, TrailGap::Unknown(why)) => walk.unknown.push(format!("organisation trail {arn} {why}")),
        (_, TrailGap::Undecidable(why)) => walk
            .undecidable
            .push(format!("organisation trail {arn} {why}")),
    }
    None
}

fn trail_chain(trail: &TrailFacts, subject: Subject<'_>, walk: &mut Walk) -> Option<Chain> {
    if let Err(gap) = trails::qualifies(trail) {
        walk.trail_gap(trail, gap);
        return None;
    }
    let Some(filters) = &trail.metric_filters else {
        walk.gaps.push(format!(
            "trail {} does not deliver to CloudWatch Logs",
            trail.described.arn
        ));
        return None;
    };
    // Events that never reach the log group cannot reach a metric filter.
    if let Ok(TrailStatus {
        logs_delivery_error: Some(error),
        ..
    }) = &trail.status
    {
        walk.gaps.push(format!(
            "trail {} fails to deliver to CloudWatch Logs: {error}",
            trail.described.arn
        ));
        return None;
    }
    let filters = match filters {
        Err(err) => {
            walk.unknown.push(format!(
                "metric filters of trail {}: {err}",
                trail.described.arn
            ));
            return None;
        }
        Ok(filters) => filters,
    };
    if filters.is_empty() {
        walk.gaps.push(format!(
            "log group {} of trail {} has no metric filter",
            log_group(trail),
            trail.described.arn
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
    let named = format!(
        "metric filter {} (pattern {}) on log group {} of trail {}",
        filter.name,
        quoted(&filter.pattern),
        log_group(trail),
        trail.described.arn
    );
    let broader = match kms_events::filter_coverage(&filter.pattern, subject) {
        PatternCoverage::Both { broader } => broader,
        PatternCoverage::Misses(missed) => {
            walk.gaps
                .push(format!("{named} does not match {}", missed.join(" or ")));
            return None;
        }
        PatternCoverage::Undecidable(why) => {
            walk.undecidable.push(format!("{named}: {why}"));
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
    // A filter publishes to the metrics of its transformations (AWS allows
    // one); the chain holds if every metric the events land in has an alarm
    // that notifies.
    let (metric, notified) = filter.metrics.iter().find_map(|metric| {
        let published = published_to(filter, metric, subject, walk)?;
        let notified = published
            .iter()
            .map(|to| alarm::notified(filter, metric, to, alarms, subject, walk))
            .collect::<Option<Vec<alarm::Notified>>>()?;
        Some((metric, notified))
    })?;
    let trail_kind = if trail.described.is_organization_trail {
        "organisation trail"
    } else {
        "trail"
    };
    let alarms_detail = match notified.as_slice() {
        [one] if one.dimensions.is_empty() => {
            format!("metric {} → {}", metric_name(metric), one.detail)
        }
        several => format!(
            "metric {} {}",
            metric_name(metric),
            several
                .iter()
                .map(|n| format!("{} → {}", dimensions_text(&n.dimensions), n.detail))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    let mut detail = format!(
        "{trail_kind} {} → log group {} → metric filter {} (pattern {}) → {alarms_detail}",
        trail.described.arn,
        log_group(trail),
        filter.name,
        quoted(&filter.pattern),
    );
    if broader {
        detail.push_str(
            " (the filter is broader than the CIS pattern: it matches other KMS events too)",
        );
    }
    let resource = notified
        .iter()
        .map(|n| n.alarm.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Some((resource, detail))
}

/// The metrics (by dimensions) the filter publishes the watched events to.
fn published_to(
    filter: &MetricFilterFacts,
    metric: &MetricRef,
    subject: Subject<'_>,
    walk: &mut Walk,
) -> Option<Vec<PublishedTo>> {
    let Some(dimensions) = &metric.dimensions else {
        walk.undecidable.push(format!(
            "the dimensions of the metric {} of filter {} were not collected (evidence from an earlier cmkscan)",
            metric_name(metric),
            filter.name
        ));
        return None;
    };
    // "A list of system fields to emit as additional dimensions in the
    // generated metrics" (PutMetricFilter): their names and values are not
    // documented, so no alarm can be shown to match them.
    if let Some(system) = filter
        .system_field_dimensions
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        walk.undecidable.push(format!(
            "metric filter {} adds the system fields {} to its metric {} as dimensions, whose names and values cmkscan does not know",
            filter.name,
            system.join(", "),
            metric_name(metric)
        ));
        return None;
    }
    match kms_events::published_to(dimensions, subject) {
        Ok(published) => Some(published),
        Err(why) => {
            walk.undecidable.push(format!(
                "metric filter {} publishes its metric {} with dimensions {}: {why}",
                filter.name,
                metric_name(metric),
                dimensions_text(dimensions)
            ));
            None
        }
    }
}

/// `{EventName=DisableKey, Region=us-east-1}`, or `no dimensions`.
fn dimensions_text(dimensions: &BTreeMap<String, String>) -> String {
    if dimensions.is_empty() {
        return "no dimensions".into();
    }
    let pairs: Vec<String> = dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A user's pattern as a JSON string: exact, and one line even when the
/// pattern spans several (a detail is one CSV cell).
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The log group's name, as the CloudWatch console lists it in the trail's
/// home region; the whole ARN if it is not a log group ARN.
fn log_group(trail: &TrailFacts) -> &str {
    let Some(arn) = trail.described.log_group_arn.as_deref() else {
        return "(none)";
    };
    Arn::parse(arn)
        .ok()
        .and_then(|arn| arn.log_group_name())
        .unwrap_or(arn)
}

fn metric_name(metric: &MetricRef) -> String {
    format!("{}/{}", metric.namespace, metric.name)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
