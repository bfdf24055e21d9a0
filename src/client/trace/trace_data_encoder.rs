//! Trace records as text, both ways, in Java's field order and separators; mirrors Java's
//! `TraceDataEncoder` and `TraceTransferBean`.
//!
//! A record is its fields joined by `CONTENT_SPLITOR` (`\u{1}`) and ended by
//! `FIELD_SPLITOR` (`\u{2}`); a trace message's body is records one after another.
//!
//! ```text
//! Pub            type timeStamp regionId groupName topic msgId tags keys storeHost bodyLength
//!                costTime msgType(ordinal) offsetMsgId success
//! SubBefore      type timeStamp regionId groupName requestId msgId retryTimes keys
//! SubAfter       type requestId msgId costTime success keys contextCode timeStamp groupName
//! EndTransaction type timeStamp regionId groupName topic msgId tags keys storeHost
//!                msgType(ordinal) transactionId transactionState fromTransactionCheck
//! Recall         type timeStamp regionId groupName topic msgId success
//! ```

use super::trace_context::{TraceBean, TraceContext, TraceType};
use crate::client::producer::{LocalTransactionState, MessageType};
use crate::protocol::message::message_const::KEY_SEPARATOR;

/// Between the fields of a record (`TraceConstants.CONTENT_SPLITOR`).
pub(crate) const CONTENT_SPLITOR: char = '\u{1}';
/// After each record (`TraceConstants.FIELD_SPLITOR`).
pub(crate) const FIELD_SPLITOR: char = '\u{2}';
/// What Java writes for a tag or key list it does not have (its `null`).
const NULL: &str = "null";

/// One record encoded, with the keys its trace message must carry (Java's
/// `TraceTransferBean`): each message id and each of the message's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceTransferBean {
    pub(crate) trans_data: String,
    pub(crate) trans_key: Vec<String>,
}

/// The records of a trace body, and how many pieces of it were not Java's records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DecodedTraceData {
    pub(crate) contexts: Vec<TraceContext>,
    pub(crate) skipped: usize,
}

/// `encoderFromContextBean`.
pub(crate) fn encoder_from_context_bean(ctx: &TraceContext) -> TraceTransferBean {
    let mut record = Record(String::with_capacity(256));
    let context_type = ctx.trace_type.name();
    match ctx.trace_type {
        TraceType::Pub => {
            if let Some(bean) = ctx.trace_beans.first() {
                record
                    .message_head(ctx, bean)
                    .field(or_null(&bean.tags))
                    .field(or_null(&bean.keys))
                    .field(&bean.store_host)
                    .field(bean.body_length)
                    .field(ctx.cost_time)
                    .field(msg_type_ordinal(bean))
                    .field(&bean.offset_msg_id)
                    .last(ctx.is_success);
            }
        }
        TraceType::SubBefore => {
            for bean in &ctx.trace_beans {
                record
                    .field(context_type)
                    .field(ctx.time_stamp)
                    .field(&ctx.region_id)
                    .field(&ctx.group_name)
                    .field(&ctx.request_id)
                    .field(&bean.msg_id)
                    .field(bean.retry_times)
                    .last(or_null(&bean.keys));
            }
        }
        TraceType::SubAfter => {
            // Java's LOCAL access channel: the time and group close the record.
            for bean in &ctx.trace_beans {
                record
                    .field(context_type)
                    .field(&ctx.request_id)
                    .field(&bean.msg_id)
                    .field(ctx.cost_time)
                    .field(ctx.is_success)
                    .field(or_null(&bean.keys))
                    .field(ctx.context_code)
                    .field(ctx.time_stamp)
                    .last(&ctx.group_name);
            }
        }
        TraceType::EndTransaction => {
            if let Some(bean) = ctx.trace_beans.first() {
                record
                    .message_head(ctx, bean)
                    .field(or_null(&bean.tags))
                    .field(or_null(&bean.keys))
                    .field(&bean.store_host)
                    .field(msg_type_ordinal(bean))
                    .field(bean.transaction_id.as_deref().unwrap_or(NULL))
                    .field(
                        bean.transaction_state
                            .map_or(NULL, LocalTransactionState::java_name),
                    )
                    .last(bean.from_transaction_check);
            }
        }
        TraceType::Recall => {
            if let Some(bean) = ctx.trace_beans.first() {
                record.message_head(ctx, bean).last(ctx.is_success);
            }
        }
    }
    let mut trans_key: Vec<String> = Vec::new();
    for bean in &ctx.trace_beans {
        add_key(&mut trans_key, &bean.msg_id);
        if let Some(keys) = bean.keys.as_deref().filter(|k| !k.is_empty()) {
            for key in keys.split(KEY_SEPARATOR) {
                add_key(&mut trans_key, key);
            }
        }
    }
    TraceTransferBean {
        trans_data: record.0,
        trans_key,
    }
}

/// A set kept in first-seen order (Java's is a `HashSet`: order carries no meaning).
pub(crate) fn add_key(keys: &mut Vec<String>, key: &str) {
    if !key.is_empty() && !keys.iter().any(|k| k == key) {
        keys.push(key.to_string());
    }
}

fn or_null(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or(NULL)
}

fn msg_type_ordinal(bean: &TraceBean) -> i32 {
    bean.msg_type.unwrap_or(MessageType::Normal).ordinal()
}

/// A record being written.
struct Record(String);

impl Record {
    fn field(&mut self, value: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write as _;
        let _ = write!(self.0, "{value}{CONTENT_SPLITOR}");
        self
    }

    /// What `Pub`, `EndTransaction` and `Recall` records begin with: type, time, region,
    /// group, topic, message id.
    fn message_head(&mut self, ctx: &TraceContext, bean: &TraceBean) -> &mut Self {
        self.field(ctx.trace_type.name())
            .field(ctx.time_stamp)
            .field(&ctx.region_id)
            .field(&ctx.group_name)
            .field(&bean.topic)
            .field(&bean.msg_id)
    }

    fn last(&mut self, value: impl std::fmt::Display) {
        use std::fmt::Write as _;
        let _ = write!(self.0, "{value}{FIELD_SPLITOR}");
    }
}

/// `decoderFromTraceDataString`, record by record: a record that is not one of Java's (an
/// unknown type, too few fields, a number that is not one) is skipped and counted, and the
/// others are still read (Java gives up on the whole body at the first bad one).
pub(crate) fn decoder_from_trace_data_string(data: &str) -> DecodedTraceData {
    let mut decoded = DecodedTraceData::default();
    for piece in data.split(FIELD_SPLITOR).filter(|p| !p.is_empty()) {
        match decode_record(piece) {
            Some(context) => decoded.contexts.push(context),
            None => decoded.skipped += 1,
        }
    }
    decoded
}

fn decode_record(piece: &str) -> Option<TraceContext> {
    let mut line: Vec<&str> = piece.split(CONTENT_SPLITOR).collect();
    // Java's String.split drops trailing empty fields.
    while line.last().is_some_and(|f| f.is_empty()) {
        line.pop();
    }
    let trace_type = TraceType::from_name(line.first()?)?;
    let fields = match trace_type {
        TraceType::Pub | TraceType::EndTransaction => 13,
        TraceType::SubBefore => 8,
        TraceType::Recall => 7,
        TraceType::SubAfter => 6,
    };
    if line.len() < fields {
        return None;
    }
    // Every type but SubAfter starts with time, region and group; those naming a message
    // go on with topic and id, and Pub and EndTransaction with tags, keys and broker.
    let mut ctx = match trace_type {
        // CLOUD records have no time: 0, as Java leaves it unset.
        TraceType::SubAfter => TraceContext::new(trace_type, 0),
        _ => {
            let mut ctx = TraceContext::new(trace_type, line[1].parse().ok()?);
            ctx.region_id = line[2].to_string();
            ctx.group_name = line[3].to_string();
            ctx
        }
    };
    let mut bean = TraceBean::default();
    if matches!(
        trace_type,
        TraceType::Pub | TraceType::EndTransaction | TraceType::Recall
    ) {
        bean.topic = line[4].to_string();
        bean.msg_id = line[5].to_string();
    }
    if matches!(trace_type, TraceType::Pub | TraceType::EndTransaction) {
        bean.tags = not_null(line[6]);
        bean.keys = not_null(line[7]);
        bean.store_host = line[8].to_string();
    }
    match trace_type {
        TraceType::Pub => {
            bean.body_length = line[9].parse().ok()?;
            ctx.cost_time = line[10].parse().ok()?;
            bean.msg_type = Some(MessageType::from_ordinal(line[11].parse().ok()?)?);
            if line.len() == 13 {
                ctx.is_success = parse_boolean(line[12]);
            } else {
                bean.offset_msg_id = line[12].to_string();
                ctx.is_success = parse_boolean(line[13]);
            }
        }
        TraceType::SubBefore => {
            ctx.request_id = line[4].to_string();
            bean.msg_id = line[5].to_string();
            bean.retry_times = line[6].parse().ok()?;
            bean.keys = not_null(line[7]);
        }
        TraceType::SubAfter => {
            ctx.request_id = line[1].to_string();
            bean.msg_id = line[2].to_string();
            ctx.cost_time = line[3].parse().ok()?;
            ctx.is_success = parse_boolean(line[4]);
            bean.keys = not_null(line[5]);
            if let Some(code) = line.get(6) {
                ctx.context_code = code.parse().ok()?;
            }
            if line.len() >= 9 {
                ctx.time_stamp = line[7].parse().ok()?;
                ctx.group_name = line[8].to_string();
            }
        }
        TraceType::EndTransaction => {
            bean.msg_type = Some(MessageType::from_ordinal(line[9].parse().ok()?)?);
            bean.transaction_id = not_null(line[10]);
            bean.transaction_state = Some(LocalTransactionState::from_java_name(line[11])?);
            bean.from_transaction_check = parse_boolean(line[12]);
        }
        TraceType::Recall => ctx.is_success = parse_boolean(line[6]),
    }
    ctx.trace_beans = vec![bean];
    Some(ctx)
}

/// Java's `Boolean.parseBoolean`: true for `true` in any case, false for anything else.
fn parse_boolean(text: &str) -> bool {
    text.eq_ignore_ascii_case("true")
}

fn not_null(text: &str) -> Option<String> {
    (text != NULL).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::test_support::fixture;

    fn pub_context() -> TraceContext {
        let mut ctx = TraceContext::new(TraceType::Pub, 1_796_628_052_548);
        ctx.region_id = "DefaultRegion".into();
        ctx.group_name = "CapTracePG5".into();
        ctx.cost_time = 12;
        ctx.trace_beans.push(TraceBean {
            topic: "CapTrace5".into(),
            msg_id: "FD0000000000000000000000000000025C2C5FFD2B272079CA430000".into(),
            offset_msg_id: "7F00000100002ABD00000000007CA88D".into(),
            tags: Some("TagTr".into()),
            keys: Some("tk0".into()),
            store_host: "127.0.0.1:20941".into(),
            body_length: 7,
            msg_type: Some(MessageType::Normal),
            ..TraceBean::default()
        });
        ctx
    }

    #[test]
    fn a_pub_record_is_javas_byte_for_byte() {
        // The first record of the Java 5.3.3 trace send in tests/fixtures (frame 255).
        let encoded = encoder_from_context_bean(&pub_context());
        assert_eq!(
            encoded.trans_data,
            "Pub\u{1}1796628052548\u{1}DefaultRegion\u{1}CapTracePG5\u{1}CapTrace5\u{1}\
             FD0000000000000000000000000000025C2C5FFD2B272079CA430000\u{1}TagTr\u{1}tk0\u{1}\
             127.0.0.1:20941\u{1}7\u{1}12\u{1}0\u{1}7F00000100002ABD00000000007CA88D\u{1}true\u{2}"
        );
        assert_eq!(
            encoded.trans_key,
            [
                "FD0000000000000000000000000000025C2C5FFD2B272079CA430000",
                "tk0"
            ]
        );
        let decoded = decoder_from_trace_data_string(&encoded.trans_data);
        assert_eq!(decoded.skipped, 0);
        assert_eq!(decoded.contexts, [pub_context()]);
    }

    #[test]
    fn a_java_trace_body_round_trips_byte_for_byte() {
        let request = fixture("java-5.3.3-trace/255-req-code310-json.bin");
        let body = String::from_utf8(request.body.to_vec()).unwrap();
        let decoded = decoder_from_trace_data_string(&body);
        assert_eq!(decoded.skipped, 0);
        assert_eq!(decoded.contexts.len(), 2);
        assert_eq!(decoded.contexts[0], pub_context());
        let second = &decoded.contexts[1];
        assert_eq!(second.time_stamp, 1_796_628_052_565);
        assert_eq!(second.cost_time, 7);
        assert_eq!(second.trace_beans[0].keys.as_deref(), Some("tk1"));
        let mut again = String::new();
        let mut keys = Vec::new();
        for context in &decoded.contexts {
            let encoded = encoder_from_context_bean(context);
            again.push_str(&encoded.trans_data);
            for key in &encoded.trans_key {
                add_key(&mut keys, key);
            }
        }
        assert_eq!(again, body);
        // The trace message's KEYS: both msgIds and both keys (Java's set, joined by spaces).
        let mut java_keys: Vec<&str> = request
            .ext_fields
            .get("i")
            .and_then(|p| p.split('\u{2}').find_map(|kv| kv.strip_prefix("KEYS\u{1}")))
            .unwrap()
            .split(' ')
            .collect();
        let mut ours: Vec<&str> = keys.iter().map(String::as_str).collect();
        java_keys.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, java_keys);
    }

    #[test]
    fn every_type_round_trips_and_absent_tags_read_null_as_java_writes() {
        let mut before = TraceContext::new(TraceType::SubBefore, 5);
        before.region_id = "R".into();
        before.group_name = "G".into();
        before.request_id = "REQ".into();
        for (id, keys) in [("M1", Some("k1 k2")), ("M2", None)] {
            before.trace_beans.push(TraceBean {
                msg_id: id.into(),
                keys: keys.map(String::from),
                retry_times: 2,
                ..TraceBean::default()
            });
        }
        let encoded = encoder_from_context_bean(&before);
        assert_eq!(
            encoded.trans_data,
            "SubBefore\u{1}5\u{1}R\u{1}G\u{1}REQ\u{1}M1\u{1}2\u{1}k1 k2\u{2}\
             SubBefore\u{1}5\u{1}R\u{1}G\u{1}REQ\u{1}M2\u{1}2\u{1}null\u{2}"
        );
        assert_eq!(encoded.trans_key, ["M1", "k1", "k2", "M2"]);
        let decoded = decoder_from_trace_data_string(&encoded.trans_data);
        assert_eq!(decoded.contexts.len(), 2);
        assert_eq!(decoded.contexts[1].trace_beans[0].keys, None);

        let mut after = TraceContext::new(TraceType::SubAfter, 9);
        after.group_name = "G".into();
        after.request_id = "REQ".into();
        after.cost_time = 3;
        after.is_success = false;
        after.context_code = 4;
        after.trace_beans.push(TraceBean {
            msg_id: "M1".into(),
            keys: Some("k1".into()),
            ..TraceBean::default()
        });
        let encoded = encoder_from_context_bean(&after);
        assert_eq!(
            encoded.trans_data,
            "SubAfter\u{1}REQ\u{1}M1\u{1}3\u{1}false\u{1}k1\u{1}4\u{1}9\u{1}G\u{2}"
        );
        assert_eq!(
            decoder_from_trace_data_string(&encoded.trans_data).contexts,
            [after]
        );

        let mut end = TraceContext::new(TraceType::EndTransaction, 7);
        end.region_id = "DefaultRegion".into();
        end.group_name = "TxG".into();
        end.trace_beans.push(TraceBean {
            topic: "T".into(),
            msg_id: "M".into(),
            store_host: "10.0.0.1:10911".into(),
            msg_type: Some(MessageType::TransCommit),
            transaction_id: Some("M".into()),
            transaction_state: Some(LocalTransactionState::Unknown),
            from_transaction_check: true,
            ..TraceBean::default()
        });
        let encoded = encoder_from_context_bean(&end);
        assert_eq!(
            encoded.trans_data,
            "EndTransaction\u{1}7\u{1}DefaultRegion\u{1}TxG\u{1}T\u{1}M\u{1}null\u{1}null\u{1}\
             10.0.0.1:10911\u{1}2\u{1}M\u{1}UNKNOW\u{1}true\u{2}"
        );
        assert_eq!(
            decoder_from_trace_data_string(&encoded.trans_data).contexts,
            [end]
        );
    }

    #[test]
    fn records_of_other_formats_are_skipped_and_counted_not_fatal() {
        let good = encoder_from_context_bean(&pub_context()).trans_data;
        let body = format!(
            "{{\"traceId\":\"abc\"}}\u{2}Pub\u{1}x\u{1}too few\u{2}{good}\
             Unknown\u{1}1\u{2}Pub\u{1}1\u{1}R\u{1}G\u{1}T\u{1}M\u{1}t\u{1}k\u{1}h\u{1}7\u{1}1\
             \u{1}9\u{1}O\u{1}true\u{2}\u{2}"
        );
        let decoded = decoder_from_trace_data_string(&body);
        assert_eq!(decoded.contexts, [pub_context()]);
        // JSON, a short Pub, an unknown type, a Pub whose message type ordinal is 9.
        assert_eq!(decoded.skipped, 4);
        // Java's trailing-empty rule: a CLOUD SubAfter ends with a separator, no time.
        let cloud = decoder_from_trace_data_string(
            "SubAfter\u{1}R\u{1}M\u{1}1\u{1}true\u{1}k\u{1}0\u{1}\u{2}",
        );
        assert_eq!(cloud.skipped, 0);
        assert_eq!(cloud.contexts[0].time_stamp, 0);
    }
}
