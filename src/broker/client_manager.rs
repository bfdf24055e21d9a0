//! Who is connected: producer groups, consumer groups and their subscriptions, queue locks.
//!
//! Mirrors Java's `ProducerManager`, `ConsumerManager`/`ConsumerGroupInfo` and
//! `RebalanceLockManager`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::sync::MutexExt;
use crate::protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};
use crate::protocol::message::MessageQueue;
use crate::protocol::LanguageCode;
use crate::remoting::Connection;

/// Who a client says it is in its heartbeat: its id, and the language and version of the
/// heartbeat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The client's id (`ip@instance`).
    pub client_id: String,
    /// Its implementation (`JAVA`, `CPP`, `RUST`...).
    pub language: LanguageCode,
    /// Its version code.
    pub version: i32,
}

impl ClientIdentity {
    /// A client with id `client_id`, as a Java 4.9.8 client would describe itself.
    pub fn new(client_id: impl Into<String>) -> Self {
        ClientIdentity {
            client_id: client_id.into(),
            language: LanguageCode::Java,
            version: 409,
        }
    }
}

/// One client connection in a group; mirrors `ClientChannelInfo`.
#[derive(Clone)]
pub struct ClientChannelInfo {
    /// The client's id (`ip@instance`).
    pub client_id: String,
    /// Its language.
    pub language: LanguageCode,
    /// Its version code.
    pub version: i32,
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
    /// Pull or push, as the last heartbeat said.
    pub consume_type: Option<ConsumeType>,
    /// Clustering or broadcasting, as the last heartbeat said.
    pub message_model: Option<MessageModel>,
    /// Where new members start, as the last heartbeat said.
    pub consume_from_where: Option<ConsumeFromWhere>,
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

fn channel_info(client: &ClientIdentity, connection: &Arc<Connection>) -> ClientChannelInfo {
    ClientChannelInfo {
        client_id: client.client_id.clone(),
        language: client.language,
        version: client.version,
        connection: connection.clone(),
        last_update: Instant::now(),
    }
}

/// Producer and consumer groups by name.
#[derive(Default)]
pub struct ClientManager {
    producers: Mutex<HashMap<String, BTreeMap<u64, ClientChannelInfo>>>,
    consumers: Mutex<HashMap<String, ConsumerGroupInfo>>,
    /// Round-robin position for [`ClientManager::available_producer_channel`].
    next_producer: AtomicUsize,
}

impl ClientManager {
    /// A manager with no clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// `registerProducer`: records (or refreshes) a producer connection. Returns false, and
    /// records nothing, when the connection is already closed.
    pub fn register_producer(
        &self,
        group: &str,
        client: &ClientIdentity,
        connection: &Arc<Connection>,
    ) -> bool {
        let mut producers = self.producers.lock_unpoisoned();
        // Checked under the lock: the close handler removes under it too, so a heartbeat
        // racing with the close can never leave an entry behind for a dead connection.
        if connection.is_closed() {
            return false;
        }
        producers
            .entry(group.to_string())
            .or_default()
            .insert(connection.id(), channel_info(client, connection));
        true
    }

    /// `registerConsumer`: records a consumer connection and its subscriptions. Returns true
    /// when the group's members must be told: a new member, or a change in the set of topics
    /// the group subscribes to. A closed connection is not recorded (false).
    pub fn register_consumer(
        &self,
        data: &ConsumerData,
        client: &ClientIdentity,
        connection: &Arc<Connection>,
    ) -> bool {
        let mut consumers = self.consumers.lock_unpoisoned();
        // See register_producer: an entry for a closed connection would never be removed.
        if connection.is_closed() {
            return false;
        }
        let group = consumers.entry(data.group_name.clone()).or_default();
        let is_new = group
            .channels
            .insert(connection.id(), channel_info(client, connection))
            .is_none();
        let subscriptions: BTreeMap<String, SubscriptionData> = data
            .subscription_data_set
            .iter()
            .map(|s| (s.topic.clone(), s.clone()))
            .collect();
        // Java's updateSubscription reports a topic added or removed, not an expression change.
        let topics_changed = !subscriptions.keys().eq(group.subscriptions.keys());
        group.subscriptions = subscriptions;
        group.consume_type = data.consume_type;
        group.message_model = data.message_model;
        group.consume_from_where = data.consume_from_where;
        is_new || topics_changed
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
            let mut producers = self.producers.lock_unpoisoned();
            if let Some(members) = producers.get_mut(group) {
                members.remove(&connection_id);
                if members.is_empty() {
                    producers.remove(group);
                }
            }
        }
        let Some(group) = consumer_group else {
            return false;
        };
        let mut consumers = self.consumers.lock_unpoisoned();
        let Some(info) = consumers.get_mut(group) else {
            return false;
        };
        let removed = info.channels.remove(&connection_id).is_some();
        if info.channels.is_empty() {
            consumers.remove(group);
        }
        removed
    }

    /// A connection to `remote_addr` closed: forget it everywhere. Returns the consumer groups
    /// that lost a member.
    ///
    /// Connection events carry only the address, so only closed connections with that
    /// address are removed: a client that reconnected from the same address keeps its new
    /// registration.
    pub fn remove_connection(&self, remote_addr: &str) -> Vec<String> {
        self.remove_where(|c| c.connection.is_closed() && c.connection.remote_addr() == remote_addr)
    }

    /// The housekeeping scan (`scanNotActiveChannel`): removes every entry whose last
    /// heartbeat is older than `expiry` or whose connection is closed (a close event may have
    /// been dropped), together with every other entry of the same connections. Returns the
    /// connections of expired entries, for the caller to close, and the consumer groups that
    /// lost a member.
    pub fn remove_expired(&self, expiry: Duration) -> (Vec<Arc<Connection>>, Vec<String>) {
        self.remove_expired_at(Instant::now(), expiry)
    }

    /// [`ClientManager::remove_expired`] as if the time were `now`.
    pub(crate) fn remove_expired_at(
        &self,
        now: Instant,
        expiry: Duration,
    ) -> (Vec<Arc<Connection>>, Vec<String>) {
        let mut dead: BTreeMap<u64, Arc<Connection>> = BTreeMap::new();
        let mut find = |c: &ClientChannelInfo| {
            if c.connection.is_closed() || now.duration_since(c.last_update) > expiry {
                dead.insert(c.connection.id(), c.connection.clone());
            }
        };
        self.producers
            .lock_unpoisoned()
            .values()
            .flat_map(BTreeMap::values)
            .for_each(&mut find);
        self.consumers
            .lock_unpoisoned()
            .values()
            .flat_map(|g| g.channels.values())
            .for_each(&mut find);
        if dead.is_empty() {
            return (Vec::new(), Vec::new());
        }
        // A heartbeat between the two passes only refreshes an entry of a connection about
        // to be closed for another, stale entry; Java closes such a channel too.
        let changed = self.remove_where(|c| dead.contains_key(&c.connection.id()));
        let open = dead.into_values().filter(|c| !c.is_closed()).collect();
        (open, changed)
    }

    /// Removes every entry matching `gone` and every group left empty. Returns the consumer
    /// groups that lost a member and still have some (those to notify).
    fn remove_where(&self, gone: impl Fn(&ClientChannelInfo) -> bool) -> Vec<String> {
        {
            let mut producers = self.producers.lock_unpoisoned();
            for members in producers.values_mut() {
                members.retain(|_, c| !gone(c));
            }
            producers.retain(|_, members| !members.is_empty());
        }
        let mut consumers = self.consumers.lock_unpoisoned();
        let mut changed = Vec::new();
        for (group, info) in consumers.iter_mut() {
            let before = info.channels.len();
            info.channels.retain(|_, c| !gone(c));
            if info.channels.len() != before && !info.channels.is_empty() {
                changed.push(group.clone());
            }
        }
        consumers.retain(|_, info| !info.channels.is_empty());
        changed
    }

    /// A consumer group's members and subscriptions.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.consumers.lock_unpoisoned().get(group).cloned()
    }

    /// Producer groups with at least one member (tests and tools).
    pub fn producer_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.producers.lock_unpoisoned().keys().cloned().collect();
        groups.sort();
        groups
    }

    /// A producer of `group` to ask about a transaction (`getAvailableChannel`): the members
    /// in turn, the first of up to three whose connection is open.
    pub fn available_producer_channel(&self, group: &str) -> Option<ClientChannelInfo> {
        let producers = self.producers.lock_unpoisoned();
        let members: Vec<&ClientChannelInfo> = producers.get(group)?.values().collect();
        if members.is_empty() {
            return None;
        }
        let start = self.next_producer.fetch_add(1, Ordering::Relaxed);
        (0..members.len().min(3))
            .map(|k| members[(start + k) % members.len()])
            .find(|c| !c.connection.is_closed())
            .cloned()
    }

    /// The connection of the producer with client id `client_id`, in any group
    /// (`ProducerManager.findChannel`): where a reply to its request goes.
    pub fn find_producer_channel(&self, client_id: &str) -> Option<ClientChannelInfo> {
        self.producers
            .lock_unpoisoned()
            .values()
            .flat_map(BTreeMap::values)
            .find(|c| c.client_id == client_id && !c.connection.is_closed())
            .cloned()
    }

    /// The members of a producer group (GET_PRODUCER_CONNECTION_LIST); `None` when the group
    /// has none.
    pub fn producer_group(&self, group: &str) -> Option<Vec<ClientChannelInfo>> {
        self.producers
            .lock_unpoisoned()
            .get(group)
            .map(|members| members.values().cloned().collect())
    }

    /// Consumer groups with at least one member that subscribes to `topic`.
    pub fn consumer_groups_of_topic(&self, topic: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .consumers
            .lock_unpoisoned()
            .iter()
            .filter(|(_, info)| info.subscriptions.contains_key(topic))
            .map(|(group, _)| group.clone())
            .collect();
        groups.sort();
        groups
    }

    /// Members of a producer group (tests and tools).
    pub fn producer_group_size(&self, group: &str) -> usize {
        self.producers
            .lock_unpoisoned()
            .get(group)
            .map_or(0, BTreeMap::len)
    }
}

/// How long a queue lock lasts without renewal (`REBALANCE_LOCK_MAX_LIVE_TIME`).
pub(super) const REBALANCE_LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(60);

/// Who holds a queue and since when.
type LockEntry = (String, Instant);

/// Queue locks of ordered consumers; mirrors Java's `RebalanceLockManager`.
#[derive(Default)]
pub(crate) struct RebalanceLockManager {
    /// group → queue → holder.
    locks: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl RebalanceLockManager {
    /// No locks held.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `tryLockBatch`: locks each queue that is free, expired or already `client_id`'s, and
    /// returns those now held by `client_id`.
    pub(crate) fn try_lock_batch(
        &self,
        group: &str,
        queues: &BTreeSet<MessageQueue>,
        client_id: &str,
    ) -> BTreeSet<MessageQueue> {
        let now = Instant::now();
        let mut locks = self.locks.lock_unpoisoned();
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
    pub(crate) fn unlock_batch(
        &self,
        group: &str,
        queues: &BTreeSet<MessageQueue>,
        client_id: &str,
    ) {
        let mut locks = self.locks.lock_unpoisoned();
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
    use std::net::TcpStream;
    use std::thread;

    use super::*;
    use crate::remoting::{RemotingServer, ServerConfig};

    /// A server-side connection, with the client socket that keeps it open.
    fn connection(server: &RemotingServer) -> (TcpStream, Arc<Connection>) {
        let client = TcpStream::connect(server.local_addr()).unwrap();
        let addr = client.local_addr().unwrap().to_string();
        for _ in 0..1000 {
            if let Some(conn) = server.connection(&addr) {
                return (client, conn);
            }
            thread::sleep(Duration::from_millis(2));
        }
        panic!("the server never saw the connection from {addr}");
    }

    /// Waits until the clock has passed `t`, and returns the reading that did.
    fn after(t: Instant) -> Instant {
        loop {
            let now = Instant::now();
            if now > t {
                return now;
            }
            thread::yield_now();
        }
    }

    fn server() -> RemotingServer {
        let server = RemotingServer::new(ServerConfig::listen("127.0.0.1:0")).unwrap();
        server.start().unwrap();
        server
    }

    fn consumer(group: &str, topics: &[(&str, &str)]) -> ConsumerData {
        ConsumerData {
            group_name: group.into(),
            subscription_data_set: topics
                .iter()
                .map(|(topic, expression)| SubscriptionData {
                    topic: topic.to_string(),
                    sub_string: expression.to_string(),
                    ..SubscriptionData::default()
                })
                .collect(),
            ..ConsumerData::default()
        }
    }

    #[test]
    fn closed_connections_are_not_registered() {
        let server = server();
        let (_client, conn) = connection(&server);
        conn.close();
        let m = ClientManager::new();
        assert!(!m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c1"),
            &conn
        ));
        assert!(!m.register_producer("P", &ClientIdentity::new("c1"), &conn));
        assert!(m.consumer_group("G").is_none());
        assert!(m.producer_groups().is_empty());
        server.shutdown();
    }

    #[test]
    fn members_are_told_of_new_members_and_subscribed_topic_changes() {
        let server = server();
        let (_c1, conn1) = connection(&server);
        let (_c2, conn2) = connection(&server);
        let m = ClientManager::new();
        assert!(m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c1"),
            &conn1
        ));
        assert!(!m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c1"),
            &conn1
        ));
        assert!(m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c2"),
            &conn2
        ));
        assert!(
            m.register_consumer(
                &consumer("G", &[("T", "*"), ("U", "*")]),
                &ClientIdentity::new("c1"),
                &conn1
            ),
            "a topic added"
        );
        assert!(
            !m.register_consumer(
                &consumer("G", &[("T", "a"), ("U", "*")]),
                &ClientIdentity::new("c1"),
                &conn1
            ),
            "an expression change alone is no membership change (Java)"
        );
        assert_eq!(
            m.consumer_group("G").unwrap().subscriptions["T"].sub_string,
            "a"
        );
        assert!(
            m.register_consumer(
                &consumer("G", &[("U", "*")]),
                &ClientIdentity::new("c1"),
                &conn1
            ),
            "a topic removed"
        );
        server.shutdown();
    }

    #[test]
    fn expiry_removes_stale_and_closed_entries_and_names_changed_groups() {
        let server = server();
        let (_c1, stale) = connection(&server);
        let (_c2, fresh) = connection(&server);
        let (_c3, closed) = connection(&server);
        let m = ClientManager::new();
        m.register_producer("P_stale", &ClientIdentity::new("c1"), &stale);
        m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c1"),
            &stale,
        );
        m.register_consumer(
            &consumer("Alone", &[("T", "*")]),
            &ClientIdentity::new("c1"),
            &stale,
        );
        // A clock reading between the stale registrations and the fresh ones: expiring at it
        // with no grace removes exactly the stale entries, however slow the machine.
        let cutoff = after(Instant::now());
        after(cutoff);
        m.register_producer("P", &ClientIdentity::new("c2"), &fresh);
        m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c2"),
            &fresh,
        );
        m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c3"),
            &closed,
        );
        closed.close();

        let (to_close, changed) = m.remove_expired_at(cutoff, Duration::ZERO);
        let ids: Vec<u64> = to_close.iter().map(|c| c.id()).collect();
        assert_eq!(
            ids,
            [stale.id()],
            "only open connections are handed back to close"
        );
        assert_eq!(changed, ["G"], "a group left empty has nobody to tell");
        assert_eq!(m.consumer_group("G").unwrap().client_ids(), ["c2"]);
        assert!(m.consumer_group("Alone").is_none());
        assert_eq!(m.producer_groups(), ["P"], "empty producer groups go");
        let (to_close, changed) = m.remove_expired(Duration::from_secs(60));
        assert!(to_close.is_empty() && changed.is_empty());
        server.shutdown();
    }

    #[test]
    fn a_close_event_removes_only_closed_connections_of_that_address() {
        let server = server();
        let (_client, conn) = connection(&server);
        let m = ClientManager::new();
        m.register_producer("P", &ClientIdentity::new("c1"), &conn);
        m.register_consumer(
            &consumer("G", &[("T", "*")]),
            &ClientIdentity::new("c1"),
            &conn,
        );
        // An open connection with that address (a client that reconnected) stays.
        assert!(m.remove_connection(conn.remote_addr()).is_empty());
        assert_eq!(m.producer_group_size("P"), 1);
        conn.close();
        m.remove_connection(conn.remote_addr());
        assert!(m.consumer_group("G").is_none());
        assert!(m.producer_groups().is_empty());
        server.shutdown();
    }

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
