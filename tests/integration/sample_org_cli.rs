//! The binary, end to end: `cmkscan scan` with AWS_ENDPOINT_URL pointing at
//! the seeded sample organisation in the emulator. The same run also shows
//! that the AWS operations the binary really calls (with every option that
//! makes calls: an upload, an exceptions file read from S3, the Security
//! Hub import, the summary and the heartbeat) are exactly the catalogue
//! (`Api::ALL`) that the IAM templates are checked against; the exceptions
//! file, with nothing in it, changes no row.

use crate::support::cli::cmkscan_command;
use crate::support::sample_org::{self, OPT_IN_REGION};
use crate::support::Emulator;

#[tokio::test(flavor = "multi_thread")]
async fn scan_of_sample_org_gives_every_expected_verdict() {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;
    let management = emulator.management().await;
    management.bucket("us-east-1", "sample-reports").await;
    management
        .object(
            "us-east-1",
            "sample-reports",
            "risk/exceptions.yaml",
            "exceptions: []\n",
        )
        .await;
    // The Security Hub import's calls are made too (elsewhere it is not
    // enabled: skipped, which does not fail the run).
    management.enable_security_hub("us-east-1").await;
    // An earlier report to compare with, and a topic for the summary: the
    // reads and the publish are in the catalogue too.
    crate::changes::put_fixture_report(&management, "sample-reports", "cmkscan").await;
    let topic = management.topic("us-east-1", "scan-summary", false).await;
    let out_dir = tempfile::tempdir().unwrap();

    emulator.front.record_operations();
    let mut scan = cmkscan_command(emulator.endpoint());
    scan.args(["scan", "--regions"])
        .arg(format!("us-east-1,eu-west-1,{OPT_IN_REGION}"))
        // An empty OU left out: nothing changes, and the OU checks are made.
        .args(["--exclude-ous", &org.quarantine_ou])
        .args(["--s3-uri", "s3://sample-reports/cmkscan"])
        .args(["--exceptions", "s3://sample-reports/risk/exceptions.yaml"])
        .arg("--security-hub")
        .args(["--sns-topic-arn", &topic])
        .args(["--heartbeat-namespace", "cmkscan/sample"])
        .arg("--output-dir")
        .arg(out_dir.path())
        .env("CMKSCAN_EXTERNAL_ID", "sample-external-id");
    let output = crate::support::cli::run(scan).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scan failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let mut reader = csv::Reader::from_path(out_dir.path().join("findings.csv")).unwrap();
    let mut actual: Vec<(String, &str, &str, &str)> = Vec::new();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        cmkscan::CSV_COLUMNS.to_vec()
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    for row in &rows {
        assert_eq!(&row[13], org.ou_path(&row[2]), "{row:?}");
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        actual.push((
            row[2].to_string(),
            leak(&row[4]),
            leak(&row[5]),
            leak(&row[6]),
        ));
    }
    actual.sort();
    assert_eq!(actual, sample_org::expected(&org), "stdout:\n{stdout}");

    // The summary counts the suspended account and the opt-in region.
    assert!(stdout.contains("1 not active"), "{stdout}");
    assert!(stdout.contains(&org.sandbox), "{stdout}");
    assert!(stdout.contains(OPT_IN_REGION), "{stdout}");
    assert!(stdout.contains("\nRoot/Workloads "), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join("findings.json")).unwrap())
            .unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), rows.len());
    assert_eq!(json["summary"]["accounts_errored"], 1);
    assert_eq!(json["summary"]["accounts_scanned"], 3);
    assert_eq!(
        json["summary"]["accounts_skipped"][0]["status"],
        "SUSPENDED"
    );

    // The OCSF findings of a live scan: one per row, naming the
    // organisation by the id Organizations gave, valid OCSF.
    let ocsf_path = out_dir.path().join("findings.ocsf.json");
    let ocsf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ocsf_path).unwrap()).unwrap();
    let ocsf = ocsf.as_array().unwrap();
    assert_eq!(ocsf.len(), rows.len());
    let org_id = &ocsf[0]["cloud"]["org"]["uid"];
    assert!(
        org_id.as_str().is_some_and(|id| id.starts_with("o-")),
        "{org_id}"
    );
    assert!(ocsf.iter().all(|f| &f["cloud"]["org"]["uid"] == org_id));
    assert_eq!(
        crate::ocsf::validate(&ocsf_path).errors,
        Vec::<String>::new()
    );

    // Every request the binary made, against the catalogue the IAM
    // templates are tested against: neither may have what the other lacks.
    let called: std::collections::BTreeSet<String> =
        emulator.front.recorded_operations().into_iter().collect();
    let catalogue: std::collections::BTreeSet<String> = cmkscan::Api::ALL
        .iter()
        .map(|api| api.to_string())
        .collect();
    assert_eq!(called, catalogue, "operations called vs Api::ALL");
}
