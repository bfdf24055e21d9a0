//! How pending calls are kept apart and ended: a request clone sent twice gets two answers,
//! a response forged on another connection completes nothing, and timeouts too large to add
//! to an `Instant` still work while the janitor goes on expiring other calls.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{addr_of, assert_no_pending, client, read_command, server_config, CallbackProbe};
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{
    PoolConfig, ProcessorError, RemotingError, RemotingServer, RequestContext,
};

const PAIRED_ECHO: i32 = 7001;
const ECHO: i32 = 7002;

/// Echoes once two requests have arrived (or after 5 s), so that two calls are surely
/// pending at once: a condition, not a pause.
fn paired_echo(
) -> impl Fn(&RequestContext, RemotingCommand) -> Result<Option<RemotingCommand>, ProcessorError>
       + Send
       + Sync
       + 'static {
    let arrived = Arc::new((Mutex::new(0usize), Condvar::new()));
    move |_ctx, req| {
        let (count, changed) = &*arrived;
        let mut count = count.lock().unwrap();
        *count += 1;
        changed.notify_all();
        let deadline = Instant::now() + Duration::from_secs(5);
        while *count < 2 && Instant::now() < deadline {
            count = changed
                .wait_timeout(count, deadline - Instant::now())
                .unwrap()
                .0;
        }
        Ok(Some(RemotingCommand::success().with_body(req.body)))
    }
}

fn echo(
    _ctx: &RequestContext,
    req: RemotingCommand,
) -> Result<Option<RemotingCommand>, ProcessorError> {
    Ok(Some(RemotingCommand::success().with_body(req.body)))
}

fn echo_server() -> RemotingServer {
    let server = RemotingServer::new(server_config()).expect("bind");
    server
        .register_processor(PAIRED_ECHO, paired_echo(), PoolConfig::default())
        .expect("register");
    server
        .register_processor(ECHO, echo, PoolConfig::default())
        .expect("register");
    server.start().expect("start");
    server
}

#[test]
fn a_clone_sent_twice_gets_two_answers() {
    let server = echo_server();
    let addr = addr_of(&server);
    let client = client();
    let first = RemotingCommand::new_request(PAIRED_ECHO).with_body("first");
    let mut second = first.clone();
    second.body = b"second".into(); // same opaque, different payload
    let (a, b) = (CallbackProbe::new(), CallbackProbe::new());
    client
        .invoke_async(Some(&addr), first, Duration::from_secs(5), a.callback())
        .expect("first");
    client
        .invoke_async(Some(&addr), second, Duration::from_secs(5), b.callback())
        .expect("second");
    let (ra, _) = a.expect_exactly_once(Duration::from_secs(5));
    let (rb, _) = b.expect_exactly_once(Duration::from_secs(5));
    assert_eq!(ra.expect("first answered").body, b"first");
    assert_eq!(rb.expect("second answered").body, b"second");
    assert_no_pending(&[&client], &[&server]);
}

#[test]
fn a_response_forged_on_another_connection_is_ignored() {
    // Two raw "servers": the first answers late, the second forges an answer to its opaque.
    let honest = TcpListener::bind("127.0.0.1:0").unwrap();
    let forger = TcpListener::bind("127.0.0.1:0").unwrap();
    let (honest_addr, forger_addr) = (
        honest.local_addr().unwrap().to_string(),
        forger.local_addr().unwrap().to_string(),
    );
    let client = Arc::new(client());

    let c = client.clone();
    let h = honest_addr.clone();
    let call = thread::spawn(move || {
        c.invoke_sync(
            Some(&h),
            RemotingCommand::new_request(1).with_body("q"),
            Duration::from_secs(5),
        )
    });
    let (mut honest_conn, _) = honest.accept().unwrap();
    let request = read_command(&mut honest_conn).expect("the request");

    // The client talks to the forger too; the forger answers that call's opaque with
    // the honest call's opaque instead.
    let c = client.clone();
    let f = forger_addr.clone();
    let probe = thread::spawn(move || {
        c.invoke_sync(
            Some(&f),
            RemotingCommand::new_request(2),
            Duration::from_millis(800),
        )
    });
    let (mut forger_conn, _) = forger.accept().unwrap();
    let _ = read_command(&mut forger_conn).expect("probe request");
    let forged = request
        .response_to(response_code::SUCCESS, None)
        .with_body("forged");
    forger_conn.write_all(&forged.encode().unwrap()).unwrap();
    assert!(
        matches!(probe.join().unwrap(), Err(RemotingError::Timeout { .. })),
        "the probe gets no answer"
    );

    let honest_reply = request
        .response_to(response_code::SUCCESS, None)
        .with_body("honest");
    honest_conn
        .write_all(&honest_reply.encode().unwrap())
        .unwrap();
    let response = call.join().unwrap().expect("the honest answer");
    assert_eq!(response.body, b"honest");
}

#[test]
fn timeouts_too_large_for_an_instant_work_and_the_janitor_survives() {
    let server = echo_server();
    let addr = addr_of(&server);
    let client = client();
    let r = client
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(ECHO).with_body("max"),
            Duration::MAX,
        )
        .expect("sync with Duration::MAX");
    assert_eq!(r.body, b"max");
    let probe = CallbackProbe::new();
    client
        .invoke_async(
            Some(&addr),
            RemotingCommand::new_request(ECHO),
            Duration::MAX,
            probe.callback(),
        )
        .expect("async");
    assert!(probe.expect_exactly_once(Duration::from_secs(5)).0.is_ok());
    // The janitor still expires calls after scanning a Duration::MAX future.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let long = CallbackProbe::new();
    client
        .invoke_async(
            Some(&silent_addr),
            RemotingCommand::new_request(1),
            Duration::MAX,
            long.callback(),
        )
        .expect("pending forever");
    let short = CallbackProbe::new();
    client
        .invoke_async(
            Some(&silent_addr),
            RemotingCommand::new_request(1),
            Duration::from_millis(100),
            short.callback(),
        )
        .expect("short");
    let (result, _) = short.expect_exactly_once(Duration::from_secs(5));
    assert!(
        matches!(result, Err(RemotingError::Timeout { .. })),
        "{result:?}"
    );
    drop(silent);
    client.shutdown();
    assert!(long.expect_exactly_once(Duration::from_secs(5)).0.is_err());
}
