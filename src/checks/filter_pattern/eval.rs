//! A JSON filter pattern's expression judged against one log event.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Number, Value};

use super::lex::{Op, Step};
use super::parse::{Condition, Expr, NumLit, StrPattern, Test};

/// Kleene three-valued logic, so that an undecidable comparison only spoils
/// the answer when the answer actually depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Truth {
    Yes,
    No,
    Unknown(String),
}

impl Truth {
    pub(super) fn of(b: bool) -> Self {
        if b {
            Truth::Yes
        } else {
            Truth::No
        }
    }

    pub(super) fn not(self) -> Self {
        match self {
            Truth::Yes => Truth::No,
            Truth::No => Truth::Yes,
            unknown => unknown,
        }
    }

    pub(super) fn and(self, other: Self) -> Self {
        match (self, other) {
            (Truth::No, _) | (_, Truth::No) => Truth::No,
            (Truth::Unknown(r), _) | (_, Truth::Unknown(r)) => Truth::Unknown(r),
            (Truth::Yes, Truth::Yes) => Truth::Yes,
        }
    }

    pub(super) fn or(self, other: Self) -> Self {
        match (self, other) {
            (Truth::Yes, _) | (_, Truth::Yes) => Truth::Yes,
            (Truth::Unknown(r), _) | (_, Truth::Unknown(r)) => Truth::Unknown(r),
            (Truth::No, Truth::No) => Truth::No,
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
impl Expr {
    pub(super) fn eval(&self, event: &Value) -> Truth {
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
