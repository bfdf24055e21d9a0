//! `PlainAccessValidator`: the server side of ACL 1.0, as Java's `PlainAccessValidator` and
//! `PlainPermissionManager` check requests against `plain_acl.yml`.
//!
//! For each request: a globally white-listed address passes; otherwise the `AccessKey` must
//! name an account; an account's own white-listed address passes; otherwise the `Signature`
//! must be the account's over the request, admin-only codes need an admin account, and each
//! topic and group the request touches needs its permission (PUB to send, SUB to consume, as
//! the topic's entry or the account's default says). A refusal is answered with NO_PERMISSION
//! and Java's wording.

mod config;
mod permission;
mod remote_address;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use self::config::{AclTable, RETRY_GROUP_TOPIC_PREFIX};
use self::permission::{check_permission, needs_admin, PUB, SUB};
use super::signer::{signature_matches, ACCESS_KEY, SIGNATURE};
use crate::protocol::body::{
    BatchAckMessageRequestBody, HeartbeatData, QueryAssignmentRequestBody,
    SetMessageRequestModeRequestBody,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::parse_normal_topic;
use crate::protocol::RemotingCommand;
use crate::remoting::{AbortProcess, RpcHook};

/// The trace topic: a PUB to it skips the permission checks, as in Java.
const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// An account table could not be loaded.
#[derive(Debug)]
pub struct AclTableError {
    path: Option<PathBuf>,
    reason: String,
    source: Option<std::io::Error>,
}

impl std::fmt::Display for AclTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "ACL table {}: {}", path.display(), self.reason),
            None => write!(f, "ACL table: {}", self.reason),
        }
    }
}

impl std::error::Error for AclTableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What one request asks for (Java's parsed `PlainAccessResource`).
#[derive(Debug, Default)]
struct AccessResource {
    ip: Option<IpAddr>,
    code: i32,
    access_key: Option<String>,
    signature: Option<String>,
    /// Topic, or `%RETRY%<group>` → the permission needed.
    resource_perms: HashMap<String, u8>,
}

impl AccessResource {
    fn add(&mut self, resource: Option<&str>, perm: u8) {
        if let Some(resource) = resource {
            self.resource_perms.insert(resource.to_string(), perm);
        }
    }
}

/// Checks every request a server receives against an account table; install it on a
/// [`RemotingServer`](crate::remoting::RemotingServer) with `register_rpc_hook` (the reference
/// broker does, given `--acl <file>`).
///
/// The table is Java's `plain_acl.yml` written as JSON, with the same field names:
///
/// ```
/// use rocketmq_blocking::acl::PlainAccessValidator;
///
/// let validator = PlainAccessValidator::from_json(br#"{
///   "globalWhiteRemoteAddresses": [],
///   "accounts": [{
///     "accessKey": "RocketMQ", "secretKey": "12345678", "whiteRemoteAddress": "",
///     "admin": false, "defaultTopicPerm": "DENY", "defaultGroupPerm": "SUB",
///     "topicPerms": ["TopicTest=PUB|SUB"], "groupPerms": ["my_group=SUB"]
///   }]
/// }"#)?;
/// assert_eq!(validator.account_count(), 1);
/// # Ok::<(), rocketmq_blocking::acl::AclTableError>(())
/// ```
#[derive(Debug)]
pub struct PlainAccessValidator {
    table: AclTable,
}

impl PlainAccessValidator {
    /// Loads the table from a JSON file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AclTableError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| AclTableError {
            path: Some(path.to_path_buf()),
            reason: format!("cannot read it: {e}"),
            source: Some(e),
        })?;
        Self::from_json(&bytes).map_err(|e| AclTableError {
            path: Some(path.to_path_buf()),
            ..e
        })
    }

    /// Loads the table from JSON text.
    pub fn from_json(json: &[u8]) -> Result<Self, AclTableError> {
        let table = AclTable::parse(json).map_err(|reason| AclTableError {
            path: None,
            reason,
            source: None,
        })?;
        Ok(PlainAccessValidator { table })
    }

    /// How many accounts the table has.
    pub fn account_count(&self) -> usize {
        self.table.accounts.len()
    }

    /// `Ok` when `request` from `remote_addr` may be served; `Err` with Java's reason.
    pub fn check(&self, remote_addr: &str, request: &RemotingCommand) -> Result<(), String> {
        let resource = parse(request, remote_addr)?;
        self.validate(&resource, request)
    }

    /// `PlainPermissionManager.validate` of what `request` asks for.
    fn validate(&self, resource: &AccessResource, request: &RemotingCommand) -> Result<(), String> {
        let white_listed = |strategies: &[_]| {
            strategies
                .iter()
                .any(|s: &remote_address::RemoteAddressStrategy| s.matches(resource.ip))
        };
        if white_listed(&self.table.global_white_remote_addresses) {
            return Ok(());
        }
        let Some(access_key) = &resource.access_key else {
            return Err("No accessKey is configured".into());
        };
        let Some(account) = self.table.accounts.get(access_key) else {
            return Err(format!("No acl config for {access_key}"));
        };
        if account.white_remote_address.matches(resource.ip) {
            return Ok(());
        }
        let signed = resource.signature.as_deref().is_some_and(|signature| {
            signature_matches(
                &request.ext_fields,
                &request.body,
                &account.secret_key,
                signature,
            )
        });
        if !signed {
            return Err(format!("Check signature failed for accessKey={access_key}"));
        }
        if resource.resource_perms.get(RMQ_SYS_TRACE_TOPIC) == Some(&PUB) {
            return Ok(());
        }
        // checkPerm
        if needs_admin(resource.code) && !account.admin {
            return Err(format!(
                "Need admin permission for request code={}, but accessKey={access_key} is not",
                resource.code
            ));
        }
        if account.resource_perms.is_empty() && account.admin {
            return Ok(());
        }
        for (name, needed) in &resource.resource_perms {
            let is_group = name.starts_with(RETRY_GROUP_TOPIC_PREFIX);
            let owned = account
                .resource_perms
                .get(name)
                .copied()
                .unwrap_or(if is_group {
                    account.default_group_perm
                } else {
                    account.default_topic_perm
                });
            if !check_permission(*needed, owned) {
                let shown = match name.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
                    Some(group) => format!("group:{group}"),
                    None => format!("topic:{name}"),
                };
                // Java says "default" whether or not the resource has its own entry.
                return Err(format!("No default permission for {shown}"));
            }
        }
        Ok(())
    }
}

impl RpcHook for PlainAccessValidator {
    fn do_before_request(
        &self,
        remote_addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess> {
        self.check(remote_addr, request)
            .map_err(|reason| AbortProcess::new(response_code::NO_PERMISSION, reason))
    }

    fn do_after_response(&self, _: &str, _: &RemotingCommand, _: &mut RemotingCommand) {}
}

/// `PlainAccessValidator.parse`: what `request` needs. The signature is checked over the
/// request itself, without copying its body, and only when it has to be.
fn parse(request: &RemotingCommand, remote_addr: &str) -> Result<AccessResource, String> {
    let fields = &request.ext_fields;
    let mut resource = AccessResource {
        ip: remote_ip(remote_addr),
        code: request.code,
        access_key: fields.get(ACCESS_KEY).map(String::from),
        signature: fields.get(SIGNATURE).map(String::from),
        ..AccessResource::default()
    };
    let retry = |group: Option<&str>| group.map(|g| format!("{RETRY_GROUP_TOPIC_PREFIX}{g}"));
    match request.code {
        // Batches (320) carry the V2 header; Java 4.9.8 left them unchecked, 5.x checks them.
        request_code::SEND_MESSAGE
        | request_code::SEND_MESSAGE_V2
        | request_code::SEND_BATCH_MESSAGE => {
            let topic = if request.code == request_code::SEND_MESSAGE {
                fields.get("topic")
            } else {
                fields.get("b")
            };
            match topic {
                // A retry topic is its group's resource (`%RETRY%<group>`, as the table keys
                // groups): SUB on the group the message lands in. Java checks the group the
                // sender names instead, which lets any account write into another group's
                // retry topic.
                Some(topic) if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) => {
                    resource.add(Some(topic), SUB)
                }
                topic => resource.add(topic, PUB),
            }
        }
        request_code::CONSUMER_SEND_MSG_BACK => {
            resource.add(retry(fields.get("group")).as_deref(), SUB);
        }
        request_code::PULL_MESSAGE => {
            resource.add(fields.get("topic"), SUB);
            resource.add(retry(fields.get("consumerGroup")).as_deref(), SUB);
        }
        request_code::QUERY_MESSAGE => resource.add(fields.get("topic"), SUB),
        request_code::HEART_BEAT => {
            let heartbeat = HeartbeatData::from_json(&request.body)
                .map_err(|e| format!("bad heartbeat body: {e}"))?;
            for consumer in &heartbeat.consumer_data_set {
                resource.add(retry(Some(&consumer.group_name)).as_deref(), SUB);
                for subscription in &consumer.subscription_data_set {
                    resource.add(Some(&subscription.topic), SUB);
                }
            }
        }
        request_code::UNREGISTER_CLIENT | request_code::GET_CONSUMER_LIST_BY_GROUP => {
            resource.add(retry(fields.get("consumerGroup")).as_deref(), SUB);
        }
        request_code::UPDATE_CONSUMER_OFFSET => {
            resource.add(retry(fields.get("consumerGroup")).as_deref(), SUB);
            resource.add(fields.get("topic"), SUB);
        }
        // 5.x POP: SUB on the topic and the group, as Java 5 checks these headers. An ack of a
        // revived message names the group's pop retry topic (`%RETRY%{group}_{topic}`): the
        // topic's resource.
        request_code::POP_MESSAGE
        | request_code::ACK_MESSAGE
        | request_code::CHANGE_MESSAGE_INVISIBLETIME
        | request_code::NOTIFICATION
        | request_code::POLLING_INFO => {
            let group = fields.get("consumerGroup");
            let topic = fields
                .get("topic")
                .map(|t| parse_normal_topic(t, group.unwrap_or_default()));
            resource.add(topic, SUB);
            resource.add(retry(group).as_deref(), SUB);
        }
        request_code::BATCH_ACK_MESSAGE if !request.body.is_empty() => {
            let body = BatchAckMessageRequestBody::from_json(&request.body)
                .map_err(|e| format!("bad batch ack body: {e}"))?;
            for ack in &body.acks {
                resource.add(Some(&ack.topic), SUB);
                resource.add(retry(Some(&ack.consumer_group)).as_deref(), SUB);
            }
        }
        request_code::QUERY_ASSIGNMENT => {
            let body = QueryAssignmentRequestBody::from_json(&request.body)
                .map_err(|e| format!("bad query assignment body: {e}"))?;
            resource.add(Some(&body.topic), SUB);
            resource.add(retry(Some(&body.consumer_group)).as_deref(), SUB);
        }
        request_code::SET_MESSAGE_REQUEST_MODE => {
            let body = SetMessageRequestModeRequestBody::from_json(&request.body)
                .map_err(|e| format!("bad request mode body: {e}"))?;
            resource.add(Some(&body.topic), SUB);
            resource.add(retry(Some(&body.consumer_group)).as_deref(), SUB);
        }
        _ => {}
    }
    Ok(resource)
}

/// The IP of `ip:port` or `[v6]:port`.
fn remote_ip(remote_addr: &str) -> Option<IpAddr> {
    remote_addr
        .parse::<SocketAddr>()
        .map(|a| a.ip())
        .ok()
        .or_else(|| remote_addr.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::SessionCredentials;

    const TABLE: &[u8] = br#"{
      "globalWhiteRemoteAddresses": ["10.10.103.*"],
      "accounts": [
        {"accessKey": "RocketMQ", "secretKey": "12345678", "whiteRemoteAddress": "",
         "admin": false, "defaultTopicPerm": "DENY", "defaultGroupPerm": "SUB",
         "topicPerms": ["TopicA=PUB", "TopicB=SUB"], "groupPerms": ["GroupDenied=DENY"]},
        {"accessKey": "rocketmq2", "secretKey": "12345678", "whiteRemoteAddress": "192.168.1.*",
         "admin": true}
      ]
    }"#;

    fn send(topic: &str) -> RemotingCommand {
        RemotingCommand::new_request(request_code::SEND_MESSAGE_V2)
            .with_ext("a", "producer_group")
            .with_ext("b", topic)
            .with_body(b"hello".to_vec())
    }

    fn signed(mut request: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
        SessionCredentials::new(ak, sk).sign(&mut request);
        request
    }

    #[test]
    fn signed_requests_pass_and_refusals_use_javas_words() {
        let v = PlainAccessValidator::from_json(TABLE).unwrap();
        let from = "127.0.0.1:5000";
        assert_eq!(
            v.check(from, &signed(send("TopicA"), "RocketMQ", "12345678")),
            Ok(())
        );
        assert_eq!(
            v.check(from, &signed(send("TopicA"), "RocketMQ", "wrong-secret")),
            Err("Check signature failed for accessKey=RocketMQ".into())
        );
        assert_eq!(
            v.check(from, &signed(send("TopicB"), "RocketMQ", "12345678")),
            Err("No default permission for topic:TopicB".into())
        );
        assert_eq!(
            v.check(from, &signed(send("Other"), "RocketMQ", "12345678")),
            Err("No default permission for topic:Other".into())
        );
        assert_eq!(
            v.check(from, &send("TopicA")),
            Err("No accessKey is configured".into())
        );
        assert_eq!(
            v.check(from, &signed(send("TopicA"), "nobody-here", "12345678")),
            Err("No acl config for nobody-here".into())
        );
        // A body changed after signing breaks the signature.
        let mut tampered = signed(send("TopicA"), "RocketMQ", "12345678");
        tampered.body = b"HELLO".to_vec().into();
        assert!(v.check(from, &tampered).is_err());
    }

    #[test]
    fn groups_admin_codes_and_white_lists() {
        let v = PlainAccessValidator::from_json(TABLE).unwrap();
        let from = "127.0.0.1:5000";
        let pull = |group: &str| {
            RemotingCommand::new_request(request_code::PULL_MESSAGE)
                .with_ext("topic", "TopicB")
                .with_ext("consumerGroup", group)
        };
        assert_eq!(
            v.check(from, &signed(pull("g1"), "RocketMQ", "12345678")),
            Ok(())
        );
        assert_eq!(
            v.check(from, &signed(pull("GroupDenied"), "RocketMQ", "12345678")),
            Err("No default permission for group:GroupDenied".into())
        );
        let create = RemotingCommand::new_request(request_code::UPDATE_AND_CREATE_TOPIC)
            .with_ext("topic", "T");
        assert_eq!(
            v.check(from, &signed(create.clone(), "RocketMQ", "12345678")),
            Err(format!(
                "Need admin permission for request code={}, but accessKey=RocketMQ is not",
                request_code::UPDATE_AND_CREATE_TOPIC
            ))
        );
        assert_eq!(
            v.check(from, &signed(create, "rocketmq2", "12345678")),
            Ok(())
        );
        // White lists skip the signature: the account's own, and the global one.
        assert_eq!(
            v.check("192.168.1.7:1", &signed(send("X"), "rocketmq2", "bad")),
            Ok(())
        );
        assert_eq!(v.check("10.10.103.9:1", &send("Anything")), Ok(()));
    }

    #[test]
    fn batches_and_retry_topics_are_checked_on_the_resource_written() {
        let v = PlainAccessValidator::from_json(TABLE).unwrap();
        let from = "127.0.0.1:5000";
        let batch = |topic: &str| {
            let mut request = send(topic);
            request.code = request_code::SEND_BATCH_MESSAGE;
            signed(request, "RocketMQ", "12345678")
        };
        assert_eq!(v.check(from, &batch("TopicA")), Ok(()));
        assert_eq!(
            v.check(from, &batch("TopicB")),
            Err("No default permission for topic:TopicB".into())
        );
        // Into another group's retry topic: that group's permission, whoever the sender names.
        assert_eq!(
            v.check(
                from,
                &signed(send("%RETRY%GroupDenied"), "RocketMQ", "12345678")
            ),
            Err("No default permission for group:GroupDenied".into())
        );
        assert_eq!(
            v.check(from, &signed(send("%RETRY%g1"), "RocketMQ", "12345678")),
            Ok(())
        );
    }

    #[test]
    fn pops_and_acks_need_sub_on_the_topic_and_the_group() {
        let v = PlainAccessValidator::from_json(TABLE).unwrap();
        let from = "127.0.0.1:5000";
        let pop = |code: i32, topic: &str, group: &str| {
            signed(
                RemotingCommand::new_request(code)
                    .with_ext("topic", topic)
                    .with_ext("consumerGroup", group),
                "RocketMQ",
                "12345678",
            )
        };
        for code in [
            request_code::POP_MESSAGE,
            request_code::ACK_MESSAGE,
            request_code::CHANGE_MESSAGE_INVISIBLETIME,
            request_code::NOTIFICATION,
            request_code::POLLING_INFO,
        ] {
            assert_eq!(v.check(from, &pop(code, "TopicB", "g1")), Ok(()));
            // A revived message's ack names the pop retry topic: TopicB's resource.
            assert_eq!(v.check(from, &pop(code, "%RETRY%g1_TopicB", "g1")), Ok(()));
            assert_eq!(
                v.check(from, &pop(code, "Other", "g1")),
                Err("No default permission for topic:Other".into())
            );
            assert_eq!(
                v.check(from, &pop(code, "%RETRY%GroupDenied_TopicB", "GroupDenied")),
                Err("No default permission for group:GroupDenied".into())
            );
        }
        let batch = |topic: &str| {
            let body = BatchAckMessageRequestBody {
                broker_name: None,
                acks: vec![crate::protocol::body::BatchAck {
                    consumer_group: "g1".into(),
                    topic: topic.into(),
                    ..Default::default()
                }],
            };
            signed(
                RemotingCommand::new_request(request_code::BATCH_ACK_MESSAGE)
                    .with_body(body.to_json().into_bytes()),
                "RocketMQ",
                "12345678",
            )
        };
        assert_eq!(v.check(from, &batch("TopicB")), Ok(()));
        assert!(v.check(from, &batch("Other")).is_err());
        let mode = SetMessageRequestModeRequestBody {
            topic: "Other".into(),
            consumer_group: "g1".into(),
            ..Default::default()
        };
        let set = signed(
            RemotingCommand::new_request(request_code::SET_MESSAGE_REQUEST_MODE)
                .with_body(mode.to_json().into_bytes()),
            "RocketMQ",
            "12345678",
        );
        assert!(v.check(from, &set).is_err());
    }

    #[test]
    fn a_bad_heartbeat_body_is_refused_not_a_panic() {
        let v = PlainAccessValidator::from_json(TABLE).unwrap();
        let heartbeat =
            RemotingCommand::new_request(request_code::HEART_BEAT).with_body(b"{not json".to_vec());
        let refused = v.check("127.0.0.1:1", &signed(heartbeat, "RocketMQ", "12345678"));
        assert!(refused.unwrap_err().contains("bad heartbeat body"));
    }
}
