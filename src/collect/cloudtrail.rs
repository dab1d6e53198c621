//! Trails: which exist, whether they log, which events they select, and the
//! CloudWatch Logs → metric filter → alarm → SNS chain behind each.
//!
//! DescribeTrails in a region also lists shadow copies of multi-region trails
//! homed elsewhere. A trail's status and selectors are asked for once, in its
//! home region and by ARN: outside it, AWS answers for the shadow and the
//! emulator answers TrailNotFound.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::alarms::{log_group_chain, AlarmListings};
use crate::aws::api::Api;
use crate::aws::arn::Arn;
use crate::aws::session::AccountSession;
use crate::facts::{
    AdvancedFieldSelector, AdvancedSelector, ClassicSelector, DataResourceFacts, DescribedTrail,
    EventSelectors, Fetched, TrailFacts, TrailStatus,
};

/// A trail as listed in one region, before its details are fetched.
#[derive(Debug, Clone)]
pub struct ListedTrail {
    pub described: DescribedTrail,
    /// Whether `GetEventSelectors`' empty answer means none were set.
    pub has_custom_event_selectors: Option<bool>,
}

/// Trails visible from `region` (shadows included). Only trails owned by the
/// session's account are kept: an organisation trail shows up in members'
/// lists, but its facts come from the management account.
pub async fn list_trails(session: &AccountSession, region: &str) -> Fetched<Vec<ListedTrail>> {
    let client = session.cloudtrail(region);
    let out = session
        .throttle
        .call(
            Api::CloudTrailDescribeTrails,
            &session.scope(region),
            || client.describe_trails().include_shadow_trails(true).send(),
        )
        .await?;
    Ok(out
        .trail_list()
        .iter()
        .filter_map(|trail| {
            let arn = trail.trail_arn()?.to_string();
            let owner = Arn::parse(&arn).ok().and_then(|a| a.account());
            if owner != Some(session.account_id.as_str()) {
                return None;
            }
            Some(ListedTrail {
                described: DescribedTrail {
                    name: trail.name().unwrap_or_default().to_string(),
                    home_region: trail.home_region().unwrap_or(region).to_string(),
                    is_multi_region: trail.is_multi_region_trail().unwrap_or(false),
                    is_organization_trail: trail.is_organization_trail().unwrap_or(false),
                    s3_bucket: trail
                        .s3_bucket_name()
                        .filter(|b| !b.is_empty())
                        .map(str::to_string),
                    log_group_arn: trail
                        .cloud_watch_logs_log_group_arn()
                        .filter(|a| !a.is_empty())
                        .map(str::to_string),
                    arn,
                },
                has_custom_event_selectors: trail.has_custom_event_selectors(),
            })
        })
        .collect())
}

/// Details of every distinct trail, each fetched once in its home region.
pub async fn describe_trails(
    session: &AccountSession,
    listed: impl IntoIterator<Item = ListedTrail>,
) -> Vec<TrailFacts> {
    let unique: BTreeMap<String, ListedTrail> = listed
        .into_iter()
        .map(|t| (t.described.arn.clone(), t))
        .collect();
    // Trails whose log groups share a region share one alarm listing.
    let listings = AlarmListings::default();
    join_all(
        unique
            .into_values()
            .map(|trail| describe_trail(session, trail, &listings)),
    )
    .await
}

async fn describe_trail(
    session: &AccountSession,
    trail: ListedTrail,
    listings: &AlarmListings,
) -> TrailFacts {
    let (status, selectors, metric_filters) = futures::join!(
        trail_status(session, &trail.described),
        event_selectors(session, &trail),
        async {
            match &trail.described.log_group_arn {
                Some(arn) => Some(log_group_chain(session, arn, listings).await),
                None => None,
            }
        }
    );
    TrailFacts {
        described: trail.described,
        status,
        selectors,
        metric_filters,
    }
}

async fn trail_status(session: &AccountSession, trail: &DescribedTrail) -> Fetched<TrailStatus> {
    let client = session.cloudtrail(&trail.home_region);
    let out = session
        .throttle
        .call(
            Api::CloudTrailGetTrailStatus,
            &session.scope(&trail.home_region),
            || client.get_trail_status().name(&trail.arn).send(),
        )
        .await?;
    // AWS may answer an empty string where there is no error.
    let error = |e: Option<&str>| e.filter(|e| !e.trim().is_empty()).map(str::to_string);
    Ok(TrailStatus {
        is_logging: out.is_logging().unwrap_or(false),
        s3_delivery_error: error(out.latest_delivery_error()),
        logs_delivery_error: error(out.latest_cloud_watch_logs_delivery_error()),
    })
}

async fn event_selectors(session: &AccountSession, trail: &ListedTrail) -> Fetched<EventSelectors> {
    let described = &trail.described;
    let client = session.cloudtrail(&described.home_region);
    let out = session
        .throttle
        .call(
            Api::CloudTrailGetEventSelectors,
            &session.scope(&described.home_region),
            || {
                client
                    .get_event_selectors()
                    .trail_name(&described.arn)
                    .send()
            },
        )
        .await?;
    let classic = out.event_selectors();
    let advanced = out.advanced_event_selectors();
    // A trail without custom selectors logs all management events. AWS
    // returns that default selector explicitly; the emulator returns nothing
    // (and always reports HasCustomEventSelectors false). Empty lists mean
    // "no selectors were ever set" unless the trail says it has custom ones.
    if classic.is_empty() && advanced.is_empty() {
        return Ok(if trail.has_custom_event_selectors == Some(true) {
            EventSelectors::Classic(Vec::new())
        } else {
            EventSelectors::Default
        });
    }
    if !advanced.is_empty() {
        return Ok(EventSelectors::Advanced(
            advanced
                .iter()
                .map(|selector| AdvancedSelector {
                    name: selector.name().map(str::to_string),
                    fields: selector
                        .field_selectors()
                        .iter()
                        .map(|f| AdvancedFieldSelector {
                            field: f.field().to_string(),
                            equals: f.equals().to_vec(),
                            not_equals: f.not_equals().to_vec(),
                            starts_with: f.starts_with().to_vec(),
                            not_starts_with: f.not_starts_with().to_vec(),
                            ends_with: f.ends_with().to_vec(),
                            not_ends_with: f.not_ends_with().to_vec(),
                        })
                        .collect(),
                })
                .collect(),
        ));
    }
    Ok(EventSelectors::Classic(
        classic
            .iter()
            .map(|s| ClassicSelector {
                // Both default to "on / All" when omitted, as in the API.
                include_management_events: s.include_management_events().unwrap_or(true),
                read_write_type: s
                    .read_write_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_else(|| "All".into()),
                exclude_management_event_sources: s.exclude_management_event_sources().to_vec(),
                data_resources: Some(
                    s.data_resources()
                        .iter()
                        .map(|d| DataResourceFacts {
                            resource_type: d.r#type().unwrap_or_default().to_string(),
                            values: d.values().to_vec(),
                        })
                        .collect(),
                ),
            })
            .collect(),
    ))
}
