//! `MessageStore`: the store the broker talks to; mirrors Java's `DefaultMessageStore`.

use std::collections::BTreeMap;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::checkpoint::StoreCheckpoint;
use super::commit_log::{
    store_timestamp_position, CommitLog, Segment, PHYSICAL_OFFSET_POSITION, QUEUE_OFFSET_POSITION,
    SYSFLAG_POSITION,
};
use super::config::{
    DeleteWhen, FlushDiskType, StoreConfig, MAX_MESSAGE_SIZE, MAX_TOPIC_LENGTH,
    MAX_TRANSFER_BYTES_ON_MESSAGE_IN_MEMORY, MAX_TRANSFER_COUNT_ON_MESSAGE_IN_MEMORY,
    MIN_FILTER_SCAN_ENTRIES, SYNC_FLUSH_TIMEOUT,
};
use super::consume_queue::{tags_code_of, ConsumeQueue, CqEntry};
use super::disk::{DiskUsageProbe, FileSystemUsage};
use super::error::StoreError;
use super::files::sync_dir;
use super::flush::{FsyncGate, GroupCommit};
use super::index_service::{file_blocks, index_keys, IndexService};
use super::message_filter::MessageFilter;
use super::recovery::{is_indexed, recover, QueueTable};
use super::result::{
    BoundaryType, GetMessageResult, GetMessageStatus, PutMessageResult, PutMessageStatus,
    QueryMessageResult,
};
use super::stats::StoreStats;
use crate::common::clock::{deadline_after, now_millis};
use crate::common::service_thread::{Schedule, ServiceThread, Stopping, Waker};
use crate::common::sync::{CondvarExt, MutexExt, RwLockExt};
use crate::common::trace::{self, trace_step};
use crate::protocol::message::{
    create_offset_message_id, decode_message, encode_stored_message, MessageExt,
};
use crate::protocol::BodyError;

/// Called after each successful put, outside the store's locks, with the topic, the queue id
/// and the queue's new max offset (Java's `MessageArrivingListener`).
pub(super) type MessageArrivalListener = Box<dyn Fn(&str, i32, i64) + Send + Sync>;

/// Internal knobs tests turn.
#[derive(Debug, Clone)]
pub(crate) struct StoreTuning {
    /// How full the disk is.
    pub(crate) disk_usage: Arc<dyn DiskUsageProbe>,
    /// A delay before each group-commit fsync.
    pub(crate) sync_delay: Duration,
    /// A gate each group-commit fsync waits at (tests).
    pub(crate) fsync_gate: Option<Arc<FsyncGate>>,
    /// How long a sync-flush put waits for its fsync.
    pub(crate) sync_flush_timeout: Duration,
}

impl Default for StoreTuning {
    fn default() -> Self {
        StoreTuning {
            disk_usage: Arc::new(FileSystemUsage),
            sync_delay: Duration::ZERO,
            fsync_gate: None,
            sync_flush_timeout: SYNC_FLUSH_TIMEOUT,
        }
    }
}

/// The message store: a commit log, consume queues, group commit and a flush thread; mirrors
/// Java's `DefaultMessageStore`. `Send + Sync`; every method takes `&self`.
///
/// Dropping it shuts it down (see [`MessageStore::shutdown`]).
pub struct MessageStore {
    inner: Arc<StoreInner>,
    flush_thread: Mutex<Option<JoinHandle<()>>>,
    /// `rmq-store-index` and `rmq-store-clean`.
    services: Mutex<Vec<ServiceThread>>,
}

/// What the disk guard last measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskState {
    /// Used fraction of the disk holding the commit log (-1.0 when it could not be read).
    pub commit_log_ratio: f64,
    /// Used fraction of the disk holding the consume queues.
    pub consume_queue_ratio: f64,
    /// Used fraction of the disk holding the key index.
    pub index_ratio: f64,
    /// Puts are refused (above the warning ratio).
    pub full: bool,
}

/// What one cleaning round deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanReport {
    /// Commit log segments deleted.
    pub commit_log_files: usize,
    /// Consume queue files deleted.
    pub consume_queue_files: usize,
    /// Index files deleted.
    pub index_files: usize,
    /// Bytes freed on disk.
    pub bytes_freed: u64,
}

struct StoreInner {
    /// The settings as opened; the fixed ones are read from here.
    config: StoreConfig,
    /// The settings that change at run time (flush, retention, disk ratios).
    live: RwLock<StoreConfig>,
    /// The put path checks this instead of the lock above.
    sync_flush: AtomicBool,
    /// Set by the disk guard above the warning ratio; puts are refused while it is.
    disk_full: AtomicBool,
    /// The last measurement, for runtime info.
    disk_state: Mutex<DiskState>,
    /// Wakes the index thread after a put.
    index_waker: Waker,
    tuning: StoreTuning,
    commit_log: CommitLog,
    queues: RwLock<QueueTable>,
    /// Serializes appends (Java's `putMessageLock`).
    put_lock: Mutex<()>,
    /// Puts waiting for the put lock (group append).
    pending: Mutex<Vec<PendingPut>>,
    group_commit: GroupCommit,
    checkpoint: Mutex<StoreCheckpoint>,
    listener: RwLock<Option<Arc<MessageArrivalListener>>>,
    /// Messages by key and unique id.
    index: IndexService,
    /// Counts and rates (GET_BROKER_RUNTIME_INFO).
    stats: StoreStats,
    shutdown: AtomicBool,
    /// Set when a failed write or fsync could not be undone.
    not_writable: Mutex<Option<String>>,
    /// Wakes the flush thread: `true` once it must stop.
    flush_stop: Mutex<bool>,
    flush_wake: Condvar,
}

/// What a put gets back: its results and the commit log offset just past its records.
type PutOutcome = Result<(Vec<PutMessageResult>, i64), StoreError>;

/// A put waiting for the put lock; whoever holds the lock next appends it.
struct PendingPut {
    topic: String,
    queue_id: i32,
    records: Vec<Encoded>,
    slot: Arc<Mutex<Option<PutOutcome>>>,
}

/// One encoded record of a put, before its offsets are known.
struct Encoded {
    bytes: Vec<u8>,
    tags_code: i64,
    indexed: bool,
}

impl MessageStore {
    /// Opens the store in `config.store_dir` (creating the directories), recovers it from its
    /// files and starts the flush thread (`rmq-store-flush`).
    pub fn open(config: StoreConfig) -> Result<MessageStore, StoreError> {
        Self::open_tuned(config, StoreTuning::default())
    }

    /// [`MessageStore::open`] with internal knobs.
    pub(crate) fn open_tuned(
        config: StoreConfig,
        tuning: StoreTuning,
    ) -> Result<MessageStore, StoreError> {
        if config.commit_log_segment_size < 4096 || config.commit_log_segment_size > i32::MAX as u64
        {
            return Err(StoreError::InvalidConfig {
                reason: format!(
                    "commit_log_segment_size {} is outside 4096..={}",
                    config.commit_log_segment_size,
                    i32::MAX
                ),
            });
        }
        if config.flush_interval.is_zero() {
            return Err(StoreError::InvalidConfig {
                reason: "flush_interval is zero".to_string(),
            });
        }
        if config.consume_queue_file_entries < 1
            || config.index_layout.hash_slot_num < 1
            || config.index_layout.index_num < 2
        {
            return Err(StoreError::InvalidConfig {
                reason: "consume queue files and index files need room for entries".to_string(),
            });
        }
        DeleteWhen::parse(&config.delete_when.to_string())
            .map_err(|reason| StoreError::InvalidConfig { reason })?;
        let queue_root = config.consume_queue_dir();
        let created = !config.store_dir.is_dir();
        for dir in [&config.store_dir, &queue_root] {
            fs::create_dir_all(dir).map_err(|e| StoreError::io_at("create", dir, &e))?;
        }
        let commit_log = CommitLog::open(&config.commit_log_dir(), config.commit_log_segment_size)?;
        let (mut checkpoint, checkpoint_offset) = StoreCheckpoint::open(&config.checkpoint_path())?;
        // The directories and the checkpoint file must survive a crash as well as their data.
        sync_dir(&config.store_dir)?;
        if let Some(parent) = config.store_dir.parent().filter(|_| created) {
            sync_dir(parent)?;
        }
        let queues = recover(
            &commit_log,
            &queue_root,
            checkpoint_offset,
            config.consume_queue_file_entries,
        )?;
        // Everything recovery kept or rebuilt is durable before the checkpoint moves.
        let end = commit_log.max_offset();
        commit_log.sync_range(commit_log.min_offset(), end)?;
        for queue in queues.values().flat_map(BTreeMap::values) {
            queue.sync()?;
        }
        checkpoint.write(end)?;
        let index = IndexService::open(&config.index_dir(), &commit_log, config.index_layout)?;
        let (index_waker, index_wakeups) = Waker::pair();

        let inner = Arc::new(StoreInner {
            group_commit: GroupCommit::new(end, tuning.sync_delay, tuning.fsync_gate.clone()),
            live: RwLock::new(config.clone()),
            sync_flush: AtomicBool::new(config.flush_disk_type == FlushDiskType::SyncFlush),
            disk_full: AtomicBool::new(false),
            disk_state: Mutex::new(DiskState {
                commit_log_ratio: -1.0,
                consume_queue_ratio: -1.0,
                index_ratio: -1.0,
                full: false,
            }),
            index_waker,
            config,
            tuning,
            commit_log,
            queues: RwLock::new(queues),
            put_lock: Mutex::new(()),
            pending: Mutex::new(Vec::new()),
            checkpoint: Mutex::new(checkpoint),
            listener: RwLock::new(None),
            index,
            stats: StoreStats::default(),
            shutdown: AtomicBool::new(false),
            not_writable: Mutex::new(None),
            flush_stop: Mutex::new(false),
            flush_wake: Condvar::new(),
        });
        // The disk is measured before the first put is taken.
        inner.check_disk();
        let worker = Arc::clone(&inner);
        let handle = thread::Builder::new()
            .name("rmq-store-flush".to_string())
            .spawn(move || worker.flush_loop())
            .map_err(|e| StoreError::io("start the rmq-store-flush thread", &e))?;
        let store = MessageStore {
            inner,
            flush_thread: Mutex::new(Some(handle)),
            services: Mutex::new(Vec::new()),
        };
        let indexer = Arc::clone(&store.inner);
        let index_thread = ServiceThread::start_with(
            "rmq-store-index",
            Schedule::every(Duration::from_millis(100)).first_after(Duration::ZERO),
            store.inner.index_waker.clone(),
            index_wakeups,
            move |_| {
                indexer.index.dispatch(&indexer.commit_log);
            },
        )
        .map_err(|e| StoreError::io("start the rmq-store-index thread", &e))?;
        let cleaner = Arc::clone(&store.inner);
        let interval = store.inner.live().clean_resource_interval;
        let clean_thread = ServiceThread::start(
            "rmq-store-clean",
            Schedule::every(interval),
            move |stopping| {
                cleaner.clean(stopping, false);
            },
        )
        .map_err(|e| StoreError::io("start the rmq-store-clean thread", &e))?;
        store
            .services
            .lock_unpoisoned()
            .extend([index_thread, clean_thread]);
        Ok(store)
    }

    /// The settings the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// The settings now, with the changes made by [`MessageStore::update_config`].
    pub fn current_config(&self) -> StoreConfig {
        self.inner.live().clone()
    }

    /// Changes the settings that may change at run time (flush type and interval, retention,
    /// disk ratios, cleaning intervals; `StoreConfig::take_live_settings`); the others in
    /// `config` are ignored. A new cleaning interval applies after the next round.
    pub fn update_config(&self, config: &StoreConfig) {
        let mut live = self.inner.live.write_unpoisoned();
        live.take_live_settings(config);
        self.inner.sync_flush.store(
            live.flush_disk_type == FlushDiskType::SyncFlush,
            Ordering::Release,
        );
        drop(live);
        self.inner.flush_wake.notify_all();
    }

    /// Measures the disk now, as the cleaning thread does every `clean_resource_interval`:
    /// refuses puts above the warning ratio, takes them again below it.
    pub fn check_disk(&self) -> DiskState {
        self.inner.check_disk()
    }

    /// What the disk guard measured last.
    pub fn disk_state(&self) -> DiskState {
        *self.inner.disk_state.lock_unpoisoned()
    }

    /// Runs one cleaning round now, as the `rmq-store-clean` thread does
    /// (`CleanCommitLogService` then `CleanConsumeQueueService`): measures the disk, and when
    /// it is time (`delete_when`), the disk is fuller than `disk_max_used_space_ratio`, or
    /// `manual` is set (Java's `executeDeleteFilesManually`), deletes commit log segments
    /// older than `file_reserved_time` (any but the newest when the disk is above the
    /// forcible ratio), at most 10 a round, then the consume queue and index files that
    /// point only below the log's new start.
    pub fn clean_expired_files(&self, manual: bool) -> CleanReport {
        self.inner.clean(&Stopping::never(), manual)
    }

    /// Bytes the store's files occupy on disk (commit log, consume queues, index).
    pub fn disk_bytes(&self) -> u64 {
        fn dir_bytes(dir: &std::path::Path) -> u64 {
            let Ok(entries) = fs::read_dir(dir) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        dir_bytes(&path)
                    } else {
                        file_blocks(&path)
                    }
                })
                .sum()
        }
        let c = &self.inner.config;
        dir_bytes(&c.commit_log_dir())
            + dir_bytes(&c.consume_queue_dir())
            + dir_bytes(&c.index_dir())
    }

    /// Stores one message (`putMessage`). The caller sets topic, queue id, flag, body,
    /// properties, system flag, born timestamp and host, reconsume times and prepared
    /// transaction offset; the store assigns the queue offset, the commit log offset, the store
    /// timestamp and host. Returns once the record is written to the file, and with sync flush
    /// once it is fsynced (`FlushDiskTimeout` if that takes over 5 s or fails; after a failed
    /// fsync the store refuses writes).
    pub fn put_message(&self, msg: MessageExt) -> Result<PutMessageResult, StoreError> {
        let mut results = self.put_counted(vec![msg])?;
        results.pop().ok_or_else(|| StoreError::MessageIllegal {
            reason: "nothing stored".to_string(),
        })
    }

    /// Stores a batch for one topic and queue (`putMessages`): consecutive queue offsets,
    /// one contiguous write in one segment, one result per message.
    pub fn put_messages(&self, msgs: Vec<MessageExt>) -> Result<Vec<PutMessageResult>, StoreError> {
        self.put_counted(msgs)
    }

    /// A put, counted in the statistics.
    fn put_counted(&self, msgs: Vec<MessageExt>) -> Result<Vec<PutMessageResult>, StoreError> {
        let begin = std::time::Instant::now();
        let target = trace::wanted()
            .then(|| {
                msgs.first()
                    .map(|m| format!("{} queue {}", m.topic, m.queue_id))
            })
            .flatten();
        let put = self.inner.put(msgs);
        if let (Some(target), Ok(results)) = (target, &put) {
            if let (Some(first), Some(last)) = (results.first(), results.last()) {
                trace_step!(
                    "store",
                    "put {} message(s) of {target} at queue offset {}, commit log offset {}, \
                     {} bytes: {:?} in {} µs",
                    results.len(),
                    first.queue_offset,
                    first.commit_log_offset,
                    last.commit_log_offset + i64::from(last.wrote_bytes) - first.commit_log_offset,
                    first.status,
                    begin.elapsed().as_micros()
                );
            }
        }
        match &put {
            Ok(results) => self.inner.stats.record_put(
                results.len() as u64,
                results.iter().map(|r| r.wrote_bytes.max(0) as u64).sum(),
                begin.elapsed().as_millis() as u64,
            ),
            Err(_) => self.inner.stats.record_put_failure(),
        }
        put
    }

    /// What the store has done: counts, sizes, latencies, rates.
    pub fn stats(&self) -> &StoreStats {
        &self.inner.stats
    }

    /// Up to `max_msg_nums` messages of a queue from `offset` (`getMessage` of a master).
    /// `filter` says which to deliver, by the entry's tags hash code and then, if it wants,
    /// by the stored record; skipped messages still advance `next_begin_offset`.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult {
        let begin = std::time::Instant::now();
        let found = self
            .inner
            .get_message(topic, queue_id, offset, max_msg_nums, filter);
        trace_step!(
            "store",
            "get {topic} queue {queue_id} from offset {offset}: {:?}, {} message(s), {} bytes, \
             next offset {} in {} µs",
            found.status,
            found.messages.len(),
            found.total_bytes,
            found.next_begin_offset,
            begin.elapsed().as_micros()
        );
        self.inner.stats.record_get(
            found.messages.len() as u64,
            begin.elapsed().as_millis() as u64,
        );
        found
    }

    /// The next queue offset to be written; 0 for an empty or unknown queue
    /// (`getMaxOffsetInQueue`).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .find_queue(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    /// The first queue offset that holds a message; 0 for an unknown queue
    /// (`getMinOffsetInQueue`).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .find_queue(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    /// The offset of the first message stored at or after `timestamp_ms`; the max offset when
    /// all are earlier, 0 for an empty or unknown queue (`getOffsetInQueueByTime`, with 5.x's
    /// default lower boundary: 4.9.8 answers whichever neighbour is nearer in time).
    pub fn offset_in_queue_by_time(&self, topic: &str, queue_id: i32, timestamp_ms: i64) -> i64 {
        self.offset_in_queue_by_time_with_boundary(
            topic,
            queue_id,
            timestamp_ms,
            BoundaryType::Lower,
        )
    }

    /// [`MessageStore::offset_in_queue_by_time`] with a choice of boundary (5.x
    /// `getOffsetInQueueByTime(topic, queueId, timestamp, boundaryType)`).
    pub fn offset_in_queue_by_time_with_boundary(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        boundary: BoundaryType,
    ) -> i64 {
        self.inner
            .offset_by_time(topic, queue_id, timestamp_ms, boundary)
    }

    /// The store timestamp of the message at `offset` of a queue, if there is one
    /// (`getMessageStoreTimeStamp`).
    pub fn store_timestamp_at(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let queue = self.inner.find_queue(topic, queue_id)?;
        self.inner.store_time(&queue, offset)
    }

    /// The message whose record starts at `commit_log_offset` (`lookMessageByOffset`); the
    /// body stays as stored (compressed if it was).
    pub fn look_message_by_offset(&self, commit_log_offset: i64) -> Option<MessageExt> {
        let record = self.select_one_message_by_offset(commit_log_offset)?;
        decode_message(&record, false)
            .ok()
            .map(|(message, _)| message)
    }

    /// The raw record that starts at `commit_log_offset` (`selectOneMessageByOffset`).
    pub fn select_one_message_by_offset(&self, commit_log_offset: i64) -> Option<Vec<u8>> {
        self.inner.commit_log.read_record(commit_log_offset)
    }

    /// Up to `max_num` (at most 64) messages of `topic` with `key` among their `KEYS` or as
    /// their unique id, stored within `[begin, end]` ms, as raw records in commit log order
    /// (`queryMessage`).
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        // Whatever was stored before this query is indexed before it looks.
        self.inner.index.dispatch(&self.inner.commit_log);
        let mut records = Vec::new();
        let found = self
            .inner
            .index
            .query_offset(topic, key, max_num, begin, end, |offset| {
                let Some(record) = self.inner.commit_log.read_record(offset) else {
                    return false;
                };
                let matches = decode_message(&record, false).is_ok_and(|(m, _)| {
                    m.topic == topic
                        && (begin..=end).contains(&m.store_timestamp)
                        && index_keys(&m.properties).contains(&key)
                });
                if matches {
                    records.push((offset, record));
                }
                matches
            });
        records.sort_by_key(|(offset, _)| *offset);
        QueryMessageResult {
            messages: records.into_iter().map(|(_, r)| r).collect(),
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phy_offset: found.index_last_update_phy_offset,
        }
    }

    /// The first physical offset the commit log holds (`getMinPhyOffset`).
    pub fn min_phy_offset(&self) -> i64 {
        self.inner.commit_log.min_offset()
    }

    /// The end of the commit log (`getMaxPhyOffset`).
    pub fn max_phy_offset(&self) -> i64 {
        self.inner.commit_log.max_offset()
    }

    /// Every queue the store knows, by topic (sorted), with its queue ids (sorted): those
    /// recovery found plus those created since, so the broker can re-create topic configs.
    pub fn topics_and_queues(&self) -> Vec<(String, Vec<i32>)> {
        let queues = self.inner.queues.read_unpoisoned();
        let mut out: Vec<(String, Vec<i32>)> = queues
            .iter()
            .map(|(topic, by_id)| (topic.clone(), by_id.keys().copied().collect()))
            .collect();
        out.sort();
        out
    }

    /// Installs the listener called after each successful put (replacing any earlier one).
    pub fn set_message_arrival_listener(&self, listener: MessageArrivalListener) {
        *self.inner.listener.write_unpoisoned() = Some(Arc::new(listener));
    }

    /// Fsyncs the commit log and the consume queues and moves the checkpoint.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush_all()
    }

    /// Bytes written to the commit log and not yet fsynced (`remainHowManyDataToFlush`).
    pub fn unflushed_bytes(&self) -> i64 {
        (self.inner.commit_log.max_offset() - self.inner.group_commit.flushed()).max(0)
    }

    /// Store time of the oldest message in the commit log, if there is one
    /// (`getEarliestMessageTime`).
    pub fn earliest_message_time(&self) -> Option<i64> {
        let min = self.inner.commit_log.min_offset();
        self.look_message_by_offset(min).map(|m| m.store_timestamp)
    }

    /// Removes the consume queues of `topic` (`deleteTopics`): its messages can no longer be
    /// pulled; the commit log keeps their records until it is cleaned. Returns the number of
    /// queues removed.
    pub fn delete_topic(&self, topic: &str) -> Result<usize, StoreError> {
        // Under the put lock: no put is appending to a queue being removed.
        let _guard = self.inner.put_lock.lock_unpoisoned();
        let removed = self.inner.queues.write_unpoisoned().remove(topic);
        let count = removed.as_ref().map_or(0, BTreeMap::len);
        let dir = self.inner.config.consume_queue_dir().join(topic);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| StoreError::io_at("remove", &dir, &e))?;
            sync_dir(&self.inner.config.consume_queue_dir())?;
        }
        Ok(count)
    }

    /// How many commit log fsync rounds have run (group commit shares them).
    pub fn commit_log_sync_count(&self) -> u64 {
        self.inner.group_commit.sync_count()
    }

    /// Stops the store: later puts fail with [`StoreError::Shutdown`], the flush thread is
    /// stopped and joined, and everything written is flushed. Reads keep working. Idempotent;
    /// also run on drop.
    pub fn shutdown(&self) {
        if self.inner.shutdown.swap(true, Ordering::AcqRel) {
            return;
        }
        for service in self.services.lock_unpoisoned().drain(..) {
            service.stop();
        }
        *self.inner.flush_stop.lock_unpoisoned() = true;
        self.inner.flush_wake.notify_all();
        if let Some(handle) = self.flush_thread.lock_unpoisoned().take() {
            if handle.thread().id() != thread::current().id() && handle.join().is_err() {
                log::error!("the rmq-store-flush thread panicked");
            }
        }
        // Wait for appends in flight, index them, then flush.
        let guard = self.inner.put_lock.lock_unpoisoned();
        drop(guard);
        self.inner.index.dispatch(&self.inner.commit_log);
        if let Err(err) = self.inner.flush_all() {
            log::error!("final store flush failed: {err}");
        }
    }
}

#[cfg(test)]
impl MessageStore {
    /// Stops the flush thread without the final flush, as if the process had been killed:
    /// what was written stays in the files, nothing more is fsynced or checkpointed.
    pub(crate) fn kill(self) {
        self.inner.shutdown.store(true, Ordering::Release);
        for service in self.services.lock_unpoisoned().drain(..) {
            service.stop();
        }
        *self.inner.flush_stop.lock_unpoisoned() = true;
        self.inner.flush_wake.notify_all();
        if let Some(handle) = self.flush_thread.lock_unpoisoned().take() {
            let _ = handle.join();
        }
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl StoreInner {
    fn find_queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues
            .read_unpoisoned()
            .get(topic)?
            .get(&queue_id)
            .cloned()
    }

    /// The queue, created if missing; called under the put lock.
    fn find_or_create_queue(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(queue) = self.find_queue(topic, queue_id) {
            return Ok(queue);
        }
        let queue = Arc::new(ConsumeQueue::create(
            &self.config.consume_queue_dir(),
            topic,
            queue_id,
            self.config.consume_queue_file_entries,
        )?);
        self.queues
            .write_unpoisoned()
            .entry(topic.to_string())
            .or_default()
            .insert(queue_id, Arc::clone(&queue));
        Ok(queue)
    }

    fn all_queues(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read_unpoisoned()
            .values()
            .flat_map(BTreeMap::values)
            .cloned()
            .collect()
    }

    fn live(&self) -> RwLockReadGuard<'_, StoreConfig> {
        self.live.read_unpoisoned()
    }

    /// Measures the disks of the commit log, the consume queues and the index, and sets the
    /// disk-full flag: above the warning ratio puts are refused, at or below it taken again
    /// (`isSpaceFull`).
    fn check_disk(&self) -> DiskState {
        let probe = &self.tuning.disk_usage;
        let ratio = |dir: &std::path::Path| match probe.used_ratio(dir) {
            Ok(ratio) => ratio,
            Err(e) => {
                log::warn!("measuring the disk of {}: {e}", dir.display());
                -1.0
            }
        };
        let warning = f64::from(self.live().disk_space_warning_level_ratio) / 100.0;
        let commit_log_ratio = ratio(&self.config.commit_log_dir());
        let consume_queue_ratio = ratio(&self.config.consume_queue_dir());
        let index_ratio = ratio(&self.config.index_dir());
        let full = commit_log_ratio.max(consume_queue_ratio) > warning;
        let state = DiskState {
            commit_log_ratio,
            consume_queue_ratio,
            index_ratio,
            full,
        };
        let was_full = self.disk_full.swap(full, Ordering::AcqRel);
        *self.disk_state.lock_unpoisoned() = state;
        if full && !was_full {
            log::error!(
                "disk maybe full soon: {:.2} used, above the warning ratio {warning:.2}; puts are refused until space is freed",
                commit_log_ratio.max(consume_queue_ratio)
            );
        } else if !full && was_full {
            log::info!(
                "disk space OK again: {:.2} used; puts are taken",
                commit_log_ratio.max(consume_queue_ratio)
            );
        }
        state
    }

    /// One cleaning round (see [`MessageStore::clean_expired_files`]).
    fn clean(&self, stopping: &Stopping, manual: bool) -> CleanReport {
        let disk = self.check_disk();
        let settings = self.live().clone();
        let used = disk.commit_log_ratio.max(disk.consume_queue_ratio);
        let clean_now = used > f64::from(settings.disk_space_clean_forcibly_ratio) / 100.0;
        let space_to_delete = used < 0.0 || used > settings.disk_max_used_ratio();
        let time_up = settings
            .delete_when
            .contains(super::disk::local_hour(now_millis() / 1000));
        let mut report = CleanReport::default();
        if !(time_up || space_to_delete || manual) {
            return report;
        }
        let forcibly = clean_now && settings.clean_file_forcibly;
        let reserved = settings.file_reserved_time;
        let now = std::time::SystemTime::now();
        while report.commit_log_files < DELETE_FILES_BATCH_MAX && !stopping.is_stopped() {
            let Some((start, modified, size)) = self.commit_log.oldest_closed_segment() else {
                break;
            };
            let age = now.duration_since(modified).unwrap_or_default();
            if age < reserved && !forcibly {
                break;
            }
            if report.commit_log_files > 0 && !settings.delete_files_interval.is_zero() {
                // Java's deletePhysicFilesInterval: spread the I/O of many deletions.
                self.pause(settings.delete_files_interval, stopping);
                if stopping.is_stopped() {
                    break;
                }
            }
            match self.commit_log.delete_oldest(start) {
                Ok(Some(new_min)) => {
                    report.commit_log_files += 1;
                    report.bytes_freed += size;
                    log::info!(
                        "deleted commit log segment {start:020} ({size} bytes, last written {} s ago{}); the commit log now starts at {new_min}",
                        age.as_secs(),
                        if forcibly { ", disk nearly full" } else { "" }
                    );
                }
                Ok(None) => break,
                Err(err) => {
                    log::error!("deleting commit log segment {start:020} failed: {err}");
                    break;
                }
            }
        }
        if report.commit_log_files == 0 && space_to_delete {
            log::warn!(
                "disk space will be full soon ({used:.2} used), but no file could be deleted"
            );
        }
        self.clean_consume_queues_and_index(&mut report);
        report
    }

    /// Waits `pause` unless the store stops first.
    fn pause(&self, pause: Duration, stopping: &Stopping) {
        let deadline = deadline_after(pause);
        let mut stop = self.flush_stop.lock_unpoisoned();
        while !*stop && !stopping.is_stopped() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            stop = self
                .flush_wake
                .wait_timeout_unpoisoned(stop, left.min(Duration::from_millis(50)));
        }
    }

    /// `CleanConsumeQueueService`: the consume queue and index files wholly below the commit
    /// log's first offset.
    fn clean_consume_queues_and_index(&self, report: &mut CleanReport) {
        let min = self.commit_log.min_offset();
        for queue in self.all_queues() {
            match queue.delete_expired(min) {
                Ok(deleted) => {
                    for (path, size) in deleted {
                        report.consume_queue_files += 1;
                        report.bytes_freed += size;
                        log::info!(
                            "deleted consume queue file {} ({size} bytes); the queue now starts at offset {}",
                            path.display(),
                            queue.min_offset()
                        );
                    }
                }
                Err(err) => log::error!("deleting consume queue files failed: {err}"),
            }
        }
        match self.index.delete_expired(min) {
            Ok((files, bytes)) => {
                report.index_files += files;
                report.bytes_freed += bytes;
            }
            Err(err) => log::error!("deleting index files failed: {err}"),
        }
    }

    fn mark_not_writable(&self, err: &StoreError) {
        log::error!("message store refuses writes from now on: {err}");
        self.not_writable
            .lock_unpoisoned()
            .get_or_insert_with(|| err.to_string());
    }

    /// Checks and encodes the messages of one put; offsets and store time are patched in later.
    fn encode(&self, msgs: Vec<MessageExt>) -> Result<Vec<Encoded>, StoreError> {
        let (topic, queue_id) = match msgs.first() {
            Some(first) => (first.topic.clone(), first.queue_id),
            None => return Ok(Vec::new()),
        };
        check_topic(&topic)?;
        if queue_id < 0 {
            return Err(StoreError::MessageIllegal {
                reason: format!("queue id {queue_id} is negative"),
            });
        }
        let mut total = 0usize;
        let mut encoded = Vec::with_capacity(msgs.len());
        for mut msg in msgs {
            if msg.topic != topic || msg.queue_id != queue_id {
                return Err(StoreError::MessageIllegal {
                    reason: format!(
                        "a batch must be for one queue: {}:{} after {topic}:{queue_id}",
                        msg.topic, msg.queue_id
                    ),
                });
            }
            msg.store_host = self.config.store_host;
            msg.queue_offset = 0;
            msg.commit_log_offset = 0;
            msg.store_timestamp = 0;
            let bytes = encode_stored_message(&msg).map_err(|err| match err {
                BodyError::TooLong {
                    field: "properties",
                    length,
                    max,
                } => StoreError::PropertiesSizeExceeded { size: length, max },
                BodyError::TooLong {
                    field: "body",
                    length,
                    ..
                } => StoreError::MessageTooLarge {
                    size: length,
                    max: MAX_MESSAGE_SIZE,
                },
                other => StoreError::MessageIllegal {
                    reason: other.to_string(),
                },
            })?;
            if bytes.len() > MAX_MESSAGE_SIZE {
                return Err(StoreError::MessageTooLarge {
                    size: bytes.len(),
                    max: MAX_MESSAGE_SIZE,
                });
            }
            total += bytes.len();
            encoded.push(Encoded {
                tags_code: tags_code_of(&msg.properties),
                indexed: is_indexed(msg.sys_flag),
                bytes,
            });
        }
        if total as u64 > self.config.commit_log_segment_size {
            return Err(StoreError::MessageTooLarge {
                size: total,
                max: self.config.commit_log_segment_size as usize,
            });
        }
        Ok(encoded)
    }

    /// A put: encodes outside the lock, then appends through [`StoreInner::append_pending`],
    /// which writes every put waiting at that moment together.
    fn put(&self, msgs: Vec<MessageExt>) -> Result<Vec<PutMessageResult>, StoreError> {
        let Some((topic, queue_id)) = msgs.first().map(|m| (m.topic.clone(), m.queue_id)) else {
            return Ok(Vec::new());
        };
        let records = self.encode(msgs)?;
        let slot = Arc::new(Mutex::new(None));
        self.pending.lock_unpoisoned().push(PendingPut {
            topic: topic.clone(),
            queue_id,
            records,
            slot: Arc::clone(&slot),
        });
        let guard = self.put_lock.lock_unpoisoned();
        // The thread that held the lock before may have written this put with its own.
        let done = slot.lock_unpoisoned().take();
        let (outcome, listeners) = match done {
            Some(outcome) => (outcome, Vec::new()),
            None => {
                let batch = std::mem::take(&mut *self.pending.lock_unpoisoned());
                let listeners = self.append_pending(batch);
                let outcome = slot.lock_unpoisoned().take().unwrap_or_else(|| {
                    Err(StoreError::MessageIllegal {
                        reason: "the put was lost".into(),
                    })
                });
                (outcome, listeners)
            }
        };
        drop(guard);
        if !listeners.is_empty() {
            self.index_waker.wake();
            let listener = self.listener.read_unpoisoned().clone();
            if let Some(listener) = listener {
                for (topic, queue_id, max) in listeners {
                    listener(&topic, queue_id, max);
                }
            }
        }
        let (mut results, end) = outcome?;
        if self.sync_flush.load(Ordering::Acquire) {
            match self.group_commit.wait_flushed(
                &self.commit_log,
                end,
                Some(self.tuning.sync_flush_timeout),
            ) {
                Ok(true) => {}
                flushed => {
                    // Stored and visible, durability unknown: Java's FLUSH_DISK_TIMEOUT. After a
                    // failed fsync nothing written later can be trusted, so writes stop.
                    match flushed {
                        Err(err) => self.mark_not_writable(&err),
                        _ => log::warn!("sync flush of commit log offset {end} timed out"),
                    }
                    for result in &mut results {
                        result.status = PutMessageStatus::FlushDiskTimeout;
                    }
                }
            }
        }
        Ok(results)
    }

    /// Appends the puts of `batch` in order, under the put lock: each gets its queue offsets,
    /// physical offsets and store time, their records go to the commit log in one write per
    /// segment and their entries to each queue in one write, then the new end is published
    /// and every put's outcome is left in its slot. Returns the queues that grew, with their
    /// new max offsets, for the arrival listener.
    ///
    /// Group append is what lets one put lock keep up with many senders: a put's cost under
    /// the lock is two `pwrite`s, and concurrent puts now share them.
    fn append_pending(&self, mut batch: Vec<PendingPut>) -> Vec<(String, i32, i64)> {
        let refused = if self.shutdown.load(Ordering::Acquire) {
            Some(StoreError::Shutdown)
        } else if let Some(reason) = self.not_writable.lock_unpoisoned().clone() {
            Some(StoreError::NotWritable { reason })
        } else if self.disk_full.load(Ordering::Acquire) {
            let used_ratio = self.disk_state.lock_unpoisoned().commit_log_ratio;
            Some(StoreError::DiskFull { used_ratio })
        } else {
            None
        };
        if let Some(err) = refused {
            for put in batch {
                *put.slot.lock_unpoisoned() = Some(Err(err.clone()));
            }
            return Vec::new();
        }
        match self.write_batch(&mut batch) {
            Ok((outcomes, grown)) => {
                for (put, outcome) in batch.into_iter().zip(outcomes) {
                    *put.slot.lock_unpoisoned() = Some(outcome);
                }
                grown
            }
            Err(err) => {
                if matches!(err, StoreError::NotWritable { .. }) {
                    self.mark_not_writable(&err);
                }
                for put in batch {
                    *put.slot.lock_unpoisoned() = Some(Err(err.clone()));
                }
                Vec::new()
            }
        }
    }

    /// The writes of [`StoreInner::append_pending`]; on failure nothing is published and what
    /// was written is cut back.
    #[allow(clippy::type_complexity)]
    fn write_batch(
        &self,
        batch: &mut [PendingPut],
    ) -> Result<(Vec<PutOutcome>, Vec<(String, i32, i64)>), StoreError> {
        let store_timestamp = now_millis();
        let mut next = self.commit_log.max_offset();
        // Per queue: the queue, its offset before the batch, the entries to append.
        let mut queues: Vec<(Arc<ConsumeQueue>, i64, Vec<CqEntry>)> = Vec::new();
        let mut written: Vec<(Arc<Segment>, i64)> = Vec::new();
        let mut buffer: Vec<u8> = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        let result = (|| {
            for put in batch.iter_mut() {
                let total: usize = put.records.iter().map(|r| r.bytes.len()).sum();
                let (physical, segment) = self.commit_log.reserve(next, total)?;
                if written
                    .last()
                    .is_none_or(|(s, _)| !Arc::ptr_eq(s, &segment))
                {
                    // A new segment: what is buffered belongs to the one before.
                    if let Some((previous, at)) = written.last() {
                        self.commit_log.write(previous, *at, &buffer)?;
                        buffer.clear();
                    }
                    written.push((Arc::clone(&segment), physical));
                }
                let queue = if put.records.iter().any(|r| r.indexed) {
                    let queue = self.find_or_create_queue(&put.topic, put.queue_id)?;
                    let at = match queues.iter().position(|(q, _, _)| Arc::ptr_eq(q, &queue)) {
                        Some(at) => at,
                        None => {
                            let start = queue.max_offset();
                            queues.push((queue, start, Vec::new()));
                            queues.len() - 1
                        }
                    };
                    Some(at)
                } else {
                    None
                };
                let mut results = Vec::with_capacity(put.records.len());
                let mut offset = physical;
                for record in &mut put.records {
                    let queue_offset = match (record.indexed, queue) {
                        (true, Some(at)) => {
                            let (_, start, entries) = &mut queues[at];
                            let queue_offset = *start + entries.len() as i64;
                            entries.push(CqEntry {
                                commit_log_offset: offset,
                                size: record.bytes.len() as i32,
                                tags_code: record.tags_code,
                            });
                            queue_offset
                        }
                        _ => 0,
                    };
                    patch_record(&mut record.bytes, queue_offset, offset, store_timestamp);
                    buffer.extend_from_slice(&record.bytes);
                    results.push(PutMessageResult {
                        status: PutMessageStatus::PutOk,
                        msg_id: create_offset_message_id(self.config.store_host, offset),
                        queue_offset,
                        commit_log_offset: offset,
                        wrote_bytes: record.bytes.len() as i32,
                        store_timestamp,
                    });
                    offset += record.bytes.len() as i64;
                }
                next = physical + total as i64;
                outcomes.push(Ok((results, next)));
            }
            if let Some((segment, at)) = written.last() {
                self.commit_log.write(segment, *at, &buffer)?;
            }
            for (queue, _, entries) in &queues {
                if let Err(err) = queue.write_entries(entries) {
                    // The queues appended before this one lose their part again.
                    for (done, done_start, _) in &queues {
                        if Arc::ptr_eq(done, queue) {
                            break;
                        }
                        // Written, not published: cut them off again.
                        done.truncate(*done_start)?;
                    }
                    return Err(err);
                }
            }
            Ok(())
        })();
        if let Err(err) = result {
            for (segment, at) in written.iter().rev() {
                if let Err(undo) = self.commit_log.undo(segment, *at) {
                    self.mark_not_writable(&undo);
                }
            }
            return Err(err);
        }
        // The records first, then the entries that point at them: a reader that sees an entry
        // can read its record.
        self.commit_log.publish(next);
        for (queue, start, entries) in &queues {
            queue.publish(start + entries.len() as i64);
        }
        let grown = queues
            .iter()
            .map(|(q, start, entries)| {
                let (topic, queue_id) = q.name();
                (topic.to_string(), queue_id, start + entries.len() as i64)
            })
            .collect();
        Ok((outcomes, grown))
    }

    fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult {
        let Some(queue) = self.find_queue(topic, queue_id) else {
            return GetMessageResult::empty(GetMessageStatus::NoMatchedLogicQueue, 0, 0, 0);
        };
        let min = queue.min_offset();
        let max = queue.max_offset();
        let empty = |status, next| GetMessageResult::empty(status, next, min, max);
        if max == 0 {
            return empty(GetMessageStatus::NoMessageInQueue, 0);
        }
        if offset < min {
            return empty(GetMessageStatus::OffsetTooSmall, min);
        }
        if offset == max {
            return empty(GetMessageStatus::OffsetOverflowOne, offset);
        }
        if offset > max {
            return empty(GetMessageStatus::OffsetOverflowBadly, max);
        }
        let scan = usize::try_from(max_msg_nums)
            .unwrap_or(0)
            .max(MIN_FILTER_SCAN_ENTRIES);
        let entries = match queue.read_entries(offset, scan) {
            Ok(entries) => entries,
            Err(err) => {
                log::warn!("consume queue {topic}:{queue_id} unreadable at {offset}: {err}");
                let per_file = self.config.consume_queue_file_entries;
                let next = offset + per_file - offset % per_file;
                return empty(GetMessageStatus::OffsetFoundNull, next);
            }
        };
        let mut result = empty(GetMessageStatus::NoMatchedMessage, offset);
        let mut consumed = 0i64;
        for entry in entries {
            if is_batch_full(
                entry.size,
                max_msg_nums,
                result.total_bytes,
                result.messages.len(),
            ) {
                break;
            }
            consumed += 1;
            if filter.is_some_and(|f| !f.is_matched_by_consume_queue(entry.tags_code)) {
                if result.total_bytes == 0 {
                    result.status = GetMessageStatus::NoMatchedMessage;
                }
                continue;
            }
            let record = usize::try_from(entry.size)
                .ok()
                .filter(|_| !entry.is_blank())
                .and_then(|size| self.commit_log.read(entry.commit_log_offset, size));
            match record {
                Some(record) if filter.is_some_and(|f| !f.is_matched_by_commit_log(&record)) => {
                    if result.total_bytes == 0 {
                        result.status = GetMessageStatus::NoMatchedMessage;
                    }
                }
                Some(record) => {
                    result.total_bytes += record.len();
                    result.messages.push(record);
                    result.status = GetMessageStatus::Found;
                }
                None => {
                    if result.total_bytes == 0 {
                        result.status = GetMessageStatus::MessageWasRemoving;
                    }
                }
            }
        }
        result.next_begin_offset = offset + consumed;
        result
    }

    fn store_time(&self, queue: &ConsumeQueue, offset: i64) -> Option<i64> {
        let entry = queue.entry(offset)?;
        if entry.is_blank() {
            return None;
        }
        self.commit_log
            .pickup_store_timestamp(entry.commit_log_offset, entry.size)
    }

    fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: BoundaryType,
    ) -> i64 {
        let Some(queue) = self.find_queue(topic, queue_id) else {
            return 0;
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        if min >= max {
            return max;
        }
        // The first offset whose store time is >= (lower) or > (upper) the timestamp.
        let (mut low, mut high) = (min, max);
        while low < high {
            let mid = low + (high - low) / 2;
            let Some(time) = self.store_time(&queue, mid) else {
                return 0;
            };
            let after = match boundary {
                BoundaryType::Lower => time >= timestamp,
                BoundaryType::Upper => time > timestamp,
            };
            if after {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        match boundary {
            BoundaryType::Lower => low,
            BoundaryType::Upper if low == min => 0,
            BoundaryType::Upper => low - 1,
        }
    }

    /// Fsyncs the commit log up to its current end, then every consume queue, then records
    /// that end as the checkpoint.
    fn flush_all(&self) -> Result<(), StoreError> {
        let end = self.commit_log.max_offset();
        self.group_commit
            .wait_flushed(&self.commit_log, end, None)
            .inspect_err(|err| self.mark_not_writable(err))?;
        for queue in self.all_queues() {
            queue.sync()?;
        }
        self.index.flush(end)?;
        self.checkpoint.lock_unpoisoned().write(end)
    }

    fn flush_loop(&self) {
        loop {
            let interval = self.live().flush_interval;
            let deadline = deadline_after(interval);
            let mut stop = self.flush_stop.lock_unpoisoned();
            while !*stop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                stop = self.flush_wake.wait_timeout_unpoisoned(stop, left);
            }
            if *stop {
                return;
            }
            drop(stop);
            if let Err(err) = self.flush_all() {
                log::error!("store flush failed: {err}");
            }
        }
    }
}

/// The most commit log segments one cleaning round deletes (`DELETE_FILES_BATCH_MAX`).
const DELETE_FILES_BATCH_MAX: usize = 10;

/// Whether a get has enough (`isTheBatchFull`, in-memory limits); never before the first
/// message.
fn is_batch_full(size: i32, max_msg_nums: i32, total_bytes: usize, count: usize) -> bool {
    if total_bytes == 0 || count == 0 {
        return false;
    }
    if i64::from(max_msg_nums) <= count as i64 {
        return true;
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    total_bytes.saturating_add(size) > MAX_TRANSFER_BYTES_ON_MESSAGE_IN_MEMORY
        || count >= MAX_TRANSFER_COUNT_ON_MESSAGE_IN_MEMORY
}

/// Writes the offsets and store time the store assigned into an encoded record.
fn patch_record(record: &mut [u8], queue_offset: i64, physical_offset: i64, store_timestamp: i64) {
    record[QUEUE_OFFSET_POSITION..QUEUE_OFFSET_POSITION + 8]
        .copy_from_slice(&queue_offset.to_be_bytes());
    record[PHYSICAL_OFFSET_POSITION..PHYSICAL_OFFSET_POSITION + 8]
        .copy_from_slice(&physical_offset.to_be_bytes());
    let mut sys_flag = [0u8; 4];
    sys_flag.copy_from_slice(&record[SYSFLAG_POSITION..SYSFLAG_POSITION + 4]);
    let at = store_timestamp_position(i32::from_be_bytes(sys_flag));
    record[at..at + 8].copy_from_slice(&store_timestamp.to_be_bytes());
}

/// A topic must be non-empty, at most 127 bytes, and usable as a directory name.
fn check_topic(topic: &str) -> Result<(), StoreError> {
    let reason = if topic.is_empty() {
        "the topic is empty".to_string()
    } else if topic.len() > MAX_TOPIC_LENGTH {
        format!(
            "the topic is {} bytes, more than {MAX_TOPIC_LENGTH}",
            topic.len()
        )
    } else if topic == "." || topic == ".." || topic.contains(['/', '\\', '\0']) {
        format!("the topic {topic:?} is not a valid directory name")
    } else {
        return Ok(());
    };
    Err(StoreError::MessageIllegal { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_full_follows_java() {
        // Never full before the first message, whatever its size.
        assert!(!is_batch_full(10_000_000, 1, 0, 0));
        assert!(is_batch_full(100, 1, 100, 1));
        assert!(!is_batch_full(100, 2, 100, 1));
        // Zero or negative max still lets one message through.
        assert!(is_batch_full(100, 0, 100, 1));
        assert!(is_batch_full(100, -5, 100, 1));
        // Byte and count caps.
        assert!(is_batch_full(200 * 1024, 64, 100 * 1024, 1));
        assert!(!is_batch_full(100 * 1024, 64, 100 * 1024, 1));
        assert!(is_batch_full(10, 64, 3200, 32));
        assert!(!is_batch_full(10, 64, 3100, 31));
    }

    #[test]
    fn the_store_is_send_and_sync_and_joins_its_named_flush_thread() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<MessageStore>();
        let tmp = crate::broker::store::tests::TempDir::new("flush-thread-name");
        let config = StoreConfig::new(tmp.path());
        assert_eq!(config.flush_interval, Duration::from_millis(500));
        assert_eq!(config.commit_log_segment_size, 64 * 1024 * 1024);
        assert_eq!(config.flush_disk_type, FlushDiskType::AsyncFlush);
        let store = MessageStore::open(config).unwrap();
        let name = store
            .flush_thread
            .lock_unpoisoned()
            .as_ref()
            .and_then(|h| h.thread().name().map(str::to_string));
        assert_eq!(name.as_deref(), Some("rmq-store-flush"));
        store.shutdown();
        assert!(store.flush_thread.lock_unpoisoned().is_none());
        assert!(matches!(
            store.put_message(MessageExt {
                topic: "T".to_string(),
                ..MessageExt::default()
            }),
            Err(StoreError::Shutdown)
        ));
        // Reads still work after shutdown.
        assert_eq!(
            store.get_message("T", 0, 0, 1, None).status,
            GetMessageStatus::NoMatchedLogicQueue
        );
    }

    #[test]
    fn topics_are_checked() {
        assert!(check_topic("TopicTest").is_ok());
        assert!(check_topic("%RETRY%group").is_ok());
        assert!(check_topic(&"t".repeat(127)).is_ok());
        for bad in ["", ".", "..", "a/b", "a\0b", &"t".repeat(128)] {
            assert!(
                matches!(check_topic(bad), Err(StoreError::MessageIllegal { .. })),
                "{bad:?}"
            );
        }
    }
}
