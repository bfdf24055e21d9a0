//! Timer messages (RocketMQ 5): a message due at any time up to `timerMaxDelaySec` ahead,
//! kept until then and delivered to its real topic; mirrors Java's `TimerMessageStore`, in a
//! simpler shape that keeps its guarantees.
//!
//! The put path ([`hook`]) stores a timer message in `rmq_sys_wheel_timer` queue 0, so it is
//! durable as soon as the producer is answered. The `rmq-timer` thread then, every 100 ms:
//!
//! 1. **takes in** what arrived in that queue: for each message, a 32-byte record in the
//!    [`TimerLog`](timer_log::TimerLog) (on disk), linked into the chain of the
//!    [`TimerWheel`](timer_wheel::TimerWheel) slot it is due in (in memory, one slot per
//!    `timerPrecisionMs` across the longest delay: its size depends on the configuration,
//!    never on how many messages wait);
//! 2. **delivers** every slot whose time has wholly passed (so never early): walks its chain
//!    newest first, reads each message from the commit log and stores it in its real topic
//!    and queue with `TIMER_ENQUEUE_MS` / `TIMER_DEQUEUE_MS` set; a recall marker met on the
//!    way (always newer than the message it cancels) removes that message from the slot;
//! 3. writes a checkpoint (`config/timercheck`: the next timer-queue offset to take in, where
//!    the log ends, the next slot to deliver), after forcing the log to disk.
//!
//! **After a crash** the log is cut back to the checkpoint, the wheel rebuilt by replaying it,
//! and what arrived after the checkpoint taken in again, so nothing is lost. What was
//! delivered after the checkpoint is delivered again only if it is not already in its real
//! queue: for a message due before the restart, delivery first looks for its unique id among
//! the timer messages that queue stored between the checkpoint and the restart (a window of
//! at most a few hundred milliseconds of deliveries), so nothing is delivered twice either.
//!
//! Differences from Java, by design: no roll (the wheel spans the longest delay, so a message
//! never goes round it; `TIMER_ROLL_TIMES` is never set), one thread instead of Java's five
//! stages, and no flow control per slot (`timerCongestNumEachSlot`).

pub(crate) mod hook;
mod timer_log;
mod timer_wheel;

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::persist::{read_if_exists, write_atomically};
use super::store::{GetMessageStatus, MessageStore, PutMessageStatus};
use crate::common::sync::MutexExt;
use crate::protocol::message::message_const::{
    PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC, PROPERTY_TIMER_DEL_UNIQKEY,
    PROPERTY_TIMER_DEQUEUE_MS, PROPERTY_TIMER_ENQUEUE_MS, PROPERTY_TIMER_OUT_MS,
};
use crate::protocol::message::{decode_message, MessageExt};
pub(crate) use hook::{transform_timer_message, TimerRefusal, TimerSettings, TIMER_TOPIC};
use timer_log::{TimerLog, TimerRecord, FLAG_DELETE};
use timer_wheel::TimerWheel;

/// How often the `rmq-timer` thread looks (Java waits 100 ms between its loops).
pub(crate) const SCAN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);
/// Timer-queue entries read per look.
const READ_BATCH: i32 = 64;
/// Slots of slack beyond the longest delay, so that a wheel delivering a little late still
/// has room for messages due at the longest delay.
const SPARE_SLOTS_MS: i64 = 3_600_000;
/// Timer log segment size: a million records.
const LOG_SEGMENT_SIZE: u64 = 32 * 1024 * 1024;

/// `config/timercheck`: how far the timer got (Java's `TimerCheckpoint`, as JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimerCheckpoint {
    /// The next offset of the timer queue to take in.
    last_timer_queue_offset: i64,
    /// Where the timer log ends.
    timer_log_end: u64,
    /// The next slot to deliver.
    last_read_time_ms: i64,
    /// When this checkpoint was written: whatever the timer delivered after it, before a
    /// crash, was stored after it.
    #[serde(default)]
    saved_at_ms: i64,
}

/// What the `rmq-timer` thread works on.
struct TimerState {
    log: TimerLog,
    wheel: TimerWheel,
    checkpoint: TimerCheckpoint,
    /// Records of the current slot already handled, when delivering it stopped half way (a
    /// put failed): they are skipped when it is tried again.
    done_in_slot: usize,
    /// Recall markers met in the current slot.
    recalled: HashSet<String>,
    /// After a restart from a checkpoint; None on a fresh store.
    recovery: Option<RecoveryWindow>,
    dirty: bool,
}

/// The timer store.
pub(crate) struct TimerMessageStore {
    settings: TimerSettings,
    store: Arc<MessageStore>,
    checkpoint_path: PathBuf,
    state: Mutex<TimerState>,
}

/// What the timer may have delivered between its last checkpoint and a crash: messages due
/// before the restart, stored in their real queues between the checkpoint and the restart.
/// Such a message is looked for there before it is delivered again.
struct RecoveryWindow {
    /// The restart: later deliveries are the checkpoint's own.
    restarted_at_ms: i64,
    /// The last checkpoint, less a second for clock steps.
    since_ms: i64,
    /// Per real queue, the unique ids of timer messages stored in the window (read on first
    /// need; bounded by what was delivered in the window).
    seen: HashMap<(String, i32), HashSet<String>>,
}

impl TimerMessageStore {
    /// Opens the timer store of the message store in `store_dir`, recovering from its
    /// checkpoint. `now_ms` is the broker's clock.
    pub(crate) fn open(
        settings: TimerSettings,
        store: Arc<MessageStore>,
        store_dir: &Path,
        now_ms: i64,
    ) -> io::Result<TimerMessageStore> {
        let checkpoint_path = store_dir.join("config").join("timercheck");
        let saved = match read_if_exists(&checkpoint_path)? {
            Some(bytes) => Some(serde_json::from_slice::<TimerCheckpoint>(&bytes).map_err(
                |e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", checkpoint_path.display()),
                    )
                },
            )?),
            None => None,
        };
        let precision = settings.precision_ms;
        let checkpoint = saved.unwrap_or(TimerCheckpoint {
            last_timer_queue_offset: store.min_offset_in_queue(TIMER_TOPIC, 0),
            timer_log_end: 0,
            last_read_time_ms: now_ms.div_euclid(precision) * precision - precision,
            saved_at_ms: now_ms,
        });
        let mut log = TimerLog::open(
            &store_dir.join("timerlog"),
            LOG_SEGMENT_SIZE,
            checkpoint.timer_log_end,
        )?;
        let slots = (settings.max_delay_sec * 1000 + SPARE_SLOTS_MS) / precision + 1;
        let mut wheel = TimerWheel::new(slots as usize, precision);
        let read_time = checkpoint.last_read_time_ms;
        log.replay(|pos, record| {
            if record.due_ms >= read_time {
                wheel.link(record.due_ms, pos, !record.is_delete_marker());
            }
        })?;
        log::info!(
            "timer store: {} messages waiting, next slot {}, timer queue offset {}",
            wheel.pending(read_time),
            read_time,
            checkpoint.last_timer_queue_offset
        );
        Ok(TimerMessageStore {
            settings,
            store,
            checkpoint_path,
            state: Mutex::new(TimerState {
                log,
                wheel,
                checkpoint,
                done_in_slot: 0,
                recalled: HashSet::new(),
                recovery: saved.map(|saved| RecoveryWindow {
                    restarted_at_ms: now_ms,
                    since_ms: saved.saved_at_ms - 1000,
                    seen: HashMap::new(),
                }),
                dirty: false,
            }),
        })
    }

    /// The settings the put path checks timer messages against.
    pub(crate) fn settings(&self) -> &TimerSettings {
        &self.settings
    }

    /// What the runtime info reports (Java's names): messages waiting for their time
    /// (`timerCongestNum`), how far delivery is behind the clock in seconds
    /// (`timerReadBehind`), and timer-queue entries not yet taken in (`timerOffsetBehind`).
    pub(crate) fn runtime_info(&self, now_ms: i64) -> [(&'static str, i64); 3] {
        let state = self.state.lock_unpoisoned();
        let read_time = state.checkpoint.last_read_time_ms;
        let queue_end = self.store.max_offset_in_queue(TIMER_TOPIC, 0);
        [
            ("timerCongestNum", state.wheel.pending(read_time) as i64),
            ("timerReadBehind", (now_ms - read_time).max(0) / 1000),
            (
                "timerOffsetBehind",
                (queue_end - state.checkpoint.last_timer_queue_offset).max(0),
            ),
        ]
    }

    /// One look of the `rmq-timer` thread: take in, deliver what is due, checkpoint.
    pub(crate) fn run_once(&self, now_ms: i64) {
        let mut state = self.state.lock_unpoisoned();
        if let Err(e) = self.take_in(&mut state, now_ms) {
            log::warn!("timer store: taking in timer messages failed: {e}");
        }
        self.deliver_due(&mut state, now_ms);
        if state.dirty {
            match self.save(&mut state, now_ms) {
                Ok(()) => state.dirty = false,
                Err(e) => log::warn!("timer store: writing the checkpoint failed: {e}"),
            }
        }
    }

    /// Writes the checkpoint now (at shutdown).
    pub(crate) fn persist(&self, now_ms: i64) -> io::Result<()> {
        let mut state = self.state.lock_unpoisoned();
        self.save(&mut state, now_ms)
    }

    fn save(&self, state: &mut TimerState, now_ms: i64) -> io::Result<()> {
        state.log.flush()?;
        state.checkpoint.timer_log_end = state.log.end();
        state.checkpoint.saved_at_ms = now_ms;
        let text = serde_json::to_string(&state.checkpoint).map_err(io::Error::other)?;
        write_atomically(&self.checkpoint_path, &text)?;
        let before = state.checkpoint.last_read_time_ms;
        let freed = state.log.delete_delivered(before)?;
        if freed > 0 {
            log::info!("timer store: deleted {freed} bytes of delivered timer log");
        }
        Ok(())
    }

    /// Reads what arrived in the timer queue into the log and the wheel.
    fn take_in(&self, state: &mut TimerState, now_ms: i64) -> io::Result<()> {
        loop {
            let offset = state.checkpoint.last_timer_queue_offset;
            let found = self
                .store
                .get_message(TIMER_TOPIC, 0, offset, READ_BATCH, None);
            match found.status {
                GetMessageStatus::Found => {}
                GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly => {
                    log::warn!(
                        "timer store: timer queue offset {offset} is out of [{}, {}); going on \
                         from {}",
                        found.min_offset,
                        found.max_offset,
                        found.next_begin_offset
                    );
                    state.checkpoint.last_timer_queue_offset = found.next_begin_offset;
                    state.dirty = true;
                    continue;
                }
                _ => return Ok(()),
            }
            for record in &found.messages {
                let Ok((message, _)) = decode_message(record, false) else {
                    log::error!("timer store: a timer queue record does not decode; skipping it");
                    state.checkpoint.last_timer_queue_offset += 1;
                    state.dirty = true;
                    continue;
                };
                if !self.take_in_one(state, &message, now_ms)? {
                    return Ok(());
                }
                state.checkpoint.last_timer_queue_offset = message.queue_offset + 1;
                state.dirty = true;
            }
        }
    }

    /// Links one timer message into the wheel, or delivers it at once when its slot has
    /// passed. `false`: not now (the wheel has no room that far ahead yet, or a put failed).
    fn take_in_one(
        &self,
        state: &mut TimerState,
        message: &MessageExt,
        now_ms: i64,
    ) -> io::Result<bool> {
        let read_time = state.checkpoint.last_read_time_ms;
        let is_marker = message.property(PROPERTY_TIMER_DEL_UNIQKEY).is_some();
        let due_ms = match message
            .property(PROPERTY_TIMER_OUT_MS)
            .and_then(|t| t.parse::<i64>().ok())
        {
            Some(due) => due.div_euclid(self.settings.precision_ms) * self.settings.precision_ms,
            None => {
                log::error!(
                    "timer store: message {} has no {PROPERTY_TIMER_OUT_MS}; delivering it now",
                    message.uniq_key().unwrap_or("?")
                );
                read_time - self.settings.precision_ms
            }
        };
        if due_ms >= read_time + state.wheel.span_ms() {
            return Ok(false);
        }
        if due_ms < read_time {
            // Its slot is delivered already (the wheel was behind, or it came late).
            return Ok(is_marker || self.deliver(state, message, now_ms));
        }
        let prev_pos = state.wheel.link(due_ms, state.log.end(), !is_marker);
        state.log.append(&TimerRecord {
            prev_pos,
            due_ms,
            commit_log_offset: message.commit_log_offset,
            size: message.store_size,
            flags: if is_marker { FLAG_DELETE } else { 0 },
        })?;
        Ok(true)
    }

    /// Delivers every slot whose time has wholly passed.
    fn deliver_due(&self, state: &mut TimerState, now_ms: i64) {
        let precision = self.settings.precision_ms;
        while state.checkpoint.last_read_time_ms + precision <= now_ms {
            let slot = state.checkpoint.last_read_time_ms;
            if !self.deliver_slot(state, slot, now_ms) {
                return;
            }
            state.wheel.clear(slot);
            state.checkpoint.last_read_time_ms = slot + precision;
            state.done_in_slot = 0;
            state.recalled.clear();
            state.dirty = true;
        }
    }

    /// Delivers one slot's chain, newest first; `false` when a put failed (tried again on
    /// the next look, skipping what was handled).
    fn deliver_slot(&self, state: &mut TimerState, slot: i64, now_ms: i64) -> bool {
        let Some((mut pos, _)) = state.wheel.head(slot) else {
            return true;
        };
        let mut handled = 0;
        while pos >= 0 && (pos as u64) >= state.log.start() {
            let record = match state.log.read(pos as u64) {
                Ok(record) => record,
                Err(e) => {
                    log::error!("timer store: reading the timer log at {pos} failed: {e}");
                    return false;
                }
            };
            if record.due_ms != slot {
                break;
            }
            pos = record.prev_pos;
            handled += 1;
            if handled <= state.done_in_slot {
                continue;
            }
            let Some(message) = self.store.look_message_by_offset(record.commit_log_offset) else {
                log::error!(
                    "timer store: the message at commit log offset {} due at {slot} is gone \
                     (deleted by retention?); skipping it",
                    record.commit_log_offset
                );
                state.done_in_slot = handled;
                continue;
            };
            if record.is_delete_marker() {
                if let Some(key) = message.property(PROPERTY_TIMER_DEL_UNIQKEY) {
                    state.recalled.insert(key.to_string());
                }
            } else if state.recalled.contains(&delete_key(&message)) {
                log::info!(
                    "timer store: message {} was recalled; not delivering it",
                    message.uniq_key().unwrap_or("?")
                );
            } else if !self.deliver(state, &message, now_ms) {
                return false;
            }
            state.done_in_slot = handled;
        }
        true
    }

    /// Stores a due timer message in its real topic; `true` when stored (or found stored
    /// already, after a crash).
    fn deliver(&self, state: &mut TimerState, timer_message: &MessageExt, now_ms: i64) -> bool {
        let Some(real) = real_message(timer_message, now_ms) else {
            log::error!(
                "timer store: message {} names no real topic; dropping it",
                timer_message.uniq_key().unwrap_or("?")
            );
            return true;
        };
        let due_ms = timer_message
            .property(PROPERTY_TIMER_OUT_MS)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(i64::MIN);
        if let Some(window) = state.recovery.as_mut() {
            if due_ms < window.restarted_at_ms && self.delivered_in(window, &real) {
                log::info!(
                    "timer store: message {} was delivered before the restart; not again",
                    real.uniq_key().unwrap_or("?")
                );
                return true;
            }
        }
        match self.store.put_message(real) {
            Ok(result) if result.status == PutMessageStatus::PutOk => true,
            Ok(result) => {
                log::warn!(
                    "timer store: delivering a timer message failed ({:?}); retrying",
                    result.status
                );
                false
            }
            Err(e) => {
                log::warn!("timer store: delivering a timer message failed ({e}); retrying");
                false
            }
        }
    }

    /// Whether `real` was stored in its queue within the recovery window (delivered between
    /// the last checkpoint and the crash).
    fn delivered_in(&self, window: &mut RecoveryWindow, real: &MessageExt) -> bool {
        let Some(uniq) = real.uniq_key() else {
            return false;
        };
        let (since, until) = (window.since_ms, window.restarted_at_ms);
        window
            .seen
            .entry((real.topic.clone(), real.queue_id))
            .or_insert_with(|| self.timer_ids_stored(&real.topic, real.queue_id, since, until))
            .contains(uniq)
    }

    /// The unique ids of delivered timer messages stored in a queue within `[since, until]`.
    fn timer_ids_stored(
        &self,
        topic: &str,
        queue_id: i32,
        since: i64,
        until: i64,
    ) -> HashSet<String> {
        let mut ids = HashSet::new();
        let mut offset = self.store.offset_in_queue_by_time(topic, queue_id, since);
        loop {
            let found = self.store.get_message(topic, queue_id, offset, 32, None);
            if found.status != GetMessageStatus::Found {
                return ids;
            }
            let mut past_window = false;
            for record in &found.messages {
                let Ok((message, _)) = decode_message(record, false) else {
                    continue;
                };
                past_window |= message.store_timestamp > until;
                if message.property(PROPERTY_TIMER_OUT_MS).is_some() {
                    if let Some(uniq) = message.uniq_key() {
                        ids.insert(uniq.to_string());
                    }
                }
            }
            if past_window {
                return ids;
            }
            offset = found.next_begin_offset;
        }
    }
}

/// `<real topic>+<unique id>`: what a recall marker names (`TimerMessageStore.buildDeleteKey`).
pub(crate) fn delete_key(message: &MessageExt) -> String {
    let topic = message
        .property(PROPERTY_REAL_TOPIC)
        .unwrap_or(&message.topic);
    format!("{topic}+{}", message.uniq_key().unwrap_or(""))
}

/// The message a due timer message becomes (`convertMessage`): its real topic and queue,
/// enqueue and dequeue times set; `TIMER_OUT_MS` stays, so the put path does not time it
/// again.
fn real_message(timer_message: &MessageExt, now_ms: i64) -> Option<MessageExt> {
    let mut real = timer_message.clone();
    real.topic = real.properties.remove(PROPERTY_REAL_TOPIC)?;
    real.queue_id = real
        .properties
        .remove(PROPERTY_REAL_QUEUE_ID)?
        .parse()
        .ok()?;
    real.properties.insert(
        PROPERTY_TIMER_ENQUEUE_MS,
        timer_message.store_timestamp.to_string(),
    );
    real.properties
        .insert(PROPERTY_TIMER_DEQUEUE_MS, now_ms.to_string());
    // Fresh positions and time: the store assigns them.
    real.queue_offset = 0;
    real.commit_log_offset = 0;
    real.store_timestamp = 0;
    Some(real)
}

#[cfg(test)]
mod tests;
