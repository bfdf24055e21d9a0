//! `DelayQueue`: items that become available at a given instant; `Scheduler`, one named
//! thread running jobs when they are due (Java's `ScheduledExecutorService` for one-off
//! delayed tasks: pull requests put off, consume requests resubmitted later); and
//! `ServedQueue`, one named thread handing each item, when due, to the service that owns it
//! (the consumers' pull and pop loops).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::sync::{CondvarExt, MutexExt};

/// An item with its due time; ordered so that the heap's top is the earliest (then the first
/// pushed).
struct Due<T> {
    at: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Due<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<T> Eq for Due<T> {}

impl<T> PartialOrd for Due<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Due<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct State<T> {
    heap: BinaryHeap<Due<T>>,
    next_seq: u64,
    closed: bool,
}

/// A queue whose items come out when due, earliest first (same instant: first pushed first).
pub(crate) struct DelayQueue<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T> Default for DelayQueue<T> {
    fn default() -> Self {
        DelayQueue {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                next_seq: 0,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }
}

impl<T> DelayQueue<T> {
    /// Adds `item`, due at `at`; dropped at once when the queue is closed.
    pub(crate) fn push_at(&self, item: T, at: Instant) {
        let mut state = self.state.lock_unpoisoned();
        if state.closed {
            return;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let earliest = state.heap.peek().is_none_or(|top| at < top.at);
        state.heap.push(Due { at, seq, item });
        if earliest {
            self.changed.notify_one();
        }
    }

    /// Adds `item`, due now.
    pub(crate) fn push_now(&self, item: T) {
        self.push_at(item, Instant::now());
    }

    /// Adds `item`, due after `delay`.
    pub(crate) fn push_after(&self, item: T, delay: Duration) {
        self.push_at(item, Instant::now() + delay);
    }

    /// Waits for the earliest item to be due and takes it; None once the queue is closed.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut state = self.state.lock_unpoisoned();
        loop {
            if state.closed {
                return None;
            }
            let now = Instant::now();
            match state.heap.peek().map(|top| top.at) {
                Some(at) if at <= now => return state.heap.pop().map(|due| due.item),
                Some(at) => state = self.changed.wait_timeout_unpoisoned(state, at - now),
                None => state = self.changed.wait_unpoisoned(state),
            }
        }
    }

    /// Items waiting, due or not.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state.lock_unpoisoned().heap.len()
    }

    /// Drops every item and wakes the takers, which get None from now on.
    pub(crate) fn close(&self) {
        let mut state = self.state.lock_unpoisoned();
        state.closed = true;
        state.heap.clear();
        self.changed.notify_all();
    }
}

/// A job the scheduler runs.
pub(crate) type ScheduledJob = Box<dyn FnOnce() + Send + 'static>;

/// One named thread running jobs when they are due. Jobs must be short: they hand work on
/// (to a pool, to a queue) rather than do it.
pub(crate) struct Scheduler {
    queue: Arc<DelayQueue<ScheduledJob>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Scheduler {
    /// Starts the thread `name`.
    pub(crate) fn start(name: &str) -> std::io::Result<Scheduler> {
        let queue: Arc<DelayQueue<ScheduledJob>> = Arc::new(DelayQueue::default());
        let jobs = queue.clone();
        let thread = thread::Builder::new()
            .name(name.to_string())
            .stack_size(128 * 1024)
            .spawn(move || {
                while let Some(job) = jobs.pop() {
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                        log::error!("a scheduled job panicked");
                    }
                }
            })?;
        Ok(Scheduler {
            queue,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `job` on the scheduler's thread after `delay`; dropped after shutdown.
    pub(crate) fn schedule(&self, delay: Duration, job: impl FnOnce() + Send + 'static) {
        self.queue.push_after(Box::new(job), delay);
    }

    /// Drops the jobs not yet due and joins the thread (unless called from it).
    pub(crate) fn shutdown(&self) {
        self.queue.close();
        if let Some(handle) = self.thread.lock_unpoisoned().take() {
            if handle.thread().id() != thread::current().id() && handle.join().is_err() {
                log::error!("a scheduler thread panicked");
            }
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A delay queue served by one named thread: each item, when due, goes to `serve` with the
/// service that owns the queue, for as long as that service lives (the thread holds it
/// weakly). The consumers' pull and pop loops: one thread keeps every queue's long poll going.
pub(crate) struct ServedQueue<T> {
    queue: Arc<DelayQueue<T>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<T: Send + 'static> ServedQueue<T> {
    /// A queue; nothing is served before [`ServedQueue::start`].
    pub(crate) fn new() -> Self {
        ServedQueue {
            queue: Arc::new(DelayQueue::default()),
            thread: Mutex::new(None),
        }
    }

    /// Starts the thread `name`, which hands each due item to `serve` with `service` while
    /// it lives.
    pub(crate) fn start<S: Send + Sync + 'static>(
        &self,
        name: &str,
        service: Weak<S>,
        serve: fn(&Arc<S>, T),
    ) -> std::io::Result<()> {
        let queue = self.queue.clone();
        let thread = thread::Builder::new()
            .name(name.to_string())
            .stack_size(256 * 1024)
            .spawn(move || {
                while let Some(item) = queue.pop() {
                    let Some(service) = service.upgrade() else {
                        return;
                    };
                    serve(&service, item);
                }
            })?;
        *self.thread.lock_unpoisoned() = Some(thread);
        Ok(())
    }

    /// Serves `item` as soon as the thread gets to it.
    pub(crate) fn push_now(&self, item: T) {
        self.queue.push_now(item);
    }

    /// Serves `item` after `delay`.
    pub(crate) fn push_after(&self, item: T, delay: Duration) {
        self.queue.push_after(item, delay);
    }

    /// Drops the items waiting and joins the thread (unless called from it).
    pub(crate) fn shutdown(&self) {
        self.queue.close();
        if let Some(handle) = self.thread.lock_unpoisoned().take() {
            let name = handle.thread().name().unwrap_or("served queue").to_string();
            if handle.thread().id() != thread::current().id() && handle.join().is_err() {
                log::error!("the {name} thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn items_come_out_by_due_time_then_by_order_pushed() {
        let queue = DelayQueue::default();
        let now = Instant::now();
        queue.push_at("late", now + Duration::from_millis(30));
        queue.push_at("first", now);
        queue.push_at("second", now);
        assert_eq!(queue.pop(), Some("first"));
        assert_eq!(queue.pop(), Some("second"));
        assert_eq!(queue.pop(), Some("late"));
        assert!(Instant::now() >= now + Duration::from_millis(30));
        queue.close();
        assert_eq!(queue.pop(), None);
        queue.push_now("after close");
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn a_sooner_item_wakes_a_waiting_taker() {
        let queue = Arc::new(DelayQueue::default());
        queue.push_after(1, Duration::from_secs(60));
        let taker = {
            let queue = queue.clone();
            thread::spawn(move || queue.pop())
        };
        queue.push_now(2);
        assert_eq!(taker.join().unwrap(), Some(2));
    }

    #[test]
    fn the_scheduler_runs_jobs_when_due_and_drops_the_rest_at_shutdown() {
        let scheduler = Scheduler::start("test-scheduler").unwrap();
        let (tx, rx) = mpsc::channel();
        let later = tx.clone();
        scheduler.schedule(Duration::from_millis(20), move || tx.send(2).unwrap());
        scheduler.schedule(Duration::ZERO, move || later.send(1).unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(1));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(2));
        let (tx, rx) = mpsc::channel::<i32>();
        scheduler.schedule(Duration::from_secs(60), move || tx.send(3).unwrap());
        scheduler.shutdown();
        assert!(rx.recv().is_err(), "the job was dropped, not run");
    }

    /// What a served queue's owner saw.
    struct Owner(Mutex<mpsc::Sender<&'static str>>);

    #[test]
    fn a_served_queue_serves_its_owner_while_it_lives() {
        let (tx, rx) = mpsc::channel();
        let owner = Arc::new(Owner(Mutex::new(tx)));
        let served = ServedQueue::new();
        served.push_after("later", Duration::from_millis(20));
        served.push_now("now");
        served
            .start("test-served", Arc::downgrade(&owner), |owner, item| {
                owner.0.lock_unpoisoned().send(item).unwrap();
            })
            .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("now"));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("later"));
        // Once the owner is gone the thread ends at the next item.
        drop(owner);
        served.push_now("orphan");
        let finished = || {
            let thread = served.thread.lock_unpoisoned();
            thread.as_ref().is_some_and(JoinHandle::is_finished)
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        assert!(finished(), "the thread ended with its owner");
        served.shutdown();
    }
}
