//! EventBridge rules on a region's default event bus: CloudTrail delivers
//! "AWS API Call via CloudTrail" events only there.
//!
//! Which rules get their targets fetched is decided from the rule alone (see
//! [`targets_fetch`]), not by asking the checks which rules match: the
//! evidence must hold the targets of every rule any evaluator version could
//! count, or re-evaluating it with a better one would find them missing.

use std::fmt;

use futures::future::join_all;
use futures::TryStreamExt;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::session::AccountSession;
use crate::api::Api;
use crate::facts::{Fetched, RuleFacts, TargetsFetch};
use crate::throttle::QuotaScope;

pub async fn rules(session: &AccountSession, region: &str) -> Fetched<Vec<RuleFacts>> {
    let client = session.events(region);
    let scope = session.scope(region);
    let rules = session
        .throttle
        .all_pages(
            Api::EventsListRules,
            scope.clone(),
            |token| client.list_rules().set_next_token(token).send(),
            |page| page.next_token(),
            |page| page.rules().iter().map(rule_facts).collect(),
        )
        .await?;
    Ok(join_all(rules.into_iter().map(|mut rule| {
        let (client, scope) = (&client, &scope);
        async move {
            if rule.targets_fetch == TargetsFetch::Fetched {
                rule.targets = Some(count_targets(session, client, scope, &rule.name).await);
            }
            rule
        }
    }))
    .await)
}

fn rule_facts(rule: &aws_sdk_eventbridge::types::Rule) -> RuleFacts {
    let state = rule
        .state()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let event_pattern = rule.event_pattern().map(str::to_string);
    RuleFacts {
        name: rule.name().unwrap_or_default().to_string(),
        targets_fetch: targets_fetch(&state, event_pattern.as_deref()),
        state,
        event_pattern,
        // Filled in by `rules` when `targets_fetch` says so.
        targets: None,
    }
}

/// Whether a rule's targets are worth a request: unless it is `DISABLED`,
/// has no pattern, or its pattern provably concerns other sources only,
/// they are. The test is syntactic and deliberately coarse: every rule an
/// evaluator could find catching the KMS events gets its targets fetched,
/// whatever that evaluator understands of the rest of the pattern. (Any
/// state other than `DISABLED` counts as enabled here, so a state AWS adds
/// later is not skipped.)
fn targets_fetch(state: &str, event_pattern: Option<&str>) -> TargetsFetch {
    if state == "DISABLED" {
        return TargetsFetch::NotFetchedDisabled;
    }
    let Some(pattern) = event_pattern else {
        return TargetsFetch::NotFetchedNoPattern;
    };
    match other_sources(pattern) {
        Some(sources) => TargetsFetch::NotFetchedOtherSources(sources),
        None => TargetsFetch::Fetched,
    }
}

/// The values of the pattern's top-level `source` when they exclude every
/// KMS event: a non-empty list of plain strings, none of them `aws.kms` in
/// any letter case. A pattern's top-level keys must all match, so such a
/// pattern matches only events from those sources, while every KMS event
/// on the bus has the source `aws.kms`. `None` for anything else: not a
/// JSON object, no `source` key or more than one, a `source` that is not a
/// list, or a list with an operator (`prefix`, `anything-but`, `wildcard`,
/// …), a number or `null` in it.
fn other_sources(pattern: &str) -> Option<Vec<String>> {
    let Entries(entries) = serde_json::from_str(pattern).ok()?;
    let mut sources = entries.into_iter().filter(|(key, _)| key == "source");
    let (_, value) = sources.next()?;
    if sources.next().is_some() {
        return None;
    }
    let Value::Array(values) = value else {
        return None;
    };
    let names = values
        .into_iter()
        .map(|value| match value {
            Value::String(name) => Some(name),
            _ => None,
        })
        .collect::<Option<Vec<String>>>()?;
    let excludes_kms =
        !names.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case("aws.kms"));
    excludes_kms.then_some(names)
}

/// A JSON object's entries in their order, repeated keys included:
/// `serde_json`'s map keeps only the last of them, and an evaluator might
/// read the first.
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;

        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// Targets of a rule, across pages (a rule holds at most five, so this is
/// nearly always one request).
async fn count_targets(
    session: &AccountSession,
    client: &aws_sdk_eventbridge::Client,
    scope: &QuotaScope,
    rule: &str,
) -> Fetched<u32> {
    let count = session
        .throttle
        .pages(
            Api::EventsListTargetsByRule,
            scope.clone(),
            |token| {
                client
                    .list_targets_by_rule()
                    .rule(rule)
                    .set_next_token(token)
                    .send()
            },
            |page| page.next_token(),
        )
        .try_fold(0usize, |count, page| async move {
            Ok(count + page.targets().len())
        })
        .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::checks::kms_events::{rule_coverage, PatternCoverage, Subject};

    const CIS: &str = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;

    fn fetch(pattern: &str) -> TargetsFetch {
        targets_fetch("ENABLED", Some(pattern))
    }

    #[test]
    fn disabled_and_scheduled_rules_are_skipped_with_the_reason() {
        assert_eq!(
            targets_fetch("DISABLED", Some(CIS)),
            TargetsFetch::NotFetchedDisabled
        );
        assert_eq!(
            targets_fetch("ENABLED", None),
            TargetsFetch::NotFetchedNoPattern
        );
        for state in [
            "ENABLED",
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
            "",
            "SOMETHING_NEW",
        ] {
            assert_eq!(targets_fetch(state, Some(CIS)), TargetsFetch::Fetched);
        }
    }

    #[test]
    fn only_plain_lists_of_other_sources_are_skipped() {
        let skipped = |sources: &[&str]| {
            TargetsFetch::NotFetchedOtherSources(sources.iter().map(|s| s.to_string()).collect())
        };
        assert_eq!(fetch(r#"{"source":["aws.ec2"]}"#), skipped(&["aws.ec2"]));
        assert_eq!(
            fetch(r#"{"detail":{"eventName":["DisableKey"]},"source":["aws.ec2","aws.s3"]}"#),
            skipped(&["aws.ec2", "aws.s3"])
        );
        // An operator elsewhere does not matter: `source` alone excludes KMS.
        assert_eq!(
            fetch(r#"{"source":["aws.ec2"],"detail":{"x":[{"regex":"y"}]}}"#),
            skipped(&["aws.ec2"])
        );
        for pattern in [
            CIS,
            r#"{"source":["aws.ec2","aws.kms"]}"#,
            r#"{"source":["AWS.KMS"]}"#,
            r#"{"source":["aws.km\u0073"]}"#,
            r#"{"source":[{"prefix":"aws."}]}"#,
            r#"{"source":[{"anything-but":"aws.ec2"}]}"#,
            r#"{"source":[{"wildcard":"aws.*"}]}"#,
            r#"{"source":[{"equals-ignore-case":"AWS.KMS"}]}"#,
            r#"{"source":[{"exists":true}]}"#,
            r#"{"source":["aws.ec2",null]}"#,
            r#"{"source":["aws.ec2",1]}"#,
            r#"{"source":[]}"#,
            r#"{"source":"aws.ec2"}"#,
            r#"{"source":{"prefix":"aws.ec2"}}"#,
            r#"{"source":["aws.ec2"],"source":["aws.kms"]}"#,
            r#"{"source":["aws.kms"],"source":["aws.ec2"]}"#,
            r#"{"detail-type":["AWS API Call via CloudTrail"]}"#,
            r#"{"$or":[{"source":["aws.ec2"]},{"source":["aws.kms"]}]}"#,
            r#"{"Source":["aws.ec2"]}"#,
            r#"["aws.ec2"]"#,
            "not json",
            "",
        ] {
            assert_eq!(fetch(pattern), TargetsFetch::Fetched, "{pattern}");
        }
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
                        targets_fetch(state, Some(pattern)),
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
}
