//! The SQL92 selector's tokens, as the token section of Java's `SelectorParser.jj` defines them.
//!
//! JavaCC takes the longest match at each position, and on a tie the token declared first:
//! keywords before identifiers, so `NOT` is a keyword and `NOTE` an identifier. Keywords,
//! exponents and the `L` suffix ignore case. White space is `' ' \t \n \r \f`; comments are
//! `-- ...` up to a line break (without one, `--` is two minus signs, as in JavaCC) and
//! `/* ... */`.

use super::error::FilterError;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// `0` or `[1-9][0-9]*`, optionally followed by `l`/`L`.
    Decimal,
    /// `5.5`, `5.`, `.5`, `5E10` with an optional exponent.
    Float,
    /// `'...'` with `''` for a quote.
    Str,
    /// `[a-z_$][a-z0-9_$]*`, ignoring case.
    Id,
    Eq,
    NotEq,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Eof,
}

/// One token: its kind, its text as written and where it starts (1-based, as JavaCC counts).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub(crate) kind: Kind,
    pub(crate) image: &'a str,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

const KEYWORDS: [(&str, Kind); 12] = [
    ("NOT", Kind::Not),
    ("AND", Kind::And),
    ("OR", Kind::Or),
    ("BETWEEN", Kind::Between),
    ("IN", Kind::In),
    ("TRUE", Kind::True),
    ("FALSE", Kind::False),
    ("NULL", Kind::Null),
    ("IS", Kind::Is),
    ("CONTAINS", Kind::Contains),
    ("STARTSWITH", Kind::StartsWith),
    ("ENDSWITH", Kind::EndsWith),
];

/// Splits an expression into tokens, one at a time.
pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: u32,
    column: u32,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lexer {
            text,
            pos: 0,
            line: 1,
            column: 1,
        }
    }

    /// The next token; `Kind::Eof` at the end (and on every call after it).
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, FilterError> {
        self.skip_blanks_and_comments();
        let (line, column, start) = (self.line, self.column, self.pos);
        let rest = &self.text[start..];
        let Some(first) = rest.chars().next() else {
            return Ok(Token {
                kind: Kind::Eof,
                image: "",
                line,
                column,
            });
        };
        let (kind, len) = match first {
            '\'' => (Kind::Str, self.string_len(rest)?),
            '0'..='9' | '.' => match number_len(rest) {
                Some(found) => found,
                None => return Err(self.lexical_error(first)),
            },
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                    .unwrap_or(rest.len());
                let word = &rest[..len];
                let kind = KEYWORDS
                    .iter()
                    .find(|(keyword, _)| keyword.eq_ignore_ascii_case(word))
                    .map_or(Kind::Id, |(_, kind)| *kind);
                (kind, len)
            }
            '=' => (Kind::Eq, 1),
            '<' if rest.starts_with("<>") => (Kind::NotEq, 2),
            '<' if rest.starts_with("<=") => (Kind::Le, 2),
            '<' => (Kind::Lt, 1),
            '>' if rest.starts_with(">=") => (Kind::Ge, 2),
            '>' => (Kind::Gt, 1),
            '(' => (Kind::LParen, 1),
            ')' => (Kind::RParen, 1),
            ',' => (Kind::Comma, 1),
            '+' => (Kind::Plus, 1),
            '-' => (Kind::Minus, 1),
            other => return Err(self.lexical_error(other)),
        };
        let image = &rest[..len];
        self.advance(len);
        Ok(Token {
            kind,
            image,
            line,
            column,
        })
    }

    fn skip_blanks_and_comments(&mut self) {
        loop {
            let rest = &self.text[self.pos..];
            if let Some(c) = rest.chars().next().filter(|c| " \t\n\r\u{c}".contains(*c)) {
                self.advance(c.len_utf8());
            } else if rest.starts_with("--") {
                // A line comment needs its line break; without one JavaCC reads two minus signs.
                match rest.find(['\n', '\r']) {
                    Some(end) => {
                        let brk = if rest[end..].starts_with("\r\n") {
                            2
                        } else {
                            1
                        };
                        self.advance(end + brk);
                    }
                    None => return,
                }
            } else if let Some(body) = rest.strip_prefix("/*") {
                match body.find("*/") {
                    Some(end) => self.advance(2 + end + 2),
                    // An unterminated block comment: `/` is no token, so the lexer fails there.
                    None => return,
                }
            } else {
                return;
            }
        }
    }

    /// The length of the string literal at the start of `rest`, closing quote included.
    fn string_len(&self, rest: &str) -> Result<usize, FilterError> {
        let mut chars = rest.char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|(_, c)| *c) == Some('\'') {
                    chars.next();
                } else {
                    return Ok(i + 1);
                }
            }
        }
        // JavaCC reports the end of input, after what it had read of the literal.
        let (line, column) = position_after(self.line, self.column, rest);
        Err(FilterError::syntax(
            format!(
                "Lexical error at line {line}, column {column}. Encountered: <EOF> after : \"{}\"",
                shorten(rest)
            ),
            line,
            column,
        ))
    }

    fn lexical_error(&self, c: char) -> FilterError {
        FilterError::syntax(
            format!(
                "Lexical error at line {}, column {}. Encountered: {:?} ({})",
                self.line, self.column, c, c as u32
            ),
            self.line,
            self.column,
        )
    }

    fn advance(&mut self, len: usize) {
        let (line, column) = position_after(self.line, self.column, &self.text[self.pos..][..len]);
        self.line = line;
        self.column = column;
        self.pos += len;
    }
}

/// Where the text after `consumed` starts, given where `consumed` started.
fn position_after(mut line: u32, mut column: u32, consumed: &str) -> (u32, u32) {
    let mut chars = consumed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line = line.saturating_add(1);
                column = 1;
            }
            _ => column = column.saturating_add(1),
        }
    }
    (line, column)
}

/// The number token at the start of `text` (which starts with a digit or `.`), by JavaCC's
/// longest match over DECIMAL_LITERAL and FLOATING_POINT_LITERAL; `None` for a lone `.`.
fn number_len(text: &str) -> Option<(Kind, usize)> {
    let bytes = text.as_bytes();
    let digits_from = |i: usize| bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    let exponent_from = |i: usize| -> usize {
        if !matches!(bytes.get(i), Some(b'e' | b'E')) {
            return 0;
        }
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        let digits = digits_from(i + 1 + sign);
        if digits == 0 {
            0
        } else {
            1 + sign + digits
        }
    };
    let int_digits = digits_from(0);
    if int_digits == 0 {
        // `.5`, `.5E10`
        let frac = digits_from(1);
        if frac == 0 {
            return None;
        }
        let end = 1 + frac;
        return Some((Kind::Float, end + exponent_from(end)));
    }
    if bytes.get(int_digits) == Some(&b'.') {
        let end = int_digits + 1 + digits_from(int_digits + 1);
        return Some((Kind::Float, end + exponent_from(end)));
    }
    let exponent = exponent_from(int_digits);
    if exponent > 0 {
        return Some((Kind::Float, int_digits + exponent));
    }
    // DECIMAL_LITERAL is "0" alone or a non-zero digit first: `012` is `0` then `12`.
    let len = if bytes[0] == b'0' { 1 } else { int_digits };
    let suffix = usize::from(matches!(bytes.get(len), Some(b'l' | b'L')));
    Some((Kind::Decimal, len + suffix))
}

/// At most 40 characters of `text`, for error messages that must not echo a huge input.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token().expect("lexes");
            if token.kind == Kind::Eof {
                return out;
            }
            out.push((token.kind, token.image.to_string()));
        }
    }

    #[test]
    fn longest_match_and_keywords_ignore_case() {
        assert_eq!(
            kinds("not NOTE And a1_$ <> <= >= < > = ( ) , + -"),
            vec![
                (Kind::Not, "not".into()),
                (Kind::Id, "NOTE".into()),
                (Kind::And, "And".into()),
                (Kind::Id, "a1_$".into()),
                (Kind::NotEq, "<>".into()),
                (Kind::Le, "<=".into()),
                (Kind::Ge, ">=".into()),
                (Kind::Lt, "<".into()),
                (Kind::Gt, ">".into()),
                (Kind::Eq, "=".into()),
                (Kind::LParen, "(".into()),
                (Kind::RParen, ")".into()),
                (Kind::Comma, ",".into()),
                (Kind::Plus, "+".into()),
                (Kind::Minus, "-".into()),
            ]
        );
    }

    #[test]
    fn numbers_as_javacc_reads_them() {
        let k = kinds;
        assert_eq!(k("0"), vec![(Kind::Decimal, "0".into())]);
        assert_eq!(k("12L"), vec![(Kind::Decimal, "12L".into())]);
        assert_eq!(
            k("012"),
            vec![(Kind::Decimal, "0".into()), (Kind::Decimal, "12".into())]
        );
        assert_eq!(k("5."), vec![(Kind::Float, "5.".into())]);
        assert_eq!(k(".5e-3"), vec![(Kind::Float, ".5e-3".into())]);
        assert_eq!(k("5E10"), vec![(Kind::Float, "5E10".into())]);
        assert_eq!(k("5.E3"), vec![(Kind::Float, "5.E3".into())]);
        // An exponent without digits is not part of the number.
        assert_eq!(
            k("5e"),
            vec![(Kind::Decimal, "5".into()), (Kind::Id, "e".into())]
        );
    }

    #[test]
    fn strings_comments_and_positions() {
        assert_eq!(
            kinds("'it''s' -- note\n /* x */ a"),
            vec![(Kind::Str, "'it''s'".into()), (Kind::Id, "a".into())]
        );
        // Without a line break, `--` is two minus signs.
        assert_eq!(
            kinds("--a"),
            vec![
                (Kind::Minus, "-".into()),
                (Kind::Minus, "-".into()),
                (Kind::Id, "a".into())
            ]
        );
        let mut lexer = Lexer::new("a\n  b");
        lexer.next_token().unwrap();
        let b = lexer.next_token().unwrap();
        assert_eq!((b.line, b.column), (2, 3));
    }

    #[test]
    fn lexical_errors_say_where() {
        let err = Lexer::new("a != 1").next_token().and_then(|_| {
            let mut lexer = Lexer::new("a != 1");
            lexer.next_token()?;
            lexer.next_token()
        });
        let err = err.unwrap_err();
        assert_eq!((err.line, err.column), (1, 3));
        assert!(
            err.to_string()
                .contains("Lexical error at line 1, column 3"),
            "{err}"
        );

        let mut lexer = Lexer::new("a = 'open");
        lexer.next_token().unwrap();
        lexer.next_token().unwrap();
        let err = lexer.next_token().unwrap_err();
        assert!(err.to_string().contains("<EOF>"), "{err}");
        assert_eq!((err.line, err.column), (1, 10));

        let mut lexer = Lexer::new("/* open");
        assert!(lexer.next_token().is_err());
        assert!(Lexer::new("é").next_token().is_err());
        assert!(Lexer::new(".").next_token().is_err());
    }
}
