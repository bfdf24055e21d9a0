//! Headers of PULL_MESSAGE (11) and its response.

custom_header! {
    /// A pull request; mirrors Java's `PullMessageRequestHeader` (4.9.8 fields, plus the optional
    /// 5.x ones).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PullMessageRequestHeader {
        /// `consumerGroup`.
        pub consumer_group: String = "consumerGroup",
        /// `topic`.
        pub topic: String = "topic",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `queueOffset`: where to start reading.
        pub queue_offset: i64 = "queueOffset",
        /// `maxMsgNums`: the most messages to return.
        pub max_msg_nums: i32 = "maxMsgNums",
        /// `sysFlag`: the `PullSysFlag` bits (commit offset, suspend, subscription, class filter).
        pub sys_flag: i32 = "sysFlag",
        /// `commitOffset`: the consumer's offset to commit along the way.
        pub commit_offset: i64 = "commitOffset",
        /// `suspendTimeoutMillis`: how long the broker may hold the request (long polling).
        pub suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// `subscription`: the filter expression.
        pub subscription: Option<String> = "subscription",
        /// `subVersion`: the subscription's version.
        pub sub_version: i64 = "subVersion",
        /// `expressionType`: "TAG" or "SQL92".
        pub expression_type: Option<String> = "expressionType",
        /// `maxMsgBytes` (5.x).
        pub max_msg_bytes: Option<i32> = "maxMsgBytes",
        /// `requestSource` (5.x).
        pub request_source: Option<i32> = "requestSource",
        /// `proxyFrowardClientId` (5.x, Java's spelling).
        pub proxy_froward_client_id: Option<String> = "proxyFrowardClientId",
        /// `bname`: the target broker's name.
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// The broker's answer to a pull; mirrors Java's `PullMessageResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PullMessageResponseHeader {
        /// `suggestWhichBrokerId`: master (0) or a slave to pull from next.
        pub suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        /// `nextBeginOffset`: the queue offset to pull from next.
        pub next_begin_offset: i64 = "nextBeginOffset",
        /// `minOffset`: the queue's min offset.
        pub min_offset: i64 = "minOffset",
        /// `maxOffset`: the queue's max offset.
        pub max_offset: i64 = "maxOffset",
        /// `offsetDelta` (5.x).
        pub offset_delta: Option<i64> = "offsetDelta",
        /// `topicSysFlag` (5.x).
        pub topic_sys_flag: Option<i32> = "topicSysFlag",
        /// `groupSysFlag` (5.x).
        pub group_sys_flag: Option<i32> = "groupSysFlag",
        /// `forbiddenType` (5.x).
        pub forbidden_type: Option<i32> = "forbiddenType",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::test_fixtures::fixture;
    use crate::protocol::{ExtFields, HeaderError};

    #[test]
    fn reads_the_cpp_pull_request() {
        let h: PullMessageRequestHeader = fixture("cpp-2.0/007-req-code11-json.bin")
            .decode_header()
            .unwrap();
        let expected = PullMessageRequestHeader {
            consumer_group: "CID_cpp_test".into(),
            topic: "TopicTest".into(),
            queue_id: 0,
            queue_offset: 0,
            max_msg_nums: 32,
            sys_flag: 6,
            commit_offset: 0,
            suspend_timeout_millis: 15_000,
            subscription: Some("*".into()),
            sub_version: 1_795_281_168_838,
            ..Default::default()
        };
        assert_eq!(h, expected);
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields.len(), 10);
        assert_eq!(PullMessageRequestHeader::read_from(&fields), Ok(h));
        fields.remove("subVersion");
        assert_eq!(
            PullMessageRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("subVersion"))
        );
    }

    #[test]
    fn reads_the_java_pull_response() {
        let cmd = fixture("java-4.9.8/083-resp-code0-json.bin");
        let h: PullMessageResponseHeader = cmd.decode_header().unwrap();
        assert_eq!(
            h,
            PullMessageResponseHeader {
                suggest_which_broker_id: 0,
                next_begin_offset: 5,
                min_offset: 0,
                max_offset: 5,
                ..Default::default()
            }
        );
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        let mut written: Vec<_> = fields.iter().collect();
        let mut sent: Vec<_> = cmd.ext_fields.iter().collect();
        written.sort();
        sent.sort();
        assert_eq!(written, sent);
    }
}
