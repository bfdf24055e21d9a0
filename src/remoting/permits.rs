//! Counting permits that bound concurrent async and oneway invokes (Java's `Semaphore`), and
//! the byte budget that bounds the memory of frames being read.

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

/// Bytes that frames being read may hold, shared by every connection of a server or client.
pub(crate) struct ByteBudget {
    limit: usize,
    used: Mutex<usize>,
    released: Condvar,
}

/// Bytes taken from a [`ByteBudget`]; dropping it gives them back.
pub(crate) struct BudgetCharge {
    budget: Arc<ByteBudget>,
    bytes: usize,
}

impl ByteBudget {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(ByteBudget {
            limit,
            used: Mutex::new(0),
            released: Condvar::new(),
        })
    }

    /// The budget's size.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes taken right now.
    pub(crate) fn used(&self) -> usize {
        *self.used.lock_unpoisoned()
    }

    /// Takes `bytes` (at most the whole budget), waiting until `deadline` for them to be free.
    pub(crate) fn charge(
        self: &Arc<Self>,
        bytes: usize,
        deadline: Instant,
    ) -> Option<BudgetCharge> {
        let bytes = bytes.min(self.limit);
        let mut used = self.used.lock_unpoisoned();
        while *used + bytes > self.limit {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            used = self.released.wait_timeout_unpoisoned(used, deadline - now);
        }
        *used += bytes;
        Some(BudgetCharge {
            budget: Arc::clone(self),
            bytes,
        })
    }
}

impl Drop for BudgetCharge {
    fn drop(&mut self) {
        *self.budget.used.lock_unpoisoned() -= self.bytes;
        self.budget.released.notify_all();
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

    #[test]
    fn a_budget_charge_waits_for_room_and_gives_it_back() {
        let budget = ByteBudget::new(100);
        let soon = || Instant::now() + Duration::from_millis(20);
        let a = budget.charge(60, soon()).unwrap();
        assert!(budget.charge(50, soon()).is_none());
        let b = budget.charge(40, soon()).unwrap();
        assert_eq!(budget.used(), 100);
        drop(a);
        // More than the whole budget takes the whole budget.
        drop(b);
        let all = budget.charge(1000, soon()).unwrap();
        assert_eq!(budget.used(), budget.limit());
        drop(all);
        assert_eq!(budget.used(), 0);
    }
}
