//! `changes.csv` byte for byte: pairs of reports made from the committed
//! facts fixture (one evaluated as is, the other edited: statuses changed,
//! rows dropped and added, an account renamed, the rows shuffled), compared
//! by `cmkscan diff` (CSV against JSON, both ways) and by `cmkscan evaluate
//! --previous` (a scan's own path: its spooled rows against a report
//! file), must give the committed `tests/fixtures/changes/*.csv`. Those were
//! written by the in-memory comparison the streaming one replaced; after an
//! intended change to `changes.csv`, rewrite them with
//! `CMKSCAN_BLESS=1 cargo test --test integration changes_golden` and read
//! their diff before committing.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::evidence::{evaluate, fixture};
use crate::support::cli::{cmkscan_command, output_within, text, ClosedPort};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/changes")
        .join(name)
}

/// `produced` is the golden file `name`, byte for byte (or becomes it,
/// with `CMKSCAN_BLESS=1`).
fn assert_golden(name: &str, produced: &Path) {
    let bytes =
        std::fs::read(produced).unwrap_or_else(|err| panic!("read {}: {err}", produced.display()));
    let path = golden(name);
    if std::env::var_os("CMKSCAN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|err| panic!("read {}: {err} (CMKSCAN_BLESS=1 writes it)", path.display()));
    assert!(
        bytes == expected,
        "{} differs from {}:\n--- produced\n{}\n--- expected\n{}",
        produced.display(),
        path.display(),
        text(&bytes),
        text(&expected)
    );
}

fn cmkscan(args: &[&std::ffi::OsStr]) -> Output {
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.args(args);
    let output = output_within(cmd, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "cmkscan {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// The fixture's report, edited the same way every run: a generator
/// seeded with a constant picks the rows.
fn edited(report: &Value) -> Value {
    let mut report = report.clone();
    let rows = report["findings"].as_array_mut().unwrap();
    let mut rng = fastrand::Rng::with_seed(24);
    let statuses = ["PASS", "FAIL", "WARN", "ERROR"];
    for row in rows.iter_mut() {
        if rng.u8(..100) < 30 {
            let status = statuses[rng.usize(..statuses.len())];
            row["status"] = status.into();
            row["detail"] = format!("edited to {status}").into();
        }
    }
    // Rows that disappear, and rows that appear: another key of an
    // existing account, and an event.
    let mut kept: Vec<Value> = rows
        .iter()
        .filter(|_| rng.u8(..100) >= 15)
        .cloned()
        .collect();
    let template = kept
        .iter()
        .find(|row| row["check_id"] == "kms.key_state")
        .expect("a key row")
        .clone();
    for (i, status) in ["FAIL", "PASS", "WARN"].into_iter().enumerate() {
        let mut key = template.clone();
        key["resource_id"] =
            format!("{}-added-{i}", template["resource_id"].as_str().unwrap()).into();
        key["status"] = status.into();
        kept.push(key);
    }
    let mut event = template.clone();
    event["check_id"] = "kms.recent_disable_delete_events".into();
    event["status"] = "WARN".into();
    event["detail"] = "DisableKey at 2026-11-20T10:00:00Z (event added-1)".into();
    kept.push(event);
    // An account renamed: changes.csv names it as the new report does.
    let renamed = kept[0]["account_id"].clone();
    for row in kept.iter_mut().filter(|row| row["account_id"] == renamed) {
        row["account_name"] = "renamed".into();
    }
    rng.shuffle(&mut kept);
    *report["findings"].as_array_mut().unwrap() = kept;
    report
}

/// The CSV of a findings.json document, columns in the report's order.
fn csv_of(report: &Value) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(cmkscan::CSV_COLUMNS).unwrap();
    for row in report["findings"].as_array().unwrap() {
        let cells: Vec<String> = cmkscan::CSV_COLUMNS
            .iter()
            .map(|column| match &row[*column] {
                Value::String(s) => defuse(s),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        out.write_record(&cells).unwrap();
    }
    out.into_inner().unwrap()
}

/// The report writer's formula defusing, for the cells it applies to.
fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[test]
fn changes_csv_is_the_same_as_before_the_streaming_compare() {
    let work = tempfile::tempdir().unwrap();
    let original = work.path().join("original");
    evaluate(&fixture(), &original);
    let report: Value =
        serde_json::from_slice(&std::fs::read(original.join("findings.json")).unwrap()).unwrap();
    let edited = edited(&report);
    let edited_json = work.path().join("edited.json");
    let edited_csv = work.path().join("edited.csv");
    std::fs::write(&edited_json, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    std::fs::write(&edited_csv, csv_of(&edited)).unwrap();

    // The original's CSV against the edited JSON, and the edited CSV
    // against the original's JSON.
    for (name, old, new) in [
        (
            "diff-forward.csv",
            original.join("findings.csv"),
            edited_json.clone(),
        ),
        (
            "diff-backward.csv",
            edited_csv.clone(),
            original.join("findings.json"),
        ),
    ] {
        let out = work.path().join(name);
        cmkscan(&[
            "diff".as_ref(),
            old.as_os_str(),
            new.as_os_str(),
            "--output".as_ref(),
            out.as_os_str(),
        ]);
        assert_golden(name, &out);
    }

    // A re-evaluation compares its own spooled rows with the edited report.
    let evaluated = work.path().join("evaluated");
    let output = cmkscan(&[
        "evaluate".as_ref(),
        "--facts".as_ref(),
        fixture().as_os_str(),
        "--previous".as_ref(),
        edited_csv.as_os_str(),
        "--output-dir".as_ref(),
        evaluated.as_os_str(),
    ]);
    assert!(
        text(&output.stdout).contains("changes since "),
        "{}",
        text(&output.stdout)
    );
    assert_golden("evaluate-previous.csv", &evaluated.join("changes.csv"));
}
