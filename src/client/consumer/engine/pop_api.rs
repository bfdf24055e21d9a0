//! `PopApiWrapper`: one pop, and the acks and invisibility changes of what it handed out,
//! from choosing the broker to the request; mirrors Java's `PullAPIWrapper.popAsync` with the
//! `ackAsync` and `changePopInvisibleTimeAsync` of `DefaultMQPushConsumerImpl`.
//!
//! Pops go to the master of the queue's broker; acks and invisibility changes to the master
//! of the broker the receipt handle names, for the topic the message really sits in (its
//! retry topic when it came back through it). A push consumer's acks go one request at a
//! time per broker: the acks made while one is in flight wait and go together, in one
//! BATCH_ACK_MESSAGE, when it is answered (a broker without it, a 5.0 one, gets one
//! ACK_MESSAGE each from then on). Acks and invisibility changes are asynchronous; the
//! wrapper counts those in flight so that a shutdown can wait for them.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::consumer::subscription::{tag_matches, EXPRESSION_TYPE_TAG};
use crate::client::shared::client_instance::{BrokerChoice, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::client::shared::mq_client_api::{receipt_handle_of, PopResult, PopStatus};
use crate::client::shared::result::Callback;
use crate::common::clock::now_millis;
use crate::common::in_flight::InFlight;
use crate::common::sync::MutexExt;
use crate::common::trace::trace_step;
use crate::protocol::body::{BatchAck, BatchAckMessageRequestBody, SubscriptionData};
use crate::protocol::codes::response_code;
use crate::protocol::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ExtraInfo, PopMessageRequestHeader,
};
use crate::protocol::message::{MessageExt, MessageQueue};

/// A bit set of one BATCH_ACK covers at most this many offsets past its checkpoint's start
/// (a pop hands out 32); a handle further out is acked on its own.
const MAX_BATCH_ACK_SPAN: i64 = 1 << 12;

/// What one pop asks for.
#[derive(Debug, Clone)]
pub(crate) struct PopSpec {
    /// The queue; queue id -1 pops every queue of the topic on its broker.
    pub(crate) queue: MessageQueue,
    /// At most this many messages (the broker allows 32).
    pub(crate) max_nums: i32,
    /// How long the messages stay invisible to the group.
    pub(crate) invisible_time: Duration,
    /// How long the broker may hold the pop when nothing is there (long polling).
    pub(crate) poll_time: Duration,
    /// Where a group without an offset starts (`ConsumeInitMode`).
    pub(crate) init_mode: i32,
    /// How long to wait for the answer.
    pub(crate) timeout: Duration,
}

/// Pops, acks and invisibility changes for one consumer group.
pub(crate) struct PopApiWrapper {
    instance: Arc<MqClientInstance>,
    group: String,
    in_flight: Arc<InFlight>,
    /// A broker answered BATCH_ACK_MESSAGE with REQUEST_CODE_NOT_SUPPORTED.
    no_batch_ack: AtomicBool,
    /// Broker name → the acks waiting for the one in flight.
    ack_queues: Mutex<HashMap<String, AckQueue>>,
}

/// An ack to send: the topic popped (namespaced) and the message's handle.
type PendingAck = (String, ExtraInfo);

/// One broker's acks: whether a request is in flight, and what waits for it.
#[derive(Default)]
struct AckQueue {
    sending: bool,
    pending: Vec<PendingAck>,
}

impl PopApiWrapper {
    pub(crate) fn new(instance: Arc<MqClientInstance>, group: impl Into<String>) -> Self {
        PopApiWrapper {
            instance,
            group: group.into(),
            in_flight: Arc::default(),
            no_batch_ack: AtomicBool::new(false),
            ack_queues: Mutex::default(),
        }
    }

    fn timeout(&self) -> Duration {
        self.instance.api_timeout_default()
    }

    /// The master of `queue`'s broker, its route fetched when unknown.
    fn master_of(&self, queue: &MessageQueue) -> Result<String, ClientError> {
        self.instance
            .find_broker_address(queue, BrokerChoice::Master, self.timeout())
            .map(|found| found.addr)
    }

    /// Starts a pop (`popAsync`); `callback` gets the answer, or the failure, exactly once.
    pub(crate) fn pop_async(
        &self,
        spec: &PopSpec,
        subscription: &SubscriptionData,
        callback: Callback<PopResult>,
    ) {
        let addr = match self.master_of(&spec.queue) {
            Ok(addr) => addr,
            Err(e) => return callback(Err(e)),
        };
        let header = pop_header(&self.group, spec, subscription, now_millis());
        trace_step!(
            "client",
            "pop {} at {addr} (invisible {} ms, poll {} ms)",
            spec.queue,
            header.invisible_time,
            header.poll_time
        );
        self.instance.api().pop_message_async(
            &addr,
            &spec.queue.broker_name,
            header,
            spec.timeout,
            callback,
        );
    }

    /// A pop, waiting for its answer; a broker too busy to hold it (POLLING_FULL) is a
    /// [`ClientError::Broker`].
    pub(crate) fn pop(
        &self,
        spec: &PopSpec,
        subscription: &SubscriptionData,
    ) -> Result<PopResult, ClientError> {
        let addr = self.master_of(&spec.queue)?;
        let header = pop_header(&self.group, spec, subscription, now_millis());
        let result = self.instance.api().pop_message(
            &addr,
            &spec.queue.broker_name,
            &header,
            spec.timeout,
        )?;
        if result.status == PopStatus::PollingFull {
            return Err(ClientError::broker(
                response_code::POLLING_FULL,
                Some("too many pops wait at the broker".into()),
                &addr,
            ));
        }
        Ok(result)
    }

    /// Logs unreadable records and keeps the messages of the subscription's tags; the others
    /// (the broker compares tag hash codes only) are acked, so they do not come back
    /// (`processPopResult`). `topic` is the topic popped, namespaced.
    pub(crate) fn process_pop_result(
        self: &Arc<Self>,
        topic: &str,
        result: &mut PopResult,
        subscription: &SubscriptionData,
    ) {
        for skipped in &result.skipped {
            log::error!(
                "a message popped from {topic} at offset {} cannot be read ({}); it comes \
                 back after its invisible time",
                skipped
                    .queue_offset
                    .map_or_else(|| "unknown".to_string(), |o| o.to_string()),
                skipped.error
            );
        }
        if result.messages.iter().all(|m| tag_matches(subscription, m)) {
            return;
        }
        let (kept, other): (Vec<MessageExt>, Vec<MessageExt>) =
            std::mem::take(&mut result.messages)
                .into_iter()
                .partition(|m| tag_matches(subscription, m));
        self.ack_async(topic, other.iter());
        result.messages = kept;
    }

    // ----- acks and invisibility ------------------------------------------------------------

    /// Where a handle's message is acked: the master of its broker.
    fn broker_of(&self, topic: &str, handle: &ExtraInfo) -> Result<String, ClientError> {
        let queue = MessageQueue::new(topic, &handle.broker_name, handle.queue_id.unwrap_or(0));
        self.master_of(&queue)
    }

    /// Acks one message popped from `topic` (namespaced) by its handle, waiting for the
    /// broker.
    pub(crate) fn ack(&self, topic: &str, handle: &ExtraInfo) -> Result<(), ClientError> {
        let header = ack_header(&self.group, topic, handle)?;
        let addr = self.broker_of(topic, handle)?;
        self.instance
            .api()
            .ack_message(&addr, &header, self.timeout())
    }

    /// Makes one message popped from `topic` invisible for `invisible` from now, waiting for
    /// the broker; returns its new handle (`changeInvisibleTimeAsync`'s `ackResult`).
    pub(crate) fn change_invisible_time(
        &self,
        topic: &str,
        handle: &ExtraInfo,
        invisible: Duration,
    ) -> Result<ExtraInfo, ClientError> {
        let header = change_header(&self.group, topic, handle, invisible)?;
        let addr = self.broker_of(topic, handle)?;
        let answer = self
            .instance
            .api()
            .change_invisible_time(&addr, &header, self.timeout())?;
        Ok(ExtraInfo {
            ck_queue_offset: header.offset,
            pop_time: answer.pop_time,
            invisible_time: answer.invisible_time,
            revive_qid: answer.revive_qid,
            retry: handle.retry,
            broker_name: handle.broker_name.clone(),
            queue_id: Some(header.queue_id),
            queue_offset: Some(header.offset),
        })
    }

    /// Acks `messages` popped from `topic` without waiting. Acks of one broker go one
    /// request at a time: an ack is sent at once when none is in flight to its broker, and
    /// those made while one is wait and go together when it is answered, as one
    /// BATCH_ACK_MESSAGE (so under load one request acks many messages, and an idle consumer
    /// acks each at once). A broker without BATCH_ACK_MESSAGE (5.0) gets one ACK_MESSAGE per
    /// message. Failures are logged: those messages come back after their invisible time.
    pub(crate) fn ack_async<'a>(
        self: &Arc<Self>,
        topic: &str,
        messages: impl Iterator<Item = &'a MessageExt>,
    ) {
        let mut by_broker: BTreeMap<String, Vec<PendingAck>> = BTreeMap::new();
        for message in messages {
            match receipt_handle_of(message).and_then(|h| handle_position(&h).map(|_| h)) {
                Ok(handle) => by_broker
                    .entry(handle.broker_name.clone())
                    .or_default()
                    .push((topic.to_string(), handle)),
                Err(e) => log::warn!(
                    "message {} of {topic} cannot be acked: {e}",
                    message.client_msg_id()
                ),
            }
        }
        for (broker, acks) in by_broker {
            let batch = {
                let mut queues = self.ack_queues.lock_unpoisoned();
                let queue = queues.entry(broker.clone()).or_default();
                queue.pending.extend(acks);
                if queue.sending {
                    continue; // the ack in flight sends these when it is answered
                }
                queue.sending = true;
                std::mem::take(&mut queue.pending)
            };
            self.send_acks(broker, batch);
        }
    }

    /// What waited for `broker` goes now, or its queue is idle again.
    fn next_acks(self: &Arc<Self>, broker: String) {
        let batch = {
            let mut queues = self.ack_queues.lock_unpoisoned();
            let Some(queue) = queues.get_mut(&broker) else {
                return;
            };
            if queue.pending.is_empty() {
                queue.sending = false;
                return;
            }
            std::mem::take(&mut queue.pending)
        };
        self.send_acks(broker, batch);
    }

    /// One request for `acks` of `broker`; its answer sends what queued meanwhile.
    fn send_acks(self: &Arc<Self>, broker: String, acks: Vec<PendingAck>) {
        if self.no_batch_ack.load(Ordering::Relaxed) {
            for (topic, handle) in &acks {
                self.ack_one_async(topic, handle, || {});
            }
            return self.next_acks(broker);
        }
        let api = Arc::clone(self);
        let done = move || api.next_acks(broker);
        match &acks[..] {
            [] => done(),
            [(topic, handle)] => self.ack_one_async(topic, handle, done),
            _ => self.batch_ack_async(acks, done),
        }
    }

    /// One ACK_MESSAGE; `done` runs when it is answered (or could not be sent).
    fn ack_one_async(&self, topic: &str, handle: &ExtraInfo, done: impl FnOnce() + Send + 'static) {
        let sent = ack_header(&self.group, topic, handle)
            .and_then(|header| Ok((self.broker_of(topic, handle)?, header)));
        let (addr, header) = match sent {
            Ok(sent) => sent,
            Err(e) => {
                log::warn!("ack of {handle} failed: {e}");
                return done();
            }
        };
        let guard = self.in_flight.enter();
        let what = header.extra_info.clone();
        self.instance.api().ack_message_async(
            &addr,
            &header,
            self.timeout(),
            Box::new(move |outcome| {
                if let Err(e) = outcome {
                    log::warn!("ack of {what} failed: {e}; the message comes back later");
                }
                done();
                drop(guard);
            }),
        );
    }

    /// One BATCH_ACK_MESSAGE for `acks` of one broker (`batchAckMessageAsync`); `done` runs
    /// when it is answered. A broker that does not know the code gets them one by one, from
    /// then on.
    fn batch_ack_async(
        self: &Arc<Self>,
        acks: Vec<PendingAck>,
        done: impl FnOnce() + Send + 'static,
    ) {
        let (topic, first) = &acks[0];
        let addr = match self.broker_of(topic, first) {
            Ok(addr) => addr,
            Err(e) => {
                log::warn!("ack of {} message(s) failed: {e}", acks.len());
                return done();
            }
        };
        let (body, alone) = batch_ack_body(&self.group, &acks);
        for index in alone {
            let (topic, handle) = &acks[index];
            self.ack_one_async(topic, handle, || {});
        }
        if body.acks.is_empty() {
            return done();
        }
        let guard = self.in_flight.enter();
        let (api, broker) = (Arc::clone(self), addr.clone());
        self.instance.api().batch_ack_message_async(
            &addr,
            &body,
            self.timeout(),
            Box::new(move |outcome| {
                match outcome {
                    Ok(()) => {}
                    Err(e)
                        if e.response_code() == Some(response_code::REQUEST_CODE_NOT_SUPPORTED) =>
                    {
                        log::info!("{broker} has no BATCH_ACK_MESSAGE; acking one by one");
                        api.no_batch_ack.store(true, Ordering::Relaxed);
                        for (topic, handle) in &acks {
                            api.ack_one_async(topic, handle, || {});
                        }
                    }
                    Err(e) => log::warn!(
                        "batch ack of {} message(s) failed: {e}; they come back later",
                        acks.len()
                    ),
                }
                done();
                drop(guard);
            }),
        );
    }

    /// Puts a failed message back for `invisible` from now without waiting
    /// (`changePopInvisibleTimeAsync`); a failure is logged (it comes back after its first
    /// invisible time instead).
    pub(crate) fn change_invisible_time_async(
        &self,
        topic: &str,
        message: &MessageExt,
        invisible: Duration,
    ) {
        let prepared = receipt_handle_of(message).and_then(|handle| {
            let header = change_header(&self.group, topic, &handle, invisible)?;
            Ok((self.broker_of(topic, &handle)?, header))
        });
        let (addr, header) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                return log::warn!(
                    "invisible time of message {} cannot be changed: {e}",
                    message.client_msg_id()
                )
            }
        };
        let guard = self.in_flight.enter();
        let what = header.extra_info.clone();
        self.instance.api().change_invisible_time_async(
            &addr,
            &header,
            self.timeout(),
            Box::new(move |outcome| {
                if let Err(e) = outcome {
                    log::warn!("changing the invisible time of {what} failed: {e}");
                }
                drop(guard);
            }),
        );
    }

    /// Waits until every ack and invisibility change sent has its answer, at most `wait`;
    /// returns how many are still in flight.
    pub(crate) fn await_in_flight(&self, wait: Duration) -> usize {
        self.in_flight.wait_idle(wait).err().unwrap_or(0)
    }
}

/// The POP_MESSAGE header of `spec` for `group` (`popAsync`), as a Java 5.3.3 client writes
/// it: the subscription's expression type and expression, never orderly.
fn pop_header(
    group: &str,
    spec: &PopSpec,
    subscription: &SubscriptionData,
    born_time: i64,
) -> PopMessageRequestHeader {
    PopMessageRequestHeader {
        consumer_group: group.to_string(),
        topic: spec.queue.topic.clone(),
        queue_id: spec.queue.queue_id,
        max_msg_nums: spec.max_nums,
        invisible_time: spec.invisible_time.as_millis() as i64,
        poll_time: spec.poll_time.as_millis() as i64,
        born_time,
        init_mode: spec.init_mode,
        exp_type: Some(
            subscription
                .expression_type
                .clone()
                .unwrap_or_else(|| EXPRESSION_TYPE_TAG.to_string()),
        ),
        exp: Some(subscription.sub_string.clone()),
        order: false,
        attempt_id: None,
        bname: Some(spec.queue.broker_name.clone()),
    }
}

/// The ACK_MESSAGE header for `handle` of a message `group` popped from `topic`: the topic
/// the message sits in (its retry topic when the handle says so), its queue and offset, the
/// handle itself (`ackAsync`).
fn ack_header(
    group: &str,
    topic: &str,
    handle: &ExtraInfo,
) -> Result<AckMessageRequestHeader, ClientError> {
    let (queue_id, offset) = handle_position(handle)?;
    Ok(AckMessageRequestHeader {
        consumer_group: group.to_string(),
        topic: handle.retry.real_topic(topic, group),
        queue_id,
        extra_info: handle.to_string(),
        offset,
        bname: Some(handle.broker_name.clone()),
    })
}

/// The CHANGE_MESSAGE_INVISIBLETIME header: an ack's fields and the new invisible time
/// (`changePopInvisibleTimeAsync`).
fn change_header(
    group: &str,
    topic: &str,
    handle: &ExtraInfo,
    invisible: Duration,
) -> Result<ChangeInvisibleTimeRequestHeader, ClientError> {
    let ack = ack_header(group, topic, handle)?;
    Ok(ChangeInvisibleTimeRequestHeader {
        consumer_group: ack.consumer_group,
        topic: ack.topic,
        queue_id: ack.queue_id,
        extra_info: ack.extra_info,
        offset: ack.offset,
        invisible_time: invisible.as_millis() as i64,
        bname: ack.bname,
    })
}

/// The BATCH_ACK_MESSAGE body of `acks` (of one broker; `batchAckMessageAsync`): one
/// `BatchAck` per checkpoint (topic, retry flag, queue, start offset, pop time) with a bit per
/// offset past its start. Also the indexes of the acks it leaves out (an offset too far past
/// its checkpoint's start for a bit set), to ack on their own.
fn batch_ack_body(group: &str, acks: &[PendingAck]) -> (BatchAckMessageRequestBody, Vec<usize>) {
    let mut checkpoints: BTreeMap<(&str, &str, i32, i64, i64), BatchAck> = BTreeMap::new();
    let mut alone = Vec::new();
    for (index, (topic, handle)) in acks.iter().enumerate() {
        let (queue_id, offset) = handle_position(handle).unwrap_or((0, -1));
        // Both from the broker: no arithmetic it could make overflow.
        let bit = offset.checked_sub(handle.ck_queue_offset).unwrap_or(-1);
        if !(0..MAX_BATCH_ACK_SPAN).contains(&bit) {
            alone.push(index);
            continue;
        }
        let retry = handle.retry.as_str();
        checkpoints
            .entry((
                topic,
                retry,
                queue_id,
                handle.ck_queue_offset,
                handle.pop_time,
            ))
            .or_insert_with(|| BatchAck {
                consumer_group: group.to_string(),
                topic: topic.clone(),
                retry: retry.to_string(),
                start_offset: handle.ck_queue_offset,
                queue_id,
                revive_queue_id: handle.revive_qid,
                pop_time: handle.pop_time,
                invisible_time: handle.invisible_time,
                bit_set: Vec::new(),
            })
            .set(bit as u32);
    }
    let body = BatchAckMessageRequestBody {
        broker_name: acks.first().map(|(_, h)| h.broker_name.clone()),
        acks: checkpoints.into_values().collect(),
    };
    (body, alone)
}

/// A handle's queue and offset, which an ack needs (a handle of an old client may lack them).
fn handle_position(handle: &ExtraInfo) -> Result<(i32, i64), ClientError> {
    match (handle.queue_id, handle.queue_offset) {
        (Some(queue_id), Some(offset)) => Ok((queue_id, offset)),
        _ => Err(ClientError::invalid_argument(
            "receipt handle",
            format!("{handle} names no queue and offset"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::consumer::subscription::build_subscription_data;
    use crate::client::shared::test_support::fixture;
    use crate::protocol::header::{CommandCustomHeader, CONSUME_INIT_MODE_MIN};
    use crate::protocol::ExtFields;

    /// `header` as written, against the fields a Java 5.3.3 client sent in `file`.
    fn assert_sent_as_java<H: CommandCustomHeader>(header: &H, file: &str) {
        let mut fields = ExtFields::new();
        header.write_to(&mut fields);
        let sent = fixture(file).ext_fields;
        let mut ours: Vec<_> = fields.iter().collect();
        let mut java: Vec<_> = sent.iter().collect();
        ours.sort();
        java.sort();
        assert_eq!(ours, java, "{file}");
    }

    #[test]
    fn requests_carry_what_a_java_client_sends() {
        let spec = PopSpec {
            queue: MessageQueue::new("CapPop5", "broker-5", -1),
            max_nums: 32,
            invisible_time: Duration::from_secs(60),
            poll_time: Duration::from_secs(15),
            init_mode: CONSUME_INIT_MODE_MIN,
            timeout: Duration::from_secs(25),
        };
        let subscription = build_subscription_data("CapPop5", &"*".into()).unwrap();
        let header = pop_header("CapPopG5", &spec, &subscription, 1_796_627_987_136);
        assert_sent_as_java(&header, "java-5.3.3/075-req-code200050-json.bin");

        let handle = ExtraInfo::parse("0 1796627987145 60000 0 0 broker-5 7 0").unwrap();
        let ack = ack_header("CapPopG5", "CapPop5", &handle).unwrap();
        assert_sent_as_java(&ack, "java-5.3.3/078-req-code200051-json.bin");

        // A listener's first failure: back in 10 s (the first of Java's delays).
        let handle = ExtraInfo::parse("0 1796627987145 60000 0 0 broker-5 0 0").unwrap();
        let change =
            change_header("CapPopG5", "CapPop5", &handle, Duration::from_secs(10)).unwrap();
        assert_sent_as_java(&change, "java-5.3.3/079-req-code200053-json.bin");

        // A message that came back through the V1 retry topic is acked there.
        let handle = ExtraInfo::parse("0 1796628002186 60000 2 1 broker-5 0 0").unwrap();
        let ack = ack_header("CapPopG5", "CapPop5", &handle).unwrap();
        assert_sent_as_java(&ack, "java-5.3.3/100-req-code200051-json.bin");

        // Several acks in one BATCH_ACK_MESSAGE: a BatchAck per checkpoint, a bit per offset
        // past its start (offsets 6 and 8 of the checkpoint from 5: bits 1 and 3, 0x0A).
        let acks: Vec<PendingAck> = [
            "5 100 60000 3 0 broker-5 1 6",
            "5 100 60000 3 0 broker-5 1 8",
            "5 200 60000 3 0 broker-5 1 9",
            "0 300 60000 4 1 broker-5 0 0",
            "5 100 60000 3 0 broker-5 1 99999",
        ]
        .iter()
        .map(|h| ("CapPop5".to_string(), ExtraInfo::parse(h).unwrap()))
        .collect();
        let (body, alone) = batch_ack_body("CapPopG5", &acks);
        assert_eq!(
            alone,
            [4],
            "too far past its checkpoint's start for a bit set"
        );
        assert_eq!(
            body.to_json(),
            r#"{"acks":[{"b":"Cg==","c":"CapPopG5","it":60000,"pt":100,"q":1,"r":"0","rq":3,"so":5,"t":"CapPop5"},{"b":"EA==","c":"CapPopG5","it":60000,"pt":200,"q":1,"r":"0","rq":3,"so":5,"t":"CapPop5"},{"b":"AQ==","c":"CapPopG5","it":60000,"pt":300,"q":0,"r":"1","rq":4,"so":0,"t":"CapPop5"}],"brokerName":"broker-5"}"#
        );

        // A handle without its queue and offset cannot be acked.
        let short = ExtraInfo::parse("0 1 60000 0 0 broker-5").unwrap();
        assert!(ack_header("G", "T", &short).unwrap_err().is_invalid_input());
    }
}
