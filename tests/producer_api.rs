//! The producer as a program meets it: settings checked at start, async sends that never
//! block on the network and always call back, flush and the in-flight count, handles that
//! print.

#![cfg(feature = "servers")]

mod producer_common;

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use producer_common::{name_server, FakeBroker, Mode};
use rocketmq_blocking::client::{ClientError, Message, Producer};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn start_checks_addresses_and_the_group() {
    for bad in [
        "localhost",
        "10.0.0.1:port",
        "10.0.0.1:0;10.0.0.2:9876",
        ":9876",
    ] {
        let error = Producer::builder("PG_API")
            .name_server(bad)
            .start()
            .unwrap_err();
        match &error {
            ClientError::InvalidAddress { reason, .. } => {
                assert!(reason.contains("expected host:port"), "{bad}: {error}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    for group in ["", "bad group", "DEFAULT_PRODUCER"] {
        let error = Producer::builder(group)
            .name_server("127.0.0.1:9876")
            .start()
            .unwrap_err();
        assert!(
            matches!(error, ClientError::InvalidGroup { .. }),
            "{group:?}: {error:?}"
        );
    }
}

/// A name server that reads requests and never answers; counts the bytes it read.
fn silent_name_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let read = Arc::new(AtomicUsize::new(0));
    let count = read.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    count.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    (addr, read)
}

#[test]
fn send_async_never_blocks_on_the_network() {
    let (silent, _read) = silent_name_server();
    let producer = Producer::builder("PG_API_ASYNC")
        .name_server(&silent)
        .api_timeout(Duration::from_millis(500))
        .start()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    // The route lookup would wait 500 ms for a name server that never answers. send_async
    // returns before it is done: accepted, and nothing reported yet. (Done on the caller's
    // thread, the lookup would have failed first, and the callback would have run or the
    // call returned the error.)
    let accepted = producer.send_async(&Message::new("T", "x"), move |r| tx.send(r).unwrap());
    assert!(accepted.is_ok(), "{accepted:?}");
    assert!(
        rx.try_recv().is_err(),
        "called back before the lookup could end"
    );
    assert_eq!(producer.in_flight(), 1);
    // The lookup's failure reaches the callback.
    let error = rx.recv_timeout(WAIT).unwrap().unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    producer.flush(WAIT).unwrap();
    assert_eq!(producer.in_flight(), 0);
    // Invalid input is still refused at once, without a callback.
    let refused = producer.send_async(&Message::new("T", Vec::new()), |_| {
        panic!("the callback of a refused send must not run")
    });
    assert!(
        matches!(refused, Err(ClientError::EmptyBody)),
        "{refused:?}"
    );
}

#[test]
fn flush_waits_for_every_callback_or_says_how_many_are_left() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let broker = FakeBroker::start("broker-a", &ns, &[("Flush", 4)]);
    let producer = Producer::builder("PG_API_FLUSH")
        .name_server(&ns)
        .send_timeout(Duration::from_secs(1))
        .start()
        .unwrap();
    producer.send(&Message::new("Flush", "warm-up")).unwrap();
    broker.set_mode(Mode::Silent);
    let called = Arc::new(AtomicUsize::new(0));
    for i in 0..20 {
        let called = called.clone();
        producer
            .send_async(&Message::new("Flush", format!("m{i}")), move |_| {
                called.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    // The broker answers nothing: no send can end before its 1 s budget.
    match producer.flush(Duration::from_millis(50)) {
        Err(ClientError::FlushTimeout { in_flight, .. }) => assert!(in_flight > 0),
        other => panic!("{other:?}"),
    }
    // Each ends with its timeout (plus the janitor's grace); flush sees every callback.
    producer.flush(WAIT).unwrap();
    assert_eq!(called.load(Ordering::SeqCst), 20);
    assert_eq!(producer.in_flight(), 0);
}

#[test]
fn handles_print_what_they_are() {
    let namesrv = name_server();
    let ns = namesrv.local_addr().to_string();
    let producer = Producer::builder("PG_API_DEBUG")
        .name_server(&ns)
        .start()
        .unwrap();
    let printed = format!("{producer:?}");
    assert!(printed.contains("PG_API_DEBUG"), "{printed}");
    assert!(printed.contains(producer.client_id()), "{printed}");
    let builder = format!("{:?}", Producer::builder("PG_X"));
    assert!(builder.contains("PG_X"), "{builder}");
}
