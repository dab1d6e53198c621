//! Changes since the previous report: a scan compares itself with the
//! report `--previous` names, or the latest earlier one under `--s3-uri`,
//! and writes `changes.csv` and findings.json's `changes`; a previous report
//! named that cannot be read is a usage error, one found that cannot be read
//! never fails the scan; the discovery walk picks the
//! right report with few requests; `evaluate` reproduces the comparison
//! from the facts and that report.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::evidence::{evaluate, fixture, schema_errors};
use crate::support::cli::{
    assert_exit, assert_same_files, cmkscan_command, describe, evaluate_offline, output_within,
    read_json, run, scan_args, text, ClosedPort,
};
use crate::support::seed::{KeyState, Recording};
use crate::support::{Account, Emulator, REGION};

/// The scan id of the committed facts fixture.
const FIXTURE_SCAN_ID: &str = "20261128T155626Z-0c4b";

/// Puts the report of the committed facts fixture where a scan on
/// 2026-11-28 would have uploaded it under `prefix`.
pub(crate) async fn put_fixture_report(account: &Account, bucket: &str, prefix: &str) {
    let out = tempfile::tempdir().unwrap();
    let facts = fixture();
    let dir = out.path().to_path_buf();
    tokio::task::spawn_blocking(move || evaluate(&facts, &dir))
        .await
        .expect("evaluate the fixture");
    let body = std::fs::read_to_string(out.path().join("findings.json")).unwrap();
    account
        .object(
            REGION,
            bucket,
            &format!("{prefix}/2026/11/28/{FIXTURE_SCAN_ID}/findings.json"),
            &body,
        )
        .await;
}

/// `cmkscan scan` of one region into `out_dir`, with `extra` arguments.
async fn scan(emulator: &Emulator, out_dir: &Path, extra: &[&str]) -> Output {
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir);
    cmd.args(extra);
    run(cmd).await
}

/// The CSV's rows, as (change, account, check, resource, old, new).
fn changes_csv(path: &Path) -> Vec<[String; 6]> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        cmkscan::DIFF_CSV_COLUMNS
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            [0, 1, 4, 5, 6, 7].map(|i| r[i].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_scans_list_exactly_the_stopped_recorder_and_the_key_scheduled_for_deletion() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    let member = emulator.create_account("member").await;
    member
        .recorder(REGION, Recording::AllSupported, true, true)
        .await;
    let key = member
        .key(REGION, Some("alias/data"), KeyState::Enabled)
        .await;
    let upload = ["--s3-uri", "s3://reports-bucket/weekly"];

    // The first scan has nothing to compare with, and says so.
    let first = tempfile::tempdir().unwrap();
    let output = scan(&emulator, first.path(), &upload).await;
    assert_exit(&output, 0);
    let report = read_json(&first.path().join("findings.json"));
    assert_eq!(
        report["changes"],
        json!({
            "compared": false,
            "previous": {"source": "s3://reports-bucket/weekly", "scan_id": null, "scan_time": null},
            "reason": "no earlier report under s3://reports-bucket/weekly",
            "counts": null,
            "accounts_appeared": [],
            "accounts_left": [],
            "rows": [],
        })
    );
    assert!(!first.path().join("changes.csv").exists());
    assert!(
        text(&output.stdout)
            .contains("changes: not compared: no earlier report under s3://reports-bucket/weekly"),
        "{}",
        describe(&output)
    );

    // Its evidence records why, so evaluate says the same, byte for byte.
    let evaluated = tempfile::tempdir().unwrap();
    let output = evaluate_offline(&first.path().join("facts.json.gz"), evaluated.path(), &[]).await;
    assert_exit(&output, 0);
    assert_same_files(first.path(), evaluated.path(), &["findings.json"]);

    member.stop_recorder(REGION).await;
    member.schedule_key_deletion(REGION, &key).await;

    emulator.front.clear_log();
    let second = tempfile::tempdir().unwrap();
    let output = scan(&emulator, second.path(), &upload).await;
    assert_exit(&output, 0);
    let first_id = report["scan_id"].as_str().unwrap();
    let first_date = report["scan_time"].as_str().unwrap()[..10].replace('-', "/");
    let first_uri = format!("s3://reports-bucket/weekly/{first_date}/{first_id}/findings.json");
    // Years, months of the newest year, days of its newest month, objects
    // of the newest day: the report is there.
    assert_eq!(emulator.front.requests("ListObjectsV2"), 4);
    assert_eq!(emulator.front.requests("GetObject"), 1);

    let path = second.path().join("findings.json");
    assert_eq!(schema_errors(&path), "");
    let changes = &read_json(&path)["changes"];
    assert_eq!(changes["compared"], true, "{changes:#}");
    assert_eq!(changes["reason"], Value::Null);
    assert_eq!(
        changes["previous"],
        json!({"source": first_uri, "scan_id": first_id, "scan_time": report["scan_time"].clone()})
    );
    assert_eq!(changes["accounts_appeared"], json!([]));
    assert_eq!(changes["accounts_left"], json!([]));
    let counts = changes["counts"].as_object().unwrap();
    for (kind, count) in counts {
        let expected = u64::from(kind == "new_pending_deletion" || kind == "new_fail");
        if kind != "unchanged" {
            assert_eq!(count.as_u64(), Some(expected), "{kind}: {changes:#}");
        }
    }
    let expected = [
        [
            "new_pending_deletion",
            member.id.as_str(),
            "kms.key_state",
            key.as_str(),
            "PASS",
            "FAIL",
        ],
        [
            "new_fail",
            member.id.as_str(),
            "config.kms_key_recording",
            "default",
            "PASS",
            "FAIL",
        ],
    ]
    .map(|row| row.map(str::to_string));
    assert_eq!(changes_csv(&second.path().join("changes.csv")), expected);
    let rows = changes["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{changes:#}");
    assert_eq!(rows[1]["new_detail"], "recorder default is stopped");
    // The page shows the same two changes, each under its heading.
    let page = std::fs::read_to_string(second.path().join("report.html")).unwrap();
    let section =
        &page[page.find("id=\"changes\"").unwrap()..page.find("id=\"findings\"").unwrap()];
    assert!(
        section.contains(&format!("Compared with scan {first_id}")),
        "{section}"
    );
    let pending = section
        .find("Keys newly pending deletion · 1")
        .expect("pending heading");
    let fails = section.find("New FAIL rows · 1").expect("new FAIL heading");
    let errors = section
        .find("Newly ERROR (not read, never a PASS) · 0")
        .expect("error heading");
    assert!(section[pending..fails].contains(key.as_str()), "{section}");
    assert!(
        section[fails..errors].contains("recorder default is stopped"),
        "{section}"
    );
    assert!(
        section.contains("Fixed (FAIL before, PASS or gone now) · 0"),
        "{section}"
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "changes since {first_id} ({first_uri}): 2 changed (1 new_pending_deletion, 1 new_fail)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("/changes.csv\n")
            && stdout.contains("uploaded s3://reports-bucket/weekly/"),
        "{stdout}"
    );
    let uploaded_changes = stdout
        .lines()
        .filter(|l| l.starts_with("uploaded ") && l.ends_with("/changes.csv"))
        .count();
    assert_eq!(uploaded_changes, 1, "{stdout}");

    // evaluate: with the report the scan compared with (here the first
    // scan's local copy), the same findings.json and changes.csv, byte for
    // byte; without it, a report that says how to compare again.
    let evaluated = tempfile::tempdir().unwrap();
    let previous = first.path().join("findings.json");
    let facts = second.path().join("facts.json.gz");
    let previous_arg = ["--previous", previous.to_str().expect("a UTF-8 path")];
    let output = evaluate_offline(&facts, evaluated.path(), &previous_arg).await;
    assert_exit(&output, 0);
    assert_same_files(
        second.path(),
        evaluated.path(),
        &[
            "findings.json",
            "findings.csv",
            "changes.csv",
            "report.html",
        ],
    );
    let alone = tempfile::tempdir().unwrap();
    assert_exit(&evaluate_offline(&facts, alone.path(), &[]).await, 0);
    let changes = &read_json(&alone.path().join("findings.json"))["changes"];
    assert_eq!(changes["compared"], false);
    assert_eq!(
        changes["reason"],
        format!("the scan compared with {first_uri} (scan {first_id}); give evaluate that report with --previous to compare again")
    );
    assert!(!alone.path().join("changes.csv").exists());
}

/// A report `--previous` names must be read: one that cannot be (missing,
/// malformed, another schema, an S3 object that is not there) is a usage
/// error before the scan's first request, and no report is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_named_previous_report_that_cannot_be_read_is_a_usage_error() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    let work = tempfile::tempdir().unwrap();
    let missing = work.path().join("missing/findings.json");
    let malformed = work.path().join("malformed.json");
    std::fs::write(&malformed, "{\"schema_version\": 1, \"findings\": [tru").unwrap();
    let other_schema = work.path().join("v2.json");
    std::fs::write(
        &other_schema,
        r#"{"schema_version": 2, "scan_id": "x", "findings": []}"#,
    )
    .unwrap();
    let missing_object =
        "s3://reports-bucket/weekly/2026/11/21/20261121T060000Z-ab12/findings.json";
    for (previous, reason, requests) in [
        (
            missing.display().to_string(),
            format!("cannot read {}: ", missing.display()),
            0,
        ),
        (
            malformed.display().to_string(),
            format!("{}: not a cmkscan findings JSON: ", malformed.display()),
            0,
        ),
        (
            other_schema.display().to_string(),
            format!(
                "{}: findings.json schema version 2; this cmkscan reads version 1",
                other_schema.display()
            ),
            0,
        ),
        (
            missing_object.to_string(),
            format!("cannot read {missing_object}: s3:GetObject failed: NoSuchKey"),
            1,
        ),
    ] {
        let out_dir = tempfile::tempdir().unwrap();
        emulator.front.clear_log();
        let output = scan(&emulator, out_dir.path(), &["--previous", &previous]).await;
        assert_exit(&output, 2);
        let said = crate::support::cli::assert_one_line_reason(
            &output,
            &format!("cannot use the report --previous names: {reason}"),
        );
        assert!(!said.contains("\n"), "{said}");
        // Nothing but the report's own read.
        assert_eq!(
            emulator.front.log().len(),
            requests,
            "{previous}: {:?}",
            emulator.front.log()
        );
        assert!(!out_dir.path().join("findings.csv").exists());
    }

    // A malformed --previous is a usage error, found before any request.
    let closed = ClosedPort::bind();
    for (value, needle) in [
        ("s3://reports-bucket/weekly/", "expected the report object"),
        ("s3://Bad_Bucket/findings.json", "bucket name"),
    ] {
        let out_dir = tempfile::tempdir().unwrap();
        let mut cmd = cmkscan_command(&closed.endpoint);
        scan_args(&mut cmd, out_dir.path());
        cmd.args(["--previous", value]);
        let output = run(cmd).await;
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains(needle),
            "{}",
            describe(&output)
        );
    }
    // So is an S3 --previous for evaluate with no region to read it in.
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.env_remove("AWS_REGION")
        .args(["evaluate", "--facts"])
        .arg(fixture())
        .args(["--previous", missing_object, "--output-dir"])
        .arg(work.path().join("evaluated"));
    let output = output_within(cmd, crate::support::cli::TIMEOUT);
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains("no AWS region for the runner"),
        "{}",
        describe(&output)
    );
}

/// The previous report found under `--s3-uri` (not named) never fails the
/// scan: one that cannot be read leaves the report written, saying why, and
/// no changes.csv beside it.
#[tokio::test(flavor = "multi_thread")]
async fn a_found_previous_report_that_cannot_be_read_leaves_the_report_written_and_says_why() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    management.bucket(REGION, "reports-bucket").await;
    let key = "weekly/2026/01/05/20260105T060000Z-bbbb/findings.json";
    management
        .object(
            REGION,
            "reports-bucket",
            key,
            "{\"schema_version\": 1, \"findings\": [tru",
        )
        .await;
    let out_dir = tempfile::tempdir().unwrap();
    // A changes.csv of an earlier run must not stay beside this report.
    std::fs::write(out_dir.path().join("changes.csv"), "stale").unwrap();
    let output = scan(
        &emulator,
        out_dir.path(),
        &["--s3-uri", "s3://reports-bucket/weekly"],
    )
    .await;
    assert_exit(&output, 0);
    let path = out_dir.path().join("findings.json");
    assert_eq!(schema_errors(&path), "");
    let changes = &read_json(&path)["changes"];
    assert_eq!(changes["compared"], false);
    let said = changes["reason"].as_str().unwrap();
    assert!(
        said.starts_with(&format!(
            "s3://reports-bucket/{key}: not a cmkscan findings JSON: "
        )),
        "{said}"
    );
    assert!(
        text(&output.stdout).contains(&format!("changes: not compared: {said}")),
        "{}",
        describe(&output)
    );
    assert!(!out_dir.path().join("changes.csv").exists());
    // The page says the same, escaped like every other text.
    let page = std::fs::read_to_string(out_dir.path().join("report.html")).unwrap();
    assert!(page.contains("No comparison was made: "));
    assert!(page.contains(&escape_html(said)), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_picks_the_latest_earlier_report_walking_newest_first() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    management.bucket(REGION, "history").await;
    for key in [
        "weekly/2025/12/29/20251229T060000Z-aaaa/findings.json",
        "weekly/2026/01/05/20260105T060000Z-bbbb/findings.json",
        // Later the same day, an upload that failed before findings.json.
        "weekly/2026/01/05/20260105T070000Z-cccc/findings.csv",
        // The newest day holds only a failed upload.
        "weekly/2026/01/12/20260112T060000Z-dddd/findings.csv",
        // A clock far ahead.
        "weekly/2099/01/01/20990101T060000Z-eeee/findings.json",
        // Not reports.
        "weekly/notes.txt",
        "weekly/2026/README.md",
        "weekly/2026/01/05/misc/findings.json",
        // Another prefix.
        "monthly/2026/02/01/20260201T060000Z-ffff/findings.json",
    ] {
        management.object(REGION, "history", key, "{}").await;
    }
    let config = emulator.runner_config().await;
    let throttle = Arc::new(cmkscan::Throttle::for_config(&config));
    let session = cmkscan::AccountSession::runner(config, throttle);
    let now = cmkscan::scan_id_prefix_now();
    for (uri, before, expected, requests) in [
        // years; 2026's months; 2026/01's days; 01/12's objects; 01/05's.
        (
            "s3://history/weekly",
            now.as_str(),
            Some("weekly/2026/01/05/20260105T060000Z-bbbb/findings.json"),
            5,
        ),
        // The bound is a second: a report of that same second is not earlier.
        (
            "s3://history/weekly/",
            "20260105T063000Z",
            Some("weekly/2026/01/05/20260105T060000Z-bbbb/findings.json"),
            4,
        ),
        // Nothing earlier that day, month or year: back to 2025/12/29.
        (
            "s3://history/weekly",
            "20260105T060000Z",
            Some("weekly/2025/12/29/20251229T060000Z-aaaa/findings.json"),
            7,
        ),
        // Only 2025/12/29 is not after the bound, and its report is later.
        ("s3://history/weekly", "20251229T050000Z", None, 4),
        ("s3://history/nothing", now.as_str(), None, 1),
    ] {
        emulator.front.clear_log();
        let uri: cmkscan::S3Uri = uri.parse().unwrap();
        let found = cmkscan::latest_report_key(&session, REGION, &uri, before)
            .await
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(found.as_deref(), expected, "{uri} before {before}");
        assert_eq!(
            emulator.front.requests("ListObjectsV2"),
            requests,
            "{uri} before {before}"
        );
    }

    // A listing that fails is said, and not taken for "nothing found".
    emulator
        .front
        .deny(crate::support::MANAGEMENT_ACCOUNT, "ListObjectsV2");
    let uri: cmkscan::S3Uri = "s3://history/weekly".parse().unwrap();
    let err = cmkscan::latest_report_key(&session, REGION, &uri, &now)
        .await
        .expect_err("denied");
    assert_eq!(err.api, "s3:ListObjectsV2");
}

/// What the page's one escaping function makes of a text.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
