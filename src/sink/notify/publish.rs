//! Sending the message: one paced, retried `sns:Publish` to the topic, in
//! the topic's region.

use aws_sdk_sns::types::MessageAttributeValue;

use super::Notice;
use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::ids::TopicArn;

/// Publishes `notice` to `topic` (in the topic's region) and returns the
/// message id.
pub async fn publish(
    session: &AccountSession,
    topic: &TopicArn,
    scan_id: &str,
    notice: &Notice,
) -> Result<String, CallError> {
    let client = session.sns(topic.region());
    let mut attributes = std::collections::HashMap::new();
    for (name, data_type, value) in &notice.attributes {
        let value = MessageAttributeValue::builder()
            .data_type(*data_type)
            .string_value(value)
            .build()
            .map_err(|err| {
                CallError::new(Api::SnsPublish, "ConstructionFailure", err.to_string())
            })?;
        attributes.insert(name.to_string(), value);
    }
    let published = session
        .throttle
        .call(Api::SnsPublish, &session.scope(topic.region()), || {
            let request = client
                .publish()
                .topic_arn(topic.as_str())
                .subject(&notice.subject)
                .message(&notice.message)
                .set_message_attributes(Some(attributes.clone()));
            // A FIFO topic takes ordered, deduplicated messages: one group,
            // and the scan id, so a retried publish is delivered once.
            if topic.is_fifo() {
                request
                    .message_group_id("cmkscan")
                    .message_deduplication_id(scan_id)
                    .send()
            } else {
                request.send()
            }
        })
        .await?;
    Ok(published.message_id().unwrap_or_default().to_string())
}
