//! The events the alerting check must see alerted on, as CloudTrail writes
//! them to CloudWatch Logs and as EventBridge delivers them. Patterns are
//! judged by evaluating them against these records, never by comparing text.

use serde_json::{json, Value};

use super::pattern::Undecidable;
use super::{event_pattern, filter_pattern};
use crate::ids::partition_of;

/// The two calls that make a key unusable: what the control must catch.
pub const WATCHED: [&str; 2] = ["DisableKey", "ScheduleKeyDeletion"];

/// Whose events a pattern is judged on: a pattern may name the account or
/// the region, so the samples carry the ones being checked.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

fn cloudtrail_record(subject: Subject<'_>, event_name: &str) -> Value {
    let Subject { account, region } = subject;
    let partition = partition_of(region);
    let key =
        format!("arn:{partition}:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let mut request = json!({ "keyId": key });
    if event_name == "ScheduleKeyDeletion" {
        request["pendingWindowInDays"] = json!(7);
    }
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice",
            "arn": format!("arn:{partition}:sts::{account}:assumed-role/Admin/alice"),
            "accountId": account
        },
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.5",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": null,
        "requestID": "c0ffee00-0000-4000-8000-000000000000",
        "eventID": "deadbeef-0000-4000-8000-000000000000",
        "readOnly": false,
        "resources": [{ "accountId": account, "type": "AWS::KMS::Key", "ARN": key }],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management"
    })
}

fn eventbridge_envelope(subject: Subject<'_>, record: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.kms",
        "account": subject.account,
        "time": "2026-11-20T10:00:00Z",
        "region": subject.region,
        "resources": [],
        "detail": record
    })
}

/// How a pattern fares against the watched events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Matches both events; `broader` when it also matches a routine KMS call.
    Both {
        broader: bool,
    },
    /// Certainly misses these events, so it cannot alert on both.
    Misses(Vec<&'static str>),
    Undecidable(Undecidable),
}

/// `samples` yields the watched events then a routine KMS call (Decrypt).
fn coverage(
    matches: impl Fn(&Value) -> Result<bool, Undecidable>,
    samples: [Value; 3],
) -> Coverage {
    let [disable, schedule, routine] = samples;
    let mut missed = Vec::new();
    let mut undecidable = None;
    for (name, event) in WATCHED.iter().zip([disable, schedule]) {
        match matches(&event) {
            Ok(true) => {}
            Ok(false) => missed.push(*name),
            Err(why) => undecidable = undecidable.or(Some(why)),
        }
    }
    // A certain miss decides, even when the other event is undecidable.
    if !missed.is_empty() {
        return Coverage::Misses(missed);
    }
    if let Some(why) = undecidable {
        return Coverage::Undecidable(why);
    }
    Coverage::Both {
        // Undecidable on the routine call does not matter for the verdict.
        broader: matches(&routine).unwrap_or(false),
    }
}

fn records(subject: Subject<'_>) -> [Value; 3] {
    [
        cloudtrail_record(subject, WATCHED[0]),
        cloudtrail_record(subject, WATCHED[1]),
        cloudtrail_record(subject, "Decrypt"),
    ]
}

/// Coverage of a CloudWatch Logs metric filter pattern, for the CloudTrail
/// records of `subject`'s calls.
pub fn filter_coverage(pattern: &str, subject: Subject<'_>) -> Coverage {
    coverage(|e| filter_pattern::matches(pattern, e), records(subject))
}

/// Coverage of an EventBridge rule's event pattern, for the events
/// `subject`'s calls put on its region's default bus.
pub fn rule_coverage(pattern: &str, subject: Subject<'_>) -> Coverage {
    coverage(
        |e| event_pattern::matches(pattern, e),
        records(subject).map(|record| eventbridge_envelope(subject, record)),
    )
}

/// Worth fetching the targets of this rule: it may catch the events.
pub fn rule_may_catch(pattern: &str, subject: Subject<'_>) -> bool {
    !matches!(rule_coverage(pattern, subject), Coverage::Misses(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Subject<'static> = Subject {
        account: "111122223333",
        region: "us-east-1",
    };

    #[test]
    fn cis_filter_covers_both_and_is_not_broader() {
        let cis = "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }";
        assert_eq!(
            filter_coverage(cis, HERE),
            Coverage::Both { broader: false }
        );
    }

    #[test]
    fn every_kms_event_filter_is_broader() {
        assert_eq!(
            filter_coverage("{ $.eventSource = kms.amazonaws.com }", HERE),
            Coverage::Both { broader: true }
        );
    }

    #[test]
    fn filter_missing_one_event_names_it() {
        assert_eq!(
            filter_coverage("{ $.eventName = DisableKey }", HERE),
            Coverage::Misses(vec!["ScheduleKeyDeletion"])
        );
        assert_eq!(
            filter_coverage("{ $.eventSource = ec2.amazonaws.com }", HERE),
            Coverage::Misses(vec!["DisableKey", "ScheduleKeyDeletion"])
        );
    }

    #[test]
    fn unsupported_filter_is_undecidable() {
        assert!(matches!(
            filter_coverage("[ip, user]", HERE),
            Coverage::Undecidable(_)
        ));
    }

    #[test]
    fn a_certain_miss_beats_undecidable() {
        // Undecidable on DisableKey, a certain miss on ScheduleKeyDeletion.
        let verdict = coverage(
            |event| match event["eventName"].as_str() {
                Some("DisableKey") => Err(Undecidable::new("unsupported")),
                _ => Ok(false),
            },
            records(HERE),
        );
        assert_eq!(verdict, Coverage::Misses(vec!["ScheduleKeyDeletion"]));
    }

    #[test]
    fn patterns_are_judged_for_the_account_and_region_checked() {
        let eu = Subject {
            account: "444455556666",
            region: "eu-west-1",
        };
        let pinned = "{ ($.eventSource = kms.amazonaws.com) && ($.awsRegion = us-east-1) }";
        assert_eq!(
            filter_coverage(pinned, HERE),
            Coverage::Both { broader: true }
        );
        assert_eq!(
            filter_coverage(pinned, eu),
            Coverage::Misses(vec!["DisableKey", "ScheduleKeyDeletion"])
        );
        let account_rule = r#"{"source":["aws.kms"],"account":["444455556666"]}"#;
        assert_eq!(
            rule_coverage(account_rule, eu),
            Coverage::Both { broader: true }
        );
        assert!(!rule_may_catch(account_rule, HERE));
    }

    #[test]
    fn rule_coverage_follows_event_pattern() {
        let canonical = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;
        assert_eq!(
            rule_coverage(canonical, HERE),
            Coverage::Both { broader: false }
        );
        assert_eq!(
            rule_coverage(r#"{"source":["aws.kms"]}"#, HERE),
            Coverage::Both { broader: true }
        );
        assert_eq!(
            rule_coverage(
                r#"{"source":["aws.kms"],"detail":{"eventName":["ScheduleKeyDeletion"]}}"#,
                HERE
            ),
            Coverage::Misses(vec!["DisableKey"])
        );
        assert!(!rule_may_catch(r#"{"source":["aws.ec2"]}"#, HERE));
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    /// Every prefix and every single-character corruption of realistic
    /// patterns, with multi-byte characters: the evaluators must answer
    /// (match, no match or undecidable), never panic.
    #[test]
    fn evaluators_never_panic_on_mangled_patterns() {
        let seeds = [
            "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=\"ScheduleKeyDeletion\")) }",
            "{ $.requestParameters.pendingWindowInDays >= 7 && $.responseElements IS NULL && $.a[0].b NOT EXISTS }",
            "?DisableKey ?\"Schedule Key\" -Decrypt kms",
            r#"{"source":["aws.kms"],"detail":{"eventName":[{"prefix":"Dis"},{"anything-but":{"suffix":"x"}}],"x":[{"numeric":[">",0,"<=",5]}],"$or":[{"a":[{"exists":true}]},{"b":[{"cidr":"10.0.0.0/24"}]}]}}"#,
        ];
        let here = Subject {
            account: "111122223333",
            region: "us-east-1",
        };
        let junk = [
            'é', '€', '𝄞', '"', '\\', '{', '}', '[', ']', '(', ')', '*', '%', '=', '&', '|',
        ];
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            let mut variants: Vec<String> = (0..=chars.len())
                .map(|n| chars[..n].iter().collect())
                .collect();
            for i in 0..chars.len() {
                for j in junk {
                    let mut mangled = chars.clone();
                    mangled[i] = j;
                    variants.push(mangled.into_iter().collect());
                }
            }
            for pattern in &variants {
                let _ = filter_coverage(pattern, here);
                let _ = rule_coverage(pattern, here);
            }
        }
    }
}
