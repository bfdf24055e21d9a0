//! Topic configuration bodies: `TopicConfig`, `DataVersion`, `TopicConfigSerializeWrapper` and
//! the REGISTER_BROKER body `RegisterBrokerBody` (its JSON form, `compressed=false`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::json::{java_enum, null_as_default, parse, JsonWriter};
use crate::protocol::error::BodyError;

java_enum! {
    /// How a topic's messages are filtered; mirrors Java's `TopicFilterType`.
    #[derive(Default)]
    pub enum TopicFilterType {
        /// One tag per message (`SINGLE_TAG`), the default.
        #[default]
        SingleTag = "SINGLE_TAG",
        /// Several tags per message (`MULTI_TAG`).
        MultiTag = "MULTI_TAG",
    }
}

fn default_queue_nums() -> i32 {
    16
}

fn default_perm() -> i32 {
    super::route::perm_name::PERM_READ | super::route::perm_name::PERM_WRITE
}

/// A topic's configuration on a broker; mirrors Java's `TopicConfig` (defaults as Java's: 16
/// read and write queues, read+write permission, `SINGLE_TAG`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    /// `topicName`.
    pub topic_name: String,
    /// `readQueueNums`.
    #[serde(default = "default_queue_nums")]
    pub read_queue_nums: i32,
    /// `writeQueueNums`.
    #[serde(default = "default_queue_nums")]
    pub write_queue_nums: i32,
    /// `perm`: the `PermName` bits.
    #[serde(default = "default_perm")]
    pub perm: i32,
    /// `topicFilterType`.
    #[serde(default)]
    pub topic_filter_type: TopicFilterType,
    /// `topicSysFlag`.
    #[serde(default)]
    pub topic_sys_flag: i32,
    /// `order`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub order: bool,
    /// `attributes` (5.x).
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

impl TopicConfig {
    /// A topic with Java's defaults.
    pub fn new(topic_name: impl Into<String>) -> Self {
        TopicConfig {
            topic_name: topic_name.into(),
            read_queue_nums: default_queue_nums(),
            write_queue_nums: default_queue_nums(),
            perm: default_perm(),
            topic_filter_type: TopicFilterType::SingleTag,
            topic_sys_flag: 0,
            order: false,
            attributes: None,
        }
    }

    /// Writes one topic config as fastjson does (GET_TOPIC_CONFIG's body, where 5.x reads it
    /// as a `TopicConfigAndQueueMapping` without a mapping).
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        if let Some(attributes) = &self.attributes {
            w.key("attributes");
            w.begin_object();
            for (k, v) in attributes {
                w.string_field(k, v);
            }
            w.end_object();
        }
        w.bool_field("order", self.order);
        w.integer_field("perm", i64::from(self.perm));
        w.integer_field("readQueueNums", i64::from(self.read_queue_nums));
        w.string_field("topicFilterType", self.topic_filter_type.name());
        w.string_field("topicName", &self.topic_name);
        w.integer_field("topicSysFlag", i64::from(self.topic_sys_flag));
        w.integer_field("writeQueueNums", i64::from(self.write_queue_nums));
        w.end_object();
    }
}

/// A version stamp of a broker's configuration; mirrors Java's `DataVersion`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVersion {
    /// `stateVersion` (5.x).
    #[serde(default)]
    pub state_version: Option<i64>,
    /// `timestamp`: when the version was made, ms since the Unix epoch.
    #[serde(default)]
    pub timestamp: i64,
    /// `counter`: bumped on every change.
    #[serde(default)]
    pub counter: i64,
}

impl DataVersion {
    pub(crate) fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.integer_field("counter", self.counter);
        if let Some(state_version) = self.state_version {
            w.integer_field("stateVersion", state_version);
        }
        w.integer_field("timestamp", self.timestamp);
        w.end_object();
    }
}

/// All topic configurations of a broker with their version; mirrors Java's
/// `TopicConfigSerializeWrapper` (5.x's `TopicConfigAndMappingSerializeWrapper` extras are
/// ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    /// `topicConfigTable`: topic name to configuration.
    #[serde(default, deserialize_with = "null_as_default")]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// `dataVersion`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data_version: DataVersion,
}

impl TopicConfigSerializeWrapper {
    /// Reads the wrapper's JSON.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "TopicConfigSerializeWrapper")
    }

    /// Writes the wrapper as Java does (topics sorted by name; Java writes its map's order).
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.key("dataVersion");
        self.data_version.write(w);
        w.key("topicConfigTable");
        w.begin_object();
        for (name, config) in &self.topic_config_table {
            w.key(name);
            config.write(w);
        }
        w.end_object();
        w.end_object();
    }
}

/// The REGISTER_BROKER request body in its JSON form (`compressed=false`, the default);
/// mirrors Java's `RegisterBrokerBody`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    /// `topicConfigSerializeWrapper`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    /// `filterServerList`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub filter_server_list: Vec<String>,
}

impl RegisterBrokerBody {
    /// Reads the JSON form; the compressed binary form (`compressed=true`) is not supported.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse(body, "RegisterBrokerBody")
    }

    /// Writes the JSON form as a Java broker does.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(false);
        w.begin_object();
        w.string_array_field(
            "filterServerList",
            self.filter_server_list.iter().map(String::as_str),
        );
        w.key("topicConfigSerializeWrapper");
        self.topic_config_serialize_wrapper.write(&mut w);
        w.end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_fixtures::fixture;

    #[test]
    fn reads_the_java_broker_registration_body() {
        let body = fixture("java-4.9.8/001-req-code103-json.bin").body;
        let registration = RegisterBrokerBody::from_json(&body).unwrap();
        assert!(registration.filter_server_list.is_empty());
        let wrapper = &registration.topic_config_serialize_wrapper;
        assert_eq!(
            wrapper.data_version,
            DataVersion {
                state_version: None,
                timestamp: 1_795_279_615_335,
                counter: 2
            }
        );
        let table = &wrapper.topic_config_table;
        assert_eq!(table.len(), 10);
        let topic = &table["TopicTest"];
        assert_eq!(topic.topic_name, "TopicTest");
        assert_eq!(
            (topic.read_queue_nums, topic.write_queue_nums, topic.perm),
            (4, 4, 6)
        );
        assert_eq!(topic.topic_filter_type, TopicFilterType::SingleTag);
        assert!(!topic.order);
        assert_eq!(table["TBW102"].perm, 7);
        assert_eq!(table["BenchmarkTest"].read_queue_nums, 1024);

        // Our text differs from Java's only in the order of the topic map, so every topic
        // object and the version object appear in Java's bytes verbatim.
        let original = String::from_utf8(body.into_vec()).unwrap();
        let ours = registration.to_json();
        assert_eq!(ours.len(), original.len());
        assert!(original.contains(r#""dataVersion":{"counter":2,"timestamp":1795279615335}"#));
        assert!(ours.starts_with(r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":2,"timestamp":1795279615335},"topicConfigTable":{"#));
        for (name, config) in table {
            let mut w = JsonWriter::new(false);
            w.key(name);
            config.write(&mut w);
            let entry = w.finish();
            assert!(original.contains(&entry), "{entry}");
        }
        assert_eq!(
            RegisterBrokerBody::from_json(ours.as_bytes()).unwrap(),
            registration
        );
    }

    #[test]
    fn missing_fields_take_java_defaults_and_5x_extras_are_kept_or_ignored() {
        let body = br#"{"dataVersion":{"counter":1,"stateVersion":3,"timestamp":5},"topicConfigTable":{"T":{"topicName":"T","attributes":{"+message.type":"NORMAL"}}},"topicQueueMappingInfoMap":{}}"#;
        let wrapper = TopicConfigSerializeWrapper::from_json(body).unwrap();
        assert_eq!(wrapper.data_version.state_version, Some(3));
        let config = &wrapper.topic_config_table["T"];
        let expected = TopicConfig {
            attributes: Some(
                [("+message.type".to_string(), "NORMAL".to_string())]
                    .into_iter()
                    .collect(),
            ),
            ..TopicConfig::new("T")
        };
        assert_eq!(config, &expected);
        assert_eq!(
            wrapper.to_json(),
            r#"{"dataVersion":{"counter":1,"stateVersion":3,"timestamp":5},"topicConfigTable":{"T":{"attributes":{"+message.type":"NORMAL"},"order":false,"perm":6,"readQueueNums":16,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":16}}}"#
        );
        let err =
            TopicConfigSerializeWrapper::from_json(br#"{"topicConfigTable":{"T":{"perm":6}}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("topicName"), "{err}");
        let err = TopicConfigSerializeWrapper::from_json(
            br#"{"topicConfigTable":{"T":{"topicName":"T","topicFilterType":"ODD"}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("TopicFilterType"), "{err}");
    }
}
