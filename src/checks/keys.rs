//! `kms.key_state` and `kms.recent_disable_delete_events`.

use super::catalog::{CheckDef, CheckId, RowsPer, Severity, Status};
use super::{Finding, RegionContext};

pub const KEY_STATE: CheckDef = CheckDef {
    id: "kms.key_state",
    title: "Customer-managed key is enabled",
    severity: Severity::Medium,
    remediation: "Confirm the change was intended; if not, re-enable the key (aws kms enable-key) or cancel its deletion before the deletion date (aws kms cancel-key-deletion).",
    controls: Some("Security Hub KMS.3"),
    rows: RowsPer::Resource,
};

pub const RECENT_EVENTS: CheckDef = CheckDef {
    id: "kms.recent_disable_delete_events",
    title: "No customer-managed key was disabled or scheduled for deletion recently",
    severity: Severity::Medium,
    remediation: "Confirm each change with the key owner; cancel unintended deletions (aws kms cancel-key-deletion) and re-enable keys disabled by mistake.",
    controls: Some("Security Hub KMS.3"),
    rows: RowsPer::Event,
};

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
                "state of key {} unknown: {}; aliases: {}",
                key.key_arn,
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
        let pending_deletion = key.pending_deletion();
        let (status, what) = match (&pending_deletion, key.state.as_str()) {
            (Some(deletion), state) => (
                Status::Fail,
                format!(
                    "is {state} (deletion date {})",
                    deletion.date.as_deref().unwrap_or("not reported")
                ),
            ),
            (None, "Enabled") => (Status::Pass, "is enabled".to_string()),
            (None, "Disabled") => (Status::Warn, "is disabled".to_string()),
            (None, other) => (Status::Warn, format!("is in state {other}")),
        };
        out.push(Finding {
            pending_deletion,
            ..ctx.finding(
                CheckId::KeyState,
                status,
                &key.arn,
                format!("key {} {what}; aliases: {aliases}", key.arn),
            )
        });
    }
}

fn alias_list(aliases: &[String]) -> String {
    if aliases.is_empty() {
        "no alias".to_string()
    } else {
        aliases.join(", ")
    }
}

pub fn recent_events(ctx: &RegionContext<'_>, out: &mut Vec<Finding>) {
    let lookback_days = ctx.scan.lookback_days;
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

#[cfg(test)]
mod tests {
    use crate::aws::api::Api;
    use crate::aws::throttle::CallError;
    use crate::checks::catalog::{CheckId, Status};
    use crate::checks::fixtures::{account, empty_region, evaluate_region, verdicts};
    use crate::facts::{KeyEvent, KeyFacts, KmsFacts, UndescribedKey};

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

    fn key(state: &str, deletion_date: Option<&str>) -> KeyFacts {
        KeyFacts {
            arn: KEY.into(),
            state: state.into(),
            deletion_date: deletion_date.map(str::to_string),
            aliases: vec!["alias/payments".into()],
        }
    }

    fn key_rows(kms: KmsFacts) -> Vec<(Status, String)> {
        let mut region = empty_region();
        region.keys = Ok(kms);
        verdicts(
            &evaluate_region(&account(region), &Ok(vec![])),
            CheckId::KeyState,
        )
    }

    fn one_key(key: KeyFacts) -> Vec<(Status, String)> {
        key_rows(KmsFacts {
            customer_keys: vec![key],
            ..Default::default()
        })
    }

    #[test]
    fn every_key_state_names_the_key_and_its_state() {
        let d = |s: &str| format!("key {KEY} {s}; aliases: alias/payments");
        assert_eq!(
            one_key(key("Enabled", None)),
            vec![(Status::Pass, d("is enabled"))]
        );
        assert_eq!(
            one_key(key("Disabled", None)),
            vec![(Status::Warn, d("is disabled"))]
        );
        assert_eq!(
            one_key(key("PendingDeletion", Some("2026-12-05T13:51:09Z"))),
            vec![(
                Status::Fail,
                d("is PendingDeletion (deletion date 2026-12-05T13:51:09Z)")
            )]
        );
        assert_eq!(
            one_key(key("PendingReplicaDeletion", None)),
            vec![(
                Status::Fail,
                d("is PendingReplicaDeletion (deletion date not reported)")
            )]
        );
        assert_eq!(
            one_key(key("PendingImport", None)),
            vec![(Status::Warn, d("is in state PendingImport"))]
        );
    }

    #[test]
    fn undescribed_key_names_the_key_and_the_failed_call() {
        let rows = key_rows(KmsFacts {
            undescribed_keys: vec![UndescribedKey {
                key_arn: KEY.into(),
                aliases: vec![],
                error: CallError::new(Api::KmsDescribeKey, "AccessDeniedException", "no"),
            }],
            ..Default::default()
        });
        assert_eq!(
            rows,
            vec![(
                Status::Error,
                format!(
                    "state of key {KEY} unknown: kms:DescribeKey failed: AccessDeniedException: no; aliases: no alias"
                )
            )]
        );
    }

    #[test]
    fn region_rows_name_what_was_counted_or_the_failed_call() {
        assert_eq!(
            key_rows(KmsFacts {
                aws_managed_keys: 2,
                ..Default::default()
            }),
            vec![(
                Status::Pass,
                "no customer-managed keys (2 AWS managed keys left out)".to_string()
            )]
        );
        let mut region = empty_region();
        region.keys = Err(CallError::new(
            Api::KmsListKeys,
            "ThrottlingException",
            "slow",
        ));
        assert_eq!(
            verdicts(
                &evaluate_region(&account(region), &Ok(vec![])),
                CheckId::KeyState
            ),
            vec![(
                Status::Error,
                "kms:ListKeys failed: ThrottlingException: slow".to_string()
            )]
        );
    }

    #[test]
    fn recent_events_name_the_event_the_actor_and_the_source() {
        let mut region = empty_region();
        region.recent_events = Ok(vec![KeyEvent {
            event_id: "e-1".into(),
            event_name: "ScheduleKeyDeletion".into(),
            event_time: "2026-11-27T10:00:00Z".into(),
            actor: "arn:aws:sts::111122223333:assumed-role/Admin/alice".into(),
            key: KEY.into(),
            source_ip: "203.0.113.5".into(),
        }]);
        let findings = evaluate_region(&account(region), &Ok(vec![]));
        assert_eq!(
            verdicts(&findings, CheckId::RecentDisableDeleteEvents),
            vec![(
                Status::Warn,
                "ScheduleKeyDeletion at 2026-11-27T10:00:00Z by arn:aws:sts::111122223333:assumed-role/Admin/alice from 203.0.113.5 (event e-1)".to_string()
            )]
        );

        let mut failed = empty_region();
        failed.recent_events = Err(CallError::new(
            Api::CloudTrailLookupEvents,
            "AccessDeniedException",
            "no",
        ));
        let findings = evaluate_region(&account(failed), &Ok(vec![]));
        assert_eq!(
            verdicts(&findings, CheckId::RecentDisableDeleteEvents),
            vec![(
                Status::Error,
                "cloudtrail:LookupEvents failed: AccessDeniedException: no".to_string()
            )]
        );
    }
}
