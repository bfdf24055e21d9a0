//! `LatencyFaultTolerance`: which brokers are isolated after slow or failed sends, and until
//! when.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::shared::topic_publish_info::ThreadLocalIndex;

use crate::common::sync::MutexExt;

/// One broker's last latency and when it becomes available again; mirrors Java's
/// `LatencyFaultToleranceImpl.FaultItem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FaultItem {
    /// The broker name.
    pub(crate) name: String,
    /// The latency of its last send.
    pub(crate) current_latency: Duration,
    /// When it may be chosen again.
    pub(crate) start_at: Instant,
}

impl FaultItem {
    /// True once `now` has reached `start_at`.
    pub(crate) fn is_available_at(&self, now: Instant) -> bool {
        now >= self.start_at
    }

    /// Java's `compareTo`: available first, then lower latency, then earlier start.
    fn compare_at(&self, other: &FaultItem, now: Instant) -> Ordering {
        other
            .is_available_at(now)
            .cmp(&self.is_available_at(now))
            .then(self.current_latency.cmp(&other.current_latency))
            .then(self.start_at.cmp(&other.start_at))
    }
}

/// The fault table of a producer; mirrors Java's `LatencyFaultToleranceImpl`.
#[derive(Debug, Default)]
pub(crate) struct LatencyFaultTolerance {
    items: Mutex<HashMap<String, FaultItem>>,
    which_item_worst: ThreadLocalIndex,
}

impl LatencyFaultTolerance {
    /// An empty table.
    pub(crate) fn new() -> Self {
        LatencyFaultTolerance::default()
    }

    /// Records `name`'s latency and isolates it for `not_available` from now
    /// (`updateFaultItem`).
    pub(crate) fn update_fault_item(&self, name: &str, latency: Duration, not_available: Duration) {
        self.update_fault_item_at(name, latency, not_available, Instant::now());
    }

    /// [`Self::update_fault_item`] as if the time were `now`.
    pub(crate) fn update_fault_item_at(
        &self,
        name: &str,
        latency: Duration,
        not_available: Duration,
        now: Instant,
    ) {
        let item = FaultItem {
            name: name.to_string(),
            current_latency: latency,
            start_at: now + not_available,
        };
        self.lock().insert(name.to_string(), item);
    }

    /// True when `name` is not isolated (`isAvailable`); unknown brokers are available.
    pub(crate) fn is_available(&self, name: &str) -> bool {
        self.is_available_at(name, Instant::now())
    }

    /// [`Self::is_available`] as if the time were `now`.
    pub(crate) fn is_available_at(&self, name: &str, now: Instant) -> bool {
        match self.lock().get(name) {
            Some(item) => item.is_available_at(now),
            None => true,
        }
    }

    /// Forgets `name` (`remove`).
    pub(crate) fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    /// A broker to use when every broker is isolated: one of the better half by Java's order
    /// (available first, then lowest latency), rotating per thread (`pickOneAtLeast`).
    pub(crate) fn pick_one_at_least(&self) -> Option<String> {
        self.pick_one_at_least_at(Instant::now())
    }

    /// [`Self::pick_one_at_least`] as if the time were `now`.
    pub(crate) fn pick_one_at_least_at(&self, now: Instant) -> Option<String> {
        let mut items: Vec<FaultItem> = self.lock().values().cloned().collect();
        if items.is_empty() {
            return None;
        }
        items.sort_by(|a, b| a.compare_at(b, now));
        let half = items.len() / 2;
        let index = if half == 0 {
            0
        } else {
            self.which_item_worst.increment_and_get() as usize % half
        };
        items.get(index).map(|item| item.name.clone())
    }

    /// A copy of `name`'s entry.
    #[cfg(test)]
    pub(crate) fn item(&self, name: &str) -> Option<FaultItem> {
        self.lock().get(name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, FaultItem>> {
        self.items.lock_unpoisoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn isolation_ends_at_its_time() {
        let table = LatencyFaultTolerance::new();
        let now = Instant::now();
        assert!(table.is_available_at("a", now));
        table.update_fault_item_at("a", 600 * MS, 30_000 * MS, now);
        assert!(!table.is_available_at("a", now));
        assert!(!table.is_available_at("a", now + 29_999 * MS));
        assert!(table.is_available_at("a", now + 30_000 * MS));
        // A later good send clears the isolation at once.
        table.update_fault_item_at("a", 10 * MS, Duration::ZERO, now + MS);
        assert!(table.is_available_at("a", now + MS));
        table.remove("a");
        assert!(table.item("a").is_none());
    }

    #[test]
    fn pick_one_at_least_prefers_available_then_fast() {
        let table = LatencyFaultTolerance::new();
        let now = Instant::now();
        assert_eq!(table.pick_one_at_least_at(now), None);
        table.update_fault_item_at("slow", 3000 * MS, 180_000 * MS, now);
        assert_eq!(table.pick_one_at_least_at(now).as_deref(), Some("slow"));
        table.update_fault_item_at("fast", 600 * MS, 30_000 * MS, now);
        table.update_fault_item_at("ok", 5000 * MS, Duration::ZERO, now);
        table.update_fault_item_at("worst", 20_000 * MS, 600_000 * MS, now);
        // Sorted: ok (available), fast, slow, worst; the better half is {ok, fast}.
        for _ in 0..10 {
            let pick = table.pick_one_at_least_at(now).unwrap();
            assert!(pick == "ok" || pick == "fast", "{pick}");
        }
    }
}
