//! Evaluates a CloudWatch Logs filter pattern (as used by metric filters)
//! against one CloudTrail record, so the alerting check can tell whether a
//! metric filter really fires on `DisableKey` / `ScheduleKeyDeletion` rather
//! than comparing pattern strings.
//!
//! Semantics follow the AWS "Filter pattern syntax for metric filters,
//! subscription filters, filter log events, and Live Tail" documentation.
//! Where the documentation leaves the outcome open, the evaluator answers
//! [`Undecidable`] instead of guessing: a wrong "matches" would become a false
//! PASS.
//!
//! # Supported
//!
//! - The empty (or all-whitespace) pattern: matches every event.
//! - JSON patterns `{ ... }`:
//!   - selectors `$.a.b` and `$.a[0].b` (property names of letters, digits,
//!     `-` and `_`);
//!   - `=` / `!=` against a string, bare or double-quoted (with `\"` and `\\`
//!     escapes): exact and case-sensitive, with `*` as a wildcard at the start
//!     and/or the end (`Schedule*`, `*Key`, `*Key*`; `*` alone means "any
//!     value");
//!   - `=`, `!=`, `<`, `<=`, `>`, `>=` against a number (`7`, `-1.5`, `+1000`,
//!     `10e3`);
//!   - `IS NULL`, `NOT EXISTS`, `IS TRUE`, `IS FALSE`;
//!   - `&&` and `||` (`&&` binds tighter), parentheses nested up to
//!     [`MAX_NESTING`] levels deep, and any whitespace, newlines included.
//!
//!   A comparison on a missing field is false, for `!=` too (that is what
//!   `TestMetricFilter` answers). A comparison on a field holding an object or
//!   an array is false for both `=` and `!=` (documented). `IS NULL` is true
//!   only for an explicit `null`; `NOT EXISTS` only when the selector reaches
//!   nothing (a missing property, an index past the end of an array, or a step
//!   into a value that has no such property or index).
//! - Term patterns, matched against the record's JSON text: space-separated
//!   terms that must all occur, `"quoted phrases"`, `-term` (or `- "phrase"`)
//!   exclusions, or only `?term` alternatives, of which any one must occur.
//!   Terms are case-sensitive.
//!
//! # Undecidable
//!
//! [`matches()`] returns `Err(Undecidable)`, never a guess, for:
//! - space-delimited patterns `[...]`, regular expressions `%...%` (on their
//!   own or as a JSON value), `[*]` selectors, `IN` / `NOT IN` lists, escape
//!   sequences other than `\"` and `\\` in quoted strings;
//! - a `*` inside a string value (the docs say `Ev*ent` matches only that
//!   literal text, which is not confirmed);
//! - JSON comparisons the docs leave open: a string compared with a
//!   `true` / `false` / `null` field or with a non-integer number; a number
//!   compared with a `true` / `false` / `null` field, with a non-numeric string
//!   field by `!=`, or with a numeric string field where text and numeric
//!   equality disagree (`"007"` against `7`); `<`, `<=`, `>`, `>=` on a string
//!   field; `IS TRUE` / `IS FALSE` on the strings `"true"` / `"false"`; a
//!   property step applied to an array (`$.resources.type`);
//! - parentheses nested more than [`MAX_NESTING`] levels deep (AWS caps a
//!   pattern at 1,024 characters, but a facts file can be edited by hand, and
//!   the parser recurses once per level);
//! - term patterns that mix `?term` with plain or `-` terms; unquoted terms
//!   with characters other than ASCII letters, digits and `_`; quoted phrases
//!   containing whitespace, JSON punctuation (`"` `\` `:` `,` `{` `}` `[` `]`)
//!   or `*`, whose match depends on how the record is serialized; a term found
//!   only inside a longer word (the docs disagree on whether that matches);
//! - malformed patterns; the message names the problem and its byte offset.
//!
//! Inside `&&` / `||` an undecidable comparison makes the whole pattern
//! undecidable only when the result depends on it: with `A` true, `A || X`
//! matches whatever `X` is.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Number, Value};

use super::pattern::Undecidable;

/// Does the CloudWatch Logs filter pattern match this log event (a CloudTrail record as JSON)?
pub fn matches(pattern: &str, event: &Value) -> Result<bool, Undecidable> {
    let trimmed = pattern.trim_start();
    let truth = if trimmed.trim_end().is_empty() {
        Truth::Yes
    } else if trimmed.starts_with('{') {
        Parser::parse(pattern)?.eval(event)
    } else if trimmed.starts_with('[') {
        return Err(Undecidable::new(
            "space-delimited filter patterns ([...]) are not supported",
        ));
    } else {
        let terms = TermPattern::parse(pattern)?;
        let text = serde_json::to_string(event)
            .map_err(|e| Undecidable::new(format!("cannot serialize the log event: {e}")))?;
        terms.eval(&text)
    };
    match truth {
        Truth::Yes => Ok(true),
        Truth::No => Ok(false),
        Truth::Unknown(reason) => Err(Undecidable::new(reason)),
    }
}

fn malformed(problem: impl fmt::Display) -> Undecidable {
    Undecidable::new(format!("malformed filter pattern: {problem}"))
}

fn regex_unsupported() -> Undecidable {
    Undecidable::new("regular expressions (%...%) in filter patterns are not supported")
}

/// Kleene three-valued logic, so that an undecidable comparison only spoils
/// the answer when the answer actually depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Truth {
    Yes,
    No,
    Unknown(String),
}

impl Truth {
    fn of(b: bool) -> Self {
        if b {
            Truth::Yes
        } else {
            Truth::No
        }
    }

    fn not(self) -> Self {
        match self {
            Truth::Yes => Truth::No,
            Truth::No => Truth::Yes,
            unknown => unknown,
        }
    }

    fn and(self, other: Self) -> Self {
        match (self, other) {
            (Truth::No, _) | (_, Truth::No) => Truth::No,
            (Truth::Unknown(r), _) | (_, Truth::Unknown(r)) => Truth::Unknown(r),
            (Truth::Yes, Truth::Yes) => Truth::Yes,
        }
    }

    fn or(self, other: Self) -> Self {
        match (self, other) {
            (Truth::Yes, _) | (_, Truth::Yes) => Truth::Yes,
            (Truth::Unknown(r), _) | (_, Truth::Unknown(r)) => Truth::Unknown(r),
            (Truth::No, Truth::No) => Truth::No,
        }
    }
}

/// Reads a double-quoted string whose opening quote is `chars[start]`;
/// returns the unescaped text and the index just past the closing quote.
fn read_quoted(chars: &[(usize, char)], start: usize) -> Result<(String, usize), Undecidable> {
    let opened_at = chars[start].0;
    let mut text = String::new();
    let mut i = start + 1;
    while let Some(&(at, c)) = chars.get(i) {
        match c {
            '"' => return Ok((text, i + 1)),
            // These two are what the AWS CDK emits when it quotes a value;
            // other escapes have no documented meaning.
            '\\' => match chars.get(i + 1).map(|&(_, e)| e) {
                Some(e @ ('"' | '\\')) => {
                    text.push(e);
                    i += 2;
                    continue;
                }
                Some(e) => {
                    return Err(Undecidable::new(format!(
                        "the escape sequence '\\{e}' at offset {at} is not supported"
                    )))
                }
                None => break,
            },
            _ => text.push(c),
        }
        i += 1;
    }
    Err(malformed(format!(
        "unterminated quoted string starting at offset {opened_at}"
    )))
}

// ---------------------------------------------------------------------------
// JSON patterns
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    And,
    Or,
    Op(Op),
    Selector {
        text: String,
        path: Vec<Step>,
    },
    Quoted(String),
    Bare(String),
    /// Punctuation with no meaning in the supported subset (`[`, `]`, `,`);
    /// kept as a token so the parser can say what construct it belongs to.
    Other(char),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::LBrace => f.write_str("'{'"),
            Tok::RBrace => f.write_str("'}'"),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::And => f.write_str("'&&'"),
            Tok::Or => f.write_str("'||'"),
            Tok::Op(op) => write!(f, "'{op}'"),
            Tok::Selector { text, .. } => write!(f, "selector {text}"),
            Tok::Quoted(s) => write!(f, "{s:?}"),
            Tok::Bare(s) => write!(f, "'{s}'"),
            Tok::Other(c) => write!(f, "'{c}'"),
        }
    }
}

/// Characters of an unquoted value. Lenient on purpose: CloudWatch validates
/// patterns when a filter is created, so anything we read comes from a
/// pattern AWS already accepted.
fn is_bare_char(c: char) -> bool {
    c.is_alphanumeric() || "._-*:/+@".contains(c)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn tokenize(src: &str) -> Result<Vec<(usize, Tok)>, Undecidable> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let (tok, width) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '{' => (Tok::LBrace, 1),
            '}' => (Tok::RBrace, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' | ']' | ',' => (Tok::Other(c), 1),
            '&' if next == Some('&') => (Tok::And, 2),
            '|' if next == Some('|') => (Tok::Or, 2),
            '&' | '|' => {
                return Err(malformed(format!(
                    "a single '{c}' at offset {at} (the operator is '{c}{c}')"
                )))
            }
            '=' => (Tok::Op(Op::Eq), 1),
            '!' if next == Some('=') => (Tok::Op(Op::Ne), 2),
            '!' => {
                return Err(malformed(format!(
                    "'!' at offset {at} is not followed by '='"
                )))
            }
            '<' if next == Some('=') => (Tok::Op(Op::Le), 2),
            '<' => (Tok::Op(Op::Lt), 1),
            '>' if next == Some('=') => (Tok::Op(Op::Ge), 2),
            '>' => (Tok::Op(Op::Gt), 1),
            '%' => return Err(regex_unsupported()),
            '"' => {
                let (text, end) = read_quoted(&chars, i)?;
                toks.push((at, Tok::Quoted(text)));
                i = end;
                continue;
            }
            '$' => {
                let (tok, end) = read_selector(src, &chars, i)?;
                toks.push((at, tok));
                i = end;
                continue;
            }
            c if is_bare_char(c) => {
                let mut end = i;
                while chars.get(end).is_some_and(|&(_, c)| is_bare_char(c)) {
                    end += 1;
                }
                let stop = chars.get(end).map_or(src.len(), |&(b, _)| b);
                toks.push((at, Tok::Bare(src[at..stop].to_string())));
                i = end;
                continue;
            }
            c => {
                return Err(malformed(format!(
                    "unexpected character '{c}' at offset {at}"
                )))
            }
        };
        toks.push((at, tok));
        i += width;
    }
    Ok(toks)
}

/// Reads `$` followed by `.name` and `[N]` steps, starting at `chars[start]`.
fn read_selector(
    src: &str,
    chars: &[(usize, char)],
    start: usize,
) -> Result<(Tok, usize), Undecidable> {
    let at = chars[start].0;
    let mut path = Vec::new();
    let mut i = start + 1;
    loop {
        match chars.get(i).map(|&(_, c)| c) {
            Some('.') => {
                let name_start = i + 1;
                let mut end = name_start;
                while chars.get(end).is_some_and(|&(_, c)| is_name_char(c)) {
                    end += 1;
                }
                if end == name_start {
                    return Err(malformed(format!(
                        "empty property name in the selector at offset {at}"
                    )));
                }
                let name: String = chars[name_start..end].iter().map(|&(_, c)| c).collect();
                path.push(Step::Key(name));
                i = end;
            }
            Some('[') => {
                if path.is_empty() {
                    return Err(malformed(format!(
                        "the selector at offset {at} must start with a property ($.name), not an index"
                    )));
                }
                if chars.get(i + 1).map(|&(_, c)| c) == Some('*') {
                    return Err(Undecidable::new(
                        "array wildcard selectors ([*]) are not supported",
                    ));
                }
                let digits_start = i + 1;
                let mut end = digits_start;
                while chars.get(end).is_some_and(|&(_, c)| c.is_ascii_digit()) {
                    end += 1;
                }
                if end == digits_start || chars.get(end).map(|&(_, c)| c) != Some(']') {
                    return Err(malformed(format!(
                        "the selector at offset {at} has an array index that is not [NUMBER]"
                    )));
                }
                let digits: String = chars[digits_start..end].iter().map(|&(_, c)| c).collect();
                let index = digits.parse().map_err(|_| {
                    malformed(format!(
                        "array index [{digits}] at offset {at} is too large"
                    ))
                })?;
                path.push(Step::Index(index));
                i = end + 1;
            }
            _ => break,
        }
    }
    if path.is_empty() {
        return Err(malformed(format!(
            "the selector '$' at offset {at} names no property"
        )));
    }
    let stop = chars.get(i).map_or(src.len(), |&(b, _)| b);
    let text = src[at..stop].to_string();
    Ok((Tok::Selector { text, path }, i))
}

/// A numeric literal as written in the pattern. The integer form is kept
/// because account IDs and similar values are compared exactly.
#[derive(Debug, Clone, PartialEq)]
struct NumLit {
    text: String,
    int: Option<i128>,
    float: f64,
}

impl NumLit {
    /// The documented grammar: optional sign, digits, optional fraction,
    /// optional exponent.
    fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let digits_from = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
        let after = digits_from(i);
        if after == i {
            return None;
        }
        i = after;
        let mut integral = true;
        if b.get(i) == Some(&b'.') {
            let after = digits_from(i + 1);
            if after == i + 1 {
                return None;
            }
            i = after;
            integral = false;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let after = digits_from(i);
            if after == i {
                return None;
            }
            i = after;
            integral = false;
        }
        if i != b.len() {
            return None;
        }
        Some(NumLit {
            text: s.to_string(),
            int: if integral { s.parse().ok() } else { None },
            float: s.parse().ok()?,
        })
    }

    fn cmp(&self, other: &NumLit) -> Option<Ordering> {
        match (self.int, other.int) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => self.float.partial_cmp(&other.float),
        }
    }
}

fn number_as_int(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn cmp_number(n: &Number, lit: &NumLit) -> Option<Ordering> {
    match (number_as_int(n), lit.int) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => n.as_f64()?.partial_cmp(&lit.float),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StrPattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Any,
}

impl StrPattern {
    fn parse(raw: &str) -> Result<Self, Undecidable> {
        let core = raw.trim_matches('*');
        if core.contains('*') {
            return Err(Undecidable::new(format!(
                "a '*' wildcard inside the value {raw:?} (not at its start or end) is not supported"
            )));
        }
        let core = core.to_string();
        Ok(match (raw.starts_with('*'), raw.ends_with('*')) {
            _ if core.is_empty() && !raw.is_empty() => StrPattern::Any,
            (false, false) => StrPattern::Exact(core),
            (false, true) => StrPattern::Prefix(core),
            (true, false) => StrPattern::Suffix(core),
            (true, true) => StrPattern::Contains(core),
        })
    }

    fn matches(&self, s: &str) -> bool {
        match self {
            StrPattern::Exact(p) => s == p,
            StrPattern::Prefix(p) => s.starts_with(p.as_str()),
            StrPattern::Suffix(p) => s.ends_with(p.as_str()),
            StrPattern::Contains(p) => s.contains(p.as_str()),
            StrPattern::Any => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Str { negate: bool, pattern: StrPattern },
    Num { op: Op, number: NumLit },
    IsNull,
    NotExists,
    IsBool(bool),
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    selector: String,
    path: Vec<Step>,
    test: Test,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cond(Condition),
}

impl Expr {
    fn eval(&self, event: &Value) -> Truth {
        match self {
            Expr::And(items) => items
                .iter()
                .fold(Truth::Yes, |acc, e| acc.and(e.eval(event))),
            Expr::Or(items) => items.iter().fold(Truth::No, |acc, e| acc.or(e.eval(event))),
            Expr::Cond(c) => c.eval(event),
        }
    }
}

impl Condition {
    /// `Ok(None)` when the selector reaches nothing.
    fn resolve<'a>(&self, event: &'a Value) -> Result<Option<&'a Value>, String> {
        let mut cur = event;
        for step in &self.path {
            cur = match (step, cur) {
                (Step::Key(k), Value::Object(map)) => match map.get(k) {
                    Some(v) => v,
                    None => return Ok(None),
                },
                (Step::Key(k), Value::Array(_)) => {
                    return Err(format!(
                        "cannot decide {}: '.{k}' is applied to an array, and how CloudWatch treats that is undocumented",
                        self.selector
                    ))
                }
                (Step::Index(i), Value::Array(items)) => match items.get(*i) {
                    Some(v) => v,
                    None => return Ok(None),
                },
                _ => return Ok(None),
            };
        }
        Ok(Some(cur))
    }

    fn unknown(&self, why: impl fmt::Display) -> Truth {
        Truth::Unknown(format!("cannot decide {}: {why}", self.selector))
    }

    fn eval(&self, event: &Value) -> Truth {
        let value = match self.resolve(event) {
            Ok(Some(v)) => v,
            // Documented for `=`; `TestMetricFilter` answers "no match" for
            // `!=` on a missing field as well.
            Ok(None) => return Truth::of(self.test == Test::NotExists),
            Err(reason) => return Truth::Unknown(reason),
        };
        match &self.test {
            Test::NotExists => Truth::No,
            Test::IsNull => Truth::of(value.is_null()),
            Test::IsBool(want) => match value {
                Value::Bool(b) => Truth::of(b == want),
                Value::String(s) if s == "true" || s == "false" => self.unknown(format!(
                    "IS {} on the string {s:?} is undocumented",
                    if *want { "TRUE" } else { "FALSE" }
                )),
                _ => Truth::No,
            },
            Test::Str { negate, pattern } => {
                let hit = match value {
                    Value::String(s) => Truth::of(pattern.matches(s)),
                    Value::Number(_) if *pattern == StrPattern::Any => Truth::Yes,
                    Value::Number(n) if number_as_int(n).is_some() => {
                        Truth::of(pattern.matches(&n.to_string()))
                    }
                    Value::Number(n) => self.unknown(format!(
                        "comparing a string with the non-integer number {n} is undocumented"
                    )),
                    // Documented: the selector must reach a string or a
                    // number, otherwise neither `=` nor `!=` applies.
                    Value::Array(_) | Value::Object(_) => return Truth::No,
                    Value::Bool(_) | Value::Null => {
                        self.unknown(format!("comparing a string with {value} is undocumented"))
                    }
                };
                if *negate {
                    hit.not()
                } else {
                    hit
                }
            }
            Test::Num { op, number } => match value {
                Value::Number(n) => match cmp_number(n, number) {
                    Some(ord) => Truth::of(op.holds(ord)),
                    None => self.unknown(format!("{n} cannot be compared with {}", number.text)),
                },
                Value::String(s) => self.number_vs_string(*op, number, s),
                Value::Array(_) | Value::Object(_) => Truth::No,
                Value::Bool(_) | Value::Null => {
                    self.unknown(format!("comparing a number with {value} is undocumented"))
                }
            },
        }
    }

    /// CloudTrail writes many numeric-looking values (account IDs) as
    /// strings. The docs don't say whether such a comparison is textual or
    /// numeric, so it is decided only when both readings agree.
    fn number_vs_string(&self, op: Op, number: &NumLit, s: &str) -> Truth {
        let Some(field) = NumLit::parse(s) else {
            return match op {
                // Neither as text nor as a number can a non-numeric string
                // equal a numeric literal.
                Op::Eq => Truth::No,
                _ => self.unknown(format!(
                    "comparing the non-numeric string {s:?} with the number {} by '{op}' is undocumented",
                    number.text
                )),
            };
        };
        match op {
            Op::Eq | Op::Ne => {
                let textual = s == number.text;
                let numeric = field.cmp(number) == Some(Ordering::Equal);
                if textual == numeric {
                    Truth::of(textual == (op == Op::Eq))
                } else {
                    self.unknown(format!(
                        "the string {s:?} and the number {} are equal as {} but not as {}, and the docs don't say which applies",
                        number.text,
                        if numeric { "numbers" } else { "text" },
                        if numeric { "text" } else { "numbers" },
                    ))
                }
            }
            _ => self.unknown(format!("'{op}' on the string {s:?} is undocumented")),
        }
    }
}

/// How deep parentheses may nest in a JSON pattern. The parser (and the
/// evaluation and drop of the expression it builds) recurses once per level,
/// so without a cap a long enough run of `(` would overflow the stack.
pub const MAX_NESTING: usize = 64;

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    /// Parentheses open around the current position.
    depth: usize,
}

impl Parser {
    fn parse(src: &str) -> Result<Expr, Undecidable> {
        let mut p = Parser {
            toks: tokenize(src)?,
            pos: 0,
            depth: 0,
        };
        match p.next() {
            Some((_, Tok::LBrace)) => {}
            _ => return Err(malformed("a JSON pattern must start with '{'")),
        }
        if p.peek() == Some(&Tok::RBrace) {
            return Err(malformed(format!("empty JSON pattern {}", p.here())));
        }
        let expr = p.parse_or()?;
        match p.next() {
            Some((_, Tok::RBrace)) => {}
            Some((at, Tok::RParen)) => {
                return Err(malformed(format!(
                    "unbalanced ')' at offset {at} (no matching '(')"
                )))
            }
            Some((at, tok)) => {
                return Err(malformed(format!(
                    "expected '&&', '||' or '}}' at offset {at}, found {tok}"
                )))
            }
            None => return Err(malformed("missing the closing '}'")),
        }
        if let Some((at, tok)) = p.next() {
            return Err(malformed(format!(
                "unexpected {tok} at offset {at} after the closing '}}'"
            )));
        }
        Ok(expr)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let item = self.toks.get(self.pos).cloned();
        self.pos += 1;
        item
    }

    fn here(&self) -> String {
        match self.toks.get(self.pos) {
            Some((at, _)) => format!("at offset {at}"),
            None => "at the end of the pattern".to_string(),
        }
    }

    fn parse_or(&mut self) -> Result<Expr, Undecidable> {
        let mut items = vec![self.parse_and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.parse_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn parse_and(&mut self) -> Result<Expr, Undecidable> {
        let mut items = vec![self.parse_primary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            items.push(self.parse_primary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn parse_primary(&mut self) -> Result<Expr, Undecidable> {
        let here = self.here();
        match self.next() {
            Some((open_at, Tok::LParen)) => {
                if self.depth == MAX_NESTING {
                    return Err(Undecidable::new(format!(
                        "filter patterns with parentheses nested more than {MAX_NESTING} levels deep are not supported (offset {open_at})"
                    )));
                }
                self.depth += 1;
                let inner = self.parse_or();
                self.depth -= 1;
                let inner = inner?;
                let here = self.here();
                match self.next() {
                    Some((_, Tok::RParen)) => Ok(inner),
                    Some((_, tok)) => Err(malformed(format!(
                        "expected ')' to close the '(' at offset {open_at}, found {tok} {here}"
                    ))),
                    None => Err(malformed(format!(
                        "unbalanced '(' at offset {open_at} (no matching ')')"
                    ))),
                }
            }
            Some((_, Tok::Selector { text, path })) => {
                let test = self.parse_test(&text)?;
                Ok(Expr::Cond(Condition {
                    selector: text,
                    path,
                    test,
                }))
            }
            Some((_, tok)) => Err(malformed(format!(
                "expected a selector ($.field) or '(' {here}, found {tok}"
            ))),
            None => Err(malformed(format!(
                "expected a selector ($.field) or '(' {here}"
            ))),
        }
    }

    fn parse_test(&mut self, selector: &str) -> Result<Test, Undecidable> {
        let here = self.here();
        let in_unsupported = || Undecidable::new("IN / NOT IN lists are not supported");
        match self.next() {
            Some((_, Tok::Bare(word))) if word == "IS" => {
                let here = self.here();
                match self.next() {
                    Some((_, Tok::Bare(w))) if w == "NULL" => Ok(Test::IsNull),
                    Some((_, Tok::Bare(w))) if w == "TRUE" => Ok(Test::IsBool(true)),
                    Some((_, Tok::Bare(w))) if w == "FALSE" => Ok(Test::IsBool(false)),
                    _ => Err(malformed(format!(
                        "expected NULL, TRUE or FALSE after IS {here}"
                    ))),
                }
            }
            Some((_, Tok::Bare(word))) if word == "NOT" => {
                let here = self.here();
                match self.next() {
                    Some((_, Tok::Bare(w))) if w == "EXISTS" => Ok(Test::NotExists),
                    Some((_, Tok::Bare(w))) if w == "IN" => Err(in_unsupported()),
                    _ => Err(malformed(format!("expected EXISTS after NOT {here}"))),
                }
            }
            Some((_, Tok::Bare(word))) if word == "IN" => Err(in_unsupported()),
            Some((_, Tok::Op(op))) => self.parse_value(op),
            Some((_, tok)) => Err(malformed(format!(
                "expected an operator (=, !=, <, <=, >, >=, IS, NOT EXISTS) after {selector} {here}, found {tok}"
            ))),
            None => Err(malformed(format!(
                "expected an operator after {selector} {here}"
            ))),
        }
    }

    fn parse_value(&mut self, op: Op) -> Result<Test, Undecidable> {
        let here = self.here();
        let string_test = |raw: &str| -> Result<Test, Undecidable> {
            match op {
                Op::Eq | Op::Ne => Ok(Test::Str {
                    negate: op == Op::Ne,
                    pattern: StrPattern::parse(raw)?,
                }),
                _ => Err(malformed(format!(
                    "operator '{op}' needs a number {here}, found {raw:?}"
                ))),
            }
        };
        match self.next() {
            Some((_, Tok::Quoted(s))) => string_test(&s),
            Some((_, Tok::Bare(s))) => match NumLit::parse(&s) {
                Some(number) => Ok(Test::Num { op, number }),
                None => string_test(&s),
            },
            Some((_, tok)) => Err(malformed(format!(
                "expected a value after '{op}' {here}, found {tok}"
            ))),
            None => Err(malformed(format!("expected a value after '{op}' {here}"))),
        }
    }
}

// ---------------------------------------------------------------------------
// Term patterns
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TermKind {
    Required,
    Alternative,
    Excluded,
}

struct TermPattern {
    terms: Vec<(TermKind, String)>,
}

/// Phrase characters whose match would depend on how the record was
/// serialized (spacing, escaping, key order), or that might be wildcards.
const SERIALIZATION_DEPENDENT: &str = "\"\\:,{}[]*";

impl TermPattern {
    fn parse(src: &str) -> Result<Self, Undecidable> {
        let chars: Vec<(usize, char)> = src.char_indices().collect();
        let ws_at = |i: usize| chars.get(i).is_some_and(|&(_, c)| c.is_whitespace());
        let mut terms = Vec::new();
        let mut i = 0;
        loop {
            while ws_at(i) {
                i += 1;
            }
            let Some(&(at, c)) = chars.get(i) else { break };
            let kind = match c {
                '?' => TermKind::Alternative,
                '-' => TermKind::Excluded,
                _ => TermKind::Required,
            };
            if kind != TermKind::Required {
                i += 1;
                // The docs show the exclusion as `"ERROR" - "Exiting"`.
                if kind == TermKind::Excluded {
                    while ws_at(i) {
                        i += 1;
                    }
                }
                if chars.get(i).is_none_or(|&(_, c)| c.is_whitespace()) {
                    return Err(malformed(format!(
                        "'{c}' at offset {at} is not followed by a term"
                    )));
                }
            }
            let term = if chars[i].1 == '"' {
                let (text, end) = read_quoted(&chars, i)?;
                if chars.get(end).is_some_and(|&(_, c)| !c.is_whitespace()) {
                    return Err(malformed(format!(
                        "expected whitespace after the quoted phrase at offset {}",
                        chars[i].0
                    )));
                }
                i = end;
                if let Some(bad) = text
                    .chars()
                    .find(|&c| c.is_whitespace() || SERIALIZATION_DEPENDENT.contains(c))
                {
                    return Err(Undecidable::new(format!(
                        "the quoted phrase {text:?} contains {bad:?}; whether it matches depends on the exact serialization of the record, so it is not supported"
                    )));
                }
                text
            } else {
                let start = chars[i].0;
                while chars.get(i).is_some_and(|&(_, c)| !c.is_whitespace()) {
                    i += 1;
                }
                let stop = chars.get(i).map_or(src.len(), |&(b, _)| b);
                let word = &src[start..stop];
                if word.starts_with('%') {
                    return Err(regex_unsupported());
                }
                if word.contains('"') {
                    return Err(malformed(format!(
                        "stray '\"' inside the term {word:?} at offset {start}"
                    )));
                }
                if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(Undecidable::new(format!(
                        "the unquoted term {word:?} contains characters other than letters, digits and '_' (the docs require quoting it); such terms are not supported"
                    )));
                }
                word.to_string()
            };
            terms.push((kind, term));
        }
        let has = |k: TermKind| terms.iter().any(|(kind, _)| *kind == k);
        if has(TermKind::Alternative) && (has(TermKind::Required) || has(TermKind::Excluded)) {
            return Err(Undecidable::new(
                "mixing ?term alternatives with plain or -excluded terms is not supported (the docs don't define how they combine)",
            ));
        }
        Ok(TermPattern { terms })
    }

    fn eval(&self, text: &str) -> Truth {
        if self.terms.iter().all(|(k, _)| *k == TermKind::Alternative) {
            return self
                .terms
                .iter()
                .fold(Truth::No, |acc, (_, t)| acc.or(presence(text, t)));
        }
        self.terms.iter().fold(Truth::Yes, |acc, (kind, t)| {
            let found = presence(text, t);
            acc.and(if *kind == TermKind::Excluded {
                found.not()
            } else {
                found
            })
        })
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The older AWS docs say `ERROR` matches `ERRORCODE`; the current ones say a
/// term matches a word. Both readings agree when the term occurs as a whole
/// word or not at all; only a partial-word occurrence is left undecided.
fn presence(text: &str, term: &str) -> Truth {
    let Some(first) = term.chars().next() else {
        return Truth::Yes;
    };
    let word_start = is_word_char(first);
    let word_end = term.chars().next_back().is_some_and(is_word_char);
    let mut from = 0;
    let mut partial = false;
    while let Some(rel) = text[from..].find(term) {
        let at = from + rel;
        let left_ok = !word_start || !text[..at].chars().next_back().is_some_and(is_word_char);
        let right_ok = !word_end
            || !text[at + term.len()..]
                .chars()
                .next()
                .is_some_and(is_word_char);
        if left_ok && right_ok {
            return Truth::Yes;
        }
        partial = true;
        from = at + first.len_utf8();
    }
    if partial {
        Truth::Unknown(format!(
            "cannot decide the term {term:?}: it occurs only inside a longer word, and the AWS docs disagree on whether that matches"
        ))
    } else {
        Truth::No
    }
}

#[cfg(test)]
mod tests {
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
}

/// Property tests: whatever a metric filter holds (it comes from AWS, or a
/// hand-edited facts file), the evaluator answers and never panics, and a
/// pattern cut short is never taken for a match.
#[cfg(test)]
mod proptests {
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn any_text_gets_an_answer(pattern in "\\PC{0,64}") {
            let _ = matches(&pattern, &disable_key());
        }

        #[test]
        fn any_bytes_as_text_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = matches(&String::from_utf8_lossy(&bytes), &disable_key());
        }

        #[test]
        fn json_patterns_get_an_answer(pattern in json_pattern()) {
            let _ = matches(&pattern, &disable_key());
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
}
