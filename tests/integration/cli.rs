//! The binary's contract: exit codes (0 report written, 1 runtime failure
//! with a one-line reason, 2 usage error), where reports go (local files,
//! then S3 with server-side encryption), `evaluate` reproducing a scan from
//! its facts, JSON logs, and secrets never reaching any output.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::types::ServerSideEncryption;

use crate::support::cli::{
    assert_empty_dir, assert_exit, assert_not_repeated, assert_one_line_reason, assert_same_files,
    cmkscan_command, describe, evaluate_offline, read_json, read_report_file, run, run_within,
    scan_args, scan_failure, text, ClosedPort, REPORT_FILES,
};
use crate::support::seed::KeyState;
use crate::support::{Emulator, MANAGEMENT_ACCOUNT, REGION};

#[tokio::test(flavor = "multi_thread")]
async fn malformed_arguments_are_usage_errors_naming_the_problem() {
    // Nothing listens: a usage error must be found before any request.
    let closed = ClosedPort::bind();
    let endpoint = &closed.endpoint;
    let cases: Vec<(&[&str], &[&str])> = vec![
        (&["--accounts", "12345"], &["12345", "account id"]),
        (
            &["--accounts", "12345678901"],
            &["12345678901", "account id"],
        ),
        (
            &["--exclude-accounts", "1234567890123"],
            &["1234567890123", "account id"],
        ),
        (&["--exclude-accounts", "abc"], &["abc", "account id"]),
        (
            &["--accounts", "123456789012,12345678901x"],
            &["12345678901x"],
        ),
        (
            &[
                "--accounts",
                "111111111111,222222222222",
                "--exclude-accounts",
                "222222222222",
            ],
            &["--accounts and --exclude-accounts both name 222222222222"],
        ),
        (&["--concurrency", "0"], &["--concurrency", "0"]),
        (&["--concurrency", "many"], &["--concurrency", "many"]),
        (&["--s3-uri", "not-a-uri"], &["not-a-uri", "S3 URI"]),
        (&["--s3-uri", "s3://"], &["--s3-uri", "no bucket name"]),
        (
            &["--s3-uri", "s3:///reports"],
            &["--s3-uri", "no bucket name"],
        ),
        (
            &["--s3-uri", "s3://Bad_Bucket"],
            &["Bad_Bucket", "bucket name"],
        ),
        (
            &["--s3-uri", "s3://reports-bucket", "--s3-region", "EU_WEST"],
            &["--s3-region", "EU_WEST"],
        ),
        (
            &[
                "--s3-uri",
                "s3://reports-bucket",
                "--s3-kms-key-id",
                "my key",
            ],
            &["--s3-kms-key-id", "not a KMS key"],
        ),
        (&["--lookback-days", "0"], &["--lookback-days", "0"]),
        (&["--lookback-days", "91"], &["--lookback-days", "91"]),
        (&["--role-name", ""], &["--role-name", "IAM role name"]),
        (
            &["--role-name", "Read Only*"],
            &["--role-name", "IAM role name"],
        ),
        (
            &["--role-name", "team//Scan"],
            &["--role-name", "IAM role name"],
        ),
        (&["--external-id", "x"], &["--external-id", "2 to 1224"]),
    ];
    for (args, needles) in cases {
        let out_dir = tempfile::tempdir().unwrap();
        let mut cmd = cmkscan_command(endpoint);
        cmd.arg("scan")
            .args(args)
            .arg("--output-dir")
            .arg(out_dir.path());
        let output = run_within(cmd, Duration::from_secs(30)).await;
        assert_exit(&output, 2);
        let stderr = text(&output.stderr);
        for needle in needles {
            assert!(stderr.contains(needle), "{args:?}: {}", describe(&output));
        }
        assert!(
            !out_dir.path().join("findings.csv").exists(),
            "{args:?} wrote a report"
        );
    }

    // An empty output directory; and an external id that breaks AWS's rule,
    // rejected without showing it (it is a secret).
    for (args, needle) in [
        (["--output-dir", ""], "output directory must not be empty"),
        (["--external-id", "SECRET VALUE 42"], "--external-id"),
    ] {
        let mut cmd = cmkscan_command(endpoint);
        cmd.arg("scan").args(args);
        let output = run_within(cmd, Duration::from_secs(30)).await;
        assert_exit(&output, 2);
        let stderr = text(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {}", describe(&output));
        assert!(!stderr.contains("SECRET VALUE"), "{}", describe(&output));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_options_without_an_s3_uri_are_usage_errors() {
    let closed = ClosedPort::bind();
    let endpoint = &closed.endpoint;
    for args in [
        ["--s3-kms-key-id", "alias/reports"],
        ["--s3-region", "eu-west-1"],
    ] {
        let mut cmd = cmkscan_command(endpoint);
        cmd.arg("scan").args(args);
        let output = run_within(cmd, Duration::from_secs(30)).await;
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains("--s3-uri"),
            "{args:?}: {}",
            describe(&output)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_region_names_are_usage_errors() {
    let closed = ClosedPort::bind();
    let endpoint = &closed.endpoint;
    for (regions, needle) in [
        ("EU_WEST", "EU_WEST"),
        ("us-east-1,eu_west_1", "eu_west_1"),
        ("", "region"),
    ] {
        let out_dir = tempfile::tempdir().unwrap();
        let mut cmd = cmkscan_command(endpoint);
        cmd.args(["scan", "--regions", regions, "--output-dir"])
            .arg(out_dir.path());
        let output = run_within(cmd, Duration::from_secs(60)).await;
        assert_exit(&output, 2);
        assert!(
            text(&output.stderr).contains(needle),
            "--regions {regions:?}: {}",
            describe(&output)
        );
        // Checked before any AWS request: nothing about the caller.
        assert!(
            !text(&output.stderr).contains("cannot identify the caller"),
            "--regions {regions:?} was only rejected after contacting AWS: {}",
            describe(&output)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn regions_unknown_to_the_partition_are_usage_errors_listing_them() {
    let emulator = Emulator::with_organization().await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args([
        "scan",
        "--regions",
        "us-east-1,mars-north-1,cn-north-1",
        "--output-dir",
    ])
    .arg(out_dir.path());
    let output = run(cmd).await;
    assert_exit(&output, 2);
    // cn-north-1 exists, but not in the runner's partition (aws).
    let reason = assert_one_line_reason(&output, "unknown region(s) cn-north-1, mars-north-1");
    assert!(
        reason.contains("us-east-1"),
        "known regions listed: {reason}"
    );
    assert!(!out_dir.path().join("findings.csv").exists());

    // The same regions that exist are accepted.
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["scan", "--regions", "us-east-1,sa-east-1", "--output-dir"])
        .arg(out_dir.path());
    assert_exit(&run(cmd).await, 0);
}

// ------------------------------------------------------- runtime failures

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_endpoint_fails_fast_naming_the_caller_identity() {
    let out_dir = tempfile::tempdir().unwrap();
    let closed = ClosedPort::bind();
    let mut cmd = cmkscan_command(&closed.endpoint);
    scan_args(&mut cmd, out_dir.path());
    // Three refused attempts and their backoffs; a run that waits on
    // connections (or retries far more) outlives the minute.
    let output = run_within(cmd, Duration::from_secs(60)).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, "cannot identify the caller");
    assert!(reason.contains("sts:GetCallerIdentity"), "{reason}");
    assert_not_repeated(&reason);
    assert!(!out_dir.path().join("findings.csv").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_fail_naming_the_caller_identity() {
    let emulator = Emulator::with_organization().await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    scan_args(&mut cmd, out_dir.path());
    let output = run_within(cmd, Duration::from_secs(60)).await;
    assert_exit(&output, 1);
    assert_one_line_reason(&output, "cannot identify the caller");
    assert!(!out_dir.path().join("findings.csv").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_organization_is_a_runtime_error() {
    // No organisation at all (AWSOrganizationsNotInUseException).
    let emulator = Emulator::start().await;
    let out_dir = tempfile::tempdir().unwrap();
    scan_failure(
        emulator.endpoint(),
        out_dir.path(),
        "cannot read the organization",
    )
    .await;
    assert!(!out_dir.path().join("findings.csv").exists());
}

/// A read the scan cannot go on without, refused: exit 1 before any
/// report, with a one-line reason naming what could not be read and AWS's
/// error code.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_read_the_scan_needs_is_a_runtime_error() {
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;
    // EC2 names a refusal UnauthorizedOperation.
    for (operation, needle, code) in [
        (
            "DescribeOrganization",
            "cannot read the organization",
            "AccessDenied",
        ),
        (
            "ListAccountsForParent",
            "cannot list the organization's accounts",
            "AccessDenied",
        ),
        (
            "DescribeRegions",
            "cannot list the partition's regions",
            "UnauthorizedOperation",
        ),
    ] {
        let denied = emulator.front.deny(MANAGEMENT_ACCOUNT, operation);
        let out_dir = tempfile::tempdir().unwrap();
        let (_, reason) = scan_failure(emulator.endpoint(), out_dir.path(), needle).await;
        assert!(reason.contains(code), "{operation}: {reason}");
        assert!(
            !out_dir.path().join("findings.csv").exists(),
            "{operation}: a report was written"
        );
        emulator.front.remove(denied);
    }
}

/// An output directory that cannot be one (a file, or under a file) is a
/// usage error said in words, before any request.
#[tokio::test(flavor = "multi_thread")]
async fn an_output_dir_under_a_file_is_a_usage_error() {
    let closed = ClosedPort::bind();
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let mut cmd = cmkscan_command(&closed.endpoint);
    scan_args(&mut cmd, &file.join("reports"));
    let output = run_within(cmd, Duration::from_secs(30)).await;
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains(&format!(
            "{} is a file, so {} cannot be made under it",
            file.display(),
            file.join("reports").display()
        )),
        "{}",
        describe(&output)
    );
}

/// The findings spool lives in `TMPDIR`; if it cannot be made the run ends
/// before any account is scanned, naming the directory variable, and the
/// output directory keeps nothing (the streamed evidence is removed).
#[tokio::test(flavor = "multi_thread")]
async fn unusable_temporary_directory_is_a_runtime_error() {
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.env("TMPDIR", out_dir.path().join("no-such-dir"));
    emulator.front.clear_log();
    let output = run(cmd).await;
    assert_exit(&output, 1);
    assert_one_line_reason(
        &output,
        "cannot park findings in the temporary directory (TMPDIR)",
    );
    assert_empty_dir(out_dir.path());
    assert_eq!(
        emulator.front.requests("AssumeRole"),
        0,
        "no account is scanned"
    );
}

// ------------------------------------------------------------------ S3

fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// `prefix/YYYY/MM/DD/<scan_id>` of the report in `out_dir`.
fn report_folder(prefix: &str, out_dir: &Path) -> String {
    let json = read_json(&out_dir.join("findings.json"));
    let scan_id = json["scan_id"].as_str().expect("scan_id").to_string();
    let scan_time = json["scan_time"].as_str().expect("scan_time");
    assert!(!scan_id.is_empty());
    let date = scan_time[..10].replace('-', "/");
    format!("{prefix}/{date}/{scan_id}")
}

/// Uploads with the given extra arguments and returns, per uploaded file,
/// its HeadObject answer after checking the bytes match the local file.
async fn scan_and_read_back(
    emulator: &Emulator,
    extra: &[&str],
) -> Vec<aws_sdk_s3::operation::head_object::HeadObjectOutput> {
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--s3-uri", "s3://reports-bucket/cmkscan/weekly/"])
        .args(extra);
    let output = run(cmd).await;
    assert_exit(&output, 0);

    let folder = report_folder("cmkscan/weekly", out_dir.path());
    let s3 = s3_client(&emulator.runner_config().await);
    let mut heads = Vec::new();
    for name in [
        "findings.csv",
        "findings.json",
        "findings.ocsf.json",
        "report.html",
        "facts.json.gz",
    ] {
        let key = format!("{folder}/{name}");
        assert!(
            text(&output.stdout).contains(&format!("uploaded s3://reports-bucket/{key}")),
            "{}",
            describe(&output)
        );
        let object = s3
            .get_object()
            .bucket("reports-bucket")
            .key(&key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
        let body = object.body.collect().await.unwrap().into_bytes();
        let local = std::fs::read(out_dir.path().join(name)).unwrap();
        assert!(!local.is_empty());
        assert_eq!(
            body.as_ref(),
            local.as_slice(),
            "{key} differs from the local file"
        );
        heads.push(
            s3.head_object()
                .bucket("reports-bucket")
                .key(&key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("head {key}: {e:?}")),
        );
    }
    // Nothing else is uploaded into the report folder.
    let listed = s3
        .list_objects_v2()
        .bucket("reports-bucket")
        .prefix(format!("{folder}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 5, "{:?}", listed.contents());
    heads
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_upload_to_s3_with_sse_s3() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket("us-east-1", "reports-bucket")
        .await;
    let heads = scan_and_read_back(&emulator, &[]).await;
    for head in &heads {
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::Aes256),
            "{head:?}"
        );
        assert_eq!(head.ssekms_key_id(), None);
    }
    assert_eq!(heads[0].content_type(), Some("text/csv; charset=utf-8"));
    assert_eq!(heads[1].content_type(), Some("application/json"));
    assert_eq!(heads[2].content_type(), Some("application/json"));
    // Opened from S3, the page shows as a page.
    assert_eq!(heads[3].content_type(), Some("text/html; charset=utf-8"));
    // The evidence: gzip, with no Content-Encoding that would make a
    // download unpack it.
    assert_eq!(heads[4].content_type(), Some("application/gzip"));
    assert_eq!(heads[4].content_encoding(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_upload_to_s3_with_sse_kms() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    management.bucket("us-east-1", "reports-bucket").await;
    let key_arn = management
        .key("us-east-1", Some("alias/reports"), KeyState::Enabled)
        .await;
    let heads = scan_and_read_back(&emulator, &["--s3-kms-key-id", &key_arn]).await;
    for head in &heads {
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::AwsKms),
            "{head:?}"
        );
        assert_eq!(head.ssekms_key_id(), Some(key_arn.as_str()), "{head:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_upload_keeps_the_local_report() {
    let emulator = Emulator::with_organization().await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--s3-uri", "s3://missing-bucket/x"]);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, "upload to s3://missing-bucket/x/");
    assert!(reason.contains("failed"), "{reason}");
    assert!(reason.contains("NoSuchBucket"), "{reason}");
    assert_not_repeated(&reason);
    assert!(
        reason.contains(&format!(
            "the local report is kept in {}",
            out_dir.path().display()
        )),
        "{reason}"
    );
    let csv = std::fs::read_to_string(out_dir.path().join("findings.csv")).unwrap();
    assert!(csv.starts_with("scan_id,"), "{csv}");
    let json = read_json(&out_dir.path().join("findings.json"));
    assert!(json["findings"].as_array().is_some_and(|f| !f.is_empty()));
    // The summary still reached stdout.
    assert!(
        text(&output.stdout).contains("total"),
        "{}",
        describe(&output)
    );
}

// --------------------------------------------------- facts and evaluate

#[tokio::test(flavor = "multi_thread")]
async fn evaluate_reproduces_the_scan_byte_for_byte_from_its_facts() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    member
        .key("us-east-1", Some("alias/data"), KeyState::Disabled)
        .await;
    emulator
        .management()
        .await
        .key("us-east-1", None, KeyState::Enabled)
        .await;
    let denied = emulator.create_account("denied").await;
    emulator.front.deny(&denied.id, "AssumeRole");

    let scan_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, scan_dir.path());
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let facts = scan_dir.path().join("facts.json.gz");
    assert!(
        text(&output.stdout).contains(&format!("wrote {}", facts.display())),
        "{}",
        describe(&output)
    );

    // Re-evaluated without AWS: nothing listens on the endpoint.
    let eval_dir = tempfile::tempdir().unwrap();
    let output = evaluate_offline(&facts, eval_dir.path(), &[]).await;
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).contains("total"),
        "{}",
        describe(&output)
    );

    let scanned = std::fs::read_to_string(scan_dir.path().join("findings.csv")).unwrap();
    let rows = scanned.lines().count() - 1;
    assert!(rows >= 3, "too few rows to compare:\n{scanned}");
    for needle in [member.id.as_str(), denied.id.as_str(), MANAGEMENT_ACCOUNT] {
        assert!(scanned.contains(needle), "{needle} missing:\n{scanned}");
    }
    assert_same_files(scan_dir.path(), eval_dir.path(), &REPORT_FILES);
}

#[tokio::test(flavor = "multi_thread")]
async fn evaluate_rejects_missing_and_foreign_facts_files() {
    let dir = tempfile::tempdir().unwrap();
    let closed = ClosedPort::bind();
    let endpoint = &closed.endpoint;

    let missing = dir.path().join("missing.json");
    let mut cmd = cmkscan_command(endpoint);
    cmd.args(["evaluate", "--facts"])
        .arg(&missing)
        .arg("--output-dir")
        .arg(dir.path().join("out"));
    let output = run_within(cmd, Duration::from_secs(30)).await;
    assert_exit(&output, 2);
    assert_one_line_reason(&output, "cannot read");

    let foreign = dir.path().join("foreign.json");
    std::fs::write(&foreign, br#"{"hello": "world"}"#).unwrap();
    let mut cmd = cmkscan_command(endpoint);
    cmd.args(["evaluate", "--facts"])
        .arg(&foreign)
        .arg("--output-dir")
        .arg(dir.path().join("out"));
    let output = run_within(cmd, Duration::from_secs(30)).await;
    assert_exit(&output, 2);
    assert_one_line_reason(&output, "not a cmkscan facts file");
    assert!(!dir.path().join("out").join("findings.csv").exists());
}

// ------------------------------------------------------------- logging

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line() {
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["--log-format", "json"]);
    scan_args(&mut cmd, out_dir.path());
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    let mut messages = Vec::new();
    for line in stderr.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{}", describe(&output)));
        assert!(value.is_object(), "{line}");
        messages.push(
            value["fields"]["message"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    assert!(messages.iter().any(|m| m == "scan started"), "{messages:?}");
    assert!(
        messages.iter().filter(|m| *m == "account scanned").count() >= 2,
        "{messages:?}"
    );
    let stdout = text(&output.stdout);
    assert!(stdout.contains("check"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("total")), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_any_output() {
    const SECRET_KEY: &str = "SECRETSECRET123";
    const EXTERNAL_ID: &str = "EXTERNALSECRET42";
    const SESSION_TOKEN: &str = "SESSIONTOKENSECRET77";
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;
    let denied = emulator.create_account("denied").await;
    // An error path too: its message ends up in a report row.
    emulator.front.deny(&denied.id, "AssumeRole");

    for (rust_log, external_id_from_env) in [
        (None, false),
        (Some("cmkscan=debug"), true),
        (Some("trace"), false),
    ] {
        let out_dir = tempfile::tempdir().unwrap();
        let mut cmd = cmkscan_command(emulator.endpoint());
        cmd.env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN);
        if let Some(filter) = rust_log {
            cmd.env("RUST_LOG", filter);
        }
        scan_args(&mut cmd, out_dir.path());
        if external_id_from_env {
            cmd.env("CMKSCAN_EXTERNAL_ID", EXTERNAL_ID);
        } else {
            cmd.args(["--external-id", EXTERNAL_ID]);
        }
        let output = run(cmd).await;
        assert_exit(&output, 0);

        let mut outputs = vec![
            ("stdout".to_string(), text(&output.stdout)),
            ("stderr".to_string(), text(&output.stderr)),
        ];
        for name in [
            "findings.csv",
            "findings.json",
            "findings.ocsf.json",
            "report.html",
            "facts.json.gz",
        ] {
            outputs.push((
                name.to_string(),
                read_report_file(&out_dir.path().join(name)),
            ));
        }
        // The scan did get into the member with the external id, and the
        // denied account's error is in the report.
        assert!(outputs[3].1.contains(&denied.id), "{}", outputs[3].1);
        // What AssumeRole handed out: the member's secret key and token.
        let issued = emulator.front.issued_secrets();
        assert!(!issued.is_empty());
        let secrets: Vec<&str> = [SECRET_KEY, SESSION_TOKEN, EXTERNAL_ID]
            .into_iter()
            .chain(issued.iter().map(String::as_str))
            .collect();
        for (name, content) in &outputs {
            for secret in &secrets {
                assert!(
                    !content.contains(secret),
                    "{secret} leaked into {name} (RUST_LOG={rust_log:?}):\n{content}"
                );
            }
        }
    }

    // The help text never shows the external id from the environment.
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.env("CMKSCAN_EXTERNAL_ID", EXTERNAL_ID)
        .args(["scan", "--help"]);
    let output = run_within(cmd, Duration::from_secs(30)).await;
    assert_exit(&output, 0);
    assert!(
        !text(&output.stdout).contains(EXTERNAL_ID),
        "{}",
        describe(&output)
    );
}

/// Member roles are assumed with a session name that names the tool and
/// the scan (`cmkscan-<scan_id>`), so CloudTrail in the member account
/// shows who read it.
#[tokio::test(flavor = "multi_thread")]
async fn role_session_name_identifies_the_tool_and_the_scan() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    emulator.front.clear_log();
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    assert_exit(&run(cmd).await, 0);
    let scan_id = read_json(&out_dir.path().join("findings.json"))["scan_id"]
        .as_str()
        .expect("scan_id")
        .to_string();
    let names: Vec<Option<String>> = emulator
        .front
        .log()
        .into_iter()
        .filter(|r| r.api == "AssumeRole")
        .map(|r| {
            assert_eq!(r.account, member.id, "{r:?}");
            r.session_name
        })
        .collect();
    assert!(!names.is_empty());
    for name in names {
        assert_eq!(name, Some(format!("cmkscan-{scan_id}")));
    }
}

// ------------------------------------------- options, as the docs describe

/// Regions of the rows in `findings.csv`, less the account-level `global`.
fn report_regions(out_dir: &Path) -> std::collections::BTreeSet<String> {
    let mut reader = csv::Reader::from_path(out_dir.join("findings.csv")).expect("findings.csv");
    let region = reader
        .headers()
        .expect("CSV header")
        .iter()
        .position(|h| h == "region")
        .expect("a region column");
    reader
        .records()
        .map(|r| r.expect("CSV row")[region].to_string())
        .filter(|r| r != "global")
        .collect()
}

/// `--regions all`, and the default (which is `all`): every region the
/// partition has and the account has enabled, and no other.
#[tokio::test(flavor = "multi_thread")]
async fn regions_all_scans_every_enabled_region() {
    let emulator = Emulator::with_organization().await;
    let enabled: std::collections::BTreeSet<String> = crate::failures::MOTO_ENABLED_REGIONS
        .iter()
        .map(|r| r.to_string())
        .collect();
    for regions in [Some("all"), None] {
        let out_dir = tempfile::tempdir().unwrap();
        let mut cmd = cmkscan_command(emulator.endpoint());
        cmd.arg("scan");
        if let Some(regions) = regions {
            cmd.args(["--regions", regions]);
        }
        cmd.arg("--output-dir").arg(out_dir.path());
        assert_exit(&run(cmd).await, 0);
        assert_eq!(
            report_regions(out_dir.path()),
            enabled,
            "--regions {regions:?}"
        );
    }
}

/// `--lookback-days 90`, the most accepted: an event 60 days old is
/// reported, where the default 7 days leave it out.
#[tokio::test(flavor = "multi_thread")]
async fn lookback_days_90_reaches_back_90_days() {
    let emulator = Emulator::with_organization().await;
    let key = format!("arn:aws:kms:{REGION}:{MANAGEMENT_ACCOUNT}:key/old");
    emulator
        .front
        .add_event(crate::support::sample_org::key_event(
            MANAGEMENT_ACCOUNT,
            REGION,
            "ScheduleKeyDeletion",
            &key,
            Duration::from_secs(60 * 86_400),
        ));
    let events_row = |out_dir: &Path| -> (String, String) {
        let json = read_json(&out_dir.join("findings.json"));
        let rows: Vec<&serde_json::Value> = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["check_id"] == "kms.recent_disable_delete_events")
            .collect();
        assert_eq!(rows.len(), 1, "{rows:#?}");
        (
            rows[0]["status"].as_str().unwrap_or_default().to_string(),
            rows[0]["resource_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    for (lookback, expected) in [(Some("90"), ("WARN", key.as_str())), (None, ("PASS", ""))] {
        let out_dir = tempfile::tempdir().unwrap();
        let mut cmd = cmkscan_command(emulator.endpoint());
        scan_args(&mut cmd, out_dir.path());
        if let Some(days) = lookback {
            cmd.args(["--lookback-days", days]);
        }
        assert_exit(&run(cmd).await, 0);
        let (status, resource) = events_row(out_dir.path());
        assert_eq!(status, expected.0, "--lookback-days {lookback:?}");
        if !expected.1.is_empty() {
            assert_eq!(resource, expected.1, "--lookback-days {lookback:?}");
        }
    }
}

/// `--s3-region` names the report bucket's region: the uploads are signed
/// for it, not for the runner's region.
#[tokio::test(flavor = "multi_thread")]
async fn s3_region_is_the_region_the_reports_are_uploaded_to() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket("eu-west-1", "eu-reports")
        .await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--s3-uri",
        "s3://eu-reports/cmkscan",
        "--s3-region",
        "eu-west-1",
    ]);
    emulator.front.clear_log();
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let puts: Vec<String> = emulator
        .front
        .log()
        .into_iter()
        .filter(|r| r.api == "PutObject")
        .map(|r| r.region)
        .collect();
    assert_eq!(puts, vec!["eu-west-1"; 5], "{}", describe(&output));
}

/// A scan with an S3 URI and no region anywhere (no `AWS_REGION`, no
/// profile, no `--region`, all regions) fails before any request and leaves
/// nothing: the runner needs a region, and `--s3-region` is only the
/// bucket's.
#[tokio::test(flavor = "multi_thread")]
async fn no_region_anywhere_fails_before_any_report() {
    let emulator = Emulator::with_organization().await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.env_remove("AWS_REGION")
        .args(["scan", "--output-dir"])
        .arg(out_dir.path())
        .args([
            "--s3-uri",
            "s3://reports-bucket/cmkscan",
            "--s3-region",
            "eu-west-1",
        ]);
    emulator.front.clear_log();
    let output = run(cmd).await;
    assert_exit(&output, 2);
    assert_one_line_reason(
        &output,
        "no AWS region for the runner: pass --region (or --regions with the regions to scan), set AWS_REGION",
    );
    assert_empty_dir(out_dir.path());
    assert!(
        emulator.front.log().is_empty(),
        "requests were made: {:?}",
        emulator.front.log()
    );
}

/// `--log-format json` keeps every stderr line JSON on a failing run too:
/// the failure is an ERROR line `cmkscan failed` whose `reason` is the
/// one-line cause.
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_of_a_failing_run_are_json_to_the_last_line() {
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;
    emulator
        .front
        .deny(MANAGEMENT_ACCOUNT, "ListAccountsForParent");
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    cmd.args(["--log-format", "json"]);
    scan_args(&mut cmd, out_dir.path());
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{}", describe(&output)))
        })
        .collect();
    let last = lines.last().expect("a log line");
    assert_eq!(last["level"], "ERROR", "{last}");
    assert_eq!(last["fields"]["message"], "cmkscan failed", "{last}");
    let reason = last["fields"]["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("cannot list the organization's accounts")
            && reason.contains("AccessDenied"),
        "{reason}"
    );
    assert_empty_dir(out_dir.path());
}

/// The objects go up in order (`findings.csv`, `findings.json`,
/// `findings.ocsf.json`, `facts.json.gz`) and the upload stops at the first failure: a refused
/// `findings.json` leaves the evidence un-attempted, and the run names the
/// object that failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_upload_stops_the_remaining_uploads() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    emulator.front.inject(
        crate::support::front::Match::api("PutObject"),
        crate::support::front::Fault::AccessDenied,
        crate::support::front::Trigger::After(1),
    );
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--s3-uri", "s3://reports-bucket/stopped"]);
    emulator.front.clear_log();
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let folder = report_folder("stopped", out_dir.path());
    let reason = assert_one_line_reason(
        &output,
        &format!("upload to s3://reports-bucket/{folder}/findings.json"),
    );
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert_eq!(
        emulator.front.requests("PutObject"),
        2,
        "findings.csv, then the refused findings.json, then nothing"
    );
    let s3 = s3_client(&emulator.runner_config().await);
    let listed = s3
        .list_objects_v2()
        .bucket("reports-bucket")
        .prefix(format!("{folder}/"))
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec![format!("{folder}/findings.csv")]);
}
