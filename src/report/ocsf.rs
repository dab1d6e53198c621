//! `findings.ocsf.json`: every finding as an OCSF 1.6.0 Detection Finding
//! (class 2004), for the data lakes and SIEMs that read OCSF. The mapping,
//! field by field, is a contract documented in `docs/report-format.md`
//! ("findings.ocsf.json").
//!
//! Each object is made from one finding as it is written, like the CSV and
//! JSON rows, so the file never holds more than one finding in memory.

use std::io::{self, Write};

use aws_smithy_types::date_time::{DateTime, Format};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Report;
use crate::aws::arn::Arn;
use crate::checks::catalog::{CheckId, Severity, Status};
use crate::checks::ExceptionState;
use crate::checks::{Finding, Subject, ACCOUNT_WIDE};
use crate::facts::ScanHeader;

/// The OCSF schema version the objects follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.6.0";

/// The OCSF profiles whose attributes the objects carry.
const PROFILES: [&str; 2] = ["cloud", "datetime"];

/// `finding_info.types` of every finding: the namespace Security Hub files
/// CIS AWS Foundations Benchmark findings under.
const FINDING_TYPE: &str =
    "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark";

/// Resource type (in AWS Config's spelling) of the account a row is about.
const ACCOUNT_RESOURCE_TYPE: &str = "AWS::::Account";

impl Report<'_> {
    /// A JSON array with one Detection Finding per line, in report order.
    pub fn write_ocsf(&self, mut out: impl Write) -> io::Result<()> {
        let scan = ScanPart::new(self.scan)?;
        out.write_all(b"[")?;
        let mut separator: &[u8] = b"\n";
        for finding in self.findings.rows() {
            out.write_all(separator)?;
            separator = b",\n";
            serde_json::to_writer(&mut out, &DetectionFinding::new(&scan, &finding?))?;
        }
        out.write_all(b"\n]\n")
    }
}

/// What every finding of a scan shares.
struct ScanPart<'a> {
    header: &'a ScanHeader,
    /// `scan_time` in milliseconds since the epoch, OCSF's `timestamp_t`.
    time: i64,
}

impl<'a> ScanPart<'a> {
    fn new(header: &'a ScanHeader) -> io::Result<Self> {
        let time = DateTime::from_str(&header.scan_time, Format::DateTime)
            .ok()
            .and_then(|time| time.to_millis().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("scan_time {:?} is not an RFC 3339 time", header.scan_time),
                )
            })?;
        Ok(ScanPart { header, time })
    }
}

/// Stable across scans for the same account × region × check × subject:
/// the lowercase hex SHA-256 of those, the subject being what one row of
/// the check stands for ([`Finding::subject`]). A region's row keeps its uid
/// whatever its verdict (its `resource_id`, what passed, is left out); a
/// key's row is the key's; an event's row is the key's and the event's
/// (its detail names the event id), while the region's row without events
/// (PASS, or ERROR when the events could not be read) is the region's.
fn finding_uid(finding: &Finding) -> String {
    let mut hash = Sha256::new();
    let mut part = |text: &str| {
        hash.update(text.as_bytes());
        hash.update([0]);
    };
    part("cmkscan");
    part(&finding.account_id);
    part(&finding.region);
    part(finding.check.as_str());
    match finding.subject() {
        Subject::Region => part(""),
        Subject::Resource(resource) => part(resource),
        Subject::Event { resource, detail } => {
            part(resource);
            part(detail);
        }
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// OCSF `detection_finding`, activity Create: each scan states every
/// finding afresh; readers keep the latest `time` of each `finding_info.uid`.
#[derive(Serialize)]
struct DetectionFinding<'a> {
    class_uid: u32,
    class_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    time: i64,
    time_dt: &'a str,
    severity_id: u32,
    severity: &'static str,
    status_id: u32,
    status: &'static str,
    status_code: &'static str,
    finding_info: FindingInfo<'a>,
    cloud: Cloud<'a>,
    resources: Vec<Resource<'a>>,
    remediation: Remediation,
    metadata: Metadata<'a>,
    unmapped: Unmapped<'a>,
}

impl<'a> DetectionFinding<'a> {
    fn new(scan: &'a ScanPart<'a>, finding: &'a Finding) -> Self {
        let uid = finding_uid(finding);
        let (severity_id, severity) = severity(finding.check.severity());
        let (status_id, status) = workflow_status(
            finding.status,
            finding.exception.as_ref().map(|mark| mark.state),
        );
        let header = scan.header;
        DetectionFinding {
            class_uid: 2004,
            class_name: "Detection Finding",
            category_uid: 2,
            category_name: "Findings",
            activity_id: 1,
            activity_name: "Create",
            type_uid: 200401,
            type_name: "Detection Finding: Create",
            time: scan.time,
            time_dt: &header.scan_time,
            severity_id,
            severity,
            status_id,
            status,
            status_code: finding.status.as_str(),
            metadata: Metadata {
                version: OCSF_VERSION,
                product: Product {
                    name: "cmkscan",
                    vendor_name: "cmkscan",
                    version: env!("CARGO_PKG_VERSION"),
                },
                profiles: PROFILES,
                uid: format!("{}/{uid}", header.scan_id),
                correlation_uid: &header.scan_id,
                event_code: finding.check.as_str(),
            },
            finding_info: FindingInfo {
                uid,
                title: finding.check.title(),
                desc: &finding.detail,
                types: [FINDING_TYPE],
            },
            cloud: Cloud {
                provider: "AWS",
                cloud_partition: &header.partition,
                region: region(finding),
                account: Account {
                    uid: &finding.account_id,
                    name: non_empty(&finding.account_name),
                    type_id: 10,
                    type_name: "AWS Account",
                },
                org: (!header.organization_id.is_empty()).then(|| Organization {
                    uid: &header.organization_id,
                    ou_uid: finding
                        .ou_id
                        .starts_with("ou-")
                        .then_some(finding.ou_id.as_str()),
                }),
            },
            resources: resources(finding, &header.partition),
            remediation: Remediation {
                desc: finding.check.remediation(),
                cis_controls: cis_controls(finding.check),
            },
            unmapped: Unmapped {
                resource_id: &finding.resource_id,
                controls: finding.check.control_list().collect(),
                ou_path: &finding.ou_path,
                exception_id: finding.exception.as_ref().map(|mark| mark.id.as_str()),
                exception_state: finding.exception.as_ref().map(|mark| mark.state.as_str()),
            },
        }
    }
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product,
    profiles: [&'static str; 2],
    /// This object's own id: the scan's and the finding's.
    uid: String,
    /// The scan id, shared by every finding of one scan.
    correlation_uid: &'a str,
    /// The check id.
    event_code: &'static str,
}

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: String,
    title: &'static str,
    /// The row's detail: what the check found.
    desc: &'a str,
    types: [&'static str; 1],
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    cloud_partition: &'a str,
    /// Absent for a row about the whole account.
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    account: Account<'a>,
    /// Absent when the facts predate the organisation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<Organization<'a>>,
}

#[derive(Serialize)]
struct Account<'a> {
    uid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    type_id: u32,
    #[serde(rename = "type")]
    type_name: &'static str,
}

#[derive(Serialize)]
struct Organization<'a> {
    uid: &'a str,
    /// Only an OU's id: an account directly under the root has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    ou_uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Resource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_name: Option<&'static str>,
    role_id: u32,
    role: &'static str,
    cloud_partition: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
}

#[derive(Serialize)]
struct Remediation {
    desc: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cis_controls: Vec<CisControl>,
}

#[derive(Serialize)]
struct CisControl {
    name: &'static str,
    version: &'static str,
}

/// What OCSF has no attribute for.
#[derive(Serialize)]
struct Unmapped<'a> {
    /// The report's `resource_id`, verbatim: joins this object to its CSV
    /// and JSON row.
    resource_id: &'a str,
    /// Every mapped control, as in the report's `controls`.
    controls: Vec<&'static str>,
    ou_path: &'a str,
    /// The accepted risk (`--exceptions`) that matches the row, and
    /// whether it is `active` or `expired`; absent on other rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    exception_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception_state: Option<&'static str>,
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn region(finding: &Finding) -> Option<&str> {
    (finding.region != ACCOUNT_WIDE).then_some(finding.region.as_str())
}

fn severity(severity: Severity) -> (u32, &'static str) {
    match severity {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
    }
}

/// The verdict lives in `status_code`; `status_id` is the triage state
/// OCSF readers filter on. Only a PASS is Resolved; a FAIL or WARN that an
/// active exception accepts is Suppressed (an accepted risk, reviewed and
/// set aside, never dropped); any other FAIL or WARN is to be looked at,
/// and so is an ERROR, which decides nothing and no exception accepts.
fn workflow_status(status: Status, exception: Option<ExceptionState>) -> (u32, &'static str) {
    match (status, exception) {
        (Status::Pass, _) => (4, "Resolved"),
        (Status::Fail | Status::Warn, Some(ExceptionState::Active)) => (3, "Suppressed"),
        (Status::Fail | Status::Warn, None | Some(ExceptionState::Expired))
        | (Status::Error, _) => (1, "New"),
    }
}

/// For a key's or an event's row, the key, then the account; for any other
/// row, the account, then the resource that passed, if one did.
fn resources<'a>(finding: &'a Finding, partition: &'a str) -> Vec<Resource<'a>> {
    let account = Resource {
        uid: Some(&finding.account_id),
        name: None,
        type_name: Some(ACCOUNT_RESOURCE_TYPE),
        role_id: 1,
        role: "Target",
        cloud_partition: partition,
        region: None,
    };
    if finding.resource_id.is_empty() {
        return vec![account];
    }
    // An ARN is the resource's uid and knows its region (a multi-region
    // trail's home region); a bare name is in the row's region.
    let id = finding.resource_id.as_str();
    let arn = Arn::parse(id).ok();
    let named = |type_name, role_id, role| Resource {
        uid: arn.is_some().then_some(id),
        name: arn.is_none().then_some(id),
        type_name,
        role_id,
        role,
        cloud_partition: partition,
        region: arn
            .as_ref()
            .and_then(Arn::region)
            .or_else(|| region(finding)),
    };
    match finding.check {
        CheckId::KeyState | CheckId::RecentDisableDeleteEvents => {
            vec![named(Some("AWS::KMS::Key"), 1, "Target"), account]
        }
        CheckId::KmsEventsLogged => {
            vec![account, named(Some("AWS::CloudTrail::Trail"), 4, "Related")]
        }
        CheckId::KmsKeyRecording => vec![
            account,
            named(Some("AWS::Config::ConfigurationRecorder"), 4, "Related"),
        ],
        // An alarm's or an EventBridge rule's name: the detail says which.
        CheckId::KmsDisableDeleteAlerting | CheckId::AccountAccess => {
            vec![account, named(None, 4, "Related")]
        }
    }
}

/// The CIS Controls among the check's controls (`CIS v8 4.9`: version
/// `v8`, name `4.9`).
fn cis_controls(check: CheckId) -> Vec<CisControl> {
    check
        .control_list()
        .filter_map(|control| control.strip_prefix("CIS "))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(version, _)| version.starts_with('v'))
        .map(|(version, name)| CisControl { name, version })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(check: CheckId, status: Status, resource_id: &str, detail: &str) -> Finding {
        Finding {
            resource_id: resource_id.into(),
            detail: detail.into(),
            ..crate::checks::fixtures::finding(check, status)
        }
    }

    #[test]
    fn a_finding_uid_names_the_subject_and_not_the_verdict() {
        let uid = |check, status, resource, detail| {
            finding_uid(&finding(check, status, resource, detail))
        };
        let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
        let key = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let logged = CheckId::KmsEventsLogged;
        // A region's row: what passed and the detail do not count.
        assert_eq!(
            uid(logged, Status::Pass, trail, "trail main logs"),
            uid(logged, Status::Fail, "", "no trail covers this region")
        );
        assert_ne!(
            uid(logged, Status::Pass, trail, ""),
            uid(CheckId::KmsKeyRecording, Status::Pass, trail, "")
        );
        let mut elsewhere = finding(logged, Status::Pass, trail, "");
        elsewhere.region = "eu-west-1".into();
        assert_ne!(
            finding_uid(&elsewhere),
            uid(logged, Status::Pass, trail, "")
        );
        // A key's row is the key's.
        assert_eq!(
            uid(CheckId::KeyState, Status::Pass, key, "key is enabled"),
            uid(
                CheckId::KeyState,
                Status::Fail,
                key,
                "key is PendingDeletion"
            )
        );
        assert_ne!(
            uid(CheckId::KeyState, Status::Pass, key, ""),
            uid(CheckId::KeyState, Status::Pass, "", "")
        );
        // An event's row is the key's and the event's; the region's row
        // without events is the same from ERROR to PASS.
        let events = CheckId::RecentDisableDeleteEvents;
        assert_ne!(
            uid(events, Status::Warn, key, "DisableKey at t1 (event e1)"),
            uid(events, Status::Warn, key, "DisableKey at t2 (event e2)")
        );
        assert_eq!(
            uid(events, Status::Error, "", "cloudtrail:LookupEvents failed"),
            uid(
                events,
                Status::Pass,
                "",
                "no DisableKey or ScheduleKeyDeletion"
            )
        );
        let hex = uid(events, Status::Pass, "", "");
        assert_eq!(hex.len(), 64);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn only_a_pass_is_resolved_and_only_an_active_exception_suppresses() {
        let (active, expired) = (Some(ExceptionState::Active), Some(ExceptionState::Expired));
        for exception in [None, active, expired] {
            assert_eq!(workflow_status(Status::Pass, exception), (4, "Resolved"));
            assert_eq!(workflow_status(Status::Error, exception), (1, "New"));
        }
        for status in [Status::Fail, Status::Warn] {
            assert_eq!(workflow_status(status, None), (1, "New"), "{status}");
            assert_eq!(workflow_status(status, expired), (1, "New"), "{status}");
            assert_eq!(
                workflow_status(status, active),
                (3, "Suppressed"),
                "{status}"
            );
        }
    }

    #[test]
    fn cis_controls_are_read_from_the_controls() {
        let versions: Vec<(&str, &str)> = cis_controls(CheckId::KmsDisableDeleteAlerting)
            .iter()
            .map(|c| (c.version, c.name))
            .collect();
        assert_eq!(versions, [("v8", "4.9"), ("v7", "6.3"), ("v7", "5.2")]);
        assert!(cis_controls(CheckId::AccountAccess).is_empty());
        assert_eq!(
            CheckId::KmsDisableDeleteAlerting
                .control_list()
                .collect::<Vec<_>>()
                .join("; "),
            CheckId::KmsDisableDeleteAlerting.controls()
        );
    }
}
