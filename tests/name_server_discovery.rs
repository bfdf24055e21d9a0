//! Name-server discovery (Java's `TopAddressing`): with no name server given, a client asks
//! an HTTP address service for the list at start and periodically after; a changed list is
//! taken up, a bad answer keeps the last good one.
//!
//! The address service is a loopback `TcpListener` thread here, its answer set by the test;
//! its URL goes through the builder, never the environment (tests share one process).
//! Nothing waits by sleeping: the test waits until the service has answered enough fetches.

#![cfg(feature = "servers")]

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rocketmq_blocking::client::{ClientError, Message, MqAdmin, Producer, SendStatus};
use rocketmq_blocking::LocalCluster;

/// Upper bound of every wait.
const WAIT: Duration = Duration::from_secs(20);

/// What the address service answers.
#[derive(Clone)]
enum Answer {
    /// These bytes, then the connection closes.
    Raw(Vec<u8>),
    /// Nothing: the connection is held until the client gives up.
    Silent,
}

/// A 200 answer with `body` and its length.
fn ok(body: &str) -> Answer {
    Answer::Raw(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

struct State {
    answer: Answer,
    /// Requests received.
    served: usize,
    /// The request line of the last one.
    last_request: String,
}

/// An HTTP address service on 127.0.0.1, one connection at a time.
struct AddressService {
    url: String,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
    addr: String,
    thread: Option<JoinHandle<()>>,
}

impl AddressService {
    fn start(answer: Answer) -> AddressService {
        common::init_logging();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new((
            Mutex::new(State {
                answer,
                served: 0,
                last_request: String::new(),
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            thread::Builder::new()
                .name("test-nsaddr-http".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        if let Ok(stream) = stream {
                            serve(stream, &state);
                        }
                    }
                })
                .unwrap()
        };
        AddressService {
            url: format!("http://{addr}/rocketmq/nsaddr"),
            state,
            stop,
            addr,
            thread: Some(thread),
        }
    }

    /// Answers `answer` from now on; returns how many requests were served before.
    fn set(&self, answer: Answer) -> usize {
        let mut state = self.state.0.lock().unwrap();
        state.answer = answer;
        state.served
    }

    /// Waits until `n` requests were served.
    fn wait_served(&self, n: usize) {
        let (lock, changed) = &*self.state;
        let deadline = Instant::now() + WAIT;
        let mut state = lock.lock().unwrap();
        while state.served < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the service served {} of {n}",
                state.served
            );
            state = changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Switches to `answer` and returns once the client has acted on it: fetches are
    /// sequential, so request `s + 2` arrives only after the client handled answer `s + 1`,
    /// the first one given with the new answer.
    fn set_and_wait_taken(&self, answer: Answer) {
        let before = self.set(answer);
        self.wait_served(before + 2);
    }
}

impl Drop for AddressService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Unblocks accept.
        let _ = TcpStream::connect(&self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request head, answers it with the current answer, counts it.
fn serve(mut stream: TcpStream, state: &(Mutex<State>, Condvar)) {
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let (lock, changed) = state;
    // The answer and the count are taken together, so `set` knows which answers are new.
    let answer = {
        let mut state = lock.lock().unwrap();
        state.served += 1;
        let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
        state.last_request = String::from_utf8_lossy(line).into_owned();
        state.answer.clone()
    };
    match answer {
        Answer::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            // Let the client close first, so it reads everything.
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        }
        Answer::Silent => while matches!(stream.read(&mut buf), Ok(n) if n > 0) {},
    }
    changed.notify_all();
}

/// A loopback address nobody listens on.
fn dead_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn producer(group: &str, service: &AddressService) -> Producer {
    Producer::builder(group)
        .name_server_address_service(&service.url)
        .name_server_address_fetch_interval(Duration::from_millis(20))
        .api_timeout(Duration::from_secs(1))
        .start()
        .unwrap()
}

fn assert_sends(producer: &Producer, topic: &str) {
    let result = producer.send(&Message::new(topic, "x"));
    assert!(
        matches!(&result, Ok(r) if r.send_status == SendStatus::SendOk),
        "{topic}: {result:?}"
    );
}

#[test]
fn a_producer_without_name_server_sends_through_the_served_list() {
    let cluster = LocalCluster::start().unwrap();
    let service = AddressService::start(ok(&format!("{}\r\n", cluster.name_server_addr())));
    let producer = Producer::builder("PG_DISC_SEND")
        .name_server_address_service(&service.url)
        .start()
        .unwrap();
    assert_eq!(
        producer.config().client.name_server_addrs,
        [cluster.name_server_addr()]
    );
    assert_sends(&producer, "DiscSend");
    producer.shutdown();
}

#[test]
fn a_changed_list_is_taken_up() {
    let cluster = LocalCluster::start().unwrap();
    let good = cluster.name_server_addr();
    let service = AddressService::start(ok(&good));
    let producer = producer("PG_DISC_CHANGE", &service);
    assert_sends(&producer, "DiscChange1");

    // Only a dead name server now: a new topic's route lookup names it, and only it.
    let dead = dead_addr();
    service.set_and_wait_taken(ok(&dead));
    let error = producer
        .send(&Message::new("DiscChange2", "x"))
        .unwrap_err();
    match &error {
        ClientError::NoNameServer { tried } => {
            let tried: Vec<&str> = tried.iter().map(|(a, _)| a.as_str()).collect();
            assert_eq!(tried, [dead.as_str()], "{error}");
        }
        other => panic!("expected NoNameServer, got {other:?}"),
    }

    // Back to the live one (with a second address and blanks: the list is parsed).
    service.set_and_wait_taken(ok(&format!(" {good} ; {good}\n")));
    assert_sends(&producer, "DiscChange3");
    producer.shutdown();
}

#[test]
fn bad_answers_keep_the_last_good_list() {
    let cluster = LocalCluster::start().unwrap();
    let service = AddressService::start(ok(&cluster.name_server_addr()));
    let producer = producer("PG_DISC_GARBAGE", &service);
    assert_sends(&producer, "DiscGarbage");
    // Each bad answer would, if taken, name a dead name server: the sends would then fail.
    let dead = dead_addr();
    let oversized = vec![dead.as_str(); 70 * 1024 / dead.len()].join(";");
    let raw = |text: String| Answer::Raw(text.into_bytes());
    let answers = [
        (
            "status 500",
            raw(format!(
                "HTTP/1.1 500 Oops\r\nContent-Length: {}\r\n\r\n{dead}",
                dead.len()
            )),
        ),
        ("not a list", ok("<html>no</html>")),
        ("empty", ok("  \r\n")),
        ("oversized", ok(&oversized)),
        (
            "oversized chunk",
            raw(format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{oversized}\r\n0\r\n\r\n",
                oversized.len()
            )),
        ),
        (
            "truncated",
            raw(format!("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{dead}")),
        ),
        ("not HTTP", raw(format!("{dead}\r\n\r\n"))),
        ("no answer in time", Answer::Silent),
    ];
    for (i, (what, answer)) in answers.into_iter().enumerate() {
        service.set_and_wait_taken(answer);
        let topic = format!("DiscGarbage{i}");
        let result = producer.send(&Message::new(&topic, what));
        assert!(
            matches!(&result, Ok(r) if r.send_status == SendStatus::SendOk),
            "after {what}: {result:?}"
        );
    }
    // A well-formed answer is still taken up after all of them.
    service.set_and_wait_taken(ok(&dead));
    assert!(producer.send(&Message::new("DiscGarbageEnd", "x")).is_err());
    producer.shutdown();
}

#[test]
fn start_fails_clearly_without_a_list_and_refuses_a_bad_url() {
    let service = AddressService::start(ok(""));
    let error = Producer::builder("PG_DISC_NONE")
        .name_server_address_service(&service.url)
        .start()
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::NameServerLookup { url, reason }
            if *url == service.url && reason.contains("no address")),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&service.url) && text.contains("NAMESRV_ADDR"),
        "{text}"
    );

    // Too slow: start gives up within the API timeout.
    service.set(Answer::Silent);
    let begin = Instant::now();
    let error = MqAdmin::builder()
        .name_server_address_service(&service.url)
        .api_timeout(Duration::from_millis(300))
        .start()
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::NameServerLookup { reason, .. }
            if reason.contains("no answer within 300 ms")),
        "{error:?}"
    );
    assert!(begin.elapsed() < Duration::from_secs(5));

    for bad in ["https://h/x", "h:8080/x", "http://h:0/x"] {
        let error = Producer::builder("PG_DISC_BAD_URL")
            .name_server("127.0.0.1:9876")
            .name_server_address_service(bad)
            .start()
            .unwrap_err();
        assert!(error.is_invalid_input(), "{bad}: {error:?}");
        assert!(
            error.to_string().contains("name_server_address_service"),
            "{error}"
        );
    }
}

#[test]
fn an_admin_asks_the_service_too() {
    let cluster = LocalCluster::start().unwrap();
    let service = AddressService::start(ok(&cluster.name_server_addr()));
    let admin = MqAdmin::builder()
        .name_server_address_service(&service.url)
        .unit_name("u1")
        .start()
        .unwrap();
    // The unit is part of the URL asked, as Java's `TopAddressing` does.
    assert_eq!(
        service.state.0.lock().unwrap().last_request,
        "GET /rocketmq/nsaddr-u1?nofix=1 HTTP/1.1"
    );
    assert!(admin.examine_topic_route_info("TBW102").is_ok());
}
