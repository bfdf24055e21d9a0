//! A fixed pool of named worker threads with a bounded queue.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, RwLock};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, unbounded, Sender, TrySendError};

use super::threads::join_all_except_current;

use crate::common::sync::{MutexExt, RwLockExt};

/// A unit of work for a pool.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a pool did not take a job; the job is handed back.
pub(crate) enum Rejected {
    /// The queue is full (the server answers SYSTEM_BUSY `[OVERLOAD]`).
    Full(Job),
    /// The pool has been shut down.
    Shutdown(Job),
}

/// A fixed-size thread pool; mirrors the `ThreadPoolExecutor` Java gives each processor.
///
/// Jobs that panic are caught so the worker survives. `shutdown` runs what is queued, then joins.
pub(crate) struct ThreadPool {
    sender: RwLock<Option<Sender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl ThreadPool {
    /// Starts `threads` workers named `<name>-<i>`; `queue_capacity` None means unbounded.
    pub(crate) fn new(
        name: &str,
        threads: usize,
        queue_capacity: Option<usize>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = match queue_capacity {
            Some(cap) => bounded::<Job>(cap),
            None => unbounded::<Job>(),
        };
        let mut workers = Vec::new();
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let handle = thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        if catch_unwind(AssertUnwindSafe(job)).is_err() {
                            log::error!("a job panicked on {:?}", thread::current().name());
                        }
                    }
                })?;
            workers.push(handle);
        }
        Ok(ThreadPool {
            sender: RwLock::new(Some(tx)),
            workers: Mutex::new(workers),
        })
    }

    /// Queues a job, or hands it back when the queue is full or the pool is shut down.
    pub(crate) fn execute(&self, job: Job) -> Result<(), Rejected> {
        let guard = self.sender.read_unpoisoned();
        match guard.as_ref() {
            None => Err(Rejected::Shutdown(job)),
            Some(tx) => tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(job) => Rejected::Full(job),
                TrySendError::Disconnected(job) => Rejected::Shutdown(job),
            }),
        }
    }

    /// Stops taking jobs, lets the workers finish the queue, and joins them.
    pub(crate) fn shutdown(&self) {
        self.sender.write_unpoisoned().take();
        let workers = std::mem::take(&mut *self.workers.lock_unpoisoned());
        join_all_except_current(workers);
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn runs_queued_jobs_before_shutdown_returns() {
        let pool = ThreadPool::new("t-pool", 2, Some(100)).unwrap();
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..50 {
            let n = n.clone();
            assert!(pool
                .execute(Box::new(move || {
                    n.fetch_add(1, Ordering::SeqCst);
                }))
                .is_ok());
        }
        pool.execute(Box::new(|| panic!("boom"))).ok();
        pool.shutdown();
        assert_eq!(n.load(Ordering::SeqCst), 50);
        assert!(matches!(
            pool.execute(Box::new(|| {})),
            Err(Rejected::Shutdown(_))
        ));
    }

    #[test]
    fn full_queue_rejects() {
        let pool = ThreadPool::new("t-full", 1, Some(1)).unwrap();
        let (block_tx, block_rx) = crossbeam_channel::bounded::<()>(0);
        pool.execute(Box::new(move || {
            let _ = block_rx.recv();
        }))
        .ok();
        // The worker may not have taken the first job yet: fill until rejected.
        let mut rejected = false;
        for _ in 0..3 {
            if let Err(Rejected::Full(_)) = pool.execute(Box::new(|| {})) {
                rejected = true;
            }
        }
        assert!(rejected);
        drop(block_tx);
    }
}
