//! Consumer and producer groups: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207),
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204) and
//! GET_CONSUME_STATS (208), and 5.x's GET_SUBSCRIPTIONGROUP_CONFIG (352); mirrors those handlers of Java's `AdminBrokerProcessor`.

use std::collections::BTreeSet;

use super::{error, AdminBrokerProcessor};
use crate::broker::client_manager::ClientChannelInfo;
use crate::protocol::body::{
    Connection, ConsumeStats, ConsumerConnection, OffsetWrapper, ProducerConnection,
    SubscriptionGroupConfig,
};
use crate::protocol::codes::response_code;
use crate::protocol::header::{
    DeleteSubscriptionGroupRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
    GetSubscriptionGroupConfigRequestHeader,
};
use crate::protocol::message::MessageQueue;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::ProcessorError;

fn connection_of(member: &ClientChannelInfo) -> Connection {
    Connection {
        client_id: member.client_id.clone(),
        client_addr: member.connection.remote_addr().to_string(),
        language: member.language.name().to_string(),
        version: member.version,
    }
}

impl AdminBrokerProcessor {
    /// GET_SUBSCRIPTIONGROUP_CONFIG (5.x): one group's config (`findSubscriptionGroupConfig`,
    /// which creates it with the defaults, as the broker's auto-creation is on).
    pub(super) fn get_subscription_group(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = GetSubscriptionGroupConfigRequestHeader::read_from(&request.ext_fields)?;
        Ok(match self.broker.groups.find_or_create(&h.group, true) {
            Ok(Some(config)) => RemotingCommand::success().with_body(config.to_json().into_bytes()),
            Ok(None) => error(
                response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                "No group in this broker",
            ),
            Err(e) => error(
                response_code::SYSTEM_ERROR,
                format!("persisting the subscription group failed: {e}"),
            ),
        })
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: the body's config replaces the group's.
    pub(super) fn update_subscription_group(&self, request: &RemotingCommand) -> RemotingCommand {
        let config = match SubscriptionGroupConfig::from_json(&request.body) {
            Ok(config) => config,
            Err(e) => return error(response_code::SYSTEM_ERROR, format!("bad body: {e}")),
        };
        log::info!("subscription group {} updated", config.group_name);
        match self.broker.groups.update(config) {
            Ok(()) => RemotingCommand::success(),
            Err(e) => error(
                response_code::SYSTEM_ERROR,
                format!("persisting the subscription groups failed: {e}"),
            ),
        }
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG: every group config with the version.
    pub(super) fn get_all_subscription_groups(&self) -> RemotingCommand {
        let wrapper = self.broker.groups.wrapper();
        RemotingCommand::success().with_body(wrapper.to_json().into_bytes())
    }

    /// DELETE_SUBSCRIPTIONGROUP: forgets the group's config, and its offsets when asked.
    pub(super) fn delete_subscription_group(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = DeleteSubscriptionGroupRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        match b.groups.delete(&h.group_name) {
            Ok(true) => log::info!("subscription group {} deleted", h.group_name),
            Ok(false) => log::warn!("delete subscription group {}: none", h.group_name),
            Err(e) => {
                return Ok(error(
                    response_code::SYSTEM_ERROR,
                    format!("persisting the subscription groups failed: {e}"),
                ))
            }
        }
        // 4.x clients ask with `removeOffset`, 5.x ones with `cleanOffset`.
        if h.remove_offset || h.clean_offset {
            // The pop offsets first: the checkpoint log would restore them at the next start.
            if let Err(e) = self.pop.checkpoints.forget_offsets(&h.group_name) {
                return Ok(error(
                    response_code::SYSTEM_ERROR,
                    format!("forgetting the pop offsets of {} failed: {e}", h.group_name),
                ));
            }
            b.offsets.remove_group(&h.group_name);
        }
        Ok(RemotingCommand::success())
    }

    /// GET_CONSUMER_CONNECTION_LIST: the group's members, how they consume, what they
    /// subscribe to.
    pub(super) fn get_consumer_connection_list(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = GetConsumerConnectionListRequestHeader::read_from(&request.ext_fields)?;
        let Some(info) = self.broker.clients.consumer_group(&h.consumer_group) else {
            return Ok(error(
                response_code::CONSUMER_NOT_ONLINE,
                format!("the consumer group[{}] not online", h.consumer_group),
            ));
        };
        let mut connections: Vec<Connection> = info.channels.values().map(connection_of).collect();
        connections.sort();
        let body = ConsumerConnection {
            connection_set: connections,
            subscription_table: info.subscriptions.clone(),
            consume_type: info.consume_type.map(|t| t.name().to_string()),
            message_model: info.message_model.map(|m| m.name().to_string()),
            consume_from_where: info.consume_from_where.map(|c| c.name().to_string()),
        };
        Ok(RemotingCommand::success().with_body(body.to_json().into_bytes()))
    }

    /// GET_PRODUCER_CONNECTION_LIST: the group's members.
    pub(super) fn get_producer_connection_list(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = GetProducerConnectionListRequestHeader::read_from(&request.ext_fields)?;
        let Some(members) = self.broker.clients.producer_group(&h.producer_group) else {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                format!("the producer group[{}] not exist", h.producer_group),
            ));
        };
        let mut connections: Vec<Connection> = members.iter().map(connection_of).collect();
        connections.sort();
        let body = ProducerConnection {
            connection_set: connections,
        };
        Ok(RemotingCommand::success().with_body(body.to_json().into_bytes()))
    }

    /// GET_CONSUME_STATS: for each read queue of the topic (or of every topic the group has
    /// offsets for), the queue's max offset, the group's offset and the store time of the last
    /// message consumed; and the group's pull rate over the last minute.
    pub(super) fn get_consume_stats(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = GetConsumeStatsRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        let group = &h.consumer_group;
        let topics: BTreeSet<String> = match h.topic.as_deref().filter(|t| !t.is_empty()) {
            Some(topic) => BTreeSet::from([topic.to_string()]),
            None => b.offsets.topics_of_group(group).into_iter().collect(),
        };
        let online = b.clients.consumer_group(group);
        let mut stats = ConsumeStats::default();
        for topic in topics {
            let Some(config) = b.topics.select_topic_config(&topic) else {
                continue;
            };
            // An online group that no longer subscribes to the topic is not reported on it.
            if let Some(info) = &online {
                if !info.subscriptions.is_empty() && !info.subscriptions.contains_key(&topic) {
                    continue;
                }
            }
            for queue_id in 0..config.read_queue_nums {
                let broker_offset = b.store.max_offset_in_queue(&topic, queue_id).max(0);
                let consumer_offset = b
                    .offsets
                    .query_offset(group, &topic, queue_id)
                    .unwrap_or(0)
                    .max(0);
                let last_timestamp = if consumer_offset > 0 {
                    b.store
                        .store_timestamp_at(&topic, queue_id, consumer_offset - 1)
                        .filter(|t| *t > 0)
                        .unwrap_or(0)
                } else {
                    0
                };
                stats.offset_table.insert(
                    MessageQueue::new(&topic, &b.config.broker_name, queue_id),
                    OffsetWrapper {
                        broker_offset,
                        consumer_offset,
                        last_timestamp,
                    },
                );
            }
            stats.consume_tps += b.stats.tps_group_get_nums(group, &topic);
        }
        Ok(RemotingCommand::success().with_body(stats.to_json().into_bytes()))
    }
}
