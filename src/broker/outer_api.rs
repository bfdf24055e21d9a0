//! `BrokerOuterAPI`: the broker's calls to name servers (register, unregister).

use std::time::Duration;

use crate::protocol::body::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader};
use crate::protocol::util_all::crc32;
use crate::protocol::{Body, RemotingCommand};
use crate::remoting::RemotingClient;

/// How long one name server may take to answer a registration.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);

/// Who the broker is, as name servers see it.
#[derive(Debug, Clone)]
pub(crate) struct BrokerIdentity {
    /// `brokerName`.
    pub broker_name: String,
    /// The advertised address.
    pub broker_addr: String,
    /// `brokerClusterName`.
    pub cluster_name: String,
    /// 0: the reference broker is always a master.
    pub broker_id: i64,
}

/// `registerBrokerAll`: registers with every name server; returns each failure's name server
/// and what went wrong.
pub(super) fn register_broker_all(
    client: &RemotingClient,
    namesrv_addrs: &[String],
    identity: &BrokerIdentity,
    topics: TopicConfigSerializeWrapper,
) -> Vec<(String, String)> {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: topics,
        filter_server_list: Vec::new(),
    }
    .to_json()
    .into_bytes();
    let body_crc32 = crc32(&body);
    let body = Body::from(body);
    let header = RegisterBrokerRequestHeader {
        broker_name: identity.broker_name.clone(),
        broker_addr: identity.broker_addr.clone(),
        cluster_name: identity.cluster_name.clone(),
        ha_server_addr: String::new(),
        broker_id: identity.broker_id,
        heartbeat_timeout_millis: None,
        enable_acting_master: None,
        compressed: false,
        body_crc32,
    };
    let mut failures = Vec::new();
    for addr in namesrv_addrs {
        let request = RemotingCommand::request_with_header(request_code::REGISTER_BROKER, &header)
            .with_body(body.clone());
        match client.invoke_sync(Some(addr), request, REGISTER_TIMEOUT) {
            Ok(response) if response.code == response_code::SUCCESS => {}
            Ok(response) => failures.push((
                addr.clone(),
                format!(
                    "answered code {}: {}",
                    response.code,
                    response.remark.unwrap_or_default()
                ),
            )),
            Err(e) => failures.push((addr.clone(), e.to_string())),
        }
    }
    failures
}

/// `unregisterBrokerAll`: tells every name server the broker is leaving.
pub(super) fn unregister_broker_all(
    client: &RemotingClient,
    namesrv_addrs: &[String],
    identity: &BrokerIdentity,
) {
    let header = UnRegisterBrokerRequestHeader {
        broker_name: identity.broker_name.clone(),
        broker_addr: identity.broker_addr.clone(),
        cluster_name: identity.cluster_name.clone(),
        broker_id: identity.broker_id,
    };
    for addr in namesrv_addrs {
        let request =
            RemotingCommand::request_with_header(request_code::UNREGISTER_BROKER, &header);
        if let Err(e) = client.invoke_sync(Some(addr), request, Duration::from_secs(3)) {
            log::warn!("unregistering from {addr} failed: {e}");
        }
    }
}
