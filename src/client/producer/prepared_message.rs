//! `PreparedMessage`: a message made ready to send, as Java's `sendKernelImpl` does it once
//! per send: its `UNIQ_KEY`, its compressed body and system flag, and the SEND_MESSAGE_V2
//! header of each attempt.

use super::send_hook::{CommunicationMode, SendMessageContext};
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::clock::now_millis;
use crate::protocol::header::SendMessageRequestHeaderV2;
use crate::protocol::message::message_const::{
    PROPERTY_MAX_RECONSUME_TIMES, PROPERTY_RECONSUME_TIME, PROPERTY_TRANSACTION_PREPARED,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, PROPERTY_WAIT_STORE_MSG_OK,
};
use crate::protocol::message::sys_flag::{
    COMPRESSED_FLAG, COMPRESSION_ZLIB_TYPE, TRANSACTION_PREPARED_TYPE,
};
use crate::protocol::message::{
    compress, encode_batch, properties_to_string, BatchMessage, MessageClientIdGenerator,
    MessageProperties, MessageQueue,
};
use crate::protocol::Body;

/// What every attempt of one send shares, fixed before the first: the message as Java's
/// `sendKernelImpl` leaves it (id set, body compressed) plus its header fields. The body is
/// a [`Body`]: every attempt sends the same bytes, none copies them.
#[derive(Debug, Clone)]
pub(crate) struct PreparedMessage {
    /// The topic.
    pub(crate) topic: String,
    /// The application flag (`h`).
    pub(crate) flag: i32,
    /// The properties as sent, `UNIQ_KEY` included.
    pub(crate) properties: MessageProperties,
    /// The properties string (`i`).
    pub(crate) properties_text: String,
    /// The body as sent: the caller's, compressed, or a batch body.
    pub(crate) body: Body,
    /// The system flag (`f`): compression and transaction bits.
    pub(crate) sys_flag: i32,
    /// True for a SEND_BATCH_MESSAGE (`m`).
    pub(crate) batch: bool,
    /// The client id: the `UNIQ_KEY`, or a batch's ids joined by commas.
    pub(crate) msg_id: String,
    /// `j`: the reconsume count of a retry-topic message, else 0.
    pub(crate) reconsume_times: i32,
    /// `l`: the max reconsume count of a retry-topic message, if it has one.
    pub(crate) max_reconsume_times: Option<i32>,
}

/// The producer settings a request header needs (the `DefaultMQProducer` fields that
/// `sendKernelImpl` copies into `SendMessageRequestHeader`).
#[derive(Debug, Clone)]
pub(crate) struct HeaderSettings<'s> {
    /// `a`.
    pub(crate) producer_group: &'s str,
    /// `c`.
    pub(crate) create_topic_key: &'s str,
    /// `d`.
    pub(crate) default_topic_queue_nums: i32,
}

impl PreparedMessage {
    /// Prepares one message: gives it a `UNIQ_KEY` unless it has one, compresses a body of
    /// `compress_over` bytes or more at `compress_level` (zlib; flag `0x1 | 0x300`), and sets
    /// the transaction bit of a half message. A body that fails to compress goes as it is.
    pub(crate) fn single(
        message: &Message,
        ids: &MessageClientIdGenerator,
        compress_over: usize,
        compress_level: u32,
    ) -> Self {
        let mut properties = message.properties().clone();
        let msg_id = ensure_uniq_key(&mut properties, ids);
        let mut sys_flag = 0;
        let mut body = message.body().clone();
        if body.len() >= compress_over {
            match compress(&body, compress_level) {
                Ok(packed) => {
                    body = Body::from(packed);
                    sys_flag |= COMPRESSED_FLAG | COMPRESSION_ZLIB_TYPE;
                }
                Err(e) => log::warn!("sending uncompressed: compression failed: {e}"),
            }
        }
        if properties.get(PROPERTY_TRANSACTION_PREPARED) == Some("true") {
            sys_flag |= TRANSACTION_PREPARED_TYPE;
        }
        let (mut reconsume_times, mut max_reconsume_times) = (0, None);
        if message.topic().starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            if let Some(times) = properties.remove(PROPERTY_RECONSUME_TIME) {
                reconsume_times = times.parse().unwrap_or(0);
            }
            max_reconsume_times = properties
                .remove(PROPERTY_MAX_RECONSUME_TIMES)
                .and_then(|m| m.parse().ok());
        }
        PreparedMessage {
            topic: message.topic().to_string(),
            flag: message.flag(),
            properties_text: properties_to_string(&properties),
            properties,
            body,
            sys_flag,
            batch: false,
            msg_id,
            reconsume_times,
            max_reconsume_times,
        }
    }

    /// Prepares a batch (`DefaultMQProducer.batch`): every message gets a `UNIQ_KEY`, the body
    /// is the batch encoding, never compressed, and the request carries only the batch's
    /// `WAIT` property. The messages must have passed the batch checks.
    pub(crate) fn batch(
        messages: &[Message],
        ids: &MessageClientIdGenerator,
    ) -> Result<PreparedMessage, ClientError> {
        let mut entries = Vec::with_capacity(messages.len());
        let mut msg_ids = Vec::with_capacity(messages.len());
        for message in messages {
            let mut properties = message.properties().clone();
            msg_ids.push(ensure_uniq_key(&mut properties, ids));
            entries.push(BatchMessage {
                flag: message.flag(),
                body: message.body().to_vec(),
                properties,
            });
        }
        let body = encode_batch(&entries).map_err(|e| ClientError::InvalidBatch {
            reason: e.to_string(),
        })?;
        let wait = match messages.first() {
            Some(first) => first.wait_store_msg_ok(),
            None => true,
        };
        let mut properties = MessageProperties::new();
        properties.insert(PROPERTY_WAIT_STORE_MSG_OK, wait.to_string());
        Ok(PreparedMessage {
            topic: messages
                .first()
                .map(|m| m.topic().to_string())
                .unwrap_or_default(),
            flag: 0,
            properties_text: properties_to_string(&properties),
            properties,
            body: Body::from(body),
            sys_flag: 0,
            batch: true,
            msg_id: msg_ids.join(","),
            reconsume_times: 0,
            max_reconsume_times: None,
        })
    }

    /// The SEND_MESSAGE_V2 header of an attempt on `queue`, born now: fields `a`–`n` as Java
    /// 4.9.8 sends them, `l` only when set.
    pub(crate) fn request_header(
        &self,
        settings: &HeaderSettings<'_>,
        queue: &MessageQueue,
    ) -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 {
            a: settings.producer_group.to_string(),
            b: self.topic.clone(),
            c: settings.create_topic_key.to_string(),
            d: settings.default_topic_queue_nums,
            e: queue.queue_id,
            f: self.sys_flag,
            g: now_millis(),
            h: self.flag,
            i: Some(self.properties_text.clone()),
            j: Some(self.reconsume_times),
            k: false,
            l: self.max_reconsume_times,
            m: self.batch,
            n: Some(queue.broker_name.clone()),
        }
    }

    /// The context a send hook sees for an attempt on `queue` at `broker_addr`.
    pub(crate) fn hook_context(
        &self,
        producer_group: &str,
        born_host: &str,
        queue: &MessageQueue,
        broker_addr: &str,
        mode: CommunicationMode,
    ) -> SendMessageContext {
        SendMessageContext {
            producer_group: producer_group.to_string(),
            topic: self.topic.clone(),
            properties: self.properties.clone(),
            msg_id: self.msg_id.clone(),
            body_len: self.body.len(),
            message_queue: queue.clone(),
            broker_addr: broker_addr.to_string(),
            born_host: born_host.to_string(),
            communication_mode: mode,
            msg_type: SendMessageContext::message_type_of(&self.properties),
            send_result: None,
            error: None,
        }
    }
}

/// The message's `UNIQ_KEY`, generating one if absent (`MessageClientIDSetter.setUniqID`).
fn ensure_uniq_key(properties: &mut MessageProperties, ids: &MessageClientIdGenerator) -> String {
    if let Some(id) = properties.get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) {
        return id.to_string();
    }
    let id = ids.next();
    properties.insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id.clone());
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::test_support::fixture;
    use crate::protocol::message::{decode_batch, decompress, string_to_properties};
    use crate::protocol::{CommandCustomHeader, ExtFields};

    fn ids() -> MessageClientIdGenerator {
        MessageClientIdGenerator::new("10.0.0.1".parse().unwrap())
    }

    fn settings() -> HeaderSettings<'static> {
        HeaderSettings {
            producer_group: "javapeer_producer_group",
            create_topic_key: "TBW102",
            default_topic_queue_nums: 4,
        }
    }

    fn field_names(fields: &ExtFields) -> Vec<String> {
        let mut names: Vec<_> = fields.iter().map(|(k, _)| k.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn header_has_exactly_the_fields_of_java_vector_010() {
        let java = fixture("java-4.9.8/010-req-code310-json.bin");
        let message = Message::new("TopicTest", "Hello RocketMQ 0")
            .with_tags("TagA")
            .with_keys(["KEY0"]);
        let prepared = PreparedMessage::single(&message, &ids(), 4096, 5);
        let queue = MessageQueue::new("TopicTest", "broker-a", 2);
        let mut ours = ExtFields::new();
        prepared
            .request_header(&settings(), &queue)
            .write_to(&mut ours);
        assert_eq!(field_names(&ours), field_names(&java.ext_fields));
        assert!(ours.get("l").is_none());
        // Field by field, except the time and the generated id.
        for key in ["a", "b", "c", "d", "e", "f", "h", "j", "k", "m", "n"] {
            assert_eq!(ours.get(key), java.ext_fields.get(key), "field {key}");
        }
        let g: i64 = ours.get("g").unwrap().parse().unwrap();
        assert!(g > 1_700_000_000_000);
        // The property string: name \x01 value pairs joined by \x02, no trailing \x02, with
        // the same keys and values as Java's but the UNIQ_KEY.
        let text = ours.get("i").unwrap();
        assert!(!text.ends_with('\u{2}'));
        assert!(text
            .split('\u{2}')
            .all(|pair| pair.split('\u{1}').count() == 2));
        let (ours, java) = (
            string_to_properties(text),
            string_to_properties(java.ext_fields.get("i").unwrap()),
        );
        let mut our_keys: Vec<_> = ours.iter().map(|(k, _)| k).collect();
        let mut java_keys: Vec<_> = java.iter().map(|(k, _)| k).collect();
        our_keys.sort();
        java_keys.sort();
        assert_eq!(our_keys, java_keys);
        for key in ["KEYS", "WAIT", "TAGS"] {
            assert_eq!(ours.get(key), java.get(key));
        }
        let uniq = ours.get("UNIQ_KEY").unwrap();
        assert_eq!(uniq.len(), 32);
        assert!(uniq.starts_with("0A000001"), "ip first: {uniq}");
        assert_eq!(prepared.msg_id, uniq);
    }

    #[test]
    fn max_reconsume_times_only_for_retry_topics_that_set_it() {
        let mut message = Message::new("%RETRY%G", "x");
        message.put_system_property("RECONSUME_TIME", "3");
        message.put_system_property("MAX_RECONSUME_TIMES", "16");
        let prepared = PreparedMessage::single(&message, &ids(), 4096, 5);
        let header = prepared.request_header(&settings(), &MessageQueue::new("%RETRY%G", "b", 0));
        assert_eq!((header.j, header.l), (Some(3), Some(16)));
        assert!(!header.i.unwrap().contains("RECONSUME"));
    }

    #[test]
    fn compression_threshold_and_flags() {
        let small = Message::new("T", vec![b'a'; 4095]);
        let prepared = PreparedMessage::single(&small, &ids(), 4096, 5);
        assert_eq!(prepared.sys_flag, 0);
        assert!(prepared.body.shares_bytes_with(small.body()), "not copied");

        let large = Message::new("T", vec![b'a'; 4096]);
        let prepared = PreparedMessage::single(&large, &ids(), 4096, 5);
        assert_eq!(prepared.sys_flag, 0x1 | 0x300);
        assert!(prepared.body.len() < 4096);
        assert_eq!(
            decompress(&prepared.body, 1 << 20).unwrap(),
            large.body().to_vec()
        );

        let mut half = Message::new("T", "x");
        half.put_system_property("TRAN_MSG", "true");
        let prepared = PreparedMessage::single(&half, &ids(), 4096, 5);
        assert_eq!(prepared.sys_flag, TRANSACTION_PREPARED_TYPE);
    }

    #[test]
    fn batches_get_ids_and_are_never_compressed() {
        let messages: Vec<_> = (0..3)
            .map(|i| Message::new("T", vec![b'z'; 5000]).with_tags(format!("t{i}")))
            .collect();
        let prepared = PreparedMessage::batch(&messages, &ids()).unwrap();
        assert!(prepared.batch);
        assert_eq!(prepared.sys_flag, 0);
        assert_eq!(prepared.properties_text, "WAIT\u{1}true");
        let decoded = decode_batch(&prepared.body).unwrap();
        assert_eq!(decoded.len(), 3);
        let ids: Vec<_> = decoded
            .iter()
            .map(|m| m.properties.get("UNIQ_KEY").unwrap().to_string())
            .collect();
        assert_eq!(prepared.msg_id, ids.join(","));
        assert!(decoded.iter().all(|m| m.body == vec![b'z'; 5000]));
        let header = prepared.request_header(&settings(), &MessageQueue::new("T", "b", 1));
        assert!(header.m);
        assert_eq!(header.f, 0);
    }
}
