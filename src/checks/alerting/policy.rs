//! Just enough of IAM policy evaluation to judge a resource policy (a KMS
//! key policy, an SNS topic policy, an event bus policy) for one caller,
//! one resource and a few actions: explicit denies first, then whether an
//! allow applies (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
//! A statement whose bearing on the request depends on something cmkscan
//! does not know (a condition key it has no value for, `NotPrincipal`) is
//! reported as undecidable, naming the statement: never guessed.

use serde_json::Value;

/// Who makes the request.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// An AWS service acting on its own behalf (`events.amazonaws.com`).
    Service(&'a str),
    /// A principal of an account; `role` the role it uses, if known.
    Account {
        account: &'a str,
        role: Option<&'a str>,
    },
}

/// The request a policy is judged for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub caller: Caller<'a>,
    /// Every one of these must be allowed.
    pub actions: &'a [&'a str],
    pub resource: &'a str,
    /// Condition keys whose value cmkscan knows (names compared without
    /// regard to case, as IAM does).
    pub context: &'a [(&'a str, &'a str)],
    /// Condition keys known to be absent from the request: a condition on
    /// one of them is decided as IAM decides a missing key (false, except
    /// `…IfExists` and `Null`).
    pub absent: &'a [&'a str],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every action is allowed; the statement that allowed the first.
    Allowed(String),
    /// An explicit deny applies: the statement and the action.
    Denied { statement: String, action: String },
    /// No statement allows this action.
    NotAllowed(String),
    /// A statement may or may not apply: which, and why not known.
    Undecidable { statement: String, why: String },
    /// The policy is not a JSON policy document.
    Unreadable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Applies {
    Yes,
    No,
    Maybe(String),
}

impl Applies {
    /// Both must hold.
    fn and(self, other: impl FnOnce() -> Applies) -> Applies {
        match self {
            Applies::No => Applies::No,
            Applies::Yes => other(),
            Applies::Maybe(why) => match other() {
                Applies::No => Applies::No,
                _ => Applies::Maybe(why),
            },
        }
    }
}

/// Judges `policy` (a JSON policy document) for `request`.
pub fn decide(policy: &str, request: &Request<'_>) -> Decision {
    let document: Value = match serde_json::from_str(policy) {
        Ok(document) => document,
        Err(err) => return Decision::Unreadable(format!("not JSON: {err}")),
    };
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Decision::Unreadable("no Statement".into()),
    };
    let mut allowed_by = None;
    for action in request.actions {
        let mut allow = None;
        let mut maybe = None;
        for (index, statement) in statements.iter().enumerate() {
            let name = statement_name(statement, index);
            let applies = applies(statement, request, action);
            match (effect(statement), applies) {
                (_, Applies::No) => {}
                (Effect::Deny, Applies::Yes) => {
                    return Decision::Denied {
                        statement: name,
                        action: (*action).to_string(),
                    }
                }
                (Effect::Deny, Applies::Maybe(why)) => {
                    return Decision::Undecidable {
                        statement: name,
                        why: format!("a Deny that may apply: {why}"),
                    }
                }
                (Effect::Allow, Applies::Yes) => allow = allow.or(Some(name)),
                (Effect::Allow, Applies::Maybe(why)) => maybe = maybe.or(Some((name, why))),
                (Effect::Other(other), _) => {
                    return Decision::Unreadable(format!("statement {name} has Effect {other}"))
                }
            }
        }
        match (allow, maybe) {
            (Some(statement), _) => allowed_by = allowed_by.or(Some(statement)),
            (None, Some((statement, why))) => return Decision::Undecidable { statement, why },
            (None, None) => return Decision::NotAllowed((*action).to_string()),
        }
    }
    Decision::Allowed(allowed_by.unwrap_or_default())
}

/// `Sid` when it has one, otherwise its place (`#1` is the first).
fn statement_name(statement: &Value, index: usize) -> String {
    match statement.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("\"{sid}\""),
        _ => format!("#{}", index + 1),
    }
}

enum Effect {
    Allow,
    Deny,
    Other(String),
}

fn effect(statement: &Value) -> Effect {
    match statement.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => Effect::Other(other.unwrap_or("(none)").to_string()),
    }
}

fn applies(statement: &Value, request: &Request<'_>, action: &str) -> Applies {
    principal_applies(statement, request.caller)
        .and(|| list_applies(statement, "Action", "NotAction", action, true))
        .and(|| {
            list_applies(
                statement,
                "Resource",
                "NotResource",
                request.resource,
                false,
            )
        })
        .and(|| conditions_apply(statement.get("Condition"), request))
}

/// A string or a list of strings.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn principal_applies(statement: &Value, caller: Caller<'_>) -> Applies {
    if statement.get("NotPrincipal").is_some() {
        return Applies::Maybe("it uses NotPrincipal".into());
    }
    let Some(principal) = statement.get("Principal") else {
        // Resource policies need a principal; without one it applies to no one.
        return Applies::No;
    };
    if principal.as_str() == Some("*") {
        return Applies::Yes;
    }
    let Value::Object(kinds) = principal else {
        return Applies::Maybe(format!("its Principal {principal} is not understood"));
    };
    for (kind, names) in kinds {
        for name in strings(names) {
            let matched = match (kind.as_str(), caller) {
                // "Principal": {"AWS": "*"} means everyone, as "*" does.
                ("AWS", _) if name == "*" => true,
                ("Service", Caller::Service(service)) => name.eq_ignore_ascii_case(service),
                ("AWS", Caller::Account { account, role }) => {
                    name == account
                        || name == format!("arn:aws:iam::{account}:root")
                        || name.strip_suffix(&format!("::{account}:root")).is_some()
                        || role == Some(name)
                }
                _ => false,
            };
            if matched {
                return Applies::Yes;
            }
        }
    }
    Applies::No
}

/// `Action`/`NotAction` or `Resource`/`NotResource` against `value`: IAM
/// matches action names without regard to case, resources with it.
fn list_applies(
    statement: &Value,
    field: &str,
    not_field: &str,
    value: &str,
    ignore_case: bool,
) -> Applies {
    let matches_any = |list: &Value| strings(list).iter().any(|p| glob(p, value, ignore_case));
    match (statement.get(field), statement.get(not_field)) {
        (Some(list), None) => yes_if(matches_any(list)),
        (None, Some(list)) => yes_if(!matches_any(list)),
        (None, None) if field == "Resource" => Applies::Maybe("it names no Resource".into()),
        _ => Applies::No,
    }
}

fn yes_if(condition: bool) -> Applies {
    if condition {
        Applies::Yes
    } else {
        Applies::No
    }
}

/// IAM's wildcards: `*` any run of characters, `?` any one.
fn glob(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let (pattern, value): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            value.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), value.chars().collect())
    };
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == value[v]) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, v));
            p += 1;
        } else if let Some((star_p, star_v)) = star {
            p = star_p + 1;
            v = star_v + 1;
            star = Some((star_p, star_v + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn conditions_apply(condition: Option<&Value>, request: &Request<'_>) -> Applies {
    let Some(condition) = condition else {
        return Applies::Yes;
    };
    let Value::Object(operators) = condition else {
        return Applies::Maybe(format!("its Condition {condition} is not understood"));
    };
    let mut result = Applies::Yes;
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Applies::Maybe(format!("its condition {operator} is not understood"));
        };
        for (key, values) in keys {
            let one = condition_applies(operator, key, values, request);
            result = result.and(|| one);
            if result == Applies::No {
                return Applies::No;
            }
        }
    }
    result
}

fn condition_applies(operator: &str, key: &str, values: &Value, request: &Request<'_>) -> Applies {
    let unknown = || Applies::Maybe(format!("its condition {operator} on {key}"));
    if operator.starts_with("ForAnyValue:") || operator.starts_with("ForAllValues:") {
        return unknown();
    }
    let known = request
        .context
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, value)| *value);
    let is_absent = known.is_none() && request.absent.iter().any(|a| a.eq_ignore_ascii_case(key));
    let (base, if_exists) = match operator.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (operator, false),
    };
    if base == "Null" {
        // {"Null": {"key": "true"}} holds when the key is absent.
        let wants_absent = strings(values)
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true"));
        return match (known, is_absent) {
            (Some(_), _) => yes_if(!wants_absent),
            (None, true) => yes_if(wants_absent),
            (None, false) => unknown(),
        };
    }
    let Some(actual) = known else {
        return if is_absent {
            // A condition on a key the request lacks is false, unless it
            // only applies when the key exists.
            yes_if(if_exists)
        } else {
            unknown()
        };
    };
    let wanted = strings(values);
    let matched = match base {
        "StringEquals" | "ArnEquals" => wanted.contains(&actual),
        "StringEqualsIgnoreCase" => wanted.iter().any(|w| w.eq_ignore_ascii_case(actual)),
        "StringLike" | "ArnLike" => wanted.iter().any(|w| glob(w, actual, false)),
        "StringNotEquals" | "ArnNotEquals" => !wanted.contains(&actual),
        "StringNotLike" | "ArnNotLike" => !wanted.iter().any(|w| glob(w, actual, false)),
        _ => return unknown(),
    };
    yes_if(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k";
    const ALARM: &str = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:kms-alarm";

    fn cloudwatch_uses_key(policy: &str) -> Decision {
        decide(
            policy,
            &Request {
                caller: Caller::Service("cloudwatch.amazonaws.com"),
                actions: &["kms:Decrypt", "kms:GenerateDataKey"],
                resource: KEY,
                context: &[
                    ("aws:SourceArn", ALARM),
                    ("aws:SourceAccount", "111122223333"),
                ],
                absent: &[],
            },
        )
    }

    fn statement(body: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#)
    }

    const ROOT: &str = r#"{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#;

    #[test]
    fn the_root_delegation_does_not_admit_a_service() {
        assert_eq!(
            cloudwatch_uses_key(&statement(ROOT)),
            Decision::NotAllowed("kms:Decrypt".into())
        );
    }

    #[test]
    fn a_service_statement_with_both_actions_allows() {
        let allow = r#"{"Sid":"AllowCloudWatch","Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*"}"#;
        assert_eq!(
            cloudwatch_uses_key(&statement(&format!("{ROOT},{allow}"))),
            Decision::Allowed("\"AllowCloudWatch\"".into())
        );
        // One of the two actions only.
        let decrypt_only = r#"{"Effect":"Allow","Principal":{"Service":["cloudwatch.amazonaws.com"]},"Action":"kms:Decrypt","Resource":"*"}"#;
        assert_eq!(
            cloudwatch_uses_key(&statement(decrypt_only)),
            Decision::NotAllowed("kms:GenerateDataKey".into())
        );
    }

    #[test]
    fn source_conditions_are_judged_with_the_alarm() {
        let with = |operator: &str, key: &str, value: &str| {
            statement(&format!(
                r#"{{"Effect":"Allow","Principal":{{"Service":"cloudwatch.amazonaws.com"}},"Action":"kms:*","Resource":"*","Condition":{{"{operator}":{{"{key}":"{value}"}}}}}}"#
            ))
        };
        assert!(matches!(
            cloudwatch_uses_key(&with("ArnEquals", "aws:SourceArn", ALARM)),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            cloudwatch_uses_key(&with(
                "ArnLike",
                "AWS:SourceArn",
                "arn:aws:cloudwatch:us-east-1:111122223333:alarm:*"
            )),
            Decision::Allowed(_)
        ));
        assert_eq!(
            cloudwatch_uses_key(&with("StringEquals", "aws:SourceAccount", "999999999999")),
            Decision::NotAllowed("kms:Decrypt".into())
        );
        assert_eq!(
            cloudwatch_uses_key(&with(
                "StringEquals",
                "kms:ViaService",
                "sns.us-east-1.amazonaws.com"
            )),
            Decision::Undecidable {
                statement: "#1".into(),
                why: "its condition StringEquals on kms:ViaService".into()
            }
        );
    }

    #[test]
    fn denies_decide_first() {
        let allow_all = r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#;
        let deny = r#"{"Sid":"NoCloudWatch","Effect":"Deny","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"}"#;
        assert_eq!(
            cloudwatch_uses_key(&statement(&format!("{allow_all},{deny}"))),
            Decision::Denied {
                statement: "\"NoCloudWatch\"".into(),
                action: "kms:Decrypt".into()
            }
        );
        let not_action =
            r#"{"Effect":"Deny","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}"#;
        assert!(matches!(
            cloudwatch_uses_key(&statement(&format!("{allow_all},{not_action}"))),
            Decision::Denied { action, .. } if action == "kms:GenerateDataKey"
        ));
        let not_principal =
            r#"{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"Action":"*","Resource":"*"}"#;
        assert!(matches!(
            cloudwatch_uses_key(&statement(&format!("{allow_all},{not_principal}"))),
            Decision::Undecidable { .. }
        ));
    }

    #[test]
    fn absent_keys_fail_their_conditions() {
        // The SNS default statement, judged for EventBridge, which passes no
        // condition context to SNS.
        let default = r#"{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:Publish"],"Resource":"arn:aws:sns:us-east-1:111122223333:t","Condition":{"StringEquals":{"AWS:SourceOwner":"111122223333"}}}"#;
        let events = |policy: &str| {
            decide(
                policy,
                &Request {
                    caller: Caller::Service("events.amazonaws.com"),
                    actions: &["sns:Publish"],
                    resource: "arn:aws:sns:us-east-1:111122223333:t",
                    context: &[],
                    absent: &["aws:SourceOwner", "aws:SourceArn", "aws:SourceAccount"],
                },
            )
        };
        assert_eq!(
            events(&statement(default)),
            Decision::NotAllowed("sns:Publish".into())
        );
        let plain = r#"{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"arn:aws:sns:us-east-1:111122223333:t"}"#;
        assert!(matches!(
            events(&statement(&format!("{default},{plain}"))),
            Decision::Allowed(_)
        ));
        let other_topic = plain.replace(":t\"", ":other\"");
        assert_eq!(
            events(&statement(&other_topic)),
            Decision::NotAllowed("sns:Publish".into())
        );
        assert!(matches!(events("not json"), Decision::Unreadable(_)));
    }

    #[test]
    fn an_account_is_named_by_id_root_or_its_role() {
        let bus = |principal: &str, role: Option<&str>| {
            decide(
                &statement(&format!(
                    r#"{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:999999999999:event-bus/central"}}"#
                )),
                &Request {
                    caller: Caller::Account {
                        account: "111122223333",
                        role,
                    },
                    actions: &["events:PutEvents"],
                    resource: "arn:aws:events:us-east-1:999999999999:event-bus/central",
                    context: &[],
                    absent: &[],
                },
            )
        };
        assert!(matches!(bus("111122223333", None), Decision::Allowed(_)));
        assert!(matches!(
            bus("arn:aws:iam::111122223333:root", None),
            Decision::Allowed(_)
        ));
        let role = "arn:aws:iam::111122223333:role/forwarder";
        assert!(matches!(bus(role, Some(role)), Decision::Allowed(_)));
        assert!(matches!(bus(role, None), Decision::NotAllowed(_)));
        assert!(matches!(bus("444455556666", None), Decision::NotAllowed(_)));
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(glob("kms:GenerateDataKey*", "kms:GenerateDataKey", true));
        assert!(glob("KMS:*", "kms:Decrypt", true));
        assert!(glob("kms:?ecrypt", "kms:Decrypt", true));
        assert!(!glob("kms:Encrypt", "kms:Decrypt", true));
        assert!(glob(
            "arn:aws:sns:*:111122223333:*",
            "arn:aws:sns:us-east-1:111122223333:t",
            false
        ));
        assert!(!glob("arn:aws:sns:*:1:T", "arn:aws:sns:x:1:t", false));
        assert!(glob("*", "", false));
    }
}
