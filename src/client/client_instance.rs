//! `MqClientInstance`: a client's connection to the cluster: the transport, the routes of the
//! topics in use, the broker address table, and the background route refresh and heartbeat.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use super::client_config::ClientSettings;
use super::error::ClientError;
use super::mq_client_api::MqClientApi;
use super::topic_publish_info::{ThreadLocalIndex, TopicPublishInfo};
use crate::common::sync::{MutexExt, RwLockExt};
use crate::protocol::body::{perm_name, HeartbeatData, ProducerData, TopicRouteData, MASTER_ID};
use crate::protocol::message::MessageQueue;
use crate::remoting::{ClientConfig, RemotingClient};

/// The producer group every Java client instance also heartbeats (`CLIENT_INNER_PRODUCER_GROUP`).
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// On-demand route refreshes (after a broker refused a connection) are at most this frequent.
const MIN_ON_DEMAND_REFRESH_GAP: Duration = Duration::from_secs(1);

/// The first heartbeat goes out this soon after start (Java: 1 s).
const FIRST_HEARTBEAT_DELAY: Duration = Duration::from_secs(1);

/// The first route refresh runs this soon after start (Java: 10 ms).
const FIRST_ROUTE_REFRESH_DELAY: Duration = Duration::from_millis(10);

/// The auto-create topic whose route a producer borrows for a topic the name server does not
/// know yet, with the queue count clamped to `queue_nums`; Java's `DefaultMQProducer`
/// `createTopicKey` and `defaultTopicQueueNums`.
#[derive(Debug, Clone)]
pub struct DefaultTopic {
    /// The template topic (`createTopicKey`, "TBW102").
    pub key: String,
    /// Queues per broker for the new topic (`defaultTopicQueueNums`, 4).
    pub queue_nums: i32,
}

/// Route state, replaced together.
#[derive(Default)]
struct Tables {
    /// Topic → its route as last fetched (for a topic borrowing TBW102, the clamped TBW102 route).
    routes: HashMap<String, TopicRouteData>,
    /// Topic → the queues to publish to.
    publish: HashMap<String, Arc<TopicPublishInfo>>,
    /// Broker name → broker id → address as the route gives it.
    broker_addrs: HashMap<String, BTreeMap<i64, String>>,
}

/// A periodic background thread that can be woken early and stopped.
struct BackgroundTask {
    wake: Sender<()>,
    stopped: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// A client's view of the cluster; mirrors Java's `MQClientInstance` (one per producer or
/// consumer here: Java shares one per client id).
pub struct MqClientInstance {
    settings: ClientSettings,
    client_id: String,
    client_ip: IpAddr,
    api: MqClientApi,
    producer_group: Option<String>,
    tables: RwLock<Tables>,
    route_task: Mutex<Option<BackgroundTask>>,
    heartbeat_task: Mutex<Option<BackgroundTask>>,
}

impl MqClientInstance {
    /// An instance with its transport ready (no connection yet, no background thread).
    /// `producer_group` is announced in heartbeats and unregistered on shutdown.
    pub fn new(
        settings: ClientSettings,
        producer_group: Option<String>,
    ) -> Result<Arc<Self>, ClientError> {
        let mut remoting_config = ClientConfig::default();
        remoting_config.common.language = settings.language;
        remoting_config.connect_timeout = settings.connect_timeout;
        // Java scans for expired futures every second; async sends time out no later than
        // their timeout + 1 s grace + this.
        remoting_config.common.scan_interval = Duration::from_secs(1);
        let remoting = RemotingClient::new(remoting_config)?;
        remoting.update_name_server_address_list(settings.name_server_addrs.clone());
        let client_ip = settings.resolved_client_ip();
        Ok(Arc::new(MqClientInstance {
            client_id: settings.build_client_id(),
            client_ip,
            api: MqClientApi::new(remoting, settings.serialize_type),
            settings,
            producer_group,
            tables: RwLock::new(Tables::default()),
            route_task: Mutex::new(None),
            heartbeat_task: Mutex::new(None),
        }))
    }

    /// `ip@instance`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The IP in the client id.
    pub fn client_ip(&self) -> IpAddr {
        self.client_ip
    }

    /// The RPCs.
    pub fn api(&self) -> &MqClientApi {
        &self.api
    }

    /// The settings it was made with.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// Starts the route refresh (`rmq-producer-route`) and heartbeat (`rmq-producer-heartbeat`)
    /// threads; they hold only a weak reference, so dropping the instance ends them too.
    pub fn start_background_tasks(self: &Arc<Self>) -> Result<(), ClientError> {
        let route = spawn_task(
            "rmq-producer-route",
            FIRST_ROUTE_REFRESH_DELAY.min(self.settings.route_refresh_interval),
            self.settings.route_refresh_interval,
            Arc::downgrade(self),
            MqClientInstance::refresh_routes_until_stopped,
        )?;
        *lock(&self.route_task) = Some(route);
        let heartbeat = spawn_task(
            "rmq-producer-heartbeat",
            FIRST_HEARTBEAT_DELAY.min(self.settings.heartbeat_interval),
            self.settings.heartbeat_interval,
            Arc::downgrade(self),
            MqClientInstance::send_heartbeats_until_stopped,
        )?;
        *lock(&self.heartbeat_task) = Some(heartbeat);
        Ok(())
    }

    /// Asks the route thread to refresh now, e.g. after a broker refused a connection;
    /// ignored when a refresh ran less than a second ago.
    pub fn request_route_refresh(&self) {
        if let Some(task) = lock(&self.route_task).as_ref() {
            let _ = task.wake.try_send(());
        }
    }

    // ----- routes -------------------------------------------------------------------------

    /// The cached publish info of `topic`, if it has queues.
    pub fn cached_publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        read(&self.tables)
            .publish
            .get(topic)
            .filter(|info| info.ok())
            .cloned()
    }

    /// The publish info of `topic`, fetching its route on first use
    /// (`tryToFindTopicPublishInfo`). A topic the name server does not know borrows the route
    /// of `default_topic` (queue counts clamped), as the broker will create it on first send.
    /// Name server calls take at most `timeout`.
    pub fn find_topic_publish_info(
        &self,
        topic: &str,
        default_topic: &DefaultTopic,
        timeout: Duration,
    ) -> Result<Arc<TopicPublishInfo>, ClientError> {
        if let Some(info) = self.cached_publish_info(topic) {
            return Ok(info);
        }
        let begin = Instant::now();
        match self.update_topic_route(topic, timeout) {
            Ok(info) if info.ok() => return Ok(info),
            Ok(_) => {
                return Err(ClientError::NoWritableQueue {
                    topic: topic.to_string(),
                })
            }
            Err(ClientError::TopicNotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let left = timeout.saturating_sub(begin.elapsed());
        let info = self
            .update_topic_route_from_default(topic, default_topic, left)
            .map_err(|e| match e {
                ClientError::TopicNotFound { .. } => ClientError::TopicNotFound {
                    topic: topic.to_string(),
                },
                other => other,
            })?;
        if info.ok() {
            Ok(info)
        } else {
            Err(ClientError::NoWritableQueue {
                topic: topic.to_string(),
            })
        }
    }

    /// Fetches `topic`'s route and installs it (`updateTopicRouteInfoFromNameServer`).
    pub fn update_topic_route(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<Arc<TopicPublishInfo>, ClientError> {
        let route = self
            .api
            .get_topic_route_info(topic, self.api_timeout(timeout))?;
        Ok(self.install_route(topic, route))
    }

    /// Installs, for `topic`, the route of the auto-create topic with its queue counts
    /// clamped to `min(queue_nums, readQueueNums)`.
    pub fn update_topic_route_from_default(
        &self,
        topic: &str,
        default_topic: &DefaultTopic,
        timeout: Duration,
    ) -> Result<Arc<TopicPublishInfo>, ClientError> {
        let mut route = self
            .api
            .get_topic_route_info(&default_topic.key, self.api_timeout(timeout))?;
        clamp_default_route(&mut route, default_topic.queue_nums);
        Ok(self.install_route(topic, route))
    }

    /// The readable queues of `topic`, from a freshly fetched route
    /// (`topicRouteData2TopicSubscribeInfo`), sorted.
    pub fn fetch_subscribe_queues(&self, topic: &str) -> Result<Vec<MessageQueue>, ClientError> {
        let info = self.update_topic_route(topic, self.settings.api_timeout)?;
        let mut queues: Vec<_> = info
            .route
            .queue_datas
            .iter()
            .filter(|q| perm_name::is_readable(q.perm))
            .flat_map(|q| {
                (0..q.read_queue_nums).map(|i| MessageQueue::new(topic, &q.broker_name, i))
            })
            .collect();
        queues.sort();
        queues.dedup();
        Ok(queues)
    }

    fn install_route(&self, topic: &str, route: TopicRouteData) -> Arc<TopicPublishInfo> {
        let mut tables = write(&self.tables);
        let index = tables.publish.get(topic).map_or_else(
            || Arc::new(ThreadLocalIndex::new()),
            |old| old.send_which_queue().clone(),
        );
        for broker in &route.broker_datas {
            tables
                .broker_addrs
                .insert(broker.broker_name.clone(), broker.broker_addrs.clone());
        }
        let info = Arc::new(TopicPublishInfo::from_route(topic, route.clone(), index));
        tables.routes.insert(topic.to_string(), route);
        tables.publish.insert(topic.to_string(), info.clone());
        info
    }

    fn api_timeout(&self, budget: Duration) -> Duration {
        self.settings.api_timeout.min(budget)
    }

    // ----- broker addresses ---------------------------------------------------------------

    /// The master address of `broker_name`, after the override map
    /// (`findBrokerAddressInPublish`).
    pub fn find_broker_address_in_publish(&self, broker_name: &str) -> Option<String> {
        read(&self.tables)
            .broker_addrs
            .get(broker_name)
            .and_then(|addrs| addrs.get(&MASTER_ID))
            .map(|addr| self.dial_addr(addr))
    }

    /// The master address of `broker_name`, else its lowest-id slave, after the override map
    /// (`findBrokerAddressInSubscribe`).
    pub fn find_broker_address_in_subscribe(&self, broker_name: &str) -> Option<String> {
        read(&self.tables)
            .broker_addrs
            .get(broker_name)
            .and_then(|addrs| addrs.get(&MASTER_ID).or_else(|| addrs.values().next()))
            .map(|addr| self.dial_addr(addr))
    }

    /// The address to connect to for a route address: its override, if any.
    pub fn dial_addr(&self, route_addr: &str) -> String {
        self.settings
            .broker_addr_override
            .get(route_addr)
            .cloned()
            .unwrap_or_else(|| route_addr.to_string())
    }

    fn master_addrs(&self) -> Vec<String> {
        let mut addrs: Vec<String> = read(&self.tables)
            .broker_addrs
            .values()
            .filter_map(|ids| ids.get(&MASTER_ID))
            .map(|addr| self.dial_addr(addr))
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    // ----- background work ----------------------------------------------------------------

    /// Fetches the route of every topic in use again, then forgets brokers that left every
    /// route and closes connections to them (`updateTopicRouteInfoFromNameServer` +
    /// `cleanOfflineBroker`). A topic the name server no longer knows keeps its last route.
    pub fn refresh_all_routes(&self) {
        self.refresh_routes_until_stopped(&AtomicBool::new(false));
    }

    /// [`MqClientInstance::refresh_all_routes`], giving up between topics once `stop` is set:
    /// with the name servers down each topic costs a whole API timeout, and shutdown waits.
    fn refresh_routes_until_stopped(&self, stop: &AtomicBool) {
        let topics: Vec<String> = read(&self.tables).routes.keys().cloned().collect();
        for topic in topics {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match self.update_topic_route(&topic, self.settings.api_timeout) {
                Ok(_) => {}
                Err(ClientError::TopicNotFound { .. }) => {
                    log::debug!("route refresh: topic {topic} unknown to the name server")
                }
                Err(e) => log::warn!("route refresh of topic {topic} failed: {e}"),
            }
        }
        self.clean_offline_brokers();
    }

    fn clean_offline_brokers(&self) {
        let live: HashSet<String> = {
            let mut tables = write(&self.tables);
            let in_routes: HashSet<String> = tables
                .routes
                .values()
                .flat_map(|r| r.broker_datas.iter().map(|b| b.broker_name.clone()))
                .collect();
            tables.broker_addrs.retain(|name, _| {
                let keep = in_routes.contains(name);
                if !keep {
                    log::info!("broker {name} left every route; forgetting it");
                }
                keep
            });
            tables
                .broker_addrs
                .values()
                .flat_map(|ids| ids.values())
                .map(|addr| self.dial_addr(addr))
                .collect()
        };
        let name_servers = self.api.remoting().name_server_address_list();
        for addr in self.api.remoting().connected_addresses() {
            if !live.contains(&addr) && !name_servers.contains(&addr) {
                log::info!("closing the connection to {addr}: no route uses it any more");
                self.api.remoting().close_connection(&addr);
            }
        }
    }

    /// The heartbeat body: this client's id and producer groups (with
    /// `CLIENT_INNER_PRODUCER` first, as a Java client sends).
    pub fn heartbeat_data(&self) -> HeartbeatData {
        let producer_data_set = match &self.producer_group {
            Some(group) => vec![
                ProducerData {
                    group_name: CLIENT_INNER_PRODUCER_GROUP.to_string(),
                },
                ProducerData {
                    group_name: group.clone(),
                },
            ],
            None => Vec::new(),
        };
        HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set,
            consumer_data_set: Vec::new(),
            heartbeat_fingerprint: None,
            without_sub: None,
        }
    }

    /// Sends HEART_BEAT to every master in the routes (`sendHeartbeatToAllBroker`; a client
    /// with producers only skips slaves).
    pub fn send_heartbeat_to_all_brokers(&self) {
        self.send_heartbeats_until_stopped(&AtomicBool::new(false));
    }

    /// [`MqClientInstance::send_heartbeat_to_all_brokers`], giving up between brokers once
    /// `stop` is set, so an unresponsive broker delays shutdown by one call at most.
    fn send_heartbeats_until_stopped(&self, stop: &AtomicBool) {
        let data = self.heartbeat_data();
        for addr in self.master_addrs() {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self
                .api
                .send_heartbeat(&addr, &data, self.settings.api_timeout)
            {
                log::warn!("heartbeat to {addr} failed: {e}");
            }
        }
    }

    /// Stops the background threads, sends UNREGISTER_CLIENT to every master (if a producer
    /// group was announced), closes every connection and joins every thread. Pending async
    /// calls fail and their callbacks run.
    pub fn shutdown(&self) {
        let route = lock(&self.route_task).take();
        let heartbeat = lock(&self.heartbeat_task).take();
        let started = route.is_some() || heartbeat.is_some();
        for task in [&route, &heartbeat].into_iter().flatten() {
            task.stopped.store(true, Ordering::SeqCst);
        }
        // A route query in flight to a name server that does not answer would hold the join
        // for a whole API timeout: closing the connection fails it at once. Only name
        // servers: UNREGISTER_CLIENT below still needs the brokers.
        for addr in self.api.remoting().name_server_address_list() {
            self.api.remoting().close_connection(&addr);
        }
        for task in [route, heartbeat].into_iter().flatten() {
            stop_task(task);
        }
        if started {
            if let Some(group) = &self.producer_group {
                for addr in self.master_addrs() {
                    if let Err(e) = self.api.unregister_client(
                        &addr,
                        &self.client_id,
                        Some(group),
                        None,
                        self.settings.api_timeout,
                    ) {
                        log::warn!("unregister from {addr} failed: {e}");
                    }
                }
            }
        }
        self.api.remoting().shutdown();
    }
}

impl Drop for MqClientInstance {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Clamps every queue data of an auto-create topic's route to `queue_nums` queues
/// (`Math.min(defaultTopicQueueNums, readQueueNums)` for read and write).
pub fn clamp_default_route(route: &mut TopicRouteData, queue_nums: i32) {
    for queue_data in &mut route.queue_datas {
        let n = queue_nums.min(queue_data.read_queue_nums);
        queue_data.read_queue_nums = n;
        queue_data.write_queue_nums = n;
    }
}

fn spawn_task(
    name: &str,
    first_delay: Duration,
    interval: Duration,
    instance: Weak<MqClientInstance>,
    task: fn(&MqClientInstance, &AtomicBool),
) -> Result<BackgroundTask, ClientError> {
    let (wake, woken) = bounded::<()>(1);
    let stopped = Arc::new(AtomicBool::new(false));
    let stop_seen = stopped.clone();
    let min_gap = MIN_ON_DEMAND_REFRESH_GAP.min(interval);
    let thread = thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let mut next_run = Instant::now() + first_delay;
            let mut last_run: Option<Instant> = None;
            loop {
                let wait = next_run.saturating_duration_since(Instant::now());
                let received = woken.recv_timeout(wait);
                if stop_seen.load(Ordering::SeqCst) {
                    return;
                }
                match received {
                    Err(RecvTimeoutError::Disconnected) => return,
                    Ok(()) if last_run.is_some_and(|t| t.elapsed() < min_gap) => continue,
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                }
                let Some(instance) = instance.upgrade() else {
                    return;
                };
                task(&instance, &stop_seen);
                drop(instance);
                last_run = Some(Instant::now());
                next_run = Instant::now() + interval;
            }
        })
        .map_err(|e| {
            ClientError::Remoting(crate::remoting::RemotingError::io(
                format!("start thread {name}"),
                &e,
            ))
        })?;
    Ok(BackgroundTask {
        wake,
        stopped,
        thread,
    })
}

fn stop_task(task: BackgroundTask) {
    task.stopped.store(true, Ordering::SeqCst);
    drop(task.wake); // wakes the thread at once
    if task.thread.thread().id() != thread::current().id() && task.thread.join().is_err() {
        log::error!("a client background thread panicked");
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock_unpoisoned()
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read_unpoisoned()
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write_unpoisoned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::fixture_body;

    #[test]
    fn default_route_is_clamped_to_four_queues() {
        // Vector 008 is an 8-queue route; the auto-create fallback uses 4.
        let mut route =
            TopicRouteData::from_json(&fixture_body("java-4.9.8/008-resp-code0-json.bin")).unwrap();
        clamp_default_route(&mut route, 4);
        assert_eq!(route.queue_datas[0].read_queue_nums, 4);
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
        let info =
            TopicPublishInfo::from_route("NewTopic", route, Arc::new(ThreadLocalIndex::new()));
        let ids: Vec<_> = info.message_queues.iter().map(|q| q.queue_id).collect();
        assert_eq!(ids, [0, 1, 2, 3]);
        assert!(info.message_queues.iter().all(|q| q.topic == "NewTopic"));
        // A smaller broker keeps its own count.
        let mut route =
            TopicRouteData::from_json(&fixture_body("java-4.9.8/090-resp-code0-json.bin")).unwrap();
        clamp_default_route(&mut route, 8);
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    }

    #[test]
    fn override_map_and_heartbeat_body() {
        let settings = ClientSettings {
            client_ip: Some("192.0.2.2".parse().unwrap()),
            instance_name: Some("16137#457717984084".into()),
            broker_addr_override: [(
                "172.17.0.2:10911".to_string(),
                "127.0.0.1:20911".to_string(),
            )]
            .into_iter()
            .collect(),
            ..ClientSettings::default()
        };
        let instance =
            MqClientInstance::new(settings, Some("javapeer_producer_group".into())).unwrap();
        let route = TopicRouteData::from_json(
            br#"{"brokerDatas":[{"brokerAddrs":{"0":"172.17.0.2:10911","1":"172.17.0.3:10911"},"brokerName":"b","cluster":"c"}],"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":2,"writeQueueNums":2}]}"#,
        )
        .unwrap();
        instance.install_route("T", route);
        assert_eq!(
            instance.find_broker_address_in_publish("b").as_deref(),
            Some("127.0.0.1:20911")
        );
        assert_eq!(instance.find_broker_address_in_publish("x"), None);
        assert_eq!(instance.dial_addr("172.17.0.3:10911"), "172.17.0.3:10911");
        // Byte for byte what the Java producer of vector 099 sent.
        assert_eq!(
            instance.heartbeat_data().to_json().as_bytes(),
            &fixture_body("java-4.9.8/099-req-code34-json.bin")[..]
        );
        instance.shutdown();
    }
}
