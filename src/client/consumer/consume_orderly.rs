//! `ConsumeMessageOrderlyService`: each queue's messages through an orderly listener, one
//! batch at a time, in offset order, while the broker's lock on the queue is ours; mirrors
//! Java's class of that name.
//!
//! A queue is consumed by one pool thread at a time (a per-queue mutex), and only while its
//! lock is held (clustering; renewed every 20 s). `SuspendCurrentQueueAMoment` puts the batch
//! back and retries it after the suspend time, so later messages of the queue wait behind it;
//! past `max_reconsume_times` a message goes to the dead-letter topic and the queue moves on.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::consume_service::{reset_retry_topic, ConsumeHost};
use super::listener::{ConsumeOrderlyContext, ConsumeOrderlyStatus, MessageListenerOrderly};
use super::process_queue::ProcessQueue;
use crate::client::shared::namespace::Namespace;
use crate::common::sync::MutexExt;
use crate::common::trace::trace_step;
use crate::protocol::body::{CmResult, ConsumeMessageDirectlyResult, MessageModel};
use crate::protocol::message::message_const::PROPERTY_RECONSUME_TIME;
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::{Job, ThreadPool};

/// One consume request keeps a queue at most this long, then yields the thread
/// (`MAX_TIME_CONSUME_CONTINUOUSLY`).
const MAX_TIME_CONSUME_CONTINUOUSLY: Duration = Duration::from_secs(60);

/// Runs an orderly listener for one push consumer.
pub(crate) struct ConsumeOrderly {
    host: Weak<dyn ConsumeHost>,
    listener: Arc<dyn MessageListenerOrderly>,
    pool: ThreadPool,
    batch_size: usize,
    suspend_time: Duration,
    /// One mutex per queue, so one thread consumes it at a time (`MessageQueueLock`).
    queue_locks: Mutex<HashMap<MessageQueue, Arc<Mutex<()>>>>,
}

impl ConsumeOrderly {
    /// A service running `listener` on `pool` (the consume pool, `rmq-consume-<i>`).
    pub(crate) fn new(
        host: Weak<dyn ConsumeHost>,
        listener: Arc<dyn MessageListenerOrderly>,
        pool: ThreadPool,
        batch_size: usize,
        suspend_time: Duration,
    ) -> Self {
        ConsumeOrderly {
            host,
            listener,
            pool,
            batch_size: batch_size.max(1),
            suspend_time,
            queue_locks: Mutex::new(HashMap::new()),
        }
    }

    /// Starts consuming `queue` when `dispatch` says no request runs for it
    /// (`submitConsumeRequest`: the request takes the messages from the process queue).
    pub(crate) fn submit(
        self: &Arc<Self>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
        dispatch: bool,
    ) {
        if !dispatch {
            return;
        }
        let (service, pq, queue) = (Arc::clone(self), pq.clone(), queue.clone());
        let job: Job = Box::new(move || service.consume(&pq, &queue));
        // Unbounded queue: a refusal means shutdown; the messages come again after restart.
        let _ = self.pool.execute(job);
    }

    fn submit_later(self: &Arc<Self>, pq: Arc<ProcessQueue>, queue: MessageQueue, delay: Duration) {
        let Some(host) = self.host.upgrade() else {
            return;
        };
        let service = Arc::downgrade(self);
        host.scheduler().schedule(delay, move || {
            if let Some(service) = service.upgrade() {
                service.submit(&pq, &queue, true);
            }
        });
    }

    /// Locks `queue` again after `delay`, then resumes it (`tryLockLaterAndReconsume`).
    fn lock_later_and_reconsume(
        self: &Arc<Self>,
        pq: Arc<ProcessQueue>,
        queue: MessageQueue,
        delay: Duration,
    ) {
        let Some(host) = self.host.upgrade() else {
            return;
        };
        let service = Arc::downgrade(self);
        host.scheduler().schedule(delay, move || {
            let Some(service) = service.upgrade() else {
                return;
            };
            // The lock RPC runs on a pool thread: the timer thread must not wait on a broker.
            let worker = service.clone();
            let job: Job = Box::new(move || {
                let Some(host) = worker.host.upgrade() else {
                    return;
                };
                let next = if host.rebalance().lock(&queue) {
                    Duration::from_millis(10)
                } else {
                    Duration::from_secs(3)
                };
                worker.submit_later(pq, queue, next);
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
        let Some(host) = self.host.upgrade() else {
            return;
        };
        if pq.is_dropped() {
            return;
        }
        let queue_lock = self.queue_lock(queue);
        let _one_thread_per_queue = queue_lock.lock_unpoisoned();
        let clustering = host.model() == MessageModel::Clustering;
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
                self.submit_later(pq.clone(), queue.clone(), Duration::from_millis(10));
                return;
            }
            let mut messages = pq.take_messages(self.batch_size);
            if messages.is_empty() {
                return; // take_messages ended this queue's dispatch
            }
            reset_retry_topic(&mut messages, host.group(), host.namespace());
            let mut context = ConsumeOrderlyContext {
                message_queue: host.namespace().unwrap_queue(queue),
                suspend_current_queue_time: self.suspend_time,
            };
            let started = Instant::now();
            let status = {
                let _consuming = pq.lock_consume();
                if pq.is_dropped() {
                    return;
                }
                match catch_unwind(AssertUnwindSafe(|| {
                    self.listener.consume_message(&messages, &mut context)
                })) {
                    Ok(status) => status,
                    Err(panic) => {
                        log::warn!(
                            "the orderly listener of group {} panicked on {queue}: {}; suspending the queue",
                            host.group(),
                            crate::common::panic_message(&panic)
                        );
                        ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
                    }
                }
            };
            let elapsed = started.elapsed();
            trace_step!(
                "client",
                "orderly listener: {} message(s) of {queue} from offset {} → {status:?}",
                messages.len(),
                messages[0].queue_offset
            );
            let ok = if status == ConsumeOrderlyStatus::Success {
                messages.len()
            } else {
                0
            };
            host.stats().consumed(
                &queue.topic,
                ok,
                messages.len() - ok,
                elapsed.as_millis() as u64,
            );
            if !self.process_result(&*host, status, &context, messages, pq, queue) {
                return;
            }
        }
    }

    /// What a listener's answer does (`processConsumeResult`, auto-commit); false when the
    /// queue is suspended.
    fn process_result(
        self: &Arc<Self>,
        host: &dyn ConsumeHost,
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
                if self.check_reconsume_times(host, &mut messages) {
                    pq.make_messages_to_consume_again(&messages);
                    self.submit_later(
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
            host.offset_store()
                .update_offset(queue, commit_offset, false);
        }
        keep_going
    }

    /// Counts a failed try on each message; a message past `max_reconsume_times` goes to the
    /// dead-letter topic instead (`checkReconsumeTimes`). True when the batch must be tried
    /// again.
    fn check_reconsume_times(&self, host: &dyn ConsumeHost, messages: &mut [MessageExt]) -> bool {
        let max = host.max_reconsume_times();
        let mut suspend = false;
        for m in messages.iter_mut() {
            if m.reconsume_times >= max {
                m.properties
                    .insert(PROPERTY_RECONSUME_TIME, m.reconsume_times.to_string());
                match host.send_message_back(m, -1, "") {
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
        mut message: MessageExt,
        queue: MessageQueue,
        group: &str,
        namespace: &Namespace,
    ) -> ConsumeMessageDirectlyResult {
        reset_retry_topic(std::slice::from_mut(&mut message), group, namespace);
        let mut context = ConsumeOrderlyContext {
            message_queue: namespace.unwrap_queue(&queue),
            suspend_current_queue_time: self.suspend_time,
        };
        let begin = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.listener
                .consume_message(std::slice::from_ref(&message), &mut context)
        }));
        let (result, remark) = match outcome {
            Ok(ConsumeOrderlyStatus::Success) => (CmResult::Success, "SUCCESS".to_string()),
            Ok(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment) => (
                CmResult::Later,
                "SUSPEND_CURRENT_QUEUE_A_MOMENT".to_string(),
            ),
            Err(panic) => (
                CmResult::ThrowException,
                format!(
                    "the listener panicked: {}",
                    crate::common::panic_message(&panic)
                ),
            ),
        };
        ConsumeMessageDirectlyResult {
            order: true,
            auto_commit: true,
            consume_result: Some(result),
            remark: Some(remark),
            spent_time_mills: begin.elapsed().as_millis() as i64,
        }
    }

    /// Stops the pool as [`super::consume_concurrently::ConsumeConcurrently::shutdown`] does.
    pub(crate) fn shutdown(&self, wait: Duration) -> usize {
        self.pool.shutdown_within(wait)
    }
}
