//! `alerting.kms_disable_delete` against the emulator, link by link, where
//! an alerting chain could look complete and still tell no one: an alarm
//! that cannot change state on the event, a metric whose dimensions no
//! alarm watches, a topic that cannot be published to or whose
//! subscriptions drop the message, an EventBridge target that reaches no
//! person, an organisation trail without CloudTrail's trusted access, a
//! muted alarm, a metric math alarm. Mute rules are served by the front
//! (moto has none); everything else is moto.

use aws_sdk_cloudwatch::types::{StateValue, Statistic};
use aws_sdk_eventbridge::types::Target;
use cmkscan::{Finding, Status};
use serde_json::json;

use crate::checks_alerting::{
    cis_filter_and_topic, east_verdict, east_verdict_for_alarm, org_with_logged_trail,
    org_with_trail, CHECK, EAST, WEST,
};
use crate::support::front::MuteRule;
use crate::support::seed::{
    events_may_publish, Account, AlarmRule, TrailSpec, CIS_FILTER, CIS_RULE,
};
use crate::support::{assert_finding, options, org, single, Emulator, MANAGEMENT_ACCOUNT};

const ALARM_ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:kms-alarm";

/// [`east_verdict`] for the CIS filter on `trail-logs` with its metric
/// transformation edited by `edit`, and an alarm judged by `rule`.
async fn east_verdict_for_filter_and_alarm(
    edit: impl FnOnce(
        aws_sdk_cloudwatchlogs::types::builders::MetricTransformationBuilder,
    ) -> aws_sdk_cloudwatchlogs::types::builders::MetricTransformationBuilder,
    rule: AlarmRule,
) -> Finding {
    let (emulator, m) = org_with_logged_trail().await;
    m.metric_filter_with(
        EAST,
        "trail-logs",
        "kms-filter",
        CIS_FILTER,
        "KmsMetric",
        edit,
    )
    .await;
    let topic = m.topic(EAST, "kms-alerts", true).await;
    m.alarm_with(EAST, "kms-alarm", "KmsMetric", &[&topic], true, rule)
        .await;
    east_verdict(&emulator).await
}

// ---- 1. An alarm that cannot change state on the event --------------------

#[tokio::test(flavor = "multi_thread")]
async fn plain_cis_alarm_with_missing_data_not_breaching_passes() {
    let f = east_verdict_for_alarm(AlarmRule {
        treat_missing_data: Some("notBreaching"),
        ..AlarmRule::default()
    })
    .await;
    assert_finding(&f, Status::Pass, &["→ alarm kms-alarm → SNS topic"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_treating_missing_data_as_breaching_fails() {
    let f = east_verdict_for_alarm(AlarmRule {
        treat_missing_data: Some("breaching"),
        ..AlarmRule::default()
    })
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm treats missing data as breaching: with no KMS events its metric has no datapoints, so it is already in ALARM when a key is disabled"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_ignoring_missing_data_without_a_default_value_warns() {
    let f = east_verdict_for_alarm(AlarmRule {
        treat_missing_data: Some("ignore"),
        ..AlarmRule::default()
    })
    .await;
    assert_finding(
        &f,
        Status::Warn,
        &["alarm kms-alarm ignores missing data and its metric has no datapoints between KMS events: after its first event it stays in ALARM"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sample_count_with_a_default_value_counts_log_traffic_and_fails() {
    let f = east_verdict_for_filter_and_alarm(
        |t| t.default_value(0.0),
        AlarmRule {
            statistic: Statistic::SampleCount,
            ..AlarmRule::default()
        },
    )
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm counts log traffic, not KMS calls"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn maximum_with_a_default_value_meeting_the_threshold_fails() {
    let f = east_verdict_for_filter_and_alarm(
        |t| t.default_value(1.0),
        AlarmRule {
            statistic: Statistic::Maximum,
            ..AlarmRule::default()
        },
    )
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm fires on ordinary log traffic (the filter's default value 1 alone meets its threshold 1), so it is already in ALARM when a key is disabled"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sum_of_a_default_value_over_the_period_reaching_the_threshold_fails() {
    let f = east_verdict_for_filter_and_alarm(|t| t.default_value(1.0), AlarmRule::default()).await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm fires on ordinary log traffic (the default value 1 the filter publishes each minute of log traffic, 5 over its period, meets its threshold 1)"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sum_of_a_small_default_value_warns() {
    let f = east_verdict_for_filter_and_alarm(
        |t| t.default_value(0.1).metric_value("10"),
        AlarmRule {
            threshold: 10.0,
            ..AlarmRule::default()
        },
    )
    .await;
    assert_finding(
        &f,
        Status::Warn,
        &[
            "alarm kms-alarm sums the default value 0.1",
            "once per log event in the API reference",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn three_of_three_periods_with_a_default_value_fails() {
    let f = east_verdict_for_filter_and_alarm(
        |t| t.default_value(0.0),
        AlarmRule {
            evaluation_periods: 3,
            datapoints_to_alarm: Some(3),
            ..AlarmRule::default()
        },
    )
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm needs 3 breaching periods; one event breaches one"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_already_in_alarm_warns() {
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;
    m.set_alarm_state(EAST, "kms-disable-delete", StateValue::Alarm)
        .await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Warn,
        &[
            "alarm kms-disable-delete has been in ALARM since ",
            "a key disabled now would not notify anyone until it returns to OK",
        ],
    );
}

// ---- 2. Dimensions must line up ---------------------------------------------

/// The CIS filter publishing its metric with the dimension EventName (the
/// event's name), and an alarm per entry of `alarms` (name, EventName).
async fn east_verdict_with_dimensions(alarms: &[(&str, Option<&'static str>)]) -> Finding {
    let (emulator, m) = org_with_logged_trail().await;
    m.metric_filter_with(
        EAST,
        "trail-logs",
        "kms-filter",
        CIS_FILTER,
        "KmsMetric",
        |t| t.dimensions("EventName", "$.eventName"),
    )
    .await;
    let topic = m.topic(EAST, "kms-alerts", true).await;
    for (name, event) in alarms {
        let rule = AlarmRule {
            dimensions: event.map(|e| vec![("EventName", e)]).unwrap_or_default(),
            ..AlarmRule::default()
        };
        m.alarm_with(EAST, name, "KmsMetric", &[&topic], true, rule)
            .await;
    }
    east_verdict(&emulator).await
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_without_the_filters_dimensions_gets_no_data_and_fails() {
    // moto returns the alarm whatever its dimensions: the check compares them.
    let f = east_verdict_with_dimensions(&[("kms-alarm", None)]).await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm is on the metric CISBenchmark/KmsMetric with no dimensions, but filter kms-filter publishes DisableKey to it with {EventName=DisableKey}: the alarm receives none of their datapoints"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_per_event_dimension_passes() {
    let f = east_verdict_with_dimensions(&[
        ("on-disable", Some("DisableKey")),
        ("on-schedule", Some("ScheduleKeyDeletion")),
    ])
    .await;
    assert_finding(
        &f,
        Status::Pass,
        &[
            "→ metric CISBenchmark/KmsMetric {EventName=DisableKey} → alarm on-disable → SNS topic",
            "; {EventName=ScheduleKeyDeletion} → alarm on-schedule → SNS topic",
        ],
    );
    assert_eq!(f.resource_id, "on-disable, on-schedule");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_for_one_event_dimension_only_fails_naming_the_other() {
    let f = east_verdict_with_dimensions(&[("on-disable", Some("DisableKey"))]).await;
    assert_finding(
        &f,
        Status::Fail,
        &["filter kms-filter publishes ScheduleKeyDeletion to it with {EventName=ScheduleKeyDeletion}"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn system_field_dimensions_warn() {
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;
    // moto drops emitSystemFieldDimensions; AWS returns it.
    emulator.front.rewrite("DescribeMetricFilters", |answer| {
        if let Some(filters) = answer["metricFilters"].as_array_mut() {
            for filter in filters {
                filter["emitSystemFieldDimensions"] = json!(["@aws.account"]);
            }
        }
    });
    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Warn,
        &["metric filter kms-disable-delete adds the system fields @aws.account to its metric CISBenchmark/KmsDisableDelete as dimensions"],
    );
}

// ---- 3. A topic that cannot be published to ---------------------------------

/// The CIS filter and alarm `kms-alarm` notifying a subscribed topic
/// encrypted with `key` (any text for `KmsMasterKeyId`).
async fn east_verdict_with_topic_key(emulator: &Emulator, m: &Account, key: &str) -> Finding {
    m.metric_filter(EAST, "trail-logs", "kms-filter", CIS_FILTER, "KmsMetric")
        .await;
    let topic = m
        .topic_with(EAST, "kms-alerts", true, &[("KmsMasterKeyId", key)])
        .await;
    m.alarm(EAST, "kms-alarm", "KmsMetric", &[&topic], true)
        .await;
    east_verdict(emulator).await
}

fn key_policy(extra: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:root"}},"Action":"kms:*","Resource":"*"}}{extra}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_encrypted_with_the_sns_managed_key_fails() {
    let (emulator, m) = org_with_logged_trail().await;
    let f = east_verdict_with_topic_key(&emulator, &m, "alias/aws/sns").await;
    assert_finding(
        &f,
        Status::Fail,
        &["SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts is encrypted with the AWS managed key alias/aws/sns, which CloudWatch alarms cannot use"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_encrypted_with_an_aws_managed_key_named_by_id_fails() {
    let (emulator, m) = org_with_logged_trail().await;
    let key = m.key_with_policy(EAST, &key_policy("")).await;
    // moto makes every key customer managed; AWS says AWS for its own.
    emulator.front.rewrite("DescribeKey", |answer| {
        answer["KeyMetadata"]["KeyManager"] = json!("AWS");
    });
    let f = east_verdict_with_topic_key(&emulator, &m, &key).await;
    assert_finding(
        &f,
        Status::Fail,
        &[
            "is encrypted with the AWS managed key",
            "which CloudWatch alarms cannot use",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_key_whose_policy_leaves_out_cloudwatch_fails() {
    let (emulator, m) = org_with_logged_trail().await;
    let key = m.key_with_policy(EAST, &key_policy("")).await;
    let f = east_verdict_with_topic_key(&emulator, &m, &key).await;
    assert_finding(
        &f,
        Status::Fail,
        &[&format!("the policy of key {key}, which encrypts SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts, does not let cloudwatch.amazonaws.com use it (kms:Decrypt)")],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_key_letting_cloudwatch_in_for_the_alarm_passes() {
    let (emulator, m) = org_with_logged_trail().await;
    let allow = format!(
        r#",{{"Sid":"AllowCloudWatchAlarms","Effect":"Allow","Principal":{{"Service":"cloudwatch.amazonaws.com"}},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*","Condition":{{"ArnEquals":{{"aws:SourceArn":"{ALARM_ARN}"}}}}}}"#
    );
    let key = m.key_with_policy(EAST, &key_policy(&allow)).await;
    // Named by an alias, as topics often are.
    aws_sdk_kms::Client::new(&m.at(EAST))
        .create_alias()
        .alias_name("alias/alerts")
        .target_key_id(key.rsplit('/').next().unwrap_or(&key))
        .send()
        .await
        .expect("create alias");
    let f = east_verdict_with_topic_key(&emulator, &m, "alias/alerts").await;
    assert_finding(&f, Status::Pass, &["→ alarm kms-alarm → SNS topic"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_key_policy_with_a_condition_cmkscan_cannot_evaluate_warns() {
    let (emulator, m) = org_with_logged_trail().await;
    let allow = r#",{"Sid":"ViaSns","Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"sns.us-east-1.amazonaws.com"}}}"#;
    let key = m.key_with_policy(EAST, &key_policy(allow)).await;
    let f = east_verdict_with_topic_key(&emulator, &m, &key).await;
    assert_finding(
        &f,
        Status::Warn,
        &["lets cloudwatch.amazonaws.com use it depends on statement \"ViaSns\": its condition StringEquals on kms:ViaService"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_get_key_policy_is_an_error() {
    let (emulator, m) = org_with_logged_trail().await;
    let key = m.key_with_policy(EAST, &key_policy("")).await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, "GetKeyPolicy");
    let f = east_verdict_with_topic_key(&emulator, &m, &key).await;
    assert_finding(
        &f,
        Status::Error,
        &["policy of key", "kms:GetKeyPolicy", "AccessDenied"],
    );
}

/// A logging trail, the CIS rule targeting topic `kms-alerts` with the
/// access policy `policy` (or SNS's default) whose one confirmed
/// subscription has `filter` (policy, scope), if any.
async fn east_rule_verdict(policy: Option<&str>, filter: Option<(&str, &str)>) -> Finding {
    let (emulator, m) = org_with_trail().await;
    let topic = m.topic(EAST, "kms-alerts", filter.is_none()).await;
    if let Some(policy) = policy {
        m.set_topic_policy(EAST, &topic, &policy.replace("TOPIC", &topic))
            .await;
    }
    if let Some((filter, scope)) = filter {
        m.filtered_subscription(EAST, &topic, filter, scope).await;
    }
    m.rule(EAST, "kms-disable-delete", CIS_RULE, true, Some(&topic))
        .await;
    east_verdict(&emulator).await
}

fn events_policy() -> String {
    events_may_publish("TOPIC")
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_topic_whose_policy_leaves_out_events_fails() {
    let f = east_rule_verdict(None, None).await;
    assert_finding(
        &f,
        Status::Fail,
        &["the access policy of SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts does not let events.amazonaws.com publish to it"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_topic_policy_with_a_source_condition_fails() {
    // "You can't use Condition blocks in Amazon SNS topic policies for
    // EventBridge".
    let conditional = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"TOPIC","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:123456789012:rule/kms-disable-delete"}}}]}"#;
    let f = east_rule_verdict(Some(conditional), None).await;
    assert_finding(
        &f,
        Status::Fail,
        &["does not let events.amazonaws.com publish to it"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn attribute_filter_policy_drops_eventbridge_messages_and_fails() {
    let f = east_rule_verdict(
        Some(&events_policy()),
        Some((r#"{"severity":["high"]}"#, "MessageAttributes")),
    )
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["every confirmed subscription of SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts drops what EventBridge send", "needs message attributes, and none are published"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn attribute_filter_policy_taking_absent_attributes_passes() {
    let f = east_rule_verdict(
        Some(&events_policy()),
        Some((r#"{"severity":[{"exists":false}]}"#, "MessageAttributes")),
    )
    .await;
    assert_finding(
        &f,
        Status::Pass,
        &["→ SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn body_filter_policy_on_both_events_passes() {
    let f = east_rule_verdict(
        Some(&events_policy()),
        Some((
            r#"{"detail":{"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#,
            "MessageBody",
        )),
    )
    .await;
    assert_finding(
        &f,
        Status::Pass,
        &["→ SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn body_filter_policy_on_disable_key_only_fails() {
    let f = east_rule_verdict(
        Some(&events_policy()),
        Some((r#"{"detail":{"eventName":["DisableKey"]}}"#, "MessageBody")),
    )
    .await;
    assert_finding(&f, Status::Fail, &["drops ScheduleKeyDeletion"]);
}

// ---- 4. EventBridge targets meet the same standard ----------------------------

#[tokio::test(flavor = "multi_thread")]
async fn rule_without_a_logging_trail_fails() {
    let (emulator, m) = org().await;
    let topic = m.events_topic(EAST, "kms-alerts").await;
    m.rule(EAST, "kms-disable-delete", CIS_RULE, true, Some(&topic))
        .await;
    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["EventBridge rule kms-disable-delete matches both events, but EventBridge receives \"AWS API Call via CloudTrail\" events only from a logging trail, and none covers this region"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rule_to_a_lambda_function_warns() {
    let (emulator, m) = org_with_trail().await;
    let lambda = "arn:aws:lambda:us-east-1:123456789012:function:page-security";
    m.rule(EAST, "kms-disable-delete", CIS_RULE, true, Some(lambda))
        .await;
    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Warn,
        &[&format!("EventBridge rule kms-disable-delete: delivery to a person cannot be verified: target {lambda}")],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rule_to_a_topic_without_a_subscriber_fails() {
    let (emulator, m) = org_with_trail().await;
    let topic = m.topic(EAST, "kms-alerts", false).await;
    m.rule(EAST, "kms-disable-delete", CIS_RULE, true, Some(&topic))
        .await;
    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts, the target of EventBridge rule kms-disable-delete, has no confirmed subscriber"],
    );
}

/// The management account's central bus `security` in `region`, open to
/// the whole organisation, with a rule matching `pattern` that notifies a
/// topic EventBridge may publish to (or forwards to `forward`, a bus).
async fn central_bus(
    emulator: &Emulator,
    m: &Account,
    region: &str,
    pattern: &str,
    forward: Option<&str>,
) -> String {
    let org_id = emulator.organization_id().await;
    let bus_arn = format!("arn:aws:events:{region}:{MANAGEMENT_ACCOUNT}:event-bus/security");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"WholeOrganisation","Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"{bus_arn}","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{org_id}"}}}}}}]}}"#
    );
    let bus = m.event_bus(region, "security", Some(&policy)).await;
    let target = match forward {
        Some(arn) => arn.to_string(),
        None => m.events_topic(region, "security-alerts").await,
    };
    m.rule_on(
        region,
        Some("security"),
        "kms-from-members",
        pattern,
        true,
        vec![Target::builder()
            .id("notify")
            .arn(target)
            .build()
            .expect("target")],
    )
    .await;
    bus
}

/// An organisation trail (logging for members, with trusted access), and a
/// member whose CIS rule forwards to `bus`, through a role when `role`.
async fn member_forwarding_to(emulator: &Emulator, bus: &str, role: bool) -> Account {
    let member = emulator.create_account("workload").await;
    let mut target = Target::builder().id("central").arn(bus);
    if role {
        target = target.role_arn(format!(
            "arn:aws:iam::{}:role/forward-to-security",
            member.id
        ));
    }
    member
        .rule_on(
            EAST,
            None,
            "to-security",
            CIS_RULE,
            true,
            vec![target.build().expect("target")],
        )
        .await;
    member
}

async fn org_with_org_trail() -> (Emulator, Account) {
    let (emulator, m) = org().await;
    let mut spec = TrailSpec::multi_region("org-trail", EAST);
    spec.organization = true;
    m.trail(spec).await;
    (emulator, m)
}

async fn member_verdict(emulator: &Emulator, member: &Account) -> Finding {
    let outcome = emulator.scan(options(&[EAST])).await;
    single(&outcome.findings, &member.id, EAST, CHECK).clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn central_bus_chain_to_a_confirmed_subscriber_passes_naming_the_hops() {
    let (emulator, m) = org_with_org_trail().await;
    let bus = central_bus(&emulator, &m, EAST, CIS_RULE, None).await;
    let member = member_forwarding_to(&emulator, &bus, true).await;
    let f = member_verdict(&emulator, &member).await;
    assert_finding(
        &f,
        Status::Pass,
        &[
            "organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail → EventBridge rule to-security matches both events",
            "→ event bus arn:aws:events:us-east-1:123456789012:event-bus/security (account 123456789012, cross-account) → EventBridge rule kms-from-members (pattern ",
            "→ SNS topic arn:aws:sns:us-east-1:123456789012:security-alerts (1 confirmed subscription(s))",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn central_bus_in_another_region_passes_saying_so() {
    let (emulator, m) = org_with_org_trail().await;
    let bus = central_bus(&emulator, &m, WEST, CIS_RULE, None).await;
    let member = member_forwarding_to(&emulator, &bus, true).await;
    let f = member_verdict(&emulator, &member).await;
    assert_finding(
        &f,
        Status::Pass,
        &["(account 123456789012, cross-account; region eu-west-1, cross-region)"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn central_bus_granted_to_the_organisation_without_a_target_role_fails() {
    let (emulator, m) = org_with_org_trail().await;
    let bus = central_bus(&emulator, &m, EAST, CIS_RULE, None).await;
    let member = member_forwarding_to(&emulator, &bus, false).await;
    let f = member_verdict(&emulator, &member).await;
    assert_finding(
        &f,
        Status::Fail,
        &["admits account", "only through the organisation (statement \"WholeOrganisation\"), and EventBridge then needs a role on the target"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn central_rule_for_other_accounts_fails() {
    let (emulator, m) = org_with_org_trail().await;
    let elsewhere = r#"{"source":["aws.kms"],"account":["444455556666"]}"#;
    let bus = central_bus(&emulator, &m, EAST, elsewhere, None).await;
    let member = member_forwarding_to(&emulator, &bus, true).await;
    let f = member_verdict(&emulator, &member).await;
    assert_finding(
        &f,
        Status::Fail,
        &["no rule on event bus arn:aws:events:us-east-1:123456789012:event-bus/security (where EventBridge rule to-security forwards them) matches DisableKey and ScheduleKeyDeletion"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn central_rule_forwarding_again_fails() {
    let (emulator, m) = org_with_org_trail().await;
    let third = "arn:aws:events:us-east-1:123456789012:event-bus/archive";
    let bus = central_bus(&emulator, &m, EAST, CIS_RULE, Some(third)).await;
    let member = member_forwarding_to(&emulator, &bus, true).await;
    let f = member_verdict(&emulator, &member).await;
    assert_finding(
        &f,
        Status::Fail,
        &[&format!("forwards to event bus {third}, but EventBridge forwards an event once, so it never arrives")],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bus_in_an_account_cmkscan_cannot_enter_warns() {
    let (emulator, _m) = org_with_org_trail().await;
    let security = emulator.create_account("security").await;
    emulator.front.deny_role(&security.id, "CmkScanReadOnly");
    let bus = format!(
        "arn:aws:events:us-east-1:{}:event-bus/security",
        security.id
    );
    let member = member_forwarding_to(&emulator, &bus, true).await;
    let f = member_verdict(&emulator, &member).await;
    assert_finding(
        &f,
        Status::Warn,
        &[
            &format!("forwards to event bus {bus}, which cmkscan could not read"),
            "sts:AssumeRole",
        ],
    );
}

// ---- 5. Organisation trails and CloudTrail's trusted access -------------------

#[tokio::test(flavor = "multi_thread")]
async fn without_trusted_access_the_organisation_trail_credits_no_member() {
    let (emulator, m) = org().await;
    let member = emulator.create_account("bare").await;
    let mut spec = TrailSpec::multi_region("org-trail", EAST);
    spec.organization = true;
    spec.log_group = Some("org-trail-logs");
    m.trail(spec).await;
    m.cis_alarm_chain(EAST, "org-trail-logs").await;
    emulator.disable_cloudtrail_trusted_access().await;

    let outcome = emulator.scan(options(&[EAST])).await;
    let why = "organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail does not log for this account: trusted access for cloudtrail.amazonaws.com is disabled in Organizations";
    for check in ["cloudtrail.kms_events_logged", CHECK] {
        assert_finding(
            single(&outcome.findings, &member.id, EAST, check),
            Status::Fail,
            &[why],
        );
        // The management account's own trail still logs for itself.
        assert_eq!(
            single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, check).status,
            Status::Pass,
            "{check}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_trusted_access_is_an_error_in_the_members_rows() {
    let (emulator, m) = org().await;
    let member = emulator.create_account("bare").await;
    let mut spec = TrailSpec::multi_region("org-trail", EAST);
    spec.organization = true;
    m.trail(spec).await;
    emulator
        .front
        .deny(MANAGEMENT_ACCOUNT, "ListAWSServiceAccessForOrganization");

    let outcome = emulator.scan(options(&[EAST])).await;
    assert_finding(
        single(&outcome.findings, &member.id, EAST, "cloudtrail.kms_events_logged"),
        Status::Error,
        &["organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail may not log for this account: trusted access for cloudtrail.amazonaws.com: organizations:ListAWSServiceAccessForOrganization failed: AccessDenied"],
    );
    assert_eq!(
        single(
            &outcome.findings,
            MANAGEMENT_ACCOUNT,
            EAST,
            "cloudtrail.kms_events_logged"
        )
        .status,
        Status::Pass
    );
}

// ---- 6. Mute rules and metric math ---------------------------------------------

fn mute_rule(status: &str, expression: &str, duration: &str, expire: Option<&str>) -> MuteRule {
    MuteRule {
        account: MANAGEMENT_ACCOUNT.into(),
        region: EAST.into(),
        name: "quiet-hours".into(),
        status: status.into(),
        expression: expression.into(),
        duration: duration.into(),
        expire: expire.map(str::to_string),
        alarms: vec!["kms-disable-delete".into()],
    }
}

async fn east_verdict_with_mute_rule(rule: Option<MuteRule>) -> (Emulator, Finding) {
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;
    if let Some(rule) = rule {
        emulator.front.add_mute_rule(rule);
    }
    let f = east_verdict(&emulator).await;
    (emulator, f)
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_muted_every_sunday_night_warns_naming_the_rule() {
    let (_, f) = east_verdict_with_mute_rule(Some(mute_rule(
        "SCHEDULED",
        "cron(0 2 ? * SUN)",
        "PT4H",
        None,
    )))
    .await;
    assert_finding(
        &f,
        Status::Warn,
        &["alarm kms-disable-delete is muted by the mute rule quiet-hours (cron(0 2 ? * SUN) for PT4H, UTC, SCHEDULED): a key disabled in one of its windows notifies no one"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_muted_now_with_no_end_fails() {
    let (_, f) =
        east_verdict_with_mute_rule(Some(mute_rule("ACTIVE", "cron(0 0 * * *)", "P1D", None)))
            .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-disable-delete is muted now by the mute rule quiet-hours (cron(0 0 * * *) for P1D, UTC, ACTIVE) with no end"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_mute_rule_leaves_the_chain_passing() {
    let (emulator, f) = east_verdict_with_mute_rule(Some(mute_rule(
        "EXPIRED",
        "cron(0 0 * * *)",
        "P1D",
        Some("2026-01-01T00:00:00Z"),
    )))
    .await;
    assert_finding(
        &f,
        Status::Pass,
        &["→ alarm kms-disable-delete → SNS topic"],
    );
    // Listed, but an expired rule's schedule is not asked for.
    assert_eq!(emulator.front.requests("ListAlarmMuteRules"), 1);
    assert_eq!(emulator.front.requests("GetAlarmMuteRule"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn mute_rules_are_read_past_the_first_page() {
    // The front lists one rule a page: the expired rule first, the
    // scheduled one on the second page.
    let expired = mute_rule(
        "EXPIRED",
        "cron(0 0 * * *)",
        "P1D",
        Some("2026-01-01T00:00:00Z"),
    );
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;
    emulator.front.add_mute_rule(MuteRule {
        name: "old-window".into(),
        ..expired
    });
    emulator
        .front
        .add_mute_rule(mute_rule("SCHEDULED", "cron(0 2 ? * SUN)", "PT4H", None));
    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Warn,
        &["muted by the mute rule quiet-hours (cron(0 2 ? * SUN)"],
    );
    assert!(!f.detail.contains("old-window"), "{f:#?}");
    assert_eq!(emulator.front.requests("ListAlarmMuteRules"), 2);
    assert_eq!(emulator.front.requests("GetAlarmMuteRule"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_mute_rules_are_an_error() {
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;
    emulator
        .front
        .deny(MANAGEMENT_ACCOUNT, "ListAlarmMuteRules");
    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Error,
        &["mute rules of alarm kms-disable-delete: cloudwatch:ListAlarmMuteRules failed: AccessDenied"],
    );
}

/// The CIS filter on `trail-logs` and a metric math alarm `kms-math`
/// returning `expression` over its metric or `metric`.
async fn east_verdict_for_math(metric: &str, expression: &str) -> Finding {
    let (emulator, m) = org_with_logged_trail().await;
    let topic = cis_filter_and_topic(&m, true).await;
    m.math_alarm(EAST, "kms-math", metric, expression, "Sum", &[&topic])
        .await;
    east_verdict(&emulator).await
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_math_alarm_that_is_the_metric_itself_passes() {
    let f = east_verdict_for_math("KmsMetric", "m1").await;
    assert_finding(
        &f,
        Status::Pass,
        &["→ metric CISBenchmark/KmsMetric → alarm kms-math (metric math m1) → SNS topic"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_math_alarm_on_an_expression_warns() {
    let f = east_verdict_for_math("KmsMetric", "m1 * 2").await;
    assert_finding(
        &f,
        Status::Warn,
        &["alarm kms-math watches the metric math expression \"m1 * 2\", which cmkscan does not evaluate"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_math_alarm_on_another_metric_fails() {
    let f = east_verdict_for_math("RootLogins", "m1").await;
    assert_finding(
        &f,
        Status::Fail,
        &["no alarm on the metric CISBenchmark/KmsMetric of filter kms-filter"],
    );
}
