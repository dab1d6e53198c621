//! Every check cmkscan reports: its id (a contract with auditors), title,
//! severity, remediation and the controls it maps to, in one place.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CheckId {
    #[serde(rename = "scan.account_access")]
    AccountAccess,
    #[serde(rename = "cloudtrail.kms_events_logged")]
    KmsEventsLogged,
    #[serde(rename = "config.kms_key_recording")]
    KmsKeyRecording,
    #[serde(rename = "alerting.kms_disable_delete")]
    KmsDisableDeleteAlerting,
    #[serde(rename = "kms.key_state")]
    KeyState,
    #[serde(rename = "kms.recent_disable_delete_events")]
    RecentDisableDeleteEvents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Error,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Pass, Status::Fail, Status::Warn, Status::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Error => "ERROR",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        }
    }
}

const REFERENCE_CONTROLS: &str = "CIS v8 4.9; CIS v7 6.3; CIS v7 5.2";

impl CheckId {
    pub const ALL: [CheckId; 6] = [
        CheckId::AccountAccess,
        CheckId::KmsEventsLogged,
        CheckId::KmsKeyRecording,
        CheckId::KmsDisableDeleteAlerting,
        CheckId::KeyState,
        CheckId::RecentDisableDeleteEvents,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::AccountAccess => "scan.account_access",
            CheckId::KmsEventsLogged => "cloudtrail.kms_events_logged",
            CheckId::KmsKeyRecording => "config.kms_key_recording",
            CheckId::KmsDisableDeleteAlerting => "alerting.kms_disable_delete",
            CheckId::KeyState => "kms.key_state",
            CheckId::RecentDisableDeleteEvents => "kms.recent_disable_delete_events",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            CheckId::AccountAccess => "The scan can read the account",
            CheckId::KmsEventsLogged => {
                "A logging trail captures KMS write management events in the region"
            }
            CheckId::KmsKeyRecording => "AWS Config records AWS::KMS::Key in the region",
            CheckId::KmsDisableDeleteAlerting => {
                "DisableKey and ScheduleKeyDeletion raise an alert in the region"
            }
            CheckId::KeyState => "Customer-managed key is enabled",
            CheckId::RecentDisableDeleteEvents => {
                "No customer-managed key was disabled or scheduled for deletion recently"
            }
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            CheckId::AccountAccess
            | CheckId::KmsEventsLogged
            | CheckId::KmsDisableDeleteAlerting => Severity::High,
            CheckId::KmsKeyRecording | CheckId::KeyState | CheckId::RecentDisableDeleteEvents => {
                Severity::Medium
            }
        }
    }

    pub fn remediation(self) -> &'static str {
        match self {
            CheckId::AccountAccess => {
                "Deploy the CmkScanReadOnly role (deploy/cloudformation/member-role.yaml) to the account, trusting the scanner's task role with the configured external id; see docs/operations.md."
            }
            CheckId::KmsEventsLogged => {
                "Create or fix a multi-region (or organisation) trail: start logging, deliver to S3, and record management events with ReadWriteType All or WriteOnly without excluding kms.amazonaws.com (aws cloudtrail put-event-selectors)."
            }
            CheckId::KmsKeyRecording => {
                "Start a configuration recorder with a delivery channel that records AWS::KMS::Key (aws configservice put-configuration-recorder ... --recording-group allSupported=true, or include AWS::KMS::Key; then start-configuration-recorder)."
            }
            CheckId::KmsDisableDeleteAlerting => {
                "Send the trail to CloudWatch Logs, add the metric filter { ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }, an alarm on its metric with actions enabled and an SNS topic with a confirmed subscriber; or an enabled EventBridge rule on aws.kms DisableKey/ScheduleKeyDeletion with a target."
            }
            CheckId::KeyState => {
                "Confirm the change was intended; if not, re-enable the key (aws kms enable-key) or cancel its deletion before the deletion date (aws kms cancel-key-deletion)."
            }
            CheckId::RecentDisableDeleteEvents => {
                "Confirm each change with the key owner; cancel unintended deletions (aws kms cancel-key-deletion) and re-enable keys disabled by mistake."
            }
        }
    }

    /// Mapped controls, `; `-separated in the report.
    pub fn controls(self) -> String {
        let specific = match self {
            CheckId::AccountAccess => return String::new(),
            CheckId::KmsEventsLogged => "CIS AWS Foundations 3.1; Security Hub CloudTrail.1",
            CheckId::KmsKeyRecording => "CIS AWS Foundations 3.3; Security Hub Config.1",
            CheckId::KmsDisableDeleteAlerting => {
                "CIS AWS Foundations 4.7; Security Hub CloudWatch.7"
            }
            CheckId::KeyState | CheckId::RecentDisableDeleteEvents => "Security Hub KMS.3",
        };
        format!("{specific}; {REFERENCE_CONTROLS}")
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
