//! The producer and a minimal pull consumer; mirrors Java's `rocketmq-client`
//! (`DefaultMQProducer`, `DefaultMQPullConsumer` and what they stand on).
//!
//! - [`Producer`] ([`producer`]): config builder, sync / async / oneway / batch sends, sends to
//!   a queue or by a [`MessageQueueSelector`], send hooks and RPC hooks.
//! - [`PullConsumer`] ([`pull_consumer`]): pull a queue from an offset, min/max offsets, a
//!   topic's queues.
//! - Underneath: [`client_instance`] (`MQClientInstance`: routes, broker addresses,
//!   background route refresh and heartbeat), [`mq_client_api`] (`MQClientAPIImpl`: one
//!   function per RPC), [`topic_publish_info`], [`mq_fault_strategy`] and
//!   [`latency_fault_tolerance`] (queue choice), [`send_kernel`] (what a send request
//!   carries), [`validators`].
//!
//! Everything here builds without the `servers` feature.

mod async_send;
pub mod client_config;
pub mod client_instance;
pub mod error;
pub mod latency_fault_tolerance;
pub mod message;
pub mod mq_client_api;
pub mod mq_fault_strategy;
pub mod producer;
pub mod pull_consumer;
pub mod queue_selector;
pub mod send_hook;
pub mod send_kernel;
#[cfg(test)]
mod test_support;
pub mod topic_publish_info;
pub mod validators;

pub use async_send::SendCallback;
pub use client_config::ClientSettings;
pub use error::ClientError;
pub use message::{Message, SendResult, SendStatus};
pub use producer::{Producer, ProducerBuilder, ProducerConfig};
pub use pull_consumer::{PullConsumer, PullConsumerConfig, PullResult, PullStatus};
pub use queue_selector::{MessageQueueSelector, SelectMessageQueueByHash};
pub use send_hook::{CommunicationMode, MessageType, SendMessageContext, SendMessageHook};
pub use topic_publish_info::TopicPublishInfo;

pub use crate::protocol::message::{MessageExt, MessageQueue};
