//! Echo client: sends a few requests (sync, async, oneway) to an echo server and prints replies.
//!
//! `cargo run --release --example echo_client -- --addr <ip:port> [--binary]`

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

use std::time::Duration;

use crossbeam_channel::bounded;
use rocketmq_blocking::protocol::{RemotingCommand, SerializeType};
use rocketmq_blocking::remoting::{ClientConfig, RemotingClient};

const ECHO_CODE: i32 = 1;
const TIMEOUT: Duration = Duration::from_secs(3);

fn main() {
    logging::init(simplelog::LevelFilter::Warn);
    let mut addr = None;
    let mut serialize_type = SerializeType::Json;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next(),
            "--binary" => serialize_type = SerializeType::RocketMq,
            other => exit(
                2,
                &format!(
                    "unknown argument {other}\nusage: echo_client --addr <ip:port> [--binary]"
                ),
            ),
        }
    }
    let Some(addr) = addr else {
        exit(2, "usage: echo_client --addr <ip:port> [--binary]")
    };
    let client = RemotingClient::new(ClientConfig::default())
        .unwrap_or_else(|e| exit(1, &report::error_chain(&e)));
    let request = |i: usize| {
        RemotingCommand::new_request(ECHO_CODE)
            .with_ext("seq", i.to_string())
            .with_body(format!("hello {i}").into_bytes())
            .with_serialize_type(serialize_type)
    };

    for i in 0..3 {
        match client.invoke_sync(Some(&addr), request(i), TIMEOUT) {
            Ok(resp) => print_reply("sync", &resp),
            Err(e) => exit(1, &format!("sync call failed: {}", report::error_chain(&e))),
        }
    }

    let (tx, rx) = bounded(3);
    for i in 3..6 {
        let tx = tx.clone();
        client
            .invoke_async(Some(&addr), request(i), TIMEOUT, move |result| {
                let _ = tx.send(result);
            })
            .unwrap_or_else(|e| {
                exit(
                    1,
                    &format!("async call failed: {}", report::error_chain(&e)),
                )
            });
    }
    for _ in 3..6 {
        match rx.recv_timeout(TIMEOUT * 2) {
            Ok(Ok(resp)) => print_reply("async", &resp),
            Ok(Err(e)) => exit(
                1,
                &format!("async call failed: {}", report::error_chain(&e)),
            ),
            Err(_) => exit(1, "async callback never ran"),
        }
    }

    client
        .invoke_oneway(Some(&addr), request(6), TIMEOUT)
        .unwrap_or_else(|e| {
            exit(
                1,
                &format!("oneway call failed: {}", report::error_chain(&e)),
            )
        });
    println!("oneway sent (no reply expected)");

    let unsupported = RemotingCommand::new_request(999).with_serialize_type(serialize_type);
    match client.invoke_sync(Some(&addr), unsupported, TIMEOUT) {
        Ok(resp) => print_reply("code 999", &resp),
        Err(e) => exit(1, &format!("sync call failed: {}", report::error_chain(&e))),
    }
    client.shutdown();
}

fn print_reply(kind: &str, resp: &RemotingCommand) {
    let ext: Vec<String> = resp
        .ext_fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "{kind}: code={} opaque={} header={:?} ext=[{}] remark={:?} body={:?}",
        resp.code,
        resp.opaque,
        resp.serialize_type,
        ext.join(","),
        resp.remark.as_deref().unwrap_or(""),
        String::from_utf8_lossy(&resp.body)
    );
}

fn exit(code: i32, msg: &str) -> ! {
    eprintln!("echo_client: {msg}");
    std::process::exit(code);
}
