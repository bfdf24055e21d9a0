//! Load: many calls on one client, many connections on one server, a burst of oneway
//! requests. Tests here run one at a time ([`serial`]) because they count the process's
//! threads and file descriptors to check for leaks.

mod common;

use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::{RemotingCommand, SerializeType};
use rocketmq_blocking::remoting::{PoolConfig, RemotingClient};

#[test]
fn ten_thousand_sync_calls_from_32_threads_each_get_their_own_reply() {
    let _serial = serial();
    const THREADS: usize = 32;
    const CALLS: usize = 10_000;
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    let client = Arc::new(client());
    let done = Arc::new(AtomicUsize::new(0));
    let begin = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (client, addr, done) = (client.clone(), addr.clone(), done.clone());
            thread::spawn(move || {
                for i in (t..CALLS).step_by(THREADS) {
                    let st = if i % 2 == 0 {
                        SerializeType::Json
                    } else {
                        SerializeType::RocketMq
                    };
                    let body = format!("call {i} from thread {t}");
                    let req = RemotingCommand::new_request(ECHO)
                        .with_serialize_type(st)
                        .with_ext("call", i.to_string())
                        .with_body(body.clone());
                    let opaque = req.opaque;
                    let resp = client
                        .invoke_sync(Some(&addr), req, Duration::from_secs(20))
                        .unwrap_or_else(|e| panic!("call {i}: {e}"));
                    assert_eq!(resp.code, response_code::SUCCESS);
                    assert_eq!(resp.opaque, opaque, "call {i} got another call's reply");
                    assert_eq!(
                        resp.body,
                        body.as_bytes(),
                        "call {i} got another call's body"
                    );
                    assert_eq!(resp.ext_fields.get("call"), Some(i.to_string().as_str()));
                    assert_eq!(resp.serialize_type, st);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a caller thread failed");
    }
    assert_eq!(done.load(Ordering::SeqCst), CALLS);
    eprintln!(
        "{CALLS} sync calls from {THREADS} threads in {:?}",
        begin.elapsed()
    );
    assert_eq!(
        client.connected_addresses(),
        vec![addr.clone()],
        "one connection shared by all threads"
    );
    assert_eq!(server.connections().len(), 1);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn a_thousand_connections_to_one_server() {
    let _serial = serial();
    const CLIENTS: usize = 1000;
    const CALLER_THREADS: usize = 16;
    let threads_before = thread_count();
    let fds_before = fd_count();
    let server = echo_server(server_config());
    let addr = addr_of(&server);

    let begin = Instant::now();
    let clients: Arc<Vec<RemotingClient>> = Arc::new(
        (0..CLIENTS)
            .map(|_| {
                let mut config = client_config();
                config.common.callback_threads = 1;
                config.common.scan_interval = Duration::from_secs(1);
                RemotingClient::new(config).expect("client")
            })
            .collect(),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..CALLER_THREADS)
        .map(|t| {
            let (clients, addr, calls) = (clients.clone(), addr.clone(), calls.clone());
            thread::spawn(move || {
                for c in (t..CLIENTS).step_by(CALLER_THREADS) {
                    for k in 0..(c % 3 + 1) {
                        let body = format!("client {c} call {k}");
                        let req = RemotingCommand::new_request(ECHO).with_body(body.clone());
                        let opaque = req.opaque;
                        let resp = clients[c]
                            .invoke_sync(Some(&addr), req, Duration::from_secs(20))
                            .unwrap_or_else(|e| panic!("client {c} call {k}: {e}"));
                        assert_eq!(resp.opaque, opaque);
                        assert_eq!(resp.body, body.as_bytes());
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for c in callers {
        c.join().expect("a caller thread failed");
    }
    let expected_calls: usize = (0..CLIENTS).map(|c| c % 3 + 1).sum();
    assert_eq!(calls.load(Ordering::SeqCst), expected_calls);
    // Every client still holds its own connection.
    assert_eq!(server.connections().len(), CLIENTS);
    assert!(clients
        .iter()
        .all(|c| c.connected_addresses() == [addr.clone()]));
    eprintln!(
        "{CLIENTS} clients, {expected_calls} calls in {:?}; {} threads, {} fds open",
        begin.elapsed(),
        thread_count(),
        fd_count()
    );
    let refs: Vec<&RemotingClient> = clients.iter().collect();
    assert_no_pending(&refs, &[&server]);

    // Shut every client down (in parallel: each joins its threads).
    let stoppers: Vec<_> = (0..CALLER_THREADS)
        .map(|t| {
            let clients = clients.clone();
            thread::spawn(move || {
                for c in (t..CLIENTS).step_by(CALLER_THREADS) {
                    clients[c].shutdown();
                }
            })
        })
        .collect();
    for s in stoppers {
        s.join().unwrap();
    }
    assert_eventually(
        "the server to see every client go",
        Duration::from_secs(10),
        || server.connections().is_empty(),
    );
    drop(Arc::try_unwrap(clients).expect("no other owner"));
    // The server is still fine.
    let late = client();
    echo_ok(&late, &addr);
    late.shutdown();
    drop(late);
    assert_no_pending(&[], &[&server]);
    server.shutdown();
    drop(server);

    // Nothing leaked: every thread joined, every socket closed. The slack is for the test
    // harness starting the next test's thread meanwhile; a leak here would be thousands.
    assert_eventually(
        "threads back to the baseline",
        Duration::from_secs(5),
        || thread_count() <= threads_before + 4,
    );
    assert_eventually(
        "file descriptors back to the baseline",
        Duration::from_secs(5),
        || fd_count() <= fds_before + 4,
    );
}

#[test]
fn ten_thousand_oneways_then_an_abrupt_close_are_all_processed() {
    let _serial = serial();
    const ONEWAYS: usize = 10_000;
    let server = echo_server(server_config());
    let count = Arc::new(AtomicUsize::new(0));
    let bodies_ok = Arc::new(AtomicUsize::new(0));
    let (c, b) = (count.clone(), bodies_ok.clone());
    server
        .register_processor(
            COUNT,
            processor(move |_ctx, req| {
                assert!(req.is_oneway());
                if req.body
                    == format!("oneway {}", req.ext_fields.get("n").unwrap_or("?")).as_bytes()
                {
                    b.fetch_add(1, Ordering::SeqCst);
                }
                c.fetch_add(1, Ordering::SeqCst);
                Ok(Some(RemotingCommand::success()))
            }),
            PoolConfig {
                threads: 4,
                queue_capacity: ONEWAYS,
            },
        )
        .unwrap();
    let addr = addr_of(&server);

    let mut bytes = Vec::new();
    for n in 0..ONEWAYS {
        let st = if n % 3 == 0 {
            SerializeType::RocketMq
        } else {
            SerializeType::Json
        };
        let req = RemotingCommand::new_oneway(COUNT)
            .with_serialize_type(st)
            .with_ext("n", n.to_string())
            .with_body(format!("oneway {n}"));
        bytes.extend_from_slice(&req.encode().unwrap());
    }
    let mut stream = raw_connect(&addr);
    stream.write_all(&bytes).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    drop(stream);

    assert_eventually(
        "all 10,000 oneway requests",
        Duration::from_secs(20),
        || count.load(Ordering::SeqCst) >= ONEWAYS,
    );
    assert_eq!(count.load(Ordering::SeqCst), ONEWAYS);
    assert_eq!(bodies_ok.load(Ordering::SeqCst), ONEWAYS);
    assert_eventually("the connection to go", Duration::from_secs(2), || {
        server.connections().is_empty()
    });
    assert_no_pending(&[], &[&server]);
}

#[test]
fn async_calls_in_flight_all_complete_once() {
    let _serial = serial();
    const CALLS: usize = 2_000;
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    let client = client();
    let probes: Vec<_> = (0..CALLS).map(|_| CallbackProbe::new()).collect();
    let mut opaques = Vec::with_capacity(CALLS);
    for (i, p) in probes.iter().enumerate() {
        let req = RemotingCommand::new_request(ECHO).with_body(format!("async {i}"));
        opaques.push(req.opaque);
        client
            .invoke_async(Some(&addr), req, Duration::from_secs(20), p.callback())
            .unwrap();
    }
    assert_eventually("every callback", Duration::from_secs(20), || {
        probes.iter().all(|p| p.runs() >= 1)
    });
    for (i, p) in probes.iter().enumerate() {
        let resp = p.ran_once().0.unwrap();
        assert_eq!(resp.opaque, opaques[i]);
        assert_eq!(resp.body, format!("async {i}").as_bytes());
    }
    assert_no_pending(&[&client], &[&server]);
}
