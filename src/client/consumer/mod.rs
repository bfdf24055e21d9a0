//! Consumers: [`PushConsumer`], [`LitePullConsumer`] and [`SimpleConsumer`], members of a
//! consumer group on one engine, and [`PullConsumer`], which reads queues from offsets the
//! caller keeps.
//!
//! # The engine, and who owns what
//!
//! Java's push and lite pull consumers (`DefaultMQPushConsumerImpl`,
//! `DefaultLitePullConsumerImpl`) repeat one machine with two endings. Here it is one
//! `ConsumerEngine` (`engine/`), and the public types are thin handles on it that differ
//! only in where messages go (its `Delivery`): a listener on a consume pool, a queue `poll`
//! drains, or the caller of a simple consumer's `receive`. rdkafka layers its consumers the
//! same way.
//!
//! ```text
//! PushConsumer / LitePullConsumer          the public handle: its config, and
//!  └─ ConsumerEngine (engine/mod.rs)        owns every part below; ServiceState;
//!     │                                     threads rmq-rebalance, rmq-offsets,
//!     │                                     rmq-upkeep (push: lock renewal or expired
//!     │                                     messages); what heartbeats announce
//!     ├─ MqClientInstance (shared/)         routes, broker addresses, the consumer's data;
//!     │                                     threads rmq-route, rmq-heartbeat (rmq-nsaddr);
//!     │                                     its transport's rmq-reader-/rmq-writer-<addr>,
//!     │                                     rmq-callback-<i>; ClientRemotingProcessor
//!     │                                     (what brokers ask), holding the engine weakly
//!     ├─ RebalanceImpl (rebalance.rs)       subscriptions; queue → ProcessQueue (the
//!     │                                     messages pulled and not consumed,
//!     │                                     process_queue.rs); orderly queue locks; where
//!     │                                     a newly held queue starts
//!     ├─ PullMessageService                 thread rmq-pull; the queue of PullRequests;
//!     │  (pull_message_service.rs)          flow control; PullApiWrapper (pull_api.rs:
//!     │                                     which broker id to pull each queue from)
//!     ├─ PopMessageService                  thread rmq-pop (push, clientRebalance false);
//!     │  (pop_message_service.rs)           the queue of PopRequests; flow control by
//!     │                                     messages waiting for their ack
//!     ├─ PopApiWrapper (pop_api.rs)         pops; acks (one request in flight per broker,
//!     │                                     the rest batched), invisibility changes
//!     ├─ Delivery (delivery.rs)             one of:
//!     │   ├─ ConsumeConcurrently            the consume pool rmq-consume-<i>; SendBack;
//!     │   │                                 popped batches to acks
//!     │   │                                 (consume_pop_concurrently.rs)
//!     │   ├─ ConsumeOrderly                 the consume pool; a mutex per queue; SendBack
//!     │   ├─ PollQueue (poll_queue.rs)      batches waiting for poll; paused queues; the
//!     │   │                                 offset poll reached per queue
//!     │   └─ Receive                        a simple consumer: its callers pop and ack;
//!     │                                     no queue held, no rebalance or offsets thread
//!     ├─ OffsetStore (offset_store.rs)      offsets in memory; the brokers' or a file's
//!     ├─ ConsumeStats (consume_stats.rs)    rates for running info
//!     └─ Scheduler                          thread rmq-consume-timer: what is put off
//! ```
//!
//! Each part holds only what it uses (an `Arc` of the offset store, the stats, the
//! scheduler, the rebalance), so nothing points back at the engine: the engine's threads
//! hold it weakly and end with it, the pull thread holds its service weakly, and an
//! answer in flight holds the service it returns to until it returns. `SendBack`
//! (send_back.rs) returns failed messages to the broker, falling back on a send through
//! the group's retry topic by the producer's send engine on this same client instance.
//!
//! Shutdown runs in Java's order: the instance's threads are told to stop (name-server
//! queries in flight end as [`ClientError::ShutDown`](crate::client::ClientError)), the
//! pull loop and the engine's threads are joined, listeners in progress get
//! `await_termination`, offsets are committed (orderly queues unlocked), then the
//! instance unregisters the group and closes its connections.
//!
//! POP (RocketMQ 5): a push consumer built with `client_rebalance(false)` asks a broker for
//! its queues (QUERY_ASSIGNMENT, `rebalance.rs`); queues the broker says to pop go to the
//! POP loop beside `PullMessageService`, which hands its messages to the same `Delivery`,
//! whose concurrent service takes the listener's result to an ack instead of an offset. A
//! `SimpleConsumer` is the engine with the `Receive` delivery: each `receive` pops through
//! the engine's `PopApiWrapper`, and its caller acks. Consume hooks
//! ([`ConsumeMessageHook`], `consume_hook.rs`; message trace is one) wrap the one listener
//! call, `consume_service::call_listener` (pulled and popped messages alike), and each batch
//! a lite pull consumer's `poll` returns.

mod allocate;
mod config;
mod consume_from;
pub(crate) mod consume_hook;
mod engine;
mod listener;
mod lite_pull_consumer;
mod pull_consumer;
mod push_consumer;
mod simple_consumer;
mod subscription;

#[cfg(test)]
pub(crate) use subscription::build_subscription_data;

pub use allocate::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateMessageQueueStrategy,
};
pub use config::{
    LitePullConsumerBuilder, LitePullConsumerConfig, PushConsumerBuilder, PushConsumerConfig,
    SimpleConsumerBuilder, SimpleConsumerConfig,
};
pub use consume_from::ConsumeFrom;
pub use consume_hook::{ConsumeMessageContext, ConsumeMessageHook, ConsumeReturnType};
pub use listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, MessageListenerConcurrently, MessageListenerOrderly,
};
pub use lite_pull_consumer::LitePullConsumer;
pub use pull_consumer::{PullConsumer, PullConsumerBuilder, PullConsumerConfig};
pub use push_consumer::PushConsumer;
pub use simple_consumer::{MessageView, SimpleConsumer};
pub use subscription::MessageSelector;
