//! `CheckpointStore`: the broker's open pop checkpoints, durable in an append-only log
//! (`<store>/pop/checkpoint.log`) and indexed in memory.
//!
//! Java writes checkpoints and acks as messages of a revive topic, read back by a scan that
//! waits on its timer wheel. Here a pop appends its checkpoint to the log before the queue's
//! offset moves past the messages; an ack appends the bits it sets; a checkpoint whose
//! messages are all acked or revived gets a `done` record. The table is rebuilt from the log
//! at start (a torn tail is cut), and the log is rewritten with only the open checkpoints and
//! the queues' pop offsets once it is large and mostly history, so memory and disk are
//! bounded by what is open. The revive thread waits on this store's condition variable until
//! the earliest revive time (woken when an earlier checkpoint arrives), flushes the log in
//! async-flush mode, and compacts it.
//!
//! With sync flush every append is fsynced before the call returns; with async flush the
//! revive thread fsyncs within `flush_interval` (what was written survives a killed process
//! either way: it is in the file).

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::checkpoint::{decode_log, LogRecord, PopCheckpoint, QueueKey, MAX_CHECKPOINT_MESSAGES};
use crate::common::clock::now_millis;
use crate::common::sync::{CondvarExt, MutexExt};
use crate::protocol::header::ExtraInfo;

/// What identifies a checkpoint in a receipt handle (Java's merge key without the broker).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CheckpointKey {
    pub topic: String,
    pub group: String,
    pub queue_id: i32,
    pub start_offset: i64,
    pub pop_time: i64,
}

impl CheckpointKey {
    /// The checkpoint a receipt handle names for a message of `topic` (the topic an ack
    /// names: a retry topic for a revived message), `group` and `queue_id`.
    pub(crate) fn of_handle(topic: &str, group: &str, queue_id: i32, handle: &ExtraInfo) -> Self {
        CheckpointKey {
            topic: topic.to_string(),
            group: group.to_string(),
            queue_id,
            start_offset: handle.ck_queue_offset,
            pop_time: handle.pop_time,
        }
    }

    fn of(ck: &PopCheckpoint) -> Self {
        CheckpointKey {
            topic: ck.topic.clone(),
            group: ck.group.clone(),
            queue_id: ck.queue_id,
            start_offset: ck.start_offset,
            pop_time: ck.pop_time,
        }
    }
}

/// How long a checkpoint waits after a failed revive, by attempt (Java's
/// `ckRewriteIntervalsInSeconds`); the last one repeats: a message is never given up.
const REVIVE_RETRY_SECONDS: [i64; 8] = [10, 20, 30, 60, 120, 180, 240, 300];

/// What a compacted log holds per queue offset, about (for the compaction trigger).
const OFFSET_RECORD_ESTIMATE: u64 = 80;

struct Open {
    checkpoint: PopCheckpoint,
    /// Bytes of its record in a compacted log.
    record_len: u64,
    /// Failed revives so far.
    revive_attempts: usize,
}

struct State {
    file: File,
    file_len: u64,
    /// Written and not fsynced yet (async flush).
    dirty_since: Option<Instant>,
    /// Why the log takes no more writes, after a write or fsync that could not be undone.
    broken: Option<String>,
    open: HashMap<u64, Open>,
    by_key: HashMap<CheckpointKey, u64>,
    /// (revive time, id) of the open checkpoints not being revived.
    due: BTreeSet<(i64, u64)>,
    offsets: HashMap<QueueKey, i64>,
    next_id: u64,
    /// Bytes a compacted log would take, about.
    live_bytes: u64,
    /// When the revive thread wakes next (ms), while it waits.
    revive_wakes_at: Option<i64>,
    stopping: bool,
}

/// What the revive thread is to do next.
pub(crate) enum ReviveWork {
    /// These checkpoints are due: revive their un-acked messages, then `finish_revive`.
    Due(Vec<PopCheckpoint>),
    /// The store is stopping.
    Stop,
}

/// Open pop checkpoints and queue pop offsets, durable in the checkpoint log.
pub(crate) struct CheckpointStore {
    dir: PathBuf,
    path: PathBuf,
    /// Follows the broker's `flushDiskType`, which an update may change while it runs.
    sync_flush: AtomicBool,
    flush_interval: Duration,
    compact_bytes: u64,
    state: Mutex<State>,
    wake: Condvar,
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn io_error(what: impl Into<String>) -> std::io::Error {
    std::io::Error::other(what.into())
}

fn encode(records: &[LogRecord]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256 * records.len());
    for record in records {
        record.encode_into(&mut buf);
    }
    buf
}

fn record_len(checkpoint: &PopCheckpoint) -> u64 {
    encode(&[LogRecord::Checkpoint {
        checkpoint: checkpoint.clone(),
        next: None,
    }])
    .len() as u64
}

impl State {
    fn insert(&mut self, checkpoint: PopCheckpoint) {
        let len = record_len(&checkpoint);
        self.live_bytes += len;
        self.next_id = self.next_id.max(checkpoint.id + 1);
        self.by_key
            .insert(CheckpointKey::of(&checkpoint), checkpoint.id);
        self.due.insert((checkpoint.revive_time(), checkpoint.id));
        self.open.insert(
            checkpoint.id,
            Open {
                checkpoint,
                record_len: len,
                revive_attempts: 0,
            },
        );
    }

    fn remove(&mut self, id: u64) {
        if let Some(open) = self.open.remove(&id) {
            self.live_bytes = self.live_bytes.saturating_sub(open.record_len);
            self.by_key.remove(&CheckpointKey::of(&open.checkpoint));
            self.due.remove(&(open.checkpoint.revive_time(), id));
        }
    }

    /// Sets `bits` on checkpoint `id`: the record to log (ack, or done when it completes it),
    /// or none when nothing changed.
    fn set_bits(&mut self, id: u64, bits: u32) -> Option<LogRecord> {
        let open = self.open.get_mut(&id)?;
        let bits = bits & open.checkpoint.all_bits() & !open.checkpoint.bit_map;
        if bits == 0 {
            return None;
        }
        open.checkpoint.bit_map |= bits;
        if open.checkpoint.is_done() {
            Some(LogRecord::Done { id })
        } else {
            Some(LogRecord::Ack { id, bm: bits })
        }
    }

    fn record_offset(&mut self, key: QueueKey, offset: i64) {
        let entry = self.offsets.entry(key).or_insert_with(|| {
            self.live_bytes += OFFSET_RECORD_ESTIMATE;
            offset
        });
        *entry = (*entry).max(offset);
    }

    /// Replays a record read back from the log.
    fn apply(&mut self, record: LogRecord) {
        match record {
            LogRecord::Checkpoint { checkpoint, next } => {
                if let Some(next) = next {
                    self.record_offset(
                        QueueKey {
                            group: checkpoint.group.clone(),
                            topic: checkpoint.topic.clone(),
                            queue_id: checkpoint.queue_id,
                        },
                        next,
                    );
                }
                if checkpoint.queue_offset_diff.len() <= MAX_CHECKPOINT_MESSAGES
                    && !checkpoint.is_done()
                {
                    self.insert(checkpoint);
                }
            }
            LogRecord::Ack { id, bm } => {
                if let Some(LogRecord::Done { .. }) = self.set_bits(id, bm) {
                    self.remove(id);
                }
            }
            LogRecord::Done { id } => self.remove(id),
            LogRecord::Offset { c, t, q, o } => self.record_offset(
                QueueKey {
                    group: c,
                    topic: t,
                    queue_id: q,
                },
                o,
            ),
            LogRecord::ForgetOffsets { c } => self.forget_offsets(&c),
        }
    }

    fn forget_offsets(&mut self, group: &str) {
        let before = self.offsets.len();
        self.offsets.retain(|key, _| key.group != group);
        let forgotten = (before - self.offsets.len()) as u64;
        self.live_bytes = self
            .live_bytes
            .saturating_sub(forgotten * OFFSET_RECORD_ESTIMATE);
    }
}

impl CheckpointStore {
    /// Opens (or creates) `<store_dir>/pop/checkpoint.log` and rebuilds the table from it; a
    /// torn or corrupt tail (a crash mid-append) is cut off and logged.
    pub(crate) fn open(
        store_dir: &Path,
        sync_flush: bool,
        flush_interval: Duration,
        compact_bytes: u64,
    ) -> std::io::Result<CheckpointStore> {
        let dir = store_dir.join("pop");
        let created = !dir.is_dir();
        fs::create_dir_all(&dir)?;
        if created {
            sync_dir(store_dir)?;
        }
        let path = dir.join("checkpoint.log");
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let decoded = decode_log(&bytes);
        if decoded.valid_len < bytes.len() {
            log::warn!(
                "pop checkpoint log {}: cutting {} bytes of torn or corrupt tail at {}",
                path.display(),
                bytes.len() - decoded.valid_len,
                decoded.valid_len
            );
            file.set_len(decoded.valid_len as u64)?;
            file.sync_all()?;
        }
        if created {
            sync_dir(&dir)?;
        }
        let mut state = State {
            file_len: decoded.valid_len as u64,
            file,
            dirty_since: None,
            broken: None,
            open: HashMap::new(),
            by_key: HashMap::new(),
            due: BTreeSet::new(),
            offsets: HashMap::new(),
            next_id: 1,
            live_bytes: 0,
            revive_wakes_at: None,
            stopping: false,
        };
        for record in decoded.records {
            state.apply(record);
        }
        log::info!(
            "pop checkpoint log {}: {} open checkpoint(s), {} queue offset(s), {} bytes",
            path.display(),
            state.open.len(),
            state.offsets.len(),
            state.file_len
        );
        Ok(CheckpointStore {
            dir,
            path,
            sync_flush: AtomicBool::new(sync_flush),
            flush_interval,
            compact_bytes,
            state: Mutex::new(state),
            wake: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock_unpoisoned()
    }

    /// Appends `records` in one write; fsynced before returning with sync flush. A failed
    /// write is cut off again; one that cannot be (or a failed fsync) stops all writes.
    fn append(&self, state: &mut State, records: &[LogRecord]) -> std::io::Result<()> {
        if let Some(reason) = &state.broken {
            return Err(io_error(format!(
                "the pop checkpoint log takes no writes: {reason}"
            )));
        }
        let buf = encode(records);
        if let Err(e) = state.file.write_all(&buf) {
            if let Err(cut) = state.file.set_len(state.file_len) {
                state.broken = Some(format!(
                    "append failed ({e}) and could not be undone ({cut})"
                ));
            }
            return Err(e);
        }
        state.file_len += buf.len() as u64;
        if self.sync_flush.load(Ordering::Relaxed) {
            if let Err(e) = state.file.sync_data() {
                state.broken = Some(format!("fsync failed: {e}"));
                return Err(e);
            }
        } else if state.dirty_since.is_none() {
            state.dirty_since = Some(Instant::now());
            // The revive thread flushes within the interval, whatever it waits for.
            self.wake.notify_all();
        }
        if self.needs_compaction(state) {
            self.wake.notify_all();
        }
        Ok(())
    }

    /// With `sync`, every later append is fsynced before it returns (what was written before
    /// goes with the next one); without, the revive thread fsyncs within the interval.
    pub(crate) fn set_sync_flush(&self, sync: bool) {
        self.sync_flush.store(sync, Ordering::Relaxed);
    }

    fn needs_compaction(&self, state: &State) -> bool {
        state.file_len >= self.compact_bytes && state.file_len >= 2 * state.live_bytes
    }

    /// Wakes the revive thread if it sleeps past `revive_time`.
    fn wake_for(&self, state: &State, revive_time: i64) {
        if state.revive_wakes_at.is_some_and(|at| revive_time < at) {
            self.wake.notify_all();
        }
    }

    /// Records a pop's checkpoint and, with `next`, the queue's pop offset after it. Returns
    /// its id. Durable (per the flush policy) when this returns: only then may the queue's
    /// consumer offset move past its messages.
    pub(crate) fn add(
        &self,
        mut checkpoint: PopCheckpoint,
        next: Option<i64>,
    ) -> std::io::Result<u64> {
        if checkpoint.queue_offset_diff.is_empty()
            || checkpoint.queue_offset_diff.len() > MAX_CHECKPOINT_MESSAGES
        {
            return Err(io_error(format!(
                "a checkpoint holds 1 to {MAX_CHECKPOINT_MESSAGES} messages, not {}",
                checkpoint.queue_offset_diff.len()
            )));
        }
        let mut state = self.lock();
        if state.by_key.contains_key(&CheckpointKey::of(&checkpoint)) {
            return Err(io_error(format!(
                "a checkpoint of {}@{} queue {} from {} popped at {} exists already",
                checkpoint.topic,
                checkpoint.group,
                checkpoint.queue_id,
                checkpoint.start_offset,
                checkpoint.pop_time
            )));
        }
        checkpoint.id = state.next_id;
        checkpoint.bit_map = 0;
        let queue = QueueKey {
            group: checkpoint.group.clone(),
            topic: checkpoint.topic.clone(),
            queue_id: checkpoint.queue_id,
        };
        self.append(
            &mut state,
            &[LogRecord::Checkpoint {
                checkpoint: checkpoint.clone(),
                next,
            }],
        )?;
        let id = checkpoint.id;
        let revive_time = checkpoint.revive_time();
        state.insert(checkpoint);
        if let Some(next) = next {
            state.record_offset(queue, next);
        }
        self.wake_for(&state, revive_time);
        Ok(id)
    }

    /// Acks the messages of the checkpoint `key` names (and `broker_name` wrote) whose
    /// queue offsets `acked` accepts; returns how many were newly acked. An ack of a
    /// checkpoint already finished (acked, or revived after its invisible time) or never
    /// written changes nothing, as Java's revive ignores an ack it finds no checkpoint for.
    pub(crate) fn ack(
        &self,
        key: &CheckpointKey,
        broker_name: &str,
        acked: impl Fn(i64) -> bool,
    ) -> std::io::Result<usize> {
        let mut state = self.lock();
        let Some(id) = state.by_key.get(key).copied() else {
            return Ok(0);
        };
        let Some(open) = state.open.get(&id) else {
            return Ok(0);
        };
        if open.checkpoint.broker_name != broker_name {
            return Ok(0);
        }
        let bits = (0..open.checkpoint.queue_offset_diff.len())
            .filter(|i| acked(open.checkpoint.offset_at(*i)))
            .fold(0u32, |bits, i| bits | (1 << i));
        let before = open.checkpoint.bit_map;
        let Some(record) = state.set_bits(id, bits) else {
            return Ok(0);
        };
        if let Err(e) = self.append(&mut state, std::slice::from_ref(&record)) {
            if let Some(open) = state.open.get_mut(&id) {
                open.checkpoint.bit_map = before;
            }
            return Err(e);
        }
        if matches!(record, LogRecord::Done { .. }) {
            state.remove(id);
        }
        Ok((bits & !before).count_ones() as usize)
    }

    /// CHANGE_MESSAGE_INVISIBLETIME: the un-acked message at `offset` of checkpoint `key` gets
    /// a checkpoint of its own, popped at `now` (or a ms later if that key is taken) and
    /// invisible for `invisible_time`, and is acked in the old one; both in one append.
    /// None when the old checkpoint no longer holds the message un-acked (acked, or already
    /// revived): no new checkpoint could bring it back a second time.
    pub(crate) fn change_invisible_time(
        &self,
        key: &CheckpointKey,
        broker_name: &str,
        offset: i64,
        invisible_time: i64,
        now: i64,
    ) -> std::io::Result<Option<PopCheckpoint>> {
        let mut state = self.lock();
        let Some(id) = state.by_key.get(key).copied() else {
            return Ok(None);
        };
        let Some(open) = state.open.get(&id) else {
            return Ok(None);
        };
        let old = &open.checkpoint;
        let Some(index) = old.index_of(offset) else {
            return Ok(None);
        };
        if old.broker_name != broker_name || old.bit_map & (1 << index) != 0 {
            return Ok(None);
        }
        let mut fresh = PopCheckpoint {
            id: state.next_id,
            start_offset: offset,
            pop_time: now,
            invisible_time: invisible_time.max(0),
            bit_map: 0,
            queue_id: old.queue_id,
            topic: old.topic.clone(),
            group: old.group.clone(),
            queue_offset_diff: vec![0],
            broker_name: old.broker_name.clone(),
            revive_qid: old.revive_qid,
        };
        while state.by_key.contains_key(&CheckpointKey::of(&fresh)) {
            fresh.pop_time += 1;
        }
        let before = old.bit_map;
        let Some(ack) = state.set_bits(id, 1 << index) else {
            return Ok(None);
        };
        let records = [
            LogRecord::Checkpoint {
                checkpoint: fresh.clone(),
                next: None,
            },
            ack.clone(),
        ];
        if let Err(e) = self.append(&mut state, &records) {
            if let Some(open) = state.open.get_mut(&id) {
                open.checkpoint.bit_map = before;
            }
            return Err(e);
        }
        if matches!(ack, LogRecord::Done { .. }) {
            state.remove(id);
        }
        let revive_time = fresh.revive_time();
        state.insert(fresh.clone());
        self.wake_for(&state, revive_time);
        Ok(Some(fresh))
    }

    /// Whether message `index` of checkpoint `id` is acked (or the checkpoint finished).
    pub(crate) fn is_acked(&self, id: u64, index: usize) -> bool {
        self.lock()
            .open
            .get(&id)
            .is_none_or(|open| open.checkpoint.bit_map & (1 << index) != 0)
    }

    /// Waits for the revive thread's next work: due checkpoints (taken out of the due set
    /// until `finish_revive`), or the stop. Flushes (async mode) and compacts the log along the way.
    pub(crate) fn wait_for_work(&self) -> ReviveWork {
        let mut state = self.lock();
        loop {
            if state.stopping {
                return ReviveWork::Stop;
            }
            if state
                .dirty_since
                .is_some_and(|since| since.elapsed() >= self.flush_interval)
            {
                state.dirty_since = None;
                let handle = state.file.try_clone();
                drop(state);
                self.sync_outside_lock(handle);
                state = self.lock();
                continue;
            }
            if self.needs_compaction(&state) {
                if let Err(e) = self.compact(&mut state) {
                    log::error!("compacting the pop checkpoint log failed: {e}");
                    // Not again before the log has grown by as much once more.
                    state.live_bytes = state.file_len;
                }
                continue;
            }
            let now = now_millis();
            let due: Vec<u64> = state
                .due
                .iter()
                .take_while(|(at, _)| *at <= now)
                .map(|(_, id)| *id)
                .collect();
            if !due.is_empty() {
                let mut taken = Vec::with_capacity(due.len());
                for id in due {
                    if let Some(open) = state.open.get(&id) {
                        let at = open.checkpoint.revive_time();
                        taken.push(open.checkpoint.clone());
                        state.due.remove(&(at, id));
                    }
                }
                return ReviveWork::Due(taken);
            }
            let next_due = state.due.first().map(|(at, _)| *at);
            let mut wait = next_due.map_or(Duration::from_secs(3600), |at| {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0))
            });
            if let Some(since) = state.dirty_since {
                wait = wait.min(self.flush_interval.saturating_sub(since.elapsed()));
            }
            state.revive_wakes_at = Some(next_due.unwrap_or(i64::MAX));
            state = self.wake.wait_timeout_unpoisoned(state, wait);
            state.revive_wakes_at = None;
        }
    }

    /// The revive thread is done with checkpoint `id`: the messages of `revived` bits are in
    /// the retry (or dead-letter) topic. Unless `failed`, the checkpoint is finished;
    /// otherwise the revived bits are logged and it is due again after a back-off. When its
    /// record cannot be logged it is due again too (its messages may then come twice, never
    /// stay invisible until a restart), and the error is returned.
    pub(crate) fn finish_revive(&self, id: u64, revived: u32, failed: bool) -> std::io::Result<()> {
        let mut state = self.lock();
        if !state.open.contains_key(&id) {
            return Ok(());
        }
        let record = if failed {
            state.set_bits(id, revived)
        } else {
            Some(LogRecord::Done { id })
        };
        let logged = match &record {
            Some(record) => self.append(&mut state, std::slice::from_ref(record)),
            None => Ok(()),
        };
        let finished = matches!(record, Some(LogRecord::Done { .. }))
            || state.open.get(&id).is_some_and(|o| o.checkpoint.is_done());
        if finished && logged.is_ok() {
            state.remove(id);
            return Ok(());
        }
        if let Some(open) = state.open.get_mut(&id) {
            let delay =
                REVIVE_RETRY_SECONDS[open.revive_attempts.min(REVIVE_RETRY_SECONDS.len() - 1)];
            open.revive_attempts += 1;
            let at = now_millis().saturating_add(delay * 1000);
            log::warn!(
                "reviving checkpoint {id} ({}@{} queue {} from {}) failed; again in {delay} s",
                open.checkpoint.topic,
                open.checkpoint.group,
                open.checkpoint.queue_id,
                open.checkpoint.start_offset
            );
            // The due set orders by revive time: the retry is entered under its new time.
            open.checkpoint.invisible_time = at - open.checkpoint.pop_time;
            state.due.insert((at, id));
        }
        logged
    }

    /// Forgets `group`'s pop offsets, durably (its consumer offsets are being removed). Its
    /// open checkpoints stay and revive into its retry topic, as Java's do.
    pub(crate) fn forget_offsets(&self, group: &str) -> std::io::Result<()> {
        let mut state = self.lock();
        if !state.offsets.keys().any(|key| key.group == group) {
            return Ok(());
        }
        self.append(
            &mut state,
            &[LogRecord::ForgetOffsets {
                c: group.to_string(),
            }],
        )?;
        state.forget_offsets(group);
        Ok(())
    }

    /// The queues' pop offsets the log holds (restored into the consumer offsets at start).
    pub(crate) fn pop_offsets(&self) -> Vec<(QueueKey, i64)> {
        let mut offsets: Vec<_> = self
            .lock()
            .offsets
            .iter()
            .map(|(k, o)| (k.clone(), *o))
            .collect();
        offsets.sort();
        offsets
    }

    /// Open checkpoints and the log's length in bytes (tests, runtime figures).
    pub(crate) fn stats(&self) -> (usize, u64) {
        let state = self.lock();
        (state.open.len(), state.file_len)
    }

    /// Fsyncs what was written (async flush) through a handle of the log, outside the state
    /// lock so that pops and acks do not wait for the disk.
    fn sync_outside_lock(&self, handle: std::io::Result<File>) {
        if let Err(e) = handle.and_then(|file| file.sync_data()) {
            log::error!("fsync of the pop checkpoint log failed: {e}");
            self.lock().broken = Some(format!("fsync failed: {e}"));
        }
    }

    /// Rewrites the log with the open checkpoints and the pop offsets only: written to a
    /// temporary file, fsynced, renamed over the log, the directory fsynced.
    fn compact(&self, state: &mut State) -> std::io::Result<()> {
        let mut records: Vec<LogRecord> = state
            .offsets
            .iter()
            .map(|(k, o)| LogRecord::Offset {
                c: k.group.clone(),
                t: k.topic.clone(),
                q: k.queue_id,
                o: *o,
            })
            .collect();
        let mut open: Vec<&Open> = state.open.values().collect();
        open.sort_by_key(|o| o.checkpoint.id);
        records.extend(open.iter().map(|o| LogRecord::Checkpoint {
            checkpoint: o.checkpoint.clone(),
            next: None,
        }));
        let buf = encode(&records);
        let tmp = self.dir.join("checkpoint.log.tmp");
        {
            let mut file = File::create(&tmp)?;
            file.write_all(&buf)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        sync_dir(&self.dir)?;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        log::info!(
            "pop checkpoint log compacted from {} to {} bytes ({} open checkpoint(s))",
            state.file_len,
            buf.len(),
            state.open.len()
        );
        state.file = file;
        state.file_len = buf.len() as u64;
        state.live_bytes = buf.len() as u64;
        state.dirty_since = None;
        Ok(())
    }

    /// Ends the revive thread's wait: its next `wait_for_work` answers Stop.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.wake.notify_all();
    }

    /// Fsyncs what was written (the last step of a shutdown).
    pub(crate) fn flush(&self) {
        let mut state = self.lock();
        if let Err(e) = state.file.sync_data() {
            log::error!("fsync of the pop checkpoint log failed: {e}");
        }
        state.dirty_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::temp_dir::TempDir;

    const FLUSH: Duration = Duration::from_millis(50);

    fn open(dir: &TempDir, sync: bool) -> CheckpointStore {
        CheckpointStore::open(dir.path(), sync, FLUSH, 4096).unwrap()
    }

    fn checkpoint(start: i64, pop_time: i64, invisible: i64, diffs: &[i32]) -> PopCheckpoint {
        PopCheckpoint {
            id: 0,
            start_offset: start,
            pop_time,
            invisible_time: invisible,
            bit_map: 0,
            queue_id: 0,
            topic: "T".into(),
            group: "G".into(),
            queue_offset_diff: diffs.to_vec(),
            broker_name: "b".into(),
            revive_qid: 2,
        }
    }

    fn key(start: i64, pop_time: i64) -> CheckpointKey {
        CheckpointKey {
            topic: "T".into(),
            group: "G".into(),
            queue_id: 0,
            start_offset: start,
            pop_time,
        }
    }

    #[test]
    fn acks_finish_checkpoints_and_survive_a_reopen() {
        let dir = TempDir::new("pop-ck").unwrap();
        let far = now_millis() + 3_600_000;
        {
            let store = open(&dir, true);
            store
                .add(checkpoint(0, far, 1000, &[0, 1, 2]), Some(3))
                .unwrap();
            store
                .add(checkpoint(3, far, 1000, &[0, 1]), Some(5))
                .unwrap();
            assert!(
                store.add(checkpoint(3, far, 1000, &[0]), None).is_err(),
                "one checkpoint per key"
            );
            assert!(store.add(checkpoint(9, far, 1000, &[]), None).is_err());
            assert_eq!(store.ack(&key(0, far), "b", |o| o == 1).unwrap(), 1);
            assert_eq!(
                store.ack(&key(0, far), "b", |o| o == 1).unwrap(),
                0,
                "twice"
            );
            assert_eq!(store.ack(&key(0, far), "other", |o| o == 0).unwrap(), 0);
            assert_eq!(store.ack(&key(0, far + 1), "b", |o| o == 0).unwrap(), 0);
            assert_eq!(store.ack(&key(3, far), "b", |_| true).unwrap(), 2);
            assert_eq!(store.stats().0, 1, "the second is done");
        }
        let store = open(&dir, true);
        assert_eq!(store.stats().0, 1);
        let offsets = store.pop_offsets();
        assert_eq!(offsets.len(), 1);
        assert_eq!(offsets[0].1, 5);
        assert!(store.is_acked(1, 1));
        assert!(!store.is_acked(1, 0));
        assert_eq!(store.ack(&key(0, far), "b", |o| o != 1).unwrap(), 2);
        assert_eq!(store.stats().0, 0);
    }

    #[test]
    fn a_groups_forgotten_offsets_stay_forgotten_after_a_reopen() {
        let dir = TempDir::new("pop-ck-forget").unwrap();
        let far = now_millis() + 3_600_000;
        {
            let store = open(&dir, true);
            store.add(checkpoint(0, far, 1000, &[0]), Some(1)).unwrap();
            let other = PopCheckpoint {
                group: "H".into(),
                ..checkpoint(0, far, 1000, &[0])
            };
            store.add(other, Some(7)).unwrap();
            store.forget_offsets("G").unwrap();
            store.forget_offsets("nobody").unwrap();
            assert_eq!(store.pop_offsets().len(), 1);
        }
        let store = open(&dir, true);
        let offsets = store.pop_offsets();
        assert_eq!(offsets.len(), 1, "{offsets:?}");
        assert_eq!((offsets[0].0.group.as_str(), offsets[0].1), ("H", 7));
        // The checkpoints stay open: their messages still revive, as Java's do.
        assert_eq!(store.stats().0, 2);
    }

    #[test]
    fn a_torn_tail_is_cut_and_appends_continue_after_it() {
        let dir = TempDir::new("pop-ck-torn").unwrap();
        let far = now_millis() + 3_600_000;
        {
            let store = open(&dir, false);
            store.add(checkpoint(0, far, 1000, &[0]), Some(1)).unwrap();
            store.flush();
        }
        let path = dir.path().join("pop/checkpoint.log");
        let good = fs::metadata(&path).unwrap().len();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[0, 0, 0, 40, 1, 2, 3]).unwrap();
        drop(file);
        let store = open(&dir, false);
        assert_eq!(store.stats(), (1, good));
        store.add(checkpoint(1, far, 1000, &[0]), Some(2)).unwrap();
        drop(store);
        let store = open(&dir, false);
        assert_eq!(store.stats().0, 2);
    }

    #[test]
    fn change_invisible_time_moves_one_message_to_a_checkpoint_of_its_own() {
        let dir = TempDir::new("pop-ck-cit").unwrap();
        let far = now_millis() + 3_600_000;
        let store = open(&dir, true);
        store
            .add(checkpoint(10, far, 1000, &[0, 4]), Some(15))
            .unwrap();
        let fresh = store
            .change_invisible_time(&key(10, far), "b", 14, 5000, far)
            .unwrap()
            .unwrap();
        assert_eq!((fresh.start_offset, fresh.invisible_time), (14, 5000));
        assert_eq!(fresh.queue_offset_diff, [0]);
        assert_eq!(fresh.revive_qid, 2);
        // The old one no longer holds 14; a second change of it finds nothing.
        assert!(store
            .change_invisible_time(&key(10, far), "b", 14, 5000, far)
            .unwrap()
            .is_none());
        // Same key in the same ms: the new checkpoint takes the next ms.
        let again = store
            .change_invisible_time(&key(14, far), "b", 14, 5000, far)
            .unwrap()
            .unwrap();
        assert_eq!(again.pop_time, far + 1);
        assert_eq!(store.stats().0, 2, "the old of 10 and the newest of 14");
        drop(store);
        let store = open(&dir, true);
        assert_eq!(store.stats().0, 2);
        assert_eq!(store.ack(&key(14, far + 1), "b", |o| o == 14).unwrap(), 1);
        assert_eq!(store.ack(&key(10, far), "b", |o| o == 10).unwrap(), 1);
        assert_eq!(store.stats().0, 0);
    }

    #[test]
    fn the_flush_mode_follows_the_broker_while_it_runs() {
        let dir = TempDir::new("pop-ck-flush-mode").unwrap();
        let far = now_millis() + 3_600_000;
        let store = open(&dir, false);
        store.add(checkpoint(0, far, 1000, &[0]), Some(1)).unwrap();
        assert!(
            store.lock().dirty_since.is_some(),
            "async: left to the revive thread"
        );
        store.flush();
        store.set_sync_flush(true);
        store.add(checkpoint(1, far, 1000, &[0]), Some(2)).unwrap();
        assert!(
            store.lock().dirty_since.is_none(),
            "sync: fsynced before add returned"
        );
    }

    #[test]
    fn a_revive_whose_record_cannot_be_logged_is_due_again() {
        let dir = TempDir::new("pop-ck-unlogged").unwrap();
        let store = open(&dir, false);
        store
            .add(checkpoint(0, now_millis() - 10, 0, &[0, 1]), Some(2))
            .unwrap();
        let ReviveWork::Due(due) = store.wait_for_work() else {
            panic!("stopped")
        };
        let id = due[0].id;
        // The log takes no more writes (as after a failed fsync, or a full disk).
        store.lock().broken = Some("test".into());
        assert!(store.finish_revive(id, 0b11, false).is_err());
        // Neither forgotten nor out of the due set: it revives again later.
        let state = store.lock();
        assert!(state.open.contains_key(&id));
        assert!(state.due.iter().any(|(_, due_id)| *due_id == id));
    }

    #[test]
    fn due_checkpoints_are_handed_out_once_and_retried_after_a_failure() {
        let dir = TempDir::new("pop-ck-due").unwrap();
        let now = now_millis();
        let store = open(&dir, false);
        store
            .add(checkpoint(0, now - 10, 0, &[0, 1]), Some(2))
            .unwrap();
        store
            .add(checkpoint(2, now + 3_600_000, 0, &[0]), Some(3))
            .unwrap();
        let ReviveWork::Due(due) = store.wait_for_work() else {
            panic!("stopped")
        };
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].start_offset, 0);
        // Message 0 revived, message 1 failed: due again later, not now.
        store.finish_revive(due[0].id, 0b01, true).unwrap();
        assert!(store.is_acked(due[0].id, 0));
        assert!(!store.is_acked(due[0].id, 1));
        store.stop();
        assert!(matches!(store.wait_for_work(), ReviveWork::Stop));
        drop(store);
        // After a restart the failed one is due at once (its retry time was memory only,
        // and its revived message is not revived again).
        let store = open(&dir, false);
        let ReviveWork::Due(due) = store.wait_for_work() else {
            panic!("stopped")
        };
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].bit_map, 0b01);
        store.finish_revive(due[0].id, 0b10, false).unwrap();
        assert_eq!(store.stats().0, 1);
    }

    #[test]
    fn the_revive_wait_wakes_for_an_earlier_checkpoint() {
        let dir = TempDir::new("pop-ck-wake").unwrap();
        let store = std::sync::Arc::new(open(&dir, true));
        let waiter = {
            let store = store.clone();
            std::thread::spawn(move || match store.wait_for_work() {
                ReviveWork::Due(due) => due.len(),
                ReviveWork::Stop => 0,
            })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.lock().revive_wakes_at.is_none() {
            assert!(Instant::now() < deadline, "the revive wait never started");
            std::thread::yield_now();
        }
        store
            .add(checkpoint(0, now_millis(), 0, &[0]), Some(1))
            .unwrap();
        assert_eq!(waiter.join().unwrap(), 1);
    }

    #[test]
    fn compaction_keeps_open_checkpoints_and_offsets_only() {
        let dir = TempDir::new("pop-ck-compact").unwrap();
        let far = now_millis() + 3_600_000;
        let store = open(&dir, false);
        for start in 0..200 {
            store
                .add(checkpoint(start, far, 1000, &[0]), Some(start + 1))
                .unwrap();
            if start % 10 != 0 {
                store.ack(&key(start, far), "b", |_| true).unwrap();
            }
        }
        let (open_before, len_before) = store.stats();
        assert_eq!(open_before, 20);
        assert!(len_before > 4096);
        // Compaction runs in the revive thread's wait; called here directly.
        let len_after = {
            let mut state = store.lock();
            store.compact(&mut state).unwrap();
            state.file_len
        };
        assert!(len_after < len_before / 4, "{len_after} of {len_before}");
        store
            .add(checkpoint(500, far, 1000, &[0]), Some(501))
            .unwrap();
        drop(store);
        let reopened = open(&dir, false);
        let state = reopened.lock();
        assert_eq!(state.open.len(), 21);
        assert_eq!(state.offsets.values().copied().max(), Some(501));
    }
}
