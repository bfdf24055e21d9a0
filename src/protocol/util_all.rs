//! Byte helpers the formats share; mirrors the parts of Java's `UtilAll` they use.

use super::error::BodyError;

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Java's `String.hashCode` of `s` (over its UTF-16 code units): the tags code of consume
/// queue entries and of subscriptions.
pub fn java_string_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The CRC-32 (IEEE, as `java.util.zip.CRC32`) of `data`, masked to 31 bits like
/// `UtilAll.crc32`; this is the body CRC of stored messages and REGISTER_BROKER's `bodyCrc32`.
pub fn crc32(data: &[u8]) -> i32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    (crc.sum() & 0x7FFF_FFFF) as i32
}

/// Upper-case hex of `bytes`, two digits per byte (`UtilAll.bytes2string`).
pub fn bytes_to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0x0F)]));
    }
    out
}

/// The bytes of a hex string, either case (`UtilAll.string2bytes`).
///
/// Java turns a non-hex digit into garbage; here it is an error naming `field`.
pub fn hex_to_bytes(hex: &str, field: &'static str) -> Result<Vec<u8>, BodyError> {
    let invalid = || BodyError::InvalidValue {
        field,
        value: hex.to_string(),
    };
    if hex.len() % 2 != 0 {
        return Err(invalid());
    }
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => match (hex_value(*high), hex_value(*low)) {
                (Some(high), Some(low)) => Ok(high << 4 | low),
                _ => Err(invalid()),
            },
            _ => Err(invalid()),
        })
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_java() {
        // java.util.zip.CRC32 of "123456789" is 0xCBF43926; UtilAll masks the top bit.
        assert_eq!(crc32(b"123456789"), 0x4BF4_3926);
        assert_eq!(crc32(b""), 0);
        // The body CRC the 4.9.8 broker stored for "Hello RocketMQ 2" (vector 083).
        assert_eq!(crc32(b"Hello RocketMQ 2"), 0x4A82_1663);
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(bytes_to_hex(&[0x7F, 0, 0xAB]), "7F00AB");
        assert_eq!(hex_to_bytes("7f00Ab", "id"), Ok(vec![0x7F, 0, 0xAB]));
        assert!(hex_to_bytes("7F0", "id").is_err());
        assert!(hex_to_bytes("7G", "id").is_err());
        assert!(hex_to_bytes("é1", "id").is_err());
    }
}
