//! `ConsumeMessageTraceHookImpl`: a `SubBefore` record for each listener call's messages, a
//! `SubAfter` for its answer.
//!
//! As in Java, a message whose `TRACE_ON` property is `false` is left out, and a call whose
//! messages carry no `MSG_REGION` (a broker that does not store it) writes nothing: Java's
//! dispatcher drops records without a region.

use std::sync::Arc;

use crate::client::consumer::{ConsumeMessageContext, ConsumeMessageHook};
use crate::client::shared::namespace::Namespace;
use crate::client::trace::async_trace_dispatcher::AsyncTraceDispatcher;
use crate::client::trace::trace_context::{TraceBean, TraceContext, TraceType};
use crate::common::clock::now_millis;
use crate::protocol::message::message_const::{PROPERTY_MSG_REGION, PROPERTY_TRACE_SWITCH};

/// See the module docs.
pub(crate) struct ConsumeMessageTraceHookImpl {
    dispatcher: Arc<AsyncTraceDispatcher>,
    namespace: Namespace,
}

impl ConsumeMessageTraceHookImpl {
    pub(crate) fn new(dispatcher: Arc<AsyncTraceDispatcher>, namespace: Namespace) -> Self {
        ConsumeMessageTraceHookImpl {
            dispatcher,
            namespace,
        }
    }

    /// The traced messages of a call, and the region of the last one (Java's loop).
    fn beans(&self, context: &ConsumeMessageContext<'_>) -> (Vec<TraceBean>, Option<String>) {
        let mut region = None;
        let mut beans = Vec::with_capacity(context.messages.len());
        for message in context.messages {
            if message.property(PROPERTY_TRACE_SWITCH) == Some("false") {
                continue;
            }
            region = message.property(PROPERTY_MSG_REGION).map(str::to_string);
            beans.push(TraceBean {
                topic: self.namespace.unwrap(&message.topic),
                msg_id: message.client_msg_id().to_string(),
                tags: message.tags().map(str::to_string),
                keys: message.keys().map(str::to_string),
                body_length: message.store_size,
                retry_times: message.reconsume_times,
                ..TraceBean::default()
            });
        }
        (beans, region)
    }

    /// The `SubBefore` record of a call, written at `now`.
    pub(crate) fn before_record(
        &self,
        context: &ConsumeMessageContext<'_>,
        now: i64,
    ) -> Option<TraceContext> {
        let (beans, region) = self.beans(context);
        if beans.is_empty() {
            return None;
        }
        let mut record = TraceContext::new(TraceType::SubBefore, now);
        record.region_id = region?;
        record.group_name = self.namespace.unwrap(context.consumer_group);
        record.request_id = context.request_id.to_string();
        record.trace_beans = beans;
        Some(record)
    }

    /// The `SubAfter` record of a call, written at `now`: the cost per message.
    pub(crate) fn after_record(
        &self,
        context: &ConsumeMessageContext<'_>,
        now: i64,
    ) -> Option<TraceContext> {
        let (beans, region) = self.beans(context);
        if beans.is_empty() {
            return None;
        }
        let mut record = TraceContext::new(TraceType::SubAfter, now);
        record.region_id = region?;
        record.group_name = self.namespace.unwrap(context.consumer_group);
        record.request_id = context.request_id.to_string();
        record.is_success = context.success;
        let per_message = now.saturating_sub(context.begin_timestamp).max(0)
            / context.messages.len().max(1) as i64;
        record.cost_time = i32::try_from(per_message).unwrap_or(i32::MAX);
        record.context_code = context.return_type.map_or(0, |t| t.ordinal());
        record.trace_beans = beans;
        Some(record)
    }
}

impl ConsumeMessageHook for ConsumeMessageTraceHookImpl {
    fn hook_name(&self) -> &str {
        "ConsumeMessageTraceHook"
    }

    fn consume_message_before(&self, context: &ConsumeMessageContext<'_>) {
        if let Some(record) = self.before_record(context, now_millis()) {
            self.dispatcher.append(record);
        }
    }

    fn consume_message_after(&self, context: &ConsumeMessageContext<'_>) {
        if let Some(record) = self.after_record(context, now_millis()) {
            self.dispatcher.append(record);
        }
    }
}
