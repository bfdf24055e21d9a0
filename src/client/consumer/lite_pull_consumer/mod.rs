//! `LitePullConsumer`: the consumer a blocking Rust program calls, `poll` after `poll`;
//! mirrors Java's `DefaultLitePullConsumer`.
//!
//! It pulls in the background like the push consumer (long polling, flow control) and keeps
//! what it pulled until `poll` asks. A group member `subscribe`s (the group shares the
//! queues) or `assign`s itself queues; offsets are committed every 5 s (auto-commit) or by
//! `commit_sync`.

mod inner;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use self::inner::{Background, LitePullInner, RUNNING, SHUTDOWN};
use super::allocate::{AllocateAveragely, AllocateMessageQueueStrategy};
use super::consumer_inner::ConsumerInner;
use super::group_start::{prepare_first_rebalance, start_consumer_thread, start_group_consumer};
use super::offset_store::{
    LocalFileOffsetStore, OffsetStore, ReadOffsetType, RemoteBrokerOffsetStore,
};
use super::push_consumer::ConsumeFrom;
use super::subscription::build_subscription_data;
use crate::client::shared::client_config::{client_settings_setters, ClientSettings};
use crate::client::shared::client_instance::MqClientInstance;
use crate::client::shared::error::ClientError;
use crate::client::shared::namespace::Namespace;
use crate::client::shared::validators::check_group;
use crate::common::service_thread::Schedule;
use crate::common::sync::MutexExt;
use crate::protocol::body::MessageModel;
use crate::protocol::message::{MessageExt, MessageQueue};

/// Settings of a [`LitePullConsumer`]; mirrors Java's `DefaultLitePullConsumer`, with its
/// defaults. Made by [`LitePullConsumerBuilder`].
#[derive(Clone)]
#[non_exhaustive]
pub struct LitePullConsumerConfig {
    /// The consumer group.
    pub group: String,
    /// Name servers, client id, header encoding, intervals, broker address overrides.
    pub client: ClientSettings,
    /// Clustering (each message to one member) or broadcasting.
    pub message_model: MessageModel,
    /// Where a group with no committed offset starts (`consumeFromWhere`, last offset).
    pub consume_from: ConsumeFrom,
    /// How the group shares queues (averagely).
    pub allocate_strategy: Arc<dyn AllocateMessageQueueStrategy>,
    /// Commit polled offsets every `auto_commit_interval` (`autoCommit`, on).
    pub auto_commit: bool,
    /// How often auto-commit commits (`autoCommitIntervalMillis`, 5 s).
    pub auto_commit_interval: Duration,
    /// Messages per pull (`pullBatchSize`, 10).
    pub pull_batch_size: i32,
    /// Messages held for `poll` across queues before pulls pause (`pullThresholdForAll`,
    /// 10,000).
    pub pull_threshold_for_all: usize,
    /// Messages held per queue before its pulls pause (`pullThresholdForQueue`, 1,000).
    pub pull_threshold_for_queue: usize,
    /// MiB held per queue before its pulls pause (`pullThresholdSizeForQueue`, 100).
    pub pull_threshold_size_for_queue: usize,
    /// Pulls pause while a queue's held offsets span more than this (`consumeMaxSpan`, 2,000).
    pub consume_max_span: i64,
    /// What `poll` waits when given no timeout (`pollTimeoutMillis`, 5 s).
    pub poll_timeout: Duration,
    /// How often queues are re-shared without a notification (20 s).
    pub rebalance_interval: Duration,
    /// Broadcasting: where local offset files go (`~/.rocketmq_offsets`).
    pub local_offset_store_dir: PathBuf,
}

impl fmt::Debug for LitePullConsumerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LitePullConsumerConfig")
            .field("group", &self.group)
            .field("client", &self.client)
            .field("message_model", &self.message_model)
            .field("consume_from", &self.consume_from)
            .field("auto_commit", &self.auto_commit)
            .field("pull_batch_size", &self.pull_batch_size)
            .finish_non_exhaustive()
    }
}

/// Builds and starts a [`LitePullConsumer`].
#[derive(Debug)]
pub struct LitePullConsumerBuilder {
    config: LitePullConsumerConfig,
    name_server: Option<String>,
    subscriptions: Vec<(String, String)>,
}

impl LitePullConsumerBuilder {
    client_settings_setters!();

    /// Subscribes to `topic` with a tag expression (`*`, or tags joined by `||`).
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions.push((topic.into(), expression.into()));
        self
    }

    /// Clustering (default) or broadcasting.
    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.config.message_model = model;
        self
    }

    /// Where a group with no committed offset starts (the queue's end).
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.config.consume_from = from;
        self
    }

    /// How the group shares queues (averagely).
    pub fn allocate_strategy(
        mut self,
        strategy: impl AllocateMessageQueueStrategy + 'static,
    ) -> Self {
        self.config.allocate_strategy = Arc::new(strategy);
        self
    }

    /// Commit polled offsets automatically (on).
    pub fn auto_commit(mut self, on: bool) -> Self {
        self.config.auto_commit = on;
        self
    }

    /// How often auto-commit commits (5 s; at least 1 s, as in Java).
    pub fn auto_commit_interval(mut self, interval: Duration) -> Self {
        self.config.auto_commit_interval = interval.max(Duration::from_secs(1));
        self
    }

    /// Messages per pull (10).
    pub fn pull_batch_size(mut self, size: i32) -> Self {
        self.config.pull_batch_size = size;
        self
    }

    /// What `poll` waits when given no timeout (5 s).
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.config.poll_timeout = timeout;
        self
    }

    /// How often queues are re-shared without a notification (20 s).
    pub fn rebalance_interval(mut self, interval: Duration) -> Self {
        self.config.rebalance_interval = interval;
        self
    }

    /// Broadcasting: where local offset files go.
    pub fn local_offset_store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.local_offset_store_dir = dir.into();
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &LitePullConsumerConfig {
        &self.config
    }

    /// Checks the settings, starts the background threads and, for subscriptions, takes the
    /// first share of the queues before returning.
    pub fn start(self) -> Result<LitePullConsumer, ClientError> {
        LitePullConsumer::start(self)
    }
}

/// A consumer whose caller asks for messages with [`poll`](LitePullConsumer::poll); mirrors
/// Java's `DefaultLitePullConsumer`.
///
/// ```
/// # let cluster = rocketmq_blocking::LocalCluster::start()?;
/// use std::time::Duration;
/// use rocketmq_blocking::client::{ConsumeFrom, LitePullConsumer, Message, Producer};
///
/// let producer = Producer::builder("doc_lite_producer")
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// producer.send(&Message::new("DocLite", "polled"))?;
///
/// let consumer = LitePullConsumer::builder("doc_lite_group")
///     .name_server(cluster.name_server_addr())
///     .subscribe("DocLite", "*")
///     .consume_from(ConsumeFrom::FirstOffset)
///     .start()?;
/// let mut got = Vec::new();
/// while got.is_empty() {
///     got = consumer.poll(Duration::from_secs(5));
/// }
/// assert_eq!(got[0].body, b"polled");
/// consumer.commit_sync();
/// consumer.shutdown();
/// producer.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LitePullConsumer {
    inner: Arc<LitePullInner>,
}

impl fmt::Debug for LitePullConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LitePullConsumer")
            .field("group", &self.inner.config.group)
            .field("client_id", &self.inner.instance.client_id())
            .field("running", &self.inner.is_running())
            .finish()
    }
}

impl LitePullConsumer {
    /// A builder with Java's defaults for consumer group `group`.
    pub fn builder(group: impl Into<String>) -> LitePullConsumerBuilder {
        LitePullConsumerBuilder {
            config: LitePullConsumerConfig {
                group: group.into(),
                client: ClientSettings::default(),
                message_model: MessageModel::Clustering,
                consume_from: ConsumeFrom::LastOffset,
                allocate_strategy: Arc::new(AllocateAveragely),
                auto_commit: true,
                auto_commit_interval: Duration::from_secs(5),
                pull_batch_size: 10,
                pull_threshold_for_all: 10_000,
                pull_threshold_for_queue: 1000,
                pull_threshold_size_for_queue: 100,
                consume_max_span: 2000,
                poll_timeout: Duration::from_secs(5),
                rebalance_interval: Duration::from_secs(20),
                local_offset_store_dir: super::push_consumer::default_local_offset_store_dir(),
            },
            name_server: None,
            subscriptions: Vec::new(),
        }
    }

    fn start(builder: LitePullConsumerBuilder) -> Result<LitePullConsumer, ClientError> {
        let LitePullConsumerBuilder {
            mut config,
            name_server,
            subscriptions,
        } = builder;
        check_group(&config.group)?;
        config.client.check_at_start(name_server.as_deref())?;
        // The cluster knows the group and topics by their namespaced names.
        let namespace = Namespace::new(config.client.namespace.as_deref());
        config.group = namespace.wrap(&config.group);
        let instance = MqClientInstance::new(config.client.clone(), None, Vec::new())?;
        let offset_store: Box<dyn OffsetStore> = match config.message_model {
            MessageModel::Clustering => Box::new(RemoteBrokerOffsetStore::new(
                instance.clone(),
                config.group.clone(),
            )),
            MessageModel::Broadcasting => {
                let store = LocalFileOffsetStore::new(
                    &config.local_offset_store_dir,
                    instance.client_id(),
                    &config.group,
                );
                store.load()?;
                Box::new(store)
            }
        };
        let inner = LitePullInner::new(config, instance, offset_store);
        for (topic, expression) in &subscriptions {
            inner
                .rebalance
                .subscribe(build_subscription_data(&namespace.wrap(topic), expression)?);
        }
        let consumer = LitePullConsumer { inner };
        consumer.start_threads()?;
        Ok(consumer)
    }

    /// The namespace topics are wrapped in.
    fn ns(&self) -> &Namespace {
        self.inner.instance.namespace()
    }

    fn start_threads(&self) -> Result<(), ClientError> {
        let inner = &self.inner;
        let pulls = start_group_consumer(inner, &inner.instance)?;
        let _ = inner.pull_service.set(pulls);
        inner.state.store(RUNNING, Ordering::SeqCst);
        let rebalance = start_consumer_thread(
            "rmq-rebalance",
            Schedule::every(inner.config.rebalance_interval),
            inner,
            LitePullInner::do_rebalance,
        )?;
        let _ = inner.rebalance_waker.set(rebalance.waker());
        let offsets = start_consumer_thread(
            "rmq-offsets",
            Schedule::every(inner.config.auto_commit_interval),
            inner,
            |inner: &LitePullInner| {
                if inner.config.auto_commit {
                    inner.commit_all();
                }
            },
        )?;
        *inner.background.lock_unpoisoned() = Some(Background { rebalance, offsets });
        prepare_first_rebalance(&inner.instance, &inner.rebalance.subscriptions());
        inner.do_rebalance();
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &LitePullConsumerConfig {
        &self.inner.config
    }

    /// This client's id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// Subscribes to `topic` (or changes its expression); the group shares its queues.
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        if self.inner.assigned.load(Ordering::SeqCst) {
            return Err(ClientError::invalid_argument(
                "subscribe",
                "this consumer was given its queues with assign",
            ));
        }
        let topic = &self.ns().wrap(topic);
        self.inner
            .rebalance
            .subscribe(build_subscription_data(topic, expression)?);
        if let Err(e) = self
            .inner
            .instance
            .update_topic_route(topic, self.inner.instance.api_timeout_default())
        {
            log::warn!("route of {topic}: {e}");
        }
        self.inner.instance.send_heartbeat_now();
        self.inner.rebalance_now();
        Ok(())
    }

    /// Stops consuming `topic`.
    pub fn unsubscribe(&self, topic: &str) {
        self.inner.rebalance.unsubscribe(&self.ns().wrap(topic));
        self.inner.rebalance_now();
    }

    /// Consumes exactly `queues`, outside any group sharing (`assign`); replaces earlier
    /// assignments. Their offsets are still the group's.
    pub fn assign(&self, queues: Vec<MessageQueue>) -> Result<(), ClientError> {
        self.inner.assigned.store(true, Ordering::SeqCst);
        let queues: Vec<MessageQueue> = queues.iter().map(|q| self.ns().wrap_queue(q)).collect();
        for topic in queues.iter().map(|q| q.topic.clone()) {
            if self.inner.rebalance.subscription(&topic).is_none() {
                self.inner
                    .rebalance
                    .subscribe(build_subscription_data(&topic, "*")?);
            }
        }
        self.inner.rebalance.assign(&*self.inner, &queues);
        Ok(())
    }

    /// The queues held now (`assignment`).
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.inner
            .rebalance
            .process_queues()
            .into_iter()
            .map(|(q, _)| self.ns().unwrap_queue(&q))
            .collect()
    }

    /// The next batch pulled, waiting up to `timeout`; empty when none came (`poll`).
    pub fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        if !self.inner.is_running() {
            return Vec::new();
        }
        let mut messages = self.inner.poll(timeout);
        self.ns().unwrap_messages(&mut messages);
        messages
    }

    /// An endless iterator over polled messages, waiting the configured poll timeout for
    /// each batch; it ends only when the consumer is shut down.
    pub fn iter(&self) -> impl Iterator<Item = MessageExt> + '_ {
        std::iter::from_fn(move || loop {
            if !self.inner.is_running() {
                return None;
            }
            let batch = self.poll(self.inner.config.poll_timeout);
            if !batch.is_empty() {
                return Some(batch);
            }
        })
        .flatten()
    }

    /// Commits the offsets of everything polled so far (`commitSync`).
    pub fn commit_sync(&self) {
        self.inner.commit_all();
    }

    /// Sets and optionally commits the given offsets (`commitSync(Map, persist)`).
    pub fn commit(&self, offsets: &BTreeMap<MessageQueue, i64>, persist: bool) {
        let offsets = offsets
            .iter()
            .map(|(q, offset)| (self.ns().wrap_queue(q), *offset))
            .collect();
        self.inner.commit(&offsets, persist);
    }

    /// The offset the group committed for `queue`, from its broker (`committed`).
    pub fn committed(&self, queue: &MessageQueue) -> i64 {
        self.inner
            .offset_store
            .read_offset(&self.ns().wrap_queue(queue), ReadOffsetType::Store)
    }

    /// Pulls of `queue` continue from `offset` (`seek`); unpolled messages are dropped.
    pub fn seek(&self, queue: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        let (min, max) = (self.inner.min_offset(queue)?, self.inner.max_offset(queue)?);
        if offset < min || offset > max {
            return Err(ClientError::invalid_argument(
                "offset",
                format!("{offset} is outside {queue}'s range {min}..={max}"),
            ));
        }
        self.inner.seek(queue, offset)
    }

    /// Pulls of `queue` continue from its first offset (`seekToBegin`).
    pub fn seek_to_begin(&self, queue: &MessageQueue) -> Result<(), ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        let min = self.inner.min_offset(queue)?;
        self.inner.seek(queue, min)
    }

    /// Pulls of `queue` continue from its end (`seekToEnd`).
    pub fn seek_to_end(&self, queue: &MessageQueue) -> Result<(), ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        let max = self.inner.max_offset(queue)?;
        self.inner.seek(queue, max)
    }

    /// Stops pulling and polling `queues` until they resume (`pause`); what was pulled
    /// meanwhile waits.
    pub fn pause(&self, queues: &[MessageQueue]) {
        let queues: Vec<MessageQueue> = queues.iter().map(|q| self.ns().wrap_queue(q)).collect();
        self.inner.pause(&queues);
    }

    /// Resumes pulling `queues` (`resume`).
    pub fn resume(&self, queues: &[MessageQueue]) {
        let queues: Vec<MessageQueue> = queues.iter().map(|q| self.ns().wrap_queue(q)).collect();
        self.inner.resume(&queues);
    }

    /// The readable queues of `topic`, from a fresh route (`fetchMessageQueues`).
    pub fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        let queues = self
            .inner
            .instance
            .fetch_subscribe_queues(&self.ns().wrap(topic))?;
        Ok(queues.iter().map(|q| self.ns().unwrap_queue(q)).collect())
    }

    /// The first offset of `queue` stored at or after `timestamp`, ms (`offsetForTimestamp`).
    pub fn offset_for_timestamp(
        &self,
        queue: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64, ClientError> {
        self.inner
            .offset_for_timestamp(&self.ns().wrap_queue(queue), timestamp)
    }

    /// Commits (with auto-commit on), unregisters and joins every thread.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        if inner.state.swap(SHUTDOWN, Ordering::SeqCst) != RUNNING {
            return;
        }
        inner.instance.begin_shutdown();
        if let Some(pulls) = inner.pull_service.get() {
            pulls.shutdown();
        }
        if let Some(background) = inner.background.lock_unpoisoned().take() {
            background.rebalance.stop();
            background.offsets.stop();
        }
        if inner.config.auto_commit {
            inner.commit_all();
        }
        inner.rebalance.drop_all();
        inner.instance.shutdown();
    }
}

impl Drop for LitePullConsumer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
