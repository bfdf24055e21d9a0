//! `Message`: what a producer sends.

use super::error::ClientError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::protocol::message::message_const::{
    is_reserved_key, KEY_SEPARATOR, PROPERTY_DELAY_TIME_LEVEL, PROPERTY_KEYS, PROPERTY_TAGS,
    PROPERTY_TIMER_DELAY_MS, PROPERTY_TIMER_DELAY_SEC, PROPERTY_TIMER_DELIVER_MS,
    PROPERTY_WAIT_STORE_MSG_OK,
};
use crate::protocol::message::MessageProperties;
use crate::protocol::Body;

/// A message to send; mirrors Java's `common.message.Message`.
///
/// Tags, keys, the wait-store flag and the delay level live in the properties, as in Java;
/// the typed methods read and write them. A new message waits for the store (`WAIT=true`).
/// The body is a [`Body`]: cloning a message, or sending it again, does not copy it.
///
/// ```
/// use rocketmq_blocking::client::Message;
///
/// let message = Message::new("TopicTest", "Hello RocketMQ")
///     .with_tags("TagA")
///     .with_keys("order-1001")
///     .with_property("region", "eu")?;
/// assert_eq!(message.keys(), Some("order-1001"));
/// assert_eq!(message.property("region"), Some("eu"));
/// # Ok::<(), rocketmq_blocking::client::ClientError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    topic: String,
    flag: i32,
    body: Body,
    properties: MessageProperties,
}

impl Message {
    /// A message for `topic` with `body`, waiting for the store (`Message(topic, body)`).
    pub fn new(topic: impl Into<String>, body: impl Into<Body>) -> Self {
        let mut message = Message {
            topic: topic.into(),
            flag: 0,
            body: body.into(),
            properties: MessageProperties::new(),
        };
        message.set_wait_store_msg_ok(true);
        message
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The application's flag, opaque to RocketMQ.
    pub fn flag(&self) -> i32 {
        self.flag
    }

    /// Builder: sets the tag.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.set_tags(tags);
        self
    }

    /// Builder: sets the keys: one key (`"k"`), or several (`["k1", "k2"]`, a `Vec`), stored
    /// space-separated as Java's `setKeys` does.
    pub fn with_keys(mut self, keys: impl IntoKeys) -> Self {
        self.set_keys(keys);
        self
    }

    /// Builder: adds one key to those already set.
    pub fn with_key(mut self, key: impl AsRef<str>) -> Self {
        let mut keys: Vec<String> = self
            .keys()
            .map(|k| k.split(KEY_SEPARATOR).map(str::to_string).collect())
            .unwrap_or_default();
        keys.push(key.as_ref().to_string());
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

    /// Builder: a timer message (RocketMQ 5), delivered at `time` (`setDeliverTimeMs`: the
    /// `TIMER_DELIVER_MS` property, ms since the Unix epoch). Replaces an earlier delay. The
    /// broker takes it as far ahead as its `timerMaxDelaySec` (3 days by default) and rounds it
    /// to its precision (1 s by default); a time already past is delivered at once. A 4.x
    /// broker ignores it and delivers the message at once.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use rocketmq_blocking::client::Message;
    ///
    /// let at = SystemTime::now() + Duration::from_secs(30);
    /// let reminder = Message::new("Reminders", "call back").with_deliver_time(at);
    /// assert!(reminder.deliver_time_ms().is_some());
    /// ```
    pub fn with_deliver_time(mut self, time: SystemTime) -> Self {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.set_timer_property(PROPERTY_TIMER_DELIVER_MS, millis);
        self
    }

    /// Builder: a timer message (RocketMQ 5) delivered `delay` after the broker stores it
    /// (`setDelayTimeMs`: the `TIMER_DELAY_MS` property, as a Java 5 producer writes it).
    /// Replaces an earlier delivery time. See [`Message::with_deliver_time`] for the broker's
    /// limits.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        let millis = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        self.set_timer_property(PROPERTY_TIMER_DELAY_MS, millis);
        self
    }

    /// The delivery time of a timer message made with [`Message::with_deliver_time`], in ms
    /// since the Unix epoch (`getDeliverTimeMs`).
    pub fn deliver_time_ms(&self) -> Option<i64> {
        self.properties
            .get(PROPERTY_TIMER_DELIVER_MS)
            .and_then(|v| v.parse().ok())
    }

    /// The delay of a timer message made with [`Message::with_delay`] (`getDelayTimeMs`, or
    /// `getDelayTimeSec` for a message given `TIMER_DELAY_SEC` otherwise).
    pub fn delay(&self) -> Option<Duration> {
        let read = |key| self.properties.get(key).and_then(|v| v.parse::<u64>().ok());
        read(PROPERTY_TIMER_DELAY_SEC)
            .map(Duration::from_secs)
            .or_else(|| read(PROPERTY_TIMER_DELAY_MS).map(Duration::from_millis))
    }

    /// One timer property, the other two removed, so the last builder call decides (the
    /// broker would take `TIMER_DELAY_SEC` over `TIMER_DELAY_MS` over `TIMER_DELIVER_MS`).
    fn set_timer_property(&mut self, key: &str, value: i64) {
        for timer_key in [
            PROPERTY_TIMER_DELIVER_MS,
            PROPERTY_TIMER_DELAY_SEC,
            PROPERTY_TIMER_DELAY_MS,
        ] {
            self.properties.remove(timer_key);
        }
        self.properties.insert(key, value.to_string());
    }

    /// Builder: adds an application property; see [`Message::put_user_property`].
    pub fn with_property(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ClientError> {
        self.put_user_property(name, value)?;
        Ok(self)
    }

    /// Sets the topic.
    pub fn set_topic(&mut self, topic: impl Into<String>) {
        self.topic = topic.into();
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
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
    pub fn set_keys(&mut self, keys: impl IntoKeys) {
        let joined = keys
            .into_keys()
            .into_iter()
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

    /// Adds an application property (`putUserProperty`). Names the broker and clients use
    /// themselves (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) and blank names or values are refused.
    pub fn put_user_property(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<&mut Self, ClientError> {
        let (name, value) = (name.into(), value.into());
        let refuse = |reason: &str| ClientError::InvalidProperty {
            name: name.clone(),
            reason: reason.to_string(),
        };
        if is_reserved_key(&name) {
            return Err(refuse("the name is reserved for RocketMQ's own use"));
        }
        if name.trim().is_empty() {
            return Err(refuse("the name is blank"));
        }
        if value.trim().is_empty() {
            return Err(refuse("the value is blank"));
        }
        self.properties.insert(name, value);
        Ok(self)
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

    /// Removes any property, system keys included.
    pub(crate) fn remove_system_property(&mut self, name: &str) {
        self.properties.remove(name);
    }

    /// Sets any property, system keys included (a consumer sending a message back to its
    /// retry topic; tests of the send path).
    pub(crate) fn put_system_property(&mut self, name: &str, value: impl AsRef<str>) {
        self.properties.insert(name, value);
    }
}

/// What [`Message::with_keys`] takes: one key as a string, or several as an array, a slice or
/// a `Vec` of strings.
pub trait IntoKeys {
    /// The keys.
    fn into_keys(self) -> Vec<String>;
}

impl IntoKeys for &str {
    fn into_keys(self) -> Vec<String> {
        vec![self.to_string()]
    }
}

impl IntoKeys for String {
    fn into_keys(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoKeys for &String {
    fn into_keys(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<K: AsRef<str>, const N: usize> IntoKeys for [K; N] {
    fn into_keys(self) -> Vec<String> {
        self.iter().map(|k| k.as_ref().to_string()).collect()
    }
}

impl<K: AsRef<str>> IntoKeys for &[K] {
    fn into_keys(self) -> Vec<String> {
        self.iter().map(|k| k.as_ref().to_string()).collect()
    }
}

impl<K: AsRef<str>> IntoKeys for Vec<K> {
    fn into_keys(self) -> Vec<String> {
        self.iter().map(|k| k.as_ref().to_string()).collect()
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
    fn timer_properties_as_java_5_sets_them_the_last_call_deciding() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let m = Message::new("T", "x").with_deliver_time(at);
        assert_eq!(m.property("TIMER_DELIVER_MS"), Some("1700000000123"));
        assert_eq!(m.deliver_time_ms(), Some(1_700_000_000_123));
        let m = m.with_delay(Duration::from_millis(1500));
        assert_eq!(m.property("TIMER_DELAY_MS"), Some("1500"));
        assert_eq!(m.property("TIMER_DELIVER_MS"), None);
        assert_eq!(m.delay(), Some(Duration::from_millis(1500)));
        let m = m.with_deliver_time(at);
        assert_eq!(m.property("TIMER_DELAY_MS"), None);
        assert_eq!(m.delay(), None);
        // Before the epoch reads as the epoch: due at once.
        let early = Message::new("T", "x").with_deliver_time(UNIX_EPOCH - Duration::from_secs(1));
        assert_eq!(early.deliver_time_ms(), Some(0));
        // As a Java 5.3.3 producer's setDelayTimeMs(3000) wrote it (vector 003).
        let sent =
            crate::client::shared::test_support::fixture("java-5.3.3/003-req-code310-json.bin");
        let java =
            crate::protocol::message::string_to_properties(sent.ext_fields.get("i").unwrap());
        let ours = Message::new("CapTimer5", "timer-0").with_delay(Duration::from_millis(3000));
        assert_eq!(java.get("TIMER_DELAY_MS"), ours.property("TIMER_DELAY_MS"));
        // Users cannot set them as their own properties.
        assert!(Message::new("T", "x")
            .with_property("TIMER_DELAY_MS", "1")
            .is_err());
    }

    #[test]
    fn keys_take_one_string_or_many_and_add_up() {
        assert_eq!(Message::new("T", "x").with_keys("k").keys(), Some("k"));
        assert_eq!(
            Message::new("T", "x").with_keys(String::from("k")).keys(),
            Some("k")
        );
        assert_eq!(
            Message::new("T", "x")
                .with_keys(vec!["a".to_string(), "b".to_string()])
                .keys(),
            Some("a b")
        );
        let slice: &[&str] = &["x", "y"];
        assert_eq!(Message::new("T", "x").with_keys(slice).keys(), Some("x y"));
        let m = Message::new("T", "x").with_key("a").with_key("b");
        assert_eq!(m.keys(), Some("a b"));
        assert_eq!(Message::new("T", "x").with_keys([""; 0]).keys(), None);
    }

    #[test]
    fn user_properties_refuse_system_keys_and_blanks_and_chain() {
        let mut m = Message::new("T", "x");
        m.put_user_property("seq", "1")
            .unwrap()
            .put_user_property("shard", "7")
            .unwrap();
        assert_eq!(m.property("seq"), Some("1"));
        assert_eq!(m.property("shard"), Some("7"));
        for (name, value, why) in [
            ("UNIQ_KEY", "x", "reserved"),
            (" ", "x", "name is blank"),
            ("a", "", "value is blank"),
        ] {
            match m.put_user_property(name, value) {
                Err(ClientError::InvalidProperty { name: n, reason }) => {
                    assert_eq!(n, name);
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("{name:?}: {other:?}"),
            }
        }
        assert!(Message::new("T", "x").with_property("TAGS", "a").is_err());
        m.set_tags("");
        assert_eq!(m.tags(), None);
    }

    #[test]
    fn clones_share_the_body() {
        let m = Message::new("T", vec![7u8; 1024]);
        let copy = m.clone();
        assert!(copy.body().shares_bytes_with(m.body()));
    }
}
