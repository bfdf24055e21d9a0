//! The ROCKETMQ binary header (`RocketMQSerializable`).
//!
//! ```text
//! i16 code | u8 language | i16 version | i32 opaque | i32 flag
//! i32 remark_len | remark             (0 = no remark)
//! i32 ext_len    | ext entries        (each: i16 key_len | key | i32 val_len | val)
//! ```

use byteorder::{BigEndian, ByteOrder};

use super::command::{RemotingCommand, SerializeType};
use super::command_body::Body;
use super::error::{DecodeError, EncodeError};
use super::ext_fields::ExtFields;
use super::language::LanguageCode;

/// Appends the binary header of `cmd` to `out`.
pub(crate) fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut b2 = [0u8; 2];
    let mut b4 = [0u8; 4];
    // Java casts the code to a short; codes fit.
    BigEndian::write_i16(&mut b2, cmd.code as i16);
    out.extend_from_slice(&b2);
    out.push(cmd.language.code());
    BigEndian::write_i16(&mut b2, cmd.version as i16);
    out.extend_from_slice(&b2);
    BigEndian::write_i32(&mut b4, cmd.opaque);
    out.extend_from_slice(&b4);
    BigEndian::write_i32(&mut b4, cmd.flag);
    out.extend_from_slice(&b4);

    let remark = cmd.remark.as_deref().unwrap_or("").as_bytes();
    push_len_i32(out, remark.len())?;
    out.extend_from_slice(remark);

    let ext_len: usize = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    push_len_i32(out, ext_len)?;
    for (key, value) in cmd.ext_fields.iter() {
        let key_len = i16::try_from(key.len()).map_err(|_| EncodeError::KeyTooLong(key.len()))?;
        BigEndian::write_i16(&mut b2, key_len);
        out.extend_from_slice(&b2);
        out.extend_from_slice(key.as_bytes());
        push_len_i32(out, value.len())?;
        out.extend_from_slice(value.as_bytes());
    }
    Ok(())
}

fn push_len_i32(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    let len = i32::try_from(len).map_err(|_| EncodeError::HeaderTooLarge(len))?;
    let mut b4 = [0u8; 4];
    BigEndian::write_i32(&mut b4, len);
    out.extend_from_slice(&b4);
    Ok(())
}

/// A bounds-checked cursor: every length is checked against what is left before use.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let remaining = self.buf.len() - self.pos;
        if n > remaining {
            return Err(DecodeError::InvalidBinaryHeader(format!(
                "{what} needs {n} bytes but only {remaining} remain"
            )));
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn i16(&mut self, what: &str) -> Result<i16, DecodeError> {
        Ok(BigEndian::read_i16(self.take(2, what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32, DecodeError> {
        Ok(BigEndian::read_i32(self.take(4, what)?))
    }

    fn len(&mut self, len: i64, what: &str) -> Result<usize, DecodeError> {
        usize::try_from(len)
            .map_err(|_| DecodeError::InvalidBinaryHeader(format!("negative {what} length {len}")))
    }

    fn string(&mut self, len: usize, what: &str) -> Result<String, DecodeError> {
        Ok(self.text(len, what)?.into_owned())
    }

    /// Borrowed when the bytes are UTF-8 (always, from real clients).
    fn text(&mut self, len: usize, what: &str) -> Result<std::borrow::Cow<'a, str>, DecodeError> {
        // Java decodes leniently; so do we, rather than dropping the whole command.
        Ok(String::from_utf8_lossy(self.take(len, what)?))
    }
}

/// Decodes a binary header; `body` becomes the command's body. More than `max_ext_fields`
/// ext fields is an error.
pub(crate) fn decode(
    header: &[u8],
    body: Body,
    max_ext_fields: usize,
) -> Result<RemotingCommand, DecodeError> {
    let mut c = Cursor {
        buf: header,
        pos: 0,
    };
    let code = c.i16("code")? as i32;
    let language = LanguageCode::from_code(c.take(1, "language")?[0]);
    let version = c.i16("version")? as i32;
    let opaque = c.i32("opaque")?;
    let flag = c.i32("flag")?;

    let raw = c.i32("remark length")? as i64;
    let remark_len = c.len(raw, "remark")?;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(c.string(remark_len, "remark")?)
    };

    let raw = c.i32("ext length")? as i64;
    let ext_len = c.len(raw, "ext")?;
    let ext_bytes = c.take(ext_len, "ext fields")?;
    let mut e = Cursor {
        buf: ext_bytes,
        pos: 0,
    };
    let mut ext_fields = ExtFields::new();
    let mut seen = 0;
    while e.pos < ext_bytes.len() {
        if seen == max_ext_fields {
            return Err(DecodeError::TooManyExtFields {
                max: max_ext_fields,
            });
        }
        seen += 1;
        let raw = e.i16("ext key length")? as i64;
        let key_len = e.len(raw, "ext key")?;
        let key = e.text(key_len, "ext key")?;
        let raw = e.i32("ext value length")? as i64;
        let val_len = e.len(raw, "ext value")?;
        let value = e.text(val_len, "ext value")?;
        ext_fields.push_unchecked(&key, &value);
    }
    // A repeated key takes its last value, as Java's HashMap does.
    ext_fields.dedup();
    if c.pos != header.len() {
        return Err(DecodeError::InvalidBinaryHeader(format!(
            "{} bytes left after the ext fields",
            header.len() - c.pos
        )));
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body,
        serialize_type: SerializeType::RocketMq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let cmd = RemotingCommand::new_request(310)
            .with_ext("a", "group")
            .with_ext("i", "K\u{1}V")
            .with_remark("hi")
            .with_serialize_type(SerializeType::RocketMq);
        let mut out = Vec::new();
        encode(&cmd, &mut out).unwrap();
        assert_eq!(decode(&out, Body::new(), 64).unwrap(), cmd);
    }

    #[test]
    fn lengths_past_the_header_are_errors() {
        let cmd = RemotingCommand::new_request(1).with_ext("k", "v");
        let mut good = Vec::new();
        encode(&cmd, &mut good).unwrap();
        // remark length 1000 in a tiny header
        let mut bad = good.clone();
        bad[13..17].copy_from_slice(&1000i32.to_be_bytes());
        assert!(matches!(
            decode(&bad, Body::new(), 64),
            Err(DecodeError::InvalidBinaryHeader(_))
        ));
        // negative ext length
        let mut bad = good.clone();
        bad[17..21].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            decode(&bad, Body::new(), 64),
            Err(DecodeError::InvalidBinaryHeader(_))
        ));
        // value length past the ext block
        let mut bad = good.clone();
        let v = bad.len() - 5;
        bad[v..v + 4].copy_from_slice(&7i32.to_be_bytes());
        assert!(decode(&bad, Body::new(), 64).is_err());
        // truncated fixed part
        assert!(decode(&good[..10], Body::new(), 64).is_err());
    }

    #[test]
    fn ext_fields_past_the_limit_are_a_typed_error() {
        let cmd = RemotingCommand::new_request(1)
            .with_ext("a", "1")
            .with_ext("b", "2")
            .with_ext("c", "3")
            .with_serialize_type(SerializeType::RocketMq);
        let mut out = Vec::new();
        encode(&cmd, &mut out).unwrap();
        assert_eq!(decode(&out, Body::new(), 3).unwrap(), cmd);
        assert_eq!(
            decode(&out, Body::new(), 2),
            Err(DecodeError::TooManyExtFields { max: 2 })
        );
    }
}
