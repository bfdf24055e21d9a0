//! `PullConsumer`: a minimal pull client: read a queue from an offset, query its offsets,
//! list a topic's queues.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::shared::client_config::{client_settings_setters, ClientSettings};
use crate::client::shared::client_instance::{BrokerChoice, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::client::shared::mq_client_api::MqClientApi;
use crate::client::shared::result::PullResult;
use crate::client::shared::validators::check_group;
use crate::common::clock::now_millis;
use crate::common::trace::trace_step;
use crate::protocol::header::PullMessageRequestHeader;
use crate::protocol::message::message_const::{PROPERTY_MAX_OFFSET, PROPERTY_MIN_OFFSET};
use crate::protocol::message::MessageQueue;

/// `PullSysFlag.FLAG_SUBSCRIPTION`: the request carries its own subscription expression.
const PULL_FLAG_SUBSCRIPTION: i32 = 0x1 << 2;

/// Settings of a [`PullConsumer`]; mirrors the fields of Java's `DefaultMQPullConsumer` it
/// uses. Made by [`PullConsumerBuilder`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullConsumerConfig {
    /// The consumer group.
    pub group: String,
    /// Name servers, header encoding, broker address overrides.
    pub client: ClientSettings,
    /// Timeout of one pull (`consumerPullTimeoutMillis`, 10 s).
    pub pull_timeout: Duration,
    /// `suspendTimeoutMillis` sent with each pull (`brokerSuspendMaxTimeMillis`, 20 s); the
    /// broker does not hold these pulls, as the suspend flag is never set.
    pub broker_suspend_max: Duration,
}

/// Builds and starts a [`PullConsumer`].
#[derive(Debug, Clone)]
pub struct PullConsumerBuilder {
    config: PullConsumerConfig,
    name_server: Option<String>,
}

impl PullConsumerBuilder {
    client_settings_setters!();

    /// Timeout of one pull (10 s).
    pub fn pull_timeout(mut self, timeout: Duration) -> Self {
        self.config.pull_timeout = timeout;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &PullConsumerConfig {
        &self.config
    }

    /// Checks the settings and makes the consumer; it connects on first use and starts no
    /// background thread.
    pub fn start(self) -> Result<PullConsumer, ClientError> {
        let PullConsumerBuilder {
            mut config,
            name_server,
        } = self;
        check_group(&config.group)?;
        config.client.check_at_start(name_server.as_deref())?;
        if let Some(ns) = config.client.namespace.as_deref() {
            config.group = crate::client::shared::namespace::wrap_namespace(ns, &config.group);
        }
        let instance = MqClientInstance::new(config.client.clone(), None, Vec::new())?;
        Ok(PullConsumer {
            config,
            instance,
            sub_version: now_millis(),
        })
    }
}

/// A minimal pull consumer; mirrors the pull path of Java's `DefaultMQPullConsumer`
/// (`pull`, `minOffset`, `maxOffset`, `fetchSubscribeMessageQueues`).
///
/// It pulls with subscription "*" (every tag), never asks the broker to hold the pull, and
/// commits no offsets: the caller keeps its own.
///
/// ```
/// # let cluster = rocketmq_blocking::LocalCluster::start()?;
/// use rocketmq_blocking::client::{Message, Producer, PullConsumer, PullStatus};
///
/// let producer = Producer::builder("doc_pull_producer")
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// let sent = producer.send(&Message::new("DocPull", "read me back"))?;
///
/// let consumer = PullConsumer::builder("doc_pull_group")
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// let found = consumer.pull(&sent.message_queue, sent.queue_offset, 32)?;
/// assert_eq!(found.status, PullStatus::Found);
/// assert_eq!(&found.messages[0].body[..], b"read me back");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PullConsumer {
    config: PullConsumerConfig,
    instance: Arc<MqClientInstance>,
    sub_version: i64,
}

impl fmt::Debug for PullConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PullConsumer")
            .field("group", &self.config.group)
            .field("client_id", &self.instance.client_id())
            .finish()
    }
}

impl PullConsumer {
    /// A builder with Java's defaults for consumer group `group`.
    pub fn builder(group: impl Into<String>) -> PullConsumerBuilder {
        PullConsumerBuilder {
            config: PullConsumerConfig {
                group: group.into(),
                client: ClientSettings::default(),
                pull_timeout: Duration::from_secs(10),
                broker_suspend_max: Duration::from_secs(20),
            },
            name_server: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PullConsumerConfig {
        &self.config
    }

    /// Reads up to `max_msgs` messages of `queue` from `offset` (`pull`).
    pub fn pull(
        &self,
        queue: &MessageQueue,
        offset: i64,
        max_msgs: i32,
    ) -> Result<PullResult, ClientError> {
        if offset < 0 {
            return Err(ClientError::invalid_argument(
                "offset",
                format!("{offset} is negative"),
            ));
        }
        if max_msgs <= 0 {
            return Err(ClientError::invalid_argument(
                "max_msgs",
                format!("{max_msgs}: at least one message must be asked for"),
            ));
        }
        let namespace = self.instance.namespace();
        let queue = &namespace.wrap_queue(queue);
        let addr = self.broker_of(queue)?;
        let header = PullMessageRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            queue_offset: offset,
            max_msg_nums: max_msgs,
            sys_flag: PULL_FLAG_SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: millis(self.config.broker_suspend_max),
            subscription: Some("*".into()),
            sub_version: self.sub_version,
            expression_type: Some("TAG".into()),
            bname: Some(queue.broker_name.clone()),
            ..PullMessageRequestHeader::default()
        };
        trace_step!("client", "pull {queue} from offset {offset} at {addr}");
        let mut result = self
            .api()
            .pull_message(&addr, &header, self.config.pull_timeout)?;
        for message in &mut result.messages {
            message
                .properties
                .insert(PROPERTY_MIN_OFFSET, result.min_offset.to_string());
            message
                .properties
                .insert(PROPERTY_MAX_OFFSET, result.max_offset.to_string());
        }
        namespace.unwrap_messages(&mut result.messages);
        Ok(result)
    }

    /// The queue's smallest offset (GET_MIN_OFFSET).
    pub fn min_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let queue = &self.instance.namespace().wrap_queue(queue);
        self.instance
            .min_offset(queue, self.config.client.api_timeout)
    }

    /// One past the queue's last offset (GET_MAX_OFFSET).
    pub fn max_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let queue = &self.instance.namespace().wrap_queue(queue);
        self.instance
            .max_offset(queue, self.config.client.api_timeout)
    }

    /// The readable queues of `topic`, from a fresh route (`fetchSubscribeMessageQueues`).
    pub fn fetch_subscribe_message_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        let namespace = self.instance.namespace();
        let queues = self
            .instance
            .fetch_subscribe_queues(&namespace.wrap(topic))?;
        Ok(queues.iter().map(|q| namespace.unwrap_queue(q)).collect())
    }

    /// Closes every connection and joins every thread.
    pub fn shutdown(&self) {
        self.instance.shutdown();
    }

    /// The queue's master, else a slave (reads can go to either).
    fn broker_of(&self, queue: &MessageQueue) -> Result<String, ClientError> {
        let choice = BrokerChoice::Prefer(crate::protocol::body::MASTER_ID);
        let timeout = self.config.client.api_timeout;
        Ok(self
            .instance
            .find_broker_address(queue, choice, timeout)?
            .addr)
    }

    fn api(&self) -> &MqClientApi {
        self.instance.api()
    }
}

impl Drop for PullConsumer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
