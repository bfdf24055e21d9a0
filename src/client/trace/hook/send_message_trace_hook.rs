//! `SendMessageTraceHookImpl`: a `Pub` record for each send the broker answered.

use std::sync::Arc;

use crate::client::producer::{SendMessageContext, SendMessageHook};
use crate::client::shared::namespace::Namespace;
use crate::client::shared::result::SendStatus;
use crate::client::trace::trace_context::{TraceBean, TraceContext, TraceType};
use crate::client::trace::trace_dispatcher::TraceDispatcher;
use crate::common::clock::now_millis;

/// See the module docs.
pub(crate) struct SendMessageTraceHookImpl {
    dispatcher: Arc<dyn TraceDispatcher>,
    namespace: Namespace,
}

impl SendMessageTraceHookImpl {
    pub(crate) fn new(dispatcher: Arc<dyn TraceDispatcher>, namespace: Namespace) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::producer::MessageType;
    use crate::client::shared::result::{CommunicationMode, SendResult};
    use crate::client::trace::trace_dispatcher::tests::Collected;
    use crate::protocol::message::{MessageProperties, MessageQueue};

    fn context(topic: &str) -> SendMessageContext {
        let mut properties = MessageProperties::new();
        properties.insert("TAGS", "TagA");
        properties.insert("KEYS", "k1 k2");
        SendMessageContext {
            producer_group: "ns%PG".into(),
            topic: topic.into(),
            properties,
            msg_id: "UNIQ".into(),
            body_len: 42,
            message_queue: MessageQueue::new(topic, "broker-a", 1),
            broker_addr: "10.0.0.1:10911".into(),
            born_host: "10.0.0.2".into(),
            communication_mode: CommunicationMode::Sync,
            msg_type: MessageType::Normal,
            send_result: Some(SendResult {
                send_status: SendStatus::SendOk,
                msg_id: "UNIQ".into(),
                offset_msg_id: "OFFSET".into(),
                message_queue: MessageQueue::new(topic, "broker-a", 1),
                queue_offset: 7,
                transaction_id: None,
                region_id: "R1".into(),
                recall_handle: None,
                trace_on: true,
            }),
            error: None,
            begin_timestamp: 1_000,
        }
    }

    #[test]
    fn a_pub_record_names_the_message_without_the_namespace() {
        let collected = Arc::new(Collected::default());
        let hook = SendMessageTraceHookImpl::new(collected.clone(), Namespace::new(Some("ns")));
        hook.send_message_before(&context("ns%Orders"));
        assert!(collected.take().is_empty(), "nothing before the answer");
        let record = hook.pub_record(&context("ns%Orders"), 1_012).unwrap();
        assert_eq!(record.trace_type, TraceType::Pub);
        assert_eq!((record.time_stamp, record.cost_time), (1_000, 12));
        assert_eq!(record.group_name, "PG");
        assert_eq!(record.region_id, "R1");
        assert!(record.is_success);
        let bean = &record.trace_beans[0];
        assert_eq!(bean.topic, "Orders");
        assert_eq!(
            (bean.msg_id.as_str(), bean.offset_msg_id.as_str()),
            ("UNIQ", "OFFSET")
        );
        assert_eq!(
            (bean.tags.as_deref(), bean.keys.as_deref()),
            (Some("TagA"), Some("k1 k2"))
        );
        assert_eq!(
            (bean.store_host.as_str(), bean.body_length),
            ("10.0.0.1:10911", 42)
        );
        hook.send_message_after(&context("ns%Orders"));
        assert_eq!(collected.take().len(), 1);
    }

    #[test]
    fn no_record_for_trace_messages_failed_sends_or_a_broker_with_trace_off() {
        let hook =
            SendMessageTraceHookImpl::new(Arc::new(Collected::default()), Namespace::default());
        assert!(hook
            .pub_record(&context("RMQ_SYS_TRACE_TOPIC"), 2)
            .is_none());
        let mut failed = context("T");
        failed.send_result = None;
        assert!(hook.pub_record(&failed, 2).is_none());
        let mut off = context("T");
        if let Some(result) = off.send_result.as_mut() {
            result.trace_on = false;
        }
        assert!(hook.pub_record(&off, 2).is_none());
        let mut flush_timeout = context("T");
        if let Some(result) = flush_timeout.send_result.as_mut() {
            result.send_status = SendStatus::FlushDiskTimeout;
        }
        assert!(!hook.pub_record(&flush_timeout, 2).unwrap().is_success);
    }
}
