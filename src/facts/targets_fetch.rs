//! Whether a rule's targets are fetched: decided from the rule alone, by
//! a syntactic test of its state and pattern, never by an evaluator, so
//! that the evidence holds the targets of every rule any version of the
//! checks could count.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::TargetsFetch;

impl TargetsFetch {
    /// Whether a rule's targets are worth a request: unless it is `DISABLED`,
    /// has no pattern, or its pattern provably concerns other sources only,
    /// they are. The test is syntactic and deliberately coarse: every rule an
    /// evaluator could find catching the KMS events gets its targets fetched,
    /// whatever that evaluator understands of the rest of the pattern. (Any
    /// state other than `DISABLED` counts as enabled here, so a state AWS adds
    /// later is not skipped.)
    pub fn of(state: &str, event_pattern: Option<&str>) -> TargetsFetch {
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

#[cfg(test)]
mod tests {
    use super::*;

    const CIS: &str = r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["DisableKey","ScheduleKeyDeletion"]}}"#;

    fn fetch(pattern: &str) -> TargetsFetch {
        TargetsFetch::of("ENABLED", Some(pattern))
    }

    #[test]
    fn disabled_and_scheduled_rules_are_skipped_with_the_reason() {
        assert_eq!(
            TargetsFetch::of("DISABLED", Some(CIS)),
            TargetsFetch::NotFetchedDisabled
        );
        assert_eq!(
            TargetsFetch::of("ENABLED", None),
            TargetsFetch::NotFetchedNoPattern
        );
        for state in [
            "ENABLED",
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
            "",
            "SOMETHING_NEW",
        ] {
            assert_eq!(TargetsFetch::of(state, Some(CIS)), TargetsFetch::Fetched);
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
}
