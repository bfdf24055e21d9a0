//! Calls that go right: round trips in both header types, server → client calls, hooks,
//! connection events, permits, name-server selection and reconnecting.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::{
    LanguageCode, RemotingCommand, SerializeType, RPC_ONEWAY, RPC_RESPONSE,
};
use rocketmq_blocking::remoting::{
    AbortProcess, ConnectionEventKind, PoolConfig, RemotingClient, RemotingError, RemotingServer,
    RequestContext, RpcHook,
};

const TYPES: [SerializeType; 2] = [SerializeType::Json, SerializeType::RocketMq];
const SECOND: Duration = Duration::from_secs(1);

/// Checks a response to an ECHO request sent with opaque `opaque`, type `st`, ext k1=v1, body.
#[track_caller]
fn check_echo(resp: &RemotingCommand, opaque: i32, st: SerializeType, body: &[u8]) {
    assert_eq!(resp.code, response_code::SUCCESS);
    assert_eq!(
        resp.opaque, opaque,
        "the response must carry the request's opaque"
    );
    assert!(resp.is_response());
    assert_eq!(resp.flag & RPC_RESPONSE, RPC_RESPONSE);
    assert_eq!(resp.flag & RPC_ONEWAY, 0);
    assert_eq!(
        resp.serialize_type, st,
        "the response must be in the request's header type"
    );
    assert_eq!(resp.ext_fields.get("k1"), Some("v1"));
    assert_eq!(
        resp.ext_fields.get("k2"),
        Some("a value with spaces, \u{1} and ü")
    );
    assert_eq!(
        resp.ext_fields.get("seen-type"),
        Some(st.name()),
        "the server saw another header type"
    );
    assert_eq!(resp.ext_fields.get("seen-oneway"), Some("false"));
    assert_eq!(resp.body, body);
}

fn echo_request(st: SerializeType, body: &[u8]) -> RemotingCommand {
    RemotingCommand::new_request(ECHO)
        .with_serialize_type(st)
        .with_ext("k1", "v1")
        .with_ext("k2", "a value with spaces, \u{1} and ü")
        .with_body(body.to_vec())
}

#[test]
fn sync_round_trip_in_both_header_types() {
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    let client = client();
    for st in TYPES {
        for body in [
            &b""[..],
            b"hello",
            &[0u8, 255, 1, 2][..],
            &vec![7u8; 100_000][..],
        ] {
            let req = echo_request(st, body);
            let opaque = req.opaque;
            let resp = client
                .invoke_sync(Some(&addr), req, Duration::from_secs(5))
                .unwrap();
            check_echo(&resp, opaque, st, body);
        }
    }
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn async_round_trip_in_both_header_types_runs_callback_once() {
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    let client = client();
    for st in TYPES {
        let probe = CallbackProbe::new();
        let req = echo_request(st, b"async body");
        let opaque = req.opaque;
        client
            .invoke_async(Some(&addr), req, Duration::from_secs(5), probe.callback())
            .unwrap();
        let (result, _) = probe.expect_exactly_once(Duration::from_secs(5));
        check_echo(&result.unwrap(), opaque, st, b"async body");
    }
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn oneway_reaches_the_server_in_both_header_types() {
    let server = echo_server(server_config());
    let seen = Arc::new(Mutex::new(Vec::<RemotingCommand>::new()));
    let s = seen.clone();
    server
        .register_processor(
            COUNT,
            processor(move |_ctx, req| {
                s.lock().unwrap().push(req);
                // A reply to a oneway request must be suppressed by the transport.
                Ok(Some(RemotingCommand::success()))
            }),
            PoolConfig::default(),
        )
        .unwrap();
    let addr = addr_of(&server);
    let client = client();
    for st in TYPES {
        let req = RemotingCommand::new_request(COUNT)
            .with_serialize_type(st)
            .with_ext("k", "v")
            .with_body("one");
        client
            .invoke_oneway(Some(&addr), req, Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            client.pending_requests(),
            0,
            "a oneway call must not wait for a response"
        );
    }
    assert_eventually("both oneway requests", Duration::from_secs(5), || {
        seen.lock().unwrap().len() == 2
    });
    let seen = seen.lock().unwrap();
    // The processor's pool may run the two in either order.
    for st in TYPES {
        let req = seen
            .iter()
            .find(|r| r.serialize_type == st)
            .unwrap_or_else(|| panic!("no oneway request in {st:?} arrived"));
        assert!(req.is_oneway());
        assert!(!req.is_response());
        assert_eq!(req.ext_fields.get("k"), Some("v"));
        assert_eq!(req.body, b"one");
    }
    // The connection is still good for normal calls afterwards.
    echo_ok(&client, &addr);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn server_calls_the_client_sync_async_and_oneway() {
    let server = echo_server(server_config());
    let addr = addr_of(&server);
    let client = client();
    let oneways = Arc::new(AtomicUsize::new(0));
    let (o, expected_peer) = (oneways.clone(), addr.clone());
    client
        .register_processor(
            request_code::NOTIFY_CONSUMER_IDS_CHANGED,
            processor(move |ctx, req| {
                assert_eq!(
                    ctx.remote_addr(),
                    expected_peer,
                    "the context names the server"
                );
                if req.is_oneway() {
                    o.fetch_add(1, Ordering::SeqCst);
                }
                let mut body = b"pong:".to_vec();
                body.extend_from_slice(&req.body);
                Ok(Some(
                    RemotingCommand::success()
                        .with_body(body)
                        .with_ext("from", "client"),
                ))
            }),
            PoolConfig::default(),
        )
        .unwrap();
    echo_ok(&client, &addr); // makes the connection
    let conns = server.connections();
    assert_eq!(conns.len(), 1);
    let conn = &conns[0];

    for st in TYPES {
        let req = RemotingCommand::new_request(request_code::NOTIFY_CONSUMER_IDS_CHANGED)
            .with_serialize_type(st)
            .with_body("ping");
        let opaque = req.opaque;
        let resp = server
            .invoke_sync(conn, req, Duration::from_secs(5))
            .unwrap();
        assert_eq!(resp.code, response_code::SUCCESS);
        assert_eq!(resp.opaque, opaque);
        assert!(resp.is_response());
        assert_eq!(resp.serialize_type, st);
        assert_eq!(resp.body, b"pong:ping");
        assert_eq!(resp.ext_fields.get("from"), Some("client"));
    }

    let probe = CallbackProbe::new();
    let req =
        RemotingCommand::new_request(request_code::NOTIFY_CONSUMER_IDS_CHANGED).with_body("async");
    server
        .invoke_async(conn, req, Duration::from_secs(5), probe.callback())
        .unwrap();
    let (result, _) = probe.expect_exactly_once(Duration::from_secs(5));
    assert_eq!(result.unwrap().body, b"pong:async");

    let req =
        RemotingCommand::new_request(request_code::NOTIFY_CONSUMER_IDS_CHANGED).with_body("oneway");
    server
        .invoke_oneway(conn, req, Duration::from_secs(5))
        .unwrap();
    assert_eventually(
        "the client to process the oneway",
        Duration::from_secs(5),
        || oneways.load(Ordering::SeqCst) == 1,
    );

    // A code the client does not serve.
    let resp = server
        .invoke_sync(
            conn,
            RemotingCommand::new_request(UNKNOWN),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(resp.code, response_code::REQUEST_CODE_NOT_SUPPORTED);

    assert_no_pending(&[&client], &[&server]);
}

struct ClientHook {
    seen_responses: Mutex<Vec<(i32, Option<String>)>>,
    before: AtomicUsize,
}

impl RpcHook for ClientHook {
    fn do_before_request(
        &self,
        _addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess> {
        self.before.fetch_add(1, Ordering::SeqCst);
        request.ext_fields.insert("AccessKey", "test-ak");
        Ok(())
    }
    fn do_after_response(
        &self,
        _addr: &str,
        request: &RemotingCommand,
        response: &mut RemotingCommand,
    ) {
        assert_eq!(request.ext_fields.get("AccessKey"), Some("test-ak"));
        self.seen_responses.lock().unwrap().push((
            response.opaque,
            response.ext_fields.get("server-hook").map(String::from),
        ));
        response.ext_fields.insert("client-after", "yes");
    }
}

struct ServerHook {
    before: Mutex<Vec<(i32, Option<String>)>>,
    after: AtomicUsize,
}

impl RpcHook for ServerHook {
    fn do_before_request(
        &self,
        _addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess> {
        self.before.lock().unwrap().push((
            request.code,
            request.ext_fields.get("AccessKey").map(String::from),
        ));
        Ok(())
    }
    fn do_after_response(
        &self,
        _addr: &str,
        _request: &RemotingCommand,
        response: &mut RemotingCommand,
    ) {
        self.after.fetch_add(1, Ordering::SeqCst);
        response.ext_fields.insert("server-hook", "ran");
    }
}

#[test]
fn rpc_hooks_run_around_calls_on_both_sides() {
    let server = echo_server(server_config());
    let server_hook = Arc::new(ServerHook {
        before: Mutex::new(Vec::new()),
        after: AtomicUsize::new(0),
    });
    server.register_rpc_hook(server_hook.clone());
    let addr = addr_of(&server);
    let client = client();
    let client_hook = Arc::new(ClientHook {
        seen_responses: Mutex::new(Vec::new()),
        before: AtomicUsize::new(0),
    });
    client.register_rpc_hook(client_hook.clone());

    // Sync: the processor sees the field the client hook added (the echo returns it).
    let req = RemotingCommand::new_request(ECHO).with_body("x");
    let opaque = req.opaque;
    let resp = client
        .invoke_sync(Some(&addr), req, Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        resp.ext_fields.get("AccessKey"),
        Some("test-ak"),
        "the server did not see the hook's field"
    );
    assert_eq!(
        resp.ext_fields.get("server-hook"),
        Some("ran"),
        "the server hook did not see the response"
    );
    assert_eq!(
        resp.ext_fields.get("client-after"),
        Some("yes"),
        "the client hook did not see the response"
    );
    assert_eq!(
        client_hook.seen_responses.lock().unwrap().as_slice(),
        &[(opaque, Some("ran".to_string()))]
    );

    // Async: the same, with the hook running before the callback.
    let probe = CallbackProbe::new();
    let req = RemotingCommand::new_request(ECHO);
    let opaque = req.opaque;
    client
        .invoke_async(Some(&addr), req, Duration::from_secs(5), probe.callback())
        .unwrap();
    let resp = probe.expect_exactly_once(Duration::from_secs(5)).0.unwrap();
    assert_eq!(resp.ext_fields.get("AccessKey"), Some("test-ak"));
    assert_eq!(resp.ext_fields.get("client-after"), Some("yes"));
    assert_eq!(
        client_hook.seen_responses.lock().unwrap().last(),
        Some(&(opaque, Some("ran".to_string())))
    );

    // Oneway: the before hook runs on both sides; nobody sees a response.
    client
        .invoke_oneway(
            Some(&addr),
            RemotingCommand::new_request(ECHO),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eventually(
        "the server hook to see 3 requests",
        Duration::from_secs(5),
        || server_hook.before.lock().unwrap().len() == 3,
    );
    assert_eq!(client_hook.before.load(Ordering::SeqCst), 3);
    assert_eq!(client_hook.seen_responses.lock().unwrap().len(), 2);
    for (code, ak) in server_hook.before.lock().unwrap().iter() {
        assert_eq!(*code, ECHO);
        assert_eq!(
            ak.as_deref(),
            Some("test-ak"),
            "the server hook runs after the client hook's field arrived"
        );
    }
    assert_eq!(server_hook.after.load(Ordering::SeqCst), 3);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn events_connect_then_close() {
    let server = RemotingServer::new(server_config()).unwrap();
    server
        .register_processor(ECHO, echo, PoolConfig::default())
        .unwrap();
    let events = EventLog::new();
    server.set_channel_event_listener(events.clone()).unwrap();
    server.start().unwrap();
    let addr = addr_of(&server);

    let client = client();
    let client_events = EventLog::new();
    client
        .set_channel_event_listener(client_events.clone())
        .unwrap();
    echo_ok(&client, &addr);
    let conns = server.connections();
    assert_eq!(conns.len(), 1);
    let peer = conns[0].remote_addr().to_string();
    assert_eventually("a Connect event", Duration::from_secs(2), || {
        events.kinds_for(&peer) == [ConnectionEventKind::Connect]
    });
    // Events are delivered on the client's event thread: eventually.
    assert_eventually("the client's Connect event", Duration::from_secs(2), || {
        client_events.kinds_for(&addr) == [ConnectionEventKind::Connect]
    });

    client.shutdown();
    assert_eventually(
        "Connect then Close on the server",
        Duration::from_secs(2),
        || events.kinds_for(&peer) == [ConnectionEventKind::Connect, ConnectionEventKind::Close],
    );
    assert_eventually(
        "the server to forget the connection",
        Duration::from_secs(2),
        || server.connections().is_empty(),
    );
    assert_eq!(
        client_events.kinds_for(&addr),
        [ConnectionEventKind::Connect, ConnectionEventKind::Close]
    );
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn idle_connection_is_closed_with_an_idle_event() {
    let mut config = server_config();
    config.common.idle_timeout = Duration::from_millis(500);
    config.common.scan_interval = Duration::from_millis(200);
    let server = RemotingServer::new(config).unwrap();
    server
        .register_processor(ECHO, echo, PoolConfig::default())
        .unwrap();
    let events = EventLog::new();
    server.set_channel_event_listener(events.clone()).unwrap();
    server.start().unwrap();
    let addr = addr_of(&server);

    let client = client();
    echo_ok(&client, &addr);
    let last_traffic = Instant::now();
    let peer = server.connections()[0].remote_addr().to_string();
    assert_eventually("Idle then Close", Duration::from_secs(3), || {
        events.kinds_for(&peer)
            == [
                ConnectionEventKind::Connect,
                ConnectionEventKind::Idle,
                ConnectionEventKind::Close,
            ]
    });
    assert!(
        last_traffic.elapsed() >= Duration::from_millis(450),
        "closed as idle after only {:?}",
        last_traffic.elapsed()
    );
    assert_eventually(
        "the client to see the close",
        Duration::from_secs(2),
        || client.connected_addresses().is_empty(),
    );
    assert!(server.connections().is_empty());
    // The next call reconnects.
    echo_ok(&client, &addr);
    assert_eq!(server.connections().len(), 1);
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn busy_connection_is_not_closed_as_idle() {
    let mut config = server_config();
    // Traffic every 100 ms against a 1 s idle timeout: a margin a loaded machine keeps.
    config.common.idle_timeout = Duration::from_millis(1000);
    config.common.scan_interval = Duration::from_millis(100);
    let server = RemotingServer::new(config).unwrap();
    server
        .register_processor(ECHO, echo, PoolConfig::default())
        .unwrap();
    let events = EventLog::new();
    server.set_channel_event_listener(events.clone()).unwrap();
    server.start().unwrap();
    let addr = addr_of(&server);
    let client = client();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        echo_ok(&client, &addr);
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.connections().len(), 1);
    assert!(
        events
            .all()
            .iter()
            .all(|e| e.kind == ConnectionEventKind::Connect),
        "{:?}",
        events.all()
    );
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn async_permits_run_out_with_too_many_requests() {
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
            PoolConfig::default(),
        )
        .unwrap();
    let addr = addr_of(&server);
    let mut config = client_config();
    config.common.async_permits = 1;
    let client = RemotingClient::new(config).unwrap();

    let first = CallbackProbe::new();
    client
        .invoke_async(
            Some(&addr),
            RemotingCommand::new_request(BLOCK),
            Duration::from_secs(5),
            first.callback(),
        )
        .unwrap();
    assert_eventually(
        "the slow processor to start",
        Duration::from_secs(2),
        || gate.entered() == 1,
    );

    let second = CallbackProbe::new();
    let begin = Instant::now();
    let err = client
        .invoke_async(
            Some(&addr),
            RemotingCommand::new_request(ECHO),
            Duration::from_millis(100),
            second.callback(),
        )
        .unwrap_err();
    let waited = begin.elapsed();
    assert!(
        matches!(err, RemotingError::TooManyRequests { kind: "async", .. }),
        "{err:?}"
    );
    assert!(
        waited >= Duration::from_millis(90) && waited < SECOND,
        "waited {waited:?}"
    );
    // Sync calls take no permit.
    echo_ok(&client, &addr);

    gate.open();
    let (result, _) = first.expect_exactly_once(Duration::from_secs(5));
    assert_eq!(result.unwrap().code, response_code::SUCCESS);
    assert_eq!(
        second.runs(),
        0,
        "a rejected call's callback must never run"
    );

    // The permit came back.
    let third = CallbackProbe::new();
    client
        .invoke_async(
            Some(&addr),
            RemotingCommand::new_request(ECHO),
            Duration::from_millis(500),
            third.callback(),
        )
        .unwrap();
    assert_eq!(
        third
            .expect_exactly_once(Duration::from_secs(5))
            .0
            .unwrap()
            .code,
        response_code::SUCCESS
    );
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn name_server_failover_skips_dead_addresses() {
    let server = echo_server(server_config());
    let live = addr_of(&server);
    let dead = dead_addr();
    // The start is random: try with several clients so both orders occur.
    for _ in 0..6 {
        let client = client();
        client.update_name_server_address_list(vec![dead.clone(), live.clone()]);
        assert_eq!(
            client.name_server_address_list(),
            vec![dead.clone(), live.clone()]
        );
        for _ in 0..3 {
            let resp = client
                .invoke_sync(
                    None,
                    RemotingCommand::new_request(ECHO).with_body("ns"),
                    Duration::from_secs(5),
                )
                .unwrap();
            assert_eq!(resp.body, b"ns");
        }
        let probe = CallbackProbe::new();
        client
            .invoke_async(
                None,
                RemotingCommand::new_request(ECHO),
                Duration::from_secs(5),
                probe.callback(),
            )
            .unwrap();
        assert!(probe.expect_exactly_once(Duration::from_secs(5)).0.is_ok());
        assert_eq!(client.connected_addresses(), vec![live.clone()]);
        assert_no_pending(&[&client], &[&server]);
    }
}

#[test]
fn no_reachable_name_server_names_every_address() {
    let client = client();
    let err = client
        .invoke_sync(None, RemotingCommand::new_request(ECHO), SECOND)
        .unwrap_err();
    assert!(
        matches!(&err, RemotingError::NoNameServer { tried } if tried.is_empty()),
        "{err:?}"
    );

    let dead = [dead_addr(), dead_addr()];
    client.update_name_server_address_list(dead.to_vec());
    let err = client
        .invoke_sync(
            None,
            RemotingCommand::new_request(ECHO),
            Duration::from_secs(3),
        )
        .unwrap_err();
    match &err {
        RemotingError::NoNameServer { tried } => {
            let mut addrs: Vec<_> = tried.iter().map(|(a, _)| a.clone()).collect();
            addrs.sort();
            let mut expected = dead.to_vec();
            expected.sort();
            assert_eq!(addrs, expected);
        }
        other => panic!("expected NoNameServer, got {other:?}"),
    }
    let text = err.to_string();
    for a in &dead {
        assert!(text.contains(a.as_str()), "{text:?} does not name {a}");
    }
    let err = client
        .invoke_oneway(None, RemotingCommand::new_request(ECHO), SECOND)
        .unwrap_err();
    assert!(matches!(err, RemotingError::NoNameServer { .. }), "{err:?}");
    let probe = CallbackProbe::new();
    let err = client
        .invoke_async(
            None,
            RemotingCommand::new_request(ECHO),
            SECOND,
            probe.callback(),
        )
        .unwrap_err();
    assert!(matches!(err, RemotingError::NoNameServer { .. }), "{err:?}");
    assert_eq!(probe.runs(), 0);
    assert_eq!(client.pending_requests(), 0);

    // A name server that comes back is found.
    let server = echo_server(server_config());
    client.update_name_server_address_list(vec![dead[0].clone(), addr_of(&server)]);
    assert!(client
        .invoke_sync(
            None,
            RemotingCommand::new_request(ECHO),
            Duration::from_secs(3)
        )
        .is_ok());
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn client_reconnects_after_server_restart_on_same_port() {
    let first = echo_server(server_config());
    let addr = addr_of(&first);
    let client = client();
    echo_ok(&client, &addr);
    first.shutdown();
    drop(first);
    assert_eventually(
        "the client to see the server go",
        Duration::from_secs(2),
        || client.connected_addresses().is_empty(),
    );
    let err = client
        .invoke_sync(Some(&addr), RemotingCommand::new_request(ECHO), SECOND)
        .unwrap_err();
    assert!(matches!(err, RemotingError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr), "{err}");

    let mut config = server_config();
    config.listen_addr = addr.clone();
    let second = echo_server(config);
    assert_eq!(addr_of(&second), addr);
    echo_ok(&client, &addr);
    assert_no_pending(&[&client], &[&second]);

    // Again, this time calling before the client noticed anything: a call may fail with the
    // old connection, but the one after it must succeed.
    second.shutdown();
    drop(second);
    let mut config = server_config();
    config.listen_addr = addr.clone();
    let third = echo_server(config);
    let _ = client.invoke_sync(Some(&addr), RemotingCommand::new_request(ECHO), SECOND);
    assert_eventually("the client to reconnect", Duration::from_secs(3), || {
        client
            .invoke_sync(Some(&addr), RemotingCommand::new_request(ECHO), SECOND)
            .is_ok()
    });
    assert_no_pending(&[&client], &[&third]);
}

#[test]
fn request_context_lets_a_processor_answer_later_through_the_one_reply_path() {
    // A processor that returns None and replies from another thread (long polling). The
    // late answer is stamped and hooked exactly like an immediate one.
    let mut config = server_config();
    config.common.version = 399;
    config.common.language = LanguageCode::Cpp;
    let server = echo_server(config);
    let server_hook = Arc::new(ServerHook {
        before: Mutex::new(Vec::new()),
        after: AtomicUsize::new(0),
    });
    server.register_rpc_hook(server_hook.clone());
    let (tx, rx) = mpsc::channel::<RequestContext>();
    let tx = Mutex::new(tx);
    server
        .register_processor(
            BLOCK,
            processor(move |ctx, _req| {
                tx.lock().unwrap().send(ctx.clone()).unwrap();
                Ok(None)
            }),
            PoolConfig::default(),
        )
        .unwrap();
    let replier = thread::spawn(move || {
        let ctx = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        ctx.reply(RemotingCommand::success().with_body("later"));
    });
    let addr = addr_of(&server);
    let client = client();
    let req = RemotingCommand::new_request(BLOCK).with_serialize_type(SerializeType::RocketMq);
    let opaque = req.opaque;
    let resp = client
        .invoke_sync(Some(&addr), req, Duration::from_secs(5))
        .unwrap();
    replier.join().unwrap();
    assert_eq!(resp.opaque, opaque);
    assert!(resp.is_response());
    assert_eq!(resp.body, b"later");
    assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    assert_eq!((resp.language, resp.version), (LanguageCode::Cpp, 399));
    assert_eq!(resp.ext_fields.get("server-hook"), Some("ran"));
    assert_eq!(server_hook.after.load(Ordering::SeqCst), 1);
    assert_no_pending(&[&client], &[&server]);
}
