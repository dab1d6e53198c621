//! EventBridge rules on a region's default event bus: CloudTrail delivers
//! "AWS API Call via CloudTrail" events only there.

use futures::future::join_all;

use super::session::AccountSession;
use crate::api::Api;
use crate::checks::kms_events::{self, Subject};
use crate::facts::{Fetched, RuleFacts};

pub async fn rules(session: &AccountSession, region: &str) -> Fetched<Vec<RuleFacts>> {
    let client = session.events(region);
    let scope = session.scope(region);
    let mut rules = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = session
            .throttle
            .call(Api::EventsListRules, &scope, || {
                client.list_rules().set_next_token(token.clone()).send()
            })
            .await?;
        rules.extend(page.rules().iter().map(|rule| {
            RuleFacts {
                name: rule.name().unwrap_or_default().to_string(),
                state: rule
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                event_pattern: rule.event_pattern().map(str::to_string),
                targets: None,
            }
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    // Targets are fetched only where they can change the verdict.
    Ok(join_all(rules.into_iter().map(|mut rule| {
        let client = &client;
        let scope = &scope;
        async move {
            let subject = Subject {
                account: &session.account_id,
                region,
            };
            let candidate = rule
                .event_pattern
                .as_deref()
                .is_some_and(|p| kms_events::rule_may_catch(p, subject));
            if candidate {
                rule.targets = Some(count_targets(session, client, scope, &rule.name).await);
            }
            rule
        }
    }))
    .await)
}

/// Targets of a rule, across pages (a rule holds at most five, so this is
/// nearly always one request).
async fn count_targets(
    session: &AccountSession,
    client: &aws_sdk_eventbridge::Client,
    scope: &crate::throttle::QuotaScope,
    rule: &str,
) -> Fetched<u32> {
    let mut count = 0usize;
    let mut token: Option<String> = None;
    loop {
        let page = session
            .throttle
            .call(Api::EventsListTargetsByRule, scope, || {
                client
                    .list_targets_by_rule()
                    .rule(rule)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        count += page.targets().len();
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(u32::try_from(count).unwrap_or(u32::MAX));
        }
    }
}
