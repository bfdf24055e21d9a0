//! `PushConsumer`: a group member whose listener gets the messages of the queues the group
//! gives it; mirrors Java's `DefaultMQPushConsumer`. A thin handle on the consumer engine
//! (`engine/`), with a listener on the consume pool as its delivery.

use std::fmt;
use std::sync::Arc;

use super::config::{
    start_group, start_trace, PushConsumerBuilder, PushConsumerConfig, MAX_POP_BATCH_SIZE,
};
use super::engine::{ConsumerEngine, ConsumerInner};
use super::subscription::{build_subscription_data, MessageSelector, SUB_ALL};
use crate::client::shared::error::ClientError;
use crate::client::shared::namespace::Namespace;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::client::trace::async_trace_dispatcher::AsyncTraceDispatcher;
use crate::protocol::body::{ConsumerRunningInfo, MessageModel};

/// A consumer that pulls in the background and calls a listener for each batch; mirrors
/// Java's `DefaultMQPushConsumer`.
///
/// Members of one group share the topics' queues (clustering) or each get everything
/// (broadcasting); offsets are committed as messages are consumed. A message the listener
/// fails is redelivered later through the group's retry topic, up to `max_reconsume_times`,
/// then goes to the dead-letter topic `%DLQ%<group>`.
///
/// ```
/// # let cluster = rocketmq_blocking::LocalCluster::start()?;
/// use std::sync::mpsc;
/// use rocketmq_blocking::client::{
///     ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt, Producer, PushConsumer,
/// };
///
/// let producer = Producer::builder("doc_push_producer")
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// producer.send(&Message::new("DocPush", "hello").with_tags("TagA"))?;
///
/// let (tx, rx) = mpsc::channel();
/// let consumer = PushConsumer::builder("doc_push_group")
///     .name_server(cluster.name_server_addr())
///     .subscribe("DocPush", "TagA || TagB")
///     .consume_from(ConsumeFrom::FirstOffset)
///     .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
///         for m in messages {
///             let _ = tx.send(m.body.clone());
///         }
///         ConsumeConcurrentlyStatus::ConsumeSuccess
///     })
///     .start()?;
/// assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(30))?, b"hello");
/// consumer.shutdown();
/// producer.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PushConsumer {
    config: PushConsumerConfig,
    engine: Arc<ConsumerEngine>,
    /// Message trace, with `enable_trace`: its records' dispatcher.
    trace: Option<Arc<AsyncTraceDispatcher>>,
}

impl fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushConsumer")
            .field("engine", &self.engine)
            .finish()
    }
}

impl PushConsumer {
    /// A builder with Java's defaults for consumer group `group`.
    pub fn builder(group: impl Into<String>) -> PushConsumerBuilder {
        PushConsumerBuilder::new(group)
    }

    /// The configuration.
    pub fn config(&self) -> &PushConsumerConfig {
        &self.config
    }

    /// This client's id (`ip@instance`), as the group's member list shows it.
    pub fn client_id(&self) -> &str {
        self.engine.instance().client_id()
    }

    /// Subscribes to one more topic (or changes a topic's selector) while running: a tag
    /// expression (a `&str`), or a [`MessageSelector`].
    pub fn subscribe(
        &self,
        topic: &str,
        selector: impl Into<MessageSelector>,
    ) -> Result<(), ClientError> {
        let topic = self.engine.instance().namespace().wrap(topic);
        let subscription = build_subscription_data(&topic, &selector.into())?;
        self.engine.check_subscription(&subscription)?;
        self.engine.subscribe(subscription);
        Ok(())
    }

    /// Stops consuming `topic`; its queues are let go at the next rebalance.
    pub fn unsubscribe(&self, topic: &str) {
        let topic = self.engine.instance().namespace().wrap(topic);
        self.engine.unsubscribe(&topic);
    }

    /// Pauses pulling (messages already pulled are still consumed) (`suspend`).
    pub fn suspend(&self) {
        self.engine.set_suspended(true);
    }

    /// Resumes pulling (`resume`).
    pub fn resume(&self) {
        self.engine.set_suspended(false);
        self.engine.rebalance_now();
    }

    /// What the consumer holds and how fast it goes (what GET_CONSUMER_RUNNING_INFO answers).
    pub fn running_info(&self) -> ConsumerRunningInfo {
        self.engine.running_info()
    }

    /// Stops pulling, waits for listeners in progress (at most `await_termination`),
    /// commits offsets (an orderly consumer unlocks its queues), unregisters from the brokers
    /// and joins every thread. Messages pulled but not consumed are not committed: the group
    /// gets them again.
    pub fn shutdown(&self) {
        self.engine.shutdown();
        // Then the trace records of the last listener calls leave (Java's order).
        if let Some(trace) = &self.trace {
            trace.shutdown();
        }
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl PushConsumerBuilder {
    /// Checks the settings, starts the consumer's threads, and starts consuming: the first
    /// rebalance runs before this returns.
    pub fn start(self) -> Result<PushConsumer, ClientError> {
        let PushConsumerBuilder {
            mut config,
            name_server,
            listener,
            mut consume_hooks,
        } = self;
        let mut subscriptions = start_group(
            &mut config.group,
            &mut config.client,
            name_server.as_deref(),
            &config.subscriptions,
        )?;
        let listener = listener.ok_or_else(|| {
            ClientError::invalid_argument(
                "listener",
                "no message listener: call message_listener_concurrently or message_listener_orderly",
            )
        })?;
        if !(1..=MAX_POP_BATCH_SIZE).contains(&config.pop_batch_size) {
            return Err(ClientError::invalid_argument(
                "pop_batch_size",
                format!(
                    "{} is not within 1 to {MAX_POP_BATCH_SIZE} (what a broker pops at once)",
                    config.pop_batch_size
                ),
            ));
        }
        // Read back as the cluster knows them (`config().subscriptions`).
        let namespace = Namespace::new(config.client.namespace.as_deref());
        for (topic, _) in &mut config.subscriptions {
            *topic = namespace.wrap(topic);
        }
        if config.message_model == MessageModel::Clustering {
            // Messages sent back come through the group's retry topic (`copySubscription`).
            let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", config.group);
            subscriptions.push(build_subscription_data(&retry, &SUB_ALL.into())?);
        }
        let trace = start_trace(
            config.enable_trace,
            config.trace_topic.as_deref(),
            &config.group,
            &config.client,
            &mut consume_hooks,
        )?;
        let mut settings = config.engine_settings(listener);
        settings.consume_hooks = consume_hooks;
        let engine = ConsumerEngine::start(settings, subscriptions)?;
        Ok(PushConsumer {
            config,
            engine,
            trace,
        })
    }
}
