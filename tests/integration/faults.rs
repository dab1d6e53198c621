//! The fault suite: the scan against the sample organisation with the front
//! (`support::front`) injecting AWS's failures. Whatever fails, the report
//! is never silently wrong: a throttling storm is absorbed (the report is the
//! fault-free one) while the limiter paces every key, retries included; a call
//! that keeps failing turns exactly the rows that needed it into ERROR rows
//! naming the API and the code, and nothing else moves; failures the report
//! cannot survive (the account listing, the upload, a killed process) exit non-zero
//! and leave no report claiming to be complete.
//!
//! Which requests a fault hits never depends on chance or on the rest of
//! the run: rules name their requests, and a storm decides each request's
//! fate from the request itself (`support::front::Storm`).
//!
//! Run with `--nocapture` to see the fault table and the requests per key.
//! Request rates are measured by the benchmark (`scripts/bench.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use cmkscan::Api;
use cmkscan::Finding;
use cmkscan::Status;

use crate::support::cli::{
    assert_empty_dir, assert_exit, assert_one_line_reason, cmkscan_command, describe, read_json,
    run, scan_args, text,
};
use crate::support::front::{Fault, Logged, Match, Storm, Trigger};
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
    let mut facts = cmkscan::CollectedFacts::default();
    let outcome = cmkscan::run_scan(config, options(&REGIONS), &mut facts)
        .await
        .expect("scan");
    read_findings(&outcome.evaluated.findings)
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
    let mut cmd = cmkscan_command(emulator.endpoint());
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
    cmkscan::CSV_COLUMNS
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

/// How much later than the limiter released it a request may reach the
/// front (connecting, signing, a loaded machine's scheduling). Only the
/// first request of a key being late can make its requests look faster
/// than they were released; a slower machine only spreads them out.
const RELEASE_TO_ARRIVAL: Duration = Duration::from_secs(1);

/// Requests of one key (caller account, region, service, API) at the front.
struct KeyRequests {
    key: (String, String, String, String),
    requests: usize,
    /// From the first request to the last.
    span: Duration,
    limit: u32,
}

impl KeyRequests {
    /// The least time the limiter lets these requests take: one period
    /// between each two, less [`RELEASE_TO_ARRIVAL`] for the first one
    /// arriving late. The rate figures themselves are the benchmark's
    /// (`scripts/bench.sh`: its paced run prints the busiest second of any
    /// one key per API, from `support::pace`).
    fn least_span(&self) -> Duration {
        let released = Duration::from_secs_f64((self.requests - 1) as f64 / f64::from(self.limit));
        released.saturating_sub(RELEASE_TO_ARRIVAL)
    }
}

fn requests_per_key(log: &[Logged]) -> Vec<KeyRequests> {
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
        .map(|(key, times)| {
            let first = times.iter().min().copied().expect("a request");
            let last = times.iter().max().copied().expect("a request");
            KeyRequests {
                limit: configured_rate(&key.2, &key.3),
                requests: times.len(),
                span: last - first,
                key,
            }
        })
        .collect()
}

/// Throttling scattered over 30% of attempts: `ThrottlingException` and
/// `TooManyRequestsException` from JSON services, `Throttling` from Query
/// ones, `RequestLimitExceeded` from EC2, `SlowDown` from S3. No request is
/// hit on more than its first two attempts, so with any number of attempts
/// above two every request gets through, whatever else the run does.
fn throttling_storm() -> Storm {
    Storm {
        fraction: 0.3,
        most_per_request: 2,
        faults: vec![Fault::Throttling, Fault::TooManyRequests],
    }
}

/// A throttling storm that lets every request through within its attempts
/// is absorbed: with the binary's default 8 attempts and with the SDK's
/// usual 3, the report is the fault-free one. The limiter keeps every key,
/// retries included, from sending faster than its rate. And what the
/// attempts do not absorb (a request throttled on every attempt) turns
/// exactly the rows that needed it into ERROR rows naming the API and the
/// throttling code, and moves nothing else.
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

    // The default 8 attempts. Besides the storm, one throttle of each kind
    // on a call every scan makes, so that every code is seen: a request
    // is then hit at most three times.
    let mut rules = vec![
        emulator
            .front
            .inject(Match::api("ListKeys"), Fault::Throttling, Trigger::Times(1)),
        emulator.front.inject(
            Match::api("ListAccountsForParent"),
            Fault::TooManyRequests,
            Trigger::Times(1),
        ),
        emulator.front.inject(
            Match::api("AssumeRole"),
            Fault::Throttling,
            Trigger::Times(1),
        ),
        emulator.front.inject(
            Match::api("DescribeRegions"),
            Fault::Throttling,
            Trigger::Times(1),
        ),
        emulator.front.inject(
            Match::api("PutObject"),
            Fault::Throttling,
            Trigger::Times(1),
        ),
    ];
    rules.push(emulator.front.storm(Match::any(), throttling_storm()));
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
    for code in [
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
    ] {
        assert!(codes.contains_key(code), "{code} never sent: {codes:?}");
    }
    // Hundreds of requests, each hit on its first attempt with chance 0.3.
    assert!(
        throttled * 10 >= log.len(),
        "only {throttled} of {} requests throttled",
        log.len()
    );
    assert_eq!(
        comparable_report(storm_dir.path()),
        calm,
        "the storm changed the report"
    );
    assert!(text(&output.stdout).contains("uploaded s3://storm-reports/"));
    println!(
        "throttling storm: {throttled} of {} requests throttled: {codes:?}",
        log.len()
    );

    // Retries go through the limiter: no key's requests, retries included,
    // came faster than its rate.
    let mut keys = requests_per_key(&log);
    keys.sort_by_key(|k| std::cmp::Reverse(k.requests));
    println!(
        "{:<14} {:<10} {:<45} {:>8} {:>9} {:>9} {:>6}",
        "caller", "region", "api", "requests", "span", "least", "limit"
    );
    for key in &keys {
        let (caller, region, service, api) = &key.key;
        println!(
            "{caller:<14} {region:<10} {:<45} {:>8} {:>8.2}s {:>8.2}s {:>6}",
            format!("{service}:{api}"),
            key.requests,
            key.span.as_secs_f64(),
            key.least_span().as_secs_f64(),
            key.limit
        );
    }
    for key in &keys {
        assert!(
            key.span >= key.least_span(),
            "{:?}: {} requests within {:?}, limit {}/s",
            key.key,
            key.requests,
            key.span,
            key.limit
        );
    }
    let lookups = keys
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
    for rule in rules {
        emulator.front.remove(rule);
    }

    // The SDK's usual three attempts: the storm is absorbed all the same.
    // Two calls are throttled on every attempt: exactly their rows become
    // ERROR, naming the API and the code; every other row is the calm one.
    let failing = [
        (
            Match::api("ListKeys")
                .and_account(&org.prod)
                .and_region("us-east-1"),
            Fault::Throttling,
            group(&org.prod, "us-east-1", "kms.key_state"),
            "kms:ListKeys",
            "ThrottlingException",
        ),
        (
            Match::api("DescribeConfigurationRecorders")
                .and_account(&org.dev)
                .and_region("eu-west-1"),
            Fault::TooManyRequests,
            group(&org.dev, "eu-west-1", "config.kms_key_recording"),
            "config:DescribeConfigurationRecorders",
            "TooManyRequestsException",
        ),
    ];
    for (matcher, fault, ..) in &failing {
        emulator
            .front
            .inject(matcher.clone(), *fault, Trigger::Always);
    }
    emulator.front.storm(Match::any(), throttling_storm());
    let three_dir = tempfile::tempdir().expect("temp dir");
    assert_exit(&run(scan(three_dir.path(), Some("3"), false)).await, 0);
    let (rows, _) = comparable_report(three_dir.path());
    let group_of = |row: &Vec<String>| {
        group(
            &row[column("account_id")],
            &row[column("region")],
            &row[column("check_id")],
        )
    };
    let by_group = |rows: &[Vec<String>]| {
        let mut groups: BTreeMap<Group, Vec<Vec<String>>> = BTreeMap::new();
        for row in rows {
            groups.entry(group_of(row)).or_default().push(row.clone());
        }
        groups
    };
    let (three, calm_groups) = (by_group(&rows), by_group(&calm.0));
    assert_eq!(
        three.keys().collect::<Vec<_>>(),
        calm_groups.keys().collect::<Vec<_>>(),
        "the groups of rows differ from the calm run's"
    );
    for (key, rows) in &three {
        match failing.iter().find(|f| f.2 == *key) {
            Some((_, _, _, api, code)) => {
                for row in rows {
                    let detail = &row[column("detail")];
                    assert_eq!(row[column("status")], "ERROR", "{row:?}");
                    assert!(detail.contains(api) && detail.contains(code), "{row:?}");
                }
            }
            None => assert_eq!(rows, &calm_groups[key], "{key:?} changed"),
        }
    }
    println!(
        "the same storm with 3 attempts: absorbed; {} group(s) throttled on every attempt are ERROR",
        failing.len()
    );
}

/// A later `ListAccountsForParent` page failing (after every retry) ends the
/// run: exit 1, the API and code on stderr, and no report at all, since an
/// incomplete account list would make an incomplete report look complete.
#[tokio::test(flavor = "multi_thread")]
async fn account_listing_failing_ends_the_run_without_a_report() {
    let emulator = Emulator::with_organization().await;
    emulator.create_account("member").await;
    // The first page is empty with a NextToken; the second answers 503.
    emulator
        .front
        .empty_first_page("ListAccountsForParent", "Accounts");
    emulator.front.inject(
        Match::api("ListAccountsForParent"),
        Fault::Status503,
        Trigger::After(1),
    );
    let out_dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, out_dir.path());
    let output = run(cmd).await;
    assert_exit(&output, 1);
    let reason = assert_one_line_reason(&output, "cannot list the organization's accounts");
    assert!(
        reason.contains("organizations:ListAccountsForParent")
            && reason.contains("ServiceUnavailable"),
        "{reason}"
    );
    assert_empty_dir(out_dir.path());
    assert!(
        !text(&output.stdout).contains("wrote "),
        "{}",
        describe(&output)
    );
    let pages = emulator.front.requests("ListAccountsForParent");
    assert!(pages >= 2, "{pages} ListAccountsForParent requests");
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
    let mut cmd = cmkscan_command(emulator.endpoint());
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
    let ocsf = read_json(&out_dir.path().join("findings.ocsf.json"));
    assert_eq!(ocsf.as_array().map(Vec::len), Some(rows));
}

/// Kills `cmkscan scan` into `out_dir` once it is mid-scan (LookupEvents
/// answers take seconds), and returns what it left in `out_dir`.
async fn kill_mid_scan(emulator: &Emulator, out_dir: &Path) -> Vec<String> {
    emulator.front.clear_log();
    let mut cmd = cmkscan_command(emulator.endpoint());
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
    let mut cmd = cmkscan_command(emulator.endpoint());
    scan_args(&mut cmd, earlier.path());
    assert_exit(&run(cmd).await, 0);
    let report = [
        "findings.csv",
        "findings.json",
        "findings.ocsf.json",
        "report.html",
        "facts.json.gz",
    ];
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
