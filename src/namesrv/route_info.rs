//! `RouteInfoManager`: the name server's tables of clusters, brokers and topic routes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::protocol::body::{
    BrokerData, ClusterInfo, QueueData, TopicConfig, TopicRouteData, MASTER_ID,
};

/// What the name server knows of a live broker address; mirrors Java's `BrokerLiveInfo`.
#[derive(Debug, Clone)]
struct BrokerLiveInfo {
    last_update: Instant,
    /// How long without a registration before the broker counts as gone.
    expiry: Duration,
    /// The remote address of the connection the broker registered over, so a closed
    /// connection can be traced back to its broker.
    connection_addr: String,
    ha_server_addr: String,
}

/// One registration, as REGISTER_BROKER carries it.
#[derive(Debug, Clone)]
pub(crate) struct BrokerRegistration {
    /// The broker's cluster.
    pub cluster_name: String,
    /// The broker's name (shared by a master and its slaves).
    pub broker_name: String,
    /// The address clients should use.
    pub broker_addr: String,
    /// 0 for a master.
    pub broker_id: i64,
    /// The HA address slaves replicate from.
    pub ha_server_addr: String,
    /// The broker's topics.
    pub topics: Vec<TopicConfig>,
    /// The remote address of the registering connection.
    pub connection_addr: String,
    /// How long this broker may go without registering (Java's default 120 s).
    pub expiry: Duration,
}

/// What a registration returns to the broker; mirrors `RegisterBrokerResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RegisterBrokerResult {
    /// The master's HA address, for a slave.
    pub ha_server_addr: Option<String>,
    /// The master's address, for a slave.
    pub master_addr: Option<String>,
}

/// The routing tables; mirrors Java's `RouteInfoManager` (callers hold it under a lock).
#[derive(Debug, Default)]
pub(crate) struct RouteInfoManager {
    /// topic → broker name → its queues.
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// broker name → its addresses.
    broker_addr_table: BTreeMap<String, BrokerData>,
    /// cluster → broker names.
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    /// broker address → liveness.
    broker_live_table: BTreeMap<String, BrokerLiveInfo>,
}

impl RouteInfoManager {
    /// Empty tables.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `registerBroker`: records the broker and, for a master, its topics' queues.
    pub(crate) fn register_broker(&mut self, reg: BrokerRegistration) -> RegisterBrokerResult {
        self.cluster_addr_table
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let broker = self
            .broker_addr_table
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                cluster: reg.cluster_name.clone(),
                broker_name: reg.broker_name.clone(),
                broker_addrs: BTreeMap::new(),
            });
        // A broker that changed its id keeps one entry per address (a slave promoted to master).
        broker
            .broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);
        broker
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());

        if reg.broker_id == MASTER_ID {
            for topic in &reg.topics {
                let queue = QueueData {
                    broker_name: reg.broker_name.clone(),
                    read_queue_nums: topic.read_queue_nums,
                    write_queue_nums: topic.write_queue_nums,
                    perm: topic.perm,
                    topic_sys_flag: topic.topic_sys_flag,
                };
                self.topic_queue_table
                    .entry(topic.topic_name.clone())
                    .or_default()
                    .insert(reg.broker_name.clone(), queue);
            }
        }
        self.broker_live_table.insert(
            reg.broker_addr.clone(),
            BrokerLiveInfo {
                last_update: Instant::now(),
                expiry: reg.expiry,
                connection_addr: reg.connection_addr,
                ha_server_addr: reg.ha_server_addr,
            },
        );

        let mut result = RegisterBrokerResult::default();
        if reg.broker_id != MASTER_ID {
            if let Some(master) = self
                .broker_addr_table
                .get(&reg.broker_name)
                .and_then(BrokerData::master_addr)
            {
                result.ha_server_addr = self
                    .broker_live_table
                    .get(master)
                    .map(|l| l.ha_server_addr.clone());
                result.master_addr = Some(master.to_string());
            }
        }
        result
    }

    /// `unregisterBroker`: forgets one broker address; a broker name with no address left
    /// loses its topic routes too.
    pub(crate) fn unregister_broker(
        &mut self,
        cluster_name: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) {
        self.broker_live_table.remove(broker_addr);
        let mut name_gone = false;
        if let Some(broker) = self.broker_addr_table.get_mut(broker_name) {
            if broker
                .broker_addrs
                .get(&broker_id)
                .is_some_and(|a| a == broker_addr)
            {
                broker.broker_addrs.remove(&broker_id);
            }
            if broker.broker_addrs.is_empty() {
                self.broker_addr_table.remove(broker_name);
                name_gone = true;
            }
        }
        if name_gone {
            if let Some(names) = self.cluster_addr_table.get_mut(cluster_name) {
                names.remove(broker_name);
                if names.is_empty() {
                    self.cluster_addr_table.remove(cluster_name);
                }
            }
            self.remove_topics_of(broker_name);
        }
    }

    fn remove_topics_of(&mut self, broker_name: &str) {
        self.topic_queue_table.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
    }

    /// Forgets the broker address `broker_addr` wherever it appears (`onChannelDestroy`).
    fn remove_broker_addr(&mut self, broker_addr: &str) {
        self.broker_live_table.remove(broker_addr);
        let owners: Vec<(String, String, i64)> = self
            .broker_addr_table
            .values()
            .flat_map(|b| {
                b.broker_addrs
                    .iter()
                    .filter(|(_, a)| a.as_str() == broker_addr)
                    .map(move |(id, _)| (b.cluster.clone(), b.broker_name.clone(), *id))
            })
            .collect();
        for (cluster, name, id) in owners {
            self.unregister_broker(&cluster, broker_addr, &name, id);
        }
    }

    /// A connection closed: drop the broker that registered over it, at once.
    /// Returns the broker addresses dropped.
    pub(crate) fn on_connection_closed(&mut self, connection_addr: &str) -> Vec<String> {
        let gone: Vec<String> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| live.connection_addr == connection_addr)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            self.remove_broker_addr(addr);
        }
        gone
    }

    /// `scanNotActiveBroker`: drops brokers whose last registration is older than their expiry.
    /// Returns the broker addresses dropped.
    pub(crate) fn scan_not_active_brokers(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| now.duration_since(live.last_update) > live.expiry)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &expired {
            self.remove_broker_addr(addr);
        }
        expired
    }

    /// `pickupTopicRouteData`: the route of `topic`, or None when no broker serves it.
    pub(crate) fn pickup_topic_route_data(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queue_table.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.broker_addr_table.get(name).cloned())
            .collect();
        if queues.is_empty() || broker_datas.is_empty() {
            return None;
        }
        Some(TopicRouteData {
            order_topic_conf: None,
            queue_datas: queues.values().cloned().collect(),
            broker_datas,
            filter_server_table: BTreeMap::new(),
        })
    }

    /// `getAllClusterInfo`: every broker, by name and by cluster.
    pub(crate) fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.broker_addr_table.clone(),
            cluster_addr_table: self.cluster_addr_table.clone(),
        }
    }

    /// `getAllTopicList`: every topic with queues on some broker.
    pub(crate) fn all_topics(&self) -> Vec<String> {
        self.topic_queue_table.keys().cloned().collect()
    }

    /// `getTopicsByCluster`: topics with queues on a broker of `cluster` (none for an
    /// unknown cluster).
    pub(crate) fn topics_by_cluster(&self, cluster: &str) -> Vec<String> {
        let Some(brokers) = self.cluster_addr_table.get(cluster) else {
            return Vec::new();
        };
        self.topic_queue_table
            .iter()
            .filter(|(_, queues)| queues.keys().any(|b| brokers.contains(b)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// `deleteTopic`: forgets `topic`, on the brokers of `cluster` only when one is given
    /// (an unknown cluster changes nothing).
    pub(crate) fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster {
            Some(cluster) => {
                let Some(brokers) = self.cluster_addr_table.get(cluster) else {
                    return;
                };
                if let Some(queues) = self.topic_queue_table.get_mut(topic) {
                    queues.retain(|broker, _| !brokers.contains(broker));
                    if queues.is_empty() {
                        self.topic_queue_table.remove(topic);
                    }
                }
            }
            None => {
                self.topic_queue_table.remove(topic);
            }
        }
    }

    /// Live broker addresses (tests and tools).
    pub(crate) fn live_broker_addrs(&self) -> Vec<String> {
        self.broker_live_table.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(name: &str, addr: &str, id: i64, topics: &[&str]) -> BrokerRegistration {
        BrokerRegistration {
            cluster_name: "DefaultCluster".into(),
            broker_name: name.into(),
            broker_addr: addr.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            topics: topics.iter().map(|t| TopicConfig::new(*t)).collect(),
            connection_addr: format!("conn-{addr}"),
            expiry: Duration::from_secs(120),
        }
    }

    #[test]
    fn register_builds_routes_and_slaves_learn_their_master() {
        let mut m = RouteInfoManager::new();
        assert_eq!(
            m.register_broker(registration("broker-a", "10.0.0.1:10911", 0, &["T"])),
            Default::default()
        );
        let slave = m.register_broker(registration("broker-a", "10.0.0.2:10911", 1, &["T"]));
        assert_eq!(slave.master_addr.as_deref(), Some("10.0.0.1:10911"));
        assert_eq!(slave.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(route.broker_datas.len(), 1);
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
        assert_eq!(
            route.queue_datas[0].write_queue_nums,
            TopicConfig::new("T").write_queue_nums
        );
        assert!(m.pickup_topic_route_data("unknown").is_none());
        let info = m.cluster_info();
        assert_eq!(info.retrieve_all_addr_by_cluster("DefaultCluster").len(), 2);
    }

    #[test]
    fn closed_connection_drops_routes_at_once() {
        let mut m = RouteInfoManager::new();
        m.register_broker(registration("broker-a", "a:1", 0, &["T"]));
        m.register_broker(registration("broker-b", "b:1", 0, &["T"]));
        assert_eq!(m.on_connection_closed("conn-a:1"), vec!["a:1".to_string()]);
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(route.queue_datas.len(), 1);
        assert_eq!(route.queue_datas[0].broker_name, "broker-b");
        assert!(m.on_connection_closed("nobody").is_empty());
        m.unregister_broker("DefaultCluster", "b:1", "broker-b", 0);
        assert!(m.pickup_topic_route_data("T").is_none());
        assert!(m.cluster_info().cluster_addr_table.is_empty());
    }

    #[test]
    fn silent_brokers_expire() {
        let mut m = RouteInfoManager::new();
        m.register_broker(registration("broker-a", "a:1", 0, &["T"]));
        let now = Instant::now();
        assert!(m.scan_not_active_brokers(now).is_empty());
        assert_eq!(
            m.scan_not_active_brokers(now + Duration::from_secs(121)),
            vec!["a:1".to_string()]
        );
        assert!(m.pickup_topic_route_data("T").is_none());
        assert!(m.live_broker_addrs().is_empty());
    }
}
