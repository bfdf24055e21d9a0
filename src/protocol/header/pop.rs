//! Headers of the 5.x POP calls: POP_MESSAGE (200050), ACK_MESSAGE (200051),
//! CHANGE_MESSAGE_INVISIBLETIME (200053), NOTIFICATION (200054), POLLING_INFO (200055) and
//! their responses (Java's `PopMessageRequestHeader` and friends, 5.3.3 fields).
//!
//! A popped message is identified by its receipt handle, Java's `extraInfo` (see
//! [`super::ExtraInfo`]); acks and invisibility changes carry it back.

custom_header! {
    /// Pops messages of a topic (one queue, or every queue with `queue_id` -1); mirrors Java's
    /// `PopMessageRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PopMessageRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`: a queue, or -1 for every queue of the topic.
        pub queue_id: i32 = "queueId",
        /// `maxMsgNums`: at most 32 (a broker answers INVALID_PARAMETER above).
        pub max_msg_nums: i32 = "maxMsgNums",
        /// `invisibleTime`: ms the popped messages stay invisible to other pops.
        pub invisible_time: i64 = "invisibleTime",
        /// `pollTime`: ms the broker may hold the request when nothing is there (long polling).
        pub poll_time: i64 = "pollTime",
        /// `bornTime`: when the client sent it (ms); the hold ends at `bornTime + pollTime`.
        pub born_time: i64 = "bornTime",
        /// `initMode`: where a group without an offset starts ([`CONSUME_INIT_MODE_MIN`] or
        /// [`CONSUME_INIT_MODE_MAX`]).
        pub init_mode: i32 = "initMode",
        /// `expType`: "TAG" or "SQL92".
        pub exp_type: Option<String> = "expType",
        /// `exp`: the filter expression.
        pub exp: Option<String> = "exp",
        /// `order`: orderly pop (one batch of a queue out at a time).
        pub order: bool = "order",
        /// `attemptId`: the client's attempt, for orderly retries.
        pub attempt_id: Option<String> = "attemptId",
        /// `bname`: the target broker's name (5.x).
        pub bname: Option<String> = "bname",
    }
}

/// `ConsumeInitMode.MIN`: a group without an offset starts at the queue's first message.
pub const CONSUME_INIT_MODE_MIN: i32 = 0;
/// `ConsumeInitMode.MAX`: a group without an offset starts at the queue's last message.
pub const CONSUME_INIT_MODE_MAX: i32 = 1;

custom_header! {
    /// The broker's answer to a pop; mirrors Java's `PopMessageResponseHeader`. The body holds
    /// the messages in stored format, as a pull's does.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PopMessageResponseHeader {
        /// `popTime`: when the broker popped them (ms); part of every receipt handle.
        pub pop_time: i64 = "popTime",
        /// `invisibleTime`: as requested.
        pub invisible_time: i64 = "invisibleTime",
        /// `reviveQid`: the checkpoint's revive queue (999 for an orderly pop).
        pub revive_qid: i32 = "reviveQid",
        /// `restNum`: messages left in the queues looked at.
        pub rest_num: i64 = "restNum",
        /// `startOffsetInfo`: `retry queueId startOffset` per queue popped, `;`-joined.
        pub start_offset_info: Option<String> = "startOffsetInfo",
        /// `msgOffsetInfo`: `retry queueId o1,o2,…` per queue popped, `;`-joined.
        pub msg_offset_info: Option<String> = "msgOffsetInfo",
        /// `orderCountInfo`: `retry queueId count` (orderly pops only).
        pub order_count_info: Option<String> = "orderCountInfo",
    }
}

custom_header! {
    /// Acknowledges one popped message; mirrors Java's `AckMessageRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct AckMessageRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`: the topic the message was popped from (its retry topic when the handle's
        /// retry flag says so).
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `extraInfo`: the receipt handle.
        pub extra_info: String = "extraInfo",
        /// `offset`: the message's queue offset.
        pub offset: i64 = "offset",
        /// `bname`: the target broker's name (5.x).
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// Makes a popped message invisible for `invisible_time` more ms from now; mirrors Java's
    /// `ChangeInvisibleTimeRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ChangeInvisibleTimeRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`: as for an ack.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `extraInfo`: the receipt handle.
        pub extra_info: String = "extraInfo",
        /// `offset`: the message's queue offset.
        pub offset: i64 = "offset",
        /// `invisibleTime`: ms from now.
        pub invisible_time: i64 = "invisibleTime",
        /// `bname`: the target broker's name (5.x).
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// The answer to CHANGE_MESSAGE_INVISIBLETIME: the parts of the message's new handle;
    /// mirrors Java's `ChangeInvisibleTimeResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct ChangeInvisibleTimeResponseHeader {
        /// `popTime`: the new checkpoint's pop time.
        pub pop_time: i64 = "popTime",
        /// `invisibleTime`: the new invisible time.
        pub invisible_time: i64 = "invisibleTime",
        /// `reviveQid`.
        pub revive_qid: i32 = "reviveQid",
    }
}

custom_header! {
    /// Asks whether a pop would find messages, held like a pop when none would; mirrors Java's
    /// `NotificationRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct NotificationRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`: a queue, or -1 for every queue.
        pub queue_id: i32 = "queueId",
        /// `pollTime`: ms the broker may hold the request.
        pub poll_time: i64 = "pollTime",
        /// `bornTime`: when the client sent it (ms).
        pub born_time: i64 = "bornTime",
        /// `order`.
        pub order: bool = "order",
        /// `attemptId`.
        pub attempt_id: Option<String> = "attemptId",
        /// `bname`: the target broker's name (5.x).
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// The answer to NOTIFICATION; mirrors Java's `NotificationResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct NotificationResponseHeader {
        /// `hasMsg`: a pop would find messages now.
        pub has_msg: bool = "hasMsg" required,
        /// `pollingFull`: the request could not be held (too many wait).
        pub polling_full: bool = "pollingFull",
    }
}

custom_header! {
    /// How many pops wait on a queue; mirrors Java's `PollingInfoRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PollingInfoRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`: a queue, or -1 for pops of every queue.
        pub queue_id: i32 = "queueId",
        /// `bname`: the target broker's name (5.x).
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// The answer to POLLING_INFO; mirrors Java's `PollingInfoResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PollingInfoResponseHeader {
        /// `pollingNum`: pops held on the queue.
        pub polling_num: i32 = "pollingNum",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::test_fixtures::fixture;
    use crate::protocol::{ExtFields, HeaderError};

    /// Writes `header` and checks the fields match what Java sent, whatever their order.
    fn assert_writes_as_sent<H: CommandCustomHeader>(header: &H, sent: &ExtFields) {
        let mut fields = ExtFields::new();
        header.write_to(&mut fields);
        let mut written: Vec<_> = fields.iter().collect();
        let mut expected: Vec<_> = sent.iter().collect();
        written.sort();
        expected.sort();
        assert_eq!(written, expected);
    }

    #[test]
    fn reads_the_java_pop_request_and_response() {
        let cmd = fixture("java-5.3.3/075-req-code200050-json.bin");
        let h: PopMessageRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(
            h,
            PopMessageRequestHeader {
                consumer_group: "CapPopG5".into(),
                topic: "CapPop5".into(),
                queue_id: -1,
                max_msg_nums: 32,
                invisible_time: 60_000,
                poll_time: 15_000,
                born_time: 1_796_627_987_136,
                init_mode: CONSUME_INIT_MODE_MIN,
                exp_type: Some("TAG".into()),
                exp: Some("*".into()),
                order: false,
                attempt_id: None,
                bname: Some("broker-5".into()),
            }
        );
        assert_writes_as_sent(&h, &cmd.ext_fields);

        let cmd = fixture("java-5.3.3/076-resp-code0-json.bin");
        let h: PopMessageResponseHeader = cmd.decode_header().unwrap();
        assert_eq!(h.pop_time, 1_796_627_987_145);
        assert_eq!(h.invisible_time, 60_000);
        assert_eq!(h.revive_qid, 0);
        assert_eq!(h.rest_num, 0);
        assert_eq!(
            h.msg_offset_info.as_deref(),
            Some("0 0 0;0 1 0;0 2 0;0 3 0;0 4 0;0 5 0,1;0 6 0,1;0 7 0")
        );
        assert_eq!(h.order_count_info, None);
        assert_writes_as_sent(&h, &cmd.ext_fields);
    }

    #[test]
    fn reads_the_java_ack_and_change_invisible_time() {
        let cmd = fixture("java-5.3.3/078-req-code200051-json.bin");
        let h: AckMessageRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(
            h,
            AckMessageRequestHeader {
                consumer_group: "CapPopG5".into(),
                topic: "CapPop5".into(),
                queue_id: 7,
                extra_info: "0 1796627987145 60000 0 0 broker-5 7 0".into(),
                offset: 0,
                bname: Some("broker-5".into()),
            }
        );
        assert_writes_as_sent(&h, &cmd.ext_fields);

        let cmd = fixture("java-5.3.3/079-req-code200053-json.bin");
        let h: ChangeInvisibleTimeRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(h.invisible_time, 10_000);
        assert_eq!(h.queue_id, 0);
        assert_eq!(h.extra_info, "0 1796627987145 60000 0 0 broker-5 0 0");
        assert_writes_as_sent(&h, &cmd.ext_fields);

        let cmd = fixture("java-5.3.3/088-resp-code0-json.bin");
        assert_eq!(cmd.remark.as_deref(), Some("not set any response code"));
        let h: ChangeInvisibleTimeResponseHeader = cmd.decode_header().unwrap();
        assert_eq!(
            h,
            ChangeInvisibleTimeResponseHeader {
                pop_time: 1_796_627_987_223,
                invisible_time: 10_000,
                revive_qid: 0,
            }
        );
        assert_writes_as_sent(&h, &cmd.ext_fields);
    }

    #[test]
    fn missing_required_fields_are_errors() {
        let mut fields = ExtFields::new();
        AckMessageRequestHeader::default().write_to(&mut fields);
        fields.remove("extraInfo");
        assert_eq!(
            AckMessageRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("extraInfo"))
        );
        let mut fields = ExtFields::new();
        NotificationResponseHeader::default().write_to(&mut fields);
        fields.remove("hasMsg");
        assert_eq!(
            NotificationResponseHeader::read_from(&fields),
            Err(HeaderError::MissingField("hasMsg"))
        );
        fields.insert("maxMsgNums", "many");
        assert!(matches!(
            PopMessageRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField(_))
        ));
    }
}
