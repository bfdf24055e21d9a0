//! `ConsumeQueue`: the index of one queue of one topic, mirroring Java's `ConsumeQueue`.
//!
//! Entry `n` (the message at queue offset `n`) is 20 bytes at byte `n * 20` of the queue:
//! `i64 commit log offset | i32 record size | i64 tags hash code`. The queue is split into
//! files of [`CQ_ENTRIES_PER_FILE`] entries, named (as in Java) by their first byte offset in
//! 20 digits. Files are written with `pwrite` and read with `pread`; no entry is kept in memory.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::error::StoreError;
use super::files::{create_file, numbered_files, open_file, sync_dir};
use crate::common::sync::{MutexExt, RwLockExt};
use crate::protocol::message::message_const;
use crate::protocol::message::MessageProperties;

/// Bytes per entry (`CQ_STORE_UNIT_SIZE`).
pub(super) const CQ_STORE_UNIT_SIZE: usize = 20;
/// Entries per consume queue file (`mappedFileSizeConsumeQueue / 20`, 300,000).
pub(super) const CQ_ENTRIES_PER_FILE: i64 = 300_000;
/// The size field of a filler entry that stands for no message (Java's `fillPreBlank`).
pub(crate) const BLANK_ENTRY_SIZE: i32 = i32::MAX;

pub(super) use crate::protocol::util_all::java_string_hash_code;

/// The tags code a consume queue entry holds for a message with tags `tags`
/// (`MessageExtBrokerInner.tagsString2tagsCode`): the tags' Java hash code, 0 when empty.
pub(crate) fn tags_string_to_tags_code(tags: &str) -> i64 {
    if tags.is_empty() {
        0
    } else {
        i64::from(java_string_hash_code(tags))
    }
}

/// The tags code of a message with `properties` (0 without a `TAGS` property).
pub(crate) fn tags_code_of(properties: &MessageProperties) -> i64 {
    properties
        .get(message_const::PROPERTY_TAGS)
        .map_or(0, tags_string_to_tags_code)
}

/// One consume queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CqEntry {
    /// Where the record starts in the commit log.
    pub commit_log_offset: i64,
    /// The record's size.
    pub size: i32,
    /// The tags hash code.
    pub tags_code: i64,
}

impl CqEntry {
    /// A filler entry (`fillPreBlank`): offset 0, size `i32::MAX`, tags 0.
    pub(crate) fn blank() -> Self {
        CqEntry {
            commit_log_offset: 0,
            size: BLANK_ENTRY_SIZE,
            tags_code: 0,
        }
    }

    /// Whether this is a filler entry.
    pub(crate) fn is_blank(&self) -> bool {
        self.size == BLANK_ENTRY_SIZE
    }

    /// Whether the entry could index a record at all (Java's recovery test).
    pub(crate) fn is_valid(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }

    /// The 20 bytes of the entry.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.commit_log_offset.to_be_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.tags_code.to_be_bytes());
    }

    /// The entry in 20 bytes.
    pub(crate) fn decode(bytes: &[u8]) -> CqEntry {
        let mut offset = [0u8; 8];
        let mut size = [0u8; 4];
        let mut tags = [0u8; 8];
        offset.copy_from_slice(&bytes[..8]);
        size.copy_from_slice(&bytes[8..12]);
        tags.copy_from_slice(&bytes[12..20]);
        CqEntry {
            commit_log_offset: i64::from_be_bytes(offset),
            size: i32::from_be_bytes(size),
            tags_code: i64::from_be_bytes(tags),
        }
    }
}

/// One file of a consume queue.
struct CqFile {
    /// The queue offset of its first entry.
    first: i64,
    path: PathBuf,
    file: File,
}

/// The index of one queue; mirrors Java's `ConsumeQueue`.
///
/// Appends happen under the store's put lock (or during recovery); reads need no lock beyond
/// a short read lock on the file list.
pub(crate) struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    dir: PathBuf,
    entries_per_file: i64,
    files: RwLock<Vec<Arc<CqFile>>>,
    /// The next queue offset to be written; entries below it are fully written.
    max_offset: AtomicI64,
    /// The first queue offset that indexes a message.
    min_offset: AtomicI64,
    /// Entries below this are fsynced.
    synced: Mutex<i64>,
}

fn file_name(first: i64) -> String {
    format!("{:020}", first * CQ_STORE_UNIT_SIZE as i64)
}

impl ConsumeQueue {
    /// A new, empty queue: creates its directory (and makes that durable).
    pub(crate) fn create(
        root: &Path,
        topic: &str,
        queue_id: i32,
        entries_per_file: i64,
    ) -> Result<ConsumeQueue, StoreError> {
        let topic_dir = root.join(topic);
        let dir = topic_dir.join(queue_id.to_string());
        let topic_existed = topic_dir.is_dir();
        fs::create_dir_all(&dir).map_err(|e| StoreError::io_at("create", &dir, &e))?;
        sync_dir(&topic_dir)?;
        if !topic_existed {
            sync_dir(root)?;
        }
        Ok(ConsumeQueue::with_files(
            topic,
            queue_id,
            dir,
            entries_per_file,
            Vec::new(),
        ))
    }

    fn with_files(
        topic: &str,
        queue_id: i32,
        dir: PathBuf,
        entries_per_file: i64,
        files: Vec<Arc<CqFile>>,
    ) -> ConsumeQueue {
        ConsumeQueue {
            topic: topic.to_string(),
            queue_id,
            dir,
            entries_per_file,
            files: RwLock::new(files),
            max_offset: AtomicI64::new(0),
            min_offset: AtomicI64::new(0),
            synced: Mutex::new(0),
        }
    }

    /// Opens the queue in `dir` as recovery finds it: a torn last entry is cut, and files after
    /// a gap are deleted (their entries are rebuilt from the commit log or were not durable).
    pub(crate) fn load(
        dir: &Path,
        topic: &str,
        queue_id: i32,
        entries_per_file: i64,
        min_phy_offset: i64,
    ) -> Result<ConsumeQueue, StoreError> {
        let mut files: Vec<Arc<CqFile>> = Vec::new();
        let mut expected: Option<i64> = None;
        let mut max = 0;
        for (byte_offset, path) in numbered_files(dir)? {
            let first = byte_offset / CQ_STORE_UNIT_SIZE as i64;
            let contiguous =
                byte_offset % CQ_STORE_UNIT_SIZE as i64 == 0 && expected.is_none_or(|e| e == first);
            if !contiguous {
                log::warn!(
                    "consume queue {topic}:{queue_id}: {} does not continue the queue, deleting it",
                    path.display()
                );
                fs::remove_file(&path).map_err(|e| StoreError::io_at("delete", &path, &e))?;
                continue;
            }
            let file = open_file(&path)?;
            let len = file
                .metadata()
                .map_err(|e| StoreError::io_at("stat", &path, &e))?
                .len();
            let entries = (len / CQ_STORE_UNIT_SIZE as u64) as i64;
            if len % CQ_STORE_UNIT_SIZE as u64 != 0 {
                log::warn!(
                    "consume queue {}: cutting a torn entry at byte {}",
                    path.display(),
                    entries * CQ_STORE_UNIT_SIZE as i64
                );
                file.set_len(entries as u64 * CQ_STORE_UNIT_SIZE as u64)
                    .map_err(|e| StoreError::io_at("truncate", &path, &e))?;
            }
            max = first + entries;
            expected = Some(max);
            files.push(Arc::new(CqFile { first, path, file }));
        }
        let queue =
            ConsumeQueue::with_files(topic, queue_id, dir.to_path_buf(), entries_per_file, files);
        queue.max_offset.store(max, Ordering::Release);
        let first = queue.files_snapshot().first().map_or(0, |f| f.first);
        queue.min_offset.store(first, Ordering::Release);
        *queue.lock_synced() = max;
        queue.correct_min_offset(min_phy_offset);
        Ok(queue)
    }

    fn lock_synced(&self) -> std::sync::MutexGuard<'_, i64> {
        self.synced.lock_unpoisoned()
    }

    fn files_snapshot(&self) -> Vec<Arc<CqFile>> {
        self.files.read_unpoisoned().clone()
    }

    /// Its topic and queue id.
    pub(crate) fn name(&self) -> (&str, i32) {
        (&self.topic, self.queue_id)
    }

    /// The next offset to be written (`getMaxOffsetInQueue`).
    pub(crate) fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    /// The first offset that indexes a message (`getMinOffsetInQueue`).
    pub(crate) fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    /// Moves the min offset past leading filler entries and entries whose record lies below
    /// `min_phy_offset`, the commit log's first offset (`correctMinOffset`).
    pub(crate) fn correct_min_offset(&self, min_phy_offset: i64) {
        let max = self.max_offset();
        let mut min = self
            .files_snapshot()
            .first()
            .map_or(max, |f| f.first)
            .min(max)
            .max(self.min_offset().min(max));
        while min < max {
            match self.read_entries(min, 1024) {
                Ok(entries) => {
                    let gone = entries
                        .iter()
                        .take_while(|e| e.is_blank() || e.commit_log_offset < min_phy_offset)
                        .count();
                    min += gone as i64;
                    if gone < entries.len() || entries.is_empty() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        self.min_offset.store(min, Ordering::Release);
    }

    /// Deletes the files whose every entry points below `min_phy_offset`, oldest first and
    /// never the last one (it holds the max offset), then corrects the min offset
    /// (`deleteExpiredFile`). Returns the paths deleted and the bytes they held.
    pub(crate) fn delete_expired(
        &self,
        min_phy_offset: i64,
    ) -> Result<Vec<(PathBuf, u64)>, StoreError> {
        let mut deleted = Vec::new();
        loop {
            let files = self.files_snapshot();
            let [first, _, ..] = files.as_slice() else {
                break;
            };
            let len = first
                .file
                .metadata()
                .map_err(|e| StoreError::io_at("stat", &first.path, &e))?
                .len();
            let entries = (len / CQ_STORE_UNIT_SIZE as u64) as i64;
            let last = match entries {
                0 => None,
                n => self
                    .read_entries(first.first + n - 1, 1)
                    .ok()
                    .and_then(|e| e.first().copied()),
            };
            let expired = last.is_none_or(|e| e.is_blank() || e.commit_log_offset < min_phy_offset);
            if !expired {
                break;
            }
            let mut list = self.files.write_unpoisoned();
            if list.first().is_some_and(|f| Arc::ptr_eq(f, first)) && list.len() > 1 {
                list.remove(0);
            }
            drop(list);
            fs::remove_file(&first.path)
                .map_err(|e| StoreError::io_at("delete", &first.path, &e))?;
            deleted.push((first.path.clone(), len));
        }
        if !deleted.is_empty() {
            sync_dir(&self.dir)?;
        }
        self.correct_min_offset(min_phy_offset);
        Ok(deleted)
    }

    /// The queue offset of the first entry its files hold.
    pub(crate) fn first_file_offset(&self) -> Option<i64> {
        self.files_snapshot().first().map(|f| f.first)
    }

    /// Starts an empty queue (no files) at `index`: its first record goes there. For a queue
    /// whose earlier files were all deleted, instead of filling millions of blanks.
    pub(crate) fn start_at(&self, index: i64) {
        if self.files_snapshot().is_empty() && self.max_offset() < index {
            self.max_offset.store(index, Ordering::Release);
            self.min_offset.store(index, Ordering::Release);
            *self.lock_synced() = index;
        }
    }

    /// Appends `entries` at the max offset, creating files as needed, then publishes them.
    /// On failure nothing is published and the files are cut back; if that fails too the
    /// answer is [`StoreError::NotWritable`].
    pub(crate) fn append(&self, entries: &[CqEntry]) -> Result<(), StoreError> {
        let end = self.write_entries(entries)?;
        self.publish(end);
        Ok(())
    }

    /// Makes the entries below `end` (written by [`ConsumeQueue::write_entries`]) visible.
    pub(crate) fn publish(&self, end: i64) {
        self.max_offset.store(end, Ordering::Release);
    }

    /// Writes `entries` at the max offset without publishing them: a put publishes its
    /// entries only after the commit log records they point at. Returns the new end. On
    /// failure the files are cut back (or the answer is [`StoreError::NotWritable`]).
    pub(crate) fn write_entries(&self, entries: &[CqEntry]) -> Result<i64, StoreError> {
        let start = self.max_offset();
        let mut bytes = Vec::with_capacity(entries.len() * CQ_STORE_UNIT_SIZE);
        for entry in entries {
            entry.encode_into(&mut bytes);
        }
        let mut index = start;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let result = self.file_for_append(index).and_then(|file| {
                let room = (file.first + self.entries_per_file - index) as usize;
                let n = room.min(rest.len() / CQ_STORE_UNIT_SIZE);
                let at = ((index - file.first) as usize * CQ_STORE_UNIT_SIZE) as u64;
                let chunk = &rest[..n * CQ_STORE_UNIT_SIZE];
                file.file
                    .write_all_at(chunk, at)
                    .map_err(|e| StoreError::io_at("write", &file.path, &e))?;
                Ok(n)
            });
            match result {
                Ok(n) => {
                    index += n as i64;
                    rest = &rest[n * CQ_STORE_UNIT_SIZE..];
                }
                Err(err) => {
                    log::error!("consume queue {}:{}: {err}", self.topic, self.queue_id);
                    return Err(match self.truncate(start) {
                        Ok(()) => err,
                        Err(undo) => StoreError::NotWritable {
                            reason: format!("{err}; undo failed: {undo}"),
                        },
                    });
                }
            }
        }
        Ok(index)
    }

    /// The file entry `index` goes into: the last file if it has room, else a new one.
    fn file_for_append(&self, index: i64) -> Result<Arc<CqFile>, StoreError> {
        if let Some(last) = self.files_snapshot().last() {
            if index >= last.first && index < last.first + self.entries_per_file {
                return Ok(Arc::clone(last));
            }
        }
        let path = self.dir.join(file_name(index));
        let file = create_file(&path)?;
        sync_dir(&self.dir)?;
        let file = Arc::new(CqFile {
            first: index,
            path,
            file,
        });
        self.files.write_unpoisoned().push(Arc::clone(&file));
        Ok(file)
    }

    /// Cuts the queue to `max` entries (recovery, or undoing a failed append): shortens the
    /// file holding the cut, deletes the files after it.
    pub(crate) fn truncate(&self, max: i64) -> Result<(), StoreError> {
        let mut files = self.files.write_unpoisoned();
        let mut removed = false;
        while let Some(last) = files.last() {
            if last.first < max {
                break;
            }
            fs::remove_file(&last.path).map_err(|e| StoreError::io_at("delete", &last.path, &e))?;
            files.pop();
            removed = true;
        }
        if let Some(last) = files.last() {
            let len = ((max - last.first).max(0) as usize * CQ_STORE_UNIT_SIZE) as u64;
            last.file
                .set_len(len)
                .map_err(|e| StoreError::io_at("truncate", &last.path, &e))?;
        }
        drop(files);
        if removed {
            sync_dir(&self.dir)?;
        }
        self.max_offset.store(max, Ordering::Release);
        let mut synced = self.lock_synced();
        *synced = (*synced).min(max);
        drop(synced);
        if self.min_offset() > max {
            self.min_offset.store(max, Ordering::Release);
        }
        Ok(())
    }

    /// Appends filler entries up to `index` (a queue whose first records are gone).
    pub(crate) fn fill_blanks_to(&self, index: i64) -> Result<(), StoreError> {
        let missing = index - self.max_offset();
        if missing > 0 {
            let blanks = vec![CqEntry::blank(); missing as usize];
            self.append(&blanks)?;
            self.correct_min_offset(0);
        }
        Ok(())
    }

    /// Up to `max_count` entries from queue offset `from`, stopping at the max offset.
    pub(crate) fn read_entries(
        &self,
        from: i64,
        max_count: usize,
    ) -> std::io::Result<Vec<CqEntry>> {
        let end = self.max_offset().min(from.saturating_add(max_count as i64));
        let mut entries = Vec::with_capacity((end - from).max(0) as usize);
        let files = self.files_snapshot();
        let mut index = from;
        while index < end {
            let at = files.partition_point(|f| f.first <= index);
            let file = at
                .checked_sub(1)
                .and_then(|i| files.get(i))
                .filter(|f| index < f.first + self.entries_per_file)
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("no consume queue file holds offset {index}"),
                    )
                })?;
            let n = (file.first + self.entries_per_file).min(end) - index;
            let mut buf = vec![0u8; n as usize * CQ_STORE_UNIT_SIZE];
            let pos = ((index - file.first) as usize * CQ_STORE_UNIT_SIZE) as u64;
            file.file.read_exact_at(&mut buf, pos)?;
            entries.extend(buf.chunks_exact(CQ_STORE_UNIT_SIZE).map(CqEntry::decode));
            index += n;
        }
        Ok(entries)
    }

    /// The entry at queue offset `index`, if written.
    pub(crate) fn entry(&self, index: i64) -> Option<CqEntry> {
        if index < 0 {
            return None;
        }
        self.read_entries(index, 1).ok()?.into_iter().next()
    }

    /// Fsyncs the files written since the last sync.
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        let mut synced = self.lock_synced();
        let max = self.max_offset();
        if *synced >= max {
            return Ok(());
        }
        for file in self.files_snapshot() {
            if file.first + self.entries_per_file > *synced && file.first < max {
                file.file
                    .sync_data()
                    .map_err(|e| StoreError::io_at("fsync", &file.path, &e))?;
            }
        }
        *synced = max;
        Ok(())
    }

    /// The first offset where `pred` fails for every entry after it, scanning back from the
    /// end (how far the tail of entries satisfying `pred` reaches down).
    pub(crate) fn trailing_start(&self, pred: impl Fn(&CqEntry) -> bool) -> i64 {
        let min_file = self.files_snapshot().first().map_or(0, |f| f.first);
        let mut end = self.max_offset();
        while end > min_file {
            let from = (end - 1024).max(min_file);
            let Ok(entries) = self.read_entries(from, (end - from) as usize) else {
                return end;
            };
            let tail = entries.iter().rev().take_while(|e| pred(e)).count() as i64;
            if tail < end - from {
                return end - tail;
            }
            end = from;
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::tests::TempDir;

    #[test]
    fn java_hash_codes() {
        // "TagA".hashCode() in Java is 2598919; "" is 0; non-ASCII goes by UTF-16 units.
        assert_eq!(java_string_hash_code("TagA"), 2_598_919);
        assert_eq!(java_string_hash_code(""), 0);
        assert_eq!(java_string_hash_code("a"), 97);
        // "hello world, this overflows".hashCode() wraps like Java's int arithmetic.
        assert_eq!(java_string_hash_code("polygenelubricants"), i32::MIN);
        // "é" is U+00E9 = 233; "😀" is two UTF-16 units (0xD83D, 0xDE00): 0xD83D*31 + 0xDE00.
        assert_eq!(java_string_hash_code("é"), 233);
        assert_eq!(java_string_hash_code("😀"), 0xD83D * 31 + 0xDE00);
        assert_eq!(tags_string_to_tags_code(""), 0);
        assert_eq!(tags_string_to_tags_code("TagA"), 2_598_919);
        assert_eq!(
            tags_string_to_tags_code("polygenelubricants"),
            -2_147_483_648
        );
    }

    fn entry(i: i64) -> CqEntry {
        CqEntry {
            commit_log_offset: i * 100,
            size: 100,
            tags_code: i,
        }
    }

    #[test]
    fn appends_across_files_reads_back_and_reloads() {
        let tmp = TempDir::new("cq-files");
        let root = tmp.path().join("consumequeue");
        fs::create_dir_all(&root).unwrap();
        let cq = ConsumeQueue::create(&root, "T", 3, 4).unwrap();
        let batch: Vec<_> = (0..6).map(entry).collect();
        cq.append(&batch).unwrap();
        cq.append(&[entry(6)]).unwrap();
        assert_eq!(cq.max_offset(), 7);
        assert_eq!(
            cq.read_entries(0, 100).unwrap(),
            (0..7).map(entry).collect::<Vec<_>>()
        );
        assert_eq!(cq.read_entries(3, 2).unwrap(), vec![entry(3), entry(4)]);
        assert_eq!(cq.entry(6), Some(entry(6)));
        assert_eq!(cq.entry(7), None);
        let dir = root.join("T").join("3");
        let names: Vec<_> = numbered_files(&dir)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, [0, 80]);
        cq.sync().unwrap();
        drop(cq);

        // A torn entry at the end is cut on load.
        let last = dir.join(file_name(4));
        let mut bytes = fs::read(&last).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]);
        fs::write(&last, &bytes).unwrap();
        let cq = ConsumeQueue::load(&dir, "T", 3, 4, 0).unwrap();
        assert_eq!(cq.max_offset(), 7);
        assert_eq!(fs::metadata(&last).unwrap().len(), 60);
        assert_eq!(cq.read_entries(0, 100).unwrap().len(), 7);

        // Truncation shortens a file and deletes the later ones.
        cq.truncate(3).unwrap();
        assert_eq!(cq.max_offset(), 3);
        assert!(!last.exists());
        cq.append(&[entry(30), entry(40)]).unwrap();
        assert_eq!(cq.entry(3), Some(entry(30)));
        assert_eq!(cq.entry(4), Some(entry(40)));
        assert_eq!(cq.trailing_start(|e| e.commit_log_offset >= 3000), 3);
        assert_eq!(cq.trailing_start(|e| e.commit_log_offset >= 0), 0);
        assert_eq!(cq.trailing_start(|e| e.commit_log_offset > 1_000_000), 5);
    }

    #[test]
    fn files_after_a_gap_are_dropped_and_blanks_move_the_min_offset() {
        let tmp = TempDir::new("cq-gap");
        let root = tmp.path().join("consumequeue");
        fs::create_dir_all(&root).unwrap();
        let cq = ConsumeQueue::create(&root, "T", 0, 4).unwrap();
        cq.append(&(0..3).map(entry).collect::<Vec<_>>()).unwrap();
        drop(cq);
        let dir = root.join("T").join("0");
        // A file that would start at entry 8 while the first one stops at 3.
        fs::write(dir.join(file_name(8)), [0u8; 20]).unwrap();
        let cq = ConsumeQueue::load(&dir, "T", 0, 4, 0).unwrap();
        assert_eq!(cq.max_offset(), 3);
        assert!(!dir.join(file_name(8)).exists());
        assert_eq!(cq.min_offset(), 0);

        let empty = ConsumeQueue::create(&root, "U", 0, 4).unwrap();
        empty.fill_blanks_to(5).unwrap();
        empty.append(&[entry(5)]).unwrap();
        assert_eq!(empty.min_offset(), 5);
        assert_eq!(empty.max_offset(), 6);
        assert!(empty.entry(0).unwrap().is_blank());
        drop(empty);
        let reloaded = ConsumeQueue::load(&root.join("U").join("0"), "U", 0, 4, 0).unwrap();
        assert_eq!((reloaded.min_offset(), reloaded.max_offset()), (5, 6));
    }
}
