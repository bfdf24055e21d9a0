//! Headers of client-management requests: GET_CONSUMER_LIST_BY_GROUP (38),
//! CONSUMER_SEND_MSG_BACK (36), UNREGISTER_CLIENT (35), NOTIFY_CONSUMER_IDS_CHANGED (40).
//! HEART_BEAT (34) has no header, only a body.

custom_header! {
    /// Asks a broker for the client ids of a consumer group; mirrors Java's
    /// `GetConsumerListByGroupRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetConsumerListByGroupRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
    }
}

custom_header! {
    /// A consumer returning a message for later redelivery; mirrors Java's
    /// `ConsumerSendMsgBackRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ConsumerSendMsgBackRequestHeader {
        /// `offset`: the message's commit log offset.
        pub offset: i64 = "offset",
        /// `group`: the consumer group.
        pub group: String = "group",
        /// `delayLevel`: the redelivery delay level (0: the broker chooses).
        pub delay_level: i32 = "delayLevel",
        /// `originMsgId`.
        pub origin_msg_id: Option<String> = "originMsgId",
        /// `originTopic`.
        pub origin_topic: Option<String> = "originTopic",
        /// `unitMode`; Java always writes it.
        pub unit_mode: bool = "unitMode",
        /// `maxReconsumeTimes`.
        pub max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        /// `bname`: the target broker's name.
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// A client leaving its producer and/or consumer group; mirrors Java's
    /// `UnregisterClientRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct UnregisterClientRequestHeader {
        /// `clientID`.
        pub client_id: String = "clientID",
        /// `producerGroup`.
        pub producer_group: Option<String> = "producerGroup",
        /// `consumerGroup`.
        pub consumer_group: Option<String> = "consumerGroup",
    }
}

custom_header! {
    /// A broker telling a group's consumers that the group changed; mirrors Java's
    /// `NotifyConsumerIdsChangedRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct NotifyConsumerIdsChangedRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::test_fixtures::fixture;
    use crate::protocol::{ExtFields, HeaderError};

    #[test]
    fn reads_the_java_notify_oneway() {
        let cmd = fixture("java-4.9.8/076-oneway-code40-json.bin");
        let h: NotifyConsumerIdsChangedRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(h.consumer_group, "javapeer_consumer_group_1795279649463");
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields, cmd.ext_fields);
        // The same single field as GET_CONSUMER_LIST_BY_GROUP's header.
        let list: GetConsumerListByGroupRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(list.consumer_group, h.consumer_group);
    }

    #[test]
    fn send_back_and_unregister_round_trip() {
        let back = ConsumerSendMsgBackRequestHeader {
            offset: 4096,
            group: "G".into(),
            delay_level: 0,
            origin_msg_id: Some("ID".into()),
            origin_topic: Some("T".into()),
            unit_mode: false,
            max_reconsume_times: Some(16),
            bname: Some("broker-a".into()),
        };
        let mut fields = ExtFields::new();
        back.write_to(&mut fields);
        assert_eq!(fields.get("unitMode"), Some("false"));
        assert_eq!(
            ConsumerSendMsgBackRequestHeader::read_from(&fields),
            Ok(back)
        );
        fields.remove("delayLevel");
        assert_eq!(
            ConsumerSendMsgBackRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("delayLevel"))
        );

        let bye = UnregisterClientRequestHeader {
            client_id: "192.0.2.2@16137#457717984084".into(),
            producer_group: Some("PG".into()),
            consumer_group: None,
        };
        let mut fields = ExtFields::new();
        bye.write_to(&mut fields);
        assert_eq!(fields.get("clientID"), Some("192.0.2.2@16137#457717984084"));
        assert_eq!(fields.len(), 2);
        assert_eq!(UnregisterClientRequestHeader::read_from(&fields), Ok(bye));
    }
}
