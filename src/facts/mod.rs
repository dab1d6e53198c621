//! What a scan learned from AWS, as plain serialisable data. `collect` fills
//! these; `checks` reads them and nothing else, so a saved facts file is the
//! scan's evidence and re-evaluating it reproduces the findings.

mod alerting;
pub mod evidence;
#[cfg(test)]
pub(crate) mod fixtures;
mod targets_fetch;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::throttle::CallError;
pub use alerting::{
    AlarmDetails, DescribedTopicKey, FilterPolicyFacts, FollowedBus, MetricQueryFacts,
    MuteRuleFacts, MuteSchedule, SubscriptionFacts, TargetFacts, TopicAttributes, TopicFacts,
    TopicKeyFacts, WatchedMetric, SUBSCRIPTIONS_READ,
};

/// A fact AWS gave us, or the failed request that should have given it.
pub type Fetched<T> = Result<T, CallError>;

/// Version of the facts file layout; `cmkscan evaluate` refuses others.
/// 2: the scan's duration and request counts are kept, so a re-evaluated
/// report is byte-identical to the scan's own.
pub const FACTS_SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanFacts {
    /// [`FACTS_SCHEMA_VERSION`]; `evidence::read_facts` checks it first.
    pub schema_version: u32,
    pub scan_id: String,
    /// RFC 3339, UTC.
    pub scan_time: String,
    pub partition: String,
    pub management_account_id: String,
    /// The organisation's id (`o-…`), which the OCSF findings name
    /// (`cloud.org.uid`). Empty in facts recorded before it was kept.
    #[serde(default)]
    pub organization_id: String,
    pub lookback_days: u32,
    /// The `--exceptions` file the scan applied, kept so that `cmkscan
    /// evaluate` applies it again; absent when there was none (and in files
    /// written before exceptions existed, which load unchanged: the schema
    /// version stayed 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<StoredExceptions>,
    /// The management account's organisation trails: they log for every
    /// member account, even where a member's own view omits them.
    pub organization_trails: Fetched<Vec<TrailFacts>>,
    pub accounts: Vec<AccountFacts>,
    /// Accounts listed by Organizations but not ACTIVE: counted, never scanned.
    pub inactive_accounts: Vec<OrgAccount>,
    /// Wall time of the scan, as its report's summary states it.
    pub duration_seconds: f64,
    /// Requests sent, by `service:API`, retries included.
    pub api_calls: BTreeMap<String, u64>,
    /// The earlier report the scan's changes were computed against, or why
    /// there was none; absent from files written before reports were
    /// compared, which read as [`PreviousReport::NotRequested`].
    #[serde(default)]
    pub previous_report: PreviousReport,
    /// See [`ScanHeader::cloudtrail_trusted_access`].
    #[serde(default)]
    pub cloudtrail_trusted_access: Option<Fetched<bool>>,
}

/// The part of [`ScanFacts`] known before the first account is scanned:
/// the evidence file starts with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanHeader {
    pub scan_id: String,
    /// RFC 3339, UTC.
    pub scan_time: String,
    pub partition: String,
    pub management_account_id: String,
    /// The organisation's id (`o-…`), which the OCSF findings name
    /// (`cloud.org.uid`). Empty in facts recorded before it was kept.
    #[serde(default)]
    pub organization_id: String,
    pub lookback_days: u32,
    /// The `--exceptions` file the findings were judged with.
    pub exceptions: Option<StoredExceptions>,
    /// Chosen and read before the scan starts; the scan only records it.
    pub previous_report: PreviousReport,
    /// Whether trusted access for CloudTrail (`cloudtrail.amazonaws.com`)
    /// is enabled in Organizations (`ListAWSServiceAccessForOrganization`,
    /// read once per scan): organisation trails log for member accounts
    /// only while it is. `None` in facts recorded before it was read.
    #[serde(default)]
    pub cloudtrail_trusted_access: Option<Fetched<bool>>,
}

/// The earlier report a scan was compared with (`--previous`, or the latest
/// earlier one under `--s3-uri`), or why it was compared with none. Kept in
/// the evidence so that `cmkscan evaluate` can say what the scan's report
/// said; the rows of that report are not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PreviousReport {
    /// No `--previous`, and no `--s3-uri` to look under.
    #[default]
    NotRequested,
    /// Read: the report at `source` (a path, or an `s3://` URI), of the
    /// scan `scan_id`.
    Read {
        source: String,
        scan_id: String,
        scan_time: String,
    },
    /// Named or looked for, but not read: `source` is the path or object
    /// named, or the `s3://` prefix searched; `reason` says why.
    Unavailable { source: String, reason: String },
}

/// The part of [`ScanFacts`] known only when every account is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanTail {
    pub organization_trails: Fetched<Vec<TrailFacts>>,
    pub inactive_accounts: Vec<OrgAccount>,
    pub duration_seconds: f64,
    pub api_calls: BTreeMap<String, u64>,
}

impl ScanFacts {
    pub fn new(header: ScanHeader, accounts: Vec<AccountFacts>, tail: ScanTail) -> Self {
        ScanFacts {
            schema_version: FACTS_SCHEMA_VERSION,
            scan_id: header.scan_id,
            scan_time: header.scan_time,
            partition: header.partition,
            management_account_id: header.management_account_id,
            organization_id: header.organization_id,
            lookback_days: header.lookback_days,
            exceptions: header.exceptions,
            organization_trails: tail.organization_trails,
            accounts,
            inactive_accounts: tail.inactive_accounts,
            duration_seconds: tail.duration_seconds,
            api_calls: tail.api_calls,
            previous_report: header.previous_report,
            cloudtrail_trusted_access: header.cloudtrail_trusted_access,
        }
    }

    pub fn header(&self) -> ScanHeader {
        ScanHeader {
            scan_id: self.scan_id.clone(),
            scan_time: self.scan_time.clone(),
            partition: self.partition.clone(),
            management_account_id: self.management_account_id.clone(),
            organization_id: self.organization_id.clone(),
            lookback_days: self.lookback_days,
            exceptions: self.exceptions.clone(),
            previous_report: self.previous_report.clone(),
            cloudtrail_trusted_access: self.cloudtrail_trusted_access.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    pub status: String,
    /// Its organizational unit path by name from the root, e.g.
    /// `Root/Workloads/Prod`; empty in facts files written before OUs were
    /// listed (they load unchanged).
    #[serde(default)]
    pub ou_path: String,
    /// Its parent's id: the OU (`ou-…`) or the root (`r-…`); empty like
    /// `ou_path`.
    #[serde(default)]
    pub ou_id: String,
    /// The ids of the root and every OU above it, root first, its parent
    /// last: what `--exceptions` matches OU ids against. Not kept for
    /// inactive accounts (they have no rows), nor in the summary.
    #[serde(default, skip_serializing)]
    pub ou_ancestors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountFacts {
    pub id: String,
    pub name: String,
    /// See [`OrgAccount::ou_path`].
    #[serde(default)]
    pub ou_path: String,
    /// See [`OrgAccount::ou_id`].
    #[serde(default)]
    pub ou_id: String,
    /// See [`OrgAccount::ou_ancestors`]; empty in facts files written
    /// before it was kept (exceptions then match the parent `ou_id` only).
    #[serde(default)]
    pub ou_ancestors: Vec<String>,
    /// Getting into the account: the AssumeRole (members) and the region
    /// discovery. An error here means nothing else was collected.
    pub access: Fetched<()>,
    /// Regions the scan was asked for that the account has not opted into.
    pub skipped_regions: Vec<String>,
    /// Every distinct trail owned by this account, found through the regions
    /// scanned (organisation trails of the management account are in
    /// `ScanFacts::organization_trails` for members).
    pub trails: Vec<TrailFacts>,
    pub regions: Vec<RegionFacts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrailFacts {
    /// What `DescribeTrails` says of it; its fields sit beside the others
    /// in the evidence, as they always have.
    #[serde(flatten)]
    pub described: DescribedTrail,
    /// `GetTrailStatus`.
    pub status: Fetched<TrailStatus>,
    pub selectors: Fetched<EventSelectors>,
    /// Metric filters on the trail's log group; `None` when the trail has no
    /// log group.
    pub metric_filters: Option<Fetched<Vec<MetricFilterFacts>>>,
}

/// A trail as `DescribeTrails` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribedTrail {
    pub arn: String,
    pub name: String,
    pub home_region: String,
    pub is_multi_region: bool,
    pub is_organization_trail: bool,
    pub s3_bucket: Option<String>,
    pub log_group_arn: Option<String>,
}

/// What `GetTrailStatus` says about a trail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrailStatus {
    pub is_logging: bool,
    /// `LatestDeliveryError`: the last error delivering log files to S3.
    pub s3_delivery_error: Option<String>,
    /// `LatestCloudWatchLogsDeliveryError`: the last error delivering events
    /// to the CloudWatch Logs log group.
    pub logs_delivery_error: Option<String>,
}

/// Which management events a trail records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventSelectors {
    /// No custom selectors: AWS logs all management events, read and write.
    Default,
    Classic(Vec<ClassicSelector>),
    Advanced(Vec<AdvancedSelector>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicSelector {
    pub include_management_events: bool,
    /// `All`, `ReadOnly` or `WriteOnly`.
    pub read_write_type: String,
    pub exclude_management_event_sources: Vec<String>,
    /// The selector's data events (S3 objects, Lambda functions, DynamoDB
    /// tables): no verdict reads them, but `PutEventSelectors` replaces
    /// every selector, so putting the selectors back needs them. `None` in
    /// facts written before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_resources: Option<Vec<DataResourceFacts>>,
}

/// One `DataResources` entry of a basic event selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataResourceFacts {
    /// e.g. `AWS::S3::Object`.
    pub resource_type: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvancedSelector {
    pub name: Option<String>,
    pub fields: Vec<AdvancedFieldSelector>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AdvancedFieldSelector {
    pub field: String,
    pub equals: Vec<String>,
    pub not_equals: Vec<String>,
    pub starts_with: Vec<String>,
    pub not_starts_with: Vec<String>,
    pub ends_with: Vec<String>,
    pub not_ends_with: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricFilterFacts {
    pub name: String,
    pub pattern: String,
    pub metrics: Vec<MetricRef>,
    /// Alarms on the filter's metrics.
    pub alarms: Fetched<Vec<AlarmFacts>>,
    /// `emitSystemFieldDimensions` (`@aws.account`, `@aws.region`): system
    /// fields the filter adds to its metrics as dimensions. `None` in facts
    /// recorded before it was read.
    #[serde(default)]
    pub system_field_dimensions: Option<Vec<String>>,
}

/// A metric a filter publishes to (one metric transformation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRef {
    pub name: String,
    pub namespace: String,
    /// `metricValue`: what one matching log event adds, usually `1`; may be
    /// a `$.field` selector, whose value depends on the event.
    pub value: String,
    /// `defaultValue`: published for log events that do not match.
    pub default_value: Option<f64>,
    /// `dimensions`: dimension name → the `$.field` selector whose value
    /// in the matching event names the dimension's value. `None` in facts
    /// recorded before dimensions were read (and `unit` with them).
    #[serde(default)]
    pub dimensions: Option<BTreeMap<String, String>>,
    /// `unit` of the published datapoints.
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlarmFacts {
    pub name: String,
    pub actions_enabled: bool,
    /// The filter's metric the alarm was found by.
    pub metric: MetricRef,
    pub actions: Vec<AlarmActionFacts>,
    /// `Sum`, `Average`, `Minimum`, `Maximum` or `SampleCount`; `None` when
    /// the alarm uses an extended statistic (or metric math).
    pub statistic: Option<String>,
    /// A percentile or trimmed statistic such as `p99`.
    pub extended_statistic: Option<String>,
    /// e.g. `GreaterThanOrEqualToThreshold`.
    pub comparison_operator: Option<String>,
    /// `None` for anomaly-detection alarms (they use a threshold metric).
    pub threshold: Option<f64>,
    pub evaluation_periods: Option<i32>,
    /// `None` means the same as `evaluation_periods`.
    pub datapoints_to_alarm: Option<i32>,
    /// Its own metric and dimensions, period, unit, missing-data treatment,
    /// state and mute rules; `None` in facts recorded before they were
    /// read.
    #[serde(default)]
    pub details: Option<AlarmDetails>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlarmActionFacts {
    pub arn: String,
    /// Confirmed subscriptions of the SNS topic; `None` when the action is
    /// not an SNS topic (Auto Scaling, EC2, Systems Manager actions).
    pub confirmed_subscriptions: Option<Fetched<u32>>,
    /// For an SNS topic with a confirmed subscriber: what delivery to it
    /// depends on. `None` otherwise, and in facts recorded before it was
    /// read.
    #[serde(default)]
    pub topic: Option<TopicFacts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionFacts {
    pub region: String,
    /// ARNs of this account's trails that DescribeTrails lists here (home
    /// trails and shadows of multi-region ones); an error means trails homed
    /// in this region may be missing from `AccountFacts::trails`.
    pub visible_trails: Fetched<Vec<String>>,
    pub config: Fetched<ConfigFacts>,
    pub rules: Fetched<Vec<RuleFacts>>,
    pub keys: Fetched<KmsFacts>,
    pub recent_events: Fetched<Vec<KeyEvent>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigFacts {
    pub recorders: Vec<RecorderFacts>,
    pub delivery_channels: Vec<String>,
    /// Every setting of each delivery channel (`delivery_channels` keeps
    /// their names, which the checks read), so that a plan can put a
    /// channel back exactly; `None` in facts written before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<DeliveryChannelFacts>>,
}

/// A delivery channel as `DescribeDeliveryChannels` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryChannelFacts {
    pub name: String,
    pub s3_bucket_name: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub s3_kms_key_arn: Option<String>,
    pub sns_topic_arn: Option<String>,
    /// `configSnapshotDeliveryProperties.deliveryFrequency`, e.g.
    /// `TwentyFour_Hours`.
    pub delivery_frequency: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecorderFacts {
    pub name: String,
    pub all_supported: bool,
    /// `ALL_SUPPORTED_RESOURCE_TYPES`, `INCLUSION_BY_RESOURCE_TYPES` or
    /// `EXCLUSION_BY_RESOURCE_TYPES`; absent on recorders made before the
    /// strategy existed, where `all_supported` alone decides.
    pub strategy: Option<String>,
    pub resource_types: Vec<String>,
    pub excluded_resource_types: Vec<String>,
    pub recording: bool,
    /// `Pending`, `Success` or `Failure` (AWS spells them in any case).
    pub last_status: Option<String>,
    /// What `PutConfigurationRecorder` needs, beside the fields above, to
    /// put the recorder back exactly as it was; `None` in facts written
    /// before it was kept (`cmkscan plan` then refuses: evidence too old).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RecorderSettings>,
    /// The status's `lastErrorCode: lastErrorMessage` when the recorder's
    /// last recording failed; `None` when it did not, and in older facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A recorder's settings that no verdict reads but a put-back needs
/// (`PutConfigurationRecorder` replaces the whole recorder).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecorderSettings {
    /// `roleARN`: the role the recorder records with.
    pub role_arn: Option<String>,
    /// `recordingGroup.includeGlobalResourceTypes`.
    pub include_global_resource_types: bool,
    /// `recordingMode`; `None` when AWS did not describe one.
    pub recording_mode: Option<RecordingModeFacts>,
    /// Set on a service-linked recorder (the linked service's principal):
    /// only that service may change it.
    pub service_principal: Option<String>,
    /// `recordingScope`: `INTERNAL` or `PAID`, where AWS describes it.
    pub recording_scope: Option<String>,
}

/// `recordingMode`: how often the recorder records, and the exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordingModeFacts {
    /// `CONTINUOUS` or `DAILY`.
    pub recording_frequency: String,
    pub overrides: Vec<RecordingModeOverrideFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordingModeOverrideFacts {
    pub description: Option<String>,
    pub resource_types: Vec<String>,
    pub recording_frequency: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFacts {
    pub name: String,
    /// `ENABLED`, `DISABLED` or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub state: String,
    pub event_pattern: Option<String>,
    /// Target count, when `targets_fetch` is `Fetched`; `None` otherwise.
    pub targets: Option<Fetched<u32>>,
    /// Whether the targets were asked for, and why not. Decided from the
    /// rule alone, never by an evaluator, so that re-evaluating the facts
    /// with any version finds the targets of every rule that could catch
    /// the KMS events.
    #[serde(default)]
    pub targets_fetch: TargetsFetch,
    /// The rule's ARN (`aws:SourceArn` of what it delivers); `None` in
    /// facts recorded before it was kept.
    #[serde(default)]
    pub arn: Option<String>,
    /// The targets themselves, when `targets` was fetched: the same
    /// `ListTargetsByRule` answer. `None` in facts recorded before they
    /// were kept.
    #[serde(default)]
    pub target_details: Option<Vec<TargetFacts>>,
}

/// Why a rule's targets were or were not fetched.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TargetsFetch {
    /// The rule is not `DISABLED` and its pattern may concern KMS events.
    Fetched,
    /// The rule is `DISABLED`: it delivers nothing, whatever its targets.
    NotFetchedDisabled,
    /// The rule has no event pattern (a scheduled rule): no event matches it.
    NotFetchedNoPattern,
    /// The pattern's top-level `source` is a list of these plain strings,
    /// none of them `aws.kms`, the source of every KMS event on the bus.
    NotFetchedOtherSources(Vec<String>),
    /// Facts written before this was recorded: targets were then fetched for
    /// the rules that version's evaluator thought could catch the events.
    #[default]
    Unrecorded,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KmsFacts {
    pub customer_keys: Vec<KeyFacts>,
    /// Keys behind an `alias/aws/...` alias are AWS managed: counted, not
    /// described, since they are outside this control.
    pub aws_managed_keys: u32,
    /// Keys whose DescribeKey failed (a key policy that does not delegate to
    /// IAM denies it): their state is unknown.
    pub undescribed_keys: Vec<UndescribedKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndescribedKey {
    pub key_arn: String,
    pub aliases: Vec<String>,
    pub error: CallError,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFacts {
    pub arn: String,
    pub state: String,
    /// RFC 3339, present while the key is pending deletion.
    pub deletion_date: Option<String>,
    pub aliases: Vec<String>,
}

impl KeyFacts {
    /// When KMS will delete the key, if it is waiting to: the one place that
    /// reads a key's state for it. `PendingDeletion` is a key scheduled for
    /// deletion, `PendingReplicaDeletion` a multi-Region replica scheduled
    /// for deletion (KMS `KeyState`,
    /// https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
    pub fn pending_deletion(&self) -> Option<PendingDeletion> {
        matches!(
            self.state.as_str(),
            "PendingDeletion" | "PendingReplicaDeletion"
        )
        .then(|| PendingDeletion {
            date: self.deletion_date.clone(),
        })
    }
}

/// A key waiting to be deleted, and when: carried typed from the facts to
/// every output, so that no later stage reads the date back out of prose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDeletion {
    /// RFC 3339, as KMS reported it; `None` when it did not.
    pub date: Option<String>,
}

/// The two calls that make a key unusable, which the control is about: the
/// scan looks them up in CloudTrail's event history ([`KeyEvent`]), and the
/// checks judge trails, metric filters and rules by whether they keep them.
pub const WATCHED_EVENTS: [&str; 2] = ["DisableKey", "ScheduleKeyDeletion"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    pub event_id: String,
    pub event_name: String,
    /// RFC 3339.
    pub event_time: String,
    pub actor: String,
    pub key: String,
    pub source_ip: String,
}

/// The exceptions file as the evidence keeps it, in `facts.json.gz`'s
/// header: `cmkscan evaluate` re-applies it to reproduce the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredExceptions {
    /// Where the scan read it from.
    pub source: String,
    /// SHA-256 of `text`, lowercase hex, as `findings.json` states it.
    pub sha256: String,
    /// The file, byte for byte.
    pub text: String,
}
