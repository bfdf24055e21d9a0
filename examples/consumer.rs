//! Consumer: consumes a topic as a member of a group until it has seen `--count` distinct
//! messages or the timeout passes.
//!
//! `cargo run --release --example consumer -- --namesrv <ip:port> --topic <t> --group <g>
//!  --count <n> --mode push|orderly|lite|pop|simple [--tag <expr>] [--sql <expr>]
//!  [--from first|last] [--timeout <s>] [--print-seq] [--fail-every <k>]
//!  [--access-key <ak> --secret-key <sk>] [--namespace <ns>] [--tls [--tls-ca <pem>]]
//!  [--trace] [--trace-topic <t>]`
//!
//! Modes: `push` and `orderly` (a push consumer with a concurrent or an orderly listener),
//! `lite` (a lite pull consumer), `pop` (a push consumer in RocketMQ 5's POP mode: it first
//! sets the group to POP on every broker of the topic, as `mqadmin setConsumeMode -m POP`,
//! then asks the brokers for its queues, `client_rebalance(false)`), `simple` (a
//! `SimpleConsumer` receiving up to 32 messages at a time, each invisible for 10 s, and
//! acking each). `--fail-every <k>` fails every k-th message on its first delivery (the
//! listener asks for it later; `simple` does not ack it), so its redelivery can be watched:
//! a failed delivery is not counted, the redelivered one is (pulled: about 10 s later through
//! the retry topic; popped: 10 s later; simple: after its 10 s invisible time; orderly: in
//! place, 1 s later; not with `lite`).
//!
//! Messages are distinct by their `seq` user property when they carry one, else by message
//! id. With `--print-seq` each message's `seq <value>` is printed as it arrives. In orderly
//! mode each queue's messages must arrive in offset order; a message that does not is
//! reported (`out of order: ...`) and the exit status is 1. The last line is
//! `consumed <total> distinct <d>`; the exit status is 0 only when d ≥ n (and, orderly, no
//! message came out of order). `--from` defaults to `last`, Java's default (a new group on a
//! young topic still starts at its first message, as with Java brokers). Logs go to stderr
//! (level in `RMQ_LOG`, default warn). `--tls` speaks TLS, trusting the system's CAs, or only
//! those of `--tls-ca`. `--sql` subscribes with a SQL92 expression over the messages'
//! properties instead of tags (the broker needs `enablePropertyFilter=true`; a bad expression
//! fails the start with the broker's message). `--trace` writes message trace records of each
//! listener call (each poll) to `--trace-topic`, else `RMQ_SYS_TRACE_TOPIC`.

#[path = "common/client_options.rs"]
#[macro_use]
mod client_options;
#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;
#[path = "common/tls_args.rs"]
mod tls_args;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::process::exit;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeOrderlyStatus, LitePullConsumer, MessageExt,
    MessageRequestMode, MessageSelector, MqAdmin, PushConsumer, SimpleConsumer,
};

/// `simple` mode: how long a received message stays invisible (a failed one comes back
/// after it).
const SIMPLE_INVISIBLE: Duration = Duration::from_secs(10);
/// `simple` mode: how long one receive waits, so the deadline is seen.
const SIMPLE_AWAIT: Duration = Duration::from_secs(2);

const USAGE: &str = "usage: consumer --namesrv <ip:port> --topic <t> --group <g> --count <n> \
    --mode push|orderly|lite|pop|simple [--tag <expr>] [--sql <expr>] [--from first|last] \
    [--timeout <s>] [--print-seq] [--fail-every <k>] [--access-key <ak> --secret-key <sk>] \
    [--namespace <ns>] [--tls [--tls-ca <pem>]] [--trace] [--trace-topic <t>]";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Push,
    Orderly,
    Lite,
    Pop,
    Simple,
}

struct Args {
    namesrv: String,
    topic: String,
    group: String,
    count: usize,
    mode: Mode,
    tag: String,
    sql: Option<String>,
    from: ConsumeFrom,
    timeout: Duration,
    print_seq: bool,
    fail_every: Option<u64>,
    client: client_options::ClientOptions,
}

impl Args {
    /// `--sql` when given, else the tag expression of `--tag`.
    fn selector(&self) -> MessageSelector {
        match &self.sql {
            Some(sql) => MessageSelector::sql(sql.clone()),
            None => MessageSelector::tags(self.tag.clone()),
        }
    }
}

fn fail_usage(msg: &str) -> ! {
    eprintln!("{msg}\n{USAGE}");
    exit(2);
}

fn parse_args() -> Args {
    let (mut namesrv, mut topic, mut group, mut count, mut mode) = (None, None, None, None, None);
    let mut tag = "*".to_string();
    let mut sql = None;
    let mut from = ConsumeFrom::LastOffset;
    let mut timeout = Duration::from_secs(60);
    let mut print_seq = false;
    let mut fail_every = None;
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
            "--group" => group = Some(value(&mut args, "--group")),
            "--count" => {
                count = Some(
                    value(&mut args, "--count")
                        .parse()
                        .unwrap_or_else(|_| fail_usage("--count takes a number")),
                )
            }
            "--mode" => {
                mode = Some(match value(&mut args, "--mode").as_str() {
                    "push" => Mode::Push,
                    "orderly" => Mode::Orderly,
                    "lite" => Mode::Lite,
                    "pop" => Mode::Pop,
                    "simple" => Mode::Simple,
                    other => fail_usage(&format!(
                        "--mode takes push, orderly, lite, pop or simple, not {other}"
                    )),
                })
            }
            "--tag" => tag = value(&mut args, "--tag"),
            "--sql" => sql = Some(value(&mut args, "--sql")),
            "--from" => {
                from = match value(&mut args, "--from").as_str() {
                    "first" => ConsumeFrom::FirstOffset,
                    "last" => ConsumeFrom::LastOffset,
                    other => fail_usage(&format!("--from takes first or last, not {other}")),
                }
            }
            "--timeout" => {
                let secs: f64 = value(&mut args, "--timeout")
                    .parse()
                    .unwrap_or_else(|_| fail_usage("--timeout takes seconds"));
                timeout = Duration::from_secs_f64(secs);
            }
            "--print-seq" => print_seq = true,
            "--fail-every" => {
                fail_every = match value(&mut args, "--fail-every").parse() {
                    Ok(k) if k > 0 => Some(k),
                    _ => fail_usage("--fail-every takes a number above 0"),
                }
            }
            other => fail_usage(&format!("unknown argument {other}")),
        }
    }
    if fail_every.is_some() && mode == Some(Mode::Lite) {
        fail_usage("--fail-every does not go with --mode lite (poll has nothing to fail)");
    }
    if client.trace().is_some() && mode == Some(Mode::Simple) {
        // As Java's: the remoting clients trace listener calls; a simple consumer has none.
        fail_usage("--trace does not go with --mode simple (no listener call to trace)");
    }
    Args {
        namesrv: namesrv.unwrap_or_else(|| fail_usage("--namesrv is required")),
        topic: topic.unwrap_or_else(|| fail_usage("--topic is required")),
        group: group.unwrap_or_else(|| fail_usage("--group is required")),
        count: count.unwrap_or_else(|| fail_usage("--count is required")),
        mode: mode.unwrap_or_else(|| fail_usage("--mode is required")),
        tag,
        sql,
        from,
        timeout,
        print_seq,
        fail_every,
        client: client
            .check()
            .map(|()| client)
            .unwrap_or_else(|problem| fail_usage(&problem)),
    }
}

/// What has been consumed: every delivery, the distinct keys, and each queue's last offset
/// (to check order); a condvar wakes the main thread as the count grows.
#[derive(Default)]
struct Tally {
    state: Mutex<TallyState>,
    changed: Condvar,
}

#[derive(Default)]
struct TallyState {
    total: usize,
    distinct: HashSet<String>,
    last_offset: BTreeMap<(String, i32), i64>,
    out_of_order: usize,
}

impl Tally {
    fn record(&self, messages: &[MessageExt], check_order: bool, print_seq: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for m in messages {
            state.total += 1;
            let key = m
                .property("seq")
                .map(|s| format!("seq:{s}"))
                .unwrap_or_else(|| m.client_msg_id().to_string());
            state.distinct.insert(key);
            if print_seq {
                if let Some(seq) = m.property("seq") {
                    let _ = writeln!(out, "seq {seq}");
                }
            }
            if check_order {
                let queue = (m.topic.clone(), m.queue_id);
                if let Some(&last) = state.last_offset.get(&queue) {
                    if m.queue_offset <= last {
                        state.out_of_order += 1;
                        let _ = writeln!(
                            out,
                            "out of order: queue {} of {} offset {} after {last}",
                            m.queue_id, m.topic, m.queue_offset
                        );
                    }
                }
                state.last_offset.insert(queue, m.queue_offset);
            }
        }
        let _ = out.flush();
        self.changed.notify_all();
    }

    /// Distinct messages seen so far.
    fn distinct(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.distinct.len()
    }

    /// Waits until `count` distinct messages were seen or `deadline` passed.
    fn wait_for(&self, count: usize, deadline: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.distinct.len() < count {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// `--fail-every <k>`: every k-th message fails on its first delivery, once.
#[derive(Default)]
struct Failer {
    every: Option<u64>,
    state: Mutex<(u64, HashSet<String>)>,
}

impl Failer {
    /// Whether `messages` fail this time: one of them is the k-th message seen for the
    /// first time. Each message is counted (and can fail) on its first delivery only.
    fn fails(&self, messages: &[MessageExt]) -> bool {
        let Some(every) = self.every else {
            return false;
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut fail = false;
        for m in messages {
            if state.1.insert(m.client_msg_id().to_string()) {
                state.0 += 1;
                if state.0 % every == 0 {
                    eprintln!(
                        "failing message {} (seq {}) on purpose; it comes again",
                        m.client_msg_id(),
                        m.property("seq").unwrap_or("-")
                    );
                    fail = true;
                }
            }
        }
        fail
    }
}

fn main() {
    let level = std::env::var("RMQ_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(simplelog::LevelFilter::Warn);
    logging::init(level);
    let args = parse_args();
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + args.timeout;
    let failer = Arc::new(Failer {
        every: args.fail_every,
        ..Failer::default()
    });
    let result = match args.mode {
        Mode::Push | Mode::Orderly | Mode::Pop => run_push(&args, &tally, &failer, deadline),
        Mode::Lite => run_lite(&args, &tally, deadline),
        Mode::Simple => run_simple(&args, &tally, &failer, deadline),
    };
    if let Err(e) = &result {
        eprintln!("consumer: {}", report::error_chain(e));
    }
    // The last line is printed whatever happened: tools read it.
    let state = tally.state.lock().unwrap_or_else(|e| e.into_inner());
    println!("consumed {} distinct {}", state.total, state.distinct.len());
    let ok = result.is_ok() && state.distinct.len() >= args.count && state.out_of_order == 0;
    exit(if ok { 0 } else { 1 });
}

fn run_push(
    args: &Args,
    tally: &Arc<Tally>,
    failer: &Arc<Failer>,
    deadline: Instant,
) -> Result<(), rocketmq_blocking::client::ClientError> {
    let builder = PushConsumer::builder(args.group.clone())
        .name_server(args.namesrv.clone())
        .subscribe(args.topic.clone(), args.selector())
        .consume_from(args.from);
    let builder = apply_client_options!(builder, &args.client);
    let builder = apply_trace_options!(builder, &args.client);
    let builder = if args.mode == Mode::Pop {
        set_pop_mode(args)?;
        builder.client_rebalance(false)
    } else {
        builder
    };
    let print_seq = args.print_seq;
    let builder = if args.mode == Mode::Orderly {
        let (tally, failer) = (tally.clone(), failer.clone());
        builder.message_listener_orderly(move |messages: &[MessageExt], _: &mut _| {
            if failer.fails(messages) {
                return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
            }
            tally.record(messages, true, print_seq);
            ConsumeOrderlyStatus::Success
        })
    } else {
        let (tally, failer) = (tally.clone(), failer.clone());
        builder.message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            if failer.fails(messages) {
                return ConsumeConcurrentlyStatus::ReconsumeLater;
            }
            tally.record(messages, false, print_seq);
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
    };
    let consumer = builder.start()?;
    tally.wait_for(args.count, deadline);
    consumer.shutdown();
    Ok(())
}

fn run_lite(
    args: &Args,
    tally: &Arc<Tally>,
    deadline: Instant,
) -> Result<(), rocketmq_blocking::client::ClientError> {
    let builder = LitePullConsumer::builder(args.group.clone())
        .name_server(args.namesrv.clone())
        .subscribe(args.topic.clone(), args.selector())
        .consume_from(args.from);
    let builder = apply_trace_options!(builder, &args.client);
    let consumer = apply_client_options!(builder, &args.client).start()?;
    loop {
        let seen = tally
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .distinct
            .len();
        let left = deadline.saturating_duration_since(Instant::now());
        if seen >= args.count || left.is_zero() {
            break;
        }
        let batch = consumer.poll(left.min(Duration::from_millis(500)));
        tally.record(&batch, false, args.print_seq);
    }
    consumer.commit_sync();
    consumer.shutdown();
    Ok(())
}

/// `pop` mode: sets the group to POP the topic on every master of the topic's route
/// (`mqadmin setConsumeMode -m POP -q 0`); the push consumer then asks them for its queues.
fn set_pop_mode(args: &Args) -> Result<(), rocketmq_blocking::client::ClientError> {
    let builder = MqAdmin::builder().name_server(args.namesrv.clone());
    let admin = apply_client_options!(builder, &args.client).start()?;
    let route = admin.examine_topic_route_info(&args.topic)?;
    for broker in &route.broker_datas {
        if let Some(addr) = broker.broker_addrs.get(&0) {
            admin.set_message_request_mode(
                addr,
                &args.topic,
                &args.group,
                MessageRequestMode::Pop,
                0,
            )?;
            eprintln!(
                "group {} pops {} on {} ({addr})",
                args.group, args.topic, broker.broker_name
            );
        }
    }
    admin.shutdown();
    Ok(())
}

/// `simple` mode: receive, ack each message (but the ones `--fail-every` fails, which come
/// back after their invisible time), until the count or the deadline.
fn run_simple(
    args: &Args,
    tally: &Arc<Tally>,
    failer: &Failer,
    deadline: Instant,
) -> Result<(), rocketmq_blocking::client::ClientError> {
    let builder = SimpleConsumer::builder(args.group.clone())
        .name_server(args.namesrv.clone())
        .subscribe(args.topic.clone(), args.selector())
        .consume_from(args.from)
        .await_duration(SIMPLE_AWAIT);
    let consumer = apply_client_options!(builder, &args.client).start()?;
    while tally.distinct() < args.count && Instant::now() < deadline {
        for view in consumer.receive(32, SIMPLE_INVISIBLE)? {
            let message = std::slice::from_ref(view.message());
            if failer.fails(message) {
                continue; // not acked: it comes back after its invisible time
            }
            match consumer.ack(&view) {
                Ok(()) => tally.record(message, false, args.print_seq),
                Err(e) => eprintln!("ack of {}: {e}", view.message_id()),
            }
        }
    }
    consumer.shutdown();
    Ok(())
}
