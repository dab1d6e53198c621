//! EventBridge rules on a region's default event bus: CloudTrail delivers
//! "AWS API Call via CloudTrail" events only there.
//!
//! Which rules get their targets fetched is decided from the rule alone (see
//! [`TargetsFetch::of`]), not by asking the checks which rules match: the
//! evidence must hold the targets of every rule any evaluator version could
//! count, or re-evaluating it with a better one would find them missing.

use futures::future::join_all;
use futures::TryStreamExt;

use crate::aws::api::Api;
use crate::aws::session::AccountSession;
use crate::aws::throttle::QuotaScope;
use crate::facts::{Fetched, RuleFacts, TargetsFetch};

pub async fn rules(session: &AccountSession, region: &str) -> Fetched<Vec<RuleFacts>> {
    let client = session.events(region);
    let scope = session.scope(region);
    let rules = session
        .throttle
        .all_pages(
            Api::EventsListRules,
            scope.clone(),
            |token| client.list_rules().set_next_token(token).send(),
            |page| page.next_token(),
            |page| page.rules().iter().map(rule_facts).collect(),
        )
        .await?;
    Ok(join_all(rules.into_iter().map(|mut rule| {
        let (client, scope) = (&client, &scope);
        async move {
            if rule.targets_fetch == TargetsFetch::Fetched {
                rule.targets = Some(count_targets(session, client, scope, &rule.name).await);
            }
            rule
        }
    }))
    .await)
}

fn rule_facts(rule: &aws_sdk_eventbridge::types::Rule) -> RuleFacts {
    let state = rule
        .state()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let event_pattern = rule.event_pattern().map(str::to_string);
    RuleFacts {
        name: rule.name().unwrap_or_default().to_string(),
        targets_fetch: TargetsFetch::of(&state, event_pattern.as_deref()),
        state,
        event_pattern,
        // Filled in by `rules` when `targets_fetch` says so.
        targets: None,
    }
}

/// Targets of a rule, across pages (a rule holds at most five, so this is
/// nearly always one request).
async fn count_targets(
    session: &AccountSession,
    client: &aws_sdk_eventbridge::Client,
    scope: &QuotaScope,
    rule: &str,
) -> Fetched<u32> {
    let count = session
        .throttle
        .pages(
            Api::EventsListTargetsByRule,
            scope.clone(),
            |token| {
                client
                    .list_targets_by_rule()
                    .rule(rule)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
        )
        .try_fold(0usize, |count, page| async move {
            Ok(count + page.targets().len())
        })
        .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}
