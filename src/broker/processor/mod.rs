//! The broker's request processors, one per Java processor class, and what they share.

mod admin;
mod client_calls;
mod client_manage;
mod consumer_manage;
mod end_transaction;
mod pop_ack;
mod pop_change_invisible;
mod pop_checks;
mod pop_message;
mod pop_notification;
mod pop_revive;
mod pull;
mod query;
mod query_assignment;
mod recall;
mod reply;
mod send;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

pub(super) use admin::AdminBrokerProcessor;
pub(crate) use admin::ADMIN_CODES;
pub(super) use client_calls::ClientCallsProcessor;
pub(super) use client_manage::ClientManageProcessor;
pub(super) use consumer_manage::ConsumerManageProcessor;
pub(super) use end_transaction::EndTransactionProcessor;
pub(super) use pop_ack::AckMessageProcessor;
pub(super) use pop_change_invisible::ChangeInvisibleTimeProcessor;
pub(super) use pop_message::{PopMessageProcessor, PopWakeUp};
pub(super) use pop_notification::NotificationProcessor;
pub(super) use pop_revive::start_revive_service;
pub(super) use pull::PullMessageProcessor;
pub(super) use query::QueryMessageProcessor;
pub(super) use query_assignment::QueryAssignmentProcessor;
pub(super) use recall::RecallMessageProcessor;
pub(super) use reply::ReplyMessageProcessor;
pub(super) use send::SendMessageProcessor;

use super::broker_stats::BrokerStatsManager;
use super::client_manager::{ClientManager, RebalanceLockManager};
use super::config::BrokerConfig;
use super::consumer_offset_manager::ConsumerOffsetManager;
use super::filter::ConsumerFilterManager;
use super::long_polling::PullRequestHoldService;
use super::schedule_message_service::ScheduleMessageService;
use super::store::MessageStore;
use super::subscription_group_manager::SubscriptionGroupManager;
use super::timer::TimerMessageStore;
use super::topic_config_manager::TopicConfigManager;
use super::transaction::TransactionalMessageService;
use crate::common::sync::MutexExt;
use crate::protocol::codes::request_code;
use crate::protocol::header::NotifyConsumerIdsChangedRequestHeader;
use crate::protocol::RemotingCommand;
use crate::remoting::RemotingServer;

/// Everything the processors share; mirrors the parts of Java's `BrokerController` they use.
pub(super) struct BrokerContext {
    /// The broker's settings as it started (those fixed at start are read here).
    pub config: BrokerConfig,
    /// The settings now: UPDATE_BROKER_CONFIG changes them.
    pub(crate) settings: std::sync::RwLock<BrokerConfig>,
    /// Updates of the settings since start (the version GET_BROKER_CONFIG reports).
    pub(crate) config_version: std::sync::atomic::AtomicU64,
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
    /// Registrations started and finished by the registration thread, to wait for one.
    pub(crate) registrations: RegistrationRuns,
    /// The server, for broker → client requests; set once it exists.
    pub server: OnceLock<Weak<RemotingServer>>,
    /// Delayed delivery (delay levels, messages sent back by consumers).
    pub(crate) schedule: Arc<ScheduleMessageService>,
    /// Timer messages (5.x): delivery at a time of their own, and recall.
    pub(crate) timer: Arc<TimerMessageStore>,
    /// Compiled SQL92 subscriptions.
    pub(crate) filters: ConsumerFilterManager,
    /// Transactional half messages.
    pub(crate) transactions: TransactionalMessageService,
    /// Subscription group configs.
    pub(crate) groups: SubscriptionGroupManager,
    /// Per-group pull counts and day-start totals.
    pub(crate) stats: BrokerStatsManager,
}

impl BrokerContext {
    /// The subscription config of a group about to consume: found, or created when
    /// `autoCreateSubscriptionGroup`, and allowing consumption; otherwise Java's answer
    /// (`faq_url` is the FAQ its remark points to: 4.x pulls and 5.x pops name different ones).
    pub(crate) fn consumable_group(
        &self,
        group: &str,
        faq_url: &str,
    ) -> Result<crate::protocol::body::SubscriptionGroupConfig, RemotingCommand> {
        use crate::protocol::codes::response_code;
        let found = self
            .groups
            .find_or_create(group, self.setting(|c| c.auto_create_subscription_group))
            .map_err(|e| {
                RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("persisting the subscription group {group} failed: {e}"),
                )
            })?;
        let Some(config) = found else {
            return Err(RemotingCommand::new_response(
                response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!(
                    "subscription group [{group}] does not exist, {}",
                    suggest_todo(faq_url)
                ),
            ));
        };
        if !config.consume_enable {
            return Err(RemotingCommand::new_response(
                response_code::NO_PERMISSION,
                format!("subscription group no permission, {group}"),
            ));
        }
        Ok(config)
    }

    /// The settings now (the run-time ones may have changed since the start).
    pub(crate) fn current_config(&self) -> BrokerConfig {
        use crate::common::sync::RwLockExt;
        self.settings.read_unpoisoned().clone()
    }

    /// One run-time setting now.
    pub(crate) fn setting<T>(&self, read: impl FnOnce(&BrokerConfig) -> T) -> T {
        use crate::common::sync::RwLockExt;
        read(&self.settings.read_unpoisoned())
    }

    /// `ConsumerIdsChangeListener`: tells every member of `group` that its membership changed
    /// (NOTIFY_CONSUMER_IDS_CHANGED, a server → client oneway request), so they rebalance.
    pub(super) fn notify_consumer_ids_changed(&self, group: &str) {
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
    pub(super) fn request_registration(&self) {
        self.register_now.wake();
    }

    /// Registers with the name servers now and waits (at most `timeout`) until a
    /// registration that started after this call has finished, as Java's
    /// `registerIncrementBrokerData` does before UPDATE_AND_CREATE_TOPIC answers: the caller
    /// can then find the topic's route.
    pub(super) fn register_and_wait(&self, timeout: Duration) -> bool {
        let target = self.registrations.next_start();
        self.register_now.wake();
        self.registrations.wait_finished(target, timeout)
    }
}

/// Counts of registration runs, started and finished.
#[derive(Default)]
pub(crate) struct RegistrationRuns {
    counts: std::sync::Mutex<(u64, u64)>,
    finished: std::sync::Condvar,
}

impl RegistrationRuns {
    /// The number the next run to start will have.
    fn next_start(&self) -> u64 {
        self.counts.lock_unpoisoned().0 + 1
    }

    /// A run starts; returns its number.
    pub(crate) fn start(&self) -> u64 {
        let mut counts = self.counts.lock_unpoisoned();
        counts.0 += 1;
        counts.0
    }

    /// Run `number` finished.
    pub(crate) fn finish(&self, number: u64) {
        let mut counts = self.counts.lock_unpoisoned();
        counts.1 = counts.1.max(number);
        self.finished.notify_all();
    }

    fn wait_finished(&self, number: u64, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut counts = self.counts.lock_unpoisoned();
        while counts.1 < number {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            counts = self
                .finished
                .wait_timeout(counts, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// The suggestion Java appends to some remarks (`FAQUrl.suggestTodo`).
pub(crate) fn suggest_todo(url: &str) -> String {
    format!("\nSee {url} for further details.")
}
