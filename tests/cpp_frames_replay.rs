//! Frames the Apache C++ client 2.0 wrote (tests/fixtures/cpp-2.0, see tests/fixtures/README.md)
//! replayed byte for byte over raw sockets to our name server and broker: JSON headers with a
//! trailing newline, `"remark":""`, ACL fields, and ext values that are JSON numbers. Where a
//! variant is needed, a same-length edit of the header text keeps everything else as the C++
//! client wrote it.
//!
//! Also: an unknown request code and an unusable HEART_BEAT body get an error reply on a socket
//! that stays open, and a batch (code 10, `batch`="1") whose body the C++ client zlib-compressed
//! as a whole is stored as plain messages.

#![cfg(feature = "servers")]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{assert_eventually, raw_connect, read_command};
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::body::TopicRouteData;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::message::sys_flag::COMPRESSED_FLAG;
use rocketmq_blocking::protocol::message::{
    compress, decode_messages, decode_offset_message_id, encode_batch, BatchMessage, MessageExt,
    MessageProperties,
};
use rocketmq_blocking::protocol::{RemotingCommand, SerializeType};

const SEND: &str = "cpp-2.0/001-req-code10-json.bin";
const HEART_BEAT: &str = "cpp-2.0/003-req-code34-json.bin";
const ROUTE: &str = "cpp-2.0/005-req-code105-json.bin";
const PULL: &str = "cpp-2.0/007-req-code11-json.bin";

/// What frame 001 carries.
const SENT_BODY: &[u8] = b"cpp-msg-0";
const SENT_UNIQ_KEY: &str = "0100007F0000555300009A0E0D700100";
const SENT_BORN: i64 = 1795281103898;

/// A reply must come well within this; a pull held for the frame's 15 s would not.
const REPLY: Duration = Duration::from_secs(5);

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The header length of a whole frame (its serialize type byte masked off).
fn header_len(frame: &[u8]) -> usize {
    (u32::from_be_bytes(frame[4..8].try_into().unwrap()) & 0x00FF_FFFF) as usize
}

/// `frame` with the one occurrence of `from` in its header replaced by `to`, of the same
/// length, so that every length field stays right.
fn patch(frame: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "patch {from:?} -> {to:?}");
    let header = &frame[8..8 + header_len(frame)];
    let hits: Vec<usize> = header
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "{from:?} once in the header");
    let mut out = frame.to_vec();
    out[8 + hits[0]..8 + hits[0] + to.len()].copy_from_slice(to.as_bytes());
    out
}

/// `frame` with its header as is and `body` as its body.
fn with_body(frame: &[u8], body: &[u8]) -> Vec<u8> {
    let header = &frame[4..8 + header_len(frame)];
    let mut out = Vec::with_capacity(4 + header.len() + body.len());
    out.extend_from_slice(&((header.len() + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

/// The opaque of a frame, as its JSON header says.
fn opaque_of(frame: &[u8]) -> i32 {
    let header: serde_json::Value =
        serde_json::from_slice(&frame[8..8 + header_len(frame)]).expect("C++ header is JSON");
    header["opaque"].as_i64().unwrap() as i32
}

/// Writes `frame` and reads the reply, which must answer it (same opaque, JSON header).
#[track_caller]
fn call(stream: &mut TcpStream, frame: &[u8], what: &str) -> RemotingCommand {
    call_seeing(stream, frame, what).0
}

/// [`call`], also returning the requests the server sent first on this connection (a broker
/// tells a consumer's connection NOTIFY_CONSUMER_IDS_CHANGED before its heartbeat reply).
#[track_caller]
fn call_seeing(
    stream: &mut TcpStream,
    frame: &[u8],
    what: &str,
) -> (RemotingCommand, Vec<RemotingCommand>) {
    stream.write_all(frame).expect("write frame");
    let (reply, pushed) = read_reply(stream, opaque_of(frame), what);
    assert_eq!(
        reply.serialize_type,
        SerializeType::Json,
        "{what}: header type"
    );
    (reply, pushed)
}

/// Reads until the response with `opaque` arrives (within [`REPLY`]); returns it and the
/// requests the server sent before it.
#[track_caller]
fn read_reply(
    stream: &mut TcpStream,
    opaque: i32,
    what: &str,
) -> (RemotingCommand, Vec<RemotingCommand>) {
    let deadline = Instant::now() + REPLY;
    let mut pushed = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{what}: no reply within {REPLY:?}");
        stream.set_read_timeout(Some(left)).unwrap();
        let cmd = read_command(stream).unwrap_or_else(|e| panic!("{what}: no reply: {e}"));
        if !cmd.is_response() {
            pushed.push(cmd);
            continue;
        }
        assert_eq!(cmd.opaque, opaque, "{what}: opaque");
        return (cmd, pushed);
    }
}

#[track_caller]
fn expect_reply(stream: &mut TcpStream, opaque: i32, what: &str) -> RemotingCommand {
    read_reply(stream, opaque, what).0
}

fn ext<'a>(cmd: &'a RemotingCommand, key: &str) -> &'a str {
    cmd.ext_fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", cmd.ext_fields))
}

struct Servers {
    namesrv: NameServer,
    broker: Broker,
    store: PathBuf,
}

impl Servers {
    fn start(tag: &str) -> Servers {
        common::init_logging();
        let namesrv = NameServer::builder()
            .listen("127.0.0.1:0")
            .start()
            .expect("name server");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let store = std::env::temp_dir().join(format!(
            "rmq-cpp-replay-{tag}-{}-{nanos}",
            std::process::id()
        ));
        let broker = Broker::builder()
            .listen("127.0.0.1:0")
            .store_dir(&store)
            .name_server(&namesrv.local_addr().to_string())
            .start()
            .expect("broker starts");
        Servers {
            namesrv,
            broker,
            store,
        }
    }

    fn broker_addr(&self) -> String {
        self.broker.local_addr().to_string()
    }

    fn namesrv_addr(&self) -> String {
        self.namesrv.local_addr().to_string()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.broker.shutdown();
        self.namesrv.shutdown();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Checks a SEND_MESSAGE reply and returns (msgId, queueOffset); a batch's msgId is one
/// offset id per message, joined by commas.
#[track_caller]
fn check_send_reply(reply: &RemotingCommand, what: &str) -> (String, i64) {
    assert_eq!(
        reply.code,
        response_code::SUCCESS,
        "{what}: {:?}",
        reply.remark
    );
    assert_eq!(ext(reply, "queueId"), "0", "{what}: the frame's queueId 0");
    let offset: i64 = ext(reply, "queueOffset")
        .parse()
        .expect("numeric queueOffset");
    let msg_id = ext(reply, "msgId").to_string();
    for id in msg_id.split(',') {
        let (store_host, _) = decode_offset_message_id(id)
            .unwrap_or_else(|e| panic!("{what}: msgId {id} is not an offset id: {e}"));
        assert!(store_host.ip().is_loopback(), "{what}: store host of {id}");
    }
    (msg_id, offset)
}

/// Checks that `m` is the message frame 001 carried.
#[track_caller]
fn check_sent_message(m: &MessageExt, offset: i64, msg_id: &str) {
    assert_eq!(m.topic, "TopicTest");
    assert_eq!(m.body, SENT_BODY);
    assert_eq!(m.queue_id, 0);
    assert_eq!(m.queue_offset, offset);
    assert_eq!(m.msg_id, msg_id, "the pulled message's offset id");
    assert_eq!(m.born_timestamp, SENT_BORN);
    assert_eq!(m.sys_flag & COMPRESSED_FLAG, 0);
    assert_eq!(m.keys(), Some("key-0"));
    assert_eq!(m.tags(), Some("TagA"));
    assert_eq!(m.property("UNIQ_KEY"), Some(SENT_UNIQ_KEY));
    assert_eq!(m.property("WAIT"), Some("true"));
    assert_eq!(m.property("seq"), Some("0"));
}

#[test]
fn cpp_send_route_and_pull_frames_are_served() {
    let s = Servers::start("send");
    let mut broker = raw_connect(&s.broker_addr());

    // 001: SEND_MESSAGE with long field names, "queueId":0 and "sysFlag":0 as numbers.
    let reply = call(&mut broker, &fixture(SEND), "001 SEND_MESSAGE");
    let (msg_id, offset) = check_send_reply(&reply, "001");
    assert_eq!(offset, 0, "the first message of TopicTest queue 0");
    let topic = s
        .broker
        .topic_config("TopicTest")
        .expect("TopicTest created");
    assert_eq!(
        topic.write_queue_nums, 4,
        "the frame's defaultTopicQueueNums:4"
    );

    // 005: GET_ROUTEINFO_BY_TOPIC once the broker has registered TopicTest.
    assert_eventually(
        "TopicTest registered at the name server",
        Duration::from_secs(10),
        || s.namesrv.topic_route("TopicTest").is_some(),
    );
    let mut namesrv = raw_connect(&s.namesrv_addr());
    let reply = call(&mut namesrv, &fixture(ROUTE), "005 GET_ROUTEINFO_BY_TOPIC");
    assert_eq!(
        reply.code,
        response_code::SUCCESS,
        "005: {:?}",
        reply.remark
    );
    let text = String::from_utf8(reply.body.to_vec()).expect("route body is text");
    // Version 63 < 401: brokerAddrs keys unquoted, as a Java name server writes them.
    assert!(
        text.contains(&format!("\"brokerAddrs\":{{0:\"{}\"}}", s.broker_addr())),
        "005: route body {text}"
    );
    let route = TopicRouteData::from_json(&reply.body).expect("route body parses");
    assert_eq!(route.broker_datas.len(), 1, "005: {text}");
    assert_eq!(route.broker_datas[0].broker_name, "broker-a");
    assert_eq!(
        route.broker_datas[0].master_addr(),
        Some(s.broker_addr().as_str())
    );
    assert_eq!(route.queue_datas.len(), 1, "005: {text}");
    assert_eq!(route.queue_datas[0].broker_name, "broker-a");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.queue_datas[0].read_queue_nums, 4);

    // 007: PULL_MESSAGE, sysFlag 6 (suspend + subscription), "maxMsgNums":32 and "queueId":0
    // as numbers. The message exists, so the answer is FOUND at once.
    let started = Instant::now();
    let reply = call(&mut broker, &fixture(PULL), "007 PULL_MESSAGE");
    assert_eq!(
        reply.code,
        response_code::SUCCESS,
        "007: {:?}",
        reply.remark
    );
    assert_eq!(reply.remark.as_deref(), Some("FOUND"));
    assert!(started.elapsed() < REPLY, "007 answered without holding");
    assert_eq!(ext(&reply, "nextBeginOffset"), "1");
    assert_eq!(ext(&reply, "minOffset"), "0");
    assert_eq!(ext(&reply, "maxOffset"), "1");
    assert_eq!(ext(&reply, "suggestWhichBrokerId"), "0");
    let messages = decode_messages(&reply.body, true).expect("pull body decodes");
    assert_eq!(messages.len(), 1);
    check_sent_message(&messages[0], 0, &msg_id);
}

#[test]
fn cpp_pull_is_held_until_a_message_arrives_or_its_timeout() {
    let s = Servers::start("hold");
    let mut producer = raw_connect(&s.broker_addr());
    let (_, offset) = check_send_reply(&call(&mut producer, &fixture(SEND), "001"), "001");
    assert_eq!(offset, 0);

    // 007 at offset 1, where nothing is yet: held (up to the frame's 15 s)...
    let pull = patch(
        &fixture(PULL),
        "\"queueOffset\":\"0\"",
        "\"queueOffset\":\"1\"",
    );
    let mut consumer = raw_connect(&s.broker_addr());
    consumer.write_all(&pull).unwrap();
    assert_eventually("the pull to be held", REPLY, || s.broker.held_pulls() == 1);
    // ...until 001 stores a message at offset 1, which answers it with FOUND.
    let started = Instant::now();
    let (msg_id, offset) =
        check_send_reply(&call(&mut producer, &fixture(SEND), "001 again"), "001");
    assert_eq!(offset, 1);
    let reply = expect_reply(&mut consumer, opaque_of(&pull), "held 007");
    assert!(
        started.elapsed() < REPLY,
        "woken by the arrival, not by its timeout"
    );
    assert_eq!(reply.code, response_code::SUCCESS, "{:?}", reply.remark);
    assert_eq!(ext(&reply, "nextBeginOffset"), "2");
    let messages = decode_messages(&reply.body, true).expect("pull body decodes");
    assert_eq!(messages.len(), 1);
    check_sent_message(&messages[0], 1, &msg_id);
    assert_eq!(s.broker.held_pulls(), 0);

    // At offset 2 with the suspend timeout cut to 1 s ("01000" keeps the frame's length):
    // held, then PULL_NOT_FOUND when the timeout passes.
    let pull = patch(&pull, "\"queueOffset\":\"1\"", "\"queueOffset\":\"2\"");
    let pull = patch(
        &pull,
        "\"suspendTimeoutMillis\":\"15000\"",
        "\"suspendTimeoutMillis\":\"01000\"",
    );
    let started = Instant::now();
    consumer.write_all(&pull).unwrap();
    let reply = expect_reply(&mut consumer, opaque_of(&pull), "007 timing out");
    let waited = started.elapsed();
    assert_eq!(
        reply.code,
        response_code::PULL_NOT_FOUND,
        "{:?}",
        reply.remark
    );
    assert!(
        waited >= Duration::from_millis(900),
        "held for its suspend timeout, answered after {waited:?}"
    );
    assert_eq!(ext(&reply, "nextBeginOffset"), "2");
    assert_eq!(ext(&reply, "maxOffset"), "2");
    assert!(reply.body.is_empty());
}

#[test]
fn cpp_heart_beat_registers_the_consumer_group() {
    let s = Servers::start("heartbeat");
    let mut conn = raw_connect(&s.broker_addr());
    // 003: the C++ body has enums as numbers, subVersion as a string and a trailing newline.
    let (reply, pushed) = call_seeing(&mut conn, &fixture(HEART_BEAT), "003 HEART_BEAT");
    assert_eq!(
        reply.code,
        response_code::SUCCESS,
        "003: {:?}",
        reply.remark
    );
    assert_eventually("CID_cpp_test registered", REPLY, || {
        s.broker.clients().consumer_group("CID_cpp_test").is_some()
    });
    let group = s.broker.clients().consumer_group("CID_cpp_test").unwrap();
    assert_eq!(group.client_ids(), ["22185-127.0.0.1@DEFAULT"]);
    let topics: Vec<&str> = group.subscriptions.keys().map(String::as_str).collect();
    assert_eq!(topics, ["%RETRY%CID_cpp_test", "TopicTest"]);
    let sub = &group.subscriptions["TopicTest"];
    assert_eq!(sub.sub_string, "*");
    assert_eq!(
        sub.sub_version, 1795281104913,
        "subVersion sent as a string"
    );
    // As a Java broker does, the group's members (this connection) are told the group changed.
    let notify = match pushed.into_iter().next() {
        Some(cmd) => cmd,
        None => {
            conn.set_read_timeout(Some(REPLY)).unwrap();
            read_command(&mut conn).expect("NOTIFY_CONSUMER_IDS_CHANGED")
        }
    };
    assert_eq!(notify.code, request_code::NOTIFY_CONSUMER_IDS_CHANGED);
    assert!(notify.is_oneway(), "{notify:?}");
    assert_eq!(ext(&notify, "consumerGroup"), "CID_cpp_test");
}

#[test]
fn unknown_codes_and_bad_bodies_get_error_replies_on_an_open_socket() {
    let s = Servers::start("errors");
    // The C++ route request with code 999, which nothing serves.
    let unknown = patch(&fixture(ROUTE), "\"code\":105,", "\"code\":999,");
    // The C++ HEART_BEAT header with a truncated body.
    let bad_heart_beat = with_body(&fixture(HEART_BEAT), br#"{"clientID":5"#);

    let mut broker = raw_connect(&s.broker_addr());
    let reply = call(&mut broker, &bad_heart_beat, "HEART_BEAT with a bad body");
    assert_eq!(
        reply.code,
        response_code::SYSTEM_ERROR,
        "bad body: {:?}",
        reply.remark
    );
    let remark = reply.remark.unwrap_or_default();
    assert!(
        remark.to_lowercase().contains("heartbeat"),
        "the remark names what could not be read: {remark:?}"
    );
    assert!(s.broker.clients().consumer_group("CID_cpp_test").is_none());
    let reply = call(&mut broker, &unknown, "code 999 to the broker");
    assert_eq!(
        reply.code,
        response_code::REQUEST_CODE_NOT_SUPPORTED,
        "broker: {:?}",
        reply.remark
    );
    let remark = reply.remark.unwrap_or_default();
    assert!(
        remark.contains("999"),
        "broker: the remark names the code: {remark:?}"
    );
    // The same socket still serves a valid request: the real 003 registers the consumer.
    let reply = call(&mut broker, &fixture(HEART_BEAT), "003 after the errors");
    assert_eq!(reply.code, response_code::SUCCESS, "{:?}", reply.remark);
    assert_eventually("CID_cpp_test registered", REPLY, || {
        s.broker.clients().consumer_group("CID_cpp_test").is_some()
    });

    let mut namesrv = raw_connect(&s.namesrv_addr());
    let reply = call(&mut namesrv, &unknown, "code 999 to the name server");
    assert_eq!(
        reply.code,
        response_code::REQUEST_CODE_NOT_SUPPORTED,
        "name server: {:?}",
        reply.remark
    );
    let remark = reply.remark.unwrap_or_default();
    assert!(
        remark.contains("999"),
        "name server: the remark names the code: {remark:?}"
    );
    // The same socket answers the real 005: nothing has registered TopicTest.
    let reply = call(&mut namesrv, &fixture(ROUTE), "005 after code 999");
    assert_eq!(
        reply.code,
        response_code::TOPIC_NOT_EXIST,
        "name server: {:?}",
        reply.remark
    );
}

/// Three batch entries as the C++ client encodes them (`BatchMessage::encode`).
fn batch_entries(first: u64) -> Vec<BatchMessage> {
    (first..first + 3)
        .map(|i| {
            let mut properties = MessageProperties::new();
            properties.insert("KEYS", format!("key-{i}"));
            properties.insert("TAGS", "TagB");
            properties.insert("UNIQ_KEY", format!("0100007F00005553000000000000{i:04X}"));
            properties.insert("WAIT", "true");
            properties.insert("seq", i.to_string());
            BatchMessage {
                flag: 0,
                // Long enough that the whole batch is over 4 KiB, as the C++ client compresses.
                body: format!("batch-body-{i}-{}", "x".repeat(2000)).into_bytes(),
                properties,
            }
        })
        .collect()
}

#[test]
fn cpp_batches_plain_and_compressed_are_stored_as_plain_messages() {
    let s = Servers::start("batch");
    let mut conn = raw_connect(&s.broker_addr());
    let batch = patch(&fixture(SEND), "\"batch\":\"0\"", "\"batch\":\"1\"");

    // A batch as SEND_MESSAGE with batch="1" and a plain body.
    let plain = encode_batch(&batch_entries(0)).unwrap();
    let reply = call(&mut conn, &with_body(&batch, &plain), "plain batch");
    let (ids, offset) = check_send_reply(&reply, "plain batch");
    assert_eq!(offset, 0);
    assert_eq!(
        ids.split(',').count(),
        3,
        "one offset id per message: {ids}"
    );

    // The C++ client of PyPI rocketmq 0.4.4 zlib-compresses a batch body of 4 KiB or more as a
    // whole and sets sysFlag 1.
    let body = encode_batch(&batch_entries(3)).unwrap();
    assert!(body.len() >= 4096);
    let compressed = patch(&batch, "\"sysFlag\":0,", "\"sysFlag\":1,");
    let reply = call(
        &mut conn,
        &with_body(&compressed, &compress(&body, 5).unwrap()),
        "compressed batch",
    );
    let (ids, offset) = check_send_reply(&reply, "compressed batch");
    assert_eq!(offset, 3);
    assert_eq!(
        ids.split(',').count(),
        3,
        "one offset id per message: {ids}"
    );

    // Pulled back with 007: six plain messages, in order, with their own properties.
    let reply = call(&mut conn, &fixture(PULL), "007 PULL_MESSAGE");
    assert_eq!(reply.code, response_code::SUCCESS, "{:?}", reply.remark);
    let messages = decode_messages(&reply.body, false).expect("pull body decodes");
    assert_eq!(messages.len(), 6);
    for (i, m) in messages.iter().enumerate() {
        let expected = &batch_entries(i as u64 / 3 * 3)[i % 3];
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(
            m.sys_flag & COMPRESSED_FLAG,
            0,
            "message {i} is stored plain"
        );
        assert_eq!(m.body, expected.body, "body of message {i}");
        for (key, value) in expected.properties.iter() {
            assert_eq!(m.property(key), Some(value), "{key} of message {i}");
        }
    }
}
