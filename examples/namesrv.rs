//! Reference name server.
//!
//! `cargo run --release --example namesrv -- --listen 127.0.0.1:9876
//!  [--tls-mode disabled|permissive|enforcing --tls-cert <pem> --tls-key <pem>]`
//! prints `listening on <ip:port>` as its first line, then serves until SIGTERM or SIGINT,
//! which shut it down cleanly (every thread joined, exit code 0).

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;
#[path = "common/signals.rs"]
mod signals;
#[path = "common/tls_args.rs"]
mod tls_args;

use std::io::Write;

use rocketmq_blocking::namesrv::NameServer;

fn main() {
    logging::init(simplelog::LevelFilter::Info);
    let mut listen = "127.0.0.1:9876".to_string();
    let mut tls = tls_args::TlsArgs::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            flag if tls.take(&["--tls-mode", "--tls-cert", "--tls-key"], flag, &mut args) => {}
            "--listen" => {
                listen = args
                    .next()
                    .unwrap_or_else(|| usage("--listen needs an address"))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let stop = signals::StopSignals::install();
    let builder = NameServer::builder().listen(listen);
    #[cfg(feature = "tls")]
    let builder = apply_server_tls!(builder, tls);
    let namesrv = builder.start().unwrap_or_else(|e| {
        eprintln!("namesrv: {}", report::error_chain(&e));
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
    eprintln!(
        "{msg}\nusage: namesrv --listen <ip:port> [--tls-mode disabled|permissive|enforcing \
         --tls-cert <pem> --tls-key <pem>]"
    );
    std::process::exit(2);
}
