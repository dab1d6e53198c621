//! The customer-managed keys of a region, their state and aliases.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};

use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, QuotaScope};
use crate::facts::{Fetched, KeyFacts, KmsFacts, UndescribedKey};

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
