//! HEART_BEAT (34) and UNREGISTER_CLIENT (35); mirrors Java's `ClientManageProcessor`.

use std::sync::Arc;

use super::BrokerContext;
use crate::broker::client_manager::ClientIdentity;
use crate::broker::filter::{is_tag_type, EXPRESSION_TYPE_SQL92};
use crate::broker::topic_config_manager::{validate_topic_name, RETRY_GROUP_TOPIC_PREFIX};
use crate::protocol::body::{perm_name, CheckClientRequestBody, HeartbeatData};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::UnregisterClientRequestHeader;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// At most this many retry topics are created by one heartbeat; the rest come with the next
/// heartbeats. A client listing thousands of groups must not stall the processor persisting
/// topic configs.
const MAX_NEW_RETRY_TOPICS_PER_HEARTBEAT: usize = 64;

/// Why a consumer group name is refused: empty, or its retry topic `%RETRY%<group>` would be
/// an illegal topic (characters outside `^[%|a-zA-Z0-9_-]+$`, or longer than 127).
fn check_consumer_group(group: &str) -> Result<(), String> {
    if group.is_empty() {
        return Err("the consumer group name is empty".into());
    }
    validate_topic_name(&format!("{RETRY_GROUP_TOPIC_PREFIX}{group}"))
}

/// Tracks producer and consumer groups per connection.
pub(crate) struct ClientManageProcessor {
    broker: Arc<BrokerContext>,
}

impl ClientManageProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        ClientManageProcessor { broker }
    }

    fn heart_beat(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let heartbeat = match HeartbeatData::from_json(&request.body) {
            Ok(h) => h,
            Err(e) => {
                return Ok(RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("bad heartbeat body: {e}"),
                ))
            }
        };
        let b = &self.broker;
        let client = ClientIdentity {
            client_id: heartbeat.client_id.clone(),
            language: request.language,
            version: request.version,
        };
        let mut new_retry_topics = 0;
        for consumer in &heartbeat.consumer_data_set {
            let group = &consumer.group_name;
            if let Err(reason) = check_consumer_group(group) {
                log::warn!(
                    "heartbeat of {} from {}: skipping consumer group {group:?}: {reason}",
                    heartbeat.client_id,
                    ctx.remote_addr()
                );
                continue;
            }
            // Java creates the group's retry topic on its first heartbeat, so consumers can
            // subscribe to it and send failed messages back.
            let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{group}");
            if b.topics.select_topic_config(&retry).is_none() {
                if new_retry_topics < MAX_NEW_RETRY_TOPICS_PER_HEARTBEAT {
                    new_retry_topics += 1;
                    match b.topics.create_topic_if_absent(
                        &retry,
                        1,
                        perm_name::PERM_READ | perm_name::PERM_WRITE,
                    ) {
                        Ok((_, true)) => b.request_registration(),
                        Ok(_) => {}
                        Err(e) => log::warn!("creating {retry} failed: {e}"),
                    }
                } else {
                    log::debug!("{retry} waits for a later heartbeat: enough topics created");
                }
            }
            // autoCreateSubscriptionGroup: a group seen for the first time gets a config.
            if let Err(e) = b
                .groups
                .find_or_create(group, b.setting(|c| c.auto_create_subscription_group))
            {
                log::warn!("persisting the subscription group {group} failed: {e}");
            }
            b.filters.register(group, &consumer.subscription_data_set);
            if b.clients
                .register_consumer(consumer, &client, ctx.connection())
            {
                log::info!(
                    "consumer group {group} changed: {} joined or changed its subscriptions",
                    heartbeat.client_id
                );
                b.notify_consumer_ids_changed(group);
            }
        }
        for producer in &heartbeat.producer_data_set {
            b.clients
                .register_producer(&producer.group_name, &client, ctx.connection());
        }
        Ok(RemotingCommand::success())
    }

    fn unregister_client(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = UnregisterClientRequestHeader::read_from(&request.ext_fields)?;
        let left = self.broker.clients.unregister(
            ctx.connection().id(),
            h.producer_group.as_deref(),
            h.consumer_group.as_deref(),
        );
        if let (true, Some(group)) = (left, h.consumer_group.as_deref()) {
            self.broker.notify_consumer_ids_changed(group);
            if self.broker.clients.consumer_group(group).is_none() {
                self.broker.filters.unregister_group(group);
            }
        }
        Ok(RemotingCommand::success())
    }

    /// `checkClientConfig`: whether the broker can filter by a consumer's subscription, asked
    /// at consumer start so a bad SQL92 expression fails there and not at every pull.
    fn check_client_config(&self, request: &RemotingCommand) -> RemotingCommand {
        let body = match CheckClientRequestBody::from_json(&request.body) {
            Ok(body) => body,
            Err(e) => {
                return RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("bad CheckClientRequestBody: {e}"),
                )
            }
        };
        let Some(subscription) = body.subscription_data else {
            return RemotingCommand::success();
        };
        let kind = subscription.expression_type.as_deref();
        if is_tag_type(kind) {
            return RemotingCommand::success();
        }
        if !self.broker.setting(|c| c.enable_property_filter) {
            return RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                format!(
                    "The broker does not support consumer to filter message by {}",
                    kind.unwrap_or_default()
                ),
            );
        }
        if kind != Some(EXPRESSION_TYPE_SQL92) {
            return RemotingCommand::new_response(
                response_code::SUBSCRIPTION_PARSE_FAILED,
                format!("unknown expression type {}", kind.unwrap_or_default()),
            );
        }
        match self.broker.filters.compile(&subscription.sub_string) {
            Ok(_) => RemotingCommand::success(),
            Err(e) => {
                log::warn!(
                    "client {}@{} filters by a SQL92 expression that does not compile: {e}",
                    body.client_id,
                    body.group
                );
                RemotingCommand::new_response(
                    response_code::SUBSCRIPTION_PARSE_FAILED,
                    e.to_string(),
                )
            }
        }
    }
}

impl RequestProcessor for ClientManageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::HEART_BEAT => self.heart_beat(ctx, &request)?,
            request_code::CHECK_CLIENT_CONFIG => self.check_client_config(&request),
            _ => self.unregister_client(ctx, &request)?,
        };
        Ok(Some(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_group_names_must_make_legal_retry_topics() {
        assert!(check_consumer_group("CG_orders-1|%x").is_ok());
        assert!(check_consumer_group("").is_err());
        assert!(check_consumer_group("bad group").is_err());
        assert!(check_consumer_group("bad/group").is_err());
        // "%RETRY%" is 7 characters: a 120-character group makes a 127-character topic.
        assert!(check_consumer_group(&"g".repeat(120)).is_ok());
        assert!(check_consumer_group(&"g".repeat(121)).is_err());
    }
}
