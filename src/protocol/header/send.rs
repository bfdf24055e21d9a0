//! Headers of SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and their
//! response.

custom_header! {
    /// The send request with long field names, as SEND_MESSAGE (10) carries it and the C++ client
    /// sends it; mirrors Java's `SendMessageRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SendMessageRequestHeader {
        /// `producerGroup`.
        pub producer_group: String = "producerGroup",
        /// `topic`.
        pub topic: String = "topic",
        /// `defaultTopic`: the template topic for auto-creation (`TBW102`).
        pub default_topic: String = "defaultTopic",
        /// `defaultTopicQueueNums`: queues of an auto-created topic.
        pub default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        /// `queueId`.
        pub queue_id: i32 = "queueId",
        /// `sysFlag`: the message's system flag.
        pub sys_flag: i32 = "sysFlag",
        /// `bornTimestamp`, ms since the Unix epoch.
        pub born_timestamp: i64 = "bornTimestamp",
        /// `flag`: the application's flag.
        pub flag: i32 = "flag",
        /// `properties`: the `\x01`/`\x02` property string.
        pub properties: Option<String> = "properties",
        /// `reconsumeTimes`.
        pub reconsume_times: Option<i32> = "reconsumeTimes",
        /// `unitMode`; Java 4.9.8 always writes it.
        pub unit_mode: bool = "unitMode",
        /// `batch`: the body is a batch; Java 4.9.8 always writes it.
        pub batch: bool = "batch",
        /// `maxReconsumeTimes`.
        pub max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        /// `bname`: the target broker's name (from Java's `RpcRequestHeader`).
        pub bname: Option<String> = "bname",
    }
}

custom_header! {
    /// The send request with one-letter field names, as SEND_MESSAGE_V2 (310) and
    /// SEND_BATCH_MESSAGE (320) carry it; mirrors Java's `SendMessageRequestHeaderV2`.
    ///
    /// Java names the fields `a` to `n` to shorten the header; each field's doc gives its meaning.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SendMessageRequestHeaderV2 {
        /// `a`: producerGroup.
        pub a: String = "a",
        /// `b`: topic.
        pub b: String = "b",
        /// `c`: defaultTopic.
        pub c: String = "c",
        /// `d`: defaultTopicQueueNums.
        pub d: i32 = "d",
        /// `e`: queueId.
        pub e: i32 = "e",
        /// `f`: sysFlag.
        pub f: i32 = "f",
        /// `g`: bornTimestamp.
        pub g: i64 = "g",
        /// `h`: flag.
        pub h: i32 = "h",
        /// `i`: properties.
        pub i: Option<String> = "i",
        /// `j`: reconsumeTimes.
        pub j: Option<i32> = "j",
        /// `k`: unitMode.
        pub k: bool = "k",
        /// `l`: maxReconsumeTimes.
        pub l: Option<i32> = "l",
        /// `m`: batch.
        pub m: bool = "m",
        /// `n`: brokerName (Java 4.9.8+).
        pub n: Option<String> = "n",
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    /// `SendMessageRequestHeaderV2.createSendMessageRequestHeaderV1`.
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: v2.a,
            topic: v2.b,
            default_topic: v2.c,
            default_topic_queue_nums: v2.d,
            queue_id: v2.e,
            sys_flag: v2.f,
            born_timestamp: v2.g,
            flag: v2.h,
            properties: v2.i,
            reconsume_times: v2.j,
            unit_mode: v2.k,
            batch: v2.m,
            max_reconsume_times: v2.l,
            bname: v2.n,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    /// `SendMessageRequestHeaderV2.createSendMessageRequestHeaderV2`.
    fn from(v1: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            a: v1.producer_group,
            b: v1.topic,
            c: v1.default_topic,
            d: v1.default_topic_queue_nums,
            e: v1.queue_id,
            f: v1.sys_flag,
            g: v1.born_timestamp,
            h: v1.flag,
            i: v1.properties,
            j: v1.reconsume_times,
            k: v1.unit_mode,
            l: v1.max_reconsume_times,
            m: v1.batch,
            n: v1.bname,
        }
    }
}

custom_header! {
    /// The broker's answer to a send; mirrors Java's `SendMessageResponseHeader`, plus the
    /// `MSG_REGION` and `TRACE_ON` ext fields the broker adds beside it.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SendMessageResponseHeader {
        /// `msgId`: the offset message id of the stored message.
        pub msg_id: String = "msgId",
        /// `queueId`: the queue the message went to.
        pub queue_id: i32 = "queueId",
        /// `queueOffset`: its index in that queue.
        pub queue_offset: i64 = "queueOffset",
        /// `transactionId`.
        pub transaction_id: Option<String> = "transactionId",
        /// `batchUniqId` (5.x).
        pub batch_uniq_id: Option<String> = "batchUniqId",
        /// `recallHandle` (5.x).
        pub recall_handle: Option<String> = "recallHandle",
        /// `MSG_REGION`: the broker's region.
        pub msg_region: Option<String> = "MSG_REGION",
        /// `TRACE_ON`: false when the broker has message tracing off.
        pub trace_on: Option<bool> = "TRACE_ON",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::message::string_to_properties;
    use crate::protocol::test_fixtures::fixture;
    use crate::protocol::{ExtFields, HeaderError};

    const JAVA_PROPS: &str = "KEYS\u{1}KEY0\u{2}UNIQ_KEY\u{1}FD00000000000000000000000000000233755FFD2B276A9974430000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA";

    fn sorted(fields: &ExtFields) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn reads_java_v2_headers_and_converts_to_v1() {
        for (name, born) in [
            ("java-4.9.8/010-req-code310-json.bin", 1_795_279_641_668),
            ("java-4.9.8/111-req-code310-binary.bin", 1_795_279_795_061),
        ] {
            let cmd = fixture(name);
            let v2: SendMessageRequestHeaderV2 = cmd.decode_header().unwrap();
            assert_eq!(v2.a, "javapeer_producer_group");
            assert_eq!(v2.b, "TopicTest");
            assert_eq!(v2.c, "TBW102");
            assert_eq!((v2.d, v2.e, v2.f, v2.g, v2.h), (4, 2, 0, born, 0));
            assert_eq!(v2.j, Some(0));
            assert!(!v2.k && !v2.m);
            assert_eq!(v2.l, None);
            assert_eq!(v2.n.as_deref(), Some("broker-a"));
            if name.contains("010") {
                assert_eq!(v2.i.as_deref(), Some(JAVA_PROPS));
            }
            let props = string_to_properties(v2.i.as_deref().unwrap());
            assert_eq!(props.get("TAGS"), Some("TagA"));

            // Writing it back gives exactly the ext fields Java sent.
            let mut written = ExtFields::new();
            v2.write_to(&mut written);
            assert_eq!(sorted(&written), sorted(&cmd.ext_fields), "{name}");

            let v1 = SendMessageRequestHeader::from(v2.clone());
            assert_eq!(v1.producer_group, "javapeer_producer_group");
            assert_eq!(v1.topic, "TopicTest");
            assert_eq!(v1.default_topic, "TBW102");
            assert_eq!(v1.default_topic_queue_nums, 4);
            assert_eq!(v1.queue_id, 2);
            assert_eq!(v1.sys_flag, 0);
            assert_eq!(v1.born_timestamp, born);
            assert_eq!(v1.flag, 0);
            assert_eq!(v1.properties, v2.i);
            assert_eq!(v1.reconsume_times, Some(0));
            assert!(!v1.unit_mode && !v1.batch);
            assert_eq!(v1.bname.as_deref(), Some("broker-a"));
            let mut long = ExtFields::new();
            v1.write_to(&mut long);
            assert_eq!(long.get("producerGroup"), Some("javapeer_producer_group"));
            assert_eq!(long.get("bornTimestamp"), Some(born.to_string().as_str()));
            assert_eq!(long.get("batch"), Some("false"));
            assert_eq!(SendMessageRequestHeader::read_from(&long).unwrap(), v1);
            assert_eq!(SendMessageRequestHeaderV2::from(v1), v2);
        }
    }

    #[test]
    fn reads_the_cpp_long_header() {
        let cmd = fixture("cpp-2.0/001-req-code10-json.bin");
        let h: SendMessageRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(h.producer_group, "PID_cpp_test");
        assert_eq!(h.topic, "TopicTest");
        assert_eq!(h.default_topic, "TBW102");
        assert_eq!(h.default_topic_queue_nums, 4); // sent as the JSON number 4
        assert_eq!(h.queue_id, 0); // sent as the JSON number 0
        assert_eq!(h.sys_flag, 0);
        assert_eq!(h.born_timestamp, 1_795_281_103_898);
        assert_eq!(h.flag, 0);
        assert_eq!(h.reconsume_times, Some(0));
        assert!(!h.unit_mode); // "0"
        assert!(!h.batch); // "0"
        assert_eq!(h.bname, None);
        let props = string_to_properties(h.properties.as_deref().unwrap());
        assert_eq!(props.get("KEYS"), Some("key-0"));
        assert_eq!(props.get("seq"), Some("0"));
        let v2 = SendMessageRequestHeaderV2::from(h);
        assert_eq!((v2.a.as_str(), v2.e, v2.m), ("PID_cpp_test", 0, false));

        // The C++ client marks a batch with "1".
        let mut batch = cmd.ext_fields.clone();
        batch.insert("batch", "1");
        assert!(SendMessageRequestHeader::read_from(&batch).unwrap().batch);
    }

    #[test]
    fn missing_and_bad_fields_are_named() {
        let cmd = fixture("java-4.9.8/010-req-code310-json.bin");
        let mut fields = cmd.ext_fields.clone();
        fields.remove("g");
        assert_eq!(
            SendMessageRequestHeaderV2::read_from(&fields),
            Err(HeaderError::MissingField("g"))
        );
        fields.insert("g", "soon");
        assert_eq!(
            SendMessageRequestHeaderV2::read_from(&fields),
            Err(HeaderError::InvalidField {
                field: "g",
                value: "soon".into()
            })
        );
    }

    #[test]
    fn reads_the_send_response() {
        for (name, offset_id, queue_offset) in [
            (
                "java-4.9.8/022-resp-code0-json.bin",
                "7F00000100002A9F00000000000008C0",
                3,
            ),
            (
                "java-4.9.8/115-resp-code0-binary.bin",
                "7F00000100002A9F00000000000015E9",
                7,
            ),
        ] {
            let cmd = fixture(name);
            let h: SendMessageResponseHeader = cmd.decode_header().unwrap();
            let expected = SendMessageResponseHeader {
                msg_id: offset_id.into(),
                queue_id: 2,
                queue_offset,
                msg_region: Some("DefaultRegion".into()),
                trace_on: Some(true),
                ..Default::default()
            };
            assert_eq!(h, expected);
            let mut written = ExtFields::new();
            h.write_to(&mut written);
            assert_eq!(sorted(&written), sorted(&cmd.ext_fields));
        }
    }
}
