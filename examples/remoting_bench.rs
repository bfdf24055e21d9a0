//! Remoting benchmark: our client and server against a raw `std::net` ping-pong, in one run.
//!
//! `cargo run --release --example remoting_bench [-- --seconds <s>]`
//!
//! Prints a table, then machine-readable lines last: `RATIO <name> <ours/raw>` and `RPS <name> <n>`.

#[path = "common/echo.rs"]
mod echo;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{
    ClientConfig, PoolConfig, ProcessorError, RemotingClient, RemotingServer, RequestContext,
    ServerConfig,
};

const SMALL: usize = 128;
const LARGE: usize = 64 * 1024;
const ONEWAY_CODE: i32 = 2;
const TIMEOUT: Duration = Duration::from_secs(10);

/// What one measurement produced.
struct Sample {
    name: &'static str,
    rps: f64,
    latencies: Vec<Duration>,
}

impl Sample {
    fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        Some(sorted[((sorted.len() - 1) as f64 * p) as usize])
    }
}

fn main() {
    let mut seconds = 2.0f64;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--only" => only = args.next(),
            "--bench" => {} // passed by `cargo bench`-style runners; ignored
            other => {
                eprintln!("unknown argument {other}; usage: remoting_bench [--seconds <s>]");
                std::process::exit(2);
            }
        }
    }
    let run_for = Duration::from_secs_f64(seconds);

    let raw_addr = start_raw_echo_server();
    let oneway_count = Arc::new(AtomicU64::new(0));
    let server = start_echo_server(oneway_count.clone());
    let addr = server.local_addr().to_string();

    if let Some(case) = only {
        // Profiling aid: run one of our cases alone, e.g. `--only sync32`.
        let sample = match case.as_str() {
            "sync1" => sync_calls("sync 1 thread 128 B", &addr, 1, SMALL, run_for),
            "sync32" => sync_calls("sync 32 threads 128 B", &addr, 32, SMALL, run_for),
            "sync64k" => sync_calls("sync 1 thread 64 KiB", &addr, 1, LARGE, run_for),
            "async" => async_calls("async 1000 in flight 128 B", &addr, 1000, run_for),
            _ => oneway_calls("oneway 128 B (server count)", &addr, &oneway_count, run_for),
        };
        println!("{} {:.0} req/s", sample.name, sample.rps);
        return;
    }
    let raw_1t = raw_ping_pong("raw 1 thread 128 B", raw_addr, 1, SMALL, run_for);
    let raw_32t = raw_ping_pong("raw 32 threads 128 B", raw_addr, 32, SMALL, run_for);
    let raw_64k = raw_ping_pong("raw 1 thread 64 KiB", raw_addr, 1, LARGE, run_for);

    let sync_1t = sync_calls("sync 1 thread 128 B", &addr, 1, SMALL, run_for);
    let sync_32t = sync_calls("sync 32 threads 128 B", &addr, 32, SMALL, run_for);
    let sync_64k = sync_calls("sync 1 thread 64 KiB", &addr, 1, LARGE, run_for);
    let async_1000 = async_calls("async 1000 in flight 128 B", &addr, 1000, run_for);
    let oneway = oneway_calls("oneway 128 B (server count)", &addr, &oneway_count, run_for);
    server.shutdown();

    let samples = [
        &raw_1t,
        &raw_32t,
        &raw_64k,
        &sync_1t,
        &sync_32t,
        &sync_64k,
        &async_1000,
        &oneway,
    ];
    println!(
        "{:<30} {:>12} {:>10} {:>10}",
        "case", "req/s", "p50 µs", "p99 µs"
    );
    for s in samples {
        let us = |d: Option<Duration>| {
            d.map_or("-".to_string(), |d| format!("{:.0}", d.as_secs_f64() * 1e6))
        };
        println!(
            "{:<30} {:>12.0} {:>10} {:>10}",
            s.name,
            s.rps,
            us(s.percentile(0.5)),
            us(s.percentile(0.99))
        );
    }
    let p50 = |s: &Sample| s.percentile(0.5).map_or(f64::NAN, |d| d.as_secs_f64());
    println!("RATIO sync_1t_p50 {:.3}", p50(&sync_1t) / p50(&raw_1t));
    println!("RATIO sync_32t_rps {:.3}", sync_32t.rps / raw_32t.rps);
    println!("RATIO sync_64k_rps {:.3}", sync_64k.rps / raw_64k.rps);
    println!("RPS async {:.0}", async_1000.rps);
    println!("RPS oneway {:.0}", oneway.rps);
}

fn start_echo_server(oneway_count: Arc<AtomicU64>) -> RemotingServer {
    let server =
        RemotingServer::new(ServerConfig::listen("127.0.0.1:0")).expect("bind echo server");
    echo::register_echo(&server).expect("register echo");
    let count = move |_: &RequestContext,
                      _: RemotingCommand|
          -> Result<Option<RemotingCommand>, ProcessorError> {
        oneway_count.fetch_add(1, Ordering::Relaxed);
        Ok(None)
    };
    server
        .register_processor(
            ONEWAY_CODE,
            count,
            PoolConfig {
                threads: 2,
                queue_capacity: 1_000_000,
            },
        )
        .expect("register counter");
    server.start().expect("start echo server");
    server
}

/// The floor: a thread per connection echoing fixed-size messages, no framing, no headers.
fn start_raw_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind raw server");
    let addr = listener.local_addr().expect("raw addr");
    thread::Builder::new()
        .name("raw-accept".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || raw_echo(stream));
            }
        })
        .expect("spawn raw accept");
    addr
}

fn raw_echo(mut stream: TcpStream) {
    stream.set_nodelay(true).ok();
    let mut size = [0u8; 4];
    if stream.read_exact(&mut size).is_err() {
        return;
    }
    let mut buf = vec![0u8; u32::from_be_bytes(size) as usize];
    while stream.read_exact(&mut buf).is_ok() {
        if stream.write_all(&buf).is_err() {
            return;
        }
    }
}

/// Runs `threads` copies of `one_call` for `run_for`, collecting per-call latencies.
fn run_threads<F>(
    name: &'static str,
    threads: usize,
    run_for: Duration,
    make: impl Fn() -> F,
) -> Sample
where
    F: FnMut() + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let warmup = Duration::from_millis(300);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let mut call = make();
            let stop = stop.clone();
            thread::spawn(move || {
                let start = Instant::now();
                while start.elapsed() < warmup {
                    call();
                }
                let mut latencies = Vec::with_capacity(100_000);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    call();
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    thread::sleep(warmup);
    let begin = Instant::now();
    thread::sleep(run_for);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.join().expect("bench thread"));
    }
    let elapsed = begin.elapsed().as_secs_f64();
    Sample {
        name,
        rps: latencies.len() as f64 / elapsed,
        latencies,
    }
}

fn raw_ping_pong(
    name: &'static str,
    addr: SocketAddr,
    threads: usize,
    size: usize,
    run_for: Duration,
) -> Sample {
    run_threads(name, threads, run_for, || {
        let mut stream = TcpStream::connect(addr).expect("connect raw");
        stream.set_nodelay(true).ok();
        stream
            .write_all(&(size as u32).to_be_bytes())
            .expect("raw size");
        let out = vec![7u8; size];
        let mut back = vec![0u8; size];
        move || {
            stream.write_all(&out).expect("raw write");
            stream.read_exact(&mut back).expect("raw read");
        }
    })
}

fn echo_request(size: usize) -> RemotingCommand {
    RemotingCommand::new_request(echo::ECHO_CODE).with_body(vec![7u8; size])
}

fn sync_calls(
    name: &'static str,
    addr: &str,
    threads: usize,
    size: usize,
    run_for: Duration,
) -> Sample {
    let client = Arc::new(RemotingClient::new(ClientConfig::default()).expect("client"));
    let sample = run_threads(name, threads, run_for, || {
        let client = client.clone();
        let addr = addr.to_string();
        move || {
            let resp = client
                .invoke_sync(Some(&addr), echo_request(size), TIMEOUT)
                .expect("sync call");
            assert_eq!(resp.body.len(), size);
        }
    });
    client.shutdown();
    sample
}

fn async_calls(name: &'static str, addr: &str, in_flight: usize, run_for: Duration) -> Sample {
    let client = RemotingClient::new(ClientConfig::default()).expect("client");
    let (tokens_tx, tokens_rx) = bounded::<()>(in_flight);
    for _ in 0..in_flight {
        tokens_tx.send(()).expect("token");
    }
    let done = Arc::new(AtomicU64::new(0));
    let run = |duration: Duration| {
        let begin = Instant::now();
        let start_count = done.load(Ordering::Relaxed);
        while begin.elapsed() < duration {
            tokens_rx.recv().expect("token");
            let (tokens_tx, done) = (tokens_tx.clone(), done.clone());
            client
                .invoke_async(Some(addr), echo_request(SMALL), TIMEOUT, move |result| {
                    result.expect("async call");
                    done.fetch_add(1, Ordering::Relaxed);
                    let _ = tokens_tx.send(());
                })
                .expect("invoke_async");
        }
        (done.load(Ordering::Relaxed) - start_count) as f64 / begin.elapsed().as_secs_f64()
    };
    run(Duration::from_millis(300));
    let rps = run(run_for);
    for _ in 0..in_flight {
        tokens_rx
            .recv_timeout(TIMEOUT)
            .expect("drain in-flight calls");
    }
    client.shutdown();
    Sample {
        name,
        rps,
        latencies: Vec::new(),
    }
}

fn oneway_calls(name: &'static str, addr: &str, count: &AtomicU64, run_for: Duration) -> Sample {
    let client = RemotingClient::new(ClientConfig::default()).expect("client");
    let request = || RemotingCommand::new_request(ONEWAY_CODE).with_body(vec![7u8; SMALL]);
    let before = count.load(Ordering::Relaxed);
    let begin = Instant::now();
    let mut sent = 0u64;
    while begin.elapsed() < run_for {
        for _ in 0..100 {
            client
                .invoke_oneway(Some(addr), request(), TIMEOUT)
                .expect("oneway");
        }
        sent += 100;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while count.load(Ordering::Relaxed) - before < sent && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    let processed = count.load(Ordering::Relaxed) - before;
    let elapsed = begin.elapsed().as_secs_f64();
    client.shutdown();
    if processed < sent {
        eprintln!("oneway: the server processed {processed} of {sent} requests");
    }
    Sample {
        name,
        rps: processed as f64 / elapsed,
        latencies: Vec::new(),
    }
}
