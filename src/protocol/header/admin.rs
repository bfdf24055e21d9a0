//! Headers of the admin and query calls: QUERY_MESSAGE (12), VIEW_MESSAGE_BY_ID (33),
//! GET_EARLIEST_MSG_STORETIME (32), GET_BROKER_CONFIG (26), the statistics and connection
//! lists (202, 203, 204, 208), subscription groups (207), topic deletion (215, 216), topics by
//! cluster (224) and QUERY_TOPIC_CONSUME_BY_WHO (300).

custom_header! {
    /// Messages by key; mirrors Java's `QueryMessageRequestHeader`. A unique-key query adds the
    /// ext field `_UNIQUE_KEY_QUERY=true`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct QueryMessageRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `key`: a key of `KEYS`, or the unique id.
        pub key: String = "key",
        /// `maxNum`: at most this many (the broker caps it at 64).
        pub max_num: i32 = "maxNum",
        /// `beginTimestamp`, ms.
        pub begin_timestamp: i64 = "beginTimestamp",
        /// `endTimestamp`, ms.
        pub end_timestamp: i64 = "endTimestamp",
    }
}

custom_header! {
    /// How fresh the broker's index is; mirrors Java's `QueryMessageResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct QueryMessageResponseHeader {
        /// `indexLastUpdateTimestamp`.
        pub index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        /// `indexLastUpdatePhyoffset`.
        pub index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

custom_header! {
    /// One message by its commit log offset (from an offset message id); mirrors Java's
    /// `ViewMessageRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ViewMessageRequestHeader {
        /// `offset`: the commit log offset.
        pub offset: i64 = "offset",
    }
}

custom_header! {
    /// A queue's earliest store time; mirrors Java's `GetEarliestMsgStoretimeRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetEarliestMsgStoretimeRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
    }
}

custom_header! {
    /// The answer: the store time, or -1; mirrors Java's
    /// `GetEarliestMsgStoretimeResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// `timestamp`, ms.
        pub timestamp: i64 = "timestamp",
    }
}

custom_header! {
    /// The version of the broker's settings; mirrors Java's `GetBrokerConfigResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetBrokerConfigResponseHeader {
        /// `version`: the settings' `DataVersion` as JSON.
        pub version: String = "version",
    }
}

custom_header! {
    /// A topic's statistics on a broker; mirrors Java's `GetTopicStatsInfoRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetTopicStatsInfoRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
    }
}

custom_header! {
    /// A consumer group's connections; mirrors Java's
    /// `GetConsumerConnectionListRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetConsumerConnectionListRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
    }
}

custom_header! {
    /// A producer group's connections; mirrors Java's
    /// `GetProducerConnectionListRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetProducerConnectionListRequestHeader {
        /// `producerGroup`.
        pub producer_group: String = "producerGroup",
    }
}

custom_header! {
    /// A consumer group's progress; mirrors Java's `GetConsumeStatsRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetConsumeStatsRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`: one topic, or every topic the group has offsets for.
        pub topic: Option<String> = "topic",
    }
}

custom_header! {
    /// Deletes a subscription group; mirrors Java's `DeleteSubscriptionGroupRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct DeleteSubscriptionGroupRequestHeader {
        /// `groupName`.
        pub group_name: String = "groupName",
        /// `removeOffset`: also forget its committed offsets (4.x's name).
        pub remove_offset: bool = "removeOffset",
        /// `cleanOffset`: the same, by 5.x's name (a 5.x broker reads only this one).
        pub clean_offset: bool = "cleanOffset",
    }
}

custom_header! {
    /// Deletes a topic from a broker; mirrors Java's `DeleteTopicRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct DeleteTopicRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
    }
}

custom_header! {
    /// Deletes a topic from a name server; mirrors Java's
    /// `DeleteTopicFromNamesrvRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct DeleteTopicFromNamesrvRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `clusterName`: only from this cluster's brokers.
        pub cluster_name: Option<String> = "clusterName",
    }
}

custom_header! {
    /// The topics of a cluster; mirrors Java's `GetTopicsByClusterRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetTopicsByClusterRequestHeader {
        /// `cluster`.
        pub cluster: String = "cluster",
    }
}

custom_header! {
    /// The groups consuming a topic; mirrors Java's `QueryTopicConsumeByWhoRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct QueryTopicConsumeByWhoRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
    }
}

/// The ext field a unique-key QUERY_MESSAGE carries (`MixAll.UNIQUE_MSG_QUERY_FLAG`).
pub const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::ExtFields;

    #[test]
    fn admin_headers_use_javas_names() {
        let q = QueryMessageRequestHeader {
            topic: "T".into(),
            key: "k".into(),
            max_num: 64,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
        };
        let mut fields = ExtFields::new();
        q.write_to(&mut fields);
        assert_eq!(fields.get("maxNum"), Some("64"));
        assert_eq!(fields.get("endTimestamp"), Some("9223372036854775807"));
        assert_eq!(QueryMessageRequestHeader::read_from(&fields).unwrap(), q);
        let d = DeleteSubscriptionGroupRequestHeader {
            group_name: "G".into(),
            remove_offset: true,
            clean_offset: false,
        };
        let mut fields = ExtFields::new();
        d.write_to(&mut fields);
        assert_eq!(fields.get("removeOffset"), Some("true"));
        assert_eq!(fields.get("cleanOffset"), Some("false"));
        // A 5.x request names only `cleanOffset`; a 4.x one only `removeOffset`.
        let mut five = ExtFields::new();
        five.insert("groupName", "G");
        five.insert("cleanOffset", "true");
        let read = DeleteSubscriptionGroupRequestHeader::read_from(&five).unwrap();
        assert!(read.clean_offset && !read.remove_offset);
        let mut missing = ExtFields::new();
        missing.insert("topic", "T");
        assert!(QueryMessageRequestHeader::read_from(&missing).is_err());
    }
}
