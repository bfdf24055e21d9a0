//! `PushConsumerInner`: the push consumer's machinery; mirrors Java's
//! `DefaultMQPushConsumerImpl` with `RebalancePushImpl`.
//!
//! One pull loop per held queue runs on the `rmq-pull` thread: a pull (long polling, 15 s)
//! answers on the transport's callback pool, which puts the messages into the queue's process
//! queue, hands them to the consume service, and schedules the queue's next pull — at once,
//! or later while flow control holds it back (too many or too large unconsumed messages, or
//! for a concurrent listener a span of offsets too wide).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::config::{ConsumeFrom, Listener, PushConsumerConfig};
use crate::client::consumer::client_remoting_processor::queue_of;
use crate::client::consumer::consume_concurrently::ConsumeConcurrently;
use crate::client::consumer::consume_orderly::ConsumeOrderly;
use crate::client::consumer::consume_service::ConsumeHost;
use crate::client::consumer::consume_stats::ConsumeStats;
use crate::client::consumer::consumer_inner::ConsumerInner;
use crate::client::consumer::offset_store::{committed_offset, OffsetStore, ReadOffsetType};
use crate::client::consumer::process_queue::ProcessQueue;
use crate::client::consumer::pull_api::{pull_sys_flag, PullApiWrapper, PullSpec};
use crate::client::consumer::pull_service::{PullMessageService, PullTarget};
use crate::client::consumer::rebalance::{PullRequest, RebalanceHandler, RebalanceImpl};
use crate::client::producer::Producer;
use crate::client::shared::client_instance::{
    BrokerChoice, MqClientInstance, CLIENT_INNER_PRODUCER_GROUP,
};
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::namespace::Namespace;
use crate::client::shared::result::{PullResult, PullStatus};
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::clock::now_millis;
use crate::common::delay_queue::Scheduler;
use crate::common::service_thread::ServiceThread;
use crate::common::sync::MutexExt;
use crate::protocol::body::{
    running_info_property as prop, ConsumeMessageDirectlyResult, ConsumeType, ConsumerData,
    ConsumerRunningInfo, MessageModel,
};
use crate::protocol::codes::response_code;
use crate::protocol::message::message_const::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_MAX_RECONSUME_TIMES, PROPERTY_ORIGIN_MESSAGE_ID,
    PROPERTY_RECONSUME_TIME, PROPERTY_RETRY_TOPIC, PROPERTY_TRANSACTION_PREPARED,
};
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::ThreadPool;

/// How long the broker may hold a pull (`BROKER_SUSPEND_MAX_TIME_MILLIS`).
const BROKER_SUSPEND_MAX: Duration = Duration::from_secs(15);
/// How long a held pull may take to answer (`CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND`).
const PULL_TIMEOUT_WHEN_SUSPEND: Duration = Duration::from_secs(30);
/// Retry delay after a failed pull (`pullTimeDelayMillsWhenException`).
const PULL_DELAY_WHEN_EXCEPTION: Duration = Duration::from_secs(3);
/// Retry delay while flow control holds a queue back.
const PULL_DELAY_WHEN_FLOW_CONTROL: Duration = Duration::from_millis(50);
/// Retry delay when the broker says FLOW_CONTROL.
const PULL_DELAY_WHEN_BROKER_FLOW_CONTROL: Duration = Duration::from_millis(20);
/// Retry delay while the consumer is suspended.
const PULL_DELAY_WHEN_SUSPENDED: Duration = Duration::from_secs(1);
/// An orderly queue let go while it still holds messages is unlocked this much later, so a
/// listener in progress finishes before another member takes it (`UNLOCK_DELAY_TIME_MILLS`).
const UNLOCK_DELAY: Duration = Duration::from_secs(20);
/// How long a rebalance waits for an orderly listener to finish before keeping the queue.
const CONSUME_LOCK_WAIT: Duration = Duration::from_secs(1);
/// Timeout of CONSUMER_SEND_MSG_BACK.
const SEND_BACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Lifecycle of the consumer (Java's `ServiceState`).
pub(crate) const CREATE_JUST: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const SHUTDOWN: u8 = 2;

/// The consume service, by listener kind.
pub(crate) enum ConsumeService {
    Concurrently(Arc<ConsumeConcurrently>),
    Orderly(Arc<ConsumeOrderly>),
}

/// The consumer's background threads (besides the instance's and the pull thread).
pub(crate) struct Background {
    pub(crate) rebalance: ServiceThread,
    pub(crate) offsets: ServiceThread,
    /// Orderly: lock renewal; concurrent: expired-message cleaning.
    pub(crate) upkeep: ServiceThread,
}

/// The machinery behind a [`super::PushConsumer`].
pub(crate) struct PushConsumerInner {
    pub(crate) config: PushConsumerConfig,
    pub(crate) instance: Arc<MqClientInstance>,
    pub(crate) rebalance: RebalanceImpl,
    pub(crate) offset_store: Box<dyn OffsetStore>,
    pub(crate) pull_api: Arc<PullApiWrapper>,
    pub(crate) stats: ConsumeStats,
    pub(crate) scheduler: Scheduler,
    pub(crate) consume: ConsumeService,
    pub(crate) pull_service: OnceLock<PullMessageService>,
    pub(crate) background: Mutex<Option<Background>>,
    pub(crate) rebalance_waker: OnceLock<crate::common::service_thread::Waker>,
    pub(crate) state: AtomicU8,
    pub(crate) paused: AtomicBool,
    pub(crate) orderly: bool,
    pub(crate) start_ms: i64,
    /// Sends messages back to the retry topic when CONSUMER_SEND_MSG_BACK fails (Java's
    /// instance-wide `CLIENT_INNER_PRODUCER`), made on first use.
    retry_producer: Mutex<Option<Producer>>,
    /// This consumer, for callbacks that outlive a call (a pull's answer).
    pub(crate) weak_self: Weak<PushConsumerInner>,
}

impl PushConsumerInner {
    pub(crate) fn new(
        config: PushConsumerConfig,
        instance: Arc<MqClientInstance>,
        offset_store: Box<dyn OffsetStore>,
        listener: Listener,
    ) -> Result<Arc<Self>, ClientError> {
        let scheduler = Scheduler::start("rmq-consume-timer").map_err(|e| {
            ClientError::from(crate::remoting::RemotingError::io(
                "start the consume timer",
                e,
            ))
        })?;
        let orderly = matches!(listener, Listener::Orderly(_));
        let rebalance = RebalanceImpl::new(
            config.group.clone(),
            config.message_model,
            config.allocate_strategy.clone(),
            instance.clone(),
        );
        let pull_api = Arc::new(PullApiWrapper::new(instance.clone(), config.group.clone()));
        let io = |what: &str, e| ClientError::from(crate::remoting::RemotingError::io(what, e));
        let pool = ThreadPool::new("rmq-consume", config.consume_threads, None)
            .map_err(|e| io("start the consume pool", e))?;
        Ok(Arc::new_cyclic(|weak: &Weak<PushConsumerInner>| {
            let host: Weak<dyn ConsumeHost> = weak.clone();
            let consume = match &listener {
                Listener::Concurrently(l) => {
                    ConsumeService::Concurrently(Arc::new(ConsumeConcurrently::new(
                        host,
                        l.clone(),
                        pool,
                        config.consume_message_batch_max_size,
                    )))
                }
                Listener::Orderly(l) => ConsumeService::Orderly(Arc::new(ConsumeOrderly::new(
                    host,
                    l.clone(),
                    pool,
                    config.consume_message_batch_max_size,
                    config.suspend_current_queue_time,
                ))),
            };
            PushConsumerInner {
                config,
                instance,
                rebalance,
                offset_store,
                pull_api,
                stats: ConsumeStats::default(),
                scheduler,
                consume,
                pull_service: OnceLock::new(),
                background: Mutex::new(None),
                rebalance_waker: OnceLock::new(),
                state: AtomicU8::new(CREATE_JUST),
                paused: AtomicBool::new(false),
                orderly,
                start_ms: now_millis(),
                retry_producer: Mutex::new(None),
                weak_self: weak.clone(),
            }
        }))
    }

    pub(crate) fn is_running(&self) -> bool {
        self.state.load(Ordering::SeqCst) == RUNNING
    }

    fn pulls(&self) -> Option<&PullMessageService> {
        self.pull_service.get()
    }

    fn pull_later(&self, request: PullRequest, delay: Duration) {
        if let Some(pulls) = self.pulls() {
            pulls.execute_later(request, delay);
        }
    }

    fn pull_now(&self, request: PullRequest) {
        if let Some(pulls) = self.pulls() {
            pulls.execute_now(request);
        }
    }

    /// Re-shares the queues (the rebalance thread, a notification, start).
    pub(crate) fn do_rebalance(&self) {
        if !self.paused.load(Ordering::SeqCst) {
            self.rebalance.do_rebalance(self, self.orderly);
        }
    }

    /// Commits the offsets of every queue held (`persistConsumerOffset`).
    pub(crate) fn persist_offsets(&self) {
        let held: Vec<MessageQueue> = self
            .rebalance
            .process_queues()
            .into_iter()
            .map(|(q, _)| q)
            .collect();
        self.offset_store.persist_all(&held);
    }

    fn max_reconsume(&self) -> i32 {
        self.config.effective_max_reconsume_times(self.orderly)
    }

    /// The retry-topic fallback of a send-back (`sendMessageBack`'s catch block).
    fn send_back_via_producer(&self, message: &MessageExt) -> Result<(), ClientError> {
        let retry_topic = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", self.config.group);
        let mut retry = Message::new(retry_topic, message.body.clone()).with_flag(message.flag);
        for (name, value) in message.properties.iter() {
            if name != PROPERTY_TRANSACTION_PREPARED {
                retry.put_system_property(name, value);
            }
        }
        let origin = message
            .property(PROPERTY_ORIGIN_MESSAGE_ID)
            .filter(|id| !id.is_empty())
            .unwrap_or(&message.msg_id)
            .to_string();
        retry.put_system_property(PROPERTY_ORIGIN_MESSAGE_ID, origin);
        if message.property(PROPERTY_RETRY_TOPIC).is_none() {
            retry.put_system_property(PROPERTY_RETRY_TOPIC, message.topic.clone());
        }
        retry.put_system_property(
            PROPERTY_RECONSUME_TIME,
            (message.reconsume_times + 1).to_string(),
        );
        retry.put_system_property(
            PROPERTY_MAX_RECONSUME_TIMES,
            self.max_reconsume().to_string(),
        );
        retry.put_system_property(
            PROPERTY_DELAY_TIME_LEVEL,
            (3 + message.reconsume_times).to_string(),
        );
        let mut producer = self.retry_producer.lock_unpoisoned();
        if producer.is_none() {
            let builder = Producer::builder(CLIENT_INNER_PRODUCER_GROUP)
                .client_settings(self.config.client.clone());
            *producer = Some(builder.start()?);
        }
        let producer = producer.as_ref().ok_or(ClientError::ShutDown)?;
        producer.send(&retry).map(|_| ())
    }

    /// Stops the retry producer, if one was made.
    pub(crate) fn shutdown_retry_producer(&self) {
        if let Some(producer) = self.retry_producer.lock_unpoisoned().take() {
            producer.shutdown();
        }
    }

    // ----- the pull loop ------------------------------------------------------------------

    fn on_pull_result(
        self: &Arc<Self>,
        mut request: PullRequest,
        outcome: Result<PullResult, ClientError>,
        began: Instant,
    ) {
        let pq = request.process_queue.clone();
        let queue = request.message_queue.clone();
        match outcome {
            Ok(result) => match result.status {
                PullStatus::Found => {
                    request.next_offset = result.next_begin_offset;
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
                    let dispatch = pq.put_messages(&result.messages);
                    match &self.consume {
                        ConsumeService::Concurrently(service) => {
                            service.submit(result.messages, &pq, &queue)
                        }
                        ConsumeService::Orderly(service) => service.submit(&pq, &queue, dispatch),
                    }
                    if self.config.pull_interval.is_zero() {
                        self.pull_now(request);
                    } else {
                        self.pull_later(request, self.config.pull_interval);
                    }
                }
                PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                    request.next_offset = result.next_begin_offset;
                    self.correct_tags_offset(&request);
                    self.pull_now(request);
                }
                PullStatus::OffsetIllegal => {
                    log::warn!(
                        "pull offset {} of {queue} is out of range; continuing at {} after 10 s",
                        request.next_offset,
                        result.next_begin_offset
                    );
                    request.next_offset = result.next_begin_offset;
                    pq.set_dropped(true);
                    let inner = Arc::downgrade(self);
                    self.scheduler.schedule(Duration::from_secs(10), move || {
                        let Some(inner) = inner.upgrade() else {
                            return;
                        };
                        inner
                            .offset_store
                            .update_offset(&queue, request.next_offset, false);
                        inner.offset_store.persist(&queue);
                        inner.rebalance.remove_process_queue(&queue);
                    });
                }
            },
            Err(e) => {
                if !self.is_running() {
                    return; // shutting down: held pulls end with the connections
                }
                if !queue.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
                    log::warn!("pull of {queue} failed: {e}");
                }
                let delay = if e.response_code() == Some(response_code::FLOW_CONTROL) {
                    PULL_DELAY_WHEN_BROKER_FLOW_CONTROL
                } else {
                    PULL_DELAY_WHEN_EXCEPTION
                };
                self.pull_later(request, delay);
            }
        }
    }

    /// Nothing held: the offset may move to where the pull left off (`correctTagsOffset`).
    fn correct_tags_offset(&self, request: &PullRequest) {
        if request.process_queue.message_count() == 0 {
            self.offset_store
                .update_offset(&request.message_queue, request.next_offset, true);
        }
    }
}

impl PullTarget for PushConsumerInner {
    /// One pull of one queue, unless flow control or the queue's state puts it off
    /// (`pullMessage`).
    fn pull_message(&self, mut request: PullRequest) {
        let Some(this) = self.weak_self.upgrade() else {
            return;
        };
        let pq = request.process_queue.clone();
        if pq.is_dropped() {
            return;
        }
        pq.touch_pull();
        if !self.is_running() {
            return self.pull_later(request, PULL_DELAY_WHEN_EXCEPTION);
        }
        if self.paused.load(Ordering::SeqCst) {
            return self.pull_later(request, PULL_DELAY_WHEN_SUSPENDED);
        }
        if pq.message_count() > self.config.pull_threshold_for_queue
            || pq.message_size() / (1024 * 1024) > self.config.pull_threshold_size_for_queue as u64
        {
            return self.pull_later(request, PULL_DELAY_WHEN_FLOW_CONTROL);
        }
        if self.orderly {
            if !pq.is_locked() {
                return self.pull_later(request, PULL_DELAY_WHEN_EXCEPTION);
            }
            if !request.previously_locked {
                // The lock is new: another member may have consumed further meanwhile.
                match self.compute_pull_from_where(&request.message_queue) {
                    Ok(offset) => {
                        request.previously_locked = true;
                        request.next_offset = offset;
                    }
                    Err(e) => {
                        log::warn!("start offset of {}: {e}", request.message_queue);
                        return self.pull_later(request, PULL_DELAY_WHEN_EXCEPTION);
                    }
                }
            }
        } else if pq.max_span() > self.config.consume_concurrently_max_span {
            return self.pull_later(request, PULL_DELAY_WHEN_FLOW_CONTROL);
        }
        let Some(subscription) = self.rebalance.subscription(&request.message_queue.topic) else {
            return self.pull_later(request, PULL_DELAY_WHEN_EXCEPTION);
        };
        let mut commit_offset = 0;
        if self.config.message_model == MessageModel::Clustering {
            commit_offset = self
                .offset_store
                .read_offset(&request.message_queue, ReadOffsetType::Memory);
        }
        let post_expression =
            self.config.post_subscription_when_pull && !subscription.class_filter_mode;
        let spec = PullSpec {
            queue: request.message_queue.clone(),
            offset: request.next_offset,
            max_nums: self.config.pull_batch_size,
            sys_flag: pull_sys_flag::build(
                commit_offset > 0,
                true,
                post_expression,
                subscription.class_filter_mode,
            ),
            commit_offset: commit_offset.max(0),
            suspend: BROKER_SUSPEND_MAX,
            timeout: PULL_TIMEOUT_WHEN_SUSPEND,
        };
        let began = Instant::now();
        self.pull_api.pull_async(
            spec,
            &subscription,
            Box::new(move |outcome| this.on_pull_result(request, outcome, began)),
        );
    }
}

impl RebalanceHandler for PushConsumerInner {
    fn consume_type(&self) -> ConsumeType {
        ConsumeType::ConsumePassively
    }

    fn message_queue_changed(&self, topic: &str, _all: &[MessageQueue], held: &[MessageQueue]) {
        log::info!(
            "group {}: now holds {} queue(s) of {topic}",
            self.config.group,
            held.len()
        );
        // Brokers learn the new share (and the subscription version) at once.
        self.instance.send_heartbeat_now();
    }

    fn remove_unnecessary_message_queue(&self, queue: &MessageQueue, pq: &ProcessQueue) -> bool {
        self.offset_store.persist(queue);
        self.offset_store.remove_offset(queue);
        if !(self.orderly && self.config.message_model == MessageModel::Clustering) {
            return true;
        }
        // Orderly: unlock at the broker only once no listener runs on the queue, waiting for
        // one to finish its batch at most CONSUME_LOCK_WAIT.
        let Some(_consuming) = pq.try_lock_consume(CONSUME_LOCK_WAIT) else {
            pq.inc_try_unlock_times();
            log::warn!("{queue} is being consumed; keeping it until the next rebalance");
            return false;
        };
        if pq.has_messages() {
            let queue = queue.clone();
            let inner = self.weak_self.clone();
            self.scheduler.schedule(UNLOCK_DELAY, move || {
                if let Some(inner) = inner.upgrade() {
                    inner.rebalance.unlock(&queue, true);
                }
            });
        } else {
            self.rebalance.unlock(queue, true);
        }
        true
    }

    fn remove_dirty_offset(&self, queue: &MessageQueue) {
        self.offset_store.remove_offset(queue);
    }

    /// `computePullFromWhereWithException`: the committed offset, else where `consume_from`
    /// says (a retry topic starts at 0).
    fn compute_pull_from_where(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        if let Some(committed) = committed_offset(&*self.offset_store, queue)? {
            return Ok(committed);
        }
        let retry = queue.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        match self.config.consume_from {
            ConsumeFrom::FirstOffset => Ok(0),
            ConsumeFrom::LastOffset if retry => Ok(0),
            ConsumeFrom::LastOffset => self.max_offset(queue),
            ConsumeFrom::Timestamp(_) if retry => self.max_offset(queue),
            ConsumeFrom::Timestamp(at) => {
                let addr = self.broker_of(queue)?;
                self.instance.api().search_offset(
                    &addr,
                    queue,
                    at,
                    self.instance.api_timeout_default(),
                )
            }
        }
    }

    fn dispatch_pull_requests(&self, requests: Vec<PullRequest>) {
        for request in requests {
            self.pull_now(request);
        }
    }
}

impl PushConsumerInner {
    fn broker_of(&self, queue: &MessageQueue) -> Result<String, ClientError> {
        let found = self.instance.find_broker_address(
            queue,
            BrokerChoice::Master,
            self.instance.api_timeout_default(),
        )?;
        Ok(found.addr)
    }

    fn max_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let addr = self.broker_of(queue)?;
        self.instance
            .api()
            .get_max_offset(&addr, queue, self.instance.api_timeout_default())
    }
}

impl ConsumeHost for PushConsumerInner {
    fn group(&self) -> &str {
        &self.config.group
    }

    fn namespace(&self) -> &Namespace {
        self.instance.namespace()
    }

    fn model(&self) -> MessageModel {
        self.config.message_model
    }

    fn max_reconsume_times(&self) -> i32 {
        self.max_reconsume()
    }

    fn stats(&self) -> &ConsumeStats {
        &self.stats
    }

    fn offset_store(&self) -> &dyn OffsetStore {
        &*self.offset_store
    }

    fn rebalance(&self) -> &RebalanceImpl {
        &self.rebalance
    }

    fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    fn send_message_back(
        &self,
        message: &MessageExt,
        delay_level: i32,
        broker_name: &str,
    ) -> Result<(), ClientError> {
        // The listener saw the topic without the namespace; the broker needs it back
        // (Java's `sendMessageBack`: `withNamespace(msg.getTopic())`).
        let wrapped;
        let message = match self.instance.namespace().wrap(&message.topic) {
            topic if topic != message.topic => {
                wrapped = MessageExt {
                    topic,
                    ..message.clone()
                };
                &wrapped
            }
            _ => message,
        };
        let addr = if broker_name.is_empty() {
            Ok(message.store_host.to_string())
        } else {
            let queue = MessageQueue::new(&message.topic, broker_name, message.queue_id);
            self.broker_of(&queue)
        };
        let sent = addr.and_then(|addr| {
            self.instance.api().consumer_send_message_back(
                &addr,
                message,
                &self.config.group,
                delay_level,
                self.max_reconsume(),
                SEND_BACK_TIMEOUT,
            )
        });
        match sent {
            Ok(()) => Ok(()),
            Err(e) => {
                log::warn!(
                    "CONSUMER_SEND_MSG_BACK of {} failed ({e}); sending it to the retry topic",
                    message.client_msg_id()
                );
                self.send_back_via_producer(message)
            }
        }
    }
}

impl ConsumerInner for PushConsumerInner {
    fn group_name(&self) -> &str {
        &self.config.group
    }

    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            group_name: self.config.group.clone(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(self.config.message_model),
            consume_from_where: Some(self.config.consume_from.java()),
            subscription_data_set: self.rebalance.subscriptions(),
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
        p.insert(
            prop::PROP_THREADPOOL_CORE_SIZE.into(),
            self.config.consume_threads.to_string(),
        );
        p.insert(prop::PROP_CONSUME_ORDERLY.into(), self.orderly.to_string());
        p.insert(prop::PROP_CONSUME_TYPE.into(), "CONSUME_PASSIVELY".into());
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
        p.insert(
            "consumeFromWhere".into(),
            self.config.consume_from.java().name().into(),
        );
        p.insert(
            "allocateMessageQueueStrategy".into(),
            self.config.allocate_strategy.name().into(),
        );
        p.insert(
            "pullBatchSize".into(),
            self.config.pull_batch_size.to_string(),
        );
        p.insert(
            "consumeMessageBatchMaxSize".into(),
            self.config.consume_message_batch_max_size.to_string(),
        );
        p.insert("maxReconsumeTimes".into(), self.max_reconsume().to_string());
        info.subscription_set = self.rebalance.subscriptions();
        for (queue, pq) in self.rebalance.process_queues() {
            let committed = self
                .offset_store
                .read_offset(&queue, ReadOffsetType::Memory);
            info.mq_table.insert(queue, pq.info(committed));
        }
        for subscription in &info.subscription_set {
            info.status_table.insert(
                subscription.topic.clone(),
                self.stats.status(&subscription.topic),
            );
        }
        info
    }

    fn reset_offset(&self, topic: &str, offsets: &BTreeMap<MessageQueue, i64>) {
        // Java's `resetOffset`: suspend, drop the queues, commit the new offsets, resume.
        self.paused.store(true, Ordering::SeqCst);
        let held: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .rebalance
            .process_queues()
            .into_iter()
            .filter(|(q, _)| q.topic == topic && offsets.contains_key(q))
            .collect();
        for (_, pq) in &held {
            pq.set_dropped(true);
            pq.clear();
        }
        for (queue, offset) in offsets {
            self.offset_store.update_offset(queue, *offset, false);
            self.offset_store.persist(queue);
        }
        for (queue, _) in &held {
            self.rebalance.remove_process_queue(queue);
        }
        self.paused.store(false, Ordering::SeqCst);
        self.rebalance_now();
    }

    fn consumer_status(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offset_store.offsets_of(topic)
    }

    fn consume_message_directly(
        &self,
        message: MessageExt,
        broker_name: Option<&str>,
    ) -> ConsumeMessageDirectlyResult {
        let queue = queue_of(&message.topic, broker_name, message.queue_id);
        match &self.consume {
            ConsumeService::Concurrently(s) => s.consume_directly(
                message,
                queue,
                &self.config.group,
                self.instance.namespace(),
            ),
            ConsumeService::Orderly(s) => s.consume_directly(
                message,
                queue,
                &self.config.group,
                self.instance.namespace(),
            ),
        }
    }
}
