//! What a producer sends and what it gets back: `Message`, `SendStatus`, `SendResult`.

use std::fmt;

use super::error::ClientError;
use crate::protocol::message::message_const::{
    is_reserved_key, KEY_SEPARATOR, PROPERTY_DELAY_TIME_LEVEL, PROPERTY_KEYS, PROPERTY_TAGS,
    PROPERTY_WAIT_STORE_MSG_OK,
};
use crate::protocol::message::{MessageProperties, MessageQueue};

/// A message to send; mirrors Java's `common.message.Message`.
///
/// Tags, keys, the wait-store flag and the delay level live in the properties, as in Java;
/// the typed methods read and write them. A new message waits for the store (`WAIT=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic.
    pub topic: String,
    /// The application's flag, opaque to RocketMQ.
    pub flag: i32,
    /// The body.
    pub body: Vec<u8>,
    properties: MessageProperties,
}

impl Message {
    /// A message for `topic` with `body`, waiting for the store (`Message(topic, body)`).
    pub fn new(topic: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        let mut message = Message {
            topic: topic.into(),
            flag: 0,
            body: body.into(),
            properties: MessageProperties::new(),
        };
        message.set_wait_store_msg_ok(true);
        message
    }

    /// Builder: sets the tag.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.set_tags(tags);
        self
    }

    /// Builder: sets the keys (joined by spaces, as Java's `setKeys(Collection)`).
    pub fn with_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        self.set_keys(keys);
        self
    }

    /// Builder: sets the application flag.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Builder: sets whether the broker answers only after the store (default true).
    pub fn with_wait_store_msg_ok(mut self, wait: bool) -> Self {
        self.set_wait_store_msg_ok(wait);
        self
    }

    /// Builder: sets the delay level of a scheduled message (1..18 on a default broker).
    pub fn with_delay_time_level(mut self, level: i32) -> Self {
        self.properties
            .insert(PROPERTY_DELAY_TIME_LEVEL, level.to_string());
        self
    }

    /// Sets the tag (`setTags`); an empty tag removes it.
    pub fn set_tags(&mut self, tags: impl Into<String>) {
        let tags = tags.into();
        if tags.is_empty() {
            self.properties.remove(PROPERTY_TAGS);
        } else {
            self.properties.insert(PROPERTY_TAGS, tags);
        }
    }

    /// Sets the keys, space-separated (`setKeys`); no keys removes them.
    pub fn set_keys<I, K>(&mut self, keys: I)
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        let joined = keys
            .into_iter()
            .map(|k| k.as_ref().to_string())
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>()
            .join(KEY_SEPARATOR);
        if joined.is_empty() {
            self.properties.remove(PROPERTY_KEYS);
        } else {
            self.properties.insert(PROPERTY_KEYS, joined);
        }
    }

    /// Sets the wait-store flag (`setWaitStoreMsgOK`).
    pub fn set_wait_store_msg_ok(&mut self, wait: bool) {
        self.properties
            .insert(PROPERTY_WAIT_STORE_MSG_OK, wait.to_string());
    }

    /// Adds an application property (`putUserProperty`); system keys and blank names or
    /// values are refused.
    pub fn put_user_property(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), ClientError> {
        let (name, value) = (name.into(), value.into());
        if is_reserved_key(&name) {
            return Err(ClientError::InvalidArgument(format!(
                "The Property<{name}> is used by system, input another please"
            )));
        }
        if name.trim().is_empty() || value.trim().is_empty() {
            return Err(ClientError::InvalidArgument(
                "The name or value of property can not be null or blank string!".into(),
            ));
        }
        self.properties.insert(name, value);
        Ok(())
    }

    /// The tag.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(PROPERTY_TAGS)
    }

    /// The keys as stored: space-separated.
    pub fn keys(&self) -> Option<&str> {
        self.properties.get(PROPERTY_KEYS)
    }

    /// Whether the broker answers only after the store (`isWaitStoreMsgOK`: true when unset,
    /// else whether the value is "true").
    pub fn wait_store_msg_ok(&self) -> bool {
        match self.properties.get(PROPERTY_WAIT_STORE_MSG_OK) {
            None => true,
            Some(value) => value.eq_ignore_ascii_case("true"),
        }
    }

    /// The delay level, 0 when none (`getDelayTimeLevel`; an unparsable value reads as 0).
    pub fn delay_time_level(&self) -> i32 {
        self.properties
            .get(PROPERTY_DELAY_TIME_LEVEL)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// Every property, system ones included.
    pub fn properties(&self) -> &MessageProperties {
        &self.properties
    }

    /// Sets any property, system keys included (tests of the send path).
    #[cfg(test)]
    pub(crate) fn test_insert_property(&mut self, name: &str, value: &str) {
        self.properties.insert(name, value);
    }
}

/// How the broker stored a sent message; mirrors Java's `SendStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Stored (SUCCESS).
    SendOk,
    /// Stored, but the disk flush timed out (FLUSH_DISK_TIMEOUT).
    FlushDiskTimeout,
    /// Stored, but the slave flush timed out (FLUSH_SLAVE_TIMEOUT).
    FlushSlaveTimeout,
    /// Stored, but no slave is available (SLAVE_NOT_AVAILABLE).
    SlaveNotAvailable,
}

impl SendStatus {
    /// Java's name of the status.
    pub fn name(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

impl fmt::Display for SendStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of a successful send; mirrors Java's `SendResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// How the broker stored it.
    pub send_status: SendStatus,
    /// The client id (`UNIQ_KEY`); for a batch, every message's id joined by commas.
    pub msg_id: String,
    /// The broker's offset message id (store host and commit log offset).
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub message_queue: MessageQueue,
    /// Its offset in that queue (a batch's first message).
    pub queue_offset: i64,
    /// The transaction id, for transactional messages.
    pub transaction_id: Option<String>,
    /// The broker's region (`MSG_REGION`, "DefaultRegion" when absent).
    pub region_id: String,
    /// Whether the broker has message tracing on (`TRACE_ON`, true unless "false").
    pub trace_on: bool,
}

impl fmt::Display for SendResult {
    /// Java's `toString` layout.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue={}, queueOffset={}]",
            self.send_status,
            self.msg_id,
            self.offset_msg_id,
            self.message_queue,
            self.queue_offset
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_message_waits_for_the_store_like_java() {
        let m = Message::new("T", "hi")
            .with_tags("TagA")
            .with_keys(["k1", "", "k2"]);
        assert!(m.wait_store_msg_ok());
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), Some("k1 k2"));
        assert_eq!(m.delay_time_level(), 0);
        let keys: Vec<_> = m.properties().iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["WAIT", "TAGS", "KEYS"]);
        let m = m.with_wait_store_msg_ok(false).with_delay_time_level(3);
        assert!(!m.wait_store_msg_ok());
        assert_eq!(m.delay_time_level(), 3);
    }

    #[test]
    fn user_properties_refuse_system_keys_and_blanks() {
        let mut m = Message::new("T", "x");
        assert!(m.put_user_property("seq", "1").is_ok());
        assert_eq!(m.property("seq"), Some("1"));
        assert!(m.put_user_property("UNIQ_KEY", "x").is_err());
        assert!(m.put_user_property(" ", "x").is_err());
        assert!(m.put_user_property("a", "").is_err());
        m.set_tags("");
        assert_eq!(m.tags(), None);
    }
}
