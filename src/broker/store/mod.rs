//! The broker's message store; mirrors Java's `store` module (`DefaultMessageStore`,
//! `CommitLog`, `ConsumeQueue`) without memory-mapped files.
//!
//! ```text
//! <store_dir>/commitlog/<20-digit start offset>           records in the stored message format
//! <store_dir>/consumequeue/<topic>/<queueId>/<20 digits>  20-byte entries: i64 commit log
//!                                                         offset | i32 size | i64 tags hash code
//! <store_dir>/recovery_checkpoint                          where recovery starts (see below)
//! <store_dir>/index/<20 digits>, index/checkpoint         the key index (`index_service`)
//! ```
//!
//! - `config` — `StoreConfig`, [`FlushDiskType`] and the Java defaults the store keeps.
//! - `message_store` — [`MessageStore`]: put, get, time search, the flush thread.
//! - `result` — put/get statuses and results ([`PutMessageResult`], [`GetMessageResult`]).
//! - `error` — [`StoreError`].
//! - `commit_log` — `CommitLog`: the append-only log in segment files, and its recovery scan.
//! - `consume_queue` — `ConsumeQueue`: the per-queue index of commit log positions.
//! - `recovery` — cutting the log and reconciling the queues on open.
//! - `flush` — group commit; `checkpoint` — the recovery checkpoint.
//! - `index_service`, `index_file` — messages by key and unique id (QUERY_MESSAGE), in Java's
//!   index file layout, indexed by the `rmq-store-index` thread, rebuilt from the log.
//! - `files` — listing, creating and opening the numbered files, fsync of a directory.
//! - `disk` — how full the disk is ([`DiskUsageProbe`], statvfs) for the disk guard.
//! - `stats` — [`StoreStats`]: put and get counts and rates (GET_BROKER_RUNTIME_INFO).
//!
//! **Writes.** A put encodes the record outside the lock and queues it; whoever takes the one
//! mutex next (Java's `putMessageLock`) appends every put queued by then (group append):
//! assigns queue offsets, physical offsets and the store time, writes the records into the
//! commit log with one `pwrite` per segment and the 20-byte consume-queue entries with one per
//! queue, and only then publishes the new ends, the log's before the queues', so a reader never
//! sees a half-written record nor an entry whose record it cannot read. The put
//! returns after those writes: with [`FlushDiskType::AsyncFlush`] the record is in the page
//! cache and survives the death of the process; with [`FlushDiskType::SyncFlush`] the put also
//! waits (outside the lock) until the commit log is fsynced past it. Concurrent sync puts share
//! fsyncs: the first waiter syncs everything written so far while later writers queue up behind
//! it (group commit). A background thread (`rmq-store-flush`) syncs the commit log (async mode),
//! the consume queues and the checkpoint every `flush_interval`.
//!
//! **Segments.** A record never spans segment files. When the next record (or batch) does not
//! fit in the current segment, a new one starts at the exact next physical offset; there is no
//! BLANK filler, so segment names are starting offsets but not multiples of the segment size.
//! Consume-queue files hold 300,000 entries and are named, as in Java, by their starting byte
//! offset in the queue (entry index × 20). Files grow as they are written (no preallocation).
//! Consume-queue entries are read from their files (`pread`), not kept in memory.
//!
//! **Recovery.** The checkpoint holds a commit log offset `C` below which both the commit log
//! and every consume queue were fsynced. On open the store validates the records from `C` on
//! (size within the segment, magic code, body CRC, physical offset field, full decode), cuts the
//! log at the first invalid or torn record (`set_len`, later segments deleted), and replays
//! the records from `C` into the consume queues: entries that exist are checked, missing ones
//! appended, and entries beyond the surviving records cut. If the queues cannot be reconciled
//! from `C` (or there is no usable checkpoint), the replay starts at the beginning of the log.
//! A clean shutdown writes the checkpoint at the end, so the next start scans nothing.
//! Consume-queue entries below `C` are trusted as Java trusts them: a queue file deleted or
//! shortened by hand is only rebuilt when the checkpoint file is removed too (then the whole log
//! is replayed).
//!
//! **Reads.** A get reads the queue's entries from its file, then each record from the commit
//! log, holding no lock across I/O, so gets never wait behind a put's fsync. Arrival listener
//! calls run on the putting thread after the put; calls from concurrent puts may arrive out of
//! order.
//!
//! **Retention** (`rmq-store-clean`, every `clean_resource_interval`): the disk is measured
//! (puts are refused above the warning ratio); at the `delete_when` hours, or when the disk is
//! fuller than `disk_max_used_space_ratio`, segments older than `file_reserved_time` are
//! deleted oldest first (any but the newest above the forcible ratio), each made durable before
//! the next step, then consume-queue and index files that point only below the log's new start;
//! queue min offsets follow the log's start.
//!
//! Not done: a lock against two processes sharing a directory, scheduled-message tag codes.

mod config;
mod error;
mod message_filter;
mod message_store;
mod result;

mod checkpoint;
mod commit_log;
mod consume_queue;
mod disk;
mod files;
mod flush;
mod index_file;
mod index_service;
mod recovery;
mod stats;

#[cfg(test)]
mod tests;

pub use config::{DeleteWhen, FlushDiskType};
pub use disk::{DiskUsageProbe, FileSystemUsage};
pub use error::StoreError;
pub use message_filter::MessageFilter;
pub use message_store::MessageStore;
pub use message_store::{CleanReport, DiskState};
pub use result::{
    GetMessageResult, GetMessageStatus, PutMessageResult, PutMessageStatus, QueryMessageResult,
};
pub use stats::StoreStats;

pub(crate) use config::StoreConfig;
pub(crate) use consume_queue::tags_string_to_tags_code;
pub(crate) use index_file::IndexLayout;
pub(crate) use message_store::StoreTuning;
pub(crate) use stats::java_double;
