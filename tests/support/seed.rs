//! Seeds the emulator through the AWS SDK, as an administrator of a real
//! organisation would: every resource is created with the SDK calls that
//! would create it in AWS.

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType,
};
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, StateValue, Statistic,
};
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use aws_sdk_config::types::{
    ConfigurationRecorder, DeliveryChannel, ExclusionByResourceTypes, RecordingGroup,
    RecordingStrategy, RecordingStrategyType, ResourceType,
};
use aws_sdk_eventbridge::types::{RuleState, Target};
use aws_types::region::Region;

pub const CIS_FILTER: &str = "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }";
pub const CIS_RULE: &str = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;

/// CloudTrail's service principal, whose trusted access organisation
/// trails need.
pub const CLOUDTRAIL_PRINCIPAL: &str = "cloudtrail.amazonaws.com";

/// A topic policy statement letting EventBridge publish to `topic`, as the
/// EventBridge console adds it ("Your Amazon SNS topic's resource-based
/// policy must allow EventBridge").
pub fn events_may_publish(topic: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AllowEventBridge","Effect":"Allow","Principal":{{"Service":"events.amazonaws.com"}},"Action":"sns:Publish","Resource":"{topic}"}}]}}"#
    )
}

/// Seeds one account; `config` carries that account's credentials.
pub struct Account {
    pub id: String,
    pub config: SdkConfig,
}

/// Which management events a seeded trail records.
pub enum Selectors {
    /// Never call PutEventSelectors: the trail's default.
    Untouched,
    /// Classic: (include management events, ReadWriteType, excluded sources).
    Classic(bool, ReadWriteType, Vec<&'static str>),
    /// Advanced: field → Equals values, ANDed in one selector.
    Advanced(Vec<(&'static str, Vec<&'static str>)>),
}

pub struct TrailSpec {
    pub name: &'static str,
    pub home_region: &'static str,
    pub multi_region: bool,
    pub organization: bool,
    pub logging: bool,
    pub selectors: Selectors,
    /// CloudWatch Logs group the trail delivers to.
    pub log_group: Option<&'static str>,
}

impl TrailSpec {
    /// A logging multi-region trail with default selectors and no log group.
    pub fn multi_region(name: &'static str, home_region: &'static str) -> Self {
        TrailSpec {
            name,
            home_region,
            multi_region: true,
            organization: false,
            logging: true,
            selectors: Selectors::Untouched,
            log_group: None,
        }
    }
}

/// How a seeded alarm judges its metric; the default is the CIS alarm.
pub struct AlarmRule {
    pub statistic: Statistic,
    pub comparison: ComparisonOperator,
    pub threshold: f64,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    /// `TreatMissingData`; `None` leaves AWS's default (`missing`).
    pub treat_missing_data: Option<&'static str>,
    /// The alarm's metric dimensions (name, value).
    pub dimensions: Vec<(&'static str, &'static str)>,
}

impl Default for AlarmRule {
    fn default() -> Self {
        AlarmRule {
            statistic: Statistic::Sum,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            threshold: 1.0,
            evaluation_periods: 1,
            datapoints_to_alarm: None,
            treat_missing_data: None,
            dimensions: Vec::new(),
        }
    }
}

pub enum Recording {
    AllSupported,
    Include(Vec<&'static str>),
    Exclude(Vec<&'static str>),
}

pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl Account {
    /// The account's configuration, in `region`.
    pub fn at(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    pub async fn bucket(&self, region: &str, name: &str) {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.at(region))
                .force_path_style(true)
                .build(),
        );
        let mut request = s3.create_bucket().bucket(name);
        if region != "us-east-1" {
            request = request.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(region.into())
                    .build(),
            );
        }
        request.send().await.expect("create bucket");
    }

    /// Puts an object into a bucket made by [`Account::bucket`].
    pub async fn object(&self, region: &str, bucket: &str, key: &str, body: &str) {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.at(region))
                .force_path_style(true)
                .build(),
        );
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put object");
    }

    pub async fn log_group(&self, region: &str, name: &str) -> String {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&self.at(region));
        logs.create_log_group()
            .log_group_name(name)
            .send()
            .await
            .expect("create log group");
        format!("arn:aws:logs:{region}:{}:log-group:{name}:*", self.id)
    }

    pub async fn trail(&self, spec: TrailSpec) -> String {
        let region = spec.home_region;
        let bucket = format!("trail-{}-{}", self.id, spec.name.to_lowercase());
        self.bucket(region, &bucket).await;
        let log_group_arn = match spec.log_group {
            Some(name) => Some(self.log_group(region, name).await),
            None => None,
        };
        if spec.organization {
            // AWS refuses an organisation trail until CloudTrail has trusted
            // access (CloudTrailAccessNotEnabledException); moto does not
            // check, so enable it here, as AWS would have it.
            aws_sdk_organizations::Client::new(&self.at(region))
                .enable_aws_service_access()
                .service_principal(CLOUDTRAIL_PRINCIPAL)
                .send()
                .await
                .expect("enable trusted access for CloudTrail");
        }
        let cloudtrail = aws_sdk_cloudtrail::Client::new(&self.at(region));
        let mut request = cloudtrail
            .create_trail()
            .name(spec.name)
            .s3_bucket_name(&bucket)
            .is_multi_region_trail(spec.multi_region)
            .is_organization_trail(spec.organization);
        if let Some(arn) = &log_group_arn {
            request = request
                .cloud_watch_logs_log_group_arn(arn)
                .cloud_watch_logs_role_arn(format!(
                    "arn:aws:iam::{}:role/CloudTrailToCloudWatch",
                    self.id
                ));
        }
        let arn = request
            .send()
            .await
            .expect("create trail")
            .trail_arn()
            .expect("trail arn")
            .to_string();
        if spec.logging {
            cloudtrail
                .start_logging()
                .name(spec.name)
                .send()
                .await
                .expect("start logging");
        }
        match spec.selectors {
            Selectors::Untouched => {}
            Selectors::Classic(include, rw, excluded) => {
                let selector = EventSelector::builder()
                    .include_management_events(include)
                    .read_write_type(rw)
                    .set_exclude_management_event_sources(Some(
                        excluded.into_iter().map(str::to_string).collect(),
                    ))
                    .build();
                cloudtrail
                    .put_event_selectors()
                    .trail_name(spec.name)
                    .event_selectors(selector)
                    .send()
                    .await
                    .expect("put classic selectors");
            }
            Selectors::Advanced(fields) => {
                let mut selector = AdvancedEventSelector::builder().name("custom");
                for (field, equals) in fields {
                    selector = selector.field_selectors(
                        AdvancedFieldSelector::builder()
                            .field(field)
                            .set_equals(Some(equals.into_iter().map(str::to_string).collect()))
                            .build()
                            .expect("field selector"),
                    );
                }
                cloudtrail
                    .put_event_selectors()
                    .trail_name(spec.name)
                    .advanced_event_selectors(selector.build().expect("advanced selector"))
                    .send()
                    .await
                    .expect("put advanced selectors");
            }
        }
        arn
    }

    pub async fn metric_filter(
        &self,
        region: &str,
        log_group: &str,
        name: &str,
        pattern: &str,
        metric: &str,
    ) {
        self.metric_filter_with_value(region, log_group, name, pattern, metric, "1")
            .await;
    }

    /// [`Account::metric_filter`] publishing `metric_value` (a number or a
    /// `$.field` selector) per matching event.
    pub async fn metric_filter_with_value(
        &self,
        region: &str,
        log_group: &str,
        name: &str,
        pattern: &str,
        metric: &str,
        metric_value: &str,
    ) {
        self.metric_filter_with(region, log_group, name, pattern, metric, |t| {
            t.metric_value(metric_value)
        })
        .await;
    }

    /// [`Account::metric_filter`] with its metric transformation (value 1,
    /// namespace `CISBenchmark`) edited by `edit`: a default value,
    /// dimensions, a unit.
    pub async fn metric_filter_with(
        &self,
        region: &str,
        log_group: &str,
        name: &str,
        pattern: &str,
        metric: &str,
        edit: impl FnOnce(
            aws_sdk_cloudwatchlogs::types::builders::MetricTransformationBuilder,
        )
            -> aws_sdk_cloudwatchlogs::types::builders::MetricTransformationBuilder,
    ) {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&self.at(region));
        let transformation = MetricTransformation::builder()
            .metric_name(metric)
            .metric_namespace("CISBenchmark")
            .metric_value("1");
        logs.put_metric_filter()
            .log_group_name(log_group)
            .filter_name(name)
            .filter_pattern(pattern)
            .metric_transformations(edit(transformation).build().expect("metric transformation"))
            .send()
            .await
            .expect("put metric filter");
    }

    /// An SNS topic, with one confirmed subscription when `subscribed`.
    pub async fn topic(&self, region: &str, name: &str, subscribed: bool) -> String {
        self.topic_with(region, name, subscribed, &[]).await
    }

    /// [`Account::topic`] created with these attributes (`KmsMasterKeyId`,
    /// `Policy`, …).
    pub async fn topic_with(
        &self,
        region: &str,
        name: &str,
        subscribed: bool,
        attributes: &[(&str, &str)],
    ) -> String {
        let sns = aws_sdk_sns::Client::new(&self.at(region));
        let arn = sns
            .create_topic()
            .name(name)
            .set_attributes(Some(
                attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
            .send()
            .await
            .expect("create topic")
            .topic_arn()
            .expect("topic arn")
            .to_string();
        if subscribed {
            sns.subscribe()
                .topic_arn(&arn)
                .protocol("email")
                .endpoint("security@example.com")
                .send()
                .await
                .expect("subscribe");
        }
        arn
    }

    /// An SNS topic EventBridge may publish to (its policy says so), with
    /// one confirmed subscription.
    pub async fn events_topic(&self, region: &str, name: &str) -> String {
        let arn = self.topic(region, name, true).await;
        self.set_topic_policy(region, &arn, &events_may_publish(&arn))
            .await;
        arn
    }

    pub async fn set_topic_policy(&self, region: &str, topic: &str, policy: &str) {
        aws_sdk_sns::Client::new(&self.at(region))
            .set_topic_attributes()
            .topic_arn(topic)
            .attribute_name("Policy")
            .attribute_value(policy)
            .send()
            .await
            .expect("set topic policy");
    }

    /// A confirmed email subscription to `topic` with a filter policy.
    pub async fn filtered_subscription(
        &self,
        region: &str,
        topic: &str,
        policy: &str,
        scope: &str,
    ) {
        aws_sdk_sns::Client::new(&self.at(region))
            .subscribe()
            .topic_arn(topic)
            .protocol("email")
            .endpoint("filtered@example.com")
            .attributes("FilterPolicy", policy)
            .attributes("FilterPolicyScope", scope)
            .send()
            .await
            .expect("subscribe with a filter policy");
    }

    /// A customer managed key with `policy`; its ARN.
    pub async fn key_with_policy(&self, region: &str, policy: &str) -> String {
        aws_sdk_kms::Client::new(&self.at(region))
            .create_key()
            .policy(policy)
            .send()
            .await
            .expect("create key")
            .key_metadata()
            .and_then(|m| m.arn())
            .expect("key arn")
            .to_string()
    }

    /// Sets an alarm's state, as CloudWatch would after evaluating it.
    pub async fn set_alarm_state(&self, region: &str, name: &str, state: StateValue) {
        aws_sdk_cloudwatch::Client::new(&self.at(region))
            .set_alarm_state()
            .alarm_name(name)
            .state_value(state)
            .state_reason("seeded")
            .send()
            .await
            .expect("set alarm state");
    }

    /// A metric math alarm returning `expression` over `m1`, the metric
    /// `CISBenchmark/<metric>` read with `stat` over 5 minutes; ≥ 1 over one
    /// period.
    pub async fn math_alarm(
        &self,
        region: &str,
        name: &str,
        metric: &str,
        expression: &str,
        stat: &str,
        actions: &[&str],
    ) {
        let m1 = MetricDataQuery::builder()
            .id("m1")
            .return_data(false)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("CISBenchmark")
                            .metric_name(metric)
                            .build(),
                    )
                    .period(300)
                    .stat(stat)
                    .build(),
            )
            .build();
        let e1 = MetricDataQuery::builder()
            .id("e1")
            .expression(expression)
            .return_data(true)
            .build();
        aws_sdk_cloudwatch::Client::new(&self.at(region))
            .put_metric_alarm()
            .alarm_name(name)
            .metrics(m1)
            .metrics(e1)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .actions_enabled(true)
            .set_alarm_actions(Some(actions.iter().map(|a| a.to_string()).collect()))
            .send()
            .await
            .expect("put metric math alarm");
    }

    /// A CIS alarm: Sum ≥ 1 over one 5-minute period.
    pub async fn alarm(
        &self,
        region: &str,
        name: &str,
        metric: &str,
        actions: &[&str],
        actions_enabled: bool,
    ) {
        self.alarm_with(
            region,
            name,
            metric,
            actions,
            actions_enabled,
            AlarmRule::default(),
        )
        .await;
    }

    /// [`Account::alarm`] with its own statistic, comparison, threshold and
    /// periods.
    pub async fn alarm_with(
        &self,
        region: &str,
        name: &str,
        metric: &str,
        actions: &[&str],
        actions_enabled: bool,
        rule: AlarmRule,
    ) {
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&self.at(region));
        cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .metric_name(metric)
            .namespace("CISBenchmark")
            .statistic(rule.statistic)
            .period(300)
            .evaluation_periods(rule.evaluation_periods)
            .set_datapoints_to_alarm(rule.datapoints_to_alarm)
            .threshold(rule.threshold)
            .comparison_operator(rule.comparison)
            .actions_enabled(actions_enabled)
            .set_alarm_actions(Some(actions.iter().map(|a| a.to_string()).collect()))
            .set_treat_missing_data(rule.treat_missing_data.map(str::to_string))
            .set_dimensions(Some(
                rule.dimensions
                    .iter()
                    .map(|(name, value)| Dimension::builder().name(*name).value(*value).build())
                    .collect(),
            ))
            .send()
            .await
            .expect("put metric alarm");
    }

    /// The full CIS chain on a log group: filter, alarm (as the CIS
    /// benchmark's example makes it: missing data left `missing`),
    /// subscribed topic.
    pub async fn cis_alarm_chain(&self, region: &str, log_group: &str) {
        self.metric_filter(
            region,
            log_group,
            "kms-disable-delete",
            CIS_FILTER,
            "KmsDisableDelete",
        )
        .await;
        let topic = self.topic(region, "security-alerts", true).await;
        self.alarm(
            region,
            "kms-disable-delete",
            "KmsDisableDelete",
            &[&topic],
            true,
        )
        .await;
    }

    pub async fn recorder(&self, region: &str, recording: Recording, started: bool, channel: bool) {
        let config = aws_sdk_config::Client::new(&self.at(region));
        let group = match recording {
            Recording::AllSupported => RecordingGroup::builder()
                .all_supported(true)
                .include_global_resource_types(true),
            Recording::Include(types) => RecordingGroup::builder()
                .all_supported(false)
                .set_resource_types(Some(types.into_iter().map(ResourceType::from).collect()))
                .recording_strategy(
                    RecordingStrategy::builder()
                        .use_only(RecordingStrategyType::InclusionByResourceTypes)
                        .build(),
                ),
            Recording::Exclude(types) => RecordingGroup::builder()
                .all_supported(false)
                .exclusion_by_resource_types(
                    ExclusionByResourceTypes::builder()
                        .set_resource_types(Some(
                            types.into_iter().map(ResourceType::from).collect(),
                        ))
                        .build(),
                )
                .recording_strategy(
                    RecordingStrategy::builder()
                        .use_only(RecordingStrategyType::ExclusionByResourceTypes)
                        .build(),
                ),
        };
        config
            .put_configuration_recorder()
            .configuration_recorder(
                ConfigurationRecorder::builder()
                    .name("default")
                    .role_arn(format!("arn:aws:iam::{}:role/config-role", self.id))
                    .recording_group(group.build())
                    .build(),
            )
            .send()
            .await
            .expect("put configuration recorder");
        if channel {
            let bucket = format!("config-{}-{region}", self.id);
            self.bucket(region, &bucket).await;
            config
                .put_delivery_channel()
                .delivery_channel(
                    DeliveryChannel::builder()
                        .name("default")
                        .s3_bucket_name(bucket)
                        .build(),
                )
                .send()
                .await
                .expect("put delivery channel");
        }
        if started {
            config
                .start_configuration_recorder()
                .configuration_recorder_name("default")
                .send()
                .await
                .expect("start configuration recorder");
        }
    }

    pub async fn rule(
        &self,
        region: &str,
        name: &str,
        pattern: &str,
        enabled: bool,
        target: Option<&str>,
    ) {
        let targets = target
            .map(|arn| {
                Target::builder()
                    .id("notify")
                    .arn(arn)
                    .build()
                    .expect("target")
            })
            .into_iter()
            .collect();
        self.rule_on(region, None, name, pattern, enabled, targets)
            .await;
    }

    /// A rule on `bus` (`None`: the default bus) with these targets.
    pub async fn rule_on(
        &self,
        region: &str,
        bus: Option<&str>,
        name: &str,
        pattern: &str,
        enabled: bool,
        targets: Vec<Target>,
    ) {
        let events = aws_sdk_eventbridge::Client::new(&self.at(region));
        events
            .put_rule()
            .name(name)
            .set_event_bus_name(bus.map(str::to_string))
            .event_pattern(pattern)
            .state(if enabled {
                RuleState::Enabled
            } else {
                RuleState::Disabled
            })
            .send()
            .await
            .expect("put rule");
        if !targets.is_empty() {
            events
                .put_targets()
                .rule(name)
                .set_event_bus_name(bus.map(str::to_string))
                .set_targets(Some(targets))
                .send()
                .await
                .expect("put targets");
        }
    }

    /// A custom event bus with `policy` (who may put events on it); its ARN.
    pub async fn event_bus(&self, region: &str, name: &str, policy: Option<&str>) -> String {
        let events = aws_sdk_eventbridge::Client::new(&self.at(region));
        let arn = events
            .create_event_bus()
            .name(name)
            .send()
            .await
            .expect("create event bus")
            .event_bus_arn()
            .expect("event bus arn")
            .to_string();
        if let Some(policy) = policy {
            events
                .put_permission()
                .event_bus_name(name)
                .policy(policy)
                .send()
                .await
                .expect("put event bus permission");
        }
        arn
    }

    /// Stops the `default` recorder, as an administrator would.
    pub async fn stop_recorder(&self, region: &str) {
        aws_sdk_config::Client::new(&self.at(region))
            .stop_configuration_recorder()
            .configuration_recorder_name("default")
            .send()
            .await
            .expect("stop configuration recorder");
    }

    /// Schedules an existing key's deletion (by its ARN), 7 days out.
    pub async fn schedule_key_deletion(&self, region: &str, key_arn: &str) {
        // moto finds the key by its id only.
        let key_id = key_arn.rsplit('/').next().unwrap_or(key_arn);
        aws_sdk_kms::Client::new(&self.at(region))
            .schedule_key_deletion()
            .key_id(key_id)
            .pending_window_in_days(7)
            .send()
            .await
            .expect("schedule key deletion");
    }

    pub async fn key(&self, region: &str, alias: Option<&str>, state: KeyState) -> String {
        let kms = aws_sdk_kms::Client::new(&self.at(region));
        let meta = kms.create_key().send().await.expect("create key");
        let meta = meta.key_metadata().expect("key metadata");
        let (id, arn) = (
            meta.key_id().to_string(),
            meta.arn().expect("key arn").to_string(),
        );
        if let Some(alias) = alias {
            kms.create_alias()
                .alias_name(alias)
                .target_key_id(&id)
                .send()
                .await
                .expect("create alias");
        }
        match state {
            KeyState::Enabled => {}
            KeyState::Disabled => {
                kms.disable_key()
                    .key_id(&id)
                    .send()
                    .await
                    .expect("disable key");
            }
            KeyState::PendingDeletion => {
                kms.schedule_key_deletion()
                    .key_id(&id)
                    .pending_window_in_days(7)
                    .send()
                    .await
                    .expect("schedule key deletion");
            }
        }
        arn
    }
}

impl Account {
    /// Enables Security Hub in `region` (the front refuses Security Hub
    /// calls anywhere else, as AWS does).
    pub async fn enable_security_hub(&self, region: &str) {
        aws_sdk_securityhub::Client::new(&self.at(region))
            .enable_security_hub()
            .enable_default_standards(false)
            .send()
            .await
            .expect("enable Security Hub");
    }

    /// Every finding in the account's Security Hub in `region`, as
    /// `GetFindings` returns them.
    pub async fn security_hub_findings(
        &self,
        region: &str,
    ) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
        let client = aws_sdk_securityhub::Client::new(&self.at(region));
        let mut findings = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .get_findings()
                .set_next_token(token)
                .send()
                .await
                .expect("get findings");
            findings.extend(page.findings().iter().cloned());
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return findings,
            }
        }
    }

    /// Imports `finding` into the account's Security Hub in `region`.
    pub async fn import_finding(
        &self,
        region: &str,
        finding: aws_sdk_securityhub::types::AwsSecurityFinding,
    ) {
        let out = aws_sdk_securityhub::Client::new(&self.at(region))
            .batch_import_findings()
            .findings(finding)
            .send()
            .await
            .expect("import a finding");
        assert_eq!(out.failed_count(), Some(0), "{out:?}");
    }
}
