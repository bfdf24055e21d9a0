//! The reference broker's processors over real sockets: transactional half messages stored
//! in the half topic (or refused when configured), END_TRANSACTION refusals,
//! retry messages past their reconsume limit moved to the dead-letter topic, store failures
//! answered with Java's codes, heartbeat group validation, consumer-group notifications and
//! long polling with a consumer that does not read.

#![cfg(feature = "servers")]

mod common;
use common::{assert_code, raw, start_broker, TempDir};

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_blocking::protocol::body::{
    ConsumerData, HeartbeatData, ProducerData, SubscriptionData,
};
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    EndTransactionRequestHeader, PullMessageRequestHeader, QueryConsumerOffsetRequestHeader,
    SendMessageRequestHeader, SendMessageResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use rocketmq_blocking::protocol::message::sys_flag;
use rocketmq_blocking::protocol::{CommandCustomHeader, RemotingCommand};
use rocketmq_blocking::remoting::{ClientConfig, PoolConfig, RemotingClient};

const TIMEOUT: Duration = Duration::from_secs(5);

fn client() -> RemotingClient {
    RemotingClient::new(ClientConfig::default()).expect("client")
}

fn send_header(topic: &str, queue_id: i32, properties: &str) -> SendMessageRequestHeader {
    raw::send_header("PG_processors", topic, queue_id, properties)
}

fn send(
    client: &RemotingClient,
    addr: &str,
    header: SendMessageRequestHeader,
    body: &[u8],
) -> RemotingCommand {
    client
        .invoke_sync(Some(addr), raw::send_request(header, body), TIMEOUT)
        .expect("send")
}

#[test]
fn transactional_half_messages_wait_in_the_half_topic() {
    let store = TempDir::new("processors-tx");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = client();
    assert_code(
        &send(
            &client,
            &addr,
            send_header("TxTopic", 2, "TAGS\u{1}a"),
            b"plain",
        ),
        response_code::SUCCESS,
    );
    // The property a Java transactional producer sets, and the prepared type in the flag.
    let by_property = send(
        &client,
        &addr,
        send_header("TxTopic", 2, "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}PG"),
        b"half",
    );
    assert_code(&by_property, response_code::SUCCESS);
    let header: SendMessageResponseHeader = by_property.decode_header().unwrap();
    // The queue asked for; the offset in the half queue, which END_TRANSACTION names.
    assert_eq!((header.queue_id, header.queue_offset), (2, 0));
    let mut flagged = send_header("TxTopic", 2, "PGROUP\u{1}PG");
    flagged.sys_flag = sys_flag::TRANSACTION_PREPARED_TYPE;
    let by_flag = send(&client, &addr, flagged, b"half");
    assert_code(&by_flag, response_code::SUCCESS);
    let header: SendMessageResponseHeader = by_flag.decode_header().unwrap();
    assert_eq!(header.queue_offset, 1);
    // Neither is visible: they wait in queue 0 of the half topic.
    assert_eq!(broker.store().max_offset_in_queue("TxTopic", 2), 1);
    assert_eq!(
        broker
            .store()
            .max_offset_in_queue("RMQ_SYS_TRANS_HALF_TOPIC", 0),
        2
    );
    // TRAN_MSG=false is an ordinary message.
    assert_code(
        &send(
            &client,
            &addr,
            send_header("TxTopic", 2, "TRAN_MSG\u{1}false"),
            b"ok",
        ),
        response_code::SUCCESS,
    );
    assert_eq!(broker.store().max_offset_in_queue("TxTopic", 2), 2);
    // The broker's own topics take no sends.
    for topic in [
        "RMQ_SYS_TRANS_HALF_TOPIC",
        "RMQ_SYS_TRANS_OP_HALF_TOPIC",
        "SCHEDULE_TOPIC_XXXX",
    ] {
        let refused = send(&client, &addr, send_header(topic, 0, ""), b"sneaky");
        assert_code(&refused, response_code::NO_PERMISSION);
        assert_eq!(
            refused.remark.as_deref(),
            Some(format!("Sending message to topic[{topic}] is forbidden.").as_str())
        );
    }
    client.shutdown();
    broker.shutdown();
}

#[test]
fn a_broker_may_refuse_transactional_messages() {
    let store = TempDir::new("processors-tx-refused");
    let broker = start_broker(&store, |b| b.reject_transaction_message(true));
    let addr = broker.local_addr().to_string();
    let client = client();
    let refused = send(
        &client,
        &addr,
        send_header("TxTopic", 0, "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}PG"),
        b"half",
    );
    assert_code(&refused, response_code::NO_PERMISSION);
    assert_eq!(
        refused.remark.as_deref(),
        Some(
            format!(
                "the broker[{}] sending transaction message is forbidden",
                broker.broker_addr()
            )
            .as_str()
        )
    );
    assert_eq!(
        broker
            .store()
            .max_offset_in_queue("RMQ_SYS_TRANS_HALF_TOPIC", 0),
        0
    );
    client.shutdown();
    broker.shutdown();
}

#[test]
fn end_transaction_for_no_half_or_with_a_bad_state_is_refused_with_javas_remark() {
    let store = TempDir::new("processors-tx-end");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = client();
    let plain = send(
        &client,
        &addr,
        send_header("TxTopic", 0, "PGROUP\u{1}PG"),
        b"plain",
    );
    assert_code(&plain, response_code::SUCCESS);
    let sent: SendMessageResponseHeader = plain.decode_header().unwrap();
    let (_, commit_log_offset) =
        rocketmq_blocking::protocol::message::decode_offset_message_id(&sent.msg_id).unwrap();
    let end = |commit_log_offset: i64, commit_or_rollback: i32| {
        let header = EndTransactionRequestHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: 0,
            commit_log_offset,
            commit_or_rollback,
            from_transaction_check: false,
            msg_id: "ID".into(),
            transaction_id: None,
            broker_name: None,
        };
        let request = RemotingCommand::request_with_header(request_code::END_TRANSACTION, &header);
        client
            .invoke_sync(Some(&addr), request, TIMEOUT)
            .expect("end")
    };
    // A plain message is no half message, nor is an offset where no record starts.
    for offset in [commit_log_offset, commit_log_offset + 3, 1 << 40] {
        let response = end(offset, sys_flag::TRANSACTION_COMMIT_TYPE);
        assert_code(&response, response_code::SYSTEM_ERROR);
        assert_eq!(
            response.remark.as_deref(),
            Some("Find prepared transaction message failed")
        );
    }
    let response = end(commit_log_offset, 5);
    assert_code(&response, response_code::SYSTEM_ERROR);
    assert_eq!(
        response.remark.as_deref(),
        Some("commitOrRollback field wrong")
    );
    assert_eq!(
        broker.store().max_offset_in_queue("TxTopic", 0),
        1,
        "nothing written"
    );
    client.shutdown();
    broker.shutdown();
}

#[test]
fn retry_messages_past_their_reconsume_limit_go_to_the_dead_letter_topic() {
    let store = TempDir::new("processors-dlq");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = client();
    let retry = |reconsume: i32, max: Option<i32>| {
        let mut header = send_header("%RETRY%CG_dlq", 0, "TAGS\u{1}a");
        header.reconsume_times = Some(reconsume);
        header.max_reconsume_times = max;
        send(&client, &addr, header, b"again")
    };

    // Below the limit (16 by default): stored in the retry topic.
    let response = retry(3, None);
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(broker.store().max_offset_in_queue("%RETRY%CG_dlq", 0), 1);
    assert!(broker.topic_config("%DLQ%CG_dlq").is_none());

    // At the limit: the dead-letter topic, queue 0, created readable and writable.
    let response = retry(16, None);
    assert_code(&response, response_code::SUCCESS);
    let header = SendMessageResponseHeader::read_from(&response.ext_fields).unwrap();
    assert_eq!((header.queue_id, header.queue_offset), (0, 0));
    assert_eq!(broker.store().max_offset_in_queue("%RETRY%CG_dlq", 0), 1);
    assert_eq!(broker.store().max_offset_in_queue("%DLQ%CG_dlq", 0), 1);
    let dlq = broker
        .topic_config("%DLQ%CG_dlq")
        .expect("DLQ topic created");
    assert_eq!(
        (dlq.read_queue_nums, dlq.write_queue_nums, dlq.perm),
        (1, 1, 6)
    );

    // The header's limit wins over the default.
    assert_code(&retry(2, Some(2)), response_code::SUCCESS);
    assert_eq!(broker.store().max_offset_in_queue("%DLQ%CG_dlq", 0), 2);
    assert_code(&retry(2, Some(5)), response_code::SUCCESS);
    assert_eq!(broker.store().max_offset_in_queue("%RETRY%CG_dlq", 0), 2);

    // A batch carries one reconsume count for many messages: refused, as Java does.
    let mut header = send_header("%RETRY%CG_dlq", 0, "");
    header.batch = true;
    assert_code(
        &send(&client, &addr, header, b""),
        response_code::MESSAGE_ILLEGAL,
    );
    client.shutdown();
    broker.shutdown();
}

#[test]
fn store_failures_answer_javas_response_codes() {
    let store = TempDir::new("processors-codes");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = client();
    assert_code(
        &send(&client, &addr, send_header("CodeTopic", 0, ""), b"first"),
        response_code::SUCCESS,
    );
    // Properties over the 16-bit length field: a bad message, no retry helps.
    let huge = format!("big\u{1}{}", "x".repeat(40_000));
    assert_code(
        &send(&client, &addr, send_header("CodeTopic", 0, &huge), b"m"),
        response_code::MESSAGE_ILLEGAL,
    );
    // A store that cannot write: another broker may.
    broker.store().shutdown();
    assert_code(
        &send(&client, &addr, send_header("CodeTopic", 0, ""), b"late"),
        response_code::SERVICE_NOT_AVAILABLE,
    );
    client.shutdown();
    broker.shutdown();
}

fn consumer_data(group: &str, topics: &[&str]) -> ConsumerData {
    ConsumerData {
        group_name: group.into(),
        subscription_data_set: topics
            .iter()
            .map(|topic| SubscriptionData {
                topic: topic.to_string(),
                sub_string: "*".into(),
                ..SubscriptionData::default()
            })
            .collect(),
        ..ConsumerData::default()
    }
}

fn heartbeat(
    client: &RemotingClient,
    addr: &str,
    client_id: &str,
    consumers: Vec<ConsumerData>,
) -> RemotingCommand {
    let body = HeartbeatData {
        client_id: client_id.into(),
        producer_data_set: vec![ProducerData {
            group_name: "PG_heartbeat".into(),
        }],
        consumer_data_set: consumers,
        heartbeat_fingerprint: None,
        without_sub: None,
    }
    .to_json();
    let request = RemotingCommand::new_request(request_code::HEART_BEAT).with_body(body);
    client
        .invoke_sync(Some(addr), request, TIMEOUT)
        .expect("heartbeat")
}

#[test]
fn heartbeats_skip_bad_group_names_and_cap_new_retry_topics() {
    let store = TempDir::new("processors-groups");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = client();
    let too_long = "g".repeat(121); // "%RETRY%" + 121 characters > 127
    let response = heartbeat(
        &client,
        &addr,
        "c1",
        ["CG_good", "bad group", "", "bad/slash", too_long.as_str()]
            .iter()
            .map(|g| consumer_data(g, &["T"]))
            .collect(),
    );
    assert_code(&response, response_code::SUCCESS);
    assert!(broker.topic_config("%RETRY%CG_good").is_some());
    assert!(broker.clients().consumer_group("CG_good").is_some());
    for bad in ["bad group", "", "bad/slash", too_long.as_str()] {
        assert!(broker.topic_config(&format!("%RETRY%{bad}")).is_none());
        assert!(broker.clients().consumer_group(bad).is_none(), "{bad:?}");
    }

    // 100 new groups: 64 retry topics now, the rest with the next heartbeat; every group
    // is registered at once.
    let groups: Vec<String> = (0..100).map(|i| format!("CG_many_{i:03}")).collect();
    let data = || groups.iter().map(|g| consumer_data(g, &["T"])).collect();
    let created = || {
        groups
            .iter()
            .filter(|g| broker.topic_config(&format!("%RETRY%{g}")).is_some())
            .count()
    };
    assert_code(
        &heartbeat(&client, &addr, "c1", data()),
        response_code::SUCCESS,
    );
    assert_eq!(created(), 64);
    assert!(groups
        .iter()
        .all(|g| broker.clients().consumer_group(g).is_some()));
    assert_code(
        &heartbeat(&client, &addr, "c1", data()),
        response_code::SUCCESS,
    );
    assert_eq!(created(), 100);
    client.shutdown();
    broker.shutdown();
}

/// A consumer client that counts NOTIFY_CONSUMER_IDS_CHANGED.
fn notified_client() -> (RemotingClient, Arc<AtomicUsize>) {
    let client = client();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    client
        .register_processor(
            request_code::NOTIFY_CONSUMER_IDS_CHANGED,
            common::processor(move |_, _| {
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(None)
            }),
            PoolConfig {
                threads: 1,
                queue_capacity: 100,
            },
        )
        .expect("processor");
    (client, count)
}

#[test]
fn members_hear_of_subscription_changes_and_of_expired_members() {
    let store = TempDir::new("processors-notify");
    let broker = start_broker(&store, |b| {
        // a heartbeats every 100 ms: a margin a loaded machine keeps.
        b.client_channel_expiry(Duration::from_millis(1500))
    });
    let addr = broker.local_addr().to_string();
    let (a, a_told) = notified_client();
    let (b, b_told) = notified_client();
    assert_code(
        &heartbeat(&a, &addr, "a", vec![consumer_data("CG_n", &["T"])]),
        response_code::SUCCESS,
    );
    assert_code(
        &heartbeat(&b, &addr, "b", vec![consumer_data("CG_n", &["T"])]),
        response_code::SUCCESS,
    );
    common::assert_eventually("a told that b joined", TIMEOUT, || {
        a_told.load(Ordering::SeqCst) >= 2
    });
    // b hears of its own joining too; that notice must be in before b's count is taken.
    common::assert_eventually("b told that it joined", TIMEOUT, || {
        b_told.load(Ordering::SeqCst) >= 1
    });
    let group = broker.clients().consumer_group("CG_n").unwrap();
    assert_eq!(group.client_ids(), ["a", "b"]);

    // The same heartbeat again changes nothing; a new topic is a change for every member.
    let b_before = b_told.load(Ordering::SeqCst);
    heartbeat(&a, &addr, "a", vec![consumer_data("CG_n", &["T"])]);
    heartbeat(&a, &addr, "a", vec![consumer_data("CG_n", &["T", "U"])]);
    common::assert_eventually("b told of the new topic", TIMEOUT, || {
        b_told.load(Ordering::SeqCst) == b_before + 1
    });

    // b goes silent; a keeps its heartbeats up. The janitor drops b, closes its connection
    // and tells a.
    let a_before = a_told.load(Ordering::SeqCst);
    let begin = Instant::now();
    while broker
        .clients()
        .consumer_group("CG_n")
        .unwrap()
        .channels
        .len()
        == 2
    {
        assert!(begin.elapsed() < TIMEOUT, "b never expired");
        heartbeat(&a, &addr, "a", vec![consumer_data("CG_n", &["T", "U"])]);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        broker
            .clients()
            .consumer_group("CG_n")
            .unwrap()
            .client_ids(),
        ["a"]
    );
    common::assert_eventually("a told that b left", TIMEOUT, || {
        a_told.load(Ordering::SeqCst) > a_before
    });
    common::assert_eventually("b's connection closed", TIMEOUT, || {
        b.connected_addresses().is_empty()
    });
    assert_eq!(broker.clients().producer_group_size("PG_heartbeat"), 1);
    a.shutdown();
    b.shutdown();
    broker.shutdown();
}

/// A long poll of queue `queue_id` of `topic` from offset 0, held up to `suspend_ms`.
fn pull_request(topic: &str, queue_id: i32, suspend_ms: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        sys_flag: raw::FLAG_SUSPEND | raw::FLAG_SUBSCRIPTION,
        suspend_timeout_millis: suspend_ms,
        ..raw::pull_header("CG_slow", topic, queue_id, 0)
    };
    raw::pull_request(&header)
}

#[test]
fn a_consumer_that_does_not_read_holds_up_no_other_long_poll() {
    let store = TempDir::new("processors-slow");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = client();
    assert_code(
        &send(&client, &addr, send_header("SlowTopic", 0, ""), b"create"),
        response_code::SUCCESS,
    );

    // A consumer that sends two long polls on queue 1 and never reads its socket.
    let mut stalled = TcpStream::connect(&addr).expect("connect");
    for _ in 0..2 {
        let frame = pull_request("SlowTopic", 1, 20_000).encode().unwrap();
        stalled.write_all(&frame).unwrap();
    }
    common::assert_eventually("its pulls held", TIMEOUT, || broker.held_pulls() == 2);
    // A well-behaved consumer polls queue 2.
    let (tx, rx) = crossbeam_channel::bounded(1);
    client
        .invoke_async(
            Some(&addr),
            pull_request("SlowTopic", 2, 20_000),
            Duration::from_secs(25),
            move |r| {
                let _ = tx.send((r, Instant::now()));
            },
        )
        .expect("pull");
    common::assert_eventually("both consumers held", TIMEOUT, || broker.held_pulls() == 3);

    // Two answers of 3.5 MB each to the stalled consumer: more than loopback buffers take,
    // so a write from the hold thread would block it until the 10 s write timeout.
    let big = vec![b'x'; 3_500_000];
    assert_code(
        &send(&client, &addr, send_header("SlowTopic", 1, ""), &big),
        response_code::SUCCESS,
    );
    common::assert_eventually("the stalled consumer's pulls woken", TIMEOUT, || {
        broker.held_pulls() == 1
    });
    assert_code(
        &send(&client, &addr, send_header("SlowTopic", 2, ""), b"for you"),
        response_code::SUCCESS,
    );
    let sent_at = Instant::now();
    let (response, answered_at) = rx.recv_timeout(TIMEOUT).expect("the other pull answered");
    assert_code(&response.expect("pull response"), response_code::SUCCESS);
    let latency = answered_at.saturating_duration_since(sent_at);
    assert!(
        latency < Duration::from_secs(1),
        "answered {latency:?} after its message arrived"
    );
    drop(stalled);
    client.shutdown();
    broker.shutdown();
}

fn query_offset(client: &RemotingClient, addr: &str, group: &str, topic: &str) -> Option<i64> {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: 0,
        set_zero_if_not_found: None,
        bname: None,
    };
    let request =
        RemotingCommand::request_with_header(request_code::QUERY_CONSUMER_OFFSET, &header);
    let response = client
        .invoke_sync(Some(addr), request, TIMEOUT)
        .expect("query offset");
    if response.code != response_code::SUCCESS {
        assert_code(&response, response_code::QUERY_NOT_FOUND);
        return None;
    }
    let offset = response.ext_fields.get("offset").expect("offset field");
    Some(offset.parse().expect("a number"))
}

#[test]
fn deleting_a_group_forgets_its_offsets_when_asked_by_either_versions_name() {
    let store = TempDir::new("processors-delete-group");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = client();
    for i in 0..6 {
        let response = send(&client, &addr, send_header("DelGroup", 0, ""), &[b'a' + i]);
        assert_code(&response, response_code::SUCCESS);
    }
    // 4.x names the flag `removeOffset`, 5.x `cleanOffset`: each alone forgets the offsets.
    for (group, flag) in [("CG_four", "removeOffset"), ("CG_five", "cleanOffset")] {
        let commit = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: "DelGroup".into(),
            queue_id: 0,
            commit_offset: 5,
            bname: None,
        };
        let request =
            RemotingCommand::request_with_header(request_code::UPDATE_CONSUMER_OFFSET, &commit);
        let response = client.invoke_sync(Some(&addr), request, TIMEOUT).unwrap();
        assert_code(&response, response_code::SUCCESS);
        assert_eq!(query_offset(&client, &addr, group, "DelGroup"), Some(5));

        let mut delete = RemotingCommand::new_request(request_code::DELETE_SUBSCRIPTIONGROUP);
        delete.ext_fields.insert("groupName", group);
        delete.ext_fields.insert(flag, "true");
        let response = client.invoke_sync(Some(&addr), delete, TIMEOUT).unwrap();
        assert_code(&response, response_code::SUCCESS);
        // No committed offset left: not found, or 0 while the queue still starts at 0.
        let after = query_offset(&client, &addr, group, "DelGroup");
        assert!(matches!(after, None | Some(0)), "{group}: {after:?}");
    }
}
