//! A fixed pool of named worker threads with a bounded queue.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Sender, TrySendError};

use super::threads::join_all_except_current;

use crate::common::sync::{CondvarExt, MutexExt, RwLockExt};

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
    /// Set by [`ThreadPool::shutdown_within`]: queued jobs are dropped, not run.
    discard: Arc<AtomicBool>,
    /// Workers still running, and a condvar signalled as each ends.
    alive: Arc<(Mutex<usize>, Condvar)>,
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
        let discard = Arc::new(AtomicBool::new(false));
        let alive = Arc::new((Mutex::new(0usize), Condvar::new()));
        for i in 0..threads.max(1) {
            *alive.0.lock_unpoisoned() += 1;
            let (rx, discard, worker_alive) = (rx.clone(), discard.clone(), alive.clone());
            let spawned = thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        if discard.load(Ordering::SeqCst) {
                            continue;
                        }
                        if catch_unwind(AssertUnwindSafe(job)).is_err() {
                            log::error!("a job panicked on {:?}", thread::current().name());
                        }
                    }
                    *worker_alive.0.lock_unpoisoned() -= 1;
                    worker_alive.1.notify_all();
                });
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    *alive.0.lock_unpoisoned() -= 1;
                    return Err(e);
                }
            }
        }
        Ok(ThreadPool {
            sender: RwLock::new(Some(tx)),
            workers: Mutex::new(workers),
            discard,
            alive,
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

    /// Jobs waiting in the queue, and its capacity (None: unbounded).
    pub(crate) fn queue_size(&self) -> (usize, Option<usize>) {
        self.sender
            .read_unpoisoned()
            .as_ref()
            .map_or((0, None), |tx| (tx.len(), tx.capacity()))
    }

    /// Stops taking jobs, lets the workers finish the queue, and joins them.
    pub(crate) fn shutdown(&self) {
        self.sender.write_unpoisoned().take();
        let workers = std::mem::take(&mut *self.workers.lock_unpoisoned());
        join_all_except_current(workers);
    }
}

impl ThreadPool {
    /// Stops taking jobs, drops the ones queued, and waits up to `timeout` for the running
    /// ones; joins the workers that finished. Returns how many are still running (a job that
    /// never returns): those threads are left behind, not joined (Java's
    /// `awaitTermination`).
    pub(crate) fn shutdown_within(&self, timeout: Duration) -> usize {
        self.discard.store(true, Ordering::SeqCst);
        self.sender.write_unpoisoned().take();
        let deadline = Instant::now() + timeout;
        let (count, ended) = &*self.alive;
        let mut running = count.lock_unpoisoned();
        while *running > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            running = ended.wait_timeout_unpoisoned(running, deadline - now);
        }
        let still_running = *running;
        drop(running);
        let workers = std::mem::take(&mut *self.workers.lock_unpoisoned());
        if still_running == 0 {
            // Every worker left its loop: each is exiting, so joining is quick.
            join_all_except_current(workers);
        } else {
            let (finished, stuck): (Vec<_>, Vec<_>) =
                workers.into_iter().partition(|w| w.is_finished());
            join_all_except_current(finished);
            log::warn!(
                "{} worker(s) still running a job after {} ms; left behind",
                stuck.len(),
                timeout.as_millis()
            );
        }
        still_running
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

    #[test]
    fn shutdown_within_drops_the_queue_and_waits_for_running_jobs_only_so_long() {
        let pool = ThreadPool::new("t-within", 1, None).unwrap();
        let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(Box::new(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
        }))
        .ok();
        for _ in 0..10 {
            let ran = ran.clone();
            pool.execute(Box::new(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            }))
            .ok();
        }
        started_rx.recv().unwrap();
        assert_eq!(
            pool.shutdown_within(Duration::from_millis(50)),
            1,
            "still running"
        );
        drop(release_tx);
        // The queued jobs were dropped, not run.
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}
