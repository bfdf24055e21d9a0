//! `CommandCustomHeader`: typed request and response headers carried in ext fields, and the
//! typed headers themselves (Java's `protocol.header` and `protocol.header.namesrv` classes).
//!
//! Field names are Java's exactly; a field Java marks `@CFNotNull` is required when read, every
//! other field is an `Option` (or a `bool` defaulting to false where Java has a primitive).
//! Booleans are read leniently: "true" in any case or "1" is true, anything else false (Java's
//! `Boolean.parseBoolean`, plus the C++ client's "1"/"0").

mod client;
mod namesrv;
mod offset;
mod pull;
mod send;
mod topic;

pub use client::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    NotifyConsumerIdsChangedRequestHeader, UnregisterClientRequestHeader,
};
pub use namesrv::{
    GetRouteInfoRequestHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    UnRegisterBrokerRequestHeader,
};
pub use offset::{
    BoundaryType, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
pub use pull::{PullMessageRequestHeader, PullMessageResponseHeader};
pub use send::{SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader};
pub use topic::CreateTopicRequestHeader;

use super::error::HeaderError;
use super::ext_fields::ExtFields;

/// A typed header that travels as a command's ext fields; mirrors Java's `CommandCustomHeader`.
///
/// Java flattens every non-null field to its string form and reflects it back, failing with
/// "the custom field <x> is null" for a missing required field. Here each header writes and
/// reads its fields explicitly, with [`ExtFields::required`] and [`ExtFields::optional`] doing
/// the parsing and naming the field on error.
pub trait CommandCustomHeader: Sized {
    /// Writes every present field into `fields`.
    fn write_to(&self, fields: &mut ExtFields);

    /// Reads the header from `fields`, failing on a missing required or unparsable field.
    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError>;
}

/// Reads a boolean leniently: absent is `None`; "true" (any case) or "1" is true; anything
/// else is false, as Java's `Boolean.parseBoolean` never fails.
pub(crate) fn lenient_bool(fields: &ExtFields, field: &str) -> Option<bool> {
    fields.get(field).map(|text| {
        let text = text.trim();
        text.eq_ignore_ascii_case("true") || text == "1"
    })
}

/// Reads a required string field.
pub(crate) fn required_string(
    fields: &ExtFields,
    field: &'static str,
) -> Result<String, HeaderError> {
    fields
        .get(field)
        .map(str::to_string)
        .ok_or(HeaderError::MissingField(field))
}

/// Reads an optional string field.
pub(crate) fn optional_string(fields: &ExtFields, field: &str) -> Option<String> {
    fields.get(field).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header in the shape of Java's `GetRouteInfoRequestHeader`.
    #[derive(Debug, PartialEq)]
    struct RouteHeader {
        topic: String,
        accept_standard_json_only: Option<bool>,
    }

    impl CommandCustomHeader for RouteHeader {
        fn write_to(&self, fields: &mut ExtFields) {
            fields.insert("topic", self.topic.clone());
            fields.insert_opt(
                "acceptStandardJsonOnly",
                self.accept_standard_json_only.as_ref(),
            );
        }

        fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
            Ok(RouteHeader {
                topic: fields.required("topic")?,
                accept_standard_json_only: fields.optional("acceptStandardJsonOnly")?,
            })
        }
    }

    #[test]
    fn header_round_trips_and_omits_none() {
        let h = RouteHeader {
            topic: "T".into(),
            accept_standard_json_only: None,
        };
        let mut f = ExtFields::new();
        h.write_to(&mut f);
        assert_eq!(f.len(), 1);
        assert_eq!(RouteHeader::read_from(&f), Ok(h));

        let err = RouteHeader::read_from(&ExtFields::new()).unwrap_err();
        assert_eq!(err.to_string(), "the custom field <topic> is null");
    }

    #[test]
    fn booleans_read_leniently() {
        let f: ExtFields = [
            ("a", "true"),
            ("b", "TRUE"),
            ("c", "1"),
            ("d", "false"),
            ("e", "0"),
            ("f", "yes"),
        ]
        .into_iter()
        .collect();
        let read: Vec<_> = ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .map(|k| lenient_bool(&f, k))
            .collect();
        assert_eq!(
            read,
            [
                Some(true),
                Some(true),
                Some(true),
                Some(false),
                Some(false),
                Some(false),
                None
            ]
        );
    }
}
