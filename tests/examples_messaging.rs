//! The `transaction`, `request_reply` and `admin` examples, run as tools run them (the
//! binaries `cargo test` builds), against a reference name server and a broker that checks
//! open transactions every 100 ms: each prints the last line its usage promises and exits 0.

#![cfg(feature = "servers")]

mod common;

use std::time::Duration;

use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::namesrv::NameServer;

#[test]
fn transaction_request_reply_and_admin_examples_print_their_promised_lines() {
    common::init_logging();
    let store = std::env::temp_dir().join(format!("rmq-examples-msg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
    let ns = namesrv.local_addr().to_string();
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store)
        .name_server(&ns)
        .transaction_timeout(Duration::from_millis(300))
        .transaction_check_interval(Duration::from_millis(100))
        .start()
        .unwrap();

    // Messages 1..=12: 4, 8, 12 rolled back; 3, 6, 9 unknown, then committed by the check.
    let (code, lines) = common::run_example(
        "transaction",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "ExTx",
            "--count",
            "12",
            "--rollback-every",
            "4",
            "--unknown-every",
            "3",
            "--check-wait",
            "60",
        ],
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("sent 12 committed 9 rolled-back 3 checked 3")
    );
    assert_eq!(code, 0);

    let (code, lines) = common::run_example(
        "request_reply",
        &["--namesrv", &ns, "--topic", "ExRequests", "--count", "10"],
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("requests 10 replies 10")
    );
    assert_eq!(code, 0);

    let (code, lines) = common::run_example(
        "admin",
        &[
            "--namesrv",
            &ns,
            "topic-create",
            "--topic",
            "ExAdmin",
            "--queues",
            "2",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(lines.last().map(String::as_str), Some("created ExAdmin"));
    let (code, lines) = common::run_example(
        "admin",
        &[
            "--namesrv",
            &ns,
            "query-key",
            "--topic",
            "ExTx",
            "--key",
            "tx-3",
        ],
    );
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("found 1"));
    let offset_id = lines[0]
        .split(" id ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("an offset msg id")
        .to_string();
    let (code, lines) =
        common::run_example("admin", &["--namesrv", &ns, "view-id", "--id", &offset_id]);
    assert_eq!(code, 0);
    assert!(
        lines.contains(&"body: transactional message 3".to_string()),
        "{lines:?}"
    );
    // A rolled-back message is never found.
    let (_, lines) = common::run_example(
        "admin",
        &[
            "--namesrv",
            &ns,
            "query-key",
            "--topic",
            "ExTx",
            "--key",
            "tx-4",
        ],
    );
    assert_eq!(lines.last().map(String::as_str), Some("found 0"));
    let (code, _) = common::run_example("admin", &["--namesrv", &ns, "no-such-command"]);
    assert_eq!(code, 2);

    broker.shutdown();
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}
