use std::collections::BTreeMap;

use super::fixtures::{alarm, metric, topic, trail, trail_with, walk, CIS, TOPIC};
use super::*;
use crate::aws::api::Api;
use crate::aws::throttle::CallError;
use crate::checks::fixtures::{account, empty_region, evaluate_region, logging_trail, verdicts};
use crate::facts::{
    AlarmActionFacts, AlarmFacts, DescribedTopicKey, FilterPolicyFacts, FollowedBus, RuleFacts,
    TargetFacts, TargetsFetch, TopicKeyFacts,
};

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
    assert!(walk.gaps.is_empty() && walk.unknown.is_empty() && walk.undecidable.is_empty());
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
    let no_alarm = trail_with(metric(), vec![]);
    assert_eq!(
        walk(&no_alarm).1.gaps,
        vec!["no alarm on the metric CISBenchmark/KmsMetric of filter kms-filter"]
    );

    let mut unconfirmed = alarm();
    unconfirmed.actions[0].confirmed_subscriptions = Some(Ok(0));
    unconfirmed.actions[0].topic = None;
    assert_eq!(
        walk(&trail(unconfirmed)).1.gaps,
        vec!["SNS topics of alarm kms-alarm have no confirmed subscriber: arn:aws:sns:us-east-1:111122223333:kms-alerts"]
    );

    let mut autoscaling = alarm();
    autoscaling.actions = vec![AlarmActionFacts {
        arn: "arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:x".into(),
        confirmed_subscriptions: None,
        topic: None,
    }];
    assert_eq!(
        walk(&trail(autoscaling)).1.gaps,
        vec!["alarm kms-alarm has no SNS topic action (actions: arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:x)"]
    );

    let mut lambda = alarm();
    lambda.actions = vec![AlarmActionFacts {
        arn: "arn:aws:lambda:us-east-1:111122223333:function:page".into(),
        confirmed_subscriptions: None,
        topic: None,
    }];
    let (chain, lambda_walk) = walk(&trail(lambda));
    assert!(chain.is_none() && lambda_walk.gaps.is_empty());
    assert_eq!(
        lambda_walk.undecidable,
        vec!["alarm kms-alarm: delivery to a person cannot be verified: action arn:aws:lambda:us-east-1:111122223333:function:page"]
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
    let (chain, walk) = walk(&trail_with(selector.metric.clone(), vec![selector]));
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

fn dims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An alarm on the CIS metric with these dimensions.
fn alarm_on(name: &str, dimensions: &[(&str, &str)]) -> AlarmFacts {
    let mut a = alarm();
    a.name = name.into();
    a.metric.dimensions = Some(dims(&[("EventName", "$.eventName")]));
    if let Some(details) = &mut a.details {
        if let Some(metric) = &mut details.metric {
            metric.dimensions = dims(dimensions);
        }
    }
    a
}

#[test]
fn dimensions_must_line_up_for_every_event() {
    let published = MetricRef {
        dimensions: Some(dims(&[("EventName", "$.eventName")])),
        ..metric()
    };
    // An alarm without dimensions watches another metric.
    let (chain, w) = walk(&trail_with(published.clone(), vec![alarm_on("plain", &[])]));
    assert!(chain.is_none());
    assert_eq!(
        w.gaps,
        vec![
            "alarm plain is on the metric CISBenchmark/KmsMetric with no dimensions, but filter kms-filter publishes DisableKey to it with {EventName=DisableKey}: the alarm receives none of their datapoints"
        ]
    );
    // One alarm per event: both covered.
    let both = vec![
        alarm_on("on-disable", &[("EventName", "DisableKey")]),
        alarm_on("on-schedule", &[("EventName", "ScheduleKeyDeletion")]),
    ];
    let (chain, w) = walk(&trail_with(published.clone(), both));
    let (resource, detail) = chain.expect("both events have an alarm");
    assert_eq!(resource, "on-disable, on-schedule");
    assert!(
        detail.contains(
            "→ metric CISBenchmark/KmsMetric {EventName=DisableKey} → alarm on-disable → SNS topic"
        ) && detail.contains("; {EventName=ScheduleKeyDeletion} → alarm on-schedule → SNS topic"),
        "{detail}"
    );
    assert!(w.undecidable.is_empty(), "{:?}", w.undecidable);
    // One of them only: the other event has no alarm.
    let (chain, w) = walk(&trail_with(
        published,
        vec![alarm_on("on-disable", &[("EventName", "DisableKey")])],
    ));
    assert!(chain.is_none());
    assert!(
        w.gaps.iter().any(|g| g.contains("filter kms-filter publishes ScheduleKeyDeletion to it with {EventName=ScheduleKeyDeletion}")),
        "{:?}",
        w.gaps
    );
}

#[test]
fn units_system_fields_and_old_filters_are_judged() {
    let mut with_unit = alarm();
    if let Some(details) = &mut with_unit.details {
        details.unit = Some("Count".into());
    }
    let (chain, w) = walk(&trail(with_unit));
    assert!(chain.is_none());
    assert_eq!(
        w.gaps,
        vec!["alarm kms-alarm reads only datapoints with the unit Count, and filter kms-filter publishes its metric with the unit None"]
    );

    let mut system = trail(alarm());
    if let Some(Ok(filters)) = &mut system.metric_filters {
        filters[0].system_field_dimensions = Some(vec!["@aws.account".into()]);
    }
    let (chain, w) = walk(&system);
    assert!(chain.is_none());
    assert!(
        w.undecidable[0].contains("adds the system fields @aws.account"),
        "{:?}",
        w.undecidable
    );

    let old_metric = MetricRef {
        dimensions: None,
        ..metric()
    };
    let (chain, w) = walk(&trail_with(old_metric, vec![alarm()]));
    assert!(chain.is_none());
    assert!(
        w.undecidable[0].contains("were not collected (evidence from an earlier cmkscan)"),
        "{:?}",
        w.undecidable
    );
}

#[test]
fn topics_that_cannot_deliver_break_the_chain() {
    let with_topic = |edit: fn(&mut crate::facts::TopicFacts)| {
        let mut a = alarm();
        let mut t = topic();
        edit(&mut t);
        a.actions[0].topic = Some(t);
        walk(&trail(a))
    };
    let (chain, w) = with_topic(|t| {
        if let Ok(attributes) = &mut t.attributes {
            attributes.kms_master_key_id = Some("alias/aws/sns".into());
        }
        t.key = Some(TopicKeyFacts {
            named: "alias/aws/sns".into(),
            described: None,
            policy: None,
        });
    });
    assert!(chain.is_none());
    assert_eq!(
        w.gaps,
        vec![format!("SNS topic {TOPIC} is encrypted with the AWS managed key alias/aws/sns, which CloudWatch alarms cannot use (its policy cannot be changed to let cloudwatch.amazonaws.com use it)")]
    );

    let key = |policy: &str| TopicKeyFacts {
        named: "alias/topics".into(),
        described: Some(Ok(DescribedTopicKey {
            arn: "arn:aws:kms:us-east-1:111122223333:key/k".into(),
            manager: Some("CUSTOMER".into()),
        })),
        policy: Some(Ok(policy.into())),
    };
    let root_only = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
    let mut a = alarm();
    a.actions[0].topic.as_mut().unwrap().key = Some(key(root_only));
    let (chain, w) = walk(&trail(a));
    assert!(chain.is_none());
    assert_eq!(
        w.gaps,
        vec![format!("the policy of key arn:aws:kms:us-east-1:111122223333:key/k, which encrypts SNS topic {TOPIC}, does not let cloudwatch.amazonaws.com use it (kms:Decrypt)")]
    );
    let for_cloudwatch = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudwatch:us-east-1:111122223333:alarm:*"}}}]}"#;
    let mut a = alarm();
    a.actions[0].topic.as_mut().unwrap().key = Some(key(for_cloudwatch));
    assert!(walk(&trail(a)).0.is_some());

    // A filter policy on message attributes: alarms may carry their tags.
    let (chain, w) = with_topic(|t| {
        t.subscriptions[0].filter_policy = Ok(Some(FilterPolicyFacts {
            policy: r#"{"severity":["high"]}"#.into(),
            scope: None,
        }))
    });
    assert!(chain.is_none() && w.gaps.is_empty());
    assert!(
        w.undecidable[0].contains("AlarmTagsPropagation"),
        "{:?}",
        w.undecidable
    );

    // Old evidence: nothing of the topic was collected.
    let mut a = alarm();
    a.actions[0].topic = None;
    let (chain, w) = walk(&trail(a));
    assert!(chain.is_none());
    assert!(
        w.undecidable[0].contains("were not collected"),
        "{:?}",
        w.undecidable
    );
}

#[test]
fn evidence_without_alarm_details_says_so() {
    let mut old = alarm();
    old.details = None;
    let (chain, w) = walk(&trail(old));
    assert!(chain.is_none() && w.gaps.is_empty());
    assert_eq!(
        w.undecidable,
        vec!["alarm kms-alarm was read by an earlier cmkscan, which did not collect how it treats missing data, its period, dimensions, state or mute rules"]
    );
}

const CIS_RULE: &str =
    r#"{"source":["aws.kms"],"detail":{"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;

fn events_topic() -> crate::facts::TopicFacts {
    let mut t = topic();
    if let Ok(attributes) = &mut t.attributes {
        attributes.policy = Some(format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Service":"events.amazonaws.com"}},"Action":"sns:Publish","Resource":"{TOPIC}"}}]}}"#
        ));
    }
    t
}

fn sns_target(topic: Option<crate::facts::TopicFacts>) -> TargetFacts {
    TargetFacts {
        id: "notify".into(),
        arn: TOPIC.into(),
        role_arn: None,
        input: None,
        confirmed_subscriptions: Some(Ok(1)),
        topic,
        bus: None,
    }
}

fn rule(name: &str, state: &str, pattern: &str, targets: Vec<TargetFacts>) -> RuleFacts {
    RuleFacts {
        name: name.into(),
        state: state.into(),
        event_pattern: Some(pattern.into()),
        targets: Some(Ok(targets.len() as u32)),
        targets_fetch: TargetsFetch::Fetched,
        arn: Some(format!("arn:aws:events:us-east-1:111122223333:rule/{name}")),
        target_details: Some(targets),
    }
}

/// The alerting verdicts of us-east-1 with `rules`, and a logging trail
/// (S3 only) when `trail` is set.
fn alerting(rules: Vec<RuleFacts>, trail: bool) -> Vec<(Status, String)> {
    let mut region = empty_region();
    region.rules = Ok(rules);
    let mut account = account(region);
    if trail {
        account.trails = vec![logging_trail()];
    }
    verdicts(
        &evaluate_region(&account, &Ok(vec![])),
        CheckId::KmsDisableDeleteAlerting,
    )
}

#[test]
fn eventbridge_details_name_the_trail_the_rule_and_the_delivery() {
    assert_eq!(
        alerting(vec![rule("kms", "ENABLED", CIS_RULE, vec![sns_target(Some(events_topic()))])], true),
        vec![(
            Status::Pass,
            format!("trail arn:aws:cloudtrail:us-east-1:111122223333:trail/main → EventBridge rule kms matches both events → SNS topic {TOPIC} (1 confirmed subscription(s))")
        )]
    );
    assert_eq!(
        alerting(vec![rule("kms", "DISABLED", CIS_RULE, vec![])], false),
        vec![(
            Status::Fail,
            "no trail covers this region; EventBridge rule kms is disabled (state DISABLED)"
                .to_string()
        )]
    );
    let ec2 = r#"{"source":["aws.ec2"]}"#;
    assert_eq!(
        alerting(vec![rule("ec2", "ENABLED", ec2, vec![])], false),
        vec![(
            Status::Fail,
            "no trail covers this region; no EventBridge rule matches DisableKey and ScheduleKeyDeletion (1 rules on the default event bus)".to_string()
        )]
    );
}

#[test]
fn eventbridge_needs_a_logging_trail() {
    let verdicts = alerting(
        vec![rule(
            "kms",
            "ENABLED",
            CIS_RULE,
            vec![sns_target(Some(events_topic()))],
        )],
        false,
    );
    assert_eq!(verdicts[0].0, Status::Fail);
    assert!(
        verdicts[0].1.contains("EventBridge rule kms matches both events, but EventBridge receives \"AWS API Call via CloudTrail\" events only from a logging trail, and none covers this region"),
        "{verdicts:?}"
    );
}

#[test]
fn eventbridge_targets_meet_the_alarm_standard() {
    // SNS's default policy does not let EventBridge publish.
    let default_policy = alerting(
        vec![rule(
            "kms",
            "ENABLED",
            CIS_RULE,
            vec![sns_target(Some(topic()))],
        )],
        true,
    );
    assert_eq!(default_policy[0].0, Status::Fail);
    assert!(
        default_policy[0]
            .1
            .contains("does not let events.amazonaws.com publish"),
        "{default_policy:?}"
    );
    // No confirmed subscriber.
    let mut unconfirmed = sns_target(None);
    unconfirmed.confirmed_subscriptions = Some(Ok(0));
    let v = alerting(
        vec![rule("kms", "ENABLED", CIS_RULE, vec![unconfirmed])],
        true,
    );
    assert_eq!(v[0].0, Status::Fail);
    assert!(v[0].1.contains("has no confirmed subscriber"), "{v:?}");
    // A Lambda function: WARN.
    let mut lambda = sns_target(None);
    lambda.arn = "arn:aws:lambda:us-east-1:111122223333:function:page".into();
    lambda.confirmed_subscriptions = None;
    let v = alerting(vec![rule("kms", "ENABLED", CIS_RULE, vec![lambda])], true);
    assert_eq!(
        v,
        vec![(
            Status::Warn,
            "cannot decide: EventBridge rule kms: delivery to a person cannot be verified: target arn:aws:lambda:us-east-1:111122223333:function:page".to_string()
        )]
    );
    // A filter policy on message attributes drops EventBridge's messages.
    let mut filtered = events_topic();
    filtered.subscriptions[0].filter_policy = Ok(Some(FilterPolicyFacts {
        policy: r#"{"severity":["high"]}"#.into(),
        scope: Some("MessageAttributes".into()),
    }));
    let v = alerting(
        vec![rule(
            "kms",
            "ENABLED",
            CIS_RULE,
            vec![sns_target(Some(filtered))],
        )],
        true,
    );
    assert_eq!(v[0].0, Status::Fail);
    assert!(
        v[0].1.contains("every confirmed subscription of SNS topic"),
        "{v:?}"
    );
    // Old evidence: targets counted only.
    let mut old = rule("kms", "ENABLED", CIS_RULE, vec![]);
    old.targets = Some(Ok(2));
    old.target_details = None;
    let v = alerting(vec![old], true);
    assert_eq!(v[0].0, Status::Warn);
    assert!(v[0].1.contains("counted but not collected"), "{v:?}");
}

const CENTRAL: &str = "arn:aws:events:us-east-1:999999999999:event-bus/security";

fn bus_target(policy: Option<&str>, role: Option<&str>, rules: Vec<RuleFacts>) -> TargetFacts {
    TargetFacts {
        id: "central".into(),
        arn: CENTRAL.into(),
        role_arn: role.map(str::to_string),
        input: None,
        confirmed_subscriptions: None,
        topic: None,
        bus: Some(Ok(FollowedBus {
            policy: Ok(policy.map(str::to_string)),
            rules: Ok(rules),
        })),
    }
}

#[test]
fn a_central_bus_is_followed_one_hop() {
    let org_policy = format!(
        r#"{{"Statement":[{{"Sid":"org","Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"{CENTRAL}","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}}}]}}"#
    );
    let mut central_rule = rule(
        "central-kms",
        "ENABLED",
        CIS_RULE,
        vec![sns_target(Some(events_topic()))],
    );
    central_rule.arn =
        Some("arn:aws:events:us-east-1:999999999999:rule/security/central-kms".into());
    let role = "arn:aws:iam::111122223333:role/forward-to-security";
    let v = alerting(
        vec![rule(
            "to-central",
            "ENABLED",
            CIS_RULE,
            vec![bus_target(
                Some(&org_policy),
                Some(role),
                vec![central_rule.clone()],
            )],
        )],
        true,
    );
    assert_eq!(v[0].0, Status::Pass, "{v:?}");
    assert!(
        v[0].1.contains(&format!("EventBridge rule to-central matches both events → event bus {CENTRAL} (account 999999999999, cross-account) → EventBridge rule central-kms (pattern ")),
        "{v:?}"
    );
    // Granted through the organisation but without a role: not delivered.
    let v = alerting(
        vec![rule(
            "to-central",
            "ENABLED",
            CIS_RULE,
            vec![bus_target(
                Some(&org_policy),
                None,
                vec![central_rule.clone()],
            )],
        )],
        true,
    );
    assert_eq!(v[0].0, Status::Fail);
    assert!(v[0].1.contains("only through the organisation"), "{v:?}");
    // A receiving rule that forwards again: the event never arrives.
    let mut forwarding = central_rule.clone();
    forwarding.target_details = Some(vec![TargetFacts {
        arn: "arn:aws:events:us-east-1:888888888888:event-bus/third".into(),
        bus: None,
        ..sns_target(None)
    }]);
    let v = alerting(
        vec![rule(
            "to-central",
            "ENABLED",
            CIS_RULE,
            vec![bus_target(Some(&org_policy), Some(role), vec![forwarding])],
        )],
        true,
    );
    assert_eq!(v[0].0, Status::Fail);
    assert!(
        v[0].1.contains("EventBridge forwards an event once"),
        "{v:?}"
    );
    // A receiving rule for other accounts only.
    let mut elsewhere = central_rule.clone();
    elsewhere.event_pattern = Some(r#"{"source":["aws.kms"],"account":["444455556666"]}"#.into());
    let v = alerting(
        vec![rule(
            "to-central",
            "ENABLED",
            CIS_RULE,
            vec![bus_target(Some(&org_policy), Some(role), vec![elsewhere])],
        )],
        true,
    );
    assert_eq!(v[0].0, Status::Fail);
    assert!(v[0].1.contains("no rule on event bus"), "{v:?}");
    // An unreadable bus: WARN.
    let mut unreadable = bus_target(None, Some(role), vec![]);
    unreadable.bus = Some(Err(CallError::new(
        Api::StsAssumeRole,
        "AccessDenied",
        "no role",
    )));
    let v = alerting(
        vec![rule("to-central", "ENABLED", CIS_RULE, vec![unreadable])],
        true,
    );
    assert_eq!(v[0].0, Status::Warn);
    assert!(v[0].1.contains("which cmkscan could not read"), "{v:?}");
}
