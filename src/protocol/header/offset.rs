//! Headers of the offset requests: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), and responses.

custom_header! {
    /// Asks a broker for a consumer group's committed offset of a queue; mirrors Java's
    /// `QueryConsumerOffsetRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct QueryConsumerOffsetRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `setZeroIfNotFound` (5.x).
        pub set_zero_if_not_found: Option<bool> = "setZeroIfNotFound",
        /// `bname`: the target broker's name.
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// The committed offset; mirrors Java's `QueryConsumerOffsetResponseHeader`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct QueryConsumerOffsetResponseHeader {
        /// `offset`.
        pub offset: i64 = "offset",
    }
}

custom_header! {
    /// Commits a consumer group's offset of a queue; mirrors Java's
    /// `UpdateConsumerOffsetRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct UpdateConsumerOffsetRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `commitOffset`.
        pub commit_offset: i64 = "commitOffset",
        /// `bname`: the target broker's name.
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// Asks for a queue's max offset; mirrors Java's `GetMaxOffsetRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetMaxOffsetRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `committed` (5.x; the broker assumes true when absent).
        pub committed: Option<bool> = "committed",
        /// `bname`: the target broker's name.
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// A queue's max offset; mirrors Java's `GetMaxOffsetResponseHeader`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetMaxOffsetResponseHeader {
        /// `offset`.
        pub offset: i64 = "offset",
    }
}

custom_header! {
    /// Asks for a queue's min offset; mirrors Java's `GetMinOffsetRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetMinOffsetRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `bname`: the target broker's name.
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// A queue's min offset; mirrors Java's `GetMinOffsetResponseHeader`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetMinOffsetResponseHeader {
        /// `offset`.
        pub offset: i64 = "offset",
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

impl super::FieldValue for BoundaryType {
    fn to_field(&self) -> String {
        self.name().to_string()
    }

    /// Anything but "upper" (any case) is LOWER, as Java's `BoundaryType.getType`.
    fn from_field(text: &str, _field: &'static str) -> Result<Self, crate::protocol::HeaderError> {
        Ok(BoundaryType::from_name(text))
    }
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

custom_header! {
    /// Asks for the queue offset of the message stored at a time; mirrors Java's
    /// `SearchOffsetRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SearchOffsetRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `timestamp`, ms since the Unix epoch.
        pub timestamp: i64 = "timestamp",
        /// `boundaryType` (5.x).
        pub boundary_type: Option<BoundaryType> = "boundaryType",
        /// `bname`: the target broker's name.
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// The offset a timestamp search found; mirrors Java's `SearchOffsetResponseHeader`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct SearchOffsetResponseHeader {
        /// `offset`.
        pub offset: i64 = "offset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::{ExtFields, HeaderError};

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
