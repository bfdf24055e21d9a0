//! Ordered messages: every step of an order goes to the queue its order id hashes to, so a
//! reader of that queue sees the steps in the order they were sent.
//!
//! `cargo run --release --example ordered -- [--namesrv <ip:port>] [--topic <t>] [--orders <n>]`
//!
//! Without `--namesrv` it starts the reference name server and broker in this process. It
//! sends the steps of `--orders` orders (default 10), interleaved, with
//! `SelectMessageQueueByHash` and the order id (a `u64`, hashed as Java hashes a `long`),
//! then reads every queue back from its first offset and checks that each order's steps
//! arrived in one queue, in order. The last line is `orders <n> steps <s> in order: yes|no`;
//! the exit status is 0 only for yes.

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

use std::collections::BTreeMap;
use std::error::Error;
use std::process::exit;

use rocketmq_blocking::client::{
    Message, MessageQueue, Producer, PullConsumer, PullStatus, SelectMessageQueueByHash,
};
use rocketmq_blocking::LocalCluster;

const STEPS: [&str; 4] = ["created", "paid", "shipped", "delivered"];
const USAGE: &str = "usage: ordered [--namesrv <ip:port>] [--topic <t>] [--orders <n>]";

fn main() {
    logging::init(simplelog::LevelFilter::Warn);
    let mut namesrv = None;
    let mut topic = "OrderedTopic".to_string();
    let mut orders = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("{arg} needs a value\n{USAGE}");
                exit(2)
            })
        };
        match arg.as_str() {
            "--namesrv" => namesrv = Some(value()),
            "--topic" => topic = value(),
            "--orders" => {
                orders = value().parse().unwrap_or_else(|_| {
                    eprintln!("--orders takes a number\n{USAGE}");
                    exit(2)
                })
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                exit(2)
            }
        }
    }
    match run(namesrv, &topic, orders) {
        Ok(true) => {}
        Ok(false) => exit(1),
        Err(e) => {
            eprintln!("ordered example failed: {}", report::error_chain(&*e));
            exit(1)
        }
    }
}

fn run(namesrv: Option<String>, topic: &str, orders: u64) -> Result<bool, Box<dyn Error>> {
    // A cluster of our own unless one was named.
    let (_cluster, namesrv) = match namesrv {
        Some(addr) => (None, addr),
        None => {
            let cluster = LocalCluster::start()?;
            let addr = cluster.name_server_addr();
            (Some(cluster), addr)
        }
    };
    let producer = Producer::builder("ordered_example_producer")
        .name_server(&namesrv)
        .start()?;
    // Steps of different orders interleave, as they would in a shop.
    let mut queue_of_order: BTreeMap<u64, MessageQueue> = BTreeMap::new();
    for step in STEPS {
        for order_id in 1..=orders {
            let message = Message::new(topic, format!("order {order_id} {step}"))
                .with_tags(step)
                .with_keys(order_id.to_string());
            let sent =
                producer.send_with_selector(&message, &SelectMessageQueueByHash, &order_id)?;
            let queue = queue_of_order
                .entry(order_id)
                .or_insert_with(|| sent.message_queue.clone());
            if *queue != sent.message_queue {
                println!(
                    "order {order_id} moved from {queue} to {}",
                    sent.message_queue
                );
                return Ok(false);
            }
        }
    }
    producer.shutdown();

    // Read every queue from the start; each order's steps must come back in sending order.
    let consumer = PullConsumer::builder("ordered_example_reader")
        .name_server(&namesrv)
        .start()?;
    let mut seen: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for queue in consumer.fetch_subscribe_message_queues(topic)? {
        let mut offset = consumer.min_offset(&queue)?;
        loop {
            let pulled = consumer.pull(&queue, offset, 32)?;
            if pulled.status != PullStatus::Found {
                break;
            }
            for message in &pulled.messages {
                let order_id = message.keys().unwrap_or_default().parse().unwrap_or(0);
                let step = message.tags().unwrap_or_default().to_string();
                seen.entry(order_id).or_default().push(step);
            }
            offset = pulled.next_begin_offset;
        }
    }
    consumer.shutdown();
    let mut in_order = seen.len() as u64 == orders;
    for (order_id, steps) in &seen {
        let queue = &queue_of_order[order_id];
        println!(
            "order {order_id} on queue {}: {}",
            queue.queue_id,
            steps.join(" → ")
        );
        in_order &= steps.iter().map(String::as_str).eq(STEPS);
    }
    let total: usize = seen.values().map(Vec::len).sum();
    println!(
        "orders {orders} steps {total} in order: {}",
        if in_order { "yes" } else { "no" }
    );
    Ok(in_order)
}
