use super::compile::parse_wildcard;
use super::eval::wildcard_matches;
use super::*;
use serde_json::json;

fn cloudtrail(source: &str, event_source: &str, event_name: &str, params: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": "111122223333",
        "time": "2026-11-20T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice"
            },
            "eventTime": "2026-11-20T10:00:00Z",
            "eventSource": event_source,
            "eventName": event_name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.5",
            "requestParameters": params,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "eventCategory": "Management"
        }
    })
}

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// In order: DisableKey, ScheduleKeyDeletion, KMS Decrypt, EC2 RunInstances.
fn events() -> [Value; 4] {
    [
        cloudtrail(
            "aws.kms",
            "kms.amazonaws.com",
            "DisableKey",
            json!({"keyId": KEY_ARN}),
        ),
        cloudtrail(
            "aws.kms",
            "kms.amazonaws.com",
            "ScheduleKeyDeletion",
            json!({"keyId": KEY_ARN, "pendingWindowInDays": 7}),
        ),
        cloudtrail(
            "aws.kms",
            "kms.amazonaws.com",
            "Decrypt",
            json!({"keyId": KEY_ARN}),
        ),
        cloudtrail(
            "aws.ec2",
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"instanceType": "t3.micro"}),
        ),
    ]
}

#[test]
fn verdicts_on_cloudtrail_events() {
    // [DisableKey, ScheduleKeyDeletion, Decrypt, EC2]
    let cases: &[(&str, &str, [bool; 4])] = &[
        (
            "canonical rule",
            r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],
                    "detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#,
            [true, true, false, false],
        ),
        (
            "broader: source only",
            r#"{"source":["aws.kms"]}"#,
            [true, true, true, false],
        ),
        (
            "ec2 only",
            r#"{"source":["aws.ec2"],"detail":{"eventSource":["ec2.amazonaws.com"]}}"#,
            [false, false, false, true],
        ),
        (
            "one event name",
            r#"{"detail":{"eventName":["DisableKey"]}}"#,
            [true, false, false, false],
        ),
        (
            "exact match is case-sensitive",
            r#"{"detail":{"eventName":["disablekey"]}}"#,
            [false; 4],
        ),
        (
            "prefix",
            r#"{"detail":{"eventName":[{"prefix":"Schedule"}]}}"#,
            [false, true, false, false],
        ),
        (
            "prefix ignoring case",
            r#"{"detail":{"eventName":[{"prefix":{"equals-ignore-case":"DISABLE"}}]}}"#,
            [true, false, false, false],
        ),
        (
            "empty prefix matches any string",
            r#"{"detail":{"eventName":[{"prefix":""}]}}"#,
            [true; 4],
        ),
        (
            "suffix",
            r#"{"detail":{"eventName":[{"suffix":"Key"}]}}"#,
            [true, false, false, false],
        ),
        (
            "suffix ignoring case",
            r#"{"detail":{"eventName":[{"suffix":{"equals-ignore-case":"DELETION"}}]}}"#,
            [false, true, false, false],
        ),
        (
            "equals-ignore-case",
            r#"{"detail":{"eventName":[{"equals-ignore-case":"schedulekeydeletion"}]}}"#,
            [false, true, false, false],
        ),
        (
            "wildcard",
            r#"{"detail":{"eventName":[{"wildcard":"*Key*"}]}}"#,
            [true, true, false, false],
        ),
        (
            "wildcard anchored at both ends",
            r#"{"detail":{"eventName":[{"wildcard":"Disable*Ke"}]}}"#,
            [false; 4],
        ),
        (
            "wildcard in an ARN",
            r#"{"detail":{"requestParameters":{"keyId":[{"wildcard":"arn:aws:kms:*:111122223333:key/*"}]}}}"#,
            [true, true, true, false],
        ),
        (
            "anything-but list",
            r#"{"source":["aws.kms"],"detail":{"eventName":[{"anything-but":["Decrypt","Encrypt"]}]}}"#,
            [true, true, false, false],
        ),
        (
            "anything-but single",
            r#"{"source":["aws.kms"],"detail":{"eventName":[{"anything-but":"DisableKey"}]}}"#,
            [false, true, true, false],
        ),
        (
            "anything-but prefix",
            r#"{"detail":{"eventName":[{"anything-but":{"prefix":"Dec"}}]}}"#,
            [true, true, false, true],
        ),
        (
            "anything-but suffix list",
            r#"{"detail":{"eventName":[{"anything-but":{"suffix":["Key","crypt"]}}]}}"#,
            [false, true, false, true],
        ),
        (
            "anything-but ignoring case",
            r#"{"detail":{"eventName":[{"anything-but":{"equals-ignore-case":["disablekey","DECRYPT"]}}]}}"#,
            [false, true, false, true],
        ),
        (
            "anything-but wildcard",
            r#"{"detail":{"eventName":[{"anything-but":{"wildcard":"*Key*"}}]}}"#,
            [false, false, true, true],
        ),
        (
            "anything-but needs the field",
            r#"{"detail":{"errorCode":[{"anything-but":"AccessDenied"}]}}"#,
            [false; 4],
        ),
        (
            "anything-but string lets a number through",
            r#"{"detail":{"requestParameters":{"pendingWindowInDays":[{"anything-but":"7"}]}}}"#,
            [false, true, false, false],
        ),
        (
            "anything-but number",
            r#"{"detail":{"requestParameters":{"pendingWindowInDays":[{"anything-but":[7, 30]}]}}}"#,
            [false; 4],
        ),
        (
            "exists true on nested field",
            r#"{"detail":{"requestParameters":{"keyId":[{"exists":true}]}}}"#,
            [true, true, true, false],
        ),
        (
            "exists false on present field",
            r#"{"detail":{"eventName":[{"exists":false}]}}"#,
            [false; 4],
        ),
        (
            "exists false on absent field",
            r#"{"detail":{"errorCode":[{"exists":false}]}}"#,
            [true; 4],
        ),
        (
            "exists false below an absent object",
            r#"{"detail":{"responseElements":{"keyId":[{"exists":false}]}}}"#,
            [true; 4],
        ),
        (
            "exists true on an object is false",
            r#"{"detail":{"userIdentity":[{"exists":true}]}}"#,
            [false; 4],
        ),
        (
            "exists true on an empty array is false",
            r#"{"resources":[{"exists":true}]}"#,
            [false; 4],
        ),
        (
            "exists false on an empty array is true",
            r#"{"resources":[{"exists":false}]}"#,
            [true; 4],
        ),
        (
            "numeric range",
            r#"{"detail":{"requestParameters":{"pendingWindowInDays":[{"numeric":[">=",7,"<=",30]}]}}}"#,
            [false, true, false, false],
        ),
        (
            "numeric open range misses",
            r#"{"detail":{"requestParameters":{"pendingWindowInDays":[{"numeric":[">",7]}]}}}"#,
            [false; 4],
        ),
        (
            "numeric less than",
            r#"{"detail":{"requestParameters":{"pendingWindowInDays":[{"numeric":["<",10]}]}}}"#,
            [false, true, false, false],
        ),
        (
            "numeric equals 7.0e0",
            r#"{"detail":{"requestParameters":{"pendingWindowInDays":[{"numeric":["=",7.0e0]}]}}}"#,
            [false, true, false, false],
        ),
        (
            "numeric ignores strings",
            r#"{"detail":{"eventVersion":[{"numeric":[">",1]}]}}"#,
            [false; 4],
        ),
        (
            "number literal matches 7.0",
            r#"{"detail":{"requestParameters":{"pendingWindowInDays":[7.0]}}}"#,
            [false, true, false, false],
        ),
        (
            "number literal does not match a string",
            r#"{"detail":{"eventVersion":[1.08]}}"#,
            [false; 4],
        ),
        (
            "boolean literal",
            r#"{"detail":{"readOnly":[false],"managementEvent":[true]}}"#,
            [true; 4],
        ),
        (
            "string does not match boolean",
            r#"{"detail":{"readOnly":["false"]}}"#,
            [false; 4],
        ),
        (
            "null literal misses a non-null",
            r#"{"detail":{"eventVersion":[null]}}"#,
            [false; 4],
        ),
        (
            "cidr",
            r#"{"detail":{"sourceIPAddress":[{"cidr":"203.0.113.0/24"}]}}"#,
            [true; 4],
        ),
        (
            "cidr outside",
            r#"{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/8"}]}}"#,
            [false; 4],
        ),
        (
            "$or across fields",
            r#"{"source":["aws.kms"],"$or":[{"detail":{"eventName":["DisableKey"]}},
                    {"detail":{"requestParameters":{"pendingWindowInDays":[{"exists":true}]}}}]}"#,
            [true, true, false, false],
        ),
        (
            "$or nested in detail",
            r#"{"detail":{"$or":[{"eventName":["Decrypt"]},{"eventSource":["ec2.amazonaws.com"]}]}}"#,
            [false, false, true, true],
        ),
        (
            "alternatives mix literal and operator",
            r#"{"detail":{"eventName":["DisableKey",{"prefix":"Sched"}]}}"#,
            [true, true, false, false],
        ),
        (
            "missing field",
            r#"{"detail":{"errorCode":["AccessDenied"]}}"#,
            [false; 4],
        ),
        (
            "object pattern over a string field",
            r#"{"source":{"x":["aws.kms"]}}"#,
            [false; 4],
        ),
        (
            "repeated key: the last wins",
            r#"{"source":["aws.ec2"],"source":["aws.kms"]}"#,
            [true, true, true, false],
        ),
    ];
    let events = events();
    for (name, pattern, expected) in cases {
        for (event, want) in events.iter().zip(expected) {
            let got = matches(pattern, event);
            assert_eq!(
                got,
                Ok(*want),
                "{name}: pattern {pattern} on {}",
                event["detail"]["eventName"]
            );
        }
    }
}

#[test]
fn invalid_or_unsupported_patterns_are_undecidable() {
    let cases: &[(&str, &str)] = &[
        (r#"{"source": ["aws.kms"]"#, "not valid JSON"),
        (r#"["aws.kms"]"#, "not a JSON object"),
        ("{}", "empty object"),
        (r#"{"detail": {}}"#, "empty object"),
        (
            r#"{"source": "aws.kms"}"#,
            "source: must be an object or an array",
        ),
        (r#"{"source": []}"#, "source: empty array"),
        (r#"{"source": [["aws.kms"]]}"#, "nested array"),
        (
            r#"{"detail": {"eventName": [{"regex": "Disable.*"}]}}"#,
            "unsupported operator \"regex\"",
        ),
        (
            r#"{"detail": {"eventName": [{"exactly": "DisableKey"}]}}"#,
            "unsupported operator \"exactly\"",
        ),
        (
            r#"{"source": [{"prefix": "aws.", "suffix": "kms"}]}"#,
            "exactly one key",
        ),
        (r#"{"source": [{}]}"#, "exactly one key"),
        (
            r#"{"source": [{"prefix": 1}]}"#,
            "prefix operand must be a string",
        ),
        (
            r#"{"source": [{"prefix": {"wildcard": "a*"}}]}"#,
            "unsupported prefix operator",
        ),
        (r#"{"source": [{"exists": "yes"}]}"#, "exists operand"),
        (
            r#"{"source": [{"anything-but": ["aws.kms", 1]}]}"#,
            "anything-but needs strings, numbers",
        ),
        (
            r#"{"source": [{"anything-but": []}]}"#,
            "anything-but needs strings, numbers",
        ),
        (
            r#"{"source": [{"anything-but": null}]}"#,
            "anything-but needs strings, numbers",
        ),
        (
            r#"{"source": [{"anything-but": {"prefix": ""}}]}"#,
            "empty prefix",
        ),
        (
            r#"{"source": [{"anything-but": {"numeric": [">", 1]}}]}"#,
            "unsupported anything-but operator",
        ),
        (
            r#"{"source": [{"anything-but": {"prefix": {"equals-ignore-case": "aws"}}}]}"#,
            "anything-but prefix needs strings",
        ),
        (
            r#"{"n": [{"numeric": ["<", 5, ">", 0]}]}"#,
            "unsupported numeric expression",
        ),
        (
            r#"{"n": [{"numeric": [">", 5, "<", 1]}]}"#,
            "empty numeric range",
        ),
        (
            r#"{"n": [{"numeric": ["!=", 5]}]}"#,
            "unsupported numeric expression",
        ),
        (
            r#"{"n": [{"numeric": [">", 6e9]}]}"#,
            "outside EventBridge's numeric range",
        ),
        (
            r#"{"n": [{"numeric": ">5"}]}"#,
            "unsupported numeric expression",
        ),
        (r#"{"ip": [{"cidr": "10.0.0.1/24"}]}"#, "host bits set"),
        (
            r#"{"ip": [{"cidr": "10.0.0.0/33"}]}"#,
            "prefix length must be shorter",
        ),
        (
            r#"{"ip": [{"cidr": "10.0.0.1/32"}]}"#,
            "prefix length must be shorter",
        ),
        (r#"{"ip": [{"cidr": "not-an-ip/8"}]}"#, "not an IP address"),
        (r#"{"ip": [{"cidr": "10.0.0.0"}]}"#, "no prefix length"),
        (
            r#"{"source": [{"wildcard": "aws**kms"}]}"#,
            "consecutive '*'",
        ),
        (
            r#"{"source": [{"wildcard": "aws\\.kms"}]}"#,
            "invalid escape",
        ),
        (
            r#"{"source": [{"equals-ignore-case": "AWS.KMß"}]}"#,
            "non-ASCII",
        ),
        (
            r#"{"$or": [{"source": ["aws.kms"]}]}"#,
            "at least two objects",
        ),
        (
            r#"{"$or": {"source": ["aws.kms"]}}"#,
            "at least two objects",
        ),
        (
            r#"{"$or": [{"source": ["aws.kms"]}, "aws.ec2"]}"#,
            "only contain objects",
        ),
        (
            r#"{"$or": [{"prefix": ["aws."]}, {"source": ["aws.kms"]}]}"#,
            "operator \"prefix\" used as a field inside $or",
        ),
        (r#"{"detail.eventName": ["DisableKey"]}"#, "containing '.'"),
        // Invalid even though `source` alone already rules the event out.
        (
            r#"{"source": ["aws.ec2"], "detail": {"eventName": [{"contains": "Key"}]}}"#,
            "detail.eventName: unsupported operator \"contains\"",
        ),
    ];
    let [disable, ..] = events();
    for (pattern, needle) in cases {
        match matches(pattern, &disable) {
            Err(Undecidable(reason)) => assert!(
                reason.contains(needle),
                "pattern {pattern}: reason {reason:?} should mention {needle:?}"
            ),
            Ok(verdict) => panic!("pattern {pattern} gave Ok({verdict}), expected Undecidable"),
        }
    }
}

#[test]
fn arrays_of_objects_are_matched_per_element() {
    let event = json!({
        "source": "aws.kms",
        "detail": {
            "resources": [
                {"type": "AWS::KMS::Key", "ARN": KEY_ARN},
                {"type": "AWS::IAM::Role", "ARN": "arn:aws:iam::111122223333:role/Admin"}
            ],
            "tags": ["a", ["b", "c"]],
            "responseElements": null,
            "nothing": {}
        }
    });
    let cases: &[(&str, bool)] = &[
        (
            r#"{"detail":{"resources":{"type":["AWS::KMS::Key"]}}}"#,
            true,
        ),
        (
            r#"{"detail":{"resources":{"type":["AWS::KMS::Key"],"ARN":[{"prefix":"arn:aws:kms:"}]}}}"#,
            true,
        ),
        // Both values exist, but in different elements.
        (
            r#"{"detail":{"resources":{"type":["AWS::KMS::Key"],"ARN":[{"prefix":"arn:aws:iam:"}]}}}"#,
            false,
        ),
        (
            r#"{"detail":{"resources":{"type":[{"anything-but":"AWS::KMS::Key"}]}}}"#,
            true,
        ),
        (
            r#"{"detail":{"resources":{"accountId":[{"exists":false}]}}}"#,
            true,
        ),
        (r#"{"detail":{"tags":["c"]}}"#, true),
        (r#"{"detail":{"tags":["d"]}}"#, false),
        (r#"{"detail":{"responseElements":[null]}}"#, true),
        (r#"{"detail":{"responseElements":[""]}}"#, false),
        (r#"{"detail":{"responseElements":[{"exists":true}]}}"#, true),
        (r#"{"detail":{"nothing":[{"exists":false}]}}"#, true),
    ];
    for (pattern, want) in cases {
        assert_eq!(matches(pattern, &event), Ok(*want), "pattern {pattern}");
    }
}

#[test]
fn undecidable_at_match_time_only_where_the_answer_depends_on_it() {
    let event = json!({
        "source": "aws.kms",
        "detail": {
            "resources": [{"type": "AWS::KMS::Key", "ARN": KEY_ARN}, {"type": "AWS::IAM::Role"}],
            "sourceIPAddress": "::ffff:10.0.0.1",
            "eventName": "DisableKéy",
            "big": 1e10
        }
    });
    let undecidable: &[&str] = &[
        // ARN is missing from one element and present in the other.
        r#"{"detail":{"resources":{"ARN":[{"exists":false}]}}}"#,
        r#"{"detail":{"eventName":[{"equals-ignore-case":"disablekéy"}]}}"#,
        r#"{"detail":{"eventName":[{"prefix":{"equals-ignore-case":"disable"}}]}}"#,
        r#"{"detail":{"big":[10000000000]}}"#,
    ];
    for pattern in undecidable {
        assert!(
            matches(pattern, &event).is_err(),
            "pattern {pattern} should be undecidable"
        );
    }
    let decided: &[(&str, bool)] = &[
        // A definite "no" elsewhere in the AND decides.
        (
            r#"{"source":["aws.ec2"],"detail":{"resources":{"ARN":[{"exists":false}]}}}"#,
            false,
        ),
        // A definite "yes" in the OR decides.
        (
            r#"{"detail":{"eventName":["DisableKéy",{"equals-ignore-case":"x"}]}}"#,
            true,
        ),
        (r#"{"detail":{"big":[20000000000]}}"#, false),
        (r#"{"detail":{"big":[{"numeric":[">",0]}]}}"#, false),
        (r#"{"detail":{"sourceIPAddress":["::ffff:a00:1"]}}"#, true),
        // An IPv4-mapped address is read as its IPv4 address.
        (r#"{"detail":{"sourceIPAddress":["10.0.0.1"]}}"#, true),
        (
            r#"{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/8"}]}}"#,
            true,
        ),
        (
            r#"{"detail":{"sourceIPAddress":[{"cidr":"11.0.0.0/8"}]}}"#,
            false,
        ),
    ];
    for (pattern, want) in decided {
        assert_eq!(matches(pattern, &event), Ok(*want), "pattern {pattern}");
    }
}

#[test]
fn wildcard_escapes_and_backtracking() {
    let cases: &[(&str, &str, bool)] = &[
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
        ("*", "", true),
        ("a*", "a", true),
        ("*ab", "aab", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "axb", false),
        ("a\\\\b", "a\\b", true),
        ("ké*", "kéy", true),
    ];
    for (wildcard, text, want) in cases {
        let tokens = parse_wildcard(wildcard, "test").expect("valid wildcard");
        assert_eq!(
            wildcard_matches(&tokens, text),
            *want,
            "{wildcard:?} on {text:?}"
        );
    }
}

#[test]
fn event_must_be_an_object() {
    assert!(matches(r#"{"source":["aws.kms"]}"#, &json!(["aws.kms"])).is_err());
}
