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
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::header::SendMessageRequestHeader;
use rocketmq_blocking::protocol::RemotingCommand;

const TOPIC: &str = "SlowConsumerTopic";
const TIMEOUT: Duration = Duration::from_secs(10);

/// A send to the topic's one queue (created with one queue), no properties.
fn send_request(body: Vec<u8>) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        default_topic_queue_nums: 1,
        properties: None,
        ..raw::send_header("PG_slow", TOPIC, 0, "")
    };
    raw::send_request(header, body)
}

/// A pull of up to 32 messages from offset 0, answered at once.
fn pull_request() -> RemotingCommand {
    raw::pull_request(&raw::pull_header("CG_slow", TOPIC, 0, 0))
}

#[test]
fn a_consumer_that_never_reads_is_cut_off_and_other_pulls_are_answered() {
    let store = TempDir::new("slow-consumer");
    let broker = start_broker(&store, |b| b);
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
}
