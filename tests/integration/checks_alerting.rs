//! `alerting.kms_disable_delete` against the emulator: every link of the
//! CloudWatch Logs chain (trail → log group → metric filter → alarm → SNS
//! topic with a subscriber) and of the EventBridge path (a logging trail,
//! an enabled rule whose pattern matches both events, a topic EventBridge
//! may publish to with a subscriber), one scenario per emulator. How each
//! later link is judged by what AWS does with it is in
//! `checks_alerting_links.rs`.

use cmkscan::Finding;
use cmkscan::Status;

use aws_sdk_cloudwatch::types::ComparisonOperator;

use crate::support::seed::{Account, AlarmRule, TrailSpec, CIS_FILTER, CIS_RULE};
use crate::support::{
    assert_finding, findings_for, options, org, single, Emulator, MANAGEMENT_ACCOUNT,
};

pub(crate) const CHECK: &str = "alerting.kms_disable_delete";
pub(crate) const EAST: &str = "us-east-1";
pub(crate) const WEST: &str = "eu-west-1";

/// A logging trail delivering to the CloudWatch Logs group `log_group`.
async fn trail_with_logs(
    account: &Account,
    name: &'static str,
    home_region: &'static str,
    multi_region: bool,
    log_group: &'static str,
) {
    let mut spec = TrailSpec::multi_region(name, home_region);
    spec.multi_region = multi_region;
    spec.log_group = Some(log_group);
    account.trail(spec).await;
}

/// Metric filter `kms-filter` with `pattern` on metric `KmsMetric`, and an
/// alarm `kms-alarm` on that metric notifying a subscribed topic.
async fn filter_chain(account: &Account, region: &str, log_group: &str, pattern: &str) {
    account
        .metric_filter(region, log_group, "kms-filter", pattern, "KmsMetric")
        .await;
    let topic = account.topic(region, "kms-alerts", true).await;
    account
        .alarm(region, "kms-alarm", "KmsMetric", &[&topic], true)
        .await;
}

/// An organisation whose management account has the multi-region trail
/// `main` delivering to the log group `trail-logs`.
pub(crate) async fn org_with_logged_trail() -> (Emulator, Account) {
    let (emulator, m) = org().await;
    trail_with_logs(&m, "main", EAST, true, "trail-logs").await;
    (emulator, m)
}

/// On `trail-logs`, the CIS metric filter `kms-filter` on metric
/// `KmsMetric`; returns the topic `kms-alerts` for an alarm to notify.
pub(crate) async fn cis_filter_and_topic(account: &Account, subscribed: bool) -> String {
    account
        .metric_filter(EAST, "trail-logs", "kms-filter", CIS_FILTER, "KmsMetric")
        .await;
    account.topic(EAST, "kms-alerts", subscribed).await
}

/// EventBridge rule `name` with `pattern`, enabled or not, targeting a
/// subscribed topic `kms-alerts` that EventBridge may publish to.
async fn rule_to_topic(account: &Account, region: &str, name: &str, pattern: &str, enabled: bool) {
    let topic = account.events_topic(region, "kms-alerts").await;
    account
        .rule(region, name, pattern, enabled, Some(&topic))
        .await;
}

/// The management account's single alerting finding after scanning
/// us-east-1 alone.
pub(crate) async fn east_verdict(emulator: &Emulator) -> Finding {
    let outcome = emulator.scan(options(&[EAST])).await;
    single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, CHECK).clone()
}

/// [`east_verdict`] with the trail `main` and a [`filter_chain`] with
/// `pattern` on its log group.
async fn east_verdict_for_filter(pattern: &str) -> Finding {
    let (emulator, m) = org_with_logged_trail().await;
    filter_chain(&m, EAST, "trail-logs", pattern).await;
    east_verdict(&emulator).await
}

// ---- CloudWatch Logs chain -------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn full_cis_chain_passes() {
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Pass,
        &[
            "trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main → log group trail-logs → metric filter kms-disable-delete (pattern ",
            "→ metric CISBenchmark/KmsDisableDelete → alarm kms-disable-delete → SNS topic arn:aws:sns:us-east-1:123456789012:security-alerts (1 confirmed subscription(s))",
        ],
    );
    assert_eq!(f.resource_id, "kms-disable-delete");
    assert!(!f.detail.contains("broader"), "{f:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn broader_filter_passes_and_says_so() {
    let f = east_verdict_for_filter("{ $.eventSource = kms.amazonaws.com }").await;
    assert_finding(
        &f,
        Status::Pass,
        &[
            "metric filter kms-filter (pattern ",
            "→ alarm kms-alarm",
            "broader",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cis_filter_with_odd_spacing_quotes_and_order_passes() {
    // Same meaning as the CIS pattern: quoted values, clauses swapped,
    // newlines and uneven whitespace.
    let pattern = "{\n  ( ( $.eventName = \"ScheduleKeyDeletion\" )||($.eventName=  \"DisableKey\") )\n&&\t($.eventSource=\"kms.amazonaws.com\")   }";
    let f = east_verdict_for_filter(pattern).await;
    assert_finding(
        &f,
        Status::Pass,
        &["metric filter kms-filter (pattern ", "→ alarm kms-alarm"],
    );
    assert!(!f.detail.contains("broader"), "{f:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn filter_matching_only_disable_key_fails_naming_schedule_key_deletion() {
    let f = east_verdict_for_filter(
        "{ ($.eventSource = kms.amazonaws.com) && ($.eventName = DisableKey) }",
    )
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["metric filter kms-filter (pattern ", ") on log group trail-logs of trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main does not match ScheduleKeyDeletion"],
    );
    assert!(!f.detail.contains("DisableKey or"), "{f:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn filter_for_another_service_fails() {
    let f = east_verdict_for_filter(
        "{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    )
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &[
            "metric filter kms-filter",
            "does not match DisableKey or ScheduleKeyDeletion",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_with_actions_disabled_fails() {
    let (emulator, m) = org_with_logged_trail().await;
    let topic = cis_filter_and_topic(&m, true).await;
    m.alarm(EAST, "kms-alarm", "KmsMetric", &[&topic], false)
        .await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm has its actions disabled"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_without_subscription_fails() {
    let (emulator, m) = org_with_logged_trail().await;
    let topic = cis_filter_and_topic(&m, false).await;
    m.alarm(EAST, "kms-alarm", "KmsMetric", &[&topic], true)
        .await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["SNS topics of alarm kms-alarm have no confirmed subscriber"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_on_another_metric_fails() {
    let (emulator, m) = org_with_logged_trail().await;
    let topic = cis_filter_and_topic(&m, true).await;
    m.alarm(EAST, "other-alarm", "RootLogins", &[&topic], true)
        .await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["no alarm on the metric CISBenchmark/KmsMetric of filter kms-filter"],
    );
}

/// [`east_verdict`] for the CIS filter `kms-filter` on `trail-logs` and the
/// alarm `kms-alarm` on its metric, judging it by `rule`, notifying a
/// subscribed topic.
pub(crate) async fn east_verdict_for_alarm(rule: AlarmRule) -> Finding {
    let (emulator, m) = org_with_logged_trail().await;
    let topic = cis_filter_and_topic(&m, true).await;
    m.alarm_with(EAST, "kms-alarm", "KmsMetric", &[&topic], true, rule)
        .await;
    east_verdict(&emulator).await
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_above_ten_fails_naming_the_threshold() {
    let f = east_verdict_for_alarm(AlarmRule {
        comparison: ComparisonOperator::GreaterThanThreshold,
        threshold: 10.0,
        ..AlarmRule::default()
    })
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm does not fire on one event: its Sum of 1 is not greater than the threshold 10"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_needing_three_of_three_periods_warns_it_fires_late_at_best() {
    // Missing data left "missing" and no default value: CloudWatch's rule
    // against premature alarms fires it on one event, periods late.
    let f = east_verdict_for_alarm(AlarmRule {
        evaluation_periods: 3,
        datapoints_to_alarm: Some(3),
        ..AlarmRule::default()
    })
    .await;
    assert_finding(
        &f,
        Status::Warn,
        &["alarm kms-alarm needs 3 of 3 breaching periods: CloudWatch fires it on one event only through its rule against premature alarms, up to 2 periods late"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_needing_three_of_three_periods_with_missing_data_not_breaching_fails() {
    let f = east_verdict_for_alarm(AlarmRule {
        evaluation_periods: 3,
        datapoints_to_alarm: Some(3),
        treat_missing_data: Some("notBreaching"),
        ..AlarmRule::default()
    })
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm needs 3 breaching periods; one event breaches one"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_needing_one_of_three_periods_passes() {
    let f = east_verdict_for_alarm(AlarmRule {
        evaluation_periods: 3,
        datapoints_to_alarm: Some(1),
        ..AlarmRule::default()
    })
    .await;
    assert_finding(
        &f,
        Status::Pass,
        &[
            "trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main → log group trail-logs → metric filter kms-filter (pattern ",
            "→ metric CISBenchmark/KmsMetric → alarm kms-alarm → SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts (1 confirmed subscription(s))",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_on_low_values_fails() {
    let f = east_verdict_for_alarm(AlarmRule {
        comparison: ComparisonOperator::LessThanThreshold,
        ..AlarmRule::default()
    })
    .await;
    assert_finding(
        &f,
        Status::Fail,
        &["alarm kms-alarm is about low values (LessThanThreshold)"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_value_from_the_event_warns_cannot_decide() {
    let (emulator, m) = org_with_logged_trail().await;
    m.metric_filter_with_value(
        EAST,
        "trail-logs",
        "kms-filter",
        CIS_FILTER,
        "KmsMetric",
        "$.requestParameters.pendingWindowInDays",
    )
    .await;
    let topic = m.topic(EAST, "kms-alerts", true).await;
    m.alarm(EAST, "kms-alarm", "KmsMetric", &[&topic], true)
        .await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Warn,
        &[
            "cannot decide",
            "alarm kms-alarm is on metric KmsMetric",
            "$.requestParameters.pendingWindowInDays",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_without_cloudwatch_logs_and_no_rule_fails() {
    let (emulator, m) = org().await;
    m.trail(TrailSpec::multi_region("main", EAST)).await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &[
            "trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main does not deliver to CloudWatch Logs",
            "no EventBridge rule matches DisableKey and ScheduleKeyDeletion",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_region_trail_chain_covers_other_regions() {
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;

    let outcome = emulator.scan(options(&[EAST, WEST])).await;
    for region in [EAST, WEST] {
        let f = single(&outcome.findings, MANAGEMENT_ACCOUNT, region, CHECK);
        assert_finding(
            f,
            Status::Pass,
            &[
                "trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main → log group trail-logs → metric filter kms-disable-delete (pattern ",
                "→ alarm kms-disable-delete",
            ],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn single_region_trail_chain_does_not_cover_other_regions() {
    let (emulator, m) = org().await;
    trail_with_logs(&m, "main", EAST, false, "trail-logs").await;
    m.cis_alarm_chain(EAST, "trail-logs").await;

    let outcome = emulator.scan(options(&[EAST, WEST])).await;
    let east = single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, CHECK);
    assert_finding(east, Status::Pass, &["trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main → log group trail-logs → metric filter"]);
    // No trail covers eu-west-1 and it has no rule: the detail must say the
    // trail side is missing too, not only the EventBridge side.
    let west = single(&outcome.findings, MANAGEMENT_ACCOUNT, WEST, CHECK);
    assert_finding(west, Status::Fail, &["no trail covers this region"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn organisation_trail_chain_covers_a_bare_member() {
    let (emulator, m) = org().await;
    let member = emulator.create_account("bare").await;
    let mut spec = TrailSpec::multi_region("org-trail", EAST);
    spec.organization = true;
    spec.log_group = Some("org-trail-logs");
    m.trail(spec).await;
    m.cis_alarm_chain(EAST, "org-trail-logs").await;

    // The management account scanned too: its facts carry the org trail.
    let outcome = emulator.scan(options(&[EAST])).await;
    let f = single(&outcome.findings, &member.id, EAST, CHECK);
    assert_finding(
        f,
        Status::Pass,
        &[
            "organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail → log group org-trail-logs → metric filter kms-disable-delete (pattern ",
            "→ alarm kms-disable-delete",
        ],
    );

    // The member alone: the org trail is fetched from the management account.
    let mut only_member = options(&[EAST]);
    only_member.include_accounts = [member.id.parse().expect("account id")].into();
    let outcome = emulator.scan(only_member).await;
    assert!(
        findings_for(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, CHECK).is_empty(),
        "the management account was not to be scanned"
    );
    let f = single(&outcome.findings, &member.id, EAST, CHECK);
    assert_finding(
        f,
        Status::Pass,
        &["organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"],
    );
}

// ---- EventBridge ------------------------------------------------------------

/// An organisation whose management account has a logging multi-region
/// trail `main` (S3 only): what puts its KMS calls on EventBridge.
pub(crate) async fn org_with_trail() -> (Emulator, Account) {
    let (emulator, m) = org().await;
    m.trail(TrailSpec::multi_region("main", EAST)).await;
    (emulator, m)
}

#[tokio::test(flavor = "multi_thread")]
async fn canonical_rule_with_target_passes() {
    let (emulator, m) = org_with_trail().await;
    rule_to_topic(&m, EAST, "kms-disable-delete", CIS_RULE, true).await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Pass,
        &["trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main → EventBridge rule kms-disable-delete matches both events → SNS topic arn:aws:sns:us-east-1:123456789012:kms-alerts (1 confirmed subscription(s))"],
    );
    assert_eq!(f.resource_id, "kms-disable-delete");
    assert!(!f.detail.contains("broader"), "{f:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn source_only_rule_passes_as_broader() {
    let (emulator, m) = org_with_trail().await;
    rule_to_topic(&m, EAST, "all-kms", r#"{"source":["aws.kms"]}"#, true).await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Pass,
        &["EventBridge rule all-kms matches both events", "broader"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prefix_and_anything_but_rules_that_match_both_pass() {
    let (emulator, m) = org_with_trail().await;
    rule_to_topic(
        &m,
        EAST,
        "kms-prefix",
        r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":[{"prefix":"Disable"},{"prefix":"ScheduleKey"}]}}"#,
        true,
    )
    .await;
    rule_to_topic(
        &m,
        WEST,
        "kms-anything-but",
        r#"{"source":["aws.kms"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":[{"anything-but":["Decrypt","Encrypt","GenerateDataKey"]}]}}"#,
        true,
    )
    .await;

    let outcome = emulator.scan(options(&[EAST, WEST])).await;
    let east = single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, CHECK);
    assert_finding(
        east,
        Status::Pass,
        &["EventBridge rule kms-prefix matches both events"],
    );
    let west = single(&outcome.findings, MANAGEMENT_ACCOUNT, WEST, CHECK);
    assert_finding(
        west,
        Status::Pass,
        &["EventBridge rule kms-anything-but matches both events"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_rule_fails() {
    let (emulator, m) = org().await;
    rule_to_topic(&m, EAST, "kms-disable-delete", CIS_RULE, false).await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["EventBridge rule kms-disable-delete is disabled"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rule_without_target_fails() {
    let (emulator, m) = org().await;
    m.rule(EAST, "kms-disable-delete", CIS_RULE, true, None)
        .await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["EventBridge rule kms-disable-delete has no target"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rule_matching_only_schedule_key_deletion_fails() {
    let (emulator, m) = org().await;
    rule_to_topic(
        &m,
        EAST,
        "kms-delete-only",
        r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["ScheduleKeyDeletion"]}}"#,
        true,
    )
    .await;

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Fail,
        &["no EventBridge rule matches DisableKey and ScheduleKeyDeletion"],
    );
}

// ---- Undecidable patterns and failed calls ---------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_filter_patterns_warn_cannot_decide() {
    let (emulator, m) = org().await;
    // One single-region trail per region, each with a pattern the evaluator
    // does not implement and an otherwise complete chain.
    trail_with_logs(&m, "east", EAST, false, "east-logs").await;
    filter_chain(
        &m,
        EAST,
        "east-logs",
        "[version, account, eventName=DisableKey]",
    )
    .await;
    trail_with_logs(&m, "west", WEST, false, "west-logs").await;
    filter_chain(
        &m,
        WEST,
        "west-logs",
        "{ $.eventName = %DisableKey|ScheduleKeyDeletion% }",
    )
    .await;

    let outcome = emulator.scan(options(&[EAST, WEST])).await;
    let east = single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, CHECK);
    assert_finding(
        east,
        Status::Warn,
        &[
            "cannot decide",
            "metric filter kms-filter",
            "space-delimited",
        ],
    );
    let west = single(&outcome.findings, MANAGEMENT_ACCOUNT, WEST, CHECK);
    assert_finding(
        west,
        Status::Warn,
        &[
            "cannot decide",
            "metric filter kms-filter",
            "regular expressions",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_list_rules_without_trail_chain_is_an_error() {
    let (emulator, m) = org().await;
    // The trail does not deliver to CloudWatch Logs; the rule that would
    // pass cannot be seen.
    m.trail(TrailSpec::multi_region("main", EAST)).await;
    rule_to_topic(&m, EAST, "kms-disable-delete", CIS_RULE, true).await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, "ListRules");

    let f = east_verdict(&emulator).await;
    assert_finding(
        &f,
        Status::Error,
        &["EventBridge rules", "events:ListRules", "AccessDenied"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn proven_rule_wins_over_denied_metric_filters() {
    let (emulator, m) = org_with_logged_trail().await;
    m.cis_alarm_chain(EAST, "trail-logs").await;
    // A passing rule in us-east-1 only.
    rule_to_topic(&m, EAST, "kms-disable-delete", CIS_RULE, true).await;
    emulator
        .front
        .deny(MANAGEMENT_ACCOUNT, "DescribeMetricFilters");

    let outcome = emulator.scan(options(&[EAST, WEST])).await;
    let east = single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, CHECK);
    assert_finding(
        east,
        Status::Pass,
        &["EventBridge rule kms-disable-delete matches both events"],
    );
    // Without the rule, the unknown metric filters leave the answer open.
    let west = single(&outcome.findings, MANAGEMENT_ACCOUNT, WEST, CHECK);
    assert_finding(
        west,
        Status::Error,
        &[
            "metric filters of trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main",
            "logs:DescribeMetricFilters",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_evidence_says_whose_targets_were_fetched_and_why_not() {
    use cmkscan::TargetsFetch;

    let (emulator, m) = org_with_trail().await;
    rule_to_topic(&m, EAST, "kms-disable-delete", CIS_RULE, true).await;
    rule_to_topic(&m, EAST, "kms-off", CIS_RULE, false).await;
    rule_to_topic(&m, EAST, "ec2-only", r#"{"source":["aws.ec2"]}"#, true).await;
    let no_source = r#"{"detail-type":["AWS API Call via CloudTrail"]}"#;
    m.rule(EAST, "no-source", no_source, true, None).await;

    let outcome = emulator.scan(options(&[EAST])).await;
    let account = outcome
        .facts
        .accounts
        .iter()
        .find(|a| a.id == MANAGEMENT_ACCOUNT)
        .expect("management account facts");
    let rules = account.regions[0].rules.as_ref().expect("rules listed");
    let mut fetched: Vec<(&str, &TargetsFetch, Option<u32>)> = rules
        .iter()
        .map(|r| {
            let targets = r.targets.clone().map(|t| t.expect("targets listed"));
            (r.name.as_str(), &r.targets_fetch, targets)
        })
        .collect();
    fetched.sort_by_key(|(name, _, _)| *name);
    assert_eq!(
        fetched,
        vec![
            (
                "ec2-only",
                &TargetsFetch::NotFetchedOtherSources(vec!["aws.ec2".into()]),
                None
            ),
            ("kms-disable-delete", &TargetsFetch::Fetched, Some(1)),
            ("kms-off", &TargetsFetch::NotFetchedDisabled, None),
            ("no-source", &TargetsFetch::Fetched, Some(0)),
        ]
    );
    assert_eq!(
        outcome.summary.api_calls.get("events:ListTargetsByRule"),
        Some(&2),
        "{:#?}",
        outcome.summary.api_calls
    );
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, CHECK),
        Status::Pass,
        &["EventBridge rule kms-disable-delete matches both events → SNS topic"],
    );
}
