//! `LitePullConsumer`: the consumer a blocking Rust program calls, `poll` after `poll`;
//! mirrors Java's `DefaultLitePullConsumer`.
//!
//! It pulls in the background on the same engine as the push consumer (`engine/`: long
//! polling, flow control, rebalance, offsets) and keeps what it pulled until `poll` asks: its
//! delivery is a queue, not a listener. A group member `subscribe`s (the group shares the
//! queues) or `assign`s itself queues; offsets are committed every 5 s (auto-commit) or by
//! `commit_sync`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::allocate::AllocateAveragely;
use super::config::{
    default_local_offset_store_dir, start_group, LitePullConsumerBuilder, LitePullConsumerConfig,
};
use super::consume_from::ConsumeFrom;
use super::engine::{ConsumerEngine, PollQueue, ReadOffsetType};
use super::subscription::{build_subscription_data, MessageSelector};
use crate::client::shared::client_config::ClientSettings;
use crate::client::shared::error::ClientError;
use crate::client::shared::namespace::Namespace;
use crate::protocol::body::MessageModel;
use crate::protocol::message::{MessageExt, MessageQueue};

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
    config: LitePullConsumerConfig,
    engine: Arc<ConsumerEngine>,
}

impl fmt::Debug for LitePullConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LitePullConsumer")
            .field("engine", &self.engine)
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
                local_offset_store_dir: default_local_offset_store_dir(),
            },
            name_server: None,
            subscriptions: Vec::new(),
        }
    }

    /// The namespace topics are wrapped in.
    fn ns(&self) -> &Namespace {
        self.engine.instance().namespace()
    }

    /// The queue `poll` takes from (every lite consumer's engine has one).
    fn polls(&self) -> Result<&PollQueue, ClientError> {
        self.engine.poll_queue().ok_or(ClientError::ShutDown)
    }

    /// The configuration.
    pub fn config(&self) -> &LitePullConsumerConfig {
        &self.config
    }

    /// This client's id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        self.engine.instance().client_id()
    }

    /// Subscribes to `topic` (or changes its selector: a tag expression, a `&str`, or a
    /// [`MessageSelector`]); the group shares its queues.
    pub fn subscribe(
        &self,
        topic: &str,
        selector: impl Into<MessageSelector>,
    ) -> Result<(), ClientError> {
        if self.engine.is_assigned() {
            return Err(ClientError::invalid_argument(
                "subscribe",
                "this consumer was given its queues with assign",
            ));
        }
        let topic = &self.ns().wrap(topic);
        let subscription = build_subscription_data(topic, &selector.into())?;
        let instance = self.engine.instance();
        if let Err(e) = instance.update_topic_route(topic, instance.api_timeout_default()) {
            log::warn!("route of {topic}: {e}");
        }
        self.engine.check_subscription(&subscription)?;
        self.engine.subscribe(subscription);
        Ok(())
    }

    /// Stops consuming `topic`.
    pub fn unsubscribe(&self, topic: &str) {
        self.engine.unsubscribe(&self.ns().wrap(topic));
    }

    /// Consumes exactly `queues`, outside any group sharing (`assign`); replaces earlier
    /// assignments. Their offsets are still the group's.
    pub fn assign(&self, queues: Vec<MessageQueue>) -> Result<(), ClientError> {
        let queues: Vec<MessageQueue> = queues.iter().map(|q| self.ns().wrap_queue(q)).collect();
        self.engine.assign(&queues)
    }

    /// The queues held now (`assignment`).
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.engine
            .rebalance()
            .process_queues()
            .into_iter()
            .map(|(q, _)| self.ns().unwrap_queue(&q))
            .collect()
    }

    /// The next batch pulled, waiting up to `timeout`; empty when none came (`poll`). The
    /// messages are the ones the pull decoded, moved here: their bodies share the bytes
    /// the connection read.
    pub fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        let Ok(polls) = self.polls() else {
            return Vec::new();
        };
        if !self.engine.is_running() {
            return Vec::new();
        }
        let (messages, commit_due) = polls.poll(timeout);
        if commit_due {
            self.engine.persist_offsets();
        }
        messages
    }

    /// An endless iterator over polled messages, waiting the configured poll timeout for
    /// each batch; it ends only when the consumer is shut down.
    pub fn iter(&self) -> impl Iterator<Item = MessageExt> + '_ {
        std::iter::from_fn(move || loop {
            if !self.engine.is_running() {
                return None;
            }
            let batch = self.poll(self.config.poll_timeout);
            if !batch.is_empty() {
                return Some(batch);
            }
        })
        .flatten()
    }

    /// Commits the offsets of everything polled so far (`commitSync`), waiting for the
    /// brokers to take them.
    pub fn commit_sync(&self) {
        self.engine.persist_offsets_sync();
    }

    /// Sets and optionally commits the given offsets (`commitSync(Map, persist)`).
    pub fn commit(&self, offsets: &BTreeMap<MessageQueue, i64>, persist: bool) {
        let offsets: BTreeMap<MessageQueue, i64> = offsets
            .iter()
            .map(|(q, offset)| (self.ns().wrap_queue(q), *offset))
            .collect();
        let store = self.engine.offsets();
        for (queue, offset) in &offsets {
            store.update_offset(queue, *offset, false);
        }
        if let Ok(polls) = self.polls() {
            polls.set_consume_offsets(&offsets);
        }
        if persist {
            let queues: Vec<MessageQueue> = offsets.into_keys().collect();
            store.persist_all(&queues);
        }
    }

    /// The offset the group committed for `queue`, from its broker (`committed`).
    pub fn committed(&self, queue: &MessageQueue) -> i64 {
        self.engine
            .offsets()
            .read_offset(&self.ns().wrap_queue(queue), ReadOffsetType::Store)
    }

    /// Pulls of `queue` continue from `offset` (`seek`); unpolled messages are dropped.
    pub fn seek(&self, queue: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        let (min, max) = (self.min_offset(queue)?, self.max_offset(queue)?);
        if offset < min || offset > max {
            return Err(ClientError::invalid_argument(
                "offset",
                format!("{offset} is outside {queue}'s range {min}..={max}"),
            ));
        }
        self.engine.seek(queue, offset)
    }

    /// Pulls of `queue` continue from its first offset (`seekToBegin`).
    pub fn seek_to_begin(&self, queue: &MessageQueue) -> Result<(), ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        let min = self.min_offset(queue)?;
        self.engine.seek(queue, min)
    }

    /// Pulls of `queue` continue from its end (`seekToEnd`).
    pub fn seek_to_end(&self, queue: &MessageQueue) -> Result<(), ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        let max = self.max_offset(queue)?;
        self.engine.seek(queue, max)
    }

    /// Stops pulling and polling `queues` until they resume (`pause`); what was pulled
    /// meanwhile waits.
    pub fn pause(&self, queues: &[MessageQueue]) {
        let queues: Vec<MessageQueue> = queues.iter().map(|q| self.ns().wrap_queue(q)).collect();
        if let Ok(polls) = self.polls() {
            polls.pause(&queues);
        }
    }

    /// Resumes pulling `queues` (`resume`).
    pub fn resume(&self, queues: &[MessageQueue]) {
        let queues: Vec<MessageQueue> = queues.iter().map(|q| self.ns().wrap_queue(q)).collect();
        if let Ok(polls) = self.polls() {
            polls.resume(&queues);
        }
    }

    /// The readable queues of `topic`, from a fresh route (`fetchMessageQueues`).
    pub fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        let queues = self
            .engine
            .instance()
            .fetch_subscribe_queues(&self.ns().wrap(topic))?;
        Ok(queues.iter().map(|q| self.ns().unwrap_queue(q)).collect())
    }

    /// The first offset of `queue` stored at or after `timestamp`, ms (`offsetForTimestamp`).
    pub fn offset_for_timestamp(
        &self,
        queue: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64, ClientError> {
        let instance = self.engine.instance();
        let queue = &self.ns().wrap_queue(queue);
        instance.search_offset(queue, timestamp, instance.api_timeout_default())
    }

    /// The queue's first offset (`minOffset`).
    fn min_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let instance = self.engine.instance();
        instance.min_offset(queue, instance.api_timeout_default())
    }

    /// One past the queue's last offset (`maxOffset`).
    fn max_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let instance = self.engine.instance();
        instance.max_offset(queue, instance.api_timeout_default())
    }

    /// Commits (with auto-commit on), unregisters and joins every thread.
    pub fn shutdown(&self) {
        self.engine.shutdown();
    }
}

impl Drop for LitePullConsumer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl LitePullConsumerBuilder {
    /// Checks the settings, starts the background threads and, for subscriptions, takes the
    /// first share of the queues before returning.
    pub fn start(self) -> Result<LitePullConsumer, ClientError> {
        let LitePullConsumerBuilder {
            mut config,
            name_server,
            subscriptions,
        } = self;
        let subscriptions = start_group(
            &mut config.group,
            &mut config.client,
            name_server.as_deref(),
            &subscriptions,
        )?;
        let engine = ConsumerEngine::start(config.engine_settings(), subscriptions)?;
        Ok(LitePullConsumer { config, engine })
    }
}
