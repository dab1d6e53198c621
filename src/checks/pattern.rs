//! What the pattern evaluators answer when a pattern uses a construct they do
//! not implement. The alerting check turns this into a WARN ("cannot decide"),
//! never into a match: guessing here could produce a false PASS.

/// A pattern the evaluator cannot decide on, with the construct that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Undecidable(pub String);

impl Undecidable {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}
