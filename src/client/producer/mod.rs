//! `Producer`: sends messages to the brokers of a topic, choosing queues, retrying on other
//! brokers within one timeout, and keeping routes and heartbeats up in the background.
//!
//! [`Producer`] itself is a façade: it validates and prepares the message, then hands it to
//! the attempt engine ([`send_engine`]), which every send style shares.

mod async_sender;
mod config;
mod latency_fault_tolerance;
mod mq_fault_strategy;
mod prepared_message;
mod queue_selector;
mod request_response;
mod send_engine;
mod send_hook;
mod transaction;

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use self::async_sender::AsyncSender;
use self::mq_fault_strategy::MqFaultStrategy;
use self::prepared_message::{HeaderSettings, PreparedMessage};
use self::send_engine::{AsyncSend, DeferredSelector, SendAttempts, Target};
use self::send_hook::run_before;
use crate::client::shared::address::parse_non_empty_address_list;
use crate::client::shared::client_instance::{
    DefaultTopic, MqClientInstance, ProducerRegistration,
};
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::namespace;
use crate::client::shared::result::SendResult;
use crate::client::shared::topic_publish_info::TopicPublishInfo;
use crate::client::shared::validators::{
    check_batch, check_body_size, check_message, check_producer_group,
};
use crate::common::trace::trace_step;
use crate::protocol::codes::request_code;
use crate::protocol::message::{MessageClientIdGenerator, MessageQueue};
use crate::remoting::{PoolConfig, RemotingError, RpcHook};

pub use config::{ProducerBuilder, ProducerConfig};
pub use queue_selector::{JavaHashCode, MessageQueueSelector, SelectMessageQueueByHash};
pub use request_response::{create_reply_message, RequestCallback};
pub use send_hook::{CommunicationMode, MessageType, SendMessageContext, SendMessageHook};
pub use transaction::{
    LocalTransactionState, TransactionListener, TransactionProducer, TransactionProducerBuilder,
    TransactionSendResult,
};

const RUNNING: u8 = 1;
const SHUT_DOWN: u8 = 2;

/// A message producer; mirrors Java's `DefaultMQProducer` and `DefaultMQProducerImpl`.
///
/// Start one with [`Producer::builder`], send from any number of threads (it is `Sync`; share
/// it by reference or in an `Arc`), and [`shutdown`](Producer::shutdown) it (dropping it does
/// the same). Every send first checks the message, then finds the topic's queues (asking a
/// name server the first time), and gives all of its attempts together at most the send
/// timeout.
///
/// ```no_run
/// use rocketmq_blocking::client::{Message, Producer};
///
/// let producer = Producer::builder("example_producer")
///     .name_server("127.0.0.1:9876")
///     .start()?;
/// let result = producer.send(&Message::new("TopicTest", "Hello RocketMQ"))?;
/// println!("{result}");
/// producer.shutdown();
/// # Ok::<(), rocketmq_blocking::client::ClientError>(())
/// ```
pub struct Producer {
    inner: Arc<ProducerInner>,
}

/// The state a producer's sends share, async sends in flight included.
pub(crate) struct ProducerInner {
    pub(crate) config: ProducerConfig,
    pub(crate) instance: Arc<MqClientInstance>,
    pub(crate) fault_strategy: MqFaultStrategy,
    async_sender: AsyncSender,
    ids: MessageClientIdGenerator,
    state: AtomicU8,
    hooks: Vec<Arc<dyn SendMessageHook>>,
    born_host: String,
    /// Requests waiting for their replies.
    requests: Arc<request_response::RequestFutureTable>,
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("group", &self.inner.config.group)
            .field("client_id", &self.client_id())
            .field("running", &self.inner.ensure_running().is_ok())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl Producer {
    /// A builder with Java's defaults for `group`.
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder::new(group)
    }

    /// Starts a producer with `config` (the builder's last step).
    fn start(
        config: ProducerConfig,
        hooks: Vec<Arc<dyn SendMessageHook>>,
        rpc_hooks: Vec<Arc<dyn RpcHook>>,
    ) -> Result<Producer, ClientError> {
        check_producer_group(&config.group)?;
        // The cluster knows the group by its namespaced name (Java's `start`:
        // `setProducerGroup(withNamespace(producerGroup))`).
        let mut config = config;
        if let Some(ns) = config.client.namespace.as_deref() {
            config.group = namespace::wrap_namespace(ns, &config.group);
        }
        let registration = ProducerRegistration {
            group: config.group.clone(),
            default_topic: DefaultTopic {
                key: config.create_topic_key.clone(),
                queue_nums: config.default_topic_queue_nums,
            },
        };
        let instance = MqClientInstance::new(config.client.clone(), Some(registration), rpc_hooks)?;
        let async_sender = AsyncSender::new(
            config.async_sender_threads,
            config.async_send_queue_capacity,
        )
        .map_err(|e| RemotingError::io("start the async sender threads", e))?;
        let ids = MessageClientIdGenerator::new(instance.client_ip());
        let inner = Arc::new(ProducerInner {
            fault_strategy: MqFaultStrategy::new(config.send_latency_fault_enable),
            born_host: instance.client_ip().to_string(),
            instance,
            async_sender,
            ids,
            state: AtomicU8::new(RUNNING),
            hooks,
            config,
            requests: Arc::default(),
        });
        let producer = Producer { inner };
        // On failure, dropping `producer` stops whatever did start.
        producer
            .inner
            .instance
            .api()
            .remoting()
            .register_processor(
                request_code::PUSH_REPLY_MESSAGE_TO_CLIENT,
                request_response::ReceiveReplyProcessor {
                    table: Arc::downgrade(&producer.inner.requests),
                },
                PoolConfig {
                    threads: 2,
                    queue_capacity: 10_000,
                },
            )?;
        producer.inner.instance.start_background_tasks()?;
        log::info!(
            "producer {} started as {}",
            producer.inner.config.group,
            producer.client_id()
        );
        Ok(producer)
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// This producer's client id, `ip@instance`.
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// The IP this producer stamps into message ids.
    pub fn client_ip(&self) -> IpAddr {
        self.inner.instance.client_ip()
    }

    /// Sends and waits for the broker's answer, retrying on other brokers within the send
    /// timeout (`send(msg)`).
    ///
    /// A retry happens after a transport failure or one of the retryable broker codes
    /// ([`ProducerConfig::retry_response_codes`]); every attempt gets what is left of the
    /// timeout, and the error of a send that failed every time says how many attempts, on
    /// which brokers, and why the last one failed.
    ///
    /// ```
    /// # let cluster = rocketmq_blocking::LocalCluster::start()?;
    /// use rocketmq_blocking::client::{Message, Producer, SendStatus};
    ///
    /// let producer = Producer::builder("doc_producer")
    ///     .name_server(cluster.name_server_addr())
    ///     .start()?;
    /// let result = producer.send(&Message::new("DocTopic", "hello").with_tags("TagA"))?;
    /// assert_eq!(result.send_status, SendStatus::SendOk);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
        let prepared = inner.prepare(message)?;
        let attempts = inner.config.retry_times_when_send_failed.saturating_add(1);
        inner.send_sync(SendAttempts::new(
            prepared,
            Target::AnyQueue,
            CommunicationMode::Sync,
            timeout,
            attempts,
        ))
    }

    /// Sends without waiting for an answer and without retrying (`sendOneway`); `Ok` means
    /// the request was handed to the connection.
    pub fn send_oneway(&self, message: &Message) -> Result<(), ClientError> {
        let inner = &self.inner;
        let prepared = inner.prepare(message)?;
        inner.send_oneway(SendAttempts::new(
            prepared,
            Target::AnyQueue,
            CommunicationMode::Oneway,
            inner.config.send_timeout,
            1,
        ))
    }

    /// Sends without blocking on the network; `callback` gets the result or the error
    /// exactly once (`send(msg, callback)`).
    ///
    /// `Err` comes back at once only when the message is invalid, the producer is shut down,
    /// or the async send queue is full; then the callback never runs. Everything else (the
    /// route lookup, connecting, waiting for a permit, the broker's answer or any failure)
    /// happens on the async sender threads and reaches the callback. A send whose request
    /// could not be delivered is retried on another broker
    /// ([`ProducerConfig::retry_times_when_send_async_failed`]); a broker's error answer is
    /// not retried, as in Java. The callback runs on a sender or callback thread: keep it
    /// short. [`Producer::flush`] waits for every callback.
    ///
    /// ```
    /// # let cluster = rocketmq_blocking::LocalCluster::start()?;
    /// use std::time::Duration;
    /// use rocketmq_blocking::client::{Message, Producer};
    ///
    /// let producer = Producer::builder("doc_async_producer")
    ///     .name_server(cluster.name_server_addr())
    ///     .start()?;
    /// for i in 0..10 {
    ///     let message = Message::new("DocTopic", format!("async {i}"));
    ///     producer.send_async(&message, move |result| match result {
    ///         Ok(sent) => println!("{i}: {}", sent.msg_id),
    ///         Err(e) => eprintln!("{i} failed: {e}"),
    ///     })?;
    /// }
    /// producer.flush(Duration::from_secs(10))?;
    /// assert_eq!(producer.in_flight(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_async(
        &self,
        message: &Message,
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        let prepared = self.inner.prepare(message)?;
        self.start_async(prepared, Target::AnyQueue, Box::new(callback))
    }

    /// Sends to `queue` and waits, without retrying elsewhere (`send(msg, mq)`).
    pub fn send_to_queue(
        &self,
        message: &Message,
        queue: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        check_queue_topic(message, queue)?;
        let inner = &self.inner;
        let prepared = inner.prepare(message)?;
        inner.send_sync(SendAttempts::new(
            prepared,
            Target::Queue(inner.instance.namespace().wrap_queue(queue)),
            CommunicationMode::Sync,
            inner.config.send_timeout,
            1,
        ))
    }

    /// [`Producer::send_to_queue`] without blocking; retries go to the same queue
    /// (`send(msg, mq, callback)`). `Err` and the callback as for [`Producer::send_async`].
    pub fn send_to_queue_async(
        &self,
        message: &Message,
        queue: &MessageQueue,
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        check_queue_topic(message, queue)?;
        let prepared = self.inner.prepare(message)?;
        let queue = self.inner.instance.namespace().wrap_queue(queue);
        self.start_async(prepared, Target::Queue(queue), Box::new(callback))
    }

    /// Sends to the queue `selector` picks for `arg` and waits, without retrying elsewhere
    /// (`send(msg, selector, arg)`): messages with one key go to one queue, in order.
    ///
    /// ```
    /// # let cluster = rocketmq_blocking::LocalCluster::start()?;
    /// use rocketmq_blocking::client::{Message, Producer, SelectMessageQueueByHash};
    ///
    /// let producer = Producer::builder("doc_order_producer")
    ///     .name_server(cluster.name_server_addr())
    ///     .start()?;
    /// let order_id: u64 = 20_240_001;
    /// let mut queues = Vec::new();
    /// for step in ["created", "paid", "shipped"] {
    ///     let message = Message::new("DocOrders", step).with_keys(order_id.to_string());
    ///     let sent = producer.send_with_selector(&message, &SelectMessageQueueByHash, &order_id)?;
    ///     queues.push(sent.message_queue);
    /// }
    /// assert!(queues.windows(2).all(|w| w[0] == w[1]), "one order, one queue");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_with_selector<A: ?Sized>(
        &self,
        message: &Message,
        selector: &impl MessageQueueSelector<A>,
        arg: &A,
    ) -> Result<SendResult, ClientError> {
        let inner = &self.inner;
        let begin = std::time::Instant::now();
        let prepared = inner.prepare(message)?;
        let timeout = inner.config.send_timeout;
        let info = inner.find_publish_info(&prepared.topic, timeout)?;
        // The selector sees and returns queues under the topic name the user gave.
        let namespace = inner.instance.namespace();
        let queue = selector
            .select(&namespace.unwrap_queues(&info.message_queues), message, arg)
            .map(|queue| namespace.wrap_queue(&queue))
            .ok_or_else(|| no_queue_selected(&info, &prepared.topic))?;
        trace_step!("client", "queue chosen: {queue} (by the selector)");
        // One budget: the attempt gets what the route lookup left (`sendSelectImpl`).
        inner.send_sync(SendAttempts::new(
            prepared,
            Target::Queue(queue),
            CommunicationMode::Sync,
            timeout.saturating_sub(begin.elapsed()),
            1,
        ))
    }

    /// [`Producer::send_with_selector`] without blocking: the route lookup and the selector
    /// run on a sender thread, so both are moved in. `Err` and the callback as for
    /// [`Producer::send_async`].
    pub fn send_with_selector_async<S, A>(
        &self,
        message: &Message,
        selector: S,
        arg: A,
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError>
    where
        S: MessageQueueSelector<A> + Send + 'static,
        A: Send + 'static,
    {
        let prepared = self.inner.prepare(message)?;
        let for_selector = message.clone();
        let select: DeferredSelector =
            Box::new(move |queues: &[MessageQueue]| selector.select(queues, &for_selector, &arg));
        self.start_async(prepared, Target::Selected(Some(select)), Box::new(callback))
    }

    /// Sends `messages` as one SEND_BATCH_MESSAGE and waits (`send(Collection<Message>)`):
    /// one topic, no delay, no retry topic, each message with its own `UNIQ_KEY`, never
    /// compressed; the encoded batch must fit the maximum message size. The result's
    /// `msg_id` lists every message's id, comma-separated.
    ///
    /// ```
    /// # let cluster = rocketmq_blocking::LocalCluster::start()?;
    /// use rocketmq_blocking::client::{Message, Producer};
    ///
    /// let producer = Producer::builder("doc_batch_producer")
    ///     .name_server(cluster.name_server_addr())
    ///     .start()?;
    /// let batch: Vec<Message> = (0..3)
    ///     .map(|i| Message::new("DocTopic", format!("item {i}")))
    ///     .collect();
    /// let sent = producer.send_batch(&batch)?;
    /// assert_eq!(sent.msg_id.split(',').count(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_batch(&self, messages: &[Message]) -> Result<SendResult, ClientError> {
        let inner = &self.inner;
        let prepared = inner.prepare_batch(messages)?;
        inner.send_sync(SendAttempts::new(
            prepared,
            Target::AnyQueue,
            CommunicationMode::Sync,
            inner.config.send_timeout,
            inner.config.retry_times_when_send_failed.saturating_add(1),
        ))
    }

    /// [`Producer::send_batch`] without blocking. `Err` and the callback as for
    /// [`Producer::send_async`].
    pub fn send_batch_async(
        &self,
        messages: &[Message],
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        let prepared = self.inner.prepare_batch(messages)?;
        self.start_async(prepared, Target::AnyQueue, Box::new(callback))
    }

    /// The queues a message of `topic` may go to, from a route fetched now
    /// (`fetchPublishMessageQueues`). A topic the name servers do not know is
    /// [`ClientError::NoRoute`]: unlike a send, this does not borrow the auto-create topic's
    /// queues.
    pub fn fetch_publish_message_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        self.inner.ensure_running()?;
        let namespace = self.inner.instance.namespace();
        let queues = self.inner.instance.fetch_publish_message_queues(
            &namespace.wrap(topic),
            self.inner.config.client.api_timeout,
        )?;
        Ok(queues.iter().map(|q| namespace.unwrap_queue(q)).collect())
    }

    /// Waits until every async send accepted so far has called back, at most `timeout`
    /// (rdkafka's `flush`; no RocketMQ client has one). Sends accepted while it waits are
    /// waited for too. [`ClientError::FlushTimeout`] says how many were still in flight.
    ///
    /// Do not call it from a send's callback: that send counts until its callback returns.
    ///
    /// ```
    /// # let cluster = rocketmq_blocking::LocalCluster::start()?;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use rocketmq_blocking::client::{Message, Producer};
    ///
    /// let producer = Producer::builder("doc_flush_producer")
    ///     .name_server(cluster.name_server_addr())
    ///     .start()?;
    /// let stored = Arc::new(AtomicUsize::new(0));
    /// for i in 0..100 {
    ///     let stored = stored.clone();
    ///     producer.send_async(&Message::new("DocFlush", format!("{i}")), move |result| {
    ///         if result.is_ok() {
    ///             stored.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })?;
    /// }
    /// // Before shutting down: wait for every callback, at most 10 s.
    /// producer.flush(Duration::from_secs(10))?;
    /// assert_eq!(stored.load(Ordering::Relaxed), 100);
    /// producer.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self, timeout: Duration) -> Result<(), ClientError> {
        self.inner
            .async_sender
            .wait_idle(timeout)
            .map_err(|in_flight| ClientError::FlushTimeout { in_flight, timeout })
    }

    /// Async sends accepted and not yet called back.
    pub fn in_flight(&self) -> usize {
        self.inner.async_sender.in_flight()
    }

    /// Replaces the name server list (`"host:port;host:port"`) at runtime.
    pub fn update_name_server_address_list(&self, addrs: &str) -> Result<(), ClientError> {
        let addrs = parse_non_empty_address_list(addrs)?;
        self.inner
            .instance
            .api()
            .remoting()
            .update_name_server_address_list(addrs);
        Ok(())
    }

    /// Stops the producer: new sends fail with [`ClientError::ShutDown`]; async sends not yet
    /// started, or still waiting for a broker's answer, complete with an error (call
    /// [`flush`](Producer::flush) first to let them finish); then it unregisters from every
    /// broker, closes every connection and joins every thread it started. When it returns,
    /// every accepted async send has called back, with two exceptions: a call made while
    /// another is in progress returns at once, and a call from one of the producer's own
    /// callbacks cannot wait for the thread it runs on. Dropping the producer does the same.
    pub fn shutdown(&self) {
        if self.inner.state.swap(SHUT_DOWN, Ordering::SeqCst) == SHUT_DOWN {
            return;
        }
        // Route lookups in flight fail at once, so the sender threads finish promptly.
        self.inner.instance.begin_shutdown();
        // Queued sends see SHUT_DOWN and call back; running ones end their attempt.
        self.inner.async_sender.shutdown();
        // Requests still waiting for an answer fail here, their callbacks run.
        self.inner.instance.shutdown();
        // So do requests still waiting for a reply.
        self.inner.requests.shutdown();
        log::info!("producer {} shut down", self.inner.config.group);
    }

    fn start_async(
        &self,
        prepared: PreparedMessage,
        target: Target,
        callback: send_engine::UserCallback,
    ) -> Result<(), ClientError> {
        let budget = self.inner.config.send_timeout;
        self.start_async_within(prepared, target, callback, budget)
    }

    /// [`Producer::start_async`] with a time budget of its own (a request's).
    fn start_async_within(
        &self,
        prepared: PreparedMessage,
        target: Target,
        callback: send_engine::UserCallback,
        budget: Duration,
    ) -> Result<(), ClientError> {
        let inner = &self.inner;
        let attempts = inner
            .config
            .retry_times_when_send_async_failed
            .saturating_add(1);
        let send = SendAttempts::new(prepared, target, CommunicationMode::Async, budget, attempts);
        let send = AsyncSend::new(send, callback, inner.async_sender.track());
        // A refused send drops its callback unused: the caller gets the error instead.
        inner.submit_async(send).map_err(|(error, send)| {
            send.refuse();
            error
        })
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn check_queue_topic(message: &Message, queue: &MessageQueue) -> Result<(), ClientError> {
    if message.topic() == queue.topic {
        Ok(())
    } else {
        Err(ClientError::invalid_argument(
            "queue",
            format!(
                "{queue} belongs to topic {}, the message to topic {}",
                queue.topic,
                message.topic()
            ),
        ))
    }
}

fn no_queue_selected(info: &TopicPublishInfo, topic: &str) -> ClientError {
    ClientError::invalid_argument(
        "selector",
        format!(
            "chose no queue among the {} of topic {topic}",
            info.message_queues.len()
        ),
    )
}

impl ProducerInner {
    /// `Err` unless running (`makeSureStateOK`).
    pub(crate) fn ensure_running(&self) -> Result<(), ClientError> {
        match self.state.load(Ordering::SeqCst) {
            RUNNING => Ok(()),
            _ => Err(ClientError::ShutDown),
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

    /// Checks a message (`checkMessage`) and prepares it: `UNIQ_KEY`, compression, flags.
    fn prepare(&self, message: &Message) -> Result<PreparedMessage, ClientError> {
        self.ensure_running()?;
        let checked = check_message(message, self.config.max_message_size);
        trace_step!(
            "client",
            "validate: topic {}, body {} bytes (limit {}): {}",
            message.topic(),
            message.body().len(),
            self.config.max_message_size,
            match &checked {
                Ok(()) => "ok".to_string(),
                Err(e) => e.to_string(),
            }
        );
        checked?;
        let mut prepared = PreparedMessage::single(
            message,
            &self.ids,
            self.config.compress_over,
            self.config.compress_level,
        );
        self.instance.namespace().wrap_in_place(&mut prepared.topic);
        Ok(prepared)
    }

    fn prepare_batch(&self, messages: &[Message]) -> Result<PreparedMessage, ClientError> {
        self.ensure_running()?;
        check_batch(messages, self.config.max_message_size)?;
        let mut prepared = PreparedMessage::batch(messages, &self.ids)?;
        self.instance.namespace().wrap_in_place(&mut prepared.topic);
        check_body_size(prepared.body.len(), self.config.max_message_size)?;
        trace_step!(
            "client",
            "validate: batch of {} to topic {}, {} bytes encoded: ok",
            messages.len(),
            prepared.topic,
            prepared.body.len()
        );
        Ok(prepared)
    }

    /// The topic's queues, from the cache or the name servers within `timeout`.
    pub(crate) fn find_publish_info(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<Arc<TopicPublishInfo>, ClientError> {
        let (info, source) = self.instance.find_topic_publish_info(topic, timeout)?;
        trace_step!(
            "client",
            "route of {topic}: {} queue(s){} from {source}",
            info.message_queues.len(),
            if info.order_topic {
                " (ordered topic)"
            } else {
                ""
            }
        );
        Ok(info)
    }

    /// Runs the "before" hooks and returns the context for the "after" call, if any hook is
    /// registered.
    pub(crate) fn before_hooks(
        &self,
        prepared: &PreparedMessage,
        queue: &MessageQueue,
        broker_addr: &str,
        mode: CommunicationMode,
    ) -> Option<(Vec<Arc<dyn SendMessageHook>>, SendMessageContext)> {
        if self.hooks.is_empty() {
            return None;
        }
        let context = prepared.hook_context(
            &self.config.group,
            &self.born_host,
            queue,
            broker_addr,
            mode,
        );
        run_before(&self.hooks, &context);
        Some((self.hooks.clone(), context))
    }
}
