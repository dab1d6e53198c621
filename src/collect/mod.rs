//! AWS I/O: one module per service, each returning plain fact structs from
//! [`crate::facts`]. Nothing here decides a verdict or asks `checks`: what
//! is fetched follows from the facts alone, so the evidence serves any
//! version of the checks.

mod alarms;
mod cloudtrail;
mod config_service;
mod eventbridge;
mod kms;
mod lookup_events;
mod mute_rules;
pub mod organizations;
mod query;
pub mod regions;
mod sns;

use std::time::SystemTime;

use futures::future::join_all;

use crate::aws::session::AccountSession;
use crate::facts::{Fetched, RegionFacts, TrailFacts};
use cloudtrail::ListedTrail;
pub use eventbridge::Buses;

/// Region facts plus the trails listed in each region, then the details of
/// every distinct trail, each fetched once. Event buses the account's rules
/// forward to are read through `buses`.
pub async fn collect_regions(
    session: &AccountSession,
    regions: &[String],
    lookback_days: u32,
    now: SystemTime,
    buses: &Buses,
) -> (Vec<RegionFacts>, Vec<TrailFacts>) {
    let per_region = join_all(
        regions
            .iter()
            .map(|region| collect_region(session, region, lookback_days, now, buses)),
    )
    .await;
    let mut listed = Vec::new();
    let mut facts = Vec::with_capacity(per_region.len());
    for (region_facts, trails) in per_region {
        if let Ok(trails) = trails {
            listed.extend(trails);
        }
        facts.push(region_facts);
    }
    let trails = cloudtrail::describe_trails(session, listed).await;
    (facts, trails)
}

async fn collect_region(
    session: &AccountSession,
    region: &str,
    lookback_days: u32,
    now: SystemTime,
    buses: &Buses,
) -> (RegionFacts, Fetched<Vec<ListedTrail>>) {
    let (trails, config, rules, keys, recent_events) = futures::join!(
        cloudtrail::list_trails(session, region),
        config_service::config_facts(session, region),
        eventbridge::rules(session, region, buses),
        kms::kms_facts(session, region),
        lookup_events::recent_key_events(session, region, lookback_days, now),
    );
    let facts = RegionFacts {
        region: region.to_string(),
        visible_trails: trails
            .as_ref()
            .map(|t| t.iter().map(|t| t.described.arn.clone()).collect())
            .map_err(Clone::clone),
        config,
        rules,
        keys,
        recent_events,
    };
    (facts, trails)
}

/// The trails of an account that is not scanned itself but whose
/// organisation trails cover the members that are (the management account
/// under `--exclude-accounts`).
pub async fn organization_trails(
    session: &AccountSession,
    regions: &[String],
) -> Fetched<Vec<TrailFacts>> {
    let listed = join_all(regions.iter().map(|r| cloudtrail::list_trails(session, r))).await;
    let mut org = Vec::new();
    for result in listed {
        org.extend(
            result?
                .into_iter()
                .filter(|t| t.described.is_organization_trail),
        );
    }
    Ok(cloudtrail::describe_trails(session, org).await)
}
