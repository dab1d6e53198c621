//! What the alerting chain's later links are made of, as AWS describes
//! them: an alarm's evaluation settings, state and mute rules, an SNS
//! topic's encryption, access policy and subscriptions' filter policies,
//! an EventBridge rule's targets and the event bus a target forwards to.
//!
//! Every one of these reaches the evidence through a field that older
//! files lack (`#[serde(default)]`, read as `None`): the checks then say
//! the fact was not collected (WARN) rather than guess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Fetched, RuleFacts};

/// An alarm as `DescribeAlarms` lists it, beyond what the first versions of
/// cmkscan kept in [`super::AlarmFacts`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmDetails {
    pub arn: Option<String>,
    /// The alarm's own metric, for an alarm on one metric; `None` for an
    /// alarm on a metric math expression (see `queries`).
    pub metric: Option<WatchedMetric>,
    /// `Unit`: an alarm with a unit only sees datapoints published with it.
    pub unit: Option<String>,
    /// `Period`, in seconds.
    pub period: Option<i32>,
    /// `TreatMissingData` as AWS sent it; `None` means AWS's default,
    /// `missing`.
    pub treat_missing_data: Option<String>,
    /// `StateValue` at scan time: `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: Option<String>,
    /// `StateUpdatedTimestamp`, RFC 3339.
    pub state_since: Option<String>,
    /// `Metrics`: the queries of a metric math alarm, empty otherwise.
    pub queries: Vec<MetricQueryFacts>,
    /// The alarm mute rules that target it (`ListAlarmMuteRules`, then
    /// `GetAlarmMuteRule` for each that has not expired). `None` when they
    /// were not asked for: only alarms with actions enabled and an SNS topic
    /// action with a confirmed subscriber are asked about, the only ones a
    /// mute rule could silence.
    pub mute_rules: Option<Fetched<Vec<MuteRuleFacts>>>,
}

/// A metric by identity: CloudWatch treats each combination of namespace,
/// name and dimensions as a metric of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedMetric {
    pub namespace: String,
    pub name: String,
    /// Dimension name → value.
    pub dimensions: BTreeMap<String, String>,
}

/// One query of a metric math alarm (`MetricDataQuery`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricQueryFacts {
    pub id: String,
    /// `Expression`, for a query that computes rather than reads a metric.
    pub expression: Option<String>,
    /// `ReturnData`: the query whose result the alarm watches.
    pub return_data: Option<bool>,
    /// `MetricStat`'s metric, for a query that reads one.
    pub metric: Option<WatchedMetric>,
    /// `MetricStat`'s `Stat` (`Sum`, `Maximum`, `p99`, …).
    pub stat: Option<String>,
    pub period: Option<i32>,
    pub unit: Option<String>,
    /// `AccountId`: a metric of another account (cross-account
    /// observability).
    pub account_id: Option<String>,
}

/// An alarm mute rule that targets an alarm: while one of its windows is
/// open, the alarm's actions are not run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteRuleFacts {
    pub name: String,
    pub arn: String,
    /// `SCHEDULED`, `ACTIVE` or `EXPIRED`.
    pub status: String,
    /// `ONE_TIME` or `RECURRING`.
    pub mute_type: Option<String>,
    /// `ExpireDate`, RFC 3339.
    pub expire: Option<String>,
    /// `GetAlarmMuteRule`: its schedule. `None` for an expired rule, which
    /// is not asked about.
    pub schedule: Option<Fetched<MuteSchedule>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteSchedule {
    /// `cron(…)` or `at(…)`.
    pub expression: Option<String>,
    /// ISO 8601, e.g. `PT4H`.
    pub duration: Option<String>,
    /// IANA time zone; `None` means UTC.
    pub timezone: Option<String>,
    /// `StartDate`, RFC 3339.
    pub start: Option<String>,
}

/// An SNS topic that has a confirmed subscriber, as far as delivery to that
/// subscriber depends on the topic: its encryption key, its access policy
/// and the filter policies of its subscriptions. Only topics with a
/// confirmed subscription are read: a topic without one fails the chain
/// anyway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicFacts {
    /// `GetTopicAttributes`.
    pub attributes: Fetched<TopicAttributes>,
    /// Confirmed subscriptions, each with its filter policy
    /// (`GetSubscriptionAttributes`), read in the order SNS lists them up
    /// to the first that takes every message (no filter policy), at most
    /// [`SUBSCRIPTIONS_READ`].
    pub subscriptions: Vec<SubscriptionFacts>,
    /// Whether SNS listed confirmed subscriptions that were not read (more
    /// than were read, or pages not listed).
    pub unread_subscriptions: bool,
    /// The topic's KMS key, when it is encrypted (`KmsMasterKeyId`).
    pub key: Option<TopicKeyFacts>,
}

/// At most this many subscriptions of a topic have their filter policy
/// read: a topic with thousands of subscribers costs ten requests, not
/// thousands.
pub const SUBSCRIPTIONS_READ: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicAttributes {
    /// `KmsMasterKeyId`: the alias, alias ARN, key id or key ARN of the key
    /// that encrypts the topic; `None` when it is not encrypted.
    pub kms_master_key_id: Option<String>,
    /// `Policy`: the topic's access policy (JSON).
    pub policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionFacts {
    pub arn: String,
    pub protocol: String,
    /// Its filter policy, `None` when it has none.
    pub filter_policy: Fetched<Option<FilterPolicyFacts>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterPolicyFacts {
    /// The policy (JSON).
    pub policy: String,
    /// `FilterPolicyScope`: `MessageAttributes` (AWS's default when absent)
    /// or `MessageBody`.
    pub scope: Option<String>,
}

/// The key that encrypts a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicKeyFacts {
    /// As the topic names it (`KmsMasterKeyId`).
    pub named: String,
    /// `DescribeKey`: the key's ARN and `KeyManager`. `None` when it was
    /// not asked: the topic names the AWS managed key `alias/aws/sns`.
    pub described: Option<Fetched<DescribedTopicKey>>,
    /// `GetKeyPolicy` (policy `default`). `None` when it was not asked: an
    /// AWS managed key, a key in another account (`GetKeyPolicy` does not
    /// work across accounts) or one `DescribeKey` could not describe.
    pub policy: Option<Fetched<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribedTopicKey {
    pub arn: String,
    /// `AWS` or `CUSTOMER`.
    pub manager: Option<String>,
}

/// One target of an EventBridge rule (`ListTargetsByRule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetFacts {
    pub id: String,
    pub arn: String,
    /// `RoleArn`: the role EventBridge delivers through.
    pub role_arn: Option<String>,
    /// `Input`, `InputPath` or `InputTransformer`, when the target is not
    /// sent the event itself.
    pub input: Option<String>,
    /// For an SNS topic target: its confirmed subscriptions, counted until
    /// the first is found (`ListSubscriptionsByTopic`).
    pub confirmed_subscriptions: Option<Fetched<u32>>,
    /// For an SNS topic target with a confirmed subscriber: what delivery
    /// depends on.
    pub topic: Option<TopicFacts>,
    /// For an event bus target of a rule on an account's default bus: that
    /// bus, read in its own account and region. The rules of a followed bus
    /// have their bus targets listed but not followed: EventBridge forwards
    /// an event once.
    pub bus: Option<Fetched<FollowedBus>>,
}

/// An event bus a rule forwards to, as its own account sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowedBus {
    /// `DescribeEventBus`'s `Policy`: who may put events on it; `None`
    /// when it has none.
    pub policy: Fetched<Option<String>>,
    /// Its rules (`ListRules` with `EventBusName`), targets as for a
    /// default bus's rules.
    pub rules: Fetched<Vec<RuleFacts>>,
}
