//! SQL92 message filters: the selector language of Java's `rocketmq-filter` module
//! (`SelectorParser.jj`, `ComparisonExpression`, `LogicExpression`, ...), which a consumer
//! subscribes with (`MessageSelector.bySql`) and the broker evaluates against each message's
//! properties before delivering it.
//!
//! ```text
//! (region = 'eu' OR region IS NULL) AND price BETWEEN 10 AND 100 AND TAGS NOT IN ('test')
//! ```
//!
//! - [`compile`] parses an expression once (the broker keeps the result per group and topic);
//!   a refusal says what and where, as Java's `ParseException` does.
//! - [`SqlExpression::matches`] evaluates it against one message: only TRUE delivers the
//!   message. A missing property is NULL, and comparisons with NULL are NULL (three-valued
//!   logic), so `a <> 'x'` does not match a message without `a`.
//!
//! The grammar and its semantics are Java 5.3.3's, quirks included (a property compared with
//! a number literal is read with Java's `Integer`/`Long`/`Double.valueOf`; `NOT CONTAINS` on a
//! missing property is FALSE, not NULL; `0.0` is refused as a literal). Bounds of our own keep
//! any input harmless: at most [`MAX_EXPRESSION_LENGTH`] bytes and [`MAX_DEPTH`] levels of
//! nesting.

mod error;
mod expression;
mod java_number;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

#[cfg(test)]
use error::FilterErrorKind;
pub(crate) use error::{EvalError, FilterError};
pub(crate) use expression::EvaluationContext;
use expression::Expr;

/// The longest expression [`compile`] reads, in bytes (Java sets none; 64 KiB is far beyond
/// any selector written by hand and keeps a hostile one from costing the broker much).
pub(crate) const MAX_EXPRESSION_LENGTH: usize = 64 * 1024;

/// How deep parentheses, unary operators and chained comparisons may nest.
pub(crate) const MAX_DEPTH: usize = 100;

/// A compiled SQL92 selector (Java's `BooleanExpression`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlExpression {
    expr: Expr,
}

/// Compiles a selector (Java's `SqlFilter.compile` / `SelectorParser.parse`).
pub(crate) fn compile(expression: &str) -> Result<SqlExpression, FilterError> {
    if expression.len() > MAX_EXPRESSION_LENGTH {
        return Err(FilterError::too_large(
            format!(
                "the expression is {} bytes long, more than the {MAX_EXPRESSION_LENGTH} allowed",
                expression.len()
            ),
            0,
            0,
        ));
    }
    Ok(SqlExpression {
        expr: parser::Parser::parse(expression)?,
    })
}

impl SqlExpression {
    /// Whether a message with these properties is delivered: the expression is TRUE for it.
    /// An evaluation error (a property that is not the number it is compared with) is an
    /// `Err`; Java's broker logs it and does not deliver the message.
    pub(crate) fn matches(&self, context: &impl EvaluationContext) -> Result<bool, EvalError> {
        Ok(self.evaluate(context)? == Some(true))
    }

    /// The expression's value for a message: TRUE, FALSE or NULL (`None`).
    pub(crate) fn evaluate(
        &self,
        context: &impl EvaluationContext,
    ) -> Result<Option<bool>, EvalError> {
        self.expr.evaluate_bool(context)
    }
}

impl std::fmt::Display for SqlExpression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.expr.fmt(f)
    }
}
