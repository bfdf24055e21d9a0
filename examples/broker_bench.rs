//! Broker benchmark: send throughput into the store and pull throughput, over real sockets.
//!
//! `cargo run --release --example broker_bench [-- --seconds <s>]`
//!
//! Each case starts a fresh in-process broker on a temporary store, then N client threads
//! send SEND_MESSAGE_V2 requests synchronously (each waits for its acknowledgement) for the
//! given time; then one thread pulls everything back. Then a burst: one client sends 50,000
//! async 128 B messages at once (all in flight), beside its baseline of the same run, the
//! 8-thread sync sends: its rate and how many were refused (SYSTEM_BUSY `[OVERLOAD]` for a full
//! send queue, `[TIMEOUT_CLEAN_QUEUE]` for a send that waited over 200 ms). The same burst
//! again from our `Producer` with its defaults through a name server (`LocalCluster`), counting
//! the busy answers its requests got (a refused send is retried, so a busy answer need not fail
//! a send) and the sends that failed. Prints a table.

#[path = "common/broker_requests.rs"]
mod broker_requests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::store::FlushDiskType;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{Message, Producer};
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::header::PullMessageResponseHeader;
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand};
use rocketmq_blocking::remoting::{AbortProcess, ClientConfig, RemotingClient, RpcHook};
use rocketmq_blocking::LocalCluster;

const TOPIC: &str = "BenchTopic";
/// The queues of the bench topic, as its first send creates it (`send_header`'s 4).
const QUEUES: i32 = 4;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A send of `body` to queue `queue_id` of the bench topic, tagged and waiting for the store.
fn send_request(queue_id: i32, body: &[u8]) -> RemotingCommand {
    let header = broker_requests::send_header(
        "PG_bench",
        TOPIC,
        queue_id,
        "TAGS\u{1}bench\u{2}WAIT\u{1}true",
    );
    broker_requests::send_request(header, body)
}

struct Row {
    case: String,
    msgs_per_s: f64,
    mib_per_s: f64,
    p50_us: f64,
    p99_us: f64,
}

impl Row {
    /// A row of `messages` (`bytes` in all) in `secs`, with no latencies.
    fn rate(case: String, messages: f64, bytes: f64, secs: f64) -> Row {
        Row {
            case,
            msgs_per_s: messages / secs,
            mib_per_s: bytes / secs / (1024.0 * 1024.0),
            p50_us: f64::NAN,
            p99_us: f64::NAN,
        }
    }
}

fn store_dir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rmq-broker-bench-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A broker storing in `dir` with `flush`, its address, and a client that has created the
/// bench topic (before any timing).
fn start_broker(dir: &Path, flush: FlushDiskType) -> (Broker, String, Arc<RemotingClient>) {
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(dir)
        .flush_disk_type(flush)
        .start()
        .expect("broker");
    let addr = broker.local_addr().to_string();
    let client = Arc::new(RemotingClient::new(ClientConfig::default()).expect("client"));
    let first = client
        .invoke_sync(Some(&addr), send_request(0, b"warm-up"), TIMEOUT)
        .expect("send");
    assert_eq!(first.code, response_code::SUCCESS, "{:?}", first.remark);
    (broker, addr, client)
}

fn bench_send(threads: usize, size: usize, flush: FlushDiskType, run_for: Duration) -> (Row, Row) {
    let flush_name = if flush == FlushDiskType::SyncFlush {
        "sync"
    } else {
        "async"
    };
    let case = format!("send {threads}t {size}B {flush_name}");
    let dir = store_dir(&format!("{threads}-{size}-{flush_name}"));
    let (broker, addr, client) = start_broker(&dir, flush);

    let stop = Arc::new(AtomicBool::new(false));
    let begin = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (client, addr, stop) = (client.clone(), addr.clone(), stop.clone());
            thread::spawn(move || {
                let body = vec![b'x'; size];
                let mut latencies = Vec::new();
                let mut n = 0i32;
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    let r = client
                        .invoke_sync(
                            Some(&addr),
                            send_request((t as i32 + n) % QUEUES, &body),
                            TIMEOUT,
                        )
                        .expect("send");
                    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
                    latencies.push(at.elapsed());
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    thread::sleep(run_for);
    stop.store(true, Ordering::Relaxed);
    let mut latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    let elapsed = begin.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    let sent = latencies.len() as f64;
    let send_row = Row {
        case,
        msgs_per_s: sent / elapsed,
        mib_per_s: sent * size as f64 / elapsed / (1024.0 * 1024.0),
        p50_us: pct(0.5),
        p99_us: pct(0.99),
    };

    // Pull everything back, one queue after another, 32 messages a request.
    let begin = Instant::now();
    let mut pulled = 0usize;
    let mut bytes = 0usize;
    for queue in 0..QUEUES {
        let mut offset = 0;
        loop {
            let r = client
                .invoke_sync(
                    Some(&addr),
                    broker_requests::pull_request(&broker_requests::pull_header(
                        "CG_bench", TOPIC, queue, offset,
                    )),
                    TIMEOUT,
                )
                .expect("pull");
            if r.code != response_code::SUCCESS {
                break;
            }
            let h = PullMessageResponseHeader::read_from(&r.ext_fields).expect("pull header");
            pulled += (h.next_begin_offset - offset) as usize;
            bytes += r.body.len();
            offset = h.next_begin_offset;
        }
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let pull_row = Row::rate(
        format!("pull 1t {size}B ({pulled} msgs)"),
        pulled as f64,
        bytes as f64,
        elapsed,
    );
    client.shutdown();
    broker.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    (send_row, pull_row)
}

/// 50,000 async sends from one client at once: (row, refused by OVERLOAD, refused by
/// TIMEOUT_CLEAN_QUEUE, other failures).
fn bench_burst() -> (Row, u64, u64, u64) {
    const BURST: usize = 50_000;
    let dir = store_dir("burst");
    let (broker, addr, client) = start_broker(&dir, FlushDiskType::AsyncFlush);
    let counts = Arc::new(std::sync::Mutex::new((0u64, 0u64, 0u64, 0u64)));
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(BURST);
    let body = vec![b'b'; 128];
    let begin = Instant::now();
    for i in 0..BURST {
        let (counts, done) = (counts.clone(), done_tx.clone());
        let request = send_request((i % QUEUES as usize) as i32, &body);
        client
            .invoke_async(Some(&addr), request, TIMEOUT, move |result| {
                let mut c = counts.lock().expect("counts");
                match result {
                    Ok(r) if r.code == response_code::SUCCESS => c.0 += 1,
                    Ok(r)
                        if r.remark
                            .as_deref()
                            .is_some_and(|m| m.starts_with("[OVERLOAD]")) =>
                    {
                        c.1 += 1
                    }
                    Ok(r)
                        if r.remark
                            .as_deref()
                            .is_some_and(|m| m.starts_with("[TIMEOUT_CLEAN_QUEUE]")) =>
                    {
                        c.2 += 1
                    }
                    _ => c.3 += 1,
                }
                let _ = done.send(());
            })
            .expect("async send");
    }
    for _ in 0..BURST {
        done_rx.recv().expect("every callback runs");
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let (ok, overload, timeout, other) = *counts.lock().expect("counts");
    client.shutdown();
    broker.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    let row = Row::rate(
        "burst 50,000 async 128B".into(),
        ok as f64,
        ok as f64 * 128.0,
        elapsed,
    );
    (row, overload, timeout, other)
}

/// Counts the SYSTEM_BUSY answers a producer's requests get, by their remark's tag.
#[derive(Default)]
struct BusyCounter {
    overload: AtomicU64,
    timeout: AtomicU64,
}

impl RpcHook for BusyCounter {
    fn do_before_request(&self, _: &str, _: &mut RemotingCommand) -> Result<(), AbortProcess> {
        Ok(())
    }

    fn do_after_response(&self, _: &str, _: &RemotingCommand, response: &mut RemotingCommand) {
        if response.code != response_code::SYSTEM_BUSY {
            return;
        }
        let remark = response.remark.as_deref().unwrap_or("");
        if remark.starts_with("[OVERLOAD]") {
            self.overload.fetch_add(1, Ordering::Relaxed);
        } else if remark.starts_with("[TIMEOUT_CLEAN_QUEUE]") {
            self.timeout.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// 50,000 `send_async` calls in a row from one `Producer` with its defaults: (row, busy
/// answers `[OVERLOAD]`, busy answers `[TIMEOUT_CLEAN_QUEUE]`, failed sends).
fn bench_producer_burst() -> (Row, u64, u64, u64) {
    const BURST: usize = 50_000;
    let cluster = LocalCluster::start().expect("cluster");
    let busy = Arc::new(BusyCounter::default());
    let producer = Producer::builder("PG_burst")
        .name_server(cluster.name_server_addr())
        .rpc_hook(busy.clone())
        .start()
        .expect("producer");
    producer
        .send(&Message::new(TOPIC, "warm-up"))
        .expect("warm-up send");
    let failed = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(BURST);
    let body = vec![b'b'; 128];
    let begin = Instant::now();
    for _ in 0..BURST {
        let (failed, done) = (failed.clone(), done_tx.clone());
        let message = Message::new(TOPIC, body.clone()).with_tags("bench");
        producer
            .send_async(&message, move |result| {
                if result.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                let _ = done.send(());
            })
            .expect("async send accepted");
    }
    for _ in 0..BURST {
        done_rx.recv().expect("every callback runs");
    }
    let elapsed = begin.elapsed().as_secs_f64();
    producer.shutdown();
    cluster.shutdown();
    let failed = failed.load(Ordering::Relaxed);
    let ok = BURST as u64 - failed;
    let row = Row::rate(
        "burst 50,000 Producer 128B".into(),
        ok as f64,
        ok as f64 * 128.0,
        elapsed,
    );
    let overload = busy.overload.load(Ordering::Relaxed);
    let timeout = busy.timeout.load(Ordering::Relaxed);
    (row, overload, timeout, failed)
}

fn main() {
    let mut seconds = 2.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            other => {
                eprintln!("unknown argument {other}; usage: broker_bench [--seconds <s>]");
                std::process::exit(2);
            }
        }
    }
    let run_for = Duration::from_secs_f64(seconds);
    let mut rows = Vec::new();
    for flush in [FlushDiskType::AsyncFlush, FlushDiskType::SyncFlush] {
        for size in [128, 4096] {
            for threads in [1, 8] {
                let (send, pull) = bench_send(threads, size, flush, run_for);
                rows.push(send);
                if threads == 8 && flush == FlushDiskType::AsyncFlush {
                    rows.push(pull);
                }
            }
        }
    }
    let (burst, overload, timeout, other) = bench_burst();
    rows.push(burst);
    let (producer_burst, busy_overload, busy_timeout, failed) = bench_producer_burst();
    rows.push(producer_burst);
    println!(
        "{:<32} {:>10} {:>8} {:>9} {:>9}",
        "case", "msgs/s", "MiB/s", "p50 µs", "p99 µs"
    );
    for r in rows {
        let us = |v: f64| {
            if v.is_nan() {
                "-".to_string()
            } else {
                format!("{v:.0}")
            }
        };
        println!(
            "{:<32} {:>10.0} {:>8.1} {:>9} {:>9}",
            r.case,
            r.msgs_per_s,
            r.mib_per_s,
            us(r.p50_us),
            us(r.p99_us)
        );
    }
    println!(
        "burst refused: {overload} [OVERLOAD], {timeout} [TIMEOUT_CLEAN_QUEUE], {other} other \
         (baseline: the \"send 8t 128B async\" row of this run)"
    );
    println!(
        "producer burst: {busy_overload} [OVERLOAD], {busy_timeout} [TIMEOUT_CLEAN_QUEUE] answers, \
         {failed} sends failed"
    );
}
