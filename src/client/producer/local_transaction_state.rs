//! `LocalTransactionState`: how a local transaction ended, as a transactional producer's
//! listener answers and END_TRANSACTION carries it.

use crate::protocol::message::sys_flag::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE,
};

/// How a local transaction ended; mirrors Java's `LocalTransactionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocalTransactionState {
    /// Committed: the message becomes visible (`COMMIT_MESSAGE`).
    CommitMessage,
    /// Rolled back: the message is dropped (`ROLLBACK_MESSAGE`).
    RollbackMessage,
    /// Not known yet: the broker will ask again (`UNKNOW`).
    Unknown,
}

impl LocalTransactionState {
    /// Java's name (`COMMIT_MESSAGE`, `ROLLBACK_MESSAGE`, `UNKNOW`), as trace records write
    /// it.
    pub fn java_name(self) -> &'static str {
        match self {
            LocalTransactionState::CommitMessage => "COMMIT_MESSAGE",
            LocalTransactionState::RollbackMessage => "ROLLBACK_MESSAGE",
            LocalTransactionState::Unknown => "UNKNOW",
        }
    }

    /// The state Java names `name` (`LocalTransactionState.valueOf`).
    pub(crate) fn from_java_name(name: &str) -> Option<LocalTransactionState> {
        Some(match name {
            "COMMIT_MESSAGE" => LocalTransactionState::CommitMessage,
            "ROLLBACK_MESSAGE" => LocalTransactionState::RollbackMessage,
            "UNKNOW" => LocalTransactionState::Unknown,
            _ => return None,
        })
    }

    /// The `commitOrRollback` value of END_TRANSACTION.
    pub(super) fn commit_or_rollback(self) -> i32 {
        match self {
            LocalTransactionState::CommitMessage => TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::RollbackMessage => TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknown => TRANSACTION_NOT_TYPE,
        }
    }
}
