//! Whether a sync caller should poll for its response before sleeping: decided by measuring.
//!
//! Polling saves the caller's wake-up, which on an idle machine is a good part of a loopback
//! round trip. On a machine whose cores are busy it backfires: the polling caller holds a core
//! that the threads bringing its response (the peer's, and our reader) need. No fixed setting
//! suits both, so calls are timed both ways and the faster way wins: most calls use the way
//! whose recent average wait is lower, and one call in [`EXPLORE_EVERY`] tries the other, so
//! that a change of load is noticed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One call in this many uses the way currently losing, to keep its average fresh.
const EXPLORE_EVERY: u64 = 16;

/// Recent average waits, in nanoseconds, of calls that polled and of calls that slept at once
/// (0: none measured yet). Process-wide: every sync caller shares the machine's cores.
pub(crate) struct SpinPolicy {
    polled_ns: AtomicU64,
    slept_ns: AtomicU64,
    calls: AtomicU64,
}

impl SpinPolicy {
    pub(crate) const fn new() -> Self {
        SpinPolicy {
            polled_ns: AtomicU64::new(0),
            slept_ns: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        }
    }

    /// True when the next call should poll first.
    pub(crate) fn should_poll(&self) -> bool {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let (polled, slept) = (
            self.polled_ns.load(Ordering::Relaxed),
            self.slept_ns.load(Ordering::Relaxed),
        );
        // Unmeasured ways are tried first; then the faster one, exploring the other now and then.
        if polled == 0 {
            return true;
        }
        if slept == 0 {
            return false;
        }
        let polling_wins = polled <= slept;
        if call % EXPLORE_EVERY == 0 {
            !polling_wins
        } else {
            polling_wins
        }
    }

    /// Records how long a call waited for its response, and whether it polled.
    pub(crate) fn record(&self, polled: bool, waited: Duration) {
        let average = if polled {
            &self.polled_ns
        } else {
            &self.slept_ns
        };
        let sample = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX).max(1);
        let old = average.load(Ordering::Relaxed);
        // An exponential average over about 16 calls; one stall (a timeout, a page fault) counts
        // as at most four times the average, so it cannot flip the choice alone. Concurrent
        // updates may lose one another: this is an estimate.
        let new = if old == 0 {
            sample
        } else {
            let sample = sample.min(old.saturating_mul(4));
            old - old / 16 + sample / 16
        };
        average.store(new.max(1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share_polling(policy: &SpinPolicy, calls: usize) -> f64 {
        (0..calls).filter(|_| policy.should_poll()).count() as f64 / calls as f64
    }

    #[test]
    fn the_faster_way_wins_and_the_other_is_still_tried() {
        let policy = SpinPolicy::new();
        assert!(policy.should_poll(), "polling is tried first");
        policy.record(true, Duration::from_micros(40));
        assert!(!policy.should_poll(), "then sleeping");
        policy.record(false, Duration::from_micros(60));
        let share = share_polling(&policy, 1600);
        assert!((0.9..0.95).contains(&share), "{share}");
        // The machine gets busy: polling now takes longer than sleeping.
        for _ in 0..200 {
            policy.record(true, Duration::from_micros(140));
        }
        let share = share_polling(&policy, 1600);
        assert!((0.05..0.1).contains(&share), "{share}");
    }

    #[test]
    fn one_stall_does_not_flip_the_choice() {
        let policy = SpinPolicy::new();
        policy.record(true, Duration::from_micros(40));
        policy.record(false, Duration::from_micros(60));
        policy.record(true, Duration::from_secs(3));
        assert!(policy.polled_ns.load(Ordering::Relaxed) < 60_000);
    }
}
