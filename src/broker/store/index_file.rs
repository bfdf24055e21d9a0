//! `IndexFile`: one fixed-size file of the key index, in the layout of Java's `IndexFile`,
//! written with `pwrite` and read with `pread` (no memory map, nothing kept in memory but the
//! 40-byte header).
//!
//! ```text
//! header   40 bytes    i64 begin timestamp | i64 end timestamp | i64 begin physical offset |
//!                      i64 end physical offset | i32 used slots | i32 entry count (from 1)
//! slots    4 × slots   i32: the number of the newest entry whose key hashes to the slot
//!                      (0: none)
//! entries  20 × max    i32 key hash | i64 physical offset | i32 seconds since the begin
//!                      timestamp | i32 number of the previous entry in the same slot
//! ```
//!
//! Entries of one slot are linked newest first. Entry numbers start at 1 (0 ends a chain);
//! the file is full when the count reaches the entry maximum. The file is created at its full
//! size (sparse until written). The header is written to the file only by [`IndexFile::flush`],
//! so after a crash entries and slots past the header's count may exist: the index service
//! rebuilds the newest file then.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::files::{create_file, open_file};

/// Bytes of the header (`IndexHeader.INDEX_HEADER_SIZE`).
pub(super) const INDEX_HEADER_SIZE: u64 = 40;
const HASH_SLOT_SIZE: u64 = 4;
const INDEX_ENTRY_SIZE: u64 = 20;

/// The file's header (`IndexHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
}

impl IndexHeader {
    fn encode(&self) -> [u8; INDEX_HEADER_SIZE as usize] {
        let mut b = [0u8; INDEX_HEADER_SIZE as usize];
        b[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        b[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        b[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        b[36..40].copy_from_slice(&self.index_count.to_be_bytes());
        b
    }

    fn decode(b: &[u8; INDEX_HEADER_SIZE as usize]) -> IndexHeader {
        let long = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let int = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]));
        IndexHeader {
            begin_timestamp: long(0),
            end_timestamp: long(8),
            begin_phy_offset: long(16),
            end_phy_offset: long(24),
            hash_slot_count: int(32),
            // Java: a count below 1 reads as 1 (entry 0 is never used).
            index_count: int(36).max(1),
        }
    }
}

/// How many slots and entries each index file has (`maxHashSlotNum`, `maxIndexNum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexLayout {
    /// Hash slots per file (Java: 5,000,000).
    pub hash_slot_num: u32,
    /// Entries per file (Java: 20,000,000).
    pub index_num: u32,
}

impl IndexLayout {
    /// Java's defaults: 5 million slots, 20 million entries (a 420 MB file, sparse).
    pub(crate) const JAVA: IndexLayout = IndexLayout {
        hash_slot_num: 5_000_000,
        index_num: 20_000_000,
    };

    fn file_size(&self) -> u64 {
        INDEX_HEADER_SIZE
            + u64::from(self.hash_slot_num) * HASH_SLOT_SIZE
            + u64::from(self.index_num) * INDEX_ENTRY_SIZE
    }

    fn slot_position(&self, key_hash: i32) -> u64 {
        let slot = u64::from(key_hash.unsigned_abs()) % u64::from(self.hash_slot_num.max(1));
        INDEX_HEADER_SIZE + slot * HASH_SLOT_SIZE
    }

    fn entry_position(&self, number: i32) -> u64 {
        INDEX_HEADER_SIZE
            + u64::from(self.hash_slot_num) * HASH_SLOT_SIZE
            + u64::from(number.max(0) as u32) * INDEX_ENTRY_SIZE
    }
}

/// One index file.
pub(super) struct IndexFile {
    path: PathBuf,
    file: File,
    layout: IndexLayout,
    /// The physical offset of the first record it indexes (its name).
    pub start: i64,
    /// The header as of the last entry (the file holds the one of the last flush).
    header: IndexHeader,
    /// Entries added since the last [`IndexFile::write_pending`], from number `pending_from`:
    /// one `pwrite` for many entries (their slots are written at once).
    pending: Vec<u8>,
    pending_from: i32,
}

impl IndexFile {
    /// A new, empty file in `dir` for records from physical offset `start`.
    pub(super) fn create(
        dir: &Path,
        start: i64,
        layout: IndexLayout,
    ) -> Result<IndexFile, StoreError> {
        let path = dir.join(format!("{start:020}"));
        let file = create_file(&path)?;
        file.set_len(layout.file_size())
            .map_err(|e| StoreError::io_at("size index file", &path, &e))?;
        let header = IndexHeader {
            index_count: 1,
            ..IndexHeader::default()
        };
        file.write_all_at(&header.encode(), 0)
            .map_err(|e| StoreError::io_at("write index header", &path, &e))?;
        Ok(IndexFile {
            path,
            file,
            layout,
            start,
            header,
            pending: Vec::new(),
            pending_from: 1,
        })
    }

    /// Opens an existing file; None when its size does not match `layout` (made with other
    /// settings: the caller rebuilds it).
    pub(super) fn open(
        path: &Path,
        start: i64,
        layout: IndexLayout,
    ) -> Result<Option<IndexFile>, StoreError> {
        let file = open_file(path)?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io_at("stat", path, &e))?
            .len();
        if len != layout.file_size() {
            log::warn!(
                "index file {} is {len} bytes, not the {} of {} slots and {} entries",
                path.display(),
                layout.file_size(),
                layout.hash_slot_num,
                layout.index_num
            );
            return Ok(None);
        }
        let mut raw = [0u8; INDEX_HEADER_SIZE as usize];
        file.read_exact_at(&mut raw, 0)
            .map_err(|e| StoreError::io_at("read index header", path, &e))?;
        let header = IndexHeader::decode(&raw);
        if header.index_count > layout.index_num as i32 {
            return Ok(None);
        }
        Ok(Some(IndexFile {
            path: path.to_path_buf(),
            file,
            layout,
            start,
            header,
            pending: Vec::new(),
            pending_from: header.index_count,
        }))
    }

    /// The header as of the last entry.
    pub(super) fn header(&self) -> IndexHeader {
        self.header
    }

    /// Whether no entry fits any more (`isWriteFull`).
    pub(super) fn is_full(&self) -> bool {
        self.header.index_count >= self.layout.index_num as i32
    }

    fn read_i32(&self, at: u64) -> std::io::Result<i32> {
        let mut b = [0u8; 4];
        self.file.read_exact_at(&mut b, at)?;
        Ok(i32::from_be_bytes(b))
    }

    /// Adds an entry (`putKey`); false when the file is full.
    pub(super) fn put_key(
        &mut self,
        key_hash: i32,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<bool, StoreError> {
        if self.is_full() {
            return Ok(false);
        }
        let io = |e: std::io::Error| StoreError::io_at("write index file", &self.path, &e);
        let slot_at = self.layout.slot_position(key_hash);
        let mut prev = self.read_i32(slot_at).map_err(io)?;
        let count = self.header.index_count;
        // A slot pointing past the count is left from before a crash: it starts no chain.
        if prev <= 0 || prev >= count {
            prev = 0;
        }
        let begin = if count <= 1 {
            store_timestamp
        } else {
            self.header.begin_timestamp
        };
        let diff_seconds = ((store_timestamp - begin) / 1000).clamp(0, i64::from(i32::MAX)) as i32;
        let mut entry = [0u8; INDEX_ENTRY_SIZE as usize];
        entry[0..4].copy_from_slice(&key_hash.to_be_bytes());
        entry[4..12].copy_from_slice(&phy_offset.to_be_bytes());
        entry[12..16].copy_from_slice(&diff_seconds.to_be_bytes());
        entry[16..20].copy_from_slice(&prev.to_be_bytes());
        if self.pending.is_empty() {
            self.pending_from = count;
        }
        self.pending.extend_from_slice(&entry);
        self.file
            .write_all_at(&count.to_be_bytes(), slot_at)
            .map_err(io)?;
        let h = &mut self.header;
        if count <= 1 {
            h.begin_phy_offset = phy_offset;
            h.begin_timestamp = store_timestamp;
        }
        if prev == 0 {
            h.hash_slot_count += 1;
        }
        h.index_count = count + 1;
        h.end_phy_offset = phy_offset;
        h.end_timestamp = store_timestamp;
        Ok(true)
    }

    /// Writes the entries added since the last call; queries read only what is written.
    pub(super) fn write_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.pending, self.layout.entry_position(self.pending_from))
            .map_err(|e| StoreError::io_at("write index file", &self.path, &e))?;
        self.pending.clear();
        Ok(())
    }

    /// Walks the entries with `key_hash` stored within `[begin, end]` ms (to the second:
    /// entries keep seconds), newest first, calling `visit` with each one's physical offset
    /// until it answers false (`selectPhyOffset`).
    pub(super) fn visit_phy_offsets(
        &self,
        key_hash: i32,
        begin: i64,
        end: i64,
        mut visit: impl FnMut(i64) -> bool,
    ) -> std::io::Result<()> {
        let count = self.header.index_count;
        if count <= 1 {
            return Ok(());
        }
        let mut next = self.read_i32(self.layout.slot_position(key_hash))?;
        // Every step goes to an older entry, so a damaged chain still ends.
        while next > 0 && next < count {
            let mut entry = [0u8; INDEX_ENTRY_SIZE as usize];
            self.file
                .read_exact_at(&mut entry, self.layout.entry_position(next))?;
            let field = |at: usize| [entry[at], entry[at + 1], entry[at + 2], entry[at + 3]];
            let hash = i32::from_be_bytes(field(0));
            let offset = i64::from_be_bytes(entry[4..12].try_into().unwrap_or([0; 8]));
            let diff = i32::from_be_bytes(field(12));
            let prev = i32::from_be_bytes(field(16));
            if diff < 0 {
                break;
            }
            // The second the entry was stored in: [time, time + 999] ms.
            let time = self.header.begin_timestamp + i64::from(diff) * 1000;
            if hash == key_hash && time <= end && time + 999 >= begin && !visit(offset) {
                break;
            }
            if time + 999 < begin || prev >= next {
                break;
            }
            next = prev;
        }
        Ok(())
    }

    /// Whether any entry may fall within `[begin, end]` ms (`isTimeMatched`).
    pub(super) fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        self.header.index_count > 1
            && self.header.begin_timestamp <= end
            && self.header.end_timestamp + 999 >= begin
    }

    /// Writes the pending entries and the header, and fsyncs the file.
    pub(super) fn flush(&mut self) -> Result<(), StoreError> {
        self.write_pending()?;
        self.file
            .write_all_at(&self.header.encode(), 0)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| StoreError::io_at("flush index file", &self.path, &e))
    }

    /// Removes the file.
    pub(super) fn destroy(self) -> Result<(), StoreError> {
        fs::remove_file(&self.path).map_err(|e| StoreError::io_at("delete", &self.path, &e))
    }

    /// The file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::temp_dir::TempDir;

    const SMALL: IndexLayout = IndexLayout {
        hash_slot_num: 4,
        index_num: 6,
    };

    #[test]
    fn entries_chain_newest_first_and_the_file_fills() {
        let dir = TempDir::new("index-file").unwrap();
        let mut file = IndexFile::create(dir.path(), 100, SMALL).unwrap();
        assert_eq!(
            fs::metadata(file.path()).unwrap().len(),
            40 + 4 * 4 + 6 * 20
        );
        // Hashes 1 and 5 share slot 1; 2 has its own.
        assert!(file.put_key(1, 100, 10_000).unwrap());
        assert!(file.put_key(5, 200, 11_000).unwrap());
        assert!(file.put_key(1, 300, 12_500).unwrap());
        assert!(file.put_key(2, 400, 13_000).unwrap());
        file.write_pending().unwrap();
        assert_eq!(
            select(&file, 1, 0),
            [300, 100],
            "same hash only, newest first"
        );
        let mut one = Vec::new();
        file.visit_phy_offsets(1, 0, i64::MAX, |o| {
            one.push(o);
            false
        })
        .unwrap();
        assert_eq!(one, [300], "the visitor stops the walk");
        assert_eq!(select(&file, 1, 12_000), [300], "to the second");
        let h = file.header();
        assert_eq!((h.index_count, h.hash_slot_count), (5, 2));
        assert_eq!((h.begin_phy_offset, h.end_phy_offset), (100, 400));
        assert!(file.put_key(3, 500, 14_000).unwrap());
        assert!(file.is_full());
        assert!(!file.put_key(9, 600, 14_000).unwrap());

        // The header reaches the file with flush; reopening reads it back.
        let mut file = file;
        file.flush().unwrap();
        let path = file.path().to_path_buf();
        drop(file);
        let reopened = IndexFile::open(&path, 100, SMALL).unwrap().unwrap();
        assert_eq!(reopened.header(), h_with_count(h, 6, 500, 14_000));
        assert_eq!(select(&reopened, 5, 0), [200]);
        assert!(IndexFile::open(&path, 100, IndexLayout::JAVA)
            .unwrap()
            .is_none());
    }

    fn select(file: &IndexFile, hash: i32, begin: i64) -> Vec<i64> {
        let mut out = Vec::new();
        file.visit_phy_offsets(hash, begin, i64::MAX, |o| {
            out.push(o);
            true
        })
        .unwrap();
        out
    }

    fn h_with_count(h: IndexHeader, count: i32, end: i64, end_time: i64) -> IndexHeader {
        IndexHeader {
            index_count: count,
            end_phy_offset: end,
            end_timestamp: end_time,
            hash_slot_count: h.hash_slot_count + 1,
            ..h
        }
    }

    #[test]
    fn a_slot_left_past_the_count_starts_no_chain() {
        let dir = TempDir::new("index-file-stale").unwrap();
        let mut file = IndexFile::create(dir.path(), 0, SMALL).unwrap();
        // As after a crash: slot 3 points at entry 4, which the header does not count.
        file.file
            .write_all_at(&4i32.to_be_bytes(), SMALL.slot_position(3))
            .unwrap();
        assert!(select(&file, 3, 0).is_empty());
        assert!(file.put_key(3, 70, 1_000).unwrap());
        file.write_pending().unwrap();
        assert_eq!(select(&file, 3, 0), [70]);
    }
}
