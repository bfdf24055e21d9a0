//! The JSON header (`RemotingSerializable`), written as Java writes it and read leniently.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::command::{RemotingCommand, SerializeType};
use super::command_body::Body;
use super::error::DecodeError;
use super::ext_fields::ExtFields;
use super::language::LanguageCode;

/// Appends the JSON header of `cmd` to `out`: keys sorted and null fields omitted, like Java.
pub(crate) fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"code\":");
    push_int(out, cmd.code);
    out.extend_from_slice(b",\"extFields\":{");
    for (i, (key, value)) in cmd.ext_fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, key);
        out.push(b':');
        push_str(out, value);
    }
    out.extend_from_slice(b"},\"flag\":");
    push_int(out, cmd.flag);
    out.extend_from_slice(b",\"language\":\"");
    out.extend_from_slice(cmd.language.name().as_bytes());
    out.extend_from_slice(b"\",\"opaque\":");
    push_int(out, cmd.opaque);
    if let Some(remark) = &cmd.remark {
        out.extend_from_slice(b",\"remark\":");
        push_str(out, remark);
    }
    out.extend_from_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    push_int(out, cmd.version);
    out.push(b'}');
}

fn push_int(out: &mut Vec<u8>, n: i32) {
    out.extend_from_slice(n.to_string().as_bytes());
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Fast path: most keys and values need no escaping.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a &str into a Vec cannot fail; serde_json escapes control bytes as \u00XX.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Decodes a JSON header; `body` becomes the command's body. More than `max_ext_fields` ext
/// fields is an error, raised as soon as the next one is seen.
///
/// Read as Java's fastjson reads it: unknown keys are skipped and a repeated key takes its
/// last value. Keys and values without escapes are borrowed from `header` until they are
/// stored, and nothing but the stored strings is allocated per field, so decoding costs a
/// small multiple of the header's size.
pub(crate) fn decode(
    header: &[u8],
    body: Body,
    max_ext_fields: usize,
) -> Result<RemotingCommand, DecodeError> {
    let too_many = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(header);
    let fields = HeaderSeed {
        max_ext_fields,
        too_many: &too_many,
    }
    .deserialize(&mut de)
    .and_then(|fields| de.end().map(|()| fields))
    .map_err(|e| {
        if too_many.get() {
            DecodeError::TooManyExtFields {
                max: max_ext_fields,
            }
        } else {
            DecodeError::InvalidJson(e.to_string())
        }
    })?;
    Ok(RemotingCommand {
        code: fields.code,
        language: fields
            .language
            .as_deref()
            .map_or(LanguageCode::Other, LanguageCode::from_name),
        version: fields.version,
        opaque: fields.opaque,
        flag: fields.flag,
        remark: fields.remark,
        ext_fields: fields.ext_fields,
        body,
        serialize_type: SerializeType::Json,
    })
}

/// The header fields any known client writes; all optional.
#[derive(Default)]
struct HeaderFields<'de> {
    code: i32,
    language: Option<JsonStr<'de>>,
    version: i32,
    opaque: i32,
    flag: i32,
    remark: Option<String>,
    ext_fields: ExtFields,
}

/// Reads the header object, passing the ext-field limit down to the `extFields` object.
struct HeaderSeed<'a> {
    max_ext_fields: usize,
    too_many: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = HeaderFields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = HeaderFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut h = HeaderFields::default();
        while let Some(key) = map.next_key::<JsonStr>()? {
            // Every assignment overwrites: a repeated key keeps its last value.
            match &*key {
                "code" => h.code = map.next_value()?,
                "language" => h.language = map.next_value()?,
                "version" => h.version = map.next_value()?,
                "opaque" => h.opaque = map.next_value()?,
                "flag" => h.flag = map.next_value()?,
                "remark" => h.remark = map.next_value()?,
                "extFields" => {
                    h.ext_fields = map.next_value_seed(ExtFieldsSeed {
                        max: self.max_ext_fields,
                        too_many: self.too_many,
                    })?
                }
                // serde_json skips without recursing: deep nesting cannot exhaust the
                // reader thread's small stack.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(h)
    }
}

/// Reads the `extFields` object: values may be strings, numbers, booleans or null (the C++
/// client sends `"queueId":0`); non-strings keep their JSON text, nulls are dropped. No client
/// nests arrays or objects there (Java reads a `HashMap<String, String>`): they are refused.
struct ExtFieldsSeed<'a> {
    max: usize,
    too_many: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for ExtFieldsSeed<'_> {
    type Value = ExtFields;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ExtFieldsSeed<'_> {
    type Value = ExtFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of ext fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = ExtFields::new();
        let mut seen = 0;
        while let Some(key) = map.next_key::<JsonStr>()? {
            if seen == self.max {
                self.too_many.set(true);
                return Err(de::Error::custom(format_args!(
                    "more than {} ext fields",
                    self.max
                )));
            }
            seen += 1;
            match map.next_value::<ExtValue>()? {
                ExtValue::Text(value) => fields.push_unchecked(&key, &value),
                ExtValue::Number(text) => fields.push_unchecked(&key, &text),
                ExtValue::Null => {}
            }
        }
        // A repeated key takes its last value, as in Java, without copying keys.
        fields.dedup();
        Ok(fields)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ExtFields::new())
    }
}

/// A JSON string, borrowed from the header when it has no escapes.
enum JsonStr<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl std::ops::Deref for JsonStr<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            JsonStr::Borrowed(s) => s,
            JsonStr::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = JsonStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr::Borrowed(s))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(JsonStr::Owned(s.to_string()))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(JsonStr::Owned(s))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// An ext field's value: a string (borrowed when it can be), the JSON text of a number or
/// boolean, or null (dropped).
enum ExtValue<'de> {
    Text(JsonStr<'de>),
    Number(String),
    Null,
}

impl<'de> Deserialize<'de> for ExtValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = ExtValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(ExtValue::Text(JsonStr::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(ExtValue::Text(JsonStr::Owned(s.to_string())))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(ExtValue::Text(JsonStr::Owned(s)))
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
                Ok(ExtValue::Number(b.to_string()))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                Ok(ExtValue::Number(n.to_string()))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Ok(ExtValue::Number(n.to_string()))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
                // Keep serde_json's own text for the number ("1.5", not "1.5000").
                let text = serde_json::Number::from_f64(n)
                    .map_or_else(|| n.to_string(), |n| n.to_string());
                Ok(ExtValue::Number(text))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ExtValue::Null)
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str(s: &str) -> RemotingCommand {
        decode(s.as_bytes(), Body::new(), 64).unwrap()
    }

    #[test]
    fn writes_like_java() {
        let cmd = RemotingCommand {
            opaque: 3,
            ..RemotingCommand::new_request(105)
        }
        .with_ext("topic", "T");
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#
        );
    }

    #[test]
    fn escapes_control_characters() {
        let cmd = RemotingCommand::new_request(310).with_ext("i", "A\u{1}B\u{2}\"");
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains(r#""i":"A\u0001B\u0002\"""#), "{text}");
        assert_eq!(
            decode(&out, Body::new(), 64).unwrap().ext_fields.get("i"),
            Some("A\u{1}B\u{2}\"")
        );
    }

    #[test]
    fn reads_what_other_clients_write() {
        // C++: no serializeTypeCurrentRPC, empty remark, numbers as ext values, trailing newline.
        let cmd = decode_str(
            "{\"code\":10,\"extFields\":{\"queueId\":0,\"batch\":\"0\",\"ok\":true,\"n\":null},\
             \"flag\":0,\"language\":\"CPP\",\"opaque\":2,\"remark\":\"\",\"version\":63}\n",
        );
        assert_eq!(cmd.code, 10);
        assert_eq!(cmd.language, LanguageCode::Cpp);
        assert_eq!(cmd.remark.as_deref(), Some(""));
        assert_eq!(cmd.ext_fields.get("queueId"), Some("0"));
        assert_eq!(cmd.ext_fields.get("ok"), Some("true"));
        assert_eq!(cmd.ext_fields.get("n"), None);
        // rocketmq-rust: null remark; unknown keys; no extFields at all.
        let cmd = decode_str(r#"{"code":0,"remark":null,"future":[1,2],"flag":1,"opaque":9}"#);
        assert!(cmd.is_response());
        assert_eq!(cmd.remark, None);
        assert!(cmd.ext_fields.is_empty());
        assert_eq!(decode_str(r#"{"extFields":null}"#).ext_fields.len(), 0);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "{",
            "[]",
            "{\"code\":\"x\"}",
            "{\"extFields\":[1]}",
            "nul",
        ] {
            assert!(decode(bad.as_bytes(), Body::new(), 64).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_repeated_key_takes_its_last_value_as_in_java() {
        let cmd = decode_str(
            r#"{"code":1,"code":2,"extFields":{"a":"1","b":"x","a":"3"},"opaque":5,"opaque":6}"#,
        );
        assert_eq!((cmd.code, cmd.opaque), (2, 6));
        assert_eq!(
            cmd.ext_fields.iter().collect::<Vec<_>>(),
            vec![("a", "3"), ("b", "x")]
        );
        let cmd = decode_str(r#"{"extFields":{"a":"1"},"extFields":{"b":"2"}}"#);
        assert_eq!(cmd.ext_fields.iter().collect::<Vec<_>>(), vec![("b", "2")]);
    }

    #[test]
    fn ext_fields_past_the_limit_are_a_typed_error() {
        let fields: Vec<String> = (0..5).map(|i| format!("\"k{i}\":\"v\"")).collect();
        let header = format!("{{\"extFields\":{{{}}}}}", fields.join(","));
        assert_eq!(
            decode(header.as_bytes(), Body::new(), 5)
                .unwrap()
                .ext_fields
                .len(),
            5
        );
        assert_eq!(
            decode(header.as_bytes(), Body::new(), 4),
            Err(DecodeError::TooManyExtFields { max: 4 })
        );
    }

    #[test]
    fn numbers_keep_their_json_text() {
        let cmd = decode_str(r#"{"extFields":{"f":1.5,"neg":-3,"big":18446744073709551615}}"#);
        assert_eq!(cmd.ext_fields.get("f"), Some("1.5"));
        assert_eq!(cmd.ext_fields.get("neg"), Some("-3"));
        assert_eq!(cmd.ext_fields.get("big"), Some("18446744073709551615"));
    }

    #[test]
    fn nesting_is_bounded_so_a_small_reader_stack_suffices() {
        assert!(decode(br#"{"extFields":{"arr":[1]}}"#, Body::new(), 64).is_err());
        let nested = |depth: usize| {
            format!(
                r#"{{"future":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        // Unknown keys are skipped without recursion: a 32 KiB thread survives deep nesting.
        let deep = nested(100_000);
        let skipped = std::thread::Builder::new()
            .stack_size(32 * 1024)
            .spawn(move || decode(deep.as_bytes(), Body::new(), 64).is_ok())
            .unwrap()
            .join()
            .unwrap();
        assert!(skipped);
    }
}
