//! JSON as Java's fastjson writes it, and lenient reading of what every client writes.
//!
//! Writing: object keys in the order the caller gives (callers give bean fields sorted, as
//! fastjson's `SortField` does), no spaces, absent fields omitted, strings escaped as fastjson
//! escapes them. Two flavours:
//! - default (`RemotingSerializable.encode`): escapes `"` `\` `\b \t \n \f \r`, and as `\uXXXX`
//!   the other control characters, 0x7F-0x9F, U+2028 and U+2029; a map with integer keys
//!   writes them unquoted (`{0:"addr"}`);
//! - browser-compatible (`SerializerFeature.BrowserCompatible`, the "standard JSON" route):
//!   also escapes `/` as `\/` and every non-ASCII UTF-16 unit as `\uXXXX`; integer map keys
//!   are quoted.
//!
//! Reading: [`parse`] quotes bare object keys first ([`quote_bare_keys`]), then lets serde
//! read, ignoring unknown fields and a trailing newline.

use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::protocol::error::BodyError;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Builds JSON text the way fastjson lays it out.
pub(crate) struct JsonWriter {
    out: String,
    browser_compatible: bool,
    /// One entry per open object or array: true until its first element is written.
    first: Vec<bool>,
}

impl JsonWriter {
    /// A writer; `browser_compatible` selects the standard-JSON flavour.
    pub(crate) fn new(browser_compatible: bool) -> Self {
        JsonWriter {
            out: String::with_capacity(256),
            browser_compatible,
            first: Vec::new(),
        }
    }

    /// The text written.
    pub(crate) fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if *first {
                *first = false;
            } else {
                self.out.push(',');
            }
        }
    }

    /// Opens an object as a value.
    pub(crate) fn begin_object(&mut self) {
        self.out.push('{');
        self.first.push(true);
    }

    /// Closes the innermost object.
    pub(crate) fn end_object(&mut self) {
        self.first.pop();
        self.out.push('}');
    }

    /// Opens an array as a value.
    pub(crate) fn begin_array(&mut self) {
        self.out.push('[');
        self.first.push(true);
    }

    /// Closes the innermost array.
    pub(crate) fn end_array(&mut self) {
        self.first.pop();
        self.out.push(']');
    }

    /// Writes an object key (quoted); the value must follow.
    pub(crate) fn key(&mut self, name: &str) {
        self.separate();
        self.push_string(name);
        self.out.push(':');
    }

    /// Writes a map key that is an object (fastjson's layout for a `Map<MessageQueue, _>`):
    /// the caller writes the key object right after, then the value.
    pub(crate) fn object_key(&mut self) {
        self.separate();
    }

    /// Ends an object key: writes the `:` before its value.
    pub(crate) fn end_object_key(&mut self) {
        self.out.push(':');
    }

    /// Writes a `MessageQueue` as a map key, as fastjson does for a `Map<MessageQueue, _>`.
    pub(crate) fn queue_key(&mut self, queue: &crate::protocol::message::MessageQueue) {
        self.object_key();
        self.begin_object();
        self.string_field("brokerName", &queue.broker_name);
        self.integer_field("queueId", i64::from(queue.queue_id));
        self.string_field("topic", &queue.topic);
        self.end_object();
        self.end_object_key();
    }

    /// Writes a float value (`Double` fields: rates, averages).
    pub(crate) fn float(&mut self, value: f64) {
        if value.is_finite() {
            // Java's Double.toString keeps ".0" on whole numbers (fastjson writes it so).
            if value.fract() == 0.0 && value.abs() < 1e7 {
                let _ = write!(self.out, "{value:.1}");
            } else {
                let _ = write!(self.out, "{value}");
            }
        } else {
            self.out.push_str("null"); // fastjson writes NaN and infinities as null
        }
    }

    /// Writes an integer map key: unquoted in the default flavour, quoted when browser-compatible.
    pub(crate) fn integer_key(&mut self, key: i64) {
        self.separate();
        if self.browser_compatible {
            let _ = write!(self.out, "\"{key}\":");
        } else {
            let _ = write!(self.out, "{key}:");
        }
    }

    /// Prepares for an array element (writes the comma when needed).
    pub(crate) fn element(&mut self) {
        self.separate();
    }

    /// Writes a string value.
    pub(crate) fn string(&mut self, value: &str) {
        self.push_string(value);
    }

    /// Writes an integer value.
    pub(crate) fn integer(&mut self, value: i64) {
        let _ = write!(self.out, "{value}");
    }

    /// Writes a boolean value.
    pub(crate) fn boolean(&mut self, value: bool) {
        self.out.push_str(if value { "true" } else { "false" });
    }

    /// `"name":"value"`.
    pub(crate) fn string_field(&mut self, name: &str, value: &str) {
        self.key(name);
        self.string(value);
    }

    /// `"name":"value"` when `value` is present; fastjson omits nulls.
    pub(crate) fn optional_string_field(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.string_field(name, value);
        }
    }

    /// `"name":123`.
    pub(crate) fn integer_field(&mut self, name: &str, value: i64) {
        self.key(name);
        self.integer(value);
    }

    /// `"name":true`.
    pub(crate) fn bool_field(&mut self, name: &str, value: bool) {
        self.key(name);
        self.boolean(value);
    }

    /// `"name":["a","b"]`.
    pub(crate) fn string_array_field<'a>(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) {
        self.key(name);
        self.begin_array();
        for value in values {
            self.element();
            self.string(value);
        }
        self.end_array();
    }

    fn push_string(&mut self, value: &str) {
        self.out.push('"');
        for ch in value.chars() {
            self.push_char(ch);
        }
        self.out.push('"');
    }

    fn push_char(&mut self, ch: char) {
        let short = match ch {
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '/' if self.browser_compatible => Some('/'),
            _ => None,
        };
        if let Some(letter) = short {
            self.out.push('\\');
            self.out.push(letter);
            return;
        }
        let code = u32::from(ch);
        let unicode_escape = if self.browser_compatible {
            !(0x20..0x7F).contains(&code)
        } else {
            code < 0x20 || (0x7F..0xA0).contains(&code) || code == 0x2028 || code == 0x2029
        };
        if !unicode_escape {
            self.out.push(ch);
            return;
        }
        let mut units = [0u16; 2];
        for unit in ch.encode_utf16(&mut units) {
            self.out.push_str("\\u");
            for shift in [12u16, 8, 4, 0] {
                self.out
                    .push(char::from(HEX_UPPER[usize::from((*unit >> shift) & 0xF)]));
            }
        }
    }
}

/// Turns the non-standard JSON fastjson writes into standard JSON; everything else is copied
/// unchanged:
/// - bare object keys get double quotes (`{0:"a"}` becomes `{"0":"a"}`), as old name servers
///   write integer map keys;
/// - a map whose keys are objects (`{{"brokerName":"b","queueId":0,"topic":"T"}:5}`, how
///   fastjson writes a `Map<MessageQueue, Long>`) becomes an array of `[key, value]` pairs,
///   which [`object_keyed_map`] reads.
///
/// A bare key is a run of ASCII letters, digits, `_`, `-`, `.`, `$` or `+` where an object key
/// is expected, outside any string.
pub(crate) fn quote_bare_keys(input: &str) -> Result<String, BodyError> {
    /// One open object or array in the input.
    struct Open {
        kind: u8,
        /// An object whose keys are objects, written out as an array of pairs.
        pairs: bool,
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 8);
    // Where each open container's `{` or `[` was written, to turn a map into an array.
    let mut opened_at: Vec<usize> = Vec::new();
    let mut containers: Vec<Open> = Vec::new();
    let mut expect_key = false;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            out.push(b);
            i += 1;
            continue;
        }
        let in_pairs = containers.last().is_some_and(|c| c.pairs);
        match b {
            b'"' if expect_key && in_pairs => {
                return Err(BodyError::Json(
                    "a map mixes object keys and string keys".into(),
                ))
            }
            b'"' => {
                in_string = true;
                expect_key = false;
            }
            b'{' if expect_key => {
                // An object where a key goes: the enclosing map is keyed by objects.
                if let (Some(map), Some(&at)) = (containers.last_mut(), opened_at.last()) {
                    if !map.pairs {
                        map.pairs = true;
                        out[at] = b'[';
                    }
                }
                out.push(b'[');
                containers.push(Open {
                    kind: b'{',
                    pairs: false,
                });
                opened_at.push(out.len());
                expect_key = true;
            }
            b'{' | b'[' => {
                containers.push(Open {
                    kind: b,
                    pairs: false,
                });
                opened_at.push(out.len());
                expect_key = b == b'{';
            }
            b'}' | b']' => {
                let closed = containers.pop();
                opened_at.pop();
                expect_key = false;
                if closed.is_some_and(|c| c.pairs) {
                    out.extend_from_slice(b"]]");
                    i += 1;
                    continue;
                }
            }
            b':' if in_pairs => {
                out.push(b',');
                i += 1;
                continue;
            }
            b',' if in_pairs => {
                out.extend_from_slice(b"],");
                expect_key = true;
                i += 1;
                continue;
            }
            b',' => expect_key = containers.last().is_some_and(|c| c.kind == b'{'),
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if expect_key && is_bare_key_byte(b) => {
                let start = i;
                while bytes.get(i).is_some_and(|&c| is_bare_key_byte(c)) {
                    i += 1;
                }
                out.push(b'"');
                out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
                out.push(b'"');
                expect_key = false;
                continue;
            }
            _ => expect_key = false,
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).map_err(|e| BodyError::Json(e.to_string()))
}

/// Deserializes a map that fastjson writes with object keys (see [`quote_bare_keys`], which
/// turns it into `[[key, value], ...]`), or an empty `{}`; `null` is empty.
pub(crate) fn object_keyed_map<'de, D, K, V>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape<K, V> {
        Pairs(Vec<(K, V)>),
        Empty(std::collections::BTreeMap<String, serde_json::Value>),
    }
    match Option::<Shape<K, V>>::deserialize(deserializer)? {
        Some(Shape::Pairs(pairs)) => Ok(pairs.into_iter().collect()),
        Some(Shape::Empty(map)) if map.is_empty() => Ok(std::collections::BTreeMap::new()),
        Some(Shape::Empty(_)) => Err(serde::de::Error::custom(
            "a map keyed by objects has string keys",
        )),
        None => Ok(std::collections::BTreeMap::new()),
    }
}

fn is_bare_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$' | b'+')
}

/// Reads a JSON object body into `T`: UTF-8 checked, bare keys quoted, unknown fields ignored,
/// trailing whitespace allowed; errors say which body (`what`) and serde's reason, which names
/// a missing or mistyped field.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, BodyError> {
    let text = std::str::from_utf8(body).map_err(|e| BodyError::Json(format!("{what}: {e}")))?;
    // serde would also read a struct from a JSON array; every body is an object.
    if !text.trim_start().starts_with('{') {
        return Err(BodyError::Json(format!(
            "{what}: the body is not a JSON object"
        )));
    }
    let text = quote_bare_keys(text)?;
    serde_json::from_str(&text).map_err(|e| BodyError::Json(format!("{what}: {e}")))
}

/// Deserializes a field that may be `null` as its default (other clients write nulls).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes an i64 written as a number or as a numeric string (the C++ client's
/// `"subVersion":"1795281104913"`); `null` is 0.
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| D::Error::custom(format!("{n} is not a 64-bit integer"))),
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("{s:?} is not a 64-bit integer"))),
        serde_json::Value::Null => Ok(0),
        other => Err(D::Error::custom(format!("{other} is not a 64-bit integer"))),
    }
}

/// Declares a Java enum: variants with their Java names in ordinal order, `name`,
/// `from_name`, `ordinal`, `from_ordinal`, and a `Deserialize` that accepts the name (Java)
/// or the ordinal number (the C++ client).
macro_rules! java_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $java:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The Java constant's name.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $java,)+ }
            }

            /// The constant with a Java name.
            pub fn from_name(name: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }

            /// The Java ordinal (declaration index).
            pub fn ordinal(self) -> usize {
                Self::ALL.iter().position(|v| *v == self).unwrap_or_default()
            }

            /// The constant with a Java ordinal.
            pub fn from_ordinal(ordinal: i64) -> Option<$name> {
                usize::try_from(ordinal).ok().and_then(|i| Self::ALL.get(i).copied())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                let value = serde_json::Value::deserialize(deserializer)?;
                let found = match &value {
                    serde_json::Value::String(s) => $name::from_name(s.trim()),
                    serde_json::Value::Number(n) => n.as_i64().and_then($name::from_ordinal),
                    _ => None,
                };
                found.ok_or_else(|| {
                    D::Error::custom(format!("{} is not a {}", value, stringify!($name)))
                })
            }
        }
    };
}

pub(crate) use java_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_fastjson() {
        let text = "a\"b\\c/d\u{1}\n\u{7f}é\u{2028}😀";
        let mut default = JsonWriter::new(false);
        default.string(text);
        assert_eq!(
            default.finish(),
            "\"a\\\"b\\\\c/d\\u0001\\n\\u007Fé\\u2028😀\""
        );
        let mut browser = JsonWriter::new(true);
        browser.string(text);
        assert_eq!(
            browser.finish(),
            "\"a\\\"b\\\\c\\/d\\u0001\\n\\u007F\\u00E9\\u2028\\uD83D\\uDE00\""
        );
    }

    #[test]
    fn writes_nested_structures_with_commas() {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("m");
        w.begin_object();
        w.integer_key(0);
        w.string("x");
        w.integer_key(1);
        w.string("y");
        w.end_object();
        w.string_array_field("a", ["p", "q"]);
        w.bool_field("b", false);
        w.optional_string_field("n", None);
        w.integer_field("i", -3);
        w.end_object();
        assert_eq!(
            w.finish(),
            r#"{"m":{0:"x",1:"y"},"a":["p","q"],"b":false,"i":-3}"#
        );
    }

    #[test]
    fn quotes_bare_keys_only_where_keys_go() {
        let cases = [
            (r#"{0:"a",1:"b"}"#, r#"{"0":"a","1":"b"}"#),
            (r#"{ -1 : "a" }"#, r#"{ "-1" : "a" }"#),
            (
                r#"{"k":{0:"x"},"l":[1,2,{3:4}]}"#,
                r#"{"k":{"0":"x"},"l":[1,2,{"3":4}]}"#,
            ),
            // Inside strings nothing changes, escaped quotes included.
            (
                r#"{"s":"{0:1}","t":"a\"{1:2}"}"#,
                r#"{"s":"{0:1}","t":"a\"{1:2}"}"#,
            ),
            // Values are never keys.
            (r#"[0,true,null]"#, r#"[0,true,null]"#),
            ("{}\n", "{}\n"),
        ];
        for (input, expected) in cases {
            assert_eq!(quote_bare_keys(input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn parse_reports_the_body_and_field() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Named {
            name: String,
        }
        let err = parse::<Named>(b"{\"other\":1}", "Named").unwrap_err();
        assert!(
            err.to_string().contains("Named") && err.to_string().contains("name"),
            "{err}"
        );
        assert!(parse::<Named>(&[0xFF, 0xFE], "Named").is_err());
        assert_eq!(
            parse::<Named>(b"{\"name\":\"x\",\"extra\":[1]}\n", "Named")
                .unwrap()
                .name,
            "x"
        );
    }
}
