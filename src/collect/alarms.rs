//! The alerting chain behind a trail's log group: metric filters, the alarms
//! on their metrics, and whether the alarms' SNS topics have subscribers.

use std::collections::HashMap;
use std::pin::pin;

use futures::TryStreamExt;

use crate::aws::api::Api;
use crate::aws::arn::Arn;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::facts::{AlarmActionFacts, AlarmFacts, Fetched, MetricFilterFacts, MetricRef};

/// Metric filters on the log group, each with the alarms on its metrics.
/// `log_group_arn` is `arn:…:logs:<region>:<account>:log-group:<name>:*`.
///
/// Alarms are fetched for every filter, not only those that look relevant:
/// a multi-region or organisation trail's filter is judged later for each
/// account and region it covers, and a pattern may name either.
pub async fn log_group_chain(
    session: &AccountSession,
    log_group_arn: &str,
) -> Fetched<Vec<MetricFilterFacts>> {
    let (region, name) = parse_log_group_arn(log_group_arn).ok_or_else(|| {
        CallError::new(
            Api::LogsDescribeMetricFilters,
            "InvalidLogGroupArn",
            format!("cannot read a region and log group name from {log_group_arn}"),
        )
    })?;
    let mut filters = metric_filters(session, region, name).await?;
    // Alarms of one log group usually share a topic: ask about it once.
    let mut topics = HashMap::new();
    for filter in &mut filters {
        filter.alarms = alarms_for(session, region, &filter.metrics, &mut topics).await;
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
            })
            .collect(),
        // Filled in by log_group_chain once the filters are known.
        alarms: Ok(Vec::new()),
    }
}

async fn alarms_for(
    session: &AccountSession,
    region: &str,
    metrics: &[MetricRef],
    topics: &mut HashMap<String, Fetched<u32>>,
) -> Fetched<Vec<AlarmFacts>> {
    let client = session.cloudwatch(region);
    let mut alarms = Vec::new();
    for metric in metrics {
        let out = session
            .throttle
            .call(
                Api::CloudWatchDescribeAlarmsForMetric,
                &session.scope(region),
                || {
                    client
                        .describe_alarms_for_metric()
                        .metric_name(&metric.name)
                        .namespace(&metric.namespace)
                        .send()
                },
            )
            .await?;
        for alarm in out.metric_alarms() {
            let mut actions = Vec::new();
            for arn in alarm.alarm_actions() {
                let topic = Arn::parse(arn).ok().filter(|a| a.service == "sns");
                let confirmed_subscriptions = match topic {
                    Some(topic) => {
                        if !topics.contains_key(arn) {
                            let count = confirmed_subscriptions(session, topic).await;
                            topics.insert(arn.clone(), count);
                        }
                        topics.get(arn).cloned()
                    }
                    None => None,
                };
                actions.push(AlarmActionFacts {
                    arn: arn.clone(),
                    confirmed_subscriptions,
                });
            }
            alarms.push(AlarmFacts {
                name: alarm.alarm_name().unwrap_or_default().to_string(),
                actions_enabled: alarm.actions_enabled().unwrap_or(false),
                metric: metric.clone(),
                actions,
                statistic: alarm.statistic().map(|s| s.as_str().to_string()),
                extended_statistic: alarm.extended_statistic().map(str::to_string),
                comparison_operator: alarm.comparison_operator().map(|c| c.as_str().to_string()),
                threshold: alarm.threshold(),
                evaluation_periods: alarm.evaluation_periods(),
                datapoints_to_alarm: alarm.datapoints_to_alarm(),
            });
        }
    }
    Ok(alarms)
}

/// Confirmed subscriptions of a topic, counting until the first one is found:
/// one is all the check needs, and big topics have many pages. The topic is
/// asked about in its own region, which only its ARN tells.
async fn confirmed_subscriptions(session: &AccountSession, topic: Arn<'_>) -> Fetched<u32> {
    let Some(region) = topic.region() else {
        return Err(CallError::new(
            Api::SnsListSubscriptionsByTopic,
            "InvalidTopicArn",
            format!("no region in the SNS topic ARN {topic}"),
        ));
    };
    let client = session.sns(region);
    let topic_arn = topic.to_string();
    let mut pages = pin!(session.throttle.pages(
        Api::SnsListSubscriptionsByTopic,
        session.scope(region),
        |token| {
            client
                .list_subscriptions_by_topic()
                .topic_arn(&topic_arn)
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
    ));
    while let Some(page) = pages.try_next().await? {
        // Unconfirmed subscriptions carry the placeholder "PendingConfirmation"
        // instead of an ARN and deliver nothing.
        let confirmed = page
            .subscriptions()
            .iter()
            .filter(|s| s.subscription_arn().is_some_and(|a| Arn::parse(a).is_ok()))
            .count();
        if confirmed > 0 {
            return Ok(u32::try_from(confirmed).unwrap_or(u32::MAX));
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_smithy_types::retry::RetryConfig;

    use super::*;
    use crate::aws::throttle::Throttle;

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

    #[tokio::test]
    async fn a_topic_without_a_region_is_an_error_and_no_request() {
        let session = AccountSession {
            account_id: "111122223333".into(),
            config: aws_types::SdkConfig::builder().build(),
            throttle: Arc::new(Throttle::new(RetryConfig::standard())),
            custom_endpoint: false,
        };
        let topic = Arn::parse("arn:aws-us-gov:sns::111122223333:alerts").expect("arn");
        let err = confirmed_subscriptions(&session, topic)
            .await
            .expect_err("no region to ask in");
        assert_eq!(
            (err.api.as_str(), err.code.as_str()),
            ("sns:ListSubscriptionsByTopic", "InvalidTopicArn")
        );
        assert!(session.throttle.call_counts().is_empty());
    }
}
