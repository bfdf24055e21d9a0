//! The Apache C++ client (PyPI rocketmq==0.4.4) sends batches through our reference name
//! server and broker: it writes each batch as SEND_MESSAGE (code 10) with `batch`="1", not
//! SEND_BATCH_MESSAGE. Our Rust PullConsumer and the C++ PushConsumer read every message back
//! intact.

#![cfg(feature = "servers")]

mod common;
mod cpp_peer;

use std::collections::BTreeMap;

use std::time::{Duration, Instant};

use common::assert_eventually;
use cpp_peer::{consumed_by_seq, message_body, run_peer, temp_store};
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{MessageExt, PullConsumer, PullStatus};
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::message::message_const::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX;

const COUNT: u64 = 200;
const BATCH: u64 = 10;
/// Messages sent afterwards with small bodies only.
const SMALL_COUNT: u64 = 100;

/// cpp_peer.py's default sizes: every 10th message 5,000 bytes, the rest 64.
fn size_of(seq: u64) -> usize {
    if seq % 10 == 0 {
        5000
    } else {
        64
    }
}

/// Every message of `topic`, pulled queue by queue from its min offset to its max offset.
fn pull_all(consumer: &PullConsumer, topic: &str) -> Vec<MessageExt> {
    let mut all = Vec::new();
    for queue in consumer.fetch_subscribe_message_queues(topic).unwrap() {
        let mut offset = consumer.min_offset(&queue).unwrap();
        let max = consumer.max_offset(&queue).unwrap();
        while offset < max {
            let result = consumer.pull(&queue, offset, 32).unwrap();
            assert_eq!(
                result.status,
                PullStatus::Found,
                "pull of {queue} at {offset} (max {max})"
            );
            assert!(!result.messages.is_empty());
            offset = result.next_begin_offset;
            all.extend(result.messages);
        }
        assert_eq!(offset, max, "{queue} read to its end");
    }
    all
}

/// Runs the C++ batch producer for `count` messages from `start`; returns the first index of
/// each message's batch, by message index.
fn produce_batches(
    ns: &str,
    topic: &str,
    start: u64,
    count: u64,
    size: Option<usize>,
) -> BTreeMap<u64, u64> {
    let (start_arg, count_arg, batch_arg) =
        (start.to_string(), count.to_string(), BATCH.to_string());
    let size_arg = size.unwrap_or(0).to_string();
    let produced = run_peer(&[
        "produce",
        "--namesrv",
        ns,
        "--topic",
        topic,
        "--group",
        "PID_cpp_batch",
        "--start",
        &start_arg,
        "--count",
        &count_arg,
        "--mode",
        "batch",
        "--batch-size",
        &batch_arg,
        "--size",
        &size_arg,
    ]);
    let summary = produced.last().expect("summary");
    assert_eq!(
        summary["ok"],
        count,
        "every batch succeeded: {:?}",
        produced
            .iter()
            .filter(|r| r["ok"] == false)
            .take(3)
            .collect::<Vec<_>>()
    );
    produced
        .iter()
        .filter(|r| r.get("summary").is_none())
        .map(|r| (r["i"].as_u64().unwrap(), r["batch"].as_u64().unwrap()))
        .collect()
}

#[test]
fn cpp_batches_through_our_servers_read_back_intact() {
    common::init_logging();
    let started = Instant::now();
    let namesrv = NameServer::builder()
        .listen("127.0.0.1:0")
        .start()
        .expect("name server");
    let ns = namesrv.local_addr().to_string();
    let store = temp_store("cpp-batch");
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store)
        .name_server(&ns)
        .register_interval(Duration::from_secs(5))
        .start()
        .expect("broker starts");
    let topic = "CppBatchTopic";

    // 200 messages in batches of 10 whose first message has a 5,000-byte body: each batch
    // body is over 4 KiB, which this C++ client zlib-compresses as a whole (sysFlag 1).
    let mut batch_of = produce_batches(&ns, topic, 0, COUNT, None);
    // 100 more with 64-byte bodies: batches under 4 KiB, sent uncompressed.
    batch_of.extend(produce_batches(&ns, topic, COUNT, SMALL_COUNT, Some(64)));
    let total = COUNT + SMALL_COUNT;
    let size = |seq: u64| if seq < COUNT { size_of(seq) } else { 64 };
    let produced_at = started.elapsed();

    // The broker registers the topic it auto-created; then our pull consumer reads every
    // message back from it.
    assert_eventually(
        &format!("a route for {topic} at the name server"),
        Duration::from_secs(20),
        || namesrv.topic_route(topic).is_some(),
    );
    let consumer = PullConsumer::builder("CID_rust_batch_reader")
        .name_server(&ns)
        .start()
        .expect("pull consumer");
    let pulled = pull_all(&consumer, topic);
    consumer.shutdown();
    let mut by_seq_pulled: BTreeMap<u64, MessageExt> = BTreeMap::new();
    for m in pulled {
        let seq: u64 = m
            .property("seq")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no seq in {m:?}"));
        assert!(
            by_seq_pulled.insert(seq, m).is_none(),
            "message {seq} stored twice"
        );
    }
    assert_eq!(
        by_seq_pulled.keys().copied().collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>(),
        "every message stored once"
    );
    let mut uniq_keys = BTreeMap::new();
    for (&seq, m) in &by_seq_pulled {
        assert_eq!(
            m.body,
            message_body(seq, size(seq)).into_bytes(),
            "body of {seq}"
        );
        assert_eq!(
            m.tags(),
            Some(if seq % 2 == 0 { "TagA" } else { "TagB" }),
            "tags of {seq}"
        );
        assert_eq!(
            m.keys(),
            Some(format!("key-{seq}").as_str()),
            "keys of {seq}"
        );
        assert_eq!(
            m.property("custom"),
            Some(format!("value-{seq}").as_str()),
            "property of {seq}"
        );
        let uniq = m
            .property(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
            .unwrap_or_else(|| panic!("message {seq} has no UNIQ_KEY"));
        assert!(
            uniq_keys.insert(uniq.to_string(), seq).is_none(),
            "UNIQ_KEY {uniq} of {seq} is not unique"
        );
        // A batch is stored as a unit: one queue, consecutive offsets, in the batch's order.
        let first = batch_of[&seq];
        let head = &by_seq_pulled[&first];
        assert_eq!(m.queue_id, head.queue_id, "queue of {seq} (batch {first})");
        assert_eq!(
            m.queue_offset,
            head.queue_offset + (seq - first) as i64,
            "queue offset of {seq} (batch {first})"
        );
    }

    // The C++ PushConsumer reads them all back too.
    let expect = total.to_string();
    let consumed = run_peer(&[
        "consume",
        "--namesrv",
        &ns,
        "--topic",
        topic,
        "--group",
        "CID_cpp_batch_reader",
        "--expect",
        &expect,
        "--timeout",
        "90",
        "--quiet",
        "3",
    ]);
    let got = consumed_by_seq("cpp batch", &consumed);
    let missing: Vec<u64> = (0..total)
        .filter(|s| !got.contains_key(s))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {total} received by the C++ consumer; first missing: {missing:?}",
        got.len()
    );
    assert_eq!(got.len() as u64, total, "nothing unexpected");
    for (&seq, record) in &got {
        let stored = &by_seq_pulled[&seq];
        assert_eq!(
            record["body"].as_str(),
            Some(message_body(seq, size(seq)).as_str()),
            "C++ consumer: body of {seq}"
        );
        assert_eq!(
            record["tags"].as_str(),
            stored.tags(),
            "C++ consumer: tags of {seq}"
        );
        assert_eq!(
            record["keys"].as_str(),
            stored.keys(),
            "C++ consumer: keys of {seq}"
        );
        assert_eq!(
            record["custom"].as_str(),
            Some(format!("value-{seq}").as_str()),
            "C++ consumer: property of {seq}"
        );
        assert_eq!(
            record["id"].as_str(),
            stored.property(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
            "C++ consumer: message id of {seq} is its UNIQ_KEY"
        );
        assert_eq!(
            record["queue_id"].as_i64(),
            Some(i64::from(stored.queue_id)),
            "C++ consumer: queue of {seq}"
        );
        assert_eq!(
            record["queue_offset"].as_i64(),
            Some(stored.queue_offset),
            "C++ consumer: queue offset of {seq}"
        );
    }
    eprintln!(
        "produced {total} messages in batches by {produced_at:?}, all checked by {:?}",
        started.elapsed()
    );

    broker.shutdown();
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}
