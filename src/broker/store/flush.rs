//! Group commit of the commit log (the role of Java's `GroupCommitService`, without its
//! thread): a waiter that finds no fsync in progress becomes the flusher and syncs everything
//! written so far; waiters that arrive meanwhile sleep on a condvar and are covered by the
//! next fsync, so concurrent sync puts share fsyncs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
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

/// The fsync bookkeeping of the commit log.
pub(crate) struct GroupCommit {
    state: Mutex<FlushState>,
    done: Condvar,
    syncs: AtomicU64,
    /// Added before each fsync, so tests can make fsyncs slow.
    sync_delay: Duration,
}

impl GroupCommit {
    /// Bookkeeping for a log already durable below `flushed`.
    pub(crate) fn new(flushed: i64, sync_delay: Duration) -> Self {
        GroupCommit {
            state: Mutex::new(FlushState {
                flushed,
                in_progress: false,
                failure: None,
            }),
            done: Condvar::new(),
            syncs: AtomicU64::new(0),
            sync_delay,
        }
    }

    fn lock(&self) -> MutexGuard<'_, FlushState> {
        self.state.lock_unpoisoned()
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
