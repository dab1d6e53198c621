//! What a step does to the facts, for `--check`: the state the scan would
//! have found had the step been run. Each effect is written by the
//! planner that writes the step's scripts, from the same values.

use crate::facts::{DeliveryChannelFacts, RecorderFacts, RuleFacts, ScanFacts, TrailFacts};

/// One change to the facts.
#[derive(Debug, Clone)]
pub enum Effect {
    /// The region's recorders and delivery channels become these.
    Config {
        account: String,
        region: String,
        recorders: Vec<RecorderFacts>,
        channels: Vec<DeliveryChannelFacts>,
    },
    /// A rule is added to the region's default event bus.
    Rule {
        account: String,
        region: String,
        rule: RuleFacts,
    },
    /// The management account's organisation trail becomes this one (or
    /// is added): in the scan-wide organisation trails and among the
    /// management account's own.
    OrgTrail { trail: Box<TrailFacts> },
    /// A key's deletion is cancelled: KMS leaves it `Disabled`.
    KeyDeletionCancelled {
        account: String,
        region: String,
        key_arn: String,
    },
}

impl Effect {
    pub fn apply(&self, facts: &mut ScanFacts) {
        match self {
            Effect::Config {
                account,
                region,
                recorders,
                channels,
            } => {
                if let Some(Ok(config)) = region_of(facts, account, region).map(|r| &mut r.config) {
                    config.recorders = recorders.clone();
                    config.delivery_channels = channels.iter().map(|c| c.name.clone()).collect();
                    config.channels = Some(channels.clone());
                }
            }
            Effect::Rule {
                account,
                region,
                rule,
            } => {
                if let Some(Ok(rules)) = region_of(facts, account, region).map(|r| &mut r.rules) {
                    rules.push(rule.clone());
                }
            }
            Effect::OrgTrail { trail } => {
                let trail = trail.as_ref();
                if let Ok(trails) = &mut facts.organization_trails {
                    replace_or_add(trails, trail);
                }
                let management = facts.management_account_id.clone();
                if let Some(account) = facts.accounts.iter_mut().find(|a| a.id == management) {
                    replace_or_add(&mut account.trails, trail);
                }
            }
            Effect::KeyDeletionCancelled {
                account,
                region,
                key_arn,
            } => {
                if let Some(Ok(kms)) = region_of(facts, account, region).map(|r| &mut r.keys) {
                    for key in kms.customer_keys.iter_mut().filter(|k| &k.arn == key_arn) {
                        key.state = "Disabled".into();
                        key.deletion_date = None;
                    }
                }
            }
        }
    }
}

fn region_of<'a>(
    facts: &'a mut ScanFacts,
    account: &str,
    region: &str,
) -> Option<&'a mut crate::facts::RegionFacts> {
    facts
        .accounts
        .iter_mut()
        .find(|a| a.id == account)?
        .regions
        .iter_mut()
        .find(|r| r.region == region)
}

fn replace_or_add(trails: &mut Vec<TrailFacts>, trail: &TrailFacts) {
    match trails
        .iter_mut()
        .find(|t| t.described.arn == trail.described.arn)
    {
        Some(existing) => *existing = trail.clone(),
        None => trails.push(trail.clone()),
    }
}
