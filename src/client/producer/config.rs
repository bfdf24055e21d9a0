//! `ProducerConfig` and `ProducerBuilder`: what a producer is configured with, and the one way
//! to make one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::send_hook::SendMessageHook;
use crate::client::shared::client_config::{client_settings_setters, ClientSettings};
use crate::client::shared::error::DEFAULT_RETRY_RESPONSE_CODES;
use crate::client::shared::validators::AUTO_CREATE_TOPIC_KEY_TOPIC;
use crate::protocol::message::compression::{DEFAULT_COMPRESS_LEVEL, DEFAULT_COMPRESS_OVER};
use crate::remoting::RpcHook;

/// Settings of a [`Producer`](super::Producer); mirrors the fields of Java's `DefaultMQProducer`, with Java's
/// defaults. Made by [`ProducerBuilder`]; read back with [`Producer::config`](super::Producer::config).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// The producer group (`producerGroup`).
    pub group: String,
    /// Name servers, client id, header encoding, intervals, broker address overrides.
    pub client: ClientSettings,
    /// The time budget of one send, all attempts included (`sendMsgTimeout`, 3 s).
    pub send_timeout: Duration,
    /// Extra attempts of a failed sync send (`retryTimesWhenSendFailed`, 2).
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of an async send whose request could not be delivered
    /// (`retryTimesWhenSendAsyncFailed`, 2).
    pub retry_times_when_send_async_failed: u32,
    /// Retry a sync send on another broker when the status is not SEND_OK
    /// (`retryAnotherBrokerWhenNotStoreOK`, false).
    pub retry_another_broker_when_not_store_ok: bool,
    /// The largest body accepted, checked before compression (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Bodies this long or longer are zlib-compressed (`compressMsgBodyOverHowmuch`, 4096).
    pub compress_over: usize,
    /// zlib level (`rocketmq.message.compressLevel`, 5).
    pub compress_level: u32,
    /// Queues per broker of a topic the broker auto-creates (`defaultTopicQueueNums`, 4).
    pub default_topic_queue_nums: i32,
    /// The auto-create template topic (`createTopicKey`, "TBW102").
    pub create_topic_key: String,
    /// Isolate slow and failing brokers by the latency tables (`sendLatencyFaultEnable`,
    /// false).
    pub send_latency_fault_enable: bool,
    /// Broker response codes a sync send is retried on (`retryResponseCodes`).
    pub retry_response_codes: Vec<i32>,
    /// Threads that run async sends (Java's `asyncSenderExecutor`: one per CPU).
    pub async_sender_threads: usize,
    /// Async sends that may wait for a sender thread (Java: 50,000); one more is refused
    /// with [`ClientError::AsyncSendQueueFull`](crate::client::ClientError::AsyncSendQueueFull).
    pub async_send_queue_capacity: usize,
    /// Write a message trace record (`Pub`) for every send the broker answers (Java's
    /// `enableTrace` / `enableMsgTrace`, off).
    pub enable_trace: bool,
    /// Where trace records go (`traceTopic`; None: `RMQ_SYS_TRACE_TOPIC`).
    pub trace_topic: Option<String>,
}

impl ProducerConfig {
    pub(crate) fn new(group: String) -> Self {
        ProducerConfig {
            group,
            client: ClientSettings::default(),
            send_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            max_message_size: 4 * 1024 * 1024,
            compress_over: DEFAULT_COMPRESS_OVER,
            compress_level: DEFAULT_COMPRESS_LEVEL,
            default_topic_queue_nums: 4,
            create_topic_key: AUTO_CREATE_TOPIC_KEY_TOPIC.to_string(),
            send_latency_fault_enable: false,
            retry_response_codes: DEFAULT_RETRY_RESPONSE_CODES.to_vec(),
            async_sender_threads: std::thread::available_parallelism().map_or(4, |n| n.get()),
            async_send_queue_capacity: 50_000,
            enable_trace: false,
            trace_topic: None,
        }
    }
}

/// Builds and starts a [`Producer`](super::Producer), one setting per call (Java sets the same fields with
/// `DefaultMQProducer` setters before `start()`).
///
/// ```no_run
/// use std::time::Duration;
/// use rocketmq_blocking::client::Producer;
///
/// let producer = Producer::builder("order_producer")
///     .name_server("10.0.0.5:9876;10.0.0.6:9876")
///     .send_timeout(Duration::from_secs(5))
///     .start()?;
/// # Ok::<(), rocketmq_blocking::client::ClientError>(())
/// ```
#[derive(Clone)]
pub struct ProducerBuilder {
    pub(super) config: ProducerConfig,
    pub(super) name_server: Option<String>,
    pub(super) send_hooks: Vec<Arc<dyn SendMessageHook>>,
    pub(super) rpc_hooks: Vec<Arc<dyn RpcHook>>,
}

impl fmt::Debug for ProducerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerBuilder")
            .field("config", &self.config)
            .field("name_server", &self.name_server)
            .field("send_hooks", &self.send_hooks.len())
            .field("rpc_hooks", &self.rpc_hooks.len())
            .finish()
    }
}

impl ProducerBuilder {
    client_settings_setters!();

    pub(super) fn new(group: impl Into<String>) -> Self {
        ProducerBuilder {
            config: ProducerConfig::new(group.into()),
            name_server: None,
            send_hooks: Vec::new(),
            rpc_hooks: Vec::new(),
        }
    }

    /// The time budget of one send, all attempts included (3 s).
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.config.send_timeout = timeout;
        self
    }

    /// Extra attempts of a failed sync send (2).
    pub fn retry_times_when_send_failed(mut self, times: u32) -> Self {
        self.config.retry_times_when_send_failed = times;
        self
    }

    /// Extra attempts of an async send whose request could not be delivered (2).
    pub fn retry_times_when_send_async_failed(mut self, times: u32) -> Self {
        self.config.retry_times_when_send_async_failed = times;
        self
    }

    /// Retry a sync send on another broker when the status is not SEND_OK (false).
    pub fn retry_another_broker_when_not_store_ok(mut self, retry: bool) -> Self {
        self.config.retry_another_broker_when_not_store_ok = retry;
        self
    }

    /// The largest body accepted (4 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Compress bodies of at least `bytes` bytes at zlib `level` (4096 bytes, level 5).
    pub fn compression(mut self, bytes: usize, level: u32) -> Self {
        self.config.compress_over = bytes;
        self.config.compress_level = level;
        self
    }

    /// Queues per broker of an auto-created topic (4).
    pub fn default_topic_queue_nums(mut self, queues: i32) -> Self {
        self.config.default_topic_queue_nums = queues;
        self
    }

    /// The auto-create template topic ("TBW102").
    pub fn create_topic_key(mut self, topic: impl Into<String>) -> Self {
        self.config.create_topic_key = topic.into();
        self
    }

    /// Turns latency fault tolerance on or off (off).
    pub fn send_latency_fault_enable(mut self, enable: bool) -> Self {
        self.config.send_latency_fault_enable = enable;
        self
    }

    /// Broker response codes a sync send is retried on.
    pub fn retry_response_codes(mut self, codes: Vec<i32>) -> Self {
        self.config.retry_response_codes = codes;
        self
    }

    /// Threads that run async sends (one per CPU).
    pub fn async_sender_threads(mut self, threads: usize) -> Self {
        self.config.async_sender_threads = threads.max(1);
        self
    }

    /// Async sends that may wait for a sender thread (50,000).
    pub fn async_send_queue_capacity(mut self, capacity: usize) -> Self {
        self.config.async_send_queue_capacity = capacity.max(1);
        self
    }

    /// How often routes are refreshed (30 s).
    pub fn route_refresh_interval(mut self, interval: Duration) -> Self {
        self.config.client.route_refresh_interval = interval;
        self
    }

    /// How often brokers get a heartbeat (30 s).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.config.client.heartbeat_interval = interval;
        self
    }

    /// Writes message trace that Apache's tools read (`mqadmin queryMsgTraceById`, the
    /// dashboard, [`MqAdmin::query_trace`](crate::client::MqAdmin::query_trace)): a `Pub`
    /// record for every send the broker answers, sent to the trace topic by an inner
    /// producer (`_INNER_TRACE_PRODUCER-<group>-PRODUCE-<n>`) with this producer's name
    /// servers and credentials (Java's `enableMsgTrace`). Never blocks or fails a send: a
    /// record that does not fit the dispatcher's queue (2,048) is dropped and counted.
    pub fn enable_trace(mut self) -> Self {
        self.config.enable_trace = true;
        self
    }

    /// The topic trace records go to (`RMQ_SYS_TRACE_TOPIC`; Java's
    /// `customizedTraceTopic`); takes effect with [`enable_trace`](Self::enable_trace).
    pub fn trace_topic(mut self, topic: impl Into<String>) -> Self {
        self.config.trace_topic = Some(topic.into());
        self
    }

    /// Adds a hook run before and after every send attempt (tracing, metrics, audit).
    pub fn send_hook(mut self, hook: Arc<dyn SendMessageHook>) -> Self {
        self.send_hooks.push(hook);
        self
    }

    /// Adds a hook run around every request the producer makes (ACL signing, tracing).
    pub fn rpc_hook(mut self, hook: Arc<dyn RpcHook>) -> Self {
        self.rpc_hooks.push(hook);
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Every client setting at once (a producer a client makes for itself, as the trace
    /// producer).
    pub(crate) fn client_settings(mut self, settings: ClientSettings) -> Self {
        self.config.client = settings;
        self
    }
}
