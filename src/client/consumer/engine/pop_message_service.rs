//! `PopMessageService`: the POP loop of a push consumer whose broker assigned it queues to
//! pop; beside [`PullMessageService`](super::pull_message_service::PullMessageService), as
//! Java's `PullMessageService` runs its `PopRequest`s beside its `PullRequest`s, with the
//! `popMessage` and `PopCallback` of `DefaultMQPushConsumerImpl`.
//!
//! Each popped queue (usually queue -1: every queue of the topic on one broker) has one pop
//! request in a delay queue; one thread (`rmq-pop`) starts each pop when due, unless flow
//! control puts it off (more than `pop_threshold_for_queue` messages wait for their ack). A
//! pop asks the broker to hold it up to 15 s when nothing is there; its answer comes back on
//! the transport's callback pool, where the messages go to the consumer's [`Delivery`] (whose
//! listener takes them to an ack, or back with a new invisible time) and the next pop of the
//! queue goes in line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::consume_service::reset_retry_topic;
use super::consume_stats::ConsumeStats;
use super::delivery::Delivery;
use super::pop_api::{PopApiWrapper, PopSpec};
use super::rebalance::{PopRequest, RebalanceImpl};
use crate::client::shared::error::ClientError;
use crate::client::shared::mq_client_api::{PopResult, PopStatus};
use crate::client::shared::namespace::Namespace;
use crate::common::delay_queue::ServedQueue;
use crate::protocol::body::SubscriptionData;
use crate::protocol::codes::response_code;

/// How long the broker may hold a pop (`BROKER_SUSPEND_MAX_TIME_MILLIS`).
const POP_POLL_TIME: Duration = Duration::from_secs(15);
/// A held pop's answer may take this much longer than its poll time (Java adds 10 s).
const POP_TIMEOUT_MARGIN: Duration = Duration::from_secs(10);
/// Retry delay after a failed pop, or a broker too busy to hold one
/// (`pullTimeDelayMillsWhenException`).
const POP_DELAY_WHEN_EXCEPTION: Duration = Duration::from_secs(3);
/// Retry delay while too many popped messages wait for their ack
/// (`PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL`).
const POP_DELAY_WHEN_FLOW_CONTROL: Duration = Duration::from_millis(50);
/// Retry delay when the broker says FLOW_CONTROL.
const POP_DELAY_WHEN_BROKER_FLOW_CONTROL: Duration = Duration::from_millis(20);
/// A "nothing found" answer sooner than this was not held by the broker; the next pop waits
/// [`POP_DELAY_WHEN_NOT_HELD`] instead of following at once, so a broker that never holds
/// pops cannot make the pop thread spin (Java pops again at once either way).
const HELD_AT_LEAST: Duration = Duration::from_millis(100);
/// See [`HELD_AT_LEAST`].
const POP_DELAY_WHEN_NOT_HELD: Duration = Duration::from_secs(1);
/// Retry delay while the consumer is suspended (`PULL_TIME_DELAY_MILLS_WHEN_SUSPEND`).
const POP_DELAY_WHEN_SUSPENDED: Duration = Duration::from_secs(1);
/// The invisible times Java takes (`MIN_POP_INVISIBLE_TIME`..`MAX_POP_INVISIBLE_TIME`);
/// outside them it pops with 60 s.
const MIN_POP_INVISIBLE_TIME: Duration = Duration::from_secs(5);
const MAX_POP_INVISIBLE_TIME: Duration = Duration::from_secs(300);
const DEFAULT_POP_INVISIBLE_TIME: Duration = Duration::from_secs(60);

/// How a push consumer pops; Java's `DefaultMQPushConsumer` fields of that name.
#[derive(Debug, Clone)]
pub(crate) struct PopSettings {
    /// The consumer shares queues itself (`clientRebalance`, true); false asks the broker
    /// (QUERY_ASSIGNMENT), which may say POP.
    pub(crate) client_rebalance: bool,
    /// How long popped messages stay invisible (`popInvisibleTime`, 60 s; 5 s to 300 s).
    pub(crate) invisible_time: Duration,
    /// Messages per pop (`popBatchNums`, 32).
    pub(crate) batch_size: i32,
    /// Popped messages a queue may have waiting for their ack before its pops pause
    /// (`popThresholdForQueue`, 96).
    pub(crate) threshold_for_queue: usize,
    /// Pause between a queue's pops (`pullInterval`).
    pub(crate) interval: Duration,
}

impl Default for PopSettings {
    fn default() -> Self {
        PopSettings {
            client_rebalance: true,
            invisible_time: DEFAULT_POP_INVISIBLE_TIME,
            batch_size: 32,
            threshold_for_queue: 96,
            interval: Duration::ZERO,
        }
    }
}

impl PopSettings {
    /// The invisible time popped with: the setting when Java would take it, else 60 s.
    pub(crate) fn effective_invisible_time(&self) -> Duration {
        if (MIN_POP_INVISIBLE_TIME..=MAX_POP_INVISIBLE_TIME).contains(&self.invisible_time) {
            self.invisible_time
        } else {
            DEFAULT_POP_INVISIBLE_TIME
        }
    }
}

/// The pop loop: its thread, its requests and what a pop's answer goes to.
pub(crate) struct PopMessageService {
    settings: PopSettings,
    group: String,
    namespace: Namespace,
    /// The pop requests and `rmq-pop`.
    requests: ServedQueue<PopRequest>,
    pop_api: Arc<PopApiWrapper>,
    rebalance: Arc<RebalanceImpl>,
    stats: Arc<ConsumeStats>,
    delivery: Arc<Delivery>,
    /// The whole consumer is suspended (`suspend`).
    suspended: AtomicBool,
    stopped: AtomicBool,
}

/// What a pop loop is made of.
pub(crate) struct PopParts {
    pub(crate) settings: PopSettings,
    pub(crate) group: String,
    pub(crate) namespace: Namespace,
    pub(crate) pop_api: Arc<PopApiWrapper>,
    pub(crate) rebalance: Arc<RebalanceImpl>,
    pub(crate) stats: Arc<ConsumeStats>,
    pub(crate) delivery: Arc<Delivery>,
}

impl PopMessageService {
    /// A pop loop; its thread starts with [`PopMessageService::start`].
    pub(crate) fn new(parts: PopParts) -> Self {
        PopMessageService {
            settings: parts.settings,
            group: parts.group,
            namespace: parts.namespace,
            requests: ServedQueue::new(),
            pop_api: parts.pop_api,
            rebalance: parts.rebalance,
            stats: parts.stats,
            delivery: parts.delivery,
            suspended: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }
    }

    /// Starts `rmq-pop`, which pops for each request when due while the service lives.
    pub(crate) fn start(self: &Arc<Self>) -> std::io::Result<()> {
        self.requests
            .start("rmq-pop", Arc::downgrade(self), |service, request| {
                if !request.process_queue.is_dropped() {
                    service.pop_message(request);
                }
            })
    }

    /// Pops for `request` as soon as the thread gets to it (`executePopPullRequestImmediately`).
    pub(crate) fn pop_now(&self, request: PopRequest) {
        self.requests.push_now(request);
    }

    /// Pops for `request` after `delay` (`executePopPullRequestLater`).
    fn pop_later(&self, request: PopRequest, delay: Duration) {
        self.requests.push_after(request, delay);
    }

    /// Suspends or resumes every queue's pops.
    pub(crate) fn set_suspended(&self, suspended: bool) {
        self.suspended.store(suspended, Ordering::SeqCst);
    }

    /// Drops the requests waiting and joins the thread (unless called from it).
    pub(crate) fn shutdown(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.requests.shutdown();
    }

    /// One pop of one queue, unless flow control or the consumer's state puts it off
    /// (`popMessage`).
    fn pop_message(self: &Arc<Self>, request: PopRequest) {
        let pq = request.process_queue.clone();
        pq.touch_pop();
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        if self.suspended.load(Ordering::SeqCst) {
            return self.pop_later(request, POP_DELAY_WHEN_SUSPENDED);
        }
        if pq.wait_ack_count() > self.settings.threshold_for_queue as i64 {
            return self.pop_later(request, POP_DELAY_WHEN_FLOW_CONTROL);
        }
        let queue = &request.message_queue;
        let Some(subscription) = self.rebalance.subscription(&queue.topic) else {
            log::warn!("{queue} is popped with no subscription of its topic");
            return self.pop_later(request, POP_DELAY_WHEN_EXCEPTION);
        };
        let spec = PopSpec {
            queue: queue.clone(),
            max_nums: self.settings.batch_size,
            invisible_time: self.settings.effective_invisible_time(),
            poll_time: POP_POLL_TIME,
            init_mode: request.init_mode,
            timeout: POP_POLL_TIME + POP_TIMEOUT_MARGIN,
        };
        let began = Instant::now();
        let service = Arc::clone(self);
        let filter = subscription.clone(); // the answer's tag check needs it
        self.pop_api.pop_async(
            &spec,
            &subscription,
            Box::new(move |outcome| service.on_pop_result(request, &filter, outcome, began)),
        );
    }

    /// A pop's answer (`PopCallback`), on the transport's callback pool: messages of other
    /// tags acked, the rest to the delivery with the instant they become visible again, the
    /// queue's next pop in line; or the next pop put off after a failure.
    fn on_pop_result(
        &self,
        request: PopRequest,
        subscription: &SubscriptionData,
        outcome: Result<PopResult, ClientError>,
        began: Instant,
    ) {
        let pq = request.process_queue.clone();
        let queue = request.message_queue.clone();
        if pq.is_dropped() {
            // Taken away meanwhile: what was popped comes back after its invisible time.
            return;
        }
        let mut result = match outcome {
            Ok(result) => result,
            Err(e) => return self.on_pop_failure(request, e),
        };
        match result.status {
            PopStatus::Found => {
                // The broker's pop time is its clock; the deadline is kept on ours, from
                // when the answer came (a little late, by the answer's trip), for the
                // invisible time asked (at most 300 s).
                let visible_again = Instant::now() + self.settings.effective_invisible_time();
                self.pop_api
                    .process_pop_result(&queue.topic, &mut result, subscription);
                self.stats.pulled(
                    &queue.topic,
                    result.messages.len(),
                    began.elapsed().as_millis() as u64,
                );
                if result.messages.is_empty() {
                    return self.pop_now(request);
                }
                let mut messages = result.messages;
                reset_retry_topic(&mut messages, &self.group, &self.namespace);
                pq.inc_found(messages.len());
                self.delivery
                    .deliver_popped(messages, &pq, &queue, visible_again);
                if self.settings.interval.is_zero() {
                    self.pop_now(request);
                } else {
                    self.pop_later(request, self.settings.interval);
                }
            }
            PopStatus::PollingNotFound if began.elapsed() < HELD_AT_LEAST => {
                self.pop_later(request, POP_DELAY_WHEN_NOT_HELD)
            }
            PopStatus::PollingNotFound => self.pop_now(request),
            PopStatus::PollingFull => self.pop_later(request, POP_DELAY_WHEN_EXCEPTION),
        }
    }

    fn on_pop_failure(&self, request: PopRequest, e: ClientError) {
        if self.stopped.load(Ordering::SeqCst) {
            return; // shutting down: held pops end with the connections
        }
        log::warn!("pop of {} failed: {e}", request.message_queue);
        let delay = if e.response_code() == Some(response_code::FLOW_CONTROL) {
            POP_DELAY_WHEN_BROKER_FLOW_CONTROL
        } else {
            POP_DELAY_WHEN_EXCEPTION
        };
        self.pop_later(request, delay);
    }
}

impl Drop for PopMessageService {
    fn drop(&mut self) {
        self.shutdown();
    }
}
