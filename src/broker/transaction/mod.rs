//! Transactional messages on the broker: half messages, their ends, and the check of those
//! left open; mirrors Java's `org.apache.rocketmq.broker.transaction` package.
//!
//! - [`bridge`]: what the records look like (pure).
//! - [`service`]: storing, ending and scanning halves (`TransactionalMessageServiceImpl`).
//! - [`check_listener`]: asking a producer (`CHECK_TRANSACTION_STATE`).
//!
//! END_TRANSACTION arrives at `processor::end_transaction`; the `rmq-tx-check` thread of
//! the broker runs a scan every `transaction_check_interval` and sends the checks it found.

pub(crate) mod bridge;
pub(crate) mod check_listener;
pub(crate) mod service;

pub(crate) use service::{EndAction, EndError, EndRequest, TransactionalMessageService};
