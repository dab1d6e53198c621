//! The events the alerting check must see alerted on, as CloudTrail writes
//! them to CloudWatch Logs and as EventBridge delivers them. Patterns are
//! judged by evaluating them against these records, never by comparing text.

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::pattern::Undecidable;
use super::{event_pattern, filter_pattern};

/// The two calls that make a key unusable: what the control must catch.
pub const WATCHED: [&str; 2] = ["DisableKey", "ScheduleKeyDeletion"];

fn cloudtrail_record(event_name: &str, event_source: &str) -> Value {
    let mut request = json!({
        "keyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    });
    if event_name == "ScheduleKeyDeletion" {
        request["pendingWindowInDays"] = json!(7);
    }
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
            "accountId": "111122223333"
        },
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.5",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": null,
        "requestID": "c0ffee00-0000-4000-8000-000000000000",
        "eventID": "deadbeef-0000-4000-8000-000000000000",
        "readOnly": false,
        "resources": [{
            "accountId": "111122223333",
            "type": "AWS::KMS::Key",
            "ARN": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        }],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

fn eventbridge_envelope(record: &Value, source: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": "111122223333",
        "time": "2026-11-20T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": record
    })
}

struct Samples {
    watched_records: Vec<Value>,
    watched_envelopes: Vec<Value>,
    /// A routine KMS call: a pattern that also catches it is broader than CIS.
    other_kms_record: Value,
    other_kms_envelope: Value,
}

fn samples() -> &'static Samples {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let watched_records: Vec<Value> = WATCHED
            .iter()
            .map(|name| cloudtrail_record(name, "kms.amazonaws.com"))
            .collect();
        let watched_envelopes = watched_records
            .iter()
            .map(|r| eventbridge_envelope(r, "aws.kms"))
            .collect();
        let other_kms_record = cloudtrail_record("Decrypt", "kms.amazonaws.com");
        let other_kms_envelope = eventbridge_envelope(&other_kms_record, "aws.kms");
        Samples {
            watched_records,
            watched_envelopes,
            other_kms_record,
            other_kms_envelope,
        }
    })
}

/// How a pattern fares against the watched events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Matches both events; `broader` when it also matches a routine KMS call.
    Both {
        broader: bool,
    },
    /// Misses at least one; lists the ones it misses.
    Misses(Vec<&'static str>),
    Undecidable(Undecidable),
}

fn coverage(
    matches: impl Fn(&Value) -> Result<bool, Undecidable>,
    watched: &[Value],
    other: &Value,
) -> Coverage {
    let mut missed = Vec::new();
    for (name, event) in WATCHED.iter().zip(watched) {
        match matches(event) {
            Ok(true) => {}
            Ok(false) => missed.push(*name),
            Err(undecidable) => return Coverage::Undecidable(undecidable),
        }
    }
    if !missed.is_empty() {
        return Coverage::Misses(missed);
    }
    Coverage::Both {
        // Undecidable on the routine call does not matter for the verdict.
        broader: matches(other).unwrap_or(false),
    }
}

/// Coverage of a CloudWatch Logs metric filter pattern.
pub fn filter_coverage(pattern: &str) -> Coverage {
    let s = samples();
    coverage(
        |e| filter_pattern::matches(pattern, e),
        &s.watched_records,
        &s.other_kms_record,
    )
}

/// Coverage of an EventBridge rule's event pattern.
pub fn rule_coverage(pattern: &str) -> Coverage {
    let s = samples();
    coverage(
        |e| event_pattern::matches(pattern, e),
        &s.watched_envelopes,
        &s.other_kms_envelope,
    )
}

/// Worth fetching the alarms of this filter: it may catch the events.
pub fn filter_may_catch(pattern: &str) -> bool {
    !matches!(filter_coverage(pattern), Coverage::Misses(_))
}

/// Worth fetching the targets of this rule: it may catch the events.
pub fn rule_may_catch(pattern: &str) -> bool {
    !matches!(rule_coverage(pattern), Coverage::Misses(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cis_filter_covers_both_and_is_not_broader() {
        let cis = "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }";
        assert_eq!(filter_coverage(cis), Coverage::Both { broader: false });
    }

    #[test]
    fn every_kms_event_filter_is_broader() {
        assert_eq!(
            filter_coverage("{ $.eventSource = kms.amazonaws.com }"),
            Coverage::Both { broader: true }
        );
    }

    #[test]
    fn filter_missing_one_event_names_it() {
        assert_eq!(
            filter_coverage("{ $.eventName = DisableKey }"),
            Coverage::Misses(vec!["ScheduleKeyDeletion"])
        );
        assert!(!filter_may_catch("{ $.eventSource = ec2.amazonaws.com }"));
    }

    #[test]
    fn unsupported_filter_is_undecidable_and_still_fetched() {
        assert!(matches!(
            filter_coverage("[ip, user]"),
            Coverage::Undecidable(_)
        ));
        assert!(filter_may_catch("[ip, user]"));
    }

    #[test]
    fn rule_coverage_follows_event_pattern() {
        let canonical = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;
        assert_eq!(rule_coverage(canonical), Coverage::Both { broader: false });
        assert_eq!(
            rule_coverage(r#"{"source":["aws.kms"]}"#),
            Coverage::Both { broader: true }
        );
        assert_eq!(
            rule_coverage(
                r#"{"source":["aws.kms"],"detail":{"eventName":["ScheduleKeyDeletion"]}}"#
            ),
            Coverage::Misses(vec!["DisableKey"])
        );
        assert!(!rule_may_catch(r#"{"source":["aws.ec2"]}"#));
    }
}
