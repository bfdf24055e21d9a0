//! What one trace record says: `TraceType`, `TraceContext` and `TraceBean`, as Java's classes
//! of those names hold it.

use std::fmt;

use crate::client::producer::{LocalTransactionState, MessageType};

/// The kind of a trace record; mirrors Java's `TraceType` (its names are the records' first
/// field). A query orders records of the same millisecond by the order declared here (a
/// `Pub` first, a `SubBefore` before its `SubAfter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceType {
    /// A message sent (`Pub`).
    Pub,
    /// A timer message recalled (`Recall`, 5.x).
    Recall,
    /// A message handed to a listener (`SubBefore`).
    SubBefore,
    /// A listener's answer (`SubAfter`).
    SubAfter,
    /// A transaction ended (`EndTransaction`).
    EndTransaction,
}

impl TraceType {
    /// Java's name, the record's first field.
    pub fn name(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::Recall => "Recall",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<TraceType> {
        Some(match name {
            "Pub" => TraceType::Pub,
            "Recall" => TraceType::Recall,
            "SubBefore" => TraceType::SubBefore,
            "SubAfter" => TraceType::SubAfter,
            "EndTransaction" => TraceType::EndTransaction,
            _ => return None,
        })
    }
}

impl fmt::Display for TraceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One message's part of a record (Java's `TraceBean`). Tags and keys are None where Java's
/// are null (its records then say `null`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TraceBean {
    pub(crate) topic: String,
    pub(crate) msg_id: String,
    pub(crate) offset_msg_id: String,
    pub(crate) tags: Option<String>,
    pub(crate) keys: Option<String>,
    pub(crate) store_host: String,
    pub(crate) retry_times: i32,
    pub(crate) body_length: i32,
    pub(crate) msg_type: Option<MessageType>,
    pub(crate) transaction_id: Option<String>,
    pub(crate) transaction_state: Option<LocalTransactionState>,
    pub(crate) from_transaction_check: bool,
}

/// One trace record before it is encoded, or after it is decoded (Java's `TraceContext`):
/// one bean, or for `SubBefore`/`SubAfter` one per message of the listener call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceContext {
    pub(crate) trace_type: TraceType,
    /// ms since the epoch.
    pub(crate) time_stamp: i64,
    pub(crate) region_id: String,
    pub(crate) group_name: String,
    /// ms (per message, for a listener call of several).
    pub(crate) cost_time: i32,
    pub(crate) is_success: bool,
    pub(crate) request_id: String,
    /// `ConsumeReturnType` ordinal (`SubAfter`).
    pub(crate) context_code: i32,
    pub(crate) trace_beans: Vec<TraceBean>,
}

impl TraceContext {
    /// A record of `trace_type` with Java's defaults (success, no cost).
    pub(crate) fn new(trace_type: TraceType, time_stamp: i64) -> Self {
        TraceContext {
            trace_type,
            time_stamp,
            region_id: String::new(),
            group_name: String::new(),
            cost_time: 0,
            is_success: true,
            request_id: String::new(),
            context_code: 0,
            trace_beans: Vec::new(),
        }
    }

    /// The traced message's topic: what the dispatcher batches records by.
    pub(crate) fn topic(&self) -> &str {
        self.trace_beans.first().map_or("", |b| b.topic.as_str())
    }
}
