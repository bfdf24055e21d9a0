//! `PushConsumer`: a group member that pulls in the background and hands messages to a
//! listener; mirrors Java's `DefaultMQPushConsumer`.
//!
//! - `config.rs`: [`PushConsumerConfig`] and [`PushConsumerBuilder`], with Java's defaults.
//! - `inner.rs`: the machinery (`DefaultMQPushConsumerImpl`): the pull loop with flow
//!   control, where a new group starts, sending failed messages back, running info, offset
//!   resets.
//!
//! Threads of one consumer: `rmq-route` and `rmq-heartbeat` (its client instance),
//! `rmq-pull` (every queue's pulls), `rmq-rebalance` (every 20 s and on notification),
//! `rmq-offsets` (commits every 5 s), `rmq-consume-<i>` (the listener, `consume_threads` of
//! them whatever the number of queues), `rmq-consume-timer` (delayed retries), `rmq-upkeep`
//! (orderly: lock renewal every 20 s; concurrent: messages stuck in a listener), plus the
//! transport's reader and callback threads.

mod config;
mod inner;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use config::default_local_offset_store_dir;
pub use config::{ConsumeFrom, PushConsumerBuilder, PushConsumerConfig};

use self::inner::{Background, ConsumeService, PushConsumerInner, RUNNING, SHUTDOWN};
use super::consumer_inner::ConsumerInner;
use super::group_start::{prepare_first_rebalance, start_consumer_thread, start_group_consumer};
use super::offset_store::{LocalFileOffsetStore, OffsetStore, RemoteBrokerOffsetStore};
use super::subscription::{build_subscription_data, SUB_ALL};
use crate::client::shared::client_instance::MqClientInstance;
use crate::client::shared::error::ClientError;
use crate::client::shared::namespace::Namespace;
use crate::client::shared::validators::{check_group, RETRY_GROUP_TOPIC_PREFIX};
use crate::common::service_thread::Schedule;
use crate::common::sync::MutexExt;
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
    inner: Arc<PushConsumerInner>,
}

impl fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.inner.config.group)
            .field("client_id", &self.inner.instance.client_id())
            .field("running", &self.inner.is_running())
            .finish()
    }
}

impl PushConsumer {
    /// A builder with Java's defaults for consumer group `group`.
    pub fn builder(group: impl Into<String>) -> PushConsumerBuilder {
        PushConsumerBuilder::new(group)
    }

    fn start(builder: PushConsumerBuilder) -> Result<PushConsumer, ClientError> {
        let PushConsumerBuilder {
            mut config,
            name_server,
            listener,
        } = builder;
        check_group(&config.group)?;
        let listener = listener.ok_or_else(|| {
            ClientError::invalid_argument(
                "listener",
                "no message listener: call message_listener_concurrently or message_listener_orderly",
            )
        })?;
        config.client.check_at_start(name_server.as_deref())?;
        // The cluster knows the group and topics by their namespaced names.
        let namespace = Namespace::new(config.client.namespace.as_deref());
        config.group = namespace.wrap(&config.group);
        for (topic, _) in &mut config.subscriptions {
            *topic = namespace.wrap(topic);
        }
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
        let subscriptions = config.subscriptions.clone();
        let inner = PushConsumerInner::new(config, instance.clone(), offset_store, listener)?;
        for (topic, expression) in &subscriptions {
            inner
                .rebalance
                .subscribe(build_subscription_data(topic, expression)?);
        }
        if inner.config.message_model == MessageModel::Clustering {
            // Messages sent back come through the group's retry topic (`copySubscription`).
            let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", inner.config.group);
            inner
                .rebalance
                .subscribe(build_subscription_data(&retry, SUB_ALL)?);
        }
        let consumer = PushConsumer { inner };
        consumer.start_threads()?;
        Ok(consumer)
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
            PushConsumerInner::do_rebalance,
        )?;
        let _ = inner.rebalance_waker.set(rebalance.waker());
        let offsets = start_consumer_thread(
            "rmq-offsets",
            Schedule::every(inner.config.persist_offset_interval),
            inner,
            PushConsumerInner::persist_offsets,
        )?;
        let upkeep_every = if inner.orderly {
            Duration::from_secs(20)
        } else {
            inner.config.consume_timeout
        };
        let upkeep = start_consumer_thread(
            "rmq-upkeep",
            Schedule::every(upkeep_every).first_after(Duration::from_secs(1).min(upkeep_every)),
            inner,
            |inner: &PushConsumerInner| match &inner.consume {
                ConsumeService::Orderly(_) => {
                    if inner.config.message_model == MessageModel::Clustering {
                        inner.rebalance.lock_all();
                    }
                }
                ConsumeService::Concurrently(service) => service.clean_expired(
                    &inner.rebalance.process_queues(),
                    inner.config.consume_timeout,
                ),
            },
        )?;
        *inner.background.lock_unpoisoned() = Some(Background {
            rebalance,
            offsets,
            upkeep,
        });
        // Routes for the subscriptions, a heartbeat so the brokers know the group, then the
        // first share of the queues, all before start returns (Java's start does the same).
        prepare_first_rebalance(&inner.instance, &inner.rebalance.subscriptions());
        inner.do_rebalance();
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &PushConsumerConfig {
        &self.inner.config
    }

    /// This client's id (`ip@instance`), as the group's member list shows it.
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// Subscribes to one more topic (or changes a topic's expression) while running.
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        let topic = self.inner.instance.namespace().wrap(topic);
        self.inner
            .rebalance
            .subscribe(build_subscription_data(&topic, expression)?);
        self.inner.instance.send_heartbeat_now();
        self.inner.rebalance_now();
        Ok(())
    }

    /// Stops consuming `topic`; its queues are let go at the next rebalance.
    pub fn unsubscribe(&self, topic: &str) {
        let topic = self.inner.instance.namespace().wrap(topic);
        self.inner.rebalance.unsubscribe(&topic);
        self.inner.rebalance_now();
    }

    /// Pauses pulling (messages already pulled are still consumed) (`suspend`).
    pub fn suspend(&self) {
        self.inner.paused.store(true, Ordering::SeqCst);
    }

    /// Resumes pulling (`resume`).
    pub fn resume(&self) {
        self.inner.paused.store(false, Ordering::SeqCst);
        self.inner.rebalance_now();
    }

    /// What the consumer holds and how fast it goes (what GET_CONSUMER_RUNNING_INFO answers).
    pub fn running_info(&self) -> ConsumerRunningInfo {
        self.inner.running_info()
    }

    /// Stops pulling, waits for listeners in progress (at most `await_termination`),
    /// commits offsets (an orderly consumer unlocks its queues), unregisters from the brokers
    /// and joins every thread. Messages pulled but not consumed are not committed: the group
    /// gets them again.
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
            background.upkeep.stop();
            background.offsets.stop();
        }
        let still_running = match &inner.consume {
            ConsumeService::Concurrently(s) => s.shutdown(inner.config.await_termination),
            ConsumeService::Orderly(s) => s.shutdown(inner.config.await_termination),
        };
        if still_running > 0 {
            log::warn!(
                "group {}: {still_running} listener(s) still running after {} ms; their \
                 messages are not committed and will come again",
                inner.config.group,
                inner.config.await_termination.as_millis()
            );
        }
        inner.scheduler.shutdown();
        inner.persist_offsets();
        if inner.orderly && inner.config.message_model == MessageModel::Clustering {
            inner.rebalance.unlock_all(false);
        }
        inner.rebalance.drop_all();
        inner.shutdown_retry_producer();
        inner.instance.shutdown();
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
