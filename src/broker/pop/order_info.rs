//! `ConsumerOrderInfoManager`: orderly pops. One batch of a queue is out at a time: the queue
//! is blocked for the group until every message of the batch is acked or its invisible time
//! passes, and then the next pop reads again from the group's offset, which only acks move.
//! Each message's delivery count is kept so the client can tell its reconsume times
//! (`orderCountInfo`). Kept in `config/consumerOrderInfo.json` (Java's file and field names).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::broker::persist::{read_if_exists, write_atomically};
use crate::common::sync::MutexExt;
use crate::protocol::header::{append_order_count_info, append_queue_offset_order_count_info};

/// What a queue's last orderly pop handed out; mirrors Java's `OrderInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderInfo {
    #[serde(rename = "popTime")]
    pop_time: i64,
    #[serde(rename = "i", default)]
    invisible_time: Option<i64>,
    /// The first message's queue offset, then each other's distance from it.
    #[serde(rename = "o")]
    offset_list: Vec<i64>,
    /// Per queue offset: when it becomes visible again, if an invisibility change moved it.
    #[serde(rename = "ot", default, skip_serializing_if = "Option::is_none")]
    offset_next_visible_time: Option<BTreeMap<i64, i64>>,
    /// Per queue offset: how often it was handed out before (only counts above 0).
    #[serde(rename = "oc", default, skip_serializing_if = "Option::is_none")]
    offset_consumed_count: Option<BTreeMap<i64, i32>>,
    #[serde(rename = "l")]
    last_consume_timestamp: i64,
    /// Bit i: message i is acked.
    #[serde(rename = "cm")]
    commit_offset_bit: u64,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    attempt_id: Option<String>,
}

impl OrderInfo {
    fn new(
        attempt_id: Option<&str>,
        pop_time: i64,
        invisible_time: i64,
        offsets: &[i64],
        now: i64,
    ) -> Self {
        let first = offsets.first().copied().unwrap_or_default();
        let offset_list = offsets
            .iter()
            .enumerate()
            .map(|(i, o)| if i == 0 { *o } else { o - first })
            .collect();
        OrderInfo {
            pop_time,
            invisible_time: Some(invisible_time),
            offset_list,
            offset_next_visible_time: None,
            offset_consumed_count: None,
            last_consume_timestamp: now,
            commit_offset_bit: 0,
            attempt_id: attempt_id.map(str::to_string),
        }
    }

    fn len(&self) -> usize {
        self.offset_list.len().min(64)
    }

    fn queue_offset(&self, index: usize) -> i64 {
        let first = self.offset_list[0];
        if index == 0 {
            first
        } else {
            first + self.offset_list[index]
        }
    }

    fn is_acked(&self, index: usize) -> bool {
        self.commit_offset_bit & (1 << index) != 0
    }

    /// When message `index` is visible again.
    fn next_visible_time(&self, index: usize, current_invisible_time: i64) -> i64 {
        let invisible = self
            .invisible_time
            .filter(|i| *i > 0)
            .unwrap_or(current_invisible_time);
        self.offset_next_visible_time
            .as_ref()
            .and_then(|times| times.get(&self.queue_offset(index)).copied())
            .unwrap_or_else(|| self.pop_time.saturating_add(invisible))
    }

    /// When the queue is free again: the first un-acked message's visibility, None when
    /// every message is acked (`getLockFreeTimestamp`).
    fn lock_free_time(&self, current_invisible_time: i64) -> Option<i64> {
        (0..self.len())
            .find(|i| !self.is_acked(*i))
            .map(|i| self.next_visible_time(i, current_invisible_time))
    }

    /// Whether the queue is blocked for a pop of `attempt_id` (`needBlock`): an un-acked
    /// message still invisible, unless the same attempt asks again.
    fn need_block(&self, attempt_id: Option<&str>, current_invisible_time: i64, now: i64) -> bool {
        if self.offset_list.is_empty() {
            return false;
        }
        if self.attempt_id.is_some() && self.attempt_id.as_deref() == attempt_id {
            return false;
        }
        (0..self.len())
            .any(|i| !self.is_acked(i) && now < self.next_visible_time(i, current_invisible_time))
    }

    /// The group's offset after the acks so far: the first un-acked message, or past the last
    /// (`getNextOffset`).
    fn next_offset(&self) -> i64 {
        match (0..self.len()).find(|i| !self.is_acked(*i)) {
            Some(i) => self.queue_offset(i),
            None => self.queue_offset(self.len() - 1) + 1,
        }
    }

    /// Counts deliveries: a message handed out by the previous pop too is one more time
    /// (`mergeOffsetConsumedCount`); the same attempt keeps the counts.
    fn merge_consumed_count(&mut self, previous: &OrderInfo) {
        if previous.attempt_id.is_some() && previous.attempt_id == self.attempt_id {
            self.offset_consumed_count = previous.offset_consumed_count.clone();
            return;
        }
        let before: Vec<i64> = (0..previous.len())
            .map(|i| previous.queue_offset(i))
            .collect();
        let counts: BTreeMap<i64, i32> = (0..self.len())
            .map(|i| self.queue_offset(i))
            .filter(|o| before.contains(o))
            .map(|o| {
                let previous_count = previous
                    .offset_consumed_count
                    .as_ref()
                    .and_then(|c| c.get(&o).copied())
                    .unwrap_or(0);
                (o, previous_count + 1)
            })
            .collect();
        self.offset_consumed_count = Some(counts);
    }
}

/// What an orderly ack does to the group's offset (`commitAndNext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderCommit {
    /// The offset moves here.
    Next(i64),
    /// The ack is of an older pop of the queue: nothing to do.
    Stale,
    /// The offset is not one the queue's last pop handed out.
    Illegal,
}

#[derive(Default, Serialize, Deserialize)]
struct OrderFile {
    #[serde(default)]
    table: OrderTable,
}

/// Orderly pops by `topic@group` and queue; mirrors Java's `ConsumerOrderInfoManager`.
pub(crate) struct ConsumerOrderInfoManager {
    path: PathBuf,
    table: Mutex<OrderTable>,
}

type OrderTable = BTreeMap<String, BTreeMap<i32, OrderInfo>>;

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// The record of a queue's last orderly pop for a group.
fn info<'a>(
    table: &'a OrderTable,
    topic: &str,
    group: &str,
    queue_id: i32,
) -> Option<&'a OrderInfo> {
    table.get(&key(topic, group))?.get(&queue_id)
}

fn info_mut<'a>(
    table: &'a mut OrderTable,
    topic: &str,
    group: &str,
    queue_id: i32,
) -> Option<&'a mut OrderInfo> {
    table.get_mut(&key(topic, group))?.get_mut(&queue_id)
}

impl ConsumerOrderInfoManager {
    /// Loads `config/consumerOrderInfo.json` under `store_dir` (empty when absent).
    pub(crate) fn load(store_dir: &Path) -> std::io::Result<Self> {
        let path = store_dir.join("config").join("consumerOrderInfo.json");
        let table = match read_if_exists(&path)? {
            Some(bytes) => {
                // fastjson writes integer map keys bare.
                let text =
                    crate::protocol::body::json_quote_bare_keys(&String::from_utf8_lossy(&bytes))
                        .map_err(std::io::Error::other)?;
                serde_json::from_str::<OrderFile>(&text)
                    .map_err(|e| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("{path:?}: {e}"),
                        )
                    })?
                    .table
            }
            None => BTreeMap::new(),
        };
        Ok(ConsumerOrderInfoManager {
            path,
            table: Mutex::new(table),
        })
    }

    fn persist(&self, table: &OrderTable) {
        let file = OrderFile {
            table: table.clone(),
        };
        let written = serde_json::to_string(&file)
            .map_err(std::io::Error::other)
            .and_then(|json| write_atomically(&self.path, &json));
        // Losing it only unblocks queues early (a batch redelivered): the offsets, which
        // only acks move, are what keeps messages.
        if let Err(e) = written {
            log::error!("persisting {} failed: {e}", self.path.display());
        }
    }

    /// Records what an orderly pop handed out of a queue and appends each message's
    /// delivery count, and the queue's least, to `order_count_info` (`update`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update(
        &self,
        attempt_id: Option<&str>,
        topic: &str,
        group: &str,
        queue_id: i32,
        pop_time: i64,
        invisible_time: i64,
        offsets: &[i64],
        now: i64,
        order_count_info: &mut String,
    ) {
        let mut table = self.table.lock_unpoisoned();
        let queues = table.entry(key(topic, group)).or_default();
        let mut info = OrderInfo::new(attempt_id, pop_time, invisible_time, offsets, now);
        if let Some(previous) = queues.get(&queue_id) {
            info.merge_consumed_count(previous);
        }
        let counts = info.offset_consumed_count.clone().unwrap_or_default();
        for (offset, count) in &counts {
            append_queue_offset_order_count_info(
                order_count_info,
                topic,
                queue_id,
                *offset,
                *count,
            );
        }
        // Old clients read one count per queue: the least (0 when a message is new).
        let least = if counts.len() == info.len() {
            counts.values().copied().min().unwrap_or(0)
        } else {
            0
        };
        append_order_count_info(order_count_info, topic, queue_id, least);
        queues.insert(queue_id, info);
        self.persist(&table);
    }

    /// Whether a pop of `attempt_id` must skip the queue now (`checkBlock`).
    pub(crate) fn check_block(
        &self,
        attempt_id: Option<&str>,
        topic: &str,
        group: &str,
        queue_id: i32,
        invisible_time: i64,
        now: i64,
    ) -> bool {
        info(&self.table.lock_unpoisoned(), topic, group, queue_id)
            .is_some_and(|info| info.need_block(attempt_id, invisible_time, now))
    }

    /// When a blocked queue frees up, if it is blocked.
    pub(crate) fn lock_free_time(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        invisible_time: i64,
    ) -> Option<i64> {
        info(&self.table.lock_unpoisoned(), topic, group, queue_id)
            .and_then(|info| info.lock_free_time(invisible_time))
    }

    /// Marks the message at `offset` of the pop at `pop_time` acked; says where the group's
    /// offset moves (`commitAndNext`).
    pub(crate) fn commit_and_next(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
        pop_time: i64,
    ) -> OrderCommit {
        let mut table = self.table.lock_unpoisoned();
        let Some(info) = info_mut(&mut table, topic, group, queue_id) else {
            return OrderCommit::Next(offset + 1);
        };
        if info.offset_list.is_empty() {
            return OrderCommit::Illegal;
        }
        if info.pop_time != pop_time {
            return OrderCommit::Stale;
        }
        let Some(index) = (0..info.len()).find(|i| info.queue_offset(*i) == offset) else {
            return OrderCommit::Illegal;
        };
        info.commit_offset_bit |= 1 << index;
        let next = info.next_offset();
        self.persist(&table);
        OrderCommit::Next(next)
    }

    /// Moves when the message at `offset` becomes visible again (`updateNextVisibleTime`);
    /// false when the queue's last pop is not `pop_time`'s.
    pub(crate) fn update_next_visible_time(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
        pop_time: i64,
        next_visible_time: i64,
    ) -> bool {
        let mut table = self.table.lock_unpoisoned();
        let Some(info) =
            info_mut(&mut table, topic, group, queue_id).filter(|info| info.pop_time == pop_time)
        else {
            return false;
        };
        info.offset_next_visible_time
            .get_or_insert_with(BTreeMap::new)
            .insert(offset, next_visible_time);
        self.persist(&table);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::temp_dir::TempDir;

    #[test]
    fn a_queue_is_blocked_until_acked_or_visible_and_counts_deliveries() {
        let dir = TempDir::new("order-info").unwrap();
        let orders = ConsumerOrderInfoManager::load(dir.path()).unwrap();
        let mut info = String::new();
        orders.update(None, "T", "G", 0, 1000, 500, &[5, 6, 8], 1000, &mut info);
        assert_eq!(info, "0 0 0");
        assert!(orders.check_block(None, "T", "G", 0, 500, 1200));
        assert!(
            !orders.check_block(None, "T", "G", 0, 500, 1500),
            "visible again"
        );
        assert!(
            !orders.check_block(None, "T", "G", 1, 500, 1200),
            "another queue"
        );
        assert_eq!(orders.lock_free_time("T", "G", 0, 500), Some(1500));
        // Acks move the offset to the first un-acked message, then past the last.
        assert_eq!(
            orders.commit_and_next("T", "G", 0, 6, 1000),
            OrderCommit::Next(5)
        );
        assert_eq!(
            orders.commit_and_next("T", "G", 0, 7, 1000),
            OrderCommit::Illegal
        );
        assert_eq!(
            orders.commit_and_next("T", "G", 0, 5, 999),
            OrderCommit::Stale
        );
        assert_eq!(
            orders.commit_and_next("T", "G", 0, 5, 1000),
            OrderCommit::Next(8)
        );
        // An invisibility change of the last one moves the block.
        assert!(orders.update_next_visible_time("T", "G", 0, 8, 1000, 3000));
        assert!(!orders.update_next_visible_time("T", "G", 0, 8, 999, 3000));
        assert!(orders.check_block(None, "T", "G", 0, 500, 2000));
        assert_eq!(orders.lock_free_time("T", "G", 0, 500), Some(3000));
        // Redelivered from 8: counted once more; the new 9 is new (least 0).
        let mut info = String::new();
        orders.update(Some("a1"), "T", "G", 0, 4000, 500, &[8, 9], 4000, &mut info);
        assert_eq!(info, "0 qo0%8 1;0 0 0");
        // The same attempt is not blocked by its own pop; a new one is.
        assert!(!orders.check_block(Some("a1"), "T", "G", 0, 500, 4100));
        assert!(orders.check_block(Some("a2"), "T", "G", 0, 500, 4100));
        assert_eq!(
            orders.commit_and_next("T", "G", 0, 8, 4000),
            OrderCommit::Next(9)
        );
        assert_eq!(
            orders.commit_and_next("T", "G", 0, 9, 4000),
            OrderCommit::Next(10)
        );
        assert!(!orders.check_block(Some("a2"), "T", "G", 0, 500, 4100));
        assert_eq!(orders.lock_free_time("T", "G", 0, 500), None);
        // No record of the queue: the ack moves past its offset.
        assert_eq!(
            orders.commit_and_next("T", "H", 0, 3, 1),
            OrderCommit::Next(4)
        );
        // Kept across a reload.
        let mut info = String::new();
        orders.update(None, "T", "G", 2, 5000, 500, &[1], 5000, &mut info);
        let reloaded = ConsumerOrderInfoManager::load(dir.path()).unwrap();
        assert!(reloaded.check_block(None, "T", "G", 2, 500, 5100));
        assert!(!reloaded.check_block(None, "T", "G", 0, 500, 5100));
    }

    #[test]
    fn reads_javas_bare_integer_keys() {
        let dir = TempDir::new("order-info-java").unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/consumerOrderInfo.json"),
            r#"{"table":{"T@G":{0:{"popTime":1000,"i":500,"o":[5,1],"oc":{5:2},"l":1000,"cm":0,"a":"x"}}}}"#,
        )
        .unwrap();
        let orders = ConsumerOrderInfoManager::load(dir.path()).unwrap();
        assert!(orders.check_block(None, "T", "G", 0, 500, 1200));
        let mut info = String::new();
        orders.update(None, "T", "G", 0, 2000, 500, &[5, 6], 2000, &mut info);
        assert_eq!(info, "0 qo0%5 3;0 qo0%6 1;0 0 1");
    }
}
