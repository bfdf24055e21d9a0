//! `PopProcessQueue`: what a push consumer keeps of one queue it pops; mirrors Java's
//! `PopProcessQueue`.
//!
//! Popped messages need no offsets here (the broker moved the group's offset when it handed
//! them out): only how many wait for their ack, for flow control, and whether the queue is
//! still ours.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::process_queue::PULL_MAX_IDLE_TIME;
use crate::common::clock::now_millis;
use crate::protocol::body::PopProcessQueueInfo;

/// One popped queue's state.
pub(crate) struct PopProcessQueue {
    /// Messages popped and not yet acked or put back (`waitAckCounter`).
    wait_ack: AtomicI64,
    dropped: AtomicBool,
    last_pop_ms: AtomicI64,
}

impl Default for PopProcessQueue {
    fn default() -> Self {
        PopProcessQueue {
            wait_ack: AtomicI64::new(0),
            dropped: AtomicBool::new(false),
            last_pop_ms: AtomicI64::new(now_millis()),
        }
    }
}

impl PopProcessQueue {
    /// `count` messages were popped (`incFoundMsg`).
    pub(crate) fn inc_found(&self, count: usize) {
        self.wait_ack.fetch_add(count as i64, Ordering::Relaxed);
    }

    /// `count` messages are done: acked, put back, or given up (`ack`, `decFoundMsg`).
    pub(crate) fn done(&self, count: usize) {
        self.wait_ack.fetch_sub(count as i64, Ordering::Relaxed);
    }

    /// Messages waiting for their ack (`getWaiAckMsgCount`).
    pub(crate) fn wait_ack_count(&self) -> i64 {
        self.wait_ack.load(Ordering::Relaxed)
    }

    /// The rebalance took the queue away (or the consumer stops): pops stop.
    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    pub(crate) fn set_dropped(&self, dropped: bool) {
        self.dropped.store(dropped, Ordering::SeqCst);
    }

    /// A pop of this queue starts.
    pub(crate) fn touch_pop(&self) {
        self.last_pop_ms.store(now_millis(), Ordering::Relaxed);
    }

    /// When the last pop started, ms.
    pub(crate) fn last_pop_ms(&self) -> i64 {
        self.last_pop_ms.load(Ordering::Relaxed)
    }

    /// The queue's state for GET_CONSUMER_RUNNING_INFO (`fillPopProcessQueueInfo`).
    pub(crate) fn info(&self) -> PopProcessQueueInfo {
        PopProcessQueueInfo {
            wait_ack_count: self.wait_ack_count().clamp(0, i64::from(i32::MAX)) as i32,
            dropped: self.is_dropped(),
            last_pop_timestamp: self.last_pop_ms(),
        }
    }

    /// Not popped for [`PULL_MAX_IDLE_TIME`] (`isPullExpired`): the pop loop lost it.
    pub(crate) fn is_pull_expired(&self) -> bool {
        now_millis() - self.last_pop_ms() > PULL_MAX_IDLE_TIME.as_millis() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_waits_for_its_ack() {
        let pq = PopProcessQueue::default();
        pq.inc_found(32);
        pq.done(30);
        assert_eq!(pq.wait_ack_count(), 2);
        assert!(!pq.is_pull_expired());
        pq.last_pop_ms
            .store(now_millis() - 121_000, Ordering::Relaxed);
        assert!(pq.is_pull_expired());
        pq.touch_pop();
        assert!(!pq.is_pull_expired());
    }
}
