//! `MessageExt` and the broker's stored message format (`MessageDecoder.decode` / `encode`,
//! the commit log layout), which is also the body of a PULL_MESSAGE response.
//!
//! ```text
//! i32 totalSize | i32 magicCode | i32 bodyCRC | i32 queueId | i32 flag | i64 queueOffset
//! i64 physicalOffset | i32 sysFlag | i64 bornTimestamp | bornHost (4 or 16 bytes, i32 port)
//! i64 storeTimestamp | storeHost (4 or 16 bytes, i32 port) | i32 reconsumeTimes
//! i64 preparedTransactionOffset | i32 bodyLength | body
//! topicLength (i8 with magic V1, i16 with V2) | topic | i16 propertiesLength | properties
//! ```
//! Host addresses are 16 bytes when `sysFlag` has `BORNHOST_V6_FLAG` / `STOREHOSTADDRESS_V6_FLAG`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::compression::decompress_with;
use super::message_id::create_offset_message_id;
use super::properties::{
    message_const, properties_to_string, string_to_properties, MessageProperties,
};
use super::reader::ByteReader;
use super::sys_flag::{
    clear_compressed_flag, compression_type, BORNHOST_V6_FLAG, COMPRESSED_FLAG,
    STOREHOSTADDRESS_V6_FLAG,
};
use crate::protocol::command_body::Body;
use crate::protocol::error::BodyError;
use crate::protocol::util_all::crc32;

/// Magic code of the stored message format V1, 1-byte topic length (`MESSAGE_MAGIC_CODE`,
/// 0xDAA320A7).
pub const MESSAGE_MAGIC_CODE: i32 = -626_843_481;
/// Magic code of format V2, 2-byte topic length, used by 5.x for topics over 127 bytes
/// (`MESSAGE_MAGIC_CODE_V2`, 0xDAA320AB).
pub const MESSAGE_MAGIC_CODE_V2: i32 = -626_843_477;
/// Magic code of the blank filler at the end of a commit log file (`BLANK_MAGIC_CODE`).
pub const BLANK_MAGIC_CODE: i32 = -875_286_124;

/// The most bytes [`decode_messages`] inflates across one buffer when asked to decompress:
/// 32 messages (a pull's default batch) of 4 MiB (the default maximum message size).
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 128 * 1024 * 1024;

/// A message as the broker stores and delivers it; mirrors Java's `MessageExt` (with the
/// `Message` fields it inherits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// The topic.
    pub topic: String,
    /// The application's flag, opaque to RocketMQ.
    pub flag: i32,
    /// The body: plain, or compressed when `sys_flag` has `COMPRESSED_FLAG`. Decoded from a
    /// pull response, it shares the response's bytes (see [`decode_messages_skipping`]).
    pub body: Body,
    /// The properties (tags, keys, unique id, ...).
    pub properties: MessageProperties,
    /// The queue within the topic on the storing broker.
    pub queue_id: i32,
    /// The length of the stored record in bytes (`storeSize`).
    pub store_size: i32,
    /// The message's index in its queue.
    pub queue_offset: i64,
    /// The [`super::sys_flag`] bits.
    pub sys_flag: i32,
    /// When the producer made the message, ms since the Unix epoch.
    pub born_timestamp: i64,
    /// The producer's address as the broker saw it.
    pub born_host: SocketAddr,
    /// When the broker stored the message, ms since the Unix epoch.
    pub store_timestamp: i64,
    /// The storing broker's address.
    pub store_host: SocketAddr,
    /// The offset message id (store host and commit log offset), set by the decoder.
    pub msg_id: String,
    /// The record's position in the broker's commit log (`physicOffset`).
    pub commit_log_offset: i64,
    /// CRC-32 of the stored body, masked to 31 bits (`bodyCRC`).
    pub body_crc: i32,
    /// How often the message was redelivered.
    pub reconsume_times: i32,
    /// Commit log offset of the transaction's half message.
    pub prepared_transaction_offset: i64,
}

impl Default for MessageExt {
    fn default() -> Self {
        let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        MessageExt {
            topic: String::new(),
            flag: 0,
            body: Body::new(),
            properties: MessageProperties::new(),
            queue_id: 0,
            store_size: 0,
            queue_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            msg_id: String::new(),
            commit_log_offset: 0,
            body_crc: 0,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

impl MessageExt {
    /// The value of property `key`.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key)
    }

    /// The tag (`TAGS`).
    pub fn tags(&self) -> Option<&str> {
        self.property(message_const::PROPERTY_TAGS)
    }

    /// The keys as sent (`KEYS`): space-separated.
    pub fn keys(&self) -> Option<&str> {
        self.property(message_const::PROPERTY_KEYS)
    }

    /// The keys one by one.
    pub fn key_list(&self) -> impl Iterator<Item = &str> {
        self.keys()
            .unwrap_or("")
            .split(message_const::KEY_SEPARATOR)
            .filter(|k| !k.is_empty())
    }

    /// The producer's unique id (`UNIQ_KEY`).
    pub fn uniq_key(&self) -> Option<&str> {
        self.property(message_const::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }

    /// The id a client shows (`MessageClientExt.getMsgId`): the unique id, else the offset id.
    pub fn client_msg_id(&self) -> &str {
        self.uniq_key().unwrap_or(&self.msg_id)
    }

    /// The offset message id (`MessageClientExt.getOffsetMsgId`).
    pub fn offset_msg_id(&self) -> &str {
        &self.msg_id
    }
}

/// Decodes the stored messages laid back to back in `buf`, as a PULL_MESSAGE response body
/// holds them (`MessageDecoder.decodes`).
///
/// With `decompress_body`, compressed zlib bodies are inflated (at most
/// [`DEFAULT_MAX_DECOMPRESSED_SIZE`] bytes in all) and `COMPRESSED_FLAG` is cleared, as 5.x
/// does. Java stops silently at the first bad record; here any bad record is an error.
pub fn decode_messages(buf: &[u8], decompress_body: bool) -> Result<Vec<MessageExt>, BodyError> {
    decode_messages_with_limit(buf, decompress_body, DEFAULT_MAX_DECOMPRESSED_SIZE)
}

/// [`decode_messages`] with a caller's limit on the bytes inflated across the whole buffer.
pub fn decode_messages_with_limit(
    buf: &[u8],
    decompress_body: bool,
    max_decompressed: usize,
) -> Result<Vec<MessageExt>, BodyError> {
    let mut messages = Vec::new();
    let mut rest = buf;
    let mut budget = max_decompressed;
    while !rest.is_empty() {
        let (message, used, inflated) = decode_one(rest, None, decompress_body, budget)?;
        budget = budget.saturating_sub(inflated);
        rest = rest.get(used..).unwrap_or_default();
        messages.push(message);
    }
    Ok(messages)
}

/// A stored record a consumer passes over because it cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// Its queue offset, when the record is long enough to hold one.
    pub queue_offset: Option<i64>,
    /// Why it cannot be read.
    pub error: BodyError,
}

/// What [`decode_messages_skipping`] read: the messages, and the records it passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedRecords {
    /// Every record that decoded, in order.
    pub messages: Vec<MessageExt>,
    /// Every record that did not.
    pub skipped: Vec<SkippedRecord>,
}

/// Decodes the stored messages of a pull response body for a consumer: a record that cannot
/// be read (corrupt, truncated, compressed with an unknown or unavailable type) is passed
/// over, with its queue offset, and the records after it are still read, as long as its store
/// size can be trusted to find them. Bodies are decompressed (at most `max_decompressed`
/// bytes in all). A consumer must never wedge on one bad record: the broker will keep
/// answering the same pull until the consumer moves past it.
///
/// Each message's body is a [`slice`](Body::slice) of `frame`, not a copy: a consumer hands
/// its listener the bytes the connection read. Decompression is the one place a new buffer
/// is made.
pub fn decode_messages_skipping(frame: &Body, max_decompressed: usize) -> DecodedRecords {
    let buf = frame.as_slice();
    /// storeSize, magicCode, bodyCRC, queueId, flag precede the queue offset.
    const QUEUE_OFFSET_AT: usize = 20;
    let mut decoded = DecodedRecords::default();
    let mut rest = buf;
    let mut budget = max_decompressed;
    while !rest.is_empty() {
        let size = rest
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .and_then(|size| usize::try_from(size).ok())
            .filter(|size| (QUEUE_OFFSET_AT + 8..=rest.len()).contains(size));
        let Some(size) = size else {
            // No trustworthy length: nothing after this point can be found.
            decoded.skipped.push(SkippedRecord {
                queue_offset: None,
                error: BodyError::InvalidLength {
                    field: "storeSize",
                    length: rest.len() as i64,
                },
            });
            break;
        };
        let at = buf.len() - rest.len();
        match decode_one(&rest[..size], Some((frame, at)), true, budget) {
            Ok((message, _, inflated)) => {
                budget = budget.saturating_sub(inflated);
                decoded.messages.push(message);
            }
            Err(error) => {
                let at = &rest[QUEUE_OFFSET_AT..QUEUE_OFFSET_AT + 8];
                let mut offset = [0u8; 8];
                offset.copy_from_slice(at);
                decoded.skipped.push(SkippedRecord {
                    queue_offset: Some(i64::from_be_bytes(offset)),
                    error,
                });
            }
        }
        rest = &rest[size..];
    }
    decoded
}

/// Decodes the one stored message at the start of `buf` (`MessageDecoder.decode`), returning
/// it and the bytes it took (its store size).
pub fn decode_message(buf: &[u8], decompress_body: bool) -> Result<(MessageExt, usize), BodyError> {
    let (message, used, _) = decode_one(buf, None, decompress_body, DEFAULT_MAX_DECOMPRESSED_SIZE)?;
    Ok((message, used))
}

/// Decodes one record; also returns how many bytes decompression produced. With `frame`
/// (the body `buf` starts in, at that offset), the message's body shares the frame's bytes;
/// without, it is copied out of `buf`.
fn decode_one(
    buf: &[u8],
    frame: Option<(&Body, usize)>,
    decompress_body: bool,
    max_decompressed: usize,
) -> Result<(MessageExt, usize, usize), BodyError> {
    let (record, store_size) = record_at_start(buf)?;
    let mut r = ByteReader::new(record);
    let head = read_head(&mut r)?;
    let mut sys_flag = head.sys_flag;
    let body_len = ByteReader::length(i64::from(r.i32("bodyLength")?), "bodyLength")?;
    let body_at = r.position();
    let stored = r.bytes(body_len, "body")?;
    let mut inflated = 0;
    let body = if decompress_body && sys_flag & COMPRESSED_FLAG != 0 {
        let plain = decompress_with(compression_type(sys_flag)?, stored, max_decompressed)?;
        inflated = plain.len();
        sys_flag = clear_compressed_flag(sys_flag);
        Body::from(plain)
    } else {
        match frame {
            // `r.bytes` checked the range against `buf`, which lies within the frame.
            Some((frame, base)) => frame
                .slice(base + body_at..base + body_at + body_len)
                .ok_or(BodyError::Truncated {
                    field: "body",
                    needed: body_len,
                    available: frame.len().saturating_sub(base + body_at),
                })?,
            None => Body::from(stored),
        }
    };
    let topic = String::from_utf8_lossy(read_topic(&mut r, head.magic_code)?).into_owned();
    let properties = read_properties(&mut r, store_size)?;

    let message = MessageExt {
        topic,
        flag: head.flag,
        body,
        properties,
        queue_id: head.queue_id,
        store_size,
        queue_offset: head.queue_offset,
        sys_flag,
        born_timestamp: head.born_timestamp,
        born_host: head.born_host,
        store_timestamp: head.store_timestamp,
        msg_id: create_offset_message_id(head.store_host, head.commit_log_offset),
        store_host: head.store_host,
        commit_log_offset: head.commit_log_offset,
        body_crc: head.body_crc,
        reconsume_times: head.reconsume_times,
        prepared_transaction_offset: head.prepared_transaction_offset,
    };
    Ok((message, record.len(), inflated))
}

/// The properties of the one stored message at the start of `buf`, without copying its body
/// (Java's `MessageDecoder.decodeProperties`): what a broker's SQL92 filter reads.
pub fn decode_properties(buf: &[u8]) -> Result<MessageProperties, BodyError> {
    let (record, store_size) = record_at_start(buf)?;
    let mut r = ByteReader::new(record);
    let head = read_head(&mut r)?;
    let body_len = ByteReader::length(i64::from(r.i32("bodyLength")?), "bodyLength")?;
    r.bytes(body_len, "body")?;
    read_topic(&mut r, head.magic_code)?;
    read_properties(&mut r, store_size)
}

/// The record at the start of `buf`, cut to its `storeSize`.
fn record_at_start(buf: &[u8]) -> Result<(&[u8], i32), BodyError> {
    let store_size = ByteReader::new(buf).i32("storeSize")?;
    let size = ByteReader::length(i64::from(store_size), "storeSize")?;
    let record = buf.get(..size).ok_or(BodyError::Truncated {
        field: "message",
        needed: size,
        available: buf.len(),
    })?;
    Ok((record, store_size))
}

/// The fields of a stored record before its body.
struct RecordHead {
    magic_code: i32,
    body_crc: i32,
    queue_id: i32,
    flag: i32,
    queue_offset: i64,
    commit_log_offset: i64,
    sys_flag: i32,
    born_timestamp: i64,
    born_host: SocketAddr,
    store_timestamp: i64,
    store_host: SocketAddr,
    reconsume_times: i32,
    prepared_transaction_offset: i64,
}

fn read_head(r: &mut ByteReader<'_>) -> Result<RecordHead, BodyError> {
    r.i32("storeSize")?;
    let magic_code = r.i32("magicCode")?;
    if magic_code != MESSAGE_MAGIC_CODE && magic_code != MESSAGE_MAGIC_CODE_V2 {
        return Err(BodyError::UnknownMagicCode(magic_code));
    }
    let body_crc = r.i32("bodyCRC")?;
    let queue_id = r.i32("queueId")?;
    let flag = r.i32("flag")?;
    let queue_offset = r.i64("queueOffset")?;
    let commit_log_offset = r.i64("physicalOffset")?;
    let sys_flag = r.i32("sysFlag")?;
    let born_timestamp = r.i64("bornTimestamp")?;
    let born_host = read_host(r, sys_flag & BORNHOST_V6_FLAG != 0, "bornHost")?;
    let store_timestamp = r.i64("storeTimestamp")?;
    let store_host = read_host(r, sys_flag & STOREHOSTADDRESS_V6_FLAG != 0, "storeHost")?;
    Ok(RecordHead {
        magic_code,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times: r.i32("reconsumeTimes")?,
        prepared_transaction_offset: r.i64("preparedTransactionOffset")?,
    })
}

/// The topic after the body: a one-byte length (magic V1) or two-byte (V2).
fn read_topic<'a>(r: &mut ByteReader<'a>, magic_code: i32) -> Result<&'a [u8], BodyError> {
    let topic_len = if magic_code == MESSAGE_MAGIC_CODE {
        i64::from(r.i8("topicLength")?)
    } else {
        i64::from(r.i16("topicLength")?)
    };
    let topic_len = ByteReader::length(topic_len, "topicLength")?;
    r.bytes(topic_len, "topic")
}

/// The properties, the record's last field: nothing may follow them.
fn read_properties(
    r: &mut ByteReader<'_>,
    store_size: i32,
) -> Result<MessageProperties, BodyError> {
    let properties_len =
        ByteReader::length(i64::from(r.i16("propertiesLength")?), "propertiesLength")?;
    let properties = string_to_properties(&String::from_utf8_lossy(
        r.bytes(properties_len, "properties")?,
    ));
    if r.remaining() != 0 {
        return Err(BodyError::InvalidLength {
            field: "storeSize",
            length: i64::from(store_size),
        });
    }
    Ok(properties)
}

fn read_host(
    r: &mut ByteReader<'_>,
    v6: bool,
    field: &'static str,
) -> Result<SocketAddr, BodyError> {
    let ip = if v6 {
        IpAddr::V6(Ipv6Addr::from(r.array::<16>(field)?))
    } else {
        IpAddr::V4(Ipv4Addr::from(r.array::<4>(field)?))
    };
    let port = r.i32(field)?;
    let port = u16::try_from(port).map_err(|_| BodyError::InvalidValue {
        field,
        value: format!("port {port}"),
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// Encodes `message` in the stored format, as the broker's commit log holds it and a pull
/// response carries it (`MessageDecoder.encode` without compression).
///
/// Derived fields are computed rather than taken from `message`: the store size, the body CRC
/// (of the body as written), the host IPv6 bits of the system flag (from the address types)
/// and the magic code (V2 only for topics over 127 bytes, as 5.x). The body is written as it
/// is: compress it first if `sys_flag` says it is compressed.
pub fn encode_stored_message(message: &MessageExt) -> Result<Vec<u8>, BodyError> {
    let topic = message.topic.as_bytes();
    let (magic_code, topic_len_width) = if topic.len() <= i8::MAX as usize {
        (MESSAGE_MAGIC_CODE, 1)
    } else if topic.len() <= i16::MAX as usize {
        (MESSAGE_MAGIC_CODE_V2, 2)
    } else {
        return Err(BodyError::TooLong {
            field: "topic",
            length: topic.len(),
            max: i16::MAX as usize,
        });
    };
    let properties = properties_to_string(&message.properties);
    let properties_len = i16::try_from(properties.len()).map_err(|_| BodyError::TooLong {
        field: "properties",
        length: properties.len(),
        max: i16::MAX as usize,
    })?;
    let body_len = i32::try_from(message.body.len()).map_err(|_| BodyError::TooLong {
        field: "body",
        length: message.body.len(),
        max: i32::MAX as usize,
    })?;

    let mut sys_flag = message.sys_flag & !(BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG);
    if message.born_host.is_ipv6() {
        sys_flag |= BORNHOST_V6_FLAG;
    }
    if message.store_host.is_ipv6() {
        sys_flag |= STOREHOSTADDRESS_V6_FLAG;
    }
    let host_len = |addr: &SocketAddr| if addr.is_ipv6() { 20 } else { 8 };
    let store_size = 4
        + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(&message.born_host)
        + 8
        + host_len(&message.store_host)
        + 4
        + 8
        + 4
        + message.body.len()
        + topic_len_width
        + topic.len()
        + 2
        + properties.len();
    let store_size_i32 = i32::try_from(store_size).map_err(|_| BodyError::TooLong {
        field: "message",
        length: store_size,
        max: i32::MAX as usize,
    })?;

    let mut out = Vec::with_capacity(store_size);
    out.extend_from_slice(&store_size_i32.to_be_bytes());
    out.extend_from_slice(&magic_code.to_be_bytes());
    out.extend_from_slice(&crc32(&message.body).to_be_bytes());
    out.extend_from_slice(&message.queue_id.to_be_bytes());
    out.extend_from_slice(&message.flag.to_be_bytes());
    out.extend_from_slice(&message.queue_offset.to_be_bytes());
    out.extend_from_slice(&message.commit_log_offset.to_be_bytes());
    out.extend_from_slice(&sys_flag.to_be_bytes());
    out.extend_from_slice(&message.born_timestamp.to_be_bytes());
    write_host(&mut out, message.born_host);
    out.extend_from_slice(&message.store_timestamp.to_be_bytes());
    write_host(&mut out, message.store_host);
    out.extend_from_slice(&message.reconsume_times.to_be_bytes());
    out.extend_from_slice(&message.prepared_transaction_offset.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(&message.body);
    if topic_len_width == 1 {
        out.push(topic.len() as u8);
    } else {
        out.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    }
    out.extend_from_slice(topic);
    out.extend_from_slice(&properties_len.to_be_bytes());
    out.extend_from_slice(properties.as_bytes());
    Ok(out)
}

fn write_host(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr.ip() {
        IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
    }
    out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::compression::compress;
    use crate::protocol::message::sys_flag::COMPRESSION_ZLIB_TYPE;
    use crate::protocol::test_fixtures::fixture;

    /// The body of a PULL_MESSAGE response from a Java 4.9.8 broker: 5 messages of queue 3.
    fn pull_body() -> Vec<u8> {
        let cmd = fixture("java-4.9.8/083-resp-code0-json.bin");
        assert_eq!(cmd.ext_fields.get("nextBeginOffset"), Some("5"));
        cmd.body.into_vec()
    }

    #[test]
    fn decodes_a_java_pull_response() {
        let body = pull_body();
        let messages = decode_messages(&body, true).unwrap();
        assert_eq!(messages.len(), 5);
        let expected_bodies = ["2", "6", "1", "5", "9"];
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let store_host = SocketAddr::new(localhost, 10911);
        for (i, m) in messages.iter().enumerate() {
            println!(
                "{} q{} off{} {:?} tags={:?} keys={:?} uniq={:?} born={} stored={} id={}",
                m.topic,
                m.queue_id,
                m.queue_offset,
                String::from_utf8_lossy(&m.body),
                m.tags(),
                m.keys(),
                m.uniq_key(),
                m.born_host,
                m.store_host,
                m.msg_id
            );
            assert_eq!(m.topic, "TopicTest");
            assert_eq!(m.queue_id, 3);
            assert_eq!(m.queue_offset, i as i64);
            assert_eq!(m.store_size, 224);
            assert_eq!(m.sys_flag, 0);
            assert_eq!(m.flag, 0);
            assert_eq!(m.reconsume_times, 0);
            assert_eq!(m.prepared_transaction_offset, 0);
            let n = expected_bodies[i];
            assert_eq!(m.body, format!("Hello RocketMQ {n}").as_bytes());
            assert_eq!(m.body_crc, crc32(&m.body));
            assert_eq!(m.tags(), Some("TagA"));
            assert_eq!(m.keys(), Some(format!("KEY{n}").as_str()));
            assert_eq!(m.key_list().collect::<Vec<_>>(), [format!("KEY{n}")]);
            assert_eq!(
                m.property(message_const::PROPERTY_CLUSTER),
                Some("DefaultCluster")
            );
            let uniq = m.uniq_key().unwrap();
            assert_eq!(uniq.len(), 56);
            assert!(uniq.ends_with(&format!("000{n}")), "{uniq}");
            assert_eq!(m.client_msg_id(), uniq);
            assert_eq!(m.born_host.ip(), localhost);
            assert_eq!(m.store_host, store_host);
            assert_eq!(
                m.offset_msg_id(),
                create_offset_message_id(store_host, m.commit_log_offset)
            );
            assert!(m.store_timestamp >= m.born_timestamp);
        }
        let offsets: Vec<_> = messages.iter().map(|m| m.commit_log_offset).collect();
        assert_eq!(offsets, [0x1C0, 0x540, 0x9A0, 0xD20, 0x10A0]);
        assert_eq!(messages[0].msg_id, "7F00000100002A9F00000000000001C0");
        assert_eq!(messages[0].born_host.port(), 54394);
        assert_eq!(messages[4].born_host.port(), 49256);
    }

    #[test]
    fn re_encodes_the_java_records_byte_for_byte() {
        let body = pull_body();
        let mut rest = &body[..];
        let mut count = 0;
        while !rest.is_empty() {
            let (message, used) = decode_message(rest, false).unwrap();
            assert_eq!(encode_stored_message(&message).unwrap(), &rest[..used]);
            rest = &rest[used..];
            count += 1;
        }
        assert_eq!(count, 5);
    }

    fn sample() -> MessageExt {
        let mut properties = MessageProperties::new();
        properties.insert("TAGS", "T");
        properties.insert("KEYS", "a b");
        MessageExt {
            topic: "topic".into(),
            flag: 7,
            body: b"body bytes".into(),
            properties,
            queue_id: 1,
            queue_offset: 42,
            born_timestamp: 1000,
            born_host: "[fd00::1]:5000".parse().unwrap(),
            store_timestamp: 2000,
            store_host: "10.0.0.1:10911".parse().unwrap(),
            commit_log_offset: 4096,
            reconsume_times: 3,
            prepared_transaction_offset: 9,
            ..MessageExt::default()
        }
    }

    #[test]
    fn round_trips_ipv6_hosts_and_sets_derived_fields() {
        let original = sample();
        let bytes = encode_stored_message(&original).unwrap();
        let (back, used) = decode_message(&bytes, true).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(back.sys_flag, BORNHOST_V6_FLAG);
        assert_eq!(back.store_size as usize, bytes.len());
        assert_eq!(back.body_crc, crc32(b"body bytes"));
        assert_eq!(back.msg_id, "0A00000100002A9F0000000000001000");
        assert_eq!(back.key_list().collect::<Vec<_>>(), ["a", "b"]);
        let expected = MessageExt {
            sys_flag: BORNHOST_V6_FLAG,
            store_size: back.store_size,
            body_crc: back.body_crc,
            msg_id: back.msg_id.clone(),
            ..original
        };
        assert_eq!(back, expected);
    }

    #[test]
    fn properties_read_without_the_body() {
        for message in [
            sample(),
            MessageExt {
                topic: "t".repeat(200),
                ..sample()
            },
        ] {
            let bytes = encode_stored_message(&message).unwrap();
            assert_eq!(decode_properties(&bytes).unwrap(), message.properties);
            // A record cut short anywhere is an error, not a panic.
            for cut in [0, 4, 30, bytes.len() - 1] {
                assert!(decode_properties(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn long_topics_use_magic_v2() {
        let message = MessageExt {
            topic: "t".repeat(200),
            ..sample()
        };
        let bytes = encode_stored_message(&message).unwrap();
        assert_eq!(&bytes[4..8], &MESSAGE_MAGIC_CODE_V2.to_be_bytes());
        assert_eq!(
            decode_message(&bytes, false).unwrap().0.topic,
            message.topic
        );
        let too_long = MessageExt {
            topic: "t".repeat(40_000),
            ..sample()
        };
        assert!(matches!(
            encode_stored_message(&too_long),
            Err(BodyError::TooLong { field: "topic", .. })
        ));
    }

    #[test]
    fn decompresses_zlib_bodies_within_the_budget() {
        let plain = vec![b'x'; 100_000];
        let message = MessageExt {
            body: compress(&plain, 5).unwrap().into(),
            sys_flag: COMPRESSED_FLAG | COMPRESSION_ZLIB_TYPE,
            ..sample()
        };
        let bytes = encode_stored_message(&message).unwrap();
        let decoded = decode_messages(&bytes, true).unwrap();
        assert_eq!(decoded[0].body, plain);
        assert_eq!(decoded[0].sys_flag & COMPRESSED_FLAG, 0);
        // Not asked to decompress: the body and flag stay as stored.
        let raw = decode_messages(&bytes, false).unwrap();
        assert_eq!(raw[0].body, message.body);
        assert_ne!(raw[0].sys_flag & COMPRESSED_FLAG, 0);
        // Two copies need 200,000 bytes in all: a budget of 150,000 fails on the second.
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        assert!(decode_messages_with_limit(&two, true, 200_000).is_ok());
        assert_eq!(
            decode_messages_with_limit(&two, true, 150_000),
            Err(BodyError::DecompressedTooLarge { limit: 50_000 })
        );
        // A zlib stream flagged LZ4 is not an LZ4 frame (or, without the feature, not read).
        let lz4 = MessageExt {
            sys_flag: COMPRESSED_FLAG | 0x100,
            ..message
        };
        let bytes = encode_stored_message(&lz4).unwrap();
        let error = decode_messages(&bytes, true).unwrap_err();
        if cfg!(feature = "lz4-zstd") {
            assert!(matches!(error, BodyError::Corrupt(_)), "{error:?}");
        } else {
            assert_eq!(error, BodyError::UnsupportedCompression(1));
        }
    }

    #[test]
    fn bad_records_are_errors() {
        let good = encode_stored_message(&sample()).unwrap();
        let mut bad_magic = good.clone();
        bad_magic[4] ^= 0xFF;
        assert!(matches!(
            decode_messages(&bad_magic, false),
            Err(BodyError::UnknownMagicCode(_))
        ));
        let mut negative_size = good.clone();
        negative_size[0] = 0x80;
        assert!(matches!(
            decode_messages(&negative_size, false),
            Err(BodyError::InvalidLength { .. })
        ));
        // A store size that leaves bytes unread.
        let mut padded = good.clone();
        padded.push(0);
        let size = (padded.len() as i32).to_be_bytes();
        padded[..4].copy_from_slice(&size);
        assert!(matches!(
            decode_messages(&padded, false),
            Err(BodyError::InvalidLength {
                field: "storeSize",
                ..
            })
        ));
        // A second record cut short.
        let mut two = good.clone();
        two.extend_from_slice(&good[..good.len() - 1]);
        assert!(matches!(
            decode_messages(&two, false),
            Err(BodyError::Truncated {
                field: "message",
                ..
            })
        ));
        // A port outside 0..=65535.
        let mut bad_port = good.clone();
        let born_port_at = 4 * 5 + 8 + 8 + 4 + 8 + 16;
        bad_port[born_port_at..born_port_at + 4].copy_from_slice(&70_000i32.to_be_bytes());
        assert!(matches!(
            decode_messages(&bad_port, false),
            Err(BodyError::InvalidValue { .. })
        ));
        assert_eq!(decode_messages(&[], false), Ok(Vec::new()));
    }

    #[test]
    fn truncated_and_mutated_records_never_panic() {
        let mut inputs = vec![pull_body(), encode_stored_message(&sample()).unwrap()];
        let compressed = MessageExt {
            body: compress(&[b'z'; 5000], 5).unwrap().into(),
            sys_flag: COMPRESSED_FLAG,
            ..sample()
        };
        inputs.push(encode_stored_message(&compressed).unwrap());
        for input in &inputs {
            for cut in 0..input.len() {
                let _ = decode_messages(&input[..cut], true);
            }
            // Deterministic pseudo-random single- and multi-byte mutations.
            let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
            for _ in 0..4000 {
                let mut mutated = input.clone();
                for _ in 0..(seed % 3 + 1) {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let at = (seed >> 33) as usize % mutated.len();
                    mutated[at] = (seed >> 17) as u8;
                }
                let _ = decode_messages_with_limit(&mutated, true, 1 << 20);
                let _ = decode_messages_skipping(&Body::from(mutated.clone()), 1 << 20);
            }
        }
    }

    #[test]
    fn a_bad_record_is_passed_over_and_the_next_still_read() {
        let first = MessageExt {
            queue_offset: 7,
            ..sample()
        };
        // Compressed with type 7 (unknown), at offset 8.
        let unreadable = MessageExt {
            queue_offset: 8,
            body: b"not really compressed".into(),
            sys_flag: COMPRESSED_FLAG | (0x7 << 8),
            ..sample()
        };
        let last = MessageExt {
            queue_offset: 9,
            ..sample()
        };
        let mut buf = Vec::new();
        for m in [&first, &unreadable, &last] {
            buf.extend_from_slice(&encode_stored_message(m).unwrap());
        }
        let decoded = decode_messages_skipping(&Body::from(buf.clone()), 1 << 20);
        let offsets: Vec<i64> = decoded.messages.iter().map(|m| m.queue_offset).collect();
        assert_eq!(offsets, [7, 9]);
        assert_eq!(decoded.skipped.len(), 1);
        assert_eq!(decoded.skipped[0].queue_offset, Some(8));
        // A record whose size cannot be trusted ends the buffer: nothing after it is findable.
        let mut cut = buf.clone();
        cut.truncate(buf.len() - 10);
        let decoded = decode_messages_skipping(&Body::from(cut.clone()), 1 << 20);
        assert_eq!(decoded.messages.len(), 1);
        assert_eq!(decoded.skipped.len(), 2);
        assert_eq!(decoded.skipped[1].queue_offset, None);
    }
}
