//! The server's limits on what peers may hold: connections, frame deadlines, frame memory,
//! file descriptors. Tests run one at a time ([`serial`]): they count the process's fds.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::RemotingCommand;

/// The frame of an ECHO request with a `body_len`-byte body.
fn echo_frame(body_len: usize) -> Vec<u8> {
    RemotingCommand::new_request(ECHO)
        .with_body(vec![b'x'; body_len])
        .encode()
        .unwrap()
}

/// Reads one response and checks it is a successful echo of `body_len` bytes.
#[track_caller]
fn expect_echo(stream: &mut TcpStream, body_len: usize) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let resp = read_command(stream).expect("an echo response");
    assert_eq!(resp.code, response_code::SUCCESS);
    assert_eq!(resp.body.len(), body_len);
}

#[test]
fn one_file_descriptor_per_connection() {
    let _serial = serial();
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    echo_ok(&client(), &addr); // pools and threads the calls below also use

    // That client is gone, but the server closes its side when its reader notices: wait,
    // or its fd may close after the count below and make it one short.
    assert_eventually(
        "the probe's connection to go",
        Duration::from_secs(5),
        || server.connections().is_empty(),
    );
    const CONNECTIONS: usize = 100;
    let fds_before = fd_count();
    let mut streams: Vec<TcpStream> = (0..CONNECTIONS).map(|_| raw_connect(&addr)).collect();
    // One call each, so every server-side connection has read and written.
    for s in &mut streams {
        s.write_all(&echo_frame(100)).unwrap();
        expect_echo(s, 100);
    }
    assert_eventually("every connection served", Duration::from_secs(5), || {
        server.connections().len() == CONNECTIONS
    });
    let fds = fd_count() - fds_before;
    eprintln!("{CONNECTIONS} connections: {fds} more fds (ours and the server's)");
    // Our raw socket plus the server's one per connection; a cloned socket would show as 300.
    assert!(
        (2 * CONNECTIONS..2 * CONNECTIONS + 5).contains(&fds),
        "{fds} fds for {CONNECTIONS} connections"
    );
    drop(streams);
    assert_eventually("the connections to go", Duration::from_secs(5), || {
        server.connections().is_empty()
    });
    assert_eventually("their fds to be closed", Duration::from_secs(5), || {
        fd_count() <= fds_before + 2
    });
}

#[test]
fn connections_over_the_limit_are_closed_at_once() {
    let _serial = serial();
    let mut config = server_config();
    config.max_connections = 5;
    let server = echo_server(config);
    let addr = addr_of(&server);
    let mut held: Vec<TcpStream> = (0..5).map(|_| raw_connect(&addr)).collect();
    assert_eventually("five connections accepted", Duration::from_secs(5), || {
        server.connections().len() == 5
    });
    let mut sixth = raw_connect(&addr);
    expect_closed_by_peer(&mut sixth, Duration::from_secs(2), "the sixth connection");
    assert_eq!(server.connections().len(), 5);
    // The five are still served; when one leaves, a newcomer is accepted.
    for s in &mut held {
        s.write_all(&echo_frame(10)).unwrap();
        expect_echo(s, 10);
    }
    drop(held.pop());
    assert_eventually("one connection gone", Duration::from_secs(5), || {
        server.connections().len() == 4
    });
    let mut newcomer = raw_connect(&addr);
    newcomer.write_all(&echo_frame(10)).unwrap();
    expect_echo(&mut newcomer, 10);
}

#[test]
fn a_frame_not_completed_by_its_deadline_closes_the_connection() {
    let _serial = serial();
    let mut config = server_config();
    config.common.frame_deadline = Duration::from_millis(500);
    config.common.scan_interval = Duration::from_millis(100);
    let server = echo_server(config);
    let addr = addr_of(&server);

    // Idle between frames is not a frame in progress: this one is still served after it.
    let mut idle = raw_connect(&addr);
    idle.write_all(&echo_frame(10)).unwrap();
    expect_echo(&mut idle, 10);

    // A peer that sends part of a frame and stops.
    let frame = echo_frame(1000);
    let mut stalled = raw_connect(&addr);
    stalled.write_all(&frame[..100]).unwrap();

    // A peer that trickles a byte every 50 ms: always sending, never finishing in time.
    let mut trickler = raw_connect(&addr);
    let trickle = {
        let mut stream = trickler.try_clone().unwrap();
        let frame = frame.clone();
        thread::spawn(move || {
            for byte in frame {
                if stream.write_all(&[byte]).is_err() {
                    return true; // closed by the server
                }
                thread::sleep(Duration::from_millis(50)); // the trickle itself, not a wait
            }
            false
        })
    };
    let begin = Instant::now();
    expect_closed_by_peer(&mut stalled, Duration::from_secs(5), "a stalled frame");
    expect_closed_by_peer(&mut trickler, Duration::from_secs(5), "a trickled frame");
    let closed_after = begin.elapsed();
    assert!(trickle.join().unwrap(), "the trickler finished its frame");
    eprintln!("frames overdue closed after {closed_after:?} (deadline 500 ms)");
    // The idle connection outlived both.
    idle.write_all(&echo_frame(10)).unwrap();
    expect_echo(&mut idle, 10);
}

#[test]
fn frames_beyond_the_memory_budget_wait_for_room() {
    let _serial = serial();
    const MIB: usize = 1024 * 1024;
    let mut config = server_config();
    config.common.frame_memory_budget = 8 * MIB;
    let server = echo_server(config);
    let addr = addr_of(&server);

    // Two peers each announce a 3.5 MiB frame and send only its start: 7 MiB held.
    let big = echo_frame(7 * MIB / 2);
    let mut holders: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = raw_connect(&addr);
            s.write_all(&big[..64 * 1024]).unwrap();
            s
        })
        .collect();
    assert_eventually("both frames counted", Duration::from_secs(5), || {
        server.frame_memory_in_use() >= 7 * MIB
    });

    // A third sends a whole frame of the same size: it does not fit, so the server does not
    // read it (its sender blocks once the socket buffers fill) and does not answer it.
    let mut third = raw_connect(&addr);
    let sender = {
        let mut stream = third.try_clone().unwrap();
        let big = big.clone();
        thread::spawn(move || stream.write_all(&big).is_ok())
    };
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        third.read(&mut byte).is_err(),
        "answered although the budget was full"
    );
    assert!(server.frame_memory_in_use() <= 8 * MIB);

    // One holder gives up: its bytes come back and the third frame is read and answered.
    holders.pop().unwrap().shutdown(Shutdown::Both).unwrap();
    expect_echo(&mut third, 7 * MIB / 2);
    assert!(sender.join().unwrap());
    // The other holder completes its frame and is answered too; then nothing is held.
    let mut last = holders.pop().unwrap();
    last.write_all(&big[64 * 1024..]).unwrap();
    expect_echo(&mut last, 7 * MIB / 2);
    assert_eventually("the budget back to zero", Duration::from_secs(5), || {
        server.frame_memory_in_use() == 0
    });
}
