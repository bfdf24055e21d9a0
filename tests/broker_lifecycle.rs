//! Starting and stopping the reference broker: a failed start leaves no thread behind, and
//! shutdown unregisters from the name servers only after its last registration. Alone in its
//! binary (and serialised) because it counts the process's threads.

#![cfg(feature = "servers")]

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq_blocking::broker::{Broker, BrokerError};
use rocketmq_blocking::protocol::codes::request_code;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{PoolConfig, RemotingServer, ServerConfig};

static SERIAL: Mutex<()> = Mutex::new(());

/// A fresh store directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        TempDir(std::env::temp_dir().join(format!(
            "rmq-lifecycle-{tag}-{}-{nanos}",
            std::process::id()
        )))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Names of this process's threads that the library started.
fn rmq_threads() -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(name) = std::fs::read_to_string(task.path().join("comm")) {
                if name.starts_with("rmq-") {
                    names.push(name.trim().to_string());
                }
            }
        }
    }
    names.sort();
    names
}

#[test]
fn a_failed_start_leaves_no_thread_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    common::init_logging();
    let store = TempDir::new("failed");
    // A corrupt offsets file fails the start after the store and the server exist.
    std::fs::create_dir_all(store.0.join("config")).unwrap();
    std::fs::write(store.0.join("config/consumerOffset.json"), b"{ not json").unwrap();
    let before = rmq_threads();
    let result = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(store.0.clone())
        .start();
    assert!(
        matches!(result, Err(BrokerError::Config(_))),
        "{:?}",
        result.err()
    );
    common::assert_eventually("no thread left", Duration::from_secs(5), || {
        rmq_threads() == before
    });
}

/// What the fake name server saw: (request code, when it arrived, when it was answered).
type Seen = Arc<Mutex<Vec<(i32, Instant, Instant)>>>;

/// A name server that takes `register_delay` over each REGISTER_BROKER.
fn slow_name_server(register_delay: Duration) -> (RemotingServer, Seen) {
    let server = RemotingServer::new(ServerConfig::listen("127.0.0.1:0")).expect("bind");
    let seen: Seen = Arc::default();
    let record = seen.clone();
    server
        .register_default_processor(
            common::processor(move |_, request| {
                let arrived = Instant::now();
                if request.code == request_code::REGISTER_BROKER {
                    thread::sleep(register_delay);
                }
                record
                    .lock()
                    .unwrap()
                    .push((request.code, arrived, Instant::now()));
                Ok(Some(RemotingCommand::success()))
            }),
            PoolConfig {
                threads: 4,
                queue_capacity: 100,
            },
        )
        .expect("processor");
    server.start().expect("start");
    (server, seen)
}

#[test]
fn shutdown_unregisters_after_the_last_registration() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    common::init_logging();
    let (namesrv, seen) = slow_name_server(Duration::from_millis(400));
    let store = TempDir::new("unregister");
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store.0)
        .name_server(&namesrv.local_addr().to_string())
        .register_interval(Duration::from_millis(50))
        .start()
        .expect("broker");
    let registers = |seen: &Seen| {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|(code, ..)| *code == request_code::REGISTER_BROKER)
            .count()
    };
    // The start registered once; shut down while a periodic registration is in progress.
    common::assert_eventually(
        "a periodic registration under way",
        Duration::from_secs(5),
        || registers(&seen) >= 1,
    );
    thread::sleep(Duration::from_millis(150));
    broker.shutdown();

    let seen = seen.lock().unwrap().clone();
    let unregister = seen
        .iter()
        .find(|(code, ..)| *code == request_code::UNREGISTER_BROKER)
        .expect("unregistered")
        .1;
    for (code, _, answered) in &seen {
        if *code == request_code::REGISTER_BROKER {
            assert!(
                *answered <= unregister,
                "a registration finished {:?} after the unregistration arrived",
                answered.duration_since(unregister)
            );
        }
    }
    let register_count = seen
        .iter()
        .filter(|(code, ..)| *code == request_code::REGISTER_BROKER)
        .count();
    assert!(register_count >= 2, "a periodic registration ran");
    namesrv.shutdown();
}
