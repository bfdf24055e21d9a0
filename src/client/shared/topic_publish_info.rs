//! `TopicPublishInfo`: the queues a producer may send a topic's messages to, built from its
//! route, and `ThreadLocalIndex`, the per-thread round-robin counter that picks among them.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::protocol::body::{perm_name, TopicRouteData};
use crate::protocol::message::MessageQueue;

/// A round-robin counter with one value per thread; mirrors Java's `ThreadLocalIndex`.
///
/// Each thread starts at a random value and counts up, so threads spread over the queues
/// without sharing a cache line. The values live in a thread-local map keyed by the index's
/// id: a few bytes per thread and index, for the life of the thread.
#[derive(Debug)]
pub(crate) struct ThreadLocalIndex {
    id: u64,
}

static NEXT_INDEX_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD_INDEXES: RefCell<HashMap<u64, u32>> = RefCell::new(HashMap::new());
}

impl ThreadLocalIndex {
    /// A new counter.
    pub(crate) fn new() -> Self {
        ThreadLocalIndex {
            id: NEXT_INDEX_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Counts up and returns the calling thread's value, never negative as an i32
    /// (`incrementAndGet`).
    pub(crate) fn increment_and_get(&self) -> u32 {
        THREAD_INDEXES.with(|indexes| {
            let mut indexes = indexes.borrow_mut();
            let value = indexes.entry(self.id).or_insert_with(random_start);
            *value = value.wrapping_add(1);
            *value & 0x7FFF_FFFF
        })
    }
}

impl Default for ThreadLocalIndex {
    fn default() -> Self {
        ThreadLocalIndex::new()
    }
}

fn random_start() -> u32 {
    RandomState::new().build_hasher().finish() as u32 & 0x7FFF_FFFF
}

/// The writable queues of a topic and how to pick one; mirrors Java's `TopicPublishInfo`.
#[derive(Debug)]
pub(crate) struct TopicPublishInfo {
    /// True when the route had an `orderTopicConf`.
    pub(crate) order_topic: bool,
    /// The queues to send to, in Java's order.
    pub(crate) message_queues: Vec<MessageQueue>,
    /// The route the queues were built from.
    pub(crate) route: TopicRouteData,
    send_which_queue: Arc<ThreadLocalIndex>,
}

impl TopicPublishInfo {
    /// Builds the queue list as Java's `topicRouteData2TopicPublishInfo` does.
    ///
    /// With an `orderTopicConf` ("brokerA:4;brokerB:4") its queues, in its order. Otherwise
    /// the queue datas sorted by broker name, and for each with write permission whose broker
    /// has a master, `writeQueueNums` queues. Unparsable `orderTopicConf` entries are skipped
    /// (Java throws). `send_which_queue` carries the round-robin position over from the
    /// previous route of the topic.
    pub(crate) fn from_route(
        topic: &str,
        route: TopicRouteData,
        send_which_queue: Arc<ThreadLocalIndex>,
    ) -> Self {
        let mut message_queues = Vec::new();
        let order_conf = route
            .order_topic_conf
            .as_deref()
            .filter(|conf| !conf.is_empty());
        let order_topic = order_conf.is_some();
        if let Some(conf) = order_conf {
            for item in conf.split(';') {
                let Some((broker, count)) = item.split_once(':') else {
                    continue;
                };
                let Ok(count) = count.trim().parse::<i32>() else {
                    continue;
                };
                message_queues.extend((0..count).map(|i| MessageQueue::new(topic, broker, i)));
            }
        } else {
            let mut queue_datas: Vec<_> = route.queue_datas.iter().collect();
            queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for queue_data in queue_datas {
                if !perm_name::is_writeable(queue_data.perm) {
                    continue;
                }
                let has_master = route
                    .broker_datas
                    .iter()
                    .find(|b| b.broker_name == queue_data.broker_name)
                    .is_some_and(|b| b.master_addr().is_some());
                if has_master {
                    message_queues.extend(
                        (0..queue_data.write_queue_nums)
                            .map(|i| MessageQueue::new(topic, &queue_data.broker_name, i)),
                    );
                }
            }
        }
        TopicPublishInfo {
            order_topic,
            message_queues,
            route,
            send_which_queue,
        }
    }

    /// True when there is at least one queue (`ok`).
    pub(crate) fn ok(&self) -> bool {
        !self.message_queues.is_empty()
    }

    /// The round-robin counter, to carry over to the next route of the topic.
    pub(crate) fn send_which_queue(&self) -> &Arc<ThreadLocalIndex> {
        &self.send_which_queue
    }

    /// The next queue of this thread's round robin (`selectOneMessageQueue()`); None when
    /// there are no queues.
    pub(crate) fn select_one_message_queue(&self) -> Option<&MessageQueue> {
        self.queue_at(self.send_which_queue.increment_and_get())
    }

    /// The next queue whose broker is not `last_broker`, the one that just failed; any queue
    /// when every queue is on it (`selectOneMessageQueue(lastBrokerName)`).
    pub(crate) fn select_one_message_queue_avoiding(
        &self,
        last_broker: Option<&str>,
    ) -> Option<&MessageQueue> {
        let Some(last_broker) = last_broker else {
            return self.select_one_message_queue();
        };
        for _ in 0..self.message_queues.len() {
            let queue = self.queue_at(self.send_which_queue.increment_and_get())?;
            if queue.broker_name != last_broker {
                return Some(queue);
            }
        }
        self.select_one_message_queue()
    }

    /// The write queue count of `broker_name` if it may be written to, else None
    /// (`getQueueIdByBroker`).
    pub(crate) fn write_queue_nums_of(&self, broker_name: &str) -> Option<i32> {
        self.route
            .queue_datas
            .iter()
            .find(|q| perm_name::is_writeable(q.perm) && q.broker_name == broker_name)
            .map(|q| q.write_queue_nums)
    }

    pub(crate) fn queue_at(&self, index: u32) -> Option<&MessageQueue> {
        if self.message_queues.is_empty() {
            return None;
        }
        self.message_queues
            .get(index as usize % self.message_queues.len())
    }

    pub(crate) fn next_index(&self) -> u32 {
        self.send_which_queue.increment_and_get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::test_support::fixture_body;
    use crate::protocol::body::{BrokerData, QueueData};
    use std::collections::BTreeMap;

    fn publish_info(route: TopicRouteData) -> TopicPublishInfo {
        TopicPublishInfo::from_route("T", route, Arc::new(ThreadLocalIndex::new()))
    }

    fn broker(name: &str, ids: &[i64]) -> BrokerData {
        BrokerData {
            cluster: "c".into(),
            broker_name: name.into(),
            broker_addrs: ids
                .iter()
                .map(|id| (*id, format!("{name}-{id}:10911")))
                .collect(),
        }
    }

    fn queues(name: &str, n: i32, perm: i32) -> QueueData {
        QueueData {
            broker_name: name.into(),
            read_queue_nums: n,
            write_queue_nums: n,
            perm,
            topic_sys_flag: 0,
        }
    }

    fn names(info: &TopicPublishInfo) -> Vec<(String, i32)> {
        info.message_queues
            .iter()
            .map(|q| (q.broker_name.clone(), q.queue_id))
            .collect()
    }

    #[test]
    fn java_route_vectors_give_java_queue_lists() {
        // 008: broker-a, perm 7 (read+write+inherit), 8 queues.
        let route =
            TopicRouteData::from_json(&fixture_body("java-4.9.8/008-resp-code0-json.bin")).unwrap();
        let info = publish_info(route);
        assert!(!info.order_topic);
        assert_eq!(info.message_queues.len(), 8);
        assert!(info
            .message_queues
            .iter()
            .enumerate()
            .all(|(i, q)| q.topic == "T" && q.broker_name == "broker-a" && q.queue_id == i as i32));
        assert_eq!(info.write_queue_nums_of("broker-a"), Some(8));

        // 090: unquoted brokerAddrs key, perm 6, 4 queues.
        let route =
            TopicRouteData::from_json(&fixture_body("java-4.9.8/090-resp-code0-json.bin")).unwrap();
        let info = publish_info(route);
        assert_eq!(info.message_queues.len(), 4);
        assert_eq!(info.write_queue_nums_of("broker-b"), None);
    }

    #[test]
    fn sorted_by_broker_writable_only_and_master_required() {
        let route = TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![
                queues("broker-c", 2, perm_name::PERM_READ | perm_name::PERM_WRITE),
                queues("broker-a", 1, perm_name::PERM_WRITE),
                queues("broker-r", 3, perm_name::PERM_READ), // read only
                queues("broker-s", 3, 6),                    // slave only
                queues("broker-x", 3, 6),                    // no broker data
            ],
            broker_datas: vec![
                broker("broker-c", &[0, 1]),
                broker("broker-a", &[0]),
                broker("broker-r", &[0]),
                broker("broker-s", &[1]),
            ],
            filter_server_table: BTreeMap::new(),
        };
        let info = publish_info(route);
        assert_eq!(
            names(&info),
            [
                ("broker-a".to_string(), 0),
                ("broker-c".to_string(), 0),
                ("broker-c".to_string(), 1)
            ]
        );
        assert_eq!(info.write_queue_nums_of("broker-r"), None);
    }

    #[test]
    fn order_topic_conf_overrides_the_queue_datas() {
        let route = TopicRouteData {
            order_topic_conf: Some("broker-b:2;broker-a:1;junk;broker-c:x".into()),
            queue_datas: vec![queues("broker-a", 8, 6)],
            broker_datas: vec![broker("broker-a", &[0])],
            filter_server_table: BTreeMap::new(),
        };
        let info = publish_info(route);
        assert!(info.order_topic);
        assert_eq!(
            names(&info),
            [
                ("broker-b".to_string(), 0),
                ("broker-b".to_string(), 1),
                ("broker-a".to_string(), 0)
            ]
        );
    }

    #[test]
    fn round_robin_skips_the_broker_that_failed_last() {
        let route = TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![queues("broker-a", 2, 6), queues("broker-b", 2, 6)],
            broker_datas: vec![broker("broker-a", &[0]), broker("broker-b", &[0])],
            filter_server_table: BTreeMap::new(),
        };
        let info = publish_info(route);
        // Plain round robin visits every queue once per cycle.
        let mut seen: Vec<_> = (0..4)
            .map(|_| {
                let q = info.select_one_message_queue().unwrap();
                (q.broker_name.clone(), q.queue_id)
            })
            .collect();
        seen.sort();
        assert_eq!(seen.len(), 4);
        seen.dedup();
        assert_eq!(seen.len(), 4);
        // After a failure on broker-a, never broker-a while broker-b has queues.
        for _ in 0..20 {
            let q = info
                .select_one_message_queue_avoiding(Some("broker-a"))
                .unwrap();
            assert_eq!(q.broker_name, "broker-b");
        }
        // A topic on one broker only still gets a queue.
        let single = info_single();
        assert_eq!(
            single
                .select_one_message_queue_avoiding(Some("broker-a"))
                .unwrap()
                .broker_name,
            "broker-a"
        );
        let empty = TopicPublishInfo::from_route(
            "T",
            TopicRouteData::default(),
            Arc::new(ThreadLocalIndex::new()),
        );
        assert!(!empty.ok());
        assert!(empty.select_one_message_queue_avoiding(None).is_none());
    }

    fn info_single() -> TopicPublishInfo {
        publish_info(TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![queues("broker-a", 2, 6)],
            broker_datas: vec![broker("broker-a", &[0])],
            filter_server_table: BTreeMap::new(),
        })
    }

    #[test]
    fn thread_local_index_is_per_thread_and_per_index() {
        let a = Arc::new(ThreadLocalIndex::new());
        let b = ThreadLocalIndex::new();
        let first = a.increment_and_get();
        assert_eq!(a.increment_and_get(), (first + 1) & 0x7FFF_FFFF);
        // Another index does not move this one.
        b.increment_and_get();
        assert_eq!(a.increment_and_get(), (first + 2) & 0x7FFF_FFFF);
        // Another thread has its own value.
        let other = a.clone();
        let values = std::thread::spawn(move || {
            let x = other.increment_and_get();
            (x, other.increment_and_get())
        })
        .join()
        .unwrap();
        assert_eq!(values.1, (values.0 + 1) & 0x7FFF_FFFF);
        assert_eq!(a.increment_and_get(), (first + 3) & 0x7FFF_FFFF);
    }
}
