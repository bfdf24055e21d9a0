//! Reference name server.
//!
//! `cargo run --release --example namesrv -- --listen 127.0.0.1:9876`
//! prints `listening on <ip:port>` as its first line, then serves until SIGTERM or SIGINT,
//! which shut it down cleanly (every thread joined, exit code 0).

#[path = "common/logging.rs"]
mod logging;
#[path = "common/signals.rs"]
mod signals;

use std::io::Write;

use rocketmq_blocking::namesrv::NameServer;

fn main() {
    logging::init(simplelog::LevelFilter::Info);
    let mut listen = "127.0.0.1:9876".to_string();
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
    let stop = signals::StopSignals::install();
    let namesrv = NameServer::builder()
        .listen(listen)
        .start()
        .unwrap_or_else(|e| {
            eprintln!("namesrv: {e:#}");
            std::process::exit(1);
        });
    println!("listening on {}", namesrv.local_addr());
    std::io::stdout().flush().ok();
    let signal = stop.wait();
    log::info!("{signal}: shutting down");
    namesrv.shutdown();
    log::info!("stopped");
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}\nusage: namesrv --listen <ip:port>");
    std::process::exit(2);
}
