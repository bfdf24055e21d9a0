//! Producers: [`Producer`] sends messages to the brokers of a topic, choosing queues,
//! retrying on other brokers within one timeout, and keeping routes and heartbeats up in the
//! background; [`TransactionProducer`] sends half messages and ends their transactions.
//!
//! - `producer.rs`: the [`Producer`] façade: each send style picks its target, mode and
//!   attempts and hands the message to the send engine.
//! - `send_engine.rs`: the engine (Java's `DefaultMQProducerImpl`): prepares the message
//!   (`prepared_message.rs`), makes the attempts (queues from `mq_fault_strategy.rs`), runs
//!   the hooks (`send_hook.rs`); async attempts run on `async_sender.rs`'s threads. It does
//!   not know who calls it: the façade, request-reply (`request_response.rs`), transactions
//!   (`transaction.rs`, with `end_transaction_hook.rs`) and a consumer sending a message
//!   back use it alike.
//! - `config.rs`: settings and builder, with Java's defaults; with `enable_trace`, the
//!   producer keeps a message trace dispatcher (`client/trace/`) and its send hook.

mod async_sender;
mod config;
mod end_transaction_hook;
mod latency_fault_tolerance;
mod local_transaction_state;
mod mq_fault_strategy;
mod prepared_message;
#[allow(clippy::module_inception)] // the façade, in a file named as users know it
mod producer;
mod queue_selector;
mod request_response;
pub(crate) mod send_engine;
mod send_hook;
mod transaction;

pub use config::{ProducerBuilder, ProducerConfig};
pub use end_transaction_hook::{EndTransactionContext, EndTransactionHook};
pub use local_transaction_state::LocalTransactionState;
pub use producer::Producer;
pub use queue_selector::{JavaHashCode, MessageQueueSelector, SelectMessageQueueByHash};
pub use request_response::{create_reply_message, RequestCallback};
pub use send_hook::{MessageType, SendMessageContext, SendMessageHook};
pub use transaction::{
    TransactionListener, TransactionProducer, TransactionProducerBuilder, TransactionSendResult,
};
