//! The customer-managed keys of a region, their state and aliases; and the
//! key that encrypts an SNS topic of the alerting chain, with its policy.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};

use crate::aws::api::Api;
use crate::aws::arn::Arn;
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, QuotaScope};
use crate::facts::{DescribedTopicKey, Fetched, KeyFacts, KmsFacts, TopicKeyFacts, UndescribedKey};

/// DescribeKey calls in flight per region; the rate limiter sets the pace,
/// this only bounds memory for regions with thousands of keys.
const DESCRIBE_CONCURRENCY: usize = 8;

pub async fn kms_facts(session: &AccountSession, region: &str) -> Fetched<KmsFacts> {
    let client = session.kms(region);
    let scope = session.scope(region);
    // Aliases only matter for keys: most regions of most accounts have
    // none, and skipping ListAliases there saves a request per region.
    let keys = list_keys(session, &client, &scope).await?;
    if keys.is_empty() {
        return Ok(KmsFacts::default());
    }
    let aliases = list_aliases(session, &client, &scope).await?;

    // AWS reserves the alias/aws/ prefix for AWS managed keys, so those keys
    // need no DescribeKey to be left out.
    let aws_managed: BTreeSet<&str> = aliases
        .iter()
        .filter(|(name, _)| name.starts_with("alias/aws/"))
        .map(|(_, key)| key.as_str())
        .collect();
    let mut names_by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, key) in &aliases {
        names_by_key
            .entry(key.as_str())
            .or_default()
            .push(name.clone());
    }
    let (to_describe, behind_aws_aliases): (Vec<ListedKey>, Vec<ListedKey>) = keys
        .into_iter()
        .partition(|k| !aws_managed.contains(k.id.as_str()));
    let mut aws_managed_keys = behind_aws_aliases.len();

    // Keys are owned by the calls, which are made as slots free up: a
    // region with thousands of keys never holds thousands of calls.
    let described: Vec<Described> = stream::iter(to_describe)
        .map(|key| {
            let aliases = names_by_key
                .get(key.id.as_str())
                .cloned()
                .unwrap_or_default();
            describe_key(session, &client, &scope, key, aliases)
        })
        .buffered(DESCRIBE_CONCURRENCY)
        .collect()
        .await;
    let mut facts = KmsFacts::default();
    for key in described {
        match key {
            Described::Customer(key) => facts.customer_keys.push(key),
            Described::AwsManaged => aws_managed_keys += 1,
            Described::Failed(key) => facts.undescribed_keys.push(key),
        }
    }
    facts.aws_managed_keys = u32::try_from(aws_managed_keys).unwrap_or(u32::MAX);
    Ok(facts)
}

/// One key's DescribeKey.
async fn describe_key(
    session: &AccountSession,
    client: &aws_sdk_kms::Client,
    scope: &QuotaScope,
    key: ListedKey,
    aliases: Vec<String>,
) -> Described {
    let key_id = &key.id;
    let out = session
        .throttle
        .call(Api::KmsDescribeKey, scope, || {
            client.describe_key().key_id(key_id).send()
        })
        .await;
    // One key whose policy denies DescribeKey must not hide the
    // state of every other key in the region.
    let out = match out {
        Ok(out) => out,
        Err(error) => {
            return Described::Failed(UndescribedKey {
                key_arn: key.arn.clone(),
                aliases,
                error,
            })
        }
    };
    // A success without metadata or key manager is a malformed
    // answer, not an AWS managed key: the key's state is unknown.
    let malformed = |what: &str| {
        Described::Failed(UndescribedKey {
            key_arn: key.arn.clone(),
            aliases: aliases.clone(),
            error: CallError::new(
                Api::KmsDescribeKey,
                "MalformedResponse",
                format!("DescribeKey returned no {what}"),
            ),
        })
    };
    let Some(meta) = out.key_metadata() else {
        return malformed("key metadata");
    };
    match meta.key_manager().map(|m| m.as_str()) {
        Some("CUSTOMER") => {}
        Some(_) => return Described::AwsManaged,
        None => return malformed("key manager"),
    }
    Described::Customer(KeyFacts {
        arn: meta.arn().unwrap_or(&key.arn).to_string(),
        state: meta
            .key_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Unknown".into()),
        deletion_date: meta
            .deletion_date()
            .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
        aliases,
    })
}

/// The AWS managed key for SNS, by alias: "the alias of the AWS managed
/// key for Amazon SNS is always alias/aws/sns"
/// (https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html).
pub const SNS_MANAGED_ALIAS: &str = "alias/aws/sns";

/// Whether a topic's `KmsMasterKeyId` names the AWS managed key for SNS by
/// its alias (name or ARN).
pub fn names_sns_managed_key(named: &str) -> bool {
    named == SNS_MANAGED_ALIAS
        || Arn::parse(named)
            .is_ok_and(|arn| arn.service == "kms" && arn.resource == SNS_MANAGED_ALIAS)
}

/// The key a topic in `region` names (`KmsMasterKeyId`: an alias, alias
/// ARN, key id or key ARN): `DescribeKey` resolves it and says who manages
/// it, and `GetKeyPolicy` reads the policy of a customer managed key in the
/// session's own account. `GetKeyPolicy` takes a key id or ARN, not an
/// alias, and does not work across accounts
/// (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html).
pub async fn topic_key(session: &AccountSession, region: &str, named: &str) -> TopicKeyFacts {
    let mut facts = TopicKeyFacts {
        named: named.to_string(),
        described: None,
        policy: None,
    };
    // The AWS managed key's policy cannot let CloudWatch or EventBridge use
    // it whatever it says: recognised by name, nothing to ask.
    if names_sns_managed_key(named) {
        return facts;
    }
    let client = session.kms(region);
    let scope = session.scope(region);
    let described = session
        .throttle
        .call(Api::KmsDescribeKey, &scope, || {
            client.describe_key().key_id(named).send()
        })
        .await
        .and_then(|out| {
            let meta = out.key_metadata().ok_or_else(|| {
                CallError::new(
                    Api::KmsDescribeKey,
                    "MalformedResponse",
                    "DescribeKey returned no key metadata",
                )
            })?;
            Ok(DescribedTopicKey {
                arn: meta.arn().unwrap_or(named).to_string(),
                manager: meta.key_manager().map(|m| m.as_str().to_string()),
            })
        });
    if let Ok(key) = &described {
        let own = Arn::parse(&key.arn)
            .ok()
            .and_then(|arn| arn.account())
            .is_some_and(|account| account == session.account_id);
        if own && key.manager.as_deref() == Some("CUSTOMER") {
            // moto refuses GetKeyPolicy without a policy name; AWS's default
            // is the same name.
            facts.policy = Some(
                session
                    .throttle
                    .call(Api::KmsGetKeyPolicy, &scope, || {
                        client
                            .get_key_policy()
                            .key_id(&key.arn)
                            .policy_name("default")
                            .send()
                    })
                    .await
                    .map(|out| out.policy().unwrap_or_default().to_string()),
            );
        }
    }
    facts.described = Some(described);
    facts
}

enum Described {
    Customer(KeyFacts),
    AwsManaged,
    Failed(UndescribedKey),
}

struct ListedKey {
    id: String,
    arn: String,
}

async fn list_keys(
    session: &AccountSession,
    client: &aws_sdk_kms::Client,
    scope: &QuotaScope,
) -> Fetched<Vec<ListedKey>> {
    session
        .throttle
        .all_pages(
            Api::KmsListKeys,
            scope.clone(),
            |marker| client.list_keys().set_marker(marker).send(),
            // KMS pages by marker, and says whether there is more.
            |page| page.next_marker().filter(|_| page.truncated()),
            |page| {
                page.keys()
                    .iter()
                    .filter_map(|k| {
                        let id = k.key_id()?.to_string();
                        // ListKeys always gives both; keep the id if the ARN is missing.
                        let arn = k.key_arn().map_or_else(|| id.clone(), str::to_string);
                        Some(ListedKey { id, arn })
                    })
                    .collect()
            },
        )
        .await
}

/// (alias name, target key id) pairs; aliases without a target are dropped.
async fn list_aliases(
    session: &AccountSession,
    client: &aws_sdk_kms::Client,
    scope: &QuotaScope,
) -> Fetched<Vec<(String, String)>> {
    session
        .throttle
        .all_pages(
            Api::KmsListAliases,
            scope.clone(),
            |marker| client.list_aliases().set_marker(marker).send(),
            |page| page.next_marker().filter(|_| page.truncated()),
            |page| {
                page.aliases()
                    .iter()
                    .filter_map(|a| {
                        Some((a.alias_name()?.to_string(), a.target_key_id()?.to_string()))
                    })
                    .collect()
            },
        )
        .await
}
