//! Java's `Integer.valueOf`, `Long.valueOf`, `Double.valueOf` and `Double.toString`, as far
//! as the SQL92 filter needs them: a message property is a string, and comparing it with a
//! number literal reads it the way the Java broker would.

/// `Integer.valueOf(s)`: an optional `+`/`-`, then decimal digits, within `i32`.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    parse_long(s).and_then(|v| i32::try_from(v).ok())
}

/// `Long.valueOf(s)`: an optional `+`/`-`, then decimal digits, within `i64`.
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Rust's parser accepts the same sign-and-digits form.
    s.parse().ok()
}

/// `Double.valueOf(s)`: white space (anything up to U+0020) trimmed, an optional sign, then
/// `NaN`, `Infinity`, a decimal number (`5`, `5.`, `.5`, `5.5e-3`) or a hexadecimal one
/// (`0x1.8p1`), the numbers with an optional `f`/`F`/`d`/`D` suffix.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let s = s.trim_matches(|c: char| c <= ' ');
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
            if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
                parse_hex(hex)?
            } else if is_decimal(body) {
                body.parse().ok()?
            } else {
                return None;
            }
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// `digits [. digits] [e [+-] digits]` with at least one digit before the exponent.
fn is_decimal(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

/// The part of a hexadecimal float after `0x`: `h[.h]p[+-]d`, the binary exponent required.
fn parse_hex(text: &str) -> Option<f64> {
    let (mantissa, exponent) = text.split_once(['p', 'P'])?;
    let exponent: i32 = {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Far beyond any double's range either way; saturate instead of overflowing.
        exponent
            .parse::<i32>()
            .unwrap_or(if exponent.starts_with('-') {
                i32::MIN / 2
            } else {
                i32::MAX / 2
            })
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0f64;
    let mut scale = exponent.clamp(-4000, 4000);
    for (i, c) in int.chars().chain(frac.chars()).enumerate() {
        let digit = c.to_digit(16)?;
        value = value * 16.0 + f64::from(digit);
        if i >= int.len() {
            scale -= 4;
        }
    }
    Some(value * 2f64.powi(scale))
}

/// Java's `Double.compareTo`: `-0.0` below `0.0`, every NaN equal to every other and above
/// everything else.
pub(crate) fn compare_double(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

/// Java's `String.compareTo`: by UTF-16 code units, not by bytes.
pub(crate) fn compare_string(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java's `Double.toString`, for error messages: `100.0`, `3.14`, `1.0E10`, `1.5E-5`.
pub(crate) fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = d.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = format!("{d}");
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let text = format!("{d:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        if mantissa.contains('.') {
            format!("{mantissa}E{exponent}")
        } else {
            format!("{mantissa}.0E{exponent}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_java_reads_them() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int("+42"), Some(42));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_long("2147483648"), Some(2_147_483_648));
        for bad in ["", "+", "-", " 1", "1 ", "1.0", "0x10", "1_000", "--1"] {
            assert_eq!(parse_long(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn doubles_as_java_reads_them() {
        assert_eq!(parse_double("2.5"), Some(2.5));
        assert_eq!(parse_double(" 2.5\t"), Some(2.5));
        assert_eq!(parse_double("5."), Some(5.0));
        assert_eq!(parse_double(".5"), Some(0.5));
        assert_eq!(parse_double("-1e3"), Some(-1000.0));
        assert_eq!(parse_double("1.5d"), Some(1.5));
        assert_eq!(parse_double("2F"), Some(2.0));
        assert_eq!(parse_double("0x1.8p1"), Some(3.0));
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        for bad in [
            "", ".", "e5", "1e", "inf", "nan", "1.5x", "0x1.8", "abc", "1,5",
        ] {
            assert_eq!(parse_double(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn orderings_as_java_compares() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_double(-0.0, 0.0), Less);
        assert_eq!(compare_double(f64::NAN, f64::INFINITY), Greater);
        assert_eq!(compare_double(f64::NAN, -f64::NAN), Equal);
        // U+FF61 is above a surrogate pair's first unit in UTF-8 but below it in UTF-16.
        assert_eq!(compare_string("\u{FF61}", "\u{1F600}"), Greater);
        assert_eq!(compare_string("abc", "abd"), Less);
    }

    #[test]
    fn doubles_printed_as_java_prints_them() {
        assert_eq!(double_to_string(100.0), "100.0");
        assert_eq!(double_to_string(2.75), "2.75");
        assert_eq!(double_to_string(1e10), "1.0E10");
        assert_eq!(double_to_string(1.5e-5), "1.5E-5");
        assert_eq!(double_to_string(f64::MAX), "1.7976931348623157E308");
    }
}
