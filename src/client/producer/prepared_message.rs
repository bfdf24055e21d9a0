//! `PreparedMessage`: a message made ready to send, as Java's `sendKernelImpl` does it once
//! per send: its `UNIQ_KEY`, its compressed body and system flag, the fields every attempt's
//! SEND_MESSAGE_V2 header copies.

use super::send_hook::SendMessageContext;
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::result::CommunicationMode;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::clock::now_millis;
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
            begin_timestamp: now_millis(),
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
pub(crate) mod tests {
    use super::*;
    use crate::protocol::message::{decode_batch, decompress};

    pub(crate) fn ids() -> MessageClientIdGenerator {
        MessageClientIdGenerator::new("10.0.0.1".parse().unwrap())
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
    }
}
