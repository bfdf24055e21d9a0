//! RocketMQ 5 messages end to end with our clients: 1,000 timer messages across a `kill -9`
//! of the broker (each delivered exactly once, none before its time), recall of a pending and
//! of a fired timer message, SQL92 subscriptions filtering what the Apache C++ producer sent,
//! and a bad expression refused when the consumer starts or subscribes.

#![cfg(feature = "servers")]

mod common;
mod cpp_peer;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use common::{announced_addr, assert_eventually, example_binary, TempDir};
use cpp_peer::run_peer;
use rocketmq_blocking::client::{
    ClientError, ConsumeConcurrentlyStatus, Message, MessageExt, MessageSelector, Producer,
    PullConsumer, PullStatus, PushConsumer,
};
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::LocalCluster;

/// The broker example on `listen`, registered with `namesrv`, storing in `store`; returns it
/// and the address it listens on.
fn spawn_broker(listen: &str, namesrv: &str, store: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(example_binary("broker"))
        .args(["--listen", listen, "--namesrv", namesrv, "--store"])
        .arg(store)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the broker example");
    let addr = announced_addr(&mut child);
    (child, addr)
}

/// Every message of `topic`, read from offset 0 of each queue.
fn read_topic(namesrv: &str, topic: &str) -> Vec<MessageExt> {
    let consumer = PullConsumer::builder("CG_timer_check")
        .name_server(namesrv)
        .start()
        .expect("pull consumer");
    let mut all = Vec::new();
    for queue in consumer
        .fetch_subscribe_message_queues(topic)
        .unwrap_or_default()
    {
        let mut offset = 0;
        loop {
            let pulled = consumer.pull(&queue, offset, 32).expect("pull");
            if pulled.status != PullStatus::Found {
                break;
            }
            offset = pulled.next_begin_offset;
            all.extend(pulled.messages);
        }
    }
    consumer.shutdown();
    all
}

#[test]
fn a_thousand_timer_messages_survive_a_kill_and_arrive_once_never_early() {
    common::init_logging();
    let store = TempDir::new("timer-kill");
    let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
    let ns = namesrv.local_addr().to_string();
    let (mut broker, addr) = spawn_broker("127.0.0.1:0", &ns, &store.0);
    let producer = Producer::builder("PG_timers")
        .name_server(&ns)
        .start()
        .unwrap();

    // Due 1 to 20 s from now, spread over the range (a fixed shuffle).
    let start = common::now_ms();
    let mut due: BTreeMap<String, i64> = BTreeMap::new();
    for i in 0..1000i64 {
        let at = start + 1_000 + (i * 7919 % 1000) * 19;
        let at_time = UNIX_EPOCH + Duration::from_millis(at as u64);
        let message = Message::new("Timed", format!("timer-{i}")).with_deliver_time(at_time);
        let sent = producer.send(&message).expect("timer send");
        assert!(
            sent.recall_handle.is_some(),
            "a timer message's answer has a handle"
        );
        due.insert(sent.msg_id, at);
    }

    // Once some have fired, the broker is killed and started again on the same store.
    assert_eventually(
        "some timer messages delivered",
        Duration::from_secs(30),
        || read_topic(&ns, "Timed").len() >= 100,
    );
    broker.kill().expect("kill -9 the broker");
    broker.wait().expect("reap the broker");
    let (mut broker, _) = spawn_broker(&addr, &ns, &store.0);

    let last_due = due.values().max().copied().unwrap_or(start);
    assert_eventually(
        "every timer message delivered",
        Duration::from_secs(60),
        || read_topic(&ns, "Timed").len() >= 1000 && common::now_ms() > last_due + 3_000,
    );
    let delivered = read_topic(&ns, "Timed");
    let mut times: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for m in &delivered {
        let id = m.uniq_key().expect("unique id").to_string();
        times.entry(id).or_default().push(m.store_timestamp);
    }
    assert_eq!(times.len(), 1000, "every message delivered");
    for (id, stored) in &times {
        assert_eq!(stored.len(), 1, "{id} delivered {} times", stored.len());
        let at = due[id];
        assert!(
            stored[0] >= at,
            "{id} delivered {} ms early",
            at - stored[0]
        );
    }
    producer.shutdown();
    broker.kill().expect("stop the broker");
    broker.wait().expect("reap the broker");
    namesrv.shutdown();
}

#[test]
fn recall_cancels_a_pending_timer_message_and_a_fired_one_is_refused() {
    common::init_logging();
    let cluster = LocalCluster::start_with(|b| b.recall_message_enable(true)).unwrap();
    let producer = Producer::builder("PG_recall")
        .name_server(cluster.name_server_addr())
        .start()
        .unwrap();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = got.clone();
    let consumer = PushConsumer::builder("CG_recall")
        .name_server(cluster.name_server_addr())
        .subscribe("Recalled", "*")
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            let mut got = sink.lock().unwrap();
            for m in messages {
                got.push(String::from_utf8_lossy(m.body.as_slice()).into_owned());
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    let soon = |body: &str| Message::new("Recalled", body).with_delay(Duration::from_millis(1500));
    let kept = producer.send(&soon("kept")).unwrap();
    let dropped = producer.send(&soon("dropped")).unwrap();
    let handle = dropped.recall_handle.clone().unwrap();
    assert_eq!(
        producer.recall("Recalled", &handle).unwrap(),
        dropped.msg_id
    );
    // The kept message is due in the same slot (or the one after): once it is in, the
    // recalled one's slot has been delivered too.
    assert_eventually(
        "the kept timer message arrives",
        Duration::from_secs(15),
        || got.lock().unwrap().contains(&"kept".to_string()),
    );
    let late = producer.recall("Recalled", &kept.recall_handle.unwrap());
    match late {
        Err(ClientError::Broker { code, .. }) => {
            assert_eq!(code, response_code::ILLEGAL_OPERATION)
        }
        other => panic!("recalling a fired message: {other:?}"),
    }
    assert!(matches!(
        producer.recall("Recalled", "not a handle"),
        Err(ClientError::InvalidArgument { .. })
    ));
    // A message after both, to be sure nothing else is on its way.
    producer.send(&Message::new("Recalled", "after")).unwrap();
    assert_eventually("the plain message arrives", Duration::from_secs(15), || {
        got.lock().unwrap().contains(&"after".to_string())
    });
    assert!(!got.lock().unwrap().contains(&"dropped".to_string()));
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn sql92_subscriptions_filter_the_cpp_producers_properties() {
    common::init_logging();
    let cluster = LocalCluster::start_with(|b| b.enable_property_filter(true)).unwrap();
    let ns = cluster.name_server_addr();
    // The C++ producer's message i has properties seq=i and custom=value-i, and tag TagA for
    // even i.
    let sent = run_peer(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        "CppSql",
        "--group",
        "PG_cpp_sql",
        "--count",
        "60",
        "--mode",
        "sync",
        "--size",
        "32",
    ]);
    assert_eq!(sent.iter().filter(|r| r["ok"] == true).count(), 60);
    let got: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let sink = got.clone();
    let selector = MessageSelector::sql(
        "(seq BETWEEN 10 AND 19 AND TAGS = 'TagA') OR custom = 'value-42' OR done = 'yes'",
    );
    let consumer = PushConsumer::builder("CG_cpp_sql")
        .name_server(&ns)
        .consume_from(rocketmq_blocking::client::ConsumeFrom::FirstOffset)
        .subscribe("CppSql", selector)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            let mut got = sink.lock().unwrap();
            for m in messages {
                let id = m
                    .property("seq")
                    .map(str::to_string)
                    .or_else(|| m.property("queue").map(|q| format!("done-{q}")))
                    .unwrap_or_default();
                got.insert(id);
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    // One matching message at the end of each queue: when all are in, so is everything
    // before them.
    let producer = Producer::builder("PG_sql_done")
        .name_server(&ns)
        .start()
        .unwrap();
    let queues = producer.fetch_publish_message_queues("CppSql").unwrap();
    for queue in &queues {
        let done = Message::new("CppSql", "done")
            .with_property("done", "yes")
            .unwrap()
            .with_property("queue", queue.queue_id.to_string())
            .unwrap();
        producer.send_to_queue(&done, queue).unwrap();
    }
    let mut expected: BTreeSet<String> = ["10", "12", "14", "16", "18", "42"]
        .into_iter()
        .map(str::to_string)
        .collect();
    expected.extend(queues.iter().map(|q| format!("done-{}", q.queue_id)));
    assert_eventually(
        "exactly the matching messages",
        Duration::from_secs(30),
        || *got.lock().unwrap() == expected,
    );
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn a_bad_sql92_expression_is_refused_at_start_and_at_subscribe() {
    common::init_logging();
    let cluster = LocalCluster::start_with(|b| b.enable_property_filter(true)).unwrap();
    let ns = cluster.name_server_addr();
    let producer = Producer::builder("PG_sql_bad")
        .name_server(&ns)
        .start()
        .unwrap();
    producer.send(&Message::new("SqlBad", "x")).unwrap();
    // Java checks an expression with the broker of the topic's route, so the route must exist.
    common::wait_for_route(&ns, "SqlBad");
    let refused = PushConsumer::builder("CG_sql_bad")
        .name_server(&ns)
        .subscribe("SqlBad", MessageSelector::sql("a = 1 AND AND b = 2"))
        .message_listener_concurrently(|_: &[MessageExt], _: &mut _| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start();
    match refused {
        Err(ClientError::Broker { code, remark, .. }) => {
            assert_eq!(code, response_code::SUBSCRIPTION_PARSE_FAILED);
            let remark = remark.unwrap_or_default();
            assert!(remark.contains("line 1, column 11"), "{remark}");
        }
        other => panic!("a bad expression at start: {other:?}"),
    }
    let consumer = PushConsumer::builder("CG_sql_good")
        .name_server(&ns)
        .subscribe("SqlBad", MessageSelector::sql("a IS NOT NULL"))
        .message_listener_concurrently(|_: &[MessageExt], _: &mut _| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .expect("a good expression starts");
    assert!(matches!(
        consumer.subscribe("SqlBad", MessageSelector::sql("a >")),
        Err(ClientError::Broker { code, .. }) if code == response_code::SUBSCRIPTION_PARSE_FAILED
    ));
    consumer.shutdown();
    producer.shutdown();

    // A broker that does not filter by properties (Java's default) says so at start.
    let plain = LocalCluster::start().unwrap();
    let producer = Producer::builder("PG_sql_off")
        .name_server(plain.name_server_addr())
        .start()
        .unwrap();
    producer.send(&Message::new("SqlOff", "x")).unwrap();
    common::wait_for_route(&plain.name_server_addr(), "SqlOff");
    let refused = PushConsumer::builder("CG_sql_off")
        .name_server(plain.name_server_addr())
        .subscribe("SqlOff", MessageSelector::sql("a > 1"))
        .message_listener_concurrently(|_: &[MessageExt], _: &mut _| {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start();
    match refused {
        Err(ClientError::Broker { code, remark, .. }) => {
            assert_eq!(code, response_code::SYSTEM_ERROR);
            assert_eq!(
                remark.as_deref(),
                Some("The broker does not support consumer to filter message by SQL92")
            );
        }
        other => panic!("SQL92 on a broker without the filter: {other:?}"),
    }
    producer.shutdown();
}

#[test]
fn the_examples_send_timer_messages_and_consume_by_sql92() {
    common::init_logging();
    let cluster = LocalCluster::start_with(|b| b.enable_property_filter(true)).unwrap();
    let ns = cluster.name_server_addr();
    let started = common::now_ms();
    let (code, lines) = common::run_example(
        "producer",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "ExTimer",
            "--count",
            "4",
            "--mode",
            "sync",
            "--property",
            "region=eu",
            "--delay-ms",
            "3000",
            "--print-due",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("sent 4 ok 4 failed 0")
    );
    let due: Vec<i64> = lines
        .iter()
        .filter_map(|l| {
            let mut words = l.split(' ');
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("id"), Some(id), Some("due"), Some(due)) if id.len() == 32 => {
                    due.parse().ok()
                }
                _ => None,
            }
        })
        .collect();
    assert_eq!(due.len(), 4, "{lines:?}");
    assert!(
        due.iter().all(|d| *d >= started + 3000),
        "{due:?} started {started}"
    );
    let (code, _) = common::run_example(
        "producer",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "ExTimer",
            "--count",
            "10",
            "--mode",
            "sync",
            "--property",
            "region=us",
        ],
    );
    assert_eq!(code, 0);
    // The 4 timer messages with region=eu, once due. Were the filter not applied, the 10
    // others, there at once, would end the run before the timer messages are due.
    let (code, lines) = common::run_example(
        "consumer",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "ExTimer",
            "--group",
            "CG_ex_sql",
            "--count",
            "4",
            "--mode",
            "push",
            "--sql",
            "region = 'eu'",
            "--from",
            "first",
            "--timeout",
            "20",
        ],
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("consumed 4 distinct 4")
    );
    assert_eq!(code, 0);
    assert!(common::now_ms() >= due.iter().copied().min().unwrap_or_default());
}
