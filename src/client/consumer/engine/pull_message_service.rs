//! `PullMessageService`: the pull loop of a group consumer, push or lite; mirrors Java's
//! `PullMessageService` with the `pullMessage` and `PullCallback` of
//! `DefaultMQPushConsumerImpl` and `DefaultLitePullConsumerImpl`.
//!
//! Pull requests wait in a delay queue until due; one thread (`rmq-pull`) takes each and
//! starts its pull, unless flow control or the queue's state puts it off. The pull is
//! asynchronous (long polling): the answer comes back on the transport's callback pool, where
//! the messages are handed to the consumer's [`Delivery`] and the queue's next request goes
//! back in line. So one thread keeps every queue's long poll going.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::consume_service::reset_retry_topic;
use super::consume_stats::ConsumeStats;
use super::delivery::Delivery;
use super::offset_store::{OffsetStore, ReadOffsetType};
use super::pull_api::{pull_sys_flag, PullApiWrapper, PullSpec};
use super::rebalance::{PullRequest, RebalanceImpl};
use crate::client::shared::error::ClientError;
use crate::client::shared::namespace::Namespace;
use crate::client::shared::result::{PullResult, PullStatus};
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::delay_queue::{Scheduler, ServedQueue};
use crate::common::trace::trace_step;
use crate::protocol::body::{MessageModel, SubscriptionData};
use crate::protocol::codes::response_code;

/// How long a held pull may take to answer (`CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND`).
const PULL_TIMEOUT_WHEN_SUSPEND: Duration = Duration::from_secs(30);
/// Retry delay after a failed pull (`pullTimeDelayMillsWhenException`).
const PULL_DELAY_WHEN_EXCEPTION: Duration = Duration::from_secs(3);
/// Retry delay while flow control holds a queue back.
const PULL_DELAY_WHEN_FLOW_CONTROL: Duration = Duration::from_millis(50);
/// Retry delay when the broker says FLOW_CONTROL.
const PULL_DELAY_WHEN_BROKER_FLOW_CONTROL: Duration = Duration::from_millis(20);
/// Retry delay while the consumer or the queue is suspended.
const PULL_DELAY_WHEN_SUSPENDED: Duration = Duration::from_secs(1);
/// A push consumer whose pull offset is out of range continues this much later.
const OFFSET_ILLEGAL_FIX_DELAY: Duration = Duration::from_secs(10);

/// How a consumer pulls: Java's defaults differ between the push and the lite consumer.
#[derive(Debug, Clone)]
pub(crate) struct PullSettings {
    /// Messages per pull (`pullBatchSize`).
    pub(crate) batch_size: i32,
    /// Messages a queue may hold before its pulls pause (`pullThresholdForQueue`).
    pub(crate) threshold_for_queue: usize,
    /// MiB a queue may hold before its pulls pause (`pullThresholdSizeForQueue`).
    pub(crate) threshold_size_for_queue: usize,
    /// Lite pull: messages held across queues before pulls pause (`pullThresholdForAll`).
    pub(crate) threshold_for_all: Option<usize>,
    /// Pulls pause while a queue's held offsets span more than this (`consumeMaxSpan`; an
    /// orderly queue has no such limit).
    pub(crate) max_span: i64,
    /// Pause between a queue's pulls (`pullInterval`).
    pub(crate) interval: Duration,
    /// How long the broker may hold a pull (`brokerSuspendMaxTimeMillis`).
    pub(crate) broker_suspend: Duration,
    /// Every pull carries its tag expression (`postSubscriptionWhenPull`).
    pub(crate) post_subscription: bool,
}

/// The pull loop: its thread, its requests and what a pull's answer goes to.
pub(crate) struct PullMessageService {
    settings: PullSettings,
    model: MessageModel,
    group: String,
    namespace: Namespace,
    /// The pull requests and `rmq-pull`.
    requests: ServedQueue<PullRequest>,
    pull_api: Arc<PullApiWrapper>,
    rebalance: Arc<RebalanceImpl>,
    offsets: Arc<dyn OffsetStore>,
    stats: Arc<ConsumeStats>,
    scheduler: Arc<Scheduler>,
    delivery: Arc<Delivery>,
    /// The whole consumer is suspended (`suspend`, an offset reset).
    suspended: AtomicBool,
    stopped: AtomicBool,
}

/// What a pull loop is made of.
pub(crate) struct PullParts {
    pub(crate) settings: PullSettings,
    pub(crate) model: MessageModel,
    pub(crate) group: String,
    pub(crate) namespace: Namespace,
    pub(crate) pull_api: Arc<PullApiWrapper>,
    pub(crate) rebalance: Arc<RebalanceImpl>,
    pub(crate) offsets: Arc<dyn OffsetStore>,
    pub(crate) stats: Arc<ConsumeStats>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) delivery: Arc<Delivery>,
}

impl PullMessageService {
    /// A pull loop; its thread starts with [`PullMessageService::start`].
    pub(crate) fn new(parts: PullParts) -> Self {
        PullMessageService {
            settings: parts.settings,
            model: parts.model,
            group: parts.group,
            namespace: parts.namespace,
            requests: ServedQueue::new(),
            pull_api: parts.pull_api,
            rebalance: parts.rebalance,
            offsets: parts.offsets,
            stats: parts.stats,
            scheduler: parts.scheduler,
            delivery: parts.delivery,
            suspended: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }
    }

    /// Starts `rmq-pull`, which pulls for each request when due while the service lives.
    pub(crate) fn start(self: &Arc<Self>) -> std::io::Result<()> {
        self.requests
            .start("rmq-pull", Arc::downgrade(self), |service, request| {
                if !request.process_queue.is_dropped() {
                    service.pull_message(request);
                }
            })
    }

    /// Pulls for `request` as soon as the thread gets to it (`executePullRequestImmediately`).
    pub(crate) fn pull_now(&self, request: PullRequest) {
        self.requests.push_now(request);
    }

    /// Pulls for `request` after `delay` (`executePullRequestLater`).
    pub(crate) fn pull_later(&self, request: PullRequest, delay: Duration) {
        self.requests.push_after(request, delay);
    }

    /// Suspends or resumes every queue's pulls.
    pub(crate) fn set_suspended(&self, suspended: bool) {
        self.suspended.store(suspended, Ordering::SeqCst);
    }

    /// Whether every queue's pulls are suspended.
    pub(crate) fn is_suspended(&self) -> bool {
        self.suspended.load(Ordering::SeqCst)
    }

    /// Drops the requests waiting and joins the thread (unless called from it).
    pub(crate) fn shutdown(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.requests.shutdown();
    }

    /// One pull of one queue, unless flow control or the queue's state puts it off
    /// (`pullMessage`).
    fn pull_message(self: &Arc<Self>, mut request: PullRequest) {
        let pq = request.process_queue.clone();
        pq.touch_pull();
        let queue = &request.message_queue;
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        if self.is_suspended() || self.delivery.is_paused(queue) {
            return self.pull_later(request, PULL_DELAY_WHEN_SUSPENDED);
        }
        let settings = &self.settings;
        let held_everywhere = || -> usize {
            let held = self.rebalance.process_queues();
            held.iter().map(|(_, pq)| pq.message_count()).sum()
        };
        if settings
            .threshold_for_all
            .is_some_and(|max| held_everywhere() > max)
            || pq.message_count() > settings.threshold_for_queue
            || pq.message_size() / (1024 * 1024) > settings.threshold_size_for_queue as u64
        {
            return self.pull_later(request, PULL_DELAY_WHEN_FLOW_CONTROL);
        }
        if self.delivery.is_orderly() {
            if !pq.is_locked() {
                return self.pull_later(request, PULL_DELAY_WHEN_EXCEPTION);
            }
            if !request.previously_locked {
                // The lock is new: another member may have consumed further meanwhile.
                match self.rebalance.compute_pull_from_where(queue) {
                    Ok(offset) => {
                        request.previously_locked = true;
                        request.next_offset = offset;
                    }
                    Err(e) => {
                        log::warn!("start offset of {queue}: {e}");
                        return self.pull_later(request, PULL_DELAY_WHEN_EXCEPTION);
                    }
                }
            }
        } else if pq.max_span() > settings.max_span {
            return self.pull_later(request, PULL_DELAY_WHEN_FLOW_CONTROL);
        }
        let Some(subscription) = self.rebalance.subscription(&queue.topic) else {
            return self.pull_later(request, PULL_DELAY_WHEN_EXCEPTION);
        };
        // A push consumer commits its offset along with each pull; a lite one commits its
        // polled offsets itself.
        let mut commit_offset = 0;
        if self.model == MessageModel::Clustering && !matches!(*self.delivery, Delivery::Poll(_)) {
            commit_offset = self.offsets.read_offset(queue, ReadOffsetType::Memory);
        }
        let spec = PullSpec {
            queue: queue.clone(),
            offset: request.next_offset,
            max_nums: settings.batch_size,
            sys_flag: pull_sys_flag::build(
                commit_offset > 0,
                true,
                settings.post_subscription && !subscription.class_filter_mode,
                subscription.class_filter_mode,
            ),
            commit_offset: commit_offset.max(0),
            suspend: settings.broker_suspend,
            timeout: PULL_TIMEOUT_WHEN_SUSPEND,
        };
        let began = Instant::now();
        let service = Arc::clone(self);
        let filter = subscription.clone(); // the answer's tag check needs it
        self.pull_api.pull_async(
            spec,
            &subscription,
            Box::new(move |outcome| service.on_pull_result(request, &filter, outcome, began)),
        );
    }

    /// A pull's answer (`PullCallback`), on the transport's callback pool: read in the order
    /// the messages go, the broker's answer checked and filtered, the messages to the
    /// delivery, the queue's next pull in line; or the next pull put off after a failure.
    fn on_pull_result(
        &self,
        mut request: PullRequest,
        subscription: &SubscriptionData,
        outcome: Result<PullResult, ClientError>,
        began: Instant,
    ) {
        let pq = request.process_queue.clone();
        let queue = request.message_queue.clone();
        if pq.is_dropped() {
            return; // taken away (or sought) meanwhile
        }
        let mut result = match outcome {
            Ok(result) => result,
            Err(e) => return self.on_pull_failure(request, e),
        };
        self.pull_api
            .process_pull_result(&queue, &mut result, subscription);
        request.next_offset = result.next_begin_offset;
        match result.status {
            PullStatus::Found => {
                self.stats.pulled(
                    &queue.topic,
                    result.messages.len(),
                    began.elapsed().as_millis() as u64,
                );
                if result.messages.is_empty() {
                    // Everything filtered out on our side: carry on at once.
                    self.correct_tags_offset(&request);
                    return self.pull_now(request);
                }
                // From here on the messages are as the user sees them, and they move on
                // without being copied: to the listener's batches or to `poll`.
                let mut messages = result.messages;
                trace_step!(
                    "client",
                    "pull of {queue} found {} message(s), offsets {}..={}; next pull from {}",
                    messages.len(),
                    messages.first().map_or(-1, |m| m.queue_offset),
                    messages.last().map_or(-1, |m| m.queue_offset),
                    result.next_begin_offset
                );
                reset_retry_topic(&mut messages, &self.group, &self.namespace);
                self.delivery.deliver(messages, &pq, &queue);
                if self.settings.interval.is_zero() {
                    self.pull_now(request);
                } else {
                    self.pull_later(request, self.settings.interval);
                }
            }
            PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                self.correct_tags_offset(&request);
                self.pull_now(request);
            }
            PullStatus::OffsetIllegal if matches!(*self.delivery, Delivery::Poll(_)) => {
                // Lite pull: carry on where the broker says (Java's lite consumer does).
                log::warn!(
                    "pull offset of {queue} is out of range; continuing at {}",
                    result.next_begin_offset
                );
                self.pull_now(request);
            }
            PullStatus::OffsetIllegal => {
                // Push: drop the queue, then commit where the broker says and let the next
                // rebalance take it again from there.
                log::warn!(
                    "pull offset of {queue} is out of range; continuing at {} after 10 s",
                    result.next_begin_offset
                );
                pq.set_dropped(true);
                let (offsets, rebalance) = (self.offsets.clone(), self.rebalance.clone());
                self.scheduler.schedule(OFFSET_ILLEGAL_FIX_DELAY, move || {
                    offsets.update_offset(&queue, request.next_offset, false);
                    offsets.persist(&queue);
                    rebalance.remove_process_queue(&queue);
                });
            }
        }
    }

    fn on_pull_failure(&self, request: PullRequest, e: ClientError) {
        if self.stopped.load(Ordering::SeqCst) {
            return; // shutting down: held pulls end with the connections
        }
        if !request
            .message_queue
            .topic
            .starts_with(RETRY_GROUP_TOPIC_PREFIX)
        {
            log::warn!("pull of {} failed: {e}", request.message_queue);
        }
        let delay = if e.response_code() == Some(response_code::FLOW_CONTROL) {
            PULL_DELAY_WHEN_BROKER_FLOW_CONTROL
        } else {
            PULL_DELAY_WHEN_EXCEPTION
        };
        self.pull_later(request, delay);
    }

    /// Nothing held: a push consumer's offset may move to where the pull left off
    /// (`correctTagsOffset`). A lite consumer's offsets move only with `poll`.
    fn correct_tags_offset(&self, request: &PullRequest) {
        if matches!(*self.delivery, Delivery::Poll(_)) {
            return;
        }
        if request.process_queue.message_count() == 0 {
            self.offsets
                .update_offset(&request.message_queue, request.next_offset, true);
        }
    }
}

impl Drop for PullMessageService {
    fn drop(&mut self) {
        self.shutdown();
    }
}
