//! Store settings; mirrors the parts of Java's `MessageStoreConfig` this store uses, and the
//! Java defaults it keeps as constants.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Default size of one commit log segment file: 64 MiB.
pub(super) const DEFAULT_COMMIT_LOG_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
/// Default interval of the background flush (`flushIntervalCommitLog`, 500 ms).
pub(super) const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// The largest stored record, in bytes (`maxMessageSize`, 4 MiB).
pub(super) const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// How long a sync-flush put waits for its fsync before answering `FlushDiskTimeout`
/// (`syncFlushTimeout`, 5 s).
pub(super) const SYNC_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// The most bytes one get returns, unless its first message alone is larger
/// (`maxTransferBytesOnMessageInMemory`, 256 KiB).
pub(super) const MAX_TRANSFER_BYTES_ON_MESSAGE_IN_MEMORY: usize = 256 * 1024;
/// The most messages one get returns (`maxTransferCountOnMessageInMemory`, 32).
pub(super) const MAX_TRANSFER_COUNT_ON_MESSAGE_IN_MEMORY: usize = 32;
/// The least number of consume-queue entries one get scans (`16000 / CQ_STORE_UNIT_SIZE`).
pub(super) const MIN_FILTER_SCAN_ENTRIES: usize = 800;
/// The longest topic the store accepts, in bytes (4.9.8 `Byte.MAX_VALUE`).
pub(super) const MAX_TOPIC_LENGTH: usize = 127;

/// When the commit log is fsynced; mirrors Java's `FlushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushDiskType {
    /// A put returns once its record is written to the file (page cache); a background thread
    /// fsyncs every `flush_interval` (`ASYNC_FLUSH`, the default).
    #[default]
    AsyncFlush,
    /// A put returns once its record is fsynced (`SYNC_FLUSH`); concurrent puts share fsyncs.
    SyncFlush,
}

/// Settings of a [`super::MessageStore`]; mirrors the relevant parts of `MessageStoreConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The root directory (`storePathRootDir`); created if missing.
    pub store_dir: PathBuf,
    /// Bytes per commit log segment file (`mappedFileSizeCommitLog`); a record never spans
    /// segments, so no record may be larger.
    pub commit_log_segment_size: u64,
    /// When puts are acknowledged: after the write, or after the fsync.
    pub flush_disk_type: FlushDiskType,
    /// Interval of the background flush of commit log, consume queues and checkpoint.
    pub flush_interval: Duration,
    /// The broker address written into every record and into offset message ids.
    pub store_host: SocketAddr,
}

impl StoreConfig {
    /// Settings with Java's defaults (async flush every 500 ms, 64 MiB segments) and store host
    /// 127.0.0.1:10911, for the store rooted at `store_dir`.
    pub fn new(store_dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            store_dir: store_dir.into(),
            commit_log_segment_size: DEFAULT_COMMIT_LOG_SEGMENT_SIZE,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            store_host: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 10911),
        }
    }

    /// The commit log directory (`<store_dir>/commitlog`).
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_dir.join("commitlog")
    }

    /// The consume queue root directory (`<store_dir>/consumequeue`).
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_dir.join("consumequeue")
    }

    /// The key index directory (`<store_dir>/index`).
    pub fn index_dir(&self) -> PathBuf {
        self.store_dir.join("index")
    }

    /// The recovery checkpoint file (`<store_dir>/recovery_checkpoint`).
    pub fn checkpoint_path(&self) -> PathBuf {
        self.store_dir.join("recovery_checkpoint")
    }
}
