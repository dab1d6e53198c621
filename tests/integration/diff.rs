//! `cmkscan diff`: one changed fact shows up as exactly one changed row;
//! usage errors and output failures get their exit codes.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::evidence::{evaluate, fixture, schema_errors};
use crate::support::cli::{cmkscan_command, output_within, read_facts_json, text, ClosedPort};
use crate::support::sample_org;
use crate::support::{Emulator, MANAGEMENT_ACCOUNT};

/// `cmkscan diff`, with an endpoint that refuses connections: diff needs
/// no AWS.
fn diff(args: &[&Path]) -> Output {
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.arg("diff").args(args);
    output_within(cmd, Duration::from_secs(60))
}

/// Scans the seeded sample organisation with the binary, in us-east-1 and
/// eu-west-1, into `out_dir`.
async fn scan_sample_org(out_dir: &Path) {
    let emulator = Emulator::start().await;
    sample_org::seed(&emulator).await;
    let mut scan = cmkscan_command(emulator.endpoint());
    scan.args(["scan", "--regions", "us-east-1,eu-west-1", "--output-dir"])
        .arg(out_dir)
        .env("CMKSCAN_EXTERNAL_ID", "sample-external-id");
    let output = crate::support::cli::run(scan).await;
    assert!(
        output.status.success(),
        "scan failed\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The config recorder of `account` in `region`, in a facts document.
fn recorder<'a>(facts: &'a mut Value, account: &str, region: &str) -> &'a mut Value {
    let accounts = facts["accounts"].as_array_mut().unwrap();
    let account = accounts.iter_mut().find(|a| a["id"] == account).unwrap();
    let regions = account["regions"].as_array_mut().unwrap();
    let region = regions.iter_mut().find(|r| r["region"] == region).unwrap();
    &mut region["config"]["Ok"]["recorders"][0]
}

fn write_json(path: PathBuf, value: &Value) -> PathBuf {
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_one_recorder_is_exactly_one_new_fail() {
    let work = tempfile::tempdir().unwrap();
    let scanned = work.path().join("scan");
    scan_sample_org(&scanned).await;
    assert_eq!(schema_errors(&scanned.join("findings.json")), "");

    let facts = read_facts_json(&scanned);
    let mut stopped = facts.clone();
    let target = recorder(&mut stopped, MANAGEMENT_ACCOUNT, "us-east-1");
    assert_eq!(
        target["recording"], true,
        "the sample's recorder is running"
    );
    target["recording"] = false.into();

    let (before, after) = (work.path().join("before"), work.path().join("after"));
    evaluate(&write_json(work.path().join("facts.json"), &facts), &before);
    evaluate(
        &write_json(work.path().join("stopped.json"), &stopped),
        &after,
    );

    let changes = work.path().join("changes.csv");
    let output = diff(&[
        &before.join("findings.csv"),
        &after.join("findings.json"),
        Path::new("--output"),
        &changes,
    ]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("\n1 changed: 1 new_fail; "), "{stdout}");

    let mut reader = csv::Reader::from_path(&changes).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row: Vec<&str> = rows.iter().flat_map(|r| r.iter()).collect();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        row[..8],
        [
            "new_fail",
            MANAGEMENT_ACCOUNT,
            "master",
            "us-east-1",
            "config.kms_key_recording",
            "default",
            "PASS",
            "FAIL"
        ],
        "{row:?}"
    );
    assert!(
        row[8].starts_with("recorder default is recording AWS::KMS::Key"),
        "{row:?}"
    );
    assert_eq!(row[9], "recorder default is stopped", "{row:?}");
}

#[test]
fn a_report_against_itself_has_no_changes_and_an_empty_csv() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let changes = out.path().join("changes.csv");
    let output = diff(&[
        &out.path().join("findings.json"),
        &out.path().join("findings.csv"),
        Path::new("--output"),
        &changes,
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\n0 changed; 48 unchanged\n"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&changes).unwrap(),
        format!("{}\n", cmkscan::DIFF_CSV_COLUMNS.join(","))
    );
}

#[test]
fn unreadable_or_foreign_reports_are_usage_errors() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let good = out.path().join("findings.csv");
    let foreign = out.path().join("other.csv");
    std::fs::write(&foreign, "id,status\n1,PASS\n").unwrap();
    let newer = out.path().join("newer.json");
    std::fs::write(&newer, r#"{"schema_version": 2, "findings": []}"#).unwrap();
    let missing = out.path().join("missing.csv");
    for (old, new, reason) in [
        (&missing, &good, "cannot read"),
        (
            &good,
            &foreign,
            "not a cmkscan findings CSV: its header is \"id,status\"",
        ),
        (
            &newer,
            &good,
            "findings.json schema version 2; this cmkscan reads version 1",
        ),
    ] {
        let output = diff(&[old, new]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
    }
}

#[test]
fn an_unwritable_output_exits_1_after_printing_the_table() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let report = out.path().join("findings.csv");
    let output = diff(&[
        &report,
        &report,
        Path::new("--output"),
        &out.path().join("no-such-dir/changes.csv"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stdout).contains("0 changed"));
    assert!(
        text(&output.stderr).contains("cannot write"),
        "{}",
        text(&output.stderr)
    );
}
