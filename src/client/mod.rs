//! The business layer: the producer and the consumers; mirrors Java's `rocketmq-client`
//! (`DefaultMQProducer`, `DefaultMQPushConsumer`, `DefaultLitePullConsumer`,
//! `DefaultMQPullConsumer` and what they stand on).
//!
//! # What a user needs
//!
//! - [`Producer`], started with [`Producer::builder`]: sync, async, oneway and batch sends,
//!   sends to a queue or by a [`MessageQueueSelector`] (ordered messages),
//!   [`flush`](Producer::flush) for async sends; [`SendMessageHook`]s around each attempt.
//! - [`Message`] to send, [`SendResult`] and [`SendStatus`] back.
//! - [`PushConsumer`], started with [`PushConsumer::builder`]: a member of a consumer group
//!   whose listener ([`MessageListenerConcurrently`] or [`MessageListenerOrderly`]) gets the
//!   messages of the queues the group gives it; failed messages come back later.
//! - [`LitePullConsumer`]: the same group membership, with [`LitePullConsumer::poll`] instead
//!   of a listener.
//! - [`PullConsumer`], started with [`PullConsumer::builder`]: [`PullResult`]s by offset.
//! - [`ClientError`]: one variant per kind of failure.
//!
//! # How a sync send reaches the socket
//!
//! Six calls, each in the file its name suggests:
//!
//! 1. [`Producer::send`] (`producer/mod.rs`) checks the message and prepares it once:
//!    `UNIQ_KEY`, compression, flags (`producer/prepared_message.rs`).
//! 2. `ProducerInner::send_sync` (`producer/send_engine.rs`), the attempt engine Java calls
//!    `sendDefaultImpl`: finds the route (cache, name server, or the auto-create topic
//!    `TBW102`), picks each attempt's queue (round robin, skipping the broker that just
//!    failed; with fault tolerance on, brokers isolated for their latency), gives each
//!    attempt what is left of the send timeout, and decides which failures are retried.
//! 3. `ProducerInner::send_kernel` (same file, Java's `sendKernelImpl`): the broker's
//!    address, the SEND_MESSAGE_V2 header, the send hooks around the attempt.
//! 4. `MqClientApi::send_message` (`mq_client_api.rs`, Java's `MQClientAPIImpl`): builds the
//!    request, invokes it the way the send's mode says, reads the answer into a
//!    [`SendResult`].
//! 5. [`RemotingClient::invoke_sync`](crate::remoting::RemotingClient::invoke_sync)
//!    (`remoting/client.rs`): the connection to that address, made on first use.
//! 6. `RemotingCore::invoke_sync` (`remoting/core.rs`): stamps the request, runs the RPC
//!    hooks, registers its opaque in the response table with a condvar slot, and has
//!    `Connection::write_command` (`remoting/connection.rs`) write the frame; then waits on
//!    the slot, which the connection's reader thread fills when the response arrives.
//!
//! An async send takes the same engine and kernel, but on the async sender threads: its
//! attempt is invoked with a callback instead of a slot, and the engine decides the next
//! attempt (or calls the user back) from that callback. A oneway send makes one attempt and
//! waits for nothing. With `RMQ_TRACE=1` the examples print every one of these steps (see
//! [`TRACE_TARGET`](crate::TRACE_TARGET)).
//!
//! Underneath, shared by producers and consumers: `client_instance.rs` (`MQClientInstance`:
//! routes, broker addresses, the route refresh and heartbeat threads),
//! `topic_publish_info.rs` (a topic's queues and the per-thread round robin) and
//! `client_remoting_processor.rs` (the requests brokers send a consumer). The consumers'
//! machinery is in `consumer/` (rebalance, the pull thread, process queues, the consume
//! services, offset stores), named as in Java.
//!
//! Everything here builds without the `servers` feature.

mod admin;
mod consumer;
mod producer;
mod shared;

pub use crate::protocol::body::MessageModel;
/// What the builders' `.tls(..)` takes (also at `remoting::TlsClientConfig`).
#[cfg(feature = "tls")]
pub use crate::remoting::TlsClientConfig;
pub use admin::{MqAdmin, MqAdminBuilder, MqAdminConfig, QueryResult, MAX_QUERY_NUM};
pub use consumer::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateMessageQueueStrategy,
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, LitePullConsumer, LitePullConsumerBuilder, LitePullConsumerConfig,
    MessageListenerConcurrently, MessageListenerOrderly, PullConsumer, PullConsumerBuilder,
    PullConsumerConfig, PushConsumer, PushConsumerBuilder, PushConsumerConfig,
};
pub use producer::{
    create_reply_message, JavaHashCode, LocalTransactionState, MessageQueueSelector, MessageType,
    Producer, ProducerBuilder, ProducerConfig, RequestCallback, SelectMessageQueueByHash,
    SendMessageContext, SendMessageHook, TransactionListener, TransactionProducer,
    TransactionProducerBuilder, TransactionSendResult,
};
pub use shared::client_config::{ClientSettings, NAMESRV_ADDR_ENV};
pub use shared::error::{ClientError, DEFAULT_RETRY_RESPONSE_CODES};
pub use shared::message::{IntoKeys, Message};
pub use shared::result::{CommunicationMode, PullResult, PullStatus, SendResult, SendStatus};
pub use shared::top_addressing::{
    DEFAULT_NAMESRV_DOMAIN, DEFAULT_NAMESRV_DOMAIN_SUBGROUP, NAMESRV_DOMAIN_ENV,
    NAMESRV_DOMAIN_SUBGROUP_ENV,
};

pub use crate::protocol::message::{MessageExt, MessageQueue};
