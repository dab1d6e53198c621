//! An event walked with a compiled pattern's matchers.

use std::net::IpAddr;

use serde_json::{Number, Value};

use super::compile::{
    ascii_lower, FieldPattern, LeafMatcher, ObjectPattern, Range, ValueTest, WildcardToken,
};
use super::{Verdict, NUMERIC_LIMIT};
use crate::checks::Undecidable;

pub(super) struct Ctx<'e> {
    pub(super) root: &'e Value,
    /// Set once the walk has gone into an element of an event array of objects.
    pub(super) under_array: bool,
}

/// Kleene AND: a definite `false` wins over an undecidable part.
fn all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut unknown = None;
    for verdict in verdicts {
        match verdict {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => {
                unknown.get_or_insert(e);
            }
        }
    }
    unknown.map_or(Ok(true), Err)
}

/// Kleene OR: a definite `true` wins over an undecidable part.
fn any(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut unknown = None;
    for verdict in verdicts {
        match verdict {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(e) => {
                unknown.get_or_insert(e);
            }
        }
    }
    unknown.map_or(Ok(false), Err)
}

pub(super) fn eval_object(
    pattern: &ObjectPattern,
    node: Option<&Value>,
    ctx: &Ctx,
    path: &[&str],
) -> Verdict {
    if let Some(Value::Array(items)) = node {
        let inner = Ctx {
            under_array: true,
            ..*ctx
        };
        // An empty array still lets an all-`exists: false` sub-pattern match.
        if items.is_empty() {
            return eval_object(pattern, None, &inner, path);
        }
        return any(items
            .iter()
            .map(|item| eval_object(pattern, Some(item), &inner, path)));
    }
    let fields = pattern.fields.iter().map(|(key, field)| {
        let child = node.and_then(|n| n.get(key));
        let mut child_path = path.to_vec();
        child_path.push(key.as_str());
        match field {
            FieldPattern::Object(sub) => eval_object(sub, child, ctx, &child_path),
            FieldPattern::Leaf(matchers) => {
                let mut values = Vec::new();
                if let Some(child) = child {
                    leaf_values(child, &mut values);
                }
                eval_leaf(matchers, &values, ctx, &child_path)
            }
        }
    });
    let alternatives = pattern
        .alternatives
        .iter()
        .map(|branches| any(branches.iter().map(|b| eval_object(b, node, ctx, path))));
    all(fields.chain(alternatives))
}

/// Scalars at a leaf position; arrays are flattened, objects hold no value here.
fn leaf_values<'e>(node: &'e Value, out: &mut Vec<&'e Value>) {
    match node {
        Value::Array(items) => items.iter().for_each(|item| leaf_values(item, out)),
        Value::Object(_) => {}
        scalar => out.push(scalar),
    }
}

/// Scalars at `path` anywhere in the event, through every array element.
fn values_at<'e>(node: &'e Value, path: &[&str], out: &mut Vec<&'e Value>) {
    let Some((first, rest)) = path.split_first() else {
        return leaf_values(node, out);
    };
    match node {
        Value::Object(fields) => {
            if let Some(child) = fields.get(*first) {
                values_at(child, rest, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| values_at(item, path, out)),
        _ => {}
    }
}

fn eval_leaf(matchers: &[LeafMatcher], values: &[&Value], ctx: &Ctx, path: &[&str]) -> Verdict {
    any(matchers.iter().map(|matcher| match matcher {
        LeafMatcher::Exists(true) => Ok(!values.is_empty()),
        LeafMatcher::Exists(false) => absent(values, ctx, path),
        LeafMatcher::Value(test) => any(values.iter().map(|v| test.test(v))),
        LeafMatcher::AnythingBut(excluded) => any(values
            .iter()
            .map(|v| any(excluded.iter().map(|test| test.test(v))).map(|hit| !hit))),
    }))
}

fn absent(values: &[&Value], ctx: &Ctx, path: &[&str]) -> Verdict {
    if !values.is_empty() {
        return Ok(false);
    }
    if !ctx.under_array {
        return Ok(true);
    }
    let mut everywhere = Vec::new();
    values_at(ctx.root, path, &mut everywhere);
    if everywhere.is_empty() {
        Ok(true)
    } else {
        Err(Undecidable::new(format!(
            "{}: exists:false below an array of objects whose elements differ on that field",
            path.join(".")
        )))
    }
}

impl ValueTest {
    fn test(&self, value: &Value) -> Verdict {
        if let Value::Number(n) = value {
            return self.test_number(n);
        }
        let Value::String(s) = value else {
            return Ok(match (self, value) {
                (Self::Bool(b), Value::Bool(v)) => b == v,
                (Self::Null, Value::Null) => true,
                _ => false,
            });
        };
        Ok(match self {
            Self::Text { text, ip } => {
                text == s
                    || ip
                        .is_some_and(|ip| s.parse::<IpAddr>().is_ok_and(|v| v.to_canonical() == ip))
            }
            Self::Prefix(p) => s.starts_with(p.as_str()),
            Self::Suffix(p) => s.ends_with(p.as_str()),
            Self::PrefixIgnoreCase(p) => ascii_lower(s, "event value")?.starts_with(p.as_str()),
            Self::SuffixIgnoreCase(p) => ascii_lower(s, "event value")?.ends_with(p.as_str()),
            Self::EqualsIgnoreCase(p) => ascii_lower(s, "event value")? == *p,
            Self::Wildcard(tokens) => wildcard_matches(tokens, s),
            Self::Cidr(cidr) => s
                .parse::<IpAddr>()
                .is_ok_and(|ip| cidr.contains(ip.to_canonical())),
            Self::Number(_) | Self::Bool(_) | Self::Null | Self::NumberEq(_) | Self::Range(_) => {
                false
            }
        })
    }

    fn test_number(&self, n: &Number) -> Verdict {
        let x = n.as_f64().unwrap_or(f64::NAN);
        let in_range = x.abs() <= NUMERIC_LIMIT;
        Ok(match self {
            Self::Number(p) => return number_literal_eq(p, n),
            Self::NumberEq(p) => in_range && x == *p,
            Self::Range(range) => in_range && range.contains(x),
            _ => false,
        })
    }
}

fn number_literal_eq(pattern: &Number, event: &Number) -> Verdict {
    let as_int = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    if let (Some(p), Some(e)) = (as_int(pattern), as_int(event)) {
        return Ok(p == e);
    }
    let (p, e) = (
        pattern.as_f64().unwrap_or(f64::NAN),
        event.as_f64().unwrap_or(f64::NAN),
    );
    if (p.abs() <= NUMERIC_LIMIT && e.abs() <= NUMERIC_LIMIT) || p != e {
        return Ok(p == e);
    }
    Err(Undecidable::new(format!(
        "number literal {pattern} vs event value {event}: beyond ±5e9 EventBridge compares the JSON text"
    )))
}

impl Range {
    fn contains(&self, x: f64) -> bool {
        let above = self.lower.as_ref().is_none_or(|b| {
            if b.inclusive {
                x >= b.value
            } else {
                x > b.value
            }
        });
        let below = self.upper.as_ref().is_none_or(|b| {
            if b.inclusive {
                x <= b.value
            } else {
                x < b.value
            }
        });
        above && below
    }
}

/// Glob match where `*` spans any run of characters, including none.
pub(super) fn wildcard_matches(tokens: &[WildcardToken], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let (mut t, mut c) = (0, 0);
    // Position of the last `*` and the text index it currently stands for.
    let mut backtrack: Option<(usize, usize)> = None;
    while c < chars.len() {
        match tokens.get(t) {
            Some(WildcardToken::Star) => {
                backtrack = Some((t, c));
                t += 1;
                continue;
            }
            Some(WildcardToken::Literal(l)) if *l == chars[c] => {
                t += 1;
                c += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((star, from)) => {
                backtrack = Some((star, from + 1));
                t = star + 1;
                c = from + 1;
            }
            None => return false,
        }
    }
    tokens[t..]
        .iter()
        .all(|token| *token == WildcardToken::Star)
}
