//! The handle a producer recalls a timer message with (Java 5.3's `RecallMessageHandle.HandleV1`):
//! `v1 <topic> <brokerName> <timestamp> <uniqueId>`, Base64 URL-safe with padding. The
//! timestamp is the message's `TIMER_OUT_MS` + 1, so the recall marker falls in the same slot.
//! The same bytes as Java's, so a handle from a Java 5.3 broker works with ours and the
//! reverse.

use base64::alphabet::URL_SAFE as URL_SAFE_ALPHABET;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Java's URL decoder takes the padding or its absence alike.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE_ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecallHandle {
    pub(crate) topic: String,
    pub(crate) broker_name: String,
    /// As written; Java reads it with `NumberUtils.toLong(.., -1)`.
    pub(crate) timestamp: String,
    pub(crate) message_id: String,
}

impl RecallHandle {
    /// `HandleV1.buildHandle` (the broker makes handles; a client only passes them back).
    #[cfg(any(feature = "servers", test))]
    pub(crate) fn build(
        topic: &str,
        broker_name: &str,
        timestamp: &str,
        message_id: &str,
    ) -> String {
        base64::engine::general_purpose::URL_SAFE
            .encode(format!("v1 {topic} {broker_name} {timestamp} {message_id}"))
    }

    /// `RecallMessageHandle.decodeHandle`; the error is Java's text.
    pub(crate) fn decode(handle: &str) -> Result<RecallHandle, &'static str> {
        const INVALID: &str = "recall handle is invalid";
        if handle.is_empty() {
            return Err(INVALID);
        }
        let raw = LENIENT_URL_SAFE.decode(handle).map_err(|_| INVALID)?;
        let raw = String::from_utf8_lossy(&raw);
        let items: Vec<&str> = raw.split(' ').collect();
        if items[0] != "v1" || items.len() < 5 {
            return Err(INVALID);
        }
        Ok(RecallHandle {
            topic: items[1].to_string(),
            broker_name: items[2].to_string(),
            timestamp: items[3].to_string(),
            message_id: items[4].to_string(),
        })
    }

    /// The timestamp as Java reads it: -1 when it is not a number.
    #[cfg(any(feature = "servers", test))]
    pub(crate) fn timestamp_ms(&self) -> i64 {
        self.timestamp.parse().unwrap_or(-1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_java_s_format() {
        let handle = RecallHandle::build(
            "Orders",
            "broker-a",
            "1700000010001",
            "7F0000010001000000000000000000FF",
        );
        // Java: Base64.getUrlEncoder().encodeToString("v1 Orders broker-a 1700000010001 7F00...FF")
        assert_eq!(
            handle,
            "djEgT3JkZXJzIGJyb2tlci1hIDE3MDAwMDAwMTAwMDEgN0YwMDAwMDEwMDAxMDAwMDAwMDAwMDAwMDAwMDAwRkY="
        );
        let decoded = RecallHandle::decode(&handle).unwrap();
        assert_eq!(decoded.topic, "Orders");
        assert_eq!(decoded.broker_name, "broker-a");
        assert_eq!(decoded.timestamp_ms(), 1_700_000_010_001);
        assert_eq!(decoded.message_id, "7F0000010001000000000000000000FF");
        // Without its padding, as Java's decoder also takes it.
        assert_eq!(
            RecallHandle::decode(handle.trim_end_matches('=')).unwrap(),
            decoded
        );
    }

    #[test]
    fn bad_handles_are_refused_with_java_s_text() {
        for bad in [
            "",
            "not base64!",
            &base64::engine::general_purpose::URL_SAFE.encode("v2 a b 1 id"),
            &base64::engine::general_purpose::URL_SAFE.encode("v1 a b 1"),
        ] {
            assert_eq!(
                RecallHandle::decode(bad),
                Err("recall handle is invalid"),
                "{bad:?}"
            );
        }
        let odd_time = RecallHandle::decode(&RecallHandle::build("T", "b", "soon", "id")).unwrap();
        assert_eq!(odd_time.timestamp_ms(), -1);
    }
}
