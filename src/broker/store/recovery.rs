//! Recovery on open: cut the commit log after its last valid record and make the consume
//! queues index exactly the surviving records (Java's `recoverNormally` /
//! `recoverAbnormally` plus the re-dispatch of `ReputMessageService`).
//!
//! The scan starts at the checkpoint `C` (below which everything was fsynced) and replays each
//! valid record into its queue using the queue offset written in the record: an existing entry
//! is checked (and the queue cut there if it differs), a missing one appended. Afterwards the
//! queues lose any entry beyond what the replay confirmed. If a queue lacks entries below the
//! first record replayed into it, it cannot be repaired from `C`, and the replay starts again
//! at the beginning of the log, where a gap is filled with blank entries (Java's
//! `fillPreBlank`).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::sync::Arc;

use super::commit_log::{CommitLog, DispatchRecord};
use super::consume_queue::{ConsumeQueue, CqEntry};
use super::error::StoreError;
use crate::protocol::message::sys_flag::{
    transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE,
};

/// The consume queues by topic and queue id.
pub(crate) type QueueTable = HashMap<String, BTreeMap<i32, Arc<ConsumeQueue>>>;

/// Entries read at once when checking a queue against the log.
const VERIFY_BLOCK: usize = 4096;

/// Whether a record with `sys_flag` goes into a consume queue: prepared and rolled-back
/// transaction records do not (`CommitLogDispatcherBuildConsumeQueue`).
pub(crate) fn is_indexed(sys_flag: i32) -> bool {
    matches!(
        transaction_value(sys_flag),
        TRANSACTION_NOT_TYPE | TRANSACTION_COMMIT_TYPE
    )
}

/// Loads every queue under `root` (`<root>/<topic>/<queueId>/`).
pub(crate) fn load_queues(
    root: &Path,
    entries_per_file: i64,
    min_phy_offset: i64,
) -> Result<QueueTable, StoreError> {
    let mut table = QueueTable::new();
    let topics = fs::read_dir(root).map_err(|e| StoreError::io_at("list", root, &e))?;
    for topic_entry in topics {
        let topic_entry = topic_entry.map_err(|e| StoreError::io_at("list", root, &e))?;
        let topic_dir = topic_entry.path();
        let Some(topic) = topic_entry.file_name().to_str().map(str::to_string) else {
            log::warn!("ignoring {} in the store", topic_dir.display());
            continue;
        };
        if !topic_dir.is_dir() {
            log::warn!("ignoring {} in the store", topic_dir.display());
            continue;
        }
        let queues =
            fs::read_dir(&topic_dir).map_err(|e| StoreError::io_at("list", &topic_dir, &e))?;
        for queue_entry in queues {
            let queue_entry = queue_entry.map_err(|e| StoreError::io_at("list", &topic_dir, &e))?;
            let dir = queue_entry.path();
            let queue_id = queue_entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<i32>().ok())
                .filter(|id| *id >= 0 && dir.is_dir());
            let Some(queue_id) = queue_id else {
                log::warn!("ignoring {} in the store", dir.display());
                continue;
            };
            let queue =
                ConsumeQueue::load(&dir, &topic, queue_id, entries_per_file, min_phy_offset)?;
            table
                .entry(topic.clone())
                .or_default()
                .insert(queue_id, Arc::new(queue));
        }
    }
    Ok(table)
}

/// Recovers the store: returns the consume queues, with the commit log cut and its end set.
pub(crate) fn recover(
    commit_log: &CommitLog,
    queue_root: &Path,
    checkpoint: Option<i64>,
    entries_per_file: i64,
) -> Result<QueueTable, StoreError> {
    let log_start = commit_log.min_offset();
    let mut queues = load_queues(queue_root, entries_per_file, log_start)?;
    let mut from = match checkpoint {
        Some(c) if commit_log.check_start(c)? => c,
        Some(c) => {
            log::warn!("checkpoint {c} lies outside the commit log; scanning all of it");
            log_start
        }
        None => log_start,
    };
    loop {
        let mut replay = Replay {
            root: queue_root,
            queues: &mut queues,
            fill_gaps: from == log_start,
            entries_per_file,
            confirmed: HashMap::new(),
            cache: HashMap::new(),
        };
        match commit_log.scan(from, |record| replay.dispatch(record))? {
            Some(end) => {
                let confirmed = replay.confirmed;
                commit_log.truncate_to(end)?;
                cut_unconfirmed(&queues, &confirmed, from)?;
                log::info!(
                    "store recovered: commit log {}..{}, scanned from {from}, {} queues",
                    log_start,
                    end.end,
                    queues.values().map(BTreeMap::len).sum::<usize>()
                );
                return Ok(queues);
            }
            None => {
                log::warn!(
                    "consume queues cannot be repaired from offset {from}; replaying the whole \
                     commit log"
                );
                from = log_start;
            }
        }
    }
}

/// Cuts what the replay did not confirm: a replayed queue ends at its last replayed record; any
/// other queue loses trailing entries that point at or past `from` (no record there is its).
fn cut_unconfirmed(
    queues: &QueueTable,
    confirmed: &HashMap<(String, i32), i64>,
    from: i64,
) -> Result<(), StoreError> {
    for (topic, by_id) in queues {
        for (queue_id, queue) in by_id {
            let keep = match confirmed.get(&(topic.clone(), *queue_id)) {
                Some(len) => *len,
                None => queue.trailing_start(|e| {
                    !e.is_valid() || e.is_blank() || e.commit_log_offset >= from
                }),
            };
            if queue.max_offset() > keep {
                log::warn!(
                    "consume queue {topic}:{queue_id}: cutting entries {keep}..{} that index no \
                     surviving record",
                    queue.max_offset()
                );
                queue.truncate(keep)?;
            }
        }
    }
    Ok(())
}

/// Replays records into the consume queues.
struct Replay<'a> {
    root: &'a Path,
    queues: &'a mut QueueTable,
    /// Fill a missing stretch with blank entries instead of giving up (scan from log start).
    fill_gaps: bool,
    entries_per_file: i64,
    /// Per replayed queue: the length confirmed so far.
    confirmed: HashMap<(String, i32), i64>,
    /// Per queue: a block of entries read ahead while checking.
    cache: HashMap<(String, i32), (i64, Vec<CqEntry>)>,
}

impl Replay<'_> {
    fn queue(&mut self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(queue) = self.queues.get(topic).and_then(|q| q.get(&queue_id)) {
            return Ok(Arc::clone(queue));
        }
        let queue = Arc::new(ConsumeQueue::create(
            self.root,
            topic,
            queue_id,
            self.entries_per_file,
        )?);
        self.queues
            .entry(topic.to_string())
            .or_default()
            .insert(queue_id, Arc::clone(&queue));
        Ok(queue)
    }

    fn existing_entry(
        &mut self,
        key: &(String, i32),
        queue: &ConsumeQueue,
        index: i64,
    ) -> Option<CqEntry> {
        if let Some((start, block)) = self.cache.get(key) {
            if index >= *start {
                if let Some(entry) = block.get((index - start) as usize) {
                    return Some(*entry);
                }
            }
        }
        let block = queue.read_entries(index, VERIFY_BLOCK).ok()?;
        let entry = block.first().copied();
        self.cache.insert(key.clone(), (index, block));
        entry
    }

    /// Puts one record into its queue; `Ok(false)` when the queue misses entries before it
    /// and gaps may not be filled.
    fn dispatch(&mut self, record: &DispatchRecord) -> Result<bool, StoreError> {
        if !is_indexed(record.sys_flag) || record.queue_offset < 0 || record.queue_id < 0 {
            return Ok(true);
        }
        let key = (record.topic.clone(), record.queue_id);
        let queue = self.queue(&record.topic, record.queue_id)?;
        let expected = CqEntry {
            commit_log_offset: record.commit_log_offset,
            size: record.size,
            tags_code: record.tags_code,
        };
        let index = record.queue_offset;
        // A queue whose files were all removed starts again where its records are.
        queue.start_at(index);
        if queue.first_file_offset().is_some_and(|first| index < first) {
            // Its entry was in a file retention deleted (a crash between deleting a segment and
            // the consume queue files behind it leaves such records): nothing to check.
            return Ok(true);
        }
        let len = queue.max_offset();
        if index < len {
            if self.existing_entry(&key, &queue, index) != Some(expected) {
                log::warn!(
                    "consume queue {}:{}: entry {index} does not index commit log offset {}; \
                     rebuilding from there",
                    record.topic,
                    record.queue_id,
                    record.commit_log_offset
                );
                self.cache.remove(&key);
                queue.truncate(index)?;
                queue.append(&[expected])?;
            }
        } else if index == len {
            queue.append(&[expected])?;
        } else if self.fill_gaps {
            log::warn!(
                "consume queue {}:{}: entries {len}..{index} have no records; filling blanks",
                record.topic,
                record.queue_id
            );
            queue.fill_blanks_to(index)?;
            queue.append(&[expected])?;
        } else {
            return Ok(false);
        }
        self.confirmed.insert(key, index + 1);
        Ok(true)
    }
}
