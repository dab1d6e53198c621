//! Term patterns: terms, `"quoted phrases"`, `-exclusions` and `?alternatives`
//! looked for in the record's JSON text.

use super::eval::Truth;
use super::lex::read_quoted;
use super::{malformed, regex_unsupported};
use crate::checks::Undecidable;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TermKind {
    Required,
    Alternative,
    Excluded,
}

pub(super) struct TermPattern {
    terms: Vec<(TermKind, String)>,
}

/// Phrase characters whose match would depend on how the record was
/// serialized (spacing, escaping, key order), or that might be wildcards.
const SERIALIZATION_DEPENDENT: &str = "\"\\:,{}[]*";

impl TermPattern {
    pub(super) fn parse(src: &str) -> Result<Self, Undecidable> {
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

    pub(super) fn eval(&self, text: &str) -> Truth {
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
