//! Starting and stopping the reference broker: a failed start leaves no thread behind, and
//! shutdown unregisters from the name servers only after its last registration. Alone in its
//! binary (and serialised) because it counts the process's threads.

#![cfg(feature = "servers")]

mod common;
use common::TempDir;

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::{Broker, BrokerError};
use rocketmq_blocking::protocol::codes::request_code;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{PoolConfig, RemotingServer, ServerConfig};

static SERIAL: Mutex<()> = Mutex::new(());

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
    let store = TempDir::new("lifecycle-failed");
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

/// The fake name server's registrations in progress, and whether an unregistration came.
#[derive(Default)]
struct Holds {
    state: Mutex<(usize, bool)>, // (registrations arrived, unregistration arrived)
    changed: Condvar,
}

/// A name server that holds every registration after the first until an unregistration
/// arrives or `hold` passes. A broker that unregisters while a registration is in progress
/// is caught in the act: its UNREGISTER_BROKER arrives during the hold.
fn holding_name_server(hold: Duration) -> (RemotingServer, Seen, Arc<Holds>) {
    let server = RemotingServer::new(ServerConfig::listen("127.0.0.1:0")).expect("bind");
    let seen: Seen = Arc::default();
    let holds = Arc::new(Holds::default());
    let (record, in_processor) = (seen.clone(), holds.clone());
    server
        .register_default_processor(
            common::processor(move |_, request| {
                let arrived = Instant::now();
                let mut state = in_processor.state.lock().unwrap();
                if request.code == request_code::UNREGISTER_BROKER {
                    state.1 = true;
                } else if request.code == request_code::REGISTER_BROKER {
                    state.0 += 1;
                    if state.0 > 1 {
                        in_processor.changed.notify_all();
                        let deadline = arrived + hold;
                        while !state.1 && Instant::now() < deadline {
                            let left = deadline.saturating_duration_since(Instant::now());
                            state = in_processor.changed.wait_timeout(state, left).unwrap().0;
                        }
                    }
                }
                in_processor.changed.notify_all();
                drop(state);
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
    (server, seen, holds)
}

#[test]
fn shutdown_unregisters_after_the_last_registration() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    common::init_logging();
    let (namesrv, seen, holds) = holding_name_server(Duration::from_secs(1));
    let store = TempDir::new("lifecycle-unregister");
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store.0)
        .name_server(&namesrv.local_addr().to_string())
        .register_interval(Duration::from_millis(50))
        .start()
        .expect("broker");
    // The start registered once; shut down while a periodic registration is held.
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut state = holds.state.lock().unwrap();
        while state.0 < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no periodic registration within 10 s");
            state = holds.changed.wait_timeout(state, left).unwrap().0;
        }
    }
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
