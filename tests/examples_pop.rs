//! The `consumer` example's RocketMQ 5 modes, run as tools run them (the binary `cargo test`
//! builds) against a reference name server and broker: `--mode pop` (a push consumer that
//! sets its group to POP and pops) and `--mode simple` (a `SimpleConsumer` loop), each with
//! `--fail-every`, whose failed messages must come again and be counted once; and the pulling
//! `--mode push` with `--fail-every` beside them.

#![cfg(feature = "servers")]

mod common;

use std::collections::BTreeSet;
use std::thread;

use rocketmq_blocking::client::{Message, MqAdmin, Producer};
use rocketmq_blocking::LocalCluster;

#[test]
fn consumer_example_pops_and_receives_with_redelivered_failures() {
    common::init_logging();
    let cluster = LocalCluster::start().unwrap();
    let ns = cluster.name_server_addr();
    MqAdmin::builder()
        .name_server(&ns)
        .start()
        .unwrap()
        .create_topic("TBW102", "ExPop", 4)
        .unwrap();
    let producer = Producer::builder("PG_ex_pop")
        .name_server(&ns)
        .start()
        .unwrap();
    for i in 0..20 {
        let m = Message::new("ExPop", format!("m{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        producer.send(&m).unwrap();
    }
    producer.shutdown();

    let runs: Vec<_> = ["pop", "simple", "push"]
        .into_iter()
        .map(|mode| {
            let ns = ns.clone();
            thread::spawn(move || {
                let group = format!("CG_ex_{mode}");
                let (code, lines) = common::run_example(
                    "consumer",
                    &[
                        "--namesrv",
                        &ns,
                        "--topic",
                        "ExPop",
                        "--group",
                        &group,
                        "--count",
                        "20",
                        "--mode",
                        mode,
                        "--from",
                        "first",
                        "--fail-every",
                        "7",
                        "--print-seq",
                        "--timeout",
                        "90",
                    ],
                );
                (mode, code, lines)
            })
        })
        .collect();
    for run in runs {
        let (mode, code, lines) = run.join().unwrap();
        assert_eq!(
            lines.last().map(String::as_str),
            Some("consumed 20 distinct 20"),
            "{mode}: {lines:?}"
        );
        assert_eq!(code, 0, "{mode}");
        let seqs: BTreeSet<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("seq "))
            .collect();
        assert_eq!(
            seqs.len(),
            20,
            "{mode}: each message once, the failed ones too"
        );
        // The failed deliveries (every 7th: at least 2 of 20) came again through the group's
        // retry topic: `--fail-every` failed them, it was not ignored.
        let retry = match mode {
            "push" => "%RETRY%CG_ex_push".to_string(),
            _ => format!("%RETRY%CG_ex_{mode}_ExPop"),
        };
        let redelivered: i64 = (0..8)
            .map(|q| cluster.broker().store().max_offset_in_queue(&retry, q))
            .sum();
        assert!(redelivered >= 2, "{mode}: {redelivered} in {retry}");
    }
    let (code, _) = common::run_example(
        "consumer",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "ExPop",
            "--group",
            "g",
            "--count",
            "1",
            "--mode",
            "lite",
            "--fail-every",
            "2",
        ],
    );
    assert_eq!(code, 2, "--fail-every does not go with lite");
}
