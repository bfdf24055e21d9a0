//! `MqClientInstance`: a client's connection to the cluster: the transport, the routes of the
//! topics in use, the broker address table, and the background route refresh and heartbeat.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::client_config::ClientSettings;
use super::error::ClientError;
use super::mq_client_api::MqClientApi;
use super::namespace::Namespace;
use super::top_addressing::{self, FetchAbort};
use super::topic_publish_info::{ThreadLocalIndex, TopicPublishInfo};
use crate::common::service_thread::{while_alive, Schedule, ServiceThread, Stopping, Waker};
use crate::common::sync::{MutexExt, RwLockExt};
use crate::common::trace::trace_step;
use crate::protocol::body::{
    perm_name, ConsumerData, HeartbeatData, ProducerData, TopicRouteData, MASTER_ID,
};
use crate::protocol::message::MessageQueue;
use crate::remoting::{ClientConfig, RemotingClient, RemotingError};

/// The producer group every Java client instance also heartbeats (`CLIENT_INNER_PRODUCER_GROUP`).
pub(crate) const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// On-demand route refreshes (after a broker refused a connection) are at most this frequent.
const MIN_ON_DEMAND_REFRESH_GAP: Duration = Duration::from_secs(1);

/// The first heartbeat goes out this soon after start (Java: 1 s).
const FIRST_HEARTBEAT_DELAY: Duration = Duration::from_secs(1);

/// The address service is asked again this soon after start (Java: 10 s), then every
/// `name_server_address_fetch_interval`.
const FIRST_NAME_SERVER_FETCH_DELAY: Duration = Duration::from_secs(10);

/// The first route refresh runs this soon after start (Java: 10 ms).
const FIRST_ROUTE_REFRESH_DELAY: Duration = Duration::from_millis(10);

/// The auto-create topic whose route a producer borrows for a topic whose own route cannot be
/// had, with the queue count clamped to `queue_nums`; Java's `DefaultMQProducer`
/// `createTopicKey` and `defaultTopicQueueNums`.
#[derive(Debug, Clone)]
pub(crate) struct DefaultTopic {
    /// The template topic (`createTopicKey`, "TBW102").
    pub(crate) key: String,
    /// Queues per broker for the new topic (`defaultTopicQueueNums`, 4).
    pub(crate) queue_nums: i32,
}

/// The producer an instance serves: its group, announced in heartbeats and unregistered at
/// shutdown, and the auto-create topic its sends fall back on.
#[derive(Debug, Clone)]
pub(crate) struct ProducerRegistration {
    /// The producer group (namespaced).
    pub(crate) group: String,
    /// The auto-create topic.
    pub(crate) default_topic: DefaultTopic,
}

/// Which address of a broker a call needs; with the broker's name, what Java's
/// `findBrokerAddressInPublish` and `findBrokerAddressInSubscribe(name, id, onlyThisBroker)`
/// are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BrokerChoice {
    /// The master only: sends, locks, transactions, what only a master knows.
    Master,
    /// Broker id `n` when the route has it, else the master, else the lowest id: pulls go
    /// where the broker suggested, offsets are read from the master or a slave.
    Prefer(i64),
}

/// Where a call goes (Java's `FindBrokerResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FindBrokerResult {
    /// The address to dial (after the override map).
    pub(crate) addr: String,
    /// A slave's address (a slave cannot commit offsets).
    pub(crate) slave: bool,
}

/// Where a send's route came from (for the teaching trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteSource {
    /// The route fetched earlier.
    Cache,
    /// The topic's own route, just fetched.
    NameServer,
    /// The auto-create topic's route, borrowed (`TBW102`).
    DefaultTopic,
}

impl fmt::Display for RouteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteSource::Cache => "cache",
            RouteSource::NameServer => "name server",
            RouteSource::DefaultTopic => "the auto-create topic's route (TBW102)",
        })
    }
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

/// The background threads of a started instance.
struct Services {
    route: ServiceThread,
    route_waker: Waker,
    heartbeat: ServiceThread,
}

/// A client's view of the cluster; mirrors Java's `MQClientInstance` (one per producer or
/// consumer here: Java shares one per client id).
pub(crate) struct MqClientInstance {
    settings: ClientSettings,
    client_id: String,
    client_ip: IpAddr,
    api: MqClientApi,
    /// The producer served, if any.
    producer: Option<ProducerRegistration>,
    /// What the consumer this instance serves announces, if any (Java's `consumerTable`: one
    /// here); the consumer sets it again whenever its subscriptions change.
    consumer: RwLock<Option<ConsumerData>>,
    tables: RwLock<Tables>,
    /// Topics whose route is refreshed even before any use: a producer's `createTopicKey`
    /// (TBW102), which Java puts in its publish table at start. Its route names every broker
    /// that may auto-create topics, so the producer heartbeats to them from the start, and
    /// a broker can ask it about transactions of its group before it sent anything.
    watched_topics: Mutex<Vec<String>>,
    services: Mutex<Option<Services>>,
    namespace: Namespace,
    /// The thread asking the address service for the name server list (`rmq-nsaddr`), when
    /// the list came from it.
    name_server_fetch: Mutex<Option<ServiceThread>>,
    /// Cuts short that thread's GET on shutdown.
    fetch_abort: FetchAbort,
    /// The list the address service gave last: the list in use changes only when the
    /// service's answer does, so a list set by hand (`update_name_server_address_list`) stays
    /// until then, as in Java.
    last_fetched: Mutex<Vec<String>>,
}

impl fmt::Debug for MqClientInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqClientInstance")
            .field("client_id", &self.client_id)
            .field(
                "name_servers",
                &self.api.remoting().name_server_address_list(),
            )
            .finish()
    }
}

impl MqClientInstance {
    /// An instance with its transport ready (no connection yet). `producer`'s group is
    /// announced in heartbeats and unregistered on shutdown, and its auto-create topic's route
    /// refreshed from the start. When the name servers came from
    /// the address service, the `rmq-nsaddr` thread asks it again periodically, for every
    /// kind of client (admin and pull consumer too); no other thread starts here.
    /// `rpc_hooks` (the user's) run before the ACL signature, which must see the request as
    /// it leaves.
    pub(crate) fn new(
        settings: ClientSettings,
        producer: Option<ProducerRegistration>,
        rpc_hooks: Vec<Arc<dyn crate::remoting::RpcHook>>,
    ) -> Result<Arc<Self>, ClientError> {
        let mut remoting_config = ClientConfig::default();
        remoting_config.common.language = settings.language;
        remoting_config.connect_timeout = settings.connect_timeout;
        #[cfg(feature = "tls")]
        {
            remoting_config.tls = settings.tls.clone();
        }
        // Java scans for expired futures every second; async sends time out no later than
        // their timeout + 1 s grace + this.
        remoting_config.common.scan_interval = Duration::from_secs(1);
        let remoting = RemotingClient::new(remoting_config)?;
        for hook in rpc_hooks {
            remoting.register_rpc_hook(hook);
        }
        #[cfg(feature = "acl")]
        if let Some(credentials) = &settings.credentials {
            // Every call of this client, to name servers and brokers alike, is signed, last.
            remoting.register_rpc_hook(std::sync::Arc::new(crate::acl::AclClientRpcHook::new(
                credentials.clone(),
            )));
        }
        remoting.update_name_server_address_list(settings.name_server_addrs.clone());
        let client_ip = settings.resolved_client_ip();
        let settings_namespace = settings.namespace.clone();
        let settings_addrs = settings.name_server_addrs.clone();
        let instance = Arc::new(MqClientInstance {
            client_id: settings.build_client_id(),
            client_ip,
            api: MqClientApi::new(remoting, settings.serialize_type),
            settings,
            watched_topics: Mutex::new(
                producer
                    .iter()
                    .map(|p| p.default_topic.key.clone())
                    .collect(),
            ),
            producer,
            consumer: RwLock::new(None),
            tables: RwLock::new(Tables::default()),
            services: Mutex::new(None),
            namespace: Namespace::new(settings_namespace.as_deref()),
            name_server_fetch: Mutex::new(None),
            fetch_abort: FetchAbort::default(),
            last_fetched: Mutex::new(settings_addrs),
        });
        if instance.settings.discovered_from.is_some() {
            let interval = instance.settings.name_server_address_fetch_interval;
            let thread = ServiceThread::start(
                "rmq-nsaddr",
                Schedule::every(interval).first_after(FIRST_NAME_SERVER_FETCH_DELAY.min(interval)),
                while_alive(&instance, MqClientInstance::fetch_name_server_addrs),
            )
            .map_err(|e| RemotingError::io("start a client thread", e))?;
            *instance.name_server_fetch.lock_unpoisoned() = Some(thread);
        }
        Ok(instance)
    }

    /// Asks the address service for the name server list and switches to it when it changed
    /// (`MQClientAPIImpl.fetchNameServerAddr`); a failed fetch or a bad answer keeps the list
    /// in use.
    fn fetch_name_server_addrs(&self, stopping: &Stopping) {
        let Some(url) = self.settings.discovered_from.as_deref() else {
            return;
        };
        let remoting = self.api.remoting();
        match top_addressing::fetch_name_server_list(
            url,
            self.settings.api_timeout,
            Some(&self.fetch_abort),
        ) {
            Ok(new) => {
                let mut last = self.last_fetched.lock_unpoisoned();
                if *last != new {
                    log::info!(
                        "name server address list changed, old={}, new={} (from {url})",
                        last.join(";"),
                        new.join(";")
                    );
                    remoting.update_name_server_address_list(new.clone());
                    *last = new;
                }
            }
            Err(_) if stopping.is_stopped() => {}
            Err(reason) => log::warn!(
                "fetching name server addresses from {url} failed, keeping {}: {reason}",
                remoting.name_server_address_list().join(";")
            ),
        }
    }

    /// The namespace topics and groups are wrapped in.
    pub(crate) fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// `ip@instance`.
    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The IP in the client id.
    pub(crate) fn client_ip(&self) -> IpAddr {
        self.client_ip
    }

    /// The RPCs.
    pub(crate) fn api(&self) -> &MqClientApi {
        &self.api
    }

    /// Serves the consumer `data` describes (its group, model, subscriptions): heartbeats
    /// announce it and reach every broker, slaves included; its topics' routes are refreshed;
    /// shutdown unregisters its group. Called again whenever its subscriptions change.
    pub(crate) fn register_consumer(&self, data: ConsumerData) {
        *self.consumer.write_unpoisoned() = Some(data);
    }

    /// What the consumer served announces.
    fn consumer(&self) -> Option<ConsumerData> {
        self.consumer.read_unpoisoned().clone()
    }

    /// The settings this instance was made with.
    pub(crate) fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// Sends a heartbeat to every broker now (`sendHeartbeatToAllBrokerWithLock`), as a
    /// consumer does when its queues change.
    pub(crate) fn send_heartbeat_now(&self) {
        self.send_heartbeats_until_stopped(&Stopping::never());
    }

    /// Starts the route refresh (`rmq-route`) and heartbeat (`rmq-heartbeat`)
    /// threads; they hold only a weak reference, so dropping the instance ends them too.
    pub(crate) fn start_background_tasks(self: &Arc<Self>) -> Result<(), ClientError> {
        let start = |e| ClientError::from(RemotingError::io("start a client thread", e));
        let route = ServiceThread::start(
            "rmq-route",
            Schedule::every(self.settings.route_refresh_interval)
                .first_after(FIRST_ROUTE_REFRESH_DELAY.min(self.settings.route_refresh_interval))
                .min_wake_gap(MIN_ON_DEMAND_REFRESH_GAP.min(self.settings.route_refresh_interval)),
            while_alive(self, MqClientInstance::refresh_routes_until_stopped),
        )
        .map_err(start)?;
        let heartbeat = ServiceThread::start(
            "rmq-heartbeat",
            Schedule::every(self.settings.heartbeat_interval)
                .first_after(FIRST_HEARTBEAT_DELAY.min(self.settings.heartbeat_interval)),
            while_alive(self, MqClientInstance::send_heartbeats_until_stopped),
        )
        .map_err(start)?;
        *self.services.lock_unpoisoned() = Some(Services {
            route_waker: route.waker(),
            route,
            heartbeat,
        });
        Ok(())
    }

    /// Asks the route thread to refresh now, e.g. after a broker refused a connection;
    /// ignored when a refresh ran less than a second ago.
    pub(crate) fn request_route_refresh(&self) {
        if let Some(services) = self.services.lock_unpoisoned().as_ref() {
            services.route_waker.wake();
        }
    }

    // ----- routes -------------------------------------------------------------------------

    /// The publish info of `topic` and where its route came from
    /// (`tryToFindTopicPublishInfo`): the cache, else the name servers, else, when the topic's
    /// route cannot be had for any reason (unknown topic, no name server answering), the route
    /// of the producer's auto-create topic with its queue counts clamped (the broker creates
    /// the topic on the first send). A route that exists but has no writable queue is an
    /// error, not a reason to borrow TBW102's. Name server calls take at most `timeout`.
    pub(crate) fn find_topic_publish_info(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<(Arc<TopicPublishInfo>, RouteSource), ClientError> {
        if let Some(info) = self.cached_publish_info(topic) {
            return Ok((info, RouteSource::Cache));
        }
        let begin = Instant::now();
        let own_error = match self.update_topic_route(topic, timeout) {
            Ok(info) if info.ok() => return Ok((info, RouteSource::NameServer)),
            // The topic exists but cannot take messages now (its master is down, it is read
            // only): Java keeps its own route (`isHaveTopicRouterInfo`) rather than create the
            // topic elsewhere from TBW102.
            Ok(_) => {
                return Err(ClientError::NoRoute {
                    topic: topic.to_string(),
                    reason: "its route has no writable queue on a broker with a master".into(),
                })
            }
            // Cut short by our own shutdown: no fallback either.
            Err(e @ ClientError::ShutDown) => return Err(e),
            Err(e) => e,
        };
        let Some(default_topic) = self.producer.as_ref().map(|p| &p.default_topic) else {
            return Err(own_error);
        };
        trace_step!(
            "client",
            "route of {topic} not found ({own_error}); trying {}",
            default_topic.key
        );
        let left = timeout.saturating_sub(begin.elapsed());
        match self.update_topic_route_from_default(topic, default_topic, left) {
            Ok(info) if info.ok() => Ok((info, RouteSource::DefaultTopic)),
            // Nothing reachable: say so, with every address tried, rather than "no route".
            _ if matches!(own_error, ClientError::NoNameServer { .. }) => Err(own_error),
            Ok(_) | Err(ClientError::NoRoute { .. }) => Err(ClientError::NoRoute {
                topic: topic.to_string(),
                reason: format!(
                    "the name servers know neither it nor the auto-create topic {} (create \
                     the topic, or let the broker auto-create topics)",
                    default_topic.key
                ),
            }),
            Err(other) => Err(other),
        }
    }

    /// The cached publish info of `topic`, if it has queues.
    fn cached_publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.tables
            .read_unpoisoned()
            .publish
            .get(topic)
            .filter(|info| info.ok())
            .cloned()
    }

    /// Fetches `topic`'s route and installs it (`updateTopicRouteInfoFromNameServer`).
    pub(crate) fn update_topic_route(
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
    fn update_topic_route_from_default(
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

    /// The writable queues of `topic` from a route fetched now, without the auto-create
    /// fallback (`MQAdminImpl.fetchPublishMessageQueues`): a topic the name servers do not
    /// know is an error, not TBW102's queues.
    pub(crate) fn fetch_publish_message_queues(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        let route = self
            .api
            .get_topic_route_info(topic, self.api_timeout(timeout))?;
        let info = TopicPublishInfo::from_route(topic, route, Arc::new(ThreadLocalIndex::new()));
        if info.ok() {
            Ok(info.message_queues)
        } else {
            Err(ClientError::NoRoute {
                topic: topic.to_string(),
                reason: "its route has no writable queue on a broker with a master".into(),
            })
        }
    }

    /// The readable queues of `topic`, from a freshly fetched route
    /// (`topicRouteData2TopicSubscribeInfo`), sorted.
    pub(crate) fn fetch_subscribe_queues(
        &self,
        topic: &str,
    ) -> Result<Vec<MessageQueue>, ClientError> {
        let info = self.update_topic_route(topic, self.settings.api_timeout)?;
        Ok(subscribe_queues_of(topic, &info.route))
    }

    fn install_route(&self, topic: &str, route: TopicRouteData) -> Arc<TopicPublishInfo> {
        let mut tables = self.tables.write_unpoisoned();
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

    /// The timeout of one admin-style RPC (`mqClientApiTimeout`, 3 s).
    pub(crate) fn api_timeout_default(&self) -> Duration {
        self.settings.api_timeout
    }

    // ----- broker addresses ---------------------------------------------------------------

    /// The address of `queue`'s broker that `choice` asks for, fetching the route of
    /// `queue`'s topic once when the broker is not known (yet, or any more): the one way
    /// producers, consumers, pulls and the admin find a broker (Java's
    /// `findBrokerAddressInPublish` / `findBrokerAddressInSubscribe`, each followed by
    /// `updateTopicRouteInfoFromNameServer` and a second look). A producer fetches the route
    /// as a send does, falling back on its auto-create topic, and a failure of that is no
    /// answer: the broker stays unknown. For other clients the route's failure is the answer.
    pub(crate) fn find_broker_address(
        &self,
        queue: &MessageQueue,
        choice: BrokerChoice,
        timeout: Duration,
    ) -> Result<FindBrokerResult, ClientError> {
        if let Some(found) = self.cached_broker_address(&queue.broker_name, choice) {
            return Ok(found);
        }
        if self.producer.is_some() {
            if let Err(e) = self.find_topic_publish_info(&queue.topic, timeout) {
                log::debug!("route of {} not found: {e}", queue.topic);
            }
        } else {
            self.update_topic_route(&queue.topic, timeout)?;
        }
        self.cached_broker_address(&queue.broker_name, choice)
            .ok_or_else(|| ClientError::BrokerNotFound {
                broker_name: queue.broker_name.clone(),
            })
    }

    /// [`MqClientInstance::find_broker_address`] from the routes fetched so far.
    fn cached_broker_address(
        &self,
        broker_name: &str,
        choice: BrokerChoice,
    ) -> Option<FindBrokerResult> {
        let tables = self.tables.read_unpoisoned();
        let addrs = tables.broker_addrs.get(broker_name)?;
        let (id, addr) = match choice {
            BrokerChoice::Master => addrs.get_key_value(&MASTER_ID)?,
            BrokerChoice::Prefer(id) => addrs
                .get_key_value(&id)
                .or_else(|| addrs.get_key_value(&MASTER_ID))
                .or_else(|| addrs.iter().next())?,
        };
        Some(FindBrokerResult {
            addr: self.dial_addr(addr),
            slave: *id != MASTER_ID,
        })
    }

    /// One past the last offset of `queue`, from its master (`MQAdminImpl.maxOffset`).
    pub(crate) fn max_offset(
        &self,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let found = self.find_broker_address(queue, BrokerChoice::Master, timeout)?;
        self.api.get_max_offset(&found.addr, queue, timeout)
    }

    /// The first offset `queue` still holds, from its master (`MQAdminImpl.minOffset`).
    pub(crate) fn min_offset(
        &self,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let found = self.find_broker_address(queue, BrokerChoice::Master, timeout)?;
        self.api.get_min_offset(&found.addr, queue, timeout)
    }

    /// The first offset of `queue` stored at or after `timestamp` ms, from its master
    /// (`MQAdminImpl.searchOffset`).
    pub(crate) fn search_offset(
        &self,
        queue: &MessageQueue,
        timestamp: i64,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let found = self.find_broker_address(queue, BrokerChoice::Master, timeout)?;
        self.api
            .search_offset(&found.addr, queue, timestamp, timeout)
    }

    /// The address of any broker of `topic`'s route, master first
    /// (`findBrokerAddrByTopic`): where a consumer asks for its group's members.
    pub(crate) fn find_broker_address_by_topic(&self, topic: &str) -> Option<String> {
        let tables = self.tables.read_unpoisoned();
        let route = tables.routes.get(topic)?;
        let brokers = &route.broker_datas;
        if brokers.is_empty() {
            return None;
        }
        // Java picks a random broker of the route; any one knows the group's members.
        let pick = (crate::common::clock::now_nanos() as usize) % brokers.len();
        let addrs = &brokers[pick].broker_addrs;
        addrs
            .get(&MASTER_ID)
            .or_else(|| addrs.values().next())
            .map(|addr| self.dial_addr(addr))
    }

    /// The readable queues of `topic` in the cached route, sorted; None when the route was
    /// never fetched (`topicSubscribeInfoTable`).
    pub(crate) fn cached_subscribe_queues(&self, topic: &str) -> Option<Vec<MessageQueue>> {
        let tables = self.tables.read_unpoisoned();
        let route = tables.routes.get(topic)?;
        Some(subscribe_queues_of(topic, route))
    }

    /// The address to connect to for a route address: its override, if any.
    pub(crate) fn dial_addr(&self, route_addr: &str) -> String {
        self.settings
            .broker_addr_override
            .get(route_addr)
            .cloned()
            .unwrap_or_else(|| route_addr.to_string())
    }

    /// The addresses of every broker in the routes: masters only, or every id.
    fn broker_addrs(&self, masters_only: bool) -> Vec<String> {
        let mut addrs: Vec<String> = self
            .tables
            .read_unpoisoned()
            .broker_addrs
            .values()
            .flat_map(|ids| ids.iter())
            .filter(|(id, _)| !masters_only || **id == MASTER_ID)
            .map(|(_, addr)| self.dial_addr(addr))
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    // ----- background work ----------------------------------------------------------------

    /// Fetches the route of every topic in use again, then forgets brokers that left every
    /// route and closes connections to them (`updateTopicRouteInfoFromNameServer` +
    /// `cleanOfflineBroker`), giving up between topics once shutdown begins: with the name
    /// servers down each topic costs a whole API timeout. A topic the name server no longer
    /// knows keeps its last route.
    fn refresh_routes_until_stopped(&self, stopping: &Stopping) {
        let mut topics: Vec<String> = self
            .tables
            .read_unpoisoned()
            .routes
            .keys()
            .cloned()
            .collect();
        for topic in self.watched_topics.lock_unpoisoned().iter() {
            if !topics.contains(topic) {
                topics.push(topic.clone());
            }
        }
        // A consumer's topics too, including those whose route was never found yet.
        if let Some(consumer) = self.consumer() {
            for subscription in consumer.subscription_data_set {
                if !topics.contains(&subscription.topic) {
                    topics.push(subscription.topic);
                }
            }
        }
        for topic in topics {
            if stopping.is_stopped() {
                return;
            }
            match self.update_topic_route(&topic, self.settings.api_timeout) {
                Ok(_) => {}
                Err(ClientError::NoRoute { .. }) => {
                    log::debug!("route refresh: topic {topic} unknown to the name server")
                }
                // Our own shutdown cut it short: nothing went wrong.
                Err(ClientError::ShutDown) => return,
                Err(e) => log::warn!("route refresh of topic {topic} failed: {e}"),
            }
        }
        self.clean_offline_brokers();
    }

    fn clean_offline_brokers(&self) {
        let live: HashSet<String> = {
            let mut tables = self.tables.write_unpoisoned();
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
    pub(crate) fn heartbeat_data(&self) -> HeartbeatData {
        let producer_data_set = match self.producer.as_ref().map(|p| &p.group) {
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
        let consumer_data_set = self.consumer().map(|c| vec![c]).unwrap_or_default();
        HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set,
            consumer_data_set,
            heartbeat_fingerprint: None,
            without_sub: None,
        }
    }

    /// Sends HEART_BEAT to every master in the routes, and to slaves too when a consumer is
    /// served (`sendHeartbeatToAllBroker`: a client with producers only skips slaves), giving
    /// up between brokers once shutdown begins.
    fn send_heartbeats_until_stopped(&self, stopping: &Stopping) {
        let data = self.heartbeat_data();
        let masters_only = data.consumer_data_set.is_empty();
        for addr in self.broker_addrs(masters_only) {
            if stopping.is_stopped() {
                return;
            }
            match self
                .api
                .send_heartbeat(&addr, &data, self.settings.api_timeout)
            {
                Ok(()) => {}
                Err(ClientError::ShutDown) => return,
                Err(e) => log::warn!("heartbeat to {addr} failed: {e}"),
            }
        }
    }

    /// The first step of a shutdown, for an owner that must wait for its own threads in
    /// between: the background threads are told to stop (not joined), then the name-server
    /// connections are closed, so that a route query in flight (which could hold a join for
    /// a whole API timeout) fails at once, as [`ClientError::ShutDown`], and none starts
    /// after. Only name servers: UNREGISTER_CLIENT still needs the brokers, and the periodic
    /// threads are joined (by [`MqClientInstance::shutdown`]) before any broker connection
    /// closes.
    pub(crate) fn begin_shutdown(&self) {
        self.api.begin_close();
        if let Some(services) = self.services.lock_unpoisoned().as_ref() {
            services.route.request_stop();
            services.heartbeat.request_stop();
        }
        if let Some(fetch) = self.name_server_fetch.lock_unpoisoned().as_ref() {
            fetch.request_stop();
        }
        self.fetch_abort.abort();
        for addr in self.api.remoting().name_server_address_list() {
            self.api.remoting().close_connection(&addr);
        }
    }

    /// Stops the background threads, sends UNREGISTER_CLIENT to every broker of the routes,
    /// masters and slaves (`unregisterClient`; only if a producer group was announced),
    /// closes every connection and joins every thread. Pending async calls fail and their
    /// callbacks run.
    pub(crate) fn shutdown(&self) {
        self.begin_shutdown();
        let services = self.services.lock_unpoisoned().take();
        let started = services.is_some();
        if let Some(services) = services {
            services.route.stop();
            services.heartbeat.stop();
        }
        let fetch = self.name_server_fetch.lock_unpoisoned().take();
        if let Some(fetch) = fetch {
            fetch.stop();
        }
        let consumer_group = self.consumer().map(|c| c.group_name);
        let producer_group = self.producer.as_ref().map(|p| p.group.as_str());
        if started && (producer_group.is_some() || consumer_group.is_some()) {
            for addr in self.broker_addrs(false) {
                if let Err(e) = self.api.unregister_client(
                    &addr,
                    &self.client_id,
                    producer_group,
                    consumer_group.as_deref(),
                    self.settings.api_timeout,
                ) {
                    log::warn!("unregister from {addr} failed: {e}");
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

/// The readable queues of a route, sorted (`topicRouteData2TopicSubscribeInfo`).
fn subscribe_queues_of(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues: Vec<_> = route
        .queue_datas
        .iter()
        .filter(|q| perm_name::is_readable(q.perm))
        .flat_map(|q| (0..q.read_queue_nums).map(|i| MessageQueue::new(topic, &q.broker_name, i)))
        .collect();
    queues.sort();
    queues.dedup();
    queues
}

/// Clamps every queue data of an auto-create topic's route to `queue_nums` queues
/// (`Math.min(defaultTopicQueueNums, readQueueNums)` for read and write).
pub(crate) fn clamp_default_route(route: &mut TopicRouteData, queue_nums: i32) {
    for queue_data in &mut route.queue_datas {
        let n = queue_nums.min(queue_data.read_queue_nums);
        queue_data.read_queue_nums = n;
        queue_data.write_queue_nums = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::test_support::fixture_body;

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
    fn override_map_broker_ids_and_heartbeat_body() {
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
        let instance = MqClientInstance::new(
            settings,
            Some(ProducerRegistration {
                group: "javapeer_producer_group".into(),
                default_topic: DefaultTopic {
                    key: "TBW102".into(),
                    queue_nums: 4,
                },
            }),
            Vec::new(),
        )
        .unwrap();
        let route = TopicRouteData::from_json(
            br#"{"brokerDatas":[{"brokerAddrs":{"0":"172.17.0.2:10911","1":"172.17.0.3:10911"},"brokerName":"b","cluster":"c"}],"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":2,"writeQueueNums":2}]}"#,
        )
        .unwrap();
        instance.install_route("T", route);
        assert_eq!(
            instance
                .cached_broker_address("b", BrokerChoice::Master)
                .map(|found| found.addr)
                .as_deref(),
            Some("127.0.0.1:20911")
        );
        assert_eq!(
            instance.cached_broker_address("x", BrokerChoice::Master),
            None
        );
        assert_eq!(instance.dial_addr("172.17.0.3:10911"), "172.17.0.3:10911");
        // Heartbeats go to masters; unregistering reaches every broker id.
        assert_eq!(instance.broker_addrs(true), ["127.0.0.1:20911"]);
        assert_eq!(
            instance.broker_addrs(false),
            ["127.0.0.1:20911", "172.17.0.3:10911"]
        );
        // Byte for byte what the Java producer of vector 099 sent.
        assert_eq!(
            instance.heartbeat_data().to_json().as_bytes(),
            &fixture_body("java-4.9.8/099-req-code34-json.bin")[..]
        );
        instance.shutdown();
    }
}
