//! `MqFaultStrategy`: picks the queue for each send attempt, avoiding brokers that failed or
//! answered slowly.

use std::fmt;
use std::time::Duration;

use super::latency_fault_tolerance::LatencyFaultTolerance;
use crate::client::shared::topic_publish_info::TopicPublishInfo;
use crate::protocol::message::MessageQueue;

/// Latency thresholds, ms (`latencyMax`, 4.9.8).
pub(crate) const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1000, 2000, 3000, 15_000];
/// Isolation for a latency at or above the threshold of the same index, ms
/// (`notAvailableDuration`, 4.9.8).
pub(crate) const NOT_AVAILABLE_DURATION_MS: [u64; 7] =
    [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];
/// The latency a failed attempt counts as (`isolation ? 30000 : currentLatency`).
pub(crate) const ISOLATION_LATENCY: Duration = Duration::from_millis(30_000);

/// The producer's queue choice; mirrors Java's `MQFaultStrategy`.
///
/// With latency fault tolerance off (the default) it is the per-thread round robin of
/// [`TopicPublishInfo`], skipping the broker of the attempt that just failed. With it on,
/// every attempt's latency isolates its broker for a time from the tables above, and the
/// round robin skips isolated brokers.
#[derive(Debug)]
pub(crate) struct MqFaultStrategy {
    enabled: bool,
    fault_tolerance: LatencyFaultTolerance,
}

impl MqFaultStrategy {
    /// A strategy; `send_latency_fault_enable` turns the isolation tables on.
    pub(crate) fn new(send_latency_fault_enable: bool) -> Self {
        MqFaultStrategy {
            enabled: send_latency_fault_enable,
            fault_tolerance: LatencyFaultTolerance::new(),
        }
    }

    /// The fault table (empty while disabled).
    #[cfg(test)]
    pub(crate) fn fault_tolerance(&self) -> &LatencyFaultTolerance {
        &self.fault_tolerance
    }

    /// The queue for the next attempt and why it was chosen; `last_broker` is the broker of
    /// the attempt that just failed (`selectOneMessageQueue`). None only when the topic has no
    /// queue.
    pub(crate) fn select_one_message_queue(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
    ) -> Option<(MessageQueue, QueueChoice)> {
        if !self.enabled {
            let queue = info.select_one_message_queue_avoiding(last_broker)?.clone();
            let why = match last_broker {
                None => QueueChoice::RoundRobin,
                Some(last) if last != queue.broker_name => {
                    QueueChoice::AvoidedLastFailed(last.to_string())
                }
                Some(_) => QueueChoice::OnlyBrokerLeft,
            };
            return Some((queue, why));
        }
        // The first available queue from this thread's position on.
        let start = info.next_index();
        for offset in 0..info.message_queues.len() as u32 {
            if let Some(queue) = info.queue_at(start.wrapping_add(offset) & 0x7FFF_FFFF) {
                if self.fault_tolerance.is_available(&queue.broker_name) {
                    let why = if offset == 0 {
                        QueueChoice::RoundRobin
                    } else {
                        QueueChoice::SkippedIsolated(offset)
                    };
                    return Some((queue.clone(), why));
                }
            }
        }
        // Every broker is isolated: the least bad one, if it still has writable queues.
        if let Some(broker) = self.fault_tolerance.pick_one_at_least() {
            match info.write_queue_nums_of(&broker) {
                Some(write_queues) if write_queues > 0 => {
                    let topic = info.select_one_message_queue()?.topic.clone();
                    let queue_id = (info.next_index() % write_queues as u32) as i32;
                    return Some((
                        MessageQueue::new(topic, broker, queue_id),
                        QueueChoice::LeastBadIsolated,
                    ));
                }
                _ => self.fault_tolerance.remove(&broker),
            }
        }
        info.select_one_message_queue()
            .cloned()
            .map(|queue| (queue, QueueChoice::RoundRobin))
    }

    /// Records an attempt on `broker_name` that took `latency`; `isolation` marks a failure,
    /// which isolates the broker as a 30 s latency would (`updateFaultItem`). No-op while
    /// disabled.
    pub(crate) fn update_fault_item(&self, broker_name: &str, latency: Duration, isolation: bool) {
        if self.enabled {
            let counted = if isolation {
                ISOLATION_LATENCY
            } else {
                latency
            };
            self.fault_tolerance.update_fault_item(
                broker_name,
                latency,
                compute_not_available_duration(counted),
            );
        }
    }
}

/// Why [`MqFaultStrategy::select_one_message_queue`] chose its queue (for the trace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueueChoice {
    /// The next queue of this thread's round robin.
    RoundRobin,
    /// The round robin, passing over the queues of the broker that just failed.
    AvoidedLastFailed(String),
    /// Every queue is on the broker that just failed: it gets another try.
    OnlyBrokerLeft,
    /// The round robin passed over this many queues of isolated brokers.
    SkippedIsolated(u32),
    /// Every broker is isolated: the one that will be available soonest.
    LeastBadIsolated,
}

impl fmt::Display for QueueChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueChoice::RoundRobin => f.write_str("round robin"),
            QueueChoice::AvoidedLastFailed(broker) => {
                write!(f, "round robin, skipping {broker} which failed last")
            }
            QueueChoice::OnlyBrokerLeft => {
                f.write_str("round robin; the broker that failed last is the only one")
            }
            QueueChoice::SkippedIsolated(n) => {
                write!(
                    f,
                    "fault isolation: skipped {n} queue(s) of isolated brokers"
                )
            }
            QueueChoice::LeastBadIsolated => {
                f.write_str("fault isolation: every broker isolated, the least bad one")
            }
        }
    }
}

/// How long a broker is isolated after an attempt of `latency` (`computeNotAvailableDuration`):
/// the duration of the highest threshold the latency reaches.
pub(crate) fn compute_not_available_duration(latency: Duration) -> Duration {
    let latency_ms = latency.as_millis();
    LATENCY_MAX_MS
        .iter()
        .zip(NOT_AVAILABLE_DURATION_MS)
        .rev()
        .find(|(max, _)| latency_ms >= u128::from(**max))
        .map_or(Duration::ZERO, |(_, duration)| {
            Duration::from_millis(duration)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::topic_publish_info::ThreadLocalIndex;
    use crate::protocol::body::{BrokerData, QueueData, TopicRouteData};
    use std::sync::Arc;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn latency_to_isolation_table_of_protocol_md() {
        let table = [
            (0, 0),
            (49, 0),
            (50, 0),
            (99, 0),
            (100, 0),
            (549, 0),
            (550, 30_000),
            (999, 30_000),
            (1000, 60_000),
            (1999, 60_000),
            (2000, 120_000),
            (3000, 180_000),
            (14_999, 180_000),
            (15_000, 600_000),
            (30_000, 600_000),
        ];
        for (latency, isolated) in table {
            assert_eq!(
                compute_not_available_duration(ms(latency)),
                ms(isolated),
                "latency {latency} ms"
            );
        }
        // A failure counts as 30 s of latency: 10 minutes of isolation.
        assert_eq!(
            compute_not_available_duration(ISOLATION_LATENCY),
            ms(600_000)
        );
    }

    fn two_brokers() -> TopicPublishInfo {
        let broker = |name: &str| BrokerData {
            cluster: "c".into(),
            broker_name: name.into(),
            broker_addrs: [(0, format!("{name}:1"))].into_iter().collect(),
        };
        let queues = |name: &str| QueueData {
            broker_name: name.into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            topic_sys_flag: 0,
        };
        let route = TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![queues("a"), queues("b")],
            broker_datas: vec![broker("a"), broker("b")],
            filter_server_table: Default::default(),
        };
        TopicPublishInfo::from_route("T", route, Arc::new(ThreadLocalIndex::new()))
    }

    #[test]
    fn disabled_strategy_skips_only_the_last_failed_broker() {
        let strategy = MqFaultStrategy::new(false);
        let info = two_brokers();
        strategy.update_fault_item("a", ms(30_000), true);
        assert!(strategy.fault_tolerance().item("a").is_none(), "no-op");
        let picks: Vec<_> = (0..8)
            .map(|_| strategy.select_one_message_queue(&info, None).unwrap())
            .collect();
        assert!(picks.iter().any(|(q, _)| q.broker_name == "a"));
        assert!(picks.iter().all(|(_, why)| *why == QueueChoice::RoundRobin));
        for _ in 0..8 {
            let (q, why) = strategy.select_one_message_queue(&info, Some("a")).unwrap();
            assert_eq!(q.broker_name, "b");
            assert_eq!(why, QueueChoice::AvoidedLastFailed("a".into()));
        }
    }

    #[test]
    fn enabled_strategy_avoids_isolated_brokers() {
        let strategy = MqFaultStrategy::new(true);
        let info = two_brokers();
        // A fast send isolates nothing.
        strategy.update_fault_item("a", ms(10), false);
        assert!(strategy.fault_tolerance().is_available("a"));
        // A failure isolates broker a.
        strategy.update_fault_item("a", ms(5), true);
        assert!(!strategy.fault_tolerance().is_available("a"));
        let mut skipped = false;
        for _ in 0..8 {
            let (q, why) = strategy.select_one_message_queue(&info, None).unwrap();
            assert_eq!(q.broker_name, "b");
            skipped |= matches!(why, QueueChoice::SkippedIsolated(_));
        }
        assert!(skipped, "some picks passed over broker a's queues");
        // Both isolated: the least bad one (the fast one) with a valid queue id.
        strategy.update_fault_item("b", ms(600), false);
        assert!(!strategy.fault_tolerance().is_available("b"));
        for _ in 0..8 {
            let (q, why) = strategy.select_one_message_queue(&info, None).unwrap();
            assert_eq!(q.topic, "T");
            assert!(q.queue_id >= 0 && q.queue_id < 2);
            assert_eq!(why, QueueChoice::LeastBadIsolated);
        }
        // A broker picked from the table but gone from the route is forgotten.
        let strategy = MqFaultStrategy::new(true);
        strategy.update_fault_item("gone", ms(1), true);
        strategy.update_fault_item("a", ms(1), true);
        strategy.update_fault_item("b", ms(1), true);
        for _ in 0..4 {
            assert!(strategy.select_one_message_queue(&info, None).is_some());
        }
    }
}
