//! The broker as an operator runs it: the disk guard, settings changed live, subscription
//! groups enforced, the ACL table reloaded, flow control of the send queue, and retention
//! with a crash in the middle of deleting files.

#![cfg(feature = "servers")]

mod common;

use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::store::DiskUsageProbe;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::protocol::body::SubscriptionGroupConfig;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    PullMessageResponseHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand};
use rocketmq_blocking::remoting::RemotingClient;

use common::raw;
use common::{assert_eventually, pull_bodies, spawn_test_child, start_broker, Gate, TempDir};

const TOPIC: &str = "OpsTopic";
const TIMEOUT: Duration = Duration::from_secs(5);

fn send_request(queue_id: i32, body: &str) -> RemotingCommand {
    raw::send_request(send_header(queue_id, body), body)
}

/// A send whose key is its body.
fn send_header(queue_id: i32, body: &str) -> SendMessageRequestHeader {
    raw::send_header(
        "PG_ops",
        TOPIC,
        queue_id,
        &format!("TAGS\u{1}T\u{2}KEYS\u{1}{body}"),
    )
}

fn pull_request(group: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    raw::pull_request(&raw::pull_header(group, TOPIC, queue_id, offset))
}

fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke_sync(Some(addr), request, TIMEOUT)
        .expect("call")
}

fn update_config(client: &RemotingClient, addr: &str, body: &str) -> RemotingCommand {
    let request = RemotingCommand::new_request(request_code::UPDATE_BROKER_CONFIG)
        .with_body(body.as_bytes().to_vec());
    call(client, addr, request)
}

fn broker_config(client: &RemotingClient, addr: &str) -> String {
    let response = call(
        client,
        addr,
        RemotingCommand::new_request(request_code::GET_BROKER_CONFIG),
    );
    assert_eq!(response.code, response_code::SUCCESS);
    String::from_utf8(response.body.to_vec()).expect("utf-8 config")
}

/// A disk that is as full as the test says; while `gate` is armed, callers wait at it.
struct FakeDisk {
    /// Used percent.
    percent: AtomicU64,
    gate: std::sync::Mutex<Option<Arc<Gate>>>,
}

impl FakeDisk {
    fn new(percent: u64) -> Arc<FakeDisk> {
        Arc::new(FakeDisk {
            percent: AtomicU64::new(percent),
            gate: std::sync::Mutex::new(None),
        })
    }
}

impl std::fmt::Debug for FakeDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDisk")
            .field("percent", &self.percent)
            .finish()
    }
}

impl DiskUsageProbe for FakeDisk {
    fn used_ratio(&self, _path: &Path) -> std::io::Result<f64> {
        let gate = self.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.wait(Duration::from_secs(10));
        }
        Ok(self.percent.load(Ordering::SeqCst) as f64 / 100.0)
    }
}

/// A broker whose disk is `disk`, with no cleaning look during the test.
fn start_on(store: &TempDir, disk: &Arc<FakeDisk>) -> Broker {
    let disk = Arc::clone(disk);
    start_broker(store, |b| {
        b.disk_usage(disk)
            .clean_resource_interval(Duration::from_secs(3600))
    })
}

#[test]
fn a_full_disk_refuses_sends_with_javas_remark_until_space_is_back() {
    let store = TempDir::new("ops-disk-full");
    let disk = FakeDisk::new(50);
    let broker = start_on(&store, &disk);
    let addr = broker.local_addr().to_string();
    let client = common::client();
    assert_eq!(
        call(&client, &addr, send_request(0, "before")).code,
        response_code::SUCCESS
    );

    disk.percent.store(95, Ordering::SeqCst);
    assert!(broker.store().check_disk().full);
    let refused = call(&client, &addr, send_request(0, "refused"));
    assert_eq!(refused.code, response_code::SERVICE_NOT_AVAILABLE);
    assert_eq!(
        refused.remark.as_deref(),
        Some(
            "service not available now. It may be caused by one of the following reasons: the \
             broker's disk is full [CL:  0.95 CQ:  0.95 INDEX:  0.95], messages are put to the \
             slave, message store has been shut down, etc."
        )
    );
    // The runtime info reports the ratio measured, not -1.
    let info = call(
        &client,
        &addr,
        RemotingCommand::new_request(request_code::GET_BROKER_RUNTIME_INFO),
    );
    let info = String::from_utf8(info.body.to_vec()).unwrap();
    assert!(info.contains("\"commitLogDiskRatio\":\"0.95\""), "{info}");

    // At the warning ratio or below, puts are taken again.
    disk.percent.store(90, Ordering::SeqCst);
    assert!(!broker.store().check_disk().full);
    let after = call(&client, &addr, send_request(0, "after"));
    assert_eq!(after.code, response_code::SUCCESS, "{:?}", after.remark);
    let header = SendMessageResponseHeader::read_from(&after.ext_fields).unwrap();
    assert_eq!(header.queue_offset, 1, "the refused message was not stored");
    broker.shutdown();
}

#[test]
fn a_send_that_waited_over_200_ms_in_the_queue_is_answered_timeout_clean_queue() {
    let store = TempDir::new("ops-clean-queue");
    let disk = FakeDisk::new(95);
    let broker = start_on(&store, &disk);
    let addr = broker.local_addr().to_string();
    let client = Arc::new(common::client());
    // Every send thread stops in the disk probe of a refused put; the next send waits in
    // the queue behind them.
    let gate = Gate::new();
    *disk.gate.lock().unwrap() = Some(gate.clone());
    let busy: Vec<_> = (0..8)
        .map(|i| {
            let (client, addr) = (client.clone(), addr.clone());
            std::thread::spawn(move || call(&client, &addr, send_request(0, &format!("b{i}"))))
        })
        .collect();
    assert_eventually("8 send threads held", TIMEOUT, || gate.entered() >= 8);
    let sent_at = Instant::now();
    let queued = {
        let (client, addr) = (client.clone(), addr.clone());
        std::thread::spawn(move || call(&client, &addr, send_request(0, "late")))
    };
    // The condition under test is time itself: the queued send is older than 200 ms.
    assert_eventually("the queued send to be 250 ms old", TIMEOUT, || {
        sent_at.elapsed() >= Duration::from_millis(250)
    });
    gate.open();
    for held in busy {
        assert_eq!(
            held.join().unwrap().code,
            response_code::SERVICE_NOT_AVAILABLE
        );
    }
    let late = queued.join().unwrap();
    assert_eq!(late.code, response_code::SYSTEM_BUSY);
    let remark = late.remark.unwrap_or_default();
    assert!(
        remark.starts_with(
            "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "
        ) && remark.contains("ms, size of queue: "),
        "{remark}"
    );
    broker.shutdown();
}

#[test]
fn broker_config_updates_apply_live_refuse_bad_input_and_survive_a_restart() {
    let store = TempDir::new("ops-update-config");
    let start = || start_broker(&store, |b| b);
    let broker = start();
    let addr = broker.local_addr().to_string();
    let client = common::client();
    assert!(broker_config(&client, &addr).contains("fileReservedTime=72\n"));

    for bad in [
        "fileReservedTime",
        "fileReservedTime=48\nnoSuchSetting=1",
        "diskMaxUsedSpaceRatio=most",
        "mappedFileSizeCommitLog=4096",
    ] {
        let refused = update_config(&client, &addr, bad);
        assert_eq!(refused.code, response_code::SYSTEM_ERROR, "{bad}");
        assert!(
            refused
                .remark
                .as_deref()
                .is_some_and(|r| r.contains("nothing changed")),
            "{bad}: {:?}",
            refused.remark
        );
    }
    let black = update_config(&client, &addr, "brokerConfigPath=/tmp/elsewhere");
    assert_eq!(black.code, response_code::NO_PERMISSION);
    assert!(
        broker_config(&client, &addr).contains("fileReservedTime=72\n"),
        "nothing changed"
    );

    let ok = update_config(
        &client,
        &addr,
        "fileReservedTime=48\ndeleteWhen=03;15\ndiskMaxUsedSpaceRatio=80\n\
         autoCreateTopicEnable=false\nflushIntervalCommitLog=200\n",
    );
    assert_eq!(ok.code, response_code::SUCCESS, "{:?}", ok.remark);
    let now = broker_config(&client, &addr);
    for line in [
        "fileReservedTime=48\n",
        "deleteWhen=03;15\n",
        "diskMaxUsedSpaceRatio=80\n",
        "autoCreateTopicEnable=false\n",
    ] {
        assert!(now.contains(line), "{line} in {now}");
    }
    assert_eq!(
        broker.store().current_config().file_reserved_time,
        Duration::from_secs(48 * 3600),
        "the store took its part at once"
    );
    // autoCreateTopicEnable=false holds at once: a new topic is refused.
    let header = SendMessageRequestHeader {
        topic: "NoSuchTopicYet".into(),
        ..send_header(0, "x")
    };
    let new_topic = RemotingCommand::request_with_header(request_code::SEND_MESSAGE, &header)
        .with_body(b"x".to_vec());
    assert_eq!(
        call(&client, &addr, new_topic).code,
        response_code::TOPIC_NOT_EXIST
    );
    broker.shutdown();
    drop(broker);

    let broker = start();
    let addr = broker.local_addr().to_string();
    let again = broker_config(&client, &addr);
    assert!(again.contains("fileReservedTime=48\n"), "{again}");
    assert!(again.contains("deleteWhen=03;15\n"));
    assert!(!broker.current_config().auto_create_topic);
    broker.shutdown();
}

#[test]
fn a_group_with_consume_disabled_is_refused_and_retry_max_times_decides_the_dlq() {
    let store = TempDir::new("ops-groups");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = common::client();
    assert_eq!(
        call(&client, &addr, send_request(0, "m")).code,
        response_code::SUCCESS
    );
    let disabled = SubscriptionGroupConfig {
        consume_enable: false,
        ..SubscriptionGroupConfig::new("CG_off")
    };
    let update = RemotingCommand::new_request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(disabled.to_json().into_bytes());
    assert_eq!(call(&client, &addr, update).code, response_code::SUCCESS);
    let refused = call(&client, &addr, pull_request("CG_off", 0, 0));
    assert_eq!(refused.code, response_code::NO_PERMISSION);
    assert_eq!(
        refused.remark.as_deref(),
        Some("subscription group no permission, CG_off")
    );
    let allowed = call(&client, &addr, pull_request("CG_on", 0, 0));
    assert_eq!(allowed.code, response_code::SUCCESS);

    // retryMaxTimes 1: the first redelivery of a retry message already goes to the DLQ.
    let strict = SubscriptionGroupConfig {
        retry_max_times: 1,
        ..SubscriptionGroupConfig::new("CG_strict")
    };
    let update = RemotingCommand::new_request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(strict.to_json().into_bytes());
    assert_eq!(call(&client, &addr, update).code, response_code::SUCCESS);
    let header = SendMessageRequestHeader {
        topic: "%RETRY%CG_strict".into(),
        reconsume_times: Some(1),
        max_reconsume_times: None,
        ..send_header(0, "r")
    };
    let retry = RemotingCommand::request_with_header(request_code::SEND_MESSAGE, &header)
        .with_body(b"r".to_vec());
    assert_eq!(call(&client, &addr, retry).code, response_code::SUCCESS);
    assert_eq!(broker.store().max_offset_in_queue("%DLQ%CG_strict", 0), 1);
    broker.shutdown();
}

#[cfg(feature = "acl")]
#[test]
fn the_acl_table_is_reloaded_when_its_file_changes_and_a_broken_one_is_kept_out() {
    use rocketmq_blocking::acl::{AclClientRpcHook, SessionCredentials};
    let store = TempDir::created("ops-acl-reload");
    let table = store.0.join("plain_acl.json");
    let account = |key: &str| {
        format!(
            r#"{{"accounts": [{{"accessKey": "{key}", "secretKey": "secret-key-1",
            "defaultTopicPerm": "PUB|SUB", "defaultGroupPerm": "SUB"}}]}}"#
        )
    };
    std::fs::write(&table, account("FirstKey")).unwrap();
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(store.0.join("store"))
        .acl_file(&table)
        .start()
        .expect("broker");
    let addr = broker.local_addr().to_string();
    let signed = |key: &str| {
        let client = common::client();
        client.register_rpc_hook(Arc::new(AclClientRpcHook::new(SessionCredentials::new(
            key,
            "secret-key-1",
        ))));
        client
    };
    let (first, second) = (signed("FirstKey"), signed("SecondKey"));
    let send = |c: &RemotingClient| call(c, &addr, send_request(0, "acl")).code;
    assert_eq!(send(&first), response_code::SUCCESS);
    assert_eq!(send(&second), response_code::NO_PERMISSION);

    std::fs::write(&table, account("SecondKey")).unwrap();
    assert_eventually("the new table in force", TIMEOUT, || {
        send(&second) == response_code::SUCCESS
    });
    assert_eq!(send(&first), response_code::NO_PERMISSION);

    // A broken table is kept out: the one in force stays.
    std::fs::write(&table, "{ not json").unwrap();
    let broken_at = Instant::now();
    assert_eventually("two looks at the broken file", TIMEOUT, || {
        broken_at.elapsed() >= Duration::from_millis(1200)
    });
    assert_eq!(send(&second), response_code::SUCCESS);
    broker.shutdown();
}

// ------------------------------------------------------------------ retention and a crash

/// Starts this test binary's `retention_child_broker` on `store` with `config` as its config
/// file; returns it and the address it listens on.
fn start_child(store: &Path, config: &str) -> (Child, String) {
    std::fs::create_dir_all(store.join("config")).unwrap();
    std::fs::write(store.join("config").join("broker.properties"), config).unwrap();
    spawn_test_child("retention_child_broker", [("RMQ_OPS_STORE", store)])
}

/// The broker process the retention test kills; runs only when that test starts it.
#[test]
#[ignore = "the retention test's child process; runs only when that test spawns it"]
fn retention_child_broker() {
    let store = std::env::var("RMQ_OPS_STORE").expect("RMQ_OPS_STORE");
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(store)
        .start()
        .expect("child broker");
    println!("listening on {}", broker.local_addr());
    loop {
        std::thread::park(); // until SIGKILL
    }
}

fn segments(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.join("commitlog"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn retention_deletes_old_files_and_a_kill_between_deletions_recovers() {
    let store = TempDir::new("ops-retention-crash");
    let every_hour: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let every_hour = every_hour.join(";");
    // Tiny segments, no retention, a cleaning look every 20 ms, and an hour's pause after
    // the first segment deleted: the kill lands between two deletions.
    let pausing = format!(
        "mappedFileSizeCommitLog=4096\nfileReservedTime=0\ndeleteWhen={every_hour}\n\
         cleanResourceInterval=20\ndeleteCommitLogFilesInterval=3600000\n"
    );
    let (mut child, addr) = start_child(&store.0, &pausing);
    let client = common::client();
    let mut acked = std::collections::BTreeMap::new();
    for i in 0..160 {
        let queue = i % 4;
        let body = format!("m{i:03}");
        let response = call(&client, &addr, send_request(queue, &body));
        assert_eq!(
            response.code,
            response_code::SUCCESS,
            "{:?}",
            response.remark
        );
        let header = SendMessageResponseHeader::read_from(&response.ext_fields).unwrap();
        acked.insert((queue, header.queue_offset), body);
    }
    assert_eventually("the first segment deleted", TIMEOUT, || {
        !segments(&store.0).contains(&"00000000000000000000".to_string())
    });
    assert!(segments(&store.0).len() > 2, "{:?}", segments(&store.0));
    child.kill().expect("SIGKILL the broker");
    child.wait().expect("reap");

    // Restarted without the pause: retention carries on and deletes all but the newest.
    let cleaning = format!(
        "mappedFileSizeCommitLog=4096\nfileReservedTime=0\ndeleteWhen={every_hour}\n\
         cleanResourceInterval=20\ndeleteCommitLogFilesInterval=0\n"
    );
    let (mut child, addr) = start_child(&store.0, &cleaning);
    assert_eventually("one segment left", TIMEOUT, || {
        segments(&store.0).len() == 1
    });
    let mut kept = 0;
    for queue in 0..4 {
        // A consumer at offset 0 is below the queue's minimum: told to move there.
        let moved = call(&client, &addr, pull_request("CG_ops", queue, 0));
        let min = PullMessageResponseHeader::read_from(&moved.ext_fields)
            .unwrap()
            .next_begin_offset;
        if min > 0 {
            assert_eq!(moved.code, response_code::PULL_OFFSET_MOVED);
            assert_eq!(moved.remark.as_deref(), Some("OFFSET_TOO_SMALL"));
        }
        let pulled = pull_bodies(&client, &addr, "CG_ops", TOPIC, queue, min);
        // Exactly the acknowledged messages from the minimum on, in order.
        let expected: Vec<(i64, String)> = acked
            .iter()
            .filter(|((q, offset), _)| *q == queue && *offset >= min)
            .map(|((_, offset), body)| (*offset, body.clone()))
            .collect();
        assert_eq!(pulled, expected, "queue {queue} from {min}");
        kept += pulled.len();
        // Offsets go on where they were.
        let next = call(&client, &addr, send_request(queue, "after"));
        let header = SendMessageResponseHeader::read_from(&next.ext_fields).unwrap();
        assert_eq!(header.queue_offset, 40);
    }
    assert!(kept < 160, "old messages were deleted");
    assert!(kept > 0, "the newest segment is kept");
    child.kill().expect("stop the broker");
    child.wait().expect("reap");
}
