//! An event pattern checked and turned into matchers.

use std::net::IpAddr;

use serde_json::{Map, Number, Value};

use super::NUMERIC_LIMIT;
use crate::checks::Undecidable;

/// Operator names EventBridge refuses as field names inside `$or`, so that a
/// mistyped operator is not silently read as a field.
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

pub(super) struct ObjectPattern {
    pub(super) fields: Vec<(String, FieldPattern)>,
    /// Each entry is one `$or`: at least one of its branches must match.
    pub(super) alternatives: Vec<Vec<ObjectPattern>>,
}

pub(super) enum FieldPattern {
    Object(ObjectPattern),
    Leaf(Vec<LeafMatcher>),
}

pub(super) enum LeafMatcher {
    Value(ValueTest),
    AnythingBut(Vec<ValueTest>),
    Exists(bool),
}

/// A test on one scalar value of the event.
pub(super) enum ValueTest {
    Text {
        text: String,
        ip: Option<IpAddr>,
    },
    Number(Number),
    Bool(bool),
    Null,
    Prefix(String),
    Suffix(String),
    /// Operand already lowercased (ASCII).
    PrefixIgnoreCase(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Vec<WildcardToken>),
    /// A number excluded by `anything-but`: compared as a number only.
    NumberEq(f64),
    Range(Range),
    Cidr(Cidr),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum WildcardToken {
    Literal(char),
    Star,
}

pub(super) struct Bound {
    pub(super) value: f64,
    pub(super) inclusive: bool,
}

pub(super) struct Range {
    pub(super) lower: Option<Bound>,
    pub(super) upper: Option<Bound>,
}

pub(super) struct Cidr {
    pub(super) network: IpAddr,
    pub(super) prefix_len: u32,
}

impl Cidr {
    fn width(&self) -> u32 {
        match self.network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        let shift = self.width() - self.prefix_len;
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(shift).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(shift).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}
fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

fn invalid(at: &str, what: impl std::fmt::Display) -> Undecidable {
    let at = if at.is_empty() { "pattern" } else { at };
    Undecidable::new(format!("{at}: {what}"))
}

pub(super) fn compile_object(
    obj: &Map<String, Value>,
    at: &str,
    in_or: bool,
) -> Result<ObjectPattern, Undecidable> {
    if obj.is_empty() {
        return Err(invalid(at, "empty object in event pattern"));
    }
    let mut pattern = ObjectPattern {
        fields: Vec::new(),
        alternatives: Vec::new(),
    };
    for (key, value) in obj {
        if key == "$or" {
            pattern.alternatives.push(compile_or(value, at)?);
            continue;
        }
        let here = join(at, key);
        if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
            return Err(invalid(
                &here,
                format!("operator {key:?} used as a field inside $or"),
            ));
        }
        if key.contains('.') {
            return Err(invalid(&here, "pattern key containing '.'"));
        }
        let field = match value {
            Value::Object(sub) => FieldPattern::Object(compile_object(sub, &here, in_or)?),
            Value::Array(items) => FieldPattern::Leaf(compile_leaf(items, &here)?),
            _ => return Err(invalid(&here, "must be an object or an array")),
        };
        pattern.fields.push((key.clone(), field));
    }
    Ok(pattern)
}

fn compile_or(value: &Value, at: &str) -> Result<Vec<ObjectPattern>, Undecidable> {
    let here = join(at, "$or");
    let branches = match value {
        Value::Array(branches) if branches.len() >= 2 => branches,
        _ => {
            return Err(invalid(
                &here,
                "$or must be an array of at least two objects",
            ))
        }
    };
    branches
        .iter()
        .map(|branch| match branch {
            Value::Object(obj) => compile_object(obj, at, true),
            _ => Err(invalid(&here, "$or may only contain objects")),
        })
        .collect()
}

fn compile_leaf(items: &[Value], at: &str) -> Result<Vec<LeafMatcher>, Undecidable> {
    if items.is_empty() {
        return Err(invalid(at, "empty array in event pattern"));
    }
    items
        .iter()
        .map(|item| {
            Ok(match item {
                Value::String(s) => LeafMatcher::Value(ValueTest::Text {
                    text: s.clone(),
                    ip: s.parse().ok().map(|ip: IpAddr| ip.to_canonical()),
                }),
                Value::Number(n) => LeafMatcher::Value(ValueTest::Number(n.clone())),
                Value::Bool(b) => LeafMatcher::Value(ValueTest::Bool(*b)),
                Value::Null => LeafMatcher::Value(ValueTest::Null),
                Value::Array(_) => return Err(invalid(at, "nested array in a leaf")),
                Value::Object(op) => compile_operator(op, at)?,
            })
        })
        .collect()
}

fn single_entry<'a>(
    obj: &'a Map<String, Value>,
    at: &str,
) -> Result<(&'a str, &'a Value), Undecidable> {
    let mut entries = obj.iter();
    match (entries.next(), entries.next()) {
        (Some((key, value)), None) => Ok((key.as_str(), value)),
        _ => Err(invalid(
            at,
            format!(
                "operator object must have exactly one key: {}",
                Value::Object(obj.clone())
            ),
        )),
    }
}

fn string_operand<'a>(op: &str, arg: &'a Value, at: &str) -> Result<&'a str, Undecidable> {
    arg.as_str()
        .ok_or_else(|| invalid(at, format!("{op} operand must be a string, got {arg}")))
}

fn compile_operator(obj: &Map<String, Value>, at: &str) -> Result<LeafMatcher, Undecidable> {
    let (op, arg) = single_entry(obj, at)?;
    let test = match op {
        "prefix" | "suffix" => compile_affix(op, arg, at)?,
        "equals-ignore-case" => {
            ValueTest::EqualsIgnoreCase(ascii_lower(string_operand(op, arg, at)?, at)?)
        }
        "wildcard" => ValueTest::Wildcard(parse_wildcard(string_operand(op, arg, at)?, at)?),
        "numeric" => ValueTest::Range(parse_numeric(arg, at)?),
        "cidr" => ValueTest::Cidr(parse_cidr(string_operand(op, arg, at)?, at)?),
        "anything-but" => return Ok(LeafMatcher::AnythingBut(compile_anything_but(arg, at)?)),
        "exists" => {
            return match arg {
                Value::Bool(b) => Ok(LeafMatcher::Exists(*b)),
                _ => Err(invalid(
                    at,
                    format!("exists operand must be true or false, got {arg}"),
                )),
            }
        }
        _ => return Err(invalid(at, format!("unsupported operator {op:?}"))),
    };
    Ok(LeafMatcher::Value(test))
}

fn compile_affix(op: &str, arg: &Value, at: &str) -> Result<ValueTest, Undecidable> {
    let is_prefix = op == "prefix";
    if let Value::Object(inner) = arg {
        let (inner_op, inner_arg) = single_entry(inner, at)?;
        if inner_op != "equals-ignore-case" {
            return Err(invalid(
                at,
                format!("unsupported {op} operator {inner_op:?}"),
            ));
        }
        let text = ascii_lower(string_operand(inner_op, inner_arg, at)?, at)?;
        return Ok(if is_prefix {
            ValueTest::PrefixIgnoreCase(text)
        } else {
            ValueTest::SuffixIgnoreCase(text)
        });
    }
    let text = string_operand(op, arg, at)?.to_owned();
    Ok(if is_prefix {
        ValueTest::Prefix(text)
    } else {
        ValueTest::Suffix(text)
    })
}

fn compile_anything_but(arg: &Value, at: &str) -> Result<Vec<ValueTest>, Undecidable> {
    let excluded_text = |s: &str| ValueTest::Text {
        text: s.to_owned(),
        ip: None,
    };
    if let Some(texts) = strings(arg) {
        return Ok(texts.into_iter().map(excluded_text).collect());
    }
    let numbers = match arg {
        Value::Number(n) => Some(vec![n]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_number).collect(),
        _ => None,
    };
    if let Some(numbers) = numbers {
        return numbers
            .into_iter()
            .map(|n| bounded(n, at).map(ValueTest::NumberEq))
            .collect();
    }
    let Value::Object(inner) = arg else {
        return Err(invalid(
            at,
            format!("anything-but needs strings, numbers or an operator, got {arg}"),
        ));
    };
    let (op, operand) = single_entry(inner, at)?;
    let make: fn(&str, &str) -> Result<ValueTest, Undecidable> = match op {
        "prefix" => |t, at| non_empty(t, at).map(|t| ValueTest::Prefix(t.to_owned())),
        "suffix" => |t, at| non_empty(t, at).map(|t| ValueTest::Suffix(t.to_owned())),
        "equals-ignore-case" => |t, at| ascii_lower(t, at).map(ValueTest::EqualsIgnoreCase),
        "wildcard" => |t, at| parse_wildcard(t, at).map(ValueTest::Wildcard),
        _ => {
            return Err(invalid(
                at,
                format!("unsupported anything-but operator {op:?}"),
            ))
        }
    };
    let texts = strings(operand).ok_or_else(|| {
        invalid(
            at,
            format!("anything-but {op} needs strings, got {operand}"),
        )
    })?;
    texts.into_iter().map(|t| make(t, at)).collect()
}

/// A string, or a non-empty list of strings.
fn strings(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn non_empty<'a>(text: &'a str, at: &str) -> Result<&'a str, Undecidable> {
    if text.is_empty() {
        Err(invalid(at, "anything-but with an empty prefix or suffix"))
    } else {
        Ok(text)
    }
}

fn bounded(n: &Number, at: &str) -> Result<f64, Undecidable> {
    match n.as_f64() {
        Some(x) if x.abs() <= NUMERIC_LIMIT => Ok(x),
        _ => Err(invalid(
            at,
            format!("number {n} outside EventBridge's numeric range ±5e9"),
        )),
    }
}

fn parse_numeric(arg: &Value, at: &str) -> Result<Range, Undecidable> {
    let bad = || invalid(at, format!("unsupported numeric expression {arg}"));
    let items = arg.as_array().ok_or_else(bad)?;
    let op = |i: usize| items.get(i).and_then(Value::as_str);
    let bound = |i: usize, inclusive: bool| -> Result<Bound, Undecidable> {
        let n = items.get(i).and_then(Value::as_number).ok_or_else(bad)?;
        Ok(Bound {
            value: bounded(n, at)?,
            inclusive,
        })
    };
    let lower = |inclusive| bound(1, inclusive).map(Some);
    match (items.len(), op(0)) {
        (2, Some("=")) => Ok(Range {
            lower: Some(bound(1, true)?),
            upper: Some(bound(1, true)?),
        }),
        (2, Some(o @ ("<" | "<="))) => Ok(Range {
            lower: None,
            upper: Some(bound(1, o == "<=")?),
        }),
        (2, Some(o @ (">" | ">="))) => Ok(Range {
            lower: lower(o == ">=")?,
            upper: None,
        }),
        (4, Some(o @ (">" | ">="))) => {
            let upper_inclusive = match op(2) {
                Some("<") => false,
                Some("<=") => true,
                _ => return Err(bad()),
            };
            let range = Range {
                lower: lower(o == ">=")?,
                upper: Some(bound(3, upper_inclusive)?),
            };
            match (&range.lower, &range.upper) {
                (Some(l), Some(u)) if l.value < u.value => Ok(range),
                _ => Err(invalid(at, format!("empty numeric range {arg}"))),
            }
        }
        _ => Err(bad()),
    }
}

pub(super) fn parse_wildcard(text: &str, at: &str) -> Result<Vec<WildcardToken>, Undecidable> {
    let mut tokens = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let token = match c {
            '*' if tokens.last() == Some(&WildcardToken::Star) => {
                return Err(invalid(
                    at,
                    format!("wildcard {text:?} has consecutive '*'"),
                ))
            }
            '*' => WildcardToken::Star,
            '\\' => match chars.next() {
                Some(escaped @ ('*' | '\\')) => WildcardToken::Literal(escaped),
                _ => {
                    return Err(invalid(
                        at,
                        format!("wildcard {text:?} has an invalid escape"),
                    ))
                }
            },
            c => WildcardToken::Literal(c),
        };
        tokens.push(token);
    }
    Ok(tokens)
}

fn parse_cidr(text: &str, at: &str) -> Result<Cidr, Undecidable> {
    let bad = |why: &str| invalid(at, format!("cidr {text:?}: {why}"));
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| bad("no prefix length"))?;
    // EventBridge reads an IPv4-mapped IPv6 address as the IPv4 address.
    let network = addr
        .parse::<IpAddr>()
        .map_err(|_| bad("not an IP address"))?
        .to_canonical();
    let prefix_len: u32 = len.parse().map_err(|_| bad("bad prefix length"))?;
    let cidr = Cidr {
        network,
        prefix_len,
    };
    // EventBridge's engine rejects full-length prefixes (/32, /128).
    if prefix_len >= cidr.width() {
        return Err(bad("prefix length must be shorter than the address"));
    }
    // EventBridge's engine would match from the given address up, not from
    // the network address; not reproduced.
    if !cidr.contains(network) {
        return Err(bad("host bits set"));
    }
    Ok(cidr)
}

pub(super) fn ascii_lower(text: &str, at: &str) -> Result<String, Undecidable> {
    if text.is_ascii() {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(invalid(
            at,
            format!("case-insensitive match on non-ASCII text {text:?}"),
        ))
    }
}
