//! The broker's request processors, one per Java processor class, and what they share.

mod admin;
mod client_calls;
mod client_manage;
mod consumer_manage;
mod end_transaction;
mod pull;
mod reply;
mod send;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

pub use admin::AdminBrokerProcessor;
pub use client_calls::ClientCallsProcessor;
pub use client_manage::ClientManageProcessor;
pub use consumer_manage::ConsumerManageProcessor;
pub use end_transaction::EndTransactionProcessor;
pub use pull::PullMessageProcessor;
pub use reply::ReplyMessageProcessor;
pub use send::SendMessageProcessor;

use super::client_manager::{ClientManager, RebalanceLockManager};
use super::config::BrokerConfig;
use super::consumer_offset_manager::ConsumerOffsetManager;
use super::long_polling::PullRequestHoldService;
use super::schedule_message_service::ScheduleMessageService;
use super::store::MessageStore;
use super::topic_config_manager::TopicConfigManager;
use super::transaction::TransactionalMessageService;
use crate::protocol::codes::request_code;
use crate::protocol::header::NotifyConsumerIdsChangedRequestHeader;
use crate::protocol::RemotingCommand;
use crate::remoting::RemotingServer;

/// Everything the processors share; mirrors the parts of Java's `BrokerController` they use.
pub struct BrokerContext {
    /// The broker's settings.
    pub config: BrokerConfig,
    /// The address registered with name servers.
    pub broker_addr: String,
    /// The address written into stored messages and offset message ids.
    pub store_host: SocketAddr,
    /// The message store.
    pub store: Arc<MessageStore>,
    /// Topics.
    pub topics: TopicConfigManager,
    /// Committed consumer offsets.
    pub offsets: ConsumerOffsetManager,
    /// Connected producers and consumers.
    pub clients: ClientManager,
    /// Queue locks of ordered consumers.
    pub locks: RebalanceLockManager,
    /// Held pulls waiting for messages.
    pub hold: Arc<PullRequestHoldService>,
    /// Asks the registration thread to register with the name servers now.
    pub register_now: crate::common::service_thread::Waker,
    /// The server, for broker → client requests; set once it exists.
    pub server: OnceLock<Weak<RemotingServer>>,
    /// Delayed delivery (delay levels, messages sent back by consumers).
    pub(crate) schedule: Arc<ScheduleMessageService>,
    /// Transactional half messages.
    pub(crate) transactions: TransactionalMessageService,
}

impl BrokerContext {
    /// `ConsumerIdsChangeListener`: tells every member of `group` that its membership changed
    /// (NOTIFY_CONSUMER_IDS_CHANGED, a server → client oneway request), so they rebalance.
    pub fn notify_consumer_ids_changed(&self, group: &str) {
        let Some(server) = self.server.get().and_then(Weak::upgrade) else {
            return;
        };
        let Some(info) = self.clients.consumer_group(group) else {
            return;
        };
        for member in info.channels.values() {
            let header = NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group.to_string(),
            };
            let request = RemotingCommand::request_with_header(
                request_code::NOTIFY_CONSUMER_IDS_CHANGED,
                &header,
            );
            if let Err(e) =
                server.invoke_oneway(&member.connection, request, Duration::from_millis(100))
            {
                log::warn!(
                    "notify {} of group {group} change failed: {e}",
                    member.client_id
                );
            }
        }
    }

    /// Asks for an immediate re-registration (a topic was created).
    pub fn request_registration(&self) {
        self.register_now.wake();
    }
}

/// The suggestion Java appends to some remarks (`FAQUrl.suggestTodo`).
pub(crate) fn suggest_todo(url: &str) -> String {
    format!("\nSee {url} for further details.")
}
