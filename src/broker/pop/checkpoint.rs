//! `PopCheckpoint`: what one pop took from one queue, and the records of the checkpoint log
//! that keeps checkpoints across restarts.
//!
//! A record is framed as `u32 length | u32 crc32 | JSON`, all big-endian; the JSON of a
//! checkpoint uses the keys of Java's `PopCheckPoint` (`so`, `pt`, `it`, `bm`, `q`, `t`, `c`,
//! `d`, `bn`) so the log reads like Java's revive topic.

use serde::{Deserialize, Serialize};

use crate::protocol::util_all::crc32;

/// The most messages one checkpoint holds: a pop returns at most 32, and `bm` has a bit each.
pub(crate) const MAX_CHECKPOINT_MESSAGES: usize = 32;

/// The largest record read back; anything longer is a torn or foreign tail.
pub(crate) const MAX_RECORD_LEN: u32 = 1 << 20;

/// Bytes of a frame before its JSON.
const FRAME_HEADER_LEN: usize = 8;

/// The messages one pop took from one queue, and which of them are acked; mirrors Java's
/// `PopCheckPoint`. Message `i` is at `start_offset + queue_offset_diff[i]`, acked when bit
/// `i` of `bit_map` is set. It is revived at `pop_time + invisible_time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PopCheckpoint {
    /// Ours: the checkpoint's number in the log, which acks name.
    pub id: u64,
    #[serde(rename = "so")]
    pub start_offset: i64,
    #[serde(rename = "pt")]
    pub pop_time: i64,
    #[serde(rename = "it")]
    pub invisible_time: i64,
    #[serde(rename = "bm")]
    pub bit_map: u32,
    #[serde(rename = "q")]
    pub queue_id: i32,
    /// The topic popped: the topic itself or a retry topic.
    #[serde(rename = "t")]
    pub topic: String,
    #[serde(rename = "c")]
    pub group: String,
    #[serde(rename = "d")]
    pub queue_offset_diff: Vec<i32>,
    #[serde(rename = "bn")]
    pub broker_name: String,
    /// The revive queue id written into the messages' handles.
    #[serde(rename = "rq")]
    pub revive_qid: i32,
}

impl PopCheckpoint {
    /// When its un-acked messages come back (`getReviveTime`).
    pub(crate) fn revive_time(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }

    /// The index of the message at `offset` (`indexOfAck`).
    pub(crate) fn index_of(&self, offset: i64) -> Option<usize> {
        let diff = i32::try_from(offset.checked_sub(self.start_offset)?).ok()?;
        self.queue_offset_diff.iter().position(|d| *d == diff)
    }

    /// The queue offset of message `index` (`ackOffsetByIndex`).
    pub(crate) fn offset_at(&self, index: usize) -> i64 {
        self.start_offset + i64::from(self.queue_offset_diff[index])
    }

    /// Bits of every message it holds.
    pub(crate) fn all_bits(&self) -> u32 {
        match self.queue_offset_diff.len() {
            n if n >= 32 => u32::MAX,
            n => (1u32 << n) - 1,
        }
    }

    /// Whether every message is acked (or revived).
    pub(crate) fn is_done(&self) -> bool {
        self.bit_map & self.all_bits() == self.all_bits()
    }
}

/// Where a queue's pops have got to: the next offset a pop of `group` reads from `topic`'s
/// queue `queue_id`. Rebuilt from the log at start, so a crash that lost the consumer offset
/// file's last write does not hand out popped messages again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct QueueKey {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
}

/// One record of the checkpoint log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub(crate) enum LogRecord {
    /// A new checkpoint; `next` is the queue's pop offset after it (none for a checkpoint
    /// written by CHANGE_MESSAGE_INVISIBLETIME or compaction).
    #[serde(rename = "ck")]
    Checkpoint {
        #[serde(flatten)]
        checkpoint: PopCheckpoint,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<i64>,
    },
    /// Messages of checkpoint `id` acked (or revived): these bits are set.
    #[serde(rename = "ack")]
    Ack { id: u64, bm: u32 },
    /// Checkpoint `id` is finished: every message acked or revived.
    #[serde(rename = "done")]
    Done { id: u64 },
    /// A queue's pop offset (written by compaction).
    #[serde(rename = "offset")]
    Offset {
        c: String,
        t: String,
        q: i32,
        o: i64,
    },
    /// Group `c`'s pop offsets are forgotten (DELETE_SUBSCRIPTIONGROUP cleaning its offsets):
    /// a restart must not bring them back.
    #[serde(rename = "forget")]
    ForgetOffsets { c: String },
}

impl LogRecord {
    /// Appends the record's frame to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        // Serializing plain structs into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.truncate(start);
            return;
        }
        let payload = &out[start + FRAME_HEADER_LEN..];
        let len = payload.len() as u32;
        let crc = crc32(payload) as u32;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
    }
}

/// What reading a log's bytes found.
#[derive(Debug)]
pub(crate) struct DecodedLog {
    pub records: Vec<LogRecord>,
    /// The length of the valid prefix; anything after it is a torn or corrupt tail.
    pub valid_len: usize,
}

/// Reads frames from the start of `bytes` until its end or the first frame that is cut
/// short, too long, fails its CRC or is not a record.
pub(crate) fn decode_log(bytes: &[u8]) -> DecodedLog {
    let mut records = Vec::new();
    let mut at = 0usize;
    while bytes.len() - at >= FRAME_HEADER_LEN {
        let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let crc = u32::from_be_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        if len == 0 || len > MAX_RECORD_LEN {
            break;
        }
        let start = at + FRAME_HEADER_LEN;
        let Some(payload) = bytes.get(start..start + len as usize) else {
            break;
        };
        if crc32(payload) as u32 != crc {
            break;
        }
        let Ok(record) = serde_json::from_slice::<LogRecord>(payload) else {
            break;
        };
        records.push(record);
        at = start + len as usize;
    }
    DecodedLog {
        records,
        valid_len: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn checkpoint(id: u64, diffs: &[i32]) -> PopCheckpoint {
        PopCheckpoint {
            id,
            start_offset: 10,
            pop_time: 1_000,
            invisible_time: 500,
            bit_map: 0,
            queue_id: 3,
            topic: "T".into(),
            group: "G".into(),
            queue_offset_diff: diffs.to_vec(),
            broker_name: "b".into(),
            revive_qid: 1,
        }
    }

    #[test]
    fn offsets_indexes_and_bits() {
        let mut ck = checkpoint(1, &[0, 2, 5]);
        assert_eq!(ck.revive_time(), 1_500);
        assert_eq!(ck.index_of(12), Some(1));
        assert_eq!(ck.index_of(11), None);
        assert_eq!(ck.index_of(9), None);
        assert_eq!(ck.index_of(i64::MIN), None);
        assert_eq!(ck.index_of(i64::MAX), None);
        assert_eq!(ck.offset_at(2), 15);
        assert_eq!(ck.all_bits(), 0b111);
        assert!(!ck.is_done());
        ck.bit_map = 0b111;
        assert!(ck.is_done());
        let full = checkpoint(2, &(0..32).collect::<Vec<_>>());
        assert_eq!(full.all_bits(), u32::MAX);
        let late = PopCheckpoint {
            invisible_time: i64::MAX,
            ..checkpoint(3, &[0])
        };
        assert_eq!(late.revive_time(), i64::MAX);
    }

    #[test]
    fn records_round_trip_and_look_like_javas_checkpoint() {
        let records = vec![
            LogRecord::Checkpoint {
                checkpoint: checkpoint(7, &[0, 1]),
                next: Some(12),
            },
            LogRecord::Ack { id: 7, bm: 0b10 },
            LogRecord::Done { id: 7 },
            LogRecord::Offset {
                c: "G".into(),
                t: "T".into(),
                q: 3,
                o: 12,
            },
        ];
        let mut bytes = Vec::new();
        for record in &records {
            record.encode_into(&mut bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(
            r#""so":10,"pt":1000,"it":500,"bm":0,"q":3,"t":"T","c":"G","d":[0,1],"bn":"b""#
        ));
        let decoded = decode_log(&bytes);
        assert_eq!(decoded.records, records);
        assert_eq!(decoded.valid_len, bytes.len());
    }

    #[test]
    fn a_torn_or_corrupt_tail_ends_the_valid_prefix() {
        let mut bytes = Vec::new();
        LogRecord::Done { id: 1 }.encode_into(&mut bytes);
        let good = bytes.len();
        LogRecord::Done { id: 2 }.encode_into(&mut bytes);
        for cut in good + 1..bytes.len() {
            let decoded = decode_log(&bytes[..cut]);
            assert_eq!(decoded.valid_len, good, "cut at {cut}");
            assert_eq!(decoded.records, [LogRecord::Done { id: 1 }]);
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x01;
        assert_eq!(decode_log(&flipped).valid_len, good);
        let mut huge = bytes[..good].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&[0; 12]);
        assert_eq!(decode_log(&huge).valid_len, good);
        let mut foreign = bytes[..good].to_vec();
        let payload = br#"{"op":"nonsense"}"#;
        foreign.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        foreign.extend_from_slice(&(crc32(payload) as u32).to_be_bytes());
        foreign.extend_from_slice(payload);
        assert_eq!(decode_log(&foreign).valid_len, good);
        assert_eq!(decode_log(&[]).valid_len, 0);
    }
}
