//! Soak benchmark: a broker left running. Produces and consumes `n` messages through an
//! in-process broker with small files and a short retention, and watches what an operator
//! watches: memory, disk, send latency, refusals.
//!
//! `cargo run --release --example broker_soak -- --messages <n> [--size 128]`
//!
//! Four threads send SEND_MESSAGE_V2 (each message with a unique key, so the key index
//! grows with every message) and one thread pulls every queue behind them. The broker keeps
//! 8 MiB commit log segments for 10 s after their last write and cleans every second, so the
//! store's size on disk stays bounded while the messages go through. Every 2 s a row: messages
//! sent and consumed, the process's RSS, the store's bytes on disk (allocated blocks), the p99
//! of the sends in that interval, refusals so far. The last line, for tools:
//!
//! `soak messages <n> rss_start_kib <a> rss_end_kib <b> disk_max_mib <d> refused <r>`
//!
//! `rss_start` is measured once the broker has started and taken its first message;
//! `refused` counts sends answered anything but SUCCESS (or not answered).

#[path = "common/broker_requests.rs"]
mod broker_requests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::store::DeleteWhen;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::header::PullMessageResponseHeader;
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand};
use rocketmq_blocking::remoting::{ClientConfig, RemotingClient};

const TOPIC: &str = "SoakTopic";
/// The queues of the soak topic, as its first send creates it (`send_header`'s 4).
const QUEUES: i32 = 4;
const SENDERS: usize = 4;
const TIMEOUT: Duration = Duration::from_secs(10);
const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Message `n` to queue `queue_id` of the soak topic: a unique key, so that the key index
/// grows with every message.
fn send_request(queue_id: i32, n: u64, body: &[u8]) -> RemotingCommand {
    let properties = format!("UNIQ_KEY\u{1}SOAK{n:016X}\u{2}TAGS\u{1}soak\u{2}WAIT\u{1}true");
    let header = broker_requests::send_header("PG_soak", TOPIC, queue_id, &properties);
    broker_requests::send_request(header, body)
}

/// The process's resident set, in KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn usage(message: &str) -> ! {
    eprintln!("{message}\nusage: broker_soak --messages <n> [--size 128]");
    std::process::exit(2);
}

fn main() {
    let mut messages: Option<u64> = None;
    let mut size = 128usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--messages" => messages = value().parse().ok(),
            "--size" => {
                size = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--size takes bytes"))
            }
            "--bench" => {}
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let Some(messages) = messages.filter(|n| *n > 0) else {
        usage("--messages <n> is required")
    };

    let dir = std::env::temp_dir().join(format!("rmq-broker-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let every_hour = DeleteWhen::parse(
        &(0..24)
            .map(|h| format!("{h:02}"))
            .collect::<Vec<_>>()
            .join(";"),
    )
    .expect("hours");
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&dir)
        .commit_log_segment_size(8 * 1024 * 1024)
        .consume_queue_file_entries(100_000)
        .index_file_size(100_000, 400_000)
        .file_reserved_time(Duration::from_secs(10))
        .delete_when(every_hour)
        .clean_resource_interval(Duration::from_secs(1))
        .start()
        .unwrap_or_else(|e| {
            eprintln!("broker: {e}");
            std::process::exit(1);
        });
    let addr = broker.local_addr().to_string();
    let client = Arc::new(RemotingClient::new(ClientConfig::default()).expect("client"));
    let first = client
        .invoke_sync(Some(&addr), send_request(0, u64::MAX, b"warm-up"), TIMEOUT)
        .expect("warm-up send");
    assert_eq!(first.code, response_code::SUCCESS, "{:?}", first.remark);
    let rss_start = rss_kib();

    let next = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let consumed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let done_sending = Arc::new(AtomicBool::new(false));
    let body = vec![b's'; size];
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (client, addr, body) = (client.clone(), addr.clone(), body.clone());
            let (next, sent, refused, latencies) = (
                next.clone(),
                sent.clone(),
                refused.clone(),
                latencies.clone(),
            );
            thread::spawn(move || loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= messages {
                    return;
                }
                let at = Instant::now();
                let request = send_request((n % QUEUES as u64) as i32, n, &body);
                match client.invoke_sync(Some(&addr), request, TIMEOUT) {
                    Ok(r) if r.code == response_code::SUCCESS => {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.lock().expect("latencies").push(at.elapsed());
            })
        })
        .collect();
    let consumer = {
        let (client, addr, consumed, done, sent_total) = (
            client.clone(),
            addr.clone(),
            consumed.clone(),
            done_sending.clone(),
            sent.clone(),
        );
        thread::spawn(move || {
            let mut offsets = [0i64; QUEUES as usize];
            let mut idle_after_done = 0;
            loop {
                let mut got = 0;
                for queue in 0..QUEUES {
                    let request = broker_requests::pull_request(&broker_requests::pull_header(
                        "CG_soak",
                        TOPIC,
                        queue,
                        offsets[queue as usize],
                    ));
                    let Ok(r) = client.invoke_sync(Some(&addr), request, TIMEOUT) else {
                        continue;
                    };
                    let Ok(h) = PullMessageResponseHeader::read_from(&r.ext_fields) else {
                        continue;
                    };
                    let from = offsets[queue as usize];
                    if r.code == response_code::SUCCESS {
                        got += h.next_begin_offset - from;
                    }
                    // OFFSET_MOVED (the consumer fell below what retention kept) resumes at
                    // the queue's minimum, as a Java consumer does.
                    offsets[queue as usize] = h.next_begin_offset.max(from);
                }
                consumed.fetch_add(got as u64, Ordering::Relaxed);
                if got == 0 {
                    // Done once everything acknowledged (and the warm-up) was read, or
                    // nothing came for a second after the last send.
                    if done.load(Ordering::Relaxed) {
                        let all = sent_total.load(Ordering::Relaxed) + 1;
                        idle_after_done += 1;
                        if consumed.load(Ordering::Relaxed) >= all || idle_after_done > 200 {
                            return;
                        }
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            }
        })
    };

    println!(
        "{:>7} {:>11} {:>11} {:>9} {:>9} {:>9} {:>8}",
        "secs", "sent", "consumed", "rss KiB", "disk MiB", "p99 µs", "refused"
    );
    let begin = Instant::now();
    let mut disk_max = 0u64;
    let mut last_row = Instant::now();
    let row = |disk: u64, latencies: &mut Vec<Duration>| {
        latencies.sort();
        let p99 = latencies
            .get(((latencies.len().max(1) - 1) as f64 * 0.99) as usize)
            .map_or(0, |d| d.as_micros());
        latencies.clear();
        println!(
            "{:>7.0} {:>11} {:>11} {:>9} {:>9.1} {:>9} {:>8}",
            begin.elapsed().as_secs_f64(),
            sent.load(Ordering::Relaxed),
            consumed.load(Ordering::Relaxed),
            rss_kib(),
            disk as f64 / (1024.0 * 1024.0),
            p99,
            refused.load(Ordering::Relaxed)
        );
    };
    while senders.iter().any(|s| !s.is_finished()) {
        thread::sleep(Duration::from_millis(100));
        let disk = broker.store().disk_bytes();
        disk_max = disk_max.max(disk);
        if last_row.elapsed() >= SAMPLE_EVERY {
            last_row = Instant::now();
            row(disk, &mut latencies.lock().expect("latencies"));
        }
    }
    for sender in senders {
        sender.join().expect("sender");
    }
    done_sending.store(true, Ordering::Relaxed);
    consumer.join().expect("consumer");
    let disk = broker.store().disk_bytes();
    disk_max = disk_max.max(disk);
    row(disk, &mut latencies.lock().expect("latencies"));
    let rss_end = rss_kib();
    client.shutdown();
    broker.shutdown();
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "soak messages {messages} rss_start_kib {rss_start} rss_end_kib {rss_end} disk_max_mib {} \
         refused {}",
        disk_max.div_ceil(1024 * 1024),
        refused.load(Ordering::Relaxed)
    );
}
