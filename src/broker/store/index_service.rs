//! The message key index: finds messages by `KEYS` and by unique id (`UNIQ_KEY`); mirrors
//! what Java's `IndexService` answers, with a simpler layout.
//!
//! Every stored record (except rolled-back transaction records) is indexed under
//! `topic#UNIQ_KEY` and `topic#k` for each space-separated `k` of its `KEYS`, by the key's
//! Java hash code (`abs(String.hashCode())`, as Java's index slots), with its commit log
//! offset and store time. The entries live in memory, by hash, and in one append-only file:
//!
//! ```text
//! <store_dir>/index/entries      20 bytes per entry: i32 key hash | i64 commit log offset |
//!                                i64 store timestamp (ms), in commit log order
//! <store_dir>/index/checkpoint   i64: the commit log offset below which every record is
//!                                indexed and the entries are fsynced
//! ```
//!
//! On open the entries below the checkpoint are loaded, the rest of the file is cut, and the
//! records from the checkpoint to the end of the commit log are indexed again: the index is
//! rebuilt from the log after a crash. A query compares the keys of the records it reads, so
//! unlike Java's (hash-only) index it never returns another key's message.
//!
//! Memory: about 40 bytes per indexed key (Java keeps its index in 400 MiB files instead).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::commit_log::CommitLog;
use super::error::StoreError;
use crate::common::sync::MutexExt;
use crate::protocol::message::message_const::{
    PROPERTY_KEYS, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::protocol::message::sys_flag::{transaction_value, TRANSACTION_ROLLBACK_TYPE};
use crate::protocol::message::{decode_message, MessageExt, MessageProperties};
use crate::protocol::util_all::java_string_hash_code;

/// Bytes per entry in the entries file.
const ENTRY_SIZE: usize = 20;

/// The most messages one query returns (`maxMsgsNumBatch`, 64).
pub(super) const MAX_MSGS_NUM_BATCH: usize = 64;

/// One indexed key of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexEntry {
    commit_log_offset: i64,
    store_timestamp: i64,
}

/// The slot a key falls in: Java's `indexKeyHashMethod` (`abs(hashCode)`, 0 on overflow).
fn key_hash(topic: &str, key: &str) -> i32 {
    java_string_hash_code(&format!("{topic}#{key}"))
        .checked_abs()
        .unwrap_or(0)
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
    by_hash: HashMap<i32, Vec<IndexEntry>>,
    file: BufWriter<File>,
    /// The end of the last record indexed (entries written, maybe not yet fsynced).
    indexed_to: i64,
    /// An entry could not be written: the checkpoint no longer moves.
    failed: bool,
    /// Store time and commit log offset of the last entry (the query response header).
    last_update: (i64, i64),
}

/// The key index of one store.
pub(crate) struct IndexService {
    checkpoint_path: PathBuf,
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
    /// Opens the index under `dir`, loads it, and indexes the records of `commit_log` it
    /// lacks.
    pub(crate) fn open(dir: &Path, commit_log: &CommitLog) -> Result<IndexService, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io_at("create", dir, &e))?;
        let entries_path = dir.join("entries");
        let checkpoint_path = dir.join("checkpoint");
        let log_start = commit_log.min_offset();
        let log_end = commit_log.max_offset();
        let checkpoint = read_checkpoint(&checkpoint_path)?
            .filter(|c| (log_start..=log_end).contains(c))
            .unwrap_or(log_start);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&entries_path)
            .map_err(|e| StoreError::io_at("open", &entries_path, &e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| StoreError::io_at("read", &entries_path, &e))?;
        let mut by_hash: HashMap<i32, Vec<IndexEntry>> = HashMap::new();
        let mut kept = 0usize;
        let mut last_update = (0, 0);
        for chunk in bytes.chunks_exact(ENTRY_SIZE) {
            let field = |range: std::ops::Range<usize>| {
                let mut b = [0u8; 8];
                b[8 - range.len()..].copy_from_slice(&chunk[range]);
                i64::from_be_bytes(b)
            };
            let (hash, offset, timestamp) = (field(0..4) as i32, field(4..12), field(12..20));
            // Entries are in log order: the first one at or past the checkpoint starts what
            // is indexed again.
            if offset >= checkpoint {
                break;
            }
            kept += ENTRY_SIZE;
            by_hash.entry(hash).or_default().push(IndexEntry {
                commit_log_offset: offset,
                store_timestamp: timestamp,
            });
            last_update = (timestamp, offset);
        }
        file.set_len(kept as u64)
            .map_err(|e| StoreError::io_at("truncate", &entries_path, &e))?;
        let mut writer = BufWriter::new(file);
        // BufWriter appends at the file's cursor: put it at the new end.
        writer
            .get_mut()
            .seek(SeekFrom::Start(kept as u64))
            .map_err(|e| StoreError::io_at("seek", &entries_path, &e))?;
        let service = IndexService {
            checkpoint_path,
            state: Mutex::new(IndexState {
                by_hash,
                file: writer,
                indexed_to: checkpoint,
                failed: false,
                last_update,
            }),
        };
        let mut rebuilt = 0usize;
        commit_log.scan(checkpoint, |record| {
            if let Some(bytes) = commit_log.read_record(record.commit_log_offset) {
                if let Ok((message, _)) = decode_message(&bytes, false) {
                    service.build_index(&message)?;
                    rebuilt += 1;
                }
            }
            Ok(true)
        })?;
        service.state.lock_unpoisoned().indexed_to = log_end;
        if rebuilt > 0 {
            log::info!("index: {rebuilt} record(s) after offset {checkpoint} indexed again");
        }
        service.flush()?;
        Ok(service)
    }

    /// Indexes one stored record (its offsets and store time set).
    pub(crate) fn build_index(&self, message: &MessageExt) -> Result<(), StoreError> {
        if !is_key_indexed(message.sys_flag) {
            return Ok(());
        }
        let keys: Vec<String> = index_keys(&message.properties)
            .into_iter()
            .map(str::to_string)
            .collect();
        self.add(
            &message.topic,
            &keys,
            message.commit_log_offset,
            message.store_timestamp,
        )
    }

    /// Indexes the record at `commit_log_offset` under each of `keys`.
    pub(crate) fn add(
        &self,
        topic: &str,
        keys: &[String],
        commit_log_offset: i64,
        store_timestamp: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.state.lock_unpoisoned();
        for key in keys {
            let hash = key_hash(topic, key);
            let mut entry = [0u8; ENTRY_SIZE];
            entry[0..4].copy_from_slice(&hash.to_be_bytes());
            entry[4..12].copy_from_slice(&commit_log_offset.to_be_bytes());
            entry[12..20].copy_from_slice(&store_timestamp.to_be_bytes());
            if let Err(e) = state.file.write_all(&entry) {
                // The checkpoint stays where it is: the next open indexes the rest again.
                state.failed = true;
                return Err(StoreError::io("write the index", &e));
            }
            state.by_hash.entry(hash).or_default().push(IndexEntry {
                commit_log_offset,
                store_timestamp,
            });
            state.last_update = (store_timestamp, commit_log_offset);
        }
        Ok(())
    }

    /// Notes that every record before `end` is indexed.
    pub(crate) fn indexed_to(&self, end: i64) {
        let mut state = self.state.lock_unpoisoned();
        state.indexed_to = state.indexed_to.max(end);
    }

    /// Writes and fsyncs the entries, then moves the checkpoint to what they cover.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let covered = {
            let mut state = self.state.lock_unpoisoned();
            state
                .file
                .flush()
                .map_err(|e| StoreError::io("write the index", &e))?;
            state
                .file
                .get_ref()
                .sync_data()
                .map_err(|e| StoreError::io("fsync the index", &e))?;
            if state.failed {
                return Ok(());
            }
            state.indexed_to
        };
        let tmp = self.checkpoint_path.with_extension("tmp");
        let file = File::create(&tmp).map_err(|e| StoreError::io_at("create", &tmp, &e))?;
        file.write_all_at(&covered.to_be_bytes(), 0)
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io_at("write", &tmp, &e))?;
        fs::rename(&tmp, &self.checkpoint_path)
            .map_err(|e| StoreError::io_at("rename", &self.checkpoint_path, &e))
    }

    /// The commit log offsets of up to `max_num` records indexed under `topic#key` stored
    /// within `[begin, end]` ms, newest first when there are more, then sorted ascending
    /// (`queryOffset`). `matches` checks a candidate's record (hash collisions).
    pub(crate) fn query_offset(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
        mut matches: impl FnMut(i64) -> bool,
    ) -> QueryOffsetResult {
        let (candidates, last_update) = {
            let state = self.state.lock_unpoisoned();
            let candidates: Vec<i64> = state
                .by_hash
                .get(&key_hash(topic, key))
                .map(|entries| {
                    entries
                        .iter()
                        .rev()
                        .filter(|e| (begin..=end).contains(&e.store_timestamp))
                        .map(|e| e.commit_log_offset)
                        .collect()
                })
                .unwrap_or_default();
            (candidates, state.last_update)
        };
        let mut offsets = Vec::new();
        for offset in candidates {
            if offsets.len() >= max_num.min(MAX_MSGS_NUM_BATCH) {
                break;
            }
            if !offsets.contains(&offset) && matches(offset) {
                offsets.push(offset);
            }
        }
        offsets.sort_unstable();
        QueryOffsetResult {
            commit_log_offsets: offsets,
            index_last_update_timestamp: last_update.0,
            index_last_update_phy_offset: last_update.1,
        }
    }
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
