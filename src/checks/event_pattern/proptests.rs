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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_text_gets_an_answer(pattern in "\\PC{0,64}") {
        let _ = matches(&pattern, &disable_key());
    }

    #[test]
    fn json_patterns_get_an_answer(pattern in pattern()) {
        let _ = matches(&pattern.to_string(), &disable_key());
    }

    /// The event side is arbitrary too: collect may pass any event shape.
    #[test]
    fn any_event_gets_an_answer(pattern in pattern(), event in pattern()) {
        let _ = matches(&pattern.to_string(), &event);
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
