//! What is wrong with a query parameter, as data: which parameter, and the
//! problem. Parsers return it; [`crate::ApiError`] turns it into the 400
//! `parameter <name>: <problem>`, and the CLI may name its flag instead, without
//! taking a message apart.

use std::borrow::Cow;

use touchline_core::Timestamp;

/// A query parameter the caller got wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("parameter {name}: {problem}")]
pub struct ParamError {
    /// The parameter as the query spells it (`limit`, `half_life_days`).
    pub name: String,
    pub problem: Problem,
}

impl ParamError {
    pub fn new(name: impl Into<String>, problem: Problem) -> Self {
        ParamError {
            name: name.into(),
            problem,
        }
    }

    /// The same problem under another parameter's name: `baseline` is parsed
    /// as a `model`, and its error must name `baseline`.
    pub fn renamed(self, name: impl Into<String>) -> Self {
        ParamError {
            name: name.into(),
            ..self
        }
    }

    /// `"<value>" is not <expected>`.
    pub(crate) fn not_a(
        name: &str,
        value: impl Into<String>,
        expected: impl Into<Cow<'static, str>>,
    ) -> Self {
        ParamError::new(
            name,
            Problem::NotA {
                value: value.into(),
                expected: expected.into(),
            },
        )
    }
}

/// Why a parameter's value was refused; each reads after `parameter <name>: `.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// Not of the form the parameter takes.
    #[error("{value:?} is not {expected}")]
    NotA {
        value: String,
        expected: Cow<'static, str>,
    },
    /// A name the parameter does not know (`kind` is what it names: a model,
    /// a conversion point).
    #[error("unknown {kind} {value:?}; expected {expected}")]
    Unknown {
        kind: &'static str,
        value: String,
        expected: Cow<'static, str>,
    },
    #[error("{value} is below the minimum {minimum}")]
    BelowMinimum { value: u64, minimum: u64 },
    #[error("{value} is above the maximum {maximum}")]
    AboveMaximum { value: u64, maximum: u64 },
    /// The end of a range at or before its start (`to` against `from`).
    #[error("{value} is not after {start} ({start_value})")]
    NotAfter {
        value: Timestamp,
        start: &'static str,
        start_value: Timestamp,
    },
    /// A model this engine has no stored credits for.
    #[error("{model:?} is not computed by this engine; the configured models are {configured}")]
    NotComputed { model: String, configured: String },
    /// One item of a list parameter given twice.
    #[error("{value:?} is listed more than once")]
    ListedTwice { value: String },
    /// The parameter itself given twice.
    #[error("given more than once")]
    Repeated,
    /// A parameter the route does not take (where unknown ones are refused).
    #[error("unknown; {taker} takes {}", accepted.join(", "))]
    NotTaken {
        taker: &'static str,
        accepted: &'static [&'static str],
    },
    /// A parameter the route cannot answer without.
    #[error("required; e.g. {example}")]
    Missing { example: &'static str },
    /// Meaningful only together with another parameter's value.
    #[error("only with {condition}")]
    OnlyWith { condition: &'static str },
    /// A value of the right form that a rule refuses (the rule says why).
    #[error("{reason}")]
    Refused { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_parameter_then_the_problem() {
        let cases = [
            (
                ParamError::not_a("limit", "lots", "a non-negative integer"),
                "parameter limit: \"lots\" is not a non-negative integer",
            ),
            (
                ParamError::new(
                    "limit",
                    Problem::AboveMaximum {
                        value: 10_001,
                        maximum: 10_000,
                    },
                ),
                "parameter limit: 10001 is above the maximum 10000",
            ),
            (
                ParamError::new(
                    "model",
                    Problem::Unknown {
                        kind: "model",
                        value: "w".into(),
                        expected: "one of linear, custom".into(),
                    },
                )
                .renamed("baseline"),
                "parameter baseline: unknown model \"w\"; expected one of linear, custom",
            ),
            (
                ParamError::new(
                    "halflife",
                    Problem::NotTaken {
                        taker: "a what-if",
                        accepted: &["model", "from"],
                    },
                ),
                "parameter halflife: unknown; a what-if takes model, from",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }
}
