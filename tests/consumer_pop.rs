//! RocketMQ 5 consumption through the reference broker: the blocking `SimpleConsumer` (three
//! of them sharing a topic of one queue, redelivery after the invisible time, invisibility
//! changes, a broker restart with messages not acked, the dead-letter topic) and the push
//! consumer popping after SET_MESSAGE_REQUEST_MODE (its acks batched, or one by one for a
//! broker without BATCH_ACK_MESSAGE).
//!
//! Times come from the receipt handles, which carry the broker's pop time and invisible time
//! (one clock): a message popped again must have been popped after the previous pop's
//! invisible time. Every wait is bounded and waits for something observable; invisible times
//! are one to three seconds.

#![cfg(feature = "servers")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{
    ClientError, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeFrom, Message,
    MessageExt, MessageQueue, MessageRequestMode, MessageView, MqAdmin, Producer, PullConsumer,
    PullStatus, PushConsumer, PushConsumerBuilder, SimpleConsumer,
};
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::body::SubscriptionGroupConfig;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::ExtraInfo;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{PoolConfig, RemotingClient, RemotingServer};
use rocketmq_blocking::LocalCluster;

fn admin(namesrv: &str) -> MqAdmin {
    MqAdmin::builder().name_server(namesrv).start().unwrap()
}

/// Creates `topic` with `queues` queues and sends `count` messages, `seq` = 0..count.
fn produce(namesrv: &str, topic: &str, queues: i32, count: u64) {
    admin(namesrv)
        .create_topic("TBW102", topic, queues)
        .unwrap();
    let producer = Producer::builder(format!("PG_{topic}"))
        .name_server(namesrv)
        .start()
        .unwrap();
    for i in 0..count {
        let m = Message::new(topic, format!("body-{i}"))
            .with_tags("TagA")
            .with_property("seq", i.to_string())
            .unwrap();
        producer
            .send(&m)
            .unwrap_or_else(|e| panic!("send {i}: {e:#}"));
    }
    producer.shutdown();
}

fn simple(namesrv: &str, group: &str, topic: &str, wait: Duration) -> SimpleConsumer {
    SimpleConsumer::builder(group)
        .name_server(namesrv)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .await_duration(wait)
        .start()
        .unwrap()
}

fn seq_of(m: &MessageExt) -> u64 {
    m.property("seq").and_then(|s| s.parse().ok()).unwrap()
}

fn handle_of(view: &MessageView) -> ExtraInfo {
    ExtraInfo::parse(&view.receipt_handle()).unwrap()
}

/// Receives until `want` views came or `within` passed.
fn receive_until(
    consumer: &SimpleConsumer,
    want: usize,
    invisible: Duration,
    within: Duration,
) -> Vec<MessageView> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        got.extend(consumer.receive(32, invisible).unwrap());
    }
    got
}

/// One delivery a simple consumer saw.
#[derive(Debug, Clone)]
struct Delivery {
    consumer: usize,
    attempt: i32,
    handle: ExtraInfo,
    acked: bool,
}

#[test]
fn three_simple_consumers_share_a_topic_of_one_queue() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    const COUNT: u64 = 200;
    const INVISIBLE: Duration = Duration::from_secs(2);
    produce(&ns, "PopShare", 1, COUNT);
    let deliveries: Arc<Mutex<BTreeMap<u64, Vec<Delivery>>>> = Arc::default();
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let workers: Vec<_> = (0..3)
        .map(|index| {
            let (ns, deliveries, acked) = (ns.clone(), deliveries.clone(), acked.clone());
            thread::spawn(move || {
                let consumer = simple(&ns, "CG_share", "PopShare", Duration::from_secs(1));
                while acked.lock().unwrap().len() < COUNT as usize && Instant::now() < deadline {
                    for view in consumer.receive(8, INVISIBLE).unwrap() {
                        let seq = seq_of(&view);
                        // Every 20th message is dropped at its first delivery, whichever
                        // consumer gets it, as if that one crashed: the group must get it
                        // again, after its invisible time.
                        let ack = !(seq % 20 == 0 && view.delivery_attempt() == 1);
                        if ack {
                            consumer.ack(&view).unwrap();
                            acked.lock().unwrap().insert(seq);
                        }
                        deliveries
                            .lock()
                            .unwrap()
                            .entry(seq)
                            .or_default()
                            .push(Delivery {
                                consumer: index,
                                attempt: view.delivery_attempt(),
                                handle: handle_of(&view),
                                acked: ack,
                            });
                    }
                }
                consumer.shutdown();
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let deliveries = deliveries.lock().unwrap();
    let missing: Vec<u64> = (0..COUNT)
        .filter(|s| !acked.lock().unwrap().contains(s))
        .collect();
    assert!(missing.is_empty(), "never acked: {missing:?}");
    let consumers: BTreeSet<usize> = deliveries.values().flatten().map(|d| d.consumer).collect();
    assert_eq!(
        consumers.len(),
        3,
        "each consumer got messages of the one queue"
    );
    let mut redelivered = 0;
    for (seq, list) in deliveries.iter() {
        let mut list = list.clone();
        list.sort_by_key(|d| d.handle.pop_time);
        for pair in list.windows(2) {
            let (first, again) = (&pair[0], &pair[1]);
            assert!(
                !first.acked,
                "seq {seq} was delivered again after an ack: {list:?}"
            );
            assert!(
                again.handle.pop_time >= first.handle.revive_time(),
                "seq {seq} was delivered again before its invisible time: {list:?}"
            );
            assert_eq!(again.attempt, first.attempt + 1, "seq {seq}: {list:?}");
            redelivered += 1;
        }
        assert!(list.last().unwrap().acked, "seq {seq}: {list:?}");
    }
    let dropped = deliveries.values().flatten().filter(|d| !d.acked).count();
    assert_eq!(
        dropped as u64,
        COUNT / 20,
        "every 20th message dropped once"
    );
    assert_eq!(redelivered, dropped, "each dropped message came once more");
}

#[test]
fn an_unacked_message_comes_back_after_its_invisible_time() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    produce(&ns, "PopBack", 1, 1);
    let consumer = simple(&ns, "CG_back", "PopBack", Duration::from_secs(1));
    let first = receive_until(
        &consumer,
        1,
        Duration::from_secs(2),
        Duration::from_secs(20),
    );
    assert_eq!(first.len(), 1);
    let first = &first[0];
    assert_eq!((first.delivery_attempt(), first.reconsume_times), (1, 0));
    // Still invisible: an immediate receive finds nothing.
    assert!(consumer
        .receive(32, Duration::from_secs(2))
        .unwrap()
        .is_empty());
    let again = receive_until(
        &consumer,
        1,
        Duration::from_secs(10),
        Duration::from_secs(20),
    );
    assert_eq!(again.len(), 1, "the message came back");
    let again = &again[0];
    assert_eq!(again.message_id(), first.message_id());
    assert_eq!(again.reconsume_times, 1);
    assert_eq!(again.delivery_attempt(), 2);
    assert_eq!(
        again.topic, "PopBack",
        "shown with its own topic, not the retry topic"
    );
    assert!(handle_of(again).pop_time >= handle_of(first).revive_time());
    // The first handle is past its time: a typed error, and nothing is sent.
    match consumer.ack(first) {
        Err(ClientError::ReceiptHandleExpired { message_id, .. }) => {
            assert_eq!(message_id, first.message_id())
        }
        other => panic!("expected an expired handle, got {other:?}"),
    }
    assert!(matches!(
        consumer.change_invisible_duration(first, Duration::from_secs(5)),
        Err(ClientError::ReceiptHandleExpired { .. })
    ));
    consumer.ack(again).unwrap();
    // Acked: it does not come back after its invisible time (10 s) nor ever.
    let later = receive_until(
        &consumer,
        1,
        Duration::from_secs(10),
        Duration::from_secs(3),
    );
    assert!(later.is_empty(), "{later:?}");
    assert_eq!(
        cluster.broker().pop_checkpoints().0,
        0,
        "every checkpoint is done"
    );
    // Bad arguments are refused before anything is sent; a stopped consumer says so.
    for (max, invisible) in [(0, 1000), (33, 1000), (1, 0), (1, u64::MAX)] {
        let refused = consumer.receive(max, Duration::from_millis(invisible));
        assert!(
            refused.as_ref().is_err_and(ClientError::is_invalid_input),
            "{max} {invisible}: {refused:?}"
        );
    }
    consumer.shutdown();
    assert!(matches!(
        consumer.receive(1, Duration::from_secs(1)),
        Err(ClientError::ShutDown)
    ));
}

#[test]
fn change_invisible_duration_extends_the_invisible_time() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    produce(&ns, "PopExtend", 1, 2);
    let consumer = simple(&ns, "CG_extend", "PopExtend", Duration::from_millis(500));
    let views = receive_until(
        &consumer,
        2,
        Duration::from_secs(1),
        Duration::from_secs(20),
    );
    assert_eq!(views.len(), 2);
    let (kept, extended) = (&views[0], &views[1]);
    let old = handle_of(extended);
    consumer
        .change_invisible_duration(kept, Duration::from_secs(4))
        .unwrap();
    consumer
        .change_invisible_duration(extended, Duration::from_secs(4))
        .unwrap();
    let new = handle_of(extended);
    assert_ne!(old, new, "the view took the new handle");
    assert_eq!(new.invisible_time, 4000);
    assert_eq!(new.ck_queue_offset, extended.queue_offset);
    // Past the first invisible time (1 s), neither comes back, and the extended view can
    // still be acked.
    let early = receive_until(&consumer, 1, Duration::from_secs(5), Duration::from_secs(2));
    assert!(early.is_empty(), "came back early: {early:?}");
    consumer.ack(kept).unwrap();
    // The other comes back once its new invisible time passed.
    let back = receive_until(
        &consumer,
        1,
        Duration::from_secs(5),
        Duration::from_secs(20),
    );
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].message_id(), extended.message_id());
    assert_eq!(back[0].delivery_attempt(), 2);
    assert!(handle_of(&back[0]).pop_time >= new.revive_time());
    consumer.ack(&back[0]).unwrap();
    consumer.shutdown();
}

#[test]
fn unacked_messages_come_back_after_a_broker_restart() {
    init_logging();
    let dir = TempDir::new("pop-client-restart");
    let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
    let ns = namesrv.local_addr().to_string();
    let start = |listen: &str| {
        Broker::builder()
            .listen(listen)
            .name_server(&ns)
            .store_dir(&dir.0)
            .register_interval(Duration::from_secs(5))
            .start()
            .unwrap()
    };
    let broker = start("127.0.0.1:0");
    let listen = broker.local_addr().to_string();
    produce(&ns, "PopRestart", 1, 5);
    let consumer = simple(&ns, "CG_restart", "PopRestart", Duration::from_secs(1));
    let views = receive_until(
        &consumer,
        5,
        Duration::from_secs(3),
        Duration::from_secs(20),
    );
    assert_eq!(views.len(), 5);
    let mut acked = BTreeSet::new();
    for view in views.iter().filter(|v| seq_of(v) < 2) {
        consumer.ack(view).unwrap();
        acked.insert(seq_of(view));
    }
    consumer.shutdown();
    broker.shutdown();
    drop(broker);

    let broker = start(&listen);
    let consumer = simple(&ns, "CG_restart", "PopRestart", Duration::from_secs(1));
    let back = receive_until(
        &consumer,
        3,
        Duration::from_secs(30),
        Duration::from_secs(30),
    );
    let seqs: BTreeSet<u64> = back.iter().map(|v| seq_of(v)).collect();
    assert_eq!(seqs, [2, 3, 4].into(), "the three not acked, once each");
    assert!(back.iter().all(|v| v.delivery_attempt() == 2));
    for view in &back {
        consumer.ack(view).unwrap();
    }
    // Nothing else comes: the acked ones were done before the restart.
    let more = receive_until(
        &consumer,
        1,
        Duration::from_secs(30),
        Duration::from_secs(3),
    );
    assert!(more.is_empty(), "{more:?}");
    consumer.shutdown();
    broker.shutdown();
    namesrv.shutdown();
}

/// The messages of the dead-letter topic of `group`, read from its start.
fn dead_letters(ns: &str, group: &str, want: usize) -> Vec<MessageExt> {
    let reader = PullConsumer::builder("CG_dlq_reader")
        .name_server(ns)
        .start()
        .unwrap();
    let dlq = format!("%DLQ%{group}");
    let mut found = Vec::new();
    assert_eventually(
        &format!("{want} message(s) in {dlq}"),
        Duration::from_secs(30),
        || {
            let Ok(queues) = reader.fetch_subscribe_message_queues(&dlq) else {
                return false;
            };
            found = queues
                .iter()
                .filter_map(|q| reader.pull(q, 0, 32).ok())
                .filter(|r| r.status == PullStatus::Found)
                .flat_map(|r| r.messages)
                .collect();
            found.len() >= want
        },
    );
    reader.shutdown();
    found
}

#[test]
fn a_message_never_acked_goes_to_the_dead_letter_topic_after_the_maximum() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    produce(&ns, "PopDead", 1, 1);
    let mut group = SubscriptionGroupConfig::new("CG_dead");
    group.retry_max_times = 2;
    admin(&ns)
        .create_and_update_subscription_group_config(cluster.broker().broker_addr(), &group)
        .unwrap();
    let consumer = simple(&ns, "CG_dead", "PopDead", Duration::from_millis(500));
    let mut attempts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while attempts.len() < 3 && Instant::now() < deadline {
        for view in consumer.receive(32, Duration::from_secs(1)).unwrap() {
            attempts.push(view.delivery_attempt()); // never acked
        }
    }
    assert_eq!(
        attempts,
        [1, 2, 3],
        "delivered until the group's maximum of 2 redeliveries"
    );
    let dead = dead_letters(&ns, "CG_dead", 1);
    assert_eq!(dead.len(), 1);
    assert_eq!(seq_of(&dead[0]), 0);
    // And it is not delivered again.
    let later = receive_until(&consumer, 1, Duration::from_secs(1), Duration::from_secs(2));
    assert!(later.is_empty(), "{later:?}");
    consumer.shutdown();
}

/// What a push consumer's listener saw, by `seq`: each delivery's reconsume times.
type Seen = Arc<Mutex<BTreeMap<u64, Vec<i32>>>>;

/// Notes each of `messages` in `seen`.
fn record(seen: &Seen, messages: &[MessageExt]) {
    let mut seen = seen.lock().unwrap();
    for m in messages {
        seen.entry(seq_of(m)).or_default().push(m.reconsume_times);
    }
}

/// A push consumer of `group` on `topic` from its first offset that asks the brokers for its
/// queues (`client_rebalance(false)`).
fn asking_push_consumer(ns: &str, group: &str, topic: &str) -> PushConsumerBuilder {
    PushConsumer::builder(group)
        .name_server(ns)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .client_rebalance(false)
}

/// A listener that records every message in `seen` and consumes it.
fn recording(
    seen: &Seen,
) -> impl Fn(&[MessageExt], &mut ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus {
    let seen = seen.clone();
    move |messages, _| {
        record(&seen, messages);
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

#[test]
fn a_push_consumer_pops_after_set_message_request_mode() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    const COUNT: u64 = 100;
    produce(&ns, "PopPush", 4, COUNT);
    admin(&ns)
        .set_message_request_mode(
            cluster.broker().broker_addr(),
            "PopPush",
            "CG_pop_push",
            MessageRequestMode::Pop,
            0,
        )
        .unwrap();
    let seen: Seen = Arc::default();
    let listener_seen = seen.clone();
    let consumer = asking_push_consumer(&ns, "CG_pop_push", "PopPush")
        .pop_invisible_time(Duration::from_secs(30))
        .consume_message_batch_max_size(4)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            record(&listener_seen, messages);
            let fail = messages
                .iter()
                .any(|m| seq_of(m) % 25 == 0 && m.reconsume_times == 0);
            if fail {
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        })
        .start()
        .unwrap();
    // Every message once; the failed batches again after the first delay (10 s), through
    // the retry topic, with reconsume times 1.
    assert_eventually(
        "every message, the failed ones twice",
        Duration::from_secs(40),
        || {
            let seen = seen.lock().unwrap();
            seen.len() == COUNT as usize
                && (0..COUNT)
                    .step_by(25)
                    .all(|s| seen.get(&s).is_some_and(|d| d.contains(&1)))
        },
    );
    let info = consumer.running_info();
    let popped: Vec<&MessageQueue> = info.mq_pop_table.keys().collect();
    assert_eq!(popped.len(), 1, "{info:?}");
    assert_eq!(
        (popped[0].topic.as_str(), popped[0].queue_id),
        ("PopPush", -1)
    );
    assert!(
        info.mq_table.keys().all(|q| q.topic.starts_with("%RETRY%")),
        "the topic itself is popped, not pulled: {:?}",
        info.mq_table.keys()
    );
    // Everything acked (batch acks included): no checkpoint left open.
    assert_eventually("every pop acked", Duration::from_secs(10), || {
        cluster.broker().pop_checkpoints().0 == 0
    });
    let seen = seen.lock().unwrap();
    for (seq, deliveries) in seen.iter() {
        assert!(
            deliveries.len() == 1 || deliveries == &[0, 1],
            "seq {seq}: {deliveries:?}"
        );
    }
    consumer.shutdown();
}

#[test]
fn a_push_consumer_in_pop_mode_sends_failures_past_the_maximum_to_the_dead_letter_topic() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    produce(&ns, "PopPushDead", 2, 3);
    admin(&ns)
        .set_message_request_mode(
            cluster.broker().broker_addr(),
            "PopPushDead",
            "CG_pop_dead",
            MessageRequestMode::Pop,
            0,
        )
        .unwrap();
    let calls = Arc::new(Mutex::new(0));
    let listener_calls = calls.clone();
    let consumer = asking_push_consumer(&ns, "CG_pop_dead", "PopPushDead")
        .max_reconsume_times(0)
        .message_listener_concurrently(move |_: &[MessageExt], _: &mut _| {
            *listener_calls.lock().unwrap() += 1;
            ConsumeConcurrentlyStatus::ReconsumeLater
        })
        .start()
        .unwrap();
    let dead = dead_letters(&ns, "CG_pop_dead", 3);
    let seqs: BTreeSet<u64> = dead.iter().map(seq_of).collect();
    assert_eq!(seqs, [0, 1, 2].into());
    assert_eventually("dead letters acked", Duration::from_secs(10), || {
        cluster.broker().pop_checkpoints().0 == 0
    });
    assert_eq!(
        *calls.lock().unwrap(),
        3,
        "each message failed once, then went"
    );
    consumer.shutdown();
}

#[test]
fn without_a_pop_mode_the_broker_assigns_queues_to_pull() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    produce(&ns, "PopPulled", 4, 20);
    let seen: Seen = Arc::default();
    let consumer = asking_push_consumer(&ns, "CG_pop_pulled", "PopPulled")
        .message_listener_concurrently(recording(&seen))
        .start()
        .unwrap();
    assert_eventually("20 messages", Duration::from_secs(30), || {
        seen.lock().unwrap().len() == 20
    });
    let info = consumer.running_info();
    assert!(info.mq_pop_table.is_empty(), "{info:?}");
    let pulled = info
        .mq_table
        .keys()
        .filter(|q| q.topic == "PopPulled")
        .count();
    assert_eq!(pulled, 4, "the broker assigned the four queues to pull");
    consumer.shutdown();
}

/// A broker in front of `broker` that answers the `refused` codes with
/// REQUEST_CODE_NOT_SUPPORTED, as an older broker does (5.0 has no BATCH_ACK_MESSAGE, 4.9 no
/// POP at all), and passes everything else on; it counts the requests by code.
struct OldBrokerRelay {
    server: Arc<RemotingServer>,
    seen: Arc<Mutex<BTreeMap<i32, usize>>>,
}

impl OldBrokerRelay {
    fn start(broker: &str, refused: &'static [i32]) -> OldBrokerRelay {
        let server = Arc::new(RemotingServer::new(server_config()).unwrap());
        let upstream = RemotingClient::new(client_config()).unwrap();
        let seen: Arc<Mutex<BTreeMap<i32, usize>>> = Arc::default();
        let (counts, broker) = (seen.clone(), broker.to_string());
        server
            .register_default_processor(
                processor(move |_, request: RemotingCommand| {
                    *counts.lock().unwrap().entry(request.code).or_default() += 1;
                    if refused.contains(&request.code) {
                        return Ok(Some(RemotingCommand::new_response(
                            response_code::REQUEST_CODE_NOT_SUPPORTED,
                            format!("request type {} not supported", request.code),
                        )));
                    }
                    let oneway = request.is_oneway();
                    if oneway {
                        upstream.invoke_oneway(Some(&broker), request, Duration::from_secs(3))?;
                        return Ok(None);
                    }
                    // Held pops are held upstream: up to their poll time and more.
                    Ok(Some(upstream.invoke_sync(
                        Some(&broker),
                        request,
                        Duration::from_secs(40),
                    )?))
                }),
                PoolConfig {
                    threads: 8,
                    queue_capacity: 1000,
                },
            )
            .unwrap();
        server.start().unwrap();
        OldBrokerRelay { server, seen }
    }

    fn addr(&self) -> String {
        addr_of(&self.server)
    }

    fn count(&self, code: i32) -> usize {
        self.seen.lock().unwrap().get(&code).copied().unwrap_or(0)
    }
}

#[test]
fn a_broker_without_batch_ack_gets_one_ack_per_message() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    const COUNT: u64 = 64;
    produce(&ns, "PopOldBroker", 2, COUNT);
    let broker = cluster.broker().broker_addr().to_string();
    admin(&ns)
        .set_message_request_mode(
            &broker,
            "PopOldBroker",
            "CG_old",
            MessageRequestMode::Pop,
            0,
        )
        .unwrap();
    let relay = OldBrokerRelay::start(&broker, &[request_code::BATCH_ACK_MESSAGE]);
    let seen: Seen = Arc::default();
    let consumer = asking_push_consumer(&ns, "CG_old", "PopOldBroker")
        .broker_addr_override(&broker, relay.addr())
        // Eight messages a call: their acks go together.
        .consume_message_batch_max_size(8)
        .message_listener_concurrently(recording(&seen))
        .start()
        .unwrap();
    assert_eventually("every message", Duration::from_secs(30), || {
        seen.lock().unwrap().len() == COUNT as usize
    });
    assert_eventually("every pop acked", Duration::from_secs(10), || {
        cluster.broker().pop_checkpoints().0 == 0
    });
    assert!(
        relay.count(request_code::POP_MESSAGE) > 0,
        "it popped through the relay"
    );
    assert_eq!(
        relay.count(request_code::BATCH_ACK_MESSAGE),
        1,
        "one batch ack tried, none after the refusal"
    );
    assert_eq!(
        relay.count(request_code::ACK_MESSAGE),
        COUNT as usize,
        "then one ACK_MESSAGE per message, each once"
    );
    assert!(seen.lock().unwrap().values().all(|d| d == &[0]));
    consumer.shutdown();
    // The broker answers the pop the relay still holds for the consumer, then the relay stops.
    cluster.shutdown();
    relay.server.shutdown();
}

#[test]
fn a_broker_that_assigns_no_queues_leaves_the_sharing_to_the_client() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    produce(&ns, "PopNoAssign", 2, 10);
    let broker = cluster.broker().broker_addr().to_string();
    let relay = OldBrokerRelay::start(&broker, &[request_code::QUERY_ASSIGNMENT]);
    let seen: Seen = Arc::default();
    let consumer = asking_push_consumer(&ns, "CG_no_assign", "PopNoAssign")
        .broker_addr_override(&broker, relay.addr())
        .message_listener_concurrently(recording(&seen))
        .start()
        .unwrap();
    assert_eventually("every message, pulled", Duration::from_secs(30), || {
        seen.lock().unwrap().len() == 10
    });
    assert!(relay.count(request_code::QUERY_ASSIGNMENT) > 0);
    assert_eq!(relay.count(request_code::POP_MESSAGE), 0);
    consumer.shutdown();
    cluster.shutdown();
    relay.server.shutdown();
}

#[test]
fn a_simple_consumer_in_a_namespace_sees_its_topics_without_it() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    let producer = Producer::builder("PG_pop_ns")
        .name_server(&ns)
        .namespace("nsP")
        .start()
        .unwrap();
    producer
        .send(&Message::new("PopNs", "in a namespace").with_tags("TagN"))
        .unwrap();
    producer.shutdown();
    let consumer = SimpleConsumer::builder("CG_pop_ns")
        .name_server(&ns)
        .namespace("nsP")
        .subscribe("PopNs", "TagN")
        .consume_from(ConsumeFrom::FirstOffset)
        .await_duration(Duration::from_secs(1))
        .start()
        .unwrap();
    let views = receive_until(
        &consumer,
        1,
        Duration::from_secs(10),
        Duration::from_secs(20),
    );
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].topic, "PopNs");
    consumer.ack(&views[0]).unwrap();
    assert_eq!(
        cluster.broker().pop_checkpoints().0,
        0,
        "acked in the namespaced topic"
    );
    assert!(
        cluster.broker().topic_config("nsP%PopNs").is_some(),
        "the broker knows the topic by its namespaced name"
    );
    consumer.shutdown();
}

#[test]
fn a_popped_message_already_past_the_maximum_goes_to_the_dead_letter_topic_unseen() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    produce(&ns, "PopPastMax", 1, 1);
    admin(&ns)
        .set_message_request_mode(
            cluster.broker().broker_addr(),
            "PopPastMax",
            "CG_past_max",
            MessageRequestMode::Pop,
            0,
        )
        .unwrap();
    // A member that takes the message and dies: it comes again with reconsume times 1.
    let first = simple(&ns, "CG_past_max", "PopPastMax", Duration::from_secs(1));
    let taken = receive_until(&first, 1, Duration::from_secs(1), Duration::from_secs(20));
    assert_eq!(taken.len(), 1);
    first.shutdown();
    let calls = Arc::new(Mutex::new(0));
    let listener_calls = calls.clone();
    let consumer = asking_push_consumer(&ns, "CG_past_max", "PopPastMax")
        .max_reconsume_times(0)
        .message_listener_concurrently(move |_: &[MessageExt], _: &mut _| {
            *listener_calls.lock().unwrap() += 1;
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    let dead = dead_letters(&ns, "CG_past_max", 1);
    assert_eq!(seq_of(&dead[0]), 0);
    assert_eventually("the dead letter acked", Duration::from_secs(10), || {
        cluster.broker().pop_checkpoints().0 == 0
    });
    assert_eq!(*calls.lock().unwrap(), 0, "the listener never saw it");
    consumer.shutdown();
}
