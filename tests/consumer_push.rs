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

/// Delay levels for a retry test, which must not wait 10 s per try: level n is n × 100 ms
/// for the first levels, 1 s after.
const SHORT_DELAY_LEVELS: &str =
    "100ms 200ms 300ms 500ms 700ms 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

/// A name server and a broker with [`SHORT_DELAY_LEVELS`].
fn short_delays(name: &str) -> Servers {
    Servers::start(&format!("push-{name}"), |b, _| {
        b.message_delay_level(SHORT_DELAY_LEVELS)
    })
}

#[test]
fn a_failed_message_comes_back_after_the_delay_of_each_level_then_goes_to_the_dlq() {
    let cluster = short_delays("retry");
    let producer = Producer::builder("PG_retry")
        .name_server(cluster.ns())
        .start()
        .unwrap();
    // The topic exists before the consumer starts (a consumer of a topic no broker has yet
    // waits for its route, as in Java).
    send(&producer, "RetryTopic", 2);
    // seq 0 fails three times then succeeds; seq 1 always fails.
    let deliveries: Arc<Mutex<Vec<(u64, i32, Instant)>>> = Arc::default();
    let log = deliveries.clone();
    let consumer = PushConsumer::builder("CG_retry")
        .name_server(cluster.ns())
        .subscribe("RetryTopic", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .max_reconsume_times(3)
        .rebalance_interval(Duration::from_millis(300))
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            let m = &messages[0];
            let seq: u64 = m.property("seq").unwrap().parse().unwrap();
            log.lock()
                .unwrap()
                .push((seq, m.reconsume_times, Instant::now()));
            assert_eq!(m.topic, "RetryTopic", "a retry shows its original topic");
            if seq == 0 && m.reconsume_times >= 3 {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            } else {
                ConsumeConcurrentlyStatus::ReconsumeLater
            }
        })
        .start()
        .unwrap();
    // The group's retry topic is created by its first heartbeat, and held soon after.
    assert_eventually(
        "the retry topic's queue held",
        Duration::from_secs(30),
        || {
            consumer
                .running_info()
                .mq_table
                .keys()
                .any(|q| q.topic == "%RETRY%CG_retry")
        },
    );
    let dlq = "%DLQ%CG_retry";
    assert_eventually(
        "seq 1 in the dead-letter queue",
        Duration::from_secs(30),
        || cluster.broker.store().max_offset_in_queue(dlq, 0) == 1,
    );
    assert_eventually(
        "seq 0 consumed on its fourth try",
        Duration::from_secs(30),
        || {
            deliveries
                .lock()
                .unwrap()
                .iter()
                .filter(|d| d.0 == 0)
                .count()
                == 4
        },
    );
    let deliveries = deliveries.lock().unwrap().clone();
    let tries = |seq: u64| -> Vec<(i32, Instant)> {
        deliveries
            .iter()
            .filter(|d| d.0 == seq)
            .map(|d| (d.1, d.2))
            .collect()
    };
    let first = tries(0);
    assert_eq!(
        first.iter().map(|t| t.0).collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "reconsume_times of each try"
    );
    // Try n+1 comes after the delay of level 3 + n: 300, 500, 700 ms.
    for (n, delay_ms) in [300u64, 500, 700].into_iter().enumerate() {
        let gap = first[n + 1].1.duration_since(first[n].1);
        eprintln!(
            "try {} came {gap:?} after try {n} (level {} = {delay_ms} ms)",
            n + 1,
            n + 3
        );
        assert!(
            gap >= Duration::from_millis(delay_ms),
            "try {} after {gap:?}",
            n + 1
        );
        assert!(
            gap < Duration::from_millis(delay_ms) + Duration::from_secs(5),
            "try {} after {gap:?}",
            n + 1
        );
    }
    // seq 1: tries 0..=3, then the dead-letter queue (max_reconsume_times 3).
    assert_eq!(
        tries(1).iter().map(|t| t.0).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    let found = cluster.broker.store().get_message(dlq, 0, 0, 1, None);
    let (dead, _) =
        rocketmq_blocking::protocol::message::decode_message(&found.messages[0], true).unwrap();
    assert_eq!(dead.body, b"body-1");
    assert_eq!(dead.property("RETRY_TOPIC"), Some("RetryTopic"));
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn an_orderly_consumer_reads_each_queue_in_order_and_a_suspended_batch_holds_its_queue() {
    let cluster = short_delays("orderly");
    let producer = Producer::builder("PG_orderly")
        .name_server(cluster.ns())
        .start()
        .unwrap();
    // 4 orders of 50 steps, each order in one queue (selected by order id).
    for step in 0..50u64 {
        for order in 0..4u64 {
            let m = Message::new("OrderlyTopic", format!("order {order} step {step}"))
                .with_property("seq", (order * 1000 + step).to_string())
                .unwrap();
            producer
                .send_with_selector(
                    &m,
                    &rocketmq_blocking::client::SelectMessageQueueByHash,
                    &order,
                )
                .unwrap();
        }
    }
    type ByQueue = BTreeMap<i32, Vec<(i64, u64)>>;
    let seen: Arc<Mutex<ByQueue>> = Arc::default();
    let suspended_once = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (log, once) = (seen.clone(), suspended_once.clone());
    let consumer = PushConsumer::builder("CG_orderly")
        .name_server(cluster.ns())
        .subscribe("OrderlyTopic", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .consume_threads(4)
        .suspend_current_queue_time(Duration::from_millis(100))
        .message_listener_orderly(move |messages: &[MessageExt], _: &mut _| {
            let m = &messages[0];
            let seq: u64 = m.property("seq").unwrap().parse().unwrap();
            // Step 10 of order 2 fails once: its queue must wait, and then go on in order.
            if seq == 2010 && !once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                return rocketmq_blocking::client::ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
            }
            log.lock()
                .unwrap()
                .entry(m.queue_id)
                .or_default()
                .push((m.queue_offset, seq));
            rocketmq_blocking::client::ConsumeOrderlyStatus::Success
        })
        .start()
        .unwrap();
    assert_eventually("200 steps consumed", Duration::from_secs(30), || {
        seen.lock().unwrap().values().map(Vec::len).sum::<usize>() == 200
    });
    assert!(suspended_once.load(std::sync::atomic::Ordering::SeqCst));
    for (queue, steps) in seen.lock().unwrap().iter() {
        let offsets: Vec<i64> = steps.iter().map(|s| s.0).collect();
        assert!(
            offsets.windows(2).all(|w| w[0] + 1 == w[1]),
            "queue {queue}: {offsets:?}"
        );
        let seqs: Vec<u64> = steps.iter().map(|s| s.1).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] + 1 == w[1]),
            "queue {queue}: steps {seqs:?}"
        );
    }
    // The broker holds our lock on each queue.
    let info = consumer.running_info();
    assert_eq!(info.mq_table.values().filter(|pq| pq.locked).count(), 4 + 1);
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn a_restarted_member_reads_only_what_was_not_consumed() {
    let cluster = short_delays("restart");
    let producer = Producer::builder("PG_restart")
        .name_server(cluster.ns())
        .start()
        .unwrap();
    send(&producer, "RestartTopic", 1000);
    let start = |seen: Arc<Seen>| {
        PushConsumer::builder("CG_restart")
            .name_server(cluster.ns())
            .subscribe("RestartTopic", "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .pull_batch_size(8)
            .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
                for m in messages {
                    seen.record(m);
                }
                ConsumeConcurrentlyStatus::ConsumeSuccess
            })
            .start()
            .unwrap()
    };
    let first = Arc::new(Seen::default());
    let consumer = start(first.clone());
    assert_eventually("500 consumed", Duration::from_secs(30), || {
        first.distinct() >= 500
    });
    consumer.shutdown();
    let first_count = first.distinct();
    let second = Arc::new(Seen::default());
    let consumer = start(second.clone());
    assert_eventually("the rest consumed", Duration::from_secs(30), || {
        let a = first.by_seq.lock().unwrap();
        let b = second.by_seq.lock().unwrap();
        (0..1000u64).all(|s| a.contains_key(&s) || b.contains_key(&s))
    });
    consumer.shutdown();
    let a = first.by_seq.lock().unwrap();
    let b = second.by_seq.lock().unwrap();
    let again = b.keys().filter(|s| a.contains_key(s)).count();
    eprintln!(
        "first member consumed {first_count}, the second {}; {again} consumed by both",
        b.len()
    );
    assert!(first_count < 1000, "the first member consumed everything");
    // Only what was pulled but not yet committed comes again: at most a pull batch per queue
    // plus the listener batches in flight.
    assert!(again <= 4 * 8 + 20, "{again} messages consumed twice");
    producer.shutdown();
}

#[test]
fn broadcasting_members_each_get_everything_and_keep_local_offsets() {
    let cluster = short_delays("broadcast");
    let producer = Producer::builder("PG_broadcast")
        .name_server(cluster.ns())
        .start()
        .unwrap();
    send(&producer, "BroadcastTopic", 100);
    let offsets_dir = TempDir::created("push-broadcast-offsets");
    let members: Vec<(PushConsumer, Arc<Seen>)> = (0..2)
        .map(|i| {
            let seen = Arc::new(Seen::default());
            let log = seen.clone();
            let consumer = PushConsumer::builder("CG_broadcast")
                .name_server(cluster.ns())
                .instance_name(format!("member-{i}"))
                .message_model(rocketmq_blocking::client::MessageModel::Broadcasting)
                .local_offset_store_dir(&offsets_dir.0)
                .subscribe("BroadcastTopic", "*")
                .consume_from(ConsumeFrom::FirstOffset)
                .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
                    for m in messages {
                        log.record(m);
                    }
                    ConsumeConcurrentlyStatus::ConsumeSuccess
                })
                .start()
                .unwrap();
            (consumer, seen)
        })
        .collect();
    for (consumer, seen) in &members {
        assert_eventually("every message", Duration::from_secs(30), || {
            seen.distinct() == 100
        });
        let path = offsets_dir
            .0
            .join(consumer.client_id())
            .join("CG_broadcast")
            .join("offsets.json");
        consumer.shutdown();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(text.contains("BroadcastTopic"), "{text}");
    }
    producer.shutdown();
}

/// Calls the broker the way `mqadmin` does.
fn admin_call(
    cluster: &Servers,
    request: rocketmq_blocking::protocol::RemotingCommand,
) -> rocketmq_blocking::protocol::RemotingCommand {
    let client = rocketmq_blocking::remoting::RemotingClient::new(Default::default()).unwrap();
    let response = client
        .invoke_sync(
            Some(&cluster.broker.local_addr().to_string()),
            request,
            Duration::from_secs(10),
        )
        .unwrap();
    client.shutdown();
    response
}

#[test]
fn admin_requests_through_the_broker_reach_the_consumer() {
    use rocketmq_blocking::protocol::body::{
        CmResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo, ResetOffsetBody,
    };
    use rocketmq_blocking::protocol::codes::{request_code, response_code};
    use rocketmq_blocking::protocol::header::{
        ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
        ResetOffsetRequestHeader,
    };
    use rocketmq_blocking::protocol::RemotingCommand;

    let cluster = short_delays("admin");
    let producer = Producer::builder("PG_admin")
        .name_server(cluster.ns())
        .start()
        .unwrap();
    send(&producer, "AdminTopic", 20);
    let seen = Arc::new(Seen::default());
    let log = seen.clone();
    let consumer = PushConsumer::builder("CG_admin")
        .name_server(cluster.ns())
        .subscribe("AdminTopic", "TagA || TagB")
        .consume_from(ConsumeFrom::FirstOffset)
        .persist_offset_interval(Duration::from_millis(200))
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            for m in messages {
                log.record(m);
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    assert_eventually("20 consumed", Duration::from_secs(30), || {
        seen.distinct() == 20
    });

    // mqadmin consumerStatus: GET_CONSUMER_RUNNING_INFO, forwarded to the consumer.
    let header = GetConsumerRunningInfoRequestHeader {
        consumer_group: "CG_admin".into(),
        client_id: consumer.client_id().to_string(),
        jstack_enable: false,
    };
    let response = admin_call(
        &cluster,
        RemotingCommand::request_with_header(request_code::GET_CONSUMER_RUNNING_INFO, &header),
    );
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let info = ConsumerRunningInfo::from_json(&response.body).unwrap();
    let topics: Vec<&str> = info
        .subscription_set
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert!(
        topics.contains(&"AdminTopic") && topics.contains(&"%RETRY%CG_admin"),
        "{topics:?}"
    );
    let held = info
        .mq_table
        .keys()
        .filter(|q| q.topic == "AdminTopic")
        .count();
    assert_eq!(held, 4, "{:?}", info.mq_table.keys().collect::<Vec<_>>());
    assert_eq!(
        info.properties.get("PROP_CONSUME_TYPE").map(String::as_str),
        Some("CONSUME_PASSIVELY")
    );
    assert!(info.status_table.contains_key("AdminTopic"));

    // mqadmin consumeMessage: CONSUME_MESSAGE_DIRECTLY with a stored message's id.
    let stored = cluster
        .broker
        .store()
        .get_message("AdminTopic", 0, 0, 1, None);
    let (message, _) =
        rocketmq_blocking::protocol::message::decode_message(&stored.messages[0], true).unwrap();
    let header = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: "CG_admin".into(),
        client_id: Some(consumer.client_id().to_string()),
        msg_id: Some(message.msg_id.clone()),
        broker_name: Some("broker-a".into()),
        topic: None,
    };
    let response = admin_call(
        &cluster,
        RemotingCommand::request_with_header(request_code::CONSUME_MESSAGE_DIRECTLY, &header),
    );
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let result = ConsumeMessageDirectlyResult::from_json(&response.body).unwrap();
    assert_eq!(result.consume_result, Some(CmResult::Success));

    // mqadmin resetOffsetByTime: back to the start; every message comes again.
    assert_eventually("offsets committed", Duration::from_secs(10), || {
        (0..4).all(|q| {
            cluster
                .broker
                .consumer_offset("CG_admin", "AdminTopic", q)
                .is_some()
        })
    });
    let before = seen
        .by_seq
        .lock()
        .unwrap()
        .values()
        .map(Vec::len)
        .sum::<usize>();
    let header = ResetOffsetRequestHeader {
        topic: "AdminTopic".into(),
        group: "CG_admin".into(),
        timestamp: 0,
        is_force: true,
        queue_id: None,
        offset: None,
    };
    let response = admin_call(
        &cluster,
        RemotingCommand::request_with_header(request_code::INVOKE_BROKER_TO_RESET_OFFSET, &header),
    );
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let reset = ResetOffsetBody::from_json(&response.body).unwrap();
    assert_eq!(reset.offset_table.len(), 4);
    assert!(reset.offset_table.values().all(|&o| o == 0));
    assert_eventually(
        "every message consumed again",
        Duration::from_secs(30),
        || {
            seen.by_seq
                .lock()
                .unwrap()
                .values()
                .map(Vec::len)
                .sum::<usize>()
                >= before + 20
        },
    );
    consumer.shutdown();
    producer.shutdown();
}
