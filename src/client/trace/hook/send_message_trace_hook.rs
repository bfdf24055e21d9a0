//! `SendMessageTraceHookImpl`: a `Pub` record for each send the broker answered.

use std::sync::Arc;

use crate::client::producer::{SendMessageContext, SendMessageHook};
use crate::client::shared::namespace::Namespace;
use crate::client::shared::result::SendStatus;
use crate::client::trace::async_trace_dispatcher::AsyncTraceDispatcher;
use crate::client::trace::trace_context::{TraceBean, TraceContext, TraceType};
use crate::common::clock::now_millis;

/// See the module docs.
pub(crate) struct SendMessageTraceHookImpl {
    dispatcher: Arc<AsyncTraceDispatcher>,
    namespace: Namespace,
}

impl SendMessageTraceHookImpl {
    pub(crate) fn new(dispatcher: Arc<AsyncTraceDispatcher>, namespace: Namespace) -> Self {
        SendMessageTraceHookImpl {
            dispatcher,
            namespace,
        }
    }

    /// The `Pub` record of a send that got an answer with tracing on; None otherwise (a
    /// trace message itself, a failed or oneway send, a broker saying `TRACE_ON=false`).
    pub(crate) fn pub_record(
        &self,
        context: &SendMessageContext,
        now: i64,
    ) -> Option<TraceContext> {
        if context.topic.starts_with(self.dispatcher.trace_topic()) {
            return None;
        }
        let result = context.send_result.as_ref()?;
        if !result.trace_on {
            return None;
        }
        let mut record = TraceContext::new(TraceType::Pub, context.begin_timestamp);
        record.group_name = self.namespace.unwrap(&context.producer_group);
        record.region_id = result.region_id.clone();
        record.cost_time =
            i32::try_from(now.saturating_sub(context.begin_timestamp).max(0)).unwrap_or(i32::MAX);
        record.is_success = result.send_status == SendStatus::SendOk;
        record.trace_beans.push(TraceBean {
            topic: self.namespace.unwrap(&context.topic),
            msg_id: result.msg_id.clone(),
            offset_msg_id: result.offset_msg_id.clone(),
            tags: context.tags().map(str::to_string),
            keys: context.keys().map(str::to_string),
            store_host: context.broker_addr.clone(),
            body_length: i32::try_from(context.body_len).unwrap_or(i32::MAX),
            msg_type: Some(context.msg_type),
            ..TraceBean::default()
        });
        Some(record)
    }
}

impl SendMessageHook for SendMessageTraceHookImpl {
    fn hook_name(&self) -> &str {
        "SendMessageTraceHook"
    }

    /// Nothing yet: the context carries when the attempt began.
    fn send_message_before(&self, _context: &SendMessageContext) {}

    fn send_message_after(&self, context: &SendMessageContext) {
        if let Some(record) = self.pub_record(context, now_millis()) {
            self.dispatcher.append(record);
        }
    }
}
