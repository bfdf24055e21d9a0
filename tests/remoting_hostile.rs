//! Hostile bytes on a server socket: each bad frame closes that connection without a reply and
//! without a panic, other clients keep being served, and announced lengths are not allocated.
//!
//! The tests of this file run one at a time ([`serial`]): one of them measures the process's
//! memory, and every one checks that no thread panicked.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::{RemotingCommand, SerializeType, DEFAULT_MAX_FRAME_LENGTH};
use rocketmq_blocking::remoting::{ConnectionEventKind, PoolConfig, RemotingError, RemotingServer};

const CLOSE_WITHIN: Duration = Duration::from_secs(2);

fn be32(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

/// A frame from its parts: `total` as given, then `mark`, then `rest`.
fn frame(total: i32, mark: u32, rest: &[u8]) -> Vec<u8> {
    let mut v = be32(total).to_vec();
    v.extend_from_slice(&mark.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

/// A server with ECHO and an event log, plus a client that has already been served.
struct Fixture {
    server: Arc<RemotingServer>,
    addr: String,
    events: Arc<EventLog>,
    client: rocketmq_blocking::remoting::RemotingClient,
    panics_before: usize,
}

impl Fixture {
    fn new() -> Fixture {
        count_panics();
        init_logging();
        let server = RemotingServer::new(server_config()).unwrap();
        server
            .register_processor(ECHO, echo, PoolConfig::default())
            .unwrap();
        let events = EventLog::new();
        server.set_channel_event_listener(events.clone()).unwrap();
        server.start().unwrap();
        let server = Arc::new(server);
        let addr = addr_of(&server);
        let client = client();
        echo_ok(&client, &addr);
        Fixture {
            server,
            addr,
            events,
            client,
            panics_before: panics(),
        }
    }

    /// Sends `bytes` on a fresh raw connection (then, if `close_write`, half-closes it) and
    /// checks that the server closes it, that a normal client is still served, and that the
    /// server forgot the connection. Returns the raw peer's address as the server saw it.
    #[track_caller]
    fn attack(&self, what: &str, bytes: &[u8], close_write: bool) -> String {
        let mut stream = raw_connect(&self.addr);
        let peer = stream.local_addr().unwrap().to_string();
        stream.write_all(bytes).unwrap();
        if close_write {
            stream.shutdown(Shutdown::Write).unwrap();
        }
        expect_closed_by_peer(&mut stream, CLOSE_WITHIN, what);
        echo_ok(&self.client, &self.addr);
        assert_eventually(
            &format!("{what}: the server to drop the connection"),
            CLOSE_WITHIN,
            || self.server.connections().len() == 1,
        );
        assert_eventually(&format!("{what}: a Close event"), CLOSE_WITHIN, || {
            self.events.kinds_for(&peer).last() == Some(&ConnectionEventKind::Close)
        });
        assert_eq!(panics(), self.panics_before, "{what}: something panicked");
        peer
    }

    /// As [`Fixture::attack`], and the server must report the bad bytes as an Exception.
    #[track_caller]
    fn attack_with_exception(&self, what: &str, bytes: &[u8]) {
        let peer = self.attack(what, bytes, false);
        assert_eq!(
            self.events.kinds_for(&peer),
            [
                ConnectionEventKind::Connect,
                ConnectionEventKind::Exception,
                ConnectionEventKind::Close
            ],
            "{what}"
        );
    }

    fn finish(self) {
        echo_ok(&self.client, &self.addr);
        assert_no_pending(&[&self.client], &[&self.server]);
        assert_eq!(panics(), self.panics_before, "something panicked");
    }
}

#[test]
fn bad_length_prefixes_close_the_connection() {
    let _serial = serial();
    let f = Fixture::new();
    f.attack_with_exception("length -1", &be32(-1));
    f.attack_with_exception("length i32::MIN", &be32(i32::MIN));
    f.attack_with_exception("length 0", &be32(0));
    f.attack_with_exception("length 3", &be32(3));
    f.attack_with_exception("length 2^31-1", &be32(i32::MAX));
    f.attack_with_exception(
        "length 16 MiB - 3",
        &be32(DEFAULT_MAX_FRAME_LENGTH as i32 - 3),
    );
    f.finish();
}

#[test]
fn bad_headers_close_the_connection() {
    let _serial = serial();
    let f = Fixture::new();
    f.attack_with_exception(
        "header length > frame",
        &frame(4 + 10, 1000, b"{\"code\":1}"),
    );
    f.attack_with_exception("header length 0", &frame(4 + 2, 0, b"{}"));
    f.attack_with_exception("header length 0xFFFFFF", &frame(4 + 2, 0x00FF_FFFF, b"{}"));
    f.attack_with_exception("garbage JSON", &frame(4 + 9, 9, b"{not json"));
    f.attack_with_exception(
        "JSON of the wrong shape",
        &frame(4 + 12, 12, b"{\"code\":\"x\"}"),
    );
    f.attack_with_exception(
        "binary garbage as JSON",
        &frame(4 + 4, 4, &[0xff, 0xfe, 0x00, 0x01]),
    );

    // A valid JSON request with an unknown serialize type byte.
    let good = RemotingCommand::new_request(ECHO).encode().unwrap();
    for ty in [2u8, 7, 0x80, 0xff] {
        let mut bad = good.clone();
        bad[4] = ty;
        f.attack_with_exception(&format!("serialize type {ty}"), &bad);
    }

    // ROCKETMQ binary headers whose lengths point past the header.
    let good = RemotingCommand::new_request(ECHO)
        .with_serialize_type(SerializeType::RocketMq)
        .with_ext("k", "v")
        .with_body("body")
        .encode()
        .unwrap();
    let header_at = 8; // after total and mark
    let remark_len_at = header_at + 13; // after code, language, version, opaque, flag
    let ext_len_at = remark_len_at + 4; // remark empty
    let cases: [(&str, usize, i32); 5] = [
        ("remark length past the header", remark_len_at, 1000),
        ("remark length i32::MAX", remark_len_at, i32::MAX),
        ("negative remark length", remark_len_at, -5),
        ("ext length past the header", ext_len_at, 10_000),
        ("negative ext length", ext_len_at, -1),
    ];
    for (what, at, value) in cases {
        let mut bad = good.clone();
        bad[at..at + 4].copy_from_slice(&be32(value));
        f.attack_with_exception(what, &bad);
    }
    // A binary header truncated to less than its fixed part.
    f.attack_with_exception(
        "binary header of 5 bytes",
        &frame(4 + 5, (1 << 24) | 5, &[0, 1, 0, 0, 1]),
    );
    f.finish();
}

#[test]
fn truncated_frames_then_close() {
    let _serial = serial();
    let f = Fixture::new();
    let good = RemotingCommand::new_request(ECHO)
        .with_body(vec![1u8; 1000])
        .encode()
        .unwrap();
    f.attack("2 bytes of a length prefix", &good[..2], true);
    f.attack("length prefix only", &good[..4], true);
    f.attack("half a frame", &good[..good.len() / 2], true);
    f.attack("all but one byte", &good[..good.len() - 1], true);
    // A large announced frame (past the eager-read limit) with little of it sent.
    let mut big = be32(8 * 1024 * 1024).to_vec();
    big.extend_from_slice(&[0u8; 100]);
    f.attack("8 MiB announced, 100 bytes sent", &big, true);
    // A whole good frame followed by part of another: the first is answered while the
    // second is pending; closing then ends the connection. (Half-closing before the answer
    // came would lose it: like Netty, the server closes on end of stream.)
    let req = RemotingCommand::new_request(ECHO).with_body("first");
    let mut bytes = req.encode().unwrap();
    bytes.extend_from_slice(&good[..10]);
    let mut stream = raw_connect(&f.addr);
    stream.write_all(&bytes).unwrap();
    let resp = read_command(&mut stream).expect("the whole frame is answered");
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(resp.opaque, req.opaque);
    assert_eq!(resp.body, b"first");
    expect_closed_by_peer(&mut stream, CLOSE_WITHIN, "good frame then truncated one");
    f.finish();
}

#[test]
fn good_frame_after_garbage_on_the_same_connection_is_not_served() {
    // Once a frame is bad the stream is out of sync: everything after it is dropped with the
    // connection, even a valid request.
    let _serial = serial();
    let f = Fixture::new();
    let mut bytes = frame(4 + 9, 9, b"{not json").to_vec();
    bytes.extend_from_slice(&RemotingCommand::new_request(ECHO).encode().unwrap());
    f.attack_with_exception("garbage then a good frame", &bytes);
    f.finish();
}

#[test]
fn announced_lengths_are_not_allocated() {
    let _serial = serial();
    let f = Fixture::new();
    const CONNECTIONS: usize = 200;
    // Largest length prefix the server accepts: 16 MiB including the prefix itself.
    let announced = (DEFAULT_MAX_FRAME_LENGTH - 4 - 1) as i32;
    let mut prefix = be32(announced).to_vec();
    prefix.extend_from_slice(&frame_mark_and_some_json());

    // Warm up: one connection of the same kind, so allocator arenas and thread stacks exist.
    {
        let mut s = raw_connect(&f.addr);
        s.write_all(&prefix).unwrap();
        assert_eventually("the warm-up connection", CLOSE_WITHIN, || {
            f.server.connections().len() == 2
        });
        s.shutdown(Shutdown::Both).unwrap();
        assert_eventually("the warm-up connection to go", CLOSE_WITHIN, || {
            f.server.connections().len() == 1
        });
    }
    let rss_before = rss_bytes();
    let vm_before = vm_size_bytes();

    let mut streams: Vec<TcpStream> = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut s = raw_connect(&f.addr);
        s.write_all(&prefix).unwrap();
        streams.push(s);
    }
    assert_eventually(
        "every connection to be accepted",
        Duration::from_secs(10),
        || f.server.connections().len() == CONNECTIONS + 1,
    );
    // The readers now sit in the middle of a frame. There is nothing to poll for that, so
    // sample memory over a while and keep the worst.
    let (mut rss_max, mut vm_max) = (0, 0);
    let until = Instant::now() + Duration::from_millis(700);
    while Instant::now() < until {
        rss_max = rss_max.max(rss_bytes());
        vm_max = vm_max.max(vm_size_bytes());
        thread::sleep(Duration::from_millis(50));
    }
    let rss_growth = rss_max.saturating_sub(rss_before);
    let vm_growth = vm_max.saturating_sub(vm_before);
    eprintln!(
        "{CONNECTIONS} connections announcing {announced} bytes: RSS +{} KiB, virtual +{} MiB",
        rss_growth / 1024,
        vm_growth / (1024 * 1024)
    );
    assert!(
        rss_growth < 64 * 1024 * 1024,
        "RSS grew by {} MiB",
        rss_growth / (1024 * 1024)
    );
    // Reserving the announced length would take 200 × 16 MiB = 3.2 GiB of address space even
    // if never touched; thread stacks and malloc arenas stay far below 2 GiB.
    assert!(
        vm_growth < 2 * 1024 * 1024 * 1024,
        "virtual size grew by {} MiB",
        vm_growth / (1024 * 1024)
    );

    // Still serving, even with 200 half-sent frames open.
    echo_ok(&f.client, &f.addr);
    for mut s in streams.drain(..) {
        let _ = s.shutdown(Shutdown::Write);
        expect_closed_by_peer(&mut s, CLOSE_WITHIN, "a half-sent frame, then EOF");
    }
    assert_eventually("every raw connection to go", Duration::from_secs(5), || {
        f.server.connections().len() == 1
    });
    f.finish();
}

/// The start of a JSON frame after its length prefix: a mark and a few header bytes.
fn frame_mark_and_some_json() -> Vec<u8> {
    let mut v = 100u32.to_be_bytes().to_vec();
    v.extend_from_slice(b"{\"code\":1001,");
    v
}

#[test]
fn garbage_from_a_server_fails_the_pending_call_at_once() {
    let _serial = serial();
    count_panics();
    init_logging();
    let panics_before = panics();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // A fake server: answers the first request correctly, preceded by a response with an
    // opaque nobody waits for; answers the second with garbage.
    let fake = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let first = read_command(&mut stream).unwrap();
        let mut stray = RemotingCommand::success().with_body("stray");
        stray.opaque = first.opaque.wrapping_add(1_000_000);
        stream.write_all(&stray.encode().unwrap()).unwrap();
        let resp = first.response_to(0, None).with_body("first");
        stream.write_all(&resp.encode().unwrap()).unwrap();
        let _second = read_command(&mut stream).unwrap();
        let sent = Instant::now();
        stream.write_all(&frame(4 + 9, 9, b"{not json")).unwrap();
        // Hold the socket open: only the client's decoder can end the call.
        let _ = read_command(&mut stream);
        sent
    });
    let client = client();
    let resp = client
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(ECHO),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(
        resp.body, b"first",
        "the stray response was delivered instead"
    );
    let result = client.invoke_sync(
        Some(&addr),
        RemotingCommand::new_request(ECHO),
        Duration::from_secs(10),
    );
    let failed = Instant::now();
    assert!(
        matches!(&result, Err(RemotingError::ConnectionClosed { .. })),
        "{result:?}"
    );
    let sent = fake.join().unwrap();
    let after = failed.saturating_duration_since(sent);
    assert!(
        after < Duration::from_secs(1),
        "failed {after:?} after the garbage arrived"
    );
    assert_eq!(client.pending_requests(), 0);
    assert!(client.connected_addresses().is_empty());
    assert_eq!(panics(), panics_before, "something panicked");
}

/// A JSON request frame whose header carries `fields` ext fields, as an attacker writes it.
fn million_field_frame(code: i32, fields: usize) -> Vec<u8> {
    let mut header = format!("{{\"code\":{code},\"extFields\":{{").into_bytes();
    for i in 0..fields {
        if i > 0 {
            header.push(b',');
        }
        header.extend_from_slice(format!("\"k{i}\":\"v\"").as_bytes());
    }
    header.extend_from_slice(
        b"},\"flag\":0,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":409}",
    );
    let mut frame = be32(4 + header.len() as i32).to_vec();
    frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
    frame.extend_from_slice(&header);
    frame
}

/// Sends `frame` on `copies` connections at once; returns how much the peak RSS grew
/// meanwhile (the frames themselves were allocated before the measurement began).
fn peak_growth_sending(addr: &str, frame: &Arc<Vec<u8>>, copies: usize, answered: bool) -> u64 {
    let mut streams: Vec<TcpStream> = (0..copies).map(|_| raw_connect(addr)).collect();
    reset_peak_rss();
    let before = rss_bytes();
    thread::scope(|scope| {
        for stream in &mut streams {
            let frame = frame.clone();
            scope.spawn(move || {
                stream.write_all(&frame).unwrap();
                if answered {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    let resp = read_command(stream).expect("an answer");
                    assert_eq!(resp.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
                } else {
                    expect_closed_by_peer(stream, Duration::from_secs(30), "a million fields");
                }
            });
        }
    });
    peak_rss_bytes().saturating_sub(before)
}

#[test]
fn a_million_ext_fields_are_refused_early_and_memory_stays_bounded() {
    let _serial = serial();
    let f = Fixture::new();
    let frame = Arc::new(million_field_frame(ECHO, 1_000_000));
    let size = frame.len() as u64;
    let mb = |b: u64| b as f64 / 1e6;

    let one = peak_growth_sending(&f.addr, &frame, 1, false);
    eprintln!(
        "one {:.1} MB frame of a million fields: peak RSS +{:.1} MB ({:.2}x)",
        mb(size),
        mb(one),
        one as f64 / size as f64
    );
    assert!(one < 3 * size, "peak grew {:.1} MB", mb(one));

    let eight = peak_growth_sending(&f.addr, &frame, 8, false);
    let budget = server_config().common.frame_memory_budget as u64;
    eprintln!(
        "eight at once: peak RSS +{:.1} MB (frame memory budget {:.1} MB)",
        mb(eight),
        mb(budget)
    );
    assert!(eight < budget, "peak grew {:.1} MB", mb(eight));
    f.finish();
}

#[test]
fn a_million_ext_fields_under_a_raised_limit_decode_in_a_small_multiple_of_their_size() {
    let _serial = serial();
    let mut config = server_config();
    config.common.max_ext_fields = 2_000_000;
    let server = RemotingServer::new(config).unwrap();
    server.start().unwrap();
    let addr = addr_of(&server);
    let frame = Arc::new(million_field_frame(UNKNOWN, 1_000_000));
    let size = frame.len() as u64;
    let growth = peak_growth_sending(&addr, &frame, 1, true);
    eprintln!(
        "a {:.1} MB frame of a million fields decoded: peak RSS +{:.1} MB ({:.2}x)",
        size as f64 / 1e6,
        growth as f64 / 1e6,
        growth as f64 / size as f64
    );
    // Fields as separate strings cost 8x (two allocations each); in one text, about 4x.
    assert!(
        growth < 5 * size,
        "decoding grew the peak by {growth} bytes"
    );
    server.shutdown();
}

#[test]
fn repeated_json_header_keys_take_their_last_value_as_in_java() {
    let _serial = serial();
    let f = Fixture::new();
    let header = format!(
        r#"{{"code":{UNKNOWN},"code":{ECHO},"extFields":{{"a":"1","b":"x","a":"2"}},"opaque":5,"opaque":7,"flag":0}}"#
    );
    let mut bytes = frame(
        4 + header.len() as i32 + 4,
        header.len() as u32,
        header.as_bytes(),
    );
    bytes.extend_from_slice(b"body");
    let mut stream = raw_connect(&f.addr);
    stream.write_all(&bytes).unwrap();
    let resp = read_command(&mut stream).expect("an answer, not a closed connection");
    assert_eq!(resp.opaque, 7);
    assert_eq!(
        resp.ext_fields.get("seen-code"),
        Some(ECHO.to_string().as_str())
    );
    assert_eq!(resp.ext_fields.get("a"), Some("2"));
    assert_eq!(resp.body, b"body");
    f.finish();
}
