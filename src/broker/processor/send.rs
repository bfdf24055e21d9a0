//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
//! CONSUMER_SEND_MSG_BACK (36); mirrors Java's `SendMessageProcessor`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{suggest_todo, BrokerContext};
use crate::broker::schedule_message_service::schedule_if_delayed;
use crate::broker::store::{PutMessageResult, PutMessageStatus, StoreError};
use crate::broker::timer::{transform_timer_message, TimerRefusal, TimerSettings};
use crate::broker::topic_config_manager::{
    is_not_allowed_send_topic, validate_topic_name, DLQ_GROUP_TOPIC_PREFIX,
    RETRY_GROUP_TOPIC_PREFIX,
};
use crate::common::clock::now_millis;
use crate::common::trace::trace_step;
use crate::protocol::body::{perm_name, TopicConfig};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    ConsumerSendMsgBackRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use crate::protocol::message::batch::decode_batch;
use crate::protocol::message::compression::decompress;
use crate::protocol::message::properties::{
    message_const, string_to_properties, MessageProperties,
};
use crate::protocol::message::recall_handle::RecallHandle;
use crate::protocol::message::sys_flag;
use crate::protocol::message::MessageExt;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// How long a send that auto-created its topic waits for the name servers to hear of it.
const AUTO_CREATE_REGISTER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Stores what producers send and what consumers give back.
pub(crate) struct SendMessageProcessor {
    broker: Arc<BrokerContext>,
    next_queue: AtomicUsize,
}

fn error(code: i32, remark: String) -> RemotingCommand {
    RemotingCommand::new_response(code, remark)
}

/// True for a transactional half message: TRAN_MSG=true (Java's `Boolean.parseBoolean`) or
/// the prepared transaction type in the system flag.
fn is_transaction_prepared(sys_flag: i32, properties: &MessageProperties) -> bool {
    properties
        .get(message_const::PROPERTY_TRANSACTION_PREPARED)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || sys_flag::transaction_value(sys_flag) == sys_flag::TRANSACTION_PREPARED_TYPE
}

/// `handlePutMessageResult` for a put that stored nothing: the response code Java answers
/// for `status`, so clients tell a bad message (no retry helps) from a broker that cannot
/// write now (another broker may).
fn put_failure(status: PutMessageStatus, detail: &str, max_message_size: usize) -> RemotingCommand {
    match status {
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => error(
            response_code::MESSAGE_ILLEGAL,
            format!(
                "the message is illegal, maybe msg body or properties length not matched. msg \
                 body length limit {max_message_size}B, msg properties length limit 32KB. \
                 ({detail})"
            ),
        ),
        PutMessageStatus::ServiceNotAvailable => error(
            response_code::SERVICE_NOT_AVAILABLE,
            format!("service not available now: {detail}"),
        ),
        _ => error(
            response_code::SYSTEM_ERROR,
            format!("put message failed: {detail}"),
        ),
    }
}

/// The answer to a timer message the put path refused, with Java's code and remark.
pub(super) fn timer_refusal(refusal: TimerRefusal, settings: &TimerSettings) -> RemotingCommand {
    let code = match refusal {
        TimerRefusal::NotEnabled => response_code::SYSTEM_ERROR,
        TimerRefusal::Illegal => response_code::MESSAGE_ILLEGAL,
    };
    error(code, refusal.remark(settings))
}

/// SERVICE_NOT_AVAILABLE with the remark of Java's `handlePutMessageResult` for a full disk.
fn disk_full(disk: &crate::broker::store::DiskState) -> RemotingCommand {
    error(
        response_code::SERVICE_NOT_AVAILABLE,
        format!(
            "service not available now. It may be caused by one of the following reasons: the \
             broker's disk is full [CL: {:5.2} CQ: {:5.2} INDEX: {:5.2}], messages are put to the \
             slave, message store has been shut down, etc.",
            disk.commit_log_ratio, disk.consume_queue_ratio, disk.index_ratio
        ),
    )
}

/// `msgCheck` (`AbstractSendMessageProcessor`), shared by sends and replies: the topic must
/// be one producers may send to and exist (or be auto-created), and the queue id must be
/// valid.
pub(super) fn msg_check(
    broker: &BrokerContext,
    header: &SendMessageRequestHeader,
    remote: &str,
) -> Result<TopicConfig, RemotingCommand> {
    if let Err(remark) = validate_topic_name(&header.topic) {
        return Err(error(response_code::SYSTEM_ERROR, remark));
    }
    if is_not_allowed_send_topic(&header.topic) {
        return Err(error(
            response_code::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", header.topic),
        ));
    }
    let b = broker;
    let topic = match b.topics.select_topic_config(&header.topic) {
        Some(topic) => topic,
        None => {
            let sys_flag = 0;
            let created = if b.setting(|c| c.auto_create_topic)
                || header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
            {
                let default_topic = if header.default_topic.is_empty() {
                    "TBW102"
                } else {
                    header.default_topic.as_str()
                };
                let queue_nums = if header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
                    b.topics
                        .create_topic_if_absent(
                            &header.topic,
                            1,
                            perm_name::PERM_READ | perm_name::PERM_WRITE,
                        )
                        .map(Some)
                } else {
                    b.topics.create_topic_in_send_message_method(
                        &header.topic,
                        default_topic,
                        header.default_topic_queue_nums,
                        sys_flag,
                    )
                };
                queue_nums.map_err(|e| {
                    error(
                        response_code::SYSTEM_ERROR,
                        format!("persisting topic config failed: {e}"),
                    )
                })?
            } else {
                None
            };
            match created {
                Some((topic, is_new)) => {
                    if is_new {
                        log::info!("auto-created topic {} for {remote}", topic.topic_name);
                        // Java registers (oneway) before it answers, so the sender can route
                        // the topic once answered; a slow name server delays only this send.
                        if !b.register_and_wait(AUTO_CREATE_REGISTER_WAIT) {
                            log::warn!(
                                "auto-created topic {}: the name servers were not told within {:?}",
                                topic.topic_name,
                                AUTO_CREATE_REGISTER_WAIT
                            );
                        }
                    }
                    topic
                }
                None => {
                    return Err(error(
                        response_code::TOPIC_NOT_EXIST,
                        format!(
                            "topic[{}] not exist, apply first please!{}",
                            header.topic,
                            suggest_todo("http://rocketmq.apache.org/docs/faq/")
                        ),
                    ))
                }
            }
        }
    };
    if topic.perm & perm_name::PERM_WRITE == 0 {
        return Err(error(
            response_code::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", header.topic),
        ));
    }
    let max_queue = topic.write_queue_nums.max(topic.read_queue_nums);
    if header.queue_id >= max_queue {
        return Err(error(
            response_code::SYSTEM_ERROR,
            format!(
                "request queueId[{}] is illegal, {:?} Producer: {remote}",
                header.queue_id, topic.topic_name
            ),
        ));
    }
    Ok(topic)
}

impl SendMessageProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        SendMessageProcessor {
            broker,
            next_queue: AtomicUsize::new(0),
        }
    }

    /// Java picks a random queue for queueId < 0; round robin spreads as well without a RNG.
    fn any_queue(&self, write_queue_nums: i32) -> i32 {
        (self.next_queue.fetch_add(1, Ordering::Relaxed) % write_queue_nums.max(1) as usize) as i32
    }

    /// `msgCheck`: the topic must exist (or be auto-created) and the queue id must be valid.
    fn check(
        &self,
        header: &SendMessageRequestHeader,
        remote: &str,
    ) -> Result<TopicConfig, RemotingCommand> {
        msg_check(&self.broker, header, remote)
    }

    /// The message to store: the request's fields, into `target` (topic, queue).
    fn message_from(
        &self,
        header: &SendMessageRequestHeader,
        (topic, queue_id): (&str, i32),
        flag: i32,
        body: Vec<u8>,
        mut properties: MessageProperties,
        born_host: SocketAddr,
    ) -> MessageExt {
        properties.insert(
            message_const::PROPERTY_CLUSTER,
            self.broker.config.cluster_name.clone(),
        );
        // Stored with every message, as Java 5's `buildMsgContext` does: consumers' trace
        // hooks read them (Java's drops its record when MSG_REGION is missing).
        properties.insert(
            message_const::PROPERTY_MSG_REGION,
            self.broker.config.region_id.clone(),
        );
        properties.insert(
            message_const::PROPERTY_TRACE_SWITCH,
            self.broker.config.trace_on.to_string(),
        );
        MessageExt {
            topic: topic.to_string(),
            flag,
            body: body.into(),
            properties,
            queue_id,
            sys_flag: header.sys_flag,
            born_timestamp: header.born_timestamp,
            born_host,
            store_host: self.broker.store_host,
            reconsume_times: header.reconsume_times.unwrap_or(0),
            ..MessageExt::default()
        }
    }

    /// Creates a group's retry or dead-letter topic (one queue, read and write) if absent,
    /// as `createTopicInSendMessageBackMethod` does.
    fn group_topic(&self, name: &str) -> Result<TopicConfig, RemotingCommand> {
        // The group comes from the request: a bad name must not become a topic.
        if let Err(remark) = validate_topic_name(name) {
            return Err(error(response_code::SYSTEM_ERROR, remark));
        }
        let b = &self.broker;
        match b
            .topics
            .create_topic_if_absent(name, 1, perm_name::PERM_READ | perm_name::PERM_WRITE)
        {
            Ok((topic, created)) => {
                if created {
                    b.request_registration();
                }
                Ok(topic)
            }
            Err(e) => Err(error(
                response_code::SYSTEM_ERROR,
                format!("topic[{name}] not exist: persisting its config failed: {e}"),
            )),
        }
    }

    /// `handleRetryAndDLQ`: a message sent to a retry topic that has been consumed too often
    /// goes to the group's dead-letter topic, queue 0, instead of being retried forever.
    /// Returns the topic and queue to store into.
    fn retry_or_dead_letter(
        &self,
        header: &SendMessageRequestHeader,
        batch: bool,
        queue_id: i32,
    ) -> Result<(String, i32), RemotingCommand> {
        let Some(group) = header.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
            return Ok((header.topic.clone(), queue_id));
        };
        if batch {
            // Java's sendBatchMessage: reconsume counts are per message, a batch has one header.
            return Err(error(
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "batch request does not support retry group {}",
                    header.topic
                ),
            ));
        }
        let max_reconsume = header
            .max_reconsume_times
            .unwrap_or_else(|| self.broker.groups.retry_max_times(group));
        if header.reconsume_times.unwrap_or(0) < max_reconsume {
            return Ok((header.topic.clone(), queue_id));
        }
        let dlq = format!("{DLQ_GROUP_TOPIC_PREFIX}{group}");
        self.group_topic(&dlq)?;
        log::info!(
            "a message of {} reached {max_reconsume} reconsumes; storing it in {dlq}",
            header.topic
        );
        Ok((dlq, 0))
    }

    fn send(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let header = match request.code {
            request_code::SEND_MESSAGE_V2 | request_code::SEND_BATCH_MESSAGE => {
                SendMessageRequestHeader::from(SendMessageRequestHeaderV2::read_from(
                    &request.ext_fields,
                )?)
            }
            _ => SendMessageRequestHeader::read_from(&request.ext_fields)?,
        };
        // The C++ client sends batches as code 10 with batch=1.
        let batch = request.code == request_code::SEND_BATCH_MESSAGE || header.batch;
        let topic = match self.check(&header, ctx.remote_addr()) {
            Ok(topic) => topic,
            Err(response) => return Ok(response),
        };
        let body_len = request.body.len();
        if body_len > self.broker.config.max_message_size {
            return Ok(error(
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "message body size {body_len} exceeds the maximum {}",
                    self.broker.config.max_message_size
                ),
            ));
        }
        let properties = string_to_properties(header.properties.as_deref().unwrap_or(""));
        let prepared = is_transaction_prepared(header.sys_flag, &properties);
        if prepared && self.broker.setting(|c| c.reject_transaction_message) {
            return Ok(self.reject_transaction());
        }
        let queue_id = if header.queue_id < 0 {
            self.any_queue(topic.write_queue_nums)
        } else {
            header.queue_id
        };
        let (topic_name, queue_id) = match self.retry_or_dead_letter(&header, batch, queue_id) {
            Ok(target) => target,
            Err(response) => return Ok(response),
        };
        let born_host: SocketAddr = ctx
            .remote_addr()
            .parse()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
        trace_step!(
            "broker",
            "{} of {} to {topic_name} queue {queue_id}: {body_len} bytes{}",
            if batch { "batch" } else { "message" },
            header.producer_group,
            if prepared {
                ", a transaction's half"
            } else {
                ""
            }
        );
        let mut recall_handle = None;
        let results = if batch {
            // The C++ client of PyPI rocketmq 0.4.4 zlib-compresses a whole batch body of 4 KiB
            // or more and sets COMPRESSED_FLAG; the messages inside are plain.
            let compressed = header.sys_flag & sys_flag::COMPRESSED_FLAG != 0;
            let body = if compressed {
                match decompress(&request.body, self.broker.config.max_message_size) {
                    Ok(body) => body,
                    Err(e) => {
                        return Ok(error(
                            response_code::MESSAGE_ILLEGAL,
                            format!("bad compressed batch body: {e}"),
                        ))
                    }
                }
            } else {
                request.body.into_vec()
            };
            let messages = match decode_batch(&body) {
                Ok(messages) if !messages.is_empty() => messages,
                Ok(_) => {
                    return Ok(error(
                        response_code::MESSAGE_ILLEGAL,
                        "the batch is empty".into(),
                    ))
                }
                Err(e) => {
                    return Ok(error(
                        response_code::MESSAGE_ILLEGAL,
                        format!("bad batch body: {e}"),
                    ))
                }
            };
            // CommitLog.putMessages refuses transaction types in a batch.
            if prepared
                || messages
                    .iter()
                    .any(|m| is_transaction_prepared(0, &m.properties))
            {
                return Ok(error(
                    response_code::MESSAGE_ILLEGAL,
                    "a batch cannot carry transactional half messages".into(),
                ));
            }
            let inner: Vec<MessageExt> = messages
                .into_iter()
                .map(|m| {
                    let mut inner = self.message_from(
                        &header,
                        (&topic_name, queue_id),
                        m.flag,
                        m.body,
                        m.properties,
                        born_host,
                    );
                    inner.sys_flag = sys_flag::clear_compressed_flag(inner.sys_flag);
                    inner
                })
                .collect();
            self.broker.store.put_messages(inner)
        } else {
            let mut message = self.message_from(
                &header,
                (&topic_name, queue_id),
                header.flag,
                request.body.into_vec(),
                properties,
                born_host,
            );
            if topic_name.starts_with(DLQ_GROUP_TOPIC_PREFIX) {
                // Java's handleRetryAndDLQ: a dead letter is stored at once.
                message
                    .properties
                    .remove(message_const::PROPERTY_DELAY_TIME_LEVEL);
            }
            if prepared {
                self.broker
                    .transactions
                    .prepare(&self.broker.topics, message)
                    .map(|r| vec![r])
            } else {
                let timer = self.broker.timer.settings();
                if let Err(refusal) = transform_timer_message(&mut message, timer, now_millis()) {
                    return Ok(timer_refusal(refusal, timer));
                }
                schedule_if_delayed(&mut message, self.broker.schedule.levels());
                recall_handle = self.recall_handle_of(&message);
                self.broker.store.put_message(message).map(|r| vec![r])
            }
        };
        let results = match results {
            Ok(results) => results,
            Err(e) => return Ok(self.store_failure(&e)),
        };
        let mut response = self.send_response(queue_id, &results);
        if let (Some(handle), response_code::SUCCESS) = (recall_handle, response.code) {
            response.ext_fields.insert("recallHandle", handle);
        }
        Ok(response)
    }

    /// `attachRecallHandle`: a timer message (not one for a retry topic) can be recalled
    /// until it is due, with a handle naming its slot (`TIMER_OUT_MS` + 1).
    fn recall_handle_of(&self, message: &MessageExt) -> Option<String> {
        let out_ms: i64 = message
            .property(message_const::PROPERTY_TIMER_OUT_MS)?
            .parse()
            .ok()?;
        let real_topic = message.property(message_const::PROPERTY_REAL_TOPIC)?;
        if real_topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return None;
        }
        Some(RecallHandle::build(
            real_topic,
            &self.broker.config.broker_name,
            &(out_ms + 1).to_string(),
            message.uniq_key().unwrap_or(""),
        ))
    }

    /// NO_PERMISSION for a transactional half message, with Java's remark.
    fn reject_transaction(&self) -> RemotingCommand {
        error(
            response_code::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden",
                self.broker.broker_addr
            ),
        )
    }

    /// The response to a put the store refused; a full disk gets Java's remark with the
    /// disk ratios measured now (`diskUtil`).
    fn store_failure(&self, e: &StoreError) -> RemotingCommand {
        if let StoreError::DiskFull { .. } = e {
            return disk_full(&self.broker.store.check_disk());
        }
        put_failure(
            e.put_status(),
            &e.to_string(),
            self.broker.config.max_message_size,
        )
    }

    /// `BrokerFastFailure.cleanExpiredRequestInQueue` for one send: SYSTEM_BUSY when it waited
    /// in the send queue longer than `waitTimeMillsInSendQueue`, so that the producer tries
    /// another broker instead of waiting for this one.
    fn expired_in_queue(&self, ctx: &RequestContext) -> Option<RemotingCommand> {
        let waited = ctx.waited_in_queue();
        if waited <= self.broker.setting(|c| c.wait_time_in_send_queue) {
            return None;
        }
        let queued = self
            .broker
            .server
            .get()
            .and_then(std::sync::Weak::upgrade)
            .and_then(|s| s.processor_queue(request_code::SEND_MESSAGE_V2))
            .map_or(0, |(len, _)| len);
        Some(error(
            response_code::SYSTEM_BUSY,
            format!(
                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in \
                 queue: {}ms, size of queue: {queued}",
                waited.as_millis()
            ),
        ))
    }

    /// `handlePutMessageResult`: the store's outcome as a send response (vector 022's fields).
    fn send_response(&self, queue_id: i32, results: &[PutMessageResult]) -> RemotingCommand {
        let Some(first) = results.first() else {
            return error(response_code::SYSTEM_ERROR, "nothing was stored".into());
        };
        // The first four are stored (Java's sendOK); the rest stored nothing.
        let code = match first.status {
            PutMessageStatus::PutOk => response_code::SUCCESS,
            PutMessageStatus::FlushDiskTimeout => response_code::FLUSH_DISK_TIMEOUT,
            PutMessageStatus::FlushSlaveTimeout => response_code::FLUSH_SLAVE_TIMEOUT,
            PutMessageStatus::SlaveNotAvailable => response_code::SLAVE_NOT_AVAILABLE,
            other => {
                return put_failure(
                    other,
                    &format!("{other:?}"),
                    self.broker.config.max_message_size,
                )
            }
        };
        let msg_id = results
            .iter()
            .map(|r| r.msg_id.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut response = RemotingCommand::new_response(code, None);
        SendMessageResponseHeader {
            msg_id,
            queue_id,
            queue_offset: first.queue_offset,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: Some(self.broker.config.region_id.clone()),
            trace_on: Some(self.broker.config.trace_on),
        }
        .write_to(&mut response.ext_fields);
        response
    }

    /// `consumerSendMsgBack`: a message a consumer failed to process goes to the group's retry
    /// topic after the delay of its retry level (or, after too many attempts, its dead-letter
    /// topic at once).
    fn consumer_send_msg_back(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let header = ConsumerSendMsgBackRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        let Some(original) = b.store.look_message_by_offset(header.offset) else {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                format!("look message by offset failed, {}", header.offset),
            ));
        };
        let max_reconsume = header
            .max_reconsume_times
            .unwrap_or_else(|| self.broker.groups.retry_max_times(&header.group));
        let to_dlq = original.reconsume_times >= max_reconsume || header.delay_level < 0;
        let topic_name = if to_dlq {
            format!("{DLQ_GROUP_TOPIC_PREFIX}{}", header.group)
        } else {
            format!("{RETRY_GROUP_TOPIC_PREFIX}{}", header.group)
        };
        let topic = match self.group_topic(&topic_name) {
            Ok(topic) => topic,
            Err(response) => return Ok(response),
        };
        let mut properties = original.properties.clone();
        if properties
            .get(message_const::PROPERTY_RETRY_TOPIC)
            .is_none()
        {
            properties.insert(message_const::PROPERTY_RETRY_TOPIC, original.topic.clone());
        }
        let origin_id = header
            .origin_msg_id
            .clone()
            .unwrap_or_else(|| original.client_msg_id().to_string());
        properties.insert(message_const::PROPERTY_ORIGIN_MESSAGE_ID, origin_id);
        properties.insert(
            message_const::PROPERTY_CLUSTER,
            b.config.cluster_name.clone(),
        );
        // Redelivery after the delay of its level: the consumer's choice, else 3 + the
        // redeliveries so far (10 s, 30 s, 1 m, ... with the default levels).
        if to_dlq {
            properties.remove(message_const::PROPERTY_DELAY_TIME_LEVEL);
        } else {
            let level = if header.delay_level == 0 {
                3 + original.reconsume_times
            } else {
                header.delay_level
            };
            properties.insert(message_const::PROPERTY_DELAY_TIME_LEVEL, level.to_string());
        }
        let mut message = MessageExt {
            topic: topic.topic_name.clone(),
            flag: original.flag,
            body: original.body.clone(),
            properties,
            queue_id: self.any_queue(topic.write_queue_nums),
            sys_flag: original.sys_flag,
            born_timestamp: original.born_timestamp,
            born_host: ctx.remote_addr().parse().unwrap_or(original.born_host),
            store_host: b.store_host,
            reconsume_times: original.reconsume_times + 1,
            ..MessageExt::default()
        };
        schedule_if_delayed(&mut message, b.schedule.levels());
        match b.store.put_message(message) {
            Ok(result) if result.status == PutMessageStatus::PutOk => {
                Ok(RemotingCommand::success())
            }
            Ok(result) => Ok(put_failure(
                result.status,
                &format!("{:?}", result.status),
                b.config.max_message_size,
            )),
            Err(e) => Ok(self.store_failure(&e)),
        }
    }
}

impl RequestProcessor for SendMessageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        if let Some(busy) = self.expired_in_queue(ctx) {
            return Ok(Some(busy));
        }
        let response = match request.code {
            request_code::CONSUMER_SEND_MSG_BACK => self.consumer_send_msg_back(ctx, &request)?,
            _ => self.send(ctx, request)?,
        };
        Ok(Some(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_answer_javas_response_codes() {
        let code = |e: StoreError| put_failure(e.put_status(), &e.to_string(), 4 << 20).code;
        assert_eq!(
            code(StoreError::MessageIllegal {
                reason: "bad".into()
            }),
            response_code::MESSAGE_ILLEGAL
        );
        assert_eq!(
            code(StoreError::PropertiesSizeExceeded {
                size: 40_000,
                max: 32_767
            }),
            response_code::MESSAGE_ILLEGAL
        );
        assert_eq!(
            code(StoreError::MessageTooLarge {
                size: 5 << 20,
                max: 4 << 20
            }),
            response_code::MESSAGE_ILLEGAL
        );
        assert_eq!(
            code(StoreError::Shutdown),
            response_code::SERVICE_NOT_AVAILABLE
        );
        assert_eq!(
            code(StoreError::NotWritable {
                reason: "fsync failed".into()
            }),
            response_code::SERVICE_NOT_AVAILABLE
        );
        assert_eq!(
            code(StoreError::io(
                "append",
                &std::io::Error::from(std::io::ErrorKind::Other)
            )),
            response_code::SYSTEM_ERROR
        );
    }

    #[test]
    fn half_messages_are_recognised_by_property_or_flag() {
        let mut properties = MessageProperties::default();
        assert!(!is_transaction_prepared(0, &properties));
        assert!(is_transaction_prepared(
            sys_flag::TRANSACTION_PREPARED_TYPE,
            &properties
        ));
        assert!(!is_transaction_prepared(
            sys_flag::TRANSACTION_COMMIT_TYPE,
            &properties
        ));
        properties.insert(message_const::PROPERTY_TRANSACTION_PREPARED, "True");
        assert!(is_transaction_prepared(0, &properties));
        properties.insert(message_const::PROPERTY_TRANSACTION_PREPARED, "false");
        assert!(!is_transaction_prepared(0, &properties));
    }
}
