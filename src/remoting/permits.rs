//! Counting permits that bound concurrent async and oneway invokes (Java's `Semaphore`).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::common::clock::deadline_after;
use crate::common::sync::{CondvarExt, MutexExt};

/// A counting semaphore; permits come back when their [`Permit`] is dropped.
pub(crate) struct Semaphore {
    available: Mutex<usize>,
    released: Condvar,
}

/// One permit; dropping it gives it back exactly once.
pub(crate) struct Permit {
    semaphore: Arc<Semaphore>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub(crate) fn new(permits: usize) -> Arc<Self> {
        Arc::new(Semaphore {
            available: Mutex::new(permits),
            released: Condvar::new(),
        })
    }

    /// Takes a permit, waiting at most `timeout`; None when none came free in time.
    pub(crate) fn acquire(self: &Arc<Self>, timeout: Duration) -> Option<Permit> {
        let mut available = self.available.lock_unpoisoned();
        // The clock is read only when there is something to wait for.
        let deadline = if *available == 0 {
            deadline_after(timeout)
        } else {
            Instant::now()
        };
        while *available == 0 {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            available = self
                .released
                .wait_timeout_unpoisoned(available, deadline - now);
        }
        *available -= 1;
        Some(Permit {
            semaphore: Arc::clone(self),
        })
    }

    /// Permits free right now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        *self.available.lock_unpoisoned()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        *self.semaphore.available.lock_unpoisoned() += 1;
        self.semaphore.released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_run_out_and_come_back() {
        let s = Semaphore::new(2);
        let a = s.acquire(Duration::ZERO).unwrap();
        let _b = s.acquire(Duration::ZERO).unwrap();
        assert!(s.acquire(Duration::from_millis(20)).is_none());
        drop(a);
        assert!(s.acquire(Duration::ZERO).is_some());
        assert_eq!(s.available(), 1);
    }
}
