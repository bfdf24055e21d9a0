//! `TraceView`: one trace record of one message, as a query finds it; mirrors Java's
//! `TraceView` (what `mqadmin queryMsgTraceById` prints), with every field of the record.

use super::trace_context::TraceType;
use super::trace_data_encoder::decoder_from_trace_data_string;
use crate::client::producer::{LocalTransactionState, MessageType};
use crate::protocol::message::MessageExt;

/// One trace record of a message: who sent or consumed it, when, how long it took, how it
/// went. Fields a record type does not have are empty, zero or None.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceView {
    /// `Pub`, `SubBefore`, `SubAfter`, `EndTransaction` or `Recall`.
    pub trace_type: TraceType,
    /// When, ms since the epoch (a send's start; 0 in a `SubAfter` of Aliyun's format).
    pub time_stamp: i64,
    /// The broker's region (`MSG_REGION`).
    pub region_id: String,
    /// The producer or consumer group, without a namespace.
    pub group_name: String,
    /// The message's id (`UNIQ_KEY`).
    pub msg_id: String,
    /// The broker's offset message id (`Pub`).
    pub offset_msg_id: String,
    /// The message's topic, without a namespace.
    pub topic: String,
    /// The message's tag, if it had one.
    pub tags: Option<String>,
    /// The message's keys, if it had some.
    pub keys: Option<String>,
    /// The broker address a send went to.
    pub store_host: String,
    /// The IP of the client that wrote the record (its trace message's born host).
    pub client_host: String,
    /// ms: a send's time to the broker's answer; a listener's time per message.
    pub cost_time: i32,
    /// The send was stored with SEND_OK, the listener consumed.
    pub success: bool,
    /// The listener call's id, shared by its `SubBefore` and `SubAfter`.
    pub request_id: String,
    /// How many times the message had been redelivered (`SubBefore`).
    pub retry_times: i32,
    /// The body's length (`Pub`).
    pub body_length: i32,
    /// The kind of message (`Pub`, `EndTransaction`).
    pub msg_type: Option<MessageType>,
    /// How the listener call ended (`SubAfter`): a `ConsumeReturnType` ordinal.
    pub context_code: i32,
    /// The transaction id (`EndTransaction`).
    pub transaction_id: Option<String>,
    /// How the transaction ended (`EndTransaction`).
    pub transaction_state: Option<LocalTransactionState>,
    /// The end answered the broker's check (`EndTransaction`).
    pub from_transaction_check: bool,
}

impl TraceView {
    /// `success` or `failed`, as `mqadmin` prints it.
    pub fn status(&self) -> &'static str {
        if self.success {
            "success"
        } else {
            "failed"
        }
    }
}

/// What [`MqAdmin::query_trace`](crate::client::MqAdmin::query_trace) found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceQueryResult {
    /// The message's records, by time.
    pub records: Vec<TraceView>,
    /// Records in the trace messages found that are not in Java's format (written by
    /// another kind of client, or damaged): skipped.
    pub skipped: usize,
}

/// `decodeFromTraceTransData`: the records of trace message `message` about message `key`,
/// and how many of its records were not Java's.
pub(crate) fn decode_from_trace_trans_data(
    key: &str,
    message: &MessageExt,
) -> (Vec<TraceView>, usize) {
    let body = String::from_utf8_lossy(&message.body);
    let decoded = decoder_from_trace_data_string(&body);
    let client_host = message.born_host.ip().to_string();
    let views = decoded
        .contexts
        .into_iter()
        .flat_map(|context| {
            let client_host = client_host.clone();
            context
                .trace_beans
                .clone()
                .into_iter()
                .map(move |bean| TraceView {
                    trace_type: context.trace_type,
                    time_stamp: context.time_stamp,
                    region_id: context.region_id.clone(),
                    group_name: context.group_name.clone(),
                    msg_id: bean.msg_id,
                    offset_msg_id: bean.offset_msg_id,
                    topic: bean.topic,
                    tags: bean.tags,
                    keys: bean.keys,
                    store_host: bean.store_host,
                    client_host: client_host.clone(),
                    cost_time: context.cost_time,
                    success: context.is_success,
                    request_id: context.request_id.clone(),
                    retry_times: bean.retry_times,
                    body_length: bean.body_length,
                    msg_type: bean.msg_type,
                    context_code: context.context_code,
                    transaction_id: bean.transaction_id,
                    transaction_state: bean.transaction_state,
                    from_transaction_check: bean.from_transaction_check,
                })
        })
        .filter(|view| view.msg_id == key)
        .collect();
    (views, decoded.skipped)
}
