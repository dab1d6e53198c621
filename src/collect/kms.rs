//! The customer-managed keys of a region, their state and aliases.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt, TryStreamExt};

use super::session::AccountSession;
use crate::api::Api;
use crate::facts::{Fetched, KeyFacts, KmsFacts};

/// DescribeKey calls in flight per region; the rate limiter sets the pace,
/// this only bounds memory for regions with thousands of keys.
const DESCRIBE_CONCURRENCY: usize = 8;

pub async fn kms_facts(session: &AccountSession, region: &str) -> Fetched<KmsFacts> {
    let client = session.kms(region);
    let scope = session.scope(region);
    let (key_ids, aliases) = futures::join!(
        list_keys(session, &client, region),
        list_aliases(session, &client, region)
    );
    let (key_ids, aliases) = (key_ids?, aliases?);

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
    let to_describe: Vec<&String> = key_ids
        .iter()
        .filter(|k| !aws_managed.contains(k.as_str()))
        .collect();
    let mut skipped = key_ids.len() - to_describe.len();

    let described: Vec<Option<KeyFacts>> = stream::iter(to_describe)
        .map(|key_id| {
            let client = &client;
            let scope = &scope;
            let names_by_key = &names_by_key;
            async move {
                let out = session
                    .throttle
                    .call(Api::KmsDescribeKey, scope, || {
                        client.describe_key().key_id(key_id).send()
                    })
                    .await?;
                let Some(meta) = out.key_metadata() else {
                    return Ok(None);
                };
                if meta.key_manager().map(|m| m.as_str()) != Some("CUSTOMER") {
                    return Ok(None);
                }
                Ok(Some(KeyFacts {
                    arn: meta.arn().unwrap_or(key_id).to_string(),
                    state: meta
                        .key_state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "Unknown".into()),
                    deletion_date: meta
                        .deletion_date()
                        .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
                    aliases: names_by_key
                        .get(key_id.as_str())
                        .cloned()
                        .unwrap_or_default(),
                }))
            }
        })
        .buffered(DESCRIBE_CONCURRENCY)
        .try_collect()
        .await?;
    skipped += described.iter().filter(|k| k.is_none()).count();
    Ok(KmsFacts {
        customer_keys: described.into_iter().flatten().collect(),
        aws_managed_keys: u32::try_from(skipped).unwrap_or(u32::MAX),
    })
}

async fn list_keys(
    session: &AccountSession,
    client: &aws_sdk_kms::Client,
    region: &str,
) -> Fetched<Vec<String>> {
    let mut keys = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = session
            .throttle
            .call(Api::KmsListKeys, &session.scope(region), || {
                client.list_keys().set_marker(marker.clone()).send()
            })
            .await?;
        keys.extend(
            page.keys()
                .iter()
                .filter_map(|k| k.key_id().map(str::to_string)),
        );
        marker = page.next_marker().map(str::to_string);
        if !page.truncated() || marker.is_none() {
            return Ok(keys);
        }
    }
}

/// (alias name, target key id) pairs; aliases without a target are dropped.
async fn list_aliases(
    session: &AccountSession,
    client: &aws_sdk_kms::Client,
    region: &str,
) -> Fetched<Vec<(String, String)>> {
    let mut aliases = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = session
            .throttle
            .call(Api::KmsListAliases, &session.scope(region), || {
                client.list_aliases().set_marker(marker.clone()).send()
            })
            .await?;
        aliases.extend(
            page.aliases().iter().filter_map(|a| {
                Some((a.alias_name()?.to_string(), a.target_key_id()?.to_string()))
            }),
        );
        marker = page.next_marker().map(str::to_string);
        if !page.truncated() || marker.is_none() {
            return Ok(aliases);
        }
    }
}
