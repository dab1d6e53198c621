//! SNS topics named by alarm actions and EventBridge targets: whether a
//! subscriber has confirmed, and, for a topic that has one, what delivery to
//! it depends on: the key that encrypts the topic, the topic's access
//! policy and the subscriptions' filter policies.
//!
//! Each topic is asked about in its own region, which only its ARN tells,
//! with the credentials of the account whose alarm or rule names it.

use std::pin::pin;

use futures::TryStreamExt;

use super::kms;
use crate::aws::api::Api;
use crate::aws::arn::Arn;
use crate::aws::session::AccountSession;
use crate::aws::throttle::CallError;
use crate::facts::{
    FilterPolicyFacts, SubscriptionFacts, TopicAttributes, TopicFacts, SUBSCRIPTIONS_READ,
};

/// What an alarm action or a rule target learns of its SNS topic: the
/// confirmed subscriptions (counted until the first is found), and what
/// delivery depends on when there is one.
#[derive(Debug, Clone)]
pub struct Topic {
    pub confirmed_subscriptions: Result<u32, CallError>,
    pub facts: Option<TopicFacts>,
}

/// Reads the topic `arn`. The delivery facts are read only for a topic with
/// a confirmed subscriber: without one the chain fails anyway.
pub async fn topic(session: &AccountSession, arn: &Arn<'_>) -> Topic {
    let confirmed = match confirmed_subscriptions(session, arn).await {
        Ok(confirmed) => confirmed,
        Err(err) => {
            return Topic {
                confirmed_subscriptions: Err(err),
                facts: None,
            }
        }
    };
    let count = u32::try_from(confirmed.subscriptions.len()).unwrap_or(u32::MAX);
    let facts = if count > 0 {
        Some(delivery(session, arn, confirmed).await)
    } else {
        None
    };
    Topic {
        confirmed_subscriptions: Ok(count),
        facts,
    }
}

/// The confirmed subscriptions of the first page that has any: (ARN,
/// protocol) of each, and whether SNS has more pages.
struct Confirmed {
    subscriptions: Vec<(String, String)>,
    more: bool,
}

/// Confirmed subscriptions, listing until the first page that has one:
/// that is all the count needs, and big topics have many pages.
async fn confirmed_subscriptions(
    session: &AccountSession,
    topic: &Arn<'_>,
) -> Result<Confirmed, CallError> {
    let Some(region) = topic.region() else {
        return Err(CallError::new(
            Api::SnsListSubscriptionsByTopic,
            "InvalidTopicArn",
            format!("no region in the SNS topic ARN {topic}"),
        ));
    };
    let client = session.sns(region);
    let topic_arn = topic.to_string();
    let mut pages = pin!(session.throttle.pages(
        Api::SnsListSubscriptionsByTopic,
        session.scope(region),
        |token| {
            client
                .list_subscriptions_by_topic()
                .topic_arn(&topic_arn)
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
    ));
    while let Some(page) = pages.try_next().await? {
        // Unconfirmed subscriptions carry the placeholder "PendingConfirmation"
        // instead of an ARN and deliver nothing.
        let subscriptions: Vec<(String, String)> = page
            .subscriptions()
            .iter()
            .filter_map(|s| {
                let arn = s.subscription_arn().filter(|a| Arn::parse(a).is_ok())?;
                Some((
                    arn.to_string(),
                    s.protocol().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        if !subscriptions.is_empty() {
            return Ok(Confirmed {
                subscriptions,
                more: page.next_token().is_some_and(|t| !t.is_empty()),
            });
        }
    }
    Ok(Confirmed {
        subscriptions: Vec::new(),
        more: false,
    })
}

async fn delivery(session: &AccountSession, topic: &Arn<'_>, confirmed: Confirmed) -> TopicFacts {
    // `confirmed_subscriptions` found the region.
    let region = topic.region().unwrap_or_default();
    let attributes = topic_attributes(session, region, &topic.to_string()).await;
    let mut subscriptions = Vec::new();
    let listed = confirmed.subscriptions.len();
    for (arn, protocol) in confirmed.subscriptions.into_iter().take(SUBSCRIPTIONS_READ) {
        let filter_policy = filter_policy(session, region, &arn).await;
        let takes_all = matches!(filter_policy, Ok(None));
        subscriptions.push(SubscriptionFacts {
            arn,
            protocol,
            filter_policy,
        });
        if takes_all {
            break;
        }
    }
    let unread_subscriptions = confirmed.more || subscriptions.len() < listed;
    let key = match &attributes {
        Ok(TopicAttributes {
            kms_master_key_id: Some(named),
            ..
        }) => Some(kms::topic_key(session, region, named).await),
        _ => None,
    };
    TopicFacts {
        attributes,
        subscriptions,
        unread_subscriptions,
        key,
    }
}

async fn topic_attributes(
    session: &AccountSession,
    region: &str,
    topic_arn: &str,
) -> Result<TopicAttributes, CallError> {
    let client = session.sns(region);
    let out = session
        .throttle
        .call(Api::SnsGetTopicAttributes, &session.scope(region), || {
            client.get_topic_attributes().topic_arn(topic_arn).send()
        })
        .await?;
    let attribute = |name: &str| {
        out.attributes()
            .and_then(|a| a.get(name))
            .filter(|v| !v.trim().is_empty())
            .cloned()
    };
    Ok(TopicAttributes {
        kms_master_key_id: attribute("KmsMasterKeyId"),
        policy: attribute("Policy"),
    })
}

async fn filter_policy(
    session: &AccountSession,
    region: &str,
    subscription_arn: &str,
) -> Result<Option<FilterPolicyFacts>, CallError> {
    let client = session.sns(region);
    let out = session
        .throttle
        .call(
            Api::SnsGetSubscriptionAttributes,
            &session.scope(region),
            || {
                client
                    .get_subscription_attributes()
                    .subscription_arn(subscription_arn)
                    .send()
            },
        )
        .await?;
    let attributes = out.attributes();
    let policy = attributes
        .and_then(|a| a.get("FilterPolicy"))
        .filter(|p| !p.trim().is_empty());
    Ok(policy.map(|policy| FilterPolicyFacts {
        policy: policy.clone(),
        scope: attributes
            .and_then(|a| a.get("FilterPolicyScope"))
            .filter(|s| !s.is_empty())
            .cloned(),
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_smithy_types::retry::RetryConfig;

    use super::*;
    use crate::aws::throttle::Throttle;

    #[tokio::test]
    async fn a_topic_without_a_region_is_an_error_and_no_request() {
        let session = AccountSession {
            account_id: "111122223333".into(),
            config: aws_types::SdkConfig::builder().build(),
            throttle: Arc::new(Throttle::new(RetryConfig::standard())),
            custom_endpoint: false,
        };
        let arn = Arn::parse("arn:aws-us-gov:sns::111122223333:alerts").expect("arn");
        let read = topic(&session, &arn).await;
        let err = read
            .confirmed_subscriptions
            .expect_err("no region to ask in");
        assert_eq!(
            (err.api.as_str(), err.code.as_str()),
            ("sns:ListSubscriptionsByTopic", "InvalidTopicArn")
        );
        assert!(read.facts.is_none());
        assert!(session.throttle.call_counts().is_empty());
    }
}
