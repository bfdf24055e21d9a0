//! Remoting benchmark: our client and server against a raw `std::net` ping-pong, in one run.
//!
//! `cargo run --release --example remoting_bench [-- --seconds <s>] [--load]`
//!
//! Prints a table, then machine-readable lines last: `RATIO <name> <ours/raw>` and `RPS <name> <n>`.
//! With the `tls` feature, the sync cases also run over TLS (a server enforcing TLS with the
//! test certificates of tests/fixtures/tls), with `RATIO tls_* <tls/plain>` against ours in plain.
//! The raw cases are a thread per connection echoing fixed-size messages; the "raw relay" case
//! adds the hand-offs our layout makes (server reader → processor thread, client reader →
//! caller), so `RATIO sync_1t_p50_vs_relay` is what framing, headers and the library cost.
//! `--load` runs everything with a CPU-bound competitor on every core: a busy loop in a child
//! process started under `nice -n 19` (the raw baseline competes with it too).
//!
//! `cargo run --release --example remoting_bench -- --connections 10000`
//!
//! Opens that many idle connections to a server in a child process, and prints what each
//! costs the server (file descriptors, threads, resident memory) and the p50 of calls on one
//! more connection, before and after. Needs `ulimit -n` above the connection count (each
//! side holds one descriptor per connection): `ulimit -n 25000` first if it is lower.

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

const USAGE: &str =
    "usage: remoting_bench [--seconds <s>] [--load] [--only <case>] [--spin-us <us>] [--connections <n>]";

fn main() {
    let mut seconds = 2.0f64;
    let mut only: Option<String> = None;
    let mut load = false;
    let mut connections: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--only" => only = args.next(),
            "--load" => load = true,
            "--spin-us" => {
                let us = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
                let _ = SPIN_US.set(us);
            }
            "--connections" => connections = args.next().and_then(|s| s.parse().ok()),
            // The child processes this benchmark starts.
            "--busy-loop" => return busy_loop(),
            "--serve" => return serve_until_stdin_closes(),
            "--bench" => {} // passed by `cargo bench`-style runners; ignored
            other => {
                eprintln!("unknown argument {other}; {USAGE}");
                std::process::exit(2);
            }
        }
    }
    let run_for = Duration::from_secs_f64(seconds);
    let _competitor = load.then(Competitor::start);
    if let Some(n) = connections {
        return idle_connections::run(n, run_for);
    }

    let raw_addr = start_raw_echo_server();
    let oneway_count = Arc::new(AtomicU64::new(0));
    let server = start_echo_server(oneway_count.clone());
    let addr = server.local_addr().to_string();

    if let Some(case) = only {
        // Profiling aid: run one of our cases alone, e.g. `--only sync32`.
        let raw = match case.as_str() {
            "sync1" => Some(raw_ping_pong(
                "raw 1 thread 128 B",
                raw_addr,
                1,
                SMALL,
                run_for,
            )),
            "sync64k" => Some(raw_ping_pong(
                "raw 1 thread 64 KiB",
                raw_addr,
                1,
                LARGE,
                run_for,
            )),
            _ => None,
        };
        let sample = match case.as_str() {
            "sync1" => sync_calls("sync 1 thread 128 B", &addr, 1, SMALL, run_for),
            "sync32" => sync_calls("sync 32 threads 128 B", &addr, 32, SMALL, run_for),
            "sync64k" => sync_calls("sync 1 thread 64 KiB", &addr, 1, LARGE, run_for),
            "async" => async_calls("async 1000 in flight 128 B", &addr, 1000, run_for),
            _ => oneway_calls("oneway 128 B (server count)", &addr, &oneway_count, run_for),
        };
        println!("{} {:.0} req/s", sample.name, sample.rps);
        if let Some(raw) = raw {
            let p50 = |s: &Sample| {
                s.percentile(0.5)
                    .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
            };
            println!(
                "p50 {:.1} µs, raw {:.1} µs: ratio {:.3}",
                p50(&sample),
                p50(&raw),
                p50(&sample) / p50(&raw)
            );
        }
        return;
    }
    let raw_1t = raw_ping_pong("raw 1 thread 128 B", raw_addr, 1, SMALL, run_for);
    let raw_32t = raw_ping_pong("raw 32 threads 128 B", raw_addr, 32, SMALL, run_for);
    let raw_64k = raw_ping_pong("raw 1 thread 64 KiB", raw_addr, 1, LARGE, run_for);
    let relay_1t = relay_ping_pong(
        "raw relay 1 thread 128 B",
        start_relay_echo_server(),
        run_for,
    );

    let sync_1t = sync_calls("sync 1 thread 128 B", &addr, 1, SMALL, run_for);
    let sync_32t = sync_calls("sync 32 threads 128 B", &addr, 32, SMALL, run_for);
    let sync_64k = sync_calls("sync 1 thread 64 KiB", &addr, 1, LARGE, run_for);
    let async_1000 = async_calls("async 1000 in flight 128 B", &addr, 1000, run_for);
    let oneway = oneway_calls("oneway 128 B (server count)", &addr, &oneway_count, run_for);
    server.shutdown();
    #[cfg(feature = "tls")]
    let tls = tls_cases::run(run_for);

    #[allow(unused_mut)] // only the tls feature adds rows
    let mut samples = vec![
        &raw_1t,
        &raw_32t,
        &raw_64k,
        &relay_1t,
        &sync_1t,
        &sync_32t,
        &sync_64k,
        &async_1000,
        &oneway,
    ];
    #[cfg(feature = "tls")]
    samples.extend([&tls.sync_1t, &tls.sync_32t, &tls.sync_64k]);
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
    if load {
        println!("(with a nice 19 busy loop on every core)");
    }
    println!("RATIO sync_1t_p50 {:.3}", p50(&sync_1t) / p50(&raw_1t));
    println!(
        "RATIO sync_1t_p50_vs_relay {:.3}",
        p50(&sync_1t) / p50(&relay_1t)
    );
    println!("RATIO sync_32t_rps {:.3}", sync_32t.rps / raw_32t.rps);
    println!("RATIO sync_64k_rps {:.3}", sync_64k.rps / raw_64k.rps);
    println!("RPS async {:.0}", async_1000.rps);
    println!("RPS oneway {:.0}", oneway.rps);
    #[cfg(feature = "tls")]
    {
        println!(
            "RATIO tls_sync_1t_p50_vs_plain {:.3}",
            p50(&tls.sync_1t) / p50(&sync_1t)
        );
        println!(
            "RATIO tls_sync_32t_rps_vs_plain {:.3}",
            tls.sync_32t.rps / sync_32t.rps
        );
        println!(
            "RATIO tls_sync_64k_rps_vs_plain {:.3}",
            tls.sync_64k.rps / sync_64k.rps
        );
    }
}

/// The sync cases over TLS: an enforcing server with the test certificates.
#[cfg(feature = "tls")]
mod tls_cases {
    use super::*;
    use rocketmq_blocking::remoting::{TlsClientConfig, TlsMode};

    pub(super) struct TlsSamples {
        pub(super) sync_1t: Sample,
        pub(super) sync_32t: Sample,
        pub(super) sync_64k: Sample,
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name)
    }

    pub(super) fn run(run_for: Duration) -> TlsSamples {
        let mut config = ServerConfig::listen("127.0.0.1:0");
        config.tls_mode = TlsMode::Enforcing;
        config.tls_cert = Some(fixture("server.pem"));
        config.tls_key = Some(fixture("server.key"));
        let server = RemotingServer::new(config).expect("bind TLS echo server");
        echo::register_echo(&server).expect("register echo");
        server.start().expect("start TLS echo server");
        let addr = server.local_addr().to_string();
        let client = || {
            let mut config = client_config();
            config.tls = Some(TlsClientConfig::with_ca_file(fixture("ca.pem")));
            config
        };
        let samples = TlsSamples {
            sync_1t: sync_calls_with(
                "tls sync 1 thread 128 B",
                &addr,
                1,
                SMALL,
                run_for,
                client(),
            ),
            sync_32t: sync_calls_with(
                "tls sync 32 threads 128 B",
                &addr,
                32,
                SMALL,
                run_for,
                client(),
            ),
            sync_64k: sync_calls_with(
                "tls sync 1 thread 64 KiB",
                &addr,
                1,
                LARGE,
                run_for,
                client(),
            ),
        };
        server.shutdown();
        samples
    }
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

/// The floor for our thread layout: the same round trip with the same hand-offs (the server's
/// reader passes each message to a worker thread that answers; the client's reader passes
/// each answer to the waiting caller), still with no framing or headers.
fn start_relay_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay server");
    let addr = listener.local_addr().expect("relay addr");
    thread::Builder::new()
        .name("relay-accept".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                stream.set_nodelay(true).ok();
                let mut writer = stream.try_clone().expect("clone");
                let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
                thread::spawn(move || {
                    for message in rx {
                        if writer.write_all(&message).is_err() {
                            return;
                        }
                    }
                });
                thread::spawn(move || relay_reader(stream, tx));
            }
        })
        .expect("spawn relay accept");
    addr
}

/// Reads fixed-size messages (size sent first) and passes each on.
fn relay_reader(mut stream: TcpStream, to: crossbeam_channel::Sender<Vec<u8>>) {
    let mut size = [0u8; 4];
    if stream.read_exact(&mut size).is_err() {
        return;
    }
    let mut buf = vec![0u8; u32::from_be_bytes(size) as usize];
    while stream.read_exact(&mut buf).is_ok() {
        if to.send(buf.clone()).is_err() {
            return;
        }
    }
}

fn relay_ping_pong(name: &'static str, addr: SocketAddr, run_for: Duration) -> Sample {
    run_threads(name, 1, run_for, || {
        let mut stream = TcpStream::connect(addr).expect("connect relay");
        stream.set_nodelay(true).ok();
        let size = (SMALL as u32).to_be_bytes();
        stream.write_all(&size).expect("relay size");
        let mut reader = stream.try_clone().expect("clone");
        let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        thread::spawn(move || {
            let mut buf = vec![0u8; SMALL];
            while reader.read_exact(&mut buf).is_ok() {
                if tx.send(buf.clone()).is_err() {
                    return;
                }
            }
        });
        let out = vec![7u8; SMALL];
        move || {
            stream.write_all(&out).expect("relay write");
            rx.recv().expect("relay answer");
        }
    })
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

/// `--spin-us`: the sync callers' spin, when not the default (for tuning).
static SPIN_US: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    if let Some(us) = SPIN_US.get() {
        config.common.sync_spin = Duration::from_micros(*us);
    }
    config
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
    sync_calls_with(name, addr, threads, size, run_for, client_config())
}

fn sync_calls_with(
    name: &'static str,
    addr: &str,
    threads: usize,
    size: usize,
    run_for: Duration,
    config: ClientConfig,
) -> Sample {
    let client = Arc::new(RemotingClient::new(config).expect("client"));
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

/// A CPU-bound process competing for every core, under `nice -n 19`; killed when dropped.
struct Competitor {
    child: std::process::Child,
}

impl Competitor {
    fn start() -> Competitor {
        let exe = std::env::current_exe().expect("own path");
        let child = std::process::Command::new("nice")
            .args(["-n", "19"])
            .arg(exe)
            .arg("--busy-loop")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("start the busy loop (needs `nice`)");
        Competitor { child }
    }
}

impl Drop for Competitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spins on every core until stdin closes (the parent exited or dropped us).
fn busy_loop() {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    for _ in 0..cores {
        thread::spawn(|| {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
    }
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// The server side of `--connections`: an echo server that prints its address, serves until
/// its stdin closes, then shuts down.
fn serve_until_stdin_closes() {
    let mut config = ServerConfig::listen("127.0.0.1:0");
    config.max_connections = usize::MAX;
    let server = RemotingServer::new(config).expect("bind");
    echo::register_echo(&server).expect("register echo");
    server.start().expect("start");
    println!("ADDR {}", server.local_addr());
    std::io::stdout().flush().expect("stdout");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.shutdown();
}

mod idle_connections {
    //! `--connections N`: what idle connections cost a server, measured from outside it.

    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use rocketmq_blocking::remoting::{ClientConfig, RemotingClient};

    use super::{echo_request, run_threads, Sample, SMALL, TIMEOUT};

    /// What `/proc/<pid>` says of the server process.
    #[derive(Debug, Clone, Copy)]
    struct Usage {
        fds: usize,
        threads: u64,
        rss_kib: u64,
        virtual_kib: u64,
    }

    fn usage(pid: u32) -> Usage {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Usage {
            fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count()),
            threads: field("Threads:"),
            rss_kib: field("VmRSS:"),
            virtual_kib: field("VmSize:"),
        }
    }

    fn start_server() -> (Child, String) {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server address");
        let addr = line
            .strip_prefix("ADDR ")
            .expect("ADDR line")
            .trim()
            .to_string();
        (child, addr)
    }

    /// One connection that has made one echo call and then stays open, idle.
    fn idle_connection(addr: &str, frame: &[u8]) -> std::io::Result<TcpStream> {
        let mut stream = TcpStream::connect(addr)?;
        stream.write_all(frame)?;
        let mut prefix = [0u8; 4];
        std::io::Read::read_exact(&mut stream, &mut prefix)?;
        let mut rest = vec![0u8; u32::from_be_bytes(prefix) as usize];
        std::io::Read::read_exact(&mut stream, &mut rest)?;
        Ok(stream)
    }

    fn sync_p50(client: &Arc<RemotingClient>, addr: &str, run_for: Duration) -> Sample {
        run_threads("sync 1 thread 128 B", 1, run_for, || {
            let (client, addr) = (client.clone(), addr.to_string());
            move || {
                client
                    .invoke_sync(Some(&addr), echo_request(SMALL), TIMEOUT)
                    .expect("sync call");
            }
        })
    }

    pub(super) fn run(n: usize, run_for: Duration) {
        let (mut server, addr) = start_server();
        let pid = server.id();
        let client = Arc::new(RemotingClient::new(ClientConfig::default()).expect("client"));
        let before_calls = sync_p50(&client, &addr, run_for);
        let before = usage(pid);

        let frame = echo_request(SMALL).encode().expect("encode");
        let begin = Instant::now();
        let mut idle = Vec::with_capacity(n);
        for i in 0..n {
            match idle_connection(&addr, &frame) {
                Ok(stream) => idle.push(stream),
                Err(e) => {
                    eprintln!(
                        "connection {i} failed: {e} (is `ulimit -n` above {}?)",
                        n + 100
                    );
                    break;
                }
            }
        }
        let opened = idle.len();
        eprintln!("{opened} idle connections opened in {:?}", begin.elapsed());
        let after = usage(pid);
        let after_calls = sync_p50(&client, &addr, run_for);
        client.shutdown();
        drop(idle);
        drop(server.stdin.take()); // the server shuts down
        let _ = server.wait();

        let per = |a: u64, b: u64| (a as f64 - b as f64) / opened.max(1) as f64;
        let us = |s: &Sample| {
            s.percentile(0.5)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
        };
        println!(
            "| | server fds | server threads | server RSS | p50 of a call on one more connection |"
        );
        println!("|---|---|---|---|---|");
        println!(
            "| 1 connection | {} | {} | {:.1} MiB | {:.0} µs |",
            before.fds,
            before.threads,
            before.rss_kib as f64 / 1024.0,
            us(&before_calls)
        );
        println!(
            "| + {opened} idle | {} | {} | {:.1} MiB | {:.0} µs |",
            after.fds,
            after.threads,
            after.rss_kib as f64 / 1024.0,
            us(&after_calls)
        );
        println!(
            "| per idle connection | {:.2} | {:.2} | {:.1} KiB (virtual {:.0} KiB) | |",
            per(after.fds as u64, before.fds as u64),
            per(after.threads, before.threads),
            per(after.rss_kib, before.rss_kib),
            per(after.virtual_kib, before.virtual_kib)
        );
        println!("CONNECTIONS {opened}");
        println!(
            "PER_CONNECTION fds {:.3}",
            per(after.fds as u64, before.fds as u64)
        );
        println!(
            "PER_CONNECTION threads {:.3}",
            per(after.threads, before.threads)
        );
        println!(
            "PER_CONNECTION rss_kib {:.2}",
            per(after.rss_kib, before.rss_kib)
        );
        println!(
            "P50_US before {:.1} after {:.1}",
            us(&before_calls),
            us(&after_calls)
        );
    }
}
