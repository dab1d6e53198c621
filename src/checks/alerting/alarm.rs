//! The alarm link: does one DisableKey or ScheduleKeyDeletion put an alarm
//! that receives the filter's data into ALARM, and do its actions then run?
//!
//! An alarm acts only when its state changes: "the actions happen only on
//! state transitions, and are not performed again if the condition persists"
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html).
//! So an alarm that is already in ALARM, or that ordinary log traffic keeps
//! there, tells no one of the event. How an alarm treats periods without
//! data follows
//! https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html.

use std::collections::BTreeMap;

use super::topic::{self, Publisher};
use super::{dimensions_text, list_or_none, metric_name, mute, Walk};
use crate::aws::arn::Arn;
use crate::checks::kms_events::{PublishedTo, Subject};
use crate::facts::{AlarmDetails, AlarmFacts, MetricFilterFacts, MetricQueryFacts, MetricRef};

/// An alarm that notifies someone of the events a filter publishes to one
/// metric.
pub struct Notified {
    pub alarm: String,
    /// The metric's dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// `alarm A → SNS topic T (N confirmed subscription(s))`.
    pub detail: String,
}

/// The first alarm that receives what `filter` publishes to `to` and
/// notifies someone of it; the walk notes why each other alarm does not.
pub fn notified(
    filter: &MetricFilterFacts,
    metric: &MetricRef,
    to: &PublishedTo,
    alarms: &[AlarmFacts],
    subject: Subject<'_>,
    walk: &mut Walk,
) -> Option<Notified> {
    let on_metric: Vec<&AlarmFacts> = alarms
        .iter()
        .filter(|a| a.metric.name == metric.name && a.metric.namespace == metric.namespace)
        .collect();
    if on_metric.is_empty() {
        let dimensions = if to.dimensions.is_empty() {
            String::new()
        } else {
            format!(" with dimensions {}", dimensions_text(&to.dimensions))
        };
        walk.gaps.push(format!(
            "no alarm on the metric {}{dimensions} of filter {}",
            metric_name(metric),
            filter.name
        ));
        return None;
    }
    for alarm in on_metric {
        let view = match receives(alarm, filter, metric, to) {
            Ok(view) => view,
            Err(Refusal::No(why)) => {
                walk.gaps.push(format!("alarm {} {why}", alarm.name));
                continue;
            }
            Err(Refusal::Undecidable(why)) => {
                walk.undecidable.push(format!("alarm {} {why}", alarm.name));
                continue;
            }
        };
        if let Some(detail) = notifies(alarm, &view, metric, subject, walk) {
            return Some(Notified {
                alarm: alarm.name.clone(),
                dimensions: to.dimensions.clone(),
                detail,
            });
        }
    }
    None
}

/// Why an alarm does not receive the filter's data; the texts complete
/// "alarm A …".
enum Refusal {
    No(String),
    Undecidable(String),
}

/// How the alarm reads the filter's metric: directly, or through a metric
/// math expression that is the metric itself.
#[derive(Debug, Clone, PartialEq)]
struct View {
    statistic: Option<String>,
    extended_statistic: Option<String>,
    /// `None`: not known (evidence from an earlier cmkscan).
    period: Option<i32>,
    /// `(metric math m1)`, for a metric math alarm.
    math: Option<String>,
}

/// Whether the alarm receives the datapoints the filter publishes to `to`:
/// "CloudWatch treats each unique combination of dimensions as a separate
/// metric"
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension),
/// and an alarm with a unit only sees datapoints published with it.
fn receives(
    alarm: &AlarmFacts,
    filter: &MetricFilterFacts,
    metric: &MetricRef,
    to: &PublishedTo,
) -> Result<View, Refusal> {
    let Some(details) = &alarm.details else {
        // Found by name and namespace in earlier versions; `fires` says the
        // rest was not collected.
        return Ok(View {
            statistic: alarm.statistic.clone(),
            extended_statistic: alarm.extended_statistic.clone(),
            period: None,
            math: None,
        });
    };
    let (watched, unit, view) = match &details.metric {
        Some(watched) => (
            watched,
            details.unit.as_deref(),
            View {
                statistic: alarm.statistic.clone(),
                extended_statistic: alarm.extended_statistic.clone(),
                period: details.period,
                math: None,
            },
        ),
        None => {
            let query = metric_math_source(details)?;
            let watched = query
                .metric
                .as_ref()
                .ok_or_else(|| Refusal::Undecidable("names no metric".into()))?;
            if let Some(account) = &query.account_id {
                return Err(Refusal::Undecidable(format!(
                    "reads its metric in account {account} (cross-account metric math), which cmkscan does not follow"
                )));
            }
            let stat = query.stat.clone();
            let plain = stat.as_deref().is_some_and(is_plain_statistic);
            (
                watched,
                query.unit.as_deref(),
                View {
                    statistic: stat.clone().filter(|_| plain),
                    extended_statistic: stat.filter(|_| !plain),
                    period: query.period,
                    math: Some(query.id.clone()),
                },
            )
        }
    };
    if watched.namespace != metric.namespace || watched.name != metric.name {
        return Err(Refusal::No(format!(
            "watches {}/{} through metric math, not the metric {} of filter {}",
            watched.namespace,
            watched.name,
            metric_name(metric),
            filter.name
        )));
    }
    if watched.dimensions != to.dimensions {
        return Err(Refusal::No(format!(
            "is on the metric {} with {}, but filter {} publishes {} to it with {}: the alarm receives none of their datapoints",
            metric_name(metric),
            dimensions_text(&watched.dimensions),
            filter.name,
            to.events.join(" and "),
            dimensions_text(&to.dimensions)
        )));
    }
    // CloudWatch Logs publishes with the unit `None` unless the filter sets
    // one.
    let published_unit = metric.unit.as_deref().unwrap_or("None");
    if let Some(unit) = unit.filter(|u| *u != published_unit) {
        return Err(Refusal::No(format!(
            "reads only datapoints with the unit {unit}, and filter {} publishes its metric with the unit {published_unit}",
            filter.name
        )));
    }
    Ok(view)
}

/// The query whose metric a metric math alarm watches, when its result is
/// that metric unchanged: the query it returns (`ReturnData`), reading a
/// metric itself or being an expression that names one query (`m1`,
/// `(m1)`). "One item in the Metrics array is the math expression that the
/// alarm watches", designated by `ReturnData`
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html).
fn metric_math_source(details: &AlarmDetails) -> Result<&MetricQueryFacts, Refusal> {
    let queries = &details.queries;
    let returned: Vec<&MetricQueryFacts> = queries
        .iter()
        .filter(|q| q.return_data == Some(true))
        .collect();
    let result = match (returned.as_slice(), queries.as_slice()) {
        ([one], _) => *one,
        ([], [only]) => only,
        _ => {
            return Err(Refusal::Undecidable(
                "is a metric math alarm whose result query cmkscan cannot tell".into(),
            ))
        }
    };
    if result.metric.is_some() {
        return Ok(result);
    }
    let expression = result.expression.as_deref().unwrap_or_default();
    let mut name = expression.trim();
    while let Some(inner) = name.strip_prefix('(').and_then(|n| n.strip_suffix(')')) {
        name = inner.trim();
    }
    queries
        .iter()
        .find(|q| q.id == name && q.metric.is_some())
        .ok_or_else(|| {
            Refusal::Undecidable(format!(
                "watches the metric math expression {expression:?}, which cmkscan does not evaluate"
            ))
        })
}

fn is_plain_statistic(stat: &str) -> bool {
    matches!(
        stat,
        "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount"
    )
}

/// The alarm's notification, when one event makes it notify someone: its
/// actions are enabled, the event changes its state to ALARM, an SNS topic
/// of its actions delivers to a subscriber, and no mute rule silences it.
fn notifies(
    alarm: &AlarmFacts,
    view: &View,
    metric: &MetricRef,
    subject: Subject<'_>,
    walk: &mut Walk,
) -> Option<String> {
    if !alarm.actions_enabled {
        walk.gaps
            .push(format!("alarm {} has its actions disabled", alarm.name));
        return None;
    }
    match fires(alarm, view, metric) {
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
    let details = alarm.details.as_ref()?;
    let publisher = Publisher::Alarm {
        arn: details.arn.as_deref(),
        account: details
            .arn
            .as_deref()
            .and_then(|a| Arn::parse(a).ok())
            .and_then(|a| a.account())
            .unwrap_or(subject.account),
    };
    let (topic, subscriptions) = delivering_topic(alarm, &publisher, walk)?;
    if !mute::lets_through(&alarm.name, details, walk) {
        return None;
    }
    let math = view
        .math
        .as_ref()
        .map(|id| format!(" (metric math {id})"))
        .unwrap_or_default();
    Some(format!(
        "alarm {}{math} → SNS topic {topic} ({subscriptions} confirmed subscription(s))",
        alarm.name
    ))
}

/// The alarm's first SNS topic that delivers to a subscriber, and its
/// confirmed subscriptions.
fn delivering_topic<'a>(
    alarm: &'a AlarmFacts,
    publisher: &Publisher<'_>,
    walk: &mut Walk,
) -> Option<(&'a str, u32)> {
    let mut without_subscriber = Vec::new();
    let mut unverifiable = Vec::new();
    let mut judged = false;
    for action in &alarm.actions {
        match &action.confirmed_subscriptions {
            None => {
                // Lambda functions, Incident Manager and OpsCenter may reach
                // a person, in ways cmkscan does not follow; Auto Scaling
                // and EC2 actions never do.
                let service = Arn::parse(&action.arn).map(|a| a.service).unwrap_or("");
                if matches!(service, "lambda" | "ssm" | "ssm-incidents") {
                    unverifiable.push(action.arn.clone());
                }
            }
            Some(Ok(0)) => without_subscriber.push(action.arn.clone()),
            Some(Ok(n)) => {
                judged = true;
                if topic::delivers(&action.arn, action.topic.as_ref(), publisher, walk) {
                    return Some((&action.arn, *n));
                }
            }
            Some(Err(err)) => {
                walk.unknown
                    .push(format!("subscribers of {}: {err}", action.arn));
                without_subscriber.push(action.arn.clone());
            }
        }
    }
    for arn in &unverifiable {
        walk.undecidable.push(format!(
            "alarm {}: delivery to a person cannot be verified: action {arn}",
            alarm.name
        ));
    }
    if !without_subscriber.is_empty() {
        walk.gaps.push(format!(
            "SNS topics of alarm {} have no confirmed subscriber: {}",
            alarm.name,
            without_subscriber.join(", ")
        ));
    } else if !judged && unverifiable.is_empty() {
        let actions: Vec<String> = alarm.actions.iter().map(|a| a.arn.clone()).collect();
        walk.gaps.push(format!(
            "alarm {} has no SNS topic action (actions: {})",
            alarm.name,
            list_or_none(&actions)
        ));
    }
    None
}

/// Does one matching log event put the alarm into ALARM, from a state it
/// can leave? The texts complete "alarm A …".
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fires {
    Yes,
    /// It certainly does not.
    No(String),
    /// It depends on something cmkscan does not know or evaluate.
    Undecidable(String),
}

/// One matching event in one period gives the filter's metric one datapoint
/// of `metricValue`; the alarm's statistic over that period is that value
/// (`SampleCount`: 1). A filter with a `defaultValue` also publishes that
/// value while other log events arrive: once a minute in the CloudWatch
/// Logs User Guide ("the value reported to the metric filter during a
/// period when logs are ingested but no matching logs are found",
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html),
/// for every non-matching event in the API reference ("The value to emit
/// when a filter pattern does not match a log event",
/// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html).
/// Every rule below holds under both readings; what depends on the reading
/// is undecidable. Certain misses are reported before undecidable parts.
fn fires(alarm: &AlarmFacts, view: &View, metric: &MetricRef) -> Fires {
    let details = alarm.details.as_ref();
    let treat_missing = details.map(|d| d.treat_missing_data.as_deref().unwrap_or("missing"));
    let default = metric.default_value;
    let inclusive = match alarm.comparison_operator.as_deref() {
        Some("GreaterThanOrEqualToThreshold") => Some(true),
        Some("GreaterThanThreshold") => Some(false),
        Some(op @ ("LessThanThreshold" | "LessThanOrEqualToThreshold")) => {
            return Fires::No(format!(
                "is about low values ({op}): an event does not make it fire"
            ));
        }
        _ => None,
    };
    let breaches = |value: f64, threshold: f64| match inclusive {
        Some(true) => value >= threshold,
        _ => value > threshold,
    };
    // Missing data treated as breaching: with no KMS event in a period the
    // metric has no datapoint, so the alarm sits in ALARM and the event
    // changes nothing.
    if treat_missing == Some("breaching") && default.is_none() {
        return Fires::No(
            "treats missing data as breaching: with no KMS events its metric has no datapoints, so it is already in ALARM when a key is disabled".into(),
        );
    }
    let statistic = view.statistic.as_deref();
    if let (Some("SampleCount"), Some(d)) = (statistic, default) {
        return Fires::No(format!(
            "counts log traffic, not KMS calls: its SampleCount counts the default value {d} the filter publishes for ordinary log events, so it is already in ALARM when a key is disabled"
        ));
    }
    if let (Some(d), Some(threshold), Some(_)) = (default, alarm.threshold, inclusive) {
        let ordinary = match statistic {
            Some("Maximum" | "Minimum" | "Average") if breaches(d, threshold) => {
                Some(format!("the filter's default value {d} alone"))
            }
            Some("Sum") if d > 0.0 => view
                .period
                .map(|p| f64::from(p) / 60.0 * d)
                .filter(|quiet| breaches(*quiet, threshold))
                .map(|quiet| format!("the default value {d} the filter publishes each minute of log traffic, {quiet} over its period,")),
            _ => None,
        };
        if let Some(what) = ordinary {
            return Fires::No(format!(
                "fires on ordinary log traffic ({what} meets its threshold {threshold}), so it is already in ALARM when a key is disabled"
            ));
        }
    }
    let needed = alarm
        .evaluation_periods
        .map(|periods| alarm.datapoints_to_alarm.unwrap_or(periods));
    if let Some(needed) = needed.filter(|n| *n > 1) {
        // Other periods hold non-breaching datapoints while logs flow (a
        // default value), or count as good (notBreaching).
        if default.is_some() || treat_missing == Some("notBreaching") {
            return Fires::No(format!(
                "needs {needed} breaching periods; one event breaches one"
            ));
        }
    }
    let Some(inclusive) = inclusive else {
        return match alarm.comparison_operator.as_deref() {
            Some(op) => Fires::Undecidable(format!(
                "uses the comparison {op} (anomaly detection), which cmkscan does not evaluate"
            )),
            None => Fires::Undecidable("has no comparison operator".into()),
        };
    };
    let Some(periods) = alarm.evaluation_periods else {
        return Fires::Undecidable("does not say how many periods it evaluates".into());
    };
    if let Some(extended) = &view.extended_statistic {
        return Fires::Undecidable(format!(
            "uses the extended statistic {extended}, which cmkscan does not evaluate"
        ));
    }
    let Some(statistic) = statistic else {
        return Fires::Undecidable("has no statistic".into());
    };
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
    let (value, with_default) = match (statistic, default) {
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
    if !breaches(value, threshold) {
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
        return Fires::No(format!(
            "does not fire on one event: its {statistic} {value} is not {compared} the threshold {threshold}"
        ));
    }
    // What follows needs the alarm's settings and state.
    let Some(details) = details else {
        return Fires::Undecidable(
            "was read by an earlier cmkscan, which did not collect how it treats missing data, its period, dimensions, state or mute rules".into(),
        );
    };
    let treat_missing = treat_missing.unwrap_or("missing");
    if details.state.as_deref() == Some("ALARM") {
        let since = details
            .state_since
            .as_deref()
            .map(|t| format!(" since {t}"))
            .unwrap_or_default();
        return Fires::Undecidable(format!(
            "has been in ALARM{since}: a key disabled now would not notify anyone until it returns to OK"
        ));
    }
    if default.is_none() && treat_missing == "ignore" {
        return Fires::Undecidable(
            "ignores missing data and its metric has no datapoints between KMS events: after its first event it stays in ALARM, so later events do not notify".into(),
        );
    }
    if default.is_some() && treat_missing == "breaching" {
        return Fires::Undecidable(
            "treats missing data as breaching: it stays out of ALARM only while every period has log traffic".into(),
        );
    }
    let needed = alarm.datapoints_to_alarm.unwrap_or(periods);
    if needed > 1 {
        return Fires::Undecidable(if treat_missing == "ignore" {
            format!("needs {needed} of {periods} breaching periods and ignores missing data: its state after one event cannot be known")
        } else {
            format!(
                "needs {needed} of {periods} breaching periods: CloudWatch fires it on one event only through its rule against premature alarms, up to {} periods late",
                needed - 1
            )
        });
    }
    if let (Some(d), "Sum") = (default, statistic) {
        if d > 0.0 {
            return Fires::Undecidable(format!(
                "sums the default value {d} the filter publishes for other log traffic: whether that alone reaches its threshold {threshold} depends on how CloudWatch Logs counts it (once a minute in the User Guide, once per log event in the API reference)"
            ));
        }
    }
    Fires::Yes
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::alarm;
    use super::*;
    use crate::facts::WatchedMetric;

    fn details(a: &mut AlarmFacts) -> &mut AlarmDetails {
        a.details.as_mut().expect("the fixture has details")
    }

    /// Makes `a` a metric math alarm returning `e1 = expression` over
    /// `m1`, the filter's metric read with `stat`.
    fn math(a: &mut AlarmFacts, expression: &str, stat: &str) {
        let d = details(a);
        d.metric = None;
        d.queries = vec![
            MetricQueryFacts {
                id: "m1".into(),
                return_data: Some(false),
                metric: Some(WatchedMetric {
                    namespace: "CISBenchmark".into(),
                    name: "KmsMetric".into(),
                    dimensions: BTreeMap::new(),
                }),
                stat: Some(stat.into()),
                period: Some(300),
                ..Default::default()
            },
            MetricQueryFacts {
                id: "e1".into(),
                expression: Some(expression.into()),
                return_data: Some(true),
                ..Default::default()
            },
        ];
    }

    /// What the check makes of `a` on the filter metric without dimensions.
    fn fires_of(a: &AlarmFacts) -> Fires {
        let filter = MetricFilterFacts {
            name: "kms-filter".into(),
            pattern: String::new(),
            metrics: vec![a.metric.clone()],
            alarms: Ok(vec![]),
            system_field_dimensions: Some(vec![]),
        };
        let to = PublishedTo {
            dimensions: BTreeMap::new(),
            events: vec!["DisableKey".into()],
        };
        match receives(a, &filter, &a.metric, &to) {
            Ok(view) => fires(a, &view, &a.metric),
            Err(Refusal::No(why)) => Fires::No(why),
            Err(Refusal::Undecidable(why)) => Fires::Undecidable(why),
        }
    }

    #[test]
    fn metric_math_is_followed_to_the_metric_it_returns() {
        let mut a = alarm();
        a.statistic = None;
        math(&mut a, "(m1)", "Sum");
        assert_eq!(fires_of(&a), Fires::Yes);
        math(&mut a, "m1 * 2", "Sum");
        assert!(matches!(fires_of(&a), Fires::Undecidable(w) if w.contains("\"m1 * 2\"")));
        math(&mut a, "m1", "Sum");
        if let Some(m) = &mut details(&mut a).queries[0].metric {
            m.name = "RootLogins".into();
        }
        assert!(
            matches!(fires_of(&a), Fires::No(w) if w.starts_with("watches CISBenchmark/RootLogins through metric math"))
        );
    }

    #[test]
    fn fires_table() {
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
                "3 of 3 periods, missing data missing: the premature-alarm rule",
                |a| {
                    a.evaluation_periods = Some(3);
                    a.datapoints_to_alarm = Some(3);
                },
                |f| matches!(f, Undecidable(w) if w.contains("needs 3 of 3 breaching periods: CloudWatch fires it on one event only through its rule against premature alarms, up to 2 periods late")),
            ),
            (
                "3 periods, datapoints unset, notBreaching",
                |a| {
                    a.evaluation_periods = Some(3);
                    details(a).treat_missing_data = Some("notBreaching".into());
                },
                |f| matches!(f, No(w) if w == "needs 3 breaching periods; one event breaches one"),
            ),
            (
                "3 of 3 periods with a default value",
                |a| {
                    a.evaluation_periods = Some(3);
                    a.metric.default_value = Some(0.0);
                },
                |f| matches!(f, No(w) if w.contains("needs 3 breaching periods")),
            ),
            (
                "3 of 3 periods, ignore",
                |a| {
                    a.evaluation_periods = Some(3);
                    a.metric.default_value = Some(0.0);
                    details(a).treat_missing_data = Some("ignore".into());
                },
                |f| matches!(f, No(_)),
            ),
            (
                "2 of 3 periods, ignore, no default value",
                |a| {
                    a.evaluation_periods = Some(3);
                    a.datapoints_to_alarm = Some(2);
                    details(a).treat_missing_data = Some("ignore".into());
                },
                |f| matches!(f, Undecidable(w) if w.contains("ignores missing data")),
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
                "treats missing data as breaching",
                |a| details(a).treat_missing_data = Some("breaching".into()),
                |f| matches!(f, No(w) if w.starts_with("treats missing data as breaching: with no KMS events")),
            ),
            (
                "breaching with a default value",
                |a| {
                    details(a).treat_missing_data = Some("breaching".into());
                    a.metric.default_value = Some(0.0);
                },
                |f| matches!(f, Undecidable(w) if w.contains("only while every period has log traffic")),
            ),
            (
                "notBreaching",
                |a| details(a).treat_missing_data = Some("notBreaching".into()),
                |f| *f == Yes,
            ),
            (
                "ignore without a default value wedges the alarm",
                |a| details(a).treat_missing_data = Some("ignore".into()),
                |f| matches!(f, Undecidable(w) if w.contains("after its first event it stays in ALARM")),
            ),
            (
                "in ALARM at scan time",
                |a| details(a).state = Some("ALARM".into()),
                |f| matches!(f, Undecidable(w) if w.starts_with("has been in ALARM since 2026-11-01T00:00:00Z")),
            ),
            (
                "SampleCount with a default value counts log traffic",
                |a| {
                    a.statistic = Some("SampleCount".into());
                    a.metric.default_value = Some(0.0);
                },
                |f| matches!(f, No(w) if w.starts_with("counts log traffic, not KMS calls")),
            ),
            (
                "Maximum with a default value that meets the threshold",
                |a| {
                    a.statistic = Some("Maximum".into());
                    a.metric.default_value = Some(1.0);
                },
                |f| matches!(f, No(w) if w.starts_with("fires on ordinary log traffic (the filter's default value 1 alone meets its threshold 1)")),
            ),
            (
                "Average with a default value above the threshold",
                |a| {
                    a.statistic = Some("Average".into());
                    a.metric.default_value = Some(2.0);
                },
                |f| matches!(f, No(w) if w.starts_with("fires on ordinary log traffic")),
            ),
            (
                "Sum with a default value whose per-minute total meets the threshold",
                |a| a.metric.default_value = Some(1.0),
                |f| matches!(f, No(w) if w.contains("5 over its period")),
            ),
            (
                "Sum with a small default value depends on the reading",
                |a| {
                    a.metric.default_value = Some(0.1);
                    a.threshold = Some(10.0);
                    a.metric.value = "10".into();
                },
                |f| matches!(f, Undecidable(w) if w.contains("once per log event in the API reference")),
            ),
            (
                "metric math m1",
                |a| {
                    a.statistic = None;
                    math(a, "m1", "Sum");
                },
                |f| *f == Yes,
            ),
            (
                "metric math with a percentile",
                |a| {
                    a.statistic = None;
                    math(a, "m1", "p99");
                },
                |f| matches!(f, Undecidable(w) if w.contains("p99")),
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
            let verdict = fires_of(&a);
            assert!(expected(&verdict), "{name}: {verdict:?}");
        }
    }
}
