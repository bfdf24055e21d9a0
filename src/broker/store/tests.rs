//! Tests of the whole store: put/get, statuses, segments, recovery, flush modes, threads.

use std::fs::{self, OpenOptions};
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::config::MAX_MESSAGE_SIZE;
use super::consume_queue::java_string_hash_code;
use super::consume_queue::{CqEntry, CQ_STORE_UNIT_SIZE};
use super::flush::FsyncGate;
use super::message_store::StoreTuning;
use super::result::BoundaryType;
use super::*;
use crate::protocol::message::sys_flag::{TRANSACTION_COMMIT_TYPE, TRANSACTION_PREPARED_TYPE};
use crate::protocol::message::{
    create_offset_message_id, decode_messages, MessageExt, MessageProperties,
};
use crate::protocol::util_all::crc32;

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(crate::common::temp_dir::TempDir);

impl TempDir {
    /// A fresh, empty directory whose name contains `name`.
    pub(crate) fn new(name: &str) -> TempDir {
        TempDir(crate::common::temp_dir::TempDir::new(&format!("store-{name}")).unwrap())
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}

fn store_host() -> SocketAddr {
    "10.1.2.3:10911".parse().unwrap()
}

fn config(dir: &TempDir) -> StoreConfig {
    StoreConfig {
        store_host: store_host(),
        // Long enough that only explicit flushes move the checkpoint in tests.
        flush_interval: Duration::from_secs(3600),
        ..StoreConfig::new(dir.path())
    }
}

/// A disk a tenth full, whatever the machine's: retention and the disk guard then depend on
/// the test's settings, not on how full the host's disk happens to be.
#[derive(Debug)]
struct RoomyDisk;

impl DiskUsageProbe for RoomyDisk {
    fn used_ratio(&self, _path: &Path) -> std::io::Result<f64> {
        Ok(0.10)
    }
}

fn open(config: &StoreConfig) -> MessageStore {
    let tuning = StoreTuning {
        disk_usage: Arc::new(RoomyDisk),
        ..StoreTuning::default()
    };
    MessageStore::open_tuned(config.clone(), tuning).unwrap()
}

fn message(topic: &str, queue_id: i32, body: &str, tags: Option<&str>) -> MessageExt {
    let mut properties = MessageProperties::new();
    if let Some(tags) = tags {
        properties.insert("TAGS", tags);
    }
    let short: String = body.chars().take(16).collect();
    properties.insert("KEYS", format!("key-{short}"));
    properties.insert("UNIQ_KEY", format!("UNIQ{short}"));
    MessageExt {
        topic: topic.to_string(),
        queue_id,
        flag: 3,
        body: body.as_bytes().into(),
        properties,
        born_timestamp: 1_700_000_000_000,
        born_host: "192.168.0.7:50000".parse().unwrap(),
        reconsume_times: 1,
        prepared_transaction_offset: 0,
        ..MessageExt::default()
    }
}

fn put(store: &MessageStore, topic: &str, queue_id: i32, body: &str) -> PutMessageResult {
    let result = store
        .put_message(message(topic, queue_id, body, Some("TagA")))
        .unwrap();
    assert_eq!(result.status, PutMessageStatus::PutOk);
    result
}

/// Every message of a queue, read with gets of up to 32.
fn read_all(store: &MessageStore, topic: &str, queue_id: i32) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let result = store.get_message(topic, queue_id, offset, 32, None);
        if result.status != GetMessageStatus::Found {
            return out;
        }
        out.extend(decode_messages(&result.body(), false).unwrap());
        assert!(result.next_begin_offset > offset);
        offset = result.next_begin_offset;
    }
}

fn bodies(messages: &[MessageExt]) -> Vec<String> {
    messages
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect()
}

fn segment_files(config: &StoreConfig) -> Vec<(u64, u64)> {
    let mut files: Vec<(u64, u64)> = fs::read_dir(config.commit_log_dir())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            assert_eq!(name.len(), 20, "{name}");
            (name.parse().unwrap(), e.metadata().unwrap().len())
        })
        .collect();
    files.sort();
    files
}

fn last_segment(config: &StoreConfig) -> PathBuf {
    let (start, _) = *segment_files(config).last().unwrap();
    config.commit_log_dir().join(format!("{start:020}"))
}

fn cq_file(config: &StoreConfig, topic: &str, queue_id: i32) -> PathBuf {
    config
        .consume_queue_dir()
        .join(topic)
        .join(queue_id.to_string())
        .join("00000000000000000000")
}

#[test]
fn put_get_round_trip_keeps_every_field_and_the_bytes_on_disk() {
    let tmp = TempDir::new("round-trip");
    let config = config(&tmp);
    let store = open(&config);
    let mut results = Vec::new();
    for i in 0..10 {
        results.push(put(&store, "TopicA", 0, &format!("body-{i}")));
    }
    put(&store, "TopicA", 1, "other queue");
    put(&store, "TopicB", 0, "other topic");

    let mut physical = 0;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.queue_offset, i as i64);
        assert_eq!(r.commit_log_offset, physical);
        assert_eq!(r.msg_id, create_offset_message_id(store_host(), physical));
        physical += i64::from(r.wrote_bytes);
    }

    let got = store.get_message("TopicA", 0, 0, 32, None);
    assert_eq!(got.status, GetMessageStatus::Found);
    assert_eq!(
        (got.min_offset, got.max_offset, got.next_begin_offset),
        (0, 10, 10)
    );
    assert_eq!(got.message_count(), 10);
    assert_eq!(
        got.total_bytes,
        got.messages.iter().map(Vec::len).sum::<usize>()
    );
    let decoded = decode_messages(&got.body(), false).unwrap();
    for (i, (m, r)) in decoded.iter().zip(&results).enumerate() {
        let sent = message("TopicA", 0, &format!("body-{i}"), Some("TagA"));
        assert_eq!(m.topic, sent.topic);
        assert_eq!(m.queue_id, 0);
        assert_eq!(m.flag, 3);
        assert_eq!(m.body, sent.body);
        assert_eq!(m.properties, sent.properties);
        assert_eq!(m.born_timestamp, sent.born_timestamp);
        assert_eq!(m.born_host, sent.born_host);
        assert_eq!(m.reconsume_times, 1);
        assert_eq!(m.store_host, store_host());
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.commit_log_offset, r.commit_log_offset);
        assert_eq!(m.store_timestamp, r.store_timestamp);
        assert_eq!(m.store_size, r.wrote_bytes);
        assert_eq!(m.msg_id, r.msg_id);
        assert_eq!(m.body_crc, crc32(&sent.body));
    }
    // The records are exactly the bytes in the commit log file.
    let file = fs::read(config.commit_log_dir().join("00000000000000000000")).unwrap();
    for (bytes, r) in got.messages.iter().zip(&results) {
        let at = r.commit_log_offset as usize;
        assert_eq!(&file[at..at + bytes.len()], &bytes[..]);
    }
    // The consume queue file holds the 20-byte entries.
    let cq = fs::read(cq_file(&config, "TopicA", 0)).unwrap();
    assert_eq!(cq.len(), 10 * CQ_STORE_UNIT_SIZE);
    for (chunk, r) in cq.chunks(CQ_STORE_UNIT_SIZE).zip(&results) {
        let entry = CqEntry::decode(chunk);
        assert_eq!(entry.commit_log_offset, r.commit_log_offset);
        assert_eq!(entry.size, r.wrote_bytes);
        assert_eq!(entry.tags_code, i64::from(java_string_hash_code("TagA")));
    }
    assert_eq!(bodies(&read_all(&store, "TopicA", 1)), ["other queue"]);
    assert_eq!(
        store.max_phy_offset(),
        fs::metadata(config.commit_log_dir().join("00000000000000000000"))
            .unwrap()
            .len() as i64
    );
    assert_eq!(
        store.topics_and_queues(),
        [
            ("TopicA".to_string(), vec![0, 1]),
            ("TopicB".to_string(), vec![0])
        ]
    );
}

#[test]
fn get_message_statuses_and_next_offsets() {
    let tmp = TempDir::new("statuses");
    let config = config(&tmp);
    // A queue directory without files: a known, empty queue.
    fs::create_dir_all(config.consume_queue_dir().join("Empty").join("2")).unwrap();
    let store = open(&config);
    for i in 0..5 {
        put(&store, "T", 0, &format!("m{i}"));
    }
    let check = |topic: &str, offset: i64, max: i32, status, next, count| {
        let r = store.get_message(topic, 0, offset, max, None);
        assert_eq!(
            (r.status, r.next_begin_offset, r.message_count()),
            (status, next, count),
            "{topic} offset {offset} max {max}"
        );
        r
    };
    let unknown = check("Nope", 3, 32, GetMessageStatus::NoMatchedLogicQueue, 0, 0);
    assert_eq!((unknown.min_offset, unknown.max_offset), (0, 0));
    let r = store.get_message("Empty", 2, 7, 32, None);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::NoMessageInQueue, 0)
    );
    check("T", -1, 32, GetMessageStatus::OffsetTooSmall, 0, 0);
    let one = check("T", 5, 32, GetMessageStatus::OffsetOverflowOne, 5, 0);
    assert_eq!((one.min_offset, one.max_offset), (0, 5));
    check("T", 9, 32, GetMessageStatus::OffsetOverflowBadly, 5, 0);
    check("T", 2, 32, GetMessageStatus::Found, 5, 3);
    check("T", 1, 2, GetMessageStatus::Found, 3, 2);
    // Zero asked still gets one message, as Java.
    check("T", 0, 0, GetMessageStatus::Found, 1, 1);

    // An entry pointing past the commit log: the record "was removed".
    let cq_path = cq_file(&config, "T", 0);
    let cq = OpenOptions::new().write(true).open(&cq_path).unwrap();
    let mut bogus = Vec::new();
    CqEntry {
        commit_log_offset: 1 << 40,
        size: 200,
        tags_code: 0,
    }
    .encode_into(&mut bogus);
    cq.write_all_at(&bogus, 4 * CQ_STORE_UNIT_SIZE as u64)
        .unwrap();
    check("T", 4, 32, GetMessageStatus::MessageWasRemoving, 5, 0);
    // Found wins over a missing record after it.
    check("T", 3, 32, GetMessageStatus::Found, 5, 1);
    // A consume queue file that cannot be read at the offset.
    cq.set_len(2 * CQ_STORE_UNIT_SIZE as u64).unwrap();
    check("T", 3, 32, GetMessageStatus::OffsetFoundNull, 300_000, 0);
}

#[test]
fn filter_by_tags_hash_code() {
    let tmp = TempDir::new("filter");
    let store = open(&config(&tmp));
    for i in 0..10 {
        let tags = if i % 2 == 0 { "TagA" } else { "TagB" };
        store
            .put_message(message("T", 0, &format!("m{i}"), Some(tags)))
            .unwrap();
    }
    store
        .put_message(message("T", 0, "untagged", None))
        .unwrap();
    let a = i64::from(java_string_hash_code("TagA"));
    let only_a = move |code: i64| code == a;
    let r = store.get_message("T", 0, 0, 32, Some(&only_a));
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(
        bodies(&decode_messages(&r.body(), false).unwrap()),
        ["m0", "m2", "m4", "m6", "m8"]
    );
    assert_eq!(r.next_begin_offset, 11);
    // With a max of 2 the scan stops at the entry after the second match.
    let r = store.get_message("T", 0, 0, 2, Some(&only_a));
    assert_eq!((r.message_count(), r.next_begin_offset), (2, 3));
    // Nothing matches: the offset still moves past the scanned entries.
    let none = |_: i64| false;
    let r = store.get_message("T", 0, 4, 32, Some(&none));
    assert_eq!(
        (r.status, r.next_begin_offset, r.total_bytes),
        (GetMessageStatus::NoMatchedMessage, 11, 0)
    );
    // The untagged message has tags code 0.
    let zero = |code: i64| code == 0;
    let r = store.get_message("T", 0, 0, 32, Some(&zero));
    assert_eq!(
        bodies(&decode_messages(&r.body(), false).unwrap()),
        ["untagged"]
    );
}

#[test]
fn transfer_limits_cap_count_and_bytes() {
    let tmp = TempDir::new("limits");
    let store = open(&config(&tmp));
    for i in 0..40 {
        put(&store, "T", 0, &format!("m{i}"));
    }
    let r = store.get_message("T", 0, 0, 64, None);
    assert_eq!((r.message_count(), r.next_begin_offset), (32, 32));
    let big = "x".repeat(100 * 1024);
    for _ in 0..3 {
        put(&store, "Big", 0, &big);
    }
    let r = store.get_message("Big", 0, 0, 32, None);
    assert_eq!((r.message_count(), r.next_begin_offset), (2, 2));
    // A single message above the byte cap is still delivered.
    put(&store, "Huge", 0, &"y".repeat(300 * 1024));
    let r = store.get_message("Huge", 0, 0, 32, None);
    assert_eq!(r.message_count(), 1);
}

#[test]
fn batch_put_gets_consecutive_offsets() {
    let tmp = TempDir::new("batch");
    let listened = Arc::new(Mutex::new(Vec::new()));
    let store = open(&config(&tmp));
    let sink = Arc::clone(&listened);
    store.set_message_arrival_listener(Box::new(move |topic, queue_id, max| {
        sink.lock()
            .unwrap()
            .push((topic.to_string(), queue_id, max));
    }));
    put(&store, "T", 1, "first");
    let batch: Vec<_> = (0..5)
        .map(|i| message("T", 1, &format!("b{i}"), Some("TagB")))
        .collect();
    let results = store.put_messages(batch).unwrap();
    assert_eq!(
        results.iter().map(|r| r.queue_offset).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    for pair in results.windows(2) {
        assert_eq!(
            pair[1].commit_log_offset,
            pair[0].commit_log_offset + i64::from(pair[0].wrote_bytes)
        );
    }
    let mixed = vec![message("T", 1, "x", None), message("T", 2, "y", None)];
    let err = store.put_messages(mixed).unwrap_err();
    assert!(matches!(err, StoreError::MessageIllegal { .. }), "{err}");
    assert!(store.put_messages(Vec::new()).unwrap().is_empty());
    assert_eq!(put(&store, "T", 1, "after").queue_offset, 6);
    assert_eq!(
        bodies(&read_all(&store, "T", 1)),
        ["first", "b0", "b1", "b2", "b3", "b4", "after"]
    );
    assert_eq!(
        *listened.lock().unwrap(),
        [
            ("T".to_string(), 1, 1),
            ("T".to_string(), 1, 6),
            ("T".to_string(), 1, 7)
        ]
    );
}

#[test]
fn segments_roll_and_reads_cross_them() {
    let tmp = TempDir::new("segments");
    let config = StoreConfig {
        commit_log_segment_size: 4096,
        ..config(&tmp)
    };
    let store = open(&config);
    let mut results = Vec::new();
    for i in 0..60 {
        let body = format!("{i:03}-{}", "p".repeat(150 + i * 7));
        results.push((body.clone(), put(&store, "T", i as i32 % 2, &body)));
    }
    let files = segment_files(&config);
    assert!(files.len() > 3, "{files:?}");
    for pair in files.windows(2) {
        assert_eq!(pair[0].0 + pair[0].1, pair[1].0, "{files:?}");
    }
    for (_, len) in &files {
        assert!(*len <= 4096);
    }
    let end = files.last().map(|(s, l)| s + l).unwrap();
    assert_eq!(store.max_phy_offset(), end as i64);
    for queue in 0..2 {
        let expected: Vec<_> = results
            .iter()
            .enumerate()
            .filter(|(i, _)| *i as i32 % 2 == queue)
            .map(|(_, (body, _))| body.clone())
            .collect();
        assert_eq!(bodies(&read_all(&store, "T", queue)), expected);
    }
    for (body, r) in &results {
        let m = store.look_message_by_offset(r.commit_log_offset).unwrap();
        assert_eq!(&String::from_utf8(m.body.into_vec()).unwrap(), body);
    }
    // A batch that does not fit the current segment starts a new one and stays whole.
    let batch: Vec<_> = (0..6)
        .map(|i| message("T", 0, &format!("batch{i}-{}", "q".repeat(400)), None))
        .collect();
    let batch_results = store.put_messages(batch).unwrap();
    let first = batch_results[0].commit_log_offset;
    let last = batch_results.last().unwrap();
    let segment = segment_files(&config)
        .into_iter()
        .rfind(|(start, _)| *start as i64 <= first)
        .unwrap();
    assert!(last.commit_log_offset + i64::from(last.wrote_bytes) <= segment.0 as i64 + 4096);
    // A record larger than a segment is refused.
    let err = store
        .put_message(message("T", 0, &"z".repeat(5000), None))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MessageTooLarge { max: 4096, .. }),
        "{err}"
    );
    drop(store);

    // Reopened, every message is still there and puts continue.
    let store = open(&config);
    assert_eq!(read_all(&store, "T", 0).len(), 36);
    assert_eq!(read_all(&store, "T", 1).len(), 30);
    assert_eq!(put(&store, "T", 1, "again").queue_offset, 30);
}

#[test]
fn restart_keeps_offsets_and_messages() {
    let tmp = TempDir::new("restart");
    let config = config(&tmp);
    let store = open(&config);
    for i in 0..7 {
        put(&store, "A", 0, &format!("a{i}"));
        put(&store, "A", 3, &format!("a3-{i}"));
    }
    put(&store, "%RETRY%group", 0, "retry");
    let before_a0 = store.get_message("A", 0, 0, 32, None);
    let end = store.max_phy_offset();
    store.shutdown();
    assert!(matches!(
        store.put_message(message("A", 0, "late", None)),
        Err(StoreError::Shutdown)
    ));
    store.shutdown();
    drop(store);

    let store = open(&config);
    assert_eq!(store.max_phy_offset(), end);
    assert_eq!(store.max_offset_in_queue("A", 0), 7);
    assert_eq!(store.max_offset_in_queue("A", 3), 7);
    assert_eq!(store.max_offset_in_queue("%RETRY%group", 0), 1);
    assert_eq!(store.min_offset_in_queue("A", 0), 0);
    assert_eq!(store.max_offset_in_queue("A", 1), 0);
    assert_eq!(store.get_message("A", 0, 0, 32, None), before_a0);
    assert_eq!(
        store.topics_and_queues(),
        [
            ("%RETRY%group".to_string(), vec![0]),
            ("A".to_string(), vec![0, 3])
        ]
    );
    let next = put(&store, "A", 0, "a7");
    assert_eq!((next.queue_offset, next.commit_log_offset), (7, end));
    drop(store);
    let store = open(&config);
    assert_eq!(read_all(&store, "A", 0).len(), 8);
}

#[test]
fn a_torn_tail_is_cut_and_puts_continue() {
    let tmp = TempDir::new("torn");
    let config = config(&tmp);
    let store = open(&config);
    let results: Vec<_> = (0..10)
        .map(|i| put(&store, "T", 0, &format!("m{i}")))
        .collect();
    let end = store.max_phy_offset();
    store.kill();

    // Garbage after the last record.
    let path = last_segment(&config);
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&[0xAB; 77], end as u64).unwrap();
    let store = open(&config);
    assert_eq!(store.max_phy_offset(), end);
    assert_eq!(fs::metadata(&path).unwrap().len(), end as u64);
    assert_eq!(store.max_offset_in_queue("T", 0), 10);
    store.kill();

    // The last record cut in the middle.
    let last = &results[9];
    file.set_len((last.commit_log_offset + 30) as u64).unwrap();
    let store = open(&config);
    assert_eq!(store.max_phy_offset(), last.commit_log_offset);
    assert_eq!(store.max_offset_in_queue("T", 0), 9);
    assert_eq!(
        bodies(&read_all(&store, "T", 0)),
        (0..9).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );
    let next = put(&store, "T", 0, "new");
    assert_eq!(
        (next.queue_offset, next.commit_log_offset),
        (9, last.commit_log_offset)
    );
    drop(store);
    let store = open(&config);
    assert_eq!(
        bodies(&read_all(&store, "T", 0)).last().map(String::as_str),
        Some("new")
    );
}

#[test]
fn a_bad_body_crc_in_the_last_record_is_cut() {
    let tmp = TempDir::new("crc");
    let config = config(&tmp);
    let store = open(&config);
    let results: Vec<_> = (0..5)
        .map(|i| put(&store, "T", 0, &format!("msg-{i}")))
        .collect();
    store.kill();
    // Flip one byte of the last body ("msg-4" is right after the 4-byte body length).
    let last = &results[4];
    let record = {
        let file = fs::read(last_segment(&config)).unwrap();
        file[last.commit_log_offset as usize..][..last.wrote_bytes as usize].to_vec()
    };
    let body_at = record.windows(5).position(|w| w == b"msg-4").unwrap();
    let file = OpenOptions::new()
        .write(true)
        .open(last_segment(&config))
        .unwrap();
    file.write_all_at(b"X", last.commit_log_offset as u64 + body_at as u64)
        .unwrap();
    // The consume queue file still indexes the damaged record; recovery cuts that too.
    let store = open(&config);
    assert_eq!(store.max_offset_in_queue("T", 0), 4);
    assert_eq!(store.max_phy_offset(), last.commit_log_offset);
    assert!(store
        .look_message_by_offset(last.commit_log_offset)
        .is_none());
    assert_eq!(put(&store, "T", 0, "again").queue_offset, 4);
}

#[test]
fn recovery_from_the_checkpoint_repairs_the_consume_queues() {
    let tmp = TempDir::new("cq-repair");
    let config = config(&tmp);
    let cq_path = cq_file(&config, "T", 0);
    let cq_len = |n: u64| n * CQ_STORE_UNIT_SIZE as u64;
    let set_cq_len = |n: u64| {
        OpenOptions::new()
            .write(true)
            .open(&cq_path)
            .unwrap()
            .set_len(cq_len(n))
            .unwrap()
    };
    let expected = |n: usize| (0..n).map(|i| format!("m{i}")).collect::<Vec<_>>();

    let store = open(&config);
    for i in 0..5 {
        put(&store, "T", 0, &format!("m{i}"));
    }
    put(&store, "U", 0, "u0");
    store.flush().unwrap();
    for i in 5..10 {
        put(&store, "T", 0, &format!("m{i}"));
    }
    store.kill();
    // The queue misses entries below the checkpoint (which fsync should have made
    // impossible): it cannot be repaired from there, so the whole log is replayed.
    set_cq_len(2);
    let store = open(&config);
    assert_eq!(store.max_offset_in_queue("T", 0), 10);
    assert_eq!(bodies(&read_all(&store, "T", 0)), expected(10));
    assert_eq!(bodies(&read_all(&store, "U", 0)), ["u0"]);

    // The queue lags the log past the checkpoint (the dispatch had not reached the file).
    for i in 10..13 {
        put(&store, "T", 0, &format!("m{i}"));
    }
    store.kill();
    set_cq_len(11);
    let store = open(&config);
    assert_eq!(store.max_offset_in_queue("T", 0), 13);
    assert_eq!(bodies(&read_all(&store, "T", 0)), expected(13));

    // Past the checkpoint: a wrong entry, entries beyond the log, and a torn entry.
    for i in 13..15 {
        put(&store, "T", 0, &format!("m{i}"));
    }
    store.kill();
    let file = OpenOptions::new().write(true).open(&cq_path).unwrap();
    let mut bytes = Vec::new();
    CqEntry {
        commit_log_offset: 0,
        size: 1,
        tags_code: 0,
    }
    .encode_into(&mut bytes);
    for i in 0..3 {
        CqEntry {
            commit_log_offset: 1_000_000 + i,
            size: 100,
            tags_code: 0,
        }
        .encode_into(&mut bytes);
    }
    bytes.extend_from_slice(&[7; 9]);
    file.write_all_at(&bytes, cq_len(14)).unwrap();
    let store = open(&config);
    assert_eq!(store.max_offset_in_queue("T", 0), 15);
    assert_eq!(fs::metadata(&cq_path).unwrap().len(), cq_len(15));
    assert_eq!(bodies(&read_all(&store, "T", 0)), expected(15));
    // Entries beyond the log in a queue the replay did not touch are cut too.
    store.kill();
    let u_path = cq_file(&config, "U", 0);
    let u = OpenOptions::new().write(true).open(&u_path).unwrap();
    u.write_all_at(&bytes[20..], cq_len(1)).unwrap();
    let store = open(&config);
    assert_eq!(store.max_offset_in_queue("U", 0), 1);
    assert_eq!(fs::metadata(&u_path).unwrap().len(), cq_len(1));
    drop(store);

    // Without a checkpoint, queues whose files vanished are rebuilt from the whole log.
    fs::remove_dir_all(config.consume_queue_dir()).unwrap();
    fs::remove_file(config.checkpoint_path()).unwrap();
    let store = open(&config);
    assert_eq!(bodies(&read_all(&store, "T", 0)), expected(15));
    assert_eq!(bodies(&read_all(&store, "U", 0)), ["u0"]);
}

#[test]
fn killed_store_keeps_every_acknowledged_put() {
    let tmp = TempDir::new("kill");
    let config = config(&tmp);
    let store = open(&config);
    for i in 0..20 {
        put(&store, "T", i % 3, &format!("m{i}"));
    }
    let end = store.max_phy_offset();
    // Nothing was flushed or checkpointed beyond the open.
    store.kill();
    let store = open(&config);
    assert_eq!(store.max_phy_offset(), end);
    let total: usize = (0..3).map(|q| read_all(&store, "T", q).len()).sum();
    assert_eq!(total, 20);
}

#[test]
fn offset_in_queue_by_time_finds_the_boundaries() {
    let tmp = TempDir::new("by-time");
    let store = open(&config(&tmp));
    let mut times = Vec::new();
    for group in 0..4 {
        for i in 0..3 {
            times.push(put(&store, "T", 0, &format!("g{group}-{i}")).store_timestamp);
        }
        // The next group is stored a few milliseconds later: wait for the clock, not a sleep.
        let last = times[times.len() - 1];
        while crate::common::clock::now_millis() <= last + 2 {
            thread::yield_now();
        }
    }
    let n = times.len() as i64;
    let lower = |t: i64| times.iter().position(|x| *x >= t).map_or(n, |p| p as i64);
    let upper = |t: i64| times.iter().rposition(|x| *x <= t).map_or(0, |p| p as i64);
    let mut probes = vec![0, times[0] - 1000, times[11] + 1000];
    for t in &times {
        probes.extend([*t - 1, *t, *t + 1]);
    }
    for t in probes {
        assert_eq!(
            store.offset_in_queue_by_time("T", 0, t),
            lower(t),
            "lower {t}"
        );
        assert_eq!(
            store.offset_in_queue_by_time_with_boundary("T", 0, t, BoundaryType::Upper),
            upper(t),
            "upper {t}"
        );
    }
    assert_eq!(store.offset_in_queue_by_time("T", 0, times[3]), 3);
    assert_eq!(store.offset_in_queue_by_time("T", 0, times[11] + 1), 12);
    assert_eq!(store.offset_in_queue_by_time("Nope", 0, times[3]), 0);
    assert_eq!(store.store_timestamp_at("T", 0, 4), Some(times[4]));
    assert_eq!(store.store_timestamp_at("T", 0, 12), None);
}

#[test]
fn look_message_by_offset_decodes_records_only_where_they_start() {
    let tmp = TempDir::new("look");
    let store = open(&config(&tmp));
    let a = put(&store, "T", 0, "alpha");
    let b = put(&store, "T", 5, "beta");
    let m = store.look_message_by_offset(b.commit_log_offset).unwrap();
    assert_eq!(
        (m.topic.as_str(), m.queue_id, &m.body[..]),
        ("T", 5, &b"beta"[..])
    );
    assert_eq!(m.msg_id, b.msg_id);
    assert_eq!(m.store_timestamp, b.store_timestamp);
    let raw = store
        .select_one_message_by_offset(a.commit_log_offset)
        .unwrap();
    assert_eq!(raw.len(), a.wrote_bytes as usize);
    assert!(store
        .look_message_by_offset(a.commit_log_offset + 1)
        .is_none());
    assert!(store
        .look_message_by_offset(store.max_phy_offset())
        .is_none());
    assert!(store.look_message_by_offset(-1).is_none());
}

#[test]
fn sync_flush_acknowledges_after_fsync() {
    let tmp = TempDir::new("sync");
    let config = StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..config(&tmp)
    };
    let store = open(&config);
    let before = store.commit_log_sync_count();
    for i in 0..5 {
        assert_eq!(
            put(&store, "T", 0, &format!("s{i}")).status,
            PutMessageStatus::PutOk
        );
    }
    assert!(store.commit_log_sync_count() >= before + 5);
    store.kill();
    let store = open(&config);
    assert_eq!(read_all(&store, "T", 0).len(), 5);
}

#[test]
fn concurrent_sync_puts_share_fsyncs() {
    let tmp = TempDir::new("group-commit");
    let config = StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..config(&tmp)
    };
    let tuning = StoreTuning {
        sync_delay: Duration::from_millis(20),
        ..StoreTuning::default()
    };
    let store = Arc::new(MessageStore::open_tuned(config, tuning).unwrap());
    let before = store.commit_log_sync_count();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                for i in 0..5 {
                    let r = store.put_message(message("T", 0, &format!("{t}-{i}"), None));
                    assert_eq!(r.unwrap().status, PutMessageStatus::PutOk);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let syncs = store.commit_log_sync_count() - before;
    assert!(syncs < 40, "40 sync puts took {syncs} fsyncs");
    assert_eq!(store.max_offset_in_queue("T", 0), 40);
}

#[test]
fn concurrent_puts_get_unique_consecutive_offsets() {
    let tmp = TempDir::new("concurrent");
    let store = Arc::new(open(&config(&tmp)));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                (0..100)
                    .map(|i| {
                        store
                            .put_message(message("T", 0, &format!("{t}-{i}"), None))
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut results: Vec<PutMessageResult> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    results.sort_by_key(|r| r.queue_offset);
    assert_eq!(
        results.iter().map(|r| r.queue_offset).collect::<Vec<_>>(),
        (0..800).collect::<Vec<_>>()
    );
    for pair in results.windows(2) {
        assert_eq!(
            pair[1].commit_log_offset,
            pair[0].commit_log_offset + i64::from(pair[0].wrote_bytes)
        );
    }
    let all = read_all(&store, "T", 0);
    assert_eq!(all.len(), 800);
    for (i, m) in all.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.commit_log_offset, results[i].commit_log_offset);
    }
}

#[test]
fn reads_run_while_a_sync_flush_is_slow() {
    let tmp = TempDir::new("read-during-fsync");
    let config = StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..config(&tmp)
    };
    // Every fsync waits at this gate until the test opens it: the test acts while an fsync is
    // known to be in progress, with no sleep guessing when it starts.
    let gate = Arc::new(FsyncGate::default());
    let tuning = StoreTuning {
        fsync_gate: Some(gate.clone()),
        ..StoreTuning::default()
    };
    let store = Arc::new(MessageStore::open_tuned(config, tuning).unwrap());
    let writer = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.put_message(message("T", 0, "slow", None)).unwrap())
    };
    assert!(
        gate.wait_reached(1, Duration::from_secs(10)),
        "the put never began its fsync"
    );
    // The record is visible, and the put lock free, while its fsync is still running.
    assert_eq!(
        store.get_message("T", 0, 0, 1, None).status,
        GetMessageStatus::Found,
        "get blocked behind the fsync"
    );
    let other = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.put_message(message("U", 0, "other", None)))
    };
    // The second put appended (it is readable) though the first fsync still holds.
    assert_eventually_store(|| {
        store.get_message("U", 0, 0, 1, None).status == GetMessageStatus::Found
    });
    gate.open();
    assert_eq!(writer.join().unwrap().status, PutMessageStatus::PutOk);
    assert!(other.join().unwrap().is_ok());
}

#[test]
fn a_slow_fsync_answers_flush_disk_timeout() {
    let tmp = TempDir::new("flush-timeout");
    let config = StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..config(&tmp)
    };
    let gate = Arc::new(FsyncGate::default());
    let tuning = StoreTuning {
        fsync_gate: Some(gate.clone()),
        sync_flush_timeout: Duration::from_millis(50),
        ..StoreTuning::default()
    };
    let store = Arc::new(MessageStore::open_tuned(config, tuning).unwrap());
    // The first put leads the fsync itself and so waits it out; one that queues behind it
    // gives up after the timeout.
    let leader = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.put_message(message("T", 0, "first", None)).unwrap())
    };
    assert!(
        gate.wait_reached(1, Duration::from_secs(10)),
        "the first put never began its fsync"
    );
    let late = store.put_message(message("T", 0, "second", None)).unwrap();
    assert_eq!(late.status, PutMessageStatus::FlushDiskTimeout);
    gate.open();
    assert_eq!(leader.join().unwrap().status, PutMessageStatus::PutOk);
    // Stored and readable all the same.
    assert_eq!(bodies(&read_all(&store, "T", 0)), ["first", "second"]);
}

/// Polls `condition` for up to 10 s (a condition, not a sleep, decides when to go on).
fn assert_eventually_store(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met in 10 s"
        );
        thread::yield_now();
    }
}

#[test]
fn prepared_transaction_records_are_not_indexed() {
    let tmp = TempDir::new("prepared");
    let config = config(&tmp);
    let store = open(&config);
    put(&store, "T", 0, "plain");
    let prepared = MessageExt {
        sys_flag: TRANSACTION_PREPARED_TYPE,
        ..message("T", 0, "half", None)
    };
    let r = store.put_message(prepared).unwrap();
    assert_eq!(r.queue_offset, 0);
    assert_eq!(store.max_offset_in_queue("T", 0), 1);
    assert_eq!(
        &store
            .look_message_by_offset(r.commit_log_offset)
            .unwrap()
            .body,
        b"half"
    );
    let committed = MessageExt {
        sys_flag: TRANSACTION_COMMIT_TYPE,
        ..message("T", 0, "commit", None)
    };
    assert_eq!(store.put_message(committed).unwrap().queue_offset, 1);
    drop(store);
    fs::remove_file(config.checkpoint_path()).unwrap();
    let store = open(&config);
    assert_eq!(bodies(&read_all(&store, "T", 0)), ["plain", "commit"]);
}

#[test]
fn bad_messages_are_refused_with_java_statuses() {
    let tmp = TempDir::new("refused");
    let store = open(&config(&tmp));
    let cases = [
        (message("", 0, "x", None), PutMessageStatus::MessageIllegal),
        (
            message("a/b", 0, "x", None),
            PutMessageStatus::MessageIllegal,
        ),
        (
            message("T", -1, "x", None),
            PutMessageStatus::MessageIllegal,
        ),
        (
            message("T", 0, &"x".repeat(MAX_MESSAGE_SIZE), None),
            PutMessageStatus::MessageIllegal,
        ),
    ];
    for (msg, status) in cases {
        let err = store.put_message(msg).unwrap_err();
        assert_eq!(err.put_status(), status, "{err}");
        assert!(!err.to_string().is_empty());
    }
    let mut big_properties = message("T", 0, "x", None);
    big_properties.properties.insert("BIG", "v".repeat(40_000));
    let err = store.put_message(big_properties).unwrap_err();
    assert!(
        matches!(err, StoreError::PropertiesSizeExceeded { .. }),
        "{err}"
    );
    assert_eq!(err.put_status(), PutMessageStatus::PropertiesSizeExceeded);
    assert_eq!(
        StoreError::Shutdown.put_status(),
        PutMessageStatus::ServiceNotAvailable
    );
    // Nothing was written.
    assert_eq!(store.max_phy_offset(), 0);
    assert!(store.topics_and_queues().is_empty());
}

#[test]
fn invalid_configs_are_refused() {
    let tmp = TempDir::new("bad-config");
    let tiny = StoreConfig {
        commit_log_segment_size: 100,
        ..config(&tmp)
    };
    assert!(matches!(
        MessageStore::open(tiny),
        Err(StoreError::InvalidConfig { .. })
    ));
    let no_interval = StoreConfig {
        flush_interval: Duration::ZERO,
        ..config(&tmp)
    };
    assert!(MessageStore::open(no_interval).is_err());
}

#[test]
fn the_flush_thread_moves_the_checkpoint() {
    let tmp = TempDir::new("flush-thread");
    let config = StoreConfig {
        flush_interval: Duration::from_millis(20),
        ..config(&tmp)
    };
    let store = open(&config);
    put(&store, "T", 0, "m");
    let end = store.max_phy_offset();
    let checkpoint = || {
        let bytes = fs::read(config.checkpoint_path()).unwrap();
        i64::from_be_bytes(bytes[8..16].try_into().unwrap())
    };
    let started = std::time::Instant::now();
    while checkpoint() != end && started.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(checkpoint(), end);
    // Killed after the flush: the next open starts from that checkpoint and scans nothing.
    store.kill();
    let store = open(&config);
    assert_eq!(read_all(&store, "T", 0).len(), 1);
}

/// The writer half of `killed_process_keeps_every_acknowledged_put`: run as a child process
/// (this test binary, with an environment variable naming the store), it puts messages until
/// killed and prints each acknowledgement.
#[test]
#[ignore = "runs only as the child process of killed_process_keeps_every_acknowledged_put"]
fn writer_process() {
    let Ok(dir) = std::env::var("RMQ_STORE_KILL_DIR") else {
        return;
    };
    let sync = std::env::var("RMQ_STORE_KILL_SYNC").is_ok_and(|v| v == "1");
    let config = StoreConfig {
        store_host: store_host(),
        commit_log_segment_size: 64 * 1024,
        flush_disk_type: if sync {
            FlushDiskType::SyncFlush
        } else {
            FlushDiskType::AsyncFlush
        },
        flush_interval: Duration::from_millis(50),
        ..StoreConfig::new(dir)
    };
    let store = MessageStore::open(config).unwrap();
    for i in 0u64.. {
        let queue_id = (i % 4) as i32;
        let body = format!("{i}-{}", "b".repeat((i % 300) as usize));
        let r = store
            .put_message(message("K", queue_id, &body, None))
            .unwrap();
        println!(
            "ack {queue_id} {} {} {body}",
            r.queue_offset, r.commit_log_offset
        );
    }
}

#[test]
fn killed_process_keeps_every_acknowledged_put() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    /// Kills the writer even when an assertion fails first.
    struct Killer(std::process::Child);
    impl Drop for Killer {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let tmp = TempDir::new("sigkill");
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(i32, i64, i64, String)> = Vec::new();
    for round in 0..5u32 {
        let mut child = Killer(
            Command::new(&exe)
                .args([
                    "broker::store::tests::writer_process",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("RMQ_STORE_KILL_DIR", tmp.path())
                .env(
                    "RMQ_STORE_KILL_SYNC",
                    if round % 2 == 1 { "1" } else { "0" },
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let want = 150 + 97 * round as usize;
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let mut got = 0;
        while got < want {
            let line = lines.next().expect("the writer stopped early").unwrap();
            let Some(rest) = line.strip_prefix("ack ") else {
                continue;
            };
            let mut parts = rest.splitn(4, ' ');
            let mut field = || parts.next().unwrap().to_string();
            let (queue_id, queue_offset, offset, body) = (field(), field(), field(), field());
            acked.push((
                queue_id.parse().unwrap(),
                queue_offset.parse().unwrap(),
                offset.parse().unwrap(),
                body,
            ));
            got += 1;
        }
        // SIGKILL while the writer is still putting.
        drop(child);

        let store = open(&StoreConfig {
            commit_log_segment_size: 64 * 1024,
            ..config(&tmp)
        });
        for (queue_id, queue_offset, offset, body) in &acked {
            let m = store
                .look_message_by_offset(*offset)
                .unwrap_or_else(|| panic!("round {round}: acknowledged offset {offset} lost"));
            assert_eq!(String::from_utf8_lossy(&m.body), body.as_str());
            let r = store.get_message("K", *queue_id, *queue_offset, 1, None);
            assert_eq!(r.status, GetMessageStatus::Found, "round {round}");
            assert_eq!(r.messages[0].len(), m.store_size as usize);
            let got = &decode_messages(&r.messages[0], false).unwrap()[0];
            assert_eq!(got.commit_log_offset, *offset);
        }
        // Leave it as a crash would, so the next writer recovers an unclean store.
        store.kill();
    }
}

#[test]
fn messages_are_found_by_key_and_unique_id_after_a_restart_and_a_crash() {
    let dir = TempDir::new("index");
    let config = config(&dir);
    let bodies_of = |result: &QueryMessageResult| -> Vec<String> {
        result
            .messages
            .iter()
            .map(|r| String::from_utf8(decode_message_of(r).body.into_vec()).unwrap())
            .collect()
    };
    let store = open(&config);
    let first = put(&store, "Orders", 0, "alpha");
    put(&store, "Orders", 1, "beta");
    // The same key in another topic is another key.
    put(&store, "Refunds", 0, "alpha");
    let mut two_keys = message("Orders", 0, "gamma", None);
    two_keys.properties.insert("KEYS", "order-7 customer-9");
    store.put_message(two_keys).unwrap();
    let all = (0, i64::MAX);
    let found = store.query_message("Orders", "key-alpha", 32, all.0, all.1);
    assert_eq!(bodies_of(&found), ["alpha"]);
    assert_eq!(
        found.messages[0],
        store
            .select_one_message_by_offset(first.commit_log_offset)
            .unwrap()
    );
    assert!(found.index_last_update_timestamp > 0);
    assert_eq!(
        bodies_of(&store.query_message("Orders", "UNIQbeta", 32, all.0, all.1)),
        ["beta"]
    );
    assert_eq!(
        bodies_of(&store.query_message("Orders", "customer-9", 32, all.0, all.1)),
        ["gamma"]
    );
    assert!(store
        .query_message("Orders", "nobody", 32, all.0, all.1)
        .messages
        .is_empty());
    // Outside the time range: nothing.
    assert!(store
        .query_message("Orders", "key-alpha", 32, 0, 1)
        .messages
        .is_empty());
    drop(store);

    let store = open(&config);
    assert_eq!(
        bodies_of(&store.query_message("Orders", "key-alpha", 32, all.0, all.1)),
        ["alpha"]
    );
    put(&store, "Orders", 0, "delta");
    // Killed before any flush: the index entries of "delta" are re-read from the log.
    store.kill();
    let store = open(&config);
    assert_eq!(
        bodies_of(&store.query_message("Orders", "key-delta", 32, all.0, all.1)),
        ["delta"]
    );
    assert_eq!(
        bodies_of(&store.query_message("Orders", "key-alpha", 32, all.0, all.1)),
        ["alpha"],
        "no entry indexed twice"
    );
    // maxNum bounds the answer.
    for i in 0..5 {
        let mut m = message("Orders", 2, &format!("many {i}"), None);
        m.properties.insert("KEYS", "shared");
        store.put_message(m).unwrap();
    }
    assert_eq!(
        store
            .query_message("Orders", "shared", 3, all.0, all.1)
            .messages
            .len(),
        3
    );
    // Removing the index rebuilds it from the whole log.
    drop(store);
    fs::remove_dir_all(config.index_dir()).unwrap();
    let store = open(&config);
    assert_eq!(
        store
            .query_message("Orders", "shared", 64, all.0, all.1)
            .messages
            .len(),
        5
    );
}

fn decode_message_of(record: &[u8]) -> MessageExt {
    crate::protocol::message::decode_message(record, false)
        .unwrap()
        .0
}

#[test]
fn retention_deletes_segments_then_queue_and_index_files_and_keeps_offsets_and_queries() {
    let tmp = TempDir::new("retention");
    let config = StoreConfig {
        commit_log_segment_size: 4096,
        consume_queue_file_entries: 4,
        index_layout: super::IndexLayout {
            hash_slot_num: 8,
            index_num: 10,
        },
        file_reserved_time: Duration::ZERO,
        // Deleting is done by hand below: the cleaning thread must not race the test.
        clean_resource_interval: Duration::from_secs(3600),
        delete_files_interval: Duration::ZERO,
        ..config(&tmp)
    };
    let store = open(&config);
    let mut offsets = Vec::new();
    for i in 0..100 {
        offsets.push(put(&store, "Kept", 0, &format!("body-{i:02}")).commit_log_offset);
    }
    let newest_key = "key-body-99";
    let all = (0, i64::MAX);
    assert_eq!(
        store
            .query_message("Kept", newest_key, 32, all.0, all.1)
            .messages
            .len(),
        1
    );
    let index_files = || fs::read_dir(config.index_dir()).unwrap().count();
    let before_index_files = index_files();
    assert!(segment_files(&config).len() > 3);

    // Not its hour and the disk is not full: nothing happens unless asked.
    let report = store.clean_expired_files(true);
    assert!(report.commit_log_files >= 3, "{report:?}");
    assert_eq!(
        segment_files(&config).len(),
        1,
        "all but the newest segment"
    );
    assert!(report.consume_queue_files > 0, "{report:?}");
    assert!(report.index_files > 0, "{report:?}");
    assert!(index_files() < before_index_files);
    assert!(report.bytes_freed > 0);

    let min_phy = store.min_phy_offset();
    let min = store.min_offset_in_queue("Kept", 0);
    let first_kept = offsets.iter().position(|o| *o >= min_phy).unwrap() as i64;
    assert_eq!(
        min, first_kept,
        "the queue starts at the first surviving record"
    );
    assert_eq!(store.max_offset_in_queue("Kept", 0), 100);
    // Below the minimum: OFFSET_TOO_SMALL and the minimum as the next offset.
    let too_small = store.get_message("Kept", 0, 0, 32, None);
    assert_eq!(too_small.status, GetMessageStatus::OffsetTooSmall);
    assert_eq!(too_small.next_begin_offset, min);
    let from_min = store.get_message("Kept", 0, min, 32, None);
    assert_eq!(from_min.status, GetMessageStatus::Found);
    // Queries skip what is gone and still find what is kept.
    assert!(store
        .query_message("Kept", "key-body-00", 32, all.0, all.1)
        .messages
        .is_empty());
    assert_eq!(
        store
            .query_message("Kept", newest_key, 32, all.0, all.1)
            .messages
            .len(),
        1
    );
    // A restart keeps the minimum.
    drop(store);
    let store = open(&config);
    assert_eq!(store.min_offset_in_queue("Kept", 0), min);
    assert_eq!(put(&store, "Kept", 0, "after").queue_offset, 100);
}

#[test]
fn cleaning_waits_for_its_hour_or_a_full_disk() {
    let tmp = TempDir::new("retention-hour");
    let now_hour = super::disk::local_hour(crate::common::clock::now_millis() / 1000);
    let other_hour = (now_hour + 12) % 24;
    let config = StoreConfig {
        commit_log_segment_size: 4096,
        file_reserved_time: Duration::ZERO,
        delete_when: DeleteWhen::parse(&format!("{other_hour:02}")).unwrap(),
        clean_resource_interval: Duration::from_secs(3600),
        ..config(&tmp)
    };
    let store = open(&config);
    for i in 0..40 {
        put(&store, "Hour", 0, &format!("body-{i:02}"));
    }
    let segments = segment_files(&config).len();
    assert_eq!(store.clean_expired_files(false).commit_log_files, 0);
    assert_eq!(segment_files(&config).len(), segments);
    // Its hour: expired segments go.
    store.update_config(&StoreConfig {
        delete_when: DeleteWhen::parse(&format!("{now_hour:02}")).unwrap(),
        ..config.clone()
    });
    assert!(store.clean_expired_files(false).commit_log_files > 0);
}
