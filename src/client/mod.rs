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
//!   With [`client_rebalance(false)`](PushConsumerBuilder::client_rebalance) a RocketMQ 5
//!   broker assigns its queues and may have it pop them (POP): acks instead of offsets.
//! - [`LitePullConsumer`]: the same group membership, with [`LitePullConsumer::poll`] instead
//!   of a listener.
//! - [`SimpleConsumer`], started with [`SimpleConsumer::builder`]: RocketMQ 5's consumer over
//!   POP; [`receive`](SimpleConsumer::receive) blocks for messages, each a [`MessageView`] the
//!   caller [`ack`](SimpleConsumer::ack)s within its invisible time.
//! - [`PullConsumer`], started with [`PullConsumer::builder`]: [`PullResult`]s by offset.
//! - [`MqAdmin`]: the admin and query calls of `mqadmin`, [`MqAdmin::query_trace`] included.
//! - Message trace (`enable_trace()` on the builders; [`TraceView`]): records of what was
//!   sent and consumed that Apache's tools read; [`ConsumeMessageHook`] and
//!   [`EndTransactionHook`] beside [`SendMessageHook`].
//! - [`ClientError`]: one variant per kind of failure.
//!
//! # The map
//!
//! ```text
//! client/
//!   producer/   Producer (producer.rs), a façade over SendEngine (send_engine.rs, Java's
//!               DefaultMQProducerImpl); request-reply, transactions, hooks, fault strategy
//!   consumer/   PushConsumer, LitePullConsumer and SimpleConsumer, thin handles on one
//!               engine (engine/: rebalance, the pull loop and the POP loop, deliveries,
//!               process queues, offset stores, acks); PullConsumer; settings side by side
//!               in config.rs
//!   admin/      MqAdmin
//!   trace/      message trace as Java writes it: records, the dispatcher thread and its
//!               inner producer, the hooks that write them
//!   shared/     what they all stand on: MqClientInstance (client_instance.rs: routes,
//!               broker addresses, the one broker lookup, the route and heartbeat threads),
//!               MqClientApi (mq_client_api/: one function per RPC), name-server discovery,
//!               settings, errors, namespaces, checks
//! ```
//!
//! Imports point down only: the roles use `shared/`, the consumers use the producer's send
//! engine (a message sent back through the retry topic), nothing in `shared/` uses a role.
//!
//! # How a sync send reaches the socket
//!
//! Following the message, eight places, one of them visited twice:
//!
//! 1. `producer/producer.rs`: [`Producer::send`] picks the target (any queue), the mode
//!    (sync) and the attempts (retries + 1), and hands the message to the engine.
//! 2. `producer/send_engine.rs`: `SendEngine::prepare` checks it (`shared/validators.rs`)…
//! 3. `producer/prepared_message.rs`: …and `PreparedMessage::single` makes it ready once:
//!    `UNIQ_KEY`, compression, flags; its body is shared by every attempt, never copied.
//! 4. `producer/send_engine.rs` again: `SendEngine::send_sync`, the attempt loop Java calls
//!    `sendDefaultImpl`: the route (`MqClientInstance::find_topic_publish_info`: cache, name
//!    server, or the auto-create topic `TBW102`), each attempt's queue
//!    (`mq_fault_strategy.rs`), what is left of the send timeout, which failures are
//!    retried; then `send_kernel` (`sendKernelImpl`): the broker's address
//!    (`MqClientInstance::find_broker_address`), the SEND_MESSAGE_V2 header, the send hooks.
//! 5. `shared/mq_client_api/send.rs`: `MqClientApi::send_message` (`MQClientAPIImpl`) builds
//!    the request, invokes it the way the send's mode says, reads the answer into a
//!    [`SendResult`].
//! 6. `remoting/client.rs`: [`RemotingClient::invoke_sync`](crate::remoting::RemotingClient::invoke_sync),
//!    the connection to that address, made on first use.
//! 7. `remoting/core.rs`: `RemotingCore::invoke_sync` stamps the request, runs the RPC
//!    hooks, registers its opaque in the response table with a condvar slot…
//! 8. `remoting/connection.rs`: …and `Connection::write_command` writes the frame; the
//!    caller waits on the slot, which the connection's reader thread fills when the
//!    response arrives.
//!
//! An async send takes the same engine and kernel, but on the async sender threads: its
//! attempt is invoked with a callback instead of a slot, and the engine decides the next
//! attempt (or calls the user back) from that callback. A oneway send makes one attempt and
//! waits for nothing. With `RMQ_TRACE=1` the examples print every one of these steps (see
//! [`TRACE_TARGET`](crate::TRACE_TARGET)).
//!
//! # How a consumed message reaches the listener
//!
//! Following the message from the frame the connection read, seven places, in the data's
//! direction (one callback, written in the order it runs):
//!
//! 1. `remoting/connection.rs`: the reader thread decodes the PULL_MESSAGE response's frame.
//! 2. `remoting/core.rs`: the response completes the pull's entry in the response table; its
//!    callback runs on the callback pool.
//! 3. `shared/mq_client_api/consumer.rs`: `process_pull_response` reads the answer; the
//!    messages are decoded (`protocol/message/message_ext.rs`), each body a slice of the
//!    frame's bytes, not a copy (decompression is the one new buffer).
//! 4. `consumer/engine/pull_message_service.rs`: `PullMessageService::on_pull_result` checks
//!    the answer (`pull_api.rs`: the next broker to pull from, the tag filter), shows each
//!    message with its own topic, hands the messages to the delivery and puts the queue's
//!    next pull in line.
//! 5. `consumer/engine/delivery.rs`: `Delivery::deliver` (a lite pull consumer's messages stop
//!    here, in `poll_queue.rs`, until `poll` moves them out).
//! 6. `consumer/engine/consume_concurrently.rs`: `ConsumeConcurrently::submit` moves the
//!    messages into batches, shared with their process queue, onto the consume pool
//!    (`consume_orderly.rs` for an orderly listener).
//! 7. `consumer/engine/consume_service.rs`: `call_listener`, the one call of the user's
//!    listener, which reads the bodies where the connection put them.
//!
//! A popped message (POP) takes the same road with three other stops: the POP_MESSAGE
//! answer is read by `shared/mq_client_api/pop.rs` (`process_pop_response` gives each
//! message its receipt handle), handed on by `consumer/engine/pop_message_service.rs`
//! (`PopMessageService::on_pop_result`) to `Delivery::deliver_popped`, and after
//! `call_listener` the outcome goes to the broker from `consume_pop_concurrently.rs` as an ack
//! or a new invisible time (`pop_api.rs`) instead of to an offset. A simple consumer's
//! `receive` makes the pop itself (`pop_api.rs`) and returns the messages to its caller.
//!
//! Everything here builds without the `servers` feature.

mod admin;
mod consumer;
mod producer;
mod shared;
mod trace;

pub use crate::protocol::body::{MessageModel, MessageRequestMode};
/// What the builders' `.tls(..)` takes (also at `remoting::TlsClientConfig`).
#[cfg(feature = "tls")]
pub use crate::remoting::TlsClientConfig;
pub use admin::{MqAdmin, MqAdminBuilder, MqAdminConfig, QueryResult, MAX_QUERY_NUM};
pub use consumer::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateMessageQueueStrategy,
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeMessageContext,
    ConsumeMessageHook, ConsumeOrderlyContext, ConsumeOrderlyStatus, ConsumeReturnType,
    LitePullConsumer, LitePullConsumerBuilder, LitePullConsumerConfig, MessageListenerConcurrently,
    MessageListenerOrderly, MessageSelector, MessageView, PullConsumer, PullConsumerBuilder,
    PullConsumerConfig, PushConsumer, PushConsumerBuilder, PushConsumerConfig, SimpleConsumer,
    SimpleConsumerBuilder, SimpleConsumerConfig,
};
pub use producer::{
    create_reply_message, EndTransactionContext, EndTransactionHook, JavaHashCode,
    LocalTransactionState, MessageQueueSelector, MessageType, Producer, ProducerBuilder,
    ProducerConfig, RequestCallback, SelectMessageQueueByHash, SendMessageContext, SendMessageHook,
    TransactionListener, TransactionProducer, TransactionProducerBuilder, TransactionSendResult,
};
pub use shared::client_config::{ClientSettings, NAMESRV_ADDR_ENV};
pub use shared::error::{ClientError, DEFAULT_RETRY_RESPONSE_CODES};
pub use shared::message::{IntoKeys, Message};
pub use shared::result::{CommunicationMode, PullResult, PullStatus, SendResult, SendStatus};
pub use shared::top_addressing::{
    DEFAULT_NAMESRV_DOMAIN, DEFAULT_NAMESRV_DOMAIN_SUBGROUP, NAMESRV_DOMAIN_ENV,
    NAMESRV_DOMAIN_SUBGROUP_ENV,
};
pub use trace::{TraceQueryResult, TraceType, TraceView, RMQ_SYS_TRACE_TOPIC};

pub use crate::protocol::message::{MessageExt, MessageQueue};
