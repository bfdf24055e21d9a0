//! `SubscriptionGroupManager`: how each consumer group may consume, persisted in
//! `config/subscriptionGroup.json` (Java's file and layout).
//!
//! A group gets Java's default config the first time one of its consumers heartbeats or
//! pulls (`autoCreateSubscriptionGroup`); UPDATE_AND_CREATE_SUBSCRIPTIONGROUP replaces a
//! group's config and DELETE_SUBSCRIPTIONGROUP removes it. Enforced as Java does: pulls of a
//! group with `consumeEnable` false are refused (NO_PERMISSION), a broadcasting group needs
//! `consumeBroadcastEnable`, and `retryMaxTimes` decides when a message goes to the dead-letter
//! topic unless the consumer sends its own `maxReconsumeTimes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use super::persist::{read_if_exists, write_atomically};
use crate::common::clock::now_millis;
use crate::common::sync::RwLockExt;
use crate::protocol::body::{DataVersion, SubscriptionGroupConfig, SubscriptionGroupWrapper};

/// The groups every Java broker has (`SubscriptionGroupManager.init`).
/// Java's `MixAll.DEFAULT_MAX_RECONSUME_TIMES`.
const DEFAULT_MAX_RECONSUME_TIMES: i32 = 16;

const BUILT_IN_GROUPS: [&str; 7] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
];

/// Subscription group configs by group name.
pub struct SubscriptionGroupManager {
    path: PathBuf,
    state: RwLock<SubscriptionGroupWrapper>,
}

fn next_version(version: &DataVersion) -> DataVersion {
    DataVersion {
        state_version: version.state_version,
        timestamp: now_millis(),
        counter: version.counter + 1,
    }
}

impl SubscriptionGroupManager {
    /// Loads `config/subscriptionGroup.json` under `store_dir`, with the built-in groups.
    pub fn load(store_dir: &Path) -> std::io::Result<Self> {
        let path = store_dir.join("config").join("subscriptionGroup.json");
        let mut wrapper = match read_if_exists(&path)? {
            Some(bytes) => SubscriptionGroupWrapper::from_json(&bytes).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{path:?}: {e}"))
            })?,
            None => SubscriptionGroupWrapper {
                data_version: DataVersion {
                    state_version: None,
                    timestamp: now_millis(),
                    counter: 0,
                },
                ..SubscriptionGroupWrapper::default()
            },
        };
        for group in BUILT_IN_GROUPS {
            wrapper
                .subscription_group_table
                .entry(group.to_string())
                .or_insert_with(|| SubscriptionGroupConfig::new(group));
        }
        Ok(SubscriptionGroupManager {
            path,
            state: RwLock::new(wrapper),
        })
    }

    /// A group's config (`findSubscriptionGroupConfig`), created with the defaults when
    /// absent and `auto_create`.
    pub fn find_or_create(
        &self,
        group: &str,
        auto_create: bool,
    ) -> std::io::Result<Option<SubscriptionGroupConfig>> {
        if let Some(config) = self.get(group) {
            return Ok(Some(config));
        }
        if !auto_create {
            return Ok(None);
        }
        let config = SubscriptionGroupConfig::new(group);
        let mut state = self.state.write_unpoisoned();
        if let Some(existing) = state.subscription_group_table.get(group) {
            return Ok(Some(existing.clone()));
        }
        state
            .subscription_group_table
            .insert(group.to_string(), config.clone());
        state.data_version = next_version(&state.data_version);
        write_atomically(&self.path, &state.to_json())?;
        log::info!("subscription group {group} created with the default config");
        Ok(Some(config))
    }

    /// A group's config.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.state
            .read_unpoisoned()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// How many times a message of `group` is consumed again before it goes to the
    /// dead-letter topic: its config's `retryMaxTimes`, or Java's default (16) for a group
    /// without one.
    pub(crate) fn retry_max_times(&self, group: &str) -> i32 {
        self.state
            .read_unpoisoned()
            .subscription_group_table
            .get(group)
            .map_or(DEFAULT_MAX_RECONSUME_TIMES, |g| g.retry_max_times)
    }

    /// Replaces (or creates) a group's config (`updateSubscriptionGroupConfig`).
    pub fn update(&self, config: SubscriptionGroupConfig) -> std::io::Result<()> {
        let mut state = self.state.write_unpoisoned();
        state
            .subscription_group_table
            .insert(config.group_name.clone(), config);
        state.data_version = next_version(&state.data_version);
        write_atomically(&self.path, &state.to_json())
    }

    /// Removes a group's config (`deleteSubscriptionGroupConfig`); false when it had none.
    pub fn delete(&self, group: &str) -> std::io::Result<bool> {
        let mut state = self.state.write_unpoisoned();
        if state.subscription_group_table.remove(group).is_none() {
            return Ok(false);
        }
        state.data_version = next_version(&state.data_version);
        write_atomically(&self.path, &state.to_json())?;
        Ok(true)
    }

    /// Every config with the version (GET_ALL_SUBSCRIPTIONGROUP_CONFIG).
    pub fn wrapper(&self) -> SubscriptionGroupWrapper {
        self.state.read_unpoisoned().clone()
    }

    /// The group names, sorted.
    pub fn groups(&self) -> Vec<String> {
        let state = self.state.read_unpoisoned();
        let groups: BTreeMap<&String, ()> = state
            .subscription_group_table
            .keys()
            .map(|k| (k, ()))
            .collect();
        groups.into_keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::temp_dir::TempDir;

    #[test]
    fn groups_are_created_updated_deleted_and_survive_a_reload() {
        let dir = TempDir::new("subgroups").unwrap();
        let m = SubscriptionGroupManager::load(dir.path()).unwrap();
        assert!(m.get("TOOLS_CONSUMER").is_some(), "built-in");
        assert_eq!(m.find_or_create("G", false).unwrap(), None);
        let created = m.find_or_create("G", true).unwrap().unwrap();
        assert_eq!(created, SubscriptionGroupConfig::new("G"));
        let version = m.wrapper().data_version.counter;
        m.update(SubscriptionGroupConfig {
            retry_max_times: 3,
            ..SubscriptionGroupConfig::new("H")
        })
        .unwrap();
        assert!(m.wrapper().data_version.counter > version);
        let reloaded = SubscriptionGroupManager::load(dir.path()).unwrap();
        assert_eq!(reloaded.get("H").unwrap().retry_max_times, 3);
        assert!(reloaded.get("G").is_some());
        assert!(reloaded.delete("G").unwrap());
        assert!(!reloaded.delete("G").unwrap());
        assert!(SubscriptionGroupManager::load(dir.path())
            .unwrap()
            .get("G")
            .is_none());
    }
}
