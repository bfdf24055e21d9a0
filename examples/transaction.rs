//! Transaction: sends `--count` transactional messages; each one's local transaction commits,
//! rolls back, or stays unknown until the broker's check asks about it, and then commits.
//!
//! `cargo run --release --example transaction -- --namesrv <ip:port> --topic <t> --count <n>
//!  [--rollback-every <r>] [--unknown-every <u>] [--group <g>] [--check-wait <seconds>]`
//!
//! Messages are numbered 1 to n. Message i is rolled back when r divides i, else left
//! UNKNOWN when u divides i, else committed. A broker asks about an unknown one once it is
//! older than its transaction timeout, at its next check (Java's defaults: 6 s, every 60 s);
//! the check answers commit. The example waits until every unknown one was checked (at most
//! `--check-wait`, 180 s), then prints `sent <n> committed <c> rolled-back <r> checked <u>`
//! last; the exit status is 0 only when c + r = n. Logs go to stderr (level in `RMQ_LOG`,
//! default warn).

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

use std::any::Any;
use std::collections::HashMap;
use std::process::exit;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rocketmq_blocking::client::{
    LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer,
};

struct Args {
    namesrv: String,
    topic: String,
    count: u64,
    rollback_every: Option<u64>,
    unknown_every: Option<u64>,
    group: String,
    check_wait: Duration,
}

const USAGE: &str = "usage: transaction --namesrv <ip:port> --topic <t> --count <n> \
    [--rollback-every <r>] [--unknown-every <u>] [--group <g>] [--check-wait <seconds>]";

fn fail_usage(problem: &str) -> ! {
    eprintln!("{problem}\n{USAGE}");
    exit(2)
}

fn number(text: &str, name: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| fail_usage(&format!("{name} must be a number, not {text:?}")))
}

fn every(text: &str, name: &str) -> u64 {
    match number(text, name) {
        0 => fail_usage(&format!("{name} must be at least 1")),
        n => n,
    }
}

fn parse_args() -> Args {
    let mut namesrv = None;
    let mut topic = None;
    let mut count = None;
    let mut rollback_every = None;
    let mut unknown_every = None;
    let mut group = "example_transaction_group".to_string();
    let mut check_wait = Duration::from_secs(180);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail_usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--namesrv" => namesrv = Some(value()),
            "--topic" => topic = Some(value()),
            "--count" => count = Some(number(&value(), "--count")),
            "--rollback-every" => rollback_every = Some(every(&value(), "--rollback-every")),
            "--unknown-every" => unknown_every = Some(every(&value(), "--unknown-every")),
            "--group" => group = value(),
            "--check-wait" => {
                check_wait = Duration::from_secs(number(&value(), "--check-wait"));
            }
            other => fail_usage(&format!("unknown argument {other}")),
        }
    }
    Args {
        namesrv: namesrv.unwrap_or_else(|| fail_usage("--namesrv is required")),
        topic: topic.unwrap_or_else(|| fail_usage("--topic is required")),
        count: count.unwrap_or_else(|| fail_usage("--count is required")),
        rollback_every,
        unknown_every,
        group,
        check_wait,
    }
}

/// What the local transaction of message `i` does.
fn fate(args: &Args, i: u64) -> LocalTransactionState {
    let divides = |every: Option<u64>| every.is_some_and(|e| i % e == 0);
    if divides(args.rollback_every) {
        LocalTransactionState::RollbackMessage
    } else if divides(args.unknown_every) {
        LocalTransactionState::Unknown
    } else {
        LocalTransactionState::CommitMessage
    }
}

/// The application's own record of its transactions, by message number: what a real
/// application keeps in its database next to the business data.
#[derive(Default)]
struct Ledger {
    state: Mutex<LedgerState>,
    changed: Condvar,
}

#[derive(Default)]
struct LedgerState {
    /// Message number → how its transaction ended (unknown ones: not yet).
    outcome: HashMap<u64, LocalTransactionState>,
    /// Unknown ones the broker asked about (and that then committed).
    checked: HashMap<u64, u32>,
}

/// The listener: runs the local transaction by the message's number, and answers checks from
/// the ledger; an unknown transaction has finished by the time the broker asks: commit.
struct Transactions {
    ledger: Arc<Ledger>,
    fates: Arc<dyn Fn(u64) -> LocalTransactionState + Send + Sync>,
}

fn number_of(message_property: Option<&str>) -> Option<u64> {
    message_property.and_then(|n| n.parse().ok())
}

impl TransactionListener for Transactions {
    fn execute_local_transaction(&self, message: &Message, _: &dyn Any) -> LocalTransactionState {
        let Some(i) = number_of(message.property("i")) else {
            return LocalTransactionState::RollbackMessage;
        };
        let state = (self.fates)(i);
        self.ledger
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .outcome
            .insert(i, state);
        state
    }

    fn check_local_transaction(&self, message: &MessageExt) -> LocalTransactionState {
        let Some(i) = number_of(message.property("i")) else {
            return LocalTransactionState::RollbackMessage;
        };
        let mut ledger = self.ledger.state.lock().unwrap_or_else(|e| e.into_inner());
        let answer = match ledger.outcome.get(&i).copied() {
            Some(LocalTransactionState::Unknown) | None => {
                *ledger.checked.entry(i).or_default() += 1;
                ledger
                    .outcome
                    .insert(i, LocalTransactionState::CommitMessage);
                LocalTransactionState::CommitMessage
            }
            // Asked about one already ended (its END_TRANSACTION was lost): say it again.
            Some(state) => state,
        };
        log::info!("check of message {i}: {answer:?}");
        self.ledger.changed.notify_all();
        answer
    }
}

fn main() {
    let level = std::env::var("RMQ_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(simplelog::LevelFilter::Warn);
    logging::init(level);
    let args = Arc::new(parse_args());
    let ledger = Arc::new(Ledger::default());
    let fate_args = args.clone();
    let listener = Transactions {
        ledger: ledger.clone(),
        fates: Arc::new(move |i| fate(&fate_args, i)),
    };
    let producer = TransactionProducer::builder(args.group.clone(), listener)
        .name_server(&args.namesrv)
        .start()
        .unwrap_or_else(|e| {
            eprintln!("producer did not start: {}", report::error_chain(&e));
            println!("sent {} committed 0 rolled-back 0 checked 0", args.count);
            exit(1)
        });

    let (mut sent, mut rolled_back, mut unknown) = (0u64, 0u64, 0u64);
    for i in 1..=args.count {
        let message = Message::new(args.topic.clone(), format!("transactional message {i}"))
            .with_keys([format!("tx-{i}")])
            .with_property("i", i.to_string())
            .unwrap_or_else(|e| fail_usage(&format!("bad message: {e}")));
        match producer.send_message_in_transaction(&message, &i) {
            Ok(result) => {
                sent += 1;
                log::debug!(
                    "#{i}: {:?} {}",
                    result.local_transaction_state,
                    result.send_result
                );
                match result.local_transaction_state {
                    LocalTransactionState::RollbackMessage => rolled_back += 1,
                    LocalTransactionState::Unknown => unknown += 1,
                    LocalTransactionState::CommitMessage => {}
                }
            }
            Err(e) => eprintln!("#{i} failed: {}", report::error_chain(&e)),
        }
    }
    if unknown > 0 {
        eprintln!(
            "{unknown} transaction(s) left unknown; waiting for the broker to ask (at most {} s)",
            args.check_wait.as_secs()
        );
    }
    let deadline = Instant::now() + args.check_wait;
    let mut state = ledger.state.lock().unwrap_or_else(|e| e.into_inner());
    while (state.checked.len() as u64) < unknown {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            eprintln!(
                "only {} of {unknown} unknown transaction(s) checked in {} s",
                state.checked.len(),
                args.check_wait.as_secs()
            );
            break;
        }
        state = ledger
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    let checked = state.checked.len() as u64;
    let committed = state
        .outcome
        .values()
        .filter(|s| **s == LocalTransactionState::CommitMessage)
        .count() as u64;
    drop(state);
    // Give the last END_TRANSACTION (oneway, from the check pool) its moment on the wire.
    producer.shutdown();
    println!("sent {sent} committed {committed} rolled-back {rolled_back} checked {checked}",);
    exit(if committed + rolled_back == args.count {
        0
    } else {
        1
    });
}
