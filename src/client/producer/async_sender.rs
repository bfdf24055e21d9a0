//! `AsyncSender`: the bounded pool async sends run on (Java's `asyncSenderExecutor`), and the
//! count of accepted async sends that [`Producer::flush`](super::Producer::flush) waits for.

use std::sync::Arc;
use std::time::Duration;

use crate::common::in_flight::InFlight;
pub(crate) use crate::common::in_flight::InFlightGuard;
use crate::remoting::{Job, Rejected, ThreadPool};

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
        self.in_flight.enter()
    }

    /// Queues `job` for a sender thread; the job comes back when the queue is full or the
    /// pool shut down.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Rejected> {
        self.pool.execute(job)
    }

    /// Async sends accepted and not yet called back.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.count()
    }

    /// Waits up to `timeout` until no async send is in flight; `Err` with the number still
    /// in flight when the time ran out.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> Result<(), usize> {
        self.in_flight.wait_idle(timeout)
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
