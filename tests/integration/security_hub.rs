//! `--security-hub` on the emulator, through the binary: the sample
//! organisation (tests/support/sample_org.rs) with Security Hub enabled in
//! some accounts and regions, scanned twice. Every finding lands in its
//! own account's Security Hub, in its region, with the ASFF fields the
//! report row implies; the second scan updates the changed finding in
//! place and archives the vanished one; a region without Security Hub
//! and accounts without the import role are reported and skipped, and the
//! verdicts do not change; other products' findings are never touched;
//! throttling loses nothing; a refused finding is counted and fails the
//! run after the report is written, and so do a failed archival (counted
//! apart) and an import role refused in every account. A listing that
//! fails archives nothing it would have named; more than 100 findings in
//! one place go in batches and are read back page by page.
//!
//! moto imports findings whether or not Security Hub is enabled and
//! ignores `GetFindings` filters; the front refuses Security Hub calls
//! where it was not enabled, as AWS does, and cmkscan checks every earlier
//! finding it reads before it archives one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use aws_sdk_securityhub::types::{AwsSecurityFinding, ComplianceStatus, RecordState};
use cmkscan::asff;
use cmkscan::Finding;
use cmkscan::{format_date, today_utc};
use cmkscan::{CheckId, Status};
use serde_json::{json, Value};

use crate::support::cli::{assert_exit, cmkscan_command, describe, run, text};
use crate::support::front::{Fault, Match, Storm, Trigger};
use crate::support::sample_org::{self, SampleOrg};
use crate::support::seed::{KeyState, Recording};
use crate::support::{Account, Emulator, MANAGEMENT_ACCOUNT, REGION};

/// `--security-hub-role-name`'s default, the role member-securityhub-role.yaml creates.
const IMPORT_ROLE: &str = "CmkScanSecurityHubImport";

struct Org {
    emulator: Emulator,
    org: SampleOrg,
    management: Account,
    prod: Account,
}

/// The sample organisation with Security Hub enabled in both regions of
/// the management account, in prod's us-east-1 only, and in both of dev's,
/// whose import role was never deployed (legacy has no role at all).
async fn seeded() -> Org {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;
    let management = emulator.management().await;
    let prod = emulator.account(&org.prod).await;
    let dev = emulator.account(&org.dev).await;
    for region in sample_org::REGIONS {
        management.enable_security_hub(region).await;
        dev.enable_security_hub(region).await;
    }
    prod.enable_security_hub("us-east-1").await;
    emulator.front.deny_role(&org.dev, IMPORT_ROLE);
    Org {
        emulator,
        org,
        management,
        prod,
    }
}

async fn scan_into(emulator: &Emulator, dir: &Path, extra: &[&str]) -> Output {
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["scan", "--regions", "us-east-1,eu-west-1", "--output-dir"])
        .arg(dir)
        .args(["--external-id", "sample-external-id", "--security-hub"])
        .args(extra);
    run(cmd).await
}

/// An exceptions file accepting the management account's eu-west-1
/// recorder row.
fn exceptions_file(dir: &Path) -> String {
    let expires = format_date(today_utc().saturating_add(time::Duration::days(30)));
    let text = format!(
        "exceptions:\n  - id: management-eu-config\n    accounts: [\"{MANAGEMENT_ACCOUNT}\"]\n    \
         regions: [eu-west-1]\n    checks: [config.kms_key_recording]\n    \
         reason: accepted for the test\n    approved_by: security-lead@example.com\n    \
         expires: {expires}\n"
    );
    let path = dir.join("exceptions.yaml");
    std::fs::write(&path, text).expect("write the exceptions file");
    path.to_string_lossy().into_owned()
}

fn report(dir: &Path) -> Value {
    let bytes = std::fs::read(dir.join("findings.json")).expect("findings.json");
    serde_json::from_slice(&bytes).expect("findings.json is JSON")
}

fn rows(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings")
}

fn field<'a>(row: &'a Value, name: &str) -> &'a str {
    row[name].as_str().unwrap_or_default()
}

/// The region a row goes to in Security Hub: its own, or the runner's.
fn hub_region(row: &Value) -> &str {
    match field(row, "region") {
        "global" => REGION,
        region => region,
    }
}

/// The row as the library's finding, to compute its expected id.
fn finding(row: &Value) -> Finding {
    Finding {
        account_id: field(row, "account_id").into(),
        account_name: field(row, "account_name").into(),
        ou_path: field(row, "ou_path").into(),
        // Not in the report row, and not part of the ASFF id.
        ou_id: String::new(),
        region: field(row, "region").into(),
        check: CheckId::from_id(field(row, "check_id")).expect("a known check"),
        status: serde_json::from_value(row["status"].clone()).expect("a status"),
        resource_id: field(row, "resource_id").into(),
        detail: field(row, "detail").into(),
        exception: None,
        pending_deletion: None,
    }
}

fn expected_id(row: &Value) -> String {
    asff::finding_id(&finding(row), hub_region(row))
}

/// (account, check, status) of every verdict, to compare two scans'.
fn verdicts(report: &Value) -> Vec<(String, String, String, String)> {
    let mut verdicts: Vec<_> = rows(report)
        .iter()
        .map(|row| {
            (
                field(row, "account_id").to_string(),
                field(row, "region").to_string(),
                field(row, "check_id").to_string(),
                field(row, "status").to_string(),
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

/// The account × region pairs the import reaches.
fn imported_here(org: &SampleOrg, row: &Value) -> bool {
    let account = field(row, "account_id");
    account == MANAGEMENT_ACCOUNT || (account == org.prod && hub_region(row) == "us-east-1")
}

/// Findings of one account and region, by id.
async fn hub(account: &Account, region: &str) -> BTreeMap<String, AwsSecurityFinding> {
    account
        .security_hub_findings(region)
        .await
        .into_iter()
        .map(|f| (f.id().expect("an id").to_string(), f))
        .collect()
}

/// Asserts the ASFF of `row` as Security Hub holds it.
fn assert_asff(row: &Value, found: &AwsSecurityFinding) {
    let account = field(row, "account_id");
    let region = hub_region(row);
    let check = field(row, "check_id");
    let what = format!("{} {region} {check}", account);
    assert_eq!(found.schema_version(), Some("2018-10-08"), "{what}");
    assert_eq!(
        found.product_arn(),
        Some(format!("arn:aws:securityhub:{region}:{account}:product/{account}/default").as_str()),
        "{what}"
    );
    assert_eq!(
        found.generator_id(),
        Some(format!("cmkscan/{check}").as_str()),
        "{what}"
    );
    assert_eq!(found.aws_account_id(), Some(account), "{what}");
    assert_eq!(found.region(), Some(region), "{what}");
    assert_eq!(found.types(), [asff::FINDING_TYPE], "{what}");
    let compliance = match field(row, "status") {
        "PASS" => ComplianceStatus::Passed,
        "FAIL" => ComplianceStatus::Failed,
        "WARN" => ComplianceStatus::Warning,
        _ => ComplianceStatus::NotAvailable,
    };
    assert_eq!(
        found.compliance().and_then(|c| c.status()),
        Some(&compliance),
        "{what}"
    );
    let label = found.severity().and_then(|s| s.label()).map(|l| l.as_str());
    let expected_label = match field(row, "status") {
        "PASS" => "INFORMATIONAL",
        _ => field(row, "severity"),
    };
    assert_eq!(label, Some(expected_label), "{what}");
    assert_eq!(found.title(), Some(field(row, "title")), "{what}");
    // An accepted risk is sent with its state, ahead of the detail.
    let detail = field(row, "detail");
    let description = match (field(row, "exception_id"), field(row, "exception_state")) {
        ("", _) => detail.to_string(),
        (id, "active") => format!("[accepted risk {id}] {detail}"),
        (id, _) => format!("[exception {id} expired: not accepted] {detail}"),
    };
    assert_eq!(found.description(), Some(description.as_str()), "{what}");
    let fields = found.product_fields().cloned().unwrap_or_default();
    assert_eq!(
        fields.get("cmkscan/ExceptionState").map(String::as_str),
        Some(field(row, "exception_state")).filter(|s| !s.is_empty()),
        "{what}"
    );
    assert_eq!(
        found
            .remediation()
            .and_then(|r| r.recommendation())
            .and_then(|r| r.text()),
        Some(field(row, "remediation")),
        "{what}"
    );
    assert!(!found.resources().is_empty(), "{what}");
    assert_eq!(found.record_state(), Some(&RecordState::Active), "{what}");
    assert!(
        found.created_at().is_some() && found.updated_at().is_some(),
        "{what}"
    );
}

/// Findings of other products in the management account's us-east-1:
/// one of another generator in cmkscan's product, one of cmkscan's
/// generator in another product. Neither may ever be archived.
fn foreign_findings() -> [AwsSecurityFinding; 2] {
    let base = |id: &str, product: &str, generator: &str| {
        AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(id)
            .product_arn(product)
            .generator_id(generator)
            .aws_account_id(MANAGEMENT_ACCOUNT)
            .types("Software and Configuration Checks/AWS Security Best Practices")
            .created_at("2026-01-01T00:00:00Z")
            .updated_at("2026-01-01T00:00:00Z")
            .severity(
                aws_sdk_securityhub::types::Severity::builder()
                    .label(aws_sdk_securityhub::types::SeverityLabel::Low)
                    .build(),
            )
            .title("someone else's finding")
            .description("not cmkscan's")
            .resources(
                aws_sdk_securityhub::types::Resource::builder()
                    .r#type("AwsAccount")
                    .id(format!("AWS::::Account:{MANAGEMENT_ACCOUNT}"))
                    .build(),
            )
            .record_state(RecordState::Active)
            .build()
    };
    let own_product = asff::product_arn("aws", "us-east-1", MANAGEMENT_ACCOUNT);
    [
        base("other-tool/1", &own_product, "security-control/KMS.3"),
        base(
            "other-product/1",
            "arn:aws:securityhub:us-east-1::product/aws/guardduty",
            "cmkscan/kms.key_state",
        ),
    ]
}

fn security_hub_summary(report: &Value) -> &Value {
    &report["summary"]["security_hub"]
}

fn issue<'a>(summary: &'a Value, account: &str, region: &str) -> &'a Value {
    summary["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .find(|i| i["account_id"] == account && i["region"] == region)
        .unwrap_or_else(|| panic!("no issue for {account} {region} in {summary}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_scans_import_update_and_archive_each_accounts_own_findings() {
    let Org {
        emulator,
        org,
        management,
        prod,
    } = seeded().await;
    for foreign in foreign_findings() {
        management.import_finding("us-east-1", foreign).await;
    }
    emulator.front.clear_log();

    // Scan 1.
    let first_dir = tempfile::tempdir().expect("temp dir");
    let exceptions = exceptions_file(first_dir.path());
    let output = scan_into(&emulator, first_dir.path(), &["--exceptions", &exceptions]).await;
    assert_exit(&output, 0);
    let first = report(first_dir.path());
    // The verdicts are the sample organisation's, as without --security-hub.
    let expected: Vec<_> = sample_org::expected(&org)
        .into_iter()
        .map(|(a, r, c, s)| (a, r.to_string(), c.to_string(), s.to_string()))
        .collect();
    assert_eq!(verdicts(&first), expected);

    let imported: Vec<&Value> = rows(&first)
        .iter()
        .filter(|row| imported_here(&org, row))
        .collect();
    let summary = security_hub_summary(&first);
    assert_eq!(summary["imported"], imported.len(), "{summary}");
    assert_eq!(
        summary["skipped"],
        rows(&first).len() - imported.len(),
        "{summary}"
    );
    assert_eq!(
        (summary["failed"].as_u64(), summary["archived"].as_u64()),
        (Some(0), Some(0))
    );
    let not_enabled = issue(summary, &org.prod, "eu-west-1");
    assert_eq!(not_enabled["outcome"], "skipped");
    assert_eq!(not_enabled["findings"], 5);
    assert!(
        field(not_enabled, "reason").contains("not enabled")
            && field(not_enabled, "reason").contains("InvalidAccessException"),
        "{not_enabled}"
    );
    for region in sample_org::REGIONS {
        let no_role = issue(summary, &org.dev, region);
        assert_eq!(no_role["outcome"], "skipped");
        assert_eq!(no_role["findings"], 5);
        assert!(field(no_role, "reason").contains(IMPORT_ROLE), "{no_role}");
    }
    assert_eq!(issue(summary, &org.legacy, REGION)["findings"], 1);
    // Some accounts without the role: skipped, and the run still passes.
    let accounts: BTreeSet<&str> = rows(&first)
        .iter()
        .map(|row| field(row, "account_id"))
        .collect();
    assert_eq!(summary["accounts"], accounts.len(), "{summary}");
    assert_eq!(summary["accounts_without_role"], 2, "{summary}");
    assert_eq!(
        summary["issues"].as_array().map(Vec::len),
        Some(4),
        "{summary}"
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "security hub: {} imported, 0 archived, 0 failed, {} skipped\n",
            imported.len(),
            rows(&first).len() - imported.len()
        )),
        "{}",
        describe(&output)
    );
    // findings.json, written again with its security_hub section, keeps
    // to the schema.
    let errors = crate::evidence::schema_errors(&first_dir.path().join("findings.json"));
    assert!(errors.is_empty(), "{errors}");

    // Every imported row is in its account's Security Hub, in its region,
    // once, and nothing else is there but the foreign findings.
    let mut by_place: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for row in &imported {
        by_place
            .entry((field(row, "account_id").into(), hub_region(row).into()))
            .or_default()
            .push(row);
    }
    assert_eq!(by_place.len(), 3, "{by_place:?}");
    for ((account, region), rows) in &by_place {
        let seeder = if *account == org.prod {
            &prod
        } else {
            &management
        };
        let found = hub(seeder, region).await;
        let foreign = if account == MANAGEMENT_ACCOUNT && region == "us-east-1" {
            2
        } else {
            0
        };
        assert_eq!(
            found.len(),
            rows.len() + foreign,
            "{account} {region}: {found:?}"
        );
        for row in rows {
            let id = expected_id(row);
            let asff = found
                .get(&id)
                .unwrap_or_else(|| panic!("no finding {id}; there are {:?}", found.keys()));
            assert_asff(row, asff);
        }
    }
    // Nothing reached dev's Security Hub, nor prod's eu-west-1.
    let log = emulator.front.log();
    assert!(
        !log.iter()
            .any(|r| r.service == "securityhub" && r.caller == org.dev),
        "dev has no import role"
    );
    assert!(
        !log.iter().any(|r| r.api == "BatchImportFindings"
            && r.caller == org.prod
            && r.region == "eu-west-1"),
        "prod's eu-west-1 has no Security Hub"
    );

    // Between the scans: the management account's eu-west-1 recorder is
    // fixed, and prod's key pending deletion is gone.
    let config_row = rows(&first)
        .iter()
        .find(|row| {
            field(row, "account_id") == MANAGEMENT_ACCOUNT
                && field(row, "region") == "eu-west-1"
                && field(row, "check_id") == "config.kms_key_recording"
        })
        .expect("the management account's eu-west-1 recorder row");
    assert_eq!(field(config_row, "status"), "FAIL");
    assert_eq!(field(config_row, "exception_state"), "active");
    let accepted = &hub(&management, "eu-west-1").await[&expected_id(config_row)];
    let accepted_fields = accepted.product_fields().cloned().unwrap_or_default();
    assert_eq!(
        accepted_fields["cmkscan/ExceptionId"],
        "management-eu-config"
    );
    assert_eq!(
        accepted_fields["cmkscan/ExceptionReason"],
        "accepted for the test"
    );
    assert_eq!(
        accepted_fields["cmkscan/ExceptionApprovedBy"],
        "security-lead@example.com"
    );
    let deleted_row = rows(&first)
        .iter()
        .find(|row| {
            field(row, "account_id") == org.prod
                && field(row, "check_id") == "kms.key_state"
                && field(row, "status") == "FAIL"
        })
        .expect("prod's key pending deletion");
    let deleted_key = field(deleted_row, "resource_id").to_string();
    management
        .recorder("eu-west-1", Recording::AllSupported, true, true)
        .await;
    let gone = deleted_key.clone();
    emulator
        .front
        .rewrite("ListKeys", move |answer: &mut Value| {
            if let Some(keys) = answer["Keys"].as_array_mut() {
                keys.retain(|key| key["KeyArn"] != json!(gone));
            }
        });
    let config_before = hub(&management, "eu-west-1").await[&expected_id(config_row)].clone();

    // Scan 2.
    let second_dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(&emulator, second_dir.path(), &["--exceptions", &exceptions]).await;
    assert_exit(&output, 0);
    let second = report(second_dir.path());
    let summary = security_hub_summary(&second);
    assert_eq!(summary["archived"], 1, "{summary}");
    assert_eq!(summary["imported"], imported.len() - 1, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");

    // The recorder's finding is updated in place: passed now, created when
    // it was first imported.
    let eu = hub(&management, "eu-west-1").await;
    assert_eq!(
        eu.len(),
        by_place[&(MANAGEMENT_ACCOUNT.to_string(), "eu-west-1".to_string())].len()
    );
    let config_after = &eu[&expected_id(config_row)];
    assert_eq!(
        config_after.compliance().and_then(|c| c.status()),
        Some(&ComplianceStatus::Passed)
    );
    assert_eq!(config_after.record_state(), Some(&RecordState::Active));
    assert_eq!(config_after.created_at(), config_before.created_at());
    assert!(config_after.updated_at() > config_before.updated_at());
    // The deleted key's finding is archived; the rest of prod's stay.
    let prod_hub = hub(&prod, "us-east-1").await;
    let archived: Vec<&str> = prod_hub
        .values()
        .filter(|f| f.record_state() == Some(&RecordState::Archived))
        .filter_map(|f| f.id())
        .collect();
    assert_eq!(archived, [expected_id(deleted_row).as_str()]);
    // The other products' findings are untouched.
    let us = hub(&management, "us-east-1").await;
    for foreign in foreign_findings() {
        let id = foreign.id().expect("id");
        assert_eq!(us[id].record_state(), Some(&RecordState::Active), "{id}");
        assert_eq!(us[id].updated_at(), foreign.updated_at(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_imports_are_retried_and_lose_no_finding() {
    let Org {
        emulator,
        org,
        management,
        prod,
    } = seeded().await;
    // Every Security Hub request is throttled twice, and passes on its third
    // attempt (the binary makes 3 in the tests): a storm hitting every
    // request, at most twice each.
    emulator.front.storm(
        Match::service("securityhub"),
        Storm {
            fraction: 1.0,
            most_per_request: 2,
            faults: vec![Fault::Throttling],
        },
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(&emulator, dir.path(), &[]).await;
    assert_exit(&output, 0);
    let log = emulator.front.log();
    let security_hub = |api: &str, fault: Option<&str>| {
        log.iter()
            .filter(|r| r.api == api && r.fault.as_deref() == fault)
            .count()
    };
    for api in ["BatchImportFindings", "GetFindings"] {
        let answered = security_hub(api, None);
        assert!(answered > 0, "{api}: {}", describe(&output));
        assert_eq!(
            security_hub(api, Some("TooManyRequestsException")),
            2 * answered,
            "{api}: every request answered after two throttles"
        );
    }
    let report = report(dir.path());
    let imported: Vec<&Value> = rows(&report)
        .iter()
        .filter(|row| imported_here(&org, row))
        .collect();
    let summary = security_hub_summary(&report);
    assert_eq!(summary["imported"], imported.len(), "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    let mut in_hub = BTreeSet::new();
    for (seeder, region) in [
        (&management, "us-east-1"),
        (&management, "eu-west-1"),
        (&prod, "us-east-1"),
    ] {
        in_hub.extend(hub(seeder, region).await.into_keys());
    }
    let expected: BTreeSet<String> = imported.iter().map(|row| expected_id(row)).collect();
    assert_eq!(in_hub, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_finding_is_counted_and_fails_the_run_after_the_report() {
    let Org { emulator, org, .. } = seeded().await;
    // Security Hub refuses one finding of every batch.
    emulator
        .front
        .rewrite("BatchImportFindings", |answer: &mut Value| {
            let imported = answer["SuccessCount"].as_u64().unwrap_or(0);
            if imported > 0 {
                answer["SuccessCount"] = json!(imported - 1);
                answer["FailedCount"] = json!(1);
                answer["FailedFindings"] = json!([{
                    "Id": "cmkscan/refused",
                    "ErrorCode": "InvalidInput",
                    "ErrorMessage": "Finding exceeds the size limit\u{1b}[31m"
                }]);
            }
        });
    let dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(&emulator, dir.path(), &[]).await;
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("3 findings could not be imported into Security Hub"),
        "{}",
        describe(&output)
    );
    // The report is complete, and says what was lost and why.
    let report = report(dir.path());
    let summary = security_hub_summary(&report);
    assert_eq!(summary["failed"], 3, "{summary}");
    let refused = issue(summary, &org.prod, "us-east-1");
    assert_eq!(refused["outcome"], "failed");
    assert_eq!(refused["findings"], 1);
    assert!(
        field(refused, "reason").contains("cmkscan/refused refused: InvalidInput"),
        "{refused}"
    );
    // Escaped on the terminal.
    assert!(
        !text(&output.stdout).contains('\u{1b}'),
        "{}",
        describe(&output)
    );
    assert_eq!(
        verdicts(&report).len(),
        sample_org::expected(&org).len(),
        "every row is in the report"
    );
    let statuses: BTreeSet<Status> = rows(&report)
        .iter()
        .map(|row| serde_json::from_value(row["status"].clone()).expect("status"))
        .collect();
    assert!(statuses.contains(&Status::Error), "legacy's row is there");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_that_fails_archives_nothing_it_would_have_named() {
    let Org {
        emulator,
        org,
        prod,
        ..
    } = seeded().await;
    let first_dir = tempfile::tempdir().expect("temp dir");
    assert_exit(&scan_into(&emulator, first_dir.path(), &[]).await, 0);
    let first = report(first_dir.path());
    let pending = rows(&first)
        .iter()
        .find(|row| {
            field(row, "account_id") == org.prod
                && field(row, "region") == "us-east-1"
                && field(row, "check_id") == "kms.key_state"
                && field(row, "status") == "FAIL"
        })
        .expect("prod's key pending deletion");
    let before = hub(&prod, "us-east-1").await;
    assert!(before.contains_key(&expected_id(pending)));

    // Scan 2: prod's us-east-1 keys and events cannot be listed.
    for api in ["ListKeys", "LookupEvents"] {
        emulator.front.inject(
            Match::api(api)
                .and_account(&org.prod)
                .and_region("us-east-1"),
            Fault::AccessDenied,
            Trigger::Always,
        );
    }
    let second_dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(&emulator, second_dir.path(), &[]).await;
    assert_exit(&output, 0);
    let second = report(second_dir.path());
    let errors: Vec<&str> = rows(&second)
        .iter()
        .filter(|row| {
            field(row, "account_id") == org.prod
                && field(row, "region") == "us-east-1"
                && field(row, "status") == "ERROR"
        })
        .map(|row| field(row, "check_id"))
        .collect();
    assert_eq!(
        errors,
        ["kms.key_state", "kms.recent_disable_delete_events"],
        "{}",
        describe(&output)
    );
    let summary = security_hub_summary(&second);
    assert_eq!(summary["archived"], 0, "{summary}");
    // Every earlier finding is still active: the pending deletion is not
    // gone, only unseen; the ERROR rows are findings of their own.
    let after = hub(&prod, "us-east-1").await;
    for id in before.keys() {
        assert_eq!(
            after[id].record_state(),
            Some(&RecordState::Active),
            "{id} must not be archived"
        );
    }
    assert_eq!(
        after[&expected_id(pending)]
            .compliance()
            .and_then(|c| c.status()),
        Some(&ComplianceStatus::Failed),
        "the pending deletion is still reported as failed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_role_refused_in_every_account_fails_the_run_after_the_report() {
    let Org { emulator, .. } = seeded().await;
    // The role deployed under another name than the runner asks for.
    emulator.front.inject(
        Match::api("AssumeRole").and_role("Misnamed"),
        Fault::AccessDenied,
        Trigger::Always,
    );
    emulator.front.clear_log();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(
        &emulator,
        dir.path(),
        &["--security-hub-role-name", "Misnamed"],
    )
    .await;
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr)
            .contains("the Security Hub import role Misnamed could be assumed in no account"),
        "{}",
        describe(&output)
    );
    // The report is complete; every row is skipped, none lost.
    let report = report(dir.path());
    let summary = security_hub_summary(&report);
    let accounts: BTreeSet<&str> = rows(&report)
        .iter()
        .map(|row| field(row, "account_id"))
        .collect();
    assert_eq!(summary["accounts"], accounts.len(), "{summary}");
    assert_eq!(
        summary["accounts_without_role"],
        accounts.len(),
        "{summary}"
    );
    assert_eq!(summary["skipped"], rows(&report).len(), "{summary}");
    assert_eq!(
        (summary["imported"].as_u64(), summary["failed"].as_u64()),
        (Some(0), Some(0)),
        "{summary}"
    );
    assert!(
        !emulator
            .front
            .log()
            .iter()
            .any(|r| r.service == "securityhub"),
        "nothing reached Security Hub"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_archival_is_counted_apart_and_fails_the_run() {
    let Org {
        emulator,
        org,
        prod,
        ..
    } = seeded().await;
    let first_dir = tempfile::tempdir().expect("temp dir");
    assert_exit(&scan_into(&emulator, first_dir.path(), &[]).await, 0);
    let first = report(first_dir.path());
    let deleted_row = rows(&first)
        .iter()
        .find(|row| {
            field(row, "account_id") == org.prod
                && field(row, "check_id") == "kms.key_state"
                && field(row, "status") == "FAIL"
        })
        .expect("prod's key pending deletion");
    let gone = field(deleted_row, "resource_id").to_string();
    emulator
        .front
        .rewrite("ListKeys", move |answer: &mut Value| {
            if let Some(keys) = answer["Keys"].as_array_mut() {
                keys.retain(|key| key["KeyArn"] != json!(gone));
            }
        });
    // In prod's us-east-1 the import (one request) passes, the archival
    // (the next) is refused.
    emulator.front.inject(
        Match::api("BatchImportFindings")
            .and_account(&org.prod)
            .and_region("us-east-1"),
        Fault::AccessDenied,
        Trigger::After(1),
    );
    let second_dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(&emulator, second_dir.path(), &[]).await;
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("1 earlier findings could not be archived in Security Hub"),
        "{}",
        describe(&output)
    );
    let second = report(second_dir.path());
    let summary = security_hub_summary(&second);
    assert_eq!(summary["archive_failed"], 1, "{summary}");
    assert_eq!(summary["archived"], 0, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    // Every row of the report is imported or skipped, none failed.
    assert_eq!(
        summary["imported"].as_u64().unwrap_or(0) + summary["skipped"].as_u64().unwrap_or(0),
        rows(&second).len() as u64,
        "{summary}"
    );
    let archival = issue(summary, &org.prod, "us-east-1");
    assert_eq!(archival["outcome"], "failed");
    assert!(
        field(archival, "reason").starts_with("archival: "),
        "{archival}"
    );
    assert!(
        text(&output.stdout).contains(", 1 not archived\n"),
        "{}",
        describe(&output)
    );
    // The key's finding is still active: nothing was lost silently.
    assert_eq!(
        hub(&prod, "us-east-1").await[&expected_id(deleted_row)].record_state(),
        Some(&RecordState::Active)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_a_hundred_findings_go_in_batches_and_are_read_back_page_by_page() {
    let Org {
        emulator,
        management,
        ..
    } = seeded().await;
    // 101 more keys in the management account's us-east-1: with the
    // region's other rows, more than one batch (100) and, read back, more
    // than one GetFindings page (moto's, like AWS's, holds 100 at most).
    let mut extra = BTreeSet::new();
    for _ in 0..101 {
        extra.insert(management.key("us-east-1", None, KeyState::Enabled).await);
    }
    let here = |r: &&crate::support::front::Logged, api: &str| {
        r.api == api
            && r.caller == MANAGEMENT_ACCOUNT
            && r.region == "us-east-1"
            && r.fault.is_none()
    };
    emulator.front.clear_log();
    let first_dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(&emulator, first_dir.path(), &[]).await;
    assert_exit(&output, 0);
    let first = report(first_dir.path());
    let in_region: Vec<&Value> = rows(&first)
        .iter()
        .filter(|row| {
            field(row, "account_id") == MANAGEMENT_ACCOUNT && hub_region(row) == "us-east-1"
        })
        .collect();
    assert!(
        (101..=200).contains(&in_region.len()),
        "{}",
        in_region.len()
    );
    let log = emulator.front.log();
    assert_eq!(
        log.iter()
            .filter(|r| here(r, "BatchImportFindings"))
            .count(),
        2,
        "two batches"
    );
    let found = hub(&management, "us-east-1").await;
    let expected: BTreeSet<String> = in_region.iter().map(|row| expected_id(row)).collect();
    assert_eq!(found.keys().cloned().collect::<BTreeSet<_>>(), expected);

    // Scan 2: the extra keys are gone. Archiving every one of them needs
    // every page of the earlier findings.
    let gone = extra.clone();
    emulator
        .front
        .rewrite("ListKeys", move |answer: &mut Value| {
            if let Some(keys) = answer["Keys"].as_array_mut() {
                keys.retain(|key| !key["KeyArn"].as_str().is_some_and(|arn| gone.contains(arn)));
            }
        });
    emulator.front.clear_log();
    let second_dir = tempfile::tempdir().expect("temp dir");
    let output = scan_into(&emulator, second_dir.path(), &[]).await;
    assert_exit(&output, 0);
    let summary = security_hub_summary(&report(second_dir.path())).clone();
    assert_eq!(summary["archived"], 101, "{summary}");
    let log = emulator.front.log();
    assert_eq!(
        log.iter().filter(|r| here(r, "GetFindings")).count(),
        2,
        "two pages of earlier findings"
    );
    // One batch of the region's rows, two of archivals.
    assert_eq!(
        log.iter()
            .filter(|r| here(r, "BatchImportFindings"))
            .count(),
        3
    );
    let archived: BTreeSet<String> = hub(&management, "us-east-1")
        .await
        .into_values()
        .filter(|f| f.record_state() == Some(&RecordState::Archived))
        .filter_map(|f| f.id().map(str::to_string))
        .collect();
    let expected: BTreeSet<String> = in_region
        .iter()
        .filter(|row| extra.contains(field(row, "resource_id")))
        .map(|row| expected_id(row))
        .collect();
    assert_eq!(archived, expected);
}
