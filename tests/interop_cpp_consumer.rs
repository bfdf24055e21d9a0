//! The Apache C++ client (PyPI rocketmq==0.4.4, via tests/interop/cpp_peer.py) produces
//! through our name server and broker, and our consumers read its messages: the push consumer
//! (concurrent and orderly) and the lite pull consumer each get every message with identical
//! body, tags, keys and properties; the orderly one each queue in order. Then a group of one
//! of our push consumers and one C++ push consumer: the queues are split between them, every
//! message is consumed once in all, and when the C++ member leaves ours takes its queues.

#![cfg(feature = "servers")]

mod common;
mod cpp_peer;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::assert_eventually;
use cpp_peer::{message_body, run_peer, temp_store};
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeOrderlyStatus, LitePullConsumer, MessageExt,
    PushConsumer,
};
use rocketmq_blocking::namesrv::NameServer;

/// Messages the C++ producer sends per topic.
const COUNT: u64 = 60;

struct Cluster {
    broker: Broker,
    namesrv: NameServer,
    store: std::path::PathBuf,
}

impl Cluster {
    fn start(name: &str) -> Cluster {
        common::init_logging();
        let store = temp_store(name);
        let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
        let broker = Broker::builder()
            .listen("127.0.0.1:0")
            .store_dir(&store)
            .name_server(&namesrv.local_addr().to_string())
            .register_interval(Duration::from_secs(5))
            .start()
            .unwrap();
        Cluster {
            broker,
            namesrv,
            store,
        }
    }

    fn ns(&self) -> String {
        self.namesrv.local_addr().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.broker.shutdown();
        self.namesrv.shutdown();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// The C++ producer sends `COUNT` messages to `topic` (`mode`: sync, orderly, ...).
fn cpp_produce(cluster: &Cluster, topic: &str, mode: &str, start: u64) {
    let records = run_peer(&[
        "produce",
        "--namesrv",
        &cluster.ns(),
        "--topic",
        topic,
        "--count",
        &COUNT.to_string(),
        "--start",
        &start.to_string(),
        "--mode",
        mode,
        "--group",
        "PID_cpp_to_rust",
    ]);
    let summary = records.last().expect("a summary line");
    assert_eq!(summary["ok"], COUNT, "the C++ producer's sends: {summary}");
}

/// Checks one consumed message against what cpp_peer.py sent as message `seq`.
fn check_message(what: &str, m: &MessageExt) -> u64 {
    let seq: u64 = m
        .property("seq")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no seq in {:?}", m.properties));
    let size = if seq % 10 == 0 { 5000 } else { 64 };
    assert_eq!(
        m.body,
        message_body(seq, size).as_bytes(),
        "{what}: body of {seq}"
    );
    assert_eq!(
        m.keys(),
        Some(format!("key-{seq}").as_str()),
        "{what}: keys of {seq}"
    );
    let tag = if seq % 2 == 0 { "TagA" } else { "TagB" };
    assert_eq!(m.tags(), Some(tag), "{what}: tags of {seq}");
    assert_eq!(
        m.property("custom"),
        Some(format!("value-{seq}").as_str()),
        "{what}: property of {seq}"
    );
    seq
}

type Received = Arc<Mutex<Vec<MessageExt>>>;

fn distinct_seqs(what: &str, received: &Received) -> BTreeSet<u64> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|m| check_message(what, m))
        .collect()
}

#[test]
fn our_consumers_read_what_the_cpp_producer_sent() {
    let cluster = Cluster::start("cpp-to-rust");
    cpp_produce(&cluster, "CppToRust", "sync", 0);
    cpp_produce(&cluster, "CppToRustOrderly", "orderly", 0);
    let everything: BTreeSet<u64> = (0..COUNT).collect();

    // Push, concurrently.
    let received: Received = Arc::default();
    let log = received.clone();
    let push = PushConsumer::builder("CG_rust_push")
        .name_server(cluster.ns())
        .subscribe("CppToRust", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            log.lock().unwrap().extend(messages.iter().cloned());
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    assert_eventually("every message pushed", Duration::from_secs(30), || {
        received.lock().unwrap().len() >= COUNT as usize
    });
    push.shutdown();
    assert_eq!(distinct_seqs("push", &received), everything);
    assert_eq!(
        received.lock().unwrap().len(),
        COUNT as usize,
        "no duplicate"
    );

    // Push, orderly: each queue's messages in send order.
    let received: Received = Arc::default();
    let log = received.clone();
    let orderly = PushConsumer::builder("CG_rust_orderly")
        .name_server(cluster.ns())
        .subscribe("CppToRustOrderly", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .message_listener_orderly(move |messages: &[MessageExt], _: &mut _| {
            log.lock().unwrap().extend(messages.iter().cloned());
            ConsumeOrderlyStatus::Success
        })
        .start()
        .unwrap();
    assert_eventually("every message, orderly", Duration::from_secs(30), || {
        received.lock().unwrap().len() >= COUNT as usize
    });
    orderly.shutdown();
    assert_eq!(distinct_seqs("orderly", &received), everything);
    let mut by_queue: BTreeMap<i32, Vec<(i64, u64)>> = BTreeMap::new();
    for m in received.lock().unwrap().iter() {
        let seq: u64 = m.property("seq").unwrap().parse().unwrap();
        by_queue
            .entry(m.queue_id)
            .or_default()
            .push((m.queue_offset, seq));
    }
    assert!(
        by_queue.len() > 1,
        "send_orderly spread the messages over queues"
    );
    for (queue, arrived) in &by_queue {
        assert!(
            arrived
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1),
            "queue {queue} out of order: {arrived:?}"
        );
    }

    // Lite pull.
    let lite = LitePullConsumer::builder("CG_rust_lite")
        .name_server(cluster.ns())
        .subscribe("CppToRust", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .start()
        .unwrap();
    let received: Received = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().unwrap().len() < COUNT as usize && Instant::now() < deadline {
        let batch = lite.poll(Duration::from_millis(500));
        received.lock().unwrap().extend(batch);
    }
    lite.shutdown();
    assert_eq!(distinct_seqs("lite", &received), everything);
}

#[test]
fn a_group_of_our_consumer_and_the_cpp_consumer_splits_the_queues() {
    let cluster = Cluster::start("mixed-group");
    let group = "CG_mixed";
    let topic = "MixedGroupTopic";
    // The topic exists (4 queues) before either member starts.
    cpp_produce(&cluster, topic, "sync", 0);

    let received: Received = Arc::default();
    let log = received.clone();
    let ours = PushConsumer::builder(group)
        .name_server(cluster.ns())
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .persist_offset_interval(Duration::from_millis(200))
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            log.lock().unwrap().extend(messages.iter().cloned());
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    assert_eventually(
        "ours consumed the first batch",
        Duration::from_secs(30),
        || received.lock().unwrap().len() >= COUNT as usize,
    );
    received.lock().unwrap().clear();
    // The first batch's offsets are committed before the C++ member joins: otherwise it may
    // start its queues from the beginning (at-least-once: a member that joins reads from the
    // last commit).
    assert_eventually("offsets committed", Duration::from_secs(30), || {
        (0..4).all(|q| {
            cluster.broker.consumer_offset(group, topic, q)
                == Some(cluster.broker.store().max_offset_in_queue(topic, q))
        })
    });
    let held = |consumer: &PushConsumer| -> BTreeSet<i32> {
        consumer
            .running_info()
            .mq_table
            .keys()
            .filter(|q| q.topic == topic)
            .map(|q| q.queue_id)
            .collect()
    };
    assert_eq!(held(&ours).len(), 4, "alone, ours holds every queue");

    // The C++ member joins; it stops once it has its share: two of the four queues, which the
    // C++ producer's round robin gives half the messages.
    let ns = cluster.ns();
    let cpp = thread::spawn(move || {
        run_peer(&[
            "consume",
            "--namesrv",
            &ns,
            "--topic",
            topic,
            "--group",
            group,
            "--expect",
            &(COUNT / 2).to_string(),
            "--timeout",
            "60",
            "--quiet",
            "1",
        ])
    });
    assert_eventually(
        "ours gives up half the queues",
        Duration::from_secs(30),
        || held(&ours).len() == 2,
    );
    let ours_queues = held(&ours);
    // The C++ member's heartbeat is in (ours let go of its queues); what is sent to its
    // queues waits there until it pulls.
    cpp_produce(&cluster, topic, "sync", 1000);
    let cpp_records = cpp.join().expect("the C++ consumer");
    assert_eventually("ours consumed its share", Duration::from_secs(30), || {
        received.lock().unwrap().len() >= (COUNT / 2) as usize
    });
    let ours_got: Vec<MessageExt> = std::mem::take(&mut *received.lock().unwrap());
    let cpp_got: Vec<&serde_json::Value> = cpp_records
        .iter()
        .filter(|r| r.get("summary").is_none())
        .collect();
    let ours_seqs: BTreeSet<u64> = ours_got.iter().map(|m| check_message("ours", m)).collect();
    let cpp_seqs: BTreeSet<u64> = cpp_got
        .iter()
        .map(|r| r["seq"].as_str().unwrap().parse().unwrap())
        .collect();
    let cpp_queues: BTreeSet<i64> = cpp_got
        .iter()
        .map(|r| r["queue_id"].as_i64().unwrap())
        .collect();
    eprintln!(
        "ours held {ours_queues:?} and consumed {}; the C++ member consumed {} from {cpp_queues:?}",
        ours_seqs.len(),
        cpp_seqs.len()
    );
    let all: BTreeSet<u64> = (1000..1000 + COUNT).collect();
    assert_eq!(
        ours_seqs.len() + cpp_seqs.len(),
        COUNT as usize,
        "each message once"
    );
    assert_eq!(&ours_seqs | &cpp_seqs, all, "every message consumed");
    assert!(
        cpp_queues
            .iter()
            .all(|q| !ours_queues.contains(&(*q as i32))),
        "a queue consumed by both members"
    );
    assert!(
        !cpp_seqs.is_empty() && !ours_seqs.is_empty(),
        "both members consumed"
    );

    // The C++ member left: ours takes every queue again, and gets everything sent next.
    assert_eventually(
        "ours holds every queue again",
        Duration::from_secs(30),
        || held(&ours).len() == 4,
    );
    cpp_produce(&cluster, topic, "sync", 2000);
    assert_eventually("ours got what followed", Duration::from_secs(30), || {
        received.lock().unwrap().len() >= COUNT as usize
    });
    ours.shutdown();
}
