//! `ConsumeConcurrently`: pulled messages run through a concurrent listener on the consume
//! pool, in batches, in any order; mirrors Java's `ConsumeMessageConcurrentlyService`.
//!
//! A batch the listener fails (or panics on) goes back to the broker ([`SendBack`]), which
//! redelivers it through the group's retry topic after a delay; a message that cannot be sent
//! back is consumed again here 5 s later. Either way the queue's commit offset moves only past
//! messages that are done. A batch's messages are moved into it once and shared with the
//! process queue; the listener reads them where they are.

use std::sync::Arc;
use std::time::Duration;

use super::consume_service::{call_listener, consumed_count, ConsumeParts};
use super::process_queue::{ConsumeBatch, ProcessQueue};
use crate::client::consumer::listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MessageListenerConcurrently,
};
use crate::common::clock::now_millis;
use crate::common::trace;
use crate::protocol::body::{ConsumeMessageDirectlyResult, MessageModel};
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::{Job, Rejected, ThreadPool};

/// A batch refused by a full pool, or not sent back, is retried this much later.
const SUBMIT_LATER_DELAY: Duration = Duration::from_secs(5);
/// At most this many expired messages are cleaned from one queue per round (Java: 16).
const CLEAN_EXPIRED_PER_ROUND: usize = 16;

/// Runs a concurrent listener for one push consumer.
pub(crate) struct ConsumeConcurrently {
    pub(super) listener: Arc<dyn MessageListenerConcurrently>,
    /// The consume pool, `rmq-consume-<i>`; popped batches run on it too
    /// (`consume_pop_concurrently.rs`).
    pub(super) pool: ThreadPool,
    pub(super) parts: ConsumeParts,
}

impl ConsumeConcurrently {
    /// A service running `listener` on `pool`.
    pub(crate) fn new(
        listener: Arc<dyn MessageListenerConcurrently>,
        pool: ThreadPool,
        parts: ConsumeParts,
    ) -> Self {
        ConsumeConcurrently {
            listener,
            pool,
            parts,
        }
    }

    /// Queues `messages` of `queue` for the listener, `batch_size` at a time, each batch
    /// tracked by `pq` (`submitConsumeRequest`).
    pub(crate) fn submit(
        self: &Arc<Self>,
        messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) {
        let mut messages = messages.into_iter().peekable();
        while messages.peek().is_some() {
            let batch = ConsumeBatch::new(
                messages
                    .by_ref()
                    .take(self.parts.batch_size.max(1))
                    .collect(),
            );
            pq.put_batch(&batch);
            let (service, pq, queue) = (Arc::clone(self), pq.clone(), queue.clone());
            // The listener's steps serve the pull that brought the messages.
            let context = trace::Context::capture();
            let job: Job = Box::new(move || {
                let _serving = context.enter();
                service.consume(&batch, &pq, &queue)
            });
            // The queue is unbounded (flow control bounds what is pulled), as Java's is: a
            // refusal means the consumer is shutting down, and the messages come again later.
            if let Err(Rejected::Shutdown(_) | Rejected::Full(_)) = self.pool.execute(job) {
                return;
            }
        }
    }

    fn submit_later(
        self: &Arc<Self>,
        messages: Vec<MessageExt>,
        pq: Arc<ProcessQueue>,
        queue: MessageQueue,
    ) {
        let service = Arc::downgrade(self);
        self.parts.scheduler.schedule(SUBMIT_LATER_DELAY, move || {
            if let Some(service) = service.upgrade() {
                service.submit(messages, &pq, &queue);
            }
        });
    }

    /// One batch through the listener (`ConsumeRequest.run`).
    fn consume(
        self: &Arc<Self>,
        batch: &ConsumeBatch,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) {
        if pq.is_dropped() {
            return;
        }
        let messages = &batch.messages;
        batch.note_consume_start(now_millis());
        let mut context = ConsumeConcurrentlyContext::new(self.parts.namespace.unwrap_queue(queue));
        let (status, elapsed, _) = call_listener(
            &self.parts.hooks,
            &self.parts.group,
            queue,
            messages,
            || self.listener.consume_message(messages, &mut context),
        );
        if pq.is_dropped() {
            // Taken away meanwhile: the new holder consumes these again from the commit offset.
            log::info!("{queue} was taken away while its messages were consumed; not committing");
            return;
        }
        self.process_result(status, &context, messages, pq, queue, elapsed);
    }

    /// What a listener's answer does (`processConsumeResult`).
    fn process_result(
        self: &Arc<Self>,
        status: ConsumeConcurrentlyStatus,
        context: &ConsumeConcurrentlyContext,
        messages: &[MessageExt],
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
        elapsed: Duration,
    ) {
        let ok = consumed_count(status, context.ack_index, messages.len());
        self.parts.stats.consumed(
            &queue.topic,
            ok,
            messages.len() - ok,
            elapsed.as_millis() as u64,
        );
        let failed = &messages[ok..];
        let mut consume_again = Vec::new();
        match self.parts.model {
            MessageModel::Broadcasting => {
                for m in failed {
                    log::warn!(
                        "broadcasting: message {} of {queue} failed and is dropped",
                        m.client_msg_id()
                    );
                }
            }
            MessageModel::Clustering => {
                for m in failed {
                    let delay = context.delay_level_when_next_consume;
                    if let Err(e) = self.parts.send_back.send(m, delay, Some(queue)) {
                        log::warn!(
                            "sending message {} of {queue} back failed ({e}); consuming it again here in {} s",
                            m.client_msg_id(),
                            SUBMIT_LATER_DELAY.as_secs()
                        );
                        // The one copy: the batch may still be read by the process queue.
                        let mut again = m.clone();
                        again.reconsume_times += 1;
                        consume_again.push(again);
                    }
                }
            }
        }
        let done = messages
            .iter()
            .map(|m| m.queue_offset)
            .filter(|offset| !consume_again.iter().any(|a| a.queue_offset == *offset));
        let offset = pq.remove_messages(done);
        if !consume_again.is_empty() {
            self.submit_later(consume_again, pq.clone(), queue.clone());
        }
        if offset >= 0 && !pq.is_dropped() {
            self.parts.offsets.update_offset(queue, offset, true);
        }
    }

    /// Consumes one message now, for CONSUME_MESSAGE_DIRECTLY (`consumeMessageDirectly`):
    /// nothing is committed or sent back.
    pub(crate) fn consume_directly(
        &self,
        message: MessageExt,
        queue: &MessageQueue,
    ) -> ConsumeMessageDirectlyResult {
        let mut context = ConsumeConcurrentlyContext::new(self.parts.namespace.unwrap_queue(queue));
        super::consume_service::consume_directly(
            &self.parts.group,
            &self.parts.namespace,
            message,
            queue,
            false,
            |messages| self.listener.consume_message(messages, &mut context),
        )
    }

    /// Sends back messages whose listener has run longer than `timeout`, so that a hung
    /// listener does not hold its queue's offset forever (`cleanExpireMsg`).
    pub(crate) fn clean_expired(
        &self,
        queues: &[(MessageQueue, Arc<ProcessQueue>)],
        timeout: Duration,
    ) {
        let started_before = now_millis() - timeout.as_millis() as i64;
        for (queue, pq) in queues {
            for _ in 0..CLEAN_EXPIRED_PER_ROUND {
                let Some(message) = pq.first_expired(started_before) else {
                    break;
                };
                log::warn!(
                    "message {} of {queue} has been consuming for over {} s; sending it back",
                    message.client_msg_id(),
                    timeout.as_secs()
                );
                match self.parts.send_back.send(&message, 3, Some(queue)) {
                    Ok(()) => {
                        let offset = pq.remove_messages([message.queue_offset]);
                        if offset >= 0 && !pq.is_dropped() {
                            self.parts.offsets.update_offset(queue, offset, true);
                        }
                    }
                    Err(e) => {
                        log::warn!("sending back expired message failed: {e}");
                        break;
                    }
                }
            }
        }
    }

    /// Stops the pool: queued batches are dropped (their messages are not committed and come
    /// again), running listeners get up to `wait`. Returns how many still run.
    pub(crate) fn shutdown(&self, wait: Duration) -> usize {
        self.pool.shutdown_within(wait)
    }
}
