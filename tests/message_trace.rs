//! Message trace through our broker, read back as Apache's tools read it: our producer and
//! consumers with `enable_trace()` write `Pub`, `SubBefore`, `SubAfter` and `EndTransaction`
//! records with the right fields; a trace send Java 5.3.3 made (tests/fixtures) replayed at our
//! broker reads back the same; records of another format in the trace topic are skipped and
//! counted; the trace producer signs with the client's ACL credentials and records carry no
//! namespace; a trace that cannot be delivered fails no send.

#![cfg(feature = "servers")]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Servers;
use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, LitePullConsumer, LocalTransactionState, Message,
    MessageExt, MessageRequestMode, MessageType, MqAdmin, Producer, PushConsumer,
    PushConsumerBuilder, SendResult, TraceQueryResult, TraceType, TraceView, TransactionListener,
    TransactionProducer, RMQ_SYS_TRACE_TOPIC,
};
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::decode_frame;

const WAIT: Duration = Duration::from_secs(30);

/// The trace of `msg_id` once `done` says it is complete (the broker's index and the trace
/// dispatchers catch up in the background).
fn trace_when(
    admin: &MqAdmin,
    msg_id: &str,
    done: impl Fn(&TraceQueryResult) -> bool,
) -> TraceQueryResult {
    let mut last = None;
    let complete = common::wait_until(WAIT, || {
        let found = admin.query_trace(msg_id);
        let complete = found.as_ref().is_ok_and(&done);
        last = Some(found);
        complete
    });
    match last {
        Some(Ok(found)) if complete => found,
        other => panic!("trace of {msg_id}: {other:?}"),
    }
}

fn of_type(trace: &TraceQueryResult, kind: TraceType) -> Vec<&TraceView> {
    trace
        .records
        .iter()
        .filter(|r| r.trace_type == kind)
        .collect()
}

fn admin(servers: &Servers) -> MqAdmin {
    MqAdmin::builder()
        .name_server(servers.ns())
        .start()
        .unwrap()
}

/// Sends `count` messages to `topic` with `producer`, keys `<key>-<i>`.
fn send_keyed(producer: &Producer, topic: &str, key: &str, count: usize) -> Vec<SendResult> {
    (0..count)
        .map(|i| {
            let message = Message::new(topic, format!("traced {i}"))
                .with_tags("TagT")
                .with_keys(format!("{key}-{i}"));
            producer.send(&message).unwrap()
        })
        .collect()
}

/// A traced push consumer of `group` on `topic` from its first offset, adjusted by `adjust`,
/// keeping what its listener gets; started once `count` messages came.
fn traced_push_consumer(
    servers: &Servers,
    group: &str,
    topic: &str,
    count: usize,
    adjust: impl FnOnce(PushConsumerBuilder) -> PushConsumerBuilder,
) -> (PushConsumer, Vec<MessageExt>) {
    let received: Arc<Mutex<Vec<MessageExt>>> = Arc::default();
    let sink = received.clone();
    let builder = PushConsumer::builder(group)
        .name_server(servers.ns())
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .enable_trace();
    let consumer = adjust(builder)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            sink.lock().unwrap().extend(messages.iter().cloned());
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    common::assert_eventually(&format!("{group} got all {count}"), WAIT, || {
        received.lock().unwrap().len() >= count
    });
    let received = received.lock().unwrap().clone();
    (consumer, received)
}

#[test]
fn producer_and_consumers_write_pub_sub_before_and_sub_after_with_javas_fields() {
    let servers = Servers::start("trace-pubsub", |broker, _| broker.trace_topic_enable(true));
    let broker_addr = servers.broker.local_addr().to_string();
    let producer = Producer::builder("TracePG")
        .name_server(servers.ns())
        .enable_trace()
        .start()
        .unwrap();
    let sent = send_keyed(&producer, "TraceTopic", "key", 3);
    let (consumer, received) = traced_push_consumer(&servers, "TraceCG", "TraceTopic", 3, |b| b);
    // The lite pull consumer traces each batch `poll` returns.
    let lite = LitePullConsumer::builder("TraceLiteCG")
        .name_server(servers.ns())
        .subscribe("TraceTopic", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .enable_trace()
        .start()
        .unwrap();
    let mut polled = 0;
    let deadline = Instant::now() + WAIT;
    while polled < 3 && Instant::now() < deadline {
        polled += lite.poll(Duration::from_millis(200)).len();
    }
    assert_eq!(polled, 3);
    // Shutting down sends what the dispatchers hold.
    consumer.shutdown();
    lite.shutdown();
    producer.shutdown();

    // Our broker stores the region and the trace switch with each message, as Java's does.
    for m in &received {
        assert_eq!(m.property("MSG_REGION"), Some("DefaultRegion"));
        assert_eq!(m.property("TRACE_ON"), Some("true"));
    }
    let admin = admin(&servers);
    // traceTopicEnable made the trace topic with one queue.
    let route = admin.examine_topic_route_info(RMQ_SYS_TRACE_TOPIC).unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 1);

    for (i, result) in sent.iter().enumerate() {
        let trace = trace_when(&admin, &result.msg_id, |t| {
            of_type(t, TraceType::Pub).len() == 1
                && of_type(t, TraceType::SubBefore).len() == 2
                && of_type(t, TraceType::SubAfter).len() == 2
        });
        assert_eq!(trace.skipped, 0);
        let publish = of_type(&trace, TraceType::Pub)[0];
        assert_eq!(publish.group_name, "TracePG");
        assert_eq!(publish.topic, "TraceTopic");
        assert_eq!(publish.msg_id, result.msg_id);
        assert_eq!(publish.offset_msg_id, result.offset_msg_id);
        assert_eq!(publish.tags.as_deref(), Some("TagT"));
        assert_eq!(publish.keys.as_deref(), Some(format!("key-{i}").as_str()));
        assert_eq!(publish.store_host, broker_addr);
        assert_eq!(publish.body_length, format!("traced {i}").len() as i32);
        assert_eq!(publish.msg_type, Some(MessageType::Normal));
        assert_eq!(publish.region_id, "DefaultRegion");
        assert!(publish.success && publish.cost_time >= 0 && publish.time_stamp > 0);
        assert_eq!(
            trace.records[0].trace_type,
            TraceType::Pub,
            "by time, the send first"
        );

        for group in ["TraceCG", "TraceLiteCG"] {
            let before: Vec<_> = of_type(&trace, TraceType::SubBefore)
                .into_iter()
                .filter(|r| r.group_name == group)
                .collect();
            let after: Vec<_> = of_type(&trace, TraceType::SubAfter)
                .into_iter()
                .filter(|r| r.group_name == group)
                .collect();
            assert_eq!((before.len(), after.len()), (1, 1), "{group}: {trace:?}");
            let (before, after) = (before[0], after[0]);
            assert!(!before.request_id.is_empty());
            assert_eq!(before.request_id, after.request_id, "{group}");
            assert_eq!(before.retry_times, 0);
            assert_eq!(before.keys.as_deref(), Some(format!("key-{i}").as_str()));
            assert_eq!(before.region_id, "DefaultRegion");
            assert!(after.success, "{group}");
            assert_eq!(after.context_code, 0, "{group}: SUCCESS");
            assert!(after.cost_time >= 0 && after.time_stamp >= before.time_stamp);
            assert!(before.time_stamp >= publish.time_stamp);
        }
    }

    // The trace messages themselves: keyed by the traced ids and keys, as Java's.
    let raw = admin
        .query_message(RMQ_SYS_TRACE_TOPIC, &sent[0].msg_id, 32, 0, i64::MAX)
        .unwrap();
    assert!(!raw.messages.is_empty());
    for m in &raw.messages {
        let keys: Vec<&str> = m.keys().unwrap_or("").split(' ').collect();
        assert!(keys.contains(&sent[0].msg_id.as_str()), "{keys:?}");
        assert!(
            m.body.contains(&1u8) && m.body.ends_with(&[2u8]),
            "Java's separators"
        );
    }
}

#[test]
fn a_push_consumer_that_pops_traces_its_listener_calls() {
    let servers = Servers::start("trace-pop", |broker, _| broker);
    let producer = Producer::builder("TracePopPG")
        .name_server(servers.ns())
        .start()
        .unwrap();
    let sent = send_keyed(&producer, "TracePop", "pk", 2);
    producer.shutdown();
    let admin = admin(&servers);
    admin
        .set_message_request_mode(
            servers.broker.broker_addr(),
            "TracePop",
            "TracePopCG",
            MessageRequestMode::Pop,
            0,
        )
        .unwrap();
    let (consumer, _) = traced_push_consumer(&servers, "TracePopCG", "TracePop", 2, |b| {
        b.client_rebalance(false)
    });
    assert_eq!(
        consumer.running_info().mq_pop_table.len(),
        1,
        "popped, not pulled"
    );
    consumer.shutdown();
    for (i, result) in sent.iter().enumerate() {
        let trace = trace_when(&admin, &result.msg_id, |t| {
            of_type(t, TraceType::SubAfter).len() == 1
        });
        let (before, after) = (
            of_type(&trace, TraceType::SubBefore),
            of_type(&trace, TraceType::SubAfter),
        );
        assert_eq!(before.len(), 1, "{trace:?}");
        assert_eq!(before[0].group_name, "TracePopCG");
        assert_eq!(before[0].keys.as_deref(), Some(format!("pk-{i}").as_str()));
        assert_eq!(before[0].request_id, after[0].request_id);
        assert!(after[0].success && after[0].context_code == 0, "{trace:?}");
    }
}

#[test]
fn a_java_trace_send_replayed_at_our_broker_reads_back_as_java_wrote_it() {
    let servers = Servers::start("trace-java", |broker, _| broker);
    let fixture = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/java-5.3.3-trace")
            .join(name);
        let frame = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        decode_frame(&frame[4..]).unwrap()
    };
    let request = fixture("255-req-code310-json.bin");
    let java_answer = fixture("258-resp-code0-json.bin");
    let client = common::client();
    let response = client
        .invoke_sync(
            Some(&servers.broker.local_addr().to_string()),
            request,
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    // What Java's answer (258) carries for the trace hooks.
    for field in ["MSG_REGION", "TRACE_ON"] {
        assert_eq!(
            response.ext_fields.get(field),
            java_answer.ext_fields.get(field),
            "{field}"
        );
    }
    assert_eq!(response.ext_fields.get("MSG_REGION"), Some("DefaultRegion"));

    let admin = admin(&servers);
    let first = "FD0000000000000000000000000000025C2C5FFD2B272079CA430000";
    let trace = trace_when(&admin, first, |t| !t.records.is_empty());
    assert_eq!(trace.skipped, 0);
    assert_eq!(trace.records.len(), 1, "only the record of that message");
    let publish = &trace.records[0];
    assert_eq!(publish.trace_type, TraceType::Pub);
    assert_eq!(publish.time_stamp, 1_796_628_052_548);
    assert_eq!(publish.group_name, "CapTracePG5");
    assert_eq!(publish.topic, "CapTrace5");
    assert_eq!(publish.tags.as_deref(), Some("TagTr"));
    assert_eq!(publish.keys.as_deref(), Some("tk0"));
    assert_eq!(publish.store_host, "127.0.0.1:20941");
    assert_eq!((publish.body_length, publish.cost_time), (7, 12));
    assert_eq!(publish.offset_msg_id, "7F00000100002ABD00000000007CA88D");
    assert_eq!(publish.status(), "success");
    // Found by the other message's key too: `tk1` is in the trace message's KEYS.
    let second = trace_when(
        &admin,
        "FD0000000000000000000000000000025C2C5FFD2B272079CA550002",
        |t| !t.records.is_empty(),
    );
    assert_eq!(second.records[0].keys.as_deref(), Some("tk1"));
}

#[test]
fn records_not_in_javas_format_are_skipped_and_counted() {
    let servers = Servers::start("trace-foreign", |broker, _| broker);
    let producer = Producer::builder("ForeignTracePG")
        .name_server(servers.ns())
        .start()
        .unwrap();
    let id = "0A0000010000000000000000000000000000000000000000000000AB";
    let java = format!(
        "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}G\u{1}T\u{1}{id}\u{1}null\u{1}null\u{1}\
         10.0.0.1:10911\u{1}5\u{1}3\u{1}0\u{1}OFF\u{1}true\u{2}"
    );
    // Another client's record (JSON), a record with a type Java does not know, and a Pub
    // whose numbers are not numbers, around one of Java's.
    let body = format!(
        "{{\"traceId\":\"{id}\",\"span\":1}}\u{2}{java}Custom\u{1}{id}\u{2}\
         Pub\u{1}soon\u{1}R\u{1}G\u{1}T\u{1}{id}\u{1}t\u{1}k\u{1}h\u{1}x\u{1}y\u{1}0\u{1}O\u{1}true\u{2}"
    );
    producer
        .send(&Message::new(RMQ_SYS_TRACE_TOPIC, body).with_keys(id))
        .unwrap();
    producer
        .send(&Message::new(RMQ_SYS_TRACE_TOPIC, vec![0xff, 0xfe, 0x00]).with_keys(id))
        .unwrap();
    producer.shutdown();
    let admin = admin(&servers);
    let trace = trace_when(&admin, id, |t| t.skipped >= 4);
    assert_eq!(trace.records.len(), 1);
    assert_eq!(trace.records[0].group_name, "G");
    assert_eq!(
        trace.skipped, 4,
        "JSON, Custom, the bad Pub, the binary body"
    );
}

struct Decides;

impl TransactionListener for Decides {
    fn execute_local_transaction(
        &self,
        message: &Message,
        _: &dyn std::any::Any,
    ) -> LocalTransactionState {
        match message.body().as_ref() {
            b"commit" => LocalTransactionState::CommitMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, _: &MessageExt) -> LocalTransactionState {
        LocalTransactionState::CommitMessage
    }
}

#[test]
fn a_traced_transaction_writes_its_half_and_its_end_and_the_check_s() {
    let servers = Servers::start("trace-tx", |broker, _| {
        broker
            .transaction_timeout(Duration::from_millis(300))
            .transaction_check_interval(Duration::from_millis(100))
    });
    let producer = TransactionProducer::builder("TraceTxPG", Decides)
        .name_server(servers.ns())
        .enable_trace()
        .start()
        .unwrap();
    let committed = producer
        .send_message_in_transaction(&Message::new("TraceTx", "commit").with_tags("TxTag"), &())
        .unwrap();
    let unknown = producer
        .send_message_in_transaction(&Message::new("TraceTx", "later"), &())
        .unwrap();
    let admin = admin(&servers);
    // The check answers the unknown one within a few of the broker's rounds.
    let ends = |t: &TraceQueryResult| of_type(t, TraceType::EndTransaction).len();
    // Records leave every 5 s, or at shutdown; ask until the check's is there.
    let checked = trace_when(&admin, &unknown.transaction_id, |t| ends(t) == 2);
    producer.shutdown();
    let by_check: HashMap<bool, &TraceView> = of_type(&checked, TraceType::EndTransaction)
        .into_iter()
        .map(|r| (r.from_transaction_check, r))
        .collect();
    assert_eq!(
        by_check[&false].transaction_state,
        Some(LocalTransactionState::Unknown)
    );
    assert_eq!(
        by_check[&true].transaction_state,
        Some(LocalTransactionState::CommitMessage)
    );

    let trace = trace_when(&admin, &committed.transaction_id, |t| ends(t) == 1);
    let half = of_type(&trace, TraceType::Pub);
    assert_eq!(half.len(), 1);
    assert_eq!(half[0].msg_type, Some(MessageType::TransHalf));
    let end = of_type(&trace, TraceType::EndTransaction)[0];
    assert_eq!(end.group_name, "TraceTxPG");
    assert_eq!(end.topic, "TraceTx");
    assert_eq!(end.tags.as_deref(), Some("TxTag"));
    assert_eq!(end.msg_type, Some(MessageType::TransCommit));
    assert_eq!(
        end.transaction_state,
        Some(LocalTransactionState::CommitMessage)
    );
    assert_eq!(
        end.transaction_id.as_deref(),
        Some(committed.transaction_id.as_str())
    );
    assert!(!end.from_transaction_check);
}

#[cfg(feature = "acl")]
#[test]
fn the_trace_producer_signs_and_records_carry_no_namespace() {
    use rocketmq_blocking::acl::SessionCredentials;
    // One account, which may publish and subscribe anything; no admin rights.
    const TABLE: &str = r#"{
      "globalWhiteRemoteAddresses": [],
      "accounts": [
        {"accessKey": "TraceAK", "secretKey": "TraceSK123", "whiteRemoteAddress": "",
         "admin": false, "defaultTopicPerm": "PUB|SUB", "defaultGroupPerm": "PUB|SUB"}
      ]
    }"#;
    let servers = Servers::start("trace-acl", |broker, dir| {
        let table = dir.join("acl.json");
        std::fs::write(&table, TABLE).unwrap();
        broker.acl_file(table)
    });
    let credentials = SessionCredentials::new("TraceAK", "TraceSK123");
    let producer = Producer::builder("NsTracePG")
        .name_server(servers.ns())
        .credentials(credentials.clone())
        .namespace("teamA")
        .enable_trace()
        .start()
        .unwrap();
    let sent = producer
        .send(&Message::new("NsTraceTopic", "signed").with_keys("ns-key"))
        .unwrap();
    producer.shutdown();
    let admin = MqAdmin::builder()
        .name_server(servers.ns())
        .credentials(credentials)
        .start()
        .unwrap();
    let trace = trace_when(&admin, &sent.msg_id, |t| !t.records.is_empty());
    let publish = &trace.records[0];
    assert_eq!(publish.trace_type, TraceType::Pub);
    assert_eq!(publish.group_name, "NsTracePG");
    assert_eq!(publish.topic, "NsTraceTopic");
    // The traced message itself is in the namespace.
    let found = admin
        .query_message_by_unique_key("teamA%NsTraceTopic", &sent.msg_id)
        .unwrap();
    assert!(found.is_some());
}

#[test]
fn a_trace_that_cannot_be_delivered_fails_no_send() {
    let servers = Servers::start("trace-undeliverable", |broker, _| broker);
    // No broker takes a topic of that name: every trace message is refused.
    let producer = Producer::builder("UndeliveredPG")
        .name_server(servers.ns())
        .enable_trace()
        .trace_topic("no such topic!")
        .start()
        .unwrap();
    for i in 0..300 {
        producer
            .send(&Message::new("Undelivered", format!("m{i}")))
            .unwrap_or_else(|e| panic!("send {i}: {e}"));
    }
    producer.shutdown();
    let consumer = LitePullConsumer::builder("UndeliveredCG")
        .name_server(servers.ns())
        .subscribe("Undelivered", "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .start()
        .unwrap();
    let mut polled = 0;
    let deadline = Instant::now() + WAIT;
    while polled < 300 && Instant::now() < deadline {
        polled += consumer.poll(Duration::from_millis(200)).len();
    }
    assert_eq!(polled, 300, "every message was stored");
}
