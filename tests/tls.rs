//! TLS: messages through the reference name server and broker over TLS (enforcing and
//! permissive), plain and TLS clients against each mode, untrusted certificates, client
//! certificates, hostile handshakes, and large frames that outrun the socket.
//!
//! Certificates are the PEM fixtures in tests/fixtures/tls (see its README).

#![cfg(all(feature = "tls", feature = "servers"))]

mod common;
use common::TempDir;

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{ConsumeFrom, LitePullConsumer, Message, Producer};
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{
    RemotingClient, RemotingError, RemotingServer, ServerConfig, TlsClientConfig, TlsFailure,
    TlsMode,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn trusted() -> TlsClientConfig {
    TlsClientConfig::with_ca_file(fixture("ca.pem"))
}

fn tls_server_config(mode: TlsMode) -> ServerConfig {
    let mut config = server_config();
    config.tls_mode = mode;
    config.tls_cert = Some(fixture("server.pem"));
    config.tls_key = Some(fixture("server.key"));
    config
}

fn tls_client(tls: TlsClientConfig) -> RemotingClient {
    init_logging();
    let mut config = client_config();
    config.tls = Some(tls);
    RemotingClient::new(config).expect("client")
}

/// A name server and a broker, both in `mode`; the broker registers over TLS when `mode` is
/// enforcing, in plain otherwise.
struct Cluster {
    broker: Broker,
    namesrv: NameServer,
    _store: TempDir,
}

impl Cluster {
    fn start(mode: TlsMode) -> Cluster {
        init_logging();
        let store = TempDir::new(&format!("{mode:?}"));
        let namesrv = NameServer::builder()
            .listen("127.0.0.1:0")
            .tls_mode(mode)
            .tls_cert(fixture("server.pem"))
            .tls_key(fixture("server.key"))
            .start()
            .expect("name server");
        let mut broker = Broker::builder()
            .listen("127.0.0.1:0")
            .name_server(&namesrv.local_addr().to_string())
            .store_dir(&store.0)
            .tls_mode(mode)
            .tls_cert(fixture("server.pem"))
            .tls_key(fixture("server.key"));
        if mode == TlsMode::Enforcing {
            broker = broker.namesrv_tls(trusted());
        }
        let broker = broker.start().expect("broker");
        Cluster {
            broker,
            namesrv,
            _store: store,
        }
    }

    fn namesrv_addr(&self) -> String {
        self.namesrv.local_addr().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.broker.shutdown();
        self.namesrv.shutdown();
    }
}

fn producer(cluster: &Cluster, group: &str, tls: Option<TlsClientConfig>) -> Producer {
    let mut builder = Producer::builder(group).name_server(cluster.namesrv_addr());
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    builder.start().expect("producer")
}

fn send(producer: &Producer, topic: &str, range: std::ops::Range<u64>) {
    for i in range {
        let m = Message::new(topic, format!("body-{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        producer.send(&m).expect("send");
    }
}

/// Polls `topic` from the first offset until `want` distinct seqs arrived (or 30 s passed);
/// returns the seqs seen.
fn consume(
    cluster: &Cluster,
    group: &str,
    topic: &str,
    tls: Option<TlsClientConfig>,
    want: usize,
) -> BTreeSet<u64> {
    let mut builder = LitePullConsumer::builder(group)
        .name_server(cluster.namesrv_addr())
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset);
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    let consumer = builder.start().expect("consumer");
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < want && Instant::now() < deadline {
        for m in consumer.poll(Duration::from_millis(200)) {
            assert_eq!(
                m.body,
                format!("body-{}", m.property("seq").unwrap()).into_bytes()
            );
            seen.insert(m.property("seq").unwrap().parse().unwrap());
        }
    }
    consumer.shutdown();
    seen
}

#[test]
fn enforcing_cluster_carries_messages_over_tls() {
    let cluster = Cluster::start(TlsMode::Enforcing);
    let producer = producer(&cluster, "PG_tls_enforcing", Some(trusted()));
    send(&producer, "TlsEnforcing", 0..50);
    let seen = consume(
        &cluster,
        "CG_tls_enforcing",
        "TlsEnforcing",
        Some(trusted()),
        50,
    );
    assert_eq!(seen, (0..50).collect::<BTreeSet<u64>>());
    producer.shutdown();
}

#[test]
fn permissive_cluster_takes_tls_and_plain_clients() {
    let cluster = Cluster::start(TlsMode::Permissive);
    let tls_producer = producer(&cluster, "PG_tls_permissive", Some(trusted()));
    send(&tls_producer, "TlsPermissive", 0..20);
    let plain_producer = producer(&cluster, "PG_plain_permissive", None);
    send(&plain_producer, "TlsPermissive", 20..40);
    let all = (0..40).collect::<BTreeSet<u64>>();
    // A TLS consumer and a plain one each read what both producers sent.
    assert_eq!(
        consume(
            &cluster,
            "CG_tls_permissive",
            "TlsPermissive",
            Some(trusted()),
            40
        ),
        all
    );
    assert_eq!(
        consume(&cluster, "CG_plain_permissive", "TlsPermissive", None, 40),
        all
    );
    tls_producer.shutdown();
    plain_producer.shutdown();
}

#[test]
fn a_plain_client_against_an_enforcing_server_fails_fast_and_clearly() {
    let server = echo_server(tls_server_config(TlsMode::Enforcing));
    let addr = addr_of(&server);
    let plain = client();
    let begin = Instant::now();
    let error = plain
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(ECHO).with_body("plain"),
            Duration::from_secs(20),
        )
        .expect_err("an enforcing server answered a plain client");
    assert!(
        begin.elapsed() < Duration::from_secs(5),
        "took {:?}",
        begin.elapsed()
    );
    assert!(
        matches!(error, RemotingError::ConnectionClosed { .. }),
        "{error:?}"
    );
    // The same server serves TLS clients.
    let tls = tls_client(trusted());
    echo_ok(&tls, &addr);
    // Through the producer API too: the name server closes the plain connection, the send
    // fails (no hang) within the bound.
    let cluster = Cluster::start(TlsMode::Enforcing);
    let producer = producer(&cluster, "PG_plain_vs_enforcing", None);
    let begin = Instant::now();
    let error = producer
        .send(&Message::new("TlsPlainRefused", "x"))
        .expect_err("a plain producer sent through an enforcing name server");
    assert!(
        begin.elapsed() < Duration::from_secs(15),
        "took {:?}",
        begin.elapsed()
    );
    eprintln!("plain producer against enforcing: {error:#}");
    producer.shutdown();
}

#[test]
fn a_tls_client_against_a_plain_server_is_told_it_is_not_tls() {
    let server = echo_server(server_config()); // TLS disabled
    let tls = tls_client(trusted());
    let begin = Instant::now();
    let error = tls
        .invoke_sync(
            Some(&addr_of(&server)),
            RemotingCommand::new_request(ECHO),
            Duration::from_secs(20),
        )
        .expect_err("a plain server answered TLS");
    assert!(begin.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(
            error,
            RemotingError::Tls {
                kind: TlsFailure::NotTls,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        format!("{error:#}").contains("does not speak TLS"),
        "{error:#}"
    );
    // The plain server still serves plain clients.
    echo_ok(&client(), &addr_of(&server));
}

/// Calls `server` through `client`, which must refuse the server's certificate: the error,
/// checked to be a certificate failure whose source leads to rustls's own error.
fn refused_certificate(client: &RemotingClient, server: &RemotingServer) -> RemotingError {
    let error = client
        .invoke_sync(
            Some(&addr_of(server)),
            RemotingCommand::new_request(ECHO),
            Duration::from_secs(5),
        )
        .expect_err("the certificate was accepted");
    assert!(
        matches!(
            &error,
            RemotingError::Tls {
                kind: TlsFailure::Certificate,
                ..
            }
        ),
        "{error:?}"
    );
    let rustls_error = std::error::Error::source(&error)
        .and_then(|io| io.downcast_ref::<io::Error>())
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    assert!(
        matches!(rustls_error, Some(rustls::Error::InvalidCertificate(_))),
        "{rustls_error:?}"
    );
    error
}

#[test]
fn a_self_signed_ca_as_the_servers_certificate_is_refused_with_the_fix_in_the_error() {
    // What `openssl req -x509` makes by default: a CA (basicConstraints CA:TRUE), here with
    // the right names, used as the server's own certificate and trusted by the client.
    let mut config = server_config();
    config.tls_mode = TlsMode::Enforcing;
    config.tls_cert = Some(fixture("selfsigned.pem"));
    config.tls_key = Some(fixture("selfsigned.key"));
    let server = echo_server(config);
    let client = tls_client(TlsClientConfig::with_ca_file(fixture("selfsigned.pem")));
    let error = refused_certificate(&client, &server);
    let text = error.to_string();
    assert!(
        text.contains("a leaf certificate") && text.contains("signed by that CA"),
        "{text}"
    );
}

#[test]
fn a_server_signed_by_an_unknown_ca_is_refused_with_a_certificate_error() {
    let server = echo_server(tls_server_config(TlsMode::Enforcing));
    let wary = tls_client(TlsClientConfig::with_ca_file(fixture("other-ca.pem")));
    let error = refused_certificate(&wary, &server);
    let text = format!("{error:#}");
    assert!(text.contains("certificate"), "{text}");
    // The certificate also names the host dialled: "localhost" is in it, another name is not.
    echo_ok(
        &tls_client(trusted()),
        &format!("localhost:{}", server.local_addr().port()),
    );
}

#[test]
fn unreadable_tls_files_are_named_in_the_error() {
    let mut config = tls_server_config(TlsMode::Enforcing);
    config.tls_key = Some(fixture("missing.key"));
    match RemotingServer::new(config) {
        Err(RemotingError::TlsConfig { path, .. }) => assert_eq!(path, fixture("missing.key")),
        other => panic!("{other:?}"),
    }
    let mut config = tls_server_config(TlsMode::Permissive);
    config.tls_cert = Some(fixture("README.md")); // no PEM certificate in it
    let error = RemotingServer::new(config).unwrap_err();
    assert!(error.to_string().contains("README.md"), "{error}");
    let mut config = client_config();
    config.tls = Some(TlsClientConfig::with_ca_file(fixture("nowhere.pem")));
    let error = RemotingClient::new(config).unwrap_err();
    assert!(error.to_string().contains("nowhere.pem"), "{error}");
}

#[test]
fn client_certificates_when_the_server_requires_them() {
    let mut config = tls_server_config(TlsMode::Enforcing);
    config.tls_client_ca = Some(fixture("ca.pem"));
    let server = echo_server(config);
    let addr = addr_of(&server);
    let with_cert =
        tls_client(trusted().with_client_cert(fixture("client.pem"), fixture("client.key")));
    echo_ok(&with_cert, &addr);
    let without = tls_client(trusted());
    let begin = Instant::now();
    let error = without
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(ECHO),
            Duration::from_secs(10),
        )
        .expect_err("a client without a certificate was served");
    assert!(begin.elapsed() < Duration::from_secs(5));
    // TLS 1.3: the client's handshake ends before the server checks; the server's alert
    // then closes the connection.
    assert!(
        matches!(
            error,
            RemotingError::ConnectionClosed { .. } | RemotingError::Tls { .. }
        ),
        "{error:?}"
    );
}

/// Reads until the server closes `stream` (alert bytes allowed), within `within`.
#[track_caller]
fn expect_closed(stream: &mut TcpStream, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{what}: not closed within {within:?}");
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                return
            }
            Err(e) => panic!("{what}: not closed within {within:?}: {e}"),
        }
    }
}

#[test]
fn hostile_handshakes_close_only_their_own_connection() {
    let mut config = tls_server_config(TlsMode::Enforcing);
    // Long enough that clients served meanwhile prove the stalled handshakes hold no one
    // else up, even on a loaded machine.
    config.tls_handshake_timeout = Duration::from_secs(4);
    let server = echo_server(config);
    let addr = addr_of(&server);
    let good = tls_client(trusted());
    echo_ok(&good, &addr);

    // Half a ClientHello: a record header announcing 512 bytes, then 10 of them.
    let mut half = raw_connect(&addr);
    half.write_all(&[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ])
    .unwrap();
    half.write_all(&[0u8; 10]).unwrap();
    // Garbage after a handshake byte.
    let mut garbage = raw_connect(&addr);
    garbage
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00])
        .unwrap();
    // A connection that sends nothing at all.
    let mut silent = raw_connect(&addr);
    // Connected but not yet in its handshake: the accept thread is free meanwhile.
    let begin = Instant::now();
    for _ in 0..5 {
        echo_ok(&tls_client(trusted()), &addr);
        echo_ok(&good, &addr);
    }
    assert!(
        begin.elapsed() < Duration::from_secs(3),
        "new TLS clients waited for the stalled handshakes: {:?}",
        begin.elapsed()
    );
    // Garbage fails at once, not at the handshake timeout; the stalled ones at the timeout.
    expect_closed(&mut garbage, Duration::from_secs(2), "garbage handshake");
    expect_closed(&mut half, Duration::from_secs(10), "half handshake");
    expect_closed(&mut silent, Duration::from_secs(10), "silent connection");
    echo_ok(&good, &addr);
    assert_eventually(
        "only the good client's connection left",
        Duration::from_secs(5),
        || server.connections().len() == 1,
    );
    assert!(server.connections()[0].is_tls());
}

#[test]
fn large_frames_and_many_callers_cross_tls_intact() {
    let server = echo_server(tls_server_config(TlsMode::Enforcing));
    let addr = addr_of(&server);
    let client = Arc::new(tls_client(trusted()));
    // Sync callers from several threads, bodies from 0 bytes to 3 MiB: frames the socket
    // takes in part, left to the writer thread as pending ciphertext.
    let callers: Vec<_> = (0..4)
        .map(|t| {
            let (client, addr) = (client.clone(), addr.clone());
            thread::spawn(move || {
                for i in 0..12usize {
                    let size = [0, 1, 100, 16 * 1024, 70 * 1024, 3 << 20][(i + t) % 6];
                    let body: Vec<u8> = (0..size).map(|b| (b * 7 + t + i) as u8).collect();
                    let resp = client
                        .invoke_sync(
                            Some(&addr),
                            RemotingCommand::new_request(ECHO).with_body(body.clone()),
                            Duration::from_secs(20),
                        )
                        .expect("echo");
                    assert!(resp.body == body, "body of {size} bytes changed");
                }
            })
        })
        .collect();
    // Async calls alongside.
    let probes: Vec<_> = (0..50)
        .map(|i| {
            let probe = CallbackProbe::new();
            client
                .invoke_async(
                    Some(&addr),
                    RemotingCommand::new_request(ECHO).with_body(vec![i as u8; 50_000]),
                    Duration::from_secs(20),
                    probe.callback(),
                )
                .expect("async");
            (i, probe)
        })
        .collect();
    for caller in callers {
        caller.join().expect("caller");
    }
    for (i, probe) in probes {
        let (result, _) = probe.expect_exactly_once(Duration::from_secs(20));
        assert_eq!(result.expect("async echo").body, vec![i as u8; 50_000]);
    }
    assert!(server.connections().iter().all(|c| c.is_tls()));
}

/// A server example, killed (and reaped) when dropped.
struct ServerProcess(std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server example; returns it with the address of its first line, `listening on
/// <ip:port>`, waiting at most 20 s for that line.
fn start_server_example(name: &str, args: &[&str]) -> (ServerProcess, String) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(common::example_binary(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let child = ServerProcess(child);
    let (tx, rx) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name(format!("first-line-{name}"))
        .spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        })
        .expect("reader thread");
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{name} printed nothing within 20 s"));
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{name}: unexpected first line {line:?}"))
        .to_string();
    (child, addr)
}

/// Runs a client example to its end; returns its exit code and last stdout line.
fn run_example(name: &str, args: &[&str]) -> (i32, String) {
    let (code, lines) = common::run_example(name, args);
    (code, lines.last().cloned().unwrap_or_default())
}

/// The examples as tools drive them: name server and broker enforcing TLS (the broker
/// registering over TLS), producer and consumer with `--tls-ca`, and a plain producer refused.
#[test]
fn examples_take_the_tls_flags() {
    init_logging();
    let store = TempDir::new("tls-examples");
    let (cert, key, ca) = (
        fixture("server.pem"),
        fixture("server.key"),
        fixture("ca.pem"),
    );
    let (cert, key, ca) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        ca.to_str().unwrap(),
    );
    let tls = [
        "--tls-mode",
        "enforcing",
        "--tls-cert",
        cert,
        "--tls-key",
        key,
    ];
    let mut args = vec!["--listen", "127.0.0.1:0"];
    args.extend(tls);
    let (_namesrv, ns) = start_server_example("namesrv", &args);
    let store_dir = store.0.to_str().unwrap();
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--namesrv",
        &ns,
        "--store",
        store_dir,
        "--namesrv-tls-ca",
        ca,
    ];
    args.extend(tls);
    let (_broker, _) = start_server_example("broker", &args);
    let send = [
        "--namesrv",
        &ns,
        "--topic",
        "TlsExamples",
        "--count",
        "10",
        "--mode",
        "sync",
    ];
    let mut args = send.to_vec();
    args.extend(["--tls-ca", ca]);
    assert_eq!(
        run_example("producer", &args),
        (0, "sent 10 ok 10 failed 0".to_string())
    );
    let (code, last) = run_example(
        "consumer",
        &[
            "--namesrv",
            &ns,
            "--topic",
            "TlsExamples",
            "--group",
            "CG_tls_examples",
            "--count",
            "10",
            "--mode",
            "lite",
            "--from",
            "first",
            "--timeout",
            "30",
            "--tls-ca",
            ca,
        ],
    );
    assert_eq!(code, 0, "{last}");
    assert!(last.ends_with("distinct 10"), "{last}");
    let mut args = send.to_vec();
    args[5] = "1";
    assert_eq!(
        run_example("producer", &args),
        (1, "sent 1 ok 0 failed 1".to_string()),
        "a plain producer got through an enforcing name server"
    );
}
