//! `ConsumeMessageTraceHookImpl`: a `SubBefore` record for each listener call's messages, a
//! `SubAfter` for its answer.
//!
//! As in Java, a message whose `TRACE_ON` property is `false` is left out, and a call whose
//! messages carry no `MSG_REGION` (a broker that does not store it) writes nothing: Java's
//! dispatcher drops records without a region.

use std::sync::Arc;

use crate::client::consumer::{ConsumeMessageContext, ConsumeMessageHook};
use crate::client::shared::namespace::Namespace;
use crate::client::trace::trace_context::{TraceBean, TraceContext, TraceType};
use crate::client::trace::trace_dispatcher::TraceDispatcher;
use crate::common::clock::now_millis;
use crate::protocol::message::message_const::{PROPERTY_MSG_REGION, PROPERTY_TRACE_SWITCH};

/// See the module docs.
pub(crate) struct ConsumeMessageTraceHookImpl {
    dispatcher: Arc<dyn TraceDispatcher>,
    namespace: Namespace,
}

impl ConsumeMessageTraceHookImpl {
    pub(crate) fn new(dispatcher: Arc<dyn TraceDispatcher>, namespace: Namespace) -> Self {
        ConsumeMessageTraceHookImpl {
            dispatcher,
            namespace,
        }
    }

    /// The traced messages of a call, and the region of the last one (Java's loop).
    fn beans<'c>(&self, context: &ConsumeMessageContext<'c>) -> (Vec<TraceBean>, Option<&'c str>) {
        let mut region = None;
        let mut beans = Vec::with_capacity(context.messages.len());
        for message in context.messages {
            if message.property(PROPERTY_TRACE_SWITCH) == Some("false") {
                continue;
            }
            region = message.property(PROPERTY_MSG_REGION);
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

    /// A record of `kind` about a call, written at `now`: its traced messages, the region,
    /// the group and the request id; None when nothing is traced.
    fn record(
        &self,
        kind: TraceType,
        context: &ConsumeMessageContext<'_>,
        now: i64,
    ) -> Option<TraceContext> {
        let (beans, region) = self.beans(context);
        if beans.is_empty() {
            return None;
        }
        let mut record = TraceContext::new(kind, now);
        record.region_id = region?.to_string();
        record.group_name = self.namespace.unwrap(context.consumer_group);
        record.request_id = context.request_id.to_string();
        record.trace_beans = beans;
        Some(record)
    }

    /// The `SubBefore` record of a call, written at `now`.
    pub(crate) fn before_record(
        &self,
        context: &ConsumeMessageContext<'_>,
        now: i64,
    ) -> Option<TraceContext> {
        self.record(TraceType::SubBefore, context, now)
    }

    /// The `SubAfter` record of a call, written at `now`: the cost per message.
    pub(crate) fn after_record(
        &self,
        context: &ConsumeMessageContext<'_>,
        now: i64,
    ) -> Option<TraceContext> {
        let mut record = self.record(TraceType::SubAfter, context, now)?;
        record.is_success = context.success;
        let per_message = now.saturating_sub(context.begin_timestamp).max(0)
            / context.messages.len().max(1) as i64;
        record.cost_time = i32::try_from(per_message).unwrap_or(i32::MAX);
        record.context_code = context.return_type.map_or(0, |t| t.ordinal());
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::client::consumer::ConsumeReturnType;
    use crate::client::trace::trace_dispatcher::tests::Collected;
    use crate::protocol::message::{MessageExt, MessageQueue};

    fn message(id: &str, region: Option<&str>, trace_on: Option<&str>) -> MessageExt {
        let mut m = MessageExt {
            topic: "Orders".into(),
            reconsume_times: 1,
            store_size: 300,
            ..MessageExt::default()
        };
        m.properties.insert("UNIQ_KEY", id);
        m.properties.insert("KEYS", format!("key-{id}"));
        if let Some(region) = region {
            m.properties.insert(PROPERTY_MSG_REGION, region);
        }
        if let Some(on) = trace_on {
            m.properties.insert(PROPERTY_TRACE_SWITCH, on);
        }
        m
    }

    fn context<'a>(
        queue: &'a MessageQueue,
        messages: &'a [MessageExt],
    ) -> ConsumeMessageContext<'a> {
        ConsumeMessageContext {
            consumer_group: "ns%CG",
            namespace: Some("ns"),
            message_queue: queue,
            messages,
            request_id: "REQ",
            begin_timestamp: 1_000,
            success: true,
            status: Some("CONSUME_SUCCESS"),
            return_type: Some(ConsumeReturnType::Failed),
            elapsed: Duration::from_millis(30),
        }
    }

    #[test]
    fn a_call_gives_sub_before_and_sub_after_sharing_its_request_id() {
        let collected = Arc::new(Collected::default());
        let hook = ConsumeMessageTraceHookImpl::new(collected.clone(), Namespace::new(Some("ns")));
        let queue = MessageQueue::new("Orders", "b", 0);
        let messages = [
            message("M1", Some("R"), None),
            message("M2", Some("R"), Some("false")),
            message("M3", Some("R"), Some("true")),
        ];
        let call = context(&queue, &messages);
        hook.consume_message_before(&call);
        let before = hook.before_record(&call, 1_001).unwrap();
        assert_eq!(before.trace_type, TraceType::SubBefore);
        assert_eq!(
            (before.group_name.as_str(), before.request_id.as_str()),
            ("CG", "REQ")
        );
        assert_eq!(before.region_id, "R");
        let ids: Vec<&str> = before
            .trace_beans
            .iter()
            .map(|b| b.msg_id.as_str())
            .collect();
        assert_eq!(ids, ["M1", "M3"], "TRACE_ON=false is left out");
        assert_eq!(before.trace_beans[0].retry_times, 1);
        assert_eq!(before.trace_beans[0].keys.as_deref(), Some("key-M1"));
        let after = hook.after_record(&call, 1_031).unwrap();
        assert_eq!(after.trace_type, TraceType::SubAfter);
        assert_eq!(after.request_id, "REQ");
        assert_eq!(after.cost_time, 10, "31 ms over the call's 3 messages");
        assert_eq!(after.context_code, 4);
        assert!(after.is_success);
        assert_eq!(after.time_stamp, 1_031);
        hook.consume_message_after(&call);
        assert_eq!(collected.take().len(), 2);
    }

    #[test]
    fn messages_stored_without_a_region_are_not_traced_as_in_java() {
        let collected = Arc::new(Collected::default());
        let hook = ConsumeMessageTraceHookImpl::new(collected.clone(), Namespace::default());
        let queue = MessageQueue::new("Orders", "b", 0);
        let messages = [message("M1", None, None)];
        let call = context(&queue, &messages);
        hook.consume_message_before(&call);
        hook.consume_message_after(&call);
        assert!(collected.take().is_empty());
        let off = [message("M1", Some("R"), Some("false"))];
        assert!(hook.before_record(&context(&queue, &off), 1).is_none());
    }
}
