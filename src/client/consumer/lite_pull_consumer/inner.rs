//! `LitePullInner`: the lite pull consumer's machinery; mirrors Java's
//! `DefaultLitePullConsumerImpl` with `RebalanceLitePullImpl`.
//!
//! The same pull loop as the push consumer (one `rmq-pull` thread, long polling, flow
//! control), but pulled batches wait in a queue for `poll` instead of going to a listener.
//! `poll` takes a batch, removes it from its process queue and moves the queue's consume
//! offset past it; the offsets are committed every 5 s (auto-commit) or by `commit_sync`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::LitePullConsumerConfig;
use crate::client::consumer::consumer_inner::ConsumerInner;
use crate::client::consumer::offset_store::{committed_offset, OffsetStore};
use crate::client::consumer::process_queue::ProcessQueue;
use crate::client::consumer::pull_api::{pull_sys_flag, PullApiWrapper, PullSpec};
use crate::client::consumer::pull_service::{PullMessageService, PullTarget};
use crate::client::consumer::push_consumer::ConsumeFrom;
use crate::client::consumer::rebalance::{PullRequest, RebalanceHandler, RebalanceImpl};
use crate::client::shared::client_instance::{BrokerChoice, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::client::shared::result::{PullResult, PullStatus};
use crate::common::clock::now_millis;
use crate::common::service_thread::{ServiceThread, Waker};
use crate::common::sync::MutexExt;
use crate::protocol::body::{
    running_info_property as prop, CmResult, ConsumeMessageDirectlyResult, ConsumeType,
    ConsumerData, ConsumerRunningInfo,
};
use crate::protocol::codes::response_code;
use crate::protocol::message::{MessageExt, MessageQueue};

/// Retry delay after a failed pull.
const PULL_DELAY_WHEN_EXCEPTION: Duration = Duration::from_secs(3);
/// Retry delay while flow control holds a queue back.
const PULL_DELAY_WHEN_FLOW_CONTROL: Duration = Duration::from_millis(50);
/// Retry delay of a paused queue.
const PULL_DELAY_WHEN_PAUSED: Duration = Duration::from_secs(1);
/// How long the broker may hold a pull (`brokerSuspendMaxTimeMillis`, 20 s).
const BROKER_SUSPEND_MAX: Duration = Duration::from_secs(20);
/// How long a held pull may take to answer (`consumerTimeoutMillisWhenSuspend`, 30 s).
const PULL_TIMEOUT_WHEN_SUSPEND: Duration = Duration::from_secs(30);

pub(crate) const RUNNING: u8 = 1;
pub(crate) const SHUTDOWN: u8 = 2;

/// A pulled batch waiting for `poll` (Java's `ConsumeRequest`).
pub(crate) struct ConsumeRequest {
    pub(crate) messages: Vec<MessageExt>,
    pub(crate) queue: MessageQueue,
    pub(crate) pq: Arc<ProcessQueue>,
}

/// The consumer's background threads (besides the instance's and the pull thread).
pub(crate) struct Background {
    pub(crate) rebalance: ServiceThread,
    pub(crate) offsets: ServiceThread,
}

/// The machinery behind a [`super::LitePullConsumer`].
pub(crate) struct LitePullInner {
    pub(crate) config: LitePullConsumerConfig,
    pub(crate) instance: Arc<MqClientInstance>,
    pub(crate) rebalance: RebalanceImpl,
    pub(crate) offset_store: Box<dyn OffsetStore>,
    pull_api: Arc<PullApiWrapper>,
    pub(crate) pull_service: OnceLock<PullMessageService>,
    pub(crate) background: Mutex<Option<Background>>,
    pub(crate) rebalance_waker: OnceLock<Waker>,
    pub(crate) state: AtomicU8,
    /// `assign` was called: queues are the caller's, not the group's.
    pub(crate) assigned: AtomicBool,
    /// Queues whose pulls and polls are paused.
    paused: Mutex<Vec<MessageQueue>>,
    /// Batches of paused queues, held back from `poll` until they resume.
    held_back: Mutex<Vec<ConsumeRequest>>,
    /// Queue → the offset after the last message `poll` returned (`consumeOffset`).
    consume_offsets: Mutex<HashMap<MessageQueue, i64>>,
    /// Batches waiting for `poll`, and their count in messages.
    ready_tx: Sender<ConsumeRequest>,
    ready_rx: Receiver<ConsumeRequest>,
    last_commit: Mutex<Instant>,
    start_ms: i64,
    weak_self: Weak<LitePullInner>,
}

impl LitePullInner {
    pub(crate) fn new(
        config: LitePullConsumerConfig,
        instance: Arc<MqClientInstance>,
        offset_store: Box<dyn OffsetStore>,
    ) -> Arc<Self> {
        let rebalance = RebalanceImpl::new(
            config.group.clone(),
            config.message_model,
            config.allocate_strategy.clone(),
            instance.clone(),
        );
        let pull_api = Arc::new(PullApiWrapper::new(instance.clone(), config.group.clone()));
        let (ready_tx, ready_rx) = unbounded();
        Arc::new_cyclic(|weak| LitePullInner {
            config,
            instance,
            rebalance,
            offset_store,
            pull_api,
            pull_service: OnceLock::new(),
            background: Mutex::new(None),
            rebalance_waker: OnceLock::new(),
            state: AtomicU8::new(0),
            assigned: AtomicBool::new(false),
            paused: Mutex::new(Vec::new()),
            held_back: Mutex::new(Vec::new()),
            consume_offsets: Mutex::new(HashMap::new()),
            ready_tx,
            ready_rx,
            last_commit: Mutex::new(Instant::now()),
            start_ms: now_millis(),
            weak_self: weak.clone(),
        })
    }

    pub(crate) fn is_running(&self) -> bool {
        self.state.load(Ordering::SeqCst) == RUNNING
    }

    fn pull_later(&self, request: PullRequest, delay: Duration) {
        if let Some(pulls) = self.pull_service.get() {
            pulls.execute_later(request, delay);
        }
    }

    fn pull_now(&self, request: PullRequest) {
        if let Some(pulls) = self.pull_service.get() {
            pulls.execute_now(request);
        }
    }

    /// Re-shares the queues (subscribe mode only).
    pub(crate) fn do_rebalance(&self) {
        if !self.assigned.load(Ordering::SeqCst) {
            self.rebalance.do_rebalance(self, false);
        }
    }

    /// Messages pulled and not yet polled, across every queue.
    fn cached_messages(&self) -> usize {
        self.rebalance
            .process_queues()
            .iter()
            .map(|(_, pq)| pq.message_count())
            .sum()
    }

    /// Up to `timeout` for the next pulled batch (`poll`).
    pub(crate) fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(request) = self.ready_rx.recv_timeout(left) else {
                self.maybe_auto_commit();
                return Vec::new();
            };
            if request.pq.is_dropped() {
                continue; // its queue was taken away or sought: these are stale
            }
            if self.is_paused(&request.queue) {
                // Pulled before the pause: kept for when the queue resumes.
                self.held_back.lock_unpoisoned().push(request);
                continue;
            }
            let offset = request.pq.remove_messages(&request.messages);
            if offset >= 0 {
                self.consume_offsets
                    .lock_unpoisoned()
                    .insert(request.queue.clone(), offset);
            }
            self.maybe_auto_commit();
            return request.messages;
        }
    }

    fn maybe_auto_commit(&self) {
        if !self.config.auto_commit {
            return;
        }
        let due = {
            let mut last = self.last_commit.lock_unpoisoned();
            let due = last.elapsed() >= self.config.auto_commit_interval;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.commit_all();
        }
    }

    /// Commits every held queue's consume offset (`commitAll`).
    pub(crate) fn commit_all(&self) {
        let held: Vec<MessageQueue> = self
            .rebalance
            .process_queues()
            .into_iter()
            .map(|(q, _)| q)
            .collect();
        let offsets = self.consume_offsets.lock_unpoisoned().clone();
        for queue in &held {
            if let Some(offset) = offsets.get(queue) {
                self.offset_store.update_offset(queue, *offset, false);
            }
        }
        self.offset_store.persist_all(&held);
    }

    /// Commits the given offsets (`commitSync(Map, persist)`).
    pub(crate) fn commit(&self, offsets: &BTreeMap<MessageQueue, i64>, persist: bool) {
        for (queue, offset) in offsets {
            self.offset_store.update_offset(queue, *offset, false);
            self.consume_offsets
                .lock_unpoisoned()
                .insert(queue.clone(), *offset);
        }
        if persist {
            let queues: Vec<MessageQueue> = offsets.keys().cloned().collect();
            self.offset_store.persist_all(&queues);
        }
    }

    /// Next pulls of `queue` start at `offset`; what was pulled and not polled is dropped
    /// (`seek`).
    pub(crate) fn seek(&self, queue: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        let Some(pq) = self.rebalance.replace_process_queue(queue) else {
            return Err(ClientError::invalid_argument(
                "queue",
                format!("{queue} is not held by this consumer"),
            ));
        };
        self.consume_offsets
            .lock_unpoisoned()
            .insert(queue.clone(), offset);
        self.pull_now(PullRequest {
            message_queue: queue.clone(),
            process_queue: pq,
            next_offset: offset,
            previously_locked: false,
        });
        Ok(())
    }

    pub(crate) fn pause(&self, queues: &[MessageQueue]) {
        let mut paused = self.paused.lock_unpoisoned();
        for queue in queues {
            if !paused.contains(queue) {
                paused.push(queue.clone());
            }
        }
    }

    pub(crate) fn resume(&self, queues: &[MessageQueue]) {
        self.paused
            .lock_unpoisoned()
            .retain(|q| !queues.contains(q));
        let mut held_back = self.held_back.lock_unpoisoned();
        let (resumed, still): (Vec<_>, Vec<_>) = std::mem::take(&mut *held_back)
            .into_iter()
            .partition(|r| queues.contains(&r.queue));
        *held_back = still;
        for request in resumed {
            let _ = self.ready_tx.send(request);
        }
    }

    fn is_paused(&self, queue: &MessageQueue) -> bool {
        self.paused.lock_unpoisoned().contains(queue)
    }

    fn on_pull_result(&self, mut request: PullRequest, outcome: Result<PullResult, ClientError>) {
        let pq = request.process_queue.clone();
        let queue = request.message_queue.clone();
        if pq.is_dropped() {
            return; // sought or taken away meanwhile
        }
        match outcome {
            Ok(result) => {
                request.next_offset = result.next_begin_offset;
                match result.status {
                    PullStatus::Found if !result.messages.is_empty() => {
                        pq.put_messages(&result.messages);
                        let _ = self.ready_tx.send(ConsumeRequest {
                            messages: result.messages,
                            queue: queue.clone(),
                            pq: pq.clone(),
                        });
                    }
                    PullStatus::OffsetIllegal => {
                        log::warn!(
                            "pull offset of {queue} is out of range; continuing at {}",
                            result.next_begin_offset
                        );
                    }
                    _ => {}
                }
                self.pull_now(request);
            }
            Err(e) => {
                if !self.is_running() {
                    return;
                }
                log::warn!("pull of {queue} failed: {e}");
                let delay = if e.response_code() == Some(response_code::FLOW_CONTROL) {
                    Duration::from_millis(20)
                } else {
                    PULL_DELAY_WHEN_EXCEPTION
                };
                self.pull_later(request, delay);
            }
        }
    }

    fn broker_of(&self, queue: &MessageQueue) -> Result<String, ClientError> {
        let choice = BrokerChoice::Prefer(crate::protocol::body::MASTER_ID);
        let found = self.instance.find_broker_address(
            queue,
            choice,
            self.instance.api_timeout_default(),
        )?;
        Ok(found.addr)
    }

    /// The queue's first offset (`minOffset`).
    pub(crate) fn min_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let addr = self.broker_of(queue)?;
        self.instance
            .api()
            .get_min_offset(&addr, queue, self.instance.api_timeout_default())
    }

    /// One past the queue's last offset (`maxOffset`).
    pub(crate) fn max_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let addr = self.broker_of(queue)?;
        self.instance
            .api()
            .get_max_offset(&addr, queue, self.instance.api_timeout_default())
    }

    /// The first offset stored at or after `timestamp` (`offsetForTimestamp`).
    pub(crate) fn offset_for_timestamp(
        &self,
        queue: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64, ClientError> {
        let addr = self.broker_of(queue)?;
        self.instance.api().search_offset(
            &addr,
            queue,
            timestamp,
            self.instance.api_timeout_default(),
        )
    }
}

impl PullTarget for LitePullInner {
    fn pull_message(&self, request: PullRequest) {
        let Some(this) = self.weak_self.upgrade() else {
            return;
        };
        let pq = request.process_queue.clone();
        if pq.is_dropped() {
            return;
        }
        pq.touch_pull();
        if !self.is_running() {
            return;
        }
        if self.is_paused(&request.message_queue) {
            return self.pull_later(request, PULL_DELAY_WHEN_PAUSED);
        }
        if self.cached_messages() > self.config.pull_threshold_for_all
            || pq.message_count() > self.config.pull_threshold_for_queue
            || pq.message_size() / (1024 * 1024) > self.config.pull_threshold_size_for_queue as u64
            || pq.max_span() > self.config.consume_max_span
        {
            return self.pull_later(request, PULL_DELAY_WHEN_FLOW_CONTROL);
        }
        let topic = &request.message_queue.topic;
        let subscription = self.rebalance.subscription(topic).unwrap_or_else(|| {
            crate::client::consumer::subscription::build_subscription_data(topic, "*")
                .unwrap_or_default()
        });
        let spec = PullSpec {
            queue: request.message_queue.clone(),
            offset: request.next_offset,
            max_nums: self.config.pull_batch_size,
            sys_flag: pull_sys_flag::build(false, true, true, false),
            commit_offset: 0,
            suspend: BROKER_SUSPEND_MAX,
            timeout: PULL_TIMEOUT_WHEN_SUSPEND,
        };
        self.pull_api.pull_async(
            spec,
            &subscription,
            Box::new(move |outcome| this.on_pull_result(request, outcome)),
        );
    }
}

impl RebalanceHandler for LitePullInner {
    fn consume_type(&self) -> ConsumeType {
        ConsumeType::ConsumeActively
    }

    fn message_queue_changed(&self, topic: &str, _all: &[MessageQueue], held: &[MessageQueue]) {
        log::info!(
            "lite consumer {}: now holds {} queue(s) of {topic}",
            self.config.group,
            held.len()
        );
    }

    fn remove_unnecessary_message_queue(&self, queue: &MessageQueue, _pq: &ProcessQueue) -> bool {
        if let Some(offset) = self.consume_offsets.lock_unpoisoned().remove(queue) {
            self.offset_store.update_offset(queue, offset, false);
        }
        self.offset_store.persist(queue);
        self.offset_store.remove_offset(queue);
        true
    }

    fn remove_dirty_offset(&self, queue: &MessageQueue) {
        self.offset_store.remove_offset(queue);
    }

    fn compute_pull_from_where(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        if let Some(committed) = committed_offset(&*self.offset_store, queue)? {
            return Ok(committed);
        }
        match self.config.consume_from {
            ConsumeFrom::FirstOffset => Ok(0),
            ConsumeFrom::LastOffset => self.max_offset(queue),
            ConsumeFrom::Timestamp(at) => self.offset_for_timestamp(queue, at),
        }
    }

    fn dispatch_pull_requests(&self, requests: Vec<PullRequest>) {
        for request in requests {
            self.consume_offsets
                .lock_unpoisoned()
                .insert(request.message_queue.clone(), request.next_offset);
            self.pull_now(request);
        }
    }
}

impl ConsumerInner for LitePullInner {
    fn group_name(&self) -> &str {
        &self.config.group
    }

    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            group_name: self.config.group.clone(),
            consume_type: Some(ConsumeType::ConsumeActively),
            message_model: Some(self.config.message_model),
            consume_from_where: Some(self.config.consume_from.java()),
            subscription_data_set: if self.assigned.load(Ordering::SeqCst) {
                Vec::new()
            } else {
                self.rebalance.subscriptions()
            },
            unit_mode: false,
        }
    }

    fn rebalance_now(&self) {
        if let Some(waker) = self.rebalance_waker.get() {
            waker.wake();
        }
    }

    fn running_info(&self) -> ConsumerRunningInfo {
        let mut info = ConsumerRunningInfo::default();
        let p = &mut info.properties;
        p.insert(
            prop::PROP_NAMESERVER_ADDR.into(),
            self.config.client.name_server_addrs.join(";"),
        );
        p.insert(prop::PROP_CONSUME_ORDERLY.into(), "false".into());
        p.insert(prop::PROP_CONSUME_TYPE.into(), "CONSUME_ACTIVELY".into());
        p.insert(prop::PROP_CLIENT_VERSION.into(), "V4_9_8".into());
        p.insert(
            prop::PROP_CONSUMER_START_TIMESTAMP.into(),
            self.start_ms.to_string(),
        );
        p.insert("consumerGroup".into(), self.config.group.clone());
        p.insert(
            "messageModel".into(),
            self.config.message_model.name().into(),
        );
        p.insert("autoCommit".into(), self.config.auto_commit.to_string());
        info.subscription_set = self.rebalance.subscriptions();
        let offsets = self.consume_offsets.lock_unpoisoned().clone();
        for (queue, pq) in self.rebalance.process_queues() {
            let committed = offsets.get(&queue).copied().unwrap_or(-1);
            info.mq_table.insert(queue, pq.info(committed));
        }
        info
    }

    fn reset_offset(&self, topic: &str, offsets: &BTreeMap<MessageQueue, i64>) {
        for (queue, offset) in offsets.iter().filter(|(q, _)| q.topic == topic) {
            if let Err(e) = self.seek(queue, *offset) {
                log::info!("reset of {queue}: {e}");
                self.offset_store.update_offset(queue, *offset, false);
            }
        }
        self.commit_all();
    }

    fn consumer_status(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offset_store.offsets_of(topic)
    }

    fn consume_message_directly(
        &self,
        _message: MessageExt,
        _broker_name: Option<&str>,
    ) -> ConsumeMessageDirectlyResult {
        // A pull consumer has no listener to hand a message to (Java answers likewise).
        ConsumeMessageDirectlyResult {
            order: false,
            auto_commit: self.config.auto_commit,
            consume_result: Some(CmResult::ReturnNull),
            remark: Some("a lite pull consumer has no listener".into()),
            spent_time_mills: 0,
        }
    }
}
