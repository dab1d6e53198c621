//! The SNS link: a topic with a confirmed subscriber delivers what a
//! CloudWatch alarm or an EventBridge rule publishes only if the publisher
//! may use the key that encrypts the topic, may publish to it (EventBridge:
//! the topic policy), and a subscription's filter policy lets the message
//! through.

use super::policy::{self, Caller, Decision, Request};
use super::sns_filter::{self, Passes};
use super::Walk;
use crate::checks::kms_events::Subject;
use crate::facts::{TopicFacts, TopicKeyFacts};

/// Who publishes to the topic.
pub enum Publisher<'a> {
    /// A CloudWatch alarm of `account`.
    Alarm {
        arn: Option<&'a str>,
        account: &'a str,
    },
    /// An EventBridge rule of `account` delivering the events of `subject`
    /// (as they are, or transformed: `input`).
    Rule {
        arn: Option<&'a str>,
        account: &'a str,
        subject: Subject<'a>,
        input: Option<&'a str>,
    },
}

impl Publisher<'_> {
    fn service(&self) -> &'static str {
        match self {
            Publisher::Alarm { .. } => "cloudwatch.amazonaws.com",
            Publisher::Rule { .. } => "events.amazonaws.com",
        }
    }

    fn who(&self) -> &'static str {
        match self {
            Publisher::Alarm { .. } => "CloudWatch alarms",
            Publisher::Rule { .. } => "EventBridge",
        }
    }

    fn source(&self) -> (Option<&str>, &str) {
        match self {
            Publisher::Alarm { arn, account, .. } | Publisher::Rule { arn, account, .. } => {
                (*arn, account)
            }
        }
    }
}

/// Whether the topic `arn`, which has a confirmed subscriber, delivers
/// what `publisher` sends it to one; the walk notes why not.
pub fn delivers(
    arn: &str,
    facts: Option<&TopicFacts>,
    publisher: &Publisher<'_>,
    walk: &mut Walk,
) -> bool {
    let Some(facts) = facts else {
        walk.undecidable.push(format!(
            "SNS topic {arn}: its encryption, access policy and subscriptions' filter policies were not collected (evidence from an earlier cmkscan)"
        ));
        return false;
    };
    let attributes = match &facts.attributes {
        Ok(attributes) => attributes,
        Err(err) => {
            walk.unknown
                .push(format!("attributes of SNS topic {arn}: {err}"));
            return false;
        }
    };
    if let Some(key) = &facts.key {
        if !key_usable(arn, key, publisher, walk) {
            return false;
        }
    }
    if let Publisher::Rule { .. } = publisher {
        if !events_may_publish(arn, attributes.policy.as_deref(), walk) {
            return false;
        }
    }
    subscription_takes_it(arn, facts, publisher, walk)
}

/// Whether the publishing service may use the topic's key. "The default
/// AWS KMS key policy for Amazon SNS doesn't allow CloudWatch alarms to
/// perform kms:Decrypt and kms:GenerateDataKey API calls"
/// (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns); a
/// customer managed key's policy must let the service principal use it
/// (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services,
/// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html#eb-no-messages-published-sns).
fn key_usable(
    topic: &str,
    key: &TopicKeyFacts,
    publisher: &Publisher<'_>,
    walk: &mut Walk,
) -> bool {
    let named = &key.named;
    let aws_managed = |walk: &mut Walk, which: &str| {
        walk.gaps.push(format!(
            "SNS topic {topic} is encrypted with the AWS managed key {which}, which {} cannot use (its policy cannot be changed to let {} use it)",
            publisher.who(),
            publisher.service()
        ));
        false
    };
    let described = match &key.described {
        None => return aws_managed(walk, named),
        Some(Err(err)) => {
            walk.unknown
                .push(format!("key {named} of SNS topic {topic}: {err}"));
            return false;
        }
        Some(Ok(described)) => described,
    };
    if described.manager.as_deref() == Some("AWS") {
        return aws_managed(walk, &format!("{named} ({})", described.arn));
    }
    let policy = match &key.policy {
        None => {
            walk.undecidable.push(format!(
                "SNS topic {topic} is encrypted with the key {}, in another account: its policy is not read",
                described.arn
            ));
            return false;
        }
        Some(Err(err)) => {
            walk.unknown.push(format!(
                "policy of key {} of SNS topic {topic}: {err}",
                described.arn
            ));
            return false;
        }
        Some(Ok(policy)) => policy,
    };
    let (source_arn, account) = publisher.source();
    let mut context = vec![("aws:SourceAccount", account)];
    if let Some(arn) = source_arn {
        context.push(("aws:SourceArn", arn));
    }
    let decision = policy::decide(
        policy,
        &Request {
            caller: Caller::Service(publisher.service()),
            actions: &["kms:Decrypt", "kms:GenerateDataKey"],
            resource: &described.arn,
            context: &context,
            absent: &[],
        },
    );
    let key = &described.arn;
    let service = publisher.service();
    match decision {
        Decision::Allowed(_) => return true,
        Decision::Denied { statement, action } => walk.gaps.push(format!(
            "the policy of key {key}, which encrypts SNS topic {topic}, denies {service} {action} (statement {statement})"
        )),
        Decision::NotAllowed(action) => walk.gaps.push(format!(
            "the policy of key {key}, which encrypts SNS topic {topic}, does not let {service} use it ({action})"
        )),
        Decision::Undecidable { statement, why } => walk.undecidable.push(format!(
            "whether the policy of key {key}, which encrypts SNS topic {topic}, lets {service} use it depends on statement {statement}: {why}"
        )),
        Decision::Unreadable(why) => walk.undecidable.push(format!(
            "the policy of key {key}, which encrypts SNS topic {topic}, cannot be read: {why}"
        )),
    }
    false
}

/// Whether the topic policy lets EventBridge publish: "Your Amazon SNS
/// topic's resource-based policy must allow EventBridge" to `sns:Publish`,
/// and "You can't use Condition blocks in Amazon SNS topic policies for
/// EventBridge"
/// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions):
/// EventBridge gives SNS no condition context, so a condition on its
/// source (as in SNS's default statement, `AWS:SourceOwner`) never holds.
fn events_may_publish(topic: &str, policy: Option<&str>, walk: &mut Walk) -> bool {
    let Some(policy) = policy else {
        walk.gaps.push(format!(
            "SNS topic {topic} has no access policy letting events.amazonaws.com publish to it"
        ));
        return false;
    };
    let decision = policy::decide(
        policy,
        &Request {
            caller: Caller::Service("events.amazonaws.com"),
            actions: &["sns:Publish"],
            resource: topic,
            context: &[],
            absent: &[
                "aws:SourceOwner",
                "aws:SourceAccount",
                "aws:SourceArn",
                "aws:PrincipalOrgID",
                "aws:PrincipalAccount",
            ],
        },
    );
    match decision {
        Decision::Allowed(_) => return true,
        Decision::Denied { statement, .. } => walk.gaps.push(format!(
            "the access policy of SNS topic {topic} denies events.amazonaws.com sns:Publish (statement {statement})"
        )),
        Decision::NotAllowed(_) => walk.gaps.push(format!(
            "the access policy of SNS topic {topic} does not let events.amazonaws.com publish to it (an Allow of sns:Publish to that service principal, without a Condition, is needed)"
        )),
        Decision::Undecidable { statement, why } => walk.undecidable.push(format!(
            "whether the access policy of SNS topic {topic} lets events.amazonaws.com publish depends on statement {statement}: {why}"
        )),
        Decision::Unreadable(why) => walk.undecidable.push(format!(
            "the access policy of SNS topic {topic} cannot be read: {why}"
        )),
    }
    false
}

/// Whether a confirmed subscription's filter policy lets the message
/// through (one without a filter policy takes every message).
fn subscription_takes_it(
    topic: &str,
    facts: &TopicFacts,
    publisher: &Publisher<'_>,
    walk: &mut Walk,
) -> bool {
    let mut dropped = Vec::new();
    let mut in_doubt = false;
    for subscription in &facts.subscriptions {
        let policy = match &subscription.filter_policy {
            Ok(None) => return true,
            Ok(Some(policy)) => policy,
            Err(err) => {
                walk.unknown.push(format!(
                    "filter policy of subscription {}: {err}",
                    subscription.arn
                ));
                in_doubt = true;
                continue;
            }
        };
        let scope = policy.scope.as_deref().unwrap_or("MessageAttributes");
        let passes = match (scope, publisher) {
            ("MessageAttributes", Publisher::Rule { .. }) => {
                sns_filter::takes_message_without_attributes(&policy.policy)
            }
            ("MessageAttributes", Publisher::Alarm { .. }) => {
                match sns_filter::takes_message_without_attributes(&policy.policy) {
                    // Alarm notifications carry no attributes unless the
                    // alarm propagates its tags, a setting the pinned SDK
                    // cannot read.
                    Passes::No(_) => Passes::Undecidable(
                        "its filter policy (scope MessageAttributes) needs message attributes, which a CloudWatch alarm's notification carries only if the alarm propagates its tags (AlarmTagsPropagation), which cmkscan cannot read".into(),
                    ),
                    other => other,
                }
            }
            (
                "MessageBody",
                Publisher::Rule {
                    subject,
                    input: None,
                    ..
                },
            ) => sns_filter::takes_event_body(&policy.policy, *subject),
            ("MessageBody", Publisher::Rule { input: Some(input), .. }) => Passes::Undecidable(format!(
                "its filter policy (scope MessageBody) is matched against the target's {input}, which cmkscan does not evaluate"
            )),
            ("MessageBody", Publisher::Alarm { .. }) => Passes::Undecidable(
                "its filter policy (scope MessageBody) is matched against the alarm's notification, which cmkscan does not evaluate".into(),
            ),
            (other, _) => Passes::Undecidable(format!(
                "its filter policy has the scope {other}, which cmkscan does not know"
            )),
        };
        match passes {
            Passes::Yes => return true,
            Passes::No(why) => dropped.push(format!("{} ({why})", subscription.arn)),
            Passes::Undecidable(why) => {
                in_doubt = true;
                walk.undecidable.push(format!(
                    "subscription {} of SNS topic {topic}: {why}",
                    subscription.arn
                ));
            }
        }
    }
    if facts.subscriptions.is_empty() {
        walk.undecidable.push(format!(
            "SNS topic {topic}: its confirmed subscriptions were not read"
        ));
    } else if facts.unread_subscriptions {
        walk.undecidable.push(format!(
            "SNS topic {topic}: the {} confirmed subscription(s) read drop the message{}, and its other confirmed subscriptions were not read",
            facts.subscriptions.len(),
            if dropped.is_empty() { String::new() } else { format!(": {}", dropped.join("; ")) }
        ));
    } else if !dropped.is_empty() && !in_doubt {
        walk.gaps.push(format!(
            "every confirmed subscription of SNS topic {topic} drops what {} send: {}",
            publisher.who(),
            dropped.join("; ")
        ));
    } else if !dropped.is_empty() {
        walk.gaps.push(format!(
            "subscriptions of SNS topic {topic} drop what {} send: {}",
            publisher.who(),
            dropped.join("; ")
        ));
    }
    false
}
