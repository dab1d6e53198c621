//! The report format, pinned: `cmkscan evaluate` on the committed facts
//! fixture (`tests/fixtures/facts/sample.json`, every check × status) gives
//! the snapshotted CSV and JSON, and the JSON validates against
//! `docs/findings.schema.json`.
//!
//! After an intended change to the report, review and accept the new
//! snapshots with `INSTA_UPDATE=always cargo test --test integration evidence`
//! (or `cargo insta review` when cargo-insta is installed), then read the
//! diff of `tests/integration/snapshots/` before committing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cmkscan::ReportFile;

/// Generous for a Python start-up or an `evaluate` of a small fixture.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/facts/sample.json")
}

/// Runs `cmkscan evaluate` on `facts` into `out_dir`, with an endpoint
/// that refuses connections: evaluate must not need AWS.
pub fn evaluate(facts: &Path, out_dir: &Path) {
    evaluate_with(facts, out_dir, None);
}

/// [`evaluate`], judged with the exceptions file `exceptions` if given.
pub fn evaluate_with(facts: &Path, out_dir: &Path, exceptions: Option<&Path>) {
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.args(["evaluate", "--facts"])
        .arg(facts)
        .arg("--output-dir")
        .arg(out_dir);
    if let Some(exceptions) = exceptions {
        cmd.arg("--exceptions").arg(exceptions);
    }
    let output = output_within(cmd, TOOL_TIMEOUT);
    assert!(
        output.status.success(),
        "evaluate failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// The venv's Python, with `jsonschema` (a dependency of the pinned
/// cfn-lint); `CMKSCAN_TEST_PYTHON` may name another interpreter.
fn python() -> PathBuf {
    let path = std::env::var_os("CMKSCAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/python"));
    let mut probe = Command::new(&path);
    probe.env_clear().args(["-c", "import jsonschema"]);
    let has_jsonschema = path.exists() && output_within(probe, TOOL_TIMEOUT).status.success();
    assert!(
        has_jsonschema,
        "{} with the jsonschema package is needed to validate findings.json against \
         docs/findings.schema.json. Install the tools with `scripts/install-tools.sh` \
         (cfn-lint brings jsonschema), or point CMKSCAN_TEST_PYTHON at a Python that has it.",
        path.display()
    );
    path
}

const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
errors = list(Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
for error in errors:
    print("/".join(map(str, error.absolute_path)) or "(document)", error.message)
sys.exit(1 if errors else 0)
"#;

/// The schema's complaints about the JSON document at `doc`; empty when it
/// validates.
pub fn schema_errors(doc: &Path) -> String {
    validate("findings.schema.json", VALIDATE, doc)
}

/// The plan schema's complaints about the plan.json at `doc`
/// (`cmkscan plan`); empty when it validates.
pub fn plan_schema_errors(doc: &Path) -> String {
    validate("plan.schema.json", VALIDATE, doc)
}

/// Reads a YAML document as cmkscan does: dates stay text (YAML 1.1's
/// timestamps are not resolved), and validates it like [`VALIDATE`].
const VALIDATE_YAML: &str = r#"
import json, sys, yaml
from jsonschema import Draft202012Validator
class Loader(yaml.SafeLoader):
    pass
Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
errors = list(Draft202012Validator(schema).iter_errors(yaml.load(open(sys.argv[2]), Loader=Loader)))
for error in errors:
    print("/".join(map(str, error.absolute_path)) or "(document)", error.message)
sys.exit(1 if errors else 0)
"#;

/// The complaints of `docs/exceptions.schema.json` about the YAML file at
/// `doc`; empty when it validates.
fn exceptions_schema_errors(doc: &Path) -> String {
    validate("exceptions.schema.json", VALIDATE_YAML, doc)
}

fn validate(schema: &str, script: &str, doc: &Path) -> String {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(schema);
    let mut cmd = Command::new(python());
    cmd.env_clear().args(["-c", script]).arg(schema).arg(doc);
    let output = output_within(cmd, TOOL_TIMEOUT);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.success(),
        stdout.is_empty(),
        "validator broke:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn evaluate_of_the_fixture_gives_the_pinned_report() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let csv = read(&out.path().join("findings.csv"));
    let json = read(&out.path().join("findings.json"));

    let header = csv.lines().next().unwrap_or_default();
    insta::assert_snapshot!("csv_header", header);
    assert_eq!(header, cmkscan::CSV_COLUMNS.join(","));
    insta::assert_snapshot!("findings_csv", csv);
    insta::assert_snapshot!("findings_json", json);
}

#[test]
fn the_fixture_covers_every_status_of_every_check() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.path().join("findings.json"))).unwrap();
    let by_check = report["summary"]["by_check"].as_object().unwrap();
    // The statuses each check can produce (docs/report-format.md, Checks).
    let possible = [
        ("scan.account_access", &["ERROR"][..]),
        (
            "cloudtrail.kms_events_logged",
            &["PASS", "FAIL", "WARN", "ERROR"],
        ),
        ("config.kms_key_recording", &["PASS", "FAIL", "ERROR"]),
        (
            "alerting.kms_disable_delete",
            &["PASS", "FAIL", "WARN", "ERROR"],
        ),
        ("kms.key_state", &["PASS", "FAIL", "WARN", "ERROR"]),
        (
            "kms.recent_disable_delete_events",
            &["PASS", "WARN", "ERROR"],
        ),
    ];
    for (check, statuses) in possible {
        for status in statuses {
            assert!(
                by_check[check][status].as_u64().unwrap_or(0) > 0,
                "the fixture has no {status} row for {check}: {by_check:#?}"
            );
        }
    }
}

#[test]
fn the_fixture_report_validates_against_the_schema_and_the_schema_is_strict() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let path = out.path().join("findings.json");
    assert_eq!(schema_errors(&path), "");

    let report: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    type Break = fn(&mut serde_json::Value);
    let broken: [(&str, Break); 5] = [
        ("an unknown finding field", |r| {
            r["findings"][0]["note"] = "x".into()
        }),
        ("an unknown status", |r| {
            r["findings"][0]["status"] = "MAYBE".into()
        }),
        ("an unknown check id", |r| {
            r["findings"][0]["check_id"] = "kms.rotation".into()
        }),
        ("a missing detail", |r| {
            r["findings"][0].as_object_mut().unwrap().remove("detail");
        }),
        ("a missing summary count", |r| {
            r["summary"]["by_status"]
                .as_object_mut()
                .unwrap()
                .remove("WARN");
        }),
    ];
    for (what, edit) in broken {
        let mut doc = report.clone();
        edit(&mut doc);
        let bad = out.path().join("broken.json");
        std::fs::write(&bad, serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_ne!(schema_errors(&bad), "", "the schema accepts {what}");
    }
}

#[test]
fn csv_and_json_of_one_report_read_back_as_the_same_rows() {
    // The fixture's account "=edge" is formula-defused in the CSV only; diff
    // reads both in CSV form, which must match the report writer's defusing.
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let csv = ReportFile::from_path(&out.path().join("findings.csv")).unwrap();
    let json = ReportFile::from_path(&out.path().join("findings.json")).unwrap();
    assert!(
        csv.rows
            .iter()
            .any(|r| r.unwrap().1.account_name == "'=edge"),
        "the fixture lost its defused account name"
    );
    let (csv_rows, json_rows): (Vec<_>, Vec<_>) = (
        csv.rows.iter().map(Result::unwrap).collect(),
        json.rows.iter().map(Result::unwrap).collect(),
    );
    assert_eq!(csv_rows, json_rows);
    assert_eq!((csv.scan_id, csv.scan_time), (json.scan_id, json.scan_time));
}

#[test]
fn every_row_carries_its_ou_path_defused_in_the_csv_only() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let csv = ReportFile::from_path(&out.path().join("findings.csv")).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.path().join("findings.json"))).unwrap();
    let expected = [
        ("026026599888", "Root/Legacy"),
        ("103905615051", "Root/Workloads/Dev"),
        ("123456789012", "Root"),
        ("326604603045", "Root/Workloads/Prod"),
        ("444455556666", "Root/=Edge"),
    ];
    for (_, row) in csv.rows.iter().map(Result::unwrap) {
        let (_, path) = expected
            .iter()
            .find(|(id, _)| *id == row.account_id)
            .unwrap_or_else(|| panic!("unexpected account {}", row.account_id));
        // The CSV writer defuses OU names like any cell from AWS users;
        // "Root/=Edge" starts with the root's name, so it reads unchanged.
        assert_eq!(row.ou_path, *path, "{row:?}");
    }
    for row in report["findings"].as_array().unwrap() {
        let id = row["account_id"].as_str().unwrap();
        let (_, path) = expected.iter().find(|(a, _)| *a == id).unwrap();
        assert_eq!(row["ou_path"], *path, "{row}");
    }
    let by_ou = report["summary"]["by_top_level_ou"].as_object().unwrap();
    assert_eq!(
        by_ou.keys().collect::<Vec<_>>(),
        ["Root", "Root/=Edge", "Root/Legacy", "Root/Workloads"]
    );
    let total = |counts: &serde_json::Value| -> u64 {
        counts
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    let rolled_up: u64 = by_ou.values().map(total).sum();
    assert_eq!(rolled_up, total(&report["summary"]["by_status"]));
}

#[test]
fn facts_from_before_ou_paths_evaluate_to_the_same_verdicts() {
    let mut facts: serde_json::Value =
        serde_json::from_str(&read(&fixture())).expect("the fixture is JSON");
    for list in ["accounts", "inactive_accounts"] {
        for account in facts[list].as_array_mut().unwrap() {
            let account = account.as_object_mut().unwrap();
            account.remove("ou_path");
            account.remove("ou_id");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("older.json");
    std::fs::write(&older, serde_json::to_vec(&facts).unwrap()).unwrap();
    let (old_out, new_out) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::create_dir_all(&old_out).unwrap();
    std::fs::create_dir_all(&new_out).unwrap();
    evaluate(&older, &old_out);
    evaluate(&fixture(), &new_out);
    let old = ReportFile::from_path(&old_out.join("findings.json")).unwrap();
    let new = ReportFile::from_path(&new_out.join("findings.json")).unwrap();
    assert!(old.rows.iter().all(|r| r.unwrap().1.ou_path.is_empty()));
    let strip = |f: &ReportFile| {
        f.rows
            .iter()
            .map(|r| r.unwrap().1)
            .map(|r| {
                (
                    r.account_id.clone(),
                    r.check_id.clone(),
                    r.status,
                    r.detail.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&old), strip(&new));
    let report: serde_json::Value =
        serde_json::from_str(&read(&old_out.join("findings.json"))).unwrap();
    assert_eq!(report["summary"]["by_top_level_ou"], serde_json::json!({}));
    assert_eq!(schema_errors(&old_out.join("findings.json")), "");
}

/// Facts recorded before cmkscan read what an alerting chain's later links
/// depend on (alarm settings and state, topics, targets, dimensions,
/// trusted access) still load, and every chain that passed on them says it
/// cannot be decided because those facts were not collected: never a
/// guessed PASS. Every other row is unchanged.
#[test]
fn facts_from_before_the_alerting_links_were_read_warn_instead_of_guessing() {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for key in [
                    "cloudtrail_trusted_access",
                    "details",
                    "topic",
                    "target_details",
                    "dimensions",
                    "unit",
                    "system_field_dimensions",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut facts: serde_json::Value =
        serde_json::from_str(&read(&fixture())).expect("the fixture is JSON");
    strip(&mut facts);
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("older.json");
    std::fs::write(&older, serde_json::to_vec(&facts).unwrap()).unwrap();
    let (old_out, new_out) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::create_dir_all(&old_out).unwrap();
    std::fs::create_dir_all(&new_out).unwrap();
    evaluate(&older, &old_out);
    evaluate(&fixture(), &new_out);
    let rows = |dir: &Path| {
        let report: serde_json::Value =
            serde_json::from_str(&read(&dir.join("findings.json"))).unwrap();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                (
                    (text("account_id"), text("region"), text("check_id")),
                    (text("status"), text("detail")),
                )
            })
            .collect::<Vec<_>>()
    };
    let (old, new) = (rows(&old_out), rows(&new_out));
    assert_eq!(old.len(), new.len());
    let mut warned = 0;
    for ((key, (old_status, old_detail)), (new_key, (new_status, new_detail))) in
        old.iter().zip(&new)
    {
        assert_eq!(key, new_key);
        if key.2 == "alerting.kms_disable_delete" && new_status == "PASS" {
            warned += 1;
            assert_eq!(old_status, "WARN", "{key:?}: {old_detail}");
            assert!(
                old_detail.starts_with("cannot decide: ")
                    && old_detail.contains("(evidence from an earlier cmkscan)")
                    || old_detail.contains("was read by an earlier cmkscan"),
                "{key:?}: {old_detail}"
            );
        } else {
            assert_eq!(
                (old_status, old_detail),
                (new_status, new_detail),
                "{key:?}"
            );
        }
    }
    // The fixture's passing chains: an EventBridge rule and an alarm chain.
    assert!(warned >= 2, "{warned}");
    assert_eq!(schema_errors(&old_out.join("findings.json")), "");
}

/// The example exceptions file of docs/report-format.md: the first YAML
/// block of its "Exceptions" section.
pub fn documented_exceptions() -> String {
    let doc = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-format.md"));
    let section = doc
        .split("## Exceptions (accepted risks)")
        .nth(1)
        .expect("the Exceptions section");
    let block = section.split("```yaml\n").nth(1).expect("a YAML example");
    block.split("```").next().expect("its end").to_string()
}

#[test]
fn the_documented_exceptions_example_is_valid_and_marks_the_fixture_as_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let example = dir.path().join("exceptions.yaml");
    std::fs::write(&example, documented_exceptions()).unwrap();
    assert_eq!(exceptions_schema_errors(&example), "");
    // A null ticket is no ticket, for the schema as for cmkscan.
    let null_ticket = dir.path().join("null-ticket.yaml");
    let text = documented_exceptions().replace("ticket: SEC-1234", "ticket: ~");
    assert!(text.contains("ticket: ~"));
    std::fs::write(&null_ticket, text).unwrap();
    assert_eq!(exceptions_schema_errors(&null_ticket), "");
    let null_out = dir.path().join("null-ticket");
    std::fs::create_dir_all(&null_out).unwrap();
    evaluate_with(&fixture(), &null_out, Some(&null_ticket));

    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    evaluate_with(&fixture(), &out, Some(&example));
    let csv = read(&out.join("findings.csv"));
    insta::assert_snapshot!("findings_csv_with_exceptions", csv);
    let report: serde_json::Value =
        serde_json::from_str(&read(&out.join("findings.json"))).unwrap();
    let mut summary = report["summary"]["exceptions"].clone();
    // The path is the temporary directory's.
    summary["source"] = "exceptions.yaml".into();
    insta::assert_snapshot!(
        "summary_exceptions",
        serde_json::to_string_pretty(&summary).unwrap()
    );
    assert_eq!(schema_errors(&out.join("findings.json")), "");
    // Statuses are those of the report without exceptions.
    let plain = tempfile::tempdir().unwrap();
    evaluate(&fixture(), plain.path());
    let with = ReportFile::from_path(&out.join("findings.json")).unwrap();
    let without = ReportFile::from_path(&plain.path().join("findings.json")).unwrap();
    let statuses = |f: &ReportFile| {
        f.rows
            .iter()
            .map(Result::unwrap)
            .map(|(k, r)| (k.to_string(), r.status))
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses(&with), statuses(&without));
}

#[test]
fn the_exceptions_schema_is_strict() {
    let dir = tempfile::tempdir().unwrap();
    let example = documented_exceptions();
    let broken = [
        (
            "an unknown field",
            example.replacen("    reason:", "    rationale:", 1),
        ),
        (
            "an account that is no id",
            example.replacen("\"326604603045\"", "\"prod\"", 1),
        ),
        (
            "an unknown check id",
            example.replacen("config.kms_key_recording", "config.recorder", 1),
        ),
        (
            "a missing approver",
            example.replacen("    approved_by: cto@example.com\n", "", 1),
        ),
        (
            "a malformed date",
            example.replacen("2027-03-31", "31/03/2027", 1),
        ),
        (
            "an empty account list",
            example.replacen("[ou-ab12-dev00001]", "[]", 1),
        ),
    ];
    for (what, text) in broken {
        assert_ne!(text, example, "{what}: the example changed, fix the test");
        let path = dir.path().join("broken.yaml");
        std::fs::write(&path, text).unwrap();
        assert_ne!(
            exceptions_schema_errors(&path),
            "",
            "the schema accepts {what}"
        );
    }
}
use crate::support::cli::{cmkscan_command, output_within, ClosedPort};
