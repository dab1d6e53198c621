//! What a scan does when parts of the organisation cannot be read, and
//! which accounts and regions it scans at all: access errors per account,
//! throttling, paging, inactive accounts, account filters, opt-in regions
//! and `--regions all`.

use std::collections::BTreeSet;

use crate::support::TestScan;
use cmkscan::Finding;
use cmkscan::RegionSelection;
use cmkscan::{CheckId, Status};

use crate::support::seed::{KeyState, Recording, TrailSpec};
use crate::support::{assert_finding, options, single, Emulator, MANAGEMENT_ACCOUNT};

const ACCESS: &str = "scan.account_access";

fn rows_of<'a>(findings: &'a [Finding], account: &str) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| f.account_id == account)
        .collect()
}

fn accounts_in(findings: &[Finding]) -> BTreeSet<String> {
    findings.iter().map(|f| f.account_id.clone()).collect()
}

fn regions_of(findings: &[Finding], account: &str) -> BTreeSet<String> {
    rows_of(findings, account)
        .iter()
        .map(|f| f.region.clone())
        .collect()
}

/// An account scanned normally: regional rows, no access error.
fn assert_scanned(outcome: &TestScan, account: &str, regions: &[&str]) {
    let rows = rows_of(&outcome.findings, account);
    assert!(
        rows.iter().all(|f| f.check != CheckId::AccountAccess),
        "{account} has an access error: {rows:#?}"
    );
    let expected: BTreeSet<String> = regions.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        regions_of(&outcome.findings, account),
        expected,
        "{rows:#?}"
    );
    let facts = outcome
        .facts
        .accounts
        .iter()
        .find(|a| a.id == account)
        .unwrap_or_else(|| panic!("{account} not in the facts"));
    assert!(facts.access.is_ok(), "{:?}", facts.access);
}

/// An account whose only row is one `scan.account_access` ERROR, region
/// `global`, whose detail contains every needle.
fn assert_access_error(outcome: &TestScan, account: &str, needles: &[&str]) {
    let rows = rows_of(&outcome.findings, account);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = rows[0];
    assert_eq!(row.check.as_str(), ACCESS);
    assert_eq!(row.status, Status::Error);
    assert_eq!(row.region, "global");
    for needle in needles {
        assert!(row.detail.contains(needle), "{needle:?} not in {row:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn assume_role_denied_is_one_access_error_and_the_rest_is_scanned() {
    let emulator = Emulator::with_organization().await;
    let open = emulator.create_account("open").await;
    let locked = emulator.create_account("locked").await;
    emulator.front.deny(&locked.id, "AssumeRole");

    let outcome = emulator.scan(options(&["us-east-1", "eu-west-1"])).await;
    assert_access_error(&outcome, &locked.id, &["sts:AssumeRole", "AccessDenied"]);
    let locked_row = rows_of(&outcome.findings, &locked.id)[0];
    assert_eq!(locked_row.account_name, "locked");
    assert_scanned(&outcome, &open.id, &["us-east-1", "eu-west-1"]);
    assert_scanned(&outcome, MANAGEMENT_ACCOUNT, &["us-east-1", "eu-west-1"]);
    assert_eq!(outcome.summary.accounts_errored(), 1);
    assert_eq!(outcome.summary.accounts_scanned, 2);
    assert_eq!(
        outcome.summary.by_check[&CheckId::AccountAccess].get(Status::Error),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_regions_failure_in_a_member_is_an_access_error_for_it_only() {
    let emulator = Emulator::with_organization().await;
    let open = emulator.create_account("open").await;
    let broken = emulator.create_account("broken").await;
    // The member's own DescribeRegions, after the role was assumed.
    emulator.front.deny(&broken.id, "DescribeRegions");

    let outcome = emulator.scan(options(&["us-east-1"])).await;
    assert_access_error(
        &outcome,
        &broken.id,
        &["ec2:DescribeRegions", "UnauthorizedOperation"],
    );
    assert_scanned(&outcome, &open.id, &["us-east-1"]);
    assert_scanned(&outcome, MANAGEMENT_ACCOUNT, &["us-east-1"]);
    assert_eq!(outcome.summary.accounts_errored(), 1);
    assert_eq!(outcome.summary.accounts_scanned, 2);
    let facts = outcome
        .facts
        .accounts
        .iter()
        .find(|a| a.id == broken.id)
        .expect("broken account in the facts");
    assert!(facts.regions.is_empty() && facts.trails.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn suspended_accounts_are_skipped_not_scanned() {
    let emulator = Emulator::with_organization().await;
    let active = emulator.create_account("active").await;
    let closed = emulator.create_account("closed").await;
    emulator.close_account(&closed.id).await;
    // Any attempt to get into the closed account would show as an error.
    emulator.front.deny(&closed.id, "AssumeRole");

    let outcome = emulator.scan(options(&["us-east-1"])).await;
    assert!(
        rows_of(&outcome.findings, &closed.id).is_empty(),
        "{:#?}",
        rows_of(&outcome.findings, &closed.id)
    );
    assert!(outcome.facts.accounts.iter().all(|a| a.id != closed.id));
    let skipped = &outcome.summary.accounts_skipped;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].id, closed.id);
    assert_eq!(skipped[0].name, "closed");
    assert_eq!(skipped[0].status, "SUSPENDED");
    assert_scanned(&outcome, &active.id, &["us-east-1"]);
    assert_eq!(outcome.summary.accounts_scanned, 2);
    assert_eq!(outcome.summary.accounts_errored(), 0);
    assert!(outcome.summary.render().contains("1 not active"));
}

#[tokio::test(flavor = "multi_thread")]
async fn include_and_exclude_filters_choose_the_accounts() {
    let emulator = Emulator::with_organization().await;
    let a = emulator.create_account("alpha").await;
    let b = emulator.create_account("bravo").await;
    // An organisation trail in the management account covers the members
    // even when the management account itself is filtered out.
    let mut org_trail = TrailSpec::multi_region("org-trail", "us-east-1");
    org_trail.organization = true;
    emulator.management().await.trail(org_trail).await;

    let set = |ids: &[&str]| -> BTreeSet<String> { ids.iter().map(|s| s.to_string()).collect() };
    let parse = |ids: &[&str]| ids.iter().map(|s| s.parse().unwrap()).collect();

    let mut only_a = options(&["us-east-1"]);
    only_a.include_accounts = parse(&[&a.id]);
    let outcome = emulator.scan(only_a).await;
    assert_eq!(accounts_in(&outcome.findings), set(&[&a.id]));
    assert_scanned(&outcome, &a.id, &["us-east-1"]);
    assert_eq!(outcome.summary.accounts_scanned, 1);
    let org_trails = outcome
        .facts
        .organization_trails
        .as_ref()
        .expect("organisation trails fetched without scanning the management account");
    assert_eq!(org_trails.len(), 1, "{org_trails:?}");
    assert_eq!(org_trails[0].described.name, "org-trail");

    let mut not_a = options(&["us-east-1"]);
    not_a.exclude_accounts = parse(&[&a.id]);
    let outcome = emulator.scan(not_a).await;
    assert_eq!(
        accounts_in(&outcome.findings),
        set(&[MANAGEMENT_ACCOUNT, &b.id])
    );
    assert_eq!(outcome.summary.accounts_scanned, 2);

    // Exclusion wins over inclusion.
    let mut both = options(&["us-east-1"]);
    both.include_accounts = parse(&[&a.id, &b.id]);
    both.exclude_accounts = parse(&[&b.id]);
    let outcome = emulator.scan(both).await;
    assert_eq!(accounts_in(&outcome.findings), set(&[&a.id]));

    // Including an id that is not in the organisation is a usage error
    // naming it, before any account is scanned (an empty report would pass
    // for a clean one).
    let mut stranger = options(&["us-east-1"]);
    stranger.include_accounts = parse(&["999999999999", &a.id]);
    emulator.front.clear_log();
    let mut facts = cmkscan::CollectedFacts::default();
    let refused = cmkscan::run_scan(emulator.runner_config().await, stranger, &mut facts).await;
    match refused {
        Err(err @ cmkscan::ScanError::UnknownAccounts(_)) => {
            assert!(err.is_usage());
            assert_eq!(
                err.to_string(),
                "--accounts names account(s) not in this organization: 999999999999"
            );
        }
        Err(err) => panic!("{err}"),
        Ok(_) => panic!("a scan of an account outside the organisation"),
    }
    assert_eq!(emulator.front.requests("AssumeRole"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn listed_opt_in_regions_not_enabled_are_skipped_per_account() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    // A key in the region that must not be looked at.
    member
        .key("ap-east-1", Some("alias/hidden"), KeyState::Disabled)
        .await;

    let outcome = emulator.scan(options(&["us-east-1", "ap-east-1"])).await;
    assert!(
        outcome.findings.iter().all(|f| f.region != "ap-east-1"),
        "{:#?}",
        outcome
            .findings
            .iter()
            .filter(|f| f.region == "ap-east-1")
            .collect::<Vec<_>>()
    );
    for account in [MANAGEMENT_ACCOUNT, member.id.as_str()] {
        assert_scanned(&outcome, account, &["us-east-1"]);
        assert_eq!(
            outcome.summary.regions_skipped.get(account),
            Some(&vec!["ap-east-1".to_string()]),
            "{:?}",
            outcome.summary.regions_skipped
        );
    }
    assert_eq!(outcome.summary.regions_skipped.len(), 2);
    // Both accounts skipped the same region: one grouped line.
    let rendered = outcome.summary.render();
    assert!(
        rendered.contains("regions not enabled in 2 accounts (skipped): ap-east-1\n"),
        "{rendered}"
    );
}

/// moto's regions that need no opt-in: what `--regions all` scans.
pub(crate) const MOTO_ENABLED_REGIONS: [&str; 20] = [
    "af-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

#[tokio::test(flavor = "multi_thread")]
async fn all_regions_means_every_enabled_region_of_the_partition() {
    let emulator = Emulator::with_organization().await;
    let mut all = options(&[]);
    all.regions = RegionSelection::All;
    let outcome = emulator.scan(all).await;

    let scanned = regions_of(&outcome.findings, MANAGEMENT_ACCOUNT);
    let enabled: BTreeSet<String> = MOTO_ENABLED_REGIONS.iter().map(|r| r.to_string()).collect();
    for region in ["us-east-1", "eu-west-1", "sa-east-1", "us-west-2"] {
        assert!(
            scanned.contains(region),
            "{region} not scanned: {scanned:?}"
        );
    }
    for region in [
        "ap-east-1",
        "me-south-1",
        "cn-north-1",
        "cn-northwest-1",
        "us-gov-west-1",
        "us-gov-east-1",
    ] {
        assert!(!scanned.contains(region), "{region} scanned: {scanned:?}");
    }
    assert!(
        scanned
            .iter()
            .all(|r| !r.starts_with("cn-") && !r.starts_with("us-gov-")),
        "{scanned:?}"
    );
    assert_eq!(scanned, enabled);
    // Regions not enabled are never reported as enabled-and-skipped ones.
    if let Some(skipped) = outcome.summary.regions_skipped.get(MANAGEMENT_ACCOUNT) {
        for region in skipped {
            assert!(!enabled.contains(region), "{region} skipped: {skipped:?}");
            assert!(
                !region.starts_with("cn-") && !region.starts_with("us-gov-"),
                "{skipped:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_first_account_page_with_a_token_is_followed() {
    let emulator = Emulator::with_organization().await;
    let member = emulator.create_account("member").await;
    emulator
        .front
        .empty_first_page("ListAccountsForParent", "Accounts");

    let outcome = emulator.scan(options(&["us-east-1"])).await;
    assert_eq!(
        accounts_in(&outcome.findings),
        [MANAGEMENT_ACCOUNT.to_string(), member.id.clone()].into(),
    );
    assert_eq!(
        // Both accounts are directly under the root: one parent, whose
        // first page is the empty one.
        outcome
            .summary
            .api_calls
            .get("organizations:ListAccountsForParent"),
        Some(&2),
        "{:?}",
        outcome.summary.api_calls
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_and_the_verdict_stands() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    management
        .recorder("us-east-1", Recording::AllSupported, true, true)
        .await;
    // Two throttled answers, then moto's: within the three attempts the
    // test configuration allows.
    emulator.front.throttle(
        MANAGEMENT_ACCOUNT,
        "DescribeConfigurationRecorders",
        Some(2),
    );

    let outcome = emulator.scan(options(&["us-east-1"])).await;
    assert_finding(
        single(
            &outcome.findings,
            MANAGEMENT_ACCOUNT,
            "us-east-1",
            "config.kms_key_recording",
        ),
        Status::Pass,
        &["recorder default is recording AWS::KMS::Key"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_past_retries_is_an_error_never_a_pass() {
    let emulator = Emulator::with_organization().await;
    let management = emulator.management().await;
    management
        .recorder("us-east-1", Recording::AllSupported, true, true)
        .await;
    emulator
        .front
        .throttle(MANAGEMENT_ACCOUNT, "DescribeConfigurationRecorders", None);

    let outcome = emulator.scan(options(&["us-east-1"])).await;
    assert_finding(
        single(
            &outcome.findings,
            MANAGEMENT_ACCOUNT,
            "us-east-1",
            "config.kms_key_recording",
        ),
        Status::Error,
        &[
            "config:DescribeConfigurationRecorders",
            "ThrottlingException",
        ],
    );
    // The other checks of the region are still decided.
    assert_eq!(
        single(
            &outcome.findings,
            MANAGEMENT_ACCOUNT,
            "us-east-1",
            "kms.recent_disable_delete_events"
        )
        .status,
        Status::Pass
    );
}
