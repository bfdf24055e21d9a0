//! Time: wall-clock milliseconds as Java reads them, a cheap monotonic counter, deadlines.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (`System.currentTimeMillis()`): what born and store
/// timestamps, subscription versions and file names carry. 0 if the clock is before 1970.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Nanoseconds since the Unix epoch, for ids that only need to differ between calls.
pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Milliseconds since this process first asked: a monotonic counter that fits an atomic, for
/// "last active" stamps that are read far more often than written.
pub(crate) fn monotonic_millis() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The instant `timeout` from now, or a century from now when that overflows: callers may
/// pass `Duration::MAX` for "no limit", and `Instant + Duration` panics on overflow.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_is_after_2023_and_deadlines_never_overflow() {
        assert!(now_millis() > 1_700_000_000_000);
        assert!(now_nanos() > 1_700_000_000_000_000_000);
        let far = deadline_after(Duration::MAX);
        assert!(far > Instant::now() + Duration::from_secs(3600 * 24 * 365));
        let a = monotonic_millis();
        assert!(monotonic_millis() >= a);
    }
}
