//! `Producer`: the façade users send through; mirrors Java's `DefaultMQProducer`. Each send
//! style checks its arguments, picks its target, mode and number of attempts, and hands the
//! message to the [`SendEngine`].

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::async_sender::AsyncSender;
use super::config::{ProducerBuilder, ProducerConfig};
use super::prepared_message::PreparedMessage;
use super::queue_selector::MessageQueueSelector;
use super::request_response::{self, RequestCallback, RequestFutureTable, RequestResponseFuture};
use super::send_engine::{deferred_selector, SendAttempts, SendEngine, Target};
use super::send_hook::SendMessageHook;
use crate::client::shared::address::parse_non_empty_address_list;
use crate::client::shared::client_instance::{
    DefaultTopic, MqClientInstance, ProducerRegistration,
};
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::namespace;
use crate::client::shared::result::{Callback, CommunicationMode, SendResult};
use crate::client::shared::topic_publish_info::TopicPublishInfo;
use crate::client::shared::validators::check_producer_group;
use crate::common::trace::trace_step;
use crate::protocol::codes::request_code;
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::{PoolConfig, RemotingError, RpcHook};

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
    /// Prepares messages and makes the attempts of every send.
    pub(super) engine: Arc<SendEngine>,
    /// The threads async sends run on, and their in-flight count.
    async_sender: Arc<AsyncSender>,
    /// Requests waiting for their replies.
    requests: Arc<RequestFutureTable>,
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("group", &self.engine.config.group)
            .field("client_id", &self.client_id())
            .field("running", &self.engine.ensure_running().is_ok())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl ProducerBuilder {
    /// Checks the settings and starts the producer (`start`): its route refresh, heartbeat
    /// and async sender threads. Nothing is connected yet; the first send asks a name server
    /// for its topic's route.
    ///
    /// Fails with [`ClientError::InvalidGroup`] for a bad group name,
    /// [`ClientError::InvalidAddress`] for a name server that is not `host:port`, and
    /// [`ClientError::NameServerLookup`] when neither [`name_server`](Self::name_server) nor
    /// `NAMESRV_ADDR` gives one and the
    /// [address service](Self::name_server_address_service) gives no list either.
    pub fn start(self) -> Result<Producer, ClientError> {
        let ProducerBuilder {
            mut config,
            name_server,
            send_hooks,
            rpc_hooks,
        } = self;
        config.client.check_at_start(name_server.as_deref())?;
        Producer::start(config, send_hooks, rpc_hooks)
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
        let producer = Producer {
            engine: Arc::new(SendEngine::new(config, instance, hooks)),
            async_sender: Arc::new(async_sender),
            requests: Arc::default(),
        };
        // On failure, dropping `producer` stops whatever did start.
        let instance = &producer.engine.instance;
        instance.api().remoting().register_processor(
            request_code::PUSH_REPLY_MESSAGE_TO_CLIENT,
            request_response::ReceiveReplyProcessor {
                table: Arc::downgrade(&producer.requests),
            },
            PoolConfig {
                threads: 2,
                queue_capacity: 10_000,
            },
        )?;
        instance.start_background_tasks()?;
        log::info!(
            "producer {} started as {}",
            producer.engine.config.group,
            producer.client_id()
        );
        Ok(producer)
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.engine.config
    }

    /// This producer's client id, `ip@instance`.
    pub fn client_id(&self) -> &str {
        self.engine.instance.client_id()
    }

    /// The IP this producer stamps into message ids.
    pub fn client_ip(&self) -> IpAddr {
        self.engine.instance.client_ip()
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
        self.send_with_timeout(message, self.engine.config.send_timeout)
    }

    /// [`Producer::send`] with its own time budget.
    pub fn send_with_timeout(
        &self,
        message: &Message,
        timeout: Duration,
    ) -> Result<SendResult, ClientError> {
        let engine = &self.engine;
        let prepared = engine.prepare(message)?;
        let attempts = engine.config.retry_times_when_send_failed.saturating_add(1);
        engine.send_sync(SendAttempts::new(
            prepared,
            Target::AnyQueue,
            CommunicationMode::Sync,
            timeout,
            attempts,
        ))
    }

    /// Cancels a timer message not yet delivered, by the handle its send returned
    /// ([`SendResult::recall_handle`]); answers the message's unique id (`recallMessage`,
    /// RocketMQ 5.3). The handle names its broker, which must have `recallMessageEnable` on;
    /// a handle whose time has come, or that is not one, is refused by the broker
    /// (ILLEGAL_OPERATION), one that does not decode here.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rocketmq_blocking::client::{Message, Producer};
    /// use rocketmq_blocking::LocalCluster;
    ///
    /// let cluster = LocalCluster::start_with(|broker| broker.recall_message_enable(true))?;
    /// let producer = Producer::builder("doc_recall_producer")
    ///     .name_server(cluster.name_server_addr())
    ///     .start()?;
    /// let message = Message::new("Reminders", "call back").with_delay(Duration::from_secs(60));
    /// let sent = producer.send(&message)?;
    /// let handle = sent.recall_handle.expect("a timer message can be recalled");
    /// assert_eq!(producer.recall("Reminders", &handle)?, sent.msg_id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recall(&self, topic: &str, recall_handle: &str) -> Result<String, ClientError> {
        self.engine.recall(topic, recall_handle)
    }

    /// Sends without waiting for an answer and without retrying (`sendOneway`); `Ok` means
    /// the request was handed to the connection.
    pub fn send_oneway(&self, message: &Message) -> Result<(), ClientError> {
        let engine = &self.engine;
        let prepared = engine.prepare(message)?;
        engine.send_oneway(SendAttempts::new(
            prepared,
            Target::AnyQueue,
            CommunicationMode::Oneway,
            engine.config.send_timeout,
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
        let prepared = self.engine.prepare(message)?;
        self.start_async(prepared, Target::AnyQueue, Box::new(callback))
    }

    /// Sends to `queue` and waits, without retrying elsewhere (`send(msg, mq)`).
    pub fn send_to_queue(
        &self,
        message: &Message,
        queue: &MessageQueue,
    ) -> Result<SendResult, ClientError> {
        check_queue_topic(message, queue)?;
        let engine = &self.engine;
        let prepared = engine.prepare(message)?;
        engine.send_sync(SendAttempts::new(
            prepared,
            Target::Queue(engine.instance.namespace().wrap_queue(queue)),
            CommunicationMode::Sync,
            engine.config.send_timeout,
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
        let prepared = self.engine.prepare(message)?;
        let queue = self.engine.instance.namespace().wrap_queue(queue);
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
        let engine = &self.engine;
        let begin = std::time::Instant::now();
        let prepared = engine.prepare(message)?;
        let timeout = engine.config.send_timeout;
        let info = engine.find_publish_info(&prepared.topic, timeout)?;
        // The selector sees and returns queues under the topic name the user gave.
        let namespace = engine.instance.namespace();
        let queue = selector
            .select(&namespace.unwrap_queues(&info.message_queues), message, arg)
            .map(|queue| namespace.wrap_queue(&queue))
            .ok_or_else(|| no_queue_selected(&info, &prepared.topic))?;
        trace_step!("client", "queue chosen: {queue} (by the selector)");
        // One budget: the attempt gets what the route lookup left (`sendSelectImpl`).
        engine.send_sync(SendAttempts::new(
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
        let prepared = self.engine.prepare(message)?;
        let select = deferred_selector(message, selector, arg);
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
        let engine = &self.engine;
        let prepared = engine.prepare_batch(messages)?;
        engine.send_sync(SendAttempts::new(
            prepared,
            Target::AnyQueue,
            CommunicationMode::Sync,
            engine.config.send_timeout,
            engine.config.retry_times_when_send_failed.saturating_add(1),
        ))
    }

    /// [`Producer::send_batch`] without blocking. `Err` and the callback as for
    /// [`Producer::send_async`].
    pub fn send_batch_async(
        &self,
        messages: &[Message],
        callback: impl FnOnce(Result<SendResult, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        let prepared = self.engine.prepare_batch(messages)?;
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
        self.engine.ensure_running()?;
        let namespace = self.engine.instance.namespace();
        let queues = self.engine.instance.fetch_publish_message_queues(
            &namespace.wrap(topic),
            self.engine.config.client.api_timeout,
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
        self.async_sender
            .wait_idle(timeout)
            .map_err(|in_flight| ClientError::FlushTimeout { in_flight, timeout })
    }

    /// Async sends accepted and not yet called back.
    pub fn in_flight(&self) -> usize {
        self.async_sender.in_flight()
    }

    /// Replaces the name server list (`"host:port;host:port"`) at runtime.
    pub fn update_name_server_address_list(&self, addrs: &str) -> Result<(), ClientError> {
        let addrs = parse_non_empty_address_list(addrs)?;
        self.engine
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
        if !self.engine.shut_down() {
            return;
        }
        // Route lookups in flight fail at once, so the sender threads finish promptly.
        self.engine.instance.begin_shutdown();
        // Queued sends see SHUT_DOWN and call back; running ones end their attempt.
        self.async_sender.shutdown();
        // Requests still waiting for an answer fail here, their callbacks run.
        self.engine.instance.shutdown();
        // So do requests still waiting for a reply.
        self.requests.shutdown();
        log::info!("producer {} shut down", self.engine.config.group);
    }

    fn start_async(
        &self,
        prepared: PreparedMessage,
        target: Target,
        callback: Callback<SendResult>,
    ) -> Result<(), ClientError> {
        let budget = self.engine.config.send_timeout;
        self.engine
            .send_async(&self.async_sender, prepared, target, callback, budget)
    }
}

impl Producer {
    // ----- request-reply (`request_response.rs`) ----------------------------------------

    /// Sends `message` as a request and waits up to `timeout` for its reply
    /// (`request(msg, timeout)`).
    ///
    /// The request is sent like [`Producer::send_async`] (retries included) within the same
    /// `timeout`. No reply in time is [`ClientError::RequestTimeout`]; a request that could
    /// not be sent fails with the send's error.
    ///
    /// ```
    /// # let cluster = rocketmq_blocking::LocalCluster::start()?;
    /// use std::time::Duration;
    /// use rocketmq_blocking::client::{
    ///     create_reply_message, ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt,
    ///     Producer, PushConsumer,
    /// };
    ///
    /// // The responder: consumes requests, sends replies.
    /// let replier = Producer::builder("doc_replier").name_server(cluster.name_server_addr()).start()?;
    /// let responder = PushConsumer::builder("doc_responder")
    ///     .name_server(cluster.name_server_addr())
    ///     .subscribe("DocRequests", "*")
    ///     .consume_from(ConsumeFrom::FirstOffset)
    ///     .message_listener_concurrently(move |requests: &[MessageExt], _: &mut _| {
    ///         for request in requests {
    ///             let reply = create_reply_message(request, b"pong".to_vec()).unwrap();
    ///             replier.send(&reply).unwrap();
    ///         }
    ///         ConsumeConcurrentlyStatus::ConsumeSuccess
    ///     })
    ///     .start()?;
    ///
    /// let requester = Producer::builder("doc_requester")
    ///     .name_server(cluster.name_server_addr())
    ///     .start()?;
    /// let reply = requester.request(&Message::new("DocRequests", "ping"), Duration::from_secs(30))?;
    /// assert_eq!(reply.body, b"pong");
    /// # responder.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request(&self, message: &Message, timeout: Duration) -> Result<MessageExt, ClientError> {
        self.request_with_target(message, timeout, Target::AnyQueue, None)?
            .wait_and_forget(&self.requests)
    }

    /// [`Producer::request`] without blocking (`request(msg, callback, timeout)`): `callback`
    /// gets the reply, the send's error, or [`ClientError::RequestTimeout`], exactly once, on a
    /// client thread (keep it short). `Err` comes back at once, and the callback never runs,
    /// when the message is invalid or the producer cannot take the send.
    pub fn request_async(
        &self,
        message: &Message,
        timeout: Duration,
        callback: impl FnOnce(Result<MessageExt, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        self.request_with_target(message, timeout, Target::AnyQueue, Some(Box::new(callback)))
            .map(|_| ())
    }

    /// [`Producer::request`] to one queue (`request(msg, mq, timeout)`).
    pub fn request_to_queue(
        &self,
        message: &Message,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<MessageExt, ClientError> {
        check_queue_topic(message, queue)?;
        let queue = self.engine.instance.namespace().wrap_queue(queue);
        self.request_with_target(message, timeout, Target::Queue(queue), None)?
            .wait_and_forget(&self.requests)
    }

    /// [`Producer::request_async`] to one queue (`request(msg, mq, callback, timeout)`).
    pub fn request_to_queue_async(
        &self,
        message: &Message,
        queue: &MessageQueue,
        timeout: Duration,
        callback: impl FnOnce(Result<MessageExt, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError> {
        check_queue_topic(message, queue)?;
        let target = Target::Queue(self.engine.instance.namespace().wrap_queue(queue));
        self.request_with_target(message, timeout, target, Some(Box::new(callback)))
            .map(|_| ())
    }

    /// [`Producer::request`] to the queue `selector` picks for `arg`
    /// (`request(msg, selector, arg, timeout)`).
    pub fn request_with_selector<S, A>(
        &self,
        message: &Message,
        selector: S,
        arg: A,
        timeout: Duration,
    ) -> Result<MessageExt, ClientError>
    where
        S: MessageQueueSelector<A> + Send + 'static,
        A: Send + 'static,
    {
        let target = Target::Selected(Some(deferred_selector(message, selector, arg)));
        self.request_with_target(message, timeout, target, None)?
            .wait_and_forget(&self.requests)
    }

    /// [`Producer::request_async`] to the queue `selector` picks for `arg`
    /// (`request(msg, selector, arg, callback, timeout)`).
    pub fn request_with_selector_async<S, A>(
        &self,
        message: &Message,
        selector: S,
        arg: A,
        timeout: Duration,
        callback: impl FnOnce(Result<MessageExt, ClientError>) + Send + 'static,
    ) -> Result<(), ClientError>
    where
        S: MessageQueueSelector<A> + Send + 'static,
        A: Send + 'static,
    {
        let target = Target::Selected(Some(deferred_selector(message, selector, arg)));
        self.request_with_target(message, timeout, target, Some(Box::new(callback)))
            .map(|_| ())
    }

    fn request_with_target(
        &self,
        message: &Message,
        timeout: Duration,
        target: Target,
        callback: Option<RequestCallback>,
    ) -> Result<Arc<RequestResponseFuture>, ClientError> {
        request_response::send_request(
            &self.engine,
            &self.async_sender,
            &self.requests,
            message,
            timeout,
            target,
            callback,
        )
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
