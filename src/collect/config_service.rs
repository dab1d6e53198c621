//! AWS Config recorders, their status and the delivery channels of a region.

use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::facts::{ConfigFacts, Fetched, RecorderFacts};

pub async fn config_facts(session: &AccountSession, region: &str) -> Fetched<ConfigFacts> {
    let client = session.config_service(region);
    let scope = session.scope(region);
    let throttle = &session.throttle;
    // These three calls are not paginated: a region holds at most one
    // customer recorder (plus service-linked ones) and one delivery channel.
    let (recorders, statuses, channels) = futures::join!(
        throttle.call(Api::ConfigDescribeConfigurationRecorders, &scope, || {
            client.describe_configuration_recorders().send()
        }),
        throttle.call(
            Api::ConfigDescribeConfigurationRecorderStatus,
            &scope,
            || { client.describe_configuration_recorder_status().send() }
        ),
        throttle.call(Api::ConfigDescribeDeliveryChannels, &scope, || {
            client.describe_delivery_channels().send()
        }),
    );
    let (recorders, statuses, channels) = (recorders?, statuses?, channels?);
    Ok(ConfigFacts {
        recorders: recorders
            .configuration_recorders()
            .iter()
            .map(|recorder| {
                let name = recorder.name().unwrap_or_default().to_string();
                let status = statuses
                    .configuration_recorders_status()
                    .iter()
                    .find(|s| s.name() == Some(name.as_str()));
                let group = recorder.recording_group();
                RecorderFacts {
                    all_supported: group.is_some_and(|g| g.all_supported()),
                    strategy: group
                        .and_then(|g| g.recording_strategy())
                        .and_then(|s| s.use_only())
                        .map(|s| s.as_str().to_string()),
                    resource_types: group
                        .map(|g| {
                            g.resource_types()
                                .iter()
                                .map(|t| t.as_str().to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    excluded_resource_types: group
                        .and_then(|g| g.exclusion_by_resource_types())
                        .map(|e| {
                            e.resource_types()
                                .iter()
                                .map(|t| t.as_str().to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    recording: status.is_some_and(|s| s.recording()),
                    last_status: status
                        .and_then(|s| s.last_status())
                        .map(|s| s.as_str().to_string()),
                    name,
                }
            })
            .collect(),
        delivery_channels: channels
            .delivery_channels()
            .iter()
            .map(|c| c.name().unwrap_or_default().to_string())
            .collect(),
    })
}
