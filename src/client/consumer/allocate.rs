//! How a consumer group shares a topic's queues: each member runs the same strategy over the
//! same sorted lists and takes its own part; mirrors Java's `AllocateMessageQueueStrategy`
//! and its implementations.

use std::fmt;

use crate::protocol::message::MessageQueue;

/// Picks the queues one member of a group consumes. Every member must use the same strategy
/// (the C++ and Java clients default to [`AllocateAveragely`] too): given the same sorted
/// queues and sorted client ids, the members' shares must not overlap and must cover every
/// queue.
pub trait AllocateMessageQueueStrategy: Send + Sync + fmt::Debug {
    /// The queues of `all_queues` (sorted) that `current_client_id` (one of `all_client_ids`,
    /// sorted) takes.
    fn allocate(
        &self,
        consumer_group: &str,
        current_client_id: &str,
        all_queues: &[MessageQueue],
        all_client_ids: &[String],
    ) -> Vec<MessageQueue>;

    /// The strategy's name (`getName`), for logs and running info.
    fn name(&self) -> &str;
}

/// Contiguous, even blocks: with 8 queues and 3 clients, 3 + 3 + 2 (`AVG`); Java's
/// `AllocateMessageQueueAveragely`, the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateAveragely;

impl AllocateMessageQueueStrategy for AllocateAveragely {
    fn allocate(
        &self,
        _consumer_group: &str,
        current_client_id: &str,
        all_queues: &[MessageQueue],
        all_client_ids: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = all_client_ids.iter().position(|c| c == current_client_id) else {
            return Vec::new();
        };
        if all_queues.is_empty() {
            return Vec::new();
        }
        let (queues, clients) = (all_queues.len(), all_client_ids.len());
        let rest = queues % clients;
        let average = if queues <= clients {
            1
        } else if rest > 0 && index < rest {
            queues / clients + 1
        } else {
            queues / clients
        };
        let start = if rest > 0 && index < rest {
            index * average
        } else {
            index * average + rest
        };
        let range = average.min(queues.saturating_sub(start));
        (0..range)
            .map(|i| all_queues[(start + i) % queues].clone())
            .collect()
    }

    fn name(&self) -> &str {
        "AVG"
    }
}

/// Every n-th queue, like dealing cards: with 3 clients, client 0 takes queues 0, 3, 6
/// (`AVG_BY_CIRCLE`); Java's `AllocateMessageQueueAveragelyByCircle`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateAveragelyByCircle;

impl AllocateMessageQueueStrategy for AllocateAveragelyByCircle {
    fn allocate(
        &self,
        _consumer_group: &str,
        current_client_id: &str,
        all_queues: &[MessageQueue],
        all_client_ids: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = all_client_ids.iter().position(|c| c == current_client_id) else {
            return Vec::new();
        };
        all_queues
            .iter()
            .skip(index)
            .step_by(all_client_ids.len())
            .cloned()
            .collect()
    }

    fn name(&self) -> &str {
        "AVG_BY_CIRCLE"
    }
}

/// A fixed list, whatever the group holds (`CONFIG`); Java's `AllocateMessageQueueByConfig`.
/// Each member must be given its own list.
#[derive(Debug, Clone, Default)]
pub struct AllocateByConfig {
    queues: Vec<MessageQueue>,
}

impl AllocateByConfig {
    /// Always these queues.
    pub fn new(queues: Vec<MessageQueue>) -> Self {
        AllocateByConfig { queues }
    }
}

impl AllocateMessageQueueStrategy for AllocateByConfig {
    fn allocate(
        &self,
        _consumer_group: &str,
        _current_client_id: &str,
        _all_queues: &[MessageQueue],
        _all_client_ids: &[String],
    ) -> Vec<MessageQueue> {
        self.queues.clone()
    }

    fn name(&self) -> &str {
        "CONFIG"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    fn clients(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.0.0.1@{i}")).collect()
    }

    fn ids(strategy: &dyn AllocateMessageQueueStrategy, q: i32, c: usize, me: usize) -> Vec<i32> {
        let clients = clients(c);
        strategy
            .allocate("G", &clients[me], &queues(q), &clients)
            .iter()
            .map(|q| q.queue_id)
            .collect()
    }

    #[test]
    fn averagely_matches_java() {
        let s = AllocateAveragely;
        assert_eq!(ids(&s, 8, 3, 0), [0, 1, 2]);
        assert_eq!(ids(&s, 8, 3, 1), [3, 4, 5]);
        assert_eq!(ids(&s, 8, 3, 2), [6, 7]);
        assert_eq!(ids(&s, 4, 2, 1), [2, 3]);
        // More clients than queues: the last ones get nothing.
        assert_eq!(ids(&s, 2, 3, 1), [1]);
        assert_eq!(ids(&s, 2, 3, 2), Vec::<i32>::new());
        // A client the group does not list gets nothing.
        assert!(s
            .allocate("G", "stranger", &queues(4), &clients(2))
            .is_empty());
    }

    #[test]
    fn by_circle_deals_queues_round() {
        let s = AllocateAveragelyByCircle;
        assert_eq!(ids(&s, 8, 3, 0), [0, 3, 6]);
        assert_eq!(ids(&s, 8, 3, 2), [2, 5]);
    }

    #[test]
    fn every_queue_goes_to_exactly_one_member() {
        for strategy in [
            &AllocateAveragely as &dyn AllocateMessageQueueStrategy,
            &AllocateAveragelyByCircle,
        ] {
            for q in 0..20 {
                for c in 1..7 {
                    let mut all: Vec<i32> = (0..c).flat_map(|me| ids(strategy, q, c, me)).collect();
                    all.sort();
                    assert_eq!(
                        all,
                        (0..q).collect::<Vec<_>>(),
                        "{} {q} {c}",
                        strategy.name()
                    );
                }
            }
        }
    }
}
