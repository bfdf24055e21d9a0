//! `PullConsumer`: a minimal pull client: read a queue from an offset, query its offsets,
//! list a topic's queues.

use std::sync::Arc;
use std::time::Duration;

use super::client_config::{split_name_server_addrs, ClientSettings};
use super::client_instance::MqClientInstance;
use super::error::ClientError;
use super::validators::check_group;
use crate::common::clock::now_millis;
use crate::protocol::header::PullMessageRequestHeader;
use crate::protocol::message::message_const::{PROPERTY_MAX_OFFSET, PROPERTY_MIN_OFFSET};
use crate::protocol::message::{MessageExt, MessageQueue};

/// `PullSysFlag.FLAG_SUBSCRIPTION`: the request carries its own subscription expression.
pub const PULL_FLAG_SUBSCRIPTION: i32 = 0x1 << 2;

/// What a pull found; mirrors Java's `PullStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PullStatus {
    /// Messages were found (SUCCESS).
    Found,
    /// Nothing new at this offset (PULL_NOT_FOUND).
    NoNewMsg,
    /// Messages exist but none matched the filter; pull again (PULL_RETRY_IMMEDIATELY).
    NoMatchedMsg,
    /// The offset is out of the queue's range; continue at `next_begin_offset`
    /// (PULL_OFFSET_MOVED).
    OffsetIllegal,
}

/// The answer to a pull; mirrors Java's `PullResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullResult {
    /// What was found.
    pub status: PullStatus,
    /// The offset to pull from next.
    pub next_begin_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset (one past the last message).
    pub max_offset: i64,
    /// The broker id the broker suggests pulling from next (0: master).
    pub suggest_which_broker_id: i64,
    /// The messages, bodies decompressed, each with `MIN_OFFSET`/`MAX_OFFSET` properties
    /// added as Java's `PullAPIWrapper` does.
    pub messages: Vec<MessageExt>,
}

/// Settings of a [`PullConsumer`]; mirrors the fields of Java's `DefaultMQPullConsumer` it
/// uses.
#[derive(Debug, Clone)]
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

impl PullConsumerConfig {
    /// Defaults for `group` with name servers `"host:port;host:port"`.
    pub fn new(group: impl Into<String>, name_server: &str) -> Self {
        PullConsumerConfig {
            group: group.into(),
            client: ClientSettings {
                name_server_addrs: split_name_server_addrs(name_server),
                ..ClientSettings::default()
            },
            pull_timeout: Duration::from_secs(10),
            broker_suspend_max: Duration::from_secs(20),
        }
    }
}

/// A minimal pull consumer; mirrors the pull path of Java's `DefaultMQPullConsumer`
/// (`pull`, `minOffset`, `maxOffset`, `fetchSubscribeMessageQueues`).
///
/// It pulls with subscription "*" (every tag), never asks the broker to hold the pull, and
/// commits no offsets; the caller keeps its own. It starts no background thread.
pub struct PullConsumer {
    config: PullConsumerConfig,
    instance: Arc<MqClientInstance>,
    sub_version: i64,
}

impl PullConsumer {
    /// A consumer ready to pull; connects on first use.
    pub fn new(config: PullConsumerConfig) -> Result<PullConsumer, ClientError> {
        check_group(&config.group)?;
        let instance = MqClientInstance::new(config.client.clone(), None)?;
        let sub_version = now_millis();
        Ok(PullConsumer {
            config,
            instance,
            sub_version,
        })
    }

    /// Reads up to `max_msgs` messages of `queue` from `offset` (`pull`).
    pub fn pull(
        &self,
        queue: &MessageQueue,
        offset: i64,
        max_msgs: i32,
    ) -> Result<PullResult, ClientError> {
        if offset < 0 {
            return Err(ClientError::InvalidArgument("offset < 0".into()));
        }
        if max_msgs <= 0 {
            return Err(ClientError::InvalidArgument("maxNums <= 0".into()));
        }
        let addr = self.broker_addr(queue)?;
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
        let mut result =
            self.instance
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
        Ok(result)
    }

    /// The queue's smallest offset (GET_MIN_OFFSET).
    pub fn min_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let addr = self.broker_addr(queue)?;
        self.instance
            .api()
            .get_min_offset(&addr, queue, self.config.client.api_timeout)
    }

    /// One past the queue's last offset (GET_MAX_OFFSET).
    pub fn max_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let addr = self.broker_addr(queue)?;
        self.instance
            .api()
            .get_max_offset(&addr, queue, self.config.client.api_timeout)
    }

    /// The readable queues of `topic`, from a fresh route (`fetchSubscribeMessageQueues`).
    pub fn fetch_subscribe_message_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        self.instance.fetch_subscribe_queues(topic)
    }

    /// Closes every connection and joins every thread.
    pub fn shutdown(&self) {
        self.instance.shutdown();
    }

    /// The address to pull `queue` from, fetching the topic's route if the broker is unknown.
    fn broker_addr(&self, queue: &MessageQueue) -> Result<String, ClientError> {
        if let Some(addr) = self
            .instance
            .find_broker_address_in_subscribe(&queue.broker_name)
        {
            return Ok(addr);
        }
        self.instance
            .update_topic_route(&queue.topic, self.config.client.api_timeout)?;
        self.instance
            .find_broker_address_in_subscribe(&queue.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound {
                broker_name: queue.broker_name.clone(),
            })
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
