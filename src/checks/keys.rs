//! `kms.key_state` and `kms.recent_disable_delete_events`.

use super::catalog::{CheckId, Status};
use super::{Finding, RegionContext};

pub fn key_state(ctx: &RegionContext<'_>, out: &mut Vec<Finding>) {
    let kms = match &ctx.region.keys {
        Err(err) => {
            out.push(ctx.finding(CheckId::KeyState, Status::Error, "", err.to_string()));
            return;
        }
        Ok(kms) => kms,
    };
    for key in &kms.undescribed_keys {
        out.push(ctx.finding(
            CheckId::KeyState,
            Status::Error,
            &key.key_arn,
            format!(
                "state unknown: {}; aliases: {}",
                key.error,
                alias_list(&key.aliases)
            ),
        ));
    }
    if kms.customer_keys.is_empty() && kms.undescribed_keys.is_empty() {
        // A row that proves the region was looked at, not skipped.
        out.push(ctx.finding(
            CheckId::KeyState,
            Status::Pass,
            "",
            format!(
                "no customer-managed keys ({} AWS managed keys left out)",
                kms.aws_managed_keys
            ),
        ));
        return;
    }
    for key in &kms.customer_keys {
        let aliases = alias_list(&key.aliases);
        let (status, what) = match key.state.as_str() {
            "Enabled" => (Status::Pass, "enabled".to_string()),
            "Disabled" => (Status::Warn, "disabled".to_string()),
            "PendingDeletion" | "PendingReplicaDeletion" => (
                Status::Fail,
                format!(
                    "{} (deletion date {})",
                    key.state,
                    key.deletion_date.as_deref().unwrap_or("not reported")
                ),
            ),
            other => (Status::Warn, format!("in state {other}")),
        };
        out.push(ctx.finding(
            CheckId::KeyState,
            status,
            &key.arn,
            format!("key {what}; aliases: {aliases}"),
        ));
    }
}

fn alias_list(aliases: &[String]) -> String {
    if aliases.is_empty() {
        "no alias".to_string()
    } else {
        aliases.join(", ")
    }
}

pub fn recent_events(ctx: &RegionContext<'_>, lookback_days: u32, out: &mut Vec<Finding>) {
    match &ctx.region.recent_events {
        Err(err) => out.push(ctx.finding(
            CheckId::RecentDisableDeleteEvents,
            Status::Error,
            "",
            err.to_string(),
        )),
        Ok(events) if events.is_empty() => out.push(ctx.finding(
            CheckId::RecentDisableDeleteEvents,
            Status::Pass,
            "",
            format!("no DisableKey or ScheduleKeyDeletion in the last {lookback_days} days"),
        )),
        Ok(events) => {
            for event in events {
                out.push(ctx.finding(
                    CheckId::RecentDisableDeleteEvents,
                    Status::Warn,
                    &event.key,
                    format!(
                        "{} at {} by {} from {} (event {})",
                        event.event_name,
                        event.event_time,
                        event.actor,
                        event.source_ip,
                        event.event_id
                    ),
                ));
            }
        }
    }
}
