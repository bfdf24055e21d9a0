//! `CommandCustomHeader`: typed request and response headers carried in ext fields, and the
//! typed headers themselves (Java's `protocol.header` and `protocol.header.namesrv` classes).
//!
//! Field names are Java's exactly; a field Java marks `@CFNotNull` is required when read, every
//! other field is an `Option` (or a `bool` defaulting to false where Java has a primitive).
//! Booleans are read leniently: "true" in any case or "1" is true, anything else false (Java's
//! `Boolean.parseBoolean`, plus the C++ client's "1"/"0").

use super::error::HeaderError;
use super::ext_fields::ExtFields;

/// A typed header that travels as a command's ext fields; mirrors Java's `CommandCustomHeader`.
///
/// Java flattens every non-null field to its string form and reflects it back, failing with
/// "the custom field `<name>` is null" for a missing required field. Here the
/// `custom_header!` macro writes both directions from one field list: each field's Java
/// name once, its kind from its type (see [`HeaderField`]).
pub trait CommandCustomHeader: Sized {
    /// Writes every present field into `fields`, in declaration order.
    fn write_to(&self, fields: &mut ExtFields);

    /// Reads the header from `fields`, failing on a missing required or unparsable field.
    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError>;
}

/// A value with a text form in an ext field.
pub trait FieldValue: Sized {
    /// The text written.
    fn to_field(&self) -> String;
    /// The value read from `text` of field `field`.
    fn from_field(text: &str, field: &'static str) -> Result<Self, HeaderError>;
}

impl FieldValue for String {
    fn to_field(&self) -> String {
        self.clone()
    }

    fn from_field(text: &str, _field: &'static str) -> Result<Self, HeaderError> {
        Ok(text.to_string())
    }
}

macro_rules! number_field_value {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn to_field(&self) -> String {
                self.to_string()
            }

            /// Surrounding blanks are ignored; anything else unparsable is an error.
            fn from_field(text: &str, field: &'static str) -> Result<Self, HeaderError> {
                text.trim().parse().map_err(|_| HeaderError::InvalidField {
                    field,
                    value: text.to_string(),
                })
            }
        }
    )*};
}
number_field_value!(i32, i64);

impl FieldValue for bool {
    fn to_field(&self) -> String {
        self.to_string()
    }

    /// "true" in any case or "1" is true, anything else false: Java's `Boolean.parseBoolean`
    /// never fails, and the C++ client writes "1"/"0".
    fn from_field(text: &str, _field: &'static str) -> Result<Self, HeaderError> {
        let text = text.trim();
        Ok(text.eq_ignore_ascii_case("true") || text == "1")
    }
}

/// How a header field of a given Rust type is written and read.
///
/// - `String`, `i32`, `i64`: required (Java's `@CFNotNull`); always written.
/// - `bool`: a Java primitive: always written, false when absent.
/// - `Option<T>`: written when present, `None` when absent; a present value must parse.
pub trait HeaderField: Sized {
    /// Writes the field as `name`.
    fn write_field(&self, name: &'static str, fields: &mut ExtFields);
    /// Reads field `name`.
    fn read_field(fields: &ExtFields, name: &'static str) -> Result<Self, HeaderError>;
}

macro_rules! required_header_field {
    ($($t:ty),*) => {$(
        impl HeaderField for $t {
            fn write_field(&self, name: &'static str, fields: &mut ExtFields) {
                fields.insert(name, self.to_field());
            }

            fn read_field(fields: &ExtFields, name: &'static str) -> Result<Self, HeaderError> {
                required_field(fields, name)
            }
        }
    )*};
}
required_header_field!(String, i32, i64);

impl HeaderField for bool {
    fn write_field(&self, name: &'static str, fields: &mut ExtFields) {
        fields.insert(name, self.to_field());
    }

    fn read_field(fields: &ExtFields, name: &'static str) -> Result<Self, HeaderError> {
        Ok(Option::<bool>::read_field(fields, name)?.unwrap_or(false))
    }
}

impl<T: FieldValue> HeaderField for Option<T> {
    fn write_field(&self, name: &'static str, fields: &mut ExtFields) {
        if let Some(value) = self {
            fields.insert(name, value.to_field());
        }
    }

    fn read_field(fields: &ExtFields, name: &'static str) -> Result<Self, HeaderError> {
        fields
            .get(name)
            .map(|text| T::from_field(text, name))
            .transpose()
    }
}

/// Reads field `name`, which must be present (for a `bool` Java marks `@CFNotNull`).
pub(crate) fn required_field<T: FieldValue>(
    fields: &ExtFields,
    name: &'static str,
) -> Result<T, HeaderError> {
    let text = fields.get(name).ok_or(HeaderError::MissingField(name))?;
    T::from_field(text, name)
}

/// Declares a custom header: the struct, with every field `pub`, and its
/// [`CommandCustomHeader`] impl, from one list of `pub field: Type = "javaName"` lines.
/// Fields are written in the order listed (the binary header keeps that order on the wire).
/// A trailing `required` makes a `bool` required instead of false-when-absent.
macro_rules! custom_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident : $ty:ty = $java:literal $($required:ident)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
        }

        impl $crate::protocol::header::CommandCustomHeader for $name {
            fn write_to(&self, fields: &mut $crate::protocol::ExtFields) {
                $( $crate::protocol::header::HeaderField::write_field(&self.$field, $java, fields); )*
            }

            fn read_from(
                fields: &$crate::protocol::ExtFields,
            ) -> Result<Self, $crate::protocol::HeaderError> {
                Ok($name {
                    $( $field: custom_header!(@read fields, $java $($required)?)?, )*
                })
            }
        }
    };
    (@read $fields:ident, $java:literal) => {
        $crate::protocol::header::HeaderField::read_field($fields, $java)
    };
    (@read $fields:ident, $java:literal required) => {
        $crate::protocol::header::required_field($fields, $java)
    };
}

mod admin;
mod client;
mod consumer;
mod extra_info;
mod namesrv;
mod offset;
mod pop;
mod pull;
mod recall;
mod reply;
mod send;
mod topic;
mod transaction;

pub use admin::{
    DeleteSubscriptionGroupRequestHeader, DeleteTopicFromNamesrvRequestHeader,
    DeleteTopicRequestHeader, GetBrokerConfigResponseHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetEarliestMsgStoretimeRequestHeader,
    GetEarliestMsgStoretimeResponseHeader, GetProducerConnectionListRequestHeader,
    GetTopicStatsInfoRequestHeader, GetTopicsByClusterRequestHeader, QueryMessageRequestHeader,
    QueryMessageResponseHeader, QueryTopicConsumeByWhoRequestHeader, ViewMessageRequestHeader,
    UNIQUE_MSG_QUERY_FLAG,
};
pub use client::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    NotifyConsumerIdsChangedRequestHeader, UnregisterClientRequestHeader,
};
pub use consumer::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, ResetOffsetRequestHeader,
};
pub use extra_info::{
    append_msg_offset_info, append_order_count_info, append_queue_offset_order_count_info,
    append_start_offset_info, is_pop_retry_topic_v2, parse_msg_offset_info, parse_normal_topic,
    parse_order_count_info, parse_start_offset_info, pop_retry_topic_v1, pop_retry_topic_v2,
    queue_offset_map_key, start_offset_info_map_key, ExtraInfo, PopRetryFlag,
    POP_ORDER_REVIVE_QUEUE,
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
pub use pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    NotificationRequestHeader, NotificationResponseHeader, PollingInfoRequestHeader,
    PollingInfoResponseHeader, PopMessageRequestHeader, PopMessageResponseHeader,
    CONSUME_INIT_MODE_MAX, CONSUME_INIT_MODE_MIN,
};
pub use pull::{PullMessageRequestHeader, PullMessageResponseHeader};
pub use recall::{RecallMessageRequestHeader, RecallMessageResponseHeader};
pub use reply::ReplyMessageRequestHeader;
pub use send::{SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader};
pub use topic::{
    CreateTopicRequestHeader, GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
};
pub use transaction::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};

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
            .map(|k| Option::<bool>::read_field(&f, k).unwrap())
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
