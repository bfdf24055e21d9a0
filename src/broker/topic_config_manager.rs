//! `TopicConfigManager`: the broker's topics, persisted in `config/topics.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;

use super::persist::{read_if_exists, write_atomically};
use crate::common::clock::now_millis;
use crate::common::sync::RwLockExt;
use crate::protocol::body::{perm_name, DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::protocol::message::reply_topic;

/// The topic producers send to when theirs has no route yet (`AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub(super) const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// The broker self-test topic Java creates.
pub(super) const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub(super) use crate::protocol::mix_all::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};

/// Where transactional half messages wait (`RMQ_SYS_TRANS_HALF_TOPIC`).
pub(super) const RMQ_SYS_TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where the ends of transactions are recorded (`RMQ_SYS_TRANS_OP_HALF_TOPIC`).
pub(super) const RMQ_SYS_TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Where half messages checked too often go (`RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC`).
pub(super) const RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Where consumers' offset-moved events would go (`RMQ_SYS_OFFSET_MOVED_EVENT`).
pub(super) const RMQ_SYS_OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";

/// Whether producers may not send to `topic` (`TopicValidator.isNotAllowedSendTopic`): the
/// broker's own bookkeeping topics.
pub(super) fn is_not_allowed_send_topic(topic: &str) -> bool {
    [
        super::schedule_message_service::SCHEDULE_TOPIC,
        RMQ_SYS_TRANS_HALF_TOPIC,
        RMQ_SYS_TRANS_OP_HALF_TOPIC,
        RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
        SELF_TEST_TOPIC,
        RMQ_SYS_OFFSET_MOVED_EVENT,
    ]
    .contains(&topic)
}

/// Whether `topic` is one of the broker's own (`TopicValidator.isSystemTopic`): the fixed
/// set, the cluster's and broker's names, the reply topic, and `rmq_sys_*`.
pub(super) fn is_system_topic(topic: &str, cluster_name: &str, broker_name: &str) -> bool {
    [
        AUTO_CREATE_TOPIC_KEY_TOPIC,
        super::schedule_message_service::SCHEDULE_TOPIC,
        "BenchmarkTest",
        RMQ_SYS_TRANS_HALF_TOPIC,
        "RMQ_SYS_TRACE_TOPIC",
        RMQ_SYS_TRANS_OP_HALF_TOPIC,
        RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
        SELF_TEST_TOPIC,
        RMQ_SYS_OFFSET_MOVED_EVENT,
        cluster_name,
        broker_name,
    ]
    .contains(&topic)
        || topic == reply_topic(cluster_name)
        || topic.starts_with("rmq_sys_")
}

/// Why a topic name is refused (`TopicValidator.validateTopic` on the broker side).
pub(super) fn validate_topic_name(topic: &str) -> Result<(), String> {
    if topic.trim().is_empty() {
        return Err("The specified topic is blank.".into());
    }
    if topic.len() > 127 {
        return Err(format!(
            "The specified topic is longer than topic max length 127: {topic}"
        ));
    }
    if !topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '%' || c == '|' || c == '_' || c == '-')
    {
        return Err(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

/// The broker's topic table and its data version; mirrors Java's `TopicConfigManager`.
pub(crate) struct TopicConfigManager {
    path: PathBuf,
    state: RwLock<State>,
}

struct State {
    topics: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
}

impl TopicConfigManager {
    /// Loads `config/topics.json` under `store_dir` and adds the system topics Java creates.
    pub(crate) fn load(
        store_dir: &std::path::Path,
        broker_name: &str,
        cluster_name: &str,
        auto_create: bool,
        default_queue_nums: i32,
    ) -> std::io::Result<Self> {
        let path = store_dir.join("config").join("topics.json");
        let mut topics = BTreeMap::new();
        let mut data_version = DataVersion {
            state_version: None,
            timestamp: now_millis(),
            counter: 0,
        };
        if let Some(bytes) = read_if_exists(&path)? {
            let wrapper = TopicConfigSerializeWrapper::from_json(&bytes).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{path:?}: {e}"))
            })?;
            topics = wrapper.topic_config_table;
            data_version = wrapper.data_version;
        }
        let rw = perm_name::PERM_READ | perm_name::PERM_WRITE;
        let mut system = vec![
            TopicConfig {
                read_queue_nums: 1,
                write_queue_nums: 1,
                perm: rw,
                ..TopicConfig::new(SELF_TEST_TOPIC)
            },
            // Java's clusterTopicEnable / brokerTopicEnable: a topic named after each.
            TopicConfig {
                read_queue_nums: 16,
                write_queue_nums: 16,
                perm: rw | perm_name::PERM_INHERIT,
                ..TopicConfig::new(cluster_name)
            },
            TopicConfig {
                read_queue_nums: 1,
                write_queue_nums: 1,
                perm: rw | perm_name::PERM_INHERIT,
                ..TopicConfig::new(broker_name)
            },
        ];
        // Replies to requests go through this topic (`MixAll.getReplyTopic`).
        system.push(TopicConfig {
            read_queue_nums: 1,
            write_queue_nums: 1,
            perm: rw,
            ..TopicConfig::new(reply_topic(cluster_name))
        });
        if auto_create {
            system.push(TopicConfig {
                read_queue_nums: default_queue_nums,
                write_queue_nums: default_queue_nums,
                perm: rw | perm_name::PERM_INHERIT,
                ..TopicConfig::new(AUTO_CREATE_TOPIC_KEY_TOPIC)
            });
        }
        for topic in system {
            topics.insert(topic.topic_name.clone(), topic);
        }
        Ok(TopicConfigManager {
            path,
            state: RwLock::new(State {
                topics,
                data_version,
            }),
        })
    }

    /// Adds the message trace topic (`traceTopicEnable`): one queue, read and write, as
    /// Java's `TopicConfigManager` makes it at start; kept if it exists.
    pub(crate) fn add_trace_topic(&self, topic: &str) {
        let mut state = self.write();
        if !state.topics.contains_key(topic) {
            let config = TopicConfig {
                read_queue_nums: 1,
                write_queue_nums: 1,
                perm: perm_name::PERM_READ | perm_name::PERM_WRITE,
                ..TopicConfig::new(topic)
            };
            state.topics.insert(topic.to_string(), config);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read_unpoisoned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write_unpoisoned()
    }

    /// The config of `topic`.
    pub(crate) fn select_topic_config(&self, topic: &str) -> Option<TopicConfig> {
        self.read().topics.get(topic).cloned()
    }

    /// Adds or replaces a topic, bumps the data version and persists.
    pub(crate) fn update_topic_config(&self, config: TopicConfig) -> std::io::Result<()> {
        let mut state = self.write();
        state.topics.insert(config.topic_name.clone(), config);
        state.data_version = DataVersion {
            state_version: None,
            timestamp: now_millis(),
            counter: state.data_version.counter + 1,
        };
        self.persist_locked(&state)
    }

    /// `createTopicInSendMessageMethod`: creates `topic` from `default_topic` when that topic
    /// lets others inherit it. Returns the new config and whether it was created now.
    pub(crate) fn create_topic_in_send_message_method(
        &self,
        topic: &str,
        default_topic: &str,
        queue_nums: i32,
        topic_sys_flag: i32,
    ) -> std::io::Result<Option<(TopicConfig, bool)>> {
        let mut state = self.write();
        if let Some(existing) = state.topics.get(topic) {
            return Ok(Some((existing.clone(), false)));
        }
        let Some(template) = state.topics.get(default_topic).cloned() else {
            return Ok(None);
        };
        if template.perm & perm_name::PERM_INHERIT == 0 {
            return Ok(None);
        }
        let queues = queue_nums.clamp(1, template.write_queue_nums.max(1));
        let config = TopicConfig {
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: template.perm & !perm_name::PERM_INHERIT,
            topic_sys_flag,
            ..TopicConfig::new(topic)
        };
        state.topics.insert(topic.to_string(), config.clone());
        state.data_version = DataVersion {
            state_version: None,
            timestamp: now_millis(),
            counter: state.data_version.counter + 1,
        };
        self.persist_locked(&state)?;
        Ok(Some((config, true)))
    }

    /// `createTopicInSendMessageBackMethod`: a retry or dead-letter topic with `queue_nums`
    /// queues. Returns the config and whether it was created now.
    pub(crate) fn create_topic_if_absent(
        &self,
        topic: &str,
        queue_nums: i32,
        perm: i32,
    ) -> std::io::Result<(TopicConfig, bool)> {
        if let Some(existing) = self.select_topic_config(topic) {
            return Ok((existing, false));
        }
        let config = TopicConfig {
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm,
            ..TopicConfig::new(topic)
        };
        let mut state = self.write();
        if let Some(existing) = state.topics.get(topic) {
            return Ok((existing.clone(), false));
        }
        state.topics.insert(topic.to_string(), config.clone());
        state.data_version = DataVersion {
            state_version: None,
            timestamp: now_millis(),
            counter: state.data_version.counter + 1,
        };
        self.persist_locked(&state)?;
        Ok((config, true))
    }

    /// Removes a topic's config (`deleteTopicConfig`); false when there was none.
    pub(crate) fn delete_topic_config(&self, topic: &str) -> std::io::Result<bool> {
        let mut state = self.write();
        if state.topics.remove(topic).is_none() {
            return Ok(false);
        }
        state.data_version = DataVersion {
            state_version: None,
            timestamp: now_millis(),
            counter: state.data_version.counter + 1,
        };
        self.persist_locked(&state)?;
        Ok(true)
    }

    /// Everything, as REGISTER_BROKER sends it.
    pub(crate) fn serialize_wrapper(&self) -> TopicConfigSerializeWrapper {
        let state = self.read();
        TopicConfigSerializeWrapper {
            topic_config_table: state.topics.clone(),
            data_version: state.data_version,
        }
    }

    fn persist_locked(&self, state: &State) -> std::io::Result<()> {
        let wrapper = TopicConfigSerializeWrapper {
            topic_config_table: state.topics.clone(),
            data_version: state.data_version,
        };
        write_atomically(&self.path, &wrapper.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rmq-topics-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn auto_create_inherits_from_tbw102_and_persists() {
        let dir = temp_dir("auto");
        let m = TopicConfigManager::load(&dir, "broker-a", "DefaultCluster", true, 8).unwrap();
        let (created, new) = m
            .create_topic_in_send_message_method("T1", "TBW102", 4, 0)
            .unwrap()
            .unwrap();
        assert!(new);
        assert_eq!((created.read_queue_nums, created.write_queue_nums), (4, 4));
        assert_eq!(created.perm & perm_name::PERM_INHERIT, 0);
        assert!(m
            .create_topic_in_send_message_method("T1", "TBW102", 4, 0)
            .unwrap()
            .is_some_and(|(_, new)| !new));
        assert!(m
            .create_topic_in_send_message_method("T2", "NoSuchDefault", 4, 0)
            .unwrap()
            .is_none());
        drop(m);
        let reloaded =
            TopicConfigManager::load(&dir, "broker-a", "DefaultCluster", true, 8).unwrap();
        assert_eq!(
            reloaded
                .select_topic_config("T1")
                .map(|t| t.write_queue_nums),
            Some(4)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_auto_create_without_tbw102() {
        let dir = temp_dir("noauto");
        let m = TopicConfigManager::load(&dir, "broker-a", "DefaultCluster", false, 8).unwrap();
        assert!(m.select_topic_config("TBW102").is_none());
        assert!(m
            .create_topic_in_send_message_method("T1", "TBW102", 4, 0)
            .unwrap()
            .is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_trace_topic_has_one_queue_and_an_existing_one_is_kept() {
        let dir = temp_dir("trace");
        let m = TopicConfigManager::load(&dir, "broker-a", "DefaultCluster", true, 8).unwrap();
        m.add_trace_topic("RMQ_SYS_TRACE_TOPIC");
        let trace = m.select_topic_config("RMQ_SYS_TRACE_TOPIC").unwrap();
        assert_eq!((trace.read_queue_nums, trace.write_queue_nums), (1, 1));
        assert_eq!(trace.perm, perm_name::PERM_READ | perm_name::PERM_WRITE);
        m.update_topic_config(TopicConfig {
            read_queue_nums: 4,
            write_queue_nums: 4,
            ..TopicConfig::new("OpsTrace")
        })
        .unwrap();
        m.add_trace_topic("OpsTrace");
        assert_eq!(
            m.select_topic_config("OpsTrace")
                .map(|t| t.write_queue_nums),
            Some(4)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn topic_names_are_validated() {
        assert!(validate_topic_name("Topic_1-%|").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("bad topic").is_err());
        assert!(validate_topic_name(&"x".repeat(128)).is_err());
    }
}
