//! The security flags of the examples, run as tools run them: `broker --acl <file>` checks
//! every request; `producer` and `consumer` with `--access-key --secret-key --namespace` send
//! and consume through it; a wrong secret is refused and reported in the last line.

#![cfg(all(feature = "servers", feature = "acl"))]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use rocketmq_blocking::namesrv::NameServer;

/// Runs an example to its end; returns its exit code and stdout lines.
fn run(name: &str, args: &[&str]) -> (i32, Vec<String>) {
    let output = Command::new(common::example_binary(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    if !output.status.success() {
        eprintln!(
            "{name} stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (output.status.code().unwrap_or(-1), lines)
}

/// The broker example, killed when dropped.
struct BrokerProcess(Child);

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn producer_and_consumer_examples_sign_and_use_a_namespace() {
    common::init_logging();
    let dir = std::env::temp_dir().join(format!("rmq-ex-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("plain_acl.json");
    std::fs::write(
        &table,
        r#"{"accounts": [{"accessKey": "RocketMQ", "secretKey": "12345678",
            "defaultTopicPerm": "PUB|SUB", "defaultGroupPerm": "SUB", "admin": false}]}"#,
    )
    .unwrap();
    let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
    let ns = namesrv.local_addr().to_string();
    let store = dir.join("store");
    let mut child = Command::new(common::example_binary("broker"))
        .args(["--listen", "127.0.0.1:0", "--namesrv", &ns])
        .args([
            "--store",
            &store.to_string_lossy(),
            "--acl",
            &table.to_string_lossy(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the broker example");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the announcement");
    let _broker = BrokerProcess(child);
    assert!(line.starts_with("listening on "), "{line:?}");

    let client = |secret: &str| {
        vec![
            "--access-key".to_string(),
            "RocketMQ".into(),
            "--secret-key".into(),
            secret.into(),
            "--namespace".into(),
            "teamA".into(),
        ]
    };
    let mut args: Vec<String> = ["--namesrv", &ns, "--topic", "SecureTopic", "--count", "5"]
        .map(String::from)
        .to_vec();
    args.extend(["--mode".into(), "sync".into()]);
    let sign = |extra: Vec<String>| [args.clone(), extra].concat();

    let refused = sign(client("wrong-secret"));
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    let (code, lines) = run("producer", &refused);
    assert_ne!(code, 0, "a wrong secret must fail: {lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("sent 5 ok 0 failed 5")
    );

    let good = sign(client("12345678"));
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let (code, lines) = run("producer", &good);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("sent 5 ok 5 failed 0")
    );

    let mut consume: Vec<String> = [
        "--namesrv",
        &ns,
        "--topic",
        "SecureTopic",
        "--group",
        "SecureGroup",
        "--count",
        "5",
        "--mode",
        "push",
        "--from",
        "first",
        "--timeout",
        "60",
    ]
    .map(String::from)
    .to_vec();
    consume.extend(client("12345678"));
    let consume: Vec<&str> = consume.iter().map(String::as_str).collect();
    let (code, lines) = run("consumer", &consume);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("consumed 5 distinct 5")
    );
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
