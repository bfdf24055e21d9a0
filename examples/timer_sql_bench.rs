//! RocketMQ 5 message features against an in-process reference broker: how late timer messages
//! arrive, what a timer message costs a send, and what a SQL92 subscription costs a consumer.
//!
//! `cargo run --release --example timer_sql_bench [-- --scheduled <n>[,<n>...]]
//!  [--spread <s>] [--puts <n>] [--filtered <n>]`
//!
//! - Lateness: for each `--scheduled` count (1,000 and 100,000 by default), that many timer
//!   messages due at times spread over `--spread` seconds (10) from a little after the sends
//!   end; a push consumer notes when each arrives. Lateness = arrival − the message's due time
//!   (`TIMER_DELIVER_MS`), p50/p99/max. The broker's precision is 1 s: a message is delivered
//!   once its whole second has passed, so lateness is up to 1 s by design, plus the delivery's
//!   own time.
//! - Put throughput: `--puts` (20,000) async sends of 128 B, plain and timer (due an hour
//!   later), alternating rounds in the same run; msgs/s from the first send to the last
//!   callback.
//! - SQL92 filter cost: `--filtered` (50,000) messages with a property `k` = 0..9; a lite pull
//!   consumer reads the whole topic with no filter, one with the tag `k3` (the same 10 %,
//!   filtered by tag hash codes in the consume queue), one with SQL92 `k = 3` (properties read
//!   from each stored message), each in a new group; rate = messages the broker went through
//!   for it per second (the topic's size over the time to reach its end).
//!
//! Machine-readable lines last: `LATENESS <n> p50_ms <a> p99_ms <b> max_ms <c>`,
//! `PUT <plain|timer> <msgs/s>`, `SCAN <all|tag10|sql10> <msgs/s>`.

#[path = "common/logging.rs"]
mod logging;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, LitePullConsumer, Message, MessageExt, MessageSelector,
    Producer, PushConsumer,
};
use rocketmq_blocking::LocalCluster;

struct Args {
    scheduled: Vec<usize>,
    spread: Duration,
    puts: usize,
    filtered: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        scheduled: vec![1_000, 100_000],
        spread: Duration::from_secs(10),
        puts: 20_000,
        filtered: 50_000,
    };
    let mut it = std::env::args().skip(1);
    let usage = "usage: timer_sql_bench [--scheduled <n>[,<n>...]] [--spread <s>] \
                 [--puts <n>] [--filtered <n>]";
    let number = |v: Option<String>| -> usize {
        v.and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("{usage}");
            std::process::exit(2)
        })
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scheduled" => {
                args.scheduled = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|n| number(Some(n.to_string())))
                    .collect()
            }
            "--spread" => args.spread = Duration::from_secs(number(it.next()) as u64),
            "--puts" => args.puts = number(it.next()),
            "--filtered" => args.filtered = number(it.next()),
            _ => {
                eprintln!("{usage}");
                std::process::exit(2)
            }
        }
    }
    args
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sends in flight at most: the broker's send queue (10,000) is not what is measured here.
const WINDOW: usize = 2_000;

/// Sends `messages` asynchronously, at most [`WINDOW`] at a time, and waits for every
/// callback; returns msgs/s.
fn send_all(producer: &Producer, messages: Vec<Message>) -> f64 {
    let count = messages.len();
    let done = Arc::new((Mutex::new(0usize), Condvar::new()));
    let failed = Arc::new(AtomicUsize::new(0));
    let begin = Instant::now();
    for (sent, message) in messages.into_iter().enumerate() {
        {
            let (n, wake) = &*done;
            let mut finished = n.lock().unwrap_or_else(|p| p.into_inner());
            while sent - *finished >= WINDOW {
                finished = wake.wait(finished).unwrap_or_else(|p| p.into_inner());
            }
        }
        let (done_here, failed) = (done.clone(), failed.clone());
        let accepted = producer.send_async(&message, move |result| {
            if let Err(e) = result {
                if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("a send failed: {e}");
                }
            }
            let (n, wake) = &*done_here;
            *n.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            wake.notify_all();
        });
        if let Err(e) = accepted {
            eprintln!("a send was refused: {e}");
            let (n, _) = &*done;
            *n.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    }
    let (n, wake) = &*done;
    let mut finished = n.lock().unwrap_or_else(|p| p.into_inner());
    while *finished < count {
        finished = wake.wait(finished).unwrap_or_else(|p| p.into_inner());
    }
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("{failed} of {count} sends failed");
    }
    count as f64 / begin.elapsed().as_secs_f64().max(1e-9)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// Schedules `n` timer messages and returns their lateness, sorted, in ms.
fn lateness(cluster: &LocalCluster, producer: &Producer, n: usize, spread: Duration) -> Vec<i64> {
    let topic = format!("BenchTimer{n}");
    // The topic exists before the consumer starts, so it holds its queues from the start
    // (a route learnt only at the next refresh would be counted as lateness).
    producer
        .send(&Message::new(topic.as_str(), "warm-up"))
        .expect("warm-up send");
    let arrivals: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let sink = arrivals.clone();
    let consumer = PushConsumer::builder(format!("CG_bench_timer_{n}"))
        .name_server(cluster.name_server_addr())
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe(topic.as_str(), "*")
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            let now = now_ms();
            let mut got = sink.lock().unwrap_or_else(|p| p.into_inner());
            for m in messages {
                if let Some(due) = m
                    .property("TIMER_DELIVER_MS")
                    .and_then(|d| d.parse::<i64>().ok())
                {
                    got.push(now - due);
                }
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .expect("push consumer");
    // Sending 100,000 takes a few seconds: the first are due after the sends end.
    let first_due = now_ms() + 2_000 + (n as i64 / 20);
    let spread_ms = spread.as_millis() as i64;
    let messages: Vec<Message> = (0..n)
        .map(|i| {
            let due = first_due + (i as i64 * 7919 % n as i64) * spread_ms / n as i64;
            Message::new(topic.as_str(), format!("timer {i}"))
                .with_deliver_time(UNIX_EPOCH + Duration::from_millis(due as u64))
        })
        .collect();
    let rate = send_all(producer, messages);
    eprintln!("{n} timer messages scheduled at {rate:.0} msgs/s");
    let deadline = Instant::now() + spread + Duration::from_secs(60 + n as u64 / 1000);
    loop {
        let got = arrivals.lock().unwrap_or_else(|p| p.into_inner()).len();
        if got >= n || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    consumer.shutdown();
    let mut late = arrivals.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if late.len() < n {
        eprintln!("only {} of {n} timer messages arrived", late.len());
    }
    late.sort_unstable();
    late
}

/// The time a lite pull consumer in a new group takes to read `expected` messages of
/// `topic` with `selector`.
fn scan(
    cluster: &LocalCluster,
    topic: &str,
    group: &str,
    selector: MessageSelector,
    expected: usize,
) -> Duration {
    let consumer = LitePullConsumer::builder(group)
        .name_server(cluster.name_server_addr())
        .consume_from(ConsumeFrom::FirstOffset)
        .subscribe(topic, selector)
        .start()
        .expect("lite pull consumer");
    let begin = Instant::now();
    let mut got = 0;
    let deadline = begin + Duration::from_secs(120);
    while got < expected && Instant::now() < deadline {
        got += consumer.poll(Duration::from_millis(200)).len();
    }
    let elapsed = begin.elapsed();
    consumer.shutdown();
    if got < expected {
        eprintln!("{group}: only {got} of {expected} messages");
    }
    elapsed
}

fn main() {
    logging::init(simplelog::LevelFilter::Warn);
    let args = parse_args();
    let cluster =
        LocalCluster::start_with(|broker| broker.enable_property_filter(true)).expect("cluster");
    let producer = Producer::builder("PG_timer_sql_bench")
        .name_server(cluster.name_server_addr())
        .start()
        .expect("producer");

    // Put throughput, plain against timer, alternating.
    let body = vec![b'x'; 128];
    let mut plain_rates = Vec::new();
    let mut timer_rates = Vec::new();
    for round in 0..3 {
        let plain: Vec<Message> = (0..args.puts)
            .map(|_| Message::new("BenchPutPlain", body.clone()))
            .collect();
        plain_rates.push(send_all(&producer, plain));
        let later = SystemTime::now() + Duration::from_secs(3600);
        let timer: Vec<Message> = (0..args.puts)
            .map(|_| Message::new("BenchPutTimer", body.clone()).with_deliver_time(later))
            .collect();
        timer_rates.push(send_all(&producer, timer));
        eprintln!("put round {} of 3 done", round + 1);
    }
    let best = |rates: &[f64]| rates.iter().copied().fold(0.0, f64::max);

    // Lateness.
    let mut lateness_rows = Vec::new();
    for &n in &args.scheduled {
        let late = lateness(&cluster, &producer, n, args.spread);
        lateness_rows.push((n, late));
    }

    // SQL92 filter cost.
    let filtered: Vec<Message> = (0..args.filtered)
        .map(|i| {
            Message::new("BenchSql", body.clone())
                .with_tags(format!("k{}", i % 10))
                .with_property("k", (i % 10).to_string())
                .expect("property")
        })
        .collect();
    send_all(&producer, filtered);
    let all = scan(
        &cluster,
        "BenchSql",
        "CG_bench_all",
        "*".into(),
        args.filtered,
    );
    let tag = scan(
        &cluster,
        "BenchSql",
        "CG_bench_tag",
        MessageSelector::tags("k3"),
        args.filtered / 10,
    );
    let sql = scan(
        &cluster,
        "BenchSql",
        "CG_bench_sql",
        MessageSelector::sql("k = 3"),
        args.filtered / 10,
    );
    producer.shutdown();

    println!("| timer messages scheduled | arrived | lateness p50 ms | p99 ms | max ms |");
    println!("|---:|---:|---:|---:|---:|");
    for (n, late) in &lateness_rows {
        println!(
            "| {n} | {} | {} | {} | {} |",
            late.len(),
            percentile(late, 0.5),
            percentile(late, 0.99),
            late.last().copied().unwrap_or_default()
        );
    }
    println!();
    println!("| async sends, 128 B | msgs/s (best of 3) |");
    println!("|---|---:|");
    println!("| plain | {:.0} |", best(&plain_rates));
    println!("| timer (due in 1 h) | {:.0} |", best(&timer_rates));
    println!();
    let per_sec = |d: Duration| args.filtered as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "| lite pull over {} messages | delivered | messages read by the broker per s |",
        args.filtered
    );
    println!("|---|---:|---:|");
    println!("| no filter | {} | {:.0} |", args.filtered, per_sec(all));
    println!(
        "| tag `k3` (10 %) | {} | {:.0} |",
        args.filtered / 10,
        per_sec(tag)
    );
    println!(
        "| SQL92 `k = 3` (10 %) | {} | {:.0} |",
        args.filtered / 10,
        per_sec(sql)
    );
    for (n, late) in &lateness_rows {
        println!(
            "LATENESS {n} p50_ms {} p99_ms {} max_ms {}",
            percentile(late, 0.5),
            percentile(late, 0.99),
            late.last().copied().unwrap_or_default()
        );
    }
    println!("PUT plain {:.0}", best(&plain_rates));
    println!("PUT timer {:.0}", best(&timer_rates));
    println!("SCAN all {:.0}", per_sec(all));
    println!("SCAN tag10 {:.0}", per_sec(tag));
    println!("SCAN sql10 {:.0}", per_sec(sql));
}
