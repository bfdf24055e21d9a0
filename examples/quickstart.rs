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
use rocketmq_blocking::LocalCluster;

const TOPIC: &str = "QuickstartTopic";

fn main() {
    logging::init(simplelog::LevelFilter::Warn);
    match run() {
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
        show("sync", &producer.send(&msg)?);
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
