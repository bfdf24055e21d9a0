//! Why an expression was refused, and why evaluating one failed.

use std::fmt;

/// What kind of refusal a [`FilterError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterErrorKind {
    /// A character no token starts with, an unterminated string, or tokens in an order the
    /// grammar does not allow (Java's `TokenMgrError` and `ParseException`).
    Syntax,
    /// Grammatical, but refused when the expression is built: a string compared with `>`,
    /// `= NULL`, a `BETWEEN` whose bounds are the wrong way round, a literal out of range
    /// (the `RuntimeException`s of Java's `ComparisonExpression` and `ConstantExpression`).
    Semantic,
    /// Longer than [`MAX_EXPRESSION_LENGTH`](super::MAX_EXPRESSION_LENGTH) or nested deeper
    /// than [`MAX_DEPTH`](super::MAX_DEPTH): bounds of ours, so that no input can exhaust the
    /// broker's memory or a thread's stack (Java has none and fails with a stack overflow).
    TooLarge,
}

/// An expression refused at compile time, with the position it was refused at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError {
    pub(crate) kind: FilterErrorKind,
    pub(crate) message: String,
    /// 1-based line of the offending token (0 when the whole expression is at fault).
    pub(crate) line: u32,
    /// 1-based column of the offending token.
    pub(crate) column: u32,
}

impl FilterError {
    pub(crate) fn syntax(message: String, line: u32, column: u32) -> Self {
        FilterError {
            kind: FilterErrorKind::Syntax,
            message,
            line,
            column,
        }
    }

    pub(crate) fn semantic(message: String, line: u32, column: u32) -> Self {
        FilterError {
            kind: FilterErrorKind::Semantic,
            message,
            line,
            column,
        }
    }

    pub(crate) fn too_large(message: String, line: u32, column: u32) -> Self {
        FilterError {
            kind: FilterErrorKind::TooLarge,
            message,
            line,
            column,
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lexical and parse messages carry their position already, as JavaCC's do.
        if self.line == 0 || self.message.contains(" at line ") {
            f.write_str(&self.message)
        } else {
            write!(
                f,
                "{} (at line {}, column {})",
                self.message, self.line, self.column
            )
        }
    }
}

impl std::error::Error for FilterError {}

/// Evaluating an expression against one message failed: a property that should have been a
/// number was not, or two values Java cannot compare met. Java's broker logs it and treats the
/// message as not matching; so do we.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvalError(pub(crate) String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EvalError {}
