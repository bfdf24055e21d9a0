//! A count of calls in flight, and a wait until none is: the async sends a producer's
//! `flush` waits for, the acks a consumer waits for at shutdown.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::clock::deadline_after;
use super::sync::{CondvarExt, MutexExt};

/// Calls entered and not yet ended.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

/// One call in flight, counted until dropped (its callback ran, unwound, or never will).
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    /// Counts one more call until the guard drops.
    pub(crate) fn enter(self: &Arc<Self>) -> InFlightGuard {
        *self.count.lock_unpoisoned() += 1;
        InFlightGuard(Arc::clone(self))
    }

    /// Calls in flight now.
    pub(crate) fn count(&self) -> usize {
        *self.count.lock_unpoisoned()
    }

    /// Waits up to `timeout` until none is in flight; `Err` with how many still are when the
    /// time ran out.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> Result<(), usize> {
        let deadline = deadline_after(timeout);
        let mut count = self.count.lock_unpoisoned();
        while *count > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(*count);
            }
            count = self.idle.wait_timeout_unpoisoned(count, left);
        }
        Ok(())
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut count = self.0.count.lock_unpoisoned();
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.0.idle.notify_all();
        }
    }
}
