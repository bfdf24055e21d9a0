//! A consumer's rates per topic, for GET_CONSUMER_RUNNING_INFO; mirrors what Java's
//! `ConsumerStatsManager` reports (pull and consume TPS and RT over the last minute, failures
//! over the last hour).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::common::clock::monotonic_millis;
use crate::common::sync::MutexExt;
use crate::protocol::body::ConsumeStatus;

/// Counts of one second.
#[derive(Debug, Clone, Copy, Default)]
struct Second {
    at: u64,
    pulled: u64,
    pull_rt_ms: u64,
    pulls: u64,
    consumed_ok: u64,
    consumed_failed: u64,
    consume_rt_ms: u64,
    consumes: u64,
}

/// One hour of per-second counts per topic.
#[derive(Default)]
pub(crate) struct ConsumeStats {
    topics: Mutex<HashMap<String, VecDeque<Second>>>,
}

const HOUR_SECONDS: u64 = 3600;
const MINUTE_SECONDS: u64 = 60;

impl ConsumeStats {
    fn record(&self, topic: &str, update: impl FnOnce(&mut Second)) {
        let now = monotonic_millis() / 1000;
        let mut topics = self.topics.lock_unpoisoned();
        let seconds = topics.entry(topic.to_string()).or_default();
        if seconds.back().is_none_or(|s| s.at != now) {
            seconds.push_back(Second {
                at: now,
                ..Second::default()
            });
        }
        while seconds.front().is_some_and(|s| s.at + HOUR_SECONDS <= now) {
            seconds.pop_front();
        }
        if let Some(second) = seconds.back_mut() {
            update(second);
        }
    }

    /// A pull of `topic` brought `messages` in `rt_ms`.
    pub(crate) fn pulled(&self, topic: &str, messages: usize, rt_ms: u64) {
        self.record(topic, |s| {
            s.pulled += messages as u64;
            s.pull_rt_ms += rt_ms;
            s.pulls += 1;
        });
    }

    /// A listener took `rt_ms` for `ok` messages consumed and `failed` not.
    pub(crate) fn consumed(&self, topic: &str, ok: usize, failed: usize, rt_ms: u64) {
        self.record(topic, |s| {
            s.consumed_ok += ok as u64;
            s.consumed_failed += failed as u64;
            s.consume_rt_ms += rt_ms;
            s.consumes += 1;
        });
    }

    /// The rates of `topic` (`consumeStatus`).
    pub(crate) fn status(&self, topic: &str) -> ConsumeStatus {
        let now = monotonic_millis() / 1000;
        let topics = self.topics.lock_unpoisoned();
        let Some(seconds) = topics.get(topic) else {
            return ConsumeStatus::default();
        };
        let minute = seconds.iter().filter(|s| s.at + MINUTE_SECONDS > now);
        let mut m = Second::default();
        for s in minute {
            m.pulled += s.pulled;
            m.pull_rt_ms += s.pull_rt_ms;
            m.pulls += s.pulls;
            m.consumed_ok += s.consumed_ok;
            m.consumed_failed += s.consumed_failed;
            m.consume_rt_ms += s.consume_rt_ms;
            m.consumes += s.consumes;
        }
        let average = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
        let per_second = |n: u64| n as f64 / MINUTE_SECONDS as f64;
        ConsumeStatus {
            pull_rt: average(m.pull_rt_ms, m.pulls),
            pull_tps: per_second(m.pulled),
            consume_rt: average(m.consume_rt_ms, m.consumes),
            consume_ok_tps: per_second(m.consumed_ok),
            consume_failed_tps: per_second(m.consumed_failed),
            consume_failed_msgs: seconds.iter().map(|s| s.consumed_failed as i64).sum(),
        }
    }

    /// The topics with any count.
    #[cfg(test)]
    pub(crate) fn topics(&self) -> Vec<String> {
        self.topics.lock_unpoisoned().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_average_over_the_last_minute() {
        let stats = ConsumeStats::default();
        stats.pulled("T", 32, 4);
        stats.pulled("T", 28, 6);
        stats.consumed("T", 59, 1, 10);
        let status = stats.status("T");
        assert_eq!(status.pull_rt, 5.0);
        assert_eq!(status.pull_tps, 1.0);
        assert_eq!(status.consume_rt, 10.0);
        assert_eq!(status.consume_failed_msgs, 1);
        assert_eq!(stats.status("other"), ConsumeStatus::default());
        assert_eq!(stats.topics(), ["T"]);
    }
}
