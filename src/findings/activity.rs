//! What is happening to keys right now: every key pending deletion and every
//! recent `DisableKey` / `ScheduleKeyDeletion`, with where it is. The
//! findings carry these only as prose in `detail`; the HTML report lists
//! them as tables, so they are gathered from the facts, account by account
//! as the scan finishes them (or from a saved facts file, in the same
//! order). They are few — deletions wait at most 30 days and events are
//! looked up for `--lookback-days` — so they are kept in memory.

use std::cmp::Reverse;

use aws_smithy_types::date_time::{DateTime, Format};

use crate::facts::{AccountFacts, KeyEvent};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyActivity {
    /// Soonest deletion first (after [`KeyActivity::finish`]); keys whose
    /// date AWS did not report come last.
    pub pending_deletion: Vec<PendingKey>,
    /// Newest first (after [`KeyActivity::finish`]).
    pub events: Vec<RecentEvent>,
}

/// The account and region a key lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPlace {
    pub account_id: String,
    pub account_name: String,
    pub ou_path: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingKey {
    pub place: KeyPlace,
    pub arn: String,
    pub aliases: Vec<String>,
    /// RFC 3339, as KMS reported it; `None` when it did not.
    pub deletion_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentEvent {
    pub place: KeyPlace,
    pub event: KeyEvent,
    /// The key's aliases, when the key was listed in the same region: an
    /// event names the key by ARN, people know it by alias.
    pub key_aliases: Vec<String>,
}

impl KeyActivity {
    /// Adds one scanned account's keys and events.
    pub fn account(&mut self, account: &AccountFacts) {
        for region in &account.regions {
            let place = || KeyPlace {
                account_id: account.id.clone(),
                account_name: account.name.clone(),
                ou_path: account.ou_path.clone(),
                region: region.region.clone(),
            };
            let keys = region.keys.as_ref().map(|k| k.customer_keys.as_slice());
            for key in keys.unwrap_or_default() {
                if let Some(deletion) = key.pending_deletion() {
                    self.pending_deletion.push(PendingKey {
                        place: place(),
                        arn: key.arn.clone(),
                        aliases: key.aliases.clone(),
                        deletion_date: deletion.date,
                    });
                }
            }
            for event in region.recent_events.as_ref().map_or(&[][..], Vec::as_slice) {
                let key_aliases = keys
                    .unwrap_or_default()
                    .iter()
                    .find(|key| key.arn == event.key)
                    .map(|key| key.aliases.clone())
                    .unwrap_or_default();
                self.events.push(RecentEvent {
                    place: place(),
                    event: event.clone(),
                    key_aliases,
                });
            }
        }
    }

    /// Puts both lists in report order, which does not depend on the order
    /// accounts finished in.
    pub fn finish(mut self) -> Self {
        // `None` sorts first: unknown dates go last, by their own flag.
        self.pending_deletion.sort_by_cached_key(|key| {
            let date = key.deletion_date.as_deref().and_then(instant);
            (
                date.is_none(),
                date,
                key.place.account_id.clone(),
                key.place.region.clone(),
                key.arn.clone(),
            )
        });
        self.events.sort_by_cached_key(|e| {
            (
                Reverse(instant(&e.event.event_time)),
                e.place.account_id.clone(),
                e.place.region.clone(),
                e.event.event_id.clone(),
            )
        });
        self
    }
}

/// How long a key pending deletion has left, as both the page and the SNS
/// message say it: whole days from the scan's start to the deletion date,
/// rounded down (a key due in 6 days 23 hours has 6 days left: it will not
/// be there on the 7th), `UnderADay` below one day, `Past` once the date
/// has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLeft {
    Past,
    UnderADay,
    Days(u64),
}

impl TimeLeft {
    /// `None` when either time is not RFC 3339.
    pub fn between(scan_time: &str, deletion_date: &str) -> Option<TimeLeft> {
        let seconds = instant(deletion_date)?.secs() - instant(scan_time)?.secs();
        Some(match u64::try_from(seconds) {
            Err(_) => TimeLeft::Past,
            Ok(s) if s < 86_400 => TimeLeft::UnderADay,
            Ok(s) => TimeLeft::Days(s / 86_400),
        })
    }

    /// Under `days` days (a past date is under any).
    pub fn is_under(self, days: u64) -> bool {
        match self {
            TimeLeft::Past | TimeLeft::UnderADay => true,
            TimeLeft::Days(left) => left < days,
        }
    }
}

/// An RFC 3339 time as AWS gives it (with or without fractional seconds);
/// `None` when it is not one. Times are compared parsed: as text,
/// `…26.5Z` would sort before `…26Z`.
pub fn instant(rfc3339: &str) -> Option<DateTime> {
    DateTime::from_str(rfc3339, Format::DateTime).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{KeyFacts, KmsFacts, RegionFacts};

    #[test]
    fn time_left_is_whole_days_rounded_down() {
        let left = |date| TimeLeft::between("2026-11-28T15:56:26Z", date);
        assert_eq!(left("2026-11-28T15:56:25Z"), Some(TimeLeft::Past));
        assert_eq!(left("2026-11-28T15:56:26Z"), Some(TimeLeft::UnderADay));
        assert_eq!(left("2026-11-29T15:56:25Z"), Some(TimeLeft::UnderADay));
        assert_eq!(left("2026-11-29T15:56:26Z"), Some(TimeLeft::Days(1)));
        // 6 days 23 hours 59 minutes: 6, not 7.
        assert_eq!(left("2026-12-05T15:55:26Z"), Some(TimeLeft::Days(6)));
        assert_eq!(left("2026-12-05T15:56:26.5Z"), Some(TimeLeft::Days(7)));
        assert_eq!(left("not reported"), None);
        assert!(TimeLeft::Days(6).is_under(7) && !TimeLeft::Days(7).is_under(7));
        assert!(TimeLeft::Past.is_under(1) && TimeLeft::UnderADay.is_under(1));
    }

    fn key(arn: &str, state: &str, deletion_date: Option<&str>) -> KeyFacts {
        KeyFacts {
            arn: arn.into(),
            state: state.into(),
            deletion_date: deletion_date.map(str::to_string),
            aliases: vec![format!("alias/{arn}")],
        }
    }

    fn event(id: &str, time: &str, key: &str) -> KeyEvent {
        KeyEvent {
            event_id: id.into(),
            event_name: "ScheduleKeyDeletion".into(),
            event_time: time.into(),
            actor: "arn:aws:iam::111122223333:user/alice".into(),
            key: key.into(),
            source_ip: "203.0.113.5".into(),
        }
    }

    fn account(id: &str, keys: Vec<KeyFacts>, events: Vec<KeyEvent>) -> AccountFacts {
        AccountFacts {
            id: id.into(),
            name: format!("name-{id}"),
            ou_path: "Root/Workloads".into(),
            ou_id: String::new(),
            ou_ancestors: Vec::new(),
            access: Ok(()),
            skipped_regions: Vec::new(),
            trails: Vec::new(),
            regions: vec![RegionFacts {
                region: "eu-west-1".into(),
                visible_trails: Ok(Vec::new()),
                config: Ok(Default::default()),
                rules: Ok(Vec::new()),
                keys: Ok(KmsFacts {
                    customer_keys: keys,
                    ..Default::default()
                }),
                recent_events: Ok(events),
            }],
        }
    }

    #[test]
    fn keys_pending_deletion_come_soonest_first_and_undated_last() {
        let mut activity = KeyActivity::default();
        // Accounts in any order, as they finish.
        activity.account(&account(
            "222222222222",
            vec![
                key("k-late", "PendingDeletion", Some("2026-12-20T00:00:00Z")),
                key("k-undated", "PendingReplicaDeletion", None),
                key("k-enabled", "Enabled", None),
                key("k-disabled", "Disabled", None),
            ],
            Vec::new(),
        ));
        activity.account(&account(
            "111111111111",
            vec![
                // Within the same second: the fraction decides, not the text
                // (as text, "…00.5Z" sorts before "…00Z").
                key("k-half", "PendingDeletion", Some("2026-12-01T00:00:00.5Z")),
                key("k-whole", "PendingDeletion", Some("2026-12-01T00:00:00Z")),
            ],
            Vec::new(),
        ));
        let activity = activity.finish();
        let order: Vec<&str> = activity
            .pending_deletion
            .iter()
            .map(|k| k.arn.as_str())
            .collect();
        assert_eq!(order, ["k-whole", "k-half", "k-late", "k-undated"]);
    }

    #[test]
    fn events_come_newest_first_with_their_place_and_the_key_aliases() {
        let mut activity = KeyActivity::default();
        activity.account(&account(
            "111111111111",
            vec![key("k1", "PendingDeletion", Some("2026-12-01T00:00:00Z"))],
            vec![
                event("old", "2026-11-20T10:00:00Z", "k1"),
                event("new", "2026-11-27T10:00:00.25Z", "k-unlisted"),
            ],
        ));
        activity.account(&account(
            "222222222222",
            Vec::new(),
            vec![event("middle", "2026-11-25T10:00:00Z", "k2")],
        ));
        let activity = activity.finish();
        let order: Vec<&str> = activity
            .events
            .iter()
            .map(|e| e.event.event_id.as_str())
            .collect();
        assert_eq!(order, ["new", "middle", "old"]);
        let old = &activity.events[2];
        assert_eq!(old.key_aliases, ["alias/k1"]);
        assert_eq!(
            old.place,
            KeyPlace {
                account_id: "111111111111".into(),
                account_name: "name-111111111111".into(),
                ou_path: "Root/Workloads".into(),
                region: "eu-west-1".into(),
            }
        );
        // A key the region's listing did not show: no aliases, still listed.
        assert!(activity.events[0].key_aliases.is_empty());
    }
}
