//! Every listing the scan makes is read to its last page. moto answers
//! these listings in one page; the front splits them into pages of one item
//! (`Front::split_pages`), and the scan must come out the same.
//!
//! `ListAccountsForParent` (tests/integration/failures.rs) and `LookupEvents`
//! (tests/integration/checks_keys.rs) are paged in their own tests.
//! `ListAlarmMuteRules`, which the front serves one rule a page, is paged in
//! `checks_alerting_links.rs`. The other Query (XML) listings,
//! `DescribeAlarms` and `ListSubscriptionsByTopic`, follow `NextToken`
//! through the same `Throttle::pages` as these; moto answers them in one
//! page and the front splits only JSON listings.

use aws_sdk_eventbridge::types::Target;

use crate::support::front::Listing;
use crate::support::seed::{KeyState, TrailSpec, CIS_RULE};
use crate::support::{options, org, MANAGEMENT_ACCOUNT, REGION};

const LISTINGS: [(&str, Listing); 7] = [
    (
        "ListKeys",
        Listing {
            items: "Keys",
            token_in: "Marker",
            token_out: "NextMarker",
            truncated: Some("Truncated"),
        },
    ),
    (
        "ListAliases",
        Listing {
            items: "Aliases",
            token_in: "Marker",
            token_out: "NextMarker",
            truncated: Some("Truncated"),
        },
    ),
    (
        "ListRules",
        Listing {
            items: "Rules",
            token_in: "NextToken",
            token_out: "NextToken",
            truncated: None,
        },
    ),
    (
        "ListTargetsByRule",
        Listing {
            items: "Targets",
            token_in: "NextToken",
            token_out: "NextToken",
            truncated: None,
        },
    ),
    (
        "ListAccountsForParent",
        Listing {
            items: "Accounts",
            token_in: "NextToken",
            token_out: "NextToken",
            truncated: None,
        },
    ),
    (
        "ListOrganizationalUnitsForParent",
        Listing {
            items: "OrganizationalUnits",
            token_in: "NextToken",
            token_out: "NextToken",
            truncated: None,
        },
    ),
    (
        "DescribeMetricFilters",
        Listing {
            items: "metricFilters",
            token_in: "nextToken",
            token_out: "nextToken",
            truncated: None,
        },
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_listing_is_read_past_its_first_page() {
    let (emulator, m) = org().await;
    // Two accounts and two OUs under the root, for the tree walk's listings.
    let root = emulator.root_id().await;
    emulator.create_ou(&root, "first").await;
    emulator.create_ou(&root, "second").await;
    emulator.create_account("paged-member").await;
    // At least two of everything listed: keys and aliases, metric filters
    // on the trail's log group (the CIS one last), rules (the CIS one
    // last), and targets of the CIS rule.
    m.key(REGION, Some("alias/first"), KeyState::Enabled).await;
    m.key(REGION, Some("alias/second"), KeyState::Disabled)
        .await;
    let mut trail = TrailSpec::multi_region("paged-trail", REGION);
    trail.log_group = Some("paged-trail-logs");
    m.trail(trail).await;
    m.metric_filter(
        REGION,
        "paged-trail-logs",
        "unrelated",
        "{ $.eventName = CreateBucket }",
        "Unrelated",
    )
    .await;
    m.cis_alarm_chain(REGION, "paged-trail-logs").await;
    let topic = m.topic(REGION, "paged-alerts", true).await;
    m.rule(
        REGION,
        "unrelated",
        r#"{"source":["aws.s3"]}"#,
        true,
        Some(&topic),
    )
    .await;
    m.rule(REGION, "kms-disable-delete", CIS_RULE, true, Some(&topic))
        .await;
    aws_sdk_eventbridge::Client::new(&m.at(REGION))
        .put_targets()
        .rule("kms-disable-delete")
        .targets(
            Target::builder()
                .id("second")
                .arn(&topic)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put a second target");

    let whole = emulator.scan(options(&[REGION])).await;

    for (operation, listing) in LISTINGS {
        emulator.front.split_pages(operation, listing);
    }
    emulator.front.clear_log();
    let paged = emulator.scan(options(&[REGION])).await;

    assert_eq!(paged.findings, whole.findings);
    let log = emulator.front.log();
    for (operation, _) in LISTINGS {
        let later_pages = log
            .iter()
            .filter(|r| r.api == operation && r.caller == MANAGEMENT_ACCOUNT && r.later_page)
            .count();
        assert!(later_pages > 0, "{operation}: no page after the first");
    }
}
