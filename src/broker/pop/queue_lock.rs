//! `QueueLockManager`: one pop at a time per topic, group and queue, so two pops never read
//! the same offsets.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex};

use crate::common::sync::{CondvarExt, MutexExt};

/// Try-locks keyed `topic@group@queueId`; mirrors Java's `PopMessageProcessor.QueueLockManager`.
/// Only held keys are kept, so nothing needs cleaning.
#[derive(Default)]
pub(crate) struct QueueLockManager {
    held: Mutex<HashSet<(String, String, i32)>>,
    released: Condvar,
}

/// A held queue lock; released on drop.
pub(crate) struct QueueLock<'a> {
    manager: &'a QueueLockManager,
    key: Option<(String, String, i32)>,
}

impl QueueLockManager {
    /// The lock of a queue for a group, unless another pop holds it (Java's `tryLock`: the
    /// other pop is reading it, so this one moves on to the next queue).
    pub(crate) fn try_lock(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
    ) -> Option<QueueLock<'_>> {
        let key = (topic.to_string(), group.to_string(), queue_id);
        if !self.held.lock_unpoisoned().insert(key.clone()) {
            return None;
        }
        Some(QueueLock {
            manager: self,
            key: Some(key),
        })
    }
}

impl QueueLockManager {
    /// The lock of a queue for a group, waiting for a pop that holds it (Java's orderly ack
    /// spins on `tryLock`): a pop holds it only while it reads the queue.
    pub(crate) fn lock(&self, topic: &str, group: &str, queue_id: i32) -> QueueLock<'_> {
        let key = (topic.to_string(), group.to_string(), queue_id);
        let mut held = self.held.lock_unpoisoned();
        while held.contains(&key) {
            held = self.released.wait_unpoisoned(held);
        }
        held.insert(key.clone());
        QueueLock {
            manager: self,
            key: Some(key),
        }
    }
}

impl Drop for QueueLock<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.manager.held.lock_unpoisoned().remove(&key);
            self.manager.released.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_queue_and_group() {
        let locks = QueueLockManager::default();
        let held = locks.try_lock("T", "G", 0).unwrap();
        assert!(locks.try_lock("T", "G", 0).is_none());
        assert!(locks.try_lock("T", "G", 1).is_some());
        assert!(locks.try_lock("T", "H", 0).is_some());
        let waiter = std::thread::scope(|scope| {
            let waiting = scope.spawn(|| {
                let _lock = locks.lock("T", "G", 0);
            });
            drop(held);
            waiting.join()
        });
        assert!(waiter.is_ok(), "lock waited for the holder");
        assert!(locks.try_lock("T", "G", 0).is_some());
        assert!(locks.held.lock_unpoisoned().is_empty());
    }
}
