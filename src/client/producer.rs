//! `Producer`: sends messages to the brokers of a topic, choosing queues, retrying on other
//! brokers within one timeout, and keeping routes and heartbeats up in the background.
//!
//! A sync send, from the call to the socket:
//! [`Producer::send`] (validation) → `ProducerInner::send_with_retries` (route, one queue per
//! attempt, the time budget) → `ProducerInner::send_kernel_sync` (broker address, header, hooks)
//! → [`MqClientApi::send_message_sync`](super::mq_client_api::MqClientApi::send_message_sync)
//! → [`RemotingClient::invoke_sync`](crate::remoting::RemotingClient::invoke_sync).

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::async_send::{AsyncSend, AsyncTarget, SendCallback};
use super::client_config::{split_name_server_addrs, ClientSettings};
use super::client_instance::{DefaultTopic, MqClientInstance};
use super::error::{ClientError, DEFAULT_RETRY_RESPONSE_CODES};
use super::message::{Message, SendResult, SendStatus};
use super::mq_fault_strategy::MqFaultStrategy;
use super::queue_selector::MessageQueueSelector;
use super::send_hook::{
    run_after, run_before, CommunicationMode, SendMessageContext, SendMessageHook,
};
use super::send_kernel::{HeaderSettings, PreparedMessage};
use super::topic_publish_info::TopicPublishInfo;
use super::validators::{
    check_batch, check_body_size, check_group, check_message, AUTO_CREATE_TOPIC_KEY_TOPIC,
    DEFAULT_PRODUCER_GROUP,
};
use crate::common::sync::RwLockExt;
use crate::protocol::message::compression::{DEFAULT_COMPRESS_LEVEL, DEFAULT_COMPRESS_OVER};
use crate::protocol::message::{MessageClientIdGenerator, MessageQueue};
use crate::protocol::{LanguageCode, RemotingCommand, SerializeType};
use crate::remoting::{RemotingError, RpcHook};

/// Settings of a [`Producer`]; mirrors the fields of Java's `DefaultMQProducer`, with Java's
/// defaults.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// The producer group (`producerGroup`).
    pub group: String,
    /// Name servers, client id, header encoding, intervals, broker address overrides.
    pub client: ClientSettings,
    /// The time budget of one send, all attempts included (`sendMsgTimeout`, 3 s).
    pub send_timeout: Duration,
    /// Extra attempts of a failed sync send (`retryTimesWhenSendFailed`, 2).
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of a failed async send (`retryTimesWhenSendAsyncFailed`, 2).
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
    /// Broker response codes a send is retried on (`retryResponseCodes`).
    pub retry_response_codes: Vec<i32>,
}

impl ProducerConfig {
    /// Java's defaults for `group`; no name server yet.
    pub fn new(group: impl Into<String>) -> Self {
        ProducerConfig {
            group: group.into(),
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
        }
    }
}

/// Builds a [`ProducerConfig`] and its [`Producer`], one setting per call (Java sets the same
/// fields with `DefaultMQProducer` setters).
#[derive(Debug, Clone)]
pub struct ProducerBuilder {
    config: ProducerConfig,
}

impl ProducerBuilder {
    /// Name servers as Java writes them: `"host:port;host:port"`.
    pub fn name_server(mut self, addrs: &str) -> Self {
        self.config.client.name_server_addrs = split_name_server_addrs(addrs);
        self
    }

    /// Name servers, one address each.
    pub fn name_server_addrs(mut self, addrs: Vec<String>) -> Self {
        self.config.client.name_server_addrs = addrs;
        self
    }

    /// The instance part of the client id (default `<pid>#<nanos>`).
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.config.client.instance_name = Some(name.into());
        self
    }

    /// The IP in the client id and message ids (default: this machine's).
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.config.client.client_ip = Some(ip);
        self
    }

    /// The time budget of one send, all attempts included.
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.config.send_timeout = timeout;
        self
    }

    /// Extra attempts of a failed sync send.
    pub fn retry_times_when_send_failed(mut self, times: u32) -> Self {
        self.config.retry_times_when_send_failed = times;
        self
    }

    /// Extra attempts of a failed async send.
    pub fn retry_times_when_send_async_failed(mut self, times: u32) -> Self {
        self.config.retry_times_when_send_async_failed = times;
        self
    }

    /// Retry a sync send on another broker when the status is not SEND_OK.
    pub fn retry_another_broker_when_not_store_ok(mut self, retry: bool) -> Self {
        self.config.retry_another_broker_when_not_store_ok = retry;
        self
    }

    /// The largest body accepted.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Compress bodies of at least `bytes` bytes at zlib `level`.
    pub fn compression(mut self, bytes: usize, level: u32) -> Self {
        self.config.compress_over = bytes;
        self.config.compress_level = level;
        self
    }

    /// Queues per broker of an auto-created topic.
    pub fn default_topic_queue_nums(mut self, queues: i32) -> Self {
        self.config.default_topic_queue_nums = queues;
        self
    }

    /// The auto-create template topic.
    pub fn create_topic_key(mut self, topic: impl Into<String>) -> Self {
        self.config.create_topic_key = topic.into();
        self
    }

    /// Turns latency fault tolerance on or off.
    pub fn send_latency_fault_enable(mut self, enable: bool) -> Self {
        self.config.send_latency_fault_enable = enable;
        self
    }

    /// Header encoding of every request (JSON or ROCKETMQ).
    pub fn serialize_type(mut self, serialize_type: SerializeType) -> Self {
        self.config.client.serialize_type = serialize_type;
        self
    }

    /// Language stamped on every request.
    pub fn language(mut self, language: LanguageCode) -> Self {
        self.config.client.language = language;
        self
    }

    /// Dial `actual` whenever a route names the broker address `advertised`.
    pub fn broker_addr_override(
        mut self,
        advertised: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        self.config
            .client
            .broker_addr_override
            .insert(advertised.into(), actual.into());
        self
    }

    /// Replaces the whole broker address override map.
    pub fn broker_addr_overrides(mut self, overrides: HashMap<String, String>) -> Self {
        self.config.client.broker_addr_override = overrides;
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

    /// Timeout of name server and housekeeping calls (3 s).
    pub fn api_timeout(mut self, timeout: Duration) -> Self {
        self.config.client.api_timeout = timeout;
        self
    }

    /// TCP connect timeout (3 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.client.connect_timeout = timeout;
        self
    }

    /// Broker response codes a send is retried on.
    pub fn retry_response_codes(mut self, codes: Vec<i32>) -> Self {
        self.config.retry_response_codes = codes;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// The producer, not yet started.
    pub fn build(self) -> Result<Producer, ClientError> {
        Producer::new(self.config)
    }
}

const CREATED: u8 = 0;
const RUNNING: u8 = 1;
const SHUT_DOWN: u8 = 2;

/// A message producer; mirrors Java's `DefaultMQProducer` and `DefaultMQProducerImpl`.
///
/// Build it, [`start`](Producer::start) it, send from any number of threads, and
/// [`shutdown`](Producer::shutdown) it (dropping it does the same). Every send first checks
/// the message, then finds the topic's queues (asking the name server the first time), and
/// gives all of its attempts together at most the send timeout.
pub struct Producer {
    inner: Arc<ProducerInner>,
}

/// The state a producer's sends share, including async sends in flight.
pub(crate) struct ProducerInner {
    pub(crate) config: ProducerConfig,
    pub(crate) instance: Arc<MqClientInstance>,
    pub(crate) fault_strategy: MqFaultStrategy,
    ids: MessageClientIdGenerator,
    state: AtomicU8,
    hooks: RwLock<Vec<Arc<dyn SendMessageHook>>>,
    born_host: String,
    default_topic: DefaultTopic,
}

impl Producer {
    /// A builder with Java's defaults for `group`.
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder {
            config: ProducerConfig::new(group),
        }
    }

    /// A producer with `config`, not yet started: its transport exists, nothing is connected.
    pub fn new(config: ProducerConfig) -> Result<Producer, ClientError> {
        let instance = MqClientInstance::new(config.client.clone(), Some(config.group.clone()))?;
        let ids = MessageClientIdGenerator::new(instance.client_ip());
        let inner = ProducerInner {
            fault_strategy: MqFaultStrategy::new(config.send_latency_fault_enable),
            born_host: instance.client_ip().to_string(),
            default_topic: DefaultTopic {
                key: config.create_topic_key.clone(),
                queue_nums: config.default_topic_queue_nums,
            },
            instance,
            ids,
            state: AtomicU8::new(CREATED),
            hooks: RwLock::new(Vec::new()),
            config,
        };
        Ok(Producer {
            inner: Arc::new(inner),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// This producer's client id, `ip@instance`.
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// Checks the group and starts the route refresh and heartbeat threads (`start`).
    pub fn start(&self) -> Result<(), ClientError> {
        check_group(&self.inner.config.group)?;
        if self.inner.config.group == DEFAULT_PRODUCER_GROUP {
            return Err(ClientError::InvalidArgument(format!(
                "producerGroup can not equal {DEFAULT_PRODUCER_GROUP}, please specify another one."
            )));
        }
        self.inner
            .state
            .compare_exchange(CREATED, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
            .map_err(|state| ClientError::NotRunning {
                state: if state == RUNNING {
                    "already started"
                } else {
                    "shut down"
                },
            })?;
        if let Err(e) = self.inner.instance.start_background_tasks() {
            self.shutdown();
            return Err(e);
        }
        log::info!(
            "producer {} started as {}",
            self.inner.config.group,
            self.client_id()
        );
        Ok(())
    }

    /// Unregisters from every broker, closes every connection and joins every thread this
    /// producer started. Async sends in flight complete (with an error) before it returns.
    pub fn shutdown(&self) {
        if self.inner.state.swap(SHUT_DOWN, Ordering::SeqCst) != SHUT_DOWN {
            self.inner.instance.shutdown();
            log::info!("producer {} shut down", self.inner.config.group);
        }
    }

    /// Replaces the name server list at runtime.
    pub fn update_name_server_address_list(&self, addrs: Vec<String>) {
        self.inner
            .instance
            .api()
            .remoting()
            .update_name_server_address_list(addrs);
    }

    /// Adds a hook run before and after every send attempt.
    pub fn register_send_hook(&self, hook: Arc<dyn SendMessageHook>) {
        log::info!("send hook {} registered", hook.hook_name());
        self.inner.hooks.write_unpoisoned().push(hook);
    }

    /// Adds a hook run around every request this producer makes (ACL signing, tracing).
    pub fn register_rpc_hook(&self, hook: Arc<dyn RpcHook>) {
        self.inner.instance.api().remoting().register_rpc_hook(hook);
    }

    /// The queues a message of `topic` may go to (`fetchPublishMessageQueues`).
    pub fn fetch_publish_message_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        self.inner.ensure_running()?;
        let info = self
            .inner
            .find_publish_info(topic, self.inner.config.send_timeout)?;
        Ok(info.message_queues.clone())
    }

    /// Sends and waits for the broker's answer, retrying on other brokers within the send
    /// timeout.
    pub fn send(&self, message: &Message) -> Result<SendResult, ClientError> {
        self.send_with_timeout(message, self.inner.config.send_timeout)
    }

    /// [`Producer::send`] with its own time budget.
    pub fn send_with_timeout(
        &self,
        message: &Message,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        let inner = &self.inner;
        inner.ensure_running()?;
        check_message(message, inner.config.max_message_size)?;
        let prepared = inner.prepare(message, Cow::Borrowed(&message.body));
        inner.send_with_retries(
            &prepared,
            inner.config.retry_times_when_send_failed.saturating_add(1),
            timeout,
            |queue, left| inner.send_kernel_sync(&prepared, queue, left),
            |result| result.send_status == SendStatus::SendOk,
        )
    }

    /// Sends without waiting for an answer and without retrying (`sendOneway`); `Ok` means
    /// the request was handed to the connection.
    pub fn send_oneway(&self, message: &Message) -> Result<(), ClientError> {
        let inner = &self.inner;
        inner.ensure_running()?;
        check_message(message, inner.config.max_message_size)?;
        let prepared = inner.prepare(message, Cow::Borrowed(&message.body));
        inner.send_with_retries(
            &prepared,
            1,
            inner.config.send_timeout,
            |queue, left| inner.send_kernel_oneway(&prepared, queue, left),
            |_| true,
        )
    }

    /// Sends, with `callback` getting the result or the error exactly once, on a callback
    /// thread; failed attempts are retried on other brokers within the send timeout.
    ///
    /// Blocks only to fetch the topic's route the first time and to connect to a broker the
    /// first time. `Err` means nothing is in flight and the callback will never run: the
    /// message is invalid, the producer is not running, the topic has no route, or every
    /// attempt failed before a request could be written.
    pub fn send_async(
        &self,
        message: Message,
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        let inner = &self.inner;
        inner.ensure_running()?;
        check_message(&message, inner.config.max_message_size)?;
        let begin = Instant::now();
        let info = inner.find_publish_info(&message.topic, inner.config.send_timeout)?;
        let prepared = inner.prepare_owned(message);
        self.start_async(
            prepared,
            AsyncTarget::Route(info),
            begin,
            Box::new(callback),
        )
    }

    /// Sends to `queue` and waits, without retrying elsewhere (`send(msg, mq)`).
    pub fn send_to_queue(
        &self,
        message: &Message,
        queue: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        let inner = &self.inner;
        inner.ensure_running()?;
        check_message(message, inner.config.max_message_size)?;
        check_queue_topic(message, queue)?;
        let prepared = inner.prepare(message, Cow::Borrowed(&message.body));
        inner.send_kernel_sync(&prepared, queue, inner.config.send_timeout)
    }

    /// Sends to `queue` with a callback; retries go to the same queue (`send(msg, mq, cb)`).
    /// `Err` as for [`Producer::send_async`].
    pub fn send_to_queue_async(
        &self,
        message: Message,
        queue: MessageQueue,
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        let inner = &self.inner;
        inner.ensure_running()?;
        check_message(&message, inner.config.max_message_size)?;
        check_queue_topic(&message, &queue)?;
        let prepared = inner.prepare_owned(message);
        self.start_async(
            prepared,
            AsyncTarget::Queue(queue),
            Instant::now(),
            Box::new(callback),
        )
    }

    /// Sends to the queue `selector` picks for `arg` and waits, without retrying elsewhere
    /// (`send(msg, selector, arg)`): messages with one key stay in one queue, in order.
    pub fn send_with_selector<A: ?Sized>(
        &self,
        message: &Message,
        selector: &impl MessageQueueSelector<A>,
        arg: &A,
    ) -> Result<SendResult, ClientError> {
        let inner = &self.inner;
        inner.ensure_running()?;
        check_message(message, inner.config.max_message_size)?;
        let begin = Instant::now();
        let timeout = inner.config.send_timeout;
        let queue = inner.select_queue(message, selector, arg, timeout)?;
        let prepared = inner.prepare(message, Cow::Borrowed(&message.body));
        inner.send_kernel_sync(&prepared, &queue, timeout.saturating_sub(begin.elapsed()))
    }

    /// [`Producer::send_with_selector`] with a callback; retries go to the same queue.
    /// `Err` as for [`Producer::send_async`].
    pub fn send_with_selector_async<A: ?Sized>(
        &self,
        message: Message,
        selector: &impl MessageQueueSelector<A>,
        arg: &A,
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        let inner = &self.inner;
        inner.ensure_running()?;
        check_message(&message, inner.config.max_message_size)?;
        let begin = Instant::now();
        let queue = inner.select_queue(&message, selector, arg, inner.config.send_timeout)?;
        let prepared = inner.prepare_owned(message);
        self.start_async(
            prepared,
            AsyncTarget::Queue(queue),
            begin,
            Box::new(callback),
        )
    }

    /// Sends `messages` as one SEND_BATCH_MESSAGE and waits (`send(Collection<Message>)`):
    /// one topic, no delay, no retry topic, each message with its own `UNIQ_KEY`, never
    /// compressed; the encoded batch must fit the maximum message size.
    pub fn send_batch(&self, messages: &[Message]) -> Result<SendResult, ClientError> {
        let inner = &self.inner;
        let prepared = inner.prepare_batch(messages)?;
        inner.send_with_retries(
            &prepared,
            inner.config.retry_times_when_send_failed.saturating_add(1),
            inner.config.send_timeout,
            |queue, left| inner.send_kernel_sync(&prepared, queue, left),
            |result| result.send_status == SendStatus::SendOk,
        )
    }

    /// [`Producer::send_batch`] with a callback. `Err` as for [`Producer::send_async`].
    pub fn send_batch_async(
        &self,
        messages: &[Message],
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        let inner = &self.inner;
        let prepared = inner.prepare_batch(messages)?;
        let begin = Instant::now();
        let info = inner.find_publish_info(&prepared.topic, inner.config.send_timeout)?;
        self.start_async(
            prepared,
            AsyncTarget::Route(info),
            begin,
            Box::new(callback),
        )
    }

    fn start_async(
        &self,
        prepared: PreparedMessage<'static>,
        target: AsyncTarget,
        begin: Instant,
        callback: SendCallback,
    ) -> Result<(), ClientError> {
        AsyncSend::start(self.inner.clone(), prepared, target, begin, callback)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn check_queue_topic(message: &Message, queue: &MessageQueue) -> Result<(), ClientError> {
    if message.topic == queue.topic {
        Ok(())
    } else {
        Err(ClientError::InvalidArgument(format!(
            "message's topic {} not equal mq's topic {}",
            message.topic, queue.topic
        )))
    }
}

impl ProducerInner {
    /// `Err` unless started and not shut down (`makeSureStateOK`).
    pub(crate) fn ensure_running(&self) -> Result<(), ClientError> {
        match self.state.load(Ordering::SeqCst) {
            RUNNING => Ok(()),
            CREATED => Err(ClientError::NotRunning {
                state: "not started",
            }),
            _ => Err(ClientError::NotRunning { state: "shut down" }),
        }
    }

    /// The header fields that come from the configuration.
    pub(crate) fn header_settings(&self) -> HeaderSettings<'_> {
        HeaderSettings {
            producer_group: &self.config.group,
            create_topic_key: &self.config.create_topic_key,
            default_topic_queue_nums: self.config.default_topic_queue_nums,
        }
    }

    fn prepare<'a>(&self, message: &Message, body: Cow<'a, [u8]>) -> PreparedMessage<'a> {
        PreparedMessage::single(
            message,
            body,
            &self.ids,
            self.config.compress_over,
            self.config.compress_level,
        )
    }

    fn prepare_owned(&self, mut message: Message) -> PreparedMessage<'static> {
        let body = std::mem::take(&mut message.body);
        self.prepare(&message, Cow::Owned(body))
    }

    fn prepare_batch(&self, messages: &[Message]) -> Result<PreparedMessage<'static>, ClientError> {
        self.ensure_running()?;
        check_batch(messages, self.config.max_message_size)?;
        let prepared = PreparedMessage::batch(messages, &self.ids)?;
        check_body_size(prepared.body.len(), self.config.max_message_size)?;
        Ok(prepared)
    }

    /// The topic's queues, from the cache or the name server within `timeout`.
    pub(crate) fn find_publish_info(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<Arc<TopicPublishInfo>, ClientError> {
        self.instance
            .find_topic_publish_info(topic, &self.default_topic, timeout)
    }

    fn select_queue<A: ?Sized>(
        &self,
        message: &Message,
        selector: &impl MessageQueueSelector<A>,
        arg: &A,
        timeout: Duration,
    ) -> Result<MessageQueue, ClientError> {
        let info = self.find_publish_info(&message.topic, timeout)?;
        selector
            .select(&info.message_queues, message, arg)
            .ok_or_else(|| ClientError::InvalidArgument("select message queue return null.".into()))
    }

    /// The master address of `broker_name`, fetching `topic`'s route once more if the broker
    /// is unknown (`sendKernelImpl`'s second `findBrokerAddressInPublish`).
    pub(crate) fn broker_addr_for_publish(
        &self,
        broker_name: &str,
        topic: &str,
        timeout: Duration,
    ) -> Result<String, ClientError> {
        if let Some(addr) = self.instance.find_broker_address_in_publish(broker_name) {
            return Ok(addr);
        }
        if let Err(e) = self.instance.update_topic_route(topic, timeout) {
            log::debug!("route of {topic} not refreshed: {e}");
        }
        self.instance
            .find_broker_address_in_publish(broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound {
                broker_name: broker_name.to_string(),
            })
    }

    /// The hooks registered so far.
    pub(crate) fn hooks(&self) -> Vec<Arc<dyn SendMessageHook>> {
        self.hooks.read_unpoisoned().clone()
    }

    /// Runs the "before" hooks and returns the context for the "after" call, if any hook is
    /// registered.
    pub(crate) fn before_hooks(
        &self,
        prepared: &PreparedMessage<'_>,
        queue: &MessageQueue,
        broker_addr: &str,
        mode: CommunicationMode,
    ) -> Option<(Vec<Arc<dyn SendMessageHook>>, SendMessageContext)> {
        let hooks = self.hooks();
        if hooks.is_empty() {
            return None;
        }
        let context = prepared.hook_context(
            &self.config.group,
            &self.born_host,
            queue,
            broker_addr,
            mode,
        );
        run_before(&hooks, &context);
        Some((hooks, context))
    }

    /// Records a failed attempt: isolates the broker (with fault tolerance on) and, when the
    /// broker could not be reached, asks for a route refresh.
    pub(crate) fn note_failed_attempt(
        &self,
        broker_name: &str,
        latency: Duration,
        error: &ClientError,
    ) {
        self.fault_strategy
            .update_fault_item(broker_name, latency, true);
        if matches!(
            error,
            ClientError::Remoting(
                RemotingError::Connect { .. }
                    | RemotingError::ConnectionClosed { .. }
                    | RemotingError::SendRequest { .. }
            ) | ClientError::BrokerNotFound { .. }
        ) {
            self.instance.request_route_refresh();
        }
    }

    /// The attempt loop of sync and oneway sends (`sendDefaultImpl`): up to `max_attempts`
    /// attempts, each on a queue chosen by the fault strategy (avoiding the broker that just
    /// failed) and given what is left of `timeout`. A retryable failure moves on to the next
    /// attempt; any other failure ends the send. A result that is not `stored_ok` is retried
    /// only with `retryAnotherBrokerWhenNotStoreOK`, and returned if nothing better comes.
    pub(crate) fn send_with_retries<T>(
        &self,
        prepared: &PreparedMessage<'_>,
        max_attempts: u32,
        timeout: Duration,
        mut attempt: impl FnMut(&MessageQueue, Duration) -> Result<T, ClientError>,
        stored_ok: impl Fn(&T) -> bool,
    ) -> Result<T, ClientError> {
        let begin = Instant::now();
        let info = self.find_publish_info(&prepared.topic, timeout)?;
        let mut brokers_sent: Vec<String> = Vec::new();
        let mut last_error: Option<ClientError> = None;
        let mut not_stored: Option<T> = None;
        let mut last_broker: Option<String> = None;
        while (brokers_sent.len() as u32) < max_attempts {
            let left = timeout.saturating_sub(begin.elapsed());
            if left.is_zero() {
                break;
            }
            let Some(queue) = self
                .fault_strategy
                .select_one_message_queue(&info, last_broker.as_deref())
            else {
                break;
            };
            brokers_sent.push(queue.broker_name.clone());
            let started = Instant::now();
            match attempt(&queue, left) {
                Ok(outcome) => {
                    self.fault_strategy.update_fault_item(
                        &queue.broker_name,
                        started.elapsed(),
                        false,
                    );
                    if stored_ok(&outcome) || !self.config.retry_another_broker_when_not_store_ok {
                        return Ok(outcome);
                    }
                    not_stored = Some(outcome);
                }
                Err(error) => {
                    self.note_failed_attempt(&queue.broker_name, started.elapsed(), &error);
                    if !error.is_retryable(&self.config.retry_response_codes) {
                        return not_stored.ok_or(error);
                    }
                    log::warn!(
                        "send to {queue} failed after {} ms, retrying: {error}",
                        started.elapsed().as_millis()
                    );
                    last_error = Some(error);
                }
            }
            last_broker = Some(queue.broker_name);
        }
        if let Some(outcome) = not_stored {
            return Ok(outcome);
        }
        Err(send_failed(
            &prepared.topic,
            begin,
            timeout,
            brokers_sent,
            last_error,
        ))
    }

    /// One sync attempt on `queue` (`sendKernelImpl` + `sendMessageSync`).
    pub(crate) fn send_kernel_sync(
        &self,
        prepared: &PreparedMessage<'_>,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        let begin = Instant::now();
        let (addr, request) = self.build_request(prepared, queue, timeout)?;
        let hooked = self.before_hooks(prepared, queue, &addr, CommunicationMode::Sync);
        let left = remaining(begin, timeout, &prepared.topic)?;
        let result = self.instance.api().send_message_sync(
            &addr,
            &queue.broker_name,
            request,
            left,
            &prepared.msg_id,
        );
        if let Some((hooks, mut context)) = hooked {
            context.send_result = result.as_ref().ok().cloned();
            context.error = result.as_ref().err().cloned();
            run_after(&hooks, &context);
        }
        result
    }

    /// One oneway attempt on `queue`.
    fn send_kernel_oneway(
        &self,
        prepared: &PreparedMessage<'_>,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let begin = Instant::now();
        let (addr, request) = self.build_request(prepared, queue, timeout)?;
        let hooked = self.before_hooks(prepared, queue, &addr, CommunicationMode::Oneway);
        let left = remaining(begin, timeout, &prepared.topic)?;
        let result = self
            .instance
            .api()
            .send_message_oneway(&addr, request, left);
        if let Some((hooks, mut context)) = hooked {
            context.error = result.as_ref().err().cloned();
            run_after(&hooks, &context);
        }
        result
    }

    /// The broker address and the request of an attempt on `queue`.
    pub(crate) fn build_request(
        &self,
        prepared: &PreparedMessage<'_>,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<(String, RemotingCommand), ClientError> {
        let addr = self.broker_addr_for_publish(&queue.broker_name, &queue.topic, timeout)?;
        let header = prepared.request_header(&self.header_settings(), queue);
        let request = self
            .instance
            .api()
            .send_request(&header, prepared.body.to_vec());
        Ok((addr, request))
    }
}

/// What is left of `timeout` since `begin`, or the "call timeout" error.
fn remaining(begin: Instant, timeout: Duration, topic: &str) -> Result<Duration, ClientError> {
    let left = timeout.saturating_sub(begin.elapsed());
    if left.is_zero() {
        Err(ClientError::Timeout {
            what: format!("send to topic {topic}"),
            timeout,
        })
    } else {
        Ok(left)
    }
}

/// The error of a send whose attempts all failed: how many, how long, which brokers, and the
/// last cause; a plain timeout when no attempt could start.
pub(crate) fn send_failed(
    topic: &str,
    begin: Instant,
    timeout: Duration,
    brokers_sent: Vec<String>,
    last_error: Option<ClientError>,
) -> ClientError {
    let timed_out = || ClientError::Timeout {
        what: format!("send to topic {topic}"),
        timeout,
    };
    if brokers_sent.is_empty() {
        return timed_out();
    }
    ClientError::SendFailed {
        attempts: brokers_sent.len() as u32,
        elapsed: begin.elapsed(),
        topic: topic.to_string(),
        brokers_sent,
        cause: Box::new(last_error.unwrap_or_else(timed_out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_sent_before_start_or_after_shutdown() {
        let producer = Producer::builder("PG")
            .name_server("127.0.0.1:1")
            .build()
            .unwrap();
        let message = Message::new("T", "x");
        assert_eq!(
            producer.send(&message),
            Err(ClientError::NotRunning {
                state: "not started"
            })
        );
        producer.start().unwrap();
        assert!(matches!(
            producer.start(),
            Err(ClientError::NotRunning { .. })
        ));
        producer.shutdown();
        assert_eq!(
            producer.send_oneway(&message),
            Err(ClientError::NotRunning { state: "shut down" })
        );
        assert!(producer.start().is_err());
    }

    #[test]
    fn start_checks_the_group() {
        for group in ["", "bad group", DEFAULT_PRODUCER_GROUP] {
            let producer = Producer::builder(group).build().unwrap();
            assert!(
                matches!(producer.start(), Err(ClientError::InvalidArgument(_))),
                "{group:?}"
            );
        }
    }

    #[test]
    fn oversized_body_is_refused_before_any_io() {
        // The name server address is unreachable: any I/O would fail differently.
        let producer = Producer::builder("PG")
            .name_server("127.0.0.1:1")
            .build()
            .unwrap();
        producer.start().unwrap();
        let max = 4 * 1024 * 1024;
        let error = producer
            .send(&Message::new("T", vec![0u8; max + 1]))
            .unwrap_err();
        assert_eq!(
            error,
            ClientError::InvalidArgument(format!(
                "the message body size over max value, MAX: {max}"
            ))
        );
        let error = producer
            .send_async(Message::new("T", vec![0u8; max + 1]), |_| {
                panic!("the callback must not run")
            })
            .unwrap_err();
        assert!(matches!(error, ClientError::InvalidArgument(_)));
        // Exactly 4 MiB passes validation and fails only at the name server.
        let error = producer
            .send(&Message::new("T", vec![0u8; max]))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("no name server reachable: tried 127.0.0.1:1"),
            "{error}"
        );
        assert!(producer.instance_pending_requests() == 0);
    }

    impl Producer {
        fn instance_pending_requests(&self) -> usize {
            self.inner.instance.api().remoting().pending_requests()
        }
    }

    #[test]
    fn send_failed_without_attempts_is_a_timeout() {
        let begin = Instant::now();
        let error = send_failed("T", begin, Duration::from_millis(5), Vec::new(), None);
        assert!(matches!(error, ClientError::Timeout { .. }));
        let error = send_failed(
            "T",
            begin,
            Duration::from_millis(5),
            vec!["b".into()],
            Some(ClientError::BrokerNotFound {
                broker_name: "b".into(),
            }),
        );
        assert!(error
            .to_string()
            .starts_with("Send [1] times, still failed"));
    }
}
