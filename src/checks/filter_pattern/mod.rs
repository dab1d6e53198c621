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
//!
//! # Layout
//!
//! `lex.rs` reads a JSON pattern into tokens, `parse.rs` builds its
//! expression, `eval.rs` judges that against a record with three-valued
//! logic, and `terms.rs` reads and judges term patterns, which have a
//! grammar of their own.

mod eval;
mod lex;
mod parse;
/// Property tests: whatever a metric filter holds (it comes from AWS, or a
/// hand-edited facts file), the evaluator answers and never panics, and a
/// pattern cut short is never taken for a match.
#[cfg(test)]
mod proptests;
mod terms;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::Value;

use super::Undecidable;
use eval::Truth;
use parse::Parser;
use terms::TermPattern;

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
