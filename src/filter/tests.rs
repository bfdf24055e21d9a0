//! The grammar and semantics, table-driven: the cases of Java 5.3.3's `ExpressionTest` and
//! `ParserTest` (properties there given as numbers are strings here, as a broker sees them),
//! then Java's quirks and our bounds; and a deterministic fuzz of the parser.

use std::collections::HashMap;

use super::{compile, FilterErrorKind, MAX_DEPTH, MAX_EXPRESSION_LENGTH};

/// What an expression gives for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    True,
    False,
    /// NULL: not delivered.
    Null,
    /// Evaluation failed: not delivered (Java logs and skips the message).
    EvalError,
    /// Refused by `compile`.
    Refused,
}
use Outcome::*;

fn run(expression: &str, properties: &[(&str, &str)]) -> Outcome {
    let context: HashMap<String, String> = properties
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match compile(expression) {
        Err(_) => Refused,
        Ok(compiled) => match compiled.evaluate(&context) {
            Ok(Some(true)) => True,
            Ok(Some(false)) => False,
            Ok(None) => Null,
            Err(_) => EvalError,
        },
    }
}

const AND: &str = "a=3 and b<>4 And c>5 AND d<=4";
const OR: &str = "a=3 or b<>4 Or c>5 OR d<=4";

/// An expression, a message's properties, and what the expression gives for them.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Outcome,
);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // ExpressionTest: CONTAINS / STARTSWITH / ENDSWITH
    ("value contains 'x'", &[("value", "axb")], True),
    ("value startswith 'ax'", &[("value", "axb")], True),
    ("value endswith 'xb'", &[("value", "axb")], True),
    ("value not contains 'x'", &[("value", "axb")], False),
    ("value not startswith 'ax'", &[("value", "axb")], False),
    ("value not endswith 'xb'", &[("value", "axb")], False),
    ("value contains 'x'", &[("value", "abb")], False),
    ("value not endswith 'x'", &[("value", "abb")], True),
    ("value contains ''", &[("value", "axb")], False),
    ("value not startswith ''", &[("value", "axb")], False),
    ("value contains 'x'", &[], False),
    ("value not contains 'x'", &[], False),
    ("value contains x", &[("value", "axb")], Refused),
    ("value not contains 123", &[("value", "axb")], Refused),
    ("'axb' contains 'x'", &[], True),
    ("'axb' not startswith 'u'", &[], True),
    ("'axb' endswith ''", &[], False),
    ("' ' contains ' '", &[], True),
    ("' ' not endswith ' '", &[], False),
    ("'axb' contains ", &[], Refused),
    ("'axb' contains '.'", &[], False),
    ("'s' contains '\\'", &[], False),
    ("a not in ('4', '4', '5') and b between 3 and 10 and c not contains 'axbc'",
        &[("a", "3"), ("b", "3"), ("c", "axbdc")], True),
    ("a not in ('4', '4', '5') and b between 3 and 10 and c not startswith 'axbc'",
        &[("a", "3"), ("b", "3"), ("c", "axbdc")], True),
    ("TAGS is not null and TAGS='''''tag'''''", &[("TAGS", "''tag''")], True),
    // ExpressionTest: comparisons of strings and numbers
    ("a between up and low", &[("a", "3.14")], Null),
    ("a between up and low", &[("a", "3.14"), ("up", "up"), ("low", "low")], EvalError),
    ("key is not null and key between 0 and 100", &[("key", "con")], EvalError),
    ("a between 0 and 100", &[("a", "abc")], EvalError),
    ("a=b", &[("a", "3.14"), ("b", "3.14")], True),
    ("a<>b", &[("a", "3.14"), ("b", "3.14")], False),
    ("a<>b", &[("a", "3.14"), ("b", "3.141")], True),
    ("a > 3.1E10", &[("a", "3.1415E10")], True),
    ("a > 3.14", &[("a", "3.1415")], True),
    ("a > b", &[("a", "10"), ("b", "20")], False),
    ("a > b", &[("a", "20"), ("b", "10")], True),
    ("a is null OR a='hello'", &[], True),
    ("a is null OR a='hello'", &[("a", "hello")], True),
    ("a is null OR a='hello'", &[("a", "abc")], False),
    ("a=TRUE OR b=FALSE", &[("a", "true"), ("b", "false")], True),
    ("a=TRUE OR b=FALSE", &[("a", "false"), ("b", "true")], False),
    ("a is not null and a='hello'", &[("a", "hello")], True),
    ("a is not null and a='hello'", &[], False),
    (AND, &[("a", "3"), ("b", "5"), ("c", "6"), ("d", "1")], True),
    (AND, &[("a", "4"), ("b", "5"), ("c", "6"), ("d", "1")], False),
    (OR, &[("a", "3")], True),
    (OR, &[("a", "4"), ("b", "5")], True),
    (OR, &[("a", "4"), ("b", "4"), ("c", "6")], True),
    (OR, &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "2")], True),
    (OR, &[("a", "4"), ("b", "4"), ("c", "3"), ("d", "10")], False),
    ("a in ('3', '4', '5')", &[("a", "4")], True),
    ("a in ('3', '4', '5')", &[("a", "8")], False),
    ("a not in ('3', '4', '5')", &[("a", "8")], True),
    ("a not in ('3', '4', '5')", &[("a", "5")], False),
    ("a between 2 and 10", &[("a", "2")], True),
    ("a between 2 and 10", &[("a", "10")], True),
    ("a between 2 and 10", &[("a", "11")], False),
    ("a not between 2 and 10", &[("a", "1")], True),
    ("a not between 2 and 10", &[("a", "3")], False),
    ("a is null", &[("abc", "2")], True),
    ("a is null", &[("a", "2")], False),
    ("a is not null", &[("a", "2")], True),
    ("a is not null", &[("abc", "2")], False),
    // ParserTest
    ("(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))", &[("a", "4"), ("b", "3")], True),
    ("(a between 2 and 10) AND (b not between 6 and 9)", &[("a", "5"), ("b", "10")], True),
    ("a <= now", &[("a", "1"), ("now", "2")], True),
    ("a=3 and b contains 'xxx' and c not contains 'xxx'",
        &[("a", "3"), ("b", "axxxb"), ("c", "y")], True),
    ("a and between 2 and 10", &[], Refused),
    ("a > 100000000000000000000000", &[], Refused),
    (" a between 10 and 0", &[], Refused),
    // Three-valued logic: NULL is neither TRUE nor FALSE.
    ("a = 'x'", &[], Null),
    ("a <> 'x'", &[], Null),
    ("NOT (a = 'x')", &[], Null),
    ("a = 'x' AND b = 'y'", &[("b", "z")], False),
    ("a = 'x' AND b = 'y'", &[("b", "y")], Null),
    ("a = 'x' OR b = 'y'", &[("b", "y")], True),
    ("a = 'x' OR b = 'y'", &[("b", "z")], Null),
    ("a in ('x')", &[], Null),
    ("a not in ('x')", &[], Null),
    ("a > 1", &[], Null),
    ("1 < a", &[], Null),
    ("a between 1 and 2", &[], Null),
    ("a not between 1 and 2", &[], Null),
    // Literals and Java's number handling.
    ("a = 3", &[("a", "3")], True),
    ("a = 3", &[("a", "+3")], True),
    ("a = 3", &[("a", "3.0")], EvalError),
    ("a = 3.0", &[("a", "3")], True),
    ("a = 3L", &[("a", "3")], True),
    ("a = 2147483648", &[("a", "2147483648")], True),
    ("a = 3", &[("a", " 3")], EvalError),
    ("a = 3.0", &[("a", " 3 ")], True),
    ("a = 1.5", &[("a", "1.5d")], True),
    ("a > 1", &[("a", "0x10")], EvalError),
    ("a > 1.0", &[("a", "0x1p4")], True),
    ("a > 1.0", &[("a", "NaN")], True),
    ("a < 1E308", &[("a", "-Infinity")], True),
    ("a = -5", &[("a", "-5")], True),
    ("a = - -5", &[("a", "5")], True),
    ("a = +5", &[("a", "5")], True),
    ("-a = 5", &[("a", "-5")], Null),
    ("a = 0.0", &[], Refused),
    ("a = 012", &[], Refused),
    ("a > 9223372036854775808", &[], Refused),
    ("a > -9223372036854775807", &[("a", "0")], True),
    ("a > 1" , &[("a", "1.5")], EvalError),
    ("a > 1.0", &[("a", "1.5")], True),
    ("a > 'x'", &[], Refused),
    ("'x' < a", &[], Refused),
    ("a = NULL", &[], Refused),
    ("NULL = a", &[], Refused),
    ("TRUE = 'x'", &[], Refused),
    ("'x' = TRUE", &[], False),
    ("TRUE = a", &[("a", "true")], EvalError),
    ("a = TRUE", &[("a", "TRUE")], True),
    ("a = FALSE", &[("a", "yes")], True),
    ("1 = TRUE", &[], False),
    ("TRUE", &[], True),
    ("FALSE", &[], False),
    ("NULL", &[], Null),
    ("NOT NULL", &[], Null),
    ("'x'", &[], Refused),
    ("1", &[], Refused),
    ("NOT 1", &[], Refused),
    ("a AND 1", &[], Refused),
    ("a", &[("a", "true")], False),
    ("a", &[], Null),
    ("NOT a", &[("a", "true")], True),
    ("NOT a = 1", &[("a", "1")], False),
    ("a > 1 > 0", &[], Refused),
    ("1 IN ('1')", &[], Refused),
    ("a between 'x' and 'y'", &[], Refused),
    ("a between NULL and 1", &[], Refused),
    ("a between 1 and 1", &[("a", "1")], True),
    ("a not between 2 and 1", &[("a", "1")], True),
    // Strings: exact and by UTF-16 units; ordering compares only numbers.
    ("a = 'x'", &[("a", "X")], False),
    ("a = 'héllo'", &[("a", "héllo")], True),
    ("a > b", &[("a", "b"), ("b", "a")], EvalError),
    ("a = b", &[("a", "1"), ("b", "1.0")], False),
    // Keywords ignore case, identifiers keep it; comments and line breaks.
    ("A = 'x'", &[("a", "x")], Null),
    ("a IS NOT NULL -- set\n AND /* really */ a = 'x'", &[("a", "x")], True),
    ("a = 'x' -- no line break", &[("a", "x")], Refused),
    ("a=1\nOR\tb=2", &[("b", "2")], True),
    // Syntax errors.
    ("", &[], Refused),
    ("a =", &[], Refused),
    ("a = 'open", &[], Refused),
    ("(a = 1", &[], Refused),
    ("a = 1)", &[], Refused),
    ("a != 1", &[], Refused),
    ("a == 1", &[], Refused),
    ("a like 'x%'", &[], Refused),
    ("a is 'x'", &[], Refused),
    ("a in ()", &[], Refused),
    ("a in ('x',)", &[], Refused),
    ("a not", &[], Refused),
    ("/* open", &[], Refused),
];

#[test]
fn table_of_expressions() {
    assert!(CASES.len() >= 60, "{} cases", CASES.len());
    let mut failures = Vec::new();
    for (expression, properties, expected) in CASES {
        let got = run(expression, properties);
        if got != *expected {
            failures.push(format!(
                "{expression:?} with {properties:?}: expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn refusals_say_what_and_where() {
    let err = compile("a = 1 AND AND b = 2").unwrap_err();
    assert_eq!(err.kind, FilterErrorKind::Syntax);
    assert_eq!((err.line, err.column), (1, 11));
    assert_eq!(
        err.to_string(),
        "Encountered \"AND\" at line 1, column 11. Was expecting a literal, a property or '('."
    );

    let err = compile("a > 'x'").unwrap_err();
    assert_eq!(err.kind, FilterErrorKind::Semantic);
    assert_eq!(
        err.to_string(),
        "Value ''x'' cannot be compared. (at line 1, column 3)"
    );

    let err = compile(" a between 10 and 0").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "Illegal values of between, left value(10) must less than or equal to right value(0)"
        ),
        "{err}"
    );

    let err = compile("a = 'x' AND\nb = 'open").unwrap_err();
    assert_eq!((err.line, err.column), (2, 10));
    assert!(err.to_string().contains("<EOF>"), "{err}");
}

#[test]
fn bounds_refuse_what_would_exhaust_the_stack_or_memory() {
    let deep_parens = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let deep_not = format!("{}a", "NOT ".repeat(10_000));
    let deep_minus = format!("a = {}1", "-".repeat(10_000));
    let chained_equal = format!("a{}", " = 1".repeat(10_000));
    let chained_is_null = format!("a{}", " IS NULL".repeat(5_000));
    let chained_contains = format!("a{}", " CONTAINS 'x'".repeat(3_000));
    for text in [
        &deep_parens,
        &deep_not,
        &deep_minus,
        &chained_equal,
        &chained_is_null,
        &chained_contains,
    ] {
        let err = compile(text).unwrap_err();
        assert_eq!(err.kind, FilterErrorKind::TooLarge, "{err}");
        assert!(err.to_string().contains("deeper than"), "{err}");
    }
    // Just inside the bound is fine, and evaluates.
    let nested = format!(
        "{}a = 1{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(run(&nested, &[("a", "1")]), True);

    let long = format!("a = '{}'", "x".repeat(1 << 20));
    let err = compile(&long).unwrap_err();
    assert_eq!(err.kind, FilterErrorKind::TooLarge);
    assert!(
        err.to_string().contains("more than the 65536 allowed"),
        "{err}"
    );

    // A long flat chain is no deeper than its terms: it compiles and evaluates.
    let terms: Vec<String> = (0..2_000).map(|i| format!("a = '{i}'")).collect();
    let chain = terms.join(" OR ");
    assert!(chain.len() < MAX_EXPRESSION_LENGTH);
    assert_eq!(run(&chain, &[("a", "1999")]), True);
    assert_eq!(run(&chain, &[("a", "x")]), False);
}

/// xorshift64: deterministic inputs, the same in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 60,000 inputs: token soup, mutated valid expressions and random bytes. None may panic;
/// whatever compiles must evaluate (to a value or an error) without panicking.
#[test]
fn fuzzed_inputs_never_panic() {
    const PIECES: &[&str] = &[
        "a",
        "b",
        "TAGS",
        "NOT",
        "AND",
        "OR",
        "BETWEEN",
        "IN",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
        "CONTAINS",
        "STARTSWITH",
        "ENDSWITH",
        "=",
        "<>",
        ">",
        ">=",
        "<",
        "<=",
        "(",
        ")",
        ",",
        "+",
        "-",
        "'x'",
        "''",
        "'it''s'",
        "0",
        "1",
        "42L",
        "2147483648",
        "3.5",
        ".5",
        "5E3",
        "1e400",
        "0.0",
        "--",
        "/*",
        "*/",
        "\n",
        "'",
        "é",
        "!",
        ".",
    ];
    const SEEDS: &[&str] = &[
        "a = 1 AND b <> 'x'",
        "a BETWEEN 1 AND 10 OR b IN ('x', 'y')",
        "NOT (a IS NULL) AND b NOT CONTAINS 'z'",
        "a > -3.5E2 OR TAGS STARTSWITH 'tag'",
    ];
    let properties: HashMap<String, String> =
        [("a", "5"), ("b", "x"), ("TAGS", "tagA"), ("c", "NaN")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let mut rng = Rng(0x5EED_5C1F_117E_2024);
    for round in 0..60_000 {
        let text = match round % 3 {
            0 => (0..rng.below(12) + 1)
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect::<Vec<_>>()
                .join(" "),
            1 => {
                let mut text: Vec<char> = SEEDS[rng.below(SEEDS.len())].chars().collect();
                for _ in 0..rng.below(4) + 1 {
                    let at = rng.below(text.len() + 1);
                    match rng.below(3) {
                        0 if at < text.len() => {
                            text.remove(at);
                        }
                        1 => text.insert(
                            at,
                            "()'=<>-.eE1aN ".chars().nth(rng.below(14)).unwrap_or(' '),
                        ),
                        _ => {
                            let piece = PIECES[rng.below(PIECES.len())];
                            for (i, c) in piece.chars().enumerate() {
                                text.insert(at + i, c);
                            }
                        }
                    }
                }
                text.into_iter().collect()
            }
            _ => {
                let bytes: Vec<u8> = (0..rng.below(24))
                    .map(|_| (rng.next() & 0x7F) as u8)
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        let outcome = std::panic::catch_unwind(|| {
            if let Ok(compiled) = compile(&text) {
                let _ = compiled.evaluate(&properties);
                let _ = compiled.to_string();
            }
        });
        assert!(outcome.is_ok(), "panicked on {text:?}");
    }
}
