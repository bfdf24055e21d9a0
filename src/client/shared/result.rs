//! What sends and pulls return, and how: `SendResult` with its `SendStatus`, `PullResult`
//! with its `PullStatus`; `CommunicationMode` (sync, async, oneway) and the one callback
//! shape of the async calls.

use std::fmt;

use super::error::ClientError;
use crate::protocol::message::{MessageExt, MessageQueue, SkippedRecord};

/// What the callback of an asynchronous call gets, exactly once: the outcome, or why there is
/// none. One shape for every async call of the client (sends, pulls, requests).
pub(crate) type Callback<T> = Box<dyn FnOnce(Result<T, ClientError>) + Send + 'static>;

/// How a send waits for its outcome; mirrors Java's `CommunicationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommunicationMode {
    /// The caller waits for the broker's answer.
    Sync,
    /// A callback gets the answer.
    Async,
    /// No answer is expected.
    Oneway,
}

/// How the broker stored a sent message; mirrors Java's `SendStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendStatus {
    /// Stored (SUCCESS).
    SendOk,
    /// Stored, but the disk flush timed out (FLUSH_DISK_TIMEOUT).
    FlushDiskTimeout,
    /// Stored, but the slave flush timed out (FLUSH_SLAVE_TIMEOUT).
    FlushSlaveTimeout,
    /// Stored, but no slave is available (SLAVE_NOT_AVAILABLE).
    SlaveNotAvailable,
}

impl SendStatus {
    /// Java's name of the status.
    pub fn name(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

impl fmt::Display for SendStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of a successful send; mirrors Java's `SendResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendResult {
    /// How the broker stored it.
    pub send_status: SendStatus,
    /// The client id (`UNIQ_KEY`); for a batch, every message's id joined by commas.
    pub msg_id: String,
    /// The broker's offset message id (store host and commit log offset).
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub message_queue: MessageQueue,
    /// Its offset in that queue (a batch's first message).
    pub queue_offset: i64,
    /// The transaction id, for transactional messages.
    pub transaction_id: Option<String>,
    /// The broker's region (`MSG_REGION`, "DefaultRegion" when absent).
    pub region_id: String,
    /// Whether the broker has message tracing on (`TRACE_ON`, true unless "false").
    pub trace_on: bool,
    /// For a timer message on a 5.3 broker: the handle that cancels it until it is due
    /// ([`Producer::recall`](crate::client::Producer::recall); `recallHandle`).
    pub recall_handle: Option<String>,
}

impl fmt::Display for SendResult {
    /// Java's `toString` layout.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue={}, queueOffset={}]",
            self.send_status,
            self.msg_id,
            self.offset_msg_id,
            self.message_queue,
            self.queue_offset
        )
    }
}

/// What a pull found; mirrors Java's `PullStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PullStatus {
    /// Messages were found (SUCCESS).
    Found,
    /// Nothing new at this offset (PULL_NOT_FOUND).
    NoNewMsg,
    /// Messages exist but none matched the filter; pull again (PULL_RETRY_IMMEDIATELY).
    NoMatchedMsg,
    /// The offset is out of the queue's range; continue at `next_begin_offset`
    /// (PULL_OFFSET_MOVED).
    OffsetIllegal,
}

/// The answer to a pull; mirrors Java's `PullResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PullResult {
    /// What was found.
    pub status: PullStatus,
    /// The offset to pull from next.
    pub next_begin_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset (one past the last message).
    pub max_offset: i64,
    /// The broker id the broker suggests pulling from next (0: master).
    pub suggest_which_broker_id: i64,
    /// The messages, bodies decompressed, each with `MIN_OFFSET`/`MAX_OFFSET` properties
    /// added as Java's `PullAPIWrapper` does.
    pub messages: Vec<MessageExt>,
    /// Records that could not be read (corrupt, truncated, compressed in a way this build
    /// cannot read), passed over: `next_begin_offset` is already past them.
    pub skipped: Vec<SkippedRecord>,
}
