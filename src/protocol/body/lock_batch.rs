//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) bodies: `LockBatchRequestBody`,
//! `LockBatchResponseBody`, `UnlockBatchRequestBody`.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::json::{null_as_default, parse, JsonWriter};
use crate::protocol::error::BodyError;
use crate::protocol::message::MessageQueue;

fn write_queue_set(w: &mut JsonWriter, name: &str, queues: &BTreeSet<MessageQueue>) {
    w.key(name);
    w.begin_array();
    for queue in queues {
        w.element();
        w.begin_object();
        w.string_field("brokerName", &queue.broker_name);
        w.integer_field("queueId", i64::from(queue.queue_id));
        w.string_field("topic", &queue.topic);
        w.end_object();
    }
    w.end_array();
}

/// An ordered consumer asking a broker to lock queues for it; mirrors Java's
/// `LockBatchRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    /// `consumerGroup`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub consumer_group: String,
    /// `clientId`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub client_id: String,
    /// `onlyThisBroker` (5.x; the C++ client and Java 4.9.8 omit it).
    #[serde(default)]
    pub only_this_broker: Option<bool>,
    /// `mqSet`: the queues to lock.
    #[serde(default, deserialize_with = "null_as_default")]
    pub mq_set: BTreeSet<MessageQueue>,
}

impl LockBatchRequestBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "LockBatchRequestBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        write_lock_request(
            &self.client_id,
            &self.consumer_group,
            &self.mq_set,
            self.only_this_broker,
        )
    }
}

fn write_lock_request(
    client_id: &str,
    consumer_group: &str,
    mq_set: &BTreeSet<MessageQueue>,
    only_this_broker: Option<bool>,
) -> String {
    let mut w = JsonWriter::new(false);
    w.begin_object();
    w.string_field("clientId", client_id);
    w.string_field("consumerGroup", consumer_group);
    write_queue_set(&mut w, "mqSet", mq_set);
    if let Some(only) = only_this_broker {
        w.bool_field("onlyThisBroker", only);
    }
    w.end_object();
    w.finish()
}

/// The queues a broker locked; mirrors Java's `LockBatchResponseBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LockBatchResponseBody {
    /// `lockOKMQSet`.
    #[serde(rename = "lockOKMQSet", default, deserialize_with = "null_as_default")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

impl LockBatchResponseBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "LockBatchResponseBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        write_queue_set(&mut w, "lockOKMQSet", &self.lock_ok_mq_set);
        w.end_object();
        w.finish()
    }
}

/// An ordered consumer releasing queue locks; mirrors Java's `UnlockBatchRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockBatchRequestBody {
    /// `consumerGroup`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub consumer_group: String,
    /// `clientId`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub client_id: String,
    /// `onlyThisBroker` (5.x).
    #[serde(default)]
    pub only_this_broker: Option<bool>,
    /// `mqSet`: the queues to unlock.
    #[serde(default, deserialize_with = "null_as_default")]
    pub mq_set: BTreeSet<MessageQueue>,
}

impl UnlockBatchRequestBody {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "UnlockBatchRequestBody")
    }

    /// Writes the body as Java does.
    pub fn to_json(&self) -> String {
        write_lock_request(
            &self.client_id,
            &self.consumer_group,
            &self.mq_set,
            self.only_this_broker,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> BTreeSet<MessageQueue> {
        [
            MessageQueue::new("T", "broker-a", 1),
            MessageQueue::new("T", "broker-a", 0),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn lock_request_round_trips_in_java_layout() {
        let request = LockBatchRequestBody {
            consumer_group: "G".into(),
            client_id: "127.0.0.1@1".into(),
            only_this_broker: None,
            mq_set: queues(),
        };
        let text = request.to_json();
        assert_eq!(
            text,
            r#"{"clientId":"127.0.0.1@1","consumerGroup":"G","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"T"},{"brokerName":"broker-a","queueId":1,"topic":"T"}]}"#
        );
        assert_eq!(
            LockBatchRequestBody::from_json(text.as_bytes()).unwrap(),
            request
        );
        let five = LockBatchRequestBody {
            only_this_broker: Some(true),
            ..request
        };
        assert!(five.to_json().ends_with(r#"],"onlyThisBroker":true}"#));
        assert_eq!(
            LockBatchRequestBody::from_json(five.to_json().as_bytes()).unwrap(),
            five
        );
    }

    #[test]
    fn reads_a_cpp_style_request_and_the_response() {
        // No onlyThisBroker, keys in another order, trailing newline.
        let body = b"{\"consumerGroup\":\"G\",\"clientId\":\"c\",\"mqSet\":[{\"topic\":\"T\",\"brokerName\":\"broker-a\",\"queueId\":1}]}\n";
        let request = LockBatchRequestBody::from_json(body).unwrap();
        assert_eq!(request.only_this_broker, None);
        assert_eq!(
            request.mq_set.iter().next(),
            Some(&MessageQueue::new("T", "broker-a", 1))
        );
        let unlock = UnlockBatchRequestBody::from_json(body).unwrap();
        assert_eq!(unlock.mq_set, request.mq_set);
        assert_eq!(unlock.to_json(), request.to_json());

        let response = LockBatchResponseBody {
            lock_ok_mq_set: queues(),
        };
        let text = response.to_json();
        assert!(
            text.starts_with(r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0"#),
            "{text}"
        );
        assert_eq!(
            LockBatchResponseBody::from_json(text.as_bytes()).unwrap(),
            response
        );
        let err =
            LockBatchResponseBody::from_json(br#"{"lockOKMQSet":[{"queueId":"x"}]}"#).unwrap_err();
        assert!(err.to_string().contains("LockBatchResponseBody"), "{err}");
    }
}
