//! Delayed delivery: a message with a delay level (sent so, or sent back by a consumer) is
//! stored in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, and copied to its real topic and queue
//! once its delay has passed; mirrors Java's `ScheduleMessageService`.
//!
//! The `rmq-schedule` thread looks at each level's queue every 100 ms: entries of one level
//! are due in the order they were stored (same delay), so it delivers from the level's offset
//! until the first one not yet due. The offsets are saved in `config/delayOffset.json` every
//! 10 s and at shutdown; after a crash a few messages may be delivered twice, none lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use super::persist::{read_if_exists, write_atomically};
use super::store::{GetMessageStatus, MessageStore, PutMessageStatus};
use crate::common::clock::now_millis;
use crate::common::sync::MutexExt;
use crate::protocol::message::message_const::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC,
};
use crate::protocol::message::sys_flag::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use crate::protocol::message::{decode_message, MessageExt};

/// The topic delayed messages wait in (`TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`).
pub(super) const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Java's `messageDelayLevel` default: level 1 is 1 s, level 18 is 2 h.
pub(super) const DEFAULT_MESSAGE_DELAY_LEVEL: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// How often the levels' queues are looked at (`DELAY_FOR_A_WHILE`, 100 ms).
pub(crate) const SCAN_INTERVAL: Duration = Duration::from_millis(100);

/// Messages read from one level's queue per look.
const READ_BATCH: i32 = 32;

/// The delays of levels 1, 2, ...: parsed from Java's `messageDelayLevel` syntax (`1s 5s 1m
/// 2h 1d`; `ms` is accepted too, for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DelayLevels(Vec<i64>);

impl DelayLevels {
    /// Parses `"1s 5s 10s ..."`; an empty or malformed entry is an error naming it.
    pub(super) fn parse(text: &str) -> Result<DelayLevels, String> {
        let mut millis = Vec::new();
        for item in text.split_whitespace() {
            let (number, unit) = if let Some(n) = item.strip_suffix("ms") {
                (n, 1)
            } else {
                let split = item.len().saturating_sub(1);
                let (n, unit) = item.split_at(split);
                let unit = match unit {
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return Err(format!("delay level {item:?} has no unit (s, m, h, d, ms)")),
                };
                (n, unit)
            };
            let n: i64 = number
                .parse()
                .map_err(|_| format!("delay level {item:?} is not a number and a unit"))?;
            millis.push(n * unit);
        }
        if millis.is_empty() {
            return Err("no delay level".into());
        }
        Ok(DelayLevels(millis))
    }

    /// The highest level.
    pub(super) fn max_level(&self) -> i32 {
        self.0.len() as i32
    }

    /// The delay of `level` (1-based), in ms.
    pub(super) fn delay_millis(&self, level: i32) -> i64 {
        let index = (level.clamp(1, self.max_level()) - 1) as usize;
        self.0[index]
    }
}

/// Moves a message with a delay level to the schedule topic (`CommitLog.putMessage`): its
/// real topic and queue are kept in properties, its queue becomes `level - 1` (clamped to the
/// highest level). Transactional half and rollback messages are left alone.
pub(crate) fn schedule_if_delayed(message: &mut MessageExt, levels: &DelayLevels) {
    let tran_type = message.sys_flag & TRANSACTION_ROLLBACK_TYPE;
    if tran_type != TRANSACTION_NOT_TYPE && tran_type != TRANSACTION_COMMIT_TYPE {
        return;
    }
    let level: i32 = message
        .property(PROPERTY_DELAY_TIME_LEVEL)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    if level <= 0 {
        return;
    }
    let level = level.min(levels.max_level());
    message
        .properties
        .insert(PROPERTY_DELAY_TIME_LEVEL, level.to_string());
    message
        .properties
        .insert(PROPERTY_REAL_TOPIC, message.topic.clone());
    message
        .properties
        .insert(PROPERTY_REAL_QUEUE_ID, message.queue_id.to_string());
    message.topic = SCHEDULE_TOPIC.to_string();
    message.queue_id = level - 1;
}

/// The message a due schedule entry becomes (`messageTimeup`): the real topic and queue, no
/// delay level.
fn message_time_up(mut scheduled: MessageExt) -> Option<MessageExt> {
    let topic = scheduled.property(PROPERTY_REAL_TOPIC)?.to_string();
    let queue_id: i32 = scheduled.property(PROPERTY_REAL_QUEUE_ID)?.parse().ok()?;
    scheduled.properties.remove(PROPERTY_DELAY_TIME_LEVEL);
    Some(MessageExt {
        topic,
        queue_id,
        // Fresh positions and time: the store assigns them.
        queue_offset: 0,
        commit_log_offset: 0,
        store_timestamp: 0,
        ..scheduled
    })
}

/// `delayOffset.json` as Java writes it: `{"offsetTable":{1:12,2:0}}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DelayOffsetFile {
    #[serde(default)]
    offset_table: BTreeMap<String, i64>,
}

/// Delivers delayed messages when due.
pub(crate) struct ScheduleMessageService {
    levels: DelayLevels,
    store: Arc<MessageStore>,
    /// Level → the next offset of its queue to look at (`offsetTable`).
    offsets: Mutex<BTreeMap<i32, i64>>,
    path: PathBuf,
}

impl ScheduleMessageService {
    /// The service for `store`, resuming from `<store_dir>/config/delayOffset.json`.
    pub(crate) fn load(
        levels: DelayLevels,
        store: Arc<MessageStore>,
        store_dir: &Path,
    ) -> std::io::Result<Self> {
        let path = store_dir.join("config").join("delayOffset.json");
        let mut offsets = BTreeMap::new();
        if let Some(bytes) = read_if_exists(&path)? {
            let text = String::from_utf8_lossy(&bytes);
            let quoted = crate::protocol::body::json_quote_bare_keys(&text)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            let file: DelayOffsetFile = serde_json::from_str(&quoted).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            for (level, offset) in file.offset_table {
                if let Ok(level) = level.parse::<i32>() {
                    offsets.insert(level, offset);
                }
            }
        }
        Ok(ScheduleMessageService {
            levels,
            store,
            offsets: Mutex::new(offsets),
            path,
        })
    }

    /// The delay levels.
    pub(crate) fn levels(&self) -> &DelayLevels {
        &self.levels
    }

    /// Delivers every due message of every level (one look of the `rmq-schedule` thread).
    pub(crate) fn deliver_due(&self) {
        for level in 1..=self.levels.max_level() {
            self.deliver_level(level);
        }
    }

    fn deliver_level(&self, level: i32) {
        let delay = self.levels.delay_millis(level);
        let queue_id = level - 1;
        let mut offset = self
            .offsets
            .lock_unpoisoned()
            .get(&level)
            .copied()
            .unwrap_or(0);
        loop {
            let found = self
                .store
                .get_message(SCHEDULE_TOPIC, queue_id, offset, READ_BATCH, None);
            if found.status != GetMessageStatus::Found {
                if found.status == GetMessageStatus::OffsetTooSmall
                    || found.status == GetMessageStatus::OffsetOverflowBadly
                {
                    offset = found.next_begin_offset;
                    self.offsets.lock_unpoisoned().insert(level, offset);
                }
                return;
            }
            let now = now_millis();
            for record in &found.messages {
                let Ok((scheduled, _)) = decode_message(record, false) else {
                    log::error!(
                        "a {SCHEDULE_TOPIC} record at level {level} does not decode; skipping it"
                    );
                    offset += 1;
                    continue;
                };
                if scheduled.store_timestamp + delay > now {
                    self.offsets.lock_unpoisoned().insert(level, offset);
                    return;
                }
                let queue_offset = scheduled.queue_offset;
                match message_time_up(scheduled) {
                    Some(real) => match self.store.put_message(real) {
                        Ok(result) if result.status == PutMessageStatus::PutOk => {}
                        Ok(result) => {
                            log::warn!(
                                "delivering a delayed message failed ({:?}); retrying",
                                result.status
                            );
                            self.offsets.lock_unpoisoned().insert(level, offset);
                            return;
                        }
                        Err(e) => {
                            log::warn!("delivering a delayed message failed ({e}); retrying");
                            self.offsets.lock_unpoisoned().insert(level, offset);
                            return;
                        }
                    },
                    None => log::error!(
                        "delayed message at {SCHEDULE_TOPIC} level {level} offset {queue_offset} \
                         names no real topic; dropping it"
                    ),
                }
                offset = queue_offset + 1;
            }
            self.offsets.lock_unpoisoned().insert(level, offset);
        }
    }

    /// Each level's next offset to deliver (`offsetTable`).
    pub(crate) fn offsets(&self) -> BTreeMap<i32, i64> {
        self.offsets.lock_unpoisoned().clone()
    }

    /// Writes the levels' offsets to `delayOffset.json`.
    pub(crate) fn persist(&self) -> std::io::Result<()> {
        let offsets = self.offsets.lock_unpoisoned().clone();
        let table: Vec<String> = offsets
            .iter()
            .map(|(level, offset)| format!("{level}:{offset}"))
            .collect();
        write_atomically(
            &self.path,
            &format!("{{\"offsetTable\":{{{}}}}}", table.join(",")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_as_java_does() {
        let levels = DelayLevels::parse(DEFAULT_MESSAGE_DELAY_LEVEL).unwrap();
        assert_eq!(levels.max_level(), 18);
        assert_eq!(levels.delay_millis(1), 1000);
        assert_eq!(levels.delay_millis(5), 60_000);
        assert_eq!(levels.delay_millis(18), 7_200_000);
        assert_eq!(levels.delay_millis(99), 7_200_000, "clamped");
        let short = DelayLevels::parse("100ms 1s 2d").unwrap();
        assert_eq!(short.delay_millis(1), 100);
        assert_eq!(short.delay_millis(3), 172_800_000);
        assert!(DelayLevels::parse("1x").is_err());
        assert!(DelayLevels::parse("").is_err());
    }

    #[test]
    fn delayed_messages_go_to_the_schedule_topic_and_come_back() {
        let levels = DelayLevels::parse("1s 2s 3s").unwrap();
        let mut m = MessageExt {
            topic: "Orders".into(),
            queue_id: 5,
            ..MessageExt::default()
        };
        m.properties.insert(PROPERTY_DELAY_TIME_LEVEL, "7");
        schedule_if_delayed(&mut m, &levels);
        assert_eq!((m.topic.as_str(), m.queue_id), (SCHEDULE_TOPIC, 2));
        assert_eq!(m.property(PROPERTY_DELAY_TIME_LEVEL), Some("3"));
        let back = message_time_up(m).unwrap();
        assert_eq!((back.topic.as_str(), back.queue_id), ("Orders", 5));
        assert_eq!(back.property(PROPERTY_DELAY_TIME_LEVEL), None);
        // No level: untouched.
        let mut plain = MessageExt {
            topic: "Orders".into(),
            ..MessageExt::default()
        };
        schedule_if_delayed(&mut plain, &levels);
        assert_eq!(plain.topic, "Orders");
    }
}
