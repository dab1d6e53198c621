use proptest::prelude::*;
use serde_json::{json, Value};

use super::matches;

fn disable_key() -> Value {
    json!({
        "eventSource": "kms.amazonaws.com",
        "eventName": "DisableKey",
        "readOnly": false,
        "errorCode": null,
        "requestParameters": {"keyId": "arn:aws:kms:us-east-1:111122223333:key/k", "days": 7},
        "resources": [{"type": "AWS::KMS::Key"}, {"type": "x"}],
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/A/b"}
    })
}

fn selector() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[A-Za-z_-][A-Za-z0-9_-]{0,8}".prop_map(|p| format!(".{p}")),
            (0u32..3).prop_map(|i| format!("[{i}]")),
            Just("[*]".to_string()),
            "\\PC{1,4}".prop_map(|p| format!(".{p}")),
        ],
        1..4,
    )
    .prop_map(|steps| format!("${}", steps.concat()))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9.*-]{0,12}",
        "\\PC{0,6}".prop_map(|s| format!("\"{}\"", s.replace('"', "\\\""))),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("1e400".to_string()),
        Just("-0".to_string()),
        Just("99999999999999999999999999".to_string()),
        Just("%Disable.*%".to_string()),
        Just("\"Ev*ent\"".to_string()),
    ]
}

fn comparison() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("="),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">="),
    ];
    prop_oneof![
        (selector(), op, value()).prop_map(|(s, o, v)| format!("{s} {o} {v}")),
        (
            selector(),
            prop_oneof![
                Just("IS NULL"),
                Just("NOT EXISTS"),
                Just("IS TRUE"),
                Just("IS FALSE"),
                Just("IN [1, 2]"),
            ]
        )
            .prop_map(|(s, t)| format!("{s} {t}")),
    ]
}

fn expression() -> impl Strategy<Value = String> {
    comparison().prop_recursive(6, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || ({b})")),
            inner.prop_map(|e| format!("({e})")),
        ]
    })
}

fn json_pattern() -> impl Strategy<Value = String> {
    expression().prop_map(|e| format!("{{ {e} }}"))
}

/// The event with a field no generated selector can name (a step is at
/// most nine characters), at the top and nested.
fn with_unrelated_field(mut event: Value) -> Value {
    if let Value::Object(fields) = &mut event {
        fields.insert(
            "cmkscanUnrelatedField".into(),
            json!({"cmkscanUnrelatedField": [1, "x", null]}),
        );
    }
    event
}

/// Whatever the text, an answer; a JSON pattern's answer (text that starts
/// with `{`) ignores fields its selectors do not name. (A term pattern
/// searches the whole event, so for it another field is not unrelated.)
fn assert_answer_ignores_unrelated_fields(pattern: &str) -> Result<(), TestCaseError> {
    let answer = matches(pattern, &disable_key());
    if pattern.trim_start().starts_with('{') {
        prop_assert_eq!(
            answer,
            matches(pattern, &with_unrelated_field(disable_key()))
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_text_gets_an_answer(pattern in "\\PC{0,64}") {
        assert_answer_ignores_unrelated_fields(&pattern)?;
    }

    #[test]
    fn any_bytes_as_text_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        assert_answer_ignores_unrelated_fields(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn json_patterns_get_an_answer_that_ignores_unrelated_fields(pattern in json_pattern()) {
        prop_assert_eq!(
            matches(&pattern, &disable_key()),
            matches(&pattern, &with_unrelated_field(disable_key()))
        );
    }

    /// Cut before its closing brace, a pattern is malformed: never a match.
    #[test]
    fn a_truncated_json_pattern_is_undecidable(
        pattern in json_pattern(),
        cut in any::<prop::sample::Index>(),
    ) {
        let ends: Vec<usize> = pattern
            .char_indices()
            .map(|(i, _)| i)
            .filter(|i| *i > 0)
            .collect();
        let end = ends[cut.index(ends.len())];
        let truncated = &pattern[..end];
        prop_assert!(
            matches(truncated, &disable_key()).is_err(),
            "{truncated:?} was decided"
        );
    }

    /// Where the answer is plain, the evaluator gives it.
    #[test]
    fn event_name_equality_is_decided(name in "[A-Za-z]{1,20}") {
        let event = disable_key();
        let equal = name == "DisableKey";
        prop_assert_eq!(
            matches(&format!("{{ $.eventName = \"{name}\" }}"), &event),
            Ok(equal)
        );
        prop_assert_eq!(
            matches(&format!("{{ $.eventName != {name} }}"), &event),
            Ok(!equal)
        );
    }
}
