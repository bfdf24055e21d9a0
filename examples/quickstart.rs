//! Quickstart: a remoting server and client in one process, talking the RocketMQ protocol.
//!
//! `cargo run --release --example quickstart`
//!
//! Starts an echo server on a free port, then calls it sync, async and oneway in both header
//! types (JSON and ROCKETMQ binary), checks every reply, and exits 0 only if all came back
//! intact. (The producer quickstart on the reference name server and broker comes with them.)

#[path = "common/echo.rs"]
mod echo;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::{RemotingCommand, SerializeType};
use rocketmq_blocking::remoting::{
    ClientConfig, PoolConfig, ProcessorError, RemotingClient, RemotingServer, RequestContext,
    ServerConfig,
};

const ONEWAY_CODE: i32 = 2;
const TIMEOUT: Duration = Duration::from_secs(3);

fn main() {
    simplelog::TermLogger::init(
        simplelog::LevelFilter::Warn,
        simplelog::Config::default(),
        simplelog::TerminalMode::Stderr,
        simplelog::ColorChoice::Never,
    )
    .ok();
    match run() {
        Ok(()) => println!("quickstart OK"),
        Err(e) => {
            eprintln!("quickstart FAILED: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<(), String> {
    let server =
        RemotingServer::new(ServerConfig::listen("127.0.0.1:0")).map_err(|e| e.to_string())?;
    echo::register_echo(&server).map_err(|e| e.to_string())?;
    let oneways = Arc::new(AtomicUsize::new(0));
    let counter = oneways.clone();
    let count = move |_: &RequestContext,
                      _: RemotingCommand|
          -> Result<Option<RemotingCommand>, ProcessorError> {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(None)
    };
    server
        .register_processor(ONEWAY_CODE, count, PoolConfig::default())
        .map_err(|e| e.to_string())?;
    server.start().map_err(|e| e.to_string())?;
    let addr = server.local_addr().to_string();
    println!("server listening on {addr}");

    let client = RemotingClient::new(ClientConfig::default()).map_err(|e| e.to_string())?;
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        for i in 0..3 {
            let body = format!("sync {st:?} {i}");
            let req = RemotingCommand::new_request(echo::ECHO_CODE)
                .with_ext("seq", i.to_string())
                .with_body(body.clone());
            let resp = client
                .invoke_sync(Some(&addr), req.with_serialize_type(st), TIMEOUT)
                .map_err(|e| e.to_string())?;
            check(&resp, &body, st)?;
            println!(
                "sync  {st:?}: opaque {} -> {:?}",
                resp.opaque,
                String::from_utf8_lossy(&resp.body)
            );
        }

        let (tx, rx) = bounded(3);
        for i in 0..3 {
            let body = format!("async {st:?} {i}");
            let req = RemotingCommand::new_request(echo::ECHO_CODE)
                .with_body(body.clone())
                .with_serialize_type(st);
            let tx = tx.clone();
            client
                .invoke_async(Some(&addr), req, TIMEOUT, move |result| {
                    let _ = tx.send((body, result));
                })
                .map_err(|e| e.to_string())?;
        }
        for _ in 0..3 {
            let (body, result) = rx
                .recv_timeout(TIMEOUT * 2)
                .map_err(|_| "an async callback never ran".to_string())?;
            let resp = result.map_err(|e| e.to_string())?;
            check(&resp, &body, st)?;
            println!(
                "async {st:?}: opaque {} -> {:?}",
                resp.opaque,
                String::from_utf8_lossy(&resp.body)
            );
        }

        for _ in 0..10 {
            let req = RemotingCommand::new_request(ONEWAY_CODE).with_serialize_type(st);
            client
                .invoke_oneway(Some(&addr), req, TIMEOUT)
                .map_err(|e| e.to_string())?;
        }
    }
    let deadline = Instant::now() + TIMEOUT;
    while oneways.load(Ordering::SeqCst) < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let received = oneways.load(Ordering::SeqCst);
    println!("oneway: server received {received} of 20");
    if received != 20 {
        return Err(format!(
            "the server received {received} of 20 oneway requests"
        ));
    }
    let unknown = client
        .invoke_sync(Some(&addr), RemotingCommand::new_request(999), TIMEOUT)
        .map_err(|e| e.to_string())?;
    if unknown.code != response_code::REQUEST_CODE_NOT_SUPPORTED {
        return Err(format!(
            "code 999 answered {} instead of REQUEST_CODE_NOT_SUPPORTED",
            unknown.code
        ));
    }
    println!(
        "code 999 -> {} {:?}",
        unknown.code,
        unknown.remark.unwrap_or_default()
    );
    client.shutdown();
    server.shutdown();
    Ok(())
}

fn check(resp: &RemotingCommand, body: &str, st: SerializeType) -> Result<(), String> {
    if resp.code != response_code::SUCCESS
        || resp.body != body.as_bytes()
        || resp.serialize_type != st
    {
        return Err(format!("bad reply {resp:?} for {body:?}"));
    }
    Ok(())
}
