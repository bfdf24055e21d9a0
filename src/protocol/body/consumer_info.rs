//! Bodies of what a broker (or an admin tool through it) asks a consumer: `ConsumerRunningInfo`
//! with its `ProcessQueueInfo`s and `ConsumeStatus`es (GET_CONSUMER_RUNNING_INFO),
//! `ResetOffsetBody` (RESET_CONSUMER_CLIENT_OFFSET), `GetConsumerStatusBody`
//! (GET_CONSUMER_STATUS_FROM_CLIENT) and `ConsumeMessageDirectlyResult`
//! (CONSUME_MESSAGE_DIRECTLY).
//!
//! Java writes these with fastjson, whose maps keyed by `MessageQueue` have objects as keys
//! (`{{"brokerName":"b","queueId":0,"topic":"T"}:5}`); they are read and written so, since
//! `mqadmin` reads them with fastjson.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::heartbeat::SubscriptionData;
use super::json::{java_enum, null_as_default, object_keyed_map, parse, JsonWriter};
use crate::protocol::error::BodyError;
use crate::protocol::message::MessageQueue;

/// Writes `{"brokerName":..,"queueId":..,"topic":..}:` as a map key.
fn write_queue_key(w: &mut JsonWriter, queue: &MessageQueue) {
    w.queue_key(queue);
}

fn write_offset_table(w: &mut JsonWriter, name: &str, table: &BTreeMap<MessageQueue, i64>) {
    w.key(name);
    w.begin_object();
    for (queue, offset) in table {
        write_queue_key(w, queue);
        w.integer(*offset);
    }
    w.end_object();
}

/// New offsets a broker tells a consumer to take; mirrors Java's `ResetOffsetBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetBody {
    /// `offsetTable`: queue → offset.
    #[serde(default, deserialize_with = "object_keyed_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ResetOffsetBody {
    /// Reads the body as fastjson writes it.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "ResetOffsetBody")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        write_offset_table(&mut w, "offsetTable", &self.offset_table);
        w.end_object();
        w.finish()
    }
}

/// A consumer's offsets of a topic; mirrors Java's `GetConsumerStatusBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerStatusBody {
    /// `messageQueueTable`: queue → offset (one client's answer).
    #[serde(default, deserialize_with = "object_keyed_map")]
    pub message_queue_table: BTreeMap<MessageQueue, i64>,
    /// `consumerTable`: client id → its table (the broker's answer, gathered).
    #[serde(default, deserialize_with = "consumer_tables")]
    pub consumer_table: BTreeMap<String, BTreeMap<MessageQueue, i64>>,
}

fn consumer_tables<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, BTreeMap<MessageQueue, i64>>, D::Error> {
    #[derive(Deserialize)]
    struct Table(#[serde(deserialize_with = "object_keyed_map")] BTreeMap<MessageQueue, i64>);
    let tables: Option<BTreeMap<String, Table>> = Option::deserialize(deserializer)?;
    Ok(tables
        .unwrap_or_default()
        .into_iter()
        .map(|(client, table)| (client, table.0))
        .collect())
}

impl GetConsumerStatusBody {
    /// Reads the body as fastjson writes it.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "GetConsumerStatusBody")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.key("consumerTable");
        w.begin_object();
        for (client, table) in &self.consumer_table {
            w.key(client);
            w.begin_object();
            for (queue, offset) in table {
                write_queue_key(&mut w, queue);
                w.integer(*offset);
            }
            w.end_object();
        }
        w.end_object();
        write_offset_table(&mut w, "messageQueueTable", &self.message_queue_table);
        w.end_object();
        w.finish()
    }
}

/// One queue as a consumer holds it; mirrors Java's `ProcessQueueInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessQueueInfo {
    /// `commitOffset`: the offset the consumer will commit.
    pub commit_offset: i64,
    /// `cachedMsgMinOffset`.
    pub cached_msg_min_offset: i64,
    /// `cachedMsgMaxOffset`.
    pub cached_msg_max_offset: i64,
    /// `cachedMsgCount`: messages pulled and not yet consumed.
    pub cached_msg_count: i64,
    /// `cachedMsgSizeInMiB`.
    #[serde(rename = "cachedMsgSizeInMiB")]
    pub cached_msg_size_in_mib: i64,
    /// `transactionMsgMinOffset` (orderly: taken for consumption).
    pub transaction_msg_min_offset: i64,
    /// `transactionMsgMaxOffset`.
    pub transaction_msg_max_offset: i64,
    /// `transactionMsgCount`.
    pub transaction_msg_count: i64,
    /// `locked`: an orderly consumer holds the broker's lock.
    pub locked: bool,
    /// `tryUnlockTimes`.
    pub try_unlock_times: i64,
    /// `lastLockTimestamp`.
    pub last_lock_timestamp: i64,
    /// `droped` (Java's spelling): taken away by a rebalance.
    #[serde(rename = "droped")]
    pub dropped: bool,
    /// `lastPullTimestamp`.
    pub last_pull_timestamp: i64,
    /// `lastConsumeTimestamp`.
    pub last_consume_timestamp: i64,
}

impl ProcessQueueInfo {
    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.integer_field("cachedMsgCount", self.cached_msg_count);
        w.integer_field("cachedMsgMaxOffset", self.cached_msg_max_offset);
        w.integer_field("cachedMsgMinOffset", self.cached_msg_min_offset);
        w.integer_field("cachedMsgSizeInMiB", self.cached_msg_size_in_mib);
        w.integer_field("commitOffset", self.commit_offset);
        w.bool_field("droped", self.dropped);
        w.integer_field("lastConsumeTimestamp", self.last_consume_timestamp);
        w.integer_field("lastLockTimestamp", self.last_lock_timestamp);
        w.integer_field("lastPullTimestamp", self.last_pull_timestamp);
        w.bool_field("locked", self.locked);
        w.integer_field("transactionMsgCount", self.transaction_msg_count);
        w.integer_field("transactionMsgMaxOffset", self.transaction_msg_max_offset);
        w.integer_field("transactionMsgMinOffset", self.transaction_msg_min_offset);
        w.integer_field("tryUnlockTimes", self.try_unlock_times);
        w.end_object();
    }
}

/// One queue a push consumer pops (5.x); mirrors Java's `PopProcessQueueInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PopProcessQueueInfo {
    /// `waitAckCount`: messages popped and not yet acked.
    pub wait_ack_count: i32,
    /// `droped` (Java's spelling): taken away by a rebalance.
    #[serde(rename = "droped")]
    pub dropped: bool,
    /// `lastPopTimestamp`.
    pub last_pop_timestamp: i64,
}

impl PopProcessQueueInfo {
    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.bool_field("droped", self.dropped);
        w.integer_field("lastPopTimestamp", self.last_pop_timestamp);
        w.integer_field("waitAckCount", i64::from(self.wait_ack_count));
        w.end_object();
    }
}

/// A consumer's rates for one topic over the last minute; mirrors Java's `ConsumeStatus`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    /// `pullRT`: average pull round trip, ms.
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    /// `pullTPS`: messages pulled per second.
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
    /// `consumeRT`: average listener time, ms.
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    /// `consumeOKTPS`: messages consumed per second.
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    /// `consumeFailedTPS`: messages failed per second.
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    /// `consumeFailedMsgs`: messages failed in the last hour.
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
}

impl ConsumeStatus {
    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.key("consumeFailedMsgs");
        w.integer(self.consume_failed_msgs);
        w.key("consumeFailedTPS");
        w.float(self.consume_failed_tps);
        w.key("consumeOKTPS");
        w.float(self.consume_ok_tps);
        w.key("consumeRT");
        w.float(self.consume_rt);
        w.key("pullRT");
        w.float(self.pull_rt);
        w.key("pullTPS");
        w.float(self.pull_tps);
        w.end_object();
    }
}

/// What a consumer says of itself; mirrors Java's `ConsumerRunningInfo` (what
/// `mqadmin consumerStatus` prints).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerRunningInfo {
    /// `properties`: settings and facts (`PROP_CONSUME_TYPE`, `PROP_NAMESERVER_ADDR`, ...).
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: BTreeMap<String, String>,
    /// `subscriptionSet`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subscription_set: Vec<SubscriptionData>,
    /// `mqTable`: each queue the consumer holds.
    #[serde(default, deserialize_with = "object_keyed_map")]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    /// `mqPopTable` (5.x): each queue the consumer pops.
    #[serde(default, deserialize_with = "object_keyed_map")]
    pub mq_pop_table: BTreeMap<MessageQueue, PopProcessQueueInfo>,
    /// `statusTable`: rates by topic.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status_table: BTreeMap<String, ConsumeStatus>,
    /// `jstack`: Java's thread dump; here the names of the consumer's threads.
    #[serde(default, deserialize_with = "null_as_default")]
    pub jstack: String,
}

/// Property keys of [`ConsumerRunningInfo::properties`] (Java's `ConsumerRunningInfo.PROP_*`).
pub mod running_info_property {
    /// The name servers.
    pub const PROP_NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
    /// The consume pool's size.
    pub const PROP_THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
    /// "true" for an orderly consumer.
    pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
    /// `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull).
    pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
    /// The client's version.
    pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
    /// When the consumer started, ms.
    pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";
}

impl ConsumerRunningInfo {
    /// Reads the body as fastjson writes it.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "ConsumerRunningInfo")
    }

    /// Writes the body as fastjson does (fields sorted, queues as object keys).
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.string_field("jstack", &self.jstack);
        w.key("mqTable");
        w.begin_object();
        for (queue, info) in &self.mq_table {
            write_queue_key(&mut w, queue);
            info.write(&mut w);
        }
        w.end_object();
        // Only a consumer that pops has it (a 4.9 consumer's body has no such field).
        if !self.mq_pop_table.is_empty() {
            w.key("mqPopTable");
            w.begin_object();
            for (queue, info) in &self.mq_pop_table {
                write_queue_key(&mut w, queue);
                info.write(&mut w);
            }
            w.end_object();
        }
        w.key("properties");
        w.begin_object();
        for (key, value) in &self.properties {
            w.string_field(key, value);
        }
        w.end_object();
        w.key("statusTable");
        w.begin_object();
        for (topic, status) in &self.status_table {
            w.key(topic);
            status.write(&mut w);
        }
        w.end_object();
        w.key("subscriptionSet");
        w.begin_array();
        for subscription in &self.subscription_set {
            w.element();
            subscription.write(&mut w);
        }
        w.end_array();
        w.end_object();
        w.finish()
    }
}

java_enum! {
    /// How a directly consumed message went; mirrors Java's `CMResult`.
    pub enum CmResult {
        /// Consumed (`CR_SUCCESS`).
        Success = "CR_SUCCESS",
        /// To be consumed again later (`CR_LATER`).
        Later = "CR_LATER",
        /// Rolled back (`CR_ROLLBACK`, orderly with auto-commit off).
        Rollback = "CR_ROLLBACK",
        /// Committed (`CR_COMMIT`, orderly with auto-commit off).
        Commit = "CR_COMMIT",
        /// The listener failed (`CR_THROW_EXCEPTION`).
        ThrowException = "CR_THROW_EXCEPTION",
        /// The listener gave no result (`CR_RETURN_NULL`).
        ReturnNull = "CR_RETURN_NULL",
    }
}

/// How a consumer consumed a message it was handed directly; mirrors Java's
/// `ConsumeMessageDirectlyResult` (what `mqadmin consumeMessage` prints).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeMessageDirectlyResult {
    /// `order`: the consumer is orderly.
    #[serde(default, deserialize_with = "null_as_default")]
    pub order: bool,
    /// `autoCommit`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub auto_commit: bool,
    /// `consumeResult`.
    #[serde(default)]
    pub consume_result: Option<CmResult>,
    /// `remark`: the listener's status or failure.
    #[serde(default)]
    pub remark: Option<String>,
    /// `spentTimeMills` (Java's spelling): the listener's time, ms.
    #[serde(default, deserialize_with = "null_as_default")]
    pub spent_time_mills: i64,
}

impl ConsumeMessageDirectlyResult {
    /// Reads the body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "ConsumeMessageDirectlyResult")
    }

    /// Writes the body as fastjson does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.bool_field("autoCommit", self.auto_commit);
        w.optional_string_field("consumeResult", self.consume_result.map(|r| r.name()));
        w.bool_field("order", self.order);
        w.optional_string_field("remark", self.remark.as_deref());
        w.integer_field("spentTimeMills", self.spent_time_mills);
        w.end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(topic: &str, queue_id: i32) -> MessageQueue {
        MessageQueue::new(topic, "broker-a", queue_id)
    }

    #[test]
    fn reads_fastjson_object_keys_and_writes_them_back() {
        // As a Java 4.9.8 broker writes a RESET_CONSUMER_CLIENT_OFFSET body.
        let java = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:12,{"brokerName":"broker-a","queueId":0,"topic":"T"}:7}}"#;
        let body = ResetOffsetBody::from_json(java.as_bytes()).unwrap();
        assert_eq!(body.offset_table.get(&mq("T", 0)), Some(&7));
        assert_eq!(body.offset_table.get(&mq("T", 1)), Some(&12));
        assert_eq!(
            body.to_json(),
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:7,{"brokerName":"broker-a","queueId":1,"topic":"T"}:12}}"#
        );
        assert_eq!(
            ResetOffsetBody::from_json(body.to_json().as_bytes()).unwrap(),
            body
        );
        assert!(ResetOffsetBody::from_json(br#"{"offsetTable":{}}"#)
            .unwrap()
            .offset_table
            .is_empty());
    }

    #[test]
    fn running_info_round_trips_with_nested_maps() {
        let mut info = ConsumerRunningInfo::default();
        info.properties.insert(
            running_info_property::PROP_CONSUME_TYPE.into(),
            "CONSUME_PASSIVELY".into(),
        );
        info.mq_table.insert(
            mq("T", 3),
            ProcessQueueInfo {
                commit_offset: 40,
                cached_msg_count: 2,
                locked: true,
                ..ProcessQueueInfo::default()
            },
        );
        info.status_table.insert(
            "T".into(),
            ConsumeStatus {
                consume_ok_tps: 12.5,
                ..ConsumeStatus::default()
            },
        );
        info.subscription_set.push(SubscriptionData {
            topic: "T".into(),
            sub_string: "*".into(),
            sub_version: 1,
            ..SubscriptionData::default()
        });
        let text = info.to_json();
        assert!(
            text.contains(r#""mqTable":{{"brokerName":"broker-a","queueId":3,"topic":"T"}:{"#),
            "{text}"
        );
        assert!(
            !text.contains("mqPopTable"),
            "only a consumer that pops: {text}"
        );
        assert_eq!(
            ConsumerRunningInfo::from_json(text.as_bytes()).unwrap(),
            info
        );
        info.mq_pop_table.insert(
            mq("T", -1),
            PopProcessQueueInfo {
                wait_ack_count: 7,
                dropped: false,
                last_pop_timestamp: 1_700_000_000_000,
            },
        );
        let text = info.to_json();
        assert!(
            text.contains(
                r#""mqPopTable":{{"brokerName":"broker-a","queueId":-1,"topic":"T"}:{"droped":false,"lastPopTimestamp":1700000000000,"waitAckCount":7}},"properties""#
            ),
            "{text}"
        );
        assert_eq!(
            ConsumerRunningInfo::from_json(text.as_bytes()).unwrap(),
            info
        );
    }

    #[test]
    fn consumer_status_and_directly_results_round_trip() {
        let mut status = GetConsumerStatusBody::default();
        status.message_queue_table.insert(mq("T", 0), 5);
        status.consumer_table.insert(
            "127.0.0.1@1".into(),
            [(mq("T", 1), 9)].into_iter().collect(),
        );
        assert_eq!(
            GetConsumerStatusBody::from_json(status.to_json().as_bytes()).unwrap(),
            status
        );
        let result = ConsumeMessageDirectlyResult {
            order: false,
            auto_commit: true,
            consume_result: Some(CmResult::Success),
            remark: Some("CONSUME_SUCCESS".into()),
            spent_time_mills: 3,
        };
        assert_eq!(
            result.to_json(),
            r#"{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"remark":"CONSUME_SUCCESS","spentTimeMills":3}"#
        );
        assert_eq!(
            ConsumeMessageDirectlyResult::from_json(result.to_json().as_bytes()).unwrap(),
            result
        );
    }

    #[test]
    fn a_map_mixing_key_kinds_is_an_error() {
        assert!(ResetOffsetBody::from_json(
            br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:1,"x":2}}"#
        )
        .is_err());
    }
}
