//! Quickstart: a name server, a broker, a producer and a push consumer in one process, and
//! every message read back.
//!
//! `cargo run --release --example quickstart`
//!
//! Starts the reference name server and broker on free ports with a temporary store
//! ([`LocalCluster`]), sends messages sync (one large enough to be compressed), async, oneway
//! and as a batch, prints each `SendResult`, then reads everything back with a push consumer
//! (a group member that pulls in the background and calls a listener) and exits 0 only if
//! every message came back once and intact (body, tags, keys and properties).
//! `RMQ_TRACE=1` prints every step of every send.
//!
//! `cargo run --release --example quickstart -- --diagram send.svg` also records every step
//! in-process and writes the picture of the first sync send and of its consumption: an SVG
//! sequence diagram with a lane per thread the message crosses, an arrow per frame and per
//! hand-off.

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant};

use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt, Producer, PushConsumer, SendResult,
};
use rocketmq_blocking::trace::{self, SequenceDiagram, TraceEvent, TraceRecorder};
use rocketmq_blocking::LocalCluster;

const TOPIC: &str = "QuickstartTopic";

/// The message whose send and consumption the diagram shows.
const FIRST: &str = "sync message 0";
const SEND_BEGINS: &str = "producer.send(\"sync message 0\") begins";
const SEND_ENDS: &str = "producer.send returned";
const CONSUMED: &str = "the listener got \"sync message 0\"";

fn main() {
    logging::init(simplelog::LevelFilter::Warn);
    let diagram = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, path] if flag == "--diagram" => Some(path.clone()),
        _ => {
            eprintln!("usage: quickstart [--diagram <file.svg>]");
            std::process::exit(2);
        }
    };
    // Every step of every layer is recorded from here on (the picture is drawn from them).
    let recorder = diagram.as_ref().map(|_| {
        TraceRecorder::start().unwrap_or_else(|e| {
            eprintln!("quickstart FAILED: {e}");
            std::process::exit(1)
        })
    });
    let outcome = run().and_then(|n| {
        if let (Some(path), Some(recorder)) = (&diagram, recorder) {
            let steps = write_diagram(path, recorder.stop())?;
            println!("diagram of the first sync send and its consumption ({steps} steps) written to {path}");
        }
        Ok(n)
    });
    match outcome {
        Ok(n) => println!("quickstart OK: {n} messages sent and read back intact"),
        Err(e) => {
            eprintln!("quickstart FAILED: {}", report::error_chain(&*e));
            std::process::exit(1);
        }
    }
}

/// What a message should look like when it comes back.
struct Expected {
    tags: String,
    keys: String,
    origin: String,
}

fn message(
    body: String,
    mode: &str,
    i: usize,
    expected: &mut BTreeMap<String, Expected>,
) -> Result<Message, Box<dyn Error>> {
    let tags = format!("Tag{}", mode.to_uppercase());
    let keys = format!("{mode}-key-{i}");
    let msg = Message::new(TOPIC, body.clone())
        .with_tags(tags.clone())
        .with_keys(keys.clone())
        .with_property("origin", mode)?;
    let origin = mode.to_string();
    expected.insert(body, Expected { tags, keys, origin });
    Ok(msg)
}

fn run() -> Result<usize, Box<dyn Error>> {
    let cluster = LocalCluster::start()?;
    let ns = cluster.name_server_addr();
    println!(
        "name server on {ns}, broker {} on {}",
        cluster.broker().config().broker_name,
        cluster.broker().local_addr()
    );

    let producer = Producer::builder("quickstart_producer_group")
        .name_server(&ns)
        .start()?;
    let mut expected = BTreeMap::new();
    let show = |mode: &str, r: &SendResult| println!("{mode:<6} {r}");

    for i in 0..3 {
        let msg = message(format!("sync message {i}"), "sync", i, &mut expected)?;
        if i == 0 {
            trace::note(SEND_BEGINS);
        }
        let sent = producer.send(&msg)?;
        if i == 0 {
            trace::note(SEND_ENDS);
        }
        show("sync", &sent);
    }
    // Over 4 KiB: the producer compresses it (zlib), the reader gets it back decompressed.
    let big = format!("large sync message {}", "0123456789abcdef".repeat(512));
    show(
        "sync",
        &producer.send(&message(big, "sync", 3, &mut expected)?)?,
    );

    let (tx, rx) = crossbeam_channel::unbounded();
    for i in 0..3 {
        let tx = tx.clone();
        let msg = message(format!("async message {i}"), "async", i, &mut expected)?;
        producer.send_async(&msg, move |result| drop(tx.send(result)))?;
    }
    // Every async send has called back once flush returns.
    producer.flush(Duration::from_secs(10))?;
    for result in rx.try_iter() {
        show("async", &result?);
    }

    for i in 0..2 {
        let msg = message(format!("oneway message {i}"), "oneway", i, &mut expected)?;
        producer.send_oneway(&msg)?;
        println!("oneway sent (no result)");
    }

    let batch: Vec<Message> = (0..3)
        .map(|i| message(format!("batch message {i}"), "batch", i, &mut expected))
        .collect::<Result<_, _>>()?;
    show("batch", &producer.send_batch(&batch)?);
    producer.shutdown();

    // Read everything back with a push consumer: the listener runs on the consume pool for
    // each message; oneway messages may still be on their way, so wait a while.
    let (tx, rx) = crossbeam_channel::unbounded::<MessageExt>();
    let consumer = PushConsumer::builder("quickstart_consumer_group")
        .name_server(&ns)
        .subscribe(TOPIC, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            for m in messages {
                if m.body == FIRST.as_bytes() {
                    trace::note(CONSUMED);
                }
                let _ = tx.send(m.clone());
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut received = BTreeMap::new();
    while received.len() < expected.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(m) = rx.recv_timeout(left) else {
            break;
        };
        let body = String::from_utf8_lossy(&m.body).into_owned();
        if received.insert(body.clone(), m).is_some() {
            return Err(format!("message {body:?} consumed twice").into());
        }
    }
    consumer.shutdown();

    for (body, want) in &expected {
        let short: String = body.chars().take(24).collect();
        let got = received
            .get(body)
            .ok_or_else(|| format!("message {short:?} did not come back"))?;
        if got.tags() != Some(want.tags.as_str())
            || got.keys() != Some(want.keys.as_str())
            || got.property("origin") != Some(want.origin.as_str())
        {
            return Err(
                format!("message {short:?} came back changed: {:?}", got.properties).into(),
            );
        }
        println!(
            "read back {short:?} from queue {} offset {}",
            got.queue_id, got.queue_offset
        );
    }
    if received.len() != expected.len() {
        return Err(format!(
            "{} messages came back, {} were sent",
            received.len(),
            expected.len()
        )
        .into());
    }
    cluster.shutdown();
    Ok(expected.len())
}

/// Draws the first sync send (the steps of the calls the main thread made between the two
/// notes around it) and its consumption (the steps of the pull that brought the message,
/// down to the listener's note) as `path`; returns the number of steps drawn.
fn write_diagram(path: &str, events: Vec<TraceEvent>) -> Result<usize, Box<dyn Error>> {
    let find = |text: &str| {
        events
            .iter()
            .find(|e| e.text == text)
            .ok_or_else(|| format!("no step {text:?} was recorded"))
    };
    let send = trace::calls_between(&events, find(SEND_BEGINS)?, find(SEND_ENDS)?);
    let pull = find(CONSUMED)?
        .opaque
        .ok_or("the listener's step serves no pull")?;
    let consume = trace::request_flow(&events, pull);
    let steps = send.len() + consume.len();
    let svg = SequenceDiagram::new("One message through rocketmq-blocking: the quickstart's first sync send, and its consumption")
        .section(format!("1. {SEND_BEGINS}: route, request, store, response"), send)
        .section(format!("2. Its consumption: the pull that brought it (opaque {pull}) and the listener"), consume)
        .render_svg();
    std::fs::write(path, svg).map_err(|e| format!("writing {path}: {e}"))?;
    Ok(steps)
}
