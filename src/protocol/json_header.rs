//! The JSON header (`RemotingSerializable`), written as Java writes it and read leniently.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
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

/// The header fields as any known client writes them; everything is optional.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeader<'a> {
    #[serde(default)]
    code: i32,
    #[serde(default, borrow)]
    language: Option<Cow<'a, str>>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    ext_fields: Option<LenientExtFields>,
}

/// Ext fields whose values may be strings, numbers, booleans or null (the C++ client sends
/// `"queueId":0`); non-strings keep their JSON text, nulls are dropped.
struct LenientExtFields(ExtFields);

impl<'de> Deserialize<'de> for LenientExtFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExtVisitor;
        impl<'de> Visitor<'de> for ExtVisitor {
            type Value = LenientExtFields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of ext fields")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    match map.next_value::<serde_json::Value>()? {
                        serde_json::Value::Null => {}
                        serde_json::Value::String(s) => entries.push((key, s)),
                        other => entries.push((key, other.to_string())),
                    }
                }
                Ok(LenientExtFields(entries.into_iter().collect()))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LenientExtFields(ExtFields::new()))
            }
        }
        deserializer.deserialize_any(ExtVisitor)
    }
}

/// Decodes a JSON header; `body` becomes the command's body.
pub(crate) fn decode(header: &[u8], body: Body) -> Result<RemotingCommand, DecodeError> {
    // serde would also read a struct from a JSON array; a header is always an object.
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(DecodeError::InvalidJson(
            "the header is not a JSON object".into(),
        ));
    }
    let h: JsonHeader =
        serde_json::from_slice(header).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
    Ok(RemotingCommand {
        code: h.code,
        language: h
            .language
            .as_deref()
            .map_or(LanguageCode::Other, LanguageCode::from_name),
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields.map(|e| e.0).unwrap_or_default(),
        body,
        serialize_type: SerializeType::Json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str(s: &str) -> RemotingCommand {
        decode(s.as_bytes(), Body::new()).unwrap()
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
            decode(&out, Body::new()).unwrap().ext_fields.get("i"),
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
            assert!(decode(bad.as_bytes(), Body::new()).is_err(), "{bad}");
        }
    }
}
