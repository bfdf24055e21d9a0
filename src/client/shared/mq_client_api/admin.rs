//! The admin RPCs (`MQClientAPIImpl`'s admin half, as `MQAdminImpl` and
//! `DefaultMQAdminExt` use it): topics, groups, message queries, statistics, connections.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{expect_body, MqClientApi};
use crate::client::shared::error::ClientError;
use crate::protocol::body::{
    ClusterInfo, ConsumeStats, ConsumerConnection, GetConsumerStatusBody, GroupList, KvTable,
    ProducerConnection, ResetOffsetBody, SetMessageRequestModeRequestBody, SubscriptionGroupConfig,
    SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper, TopicList, TopicStatsTable,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, DeleteTopicRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetConsumerStatusRequestHeader,
    GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetProducerConnectionListRequestHeader, GetTopicStatsInfoRequestHeader,
    GetTopicsByClusterRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
    QueryTopicConsumeByWhoRequestHeader, ResetOffsetRequestHeader, ViewMessageRequestHeader,
    UNIQUE_MSG_QUERY_FLAG,
};
use crate::protocol::message::{decode_message, decode_messages, MessageExt, MessageQueue};
use crate::protocol::BodyError;

/// Parses `key=value` lines (`MixAll.string2Properties`, for the properties this broker and
/// Java's write: no escapes, no continuation lines).
pub(crate) fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let split = l.find(['=', ':'])?;
            Some((
                l[..split].trim().to_string(),
                l[split + 1..].trim().to_string(),
            ))
        })
        .collect()
}

impl MqClientApi {
    /// UPDATE_AND_CREATE_TOPIC (`createTopic`).
    pub(crate) fn create_topic(
        &self,
        addr: &str,
        default_topic: &str,
        config: &TopicConfig,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: default_topic.to_string(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: config.topic_filter_type.name().to_string(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: None,
            force: None,
        };
        let request = self.request(request_code::UPDATE_AND_CREATE_TOPIC, &header);
        self.invoke_success(addr, request, timeout)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (`createSubscriptionGroup`).
    pub(crate) fn create_subscription_group(
        &self,
        addr: &str,
        config: &SubscriptionGroupConfig,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let request = self
            .bare_request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(config.to_json().into_bytes());
        self.invoke_success(addr, request, timeout)
    }

    /// SET_MESSAGE_REQUEST_MODE (5.x, `setMessageRequestMode`): whether the group pulls or
    /// pops the topic when its members ask the broker (QUERY_ASSIGNMENT).
    pub(crate) fn set_message_request_mode(
        &self,
        addr: &str,
        body: &SetMessageRequestModeRequestBody,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let request = self
            .bare_request(request_code::SET_MESSAGE_REQUEST_MODE)
            .with_body(body.to_json());
        self.invoke_success(addr, request, timeout)
    }

    /// GET_EARLIEST_MSG_STORETIME (`getEarliestMsgStoretime`).
    pub(crate) fn get_earliest_msg_storetime(
        &self,
        addr: &str,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let header = GetEarliestMsgStoretimeRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
        };
        let request = self.request(request_code::GET_EARLIEST_MSG_STORETIME, &header);
        let answer: GetEarliestMsgStoretimeResponseHeader =
            self.invoke_header(addr, request, timeout)?;
        Ok(answer.timestamp)
    }

    /// VIEW_MESSAGE_BY_ID (`viewMessage`): the record at a commit log offset.
    pub(crate) fn view_message(
        &self,
        addr: &str,
        commit_log_offset: i64,
        timeout: Duration,
    ) -> Result<MessageExt, ClientError> {
        let header = ViewMessageRequestHeader {
            offset: commit_log_offset,
        };
        let request = self.request(request_code::VIEW_MESSAGE_BY_ID, &header);
        self.invoke_body(Some(addr), request, timeout, |body| {
            decode_message(body, true).map(|(m, _)| m)
        })
    }

    /// QUERY_MESSAGE (`queryMessage`): the broker's matches and how fresh its index is;
    /// QUERY_NOT_FOUND is an empty answer.
    pub(crate) fn query_message(
        &self,
        addr: &str,
        header: &QueryMessageRequestHeader,
        unique_key: bool,
        timeout: Duration,
    ) -> Result<(QueryMessageResponseHeader, Vec<MessageExt>), ClientError> {
        let mut request = self.request(request_code::QUERY_MESSAGE, header);
        request.ext_fields.insert(
            UNIQUE_MSG_QUERY_FLAG,
            if unique_key { "true" } else { "false" },
        );
        let response = self.invoke(Some(addr), request, timeout)?;
        let index: QueryMessageResponseHeader = response
            .decode_header()
            .map_err(|e| ClientError::invalid_response(addr, e))?;
        if response.code == response_code::QUERY_NOT_FOUND {
            return Ok((index, Vec::new()));
        }
        let messages = expect_body(&response, addr, |body| decode_messages(body, true))?;
        Ok((index, messages))
    }

    /// GET_CONSUME_STATS (`getConsumeStats`).
    pub(crate) fn get_consume_stats(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
        timeout: Duration,
    ) -> Result<ConsumeStats, ClientError> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.map(str::to_string),
        };
        let request = self.request(request_code::GET_CONSUME_STATS, &header);
        self.invoke_body(Some(addr), request, timeout, ConsumeStats::from_json)
    }

    /// GET_CONSUMER_CONNECTION_LIST (`getConsumerConnectionList`).
    pub(crate) fn get_consumer_connection_list(
        &self,
        addr: &str,
        group: &str,
        timeout: Duration,
    ) -> Result<ConsumerConnection, ClientError> {
        let header = GetConsumerConnectionListRequestHeader {
            consumer_group: group.to_string(),
        };
        let request = self.request(request_code::GET_CONSUMER_CONNECTION_LIST, &header);
        self.invoke_body(Some(addr), request, timeout, ConsumerConnection::from_json)
    }

    /// GET_PRODUCER_CONNECTION_LIST (`getProducerConnectionList`).
    pub(crate) fn get_producer_connection_list(
        &self,
        addr: &str,
        group: &str,
        timeout: Duration,
    ) -> Result<ProducerConnection, ClientError> {
        let header = GetProducerConnectionListRequestHeader {
            producer_group: group.to_string(),
        };
        let request = self.request(request_code::GET_PRODUCER_CONNECTION_LIST, &header);
        self.invoke_body(Some(addr), request, timeout, ProducerConnection::from_json)
    }

    /// GET_TOPIC_STATS_INFO (`getTopicStatsInfo`).
    pub(crate) fn get_topic_stats_info(
        &self,
        addr: &str,
        topic: &str,
        timeout: Duration,
    ) -> Result<TopicStatsTable, ClientError> {
        let header = GetTopicStatsInfoRequestHeader {
            topic: topic.to_string(),
        };
        let request = self.request(request_code::GET_TOPIC_STATS_INFO, &header);
        self.invoke_body(Some(addr), request, timeout, TopicStatsTable::from_json)
    }

    /// GET_BROKER_CLUSTER_INFO from a name server (`getBrokerClusterInfo`).
    pub(crate) fn get_broker_cluster_info(
        &self,
        timeout: Duration,
    ) -> Result<ClusterInfo, ClientError> {
        let request = self.bare_request(request_code::GET_BROKER_CLUSTER_INFO);
        self.invoke_body(None, request, timeout, ClusterInfo::from_json)
    }

    /// GET_BROKER_RUNTIME_INFO (`getBrokerRuntimeInfo`).
    pub(crate) fn get_broker_runtime_info(
        &self,
        addr: &str,
        timeout: Duration,
    ) -> Result<KvTable, ClientError> {
        let request = self.bare_request(request_code::GET_BROKER_RUNTIME_INFO);
        self.invoke_body(Some(addr), request, timeout, KvTable::from_json)
    }

    /// GET_BROKER_CONFIG (`getBrokerConfig`): the settings as `key=value` pairs.
    pub(crate) fn get_broker_config(
        &self,
        addr: &str,
        timeout: Duration,
    ) -> Result<BTreeMap<String, String>, ClientError> {
        let request = self.bare_request(request_code::GET_BROKER_CONFIG);
        self.invoke_body(Some(addr), request, timeout, |body| {
            std::str::from_utf8(body)
                .map(parse_properties)
                .map_err(|e| BodyError::Json(format!("broker config: {e}")))
        })
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (`getTopicListFromNameServer`).
    pub(crate) fn get_topic_list_from_name_server(
        &self,
        timeout: Duration,
    ) -> Result<TopicList, ClientError> {
        let request = self.bare_request(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        self.invoke_body(None, request, timeout, TopicList::from_json)
    }

    /// GET_TOPICS_BY_CLUSTER from a name server (`getTopicsByCluster`).
    pub(crate) fn get_topics_by_cluster(
        &self,
        cluster: &str,
        timeout: Duration,
    ) -> Result<TopicList, ClientError> {
        let header = GetTopicsByClusterRequestHeader {
            cluster: cluster.to_string(),
        };
        let request = self.request(request_code::GET_TOPICS_BY_CLUSTER, &header);
        self.invoke_body(None, request, timeout, TopicList::from_json)
    }

    /// DELETE_TOPIC_IN_BROKER (`deleteTopicInBroker`).
    pub(crate) fn delete_topic_in_broker(
        &self,
        addr: &str,
        topic: &str,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = DeleteTopicRequestHeader {
            topic: topic.to_string(),
        };
        let request = self.request(request_code::DELETE_TOPIC_IN_BROKER, &header);
        self.invoke_success(addr, request, timeout)
    }

    /// DELETE_TOPIC_IN_NAMESRV to one name server (`deleteTopicInNameServer`).
    pub(crate) fn delete_topic_in_name_server(
        &self,
        name_server: &str,
        topic: &str,
        cluster: Option<&str>,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_string(),
            cluster_name: cluster.map(str::to_string),
        };
        let request = self.request(request_code::DELETE_TOPIC_IN_NAMESRV, &header);
        self.invoke_success(name_server, request, timeout)
    }

    /// DELETE_SUBSCRIPTIONGROUP (`deleteSubscriptionGroup`).
    pub(crate) fn delete_subscription_group(
        &self,
        addr: &str,
        group: &str,
        remove_offset: bool,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = DeleteSubscriptionGroupRequestHeader {
            group_name: group.to_string(),
            // Both names: 4.x brokers read `removeOffset`, 5.x brokers `cleanOffset`.
            remove_offset,
            clean_offset: remove_offset,
        };
        let request = self.request(request_code::DELETE_SUBSCRIPTIONGROUP, &header);
        self.invoke_success(addr, request, timeout)
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO (`queryTopicConsumeByWho`).
    pub(crate) fn query_topic_consume_by_who(
        &self,
        addr: &str,
        topic: &str,
        timeout: Duration,
    ) -> Result<GroupList, ClientError> {
        let header = QueryTopicConsumeByWhoRequestHeader {
            topic: topic.to_string(),
        };
        let request = self.request(request_code::QUERY_TOPIC_CONSUME_BY_WHO, &header);
        self.invoke_body(Some(addr), request, timeout, GroupList::from_json)
    }

    /// GET_ALL_TOPIC_CONFIG (`getAllTopicConfig`).
    pub(crate) fn get_all_topic_config(
        &self,
        addr: &str,
        timeout: Duration,
    ) -> Result<TopicConfigSerializeWrapper, ClientError> {
        let request = self.bare_request(request_code::GET_ALL_TOPIC_CONFIG);
        self.invoke_body(
            Some(addr),
            request,
            timeout,
            TopicConfigSerializeWrapper::from_json,
        )
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (`getAllSubscriptionGroup`).
    pub(crate) fn get_all_subscription_group(
        &self,
        addr: &str,
        timeout: Duration,
    ) -> Result<SubscriptionGroupWrapper, ClientError> {
        let request = self.bare_request(request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
        self.invoke_body(
            Some(addr),
            request,
            timeout,
            SubscriptionGroupWrapper::from_json,
        )
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET (`invokeBrokerToResetOffset`): the broker resets the
    /// group's offsets of `topic` to `timestamp` and tells the online members.
    pub(crate) fn invoke_broker_to_reset_offset(
        &self,
        addr: &str,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
        timeout: Duration,
    ) -> Result<BTreeMap<MessageQueue, i64>, ClientError> {
        let header = ResetOffsetRequestHeader {
            topic: topic.to_string(),
            group: group.to_string(),
            timestamp,
            is_force: force,
            ..ResetOffsetRequestHeader::default()
        };
        let request = self.request(request_code::INVOKE_BROKER_TO_RESET_OFFSET, &header);
        self.invoke_body(Some(addr), request, timeout, |body| {
            if body.is_empty() {
                Ok(BTreeMap::new())
            } else {
                ResetOffsetBody::from_json(body).map(|b| b.offset_table)
            }
        })
    }

    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (`invokeBrokerToGetConsumerStatus`): the offsets
    /// each online member of the group holds for `topic`.
    pub(crate) fn invoke_broker_to_get_consumer_status(
        &self,
        addr: &str,
        topic: &str,
        group: &str,
        client_addr: Option<&str>,
        timeout: Duration,
    ) -> Result<BTreeMap<String, BTreeMap<MessageQueue, i64>>, ClientError> {
        let header = GetConsumerStatusRequestHeader {
            topic: topic.to_string(),
            group: group.to_string(),
            client_addr: client_addr.map(str::to_string),
        };
        let request = self.request(request_code::INVOKE_BROKER_TO_GET_CONSUMER_STATUS, &header);
        self.invoke_body(Some(addr), request, timeout, |body| {
            GetConsumerStatusBody::from_json(body).map(|b| b.consumer_table)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_config_lines_become_pairs() {
        let text = "brokerName=broker-a\n# comment\nmessageDelayLevel=1s 5s\n\nflag:true\n";
        let parsed = parse_properties(text);
        assert_eq!(parsed["brokerName"], "broker-a");
        assert_eq!(parsed["messageDelayLevel"], "1s 5s");
        assert_eq!(parsed["flag"], "true");
        assert_eq!(parsed.len(), 3);
    }
}
