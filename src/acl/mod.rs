//! ACL 1.0 (feature `acl`): signing requests with an account's credentials, and checking
//! them on a server; mirrors Java's `acl` module.
//!
//! A client given [`SessionCredentials`] (`.credentials(...)` on every client builder) signs
//! every request it sends with [`AclClientRpcHook`]: ext fields `AccessKey`, optional
//! `SecurityToken`, and `Signature` = Base64(HmacSHA1(secret key, the values of the ext
//! fields sorted by key, then the body)). ACL-enabled Apache RocketMQ brokers check it and
//! answer NO_PERMISSION (16) when it is wrong or the account lacks the permission; the error
//! reports it with [`ClientError::is_permission_denied`](crate::client::ClientError::is_permission_denied).
//!
//! [`PlainAccessValidator`] is the checking side, as Java's broker runs it on `plain_acl.yml`
//! (the reference broker loads it with `--acl <file>`).

mod client_hook;
mod plain;
mod signer;

pub use client_hook::{AclClientRpcHook, SessionCredentials};
pub use plain::{AclTableError, PlainAccessValidator};
pub use signer::{
    calculate_signature, combine_request_content, ACCESS_KEY, SECURITY_TOKEN, SIGNATURE,
};
