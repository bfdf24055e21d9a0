//! Headers of UPDATE_AND_CREATE_TOPIC (17), GET_TOPIC_CONFIG (351) and
//! GET_SUBSCRIPTIONGROUP_CONFIG (352).

custom_header! {
    /// Creates or updates a topic on a broker; mirrors Java's `CreateTopicRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct CreateTopicRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `defaultTopic`.
        pub default_topic: String = "defaultTopic",
        /// `readQueueNums`.
        pub read_queue_nums: i32 = "readQueueNums",
        /// `writeQueueNums`.
        pub write_queue_nums: i32 = "writeQueueNums",
        /// `perm`: the `PermName` bits.
        pub perm: i32 = "perm",
        /// `topicFilterType`: "SINGLE_TAG" or "MULTI_TAG".
        pub topic_filter_type: String = "topicFilterType",
        /// `topicSysFlag`.
        pub topic_sys_flag: Option<i32> = "topicSysFlag",
        /// `order`: an ordered topic; Java always writes it.
        pub order: bool = "order" required,
        /// `attributes` (5.x): "+key=value,..." text.
        pub attributes: Option<String> = "attributes",
        /// `force` (5.x).
        pub force: Option<bool> = "force",
    }
}

custom_header! {
    /// GET_TOPIC_CONFIG (351, 5.x); mirrors Java's `GetTopicConfigRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetTopicConfigRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `lo`: also the topic's static queue mapping (we have none).
        pub lo: Option<bool> = "lo",
    }
}

custom_header! {
    /// GET_SUBSCRIPTIONGROUP_CONFIG (352, 5.x); mirrors Java's
    /// `GetSubscriptionGroupConfigRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetSubscriptionGroupConfigRequestHeader {
        /// `group`.
        pub group: String = "group",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::{ExtFields, HeaderError};

    #[test]
    fn round_trips_and_requires_order() {
        let h = CreateTopicRequestHeader {
            topic: "T".into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            ..Default::default()
        };
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields.get("order"), Some("false"));
        assert_eq!(fields.len(), 8);
        assert_eq!(CreateTopicRequestHeader::read_from(&fields), Ok(h));
        fields.remove("order");
        assert_eq!(
            CreateTopicRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("order"))
        );
    }
}
