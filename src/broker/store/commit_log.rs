//! `CommitLog`: every message of every topic, appended in the stored message format to
//! segment files named by their first physical offset (20 digits), as in Java's `CommitLog`
//! over a `MappedFileQueue`, but written with `pwrite` and read with `pread`.
//!
//! A record never spans segments. When the next record does not fit, the next segment starts
//! at the exact next offset (no BLANK filler), so physical offsets are continuous and segment
//! `i + 1` starts where segment `i`'s data ends.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use super::consume_queue::tags_code_of;
use super::error::StoreError;
use super::files::{create_file, numbered_files, open_file, sync_dir};
use crate::common::sync::RwLockExt;
use crate::protocol::message::decode_message;
use crate::protocol::message::message_ext::{MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2};
use crate::protocol::message::sys_flag::BORNHOST_V6_FLAG;
use crate::protocol::util_all::crc32;

/// Where the queue offset sits in a stored record.
pub(crate) const QUEUE_OFFSET_POSITION: usize = 20;
/// Where the physical offset sits in a stored record.
pub(crate) const PHYSICAL_OFFSET_POSITION: usize = 28;
/// Where the system flag sits in a stored record (`SYSFLAG_POSITION`).
pub(crate) const SYSFLAG_POSITION: usize = 36;
/// Where the born host starts in a stored record.
const BORN_HOST_POSITION: usize = 48;
/// Bytes read at once while recovery scans a segment.
const SCAN_CHUNK: usize = 4 * 1024 * 1024;

/// Where the store timestamp sits in a record with system flag `sys_flag`.
pub(crate) fn store_timestamp_position(sys_flag: i32) -> usize {
    BORN_HOST_POSITION
        + if sys_flag & BORNHOST_V6_FLAG == 0 {
            8
        } else {
            20
        }
}

fn segment_name(start: i64) -> String {
    format!("{start:020}")
}

/// One segment file.
pub(crate) struct Segment {
    /// The physical offset of its first byte.
    pub(crate) start: i64,
    path: PathBuf,
    file: File,
}

/// What recovery learns from one valid record (Java's `DispatchRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DispatchRecord {
    /// The topic.
    pub topic: String,
    /// The queue id.
    pub queue_id: i32,
    /// The queue offset written in the record.
    pub queue_offset: i64,
    /// Where the record starts.
    pub commit_log_offset: i64,
    /// Its size.
    pub size: i32,
    /// The tags hash code of its `TAGS` property.
    pub tags_code: i64,
    /// Its system flag.
    pub sys_flag: i32,
}

/// Where the valid data of the commit log ends after a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanEnd {
    /// The physical offset just past the last valid record.
    pub end: i64,
    /// The index of the segment that holds `end`.
    segment: usize,
}

/// The commit log; mirrors Java's `CommitLog`.
///
/// Appends (`reserve`, `write`, `publish`) must be called under the store's put lock; reads
/// need none beyond a short read lock on the segment list.
pub(crate) struct CommitLog {
    dir: PathBuf,
    segment_size: u64,
    segments: RwLock<Vec<Arc<Segment>>>,
    /// The end of the published data: every byte below it belongs to a fully written record.
    max_offset: AtomicI64,
}

impl CommitLog {
    /// Opens the segment files in `dir` (creating it); recovery sets the end.
    pub(crate) fn open(dir: &Path, segment_size: u64) -> Result<CommitLog, StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io_at("create", dir, &e))?;
        let mut segments = Vec::new();
        for (start, path) in numbered_files(dir)? {
            let file = open_file(&path)?;
            segments.push(Arc::new(Segment { start, path, file }));
        }
        Ok(CommitLog {
            dir: dir.to_path_buf(),
            segment_size,
            segments: RwLock::new(segments),
            max_offset: AtomicI64::new(0),
        })
    }

    fn snapshot(&self) -> Vec<Arc<Segment>> {
        self.segments.read_unpoisoned().clone()
    }

    fn file_len(segment: &Segment) -> Result<i64, StoreError> {
        segment
            .file
            .metadata()
            .map(|m| m.len() as i64)
            .map_err(|e| StoreError::io_at("stat", &segment.path, &e))
    }

    /// The first physical offset held (`getMinOffset`).
    pub(crate) fn min_offset(&self) -> i64 {
        self.snapshot().first().map_or(0, |s| s.start)
    }

    /// The end of the published data (`getMaxOffset`).
    pub(crate) fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    /// The segment that holds physical offset `offset` (the last one starting at or before it).
    fn segment_index(segments: &[Arc<Segment>], offset: i64) -> Option<usize> {
        segments
            .partition_point(|s| s.start <= offset)
            .checked_sub(1)
    }

    /// Whether recovery may start at `offset`: it lies within the files, and every segment
    /// before the one holding it ends exactly where the next begins (those bytes were fsynced,
    /// so a gap there is corruption, which recovery must not "repair" by deleting data).
    pub(crate) fn check_start(&self, offset: i64) -> Result<bool, StoreError> {
        let segments = self.snapshot();
        let Some(index) = Self::segment_index(&segments, offset) else {
            return Ok(false);
        };
        if offset > segments[index].start + Self::file_len(&segments[index])? {
            return Ok(false);
        }
        for pair in segments[..=index].windows(2) {
            let end = pair[0].start + Self::file_len(&pair[0])?;
            if end != pair[1].start {
                return Err(StoreError::Corrupt {
                    path: pair[1].path.clone(),
                    reason: format!(
                        "segment starts at {} but the one before it ends at {end}, below the \
                         checkpoint {offset}",
                        pair[1].start
                    ),
                });
            }
        }
        Ok(true)
    }

    /// Validates the records from `from` (a record boundary) to the end of the valid data and
    /// calls `on_record` with each, in order. Stops at the first torn or invalid record, or at
    /// a segment that does not continue where the one before it ends. `on_record` answers
    /// whether to go on; `None` when it stopped the scan.
    pub(crate) fn scan(
        &self,
        from: i64,
        mut on_record: impl FnMut(&DispatchRecord) -> Result<bool, StoreError>,
    ) -> Result<Option<ScanEnd>, StoreError> {
        let segments = self.snapshot();
        let Some(mut index) = Self::segment_index(&segments, from) else {
            return Ok(Some(ScanEnd {
                end: from,
                segment: 0,
            }));
        };
        let mut pos = from;
        loop {
            let segment = &segments[index];
            let len = Self::file_len(segment)?;
            let mut reader = ChunkReader::new(segment, len);
            while pos - segment.start < len {
                let rel = (pos - segment.start) as u64;
                let Some(record) = validate_record(&mut reader, rel, pos)? else {
                    log::warn!(
                        "commit log {}: no valid record at offset {pos}; the log ends there",
                        segment.path.display()
                    );
                    return Ok(Some(ScanEnd {
                        end: pos,
                        segment: index,
                    }));
                };
                pos += i64::from(record.size);
                if !on_record(&record)? {
                    return Ok(None);
                }
            }
            match segments.get(index + 1) {
                Some(next) if next.start == pos => index += 1,
                Some(next) => {
                    log::warn!(
                        "commit log {} starts at {} but the data before it ends at {pos}; the \
                         log ends there",
                        next.path.display(),
                        next.start
                    );
                    return Ok(Some(ScanEnd {
                        end: pos,
                        segment: index,
                    }));
                }
                None => {
                    return Ok(Some(ScanEnd {
                        end: pos,
                        segment: index,
                    }))
                }
            }
        }
    }

    /// Cuts the log at `at` (as found by [`CommitLog::scan`]): shortens that segment, deletes
    /// the later ones, makes it durable, and sets the end. An empty log gets its first segment.
    pub(crate) fn truncate_to(&self, at: ScanEnd) -> Result<(), StoreError> {
        let mut segments = self.segments.write_unpoisoned();
        if segments.is_empty() {
            drop(segments);
            self.max_offset.store(at.end, Ordering::Release);
            return Ok(());
        }
        let mut removed = false;
        while segments.len() > at.segment + 1 {
            if let Some(last) = segments.pop() {
                log::warn!("deleting commit log segment {}", last.path.display());
                fs::remove_file(&last.path)
                    .map_err(|e| StoreError::io_at("delete", &last.path, &e))?;
                removed = true;
            }
        }
        let segment = &segments[at.segment];
        let keep = (at.end - segment.start) as u64;
        let len = Self::file_len(segment)? as u64;
        if len != keep {
            log::warn!(
                "cutting commit log {} from {len} to {keep} bytes",
                segment.path.display()
            );
            segment
                .file
                .set_len(keep)
                .and_then(|()| segment.file.sync_all())
                .map_err(|e| StoreError::io_at("truncate", &segment.path, &e))?;
        }
        drop(segments);
        if removed {
            sync_dir(&self.dir)?;
        }
        self.max_offset.store(at.end, Ordering::Release);
        Ok(())
    }

    /// The oldest segment when it is not the one being written: its start, its last write
    /// time and its size (what retention looks at).
    pub(crate) fn oldest_closed_segment(&self) -> Option<(i64, SystemTime, u64)> {
        let segments = self.snapshot();
        if segments.len() < 2 {
            return None;
        }
        let first = &segments[0];
        let meta = first.file.metadata().ok()?;
        Some((first.start, meta.modified().ok()?, meta.len()))
    }

    /// Deletes the oldest segment if it still starts at `start` and is not the last one
    /// (`deleteExpiredFile`, one file), and makes the deletion durable before returning, so
    /// that nothing deleted after it (consume queue and index files that point into it) can
    /// outlive it in a crash. Readers holding the segment keep reading it until they let go.
    /// Returns the log's new first offset.
    pub(crate) fn delete_oldest(&self, start: i64) -> Result<Option<i64>, StoreError> {
        let mut segments = self.segments.write_unpoisoned();
        if segments.len() < 2 || segments[0].start != start {
            return Ok(None);
        }
        let first = segments.remove(0);
        let new_min = segments[0].start;
        drop(segments);
        fs::remove_file(&first.path).map_err(|e| StoreError::io_at("delete", &first.path, &e))?;
        sync_dir(&self.dir)?;
        Ok(Some(new_min))
    }

    /// The physical offset for a record (or batch) of `len` bytes that starts at `max` (the
    /// end of what is written so far) and the segment to write it into, starting a new
    /// segment when it does not fit in the current one. Put lock held.
    pub(crate) fn reserve(&self, max: i64, len: usize) -> Result<(i64, Arc<Segment>), StoreError> {
        let last = self.snapshot().last().cloned();
        if let Some(last) = last {
            let used = (max - last.start) as u64;
            if used == 0 || used + len as u64 <= self.segment_size {
                return Ok((max, last));
            }
        }
        let path = self.dir.join(segment_name(max));
        let file = create_file(&path)?;
        sync_dir(&self.dir)?;
        log::info!("new commit log segment {}", path.display());
        let segment = Arc::new(Segment {
            start: max,
            path,
            file,
        });
        self.segments.write_unpoisoned().push(Arc::clone(&segment));
        Ok((max, segment))
    }

    /// Writes `bytes` at physical offset `offset` of `segment` (from [`CommitLog::reserve`]).
    /// On failure the segment is cut back to `offset`; if that fails too the answer is
    /// [`StoreError::NotWritable`]. Put lock held.
    pub(crate) fn write(
        &self,
        segment: &Segment,
        offset: i64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let rel = (offset - segment.start) as u64;
        match segment.file.write_all_at(bytes, rel) {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = StoreError::io_at("write", &segment.path, &e);
                log::error!("{err}");
                match self.undo(segment, offset) {
                    Ok(()) => Err(err),
                    Err(undo) => Err(undo),
                }
            }
        }
    }

    /// Cuts `segment` back to physical offset `offset`, discarding an unpublished write.
    pub(crate) fn undo(&self, segment: &Segment, offset: i64) -> Result<(), StoreError> {
        segment
            .file
            .set_len((offset - segment.start) as u64)
            .map_err(|e| StoreError::NotWritable {
                reason: format!(
                    "could not cut {} back to {offset} after a failed put: {e}",
                    segment.path.display()
                ),
            })
    }

    /// Publishes the data up to `end` to readers. Put lock held.
    pub(crate) fn publish(&self, end: i64) {
        self.max_offset.store(end, Ordering::Release);
    }

    /// Fsyncs the segments holding bytes in `[from, to)`.
    pub(crate) fn sync_range(&self, from: i64, to: i64) -> Result<(), StoreError> {
        let segments = self.snapshot();
        for (i, segment) in segments.iter().enumerate() {
            let end = segments.get(i + 1).map_or(i64::MAX, |next| next.start);
            if segment.start < to && end > from {
                segment
                    .file
                    .sync_data()
                    .map_err(|e| StoreError::io_at("fsync", &segment.path, &e))?;
            }
        }
        Ok(())
    }

    /// The `size` bytes at physical offset `offset`, if they lie within one segment and below
    /// the published end (`getMessage(offset, size)`).
    pub(crate) fn read(&self, offset: i64, size: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(size as i64)?;
        if offset < 0 || end > self.max_offset() {
            return None;
        }
        let segments = self.snapshot();
        let index = Self::segment_index(&segments, offset)?;
        if segments.get(index + 1).is_some_and(|next| end > next.start) {
            return None;
        }
        let segment = &segments[index];
        let mut buf = vec![0u8; size];
        match segment
            .file
            .read_exact_at(&mut buf, (offset - segment.start) as u64)
        {
            Ok(()) => Some(buf),
            Err(e) => {
                log::warn!("read {} at {offset}: {e}", segment.path.display());
                None
            }
        }
    }

    /// Up to `max` bytes from physical offset `offset`, not past the end of its segment nor
    /// the published end.
    pub(crate) fn read_within_segment(&self, offset: i64, max: usize) -> Option<Vec<u8>> {
        let segments = self.snapshot();
        let index = Self::segment_index(&segments, offset)?;
        let segment_end = segments.get(index + 1).map_or(i64::MAX, |next| next.start);
        let end = self.max_offset().min(segment_end).min(offset + max as i64);
        self.read(offset, usize::try_from(end - offset).ok()?)
    }

    /// The whole record at physical offset `offset`, if one starts there.
    pub(crate) fn read_record(&self, offset: i64) -> Option<Vec<u8>> {
        let size_bytes = self.read(offset, 4)?;
        let size = i32::from_be_bytes(size_bytes.try_into().ok()?);
        let size = usize::try_from(size).ok().filter(|s| *s >= 8)?;
        let record = self.read(offset, size)?;
        let magic = i32::from_be_bytes(record[4..8].try_into().ok()?);
        (magic == MESSAGE_MAGIC_CODE || magic == MESSAGE_MAGIC_CODE_V2).then_some(record)
    }

    /// The store timestamp of the record at `offset` of `size` bytes
    /// (`pickupStoreTimestamp`).
    pub(crate) fn pickup_store_timestamp(&self, offset: i64, size: i32) -> Option<i64> {
        let head = self.read(offset, 76.min(usize::try_from(size).ok()?))?;
        let sys_flag = i32::from_be_bytes(
            head.get(SYSFLAG_POSITION..SYSFLAG_POSITION + 4)?
                .try_into()
                .ok()?,
        );
        let at = store_timestamp_position(sys_flag);
        Some(i64::from_be_bytes(head.get(at..at + 8)?.try_into().ok()?))
    }
}

/// Reads a segment in large chunks while recovery walks it.
struct ChunkReader<'a> {
    segment: &'a Segment,
    len: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> ChunkReader<'a> {
    fn new(segment: &'a Segment, len: i64) -> Self {
        ChunkReader {
            segment,
            len: len as u64,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// The `n` bytes at `at`, or `None` when the file ends before them.
    fn slice(&mut self, at: u64, n: usize) -> Result<Option<&[u8]>, StoreError> {
        if at + n as u64 > self.len {
            return Ok(None);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if at < self.buf_start || at + n as u64 > buf_end {
            let want = (n.max(SCAN_CHUNK) as u64).min(self.len - at) as usize;
            self.buf.resize(want, 0);
            self.segment
                .file
                .read_exact_at(&mut self.buf, at)
                .map_err(|e| StoreError::io_at("read", &self.segment.path, &e))?;
            self.buf_start = at;
        }
        let from = (at - self.buf_start) as usize;
        Ok(Some(&self.buf[from..from + n]))
    }
}

/// The record at `rel` in the segment (physical offset `offset`) if it is whole and valid:
/// size within the file, magic code, body CRC, physical offset field, and a full decode.
fn validate_record(
    reader: &mut ChunkReader<'_>,
    rel: u64,
    offset: i64,
) -> Result<Option<DispatchRecord>, StoreError> {
    let Some(size_bytes) = reader.slice(rel, 4)? else {
        return Ok(None);
    };
    let size = i32::from_be_bytes([size_bytes[0], size_bytes[1], size_bytes[2], size_bytes[3]]);
    let Ok(len) = usize::try_from(size) else {
        return Ok(None);
    };
    if len < 8 {
        return Ok(None);
    }
    let Some(record) = reader.slice(rel, len)? else {
        return Ok(None);
    };
    let magic = i32::from_be_bytes([record[4], record[5], record[6], record[7]]);
    if magic != MESSAGE_MAGIC_CODE && magic != MESSAGE_MAGIC_CODE_V2 {
        return Ok(None);
    }
    let Ok((message, used)) = decode_message(record, false) else {
        return Ok(None);
    };
    if used != len
        || message.commit_log_offset != offset
        || crc32(&message.body) != message.body_crc
    {
        return Ok(None);
    }
    Ok(Some(DispatchRecord {
        tags_code: tags_code_of(&message.properties),
        topic: message.topic,
        queue_id: message.queue_id,
        queue_offset: message.queue_offset,
        commit_log_offset: offset,
        size,
        sys_flag: message.sys_flag,
    }))
}
