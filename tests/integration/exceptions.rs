//! `--exceptions` end to end: the sample organisation scanned with an
//! exceptions file read from S3 (an active exception by OU, one by key
//! glob, an expired one, a stale one and one matching an ERROR row): every
//! row's exception columns, the summary's counts and stdout, the same
//! statuses as a scan without it, the file kept in the evidence so that
//! `evaluate` reproduces the report byte for byte, and `evaluate
//! --exceptions` judging the same facts with another file. Bad files stop
//! both commands with exit code 2 before any AWS request; an unreadable S3
//! object with exit code 1.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use cmkscan::{format_date, today_utc};
use sha2::{Digest, Sha256};

use crate::support::cli::{
    assert_empty_dir, assert_exit, assert_one_line_reason, assert_same_files, cmkscan_command,
    describe, evaluate_offline, read_facts_json, read_json, run, run_within, text, ClosedPort,
    REPORT_FILES,
};
use crate::support::sample_org::{self, SampleOrg};
use crate::support::{options, Emulator, MANAGEMENT_ACCOUNT};

const BUCKET: &str = "risk-register";
const KEY: &str = "cmkscan/exceptions.yaml";

/// A day `days` after today (UTC), as the file writes it.
fn in_days(days: i64) -> String {
    format_date(today_utc().saturating_add(time::Duration::days(days)))
}

fn entry(
    id: &str,
    accounts: &str,
    regions: &str,
    checks: &str,
    extra: &str,
    expires: &str,
) -> String {
    format!(
        "  - id: {id}\n    accounts: [{accounts}]\n    regions: [{regions}]\n    checks: [{checks}]\n{extra}    \
         reason: accepted for the test\n    approved_by: security-lead@example.com\n    expires: {expires}\n"
    )
}

fn exceptions_file(org: &SampleOrg) -> String {
    [
        "exceptions:\n".to_string(),
        // Active, by OU: prod and dev sit in OUs under Workloads.
        entry(
            "workloads-eu-config",
            &org.workloads_ou,
            "eu-west-1",
            "config.kms_key_recording",
            "    ticket: SEC-1\n",
            &in_days(30),
        ),
        // Active, by key ARN glob.
        entry(
            "prod-retired-keys",
            &format!("\"{}\"", org.prod),
            "us-east-1",
            "kms.key_state",
            &format!(
                "    resources: [\"arn:aws:kms:us-east-1:{}:key/*\"]\n",
                org.prod
            ),
            &in_days(60),
        ),
        // Expired long ago: flags its row, accepts nothing.
        entry(
            "management-eu-alerting",
            &format!("\"{MANAGEMENT_ACCOUNT}\""),
            "eu-west-1",
            "alerting.kms_disable_delete",
            "",
            "2020-01-31",
        ),
        // Matches legacy's access ERROR only.
        entry(
            "legacy-anything",
            &format!("\"{}\"", org.legacy),
            "\"*\"",
            "\"*\"",
            "",
            &in_days(10),
        ),
        // Matches nothing: no account has that region scanned.
        entry(
            "retired-region",
            "\"*\"",
            "ap-southeast-2",
            "\"*\"",
            "",
            &in_days(10),
        ),
    ]
    .concat()
}

/// (account, region, check, status) → (exception_id, exception_state) of
/// every marked row; every other row has both columns empty.
fn expected_marks(
    org: &SampleOrg,
) -> BTreeMap<(String, &'static str, &'static str, &'static str), (&'static str, &'static str)> {
    let m = MANAGEMENT_ACCOUNT.to_string();
    [
        (
            (
                org.prod.clone(),
                "eu-west-1",
                "config.kms_key_recording",
                "FAIL",
            ),
            ("workloads-eu-config", "active"),
        ),
        (
            (
                org.dev.clone(),
                "eu-west-1",
                "config.kms_key_recording",
                "FAIL",
            ),
            ("workloads-eu-config", "active"),
        ),
        (
            (org.prod.clone(), "us-east-1", "kms.key_state", "FAIL"),
            ("prod-retired-keys", "active"),
        ),
        (
            (org.prod.clone(), "us-east-1", "kms.key_state", "WARN"),
            ("prod-retired-keys", "active"),
        ),
        (
            (m, "eu-west-1", "alerting.kms_disable_delete", "FAIL"),
            ("management-eu-alerting", "expired"),
        ),
    ]
    .into_iter()
    .collect()
}

type MarkedRow = (String, String, String, String, String, String);

/// (account, region, check, status, exception_id, exception_state) of every
/// row of a findings.csv, in file order.
fn csv_rows(path: &Path) -> Vec<MarkedRow> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, cmkscan::CSV_COLUMNS);
    let at = |name: &str| header.iter().position(|h| h == name).expect("column");
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (
                r[at("account_id")].to_string(),
                r[at("region")].to_string(),
                r[at("check_id")].to_string(),
                r[at("status")].to_string(),
                r[at("exception_id")].to_string(),
                r[at("exception_state")].to_string(),
            )
        })
        .collect()
}

fn statuses(rows: &[MarkedRow]) -> Vec<(String, String, String, String)> {
    let mut statuses: Vec<_> = rows
        .iter()
        .map(|(a, r, c, s, _, _)| (a.clone(), r.clone(), c.clone(), s.clone()))
        .collect();
    statuses.sort();
    statuses
}

fn counts(json: &serde_json::Value) -> [u64; 4] {
    ["PASS", "FAIL", "WARN", "ERROR"].map(|s| json[s].as_u64().expect("a count"))
}

#[tokio::test(flavor = "multi_thread")]
async fn exceptions_mark_rows_without_changing_a_status_and_evaluate_reproduces_them() {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;
    let file = exceptions_file(&org);
    let management = emulator.management().await;
    management.bucket("us-east-1", BUCKET).await;
    management.object("us-east-1", BUCKET, KEY, &file).await;

    let scan_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["scan", "--regions", "us-east-1,eu-west-1", "--output-dir"])
        .arg(scan_dir.path())
        .args(["--exceptions", &format!("s3://{BUCKET}/{KEY}")])
        .env("CMKSCAN_EXTERNAL_ID", "sample-external-id");
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);

    // Every row: its status as the sample organisation has it, and its
    // exception columns exactly where an exception applies.
    let rows = csv_rows(&scan_dir.path().join("findings.csv"));
    let marks = expected_marks(&org);
    let mut seen = 0;
    for (account, region, check, status, id, state) in &rows {
        let key = (
            account.clone(),
            region.as_str(),
            check.as_str(),
            status.as_str(),
        );
        let want = marks
            .iter()
            .find(|((a, r, c, s), _)| (a.clone(), *r, *c, *s) == key)
            .map(|(_, mark)| *mark);
        match want {
            Some((want_id, want_state)) => {
                seen += 1;
                assert_eq!(
                    (id.as_str(), state.as_str()),
                    (want_id, want_state),
                    "{key:?}"
                );
            }
            None => assert_eq!((id.as_str(), state.as_str()), ("", ""), "{key:?}"),
        }
    }
    assert_eq!(
        seen,
        marks.len(),
        "every expected mark is on a row:\n{rows:#?}"
    );
    // The ERROR row the exception names stays an unaccepted ERROR.
    assert!(rows.iter().any(|(a, _, c, s, id, _)| *a == org.legacy
        && c == "scan.account_access"
        && s == "ERROR"
        && id.is_empty()));
    let expected: Vec<(String, String, String, String)> = sample_org::expected(&org)
        .into_iter()
        .map(|(a, r, c, s)| (a, r.to_string(), c.to_string(), s.to_string()))
        .collect();
    assert_eq!(statuses(&rows), expected);

    // The summary counts accepted and flagged rows apart and names the
    // exceptions a reviewer must look at.
    let json = read_json(&scan_dir.path().join("findings.json"));
    let summary = &json["summary"]["exceptions"];
    assert_eq!(summary["source"], format!("s3://{BUCKET}/{KEY}"));
    let digest: String = Sha256::digest(file.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(summary["sha256"], digest);
    assert_eq!(summary["as_of"], json["scan_time"].as_str().unwrap()[..10]);
    assert_eq!(counts(&summary["accepted_rows"]), [0, 3, 1, 0]);
    assert_eq!(counts(&summary["expired_rows"]), [0, 1, 0, 0]);
    assert_eq!(summary["stale"], serde_json::json!(["retired-region"]));
    assert_eq!(
        summary["expired"],
        serde_json::json!(["management-eu-alerting"])
    );
    assert_eq!(
        summary["matching_errors"],
        serde_json::json!(["legacy-anything"])
    );
    let entries = summary["exceptions"].as_array().expect("entries");
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0]["ticket"], "SEC-1");
    assert_eq!(entries[0]["approved_by"], "security-lead@example.com");
    assert_eq!(counts(&entries[0]["rows"]), [0, 2, 0, 0]);
    assert_eq!(counts(&entries[3]["rows"]), [0, 0, 0, 1]);
    // The JSON rows carry the same columns as the CSV.
    for (row, csv) in json["findings"].as_array().unwrap().iter().zip(&rows) {
        assert_eq!(row["exception_id"], csv.4.as_str());
        assert_eq!(row["exception_state"], csv.5.as_str());
    }
    for needle in [
        "FAIL 8, of which 3 accepted (1 more under expired exceptions)",
        "WARN 3, of which 1 accepted",
        "ERROR 1, never accepted",
        "expired: management-eu-alerting (expired 2020-01-31)",
        "stale (matched nothing): retired-region",
        "matching ERROR rows (not accepted): legacy-anything",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }
    let schema = crate::evidence::schema_errors(&scan_dir.path().join("findings.json"));
    assert!(
        schema.is_empty(),
        "findings.json against the schema:\n{schema}"
    );

    // The same organisation without exceptions: the same statuses.
    let plain = emulator.scan(options(&sample_org::REGIONS)).await;
    assert!(plain.summary.exceptions.is_none());
    let mut plain_statuses: Vec<(String, String, String, String)> = plain
        .findings
        .iter()
        .map(|f| {
            assert!(f.exception.is_none());
            (
                f.account_id.clone(),
                f.region.clone(),
                f.check.as_str().to_string(),
                f.status.as_str().to_string(),
            )
        })
        .collect();
    plain_statuses.sort();
    assert_eq!(plain_statuses, statuses(&rows));

    // The evidence keeps the file; evaluate, without AWS, reproduces both
    // report files byte for byte, exception columns and expiry included.
    let facts = scan_dir.path().join("facts.json.gz");
    let kept = read_facts_json(scan_dir.path());
    assert_eq!(kept["exceptions"]["text"], file.as_str());
    assert_eq!(kept["exceptions"]["sha256"], digest);
    let eval_dir = tempfile::tempdir().unwrap();
    assert_exit(&evaluate_offline(&facts, eval_dir.path(), &[]).await, 0);
    assert_same_files(scan_dir.path(), eval_dir.path(), &REPORT_FILES);

    // Another file re-judges the same facts: everything of dev accepted,
    // nothing else marked, no status changed.
    let other = scan_dir.path().join("other.yaml");
    std::fs::write(
        &other,
        format!(
            "exceptions:\n{}",
            entry(
                "dev-sandbox",
                &format!("\"{}\"", org.dev),
                "\"*\"",
                "\"*\"",
                "",
                &in_days(5)
            )
        ),
    )
    .unwrap();
    let rejudged_dir = tempfile::tempdir().unwrap();
    let other_arg = ["--exceptions", other.to_str().expect("a UTF-8 path")];
    let output = evaluate_offline(&facts, rejudged_dir.path(), &other_arg).await;
    assert_exit(&output, 0);
    let rejudged = csv_rows(&rejudged_dir.path().join("findings.csv"));
    assert_eq!(statuses(&rejudged), statuses(&rows));
    for (account, _, _, status, id, state) in &rejudged {
        if *account == org.dev {
            assert_eq!(
                (id.as_str(), state.as_str()),
                ("dev-sandbox", "active"),
                "{status}"
            );
        } else {
            assert_eq!((id.as_str(), state.as_str()), ("", ""));
        }
    }
    let json = read_json(&rejudged_dir.path().join("findings.json"));
    assert_eq!(
        json["summary"]["exceptions"]["source"],
        other.display().to_string()
    );
    assert_eq!(
        counts(&json["summary"]["exceptions"]["accepted_rows"]),
        [6, 4, 0, 0]
    );
    assert!(
        text(&output.stdout).contains("FAIL 8, of which 4 accepted"),
        "{}",
        describe(&output)
    );
}

/// Runs `cmkscan <args> --exceptions <file>` with nothing listening: it
/// must stop with exit code 2 and `needle` in its one-line reason before
/// any AWS request (which would fail with exit code 1) and write nothing.
async fn refused(command: &[&str], file: &Path, needle: &str) {
    let out = tempfile::tempdir().unwrap();
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    cmd.args(command)
        .arg("--exceptions")
        .arg(file)
        .arg("--output-dir")
        .arg(out.path());
    let output = run_within(cmd, Duration::from_secs(60)).await;
    assert_exit(&output, 2);
    assert_one_line_reason(&output, needle);
    assert_empty_dir(out.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_exceptions_files_are_usage_errors_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let valid = "exceptions:\n  - id: sandbox\n    accounts: [\"111122223333\"]\n    regions: [\"*\"]\n    \
                 checks: [config.kms_key_recording]\n    reason: by design\n    approved_by: lead@example.com\n    \
                 expires: EXPIRES\n";
    let valid = valid.replace("EXPIRES", &in_days(30));
    let facts = crate::evidence::fixture();
    let facts = facts.to_str().unwrap();
    let cases = [
        (
            "syntax.yaml",
            "exceptions:\n  - id: \"unclosed\n".to_string(),
            "line 2: unclosed quote",
        ),
        (
            "unknown-field.yaml",
            valid.replace("reason:", "rationale:"),
            "line 6: unknown field `rationale`",
        ),
        (
            "unknown-check.yaml",
            valid.replace("config.kms_key_recording", "config.recorder"),
            "line 5: unknown check id \"config.recorder\"",
        ),
        (
            "bad-account.yaml",
            valid.replace("111122223333", "11112222333"),
            "line 3: \"11112222333\" is not an account id",
        ),
        (
            "bad-region.yaml",
            valid.replace("[\"*\"]", "[Ireland]"),
            "line 4: \"Ireland\" is not a region name",
        ),
        (
            "no-approver.yaml",
            valid.replace("    approved_by: lead@example.com\n", ""),
            "line 2: `approved_by` is missing",
        ),
        (
            "duplicate.yaml",
            format!("{valid}{}", valid.trim_start_matches("exceptions:\n")),
            "line 9: id \"sandbox\" is used twice (first on line 2)",
        ),
        (
            "far.yaml",
            valid.replace(&in_days(30), &in_days(400)),
            "line 8: `expires`",
        ),
    ];
    for (name, content, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let needle = format!("exceptions file {}, {needle}", path.display());
        refused(&["scan", "--regions", "us-east-1"], &path, &needle).await;
        refused(&["evaluate", "--facts", facts], &path, &needle).await;
    }
    let missing = dir.path().join("missing.yaml");
    let needle = format!("exceptions file {}: cannot read it", missing.display());
    refused(&["scan"], &missing, &needle).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_s3_object_fails_the_run_with_the_reason() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    management.bucket("us-east-1", BUCKET).await;
    // Refused by its ContentLength, before its body is read.
    let oversized = "#".repeat(2 * 1024 * 1024);
    management
        .object("us-east-1", BUCKET, "big.yaml", &oversized)
        .await;
    let out = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["scan", "--regions", "us-east-1", "--output-dir"])
        .arg(out.path())
        .args(["--exceptions", &format!("s3://{BUCKET}/big.yaml")]);
    let output = run(cmd).await;
    assert_exit(&output, 2);
    assert_one_line_reason(
        &output,
        &format!("exceptions file s3://{BUCKET}/big.yaml: larger than 1048576 bytes"),
    );
    assert_empty_dir(out.path());

    let out = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["scan", "--regions", "us-east-1", "--output-dir"])
        .arg(out.path())
        .args(["--exceptions", &format!("s3://{BUCKET}/missing.yaml")]);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    assert_one_line_reason(
        &output,
        &format!("cannot read the exceptions file s3://{BUCKET}/missing.yaml: s3:GetObject failed: NoSuchKey"),
    );
    assert_empty_dir(out.path());
}
