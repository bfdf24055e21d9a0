//! The error type of the message store.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::result::PutMessageStatus;

/// Why a store operation failed. Every variant says what failed, so a log line is enough.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    Io {
        /// What we were doing, with the path.
        context: String,
        /// The kind of I/O error.
        kind: io::ErrorKind,
        /// Its message.
        message: String,
    },
    /// A record (or a batch) larger than the store accepts (`MESSAGE_SIZE_EXCEEDED`).
    MessageTooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit that applied: the maximum message size or the segment size.
        max: usize,
    },
    /// The properties string is longer than its 16-bit length field allows.
    PropertiesSizeExceeded {
        /// Its length in bytes.
        size: usize,
        /// The limit (32,767).
        max: usize,
    },
    /// A message the store refuses: bad topic, a batch mixing queues, and the like.
    MessageIllegal {
        /// Why.
        reason: String,
    },
    /// The files are inconsistent in a way recovery must not repair by deleting data.
    Corrupt {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A setting the store cannot work with.
    InvalidConfig {
        /// Which and why.
        reason: String,
    },
    /// An earlier write or fsync failed and could not be undone, so the store refuses writes
    /// (Java's `runningFlags` not writeable).
    NotWritable {
        /// The failure that made it so.
        reason: String,
    },
    /// The store has been shut down.
    Shutdown,
    /// The disk holding the store is fuller than the warning ratio: puts are refused until
    /// space is back (Java's `DISK_FULL` running flag).
    DiskFull {
        /// The used fraction of the fullest disk, 0.0 to 1.0.
        used_ratio: f64,
    },
}

impl Eq for StoreError {}

impl StoreError {
    /// A [`StoreError::Io`] from an `io::Error`, with what we were doing.
    pub fn io(context: impl Into<String>, err: &io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    /// A [`StoreError::Io`] for `action` on `path`.
    pub(crate) fn io_at(action: &str, path: &Path, err: &io::Error) -> Self {
        StoreError::io(format!("{action} {}", path.display()), err)
    }

    /// The `PutMessageStatus` Java would answer for this failure, for the broker's response.
    pub fn put_status(&self) -> PutMessageStatus {
        match self {
            StoreError::MessageTooLarge { .. } | StoreError::MessageIllegal { .. } => {
                PutMessageStatus::MessageIllegal
            }
            StoreError::PropertiesSizeExceeded { .. } => PutMessageStatus::PropertiesSizeExceeded,
            StoreError::NotWritable { .. } | StoreError::Shutdown | StoreError::DiskFull { .. } => {
                PutMessageStatus::ServiceNotAvailable
            }
            StoreError::Io { .. }
            | StoreError::Corrupt { .. }
            | StoreError::InvalidConfig { .. } => PutMessageStatus::UnknownError,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io {
                context, message, ..
            } => write!(f, "store I/O failed: {context}: {message}"),
            StoreError::MessageTooLarge { size, max } => {
                write!(f, "message of {size} bytes exceeds the maximum {max}")
            }
            StoreError::PropertiesSizeExceeded { size, max } => {
                write!(
                    f,
                    "message properties of {size} bytes exceed the maximum {max}"
                )
            }
            StoreError::MessageIllegal { reason } => write!(f, "illegal message: {reason}"),
            StoreError::Corrupt { path, reason } => {
                write!(f, "store corrupt at {}: {reason}", path.display())
            }
            StoreError::InvalidConfig { reason } => write!(f, "invalid store config: {reason}"),
            StoreError::NotWritable { reason } => {
                write!(f, "store refuses writes after an earlier failure: {reason}")
            }
            StoreError::Shutdown => write!(f, "the message store has been shut down"),
            StoreError::DiskFull { used_ratio } => write!(
                f,
                "the disk is full ({:.0} % used): puts are refused until space is freed",
                used_ratio * 100.0
            ),
        }
    }
}

impl std::error::Error for StoreError {}
