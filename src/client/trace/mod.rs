//! Message trace that Apache's tools read: what was sent, consumed, and how a transaction
//! ended, written as Java's clients write it; mirrors Java's `client/trace`.
//!
//! With `enable_trace()` on a builder (the producer, the transaction producer, the push and
//! the lite pull consumer; Java's `enableMsgTrace`), hooks turn each send the broker answers
//! into a `Pub` record, each listener call into a `SubBefore` and a `SubAfter` record, and
//! each transaction's end into an `EndTransaction` record, in Java's field order and
//! separators (`trace_data_encoder.rs`). A dispatcher (`async_trace_dispatcher.rs`) batches
//! them on its own thread and an inner producer, `_INNER_TRACE_PRODUCER-<group>-…`, sends
//! them to `RMQ_SYS_TRACE_TOPIC` (or the topic of `trace_topic(..)`), keyed by the traced
//! messages' ids, so `mqadmin queryMsgTraceById`, the dashboard and
//! [`MqAdmin::query_trace`](crate::client::MqAdmin::query_trace) find them. Tracing never
//! blocks or fails a send or a consume: a record that does not fit the dispatcher's queue is
//! dropped and counted.
//!
//! ```text
//! trace/
//!   trace_context.rs          TraceType; TraceContext and TraceBean: a record's fields
//!   trace_data_encoder.rs     records as text, both ways (TraceDataEncoder)
//!   trace_dispatcher.rs       TraceDispatcher: where the hooks hand their records
//!   async_trace_dispatcher.rs the bounded queue, the dispatcher thread, the inner producer
//!   hook/                     SendMessageTraceHookImpl (Pub), ConsumeMessageTraceHookImpl
//!                             (SubBefore, SubAfter), EndTransactionTraceHookImpl
//!   trace_view.rs             TraceView: a record as a query reads it
//! ```
//!
//! Consumed messages are traced only when the broker stored `MSG_REGION` with them (Java's
//! brokers and ours do; Java's consumers drop the record otherwise, and so do ours), and
//! sends only when the broker's answer does not say `TRACE_ON=false`.

pub(crate) mod async_trace_dispatcher;
pub(crate) mod hook;
mod trace_context;
mod trace_data_encoder;
mod trace_dispatcher;
mod trace_view;

pub use async_trace_dispatcher::RMQ_SYS_TRACE_TOPIC;
pub use trace_context::TraceType;
pub use trace_view::{TraceQueryResult, TraceView};

pub(crate) use trace_view::decode_from_trace_trans_data;
