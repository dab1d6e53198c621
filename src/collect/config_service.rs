//! AWS Config recorders, their status and the delivery channels of a region.

use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingMode};

use crate::facts::{
    ConfigFacts, DeliveryChannelFacts, Fetched, RecorderFacts, RecorderSettings,
    RecordingModeFacts, RecordingModeOverrideFacts,
};

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
                    settings: Some(settings(recorder)),
                    last_error: status.and_then(|s| {
                        let code = s.last_error_code().filter(|c| !c.is_empty());
                        let message = s.last_error_message().filter(|m| !m.is_empty());
                        match (code, message) {
                            (None, None) => None,
                            (code, message) => Some(format!(
                                "{}: {}",
                                code.unwrap_or("error"),
                                message.unwrap_or("no message")
                            )),
                        }
                    }),
                    name,
                }
            })
            .collect(),
        delivery_channels: channels
            .delivery_channels()
            .iter()
            .map(|c| c.name().unwrap_or_default().to_string())
            .collect(),
        channels: Some(channels.delivery_channels().iter().map(channel).collect()),
    })
}

/// What the evidence keeps of a recorder beyond what the checks read.
fn settings(recorder: &ConfigurationRecorder) -> RecorderSettings {
    RecorderSettings {
        role_arn: recorder.role_arn().map(str::to_string),
        include_global_resource_types: recorder
            .recording_group()
            .is_some_and(|g| g.include_global_resource_types()),
        recording_mode: recorder.recording_mode().map(recording_mode),
        service_principal: recorder.service_principal().map(str::to_string),
        recording_scope: recorder.recording_scope().map(|s| s.as_str().to_string()),
    }
}

fn recording_mode(mode: &RecordingMode) -> RecordingModeFacts {
    RecordingModeFacts {
        recording_frequency: mode.recording_frequency().as_str().to_string(),
        overrides: mode
            .recording_mode_overrides()
            .iter()
            .map(|o| RecordingModeOverrideFacts {
                description: o.description().map(str::to_string),
                resource_types: o
                    .resource_types()
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect(),
                recording_frequency: o.recording_frequency().as_str().to_string(),
            })
            .collect(),
    }
}

fn channel(channel: &DeliveryChannel) -> DeliveryChannelFacts {
    let text = |value: Option<&str>| value.map(str::to_string);
    DeliveryChannelFacts {
        name: channel.name().unwrap_or_default().to_string(),
        s3_bucket_name: text(channel.s3_bucket_name()),
        s3_key_prefix: text(channel.s3_key_prefix()),
        s3_kms_key_arn: text(channel.s3_kms_key_arn()),
        sns_topic_arn: text(channel.sns_topic_arn()),
        delivery_frequency: channel
            .config_snapshot_delivery_properties()
            .and_then(|p| p.delivery_frequency())
            .map(|f| f.as_str().to_string()),
    }
}
