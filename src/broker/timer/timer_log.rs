//! `TimerLog`: the timer store's append-only record of every timer message it took in, in
//! segment files under `<store>/timerlog/`; mirrors Java's `TimerLog`.
//!
//! Each record is 32 bytes: the position of the previous record due in the same slot (so a
//! slot's messages form a chain, newest first, that the wheel holds only the head of), the
//! due time, and where the message lies in the commit log. Records are read back with
//! positional reads; nothing of the log is kept in memory but each segment's latest due
//! time, which says when the segment may be deleted.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One record's size in bytes.
pub(crate) const RECORD_SIZE: u64 = 32;

/// Flag: the record is a recall marker, not a message to deliver.
pub(crate) const FLAG_DELETE: i32 = 1;

/// One timer message (or recall marker) as the log keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerRecord {
    /// The previous record of the same slot, or -1.
    pub(crate) prev_pos: i64,
    /// `TIMER_OUT_MS`: the slot it is due in.
    pub(crate) due_ms: i64,
    pub(crate) commit_log_offset: i64,
    pub(crate) size: i32,
    pub(crate) flags: i32,
}

impl TimerRecord {
    fn encode(&self) -> [u8; RECORD_SIZE as usize] {
        let mut bytes = [0u8; RECORD_SIZE as usize];
        bytes[0..8].copy_from_slice(&self.prev_pos.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.due_ms.to_be_bytes());
        bytes[16..24].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        bytes[24..28].copy_from_slice(&self.size.to_be_bytes());
        bytes[28..32].copy_from_slice(&self.flags.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8; RECORD_SIZE as usize]) -> TimerRecord {
        let i64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            i64::from_be_bytes(b)
        };
        let i32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&bytes[at..at + 4]);
            i32::from_be_bytes(b)
        };
        TimerRecord {
            prev_pos: i64_at(0),
            due_ms: i64_at(8),
            commit_log_offset: i64_at(16),
            size: i32_at(24),
            flags: i32_at(28),
        }
    }

    pub(crate) fn is_delete_marker(&self) -> bool {
        self.flags & FLAG_DELETE != 0
    }
}

struct Segment {
    file: File,
    /// The latest due time of any record in the segment.
    max_due_ms: i64,
}

/// The segment files and where the log ends.
pub(crate) struct TimerLog {
    dir: PathBuf,
    segment_size: u64,
    /// Segments by the position of their first record.
    segments: BTreeMap<u64, Segment>,
    end: u64,
}

impl TimerLog {
    /// Opens the log in `dir` (made if missing), cut back to `end`: records past it were
    /// written after the last checkpoint and are taken in again from the timer topic.
    /// `segment_size` is a multiple of the record size.
    pub(crate) fn open(dir: &Path, segment_size: u64, end: u64) -> io::Result<TimerLog> {
        assert!(segment_size >= RECORD_SIZE && segment_size % RECORD_SIZE == 0);
        fs::create_dir_all(dir)?;
        let mut segments = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(start) = name.to_str().and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            if start >= end {
                // Wholly past the checkpoint.
                fs::remove_file(entry.path())?;
                continue;
            }
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(entry.path())?;
            segments.insert(
                start,
                Segment {
                    file,
                    max_due_ms: i64::MIN,
                },
            );
        }
        let log = TimerLog {
            dir: dir.to_path_buf(),
            segment_size,
            segments,
            end,
        };
        if let Some((&start, segment)) = log.segments.iter().next_back() {
            segment
                .file
                .set_len(end.saturating_sub(start).min(segment_size))?;
        }
        Ok(log)
    }

    /// Where the next record goes.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// The position of the first record still kept.
    pub(crate) fn start(&self) -> u64 {
        self.segments.keys().next().copied().unwrap_or(self.end)
    }

    /// Appends a record; returns its position.
    pub(crate) fn append(&mut self, record: &TimerRecord) -> io::Result<u64> {
        let pos = self.end;
        let start = pos - pos % self.segment_size;
        if !self.segments.contains_key(&start) {
            let path = self.dir.join(format!("{start:020}"));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)?;
            self.segments.insert(
                start,
                Segment {
                    file,
                    max_due_ms: i64::MIN,
                },
            );
        }
        let segment = self
            .segments
            .get_mut(&start)
            .ok_or_else(|| io::Error::other("timer log segment vanished"))?;
        segment.file.write_all_at(&record.encode(), pos - start)?;
        segment.max_due_ms = segment.max_due_ms.max(record.due_ms);
        self.end = pos + RECORD_SIZE;
        Ok(pos)
    }

    /// The record at `pos`.
    pub(crate) fn read(&self, pos: u64) -> io::Result<TimerRecord> {
        if pos >= self.end || pos % RECORD_SIZE != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no timer log record at {pos} (log ends at {})", self.end),
            ));
        }
        let start = pos - pos % self.segment_size;
        let segment = self.segments.get(&start).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("timer log segment {start} was deleted"),
            )
        })?;
        let mut bytes = [0u8; RECORD_SIZE as usize];
        segment.file.read_exact_at(&mut bytes, pos - start)?;
        Ok(TimerRecord::decode(&bytes))
    }

    /// Calls `visit` with every record kept, in log order, and learns each segment's latest
    /// due time on the way (what [`TimerLog::delete_delivered`] needs after a restart).
    pub(crate) fn replay(&mut self, mut visit: impl FnMut(u64, &TimerRecord)) -> io::Result<()> {
        const CHUNK: usize = 4096;
        let end = self.end;
        for (&start, segment) in self.segments.iter_mut() {
            let len = end.saturating_sub(start).min(self.segment_size);
            let mut buffer = vec![0u8; CHUNK * RECORD_SIZE as usize];
            let mut at = 0;
            while at < len {
                let n = ((len - at) as usize).min(buffer.len());
                segment.file.read_exact_at(&mut buffer[..n], at)?;
                for (i, chunk) in buffer[..n].chunks_exact(RECORD_SIZE as usize).enumerate() {
                    let mut bytes = [0u8; RECORD_SIZE as usize];
                    bytes.copy_from_slice(chunk);
                    let record = TimerRecord::decode(&bytes);
                    segment.max_due_ms = segment.max_due_ms.max(record.due_ms);
                    visit(start + at + (i as u64) * RECORD_SIZE, &record);
                }
                at += n as u64;
            }
        }
        Ok(())
    }

    /// Deletes the segments whose every record is due before `delivered_before_ms` (all
    /// delivered), never the one being written. Returns the bytes freed.
    pub(crate) fn delete_delivered(&mut self, delivered_before_ms: i64) -> io::Result<u64> {
        let writing = self.end - self.end % self.segment_size;
        let done: Vec<u64> = self
            .segments
            .iter()
            .take_while(|(&start, s)| start < writing && s.max_due_ms < delivered_before_ms)
            .map(|(&start, _)| start)
            .collect();
        let mut freed = 0;
        for start in done {
            self.segments.remove(&start);
            fs::remove_file(self.dir.join(format!("{start:020}")))?;
            freed += self.segment_size;
        }
        Ok(freed)
    }

    /// Forces what was appended to disk.
    pub(crate) fn flush(&self) -> io::Result<()> {
        if let Some(segment) = self.segments.values().next_back() {
            segment.file.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(due_ms: i64, prev_pos: i64) -> TimerRecord {
        TimerRecord {
            prev_pos,
            due_ms,
            commit_log_offset: due_ms * 10,
            size: 100,
            flags: 0,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "rmq-timer-log-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn appends_reads_and_replays_across_segments() {
        let dir = temp_dir("replay");
        let mut log = TimerLog::open(&dir, RECORD_SIZE * 3, 0).unwrap();
        let positions: Vec<u64> = (0..7)
            .map(|i| log.append(&record(1000 + i, i - 1)).unwrap())
            .collect();
        assert_eq!(positions, vec![0, 32, 64, 96, 128, 160, 192]);
        assert_eq!(log.read(96).unwrap(), record(1003, 2));
        assert!(log.read(224).is_err(), "past the end");
        assert!(log.read(33).is_err(), "not a record boundary");

        // Reopened at the checkpoint's end (5 records): the rest is cut away.
        drop(log);
        let mut log = TimerLog::open(&dir, RECORD_SIZE * 3, 160).unwrap();
        let mut seen = Vec::new();
        log.replay(|pos, r| seen.push((pos, r.due_ms))).unwrap();
        assert_eq!(
            seen,
            vec![(0, 1000), (32, 1001), (64, 1002), (96, 1003), (128, 1004)]
        );
        assert_eq!(log.append(&record(2000, -1)).unwrap(), 160);

        // Segments wholly due before 1003 go, never the one being written.
        assert_eq!(log.delete_delivered(1003).unwrap(), RECORD_SIZE * 3);
        assert_eq!(log.start(), 96);
        assert!(log.read(0).is_err());
        // Segment 96 is full (the next record starts a new one): it may go too.
        assert_eq!(log.delete_delivered(i64::MAX).unwrap(), RECORD_SIZE * 3);
        assert_eq!(log.start(), log.end());
        assert_eq!(log.append(&record(3000, -1)).unwrap(), 192);
        assert_eq!(log.delete_delivered(i64::MAX).unwrap(), 0, "being written");
        fs::remove_dir_all(&dir).unwrap();
    }
}
