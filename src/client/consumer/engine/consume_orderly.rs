//! `ConsumeOrderly`: each queue's messages through an orderly listener, one batch at a time,
//! in offset order, while the broker's lock on the queue is ours; mirrors Java's
//! `ConsumeMessageOrderlyService`.
//!
//! A queue is consumed by one pool thread at a time (a per-queue mutex), and only while its
//! lock is held (clustering; renewed every 20 s). `SuspendCurrentQueueAMoment` puts the batch
//! back and retries it after the suspend time, so later messages of the queue wait behind it;
//! past `max_reconsume_times` a message goes to the dead-letter topic and the queue moves on.
//! The messages are moved out of the process queue for the listener and back in to try
//! again, never copied.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::consume_service::{call_listener, ConsumeParts};
use super::process_queue::ProcessQueue;
use super::rebalance::RebalanceImpl;
use crate::client::consumer::listener::{
    ConsumeOrderlyContext, ConsumeOrderlyStatus, MessageListenerOrderly,
};
use crate::common::sync::MutexExt;
use crate::common::trace;
use crate::protocol::body::{ConsumeMessageDirectlyResult, MessageModel};
use crate::protocol::message::message_const::PROPERTY_RECONSUME_TIME;
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::{Job, ThreadPool};

/// One consume request keeps a queue at most this long, then yields the thread
/// (`MAX_TIME_CONSUME_CONTINUOUSLY`).
const MAX_TIME_CONSUME_CONTINUOUSLY: Duration = Duration::from_secs(60);

/// Runs an orderly listener for one push consumer.
pub(crate) struct ConsumeOrderly {
    listener: Arc<dyn MessageListenerOrderly>,
    /// The consume pool, `rmq-consume-<i>`.
    pool: ThreadPool,
    parts: ConsumeParts,
    /// How long a queue rests after `SuspendCurrentQueueAMoment`.
    suspend_time: Duration,
    /// Locks queues at their brokers.
    rebalance: Arc<RebalanceImpl>,
    /// One mutex per queue, so one thread consumes it at a time (`MessageQueueLock`).
    queue_locks: Mutex<HashMap<MessageQueue, Arc<Mutex<()>>>>,
}

impl ConsumeOrderly {
    /// A service running `listener` on `pool`; a suspended queue rests `suspend_time`.
    pub(crate) fn new(
        listener: Arc<dyn MessageListenerOrderly>,
        pool: ThreadPool,
        parts: ConsumeParts,
        suspend_time: Duration,
        rebalance: Arc<RebalanceImpl>,
    ) -> Self {
        ConsumeOrderly {
            listener,
            pool,
            parts,
            suspend_time,
            rebalance,
            queue_locks: Mutex::new(HashMap::new()),
        }
    }

    /// Moves pulled `messages` of `queue` into its process queue, and starts consuming the
    /// queue unless a request already runs for it (`submitConsumeRequest`: the request takes
    /// the messages from the process queue).
    pub(crate) fn submit(
        self: &Arc<Self>,
        messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) {
        if pq.put_messages(messages) {
            self.dispatch(pq.clone(), queue.clone());
        }
    }

    fn dispatch(self: &Arc<Self>, pq: Arc<ProcessQueue>, queue: MessageQueue) {
        let service = Arc::clone(self);
        // The listener's steps serve the pull that brought the messages.
        let context = trace::Context::capture();
        let job: Job = Box::new(move || {
            let _serving = context.enter();
            service.consume(&pq, &queue)
        });
        // Unbounded queue: a refusal means shutdown; the messages come again after restart.
        let _ = self.pool.execute(job);
    }

    /// Runs `task` on the service after `delay`, on the timer thread, if it still lives.
    fn later(self: &Arc<Self>, delay: Duration, task: impl FnOnce(Arc<Self>) + Send + 'static) {
        let service = Arc::downgrade(self);
        self.parts.scheduler.schedule(delay, move || {
            if let Some(service) = service.upgrade() {
                task(service);
            }
        });
    }

    fn dispatch_later(
        self: &Arc<Self>,
        pq: Arc<ProcessQueue>,
        queue: MessageQueue,
        delay: Duration,
    ) {
        self.later(delay, move |service| service.dispatch(pq, queue));
    }

    /// Locks `queue` again after `delay`, then resumes it (`tryLockLaterAndReconsume`).
    fn lock_later_and_reconsume(
        self: &Arc<Self>,
        pq: Arc<ProcessQueue>,
        queue: MessageQueue,
        delay: Duration,
    ) {
        self.later(delay, move |service| {
            // The lock RPC runs on a pool thread: the timer thread must not wait on a broker.
            let worker = service.clone();
            let job: Job = Box::new(move || {
                let next = if worker.rebalance.lock(&queue) {
                    Duration::from_millis(10)
                } else {
                    Duration::from_secs(3)
                };
                worker.dispatch_later(pq, queue, next);
            });
            let _ = service.pool.execute(job);
        });
    }

    fn queue_lock(&self, queue: &MessageQueue) -> Arc<Mutex<()>> {
        self.queue_locks
            .lock_unpoisoned()
            .entry(queue.clone())
            .or_default()
            .clone()
    }

    /// One queue's consumption until it is empty, suspended, or has had its minute
    /// (`ConsumeRequest.run`).
    fn consume(self: &Arc<Self>, pq: &Arc<ProcessQueue>, queue: &MessageQueue) {
        if pq.is_dropped() {
            return;
        }
        let queue_lock = self.queue_lock(queue);
        let _one_thread_per_queue = queue_lock.lock_unpoisoned();
        let clustering = self.parts.model == MessageModel::Clustering;
        if clustering && (!pq.is_locked() || pq.is_lock_expired()) {
            if !pq.is_dropped() {
                self.lock_later_and_reconsume(
                    pq.clone(),
                    queue.clone(),
                    Duration::from_millis(100),
                );
            }
            return;
        }
        let begin = Instant::now();
        loop {
            if pq.is_dropped() {
                return;
            }
            if clustering && (!pq.is_locked() || pq.is_lock_expired()) {
                self.lock_later_and_reconsume(pq.clone(), queue.clone(), Duration::from_millis(10));
                return;
            }
            if begin.elapsed() > MAX_TIME_CONSUME_CONTINUOUSLY {
                self.dispatch_later(pq.clone(), queue.clone(), Duration::from_millis(10));
                return;
            }
            let messages = pq.take_messages(self.parts.batch_size.max(1));
            if messages.is_empty() {
                return; // take_messages ended this queue's dispatch
            }
            let mut context = ConsumeOrderlyContext {
                message_queue: self.parts.namespace.unwrap_queue(queue),
                suspend_current_queue_time: self.suspend_time,
            };
            let (status, elapsed) = {
                let _consuming = pq.lock_consume();
                if pq.is_dropped() {
                    return;
                }
                let (status, elapsed, _) = call_listener(
                    &self.parts.hooks,
                    &self.parts.group,
                    queue,
                    &messages,
                    || self.listener.consume_message(&messages, &mut context),
                );
                (status, elapsed)
            };
            let ok = if status == ConsumeOrderlyStatus::Success {
                messages.len()
            } else {
                0
            };
            self.parts.stats.consumed(
                &queue.topic,
                ok,
                messages.len() - ok,
                elapsed.as_millis() as u64,
            );
            if !self.process_result(status, &context, messages, pq, queue) {
                return;
            }
        }
    }

    /// What a listener's answer does (`processConsumeResult`, auto-commit); false when the
    /// queue is suspended.
    fn process_result(
        self: &Arc<Self>,
        status: ConsumeOrderlyStatus,
        context: &ConsumeOrderlyContext,
        mut messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) -> bool {
        let mut keep_going = true;
        let commit_offset = match status {
            ConsumeOrderlyStatus::Success => pq.commit(),
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => {
                if self.check_reconsume_times(&mut messages) {
                    pq.make_messages_to_consume_again(messages);
                    self.dispatch_later(
                        pq.clone(),
                        queue.clone(),
                        context.suspend_current_queue_time,
                    );
                    keep_going = false;
                    -1
                } else {
                    pq.commit()
                }
            }
        };
        if commit_offset >= 0 && !pq.is_dropped() {
            self.parts
                .offsets
                .update_offset(queue, commit_offset, false);
        }
        keep_going
    }

    /// Counts a failed try on each message; a message past `max_reconsume_times` goes to the
    /// dead-letter topic instead (`checkReconsumeTimes`). True when the batch must be tried
    /// again.
    fn check_reconsume_times(&self, messages: &mut [MessageExt]) -> bool {
        let max = self.parts.send_back.max_reconsume_times();
        let mut suspend = false;
        for m in messages.iter_mut() {
            if m.reconsume_times >= max {
                m.properties
                    .insert(PROPERTY_RECONSUME_TIME, m.reconsume_times.to_string());
                match self.parts.send_back.send(m, -1, None) {
                    Ok(()) => log::warn!(
                        "message {} failed {} times; moved to the dead-letter topic",
                        m.client_msg_id(),
                        m.reconsume_times
                    ),
                    Err(e) => {
                        log::warn!(
                            "moving message {} to the dead-letter topic failed: {e}",
                            m.client_msg_id()
                        );
                        suspend = true;
                        m.reconsume_times += 1;
                    }
                }
            } else {
                suspend = true;
                m.reconsume_times += 1;
            }
        }
        suspend
    }

    /// Consumes one message now, for CONSUME_MESSAGE_DIRECTLY: nothing is committed.
    pub(crate) fn consume_directly(
        &self,
        message: MessageExt,
        queue: &MessageQueue,
    ) -> ConsumeMessageDirectlyResult {
        let mut context = ConsumeOrderlyContext {
            message_queue: self.parts.namespace.unwrap_queue(queue),
            suspend_current_queue_time: self.suspend_time,
        };
        super::consume_service::consume_directly(
            &self.parts.group,
            &self.parts.namespace,
            message,
            queue,
            true,
            |messages| self.listener.consume_message(messages, &mut context),
        )
    }

    /// Stops the pool as [`ConsumeConcurrently::shutdown`] does.
    ///
    /// [`ConsumeConcurrently::shutdown`]: super::consume_concurrently::ConsumeConcurrently::shutdown
    pub(crate) fn shutdown(&self, wait: Duration) -> usize {
        self.pool.shutdown_within(wait)
    }
}
