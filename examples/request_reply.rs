//! Request-reply: a responder and a requester in one process. The responder consumes the
//! requests of `--topic` and answers each with `create_reply_message`; the requester sends
//! `--count` requests one after the other and waits for each reply.
//!
//! `cargo run --release --example request_reply -- --namesrv <ip:port> --topic <t>
//!  --count <n> [--timeout <seconds>]`
//!
//! The topic is created first (4 queues on every broker serving `TBW102`), and the requests
//! start once the responder holds its queues. A reply counts when its body answers its own
//! request. The last line is `requests <n> replies <k>`; the exit status is 0 only when
//! k = n. Each request waits at most `--timeout` (10 s). Logs go to stderr (level in
//! `RMQ_LOG`, default warn).

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_blocking::client::{
    create_reply_message, ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt, MqAdmin,
    Producer, PushConsumer,
};

const USAGE: &str =
    "usage: request_reply --namesrv <ip:port> --topic <t> --count <n> [--timeout <seconds>]";

/// How long the responder may take to hold its queues.
const RESPONDER_READY_WITHIN: Duration = Duration::from_secs(60);

fn fail_usage(problem: &str) -> ! {
    eprintln!("{problem}\n{USAGE}");
    exit(2)
}

struct Args {
    namesrv: String,
    topic: String,
    count: u64,
    timeout: Duration,
}

fn parse_args() -> Args {
    let (mut namesrv, mut topic, mut count) = (None, None, None);
    let mut timeout = Duration::from_secs(10);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail_usage(&format!("{arg} needs a value")))
        };
        let number = |text: String, name: &str| -> u64 {
            text.parse()
                .unwrap_or_else(|_| fail_usage(&format!("{name} must be a number")))
        };
        match arg.as_str() {
            "--namesrv" => namesrv = Some(value()),
            "--topic" => topic = Some(value()),
            "--count" => count = Some(number(value(), "--count")),
            "--timeout" => timeout = Duration::from_secs(number(value(), "--timeout")),
            other => fail_usage(&format!("unknown argument {other}")),
        }
    }
    Args {
        namesrv: namesrv.unwrap_or_else(|| fail_usage("--namesrv is required")),
        topic: topic.unwrap_or_else(|| fail_usage("--topic is required")),
        count: count.unwrap_or_else(|| fail_usage("--count is required")),
        timeout,
    }
}

/// What the responder answers to `request`.
fn answer(request: &[u8]) -> Vec<u8> {
    let mut reply = b"reply to ".to_vec();
    reply.extend_from_slice(request);
    reply
}

fn main() {
    let level = std::env::var("RMQ_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(simplelog::LevelFilter::Warn);
    logging::init(level);
    let args = parse_args();
    let give_up = |what: &str, why: &str| -> ! {
        eprintln!("{what}: {why}");
        println!("requests {} replies 0", args.count);
        exit(1)
    };

    // The topic must exist before the responder subscribes: a consumer whose topic has no
    // route rebalances again only 20 s later.
    match MqAdmin::builder().name_server(&args.namesrv).start() {
        Ok(admin) => {
            if let Err(e) = admin.create_topic("TBW102", &args.topic, 4) {
                eprintln!(
                    "creating {} failed ({}); using it as it is",
                    args.topic,
                    report::error_chain(&e)
                );
            }
            admin.shutdown();
        }
        Err(e) => give_up("admin did not start", &report::error_chain(&e)),
    }

    let replier = Arc::new(
        Producer::builder("example_replier_group")
            .name_server(&args.namesrv)
            .start()
            .unwrap_or_else(|e| give_up("replier did not start", &report::error_chain(&e))),
    );
    let sender = replier.clone();
    let responder = PushConsumer::builder("example_responder_group")
        .name_server(&args.namesrv)
        .subscribe(&args.topic, "*")
        .consume_from(ConsumeFrom::LastOffset)
        .message_listener_concurrently(move |requests: &[MessageExt], _: &mut _| {
            for request in requests {
                let reply = create_reply_message(request, answer(&request.body))
                    .and_then(|reply| sender.send(&reply));
                if let Err(e) = reply {
                    log::warn!("answering {} failed: {e}", request.msg_id);
                }
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap_or_else(|e| give_up("responder did not start", &report::error_chain(&e)));
    let ready_by = Instant::now() + RESPONDER_READY_WITHIN;
    while !responder
        .running_info()
        .mq_table
        .keys()
        .any(|q| q.topic == args.topic)
    {
        if Instant::now() > ready_by {
            give_up("the responder holds no queue", &args.topic);
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    let requester = Producer::builder("example_requester_group")
        .name_server(&args.namesrv)
        .start()
        .unwrap_or_else(|e| give_up("requester did not start", &report::error_chain(&e)));
    let mut replies = 0u64;
    let begin = Instant::now();
    for i in 1..=args.count {
        let body = format!("request {i}").into_bytes();
        match requester.request(
            &Message::new(args.topic.clone(), body.clone()),
            args.timeout,
        ) {
            Ok(reply) if reply.body == answer(&body) => replies += 1,
            Ok(reply) => eprintln!(
                "#{i}: a reply that answers something else: {:?}",
                String::from_utf8_lossy(&reply.body)
            ),
            Err(e) => eprintln!("#{i} failed: {}", report::error_chain(&e)),
        }
    }
    log::info!(
        "{} round trips in {:.3} s",
        args.count,
        begin.elapsed().as_secs_f64()
    );
    requester.shutdown();
    responder.shutdown();
    replier.shutdown();
    println!("requests {} replies {replies}", args.count);
    exit(if replies == args.count { 0 } else { 1 });
}
