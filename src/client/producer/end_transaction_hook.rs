//! `EndTransactionHook`: code that runs as a transaction ends (message trace, audit); mirrors
//! Java's `EndTransactionHook` and `EndTransactionContext`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::local_transaction_state::LocalTransactionState;
use crate::protocol::message::message_const::{PROPERTY_KEYS, PROPERTY_TAGS};
use crate::protocol::message::MessageProperties;

/// What an end-transaction hook sees: the half message and how its transaction ended;
/// mirrors Java's `EndTransactionContext`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EndTransactionContext {
    /// The producer group, as the cluster knows it.
    pub producer_group: String,
    /// The broker the END_TRANSACTION goes to.
    pub broker_addr: String,
    /// The half message's topic, as the cluster knows it.
    pub topic: String,
    /// The half message's properties.
    pub properties: MessageProperties,
    /// The message's id (`UNIQ_KEY`).
    pub msg_id: String,
    /// The transaction id.
    pub transaction_id: String,
    /// How the transaction ended.
    pub transaction_state: LocalTransactionState,
    /// True when this answers the broker's check, false for the end of
    /// `send_message_in_transaction`.
    pub from_transaction_check: bool,
}

impl EndTransactionContext {
    /// The message's tag.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(PROPERTY_TAGS)
    }

    /// The message's keys, space-separated.
    pub fn keys(&self) -> Option<&str> {
        self.properties.get(PROPERTY_KEYS)
    }
}

/// Runs as each transaction ends, before END_TRANSACTION is sent; mirrors Java's
/// `EndTransactionHook`. A panicking hook is logged and changes nothing.
pub trait EndTransactionHook: Send + Sync {
    /// A name for logs.
    fn hook_name(&self) -> &str;

    /// The transaction of `context` ends.
    fn end_transaction(&self, context: &EndTransactionContext);
}

/// Runs `hooks`, catching panics (`executeEndTransactionHook`).
pub(crate) fn run_end_transaction(
    hooks: &[Arc<dyn EndTransactionHook>],
    context: &EndTransactionContext,
) {
    for hook in hooks {
        if catch_unwind(AssertUnwindSafe(|| hook.end_transaction(context))).is_err() {
            log::warn!("end-transaction hook {} panicked", hook.hook_name());
        }
    }
}
