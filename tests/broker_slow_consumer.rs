//! A consumer that sends pulls and never reads the answers must not stall the broker for the
//! other consumers: it is disconnected, and their pulls keep being answered at once.

#![cfg(feature = "servers")]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    PullMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
};
use rocketmq_blocking::protocol::RemotingCommand;

const TOPIC: &str = "SlowConsumerTopic";
const TIMEOUT: Duration = Duration::from_secs(10);

fn send_request(body: Vec<u8>) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "PG_slow".into(),
        topic: TOPIC.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 1,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 0,
        flag: 0,
        properties: None,
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
    .with_body(body)
}

/// A pull of up to 32 messages from offset 0, answered at once.
fn pull_request() -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "CG_slow".into(),
        topic: TOPIC.into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: 0x4,
        commit_offset: 0,
        suspend_timeout_millis: 0,
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

#[test]
fn a_consumer_that_never_reads_is_cut_off_and_other_pulls_are_answered() {
    init_logging();
    let store = std::env::temp_dir().join(format!("rmq-slow-consumer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store)
        .start()
        .expect("broker starts");
    let addr = broker.local_addr().to_string();
    let client = Arc::new(client());
    // 32 messages of 300 bytes: each pull answer is about 10 KB.
    for i in 0..32 {
        let response = client
            .invoke_sync(Some(&addr), send_request(vec![b'0' + i % 10; 300]), TIMEOUT)
            .expect("send");
        assert_eq!(
            response.code,
            response_code::SUCCESS,
            "{:?}",
            response.remark
        );
    }
    let answer = client
        .invoke_sync(Some(&addr), pull_request(), TIMEOUT)
        .expect("pull");
    assert_eq!(answer.code, response_code::SUCCESS);
    assert!(answer.body.len() > 10_000, "{}", answer.body.len());

    // The slow consumer: 3,000 pulls, then more, never reading an answer.
    let cut_off = Arc::new(AtomicBool::new(false));
    let begin = Instant::now();
    let slow = {
        let cut_off = cut_off.clone();
        let frame = pull_request().encode().unwrap();
        let mut stream = TcpStream::connect(&addr).unwrap();
        thread::spawn(move || {
            let mut sent = 0usize;
            while stream.write_all(&frame).is_ok() {
                sent += 1;
                assert!(sent < 1_000_000, "never cut off");
            }
            cut_off.store(true, Ordering::SeqCst);
            sent
        })
    };
    let mut slowest = Duration::ZERO;
    let mut pulls = 0;
    while !cut_off.load(Ordering::SeqCst) || pulls < 5 {
        let started = Instant::now();
        let answer = client
            .invoke_sync(Some(&addr), pull_request(), Duration::from_secs(30))
            .expect("an innocent pull is answered");
        assert_eq!(answer.code, response_code::SUCCESS);
        slowest = slowest.max(started.elapsed());
        pulls += 1;
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "the slow consumer was never cut off"
        );
    }
    let sent = slow.join().unwrap();
    eprintln!(
        "slow consumer cut off after {sent} pulls, {:?}; {pulls} other pulls meanwhile, \
         slowest {slowest:?}",
        begin.elapsed()
    );
    assert!(
        slowest < Duration::from_secs(2),
        "a pull waited {slowest:?} behind a consumer that does not read"
    );
    client.shutdown();
    broker.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}
