//! A JSON filter pattern's expression, built from its tokens.

use std::cmp::Ordering;

use super::lex::{tokenize, Op, Step, Tok};
use super::malformed;
use crate::checks::Undecidable;

/// A numeric literal as written in the pattern. The integer form is kept
/// because account IDs and similar values are compared exactly.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NumLit {
    pub(super) text: String,
    pub(super) int: Option<i128>,
    pub(super) float: f64,
}

impl NumLit {
    /// The documented grammar: optional sign, digits, optional fraction,
    /// optional exponent.
    pub(super) fn parse(s: &str) -> Option<Self> {
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

    pub(super) fn cmp(&self, other: &NumLit) -> Option<Ordering> {
        match (self.int, other.int) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => self.float.partial_cmp(&other.float),
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StrPattern {
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

    pub(super) fn matches(&self, s: &str) -> bool {
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
pub(super) enum Test {
    Str { negate: bool, pattern: StrPattern },
    Num { op: Op, number: NumLit },
    IsNull,
    NotExists,
    IsBool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Condition {
    pub(super) selector: String,
    pub(super) path: Vec<Step>,
    pub(super) test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cond(Condition),
}
/// How deep parentheses may nest in a JSON pattern. The parser (and the
/// evaluation and drop of the expression it builds) recurses once per level,
/// so without a cap a long enough run of `(` would overflow the stack.
pub const MAX_NESTING: usize = 64;

pub(super) struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    /// Parentheses open around the current position.
    depth: usize,
}

impl Parser {
    pub(super) fn parse(src: &str) -> Result<Expr, Undecidable> {
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
