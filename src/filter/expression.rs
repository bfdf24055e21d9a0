//! A compiled selector and its evaluation, with the semantics of Java's
//! `org.apache.rocketmq.filter.expression` classes: three-valued logic (a missing property is
//! NULL, and NULL matches nothing), and Java's rules for comparing a property, which is always
//! a string, with a number or boolean literal.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use super::error::EvalError;
use super::java_number::{
    compare_double, compare_string, double_to_string, parse_double, parse_int, parse_long,
};

/// Where an expression reads a message's properties (Java's `EvaluationContext`).
pub(crate) trait EvaluationContext {
    /// The property's value, `None` when the message does not have it.
    fn get(&self, name: &str) -> Option<&str>;
}

impl EvaluationContext for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

/// A literal of the expression, or a value met while evaluating one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<S> {
    Null,
    Bool(bool),
    /// A decimal literal that fits Java's `Integer`.
    Int(i32),
    /// A decimal literal beyond `Integer` (or with an `L`), Java's `Long`.
    Long(i64),
    Double(f64),
    Str(S),
}

/// A literal as the compiled expression holds it.
pub(crate) type Literal = Value<String>;
/// A value during evaluation, borrowing its strings from the expression or the message.
type Val<'a> = Value<&'a str>;

impl Literal {
    fn as_val(&self) -> Val<'_> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::Long(l) => Value::Long(*l),
            Value::Double(d) => Value::Double(*d),
            Value::Str(s) => Value::Str(s.as_str()),
        }
    }

    pub(crate) fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Long(_) | Value::Double(_))
    }
}

/// `=`, `>`, `>=`, `<`, `<=`; `<>` is NOT of `=`, as in Java.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Equal,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
}

impl CompareOp {
    fn holds(self, order: Ordering) -> bool {
        match self {
            CompareOp::Equal => order == Ordering::Equal,
            CompareOp::Greater => order == Ordering::Greater,
            CompareOp::GreaterEqual => order != Ordering::Less,
            CompareOp::Less => order == Ordering::Less,
            CompareOp::LessEqual => order != Ordering::Greater,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CompareOp::Equal => "==",
            CompareOp::Greater => ">",
            CompareOp::GreaterEqual => ">=",
            CompareOp::Less => "<",
            CompareOp::LessEqual => "<=",
        }
    }
}

/// `CONTAINS`, `STARTSWITH`, `ENDSWITH` (5.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringTest {
    Contains,
    StartsWith,
    EndsWith,
}

/// One node of a compiled selector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Constant(Literal),
    Property(String),
    /// Unary minus (`UnaryExpression.createNegate`).
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// A property used where a boolean is expected (`createBooleanCast`).
    BooleanCast(Box<Expr>),
    /// `a AND b AND c`: Java's left-deep chain, flattened so that a long chain does not
    /// make a deep tree; the order of evaluation is the same.
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Compare {
        op: CompareOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `prop [NOT] IN ('a', 'b')`.
    In {
        property: String,
        values: Vec<String>,
        not: bool,
    },
    /// `x [NOT] CONTAINS 's'` and the like.
    Test {
        test: StringTest,
        not: bool,
        value: Box<Expr>,
        search: String,
    },
}

impl Expr {
    /// Java's `instanceof BooleanExpression`: what may stand where a boolean is expected.
    pub(crate) fn is_boolean(&self) -> bool {
        match self {
            Expr::Constant(literal) => matches!(literal, Value::Null | Value::Bool(_)),
            Expr::Property(_) | Expr::Negate(_) => false,
            _ => true,
        }
    }

    fn evaluate<'a, C: EvaluationContext>(&'a self, context: &'a C) -> Result<Val<'a>, EvalError> {
        Ok(match self {
            Expr::Constant(literal) => literal.as_val(),
            Expr::Property(name) => context.get(name).map_or(Value::Null, Value::Str),
            Expr::Negate(inner) => match inner.evaluate(context)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Long(l) => Value::Long(l.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                _ => Value::Null,
            },
            Expr::Not(inner) => match inner.evaluate_bool(context)? {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Expr::BooleanCast(inner) => match inner.evaluate(context)? {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                _ => Value::Bool(false),
            },
            Expr::And(terms) => {
                let mut unknown = false;
                for term in terms {
                    match term.evaluate_bool(context)? {
                        Some(false) => return Ok(Value::Bool(false)),
                        Some(true) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    Value::Null
                } else {
                    Value::Bool(true)
                }
            }
            Expr::Or(terms) => {
                let mut unknown = false;
                for term in terms {
                    match term.evaluate_bool(context)? {
                        Some(true) => return Ok(Value::Bool(true)),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    Value::Null
                } else {
                    Value::Bool(false)
                }
            }
            Expr::Compare { op, left, right } => compare(*op, left, right, context)?,
            Expr::In {
                property,
                values,
                not,
            } => match context.get(property) {
                None => Value::Null,
                Some(v) => Value::Bool(values.iter().any(|x| x == v) != *not),
            },
            Expr::Test {
                test,
                not,
                value,
                search,
            } => {
                // Java answers FALSE, not NULL, for a missing or non-string value and for an
                // empty search string, with or without NOT.
                let Value::Str(v) = value.evaluate(context)? else {
                    return Ok(Value::Bool(false));
                };
                if search.is_empty() {
                    return Ok(Value::Bool(false));
                }
                let found = match test {
                    StringTest::Contains => v.contains(search.as_str()),
                    StringTest::StartsWith => v.starts_with(search.as_str()),
                    StringTest::EndsWith => v.ends_with(search.as_str()),
                };
                Value::Bool(found != *not)
            }
        })
    }

    /// The value of a node the parser made sure is boolean (or NULL).
    pub(super) fn evaluate_bool<C: EvaluationContext>(
        &self,
        context: &C,
    ) -> Result<Option<bool>, EvalError> {
        match self.evaluate(context)? {
            Value::Bool(b) => Ok(Some(b)),
            Value::Null => Ok(None),
            // Java's `(Boolean)` cast fails the same way.
            other => Err(EvalError(format!(
                "{} is not a boolean",
                display_value(&other)
            ))),
        }
    }
}

/// `ComparisonExpression.evaluate` (and for `=`, the anonymous class of `doCreateEqual`).
fn compare<'a, C: EvaluationContext>(
    op: CompareOp,
    left: &'a Expr,
    right: &'a Expr,
    context: &'a C,
) -> Result<Val<'a>, EvalError> {
    let lv = left.evaluate(context)?;
    if op == CompareOp::Equal {
        let rv = right.evaluate(context)?;
        return Ok(match (&lv, &rv) {
            (Value::Null, Value::Null) => Value::Bool(true),
            (Value::Null, _) => Value::Null,
            (_, Value::Null) => Value::Bool(false),
            _ => Value::Bool(java_compare(&lv, &rv)? == Ordering::Equal),
        });
    }
    if lv == Value::Null {
        return Ok(Value::Null);
    }
    let rv = right.evaluate(context)?;
    if rv == Value::Null {
        return Ok(Value::Null);
    }
    let order = match (&lv, &rv) {
        // Strings are ordered as numbers or not at all.
        (Value::Str(l), Value::Str(r)) => match (parse_double(l), parse_double(r)) {
            (Some(l), Some(r)) => compare_double(l, r),
            _ => {
                return Err(EvalError(format!(
                    "It's illegal to compare string by '>=', '>', '<', '<='. lv={l}, rv={r}"
                )))
            }
        },
        _ => java_compare(&lv, &rv)?,
    };
    Ok(Value::Bool(op.holds(order)))
}

/// `ComparisonExpression.__compare` with string conversion on (as the parser always sets it):
/// values of different types are converted towards each other, a string towards the other
/// side's type by Java's `valueOf`; a pair Java cannot convert compares as "less".
pub(crate) fn java_compare<S: AsRef<str>>(
    lv: &Value<S>,
    rv: &Value<S>,
) -> Result<Ordering, EvalError> {
    use Value::*;
    let not_a =
        |kind: &str, s: &S| EvalError(format!("For input string: \"{}\" ({kind})", s.as_ref()));
    Ok(match (lv, rv) {
        (Str(l), Str(r)) => compare_string(l.as_ref(), r.as_ref()),
        (Int(l), Int(r)) => l.cmp(r),
        (Long(l), Long(r)) => l.cmp(r),
        (Double(l), Double(r)) => compare_double(*l, *r),
        (Bool(l), Bool(r)) => l.cmp(r),
        (Int(l), Long(r)) => i64::from(*l).cmp(r),
        (Long(l), Int(r)) => l.cmp(&i64::from(*r)),
        (Int(l), Double(r)) => compare_double(f64::from(*l), *r),
        (Long(l), Double(r)) => compare_double(*l as f64, *r),
        (Double(l), Int(r)) => compare_double(*l, f64::from(*r)),
        (Double(l), Long(r)) => compare_double(*l, *r as f64),
        (Int(l), Str(r)) => l.cmp(&parse_int(r.as_ref()).ok_or_else(|| not_a("int", r))?),
        (Long(l), Str(r)) => l.cmp(&parse_long(r.as_ref()).ok_or_else(|| not_a("long", r))?),
        (Double(l), Str(r)) => compare_double(
            *l,
            parse_double(r.as_ref()).ok_or_else(|| not_a("double", r))?,
        ),
        (Str(l), Int(r)) => parse_int(l.as_ref()).ok_or_else(|| not_a("int", l))?.cmp(r),
        (Str(l), Long(r)) => parse_long(l.as_ref())
            .ok_or_else(|| not_a("long", l))?
            .cmp(r),
        (Str(l), Double(r)) => compare_double(
            parse_double(l.as_ref()).ok_or_else(|| not_a("double", l))?,
            *r,
        ),
        // `Boolean.valueOf(String)`: true only for "true", ignoring case.
        (Str(l), Bool(r)) => l.as_ref().eq_ignore_ascii_case("true").cmp(r),
        // Java casts the Boolean itself to String here and fails with a ClassCastException.
        (Bool(_), Str(r)) => {
            return Err(EvalError(format!(
                "a boolean cannot be compared with the string '{}'",
                r.as_ref()
            )))
        }
        _ => Ordering::Less,
    })
}

fn display_value<S: AsRef<str>>(value: &Value<S>) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Bool(true) => "TRUE".into(),
        Value::Bool(false) => "FALSE".into(),
        Value::Int(i) => i.to_string(),
        Value::Long(l) => l.to_string(),
        Value::Double(d) => double_to_string(*d),
        Value::Str(s) => format!("'{}'", s.as_ref().replace('\'', "''")),
    }
}

/// As Java's `toString` of the expression classes, for error messages.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Constant(literal) => f.write_str(&display_value(literal)),
            Expr::Property(name) => f.write_str(name),
            Expr::Negate(inner) => write!(f, "(- {inner})"),
            Expr::Not(inner) => write!(f, "(NOT {inner})"),
            Expr::BooleanCast(inner) => write!(f, "{inner}"),
            Expr::And(terms) | Expr::Or(terms) => {
                let symbol = if matches!(self, Expr::And(_)) {
                    "&&"
                } else {
                    "||"
                };
                for _ in 1..terms.len() {
                    f.write_str("(")?;
                }
                for (i, term) in terms.iter().enumerate() {
                    match i {
                        0 => write!(f, "{term}")?,
                        _ => write!(f, " {symbol} {term})")?,
                    }
                }
                Ok(())
            }
            Expr::Compare { op, left, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::In {
                property,
                values,
                not,
            } => {
                let symbol = if *not { "NOT IN" } else { "IN" };
                write!(f, "{property} {symbol} ( {} )", values.join(", "))
            }
            Expr::Test {
                test, not, value, ..
            } => {
                let symbol = match test {
                    StringTest::Contains => "CONTAINS",
                    StringTest::StartsWith => "STARTSWITH",
                    StringTest::EndsWith => "ENDSWITH",
                };
                let not = if *not { "NOT " } else { "" };
                write!(f, "({not}{symbol} {value})")
            }
        }
    }
}
