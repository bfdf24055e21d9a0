//! Where a consumer keeps its offsets: on the brokers for a clustering group
//! (`RemoteBrokerOffsetStore`), in a local file for a broadcasting one (`LocalFileOffsetStore`).
//!
//! Both keep the offsets in memory as consumption moves them, and write them out every 5 s
//! (the consumer's `rmq-offsets` thread), when a queue is taken away by a rebalance, and at
//! shutdown.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::client::shared::client_instance::{BrokerChoice, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::common::sync::MutexExt;
use crate::protocol::body::ResetOffsetBody;
use crate::protocol::codes::response_code;
use crate::protocol::message::MessageQueue;

/// Where [`OffsetStore::read_offset`] looks; mirrors Java's `ReadOffsetType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadOffsetType {
    /// Memory only.
    Memory,
    /// The brokers (or the file), updating memory.
    Store,
}

/// Offsets are read from and committed to a queue's master, else a slave.
const READ_OFFSETS_FROM: BrokerChoice = BrokerChoice::Prefer(crate::protocol::body::MASTER_ID);

/// No offset is stored for the queue.
pub(crate) const OFFSET_NOT_FOUND: i64 = -1;
/// The store could not be asked (broker unreachable, file unreadable).
pub(crate) const OFFSET_UNKNOWN: i64 = -2;

/// A consumer's offsets; mirrors Java's `OffsetStore`.
pub(crate) trait OffsetStore: Send + Sync {
    /// The offsets in memory, which both stores keep (Java's `offsetTable`).
    fn table(&self) -> &OffsetTable;

    /// Loads what the store keeps (the local file); nothing for the remote store.
    fn load(&self) -> Result<(), ClientError> {
        Ok(())
    }

    /// Sets the offset of `queue` in memory; with `increase_only`, never moves it back.
    fn update_offset(&self, queue: &MessageQueue, offset: i64, increase_only: bool) {
        self.table().update(queue, offset, increase_only);
    }

    /// The offset of `queue`: ≥ 0, or [`OFFSET_NOT_FOUND`], or [`OFFSET_UNKNOWN`].
    fn read_offset(&self, queue: &MessageQueue, kind: ReadOffsetType) -> i64 {
        match kind {
            ReadOffsetType::Memory => self.table().get(queue).unwrap_or(OFFSET_NOT_FOUND),
            ReadOffsetType::Store => self.read_stored(queue),
        }
    }

    /// The offset the store keeps for `queue`, remembered in memory too.
    fn read_stored(&self, queue: &MessageQueue) -> i64;

    /// Writes out the offsets of `queues` (the ones held now) and forgets the others.
    fn persist_all(&self, queues: &[MessageQueue]);

    /// Writes out the offset of one queue (it is being taken away).
    fn persist(&self, queue: &MessageQueue);

    /// Forgets `queue`.
    fn remove_offset(&self, queue: &MessageQueue);

    /// The offsets in memory of `topic`'s queues (`cloneOffsetTable`).
    fn offsets_of(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.table().of_topic(topic)
    }
}

/// The in-memory table both stores keep.
#[derive(Default)]
pub(crate) struct OffsetTable {
    offsets: Mutex<HashMap<MessageQueue, i64>>,
}

impl OffsetTable {
    fn update(&self, queue: &MessageQueue, offset: i64, increase_only: bool) {
        let mut offsets = self.offsets.lock_unpoisoned();
        let entry = offsets.entry(queue.clone()).or_insert(offset);
        if !increase_only || offset > *entry {
            *entry = offset;
        }
    }

    fn get(&self, queue: &MessageQueue) -> Option<i64> {
        self.offsets.lock_unpoisoned().get(queue).copied()
    }

    fn remove(&self, queue: &MessageQueue) {
        self.offsets.lock_unpoisoned().remove(queue);
    }

    fn of_topic(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offsets
            .lock_unpoisoned()
            .iter()
            .filter(|(q, _)| q.topic == topic)
            .map(|(q, o)| (q.clone(), *o))
            .collect()
    }

    fn snapshot(&self) -> BTreeMap<MessageQueue, i64> {
        self.offsets
            .lock_unpoisoned()
            .iter()
            .map(|(q, o)| (q.clone(), *o))
            .collect()
    }
}

/// Offsets on the brokers, for clustering groups; mirrors Java's `RemoteBrokerOffsetStore`.
pub(crate) struct RemoteBrokerOffsetStore {
    instance: Arc<MqClientInstance>,
    group: String,
    table: OffsetTable,
}

/// The offset committed for `queue` (the store asked first, `ReadOffsetType::Store`), None when
/// the group has none yet: the first step of Java's `computePullFromWhere`. `Err` when the
/// store could not tell.
pub(crate) fn committed_offset(
    store: &dyn OffsetStore,
    queue: &MessageQueue,
) -> Result<Option<i64>, ClientError> {
    match store.read_offset(queue, ReadOffsetType::Store) {
        committed if committed >= 0 => Ok(Some(committed)),
        OFFSET_NOT_FOUND => Ok(None),
        _ => Err(ClientError::InvalidResponse {
            addr: queue.broker_name.clone(),
            reason: "the committed offset could not be read".into(),
        }),
    }
}

impl RemoteBrokerOffsetStore {
    pub(crate) fn new(instance: Arc<MqClientInstance>, group: impl Into<String>) -> Self {
        RemoteBrokerOffsetStore {
            instance,
            group: group.into(),
            table: OffsetTable::default(),
        }
    }

    /// The broker `queue`'s offsets are kept on.
    fn broker_of(&self, queue: &MessageQueue) -> Result<String, ClientError> {
        let timeout = self.instance.api_timeout_default();
        let found = self
            .instance
            .find_broker_address(queue, READ_OFFSETS_FROM, timeout)?;
        Ok(found.addr)
    }

    fn update_on_broker(&self, queue: &MessageQueue, offset: i64, oneway: bool) {
        let timeout = self.instance.api_timeout_default();
        let result = self.broker_of(queue).and_then(|addr| {
            let api = self.instance.api();
            api.update_consumer_offset(&addr, &self.group, queue, offset, oneway, timeout)
        });
        if let Err(e) = result {
            log::warn!(
                "committing offset {offset} of {queue} for group {} failed: {e}",
                self.group
            );
        }
    }
}

impl OffsetStore for RemoteBrokerOffsetStore {
    fn table(&self) -> &OffsetTable {
        &self.table
    }

    fn read_stored(&self, queue: &MessageQueue) -> i64 {
        let timeout = self.instance.api_timeout_default();
        let fetched = self.broker_of(queue).and_then(|addr| {
            let api = self.instance.api();
            api.query_consumer_offset(&addr, &self.group, queue, timeout)
        });
        match fetched {
            Ok(offset) => {
                self.table.update(queue, offset, false);
                offset
            }
            // The broker answered: the group has no offset there (QUERY_NOT_FOUND and, as in
            // Java, any other broker code).
            Err(e) if e.response_code().is_some() => {
                if e.response_code() != Some(response_code::QUERY_NOT_FOUND) {
                    log::warn!("offset of {queue} for group {}: {e}", self.group);
                }
                OFFSET_NOT_FOUND
            }
            Err(e) => {
                log::warn!(
                    "cannot read the offset of {queue} for group {}: {e}",
                    self.group
                );
                OFFSET_UNKNOWN
            }
        }
    }

    fn persist_all(&self, queues: &[MessageQueue]) {
        let offsets = self.table.snapshot();
        for (queue, offset) in &offsets {
            if queues.contains(queue) {
                self.update_on_broker(queue, *offset, true);
            } else {
                self.table.remove(queue);
            }
        }
    }

    fn persist(&self, queue: &MessageQueue) {
        if let Some(offset) = self.table.get(queue) {
            // Sync: the queue is about to go to another member, which reads this offset.
            self.update_on_broker(queue, offset, false);
        }
    }

    fn remove_offset(&self, queue: &MessageQueue) {
        self.table.remove(queue);
    }
}

/// Offsets in a local file, for broadcasting consumers (each keeps its own); mirrors Java's
/// `LocalFileOffsetStore`. The file is `<dir>/<client id>/<group>/offsets.json`, written in
/// Java's layout (`{"offsetTable":{{queue}:offset,...}}`) through a temporary file, the
/// previous one kept as `offsets.json.bak`.
pub(crate) struct LocalFileOffsetStore {
    path: PathBuf,
    table: OffsetTable,
    /// One writer at a time.
    writing: Mutex<()>,
}

impl LocalFileOffsetStore {
    /// The store for `group` of client `client_id` under `dir` (Java's
    /// `rocketmq.client.localOffsetStoreDir`, `~/.rocketmq_offsets`).
    pub(crate) fn new(dir: &Path, client_id: &str, group: &str) -> Self {
        LocalFileOffsetStore {
            path: dir.join(client_id).join(group).join("offsets.json"),
            table: OffsetTable::default(),
            writing: Mutex::new(()),
        }
    }

    /// The file the offsets are written to.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn read_file(path: &Path) -> Result<Option<ResetOffsetBody>, ClientError> {
        match fs::read(path) {
            Ok(bytes) => ResetOffsetBody::from_json(&bytes).map(Some).map_err(|e| {
                ClientError::InvalidArgument {
                    name: "local offset file",
                    reason: format!("{}: {e}", path.display()),
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClientError::InvalidArgument {
                name: "local offset file",
                reason: format!("{}: {e}", path.display()),
            }),
        }
    }

    fn write_file(&self) -> std::io::Result<()> {
        let _one_writer = self.writing.lock_unpoisoned();
        let body = ResetOffsetBody {
            offset_table: self.table.snapshot(),
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut file = fs::File::create(&tmp)?;
        file.write_all(body.to_json().as_bytes())?;
        file.sync_all()?;
        drop(file);
        if self.path.exists() {
            fs::copy(&self.path, self.path.with_extension("json.bak"))?;
        }
        fs::rename(&tmp, &self.path)
    }
}

impl OffsetStore for LocalFileOffsetStore {
    fn table(&self) -> &OffsetTable {
        &self.table
    }

    fn load(&self) -> Result<(), ClientError> {
        let found = match Self::read_file(&self.path) {
            Ok(found) => found,
            Err(e) => {
                log::warn!("{e}; trying the backup");
                Self::read_file(&self.path.with_extension("json.bak"))?
            }
        };
        for (queue, offset) in found.map(|b| b.offset_table).unwrap_or_default() {
            self.table.update(&queue, offset, false);
        }
        Ok(())
    }

    fn read_stored(&self, queue: &MessageQueue) -> i64 {
        match Self::read_file(&self.path) {
            Ok(Some(body)) => match body.offset_table.get(queue) {
                Some(&offset) => {
                    self.table.update(queue, offset, false);
                    offset
                }
                None => OFFSET_NOT_FOUND,
            },
            Ok(None) => OFFSET_NOT_FOUND,
            Err(e) => {
                log::warn!("{e}");
                OFFSET_UNKNOWN
            }
        }
    }

    fn persist_all(&self, _queues: &[MessageQueue]) {
        if let Err(e) = self.write_file() {
            log::warn!("writing offsets to {} failed: {e}", self.path.display());
        }
    }

    fn persist(&self, _queue: &MessageQueue) {
        self.persist_all(&[]);
    }

    fn remove_offset(&self, _queue: &MessageQueue) {
        // Broadcasting keeps every queue's offset: each member reads every queue.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_store_survives_a_restart_in_javas_layout() {
        let dir = crate::common::temp_dir::TempDir::new("offsets").unwrap();
        let q0 = MessageQueue::new("T", "b", 0);
        let q1 = MessageQueue::new("T", "b", 1);
        let store = LocalFileOffsetStore::new(dir.path(), "10.0.0.1@1", "G");
        store.update_offset(&q0, 5, false);
        store.update_offset(&q0, 3, true); // increase only: stays 5
        store.update_offset(&q1, 9, false);
        store.persist_all(&[]);
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(
            text.starts_with(r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5"#),
            "{text}"
        );
        let reopened = LocalFileOffsetStore::new(dir.path(), "10.0.0.1@1", "G");
        assert_eq!(
            reopened.read_offset(&q1, ReadOffsetType::Memory),
            OFFSET_NOT_FOUND
        );
        reopened.load().unwrap();
        assert_eq!(reopened.read_offset(&q0, ReadOffsetType::Memory), 5);
        assert_eq!(reopened.read_offset(&q1, ReadOffsetType::Store), 9);
        assert_eq!(reopened.offsets_of("T").len(), 2);
        // A damaged file falls back to the previous copy.
        store.persist_all(&[]);
        fs::write(store.path(), b"{not json").unwrap();
        let recovered = LocalFileOffsetStore::new(dir.path(), "10.0.0.1@1", "G");
        recovered.load().unwrap();
        assert_eq!(recovered.read_offset(&q0, ReadOffsetType::Memory), 5);
    }
}
