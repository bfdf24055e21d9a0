//! Message properties: the key constants (Java's `MessageConst`) and the property string
//! (`MessageDecoder.messageProperties2String` / `string2messageProperties`).
//!
//! On the wire the properties travel as one string: `name \x01 value \x02 name \x01 value`.
//! Java 4.9.8 drops the last `\x02`; Java 5.x and the C++ client keep it. Both read the same.

/// Property keys and separators; mirrors Java's `MessageConst`.
pub mod message_const {
    /// Space-separated message keys (`PROPERTY_KEYS`).
    pub const PROPERTY_KEYS: &str = "KEYS";
    /// The message tag (`PROPERTY_TAGS`).
    pub const PROPERTY_TAGS: &str = "TAGS";
    /// "true" when the producer waits for the store to finish (`PROPERTY_WAIT_STORE_MSG_OK`).
    pub const PROPERTY_WAIT_STORE_MSG_OK: &str = "WAIT";
    /// Delay level of a scheduled message (`PROPERTY_DELAY_TIME_LEVEL`).
    pub const PROPERTY_DELAY_TIME_LEVEL: &str = "DELAY";
    /// Original topic of a retried message (`PROPERTY_RETRY_TOPIC`).
    pub const PROPERTY_RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// Real topic of a delayed or transactional message (`PROPERTY_REAL_TOPIC`).
    pub const PROPERTY_REAL_TOPIC: &str = "REAL_TOPIC";
    /// Real queue id of a delayed or transactional message (`PROPERTY_REAL_QUEUE_ID`).
    pub const PROPERTY_REAL_QUEUE_ID: &str = "REAL_QID";
    /// "true" on a transactional half message (`PROPERTY_TRANSACTION_PREPARED`).
    pub const PROPERTY_TRANSACTION_PREPARED: &str = "TRAN_MSG";
    /// Producer group of a transactional message (`PROPERTY_PRODUCER_GROUP`).
    pub const PROPERTY_PRODUCER_GROUP: &str = "PGROUP";
    /// Queue min offset, set by the client on pulled messages (`PROPERTY_MIN_OFFSET`).
    pub const PROPERTY_MIN_OFFSET: &str = "MIN_OFFSET";
    /// Queue max offset, set by the client on pulled messages (`PROPERTY_MAX_OFFSET`).
    pub const PROPERTY_MAX_OFFSET: &str = "MAX_OFFSET";
    /// Buyer id (`PROPERTY_BUYER_ID`).
    pub const PROPERTY_BUYER_ID: &str = "BUYER_ID";
    /// Offset message id of the message a retry came from (`PROPERTY_ORIGIN_MESSAGE_ID`).
    pub const PROPERTY_ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Transfer flag (`PROPERTY_TRANSFER_FLAG`).
    pub const PROPERTY_TRANSFER_FLAG: &str = "TRANSFER_FLAG";
    /// Correction flag (`PROPERTY_CORRECTION_FLAG`).
    pub const PROPERTY_CORRECTION_FLAG: &str = "CORRECTION_FLAG";
    /// MQ2 flag (`PROPERTY_MQ2_FLAG`).
    pub const PROPERTY_MQ2_FLAG: &str = "MQ2_FLAG";
    /// Reconsume count of a retried message (`PROPERTY_RECONSUME_TIME`).
    pub const PROPERTY_RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Region of the broker that stored the message (`PROPERTY_MSG_REGION`).
    pub const PROPERTY_MSG_REGION: &str = "MSG_REGION";
    /// "false" when message tracing is off (`PROPERTY_TRACE_SWITCH`).
    pub const PROPERTY_TRACE_SWITCH: &str = "TRACE_ON";
    /// The client-generated unique message id (`PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX`).
    pub const PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
    /// Extra unique-id information, 5.x (`PROPERTY_EXTEND_UNIQ_INFO`).
    pub const PROPERTY_EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
    /// Maximum reconsume count before the dead-letter queue (`PROPERTY_MAX_RECONSUME_TIMES`).
    pub const PROPERTY_MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// When consumption started, for timeout checks (`PROPERTY_CONSUME_START_TIMESTAMP`).
    pub const PROPERTY_CONSUME_START_TIMESTAMP: &str = "CONSUME_START_TIME";
    /// Number of messages in an inner batch, 5.x (`PROPERTY_INNER_NUM`).
    pub const PROPERTY_INNER_NUM: &str = "INNER_NUM";
    /// Base queue offset of an inner batch, 5.x (`PROPERTY_INNER_BASE`).
    pub const PROPERTY_INNER_BASE: &str = "INNER_BASE";
    /// Duplication info, 5.x (`DUP_INFO`).
    pub const DUP_INFO: &str = "DUP_INFO";
    /// Queue offset of a transactional half message (`PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET`).
    pub const PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// Transaction id, 5.x (`PROPERTY_TRANSACTION_ID`).
    pub const PROPERTY_TRANSACTION_ID: &str = "__transactionId__";
    /// How often the broker checked a transaction (`PROPERTY_TRANSACTION_CHECK_TIMES`).
    pub const PROPERTY_TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// Seconds before the first transaction check (`PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS`).
    pub const PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// Instance id (`PROPERTY_INSTANCE_ID`).
    pub const PROPERTY_INSTANCE_ID: &str = "INSTANCE_ID";
    /// Correlation id of a request-reply message (`PROPERTY_CORRELATION_ID`).
    pub const PROPERTY_CORRELATION_ID: &str = "CORRELATION_ID";
    /// Client id a reply goes to (`PROPERTY_MESSAGE_REPLY_TO_CLIENT`).
    pub const PROPERTY_MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    /// Time to live of a request message (`PROPERTY_MESSAGE_TTL`).
    pub const PROPERTY_MESSAGE_TTL: &str = "TTL";
    /// When a reply arrived (`PROPERTY_REPLY_MESSAGE_ARRIVE_TIME`).
    pub const PROPERTY_REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
    /// When a reply was pushed (`PROPERTY_PUSH_REPLY_TIME`).
    pub const PROPERTY_PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    /// Cluster of the broker that stored the message (`PROPERTY_CLUSTER`).
    pub const PROPERTY_CLUSTER: &str = "CLUSTER";
    /// Message type (`PROPERTY_MESSAGE_TYPE`).
    pub const PROPERTY_MESSAGE_TYPE: &str = "MSG_TYPE";
    /// The `MSG_TYPE` of a reply (`MixAll.REPLY_MESSAGE_FLAG`).
    pub const REPLY_MESSAGE_FLAG: &str = "reply";
    /// Pop checkpoint, 5.x (`PROPERTY_POP_CK`).
    pub const PROPERTY_POP_CK: &str = "POP_CK";
    /// Pop checkpoint offset, 5.x (`PROPERTY_POP_CK_OFFSET`).
    pub const PROPERTY_POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    /// First pop time, 5.x (`PROPERTY_FIRST_POP_TIME`).
    pub const PROPERTY_FIRST_POP_TIME: &str = "1ST_POP_TIME";
    /// Sharding key of an ordered message, 5.x (`PROPERTY_SHARDING_KEY`).
    pub const PROPERTY_SHARDING_KEY: &str = "__SHARDINGKEY";
    /// Forward queue id, 5.x (`PROPERTY_FORWARD_QUEUE_ID`).
    pub const PROPERTY_FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
    /// Redirect marker, 5.x (`PROPERTY_REDIRECT`).
    pub const PROPERTY_REDIRECT: &str = "REDIRECT";
    /// Multi-dispatch queues (`PROPERTY_INNER_MULTI_DISPATCH`).
    pub const PROPERTY_INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
    /// Multi-dispatch queue offsets (`PROPERTY_INNER_MULTI_QUEUE_OFFSET`).
    pub const PROPERTY_INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
    /// Trace context, 5.x (`PROPERTY_TRACE_CONTEXT`).
    pub const PROPERTY_TRACE_CONTEXT: &str = "TRACE_CONTEXT";
    /// Timer delay in seconds, 5.x (`PROPERTY_TIMER_DELAY_SEC`).
    pub const PROPERTY_TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// Timer delivery time in ms, 5.x (`PROPERTY_TIMER_DELIVER_MS`).
    pub const PROPERTY_TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// Timer delay in ms, 5.x (`PROPERTY_TIMER_DELAY_MS`).
    pub const PROPERTY_TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// When a timer message fires, as the broker rounded it to its precision, 5.x
    /// (`PROPERTY_TIMER_OUT_MS`).
    pub const PROPERTY_TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// When a timer message entered the timer store, 5.x (`PROPERTY_TIMER_ENQUEUE_MS`).
    pub const PROPERTY_TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    /// When a timer message left the timer store, 5.x (`PROPERTY_TIMER_DEQUEUE_MS`).
    pub const PROPERTY_TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    /// How many times a timer message went round the wheel, 5.x (`PROPERTY_TIMER_ROLL_TIMES`).
    pub const PROPERTY_TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    /// The delay level a timer message replaced, 5.x (`PROPERTY_TIMER_DELAY_LEVEL`).
    pub const PROPERTY_TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
    /// On a recall marker: `<topic>+<unique id>` of the timer message it cancels, 5.3
    /// (`PROPERTY_TIMER_DEL_UNIQKEY`).
    pub const PROPERTY_TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    /// Born host, 5.x (`PROPERTY_BORN_HOST`).
    pub const PROPERTY_BORN_HOST: &str = "__BORNHOST";
    /// Born timestamp, 5.x (`PROPERTY_BORN_TIMESTAMP`).
    pub const PROPERTY_BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    /// Body CRC appended by a 5.x broker (`PROPERTY_CRC32`).
    pub const PROPERTY_CRC32: &str = "__CRC32#";
    /// Original topic of a dead-letter message, 5.x (`PROPERTY_DLQ_ORIGIN_TOPIC`).
    pub const PROPERTY_DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    /// Original message id of a dead-letter message, 5.x (`PROPERTY_DLQ_ORIGIN_MESSAGE_ID`).
    pub const PROPERTY_DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
    /// Separator between keys in [`PROPERTY_KEYS`] (`KEY_SEPARATOR`).
    pub const KEY_SEPARATOR: &str = " ";
    /// Separator between a property's name and value (`NAME_VALUE_SEPARATOR`).
    pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
    /// Separator between properties (`PROPERTY_SEPARATOR`).
    pub const PROPERTY_SEPARATOR: char = '\u{2}';

    /// Keys the system reserves (`STRING_HASH_SET`, 5.3.3 contents): Java's
    /// `Message.putUserProperty` refuses them.
    pub const RESERVED_KEYS: &[&str] = &[
        PROPERTY_TRACE_SWITCH,
        PROPERTY_MSG_REGION,
        PROPERTY_KEYS,
        PROPERTY_TAGS,
        PROPERTY_WAIT_STORE_MSG_OK,
        PROPERTY_DELAY_TIME_LEVEL,
        PROPERTY_RETRY_TOPIC,
        PROPERTY_REAL_TOPIC,
        PROPERTY_REAL_QUEUE_ID,
        PROPERTY_TRANSACTION_PREPARED,
        PROPERTY_PRODUCER_GROUP,
        PROPERTY_MIN_OFFSET,
        PROPERTY_MAX_OFFSET,
        PROPERTY_BUYER_ID,
        PROPERTY_ORIGIN_MESSAGE_ID,
        PROPERTY_TRANSFER_FLAG,
        PROPERTY_CORRECTION_FLAG,
        PROPERTY_MQ2_FLAG,
        PROPERTY_RECONSUME_TIME,
        PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        PROPERTY_MAX_RECONSUME_TIMES,
        PROPERTY_CONSUME_START_TIMESTAMP,
        PROPERTY_POP_CK,
        PROPERTY_POP_CK_OFFSET,
        PROPERTY_FIRST_POP_TIME,
        PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET,
        DUP_INFO,
        PROPERTY_EXTEND_UNIQ_INFO,
        PROPERTY_INSTANCE_ID,
        PROPERTY_CORRELATION_ID,
        PROPERTY_MESSAGE_REPLY_TO_CLIENT,
        PROPERTY_MESSAGE_TTL,
        PROPERTY_REPLY_MESSAGE_ARRIVE_TIME,
        PROPERTY_PUSH_REPLY_TIME,
        PROPERTY_CLUSTER,
        PROPERTY_MESSAGE_TYPE,
        PROPERTY_INNER_MULTI_QUEUE_OFFSET,
        PROPERTY_TIMER_DELAY_MS,
        PROPERTY_TIMER_DELAY_SEC,
        PROPERTY_TIMER_DELIVER_MS,
        PROPERTY_TIMER_ENQUEUE_MS,
        PROPERTY_TIMER_DEQUEUE_MS,
        PROPERTY_TIMER_ROLL_TIMES,
        PROPERTY_TIMER_OUT_MS,
        PROPERTY_TIMER_DEL_UNIQKEY,
        PROPERTY_TIMER_DELAY_LEVEL,
        PROPERTY_BORN_HOST,
        PROPERTY_BORN_TIMESTAMP,
        PROPERTY_DLQ_ORIGIN_TOPIC,
        PROPERTY_DLQ_ORIGIN_MESSAGE_ID,
        PROPERTY_CRC32,
    ];

    /// True when `key` is reserved for the system (`STRING_HASH_SET.contains`).
    pub fn is_reserved_key(key: &str) -> bool {
        RESERVED_KEYS.contains(&key)
    }
}

use message_const::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};

/// A message's properties in insertion order: Java's `Map<String, String>` of a `Message`.
///
/// Order is kept so that a decoded message re-encodes byte for byte; setting an existing key
/// replaces its value in place, as a map would.
pub type MessageProperties = crate::protocol::string_map::StringMap;

/// The property string as Java 4.9.8 writes it (`messageProperties2String`):
/// `name \x01 value` pairs joined by `\x02`, no trailing separator, empty for no properties.
pub fn properties_to_string(properties: &MessageProperties) -> String {
    let len: usize = properties.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (i, (key, value)) in properties.iter().enumerate() {
        if i > 0 {
            out.push(PROPERTY_SEPARATOR);
        }
        out.push_str(key);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(value);
    }
    out
}

/// Parses a property string as Java does (`string2messageProperties`).
///
/// Pairs are split at `\x02` and each at its first `\x01`; a pair with an empty name or value,
/// or without `\x01`, is skipped, so a trailing `\x02` (Java 5.x, C++) is harmless. A later
/// duplicate key replaces the earlier value.
pub fn string_to_properties(text: &str) -> MessageProperties {
    text.split(PROPERTY_SEPARATOR)
        .filter_map(|pair| pair.split_once(NAME_VALUE_SEPARATOR))
        .filter(|(key, value)| !key.is_empty() && !value.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::message_const::*;
    use super::*;

    /// The property string of vector java-4.9.8/010 (a Java 4.9.8 SEND_MESSAGE_V2).
    const JAVA_PROPS: &str = "KEYS\u{1}KEY0\u{2}UNIQ_KEY\u{1}FD00000000000000000000000000000233755FFD2B276A9974430000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA";
    /// The property string of vector cpp-2.0/001 (C++ client, trailing separator).
    const CPP_PROPS: &str = "KEYS\u{1}key-0\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}0100007F0000555300009A0E0D700100\u{2}WAIT\u{1}true\u{2}seq\u{1}0\u{2}";

    #[test]
    fn reads_java_and_cpp_strings() {
        let java = string_to_properties(JAVA_PROPS);
        assert_eq!(java.len(), 4);
        assert_eq!(java.get(PROPERTY_KEYS), Some("KEY0"));
        assert_eq!(java.get(PROPERTY_TAGS), Some("TagA"));
        assert_eq!(java.get(PROPERTY_WAIT_STORE_MSG_OK), Some("true"));
        assert_eq!(
            java.get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
            Some("FD00000000000000000000000000000233755FFD2B276A9974430000")
        );

        let cpp = string_to_properties(CPP_PROPS);
        let keys: Vec<_> = cpp.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["KEYS", "TAGS", "UNIQ_KEY", "WAIT", "seq"]);
        assert_eq!(cpp.get("seq"), Some("0"));
    }

    #[test]
    fn writes_like_java_4_9_8() {
        // Same order in, same bytes out: no trailing separator.
        assert_eq!(
            properties_to_string(&string_to_properties(JAVA_PROPS)),
            JAVA_PROPS
        );
        let cpp = properties_to_string(&string_to_properties(CPP_PROPS));
        assert_eq!(format!("{cpp}\u{2}"), CPP_PROPS);
        assert_eq!(properties_to_string(&MessageProperties::new()), "");
    }

    #[test]
    fn skips_malformed_pairs_like_java() {
        let props = string_to_properties(
            "\u{1}v\u{2}k\u{1}\u{2}noseparator\u{2}\u{2}a\u{1}b\u{1}c\u{2}x\u{1}1\u{2}x\u{1}2",
        );
        let pairs: Vec<_> = props.iter().collect();
        // Empty name, empty value and no separator are skipped; the value keeps later \x01s;
        // a duplicate key keeps its first position and takes the last value.
        assert_eq!(pairs, [("a", "b\u{1}c"), ("x", "2")]);
        assert!(string_to_properties("").is_empty());
    }

    #[test]
    fn map_operations() {
        let mut props: MessageProperties = [("A", "1"), ("B", "2")].into_iter().collect();
        props.insert("A", "3");
        assert_eq!(props.iter().collect::<Vec<_>>(), [("A", "3"), ("B", "2")]);
        assert_eq!(props.remove("A").as_deref(), Some("3"));
        assert_eq!(props.remove("A"), None);
        assert!(is_reserved_key(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX));
        assert!(!is_reserved_key("seq"));
    }
}
