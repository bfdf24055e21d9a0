//! Consumer benchmark: our push and lite pull consumers, and the Apache C++ push consumer as
//! the baseline, against an in-process reference name server and broker.
//!
//! `cargo run --release --example consumer_bench [-- --messages <n>] [--rate <msgs/s>]
//!  [--seconds <s>] [--throughput-only] [--pop-only] [--before <consumer_bench of another
//!  build> [--rounds <n>]]`
//!
//! RocketMQ 5 POP beside pull-mode push, on the same broker in the same run: the push
//! consumer in POP mode (its group set to POP, `client_rebalance(false)`) and the
//! `SimpleConsumer` (receive 32, ack each; one thread, and four sharing one consumer) read the
//! same stored messages as the push consumer, each in a new group. Then the lateness of a
//! revived message: a simple consumer receives `--messages` / 10 messages with a 2 s
//! invisible time and acks none; p50/p99 of how long after its invisible time each was
//! received again (one clock: this host's). `--pop-only` runs only these and the pull-mode
//! push consumer.
//!
//! Throughput: `--messages` messages (20,000 by default) of 128 B, then of 4 KiB, are stored
//! first; each consumer, in a new group, reads them all from the first offset; msgs/s counts
//! from the first message received to the last. The C++ push consumer (PyPI
//! `rocketmq==0.4.4`, through its Python binding, tests/interop/cpp_peer.py; the venv the
//! tests make under target/interop-venv, or `RMQ_CPP_PYTHON`) reads the same data; its row is
//! skipped, saying so, when it is not installed. Latency: a producer sends at `--rate` for
//! `--seconds` while a consumer reads; p50/p99 of the time from the producer's send call to
//! the listener (or `poll`) getting the message (a timestamp in the body, one clock). Also printed: the push consumer's consume-pool threads against the
//! configured number (no thread per queue). Memory: the bytes this process allocates, per
//! message consumed, while a consumer reads (a counting global allocator; the in-process
//! broker's share is the same for every build). Machine-readable lines last:
//! `RPS <case> <n>`, `ALLOC <case> <bytes per message>`.
//!
//! Before and after in one run: `--before <path>` runs that binary (this same file built
//! against another commit of the library) with `--throughput-only`, alternating with this
//! build's own throughput cases `--rounds` times (2), and prints both side by side (the
//! better rate of the rounds, the smaller allocation).

#[path = "common/logging.rs"]
mod logging;

/// Counts what the process allocates, for the bytes-per-message figures.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicU64, Ordering};

    pub struct Counting;

    static BYTES: AtomicU64 = AtomicU64::new(0);

    // SAFETY: every call is passed on to the system allocator unchanged; only a counter is
    // added.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
            // SAFETY: the caller's layout, as the system allocator's contract asks.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `System.alloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            BYTES.fetch_add(
                new_size.saturating_sub(layout.size()) as u64,
                Ordering::Relaxed,
            );
            // SAFETY: as for `dealloc` and `alloc`.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Bytes allocated since the process started.
    pub fn allocated() -> u64 {
        BYTES.load(Ordering::Relaxed)
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

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
        ConsumeConcurrentlyStatus, ConsumeFrom, LitePullConsumer, Message, MessageExt,
        MessageRequestMode, MqAdmin, Producer, PushConsumer, SimpleConsumer,
    };
    use rocketmq_blocking::LocalCluster;

    const CONSUME_THREADS: usize = 20;

    struct Row {
        case: String,
        rate: Option<f64>,
        p50: Option<Duration>,
        p99: Option<Duration>,
        /// Bytes this process allocated per message consumed.
        alloc: Option<f64>,
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

    /// Bytes allocated since `since` per message of `count`.
    fn per_message(since: u64, count: usize) -> Option<f64> {
        let bytes = super::counting::allocated().saturating_sub(since);
        (count > 0).then(|| bytes as f64 / count as f64)
    }

    fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
        (!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * p) as usize])
    }

    struct Args {
        messages: usize,
        rate: u64,
        seconds: f64,
        throughput_only: bool,
        pop_only: bool,
        before: Option<PathBuf>,
        rounds: usize,
    }

    fn parse_args() -> Args {
        let mut args = Args {
            messages: 20_000,
            rate: 2_000,
            seconds: 3.0,
            throughput_only: false,
            pop_only: false,
            before: None,
            rounds: 2,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut value = || it.next().unwrap_or_default();
            match arg.as_str() {
                "--messages" => args.messages = value().parse().unwrap_or(args.messages),
                "--rate" => args.rate = value().parse().unwrap_or(args.rate),
                "--seconds" => args.seconds = value().parse().unwrap_or(args.seconds),
                "--throughput-only" => args.throughput_only = true,
                "--pop-only" => args.pop_only = true,
                "--before" => args.before = Some(PathBuf::from(value())),
                "--rounds" => args.rounds = value().parse().unwrap_or(args.rounds).max(1),
                "--bench" => {}
                other => {
                    eprintln!(
                        "unknown argument {other}; usage: consumer_bench [--messages <n>] \
                         [--rate <msgs/s>] [--seconds <s>] [--throughput-only] \
                         [--pop-only] [--before <path> [--rounds <n>]]"
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
        if let Some(before) = &args.before {
            return compare(before, &args);
        }
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
            rows.push(push_throughput(&ns, &topic, args.messages, label, None));
            let broker = Some(cluster.broker().broker_addr());
            rows.push(push_throughput(&ns, &topic, args.messages, label, broker));
            for threads in [1, 4] {
                rows.push(simple_throughput(
                    &ns,
                    &topic,
                    args.messages,
                    label,
                    threads,
                ));
            }
            if !args.pop_only {
                rows.push(lite_throughput(&ns, &topic, args.messages, label));
            }
            if !args.throughput_only && !args.pop_only {
                rows.push(cpp_throughput(&ns, &topic, args.messages, label));
            }
        }
        if !args.throughput_only {
            if !args.pop_only {
                rows.push(push_latency(&ns, &producer, &args));
                rows.push(lite_latency(&ns, &producer, &args));
            }
            rows.push(revive_lateness(&ns, &producer, (args.messages / 10).max(1)));
        }
        producer.shutdown();
        cluster.shutdown();

        println!("| case | msgs/s | p50 µs | p99 µs | B alloc/msg | |");
        println!("|---|---:|---:|---:|---:|---|");
        let us = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{}", d.as_micros()));
        for row in &rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                row.case,
                row.rate.map_or("-".into(), |r| format!("{r:.0}")),
                us(row.p50),
                us(row.p99),
                row.alloc.map_or("-".into(), |b| format!("{b:.0}")),
                row.note
            );
        }
        for row in &rows {
            if let Some(rate) = row.rate {
                println!("RPS {} {rate:.0}", row.case.replace(' ', "_"));
            }
            if let Some(bytes) = row.alloc {
                println!("ALLOC {} {bytes:.0}", row.case.replace(' ', "_"));
            }
        }
    }

    /// `--before`: this build and `before` run their throughput cases in turn, each in a
    /// process of its own with its own cluster, `rounds` times; then both side by side.
    fn compare(before: &PathBuf, args: &Args) {
        let run = |binary: &PathBuf| -> Vec<(String, String, f64)> {
            let output = Command::new(binary)
                .args([
                    "--throughput-only",
                    "--messages",
                    &args.messages.to_string(),
                ])
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .unwrap_or_else(|e| panic!("{} did not run: {e}", binary.display()));
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    let (kind, case, value) = (words.next()?, words.next()?, words.next()?);
                    let value = value.parse().ok()?;
                    ["RPS", "ALLOC"]
                        .contains(&kind)
                        .then(|| (kind.to_string(), case.to_string(), value))
                })
                .collect()
        };
        let this = std::env::current_exe().expect("this binary's path");
        let (mut old, mut new) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            eprintln!("round {} of {}: before, then after", round + 1, args.rounds);
            old.extend(run(before));
            new.extend(run(&this));
        }
        // The best rate of the rounds (the least disturbed), the smallest allocation.
        let best = |lines: &[(String, String, f64)], kind: &str, case: &str| -> Option<f64> {
            let values = lines.iter().filter(|(k, c, _)| k == kind && c == case);
            let values = values.map(|(_, _, v)| *v);
            if kind == "RPS" {
                values.reduce(f64::max)
            } else {
                values.reduce(f64::min)
            }
        };
        let mut cases: Vec<&String> = Vec::new();
        for (_, case, _) in &new {
            if !cases.contains(&case) {
                cases.push(case);
            }
        }
        println!(
            "| case | msgs/s before | msgs/s after | B alloc/msg before | B alloc/msg after |"
        );
        println!("|---|---:|---:|---:|---:|");
        let show = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        for case in &cases {
            println!(
                "| {} | {} | {} | {} | {} |",
                case.replace('_', " "),
                show(best(&old, "RPS", case)),
                show(best(&new, "RPS", case)),
                show(best(&old, "ALLOC", case)),
                show(best(&new, "ALLOC", case)),
            );
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

    /// The push consumer reading everything; with `pop_at` (a broker's address) its group is
    /// first set to POP there, and it runs with `client_rebalance(false)`: it pops and acks.
    fn push_throughput(
        ns: &str,
        topic: &str,
        count: usize,
        label: &str,
        pop_at: Option<&str>,
    ) -> Row {
        let group = match pop_at {
            Some(_) => format!("bench_pop_{topic}"),
            None => format!("bench_push_{topic}"),
        };
        if let Some(broker) = pop_at {
            let admin = MqAdmin::builder().name_server(ns).start().expect("admin");
            admin
                .set_message_request_mode(broker, topic, &group, MessageRequestMode::Pop, 0)
                .expect("set POP");
            admin.shutdown();
        }
        let allocated = super::counting::allocated();
        let clock = Arc::new(Clock::default());
        let tick = clock.clone();
        let consumer = PushConsumer::builder(group)
            .name_server(ns)
            .subscribe(topic, "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .consume_threads(CONSUME_THREADS)
            .client_rebalance(pop_at.is_none())
            .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
                tick.tick(messages.len());
                ConsumeConcurrentlyStatus::ConsumeSuccess
            })
            .start()
            .expect("push consumer");
        let finished = clock.wait_for(count, Duration::from_secs(300));
        let alloc = per_message(allocated, clock.count.load(Ordering::Relaxed));
        // The pool's workers, excluding its timer thread ("rmq-consume-timer").
        let pool = threads_named("rmq-consume-") - threads_named("rmq-consume-ti");
        let popped = consumer.running_info().mq_pop_table.len();
        consumer.shutdown();
        let (case, how) = match pop_at {
            Some(_) => (
                format!("push consumer, POP, {label}"),
                format!("; {popped} queue popped (all queues at once), each message acked"),
            ),
            None => (format!("push consumer {label}"), String::new()),
        };
        Row {
            case,
            rate: clock.rate(),
            p50: None,
            p99: None,
            alloc,
            note: format!(
                "{} of {count} read; {pool} consume-pool threads for {CONSUME_THREADS} configured{how}",
                clock.count.load(Ordering::Relaxed).min(count),
            ) + if finished { "" } else { " (timed out)" },
        }
    }

    fn lite_throughput(ns: &str, topic: &str, count: usize, label: &str) -> Row {
        let allocated = super::counting::allocated();
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
        let alloc = per_message(allocated, clock.count.load(Ordering::Relaxed));
        consumer.shutdown();
        Row {
            case: format!("lite pull consumer {label}"),
            rate: clock.rate(),
            p50: None,
            p99: None,
            alloc,
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
                alloc: None,
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
                    alloc: None,
                    note: format!("the C++ consumer failed: {}", output.status),
                }
            }
            Err(e) => {
                return Row {
                    case,
                    rate: None,
                    p50: None,
                    p99: None,
                    alloc: None,
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
            alloc: None,
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
            alloc: None,
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

    /// A simple consumer of `group` reading `topic` from its start, each receive waiting 1 s.
    fn simple_consumer(ns: &str, group: &str, topic: &str) -> SimpleConsumer {
        SimpleConsumer::builder(group)
            .name_server(ns)
            .subscribe(topic, "*")
            .consume_from(ConsumeFrom::FirstOffset)
            .await_duration(Duration::from_secs(1))
            .start()
            .expect("simple consumer")
    }

    /// `threads` threads receiving 32 at a time from one `SimpleConsumer` and acking each
    /// message (a round trip per ack, as the RocketMQ 5 `SimpleConsumer` does).
    fn simple_throughput(ns: &str, topic: &str, count: usize, label: &str, threads: usize) -> Row {
        let consumer = simple_consumer(ns, &format!("bench_simple{threads}_{topic}"), topic);
        let clock = Clock::default();
        let deadline = Instant::now() + Duration::from_secs(300);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    while clock.count.load(Ordering::Relaxed) < count && Instant::now() < deadline {
                        let views = consumer
                            .receive(32, Duration::from_secs(60))
                            .expect("receive");
                        for view in &views {
                            consumer.ack(view).expect("ack");
                        }
                        if !views.is_empty() {
                            clock.tick(views.len());
                        }
                    }
                });
            }
        });
        consumer.shutdown();
        Row {
            case: format!(
                "simple consumer, {threads} thread{}, {label}",
                if threads == 1 { "" } else { "s" }
            ),
            rate: clock.rate(),
            p50: None,
            p99: None,
            alloc: None,
            note: format!(
                "{} of {count} read, each acked",
                clock.count.load(Ordering::Relaxed).min(count)
            ),
        }
    }

    /// `count` messages received with a 2 s invisible time and never acked: how long after
    /// that time each was received again (p50/p99), by a consumer receiving all along.
    fn revive_lateness(ns: &str, producer: &Producer, count: usize) -> Row {
        const INVISIBLE: Duration = Duration::from_secs(2);
        let topic = "ConsumeReviveLateness";
        preload(producer, topic, 128, count);
        let consumer = simple_consumer(ns, "bench_revive", topic);
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut due: std::collections::HashMap<String, Instant> = std::collections::HashMap::new();
        let latencies = Mutex::new(Vec::new());
        while latencies.lock().unwrap().len() < count && Instant::now() < deadline {
            for view in consumer.receive(32, INVISIBLE).expect("receive") {
                if view.delivery_attempt() == 1 {
                    due.insert(view.message_id().to_string(), view.invisible_until());
                } else if let Some(due) = due.get(view.message_id()) {
                    // Not acked either: an ack's round trip would hold up the next receive.
                    latencies
                        .lock()
                        .unwrap()
                        .push(Instant::now().saturating_duration_since(*due));
                }
            }
        }
        consumer.shutdown();
        let received = latencies.lock().unwrap().len();
        latency_row(
            format!(
                "revived message, after its {} s invisible time",
                INVISIBLE.as_secs()
            ),
            &latencies,
            format!("{received} of {count} received again"),
        )
    }
}
