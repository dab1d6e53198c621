//! The alerting chain behind a trail's log group: metric filters, the alarms
//! on their metrics, and what notifying through the alarms' SNS topics
//! depends on.
//!
//! Alarms are listed with `DescribeAlarms`, once per region whose log group
//! has a metric filter, and matched to the filters' metrics here: that one
//! listing finds the alarms on a filter's metric whatever dimensions the
//! filter publishes (`DescribeAlarmsForMetric` "retrieves only standard
//! alarms" and needs the metric's exact dimensions, whose values come from
//! each log event), and the metric math alarms that read the metric, which
//! `DescribeAlarmsForMetric` never returns
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmsForMetric.html).
//! Whether an alarm's dimensions match what the filter publishes is for
//! the checks to judge.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::types::{AlarmType, MetricAlarm};
use aws_smithy_types::date_time::Format;
use tokio::sync::OnceCell;

use super::{mute_rules, sns};
use crate::aws::api::Api;
use crate::aws::arn::Arn;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::facts::{
    AlarmActionFacts, AlarmDetails, AlarmFacts, Fetched, MetricFilterFacts, MetricQueryFacts,
    MetricRef, MuteRuleFacts, WatchedMetric,
};

/// A region's metric alarms, listed once, shared by the log groups there.
type Listing = Arc<OnceCell<Fetched<Arc<Vec<MetricAlarm>>>>>;

/// The metric alarms of each region, listed once for all the log groups of
/// an account's trails there.
#[derive(Default)]
pub struct AlarmListings {
    by_region: Mutex<HashMap<String, Listing>>,
}

impl AlarmListings {
    async fn region(
        &self,
        session: &AccountSession,
        region: &str,
    ) -> Fetched<Arc<Vec<MetricAlarm>>> {
        let cell = {
            let mut by_region = self.by_region.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(by_region.entry(region.to_string()).or_default())
        };
        cell.get_or_init(|| async { list_alarms(session, region).await.map(Arc::new) })
            .await
            .clone()
    }
}

/// Every metric alarm of the region (`DescribeAlarms` with `AlarmTypes`
/// `MetricAlarm`, 100 a page).
async fn list_alarms(session: &AccountSession, region: &str) -> Fetched<Vec<MetricAlarm>> {
    let client = session.cloudwatch(region);
    session
        .throttle
        .all_pages(
            Api::CloudWatchDescribeAlarms,
            session.scope(region),
            |token| {
                client
                    .describe_alarms()
                    .alarm_types(AlarmType::MetricAlarm)
                    .max_records(100)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
            |page| page.metric_alarms().to_vec(),
        )
        .await
}

/// Metric filters on the log group, each with the alarms on its metrics.
/// `log_group_arn` is `arn:…:logs:<region>:<account>:log-group:<name>:*`.
///
/// Alarms are found for every filter, not only those that look relevant:
/// a multi-region or organisation trail's filter is judged later for each
/// account and region it covers, and a pattern may name either.
pub async fn log_group_chain(
    session: &AccountSession,
    log_group_arn: &str,
    listings: &AlarmListings,
) -> Fetched<Vec<MetricFilterFacts>> {
    let (region, name) = parse_log_group_arn(log_group_arn).ok_or_else(|| {
        CallError::new(
            Api::LogsDescribeMetricFilters,
            "InvalidLogGroupArn",
            format!("cannot read a region and log group name from {log_group_arn}"),
        )
    })?;
    let mut filters = metric_filters(session, region, name).await?;
    if filters.is_empty() {
        return Ok(filters);
    }
    let listed = listings.region(session, region).await;
    // Alarms of one log group usually share a topic, and an alarm may watch
    // the metrics of several filters: each is asked about once.
    let mut asked = Asked::default();
    for filter in &mut filters {
        filter.alarms = match &listed {
            Ok(listed) => {
                Ok(alarms_for(session, region, &filter.metrics, listed, &mut asked).await)
            }
            Err(err) => Err(err.clone()),
        };
    }
    Ok(filters)
}

fn parse_log_group_arn(arn: &str) -> Option<(&str, &str)> {
    let arn = Arn::parse(arn).ok()?;
    Some((arn.region()?, arn.log_group_name()?))
}

async fn metric_filters(
    session: &AccountSession,
    region: &str,
    log_group: &str,
) -> Fetched<Vec<MetricFilterFacts>> {
    let client = session.logs(region);
    session
        .throttle
        .all_pages(
            Api::LogsDescribeMetricFilters,
            session.scope(region),
            |token| {
                client
                    .describe_metric_filters()
                    .log_group_name(log_group)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
            |page| page.metric_filters().iter().map(metric_filter).collect(),
        )
        .await
}

fn metric_filter(filter: &aws_sdk_cloudwatchlogs::types::MetricFilter) -> MetricFilterFacts {
    MetricFilterFacts {
        name: filter.filter_name().unwrap_or_default().to_string(),
        pattern: filter.filter_pattern().unwrap_or_default().to_string(),
        metrics: filter
            .metric_transformations()
            .iter()
            .map(|m| MetricRef {
                name: m.metric_name().to_string(),
                namespace: m.metric_namespace().to_string(),
                value: m.metric_value().to_string(),
                default_value: m.default_value(),
                dimensions: Some(
                    m.dimensions()
                        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                ),
                unit: m.unit().map(|u| u.as_str().to_string()),
            })
            .collect(),
        // Filled in by log_group_chain once the filters are known.
        alarms: Ok(Vec::new()),
        system_field_dimensions: Some(filter.emit_system_field_dimensions().to_vec()),
    }
}

/// What one log group's walk has already asked: topics by ARN, mute rules
/// by alarm name.
#[derive(Default)]
struct Asked {
    topics: HashMap<String, sns::Topic>,
    mute_rules: HashMap<String, Fetched<Vec<MuteRuleFacts>>>,
}

/// Whether `alarm` reads `metric`: an alarm on that metric (by namespace and
/// name: its dimensions are judged by the checks), or a metric math alarm
/// one of whose queries reads it.
fn watches(alarm: &MetricAlarm, metric: &MetricRef) -> bool {
    let same = |namespace: Option<&str>, name: Option<&str>| {
        namespace == Some(metric.namespace.as_str()) && name == Some(metric.name.as_str())
    };
    same(alarm.namespace(), alarm.metric_name())
        || alarm.metrics().iter().any(|query| {
            query
                .metric_stat()
                .and_then(|stat| stat.metric())
                .is_some_and(|m| same(m.namespace(), m.metric_name()))
        })
}

async fn alarms_for(
    session: &AccountSession,
    region: &str,
    metrics: &[MetricRef],
    listed: &[MetricAlarm],
    asked: &mut Asked,
) -> Vec<AlarmFacts> {
    let mut alarms = Vec::new();
    for metric in metrics {
        for alarm in listed.iter().filter(|alarm| watches(alarm, metric)) {
            let mut actions = Vec::new();
            for arn in alarm.alarm_actions() {
                let topic = Arn::parse(arn).ok().filter(|a| a.service == "sns");
                let (confirmed_subscriptions, topic) = match topic {
                    Some(topic) => {
                        if !asked.topics.contains_key(arn) {
                            let read = sns::topic(session, &topic).await;
                            asked.topics.insert(arn.clone(), read);
                        }
                        let read = &asked.topics[arn];
                        (
                            Some(read.confirmed_subscriptions.clone()),
                            read.facts.clone(),
                        )
                    }
                    None => (None, None),
                };
                actions.push(AlarmActionFacts {
                    arn: arn.clone(),
                    confirmed_subscriptions,
                    topic,
                });
            }
            let name = alarm.alarm_name().unwrap_or_default().to_string();
            let actions_enabled = alarm.actions_enabled().unwrap_or(false);
            // Mute rules could only silence an alarm that would otherwise
            // notify someone: asked for those alone.
            let could_notify = actions_enabled
                && actions
                    .iter()
                    .any(|a| matches!(a.confirmed_subscriptions, Some(Ok(n)) if n > 0));
            let mute_rules = if could_notify {
                if !asked.mute_rules.contains_key(&name) {
                    let rules = mute_rules::targeting(session, region, &name).await;
                    asked.mute_rules.insert(name.clone(), rules);
                }
                Some(asked.mute_rules[&name].clone())
            } else {
                None
            };
            alarms.push(AlarmFacts {
                name,
                actions_enabled,
                metric: metric.clone(),
                actions,
                statistic: alarm.statistic().map(|s| s.as_str().to_string()),
                extended_statistic: alarm.extended_statistic().map(str::to_string),
                comparison_operator: alarm.comparison_operator().map(|c| c.as_str().to_string()),
                threshold: alarm.threshold(),
                evaluation_periods: alarm.evaluation_periods(),
                datapoints_to_alarm: alarm.datapoints_to_alarm(),
                details: Some(details(alarm, mute_rules)),
            });
        }
    }
    alarms
}

fn dimensions(dimensions: &[aws_sdk_cloudwatch::types::Dimension]) -> BTreeMap<String, String> {
    dimensions
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().to_string(),
                d.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn details(alarm: &MetricAlarm, mute_rules: Option<Fetched<Vec<MuteRuleFacts>>>) -> AlarmDetails {
    let metric = alarm.metric_name().map(|name| WatchedMetric {
        namespace: alarm.namespace().unwrap_or_default().to_string(),
        name: name.to_string(),
        dimensions: dimensions(alarm.dimensions()),
    });
    let queries = alarm
        .metrics()
        .iter()
        .map(|query| {
            let stat = query.metric_stat();
            MetricQueryFacts {
                id: query.id().unwrap_or_default().to_string(),
                expression: query.expression().map(str::to_string),
                return_data: query.return_data(),
                metric: stat.and_then(|s| s.metric()).map(|m| WatchedMetric {
                    namespace: m.namespace().unwrap_or_default().to_string(),
                    name: m.metric_name().unwrap_or_default().to_string(),
                    dimensions: dimensions(m.dimensions()),
                }),
                stat: stat.and_then(|s| s.stat()).map(str::to_string),
                period: stat.and_then(|s| s.period()).or(query.period()),
                unit: stat.and_then(|s| s.unit()).map(|u| u.as_str().to_string()),
                account_id: query.account_id().map(str::to_string),
            }
        })
        .collect();
    AlarmDetails {
        arn: alarm.alarm_arn().map(str::to_string),
        metric,
        unit: alarm.unit().map(|u| u.as_str().to_string()),
        period: alarm.period(),
        treat_missing_data: alarm.treat_missing_data().map(str::to_string),
        state: alarm.state_value().map(|s| s.as_str().to_string()),
        state_since: alarm
            .state_updated_timestamp()
            .and_then(|t| t.fmt(Format::DateTime).ok()),
        queries,
        mute_rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_region_and_name_from_log_group_arn() {
        assert_eq!(
            parse_log_group_arn(
                "arn:aws:logs:eu-west-1:111122223333:log-group:aws-cloudtrail-logs:*"
            ),
            Some(("eu-west-1", "aws-cloudtrail-logs"))
        );
        assert_eq!(
            parse_log_group_arn("arn:aws:logs:eu-west-1:111122223333:log-group:a:b"),
            Some(("eu-west-1", "a:b"))
        );
        assert_eq!(
            parse_log_group_arn("arn:aws:logs:eu-west-1:1:log-group::*"),
            None
        );
        assert_eq!(parse_log_group_arn("not-an-arn"), None);
    }
}
