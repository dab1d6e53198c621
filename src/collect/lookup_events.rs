//! Recent DisableKey / ScheduleKeyDeletion calls from CloudTrail event
//! history. LookupEvents answers for the region it is called in only (even
//! when a multi-region trail exists) and allows 2 requests per second per
//! account and region, which the throttle enforces.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudtrail::types::{Event, LookupAttribute, LookupAttributeKey};
use aws_smithy_types::date_time::{DateTime, Format};

use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::facts::{Fetched, KeyEvent, WATCHED_EVENTS};

pub async fn recent_key_events(
    session: &AccountSession,
    region: &str,
    lookback_days: u32,
    now: SystemTime,
) -> Fetched<Vec<KeyEvent>> {
    let client = session.cloudtrail(region);
    let start = now
        .checked_sub(Duration::from_secs(u64::from(lookback_days) * 86_400))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut events = Vec::new();
    // One attribute per request is all LookupEvents accepts.
    for name in WATCHED_EVENTS {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(name)
            .build()
            .map_err(|err| {
                CallError::new(
                    Api::CloudTrailLookupEvents,
                    "ConstructionFailure",
                    err.to_string(),
                )
            })?;
        let found = session
            .throttle
            .all_pages(
                Api::CloudTrailLookupEvents,
                session.scope(region),
                |token| {
                    client
                        .lookup_events()
                        .lookup_attributes(attribute.clone())
                        .start_time(DateTime::from(start))
                        .end_time(DateTime::from(now))
                        .max_results(50)
                        .set_next_token(token)
                        .send()
                },
                |page| page.next_token(),
                |page| page.events().iter().map(key_event).collect(),
            )
            .await?;
        events.extend(found);
    }
    Ok(events)
}

fn key_event(event: &Event) -> KeyEvent {
    // The raw record carries what the summary fields leave out: the caller's
    // ARN, the source IP and the key the request named.
    let record: serde_json::Value = event
        .cloud_trail_event()
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or(serde_json::Value::Null);
    let text = |pointer: &str| {
        record
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let key_from_resources = event
        .resources()
        .iter()
        .find(|r| r.resource_type() == Some("AWS::KMS::Key"))
        .and_then(|r| r.resource_name())
        .map(str::to_string);
    KeyEvent {
        event_id: event.event_id().unwrap_or_default().to_string(),
        event_name: event.event_name().unwrap_or_default().to_string(),
        event_time: event
            .event_time()
            .and_then(|t| t.fmt(Format::DateTime).ok())
            .unwrap_or_default(),
        actor: text("/userIdentity/arn")
            .or_else(|| event.username().map(str::to_string))
            .unwrap_or_else(|| "unknown".into()),
        key: key_from_resources
            .or_else(|| text("/requestParameters/keyId"))
            .unwrap_or_else(|| "unknown".into()),
        source_ip: text("/sourceIPAddress").unwrap_or_else(|| "unknown".into()),
    }
}
