//! The producer and pull consumer against our reference name server and broker, in process:
//! every send style goes in, and everything is read back and compared field by field.

#![cfg(feature = "servers")]

mod producer_common;

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use producer_common::common::TempDir;
use producer_common::{assert_eventually, name_server};
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{
    Message, MessageExt, Producer, PullConsumer, PullStatus, SelectMessageQueueByHash, SendStatus,
};
use rocketmq_blocking::protocol::SerializeType;

const WAIT: Duration = Duration::from_secs(10);

fn broker(namesrv: &str, store: &TempDir) -> Broker {
    Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store.0)
        .name_server(namesrv)
        .start()
        .expect("broker")
}

/// Every message of `topic`, pulled queue by queue from offset 0 to the end.
fn pull_all(consumer: &PullConsumer, topic: &str) -> Vec<MessageExt> {
    let mut all = Vec::new();
    for queue in consumer.fetch_subscribe_message_queues(topic).unwrap() {
        let mut offset = consumer.min_offset(&queue).unwrap();
        loop {
            let result = consumer.pull(&queue, offset, 32).unwrap();
            match result.status {
                PullStatus::Found => {
                    assert!(!result.messages.is_empty());
                    offset = result.next_begin_offset;
                    all.extend(result.messages);
                }
                PullStatus::NoNewMsg => break,
                other => panic!("unexpected pull status {other:?} at {queue} offset {offset}"),
            }
        }
        assert_eq!(offset, consumer.max_offset(&queue).unwrap());
    }
    all
}

fn message(topic: &str, i: usize, body: Vec<u8>) -> Message {
    let mut message = Message::new(topic, body)
        .with_tags(format!("Tag{}", i % 3))
        .with_keys([format!("key-{i}"), format!("order-{}", i % 5)]);
    message.put_user_property("index", i.to_string()).unwrap();
    message
}

fn check_round_trip(sent: &HashMap<String, Message>, received: &[MessageExt]) {
    assert_eq!(received.len(), sent.len(), "every message exactly once");
    for got in received {
        let id = got.client_msg_id();
        let original = sent
            .get(id)
            .unwrap_or_else(|| panic!("unexpected message {id}"));
        assert_eq!(got.topic, original.topic());
        assert_eq!(got.body, original.body().to_vec(), "body of {id}");
        assert_eq!(got.tags(), original.tags());
        assert_eq!(got.keys(), original.keys());
        for (key, value) in original.properties().iter() {
            assert_eq!(got.property(key), Some(value), "property {key} of {id}");
        }
        assert_eq!(got.flag, original.flag());
        assert!(got.store_timestamp >= got.born_timestamp - 1000);
    }
}

fn exercise(serialize_type: SerializeType, topic: &str) {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let store = TempDir::created(topic);
    let broker = broker(&ns, &store);
    let producer = Producer::builder("PG_REAL_BROKER")
        .name_server(&ns)
        .serialize_type(serialize_type)
        .route_refresh_interval(Duration::from_millis(200))
        .heartbeat_interval(Duration::from_millis(200))
        .start()
        .unwrap();

    let mut sent: HashMap<String, Message> = HashMap::new();
    let mut next = 0usize;
    let mut fresh = |body: Vec<u8>| {
        next += 1;
        message(topic, next, body)
    };

    // Sync (the first send auto-creates the topic from TBW102).
    for _ in 0..5 {
        let m = fresh(b"sync body".to_vec());
        let result = producer.send(&m).unwrap();
        assert_eq!(result.send_status, SendStatus::SendOk);
        assert!(result.message_queue.queue_id < 4);
        sent.insert(result.msg_id, m);
    }
    // Compressed: 64 KiB of text.
    let big: Vec<u8> = (0..65_536u32)
        .map(|i| b"rocketmq "[(i % 9) as usize])
        .collect();
    let m = fresh(big);
    sent.insert(producer.send(&m).unwrap().msg_id, m);
    // Ordered by a key.
    for _ in 0..3 {
        let m = fresh(b"ordered".to_vec());
        let result = producer
            .send_with_selector(&m, &SelectMessageQueueByHash, "order-1")
            .unwrap();
        sent.insert(result.msg_id, m);
    }
    // Async.
    let (tx, rx) = mpsc::channel();
    let mut async_sent = Vec::new();
    for _ in 0..10 {
        let m = fresh(b"async body".to_vec());
        async_sent.push(m.clone());
        let tx = tx.clone();
        producer
            .send_async(&m, move |r| tx.send(r).unwrap())
            .unwrap();
    }
    let mut async_ids = Vec::new();
    for _ in 0..10 {
        let result = rx.recv_timeout(WAIT).unwrap().unwrap();
        async_ids.push(result.msg_id);
    }
    producer.flush(WAIT).unwrap();
    assert!(rx.try_recv().is_err(), "one callback per send");
    // Match async results to messages by their index property, via the broker read-back below.
    // Batch.
    let batch: Vec<Message> = (0..4).map(|_| fresh(b"batched".to_vec())).collect();
    let result = producer.send_batch(&batch).unwrap();
    let batch_ids: Vec<&str> = result.msg_id.split(',').collect();
    assert_eq!(batch_ids.len(), 4);
    for (id, m) in batch_ids.iter().zip(&batch) {
        sent.insert(id.to_string(), m.clone());
    }
    // Oneway.
    let mut oneway_sent = Vec::new();
    for _ in 0..3 {
        let m = fresh(b"oneway body".to_vec());
        producer.send_oneway(&m).unwrap();
        oneway_sent.push(m);
    }

    let consumer = PullConsumer::builder("CG_REAL_BROKER")
        .name_server(&ns)
        .serialize_type(serialize_type)
        .start()
        .unwrap();
    let total = sent.len() + async_sent.len() + oneway_sent.len();
    assert_eventually("every message stored", WAIT, || {
        consumer
            .fetch_subscribe_message_queues(topic)
            .map(|queues| {
                queues
                    .iter()
                    .map(|q| consumer.max_offset(q).unwrap_or(0))
                    .sum::<i64>()
                    == total as i64
            })
            .unwrap_or(false)
    });
    let received = pull_all(&consumer, topic);

    // Async and oneway messages have ids the producer chose; find them by their index.
    for m in async_sent.into_iter().chain(oneway_sent) {
        let index = m.property("index").unwrap().to_string();
        let got = received
            .iter()
            .find(|r| r.property("index") == Some(index.as_str()))
            .unwrap_or_else(|| panic!("message {index} not stored"));
        sent.insert(got.client_msg_id().to_string(), m);
    }
    for id in &async_ids {
        assert!(sent.contains_key(id), "async result id {id} was stored");
    }
    check_round_trip(&sent, &received);

    // The three ordered messages share one queue.
    let ordered: Vec<_> = received
        .iter()
        .filter(|r| r.body == b"ordered")
        .map(|r| r.queue_id)
        .collect();
    assert_eq!(ordered.len(), 3);
    assert!(ordered.iter().all(|q| *q == ordered[0]));
    // The broker knows the producer from its heartbeats.
    assert_eventually("the broker to see the heartbeat", WAIT, || {
        broker.clients().producer_group_size("PG_REAL_BROKER") == 1
    });

    consumer.shutdown();
    producer.shutdown();
    // UNREGISTER_CLIENT took the producer out of its group.
    assert_eq!(broker.clients().producer_group_size("PG_REAL_BROKER"), 0);
    broker.shutdown();
}

#[test]
fn every_send_style_round_trips_through_the_reference_broker_json() {
    exercise(SerializeType::Json, "RealJson");
}

#[test]
fn every_send_style_round_trips_through_the_reference_broker_rocketmq_headers() {
    exercise(SerializeType::RocketMq, "RealBinary");
}

/// As a Java broker registers a topic a send created before it answers, the topic is routed
/// by the time the send returns: a consumer can look it up at once.
#[test]
fn a_topic_a_send_created_is_routed_when_the_send_returns() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let store = TempDir::new("auto-create-route");
    let _broker = broker(&ns, &store);
    let producer = Producer::builder("PG_auto_route")
        .name_server(&ns)
        .start()
        .unwrap();
    for round in 0..100 {
        let topic = format!("AutoRouted{round}");
        producer.send(&Message::new(topic.as_str(), "x")).unwrap();
        let consumer = PullConsumer::builder("CG_auto_route")
            .name_server(&ns)
            .start()
            .unwrap();
        let queues = consumer.fetch_subscribe_message_queues(&topic).unwrap();
        assert!(!queues.is_empty(), "{topic}");
        consumer.shutdown();
    }
    producer.shutdown();
}
