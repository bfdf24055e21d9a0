//! The name server's request processor; mirrors Java's `DefaultRequestProcessor`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::route_info::{BrokerRegistration, RouteInfoManager};
use crate::common::sync::RwLockExt;
use crate::common::trace::trace_step;
use crate::protocol::body::{RegisterBrokerBody, TopicList};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    DeleteTopicFromNamesrvRequestHeader, GetRouteInfoRequestHeader,
    GetTopicsByClusterRequestHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    UnRegisterBrokerRequestHeader,
};
use crate::protocol::util_all::crc32;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Requests with at least this version get standard route JSON (`MQVersion.V4_9_4`).
pub(super) const STANDARD_JSON_MIN_VERSION: i32 = 401;

/// The remark Java sends with TOPIC_NOT_EXIST for an unknown topic.
pub(super) fn topic_not_exist_remark(topic: &str) -> String {
    format!(
        "No topic route info in name server for the topic: {topic}\n\
         See http://rocketmq.apache.org/docs/faq/ for further details."
    )
}

/// Serves REGISTER_BROKER, UNREGISTER_BROKER, GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO,
/// GET_ALL_TOPIC_LIST_FROM_NAMESERVER, DELETE_TOPIC_IN_NAMESRV and GET_TOPICS_BY_CLUSTER.
pub(crate) struct NamesrvProcessor {
    routes: Arc<RwLock<RouteInfoManager>>,
    broker_expiry: Duration,
}

impl NamesrvProcessor {
    /// A processor over the shared route tables.
    pub(crate) fn new(routes: Arc<RwLock<RouteInfoManager>>, broker_expiry: Duration) -> Self {
        NamesrvProcessor {
            routes,
            broker_expiry,
        }
    }

    fn routes_mut(&self) -> std::sync::RwLockWriteGuard<'_, RouteInfoManager> {
        self.routes.write_unpoisoned()
    }

    fn routes(&self) -> std::sync::RwLockReadGuard<'_, RouteInfoManager> {
        self.routes.read_unpoisoned()
    }

    fn register_broker(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let header = RegisterBrokerRequestHeader::read_from(&request.ext_fields)?;
        if header.body_crc32 != 0 && header.body_crc32 != crc32(&request.body) {
            return Ok(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                "crc32 not match".to_string(),
            ));
        }
        if header.compressed {
            return Ok(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                "compressed REGISTER_BROKER bodies are not supported; set compressedRegister=false"
                    .to_string(),
            ));
        }
        let topics = if request.body.is_empty() {
            Vec::new()
        } else {
            RegisterBrokerBody::from_json(&request.body)?
                .topic_config_serialize_wrapper
                .topic_config_table
                .into_values()
                .collect()
        };
        let expiry = header
            .heartbeat_timeout_millis
            .filter(|ms| *ms > 0)
            .map_or(self.broker_expiry, |ms| Duration::from_millis(ms as u64));
        let result = self.routes_mut().register_broker(BrokerRegistration {
            cluster_name: header.cluster_name,
            broker_name: header.broker_name,
            broker_addr: header.broker_addr,
            broker_id: header.broker_id,
            ha_server_addr: header.ha_server_addr,
            topics,
            connection_addr: ctx.remote_addr().to_string(),
            expiry,
        });
        let mut response = RemotingCommand::success();
        RegisterBrokerResponseHeader {
            ha_server_addr: result.ha_server_addr,
            master_addr: result.master_addr,
        }
        .write_to(&mut response.ext_fields);
        Ok(response)
    }

    fn unregister_broker(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = UnRegisterBrokerRequestHeader::read_from(&request.ext_fields)?;
        self.routes_mut().unregister_broker(
            &h.cluster_name,
            &h.broker_addr,
            &h.broker_name,
            h.broker_id,
        );
        Ok(RemotingCommand::success())
    }

    fn get_route_info(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let header = GetRouteInfoRequestHeader::read_from(&request.ext_fields)?;
        let route = self.routes().pickup_topic_route_data(&header.topic);
        trace_step!(
            "namesrv",
            "route of {}: {}",
            header.topic,
            route
                .as_ref()
                .map_or("none (TOPIC_NOT_EXIST)".to_string(), |r| format!(
                    "{} broker(s), {} queue data",
                    r.broker_datas.len(),
                    r.queue_datas.len()
                ))
        );
        let Some(route) = route else {
            return Ok(RemotingCommand::new_response(
                response_code::TOPIC_NOT_EXIST,
                topic_not_exist_remark(&header.topic),
            ));
        };
        // Old clients get the non-standard form (unquoted integer keys) they were built for.
        let standard = request.version >= STANDARD_JSON_MIN_VERSION
            || header.accept_standard_json_only == Some(true);
        Ok(RemotingCommand::success().with_body(route.to_json(standard).into_bytes()))
    }

    fn topic_list(topics: Vec<String>) -> RemotingCommand {
        let body = TopicList {
            topic_list: topics,
            broker_addr: None,
        };
        RemotingCommand::success().with_body(body.to_json().into_bytes())
    }

    fn get_broker_cluster_info(&self) -> RemotingCommand {
        // Java writes this body with fastjson's default settings in 4.9 and 5.x alike.
        RemotingCommand::success()
            .with_body(self.routes().cluster_info().to_json(false).into_bytes())
    }
}

impl RequestProcessor for NamesrvProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::REGISTER_BROKER => self.register_broker(ctx, &request)?,
            request_code::UNREGISTER_BROKER => self.unregister_broker(&request)?,
            request_code::GET_ROUTEINFO_BY_TOPIC => self.get_route_info(&request)?,
            request_code::GET_BROKER_CLUSTER_INFO => self.get_broker_cluster_info(),
            request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => {
                Self::topic_list(self.routes().all_topics())
            }
            request_code::DELETE_TOPIC_IN_NAMESRV => {
                let h = DeleteTopicFromNamesrvRequestHeader::read_from(&request.ext_fields)?;
                let cluster = h.cluster_name.as_deref().filter(|c| !c.is_empty());
                self.routes
                    .write_unpoisoned()
                    .delete_topic(&h.topic, cluster);
                log::info!("topic {} deleted (cluster {cluster:?})", h.topic);
                RemotingCommand::success()
            }
            request_code::GET_TOPICS_BY_CLUSTER => {
                let h = GetTopicsByClusterRequestHeader::read_from(&request.ext_fields)?;
                Self::topic_list(self.routes().topics_by_cluster(&h.cluster))
            }
            other => RemotingCommand::new_response(
                response_code::REQUEST_CODE_NOT_SUPPORTED,
                format!(" request type {other} not supported"),
            ),
        };
        Ok(Some(response))
    }
}
