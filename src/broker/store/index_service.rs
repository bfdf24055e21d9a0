//! The message key index: finds messages by `KEYS` and by unique id (`UNIQ_KEY`); mirrors
//! Java's `IndexService` over [`IndexFile`]s, with the records indexed by a background thread
//! as Java's `ReputMessageService` dispatches them.
//!
//! Every stored record (except rolled-back transaction records) is indexed under
//! `topic#UNIQ_KEY` and `topic#k` for each space-separated `k` of its `KEYS`, by the key's
//! Java hash code (`abs(String.hashCode())`), with its commit log offset and store time:
//!
//! ```text
//! <store_dir>/index/<20 digits>  index files (Java's layout, see `index_file`), named by the
//!                                commit log offset of the first record each indexes
//! <store_dir>/index/checkpoint   i64: the commit log offset below which every record is
//!                                indexed and every index file fsynced
//! ```
//!
//! Memory does not grow with the store: the service keeps each file's 40-byte header and its
//! open file; slots and entries are read with `pread` when a query asks.
//!
//! **Indexing.** The `rmq-store-index` thread reads the records past what is indexed from
//! the commit log and adds their keys to the newest file, starting a new file when it is full.
//! A query first indexes whatever is still missing, so it sees every message stored before it.
//!
//! **Recovery.** After a clean shutdown the checkpoint is the end of the log and the files are
//! used as they are. Otherwise the newest file may hold entries the checkpoint does not
//! cover, linked from its slots: it is deleted and its records indexed again from the log.
//! Entries pointing at records a crash cut from the log can remain in older files; a query
//! compares the keys and store time of the records it reads, so they never match another
//! message, and unlike Java's (hash-only) index it never returns another key's message.
//!
//! **Deletion.** Files whose last record lies below the commit log's first offset are deleted,
//! oldest first, never the newest (`deleteExpiredFile`).

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::commit_log::CommitLog;
use super::error::StoreError;
use super::files::{numbered_files, sync_dir};
use super::index_file::{IndexFile, IndexLayout};
use crate::common::sync::MutexExt;
use crate::protocol::message::message_const::{
    PROPERTY_KEYS, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::protocol::message::sys_flag::{transaction_value, TRANSACTION_ROLLBACK_TYPE};
use crate::protocol::message::{decode_message, MessageProperties};
use crate::protocol::util_all::java_string_hash_code;

/// The most messages one query returns (`maxMsgsNumBatch`, 64).
pub(super) const MAX_MSGS_NUM_BATCH: usize = 64;

/// Records indexed per turn of the index thread before it lets a query in.
const DISPATCH_BATCH: usize = 4096;

/// Bytes of the commit log read at once for indexing.
const READ_CHUNK: usize = 256 * 1024;

/// The slot a key falls in: Java's `indexKeyHashMethod` (`abs(hashCode)`, 0 on overflow).
fn key_hash(topic: &str, key: &str) -> i32 {
    let mut joined = String::with_capacity(topic.len() + 1 + key.len());
    joined.push_str(topic);
    joined.push('#');
    joined.push_str(key);
    java_string_hash_code(&joined).checked_abs().unwrap_or(0)
}

/// The keys a record is indexed under: its unique id and each of its `KEYS`.
pub(crate) fn index_keys(properties: &MessageProperties) -> Vec<&str> {
    let mut keys = Vec::new();
    if let Some(uniq) = properties.get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) {
        if !uniq.is_empty() {
            keys.push(uniq);
        }
    }
    if let Some(list) = properties.get(PROPERTY_KEYS) {
        keys.extend(list.split(' ').filter(|k| !k.is_empty()));
    }
    keys
}

/// Whether a record with `sys_flag` is indexed (Java skips rolled-back transaction records).
pub(crate) fn is_key_indexed(sys_flag: i32) -> bool {
    transaction_value(sys_flag) != TRANSACTION_ROLLBACK_TYPE
}

struct IndexState {
    /// Oldest first; the last one takes new entries.
    files: Vec<IndexFile>,
    /// The end of the last record indexed.
    indexed_to: i64,
    /// An entry could not be written: the checkpoint no longer moves, and the next open
    /// indexes the rest again.
    failed: bool,
}

/// The key index of one store.
pub(crate) struct IndexService {
    dir: PathBuf,
    checkpoint_path: PathBuf,
    layout: IndexLayout,
    state: Mutex<IndexState>,
}

/// What a query found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct QueryOffsetResult {
    /// Commit log offsets of the matching records, ascending.
    pub commit_log_offsets: Vec<i64>,
    /// Store time of the newest indexed entry (`indexLastUpdateTimestamp`).
    pub index_last_update_timestamp: i64,
    /// Commit log offset of the newest indexed entry (`indexLastUpdatePhyoffset`).
    pub index_last_update_phy_offset: i64,
}

fn read_checkpoint(path: &Path) -> Result<Option<i64>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io_at("read", path, &e)),
    }
}

impl IndexService {
    /// Opens the index under `dir` as recovery leaves it (see the module docs); the records it
    /// lacks are indexed by [`IndexService::dispatch`].
    pub(crate) fn open(
        dir: &Path,
        commit_log: &CommitLog,
        layout: IndexLayout,
    ) -> Result<IndexService, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io_at("create", dir, &e))?;
        let checkpoint_path = dir.join("checkpoint");
        let log_start = commit_log.min_offset();
        let log_end = commit_log.max_offset();
        // The index of an earlier layout (one `entries` file) is replaced.
        let old = dir.join("entries");
        if old.exists() {
            fs::remove_file(&old).map_err(|e| StoreError::io_at("delete", &old, &e))?;
        }
        let checkpoint = read_checkpoint(&checkpoint_path)?.filter(|c| *c <= log_end);
        let mut files = Vec::new();
        for (start, path) in numbered_files(dir)? {
            match IndexFile::open(&path, start, layout)? {
                Some(file) => files.push(file),
                None => {
                    // Another layout, or a header from a later index: the files from here on
                    // are built again.
                    log::warn!("index file {} is unusable; rebuilding", path.display());
                    fs::remove_file(&path).map_err(|e| StoreError::io_at("delete", &path, &e))?;
                }
            }
        }
        let mut from = checkpoint.unwrap_or(log_start).max(log_start);
        if from < log_end || checkpoint.is_none() {
            // Not a clean shutdown: the newest file may link entries no header counts.
            if let Some(last) = files.pop() {
                log::info!(
                    "index: rebuilding {} from commit log offset {}",
                    last.path().display(),
                    last.start
                );
                from = from.min(last.start).max(log_start);
                last.destroy()?;
            } else if checkpoint.is_none() {
                from = log_start;
            }
            sync_dir(dir)?;
        }
        Ok(IndexService {
            dir: dir.to_path_buf(),
            checkpoint_path,
            layout,
            state: Mutex::new(IndexState {
                files,
                indexed_to: from,
                failed: false,
            }),
        })
    }

    /// Indexes the records of `commit_log` past what is indexed, up to its current end, a
    /// batch at a time (`doReput` for the index dispatcher). Returns how many records it read.
    pub(crate) fn dispatch(&self, commit_log: &CommitLog) -> usize {
        let mut total = 0;
        loop {
            let mut state = self.state.lock_unpoisoned();
            let end = commit_log.max_offset();
            if state.failed || state.indexed_to >= end {
                return total;
            }
            // A record below the log's first offset is gone (deleted while we were behind).
            let from = state.indexed_to.max(commit_log.min_offset());
            let indexed = self.index_chunk(&mut state, commit_log, from, end);
            let written = state
                .files
                .last_mut()
                .map_or(Ok(()), IndexFile::write_pending);
            match (indexed, written) {
                (Ok((at, done)), Ok(())) => {
                    state.indexed_to = at;
                    total += done;
                }
                (Err(err), _) | (_, Err(err)) => {
                    log::error!("index: {err}; indexing stops until restart");
                    state.failed = true;
                    return total;
                }
            }
        }
    }

    /// Indexes the records in one read of the commit log from `from` (up to `end`): where
    /// it got to, and how many records.
    fn index_chunk(
        &self,
        state: &mut IndexState,
        commit_log: &CommitLog,
        from: i64,
        end: i64,
    ) -> Result<(i64, usize), StoreError> {
        let chunk = commit_log
            .read_within_segment(from, READ_CHUNK)
            .ok_or_else(|| {
                StoreError::io(
                    format!("read the commit log at {from} for the index"),
                    &std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                )
            })?;
        let (mut pos, mut done) = (0usize, 0usize);
        while (from + pos as i64) < end && done < DISPATCH_BATCH {
            let Some(size) = chunk
                .get(pos..pos + 4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            else {
                break;
            };
            let size = usize::try_from(size).unwrap_or(0);
            let Some(record) = chunk.get(pos..pos + size).filter(|_| size >= 8) else {
                if pos == 0 {
                    // One record larger than the chunk: read it alone.
                    let record = commit_log.read_record(from).ok_or_else(|| {
                        StoreError::io(
                            format!("read the record at {from} for the index"),
                            &std::io::Error::from(std::io::ErrorKind::InvalidData),
                        )
                    })?;
                    self.build_index(state, &record, from)?;
                    return Ok((from + record.len() as i64, 1));
                }
                break;
            };
            self.build_index(state, record, from + pos as i64)?;
            pos += size;
            done += 1;
        }
        Ok((from + pos as i64, done))
    }

    /// Indexes one record (`buildIndex`).
    fn build_index(
        &self,
        state: &mut IndexState,
        record: &[u8],
        offset: i64,
    ) -> Result<(), StoreError> {
        let Ok((message, _)) = decode_message(record, false) else {
            return Ok(());
        };
        if !is_key_indexed(message.sys_flag) {
            return Ok(());
        }
        for key in index_keys(&message.properties) {
            let hash = key_hash(&message.topic, key);
            let file = self.writable_file(state, offset)?;
            if !file.put_key(hash, offset, message.store_timestamp)? {
                // Full after all (cannot happen: writable_file rolls a full file).
                continue;
            }
        }
        Ok(())
    }

    /// The newest file, or a new one when there is none or it is full (`getAndCreateLastIndexFile`).
    fn writable_file<'a>(
        &self,
        state: &'a mut IndexState,
        offset: i64,
    ) -> Result<&'a mut IndexFile, StoreError> {
        let roll = state.files.last().is_none_or(IndexFile::is_full);
        if roll {
            // A full file is complete: make it durable before its successor takes entries.
            if let Some(full) = state.files.last_mut() {
                full.flush()?;
            }
            let file = IndexFile::create(&self.dir, offset, self.layout)?;
            sync_dir(&self.dir)?;
            log::info!("new index file {}", file.path().display());
            state.files.push(file);
        }
        state
            .files
            .last_mut()
            .ok_or_else(|| StoreError::io("index", &std::io::Error::other("no index file")))
    }

    /// Writes the headers and fsyncs the newest file, then moves the checkpoint to what is
    /// indexed, at most to `durable_end` (where the commit log is fsynced).
    pub(crate) fn flush(&self, durable_end: i64) -> Result<(), StoreError> {
        let covered = {
            let mut state = self.state.lock_unpoisoned();
            if let Some(last) = state.files.last_mut() {
                last.flush()?;
            }
            if state.failed {
                return Ok(());
            }
            state.indexed_to.min(durable_end)
        };
        let tmp = self.checkpoint_path.with_extension("tmp");
        let file = File::create(&tmp).map_err(|e| StoreError::io_at("create", &tmp, &e))?;
        file.write_all_at(&covered.to_be_bytes(), 0)
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io_at("write", &tmp, &e))?;
        fs::rename(&tmp, &self.checkpoint_path)
            .map_err(|e| StoreError::io_at("rename", &self.checkpoint_path, &e))
    }

    /// Deletes the files whose every entry points below `min_phy_offset`, never the newest
    /// (`deleteExpiredFile`). Returns the files deleted and the bytes freed.
    pub(crate) fn delete_expired(&self, min_phy_offset: i64) -> Result<(usize, u64), StoreError> {
        let (mut freed, mut count) = (0, 0);
        let mut state = self.state.lock_unpoisoned();
        while state.files.len() > 1 && state.files[0].header().end_phy_offset < min_phy_offset {
            let file = state.files.remove(0);
            let size = file_blocks(file.path());
            let path = file.path().display().to_string();
            file.destroy()?;
            log::info!("deleted index file {path} ({size} bytes)");
            freed += size;
            count += 1;
        }
        drop(state);
        if count > 0 {
            sync_dir(&self.dir)?;
        }
        Ok((count, freed))
    }

    /// The commit log offsets of up to `max_num` records indexed under `topic#key` stored
    /// within `[begin, end]` ms, newest first when there are more, then sorted ascending
    /// (`queryOffset`). `matches` checks a candidate's record: the key itself (hashes
    /// collide), and that it is still there.
    pub(crate) fn query_offset(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
        mut matches: impl FnMut(i64) -> bool,
    ) -> QueryOffsetResult {
        let max = max_num.min(MAX_MSGS_NUM_BATCH);
        let hash = key_hash(topic, key);
        let mut offsets = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let state = self.state.lock_unpoisoned();
        let last_update = state.files.last().map_or((0, 0), |f| {
            let h = f.header();
            (h.end_timestamp, h.end_phy_offset)
        });
        for file in state.files.iter().rev() {
            if offsets.len() >= max {
                break;
            }
            if !file.is_time_matched(begin, end) {
                continue;
            }
            let walked = file.visit_phy_offsets(hash, begin, end, |offset| {
                if seen.insert(offset) && matches(offset) {
                    offsets.push(offset);
                }
                offsets.len() < max
            });
            if let Err(e) = walked {
                log::warn!("reading {}: {e}", file.path().display());
            }
        }
        drop(state);
        offsets.sort_unstable();
        QueryOffsetResult {
            commit_log_offsets: offsets,
            index_last_update_timestamp: last_update.0,
            index_last_update_phy_offset: last_update.1,
        }
    }
}

/// The bytes a (sparse) file occupies on disk.
pub(super) fn file_blocks(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).map_or(0, |m| m.blocks() * 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_unique_id_and_each_key() {
        let mut p = MessageProperties::new();
        p.insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "ID1");
        p.insert(PROPERTY_KEYS, "a  b");
        assert_eq!(index_keys(&p), ["ID1", "a", "b"]);
        assert_eq!(index_keys(&MessageProperties::new()), Vec::<&str>::new());
    }

    #[test]
    fn hashes_are_javas_absolute_hash_codes() {
        // "T#k".hashCode() = (84 * 31 + 35) * 31 + 107 in Java.
        assert_eq!(key_hash("T", "k"), 81_916);
        assert!(key_hash("polygenelubricants", "x") >= 0);
    }

    #[test]
    fn rolled_back_records_are_not_indexed() {
        use crate::protocol::message::sys_flag::{
            TRANSACTION_COMMIT_TYPE, TRANSACTION_PREPARED_TYPE,
        };
        assert!(is_key_indexed(0));
        assert!(is_key_indexed(TRANSACTION_PREPARED_TYPE));
        assert!(is_key_indexed(TRANSACTION_COMMIT_TYPE));
        assert!(!is_key_indexed(TRANSACTION_ROLLBACK_TYPE));
    }
}
