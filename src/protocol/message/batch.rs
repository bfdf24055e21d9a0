//! The body of a SEND_BATCH_MESSAGE request: several messages back to back
//! (`MessageDecoder.encodeMessages` / `decodeMessages`).
//!
//! ```text
//! per message: i32 totalSize | i32 magicCode (0) | i32 bodyCRC (0) | i32 flag
//!              i32 bodyLength | body | i16 propertiesLength | properties
//! ```
//! `totalSize = 20 + bodyLength + 2 + propertiesLength`.

use super::properties::{properties_to_string, string_to_properties, MessageProperties};
use super::reader::ByteReader;
use crate::protocol::error::BodyError;

/// Bytes of a batch entry besides its body and properties.
const ENTRY_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One message of a batch body: the fields Java's `encodeMessage` keeps of a `Message`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchMessage {
    /// The application's flag.
    pub flag: i32,
    /// The body.
    pub body: Vec<u8>,
    /// The properties (a batch's messages share a topic, which travels in the request header).
    pub properties: MessageProperties,
}

/// Appends one batch entry (`MessageDecoder.encodeMessage`) to `out`.
pub fn encode_batch_message(message: &BatchMessage, out: &mut Vec<u8>) -> Result<(), BodyError> {
    let properties = properties_to_string(&message.properties);
    let properties_len = i16::try_from(properties.len()).map_err(|_| BodyError::TooLong {
        field: "properties",
        length: properties.len(),
        max: i16::MAX as usize,
    })?;
    let total = ENTRY_OVERHEAD + message.body.len() + properties.len();
    let total_i32 = i32::try_from(total).map_err(|_| BodyError::TooLong {
        field: "batch message",
        length: total,
        max: i32::MAX as usize,
    })?;
    // total fits an i32, so the body length does too.
    let body_len = message.body.len() as i32;
    out.reserve(total);
    out.extend_from_slice(&total_i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // magic code
    out.extend_from_slice(&0i32.to_be_bytes()); // body CRC
    out.extend_from_slice(&message.flag.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(&message.body);
    out.extend_from_slice(&properties_len.to_be_bytes());
    out.extend_from_slice(properties.as_bytes());
    Ok(())
}

/// Encodes a batch body (`MessageDecoder.encodeMessages`).
pub fn encode_batch<'a>(
    messages: impl IntoIterator<Item = &'a BatchMessage>,
) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    for message in messages {
        encode_batch_message(message, &mut out)?;
    }
    Ok(out)
}

/// Decodes a batch body as a broker does (`MessageDecoder.decodeMessages`).
///
/// Every length is checked against the bytes present before anything is copied; an entry
/// whose `totalSize` disagrees with its contents is an error (Java ignores `totalSize`).
pub fn decode_batch(buf: &[u8]) -> Result<Vec<BatchMessage>, BodyError> {
    let mut messages = Vec::new();
    let mut r = ByteReader::new(buf);
    while r.remaining() > 0 {
        let start = r.position();
        let total = r.i32("totalSize")?;
        r.i32("magicCode")?;
        r.i32("bodyCRC")?;
        let flag = r.i32("flag")?;
        let body_len = ByteReader::length(i64::from(r.i32("bodyLength")?), "bodyLength")?;
        let body = r.bytes(body_len, "body")?.to_vec();
        let properties_len =
            ByteReader::length(i64::from(r.i16("propertiesLength")?), "propertiesLength")?;
        let properties = string_to_properties(&String::from_utf8_lossy(
            r.bytes(properties_len, "properties")?,
        ));
        if i64::from(total) != (r.position() - start) as i64 {
            return Err(BodyError::InvalidLength {
                field: "totalSize",
                length: i64::from(total),
            });
        }
        messages.push(BatchMessage {
            flag,
            body,
            properties,
        });
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &[u8], props: &[(&str, &str)]) -> BatchMessage {
        BatchMessage {
            flag: 3,
            body: body.to_vec(),
            properties: props.iter().copied().collect(),
        }
    }

    #[test]
    fn layout_matches_protocol_md() {
        let one = message(b"abc", &[("K", "V")]);
        let bytes = encode_batch([&one]).unwrap();
        let props = b"K\x01V";
        let mut expected = Vec::new();
        expected.extend_from_slice(&(20 + 3 + 2 + props.len() as i32).to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3]);
        expected.extend_from_slice(b"abc");
        expected.extend_from_slice(&(props.len() as i16).to_be_bytes());
        expected.extend_from_slice(props);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn round_trips_several_messages() {
        let batch = vec![
            message(b"first", &[("UNIQ_KEY", "A1"), ("WAIT", "true")]),
            message(b"", &[]),
            message(&[0u8, 255, 1], &[("KEYS", "k1 k2")]),
        ];
        let bytes = encode_batch(&batch).unwrap();
        assert_eq!(decode_batch(&bytes).unwrap(), batch);
        assert_eq!(decode_batch(&[]).unwrap(), Vec::new());
    }

    #[test]
    fn reads_a_cpp_style_trailing_separator() {
        // The C++ client writes its property string with a trailing \x02.
        let props = b"TAGS\x01T\x02UNIQ_KEY\x01X\x02";
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(20 + 1 + 2 + props.len() as i32).to_be_bytes());
        bytes.extend_from_slice(&[0; 12]);
        bytes.extend_from_slice(&1i32.to_be_bytes());
        bytes.push(b'x');
        bytes.extend_from_slice(&(props.len() as i16).to_be_bytes());
        bytes.extend_from_slice(props);
        let decoded = decode_batch(&bytes).unwrap();
        assert_eq!(decoded[0].properties.get("UNIQ_KEY"), Some("X"));
        assert_eq!(decoded[0].properties.len(), 2);
    }

    #[test]
    fn lies_and_truncation_are_errors_not_panics() {
        let bytes = encode_batch(&[message(b"hello", &[("A", "B")])]).unwrap();
        for cut in 1..bytes.len() {
            assert!(decode_batch(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge_body = bytes.clone();
        huge_body[16..20].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(
            decode_batch(&huge_body),
            Err(BodyError::Truncated { field: "body", .. })
        ));
        let mut negative_body = bytes.clone();
        negative_body[16..20].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            decode_batch(&negative_body),
            Err(BodyError::InvalidLength { .. })
        ));
        let mut wrong_total = bytes.clone();
        wrong_total[3] = wrong_total[3].wrapping_add(1);
        assert!(matches!(
            decode_batch(&wrong_total),
            Err(BodyError::InvalidLength {
                field: "totalSize",
                ..
            })
        ));
        let mut seed: u32 = 12345;
        for _ in 0..5000 {
            let mut mutated = bytes.clone();
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let at = (seed >> 8) as usize % mutated.len();
            mutated[at] = (seed >> 3) as u8;
            let _ = decode_batch(&mutated);
        }
    }

    #[test]
    fn oversized_properties_are_refused() {
        let big = message(b"x", &[("K", &"v".repeat(40_000))]);
        assert!(matches!(
            encode_batch([&big]),
            Err(BodyError::TooLong {
                field: "properties",
                ..
            })
        ));
    }
}
