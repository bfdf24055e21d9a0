//! `ConsumerInner`: what the client instance and the requests brokers send ask of a running
//! consumer (Java's `MQConsumerInner`, plus what `ClientRemotingProcessor` calls).

use std::collections::BTreeMap;

use crate::protocol::body::{ConsumeMessageDirectlyResult, ConsumerData, ConsumerRunningInfo};
use crate::protocol::message::{MessageExt, MessageQueue};

/// A consumer as its client instance sees it.
pub(crate) trait ConsumerInner: Send + Sync {
    /// The consumer group.
    fn group_name(&self) -> &str;
    /// What heartbeats announce: group, model, subscriptions.
    fn consumer_data(&self) -> ConsumerData;
    /// Re-shares the queues now (NOTIFY_CONSUMER_IDS_CHANGED; `rebalanceImmediately`).
    fn rebalance_now(&self);
    /// The state `mqadmin consumerStatus` shows (GET_CONSUMER_RUNNING_INFO).
    fn running_info(&self) -> ConsumerRunningInfo;
    /// Moves the offsets of `topic`'s queues (RESET_CONSUMER_CLIENT_OFFSET): queues held are
    /// dropped, their new offsets committed, and the next rebalance takes them again.
    fn reset_offset(&self, topic: &str, offsets: &BTreeMap<MessageQueue, i64>);
    /// The offsets held in memory for `topic` (GET_CONSUMER_STATUS_FROM_CLIENT).
    fn consumer_status(&self, topic: &str) -> BTreeMap<MessageQueue, i64>;
    /// Consumes one message now and says how (CONSUME_MESSAGE_DIRECTLY).
    fn consume_message_directly(
        &self,
        message: MessageExt,
        broker_name: Option<&str>,
    ) -> ConsumeMessageDirectlyResult;
}
