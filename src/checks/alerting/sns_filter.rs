//! Whether an SNS subscription's filter policy lets a message through.
//!
//! - Scope `MessageAttributes` (SNS's default): the policy is matched
//!   against the message attributes, and "each property name in the filter
//!   policy [must match] a message attribute name"
//!   (https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html),
//!   except a key whose condition is `{"exists": false}`, which matches an
//!   absent attribute. EventBridge publishes no message attributes (a target
//!   has no parameter for them), nor does a CloudWatch alarm unless it
//!   propagates its tags (`AlarmTagsPropagation`, which the pinned SDK
//!   cannot read).
//! - Scope `MessageBody`: the policy is matched against the JSON message,
//!   with the syntax of EventBridge patterns; an EventBridge target that
//!   forwards the event as is sends the event itself, which
//!   [`kms_events::rule_coverage`] judges.

use serde_json::Value;

use crate::checks::kms_events::{self, PatternCoverage, Subject};

/// What a filter policy does with the messages in question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passes {
    Yes,
    /// It drops them; the text says why.
    No(String),
    Undecidable(String),
}

/// Whether a `MessageAttributes` policy takes a message without attributes.
pub fn takes_message_without_attributes(policy: &str) -> Passes {
    match serde_json::from_str::<Value>(policy) {
        Ok(Value::Object(keys)) if !keys.is_empty() => match object_takes_absence(&keys) {
            Some(true) => Passes::Yes,
            Some(false) => Passes::No(
                "its filter policy (scope MessageAttributes) needs message attributes, and none are published".into(),
            ),
            None => Passes::Undecidable(format!(
                "its filter policy {policy} is not understood"
            )),
        },
        _ => Passes::Undecidable(format!("its filter policy {policy} is not a JSON object")),
    }
}

/// Every key must take an absent attribute; `$or` takes it if one of its
/// alternatives does. `None` when the policy's shape is not understood.
fn object_takes_absence(keys: &serde_json::Map<String, Value>) -> Option<bool> {
    let mut all = true;
    for (key, value) in keys {
        let takes = if key == "$or" {
            let Value::Array(alternatives) = value else {
                return None;
            };
            let mut any = false;
            for alternative in alternatives {
                let Value::Object(keys) = alternative else {
                    return None;
                };
                any |= object_takes_absence(keys)?;
            }
            any
        } else {
            let Value::Array(conditions) = value else {
                // Attribute policies are flat: a nested object is a body
                // policy's shape.
                return None;
            };
            conditions.iter().any(|c| {
                c.as_object()
                    .is_some_and(|o| o.len() == 1 && o.get("exists") == Some(&Value::Bool(false)))
            })
        };
        all &= takes;
    }
    Some(all)
}

/// Whether a `MessageBody` policy takes the EventBridge event for both
/// watched events of `subject`, as the event reaches the topic unchanged.
pub fn takes_event_body(policy: &str, subject: Subject<'_>) -> Passes {
    match kms_events::rule_coverage(policy, subject) {
        PatternCoverage::Both { .. } => Passes::Yes,
        PatternCoverage::Misses(missed) => Passes::No(format!(
            "its filter policy (scope MessageBody) {policy} drops {}",
            missed.join(" and ")
        )),
        PatternCoverage::Undecidable(why) => Passes::Undecidable(format!(
            "its filter policy (scope MessageBody) {policy}: {why}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Subject<'static> = Subject {
        account: "111122223333",
        region: "us-east-1",
    };

    #[test]
    fn attribute_policies_need_attributes_unless_they_accept_absence() {
        assert!(matches!(
            takes_message_without_attributes(r#"{"severity":["high"]}"#),
            Passes::No(_)
        ));
        assert_eq!(
            takes_message_without_attributes(r#"{"severity":[{"exists":false}]}"#),
            Passes::Yes
        );
        assert_eq!(
            takes_message_without_attributes(
                r#"{"severity":["high",{"exists":false}],"team":[{"exists":false}]}"#
            ),
            Passes::Yes
        );
        assert!(matches!(
            takes_message_without_attributes(
                r#"{"severity":[{"exists":false}],"team":["security"]}"#
            ),
            Passes::No(_)
        ));
        assert_eq!(
            takes_message_without_attributes(
                r#"{"$or":[{"team":["security"]},{"team":[{"exists":false}]}]}"#
            ),
            Passes::Yes
        );
        assert!(matches!(
            takes_message_without_attributes(r#"{"severity":[{"anything-but":"low"}]}"#),
            Passes::No(_)
        ));
        assert!(matches!(
            takes_message_without_attributes(r#"{"detail":{"eventName":["DisableKey"]}}"#),
            Passes::Undecidable(_)
        ));
        assert!(matches!(
            takes_message_without_attributes("[1]"),
            Passes::Undecidable(_)
        ));
    }

    #[test]
    fn body_policies_are_judged_against_the_event() {
        assert_eq!(
            takes_event_body(
                r#"{"detail":{"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#,
                HERE
            ),
            Passes::Yes
        );
        assert!(matches!(
            takes_event_body(r#"{"detail":{"eventName":["DisableKey"]}}"#, HERE),
            Passes::No(why) if why.ends_with("drops ScheduleKeyDeletion")
        ));
        assert!(matches!(
            takes_event_body(r#"{"detail":{"eventName":[{"regex":"x"}]}}"#, HERE),
            Passes::Undecidable(_)
        ));
    }
}
