//! Admin: a few of `mqadmin`'s commands, through `MqAdmin`.
//!
//! `cargo run --release --example admin -- --namesrv <ip:port> <command> [options]`
//!
//! - `topic-create --topic <t> [--queues <n>] [--key <template topic>]`: creates the topic
//!   with n read and write queues (8) on every broker serving the template (`TBW102`);
//! - `query-key --topic <t> --key <k> [--max <n>]`: the messages with that key, one line each
//!   (`<unique id> queue <q> offset <o> id <offset msg id> body <first 64 bytes>`), then
//!   `found <n>`;
//! - `view-id --id <offset msg id>`: one message, a field per line;
//! - `trace-id --id <msgId> [--trace-topic <t>]`: the message trace of a message (its unique
//!   id, what `producer --print-ids` prints), as `mqadmin queryMsgTraceById`: a `#Type`
//!   header, then one row per record, its first column the record type (`Pub`,
//!   `SubBefore`, `SubAfter`, `EndTransaction`), then group, client host, time (UTC), cost,
//!   status and what the record adds; last line `records <n> skipped <k>` (k: records in the
//!   trace topic that are not Java's format);
//! - `topic-list`, `topic-status --topic <t>`, `cluster-list`, `broker-status --broker
//!   <ip:port>`, `consumer-progress --group <g>`: what the `mqadmin` commands of those names
//!   show.
//!
//! The exit status is 0 when the command succeeded, 1 when it failed (the error on stderr),
//! 2 for bad arguments. Logs go to stderr (level in `RMQ_LOG`, default warn).

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

use std::collections::BTreeMap;
use std::process::exit;

use rocketmq_blocking::client::{ClientError, MessageExt, MqAdmin, TraceType};

const USAGE: &str = "usage: admin --namesrv <ip:port> <command> [options]
  topic-create --topic <t> [--queues <n>] [--key <template topic>]
  query-key --topic <t> --key <k> [--max <n>]
  view-id --id <offset msg id>
  trace-id --id <msgId> [--trace-topic <t>]
  topic-list | cluster-list
  topic-status --topic <t>
  broker-status --broker <ip:port>
  consumer-progress --group <g>";

fn fail_usage(problem: &str) -> ! {
    eprintln!("{problem}\n{USAGE}");
    exit(2)
}

/// The command and its `--name value` options.
struct Args {
    namesrv: String,
    command: String,
    options: BTreeMap<String, String>,
}

impl Args {
    fn required(&self, name: &str) -> &str {
        self.options
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| fail_usage(&format!("{} needs --{name}", self.command)))
    }

    fn number(&self, name: &str, default: i32) -> i32 {
        self.options.get(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| fail_usage(&format!("--{name} must be a number")))
        })
    }
}

fn parse_args() -> Args {
    let mut namesrv = None;
    let mut command = None;
    let mut options = BTreeMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if let Some(name) = arg.strip_prefix("--") {
            let value = args
                .next()
                .unwrap_or_else(|| fail_usage(&format!("{arg} needs a value")));
            if name == "namesrv" {
                namesrv = Some(value);
            } else {
                options.insert(name.to_string(), value);
            }
        } else if command.is_none() {
            command = Some(arg);
        } else {
            fail_usage(&format!("unexpected argument {arg}"));
        }
    }
    Args {
        namesrv: namesrv.unwrap_or_else(|| fail_usage("--namesrv is required")),
        command: command.unwrap_or_else(|| fail_usage("a command is required")),
        options,
    }
}

/// `ms` since the epoch as `yyyy-mm-ddThh:mm:ss.mmmZ` (UTC; no date crate needed).
fn utc(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let secs = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

fn preview(body: &[u8]) -> String {
    let shown = &body[..body.len().min(64)];
    String::from_utf8_lossy(shown).replace('\n', " ")
}

fn print_message(m: &MessageExt) {
    println!("topic: {}", m.topic);
    println!("unique id: {}", m.uniq_key().unwrap_or(""));
    println!("offset msg id: {}", m.msg_id);
    println!("tags: {}", m.property("TAGS").unwrap_or(""));
    println!("keys: {}", m.property("KEYS").unwrap_or(""));
    println!("queue id: {}", m.queue_id);
    println!("queue offset: {}", m.queue_offset);
    println!("commit log offset: {}", m.commit_log_offset);
    println!("born host: {}", m.born_host);
    println!("born timestamp: {}", m.born_timestamp);
    println!("store host: {}", m.store_host);
    println!("store timestamp: {}", m.store_timestamp);
    println!("reconsume times: {}", m.reconsume_times);
    println!("body: {}", preview(&m.body));
}

fn run(admin: &MqAdmin, args: &Args) -> Result<(), ClientError> {
    match args.command.as_str() {
        "topic-create" => {
            let topic = args.required("topic");
            let queues = args.number("queues", 8);
            let key = args.options.get("key").map_or("TBW102", String::as_str);
            admin.create_topic(key, topic, queues)?;
            let route = admin.examine_topic_route_info(topic)?;
            for queue in &route.queue_datas {
                println!(
                    "{topic} on {}: {} read, {} write queues, perm {}",
                    queue.broker_name, queue.read_queue_nums, queue.write_queue_nums, queue.perm
                );
            }
            println!("created {topic}");
        }
        "query-key" => {
            let topic = args.required("topic");
            let key = args.required("key");
            let max = args.number("max", 64);
            let found = admin.query_message(topic, key, max, 0, i64::MAX)?;
            for m in &found.messages {
                println!(
                    "{} queue {} offset {} id {} body {}",
                    m.uniq_key().unwrap_or(""),
                    m.queue_id,
                    m.queue_offset,
                    m.msg_id,
                    preview(&m.body)
                );
            }
            println!("found {}", found.messages.len());
        }
        "view-id" => print_message(&admin.view_message(args.required("id"))?),
        "trace-id" => {
            let id = args.required("id");
            let found = match args.options.get("trace-topic") {
                Some(topic) => admin.query_trace_in(topic, id)?,
                None => admin.query_trace(id)?,
            };
            println!(
                "{:<14} {:<28} {:<16} {:<24} {:>8} {:<8} #Detail",
                "#Type", "#Group", "#ClientHost", "#Time", "#Cost", "#Status"
            );
            for r in &found.records {
                let detail = match r.trace_type {
                    TraceType::Pub => format!(
                        "topic={} tags={} keys={} storeHost={} offsetMsgId={}",
                        r.topic,
                        r.tags.as_deref().unwrap_or(""),
                        r.keys.as_deref().unwrap_or(""),
                        r.store_host,
                        r.offset_msg_id
                    ),
                    TraceType::SubBefore => {
                        format!("requestId={} retryTimes={}", r.request_id, r.retry_times)
                    }
                    TraceType::SubAfter => {
                        format!("requestId={} returnType={}", r.request_id, r.context_code)
                    }
                    TraceType::EndTransaction => format!(
                        "topic={} state={} fromCheck={}",
                        r.topic,
                        r.transaction_state.map_or("", |s| s.java_name()),
                        r.from_transaction_check
                    ),
                    _ => format!("topic={}", r.topic),
                };
                println!(
                    "{:<14} {:<28} {:<16} {:<24} {:>6}ms {:<8} {detail}",
                    r.trace_type.name(),
                    r.group_name,
                    r.client_host,
                    utc(r.time_stamp),
                    r.cost_time,
                    r.status()
                );
            }
            println!("records {} skipped {}", found.records.len(), found.skipped);
        }
        "topic-list" => {
            for topic in admin.fetch_all_topic_list()?.topic_list {
                println!("{topic}");
            }
        }
        "cluster-list" => {
            let clusters = admin.examine_broker_cluster_info()?;
            for (cluster, brokers) in &clusters.cluster_addr_table {
                for name in brokers {
                    let Some(data) = clusters.broker_addr_table.get(name) else {
                        continue;
                    };
                    for (id, addr) in &data.broker_addrs {
                        let info = admin.fetch_broker_runtime_stats(addr)?.table;
                        let first = |key: &str| {
                            info.get(key)
                                .and_then(|v| v.split(' ').next())
                                .unwrap_or("")
                                .to_string()
                        };
                        println!(
                            "{cluster} {name} {id} {addr} {} put tps {} get tps {}",
                            info.get("brokerVersionDesc").map_or("", String::as_str),
                            first("putTps"),
                            first("getTransferedTps")
                        );
                    }
                }
            }
        }
        "broker-status" => {
            let info = admin.fetch_broker_runtime_stats(args.required("broker"))?;
            for (key, value) in info.table {
                println!("{key:<32}: {value}");
            }
        }
        "topic-status" => {
            let topic = args.required("topic");
            println!(
                "{:<32} {:<4} {:>12} {:>12} last updated",
                "broker", "queue", "min", "max"
            );
            for (queue, offset) in admin.examine_topic_stats(topic)?.offset_table {
                println!(
                    "{:<32} {:<4} {:>12} {:>12} {}",
                    queue.broker_name,
                    queue.queue_id,
                    offset.min_offset,
                    offset.max_offset,
                    offset.last_update_timestamp
                );
            }
        }
        "consumer-progress" => {
            let stats = admin.examine_consume_stats(args.required("group"), None)?;
            for (queue, offset) in &stats.offset_table {
                println!(
                    "{} {} {} broker {} consumer {} diff {}",
                    queue.topic,
                    queue.broker_name,
                    queue.queue_id,
                    offset.broker_offset,
                    offset.consumer_offset,
                    offset.broker_offset - offset.consumer_offset
                );
            }
            println!("consume tps {:.2}", stats.consume_tps);
            println!("diff total {}", stats.total_diff());
        }
        other => fail_usage(&format!("unknown command {other}")),
    }
    Ok(())
}

fn main() {
    let level = std::env::var("RMQ_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(simplelog::LevelFilter::Warn);
    logging::init(level);
    let args = parse_args();
    let admin = MqAdmin::builder()
        .name_server(&args.namesrv)
        .start()
        .unwrap_or_else(|e| {
            eprintln!("admin did not start: {}", report::error_chain(&e));
            exit(1)
        });
    let outcome = run(&admin, &args);
    admin.shutdown();
    if let Err(e) = outcome {
        eprintln!("{} failed: {}", args.command, report::error_chain(&e));
        exit(1);
    }
}
