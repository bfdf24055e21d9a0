//! `PullRequestHoldService`: pulls with nothing to read wait here until a message arrives or
//! their suspend timeout passes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};

use super::processor::PullMessageProcessor;
use crate::protocol::RemotingCommand;
use crate::remoting::RequestContext;

/// A pull waiting for a message; mirrors Java's `PullRequest`.
pub struct HeldPull {
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
    Held,
    Stop,
}

/// Holds pulls by queue and wakes them on arrival (`notifyMessageArriving`) or at their
/// deadline, on its own thread, `rmq-pull-hold`.
pub struct PullRequestHoldService {
    held: Mutex<HashMap<(String, i32), Vec<HeldPull>>>,
    events: Sender<Event>,
    receiver: Mutex<Option<Receiver<Event>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl PullRequestHoldService {
    /// A service; its thread starts with [`PullRequestHoldService::start`].
    pub fn new() -> Arc<Self> {
        let (events, receiver) = unbounded();
        Arc::new(PullRequestHoldService {
            held: Mutex::new(HashMap::new()),
            events,
            receiver: Mutex::new(Some(receiver)),
            thread: Mutex::new(None),
        })
    }

    /// Starts the thread that answers held pulls through `processor`.
    pub fn start(self: &Arc<Self>, processor: Arc<PullMessageProcessor>) -> std::io::Result<()> {
        let Some(receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return Ok(());
        };
        let service = Arc::clone(self);
        let handle = thread::Builder::new()
            .name("rmq-pull-hold".into())
            .spawn(move || service.run(receiver, processor))?;
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(())
    }

    /// `suspendPullRequest`.
    pub fn suspend(&self, pull: HeldPull) {
        let key = (pull.topic.clone(), pull.queue_id);
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .push(pull);
        let _ = self.events.send(Event::Held); // recompute the next deadline
    }

    /// `notifyMessageArriving`: the store appended to a queue; called from the store.
    pub fn notify_message_arriving(&self, topic: &str, queue_id: i32, max_offset: i64) {
        // Most puts find nobody waiting; waking the thread for them would cost every send a
        // context switch. A pull held after this check sees the message on its own re-check.
        let key = (topic.to_string(), queue_id);
        if !self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&key)
        {
            return;
        }
        let _ = self.events.send(Event::Arrived {
            topic: topic.to_string(),
            queue_id,
            max_offset,
        });
    }

    /// Pulls waiting right now (tests).
    pub fn held_count(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(Vec::len)
            .sum()
    }

    fn run(&self, receiver: Receiver<Event>, processor: Arc<PullMessageProcessor>) {
        loop {
            let wait = self.next_deadline().map_or(Duration::from_secs(1), |d| {
                d.saturating_duration_since(Instant::now())
            });
            match receiver.recv_timeout(wait) {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(Event::Arrived {
                    topic,
                    queue_id,
                    max_offset,
                }) => {
                    for pull in self.take(|p| {
                        p.topic == topic
                            && p.queue_id == queue_id
                            && max_offset > p.pull_from_offset
                    }) {
                        processor.execute_when_wakeup(pull);
                    }
                }
                // A message may have landed between a pull's read and its suspension, when no
                // pull was held to be woken: look at the queues again (Java's checkHoldRequest).
                Ok(Event::Held) | Err(RecvTimeoutError::Timeout) => {
                    for pull in self
                        .take(|p| processor.max_offset(&p.topic, p.queue_id) > p.pull_from_offset)
                    {
                        processor.execute_when_wakeup(pull);
                    }
                }
            }
            let now = Instant::now();
            for pull in self.take(|p| p.deadline <= now || p.ctx.connection().is_closed()) {
                if !pull.ctx.connection().is_closed() {
                    processor.execute_when_wakeup(pull);
                }
            }
        }
        // Shutting down: answer what is still held so no client waits for nothing.
        for pull in self.take(|_| true) {
            processor.execute_when_wakeup(pull);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flatten()
            .map(|p| p.deadline)
            .min()
    }

    fn take(&self, pred: impl Fn(&HeldPull) -> bool) -> Vec<HeldPull> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for pulls in held.values_mut() {
            let (wake, keep): (Vec<_>, Vec<_>) =
                std::mem::take(pulls).into_iter().partition(|p| pred(p));
            *pulls = keep;
            out.extend(wake);
        }
        held.retain(|_, pulls| !pulls.is_empty());
        out
    }

    /// Answers what is held and joins the thread.
    pub fn shutdown(&self) {
        let _ = self.events.send(Event::Stop);
        if let Some(handle) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            if handle.join().is_err() {
                log::error!("the pull-hold thread panicked");
            }
        }
    }
}
