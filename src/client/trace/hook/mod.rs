//! The hooks that turn sends, listener calls and transaction ends into trace records; mirror
//! Java's `trace/hook/*TraceHookImpl`.

mod consume_message_trace_hook;
mod end_transaction_trace_hook;
mod send_message_trace_hook;

pub(crate) use consume_message_trace_hook::ConsumeMessageTraceHookImpl;
pub(crate) use end_transaction_trace_hook::EndTransactionTraceHookImpl;
pub(crate) use send_message_trace_hook::SendMessageTraceHookImpl;
