//! `AsyncSender`: the bounded pool async sends run on (Java's `asyncSenderExecutor`), and the
//! count of accepted async sends that [`Producer::flush`](super::Producer::flush) waits for.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::common::clock::deadline_after;
use crate::common::sync::{CondvarExt, MutexExt};
use crate::remoting::{Job, Rejected, ThreadPool};

/// Async sends accepted and not yet called back.
#[derive(Debug, Default)]
struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

/// One accepted async send, counted until dropped: after its callback returned (or unwound).
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut count = self.0.count.lock_unpoisoned();
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.0.idle.notify_all();
        }
    }
}

/// The async sender threads (`rmq-sender-<i>`) with their bounded queue.
pub(crate) struct AsyncSender {
    pool: ThreadPool,
    capacity: usize,
    in_flight: Arc<InFlight>,
}

impl AsyncSender {
    /// `threads` sender threads; `capacity` sends may wait for one.
    pub(crate) fn new(threads: usize, capacity: usize) -> std::io::Result<Self> {
        Ok(AsyncSender {
            pool: ThreadPool::new("rmq-sender", threads, Some(capacity))?,
            capacity,
            in_flight: Arc::new(InFlight::default()),
        })
    }

    /// The queue's capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counts one more send in flight until the guard drops.
    pub(crate) fn track(&self) -> InFlightGuard {
        *self.in_flight.count.lock_unpoisoned() += 1;
        InFlightGuard(self.in_flight.clone())
    }

    /// Queues `job` for a sender thread; the job comes back when the queue is full or the
    /// pool shut down.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Rejected> {
        self.pool.execute(job)
    }

    /// Async sends accepted and not yet called back.
    pub(crate) fn in_flight(&self) -> usize {
        *self.in_flight.count.lock_unpoisoned()
    }

    /// Waits up to `timeout` until no async send is in flight; `Err` with the number still
    /// in flight when the time ran out.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> Result<(), usize> {
        let deadline = deadline_after(timeout);
        let mut count = self.in_flight.count.lock_unpoisoned();
        while *count > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(*count);
            }
            count = self.in_flight.idle.wait_timeout_unpoisoned(count, left);
        }
        Ok(())
    }

    /// Runs what is queued (each job sees the producer shut down and fails fast), then joins
    /// the sender threads.
    pub(crate) fn shutdown(&self) {
        self.pool.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_waits_for_every_guard() {
        let sender = AsyncSender::new(1, 8).unwrap();
        let guard = sender.track();
        assert_eq!(sender.in_flight(), 1);
        assert_eq!(sender.wait_idle(Duration::from_millis(1)), Err(1));
        let (tx, rx) = crossbeam_channel::bounded(1);
        sender
            .submit(Box::new(move || {
                rx.recv().unwrap();
                drop(guard);
            }))
            .ok();
        tx.send(()).unwrap();
        assert_eq!(sender.wait_idle(Duration::from_secs(10)), Ok(()));
        assert_eq!(sender.in_flight(), 0);
        sender.shutdown();
    }
}
