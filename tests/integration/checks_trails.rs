//! `cloudtrail.kms_events_logged` against the emulator: one scenario per
//! test, each on its own emulator, asserting the status and the detail.

use crate::support::TestScan;
use aws_sdk_cloudtrail::types::ReadWriteType;
use cmkscan::Finding;
use cmkscan::Status;

use crate::support::seed::{Selectors, TrailSpec};
use crate::support::{assert_finding, findings_for, options, single, Emulator, MANAGEMENT_ACCOUNT};

const CHECK: &str = "cloudtrail.kms_events_logged";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// An organisation of the management account alone, with `spec` as its only
/// trail, scanned in us-east-1 and eu-west-1.
async fn scan_one_trail(spec: TrailSpec) -> TestScan {
    let emulator = Emulator::with_organization().await;
    emulator.management().await.trail(spec).await;
    emulator.scan(options(&REGIONS)).await
}

/// A logging single-region trail in us-east-1 with `selectors`.
fn trail_with(selectors: Selectors) -> TrailSpec {
    TrailSpec {
        multi_region: false,
        selectors,
        ..TrailSpec::multi_region("main", "us-east-1")
    }
}

async fn us_east_1_row_for(selectors: Selectors) -> Finding {
    let outcome = scan_one_trail(trail_with(selectors)).await;
    single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK).clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn default_selectors_pass() {
    // The emulator returns no selectors for a trail where none were put.
    let finding = us_east_1_row_for(Selectors::Untouched).await;
    assert_finding(
        &finding,
        Status::Pass,
        &[
            ":trail/main (home region us-east-1) is logging to S3 bucket ",
            "captures KMS write management events (default event selectors)",
        ],
    );
    assert!(finding.resource_id.ends_with(":trail/main"), "{finding:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn classic_selector_excluding_kms_source_fails() {
    let finding = us_east_1_row_for(Selectors::Classic(
        true,
        ReadWriteType::All,
        vec!["kms.amazonaws.com"],
    ))
    .await;
    assert_finding(
        &finding,
        Status::Fail,
        &[":trail/main excludes kms.amazonaws.com management events"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn classic_read_only_selector_fails() {
    let finding =
        us_east_1_row_for(Selectors::Classic(true, ReadWriteType::ReadOnly, vec![])).await;
    assert_finding(
        &finding,
        Status::Fail,
        &[":trail/main records read-only management events only"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn classic_write_only_selector_passes() {
    let finding =
        us_east_1_row_for(Selectors::Classic(true, ReadWriteType::WriteOnly, vec![])).await;
    assert_finding(
        &finding,
        Status::Pass,
        &["captures KMS write management events"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn classic_selector_without_management_events_fails() {
    let finding = us_east_1_row_for(Selectors::Classic(false, ReadWriteType::All, vec![])).await;
    assert_finding(
        &finding,
        Status::Fail,
        &[":trail/main excludes management events"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn advanced_read_only_management_selector_fails() {
    let finding = us_east_1_row_for(Selectors::Advanced(vec![
        ("eventCategory", vec!["Management"]),
        ("readOnly", vec!["true"]),
    ]))
    .await;
    assert_finding(
        &finding,
        Status::Fail,
        &[":trail/main has advanced selectors that do not keep KMS write management events"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn advanced_management_selector_passes() {
    let finding = us_east_1_row_for(Selectors::Advanced(vec![(
        "eventCategory",
        vec!["Management"],
    )]))
    .await;
    assert_finding(
        &finding,
        Status::Pass,
        &["captures KMS write management events"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_not_logging_fails() {
    let mut spec = trail_with(Selectors::Untouched);
    spec.logging = false;
    let outcome = scan_one_trail(spec).await;
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK),
        Status::Fail,
        &[":trail/main is not logging"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_region_trail_covers_other_regions() {
    let outcome = scan_one_trail(TrailSpec::multi_region("main", "us-east-1")).await;
    for region in REGIONS {
        let finding = single(&outcome.findings, MANAGEMENT_ACCOUNT, region, CHECK);
        assert_finding(
            finding,
            Status::Pass,
            &[
                "multi-region trail arn:aws:cloudtrail:us-east-1:",
                ":trail/main (home region us-east-1) is logging to S3",
            ],
        );
        assert!(
            finding.resource_id.contains(":us-east-1:") && finding.resource_id.ends_with("/main"),
            "{finding:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn single_region_trail_does_not_cover_other_regions() {
    let outcome = scan_one_trail(trail_with(Selectors::Untouched)).await;
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK),
        Status::Pass,
        &[":trail/main (home region us-east-1) is logging"],
    );
    let eu = single(&outcome.findings, MANAGEMENT_ACCOUNT, "eu-west-1", CHECK);
    assert_finding(eu, Status::Fail, &["no trail covers this region"]);
    assert_eq!(eu.resource_id, "", "{eu:#?}");
}

/// The management account's organisation trail, and a member without trails.
async fn org_with_organization_trail(emulator: &Emulator) -> String {
    emulator.create_organization().await;
    let member = emulator.create_account("member").await;
    let mut spec = TrailSpec::multi_region("org-trail", "us-east-1");
    spec.organization = true;
    emulator.management().await.trail(spec).await;
    member.id
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_trail_covers_members() {
    let emulator = Emulator::start().await;
    let member = org_with_organization_trail(&emulator).await;
    let outcome = emulator.scan(options(&REGIONS)).await;
    for region in REGIONS {
        let finding = single(&outcome.findings, &member, region, CHECK);
        assert_finding(
            finding,
            Status::Pass,
            &["organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail (home region us-east-1) is logging to S3"],
        );
        assert!(
            finding
                .resource_id
                .contains(&format!(":{MANAGEMENT_ACCOUNT}:trail/org-trail")),
            "{finding:#?}"
        );
        assert_finding(
            single(&outcome.findings, MANAGEMENT_ACCOUNT, region, CHECK),
            Status::Pass,
            &["organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_trail_covers_members_when_management_is_excluded() {
    let emulator = Emulator::start().await;
    let member = org_with_organization_trail(&emulator).await;
    let mut opts = options(&REGIONS);
    opts.exclude_accounts
        .insert(MANAGEMENT_ACCOUNT.parse().expect("account id"));
    let outcome = emulator.scan(opts).await;
    assert!(
        outcome
            .findings
            .iter()
            .all(|f| f.account_id != MANAGEMENT_ACCOUNT),
        "the excluded management account has rows: {:#?}",
        outcome.findings
    );
    for region in REGIONS {
        assert_finding(
            single(&outcome.findings, &member, region, CHECK),
            Status::Pass,
            &["organisation trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail (home region us-east-1) is logging to S3"],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_describe_trails_is_an_error() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    // A trail that would pass, were it visible.
    member
        .trail(TrailSpec::multi_region("member-trail", "us-east-1"))
        .await;
    emulator.front.deny(&member.id, "DescribeTrails");
    let outcome = emulator.scan(options(&REGIONS)).await;
    for region in REGIONS {
        assert_finding(
            single(&outcome.findings, &member.id, region, CHECK),
            Status::Error,
            &["cloudtrail:DescribeTrails", "AccessDenied"],
        );
        // The account's other checks still ran.
        assert_finding(
            single(
                &outcome.findings,
                &member.id,
                region,
                "config.kms_key_recording",
            ),
            Status::Fail,
            &["no configuration recorder"],
        );
        assert!(
            !findings_for(&outcome.findings, &member.id, region, "kms.key_state").is_empty(),
            "no kms.key_state rows for {region}: {:#?}",
            outcome.findings
        );
    }
    // The denial is the member's alone.
    assert_finding(
        single(&outcome.findings, MANAGEMENT_ACCOUNT, "us-east-1", CHECK),
        Status::Fail,
        &["no trail covers this region"],
    );
}

/// The management account's multi-region trail `main`, with `api` denied:
/// every region's row is an ERROR naming the trail and the call.
async fn assert_denied_trail_call_is_an_error(api: &str) {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .trail(TrailSpec::multi_region("main", "us-east-1"))
        .await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, api);
    let outcome = emulator.scan(options(&REGIONS)).await;
    for region in REGIONS {
        assert_finding(
            single(&outcome.findings, MANAGEMENT_ACCOUNT, region, CHECK),
            Status::Error,
            &[&format!(":trail/main: cloudtrail:{api}"), "AccessDenied"],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_get_trail_status_is_an_error() {
    assert_denied_trail_call_is_an_error("GetTrailStatus").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_get_event_selectors_is_an_error() {
    assert_denied_trail_call_is_an_error("GetEventSelectors").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_details_are_fetched_once_per_trail_not_per_region() {
    let emulator = Emulator::with_organization().await;
    emulator
        .management()
        .await
        .trail(TrailSpec::multi_region("main", "us-east-1"))
        .await;
    let regions = ["us-east-1", "eu-west-1", "us-west-2"];
    let mut opts = options(&regions);
    opts.include_accounts
        .insert(MANAGEMENT_ACCOUNT.parse().expect("account id"));
    let outcome = emulator.scan(opts).await;
    for region in regions {
        assert_finding(
            single(&outcome.findings, MANAGEMENT_ACCOUNT, region, CHECK),
            Status::Pass,
            &["multi-region trail arn:aws:cloudtrail:us-east-1:123456789012:trail/main"],
        );
    }
    let calls = |api: &str| outcome.summary.api_calls.get(api).copied().unwrap_or(0);
    // Listed in every region (the trail and its shadows)…
    assert_eq!(
        calls("cloudtrail:DescribeTrails"),
        3,
        "{:#?}",
        outcome.summary.api_calls
    );
    // …but described once, in its home region.
    assert_eq!(
        calls("cloudtrail:GetTrailStatus"),
        1,
        "{:#?}",
        outcome.summary.api_calls
    );
    assert_eq!(
        calls("cloudtrail:GetEventSelectors"),
        1,
        "{:#?}",
        outcome.summary.api_calls
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn member_is_error_when_management_trails_cannot_be_listed() {
    let emulator = Emulator::start().await;
    let member = org_with_organization_trail(&emulator).await;
    // The management account is scanned, but its trails cannot be listed:
    // whether the organisation trail covers the member is unknown.
    emulator.front.deny(MANAGEMENT_ACCOUNT, "DescribeTrails");
    let outcome = emulator.scan(options(&REGIONS)).await;
    for region in REGIONS {
        let management = single(&outcome.findings, MANAGEMENT_ACCOUNT, region, CHECK);
        assert_finding(management, Status::Error, &["cloudtrail:DescribeTrails"]);
        assert_finding(
            single(&outcome.findings, &member, region, CHECK),
            Status::Error,
            &["cloudtrail:DescribeTrails", "AccessDenied"],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn member_is_error_when_excluded_management_trails_cannot_be_listed() {
    let emulator = Emulator::start().await;
    let member = org_with_organization_trail(&emulator).await;
    emulator.front.deny(MANAGEMENT_ACCOUNT, "DescribeTrails");
    let mut opts = options(&REGIONS);
    opts.exclude_accounts
        .insert(MANAGEMENT_ACCOUNT.parse().expect("account id"));
    let outcome = emulator.scan(opts).await;
    for region in REGIONS {
        assert_finding(
            single(&outcome.findings, &member, region, CHECK),
            Status::Error,
            &[
                "organisation trails of the management account",
                "cloudtrail:DescribeTrails",
                "AccessDenied",
            ],
        );
    }
}
