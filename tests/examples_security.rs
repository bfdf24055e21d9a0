//! The security flags of the examples, run as tools run them, all at once as an operated
//! cluster turns them on: a name server enforcing TLS; `broker --acl <file> --tls-mode
//! enforcing --tls-cert --tls-key --namesrv-tls-ca`; `producer` and `consumer` with
//! `--access-key --secret-key --namespace --tls --tls-ca` send and consume through them; a
//! wrong secret is refused and reported in the last line.

#![cfg(all(feature = "servers", feature = "acl", feature = "tls"))]

mod common;

use rocketmq_blocking::client::MqAdmin;
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::remoting::{TlsClientConfig, TlsMode};

/// A PEM file of tests/fixtures/tls.
fn tls_fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
        .to_string_lossy()
        .into_owned()
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
    let namesrv = NameServer::builder()
        .listen("127.0.0.1:0")
        .tls_mode(TlsMode::Enforcing)
        .tls_cert(tls_fixture("server.pem"))
        .tls_key(tls_fixture("server.key"))
        .start()
        .unwrap();
    let (cert, key, ca) = (
        tls_fixture("server.pem"),
        tls_fixture("server.key"),
        tls_fixture("ca.pem"),
    );
    let ns = namesrv.local_addr().to_string();
    let store = dir.join("store");
    let (store, table) = (store.to_string_lossy(), table.to_string_lossy());
    let _broker = common::BrokerExample::start(&[
        "--listen",
        "127.0.0.1:0",
        "--namesrv",
        &ns,
        "--store",
        &store,
        "--acl",
        &table,
        "--tls-mode",
        "enforcing",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--namesrv-tls-ca",
        &ca,
    ]);
    // The broker registers (over TLS) just after it announces itself: wait for the name
    // server to know it.
    let admin = MqAdmin::builder()
        .name_server(ns.clone())
        .tls(TlsClientConfig::with_ca_file(&ca))
        .start()
        .unwrap();
    common::assert_eventually(
        "the broker registered with the name server",
        std::time::Duration::from_secs(20),
        || {
            admin
                .examine_broker_cluster_info()
                .is_ok_and(|c| !c.broker_addr_table.is_empty())
        },
    );
    admin.shutdown();

    let client = |secret: &str| {
        vec![
            "--access-key".to_string(),
            "RocketMQ".into(),
            "--secret-key".into(),
            secret.into(),
            "--namespace".into(),
            "teamA".into(),
            "--tls".into(),
            "--tls-ca".into(),
            ca.clone(),
        ]
    };
    let mut args: Vec<String> = ["--namesrv", &ns, "--topic", "SecureTopic", "--count", "5"]
        .map(String::from)
        .to_vec();
    args.extend(["--mode".into(), "sync".into()]);
    let sign = |extra: Vec<String>| [args.clone(), extra].concat();

    let refused = sign(client("wrong-secret"));
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    let (code, lines) = common::run_example("producer", &refused);
    assert_ne!(code, 0, "a wrong secret must fail: {lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("sent 5 ok 0 failed 5")
    );

    let good = sign(client("12345678"));
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let (code, lines) = common::run_example("producer", &good);
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
    let (code, lines) = common::run_example("consumer", &consume);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("consumed 5 distinct 5")
    );
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
