//! The events the alerting check must see alerted on, as CloudTrail writes
//! them to CloudWatch Logs and as EventBridge delivers them. Patterns are
//! judged by evaluating them against these records, never by comparing text.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::Undecidable;
use super::{event_pattern, filter_pattern};
use crate::aws::arn::Arn;
use crate::facts::WATCHED_EVENTS;
use crate::ids::partition_of;

/// Whose events a pattern is judged on: a pattern may name the account or
/// the region, so the samples carry the ones being checked.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

/// Ways the same call looks different in CloudTrail: who made it, with
/// which client, from where, when, with which deletion window. A pattern
/// counts as catching an event only if it catches every way; one that keys
/// on, say, the caller's identity type or the date would otherwise PASS on
/// the sample and miss real calls.
struct Caller {
    /// Completes "DisableKey …" in a FAIL detail.
    label: &'static str,
    identity_type: &'static str,
    /// Service and resource of the caller's ARN in the account checked.
    principal: Option<(&'static str, &'static str)>,
    user_agent: &'static str,
    source_ip: &'static str,
    time: &'static str,
    event_id: &'static str,
    pending_window_days: u32,
}

const CALLERS: [Caller; 4] = [
    Caller {
        label: "by an assumed role from the CLI",
        identity_type: "AssumedRole",
        principal: Some(("sts", "assumed-role/Admin/alice")),
        user_agent: "aws-cli/2.15.0",
        source_ip: "203.0.113.5",
        time: "2026-11-20T10:00:00Z",
        event_id: "deadbeef-0000-4000-8000-000000000000",
        pending_window_days: 7,
    },
    Caller {
        label: "by an IAM user through an SDK",
        identity_type: "IAMUser",
        principal: Some(("iam", "user/bob")),
        user_agent: "aws-sdk-go-v2/1.30.0",
        source_ip: "198.51.100.7",
        time: "2027-03-02T23:59:59Z",
        event_id: "0badf00d-1111-4111-8111-111111111111",
        pending_window_days: 30,
    },
    Caller {
        label: "by the root user in the console",
        identity_type: "Root",
        principal: Some(("iam", "root")),
        user_agent: "AWS Internal",
        source_ip: "192.0.2.44",
        time: "2025-07-14T04:12:00Z",
        event_id: "feedface-2222-4222-8222-222222222222",
        pending_window_days: 15,
    },
    Caller {
        label: "by an AWS service",
        identity_type: "AWSService",
        principal: None,
        user_agent: "cloudformation.amazonaws.com",
        source_ip: "cloudformation.amazonaws.com",
        time: "2026-01-01T00:00:00Z",
        event_id: "c0c0a000-3333-4333-8333-333333333333",
        pending_window_days: 7,
    },
];

fn cloudtrail_record(subject: Subject<'_>, event_name: &str, caller: &Caller) -> Value {
    let Subject { account, region } = subject;
    let partition = partition_of(region);
    let key = Arn {
        partition,
        service: "kms",
        region,
        account,
        resource: "key/1234abcd-12ab-34cd-56ef-1234567890ab",
    }
    .to_string();
    let mut request = json!({ "keyId": key });
    if event_name == "ScheduleKeyDeletion" {
        request["pendingWindowInDays"] = json!(caller.pending_window_days);
    }
    let mut identity = json!({ "type": caller.identity_type, "accountId": account });
    if let Some((service, resource)) = caller.principal {
        let arn = Arn {
            partition,
            service,
            region: "",
            account,
            resource,
        };
        identity["arn"] = json!(arn.to_string());
        identity["principalId"] = json!("AIDAEXAMPLE");
    } else {
        identity["invokedBy"] = json!(caller.source_ip);
    }
    json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": caller.time,
        "eventSource": "kms.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": caller.source_ip,
        "userAgent": caller.user_agent,
        "requestParameters": request,
        "responseElements": null,
        "requestID": caller.event_id,
        "eventID": caller.event_id,
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
        "id": record["eventID"].clone(),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.kms",
        "account": subject.account,
        "time": record["eventTime"].clone(),
        "region": subject.region,
        "resources": [],
        "detail": record
    })
}

/// How a pattern fares against the watched events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternCoverage {
    /// Matches both events, however made; `broader` when it also matches a
    /// routine KMS call.
    Both {
        broader: bool,
    },
    /// Certainly misses these events (the name alone), or these events when
    /// made some way ("DisableKey by the root user in the console").
    Misses(Vec<String>),
    Undecidable(Undecidable),
}

/// The watched events, each made every way in `CALLERS`, and a routine call.
struct Samples {
    watched: [Vec<Value>; WATCHED_EVENTS.len()],
    routine: Value,
}

fn coverage(
    matches: impl Fn(&Value) -> Result<bool, Undecidable>,
    samples: Samples,
) -> PatternCoverage {
    let mut missed = Vec::new();
    let mut undecidable = None;
    for (name, variants) in WATCHED_EVENTS.iter().zip(&samples.watched) {
        let mut missed_by = Vec::new();
        for (caller, event) in CALLERS.iter().zip(variants) {
            match matches(event) {
                Ok(true) => {}
                Ok(false) => missed_by.push(caller.label),
                Err(why) => undecidable = undecidable.or(Some(why)),
            }
        }
        if missed_by.len() == CALLERS.len() {
            missed.push((*name).to_string());
        } else if let Some(label) = missed_by.first() {
            missed.push(format!("{name} {label}"));
        }
    }
    // A certain miss decides, even when another sample is undecidable.
    if !missed.is_empty() {
        return PatternCoverage::Misses(missed);
    }
    if let Some(why) = undecidable {
        return PatternCoverage::Undecidable(why);
    }
    PatternCoverage::Both {
        // Undecidable on the routine call does not matter for the verdict.
        broader: matches(&samples.routine).unwrap_or(false),
    }
}

fn records(subject: Subject<'_>) -> Samples {
    let made_every_way = |name| {
        CALLERS
            .iter()
            .map(|caller| cloudtrail_record(subject, name, caller))
            .collect()
    };
    Samples {
        watched: WATCHED_EVENTS.map(made_every_way),
        routine: cloudtrail_record(subject, "Decrypt", &CALLERS[0]),
    }
}

/// A metric identity a filter publishes the watched events to: its
/// dimensions, and which events (or ways of making them) land there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedTo {
    pub dimensions: BTreeMap<String, String>,
    /// `DisableKey`, or `DisableKey by the root user in the console` when
    /// the ways of making one event land in different metrics.
    pub events: Vec<String>,
}

/// Where a metric filter with `dimensions` (name → `$.field` selector)
/// publishes the watched events of `subject`: each dimension's value is its
/// field in the CloudTrail record, so one filter may publish different
/// events to different metrics. Undecidable for a selector that is not a
/// plain `$.a.b` path, or a field some record lacks (what CloudWatch Logs
/// then publishes is not documented).
pub fn published_to(
    dimensions: &BTreeMap<String, String>,
    subject: Subject<'_>,
) -> Result<Vec<PublishedTo>, Undecidable> {
    let samples = records(subject);
    let mut published: Vec<PublishedTo> = Vec::new();
    for (event, variants) in WATCHED_EVENTS.iter().zip(&samples.watched) {
        let mut sets: Vec<(BTreeMap<String, String>, Vec<&str>)> = Vec::new();
        for (caller, record) in CALLERS.iter().zip(variants) {
            let mut values = BTreeMap::new();
            for (name, selector) in dimensions {
                values.insert(
                    name.clone(),
                    dimension_value(record, selector, event, caller)?,
                );
            }
            match sets.iter_mut().find(|(set, _)| *set == values) {
                Some((_, callers)) => callers.push(caller.label),
                None => sets.push((values, vec![caller.label])),
            }
        }
        let whole_event = sets.len() == 1;
        for (dimensions, callers) in sets {
            let labels: Vec<String> = if whole_event {
                vec![(*event).to_string()]
            } else {
                callers.iter().map(|c| format!("{event} {c}")).collect()
            };
            match published.iter_mut().find(|p| p.dimensions == dimensions) {
                Some(p) => p.events.extend(labels),
                None => published.push(PublishedTo {
                    dimensions,
                    events: labels,
                }),
            }
        }
    }
    Ok(published)
}

/// The text a `$.a.b` selector picks out of a CloudTrail record.
fn dimension_value(
    record: &Value,
    selector: &str,
    event: &str,
    caller: &Caller,
) -> Result<String, Undecidable> {
    let path = selector
        .trim()
        .strip_prefix("$.")
        .filter(|p| !p.is_empty() && p.split('.').all(|part| !part.is_empty()))
        .filter(|p| p.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        .ok_or_else(|| {
            Undecidable::new(format!(
                "the dimension selector {selector:?} is not a plain $.field path, which cmkscan does not evaluate"
            ))
        })?;
    let value = path
        .split('.')
        .try_fold(record, |value, part| value.get(part));
    match value {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        _ => Err(Undecidable::new(format!(
            "the dimension selector {selector} finds no value in {event} {}, and what CloudWatch Logs then publishes is not documented",
            caller.label
        ))),
    }
}

/// Coverage of a CloudWatch Logs metric filter pattern, for the CloudTrail
/// records of `subject`'s calls.
pub fn filter_coverage(pattern: &str, subject: Subject<'_>) -> PatternCoverage {
    coverage(|e| filter_pattern::matches(pattern, e), records(subject))
}

/// Coverage of an EventBridge rule's event pattern, for the events
/// `subject`'s calls put on its region's default bus.
pub fn rule_coverage(pattern: &str, subject: Subject<'_>) -> PatternCoverage {
    let Samples { watched, routine } = records(subject);
    let envelope = |record| eventbridge_envelope(subject, record);
    let samples = Samples {
        watched: watched.map(|variants| variants.into_iter().map(envelope).collect()),
        routine: envelope(routine),
    };
    coverage(|e| event_pattern::matches(pattern, e), samples)
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
            PatternCoverage::Both { broader: false }
        );
    }

    #[test]
    fn every_kms_event_filter_is_broader() {
        assert_eq!(
            filter_coverage("{ $.eventSource = kms.amazonaws.com }", HERE),
            PatternCoverage::Both { broader: true }
        );
    }

    #[test]
    fn filter_missing_one_event_names_it() {
        assert_eq!(
            filter_coverage("{ $.eventName = DisableKey }", HERE),
            PatternCoverage::Misses(vec!["ScheduleKeyDeletion".to_string()])
        );
        assert_eq!(
            filter_coverage("{ $.eventSource = ec2.amazonaws.com }", HERE),
            PatternCoverage::Misses(vec![
                "DisableKey".to_string(),
                "ScheduleKeyDeletion".to_string()
            ])
        );
    }

    #[test]
    fn unsupported_filter_is_undecidable() {
        assert!(matches!(
            filter_coverage("[ip, user]", HERE),
            PatternCoverage::Undecidable(_)
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
        assert_eq!(
            verdict,
            PatternCoverage::Misses(vec!["ScheduleKeyDeletion".to_string()])
        );
    }

    #[test]
    fn patterns_pinned_to_one_kind_of_caller_or_day_miss_the_others() {
        let assumed_only =
            "{ ($.eventSource = kms.amazonaws.com) && ($.userIdentity.type = AssumedRole) }";
        assert_eq!(
            filter_coverage(assumed_only, HERE),
            PatternCoverage::Misses(vec![
                "DisableKey by an IAM user through an SDK".to_string(),
                "ScheduleKeyDeletion by an IAM user through an SDK".to_string(),
            ])
        );
        let one_day = "{ ($.eventSource = kms.amazonaws.com) && ($.eventTime = \"2026-11-20*\") }";
        assert!(matches!(
            filter_coverage(one_day, HERE),
            PatternCoverage::Misses(_)
        ));
        assert!(matches!(
            filter_coverage("alice", HERE),
            PatternCoverage::Misses(_)
        ));
        let dated_rule = r#"{"source":["aws.kms"],"time":[{"prefix":"2026-11-20"}]}"#;
        assert!(matches!(
            rule_coverage(dated_rule, HERE),
            PatternCoverage::Misses(_)
        ));
        let window = "{ ($.eventName = ScheduleKeyDeletion) && ($.requestParameters.pendingWindowInDays <= 7) }";
        assert!(matches!(
            filter_coverage(window, HERE),
            PatternCoverage::Misses(_)
        ));
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
            PatternCoverage::Both { broader: true }
        );
        assert_eq!(
            filter_coverage(pinned, eu),
            PatternCoverage::Misses(vec![
                "DisableKey".to_string(),
                "ScheduleKeyDeletion".to_string()
            ])
        );
        let account_rule = r#"{"source":["aws.kms"],"account":["444455556666"]}"#;
        assert_eq!(
            rule_coverage(account_rule, eu),
            PatternCoverage::Both { broader: true }
        );
        assert!(matches!(
            rule_coverage(account_rule, HERE),
            PatternCoverage::Misses(_)
        ));
    }

    #[test]
    fn dimensions_are_read_from_each_record() {
        let dims = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            published_to(&dims(&[]), HERE).unwrap(),
            vec![PublishedTo {
                dimensions: dims(&[]),
                events: vec!["DisableKey".into(), "ScheduleKeyDeletion".into()]
            }]
        );
        assert_eq!(
            published_to(&dims(&[("EventName", "$.eventName")]), HERE).unwrap(),
            vec![
                PublishedTo {
                    dimensions: dims(&[("EventName", "DisableKey")]),
                    events: vec!["DisableKey".into()]
                },
                PublishedTo {
                    dimensions: dims(&[("EventName", "ScheduleKeyDeletion")]),
                    events: vec!["ScheduleKeyDeletion".into()]
                }
            ]
        );
        let by_region = published_to(&dims(&[("Region", "$.awsRegion")]), HERE).unwrap();
        assert_eq!(by_region.len(), 1);
        assert_eq!(by_region[0].dimensions, dims(&[("Region", "us-east-1")]));
        let by_caller = published_to(&dims(&[("Who", "$.userIdentity.type")]), HERE).unwrap();
        assert_eq!(by_caller.len(), 4);
        assert_eq!(
            by_caller[0].events,
            vec![
                "DisableKey by an assumed role from the CLI",
                "ScheduleKeyDeletion by an assumed role from the CLI"
            ]
        );
        assert!(published_to(
            &dims(&[("Window", "$.requestParameters.pendingWindowInDays")]),
            HERE
        )
        .is_err());
        assert!(published_to(&dims(&[("X", "$.resources[0].ARN")]), HERE).is_err());
    }

    #[test]
    fn rule_coverage_follows_event_pattern() {
        let canonical = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;
        assert_eq!(
            rule_coverage(canonical, HERE),
            PatternCoverage::Both { broader: false }
        );
        assert_eq!(
            rule_coverage(r#"{"source":["aws.kms"]}"#, HERE),
            PatternCoverage::Both { broader: true }
        );
        assert_eq!(
            rule_coverage(
                r#"{"source":["aws.kms"],"detail":{"eventName":["ScheduleKeyDeletion"]}}"#,
                HERE
            ),
            PatternCoverage::Misses(vec!["DisableKey".to_string()])
        );
        assert!(matches!(
            rule_coverage(r#"{"source":["aws.ec2"]}"#, HERE),
            PatternCoverage::Misses(_)
        ));
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
                for coverage in [filter_coverage(pattern, here), rule_coverage(pattern, here)] {
                    // What a pattern misses is named by watched event.
                    if let PatternCoverage::Misses(missed) = coverage {
                        assert!(!missed.is_empty(), "{pattern:?}");
                        for miss in &missed {
                            assert!(
                                WATCHED_EVENTS.iter().any(|name| miss.starts_with(name)),
                                "{pattern:?} misses {miss:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
