//! Echo server: answers request code 1 with the request's body and ext fields.
//!
//! `cargo run --release --example echo_server -- --listen 127.0.0.1:0`
//! prints `listening on <ip:port>` as its first line, then serves until killed.

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

#[path = "common/echo.rs"]
mod echo;

use std::io::Write;

use rocketmq_blocking::remoting::{RemotingServer, ServerConfig};

fn main() {
    logging::init(simplelog::LevelFilter::Info);
    let mut listen = "127.0.0.1:0".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                listen = args
                    .next()
                    .unwrap_or_else(|| usage("--listen needs an address"))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let server = RemotingServer::new(ServerConfig::listen(listen))
        .unwrap_or_else(|e| fail(&report::error_chain(&e)));
    echo::register_echo(&server).unwrap_or_else(|e| fail(&report::error_chain(&e)));
    server
        .start()
        .unwrap_or_else(|e| fail(&report::error_chain(&e)));
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush().ok();
    loop {
        std::thread::park();
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}\nusage: echo_server --listen <ip:port>");
    std::process::exit(2);
}

fn fail(msg: &str) -> ! {
    eprintln!("echo_server: {msg}");
    std::process::exit(1);
}
