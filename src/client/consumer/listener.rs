//! What a push consumer hands its messages to: a concurrent or an orderly listener, and what
//! they answer; mirrors Java's `MessageListenerConcurrently` and `MessageListenerOrderly`.

use std::sync::Arc;
use std::time::Duration;

use crate::protocol::message::{MessageExt, MessageQueue};

/// How a concurrent listener's batch went; mirrors Java's `ConsumeConcurrentlyStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeConcurrentlyStatus {
    /// Consumed (`CONSUME_SUCCESS`); with [`ConsumeConcurrentlyContext::ack_index`] set, only
    /// the messages up to it.
    ConsumeSuccess,
    /// Deliver again later (`RECONSUME_LATER`): each message goes back to the broker, which
    /// redelivers it through the group's retry topic after a delay that grows with each try,
    /// and to the dead-letter topic after `max_reconsume_times`.
    ReconsumeLater,
}

/// Where a concurrent listener's batch came from, and what it may adjust; mirrors Java's
/// `ConsumeConcurrentlyContext`.
#[derive(Debug, Clone)]
pub struct ConsumeConcurrentlyContext {
    /// The queue the messages were pulled from.
    pub message_queue: MessageQueue,
    /// The delay level for messages sent back: 0 lets the broker choose (3 + the message's
    /// reconsume count), -1 sends them straight to the dead-letter topic. Popped messages
    /// (POP) take it, as Java does, as an index into their own delays (10 s, 30 s, 1 min,
    /// 2 min, … 2 h; 0: the message's reconsume count), -1 as for pulled ones.
    pub delay_level_when_next_consume: i32,
    /// With `ConsumeSuccess`, the index of the last message consumed; the ones after it are
    /// sent back. Defaults to the whole batch.
    pub ack_index: i32,
}

impl ConsumeConcurrentlyContext {
    pub(crate) fn new(message_queue: MessageQueue) -> Self {
        ConsumeConcurrentlyContext {
            message_queue,
            delay_level_when_next_consume: 0,
            ack_index: i32::MAX,
        }
    }
}

/// Consumes messages in any order, several at once on the consume pool; mirrors Java's
/// `MessageListenerConcurrently`. A panic counts as [`ConsumeConcurrentlyStatus::ReconsumeLater`].
///
/// Closures `Fn(&[MessageExt], &mut ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus`
/// are listeners.
pub trait MessageListenerConcurrently: Send + Sync {
    /// Consumes a batch (one message unless `consume_message_batch_max_size` says more).
    fn consume_message(
        &self,
        messages: &[MessageExt],
        context: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus;
}

impl<F> MessageListenerConcurrently for F
where
    F: Fn(&[MessageExt], &mut ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus
        + Send
        + Sync,
{
    fn consume_message(
        &self,
        messages: &[MessageExt],
        context: &mut ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        self(messages, context)
    }
}

/// How an orderly listener's batch went; mirrors Java's `ConsumeOrderlyStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeOrderlyStatus {
    /// Consumed (`SUCCESS`).
    Success,
    /// Stop this queue for a moment and try the same messages again
    /// (`SUSPEND_CURRENT_QUEUE_A_MOMENT`); the queue's later messages wait behind them.
    SuspendCurrentQueueAMoment,
}

/// Where an orderly listener's batch came from; mirrors Java's `ConsumeOrderlyContext`.
#[derive(Debug, Clone)]
pub struct ConsumeOrderlyContext {
    /// The queue the messages were pulled from.
    pub message_queue: MessageQueue,
    /// How long to suspend the queue after `SuspendCurrentQueueAMoment` (the consumer's
    /// `suspend_current_queue_time`, 1 s, unless changed here).
    pub suspend_current_queue_time: Duration,
}

/// Consumes each queue's messages one batch at a time, in queue order, holding the queue's
/// lock on the broker (no other member of the group consumes it meanwhile); mirrors Java's
/// `MessageListenerOrderly`. A panic counts as
/// [`ConsumeOrderlyStatus::SuspendCurrentQueueAMoment`].
///
/// Closures `Fn(&[MessageExt], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus` are
/// listeners.
pub trait MessageListenerOrderly: Send + Sync {
    /// Consumes a batch of one queue, in offset order.
    fn consume_message(
        &self,
        messages: &[MessageExt],
        context: &mut ConsumeOrderlyContext,
    ) -> ConsumeOrderlyStatus;
}

impl<F> MessageListenerOrderly for F
where
    F: Fn(&[MessageExt], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus + Send + Sync,
{
    fn consume_message(
        &self,
        messages: &[MessageExt],
        context: &mut ConsumeOrderlyContext,
    ) -> ConsumeOrderlyStatus {
        self(messages, context)
    }
}

/// The listener a push consumer calls.
#[derive(Clone)]
pub(crate) enum Listener {
    Concurrently(Arc<dyn MessageListenerConcurrently>),
    Orderly(Arc<dyn MessageListenerOrderly>),
}
