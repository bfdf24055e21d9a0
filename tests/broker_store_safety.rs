//! The broker over real sockets: crash safety (SIGKILL while sending) and long polling.

#![cfg(feature = "servers")]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::store::FlushDiskType;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    PullMessageRequestHeader, PullMessageResponseHeader, SendMessageRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use rocketmq_blocking::protocol::message::decode_messages;
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand};
use rocketmq_blocking::remoting::{ClientConfig, RemotingClient};

const TOPIC: &str = "SafetyTopic";
const TIMEOUT: Duration = Duration::from_secs(3);

fn temp_store(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rmq-safety-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn send_request(queue_id: i32, body: &str) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "PG_safety".into(),
        topic: TOPIC.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 0,
        flag: 0,
        properties: Some("TAGS\u{1}T\u{2}KEYS\u{1}k".into()),
        reconsume_times: Some(0),
        unit_mode: false,
        batch: false,
        max_reconsume_times: None,
        bname: None,
    };
    RemotingCommand::request_with_header(
        request_code::SEND_MESSAGE_V2,
        &SendMessageRequestHeaderV2::from(header),
    )
    .with_body(body.as_bytes().to_vec())
}

fn pull_request(queue_id: i32, offset: i64, suspend_ms: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "CG_safety".into(),
        topic: TOPIC.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: if suspend_ms > 0 { 0x2 | 0x4 } else { 0x4 },
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
        bname: None,
    };
    RemotingCommand::request_with_header(request_code::PULL_MESSAGE, &header)
}

/// Every message in a queue, via PULL_MESSAGE, as (offset, body).
fn pull_all(client: &RemotingClient, addr: &str, queue_id: i32) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let response = client
            .invoke_sync(Some(addr), pull_request(queue_id, offset, 0), TIMEOUT)
            .expect("pull");
        if response.code != response_code::SUCCESS {
            return out;
        }
        let header =
            PullMessageResponseHeader::read_from(&response.ext_fields).expect("pull header");
        for m in decode_messages(&response.body, true).expect("stored messages decode") {
            out.push((
                m.queue_offset,
                String::from_utf8(m.body.into_vec()).expect("utf-8 body"),
            ));
        }
        offset = header.next_begin_offset;
    }
}

fn start_child(store: &Path, flush: &str) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "crash_child_broker",
            "--include-ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("RMQ_SAFETY_STORE", store)
        .env("RMQ_SAFETY_FLUSH", flush)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child broker");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("child printed its address")
            .expect("read child stdout");
        // libtest prints "test crash_child_broker ... " first, on the same line.
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr.trim().to_string();
        }
    };
    (child, addr)
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
        let store = temp_store(flush);
        let (mut child, addr) = start_child(&store, flush);
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

        let broker = Broker::builder()
            .listen("127.0.0.1:0")
            .store_dir(store.clone())
            .start()
            .expect("restart on the same store");
        let addr = broker.local_addr().to_string();
        let reader = RemotingClient::new(ClientConfig::default()).expect("client");
        let acked = acked.lock().unwrap().clone();
        for queue in 0..4 {
            let stored = pull_all(&reader, &addr, queue);
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
        let _ = std::fs::remove_dir_all(&store);
    }
}

#[test]
fn long_polling_answers_on_arrival_and_at_timeout() {
    let store = temp_store("longpoll");
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(store.clone())
        .start()
        .expect("broker");
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
    let _ = std::fs::remove_dir_all(&store);
}
