//! Group commit of the commit log (the role of Java's `GroupCommitService`, without its
//! thread): a waiter that finds no fsync in progress becomes the flusher and syncs everything
//! written so far; waiters that arrive meanwhile sleep on a condvar and are covered by the
//! next fsync, so concurrent sync puts share fsyncs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::commit_log::CommitLog;
use super::error::StoreError;

use crate::common::sync::{CondvarExt, MutexExt};

struct FlushState {
    /// The commit log is fsynced below this offset.
    flushed: i64,
    /// A thread is fsyncing now.
    in_progress: bool,
    /// An fsync failed: nothing after `flushed` can be trusted to be durable.
    failure: Option<StoreError>,
}

/// Tests' hold on group-commit fsyncs: an fsync about to run reports itself and waits until
/// the test opens the gate, so a test can act while an fsync is known to be in progress
/// instead of guessing with sleeps.
#[derive(Debug, Default)]
pub(crate) struct FsyncGate {
    /// (fsyncs that reached the gate, the gate is open)
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl FsyncGate {
    /// Called by the flusher before its fsync: counts itself and waits for the gate to open.
    fn pass(&self) {
        let mut state = self.state.lock_unpoisoned();
        state.0 += 1;
        self.changed.notify_all();
        while !state.1 {
            state = self.changed.wait_unpoisoned(state);
        }
    }

    /// Waits up to `timeout` until `n` fsyncs have reached the gate.
    #[cfg(test)]
    pub(crate) fn wait_reached(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock_unpoisoned();
        while state.0 < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.changed.wait_timeout_unpoisoned(state, left);
        }
        true
    }

    /// Lets every fsync through, now and later.
    #[cfg(test)]
    pub(crate) fn open(&self) {
        self.state.lock_unpoisoned().1 = true;
        self.changed.notify_all();
    }
}

/// The fsync bookkeeping of the commit log.
pub(crate) struct GroupCommit {
    state: Mutex<FlushState>,
    done: Condvar,
    syncs: AtomicU64,
    /// Added before each fsync, so tests can make fsyncs slow.
    sync_delay: Duration,
    /// Tests: each fsync waits at this gate first.
    gate: Option<Arc<FsyncGate>>,
}

impl GroupCommit {
    /// Bookkeeping for a log already durable below `flushed`.
    pub(crate) fn new(flushed: i64, sync_delay: Duration, gate: Option<Arc<FsyncGate>>) -> Self {
        GroupCommit {
            state: Mutex::new(FlushState {
                flushed,
                in_progress: false,
                failure: None,
            }),
            done: Condvar::new(),
            syncs: AtomicU64::new(0),
            sync_delay,
            gate,
        }
    }

    fn lock(&self) -> MutexGuard<'_, FlushState> {
        self.state.lock_unpoisoned()
    }

    /// The commit log offset below which everything is fsynced.
    pub(crate) fn flushed(&self) -> i64 {
        self.lock().flushed
    }

    /// How many fsync rounds ran.
    pub(crate) fn sync_count(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Waits until the commit log is fsynced below `end`, fsyncing it when no other thread
    /// is. `Ok(false)` when `timeout` passed first (the fsync may still complete later).
    pub(crate) fn wait_flushed(
        &self,
        log: &CommitLog,
        end: i64,
        timeout: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.lock();
        loop {
            if let Some(failure) = &state.failure {
                return Err(failure.clone());
            }
            if state.flushed >= end {
                return Ok(true);
            }
            if !state.in_progress {
                state.in_progress = true;
                let from = state.flushed;
                drop(state);
                let target = log.max_offset();
                if let Some(gate) = &self.gate {
                    gate.pass();
                }
                if !self.sync_delay.is_zero() {
                    std::thread::sleep(self.sync_delay);
                }
                let result = log.sync_range(from, target);
                self.syncs.fetch_add(1, Ordering::Relaxed);
                state = self.lock();
                state.in_progress = false;
                match result {
                    Ok(()) => state.flushed = state.flushed.max(target),
                    Err(err) => {
                        log::error!("commit log fsync failed: {err}");
                        state.failure = Some(err);
                    }
                }
                self.done.notify_all();
                continue;
            }
            state = match deadline {
                None => self.done.wait_unpoisoned(state),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(false);
                    }
                    self.done.wait_timeout_unpoisoned(state, deadline - now)
                }
            };
        }
    }
}
