//! Shutting a producer down with async sends in flight: every callback runs exactly once and
//! every thread the producer started is joined. Alone in its binary (and serialised) because
//! it counts the process's threads.

#![cfg(feature = "servers")]

mod producer_common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use producer_common::{
    assert_eventually, init_logging, name_server, thread_names, FakeBroker, Mode,
};
use rocketmq_blocking::client::{ClientError, Message, MqAdmin, Producer};
use rocketmq_blocking::protocol::codes::request_code;

const TOPIC: &str = "Shutdown";
const IN_FLIGHT: usize = 50;

static SERIAL: Mutex<()> = Mutex::new(());

type Calls = Arc<Mutex<HashMap<usize, Vec<Result<(), String>>>>>;

fn producer(namesrv: &str) -> Producer {
    Producer::builder("PG_SHUTDOWN")
        .name_server(namesrv)
        .route_refresh_interval(Duration::from_millis(100))
        .heartbeat_interval(Duration::from_millis(100))
        .send_timeout(Duration::from_secs(30))
        .start()
        .unwrap()
}

fn send_in_flight(producer: &Producer, broker: &FakeBroker) -> Calls {
    let calls: Calls = Arc::default();
    for i in 0..IN_FLIGHT {
        let calls = calls.clone();
        producer
            .send_async(&Message::new(TOPIC, format!("m{i}")), move |r| {
                calls
                    .lock()
                    .unwrap()
                    .entry(i)
                    .or_default()
                    .push(r.map(|_| ()).map_err(|e| e.to_string()));
            })
            .unwrap();
    }
    // Every request reached the silent broker: they are all waiting for an answer.
    assert_eventually(
        "every request at the broker",
        Duration::from_secs(5),
        || broker.count(request_code::SEND_MESSAGE_V2) >= IN_FLIGHT,
    );
    assert!(calls.lock().unwrap().is_empty(), "nothing answered yet");
    calls
}

#[track_caller]
fn assert_each_called_back_once_with_an_error(calls: &Calls) {
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), IN_FLIGHT, "callbacks that ran");
    for (i, results) in calls.iter() {
        assert_eq!(results.len(), 1, "callback {i} ran {} times", results.len());
        assert!(results[0].is_err(), "send {i} cannot have succeeded");
    }
}

/// The threads a producer starts itself: route refresh, heartbeat, async senders.
fn producer_threads() -> Vec<String> {
    thread_names()
        .into_iter()
        .filter(|n| n == "rmq-route" || n == "rmq-heartbeat" || n.starts_with("rmq-sender-"))
        .collect()
}

#[test]
fn shutdown_with_async_sends_in_flight() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[(TOPIC, 4)]);
    broker.set_mode(Mode::Silent);
    let baseline = thread_names().len();

    let producer = producer(&ns);
    let calls = send_in_flight(&producer, &broker);
    assert_eventually("a heartbeat", Duration::from_secs(5), || {
        broker.count(request_code::HEART_BEAT) > 0
    });
    let threads = producer_threads();
    assert!(
        threads.iter().any(|n| n == "rmq-route")
            && threads.iter().any(|n| n == "rmq-heartbeat")
            && threads.iter().any(|n| n.starts_with("rmq-sender-")),
        "{threads:?}"
    );
    let during = thread_names().len();

    producer.shutdown();
    // Callbacks ran before shutdown returned, each once, each with an error.
    assert_each_called_back_once_with_an_error(&calls);
    assert!(producer_threads().is_empty(), "{:?}", thread_names());
    assert_eq!(broker.count(request_code::UNREGISTER_CLIENT), 1);
    // The producer's own threads are joined; the servers' threads for its connections end
    // as the closes reach them.
    assert_eventually(
        "the thread count back at its baseline",
        Duration::from_secs(5),
        || thread_names().len() <= baseline,
    );
    println!(
        "threads: {baseline} before, {during} with the producer, {} after",
        thread_names().len()
    );
    // Sending after shutdown fails at once, without a callback.
    let error = producer
        .send_async(&Message::new(TOPIC, "late"), |_| panic!("must not run"))
        .unwrap_err();
    assert!(matches!(error, ClientError::ShutDown), "{error:?}");
}

#[test]
fn dropping_the_producer_does_the_same() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[(TOPIC, 4)]);
    broker.set_mode(Mode::Silent);
    let baseline = thread_names().len();

    let producer = producer(&ns);
    let calls = send_in_flight(&producer, &broker);
    drop(producer);
    assert_each_called_back_once_with_an_error(&calls);
    assert!(producer_threads().is_empty(), "{:?}", thread_names());
    assert_eventually(
        "the thread count back at its baseline",
        Duration::from_secs(5),
        || thread_names().len() <= baseline,
    );
}

/// A name server that reads requests and never answers, like a hung process: every route
/// query waits for its whole timeout. Returns its address and how many bytes it has read.
fn silent_name_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let received = Arc::new(AtomicUsize::new(0));
    let count = received.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                // Read (never answer) until the producer closes the connection.
                while let Ok(n @ 1..) = std::io::Read::read(&mut stream, &mut buf) {
                    count.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    (addr, received)
}

#[test]
fn shutdown_is_prompt_when_the_name_server_stops_answering() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init_logging();
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let topics: Vec<String> = (0..5).map(|i| format!("Hung{i}")).collect();
    let routes: Vec<(&str, i32)> = topics.iter().map(|t| (t.as_str(), 4)).collect();
    let _broker = FakeBroker::start("broker-a", &ns, &routes);
    let producer = Producer::builder("PG_HUNG_NAMESRV")
        .name_server(&ns)
        .route_refresh_interval(Duration::from_millis(100))
        .heartbeat_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    for topic in &topics {
        producer.send(&Message::new(topic.as_str(), "m")).unwrap();
    }

    // The name server hangs: each of the five route refreshes would wait its 3 s.
    let (silent, received) = silent_name_server();
    producer.update_name_server_address_list(&silent).unwrap();
    // A whole route query arrived: the refresh is now waiting for its answer.
    assert_eventually(
        "a route query at the silent name server",
        Duration::from_secs(5),
        || received.load(Ordering::SeqCst) > 100,
    );

    let begin = Instant::now();
    producer.shutdown();
    let took = begin.elapsed();
    println!("shutdown took {took:?} with the name server hung");
    // Waiting out the five queries would take 15 s; closing the connection fails the one in
    // flight at once.
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert!(producer_threads().is_empty(), "{:?}", thread_names());
}

#[test]
fn a_call_cut_short_by_our_shutdown_says_so() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init_logging();
    // A route query waits at a name server that never answers; another thread shuts the
    // client down.
    let (silent, received) = silent_name_server();
    let admin = Arc::new(
        MqAdmin::builder()
            .name_server(&silent)
            .timeout(Duration::from_secs(30))
            .start()
            .unwrap(),
    );
    let asking = admin.clone();
    let call = thread::spawn(move || asking.examine_topic_route_info("CutShort"));
    assert_eventually(
        "the route query at the silent name server",
        Duration::from_secs(5),
        || received.load(Ordering::SeqCst) > 50,
    );
    let begin = Instant::now();
    admin.shutdown();
    let error = call.join().unwrap().unwrap_err();
    // Our shutdown, not the name server's doing ("closed by peer"), and at once.
    assert!(matches!(error, ClientError::ShutDown), "{error:?}");
    assert!(
        begin.elapsed() < Duration::from_secs(5),
        "{:?}",
        begin.elapsed()
    );
}
