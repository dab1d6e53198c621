//! The catalogue of every AWS operation cmkscan calls: its IAM action and the
//! request rate cmkscan allows itself. `docs/permissions.md` and the IAM
//! templates in `deploy/` answer to this list, and a test keeps them honest.

use std::fmt;
use std::num::NonZeroU32;

use serde::Serialize;

/// One AWS operation. Adding a call to the code means adding it here first,
/// because `Throttle::call` only accepts an `Api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Api {
    OrganizationsDescribeOrganization,
    OrganizationsListRoots,
    OrganizationsListOrganizationalUnitsForParent,
    OrganizationsListAccountsForParent,
    OrganizationsDescribeOrganizationalUnit,
    OrganizationsListParents,
    OrganizationsListAwsServiceAccessForOrganization,
    StsGetCallerIdentity,
    StsAssumeRole,
    Ec2DescribeRegions,
    CloudTrailDescribeTrails,
    CloudTrailGetTrailStatus,
    CloudTrailGetEventSelectors,
    CloudTrailLookupEvents,
    ConfigDescribeConfigurationRecorders,
    ConfigDescribeConfigurationRecorderStatus,
    ConfigDescribeDeliveryChannels,
    LogsDescribeMetricFilters,
    CloudWatchDescribeAlarms,
    CloudWatchListAlarmMuteRules,
    CloudWatchGetAlarmMuteRule,
    SnsListSubscriptionsByTopic,
    SnsGetTopicAttributes,
    SnsGetSubscriptionAttributes,
    EventsListRules,
    EventsListTargetsByRule,
    EventsDescribeEventBus,
    KmsListKeys,
    KmsDescribeKey,
    KmsListAliases,
    KmsGetKeyPolicy,
    S3PutObject,
    S3ListObjectsV2,
    S3GetObject,
    SecurityHubGetFindings,
    SecurityHubBatchImportFindings,
    SnsPublish,
    CloudWatchPutMetricData,
}

impl Api {
    pub const ALL: [Api; 38] = [
        Api::OrganizationsDescribeOrganization,
        Api::OrganizationsListRoots,
        Api::OrganizationsListOrganizationalUnitsForParent,
        Api::OrganizationsListAccountsForParent,
        Api::OrganizationsDescribeOrganizationalUnit,
        Api::OrganizationsListParents,
        Api::OrganizationsListAwsServiceAccessForOrganization,
        Api::StsGetCallerIdentity,
        Api::StsAssumeRole,
        Api::Ec2DescribeRegions,
        Api::CloudTrailDescribeTrails,
        Api::CloudTrailGetTrailStatus,
        Api::CloudTrailGetEventSelectors,
        Api::CloudTrailLookupEvents,
        Api::ConfigDescribeConfigurationRecorders,
        Api::ConfigDescribeConfigurationRecorderStatus,
        Api::ConfigDescribeDeliveryChannels,
        Api::LogsDescribeMetricFilters,
        Api::CloudWatchDescribeAlarms,
        Api::CloudWatchListAlarmMuteRules,
        Api::CloudWatchGetAlarmMuteRule,
        Api::SnsListSubscriptionsByTopic,
        Api::SnsGetTopicAttributes,
        Api::SnsGetSubscriptionAttributes,
        Api::EventsListRules,
        Api::EventsListTargetsByRule,
        Api::EventsDescribeEventBus,
        Api::KmsListKeys,
        Api::KmsDescribeKey,
        Api::KmsListAliases,
        Api::KmsGetKeyPolicy,
        Api::S3PutObject,
        Api::S3ListObjectsV2,
        Api::S3GetObject,
        Api::SecurityHubGetFindings,
        Api::SecurityHubBatchImportFindings,
        Api::SnsPublish,
        Api::CloudWatchPutMetricData,
    ];

    /// The IAM service prefix and the operation name, which are also the
    /// IAM action (`prefix:Operation`) for every operation cmkscan uses.
    pub fn service_and_operation(self) -> (&'static str, &'static str) {
        match self {
            Api::OrganizationsDescribeOrganization => ("organizations", "DescribeOrganization"),
            Api::OrganizationsListRoots => ("organizations", "ListRoots"),
            Api::OrganizationsListOrganizationalUnitsForParent => {
                ("organizations", "ListOrganizationalUnitsForParent")
            }
            Api::OrganizationsListAccountsForParent => ("organizations", "ListAccountsForParent"),
            Api::OrganizationsDescribeOrganizationalUnit => {
                ("organizations", "DescribeOrganizationalUnit")
            }
            Api::OrganizationsListParents => ("organizations", "ListParents"),
            Api::OrganizationsListAwsServiceAccessForOrganization => {
                ("organizations", "ListAWSServiceAccessForOrganization")
            }
            Api::StsGetCallerIdentity => ("sts", "GetCallerIdentity"),
            Api::StsAssumeRole => ("sts", "AssumeRole"),
            Api::Ec2DescribeRegions => ("ec2", "DescribeRegions"),
            Api::CloudTrailDescribeTrails => ("cloudtrail", "DescribeTrails"),
            Api::CloudTrailGetTrailStatus => ("cloudtrail", "GetTrailStatus"),
            Api::CloudTrailGetEventSelectors => ("cloudtrail", "GetEventSelectors"),
            Api::CloudTrailLookupEvents => ("cloudtrail", "LookupEvents"),
            Api::ConfigDescribeConfigurationRecorders => {
                ("config", "DescribeConfigurationRecorders")
            }
            Api::ConfigDescribeConfigurationRecorderStatus => {
                ("config", "DescribeConfigurationRecorderStatus")
            }
            Api::ConfigDescribeDeliveryChannels => ("config", "DescribeDeliveryChannels"),
            Api::LogsDescribeMetricFilters => ("logs", "DescribeMetricFilters"),
            Api::CloudWatchDescribeAlarms => ("cloudwatch", "DescribeAlarms"),
            Api::CloudWatchListAlarmMuteRules => ("cloudwatch", "ListAlarmMuteRules"),
            Api::CloudWatchGetAlarmMuteRule => ("cloudwatch", "GetAlarmMuteRule"),
            Api::SnsListSubscriptionsByTopic => ("sns", "ListSubscriptionsByTopic"),
            Api::SnsGetTopicAttributes => ("sns", "GetTopicAttributes"),
            Api::SnsGetSubscriptionAttributes => ("sns", "GetSubscriptionAttributes"),
            Api::EventsListRules => ("events", "ListRules"),
            Api::EventsListTargetsByRule => ("events", "ListTargetsByRule"),
            Api::EventsDescribeEventBus => ("events", "DescribeEventBus"),
            Api::KmsListKeys => ("kms", "ListKeys"),
            Api::KmsDescribeKey => ("kms", "DescribeKey"),
            Api::KmsListAliases => ("kms", "ListAliases"),
            Api::KmsGetKeyPolicy => ("kms", "GetKeyPolicy"),
            Api::S3PutObject => ("s3", "PutObject"),
            Api::S3ListObjectsV2 => ("s3", "ListObjectsV2"),
            Api::S3GetObject => ("s3", "GetObject"),
            Api::SecurityHubGetFindings => ("securityhub", "GetFindings"),
            Api::SecurityHubBatchImportFindings => ("securityhub", "BatchImportFindings"),
            Api::SnsPublish => ("sns", "Publish"),
            Api::CloudWatchPutMetricData => ("cloudwatch", "PutMetricData"),
        }
    }

    /// The IAM action a caller needs, or `None` for the one call AWS allows
    /// without any permission (`sts:GetCallerIdentity`). It is
    /// `prefix:Operation` for every operation but S3's listing, which IAM
    /// calls `s3:ListBucket`.
    pub fn iam_action(self) -> Option<String> {
        match self {
            Api::StsGetCallerIdentity => None,
            Api::S3ListObjectsV2 => Some("s3:ListBucket".to_string()),
            _ => {
                let (service, operation) = self.service_and_operation();
                Some(format!("{service}:{operation}"))
            }
        }
    }

    /// Which identity makes the call: the runner (the task role), the
    /// read-only role in each scanned account, or the Security Hub import
    /// role in each scanned account. The IAM templates grant each action
    /// only to the identity that needs it.
    pub fn caller(self) -> Caller {
        match self {
            Api::OrganizationsDescribeOrganization
            | Api::OrganizationsListRoots
            | Api::OrganizationsListOrganizationalUnitsForParent
            | Api::OrganizationsListAccountsForParent
            | Api::OrganizationsDescribeOrganizationalUnit
            | Api::OrganizationsListParents
            | Api::OrganizationsListAwsServiceAccessForOrganization
            | Api::StsAssumeRole
            | Api::S3PutObject
            | Api::S3ListObjectsV2
            | Api::S3GetObject
            | Api::SnsPublish
            | Api::CloudWatchPutMetricData => Caller::Runner,
            Api::SecurityHubGetFindings | Api::SecurityHubBatchImportFindings => {
                Caller::SecurityHubImport
            }
            _ => Caller::ScannedAccount,
        }
    }

    /// Requests per second cmkscan allows itself for this operation, per
    /// account and region. Each figure is at or under the published AWS quota
    /// (quotas are per account per region; LookupEvents is the strictest at 2).
    pub fn requests_per_second(self) -> NonZeroU32 {
        let rps = match self {
            Api::CloudTrailLookupEvents => 2,
            Api::OrganizationsDescribeOrganization => 2,
            // Organizations publishes no per-API rate; 1 per second is the
            // pace its throttling is commonly met at. The tree walk sends
            // one request at a time, so the listing stays near that pace
            // whichever of its operations it is on.
            Api::OrganizationsListRoots
            | Api::OrganizationsListOrganizationalUnitsForParent
            | Api::OrganizationsListAccountsForParent
            | Api::OrganizationsDescribeOrganizationalUnit
            | Api::OrganizationsListParents
            | Api::OrganizationsListAwsServiceAccessForOrganization => 1,
            // DescribeAlarms' published quota is 9 a second; the mute rule
            // operations publish none and are paced like the other
            // CloudWatch reads.
            Api::LogsDescribeMetricFilters
            | Api::CloudWatchDescribeAlarms
            | Api::CloudWatchListAlarmMuteRules
            | Api::CloudWatchGetAlarmMuteRule
            | Api::CloudTrailDescribeTrails
            | Api::CloudTrailGetTrailStatus
            | Api::CloudTrailGetEventSelectors
            | Api::ConfigDescribeConfigurationRecorders
            | Api::ConfigDescribeConfigurationRecorderStatus
            | Api::ConfigDescribeDeliveryChannels
            | Api::Ec2DescribeRegions => 5,
            Api::SnsListSubscriptionsByTopic
            | Api::SnsGetTopicAttributes
            | Api::SnsGetSubscriptionAttributes
            | Api::EventsListRules
            | Api::EventsListTargetsByRule
            | Api::EventsDescribeEventBus
            | Api::S3PutObject
            | Api::S3ListObjectsV2
            | Api::S3GetObject
            | Api::SnsPublish => 10,
            Api::StsGetCallerIdentity | Api::StsAssumeRole => 20,
            Api::KmsListKeys | Api::KmsListAliases | Api::KmsGetKeyPolicy => 20,
            Api::KmsDescribeKey => 50,
            // Security Hub's published rates: BatchImportFindings 10 a second
            // per account and region (burst 30), GetFindings 3 (burst 6).
            Api::SecurityHubBatchImportFindings => 10,
            Api::SecurityHubGetFindings => 3,
            // The heartbeat: one request a run, in the runner's region,
            // against a quota of hundreds a second.
            Api::CloudWatchPutMetricData => 10,
        };
        NonZeroU32::new(rps).unwrap_or(NonZeroU32::MIN)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// See [`Api::caller`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Caller {
    /// The runner's own credentials (the task role), in the account the
    /// runner runs in: a security account or the management account.
    Runner,
    /// The read-only role in every scanned account (the runner's own
    /// credentials when the scanned account is the runner's).
    ScannedAccount,
    /// The opt-in Security Hub import role (`--security-hub-role-name`) in
    /// every scanned account, the runner's own included: findings must be
    /// imported by the account they are about, and the read-only role
    /// stays read-only.
    SecurityHubImport,
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (service, operation) = self.service_and_operation();
        write!(f, "{service}:{operation}")
    }
}
