//! `kms.key_state`: keys pending deletion are a decision for their owner,
//! not a change to script. Each gets the owner's `cancel-key-deletion`
//! command, and the note that a cancelled key comes back `Disabled`
//! (https://docs.aws.amazon.com/kms/latest/APIReference/API_CancelKeyDeletion.html):
//! a WARN, and enabling it is a further decision. Its "backout" is
//! scheduling the deletion again, which starts a new waiting period of 7
//! to 30 days
//! (https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html).

use aws_smithy_types::date_time::{DateTime, Format};

use super::effect::Effect;
use super::model::{Action, KeyDecision, Place, RowRef, RunAs, Step};
use super::script::sh_quote;
use super::Context;
use crate::checks::catalog::{CheckId, Status};
use crate::checks::Finding;

pub fn plan(ctx: &Context<'_>, finding: &Finding) -> Step {
    let place = Place::of(finding);
    let key = ctx
        .region(&finding.account_id, &finding.region)
        .and_then(|r| r.keys.as_ref().ok())
        .and_then(|kms| {
            kms.customer_keys
                .iter()
                .find(|k| k.arn == finding.resource_id)
        });
    let state = key.map(|k| k.state.as_str()).unwrap_or("unknown");
    let date = finding
        .pending_deletion
        .as_ref()
        .and_then(|p| p.date.clone());
    // The key id is the ARN's last segment: `--key-id` takes it with
    // `--region` (and the emulator does not take the ARN).
    let key_id = finding
        .resource_id
        .rsplit_once('/')
        .map(|(_, id)| id)
        .unwrap_or(&finding.resource_id);
    let mut step = Step::new(
        &place,
        CheckId::KeyState,
        Action::Decide,
        finding.detail.clone(),
        vec![RowRef::of(finding)],
    );
    step.evidence = vec![format!(
        "key {} is {}, to be deleted {}; aliases {}",
        &finding.resource_id,
        state,
        date.as_deref().unwrap_or("(no date reported)"),
        &key.map(|k| k.aliases.join(", "))
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "none".into())
    )];
    step.change = "the key's owner decides: if the deletion is not intended, cancel it before its date; the key then comes back Disabled (a WARN), and enabling it is a separate decision (aws kms enable-key)".into();
    step.backout =
        "schedule the deletion again: a new waiting period starts, from the day it is scheduled"
            .into();
    step.commands = vec![format!(
        "aws kms cancel-key-deletion --key-id {} --region {}",
        sh_quote(key_id),
        sh_quote(&place.region)
    )];
    step.backout_commands = vec![format!(
        "aws kms schedule-key-deletion --key-id {} --pending-window-in-days {} --region {}",
        sh_quote(key_id),
        pending_window(date.as_deref(), ctx.now_epoch),
        sh_quote(&place.region)
    )];
    if state == "PendingReplicaDeletion" {
        step.notes.push("the key is a multi-Region key waiting for its replicas' deletion: look at its replicas (aws kms describe-key) before cancelling; not verified by cmkscan".into());
    }
    step.run_as = Some(RunAs {
        account_id: place.account_id.clone(),
        principal: format!(
            "the key's owner in account {} ({}), allowed by the key policy",
            place.account_id, place.account_name
        ),
        permissions: vec!["kms:CancelKeyDeletion", "kms:ScheduleKeyDeletion"],
    });
    step.expected_status = Some(Status::Warn);
    step.key = Some(KeyDecision {
        key_arn: finding.resource_id.clone(),
        key_id: key_id.to_string(),
        state: state.to_string(),
        deletion_date: date.clone(),
        aliases: key.map(|k| k.aliases.clone()).unwrap_or_default(),
        state_after_cancel: "Disabled",
    });
    step.verify = Some(ctx.verify_command(&place));
    step.effects.push(Effect::KeyDeletionCancelled {
        account: place.account_id.clone(),
        region: place.region.clone(),
        key_arn: finding.resource_id.clone(),
    });
    step
}

/// Days for a re-scheduled deletion: those left at the plan's time,
/// within KMS's 7 to 30 (30 when the date is unknown).
fn pending_window(date: Option<&str>, now_epoch: i64) -> i64 {
    let Some(when) = date.and_then(|d| DateTime::from_str(d, Format::DateTime).ok()) else {
        return 30;
    };
    let seconds = when.secs() - now_epoch;
    (seconds + 86_399).div_euclid(86_400).clamp(7, 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backout_window_keeps_the_days_left_within_kms_limits() {
        let now = DateTime::from_str("2026-11-28T00:00:00Z", Format::DateTime)
            .unwrap()
            .secs();
        assert_eq!(pending_window(Some("2026-12-12T00:00:00Z"), now), 14);
        assert_eq!(pending_window(Some("2026-12-12T00:00:01Z"), now), 15);
        assert_eq!(pending_window(Some("2026-11-29T00:00:00Z"), now), 7);
        assert_eq!(pending_window(Some("2027-06-01T00:00:00Z"), now), 30);
        assert_eq!(pending_window(None, now), 30);
        assert_eq!(pending_window(Some("not a date"), now), 30);
    }
}
