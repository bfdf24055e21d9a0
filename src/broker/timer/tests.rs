//! The timer store against a real message store, with the clock passed in.

use std::sync::Arc;

use super::*;
use crate::broker::store::{MessageStore, StoreConfig};
use crate::common::temp_dir::TempDir;
use crate::protocol::message::message_const::{
    PROPERTY_TIMER_DELIVER_MS, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::protocol::message::{decode_messages, MessageProperties};

const SETTINGS: TimerSettings = TimerSettings {
    enabled: true,
    precision_ms: 1000,
    max_delay_sec: 600,
};
const T0: i64 = 1_700_000_000_000;

fn open_store(dir: &TempDir) -> Arc<MessageStore> {
    Arc::new(MessageStore::open(StoreConfig::new(dir.path())).unwrap())
}

/// Sends a timer message due at `deliver_ms` as the put path would, at time `now_ms`.
fn send(store: &MessageStore, id: &str, deliver_ms: i64, now_ms: i64) {
    let mut properties = MessageProperties::new();
    properties.insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
    properties.insert(PROPERTY_TIMER_DELIVER_MS, deliver_ms.to_string());
    let mut message = MessageExt {
        topic: "Orders".into(),
        queue_id: 1,
        body: id.as_bytes().to_vec().into(),
        properties,
        born_timestamp: now_ms,
        ..MessageExt::default()
    };
    transform_timer_message(&mut message, &SETTINGS, now_ms).unwrap();
    assert_eq!(message.topic, TIMER_TOPIC);
    store.put_message(message).unwrap();
}

/// A recall marker for `id`, as the RECALL_MESSAGE processor stores it.
fn recall(store: &MessageStore, id: &str, out_ms: i64, now_ms: i64) {
    let mut properties = MessageProperties::new();
    properties.insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
    properties.insert(PROPERTY_TIMER_DEL_UNIQKEY, format!("Orders+{id}"));
    properties.insert(PROPERTY_TIMER_DELIVER_MS, (out_ms + 1).to_string());
    let mut marker = MessageExt {
        topic: "Orders".into(),
        body: b"0".to_vec().into(),
        properties,
        ..MessageExt::default()
    };
    transform_timer_message(&mut marker, &SETTINGS, now_ms).unwrap();
    store.put_message(marker).unwrap();
}

/// The ids delivered to `Orders` queue 1, in order.
fn delivered(store: &MessageStore) -> Vec<String> {
    let mut ids = Vec::new();
    let mut offset = 0;
    loop {
        // A get answers at most 32 messages.
        let found = store.get_message("Orders", 1, offset, 32, None);
        if found.messages.is_empty() {
            return ids;
        }
        offset = found.next_begin_offset;
        for m in found
            .messages
            .iter()
            .flat_map(|record| decode_messages(record, false).unwrap())
        {
            assert_eq!(m.property(PROPERTY_REAL_TOPIC), None);
            assert!(m.property(PROPERTY_TIMER_ENQUEUE_MS).is_some());
            ids.push(String::from_utf8(m.body.to_vec()).unwrap());
        }
    }
}

#[test]
fn delivered_once_their_slot_has_passed_never_before() {
    let dir = TempDir::new("timer-due").unwrap();
    let store = open_store(&dir);
    let timer = TimerMessageStore::open(SETTINGS, store.clone(), dir.path(), T0).unwrap();
    send(&store, "a", T0 + 2_500, T0);
    send(&store, "b", T0 + 3_000, T0);
    send(&store, "c", T0 + 3_001, T0);
    timer.run_once(T0 + 100);
    assert_eq!(timer.runtime_info(T0 + 100)[0], ("timerCongestNum", 3));
    timer.run_once(T0 + 2_999);
    assert!(delivered(&store).is_empty(), "nothing before its time");
    timer.run_once(T0 + 3_000);
    assert_eq!(delivered(&store), vec!["b", "a"], "a and b are due by 3000");
    timer.run_once(T0 + 3_999);
    assert_eq!(delivered(&store).len(), 2);
    timer.run_once(T0 + 4_000);
    assert_eq!(delivered(&store), vec!["b", "a", "c"]);
    assert_eq!(timer.runtime_info(T0 + 4_000)[0], ("timerCongestNum", 0));
}

#[test]
fn a_recalled_message_is_never_delivered() {
    let dir = TempDir::new("timer-recall").unwrap();
    let store = open_store(&dir);
    let timer = TimerMessageStore::open(SETTINGS, store.clone(), dir.path(), T0).unwrap();
    send(&store, "keep", T0 + 5_500, T0);
    send(&store, "drop", T0 + 5_500, T0);
    timer.run_once(T0 + 100);
    recall(&store, "drop", T0 + 5_000, T0 + 200);
    timer.run_once(T0 + 6_000);
    assert_eq!(delivered(&store), vec!["keep"]);
}

#[test]
fn waiting_messages_survive_a_restart() {
    let dir = TempDir::new("timer-restart").unwrap();
    let store = open_store(&dir);
    let timer = TimerMessageStore::open(SETTINGS, store.clone(), dir.path(), T0).unwrap();
    for i in 0..20 {
        send(&store, &format!("m{i}"), T0 + 1_000 + i * 500, T0);
    }
    timer.run_once(T0 + 4_000);
    let before = delivered(&store).len();
    assert!(before > 0 && before < 20);
    timer.persist(T0 + 4_000).unwrap();
    drop(timer);
    // A message arriving while the timer is down is taken in after the restart.
    send(&store, "late", T0 + 9_000, T0 + 5_000);
    let timer = TimerMessageStore::open(SETTINGS, store.clone(), dir.path(), T0 + 6_000).unwrap();
    timer.run_once(T0 + 20_000);
    let mut all = delivered(&store);
    all.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    expected.push("late".into());
    expected.sort();
    assert_eq!(all, expected);
}

#[test]
fn a_crash_after_delivering_loses_nothing_and_duplicates_nothing() {
    // The store stamps messages with the real clock, which the recovery window is in.
    let t0 = crate::common::clock::now_millis() / 1000 * 1000;
    let dir = TempDir::new("timer-crash").unwrap();
    let store = open_store(&dir);
    let timer = TimerMessageStore::open(SETTINGS, store.clone(), dir.path(), t0).unwrap();
    for i in 0..30 {
        send(&store, &format!("m{i}"), t0 + 1_000 + i * 200, t0);
    }
    timer.run_once(t0 + 100);
    let checkpoint = std::fs::read(dir.path().join("config/timercheck")).unwrap();
    // Deliver half, then "crash": the checkpoint on disk is the one from before.
    timer.run_once(t0 + 4_000);
    let delivered_before_crash = delivered(&store).len();
    assert!(delivered_before_crash > 5);
    drop(timer);
    std::fs::write(dir.path().join("config/timercheck"), &checkpoint).unwrap();

    let timer = TimerMessageStore::open(SETTINGS, store.clone(), dir.path(), t0 + 4_500).unwrap();
    timer.run_once(t0 + 10_000);
    let all = delivered(&store);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(all.len(), 30, "each exactly once: {all:?}");
    assert_eq!(unique.len(), 30);
}

#[test]
fn past_due_and_bad_timer_queue_entries() {
    let dir = TempDir::new("timer-late").unwrap();
    let store = open_store(&dir);
    let timer = TimerMessageStore::open(SETTINGS, store.clone(), dir.path(), T0).unwrap();
    // Taken in only after its slot was delivered (the timer thread was behind): at once.
    timer.run_once(T0 + 5_000);
    send(&store, "behind", T0 + 2_000, T0);
    timer.run_once(T0 + 5_100);
    assert_eq!(delivered(&store), vec!["behind"]);
    // A timer-queue entry without TIMER_OUT_MS (not ours) is delivered, not stuck.
    let mut odd = MessageExt {
        topic: TIMER_TOPIC.into(),
        body: b"odd".to_vec().into(),
        ..MessageExt::default()
    };
    odd.properties.insert(PROPERTY_REAL_TOPIC, "Orders");
    odd.properties.insert(PROPERTY_REAL_QUEUE_ID, "1");
    store.put_message(odd).unwrap();
    timer.run_once(T0 + 5_200);
    assert_eq!(delivered(&store), vec!["behind", "odd"]);
}
