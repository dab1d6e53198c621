use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::matches;

fn disable_key() -> Value {
    json!({
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.kms",
        "account": "111122223333",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventSource": "kms.amazonaws.com",
            "eventName": "DisableKey",
            "readOnly": false,
            "sourceIPAddress": "203.0.113.5",
            "requestParameters": {"keyId": "k", "pendingWindowInDays": 7},
            "tags": [{"k": 1}, {"k": "x"}]
        }
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("source".to_string()),
        Just("detail".to_string()),
        Just("eventName".to_string()),
        Just("detail-type".to_string()),
        Just("$or".to_string()),
        Just("a.b".to_string()),
        "\\PC{0,6}",
    ]
}

fn operator() -> impl Strategy<Value = Value> {
    let operand = prop_oneof![
        "\\PC{0,8}".prop_map(Value::from),
        any::<f64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(json!(5e9)),
        Just(json!(1e300)),
        Just(json!(["=", 1, "<", 2])),
        Just(json!([">", 1e10])),
        Just(json!("10.0.0.0/8")),
        Just(json!("::ffff:10.0.0.1/128")),
        Just(json!({"prefix": "Dis"})),
        Just(json!(["a", 1])),
        Just(Value::Null),
    ];
    let name = prop_oneof![
        Just("prefix"),
        Just("suffix"),
        Just("equals-ignore-case"),
        Just("wildcard"),
        Just("anything-but"),
        Just("numeric"),
        Just("exists"),
        Just("cidr"),
        Just("regex"),
    ];
    (name, operand).prop_map(|(n, v)| json!({ n: v }))
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{0,8}".prop_map(Value::from),
        any::<f64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!("DisableKey")),
        operator(),
    ]
}

fn pattern() -> impl Strategy<Value = Value> {
    prop::collection::vec(leaf(), 0..3)
        .prop_map(Value::Array)
        .prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec((key(), inner.clone()), 0..4).prop_map(|entries| {
                    Value::Object(entries.into_iter().collect::<Map<_, _>>())
                }),
                prop::collection::vec(inner, 0..3).prop_map(|objects| json!({ "$or": objects })),
                leaf(),
            ]
        })
}

/// The event with a field no generated pattern can name (keys are at most
/// six characters or one of a few fixed names), at the top and in `detail`.
fn with_unrelated_field(mut event: Value) -> Value {
    if let Value::Object(fields) = &mut event {
        if let Some(Value::Object(detail)) = fields.get_mut("detail") {
            detail.insert(UNRELATED.into(), json!({"nested": [1, "x"]}));
        }
        fields.insert(UNRELATED.into(), json!("unrelated"));
    }
    event
}

const UNRELATED: &str = "cmkscanUnrelatedField";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Any text gets an answer, and a field the pattern does not name
    /// changes nothing: EventBridge ignores the event's other fields.
    #[test]
    fn any_text_gets_an_answer_that_ignores_unrelated_fields(pattern in "\\PC{0,64}") {
        prop_assert_eq!(
            matches(&pattern, &disable_key()),
            matches(&pattern, &with_unrelated_field(disable_key()))
        );
    }

    #[test]
    fn json_patterns_get_an_answer_that_ignores_unrelated_fields(pattern in pattern()) {
        let pattern = pattern.to_string();
        prop_assert_eq!(
            matches(&pattern, &disable_key()),
            matches(&pattern, &with_unrelated_field(disable_key()))
        );
    }

    /// The event side is arbitrary too: collect may pass any event shape.
    /// The answer is the pattern's, not its layout's: pretty-printed, it is
    /// decided the same.
    #[test]
    fn any_event_gets_an_answer_stable_under_reformatting(pattern in pattern(), event in pattern()) {
        let pretty = serde_json::to_string_pretty(&pattern).expect("a JSON value prints");
        prop_assert_eq!(
            matches(&pattern.to_string(), &event),
            matches(&pretty, &event)
        );
    }

    #[test]
    fn text_that_is_not_json_is_undecidable(pattern in "\\PC{0,64}") {
        prop_assume!(serde_json::from_str::<Value>(&pattern).is_err());
        prop_assert!(matches(&pattern, &disable_key()).is_err());
    }

    #[test]
    fn json_that_is_not_an_object_is_undecidable(
        pattern in prop_oneof![
            "\\PC{0,8}".prop_map(Value::from),
            any::<f64>().prop_map(|n| json!(n)),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            prop::collection::vec(pattern(), 0..3).prop_map(Value::Array),
        ]
    ) {
        prop_assert!(matches(&pattern.to_string(), &disable_key()).is_err());
    }

    /// Where the answer is plain, the evaluator gives it.
    #[test]
    fn event_name_equality_is_decided(name in "[A-Za-z]{1,20}") {
        let pattern = json!({"source": ["aws.kms"], "detail": {"eventName": [name.clone()]}});
        prop_assert_eq!(
            matches(&pattern.to_string(), &disable_key()),
            Ok(name == "DisableKey")
        );
    }
}
