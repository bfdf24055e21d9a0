//! Producer: sends `--count` messages to a topic and reports how many the brokers took.
//!
//! `cargo run --release --example producer -- --namesrv <ip:port> --topic <t> --count <n>
//!  --mode sync|async|oneway|batch [--size <bytes>] [--group <g>] [--tag <tag>]
//!  [--access-key <ak> --secret-key <sk>] [--namespace <ns>] [--tls [--tls-ca <pem>]]
//!  [--trace] [--trace-topic <t>] [--print-ids]`
//!
//! The last line printed is `sent <n> ok <k> failed <f>`; the exit status is 0 only when
//! f = 0. Logs go to stderr (`RUST_LOG`-style level in `RMQ_LOG`, default warn).
//! `--trace` writes message trace records (to `--trace-topic`, else `RMQ_SYS_TRACE_TOPIC`);
//! `--print-ids` prints `id <msgId>` for each message the broker took (a oneway send gets no
//! answer, so none).

#[path = "common/client_options.rs"]
#[macro_use]
mod client_options;
#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;
#[path = "common/tls_args.rs"]
mod tls_args;

use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    client: client_options::ClientOptions,
    /// `--print-ids`: `id <msgId>` per message the broker took.
    print_ids: bool,
}

const USAGE: &str = "usage: producer --namesrv <ip:port> --topic <t> --count <n> \
    --mode sync|async|oneway|batch [--size <bytes>] [--group <g>] [--tag <tag>] \
    [--access-key <ak> --secret-key <sk>] [--namespace <ns>] [--tls [--tls-ca <pem>]] \
    [--trace] [--trace-topic <t>] [--print-ids]";

fn parse_args() -> Args {
    let mut namesrv = None;
    let mut topic = None;
    let mut count = None;
    let mut mode = None;
    let mut size = 128usize;
    let mut group = "example_producer_group".to_string();
    let mut tag = "TagA".to_string();
    let mut client = client_options::ClientOptions::default();
    let mut print_ids = false;
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
            "--print-ids" => print_ids = true,
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
        client: client
            .check()
            .map(|()| client)
            .unwrap_or_else(|problem| fail_usage(&problem)),
        print_ids,
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
    let args = parse_args();
    let builder = Producer::builder(args.group.clone()).name_server(&args.namesrv);
    let builder = apply_trace_options!(builder, &args.client);
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
    Message::new(args.topic.clone(), body)
        .with_tags(args.tag.clone())
        .with_keys([format!("key-{i}")])
}

/// With `--print-ids`, `id <msgId>` for each message of a send's result (a batch's ids are
/// joined by commas).
fn print_ids(args: &Args, result: &SendResult) {
    if args.print_ids {
        for id in result.msg_id.split(',') {
            println!("id {id}");
        }
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
            let sent = producer.send(&message(args, *i));
            report(
                *i,
                sent.map(|r| {
                    print_ids(args, &r);
                    r.to_string()
                }),
            )
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

fn send_async(producer: &Producer, args: &Args) -> usize {
    let ok = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..args.count {
        let (ok_in_callback, done_in_callback) = (ok.clone(), done.clone());
        let print = args.print_ids;
        let accepted = producer.send_async(&message(args, i), move |result| {
            let line = result.map(|r| {
                if print {
                    println!("id {}", r.msg_id);
                }
                r.to_string()
            });
            if report(i, line) {
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
        let sent = producer.send_batch(&batch).map(|r| {
            print_ids(args, &r);
            r.to_string()
        });
        if report(i - n, sent) {
            ok += n;
        }
    }
    ok
}
