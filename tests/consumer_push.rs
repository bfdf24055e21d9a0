//! The push consumer against the reference name server and broker: every message once, tag
//! filters, retries with their delays, the dead-letter topic, orderly queues, offsets across a
//! restart, broadcasting, running info.

#![cfg(feature = "servers")]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt, Producer, PushConsumer,
};
use rocketmq_blocking::LocalCluster;

/// What a listener saw, by `seq` property.
#[derive(Default)]
struct Seen {
    by_seq: Mutex<BTreeMap<u64, Vec<MessageExt>>>,
}

impl Seen {
    fn record(&self, m: &MessageExt) {
        let seq = m
            .property("seq")
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        self.by_seq
            .lock()
            .unwrap()
            .entry(seq)
            .or_default()
            .push(m.clone());
    }

    fn distinct(&self) -> usize {
        self.by_seq.lock().unwrap().len()
    }
}

fn send(producer: &Producer, topic: &str, count: u64) {
    for i in 0..count {
        let m = Message::new(topic, format!("body-{i}"))
            .with_tags(if i % 2 == 0 { "TagA" } else { "TagB" })
            .with_keys(format!("key-{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        producer
            .send(&m)
            .unwrap_or_else(|e| panic!("send {i}: {e:#}"));
    }
}

#[test]
fn every_message_of_the_subscribed_tag_once() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let producer = Producer::builder("PG_push")
        .name_server(cluster.name_server_addr())
        .start()
        .unwrap();
    send(&producer, "PushTopic", 100);
    let seen = Arc::new(Seen::default());
    let listener_seen = seen.clone();
    let consumer = PushConsumer::builder("CG_push")
        .name_server(cluster.name_server_addr())
        .subscribe("PushTopic", "TagA")
        .consume_from(ConsumeFrom::FirstOffset)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            for m in messages {
                listener_seen.record(m);
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    assert_eventually("50 TagA messages", Duration::from_secs(30), || {
        seen.distinct() == 50
    });
    let by_seq = seen.by_seq.lock().unwrap().clone();
    for (seq, copies) in &by_seq {
        assert_eq!(seq % 2, 0, "only TagA");
        assert_eq!(
            copies.len(),
            1,
            "message {seq} delivered {} times",
            copies.len()
        );
        let m = &copies[0];
        assert_eq!(m.body, format!("body-{seq}").as_bytes());
        assert_eq!(m.keys(), Some(format!("key-{seq}").as_str()));
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.topic, "PushTopic");
    }
    let begin = Instant::now();
    consumer.shutdown();
    eprintln!("consumer shut down in {:?}", begin.elapsed());
    producer.shutdown();
}
