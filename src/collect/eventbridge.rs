//! EventBridge rules on a region's default event bus (CloudTrail delivers
//! "AWS API Call via CloudTrail" events only there), their targets, and
//! the event bus a target forwards to.
//!
//! Which rules get their targets fetched is decided from the rule alone (see
//! [`TargetsFetch::of`]), not by asking the checks which rules match: the
//! evidence must hold the targets of every rule any evaluator version could
//! count, or re-evaluating it with a better one would find them missing. So
//! are the targets' own reads: every SNS topic target is asked about (its
//! subscribers, and what delivery depends on when it has one) and every
//! event bus target is followed, read once per scan in its own account and
//! region (a central security bus receives from every member).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::join_all;
use tokio::sync::OnceCell;

use super::sns;
use crate::aws::access::{self, RoleRequest};
use crate::aws::api::Api;
use crate::aws::arn::Arn;
use crate::aws::session::AccountSession;
use crate::aws::throttle::{CallError, QuotaScope};
use crate::facts::{Fetched, FollowedBus, RuleFacts, TargetFacts, TargetsFetch};

/// The event buses rules forward to, each read once per scan, with the
/// credentials of its own account.
pub struct Buses {
    /// The runner's session (its account id known): it assumes the scan
    /// role into a bus's account.
    runner: AccountSession,
    role: RoleRequest,
    read: Mutex<HashMap<String, Arc<OnceCell<Fetched<FollowedBus>>>>>,
}

impl Buses {
    pub fn new(runner: AccountSession, role: RoleRequest) -> Self {
        Buses {
            runner,
            role,
            read: Mutex::new(HashMap::new()),
        }
    }

    /// The bus `arn` (`arn:…:events:<region>:<account>:event-bus/<name>`),
    /// as its account sees it; `from` is the session of the account whose
    /// rule forwards to it.
    async fn follow(&self, from: &AccountSession, arn: &Arn<'_>) -> Fetched<FollowedBus> {
        let cell = {
            let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(read.entry(arn.to_string()).or_default())
        };
        cell.get_or_init(|| self.read_bus(from, arn)).await.clone()
    }

    async fn read_bus(&self, from: &AccountSession, arn: &Arn<'_>) -> Fetched<FollowedBus> {
        let malformed = || {
            CallError::new(
                Api::EventsDescribeEventBus,
                "InvalidEventBusArn",
                format!("no account, region or bus name in the event bus ARN {arn}"),
            )
        };
        let account = arn.account().ok_or_else(malformed)?;
        let region = arn.region().ok_or_else(malformed)?;
        let name = arn
            .resource
            .strip_prefix("event-bus/")
            .filter(|n| !n.is_empty())
            .ok_or_else(malformed)?;
        let session = if account == from.account_id {
            from.clone()
        } else if account == self.runner.account_id {
            self.runner.clone()
        } else {
            access::assume_role(&self.runner, account, &self.role).await?
        };
        let client = session.events(region);
        let scope = session.scope(region);
        let policy = session
            .throttle
            .call(Api::EventsDescribeEventBus, &scope, || {
                client.describe_event_bus().name(name).send()
            })
            .await
            .map(|out| {
                out.policy()
                    .filter(|p| !p.trim().is_empty())
                    .map(str::to_string)
            });
        // A followed bus's own bus targets are not followed: EventBridge
        // forwards an event once.
        let rules = rules_on(&session, region, Some(name)).await;
        Ok(FollowedBus { policy, rules })
    }
}

/// The rules of the region's default bus, with their targets; event bus
/// targets are followed through `buses`.
pub async fn rules(
    session: &AccountSession,
    region: &str,
    buses: &Buses,
) -> Fetched<Vec<RuleFacts>> {
    let mut rules = rules_on(session, region, None).await?;
    for rule in &mut rules {
        for target in rule.target_details.iter_mut().flatten() {
            let Ok(arn) = Arn::parse(&target.arn) else {
                continue;
            };
            if arn.service == "events" && arn.resource.starts_with("event-bus/") {
                target.bus = Some(buses.follow(session, &arn).await);
            }
        }
    }
    Ok(rules)
}

/// The rules of a bus (`None`: the default one), with their targets and
/// what their SNS topic targets depend on.
async fn rules_on(
    session: &AccountSession,
    region: &str,
    bus: Option<&str>,
) -> Fetched<Vec<RuleFacts>> {
    let client = session.events(region);
    let scope = session.scope(region);
    let rules = session
        .throttle
        .all_pages(
            Api::EventsListRules,
            scope.clone(),
            |token| {
                client
                    .list_rules()
                    .set_event_bus_name(bus.map(str::to_string))
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
            |page| page.rules().iter().map(rule_facts).collect(),
        )
        .await?;
    let mut rules = join_all(rules.into_iter().map(|mut rule| {
        let (client, scope) = (&client, &scope);
        async move {
            if rule.targets_fetch == TargetsFetch::Fetched {
                match list_targets(session, client, scope, bus, &rule.name).await {
                    Ok(targets) => {
                        rule.targets = Some(Ok(u32::try_from(targets.len()).unwrap_or(u32::MAX)));
                        rule.target_details = Some(targets);
                    }
                    Err(err) => rule.targets = Some(Err(err)),
                }
            }
            rule
        }
    }))
    .await;
    // Rules often share a topic: each is asked about once.
    let mut topics: HashMap<String, sns::Topic> = HashMap::new();
    for rule in &mut rules {
        for target in rule.target_details.iter_mut().flatten() {
            let Some(arn) = Arn::parse(&target.arn).ok().filter(|a| a.service == "sns") else {
                continue;
            };
            if !topics.contains_key(&target.arn) {
                topics.insert(target.arn.clone(), sns::topic(session, &arn).await);
            }
            let read = &topics[&target.arn];
            target.confirmed_subscriptions = Some(read.confirmed_subscriptions.clone());
            target.topic = read.facts.clone();
        }
    }
    Ok(rules)
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
        arn: rule.arn().map(str::to_string),
        // Filled in by `rules_on` when `targets_fetch` says so.
        targets: None,
        target_details: None,
    }
}

/// Targets of a rule, across pages (a rule holds at most five, so this is
/// nearly always one request).
async fn list_targets(
    session: &AccountSession,
    client: &aws_sdk_eventbridge::Client,
    scope: &QuotaScope,
    bus: Option<&str>,
    rule: &str,
) -> Fetched<Vec<TargetFacts>> {
    session
        .throttle
        .all_pages(
            Api::EventsListTargetsByRule,
            scope.clone(),
            |token| {
                client
                    .list_targets_by_rule()
                    .rule(rule)
                    .set_event_bus_name(bus.map(str::to_string))
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
            |page| page.targets().iter().map(target_facts).collect(),
        )
        .await
}

fn target_facts(target: &aws_sdk_eventbridge::types::Target) -> TargetFacts {
    let input = if target.input().is_some() {
        Some("Input")
    } else if target.input_path().is_some() {
        Some("InputPath")
    } else if target.input_transformer().is_some() {
        Some("InputTransformer")
    } else {
        None
    };
    TargetFacts {
        id: target.id().to_string(),
        arn: target.arn().to_string(),
        role_arn: target.role_arn().map(str::to_string),
        input: input.map(str::to_string),
        // Filled in by `rules_on` for SNS and event bus targets.
        confirmed_subscriptions: None,
        topic: None,
        bus: None,
    }
}
