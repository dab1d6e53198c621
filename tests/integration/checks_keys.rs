//! `kms.key_state` and `kms.recent_disable_delete_events` against the
//! emulator. LookupEvents comes from the front, which serves seeded events
//! one per page and records when each request arrived.

use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};
use cmkscan::Finding;
use cmkscan::Status;

use crate::support::front::RecordedEvent;
use crate::support::sample_org::key_event;
use crate::support::seed::KeyState;
use crate::support::{
    assert_finding, findings_for, options, org, single, Emulator, MANAGEMENT_ACCOUNT,
};

const KEY_STATE: &str = "kms.key_state";
const EVENTS: &str = "kms.recent_disable_delete_events";
const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";
const DAY: Duration = Duration::from_secs(86_400);
const ACTOR: &str = "arn:aws:sts::123456789012:assumed-role/Admin/alice";
const SOURCE_IP: &str = "203.0.113.5";

fn rows_of(findings: &[Finding], region: &str, check: &str) -> Vec<Finding> {
    findings_for(findings, MANAGEMENT_ACCOUNT, region, check)
        .into_iter()
        .cloned()
        .collect()
}

fn by_resource<'a>(rows: &'a [Finding], resource: &str) -> &'a Finding {
    let found: Vec<&Finding> = rows.iter().filter(|f| f.resource_id == resource).collect();
    assert_eq!(found.len(), 1, "one row for {resource}: {rows:#?}");
    found[0]
}

fn day_of(time: SystemTime) -> String {
    DateTime::from(time).fmt(Format::DateTime).unwrap()[..10].to_string()
}

/// A key ARN for events only: LookupEvents does not check it exists.
fn key_arn(region: &str, n: u32) -> String {
    format!("arn:aws:kms:{region}:{MANAGEMENT_ACCOUNT}:key/00000000-0000-4000-8000-00000000000{n}")
}

/// The event as seeded, and the whole-second part of its time as the
/// report prints it (`YYYY-MM-DDTHH:MM:SS`).
fn seed_event(
    emulator: &Emulator,
    region: &str,
    name: &str,
    key: &str,
    age: Duration,
) -> (RecordedEvent, String) {
    let event = key_event(MANAGEMENT_ACCOUNT, region, name, key, age);
    let time = event.record["eventTime"].as_str().unwrap()[..19].to_string();
    emulator.front.add_event(event.clone());
    (event, time)
}

// ---- kms.key_state ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn key_states_map_to_pass_warn_fail() {
    let (emulator, m) = org().await;
    let enabled = m.key(EAST, Some("alias/payments"), KeyState::Enabled).await;
    let bare = m.key(EAST, None, KeyState::Enabled).await;
    let disabled = m.key(EAST, Some("alias/orders"), KeyState::Disabled).await;
    let before = SystemTime::now() + 7 * DAY;
    let pending = m
        .key(EAST, Some("alias/legacy-db"), KeyState::PendingDeletion)
        .await;

    let outcome = emulator.scan(options(&[EAST])).await;
    let after = SystemTime::now() + 7 * DAY;
    let rows = rows_of(&outcome.findings, EAST, KEY_STATE);
    assert_eq!(rows.len(), 4, "one row per customer-managed key: {rows:#?}");

    assert_finding(
        by_resource(&rows, &enabled),
        Status::Pass,
        &["is enabled", "alias/payments"],
    );
    assert_finding(by_resource(&rows, &bare), Status::Pass, &["no alias"]);
    assert_finding(
        by_resource(&rows, &disabled),
        Status::Warn,
        &["is disabled", "alias/orders"],
    );
    let f = by_resource(&rows, &pending);
    assert_finding(
        f,
        Status::Fail,
        &["PendingDeletion (deletion date ", "alias/legacy-db"],
    );
    // Scheduled with a 7-day window: the reported date is a week out.
    assert!(
        f.detail
            .contains(&format!("deletion date {}", day_of(before)))
            || f.detail
                .contains(&format!("deletion date {}", day_of(after))),
        "{f:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_customer_managed_keys_gives_one_pass_row() {
    let (emulator, m) = org().await;
    // eu-west-1 holds an AWS managed key only. moto creates one when a
    // reserved `alias/aws/...` alias is first used, as AWS does when a
    // service first needs it.
    let kms = aws_sdk_kms::Client::new(
        &m.config
            .to_builder()
            .region(aws_types::region::Region::new(WEST))
            .build(),
    );
    kms.describe_key()
        .key_id("alias/aws/ebs")
        .send()
        .await
        .expect("describe the AWS managed key for EBS");

    let outcome = emulator.scan(options(&[EAST, WEST])).await;
    for (region, managed) in [(EAST, 0), (WEST, 1)] {
        assert_finding(
            single(&outcome.findings, MANAGEMENT_ACCOUNT, region, KEY_STATE),
            Status::Pass,
            &[&format!(
                "no customer-managed keys ({managed} AWS managed keys left out)"
            )],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_list_keys_is_an_error() {
    let (emulator, m) = org().await;
    m.key(EAST, Some("alias/payments"), KeyState::Enabled).await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, "ListKeys");

    let outcome = emulator.scan(options(&[EAST])).await;
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, KEY_STATE),
        Status::Error,
        &["kms:ListKeys", "AccessDenied"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_describe_key_is_an_error_per_key_without_hiding_the_region() {
    let (emulator, m) = org().await;
    let payments = m.key(EAST, Some("alias/payments"), KeyState::Enabled).await;
    let orders = m.key(EAST, None, KeyState::Disabled).await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, "DescribeKey");

    let outcome = emulator.scan(options(&[EAST])).await;
    let rows = rows_of(&outcome.findings, EAST, KEY_STATE);
    assert_eq!(
        rows.len(),
        2,
        "one row per key, no 'no keys' row: {rows:#?}"
    );
    // Resource ids are key ARNs, as on every other key row.
    let payments_row = by_resource(&rows, &payments);
    assert_finding(
        payments_row,
        Status::Error,
        &[
            "unknown: kms:DescribeKey failed",
            "kms:DescribeKey",
            "AccessDenied",
            "alias/payments",
        ],
    );
    assert_finding(
        by_resource(&rows, &orders),
        Status::Error,
        &["unknown: kms:DescribeKey failed", "no alias"],
    );
    // The region's other checks are unaffected.
    assert_eq!(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, EVENTS).status,
        Status::Pass
    );
}

// ---- kms.recent_disable_delete_events -----------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn recent_events_warn_once_each_and_respect_the_lookback() {
    let (emulator, _m) = org().await;
    let (orders, old) = (key_arn(EAST, 1), key_arn(EAST, 2));
    let (_, disable_time) = seed_event(&emulator, EAST, "DisableKey", &orders, 2 * DAY);
    let (_, schedule_time) = seed_event(
        &emulator,
        EAST,
        "ScheduleKeyDeletion",
        &old,
        Duration::from_secs(12 * 3600),
    );
    // Outside the default 7-day lookback, just and well.
    seed_event(&emulator, EAST, "DisableKey", &orders, 8 * DAY);
    seed_event(&emulator, EAST, "ScheduleKeyDeletion", &old, 30 * DAY);

    let outcome = emulator.scan(options(&[EAST])).await;
    let rows = rows_of(&outcome.findings, EAST, EVENTS);
    assert_eq!(
        rows.len(),
        2,
        "one row per event in the lookback: {rows:#?}"
    );
    assert!(rows.iter().all(|f| f.status == Status::Warn), "{rows:#?}");
    for (key, name, time) in [
        (&orders, "DisableKey", &disable_time),
        (&old, "ScheduleKeyDeletion", &schedule_time),
    ] {
        assert_finding(
            by_resource(&rows, key),
            Status::Warn,
            &[name, time, ACTOR, SOURCE_IP],
        );
    }

    // A 1-day lookback keeps only the 12-hour-old event.
    let mut short = options(&[EAST]);
    short.lookback_days = 1;
    let outcome = emulator.scan(short).await;
    let row = single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, EVENTS);
    assert_eq!(row.resource_id, old, "{row:#?}");
    assert!(
        row.detail.starts_with("ScheduleKeyDeletion at "),
        "{row:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_events_pass_and_events_stay_in_their_region() {
    let (emulator, _m) = org().await;
    let key = key_arn(WEST, 3);
    let (_, time) = seed_event(&emulator, WEST, "DisableKey", &key, DAY);

    let outcome = emulator.scan(options(&[EAST, WEST])).await;
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, EVENTS),
        Status::Pass,
        &["no DisableKey or ScheduleKeyDeletion in the last 7 days"],
    );
    let west = single(&outcome.findings, MANAGEMENT_ACCOUNT, WEST, EVENTS);
    assert_eq!(west.status, Status::Warn, "{west:#?}");
    assert_eq!(west.resource_id, key, "{west:#?}");
    assert!(west.detail.contains(&time), "{west:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_of_events_is_read() {
    let (emulator, _m) = org().await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let (event, _) = seed_event(&emulator, EAST, "DisableKey", &key_arn(EAST, n), n * DAY);
        ids.push(event.record["eventID"].as_str().unwrap().to_string());
    }

    let outcome = emulator.scan(options(&[EAST])).await;
    let rows = rows_of(&outcome.findings, EAST, EVENTS);
    assert_eq!(rows.len(), 3, "three events, one per page: {rows:#?}");
    for (n, id) in (1..=3).zip(&ids) {
        assert_finding(by_resource(&rows, &key_arn(EAST, n)), Status::Warn, &[id]);
    }
    // Three DisableKey pages, one (empty) ScheduleKeyDeletion page.
    assert_eq!(
        emulator.front.lookup_times(MANAGEMENT_ACCOUNT, EAST).len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_events_stays_within_two_requests_per_second() {
    let (emulator, _m) = org().await;
    for n in 1..=4 {
        seed_event(&emulator, EAST, "DisableKey", &key_arn(EAST, n), n * DAY);
    }

    emulator.scan(options(&[EAST])).await;
    let mut times = emulator.front.lookup_times(MANAGEMENT_ACCOUNT, EAST);
    times.sort();
    assert_eq!(
        times.len(),
        5,
        "four DisableKey pages and one ScheduleKeyDeletion page"
    );
    // Four periods of the 2/s quota lie between the first and the last
    // request. The bound allows the first request a second of lateness
    // between the limiter and the front (a loaded machine's scheduling); a
    // slower machine only spreads the requests further. The request rates
    // themselves are measured by the benchmark (scripts/bench.sh).
    let span = times[times.len() - 1] - times[0];
    assert!(
        span >= Duration::from_secs(1),
        "5 LookupEvents requests within {span:?}: {:?}",
        times.iter().map(|t| *t - times[0]).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_lookup_events_is_an_error() {
    let (emulator, _m) = org().await;
    seed_event(&emulator, EAST, "DisableKey", &key_arn(EAST, 1), DAY);
    emulator.front.deny(MANAGEMENT_ACCOUNT, "LookupEvents");

    let outcome = emulator.scan(options(&[EAST])).await;
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, EAST, EVENTS),
        Status::Error,
        &["cloudtrail:LookupEvents", "AccessDenied"],
    );
}
