//! What every client stands on, producer, consumers and admin alike: the client instance
//! (routes, broker addresses, the route and heartbeat threads), the RPCs, name-server
//! discovery, settings, errors, namespaces and the checks run before anything is sent.

pub(crate) mod address;
pub(crate) mod client_config;
pub(crate) mod client_instance;
pub(crate) mod error;
pub(crate) mod message;
pub(crate) mod mq_client_api;
pub(crate) mod namespace;
pub(crate) mod result;
pub(crate) mod service_state;
#[cfg(test)]
pub(crate) mod test_support;
pub(crate) mod top_addressing;
pub(crate) mod topic_publish_info;
pub(crate) mod validators;
