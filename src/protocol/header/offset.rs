//! Headers of the offset requests: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), and responses.

use super::{lenient_bool, optional_string, required_string, CommandCustomHeader};
use crate::protocol::error::HeaderError;
use crate::protocol::ext_fields::ExtFields;

/// Asks a broker for a consumer group's committed offset of a queue; mirrors Java's
/// `QueryConsumerOffsetRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryConsumerOffsetRequestHeader {
    /// `consumerGroup`.
    pub consumer_group: String,
    /// `topic`.
    pub topic: String,
    /// `queueId`.
    pub queue_id: i32,
    /// `setZeroIfNotFound` (5.x).
    pub set_zero_if_not_found: Option<bool>,
    /// `bname`: the target broker's name.
    pub bname: Option<String>,
}

impl CommandCustomHeader for QueryConsumerOffsetRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("consumerGroup", self.consumer_group.as_str());
        fields.insert("topic", self.topic.as_str());
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert_opt("setZeroIfNotFound", self.set_zero_if_not_found.as_ref());
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(QueryConsumerOffsetRequestHeader {
            consumer_group: required_string(fields, "consumerGroup")?,
            topic: required_string(fields, "topic")?,
            queue_id: fields.required("queueId")?,
            set_zero_if_not_found: lenient_bool(fields, "setZeroIfNotFound"),
            bname: optional_string(fields, "bname"),
        })
    }
}

/// The committed offset; mirrors Java's `QueryConsumerOffsetResponseHeader`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryConsumerOffsetResponseHeader {
    /// `offset`.
    pub offset: i64,
}

impl CommandCustomHeader for QueryConsumerOffsetResponseHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("offset", self.offset.to_string());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(QueryConsumerOffsetResponseHeader {
            offset: fields.required("offset")?,
        })
    }
}

/// Commits a consumer group's offset of a queue; mirrors Java's
/// `UpdateConsumerOffsetRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateConsumerOffsetRequestHeader {
    /// `consumerGroup`.
    pub consumer_group: String,
    /// `topic`.
    pub topic: String,
    /// `queueId`.
    pub queue_id: i32,
    /// `commitOffset`.
    pub commit_offset: i64,
    /// `bname`: the target broker's name.
    pub bname: Option<String>,
}

impl CommandCustomHeader for UpdateConsumerOffsetRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("consumerGroup", self.consumer_group.as_str());
        fields.insert("topic", self.topic.as_str());
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert("commitOffset", self.commit_offset.to_string());
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(UpdateConsumerOffsetRequestHeader {
            consumer_group: required_string(fields, "consumerGroup")?,
            topic: required_string(fields, "topic")?,
            queue_id: fields.required("queueId")?,
            commit_offset: fields.required("commitOffset")?,
            bname: optional_string(fields, "bname"),
        })
    }
}

/// Asks for a queue's max offset; mirrors Java's `GetMaxOffsetRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetMaxOffsetRequestHeader {
    /// `topic`.
    pub topic: String,
    /// `queueId`.
    pub queue_id: i32,
    /// `committed` (5.x; the broker assumes true when absent).
    pub committed: Option<bool>,
    /// `bname`: the target broker's name.
    pub bname: Option<String>,
}

impl CommandCustomHeader for GetMaxOffsetRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("topic", self.topic.as_str());
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert_opt("committed", self.committed.as_ref());
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(GetMaxOffsetRequestHeader {
            topic: required_string(fields, "topic")?,
            queue_id: fields.required("queueId")?,
            committed: lenient_bool(fields, "committed"),
            bname: optional_string(fields, "bname"),
        })
    }
}

/// A queue's max offset; mirrors Java's `GetMaxOffsetResponseHeader`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetMaxOffsetResponseHeader {
    /// `offset`.
    pub offset: i64,
}

impl CommandCustomHeader for GetMaxOffsetResponseHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("offset", self.offset.to_string());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(GetMaxOffsetResponseHeader {
            offset: fields.required("offset")?,
        })
    }
}

/// Asks for a queue's min offset; mirrors Java's `GetMinOffsetRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetMinOffsetRequestHeader {
    /// `topic`.
    pub topic: String,
    /// `queueId`.
    pub queue_id: i32,
    /// `bname`: the target broker's name.
    pub bname: Option<String>,
}

impl CommandCustomHeader for GetMinOffsetRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("topic", self.topic.as_str());
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(GetMinOffsetRequestHeader {
            topic: required_string(fields, "topic")?,
            queue_id: fields.required("queueId")?,
            bname: optional_string(fields, "bname"),
        })
    }
}

/// A queue's min offset; mirrors Java's `GetMinOffsetResponseHeader`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetMinOffsetResponseHeader {
    /// `offset`.
    pub offset: i64,
}

impl CommandCustomHeader for GetMinOffsetResponseHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("offset", self.offset.to_string());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(GetMinOffsetResponseHeader {
            offset: fields.required("offset")?,
        })
    }
}

/// Which offset a timestamp search returns when several messages match; mirrors Java's
/// `BoundaryType` (5.x).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BoundaryType {
    /// The first matching offset (`LOWER`), the default.
    #[default]
    Lower,
    /// The last matching offset (`UPPER`).
    Upper,
}

impl BoundaryType {
    /// The name Java writes (`LOWER` / `UPPER`).
    pub fn name(self) -> &'static str {
        match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        }
    }

    /// The type for a name as Java reads it (`getType`): "upper" in any case is UPPER,
    /// anything else LOWER.
    pub fn from_name(name: &str) -> BoundaryType {
        if name.trim().eq_ignore_ascii_case("upper") {
            BoundaryType::Upper
        } else {
            BoundaryType::Lower
        }
    }
}

/// Asks for the queue offset of the message stored at a time; mirrors Java's
/// `SearchOffsetRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchOffsetRequestHeader {
    /// `topic`.
    pub topic: String,
    /// `queueId`.
    pub queue_id: i32,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: i64,
    /// `boundaryType` (5.x).
    pub boundary_type: Option<BoundaryType>,
    /// `bname`: the target broker's name.
    pub bname: Option<String>,
}

impl CommandCustomHeader for SearchOffsetRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("topic", self.topic.as_str());
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert("timestamp", self.timestamp.to_string());
        if let Some(boundary) = self.boundary_type {
            fields.insert("boundaryType", boundary.name());
        }
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(SearchOffsetRequestHeader {
            topic: required_string(fields, "topic")?,
            queue_id: fields.required("queueId")?,
            timestamp: fields.required("timestamp")?,
            boundary_type: fields.get("boundaryType").map(BoundaryType::from_name),
            bname: optional_string(fields, "bname"),
        })
    }
}

/// The offset a timestamp search found; mirrors Java's `SearchOffsetResponseHeader`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchOffsetResponseHeader {
    /// `offset`.
    pub offset: i64,
}

impl CommandCustomHeader for SearchOffsetResponseHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("offset", self.offset.to_string());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(SearchOffsetResponseHeader {
            offset: fields.required("offset")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<H: CommandCustomHeader + PartialEq + std::fmt::Debug>(h: H) -> ExtFields {
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(H::read_from(&fields).as_ref(), Ok(&h));
        fields
    }

    #[test]
    fn requests_round_trip_with_java_names() {
        let f = round_trip(QueryConsumerOffsetRequestHeader {
            consumer_group: "G".into(),
            topic: "T".into(),
            queue_id: 3,
            set_zero_if_not_found: Some(false),
            bname: Some("broker-a".into()),
        });
        assert_eq!(f.get("setZeroIfNotFound"), Some("false"));
        assert_eq!(f.get("bname"), Some("broker-a"));
        let f = round_trip(UpdateConsumerOffsetRequestHeader {
            consumer_group: "G".into(),
            topic: "T".into(),
            queue_id: 3,
            commit_offset: 77,
            bname: None,
        });
        assert_eq!(f.get("commitOffset"), Some("77"));
        assert_eq!(f.len(), 4);
        round_trip(GetMaxOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 1,
            committed: Some(true),
            bname: None,
        });
        round_trip(GetMinOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 1,
            bname: None,
        });
        let f = round_trip(SearchOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 1,
            timestamp: 1_700_000_000_000,
            boundary_type: Some(BoundaryType::Upper),
            bname: None,
        });
        assert_eq!(f.get("boundaryType"), Some("UPPER"));
    }

    #[test]
    fn responses_read_offset() {
        let f: ExtFields = [("offset", "42")].into_iter().collect();
        assert_eq!(
            QueryConsumerOffsetResponseHeader::read_from(&f)
                .unwrap()
                .offset,
            42
        );
        assert_eq!(
            GetMaxOffsetResponseHeader::read_from(&f).unwrap().offset,
            42
        );
        assert_eq!(
            GetMinOffsetResponseHeader::read_from(&f).unwrap().offset,
            42
        );
        assert_eq!(
            SearchOffsetResponseHeader::read_from(&f).unwrap().offset,
            42
        );
        assert_eq!(
            GetMaxOffsetResponseHeader::read_from(&ExtFields::new()),
            Err(HeaderError::MissingField("offset"))
        );
        round_trip(SearchOffsetResponseHeader { offset: -1 });
    }

    #[test]
    fn boundary_type_reads_like_java() {
        assert_eq!(BoundaryType::from_name("upper"), BoundaryType::Upper);
        assert_eq!(BoundaryType::from_name("UPPER"), BoundaryType::Upper);
        assert_eq!(BoundaryType::from_name("lower"), BoundaryType::Lower);
        assert_eq!(BoundaryType::from_name("sideways"), BoundaryType::Lower);
    }
}
