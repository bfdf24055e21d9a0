//! Quickstart: a name server, a broker and a producer in one process, and every message read
//! back.
//!
//! `cargo run --release --example quickstart`
//!
//! Starts the reference name server and broker on free ports with a temporary store, sends
//! messages sync (one large enough to be compressed), async, oneway and as a batch, prints each
//! `SendResult`, then pulls everything back from the broker and exits 0 only if every message
//! came back intact (body, tags, keys and properties).

#[path = "common/logging.rs"]
mod logging;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::{Broker, BrokerConfig};
use rocketmq_blocking::client::{
    Message, Producer, PullConsumer, PullConsumerConfig, PullStatus, SendResult,
};
use rocketmq_blocking::namesrv::{NameServer, NameServerConfig};

const TOPIC: &str = "QuickstartTopic";

fn main() {
    logging::init(simplelog::LevelFilter::Warn);
    let store = std::env::temp_dir().join(format!("rmq-quickstart-{}", std::process::id()));
    let outcome = run(&store);
    let _ = std::fs::remove_dir_all(&store);
    match outcome {
        Ok(n) => println!("quickstart OK: {n} messages sent and read back intact"),
        Err(e) => {
            eprintln!("quickstart FAILED: {e}");
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
) -> Result<Message, String> {
    let tags = format!("Tag{}", mode.to_uppercase());
    let keys = format!("{mode}-key-{i}");
    let mut msg = Message::new(TOPIC, body.clone().into_bytes())
        .with_tags(tags.clone())
        .with_keys([keys.clone()]);
    msg.put_user_property("origin", mode)
        .map_err(|e| e.to_string())?;
    expected.insert(
        body,
        Expected {
            tags,
            keys,
            origin: mode.to_string(),
        },
    );
    Ok(msg)
}

fn run(store: &std::path::Path) -> Result<usize, String> {
    let namesrv =
        NameServer::start(NameServerConfig::listen("127.0.0.1:0")).map_err(|e| e.to_string())?;
    let ns = namesrv.local_addr().to_string();
    let mut config = BrokerConfig::new("127.0.0.1:0", store);
    config.namesrv_addrs = vec![ns.clone()];
    let broker_name = config.broker_name.clone();
    let broker = Broker::start(config).map_err(|e| e.to_string())?;
    println!(
        "name server on {ns}, broker {broker_name} on {}",
        broker.local_addr()
    );

    let producer = Producer::builder("quickstart_producer_group")
        .name_server(&ns)
        .build()
        .map_err(|e| e.to_string())?;
    producer.start().map_err(|e| e.to_string())?;
    let mut expected = BTreeMap::new();
    let show = |mode: &str, r: &SendResult| println!("{mode:<6} {r}");

    for i in 0..3 {
        let msg = message(format!("sync message {i}"), "sync", i, &mut expected)?;
        show("sync", &producer.send(&msg).map_err(|e| e.to_string())?);
    }
    // Over 4 KiB: the producer compresses it (zlib), the reader gets it back decompressed.
    let big = format!("large sync message {}", "0123456789abcdef".repeat(512));
    show(
        "sync",
        &producer
            .send(&message(big, "sync", 3, &mut expected)?)
            .map_err(|e| e.to_string())?,
    );

    let (tx, rx) = crossbeam_channel::unbounded();
    for i in 0..3 {
        let tx = tx.clone();
        let msg = message(format!("async message {i}"), "async", i, &mut expected)?;
        producer
            .send_async(msg, move |result| drop(tx.send(result)))
            .map_err(|e| e.to_string())?;
    }
    for _ in 0..3 {
        let result = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "an async callback never ran")?;
        show("async", &result.map_err(|e| e.to_string())?);
    }

    for i in 0..2 {
        let msg = message(format!("oneway message {i}"), "oneway", i, &mut expected)?;
        producer.send_oneway(&msg).map_err(|e| e.to_string())?;
        println!("oneway sent (no result)");
    }

    let batch: Vec<Message> = (0..3)
        .map(|i| message(format!("batch message {i}"), "batch", i, &mut expected))
        .collect::<Result<_, _>>()?;
    show(
        "batch",
        &producer.send_batch(&batch).map_err(|e| e.to_string())?,
    );
    producer.shutdown();

    // Read everything back; oneway messages may still be on their way, so poll a while.
    let reader = PullConsumer::new(PullConsumerConfig::new("quickstart_reader_group", &ns))
        .map_err(|e| e.to_string())?;
    let queues = reader
        .fetch_subscribe_message_queues(TOPIC)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut received = BTreeMap::new();
    while received.len() < expected.len() && Instant::now() < deadline {
        received.clear();
        for queue in &queues {
            let mut offset = reader.min_offset(queue).map_err(|e| e.to_string())?;
            loop {
                let result = reader.pull(queue, offset, 32).map_err(|e| e.to_string())?;
                if result.status != PullStatus::Found {
                    break;
                }
                for m in result.messages {
                    let body = String::from_utf8_lossy(&m.body).into_owned();
                    if received.insert(body.clone(), m).is_some() {
                        return Err(format!("message {body:?} stored twice"));
                    }
                }
                offset = result.next_begin_offset;
            }
        }
        if received.len() < expected.len() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    reader.shutdown();

    for (body, want) in &expected {
        let short: String = body.chars().take(24).collect();
        let got = received
            .get(body)
            .ok_or_else(|| format!("message {short:?} did not come back"))?;
        if got.tags() != Some(want.tags.as_str())
            || got.keys() != Some(want.keys.as_str())
            || got.property("origin") != Some(want.origin.as_str())
        {
            return Err(format!(
                "message {short:?} came back changed: {:?}",
                got.properties
            ));
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
        ));
    }
    broker.shutdown();
    namesrv.shutdown();
    Ok(expected.len())
}
