//! HEART_BEAT (34) and UNREGISTER_CLIENT (35); mirrors Java's `ClientManageProcessor`.

use std::sync::Arc;

use super::BrokerContext;
use crate::broker::topic_config_manager::RETRY_GROUP_TOPIC_PREFIX;
use crate::protocol::body::{perm_name, HeartbeatData};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::UnregisterClientRequestHeader;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Tracks producer and consumer groups per connection.
pub struct ClientManageProcessor {
    broker: Arc<BrokerContext>,
}

impl ClientManageProcessor {
    /// A processor over the broker's shared state.
    pub fn new(broker: Arc<BrokerContext>) -> Self {
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
        for consumer in &heartbeat.consumer_data_set {
            // Java creates the group's retry topic on its first heartbeat, so consumers can
            // subscribe to it and send failed messages back.
            let retry = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", consumer.group_name);
            match b.topics.create_topic_if_absent(
                &retry,
                1,
                perm_name::PERM_READ | perm_name::PERM_WRITE,
            ) {
                Ok((_, true)) => b.request_registration(),
                Ok(_) => {}
                Err(e) => log::warn!("creating {retry} failed: {e}"),
            }
            if b.clients
                .register_consumer(consumer, &heartbeat.client_id, ctx.connection())
            {
                log::info!(
                    "consumer {} joined group {}",
                    heartbeat.client_id,
                    consumer.group_name
                );
                b.notify_consumer_ids_changed(&consumer.group_name);
            }
        }
        for producer in &heartbeat.producer_data_set {
            b.clients.register_producer(
                &producer.group_name,
                &heartbeat.client_id,
                ctx.connection(),
            );
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
        }
        Ok(RemotingCommand::success())
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
            _ => self.unregister_client(ctx, &request)?,
        };
        Ok(Some(response))
    }
}
