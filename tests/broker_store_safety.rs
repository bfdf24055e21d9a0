//! The broker over real sockets: crash safety (SIGKILL while sending) and long polling.

#![cfg(feature = "servers")]

mod common;
use common::{pull_bodies, raw, spawn_test_child, start_broker, TempDir};

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::store::FlushDiskType;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::header::SendMessageResponseHeader;
use rocketmq_blocking::protocol::message::decode_messages;
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand};
use rocketmq_blocking::remoting::{ClientConfig, RemotingClient};

const TOPIC: &str = "SafetyTopic";
const TIMEOUT: Duration = Duration::from_secs(3);

fn send_request(queue_id: i32, body: &str) -> RemotingCommand {
    raw::send_request(
        raw::send_header("PG_safety", TOPIC, queue_id, "TAGS\u{1}T\u{2}KEYS\u{1}k"),
        body,
    )
}

/// A pull of queue `queue_id` from `offset`, held up to `suspend_ms` when that is positive.
fn pull_request(queue_id: i32, offset: i64, suspend_ms: i64) -> RemotingCommand {
    let mut header = raw::pull_header("CG_safety", TOPIC, queue_id, offset);
    if suspend_ms > 0 {
        header.sys_flag |= raw::FLAG_SUSPEND;
        header.suspend_timeout_millis = suspend_ms;
    }
    raw::pull_request(&header)
}

fn start_child(store: &Path, flush: &str) -> (Child, String) {
    spawn_test_child(
        "crash_child_broker",
        [
            ("RMQ_SAFETY_STORE", store.as_os_str()),
            ("RMQ_SAFETY_FLUSH", OsStr::new(flush)),
        ],
    )
}

/// The broker process the crash test kills; runs only when that test starts it.
#[test]
#[ignore = "the crash test's child process; runs only when that test spawns it"]
fn crash_child_broker() {
    let store = std::env::var("RMQ_SAFETY_STORE").expect("RMQ_SAFETY_STORE");
    let mut builder = Broker::builder().listen("127.0.0.1:0").store_dir(store);
    if std::env::var("RMQ_SAFETY_FLUSH").as_deref() == Ok("sync") {
        builder = builder.flush_disk_type(FlushDiskType::SyncFlush);
    }
    let broker = builder.start().expect("child broker");
    println!("listening on {}", broker.local_addr());
    loop {
        thread::park(); // until SIGKILL
    }
}

#[test]
fn acknowledged_messages_survive_sigkill() {
    for flush in ["async", "sync"] {
        let store = TempDir::new(&format!("safety-{flush}"));
        let (mut child, addr) = start_child(&store.0, flush);
        let client = Arc::new(RemotingClient::new(ClientConfig::default()).expect("client"));
        let acked: Arc<Mutex<BTreeMap<(i32, i64), String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..4)
            .map(|t| {
                let (client, acked, stop, addr) =
                    (client.clone(), acked.clone(), stop.clone(), addr.clone());
                thread::spawn(move || {
                    for seq in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let body = format!("t{t}-{seq}");
                        let Ok(response) =
                            client.invoke_sync(Some(&addr), send_request(t, &body), TIMEOUT)
                        else {
                            return; // the broker is gone
                        };
                        assert_eq!(
                            response.code,
                            response_code::SUCCESS,
                            "{:?}",
                            response.remark
                        );
                        let header = SendMessageResponseHeader::read_from(&response.ext_fields)
                            .expect("send header");
                        acked
                            .lock()
                            .unwrap()
                            .insert((header.queue_id, header.queue_offset), body);
                    }
                })
            })
            .collect();
        // Kill while all four are mid-stream.
        common::assert_eventually(
            "some messages acknowledged",
            Duration::from_secs(10),
            || acked.lock().unwrap().len() >= 400,
        );
        child.kill().expect("SIGKILL the broker");
        child.wait().expect("reap");
        stop.store(true, Ordering::SeqCst);
        for s in senders {
            s.join().expect("sender");
        }
        client.shutdown();

        let broker = start_broker(&store, |b| b);
        let addr = broker.local_addr().to_string();
        let reader = RemotingClient::new(ClientConfig::default()).expect("client");
        let acked = acked.lock().unwrap().clone();
        for queue in 0..4 {
            let stored = pull_bodies(&reader, &addr, "CG_safety", TOPIC, queue, 0);
            // In order: offsets 0, 1, 2, ... and each thread's sequence numbers increase.
            for (i, (offset, _)) in stored.iter().enumerate() {
                assert_eq!(*offset, i as i64, "queue {queue} offsets are contiguous");
            }
            let seqs: Vec<u64> = stored
                .iter()
                .map(|(_, b)| {
                    b.rsplit('-')
                        .next()
                        .and_then(|s| s.parse().ok())
                        .expect("seq")
                })
                .collect();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "queue {queue} keeps send order"
            );
            let by_offset: BTreeMap<i64, String> = stored.into_iter().collect();
            for ((q, offset), body) in acked.iter().filter(|((q, _), _)| *q == queue) {
                assert_eq!(
                    by_offset.get(offset),
                    Some(body),
                    "{flush}: acknowledged message {q}/{offset} lost"
                );
            }
        }
        eprintln!(
            "{flush}: {} acknowledged messages all recovered",
            acked.len()
        );
        reader.shutdown();
        broker.shutdown();
    }
}

#[test]
fn long_polling_answers_on_arrival_and_at_timeout() {
    let store = TempDir::new("safety-longpoll");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = Arc::new(RemotingClient::new(ClientConfig::default()).expect("client"));
    // The first send creates the topic (4 queues).
    let created = client
        .invoke_sync(Some(&addr), send_request(0, "create"), TIMEOUT)
        .expect("send");
    assert_eq!(created.code, response_code::SUCCESS);

    // An empty queue: the pull is held, then answered as soon as a message lands.
    let (tx, rx) = crossbeam_channel::bounded(1);
    client
        .invoke_async(
            Some(&addr),
            pull_request(1, 0, 10_000),
            Duration::from_secs(15),
            move |r| {
                let _ = tx.send((r, Instant::now()));
            },
        )
        .expect("pull");
    common::assert_eventually("the pull is held", Duration::from_secs(2), || {
        broker.held_pulls() == 1
    });
    let sent = client
        .invoke_sync(Some(&addr), send_request(1, "wake up"), TIMEOUT)
        .expect("send");
    let acked_at = Instant::now();
    assert_eq!(sent.code, response_code::SUCCESS);
    let (pulled, answered_at) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("held pull answered");
    let pulled = pulled.expect("pull response");
    assert_eq!(pulled.code, response_code::SUCCESS, "{:?}", pulled.remark);
    // Answered on arrival, not at the end of its 10 s suspension (the bound leaves a loaded
    // machine all the room it needs).
    let latency = answered_at.saturating_duration_since(acked_at);
    assert!(
        latency <= Duration::from_secs(2),
        "answered {latency:?} after the message arrived"
    );
    let messages = decode_messages(&pulled.body, true).expect("decode");
    assert_eq!(messages[0].body, b"wake up");

    // Nothing arrives: PULL_NOT_FOUND at the suspend timeout, not before.
    let begin = Instant::now();
    let response = client
        .invoke_sync(Some(&addr), pull_request(2, 0, 800), Duration::from_secs(5))
        .expect("pull");
    let waited = begin.elapsed();
    assert_eq!(response.code, response_code::PULL_NOT_FOUND);
    assert!(
        waited >= Duration::from_millis(750) && waited < Duration::from_millis(3000),
        "held for {waited:?}"
    );
    client.shutdown();
    broker.shutdown();
}
