//! The sample organisation: the demo scans it, and the end-to-end test
//! checks every account × region × check verdict against `expected`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudtrail::types::ReadWriteType;
use serde_json::json;

use aws_sdk_eventbridge::types::Target;

use super::front::{MuteRule, RecordedEvent};
use super::seed::{events_may_publish, KeyState, Recording, Selectors, TrailSpec, CIS_RULE};
use super::{Emulator, MANAGEMENT_ACCOUNT};

pub const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// Not enabled for any account in the emulator: listed, then skipped.
pub const OPT_IN_REGION: &str = "ap-east-1";

pub struct SampleOrg {
    pub prod: String,
    pub dev: String,
    pub legacy: String,
    pub sandbox: String,
    /// The OU above prod's and dev's OUs.
    pub workloads_ou: String,
    /// An OU with no account: the end-to-end test leaves it out with
    /// `--exclude-ous`, which changes nothing else.
    pub quarantine_ou: String,
}

impl SampleOrg {
    /// The OU path every row of `account` carries: prod and dev in nested
    /// OUs, the others (the management account too) under the root.
    pub fn ou_path(&self, account: &str) -> &'static str {
        if account == self.prod {
            "Root/Workloads/Prod"
        } else if account == self.dev {
            "Root/Workloads/Dev"
        } else {
            "Root"
        }
    }
}

/// A CloudTrail record as LookupEvents returns it in `CloudTrailEvent`.
pub fn key_event(
    account: &str,
    region: &str,
    name: &str,
    key_arn: &str,
    age: Duration,
) -> RecordedEvent {
    let when = SystemTime::now() - age;
    let secs = when
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let record = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::{account}:assumed-role/Admin/alice")},
        "eventTime": aws_smithy_types::DateTime::from(when).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap(),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.5",
        "requestParameters": {"keyId": key_arn},
        "eventID": format!("{name}-{secs}"),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account
    });
    RecordedEvent {
        account: account.to_string(),
        region: region.to_string(),
        event_name: name.to_string(),
        event_time: secs,
        record,
    }
}

pub async fn seed(emulator: &Emulator) -> SampleOrg {
    emulator.create_organization().await;
    let management = emulator.management().await;
    let prod = emulator.create_account("prod").await;
    let dev = emulator.create_account("dev").await;
    let legacy = emulator.create_account("legacy").await;
    let sandbox = emulator.create_account("sandbox").await;
    emulator.close_account(&sandbox.id).await;
    let root = emulator.root_id().await;
    let workloads = emulator.create_ou(&root, "Workloads").await;
    let prod_ou = emulator.create_ou(&workloads, "Prod").await;
    let dev_ou = emulator.create_ou(&workloads, "Dev").await;
    let quarantine_ou = emulator.create_ou(&root, "Quarantine").await;
    emulator.move_account(&prod.id, &root, &prod_ou).await;
    emulator.move_account(&dev.id, &root, &dev_ou).await;
    // The role was never deployed in legacy: AssumeRole is refused.
    emulator.front.deny(&legacy.id, "AssumeRole");

    // Management: an organisation trail to S3 only (CloudTrail's trusted
    // access enabled with it), an EventBridge rule in us-east-1 notifying a
    // topic encrypted with its one key (whose policy lets EventBridge use
    // it), the organisation's central security event bus there, Config in
    // us-east-1 only.
    let mut org_trail = TrailSpec::multi_region("org-trail", "us-east-1");
    org_trail.organization = true;
    management.trail(org_trail).await;
    let payments = management
        .key_with_policy("us-east-1", &key_policy(MANAGEMENT_ACCOUNT))
        .await;
    aws_sdk_kms::Client::new(&management.at("us-east-1"))
        .create_alias()
        .alias_name("alias/payments")
        .target_key_id(payments.rsplit('/').next().unwrap_or(&payments))
        .send()
        .await
        .expect("create alias");
    let alerts = management
        .topic_with(
            "us-east-1",
            "security-alerts",
            true,
            &[("KmsMasterKeyId", "alias/payments")],
        )
        .await;
    management
        .set_topic_policy("us-east-1", &alerts, &events_may_publish(&alerts))
        .await;
    management
        .rule(
            "us-east-1",
            "kms-disable-delete",
            CIS_RULE,
            true,
            Some(&alerts),
        )
        .await;
    let organization_id = emulator.organization_id().await;
    let security_bus = management
        .event_bus("us-east-1", "security", Some(&bus_policy(&organization_id)))
        .await;
    management
        .rule_on(
            "us-east-1",
            Some("security"),
            "kms-from-members",
            CIS_RULE,
            true,
            vec![target("notify", &alerts, None)],
        )
        .await;
    management
        .recorder("us-east-1", Recording::AllSupported, true, true)
        .await;

    // Prod: its own multi-region trail homed in eu-west-1 with the full CIS
    // chain, Config recording KMS keys in us-east-1 but excluding them in
    // eu-west-1, a disabled key, a key pending deletion and recent events.
    let mut prod_trail = TrailSpec::multi_region("prod-trail", "eu-west-1");
    prod_trail.log_group = Some("prod-trail-logs");
    prod_trail.selectors = Selectors::Classic(true, ReadWriteType::WriteOnly, vec![]);
    prod.trail(prod_trail).await;
    prod.cis_alarm_chain("eu-west-1", "prod-trail-logs").await;
    // Prod also forwards KMS events to the central security bus (its own
    // alarm chain already covers it).
    prod.rule_on(
        "us-east-1",
        None,
        "kms-to-security",
        CIS_RULE,
        true,
        vec![target(
            "central",
            &security_bus,
            Some(&format!(
                "arn:aws:iam::{}:role/forward-to-security",
                prod.id
            )),
        )],
    )
    .await;
    prod.recorder(
        "us-east-1",
        Recording::Include(vec!["AWS::KMS::Key"]),
        true,
        true,
    )
    .await;
    prod.recorder(
        "eu-west-1",
        Recording::Exclude(vec!["AWS::KMS::Key"]),
        true,
        true,
    )
    .await;
    let orders = prod
        .key("us-east-1", Some("alias/orders"), KeyState::Disabled)
        .await;
    let old = prod
        .key(
            "us-east-1",
            Some("alias/legacy-db"),
            KeyState::PendingDeletion,
        )
        .await;
    let day = Duration::from_secs(86_400);
    for (name, key, age) in [
        ("DisableKey", &orders, 2 * day),
        ("ScheduleKeyDeletion", &old, day),
        // Outside the 7-day lookback: must not be reported.
        ("DisableKey", &orders, 30 * day),
    ] {
        emulator
            .front
            .add_event(key_event(&prod.id, "us-east-1", name, key, age));
    }

    // Dev: a single-region trail whose metric filter only catches
    // DisableKey, a disabled EventBridge rule, no working recorder.
    let mut dev_trail = TrailSpec::multi_region("dev-trail", "us-east-1");
    dev_trail.multi_region = false;
    dev_trail.log_group = Some("dev-trail-logs");
    dev.trail(dev_trail).await;
    dev.metric_filter(
        "us-east-1",
        "dev-trail-logs",
        "disable-only",
        "{ ($.eventSource = kms.amazonaws.com) && ($.eventName = DisableKey) }",
        "KmsDisable",
    )
    .await;
    let dev_topic = dev.topic("us-east-1", "dev-alerts", true).await;
    dev.alarm(
        "us-east-1",
        "kms-disable",
        "KmsDisable",
        &[&dev_topic],
        true,
    )
    .await;
    // Its alarm is muted during the weekly patch window.
    emulator.front.add_mute_rule(MuteRule {
        account: dev.id.clone(),
        region: "us-east-1".into(),
        name: "patch-window".into(),
        status: "SCHEDULED".into(),
        expression: "cron(0 2 ? * SUN)".into(),
        duration: "PT4H".into(),
        expire: None,
        alarms: vec!["kms-disable".into()],
    });
    let dev_eu_topic = dev.topic("eu-west-1", "dev-alerts", true).await;
    dev.rule(
        "eu-west-1",
        "kms-disable-delete",
        CIS_RULE,
        false,
        Some(&dev_eu_topic),
    )
    .await;
    dev.recorder("eu-west-1", Recording::AllSupported, false, true)
        .await;
    dev.key("eu-west-1", Some("alias/dev-data"), KeyState::Enabled)
        .await;

    SampleOrg {
        prod: prod.id,
        dev: dev.id,
        legacy: legacy.id,
        sandbox: sandbox.id,
        workloads_ou: workloads,
        quarantine_ou,
    }
}

/// A key policy delegating to the account's IAM and letting EventBridge and
/// CloudWatch alarms publish to SNS topics encrypted with the key.
fn key_policy(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"AllowAlertPublishers","Effect":"Allow","Principal":{{"Service":["events.amazonaws.com","cloudwatch.amazonaws.com"]}},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*"}}]}}"#
    )
}

/// The central security bus's policy: every account of the organisation may
/// put events on it (they forward through a role, as PutTargets requires
/// for an organisation-wide grant).
fn bus_policy(organization_id: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"WholeOrganisation","Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:{MANAGEMENT_ACCOUNT}:event-bus/security","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{organization_id}"}}}}}}]}}"#
    )
}

fn target(id: &str, arn: &str, role: Option<&str>) -> Target {
    Target::builder()
        .id(id)
        .arn(arn)
        .set_role_arn(role.map(str::to_string))
        .build()
        .expect("target")
}

/// Every (account, region, check, status) row the scan must produce for
/// the sample organisation with `--regions us-east-1,eu-west-1`.
pub fn expected(org: &SampleOrg) -> Vec<(String, &'static str, &'static str, &'static str)> {
    let m = MANAGEMENT_ACCOUNT;
    let rows: Vec<(&str, &'static str, &'static str, &'static str)> = vec![
        (m, "us-east-1", "cloudtrail.kms_events_logged", "PASS"),
        (m, "us-east-1", "config.kms_key_recording", "PASS"),
        (m, "us-east-1", "alerting.kms_disable_delete", "PASS"),
        (m, "us-east-1", "kms.key_state", "PASS"),
        (m, "us-east-1", "kms.recent_disable_delete_events", "PASS"),
        (m, "eu-west-1", "cloudtrail.kms_events_logged", "PASS"),
        (m, "eu-west-1", "config.kms_key_recording", "FAIL"),
        (m, "eu-west-1", "alerting.kms_disable_delete", "FAIL"),
        (m, "eu-west-1", "kms.key_state", "PASS"),
        (m, "eu-west-1", "kms.recent_disable_delete_events", "PASS"),
        (
            &org.prod,
            "us-east-1",
            "cloudtrail.kms_events_logged",
            "PASS",
        ),
        (&org.prod, "us-east-1", "config.kms_key_recording", "PASS"),
        (
            &org.prod,
            "us-east-1",
            "alerting.kms_disable_delete",
            "PASS",
        ),
        (&org.prod, "us-east-1", "kms.key_state", "FAIL"),
        (&org.prod, "us-east-1", "kms.key_state", "WARN"),
        (
            &org.prod,
            "us-east-1",
            "kms.recent_disable_delete_events",
            "WARN",
        ),
        (
            &org.prod,
            "us-east-1",
            "kms.recent_disable_delete_events",
            "WARN",
        ),
        (
            &org.prod,
            "eu-west-1",
            "cloudtrail.kms_events_logged",
            "PASS",
        ),
        (&org.prod, "eu-west-1", "config.kms_key_recording", "FAIL"),
        (
            &org.prod,
            "eu-west-1",
            "alerting.kms_disable_delete",
            "PASS",
        ),
        (&org.prod, "eu-west-1", "kms.key_state", "PASS"),
        (
            &org.prod,
            "eu-west-1",
            "kms.recent_disable_delete_events",
            "PASS",
        ),
        (
            &org.dev,
            "us-east-1",
            "cloudtrail.kms_events_logged",
            "PASS",
        ),
        (&org.dev, "us-east-1", "config.kms_key_recording", "FAIL"),
        (&org.dev, "us-east-1", "alerting.kms_disable_delete", "FAIL"),
        (&org.dev, "us-east-1", "kms.key_state", "PASS"),
        (
            &org.dev,
            "us-east-1",
            "kms.recent_disable_delete_events",
            "PASS",
        ),
        (
            &org.dev,
            "eu-west-1",
            "cloudtrail.kms_events_logged",
            "PASS",
        ),
        (&org.dev, "eu-west-1", "config.kms_key_recording", "FAIL"),
        (&org.dev, "eu-west-1", "alerting.kms_disable_delete", "FAIL"),
        (&org.dev, "eu-west-1", "kms.key_state", "PASS"),
        (
            &org.dev,
            "eu-west-1",
            "kms.recent_disable_delete_events",
            "PASS",
        ),
        (&org.legacy, "global", "scan.account_access", "ERROR"),
    ];
    let mut rows: Vec<_> = rows
        .into_iter()
        .map(|(a, r, c, s)| (a.to_string(), r, c, s))
        .collect();
    rows.sort();
    rows
}
