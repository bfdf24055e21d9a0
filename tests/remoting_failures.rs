//! Calls that go wrong: remote errors, timeouts, lost connections, panicking or rejecting
//! processors, full pools, and oneway requests that must not be answered.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::{RemotingCommand, SerializeType};
use rocketmq_blocking::remoting::{
    AbortProcess, PoolConfig, ProcessorError, RemotingError, RemotingServer, RequestContext,
    RequestProcessor, RpcHook,
};

const SECOND: Duration = Duration::from_secs(1);

/// A server with ECHO, FAIL, PANIC, and BLOCK (waits on the returned gate).
fn failing_server() -> (Arc<RemotingServer>, Arc<Gate>) {
    let server = echo_server(server_config());
    server
        .register_processor(
            FAIL,
            processor(|_ctx, _req| Err("disk on fire".into())),
            PoolConfig::default(),
        )
        .unwrap();
    server
        .register_processor(
            PANIC,
            processor(|_ctx, req| {
                if req.body == b"panic" {
                    panic!("processor exploded");
                }
                Ok(Some(RemotingCommand::success().with_body("calm")))
            }),
            PoolConfig::default(),
        )
        .unwrap();
    let gate = Gate::new();
    let g = gate.clone();
    server
        .register_processor(
            BLOCK,
            processor(move |_ctx, _req| {
                g.wait(Duration::from_secs(10));
                Ok(Some(RemotingCommand::success().with_body("late")))
            }),
            PoolConfig::default(),
        )
        .unwrap();
    (server, gate)
}

#[test]
fn async_callback_runs_once_on_remote_error() {
    let (server, _gate) = failing_server();
    let addr = addr_of(&server);
    let client = client();
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        let probe = CallbackProbe::new();
        let req = RemotingCommand::new_request(FAIL).with_serialize_type(st);
        let opaque = req.opaque;
        client
            .invoke_async(Some(&addr), req, Duration::from_secs(5), probe.callback())
            .unwrap();
        let (result, _) = probe.expect_exactly_once(Duration::from_secs(5));
        let resp = result.expect("a remote error is a response, not a transport error");
        assert_eq!(resp.code, response_code::SYSTEM_ERROR);
        assert_eq!(resp.opaque, opaque);
        assert!(resp.is_response());
        assert!(
            resp.remark
                .as_deref()
                .unwrap_or("")
                .contains("disk on fire"),
            "{:?}",
            resp.remark
        );
    }
    // And the same by sync call.
    let resp = client
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(FAIL),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(resp.code, response_code::SYSTEM_ERROR);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn async_callback_runs_once_on_timeout() {
    let (server, gate) = failing_server();
    let addr = addr_of(&server);
    let client = client(); // scan_interval 200 ms
    let probe = CallbackProbe::new();
    let timeout = Duration::from_millis(300);
    let begin = Instant::now();
    client
        .invoke_async(
            Some(&addr),
            RemotingCommand::new_request(BLOCK),
            timeout,
            probe.callback(),
        )
        .unwrap();
    assert_eq!(client.pending_requests(), 1);
    assert_eventually("the callback to run", Duration::from_secs(5), || {
        probe.runs() >= 1
    });
    let (result, at) = probe.results.lock().unwrap()[0].clone();
    let took = at - begin;
    match result {
        Err(RemotingError::Timeout {
            addr: a,
            timeout: t,
        }) => {
            assert_eq!(a, addr);
            // What was left of the timeout after connecting (a loopback connect is quick;
            // the bound only says it was not the whole timeout).
            assert!(
                t <= timeout && t + Duration::from_secs(1) > timeout,
                "{t:?}"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Expired by the janitor: after begin + timeout + 1 s, within one scan or so of it.
    assert!(took >= timeout, "timed out early, after {took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "timed out late, after {took:?}"
    );
    assert_eq!(
        client.pending_requests(),
        0,
        "the expired future must leave the table"
    );

    // Now the late response arrives; it must not run the callback again.
    gate.open();
    let (result, _) = probe.expect_exactly_once(SECOND);
    assert!(result.unwrap_err().is_timeout());
    // The client still works (the late response was dropped, not misdelivered).
    echo_ok(&client, &addr);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn sync_timeout_removes_the_entry_and_closes_the_connection() {
    let (server, gate) = failing_server();
    let addr = addr_of(&server);
    let client = client();
    echo_ok(&client, &addr);
    let begin = Instant::now();
    let err = client
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(BLOCK),
            Duration::from_millis(300),
        )
        .unwrap_err();
    let took = begin.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains(&addr), "{err}");
    assert!(
        took >= Duration::from_millis(290) && took < SECOND,
        "took {took:?}"
    );
    assert_eq!(client.pending_requests(), 0);
    // close_socket_if_timeout is on by default.
    assert_eventually(
        "the timed-out connection to close",
        Duration::from_secs(2),
        || client.connected_addresses().is_empty(),
    );
    gate.open();
    echo_ok(&client, &addr);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn async_callback_runs_once_on_connection_loss() {
    let (server, gate) = failing_server();
    let addr = addr_of(&server);
    let client = client();
    let probe = CallbackProbe::new();
    client
        .invoke_async(
            Some(&addr),
            RemotingCommand::new_request(BLOCK),
            Duration::from_secs(10),
            probe.callback(),
        )
        .unwrap();
    assert_eventually("the processor to start", Duration::from_secs(2), || {
        gate.entered() == 1
    });

    // shutdown() joins the processor pools, so run it elsewhere and open the gate afterwards.
    let killed = Instant::now();
    let s = server.clone();
    let stopper = thread::spawn(move || s.shutdown());
    assert_eventually("the callback to run", SECOND, || probe.runs() >= 1);
    let failed_after = killed.elapsed();
    gate.open();
    stopper.join().unwrap();
    let (result, _) = probe.expect_exactly_once(SECOND);
    match result {
        Err(RemotingError::ConnectionClosed { addr: a, .. }) => assert_eq!(a, addr),
        other => panic!("expected ConnectionClosed, got {other:?}"),
    }
    assert!(failed_after < SECOND, "failed after {failed_after:?}");
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn sync_calls_fail_fast_when_the_server_shuts_down() {
    let (server, gate) = failing_server();
    let addr = addr_of(&server);
    let client = Arc::new(client());
    let mut callers = Vec::new();
    for _ in 0..3 {
        let (c, a) = (client.clone(), addr.clone());
        callers.push(thread::spawn(move || {
            let r = c.invoke_sync(
                Some(&a),
                RemotingCommand::new_request(BLOCK),
                Duration::from_secs(10),
            );
            (r, Instant::now())
        }));
    }
    assert_eventually("the processors to start", Duration::from_secs(2), || {
        gate.entered() == 3
    });
    assert_eq!(client.pending_requests(), 3);
    let killed = Instant::now();
    let s = server.clone();
    let stopper = thread::spawn(move || s.shutdown());
    let results: Vec<_> = callers.into_iter().map(|t| t.join().unwrap()).collect();
    gate.open();
    stopper.join().unwrap();
    for (result, at) in results {
        let after = at.saturating_duration_since(killed);
        assert!(
            after < SECOND,
            "a pending sync call failed only after {after:?}"
        );
        match result {
            Err(RemotingError::ConnectionClosed { addr: a, .. }) => assert_eq!(a, addr),
            other => panic!("expected ConnectionClosed, got {other:?}"),
        }
    }
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn sync_call_fails_fast_when_a_raw_server_drops_the_socket() {
    init_logging();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let raw = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let req = read_command(&mut stream).expect("the request");
        let closed = Instant::now();
        drop(stream); // dies without answering
        (req, closed)
    });
    let client = client();
    let req = RemotingCommand::new_request(ECHO).with_body("x");
    let opaque = req.opaque;
    let result = client.invoke_sync(Some(&addr), req, Duration::from_secs(10));
    let failed = Instant::now();
    let (seen, closed) = raw.join().unwrap();
    assert_eq!(seen.opaque, opaque);
    let after = failed.saturating_duration_since(closed);
    assert!(after < SECOND, "failed {after:?} after the socket closed");
    assert!(
        matches!(&result, Err(RemotingError::ConnectionClosed { .. })),
        "{result:?}"
    );
    assert_eq!(client.pending_requests(), 0);
}

#[test]
fn panicking_processor_answers_system_error_and_the_server_keeps_serving() {
    let (server, _gate) = failing_server();
    let addr = addr_of(&server);
    let client = client();
    for _ in 0..3 {
        let req = RemotingCommand::new_request(PANIC).with_body("panic");
        let opaque = req.opaque;
        let resp = client
            .invoke_sync(Some(&addr), req, Duration::from_secs(5))
            .unwrap();
        assert_eq!(resp.code, response_code::SYSTEM_ERROR);
        assert_eq!(resp.opaque, opaque);
        assert!(
            resp.remark
                .as_deref()
                .unwrap_or("")
                .contains("processor exploded"),
            "{:?}",
            resp.remark
        );
        // The same processor (and its pool) and others still work.
        let resp = client
            .invoke_sync(
                Some(&addr),
                RemotingCommand::new_request(PANIC).with_body("fine"),
                Duration::from_secs(5),
            )
            .unwrap();
        assert_eq!(resp.code, response_code::SUCCESS);
        assert_eq!(resp.body, b"calm");
        echo_ok(&client, &addr);
    }
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn unknown_code_is_not_supported() {
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    let client = client();
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        let req = RemotingCommand::new_request(UNKNOWN).with_serialize_type(st);
        let opaque = req.opaque;
        let resp = client
            .invoke_sync(Some(&addr), req, Duration::from_secs(5))
            .unwrap();
        assert_eq!(resp.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(
            resp.remark.as_deref(),
            Some(" request type 4242 not supported")
        );
        assert_eq!(resp.opaque, opaque);
        assert!(resp.is_response());
    }
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn default_processor_serves_unregistered_codes() {
    let server = echo_server(server_config());
    server
        .register_default_processor(
            processor(|_ctx, req| {
                Ok(Some(
                    RemotingCommand::success().with_body(format!("default:{}", req.code)),
                ))
            }),
            PoolConfig::default(),
        )
        .unwrap();
    let addr = addr_of(&server);
    let client = client();
    let resp = client
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(UNKNOWN),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    assert_eq!(resp.body, b"default:4242");
    echo_ok(&client, &addr); // registered codes still go to their own processor
    assert_no_pending(&[&client], &[&server]);
}

struct Rejecting {
    called: AtomicUsize,
}

impl RequestProcessor for Rejecting {
    fn process_request(&self, _ctx: &RequestContext, _req: RemotingCommand) -> ProcResult {
        self.called.fetch_add(1, Ordering::SeqCst);
        Ok(Some(RemotingCommand::success()))
    }
    fn reject_request(&self) -> bool {
        true
    }
}

#[test]
fn rejecting_processor_answers_system_busy() {
    let server = echo_server(server_config());
    let rejecting = Arc::new(Rejecting {
        called: AtomicUsize::new(0),
    });
    struct Shared(Arc<Rejecting>);
    impl RequestProcessor for Shared {
        fn process_request(
            &self,
            ctx: &RequestContext,
            req: RemotingCommand,
        ) -> Result<Option<RemotingCommand>, ProcessorError> {
            self.0.process_request(ctx, req)
        }
        fn reject_request(&self) -> bool {
            self.0.reject_request()
        }
    }
    server
        .register_processor(BLOCK, Shared(rejecting.clone()), PoolConfig::default())
        .unwrap();
    let addr = addr_of(&server);
    let client = client();
    let req = RemotingCommand::new_request(BLOCK);
    let opaque = req.opaque;
    let resp = client
        .invoke_sync(Some(&addr), req, Duration::from_secs(5))
        .unwrap();
    assert_eq!(resp.code, response_code::SYSTEM_BUSY);
    assert_eq!(resp.opaque, opaque);
    let remark = resp.remark.unwrap_or_default();
    assert!(remark.starts_with("[REJECTREQUEST]"), "{remark:?}");
    assert_eq!(
        rejecting.called.load(Ordering::SeqCst),
        0,
        "a rejected request must not be processed"
    );
    echo_ok(&client, &addr);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn full_pool_answers_overload() {
    let server = echo_server(server_config());
    let gate = Gate::new();
    let g = gate.clone();
    server
        .register_processor(
            BLOCK,
            processor(move |_ctx, _req| {
                g.wait(Duration::from_secs(10));
                Ok(Some(RemotingCommand::success()))
            }),
            PoolConfig {
                threads: 1,
                queue_capacity: 1,
            },
        )
        .unwrap();
    let addr = addr_of(&server);
    let client = client();
    const CALLS: usize = 20;
    let probes: Vec<_> = (0..CALLS).map(|_| CallbackProbe::new()).collect();
    for p in &probes {
        client
            .invoke_async(
                Some(&addr),
                RemotingCommand::new_request(BLOCK),
                Duration::from_secs(10),
                p.callback(),
            )
            .unwrap();
    }
    // While the worker blocks, at most 2 requests fit (1 running, 1 queued): the rest are
    // turned away at once.
    let done = || probes.iter().filter(|p| p.runs() > 0).count();
    assert_eventually("the overload replies", Duration::from_secs(5), || {
        done() >= CALLS - 2
    });
    gate.open();
    assert_eventually("every callback", Duration::from_secs(5), || done() == CALLS);
    let (mut ok, mut overload) = (0, 0);
    for p in &probes {
        let (result, _) = p.ran_once();
        let resp = result.unwrap();
        match resp.code {
            response_code::SUCCESS => ok += 1,
            response_code::SYSTEM_BUSY => {
                let remark = resp.remark.unwrap_or_default();
                assert!(remark.starts_with("[OVERLOAD]"), "{remark:?}");
                overload += 1;
            }
            other => panic!("unexpected code {other}"),
        }
    }
    assert!(overload >= CALLS - 2, "only {overload} overload replies");
    assert!(ok >= 1, "no request was served");
    assert_eq!(ok + overload, CALLS);
    echo_ok(&client, &addr);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn oneway_requests_never_get_a_reply() {
    let (server, _gate) = failing_server();
    let addr = addr_of(&server);
    let served = Arc::new(AtomicUsize::new(0));
    let s = served.clone();
    server
        .register_processor(
            COUNT,
            processor(move |_ctx, _req| {
                s.fetch_add(1, Ordering::SeqCst);
                Ok(Some(
                    RemotingCommand::success().with_body("must not be sent"),
                ))
            }),
            PoolConfig::default(),
        )
        .unwrap();
    // Counts requests whose processing finished (the hook runs after the processor, also for
    // oneway requests), so we know every oneway was handled before sending the normal one.
    struct Finished(AtomicUsize);
    impl RpcHook for Finished {
        fn do_before_request(&self, _: &str, _: &mut RemotingCommand) -> Result<(), AbortProcess> {
            Ok(())
        }
        fn do_after_response(&self, _: &str, _: &RemotingCommand, _: &mut RemotingCommand) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let finished = Arc::new(Finished(AtomicUsize::new(0)));
    server.register_rpc_hook(finished.clone());
    let mut stream = raw_connect(&addr);
    let mut bytes = Vec::new();
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        // Each of these would be answered if it were not oneway.
        for code in [COUNT, ECHO, FAIL, PANIC, UNKNOWN] {
            let req = RemotingCommand::new_oneway(code)
                .with_serialize_type(st)
                .with_body("panic");
            bytes.extend_from_slice(&req.encode().unwrap());
        }
    }
    stream.write_all(&bytes).unwrap();
    assert_eventually(
        "the oneway requests to be processed",
        Duration::from_secs(5),
        || finished.0.load(Ordering::SeqCst) == 8,
    );
    assert_eq!(served.load(Ordering::SeqCst), 2);
    let req = RemotingCommand::new_request(ECHO).with_body("normal");
    stream.write_all(&req.encode().unwrap()).unwrap();
    let first = read_command(&mut stream).expect("a reply to the normal request");
    assert_eq!(
        first.opaque, req.opaque,
        "the first frame back must answer the normal request: {first:?}"
    );
    assert!(first.is_response());
    assert_eq!(first.body, b"normal");

    // And nothing else arrives.
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 1];
    match std::io::Read::read(&mut stream, &mut buf) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!("expected silence, got {other:?}"),
    }
    stream.shutdown(Shutdown::Both).unwrap();
    assert_eventually("the raw connection to go", Duration::from_secs(2), || {
        server.connections().is_empty()
    });
    assert_no_pending(&[], &[&server]);
}

#[test]
fn shut_down_client_refuses_calls() {
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    let client = client();
    echo_ok(&client, &addr);
    client.shutdown();
    let err = client
        .invoke_sync(Some(&addr), RemotingCommand::new_request(ECHO), SECOND)
        .unwrap_err();
    assert!(matches!(err, RemotingError::Shutdown), "{err:?}");
    let probe = CallbackProbe::new();
    assert!(client
        .invoke_async(
            Some(&addr),
            RemotingCommand::new_request(ECHO),
            SECOND,
            probe.callback()
        )
        .is_err());
    assert!(client
        .invoke_oneway(Some(&addr), RemotingCommand::new_request(ECHO), SECOND)
        .is_err());
    assert_eq!(probe.runs(), 0);
    client.shutdown(); // twice is fine
    assert_eventually(
        "the server to see the client go",
        Duration::from_secs(2),
        || server.connections().is_empty(),
    );
    assert_no_pending(&[&client], &[&server]);
}
