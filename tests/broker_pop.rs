//! POP consumption through the reference broker, driven by raw requests as a POP client
//! sends them (Java's `MQClientAPIImpl.popMessageAsync` / `ackMessageAsync` /
//! `changeInvisibleTimeAsync`, its `processPopResponse` rebuilding each handle):
//! concurrent poppers on one queue, redelivery after the invisible time through the retry
//! topic, invisibility changes, restarts (graceful and `kill -9`), the dead-letter topic,
//! batch acks, long polling, NOTIFICATION and POLLING_INFO, QUERY_ASSIGNMENT after
//! SET_MESSAGE_REQUEST_MODE (replaying the frames a Java 5.3.3 `mqadmin` and consumer sent),
//! and bad input answered with Java's codes, changing nothing.
//!
//! Every wait is bounded and waits for something observable (an answer, a count); invisible
//! times are one to three seconds.

#![cfg(feature = "servers")]

mod common;
use common::{assert_code, raw, wait_until, TempDir};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocketmq_blocking::broker::store::FlushDiskType;
use rocketmq_blocking::broker::{Broker, BrokerBuilder, PopConfig};
use rocketmq_blocking::protocol::body::{
    BatchAck, BatchAckMessageRequestBody, MessageModel, MessageRequestMode,
    QueryAssignmentRequestBody, QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
    SubscriptionGroupConfig,
};
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    start_offset_info_map_key, AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader,
    ChangeInvisibleTimeResponseHeader, ExtraInfo, NotificationRequestHeader,
    NotificationResponseHeader, PollingInfoRequestHeader, PollingInfoResponseHeader,
    PopMessageRequestHeader, PopMessageResponseHeader, PopRetryFlag, SendMessageRequestHeader,
    CONSUME_INIT_MODE_MIN,
};
use rocketmq_blocking::protocol::message::{decode_messages, message_const, MessageExt};
use rocketmq_blocking::protocol::{decode_frame, RemotingCommand};
use rocketmq_blocking::remoting::RemotingClient;

const TIMEOUT: Duration = Duration::from_secs(5);
const BROKER: &str = "broker-pop";

/// A broker named [`BROKER`] storing in `dir`, as `adjust` has its builder.
fn start_broker(dir: &TempDir, adjust: impl FnOnce(BrokerBuilder) -> BrokerBuilder) -> Broker {
    common::start_broker(dir, |b| adjust(b.broker_name(BROKER)))
}

/// Sends `count` messages to queue 0 of `topic` (created with `queues` queues on first use);
/// message i has key `k<i>`, tag `TagA` and user property `seq=<i>`.
fn send(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queues: i32,
    range: std::ops::Range<usize>,
) {
    for i in range {
        let properties =
            format!("KEYS\u{1}k{i}\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}U{topic}{i}\u{2}seq\u{1}{i}");
        let header = SendMessageRequestHeader {
            default_topic_queue_nums: queues,
            born_timestamp: common::now_ms(),
            ..raw::send_header("PG_pop", topic, 0, &properties)
        };
        let request = raw::send_request(header, format!("body-{i}"));
        let response = client
            .invoke_sync(Some(addr), request, TIMEOUT)
            .expect("send");
        assert_code(&response, response_code::SUCCESS);
    }
}

/// A popped message with the handle a client rebuilds for it.
#[derive(Debug, Clone)]
struct Popped {
    message: MessageExt,
    handle: ExtraInfo,
}

impl Popped {
    fn key(&self) -> String {
        self.message.keys().unwrap_or_default().to_string()
    }
}

/// A POP_MESSAGE answer.
struct PopAnswer {
    code: i32,
    remark: Option<String>,
    header: Option<PopMessageResponseHeader>,
    messages: Vec<Popped>,
}

/// One consumer group popping one topic over raw requests.
struct Popper {
    client: RemotingClient,
    addr: String,
    topic: String,
    group: String,
}

impl Popper {
    fn new(addr: &str, topic: &str, group: &str) -> Popper {
        Popper {
            client: common::client(),
            addr: addr.to_string(),
            topic: topic.to_string(),
            group: group.to_string(),
        }
    }

    fn pop_header(&self, max: i32, invisible_ms: i64, poll_ms: i64) -> PopMessageRequestHeader {
        PopMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: self.topic.clone(),
            queue_id: -1,
            max_msg_nums: max,
            invisible_time: invisible_ms,
            poll_time: poll_ms,
            born_time: common::now_ms(),
            init_mode: CONSUME_INIT_MODE_MIN,
            exp_type: Some("TAG".into()),
            exp: Some("*".into()),
            order: false,
            attempt_id: None,
            bname: Some(BROKER.into()),
        }
    }

    fn call(&self, request: RemotingCommand, timeout: Duration) -> RemotingCommand {
        self.client
            .invoke_sync(Some(&self.addr), request, timeout)
            .expect("call")
    }

    fn pop_with(&self, header: PopMessageRequestHeader) -> PopAnswer {
        let timeout = Duration::from_millis(header.poll_time.max(0) as u64) + TIMEOUT;
        let response = self.call(
            RemotingCommand::request_with_header(request_code::POP_MESSAGE, &header),
            timeout,
        );
        let mut answer = PopAnswer {
            code: response.code,
            remark: response.remark.clone(),
            header: None,
            messages: Vec::new(),
        };
        if response.code != response_code::SUCCESS {
            return answer;
        }
        let h: PopMessageResponseHeader = response.decode_header().expect("pop header");
        let starts = rocketmq_blocking::protocol::header::parse_start_offset_info(
            h.start_offset_info.as_deref(),
        )
        .expect("startOffsetInfo");
        for message in decode_messages(&response.body, true).expect("pop body") {
            // As processPopResponse: a message from the retry topic carries its handle; for
            // the others it is built from the header.
            let handle = match message.property(message_const::PROPERTY_POP_CK) {
                Some(ck) => ExtraInfo::parse(ck).expect("POP_CK"),
                None => ExtraInfo {
                    ck_queue_offset: starts
                        [&start_offset_info_map_key(&message.topic, message.queue_id)],
                    pop_time: h.pop_time,
                    invisible_time: h.invisible_time,
                    revive_qid: h.revive_qid,
                    retry: PopRetryFlag::of_topic(&message.topic),
                    broker_name: BROKER.into(),
                    queue_id: Some(message.queue_id),
                    queue_offset: Some(message.queue_offset),
                },
            };
            answer.messages.push(Popped { message, handle });
        }
        answer.header = Some(h);
        answer
    }

    fn pop(&self, max: i32, invisible_ms: i64, poll_ms: i64) -> PopAnswer {
        self.pop_with(self.pop_header(max, invisible_ms, poll_ms))
    }

    fn ack_header(&self, popped: &Popped) -> AckMessageRequestHeader {
        AckMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: popped.handle.retry.real_topic(&self.topic, &self.group),
            queue_id: popped.handle.queue_id.expect("queue id"),
            extra_info: popped.handle.to_string(),
            offset: popped.handle.queue_offset.expect("offset"),
            bname: Some(BROKER.into()),
        }
    }

    fn ack_with(&self, header: AckMessageRequestHeader) -> RemotingCommand {
        self.call(
            RemotingCommand::request_with_header(request_code::ACK_MESSAGE, &header),
            TIMEOUT,
        )
    }

    fn ack(&self, popped: &Popped) -> RemotingCommand {
        self.ack_with(self.ack_header(popped))
    }

    fn change_invisible(&self, popped: &Popped, invisible_ms: i64) -> RemotingCommand {
        let ack = self.ack_header(popped);
        let header = ChangeInvisibleTimeRequestHeader {
            consumer_group: ack.consumer_group,
            topic: ack.topic,
            queue_id: ack.queue_id,
            extra_info: ack.extra_info,
            offset: ack.offset,
            invisible_time: invisible_ms,
            bname: ack.bname,
        };
        self.call(
            RemotingCommand::request_with_header(
                request_code::CHANGE_MESSAGE_INVISIBLETIME,
                &header,
            ),
            TIMEOUT,
        )
    }

    /// Pops (long polling) until `count` messages came or `within` passed.
    fn pop_until(&self, count: usize, invisible_ms: i64, within: Duration) -> Vec<Popped> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while got.len() < count && Instant::now() < deadline {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as i64;
            let answer = self.pop(32, invisible_ms, left.min(5_000));
            got.extend(answer.messages);
        }
        got
    }
}

fn open_checkpoints(broker: &Broker) -> usize {
    broker.pop_checkpoints().0
}

/// Messages revived into `group`'s retry topic of `topic` so far.
fn revived(broker: &Broker, group: &str, topic: &str) -> i64 {
    broker
        .store()
        .max_offset_in_queue(&format!("%RETRY%{group}_{topic}"), 0)
}

/// The keys (`k<i>`) of popped messages.
fn keys_of(popped: &[Popped]) -> BTreeSet<String> {
    popped.iter().map(Popped::key).collect()
}

fn keys(wanted: &[&str]) -> BTreeSet<String> {
    wanted.iter().map(|k| k.to_string()).collect()
}

#[track_caller]
fn ack_all(popper: &Popper, popped: &[Popped]) {
    for p in popped {
        assert_code(&popper.ack(p), response_code::SUCCESS);
    }
}

/// A NOTIFICATION of every queue of the popper's topic.
fn notification(popper: &Popper, order: bool, poll_time: i64, born_time: i64) -> RemotingCommand {
    let header = NotificationRequestHeader {
        consumer_group: popper.group.clone(),
        topic: popper.topic.clone(),
        queue_id: -1,
        poll_time,
        born_time,
        order,
        attempt_id: None,
        bname: None,
    };
    RemotingCommand::request_with_header(request_code::NOTIFICATION, &header)
}

#[track_caller]
fn assert_checkpoints_drain(broker: &Broker) {
    assert!(
        wait_until(TIMEOUT, || open_checkpoints(broker) == 0),
        "open checkpoints left: {}",
        open_checkpoints(broker)
    );
}

#[test]
fn three_poppers_on_one_queue_get_every_message_and_duplicates_only_after_the_invisible_time() {
    const MESSAGES: usize = 150;
    const INVISIBLE: i64 = 1500;
    let dir = TempDir::new("pop-three");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    let sender = common::client();
    send(&sender, &addr, "PopThree", 1, 0..MESSAGES);
    assert_eq!(broker.topic_config("PopThree").unwrap().read_queue_nums, 1);

    // Every tenth message is left un-acked on its first delivery: it must come back, once,
    // not before its invisible time, with reconsume times 1.
    let skip = |seq: usize| seq % 10 == 3;
    type Deliveries = HashMap<usize, Vec<(i64, i32, usize)>>;
    let deliveries: Arc<Mutex<Deliveries>> = Arc::default();
    let acked: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(40);
    let poppers: Vec<_> = (0..3)
        .map(|who| {
            let (deliveries, acked, addr) = (deliveries.clone(), acked.clone(), addr.clone());
            std::thread::spawn(move || {
                let popper = Popper::new(&addr, "PopThree", "CG_three");
                while acked.lock().unwrap().len() < MESSAGES && Instant::now() < deadline {
                    let answer = popper.pop(4, INVISIBLE, 500);
                    assert!(
                        [response_code::SUCCESS, response_code::POLLING_TIMEOUT]
                            .contains(&answer.code),
                        "pop answered {} {:?}",
                        answer.code,
                        answer.remark
                    );
                    for popped in answer.messages {
                        let seq: usize = popped.message.property("seq").unwrap().parse().unwrap();
                        let first = {
                            let mut all = deliveries.lock().unwrap();
                            let mine = all.entry(seq).or_default();
                            mine.push((
                                popped.handle.pop_time,
                                popped.message.reconsume_times,
                                who,
                            ));
                            mine.len() == 1
                        };
                        if first && skip(seq) {
                            continue;
                        }
                        assert_code(&popper.ack(&popped), response_code::SUCCESS);
                        acked.lock().unwrap().insert(seq);
                    }
                }
            })
        })
        .collect();
    for popper in poppers {
        popper.join().expect("popper");
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), MESSAGES, "every message delivered and acked");
    let deliveries = deliveries.lock().unwrap();
    let mut who_got = BTreeSet::new();
    for seq in 0..MESSAGES {
        let seen = &deliveries[&seq];
        who_got.extend(seen.iter().map(|d| d.2));
        if skip(seq) {
            assert_eq!(seen.len(), 2, "message {seq}: {seen:?}");
            let (first_pop, first_times, _) = seen[0];
            let (again_pop, again_times, _) = seen[1];
            assert_eq!((first_times, again_times), (0, 1), "message {seq}");
            assert!(
                again_pop >= first_pop + INVISIBLE,
                "message {seq} came back {} ms after its pop, before its invisible time",
                again_pop - first_pop
            );
        } else {
            assert_eq!(seen.len(), 1, "message {seq} was delivered twice: {seen:?}");
        }
    }
    assert!(
        who_got.len() >= 2,
        "the poppers shared the queue: {who_got:?}"
    );
    assert_checkpoints_drain(&broker);
    assert_eq!(
        broker.consumer_offset("CG_three", "PopThree", 0),
        Some(MESSAGES as i64)
    );
    assert_eq!(
        revived(&broker, "CG_three", "PopThree"),
        (MESSAGES / 10) as i64
    );
    broker.shutdown();
}

#[test]
fn an_unacked_message_comes_back_after_its_invisible_time_with_reconsume_times_1() {
    let dir = TempDir::new("pop-revive");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    send(&common::client(), &addr, "PopRevive", 1, 0..1);
    let popper = Popper::new(&addr, "PopRevive", "CG_revive");

    let first = popper.pop(1, 2000, 0);
    assert_code(
        &RemotingCommand::new_response(first.code, first.remark.clone()),
        response_code::SUCCESS,
    );
    assert_eq!(first.remark.as_deref(), Some("FOUND"));
    let original = first.messages[0].clone();
    assert_eq!(original.message.reconsume_times, 0);
    assert_eq!(
        original.message.property(message_const::PROPERTY_POP_CK),
        None
    );
    assert_eq!(original.handle.retry, PopRetryFlag::Normal);
    // Invisible to the group now.
    let hidden = popper.pop(1, 2000, 0);
    assert_eq!(
        hidden.code,
        response_code::POLLING_TIMEOUT,
        "{:?}",
        hidden.remark
    );
    assert!(
        common::now_ms() < original.handle.revive_time(),
        "the machine was too slow to see the message hidden"
    );

    // A long poll is held until it comes back, from the retry topic.
    let again = popper.pop(1, 2000, 10_000);
    assert_eq!(again.code, response_code::SUCCESS, "{:?}", again.remark);
    let back = &again.messages[0];
    assert!(common::now_ms() >= original.handle.revive_time());
    assert!(back.handle.pop_time >= original.handle.revive_time());
    assert_eq!(back.message.reconsume_times, 1);
    assert_eq!(
        back.message.topic, "PopRevive",
        "delivered under its own topic"
    );
    assert_eq!(back.handle.retry, PopRetryFlag::RetryV1);
    assert_eq!(back.message.body, original.message.body);
    for key in ["KEYS", "TAGS", "UNIQ_KEY", "seq"] {
        assert_eq!(
            back.message.property(key),
            original.message.property(key),
            "{key}"
        );
    }
    assert_eq!(
        back.message
            .property(message_const::PROPERTY_FIRST_POP_TIME),
        Some(original.handle.pop_time.to_string().as_str())
    );
    assert_eq!(
        popper.ack_header(back).topic,
        "%RETRY%CG_revive_PopRevive",
        "acked in the retry topic"
    );
    // The first handle no longer counts; the new one does. Both are answered as Java's
    // broker answered the acks of vectors 089 and 101: code 0, no remark, no fields.
    let java_ack = java_frame("101-resp-code0-json.bin");
    for (handle, open_after) in [(&original, 1), (back, 0)] {
        let answer = popper.ack(handle);
        assert_eq!(
            (answer.code, &answer.remark, answer.ext_fields.len()),
            (java_ack.code, &java_ack.remark, java_ack.ext_fields.len())
        );
        assert_eq!(open_checkpoints(&broker), open_after);
    }
    assert_eq!(
        java_frame("089-resp-code0-json.bin").ext_fields,
        java_ack.ext_fields
    );
    assert_checkpoints_drain(&broker);
    let nothing = popper.pop(1, 2000, 0);
    assert_eq!(nothing.code, response_code::POLLING_TIMEOUT);
    broker.shutdown();
}

#[test]
fn change_invisible_time_moves_the_deadline_and_the_old_handle_stops_counting() {
    let dir = TempDir::new("pop-cit");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    send(&common::client(), &addr, "PopCit", 1, 0..2);
    let popper = Popper::new(&addr, "PopCit", "CG_cit");
    let first = popper.pop(2, 1000, 0);
    assert_eq!(first.messages.len(), 2);
    let (kept, acked) = (&first.messages[0], &first.messages[1]);

    let mut new_handles = Vec::new();
    for popped in [kept, acked] {
        let response = popper.change_invisible(popped, 3000);
        assert_code(&response, response_code::SUCCESS);
        // The 5.3.3 broker's answer keeps its default remark (vector 088).
        assert_eq!(
            response.remark.as_deref(),
            Some("not set any response code")
        );
        let h: ChangeInvisibleTimeResponseHeader = response.decode_header().unwrap();
        assert_eq!(h.invisible_time, 3000);
        assert_eq!(h.revive_qid, popped.handle.revive_qid);
        assert!(h.pop_time >= popped.handle.pop_time);
        // The handle as the client rebuilds it after the change.
        let mut handle = popped.handle.clone();
        handle.ck_queue_offset = popped.handle.queue_offset.unwrap();
        handle.pop_time = h.pop_time;
        handle.invisible_time = h.invisible_time;
        new_handles.push(Popped {
            message: popped.message.clone(),
            handle,
        });
    }
    // The old handle changes nothing any more.
    assert_code(
        &popper.change_invisible(kept, 3000),
        response_code::NO_MESSAGE,
    );
    assert_code(&popper.ack(kept), response_code::SUCCESS);
    assert_code(&popper.ack(&new_handles[1]), response_code::SUCCESS);
    assert_eq!(
        open_checkpoints(&broker),
        1,
        "only the kept message's new checkpoint"
    );

    // Past the first deadline, before the new one: still hidden.
    let hidden = popper.pop(1, 1000, 2000);
    assert_eq!(hidden.code, response_code::POLLING_TIMEOUT);
    let new_deadline = new_handles[0].handle.revive_time();
    assert!(common::now_ms() >= kept.handle.revive_time());
    assert!(
        common::now_ms() < new_deadline,
        "the machine was too slow to see it hidden"
    );
    let back = popper.pop(1, 1000, 10_000);
    assert_eq!(back.messages.len(), 1, "{:?}", back.remark);
    assert!(common::now_ms() >= new_deadline);
    assert_eq!(back.messages[0].key(), kept.key());
    assert_eq!(back.messages[0].message.reconsume_times, 1);
    assert_code(&popper.ack(&back.messages[0]), response_code::SUCCESS);
    assert_checkpoints_drain(&broker);
    assert_eq!(revived(&broker, "CG_cit", "PopCit"), 1);
    broker.shutdown();
}

#[test]
fn after_a_restart_unacked_messages_come_back_and_acked_ones_never() {
    let dir = TempDir::new("pop-restart");
    // Sync flush here (each checkpoint and ack fsynced before the answer), async after.
    let broker = start_broker(&dir, |b| b.flush_disk_type(FlushDiskType::SyncFlush));
    let addr = broker.local_addr().to_string();
    send(&common::client(), &addr, "PopRestart", 1, 0..5);
    let popper = Popper::new(&addr, "PopRestart", "CG_restart");
    let popped = popper.pop(5, 2000, 0).messages;
    assert_eq!(popped.len(), 5);
    for p in &popped[..2] {
        assert_code(&popper.ack(p), response_code::SUCCESS);
    }
    broker.shutdown();
    drop(broker);

    let broker = start_broker(&dir, |b| b);
    assert_eq!(open_checkpoints(&broker), 1);
    let popper = Popper::new(&broker.local_addr().to_string(), "PopRestart", "CG_restart");
    let back = popper.pop_until(3, 2000, Duration::from_secs(15));
    assert_eq!(keys_of(&back), keys(&["k2", "k3", "k4"]));
    assert!(back.iter().all(|p| p.message.reconsume_times == 1));
    assert!(common::now_ms() >= popped[0].handle.revive_time());
    ack_all(&popper, &back);
    assert_checkpoints_drain(&broker);
    assert_eq!(
        broker.consumer_offset("CG_restart", "PopRestart", 0),
        Some(5)
    );
    assert_eq!(revived(&broker, "CG_restart", "PopRestart"), 3);
    assert_eq!(popper.pop(32, 2000, 0).code, response_code::POLLING_TIMEOUT);
    broker.shutdown();
}

#[cfg(unix)]
#[test]
fn after_kill_9_unacked_messages_come_back_and_acked_ones_never() {
    use std::process::{Command, Stdio};

    let dir = TempDir::created("pop-kill");
    let mut child = Command::new(common::example_binary("broker"))
        .args(["--listen", "127.0.0.1:0", "--name", BROKER, "--store"])
        .arg(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the broker example");
    let addr = common::announced_addr(&mut child);
    send(&common::client(), &addr, "PopKill", 1, 0..6);
    let popper = Popper::new(&addr, "PopKill", "CG_kill");
    let popped = popper.pop(6, 3000, 0).messages;
    assert_eq!(popped.len(), 6);
    for p in popped.iter().filter(|p| p.message.queue_offset % 2 == 0) {
        assert_code(&popper.ack(p), response_code::SUCCESS);
    }
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    child.wait().expect("reap");

    let broker = start_broker(&dir, |b| b);
    let popper = Popper::new(&broker.local_addr().to_string(), "PopKill", "CG_kill");
    let back = popper.pop_until(3, 3000, Duration::from_secs(15));
    assert_eq!(keys_of(&back), keys(&["k1", "k3", "k5"]));
    assert!(common::now_ms() >= popped[0].handle.revive_time());
    ack_all(&popper, &back);
    assert_checkpoints_drain(&broker);
    // The queue itself hands out nothing popped before the kill.
    assert_eq!(broker.consumer_offset("CG_kill", "PopKill", 0), Some(6));
    assert_eq!(popper.pop(32, 3000, 0).code, response_code::POLLING_TIMEOUT);
    broker.shutdown();
}

#[test]
fn a_message_reconsumed_past_the_groups_maximum_goes_to_the_dead_letter_topic() {
    let dir = TempDir::new("pop-dlq");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    let admin = common::client();
    let config = SubscriptionGroupConfig {
        retry_max_times: 1,
        ..SubscriptionGroupConfig::new("CG_dlq")
    };
    let response = admin
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(config.to_json().into_bytes()),
            TIMEOUT,
        )
        .unwrap();
    assert_code(&response, response_code::SUCCESS);
    send(&admin, &addr, "PopDlq", 1, 0..1);
    let popper = Popper::new(&addr, "PopDlq", "CG_dlq");
    let first = popper.pop(1, 1000, 0).messages;
    assert_eq!(first[0].message.reconsume_times, 0);
    let second = popper.pop_until(1, 1000, Duration::from_secs(10));
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].message.reconsume_times, 1);
    // Not acked again: reconsumed once, the group's maximum, so it is dead now.
    assert!(
        wait_until(Duration::from_secs(10), || broker
            .store()
            .max_offset_in_queue("%DLQ%CG_dlq", 0)
            == 1),
        "nothing in the dead-letter topic"
    );
    let dead = broker.store().get_message("%DLQ%CG_dlq", 0, 0, 1, None);
    let dead = &decode_messages(&dead.messages[0], true).unwrap()[0];
    assert_eq!(dead.reconsume_times, 2);
    assert_eq!(dead.body, b"body-0");
    assert_eq!(
        dead.property(message_const::PROPERTY_RETRY_TOPIC),
        Some("PopDlq")
    );
    assert_eq!(dead.property("KEYS"), Some("k0"));
    assert!(broker.topic_config("%DLQ%CG_dlq").is_some());
    assert_checkpoints_drain(&broker);
    assert_eq!(
        popper.pop(1, 1000, 1500).code,
        response_code::POLLING_TIMEOUT
    );
    assert_eq!(revived(&broker, "CG_dlq", "PopDlq"), 1);
    broker.shutdown();
}

#[test]
fn batch_ack_acks_the_bits_set_and_the_rest_come_back() {
    let dir = TempDir::new("pop-batch");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    send(&common::client(), &addr, "PopBatch", 1, 0..10);
    let popper = Popper::new(&addr, "PopBatch", "CG_batch");
    let popped = popper.pop(10, 1500, 0).messages;
    assert_eq!(popped.len(), 10);
    let handle = &popped[0].handle;
    let mut ack = BatchAck {
        consumer_group: "CG_batch".into(),
        topic: "PopBatch".into(),
        retry: "0".into(),
        start_offset: handle.ck_queue_offset,
        queue_id: 0,
        revive_queue_id: handle.revive_qid,
        pop_time: handle.pop_time,
        invisible_time: handle.invisible_time,
        bit_set: Vec::new(),
    };
    for index in [0, 1, 2, 4, 5, 7, 9, 40] {
        ack.set(index);
    }
    let batch = |body: Vec<u8>| {
        popper.call(
            RemotingCommand::new_request(request_code::BATCH_ACK_MESSAGE).with_body(body),
            TIMEOUT,
        )
    };
    // Empty bodies: NO_MESSAGE, as Java.
    assert_code(&batch(Vec::new()), response_code::NO_MESSAGE);
    assert_code(
        &batch(br#"{"acks":[]}"#.to_vec()),
        response_code::NO_MESSAGE,
    );
    // A bad retry flag in any ack: nothing is applied.
    let mut bad = ack.clone();
    bad.retry = "7".into();
    let mixed = BatchAckMessageRequestBody {
        broker_name: Some(BROKER.into()),
        acks: vec![ack.clone(), bad],
    };
    assert_code(
        &batch(mixed.to_json().into_bytes()),
        response_code::SYSTEM_ERROR,
    );
    assert_code(&batch(b"{not json".to_vec()), response_code::SYSTEM_ERROR);
    let body = BatchAckMessageRequestBody {
        broker_name: Some(BROKER.into()),
        acks: vec![ack],
    };
    assert_code(&batch(body.to_json().into_bytes()), response_code::SUCCESS);
    assert_eq!(open_checkpoints(&broker), 1);
    let back = popper.pop_until(3, 1500, Duration::from_secs(10));
    assert_eq!(keys_of(&back), keys(&["k3", "k6", "k8"]));
    // Back through the retry topic (in one pop or more): acked as one batch with one ack
    // per checkpoint.
    let mut per_checkpoint: BTreeMap<(i64, i64), BatchAck> = BTreeMap::new();
    for p in &back {
        let h = &p.handle;
        let ack = per_checkpoint
            .entry((h.ck_queue_offset, h.pop_time))
            .or_insert_with(|| BatchAck {
                consumer_group: "CG_batch".into(),
                topic: "PopBatch".into(),
                retry: "1".into(),
                start_offset: h.ck_queue_offset,
                queue_id: 0,
                revive_queue_id: h.revive_qid,
                pop_time: h.pop_time,
                invisible_time: h.invisible_time,
                bit_set: Vec::new(),
            });
        ack.set((h.queue_offset.unwrap() - h.ck_queue_offset) as u32);
    }
    let body = BatchAckMessageRequestBody {
        broker_name: None,
        acks: per_checkpoint.into_values().collect(),
    };
    assert_code(&batch(body.to_json().into_bytes()), response_code::SUCCESS);
    assert_checkpoints_drain(&broker);
    assert_eq!(
        popper.pop(10, 1500, 2500).code,
        response_code::POLLING_TIMEOUT
    );
    broker.shutdown();
}

#[test]
fn bad_input_gets_javas_codes_and_changes_nothing() {
    let dir = TempDir::new("pop-bad");
    let broker = start_broker(&dir, |b| b.auto_create_subscription_group(false));
    let addr = broker.local_addr().to_string();
    let sender = common::client();
    send(&sender, &addr, "PopBad", 1, 0..3);
    // The group exists once created by an admin (or a heartbeat).
    let response = sender
        .invoke_sync(
            Some(&addr),
            RemotingCommand::new_request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(
                    SubscriptionGroupConfig::new("CG_bad")
                        .to_json()
                        .into_bytes(),
                ),
            TIMEOUT,
        )
        .unwrap();
    assert_code(&response, response_code::SUCCESS);
    let popper = Popper::new(&addr, "PopBad", "CG_bad");
    let popped = popper.pop(1, 60_000, 0).messages;
    assert_eq!(popped.len(), 1);
    let state = |broker: &Broker| {
        (
            broker.consumer_offset("CG_bad", "PopBad", 0),
            broker.pop_checkpoints(),
            revived(broker, "CG_bad", "PopBad"),
        )
    };
    let before = state(&broker);

    let mut too_many = popper.pop_header(33, 60_000, 0);
    let answer = popper.pop_with(too_many.clone());
    assert_eq!(answer.code, response_code::INVALID_PARAMETER);
    assert_eq!(
        answer.remark.as_deref(),
        Some("the broker[127.0.0.1] pop message's num is greater than 32")
    );
    too_many.max_msg_nums = 32;
    too_many.queue_id = 1;
    let answer = popper.pop_with(too_many);
    assert_eq!(answer.code, response_code::INVALID_PARAMETER);
    assert!(answer
        .remark
        .unwrap()
        .starts_with("queueId[1] is illegal, topic:[PopBad] topicConfig.readQueueNums:[1]"));

    let stranger = Popper::new(&addr, "PopBad", "CG_unknown");
    let answer = stranger.pop(1, 60_000, 0);
    assert_eq!(answer.code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    assert!(answer
        .remark
        .unwrap()
        .starts_with("subscription group [CG_unknown] does not exist"));
    let nowhere = Popper::new(&addr, "NoSuchTopic", "CG_bad");
    assert_eq!(
        nowhere.pop(1, 60_000, 0).code,
        response_code::TOPIC_NOT_EXIST
    );
    let mut stale = popper.pop_header(1, 60_000, 1000);
    stale.born_time = common::now_ms() - 10_000;
    let answer = popper.pop_with(stale);
    assert_eq!(answer.code, response_code::POLLING_TIMEOUT);
    assert_eq!(
        answer.remark.as_deref(),
        Some("the broker[127.0.0.1] pop message is timeout too much")
    );

    let good = popper.ack_header(&popped[0]);
    for extra_info in ["", "garbage", "0 1 2", "x 1 2 3 0 b 0 0", "0 1 2 3 9 b 0 0"] {
        let response = popper.ack_with(AckMessageRequestHeader {
            extra_info: extra_info.into(),
            ..good.clone()
        });
        assert_code(&response, response_code::SYSTEM_ERROR);
        assert!(
            response.remark.as_deref().unwrap().contains("extraInfo"),
            "{:?}",
            response.remark
        );
    }
    for offset in [-1, 4, i64::MAX] {
        let response = popper.ack_with(AckMessageRequestHeader {
            offset,
            ..good.clone()
        });
        assert_code(&response, response_code::NO_MESSAGE);
        assert_eq!(
            response.remark.as_deref(),
            Some(format!("offset is illegal, key:PopBad@0, commit:{offset}, store:0~3").as_str())
        );
    }
    let response = popper.ack_with(AckMessageRequestHeader {
        queue_id: 5,
        ..good.clone()
    });
    assert_code(&response, response_code::MESSAGE_ILLEGAL);
    let response = popper.ack_with(AckMessageRequestHeader {
        topic: "NoSuchTopic".into(),
        ..good.clone()
    });
    assert_code(&response, response_code::TOPIC_NOT_EXIST);
    // An invisibility change for the queue's end or past it: NO_MESSAGE.
    let mut past = popped[0].clone();
    past.handle.queue_offset = Some(3);
    assert_code(
        &popper.change_invisible(&past, 1000),
        response_code::NO_MESSAGE,
    );
    // An orderly handle of a message the group's offset is past: nothing to do.
    let mut orderly = popped[0].clone();
    orderly.handle.revive_qid = 999;
    assert_code(&popper.ack(&orderly), response_code::SUCCESS);
    // A header without its required fields.
    let mut fields = good.clone();
    fields.extra_info.clear();
    let mut request = RemotingCommand::request_with_header(request_code::ACK_MESSAGE, &fields);
    request.ext_fields.remove("extraInfo");
    let response = popper.call(request, TIMEOUT);
    assert_code(&response, response_code::SYSTEM_ERROR);
    assert!(response.remark.unwrap().contains("extraInfo"));

    // Numbers at their limits: answered, no overflow.
    let mut batch_ack = BatchAck {
        consumer_group: "CG_bad".into(),
        topic: "PopBad".into(),
        retry: "0".into(),
        start_offset: i64::MIN,
        pop_time: i64::MIN,
        ..BatchAck::default()
    };
    batch_ack.set(0);
    batch_ack.revive_queue_id = 999;
    let orderly_batch = BatchAckMessageRequestBody {
        broker_name: None,
        acks: vec![batch_ack.clone()],
    };
    batch_ack.revive_queue_id = 0;
    let plain_batch = BatchAckMessageRequestBody {
        broker_name: None,
        acks: vec![batch_ack],
    };
    for body in [orderly_batch, plain_batch] {
        let response = popper.call(
            RemotingCommand::new_request(request_code::BATCH_ACK_MESSAGE)
                .with_body(body.to_json().into_bytes()),
            TIMEOUT,
        );
        assert_code(&response, response_code::SUCCESS);
    }
    let answer = popper.call(notification(&popper, false, i64::MAX, i64::MIN), TIMEOUT);
    assert_code(&answer, response_code::SUCCESS);
    let mut extreme = popper.pop_header(-5, i64::MIN, i64::MAX);
    extreme.born_time = i64::MIN;
    assert_eq!(
        popper.pop_with(extreme).code,
        response_code::POLLING_TIMEOUT
    );

    assert_eq!(state(&broker), before, "nothing changed");
    // Nothing lost: the popped message acks fine, the other two are still there.
    assert_code(&popper.ack(&popped[0]), response_code::SUCCESS);
    let rest = popper.pop(32, 60_000, 0).messages;
    assert_eq!(keys_of(&rest), keys(&["k1", "k2"]));
    ack_all(&popper, &rest);
    assert_checkpoints_drain(&broker);
    broker.shutdown();
}

#[test]
fn held_pops_wake_on_arrival_fill_up_and_time_out() {
    let dir = TempDir::new("pop-poll");
    let mut pop = PopConfig::default();
    pop.max_pop_polling_size = 2;
    let broker = start_broker(&dir, |b| b.pop_config(pop));
    let addr = broker.local_addr().to_string();
    let sender = common::client();
    send(&sender, &addr, "PopPoll", 1, 0..1);
    let popper = Popper::new(&addr, "PopPoll", "CG_poll");
    let first = popper.pop(1, 60_000, 0).messages;
    assert_eq!(first.len(), 1);
    ack_all(&popper, &first);

    // Two pops wait on an empty topic; a third finds the holder full.
    let (answers, received) = std::sync::mpsc::channel();
    for _ in 0..2 {
        let answers = answers.clone();
        let header = popper.pop_header(1, 60_000, 20_000);
        popper
            .client
            .invoke_async(
                Some(&addr),
                RemotingCommand::request_with_header(request_code::POP_MESSAGE, &header),
                Duration::from_secs(25),
                move |result| {
                    let _ = answers.send((result.expect("held pop answered"), Instant::now()));
                },
            )
            .unwrap();
    }
    assert!(wait_until(TIMEOUT, || broker.held_pops() == 2));
    let info = popper.call(
        RemotingCommand::request_with_header(
            request_code::POLLING_INFO,
            &PollingInfoRequestHeader {
                consumer_group: "CG_poll".into(),
                topic: "PopPoll".into(),
                queue_id: -1,
                bname: None,
            },
        ),
        TIMEOUT,
    );
    assert_code(&info, response_code::SUCCESS);
    let info: PollingInfoResponseHeader = info.decode_header().unwrap();
    assert_eq!(info.polling_num, 2);
    let full = popper.pop(1, 60_000, 20_000);
    assert_eq!(full.code, response_code::POLLING_FULL, "{:?}", full.remark);

    // A message wakes one of them at once, long before its poll time.
    let sent = Instant::now();
    send(&sender, &addr, "PopPoll", 1, 1..2);
    let (answer, at) = received.recv_timeout(TIMEOUT).expect("a held pop woken");
    assert_code(&answer, response_code::SUCCESS);
    assert!(at.duration_since(sent) < Duration::from_secs(3));
    assert_eq!(
        decode_messages(&answer.body, true).unwrap()[0].keys(),
        Some("k1")
    );
    assert!(wait_until(TIMEOUT, || broker.held_pops() == 1));

    // A short poll times out with nothing.
    let begin = Instant::now();
    let timed_out = popper.pop(1, 60_000, 300);
    assert_eq!(timed_out.code, response_code::POLLING_TIMEOUT);
    assert_eq!(timed_out.remark.as_deref(), Some("NO_MESSAGE_IN_QUEUE"));
    assert!(begin.elapsed() >= Duration::from_millis(250));

    // NOTIFICATION: no message now; held, then woken by one.
    let answer = popper.call(notification(&popper, false, 0, common::now_ms()), TIMEOUT);
    assert_code(&answer, response_code::SUCCESS);
    let h: NotificationResponseHeader = answer.decode_header().unwrap();
    assert!(!h.has_msg);
    // Shutting down answers the pop still held.
    broker.shutdown();
    let (answer, _) = received
        .recv_timeout(TIMEOUT)
        .expect("answered at shutdown");
    assert_code(&answer, response_code::POLLING_TIMEOUT);
}

#[test]
fn a_held_notification_says_has_msg_when_one_arrives() {
    let dir = TempDir::new("pop-notify");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    let sender = common::client();
    send(&sender, &addr, "PopNotify", 2, 0..1);
    let popper = Popper::new(&addr, "PopNotify", "CG_notify");
    ack_all(&popper, &popper.pop(32, 60_000, 0).messages);
    let (answers, received) = std::sync::mpsc::channel();
    popper
        .client
        .invoke_async(
            Some(&addr),
            notification(&popper, false, 20_000, common::now_ms()),
            Duration::from_secs(25),
            move |result| {
                let _ = answers.send(result.expect("notification answered"));
            },
        )
        .unwrap();
    assert!(wait_until(TIMEOUT, || broker.held_pops() == 1));
    send(&sender, &addr, "PopNotify", 2, 1..2);
    let answer = received.recv_timeout(TIMEOUT).expect("woken");
    assert_code(&answer, response_code::SUCCESS);
    let h: NotificationResponseHeader = answer.decode_header().unwrap();
    assert!(h.has_msg && !h.polling_full);
    broker.shutdown();
}

/// The frame `name` of tests/fixtures/java-5.3.3, decoded.
fn java_frame(name: &str) -> RemotingCommand {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/java-5.3.3")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode_frame(&bytes[4..]).expect("a whole frame")
}

#[test]
fn query_assignment_answers_pop_after_set_message_request_mode_as_java_did() {
    let dir = TempDir::new("pop-assign");
    // Named as the broker of the capture, so the answers are byte for byte Java's.
    let start = |dir: &TempDir| common::start_broker(dir, |b| b.broker_name("broker-5"));
    let broker = start(&dir);
    let addr = broker.local_addr().to_string();
    let admin = common::client();
    send(&admin, &addr, "CapPop5", 8, 0..1);
    let call = |request: RemotingCommand| admin.invoke_sync(Some(&addr), request, TIMEOUT).unwrap();
    // The Java consumer's heartbeat (its client id is the one QUERY_ASSIGNMENT names).
    assert_code(
        &call(java_frame("057-req-code34-json.bin")),
        response_code::SUCCESS,
    );

    let query = QueryAssignmentRequestBody::from_json(&java_frame("070-req-code400-json.bin").body)
        .unwrap();
    let assignments = |answer: &RemotingCommand| {
        QueryAssignmentResponseBody::from_json(&answer.body)
            .unwrap()
            .message_queue_assignments
            .unwrap()
    };
    // Before any mode is set: pulled, every queue to the one member.
    let before = call(
        RemotingCommand::new_request(request_code::QUERY_ASSIGNMENT)
            .with_body(query.to_json().into_bytes()),
    );
    assert_code(&before, response_code::SUCCESS);
    let before = assignments(&before);
    assert_eq!(before.len(), 8);
    assert!(before.iter().all(|a| a.mode == MessageRequestMode::Pull));

    // `mqadmin setConsumeMode -m POP -q 0`, as the 5.3.3 tool sent it (signed, no ACL here).
    let set = call(java_frame("017-req-code401-json.bin"));
    let java_set = java_frame("018-resp-code0-json.bin");
    assert_eq!(
        (set.code, &set.remark, set.ext_fields.len()),
        (java_set.code, &java_set.remark, java_set.ext_fields.len())
    );
    // The consumer's queries, answered as Java's broker answered them.
    for (request, expected) in [
        ("070-req-code400-json.bin", "071-resp-code0-json.bin"),
        ("062-req-code400-json.bin", "063-resp-code0-json.bin"),
    ] {
        let answer = call(java_frame(request));
        assert_code(&answer, response_code::SUCCESS);
        assert_eq!(
            String::from_utf8_lossy(&answer.body),
            String::from_utf8_lossy(&java_frame(expected).body),
            "{request}"
        );
    }
    // Retry topics are always pulled; unknown topics cannot be set.
    let set_mode = |topic: &str| {
        let body = SetMessageRequestModeRequestBody {
            topic: topic.into(),
            consumer_group: "CapPopG5".into(),
            mode: MessageRequestMode::Pop,
            pop_share_queue_num: 0,
        };
        call(
            RemotingCommand::new_request(request_code::SET_MESSAGE_REQUEST_MODE)
                .with_body(body.to_json().into_bytes()),
        )
    };
    let retry = set_mode("%RETRY%CapPopG5");
    assert_code(&retry, response_code::NO_PERMISSION);
    assert_eq!(
        retry.remark.as_deref(),
        Some("retry topic is not allowed to set mode")
    );
    assert_code(&set_mode("NoSuchTopic"), response_code::TOPIC_NOT_EXIST);
    let bad = call(
        RemotingCommand::new_request(request_code::QUERY_ASSIGNMENT).with_body(b"[1,2]".to_vec()),
    );
    assert_code(&bad, response_code::SYSTEM_ERROR);
    let no_model = QueryAssignmentRequestBody {
        message_model: None,
        ..query.clone()
    };
    assert_code(
        &call(
            RemotingCommand::new_request(request_code::QUERY_ASSIGNMENT)
                .with_body(no_model.to_json().into_bytes()),
        ),
        response_code::SYSTEM_ERROR,
    );

    // The Java consumer's POP request shape is served (its bornTime moved to now).
    let mut pop = java_frame("075-req-code200050-json.bin");
    pop.ext_fields
        .insert("bornTime", common::now_ms().to_string());
    pop.ext_fields.insert("pollTime", "0");
    let answer = call(pop);
    assert_code(&answer, response_code::SUCCESS);
    let h: PopMessageResponseHeader = answer.decode_header().unwrap();
    assert!(h.msg_offset_info.unwrap().contains(" 0 0"));
    assert_eq!(decode_messages(&answer.body, true).unwrap().len(), 1);

    // The mode survives a restart (messageRequestMode.json).
    broker.shutdown();
    drop(broker);
    let broker = start(&dir);
    let addr = broker.local_addr().to_string();
    let call = |request: RemotingCommand| admin.invoke_sync(Some(&addr), request, TIMEOUT).unwrap();
    assert_code(
        &call(java_frame("057-req-code34-json.bin")),
        response_code::SUCCESS,
    );
    let broadcast = QueryAssignmentRequestBody {
        message_model: Some(MessageModel::Broadcasting),
        ..query
    };
    let after = call(
        RemotingCommand::new_request(request_code::QUERY_ASSIGNMENT)
            .with_body(broadcast.to_json().into_bytes()),
    );
    let after = assignments(&after);
    assert_eq!(after.len(), 8, "broadcasting: every queue");
    assert!(after.iter().all(|a| a.mode == MessageRequestMode::Pop));
    let text = std::fs::read_to_string(dir.0.join("config/messageRequestMode.json")).unwrap();
    assert!(text.contains(r#""CapPop5":{"CapPopG5":{"consumerGroup":"CapPopG5","mode":"POP""#));
    broker.shutdown();
}

#[test]
fn pops_of_one_queue_and_filters_by_tag() {
    let dir = TempDir::new("pop-queue");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    send(&common::client(), &addr, "PopQueue", 4, 0..3);
    let popper = Popper::new(&addr, "PopQueue", "CG_queue");
    // Queue 1 is empty: a pop of it alone finds nothing (the retry topic does not exist).
    let mut header = popper.pop_header(32, 60_000, 0);
    header.queue_id = 1;
    assert_eq!(popper.pop_with(header).code, response_code::POLLING_TIMEOUT);
    // A filter that matches nothing moves the offset past what it read.
    let mut header = popper.pop_header(32, 60_000, 0);
    header.exp = Some("TagB".into());
    assert_eq!(popper.pop_with(header).code, response_code::POLLING_TIMEOUT);
    assert_eq!(broker.consumer_offset("CG_queue", "PopQueue", 0), Some(3));
    assert_eq!(open_checkpoints(&broker), 0);
    // Another group sees them all with a matching filter.
    let other = Popper::new(&addr, "PopQueue", "CG_queue_other");
    let mut header = other.pop_header(32, 60_000, 0);
    header.exp = Some("TagB || TagA".into());
    header.queue_id = 0;
    let answer = other.pop_with(header);
    assert_eq!(answer.messages.len(), 3);
    let by_offset: BTreeMap<i64, String> = answer
        .messages
        .iter()
        .map(|p| (p.message.queue_offset, p.key()))
        .collect();
    assert_eq!(
        by_offset.values().cloned().collect::<Vec<_>>(),
        ["k0", "k1", "k2"]
    );
    assert_eq!(answer.header.unwrap().rest_num, 0);
    broker.shutdown();
}

#[test]
fn orderly_pops_hand_out_one_batch_of_a_queue_until_it_is_acked_or_visible_again() {
    let dir = TempDir::new("pop-order");
    let broker = start_broker(&dir, |b| b);
    let addr = broker.local_addr().to_string();
    send(&common::client(), &addr, "PopOrder", 1, 0..6);
    let popper = Popper::new(&addr, "PopOrder", "CG_order");
    let pop = |max: i32, invisible: i64, poll: i64| {
        let mut header = popper.pop_header(max, invisible, poll);
        header.order = true;
        popper.pop_with(header)
    };
    let keys = |answer: &PopAnswer| answer.messages.iter().map(Popped::key).collect::<Vec<_>>();

    let first = pop(2, 1500, 0);
    assert_eq!(keys(&first), ["k0", "k1"]);
    let header = first.header.as_ref().unwrap();
    assert_eq!(header.revive_qid, 999);
    assert_eq!(header.order_count_info.as_deref(), Some("0 0 0"));
    assert!(first.messages.iter().all(|p| p.handle.is_order()));
    // The queue is blocked for the group while the batch is out.
    assert_eq!(pop(2, 1500, 0).code, response_code::POLLING_TIMEOUT);
    assert_eq!(
        open_checkpoints(&broker),
        0,
        "orderly pops write no checkpoint"
    );
    // Acking the second alone moves nothing: the first is not done.
    assert_code(&popper.ack(&first.messages[1]), response_code::SUCCESS);
    assert_eq!(broker.consumer_offset("CG_order", "PopOrder", 0), Some(0));

    // Once its invisible time passes, the same batch again, counted as redelivered; the held
    // pop runs as the queue unblocks.
    let again = pop(2, 1500, 10_000);
    assert_eq!(keys(&again), ["k0", "k1"], "{:?}", again.remark);
    assert!(common::now_ms() >= first.messages[0].handle.revive_time());
    assert_eq!(
        again.header.as_ref().unwrap().order_count_info.as_deref(),
        Some("0 qo0%0 1;0 qo0%1 1;0 0 1")
    );
    // An ack of the first batch's handle is stale now.
    assert_code(&popper.ack(&first.messages[0]), response_code::SUCCESS);
    assert_eq!(broker.consumer_offset("CG_order", "PopOrder", 0), Some(0));
    ack_all(&popper, &again.messages);
    assert_eq!(broker.consumer_offset("CG_order", "PopOrder", 0), Some(2));

    // Unblocked at once by the acks; an invisibility change moves one message's deadline.
    let next = pop(2, 1000, 0);
    assert_eq!(keys(&next), ["k2", "k3"]);
    let changed = popper.change_invisible(&next.messages[0], 60_000);
    assert_code(&changed, response_code::SUCCESS);
    let h: ChangeInvisibleTimeResponseHeader = changed.decode_header().unwrap();
    assert_eq!(
        h.pop_time, next.messages[0].handle.pop_time,
        "the handle keeps its pop time"
    );
    assert_eq!(h.revive_qid, 999);
    assert!(h.invisible_time >= 60_000);
    // Past the batch's invisible time, still blocked by the message whose time moved.
    assert_eq!(pop(2, 1000, 1500).code, response_code::POLLING_TIMEOUT);
    assert!(common::now_ms() >= next.messages[0].handle.revive_time());
    ack_all(&popper, &next.messages);
    assert_eq!(broker.consumer_offset("CG_order", "PopOrder", 0), Some(4));

    // The block survives a restart.
    let last = pop(2, 60_000, 0);
    assert_eq!(keys(&last), ["k4", "k5"]);
    broker.shutdown();
    drop(broker);
    let broker = start_broker(&dir, |b| b);
    let popper = Popper::new(&broker.local_addr().to_string(), "PopOrder", "CG_order");
    let mut header = popper.pop_header(2, 60_000, 0);
    header.order = true;
    assert_eq!(popper.pop_with(header).code, response_code::POLLING_TIMEOUT);
    let answer = popper.call(notification(&popper, true, 0, common::now_ms()), TIMEOUT);
    let h: NotificationResponseHeader = answer.decode_header().unwrap();
    assert!(!h.has_msg, "blocked: nothing a pop would get");
    ack_all(&popper, &last.messages);
    assert_eq!(broker.consumer_offset("CG_order", "PopOrder", 0), Some(6));
    assert_eq!(
        revived(&broker, "CG_order", "PopOrder"),
        0,
        "nothing went through the retry topic"
    );
    broker.shutdown();
}

#[test]
fn a_group_deleted_with_its_offsets_gets_no_pop_offset_back_at_a_restart() {
    let dir = TempDir::new("pop-delete-group");
    let broker = start_broker(&dir, |b| b.flush_disk_type(FlushDiskType::SyncFlush));
    let addr = broker.local_addr().to_string();
    let client = common::client();
    send(&client, &addr, "PopDeleted", 1, 0..3);
    let popper = Popper::new(&addr, "PopDeleted", "CG_deleted");
    let popped = popper.pop(3, 60_000, 0).messages;
    assert_eq!(popped.len(), 3);
    ack_all(&popper, &popped);
    assert_eq!(
        broker.consumer_offset("CG_deleted", "PopDeleted", 0),
        Some(3)
    );
    // As `mqadmin deleteSubGroup -r true` of 5.x asks.
    let mut delete = RemotingCommand::new_request(request_code::DELETE_SUBSCRIPTIONGROUP);
    delete.ext_fields.insert("groupName", "CG_deleted");
    delete.ext_fields.insert("cleanOffset", "true");
    let response = client.invoke_sync(Some(&addr), delete, TIMEOUT).unwrap();
    assert_code(&response, response_code::SUCCESS);
    assert_eq!(broker.consumer_offset("CG_deleted", "PopDeleted", 0), None);
    broker.shutdown();
    drop(broker);

    // The checkpoint log restores pop offsets at start; not a deleted group's.
    let broker = start_broker(&dir, |b| b);
    assert_eq!(broker.consumer_offset("CG_deleted", "PopDeleted", 0), None);
    broker.shutdown();
}
