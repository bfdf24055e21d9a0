//! Store settings; mirrors the parts of Java's `MessageStoreConfig` this store uses, and the
//! Java defaults it keeps as constants.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Default size of one commit log segment file: 64 MiB.
pub(crate) const DEFAULT_COMMIT_LOG_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
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

/// Hours of the day (local time) at which expired files are deleted, Java's `deleteWhen`:
/// `"04"`, or several as `"04;16"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteWhen(Vec<u8>);

impl DeleteWhen {
    /// Reads `"04"` or `"04;16"`: hours 0 to 23 separated by `;`.
    pub fn parse(text: &str) -> Result<DeleteWhen, String> {
        let mut hours = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<u8>() {
                Ok(hour) if hour < 24 => hours.push(hour),
                _ => return Err(format!("{part:?} in {text:?} is not an hour 0-23")),
            }
        }
        if hours.is_empty() {
            return Err(format!("{text:?} names no hour"));
        }
        Ok(DeleteWhen(hours))
    }

    /// Whether `hour` (0-23) is one of them (`UtilAll.isItTimeToDo`).
    pub fn contains(&self, hour: u8) -> bool {
        self.0.contains(&hour)
    }
}

impl Default for DeleteWhen {
    /// Java's `"04"`.
    fn default() -> Self {
        DeleteWhen(vec![4])
    }
}

impl std::fmt::Display for DeleteWhen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hours: Vec<String> = self.0.iter().map(|h| format!("{h:02}")).collect();
        f.write_str(&hours.join(";"))
    }
}

/// Settings of a [`super::MessageStore`]; mirrors the relevant parts of `MessageStoreConfig`.
/// The flush, retention and disk settings may change while the store runs
/// ([`super::MessageStore::update_config`]); the rest are fixed when it opens.
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
    /// Entries per consume queue file (`mappedFileSizeConsumeQueue / 20`, 300,000).
    pub consume_queue_file_entries: i64,
    /// Slots and entries of each key index file (`maxHashSlotNum`, `maxIndexNum`).
    pub(crate) index_layout: super::index_file::IndexLayout,
    /// How long a commit log segment is kept after its last write (`fileReservedTime`, 72 h).
    pub file_reserved_time: Duration,
    /// When expired segments are deleted (`deleteWhen`, `"04"`); a disk fuller than
    /// `disk_max_used_space_ratio` is cleaned whatever the hour.
    pub delete_when: DeleteWhen,
    /// Percent of the disk above which expired segments are deleted at once
    /// (`diskMaxUsedSpaceRatio`, 75; Java keeps it within 10..=95).
    pub disk_max_used_space_ratio: u8,
    /// Percent above which puts are refused until space is back
    /// (`diskSpaceWarningLevelRatio`, 90).
    pub disk_space_warning_level_ratio: u8,
    /// Percent above which the oldest segments are deleted even if not expired
    /// (`diskSpaceCleanForciblyRatio`, 85), when `clean_file_forcibly` is on.
    pub disk_space_clean_forcibly_ratio: u8,
    /// Whether a nearly full disk deletes unexpired segments (`cleanFileForciblyEnable`, on).
    pub clean_file_forcibly: bool,
    /// How often the disk is measured and expired files looked for
    /// (`cleanResourceInterval`, 10 s).
    pub clean_resource_interval: Duration,
    /// Pause between two deleted commit log segments (`deleteCommitLogFilesInterval`, 100 ms).
    pub delete_files_interval: Duration,
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
            consume_queue_file_entries: super::consume_queue::CQ_ENTRIES_PER_FILE,
            index_layout: super::index_file::IndexLayout::JAVA,
            file_reserved_time: Duration::from_secs(72 * 3600),
            delete_when: DeleteWhen::default(),
            disk_max_used_space_ratio: 75,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly: true,
            clean_resource_interval: Duration::from_secs(10),
            delete_files_interval: Duration::from_millis(100),
        }
    }

    /// Java's `getDiskMaxUsedSpaceRatio`: the setting kept within 10..=95, as a fraction.
    pub(super) fn disk_max_used_ratio(&self) -> f64 {
        f64::from(self.disk_max_used_space_ratio.clamp(10, 95)) / 100.0
    }

    /// Copies the settings that may change at run time from `other`.
    pub(super) fn take_live_settings(&mut self, other: &StoreConfig) {
        self.flush_disk_type = other.flush_disk_type;
        self.flush_interval = other.flush_interval;
        self.file_reserved_time = other.file_reserved_time;
        self.delete_when = other.delete_when.clone();
        self.disk_max_used_space_ratio = other.disk_max_used_space_ratio;
        self.disk_space_warning_level_ratio = other.disk_space_warning_level_ratio;
        self.disk_space_clean_forcibly_ratio = other.disk_space_clean_forcibly_ratio;
        self.clean_file_forcibly = other.clean_file_forcibly;
        self.clean_resource_interval = other.clean_resource_interval;
        self.delete_files_interval = other.delete_files_interval;
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
