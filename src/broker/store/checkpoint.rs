//! The recovery checkpoint: a commit log offset below which the commit log and every consume
//! queue are known to be fsynced (the role of Java's `StoreCheckpoint`, which keeps
//! timestamps instead).
//!
//! ```text
//! b"RMQSTCP1" | i64 commit log offset | i32 crc32 of the 16 bytes before it
//! ```

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use crate::protocol::util_all::crc32;

const MAGIC: &[u8; 8] = b"RMQSTCP1";
const LEN: usize = 20;

/// The open checkpoint file.
pub(crate) struct StoreCheckpoint {
    path: PathBuf,
    file: File,
    last: Option<i64>,
}

impl StoreCheckpoint {
    /// Opens (or creates) the file and reads the offset it holds; `None` when it is missing,
    /// short or fails its CRC.
    pub(crate) fn open(path: &Path) -> Result<(StoreCheckpoint, Option<i64>), StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io_at("open checkpoint", path, &e))?;
        let mut buf = [0u8; LEN];
        let offset = match file.read_exact_at(&mut buf, 0) {
            Ok(()) => decode(&buf),
            Err(_) => None,
        };
        if offset.is_none() {
            log::info!("no usable checkpoint in {}", path.display());
        }
        let checkpoint = StoreCheckpoint {
            path: path.to_path_buf(),
            file,
            last: offset,
        };
        Ok((checkpoint, offset))
    }

    /// Writes `offset` and fsyncs it, unless it is already the stored value.
    pub(crate) fn write(&mut self, offset: i64) -> Result<(), StoreError> {
        if self.last == Some(offset) {
            return Ok(());
        }
        self.file
            .write_all_at(&encode(offset), 0)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| StoreError::io_at("write checkpoint", &self.path, &e))?;
        self.last = Some(offset);
        Ok(())
    }
}

fn encode(offset: i64) -> [u8; LEN] {
    let mut buf = [0u8; LEN];
    buf[..8].copy_from_slice(MAGIC);
    buf[8..16].copy_from_slice(&offset.to_be_bytes());
    let crc = crc32(&buf[..16]);
    buf[16..].copy_from_slice(&crc.to_be_bytes());
    buf
}

fn decode(buf: &[u8; LEN]) -> Option<i64> {
    let (head, crc) = buf.split_at(16);
    if &head[..8] != MAGIC || crc32(head).to_be_bytes() != crc {
        return None;
    }
    let offset = i64::from_be_bytes(head[8..16].try_into().ok()?);
    (offset >= 0).then_some(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        assert_eq!(decode(&encode(12_345)), Some(12_345));
        assert_eq!(decode(&encode(0)), Some(0));
        let mut damaged = encode(99);
        damaged[10] ^= 1;
        assert_eq!(decode(&damaged), None);
        let mut bad_magic = encode(99);
        bad_magic[0] = b'X';
        assert_eq!(decode(&bad_magic), None);
        assert_eq!(decode(&[0u8; LEN]), None);
    }
}
