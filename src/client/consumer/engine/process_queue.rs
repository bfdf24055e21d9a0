//! `ProcessQueue`: the messages pulled from one queue and not yet consumed; mirrors Java's
//! `ProcessQueue`.
//!
//! Pulled messages go in by offset; consumed ones come out, and what comes out says which
//! offset may be committed: the smallest offset still held (a message consumed late keeps the
//! commit behind it), or one past the largest pulled when nothing is held. An orderly
//! consumer instead takes messages out in offset order and commits them as a whole.
//!
//! No message is copied here. An orderly queue owns its messages until a consume request
//! takes them (moved out, and back in when the listener asks to try again); a concurrent one
//! shares each [`ConsumeBatch`] with the request that consumes it; a lite pull consumer's
//! queue keeps only sizes, the messages waiting for `poll` elsewhere.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::common::clock::now_millis;
use crate::common::sync::MutexExt;
use crate::protocol::body::ProcessQueueInfo;
use crate::protocol::message::message_const::PROPERTY_MAX_OFFSET;
use crate::protocol::message::MessageExt;
use crate::remoting::{Permit, Semaphore};

/// A lock held longer than this without renewal is not trusted (`REBALANCE_LOCK_MAX_LIVE_TIME`).
pub(crate) const REBALANCE_LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(30);
/// A queue not pulled for this long is dropped by the next rebalance (`PULL_MAX_IDLE_TIME`).
pub(crate) const PULL_MAX_IDLE_TIME: Duration = Duration::from_secs(120);

/// A batch of messages handed to one concurrent consume request, shared with the process
/// queue that tracks them: the messages are moved in once and never copied.
#[derive(Debug)]
pub(crate) struct ConsumeBatch {
    /// The messages, in offset order.
    pub(crate) messages: Vec<MessageExt>,
    /// When the listener started on them, ms (0: not yet), for
    /// [`ProcessQueue::first_expired`] (`CONSUME_START_TIME`).
    started_ms: AtomicI64,
}

impl ConsumeBatch {
    pub(crate) fn new(messages: Vec<MessageExt>) -> Arc<ConsumeBatch> {
        Arc::new(ConsumeBatch {
            messages,
            started_ms: AtomicI64::new(0),
        })
    }

    /// The listener starts on the batch now.
    pub(crate) fn note_consume_start(&self, now_ms: i64) {
        self.started_ms.store(now_ms, Ordering::Relaxed);
    }
}

/// What a process queue keeps of one message it holds, besides its offset.
enum Kept {
    /// The message itself, until an orderly consume request takes it.
    Message(Box<MessageExt>),
    /// Message `index` of a batch a concurrent consume request has.
    InBatch(Arc<ConsumeBatch>, usize),
    /// Only the body's size: the message waits for `poll` in the consumer's queue.
    Size(u64),
}

impl Kept {
    fn size(&self) -> u64 {
        match self {
            Kept::Message(m) => m.body.len() as u64,
            Kept::InBatch(batch, index) => batch.messages[*index].body.len() as u64,
            Kept::Size(size) => *size,
        }
    }
}

#[derive(Default)]
struct Held {
    /// Offset → what is kept of each message pulled and not yet consumed (Java's
    /// `msgTreeMap`).
    messages: BTreeMap<i64, Kept>,
    /// Orderly: offsets taken out for the listener, not yet committed, with their sizes
    /// (`consumingMsgOrderlyTreeMap`).
    consuming: BTreeMap<i64, u64>,
    /// Bytes of the bodies held.
    size: u64,
    /// The largest offset ever put in (`queueOffsetMax`).
    max_offset: i64,
    /// Orderly: a consume request is running or queued for this queue (`consuming`).
    dispatched: bool,
    /// How far behind the queue's end the last pull was (`msgAccCnt`).
    behind: i64,
}

impl Held {
    /// Keeps `kept` for the message at `offset` (a repeated offset replaces what was kept:
    /// the same message, resubmitted in a new batch).
    fn keep(&mut self, offset: i64, kept: Kept) {
        let size = kept.size();
        match self.messages.insert(offset, kept) {
            Some(old) => self.size = self.size.saturating_sub(old.size()) + size,
            None => self.size += size,
        }
        self.max_offset = self.max_offset.max(offset);
    }

    /// Notes how far behind the queue's end the last message put in was (`msgAccCnt`).
    fn note_behind(&mut self, last: Option<&MessageExt>) {
        if let Some(last) = last {
            if let Some(max) = last
                .property(PROPERTY_MAX_OFFSET)
                .and_then(|v| v.parse::<i64>().ok())
            {
                self.behind = max - last.queue_offset;
            }
        }
    }
}

/// One queue's pulled, unconsumed messages and its state in the rebalance.
pub(crate) struct ProcessQueue {
    held: Mutex<Held>,
    dropped: AtomicBool,
    locked: AtomicBool,
    last_lock_ms: AtomicI64,
    last_pull_ms: AtomicI64,
    last_consume_ms: AtomicI64,
    try_unlock_times: AtomicI64,
    /// Held by an orderly listener while it runs (Java's `consumeLock`), so a rebalance does
    /// not unlock the queue at the broker in the middle of a message: one permit, so that a
    /// rebalance can wait for it with a timeout (`tryLock(1000 ms)`).
    consume_lock: Arc<Semaphore>,
}

impl Default for ProcessQueue {
    fn default() -> Self {
        let now = now_millis();
        ProcessQueue {
            held: Mutex::new(Held::default()),
            dropped: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            last_lock_ms: AtomicI64::new(now),
            last_pull_ms: AtomicI64::new(now),
            last_consume_ms: AtomicI64::new(now),
            try_unlock_times: AtomicI64::new(0),
            consume_lock: Semaphore::new(1),
        }
    }
}

impl ProcessQueue {
    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock_unpoisoned()
    }

    /// Orderly: moves pulled messages in, to wait for a consume request (a repeated offset
    /// is ignored). True when the caller must dispatch one: no request is running for this
    /// queue (`putMessage`'s `dispatchToConsume`).
    pub(crate) fn put_messages(&self, messages: Vec<MessageExt>) -> bool {
        let mut held = self.held();
        held.note_behind(messages.last());
        for m in messages {
            if !held.messages.contains_key(&m.queue_offset) {
                held.keep(m.queue_offset, Kept::Message(Box::new(m)));
            }
        }
        let dispatch = !held.messages.is_empty() && !held.dispatched;
        if dispatch {
            held.dispatched = true;
        }
        dispatch
    }

    /// Concurrently: tracks the messages of `batch`, which a consume request has (`putMessage`
    /// for a concurrent listener). A batch resubmitted later takes its messages' places.
    pub(crate) fn put_batch(&self, batch: &Arc<ConsumeBatch>) {
        let mut held = self.held();
        held.note_behind(batch.messages.last());
        for (index, m) in batch.messages.iter().enumerate() {
            held.keep(m.queue_offset, Kept::InBatch(batch.clone(), index));
        }
    }

    /// Lite pull: tracks messages that wait for `poll` elsewhere (a repeated offset is
    /// ignored).
    pub(crate) fn put_polled(&self, messages: &[MessageExt]) {
        let mut held = self.held();
        held.note_behind(messages.last());
        for m in messages {
            if !held.messages.contains_key(&m.queue_offset) {
                held.keep(m.queue_offset, Kept::Size(m.body.len() as u64));
            }
        }
    }

    /// Removes the consumed messages at `offsets` and returns the offset that may be
    /// committed: the smallest offset still held, else one past the largest pulled; -1 when
    /// nothing was ever held (`removeMessage`).
    pub(crate) fn remove_messages(&self, offsets: impl IntoIterator<Item = i64>) -> i64 {
        let mut held = self.held();
        self.last_consume_ms.store(now_millis(), Ordering::Relaxed);
        if held.messages.is_empty() {
            return -1;
        }
        let mut result = held.max_offset + 1;
        for offset in offsets {
            if let Some(removed) = held.messages.remove(&offset) {
                held.size = held.size.saturating_sub(removed.size());
            }
        }
        if let Some((&first, _)) = held.messages.iter().next() {
            result = first;
        }
        result
    }

    /// Orderly: moves up to `batch` messages out in offset order for the listener; an empty
    /// result also ends this queue's dispatch (`takeMessages`).
    pub(crate) fn take_messages(&self, batch: usize) -> Vec<MessageExt> {
        let mut held = self.held();
        self.last_consume_ms.store(now_millis(), Ordering::Relaxed);
        let mut taken = Vec::new();
        while taken.len() < batch {
            let Some((offset, kept)) = held.messages.pop_first() else {
                break;
            };
            held.consuming.insert(offset, kept.size());
            match kept {
                Kept::Message(message) => taken.push(*message),
                // Only an orderly queue is taken from, and it keeps messages.
                Kept::InBatch(..) | Kept::Size(_) => {}
            }
        }
        if taken.is_empty() {
            held.dispatched = false;
        }
        taken
    }

    /// Orderly: the messages taken are consumed; returns the offset to commit (one past the
    /// last taken), or -1 when nothing was taken (`commit`).
    pub(crate) fn commit(&self) -> i64 {
        let mut held = self.held();
        let offset = held
            .consuming
            .keys()
            .next_back()
            .map_or(-1, |last| last + 1);
        let consumed: u64 = held.consuming.values().sum();
        held.size = held.size.saturating_sub(consumed);
        held.consuming.clear();
        offset
    }

    /// Orderly: moves the messages taken back in, to be consumed again
    /// (`makeMessageToConsumeAgain`).
    pub(crate) fn make_messages_to_consume_again(&self, messages: Vec<MessageExt>) {
        let mut held = self.held();
        for m in messages {
            held.consuming.remove(&m.queue_offset);
            held.messages
                .insert(m.queue_offset, Kept::Message(Box::new(m)));
        }
    }

    /// The oldest message held, if its listener started before `started_before_ms`
    /// (`cleanExpiredMsg` looks at the first message only: a hung listener holds back the
    /// queue's commit offset, and nothing else does). A copy: the listener may still have it.
    pub(crate) fn first_expired(&self, started_before_ms: i64) -> Option<MessageExt> {
        let held = self.held();
        let (_, Kept::InBatch(batch, index)) = held.messages.iter().next()? else {
            return None;
        };
        let started = batch.started_ms.load(Ordering::Relaxed);
        (started > 0 && started < started_before_ms).then(|| batch.messages[*index].clone())
    }

    /// Drops everything held (after an offset reset).
    pub(crate) fn clear(&self) {
        let mut held = self.held();
        held.messages.clear();
        held.consuming.clear();
        held.size = 0;
        held.max_offset = 0;
    }

    /// Messages held (pulled, not yet consumed), orderly in-flight ones included.
    pub(crate) fn message_count(&self) -> usize {
        let held = self.held();
        held.messages.len() + held.consuming.len()
    }

    /// Bytes of the bodies held.
    pub(crate) fn message_size(&self) -> u64 {
        self.held().size
    }

    /// Largest minus smallest offset held (`getMaxSpan`): a concurrent consumer stops pulling
    /// a queue whose oldest message is stuck too far behind.
    pub(crate) fn max_span(&self) -> i64 {
        let held = self.held();
        match (
            held.messages.keys().next(),
            held.messages.keys().next_back(),
        ) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// Whether messages are held, in flight included (`hasTempMessage`).
    pub(crate) fn has_messages(&self) -> bool {
        self.message_count() > 0
    }

    /// The rebalance took this queue away (or the consumer stops): pulls and consumption stop.
    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    pub(crate) fn set_dropped(&self, dropped: bool) {
        self.dropped.store(dropped, Ordering::SeqCst);
    }

    /// Orderly: the broker's lock on this queue is held for us.
    pub(crate) fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    pub(crate) fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
        if locked {
            self.last_lock_ms.store(now_millis(), Ordering::Relaxed);
        }
    }

    /// The lock was not renewed within [`REBALANCE_LOCK_MAX_LIVE_TIME`].
    pub(crate) fn is_lock_expired(&self) -> bool {
        now_millis() - self.last_lock_ms.load(Ordering::Relaxed)
            > REBALANCE_LOCK_MAX_LIVE_TIME.as_millis() as i64
    }

    /// Notes that a pull for this queue starts.
    pub(crate) fn touch_pull(&self) {
        self.last_pull_ms.store(now_millis(), Ordering::Relaxed);
    }

    /// Not pulled for [`PULL_MAX_IDLE_TIME`].
    pub(crate) fn is_pull_expired(&self) -> bool {
        now_millis() - self.last_pull_ms.load(Ordering::Relaxed)
            > PULL_MAX_IDLE_TIME.as_millis() as i64
    }

    /// Orderly: taken while a listener runs on this queue; waits as long as it takes.
    pub(crate) fn lock_consume(&self) -> Permit {
        loop {
            if let Some(permit) = self.consume_lock.acquire(Duration::MAX) {
                return permit;
            }
        }
    }

    /// Orderly: the consume lock, if the listener running on this queue finishes within
    /// `timeout`.
    pub(crate) fn try_lock_consume(&self, timeout: Duration) -> Option<Permit> {
        self.consume_lock.acquire(timeout)
    }

    pub(crate) fn inc_try_unlock_times(&self) {
        self.try_unlock_times.fetch_add(1, Ordering::Relaxed);
    }

    /// The queue's state for GET_CONSUMER_RUNNING_INFO (`fillProcessQueueInfo`).
    pub(crate) fn info(&self, commit_offset: i64) -> ProcessQueueInfo {
        let held = self.held();
        ProcessQueueInfo {
            commit_offset,
            cached_msg_min_offset: held.messages.keys().next().copied().unwrap_or(0),
            cached_msg_max_offset: held.messages.keys().next_back().copied().unwrap_or(0),
            cached_msg_count: held.messages.len() as i64,
            cached_msg_size_in_mib: (held.size / (1024 * 1024)) as i64,
            transaction_msg_min_offset: held.consuming.keys().next().copied().unwrap_or(0),
            transaction_msg_max_offset: held.consuming.keys().next_back().copied().unwrap_or(0),
            transaction_msg_count: held.consuming.len() as i64,
            locked: self.is_locked(),
            try_unlock_times: self.try_unlock_times.load(Ordering::Relaxed),
            last_lock_timestamp: self.last_lock_ms.load(Ordering::Relaxed),
            dropped: self.is_dropped(),
            last_pull_timestamp: self.last_pull_ms.load(Ordering::Relaxed),
            last_consume_timestamp: self.last_consume_ms.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64, size: usize) -> MessageExt {
        MessageExt {
            queue_offset: offset,
            body: vec![0; size].into(),
            ..MessageExt::default()
        }
    }

    #[test]
    fn the_commit_offset_waits_for_the_oldest_message() {
        let pq = ProcessQueue::default();
        assert_eq!(pq.remove_messages([0]), -1, "nothing ever held");
        pq.put_batch(&ConsumeBatch::new(vec![at(10, 5), at(11, 5), at(12, 5)]));
        assert_eq!((pq.message_count(), pq.message_size()), (3, 15));
        assert_eq!(pq.max_span(), 2);
        // 11 and 12 done, 10 still running: commit stays at 10.
        assert_eq!(pq.remove_messages([11, 12]), 10);
        assert_eq!(pq.remove_messages([10]), 13);
        assert_eq!((pq.message_count(), pq.message_size()), (0, 0));
    }

    #[test]
    fn a_batch_is_shared_not_copied_and_a_stuck_one_is_found() {
        let pq = ProcessQueue::default();
        let batch = ConsumeBatch::new(vec![at(7, 3), at(8, 3)]);
        pq.put_batch(&batch);
        assert_eq!(
            Arc::strong_count(&batch),
            3,
            "the queue holds the batch, not copies"
        );
        assert!(
            pq.first_expired(now_millis() + 1).is_none(),
            "not started yet"
        );
        batch.note_consume_start(now_millis() - 10);
        assert_eq!(pq.first_expired(now_millis()).unwrap().queue_offset, 7);
        // Resubmitted in a new batch: the new one takes the message's place, sizes unchanged.
        pq.put_batch(&ConsumeBatch::new(vec![at(7, 3)]));
        assert_eq!((pq.message_count(), pq.message_size()), (2, 6));
        assert!(
            pq.first_expired(now_millis()).is_none(),
            "the new batch has not started"
        );
        // Polled messages: only their sizes are kept.
        let polled = ProcessQueue::default();
        polled.put_polled(&[at(1, 10), at(2, 10)]);
        assert_eq!((polled.message_count(), polled.message_size()), (2, 20));
        assert_eq!(polled.remove_messages([1, 2]), 3);
    }

    #[test]
    fn orderly_takes_in_offset_order_and_commits_as_a_whole() {
        let pq = ProcessQueue::default();
        assert!(pq.put_messages(vec![at(3, 1), at(1, 1), at(2, 1)]));
        assert!(
            !pq.put_messages(vec![at(4, 1)]),
            "a request is already dispatched"
        );
        let taken = pq.take_messages(2);
        assert_eq!(
            taken.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [1, 2]
        );
        pq.make_messages_to_consume_again(taken);
        let taken = pq.take_messages(2);
        assert_eq!(taken[0].queue_offset, 1);
        assert_eq!(pq.commit(), 3);
        assert_eq!(pq.take_messages(10).len(), 2);
        assert_eq!(pq.commit(), 5);
        assert!(pq.take_messages(10).is_empty());
        assert!(
            pq.put_messages(vec![at(5, 1)]),
            "dispatch ended with the empty take"
        );
    }
}
