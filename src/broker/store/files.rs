//! The store's files on disk: listing numbered files, creating and opening them, making a
//! directory's entries durable. Every error names the path.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::error::StoreError;

/// Fsyncs a directory so that entries created or removed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io_at("fsync directory", dir, &e))
}

/// The files of a directory whose names are 20 decimal digits, with the number, sorted.
pub(crate) fn numbered_files(dir: &Path) -> Result<Vec<(i64, PathBuf)>, StoreError> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| StoreError::io_at("list", dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io_at("list", dir, &e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let number = (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
            .then(|| name.parse::<i64>().ok())
            .flatten();
        match number {
            Some(n) if entry.path().is_file() => files.push((n, entry.path())),
            _ => log::warn!("ignoring {} in the store", entry.path().display()),
        }
    }
    files.sort();
    Ok(files)
}

/// A new, empty file at `path` for reading and writing; a leftover of the same name (from a
/// crash before its directory entry was durable) is emptied.
pub(crate) fn create_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| StoreError::io_at("create", path, &e))
}

/// The existing file at `path`, for reading and writing.
pub(crate) fn open_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io_at("open", path, &e))
}
