//! `--heartbeat-namespace`: once the report is uploaded, the metric
//! `ReportDelivered` lands in CloudWatch in the runner's region, dated now
//! and 115 minutes ahead (so that a weekly report covers the "no report"
//! alarm's 7-day window with room to spare); a heartbeat CloudWatch refuses
//! fails the run after the report is uploaded; a failed upload sends none.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;

use crate::support::cli::{
    assert_exit, assert_one_line_reason, cmkscan_command, describe, run, scan_args, text,
};
use crate::support::{Emulator, MANAGEMENT_ACCOUNT, REGION};

const NAMESPACE: &str = "cmkscan/heartbeat-test";

/// The datapoints of `ReportDelivered` between an hour ago and three hours
/// ahead, by time.
async fn datapoints(emulator: &Emulator) -> Vec<(i64, f64)> {
    let config = emulator.management().await.at(REGION);
    let now = SystemTime::now();
    let answer = aws_sdk_cloudwatch::Client::new(&config)
        .get_metric_statistics()
        .namespace(NAMESPACE)
        .metric_name("ReportDelivered")
        .start_time(DateTime::from(now - Duration::from_secs(3600)))
        .end_time(DateTime::from(now + Duration::from_secs(3 * 3600)))
        .period(60)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .send()
        .await
        .expect("GetMetricStatistics");
    let mut points: Vec<(i64, f64)> = answer
        .datapoints()
        .iter()
        .map(|point| {
            (
                point.timestamp().expect("a timestamp").secs(),
                point.maximum().expect("a maximum"),
            )
        })
        .collect();
    points.sort_by_key(|(at, _)| *at);
    points
}

#[tokio::test(flavor = "multi_thread")]
async fn the_heartbeat_follows_the_upload_dated_now_and_115_minutes_ahead() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--s3-uri", "s3://reports-bucket/weekly"])
        .env("CMKSCAN_HEARTBEAT_NAMESPACE", NAMESPACE);
    emulator.front.clear_log();
    let before = SystemTime::now();
    let output = run(cmd).await;
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.ends_with(&format!(
            "heartbeat: ReportDelivered published to namespace {NAMESPACE}\n"
        )),
        "{}",
        describe(&output)
    );
    // The last request of the run, after every upload.
    let log = emulator.front.log();
    let last = log.last().expect("requests were made");
    assert_eq!(
        (last.service.as_str(), last.api.as_str()),
        ("cloudwatch", "PutMetricData")
    );
    assert_eq!(emulator.front.requests("PutMetricData"), 1);

    let points = datapoints(&emulator).await;
    let [(now, 1.0), (ahead, 1.0)] = points.as_slice() else {
        panic!("expected two datapoints of 1, found {points:?}");
    };
    let started = DateTime::from(before).secs();
    assert!(*now >= started - 60 && *now <= started + 600, "{points:?}");
    // Minute-aligned by the 60-second period.
    assert!((ahead - now - 115 * 60).abs() <= 60, "{points:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_heartbeat_exits_1_after_the_report_is_uploaded() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "reports-bucket")
        .await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, "PutMetricData");
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--s3-uri",
        "s3://reports-bucket/weekly",
        "--heartbeat-namespace",
        NAMESPACE,
    ]);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(
        &output,
        &format!(
            "the heartbeat metric ReportDelivered was not published to namespace {NAMESPACE}: \
             cloudwatch:PutMetricData failed: AccessDenied"
        ),
    );
    assert!(
        reason.ends_with("the report is written and uploaded"),
        "{reason}"
    );
    let uploads = text(&output.stdout)
        .lines()
        .filter(|l| l.starts_with("uploaded s3://reports-bucket/weekly/"))
        .count();
    assert_eq!(uploads, 5, "{}", describe(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_upload_sends_no_heartbeat_and_a_bad_namespace_is_a_usage_error() {
    let emulator = Emulator::with_organization().await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args([
        "--s3-uri",
        "s3://missing-bucket/weekly",
        "--heartbeat-namespace",
        NAMESPACE,
    ]);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    assert_one_line_reason(&output, "upload to s3://missing-bucket/weekly/");
    assert_eq!(
        emulator.front.requests("PutMetricData"),
        0,
        "{}",
        describe(&output)
    );
    assert!(datapoints(&emulator).await.is_empty());

    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--heartbeat-namespace", "AWS/ECS"]);
    let output = run(cmd).await;
    assert_exit(&output, 2);
    assert!(
        text(&output.stderr).contains("AWS/ namespaces are reserved"),
        "{}",
        describe(&output)
    );
}
