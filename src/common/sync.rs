//! Poison-tolerant locking.
//!
//! A thread that panics while holding a lock poisons it. Every lock here guards state that
//! stays consistent between statements (tables, queues, flags), and user code that may panic
//! (callbacks, hooks, processors) runs behind `catch_unwind`, so one panic must not turn every
//! later `lock()` into another: these helpers take the guard whether or not it is poisoned.

use std::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// `Mutex::lock` that ignores poisoning.
pub(crate) trait MutexExt<T> {
    /// The guard, poisoned or not.
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T>;
}

impl<T> MutexExt<T> for Mutex<T> {
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `RwLock::read` and `write` that ignore poisoning.
pub(crate) trait RwLockExt<T> {
    /// The read guard, poisoned or not.
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T>;
    /// The write guard, poisoned or not.
    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T> RwLockExt<T> for RwLock<T> {
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// `Condvar::wait` and `wait_timeout` that ignore poisoning.
pub(crate) trait CondvarExt {
    /// Waits for a notification.
    fn wait_unpoisoned<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T>;
    /// Waits for a notification or `timeout`, whichever comes first.
    fn wait_timeout_unpoisoned<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> MutexGuard<'a, T>;
}

impl CondvarExt for Condvar {
    fn wait_unpoisoned<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    fn wait_timeout_unpoisoned<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> MutexGuard<'a, T> {
        match self.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_panic_under_the_lock_does_not_poison_later_callers() {
        let shared = Arc::new(Mutex::new(1));
        let held = shared.clone();
        let _ = std::thread::spawn(move || {
            let _guard = held.lock_unpoisoned();
            panic!("poison it");
        })
        .join();
        assert!(shared.lock().is_err(), "std would refuse");
        *shared.lock_unpoisoned() += 1;
        assert_eq!(*shared.lock_unpoisoned(), 2);
        let rw = RwLock::new(5);
        *rw.write_unpoisoned() += 1;
        assert_eq!(*rw.read_unpoisoned(), 6);
        let cv = Condvar::new();
        let guard = cv.wait_timeout_unpoisoned(shared.lock_unpoisoned(), Duration::from_millis(1));
        assert_eq!(*guard, 2);
    }
}
