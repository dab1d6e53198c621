//! The runner in a member account (a security account): the Organizations
//! reads go through `--org-role` in the management account, the management
//! account is scanned through `--role-name` like any member, and every
//! verdict is the one a run from the management account gives. (The
//! emulator does not answer a member's Organizations reads as a delegated
//! administrator's, so the delegation-policy placement is covered by the
//! templates and their test.)

use std::path::Path;
use std::process::Output;

use aws_credential_types::provider::ProvideCredentials;

use crate::support::cli::cmkscan_command;
use crate::support::sample_org;
use crate::support::{Emulator, MANAGEMENT_ACCOUNT};

const REGIONS: &str = "us-east-1,eu-west-1";

/// Every row's account, OU path, region, check, status, resource and detail
/// (the detail of an access ERROR names the caller, which differs by
/// placement).
fn verdicts(dir: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(dir.join("findings.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let columns = [
        "account_id",
        "account_name",
        "ou_path",
        "region",
        "check_id",
        "status",
        "resource_id",
        "detail",
    ]
    .map(column);
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|row| {
            let row = row.unwrap();
            let mut values: Vec<String> = columns.iter().map(|&i| row[i].to_string()).collect();
            if values[4] == "scan.account_access" {
                values.pop();
            }
            values
        })
        .collect();
    rows.sort();
    rows
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "scan failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn member_runner_with_org_role_gives_the_management_runs_verdicts() {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;

    let from_management = tempfile::tempdir().unwrap();
    let output = cmkscan_command(emulator.endpoint())
        .args(["scan", "--regions", REGIONS, "--output-dir"])
        .arg(from_management.path())
        .env("CMKSCAN_EXTERNAL_ID", "sample-external-id")
        .output()
        .unwrap();
    assert_success(&output);

    // The runner's credentials now belong to the prod member account.
    let member = emulator.account(&org.prod).await;
    let creds = member
        .config
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .unwrap();
    let org_role = format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/security/CmkScanOrgReader");
    emulator.front.clear_log();
    let from_member = tempfile::tempdir().unwrap();
    let output = cmkscan_command(emulator.endpoint())
        .args(["scan", "--regions", REGIONS, "--org-role", &org_role])
        // The OU checks are Organizations reads too: an empty OU left out.
        .args(["--exclude-ous", &org.quarantine_ou])
        .arg("--output-dir")
        .arg(from_member.path())
        .env("CMKSCAN_EXTERNAL_ID", "sample-external-id")
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env("AWS_SESSION_TOKEN", creds.session_token().unwrap())
        .output()
        .unwrap();
    assert_success(&output);

    let expected = verdicts(from_management.path());
    assert!(
        expected.iter().any(|row| row[0] == MANAGEMENT_ACCOUNT),
        "the management account is scanned"
    );
    assert_eq!(verdicts(from_member.path()), expected);

    let log = emulator.front.log();
    // Every Organizations read was made as the org role, in the management
    // account, and none as the runner.
    let org_reads: Vec<_> = log
        .iter()
        .filter(|entry| entry.service == "organizations")
        .collect();
    for api in ["ListRoots", "DescribeOrganizationalUnit", "ListParents"] {
        assert!(org_reads.iter().any(|entry| entry.api == api), "{api}");
    }
    for entry in &org_reads {
        assert_eq!(entry.caller, MANAGEMENT_ACCOUNT, "{entry:?}");
    }
    // The org role was assumed by the runner, with the scan's session name;
    // the management account was entered through the scan role (twice:
    // once for its own scan, once to read the central event bus prod's
    // rule forwards to, which is read once per scan whoever forwards to
    // it), the runner's own account was not entered at all.
    let assumed: Vec<_> = log
        .iter()
        .filter(|entry| entry.api == "AssumeRole" && entry.fault.is_none())
        .collect();
    for entry in &assumed {
        assert_eq!(entry.caller, org.prod, "{entry:?}");
        assert!(
            entry
                .session_name
                .as_deref()
                .is_some_and(|name| name.starts_with("cmkscan-")),
            "{entry:?}"
        );
    }
    let entered: Vec<&str> = assumed.iter().map(|entry| entry.account.as_str()).collect();
    assert_eq!(
        entered.iter().filter(|&&a| a == MANAGEMENT_ACCOUNT).count(),
        3,
        "the org role and the scan role (twice) in the management account: {entered:?}"
    );
    assert!(!entered.contains(&org.prod.as_str()), "{entered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_org_role_that_cannot_be_assumed_stops_the_scan_naming_it() {
    let emulator = Emulator::start().await;
    emulator.create_organization().await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, "AssumeRole");
    let out_dir = tempfile::tempdir().unwrap();
    let org_role = format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/CmkScanOrgReader");
    let output = cmkscan_command(emulator.endpoint())
        .args(["scan", "--org-role", &org_role, "--output-dir"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot assume --org-role {org_role}")),
        "{stderr}"
    );
    assert!(stderr.contains("AccessDenied"), "{stderr}");
    for listing in ["ListRoots", "ListAccountsForParent"] {
        assert_eq!(emulator.front.requests(listing), 0, "{listing}");
    }
    assert!(std::fs::read_dir(out_dir.path()).unwrap().next().is_none());
}

#[test]
fn a_malformed_org_role_is_a_usage_error() {
    for bad in [
        "CmkScanOrgReader",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::1111:role/R",
    ] {
        let output = cmkscan_command("http://127.0.0.1:1")
            .args(["scan", "--org-role", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("not an IAM role ARN"), "{bad}: {stderr}");
    }
}
