//! The Apache C++ client (PyPI rocketmq==0.4.4) producing and consuming through our reference
//! name server and broker: the proof that they serve a real client written by others. The
//! consumer gets what a trace hook reads (`MSG_REGION`, `TRACE_ON`), as from a Java broker.

#![cfg(feature = "servers")]

mod cpp_peer;

use std::path::Path;
use std::time::Duration;

use cpp_peer::{consumed_by_seq, message_body, run_peer, temp_store, Record};
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::namesrv::NameServer;

fn start_broker(listen: &str, namesrv: &str, store: &Path) -> Broker {
    Broker::builder()
        .listen(listen)
        .store_dir(store)
        .name_server(namesrv)
        .register_interval(Duration::from_secs(5))
        .start()
        .expect("broker starts")
}

fn check_message(seq: u64, record: &Record) {
    let size = if seq % 10 == 0 { 5000 } else { 64 };
    assert_eq!(
        record["body"].as_str(),
        Some(message_body(seq, size).as_str()),
        "body of {seq}"
    );
    assert_eq!(
        record["tags"].as_str(),
        Some(if seq % 2 == 0 { "TagA" } else { "TagB" }),
        "tags of {seq}"
    );
    assert_eq!(
        record["keys"].as_str(),
        Some(format!("key-{seq}").as_str()),
        "keys of {seq}"
    );
    assert_eq!(
        record["custom"].as_str(),
        Some(format!("value-{seq}").as_str()),
        "property of {seq}"
    );
    // Stored by our broker as Java 5's does: a consumer's trace hook needs the region (Java's
    // drops its record without one).
    assert_eq!(
        record["region"].as_str(),
        Some("DefaultRegion"),
        "MSG_REGION of {seq}"
    );
    assert_eq!(
        record["trace_on"].as_str(),
        Some("true"),
        "TRACE_ON of {seq}"
    );
}

#[test]
fn cpp_producer_and_push_consumer_through_our_servers() {
    let namesrv = NameServer::builder()
        .listen("127.0.0.1:0")
        .start()
        .expect("name server");
    let ns = namesrv.local_addr().to_string();
    let store = temp_store("servers");
    let broker = start_broker("127.0.0.1:0", &ns, &store);
    let broker_listen = broker.local_addr().to_string();
    let topic = "CppInteropTopic";

    // 1,000 messages: sync, oneway and orderly in turn; every 10th is 5,000 bytes, which the
    // C++ client compresses.
    let produced = run_peer(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        topic,
        "--count",
        "1000",
        "--mode",
        "mixed",
    ]);
    let summary = produced.last().expect("summary");
    assert_eq!(
        summary["ok"],
        1000,
        "every send succeeded: {:?}",
        produced
            .iter()
            .filter(|r| r["ok"] == false)
            .take(3)
            .collect::<Vec<_>>()
    );

    let consumed = run_peer(&[
        "consume",
        "--namesrv",
        &ns,
        "--topic",
        topic,
        "--group",
        "CID_interop",
        "--expect",
        "1000",
        "--timeout",
        "90",
        "--quiet",
        "3",
    ]);
    let got = consumed_by_seq("cpp", &consumed);
    let missing: Vec<u64> = (0..1000)
        .filter(|s| !got.contains_key(s))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of 1000 received; first missing: {missing:?}",
        got.len()
    );
    for (seq, record) in &got {
        check_message(*seq, record);
    }

    // Restart the broker on the same port and store: committed offsets survive, so the same
    // group gets only what is new.
    broker.shutdown();
    drop(broker);
    let broker = start_broker(&broker_listen, &ns, &store);
    let produced = run_peer(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        topic,
        "--count",
        "10",
        "--start",
        "1000",
        "--mode",
        "sync",
    ]);
    assert_eq!(produced.last().expect("summary")["ok"], 10);
    let consumed = run_peer(&[
        "consume",
        "--namesrv",
        &ns,
        "--topic",
        topic,
        "--group",
        "CID_interop",
        "--expect",
        "10",
        "--timeout",
        "60",
        "--quiet",
        "3",
    ]);
    let got = consumed_by_seq("cpp", &consumed);
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        (1000..1010).collect::<Vec<_>>(),
        "only the new messages"
    );
    for (seq, record) in &got {
        let size = if seq % 10 == 0 { 5000 } else { 64 };
        assert_eq!(
            record["body"].as_str(),
            Some(message_body(*seq, size).as_str())
        );
    }
    broker.shutdown();
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}

/// An orderly C++ consumer only consumes queues it has locked on the broker (LOCK_BATCH_MQ),
/// so receiving everything proves locking works; each queue must arrive in send order.
#[test]
fn cpp_orderly_consumer_locks_queues_and_reads_each_in_order() {
    let namesrv = NameServer::builder()
        .listen("127.0.0.1:0")
        .start()
        .expect("name server");
    let ns = namesrv.local_addr().to_string();
    let store = temp_store("orderly");
    let broker = start_broker("127.0.0.1:0", &ns, &store);
    let topic = "CppOrderlyTopic";
    let produced = run_peer(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        topic,
        "--count",
        "200",
        "--mode",
        "orderly",
        "--size",
        "64",
    ]);
    assert_eq!(produced.last().expect("summary")["ok"], 200);

    let consumed = run_peer(&[
        "consume",
        "--namesrv",
        &ns,
        "--topic",
        topic,
        "--group",
        "CID_orderly",
        "--expect",
        "200",
        "--timeout",
        "60",
        "--quiet",
        "2",
        "--orderly",
    ]);
    let got = consumed_by_seq("orderly", &consumed);
    assert_eq!(got.len(), 200, "all 200 received");
    // Records are printed in delivery order: per queue, seq must increase.
    let mut last_per_queue = std::collections::HashMap::new();
    for r in consumed.iter().filter(|r| r.get("summary").is_none()) {
        let seq: u64 = r["seq"].as_str().and_then(|s| s.parse().ok()).expect("seq");
        let queue = r["queue_id"].as_i64().expect("queue id");
        if let Some(prev) = last_per_queue.insert(queue, seq) {
            assert!(seq > prev, "queue {queue}: {seq} delivered after {prev}");
        }
        assert_eq!(r["body"].as_str(), Some(message_body(seq, 64).as_str()));
    }
    assert!(
        last_per_queue.len() > 1,
        "the selector spread messages over several queues"
    );
    broker.shutdown();
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}
