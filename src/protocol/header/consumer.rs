//! Headers of the requests a broker sends its consumers, and of the admin requests behind
//! them: RESET_CONSUMER_CLIENT_OFFSET (220) and INVOKE_BROKER_TO_RESET_OFFSET (222),
//! GET_CONSUMER_STATUS_FROM_CLIENT (221) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223),
//! GET_CONSUMER_RUNNING_INFO (307), CONSUME_MESSAGE_DIRECTLY (309).

custom_header! {
    /// Moves a group's offsets of a topic to a point in time; mirrors Java's
    /// `ResetOffsetRequestHeader` (admin → broker, and broker → each consumer).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ResetOffsetRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `group`: the consumer group.
        pub group: String = "group",
        /// `timestamp` (ms): where to move to; -1 means each queue's end.
        pub timestamp: i64 = "timestamp",
        /// `isForce`: move back and forward; otherwise only back.
        pub is_force: bool = "isForce",
        /// `queueId` (5.x): one queue only; -1 or absent for all.
        pub queue_id: Option<i32> = "queueId",
        /// `offset` (5.x): an explicit offset for `queueId`.
        pub offset: Option<i64> = "offset",
    }
}

custom_header! {
    /// Asks for a group's offsets of a topic as its clients hold them; mirrors Java's
    /// `GetConsumerStatusRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetConsumerStatusRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `group`: the consumer group.
        pub group: String = "group",
        /// `clientAddr`: one client only, or absent for all.
        pub client_addr: Option<String> = "clientAddr",
    }
}

custom_header! {
    /// Asks one consumer for its running state; mirrors Java's
    /// `GetConsumerRunningInfoRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetConsumerRunningInfoRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `clientId`.
        pub client_id: String = "clientId",
        /// `jstackEnable`: include every thread's stack (Java); we include thread names.
        pub jstack_enable: bool = "jstackEnable",
    }
}

custom_header! {
    /// Asks one consumer to consume one stored message now (the body carries it); mirrors
    /// Java's `ConsumeMessageDirectlyResultRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `clientId`.
        pub client_id: Option<String> = "clientId",
        /// `msgId`.
        pub msg_id: Option<String> = "msgId",
        /// `brokerName`.
        pub broker_name: Option<String> = "brokerName",
        /// `topic` (5.x).
        pub topic: Option<String> = "topic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::ExtFields;

    #[test]
    fn reset_offset_reads_4_9_and_5_x() {
        let from_4_9: ExtFields = [
            ("topic", "T"),
            ("group", "G"),
            ("timestamp", "1700000000000"),
            ("isForce", "true"),
        ]
        .into_iter()
        .collect();
        let h = ResetOffsetRequestHeader::read_from(&from_4_9).unwrap();
        assert_eq!(
            (h.timestamp, h.is_force, h.queue_id),
            (1_700_000_000_000, true, None)
        );
        let mut written = ExtFields::new();
        h.write_to(&mut written);
        assert_eq!(written.get("isForce"), Some("true"));
        let mut from_5_x = from_4_9.clone();
        from_5_x.insert("queueId", "2");
        from_5_x.insert("offset", "40");
        let h = ResetOffsetRequestHeader::read_from(&from_5_x).unwrap();
        assert_eq!((h.queue_id, h.offset), (Some(2), Some(40)));
    }
}
