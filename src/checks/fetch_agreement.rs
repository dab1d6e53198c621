//! The evidence and the evaluator agree: every rule the alerting check may
//! count for catching both watched events had its targets fetched
//! ([`TargetsFetch::of`]), however its pattern is written or mangled.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::kms_events::{rule_coverage, PatternCoverage, Subject};
use crate::facts::TargetsFetch;

const CIS: &str = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;

fn fetch(pattern: &str) -> TargetsFetch {
    TargetsFetch::of("ENABLED", Some(pattern))
}

const SUBJECTS: [Subject<'static>; 4] = [
    Subject {
        account: "111122223333",
        region: "us-east-1",
    },
    Subject {
        account: "444455556666",
        region: "eu-west-1",
    },
    Subject {
        account: "111122223333",
        region: "cn-north-1",
    },
    Subject {
        account: "111122223333",
        region: "us-gov-west-1",
    },
];

/// The evaluator reads a rule's targets when its pattern matches both
/// events (coverage `Both`) and the rule is enabled: such a rule must
/// have had its targets fetched.
fn assert_fetched_where_the_evaluator_looks(pattern: &str) {
    for subject in SUBJECTS {
        if let PatternCoverage::Both { .. } = rule_coverage(pattern, subject) {
            for state in ["ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"] {
                assert_eq!(
                    TargetsFetch::of(state, Some(pattern)),
                    TargetsFetch::Fetched,
                    "{pattern} in {subject:?}"
                );
            }
        }
    }
}

#[test]
fn undecidable_patterns_of_other_sources_need_no_targets() {
    // The evaluator cannot decide this one (it refuses `regex`), so it
    // warns without reading targets; the source alone rules KMS out.
    let pattern = r#"{"source":["aws.ec2"],"detail":{"x":[{"regex":"y"}]}}"#;
    assert!(matches!(
        rule_coverage(pattern, SUBJECTS[0]),
        PatternCoverage::Undecidable(_)
    ));
    assert_ne!(fetch(pattern), TargetsFetch::Fetched);
}

#[test]
fn mangled_patterns_are_fetched_wherever_the_evaluator_looks() {
    let chars: Vec<char> = CIS.chars().collect();
    let mut variants: Vec<String> = (0..=chars.len())
        .map(|n| chars[..n].iter().collect())
        .collect();
    for i in 0..chars.len() {
        for junk in ['"', '{', '}', '[', ']', ',', ':', 'x', ' '] {
            let mut mangled = chars.clone();
            mangled[i] = junk;
            variants.push(mangled.into_iter().collect());
        }
    }
    for pattern in &variants {
        assert_fetched_where_the_evaluator_looks(pattern);
    }
}

fn source() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!(["aws.kms"]))),
        Just(Some(json!(["aws.ec2"]))),
        Just(Some(json!(["aws.ec2", "aws.kms"]))),
        Just(Some(json!(["AWS.KMS"]))),
        Just(Some(json!(["aws.kms", null]))),
        Just(Some(json!([null]))),
        Just(Some(json!("aws.kms"))),
        Just(Some(json!([{ "prefix": "aws.k" }]))),
        Just(Some(json!([{ "prefix": "aws.e" }]))),
        Just(Some(json!([{ "suffix": ".kms" }]))),
        Just(Some(json!([{ "anything-but": "aws.ec2" }]))),
        Just(Some(json!([{ "anything-but": ["aws.kms"] }]))),
        Just(Some(json!([{ "wildcard": "aws.*" }]))),
        Just(Some(json!([{ "equals-ignore-case": "AWS.KMS" }]))),
        Just(Some(json!([{ "exists": true }]))),
        Just(Some(json!([{ "exists": false }]))),
        "[a-z.]{0,9}".prop_map(|s| Some(json!([s]))),
    ]
}

fn detail() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(
            json!({ "eventName": ["DisableKey", "ScheduleKeyDeletion"] })
        )),
        Just(Some(json!({ "eventSource": ["kms.amazonaws.com"] }))),
        Just(Some(json!({ "eventName": [{ "prefix": "" }] }))),
        Just(Some(json!({ "eventName": ["DisableKey"] }))),
        Just(Some(
            json!({ "eventName": [{ "anything-but": "Decrypt" }] })
        )),
        Just(Some(json!({ "readOnly": [false] }))),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    (
        source(),
        detail(),
        prop::option::of(Just(json!(["AWS API Call via CloudTrail"]))),
        prop::option::of(prop_oneof![
            Just(json!(["111122223333"])),
            Just(json!(["444455556666"]))
        ]),
        prop::option::of(Just(
            json!([{ "source": ["aws.kms"] }, { "source": ["aws.ec2"] }]),
        )),
    )
        .prop_map(|(source, detail, detail_type, account, or)| {
            let mut pattern = serde_json::Map::new();
            let fields = [
                ("source", source),
                ("detail", detail),
                ("detail-type", detail_type),
                ("account", account),
                ("$or", or),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    pattern.insert(key.to_string(), value);
                }
            }
            Value::Object(pattern).to_string()
        })
}

proptest! {
    #[test]
    fn a_rule_the_evaluator_may_count_has_its_targets_fetched(pattern in pattern()) {
        assert_fetched_where_the_evaluator_looks(&pattern);
    }
}
