//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
//! CONSUMER_SEND_MSG_BACK (36); mirrors Java's `SendMessageProcessor`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{suggest_todo, BrokerContext};
use crate::broker::store::{PutMessageResult, PutMessageStatus};
use crate::broker::topic_config_manager::{
    validate_topic_name, DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX,
};
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
use crate::protocol::message::sys_flag;
use crate::protocol::message::MessageExt;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Java's `MixAll.DEFAULT_MAX_RECONSUME_TIMES`.
const DEFAULT_MAX_RECONSUME_TIMES: i32 = 16;

/// Stores what producers send and what consumers give back.
pub struct SendMessageProcessor {
    broker: Arc<BrokerContext>,
    next_queue: AtomicUsize,
}

fn error(code: i32, remark: String) -> RemotingCommand {
    RemotingCommand::new_response(code, remark)
}

impl SendMessageProcessor {
    /// A processor over the broker's shared state.
    pub fn new(broker: Arc<BrokerContext>) -> Self {
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
        if let Err(remark) = validate_topic_name(&header.topic) {
            return Err(error(response_code::SYSTEM_ERROR, remark));
        }
        let b = &self.broker;
        let topic = match b.topics.select_topic_config(&header.topic) {
            Some(topic) => topic,
            None => {
                let sys_flag = 0;
                let created = if b.config.auto_create_topic
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
                            b.request_registration();
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

    fn message_from(
        &self,
        header: &SendMessageRequestHeader,
        queue_id: i32,
        flag: i32,
        body: Vec<u8>,
        mut properties: MessageProperties,
        born_host: SocketAddr,
    ) -> MessageExt {
        properties.insert(
            message_const::PROPERTY_CLUSTER,
            self.broker.config.cluster_name.clone(),
        );
        MessageExt {
            topic: header.topic.clone(),
            flag,
            body,
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
        let queue_id = if header.queue_id < 0 {
            self.any_queue(topic.write_queue_nums)
        } else {
            header.queue_id
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
        let born_host: SocketAddr = ctx
            .remote_addr()
            .parse()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
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
                request.body
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
            let inner: Vec<MessageExt> = messages
                .into_iter()
                .map(|m| {
                    let mut inner = self.message_from(
                        &header,
                        queue_id,
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
            let properties = string_to_properties(header.properties.as_deref().unwrap_or(""));
            let message = self.message_from(
                &header,
                queue_id,
                header.flag,
                request.body,
                properties,
                born_host,
            );
            self.broker.store.put_message(message).map(|r| vec![r])
        };
        let results = match results {
            Ok(results) => results,
            Err(e) => {
                return Ok(error(
                    response_code::SYSTEM_ERROR,
                    format!("storing the message failed: {e}"),
                ))
            }
        };
        Ok(self.send_response(queue_id, &results))
    }

    /// `handlePutMessageResult`: the store's outcome as a send response (vector 022's fields).
    fn send_response(&self, queue_id: i32, results: &[PutMessageResult]) -> RemotingCommand {
        let Some(first) = results.first() else {
            return error(response_code::SYSTEM_ERROR, "nothing was stored".into());
        };
        let code = match first.status {
            PutMessageStatus::PutOk => response_code::SUCCESS,
            PutMessageStatus::FlushDiskTimeout => response_code::FLUSH_DISK_TIMEOUT,
            ref other => {
                return error(
                    response_code::SYSTEM_ERROR,
                    format!("put message failed: {other:?}"),
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
    /// topic (or, after too many attempts, its dead-letter topic). Delay levels are not
    /// implemented: retried messages are deliverable at once.
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
            .unwrap_or(DEFAULT_MAX_RECONSUME_TIMES);
        let to_dlq = original.reconsume_times >= max_reconsume || header.delay_level < 0;
        let topic_name = if to_dlq {
            format!("{DLQ_GROUP_TOPIC_PREFIX}{}", header.group)
        } else {
            format!("{RETRY_GROUP_TOPIC_PREFIX}{}", header.group)
        };
        let (topic, created) = b
            .topics
            .create_topic_if_absent(&topic_name, 1, perm_name::PERM_READ | perm_name::PERM_WRITE)
            .map_err(|e| format!("persisting topic config failed: {e}"))?;
        if created {
            b.request_registration();
        }
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
        let message = MessageExt {
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
        match b.store.put_message(message) {
            Ok(result) if result.status == PutMessageStatus::PutOk => {
                Ok(RemotingCommand::success())
            }
            Ok(result) => Ok(error(
                response_code::SYSTEM_ERROR,
                format!("put message failed: {:?}", result.status),
            )),
            Err(e) => Ok(error(
                response_code::SYSTEM_ERROR,
                format!("storing the message failed: {e}"),
            )),
        }
    }
}

impl RequestProcessor for SendMessageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::CONSUMER_SEND_MSG_BACK => self.consumer_send_msg_back(ctx, &request)?,
            _ => self.send(ctx, request)?,
        };
        Ok(Some(response))
    }
}
