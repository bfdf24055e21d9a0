//! Header of PUSH_REPLY_MESSAGE_TO_CLIENT (326): a broker hands a reply to the client that
//! sent the request. (The reply itself reaches the broker as SEND_REPLY_MESSAGE(_V2), 324/325,
//! with the send headers.)

custom_header! {
    /// The reply and where it came from; mirrors Java's `ReplyMessageRequestHeader`. The body
    /// is the reply's body as the responder sent it (compressed when `sys_flag` says so).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ReplyMessageRequestHeader {
        /// `producerGroup`: the responder's group.
        pub producer_group: String = "producerGroup",
        /// `topic`: the reply topic, `<cluster>_REPLY_TOPIC`.
        pub topic: String = "topic",
        /// `defaultTopic`.
        pub default_topic: String = "defaultTopic",
        /// `defaultTopicQueueNums`.
        pub default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        /// `queueId`: as the responder sent it (may be -1).
        pub queue_id: i32 = "queueId",
        /// `sysFlag`.
        pub sys_flag: i32 = "sysFlag",
        /// `bornTimestamp`, ms since the Unix epoch.
        pub born_timestamp: i64 = "bornTimestamp",
        /// `flag`.
        pub flag: i32 = "flag",
        /// `properties`: the reply's properties, with `PUSH_REPLY_TIME` added.
        pub properties: Option<String> = "properties",
        /// `reconsumeTimes`.
        pub reconsume_times: Option<i32> = "reconsumeTimes",
        /// `unitMode`.
        pub unit_mode: bool = "unitMode",
        /// `bornHost`: the responder's address, `ip:port`.
        pub born_host: String = "bornHost",
        /// `storeHost`: the broker's address, `ip:port`.
        pub store_host: String = "storeHost",
        /// `storeTimestamp`: when the broker pushed it.
        pub store_timestamp: i64 = "storeTimestamp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::ExtFields;

    #[test]
    fn reply_header_round_trips_with_javas_names() {
        let h = ReplyMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "DefaultCluster_REPLY_TOPIC".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: -1,
            born_timestamp: 7,
            properties: Some("CORRELATION_ID\u{1}c1\u{2}".into()),
            born_host: "10.0.0.2:5000".into(),
            store_host: "10.0.0.1:10911".into(),
            store_timestamp: 9,
            ..ReplyMessageRequestHeader::default()
        };
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields.get("bornHost"), Some("10.0.0.2:5000"));
        assert_eq!(fields.get("storeTimestamp"), Some("9"));
        assert_eq!(ReplyMessageRequestHeader::read_from(&fields).unwrap(), h);
    }
}
