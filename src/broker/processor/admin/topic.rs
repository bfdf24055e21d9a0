//! Topic administration: GET_ALL_TOPIC_CONFIG (21), GET_TOPIC_STATS_INFO (202),
//! DELETE_TOPIC_IN_BROKER (215), QUERY_TOPIC_CONSUME_BY_WHO (300); mirrors those handlers of
//! Java's `AdminBrokerProcessor`.

use std::collections::BTreeSet;

use super::{error, AdminBrokerProcessor};
use crate::broker::topic_config_manager::{is_system_topic, validate_topic_name};
use crate::protocol::body::{GroupList, TopicOffset, TopicStatsTable};
use crate::protocol::codes::response_code;
use crate::protocol::header::{
    DeleteTopicRequestHeader, GetTopicConfigRequestHeader, GetTopicStatsInfoRequestHeader,
    QueryTopicConsumeByWhoRequestHeader,
};
use crate::protocol::message::MessageQueue;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::ProcessorError;

impl AdminBrokerProcessor {
    /// GET_ALL_TOPIC_CONFIG: every topic config with the version (`TopicConfigSerializeWrapper`).
    pub(super) fn get_all_topic_config(&self) -> RemotingCommand {
        let wrapper = self.broker.topics.serialize_wrapper();
        RemotingCommand::success().with_body(wrapper.to_json().into_bytes())
    }

    /// GET_TOPIC_CONFIG (5.x): one topic's config, which 5.x's `mqadmin` asks each broker of
    /// a route for before topic statistics and consumer progress; no static-queue mapping.
    pub(super) fn get_topic_config(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = GetTopicConfigRequestHeader::read_from(&request.ext_fields)?;
        let Some(topic) = self.broker.topics.select_topic_config(&h.topic) else {
            return Ok(error(
                response_code::TOPIC_NOT_EXIST,
                format!("No topic in this broker. topic: {}", h.topic),
            ));
        };
        Ok(RemotingCommand::success().with_body(topic.to_json().into_bytes()))
    }

    /// GET_TOPIC_STATS_INFO: min and max offset and last store time of each write queue.
    pub(super) fn get_topic_stats_info(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = GetTopicStatsInfoRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        let Some(topic) = b.topics.select_topic_config(&h.topic) else {
            return Ok(error(
                response_code::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist", h.topic),
            ));
        };
        let mut stats = TopicStatsTable::default();
        for queue_id in 0..topic.write_queue_nums {
            let min_offset = b.store.min_offset_in_queue(&h.topic, queue_id).max(0);
            let max_offset = b.store.max_offset_in_queue(&h.topic, queue_id).max(0);
            let last_update_timestamp = if max_offset > 0 {
                b.store
                    .store_timestamp_at(&h.topic, queue_id, max_offset - 1)
                    .unwrap_or(-1)
            } else {
                0
            };
            stats.offset_table.insert(
                MessageQueue::new(&h.topic, &b.config.broker_name, queue_id),
                TopicOffset {
                    min_offset,
                    max_offset,
                    last_update_timestamp,
                },
            );
        }
        Ok(RemotingCommand::success().with_body(stats.to_json().into_bytes()))
    }

    /// DELETE_TOPIC_IN_BROKER: forgets the topic's config and its consume queues (offsets
    /// and the commit log's records stay, as in Java 4.9.8). The name servers hear of it from
    /// DELETE_TOPIC_IN_NAMESRV, which the admin tool sends next.
    pub(super) fn delete_topic(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = DeleteTopicRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        if let Err(remark) = validate_topic_name(&h.topic) {
            return Ok(error(response_code::SYSTEM_ERROR, remark));
        }
        if is_system_topic(&h.topic, &b.config.cluster_name, &b.config.broker_name) {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                format!("The topic[{}] is conflict with system topic.", h.topic),
            ));
        }
        match b.topics.delete_topic_config(&h.topic) {
            Ok(true) => log::info!("topic {} deleted", h.topic),
            Ok(false) => log::warn!("delete topic {}: no such topic config", h.topic),
            Err(e) => {
                return Ok(error(
                    response_code::SYSTEM_ERROR,
                    format!("persisting topic config failed: {e}"),
                ))
            }
        }
        if let Err(e) = b.store.delete_topic(&h.topic) {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                format!("deleting the queues of {} failed: {e}", h.topic),
            ));
        }
        Ok(RemotingCommand::success())
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO: online groups subscribing to the topic, and groups with
    /// offsets in it.
    pub(super) fn query_topic_consume_by_who(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = QueryTopicConsumeByWhoRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        let mut groups: BTreeSet<String> = b
            .clients
            .consumer_groups_of_topic(&h.topic)
            .into_iter()
            .collect();
        groups.extend(b.offsets.groups_of_topic(&h.topic));
        let body = GroupList {
            group_list: groups.into_iter().collect(),
        };
        Ok(RemotingCommand::success().with_body(body.to_json().into_bytes()))
    }
}
