//! `findings.ocsf.json`, pinned: `cmkscan evaluate` of the committed facts
//! fixture gives the snapshotted file; every object validates against the
//! real OCSF schema of the version it names (`cmkscan::OCSF_VERSION`),
//! class Detection Finding with the profiles the object declares, as the
//! pinned `ocsf-json-schema` package generates it from the OCSF server's own
//! export of that version; and each object says what its report row says,
//! under a `finding_info.uid` that survives a new scan and a new verdict.
//!
//! After an intended change, accept the new snapshot with
//! `INSTA_UPDATE=always cargo test --test integration ocsf` and review the
//! diff of `tests/integration/snapshots/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::evidence::{documented_exceptions, evaluate, evaluate_with, fixture};
use crate::support::cli::{output_within, read_json};

/// Generous for a Python start-up that loads a 3 MB schema.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// The venv's Python with `jsonschema` and `ocsf-json-schema`;
/// `CMKSCAN_TEST_PYTHON` may name another interpreter.
fn python() -> PathBuf {
    let path = std::env::var_os("CMKSCAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/python"));
    let mut probe = Command::new(&path);
    probe
        .env_clear()
        .args(["-c", "import jsonschema, ocsf_json_schema"]);
    let ready = path.exists() && output_within(probe, TOOL_TIMEOUT).status.success();
    assert!(
        ready,
        "{} with the jsonschema and ocsf-json-schema packages is needed to validate \
         findings.ocsf.json against the OCSF schema. Install the tools with \
         `scripts/install-tools.sh`, or point CMKSCAN_TEST_PYTHON at a Python that has both.",
        path.display()
    );
    path
}

/// Validates each object of a JSON array against the Detection Finding
/// schema of `version` with the profiles the object lists in
/// `metadata.profiles`. Prints `{"ids": [schema $id, ...], "errors": [...]}`.
const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
version, path = sys.argv[1], sys.argv[2]
ocsf = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
validators = {}
errors = []
for index, finding in enumerate(json.load(open(path))):
    profiles = tuple(finding.get("metadata", {}).get("profiles", []))
    if profiles not in validators:
        schema = ocsf.get_class_schema("detection_finding", list(profiles))
        Draft202012Validator.check_schema(schema)
        validators[profiles] = (schema["$id"], Draft202012Validator(schema))
    for error in validators[profiles][1].iter_errors(finding):
        path = "/".join(map(str, error.absolute_path)) or "(object)"
        errors.append(f"{index}: {path}: {error.message}")
print(json.dumps({"ids": sorted(i for i, _ in validators.values()), "errors": errors}))
"#;

pub struct Validation {
    /// The `$id` of each schema used: the version, class and profiles.
    pub ids: Vec<String>,
    pub errors: Vec<String>,
}

pub fn validate(findings: &Path) -> Validation {
    let mut cmd = Command::new(python());
    cmd.env_clear()
        .args(["-c", VALIDATE, cmkscan::OCSF_VERSION])
        .arg(findings);
    let output = output_within(cmd, TOOL_TIMEOUT);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the validator broke:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_str(&stdout).expect("the validator answers JSON");
    let strings = |key: &str| -> Vec<String> {
        answer[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    Validation {
        ids: strings("ids"),
        errors: strings("errors"),
    }
}

#[test]
fn evaluate_of_the_fixture_gives_the_pinned_ocsf_findings() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let ocsf = std::fs::read_to_string(out.path().join("findings.ocsf.json")).unwrap();
    insta::assert_snapshot!("findings_ocsf", ocsf);
}

#[test]
fn every_ocsf_finding_validates_against_the_ocsf_schema_which_is_strict() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let path = out.path().join("findings.ocsf.json");
    let findings = read_json(&path);
    let count = findings.as_array().unwrap().len();
    let rows = read_json(&out.path().join("findings.json"))["findings"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, rows, "one OCSF object per report row");
    let validation = validate(&path);
    assert_eq!(validation.errors, Vec::<String>::new());
    assert_eq!(
        validation.ids,
        [format!(
            "https://schema.ocsf.io/schema/{}/classes/detection_finding?profiles=cloud,datetime",
            cmkscan::OCSF_VERSION
        )]
    );

    // The same validator refuses what the OCSF schema forbids, so its
    // silence above means something.
    type Break = fn(&mut Value);
    let broken: [(&str, Break); 7] = [
        ("an attribute OCSF does not define", |f| {
            f["verdict_text"] = "PASS".into()
        }),
        ("another class", |f| f["class_uid"] = 2003.into()),
        ("a status id outside the enum", |f| {
            f["status_id"] = 7.into()
        }),
        ("a finding without uid", |f| {
            f["finding_info"].as_object_mut().unwrap().remove("uid");
        }),
        ("a cloud without provider", |f| {
            f["cloud"].as_object_mut().unwrap().remove("provider");
        }),
        ("a resource with neither uid nor name", |f| {
            f["resources"][0] = json!({"type": "AWS::::Account"})
        }),
        ("a time as text", |f| f["time"] = "2026-11-28".into()),
    ];
    let first = findings[0].clone();
    let mut bad = Vec::new();
    for (_, edit) in &broken {
        let mut finding = first.clone();
        edit(&mut finding);
        bad.push(finding);
    }
    let bad_path = out.path().join("broken.json");
    std::fs::write(&bad_path, serde_json::to_vec(&bad).unwrap()).unwrap();
    let errors = validate(&bad_path).errors;
    for (index, (what, _)) in broken.iter().enumerate() {
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{index}: "))),
            "the OCSF schema accepts {what}: {errors:#?}"
        );
    }
}

#[test]
fn each_ocsf_finding_says_what_its_report_row_says() {
    let out = tempfile::tempdir().unwrap();
    evaluate(&fixture(), out.path());
    let report = read_json(&out.path().join("findings.json"));
    let findings = read_json(&out.path().join("findings.ocsf.json"));
    let scan_id = report["scan_id"].as_str().unwrap();
    // 2026-11-28T15:56:26Z in milliseconds.
    let scan_time_ms = 1_795_881_386_000_u64;
    let rows = report["findings"].as_array().unwrap();
    let findings = findings.as_array().unwrap();
    assert_eq!(rows.len(), findings.len());
    for (row, finding) in rows.iter().zip(findings) {
        let at = format!("{row}\n{finding}");
        assert_eq!(finding["status_code"], row["status"], "{at}");
        let open = row["status"] != "PASS";
        assert_eq!(finding["status_id"], if open { 1 } else { 4 }, "{at}");
        assert_eq!(finding["metadata"]["event_code"], row["check_id"], "{at}");
        assert_eq!(finding["metadata"]["correlation_uid"], scan_id, "{at}");
        assert_eq!(finding["time"], scan_time_ms, "{at}");
        assert_eq!(finding["finding_info"]["title"], row["title"], "{at}");
        assert_eq!(finding["finding_info"]["desc"], row["detail"], "{at}");
        assert_eq!(finding["remediation"]["desc"], row["remediation"], "{at}");
        assert_eq!(
            finding["cloud"]["account"]["uid"], row["account_id"],
            "{at}"
        );
        // Names from AWS users are data: never defused or escaped here.
        if row["account_name"] != "" {
            assert_eq!(
                finding["cloud"]["account"]["name"], row["account_name"],
                "{at}"
            );
        }
        assert_eq!(finding["cloud"]["org"]["uid"], "o-a1b2c3d4e5", "{at}");
        if row["region"] == "global" {
            assert!(finding["cloud"].get("region").is_none(), "{at}");
        } else {
            assert_eq!(finding["cloud"]["region"], row["region"], "{at}");
        }
        assert_eq!(
            finding["unmapped"]["resource_id"], row["resource_id"],
            "{at}"
        );
        assert_eq!(finding["unmapped"]["ou_path"], row["ou_path"], "{at}");
        let controls: Vec<&str> = finding["unmapped"]["controls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            controls.join("; "),
            row["controls"].as_str().unwrap(),
            "{at}"
        );
        let severity = [("LOW", 2), ("MEDIUM", 3), ("HIGH", 4)]
            .into_iter()
            .find(|(label, _)| row["severity"] == *label)
            .map(|(_, id)| id);
        assert_eq!(finding["severity_id"].as_u64(), severity, "{at}");
        let resource_ids: Vec<&Value> = finding["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.get("uid").or(r.get("name")).unwrap())
            .collect();
        assert!(resource_ids.contains(&&row["account_id"]), "{at}");
        if row["resource_id"] != "" {
            assert!(resource_ids.contains(&&row["resource_id"]), "{at}");
        }
    }
    let edge = findings
        .iter()
        .find(|f| f["cloud"]["account"]["uid"] == "444455556666")
        .unwrap();
    assert_eq!(edge["cloud"]["account"]["name"], "=edge");
    assert_eq!(edge["cloud"]["org"]["ou_uid"], "ou-ab12-edge0001");
    let management = findings
        .iter()
        .find(|f| f["cloud"]["account"]["uid"] == "123456789012")
        .unwrap();
    // Directly under the root: no OU.
    assert!(management["cloud"]["org"].get("ou_uid").is_none());
}

/// The facts of one account's region.
fn region<'a>(facts: &'a mut Value, account: &str, region: &str) -> &'a mut Value {
    let accounts = facts["accounts"].as_array_mut().unwrap();
    let account = accounts.iter_mut().find(|a| a["id"] == account).unwrap();
    let regions = account["regions"].as_array_mut().unwrap();
    regions.iter_mut().find(|r| r["region"] == region).unwrap()
}

/// `finding_info.uid` of each object, with its verdict.
fn verdicts_by_uid(findings: &Value) -> BTreeMap<String, String> {
    let findings = findings.as_array().unwrap();
    let verdicts: BTreeMap<String, String> = findings
        .iter()
        .map(|f| {
            (
                f["finding_info"]["uid"].as_str().unwrap().to_string(),
                f["status_code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        findings.len(),
        "finding uids are not unique"
    );
    verdicts
}

#[test]
fn finding_uids_survive_a_new_scan_and_a_new_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    evaluate(&fixture(), &before);

    // A week later: a new scan, a recorder started (a region's FAIL turns
    // PASS), events readable again (a region's ERROR turns PASS), and a key
    // whose deletion was cancelled (a key's FAIL turns PASS).
    let mut facts = read_json(&fixture());
    facts["scan_id"] = "20261205T155626Z-9f31".into();
    facts["scan_time"] = "2026-12-05T15:56:26Z".into();
    region(&mut facts, "103905615051", "eu-west-1")["config"]["Ok"]["recorders"][0]["recording"] =
        true.into();
    region(&mut facts, "444455556666", "us-west-2")["recent_events"] = json!({"Ok": []});
    let key = "arn:aws:kms:us-east-1:326604603045:key/865ba95d-0bcf-4915-8068-476e99d1d248";
    let keys = &mut region(&mut facts, "326604603045", "us-east-1")["keys"]["Ok"]["customer_keys"];
    let key = keys
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|k| k["arn"] == key)
        .unwrap();
    key["state"] = "Enabled".into();
    key["deletion_date"] = Value::Null;
    let later = dir.path().join("later.json");
    std::fs::write(&later, serde_json::to_vec(&facts).unwrap()).unwrap();
    evaluate(&later, &after);

    let old_file = read_json(&before.join("findings.ocsf.json"));
    let new_file = read_json(&after.join("findings.ocsf.json"));
    let (old, new) = (verdicts_by_uid(&old_file), verdicts_by_uid(&new_file));
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>(),
        "the same findings under the same uids"
    );
    let mut changed: Vec<(&str, &str)> = old
        .iter()
        .filter(|(uid, verdict)| new[*uid] != **verdict)
        .map(|(uid, verdict)| (verdict.as_str(), new[uid].as_str()))
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [("ERROR", "PASS"), ("FAIL", "PASS"), ("FAIL", "PASS")],
        "exactly the three edited findings changed verdict"
    );
    // Each object of the new scan is a new event of the same finding.
    let event_uids = |file: &Value| -> Vec<String> {
        file.as_array()
            .unwrap()
            .iter()
            .map(|f| f["metadata"]["uid"].as_str().unwrap().to_string())
            .collect()
    };
    let old_events = event_uids(&old_file);
    assert!(event_uids(&new_file)
        .iter()
        .all(|uid| !old_events.contains(uid)));
}

#[test]
fn accepted_risks_are_suppressed_and_keep_their_exception_in_unmapped() {
    let dir = tempfile::tempdir().unwrap();
    let example = dir.path().join("exceptions.yaml");
    std::fs::write(&example, documented_exceptions()).unwrap();
    let (with, without) = (dir.path().join("with"), dir.path().join("without"));
    evaluate_with(&fixture(), &with, Some(&example));
    evaluate(&fixture(), &without);
    let path = with.join("findings.ocsf.json");
    assert_eq!(validate(&path).errors, Vec::<String>::new());

    let report = read_json(&with.join("findings.json"));
    let findings = read_json(&path);
    let plain = read_json(&without.join("findings.ocsf.json"));
    let mut seen = BTreeMap::new();
    for ((row, finding), plain) in report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .zip(findings.as_array().unwrap())
        .zip(plain.as_array().unwrap())
    {
        let at = format!("{row}\n{finding}");
        // The same finding, whatever the exceptions say.
        assert_eq!(
            finding["finding_info"]["uid"], plain["finding_info"]["uid"],
            "{at}"
        );
        assert_eq!(finding["status_code"], plain["status_code"], "{at}");
        let state = row["exception_state"].as_str().unwrap();
        let unmapped = &finding["unmapped"];
        if state.is_empty() {
            assert!(unmapped.get("exception_id").is_none(), "{at}");
            assert!(unmapped.get("exception_state").is_none(), "{at}");
            assert_eq!(finding["status_id"], plain["status_id"], "{at}");
            continue;
        }
        assert_eq!(unmapped["exception_id"], row["exception_id"], "{at}");
        assert_eq!(unmapped["exception_state"], state, "{at}");
        let status = row["status"].as_str().unwrap();
        let expected = match (status, state) {
            ("PASS", _) => (4, "Resolved"),
            ("FAIL" | "WARN", "active") => (3, "Suppressed"),
            _ => (1, "New"),
        };
        assert_eq!(
            (
                finding["status_id"].as_u64().unwrap(),
                finding["status"].as_str().unwrap()
            ),
            expected,
            "{at}"
        );
        *seen.entry((status, state)).or_insert(0) += 1;
    }
    // The documented example accepts FAILs and a WARN, and its expired
    // exception matches a FAIL, a WARN and a PASS: every case is here.
    for case in [
        ("FAIL", "active"),
        ("WARN", "active"),
        ("FAIL", "expired"),
        ("WARN", "expired"),
        ("PASS", "expired"),
    ] {
        assert!(seen.contains_key(&case), "no {case:?} row: {seen:?}");
    }
}
