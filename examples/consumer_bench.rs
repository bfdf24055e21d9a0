//! Consumer benchmark: our push and lite pull consumers, and the Apache C++ push consumer as
//! the baseline, against an in-process reference name server and broker.
//!
//! `cargo run --release --example consumer_bench [-- --messages <n>] [--rate <msgs/s>]
//!  [--seconds <s>]`
//!
//! Throughput: `--messages` messages (20,000 by default) of 128 B, then of 4 KiB, are stored
//! first; each consumer, in a new group, reads them all from the first offset; msgs/s counts
//! from the first message received to the last. The C++ push consumer (PyPI
//! `rocketmq==0.4.4`, through its Python binding, tests/interop/cpp_peer.py; the venv the
//! tests make under target/interop-venv, or `RMQ_CPP_PYTHON`) reads the same data; its row is
//! skipped, saying so, when it is not installed. Latency: a producer sends at `--rate` for
//! `--seconds` while a consumer reads; p50/p99 of the time from the producer's send call to
//! the listener (or `poll`) getting the message (a timestamp in the body, one clock). Also printed: the push consumer's consume-pool threads against the
//! configured number (no thread per queue). Machine-readable lines last: `RPS <case> <n>`.

#[path = "common/logging.rs"]
mod logging;

#[cfg(not(feature = "servers"))]
fn main() {
    eprintln!("consumer_bench needs the reference servers: build with the `servers` feature");
    std::process::exit(2);
}

#[cfg(feature = "servers")]
fn main() {
    bench::main();
}

#[cfg(feature = "servers")]
mod bench {
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use rocketmq_blocking::client::{
        ConsumeConcurrentlyStatus, ConsumeFrom, LitePullConsumer, Message, MessageExt, Producer,
        PushConsumer,
    };
    use rocketmq_blocking::LocalCluster;

    const CONSUME_THREADS: usize = 20;

    struct Row {
        case: String,
        rate: Option<f64>,
        p50: Option<Duration>,
        p99: Option<Duration>,
        note: String,
    }

    fn now_nanos() -> u128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    }

    /// A 128-byte body that starts with the time it was sent (ns since the epoch).
    fn stamped_body() -> Vec<u8> {
        let mut body = now_nanos().to_be_bytes().to_vec();
        body.resize(128, b'x');
        body
    }

    /// How long ago a stamped body was sent; None for other bodies.
    fn age(body: &[u8]) -> Option<Duration> {
        let stamp: [u8; 16] = body.get(..16)?.try_into().ok()?;
        let sent = u128::from_be_bytes(stamp);
        let nanos = now_nanos().checked_sub(sent)?;
        Some(Duration::from_nanos(u64::try_from(nanos).ok()?))
    }

    fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
        (!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * p) as usize])
    }

    struct Args {
        messages: usize,
        rate: u64,
        seconds: f64,
    }

    fn parse_args() -> Args {
        let mut args = Args {
            messages: 20_000,
            rate: 2_000,
            seconds: 3.0,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut value = || it.next().unwrap_or_default();
            match arg.as_str() {
                "--messages" => args.messages = value().parse().unwrap_or(args.messages),
                "--rate" => args.rate = value().parse().unwrap_or(args.rate),
                "--seconds" => args.seconds = value().parse().unwrap_or(args.seconds),
                "--bench" => {}
                other => {
                    eprintln!(
                        "unknown argument {other}; usage: consumer_bench [--messages <n>] \
                         [--rate <msgs/s>] [--seconds <s>]"
                    );
                    std::process::exit(2);
                }
            }
        }
        args
    }

    pub fn main() {
        super::logging::init(simplelog::LevelFilter::Warn);
        let args = parse_args();
        let cluster = LocalCluster::start().expect("local cluster");
        let ns = cluster.name_server_addr();
        let producer = Producer::builder("bench_consumer_producer")
            .name_server(&ns)
            .start()
            .expect("producer");
        let mut rows = Vec::new();
        for size in [128usize, 4096] {
            let topic = format!("ConsumeBench{size}");
            preload(&producer, &topic, size, args.messages);
            let label = if size == 128 { "128 B" } else { "4 KiB" };
            rows.push(push_throughput(&ns, &topic, args.messages, label));
            rows.push(lite_throughput(&ns, &topic, args.messages, label));
            rows.push(cpp_throughput(&ns, &topic, args.messages, label));
        }
        rows.push(push_latency(&ns, &producer, &args));
        rows.push(lite_latency(&ns, &producer, &args));
        producer.shutdown();
        cluster.shutdown();

        println!("| case | msgs/s | p50 µs | p99 µs | |");
        println!("|---|---:|---:|---:|---|");
        let us = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{}", d.as_micros()));
        for row in &rows {
            println!(
                "| {} | {} | {} | {} | {} |",
                row.case,
                row.rate.map_or("-".into(), |r| format!("{r:.0}")),
                us(row.p50),
                us(row.p99),
                row.note
            );
        }
        for row in &rows {
            if let Some(rate) = row.rate {
                println!("RPS {} {rate:.0}", row.case.replace(' ', "_"));
            }
        }
    }

    /// Stores `count` messages of `size` bytes, each with a `seq` property.
    fn preload(producer: &Producer, topic: &str, size: usize, count: usize) {
        let body = vec![b'x'; size];
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..count {
            let m = Message::new(topic, body.clone())
                .with_property("seq", i.to_string())
                .expect("property");
            let done = done.clone();
            producer
                .send_async(&m, move |r| {
                    r.expect("preload send");
                    done.fetch_add(1, Ordering::Relaxed);
                })
                .expect("preload");
        }
        producer
            .flush(Duration::from_secs(120))
            .expect("preload flush");
        assert_eq!(done.load(Ordering::Relaxed), count);
    }

    /// Counts deliveries and remembers when the first and last came.
    #[derive(Default)]
    struct Clock {
        count: AtomicUsize,
        first: Mutex<Option<Instant>>,
        last: Mutex<Option<Instant>>,
    }

    impl Clock {
        fn tick(&self, n: usize) {
            let now = Instant::now();
            self.first.lock().unwrap().get_or_insert(now);
            *self.last.lock().unwrap() = Some(now);
            self.count.fetch_add(n, Ordering::Relaxed);
        }

        fn rate(&self) -> Option<f64> {
            let (first, last) = (*self.first.lock().unwrap(), *self.last.lock().unwrap());
            let span = last?.duration_since(first?).as_secs_f64();
            (span > 0.0).then(|| self.count.load(Ordering::Relaxed) as f64 / span)
        }

        fn wait_for(&self, n: usize, limit: Duration) -> bool {
            let deadline = Instant::now() + limit;
            while self.count.load(Ordering::Relaxed) < n {
                if Instant::now() >= deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            true
        }
    }

    /// Threads of this process whose name starts with `prefix` (Linux).
    fn threads_named(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .flatten()
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|name| name.starts_with(prefix))
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    fn push_throughput(ns: &str, topic: &str, count: usize, label: &str) -> Row {
        let clock = Arc::new(Clock::default());
        let tick = clock.clone();
        let consumer = PushConsumer::builder(format!("bench_push_{}", topic))
            .name_server(ns)
            .subscribe(topic, "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .consume_threads(CONSUME_THREADS)
            .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
                tick.tick(messages.len());
                ConsumeConcurrentlyStatus::ConsumeSuccess
            })
            .start()
            .expect("push consumer");
        let finished = clock.wait_for(count, Duration::from_secs(300));
        // The pool's workers, excluding its timer thread ("rmq-consume-timer").
        let pool = threads_named("rmq-consume-") - threads_named("rmq-consume-ti");
        consumer.shutdown();
        Row {
            case: format!("push consumer {label}"),
            rate: clock.rate(),
            p50: None,
            p99: None,
            note: format!(
                "{} of {count} read; {pool} consume-pool threads for {CONSUME_THREADS} configured",
                clock.count.load(Ordering::Relaxed).min(count),
            ) + if finished { "" } else { " (timed out)" },
        }
    }

    fn lite_throughput(ns: &str, topic: &str, count: usize, label: &str) -> Row {
        let consumer = LitePullConsumer::builder(format!("bench_lite_{}", topic))
            .name_server(ns)
            .subscribe(topic, "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .pull_batch_size(32)
            .start()
            .expect("lite consumer");
        let clock = Clock::default();
        let deadline = Instant::now() + Duration::from_secs(300);
        while clock.count.load(Ordering::Relaxed) < count && Instant::now() < deadline {
            let batch = consumer.poll(Duration::from_millis(500));
            if !batch.is_empty() {
                clock.tick(batch.len());
            }
        }
        consumer.shutdown();
        Row {
            case: format!("lite pull consumer {label}"),
            rate: clock.rate(),
            p50: None,
            p99: None,
            note: format!(
                "{} of {count} read",
                clock.count.load(Ordering::Relaxed).min(count)
            ),
        }
    }

    /// The interpreter with the C++ client, as the interop tests set it up.
    fn cpp_python() -> Option<PathBuf> {
        if let Ok(python) = std::env::var("RMQ_CPP_PYTHON") {
            return Some(PathBuf::from(python));
        }
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/interop-venv/bin/python");
        let works = Command::new(&venv)
            .args(["-c", "import rocketmq.client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        works.then_some(venv)
    }

    fn cpp_throughput(ns: &str, topic: &str, count: usize, label: &str) -> Row {
        let case = format!("C++ push consumer {label} (baseline)");
        let Some(python) = cpp_python() else {
            return Row {
                case,
                rate: None,
                p50: None,
                p99: None,
                note: "skipped: the C++ client is not installed (run `cargo test` once, or set \
                       RMQ_CPP_PYTHON)"
                    .into(),
            };
        };
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/cpp_peer.py");
        let home = std::env::temp_dir().join(format!("rmq-bench-cpp-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&home);
        let output = Command::new(python)
            .arg(script)
            .args(["consume", "--namesrv", ns, "--topic", topic])
            .args(["--group", &format!("bench_cpp_{topic}")])
            .args([
                "--expect",
                &count.to_string(),
                "--timeout",
                "300",
                "--quiet",
                "0",
            ])
            .env("HOME", &home)
            .stdin(Stdio::null())
            .output();
        let _ = std::fs::remove_dir_all(&home);
        let output = match output {
            Ok(output) if output.status.success() => output,
            Ok(output) => {
                return Row {
                    case,
                    rate: None,
                    p50: None,
                    p99: None,
                    note: format!("the C++ consumer failed: {}", output.status),
                }
            }
            Err(e) => {
                return Row {
                    case,
                    rate: None,
                    p50: None,
                    p99: None,
                    note: format!("the C++ consumer did not run: {e}"),
                }
            }
        };
        let times: Vec<f64> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|r| r.get("t").and_then(|t| t.as_f64()))
            .collect();
        let (first, last) = times
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), t| (a.min(*t), b.max(*t)));
        let rate = (times.len() > 1 && last > first).then(|| times.len() as f64 / (last - first));
        Row {
            case,
            rate,
            p50: None,
            p99: None,
            note: format!(
                "{} of {count} read, through its Python binding",
                times.len()
            ),
        }
    }

    /// Sends at `rate` for `seconds`; returns how many were sent.
    fn send_at_rate(producer: &Producer, topic: &str, args: &Args) -> usize {
        let total = (args.rate as f64 * args.seconds) as usize;
        let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
        let begin = Instant::now();
        for i in 0..total {
            let due = begin + interval * i as u32;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now); // pacing the producer, not waiting for a result
            }
            let m = Message::new(topic, stamped_body());
            producer.send(&m).expect("latency send");
        }
        total
    }

    fn latency_row(case: String, latencies: &Mutex<Vec<Duration>>, note: String) -> Row {
        let mut sorted = latencies.lock().unwrap().clone();
        sorted.sort();
        Row {
            case,
            rate: None,
            p50: percentile(&sorted, 0.5),
            p99: percentile(&sorted, 0.99),
            note,
        }
    }

    fn push_latency(ns: &str, producer: &Producer, args: &Args) -> Row {
        let topic = "ConsumeLatencyPush";
        producer
            .send(&Message::new(topic, "warm-up"))
            .expect("warm-up");
        let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let seen = Arc::new(AtomicU64::new(0));
        let (log, count) = (latencies.clone(), seen.clone());
        let consumer = PushConsumer::builder("bench_latency_push")
            .name_server(ns)
            .subscribe(topic, "*")
            .consume_from(ConsumeFrom::LastOffset)
            .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
                for m in messages {
                    if let Some(age) = age(&m.body).filter(|_| m.body != b"warm-up") {
                        log.lock().unwrap().push(age);
                    }
                }
                count.fetch_add(messages.len() as u64, Ordering::Relaxed);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            })
            .start()
            .expect("push consumer");
        let sent = send_at_rate(producer, topic, args);
        let deadline = Instant::now() + Duration::from_secs(60);
        while latencies.lock().unwrap().len() < sent && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        consumer.shutdown();
        latency_row(
            format!("push consumer end to end, {} msgs/s", args.rate),
            &latencies,
            format!("{} of {sent} received", latencies.lock().unwrap().len()),
        )
    }

    fn lite_latency(ns: &str, producer: &Producer, args: &Args) -> Row {
        let topic = "ConsumeLatencyLite";
        producer
            .send(&Message::new(topic, "warm-up"))
            .expect("warm-up");
        let consumer = LitePullConsumer::builder("bench_latency_lite")
            .name_server(ns)
            .subscribe(topic, "*")
            .consume_from(ConsumeFrom::LastOffset)
            .start()
            .expect("lite consumer");
        let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let sent = std::thread::scope(|scope| {
            let sender = scope.spawn(|| send_at_rate(producer, topic, args));
            let deadline =
                Instant::now() + Duration::from_secs_f64(args.seconds) + Duration::from_secs(30);
            let expected = (args.rate as f64 * args.seconds) as usize;
            while latencies.lock().unwrap().len() < expected && Instant::now() < deadline {
                let batch = consumer.poll(Duration::from_millis(200));
                let mut log = latencies.lock().unwrap();
                for m in batch.iter().filter(|m| m.body != b"warm-up") {
                    log.extend(age(&m.body));
                }
            }
            sender.join().expect("sender")
        });
        consumer.shutdown();
        latency_row(
            format!("lite pull consumer end to end, {} msgs/s", args.rate),
            &latencies,
            format!("{} of {sent} received", latencies.lock().unwrap().len()),
        )
    }
}
