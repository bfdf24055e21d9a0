//! The broker's own statistics: messages each group pulls from each topic (the consume rate
//! of GET_CONSUME_STATS) and the day-start put and get totals of GET_BROKER_RUNTIME_INFO;
//! mirrors the parts of Java's `BrokerStatsManager` and `BrokerStats` the admin tools read.
//!
//! [`BrokerStatsManager::sample`] runs once a second on the `rmq-broker-stats` thread.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::store::StoreStats;
use crate::common::clock::now_millis;
use crate::common::sync::MutexExt;

/// Seconds of per-group history: the rate is over the last minute.
const GROUP_WINDOW: usize = 61;

const DAY_MS: i64 = 86_400_000;

#[derive(Default)]
struct GroupGets {
    total: u64,
    /// (time, total) once a second, the last minute.
    samples: VecDeque<(i64, u64)>,
}

/// Put and get totals at the start of today and of yesterday (`BrokerStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DailyTotals {
    /// Messages stored before today began (`msgPutTotalTodayMorning`).
    pub put_today_morning: u64,
    /// Messages stored before yesterday began (`msgPutTotalYesterdayMorning`).
    pub put_yesterday_morning: u64,
    /// Messages pulled before today began (`msgGetTotalTodayMorning`).
    pub get_today_morning: u64,
    /// Messages pulled before yesterday began (`msgGetTotalYesterdayMorning`).
    pub get_yesterday_morning: u64,
}

struct Daily {
    /// Days since the Unix epoch (UTC) of the last look.
    day: Option<i64>,
    totals: DailyTotals,
}

/// Per-group pull counts and day-start totals.
pub(crate) struct BrokerStatsManager {
    group_gets: Mutex<HashMap<String, GroupGets>>,
    daily: Mutex<Daily>,
}

fn group_key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl BrokerStatsManager {
    pub(crate) fn new() -> Self {
        BrokerStatsManager {
            group_gets: Mutex::new(HashMap::new()),
            daily: Mutex::new(Daily {
                day: None,
                totals: DailyTotals::default(),
            }),
        }
    }

    /// `incGroupGetNums`: `group` pulled `messages` of `topic`.
    pub(crate) fn inc_group_get_nums(&self, group: &str, topic: &str, messages: u64) {
        self.group_gets
            .lock_unpoisoned()
            .entry(group_key(topic, group))
            .or_default()
            .total += messages;
    }

    /// `tpsGroupGetNums`: messages per second `group` pulled from `topic` over the last
    /// minute (less while there is less history).
    pub(crate) fn tps_group_get_nums(&self, group: &str, topic: &str) -> f64 {
        let gets = self.group_gets.lock_unpoisoned();
        let Some(entry) = gets.get(&group_key(topic, group)) else {
            return 0.0;
        };
        match (entry.samples.front(), entry.samples.back()) {
            (Some(first), Some(last)) if last.0 > first.0 => {
                (last.1 - first.1) as f64 * 1000.0 / (last.0 - first.0) as f64
            }
            _ => 0.0,
        }
    }

    /// The day-start totals.
    pub(crate) fn daily_totals(&self) -> DailyTotals {
        self.daily.lock_unpoisoned().totals
    }

    /// The once-a-second look: samples each group's count and the store's, and moves the
    /// day-start totals when a day (UTC) begins.
    pub(crate) fn sample(&self, store: &StoreStats) {
        store.sample();
        let now = now_millis();
        for entry in self.group_gets.lock_unpoisoned().values_mut() {
            if entry.samples.len() == GROUP_WINDOW {
                entry.samples.pop_front();
            }
            entry.samples.push_back((now, entry.total));
        }
        let today = now / DAY_MS;
        let mut daily = self.daily.lock_unpoisoned();
        match daily.day {
            None => daily.day = Some(today),
            Some(day) if day != today => {
                daily.day = Some(today);
                let t = &mut daily.totals;
                t.put_yesterday_morning = t.put_today_morning;
                t.get_yesterday_morning = t.get_today_morning;
                t.put_today_morning = store.put_message_times_total();
                t.get_today_morning = store.get_transferred_total();
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_rates_come_from_the_samples() {
        let stats = BrokerStatsManager::new();
        let store = StoreStats::default();
        assert_eq!(stats.tps_group_get_nums("G", "T"), 0.0);
        stats.inc_group_get_nums("G", "T", 10);
        stats.sample(&store);
        stats.inc_group_get_nums("G", "T", 10);
        // Samples a few ms apart: the rate is large but finite and positive.
        let first = now_millis();
        while now_millis() == first {
            std::hint::spin_loop();
        }
        stats.sample(&store);
        assert!(stats.tps_group_get_nums("G", "T") > 0.0);
        assert_eq!(stats.tps_group_get_nums("G", "Other"), 0.0);
        assert_eq!(stats.daily_totals(), DailyTotals::default());
    }
}
