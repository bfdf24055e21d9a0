//! Popped messages through the concurrent listener: the same listener and consume pool as
//! pulled ones ([`ConsumeConcurrently`]), their outcome taken to the broker as an ack instead
//! of an offset; mirrors Java's `ConsumeMessagePopConcurrentlyService`.
//!
//! A batch whose messages became visible again before the listener got to them is not
//! consumed (another member may have them by now); nor is one finished after that acked.
//! Consumed messages are acked (several of one call in one BATCH_ACK_MESSAGE); failed ones go
//! back with CHANGE_MESSAGE_INVISIBLETIME after Java's delay for their redelivery count
//! (10 s, 30 s, 1 min, … 2 h). A message redelivered `max_reconsume_times` times that fails
//! again, or one the listener sends there (delay level -1), goes to the dead-letter topic
//! (CONSUMER_SEND_MSG_BACK with level -1) and is acked; one already past the maximum when it
//! arrives goes there without the listener.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::consume_concurrently::ConsumeConcurrently;
use super::consume_service::{call_listener, consumed_count};
use super::pop_process_queue::PopProcessQueue;
use crate::client::consumer::listener::{ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus};
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::{Job, Rejected};

/// The delay before a failed popped message comes back, by redelivery count
/// (`popDelayLevel`, seconds).
const POP_DELAY_LEVEL_SECONDS: [u64; 16] = [
    10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
];

/// The delay for `level` (`changePopInvisibleTime`): a level past the table takes its last.
fn pop_delay(level: i32) -> Duration {
    let index = (level.max(0) as usize).min(POP_DELAY_LEVEL_SECONDS.len() - 1);
    Duration::from_secs(POP_DELAY_LEVEL_SECONDS[index])
}

impl ConsumeConcurrently {
    /// Queues popped `messages` of `queue` for the listener, `batch_size` at a time
    /// (`submitPopConsumeRequest`); they become visible to the group again at
    /// `visible_again`. Messages already redelivered more than `max_reconsume_times` go to
    /// the dead-letter topic instead (`processPopResult` drops them).
    pub(crate) fn submit_popped(
        self: &Arc<Self>,
        messages: Vec<MessageExt>,
        pq: &Arc<PopProcessQueue>,
        queue: &MessageQueue,
        visible_again: Instant,
    ) {
        let max = self.parts.send_back.max_reconsume_times();
        let (dead, live): (Vec<MessageExt>, Vec<MessageExt>) =
            messages.into_iter().partition(|m| m.reconsume_times > max);
        if !dead.is_empty() {
            // On the pool: a send-back waits for the broker, and this is a callback thread.
            let (service, pq_job, queue) = (Arc::clone(self), pq.clone(), queue.clone());
            let count = dead.len();
            let job: Job = Box::new(move || {
                for message in &dead {
                    service.dead_letter(message, &queue);
                }
                pq_job.done(dead.len());
            });
            if self.pool.execute(job).is_err() {
                pq.done(count); // shutting down: they come back after their invisible time
            }
        }
        let mut messages = live.into_iter().peekable();
        while messages.peek().is_some() {
            let batch: Vec<MessageExt> = messages
                .by_ref()
                .take(self.parts.batch_size.max(1))
                .collect();
            let count = batch.len();
            let (service, pq_job, queue) = (Arc::clone(self), pq.clone(), queue.clone());
            let job: Job =
                Box::new(move || service.consume_popped(&batch, &pq_job, &queue, visible_again));
            // A refusal means the consumer is shutting down: the messages come back after
            // their invisible time.
            if let Err(Rejected::Shutdown(_) | Rejected::Full(_)) = self.pool.execute(job) {
                pq.done(count + messages.count());
                return;
            }
        }
    }

    /// One popped batch through the listener (`ConsumeRequest.run`).
    fn consume_popped(
        self: &Arc<Self>,
        messages: &[MessageExt],
        pq: &Arc<PopProcessQueue>,
        queue: &MessageQueue,
        visible_again: Instant,
    ) {
        let expired = || Instant::now() >= visible_again;
        if pq.is_dropped() || expired() {
            log::info!(
                "{} popped message(s) of {queue} became visible again before they were \
                 consumed; not consuming them here",
                messages.len()
            );
            return pq.done(messages.len());
        }
        let mut context = ConsumeConcurrentlyContext::new(self.parts.namespace.unwrap_queue(queue));
        let (status, elapsed, _) = call_listener(
            &self.parts.hooks,
            &self.parts.group,
            queue,
            messages,
            || self.listener.consume_message(messages, &mut context),
        );
        if pq.is_dropped() || expired() {
            log::warn!(
                "{} popped message(s) of {queue} became visible again while they were \
                 consumed ({} ms); not acking them, they come again",
                messages.len(),
                elapsed.as_millis()
            );
            return pq.done(messages.len());
        }
        self.process_pop_result(status, &context, messages, queue, elapsed);
        pq.done(messages.len());
    }

    /// What a listener's answer does to popped messages (`processConsumeResult`): acks for
    /// the consumed, a later visibility or the dead-letter topic for the others.
    fn process_pop_result(
        &self,
        status: ConsumeConcurrentlyStatus,
        context: &ConsumeConcurrentlyContext,
        messages: &[MessageExt],
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
        self.parts
            .pop_api
            .ack_async(&queue.topic, messages[..ok].iter());
        let max = self.parts.send_back.max_reconsume_times();
        for message in &messages[ok..] {
            let level = context.delay_level_when_next_consume;
            if level < 0 || message.reconsume_times >= max {
                self.dead_letter(message, queue);
                continue;
            }
            let level = if level == 0 {
                message.reconsume_times
            } else {
                level
            };
            self.parts
                .pop_api
                .change_invisible_time_async(&queue.topic, message, pop_delay(level));
        }
    }

    /// Moves a popped message to the group's dead-letter topic and acks it; if that fails it
    /// stays un-acked and comes back after its invisible time.
    fn dead_letter(&self, message: &MessageExt, queue: &MessageQueue) {
        match self.parts.send_back.send(message, -1, Some(queue)) {
            Ok(()) => {
                log::warn!(
                    "message {} of {queue} failed after {} redelivery(ies) (at most {}); it \
                     goes to the dead-letter topic",
                    message.client_msg_id(),
                    message.reconsume_times,
                    self.parts.send_back.max_reconsume_times()
                );
                self.parts
                    .pop_api
                    .ack_async(&queue.topic, std::iter::once(message));
            }
            Err(e) => log::warn!(
                "moving message {} of {queue} to the dead-letter topic failed ({e}); it comes \
                 back after its invisible time",
                message.client_msg_id()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_pops_come_back_after_javas_delays() {
        assert_eq!(pop_delay(0), Duration::from_secs(10));
        assert_eq!(pop_delay(1), Duration::from_secs(30));
        assert_eq!(pop_delay(15), Duration::from_secs(7200));
        assert_eq!(pop_delay(99), Duration::from_secs(7200));
    }
}
