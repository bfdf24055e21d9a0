//! The lite pull consumer against the reference name server and broker: subscribe and poll,
//! commit and restart, assign with seek, pause and resume.

#![cfg(feature = "servers")]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::client::{
    ConsumeFrom, LitePullConsumer, Message, MessageExt, MessageQueue, Producer,
};
use rocketmq_blocking::LocalCluster;

fn send(producer: &Producer, topic: &str, count: u64) {
    for i in 0..count {
        let m = Message::new(topic, format!("body-{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        producer.send(&m).unwrap();
    }
}

fn seq(m: &MessageExt) -> u64 {
    m.property("seq").unwrap().parse().unwrap()
}

/// Polls until `want` distinct seqs were seen or 30 s passed.
fn poll_until(consumer: &LitePullConsumer, seen: &mut BTreeSet<u64>, want: usize) -> usize {
    let mut total = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < want && Instant::now() < deadline {
        for m in consumer.poll(Duration::from_millis(200)) {
            seen.insert(seq(&m));
            total += 1;
        }
    }
    total
}

#[test]
fn subscribe_poll_commit_and_restart() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let producer = Producer::builder("PG_lite")
        .name_server(cluster.name_server_addr())
        .start()
        .unwrap();
    send(&producer, "LiteTopic", 100);
    let start = || {
        LitePullConsumer::builder("CG_lite")
            .name_server(cluster.name_server_addr())
            .subscribe("LiteTopic", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .auto_commit(false)
            .start()
            .unwrap()
    };
    let consumer = start();
    let mut seen = BTreeSet::new();
    let polled = poll_until(&consumer, &mut seen, 100);
    assert_eq!(seen.len(), 100);
    assert_eq!(polled, 100, "no message polled twice");
    consumer.commit_sync();
    let queues = consumer.assignment();
    assert_eq!(queues.len(), 4);
    let committed: i64 = queues.iter().map(|q| consumer.committed(q)).sum();
    assert_eq!(
        committed, 100,
        "the offsets of every queue add up to the messages"
    );
    consumer.shutdown();

    // A restart in the same group finds nothing left, then the new messages.
    send(&producer, "LiteTopic", 10);
    let consumer = start();
    let mut again = BTreeSet::new();
    poll_until(&consumer, &mut again, 10);
    assert_eq!(
        again,
        (0..10).collect::<BTreeSet<u64>>(),
        "only the new ones"
    );
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn assign_seek_pause_and_resume() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let producer = Producer::builder("PG_lite_assign")
        .name_server(cluster.name_server_addr())
        .start()
        .unwrap();
    // Everything into queue 0.
    for i in 0..20u64 {
        let m = Message::new("AssignTopic", format!("body-{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        let q0 = MessageQueue::new("AssignTopic", "broker-a", 0);
        producer.send_to_queue(&m, &q0).unwrap();
    }
    let consumer = LitePullConsumer::builder("CG_lite_assign")
        .name_server(cluster.name_server_addr())
        .consume_from(ConsumeFrom::FirstOffset)
        .start()
        .unwrap();
    let q0 = MessageQueue::new("AssignTopic", "broker-a", 0);
    consumer.assign(vec![q0.clone()]).unwrap();
    assert_eq!(consumer.assignment(), std::slice::from_ref(&q0));
    let mut seen = BTreeSet::new();
    poll_until(&consumer, &mut seen, 20);
    assert_eq!(seen.len(), 20);
    // Back to offset 15: messages 15..20 come again.
    consumer.seek(&q0, 15).unwrap();
    let mut after_seek = BTreeSet::new();
    poll_until(&consumer, &mut after_seek, 5);
    assert_eq!(after_seek, (15..20).collect::<BTreeSet<u64>>());
    assert!(consumer.seek(&q0, 1000).is_err(), "past the end");
    // Paused: new messages wait until resumed.
    consumer.pause(std::slice::from_ref(&q0));
    for i in 20..25u64 {
        let m = Message::new("AssignTopic", format!("body-{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        producer.send_to_queue(&m, &q0).unwrap();
    }
    assert!(
        consumer.poll(Duration::from_millis(500)).is_empty(),
        "polled from a paused queue"
    );
    consumer.resume(std::slice::from_ref(&q0));
    let mut resumed = BTreeSet::new();
    poll_until(&consumer, &mut resumed, 5);
    assert_eq!(resumed, (20..25).collect::<BTreeSet<u64>>());
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn offsets_for_a_point_in_time_and_seek() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let producer = Producer::builder("PG_lite_time")
        .name_server(cluster.name_server_addr())
        .start()
        .unwrap();
    send(&producer, "TimeTopic", 10);
    // Store timestamps have millisecond resolution: the point lies after the last one's.
    let store = cluster.broker().store();
    let last_stored = (0..4)
        .filter_map(|q| {
            let max = store.max_offset_in_queue("TimeTopic", q);
            (max > 0).then(|| store.store_timestamp_at("TimeTopic", q, max - 1).unwrap())
        })
        .max()
        .unwrap();
    let point = last_stored + 1;
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    while now_ms() < point {
        std::thread::yield_now();
    }
    for i in 10..20u64 {
        let m = Message::new("TimeTopic", format!("body-{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        producer.send(&m).unwrap();
    }
    let consumer = LitePullConsumer::builder("CG_lite_time")
        .name_server(cluster.name_server_addr())
        .start()
        .unwrap();
    let queues = consumer.fetch_message_queues("TimeTopic").unwrap();
    consumer.assign(queues.clone()).unwrap();
    for q in &queues {
        let offset = consumer.offset_for_timestamp(q, point).unwrap();
        consumer.seek(q, offset).unwrap();
    }
    let mut seen = BTreeSet::new();
    poll_until(&consumer, &mut seen, 10);
    assert_eq!(
        seen,
        (10..20).collect::<BTreeSet<u64>>(),
        "only what was stored after the point"
    );
    consumer.shutdown();
    producer.shutdown();
}
