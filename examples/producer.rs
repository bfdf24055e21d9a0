//! Producer: sends `--count` messages to a topic and reports how many the brokers took.
//!
//! `cargo run --release --example producer -- --namesrv <ip:port> --topic <t> --count <n>
//!  --mode sync|async|oneway|batch [--size <bytes>] [--group <g>] [--tag <tag>]
//!  [--property <k=v>]... [--delay-ms <ms> | --deliver-at <epoch ms>] [--print-due]
//!  [--access-key <ak> --secret-key <sk>] [--namespace <ns>] [--tls [--tls-ca <pem>]]`
//!
//! The last line printed is `sent <n> ok <k> failed <f>`; the exit status is 0 only when
//! f = 0. Logs go to stderr (`RUST_LOG`-style level in `RMQ_LOG`, default warn).
//!
//! `--property k=v` (repeatable) adds a user property to every message, so that a SQL92
//! subscription has something to filter. `--delay-ms` and
//! `--deliver-at` make timer messages (RocketMQ 5: delivered that long after the broker stores
//! them, or at that time); with `--print-due` each message sent (sync, async, batch) prints
//! `id <msgId> due <epoch ms>` (for `--delay-ms`, the send's start plus the delay: never later
//! than the broker's own due time).

#[path = "common/client_options.rs"]
#[macro_use]
mod client_options;
#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;
#[path = "common/tls_args.rs"]
mod tls_args;

use std::io::Write;
use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq_blocking::client::{ClientError, Message, Producer, SendResult};

/// Messages per batch request in `--mode batch` (also bounded by the 4 MiB body limit).
const BATCH_SIZE: usize = 32;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024 - 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Async,
    Oneway,
    Batch,
}

struct Args {
    namesrv: String,
    topic: String,
    count: usize,
    mode: Mode,
    size: usize,
    group: String,
    tag: String,
    properties: Vec<(String, String)>,
    timer: Option<Timer>,
    print_due: bool,
    client: client_options::ClientOptions,
}

/// When timer messages are due.
#[derive(Clone, Copy)]
enum Timer {
    /// `--delay-ms`: this long after the broker stores them.
    Delay(Duration),
    /// `--deliver-at`: at this time, ms since the Unix epoch.
    At(u64),
}

const USAGE: &str = "usage: producer --namesrv <ip:port> --topic <t> --count <n> \
    --mode sync|async|oneway|batch [--size <bytes>] [--group <g>] [--tag <tag>] \
    [--property <k=v>]... [--delay-ms <ms> | --deliver-at <epoch ms>] [--print-due] \
    [--access-key <ak> --secret-key <sk>] [--namespace <ns>] [--tls [--tls-ca <pem>]]";

fn parse_args() -> Args {
    let mut namesrv = None;
    let mut topic = None;
    let mut count = None;
    let mut mode = None;
    let mut size = 128usize;
    let mut group = "example_producer_group".to_string();
    let mut tag = "TagA".to_string();
    let mut properties = Vec::new();
    let mut timer = None;
    let mut print_due = false;
    let mut client = client_options::ClientOptions::default();
    let mut args = std::env::args().skip(1);
    let value = |args: &mut dyn Iterator<Item = String>, name: &str| {
        args.next()
            .unwrap_or_else(|| fail_usage(&format!("{name} needs a value")))
    };
    while let Some(arg) = args.next() {
        match client.take(&arg, &mut args) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(problem) => fail_usage(&problem),
        }
        match arg.as_str() {
            "--namesrv" => namesrv = Some(value(&mut args, "--namesrv")),
            "--topic" => topic = Some(value(&mut args, "--topic")),
            "--count" => {
                count = Some(
                    value(&mut args, "--count")
                        .parse()
                        .unwrap_or_else(|_| fail_usage("--count must be a number")),
                )
            }
            "--mode" => {
                mode = Some(match value(&mut args, "--mode").as_str() {
                    "sync" => Mode::Sync,
                    "async" => Mode::Async,
                    "oneway" => Mode::Oneway,
                    "batch" => Mode::Batch,
                    other => fail_usage(&format!("unknown mode {other}")),
                })
            }
            "--size" => {
                size = value(&mut args, "--size")
                    .parse()
                    .unwrap_or_else(|_| fail_usage("--size must be a number"))
            }
            "--group" => group = value(&mut args, "--group"),
            "--tag" => tag = value(&mut args, "--tag"),
            "--property" => {
                let pair = value(&mut args, "--property");
                let Some((k, v)) = pair.split_once('=') else {
                    fail_usage("--property takes key=value")
                };
                properties.push((k.to_string(), v.to_string()));
            }
            "--delay-ms" => {
                let ms: u64 = value(&mut args, "--delay-ms")
                    .parse()
                    .unwrap_or_else(|_| fail_usage("--delay-ms takes milliseconds, 0 or more"));
                timer = Some(Timer::Delay(Duration::from_millis(ms)));
            }
            "--deliver-at" => {
                let at: u64 = value(&mut args, "--deliver-at")
                    .parse()
                    .unwrap_or_else(|_| fail_usage("--deliver-at takes ms since the Unix epoch"));
                timer = Some(Timer::At(at));
            }
            "--print-due" => print_due = true,
            other => fail_usage(&format!("unknown argument {other}")),
        }
    }
    Args {
        namesrv: namesrv.unwrap_or_else(|| fail_usage("--namesrv is required")),
        topic: topic.unwrap_or_else(|| fail_usage("--topic is required")),
        count: count.unwrap_or_else(|| fail_usage("--count is required")),
        mode: mode.unwrap_or_else(|| fail_usage("--mode is required")),
        size,
        group,
        tag,
        properties,
        timer,
        print_due,
        client: client
            .check()
            .map(|()| client)
            .unwrap_or_else(|problem| fail_usage(&problem)),
    }
}

fn fail_usage(problem: &str) -> ! {
    eprintln!("{problem}\n{USAGE}");
    exit(2)
}

fn main() {
    let level = std::env::var("RMQ_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(simplelog::LevelFilter::Warn);
    logging::init(level);
    let args = Arc::new(parse_args());
    let builder = Producer::builder(args.group.clone()).name_server(&args.namesrv);
    let producer = apply_client_options!(builder, &args.client)
        .start()
        .unwrap_or_else(|e| {
            eprintln!("producer did not start: {}", report::error_chain(&e));
            println!("sent {} ok 0 failed {}", args.count, args.count);
            exit(1)
        });

    let begin = Instant::now();
    let ok = match args.mode {
        Mode::Sync => send_sync(&producer, &args),
        Mode::Async => send_async(&producer, &args),
        Mode::Oneway => send_oneway(&producer, &args),
        Mode::Batch => send_batch(&producer, &args),
    };
    let elapsed = begin.elapsed();
    producer.shutdown();
    let failed = args.count - ok;
    log::info!(
        "{} messages in {:.3} s ({:.0} msg/s)",
        args.count,
        elapsed.as_secs_f64(),
        args.count as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    println!("sent {} ok {ok} failed {failed}", args.count);
    exit(if failed == 0 { 0 } else { 1 });
}

fn message(args: &Args, i: usize) -> Message {
    let mut body = format!("message {i} ").into_bytes();
    body.resize(args.size.max(1), b'x');
    let mut message = Message::new(args.topic.clone(), body)
        .with_tags(args.tag.clone())
        .with_keys([format!("key-{i}")]);
    for (k, v) in &args.properties {
        message = message
            .with_property(k.clone(), v.clone())
            .unwrap_or_else(|e| fail_usage(&format!("--property {k}: {e}")));
    }
    match args.timer {
        Some(Timer::Delay(delay)) => message.with_delay(delay),
        Some(Timer::At(at)) => message.with_deliver_time(UNIX_EPOCH + Duration::from_millis(at)),
        None => message,
    }
}

/// With `--print-due`, `id <msgId> due <epoch ms>` for each message a send took (a batch's
/// result names them all, comma-separated); `sent_at` is when the send began.
fn print_due(args: &Args, result: &SendResult, sent_at: SystemTime) {
    if !args.print_due {
        return;
    }
    let due = match args.timer {
        Some(Timer::Delay(delay)) => sent_at + delay,
        Some(Timer::At(at)) => UNIX_EPOCH + Duration::from_millis(at),
        None => sent_at,
    };
    let due_ms = due.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut out = std::io::stdout().lock();
    for id in result.msg_id.split(',') {
        let _ = writeln!(out, "id {id} due {due_ms}");
    }
}

fn report(i: usize, result: Result<String, ClientError>) -> bool {
    match result {
        Ok(line) => {
            log::debug!("#{i}: {line}");
            true
        }
        Err(e) => {
            eprintln!("#{i} failed: {}", report::error_chain(&e));
            false
        }
    }
}

fn send_sync(producer: &Producer, args: &Args) -> usize {
    (0..args.count)
        .filter(|i| {
            let sent_at = SystemTime::now();
            let result = producer.send(&message(args, *i));
            if let Ok(sent) = &result {
                print_due(args, sent, sent_at);
            }
            report(*i, result.map(|r| r.to_string()))
        })
        .count()
}

fn send_oneway(producer: &Producer, args: &Args) -> usize {
    (0..args.count)
        .filter(|i| {
            report(
                *i,
                producer
                    .send_oneway(&message(args, *i))
                    .map(|()| "handed over".into()),
            )
        })
        .count()
}

fn send_async(producer: &Producer, args: &Arc<Args>) -> usize {
    let ok = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..args.count {
        let (ok_in_callback, done_in_callback) = (ok.clone(), done.clone());
        let (args_in_callback, sent_at) = (args.clone(), SystemTime::now());
        let accepted = producer.send_async(&message(args, i), move |result| {
            if let Ok(sent) = &result {
                print_due(&args_in_callback, sent, sent_at);
            }
            if report(i, result.map(|r| r.to_string())) {
                ok_in_callback.fetch_add(1, Ordering::SeqCst);
            }
            done_in_callback.fetch_add(1, Ordering::SeqCst);
        });
        if let Err(e) = accepted {
            report(i, Err(e));
            done.fetch_add(1, Ordering::SeqCst);
        }
    }
    // Every callback runs once; the send timeout plus the transport's expiry bound the wait.
    let deadline = Instant::now() + producer.config().send_timeout + Duration::from_secs(5);
    while done.load(Ordering::SeqCst) < args.count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    ok.load(Ordering::SeqCst)
}

fn send_batch(producer: &Producer, args: &Args) -> usize {
    let mut ok = 0;
    let mut i = 0;
    while i < args.count {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while i < args.count && batch.len() < BATCH_SIZE {
            let m = message(args, i);
            if !batch.is_empty() && bytes + m.body().len() + 200 > MAX_BATCH_BYTES {
                break;
            }
            bytes += m.body().len() + 200;
            batch.push(m);
            i += 1;
        }
        let n = batch.len();
        let sent_at = SystemTime::now();
        let result = producer.send_batch(&batch);
        if let Ok(sent) = &result {
            print_due(args, sent, sent_at);
        }
        if report(i - n, result.map(|r| r.to_string())) {
            ok += n;
        }
    }
    ok
}
