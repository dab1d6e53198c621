//! Evaluates an EventBridge event pattern against one event, the way
//! EventBridge's `TestEventPattern` does (EventBridge matches with AWS's
//! Event Ruler, whose semantics this follows where the user guide is silent).
//!
//! Supported subset:
//!
//! - Structure: every key of a pattern object must match (AND); a nested
//!   object descends into the event; a leaf is a non-empty array of
//!   alternatives (OR); `"$or": [{..}, {..}, ..]` (two or more objects) at any
//!   object level. When an event field holds an array, a leaf matches if any
//!   element matches, and a nested object matches if one element matches the
//!   whole sub-pattern (array consistency). Empty arrays and objects in the
//!   event hold no values. A repeated pattern key: the last one wins.
//! - Literals: strings, numbers (`300` also matches `3.0e2`), `true`, `false`,
//!   `null`; each only matches a value of the same JSON type. A literal IP
//!   address also matches other spellings of the same address (an
//!   IPv4-mapped IPv6 address counts as its IPv4 address, as in EventBridge).
//! - `prefix`, `suffix` (each also with `{"equals-ignore-case": ".."}`),
//!   `equals-ignore-case`, `wildcard` (`*`, with `\*` and `\\` escapes): strings only.
//! - `anything-but` with a string, a number, a list of strings or of numbers,
//!   or `{"prefix"|"suffix"|"equals-ignore-case"|"wildcard": string or list}`;
//!   a missing field never matches it, a value of another type always does.
//! - `numeric`: `["=", x]`, `[">"|">=", x]`, `["<"|"<=", x]`,
//!   `[">"|">=", x, "<"|"<=", y]`, bounds within ±5e9, JSON numbers only.
//! - `exists`: `true` needs a leaf value at the path, `false` needs none.
//! - `cidr`: IPv4 and IPv6 networks, against string values.
//!
//! Returns `Undecidable` (never a guessed match) for:
//!
//! - an invalid pattern: not JSON, not an object, an empty object or leaf
//!   array, a value that is neither object nor array, an operator object with
//!   more or less than one key, a malformed operand, `$or` that is not an
//!   array of at least two objects, an operator name used as a field inside
//!   `$or`;
//! - operators outside the list above (e.g. `exactly`, `regex`), pattern keys
//!   containing `.` (EventBridge conflates them with nesting), a CIDR with
//!   host bits set or a full-length prefix (/32, /128), numeric bounds or
//!   `anything-but` numbers beyond ±5e9;
//! - case-insensitive comparisons involving non-ASCII text (EventBridge folds
//!   case per Unicode character; that is not reproduced);
//! - comparing a number beyond ±5e9 with a float of the same value
//!   (EventBridge then compares the JSON text, which is not kept);
//! - `exists: false` below an event array of objects when the field is
//!   missing from the element being tried but present in another one
//!   (EventBridge's answer then depends on its array-consistency ordering).
//!
//! Undecidable parts combine with three-valued logic: a definite "no" in an
//! AND (or "yes" in an OR) still decides.
//!
//! Not reproduced: event keys containing `.`, and EventBridge rounding numbers
//! to six decimal places before comparing them.
//!
//! Why not the `quamina` crate: it has no `$or`, no `anything-but` on
//! prefix/suffix/wildcard/ignore-case, no `prefix`/`suffix` with
//! `equals-ignore-case`; it accepts operators EventBridge rejects (`regexp`,
//! `shellstyle`) and reads only the first key of an operator object, so
//! we could not tell "no match" from "construct we do not understand". It also
//! needs Rust 1.88 (this crate: 1.85) and is ~50k lines of automaton built for
//! matching many patterns fast, while we test one pattern against a handful of
//! events. A direct evaluator over `serde_json` is small and says exactly
//! which construct it refused.

use std::net::IpAddr;

use serde_json::{Map, Number, Value};

use super::pattern::Undecidable;

/// Does the EventBridge event pattern (the rule's EventPattern JSON string) match this event?
pub fn matches(pattern: &str, event: &Value) -> Result<bool, Undecidable> {
    let pattern: Value = serde_json::from_str(pattern)
        .map_err(|e| Undecidable::new(format!("event pattern is not valid JSON: {e}")))?;
    let Value::Object(pattern) = pattern else {
        return Err(Undecidable::new("event pattern is not a JSON object"));
    };
    // Compile the whole pattern first so that an invalid construct is reported
    // even where the event would have failed an earlier key.
    let pattern = compile_object(&pattern, "", false)?;
    if !event.is_object() {
        return Err(Undecidable::new("event is not a JSON object"));
    }
    let ctx = Ctx {
        root: event,
        under_array: false,
    };
    eval_object(&pattern, Some(event), &ctx, &[])
}

type Verdict = Result<bool, Undecidable>;

/// Beyond this magnitude EventBridge does not compare numbers as numbers.
const NUMERIC_LIMIT: f64 = 5e9;

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

struct ObjectPattern {
    fields: Vec<(String, FieldPattern)>,
    /// Each entry is one `$or`: at least one of its branches must match.
    alternatives: Vec<Vec<ObjectPattern>>,
}

enum FieldPattern {
    Object(ObjectPattern),
    Leaf(Vec<LeafMatcher>),
}

enum LeafMatcher {
    Value(ValueTest),
    AnythingBut(Vec<ValueTest>),
    Exists(bool),
}

/// A test on one scalar value of the event.
enum ValueTest {
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
enum WildcardToken {
    Literal(char),
    Star,
}

struct Bound {
    value: f64,
    inclusive: bool,
}

struct Range {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

struct Cidr {
    network: IpAddr,
    prefix_len: u32,
}

// ---------------------------------------------------------------- compile

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

fn compile_object(
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

fn parse_wildcard(text: &str, at: &str) -> Result<Vec<WildcardToken>, Undecidable> {
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

fn ascii_lower(text: &str, at: &str) -> Result<String, Undecidable> {
    if text.is_ascii() {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(invalid(
            at,
            format!("case-insensitive match on non-ASCII text {text:?}"),
        ))
    }
}

// ---------------------------------------------------------------- evaluate

struct Ctx<'e> {
    root: &'e Value,
    /// Set once the walk has gone into an element of an event array of objects.
    under_array: bool,
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

fn eval_object(pattern: &ObjectPattern, node: Option<&Value>, ctx: &Ctx, path: &[&str]) -> Verdict {
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

impl Cidr {
    fn width(&self) -> u32 {
        match self.network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
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

/// Glob match where `*` spans any run of characters, including none.
fn wildcard_matches(tokens: &[WildcardToken], text: &str) -> bool {
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

#[cfg(test)]
mod tests {
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

    const KEY_ARN: &str =
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

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
}

/// Property tests: whatever a rule's EventPattern holds, the evaluator
/// answers and never panics; text that is not a JSON object is never a match.
#[cfg(test)]
mod proptests {
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
                    prop::collection::vec(inner, 0..3)
                        .prop_map(|objects| json!({ "$or": objects })),
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
}
