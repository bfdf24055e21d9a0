//! Settings and builders of the push and the lite pull consumer, side by side: Java's
//! `DefaultMQPushConsumer` and `DefaultLitePullConsumer` fields with their defaults. What
//! they share is written once: the checks of
//! `start`, the common setters and the engine settings made of the common fields.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::allocate::{AllocateAveragely, AllocateMessageQueueStrategy};
use super::consume_from::ConsumeFrom;
use super::consume_hook::ConsumeMessageHook;
use super::engine::{DeliverySettings, EngineSettings, PopSettings, PullSettings};
use super::listener::{Listener, MessageListenerConcurrently, MessageListenerOrderly};
use super::subscription::{build_subscription_data, MessageSelector};
use crate::client::shared::client_config::{client_settings_setters, ClientSettings};
use crate::client::shared::error::ClientError;
use crate::client::shared::namespace::Namespace;
use crate::client::shared::validators::check_group;
use crate::client::trace::async_trace_dispatcher::{AsyncTraceDispatcher, DispatcherType};
use crate::client::trace::hook::ConsumeMessageTraceHookImpl;
use crate::protocol::body::{MessageModel, SubscriptionData};

/// What a group consumer's `start` checks and names first: the group, the name servers
/// (given, else `NAMESRV_ADDR`, else the address service); then the group, namespaced as the
/// cluster knows it, and the subscriptions of `(topic, selector)` pairs.
pub(super) fn start_group(
    group: &mut String,
    client: &mut ClientSettings,
    name_server: Option<&str>,
    subscriptions: &[(String, MessageSelector)],
) -> Result<Vec<SubscriptionData>, ClientError> {
    check_group(group)?;
    client.check_at_start(name_server)?;
    let namespace = Namespace::new(client.namespace.as_deref());
    *group = namespace.wrap(group);
    subscriptions
        .iter()
        .map(|(topic, selector)| build_subscription_data(&namespace.wrap(topic), selector))
        .collect()
}

/// The most messages one pop may ask for (a broker answers INVALID_PARAMETER above).
pub(super) const MAX_POP_BATCH_SIZE: i32 = 32;

/// `~/.rocketmq_offsets`, as Java's `LocalFileOffsetStore`.
pub(super) fn default_local_offset_store_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".rocketmq_offsets")
}

/// The setters both group consumers' builders have, for a builder whose settings are
/// `self.config` with the fields these set; `$pull_batch_size` is the default the docs name.
macro_rules! group_consumer_setters {
    ($pull_batch_size:literal) => {
        /// Clustering (default: each message to one member of the group) or broadcasting
        /// (each message to every member).
        pub fn message_model(mut self, model: MessageModel) -> Self {
            self.config.message_model = model;
            self
        }

        /// Where a group with no committed offset starts (default: the queue's end).
        pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
            self.config.consume_from = from;
            self
        }

        /// How the group shares queues (default: [`AllocateAveragely`]).
        ///
        /// [`AllocateAveragely`]: crate::client::AllocateAveragely
        pub fn allocate_strategy(
            mut self,
            strategy: impl AllocateMessageQueueStrategy + 'static,
        ) -> Self {
            self.config.allocate_strategy = Arc::new(strategy);
            self
        }

        #[doc = concat!("Messages per pull (", $pull_batch_size, ").")]
        pub fn pull_batch_size(mut self, size: i32) -> Self {
            self.config.pull_batch_size = size;
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

        /// Adds a hook run around each listener call (each batch `poll` returns)
        /// (`registerConsumeMessageHook`).
        pub fn consume_message_hook(mut self, hook: Arc<dyn ConsumeMessageHook>) -> Self {
            self.consume_hooks.push(hook);
            self
        }

        /// Writes message trace that Apache's tools read: a `SubBefore` and a `SubAfter`
        /// record for each listener call (each batch `poll` returns), sent to the trace
        /// topic by an inner producer (`_INNER_TRACE_PRODUCER-<group>-CONSUME-<n>`) with
        /// this consumer's name servers and credentials (Java's `enableMsgTrace`). Never
        /// blocks or fails a consume: a record that does not fit the dispatcher's queue
        /// (2,048) is dropped and counted. Messages a broker stored without `MSG_REGION`
        /// are not traced, as in Java.
        pub fn enable_trace(mut self) -> Self {
            self.config.enable_trace = true;
            self
        }

        /// The topic trace records go to (`RMQ_SYS_TRACE_TOPIC`); takes effect with
        /// [`enable_trace`](Self::enable_trace).
        pub fn trace_topic(mut self, topic: impl Into<String>) -> Self {
            self.config.trace_topic = Some(topic.into());
            self
        }
    };
}

/// Starts message trace for a group consumer configured with `enable_trace`: its
/// dispatcher, whose hook joins `hooks`.
pub(super) fn start_trace(
    enable_trace: bool,
    trace_topic: Option<&str>,
    group: &str,
    client: &ClientSettings,
    hooks: &mut Vec<Arc<dyn ConsumeMessageHook>>,
) -> Result<Option<Arc<AsyncTraceDispatcher>>, ClientError> {
    if !enable_trace {
        return Ok(None);
    }
    let dispatcher = AsyncTraceDispatcher::start(
        group,
        DispatcherType::Consume,
        trace_topic,
        client,
        Vec::new(),
    )?;
    let namespace = Namespace::new(client.namespace.as_deref());
    hooks.push(Arc::new(ConsumeMessageTraceHookImpl::new(
        dispatcher.clone(),
        namespace,
    )));
    Ok(Some(dispatcher))
}

/// The engine settings of a group consumer's `$config`: its common fields read here once,
/// with what differs between the push and the lite consumer given (`pull`, `delivery`).
macro_rules! engine_settings {
    (
        $config:expr,
        pull: { $($pull_field:ident: $pull_value:expr),* $(,)? },
        delivery: $delivery:expr $(,)?
    ) => {
        EngineSettings {
            group: $config.group.clone(),
            client: $config.client.clone(),
            message_model: $config.message_model,
            consume_from: $config.consume_from,
            allocate_strategy: $config.allocate_strategy.clone(),
            pull: PullSettings {
                batch_size: $config.pull_batch_size,
                threshold_for_queue: $config.pull_threshold_for_queue,
                threshold_size_for_queue: $config.pull_threshold_size_for_queue,
                $($pull_field: $pull_value),*
            },
            pop: PopSettings::default(),
            rebalance_interval: $config.rebalance_interval,
            local_offset_store_dir: $config.local_offset_store_dir.clone(),
            delivery: $delivery,
            consume_hooks: Vec::new(),
        }
    };
}

// ----- the push consumer ----------------------------------------------------------------

/// How long the broker may hold a push consumer's pull (`BROKER_SUSPEND_MAX_TIME_MILLIS`).
const PUSH_BROKER_SUSPEND_MAX: Duration = Duration::from_secs(15);

/// Settings of a [`PushConsumer`](super::PushConsumer); mirrors Java's `DefaultMQPushConsumer`, with its defaults.
/// Made by [`PushConsumerBuilder`]; read back with [`PushConsumer::config`](super::PushConsumer::config).
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
    /// Topic and selector of each subscription (`subscribe`).
    pub subscriptions: Vec<(String, MessageSelector)>,
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
    /// Share queues in the client (`clientRebalance`, true). False: a broker assigns them
    /// (QUERY_ASSIGNMENT) and says, per topic, whether to pull or to pop them, as `mqadmin
    /// setConsumeMode` set the group (RocketMQ 5 brokers). An orderly or broadcasting
    /// consumer always shares them itself, as in Java.
    pub client_rebalance: bool,
    /// POP: how long popped messages stay invisible to the group while the listener has them
    /// (`popInvisibleTime`, 60 s; Java takes 5 s to 300 s and pops with 60 s otherwise).
    pub pop_invisible_time: Duration,
    /// POP: messages per pop (`popBatchNums`, 32; brokers allow at most 32).
    pub pop_batch_size: i32,
    /// POP: popped messages a queue may have waiting for their ack before its pops pause
    /// (`popThresholdForQueue`, 96).
    pub pop_threshold_for_queue: usize,
    /// Write message trace records of each listener call (`enableTrace`, off).
    pub enable_trace: bool,
    /// Where trace records go (`traceTopic`; None: `RMQ_SYS_TRACE_TOPIC`).
    pub trace_topic: Option<String>,
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
            .field("client_rebalance", &self.client_rebalance)
            .finish_non_exhaustive()
    }
}

impl PushConsumerConfig {
    fn new(group: String) -> Self {
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
            client_rebalance: true,
            pop_invisible_time: Duration::from_secs(60),
            pop_batch_size: 32,
            pop_threshold_for_queue: 96,
            enable_trace: false,
            trace_topic: None,
        }
    }

    /// What the engine is configured with.
    pub(super) fn engine_settings(&self, listener: Listener) -> EngineSettings {
        let orderly = matches!(listener, Listener::Orderly(_));
        let mut settings = engine_settings!(
            self,
            pull: {
                threshold_for_all: None,
                max_span: self.consume_concurrently_max_span,
                interval: self.pull_interval,
                broker_suspend: PUSH_BROKER_SUSPEND_MAX,
                post_subscription: self.post_subscription_when_pull,
            },
            delivery: DeliverySettings::Listener {
                listener,
                consume_threads: self.consume_threads,
                batch_size: self.consume_message_batch_max_size,
                max_reconsume_times: self.effective_max_reconsume_times(orderly),
                suspend_time: self.suspend_current_queue_time,
                consume_timeout: self.consume_timeout,
                await_termination: self.await_termination,
                persist_interval: self.persist_offset_interval,
            },
        );
        settings.pop = PopSettings {
            client_rebalance: self.client_rebalance,
            invisible_time: self.pop_invisible_time,
            batch_size: self.pop_batch_size,
            threshold_for_queue: self.pop_threshold_for_queue,
            interval: self.pull_interval,
        };
        settings
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

/// Builds and starts a [`PushConsumer`](super::PushConsumer).
pub struct PushConsumerBuilder {
    pub(super) config: PushConsumerConfig,
    pub(super) name_server: Option<String>,
    pub(super) listener: Option<Listener>,
    pub(super) consume_hooks: Vec<Arc<dyn ConsumeMessageHook>>,
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
            consume_hooks: Vec::new(),
        }
    }

    client_settings_setters!();
    group_consumer_setters!("32");

    /// Subscribes to `topic` with a tag expression (`*` for every message, or tags joined by
    /// `||`) or a [`MessageSelector`] (`subscribe`). May be called for several topics.
    pub fn subscribe(
        mut self,
        topic: impl Into<String>,
        selector: impl Into<MessageSelector>,
    ) -> Self {
        self.config
            .subscriptions
            .push((topic.into(), selector.into()));
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

    /// Threads running the listener (20).
    pub fn consume_threads(mut self, threads: usize) -> Self {
        self.config.consume_threads = threads;
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

    /// Share queues in the client (true, Java's default), or ask a broker (false): a
    /// RocketMQ 5 broker then assigns the queues and says whether to pull or to pop them
    /// (POP after `mqadmin setConsumeMode -m POP`, or
    /// [`MqAdmin::set_message_request_mode`](crate::client::MqAdmin::set_message_request_mode)).
    /// Popped messages go to the same listener; a success acks them, a failure makes them
    /// visible again later (10 s, 30 s, 1 min, … by redelivery), and after
    /// `max_reconsume_times` they go to the dead-letter topic.
    pub fn client_rebalance(mut self, client_rebalance: bool) -> Self {
        self.config.client_rebalance = client_rebalance;
        self
    }

    /// POP: how long popped messages stay invisible to the group while the listener has
    /// them (60 s; 5 s to 300 s, else 60 s, as in Java). Unacked by then, they come again.
    pub fn pop_invisible_time(mut self, time: Duration) -> Self {
        self.config.pop_invisible_time = time;
        self
    }

    /// POP: messages per pop (32, the most brokers allow).
    pub fn pop_batch_size(mut self, size: i32) -> Self {
        self.config.pop_batch_size = size;
        self
    }

    /// POP: popped messages a queue may have waiting for their ack before its pops pause
    /// (96).
    pub fn pop_threshold_for_queue(mut self, messages: usize) -> Self {
        self.config.pop_threshold_for_queue = messages;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &PushConsumerConfig {
        &self.config
    }
}

// ----- the lite pull consumer ------------------------------------------------------------

/// How long the broker may hold a lite consumer's pull (`brokerSuspendMaxTimeMillis`).
const LITE_BROKER_SUSPEND_MAX: Duration = Duration::from_secs(20);

/// Settings of a [`LitePullConsumer`](super::LitePullConsumer); mirrors Java's `DefaultLitePullConsumer`, with its
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
    /// Write message trace records of each batch `poll` returns (`enableTrace`, off).
    pub enable_trace: bool,
    /// Where trace records go (`traceTopic`; None: `RMQ_SYS_TRACE_TOPIC`).
    pub trace_topic: Option<String>,
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

impl LitePullConsumerConfig {
    /// What the engine is configured with.
    pub(super) fn engine_settings(&self) -> EngineSettings {
        engine_settings!(
            self,
            pull: {
                threshold_for_all: Some(self.pull_threshold_for_all),
                max_span: self.consume_max_span,
                interval: Duration::ZERO,
                broker_suspend: LITE_BROKER_SUSPEND_MAX,
                post_subscription: true,
            },
            delivery: DeliverySettings::Poll {
                auto_commit: self.auto_commit.then_some(self.auto_commit_interval),
                commit_interval: self.auto_commit_interval,
            },
        )
    }
}

/// Builds and starts a [`LitePullConsumer`](super::LitePullConsumer).
pub struct LitePullConsumerBuilder {
    pub(super) config: LitePullConsumerConfig,
    pub(super) name_server: Option<String>,
    pub(super) subscriptions: Vec<(String, MessageSelector)>,
    pub(super) consume_hooks: Vec<Arc<dyn ConsumeMessageHook>>,
}

impl fmt::Debug for LitePullConsumerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LitePullConsumerBuilder")
            .field("config", &self.config)
            .field("name_server", &self.name_server)
            .field("subscriptions", &self.subscriptions)
            .field("consume_hooks", &self.consume_hooks.len())
            .finish()
    }
}

impl LitePullConsumerBuilder {
    client_settings_setters!();
    group_consumer_setters!("10");

    /// Subscribes to `topic` with a tag expression (`*`, or tags joined by `||`) or a
    /// [`MessageSelector`].
    pub fn subscribe(
        mut self,
        topic: impl Into<String>,
        selector: impl Into<MessageSelector>,
    ) -> Self {
        self.subscriptions.push((topic.into(), selector.into()));
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

    /// What `poll` waits when given no timeout (5 s).
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.config.poll_timeout = timeout;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &LitePullConsumerConfig {
        &self.config
    }
}

// ----- the simple consumer ---------------------------------------------------------------

/// Settings of a [`SimpleConsumer`](super::SimpleConsumer), the RocketMQ 5 consumer whose
/// caller receives and acks each message. Made by [`SimpleConsumerBuilder`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimpleConsumerConfig {
    /// The consumer group.
    pub group: String,
    /// Name servers, client id, header encoding, intervals, broker address overrides.
    pub client: ClientSettings,
    /// Topic and selector of each subscription.
    pub subscriptions: Vec<(String, MessageSelector)>,
    /// How long [`receive`](super::SimpleConsumer::receive) waits for a message when there is
    /// none (`awaitDuration`, 30 s; at most an hour); the broker holds the request that long
    /// (a reference broker at most 60 s).
    pub await_duration: Duration,
    /// Where a group that never consumed a topic starts: its first message, or (the default,
    /// as RocketMQ 5 clients) its end.
    pub consume_from: ConsumeFrom,
}

impl SimpleConsumerConfig {
    /// What the engine is configured with: a group member that holds no queue and pulls
    /// nothing; `receive` pops.
    pub(super) fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            group: self.group.clone(),
            client: self.client.clone(),
            message_model: MessageModel::Clustering,
            consume_from: self.consume_from,
            allocate_strategy: Arc::new(AllocateAveragely),
            // Never used: nothing is pulled.
            pull: PullSettings {
                batch_size: MAX_POP_BATCH_SIZE,
                threshold_for_queue: 0,
                threshold_size_for_queue: 0,
                threshold_for_all: None,
                max_span: 0,
                interval: Duration::ZERO,
                broker_suspend: Duration::ZERO,
                post_subscription: false,
            },
            pop: PopSettings::default(),
            rebalance_interval: Duration::from_secs(20),
            local_offset_store_dir: default_local_offset_store_dir(),
            delivery: DeliverySettings::Receive,
            // The caller has the messages: no listener call to wrap.
            consume_hooks: Vec::new(),
        }
    }
}

/// Builds and starts a [`SimpleConsumer`](super::SimpleConsumer).
#[derive(Debug)]
pub struct SimpleConsumerBuilder {
    pub(super) config: SimpleConsumerConfig,
    pub(super) name_server: Option<String>,
}

impl SimpleConsumerBuilder {
    pub(super) fn new(group: impl Into<String>) -> Self {
        SimpleConsumerBuilder {
            config: SimpleConsumerConfig {
                group: group.into(),
                client: ClientSettings::default(),
                subscriptions: Vec::new(),
                await_duration: Duration::from_secs(30),
                consume_from: ConsumeFrom::LastOffset,
            },
            name_server: None,
        }
    }

    client_settings_setters!();

    /// Subscribes to `topic` with a tag expression (`*`, or tags joined by `||`) or a
    /// [`MessageSelector`]. May be called for several topics; `receive` takes them in turn.
    pub fn subscribe(
        mut self,
        topic: impl Into<String>,
        filter: impl Into<MessageSelector>,
    ) -> Self {
        self.config
            .subscriptions
            .push((topic.into(), filter.into()));
        self
    }

    /// How long `receive` waits when there is no message (30 s).
    pub fn await_duration(mut self, duration: Duration) -> Self {
        self.config.await_duration = duration;
        self
    }

    /// Where a group that never consumed a topic starts (its end).
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.config.consume_from = from;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &SimpleConsumerConfig {
        &self.config
    }
}
