//! What puts and gets answer; mirrors Java's `PutMessageStatus`, `PutMessageResult`,
//! `GetMessageStatus` and `GetMessageResult`.

/// The outcome of a put; mirrors Java's `PutMessageStatus`.
///
/// A put that returns `Ok` answers [`PutMessageStatus::PutOk`] or
/// [`PutMessageStatus::FlushDiskTimeout`]; the other values are what
/// [`super::StoreError::put_status`] maps failures to, for the broker's response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMessageStatus {
    /// Stored (and, with sync flush, fsynced) (`PUT_OK`).
    PutOk,
    /// Stored, but the fsync did not finish within the sync flush timeout
    /// (`FLUSH_DISK_TIMEOUT`).
    FlushDiskTimeout,
    /// No slave acknowledged in time (`FLUSH_SLAVE_TIMEOUT`); unused, no replication.
    FlushSlaveTimeout,
    /// No slave available (`SLAVE_NOT_AVAILABLE`); unused, no replication.
    SlaveNotAvailable,
    /// The store is shut down or refuses writes (`SERVICE_NOT_AVAILABLE`).
    ServiceNotAvailable,
    /// A segment file could not be created (`CREATE_MAPEDFILE_FAILED`).
    CreateMappedFileFailed,
    /// Bad topic, or the message is too large (`MESSAGE_ILLEGAL`).
    MessageIllegal,
    /// The properties string is too long (`PROPERTIES_SIZE_EXCEEDED`).
    PropertiesSizeExceeded,
    /// The page cache is busy (`OS_PAGECACHE_BUSY`); unused.
    OsPageCacheBusy,
    /// Any other failure (`UNKNOWN_ERROR`).
    UnknownError,
}

/// The answer to a successful put; mirrors Java's `PutMessageResult` with its
/// `AppendMessageResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutMessageResult {
    /// [`PutMessageStatus::PutOk`] or [`PutMessageStatus::FlushDiskTimeout`].
    pub status: PutMessageStatus,
    /// The offset message id: store host and commit log offset.
    pub msg_id: String,
    /// The message's offset in its queue (0 for prepared or rolled-back transaction records,
    /// which no queue indexes).
    pub queue_offset: i64,
    /// The record's position in the commit log.
    pub commit_log_offset: i64,
    /// The record's size in bytes.
    pub wrote_bytes: i32,
    /// When the store wrote it, ms since the Unix epoch.
    pub store_timestamp: i64,
}

/// The outcome of a get; mirrors Java's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    /// At least one message returned (`FOUND`).
    Found,
    /// Every message scanned was rejected by the filter (`NO_MATCHED_MESSAGE`).
    NoMatchedMessage,
    /// The commit log no longer holds the indexed record (`MESSAGE_WAS_REMOVING`).
    MessageWasRemoving,
    /// The consume queue could not be read at the offset (`OFFSET_FOUND_NULL`).
    OffsetFoundNull,
    /// The offset is past the queue's max offset (`OFFSET_OVERFLOW_BADLY`).
    OffsetOverflowBadly,
    /// The offset is exactly the max offset: nothing new yet (`OFFSET_OVERFLOW_ONE`).
    OffsetOverflowOne,
    /// The offset is below the queue's min offset (`OFFSET_TOO_SMALL`).
    OffsetTooSmall,
    /// The store knows no such topic and queue (`NO_MATCHED_LOGIC_QUEUE`).
    NoMatchedLogicQueue,
    /// The queue is empty (`NO_MESSAGE_IN_QUEUE`).
    NoMessageInQueue,
}

/// The answer to a get; mirrors Java's `GetMessageResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMessageResult {
    /// What happened.
    pub status: GetMessageStatus,
    /// The queue offset the consumer should ask for next.
    pub next_begin_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset (next offset to be written).
    pub max_offset: i64,
    /// The stored records, byte for byte as in the commit log, in queue order.
    pub messages: Vec<Vec<u8>>,
    /// The sum of the records' sizes.
    pub total_bytes: usize,
}

impl GetMessageResult {
    /// A result with no messages.
    pub(crate) fn empty(status: GetMessageStatus, next: i64, min: i64, max: i64) -> Self {
        GetMessageResult {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages: Vec::new(),
            total_bytes: 0,
        }
    }

    /// How many messages were returned (`getMessageCount`).
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// The records concatenated: the body of a PULL_MESSAGE response.
    pub fn body(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.total_bytes);
        for message in &self.messages {
            body.extend_from_slice(message);
        }
        body
    }
}

/// Which offset a time search answers when several messages qualify; mirrors 5.x
/// `BoundaryType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundaryType {
    /// The first message stored at or after the time; the max offset when all are earlier.
    #[default]
    Lower,
    /// The last message stored at or before the time; 0 when all are later.
    Upper,
}

/// The answer to a key query; mirrors Java's `QueryMessageResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryMessageResult {
    /// The matching records, byte for byte as in the commit log, in log order.
    pub messages: Vec<Vec<u8>>,
    /// Store time of the newest indexed key (`indexLastUpdateTimestamp`).
    pub index_last_update_timestamp: i64,
    /// Commit log offset of the newest indexed key (`indexLastUpdatePhyoffset`).
    pub index_last_update_phy_offset: i64,
}
