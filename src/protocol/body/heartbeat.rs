//! The HEART_BEAT body: `HeartbeatData` and its parts (Java's `protocol.heartbeat` package,
//! and `ConsumeFromWhere`).

use serde::Deserialize;

use super::json::{java_enum, lenient_i64, null_as_default, parse, JsonWriter};
use crate::protocol::error::BodyError;

java_enum! {
    /// Pull or push consumer; mirrors Java's `ConsumeType`.
    pub enum ConsumeType {
        /// Pull consumer (`CONSUME_ACTIVELY`, ordinal 0).
        ConsumeActively = "CONSUME_ACTIVELY",
        /// Push consumer (`CONSUME_PASSIVELY`, ordinal 1).
        ConsumePassively = "CONSUME_PASSIVELY",
        /// 5.x: a consumer that pops (`CONSUME_POP`, ordinal 2).
        ConsumePop = "CONSUME_POP",
    }
}

java_enum! {
    /// How a group shares messages; mirrors Java's `MessageModel`.
    pub enum MessageModel {
        /// Every consumer gets every message (`BROADCASTING`, ordinal 0).
        Broadcasting = "BROADCASTING",
        /// Each message goes to one consumer of the group (`CLUSTERING`, ordinal 1).
        Clustering = "CLUSTERING",
    }
}

java_enum! {
    /// Where a new consumer group starts; mirrors Java's `ConsumeFromWhere`.
    pub enum ConsumeFromWhere {
        /// The queue's end (`CONSUME_FROM_LAST_OFFSET`, ordinal 0).
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        /// Deprecated (`CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST`, ordinal 1).
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        /// Deprecated (`CONSUME_FROM_MIN_OFFSET`, ordinal 2).
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        /// Deprecated (`CONSUME_FROM_MAX_OFFSET`, ordinal 3).
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        /// The queue's start (`CONSUME_FROM_FIRST_OFFSET`, ordinal 4).
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        /// A point in time (`CONSUME_FROM_TIMESTAMP`, ordinal 5).
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
}

/// A producer group the client belongs to; mirrors Java's `ProducerData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    /// `groupName`.
    pub group_name: String,
}

/// One topic subscription of a consumer group; mirrors Java's `SubscriptionData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionData {
    /// `classFilterMode`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub class_filter_mode: bool,
    /// `topic`.
    pub topic: String,
    /// `subString`: the expression, "*" for all.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub_string: String,
    /// `tagsSet`: the tags of a TAG expression.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags_set: Vec<String>,
    /// `codeSet`: the tags' hash codes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub code_set: Vec<i32>,
    /// `subVersion`: the subscription's version (a timestamp); a number or numeric string.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub sub_version: i64,
    /// `expressionType`: "TAG" (Java's default) or "SQL92".
    #[serde(default)]
    pub expression_type: Option<String>,
}

impl SubscriptionData {
    pub(crate) fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.bool_field("classFilterMode", self.class_filter_mode);
        w.key("codeSet");
        w.begin_array();
        for code in &self.code_set {
            w.element();
            w.integer(i64::from(*code));
        }
        w.end_array();
        w.optional_string_field("expressionType", self.expression_type.as_deref());
        w.string_field("subString", &self.sub_string);
        w.integer_field("subVersion", self.sub_version);
        w.string_array_field("tagsSet", self.tags_set.iter().map(String::as_str));
        w.string_field("topic", &self.topic);
        w.end_object();
    }
}

/// A consumer group the client belongs to; mirrors Java's `ConsumerData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    /// `groupName`.
    pub group_name: String,
    /// `consumeType`: a name, or the ordinal the C++ client sends.
    #[serde(default)]
    pub consume_type: Option<ConsumeType>,
    /// `messageModel`: a name, or an ordinal.
    #[serde(default)]
    pub message_model: Option<MessageModel>,
    /// `consumeFromWhere`: a name, or an ordinal.
    #[serde(default)]
    pub consume_from_where: Option<ConsumeFromWhere>,
    /// `subscriptionDataSet`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subscription_data_set: Vec<SubscriptionData>,
    /// `unitMode`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub unit_mode: bool,
}

impl ConsumerData {
    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.optional_string_field(
            "consumeFromWhere",
            self.consume_from_where.map(|c| c.name()),
        );
        w.optional_string_field("consumeType", self.consume_type.map(|c| c.name()));
        w.string_field("groupName", &self.group_name);
        w.optional_string_field("messageModel", self.message_model.map(|m| m.name()));
        w.key("subscriptionDataSet");
        w.begin_array();
        for subscription in &self.subscription_data_set {
            w.element();
            subscription.write(w);
        }
        w.end_array();
        w.bool_field("unitMode", self.unit_mode);
        w.end_object();
    }
}

/// What a client tells every broker every 30 s: who it is and its groups; mirrors Java's
/// `HeartbeatData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HeartbeatData {
    /// `clientID`: "ip@instance" (Java) or whatever the client chose.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// `producerDataSet`.
    #[serde(
        rename = "producerDataSet",
        default,
        deserialize_with = "null_as_default"
    )]
    pub producer_data_set: Vec<ProducerData>,
    /// `consumerDataSet`.
    #[serde(
        rename = "consumerDataSet",
        default,
        deserialize_with = "null_as_default"
    )]
    pub consumer_data_set: Vec<ConsumerData>,
    /// `heartbeatFingerprint` (5.x).
    #[serde(rename = "heartbeatFingerprint", default)]
    pub heartbeat_fingerprint: Option<i32>,
    /// `withoutSub` (5.x `isWithoutSub`).
    #[serde(rename = "withoutSub", default)]
    pub without_sub: Option<bool>,
}

impl HeartbeatData {
    /// Reads a heartbeat body as Java, C++ (enum ordinals, string `subVersion`, trailing
    /// newline) or 5.x clients write it.
    pub fn from_json(body: &[u8]) -> Result<HeartbeatData, BodyError> {
        parse(body, "HeartbeatData")
    }

    /// Writes the body as Java does: sorted keys, enums by name, 5.x fields only when set.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.string_field("clientID", &self.client_id);
        w.key("consumerDataSet");
        w.begin_array();
        for consumer in &self.consumer_data_set {
            w.element();
            consumer.write(&mut w);
        }
        w.end_array();
        if let Some(fingerprint) = self.heartbeat_fingerprint {
            w.integer_field("heartbeatFingerprint", i64::from(fingerprint));
        }
        w.key("producerDataSet");
        w.begin_array();
        for producer in &self.producer_data_set {
            w.element();
            w.begin_object();
            w.string_field("groupName", &producer.group_name);
            w.end_object();
        }
        w.end_array();
        if let Some(without_sub) = self.without_sub {
            w.bool_field("withoutSub", without_sub);
        }
        w.end_object();
        w.finish()
    }
}

/// The CHECK_CLIENT_CONFIG (46) body: a consumer asking whether the broker can filter by its
/// subscription (a SQL92 one) before it starts; mirrors Java's `CheckClientRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckClientRequestBody {
    /// `clientId`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub client_id: String,
    /// `group`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group: String,
    /// `subscriptionData`.
    #[serde(default)]
    pub subscription_data: Option<SubscriptionData>,
    /// `namespace` (5.x).
    #[serde(default)]
    pub namespace: Option<String>,
}

impl CheckClientRequestBody {
    /// Reads the body as Java writes it.
    pub fn from_json(body: &[u8]) -> Result<CheckClientRequestBody, BodyError> {
        parse(body, "CheckClientRequestBody")
    }

    /// Writes the body as Java does (sorted keys).
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.string_field("clientId", &self.client_id);
        w.string_field("group", &self.group);
        w.optional_string_field("namespace", self.namespace.as_deref());
        if let Some(subscription) = &self.subscription_data {
            w.key("subscriptionData");
            subscription.write(&mut w);
        }
        w.end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_fixtures::fixture;

    #[test]
    fn java_producer_heartbeat_round_trips_byte_for_byte() {
        let body = fixture("java-4.9.8/099-req-code34-json.bin").body;
        let heartbeat = HeartbeatData::from_json(&body).unwrap();
        assert_eq!(heartbeat.client_id, "192.0.2.2@16137#457717984084");
        let groups: Vec<_> = heartbeat
            .producer_data_set
            .iter()
            .map(|p| p.group_name.as_str())
            .collect();
        assert_eq!(groups, ["CLIENT_INNER_PRODUCER", "javapeer_producer_group"]);
        assert!(heartbeat.consumer_data_set.is_empty());
        assert_eq!(heartbeat.to_json().as_bytes(), &body[..]);
    }

    #[test]
    fn reads_the_cpp_consumer_heartbeat() {
        let body = fixture("cpp-2.0/003-req-code34-json.bin").body;
        assert_eq!(body.last(), Some(&b'\n'));
        let heartbeat = HeartbeatData::from_json(&body).unwrap();
        assert_eq!(heartbeat.client_id, "22185-127.0.0.1@DEFAULT");
        assert!(heartbeat.producer_data_set.is_empty());
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(consumer.group_name, "CID_cpp_test");
        assert_eq!(consumer.consume_type, Some(ConsumeType::ConsumePassively));
        assert_eq!(consumer.message_model, Some(MessageModel::Clustering));
        assert_eq!(
            consumer.consume_from_where,
            Some(ConsumeFromWhere::ConsumeFromLastOffset)
        );
        assert!(!consumer.unit_mode);
        let topics: Vec<_> = consumer
            .subscription_data_set
            .iter()
            .map(|s| s.topic.as_str())
            .collect();
        assert_eq!(topics, ["%RETRY%CID_cpp_test", "TopicTest"]);
        for subscription in &consumer.subscription_data_set {
            assert_eq!(subscription.sub_string, "*");
            assert_eq!(subscription.sub_version, 1_795_281_104_913);
            assert!(subscription.tags_set.is_empty());
        }
        // Written as Java writes it: enum names, every field.
        let text = heartbeat.to_json();
        assert!(text.starts_with(
            r#"{"clientID":"22185-127.0.0.1@DEFAULT","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"CID_cpp_test","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[],"subString":"*","subVersion":1795281104913,"tagsSet":[],"topic":"%RETRY%CID_cpp_test"},"#
        ), "{text}");
        assert!(
            text.ends_with(r#"],"unitMode":false}],"producerDataSet":[]}"#),
            "{text}"
        );
        assert_eq!(
            HeartbeatData::from_json(text.as_bytes()).unwrap(),
            heartbeat
        );
    }

    #[test]
    fn reads_java_enum_names_and_5x_fields() {
        let body = br#"{"clientID":"c","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_TIMESTAMP","consumeType":"CONSUME_ACTIVELY","groupName":"g","messageModel":"BROADCASTING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":17,"tagsSet":["TagA"],"topic":"T"}],"unitMode":true}],"heartbeatFingerprint":-5,"producerDataSet":[],"withoutSub":false}"#;
        let heartbeat = HeartbeatData::from_json(body).unwrap();
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(
            consumer.consume_from_where,
            Some(ConsumeFromWhere::ConsumeFromTimestamp)
        );
        assert_eq!(consumer.consume_type, Some(ConsumeType::ConsumeActively));
        assert_eq!(consumer.message_model, Some(MessageModel::Broadcasting));
        assert!(consumer.unit_mode);
        assert_eq!(consumer.subscription_data_set[0].code_set, [2_598_919]);
        assert_eq!(heartbeat.heartbeat_fingerprint, Some(-5));
        assert_eq!(heartbeat.without_sub, Some(false));
        assert_eq!(heartbeat.to_json().as_bytes(), &body[..]);
    }

    #[test]
    fn bad_enums_and_missing_ids_are_named() {
        let err = HeartbeatData::from_json(
            br#"{"clientID":"c","consumerDataSet":[{"groupName":"g","consumeType":7}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("ConsumeType"), "{err}");
        let err = HeartbeatData::from_json(br#"{"producerDataSet":[]}"#).unwrap_err();
        assert!(err.to_string().contains("clientID"), "{err}");
        assert_eq!(ConsumeFromWhere::ConsumeFromFirstOffset.ordinal(), 4);
        assert_eq!(
            ConsumeFromWhere::from_ordinal(5),
            Some(ConsumeFromWhere::ConsumeFromTimestamp)
        );
        assert_eq!(ConsumeFromWhere::from_ordinal(6), None);
        assert_eq!(
            MessageModel::from_name("CLUSTERING"),
            Some(MessageModel::Clustering)
        );
    }
}
