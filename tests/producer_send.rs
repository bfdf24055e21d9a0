//! The producer against our name server and fake brokers: what goes on the wire for each send
//! style, heartbeats and unregistration, routes (TBW102, unknown topics, no name server),
//! broker errors, hooks, and reading back with the pull consumer.

#![cfg(feature = "servers")]

mod producer_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use producer_common::{assert_eventually, name_server, FakeBroker, Mode};
use rocketmq_blocking::client::{
    ClientError, Message, MessageQueue, Producer, PullConsumer, PullStatus,
    SelectMessageQueueByHash, SendMessageContext, SendMessageHook, SendResult, SendStatus,
};
use rocketmq_blocking::protocol::body::HeartbeatData;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::UnregisterClientRequestHeader;
use rocketmq_blocking::protocol::message::{decode_batch, decompress, string_to_properties};
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand, SerializeType};
use rocketmq_blocking::remoting::{AbortProcess, RpcHook};

const GROUP: &str = "PG_TEST";
const WAIT: Duration = Duration::from_secs(5);

fn producer_with(
    namesrv: &str,
    configure: impl FnOnce(
        rocketmq_blocking::client::ProducerBuilder,
    ) -> rocketmq_blocking::client::ProducerBuilder,
) -> Producer {
    let builder = Producer::builder(GROUP)
        .name_server(namesrv)
        .route_refresh_interval(Duration::from_millis(200))
        .heartbeat_interval(Duration::from_millis(200));
    configure(builder).start().expect("producer starts")
}

fn producer(namesrv: &str) -> Producer {
    producer_with(namesrv, |b| b)
}

fn ext_keys(recorded: &producer_common::Recorded) -> Vec<String> {
    let mut keys: Vec<_> = recorded
        .ext_fields
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    keys.sort();
    keys
}

#[test]
fn sync_send_goes_out_as_java_sends_it() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("TopicTest", 4)]);
    let producer = producer(&ns);
    let mut message = Message::new("TopicTest", "Hello RocketMQ")
        .with_tags("TagA")
        .with_keys(["KEY0", "KEY1"]);
    message.put_user_property("seq", "7").unwrap();

    let result = producer.send(&message).expect("send");
    assert_eq!(result.send_status, SendStatus::SendOk);
    assert_eq!(result.msg_id.len(), 32, "{}", result.msg_id);
    assert_eq!(result.offset_msg_id.len(), 32);
    assert_eq!(result.message_queue.topic, "TopicTest");
    assert_eq!(result.message_queue.broker_name, "broker-a");
    assert!((0..4).contains(&result.message_queue.queue_id));
    assert_eq!(result.queue_offset, 0);
    assert_eq!(result.region_id, "DefaultRegion");
    assert!(result.trace_on);

    let sent = broker.requests(request_code::SEND_MESSAGE_V2);
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.serialize_type, SerializeType::Json);
    // Vector 010's field set: a..n without l.
    assert_eq!(
        ext_keys(request),
        ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "m", "n"]
    );
    let ext = &request.ext_fields;
    assert_eq!(ext.get("a"), Some(GROUP));
    assert_eq!(ext.get("b"), Some("TopicTest"));
    assert_eq!(ext.get("c"), Some("TBW102"));
    assert_eq!(ext.get("d"), Some("4"));
    assert_eq!(
        ext.get("e"),
        Some(result.message_queue.queue_id.to_string().as_str())
    );
    assert_eq!(ext.get("f"), Some("0"));
    assert_eq!(ext.get("m"), Some("false"));
    assert_eq!(ext.get("n"), Some("broker-a"));
    let properties = string_to_properties(ext.get("i").unwrap());
    assert_eq!(properties.get("UNIQ_KEY"), Some(result.msg_id.as_str()));
    assert_eq!(properties.get("TAGS"), Some("TagA"));
    assert_eq!(properties.get("KEYS"), Some("KEY0 KEY1"));
    assert_eq!(properties.get("WAIT"), Some("true"));
    assert_eq!(properties.get("seq"), Some("7"));
    assert_eq!(request.body, b"Hello RocketMQ");
    // The user's message is untouched.
    assert!(message.property("UNIQ_KEY").is_none());
}

#[test]
fn rocketmq_binary_headers_work_end_to_end() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("BinTopic", 2)]);
    let producer = producer_with(&ns, |b| b.serialize_type(SerializeType::RocketMq));
    let result = producer
        .send(&Message::new("BinTopic", "binary").with_tags("T"))
        .expect("send with ROCKETMQ headers");
    assert_eq!(result.send_status, SendStatus::SendOk);
    let sent = broker.requests(request_code::SEND_MESSAGE_V2);
    assert_eq!(sent[0].serialize_type, SerializeType::RocketMq);
    assert_eq!(sent[0].ext_fields.get("b"), Some("BinTopic"));
    assert_eventually("a binary heartbeat", WAIT, || {
        broker.count(request_code::HEART_BEAT) > 0
    });
    assert!(broker
        .requests(request_code::HEART_BEAT)
        .iter()
        .all(|r| r.serialize_type == SerializeType::RocketMq));
}

#[test]
fn large_bodies_arrive_compressed_small_ones_plain() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Zip", 1)]);
    let producer = producer(&ns);
    let large: Vec<u8> = (0..10_000u32).map(|i| (i % 97) as u8).collect();
    producer.send(&Message::new("Zip", large.clone())).unwrap();
    producer
        .send(&Message::new("Zip", vec![7u8; 4095]))
        .unwrap();

    let sent = broker.requests(request_code::SEND_MESSAGE_V2);
    assert_eq!(sent.len(), 2);
    let flag: i32 = sent[0].ext_fields.get("f").unwrap().parse().unwrap();
    assert_eq!(flag, 0x1 | 0x300);
    assert!(sent[0].body.len() < large.len());
    assert_eq!(decompress(&sent[0].body, 1 << 20).unwrap(), large);
    assert_eq!(sent[1].ext_fields.get("f"), Some("0"));
    assert_eq!(sent[1].body, vec![7u8; 4095]);
}

#[test]
fn batch_goes_as_code_320_uncompressed_with_an_id_per_message() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Batch", 2)]);
    let producer = producer(&ns);
    let messages: Vec<Message> = (0..3)
        .map(|i| Message::new("Batch", vec![b'a' + i as u8; 5000]).with_tags(format!("t{i}")))
        .collect();
    let result = producer.send_batch(&messages).expect("batch");
    assert_eq!(result.send_status, SendStatus::SendOk);

    let sent = broker.requests(request_code::SEND_BATCH_MESSAGE);
    assert_eq!(sent.len(), 1);
    assert_eq!(broker.count(request_code::SEND_MESSAGE_V2), 0);
    let request = &sent[0];
    assert_eq!(request.ext_fields.get("m"), Some("true"));
    assert_eq!(request.ext_fields.get("f"), Some("0"), "never compressed");
    let decoded = decode_batch(&request.body).expect("batch body");
    assert_eq!(decoded.len(), 3);
    let ids: Vec<&str> = decoded
        .iter()
        .map(|m| m.properties.get("UNIQ_KEY").unwrap())
        .collect();
    assert_eq!(result.msg_id, ids.join(","));
    for (i, m) in decoded.iter().enumerate() {
        assert_eq!(m.body, messages[i].body().to_vec());
        assert_eq!(m.properties.get("TAGS"), Some(format!("t{i}").as_str()));
    }
    // Mixed topics are refused before anything is sent.
    let mixed = [Message::new("Batch", "a"), Message::new("Other", "b")];
    assert!(matches!(
        producer.send_batch(&mixed),
        Err(ClientError::InvalidBatch { .. })
    ));
    assert_eq!(broker.count(request_code::SEND_BATCH_MESSAGE), 1);
}

#[test]
fn async_and_oneway_sends() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Async", 4)]);
    let producer = producer(&ns);
    let results: Arc<Mutex<Vec<Result<SendResult, ClientError>>>> = Arc::default();
    for i in 0..20 {
        let results = results.clone();
        producer
            .send_async(&Message::new("Async", format!("m{i}")), move |r| {
                results.lock().unwrap().push(r)
            })
            .expect("in flight");
    }
    assert_eventually("20 callbacks", WAIT, || results.lock().unwrap().len() == 20);
    for result in results.lock().unwrap().iter() {
        assert_eq!(result.as_ref().unwrap().send_status, SendStatus::SendOk);
    }
    for i in 0..5 {
        producer
            .send_oneway(&Message::new("Async", format!("o{i}")))
            .unwrap();
    }
    assert_eventually("5 oneway requests", WAIT, || {
        broker
            .requests(request_code::SEND_MESSAGE_V2)
            .iter()
            .filter(|r| r.oneway)
            .count()
            == 5
    });
    assert_eq!(broker.count(request_code::SEND_MESSAGE_V2), 25);
    assert_eq!(broker.stored("Async"), 25);
    // No callback ran twice.
    assert_eq!(results.lock().unwrap().len(), 20);
}

#[test]
fn selector_and_explicit_queue() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let _a = FakeBroker::start("broker-a", &ns, &[("Order", 4)]);
    let _b = FakeBroker::start("broker-b", &ns, &[("Order", 4)]);
    let producer = producer(&ns);
    let queues: Vec<MessageQueue> = (0..10)
        .map(|i| {
            producer
                .send_with_selector(
                    &Message::new("Order", format!("step {i}")),
                    &SelectMessageQueueByHash,
                    "order-42",
                )
                .unwrap()
                .message_queue
        })
        .collect();
    assert!(queues.iter().all(|q| q == &queues[0]), "{queues:?}");
    // "order-42".hashCode() picks the same index a Java producer would.
    let all = producer.fetch_publish_message_queues("Order").unwrap();
    assert_eq!(all.len(), 8);
    let java_hash = "order-42"
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    assert_eq!(queues[0], all[(java_hash % 8).unsigned_abs() as usize]);

    let target = MessageQueue::new("Order", "broker-b", 3);
    let result = producer
        .send_to_queue(&Message::new("Order", "direct"), &target)
        .unwrap();
    assert_eq!(result.message_queue, target);
    let (tx, rx) = std::sync::mpsc::channel();
    producer
        .send_to_queue_async(&Message::new("Order", "direct async"), &target, move |r| {
            tx.send(r).unwrap()
        })
        .unwrap();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap().unwrap().message_queue,
        target
    );
    assert!(matches!(
        producer.send_to_queue(&Message::new("Other", "x"), &target),
        Err(ClientError::InvalidArgument { name: "queue", .. })
    ));
    // An async selector runs on a sender thread, after the route lookup: it owns its
    // selector and argument, and an unsigned order id hashes as a Java long.
    let (tx, rx) = std::sync::mpsc::channel();
    let order_id: u64 = 42;
    producer
        .send_with_selector_async(
            &Message::new("Order", "by selector, async"),
            SelectMessageQueueByHash,
            order_id,
            move |r| tx.send(r).unwrap(),
        )
        .unwrap();
    let by_selector = rx.recv_timeout(WAIT).unwrap().unwrap().message_queue;
    assert_eq!(by_selector, all[(42 % 8) as usize]);
}

#[test]
fn heartbeats_announce_the_group_and_shutdown_unregisters() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Beat", 1)]);
    let producer = producer(&ns);
    producer.send(&Message::new("Beat", "x")).unwrap();
    assert_eventually("a heartbeat", WAIT, || {
        broker.count(request_code::HEART_BEAT) > 0
    });
    let beat = &broker.requests(request_code::HEART_BEAT)[0];
    let data = HeartbeatData::from_json(&beat.body).unwrap();
    assert_eq!(data.client_id, producer.client_id());
    let groups: Vec<_> = data
        .producer_data_set
        .iter()
        .map(|p| p.group_name.as_str())
        .collect();
    assert_eq!(groups, ["CLIENT_INNER_PRODUCER", GROUP]);
    assert!(data.consumer_data_set.is_empty());
    // Heartbeats repeat at the configured interval.
    assert_eventually("a second heartbeat", WAIT, || {
        broker.count(request_code::HEART_BEAT) >= 2
    });

    let client_id = producer.client_id().to_string();
    producer.shutdown();
    let bye = broker.requests(request_code::UNREGISTER_CLIENT);
    assert_eq!(bye.len(), 1);
    let header = UnregisterClientRequestHeader::read_from(&bye[0].ext_fields).unwrap();
    assert_eq!(header.client_id, client_id);
    assert_eq!(header.producer_group.as_deref(), Some(GROUP));
    assert_eq!(header.consumer_group, None);
}

#[test]
fn unknown_topic_borrows_tbw102_with_four_queues() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("TBW102", 8)]);
    let producer = producer(&ns);
    // Asking for the topic's queues asks the name server, which does not know it (Java's
    // fetchPublishMessageQueues): no borrowed TBW102 queues.
    let error = producer
        .fetch_publish_message_queues("BrandNew")
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::NoRoute { topic, .. } if topic == "BrandNew"),
        "{error:?}"
    );
    // A send borrows TBW102's route, clamped to four queues.
    let mut ids = std::collections::BTreeSet::new();
    for i in 0..8 {
        let result = producer
            .send(&Message::new("BrandNew", format!("{i}")))
            .unwrap();
        assert_eq!(result.message_queue.topic, "BrandNew");
        ids.insert(result.message_queue.queue_id);
    }
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
    let sent = broker.requests(request_code::SEND_MESSAGE_V2);
    assert!(sent
        .iter()
        .all(|r| r.ext_fields.get("b") == Some("BrandNew")));
}

#[test]
fn topic_without_route_is_named() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let _broker = FakeBroker::start("broker-a", &ns, &[("Known", 1)]);
    let producer = producer(&ns);
    let error = producer.send(&Message::new("Nowhere", "x")).unwrap_err();
    assert!(
        matches!(&error, ClientError::NoRoute { topic, .. } if topic == "Nowhere"),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.starts_with("no route for topic Nowhere") && text.contains("TBW102"),
        "{text}"
    );
}

#[test]
fn no_reachable_name_server_names_every_address_tried() {
    let dead: Vec<String> = (0..2)
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().to_string()
        })
        .collect();
    let producer = producer(&dead.join(";"));
    let error = producer.send(&Message::new("T", "x")).unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("no name server reachable: tried "),
        "{text}"
    );
    for addr in &dead {
        assert!(text.contains(addr.as_str()), "{text} should name {addr}");
    }
    assert!(matches!(&error, ClientError::NoNameServer { tried } if tried.len() == 2));
    // An async send never blocks on the network: the route lookup runs on a sender thread
    // and its failure reaches the callback.
    let (tx, rx) = std::sync::mpsc::channel();
    producer
        .send_async(&Message::new("T", "x"), move |r| tx.send(r).unwrap())
        .expect("accepted: the name servers are tried later");
    let error = rx.recv_timeout(WAIT).unwrap().unwrap_err();
    assert!(
        matches!(error, ClientError::NoNameServer { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(dead[0].as_str()), "{error}");

    // The list can be replaced at runtime.
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let _broker = FakeBroker::start("broker-a", &ns, &[("T", 1)]);
    producer.update_name_server_address_list(&ns).unwrap();
    assert_eq!(
        producer.send(&Message::new("T", "x")).unwrap().send_status,
        SendStatus::SendOk
    );
}

#[test]
fn broker_errors_carry_code_remark_and_address() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Err", 2)]);
    let producer = producer(&ns);
    // MESSAGE_ILLEGAL is final: one attempt, the broker's error as is.
    broker.set_mode(Mode::Error(response_code::MESSAGE_ILLEGAL));
    let error = producer.send(&Message::new("Err", "x")).unwrap_err();
    assert!(
        matches!(
            &error,
            ClientError::Broker { code: response_code::MESSAGE_ILLEGAL, remark: Some(r), addr }
                if r == "fake broker error 13" && *addr == broker.addr
        ),
        "{error:?}"
    );
    assert_eq!(broker.count(request_code::SEND_MESSAGE_V2), 1);
    // SYSTEM_BUSY is retried: three attempts, all on the only broker.
    broker.set_mode(Mode::Error(response_code::SYSTEM_BUSY));
    let error = producer.send(&Message::new("Err", "x")).unwrap_err();
    // `{:#}`: the error and its causes on one line.
    let text = format!("{error:#}");
    assert!(
        text.starts_with("send to topic Err failed after 3 attempts in "),
        "{text}"
    );
    assert!(text.contains("on broker-a, broker-a, broker-a"), "{text}");
    assert!(
        text.contains(&format!("{} answered code 2 (SYSTEM_BUSY)", broker.addr)),
        "{text}"
    );
    assert_eq!(error.response_code(), Some(response_code::SYSTEM_BUSY));
    assert_eq!(broker.count(request_code::SEND_MESSAGE_V2), 4);
    // Async: Java never retries an async send the broker answered (needRetry = false):
    // one attempt, and the broker's error reaches the callback once.
    let (tx, rx) = std::sync::mpsc::channel();
    producer
        .send_async(&Message::new("Err", "x"), move |r| tx.send(r).unwrap())
        .unwrap();
    let error = rx.recv_timeout(WAIT).unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Broker {
                code: response_code::SYSTEM_BUSY,
                ..
            }
        ),
        "{error:?}"
    );
    producer.flush(WAIT).unwrap();
    assert!(rx.try_recv().is_err(), "called back twice");
    assert_eq!(
        broker.count(request_code::SEND_MESSAGE_V2),
        5,
        "not retried"
    );
}

#[derive(Default)]
struct CountingHook {
    before: AtomicUsize,
    after: Mutex<Vec<SendMessageContext>>,
}

impl SendMessageHook for CountingHook {
    fn hook_name(&self) -> &str {
        "counting"
    }
    fn send_message_before(&self, _context: &SendMessageContext) {
        self.before.fetch_add(1, Ordering::SeqCst);
    }
    fn send_message_after(&self, context: &SendMessageContext) {
        self.after.lock().unwrap().push(context.clone());
    }
}

struct AccessKeyHook;

impl RpcHook for AccessKeyHook {
    fn do_before_request(
        &self,
        _addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess> {
        request.ext_fields.insert("AccessKey", "rocketmq2");
        Ok(())
    }
    fn do_after_response(&self, _: &str, _: &RemotingCommand, _: &mut RemotingCommand) {}
}

#[test]
fn send_hooks_and_rpc_hooks_run() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Hooked", 1)]);
    let hook = Arc::new(CountingHook::default());
    let producer = producer_with(&ns, |b| {
        b.send_hook(hook.clone()).rpc_hook(Arc::new(AccessKeyHook))
    });

    let result = producer
        .send(&Message::new("Hooked", "x").with_tags("Tag1"))
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    producer
        .send_async(&Message::new("Hooked", "y"), move |r| tx.send(r).unwrap())
        .unwrap();
    rx.recv_timeout(WAIT).unwrap().unwrap();
    producer.send_oneway(&Message::new("Hooked", "z")).unwrap();

    assert_eq!(hook.before.load(Ordering::SeqCst), 3);
    let after = hook.after.lock().unwrap().clone();
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].msg_id, result.msg_id);
    assert_eq!(after[0].topic, "Hooked");
    assert_eq!(after[0].tags(), Some("Tag1"));
    assert_eq!(after[0].broker_addr, broker.addr);
    assert_eq!(after[0].send_result.as_ref(), Some(&result));
    assert!(after[1].send_result.is_some());
    assert!(after[2].send_result.is_none() && after[2].error.is_none());

    assert_eventually("the oneway request", WAIT, || {
        broker.count(request_code::SEND_MESSAGE_V2) == 3
    });
    assert!(broker
        .requests(request_code::SEND_MESSAGE_V2)
        .iter()
        .all(|r| r.ext_fields.get("AccessKey") == Some("rocketmq2")));
}

#[test]
fn pull_consumer_reads_back_what_was_sent() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Pull", 2)]);
    let producer = producer(&ns);
    let mut sent = Vec::new();
    for i in 0..6 {
        let body = if i == 3 {
            vec![b'x'; 8192] // compressed on the way
        } else {
            format!("body {i}").into_bytes()
        };
        let mut message = Message::new("Pull", body)
            .with_tags(format!("tag{i}"))
            .with_keys([format!("key{i}")]);
        message.put_user_property("n", i.to_string()).unwrap();
        let result = producer.send(&message).unwrap();
        sent.push((message, result));
    }

    let consumer = PullConsumer::builder("CG_TEST")
        .name_server(&ns)
        .start()
        .expect("consumer");
    let queues = consumer.fetch_subscribe_message_queues("Pull").unwrap();
    assert_eq!(
        queues,
        [
            MessageQueue::new("Pull", "broker-a", 0),
            MessageQueue::new("Pull", "broker-a", 1)
        ]
    );
    let mut received = Vec::new();
    for queue in &queues {
        assert_eq!(consumer.min_offset(queue).unwrap(), 0);
        let max = consumer.max_offset(queue).unwrap();
        let result = consumer.pull(queue, 0, 32).unwrap();
        assert_eq!(result.status, PullStatus::Found);
        assert_eq!(result.next_begin_offset, max);
        assert_eq!(result.messages.len() as i64, max);
        received.extend(result.messages);
        let end = consumer.pull(queue, max, 32).unwrap();
        assert_eq!(end.status, PullStatus::NoNewMsg);
        let beyond = consumer.pull(queue, max + 5, 32).unwrap();
        assert_eq!(beyond.status, PullStatus::OffsetIllegal);
        assert_eq!(beyond.next_begin_offset, max);
    }
    assert_eq!(received.len(), 6);
    for (message, result) in &sent {
        let got = received
            .iter()
            .find(|m| m.client_msg_id() == result.msg_id)
            .expect("every sent message comes back");
        assert_eq!(got.body, message.body().to_vec(), "body decompressed");
        assert_eq!(got.tags(), message.tags());
        assert_eq!(got.keys(), message.keys());
        assert_eq!(got.property("n"), message.property("n"));
        assert_eq!(got.offset_msg_id(), result.offset_msg_id);
        assert_eq!(got.queue_id, result.message_queue.queue_id);
        assert_eq!(got.queue_offset, result.queue_offset);
        assert!(got.property("MIN_OFFSET").is_some());
        assert!(got.born_timestamp > 0 && got.store_timestamp >= got.born_timestamp - 1000);
    }
    assert_eq!(broker.count(request_code::PULL_MESSAGE), 6);
    consumer.shutdown();
}
