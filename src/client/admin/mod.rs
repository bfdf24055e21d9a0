//! `MqAdmin`: the admin and query calls of Java's `MQAdminImpl` and `DefaultMQAdminExt`, from
//! Rust: create topics and subscription groups, find messages by key, unique id or offset
//! id, read offsets and statistics, list connections, topics and clusters, delete topics and
//! groups.
//!
//! Each call asks the name servers for the route it needs, then the brokers of that route
//! (their RPCs are in `shared/mq_client_api/admin.rs`). An admin starts no background thread and announces no
//! group: it only asks.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::shared::client_config::{client_settings_setters, ClientSettings};
use crate::client::shared::client_instance::{BrokerChoice, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::client::shared::mq_client_api::MqClientApi;
use crate::client::trace::{decode_from_trace_trans_data, TraceQueryResult, RMQ_SYS_TRACE_TOPIC};
use crate::protocol::body::{
    perm_name, BrokerData, ClusterInfo, ConsumeStats, ConsumerConnection, GroupList, KvTable,
    MessageRequestMode, ProducerConnection, SetMessageRequestModeRequestBody,
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper,
    TopicList, TopicRouteData, TopicStatsTable,
};
use crate::protocol::codes::response_code;
use crate::protocol::header::QueryMessageRequestHeader;
use crate::protocol::message::message_const::{
    PROPERTY_KEYS, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::protocol::message::{decode_offset_message_id, MessageExt, MessageQueue};

use crate::protocol::mix_all::RETRY_GROUP_TOPIC_PREFIX;

/// The most messages one key query asks each broker for (`maxMsgsNumBatch`, 64).
pub const MAX_QUERY_NUM: i32 = 64;

/// Settings of an [`MqAdmin`]. Made by [`MqAdminBuilder`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MqAdminConfig {
    /// Name servers, header encoding, broker address overrides.
    pub client: ClientSettings,
    /// Timeout of each call (Java's admin default: 5 s).
    pub timeout: Duration,
}

/// Builds an [`MqAdmin`].
#[derive(Debug, Clone)]
pub struct MqAdminBuilder {
    config: MqAdminConfig,
    name_server: Option<String>,
}

impl MqAdminBuilder {
    client_settings_setters!();

    /// Timeout of each call (5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Checks the settings and makes the admin; it connects on first use.
    pub fn start(self) -> Result<MqAdmin, ClientError> {
        let MqAdminBuilder {
            mut config,
            name_server,
        } = self;
        config.client.check_at_start(name_server.as_deref())?;
        let instance = MqClientInstance::new(config.client.clone(), None, Vec::new())?;
        Ok(MqAdmin { config, instance })
    }
}

/// What a key query found on every broker of the topic; mirrors Java's `QueryResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryResult {
    /// The newest index update among the brokers (`indexLastUpdateTimestamp`).
    pub index_last_update_timestamp: i64,
    /// The messages, by store time.
    pub messages: Vec<MessageExt>,
}

/// The admin client; mirrors Java's `DefaultMQAdminExt` (with `MQAdminImpl`).
///
/// ```
/// # let cluster = rocketmq_blocking::LocalCluster::start()?;
/// use rocketmq_blocking::client::{Message, MqAdmin, Producer};
///
/// let admin = MqAdmin::builder().name_server(cluster.name_server_addr()).start()?;
/// admin.create_topic("TBW102", "DocAdmin", 4)?;
/// assert_eq!(admin.examine_topic_route_info("DocAdmin")?.queue_datas[0].write_queue_nums, 4);
///
/// let producer = Producer::builder("doc_admin_producer")
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// let sent = producer.send(&Message::new("DocAdmin", "find me").with_keys("order-42"))?;
/// let found = admin.query_message("DocAdmin", "order-42", 32, 0, i64::MAX)?;
/// assert_eq!(found.messages[0].body, b"find me");
/// let same = admin.view_message(&sent.offset_msg_id)?;
/// assert_eq!(same.body, b"find me");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MqAdmin {
    config: MqAdminConfig,
    instance: Arc<MqClientInstance>,
}

impl fmt::Debug for MqAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqAdmin")
            .field("name_servers", &self.config.client.name_server_addrs)
            .finish()
    }
}

impl MqAdmin {
    /// A builder with Java's defaults.
    pub fn builder() -> MqAdminBuilder {
        MqAdminBuilder {
            config: MqAdminConfig {
                client: ClientSettings::default(),
                timeout: Duration::from_secs(5),
            },
            name_server: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MqAdminConfig {
        &self.config
    }

    fn api(&self) -> &MqClientApi {
        self.instance.api()
    }

    fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// The address to dial for a broker address of a route (overrides applied).
    fn dial(&self, addr: &str) -> String {
        self.instance.dial_addr(addr)
    }

    /// The master address of each broker of `route`.
    fn masters(&self, route: &TopicRouteData) -> Vec<(String, String)> {
        route
            .broker_datas
            .iter()
            .filter_map(|b| Some((b.broker_name.clone(), self.dial(b.master_addr()?))))
            .collect()
    }

    /// An address of each broker of `route`, the master if it has one (`selectBrokerAddr`).
    fn any_addrs(&self, route: &TopicRouteData) -> Vec<String> {
        route
            .broker_datas
            .iter()
            .filter_map(|b: &BrokerData| b.select_broker_addr().map(|a| self.dial(a)))
            .collect()
    }

    /// One broker serving `topic` (master first), for calls any broker of it can answer.
    fn any_broker_of(&self, topic: &str) -> Result<String, ClientError> {
        let route = self.examine_topic_route_info(topic)?;
        self.any_addrs(&route)
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::NoRoute {
                topic: topic.to_string(),
                reason: "no broker in the route".into(),
            })
    }

    /// The route of `topic` from the name servers (`examineTopicRouteInfo`).
    pub fn examine_topic_route_info(&self, topic: &str) -> Result<TopicRouteData, ClientError> {
        let topic = &self.ns().wrap(topic);
        self.api().get_topic_route_info(topic, self.timeout())
    }

    /// Every broker, by name and by cluster (`examineBrokerClusterInfo`).
    pub fn examine_broker_cluster_info(&self) -> Result<ClusterInfo, ClientError> {
        self.api().get_broker_cluster_info(self.timeout())
    }

    /// Creates `new_topic` with `queue_num` read and write queues on every broker that serves
    /// `key` (usually `TBW102`) (`createTopic(key, newTopic, queueNum)`). Succeeds when one
    /// broker created it; fails with the last error when none did.
    pub fn create_topic(
        &self,
        key: &str,
        new_topic: &str,
        queue_num: i32,
    ) -> Result<(), ClientError> {
        let new_topic = &self.ns().wrap(new_topic);
        // The key (TBW102, a cluster-wide template) is not in the namespace.
        let route = self.api().get_topic_route_info(key, self.timeout())?;
        let config = TopicConfig {
            read_queue_nums: queue_num,
            write_queue_nums: queue_num,
            perm: perm_name::PERM_READ | perm_name::PERM_WRITE,
            ..TopicConfig::new(new_topic)
        };
        let mut last_error = None;
        let mut created = 0;
        for (_, addr) in self.masters(&route) {
            match self.api().create_topic(&addr, key, &config, self.timeout()) {
                Ok(()) => created += 1,
                Err(e) => last_error = Some(e),
            }
        }
        match (created, last_error) {
            (0, Some(e)) => Err(e),
            (0, None) => Err(ClientError::NoRoute {
                topic: key.to_string(),
                reason: "no master broker serves it".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Creates or updates a topic on one broker (`createAndUpdateTopicConfig`).
    pub fn create_and_update_topic_config(
        &self,
        broker_addr: &str,
        config: &TopicConfig,
    ) -> Result<(), ClientError> {
        let config = TopicConfig {
            topic_name: self.ns().wrap(&config.topic_name),
            ..config.clone()
        };
        self.api()
            .create_topic(broker_addr, "TBW102", &config, self.timeout())
    }

    /// Creates or replaces a subscription group's config on one broker
    /// (`createAndUpdateSubscriptionGroupConfig`).
    pub fn create_and_update_subscription_group_config(
        &self,
        broker_addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<(), ClientError> {
        let config = SubscriptionGroupConfig {
            group_name: self.ns().wrap(&config.group_name),
            ..config.clone()
        };
        self.api()
            .create_subscription_group(broker_addr, &config, self.timeout())
    }

    /// Sets whether `group` pulls or pops `topic` on one broker (5.x, `setMessageRequestMode`;
    /// `mqadmin setConsumeMode`): push consumers built with `client_rebalance(false)` ask the
    /// broker and follow it. With [`MessageRequestMode::Pop`], `pop_share_queue_num` 0 (or
    /// less) has every member pop every queue; n > 0 has each pop its own share and the
    /// shares of the n members after it.
    pub fn set_message_request_mode(
        &self,
        broker_addr: &str,
        topic: &str,
        group: &str,
        mode: MessageRequestMode,
        pop_share_queue_num: i32,
    ) -> Result<(), ClientError> {
        let body = SetMessageRequestModeRequestBody {
            topic: self.ns().wrap(topic),
            consumer_group: self.ns().wrap(group),
            mode,
            pop_share_queue_num,
        };
        self.api()
            .set_message_request_mode(broker_addr, &body, self.timeout())
    }

    /// Every subscription group config of a broker (`getAllSubscriptionGroup`).
    pub fn get_all_subscription_group(
        &self,
        broker_addr: &str,
    ) -> Result<SubscriptionGroupWrapper, ClientError> {
        self.api()
            .get_all_subscription_group(broker_addr, self.timeout())
    }

    /// Every topic config of a broker (`getAllTopicConfig`).
    pub fn get_all_topic_config(
        &self,
        broker_addr: &str,
    ) -> Result<TopicConfigSerializeWrapper, ClientError> {
        self.api().get_all_topic_config(broker_addr, self.timeout())
    }

    /// Deletes a subscription group from a broker, and its offsets when `remove_offset`
    /// (`deleteSubscriptionGroup`).
    pub fn delete_subscription_group(
        &self,
        broker_addr: &str,
        group: &str,
        remove_offset: bool,
    ) -> Result<(), ClientError> {
        let group = &self.ns().wrap(group);
        self.api()
            .delete_subscription_group(broker_addr, group, remove_offset, self.timeout())
    }

    /// The namespace topics and groups are wrapped in.
    fn ns(&self) -> &crate::client::shared::namespace::Namespace {
        self.instance.namespace()
    }

    fn master_of(&self, queue: &MessageQueue) -> Result<String, ClientError> {
        let found =
            self.instance
                .find_broker_address(queue, BrokerChoice::Master, self.timeout())?;
        Ok(found.addr)
    }

    /// The offset of the first message of `queue` stored at or after `timestamp` ms
    /// (`searchOffset`).
    pub fn search_offset(&self, queue: &MessageQueue, timestamp: i64) -> Result<i64, ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        self.instance
            .search_offset(queue, timestamp, self.timeout())
    }

    /// The next offset to be written in `queue` (`maxOffset`).
    pub fn max_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        self.instance.max_offset(queue, self.timeout())
    }

    /// The first offset `queue` still holds (`minOffset`).
    pub fn min_offset(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        self.instance.min_offset(queue, self.timeout())
    }

    /// The store time of the earliest message `queue` holds, -1 when empty
    /// (`earliestMsgStoreTime`).
    pub fn earliest_msg_store_time(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        let queue = &self.ns().wrap_queue(queue);
        let addr = self.master_of(queue)?;
        self.api()
            .get_earliest_msg_storetime(&addr, queue, self.timeout())
    }

    /// The message with offset message id `offset_msg_id` (the `offset_msg_id` of a
    /// `SendResult`), read from the broker the id names (`viewMessage`).
    pub fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt, ClientError> {
        let (store_host, offset) = decode_offset_message_id(offset_msg_id).map_err(|e| {
            ClientError::invalid_argument("offset_msg_id", format!("{offset_msg_id}: {e}"))
        })?;
        let addr = self.dial(&store_host.to_string());
        let mut message = self.api().view_message(&addr, offset, self.timeout())?;
        self.ns()
            .unwrap_messages(std::slice::from_mut(&mut message));
        Ok(message)
    }

    /// Up to `max_num` messages of `topic` with `key` among their keys, stored within
    /// `[begin, end]` ms, from every broker of the topic (`queryMessage`). Brokers that fail
    /// are skipped (logged); none answering at all is the last error.
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
    ) -> Result<QueryResult, ClientError> {
        let topic = &self.ns().wrap(topic);
        self.query(topic, key, max_num, begin, end, false)
    }

    /// The message of `topic` with unique id `unique_key` (a `SendResult`'s `msg_id`), the
    /// earliest stored if a retry stored it twice (`queryMessageByUniqKey`).
    pub fn query_message_by_unique_key(
        &self,
        topic: &str,
        unique_key: &str,
    ) -> Result<Option<MessageExt>, ClientError> {
        let topic = &self.ns().wrap(topic);
        let found = self.query(topic, unique_key, MAX_QUERY_NUM, 0, i64::MAX, true)?;
        Ok(found.messages.into_iter().min_by_key(|m| m.store_timestamp))
    }

    /// The message trace of message `msg_id` (a [`SendResult`]'s `msg_id`, the message's
    /// unique id) in `RMQ_SYS_TRACE_TOPIC`: every record a traced producer, consumer or
    /// transaction wrote about it, by time (`mqadmin queryMsgTraceById`, which prints the
    /// `Pub` and `SubAfter` ones). Records in the trace topic that are not in Java's format
    /// are skipped and counted.
    ///
    /// ```
    /// # let cluster = rocketmq_blocking::LocalCluster::start()?;
    /// use rocketmq_blocking::client::{Message, MqAdmin, Producer, TraceType};
    ///
    /// let producer = Producer::builder("doc_trace_producer")
    ///     .name_server(cluster.name_server_addr())
    ///     .enable_trace()
    ///     .start()?;
    /// let sent = producer.send(&Message::new("DocTrace", "traced"))?;
    /// producer.shutdown(); // the trace records leave now
    ///
    /// let admin = MqAdmin::builder().name_server(cluster.name_server_addr()).start()?;
    /// # let mut trace = admin.query_trace(&sent.msg_id)?;
    /// # let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    /// # while trace.records.is_empty() && std::time::Instant::now() < deadline {
    /// #     std::thread::sleep(std::time::Duration::from_millis(100)); // the index catches up
    /// #     trace = admin.query_trace(&sent.msg_id)?;
    /// # }
    /// let trace = admin.query_trace(&sent.msg_id)?;
    /// assert_eq!(trace.records[0].trace_type, TraceType::Pub);
    /// assert_eq!(trace.records[0].group_name, "doc_trace_producer");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`SendResult`]: crate::client::SendResult
    pub fn query_trace(&self, msg_id: &str) -> Result<TraceQueryResult, ClientError> {
        self.query_trace_in(RMQ_SYS_TRACE_TOPIC, msg_id)
    }

    /// [`MqAdmin::query_trace`] in trace topic `trace_topic` (`queryMsgTraceById -t`), taken
    /// as given: trace topics are not namespaced.
    pub fn query_trace_in(
        &self,
        trace_topic: &str,
        msg_id: &str,
    ) -> Result<TraceQueryResult, ClientError> {
        let found = self.query(trace_topic, msg_id, MAX_QUERY_NUM, 0, i64::MAX, false)?;
        let mut result = TraceQueryResult::default();
        for message in &found.messages {
            let (records, skipped) = decode_from_trace_trans_data(msg_id, message);
            result.records.extend(records);
            result.skipped += skipped;
        }
        // Producers' and consumers' records travel in different messages: by time, a send
        // comes before its consumption (and in one millisecond, a SubBefore before its
        // SubAfter).
        result
            .records
            .sort_by_key(|r| (r.time_stamp, r.trace_type as u8));
        Ok(result)
    }

    fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
        unique: bool,
    ) -> Result<QueryResult, ClientError> {
        let route = self.examine_topic_route_info(topic)?;
        let header = QueryMessageRequestHeader {
            topic: topic.to_string(),
            key: key.to_string(),
            max_num: max_num.min(MAX_QUERY_NUM),
            begin_timestamp: begin,
            end_timestamp: end,
        };
        let mut result = QueryResult::default();
        let mut answered = false;
        let mut last_error = None;
        for addr in self.any_addrs(&route) {
            match self
                .api()
                .query_message(&addr, &header, unique, self.timeout())
            {
                Ok((index, messages)) => {
                    answered = true;
                    result.index_last_update_timestamp = result
                        .index_last_update_timestamp
                        .max(index.index_last_update_timestamp);
                    result.messages.extend(messages.into_iter().filter(|m| {
                        m.topic == topic
                            && if unique {
                                m.property(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == Some(key)
                            } else {
                                m.property(PROPERTY_KEYS)
                                    .is_some_and(|keys| keys.split(' ').any(|k| k == key))
                            }
                    }));
                }
                Err(e) => {
                    log::warn!("querying {topic} for {key:?} on {addr} failed: {e}");
                    last_error = Some(e);
                }
            }
        }
        match (answered, last_error) {
            (false, Some(e)) => Err(e),
            _ => {
                result.messages.sort_by_key(|m| m.store_timestamp);
                self.ns().unwrap_messages(&mut result.messages);
                Ok(result)
            }
        }
    }

    /// The progress of consumer `group` on every broker of its retry topic's route, merged
    /// (`examineConsumeStats`); `topic` limits it to one topic. A group with no offset
    /// anywhere is [`ClientError::Broker`] with CONSUMER_NOT_ONLINE, as Java.
    pub fn examine_consume_stats(
        &self,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats, ClientError> {
        let topic = topic.map(|t| self.ns().wrap(t));
        let topic = topic.as_deref();
        let group = &self.ns().wrap(group);
        let route = self.examine_topic_route_info(&format!("{RETRY_GROUP_TOPIC_PREFIX}{group}"))?;
        let mut merged = ConsumeStats::default();
        let mut addrs = Vec::new();
        for (_, addr) in self.masters(&route) {
            let stats = self
                .api()
                .get_consume_stats(&addr, group, topic, self.timeout())?;
            merged.consume_tps += stats.consume_tps;
            merged.offset_table.extend(stats.offset_table);
            addrs.push(addr);
        }
        if merged.offset_table.is_empty() {
            return Err(ClientError::broker(
                response_code::CONSUMER_NOT_ONLINE,
                Some(
                    "Not found the consumer group consume stats, because return offset table is \
                     empty, maybe the consumer not consume any message"
                        .into(),
                ),
                &addrs.join(","),
            ));
        }
        Ok(merged)
    }

    /// The online members of consumer `group` and their subscriptions, from one broker of its
    /// route (`examineConsumerConnectionInfo`).
    pub fn examine_consumer_connection_info(
        &self,
        group: &str,
    ) -> Result<ConsumerConnection, ClientError> {
        let group = &self.ns().wrap(group);
        let addr = self.any_broker_of(&format!("{RETRY_GROUP_TOPIC_PREFIX}{group}"))?;
        self.api()
            .get_consumer_connection_list(&addr, group, self.timeout())
    }

    /// The members of producer `group` as a broker of `topic` sees them
    /// (`examineProducerConnectionInfo`).
    pub fn examine_producer_connection_info(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<ProducerConnection, ClientError> {
        let topic = &self.ns().wrap(topic);
        let group = &self.ns().wrap(group);
        let addr = self.any_broker_of(topic)?;
        self.api()
            .get_producer_connection_list(&addr, group, self.timeout())
    }

    /// The offsets of every queue of `topic` on every broker (`examineTopicStats`).
    pub fn examine_topic_stats(&self, topic: &str) -> Result<TopicStatsTable, ClientError> {
        let topic = &self.ns().wrap(topic);
        let route = self.examine_topic_route_info(topic)?;
        let mut merged = TopicStatsTable::default();
        for addr in self.any_addrs(&route) {
            let stats = self
                .api()
                .get_topic_stats_info(&addr, topic, self.timeout())?;
            merged.offset_table.extend(stats.offset_table);
        }
        Ok(merged)
    }

    /// A broker's runtime statistics (`fetchBrokerRuntimeStats`).
    pub fn fetch_broker_runtime_stats(&self, broker_addr: &str) -> Result<KvTable, ClientError> {
        self.api()
            .get_broker_runtime_info(broker_addr, self.timeout())
    }

    /// A broker's settings as `key=value` pairs (`getBrokerConfig`).
    pub fn get_broker_config(
        &self,
        broker_addr: &str,
    ) -> Result<BTreeMap<String, String>, ClientError> {
        self.api().get_broker_config(broker_addr, self.timeout())
    }

    /// Every topic the name servers know (`fetchAllTopicList`).
    pub fn fetch_all_topic_list(&self) -> Result<TopicList, ClientError> {
        self.api().get_topic_list_from_name_server(self.timeout())
    }

    /// The topics of `cluster` (`fetchTopicsByCLuster`).
    pub fn fetch_topics_by_cluster(&self, cluster: &str) -> Result<TopicList, ClientError> {
        self.api().get_topics_by_cluster(cluster, self.timeout())
    }

    /// The consumer groups of `topic`: online subscribers and groups with offsets in it
    /// (`queryTopicConsumeByWho`).
    pub fn query_topic_consume_by_who(&self, topic: &str) -> Result<GroupList, ClientError> {
        let topic = &self.ns().wrap(topic);
        let addr = self.any_broker_of(topic)?;
        self.api()
            .query_topic_consume_by_who(&addr, topic, self.timeout())
    }

    /// Deletes `topic` from every master of `cluster`, then from every name server
    /// (`deleteTopic(topic, cluster)`: `deleteTopicInBroker` + `deleteTopicInNameServer`).
    pub fn delete_topic(&self, topic: &str, cluster: &str) -> Result<(), ClientError> {
        let topic = &self.ns().wrap(topic);
        let clusters = self.examine_broker_cluster_info()?;
        let masters: Vec<String> = clusters
            .cluster_addr_table
            .get(cluster)
            .into_iter()
            .flatten()
            .filter_map(|name| clusters.broker_addr_table.get(name))
            .filter_map(|b| b.master_addr().map(|a| self.dial(a)))
            .collect();
        for addr in &masters {
            self.api()
                .delete_topic_in_broker(addr, topic, self.timeout())?;
        }
        for name_server in &self.config.client.name_server_addrs {
            self.api().delete_topic_in_name_server(
                name_server,
                topic,
                Some(cluster),
                self.timeout(),
            )?;
        }
        Ok(())
    }

    /// Resets consumer `group`'s offsets of `topic` to the first message stored at or after
    /// `timestamp` ms, on every broker of the topic, telling the online members
    /// (`resetOffsetByTimestamp`); returns the new offsets.
    pub fn reset_offset_by_timestamp(
        &self,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>, ClientError> {
        let topic = &self.ns().wrap(topic);
        let group = &self.ns().wrap(group);
        let route = self.examine_topic_route_info(topic)?;
        let mut offsets = BTreeMap::new();
        for (_, addr) in self.masters(&route) {
            offsets.extend(self.api().invoke_broker_to_reset_offset(
                &addr,
                topic,
                group,
                timestamp,
                force,
                self.timeout(),
            )?);
        }
        Ok(offsets)
    }

    /// The offsets the online members of `group` hold for `topic`, by client id
    /// (`getConsumeStatus`); `client_addr` asks one member only.
    pub fn get_consume_status(
        &self,
        topic: &str,
        group: &str,
        client_addr: Option<&str>,
    ) -> Result<BTreeMap<String, BTreeMap<MessageQueue, i64>>, ClientError> {
        let topic = &self.ns().wrap(topic);
        let group = &self.ns().wrap(group);
        let addr = self.any_broker_of(topic)?;
        self.api().invoke_broker_to_get_consumer_status(
            &addr,
            topic,
            group,
            client_addr,
            self.timeout(),
        )
    }

    /// Closes every connection.
    pub fn shutdown(&self) {
        self.instance.shutdown();
    }
}

impl Drop for MqAdmin {
    fn drop(&mut self) {
        self.shutdown();
    }
}
