//! Alarm mute rules: "When a mute rule is active, targeted alarms continue
//! to evaluate metrics and transition between states, but their configured
//! actions … are muted"
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutAlarmMuteRule.html).
//! A rule's window opens on its schedule (`cron(…)` or `at(…)`) and stays
//! open for its `Duration` (at most 15 days); an alarm muted by a rule that
//! has not expired is silent in those windows (WARN), and one whose windows
//! cover all time, with no expiry, is silent for good (FAIL).

use super::Walk;
use crate::facts::{AlarmDetails, MuteRuleFacts, MuteSchedule};

/// Whether the alarm's actions run whatever the time: no rule that has not
/// expired mutes it. The walk notes each rule that does.
pub fn lets_through(alarm: &str, details: &AlarmDetails, walk: &mut Walk) -> bool {
    let rules = match &details.mute_rules {
        None => {
            walk.undecidable.push(format!(
                "alarm {alarm}: its mute rules were not collected (evidence from an earlier cmkscan)"
            ));
            return false;
        }
        Some(Err(err)) => {
            walk.unknown
                .push(format!("mute rules of alarm {alarm}: {err}"));
            return false;
        }
        Some(Ok(rules)) => rules,
    };
    let mut clear = true;
    for rule in rules.iter().filter(|r| r.status != "EXPIRED") {
        clear = false;
        match &rule.schedule {
            None => walk.undecidable.push(format!(
                "alarm {alarm} is targeted by the mute rule {}, whose schedule was not read",
                rule.name
            )),
            Some(Err(err)) => walk
                .unknown
                .push(format!("mute rule {} of alarm {alarm}: {err}", rule.name)),
            Some(Ok(schedule)) => {
                let described = describe(rule, schedule);
                if rule.status == "ACTIVE" && rule.expire.is_none() && always_open(schedule) {
                    walk.gaps.push(format!(
                        "alarm {alarm} is muted now by the mute rule {described} with no end: its notifications are not sent"
                    ));
                } else {
                    walk.undecidable.push(format!(
                        "alarm {alarm} is muted by the mute rule {described}: a key disabled in one of its windows notifies no one"
                    ));
                }
            }
        }
    }
    clear
}

/// `weekly (cron(0 2 ? * SUN) for PT4H, Europe/Paris, SCHEDULED, expires
/// 2027-01-01T00:00:00Z)`.
fn describe(rule: &MuteRuleFacts, schedule: &MuteSchedule) -> String {
    let mut parts = vec![format!(
        "{} for {}",
        schedule.expression.as_deref().unwrap_or("(no schedule)"),
        schedule.duration.as_deref().unwrap_or("(no duration)")
    )];
    parts.push(schedule.timezone.clone().unwrap_or_else(|| "UTC".into()));
    parts.push(rule.status.clone());
    if let Some(expire) = &rule.expire {
        parts.push(format!("expires {expire}"));
    }
    format!("{} ({})", rule.name, parts.join(", "))
}

/// Whether a schedule's windows leave no moment unmuted: a window opening
/// every N minutes that lasts at least N. Only schedules whose period is
/// plain are recognised: every minute, every hour at a minute, every day
/// at a time, one day a week at a time.
fn always_open(schedule: &MuteSchedule) -> bool {
    let (Some(expression), Some(duration)) = (&schedule.expression, &schedule.duration) else {
        return false;
    };
    match (cron_period_minutes(expression), duration_minutes(duration)) {
        (Some(period), Some(open)) => open >= period,
        _ => false,
    }
}

/// The minutes between two windows of `cron(minute hour day-of-month month
/// day-of-week [year])`, for the plain periods; `None` otherwise.
fn cron_period_minutes(expression: &str) -> Option<u64> {
    let inner = expression.trim().strip_prefix("cron(")?.strip_suffix(')')?;
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if !(5..=6).contains(&fields.len()) {
        return None;
    }
    let any = |f: &str| f == "*" || f == "?";
    let fixed = |f: &str| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit());
    let (minute, hour, day, month, weekday) =
        (fields[0], fields[1], fields[2], fields[3], fields[4]);
    let year_any = fields.get(5).is_none_or(|y| any(y));
    if !year_any || !any(month) {
        return None;
    }
    match (minute, hour) {
        (m, h) if any(m) && any(h) && any(day) && any(weekday) => Some(1),
        (m, h) if fixed(m) && any(h) && any(day) && any(weekday) => Some(60),
        (m, h) if fixed(m) && fixed(h) && any(day) && any(weekday) => Some(24 * 60),
        (m, h)
            if fixed(m)
                && fixed(h)
                && any(day)
                && !any(weekday)
                && !weekday.contains([',', '-', '/', '#', 'L']) =>
        {
            Some(7 * 24 * 60)
        }
        _ => None,
    }
}

/// An ISO 8601 duration of days, hours, minutes and seconds (`P1D`,
/// `PT4H30M`), in whole minutes rounded down.
fn duration_minutes(duration: &str) -> Option<u64> {
    let rest = duration.trim().strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, time),
        None => (rest, ""),
    };
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for (part, units) in [(days, "D"), (time, "HMS")] {
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            if !units.contains(c) || number.is_empty() {
                return None;
            }
            let n: u64 = number.parse().ok()?;
            number.clear();
            seconds += n * match c {
                'D' => 86_400,
                'H' => 3_600,
                'M' => 60,
                _ => 1,
            };
        }
        if !number.is_empty() {
            return None;
        }
    }
    Some(seconds / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(expression: &str, duration: &str) -> MuteSchedule {
        MuteSchedule {
            expression: Some(expression.into()),
            duration: Some(duration.into()),
            ..Default::default()
        }
    }

    #[test]
    fn windows_that_cover_all_time_are_recognised() {
        for (expression, duration) in [
            ("cron(* * * * *)", "PT1M"),
            ("cron(0 * * * *)", "PT1H"),
            ("cron(0 0 * * *)", "P1D"),
            ("cron(30 2 ? * *)", "PT24H"),
            ("cron(0 0 ? * MON)", "P7D"),
            ("cron(0 0 ? * 2 *)", "P10D"),
        ] {
            assert!(
                always_open(&schedule(expression, duration)),
                "{expression} {duration}"
            );
        }
        for (expression, duration) in [
            ("cron(0 0 * * *)", "PT23H59M"),
            ("cron(0 2 ? * SUN)", "PT4H"),
            ("cron(0 0 ? * MON-FRI)", "P1D"),
            ("cron(0 0 1 * ?)", "P15D"),
            ("cron(0/5 * * * *)", "PT5M"),
            ("at(2026-12-24T00:00)", "P15D"),
            ("cron(0 0 * * * 2027)", "P1D"),
            ("cron(0 0 * * *)", "one day"),
        ] {
            assert!(
                !always_open(&schedule(expression, duration)),
                "{expression} {duration}"
            );
        }
    }

    #[test]
    fn durations_are_read_in_minutes() {
        assert_eq!(duration_minutes("PT4H"), Some(240));
        assert_eq!(duration_minutes("P1DT30M"), Some(1470));
        assert_eq!(duration_minutes("PT90S"), Some(1));
        assert_eq!(duration_minutes("P15D"), Some(21_600));
        assert_eq!(duration_minutes("PT"), Some(0));
        assert_eq!(duration_minutes("P1H"), None);
        assert_eq!(duration_minutes("T1H"), None);
        assert_eq!(duration_minutes("PT1"), None);
    }

    fn rule(status: &str, expire: Option<&str>, schedule: MuteSchedule) -> MuteRuleFacts {
        MuteRuleFacts {
            name: "quiet".into(),
            arn: "arn:aws:cloudwatch:us-east-1:111122223333:alarm-mute-rule:quiet".into(),
            status: status.into(),
            mute_type: Some("RECURRING".into()),
            expire: expire.map(str::to_string),
            schedule: Some(Ok(schedule)),
        }
    }

    fn judge(rules: Vec<MuteRuleFacts>) -> (bool, Walk) {
        let details = AlarmDetails {
            mute_rules: Some(Ok(rules)),
            ..Default::default()
        };
        let mut walk = Walk::default();
        let clear = lets_through("kms-alarm", &details, &mut walk);
        (clear, walk)
    }

    #[test]
    fn rules_warn_fail_or_pass_by_their_windows() {
        let (clear, walk) = judge(vec![]);
        assert!(clear && walk.undecidable.is_empty() && walk.gaps.is_empty());

        let (clear, walk) = judge(vec![rule(
            "EXPIRED",
            Some("2026-01-01T00:00:00Z"),
            schedule("cron(0 0 * * *)", "P1D"),
        )]);
        assert!(clear && walk.undecidable.is_empty());

        let (clear, walk) = judge(vec![rule(
            "SCHEDULED",
            None,
            schedule("cron(0 2 ? * SUN)", "PT4H"),
        )]);
        assert!(!clear);
        assert_eq!(
            walk.undecidable,
            vec!["alarm kms-alarm is muted by the mute rule quiet (cron(0 2 ? * SUN) for PT4H, UTC, SCHEDULED): a key disabled in one of its windows notifies no one"]
        );

        let (_, walk) = judge(vec![rule(
            "ACTIVE",
            None,
            schedule("cron(0 0 * * *)", "P1D"),
        )]);
        assert_eq!(
            walk.gaps,
            vec!["alarm kms-alarm is muted now by the mute rule quiet (cron(0 0 * * *) for P1D, UTC, ACTIVE) with no end: its notifications are not sent"]
        );
        // An end, or a window that closes, leaves it a WARN.
        let (_, walk) = judge(vec![rule(
            "ACTIVE",
            Some("2027-01-01T00:00:00Z"),
            schedule("cron(0 0 * * *)", "P1D"),
        )]);
        assert!(walk.gaps.is_empty() && walk.undecidable.len() == 1);
    }
}
