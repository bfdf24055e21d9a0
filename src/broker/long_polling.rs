//! `PullRequestHoldService`: pulls with nothing to read wait here until a message arrives or
//! their suspend timeout passes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};

use crate::common::sync::MutexExt;
use crate::protocol::RemotingCommand;
use crate::remoting::RequestContext;

/// A pull waiting for a message; mirrors Java's `PullRequest`.
pub(crate) struct HeldPull {
    /// Where to answer.
    pub ctx: RequestContext,
    /// The original request, run again on wake-up.
    pub request: RemotingCommand,
    /// Its topic.
    pub topic: String,
    /// Its queue.
    pub queue_id: i32,
    /// The offset it wants; a max offset beyond it means there is something to read.
    pub pull_from_offset: i64,
    /// When to answer PULL_NOT_FOUND if nothing arrives.
    pub deadline: Instant,
}

enum Event {
    Arrived {
        topic: String,
        queue_id: i32,
        max_offset: i64,
    },
    /// A pull was held on this queue.
    Held {
        topic: String,
        queue_id: i32,
    },
    Stop,
}

/// How often every held pull is checked against its queue's max offset, its deadline and its
/// connection, whatever else happens (Java's `PullRequestHoldService` loop).
const FULL_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Held pulls by queue, and a lower bound of their deadlines.
#[derive(Default)]
struct Held {
    queues: HashMap<(String, i32), Vec<HeldPull>>,
    /// No deadline is earlier; may be earlier than the true minimum after pulls are woken, which
    /// only costs a deadline scan that finds nothing.
    earliest_deadline: Option<Instant>,
}

/// What answers held pulls: the pull processor, which runs a woken pull again. Defined here
/// so that this service does not depend on the processors that use it.
pub(crate) trait HeldPullAnswerer: Send + Sync {
    /// Runs `pull` again and answers it (`executeRequestWhenWakeup`).
    fn execute_when_wakeup(&self, pull: HeldPull);
    /// The next offset to be written in a queue.
    fn max_offset(&self, topic: &str, queue_id: i32) -> i64;
}

/// Holds pulls by queue and wakes them on arrival (`notifyMessageArriving`) or at their
/// deadline, on its own thread, `rmq-pull-hold`.
pub(crate) struct PullRequestHoldService {
    held: Mutex<Held>,
    events: Sender<Event>,
    receiver: Mutex<Option<Receiver<Event>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl PullRequestHoldService {
    /// A service; its thread starts with [`PullRequestHoldService::start`].
    pub(crate) fn new() -> Arc<Self> {
        let (events, receiver) = unbounded();
        Arc::new(PullRequestHoldService {
            held: Mutex::new(Held::default()),
            events,
            receiver: Mutex::new(Some(receiver)),
            thread: Mutex::new(None),
        })
    }

    /// Starts the thread that answers held pulls through `processor`.
    pub(crate) fn start(
        self: &Arc<Self>,
        processor: Arc<dyn HeldPullAnswerer>,
    ) -> std::io::Result<()> {
        let Some(receiver) = self.receiver.lock_unpoisoned().take() else {
            return Ok(());
        };
        let service = Arc::clone(self);
        let handle = thread::Builder::new()
            .name("rmq-pull-hold".into())
            .spawn(move || service.run(receiver, processor))?;
        *self.thread.lock_unpoisoned() = Some(handle);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock_unpoisoned()
    }

    /// `suspendPullRequest`.
    pub(crate) fn suspend(&self, pull: HeldPull) {
        let (topic, queue_id) = (pull.topic.clone(), pull.queue_id);
        {
            let mut held = self.lock();
            held.earliest_deadline = Some(
                held.earliest_deadline
                    .map_or(pull.deadline, |d| d.min(pull.deadline)),
            );
            held.queues
                .entry((topic.clone(), queue_id))
                .or_default()
                .push(pull);
        }
        // The thread re-checks this queue and recomputes its wait for the new deadline.
        let _ = self.events.send(Event::Held { topic, queue_id });
    }

    /// `notifyMessageArriving`: the store appended to a queue; called from the store.
    pub(crate) fn notify_message_arriving(&self, topic: &str, queue_id: i32, max_offset: i64) {
        // Most puts find nobody waiting; waking the thread for them would cost every send a
        // context switch. A pull held after this check sees the message on its own re-check.
        let key = (topic.to_string(), queue_id);
        if !self.lock().queues.contains_key(&key) {
            return;
        }
        let _ = self.events.send(Event::Arrived {
            topic: key.0,
            queue_id,
            max_offset,
        });
    }

    /// Pulls waiting right now (tests).
    pub(crate) fn held_count(&self) -> usize {
        self.lock().queues.values().map(Vec::len).sum()
    }

    fn run(&self, receiver: Receiver<Event>, processor: Arc<dyn HeldPullAnswerer>) {
        let mut next_full_scan = Instant::now() + FULL_SCAN_INTERVAL;
        loop {
            let wake_at = self
                .lock()
                .earliest_deadline
                .map_or(next_full_scan, |d| d.min(next_full_scan));
            match receiver.recv_timeout(wake_at.saturating_duration_since(Instant::now())) {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(Event::Arrived {
                    topic,
                    queue_id,
                    max_offset,
                }) => {
                    for pull in
                        self.take_queue(&topic, queue_id, |p| max_offset > p.pull_from_offset)
                    {
                        processor.execute_when_wakeup(pull);
                    }
                }
                // A message may have landed between the pull's read and its suspension, when
                // no pull was held to be woken: look at its queue again (checkHoldRequest).
                Ok(Event::Held { topic, queue_id }) => {
                    let max_offset = processor.max_offset(&topic, queue_id);
                    for pull in
                        self.take_queue(&topic, queue_id, |p| max_offset > p.pull_from_offset)
                    {
                        processor.execute_when_wakeup(pull);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            if now >= next_full_scan {
                next_full_scan = now + FULL_SCAN_INTERVAL;
                // One max-offset lookup per queue, not per pull, and none under the lock:
                // the store's arrival callback takes it.
                let keys: Vec<(String, i32)> = self.lock().queues.keys().cloned().collect();
                let max_offsets: HashMap<(String, i32), i64> = keys
                    .into_iter()
                    .map(|(topic, queue_id)| {
                        let max = processor.max_offset(&topic, queue_id);
                        ((topic, queue_id), max)
                    })
                    .collect();
                for pull in self.take_all(|p| {
                    p.deadline <= now
                        || p.ctx.connection().is_closed()
                        || max_offsets
                            .get(&(p.topic.clone(), p.queue_id))
                            .is_some_and(|max| *max > p.pull_from_offset)
                }) {
                    self.answer(&*processor, pull);
                }
            } else if self.lock().earliest_deadline.is_some_and(|d| d <= now) {
                for pull in self.take_all(|p| p.deadline <= now) {
                    self.answer(&*processor, pull);
                }
            }
        }
        // Shutting down: answer what is still held so no client waits for nothing.
        for pull in self.take_all(|_| true) {
            processor.execute_when_wakeup(pull);
        }
    }

    /// Answers a pull taken by a scan, unless nobody is there to read the answer.
    fn answer(&self, processor: &dyn HeldPullAnswerer, pull: HeldPull) {
        if !pull.ctx.connection().is_closed() {
            processor.execute_when_wakeup(pull);
        }
    }

    /// Removes and returns the pulls held on one queue that match `pred`.
    fn take_queue(
        &self,
        topic: &str,
        queue_id: i32,
        pred: impl Fn(&HeldPull) -> bool,
    ) -> Vec<HeldPull> {
        let mut held = self.lock();
        let key = (topic.to_string(), queue_id);
        let Some(pulls) = held.queues.get_mut(&key) else {
            return Vec::new();
        };
        let (wake, keep): (Vec<_>, Vec<_>) = std::mem::take(pulls).into_iter().partition(&pred);
        if keep.is_empty() {
            held.queues.remove(&key);
        } else {
            *pulls = keep;
        }
        wake
    }

    /// Removes and returns every held pull that matches `pred`, and recomputes the earliest
    /// deadline of those left.
    fn take_all(&self, pred: impl Fn(&HeldPull) -> bool) -> Vec<HeldPull> {
        let mut held = self.lock();
        let mut out = Vec::new();
        for pulls in held.queues.values_mut() {
            let (wake, keep): (Vec<_>, Vec<_>) =
                std::mem::take(pulls).into_iter().partition(|p| pred(p));
            *pulls = keep;
            out.extend(wake);
        }
        held.queues.retain(|_, pulls| !pulls.is_empty());
        held.earliest_deadline = held.queues.values().flatten().map(|p| p.deadline).min();
        out
    }

    /// Answers what is held and joins the thread.
    pub(crate) fn shutdown(&self) {
        let _ = self.events.send(Event::Stop);
        if let Some(handle) = self.thread.lock_unpoisoned().take() {
            if handle.join().is_err() {
                log::error!("the pull-hold thread panicked");
            }
        }
    }
}
