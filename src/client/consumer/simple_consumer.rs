//! `SimpleConsumer`: RocketMQ 5's consumer whose caller receives messages and acks each one
//! (the gRPC clients' `SimpleConsumer`), over POP, blocking. A thin handle on the consumer
//! engine (`engine/`), whose delivery is the caller: it holds no queue and pulls nothing; each
//! `receive` pops for its caller.
//!
//! A received message is invisible to the whole group for the invisible duration `receive`
//! was given; acked within it, it is done; otherwise the broker delivers it again (to this
//! member or another) with its delivery attempt raised, until the group's retry maximum,
//! after which it goes to the dead-letter topic `%DLQ%<group>`.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::config::{start_group, SimpleConsumerBuilder, SimpleConsumerConfig, MAX_POP_BATCH_SIZE};
use super::engine::{ConsumerEngine, ConsumerInner, PopSpec};
use super::subscription::{build_subscription_data, MessageSelector};
use crate::client::shared::error::ClientError;
use crate::client::shared::mq_client_api::{receipt_handle_of, PopStatus};
use crate::common::sync::MutexExt;
use crate::protocol::body::ConsumerRunningInfo;
use crate::protocol::header::ExtraInfo;
use crate::protocol::message::{MessageExt, MessageQueue};

/// The longest `await_duration` taken (brokers hold a pop a minute at most anyway).
const MAX_AWAIT_DURATION: Duration = Duration::from_secs(3600);

/// A consumer whose caller asks for messages with [`receive`](SimpleConsumer::receive) and
/// acks each with [`ack`](SimpleConsumer::ack); RocketMQ 5's `SimpleConsumer`, over the POP
/// protocol of RocketMQ 5 brokers, blocking.
///
/// Any number of simple consumers of a group share a topic whatever its number of queues: a
/// received message is hidden from the group for the invisible duration given to `receive`.
/// Acked in time, it is consumed; otherwise it comes again, to this member or another, with
/// [`delivery_attempt`](MessageView::delivery_attempt) one higher, until the group's retry
/// maximum (16) sends it to `%DLQ%<group>`. Past its invisible time, a [`MessageView`]
/// cannot be acked: [`ClientError::ReceiptHandleExpired`]. A message needing longer gets
/// more time with [`change_invisible_duration`](SimpleConsumer::change_invisible_duration).
///
/// ```
/// # let cluster = rocketmq_blocking::LocalCluster::start()?;
/// use std::time::Duration;
/// use rocketmq_blocking::client::{ConsumeFrom, Message, Producer, SimpleConsumer};
///
/// let producer = Producer::builder("doc_simple_producer")
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// producer.send(&Message::new("DocSimple", "hello").with_tags("TagA"))?;
///
/// let consumer = SimpleConsumer::builder("doc_simple_group")
///     .name_server(cluster.name_server_addr())
///     .subscribe("DocSimple", "TagA")
///     .consume_from(ConsumeFrom::FirstOffset)
///     .await_duration(Duration::from_secs(5))
///     .start()?;
/// let mut received = Vec::new();
/// while received.is_empty() {
///     // Blocks up to the await duration; returns as soon as messages arrive.
///     received = consumer.receive(16, Duration::from_secs(30))?;
/// }
/// for view in &received {
///     assert_eq!(view.body, b"hello");
///     assert_eq!(view.delivery_attempt(), 1);
///     consumer.ack(view)?;
/// }
/// consumer.shutdown();
/// producer.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SimpleConsumer {
    config: SimpleConsumerConfig,
    engine: Arc<ConsumerEngine>,
    /// Which subscription and broker the next `receive` pops (in turn, as the gRPC client).
    next: AtomicUsize,
}

impl fmt::Debug for SimpleConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleConsumer")
            .field("engine", &self.engine)
            .finish()
    }
}

/// A received message, with the receipt handle that acks it; derefs to the [`MessageExt`].
pub struct MessageView {
    message: MessageExt,
    /// The topic popped, namespaced: acks name it (or its retry topic).
    topic: String,
    receipt: Mutex<Receipt>,
}

/// A view's current receipt handle and when it stops holding.
#[derive(Clone)]
struct Receipt {
    handle: ExtraInfo,
    /// On this host's clock, from when the answer came (the broker's pop time is its own
    /// clock): a little late, by the answer's trip.
    visible_again: Instant,
}

impl MessageView {
    /// The message.
    pub fn message(&self) -> &MessageExt {
        &self.message
    }

    /// The message, without its handle.
    pub fn into_message(self) -> MessageExt {
        self.message
    }

    /// The message's id (`UNIQ_KEY`, else the broker's offset id).
    pub fn message_id(&self) -> &str {
        self.message.client_msg_id()
    }

    /// How many times the message has been delivered, this time included: 1 the first time.
    pub fn delivery_attempt(&self) -> i32 {
        self.message.reconsume_times.saturating_add(1)
    }

    /// The receipt handle as the broker knows it (Java's `POP_CK` / `extraInfo`); it changes
    /// with [`SimpleConsumer::change_invisible_duration`].
    pub fn receipt_handle(&self) -> String {
        self.receipt.lock_unpoisoned().handle.to_string()
    }

    /// When the message becomes visible to the group again unless acked (on this host's
    /// clock).
    pub fn invisible_until(&self) -> Instant {
        self.receipt.lock_unpoisoned().visible_again
    }
}

impl Deref for MessageView {
    type Target = MessageExt;

    fn deref(&self) -> &MessageExt {
        &self.message
    }
}

impl fmt::Debug for MessageView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageView")
            .field("message_id", &self.message_id())
            .field("topic", &self.message.topic)
            .field("queue_id", &self.message.queue_id)
            .field("queue_offset", &self.message.queue_offset)
            .field("delivery_attempt", &self.delivery_attempt())
            .field("receipt_handle", &self.receipt_handle())
            .finish()
    }
}

impl Receipt {
    /// How long ago the handle stopped holding, if it did.
    fn expired_for(&self, now: Instant) -> Option<Duration> {
        (now >= self.visible_again).then(|| now - self.visible_again)
    }
}

impl SimpleConsumer {
    /// A builder for consumer group `group`; await duration 30 s, new groups start at the
    /// topic's end.
    pub fn builder(group: impl Into<String>) -> SimpleConsumerBuilder {
        SimpleConsumerBuilder::new(group)
    }

    /// The configuration.
    pub fn config(&self) -> &SimpleConsumerConfig {
        &self.config
    }

    /// This client's id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        self.engine.instance().client_id()
    }

    /// Up to `max` messages (1 to 32), each invisible to the group for `invisible_duration`
    /// unless acked; waits up to the await duration when there are none, and returns as soon
    /// as some arrive (an empty list when none did). Each call pops one subscribed topic on
    /// one of its brokers, in turn. A broker too busy to hold the call answers
    /// POLLING_FULL, as a [`ClientError::Broker`].
    pub fn receive(
        &self,
        max: usize,
        invisible_duration: Duration,
    ) -> Result<Vec<MessageView>, ClientError> {
        if !self.engine.is_running() {
            return Err(ClientError::ShutDown);
        }
        if max == 0 || max > MAX_POP_BATCH_SIZE as usize {
            return Err(ClientError::invalid_argument(
                "max",
                format!(
                    "{max} is not within 1 to {MAX_POP_BATCH_SIZE} (what a broker pops at once)"
                ),
            ));
        }
        check_invisible_duration(invisible_duration)?;
        let subscriptions = self.engine.rebalance().subscriptions();
        if subscriptions.is_empty() {
            return Err(ClientError::invalid_argument(
                "subscriptions",
                "the consumer subscribes to no topic",
            ));
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let subscription = &subscriptions[turn % subscriptions.len()];
        let topic = &subscription.topic;
        let brokers = self.brokers_of(topic)?;
        let broker = &brokers[(turn / subscriptions.len()) % brokers.len()];
        let await_duration = self.config.await_duration;
        let spec = PopSpec {
            queue: MessageQueue::new(topic.as_str(), broker.as_str(), -1),
            max_nums: max as i32,
            invisible_time: invisible_duration,
            poll_time: await_duration,
            init_mode: self.config.consume_from.pop_init_mode(),
            timeout: await_duration + self.engine.instance().api_timeout_default(),
        };
        let pop_api = self.engine.pop_api();
        let mut result = pop_api.pop(&spec, subscription)?;
        let received = Instant::now();
        if result.status != PopStatus::Found {
            return Ok(Vec::new());
        }
        // What was asked for, not the broker's echo: checked to fit an `Instant`.
        let visible_again = received + invisible_duration;
        pop_api.process_pop_result(topic, &mut result, subscription);
        let mut messages = result.messages;
        self.engine
            .instance()
            .namespace()
            .unwrap_messages(&mut messages);
        let mut views = Vec::with_capacity(messages.len());
        for message in messages {
            let handle = match receipt_handle_of(&message) {
                Ok(handle) => handle,
                Err(e) => {
                    log::error!(
                        "message {} popped from {topic} has an unreadable handle ({e}); it \
                         comes back after its invisible time",
                        message.client_msg_id()
                    );
                    continue;
                }
            };
            views.push(MessageView {
                message,
                topic: topic.clone(),
                receipt: Mutex::new(Receipt {
                    handle,
                    visible_again,
                }),
            });
        }
        Ok(views)
    }

    /// Acks a received message: it is consumed and will not come again. Past its invisible
    /// time this fails with [`ClientError::ReceiptHandleExpired`] without asking the broker
    /// (the message comes again).
    pub fn ack(&self, view: &MessageView) -> Result<(), ClientError> {
        let receipt = self.live_receipt(view)?;
        self.engine.pop_api().ack(&view.topic, &receipt.handle)
    }

    /// Makes a received message invisible for `invisible_duration` from now, instead of what
    /// is left of its current invisible time (more time to work on it, or, shorter, to have
    /// it again sooner). The view takes the new receipt handle. Past its invisible time this
    /// fails with [`ClientError::ReceiptHandleExpired`].
    pub fn change_invisible_duration(
        &self,
        view: &MessageView,
        invisible_duration: Duration,
    ) -> Result<(), ClientError> {
        check_invisible_duration(invisible_duration)?;
        // Held across the call: an ack of the same view waits for the new handle.
        let mut receipt = view.receipt.lock_unpoisoned();
        check_live(view, &receipt)?;
        let handle = self.engine.pop_api().change_invisible_time(
            &view.topic,
            &receipt.handle,
            invisible_duration,
        )?;
        *receipt = Receipt {
            handle,
            visible_again: Instant::now() + invisible_duration,
        };
        Ok(())
    }

    /// Subscribes to one more topic (or changes a topic's filter) while running.
    pub fn subscribe(
        &self,
        topic: &str,
        filter: impl Into<MessageSelector>,
    ) -> Result<(), ClientError> {
        let topic = self.engine.instance().namespace().wrap(topic);
        self.engine
            .subscribe(build_subscription_data(&topic, &filter.into())?);
        Ok(())
    }

    /// Stops receiving from `topic`.
    pub fn unsubscribe(&self, topic: &str) {
        let topic = self.engine.instance().namespace().wrap(topic);
        self.engine.unsubscribe(&topic);
    }

    /// The consumer's state as GET_CONSUMER_RUNNING_INFO answers it (`CONSUME_POP`, its
    /// subscriptions).
    pub fn running_info(&self) -> ConsumerRunningInfo {
        self.engine.running_info()
    }

    /// Unregisters from the brokers and joins every thread. Messages received and not acked
    /// come again after their invisible time.
    pub fn shutdown(&self) {
        self.engine.shutdown();
    }

    /// The receipt of `view`, if it still holds.
    fn live_receipt(&self, view: &MessageView) -> Result<Receipt, ClientError> {
        let receipt = view.receipt.lock_unpoisoned().clone();
        check_live(view, &receipt)?;
        Ok(receipt)
    }

    /// The brokers with readable queues of `topic`, sorted; the route is fetched when not
    /// known yet.
    fn brokers_of(&self, topic: &str) -> Result<Vec<String>, ClientError> {
        let instance = self.engine.instance();
        let queues = match instance.cached_subscribe_queues(topic) {
            Some(queues) => queues,
            None => instance.fetch_subscribe_queues(topic)?,
        };
        let mut brokers: Vec<String> = queues.into_iter().map(|q| q.broker_name).collect();
        brokers.dedup(); // sorted queues: a broker's are together
        if brokers.is_empty() {
            return Err(ClientError::NoRoute {
                topic: topic.to_string(),
                reason: "its route has no readable queue".into(),
            });
        }
        Ok(brokers)
    }
}

/// Fails with [`ClientError::ReceiptHandleExpired`] once `receipt` no longer holds.
fn check_live(view: &MessageView, receipt: &Receipt) -> Result<(), ClientError> {
    match receipt.expired_for(Instant::now()) {
        Some(expired_for) => Err(ClientError::ReceiptHandleExpired {
            message_id: view.message_id().to_string(),
            expired_for,
        }),
        None => Ok(()),
    }
}

/// A positive invisible duration, in whole milliseconds as the protocol carries it, whose end
/// this host's clock can tell.
fn check_invisible_duration(duration: Duration) -> Result<(), ClientError> {
    let millis = duration.as_millis();
    if millis == 0 || millis > i64::MAX as u128 || Instant::now().checked_add(duration).is_none() {
        return Err(ClientError::invalid_argument(
            "invisible_duration",
            format!("{duration:?} is not a positive number of milliseconds"),
        ));
    }
    Ok(())
}

impl Drop for SimpleConsumer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl SimpleConsumerBuilder {
    /// Checks the settings and starts the consumer: its client instance, a heartbeat that
    /// registers the group with every broker of its topics' routes, before this returns.
    pub fn start(self) -> Result<SimpleConsumer, ClientError> {
        let SimpleConsumerBuilder {
            mut config,
            name_server,
        } = self;
        let subscriptions = start_group(
            &mut config.group,
            &mut config.client,
            name_server.as_deref(),
            &config.subscriptions,
        )?;
        if config.await_duration > MAX_AWAIT_DURATION {
            return Err(ClientError::invalid_argument(
                "await_duration",
                format!(
                    "{:?} is more than {} s; a broker holds a receive a minute at most",
                    config.await_duration,
                    MAX_AWAIT_DURATION.as_secs()
                ),
            ));
        }
        let engine = ConsumerEngine::start(config.engine_settings(), subscriptions)?;
        Ok(SimpleConsumer {
            config,
            engine,
            next: AtomicUsize::new(0),
        })
    }
}
