//! Message trace through the examples, as tools drive them: `broker --trace-topic-enable`,
//! `producer --trace --print-ids`, `consumer --trace`, then `admin trace-id --id <msgId>`
//! prints one row per record, its first column the record type, and `records <n> skipped <k>`.

#![cfg(all(unix, feature = "servers"))]

mod common;

use std::time::Duration;

use rocketmq_blocking::client::{MqAdmin, RMQ_SYS_TRACE_TOPIC};
use rocketmq_blocking::namesrv::NameServer;

#[test]
fn producer_consumer_and_admin_examples_write_and_read_message_trace() {
    common::init_logging();
    let dir = common::TempDir::created("examples-trace");
    let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
    let ns = namesrv.local_addr().to_string();
    let store = dir.0.join("store");
    let _broker = common::BrokerExample::start(&[
        "--listen",
        "127.0.0.1:0",
        "--namesrv",
        &ns,
        "--store",
        store.to_str().unwrap(),
        "--trace-topic-enable",
    ]);

    // --trace-topic-enable: the trace topic is there before anyone sends to it.
    let admin = MqAdmin::builder().name_server(&ns).start().unwrap();
    common::assert_eventually("the trace topic is routed", Duration::from_secs(30), || {
        admin
            .examine_topic_route_info(RMQ_SYS_TRACE_TOPIC)
            .is_ok_and(|r| {
                r.queue_datas
                    .first()
                    .is_some_and(|q| q.write_queue_nums == 1)
            })
    });

    let (code, lines) = common::run_example(
        "producer",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "ExTrace",
            "--count",
            "3",
            "--mode",
            "sync",
            "--trace",
            "--print-ids",
        ],
    );
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("sent 3 ok 3 failed 0")
    );
    let ids: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("id ")).collect();
    assert_eq!(ids.len(), 3, "{lines:?}");

    let (code, lines) = common::run_example(
        "consumer",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "ExTrace",
            "--group",
            "ExTraceCG",
            "--count",
            "3",
            "--mode",
            "push",
            "--from",
            "first",
            "--trace",
        ],
    );
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("consumed 3 distinct 3")
    );

    for id in ids {
        // The broker indexes the trace messages in the background.
        let mut lines = Vec::new();
        common::wait_until(Duration::from_secs(30), || {
            let (code, out) =
                common::run_example("admin", &["--namesrv", &ns, "trace-id", "--id", id]);
            assert_eq!(code, 0, "{out:?}");
            lines = out;
            lines.last().map(String::as_str) == Some("records 3 skipped 0")
        });
        assert_eq!(
            lines.last().map(String::as_str),
            Some("records 3 skipped 0"),
            "{lines:?}"
        );
        assert!(lines[0].starts_with("#Type"), "{lines:?}");
        let types: Vec<&str> = lines[1..lines.len() - 1]
            .iter()
            .map(|row| row.split_whitespace().next().unwrap_or(""))
            .collect();
        assert_eq!(types, ["Pub", "SubBefore", "SubAfter"], "{lines:?}");
        assert!(lines[1].contains("example_producer_group"), "{lines:?}");
        assert!(lines[1].contains("topic=ExTrace"), "{lines:?}");
        assert!(lines[2].contains("ExTraceCG"), "{lines:?}");
    }
    let (code, _) = common::run_example("admin", &["--namesrv", &ns, "trace-id"]);
    assert_eq!(code, 2, "trace-id needs --id");
    namesrv.shutdown();
}
