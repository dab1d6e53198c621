//! Getting into accounts, as the docs promise it: the external id on every
//! AssumeRole, the role name (a path included) that is assumed, credentials
//! renewed when they expire mid-scan, and which accounts are scanned by the
//! state Organizations lists them in.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cmkscan::Status;
use serde_json::{json, Value};

use crate::support::cli::{assert_exit, cmkscan_command, read_json, run, scan_args};
use crate::support::front::Logged;
use crate::support::sample_org::key_event;
use crate::support::{options, Emulator, MANAGEMENT_ACCOUNT, REGION};

/// (account, check, status, detail) of every row in `findings.csv`.
fn rows(out_dir: &Path) -> Vec<(String, String, String, String)> {
    let mut reader = csv::Reader::from_path(out_dir.join("findings.csv")).expect("findings.csv");
    let headers = reader.headers().expect("CSV header").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let (account, check, status, detail) = (
        column("account_id"),
        column("check_id"),
        column("status"),
        column("detail"),
    );
    reader
        .records()
        .map(|r| {
            let r = r.expect("CSV row");
            (
                r[account].to_string(),
                r[check].to_string(),
                r[status].to_string(),
                r[detail].to_string(),
            )
        })
        .collect()
}

fn assume_roles(emulator: &Emulator) -> Vec<Logged> {
    emulator
        .front
        .log()
        .into_iter()
        .filter(|r| r.api == "AssumeRole")
        .collect()
}

/// The member roles' trust policy requires the external id: the scan sends
/// it on every AssumeRole and gets in. With a wrong one, each member account
/// is one ERROR row naming the refused AssumeRole, and the management
/// account (no role to assume) is still scanned.
#[tokio::test(flavor = "multi_thread")]
async fn the_external_id_is_sent_on_every_assume_role_and_a_wrong_one_is_an_error_row() {
    let emulator = Emulator::with_organization().await;
    let first = emulator.create_account("first").await;
    let second = emulator.create_account("second").await;
    let members = [first.id.clone(), second.id.clone()];
    emulator.front.require_external_id("right-external-id");

    emulator.front.clear_log();
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--external-id", "right-external-id"]);
    assert_exit(&run(cmd).await, 0);
    let calls = assume_roles(&emulator);
    let assumed: BTreeSet<&str> = calls.iter().map(|r| r.account.as_str()).collect();
    assert_eq!(assumed, members.iter().map(String::as_str).collect());
    for call in &calls {
        assert_eq!(call.external_id.as_deref(), Some("right-external-id"));
        assert_eq!(call.fault, None, "{call:?}");
    }
    let scanned = rows(out_dir.path());
    assert!(
        scanned.iter().all(|(_, _, status, _)| status != "ERROR"),
        "{scanned:#?}"
    );
    for member in &members {
        assert!(
            scanned.iter().any(|(account, ..)| account == member),
            "{member} not scanned: {scanned:#?}"
        );
    }

    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--external-id", "wrong-external-id"]);
    assert_exit(&run(cmd).await, 0);
    let scanned = rows(out_dir.path());
    for member in &members {
        let member_rows: Vec<_> = scanned.iter().filter(|r| &r.0 == member).collect();
        assert_eq!(member_rows.len(), 1, "{member_rows:#?}");
        let (_, check, status, detail) = member_rows[0];
        assert_eq!(
            (check.as_str(), status.as_str()),
            ("scan.account_access", "ERROR")
        );
        assert!(
            detail.contains("sts:AssumeRole") && detail.contains("AccessDenied"),
            "{detail}"
        );
    }
    assert!(
        scanned
            .iter()
            .any(|(account, _, status, _)| account == MANAGEMENT_ACCOUNT && status != "ERROR"),
        "the management account is scanned: {scanned:#?}"
    );
}

/// `--role-name` is the role assumed in every member account, a path
/// included; without it, `CmkScanReadOnly`.
#[tokio::test(flavor = "multi_thread")]
async fn the_role_name_given_is_the_role_assumed_path_included() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    for (role_name, expected) in [
        (None, "CmkScanReadOnly"),
        (Some("AuditReader"), "AuditReader"),
        (Some("team/Name"), "team/Name"),
    ] {
        emulator.front.clear_log();
        let out_dir = tempfile::tempdir().unwrap();
        let mut cmd = cmkscan_command(emulator.endpoint());
        scan_args(&mut cmd, out_dir.path());
        if let Some(role_name) = role_name {
            cmd.args(["--role-name", role_name]);
        }
        assert_exit(&run(cmd).await, 0);
        let calls = assume_roles(&emulator);
        assert!(!calls.is_empty(), "{role_name:?}: no AssumeRole");
        for call in calls {
            assert_eq!(
                call.role_arn,
                Some(format!("arn:aws:iam::{}:role/{expected}", member.id)),
                "{role_name:?}"
            );
        }
    }
}

/// Credentials from AssumeRole that expire while the account is still being
/// scanned are renewed: no request is ever signed with expired credentials
/// (the front refuses those, as AWS does, and the rows would be ERROR).
#[tokio::test(flavor = "multi_thread")]
async fn credentials_that_expire_mid_scan_are_renewed() {
    const LIFETIME: Duration = Duration::from_secs(3);
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    // Twelve events, one a page, at LookupEvents' 2 requests a second: the
    // member's scan outlasts its first credentials.
    let key = format!("arn:aws:kms:{REGION}:{}:key/renewal", member.id);
    for hours in 1..=12 {
        emulator.front.add_event(key_event(
            &member.id,
            REGION,
            "DisableKey",
            &key,
            Duration::from_secs(3600 * hours),
        ));
    }
    emulator.front.credential_lifetime(LIFETIME);
    emulator.front.clear_log();

    let scan = emulator.scan(options(&[REGION])).await;
    let member_rows: Vec<_> = scan
        .findings
        .iter()
        .filter(|f| f.account_id == member.id)
        .collect();
    assert!(
        member_rows.iter().all(|f| f.status != Status::Error),
        "{member_rows:#?}"
    );
    let events = member_rows
        .iter()
        .filter(|f| f.check.as_str() == "kms.recent_disable_delete_events")
        .count();
    assert_eq!(events, 12, "every page read: {member_rows:#?}");
    let log = emulator.front.log();
    let member_calls: Vec<_> = log.iter().filter(|r| r.caller == member.id).collect();
    let first = member_calls.first().expect("requests as the member").at;
    let last = member_calls.last().expect("requests as the member").at;
    assert!(
        last - first > LIFETIME,
        "the member's scan took {:?}, within one credential lifetime",
        last - first
    );
    let renewals = log
        .iter()
        .filter(|r| r.api == "AssumeRole" && r.account == member.id)
        .count();
    assert!(renewals >= 2, "{renewals} AssumeRole for the member");
    assert!(
        log.iter().all(|r| r.fault.is_none()),
        "{:#?}",
        log.iter().filter(|r| r.fault.is_some()).collect::<Vec<_>>()
    );

    // The front does refuse expired credentials: a request signed after
    // they expired gets ExpiredToken.
    let seeder = emulator.account(&member.id).await;
    tokio::time::sleep(LIFETIME + Duration::from_millis(1500)).await;
    let err = aws_sdk_kms::Client::new(&seeder.config)
        .list_keys()
        .send()
        .await
        .expect_err("expired credentials are refused");
    assert_eq!(err.code(), Some("ExpiredTokenException"), "{err:?}");
}

/// Which accounts are scanned: `ACTIVE` ones, and those that report no state
/// at all; any other state (`PENDING_CLOSURE`, `SUSPENDED`) is skipped and
/// listed in the summary. `State` decides; the retired `Status` only when
/// `State` is absent.
#[tokio::test(flavor = "multi_thread")]
async fn account_states_decide_which_accounts_are_scanned() {
    let emulator = Emulator::with_organization().await;
    let closing = emulator.create_account("closing").await.id;
    let status_active = emulator.create_account("status-active").await.id;
    let status_suspended = emulator.create_account("status-suspended").await.id;
    let stateless = emulator.create_account("stateless").await.id;
    let states = [
        (closing.clone(), Some("PENDING_CLOSURE"), Some("ACTIVE")),
        (status_active.clone(), None, Some("ACTIVE")),
        (status_suspended.clone(), None, Some("SUSPENDED")),
        (stateless.clone(), None, None),
    ];
    emulator
        .front
        .rewrite("ListAccountsForParent", move |answer: &mut Value| {
            for account in answer["Accounts"].as_array_mut().into_iter().flatten() {
                let Some((_, state, status)) = states.iter().find(|s| account["Id"] == s.0) else {
                    continue;
                };
                let fields = account.as_object_mut().expect("an account object");
                fields.remove("State");
                fields.remove("Status");
                if let Some(state) = state {
                    fields.insert("State".into(), json!(state));
                }
                if let Some(status) = status {
                    fields.insert("Status".into(), json!(status));
                }
            }
        });

    emulator.front.clear_log();
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    assert_exit(&run(cmd).await, 0);
    let summary = read_json(&out_dir.path().join("findings.json"))["summary"].clone();
    let mut skipped: Vec<(String, String)> = summary["accounts_skipped"]
        .as_array()
        .expect("accounts_skipped")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default().to_string(),
                a["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    skipped.sort();
    let mut expected = vec![
        (closing.clone(), "PENDING_CLOSURE".to_string()),
        (status_suspended.clone(), "SUSPENDED".to_string()),
    ];
    expected.sort();
    assert_eq!(skipped, expected, "{summary:#}");
    assert_eq!(summary["accounts_scanned"], 3, "{summary:#}");

    let scanned: BTreeSet<String> = rows(out_dir.path()).into_iter().map(|r| r.0).collect();
    let expected: BTreeSet<String> = [MANAGEMENT_ACCOUNT.to_string(), status_active, stateless]
        .into_iter()
        .collect();
    assert_eq!(scanned, expected);
    let assumed: BTreeSet<String> = assume_roles(&emulator)
        .into_iter()
        .map(|r| r.account)
        .collect();
    assert!(
        !assumed.contains(&closing) && !assumed.contains(&status_suspended),
        "a skipped account was entered: {assumed:?}"
    );
}
