//! `alerting.kms_disable_delete`: does a DisableKey or ScheduleKeyDeletion in
//! the region reach a human? Either trail → log group → metric filter →
//! alarm (actions enabled) → SNS topic with a confirmed subscriber, or an
//! enabled EventBridge rule with a target.

use super::catalog::{CheckDef, CheckId, RowsPer, Severity, Status};
use super::kms_events::{self, PatternCoverage, Subject};
use super::trails::{self, TrailGap};
use super::{Finding, RegionContext};
use crate::aws::arn::Arn;
use crate::facts::{AlarmFacts, MetricFilterFacts, MetricRef, RuleFacts, TrailFacts, TrailStatus};

pub const DEFINITION: CheckDef = CheckDef {
    id: "alerting.kms_disable_delete",
    title: "DisableKey and ScheduleKeyDeletion raise an alert in the region",
    severity: Severity::High,
    remediation: "Send the trail to CloudWatch Logs, add the metric filter { ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }, an alarm on its metric with actions enabled and an SNS topic with a confirmed subscriber; or an enabled EventBridge rule on aws.kms DisableKey/ScheduleKeyDeletion with a target.",
    controls: Some("CIS AWS Foundations 4.7; Security Hub CloudWatch.7"),
    rows: RowsPer::Region,
};

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
            walk.gaps
                .push(format!("trail {} {why}", trail.described.arn));
            return None;
        }
        Err(TrailGap::Unknown(why)) => {
            walk.unknown
                .push(format!("trail {}: {why}", trail.described.arn));
            return None;
        }
        Err(TrailGap::Undecidable(why)) => {
            walk.undecidable
                .push(format!("trail {} {why}", trail.described.arn));
            return None;
        }
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
    if alarms.is_empty() {
        let metrics: Vec<String> = filter.metrics.iter().map(metric_name).collect();
        walk.gaps.push(format!(
            "no alarm on the metric {} of filter {}",
            list_or_none(&metrics),
            filter.name
        ));
        return None;
    }
    let (alarm, (topic, subscriptions)) = alarms
        .iter()
        .find_map(|alarm| alarm_notifies(alarm, walk).map(|topic| (alarm, topic)))?;
    let trail_kind = if trail.described.is_organization_trail {
        "organisation trail"
    } else {
        "trail"
    };
    let mut detail = format!(
        "{trail_kind} {} → log group {} → metric filter {} (pattern {}) → metric {} → alarm {} → SNS topic {topic} ({subscriptions} confirmed subscription(s))",
        trail.described.arn,
        log_group(trail),
        filter.name,
        quoted(&filter.pattern),
        metric_name(&alarm.metric),
        alarm.name
    );
    if broader {
        detail.push_str(
            " (the filter is broader than the CIS pattern: it matches other KMS events too)",
        );
    }
    Some((alarm.name.clone(), detail))
}

/// The alarm's first SNS topic with confirmed subscriptions, and their
/// count, when one matching event makes the alarm notify someone.
fn alarm_notifies<'a>(alarm: &'a AlarmFacts, walk: &mut Walk) -> Option<(&'a str, u32)> {
    if !alarm.actions_enabled {
        walk.gaps
            .push(format!("alarm {} has its actions disabled", alarm.name));
        return None;
    }
    match fires_on_one_event(alarm) {
        Fires::Yes => {}
        Fires::No(why) => {
            walk.gaps.push(format!("alarm {} {why}", alarm.name));
            return None;
        }
        Fires::Undecidable(why) => {
            walk.undecidable.push(format!("alarm {} {why}", alarm.name));
            return None;
        }
    }
    let mut topics = Vec::new();
    for action in &alarm.actions {
        match &action.confirmed_subscriptions {
            None => {}
            Some(Ok(0)) => topics.push(action.arn.clone()),
            Some(Ok(n)) => return Some((&action.arn, *n)),
            Some(Err(err)) => {
                walk.unknown
                    .push(format!("subscribers of {}: {err}", action.arn));
                topics.push(action.arn.clone());
            }
        }
    }
    if topics.is_empty() {
        let actions: Vec<String> = alarm.actions.iter().map(|a| a.arn.clone()).collect();
        walk.gaps.push(format!(
            "alarm {} has no SNS topic action (actions: {})",
            alarm.name,
            list_or_none(&actions)
        ));
    } else {
        walk.gaps.push(format!(
            "SNS topics of alarm {} have no confirmed subscriber: {}",
            alarm.name,
            topics.join(", ")
        ));
    }
    None
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

/// Does one matching log event put the alarm into ALARM? The texts complete
/// "alarm A …".
#[derive(Debug, Clone, PartialEq)]
enum Fires {
    Yes,
    /// It certainly does not.
    No(String),
    /// It depends on something cmkscan does not evaluate.
    Undecidable(String),
}

/// One matching event in one period gives the filter's metric one datapoint
/// of `metricValue`; the alarm's statistic over that period is that value
/// (`SampleCount`: 1). When the filter also publishes a `defaultValue` for
/// non-matching log events, the same period may hold those too, so
/// `Average` and `Minimum` are only known to be at least the smaller of the
/// two. Certain misses are reported before undecidable parts.
fn fires_on_one_event(alarm: &AlarmFacts) -> Fires {
    if let Some(periods) = alarm.evaluation_periods {
        let needed = alarm.datapoints_to_alarm.unwrap_or(periods);
        if needed > 1 {
            return Fires::No(format!(
                "needs {needed} breaching periods; one event breaches one"
            ));
        }
    }
    let inclusive = match alarm.comparison_operator.as_deref() {
        Some("GreaterThanOrEqualToThreshold") => true,
        Some("GreaterThanThreshold") => false,
        Some(op @ ("LessThanThreshold" | "LessThanOrEqualToThreshold")) => {
            return Fires::No(format!(
                "is about low values ({op}): an event does not make it fire"
            ));
        }
        Some(op) => {
            return Fires::Undecidable(format!(
                "uses the comparison {op} (anomaly detection), which cmkscan does not evaluate"
            ));
        }
        None => return Fires::Undecidable("has no comparison operator".into()),
    };
    if alarm.evaluation_periods.is_none() {
        return Fires::Undecidable("does not say how many periods it evaluates".into());
    }
    if let Some(extended) = &alarm.extended_statistic {
        return Fires::Undecidable(format!(
            "uses the extended statistic {extended}, which cmkscan does not evaluate"
        ));
    }
    let Some(statistic) = alarm.statistic.as_deref() else {
        return Fires::Undecidable("has no statistic (metric math?)".into());
    };
    let metric = &alarm.metric;
    let Some(v) = metric
        .value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
    else {
        return Fires::Undecidable(format!(
            "is on metric {}, whose value per event is {:?}, not a fixed number",
            metric.name, metric.value
        ));
    };
    let (value, with_default) = match (statistic, metric.default_value) {
        ("SampleCount", _) => (1.0, false),
        ("Maximum", _) | ("Sum" | "Average" | "Minimum", None) => (v, false),
        ("Sum", Some(d)) if d >= 0.0 => (v, false),
        ("Sum", Some(d)) => {
            return Fires::Undecidable(format!(
                "sums metric {}, whose default value {d} for other log events may offset the event",
                metric.name
            ));
        }
        ("Average" | "Minimum", Some(d)) => (v.min(d), d < v),
        (other, _) => {
            return Fires::Undecidable(format!(
                "uses the statistic {other}, which cmkscan does not evaluate"
            ));
        }
    };
    let Some(threshold) = alarm.threshold else {
        return Fires::Undecidable("has no static threshold".into());
    };
    let breaches = if inclusive {
        value >= threshold
    } else {
        value > threshold
    };
    if breaches {
        return Fires::Yes;
    }
    let compared = if inclusive {
        "greater than or equal to"
    } else {
        "greater than"
    };
    let value = if with_default {
        format!(
            "can be as low as {value} (other log events in the period publish the filter's default value {value})"
        )
    } else {
        format!("of {value}")
    };
    Fires::No(format!(
        "does not fire on one event: its {statistic} {value} is not {compared} the threshold {threshold}"
    ))
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
            PatternCoverage::Misses(_) => continue,
            PatternCoverage::Undecidable(why) => {
                walk.undecidable
                    .push(format!("EventBridge rule {}: {why}", rule.name));
                continue;
            }
            PatternCoverage::Both { broader } => {
                any_candidate = true;
                if let Some(chain) = rule_notifies(rule, broader, walk) {
                    return Some(chain);
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
    None
}

fn rule_notifies(rule: &RuleFacts, broader: bool, walk: &mut Walk) -> Option<Chain> {
    if !rule.state.starts_with("ENABLED") {
        walk.gaps.push(format!(
            "EventBridge rule {} is disabled (state {})",
            rule.name, rule.state
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::Api;
    use crate::aws::throttle::CallError;
    use crate::facts::{AlarmActionFacts, DescribedTrail};

    const CIS: &str = "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }";
    const SUBJECT: Subject<'static> = Subject {
        account: "111122223333",
        region: "us-east-1",
    };

    /// The seeded CIS alarm: Sum ≥ 1 over one period, notifying a topic with
    /// a confirmed subscriber, on a metric that counts 1 per event.
    fn alarm() -> AlarmFacts {
        AlarmFacts {
            name: "kms-alarm".into(),
            actions_enabled: true,
            metric: MetricRef {
                name: "KmsMetric".into(),
                namespace: "CISBenchmark".into(),
                value: "1".into(),
                default_value: None,
            },
            actions: vec![AlarmActionFacts {
                arn: "arn:aws:sns:us-east-1:111122223333:kms-alerts".into(),
                confirmed_subscriptions: Some(Ok(1)),
            }],
            statistic: Some("Sum".into()),
            extended_statistic: None,
            comparison_operator: Some("GreaterThanOrEqualToThreshold".into()),
            threshold: Some(1.0),
            evaluation_periods: Some(1),
            datapoints_to_alarm: None,
        }
    }

    /// A logging trail delivering to CloudWatch Logs, whose log group has
    /// the CIS filter with `alarm` on its metric.
    fn trail(alarm: AlarmFacts) -> TrailFacts {
        let logging = crate::checks::fixtures::logging_trail();
        TrailFacts {
            described: DescribedTrail {
                log_group_arn: Some(
                    "arn:aws:logs:us-east-1:111122223333:log-group:trail-logs:*".into(),
                ),
                ..logging.described.clone()
            },
            metric_filters: Some(Ok(vec![MetricFilterFacts {
                name: "kms-filter".into(),
                pattern: CIS.into(),
                metrics: vec![alarm.metric.clone()],
                alarms: Ok(vec![alarm]),
            }])),
            ..logging
        }
    }

    fn walk(trail: &TrailFacts) -> (Option<Chain>, Walk) {
        let mut walk = Walk::default();
        let chain = trail_chain(trail, SUBJECT, &mut walk);
        (chain, walk)
    }

    #[test]
    fn fires_on_one_event_table() {
        use Fires::{No, Undecidable, Yes};
        type Edit = fn(&mut AlarmFacts);
        type Expect = fn(&Fires) -> bool;
        let cases: Vec<(&str, Edit, Expect)> = vec![
            ("seeded CIS alarm", |_| {}, |f| *f == Yes),
            (
                "> 0",
                |a| {
                    a.comparison_operator = Some("GreaterThanThreshold".into());
                    a.threshold = Some(0.0);
                },
                |f| *f == Yes,
            ),
            (
                "> 1",
                |a| a.comparison_operator = Some("GreaterThanThreshold".into()),
                |f| matches!(f, No(w) if w.contains("not greater than the threshold 1")),
            ),
            (
                "> 10",
                |a| {
                    a.comparison_operator = Some("GreaterThanThreshold".into());
                    a.threshold = Some(10.0);
                },
                |f| matches!(f, No(w) if w.contains("its Sum of 1 is not greater than the threshold 10")),
            ),
            (
                ">= 2",
                |a| a.threshold = Some(2.0),
                |f| matches!(f, No(w) if w.contains("greater than or equal to the threshold 2")),
            ),
            (
                "metric value 5, >= 5",
                |a| {
                    a.metric.value = "5".into();
                    a.threshold = Some(5.0);
                },
                |f| *f == Yes,
            ),
            (
                "Average of one event",
                |a| a.statistic = Some("Average".into()),
                |f| *f == Yes,
            ),
            (
                "Minimum",
                |a| a.statistic = Some("Minimum".into()),
                |f| *f == Yes,
            ),
            (
                "Maximum",
                |a| a.statistic = Some("Maximum".into()),
                |f| *f == Yes,
            ),
            (
                "SampleCount counts 1 whatever the value",
                |a| {
                    a.statistic = Some("SampleCount".into());
                    a.metric.value = "0.5".into();
                },
                |f| *f == Yes,
            ),
            (
                "metric value 0.5, Sum >= 1",
                |a| a.metric.value = "0.5".into(),
                |f| matches!(f, No(w) if w.contains("Sum of 0.5")),
            ),
            (
                "3 of 3 periods",
                |a| {
                    a.evaluation_periods = Some(3);
                    a.datapoints_to_alarm = Some(3);
                },
                |f| matches!(f, No(w) if w == "needs 3 breaching periods; one event breaches one"),
            ),
            (
                "3 periods, datapoints unset",
                |a| a.evaluation_periods = Some(3),
                |f| matches!(f, No(w) if w.contains("needs 3 breaching periods")),
            ),
            (
                "1 of 5 periods",
                |a| {
                    a.evaluation_periods = Some(5);
                    a.datapoints_to_alarm = Some(1);
                },
                |f| *f == Yes,
            ),
            (
                "LessThanThreshold",
                |a| a.comparison_operator = Some("LessThanThreshold".into()),
                |f| matches!(f, No(w) if w.contains("low values (LessThanThreshold)")),
            ),
            (
                "LessThanOrEqualToThreshold",
                |a| a.comparison_operator = Some("LessThanOrEqualToThreshold".into()),
                |f| matches!(f, No(_)),
            ),
            (
                "anomaly detection",
                |a| {
                    a.comparison_operator = Some("GreaterThanUpperThreshold".into());
                    a.threshold = None;
                },
                |f| matches!(f, Undecidable(w) if w.contains("GreaterThanUpperThreshold")),
            ),
            (
                "extended statistic",
                |a| {
                    a.statistic = None;
                    a.extended_statistic = Some("p99".into());
                },
                |f| matches!(f, Undecidable(w) if w.contains("p99")),
            ),
            (
                "no statistic at all",
                |a| a.statistic = None,
                |f| matches!(f, Undecidable(_)),
            ),
            (
                "selector metric value",
                |a| a.metric.value = "$.requestParameters.pendingWindowInDays".into(),
                |f| matches!(f, Undecidable(w) if w.contains("$.requestParameters.pendingWindowInDays")),
            ),
            (
                "non-finite metric value",
                |a| a.metric.value = "NaN".into(),
                |f| matches!(f, Undecidable(_)),
            ),
            (
                "no threshold",
                |a| a.threshold = None,
                |f| matches!(f, Undecidable(_)),
            ),
            (
                "no evaluation periods",
                |a| a.evaluation_periods = None,
                |f| matches!(f, Undecidable(_)),
            ),
            (
                "a certain miss beats an undecidable part",
                |a| {
                    a.comparison_operator = Some("LessThanThreshold".into());
                    a.extended_statistic = Some("p99".into());
                },
                |f| matches!(f, No(_)),
            ),
            (
                "Average diluted by a default value 0",
                |a| {
                    a.statistic = Some("Average".into());
                    a.metric.default_value = Some(0.0);
                },
                |f| matches!(f, No(w) if w.contains("can be as low as 0") && w.contains("default value 0")),
            ),
            (
                "Minimum with a default value 0",
                |a| {
                    a.statistic = Some("Minimum".into());
                    a.metric.default_value = Some(0.0);
                },
                |f| matches!(f, No(_)),
            ),
            (
                "Sum and Maximum are not lowered by a default value 0",
                |a| a.metric.default_value = Some(0.0),
                |f| *f == Yes,
            ),
            (
                "Maximum with a default value 0",
                |a| {
                    a.statistic = Some("Maximum".into());
                    a.metric.default_value = Some(0.0);
                },
                |f| *f == Yes,
            ),
            (
                "Sum with a negative default value",
                |a| a.metric.default_value = Some(-1.0),
                |f| matches!(f, Undecidable(_)),
            ),
        ];
        for (name, edit, expected) in cases {
            let mut a = alarm();
            edit(&mut a);
            let verdict = fires_on_one_event(&a);
            assert!(expected(&verdict), "{name}: {verdict:?}");
        }
    }

    #[test]
    fn complete_chain_names_every_link() {
        let (chain, walk) = walk(&trail(alarm()));
        let (resource, detail) = chain.expect("complete chain");
        assert_eq!(resource, "kms-alarm");
        assert_eq!(
            detail,
            format!(
                "trail arn:aws:cloudtrail:us-east-1:111122223333:trail/main → log group trail-logs \
                 → metric filter kms-filter (pattern \"{CIS}\") → metric CISBenchmark/KmsMetric \
                 → alarm kms-alarm → SNS topic arn:aws:sns:us-east-1:111122223333:kms-alerts \
                 (1 confirmed subscription(s))"
            )
        );
        assert!(walk.gaps.is_empty() && walk.unknown.is_empty());
    }

    #[test]
    fn eventbridge_details_name_the_rule_its_state_and_targets() {
        use crate::checks::fixtures::{account, empty_region, evaluate_region, verdicts};
        let cis =
            r#"{"source":["aws.kms"],"detail":{"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;
        let rule = |name: &str, state: &str, pattern: &str, targets: Option<u32>| RuleFacts {
            name: name.into(),
            state: state.into(),
            event_pattern: Some(pattern.into()),
            targets: targets.map(Ok),
            targets_fetch: Default::default(),
        };
        let alerting = |rules: Vec<RuleFacts>| {
            let mut region = empty_region();
            region.rules = Ok(rules);
            verdicts(
                &evaluate_region(&account(region), &Ok(vec![])),
                CheckId::KmsDisableDeleteAlerting,
            )
        };
        assert_eq!(
            alerting(vec![rule("kms", "ENABLED", cis, Some(2))]),
            vec![(
                Status::Pass,
                "EventBridge rule kms matches both events and has 2 target(s)".to_string()
            )]
        );
        assert_eq!(
            alerting(vec![rule("kms", "DISABLED", cis, Some(1))]),
            vec![(
                Status::Fail,
                "no trail covers this region; EventBridge rule kms is disabled (state DISABLED)"
                    .to_string()
            )]
        );
        let ec2 = r#"{"source":["aws.ec2"]}"#;
        assert_eq!(
            alerting(vec![rule("ec2", "ENABLED", ec2, None)]),
            vec![(
                Status::Fail,
                "no trail covers this region; no EventBridge rule matches DisableKey and ScheduleKeyDeletion (1 rules on the default event bus)"
                    .to_string()
            )]
        );
    }

    #[test]
    fn a_multi_line_pattern_stays_on_one_line() {
        let mut t = trail(alarm());
        if let Some(Ok(filters)) = &mut t.metric_filters {
            filters[0].pattern = "{ $.eventName = \"DisableKey\" }\n".into();
        }
        let (chain, walk) = walk(&t);
        assert!(chain.is_none());
        assert_eq!(walk.gaps.len(), 1, "{:?}", walk.gaps);
        assert!(
            walk.gaps[0].contains(r#"(pattern "{ $.eventName = \"DisableKey\" }\n")"#)
                && !walk.gaps[0].contains('\n'),
            "{:?}",
            walk.gaps
        );
    }

    #[test]
    fn missing_links_name_their_evidence() {
        let mut no_alarm = trail(alarm());
        if let Some(Ok(filters)) = &mut no_alarm.metric_filters {
            filters[0].alarms = Ok(vec![]);
        }
        assert_eq!(
            walk(&no_alarm).1.gaps,
            vec!["no alarm on the metric CISBenchmark/KmsMetric of filter kms-filter"]
        );

        let mut unconfirmed = alarm();
        unconfirmed.actions[0].confirmed_subscriptions = Some(Ok(0));
        assert_eq!(
            walk(&trail(unconfirmed)).1.gaps,
            vec!["SNS topics of alarm kms-alarm have no confirmed subscriber: arn:aws:sns:us-east-1:111122223333:kms-alerts"]
        );

        let mut autoscaling = alarm();
        autoscaling.actions = vec![AlarmActionFacts {
            arn: "arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:x".into(),
            confirmed_subscriptions: None,
        }];
        assert_eq!(
            walk(&trail(autoscaling)).1.gaps,
            vec!["alarm kms-alarm has no SNS topic action (actions: arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:x)"]
        );

        let mut no_filters = trail(alarm());
        no_filters.metric_filters = Some(Ok(vec![]));
        assert_eq!(
            walk(&no_filters).1.gaps,
            vec!["log group trail-logs of trail arn:aws:cloudtrail:us-east-1:111122223333:trail/main has no metric filter"]
        );
    }

    #[test]
    fn alarm_that_does_not_fire_is_a_gap_naming_it() {
        let mut high = alarm();
        high.comparison_operator = Some("GreaterThanThreshold".into());
        high.threshold = Some(10.0);
        let (chain, walk) = walk(&trail(high));
        assert!(chain.is_none());
        assert_eq!(
            walk.gaps,
            vec!["alarm kms-alarm does not fire on one event: its Sum of 1 is not greater than the threshold 10"]
        );
    }

    #[test]
    fn alarm_on_a_selector_value_is_undecidable() {
        let mut selector = alarm();
        selector.metric.value = "$.count".into();
        let (chain, walk) = walk(&trail(selector));
        assert!(chain.is_none());
        assert!(walk.gaps.is_empty(), "{:?}", walk.gaps);
        assert_eq!(walk.undecidable.len(), 1);
        assert!(
            walk.undecidable[0].starts_with("alarm kms-alarm is on metric KmsMetric"),
            "{:?}",
            walk.undecidable
        );
    }

    #[test]
    fn logs_delivery_error_breaks_the_chain() {
        let mut failing = trail(alarm());
        failing.status = Ok(TrailStatus {
            is_logging: true,
            s3_delivery_error: None,
            logs_delivery_error: Some("AccessDeniedException".into()),
        });
        let (chain, walk) = walk(&failing);
        assert!(chain.is_none());
        assert_eq!(
            walk.gaps,
            vec!["trail arn:aws:cloudtrail:us-east-1:111122223333:trail/main fails to deliver to CloudWatch Logs: AccessDeniedException"]
        );
    }

    #[test]
    fn logs_delivery_error_is_certain_even_when_filters_are_unknown() {
        let mut failing = trail(alarm());
        failing.status = Ok(TrailStatus {
            is_logging: true,
            s3_delivery_error: None,
            logs_delivery_error: Some("ResourceNotFoundException".into()),
        });
        failing.metric_filters = Some(Err(CallError::new(
            Api::LogsDescribeMetricFilters,
            "AccessDenied",
            "denied",
        )));
        let (chain, walk) = walk(&failing);
        assert!(chain.is_none());
        assert!(walk.unknown.is_empty(), "{:?}", walk.unknown);
        assert_eq!(walk.gaps.len(), 1, "{:?}", walk.gaps);
    }

    #[test]
    fn s3_delivery_error_disqualifies_the_trail_here_too() {
        let mut failing = trail(alarm());
        failing.status = Ok(TrailStatus {
            is_logging: true,
            s3_delivery_error: Some("NoSuchBucket".into()),
            logs_delivery_error: None,
        });
        let (chain, walk) = walk(&failing);
        assert!(chain.is_none());
        assert_eq!(
            walk.gaps,
            vec!["trail arn:aws:cloudtrail:us-east-1:111122223333:trail/main fails to deliver to S3: NoSuchBucket"]
        );
    }
}
