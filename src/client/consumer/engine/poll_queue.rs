//! `PollQueue`: where a lite pull consumer's pulled batches wait for `poll`, with each
//! queue's consume offset and pause; mirrors Java's `DefaultLitePullConsumerImpl`
//! `consumeRequestCache` and `AssignedMessageQueue`.
//!
//! A batch is moved in as pulled and moved out to the caller by `poll`: never copied. Its
//! process queue tracks only the sizes, for flow control, and says the consume offset when
//! `poll` takes the batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::process_queue::ProcessQueue;
use crate::client::consumer::consume_hook::ConsumeHooks;
use crate::common::sync::MutexExt;
use crate::protocol::message::{MessageExt, MessageQueue};

/// A pulled batch waiting for `poll` (Java's `ConsumeRequest`).
struct ConsumeRequest {
    messages: Vec<MessageExt>,
    queue: MessageQueue,
    pq: Arc<ProcessQueue>,
}

/// The batches waiting for `poll`, and what `poll` has given so far.
pub(crate) struct PollQueue {
    ready_tx: Sender<ConsumeRequest>,
    ready_rx: Receiver<ConsumeRequest>,
    /// Queues whose pulls and polls are paused.
    paused: Mutex<Vec<MessageQueue>>,
    /// Batches of paused queues, held back from `poll` until they resume.
    held_back: Mutex<Vec<ConsumeRequest>>,
    /// Queue → the offset after the last message `poll` returned (`consumeOffset`).
    consume_offsets: Mutex<HashMap<MessageQueue, i64>>,
    /// Auto-commit: commits every this often, from `poll` and from the offsets thread.
    auto_commit: Option<Duration>,
    last_commit: Mutex<Instant>,
    /// The consume hooks, run around each batch `poll` returns.
    hooks: ConsumeHooks,
}

impl PollQueue {
    /// An empty queue; with `auto_commit`, [`PollQueue::poll`] says when a commit is due.
    pub(crate) fn new(auto_commit: Option<Duration>, hooks: ConsumeHooks) -> Self {
        let (ready_tx, ready_rx) = unbounded();
        PollQueue {
            hooks,
            ready_tx,
            ready_rx,
            paused: Mutex::new(Vec::new()),
            held_back: Mutex::new(Vec::new()),
            consume_offsets: Mutex::new(HashMap::new()),
            auto_commit,
            last_commit: Mutex::new(Instant::now()),
        }
    }

    /// Whether polled offsets are committed automatically.
    pub(crate) fn auto_commit(&self) -> bool {
        self.auto_commit.is_some()
    }

    /// Puts a pulled batch of `queue` in line for `poll`; `pq` tracks its size.
    pub(crate) fn put(
        &self,
        messages: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        queue: &MessageQueue,
    ) {
        pq.put_polled(&messages);
        let _ = self.ready_tx.send(ConsumeRequest {
            messages,
            queue: queue.clone(),
            pq: pq.clone(),
        });
    }

    /// Up to `timeout` for the next batch (`poll`), and whether an auto-commit is due.
    pub(crate) fn poll(&self, timeout: Duration) -> (Vec<MessageExt>, bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(request) = self.ready_rx.recv_timeout(left) else {
                return (Vec::new(), self.commit_due());
            };
            if request.pq.is_dropped() {
                continue; // its queue was taken away or sought: these are stale
            }
            if self.is_paused(&request.queue) {
                // Pulled before the pause: kept for when the queue resumes.
                self.held_back.lock_unpoisoned().push(request);
                continue;
            }
            let offset = request
                .pq
                .remove_messages(request.messages.iter().map(|m| m.queue_offset));
            if offset >= 0 {
                self.set_consume_offset(&request.queue, offset);
            }
            self.hooks.polled(&request.queue, &request.messages);
            return (request.messages, self.commit_due());
        }
    }

    /// True, and the clock restarted, when an auto-commit is due.
    fn commit_due(&self) -> bool {
        let Some(interval) = self.auto_commit else {
            return false;
        };
        let mut last = self.last_commit.lock_unpoisoned();
        let due = last.elapsed() >= interval;
        if due {
            *last = Instant::now();
        }
        due
    }

    /// Where the consumption of `queue` stands (a newly held queue: its start offset).
    pub(crate) fn set_consume_offset(&self, queue: &MessageQueue, offset: i64) {
        self.consume_offsets
            .lock_unpoisoned()
            .insert(queue.clone(), offset);
    }

    /// Forgets `queue`'s consume offset, returning it (the queue is let go).
    pub(crate) fn take_consume_offset(&self, queue: &MessageQueue) -> Option<i64> {
        self.consume_offsets.lock_unpoisoned().remove(queue)
    }

    /// Every queue's consume offset.
    pub(crate) fn consume_offsets(&self) -> HashMap<MessageQueue, i64> {
        self.consume_offsets.lock_unpoisoned().clone()
    }

    /// Sets the consume offsets given.
    pub(crate) fn set_consume_offsets(&self, offsets: &BTreeMap<MessageQueue, i64>) {
        let mut consume_offsets = self.consume_offsets.lock_unpoisoned();
        for (queue, offset) in offsets {
            consume_offsets.insert(queue.clone(), *offset);
        }
    }

    /// Pauses pulls and polls of `queues`.
    pub(crate) fn pause(&self, queues: &[MessageQueue]) {
        let mut paused = self.paused.lock_unpoisoned();
        for queue in queues {
            if !paused.contains(queue) {
                paused.push(queue.clone());
            }
        }
    }

    /// Resumes `queues`: what was held back for them comes to `poll` again.
    pub(crate) fn resume(&self, queues: &[MessageQueue]) {
        self.paused
            .lock_unpoisoned()
            .retain(|q| !queues.contains(q));
        let mut held_back = self.held_back.lock_unpoisoned();
        let (resumed, still): (Vec<_>, Vec<_>) = std::mem::take(&mut *held_back)
            .into_iter()
            .partition(|r| queues.contains(&r.queue));
        *held_back = still;
        for request in resumed {
            let _ = self.ready_tx.send(request);
        }
    }

    /// Whether `queue` is paused.
    pub(crate) fn is_paused(&self, queue: &MessageQueue) -> bool {
        self.paused.lock_unpoisoned().contains(queue)
    }
}
