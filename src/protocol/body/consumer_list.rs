//! The GET_CONSUMER_LIST_BY_GROUP response body.

use serde::Deserialize;

use super::json::{null_as_default, parse, JsonWriter};
use crate::protocol::error::BodyError;

/// The client ids of a consumer group; mirrors Java's `GetConsumerListByGroupResponseBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerListByGroupResponseBody {
    /// `consumerIdList`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub consumer_id_list: Vec<String>,
}

impl GetConsumerListByGroupResponseBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "GetConsumerListByGroupResponseBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.string_array_field(
            "consumerIdList",
            self.consumer_id_list.iter().map(String::as_str),
        );
        w.end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let body = GetConsumerListByGroupResponseBody {
            consumer_id_list: vec!["192.0.2.2@1".into(), "192.0.2.3@2".into()],
        };
        let text = body.to_json();
        assert_eq!(text, r#"{"consumerIdList":["192.0.2.2@1","192.0.2.3@2"]}"#);
        assert_eq!(
            GetConsumerListByGroupResponseBody::from_json(text.as_bytes()).unwrap(),
            body
        );
        assert!(
            GetConsumerListByGroupResponseBody::from_json(b"{\"consumerIdList\":null}\n")
                .unwrap()
                .consumer_id_list
                .is_empty()
        );
        assert!(
            GetConsumerListByGroupResponseBody::from_json(br#"{"consumerIdList":"x"}"#).is_err()
        );
    }
}
