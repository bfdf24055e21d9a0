//! `AclClientRpcHook`: signs every request a client sends (Java's `AclClientRPCHook`).

use super::signer::{request_signature, ACCESS_KEY, SECURITY_TOKEN, SIGNATURE};
use crate::protocol::RemotingCommand;
use crate::remoting::{AbortProcess, RpcHook};

/// An ACL account's credentials (Java's `SessionCredentials`): access key, secret key and an
/// optional security token (STS).
///
/// The secret key is never printed: `Debug` shows only the access key.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    access_key: String,
    secret_key: String,
    security_token: Option<String>,
}

impl SessionCredentials {
    /// Credentials of the account `access_key` with `secret_key`.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        SessionCredentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }

    /// Adds a security token, sent (and signed) with every request.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// The access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The security token, if any.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// Signs `request` in place: adds `AccessKey` (and `SecurityToken`), then `Signature` over
    /// every ext field and the body.
    pub fn sign(&self, request: &mut RemotingCommand) {
        request.ext_fields.insert(ACCESS_KEY, &self.access_key);
        if let Some(token) = &self.security_token {
            request.ext_fields.insert(SECURITY_TOKEN, token);
        }
        let signature = request_signature(&request.ext_fields, &request.body, &self.secret_key);
        request.ext_fields.insert(SIGNATURE, signature);
    }
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<hidden>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<set>"),
            )
            .finish()
    }
}

/// An [`RpcHook`] that signs every request with an account's credentials, as Java's
/// `AclClientRPCHook`. Clients install it themselves when given credentials
/// (`.credentials(...)` on every client builder); a [`RemotingClient`] takes it with
/// `register_rpc_hook`.
///
/// ```
/// use std::sync::Arc;
/// use rocketmq_blocking::acl::{AclClientRpcHook, SessionCredentials};
/// use rocketmq_blocking::protocol::RemotingCommand;
/// use rocketmq_blocking::remoting::RpcHook;
///
/// let hook = AclClientRpcHook::new(SessionCredentials::new("RocketMQ", "12345678"));
/// let mut request = RemotingCommand::new_request(105).with_ext("topic", "TopicTest");
/// hook.do_before_request("127.0.0.1:9876", &mut request).unwrap();
/// assert_eq!(request.ext_fields.get("AccessKey"), Some("RocketMQ"));
/// assert!(request.ext_fields.get("Signature").is_some());
/// ```
///
/// [`RemotingClient`]: crate::remoting::RemotingClient
#[derive(Debug, Clone)]
pub struct AclClientRpcHook {
    credentials: SessionCredentials,
}

impl AclClientRpcHook {
    /// A hook signing with `credentials`.
    pub fn new(credentials: SessionCredentials) -> Self {
        AclClientRpcHook { credentials }
    }

    /// The credentials it signs with.
    pub fn credentials(&self) -> &SessionCredentials {
        &self.credentials
    }
}

impl RpcHook for AclClientRpcHook {
    fn do_before_request(
        &self,
        _remote_addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess> {
        self.credentials.sign(request);
        Ok(())
    }

    fn do_after_response(&self, _: &str, _: &RemotingCommand, _: &mut RemotingCommand) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let text = format!(
            "{:?}",
            SessionCredentials::new("ak-name", "very-secret").with_security_token("tok")
        );
        assert!(text.contains("ak-name"), "{text}");
        assert!(
            !text.contains("very-secret") && !text.contains("tok\""),
            "{text}"
        );
    }

    #[test]
    fn signing_twice_gives_the_same_signature() {
        // A retried request is signed again; the old Signature must not enter the content.
        let credentials = SessionCredentials::new("ak", "sk");
        let mut request = RemotingCommand::new_request(10)
            .with_ext("topic", "T")
            .with_body(b"x".to_vec());
        credentials.sign(&mut request);
        let first = request.ext_fields.get(SIGNATURE).map(String::from);
        credentials.sign(&mut request);
        assert_eq!(request.ext_fields.get(SIGNATURE).map(String::from), first);
    }
}
