//! Facts of a complete alarm chain for the alerting check's unit tests:
//! tests change the link they are about.

use std::collections::BTreeMap;

use super::{trail_chain, Chain, Walk};
use crate::checks::kms_events::Subject;
use crate::facts::{
    AlarmActionFacts, AlarmDetails, AlarmFacts, DescribedTrail, MetricFilterFacts, MetricRef,
    SubscriptionFacts, TopicAttributes, TopicFacts, TrailFacts, WatchedMetric,
};

pub const CIS: &str = "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }";
pub const SUBJECT: Subject<'static> = Subject {
    account: "111122223333",
    region: "us-east-1",
};
pub const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:kms-alerts";

/// The CIS filter's metric: 1 per event, no default value, no dimensions.
pub fn metric() -> MetricRef {
    MetricRef {
        name: "KmsMetric".into(),
        namespace: "CISBenchmark".into(),
        value: "1".into(),
        default_value: None,
        dimensions: Some(BTreeMap::new()),
        unit: None,
    }
}

/// An unencrypted topic with SNS's default policy and one confirmed email
/// subscription without a filter policy.
pub fn topic() -> TopicFacts {
    TopicFacts {
        attributes: Ok(TopicAttributes {
            kms_master_key_id: None,
            policy: Some(format!(
                r#"{{"Version":"2008-10-17","Statement":[{{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["SNS:GetTopicAttributes","SNS:Publish"],"Resource":"{TOPIC}","Condition":{{"StringEquals":{{"AWS:SourceOwner":"111122223333"}}}}}}]}}"#
            )),
        }),
        subscriptions: vec![SubscriptionFacts {
            arn: format!("{TOPIC}:0b1c"),
            protocol: "email".into(),
            filter_policy: Ok(None),
        }],
        unread_subscriptions: false,
        key: None,
    }
}

/// The seeded CIS alarm: Sum ≥ 1 over one 5-minute period, missing data
/// treated as missing (AWS's default), in state OK, with no mute rule,
/// notifying a topic with a confirmed subscriber.
pub fn alarm() -> AlarmFacts {
    AlarmFacts {
        name: "kms-alarm".into(),
        actions_enabled: true,
        metric: metric(),
        actions: vec![AlarmActionFacts {
            arn: TOPIC.into(),
            confirmed_subscriptions: Some(Ok(1)),
            topic: Some(topic()),
        }],
        statistic: Some("Sum".into()),
        extended_statistic: None,
        comparison_operator: Some("GreaterThanOrEqualToThreshold".into()),
        threshold: Some(1.0),
        evaluation_periods: Some(1),
        datapoints_to_alarm: None,
        details: Some(AlarmDetails {
            arn: Some("arn:aws:cloudwatch:us-east-1:111122223333:alarm:kms-alarm".into()),
            metric: Some(WatchedMetric {
                namespace: "CISBenchmark".into(),
                name: "KmsMetric".into(),
                dimensions: BTreeMap::new(),
            }),
            unit: None,
            period: Some(300),
            treat_missing_data: None,
            state: Some("OK".into()),
            state_since: Some("2026-11-01T00:00:00Z".into()),
            queries: vec![],
            mute_rules: Some(Ok(vec![])),
        }),
    }
}

/// A logging trail delivering to CloudWatch Logs, whose log group has
/// the CIS filter with `alarm` on its metric.
pub fn trail(alarm: AlarmFacts) -> TrailFacts {
    trail_with(alarm.metric.clone(), vec![alarm])
}

/// [`trail`] with the filter's metric and alarms as given.
pub fn trail_with(metric: MetricRef, alarms: Vec<AlarmFacts>) -> TrailFacts {
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
            metrics: vec![metric],
            alarms: Ok(alarms),
            system_field_dimensions: Some(vec![]),
        }])),
        ..logging
    }
}

pub fn walk(trail: &TrailFacts) -> (Option<Chain>, Walk) {
    let mut walk = Walk::default();
    let chain = trail_chain(trail, SUBJECT, &mut walk);
    (chain, walk)
}
