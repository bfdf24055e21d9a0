//! The POP receipt handle (`extraInfo`, the `POP_CK` property) and the offset strings of a
//! POP_MESSAGE response; mirrors Java's `ExtraInfoUtil`, with the retry-topic names of
//! `KeyBuilder`.
//!
//! A handle is eight fields joined by one space:
//! `ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId msgQueueOffset`,
//! where `retry` says which topic the message was popped from ([`PopRetryFlag`]) and
//! `reviveQid` 999 marks an orderly pop. The response's info strings hold one entry per queue
//! popped, joined by `;`: `startOffsetInfo` `retry queueId startOffset`, `msgOffsetInfo`
//! `retry queueId o1,o2,…`, `orderCountInfo` `retry queueId count` (or `retry qo<queueId>%<offset>
//! count` per message). A client rebuilds each message's handle from them.

use std::collections::HashMap;
use std::fmt;

use crate::protocol::HeaderError;

/// The revive queue id that marks an orderly pop (`KeyBuilder.POP_ORDER_REVIVE_QUEUE`).
pub const POP_ORDER_REVIVE_QUEUE: i32 = 999;

use crate::protocol::mix_all::RETRY_GROUP_TOPIC_PREFIX;

/// The V1 name of the topic a group's un-acked pops of `topic` come back through:
/// `%RETRY%{group}_{topic}` (`KeyBuilder.buildPopRetryTopicV1`, what brokers write by default).
pub fn pop_retry_topic_v1(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{topic}")
}

/// The V2 name, `%RETRY%{group}+{topic}` (`KeyBuilder.buildPopRetryTopicV2`, written by
/// brokers with `enableRetryTopicV2`).
pub fn pop_retry_topic_v2(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}+{topic}")
}

/// Whether `topic` is a V2 pop retry topic (`KeyBuilder.isPopRetryTopicV2`).
pub fn is_pop_retry_topic_v2(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) && topic.contains('+')
}

/// The topic a pop retry topic of `group` stands for; any other topic is its own
/// (`KeyBuilder.parseNormalTopic(topic, cid)`).
pub fn parse_normal_topic<'a>(topic: &'a str, group: &str) -> &'a str {
    let Some(rest) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
        return topic;
    };
    rest.strip_prefix(group)
        .and_then(|r| r.strip_prefix('+').or_else(|| r.strip_prefix('_')))
        .unwrap_or(topic)
}

/// Which topic a popped message came from: the handle's fifth field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PopRetryFlag {
    /// `0`: the topic itself.
    Normal,
    /// `1`: its V1 retry topic, `%RETRY%{group}_{topic}`.
    RetryV1,
    /// `2`: its V2 retry topic, `%RETRY%{group}+{topic}`.
    RetryV2,
}

impl PopRetryFlag {
    /// The flag of a message popped from `topic` (Java's `ExtraInfoUtil.getRetry(topic)`).
    pub fn of_topic(topic: &str) -> PopRetryFlag {
        if is_pop_retry_topic_v2(topic) {
            PopRetryFlag::RetryV2
        } else if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            PopRetryFlag::RetryV1
        } else {
            PopRetryFlag::Normal
        }
    }

    /// The flag written: "0", "1" or "2".
    pub fn as_str(self) -> &'static str {
        match self {
            PopRetryFlag::Normal => "0",
            PopRetryFlag::RetryV1 => "1",
            PopRetryFlag::RetryV2 => "2",
        }
    }

    /// The flag of its text; None for anything else.
    pub fn parse(text: &str) -> Option<PopRetryFlag> {
        match text {
            "0" => Some(PopRetryFlag::Normal),
            "1" => Some(PopRetryFlag::RetryV1),
            "2" => Some(PopRetryFlag::RetryV2),
            _ => None,
        }
    }

    /// The topic the message really sits in, for `group` popping `topic`: what an ack must
    /// name (`ExtraInfoUtil.getRealTopic`).
    pub fn real_topic(self, topic: &str, group: &str) -> String {
        match self {
            PopRetryFlag::Normal => topic.to_string(),
            PopRetryFlag::RetryV1 => pop_retry_topic_v1(topic, group),
            PopRetryFlag::RetryV2 => pop_retry_topic_v2(topic, group),
        }
    }
}

/// A parsed receipt handle (`extraInfo`); [`fmt::Display`] writes it back as Java's
/// `ExtraInfoUtil.buildExtraInfo` does.
///
/// ```
/// use rocketmq_blocking::protocol::header::{ExtraInfo, PopRetryFlag};
///
/// let handle = ExtraInfo::parse("0 1796628002186 60000 2 1 broker-5 0 0")?;
/// assert_eq!(handle.retry, PopRetryFlag::RetryV1);
/// assert_eq!(handle.revive_time(), 1_796_628_062_186);
/// assert_eq!(handle.to_string(), "0 1796628002186 60000 2 1 broker-5 0 0");
/// # Ok::<(), rocketmq_blocking::protocol::HeaderError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtraInfo {
    /// The checkpoint's start offset (`ckQueueOffset`): the first offset of the pop.
    pub ck_queue_offset: i64,
    /// When the broker popped the message (ms).
    pub pop_time: i64,
    /// How long it stays invisible (ms).
    pub invisible_time: i64,
    /// The checkpoint's revive queue; [`POP_ORDER_REVIVE_QUEUE`] for an orderly pop.
    pub revive_qid: i32,
    /// Which topic it was popped from.
    pub retry: PopRetryFlag,
    /// The broker that popped it.
    pub broker_name: String,
    /// Its queue (absent from handles of old clients).
    pub queue_id: Option<i32>,
    /// Its queue offset (absent from handles of old clients).
    pub queue_offset: Option<i64>,
}

fn field<T: std::str::FromStr>(parts: &[&str], index: usize, text: &str) -> Result<T, HeaderError> {
    parts
        .get(index)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| invalid("extraInfo", text))
}

fn invalid(field: &'static str, text: &str) -> HeaderError {
    // The text is the peer's; a long one is cut so that the error stays small.
    let mut value: String = text.chars().take(200).collect();
    if value.len() < text.len() {
        value.push('…');
    }
    HeaderError::InvalidField { field, value }
}

impl ExtraInfo {
    /// Reads a handle: the first six fields must be there and parse (what a broker's ack
    /// needs, as Java's); the queue id and offset are read when present. Extra fields are
    /// ignored, as Java's `split` leaves them unread.
    pub fn parse(text: &str) -> Result<ExtraInfo, HeaderError> {
        let parts: Vec<&str> = text.split(' ').collect();
        if parts.len() < 6 {
            return Err(invalid("extraInfo", text));
        }
        let optional = |index: usize| -> Result<Option<i64>, HeaderError> {
            parts
                .get(index)
                .map(|p| p.parse::<i64>().map_err(|_| invalid("extraInfo", text)))
                .transpose()
        };
        Ok(ExtraInfo {
            ck_queue_offset: field(&parts, 0, text)?,
            pop_time: field(&parts, 1, text)?,
            invisible_time: field(&parts, 2, text)?,
            revive_qid: field(&parts, 3, text)?,
            retry: PopRetryFlag::parse(parts[4]).ok_or_else(|| invalid("extraInfo", text))?,
            broker_name: parts[5].to_string(),
            queue_id: optional(6)?
                .map(|q| i32::try_from(q).map_err(|_| invalid("extraInfo", text)))
                .transpose()?,
            queue_offset: optional(7)?,
        })
    }

    /// When the message becomes visible again unless acked: pop time plus invisible time.
    pub fn revive_time(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }

    /// Whether it was popped orderly (`ExtraInfoUtil.isOrder`).
    pub fn is_order(&self) -> bool {
        self.revive_qid == POP_ORDER_REVIVE_QUEUE
    }
}

impl fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.ck_queue_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry.as_str(),
            self.broker_name
        )?;
        if let Some(queue_id) = self.queue_id {
            write!(f, " {queue_id}")?;
            if let Some(offset) = self.queue_offset {
                write!(f, " {offset}")?;
            }
        }
        Ok(())
    }
}

/// Starts the entry of one queue in an info string (`;` between entries).
fn begin_entry(info: &mut String, topic: &str) {
    if !info.is_empty() {
        info.push(';');
    }
    info.push_str(PopRetryFlag::of_topic(topic).as_str());
    info.push(' ');
}

/// Appends `retry queueId startOffset` (`ExtraInfoUtil.buildStartOffsetInfo`).
pub fn append_start_offset_info(info: &mut String, topic: &str, queue_id: i32, start_offset: i64) {
    begin_entry(info, topic);
    info.push_str(&format!("{queue_id} {start_offset}"));
}

/// Appends `retry queueId o1,o2,…` (`ExtraInfoUtil.buildMsgOffsetInfo`).
pub fn append_msg_offset_info(info: &mut String, topic: &str, queue_id: i32, offsets: &[i64]) {
    begin_entry(info, topic);
    info.push_str(&queue_id.to_string());
    info.push(' ');
    let offsets: Vec<String> = offsets.iter().map(i64::to_string).collect();
    info.push_str(&offsets.join(","));
}

/// Appends `retry queueId count` (`ExtraInfoUtil.buildQueueIdOrderCountInfo`).
pub fn append_order_count_info(info: &mut String, topic: &str, queue_id: i32, count: i32) {
    begin_entry(info, topic);
    info.push_str(&format!("{queue_id} {count}"));
}

/// Appends `retry qo<queueId>%<offset> count`, one message's delivery count
/// (`ExtraInfoUtil.buildQueueOffsetOrderCountInfo`).
pub fn append_queue_offset_order_count_info(
    info: &mut String,
    topic: &str,
    queue_id: i32,
    queue_offset: i64,
    count: i32,
) {
    begin_entry(info, topic);
    info.push_str(&format!("qo{queue_id}%{queue_offset} {count}"));
}

/// The map key of a queue in parsed info strings: `retry@queueId`
/// (`ExtraInfoUtil.getStartOffsetInfoMapKey`).
pub fn start_offset_info_map_key(topic: &str, queue_id: i32) -> String {
    format!("{}@{queue_id}", PopRetryFlag::of_topic(topic).as_str())
}

/// The map key of one message in a parsed `orderCountInfo`: `retry@qo<queueId>%<offset>`
/// (`ExtraInfoUtil.getQueueOffsetMapKey`).
pub fn queue_offset_map_key(topic: &str, queue_id: i32, queue_offset: i64) -> String {
    format!(
        "{}@qo{queue_id}%{queue_offset}",
        PopRetryFlag::of_topic(topic).as_str()
    )
}

/// Splits an info string into `(key, value)` per entry, the key being `retry@queueId`; a
/// missing or empty string is an empty map, a malformed entry or a repeated key an error, as
/// Java's parsers.
fn parse_entries<'a, T>(
    info: Option<&'a str>,
    field: &'static str,
    mut value: impl FnMut(&'a str) -> Option<T>,
) -> Result<HashMap<String, T>, HeaderError> {
    let mut map = HashMap::new();
    let Some(info) = info.filter(|i| !i.is_empty()) else {
        return Ok(map);
    };
    for entry in info.split(';') {
        let parts: Vec<&str> = entry.split(' ').collect();
        let [retry, queue, raw] = parts[..] else {
            return Err(invalid(field, info));
        };
        let parsed = value(raw).ok_or_else(|| invalid(field, info))?;
        if map.insert(format!("{retry}@{queue}"), parsed).is_some() {
            return Err(invalid(field, info));
        }
    }
    Ok(map)
}

/// Reads a `startOffsetInfo` (`ExtraInfoUtil.parseStartOffsetInfo`).
pub fn parse_start_offset_info(info: Option<&str>) -> Result<HashMap<String, i64>, HeaderError> {
    parse_entries(info, "startOffsetInfo", |v| v.parse().ok())
}

/// Reads a `msgOffsetInfo` (`ExtraInfoUtil.parseMsgOffsetInfo`).
pub fn parse_msg_offset_info(info: Option<&str>) -> Result<HashMap<String, Vec<i64>>, HeaderError> {
    parse_entries(info, "msgOffsetInfo", |v| {
        v.split(',').map(|o| o.parse().ok()).collect()
    })
}

/// Reads an `orderCountInfo` (`ExtraInfoUtil.parseOrderCountInfo`); keys are
/// `retry@queueId` or `retry@qo<queueId>%<offset>`.
pub fn parse_order_count_info(info: Option<&str>) -> Result<HashMap<String, i32>, HeaderError> {
    parse_entries(info, "orderCountInfo", |v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::PopMessageResponseHeader;
    use crate::protocol::test_fixtures::fixture;

    #[test]
    fn retry_topic_names_follow_key_builder() {
        assert_eq!(pop_retry_topic_v1("T", "G"), "%RETRY%G_T");
        assert_eq!(pop_retry_topic_v2("T", "G"), "%RETRY%G+T");
        assert!(is_pop_retry_topic_v2("%RETRY%G+T"));
        assert!(!is_pop_retry_topic_v2("%RETRY%G_T"));
        assert!(!is_pop_retry_topic_v2("A+B"));
        assert_eq!(parse_normal_topic("%RETRY%G_T", "G"), "T");
        assert_eq!(parse_normal_topic("%RETRY%G+T", "G"), "T");
        assert_eq!(
            parse_normal_topic("%RETRY%my_group_my_topic", "my_group"),
            "my_topic"
        );
        assert_eq!(parse_normal_topic("T", "G"), "T");
        assert_eq!(PopRetryFlag::of_topic("T"), PopRetryFlag::Normal);
        assert_eq!(PopRetryFlag::of_topic("%RETRY%G_T"), PopRetryFlag::RetryV1);
        assert_eq!(PopRetryFlag::of_topic("%RETRY%G+T"), PopRetryFlag::RetryV2);
        assert_eq!(PopRetryFlag::RetryV1.real_topic("T", "G"), "%RETRY%G_T");
        assert_eq!(PopRetryFlag::Normal.real_topic("T", "G"), "T");
    }

    #[test]
    fn reads_and_writes_the_handles_java_sent() {
        // 078 acks a message of the normal topic, 100 one that came back through the V1
        // retry topic (and names that topic in its header).
        for (name, retry) in [
            (
                "java-5.3.3/078-req-code200051-json.bin",
                PopRetryFlag::Normal,
            ),
            (
                "java-5.3.3/100-req-code200051-json.bin",
                PopRetryFlag::RetryV1,
            ),
        ] {
            let cmd = fixture(name);
            let text = cmd.ext_fields.get("extraInfo").unwrap();
            let handle = ExtraInfo::parse(text).unwrap();
            assert_eq!(handle.retry, retry);
            assert_eq!(handle.broker_name, "broker-5");
            assert_eq!(handle.invisible_time, 60_000);
            assert!(!handle.is_order());
            assert_eq!(handle.to_string(), text);
            assert_eq!(
                retry.real_topic("CapPop5", "CapPopG5"),
                cmd.ext_fields.get("topic").unwrap()
            );
            assert_eq!(
                handle.queue_id.map(|q| q.to_string()).as_deref(),
                cmd.ext_fields.get("queueId")
            );
        }
        let seven = ExtraInfo::parse("5 100 30000 999 0 b 3").unwrap();
        assert_eq!((seven.queue_id, seven.queue_offset), (Some(3), None));
        assert!(seven.is_order());
        assert_eq!(seven.to_string(), "5 100 30000 999 0 b 3");
    }

    #[test]
    fn malformed_handles_are_errors_naming_the_field() {
        for bad in [
            "",
            "garbage",
            "0 1 2 3 0",
            "x 1 2 3 0 b 0 0",
            "0 1 2 3 7 b 0 0",
            "0 1 2 99999999999 0 b 0 0",
            "0  1 2 3 0 b 0 0",
            "0 1 2 3 0 b q 0",
            "0 1 2 3 0 b 0 9223372036854775808",
        ] {
            let err = ExtraInfo::parse(bad).unwrap_err();
            assert!(
                matches!(
                    &err,
                    HeaderError::InvalidField {
                        field: "extraInfo",
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
        let long = "y".repeat(10_000);
        let HeaderError::InvalidField { value, .. } = ExtraInfo::parse(&long).unwrap_err() else {
            panic!("not an invalid field");
        };
        assert!(value.len() < 300, "the error keeps a short prefix");
        assert_eq!(
            ExtraInfo::parse("1 2 9223372036854775807 3 0 b")
                .unwrap()
                .revive_time(),
            i64::MAX
        );
    }

    #[test]
    fn builds_the_info_strings_java_sent() {
        let h: PopMessageResponseHeader = fixture("java-5.3.3/076-resp-code0-json.bin")
            .decode_header()
            .unwrap();
        let (mut start, mut msgs) = (String::new(), String::new());
        for queue in 0..8 {
            let offsets: &[i64] = if queue == 5 || queue == 6 {
                &[0, 1]
            } else {
                &[0]
            };
            append_start_offset_info(&mut start, "CapPop5", queue, 0);
            append_msg_offset_info(&mut msgs, "CapPop5", queue, offsets);
        }
        assert_eq!(Some(start.as_str()), h.start_offset_info.as_deref());
        assert_eq!(Some(msgs.as_str()), h.msg_offset_info.as_deref());

        let parsed = parse_msg_offset_info(Some(&msgs)).unwrap();
        assert_eq!(parsed.len(), 8);
        assert_eq!(parsed[&start_offset_info_map_key("CapPop5", 6)], [0, 1]);
        let starts = parse_start_offset_info(Some(&start)).unwrap();
        assert_eq!(starts["0@7"], 0);

        let h: PopMessageResponseHeader = fixture("java-5.3.3/098-resp-code0-json.bin")
            .decode_header()
            .unwrap();
        let mut retry = String::new();
        append_start_offset_info(&mut retry, "%RETRY%CapPopG5_CapPop5", 0, 0);
        assert_eq!(Some(retry.as_str()), h.start_offset_info.as_deref());
        assert_eq!(
            parse_msg_offset_info(h.msg_offset_info.as_deref()).unwrap()
                [&start_offset_info_map_key("%RETRY%CapPopG5_CapPop5", 0)],
            [0]
        );
    }

    #[test]
    fn order_count_info_and_bad_info_strings() {
        let mut info = String::new();
        append_order_count_info(&mut info, "T", 1, 2);
        append_queue_offset_order_count_info(&mut info, "%RETRY%G_T", 0, 17, 3);
        assert_eq!(info, "0 1 2;1 qo0%17 3");
        let parsed = parse_order_count_info(Some(&info)).unwrap();
        assert_eq!(parsed["0@1"], 2);
        assert_eq!(parsed[&queue_offset_map_key("%RETRY%G_T", 0, 17)], 3);
        assert!(parse_order_count_info(None).unwrap().is_empty());
        assert!(parse_start_offset_info(Some("")).unwrap().is_empty());
        for bad in ["0 1", "0 1 2;0 1 3", "0 1 x", "0 1 2 3"] {
            assert!(parse_start_offset_info(Some(bad)).is_err(), "{bad}");
        }
        assert!(parse_msg_offset_info(Some("0 1 1,,2")).is_err());
    }
}
