//! The ACL 1.0 signature: what is signed and how (Java's `AclUtils` and `AclSigner`).
//!
//! The signed content is the values of the request's ext fields, sorted by key, concatenated,
//! then the body; the signature is Base64(HmacSHA1(secret key, content)).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::protocol::ExtFields;

/// Ext field carrying the account's access key.
pub const ACCESS_KEY: &str = "AccessKey";
/// Ext field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// Ext field carrying the optional security token (STS credentials).
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// Ext field a QUERY_MESSAGE by unique key carries (Java's `MixAll.UNIQUE_MSG_QUERY_FLAG`).
/// Brokers leave it out of the content they verify, so signers must too.
const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

/// The bytes a request's signature covers (`AclUtils.combineRequestContent`): the values of
/// `ext_fields` sorted by key as Java's `TreeMap` sorts strings (by UTF-16 code units),
/// without `Signature` and `_UNIQUE_KEY_QUERY`, concatenated, then `body`.
///
/// Leaving `_UNIQUE_KEY_QUERY` out is what Java and C++ brokers verify; the Java client signs
/// it, so its queries by unique key are refused by ACL-enabled brokers. Ours are not.
pub fn combine_request_content(ext_fields: &ExtFields, body: &[u8]) -> Vec<u8> {
    let values = signed_values(ext_fields);
    let values_len: usize = values.iter().map(|value| value.len()).sum();
    let mut content = Vec::with_capacity(values_len + body.len());
    for value in values {
        content.extend_from_slice(value.as_bytes());
    }
    content.extend_from_slice(body);
    content
}

/// Base64(HmacSHA1(`secret_key`, `content`)) (`AclSigner.calSignature`).
pub fn calculate_signature(content: &[u8], secret_key: &str) -> String {
    signature_over([content], secret_key)
}

/// The signature of a request, as [`calculate_signature`] over
/// [`combine_request_content`] gives it, without copying the body into the content.
pub(crate) fn request_signature(ext_fields: &ExtFields, body: &[u8], secret_key: &str) -> String {
    let values = signed_values(ext_fields);
    signature_over(
        values
            .iter()
            .map(|value| value.as_bytes())
            .chain(std::iter::once(body)),
        secret_key,
    )
}

/// Checks `signature` against the one `secret_key` gives over the request, in time that does
/// not depend on where they differ (a verifier must not leak how much of a guess was right).
pub(crate) fn signature_matches(
    ext_fields: &ExtFields,
    body: &[u8],
    secret_key: &str,
    signature: &str,
) -> bool {
    let expected = request_signature(ext_fields, body, secret_key);
    let (a, b) = (expected.as_bytes(), signature.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The values the signature covers, in Java's order: sorted by key as Java's `TreeMap` sorts
/// strings (by UTF-16 code units), `Signature` and `_UNIQUE_KEY_QUERY` left out.
fn signed_values(ext_fields: &ExtFields) -> Vec<&str> {
    let mut fields: Vec<(&str, &str)> = ext_fields
        .iter()
        .filter(|(key, _)| *key != SIGNATURE && *key != UNIQUE_MSG_QUERY_FLAG)
        .collect();
    fields.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    fields.into_iter().map(|(_, value)| value).collect()
}

/// Base64(HmacSHA1(`secret_key`, the parts one after the other)).
fn signature_over<'p>(parts: impl IntoIterator<Item = &'p [u8]>, secret_key: &str) -> String {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()) {
        Ok(mac) => mac,
        Err(e) => unreachable!("HMAC accepts keys of every length: {e}"),
    };
    for part in parts {
        mac.update(part);
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_2202_hmac_sha1_vector() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        let signature = calculate_signature(b"what do ya want for nothing?", "Jefe");
        // effcdf6ae5eb2fa2d27416d5f184df9c259a7c79, in Base64.
        assert_eq!(signature, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }

    #[test]
    fn content_is_sorted_values_then_body_without_the_signature() {
        let mut fields = ExtFields::new();
        fields.insert("topic", "T");
        fields.insert("AccessKey", "ak");
        fields.insert("Signature", "old");
        fields.insert("_UNIQUE_KEY_QUERY", "true");
        fields.insert("b", "2");
        // Uppercase sorts before lowercase, as in Java's TreeMap.
        assert_eq!(combine_request_content(&fields, b"body"), b"ak2Tbody");
    }

    #[test]
    fn the_request_signature_is_the_signature_of_the_combined_content() {
        let mut fields = ExtFields::new();
        fields.insert("topic", "T");
        fields.insert("AccessKey", "ak");
        let body = b"a body".as_slice();
        assert_eq!(
            request_signature(&fields, body, "secret"),
            calculate_signature(&combine_request_content(&fields, body), "secret")
        );
    }

    #[test]
    fn comparison_rejects_any_other_signature() {
        let mut fields = ExtFields::new();
        fields.insert("topic", "T");
        let good = request_signature(&fields, b"x", "secret");
        assert!(signature_matches(&fields, b"x", "secret", &good));
        assert!(!signature_matches(&fields, b"x", "secret", &good[1..]));
        assert!(!signature_matches(&fields, b"y", "secret", &good));
        assert!(!signature_matches(&fields, b"x", "Secret", &good));
        fields.insert("topic", "U");
        assert!(!signature_matches(&fields, b"x", "secret", &good));
    }
}
