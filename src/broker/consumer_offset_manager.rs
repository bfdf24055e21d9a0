//! `ConsumerOffsetManager`: committed consumer offsets, persisted in `config/consumerOffset.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use super::persist::{read_if_exists, write_atomically};

use crate::common::sync::RwLockExt;

/// The file's shape: Java's `{"offsetTable":{"topic@group":{queueId:offset}}}`, with quoted keys.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OffsetFile {
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// Offsets committed by consumer groups, by `topic@group` and queue; mirrors Java's
/// `ConsumerOffsetManager`. Writes go to memory; [`ConsumerOffsetManager::persist`] writes
/// the file when something changed.
pub(crate) struct ConsumerOffsetManager {
    path: PathBuf,
    table: RwLock<BTreeMap<String, BTreeMap<i32, i64>>>,
    dirty: AtomicBool,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl ConsumerOffsetManager {
    /// Loads `config/consumerOffset.json` under `store_dir`.
    pub(crate) fn load(store_dir: &Path) -> std::io::Result<Self> {
        let path = store_dir.join("config").join("consumerOffset.json");
        let table = match read_if_exists(&path)? {
            Some(bytes) => {
                serde_json::from_slice::<OffsetFile>(&bytes)
                    .map_err(|e| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("{path:?}: {e}"),
                        )
                    })?
                    .offset_table
            }
            None => BTreeMap::new(),
        };
        Ok(ConsumerOffsetManager {
            path,
            table: RwLock::new(table),
            dirty: AtomicBool::new(false),
        })
    }

    /// `commitOffset`: records `offset` as the next message `group` will consume.
    pub(crate) fn commit_offset(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let mut table = self.table.write_unpoisoned();
        let previous = table
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        if previous != Some(offset) {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// `queryOffset`: the committed offset, or None when the group never committed one.
    pub(crate) fn query_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.table
            .read_unpoisoned()
            .get(&key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    /// The topics `group` has offsets for (`whichTopicByConsumer`).
    pub(crate) fn topics_of_group(&self, group: &str) -> Vec<String> {
        self.table
            .read_unpoisoned()
            .keys()
            .filter_map(|k| k.split_once('@'))
            .filter(|(_, g)| *g == group)
            .map(|(topic, _)| topic.to_string())
            .collect()
    }

    /// The groups that have offsets for `topic` (`whichGroupByTopic`).
    pub(crate) fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        self.table
            .read_unpoisoned()
            .keys()
            .filter_map(|k| k.split_once('@'))
            .filter(|(t, _)| *t == topic)
            .map(|(_, group)| group.to_string())
            .collect()
    }

    /// Forgets every offset of `group` (`removeOffset`, DELETE_SUBSCRIPTIONGROUP).
    pub(crate) fn remove_group(&self, group: &str) {
        let mut table = self.table.write_unpoisoned();
        let before = table.len();
        table.retain(|k, _| k.split_once('@').is_none_or(|(_, g)| g != group));
        if table.len() != before {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Writes the file if anything changed since the last write.
    pub(crate) fn persist(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let file = OffsetFile {
            offset_table: self.table.read_unpoisoned().clone(),
        };
        let json = serde_json::to_string(&file).map_err(std::io::Error::other)?;
        write_atomically(&self.path, &json)
            .inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_survive_a_reload() {
        let dir = std::env::temp_dir().join(format!("rmq-offsets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let m = ConsumerOffsetManager::load(&dir).unwrap();
        assert_eq!(m.query_offset("G", "T", 0), None);
        m.commit_offset("G", "T", 0, 42);
        m.commit_offset("G", "T", 3, 7);
        m.persist().unwrap();
        let reloaded = ConsumerOffsetManager::load(&dir).unwrap();
        assert_eq!(reloaded.query_offset("G", "T", 0), Some(42));
        assert_eq!(reloaded.query_offset("G", "T", 3), Some(7));
        assert_eq!(reloaded.query_offset("Other", "T", 0), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
