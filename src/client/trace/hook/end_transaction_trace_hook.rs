//! `EndTransactionTraceHookImpl`: an `EndTransaction` record for each transaction ended.

use std::sync::Arc;

use crate::client::producer::{EndTransactionContext, EndTransactionHook, MessageType};
use crate::client::shared::mq_client_api::DEFAULT_TRACE_REGION_ID;
use crate::client::shared::namespace::Namespace;
use crate::client::trace::trace_context::{TraceBean, TraceContext, TraceType};
use crate::client::trace::trace_dispatcher::TraceDispatcher;
use crate::common::clock::now_millis;
use crate::protocol::message::message_const::PROPERTY_MSG_REGION;

/// See the module docs.
pub(crate) struct EndTransactionTraceHookImpl {
    dispatcher: Arc<dyn TraceDispatcher>,
    namespace: Namespace,
}

impl EndTransactionTraceHookImpl {
    pub(crate) fn new(dispatcher: Arc<dyn TraceDispatcher>, namespace: Namespace) -> Self {
        EndTransactionTraceHookImpl {
            dispatcher,
            namespace,
        }
    }

    pub(crate) fn end_record(
        &self,
        context: &EndTransactionContext,
        now: i64,
    ) -> Option<TraceContext> {
        if context.topic.starts_with(self.dispatcher.trace_topic()) {
            return None;
        }
        let mut record = TraceContext::new(TraceType::EndTransaction, now);
        record.group_name = self.namespace.unwrap(&context.producer_group);
        record.region_id = context
            .properties
            .get(PROPERTY_MSG_REGION)
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_TRACE_REGION_ID)
            .to_string();
        record.trace_beans.push(TraceBean {
            topic: self.namespace.unwrap(&context.topic),
            msg_id: context.msg_id.clone(),
            tags: context.tags().map(str::to_string),
            keys: context.keys().map(str::to_string),
            store_host: context.broker_addr.clone(),
            msg_type: Some(MessageType::TransCommit),
            transaction_id: Some(context.transaction_id.clone()),
            transaction_state: Some(context.transaction_state),
            from_transaction_check: context.from_transaction_check,
            ..TraceBean::default()
        });
        Some(record)
    }
}

impl EndTransactionHook for EndTransactionTraceHookImpl {
    fn hook_name(&self) -> &str {
        "EndTransactionTraceHook"
    }

    fn end_transaction(&self, context: &EndTransactionContext) {
        if let Some(record) = self.end_record(context, now_millis()) {
            self.dispatcher.append(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::producer::LocalTransactionState;
    use crate::client::trace::trace_dispatcher::tests::Collected;
    use crate::protocol::message::MessageProperties;

    #[test]
    fn an_end_record_says_how_the_transaction_ended() {
        let collected = Arc::new(Collected::default());
        let hook = EndTransactionTraceHookImpl::new(collected.clone(), Namespace::default());
        let mut properties = MessageProperties::new();
        properties.insert("TAGS", "T");
        let context = EndTransactionContext {
            producer_group: "TxG".into(),
            broker_addr: "10.0.0.1:10911".into(),
            topic: "Orders".into(),
            properties,
            msg_id: "M".into(),
            transaction_id: "M".into(),
            transaction_state: LocalTransactionState::RollbackMessage,
            from_transaction_check: true,
        };
        let record = hook.end_record(&context, 5).unwrap();
        assert_eq!(record.trace_type, TraceType::EndTransaction);
        assert_eq!(record.region_id, "DefaultRegion");
        let bean = &record.trace_beans[0];
        assert_eq!(bean.msg_type, Some(MessageType::TransCommit));
        assert_eq!(
            bean.transaction_state,
            Some(LocalTransactionState::RollbackMessage)
        );
        assert!(bean.from_transaction_check);
        assert_eq!(bean.tags.as_deref(), Some("T"));
        hook.end_transaction(&context);
        assert_eq!(collected.take().len(), 1);
    }
}
