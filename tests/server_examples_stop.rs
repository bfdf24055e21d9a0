//! The `namesrv` and `broker` examples stop cleanly on SIGTERM and SIGINT: offsets committed
//! just before the signal survive a restart, the broker leaves the name server's tables, and
//! both exit with code 0.
//!
//! Runs the example binaries that `cargo test` builds (`target/<profile>/examples/`), and
//! signals them with the system's `kill`.

#![cfg(all(unix, feature = "servers"))]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::protocol::body::ClusterInfo;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand};
use rocketmq_blocking::remoting::RemotingClient;

const TIMEOUT: Duration = Duration::from_secs(5);
const GROUP: &str = "CG_stop";
const TOPIC: &str = "StopTopic";

/// A running example and the address it announced.
struct Running {
    /// Taken by `stop_with`.
    child: Option<Child>,
    addr: String,
}

impl Running {
    fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(common::example_binary(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the announcement");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{name} announced {line:?}"))
            .to_string();
        Running {
            child: Some(child),
            addr,
        }
    }

    /// Sends `signal` and waits (bounded) for the process to exit: a thread waits on the
    /// child and reports its exit status.
    fn stop_with(mut self, signal: &str) -> (ExitStatus, Duration) {
        let mut child = self.child.take().expect("a running child");
        let pid = child.id().to_string();
        let begin = Instant::now();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let (exited, exit) = std::sync::mpsc::channel();
        std::thread::spawn(move || exited.send(child.wait().expect("wait")));
        match exit.recv_timeout(Duration::from_secs(20)) {
            Ok(status) => (status, begin.elapsed()),
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                panic!("still running 20 s after {signal}");
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn commit(client: &RemotingClient, broker: &str, queue_id: i32, offset: i64) {
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id,
        commit_offset: offset,
        bname: None,
    };
    let request =
        RemotingCommand::request_with_header(request_code::UPDATE_CONSUMER_OFFSET, &header);
    let response = client
        .invoke_sync(Some(broker), request, TIMEOUT)
        .expect("commit an offset");
    assert_eq!(response.code, response_code::SUCCESS);
}

fn committed(client: &RemotingClient, broker: &str, queue_id: i32) -> Option<i64> {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id,
        set_zero_if_not_found: Some(false),
        bname: None,
    };
    let request =
        RemotingCommand::request_with_header(request_code::QUERY_CONSUMER_OFFSET, &header);
    let response = client
        .invoke_sync(Some(broker), request, TIMEOUT)
        .expect("query an offset");
    (response.code == response_code::SUCCESS).then(|| {
        QueryConsumerOffsetResponseHeader::read_from(&response.ext_fields)
            .expect("offset header")
            .offset
    })
}

fn brokers_known_to(client: &RemotingClient, namesrv: &str) -> Vec<String> {
    let request = RemotingCommand::new_request(request_code::GET_BROKER_CLUSTER_INFO);
    let response = client
        .invoke_sync(Some(namesrv), request, TIMEOUT)
        .expect("cluster info");
    assert_eq!(response.code, response_code::SUCCESS);
    let info = ClusterInfo::from_json(&response.body).expect("cluster info body");
    info.broker_addr_table.into_keys().collect()
}

#[test]
fn sigterm_and_sigint_stop_the_servers_cleanly_and_offsets_survive() {
    let store = std::env::temp_dir().join(format!("rmq-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let store_arg = store.to_str().expect("utf-8 temp path").to_string();
    let namesrv = Running::start("namesrv", &["--listen", "127.0.0.1:0"]);
    let broker_args = [
        "--listen",
        "127.0.0.1:0",
        "--namesrv",
        &namesrv.addr,
        "--store",
        &store_arg,
        "--name",
        "broker-stop",
    ];
    let broker = Running::start("broker", &broker_args);
    let client = client();
    assert_eventually("the broker registered", TIMEOUT, || {
        brokers_known_to(&client, &namesrv.addr) == ["broker-stop"]
    });

    // Offsets committed just before the signal: the periodic persistence (every 5 s) has
    // not run; only the shutdown can save them.
    for (queue_id, offset) in [(0, 7), (1, 8), (2, 9)] {
        commit(&client, &broker.addr, queue_id, offset);
    }
    let broker_addr = broker.addr.clone();
    let (status, took) = broker.stop_with("TERM");
    eprintln!("broker stopped {status} {took:?} after SIGTERM");
    assert!(status.success(), "the broker exited with {status}");
    assert!(
        took < Duration::from_secs(5),
        "the broker took {took:?} to stop"
    );
    // It unregistered on its way out.
    assert_eq!(
        brokers_known_to(&client, &namesrv.addr),
        Vec::<String>::new()
    );
    client.close_connection(&broker_addr);

    let broker = Running::start("broker", &broker_args);
    for (queue_id, offset) in [(0, 7), (1, 8), (2, 9)] {
        assert_eq!(
            committed(&client, &broker.addr, queue_id),
            Some(offset),
            "queue {queue_id} after a restart"
        );
    }
    let (status, _) = broker.stop_with("INT");
    assert!(
        status.success(),
        "the broker exited with {status} after SIGINT"
    );
    let (status, took) = namesrv.stop_with("INT");
    eprintln!("name server stopped {status} {took:?} after SIGINT");
    assert!(status.success(), "the name server exited with {status}");
    client.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}
