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

/// A name server that reads each request and answers nothing until released; then it
/// closes every connection, and any later one at once.
struct HeldNameServer {
    addr: String,
    release: crossbeam_channel::Sender<()>,
}

impl HeldNameServer {
    fn start() -> HeldNameServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (release, released) = crossbeam_channel::bounded::<()>(0);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let released = released.clone();
                thread::spawn(move || {
                    let mut stream = stream;
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    // Held until released (the sender dropped), then closed.
                    let _ = released.recv();
                });
            }
        });
        HeldNameServer { addr, release }
    }

    /// Closes every connection, now and later.
    fn release(self) {
        drop(self.release);
    }
}

#[test]
fn send_async_never_blocks_on_the_network() {
    let namesrv = HeldNameServer::start();
    let producer = Producer::builder("PG_API_ASYNC")
        .name_server(&namesrv.addr)
        .api_timeout(Duration::from_secs(30))
        .start()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    // The route lookup cannot end while the name server holds it: send_async returning
    // proves the lookup is not on the caller's thread.
    let accepted = producer.send_async(&Message::new("T", "x"), move |r| tx.send(r).unwrap());
    assert!(accepted.is_ok(), "{accepted:?}");
    assert!(
        rx.try_recv().is_err(),
        "called back while the lookup is held"
    );
    assert_eq!(producer.in_flight(), 1);
    // Released, the lookups fail (connection closed), and the failure reaches the callback.
    namesrv.release();
    let error = rx.recv_timeout(WAIT).unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Remoting(_) | ClientError::NoNameServer { .. }
        ),
        "{error:?}"
    );
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
