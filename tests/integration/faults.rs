//! The fault suite: the scan against the sample organisation with the front
//! (`support::front`) injecting AWS's failures. Whatever fails, the report
//! is never silently wrong: a throttling storm is absorbed (the report is the
//! fault-free one) while the limiter keeps every key under its rate; a call
//! that keeps failing turns exactly the rows that needed it into ERROR rows
//! naming the API and the code, and nothing else moves; failures the report
//! cannot survive (ListAccounts, the upload, a killed process) exit non-zero
//! and leave no report claiming to be complete.
//!
//! Run with `--nocapture` to see the fault table and the measured request
//! rates per key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use cmkscan::api::Api;
use cmkscan::checks::catalog::Status;
use cmkscan::checks::Finding;

use crate::cli::{
    assert_empty_dir, assert_exit, assert_one_line_reason, cmkscan, describe, read_json, run,
    scan_args, text,
};
use crate::support::front::{peak_in_window, Fault, Logged, Match, Trigger};
use crate::support::sample_org::{self, key_event, SampleOrg, REGIONS};
use crate::support::{options, read_findings, Emulator, MANAGEMENT_ACCOUNT, REGION};

/// (account, region, check): the unit a failed call can turn into ERROR.
type Group = (String, String, String);
/// The rows of a group: (status, resource, detail), sorted.
type Rows = Vec<(Status, String, String)>;

fn groups(findings: &[Finding]) -> BTreeMap<Group, Rows> {
    let mut groups: BTreeMap<Group, Rows> = BTreeMap::new();
    for f in findings {
        groups
            .entry((f.account_id.clone(), f.region.clone(), f.check.to_string()))
            .or_default()
            .push((f.status, f.resource_id.clone(), f.detail.clone()));
    }
    for rows in groups.values_mut() {
        rows.sort();
    }
    groups
}

fn group(account: &str, region: &str, check: &str) -> Group {
    (account.to_string(), region.to_string(), check.to_string())
}

/// The runner's configuration with a short attempt timeout, so that a
/// stalled answer becomes a timeout within the test (the binary allows 60 s).
async fn config(emulator: &Emulator, attempt_timeout: Duration) -> SdkConfig {
    emulator
        .runner_config()
        .await
        .to_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .retry_config(RetryConfig::standard())
        .build()
}

async fn scan_findings(emulator: &Emulator, attempt_timeout: Duration) -> Vec<Finding> {
    let config = config(emulator, attempt_timeout).await;
    let mut facts = cmkscan::evidence::CollectedFacts::default();
    let outcome = cmkscan::scan::run(config, options(&REGIONS), &mut facts)
        .await
        .expect("scan");
    read_findings(&outcome.findings)
}

/// One permanent fault and the groups it must turn into ERROR rows.
struct Case {
    what: &'static str,
    matcher: Match,
    fault: Fault,
    /// The groups that become ERROR; every other group is unchanged.
    errors: Vec<Group>,
    /// Every ERROR row names this API (`service:Operation`), when there is one.
    api: Option<&'static str>,
    /// Every ERROR row names this code.
    code: &'static str,
}

fn cases(org: &SampleOrg) -> Vec<Case> {
    let m = MANAGEMENT_ACCOUNT;
    let (prod, dev) = (org.prod.as_str(), org.dev.as_str());
    vec![
        Case {
            what: "kms:ListKeys answers 500 in prod us-east-1",
            matcher: Match::api("ListKeys")
                .and_account(prod)
                .and_region("us-east-1"),
            fault: Fault::Status500,
            errors: vec![group(prod, "us-east-1", "kms.key_state")],
            api: Some("kms:ListKeys"),
            code: "InternalFailure",
        },
        Case {
            what: "config:DescribeConfigurationRecorders answers 503 in dev eu-west-1",
            matcher: Match::api("DescribeConfigurationRecorders")
                .and_account(dev)
                .and_region("eu-west-1"),
            fault: Fault::Status503,
            errors: vec![group(dev, "eu-west-1", "config.kms_key_recording")],
            api: Some("config:DescribeConfigurationRecorders"),
            code: "ServiceUnavailable",
        },
        Case {
            what: "cloudtrail:LookupEvents throttled for ever in prod us-east-1",
            matcher: Match::api("LookupEvents")
                .and_account(prod)
                .and_region("us-east-1"),
            fault: Fault::Throttling,
            errors: vec![group(prod, "us-east-1", "kms.recent_disable_delete_events")],
            api: Some("cloudtrail:LookupEvents"),
            code: "ThrottlingException",
        },
        Case {
            what: "kms:DescribeKey connection dropped in dev eu-west-1",
            matcher: Match::api("DescribeKey")
                .and_account(dev)
                .and_region("eu-west-1"),
            fault: Fault::Drop,
            errors: vec![group(dev, "eu-west-1", "kms.key_state")],
            api: Some("kms:DescribeKey"),
            code: "DispatchFailure",
        },
        Case {
            what: "config:DescribeDeliveryChannels answers a malformed body in prod us-east-1",
            matcher: Match::api("DescribeDeliveryChannels")
                .and_account(prod)
                .and_region("us-east-1"),
            fault: Fault::Malformed,
            errors: vec![group(prod, "us-east-1", "config.kms_key_recording")],
            api: Some("config:DescribeDeliveryChannels"),
            code: "ResponseError",
        },
        Case {
            what: "events:ListRules answers after the attempt timeout in the management account us-east-1",
            matcher: Match::api("ListRules")
                .and_account(m)
                .and_region("us-east-1"),
            fault: Fault::Delay(Duration::from_secs(6)),
            errors: vec![group(m, "us-east-1", "alerting.kms_disable_delete")],
            api: Some("events:ListRules"),
            code: "TimeoutError",
        },
        Case {
            what: "sts:AssumeRole denied for dev",
            matcher: Match::api("AssumeRole").and_account(dev),
            fault: Fault::AccessDenied,
            errors: vec![group(dev, "global", "scan.account_access")],
            api: Some("sts:AssumeRole"),
            code: "AccessDenied",
        },
        Case {
            what: "the KMS endpoint of eu-west-1 answers 503 for every account",
            matcher: Match::service("kms").and_region("eu-west-1"),
            fault: Fault::Status503,
            errors: vec![
                group(m, "eu-west-1", "kms.key_state"),
                group(prod, "eu-west-1", "kms.key_state"),
                group(dev, "eu-west-1", "kms.key_state"),
            ],
            api: Some("kms:ListKeys"),
            code: "ServiceUnavailable",
        },
        Case {
            what: "every endpoint of eu-west-1 drops dev's connections",
            matcher: Match::any().and_account(dev).and_region("eu-west-1"),
            fault: Fault::Drop,
            // The organisation trail, read in the management account, still
            // covers dev there: that PASS rests on data that was read.
            errors: [
                "config.kms_key_recording",
                "alerting.kms_disable_delete",
                "kms.key_state",
                "kms.recent_disable_delete_events",
            ]
            .iter()
            .map(|check| group(dev, "eu-west-1", check))
            .collect(),
            api: None,
            code: "DispatchFailure",
        },
    ]
}

/// A call that keeps failing (after every retry) in one account and
/// region turns exactly the rows that needed it into ERROR rows naming the
/// API and the code. Every other row is the fault-free one, and no row
/// passes on data that was not read.
#[tokio::test(flavor = "multi_thread")]
async fn a_permanently_failing_call_errors_exactly_the_rows_that_need_it() {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;
    let timeout = Duration::from_secs(3);
    let baseline = groups(&scan_findings(&emulator, timeout).await);
    let legacy_access = group(&org.legacy, "global", "scan.account_access");
    assert_eq!(baseline[&legacy_access][0].0, Status::Error);
    assert!(
        baseline
            .values()
            .flatten()
            .filter(|row| row.0 == Status::Error)
            .count()
            == 1,
        "the fault-free scan has one ERROR (legacy's AssumeRole): {baseline:#?}"
    );

    let mut outcomes = Vec::new();
    for case in cases(&org) {
        let rule = emulator
            .front
            .inject(case.matcher.clone(), case.fault, Trigger::Always);
        emulator.front.clear_log();
        let faulty = groups(&scan_findings(&emulator, timeout).await);
        emulator.front.remove(rule);
        let injected = emulator
            .front
            .log()
            .iter()
            // legacy's denied AssumeRole belongs to the sample organisation.
            .filter(|r| r.fault.is_some() && r.account != org.legacy)
            .count();
        assert!(injected > 0, "{}: no request was hit", case.what);

        let expected: BTreeSet<&Group> = case.errors.iter().collect();
        let mut changed = BTreeSet::new();
        for (key, rows) in &faulty {
            if baseline.get(key) == Some(rows) {
                continue;
            }
            changed.insert(key);
            for (status, resource, detail) in rows {
                assert_eq!(
                    *status,
                    Status::Error,
                    "{}: {key:?} changed to a verdict that is not ERROR: {resource} {detail}",
                    case.what
                );
                if let Some(api) = case.api {
                    assert!(detail.contains(api), "{}: {detail}", case.what);
                }
                assert!(detail.contains(case.code), "{}: {detail}", case.what);
            }
        }
        // A group that vanished (an account that could not be entered loses
        // its regional rows) counts as changed too.
        let vanished: Vec<&Group> = baseline
            .keys()
            .filter(|key| !faulty.contains_key(*key))
            .collect();
        if case.api == Some("sts:AssumeRole") {
            assert!(
                vanished.iter().all(|(account, _, _)| *account == org.dev),
                "{}: {vanished:?}",
                case.what
            );
        } else {
            assert!(vanished.is_empty(), "{}: {vanished:?}", case.what);
        }
        assert_eq!(changed, expected, "{}", case.what);
        let error_rows: usize = case.errors.iter().map(|g| faulty[g].len()).sum();
        outcomes.push(format!(
            "{:<95} {error_rows} ERROR row(s) in {} group(s), {} other row(s) identical ({injected} requests hit)",
            case.what,
            case.errors.len(),
            faulty
                .iter()
                .filter(|(key, _)| !expected.contains(key))
                .map(|(_, rows)| rows.len())
                .sum::<usize>(),
        ));
    }
    println!("permanent faults against the sample organisation:");
    for line in outcomes {
        println!("  {line}");
    }
}

// ------------------------------------------------------------- the binary

/// `cmkscan scan` of the sample organisation's regions into `out_dir`.
fn sample_scan(emulator: &Emulator, out_dir: &Path) -> std::process::Command {
    let mut cmd = cmkscan(emulator.endpoint());
    cmd.args(["scan", "--regions", &REGIONS.join(","), "--output-dir"])
        .arg(out_dir)
        .args(["--external-id", "sample-external-id"]);
    cmd
}

/// The report without what legitimately differs between two runs: the CSV
/// rows (sorted) without `scan_id` and `scan_time`, and the JSON summary
/// without the duration and the request counts.
fn comparable_report(out_dir: &Path) -> (Vec<Vec<String>>, serde_json::Value) {
    let mut reader = csv::Reader::from_path(out_dir.join("findings.csv")).expect("findings.csv");
    let headers = reader.headers().expect("CSV header").clone();
    let kept: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, name)| !matches!(*name, "scan_id" | "scan_time"))
        .map(|(i, _)| i)
        .collect();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            let record = r.expect("CSV row");
            kept.iter().map(|i| record[*i].to_string()).collect()
        })
        .collect();
    rows.sort();
    let mut summary = read_json(&out_dir.join("findings.json"))["summary"].clone();
    if let Some(object) = summary.as_object_mut() {
        object.retain(|key, _| !key.contains("duration") && key != "api_calls");
    }
    (rows, summary)
}

/// Column of `name` in the CSV report.
fn column(name: &str) -> usize {
    cmkscan::report::CSV_COLUMNS
        .iter()
        .position(|c| *c == name)
        .expect("CSV column")
        - 2 // scan_id and scan_time are left out of comparable rows
}

/// The configured rate of `service:api`.
fn configured_rate(service: &str, api: &str) -> u32 {
    Api::ALL
        .iter()
        .find(|a| a.service_and_operation() == (service, api))
        .unwrap_or_else(|| panic!("{service}:{api} is not in Api::ALL"))
        .requests_per_second()
        .get()
}

/// One second less the scheduling jitter between the limiter releasing a
/// request and the front logging it: requests evenly spaced at the limit
/// (at 2/s: 0.000, 0.500, 1.000 s) arrive a few milliseconds early or late,
/// which would put three in some one-second window.
const JITTER_WINDOW: Duration = Duration::from_millis(975);

/// Requests per second at the front, per key (caller account, region, API).
struct Rate {
    key: (String, String, String, String),
    requests: usize,
    /// Most requests in any window of [`JITTER_WINDOW`], retries included:
    /// cmkscan retries through the limiter, so retries count too.
    peak: usize,
    limit: u32,
}

fn rates(log: &[Logged]) -> Vec<Rate> {
    let mut by_key: BTreeMap<(String, String, String, String), Vec<Instant>> = BTreeMap::new();
    for r in log {
        by_key
            .entry((
                r.caller.clone(),
                r.region.clone(),
                r.service.clone(),
                r.api.clone(),
            ))
            .or_default()
            .push(r.at);
    }
    by_key
        .into_iter()
        .map(|(key, times)| Rate {
            limit: configured_rate(&key.2, &key.3),
            requests: times.len(),
            peak: peak_in_window(&times, JITTER_WINDOW),
            key,
        })
        .collect()
}

/// A storm throttling 30% of all requests (`ThrottlingException` and
/// `TooManyRequestsException` from JSON services, `Throttling` from Query
/// ones, `RequestLimitExceeded` from EC2, `SlowDown` from S3): with the
/// binary's default 8 attempts the retries absorb it and the report is the
/// fault-free one; the limiter keeps every key, retries included, at or
/// under its configured rate. With the SDK's usual 3 attempts, what is not
/// absorbed becomes ERROR, never a different verdict.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttling_storm_changes_nothing_and_rates_stay_under_their_limits() {
    let emulator = Emulator::start().await;
    let org = sample_org::seed(&emulator).await;
    emulator
        .management()
        .await
        .bucket(REGION, "storm-reports")
        .await;
    // Enough LookupEvents pages (one event a page) in one account and
    // region to see the 2 requests/s pacing at work for several seconds.
    let orders = format!("arn:aws:kms:us-east-1:{}:key/storm", org.prod);
    for hours in 1..=12 {
        emulator.front.add_event(key_event(
            &org.prod,
            "us-east-1",
            "DisableKey",
            &orders,
            Duration::from_secs(3600 * hours),
        ));
    }
    let scan = |out_dir: &Path, attempts: Option<&str>, upload: bool| {
        let mut cmd = sample_scan(&emulator, out_dir);
        if upload {
            cmd.args(["--s3-uri", "s3://storm-reports/cmkscan"]);
        }
        match attempts {
            Some(attempts) => cmd.env("AWS_MAX_ATTEMPTS", attempts),
            None => cmd.env_remove("AWS_MAX_ATTEMPTS"),
        };
        cmd
    };

    let calm_dir = tempfile::tempdir().expect("temp dir");
    assert_exit(&run(scan(calm_dir.path(), None, true)).await, 0);
    let calm = comparable_report(calm_dir.path());
    assert!(calm.0.len() > 40, "{:#?}", calm.0);

    // 30% in all: 15% of requests, then 15/85 of the rest.
    emulator
        .front
        .inject(Match::any(), Fault::Throttling, Trigger::Fraction(0.15));
    emulator.front.inject(
        Match::any(),
        Fault::TooManyRequests,
        Trigger::Fraction(0.15 / 0.85),
    );

    // The default 8 attempts: a request fails for good with probability
    // 0.3^8 (under 1 in 10,000).
    emulator.front.clear_log();
    let storm_dir = tempfile::tempdir().expect("temp dir");
    let output = run(scan(storm_dir.path(), None, true)).await;
    assert_exit(&output, 0);
    let log = emulator.front.log();
    // legacy's AccessDenied is the sample organisation's, not the storm's.
    let codes: BTreeMap<String, usize> = log
        .iter()
        .filter_map(|r| r.fault.clone())
        .filter(|code| code != "AccessDenied")
        .fold(BTreeMap::new(), |mut codes, code| {
            *codes.entry(code).or_default() += 1;
            codes
        });
    let throttled: usize = codes.values().sum();
    let fraction = throttled as f64 / log.len() as f64;
    assert!(
        (0.15..0.45).contains(&fraction),
        "{throttled} of {} requests throttled",
        log.len()
    );
    for code in [
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
    ] {
        assert!(codes.contains_key(code), "{code} never sent: {codes:?}");
    }
    assert_eq!(
        comparable_report(storm_dir.path()),
        calm,
        "the storm changed the report"
    );
    assert!(text(&output.stdout).contains("uploaded s3://storm-reports/"));

    println!(
        "throttling storm: {throttled} of {} requests throttled ({:.0}%): {codes:?}",
        log.len(),
        fraction * 100.0
    );
    println!(
        "{:<14} {:<10} {:<45} {:>8} {:>8} {:>6}",
        "caller", "region", "api", "requests", "peak/s*", "limit"
    );
    let mut rates = rates(&log);
    rates.sort_by(|a, b| {
        (b.peak * 1000 / b.limit as usize, b.requests)
            .cmp(&(a.peak * 1000 / a.limit as usize, a.requests))
    });
    for rate in &rates {
        let (caller, region, service, api) = &rate.key;
        println!(
            "{caller:<14} {region:<10} {:<45} {:>8} {:>8} {:>6}",
            format!("{service}:{api}"),
            rate.requests,
            rate.peak,
            rate.limit
        );
    }
    println!("* retries included, in windows of {JITTER_WINDOW:?} (see JITTER_WINDOW)");
    for rate in &rates {
        assert!(
            rate.peak <= rate.limit as usize,
            "{:?}: {} requests within one second, limit {}",
            rate.key,
            rate.peak,
            rate.limit
        );
    }
    let lookups = rates
        .iter()
        .find(|r| {
            r.key
                == (
                    org.prod.clone(),
                    "us-east-1".into(),
                    "cloudtrail".into(),
                    "LookupEvents".into(),
                )
        })
        .expect("prod's LookupEvents in us-east-1");
    assert!(lookups.requests >= 13, "{} LookupEvents", lookups.requests);
    assert_eq!(lookups.peak, 2, "LookupEvents pacing at its 2/s limit");

    // The SDK's usual three attempts: some requests stay throttled. Their
    // rows are ERROR naming a throttling code; every other row is
    // unchanged. An upload that stays throttled fails the run (tested on
    // its own), so this run keeps its report local.
    let default_dir = tempfile::tempdir().expect("temp dir");
    assert_exit(&run(scan(default_dir.path(), Some("3"), false)).await, 0);
    let (rows, _) = comparable_report(default_dir.path());
    let group_of = |row: &Vec<String>| {
        (
            row[column("account_id")].clone(),
            row[column("region")].clone(),
            row[column("check_id")].clone(),
        )
    };
    let status = column("status");
    let errored: BTreeSet<_> = rows
        .iter()
        .filter(|r| r[status] == "ERROR")
        .map(group_of)
        .collect();
    let calm_errored: BTreeSet<_> = calm
        .0
        .iter()
        .filter(|r| r[status] == "ERROR")
        .map(group_of)
        .collect();
    // Outside the groups with an ERROR, every verdict is the calm one. The
    // evidence may differ: a check that has two ways to pass (an alarm
    // chain, an EventBridge rule) names the one it could read.
    let verdicts = |rows: &[Vec<String>]| {
        let mut by_group: BTreeMap<_, Vec<String>> = BTreeMap::new();
        for row in rows {
            by_group
                .entry(group_of(row))
                .or_default()
                .push(row[status].clone());
        }
        by_group.values_mut().for_each(|v| v.sort());
        by_group
    };
    let (storm_verdicts, calm_verdicts) = (verdicts(&rows), verdicts(&calm.0));
    for group in storm_verdicts.keys().chain(calm_verdicts.keys()) {
        if errored.contains(group) {
            continue;
        }
        assert_eq!(
            storm_verdicts.get(group),
            calm_verdicts.get(group),
            "{group:?} changed its verdict without an ERROR"
        );
    }
    for row in rows.iter().filter(|r| r[status] == "ERROR") {
        if calm_errored.contains(&group_of(row)) && calm.0.contains(row) {
            continue;
        }
        let detail = &row[column("detail")];
        assert!(
            [
                "Throttling",
                "TooManyRequests",
                "RequestLimitExceeded",
                "SlowDown"
            ]
            .iter()
            .any(|code| detail.contains(code)),
            "{row:?}"
        );
    }
    println!(
        "the same storm with 3 attempts: {} of {} groups ERROR (fault-free: {})",
        errored.len(),
        rows.iter().map(group_of).collect::<BTreeSet<_>>().len(),
        calm_errored.len()
    );
}

/// A later `ListAccounts` page failing (after every retry) ends the
/// run: exit 1, the API and code on stderr, and no report at all, since an
/// incomplete account list would make an incomplete report look complete.
#[tokio::test(flavor = "multi_thread")]
async fn list_accounts_failing_ends_the_run_without_a_report() {
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;
    // The first page is empty with a NextToken; the second answers 503.
    emulator.front.empty_first_page("ListAccounts", "Accounts");
    emulator.front.inject(
        Match::api("ListAccounts"),
        Fault::Status503,
        Trigger::After(1),
    );
    let out_dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = cmkscan(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, "cannot list the organization's accounts");
    assert!(
        reason.contains("organizations:ListAccounts") && reason.contains("ServiceUnavailable"),
        "{reason}"
    );
    assert_empty_dir(out_dir.path());
    assert!(
        !text(&output.stdout).contains("wrote "),
        "{}",
        describe(&output)
    );
    let pages = emulator.front.requests("ListAccounts");
    assert!(pages >= 2, "{pages} ListAccounts requests");
}

/// `PutObject` denied on the report bucket: exit 1 naming the bucket and
/// the code, and the local report complete.
#[tokio::test(flavor = "multi_thread")]
async fn upload_denied_keeps_the_local_report_and_names_the_bucket() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .bucket(REGION, "locked-reports")
        .await;
    emulator.front.inject(
        Match::api("PutObject"),
        Fault::AccessDenied,
        Trigger::Always,
    );
    let out_dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = cmkscan(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    cmd.args(["--s3-uri", "s3://locked-reports/weekly"]);
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, "upload to s3://locked-reports/weekly/");
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert!(
        reason.contains(&format!(
            "the local report is kept in {}",
            out_dir.path().display()
        )),
        "{reason}"
    );
    let rows = csv::Reader::from_path(out_dir.path().join("findings.csv"))
        .expect("findings.csv")
        .records()
        .count();
    let json = read_json(&out_dir.path().join("findings.json"));
    assert!(rows > 0);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(rows));
}

/// Kills `cmkscan scan` into `out_dir` once it is mid-scan (LookupEvents
/// answers take seconds), and returns what it left in `out_dir`.
async fn kill_mid_scan(emulator: &Emulator, out_dir: &Path) -> Vec<String> {
    emulator.front.clear_log();
    let mut cmd = cmkscan(emulator.endpoint());
    scan_args(&mut cmd, out_dir);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cmkscan");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !emulator.front.log().iter().any(|r| r.api == "LookupEvents") {
        assert!(
            Instant::now() < deadline,
            "the scan never reached LookupEvents"
        );
        assert!(
            child.try_wait().expect("poll cmkscan").is_none(),
            "cmkscan ended before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL (what `Child::kill` sends on Unix): no chance to clean up.
    child.kill().expect("kill cmkscan");
    let status = child.wait().expect("reap cmkscan");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    let mut left: Vec<String> = std::fs::read_dir(out_dir)
        .expect("read the output dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    left.sort();
    left
}

/// A scan killed mid-way leaves no `findings.csv` that looks complete: none
/// in a fresh directory, and an earlier complete report (evidence included)
/// left untouched. Anything unfinished is a dot file
/// (`.facts.json.gz.partial`, written while the scan runs).
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_scan_leaves_no_report_that_looks_complete() {
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;

    let earlier = tempfile::tempdir().expect("temp dir");
    let mut cmd = cmkscan(emulator.endpoint());
    scan_args(&mut cmd, earlier.path());
    assert_exit(&run(cmd).await, 0);
    let report = ["findings.csv", "findings.json", "facts.json.gz"];
    let read_report = |dir: &Path| -> Vec<Vec<u8>> {
        report
            .iter()
            .map(|name| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect()
    };
    let before = read_report(earlier.path());

    emulator.front.inject(
        Match::api("LookupEvents"),
        Fault::Delay(Duration::from_secs(2)),
        Trigger::Always,
    );
    let fresh = tempfile::tempdir().expect("temp dir");
    let left = kill_mid_scan(&emulator, fresh.path()).await;
    assert!(left.iter().all(|name| name.starts_with('.')), "{left:?}");

    let left = kill_mid_scan(&emulator, earlier.path()).await;
    assert!(
        left.iter()
            .all(|name| name.starts_with('.') || report.contains(&name.as_str())),
        "{left:?}"
    );
    assert!(
        read_report(earlier.path()) == before,
        "the earlier report changed"
    );
}
