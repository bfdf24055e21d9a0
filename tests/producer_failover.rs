//! The producer when brokers fail: a broker killed mid-run (sync and async), a broker that
//! never answers (the timeout budget), latency fault tolerance, and retrying another broker
//! on a status that is not SEND_OK.

#![cfg(feature = "servers")]

mod producer_common;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use producer_common::{assert_eventually, name_server, FakeBroker, Mode};
use rocketmq_blocking::client::{
    ClientError, Message, Producer, ProducerBuilder, SendMessageContext, SendMessageHook,
    SendStatus,
};
use rocketmq_blocking::protocol::codes::{request_code, response_code};

const TOPIC: &str = "Failover";
const WAIT: Duration = Duration::from_secs(10);
/// How late a deadline may be met on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(500);

fn start(namesrv: &str, configure: impl FnOnce(ProducerBuilder) -> ProducerBuilder) -> Producer {
    let builder = Producer::builder("PG_FAILOVER")
        .name_server(namesrv)
        .route_refresh_interval(Duration::from_millis(200))
        .heartbeat_interval(Duration::from_millis(500));
    configure(builder).start().expect("producer starts")
}

/// Counts send attempts (a send hook runs once per attempt).
#[derive(Default)]
struct AttemptCounter(AtomicUsize);

impl SendMessageHook for AttemptCounter {
    fn hook_name(&self) -> &str {
        "attempts"
    }
    fn send_message_before(&self, _: &SendMessageContext) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn send_message_after(&self, _: &SendMessageContext) {}
}

#[test]
fn sync_sends_survive_a_broker_killed_mid_run_and_use_it_again_when_back() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let _a = FakeBroker::start("broker-a", &ns, &[(TOPIC, 2)]);
    let mut b = FakeBroker::start("broker-b", &ns, &[(TOPIC, 2)]);
    let attempts = Arc::new(AttemptCounter::default());
    let producer = start(&ns, |p| p.send_hook(attempts.clone()));
    let timeout = producer.config().send_timeout;

    let slowest = Cell::new(Duration::ZERO);
    let send = |i: usize| {
        let begin = Instant::now();
        let result = producer
            .send(&Message::new(TOPIC, format!("m{i}")))
            .unwrap_or_else(|e| panic!("send {i} failed: {e}"));
        slowest.set(slowest.get().max(begin.elapsed()));
        result
    };
    let before: Vec<_> = (0..20).map(send).collect();
    assert!(before
        .iter()
        .any(|r| r.message_queue.broker_name == "broker-b"));

    b.kill();
    // Every send still succeeds: attempts on the dead broker fail at once and are retried on
    // broker-a, well within the budget.
    let during: Vec<_> = (20..60).map(send).collect();
    assert!(during
        .iter()
        .all(|r| r.message_queue.broker_name == "broker-a"));
    assert!(slowest.get() < timeout, "slowest send {:?}", slowest.get());

    // The producer's route refresh drops broker-b: then a round of sends (two of the four
    // queues were broker-b's) takes one attempt each.
    let mut i = 60;
    assert_eventually("the producer to stop trying broker-b", WAIT, || {
        let before = attempts.0.load(Ordering::SeqCst);
        for _ in 0..8 {
            assert_eq!(send(i).message_queue.broker_name, "broker-a");
            i += 1;
        }
        attempts.0.load(Ordering::SeqCst) - before == 8
    });

    // Back on the same address: the refresh brings it back and sends reach it again.
    b.restart();
    assert_eventually("a send to reach broker-b again", WAIT, || {
        i += 1;
        send(i).message_queue.broker_name == "broker-b"
    });
    assert!(b.count(request_code::SEND_MESSAGE_V2) > 0);
    println!("slowest sync send across the kill: {:?}", slowest.get());
}

/// Outcomes reported per send, by send index.
type CallbackLog = HashMap<usize, Vec<Result<String, String>>>;

#[test]
fn async_callbacks_fire_once_across_a_broker_kill() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let _a = FakeBroker::start("broker-a", &ns, &[(TOPIC, 2)]);
    let mut b = FakeBroker::start("broker-b", &ns, &[(TOPIC, 2)]);
    let producer = start(&ns, |p| p);
    // send index → every outcome its callback reported (must be exactly one).
    let calls: Arc<Mutex<CallbackLog>> = Arc::default();
    let total = 200;
    for i in 0..total {
        if i == total / 2 {
            b.kill();
        }
        let calls = calls.clone();
        let accepted = producer.send_async(&Message::new(TOPIC, format!("m{i}")), move |r| {
            calls.lock().unwrap().entry(i).or_default().push(
                r.map(|s| s.message_queue.broker_name)
                    .map_err(|e| e.to_string()),
            );
        });
        accepted.unwrap_or_else(|e| panic!("send {i} not accepted: {e}"));
    }
    producer
        .flush(WAIT)
        .unwrap_or_else(|e| panic!("not every callback ran: {e}"));
    // Shutdown joins every thread that could still call back: a second call would be in.
    producer.shutdown();
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), total);
    for i in 0..total {
        let results = &calls[&i];
        assert_eq!(results.len(), 1, "callback {i} ran {} times", results.len());
        assert!(results[0].is_ok(), "send {i}: {:?}", results[0]);
    }
    let on_b_after_kill = (total / 2 + 10..total)
        .filter(|i| calls[i][0].as_deref() == Ok("broker-b"))
        .count();
    assert_eq!(on_b_after_kill, 0);
}

#[test]
fn a_broker_that_never_answers_cannot_stretch_the_send_timeout() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let silent = FakeBroker::start("broker-a", &ns, &[(TOPIC, 2)]);
    silent.set_mode(Mode::Silent);
    let timeout = Duration::from_millis(1000);
    let producer = start(&ns, |p| p.send_timeout(timeout));
    // A oneway send (which a silent broker cannot hold up) caches the route, so that the
    // measurement is the send alone.
    producer
        .send_oneway(&Message::new(TOPIC, "warm-up"))
        .unwrap();

    let begin = Instant::now();
    let error = producer.send(&Message::new(TOPIC, "x")).unwrap_err();
    let elapsed = begin.elapsed();
    println!(
        "sync send to a silent broker returned after {elapsed:?} (timeout {timeout:?}): {error}"
    );
    // Never early; late only by scheduling (generous for a loaded 2-core machine).
    assert!(elapsed >= timeout * 9 / 10, "returned early: {elapsed:?}");
    assert!(elapsed <= timeout + SLACK, "budget overrun: {elapsed:?}");
    assert!(
        matches!(error, ClientError::SendFailed { attempts: 1, .. }),
        "{error:?}"
    );
    assert!(error.is_timeout(), "{error}");

    // The same with the route fetch inside the budget.
    let producer = start(&ns, |p| p.send_timeout(timeout));
    let begin = Instant::now();
    assert!(producer.send(&Message::new(TOPIC, "x")).is_err());
    let elapsed = begin.elapsed();
    println!("first sync send (route fetch included) returned after {elapsed:?}");
    assert!(elapsed <= timeout + SLACK, "budget overrun: {elapsed:?}");

    // Async: the callback reports the failure once. The transport expires a silent request
    // at its timeout plus a 1 s grace, found by a scan every second.
    let (tx, rx) = std::sync::mpsc::channel();
    let begin = Instant::now();
    producer
        .send_async(&Message::new(TOPIC, "y"), move |r| {
            tx.send((r, begin.elapsed())).unwrap()
        })
        .unwrap();
    let (result, elapsed) = rx.recv_timeout(WAIT).unwrap();
    println!("async send to a silent broker called back after {elapsed:?}");
    assert!(result.is_err());
    assert!(
        elapsed <= timeout + Duration::from_millis(2000) + SLACK,
        "{elapsed:?}"
    );
    // Shutdown joins every thread that could call back again.
    producer.shutdown();
    assert!(rx.try_recv().is_err(), "called back twice");
}

#[test]
fn a_retry_gets_only_what_is_left_of_the_budget() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let slow = FakeBroker::start("broker-a", &ns, &[(TOPIC, 1)]);
    let silent = FakeBroker::start("broker-b", &ns, &[(TOPIC, 1)]);
    slow.set_mode(Mode::SlowError(
        Duration::from_millis(400),
        response_code::SYSTEM_BUSY,
    ));
    silent.set_mode(Mode::Silent);
    let timeout = Duration::from_millis(1000);
    let producer = start(&ns, |p| p.send_timeout(timeout));
    producer
        .send_oneway(&Message::new(TOPIC, "warm-up"))
        .unwrap();
    let mut slow_first = 0;
    for i in 0..4 {
        let begin = Instant::now();
        let error = producer
            .send(&Message::new(TOPIC, format!("{i}")))
            .unwrap_err();
        let elapsed = begin.elapsed();
        println!("send {i}: {elapsed:?}: {error}");
        // After 400 ms on broker-a, the attempt on broker-b gets the 600 ms left, not 1 s.
        assert!(
            elapsed <= timeout + SLACK,
            "budget overrun: {elapsed:?}: {error}"
        );
        if let ClientError::SendFailed { brokers_sent, .. } = &error {
            if brokers_sent[..] == ["broker-a", "broker-b"] {
                slow_first += 1;
            }
        }
    }
    // Round robin starts every other send on broker-a.
    assert!(slow_first >= 1, "no send started on the slow broker");
}

#[test]
fn latency_fault_tolerance_keeps_away_from_a_failing_broker() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let _a = FakeBroker::start("broker-a", &ns, &[(TOPIC, 2)]);
    let b = FakeBroker::start("broker-b", &ns, &[(TOPIC, 2)]);
    b.set_mode(Mode::Error(response_code::SYSTEM_BUSY));
    let producer = start(&ns, |p| p.send_latency_fault_enable(true));
    for i in 0..4 {
        let result = producer.send(&Message::new(TOPIC, format!("{i}"))).unwrap();
        assert_eq!(result.message_queue.broker_name, "broker-a");
    }
    // broker-b failed at most once before it was isolated for 10 minutes.
    let tried_b = b.count(request_code::SEND_MESSAGE_V2);
    assert!(tried_b <= 1, "{tried_b}");
    for i in 0..20 {
        producer.send(&Message::new(TOPIC, format!("{i}"))).unwrap();
    }
    assert_eq!(b.count(request_code::SEND_MESSAGE_V2), tried_b);

    // Without fault tolerance, round robin keeps trying broker-b and failing over.
    let producer = start(&ns, |p| p);
    for i in 0..20 {
        let result = producer.send(&Message::new(TOPIC, format!("{i}"))).unwrap();
        assert_eq!(result.message_queue.broker_name, "broker-a");
    }
    assert!(b.count(request_code::SEND_MESSAGE_V2) > tried_b + 5);
}

#[test]
fn not_stored_ok_is_retried_on_another_broker_only_when_asked() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let a = FakeBroker::start("broker-a", &ns, &[(TOPIC, 2)]);
    let _b = FakeBroker::start("broker-b", &ns, &[(TOPIC, 2)]);
    a.set_mode(Mode::StoredWith(response_code::FLUSH_DISK_TIMEOUT));

    let producer = start(&ns, |p| p);
    let statuses: Vec<_> = (0..10)
        .map(|i| {
            producer
                .send(&Message::new(TOPIC, format!("{i}")))
                .unwrap()
                .send_status
        })
        .collect();
    assert!(
        statuses.contains(&SendStatus::FlushDiskTimeout),
        "{statuses:?}"
    );

    let producer = start(&ns, |p| p.retry_another_broker_when_not_store_ok(true));
    for i in 0..10 {
        let result = producer.send(&Message::new(TOPIC, format!("{i}"))).unwrap();
        assert_eq!(result.send_status, SendStatus::SendOk);
        assert_eq!(result.message_queue.broker_name, "broker-b");
    }
    // When every broker answers so, the last such result is returned, not an error.
    let producer = start(&ns, |p| {
        p.retry_another_broker_when_not_store_ok(true)
            .retry_times_when_send_failed(1)
    });
    _b.set_mode(Mode::StoredWith(response_code::SLAVE_NOT_AVAILABLE));
    let result = producer.send(&Message::new(TOPIC, "z")).unwrap();
    assert_ne!(result.send_status, SendStatus::SendOk);
}

#[test]
fn killed_broker_error_names_attempts_when_every_broker_is_gone() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let mut a = FakeBroker::start("broker-a", &ns, &[(TOPIC, 2)]);
    let producer = start(&ns, |p| p.route_refresh_interval(Duration::from_secs(60)));
    producer.send(&Message::new(TOPIC, "warm-up")).unwrap();
    a.kill();
    let error = producer.send(&Message::new(TOPIC, "x")).unwrap_err();
    // `{:#}`: the error and its causes on one line.
    let text = format!("{error:#}");
    assert!(
        text.starts_with("send to topic Failover failed after 3 attempts"),
        "{text}"
    );
    assert!(text.contains("on broker-a, broker-a, broker-a"), "{text}");
    assert!(
        text.contains(&a.addr),
        "the cause names the address: {text}"
    );
    match &error {
        ClientError::SendFailed {
            attempts: 3,
            brokers_sent,
            cause,
            ..
        } => {
            assert_eq!(brokers_sent, &["broker-a", "broker-a", "broker-a"]);
            // The io::Error of the refused connection is still there.
            let mut source: Option<&dyn std::error::Error> = Some(cause.as_ref());
            let mut io = None;
            while let Some(e) = source {
                io = io.or(e.downcast_ref::<std::io::Error>().map(|e| e.kind()));
                source = e.source();
            }
            assert_eq!(io, Some(std::io::ErrorKind::ConnectionRefused), "{cause:?}");
        }
        other => panic!("{other:?}"),
    }
}
