//! Bodies of the admin calls `mqadmin` and the dashboard make: broker runtime info, topic and
//! consumer statistics, connection lists, subscription groups, topic and group lists; mirror
//! Java's `KVTable`, `TopicStatsTable`, `ConsumeStats`, `ConsumerConnection`,
//! `ProducerConnection`, `SubscriptionGroupConfig`, `SubscriptionGroupWrapper`, `TopicList`
//! and `GroupList`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::heartbeat::SubscriptionData;
use super::json::{null_as_default, object_keyed_map, parse, JsonWriter};
use super::topic_config::DataVersion;
use crate::protocol::error::BodyError;
use crate::protocol::message::MessageQueue;

/// Named string values (GET_BROKER_RUNTIME_INFO); mirrors Java's `KVTable`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct KvTable {
    /// `table`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub table: BTreeMap<String, String>,
}

impl KvTable {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "KVTable")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("table");
        w.begin_object();
        for (key, value) in &self.table {
            w.string_field(key, value);
        }
        w.end_object();
        w.end_object();
        w.finish()
    }
}

/// One queue's offsets (GET_TOPIC_STATS_INFO); mirrors Java's `TopicOffset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicOffset {
    /// `minOffset`.
    #[serde(default)]
    pub min_offset: i64,
    /// `maxOffset`: the next offset to be written.
    #[serde(default)]
    pub max_offset: i64,
    /// `lastUpdateTimestamp`: store time of the last message, 0 for an empty queue.
    #[serde(default)]
    pub last_update_timestamp: i64,
}

/// A topic's queues on one broker (GET_TOPIC_STATS_INFO); mirrors Java's `TopicStatsTable`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatsTable {
    /// `offsetTable`: queue → offsets.
    #[serde(default, deserialize_with = "object_keyed_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

impl TopicStatsTable {
    /// Reads the body as fastjson writes it (queues as object keys).
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "TopicStatsTable")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("offsetTable");
        w.begin_object();
        for (queue, offset) in &self.offset_table {
            w.queue_key(queue);
            w.begin_object();
            w.integer_field("lastUpdateTimestamp", offset.last_update_timestamp);
            w.integer_field("maxOffset", offset.max_offset);
            w.integer_field("minOffset", offset.min_offset);
            w.end_object();
        }
        w.end_object();
        w.end_object();
        w.finish()
    }
}

/// A group's progress in one queue (GET_CONSUME_STATS); mirrors Java's `OffsetWrapper`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetWrapper {
    /// `brokerOffset`: the queue's max offset.
    #[serde(default)]
    pub broker_offset: i64,
    /// `consumerOffset`: the group's committed offset.
    #[serde(default)]
    pub consumer_offset: i64,
    /// `lastTimestamp`: store time of the last message consumed, 0 if none.
    #[serde(default)]
    pub last_timestamp: i64,
}

/// A group's progress on one broker (GET_CONSUME_STATS); mirrors Java's `ConsumeStats`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeStats {
    /// `consumeTps`: messages pulled by the group per second over the last minute.
    #[serde(default)]
    pub consume_tps: f64,
    /// `offsetTable`: queue → progress.
    #[serde(default, deserialize_with = "object_keyed_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl ConsumeStats {
    /// Reads the body as fastjson writes it.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "ConsumeStats")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("consumeTps");
        w.float(self.consume_tps);
        w.key("offsetTable");
        w.begin_object();
        for (queue, offset) in &self.offset_table {
            w.queue_key(queue);
            w.begin_object();
            w.integer_field("brokerOffset", offset.broker_offset);
            w.integer_field("consumerOffset", offset.consumer_offset);
            w.integer_field("lastTimestamp", offset.last_timestamp);
            w.end_object();
        }
        w.end_object();
        w.end_object();
        w.finish()
    }

    /// `computeTotalDiff`: messages not yet consumed, over all queues.
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.broker_offset - o.consumer_offset)
            .sum()
    }
}

/// One client connection as a broker sees it; mirrors Java's `Connection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// `clientId`.
    #[serde(default)]
    pub client_id: String,
    /// `clientAddr`: `ip:port` as the broker sees it.
    #[serde(default)]
    pub client_addr: String,
    /// `language`: `JAVA`, `CPP`, `RUST`...
    #[serde(default)]
    pub language: String,
    /// `version`: the client's version code.
    #[serde(default)]
    pub version: i32,
}

impl Connection {
    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.string_field("clientAddr", &self.client_addr);
        w.string_field("clientId", &self.client_id);
        w.string_field("language", &self.language);
        w.integer_field("version", i64::from(self.version));
        w.end_object();
    }
}

fn write_connections(w: &mut JsonWriter, connections: &[Connection]) {
    w.key("connectionSet");
    w.begin_array();
    for c in connections {
        w.element();
        c.write(w);
    }
    w.end_array();
}

/// A consumer group's members and subscriptions (GET_CONSUMER_CONNECTION_LIST); mirrors
/// Java's `ConsumerConnection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnection {
    /// `connectionSet`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub connection_set: Vec<Connection>,
    /// `subscriptionTable`: topic → subscription.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    /// `consumeType`: `CONSUME_ACTIVELY` or `CONSUME_PASSIVELY`.
    #[serde(default)]
    pub consume_type: Option<String>,
    /// `messageModel`: `CLUSTERING` or `BROADCASTING`.
    #[serde(default)]
    pub message_model: Option<String>,
    /// `consumeFromWhere`: e.g. `CONSUME_FROM_LAST_OFFSET`.
    #[serde(default)]
    pub consume_from_where: Option<String>,
}

impl ConsumerConnection {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "ConsumerConnection")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        write_connections(&mut w, &self.connection_set);
        w.optional_string_field("consumeFromWhere", self.consume_from_where.as_deref());
        w.optional_string_field("consumeType", self.consume_type.as_deref());
        w.optional_string_field("messageModel", self.message_model.as_deref());
        w.key("subscriptionTable");
        w.begin_object();
        for (topic, subscription) in &self.subscription_table {
            w.key(topic);
            subscription.write(&mut w);
        }
        w.end_object();
        w.end_object();
        w.finish()
    }
}

/// A producer group's members (GET_PRODUCER_CONNECTION_LIST); mirrors Java's
/// `ProducerConnection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerConnection {
    /// `connectionSet`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub connection_set: Vec<Connection>,
}

impl ProducerConnection {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "ProducerConnection")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        write_connections(&mut w, &self.connection_set);
        w.end_object();
        w.finish()
    }
}

fn yes() -> bool {
    true
}

fn one() -> i64 {
    1
}

/// How a consumer group may consume (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP); mirrors Java's
/// `SubscriptionGroupConfig`, with its defaults for absent fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    /// `groupName`.
    pub group_name: String,
    /// `consumeEnable` (true).
    #[serde(default = "yes")]
    pub consume_enable: bool,
    /// `consumeFromMinEnable` (true).
    #[serde(default = "yes")]
    pub consume_from_min_enable: bool,
    /// `consumeBroadcastEnable` (true).
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    /// `retryQueueNums` (1).
    #[serde(default = "retry_queue_nums")]
    pub retry_queue_nums: i32,
    /// `retryMaxTimes` (16).
    #[serde(default = "retry_max_times")]
    pub retry_max_times: i32,
    /// `brokerId` (0).
    #[serde(default)]
    pub broker_id: i64,
    /// `whichBrokerWhenConsumeSlowly` (1).
    #[serde(default = "one")]
    pub which_broker_when_consume_slowly: i64,
    /// `notifyConsumerIdsChangedEnable` (true).
    #[serde(default = "yes")]
    pub notify_consumer_ids_changed_enable: bool,
}

fn retry_queue_nums() -> i32 {
    1
}

fn retry_max_times() -> i32 {
    16
}

impl SubscriptionGroupConfig {
    /// A group with Java's defaults.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            group_name: group_name.into(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            retry_queue_nums: retry_queue_nums(),
            retry_max_times: retry_max_times(),
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
        }
    }

    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "SubscriptionGroupConfig")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.integer_field("brokerId", self.broker_id);
        w.bool_field("consumeBroadcastEnable", self.consume_broadcast_enable);
        w.bool_field("consumeEnable", self.consume_enable);
        w.bool_field("consumeFromMinEnable", self.consume_from_min_enable);
        w.string_field("groupName", &self.group_name);
        w.bool_field(
            "notifyConsumerIdsChangedEnable",
            self.notify_consumer_ids_changed_enable,
        );
        w.integer_field("retryMaxTimes", i64::from(self.retry_max_times));
        w.integer_field("retryQueueNums", i64::from(self.retry_queue_nums));
        w.integer_field(
            "whichBrokerWhenConsumeSlowly",
            self.which_broker_when_consume_slowly,
        );
        w.end_object();
    }
}

/// Every subscription group of a broker (GET_ALL_SUBSCRIPTIONGROUP_CONFIG, and the broker's
/// `subscriptionGroup.json`); mirrors Java's `SubscriptionGroupWrapper`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupWrapper {
    /// `subscriptionGroupTable`: group → config.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    /// `dataVersion`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data_version: DataVersion,
}

impl SubscriptionGroupWrapper {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "SubscriptionGroupWrapper")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("dataVersion");
        self.data_version.write(&mut w);
        w.key("subscriptionGroupTable");
        w.begin_object();
        for (group, config) in &self.subscription_group_table {
            w.key(group);
            config.write(&mut w);
        }
        w.end_object();
        w.end_object();
        w.finish()
    }
}

/// Topic names (GET_ALL_TOPIC_LIST_FROM_NAMESERVER, GET_TOPICS_BY_CLUSTER); mirrors Java's
/// `TopicList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicList {
    /// `topicList`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub topic_list: Vec<String>,
    /// `brokerAddr` (unset by these calls).
    #[serde(default)]
    pub broker_addr: Option<String>,
}

impl TopicList {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "TopicList")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.optional_string_field("brokerAddr", self.broker_addr.as_deref());
        w.string_array_field("topicList", self.topic_list.iter().map(String::as_str));
        w.end_object();
        w.finish()
    }
}

/// Group names (QUERY_TOPIC_CONSUME_BY_WHO); mirrors Java's `GroupList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupList {
    /// `groupList`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_list: Vec<String>,
}

impl GroupList {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "GroupList")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.string_array_field("groupList", self.group_list.iter().map(String::as_str));
        w.end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(id: i32) -> MessageQueue {
        MessageQueue::new("T", "b", id)
    }

    #[test]
    fn topic_stats_are_written_with_queue_object_keys_and_read_back() {
        let mut stats = TopicStatsTable::default();
        stats.offset_table.insert(
            queue(0),
            TopicOffset {
                min_offset: 0,
                max_offset: 10,
                last_update_timestamp: 1_700_000_000_000,
            },
        );
        let json = stats.to_json();
        assert_eq!(
            json,
            "{\"offsetTable\":{{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}:\
             {\"lastUpdateTimestamp\":1700000000000,\"maxOffset\":10,\"minOffset\":0}}}"
        );
        assert_eq!(TopicStatsTable::from_json(json.as_bytes()).unwrap(), stats);
    }

    #[test]
    fn consume_stats_keep_javas_double_and_field_order() {
        let mut stats = ConsumeStats::default();
        stats.offset_table.insert(
            queue(1),
            OffsetWrapper {
                broker_offset: 10,
                consumer_offset: 8,
                last_timestamp: 5,
            },
        );
        let json = stats.to_json();
        assert!(
            json.starts_with("{\"consumeTps\":0.0,\"offsetTable\":{{"),
            "{json}"
        );
        assert!(json.contains("{\"brokerOffset\":10,\"consumerOffset\":8,\"lastTimestamp\":5}"));
        let back = ConsumeStats::from_json(json.as_bytes()).unwrap();
        assert_eq!(back, stats);
        assert_eq!(back.total_diff(), 2);
    }

    #[test]
    fn subscription_groups_take_javas_defaults_for_absent_fields() {
        let g =
            SubscriptionGroupConfig::from_json(br#"{"groupName":"G","retryMaxTimes":3}"#).unwrap();
        assert_eq!(
            g,
            SubscriptionGroupConfig {
                retry_max_times: 3,
                ..SubscriptionGroupConfig::new("G")
            }
        );
        let json = g.to_json();
        assert!(
            json.starts_with("{\"brokerId\":0,\"consumeBroadcastEnable\":true,"),
            "{json}"
        );
        assert_eq!(
            SubscriptionGroupConfig::from_json(json.as_bytes()).unwrap(),
            g
        );
        let mut wrapper = SubscriptionGroupWrapper::default();
        wrapper.subscription_group_table.insert("G".into(), g);
        let back = SubscriptionGroupWrapper::from_json(wrapper.to_json().as_bytes()).unwrap();
        assert_eq!(back, wrapper);
    }

    #[test]
    fn connections_lists_and_tables_round_trip() {
        let c = Connection {
            client_id: "10.0.0.2@1".into(),
            client_addr: "10.0.0.2:5000".into(),
            language: "RUST".into(),
            version: 409,
        };
        let consumers = ConsumerConnection {
            connection_set: vec![c.clone()],
            subscription_table: BTreeMap::from([(
                "T".to_string(),
                SubscriptionData {
                    topic: "T".into(),
                    sub_string: "*".into(),
                    ..SubscriptionData::default()
                },
            )]),
            consume_type: Some("CONSUME_PASSIVELY".into()),
            message_model: Some("CLUSTERING".into()),
            consume_from_where: Some("CONSUME_FROM_LAST_OFFSET".into()),
        };
        let json = consumers.to_json();
        assert!(json.starts_with(
            "{\"connectionSet\":[{\"clientAddr\":\"10.0.0.2:5000\",\"clientId\":\"10.0.0.2@1\",\
             \"language\":\"RUST\",\"version\":409}],\"consumeFromWhere\""
        ));
        assert_eq!(
            ConsumerConnection::from_json(json.as_bytes()).unwrap(),
            consumers
        );
        let producers = ProducerConnection {
            connection_set: vec![c],
        };
        assert_eq!(
            ProducerConnection::from_json(producers.to_json().as_bytes()).unwrap(),
            producers
        );
        let kv = KvTable {
            table: BTreeMap::from([("putTps".to_string(), "0.0 0.0 0.0".to_string())]),
        };
        assert_eq!(kv.to_json(), "{\"table\":{\"putTps\":\"0.0 0.0 0.0\"}}");
        assert_eq!(KvTable::from_json(kv.to_json().as_bytes()).unwrap(), kv);
        let topics = TopicList {
            topic_list: vec!["A".into(), "%RETRY%g".into()],
            broker_addr: None,
        };
        assert_eq!(topics.to_json(), "{\"topicList\":[\"A\",\"%RETRY%g\"]}");
        assert_eq!(
            TopicList::from_json(topics.to_json().as_bytes()).unwrap(),
            topics
        );
        let groups = GroupList {
            group_list: vec!["g1".into()],
        };
        assert_eq!(groups.to_json(), "{\"groupList\":[\"g1\"]}");
        assert_eq!(
            GroupList::from_json(groups.to_json().as_bytes()).unwrap(),
            groups
        );
    }
}
