//! Reference broker.
//!
//! `cargo run --release --example broker -- --listen 127.0.0.1:10911 --namesrv 127.0.0.1:9876
//!   --store <dir> [--name broker-a] [--cluster DefaultCluster] [--flush sync|async]
//!   [--tls-mode disabled|permissive|enforcing --tls-cert <pem> --tls-key <pem>]
//!   [--namesrv-tls-ca <pem>] [--trace-topic-enable]`
//! prints `listening on <ip:port>` as its first line, then serves until SIGTERM or SIGINT,
//! which shut it down cleanly: unregistered from every name server, held pulls answered,
//! consumer offsets and the store checkpoint saved, every thread joined, exit code 0.
//! `--namesrv` takes a `;`-separated list; `--advertise <ip:port>` sets the address given to
//! clients; `--acl <file>` checks every request against an ACL account table (JSON with the
//! field names of Java's `plain_acl.yml`). `--namesrv-tls-ca` registers with the name servers
//! over TLS, trusting that CA (needed when they enforce TLS). Retention: `--file-reserved-hours
//! <h>` (72), `--delete-when <hh[;hh]>` ("04"), `--disk-max-used-ratio <percent>` (75);
//! `--config <file>` names the config file (Java's `key=value` settings, read at start and
//! updated by `mqadmin updateBrokerConfig`; default `<store>/config/broker.properties`).
//! `--trace-topic-enable` creates the message trace topic `RMQ_SYS_TRACE_TOPIC` at start
//! (Java's `traceTopicEnable`).

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;
#[path = "common/signals.rs"]
mod signals;
#[path = "common/tls_args.rs"]
mod tls_args;

use std::io::Write;

use std::time::Duration;

use rocketmq_blocking::broker::store::{DeleteWhen, FlushDiskType};
use rocketmq_blocking::broker::Broker;

const USAGE: &str =
    "usage: broker --listen <ip:port> --namesrv <ip:port>[;<ip:port>...] --store <dir> \
[--name broker-a] [--cluster DefaultCluster] [--flush sync|async] [--advertise <ip:port>] \
[--acl <file>] [--tls-mode disabled|permissive|enforcing --tls-cert <pem> --tls-key <pem>] \
[--namesrv-tls-ca <pem>] [--file-reserved-hours <h>] [--delete-when <hh[;hh]>] \
[--disk-max-used-ratio <percent>] [--config <file>] [--trace-topic-enable]";

fn main() {
    logging::init(simplelog::LevelFilter::Info);
    let mut listen = "127.0.0.1:10911".to_string();
    let mut namesrv = String::new();
    let mut store = None;
    let mut name = None;
    let mut cluster = None;
    let mut flush = FlushDiskType::AsyncFlush;
    let mut advertise = None;
    let mut acl = None;
    let mut reserved_hours: Option<f64> = None;
    let mut delete_when = None;
    let mut disk_ratio: Option<u8> = None;
    let mut config_file = None;
    let mut trace_topic_enable = false;
    let mut tls = tls_args::TlsArgs::default();
    let tls_flags = ["--tls-mode", "--tls-cert", "--tls-key", "--namesrv-tls-ca"];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if tls.take(&tls_flags, &arg, &mut args) {
            continue;
        }
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => listen = value(),
            "--namesrv" => namesrv = value(),
            "--store" => store = Some(value()),
            "--name" => name = Some(value()),
            "--cluster" => cluster = Some(value()),
            "--advertise" => advertise = Some(value()),
            "--acl" => acl = Some(value()),
            "--file-reserved-hours" => {
                let v = value();
                match v.parse::<f64>() {
                    Ok(h) if h.is_finite() && h >= 0.0 => reserved_hours = Some(h),
                    _ => usage(&format!("--file-reserved-hours takes hours, not {v}")),
                }
            }
            "--delete-when" => {
                let v = value();
                match DeleteWhen::parse(&v) {
                    Ok(when) => delete_when = Some(when),
                    Err(e) => usage(&format!("--delete-when: {e}")),
                }
            }
            "--disk-max-used-ratio" => {
                let v = value();
                match v.parse::<u8>() {
                    Ok(p) if p <= 100 => disk_ratio = Some(p),
                    _ => usage(&format!(
                        "--disk-max-used-ratio takes a percentage, not {v}"
                    )),
                }
            }
            "--config" => config_file = Some(value()),
            "--trace-topic-enable" => trace_topic_enable = true,
            "--flush" => {
                flush = match value().as_str() {
                    "sync" => FlushDiskType::SyncFlush,
                    "async" => FlushDiskType::AsyncFlush,
                    other => usage(&format!("--flush takes sync or async, not {other}")),
                }
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let Some(store) = store else {
        usage("--store is required")
    };
    let mut builder = Broker::builder()
        .listen(listen)
        .store_dir(store)
        .name_server(&namesrv)
        .flush_disk_type(flush);
    if let Some(hours) = reserved_hours {
        builder = builder.file_reserved_time(Duration::from_secs_f64(hours * 3600.0));
    }
    if let Some(when) = delete_when {
        builder = builder.delete_when(when);
    }
    if let Some(percent) = disk_ratio {
        builder = builder.disk_max_used_space_ratio(percent);
    }
    if let Some(file) = config_file {
        builder = builder.config_file(file);
    }
    if trace_topic_enable {
        builder = builder.trace_topic_enable(true);
    }
    if let Some(advertise) = advertise {
        builder = builder.advertised_addr(advertise);
    }
    if let Some(acl) = acl {
        #[cfg(feature = "acl")]
        {
            builder = builder.acl_file(acl);
        }
        #[cfg(not(feature = "acl"))]
        usage(&format!("--acl {acl}: built without the acl feature"));
    }
    if let Some(name) = name {
        builder = builder.broker_name(name);
    }
    if let Some(cluster) = cluster {
        builder = builder.cluster_name(cluster);
    }
    #[cfg(feature = "tls")]
    {
        builder = apply_server_tls!(builder, tls);
        if let Some(namesrv_tls) = tls.namesrv() {
            builder = builder.namesrv_tls(namesrv_tls);
        }
    }
    let stop = signals::StopSignals::install();
    let broker = builder.start().unwrap_or_else(|e| {
        eprintln!("broker: {}", report::error_chain(&e));
        std::process::exit(1);
    });
    println!("listening on {}", broker.local_addr());
    std::io::stdout().flush().ok();
    let signal = stop.wait();
    log::info!("{signal}: shutting down");
    broker.shutdown();
    log::info!("stopped");
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}\n{USAGE}");
    std::process::exit(2);
}
