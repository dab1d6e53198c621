//! A finding in the AWS Security Finding Format (ASFF), as
//! `BatchImportFindings` takes it. Pure: every field comes from the finding,
//! its catalogue entry and the scan, so the mapping is unit-tested here and
//! documented field by field in docs/security-hub.md.

use std::borrow::Cow;
use std::collections::HashMap;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Partition, Recommendation, RecordState, Remediation, Resource,
    Severity, SeverityLabel,
};

use crate::checks::catalog::{CheckId, Severity as CheckSeverity, Status};
use crate::checks::{ExceptionMark, ExceptionState};
use crate::checks::{Finding, Subject, ACCOUNT_WIDE};
use crate::exceptions::{format_date, ExceptionOutcome};

/// The only ASFF version there is.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// The one finding type of every cmkscan finding: a configuration check of
/// a CIS AWS Foundations Benchmark control ("Ensure disabling or scheduled
/// deletion of customer-managed KMS keys is monitored").
pub const FINDING_TYPE: &str =
    "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark";

/// Security Hub's product name for cmkscan's findings (a custom
/// integration may name its product).
pub const PRODUCT_NAME: &str = "cmkscan";

/// AWS's length limits (`AwsSecurityFinding` in the Security Hub API
/// reference), in characters.
pub const ID_MAX: usize = 512;
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 1024;
pub const RECOMMENDATION_MAX: usize = 512;
pub const ACCOUNT_NAME_MAX: usize = 50;
pub const PRODUCT_FIELD_VALUE_MAX: usize = 2048;

/// Ends a text cut to fit a limit, so that nobody takes it for the whole.
pub const TRUNCATION_MARK: &str = " [truncated: full text in findings.csv]";

/// Keys of the `ProductFields` cmkscan writes; Security Hub adds its own
/// under `aws/`.
pub const FIELD_PREFIX: &str = "cmkscan/";

/// The `GeneratorId` of a check's findings: one per check, so that
/// cmkscan's own findings can be found (and only they archived).
pub fn generator_id(check: CheckId) -> String {
    format!("{FIELD_PREFIX}{}", check.as_str())
}

/// The check a `GeneratorId` stands for, if it is one of cmkscan's.
pub fn check_of_generator(generator_id: &str) -> Option<CheckId> {
    CheckId::from_id(generator_id.strip_prefix(FIELD_PREFIX)?)
}

/// The default product of `account` in `region`: the ProductArn of
/// findings an account imports into its own Security Hub.
pub fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

/// The region a finding goes to: its own, or the runner's for a row about a
/// whole account (`global`), which has no region of its own.
pub fn region_of<'a>(finding: &'a Finding, home_region: &'a str) -> &'a str {
    if finding.region == ACCOUNT_WIDE {
        home_region
    } else {
        &finding.region
    }
}

/// The finding's `Id`: the same for the same account × region × check ×
/// subject in every scan, so that a later scan updates the finding instead
/// of adding one. The subject ([`Finding::subject`], as OCSF's uid) is
/// nothing for a row standing for the region (whatever its detail: an
/// ERROR's names the scan's session), the resource for a per-resource
/// check, the resource and a hash of the detail (which names the
/// CloudTrail event) for a per-event check. Longer than AWS allows, the
/// subject is replaced by its hash.
pub fn finding_id(finding: &Finding, region: &str) -> String {
    let subject = match finding.subject() {
        Subject::Region => String::new(),
        Subject::Resource(resource) => resource.to_string(),
        Subject::Event { resource, detail } => {
            format!("{resource}/{:016x}", fnv1a(detail.as_bytes()))
        }
    };
    let base = format!(
        "{FIELD_PREFIX}{}/{region}/{}",
        finding.account_id,
        finding.check.as_str()
    );
    if subject.is_empty() {
        return base;
    }
    let id = format!("{base}/{subject}");
    if id.chars().count() <= ID_MAX {
        id
    } else {
        format!("{base}/h-{:016x}", fnv1a(subject.as_bytes()))
    }
}

/// FNV-1a, 64 bits: a hash defined by its algorithm, so an id made of it
/// is the same in every build and every version.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `text` cut to `max` characters, the cut marked with [`TRUNCATION_MARK`].
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().count() <= max {
        return Cow::Borrowed(text);
    }
    let keep = max.saturating_sub(TRUNCATION_MARK.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(TRUNCATION_MARK);
    Cow::Owned(cut)
}

/// `Compliance.Status`: an ERROR is `NOT_AVAILABLE`, never a pass.
pub fn compliance_status(status: Status) -> ComplianceStatus {
    match status {
        Status::Pass => ComplianceStatus::Passed,
        Status::Fail => ComplianceStatus::Failed,
        Status::Warn => ComplianceStatus::Warning,
        Status::Error => ComplianceStatus::NotAvailable,
    }
}

/// `Severity.Label`: a passed check is informational, as Security Hub's own
/// passed controls are; anything else carries the check's severity.
pub fn severity_label(status: Status, severity: CheckSeverity) -> SeverityLabel {
    match (status, severity) {
        (Status::Pass, _) => SeverityLabel::Informational,
        (_, CheckSeverity::High) => SeverityLabel::High,
        (_, CheckSeverity::Medium) => SeverityLabel::Medium,
        (_, CheckSeverity::Low) => SeverityLabel::Low,
    }
}

/// What the mapping needs besides the finding.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub partition: &'a str,
    /// The runner's region: where rows about a whole account go.
    pub home_region: &'a str,
    pub scan_id: &'a str,
    /// When the scan observed the finding (RFC 3339).
    pub scan_time: &'a str,
    /// When this import sends it (RFC 3339): its `UpdatedAt`.
    pub imported_at: &'a str,
    /// The exceptions file's entries (the summary's `exceptions`), whose
    /// reason, approver and expiry go with the rows they mark; empty
    /// without `--exceptions`.
    pub exceptions: &'a [ExceptionOutcome],
}

/// When Security Hub first recorded a finding cmkscan sent before, so that
/// an update keeps its creation time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Earlier {
    pub created_at: Option<String>,
    pub first_observed_at: Option<String>,
}

/// The ASFF of one finding, `ACTIVE`.
pub fn to_asff(ctx: &Context, finding: &Finding, earlier: Option<&Earlier>) -> AwsSecurityFinding {
    let region = region_of(finding, ctx.home_region);
    let check = finding.check;
    let account = &finding.account_id;
    let created_at = earlier
        .and_then(|e| e.created_at.as_deref())
        .unwrap_or(ctx.scan_time);
    let first_observed_at = earlier
        .and_then(|e| e.first_observed_at.as_deref())
        .unwrap_or(ctx.scan_time);
    let label = severity_label(finding.status, check.severity());
    let detail = if finding.detail.trim().is_empty() {
        check.title()
    } else {
        &finding.detail
    };
    // First, so that no truncation hides it.
    let description = match &finding.exception {
        Some(mark) => format!("{} {detail}", exception_label(mark)),
        None => detail.to_string(),
    };
    let mut compliance = Compliance::builder().status(compliance_status(finding.status));
    for control in check.controls().split("; ").filter(|c| !c.is_empty()) {
        compliance = compliance.related_requirements(control);
    }
    let mut asff = AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(finding_id(finding, region))
        .product_arn(product_arn(ctx.partition, region, account))
        .product_name(PRODUCT_NAME)
        .generator_id(generator_id(check))
        .aws_account_id(account)
        .region(region)
        .types(FINDING_TYPE)
        .created_at(created_at)
        .first_observed_at(first_observed_at)
        .last_observed_at(ctx.scan_time)
        .updated_at(ctx.imported_at)
        .severity(
            Severity::builder()
                .label(label.clone())
                .original(check.severity().as_str())
                .build(),
        )
        // Security Hub keeps the provider's own severity and types here;
        // the top-level ones are the customer's to change.
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(label)
                        .original(check.severity().as_str())
                        .build(),
                )
                .types(FINDING_TYPE)
                .build(),
        )
        .title(truncate(check.title(), TITLE_MAX))
        .description(truncate(&description, DESCRIPTION_MAX))
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(truncate(check.remediation(), RECOMMENDATION_MAX))
                        .build(),
                )
                .build(),
        )
        .compliance(compliance.build())
        .resources(resource(ctx.partition, region, finding))
        .set_product_fields(Some(product_fields(ctx, finding)))
        .record_state(RecordState::Active);
    if !finding.account_name.trim().is_empty() {
        asff = asff.aws_account_name(truncate(&finding.account_name, ACCOUNT_NAME_MAX));
    }
    asff.build()
}

/// How an accepted risk reads at the start of the description. The
/// `cmkscan/Exception*` product fields say the same for filters and
/// automation rules.
fn exception_label(mark: &ExceptionMark) -> String {
    match mark.state {
        ExceptionState::Active => format!("[accepted risk {}]", mark.id),
        ExceptionState::Expired => format!("[exception {} expired: not accepted]", mark.id),
    }
}

/// What the finding is about: the key for a key's row (its ARN), the
/// account otherwise (the trail, recorder or alarm that passed is in the
/// `cmkscan/ResourceId` product field, since it changes with the verdict).
fn resource(partition: &str, region: &str, finding: &Finding) -> Resource {
    let is_key = matches!(
        finding.check,
        CheckId::KeyState | CheckId::RecentDisableDeleteEvents
    ) && finding.resource_id.starts_with("arn:");
    let (kind, id) = if is_key {
        ("AwsKmsKey", finding.resource_id.clone())
    } else {
        (
            "AwsAccount",
            format!("AWS::::Account:{}", finding.account_id),
        )
    };
    Resource::builder()
        .r#type(kind)
        .id(id)
        .partition(Partition::from(partition))
        .region(region)
        .build()
}

/// Everything of the report row that ASFF has no field for, under
/// `cmkscan/` keys, each value within AWS's limit.
fn product_fields(ctx: &Context, finding: &Finding) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            fields.insert(
                format!("{FIELD_PREFIX}{key}"),
                truncate(value, PRODUCT_FIELD_VALUE_MAX).into_owned(),
            );
        }
    };
    put("CheckId", finding.check.as_str());
    put("Status", finding.status.as_str());
    put("ScanId", ctx.scan_id);
    put("Region", &finding.region);
    put("AccountName", &finding.account_name);
    put("OuPath", &finding.ou_path);
    put("ResourceId", &finding.resource_id);
    put("Detail", &finding.detail);
    put("Controls", &finding.check.controls());
    if let Some(mark) = &finding.exception {
        put("ExceptionId", &mark.id);
        put("ExceptionState", mark.state.as_str());
        if let Some(exception) = ctx.exceptions.iter().find(|e| e.id == mark.id) {
            put("ExceptionReason", &exception.reason);
            put("ExceptionApprovedBy", &exception.approved_by);
            put("ExceptionExpires", &format_date(exception.expires));
            put(
                "ExceptionTicket",
                exception.ticket.as_deref().unwrap_or_default(),
            );
        }
    }
    fields
}

/// A finding cmkscan sent before that this scan no longer reports (its key
/// was deleted, its event left the lookback): the same finding, `ARCHIVED`,
/// updated now. Only the provider's own fields are sent back; what Security
/// Hub or its users set (workflow, notes, `aws/` product fields) stays theirs.
pub fn archived(earlier: &AwsSecurityFinding, imported_at: &str) -> AwsSecurityFinding {
    let product_fields = earlier.product_fields.as_ref().map(|fields| {
        fields
            .iter()
            .filter(|(key, _)| key.starts_with(FIELD_PREFIX))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    });
    AwsSecurityFinding::builder()
        .set_schema_version(earlier.schema_version.clone())
        .set_id(earlier.id.clone())
        .set_product_arn(earlier.product_arn.clone())
        .product_name(PRODUCT_NAME)
        .set_generator_id(earlier.generator_id.clone())
        .set_aws_account_id(earlier.aws_account_id.clone())
        .set_region(earlier.region.clone())
        .set_types(earlier.types.clone())
        .set_created_at(earlier.created_at.clone())
        .set_first_observed_at(earlier.first_observed_at.clone())
        .set_last_observed_at(earlier.last_observed_at.clone())
        .updated_at(imported_at)
        .set_severity(earlier.severity.clone())
        .set_title(earlier.title.clone())
        .set_description(earlier.description.clone())
        .set_remediation(earlier.remediation.clone())
        .set_compliance(earlier.compliance.clone())
        .set_resources(earlier.resources.clone())
        .set_product_fields(product_fields)
        .set_aws_account_name(earlier.aws_account_name.clone())
        .record_state(RecordState::Archived)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(check: CheckId, status: Status, resource_id: &str, detail: &str) -> Finding {
        Finding {
            ou_path: "Root/Workloads/Prod".into(),
            ou_id: "ou-ab12-prod0001".into(),
            region: "eu-west-1".into(),
            resource_id: resource_id.into(),
            detail: detail.into(),
            ..crate::checks::fixtures::finding(check, status)
        }
    }

    fn ctx() -> Context<'static> {
        Context {
            partition: "aws-us-gov",
            home_region: "us-gov-west-1",
            scan_id: "20261129T101500Z-ab12",
            scan_time: "2026-11-29T10:15:00Z",
            imported_at: "2026-11-29T10:20:00.123Z",
            exceptions: &[],
        }
    }

    const KEY: &str =
        "arn:aws-us-gov:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn a_failed_key_has_every_required_attribute() {
        let f = finding(
            CheckId::KeyState,
            Status::Fail,
            KEY,
            "key is PendingDeletion",
        );
        let asff = to_asff(&ctx(), &f, None);
        assert_eq!(asff.schema_version(), Some("2018-10-08"));
        assert_eq!(
            asff.id(),
            Some(format!("cmkscan/111122223333/eu-west-1/kms.key_state/{KEY}").as_str())
        );
        assert_eq!(
            asff.product_arn(),
            Some("arn:aws-us-gov:securityhub:eu-west-1:111122223333:product/111122223333/default")
        );
        assert_eq!(asff.generator_id(), Some("cmkscan/kms.key_state"));
        assert_eq!(asff.aws_account_id(), Some("111122223333"));
        assert_eq!(asff.aws_account_name(), Some("prod"));
        assert_eq!(asff.region(), Some("eu-west-1"));
        assert_eq!(asff.types(), [FINDING_TYPE]);
        assert_eq!(asff.created_at(), Some("2026-11-29T10:15:00Z"));
        assert_eq!(asff.first_observed_at(), Some("2026-11-29T10:15:00Z"));
        assert_eq!(asff.last_observed_at(), Some("2026-11-29T10:15:00Z"));
        assert_eq!(asff.updated_at(), Some("2026-11-29T10:20:00.123Z"));
        let severity = asff.severity().unwrap();
        assert_eq!(severity.label(), Some(&SeverityLabel::Medium));
        assert_eq!(severity.original(), Some("MEDIUM"));
        let provider = asff.finding_provider_fields().unwrap();
        assert_eq!(
            provider.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::Medium)
        );
        assert_eq!(provider.types(), [FINDING_TYPE]);
        assert_eq!(asff.title(), Some(CheckId::KeyState.title()));
        assert_eq!(asff.description(), Some("key is PendingDeletion"));
        assert_eq!(
            asff.remediation()
                .and_then(|r| r.recommendation())
                .and_then(|r| r.text()),
            Some(CheckId::KeyState.remediation())
        );
        let compliance = asff.compliance().unwrap();
        assert_eq!(compliance.status(), Some(&ComplianceStatus::Failed));
        assert_eq!(
            compliance.related_requirements(),
            [
                "Security Hub KMS.3",
                "CIS v8 4.9",
                "CIS v7 6.3",
                "CIS v7 5.2"
            ]
        );
        let [resource] = asff.resources() else {
            panic!("one resource: {:?}", asff.resources());
        };
        assert_eq!(resource.r#type(), Some("AwsKmsKey"));
        assert_eq!(resource.id(), Some(KEY));
        assert_eq!(resource.partition(), Some(&Partition::AwsUsGov));
        assert_eq!(resource.region(), Some("eu-west-1"));
        assert_eq!(asff.record_state(), Some(&RecordState::Active));
        let fields = asff.product_fields().unwrap();
        assert_eq!(fields["cmkscan/Status"], "FAIL");
        assert_eq!(fields["cmkscan/OuPath"], "Root/Workloads/Prod");
        assert_eq!(fields["cmkscan/ScanId"], "20261129T101500Z-ab12");
        // Security Hub's workflow is its users': never sent.
        assert!(asff.workflow().is_none() && asff.note().is_none());
    }

    #[test]
    fn every_status_maps_and_an_error_is_never_a_pass() {
        let cases = [
            (
                Status::Pass,
                ComplianceStatus::Passed,
                SeverityLabel::Informational,
            ),
            (Status::Fail, ComplianceStatus::Failed, SeverityLabel::High),
            (Status::Warn, ComplianceStatus::Warning, SeverityLabel::High),
            (
                Status::Error,
                ComplianceStatus::NotAvailable,
                SeverityLabel::High,
            ),
        ];
        for (status, compliance, label) in cases {
            assert_eq!(compliance_status(status), compliance);
            assert_eq!(severity_label(status, CheckSeverity::High), label);
        }
        assert_eq!(
            severity_label(Status::Fail, CheckSeverity::Low),
            SeverityLabel::Low
        );
    }

    #[test]
    fn rows_about_a_whole_account_go_to_the_home_region() {
        let mut f = finding(
            CheckId::AccountAccess,
            Status::Error,
            "",
            "sts:AssumeRole failed",
        );
        f.region = ACCOUNT_WIDE.into();
        let asff = to_asff(&ctx(), &f, None);
        assert_eq!(asff.region(), Some("us-gov-west-1"));
        assert_eq!(
            asff.id(),
            Some("cmkscan/111122223333/us-gov-west-1/scan.account_access")
        );
        assert!(asff.product_arn().unwrap().contains(":us-gov-west-1:"));
        let [resource] = asff.resources() else {
            panic!("one resource");
        };
        assert_eq!(resource.r#type(), Some("AwsAccount"));
        assert_eq!(resource.id(), Some("AWS::::Account:111122223333"));
        // The report's region stays in the product fields.
        assert_eq!(asff.product_fields().unwrap()["cmkscan/Region"], "global");
    }

    #[test]
    fn ids_are_stable_per_what_a_row_stands_for() {
        // A per-region row keeps its id whatever passed or failed.
        let passed = finding(CheckId::KmsEventsLogged, Status::Pass, "arn:trail", "ok");
        let failed = finding(CheckId::KmsEventsLogged, Status::Fail, "", "no trail");
        assert_eq!(
            finding_id(&passed, "eu-west-1"),
            finding_id(&failed, "eu-west-1")
        );
        assert_eq!(
            finding_id(&passed, "eu-west-1"),
            "cmkscan/111122223333/eu-west-1/cloudtrail.kms_events_logged"
        );
        // Two events on one key are two findings; the same event one.
        let event = |detail: &str| {
            finding(
                CheckId::RecentDisableDeleteEvents,
                Status::Warn,
                KEY,
                detail,
            )
        };
        let a = finding_id(&event("DisableKey (event a)"), "eu-west-1");
        let b = finding_id(&event("DisableKey (event b)"), "eu-west-1");
        assert_ne!(a, b);
        assert_eq!(a, finding_id(&event("DisableKey (event a)"), "eu-west-1"));
        // The events row standing for the region (no events, or they could
        // not be read) keeps one id whatever its detail says: the lookback,
        // or an error naming this scan's session.
        let region_row = |status: Status, detail: &str| {
            finding_id(
                &finding(CheckId::RecentDisableDeleteEvents, status, "", detail),
                "eu-west-1",
            )
        };
        let quiet = region_row(Status::Pass, "no DisableKey in the last 30 days");
        assert_eq!(
            quiet,
            "cmkscan/111122223333/eu-west-1/kms.recent_disable_delete_events"
        );
        assert_eq!(
            quiet,
            region_row(Status::Pass, "no DisableKey in the last 90 days")
        );
        assert_eq!(
            quiet,
            region_row(
                Status::Error,
                "cloudtrail:LookupEvents failed: AccessDenied: assumed-role/r/cmkscan-1"
            )
        );
        // The hash is FNV-1a's, the same in every build.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        // A subject too long for AWS is replaced by its hash.
        let long = finding(CheckId::KeyState, Status::Pass, &"k".repeat(600), "");
        let id = finding_id(&long, "eu-west-1");
        assert!(id.chars().count() <= ID_MAX, "{id}");
        assert!(
            id.starts_with("cmkscan/111122223333/eu-west-1/kms.key_state/h-"),
            "{id}"
        );
    }

    #[test]
    fn long_texts_are_cut_to_aws_limits_and_say_so() {
        let detail = "é".repeat(3000);
        let mut f = finding(CheckId::KmsDisableDeleteAlerting, Status::Fail, "", &detail);
        f.account_name = "n".repeat(80);
        let asff = to_asff(&ctx(), &f, None);
        let description = asff.description().unwrap();
        assert_eq!(description.chars().count(), DESCRIPTION_MAX);
        assert!(description.ends_with(TRUNCATION_MARK), "{description}");
        assert!(description.starts_with("éé"));
        assert_eq!(
            asff.aws_account_name().unwrap().chars().count(),
            ACCOUNT_NAME_MAX
        );
        let detail_field = &asff.product_fields().unwrap()["cmkscan/Detail"];
        assert_eq!(detail_field.chars().count(), PRODUCT_FIELD_VALUE_MAX);
        assert_eq!(truncate("short", 10), "short");
        let long = "x".repeat(300);
        assert_eq!(truncate(&long, TITLE_MAX).chars().count(), TITLE_MAX);
        // Every catalogue text fits as it is.
        for check in CheckId::ALL {
            assert!(check.title().chars().count() <= TITLE_MAX, "{check}");
            assert!(
                check.remediation().chars().count() <= RECOMMENDATION_MAX,
                "{check}"
            );
        }
    }

    #[test]
    fn an_accepted_risk_is_sent_with_its_state_not_dropped() {
        let mut f = finding(CheckId::KeyState, Status::Warn, KEY, "key is disabled");
        f.exception = Some(ExceptionMark {
            id: "orders-key-retired".into(),
            state: ExceptionState::Active,
        });
        let asff = to_asff(&ctx(), &f, None);
        // The verdict is unchanged: an exception accepts, it does not pass.
        assert_eq!(
            asff.compliance().and_then(|c| c.status()),
            Some(&ComplianceStatus::Warning)
        );
        assert_eq!(
            asff.description(),
            Some("[accepted risk orders-key-retired] key is disabled")
        );
        let fields = asff.product_fields().unwrap();
        assert_eq!(fields["cmkscan/ExceptionId"], "orders-key-retired");
        assert_eq!(fields["cmkscan/ExceptionState"], "active");
        // Why, by whom and until when, from the exceptions file.
        let outcome = ExceptionOutcome {
            id: "orders-key-retired".into(),
            state: ExceptionState::Active,
            expires: time::Date::from_calendar_date(2027, time::Month::March, 31).unwrap(),
            reason: "key retired with the orders service".into(),
            approved_by: "security-lead@example.com".into(),
            ticket: Some("SEC-42".into()),
            rows: Default::default(),
        };
        let with_file = Context {
            exceptions: std::slice::from_ref(&outcome),
            ..ctx()
        };
        let asff = to_asff(&with_file, &f, None);
        let fields = asff.product_fields().unwrap();
        assert_eq!(
            fields["cmkscan/ExceptionReason"],
            "key retired with the orders service"
        );
        assert_eq!(
            fields["cmkscan/ExceptionApprovedBy"],
            "security-lead@example.com"
        );
        assert_eq!(fields["cmkscan/ExceptionExpires"], "2027-03-31");
        assert_eq!(fields["cmkscan/ExceptionTicket"], "SEC-42");
        // Security Hub users' triage stays theirs.
        assert!(asff.workflow().is_none());

        f.exception = Some(ExceptionMark {
            id: "orders-key-retired".into(),
            state: ExceptionState::Expired,
        });
        f.detail = "d".repeat(2000);
        let asff = to_asff(&ctx(), &f, None);
        let description = asff.description().unwrap();
        assert!(
            description.starts_with("[exception orders-key-retired expired: not accepted] ddd"),
            "{description}"
        );
        assert!(description.ends_with(TRUNCATION_MARK));
        assert_eq!(
            asff.product_fields().unwrap()["cmkscan/ExceptionState"],
            "expired"
        );
        // Without an exception, no exception fields.
        f.exception = None;
        let asff = to_asff(&ctx(), &f, None);
        assert!(!asff
            .product_fields()
            .unwrap()
            .contains_key("cmkscan/ExceptionId"));
    }

    #[test]
    fn an_empty_detail_is_described_by_the_title() {
        let f = finding(CheckId::KmsKeyRecording, Status::Pass, "", " ");
        let asff = to_asff(&ctx(), &f, None);
        assert_eq!(asff.description(), Some(CheckId::KmsKeyRecording.title()));
    }

    #[test]
    fn an_update_keeps_when_security_hub_first_saw_the_finding() {
        let f = finding(CheckId::KmsKeyRecording, Status::Pass, "", "recording");
        let earlier = Earlier {
            created_at: Some("2026-11-22T10:15:00Z".into()),
            first_observed_at: Some("2026-11-22T10:15:00Z".into()),
        };
        let asff = to_asff(&ctx(), &f, Some(&earlier));
        assert_eq!(asff.created_at(), Some("2026-11-22T10:15:00Z"));
        assert_eq!(asff.first_observed_at(), Some("2026-11-22T10:15:00Z"));
        assert_eq!(asff.last_observed_at(), Some("2026-11-29T10:15:00Z"));
    }

    #[test]
    fn an_archived_finding_is_the_earlier_one_with_only_the_providers_fields() {
        let f = finding(CheckId::KeyState, Status::Fail, KEY, "pending deletion");
        let mut earlier = to_asff(&ctx(), &f, None);
        let mut fields = earlier.product_fields.clone().unwrap();
        fields.insert("aws/securityhub/FindingId".into(), "arn:…".into());
        earlier.product_fields = Some(fields);
        earlier.workflow = Some(
            aws_sdk_securityhub::types::Workflow::builder()
                .status(aws_sdk_securityhub::types::WorkflowStatus::Notified)
                .build(),
        );
        let gone = archived(&earlier, "2026-12-06T10:15:00Z");
        assert_eq!(gone.record_state(), Some(&RecordState::Archived));
        assert_eq!(gone.updated_at(), Some("2026-12-06T10:15:00Z"));
        assert_eq!(gone.id(), earlier.id());
        assert_eq!(gone.created_at(), earlier.created_at());
        assert_eq!(gone.compliance(), earlier.compliance());
        assert!(gone.workflow().is_none());
        let fields = gone.product_fields().unwrap();
        assert!(
            fields.keys().all(|key| key.starts_with("cmkscan/")),
            "{fields:?}"
        );
        assert_eq!(fields["cmkscan/Status"], "FAIL");
    }

    #[test]
    fn generator_ids_name_the_check_and_read_back() {
        for check in CheckId::ALL {
            assert_eq!(check_of_generator(&generator_id(check)), Some(check));
        }
        assert_eq!(check_of_generator("security-control/KMS.3"), None);
        assert_eq!(check_of_generator("cmkscan/kms.unknown"), None);
    }
}
