use super::parse::{NumLit, MAX_NESTING};
use super::*;
use Want::{E, M, N};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// `Ok(true)`
    M,
    /// `Ok(false)`
    N,
    /// `Err(Undecidable)`
    E,
}

const DISABLE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"kms.amazonaws.com","eventName":"DisableKey","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userAgent":"aws-cli/2","requestParameters":{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},"responseElements":null,"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;

const SCHEDULE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"kms.amazonaws.com","eventName":"ScheduleKeyDeletion","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userAgent":"aws-cli/2","requestParameters":{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","pendingWindowInDays":7},"responseElements":null,"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;

const STOP_INSTANCES: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333"},"eventTime":"2026-11-20T10:05:00Z","eventSource":"ec2.amazonaws.com","eventName":"StopInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userAgent":"aws-cli/2","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"}]},"force":false},"responseElements":{"requestId":"5c9b4b1e-1111-2222-3333-444455556666","instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0","currentState":{"code":64,"name":"stopping"}}]}},"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;

const DECRYPT: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/App/worker","accountId":"111122223333"},"eventTime":"2026-11-20T10:10:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-sdk-go/1.44","requestParameters":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT"},"responseElements":null,"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],"readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;

/// Column order of every `[Want; 4]` below.
fn events() -> [(&'static str, Value); 4] {
    [
        ("DisableKey", DISABLE),
        ("ScheduleKeyDeletion", SCHEDULE),
        ("StopInstances", STOP_INSTANCES),
        ("Decrypt", DECRYPT),
    ]
    .map(|(name, json)| {
        (
            name,
            serde_json::from_str(json).expect("test event is JSON"),
        )
    })
}

fn check(cases: &[(&str, &str, [Want; 4])]) {
    let events = events();
    let mut failures = Vec::new();
    for (name, pattern, wants) in cases {
        for ((label, event), want) in events.iter().zip(wants) {
            let got = matches(pattern, event);
            let ok = matches!((want, &got), (M, Ok(true)) | (N, Ok(false)) | (E, Err(_)));
            if !ok {
                failures.push(format!(
                    "{name}: {pattern:?} on {label}: want {want:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn cis_kms_pattern_in_its_real_world_spellings() {
    check(&[
        (
            "CIS as published",
            "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }",
            [M, M, N, N],
        ),
        (
            "odd spacing and newlines",
            "{\n  (  $.eventSource=kms.amazonaws.com )\n&&\n\t( ( $.eventName = DisableKey ) ||\n( $.eventName   =ScheduleKeyDeletion ) )\n}",
            [M, M, N, N],
        ),
        (
            "no whitespace at all",
            "{($.eventSource=kms.amazonaws.com)&&(($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}",
            [M, M, N, N],
        ),
        (
            "quoted values",
            r#"{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") || ($.eventName = "ScheduleKeyDeletion")) }"#,
            [M, M, N, N],
        ),
        (
            "reordered clauses",
            "{ (($.eventName = ScheduleKeyDeletion) || ($.eventName = DisableKey)) && ($.eventSource = kms.amazonaws.com) }",
            [M, M, N, N],
        ),
        (
            "redundant nesting",
            "{ ((($.eventSource = kms.amazonaws.com))) && ((($.eventName = DisableKey)) || (($.eventName = ScheduleKeyDeletion))) }",
            [M, M, N, N],
        ),
        (
            "only DisableKey",
            "{ ($.eventSource = kms.amazonaws.com) && ($.eventName = DisableKey) }",
            [M, N, N, N],
        ),
        ("event name only", "{ $.eventName = DisableKey }", [M, N, N, N]),
        ("broader: any KMS call", "{ $.eventSource = kms.amazonaws.com }", [M, M, N, M]),
        ("another service", "{ $.eventSource = ec2.amazonaws.com }", [N, N, M, N]),
        ("case-sensitive value", "{ $.eventName = disablekey }", [N, N, N, N]),
        ("case-sensitive selector", "{ $.EventName = DisableKey }", [N, N, N, N]),
    ]);
}

#[test]
fn precedence_and_binds_tighter_than_or() {
    check(&[
        // (ec2 && Decrypt) || DisableKey: right-grouping would match nothing.
        (
            "&& before || on the left",
            "{ $.eventSource = ec2.amazonaws.com && $.eventName = Decrypt || $.eventName = DisableKey }",
            [M, N, N, N],
        ),
        // DisableKey || (ec2 && Decrypt): left-to-right would match nothing.
        (
            "&& before || on the right",
            "{ $.eventName = DisableKey || $.eventSource = ec2.amazonaws.com && $.eventName = Decrypt }",
            [M, N, N, N],
        ),
        (
            "parentheses override",
            "{ ($.eventName = DisableKey || $.eventSource = ec2.amazonaws.com) && $.readOnly IS FALSE }",
            [M, N, M, N],
        ),
    ]);
}

#[test]
fn wildcards() {
    check(&[
        (
            "quoted prefix",
            r#"{ $.eventSource = "kms*" }"#,
            [M, M, N, M],
        ),
        ("bare prefix", "{ $.eventName = Schedule* }", [N, M, N, N]),
        ("suffix", "{ $.eventName = *Key }", [M, N, N, N]),
        ("both ends", "{ $.eventName = *Key* }", [M, M, N, N]),
        ("any value", "{ $.eventSource = * }", [M, M, M, M]),
        (
            "any value on a number",
            "{ $.requestParameters.pendingWindowInDays = * }",
            [N, M, N, N],
        ),
        (
            "!= with wildcard",
            "{ $.sourceIPAddress != 203.0.113.5* }",
            [N, N, N, M],
        ),
        (
            "wildcard with punctuation",
            r#"{ $.userIdentity.arn = "arn:aws:sts::111122223333:assumed-role/Admin/*" }"#,
            [M, M, M, N],
        ),
    ]);
}

#[test]
fn not_equal() {
    check(&[
        ("!= name", "{ $.eventName != DisableKey }", [N, M, M, M]),
        (
            "!= source",
            "{ $.eventSource != kms.amazonaws.com }",
            [N, N, M, N],
        ),
        (
            "!= inside the CIS shape",
            "{ $.eventSource = kms.amazonaws.com && $.eventName != Decrypt }",
            [M, M, N, N],
        ),
        // A missing field matches neither = nor != (TestMetricFilter).
        (
            "!= on a missing field",
            "{ $.requestParameters.pendingWindowInDays != 30 }",
            [N, M, N, N],
        ),
        (
            "!= string on a missing field",
            "{ $.errorCode != AccessDenied }",
            [N, N, N, N],
        ),
    ]);
}

#[test]
fn numeric_comparisons() {
    let days = "$.requestParameters.pendingWindowInDays";
    let cases: Vec<(String, [Want; 4])> = vec![
        (format!("{{ {days} = 7 }}"), [N, M, N, N]),
        (format!("{{ {days} != 7 }}"), [N, N, N, N]),
        (format!("{{ {days} < 30 }}"), [N, M, N, N]),
        (format!("{{ {days} < 7 }}"), [N, N, N, N]),
        (format!("{{ {days} <= 7.0 }}"), [N, M, N, N]),
        (format!("{{ {days} > 7 }}"), [N, N, N, N]),
        (format!("{{ {days} >= 7 }}"), [N, M, N, N]),
        (format!("{{ {days} >= +7 }}"), [N, M, N, N]),
        (format!("{{ {days} > -1.5 }}"), [N, M, N, N]),
        (format!("{{ {days} < 10e3 }}"), [N, M, N, N]),
        (format!("{{ {days} < 1e-3 }}"), [N, N, N, N]),
        (format!(r#"{{ {days} = "7" }}"#), [N, M, N, N]),
        // Numeric-looking strings: decided where text and number agree.
        (
            "{ $.recipientAccountId = 111122223333 }".into(),
            [M, M, M, M],
        ),
        (
            "{ $.recipientAccountId = 111122223334 }".into(),
            [N, N, N, N],
        ),
        (
            "{ $.recipientAccountId != 111122223333 }".into(),
            [N, N, N, N],
        ),
        (
            "{ $.recipientAccountId = 111122223333.0 }".into(),
            [E, E, E, E],
        ),
        ("{ $.recipientAccountId > 1 }".into(), [E, E, E, E]),
        ("{ $.eventName = 5 }".into(), [N, N, N, N]),
        ("{ $.eventName != 5 }".into(), [E, E, E, E]),
        (
            "{ $.responseElements.instancesSet.items[0].currentState.code = 64 }".into(),
            [N, N, M, N],
        ),
    ];
    let cases: Vec<(&str, &str, [Want; 4])> = cases
        .iter()
        .map(|(p, w)| ("numeric", p.as_str(), *w))
        .collect();
    check(&cases);
}

#[test]
fn null_existence_and_booleans() {
    check(&[
        ("IS NULL", "{ $.responseElements IS NULL }", [M, M, N, M]),
        ("IS NULL on a missing field", "{ $.errorCode IS NULL }", [N, N, N, N]),
        ("IS NULL on a value", "{ $.eventName IS NULL }", [N, N, N, N]),
        ("NOT EXISTS", "{ $.requestParameters.pendingWindowInDays NOT EXISTS }", [M, N, M, M]),
        ("NOT EXISTS on null", "{ $.responseElements NOT EXISTS }", [N, N, N, N]),
        ("NOT EXISTS past array end", "{ $.resources[1] NOT EXISTS }", [M, M, M, M]),
        ("NOT EXISTS through a string", "{ $.eventName.x NOT EXISTS }", [M, M, M, M]),
        ("IS FALSE", "{ $.readOnly IS FALSE }", [M, M, M, N]),
        ("IS TRUE", "{ $.readOnly IS TRUE }", [N, N, N, M]),
        ("IS TRUE everywhere", "{ $.managementEvent IS TRUE }", [M, M, M, M]),
        ("IS TRUE on a string", "{ $.eventName IS TRUE }", [N, N, N, N]),
        ("IS FALSE on a missing field", "{ $.errorCode IS FALSE }", [N, N, N, N]),
        (
            "combined with the CIS shape",
            "{ $.eventSource = kms.amazonaws.com && $.responseElements IS NULL && $.readOnly IS FALSE }",
            [M, M, N, N],
        ),
    ]);
}

#[test]
fn arrays_and_objects() {
    check(&[
        (
            "index then property",
            r#"{ $.resources[0].type = "AWS::KMS::Key" }"#,
            [N, N, N, M],
        ),
        (
            "index with wildcard",
            r#"{ $.resources[0].ARN = "arn:aws:kms:*" }"#,
            [N, N, N, M],
        ),
        (
            "index past the end",
            "{ $.resources[1].type = * }",
            [N, N, N, N],
        ),
        (
            "deep path",
            "{ $.requestParameters.instancesSet.items[0].instanceId = i-0123456789abcdef0 }",
            [N, N, M, N],
        ),
        // Documented: a selector reaching an array or object applies neither = nor !=.
        ("= on an array", "{ $.resources = * }", [N, N, N, N]),
        ("!= on an array", "{ $.resources != x }", [N, N, N, N]),
        (
            "!= on an object",
            "{ $.requestParameters != x }",
            [N, N, N, N],
        ),
        (
            "numeric != on an object",
            "{ $.userIdentity != 5 }",
            [N, N, N, N],
        ),
        // Undocumented: a property step applied to an array.
        (
            "property of an array",
            "{ $.requestParameters.instancesSet.items.instanceId = x }",
            [N, N, E, N],
        ),
    ]);
}

#[test]
fn undecidable_only_when_the_answer_depends_on_it() {
    check(&[
        (
            "|| rescues",
            "{ $.eventName = DisableKey || $.resources.type = x }",
            [M, N, N, E],
        ),
        (
            "&& rescues",
            "{ $.eventName = DisableKey && $.resources.type = x }",
            [N, N, N, N],
        ),
        (
            "bool compared with a string",
            "{ $.readOnly = false }",
            [E, E, E, E],
        ),
        (
            "bool compared with a string, decided by &&",
            "{ $.eventSource = ec2.amazonaws.com && $.readOnly = false }",
            [N, N, E, N],
        ),
        (
            "null compared with a string",
            "{ $.responseElements = x }",
            [E, E, N, E],
        ),
    ]);
}

#[test]
fn empty_pattern_matches_everything() {
    check(&[
        ("empty", "", [M, M, M, M]),
        ("whitespace", "  \n\t ", [M, M, M, M]),
    ]);
}

#[test]
fn term_patterns() {
    check(&[
        ("single term", "DisableKey", [M, N, N, N]),
        ("case-sensitive term", "disablekey", [N, N, N, N]),
        (
            "quoted and bare",
            r#""kms.amazonaws.com" DisableKey"#,
            [M, N, N, N],
        ),
        (
            "all terms required",
            "DisableKey StopInstances",
            [N, N, N, N],
        ),
        ("OR terms", "?DisableKey ?ScheduleKeyDeletion", [M, M, N, N]),
        (
            "OR with quoted",
            r#"?"ec2.amazonaws.com" ?Decrypt"#,
            [N, N, M, M],
        ),
        ("exclusion", "kms -Decrypt", [M, M, N, N]),
        ("exclusion only", "-Decrypt", [M, M, M, N]),
        ("exclusion of a phrase", r#"kms - "Decrypt""#, [M, M, N, N]),
        ("surrounding whitespace", "  DisableKey\n", [M, N, N, N]),
        ("empty phrase", r#""""#, [M, M, M, M]),
        // Occurs only inside "ScheduleKeyDeletion".
        ("partial word", "Schedule", [N, E, N, N]),
    ]);
}

#[test]
fn unsupported_and_malformed_patterns_are_errors() {
    let cases: &[(&str, &str)] = &[
        ("[ip, user]", "space-delimited"),
        ("[..., status_code = 4*, bytes]", "space-delimited"),
        ("%DisableKey%", "regular expressions"),
        ("kms %Disable%", "regular expressions"),
        ("{ $.eventName = %Disable% }", "regular expressions"),
        ("{ $.resources[*].type = x }", "[*]"),
        (r#"{ $.eventName IN ["DisableKey"] }"#, "IN / NOT IN"),
        (r#"{ $.eventName NOT IN ["DisableKey"] }"#, "IN / NOT IN"),
        ("{ $.eventName = Dis*Key }", "wildcard inside"),
        (r#"{ $.eventName = "Disable\nKey" }"#, "escape sequence"),
        ("?DisableKey kms", "mixing ?term"),
        ("?DisableKey -kms", "mixing ?term"),
        ("kms.amazonaws.com", "unquoted term"),
        (r#""eventName DisableKey""#, "quoted phrase"),
        (r#""eventName":"DisableKey""#, "quoted phrase"),
        (r#""Disable*""#, "quoted phrase"),
        ("{ $.eventName = ", "expected a value after '='"),
        ("{ $.eventName }", "expected an operator"),
        ("{ ($.eventName = DisableKey }", "expected ')'"),
        ("{ (($.eventName = DisableKey) }", "expected ')'"),
        ("{ ($.eventName = DisableKey", "unbalanced '('"),
        ("{ $.eventName = DisableKey) }", "unbalanced ')'"),
        ("{ $.eventName = DisableKey", "missing the closing '}'"),
        (
            "{ $.eventName = DisableKey } extra",
            "after the closing '}'",
        ),
        ("{ }", "empty JSON pattern"),
        (
            "{ $.eventName == DisableKey }",
            "expected a value after '='",
        ),
        (
            "{ $.eventName = DisableKey & $.eventSource = x }",
            "single '&'",
        ),
        (
            "{ $.eventName = DisableKey | $.eventSource = x }",
            "single '|'",
        ),
        ("{ $.eventName = DisableKey && }", "expected a selector"),
        ("{ && $.eventName = DisableKey }", "expected a selector"),
        ("{ eventName = DisableKey }", "expected a selector"),
        ("{ $ = DisableKey }", "names no property"),
        ("{ $. = DisableKey }", "empty property name"),
        ("{ $.resources[x] = y }", "[NUMBER]"),
        (
            "{ $.requestParameters.pendingWindowInDays > abc }",
            "needs a number",
        ),
        (
            r#"{ $.requestParameters.pendingWindowInDays > "7" }"#,
            "needs a number",
        ),
        ("{ $.eventName IS MISSING }", "expected NULL, TRUE or FALSE"),
        ("{ $.eventName NOT THERE }", "expected EXISTS"),
        ("{ $.eventName ! DisableKey }", "'!'"),
        ("{ $.eventName = #tag }", "unexpected character '#'"),
        (
            r#"{ $.eventName = "DisableKey }"#,
            "unterminated quoted string",
        ),
        (r#""DisableKey"#, "unterminated quoted string"),
        (r#""Disable"Key"#, "expected whitespace"),
        ("Disable\"Key", "stray"),
        ("? DisableKey", "not followed by a term"),
        ("kms -", "not followed by a term"),
    ];
    let events = events();
    let mut failures = Vec::new();
    for (pattern, needle) in cases {
        for (label, event) in &events {
            match matches(pattern, event) {
                Err(Undecidable(msg)) if msg.contains(needle) => {}
                other => failures.push(format!(
                    "{pattern:?} on {label}: want Err containing {needle:?}, got {other:?}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn malformed_messages_say_malformed_and_unsupported_ones_say_not_supported() {
    let event = &events()[0].1;
    let msg = |p: &str| matches(p, event).expect_err("pattern must be rejected").0;
    assert!(msg("{ $.eventName = ").starts_with("malformed filter pattern: "));
    assert!(msg("{ ($.eventName = x }").contains("offset 2"));
    assert!(msg("[ip, user]").contains("not supported"));
    assert!(msg("{ $.a[*] = x }").contains("not supported"));
    assert!(msg("?a b").contains("not supported"));
}

/// Wraps `$.eventName = DisableKey` in `depth` parentheses, each level
/// also and-ing a true condition so that the expression nests too.
fn nested(depth: usize) -> String {
    let open = "( $.eventSource = kms.amazonaws.com && ".repeat(depth);
    format!("{{ {open}$.eventName = DisableKey{} }}", " )".repeat(depth))
}

#[test]
fn nesting_is_capped_not_a_stack_overflow() {
    let event = &events()[0].1;
    for pattern in [
        nested(2_000),
        format!(
            "{{ {}$.eventName = DisableKey{} }}",
            "(".repeat(2_000),
            ")".repeat(2_000)
        ),
        // Unbalanced: rejected by the cap before the missing ')' is noticed.
        format!("{{ {}", "(".repeat(100_000)),
    ] {
        let Err(Undecidable(msg)) = matches(&pattern, event) else {
            panic!("a pattern nested 2,000 deep must be undecidable");
        };
        assert!(msg.contains("nested more than 64 levels deep"), "{msg}");
        assert!(msg.contains("not supported"), "{msg}");
    }
}

#[test]
fn nesting_up_to_the_cap_still_evaluates() {
    check(&[
        ("depth 10", &nested(10), [M, N, N, N]),
        ("depth 64", &nested(MAX_NESTING), [M, N, N, N]),
        ("depth 65", &nested(MAX_NESTING + 1), [E, E, E, E]),
    ]);
}

#[test]
fn number_literal_grammar() {
    for (text, int) in [
        ("7", Some(7)),
        ("+1000", Some(1000)),
        ("-3", Some(-3)),
        ("2.5", None),
        ("10e3", None),
    ] {
        let n = NumLit::parse(text).unwrap_or_else(|| panic!("{text} is a number"));
        assert_eq!(n.int, int, "{text}");
    }
    assert_eq!(NumLit::parse("10e3").map(|n| n.float), Some(10_000.0));
    for text in [
        "",
        "+",
        "1.",
        ".5",
        "1e",
        "1e+",
        "1.2.3",
        "123.123.*",
        "7a",
        "--1",
    ] {
        assert_eq!(NumLit::parse(text), None, "{text:?} is not a number");
    }
}
