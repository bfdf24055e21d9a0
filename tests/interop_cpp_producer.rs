//! Our Rust `Producer` sends through our reference name server and broker, and the Apache C++
//! client's PushConsumer (PyPI rocketmq==0.4.4, via tests/interop/cpp_peer.py) reads every
//! message back: identical body, tags, keys and user properties, for both header serialize
//! types, every send style (sync, by selector, async, oneway, batch), and bodies over 4 KiB that
//! our producer compresses.

#![cfg(feature = "servers")]

mod common;
mod cpp_peer;

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::assert_eventually;
use cpp_peer::{consumed_by_seq, message_body, run_peer, temp_store, Record};
use rocketmq_blocking::broker::store::GetMessageStatus;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{
    ClientError, Message, Producer, SelectMessageQueueByHash, SendResult, SendStatus,
};
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::codes::request_code;
use rocketmq_blocking::protocol::message::message_const::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX;
use rocketmq_blocking::protocol::message::sys_flag::COMPRESSED_FLAG;
use rocketmq_blocking::protocol::message::{decode_messages, MessageExt};
use rocketmq_blocking::protocol::{RemotingCommand, SerializeType};
use rocketmq_blocking::remoting::{AbortProcess, RpcHook};

/// Messages per header serialize type.
const COUNT: u64 = 200;
/// Body size of the messages our producer compresses (its threshold is 4096 bytes).
const BIG: usize = 5000;
const SMALL: usize = 64;

/// How message `seq` is sent. Every block of 20: the first 10 go as one batch, then 3 sync,
/// 1 by selector, 3 async and 3 oneway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Batch,
    Sync,
    Selector,
    Async,
    Oneway,
}

impl Mode {
    fn of(seq: u64) -> Mode {
        match seq % 20 {
            0..=9 => Mode::Batch,
            10..=12 => Mode::Sync,
            13 => Mode::Selector,
            14..=16 => Mode::Async,
            _ => Mode::Oneway,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Mode::Batch => "TagBatch",
            Mode::Sync => "TagSync",
            Mode::Selector => "TagSelector",
            Mode::Async => "TagAsync",
            Mode::Oneway => "TagOneway",
        }
    }
}

/// Batches are never compressed, so their bodies stay small; every third other message is
/// big enough to be compressed.
fn body_size(seq: u64) -> usize {
    if Mode::of(seq) != Mode::Batch && seq % 3 == 0 {
        BIG
    } else {
        SMALL
    }
}

/// What the consumer must report for message `seq` of serialize type `kind`.
struct Expected {
    body: String,
    tags: &'static str,
    keys: String,
    custom: String,
}

fn expected(kind: &str, seq: u64) -> Expected {
    Expected {
        body: message_body(seq, body_size(seq)),
        tags: Mode::of(seq).tag(),
        // Two keys: the C++ client must hand back Java's space-separated KEYS property.
        keys: format!("key-{kind}-{seq} uk{seq}"),
        // Non-ASCII text in a property: the header carries it as UTF-8 (JSON escaped or raw).
        custom: format!("value-{seq}-{kind}-ü✓"),
    }
}

fn build(topic: &str, kind: &str, seq: u64) -> Message {
    let e = expected(kind, seq);
    let mut message = Message::new(topic, e.body.into_bytes())
        .with_tags(e.tags)
        .with_keys(e.keys.as_str());
    message.put_user_property("seq", seq.to_string()).unwrap();
    message.put_user_property("custom", e.custom).unwrap();
    message
}

/// Sends COUNT messages of `kind` to `topic`; returns the client message id (UNIQ_KEY) of every
/// message whose send answered one (all but oneway).
fn send_all(producer: &Producer, topic: &str, kind: &str) -> HashMap<u64, String> {
    let mut ids = HashMap::new();
    let (tx, rx) = mpsc::channel::<(u64, Result<SendResult, ClientError>)>();
    let mut async_pending = 0;
    let mut seq = 0;
    while seq < COUNT {
        match Mode::of(seq) {
            Mode::Batch => {
                let seqs: Vec<u64> = (seq..seq + 10).collect();
                let batch: Vec<Message> = seqs.iter().map(|&s| build(topic, kind, s)).collect();
                let result = producer
                    .send_batch(&batch)
                    .unwrap_or_else(|e| panic!("{kind}: batch from {seq}: {e}"));
                assert_eq!(result.send_status, SendStatus::SendOk);
                let batch_ids: Vec<&str> = result.msg_id.split(',').collect();
                assert_eq!(
                    batch_ids.len(),
                    10,
                    "{kind}: one id per batched message: {}",
                    result.msg_id
                );
                for (s, id) in seqs.iter().zip(batch_ids) {
                    ids.insert(*s, id.to_string());
                }
                seq += 10;
                continue;
            }
            Mode::Sync => {
                let result = producer
                    .send(&build(topic, kind, seq))
                    .unwrap_or_else(|e| panic!("{kind}: sync {seq}: {e}"));
                assert_eq!(result.send_status, SendStatus::SendOk);
                ids.insert(seq, result.msg_id);
            }
            Mode::Selector => {
                let result = producer
                    .send_with_selector(
                        &build(topic, kind, seq),
                        &SelectMessageQueueByHash,
                        format!("order-{seq}").as_str(),
                    )
                    .unwrap_or_else(|e| panic!("{kind}: selector {seq}: {e}"));
                assert_eq!(result.send_status, SendStatus::SendOk);
                ids.insert(seq, result.msg_id);
            }
            Mode::Async => {
                let tx = tx.clone();
                producer
                    .send_async(&build(topic, kind, seq), move |result| {
                        let _ = tx.send((seq, result));
                    })
                    .unwrap_or_else(|e| panic!("{kind}: async {seq} not started: {e}"));
                async_pending += 1;
            }
            Mode::Oneway => producer
                .send_oneway(&build(topic, kind, seq))
                .unwrap_or_else(|e| panic!("{kind}: oneway {seq}: {e}")),
        }
        seq += 1;
    }
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(30);
    for _ in 0..async_pending {
        let left = deadline.saturating_duration_since(Instant::now());
        let (seq, result) = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{kind}: async callbacks missing: {e}"));
        let result = result.unwrap_or_else(|e| panic!("{kind}: async {seq}: {e}"));
        assert_eq!(result.send_status, SendStatus::SendOk);
        assert!(
            ids.insert(seq, result.msg_id).is_none(),
            "{kind}: callback of {seq} ran twice"
        );
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "{kind}: an async callback ran twice"
    );
    ids
}

/// Records the header type of every send request our producer writes and of every answer.
#[derive(Default)]
struct HeaderTypes {
    seen: Mutex<Vec<(i32, SerializeType, Option<SerializeType>)>>,
}

impl HeaderTypes {
    /// (request code, request header type, response header type) of every send request.
    fn sends(&self) -> Vec<(i32, SerializeType, Option<SerializeType>)> {
        self.seen.lock().unwrap().clone()
    }
}

impl RpcHook for HeaderTypes {
    fn do_before_request(
        &self,
        _remote_addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess> {
        if matches!(
            request.code,
            request_code::SEND_MESSAGE_V2 | request_code::SEND_BATCH_MESSAGE
        ) && request.is_oneway()
        {
            self.seen
                .lock()
                .unwrap()
                .push((request.code, request.serialize_type, None));
        }
        Ok(())
    }

    fn do_after_response(
        &self,
        _remote_addr: &str,
        request: &RemotingCommand,
        response: &mut RemotingCommand,
    ) {
        if matches!(
            request.code,
            request_code::SEND_MESSAGE_V2 | request_code::SEND_BATCH_MESSAGE
        ) {
            self.seen.lock().unwrap().push((
                request.code,
                request.serialize_type,
                Some(response.serialize_type),
            ));
        }
    }
}

/// Every message the broker stored for `topic`, as stored (bodies not decompressed).
fn stored(broker: &Broker, topic: &str) -> Vec<MessageExt> {
    let queues = broker
        .topic_config(topic)
        .map_or(0, |t| t.write_queue_nums.max(t.read_queue_nums));
    let mut all = Vec::new();
    for queue_id in 0..queues {
        // The store answers at most 32 messages per get, as Java's does.
        let mut offset = 0;
        loop {
            let result = broker
                .store()
                .get_message(topic, queue_id, offset, 32, None);
            if result.status != GetMessageStatus::Found {
                break;
            }
            all.extend(decode_messages(&result.body(), false).expect("stored records decode"));
            offset = result.next_begin_offset;
        }
    }
    all
}

fn stored_count(broker: &Broker, topic: &str) -> i64 {
    let queues = broker
        .topic_config(topic)
        .map_or(0, |t| t.write_queue_nums.max(t.read_queue_nums));
    (0..queues)
        .map(|q| broker.store().max_offset_in_queue(topic, q))
        .sum()
}

#[test]
fn cpp_push_consumer_reads_what_our_producer_sent() {
    common::init_logging();
    let started = Instant::now();
    let namesrv = NameServer::builder()
        .listen("127.0.0.1:0")
        .start()
        .expect("name server");
    let ns = namesrv.local_addr().to_string();
    let store = temp_store("rust-producer");
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store)
        .name_server(&ns)
        .register_interval(Duration::from_secs(5))
        .start()
        .expect("broker starts");

    let kinds = [
        ("json", SerializeType::Json, "RustToCppJson"),
        ("binary", SerializeType::RocketMq, "RustToCppBinary"),
    ];
    let mut sent_ids = HashMap::new();
    let mut placements = HashMap::new();
    for (kind, serialize_type, topic) in kinds {
        let header_types = Arc::new(HeaderTypes::default());
        let producer = Producer::builder(format!("PID_rust_to_cpp_{kind}"))
            .name_server(&ns)
            .serialize_type(serialize_type)
            .rpc_hook(header_types.clone())
            .start()
            .expect("producer starts");
        let ids = send_all(&producer, topic, kind);
        producer.shutdown();
        // Every send went out, and was answered, in this header type: 10 batches (code 320)
        // and 100 single messages (code 310), 30 of them oneway.
        let sends = header_types.sends();
        let count = |code: i32, answered: bool| {
            sends
                .iter()
                .filter(|(c, _, resp)| *c == code && resp.is_some() == answered)
                .count()
        };
        assert_eq!(count(request_code::SEND_BATCH_MESSAGE, true), 10, "{kind}");
        assert_eq!(count(request_code::SEND_MESSAGE_V2, true), 70, "{kind}");
        assert_eq!(count(request_code::SEND_MESSAGE_V2, false), 30, "{kind}");
        for (code, request, response) in &sends {
            assert_eq!(*request, serialize_type, "{kind}: request {code}");
            if let Some(response) = response {
                assert_eq!(*response, serialize_type, "{kind}: answer to {code}");
            }
        }
        // Oneway sends have no answer: wait until the broker has stored every message.
        assert_eventually(
            &format!("{COUNT} {kind} messages stored"),
            Duration::from_secs(20),
            || stored_count(&broker, topic) == COUNT as i64,
        );
        assert_eventually(
            &format!("a route for {topic} at the name server"),
            Duration::from_secs(20),
            || namesrv.topic_route(topic).is_some(),
        );
        // What our producer put on the wire, as the broker stored it: big bodies compressed,
        // small ones not, and the UNIQ_KEY the send answered.
        let records = stored(&broker, topic);
        assert_eq!(records.len(), COUNT as usize, "{kind}: stored records");
        let mut placement = HashMap::new();
        for record in &records {
            let seq: u64 = record.property("seq").unwrap().parse().unwrap();
            assert!(
                placement
                    .insert(
                        seq,
                        (
                            record.queue_id,
                            record.queue_offset,
                            record
                                .property(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
                                .map(String::from),
                        )
                    )
                    .is_none(),
                "{kind}: message {seq} stored twice"
            );
            let compressed = record.sys_flag & COMPRESSED_FLAG != 0;
            assert_eq!(
                compressed,
                body_size(seq) == BIG,
                "{kind}: message {seq} compressed flag (sys_flag {})",
                record.sys_flag
            );
            if compressed {
                assert!(
                    record.body.len() < BIG / 2,
                    "{kind}: message {seq} stored body of {} bytes is not compressed",
                    record.body.len()
                );
            }
            if let Some(id) = ids.get(&seq) {
                assert_eq!(
                    record.property(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX),
                    Some(id.as_str()),
                    "{kind}: stored UNIQ_KEY of {seq}"
                );
            }
        }
        sent_ids.insert(kind, ids);
        placements.insert(kind, placement);
    }
    let sent_at = started.elapsed();

    // One C++ PushConsumer per topic, both at once.
    let consumed: Vec<(&str, Vec<Record>)> = std::thread::scope(|s| {
        let handles: Vec<_> = kinds
            .iter()
            .map(|&(kind, _, topic)| {
                let ns = ns.clone();
                s.spawn(move || {
                    let group = format!("CID_rust_to_cpp_{kind}");
                    let count = COUNT.to_string();
                    let records = run_peer(&[
                        "consume",
                        "--namesrv",
                        &ns,
                        "--topic",
                        topic,
                        "--group",
                        &group,
                        "--expect",
                        &count,
                        "--timeout",
                        "90",
                        "--quiet",
                        "3",
                    ]);
                    (kind, records)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("consumer thread"))
            .collect()
    });

    for (kind, records) in &consumed {
        let got = consumed_by_seq(kind, records);
        let missing: Vec<u64> = (0..COUNT)
            .filter(|s| !got.contains_key(s))
            .take(10)
            .collect();
        assert!(
            missing.is_empty(),
            "{kind}: {} of {COUNT} received; first missing: {missing:?}",
            got.len()
        );
        assert_eq!(got.len() as u64, COUNT, "{kind}: nothing unexpected");
        let ids = &sent_ids[kind];
        for (seq, record) in &got {
            let e = expected(kind, *seq);
            let (queue_id, queue_offset, uniq_key) = &placements[kind][seq];
            let (queue_id, queue_offset) = (*queue_id, *queue_offset);
            assert_eq!(
                record["queue_id"].as_i64(),
                Some(i64::from(queue_id)),
                "{kind}: queue of {seq}"
            );
            assert_eq!(
                record["queue_offset"].as_i64(),
                Some(queue_offset),
                "{kind}: queue offset of {seq}"
            );
            assert_eq!(
                record["body"].as_str(),
                Some(e.body.as_str()),
                "{kind}: body of {seq}"
            );
            assert_eq!(
                record["tags"].as_str(),
                Some(e.tags),
                "{kind}: tags of {seq}"
            );
            assert_eq!(
                record["keys"].as_str(),
                Some(e.keys.as_str()),
                "{kind}: keys of {seq}"
            );
            assert_eq!(
                record["seq"].as_str(),
                Some(seq.to_string().as_str()),
                "{kind}: seq of {seq}"
            );
            assert_eq!(
                record["custom"].as_str(),
                Some(e.custom.as_str()),
                "{kind}: property custom of {seq}"
            );
            // MessageExt.getMsgId: the UNIQ_KEY our producer gave the message (what its send
            // answered), as in Java; oneway messages have one too, seen in the store.
            let uniq_key = uniq_key
                .as_deref()
                .unwrap_or_else(|| panic!("{kind}: message {seq} stored without UNIQ_KEY"));
            assert_eq!(
                record["id"].as_str(),
                Some(uniq_key),
                "{kind}: message id of {seq} ({:?})",
                Mode::of(*seq)
            );
            if let Some(id) = ids.get(seq) {
                assert_eq!(id, uniq_key, "{kind}: send result id of {seq}");
            }
        }
        assert_eq!(
            ids.len() as u64,
            COUNT - COUNT / 20 * 3,
            "{kind}: an id for every message but the oneway ones"
        );
    }
    eprintln!(
        "sent {} messages in {sent_at:?}, consumed by the C++ client by {:?}",
        2 * COUNT,
        started.elapsed()
    );

    broker.shutdown();
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}
