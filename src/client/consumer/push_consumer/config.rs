//! `PushConsumerConfig` and `PushConsumerBuilder`; mirrors the fields of Java's
//! `DefaultMQPushConsumer`, with its defaults.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::PushConsumer;
use crate::client::consumer::allocate::{AllocateAveragely, AllocateMessageQueueStrategy};
use crate::client::consumer::listener::{MessageListenerConcurrently, MessageListenerOrderly};
use crate::client::shared::client_config::{client_settings_setters, ClientSettings};
use crate::client::shared::error::ClientError;
use crate::protocol::body::MessageModel;

/// Where a group with no committed offset for a queue starts; mirrors Java's
/// `ConsumeFromWhere` (the three that are not deprecated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFrom {
    /// The queue's end: only messages sent from now on (`CONSUME_FROM_LAST_OFFSET`).
    LastOffset,
    /// The queue's first message still stored (`CONSUME_FROM_FIRST_OFFSET`).
    FirstOffset,
    /// The first message stored at or after this time, ms since the Unix epoch
    /// (`CONSUME_FROM_TIMESTAMP`).
    Timestamp(i64),
}

impl ConsumeFrom {
    /// The Java constant heartbeats announce.
    pub(crate) fn java(self) -> crate::protocol::body::ConsumeFromWhere {
        use crate::protocol::body::ConsumeFromWhere as W;
        match self {
            ConsumeFrom::LastOffset => W::ConsumeFromLastOffset,
            ConsumeFrom::FirstOffset => W::ConsumeFromFirstOffset,
            ConsumeFrom::Timestamp(_) => W::ConsumeFromTimestamp,
        }
    }
}

/// The listener a push consumer calls.
#[derive(Clone)]
pub(crate) enum Listener {
    Concurrently(Arc<dyn MessageListenerConcurrently>),
    Orderly(Arc<dyn MessageListenerOrderly>),
}

/// Settings of a [`PushConsumer`]; mirrors Java's `DefaultMQPushConsumer`, with its defaults.
/// Made by [`PushConsumerBuilder`]; read back with [`PushConsumer::config`].
#[derive(Clone)]
#[non_exhaustive]
pub struct PushConsumerConfig {
    /// The consumer group (`consumerGroup`).
    pub group: String,
    /// Name servers, client id, header encoding, intervals, broker address overrides.
    pub client: ClientSettings,
    /// Clustering (each message to one member) or broadcasting (to every member).
    pub message_model: MessageModel,
    /// Where a group with no committed offset starts (`consumeFromWhere`, last offset).
    pub consume_from: ConsumeFrom,
    /// How the group shares queues (`allocateMessageQueueStrategy`, averagely).
    pub allocate_strategy: Arc<dyn AllocateMessageQueueStrategy>,
    /// Topic and tag expression of each subscription (`subscribe`).
    pub subscriptions: Vec<(String, String)>,
    /// Threads running the listener (`consumeThreadMin`/`Max`, 20). Never more, whatever
    /// the number of queues.
    pub consume_threads: usize,
    /// Messages a queue may hold unconsumed before its pulls pause (`pullThresholdForQueue`,
    /// 1,000).
    pub pull_threshold_for_queue: usize,
    /// MiB a queue may hold unconsumed before its pulls pause (`pullThresholdSizeForQueue`,
    /// 100).
    pub pull_threshold_size_for_queue: usize,
    /// Concurrent only: pulls pause while a queue's oldest and newest unconsumed messages are
    /// further apart than this (`consumeConcurrentlyMaxSpan`, 2,000).
    pub consume_concurrently_max_span: i64,
    /// Pause between a queue's pulls (`pullInterval`, none).
    pub pull_interval: Duration,
    /// Messages per pull (`pullBatchSize`, 32).
    pub pull_batch_size: i32,
    /// Messages per listener call (`consumeMessageBatchMaxSize`, 1).
    pub consume_message_batch_max_size: usize,
    /// Send the tag expression with every pull (`postSubscriptionWhenPull`, false: the broker
    /// has it from the heartbeat).
    pub post_subscription_when_pull: bool,
    /// Redeliveries before the dead-letter topic (`maxReconsumeTimes`; None: 16 for a
    /// concurrent listener, unlimited for an orderly one).
    pub max_reconsume_times: Option<i32>,
    /// Orderly: how long a queue rests after `SuspendCurrentQueueAMoment`
    /// (`suspendCurrentQueueTimeMillis`, 1 s).
    pub suspend_current_queue_time: Duration,
    /// A listener running longer than this on a message has it sent back, so its queue's
    /// offset moves on (`consumeTimeout`, 15 min).
    pub consume_timeout: Duration,
    /// How long `shutdown` waits for listeners in progress (5 s; Java's
    /// `awaitTerminationMillisWhenShutdown`, 0, loses nothing either: unfinished messages
    /// are not committed and come again).
    pub await_termination: Duration,
    /// How often offsets are committed to the brokers (`persistConsumerOffsetInterval`, 5 s).
    pub persist_offset_interval: Duration,
    /// How often the group's queues are re-shared without a notification (20 s).
    pub rebalance_interval: Duration,
    /// Broadcasting: the directory of the local offset files
    /// (`rocketmq.client.localOffsetStoreDir`, `~/.rocketmq_offsets`).
    pub local_offset_store_dir: PathBuf,
}

impl fmt::Debug for PushConsumerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushConsumerConfig")
            .field("group", &self.group)
            .field("client", &self.client)
            .field("message_model", &self.message_model)
            .field("consume_from", &self.consume_from)
            .field("allocate_strategy", &self.allocate_strategy.name())
            .field("subscriptions", &self.subscriptions)
            .field("consume_threads", &self.consume_threads)
            .field("pull_batch_size", &self.pull_batch_size)
            .field("max_reconsume_times", &self.max_reconsume_times)
            .finish_non_exhaustive()
    }
}

impl PushConsumerConfig {
    pub(crate) fn new(group: String) -> Self {
        PushConsumerConfig {
            group,
            client: ClientSettings::default(),
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            allocate_strategy: Arc::new(AllocateAveragely),
            subscriptions: Vec::new(),
            consume_threads: 20,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100,
            consume_concurrently_max_span: 2000,
            pull_interval: Duration::ZERO,
            pull_batch_size: 32,
            consume_message_batch_max_size: 1,
            post_subscription_when_pull: false,
            max_reconsume_times: None,
            suspend_current_queue_time: Duration::from_secs(1),
            consume_timeout: Duration::from_secs(15 * 60),
            await_termination: Duration::from_secs(5),
            persist_offset_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
            local_offset_store_dir: default_local_offset_store_dir(),
        }
    }

    /// The redeliveries allowed for this listener kind (`getMaxReconsumeTimes`).
    pub(crate) fn effective_max_reconsume_times(&self, orderly: bool) -> i32 {
        match self.max_reconsume_times {
            Some(n) if n >= 0 => n,
            _ if orderly => i32::MAX,
            _ => 16,
        }
    }
}

/// `~/.rocketmq_offsets`, as Java's `LocalFileOffsetStore`.
pub(crate) fn default_local_offset_store_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".rocketmq_offsets")
}

/// Builds and starts a [`PushConsumer`].
pub struct PushConsumerBuilder {
    pub(super) config: PushConsumerConfig,
    pub(super) name_server: Option<String>,
    pub(super) listener: Option<Listener>,
}

impl fmt::Debug for PushConsumerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushConsumerBuilder")
            .field("config", &self.config)
            .field("listener", &self.listener.is_some())
            .finish()
    }
}

impl PushConsumerBuilder {
    pub(super) fn new(group: impl Into<String>) -> Self {
        PushConsumerBuilder {
            config: PushConsumerConfig::new(group.into()),
            name_server: None,
            listener: None,
        }
    }

    client_settings_setters!();

    /// Subscribes to `topic` with a tag expression: `*` for every message, or tags joined by
    /// `||` (`subscribe`). May be called for several topics.
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.config
            .subscriptions
            .push((topic.into(), expression.into()));
        self
    }

    /// The listener, run concurrently on the consume pool (`registerMessageListener`).
    pub fn message_listener_concurrently(
        mut self,
        listener: impl MessageListenerConcurrently + 'static,
    ) -> Self {
        self.listener = Some(Listener::Concurrently(Arc::new(listener)));
        self
    }

    /// The listener, run one batch at a time per queue, in queue order, with the queue
    /// locked at the broker (`registerMessageListener` with a `MessageListenerOrderly`).
    pub fn message_listener_orderly(
        mut self,
        listener: impl MessageListenerOrderly + 'static,
    ) -> Self {
        self.listener = Some(Listener::Orderly(Arc::new(listener)));
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

    /// How the group shares queues ([`AllocateAveragely`]).
    pub fn allocate_strategy(
        mut self,
        strategy: impl AllocateMessageQueueStrategy + 'static,
    ) -> Self {
        self.config.allocate_strategy = Arc::new(strategy);
        self
    }

    /// Threads running the listener (20).
    pub fn consume_threads(mut self, threads: usize) -> Self {
        self.config.consume_threads = threads;
        self
    }

    /// Messages per pull (32).
    pub fn pull_batch_size(mut self, size: i32) -> Self {
        self.config.pull_batch_size = size;
        self
    }

    /// Messages per listener call (1).
    pub fn consume_message_batch_max_size(mut self, size: usize) -> Self {
        self.config.consume_message_batch_max_size = size;
        self
    }

    /// Unconsumed messages a queue may hold before its pulls pause (1,000).
    pub fn pull_threshold_for_queue(mut self, messages: usize) -> Self {
        self.config.pull_threshold_for_queue = messages;
        self
    }

    /// Unconsumed MiB a queue may hold before its pulls pause (100).
    pub fn pull_threshold_size_for_queue(mut self, mib: usize) -> Self {
        self.config.pull_threshold_size_for_queue = mib;
        self
    }

    /// Send the tag expression with every pull (off: the broker has it from the heartbeat).
    pub fn post_subscription_when_pull(mut self, post: bool) -> Self {
        self.config.post_subscription_when_pull = post;
        self
    }

    /// Redeliveries before the dead-letter topic (16 concurrent, unlimited orderly).
    pub fn max_reconsume_times(mut self, times: i32) -> Self {
        self.config.max_reconsume_times = Some(times);
        self
    }

    /// Orderly: how long a suspended queue rests (1 s).
    pub fn suspend_current_queue_time(mut self, time: Duration) -> Self {
        self.config.suspend_current_queue_time = time;
        self
    }

    /// How long a listener may run on a message before it is sent back (15 min).
    pub fn consume_timeout(mut self, timeout: Duration) -> Self {
        self.config.consume_timeout = timeout;
        self
    }

    /// How long `shutdown` waits for listeners in progress (5 s).
    pub fn await_termination(mut self, wait: Duration) -> Self {
        self.config.await_termination = wait;
        self
    }

    /// How often offsets are committed (5 s).
    pub fn persist_offset_interval(mut self, interval: Duration) -> Self {
        self.config.persist_offset_interval = interval;
        self
    }

    /// How often queues are re-shared without a notification (20 s).
    pub fn rebalance_interval(mut self, interval: Duration) -> Self {
        self.config.rebalance_interval = interval;
        self
    }

    /// Broadcasting: where local offset files go (`~/.rocketmq_offsets`).
    pub fn local_offset_store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.local_offset_store_dir = dir.into();
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &PushConsumerConfig {
        &self.config
    }

    /// Checks the settings, starts the consumer's threads, and starts consuming: the first
    /// rebalance runs before this returns.
    pub fn start(self) -> Result<PushConsumer, ClientError> {
        PushConsumer::start(self)
    }
}
