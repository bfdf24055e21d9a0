//! A peer that does not read its responses must not stall anyone else: the server's threads
//! never wait on its socket, and once it has more unread bytes queued than the limit it is
//! disconnected. Tests run one at a time ([`serial`]): they load the machine.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{ConnectionEventKind, RemotingClient};

/// Sends `requests` ECHO requests with `body_len`-byte bodies on a raw connection that never
/// reads; returns the connection's local address (the server's name for it) and the sender.
fn start_non_reader(
    addr: &str,
    requests: usize,
    body_len: usize,
) -> (String, thread::JoinHandle<()>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let local = stream.local_addr().unwrap().to_string();
    let frame = RemotingCommand::new_request(ECHO)
        .with_body(vec![b's'; body_len])
        .encode()
        .unwrap();
    let sender = thread::spawn(move || {
        for _ in 0..requests {
            if stream.write_all(&frame).is_err() {
                return; // cut off by the server
            }
        }
        // Keep the socket open (and unread) until the server closes it.
        let mut buf = [0u8; 0];
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        while stream.write_all(&frame).is_ok() {
            let _ = std::io::Read::read(&mut stream, &mut buf);
        }
    });
    (local, sender)
}

/// Makes echo calls until `stop` is set; returns how many and the slowest.
fn innocent_calls(client: &RemotingClient, addr: &str, stop: &AtomicBool) -> (usize, Duration) {
    let (mut calls, mut slowest) = (0, Duration::ZERO);
    while !stop.load(Ordering::SeqCst) || calls < 5 {
        let begin = Instant::now();
        let resp = client
            .invoke_sync(
                Some(addr),
                RemotingCommand::new_request(ECHO).with_body(vec![b'i'; 1000]),
                Duration::from_secs(30),
            )
            .expect("an innocent call is answered");
        assert_eq!(resp.body.len(), 1000);
        slowest = slowest.max(begin.elapsed());
        calls += 1;
    }
    (calls, slowest)
}

fn non_reader_is_cut_off_while_others_are_served(requests: usize, body_len: usize) {
    let _serial = serial();
    let server = echo_server(server_config());
    let events = EventLog::new();
    server.set_channel_event_listener(events.clone()).unwrap();
    let addr = addr_of(&server);
    let client = Arc::new(client());
    echo_ok(&client, &addr);

    let stop = Arc::new(AtomicBool::new(false));
    let innocent = {
        let (client, addr, stop) = (client.clone(), addr.clone(), stop.clone());
        thread::spawn(move || innocent_calls(&client, &addr, &stop))
    };
    let begin = Instant::now();
    let (peer, sender) = start_non_reader(&addr, requests, body_len);
    assert_eventually(
        "the peer that does not read to be disconnected",
        Duration::from_secs(20),
        || {
            events
                .kinds_for(&peer)
                .contains(&ConnectionEventKind::Close)
        },
    );
    let cut_off_after = begin.elapsed();
    stop.store(true, Ordering::SeqCst);
    let (calls, slowest) = innocent.join().expect("innocent caller");
    sender.join().unwrap();
    eprintln!(
        "{requests} requests of {body_len} B unread: cut off after {cut_off_after:?}; \
         {calls} innocent calls meanwhile, slowest {slowest:?}"
    );
    assert!(
        slowest < Duration::from_secs(2),
        "an innocent call waited {slowest:?} behind a peer that does not read"
    );
    echo_ok(&client, &addr);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn a_peer_that_never_reads_10_kb_answers_is_cut_off_and_others_are_served() {
    non_reader_is_cut_off_while_others_are_served(3000, 10 * 1024);
}

#[test]
fn a_peer_that_never_reads_1_mib_answers_is_cut_off_and_others_are_served() {
    non_reader_is_cut_off_while_others_are_served(40, 1024 * 1024);
}
