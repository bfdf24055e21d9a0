//! Namespaces: a producer and consumers with a namespace use `ns%topic` and `ns%group` on the
//! wire (retry and dead-letter topics `%RETRY%ns%group`, `%DLQ%ns%group`), and show the names
//! as given in send results, received messages and queues; clients of another namespace, or
//! of none, do not see those topics.

#![cfg(feature = "servers")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{assert_eventually, Servers};
use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, LitePullConsumer, Message, MessageExt, Producer,
    PullConsumer, PullStatus, PushConsumer,
};

/// Retries come back after 100 ms instead of 10 s.
const SHORT_DELAYS: &str = "100ms 100ms 100ms 100ms 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

fn start(name: &str) -> Servers {
    Servers::start(name, |broker, _| broker.message_delay_level(SHORT_DELAYS))
}

#[test]
fn names_are_wrapped_on_the_wire_and_unwrapped_for_the_user() {
    let cluster = start("ns-roundtrip");
    let producer = Producer::builder("PG_orders")
        .name_server(cluster.ns())
        .namespace("nsA")
        .start()
        .unwrap();
    assert_eq!(producer.config().group, "nsA%PG_orders");
    let mut sent = Vec::new();
    for i in 0..4 {
        let result = producer
            .send(&Message::new("Orders", format!("order-{i}")).with_keys(format!("o{i}")))
            .unwrap();
        assert_eq!(
            result.message_queue.topic, "Orders",
            "the send result's queue"
        );
        sent.push(result);
    }
    // The broker stores them under the namespaced topic, and nothing under the bare one.
    let store = cluster.broker.store();
    let stored: i64 = (0..4)
        .map(|q| store.max_offset_in_queue("nsA%Orders", q))
        .sum();
    assert_eq!(stored, 4);
    assert_eq!(
        (0..4)
            .map(|q| store.max_offset_in_queue("Orders", q))
            .sum::<i64>(),
        0
    );
    let queues = producer.fetch_publish_message_queues("Orders").unwrap();
    assert!(queues.iter().all(|q| q.topic == "Orders"), "{queues:?}");

    // A pull consumer in the namespace reads them back under the name given.
    let pull = PullConsumer::builder("CG_pull")
        .name_server(cluster.ns())
        .namespace("nsA")
        .start()
        .unwrap();
    let pulled = pull.pull(&sent[0].message_queue, 0, 32).unwrap();
    assert_eq!(pulled.status, PullStatus::Found);
    assert!(pulled.messages.iter().all(|m| m.topic == "Orders"));
    // Without the namespace, or in another, the topic is not there.
    let bare = PullConsumer::builder("CG_pull")
        .name_server(cluster.ns())
        .start()
        .unwrap();
    assert!(bare.fetch_subscribe_message_queues("Orders").is_err());
    let other = PullConsumer::builder("CG_pull")
        .name_server(cluster.ns())
        .namespace("nsB")
        .start()
        .unwrap();
    assert!(other.fetch_subscribe_message_queues("Orders").is_err());

    // A lite pull consumer: queues and messages under the names given.
    let lite = LitePullConsumer::builder("CG_lite")
        .name_server(cluster.ns())
        .namespace("nsA")
        .consume_from(ConsumeFrom::FirstOffset)
        .start()
        .unwrap();
    let lite_queues = lite.fetch_message_queues("Orders").unwrap();
    assert!(lite_queues.iter().all(|q| q.topic == "Orders"));
    lite.assign(lite_queues.clone()).unwrap();
    assert_eq!(lite.assignment().len(), lite_queues.len());
    assert!(lite.assignment().iter().all(|q| q.topic == "Orders"));
    let mut polled = Vec::new();
    assert_eventually(
        "the lite pull consumer polls 4",
        Duration::from_secs(20),
        || {
            polled.extend(lite.poll(Duration::from_millis(200)));
            polled.len() >= 4
        },
    );
    assert!(polled.iter().all(|m| m.topic == "Orders"));

    for p in [pull, bare, other] {
        p.shutdown();
    }
    lite.shutdown();
    producer.shutdown();
}

#[test]
fn a_push_consumer_retries_through_the_namespaced_retry_topic() {
    let cluster = start("ns-retry");
    let producer = Producer::builder("PG_ns_retry")
        .name_server(cluster.ns())
        .namespace("nsA")
        .start()
        .unwrap();
    producer.send(&Message::new("Payments", "pay-1")).unwrap();
    // Each delivery: (topic, reconsume count, queue topic in the context).
    let deliveries: Arc<Mutex<Vec<(String, i32, String)>>> = Arc::default();
    let log = deliveries.clone();
    let consumer = PushConsumer::builder("CG_pay")
        .name_server(cluster.ns())
        .namespace("nsA")
        .subscribe("Payments", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .rebalance_interval(Duration::from_millis(300))
        .message_listener_concurrently(move |messages: &[MessageExt], context: &mut _| {
            let m = &messages[0];
            let context: &rocketmq_blocking::client::ConsumeConcurrentlyContext = context;
            log.lock().unwrap().push((
                m.topic.clone(),
                m.reconsume_times,
                context.message_queue.topic.clone(),
            ));
            if m.reconsume_times == 0 {
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        })
        .start()
        .unwrap();
    assert_eq!(consumer.config().group, "nsA%CG_pay");
    assert_eventually("the retried delivery", Duration::from_secs(30), || {
        deliveries.lock().unwrap().len() >= 2
    });
    let deliveries = deliveries.lock().unwrap().clone();
    assert_eq!(deliveries[0], ("Payments".into(), 0, "Payments".into()));
    // The second comes from the retry topic; the listener still sees its own names.
    assert_eq!(deliveries[1].0, "Payments");
    assert_eq!(deliveries[1].1, 1);
    assert_eq!(deliveries[1].2, "%RETRY%CG_pay");
    // On the broker: the retry topic is the namespaced group's.
    let store = cluster.broker.store();
    assert!(store.max_offset_in_queue("%RETRY%nsA%CG_pay", 0) >= 1);
    assert_eq!(store.max_offset_in_queue("%RETRY%CG_pay", 0), 0);
    consumer.shutdown();
    producer.shutdown();
}
