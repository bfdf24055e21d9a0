//! Headers of SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and their
//! response.

use super::{lenient_bool, optional_string, required_string, CommandCustomHeader};
use crate::protocol::error::HeaderError;
use crate::protocol::ext_fields::ExtFields;
use crate::protocol::message::message_const::{PROPERTY_MSG_REGION, PROPERTY_TRACE_SWITCH};

/// The send request with long field names, as SEND_MESSAGE (10) carries it and the C++ client
/// sends it; mirrors Java's `SendMessageRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMessageRequestHeader {
    /// `producerGroup`.
    pub producer_group: String,
    /// `topic`.
    pub topic: String,
    /// `defaultTopic`: the template topic for auto-creation (`TBW102`).
    pub default_topic: String,
    /// `defaultTopicQueueNums`: queues of an auto-created topic.
    pub default_topic_queue_nums: i32,
    /// `queueId`.
    pub queue_id: i32,
    /// `sysFlag`: the message's system flag.
    pub sys_flag: i32,
    /// `bornTimestamp`, ms since the Unix epoch.
    pub born_timestamp: i64,
    /// `flag`: the application's flag.
    pub flag: i32,
    /// `properties`: the `\x01`/`\x02` property string.
    pub properties: Option<String>,
    /// `reconsumeTimes`.
    pub reconsume_times: Option<i32>,
    /// `unitMode`; Java 4.9.8 always writes it.
    pub unit_mode: bool,
    /// `batch`: the body is a batch; Java 4.9.8 always writes it.
    pub batch: bool,
    /// `maxReconsumeTimes`.
    pub max_reconsume_times: Option<i32>,
    /// `bname`: the target broker's name (from Java's `RpcRequestHeader`).
    pub bname: Option<String>,
}

impl CommandCustomHeader for SendMessageRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("producerGroup", self.producer_group.as_str());
        fields.insert("topic", self.topic.as_str());
        fields.insert("defaultTopic", self.default_topic.as_str());
        fields.insert(
            "defaultTopicQueueNums",
            self.default_topic_queue_nums.to_string(),
        );
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert("sysFlag", self.sys_flag.to_string());
        fields.insert("bornTimestamp", self.born_timestamp.to_string());
        fields.insert("flag", self.flag.to_string());
        fields.insert_opt("properties", self.properties.as_ref());
        fields.insert_opt("reconsumeTimes", self.reconsume_times.as_ref());
        fields.insert("unitMode", self.unit_mode.to_string());
        fields.insert("batch", self.batch.to_string());
        fields.insert_opt("maxReconsumeTimes", self.max_reconsume_times.as_ref());
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(SendMessageRequestHeader {
            producer_group: required_string(fields, "producerGroup")?,
            topic: required_string(fields, "topic")?,
            default_topic: required_string(fields, "defaultTopic")?,
            default_topic_queue_nums: fields.required("defaultTopicQueueNums")?,
            queue_id: fields.required("queueId")?,
            sys_flag: fields.required("sysFlag")?,
            born_timestamp: fields.required("bornTimestamp")?,
            flag: fields.required("flag")?,
            properties: optional_string(fields, "properties"),
            reconsume_times: fields.optional("reconsumeTimes")?,
            unit_mode: lenient_bool(fields, "unitMode").unwrap_or(false),
            batch: lenient_bool(fields, "batch").unwrap_or(false),
            max_reconsume_times: fields.optional("maxReconsumeTimes")?,
            bname: optional_string(fields, "bname"),
        })
    }
}

/// The send request with one-letter field names, as SEND_MESSAGE_V2 (310) and
/// SEND_BATCH_MESSAGE (320) carry it; mirrors Java's `SendMessageRequestHeaderV2`.
///
/// Java names the fields `a` to `n` to shorten the header; each field's doc gives its meaning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMessageRequestHeaderV2 {
    /// `a`: producerGroup.
    pub a: String,
    /// `b`: topic.
    pub b: String,
    /// `c`: defaultTopic.
    pub c: String,
    /// `d`: defaultTopicQueueNums.
    pub d: i32,
    /// `e`: queueId.
    pub e: i32,
    /// `f`: sysFlag.
    pub f: i32,
    /// `g`: bornTimestamp.
    pub g: i64,
    /// `h`: flag.
    pub h: i32,
    /// `i`: properties.
    pub i: Option<String>,
    /// `j`: reconsumeTimes.
    pub j: Option<i32>,
    /// `k`: unitMode.
    pub k: bool,
    /// `l`: maxReconsumeTimes.
    pub l: Option<i32>,
    /// `m`: batch.
    pub m: bool,
    /// `n`: brokerName (Java 4.9.8+).
    pub n: Option<String>,
}

impl CommandCustomHeader for SendMessageRequestHeaderV2 {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("a", self.a.as_str());
        fields.insert("b", self.b.as_str());
        fields.insert("c", self.c.as_str());
        fields.insert("d", self.d.to_string());
        fields.insert("e", self.e.to_string());
        fields.insert("f", self.f.to_string());
        fields.insert("g", self.g.to_string());
        fields.insert("h", self.h.to_string());
        fields.insert_opt("i", self.i.as_ref());
        fields.insert_opt("j", self.j.as_ref());
        fields.insert("k", self.k.to_string());
        fields.insert_opt("l", self.l.as_ref());
        fields.insert("m", self.m.to_string());
        fields.insert_opt("n", self.n.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(SendMessageRequestHeaderV2 {
            a: required_string(fields, "a")?,
            b: required_string(fields, "b")?,
            c: required_string(fields, "c")?,
            d: fields.required("d")?,
            e: fields.required("e")?,
            f: fields.required("f")?,
            g: fields.required("g")?,
            h: fields.required("h")?,
            i: optional_string(fields, "i"),
            j: fields.optional("j")?,
            k: lenient_bool(fields, "k").unwrap_or(false),
            l: fields.optional("l")?,
            m: lenient_bool(fields, "m").unwrap_or(false),
            n: optional_string(fields, "n"),
        })
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

/// The broker's answer to a send; mirrors Java's `SendMessageResponseHeader`, plus the
/// `MSG_REGION` and `TRACE_ON` ext fields the broker adds beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendMessageResponseHeader {
    /// `msgId`: the offset message id of the stored message.
    pub msg_id: String,
    /// `queueId`: the queue the message went to.
    pub queue_id: i32,
    /// `queueOffset`: its index in that queue.
    pub queue_offset: i64,
    /// `transactionId`.
    pub transaction_id: Option<String>,
    /// `batchUniqId` (5.x).
    pub batch_uniq_id: Option<String>,
    /// `recallHandle` (5.x).
    pub recall_handle: Option<String>,
    /// `MSG_REGION`: the broker's region.
    pub msg_region: Option<String>,
    /// `TRACE_ON`: false when the broker has message tracing off.
    pub trace_on: Option<bool>,
}

impl CommandCustomHeader for SendMessageResponseHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("msgId", self.msg_id.as_str());
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert("queueOffset", self.queue_offset.to_string());
        fields.insert_opt("transactionId", self.transaction_id.as_ref());
        fields.insert_opt("batchUniqId", self.batch_uniq_id.as_ref());
        fields.insert_opt("recallHandle", self.recall_handle.as_ref());
        fields.insert_opt(PROPERTY_MSG_REGION, self.msg_region.as_ref());
        fields.insert_opt(PROPERTY_TRACE_SWITCH, self.trace_on.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(SendMessageResponseHeader {
            msg_id: required_string(fields, "msgId")?,
            queue_id: fields.required("queueId")?,
            queue_offset: fields.required("queueOffset")?,
            transaction_id: optional_string(fields, "transactionId"),
            batch_uniq_id: optional_string(fields, "batchUniqId"),
            recall_handle: optional_string(fields, "recallHandle"),
            msg_region: optional_string(fields, PROPERTY_MSG_REGION),
            trace_on: lenient_bool(fields, PROPERTY_TRACE_SWITCH),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::string_to_properties;
    use crate::protocol::test_fixtures::fixture;

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
