//! Who is connected: producer groups, consumer groups and their subscriptions, queue locks.
//!
//! Mirrors Java's `ProducerManager`, `ConsumerManager`/`ConsumerGroupInfo` and
//! `RebalanceLockManager`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::body::{ConsumerData, SubscriptionData};
use crate::protocol::message::MessageQueue;
use crate::remoting::Connection;

/// One client connection in a group; mirrors `ClientChannelInfo`.
#[derive(Clone)]
pub struct ClientChannelInfo {
    /// The client's id (`ip@instance`).
    pub client_id: String,
    /// Its connection, for broker → client requests.
    pub connection: Arc<Connection>,
    /// When its last heartbeat arrived.
    pub last_update: Instant,
}

/// A consumer group's members and subscriptions; mirrors `ConsumerGroupInfo`.
#[derive(Clone, Default)]
pub struct ConsumerGroupInfo {
    /// Members by connection id.
    pub channels: BTreeMap<u64, ClientChannelInfo>,
    /// Subscriptions by topic.
    pub subscriptions: BTreeMap<String, SubscriptionData>,
}

impl ConsumerGroupInfo {
    /// Client ids of the members, sorted (what GET_CONSUMER_LIST_BY_GROUP answers).
    pub fn client_ids(&self) -> Vec<String> {
        let ids: BTreeSet<String> = self
            .channels
            .values()
            .map(|c| c.client_id.clone())
            .collect();
        ids.into_iter().collect()
    }
}

/// Producer and consumer groups by name.
#[derive(Default)]
pub struct ClientManager {
    producers: Mutex<HashMap<String, BTreeMap<u64, ClientChannelInfo>>>,
    consumers: Mutex<HashMap<String, ConsumerGroupInfo>>,
}

impl ClientManager {
    /// A manager with no clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// `registerProducer`: records (or refreshes) a producer connection.
    pub fn register_producer(&self, group: &str, client_id: &str, connection: &Arc<Connection>) {
        let info = ClientChannelInfo {
            client_id: client_id.into(),
            connection: connection.clone(),
            last_update: Instant::now(),
        };
        let mut producers = self.producers.lock().unwrap_or_else(|e| e.into_inner());
        producers
            .entry(group.to_string())
            .or_default()
            .insert(connection.id(), info);
    }

    /// `registerConsumer`: records a consumer connection and its subscriptions. Returns true
    /// when the group's membership changed (its members must be told).
    pub fn register_consumer(
        &self,
        data: &ConsumerData,
        client_id: &str,
        connection: &Arc<Connection>,
    ) -> bool {
        let mut consumers = self.consumers.lock().unwrap_or_else(|e| e.into_inner());
        let group = consumers.entry(data.group_name.clone()).or_default();
        let info = ClientChannelInfo {
            client_id: client_id.into(),
            connection: connection.clone(),
            last_update: Instant::now(),
        };
        let is_new = group.channels.insert(connection.id(), info).is_none();
        group.subscriptions = data
            .subscription_data_set
            .iter()
            .map(|s| (s.topic.clone(), s.clone()))
            .collect();
        is_new
    }

    /// `unregisterProducer` / `unregisterConsumer` for UNREGISTER_CLIENT. Returns true when a
    /// consumer group lost a member.
    pub fn unregister(
        &self,
        connection_id: u64,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> bool {
        if let Some(group) = producer_group {
            if let Some(members) = self
                .producers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(group)
            {
                members.remove(&connection_id);
            }
        }
        let Some(group) = consumer_group else {
            return false;
        };
        let mut consumers = self.consumers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(info) = consumers.get_mut(group) else {
            return false;
        };
        let removed = info.channels.remove(&connection_id).is_some();
        if info.channels.is_empty() {
            consumers.remove(group);
        }
        removed
    }

    /// A connection closed (or expired): forget it everywhere. Returns the consumer groups
    /// that lost a member.
    pub fn remove_connection(&self, remote_addr: &str) -> Vec<String> {
        let other = |c: &ClientChannelInfo| c.connection.remote_addr() != remote_addr;
        for members in self
            .producers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values_mut()
        {
            members.retain(|_, c| other(c));
        }
        let mut consumers = self.consumers.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = Vec::new();
        for (group, info) in consumers.iter_mut() {
            let before = info.channels.len();
            info.channels.retain(|_, c| other(c));
            if info.channels.len() != before {
                changed.push(group.clone());
            }
        }
        consumers.retain(|_, info| !info.channels.is_empty());
        changed
    }

    /// Connections whose last heartbeat is older than `expiry`.
    pub fn expired_connections(&self, expiry: Duration) -> Vec<Arc<Connection>> {
        let now = Instant::now();
        let stale = |c: &ClientChannelInfo| now.duration_since(c.last_update) > expiry;
        let mut out: BTreeMap<u64, Arc<Connection>> = BTreeMap::new();
        for members in self
            .producers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            out.extend(
                members
                    .iter()
                    .filter(|(_, c)| stale(c))
                    .map(|(id, c)| (*id, c.connection.clone())),
            );
        }
        for info in self
            .consumers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            out.extend(
                info.channels
                    .iter()
                    .filter(|(_, c)| stale(c))
                    .map(|(id, c)| (*id, c.connection.clone())),
            );
        }
        out.into_values().collect()
    }

    /// A consumer group's members and subscriptions.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.consumers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(group)
            .cloned()
    }

    /// Members of a producer group (tests and tools).
    pub fn producer_group_size(&self, group: &str) -> usize {
        self.producers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(group)
            .map_or(0, BTreeMap::len)
    }
}

/// How long a queue lock lasts without renewal (`REBALANCE_LOCK_MAX_LIVE_TIME`).
pub const REBALANCE_LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(60);

/// Who holds a queue and since when.
type LockEntry = (String, Instant);

/// Queue locks of ordered consumers; mirrors Java's `RebalanceLockManager`.
#[derive(Default)]
pub struct RebalanceLockManager {
    /// group → queue → holder.
    locks: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl RebalanceLockManager {
    /// No locks held.
    pub fn new() -> Self {
        Self::default()
    }

    /// `tryLockBatch`: locks each queue that is free, expired or already `client_id`'s, and
    /// returns those now held by `client_id`.
    pub fn try_lock_batch(
        &self,
        group: &str,
        queues: &BTreeSet<MessageQueue>,
        client_id: &str,
    ) -> BTreeSet<MessageQueue> {
        let now = Instant::now();
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        let group_locks = locks.entry(group.to_string()).or_default();
        let mut locked = BTreeSet::new();
        for mq in queues {
            let free = match group_locks.get(mq) {
                None => true,
                Some((owner, at)) => {
                    owner == client_id || now.duration_since(*at) > REBALANCE_LOCK_MAX_LIVE_TIME
                }
            };
            if free {
                group_locks.insert(mq.clone(), (client_id.to_string(), now));
                locked.insert(mq.clone());
            }
        }
        locked
    }

    /// `unlockBatch`: releases the queues `client_id` holds.
    pub fn unlock_batch(&self, group: &str, queues: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(group_locks) = locks.get_mut(group) {
            for mq in queues {
                if group_locks
                    .get(mq)
                    .is_some_and(|(owner, _)| owner == client_id)
                {
                    group_locks.remove(mq);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(id: i32) -> MessageQueue {
        MessageQueue {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: id,
        }
    }

    #[test]
    fn locks_belong_to_one_client_until_released() {
        let m = RebalanceLockManager::new();
        let all: BTreeSet<_> = [mq(0), mq(1)].into_iter().collect();
        assert_eq!(m.try_lock_batch("G", &all, "c1").len(), 2);
        assert!(m.try_lock_batch("G", &all, "c2").is_empty());
        assert_eq!(
            m.try_lock_batch("G", &all, "c1").len(),
            2,
            "re-lock by the owner renews"
        );
        m.unlock_batch("G", &[mq(0)].into_iter().collect(), "c2");
        assert!(
            m.try_lock_batch("G", &all, "c2").is_empty(),
            "only the owner unlocks"
        );
        m.unlock_batch("G", &[mq(0)].into_iter().collect(), "c1");
        assert_eq!(
            m.try_lock_batch("G", &all, "c2"),
            [mq(0)].into_iter().collect()
        );
        assert_eq!(
            m.try_lock_batch("Other", &all, "c2").len(),
            2,
            "groups are independent"
        );
    }
}
