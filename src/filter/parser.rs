//! A recursive-descent parser for the grammar of Java's `SelectorParser.jj`, building the
//! expression with the checks Java's `create*` factories make.
//!
//! ```text
//! selector   := or
//! or         := and ( OR and )*
//! and        := equality ( AND equality )*
//! equality   := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( ('>' | '>=' | '<' | '<=') unary
//!                     | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN '(' string ( ',' string )* ')' )*
//! unary      := '+' unary | '-' unary | NOT unary | primary
//! primary    := literal | identifier | '(' or ')'
//! ```
//!
//! Every level of recursion and every node wrapped around a left operand counts towards
//! [`MAX_DEPTH`](super::MAX_DEPTH), so neither the parser nor the evaluation of what it built
//! can run out of stack, whatever the input.

use super::error::FilterError;
use super::expression::{java_compare, CompareOp, Expr, Literal, StringTest, Value};
use super::java_number::double_to_string;
use super::lexer::{shorten, Kind, Lexer, Token};
use super::MAX_DEPTH;

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The next token, read ahead.
    current: Token<'a>,
    /// The token after it, read when a rule needs two tokens of look-ahead.
    peeked: Option<Token<'a>>,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn parse(text: &'a str) -> Result<Expr, FilterError> {
        let mut lexer = Lexer::new(text);
        let current = lexer.next_token()?;
        let mut parser = Parser {
            lexer,
            current,
            peeked: None,
            depth: 0,
        };
        let start = parser.current;
        let expr = parser.or_expression()?;
        if parser.current.kind != Kind::Eof {
            return Err(parser.unexpected("AND, OR or the end of the expression"));
        }
        as_boolean(expr, &start)
    }

    fn or_expression(&mut self) -> Result<Expr, FilterError> {
        self.logic(Kind::Or, Self::and_expression, Expr::Or)
    }

    fn and_expression(&mut self) -> Result<Expr, FilterError> {
        self.logic(Kind::And, Self::equality_expression, Expr::And)
    }

    /// `operand (keyword operand)*` as one n-ary node.
    fn logic(
        &mut self,
        keyword: Kind,
        operand: fn(&mut Self) -> Result<Expr, FilterError>,
        node: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, FilterError> {
        let first_token = self.current;
        let first = operand(self)?;
        if self.current.kind != keyword {
            return Ok(first);
        }
        let mut terms = vec![as_boolean(first, &first_token)?];
        while self.current.kind == keyword {
            self.advance()?;
            let token = self.current;
            terms.push(as_boolean(operand(self)?, &token)?);
        }
        Ok(node(terms))
    }

    fn equality_expression(&mut self) -> Result<Expr, FilterError> {
        let saved = self.depth;
        let mut left = self.comparison_expression()?;
        loop {
            let token = self.current;
            left = match token.kind {
                Kind::Eq | Kind::NotEq => {
                    self.advance()?;
                    self.deeper(&token)?;
                    let right = self.comparison_expression()?;
                    let equal = create_equal(left, right, &token)?;
                    if token.kind == Kind::Eq {
                        equal
                    } else {
                        Expr::Not(Box::new(equal))
                    }
                }
                Kind::Is => {
                    self.advance()?;
                    self.deeper(&token)?;
                    let not = self.current.kind == Kind::Not;
                    if not {
                        self.advance()?;
                    }
                    self.expect(Kind::Null, "NULL")?;
                    let is_null = compare_node(CompareOp::Equal, left, Expr::Constant(Value::Null));
                    if not {
                        Expr::Not(Box::new(is_null))
                    } else {
                        is_null
                    }
                }
                _ => break,
            };
        }
        self.depth = saved;
        Ok(left)
    }

    fn comparison_expression(&mut self) -> Result<Expr, FilterError> {
        let saved = self.depth;
        let mut left = self.unary_expression()?;
        loop {
            let token = self.current;
            let op = match token.kind {
                Kind::Gt => Some(CompareOp::Greater),
                Kind::Ge => Some(CompareOp::GreaterEqual),
                Kind::Lt => Some(CompareOp::Less),
                Kind::Le => Some(CompareOp::LessEqual),
                _ => None,
            };
            if let Some(op) = op {
                self.advance()?;
                self.deeper(&token)?;
                let right = self.unary_expression()?;
                left = create_ordering(op, left, right, &token)?;
                continue;
            }
            // `NOT` continues a comparison only before one of these (JavaCC's LOOKAHEAD(2)).
            let not = token.kind == Kind::Not
                && matches!(
                    self.peek()?.kind,
                    Kind::Contains | Kind::StartsWith | Kind::EndsWith | Kind::Between | Kind::In
                );
            let operator = if not { self.peek()?.kind } else { token.kind };
            let test = match operator {
                Kind::Contains => StringTest::Contains,
                Kind::StartsWith => StringTest::StartsWith,
                Kind::EndsWith => StringTest::EndsWith,
                Kind::Between => {
                    self.skip_not(not)?;
                    self.deeper(&token)?;
                    left = self.between(left, not, &token)?;
                    continue;
                }
                Kind::In => {
                    self.skip_not(not)?;
                    self.deeper(&token)?;
                    left = self.in_list(left, not, &token)?;
                    continue;
                }
                _ => break,
            };
            self.skip_not(not)?;
            self.deeper(&token)?;
            let search = self.string_literal()?;
            left = Expr::Test {
                test,
                not,
                value: Box::new(left),
                search,
            };
        }
        self.depth = saved;
        Ok(left)
    }

    /// After `[NOT] BETWEEN`: `low AND high`, as Java's `createBetween` / `createNotBetween`.
    fn between(&mut self, value: Expr, not: bool, at: &Token<'_>) -> Result<Expr, FilterError> {
        let low = self.unary_expression()?;
        self.expect(Kind::And, "AND")?;
        let high = self.unary_expression()?;
        if not {
            let below = create_ordering(CompareOp::Less, value.clone(), low, at)?;
            let above = create_ordering(CompareOp::Greater, value, high, at)?;
            return Ok(Expr::Or(vec![below, above]));
        }
        if let (Expr::Constant(lv), Expr::Constant(rv)) = (&low, &high) {
            if *lv == Value::Null || *rv == Value::Null {
                return Err(semantic(
                    "Illegal values of between, values can not be null!".into(),
                    at,
                ));
            }
            let order = java_compare(rv, lv).map_err(|e| semantic(e.0, at))?;
            if order == std::cmp::Ordering::Less {
                return Err(semantic(
                    format!(
                        "Illegal values of between, left value({}) must less than or equal to right value({})",
                        bare(lv),
                        bare(rv)
                    ),
                    at,
                ));
            }
        }
        let from = create_ordering(CompareOp::GreaterEqual, value.clone(), low, at)?;
        let to = create_ordering(CompareOp::LessEqual, value, high, at)?;
        Ok(Expr::And(vec![from, to]))
    }

    /// After `[NOT] IN`: `( 'a', 'b', ... )`; the left side must be a property.
    fn in_list(&mut self, left: Expr, not: bool, at: &Token<'_>) -> Result<Expr, FilterError> {
        self.expect(Kind::LParen, "(")?;
        let mut values = vec![self.string_literal()?];
        while self.current.kind == Kind::Comma {
            self.advance()?;
            values.push(self.string_literal()?);
        }
        self.expect(Kind::RParen, ")")?;
        match left {
            Expr::Property(property) => Ok(Expr::In {
                property,
                values,
                not,
            }),
            other => Err(semantic(
                format!("Expected a property for In expression, got: {other}"),
                at,
            )),
        }
    }

    fn unary_expression(&mut self) -> Result<Expr, FilterError> {
        let token = self.current;
        let saved = self.depth;
        let expr = match token.kind {
            Kind::Plus => {
                self.advance()?;
                self.deeper(&token)?;
                self.unary_expression()?
            }
            Kind::Minus => {
                self.advance()?;
                self.deeper(&token)?;
                Expr::Negate(Box::new(self.unary_expression()?))
            }
            Kind::Not => {
                self.advance()?;
                self.deeper(&token)?;
                let operand_token = self.current;
                let operand = self.unary_expression()?;
                Expr::Not(Box::new(as_boolean(operand, &operand_token)?))
            }
            _ => self.primary_expression()?,
        };
        self.depth = saved;
        Ok(expr)
    }

    fn primary_expression(&mut self) -> Result<Expr, FilterError> {
        let token = self.current;
        let expr = match token.kind {
            Kind::Str => Expr::Constant(Value::Str(self.string_literal()?)),
            Kind::Decimal => Expr::Constant(decimal(&token)?),
            Kind::Float => Expr::Constant(float(&token)?),
            Kind::True => Expr::Constant(Value::Bool(true)),
            Kind::False => Expr::Constant(Value::Bool(false)),
            Kind::Null => Expr::Constant(Value::Null),
            Kind::Id => Expr::Property(token.image.to_string()),
            Kind::LParen => {
                self.advance()?;
                let saved = self.depth;
                self.deeper(&token)?;
                let inner = self.or_expression()?;
                self.depth = saved;
                self.expect(Kind::RParen, ")")?;
                return Ok(inner);
            }
            _ => return Err(self.unexpected("a literal, a property or '('")),
        };
        if token.kind != Kind::Str {
            self.advance()?;
        }
        Ok(expr)
    }

    /// The value of the string literal at the current token (`''` is one quote).
    fn string_literal(&mut self) -> Result<String, FilterError> {
        if self.current.kind != Kind::Str {
            return Err(self.unexpected("a string literal"));
        }
        let image = self.current.image;
        let value = image[1..image.len() - 1].replace("''", "'");
        self.advance()?;
        Ok(value)
    }

    fn skip_not(&mut self, not: bool) -> Result<(), FilterError> {
        if not {
            self.advance()?;
        }
        self.advance()
    }

    fn expect(&mut self, kind: Kind, what: &str) -> Result<(), FilterError> {
        if self.current.kind != kind {
            return Err(self.unexpected(what));
        }
        self.advance()
    }

    fn advance(&mut self) -> Result<(), FilterError> {
        self.current = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(())
    }

    fn peek(&mut self) -> Result<Token<'a>, FilterError> {
        if let Some(token) = self.peeked {
            return Ok(token);
        }
        let token = self.lexer.next_token()?;
        self.peeked = Some(token);
        Ok(token)
    }

    /// One level deeper: a recursion, or a node wrapped around what was parsed so far.
    fn deeper(&mut self, at: &Token<'_>) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::too_large(
                format!(
                    "the expression nests deeper than {MAX_DEPTH} levels at line {}, column {}",
                    at.line, at.column
                ),
                at.line,
                at.column,
            ));
        }
        Ok(())
    }

    /// JavaCC's `ParseException` text, without its list of every token that would have fit.
    fn unexpected(&self, expected: &str) -> FilterError {
        let token = &self.current;
        let found = if token.kind == Kind::Eof {
            "<EOF>".to_string()
        } else {
            shorten(token.image)
        };
        FilterError::syntax(
            format!(
                "Encountered \"{found}\" at line {}, column {}. Was expecting {expected}.",
                token.line, token.column
            ),
            token.line,
            token.column,
        )
    }
}

/// Java's `asBooleanExpression`: a boolean node as it is, a property cast, anything else refused.
fn as_boolean(expr: Expr, at: &Token<'_>) -> Result<Expr, FilterError> {
    if expr.is_boolean() {
        Ok(expr)
    } else if matches!(expr, Expr::Property(_)) {
        Ok(Expr::BooleanCast(Box::new(expr)))
    } else {
        Err(semantic(
            format!("Expression will not result in a boolean value: {expr}"),
            at,
        ))
    }
}

/// `createEqual`: neither side may be the NULL literal, and a boolean literal on the left
/// compares only with a boolean literal.
fn create_equal(left: Expr, right: Expr, at: &Token<'_>) -> Result<Expr, FilterError> {
    for side in [&left, &right] {
        if *side == Expr::Constant(Value::Null) {
            return Err(semantic(format!("'{side}' cannot be compared."), at));
        }
    }
    if let (Expr::Constant(_), Expr::Constant(_)) = (&left, &right) {
        if left.is_boolean() && !right.is_boolean() {
            return Err(semantic(
                format!("'{left}' cannot be compared with '{right}'"),
                at,
            ));
        }
    }
    Ok(compare_node(CompareOp::Equal, left, right))
}

/// `createGreaterThan` and its siblings: a literal side must be a number, and no side may be
/// boolean (`checkLessThanOperand`).
fn create_ordering(
    op: CompareOp,
    left: Expr,
    right: Expr,
    at: &Token<'_>,
) -> Result<Expr, FilterError> {
    for side in [&left, &right] {
        let comparable = match side {
            Expr::Constant(literal) => literal.is_number(),
            other => !other.is_boolean(),
        };
        if !comparable {
            return Err(semantic(format!("Value '{side}' cannot be compared."), at));
        }
    }
    Ok(compare_node(op, left, right))
}

fn compare_node(op: CompareOp, left: Expr, right: Expr) -> Expr {
    Expr::Compare {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

/// `ConstantExpression.createFromDecimal`: a `Long`, kept as an `Integer` when it fits.
fn decimal(token: &Token<'_>) -> Result<Literal, FilterError> {
    let digits = token.image.trim_end_matches(['l', 'L']);
    let value: i64 = digits
        .parse()
        .map_err(|_| semantic(format!("For input string: \"{}\"", shorten(digits)), token))?;
    Ok(match i32::try_from(value) {
        Ok(int) => Value::Int(int),
        Err(_) => Value::Long(value),
    })
}

/// `ConstantExpression.createFloat`: a finite `Double` no smaller than `Double.MIN_VALUE`
/// (so `0.0` is refused, as in Java).
fn float(token: &Token<'_>) -> Result<Literal, FilterError> {
    let value: f64 = token
        .image
        .parse()
        .map_err(|_| semantic(format!("not a number: {}", shorten(token.image)), token))?;
    if value > f64::MAX {
        return Err(semantic(
            format!(
                "{} is greater than {}",
                shorten(token.image),
                double_to_string(f64::MAX)
            ),
            token,
        ));
    }
    // Double.MIN_VALUE, the smallest positive subnormal.
    let min_value = f64::from_bits(1);
    if value < min_value {
        return Err(semantic(
            format!(
                "{} is less than {}",
                shorten(token.image),
                double_to_string(min_value)
            ),
            token,
        ));
    }
    Ok(Value::Double(value))
}

/// A literal as Java's `String.valueOf` prints it (strings without quotes).
fn bare(literal: &Literal) -> String {
    match literal {
        Value::Str(s) => s.clone(),
        other => Expr::Constant(other.clone()).to_string(),
    }
}

fn semantic(message: String, at: &Token<'_>) -> FilterError {
    FilterError::semantic(message, at.line, at.column)
}
