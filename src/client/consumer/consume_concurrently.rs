//! `ConsumeMessageConcurrentlyService`: pulled messages run through a concurrent listener
//! on the consume pool, in batches, in any order; mirrors Java's class of that name.
//!
//! A batch the listener fails (or panics on) goes back to the broker (CONSUMER_SEND_MSG_BACK),
//! which redelivers it through the group's retry topic after a delay; a message that cannot
//! be sent back is consumed again here 5 s later. Either way the queue's commit offset moves
//! only past messages that are done.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::consume_service::{reset_retry_topic, ConsumeHost};
use super::listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MessageListenerConcurrently,
};
use super::process_queue::ProcessQueue;
use crate::client::shared::namespace::Namespace;
use crate::common::clock::now_millis;
use crate::common::trace::trace_step;
use crate::protocol::body::{CmResult, ConsumeMessageDirectlyResult, MessageModel};
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::{Job, Rejected, ThreadPool};

/// A batch refused by a full pool, or not sent back, is retried this much later.
const SUBMIT_LATER_DELAY: Duration = Duration::from_secs(5);
/// At most this many expired messages are cleaned from one queue per round (Java: 16).
const CLEAN_EXPIRED_PER_ROUND: usize = 16;

/// Runs a concurrent listener for one push consumer.
pub(crate) struct ConsumeConcurrently {
    host: Weak<dyn ConsumeHost>,
    listener: Arc<dyn MessageListenerConcurrently>,
    pool: ThreadPool,
    batch_size: usize,
}

impl ConsumeConcurrently {
    /// A service running `listener` on `pool` (the consume pool, `rmq-consume-<i>`).
    pub(crate) fn new(
        host: Weak<dyn ConsumeHost>,
        listener: Arc<dyn MessageListenerConcurrently>,
        pool: ThreadPool,
        batch_size: usize,
    ) -> Self {
        ConsumeConcurrently {
            host,
            listener,
            pool,
            batch_size: batch_size.max(1),
        }
    }

    /// Queues `messages` of `queue` for the listener, `batch_size` at a time
    /// (`submitConsumeRequest`).
    pub(crate) fn submit(
        self: &Arc<Self>,
        messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) {
        for batch in messages.chunks(self.batch_size) {
            let (service, batch, pq, queue) =
                (Arc::clone(self), batch.to_vec(), pq.clone(), queue.clone());
            let job: Job = Box::new(move || service.consume(batch, &pq, &queue));
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
        let Some(host) = self.host.upgrade() else {
            return;
        };
        let service = Arc::downgrade(self);
        host.scheduler().schedule(SUBMIT_LATER_DELAY, move || {
            if let Some(service) = service.upgrade() {
                service.submit(messages, &pq, &queue);
            }
        });
    }

    /// One batch through the listener (`ConsumeRequest.run`).
    fn consume(
        self: &Arc<Self>,
        mut messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) {
        let Some(host) = self.host.upgrade() else {
            return;
        };
        if pq.is_dropped() {
            return;
        }
        reset_retry_topic(&mut messages, host.group(), host.namespace());
        pq.note_consume_start(&messages, now_millis());
        let mut context = ConsumeConcurrentlyContext::new(host.namespace().unwrap_queue(queue));
        let begin = Instant::now();
        let status = match catch_unwind(AssertUnwindSafe(|| {
            self.listener.consume_message(&messages, &mut context)
        })) {
            Ok(status) => status,
            Err(panic) => {
                log::warn!(
                    "the listener of group {} panicked on {} message(s) of {queue}: {}; they \
                     will be consumed again",
                    host.group(),
                    messages.len(),
                    crate::common::panic_message(&panic)
                );
                ConsumeConcurrentlyStatus::ReconsumeLater
            }
        };
        let elapsed = begin.elapsed();
        trace_step!(
            "client",
            "listener: {} message(s) of {queue} from offset {} → {status:?} in {} µs",
            messages.len(),
            messages.first().map_or(-1, |m| m.queue_offset),
            elapsed.as_micros()
        );
        if pq.is_dropped() {
            // Taken away meanwhile: the new holder consumes these again from the commit offset.
            log::info!("{queue} was taken away while its messages were consumed; not committing");
            return;
        }
        self.process_result(&*host, status, &context, messages, pq, queue, elapsed);
    }

    /// What a listener's answer does (`processConsumeResult`).
    #[allow(clippy::too_many_arguments)]
    fn process_result(
        self: &Arc<Self>,
        host: &dyn ConsumeHost,
        status: ConsumeConcurrentlyStatus,
        context: &ConsumeConcurrentlyContext,
        messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
        elapsed: Duration,
    ) {
        let last = messages.len() as i64 - 1;
        let ack_index = match status {
            ConsumeConcurrentlyStatus::ConsumeSuccess => i64::from(context.ack_index).min(last),
            ConsumeConcurrentlyStatus::ReconsumeLater => -1,
        };
        let ok = (ack_index + 1) as usize;
        host.stats().consumed(
            &queue.topic,
            ok,
            messages.len() - ok,
            elapsed.as_millis() as u64,
        );
        let failed = &messages[ok..];
        let mut consume_again = Vec::new();
        match host.model() {
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
                    if let Err(e) = host.send_message_back(
                        m,
                        context.delay_level_when_next_consume,
                        &queue.broker_name,
                    ) {
                        log::warn!(
                            "sending message {} of {queue} back failed ({e}); consuming it again here in {} s",
                            m.client_msg_id(),
                            SUBMIT_LATER_DELAY.as_secs()
                        );
                        let mut again = m.clone();
                        again.reconsume_times += 1;
                        consume_again.push(again);
                    }
                }
            }
        }
        let done: Vec<MessageExt> = messages
            .into_iter()
            .filter(|m| {
                !consume_again
                    .iter()
                    .any(|a| a.queue_offset == m.queue_offset)
            })
            .collect();
        if !consume_again.is_empty() {
            self.submit_later(consume_again, pq.clone(), queue.clone());
        }
        let offset = pq.remove_messages(&done);
        if offset >= 0 && !pq.is_dropped() {
            host.offset_store().update_offset(queue, offset, true);
        }
    }

    /// Consumes one message now, for CONSUME_MESSAGE_DIRECTLY (`consumeMessageDirectly`):
    /// nothing is committed or sent back.
    pub(crate) fn consume_directly(
        &self,
        mut message: MessageExt,
        queue: MessageQueue,
        group: &str,
        namespace: &Namespace,
    ) -> ConsumeMessageDirectlyResult {
        reset_retry_topic(std::slice::from_mut(&mut message), group, namespace);
        let mut context = ConsumeConcurrentlyContext::new(namespace.unwrap_queue(&queue));
        let begin = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.listener
                .consume_message(std::slice::from_ref(&message), &mut context)
        }));
        let (result, remark) = match outcome {
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess) => {
                (CmResult::Success, "CONSUME_SUCCESS".to_string())
            }
            Ok(ConsumeConcurrentlyStatus::ReconsumeLater) => {
                (CmResult::Later, "RECONSUME_LATER".to_string())
            }
            Err(panic) => (
                CmResult::ThrowException,
                format!(
                    "the listener panicked: {}",
                    crate::common::panic_message(&panic)
                ),
            ),
        };
        ConsumeMessageDirectlyResult {
            order: false,
            auto_commit: true,
            consume_result: Some(result),
            remark: Some(remark),
            spent_time_mills: begin.elapsed().as_millis() as i64,
        }
    }

    /// Sends back messages whose listener has run longer than `timeout`, so that a hung
    /// listener does not hold its queue's offset forever (`cleanExpireMsg`).
    pub(crate) fn clean_expired(
        &self,
        queues: &[(MessageQueue, Arc<ProcessQueue>)],
        timeout: Duration,
    ) {
        let Some(host) = self.host.upgrade() else {
            return;
        };
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
                match host.send_message_back(&message, 3, &queue.broker_name) {
                    Ok(()) => {
                        let offset = pq.remove_messages(std::slice::from_ref(&message));
                        if offset >= 0 && !pq.is_dropped() {
                            host.offset_store().update_offset(queue, offset, true);
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
