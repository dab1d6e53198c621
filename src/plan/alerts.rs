//! `alerting.kms_disable_delete`: one organisation-wide alert path instead
//! of one per account-region. A central stack in the hub account and
//! region (an event bus the organisation may put events on, a rule for
//! the two KMS calls, an SNS topic with an email subscription), and a
//! forwarder in each failing account-region: a rule on its default bus
//! sending the events to the central bus, with the role EventBridge needs
//! for an organisation-wide bus permission
//! (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html).
//!
//! Members get the forwarder from a service-managed StackSet aimed at
//! exactly the failing accounts (`AccountFilterType` `INTERSECTION` with the
//! organisation's root,
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html),
//! one operation per region; StackSets never deploy to the management
//! account, which gets plain stacks, as every account does with
//! `--forwarders stacks`. The hub's own account-region needs no forwarder:
//! the central stack watches its default bus too.

use std::collections::BTreeMap;

use super::effect::Effect;
use super::model::{
    Action, Alternative, Place, PlanFile, ReasonCode, RowRef, RunAs, Scripts, Step,
};
use super::script::{sh_quote, Direction, Preamble, ScriptOption};
use super::{Context, Forwarders};
use crate::aws::arn::Arn;
use crate::checks::catalog::{CheckId, Status};
use crate::checks::Finding;
use crate::facts::{
    FollowedBus, RuleFacts, SubscriptionFacts, TargetFacts, TargetsFetch, TopicAttributes,
    TopicFacts,
};
use crate::ids::OuId;

pub const CENTRAL_TEMPLATE: &str = "templates/kms-alerts-central.yaml";
pub const FORWARDER_TEMPLATE: &str = "templates/kms-alerts-forwarder.yaml";
pub const ORG_TRAIL_LOGS_TEMPLATE: &str = "templates/kms-alerts-org-trail-logs.yaml";
/// The templates, by their path in the plan.
pub const TEMPLATES: [(&str, &str); 3] = [
    (
        CENTRAL_TEMPLATE,
        include_str!("templates/kms-alerts-central.yaml"),
    ),
    (
        FORWARDER_TEMPLATE,
        include_str!("templates/kms-alerts-forwarder.yaml"),
    ),
    (
        ORG_TRAIL_LOGS_TEMPLATE,
        include_str!("templates/kms-alerts-org-trail-logs.yaml"),
    ),
];

const BUS_NAME: &str = "cmkscan-kms-alerts";
const CENTRAL_STACK: &str = "cmkscan-kms-alerts-central";
const FORWARDER_STACK: &str = "cmkscan-kms-alerts-forwarder";
const STACK_SET: &str = "cmkscan-kms-alerts-forwarders";
/// The rule names the templates give (`Name`), which the next scan shows.
const FORWARDER_RULE: &str = "cmkscan-kms-alerts-forwarder";
const LOCAL_RULE: &str = "cmkscan-kms-alerts-local";
const CENTRAL_RULE: &str = "cmkscan-kms-alerts";
/// The pattern of every rule the templates make.
pub const EVENT_PATTERN: &str = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;

const COST: &str = "EventBridge: rules on AWS service events are free; events forwarded to another account's bus are billed to the sender as custom events (about $1 per million, https://aws.amazon.com/eventbridge/pricing/), and these two calls are rare. SNS email notifications: the first 1,000 a month are free.";

/// The steps (and refusals) for every failing alerting row, and the
/// alternative where the organisation trail reaches CloudWatch Logs.
pub fn plan(ctx: &Context<'_>, rows: &[&Finding]) -> (Vec<Step>, Vec<Alternative>) {
    if rows.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let org_id = &ctx.facts.organization_id;
    if !is_organization_id(org_id) {
        let steps = rows
            .iter()
            .map(|row| {
                Step::refused(
                    &Place::of(row),
                    row,
                    ReasonCode::EvidenceTooOld,
                    "the evidence holds no organisation id, which the central bus's policy needs: re-scan with this version of cmkscan".into(),
                )
            })
            .collect();
        return (steps, Vec::new());
    }
    let hub = Hub::choose(ctx, rows);
    let bus_arn = format!(
        "arn:{}:events:{}:{}:event-bus/{BUS_NAME}",
        ctx.facts.partition, hub.place.region, hub.place.account_id
    );
    let mut steps = Vec::new();
    let hub_row: Vec<&Finding> = rows
        .iter()
        .copied()
        .filter(|r| r.account_id == hub.place.account_id && r.region == hub.place.region)
        .collect();
    let central = Central {
        partition: &ctx.facts.partition,
        account: &hub.place.account_id,
        region: &hub.place.region,
        org_id,
        bus_arn: &bus_arn,
    };
    steps.push(central_step(ctx, &hub, &central, &hub_row));
    let management = &ctx.facts.management_account_id;
    let mut members: Vec<&Finding> = Vec::new();
    for row in rows.iter().copied() {
        if row.account_id == hub.place.account_id && row.region == hub.place.region {
            continue;
        }
        if &row.account_id == management || ctx.options.forwarders == Forwarders::Stacks {
            steps.push(forwarder_step(ctx, row, &central));
        } else {
            members.push(row);
        }
    }
    if !members.is_empty() {
        match root_id(ctx) {
            Some(root) => steps.push(stack_set_step(ctx, &hub, &members, &central, &root)),
            None => steps.extend(members.iter().map(|row| {
                Step::refused(
                    &Place::of(row),
                    row,
                    ReasonCode::NoOuInEvidence,
                    "the evidence does not name the organisation's root, which the StackSet's deployment targets need: re-scan with this version of cmkscan, or plan with --forwarders stacks".into(),
                )
            })),
        }
    }
    (steps, alternative(ctx))
}

/// Where the central stack goes.
struct Hub {
    place: Place,
}

impl Hub {
    /// `--alerts-account` (default: the management account) and
    /// `--alerts-region` (default: the region with the most failing rows,
    /// the first by name among equals).
    fn choose(ctx: &Context<'_>, rows: &[&Finding]) -> Hub {
        let account = ctx
            .options
            .alerts_account
            .as_ref()
            .map_or(ctx.facts.management_account_id.as_str(), |a| a.as_str());
        let region = ctx.options.alerts_region.as_ref().map_or_else(
            || {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for row in rows {
                    *counts.entry(&row.region).or_default() += 1;
                }
                counts
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(region, _)| region.to_string())
                    .unwrap_or_default()
            },
            |r| r.as_str().to_string(),
        );
        Hub {
            place: ctx.place(account, &region),
        }
    }
}

fn is_organization_id(id: &str) -> bool {
    id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The organisation's root id, from the OU ancestors the evidence keeps.
fn root_id(ctx: &Context<'_>) -> Option<OuId> {
    ctx.facts
        .accounts
        .iter()
        .flat_map(|a| a.ou_ancestors.first().into_iter().chain([&a.ou_id]))
        .filter_map(|id| id.parse::<OuId>().ok())
        .find(OuId::is_root)
}

/// What the central stack puts in place, as a scan would read it once the
/// stack is deployed and its email subscription confirmed: the simulated
/// effects `--check` judges with the same alerting rules as a scan (a
/// logging trail, a rule matching both events, a bus policy admitting the
/// sender, a topic EventBridge may publish to, a confirmed subscriber).
struct Central<'a> {
    partition: &'a str,
    account: &'a str,
    region: &'a str,
    org_id: &'a str,
    bus_arn: &'a str,
}

impl Central<'_> {
    /// The topic's ARN; CloudFormation names it, so the name here stands
    /// for the one it will choose.
    fn topic_arn(&self) -> String {
        format!(
            "arn:{}:sns:{}:{}:{CENTRAL_STACK}-Topic",
            self.partition, self.region, self.account
        )
    }

    /// The topic as `TopicPolicy` and its email subscription make it.
    fn topic_target(&self) -> TargetFacts {
        let topic = self.topic_arn();
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "RulesPublish",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
            }],
        });
        TargetFacts {
            id: "notify".into(),
            arn: topic.clone(),
            role_arn: None,
            input: None,
            confirmed_subscriptions: Some(Ok(1)),
            topic: Some(TopicFacts {
                attributes: Ok(TopicAttributes {
                    kms_master_key_id: None,
                    policy: Some(policy.to_string()),
                }),
                subscriptions: vec![SubscriptionFacts {
                    arn: format!("{topic}:confirmed-email"),
                    protocol: "email".into(),
                    filter_policy: Ok(None),
                }],
                unread_subscriptions: false,
                key: None,
            }),
            bus: None,
        }
    }

    /// `Rule` (on the central bus) or `LocalRule` (on the hub's default
    /// bus), both sending to the topic.
    fn rule_to_topic(&self, name: &str, on_bus: Option<&str>) -> RuleFacts {
        let path = on_bus.map_or(name.to_string(), |bus| format!("{bus}/{name}"));
        rule(
            name,
            format!(
                "arn:{}:events:{}:{}:rule/{path}",
                self.partition, self.region, self.account
            ),
            self.topic_target(),
        )
    }

    /// The forwarder's rule in `account` and `region`, sending to the
    /// central bus through its role (an organisation-wide bus policy needs
    /// one), and the bus as that rule's target reads.
    fn forwarder_rule(&self, account: &str, region: &str) -> RuleFacts {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "OrganizationAccountsPutEvents",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": self.bus_arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": self.org_id}},
            }],
        });
        let target = TargetFacts {
            id: "central-bus".into(),
            arn: self.bus_arn.to_string(),
            role_arn: Some(format!(
                "arn:{}:iam::{account}:role/{FORWARDER_STACK}-ForwarderRole",
                self.partition
            )),
            input: None,
            confirmed_subscriptions: None,
            topic: None,
            bus: Some(Ok(FollowedBus {
                policy: Ok(Some(policy.to_string())),
                rules: Ok(vec![self.rule_to_topic(CENTRAL_RULE, Some(BUS_NAME))]),
            })),
        };
        rule(
            FORWARDER_RULE,
            format!(
                "arn:{}:events:{region}:{account}:rule/{FORWARDER_RULE}",
                self.partition
            ),
            target,
        )
    }
}

/// An enabled rule on the KMS events with its one target.
fn rule(name: &str, arn: String, target: TargetFacts) -> RuleFacts {
    RuleFacts {
        name: name.into(),
        state: "ENABLED".into(),
        event_pattern: Some(EVENT_PATTERN.into()),
        targets: Some(Ok(1)),
        targets_fetch: TargetsFetch::Fetched,
        arn: Some(arn),
        target_details: Some(vec![target]),
    }
}

fn central_step(ctx: &Context<'_>, hub: &Hub, central: &Central<'_>, own_row: &[&Finding]) -> Step {
    let org_id = central.org_id;
    let place = &hub.place;
    let watch = !own_row.is_empty();
    let mut step = Step::new(
        place,
        CheckId::KmsDisableDeleteAlerting,
        Action::Apply,
        format!(
            "the organisation's alert path: a bus in account {} ({}), region {}, that the forwarders send DisableKey and ScheduleKeyDeletion to, and an SNS topic that emails a person",
            place.account_id, place.account_name, place.region
        ),
        own_row.iter().map(|r| RowRef::of(r)).collect(),
    );
    step.org_wide = true;
    step.change = format!(
        "deploy stack {CENTRAL_STACK} ({CENTRAL_TEMPLATE}): event bus {BUS_NAME} admitting PutEvents from organisation {org_id}, rule cmkscan-kms-alerts on it, SNS topic with an email subscription{}",
        if watch {
            "; and rule cmkscan-kms-alerts-local on this region's default bus (this account-region fails too)"
        } else {
            ""
        }
    );
    step.backout = format!("delete stack {CENTRAL_STACK} (after the forwarders' backouts)");
    step.expected_status = watch.then_some(Status::Pass);
    let permissions = vec![
        "sts:GetCallerIdentity",
        "cloudformation:DescribeStacks",
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DeleteStack",
        "events:CreateEventBus",
        "events:PutPermission",
        "events:PutRule",
        "events:PutTargets",
        "sns:CreateTopic",
        "sns:SetTopicAttributes",
        "sns:Subscribe",
    ];
    step.run_as = Some(RunAs {
        account_id: place.account_id.clone(),
        principal: format!(
            "an administrator of the hub account {} ({})",
            place.account_id, place.account_name
        ),
        permissions: permissions.clone(),
    });
    step.cost = Some(COST.into());
    step.notes.push("the subscribed address gets an email from AWS and must confirm it: until then nothing is delivered. The scripts take --alert-email (default: the plan's --alert-email).".into());
    step.notes.push("forwarders in other regions send across regions; see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html for the regions that receive them".into());
    step.verify = Some(ctx.verify_command(place));
    step.templates = vec![CENTRAL_TEMPLATE.into()];
    let paths = ctx.script_paths(place, "alerts-central");
    let title = format!(
        "alerting.kms_disable_delete: the central alert stack in account {}, region {}",
        place.account_id, place.region
    );
    let overrides = format!(
        "\"OrganizationId=$ORGANIZATION_ID\" \"AlertEmail=$alert_email\" \"WatchDefaultBus={watch}\""
    );
    let vars = format!("ORGANIZATION_ID={}\n", sh_quote(org_id));
    step.files = stack_scripts(
        ctx,
        &paths,
        place,
        &title,
        &step.change,
        &step.backout,
        &permissions,
        StackScript {
            stack: CENTRAL_STACK,
            template: CENTRAL_TEMPLATE,
            vars,
            overrides,
            capabilities: false,
            email: true,
        },
    );
    step.scripts = Some(paths);
    if watch {
        step.effects.push(Effect::Rule {
            account: place.account_id.clone(),
            region: place.region.clone(),
            rule: central.rule_to_topic(LOCAL_RULE, None),
        });
    }
    step
}

fn forwarder_step(ctx: &Context<'_>, row: &Finding, central: &Central<'_>) -> Step {
    let bus_arn = central.bus_arn;
    let place = Place::of(row);
    let mut step = Step::new(
        &place,
        CheckId::KmsDisableDeleteAlerting,
        Action::Apply,
        row.detail.clone(),
        vec![RowRef::of(row)],
    );
    step.change = format!(
        "deploy stack {FORWARDER_STACK} ({FORWARDER_TEMPLATE}): rule {FORWARDER_RULE} on the default bus sending DisableKey and ScheduleKeyDeletion to {bus_arn}, with a role allowed events:PutEvents on that bus only"
    );
    step.backout = format!("delete stack {FORWARDER_STACK}");
    step.expected_status = Some(Status::Pass);
    let permissions = forwarder_permissions();
    step.run_as = Some(RunAs {
        account_id: place.account_id.clone(),
        principal: if row.account_id == ctx.facts.management_account_id {
            format!(
                "an administrator of the management account {} (StackSets never deploy to it)",
                place.account_id
            )
        } else {
            format!(
                "an administrator of account {} ({})",
                place.account_id, place.account_name
            )
        },
        permissions: permissions.clone(),
    });
    step.cost = Some(COST.into());
    step.verify = Some(ctx.verify_command(&place));
    step.templates = vec![FORWARDER_TEMPLATE.into()];
    let paths = ctx.script_paths(&place, "alerts-forwarder");
    let title = format!(
        "alerting.kms_disable_delete in account {} ({}), region {}",
        place.account_id, place.account_name, place.region
    );
    step.files = stack_scripts(
        ctx,
        &paths,
        &place,
        &title,
        &step.change,
        &step.backout,
        &permissions,
        StackScript {
            stack: FORWARDER_STACK,
            template: FORWARDER_TEMPLATE,
            vars: format!("CENTRAL_EVENT_BUS_ARN={}\n", sh_quote(bus_arn)),
            overrides: "\"CentralEventBusArn=$CENTRAL_EVENT_BUS_ARN\"".into(),
            capabilities: true,
            email: false,
        },
    );
    step.scripts = Some(paths);
    step.effects.push(Effect::Rule {
        account: place.account_id.clone(),
        region: place.region.clone(),
        rule: central.forwarder_rule(&place.account_id, &place.region),
    });
    step
}

fn forwarder_permissions() -> Vec<&'static str> {
    vec![
        "sts:GetCallerIdentity",
        "cloudformation:DescribeStacks",
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DeleteStack",
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:GetRole",
        "iam:PassRole",
        "iam:DeleteRolePolicy",
        "iam:DeleteRole",
        "events:PutRule",
        "events:PutTargets",
        "events:RemoveTargets",
        "events:DeleteRule",
    ]
}

/// What a plain stack's scripts deploy.
struct StackScript {
    stack: &'static str,
    template: &'static str,
    /// Bash assignments of the values the parameters take (quoted).
    vars: String,
    /// `--parameter-overrides` words.
    overrides: String,
    capabilities: bool,
    /// Whether the scripts take `--alert-email`.
    email: bool,
}

/// Reads a stack's status into `$status`, `NONE` when it does not exist.
const STACK_STATUS: &str = r#"stack_status() {
  if status=$(awsr cloudformation describe-stacks --stack-name "$1" --query 'Stacks[0].StackStatus' --output text 2>"$work/err"); then
    :
  elif grep -q 'does not exist' "$work/err"; then
    status=NONE
  else
    cat "$work/err" >&2
    exit 1
  fi
}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"#;

#[allow(clippy::too_many_arguments)]
fn stack_scripts(
    ctx: &Context<'_>,
    paths: &Scripts,
    place: &Place,
    title: &str,
    change: &str,
    backout: &str,
    permissions: &[&'static str],
    stack: StackScript,
) -> Vec<PlanFile> {
    let options = || -> Vec<ScriptOption> {
        if stack.email {
            vec![ScriptOption {
                flag: "--alert-email",
                var: "alert_email",
                value: Some("ADDRESS"),
                default: ctx.options.alert_email.as_ref().map(|e| e.to_string()),
                required: true,
            }]
        } else {
            Vec::new()
        }
    };
    let provenance = ctx.provenance();
    let template = format!(
        "TEMPLATE=\"$here/{}{}\"\n",
        ctx.up_from_scripts(),
        stack.template
    );
    let mut apply = Preamble {
        path: &paths.apply,
        direction: Direction::Apply,
        title: title.into(),
        provenance: provenance.clone(),
        what: vec![change.into()],
        account_id: &place.account_id,
        region: &place.region,
        permissions,
        options: options(),
        delegated_admin: false,
    }
    .render();
    apply.push_str(STACK_STATUS);
    apply.push_str(&template);
    apply.push_str(&stack.vars);
    apply.push_str(&format!("STACK={}\n", sh_quote(stack.stack)));
    apply.push_str("stack_status \"$STACK\"\ncase \"$status\" in\n  CREATE_COMPLETE|UPDATE_COMPLETE)\n    echo \"already applied: stack $STACK is $status in $ACCOUNT $REGION\"\n    exit 0 ;;\n  NONE) ;;\n  *)\n    echo \"stack $STACK is $status in $ACCOUNT $REGION, not absent as the plan expects: nothing changed\" >&2\n    exit 4 ;;\nesac\n");
    apply.push_str(&format!(
        "awsr cloudformation deploy --template-file \"$TEMPLATE\" --stack-name \"$STACK\"{} --parameter-overrides {}\n",
        if stack.capabilities {
            " --capabilities CAPABILITY_IAM"
        } else {
            ""
        },
        stack.overrides
    ));
    apply.push_str("stack_status \"$STACK\"\nif [ \"$status\" != CREATE_COMPLETE ]; then\n  echo \"stack $STACK is $status, not CREATE_COMPLETE\" >&2\n  exit 5\nfi\necho \"applied: stack $STACK in $ACCOUNT $REGION\"\n");
    if stack.email {
        apply.push_str("echo \"$alert_email must confirm the subscription AWS just emailed before any alert is delivered\"\n");
    }
    let mut back = Preamble {
        path: &paths.backout,
        direction: Direction::Backout,
        title: title.into(),
        provenance,
        what: vec![backout.into()],
        account_id: &place.account_id,
        region: &place.region,
        permissions,
        options: Vec::new(),
        delegated_admin: false,
    }
    .render();
    back.push_str(STACK_STATUS);
    back.push_str(&format!("STACK={}\n", sh_quote(stack.stack)));
    back.push_str("stack_status \"$STACK\"\nif [ \"$status\" = NONE ]; then\n  echo \"already backed out: no stack $STACK in $ACCOUNT $REGION\"\n  exit 0\nfi\n");
    back.push_str("awsr cloudformation delete-stack --stack-name \"$STACK\"\nawsr cloudformation wait stack-delete-complete --stack-name \"$STACK\"\nstack_status \"$STACK\"\nif [ \"$status\" != NONE ] && [ \"$status\" != DELETE_COMPLETE ]; then\n  echo \"stack $STACK is $status after its deletion\" >&2\n  exit 5\nfi\necho \"backed out: stack $STACK deleted from $ACCOUNT $REGION\"\n");
    vec![
        PlanFile {
            path: paths.apply.clone(),
            text: apply,
            executable: true,
        },
        PlanFile {
            path: paths.backout.clone(),
            text: back,
            executable: true,
        },
    ]
}

fn stack_set_step(
    ctx: &Context<'_>,
    hub: &Hub,
    members: &[&Finding],
    central: &Central<'_>,
    root: &OuId,
) -> Step {
    let bus_arn = central.bus_arn;
    let management = ctx.place(&ctx.facts.management_account_id, &hub.place.region);
    let mut by_region: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for row in members {
        by_region
            .entry(&row.region)
            .or_default()
            .push(&row.account_id);
    }
    let mut step = Step::new(
        &management,
        CheckId::KmsDisableDeleteAlerting,
        Action::Apply,
        format!(
            "{} member account-regions have no alert path",
            members.len()
        ),
        members.iter().map(|r| RowRef::of(r)).collect(),
    );
    step.org_wide = true;
    step.change = format!(
        "create the service-managed StackSet {STACK_SET} ({FORWARDER_TEMPLATE}, automatic deployment off) and its instances in exactly the failing account-regions: {}",
        by_region
            .iter()
            .map(|(region, accounts)| format!("{region}: {}", accounts.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    );
    step.backout = format!(
        "delete the StackSet's instances (stacks not retained), then the StackSet {STACK_SET}"
    );
    step.expected_status = Some(Status::Pass);
    let permissions = vec![
        "sts:GetCallerIdentity",
        "cloudformation:DescribeStackSet",
        "cloudformation:CreateStackSet",
        "cloudformation:ListStackInstances",
        "cloudformation:CreateStackInstances",
        "cloudformation:DescribeStackSetOperation",
        "cloudformation:DeleteStackInstances",
        "cloudformation:DeleteStackSet",
    ];
    step.run_as = Some(RunAs {
        account_id: management.account_id.clone(),
        principal: "an administrator of the management account, or of a delegated administrator for CloudFormation StackSets (run the scripts with --delegated-admin)".into(),
        permissions: permissions.clone(),
    });
    step.cost = Some(COST.into());
    step.notes.push("service-managed StackSets need trusted access for CloudFormation StackSets in Organizations (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html)".into());
    step.notes.push("automatic deployment stays off, so accounts that join later get no forwarder: the next scan and plan cover them".into());
    step.verify = Some(format!(
        "cmkscan scan --accounts {} --regions {}",
        unique(members.iter().map(|r| r.account_id.as_str())).join(","),
        unique(members.iter().map(|r| r.region.as_str())).join(",")
    ));
    step.templates = vec![FORWARDER_TEMPLATE.into()];
    let paths = ctx.script_paths(&management, "alerts-stackset");
    let title = format!(
        "alerting.kms_disable_delete: the forwarders' StackSet, from the management account {}",
        management.account_id
    );
    step.files = stack_set_scripts(
        ctx,
        &paths,
        &management,
        &title,
        &step.change,
        &step.backout,
        &permissions,
        &by_region,
        bus_arn,
        root,
    );
    step.scripts = Some(paths);
    step.effects = members
        .iter()
        .map(|row| Effect::Rule {
            account: row.account_id.clone(),
            region: row.region.clone(),
            rule: central.forwarder_rule(&row.account_id, &row.region),
        })
        .collect();
    step
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut items: Vec<&str> = items.collect();
    items.sort();
    items.dedup();
    items
}

/// No waiter exists for StackSet operations: poll until it ends.
const WAIT_OPERATION: &str = r#"wait_operation() {
  while :; do
    op_status=$(awsr cloudformation describe-stack-set-operation --stack-set-name "$SET" --operation-id "$1" ${call_as[@]+"${call_as[@]}"} --query 'StackSetOperation.Status' --output text)
    case "$op_status" in
      SUCCEEDED) return 0 ;;
      FAILED|STOPPED)
        echo "StackSet operation $1 ended $op_status: see describe-stack-set-operation and list-stack-set-operation-results" >&2
        exit 5 ;;
    esac
    sleep 10
  done
}
targets() {
  local accounts
  accounts=$(printf '"%s",' "$@")
  printf '{"OrganizationalUnitIds":["%s"],"Accounts":[%s],"AccountFilterType":"INTERSECTION"}' "$ROOT" "${accounts%,}"
}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"#;

#[allow(clippy::too_many_arguments)]
fn stack_set_scripts(
    ctx: &Context<'_>,
    paths: &Scripts,
    place: &Place,
    title: &str,
    change: &str,
    backout: &str,
    permissions: &[&'static str],
    by_region: &BTreeMap<&str, Vec<&str>>,
    bus_arn: &str,
    root: &OuId,
) -> Vec<PlanFile> {
    let provenance = ctx.provenance();
    let preamble = |path: &str, direction, what: &str| {
        Preamble {
            path,
            direction,
            title: title.into(),
            provenance: provenance.clone(),
            what: vec![what.into()],
            account_id: &place.account_id,
            region: &place.region,
            permissions,
            options: Vec::new(),
            delegated_admin: true,
        }
        .render()
    };
    let common = format!(
        "{WAIT_OPERATION}SET={}\nROOT={}\nCENTRAL_EVENT_BUS_ARN={}\n",
        sh_quote(STACK_SET),
        sh_quote(root.as_str()),
        sh_quote(bus_arn)
    );
    // Account ids reach the JSON through printf's %s: only 12-digit ids
    // are ever put here (see `plan`), so none can break out of its quotes.
    let regions: Vec<(String, String)> = by_region
        .iter()
        .map(|(region, accounts)| {
            (
                sh_quote(region),
                accounts
                    .iter()
                    .map(|a| sh_quote(a))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
        .collect();
    let mut apply = preamble(&paths.apply, Direction::Apply, change);
    apply.push_str(&common);
    apply.push_str(&format!(
        "TEMPLATE=\"$here/{}{FORWARDER_TEMPLATE}\"\n",
        ctx.up_from_scripts()
    ));
    apply.push_str("if ! awsr cloudformation describe-stack-set --stack-set-name \"$SET\" ${call_as[@]+\"${call_as[@]}\"} >/dev/null 2>\"$work/err\"; then\n  if ! grep -q StackSetNotFound \"$work/err\"; then cat \"$work/err\" >&2; exit 1; fi\n  awsr cloudformation create-stack-set --stack-set-name \"$SET\" --template-body \"file://$TEMPLATE\" \\\n    --parameters \"ParameterKey=CentralEventBusArn,ParameterValue=$CENTRAL_EVENT_BUS_ARN\" \\\n    --capabilities CAPABILITY_IAM --permission-model SERVICE_MANAGED \\\n    --auto-deployment Enabled=false ${call_as[@]+\"${call_as[@]}\"} >/dev/null\nfi\n");
    apply.push_str("# Each region's instances, exactly the failing accounts; those already there are left alone.\ndeploy_region() {\n  local region=$1; shift\n  local have missing=()\n  have=\" $(awsr cloudformation list-stack-instances --stack-set-name \"$SET\" --stack-instance-region \"$region\" ${call_as[@]+\"${call_as[@]}\"} --query 'Summaries[].Account' --output text | tr '\\t' ' ') \"\n  for account in \"$@\"; do\n    case \"$have\" in *\" $account \"*) ;; *) missing+=(\"$account\") ;; esac\n  done\n  [ ${#missing[@]} -gt 0 ] || { echo \"$region: every instance is there\"; return 0; }\n  local op\n  op=$(awsr cloudformation create-stack-instances --stack-set-name \"$SET\" --regions \"$region\" \\\n    --deployment-targets \"$(targets \"${missing[@]}\")\" \\\n    --operation-preferences FailureToleranceCount=0,MaxConcurrentPercentage=100 \\\n    ${call_as[@]+\"${call_as[@]}\"} --query OperationId --output text)\n  wait_operation \"$op\"\n  echo \"$region: forwarders deployed to ${missing[*]}\"\n}\n");
    for (region, accounts) in &regions {
        apply.push_str(&format!("deploy_region {region} {accounts}\n"));
    }
    apply.push_str("echo \"applied: StackSet $SET\"\n");
    let mut back = preamble(&paths.backout, Direction::Backout, backout);
    back.push_str(&common);
    back.push_str("if ! awsr cloudformation describe-stack-set --stack-set-name \"$SET\" ${call_as[@]+\"${call_as[@]}\"} >/dev/null 2>\"$work/err\"; then\n  if grep -q StackSetNotFound \"$work/err\"; then echo \"already backed out: no StackSet $SET\"; exit 0; fi\n  cat \"$work/err\" >&2\n  exit 1\nfi\n");
    back.push_str("remove_region() {\n  local region=$1; shift\n  local op\n  op=$(awsr cloudformation delete-stack-instances --stack-set-name \"$SET\" --regions \"$region\" \\\n    --deployment-targets \"$(targets \"$@\")\" --no-retain-stacks \\\n    --operation-preferences FailureToleranceCount=0,MaxConcurrentPercentage=100 \\\n    ${call_as[@]+\"${call_as[@]}\"} --query OperationId --output text)\n  wait_operation \"$op\"\n}\n");
    for (region, accounts) in &regions {
        back.push_str(&format!("remove_region {region} {accounts}\n"));
    }
    back.push_str("left=$(awsr cloudformation list-stack-instances --stack-set-name \"$SET\" ${call_as[@]+\"${call_as[@]}\"} --query 'length(Summaries)' --output text)\nif [ \"$left\" != 0 ]; then\n  if [ \"$force\" != true ]; then\n    echo \"StackSet $SET still has $left instances the plan did not make: it stays (--force does not delete them either)\" >&2\n  fi\n  exit 4\nfi\nawsr cloudformation delete-stack-set --stack-set-name \"$SET\" ${call_as[@]+\"${call_as[@]}\"}\necho \"backed out: StackSet $SET deleted\"\n");
    vec![
        PlanFile {
            path: paths.apply.clone(),
            text: apply,
            executable: true,
        },
        PlanFile {
            path: paths.backout.clone(),
            text: back,
            executable: true,
        },
    ]
}

/// Where the organisation trail already delivers to CloudWatch Logs: one
/// metric filter, alarm and topic on its log group cover every account.
fn alternative(ctx: &Context<'_>) -> Vec<Alternative> {
    let Ok(trails) = &ctx.facts.organization_trails else {
        return Vec::new();
    };
    trails
        .iter()
        .filter(|t| {
            t.described.is_organization_trail && crate::checks::trail_qualifies(t).is_ok()
        })
        .filter_map(|t| {
            let arn = t.described.log_group_arn.as_deref()?;
            let log_group = Arn::parse(arn).ok()?.log_group_name()?.to_string();
            let region = &t.described.home_region;
            let account = &ctx.facts.management_account_id;
            Some(Alternative {
                id: String::new(),
                title: format!(
                    "a metric filter and alarm on the organisation trail's log group {log_group}"
                ),
                account_id: account.clone(),
                region: region.clone(),
                instead_of: Vec::new(),
                description: format!(
                    "organisation trail {} delivers every account's events to log group {log_group} in account {account}, region {region}: one metric filter (the CIS pattern), an alarm and an SNS topic with an email subscription there alert for every account and region the trail logs, instead of the central bus and the forwarders",
                    t.described.arn
                ),
                templates: vec![ORG_TRAIL_LOGS_TEMPLATE.into()],
                commands: vec![format!(
                    "aws cloudformation deploy --template-file {ORG_TRAIL_LOGS_TEMPLATE} --stack-name cmkscan-kms-alerts-org-trail --parameter-overrides {} AlertEmail=ADDRESS --region {}",
                    sh_quote(&format!("LogGroupName={log_group}")),
                    sh_quote(region)
                )],
                backout_commands: vec![format!(
                    "aws cloudformation delete-stack --stack-name cmkscan-kms-alerts-org-trail --region {}",
                    sh_quote(region)
                )],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_ids() {
        assert!(is_organization_id("o-abcdefghij"));
        assert!(!is_organization_id(""));
        assert!(!is_organization_id("o-short"));
        assert!(!is_organization_id("o-ABCDEFGHIJ"));
    }

    #[test]
    fn the_rules_the_templates_make_catch_both_events() {
        use crate::checks::kms_events::{rule_coverage, PatternCoverage, Subject};
        let subject = Subject {
            account: "111122223333",
            region: "eu-west-1",
        };
        assert!(matches!(
            rule_coverage(EVENT_PATTERN, subject),
            PatternCoverage::Both { broader: false }
        ));
        // The templates' patterns are this one.
        for (path, template) in TEMPLATES {
            if path == ORG_TRAIL_LOGS_TEMPLATE {
                continue;
            }
            assert!(
                template.contains("eventName: [DisableKey, ScheduleKeyDeletion]")
                    && template.contains("source: [aws.kms]"),
                "{path}"
            );
        }
    }
}
