//! `Delivery`: where a group consumer's pulled messages go; the one thing in which a push and
//! a lite pull consumer differ (rdkafka layers its consumers the same way: one engine, thin
//! deliveries on top). Popped messages go to the same listener, which takes them to an ack;
//! a simple consumer's are handed to the caller of `receive`, who acks them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::consume_concurrently::ConsumeConcurrently;
use super::consume_orderly::ConsumeOrderly;
use super::poll_queue::PollQueue;
use super::pop_process_queue::PopProcessQueue;
use super::process_queue::ProcessQueue;
use crate::protocol::body::{CmResult, ConsumeMessageDirectlyResult, ConsumeType};
use crate::protocol::message::{MessageExt, MessageQueue};

/// Where pulled messages go.
pub(crate) enum Delivery {
    /// Push: a concurrent listener on the consume pool.
    Concurrently(Arc<ConsumeConcurrently>),
    /// Push: an orderly listener on the consume pool, one batch per queue at a time.
    Orderly(Arc<ConsumeOrderly>),
    /// Lite pull: a queue that `poll` drains.
    Poll(PollQueue),
    /// Simple consumer: `receive` pops for its caller, who acks; nothing is pulled.
    Receive,
}

impl Delivery {
    /// Push (CONSUME_PASSIVELY) or pull (CONSUME_ACTIVELY), as heartbeats announce it.
    pub(crate) fn consume_type(&self) -> ConsumeType {
        match self {
            Delivery::Concurrently(_) | Delivery::Orderly(_) => ConsumeType::ConsumePassively,
            Delivery::Poll(_) => ConsumeType::ConsumeActively,
            Delivery::Receive => ConsumeType::ConsumePop,
        }
    }

    /// Queues are consumed in order, each locked at its broker.
    pub(crate) fn is_orderly(&self) -> bool {
        matches!(self, Delivery::Orderly(_))
    }

    /// Hands `messages` pulled from `queue` on; `pq` tracks them until they are consumed.
    pub(crate) fn deliver(
        &self,
        messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) {
        match self {
            Delivery::Concurrently(service) => service.submit(messages, pq, queue),
            Delivery::Orderly(service) => service.submit(messages, pq, queue),
            Delivery::Poll(polls) => polls.put(messages, pq, queue),
            Delivery::Receive => log::error!("a simple consumer pulled from {queue}"),
        }
    }

    /// Hands `messages` popped from `queue` on; `pq` counts them until they are acked or put
    /// back; they become visible to the group again at `visible_again`. Only a concurrent
    /// listener pops (Java's orderly and lite consumers share queues themselves); any other
    /// delivery leaves them to come back.
    pub(crate) fn deliver_popped(
        &self,
        messages: Vec<MessageExt>,
        pq: &Arc<PopProcessQueue>,
        queue: &MessageQueue,
        visible_again: Instant,
    ) {
        match self {
            Delivery::Concurrently(service) => {
                service.submit_popped(messages, pq, queue, visible_again)
            }
            Delivery::Orderly(_) | Delivery::Poll(_) | Delivery::Receive => {
                log::error!(
                    "{} message(s) popped from {queue} with no listener",
                    messages.len()
                );
                pq.done(messages.len());
            }
        }
    }

    /// Lite pull: the caller paused `queue`.
    pub(crate) fn is_paused(&self, queue: &MessageQueue) -> bool {
        match self {
            Delivery::Poll(polls) => polls.is_paused(queue),
            Delivery::Concurrently(_) | Delivery::Orderly(_) | Delivery::Receive => false,
        }
    }

    /// Consumes one message now for CONSUME_MESSAGE_DIRECTLY.
    pub(crate) fn consume_directly(
        &self,
        message: MessageExt,
        queue: &MessageQueue,
        auto_commit: bool,
    ) -> ConsumeMessageDirectlyResult {
        match self {
            Delivery::Concurrently(service) => service.consume_directly(message, queue),
            Delivery::Orderly(service) => service.consume_directly(message, queue),
            // No listener to hand a message to (Java answers likewise).
            Delivery::Poll(_) | Delivery::Receive => ConsumeMessageDirectlyResult {
                order: false,
                auto_commit,
                consume_result: Some(CmResult::ReturnNull),
                remark: Some(
                    if matches!(self, Delivery::Poll(_)) {
                        "a lite pull consumer has no listener"
                    } else {
                        "a simple consumer has no listener"
                    }
                    .into(),
                ),
                spent_time_mills: 0,
            },
        }
    }

    /// Stops the consume pool: queued batches are dropped, running listeners get up to
    /// `wait`; returns how many still run.
    pub(crate) fn shutdown(&self, wait: Duration) -> usize {
        match self {
            Delivery::Concurrently(service) => service.shutdown(wait),
            Delivery::Orderly(service) => service.shutdown(wait),
            Delivery::Poll(_) | Delivery::Receive => 0,
        }
    }
}
