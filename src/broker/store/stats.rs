//! What the store has done: put and get counts, sizes, latencies and rates; mirrors Java's
//! `StoreStatsService` (the part of GET_BROKER_RUNTIME_INFO the store answers).
//!
//! Counters are bumped by puts and gets. Rates come from a sample of the counters taken once a
//! second ([`StoreStats::sample`], by the broker's stats thread): the rate over the last 10 s,
//! 60 s and 600 s, each empty until that much history exists (as Java). Put latencies are
//! counted per millisecond over the current minute; the last full minute gives the
//! distribution and the 99th and 99.9th percentiles.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::common::clock::now_millis;
use crate::common::sync::MutexExt;

/// Samples kept: one a second for 10 minutes, and one more.
const MAX_SAMPLES: usize = 601;

/// Latency histogram resolution: one bucket per ms up to this, one for everything above.
const LATENCY_BUCKETS_MS: usize = 1000;

/// The upper bounds of Java's `putMessageDistributeTime` buckets, in ms, and their labels.
const DISTRIBUTION: [(u64, &str); 13] = [
    (0, "<=0ms"),
    (10, "0~10ms"),
    (50, "10~50ms"),
    (100, "50~100ms"),
    (200, "100~200ms"),
    (500, "200~500ms"),
    (1000, "500ms~1s"),
    (2000, "1~2s"),
    (3000, "2~3s"),
    (4000, "3~4s"),
    (5000, "4~5s"),
    (10_000, "5~10s"),
    (u64::MAX, "10s~"),
];

/// One second's snapshot of the counters.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: i64,
    put: u64,
    get_found: u64,
    get_miss: u64,
    transferred: u64,
}

/// Put latencies of one minute: per ms up to 1 s, and above.
#[derive(Debug, Clone)]
struct LatencyMinute {
    minute: i64,
    counts: Vec<u64>,
}

impl LatencyMinute {
    fn new(minute: i64) -> Self {
        LatencyMinute {
            minute,
            counts: vec![0; LATENCY_BUCKETS_MS + 1],
        }
    }
}

#[derive(Debug)]
struct Latencies {
    current: LatencyMinute,
    last: Option<LatencyMinute>,
}

/// The store's counters.
#[derive(Debug)]
pub struct StoreStats {
    boot_timestamp: i64,
    put_times: AtomicU64,
    put_size: AtomicU64,
    put_failed: AtomicU64,
    put_time_max_ms: AtomicU64,
    get_found: AtomicU64,
    get_miss: AtomicU64,
    get_transferred: AtomicU64,
    get_time_max_ms: AtomicU64,
    samples: Mutex<VecDeque<Sample>>,
    latencies: Mutex<Latencies>,
}

/// Java's `Double.toString` for the values shown here: `0.0`, `12.5`.
pub(crate) fn java_double(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e7 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

impl Default for StoreStats {
    fn default() -> Self {
        let now = now_millis();
        StoreStats {
            boot_timestamp: now,
            put_times: AtomicU64::new(0),
            put_size: AtomicU64::new(0),
            put_failed: AtomicU64::new(0),
            put_time_max_ms: AtomicU64::new(0),
            get_found: AtomicU64::new(0),
            get_miss: AtomicU64::new(0),
            get_transferred: AtomicU64::new(0),
            get_time_max_ms: AtomicU64::new(0),
            samples: Mutex::new(VecDeque::with_capacity(MAX_SAMPLES)),
            latencies: Mutex::new(Latencies {
                current: LatencyMinute::new(now / 60_000),
                last: None,
            }),
        }
    }
}

impl StoreStats {
    /// `messages` stored, `bytes` in all, in `elapsed_ms`.
    pub(crate) fn record_put(&self, messages: u64, bytes: u64, elapsed_ms: u64) {
        self.put_times.fetch_add(messages, Ordering::Relaxed);
        self.put_size.fetch_add(bytes, Ordering::Relaxed);
        self.put_time_max_ms
            .fetch_max(elapsed_ms, Ordering::Relaxed);
        let now = now_millis();
        let mut latencies = self.latencies.lock_unpoisoned();
        if latencies.current.minute != now / 60_000 {
            let finished =
                std::mem::replace(&mut latencies.current, LatencyMinute::new(now / 60_000));
            latencies.last = Some(finished);
        }
        let bucket = (elapsed_ms as usize).min(LATENCY_BUCKETS_MS);
        latencies.current.counts[bucket] += messages;
    }

    /// A put that stored nothing.
    pub(crate) fn record_put_failure(&self) {
        self.put_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A get that found messages (`transferred` of them) or none, in `elapsed_ms`.
    pub(crate) fn record_get(&self, transferred: u64, elapsed_ms: u64) {
        if transferred > 0 {
            self.get_found.fetch_add(1, Ordering::Relaxed);
            self.get_transferred
                .fetch_add(transferred, Ordering::Relaxed);
        } else {
            self.get_miss.fetch_add(1, Ordering::Relaxed);
        }
        self.get_time_max_ms
            .fetch_max(elapsed_ms, Ordering::Relaxed);
    }

    /// When the store opened, ms since the Unix epoch.
    pub fn boot_timestamp(&self) -> i64 {
        self.boot_timestamp
    }

    /// Messages stored since the store opened.
    pub fn put_message_times_total(&self) -> u64 {
        self.put_times.load(Ordering::Relaxed)
    }

    /// Messages handed to consumers since the store opened.
    pub fn get_transferred_total(&self) -> u64 {
        self.get_transferred.load(Ordering::Relaxed)
    }

    /// Takes the once-a-second sample the rates are computed from.
    pub fn sample(&self) {
        let sample = Sample {
            at_ms: now_millis(),
            put: self.put_times.load(Ordering::Relaxed),
            get_found: self.get_found.load(Ordering::Relaxed),
            get_miss: self.get_miss.load(Ordering::Relaxed),
            transferred: self.get_transferred.load(Ordering::Relaxed),
        };
        let mut samples = self.samples.lock_unpoisoned();
        if samples.len() == MAX_SAMPLES {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// The rates of one counter over 10 s, 60 s and 600 s, as Java writes them: three values
    /// separated by spaces, each empty while there is not that much history.
    fn rates(&self, value: impl Fn(&Sample) -> f64) -> String {
        let samples = self.samples.lock_unpoisoned();
        [10usize, 60, 600]
            .iter()
            .map(|&seconds| {
                if samples.len() <= seconds {
                    return String::new();
                }
                let (last, first) = (
                    &samples[samples.len() - 1],
                    &samples[samples.len() - 1 - seconds],
                );
                let elapsed = (last.at_ms - first.at_ms).max(1) as f64;
                java_double((value(last) - value(first)) / elapsed * 1000.0)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The sum of two counters' rates (`getTotalTps`).
    fn total_rates(&self) -> String {
        self.rates(|s| (s.get_found + s.get_miss) as f64)
    }

    fn latency_report(&self) -> (String, f64, f64) {
        let latencies = self.latencies.lock_unpoisoned();
        let counts = latencies
            .last
            .as_ref()
            .map_or_else(|| vec![0; LATENCY_BUCKETS_MS + 1], |m| m.counts.clone());
        drop(latencies);
        let mut distribution = String::new();
        let mut lower = 0u64;
        for (upper, label) in DISTRIBUTION {
            let n: u64 = counts
                .iter()
                .enumerate()
                .filter(|(ms, _)| {
                    let ms = *ms as u64;
                    if upper == 0 {
                        ms == 0
                    } else {
                        ms > lower && ms <= upper
                    }
                })
                .map(|(_, c)| *c)
                .sum();
            distribution.push_str(&format!("[{label}]:{n} "));
            lower = upper;
        }
        let total: u64 = counts.iter().sum();
        let percentile = |p: f64| -> f64 {
            if total == 0 {
                return 0.0;
            }
            let rank = (total as f64 * p).ceil() as u64;
            let mut seen = 0;
            for (ms, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return ms as f64;
                }
            }
            LATENCY_BUCKETS_MS as f64
        };
        (distribution, percentile(0.99), percentile(0.999))
    }

    /// The store's entries of GET_BROKER_RUNTIME_INFO (`StoreStatsService.getRuntimeInfo`).
    pub fn runtime_info(&self) -> Vec<(String, String)> {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let uptime = (now_millis() - self.boot_timestamp).max(0) / 1000;
        let put_times = load(&self.put_times);
        let put_size = load(&self.put_size);
        let (distribution, p99, p999) = self.latency_report();
        let average = if put_times == 0 {
            0.0
        } else {
            put_size as f64 / put_times as f64
        };
        vec![
            ("bootTimestamp".into(), self.boot_timestamp.to_string()),
            (
                "runtime".into(),
                format!(
                    "[ {} days, {} hours, {} minutes, {} seconds ]",
                    uptime / 86_400,
                    uptime % 86_400 / 3600,
                    uptime % 3600 / 60,
                    uptime % 60
                ),
            ),
            (
                "putMessageEntireTimeMax".into(),
                load(&self.put_time_max_ms).to_string(),
            ),
            // Java reports at least 1.
            ("putMessageTimesTotal".into(), put_times.max(1).to_string()),
            (
                "putMessageFailedTimes".into(),
                load(&self.put_failed).to_string(),
            ),
            ("putMessageSizeTotal".into(), put_size.to_string()),
            ("putMessageDistributeTime".into(), distribution),
            ("putMessageAverageSize".into(), java_double(average)),
            ("dispatchMaxBuffer".into(), "0".into()),
            (
                "getMessageEntireTimeMax".into(),
                load(&self.get_time_max_ms).to_string(),
            ),
            ("putTps".into(), self.rates(|s| s.put as f64)),
            ("getFoundTps".into(), self.rates(|s| s.get_found as f64)),
            ("getMissTps".into(), self.rates(|s| s.get_miss as f64)),
            ("getTotalTps".into(), self.total_rates()),
            (
                "getTransferedTps".into(),
                self.rates(|s| s.transferred as f64),
            ),
            ("putLatency99".into(), format!("{p99:.2}")),
            ("putLatency999".into(), format!("{p999:.2}")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(info: &'a [(String, String)], key: &str) -> &'a str {
        info.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn counters_and_rates_read_as_java_writes_them() {
        let stats = StoreStats::default();
        let info = stats.runtime_info();
        assert_eq!(value(&info, "putMessageTimesTotal"), "1", "at least 1");
        assert_eq!(value(&info, "putTps"), "  ", "no history yet");
        assert_eq!(value(&info, "putMessageAverageSize"), "0.0");
        stats.record_put(3, 300, 2);
        stats.record_put_failure();
        stats.record_get(5, 1);
        stats.record_get(0, 0);
        for _ in 0..11 {
            stats.sample();
        }
        let info = stats.runtime_info();
        assert_eq!(value(&info, "putMessageTimesTotal"), "3");
        assert_eq!(value(&info, "putMessageSizeTotal"), "300");
        assert_eq!(value(&info, "putMessageAverageSize"), "100.0");
        assert_eq!(value(&info, "putMessageFailedTimes"), "1");
        assert_eq!(value(&info, "putMessageEntireTimeMax"), "2");
        // Ten seconds of history: the first slot has a rate (0: nothing moved meanwhile).
        assert_eq!(value(&info, "putTps"), "0.0  ");
        assert_eq!(stats.get_transferred_total(), 5);
        assert!(value(&info, "putMessageDistributeTime").starts_with("[<=0ms]:0 [0~10ms]:"));
        assert!(value(&info, "runtime").starts_with("[ 0 days, 0 hours, 0 minutes, "));
    }

    #[test]
    fn whole_doubles_keep_their_point() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(12.5), "12.5");
        assert_eq!(java_double(3.0), "3.0");
    }
}
