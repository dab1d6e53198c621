//! A JSON filter pattern as tokens, and the quoted strings term patterns
//! share with it.

use std::cmp::Ordering;
use std::fmt;

use super::{malformed, regex_unsupported};
use crate::checks::Undecidable;

/// Reads a double-quoted string whose opening quote is `chars[start]`;
/// returns the unescaped text and the index just past the closing quote.
pub(super) fn read_quoted(
    chars: &[(usize, char)],
    start: usize,
) -> Result<(String, usize), Undecidable> {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub(super) fn holds(self, ord: Ordering) -> bool {
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
pub(super) enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

pub(super) fn tokenize(src: &str) -> Result<Vec<(usize, Tok)>, Undecidable> {
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
