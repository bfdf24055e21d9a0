//! Bodies of the 5.x POP calls: BATCH_ACK_MESSAGE (`BatchAckMessageRequestBody`,
//! `BatchAck`), QUERY_ASSIGNMENT (`QueryAssignmentRequestBody`,
//! `QueryAssignmentResponseBody`, `MessageQueueAssignment`) and SET_MESSAGE_REQUEST_MODE
//! (`SetMessageRequestModeRequestBody`, `MessageRequestMode`).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Deserializer};

use super::json::{java_enum, lenient_i64, null_as_default, parse, JsonWriter};
use super::MessageModel;
use crate::protocol::error::BodyError;
use crate::protocol::message::MessageQueue;

java_enum! {
    /// Whether a group pulls a topic's queues or pops them; mirrors Java's
    /// `MessageRequestMode`.
    #[derive(Default)]
    pub enum MessageRequestMode {
        /// Each member pulls the queues assigned to it (`PULL`, the default).
        #[default]
        Pull = "PULL",
        /// Members pop messages; the broker hides each until it is acked (`POP`).
        Pop = "POP",
    }
}

/// Sets how a group consumes a topic (`mqadmin setConsumeMode`); mirrors Java's
/// `SetMessageRequestModeRequestBody`, also the value kept in the broker's
/// `messageRequestMode.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetMessageRequestModeRequestBody {
    /// `topic`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub topic: String,
    /// `consumerGroup`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub consumer_group: String,
    /// `mode` (PULL when absent, as Java's field initialiser).
    #[serde(default, deserialize_with = "null_as_default")]
    pub mode: MessageRequestMode,
    /// `popShareQueueNum`: how many other members' queues each member also pops; 0 or less
    /// (or at least the members less one) means every member pops every queue.
    #[serde(default, deserialize_with = "lenient_i32")]
    pub pop_share_queue_num: i32,
}

fn lenient_i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    use serde::de::Error;
    let value = lenient_i64(deserializer)?;
    i32::try_from(value).map_err(|_| D::Error::custom(format!("{value} is not a 32-bit integer")))
}

impl SetMessageRequestModeRequestBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "SetMessageRequestModeRequestBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.string_field("consumerGroup", &self.consumer_group);
        w.string_field("mode", self.mode.name());
        w.integer_field("popShareQueueNum", i64::from(self.pop_share_queue_num));
        w.string_field("topic", &self.topic);
        w.end_object();
    }
}

/// Every request mode a broker keeps, by topic then group (its `messageRequestMode.json`);
/// mirrors Java's `MessageRequestModeSerializeWrapper`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRequestModeSerializeWrapper {
    /// `messageRequestModeMap`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message_request_mode_map:
        BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>,
}

impl MessageRequestModeSerializeWrapper {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "MessageRequestModeSerializeWrapper")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("messageRequestModeMap");
        w.begin_object();
        for (topic, groups) in &self.message_request_mode_map {
            w.key(topic);
            w.begin_object();
            for (group, body) in groups {
                w.key(group);
                body.write(&mut w);
            }
            w.end_object();
        }
        w.end_object();
        w.end_object();
        w.finish()
    }
}

/// A consumer asking a broker which queues it takes (`clientRebalance(false)`); mirrors Java's
/// `QueryAssignmentRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryAssignmentRequestBody {
    /// `topic`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub topic: String,
    /// `consumerGroup`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub consumer_group: String,
    /// `clientId`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub client_id: String,
    /// `strategyName`: the allocation strategy ("AVG", "AVG_BY_CIRCLE").
    #[serde(default, deserialize_with = "null_as_default")]
    pub strategy_name: String,
    /// `messageModel`.
    #[serde(default)]
    pub message_model: Option<MessageModel>,
}

impl QueryAssignmentRequestBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "QueryAssignmentRequestBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.string_field("clientId", &self.client_id);
        w.string_field("consumerGroup", &self.consumer_group);
        if let Some(model) = self.message_model {
            w.string_field("messageModel", model.name());
        }
        w.string_field("strategyName", &self.strategy_name);
        w.string_field("topic", &self.topic);
        w.end_object();
        w.finish()
    }
}

/// One queue given to a consumer, and how to consume it; mirrors Java's
/// `MessageQueueAssignment`. A POP assignment may name queue -1: pop every queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueueAssignment {
    /// `messageQueue`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message_queue: MessageQueue,
    /// `mode`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub mode: MessageRequestMode,
    /// `attachments`.
    #[serde(default)]
    pub attachments: Option<BTreeMap<String, String>>,
}

/// The queues a broker gave a consumer; mirrors Java's `QueryAssignmentResponseBody`. `None`
/// (Java's `null`, written as `{}`) tells the consumer to keep what it has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryAssignmentResponseBody {
    /// `messageQueueAssignments`.
    #[serde(default)]
    pub message_queue_assignments: Option<Vec<MessageQueueAssignment>>,
}

impl QueryAssignmentResponseBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "QueryAssignmentResponseBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        if let Some(assignments) = &self.message_queue_assignments {
            w.key("messageQueueAssignments");
            w.begin_array();
            for assignment in assignments {
                w.element();
                w.begin_object();
                if let Some(attachments) = &assignment.attachments {
                    w.key("attachments");
                    w.begin_object();
                    for (k, v) in attachments {
                        w.string_field(k, v);
                    }
                    w.end_object();
                }
                w.key("messageQueue");
                w.begin_object();
                w.string_field("brokerName", &assignment.message_queue.broker_name);
                w.integer_field("queueId", i64::from(assignment.message_queue.queue_id));
                w.string_field("topic", &assignment.message_queue.topic);
                w.end_object();
                w.string_field("mode", assignment.mode.name());
                w.end_object();
            }
            w.end_array();
        }
        w.end_object();
        w.finish()
    }
}

/// The acks of one pop checkpoint: which offsets after `start_offset` are done; mirrors
/// Java's `BatchAck` (fastjson's short keys, the long ones read too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BatchAck {
    /// `c`: the consumer group.
    #[serde(
        rename = "c",
        alias = "consumerGroup",
        default,
        deserialize_with = "null_as_default"
    )]
    pub consumer_group: String,
    /// `t`: the topic popped (the normal topic; `retry` says whether the message sat in its
    /// retry topic).
    #[serde(
        rename = "t",
        alias = "topic",
        default,
        deserialize_with = "null_as_default"
    )]
    pub topic: String,
    /// `r`: the handle's retry flag, "0", "1" or "2".
    #[serde(
        rename = "r",
        alias = "retry",
        default,
        deserialize_with = "null_as_default"
    )]
    pub retry: String,
    /// `so`: the checkpoint's start offset.
    #[serde(
        rename = "so",
        alias = "startOffset",
        default,
        deserialize_with = "lenient_i64"
    )]
    pub start_offset: i64,
    /// `q`: the queue.
    #[serde(
        rename = "q",
        alias = "queueId",
        default,
        deserialize_with = "lenient_i32"
    )]
    pub queue_id: i32,
    /// `rq`: the revive queue.
    #[serde(
        rename = "rq",
        alias = "reviveQueueId",
        default,
        deserialize_with = "lenient_i32"
    )]
    pub revive_queue_id: i32,
    /// `pt`: the pop time.
    #[serde(
        rename = "pt",
        alias = "popTime",
        default,
        deserialize_with = "lenient_i64"
    )]
    pub pop_time: i64,
    /// `it`: the invisible time.
    #[serde(
        rename = "it",
        alias = "invisibleTime",
        default,
        deserialize_with = "lenient_i64"
    )]
    pub invisible_time: i64,
    /// `b`: a Java `BitSet` as `toByteArray()` (little-endian; bit i set = offset
    /// `start_offset + i` acked), Base64 on the wire.
    #[serde(
        rename = "b",
        alias = "bitSet",
        default,
        deserialize_with = "bit_set_bytes"
    )]
    pub bit_set: Vec<u8>,
}

fn bit_set_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    use serde::de::Error;
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(Vec::new()),
        Some(text) => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| D::Error::custom(format!("bit set {text:?} is not Base64: {e}"))),
    }
}

impl BatchAck {
    /// Sets bit `index` (offset `start_offset + index` acked).
    pub fn set(&mut self, index: u32) {
        let byte = (index / 8) as usize;
        if self.bit_set.len() <= byte {
            self.bit_set.resize(byte + 1, 0);
        }
        self.bit_set[byte] |= 1 << (index % 8);
    }

    /// The indexes set, ascending (`BitSet.nextSetBit`); nothing is allocated per bit.
    pub fn acked_indexes(&self) -> impl Iterator<Item = u64> + '_ {
        self.bit_set.iter().enumerate().flat_map(|(byte, bits)| {
            (0..8u64)
                .filter(move |bit| bits & (1 << bit) != 0)
                .map(move |bit| byte as u64 * 8 + bit)
        })
    }

    fn write(&self, w: &mut JsonWriter) {
        // BitSet.toByteArray drops trailing zero bytes.
        let used = self
            .bit_set
            .iter()
            .rposition(|b| *b != 0)
            .map_or(0, |last| last + 1);
        w.begin_object();
        w.string_field(
            "b",
            &base64::engine::general_purpose::STANDARD.encode(&self.bit_set[..used]),
        );
        w.string_field("c", &self.consumer_group);
        w.integer_field("it", self.invisible_time);
        w.integer_field("pt", self.pop_time);
        w.integer_field("q", i64::from(self.queue_id));
        w.string_field("r", &self.retry);
        w.integer_field("rq", i64::from(self.revive_queue_id));
        w.integer_field("so", self.start_offset);
        w.string_field("t", &self.topic);
        w.end_object();
    }
}

/// BATCH_ACK_MESSAGE's body: acks of several checkpoints of one broker; mirrors Java's
/// `BatchAckMessageRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAckMessageRequestBody {
    /// `brokerName`.
    #[serde(default)]
    pub broker_name: Option<String>,
    /// `acks`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub acks: Vec<BatchAck>,
}

impl BatchAckMessageRequestBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "BatchAckMessageRequestBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("acks");
        w.begin_array();
        for ack in &self.acks {
            w.element();
            ack.write(&mut w);
        }
        w.end_array();
        w.optional_string_field("brokerName", self.broker_name.as_deref());
        w.end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_fixtures::fixture;

    #[test]
    fn set_message_request_mode_is_what_mqadmin_sent() {
        let cmd = fixture("java-5.3.3/017-req-code401-json.bin");
        let body = SetMessageRequestModeRequestBody::from_json(&cmd.body).unwrap();
        assert_eq!(
            body,
            SetMessageRequestModeRequestBody {
                topic: "CapPop5".into(),
                consumer_group: "CapPopG5".into(),
                mode: MessageRequestMode::Pop,
                pop_share_queue_num: 0,
            }
        );
        assert_eq!(body.to_json().as_bytes(), &cmd.body[..]);
        let defaulted = SetMessageRequestModeRequestBody::from_json(br#"{"topic":"T"}"#).unwrap();
        assert_eq!(defaulted.mode, MessageRequestMode::Pull);
        assert!(SetMessageRequestModeRequestBody::from_json(br#"{"mode":"PUSH"}"#).is_err());
        assert!(SetMessageRequestModeRequestBody::from_json(
            br#"{"popShareQueueNum":99999999999}"#
        )
        .is_err());
    }

    #[test]
    fn query_assignment_is_what_java_sent_and_answered() {
        for (request, response) in [
            (
                "java-5.3.3/070-req-code400-json.bin",
                "java-5.3.3/071-resp-code0-json.bin",
            ),
            (
                "java-5.3.3/062-req-code400-json.bin",
                "java-5.3.3/063-resp-code0-json.bin",
            ),
        ] {
            let cmd = fixture(request);
            let body = QueryAssignmentRequestBody::from_json(&cmd.body).unwrap();
            assert_eq!(body.consumer_group, "CapPopG5");
            assert_eq!(body.strategy_name, "AVG");
            assert_eq!(body.message_model, Some(MessageModel::Clustering));
            assert_eq!(body.to_json().as_bytes(), &cmd.body[..]);
            let cmd = fixture(response);
            let body = QueryAssignmentResponseBody::from_json(&cmd.body).unwrap();
            assert_eq!(body.to_json().as_bytes(), &cmd.body[..]);
        }
        let cmd = fixture("java-5.3.3/071-resp-code0-json.bin");
        let body = QueryAssignmentResponseBody::from_json(&cmd.body).unwrap();
        let assignments = body.message_queue_assignments.unwrap();
        assert_eq!(assignments.len(), 1);
        assert_eq!(
            assignments[0].message_queue,
            MessageQueue::new("CapPop5", "broker-5", -1)
        );
        assert_eq!(assignments[0].mode, MessageRequestMode::Pop);
        assert_eq!(QueryAssignmentResponseBody::default().to_json(), "{}");
        let with_attachments = QueryAssignmentResponseBody {
            message_queue_assignments: Some(vec![MessageQueueAssignment {
                message_queue: MessageQueue::new("T", "b", 0),
                mode: MessageRequestMode::Pull,
                attachments: Some([("k".to_string(), "v".to_string())].into()),
            }]),
        };
        let text = with_attachments.to_json();
        assert_eq!(
            text,
            r#"{"messageQueueAssignments":[{"attachments":{"k":"v"},"messageQueue":{"brokerName":"b","queueId":0,"topic":"T"},"mode":"PULL"}]}"#
        );
        assert_eq!(
            QueryAssignmentResponseBody::from_json(text.as_bytes()).unwrap(),
            with_attachments
        );
    }

    #[test]
    fn batch_ack_bit_sets_are_javas_bytes_in_base64() {
        // Java's BatchAckTest: offsets so+1, so+3, so+5 -> BitSet {1,3,5} -> byte 0x2A.
        let mut ack = BatchAck {
            consumer_group: "G".into(),
            topic: "T".into(),
            retry: "0".into(),
            start_offset: 100,
            queue_id: 1,
            revive_queue_id: 2,
            pop_time: 1_700_000_000_000,
            invisible_time: 5000,
            bit_set: Vec::new(),
        };
        for index in [1, 3, 5, 17] {
            ack.set(index);
        }
        assert_eq!(ack.bit_set, [0x2A, 0x00, 0x02]);
        assert_eq!(ack.acked_indexes().collect::<Vec<_>>(), [1, 3, 5, 17]);
        let body = BatchAckMessageRequestBody {
            broker_name: Some("broker-a".into()),
            acks: vec![ack.clone()],
        };
        let text = body.to_json();
        assert_eq!(
            text,
            r#"{"acks":[{"b":"KgAC","c":"G","it":5000,"pt":1700000000000,"q":1,"r":"0","rq":2,"so":100,"t":"T"}],"brokerName":"broker-a"}"#
        );
        assert_eq!(
            BatchAckMessageRequestBody::from_json(text.as_bytes()).unwrap(),
            body
        );
        // Long names (fastjson's alternateNames) and a null bit set.
        let long =
            br#"{"acks":[{"consumerGroup":"G","topic":"T","startOffset":"7","bitSet":null}]}"#;
        let read = BatchAckMessageRequestBody::from_json(long).unwrap();
        assert_eq!(read.acks[0].start_offset, 7);
        assert_eq!(read.acks[0].acked_indexes().count(), 0);
        assert!(BatchAckMessageRequestBody::from_json(br#"{"acks":[{"b":"!!"}]}"#).is_err());
        assert!(BatchAckMessageRequestBody::from_json(b"[]").is_err());
    }
}
