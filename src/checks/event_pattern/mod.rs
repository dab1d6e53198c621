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
//!
//! # Layout
//!
//! `compile.rs` checks the whole pattern and turns it into matchers, so an
//! invalid construct is reported wherever it is; `eval.rs` walks the event
//! with them.

mod compile;
mod eval;
/// Property tests: whatever a rule's EventPattern holds, the evaluator
/// answers and never panics; text that is not a JSON object is never a match.
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use serde_json::Value;

use super::Undecidable;
use compile::compile_object;
use eval::{eval_object, Ctx};

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

/// A match, no match, or the construct that kept the evaluator from deciding.
type Verdict = Result<bool, Undecidable>;

/// Beyond this magnitude EventBridge does not compare numbers as numbers.
const NUMERIC_LIMIT: f64 = 5e9;
