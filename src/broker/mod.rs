//! The reference broker, on our [`RemotingServer`]; mirrors Java's `BrokerController`.
//!
//! Processors are registered by request code, each Java processor with its own pool:
//! `SendMessageProcessor` (10, 310, 320, 36), `PullMessageProcessor` (11, with long polling),
//! `QueryMessageProcessor` (12, 33), `EndTransactionProcessor` (37), `ReplyMessageProcessor`
//! (324, 325), `ConsumerManageProcessor` (14, 15, 38), `ClientManageProcessor` (34, 35),
//! `AdminBrokerProcessor` (17, 21, 26, 28-32, 41, 42, 200-204, 207, 208, 215, 300), the
//! calls forwarded to clients (222, 223, 307, 309) and the 5.x POP processors
//! (`PopMessageProcessor` 200050, `AckMessageProcessor` 200051 and 200151,
//! `ChangeInvisibleTimeProcessor` 200053, `NotificationProcessor` 200054 and 200055,
//! `QueryAssignmentProcessor` 400 and 401; state in the `pop` module). Anything else gets
//! REQUEST_CODE_NOT_SUPPORTED. Messages live in [`store::MessageStore`]; transactional half
//! messages in the `transaction` module's topics, checked by the `rmq-tx-check` thread.

#[cfg(feature = "acl")]
mod acl_watch;
mod broker_stats;
mod client_manager;
mod config;
mod configuration;
mod consumer_offset_manager;
mod filter;
mod long_polling;
mod outer_api;
mod persist;
mod pop;
mod processor;
mod schedule_message_service;
pub mod store;
mod subscription_group_manager;
mod timer;
mod topic_config_manager;
mod transaction;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use client_manager::{ClientChannelInfo, ClientIdentity, ClientManager, ConsumerGroupInfo};
pub use config::{BrokerBuilder, BrokerConfig};
pub use pop::PopConfig;

pub use broker_stats::DailyTotals;
pub(crate) use client_manager::RebalanceLockManager;
pub(crate) use consumer_offset_manager::ConsumerOffsetManager;
pub(crate) use long_polling::PullRequestHoldService;
pub(crate) use outer_api::BrokerIdentity;
pub use subscription_group_manager::SubscriptionGroupManager;
pub(crate) use topic_config_manager::TopicConfigManager;

use pop::PopService;
use processor::{
    start_revive_service, AckMessageProcessor, AdminBrokerProcessor, BrokerContext,
    ChangeInvisibleTimeProcessor, ClientCallsProcessor, ClientManageProcessor,
    ConsumerManageProcessor, EndTransactionProcessor, NotificationProcessor, PopMessageProcessor,
    PopWakeUp, PullMessageProcessor, QueryAssignmentProcessor, QueryMessageProcessor,
    RecallMessageProcessor, ReplyMessageProcessor, SendMessageProcessor, ADMIN_CODES,
};
use schedule_message_service::{DelayLevels, ScheduleMessageService};
use store::{FileSystemUsage, IndexLayout, MessageStore, StoreConfig, StoreError, StoreTuning};
use timer::{TimerMessageStore, TimerSettings};
use transaction::TransactionalMessageService;

use crate::common::clock::now_millis;
use crate::common::service_thread::{Schedule, ServiceThread, Waker, Wakeups};
use crate::common::sync::MutexExt;
use crate::protocol::body::{perm_name, TopicConfig};
use crate::protocol::codes::request_code;
use crate::remoting::{
    ChannelEventListener, ClientConfig, ConnectionEvent, ConnectionEventKind, PoolConfig,
    RemotingClient, RemotingError, RemotingServer,
};

/// Why a broker could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum BrokerError {
    /// The store could not be opened or recovered.
    Store(StoreError),
    /// The server could not bind or start.
    Remoting(RemotingError),
    /// A config file could not be read or written.
    Config(String),
    /// The ACL account table could not be loaded.
    #[cfg(feature = "acl")]
    Acl(crate::acl::AclTableError),
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::Store(e) => write!(f, "message store: {e}"),
            BrokerError::Remoting(e) => write!(f, "remoting: {e}"),
            BrokerError::Config(e) => write!(f, "config: {e}"),
            #[cfg(feature = "acl")]
            BrokerError::Acl(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BrokerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BrokerError::Store(e) => Some(e),
            BrokerError::Remoting(e) => Some(e),
            BrokerError::Config(_) => None,
            #[cfg(feature = "acl")]
            BrokerError::Acl(e) => Some(e),
        }
    }
}

impl From<StoreError> for BrokerError {
    fn from(e: StoreError) -> Self {
        BrokerError::Store(e)
    }
}

impl From<RemotingError> for BrokerError {
    fn from(e: RemotingError) -> Self {
        BrokerError::Remoting(e)
    }
}

/// A running broker.
pub struct Broker {
    server: Arc<RemotingServer>,
    context: Arc<BrokerContext>,
    outer: Arc<RemotingClient>,
    identity: BrokerIdentity,
    register_service: Mutex<Option<ServiceThread>>,
    services: Mutex<Vec<ServiceThread>>,
    pop: Arc<PopService>,
    stopping: AtomicBool,
}

/// Forgets clients whose connection closed and tells their groups (`ClientHousekeepingService`).
struct ClientHousekeeping {
    context: Arc<BrokerContext>,
}

impl ChannelEventListener for ClientHousekeeping {
    fn on_event(&self, event: ConnectionEvent) {
        if matches!(
            event.kind,
            ConnectionEventKind::Close | ConnectionEventKind::Exception | ConnectionEventKind::Idle
        ) {
            for group in self.context.clients.remove_connection(&event.remote_addr) {
                log::info!("consumer {} left group {group}", event.remote_addr);
                self.context.notify_consumer_ids_changed(&group);
            }
        }
    }
}

/// What [`Broker::start`] has started so far, shut down if it fails part way so that no
/// thread outlives the failed start; disarmed once the [`Broker`] exists (its `Drop` takes
/// over).
struct StartGuard {
    server: Option<Arc<RemotingServer>>,
    store: Option<Arc<MessageStore>>,
    hold: Option<Arc<PullRequestHoldService>>,
    pop: Option<Arc<PopService>>,
}

impl StartGuard {
    fn disarm(&mut self) {
        self.server = None;
        self.store = None;
        self.hold = None;
        self.pop = None;
    }
}

impl Drop for StartGuard {
    fn drop(&mut self) {
        // The same order as Broker::shutdown: held pulls, then the server, then the store.
        if let Some(hold) = self.hold.take() {
            hold.shutdown();
        }
        if let Some(pop) = self.pop.take() {
            pop.shutdown();
        }
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
        if let Some(store) = self.store.take() {
            store.shutdown();
        }
    }
}

/// The address to advertise for a bound address: a wildcard bind advertises loopback.
fn advertised(bound: SocketAddr) -> String {
    if bound.ip().is_unspecified() {
        format!("127.0.0.1:{}", bound.port())
    } else {
        bound.to_string()
    }
}

/// The store's settings from the broker's.
pub(crate) fn store_config(config: &BrokerConfig, store_host: SocketAddr) -> StoreConfig {
    StoreConfig {
        store_dir: config.store_dir.clone(),
        commit_log_segment_size: config.commit_log_segment_size,
        flush_disk_type: config.flush_disk_type,
        flush_interval: config.flush_interval,
        store_host,
        consume_queue_file_entries: config.consume_queue_file_entries,
        index_layout: IndexLayout {
            hash_slot_num: config.max_hash_slot_num,
            index_num: config.max_index_num,
        },
        file_reserved_time: config.file_reserved_time,
        delete_when: config.delete_when.clone(),
        disk_max_used_space_ratio: config.disk_max_used_space_ratio,
        disk_space_warning_level_ratio: config.disk_space_warning_level_ratio,
        disk_space_clean_forcibly_ratio: config.disk_space_clean_forcibly_ratio,
        clean_file_forcibly: config.clean_file_forcibly,
        clean_resource_interval: config.clean_resource_interval,
        delete_files_interval: config.delete_files_interval,
    }
}

/// One look of the `rmq-tx-check` thread (`TransactionalMessageCheckService`): finds open
/// half messages old enough and asks a producer of each one's group.
fn check_transactions(context: &BrokerContext) {
    let config = &context.config;
    let round = context.transactions.check(
        &context.topics,
        &context.offsets,
        config.transaction_timeout,
        config.transaction_check_max,
    );
    if round.progressed {
        // Saved at once: after a crash the scan would otherwise copy halves again.
        if let Err(e) = context.offsets.persist() {
            log::error!("persisting the transaction check progress failed: {e}");
        }
    }
    if round.to_check.is_empty() {
        return;
    }
    log::info!(
        "asking producers about {} open transaction(s)",
        round.to_check.len()
    );
    let Some(server) = context.server.get().and_then(std::sync::Weak::upgrade) else {
        return;
    };
    for half in &round.to_check {
        transaction::check_listener::send_check(&server, &context.clients, half);
    }
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("broker_name", &self.context.config.broker_name)
            .field("local_addr", &self.local_addr())
            .field("broker_addr", &self.context.broker_addr)
            .finish()
    }
}

impl Broker {
    /// A builder with Java's defaults.
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::default()
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.context.config
    }

    /// The settings now, with the changes UPDATE_BROKER_CONFIG made since the start.
    pub fn current_config(&self) -> BrokerConfig {
        self.context.current_config()
    }

    pub(crate) fn start(mut config: BrokerConfig) -> Result<Broker, BrokerError> {
        configuration::load_file(&mut config).map_err(BrokerError::Config)?;
        let server = Arc::new(RemotingServer::new(config.server.clone())?);
        #[cfg(feature = "acl")]
        let acl = match &config.acl_file {
            Some(path) => {
                // Java's `aclEnable`: a hook that answers a refused request with NO_PERMISSION
                // before any processor sees it; the table is reloaded when its file changes.
                let acl = Arc::new(acl_watch::ReloadingAcl::load(path).map_err(BrokerError::Acl)?);
                log::info!(
                    "ACL on: {} accounts from {}",
                    acl.account_count(),
                    path.display()
                );
                server.register_rpc_hook(acl.clone());
                Some(acl)
            }
            None => None,
        };
        let mut guard = StartGuard {
            server: Some(server.clone()),
            store: None,
            hold: None,
            pop: None,
        };
        let broker_addr = config
            .advertised_addr
            .clone()
            .unwrap_or_else(|| advertised(server.local_addr()));
        let store_host: SocketAddr = broker_addr.parse().map_err(|_| {
            BrokerError::Config(format!("advertised address {broker_addr:?} is not ip:port"))
        })?;
        let tuning = StoreTuning {
            disk_usage: config
                .disk_usage
                .clone()
                .unwrap_or_else(|| Arc::new(FileSystemUsage)),
            ..StoreTuning::default()
        };
        let store = Arc::new(MessageStore::open_tuned(
            store_config(&config, store_host),
            tuning,
        )?);
        guard.store = Some(store.clone());
        let config_err = |e: std::io::Error| BrokerError::Config(e.to_string());
        let topics = TopicConfigManager::load(
            &config.store_dir,
            &config.broker_name,
            &config.cluster_name,
            config.auto_create_topic,
            config.default_topic_queue_nums,
        )
        .map_err(config_err)?;
        if config.trace_topic_enable {
            topics.add_trace_topic(&config.msg_trace_topic_name);
        }
        // Topics with messages but no config (a config file lost in a crash) come back.
        for (topic, queues) in store.topics_and_queues() {
            let queue_nums = queues.iter().max().map_or(1, |q| q + 1);
            topics
                .create_topic_if_absent(
                    &topic,
                    queue_nums,
                    perm_name::PERM_READ | perm_name::PERM_WRITE,
                )
                .map_err(config_err)?;
        }
        let offsets = ConsumerOffsetManager::load(&config.store_dir).map_err(config_err)?;
        let levels = DelayLevels::parse(&config.message_delay_level)
            .map_err(|e| BrokerError::Config(format!("message_delay_level: {e}")))?;
        let schedule = Arc::new(
            ScheduleMessageService::load(levels, store.clone(), &config.store_dir)
                .map_err(config_err)?,
        );
        let timer = Arc::new(
            TimerMessageStore::open(
                TimerSettings {
                    enabled: config.timer_wheel_enable,
                    precision_ms: config.timer_precision_ms,
                    max_delay_sec: config.timer_max_delay_sec,
                },
                store.clone(),
                &config.store_dir,
                now_millis(),
            )
            .map_err(config_err)?,
        );
        let transactions = TransactionalMessageService::load(store.clone(), store_host, &offsets);
        let groups = SubscriptionGroupManager::load(&config.store_dir).map_err(config_err)?;
        let hold = PullRequestHoldService::new();
        guard.hold = Some(hold.clone());
        let pop = PopService::load(
            &config.store_dir,
            &config.pop,
            config.flush_disk_type == store::FlushDiskType::SyncFlush,
            config.flush_interval,
        )
        .map_err(config_err)?;
        guard.pop = Some(pop.clone());
        pop.restore_pop_offsets(&offsets);
        let (register_now, register_wakeups) = Waker::pair();
        let context = Arc::new(BrokerContext {
            settings: std::sync::RwLock::new(config.clone()),
            config_version: Default::default(),
            config: config.clone(),
            broker_addr: broker_addr.clone(),
            store_host,
            store: store.clone(),
            topics,
            offsets,
            clients: ClientManager::new(),
            locks: RebalanceLockManager::new(),
            hold: hold.clone(),
            register_now,
            registrations: Default::default(),
            server: OnceLock::new(),
            schedule,
            timer,
            filters: Default::default(),
            transactions,
            groups,
            stats: broker_stats::BrokerStatsManager::new(),
        });
        let _ = context.server.set(Arc::downgrade(&server));
        let notify = hold.clone();
        let notify_pop = pop.polling.clone();
        store.set_message_arrival_listener(Box::new(move |topic, queue_id, max_offset| {
            notify.notify_message_arriving(topic, queue_id, max_offset);
            notify_pop.notify_message_arriving(topic, queue_id);
        }));

        let pull = Arc::new(PullMessageProcessor::new(context.clone()));
        let pool = |threads, queue_capacity| PoolConfig {
            threads,
            queue_capacity,
        };
        use request_code as rc;
        server.register_processor_for_codes(
            &[
                rc::SEND_MESSAGE,
                rc::SEND_MESSAGE_V2,
                rc::SEND_BATCH_MESSAGE,
                rc::CONSUMER_SEND_MSG_BACK,
            ],
            Arc::new(SendMessageProcessor::new(context.clone())),
            pool(8, 10_000),
        )?;
        server.register_processor_for_codes(&[rc::PULL_MESSAGE], pull.clone(), pool(8, 100_000))?;
        server.register_processor_for_codes(
            &[rc::QUERY_MESSAGE, rc::VIEW_MESSAGE_BY_ID],
            Arc::new(QueryMessageProcessor::new(context.clone())),
            pool(4, 20_000),
        )?;
        server.register_processor_for_codes(
            &[rc::SEND_REPLY_MESSAGE, rc::SEND_REPLY_MESSAGE_V2],
            Arc::new(ReplyMessageProcessor::new(context.clone())),
            pool(8, 10_000),
        )?;
        server.register_processor_for_codes(
            &[rc::RECALL_MESSAGE],
            Arc::new(RecallMessageProcessor::new(context.clone())),
            pool(2, 10_000),
        )?;
        server.register_processor_for_codes(
            &[rc::END_TRANSACTION],
            Arc::new(EndTransactionProcessor::new(context.clone())),
            pool(4, 100_000),
        )?;
        server.register_processor_for_codes(
            &[
                rc::QUERY_CONSUMER_OFFSET,
                rc::UPDATE_CONSUMER_OFFSET,
                rc::GET_CONSUMER_LIST_BY_GROUP,
            ],
            Arc::new(ConsumerManageProcessor::new(context.clone())),
            pool(4, 10_000),
        )?;
        server.register_processor_for_codes(
            &[
                rc::HEART_BEAT,
                rc::UNREGISTER_CLIENT,
                rc::CHECK_CLIENT_CONFIG,
            ],
            Arc::new(ClientManageProcessor::new(context.clone())),
            pool(4, 10_000),
        )?;
        server.register_processor_for_codes(
            &ADMIN_CODES,
            Arc::new(AdminBrokerProcessor::new(context.clone(), pop.clone())),
            pool(2, 10_000),
        )?;
        server.register_processor_for_codes(
            &[
                rc::GET_CONSUMER_RUNNING_INFO,
                rc::CONSUME_MESSAGE_DIRECTLY,
                rc::INVOKE_BROKER_TO_RESET_OFFSET,
                rc::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
            ],
            Arc::new(ClientCallsProcessor::new(context.clone())),
            pool(2, 1_000),
        )?;
        let pop_processor = Arc::new(PopMessageProcessor::new(context.clone(), pop.clone()));
        let notification = Arc::new(NotificationProcessor::new(context.clone(), pop.clone()));
        server.register_processor_for_codes(
            &[rc::POP_MESSAGE],
            pop_processor.clone(),
            pool(8, 100_000),
        )?;
        server.register_processor_for_codes(
            &[rc::NOTIFICATION, rc::POLLING_INFO],
            notification.clone(),
            pool(2, 100_000),
        )?;
        server.register_processor_for_codes(
            &[rc::ACK_MESSAGE, rc::BATCH_ACK_MESSAGE],
            Arc::new(AckMessageProcessor::new(context.clone(), pop.clone())),
            pool(4, 100_000),
        )?;
        server.register_processor_for_codes(
            &[rc::CHANGE_MESSAGE_INVISIBLETIME],
            Arc::new(ChangeInvisibleTimeProcessor::new(
                context.clone(),
                pop.clone(),
            )),
            pool(4, 100_000),
        )?;
        server.register_processor_for_codes(
            &[rc::QUERY_ASSIGNMENT, rc::SET_MESSAGE_REQUEST_MODE],
            Arc::new(QueryAssignmentProcessor::new(context.clone(), pop.clone())),
            pool(2, 10_000),
        )?;
        server.set_channel_event_listener(Arc::new(ClientHousekeeping {
            context: context.clone(),
        }))?;
        hold.start(pull)
            .map_err(|e| RemotingError::io("start the pull-hold thread", e))?;
        pop.polling
            .start(Arc::new(PopWakeUp {
                pop: pop_processor,
                notification,
            }))
            .map_err(|e| RemotingError::io("start the pop polling thread", e))?;
        start_revive_service(context.clone(), pop.clone())
            .map_err(|e| RemotingError::io("start the pop revive thread", e))?;
        server.start()?;

        let identity = BrokerIdentity {
            broker_name: config.broker_name.clone(),
            broker_addr: broker_addr.clone(),
            cluster_name: config.cluster_name.clone(),
            broker_id: 0,
        };
        #[allow(unused_mut)] // only the tls feature changes it
        let mut outer_config = ClientConfig::default();
        #[cfg(feature = "tls")]
        {
            outer_config.tls = config.namesrv_tls.clone();
        }
        let outer = Arc::new(RemotingClient::new(outer_config)?);
        let broker = Broker {
            server,
            context: context.clone(),
            outer,
            identity,
            register_service: Mutex::new(None),
            services: Mutex::new(Vec::new()),
            pop,
            stopping: AtomicBool::new(false),
        };
        // From here a failure drops `broker`, whose Drop shuts everything down.
        guard.disarm();
        broker.register_all();
        broker.start_background(register_wakeups)?;
        #[cfg(feature = "acl")]
        if let Some(acl) = acl {
            let watch = ServiceThread::start(
                "rmq-acl-watch",
                Schedule::every(acl_watch::WATCH_INTERVAL),
                move |_| {
                    acl.reload_if_changed();
                },
            )
            .map_err(|e| RemotingError::io("start the ACL watch thread", e))?;
            broker.services.lock_unpoisoned().push(watch);
        }
        log::info!(
            "broker {} listening on {} (advertised {broker_addr})",
            config.broker_name,
            broker.local_addr()
        );
        Ok(broker)
    }

    fn register_all(&self) {
        let failures = outer_api::register_broker_all(
            &self.outer,
            &self.context.config.namesrv_addrs,
            &self.identity,
            self.context.topics.serialize_wrapper(),
        );
        for (addr, e) in failures {
            log::warn!("registering with name server {addr} failed: {e}");
        }
    }

    fn start_background(&self, register_wakeups: Wakeups) -> Result<(), BrokerError> {
        let (context, outer, identity) = (
            self.context.clone(),
            self.outer.clone(),
            self.identity.clone(),
        );
        let register = ServiceThread::start_with(
            "rmq-broker-register",
            Schedule::every(context.config.register_interval),
            context.register_now.clone(),
            register_wakeups,
            move |_| {
                let run = context.registrations.start();
                let topics = context.topics.serialize_wrapper();
                for (addr, e) in outer_api::register_broker_all(
                    &outer,
                    &context.config.namesrv_addrs,
                    &identity,
                    topics,
                ) {
                    log::warn!("registering with name server {addr} failed: {e}");
                }
                context.registrations.finish(run);
            },
        )
        .map_err(|e| RemotingError::io("start the registration thread", e))?;
        *self.register_service.lock_unpoisoned() = Some(register);

        let offsets_ctx = self.context.clone();
        let offsets = ServiceThread::start(
            "rmq-offset-persist",
            Schedule::every(self.context.config.offset_flush_interval),
            move |_| {
                if let Err(e) = offsets_ctx.offsets.persist() {
                    log::error!("persisting consumer offsets failed: {e}");
                }
            },
        )
        .map_err(|e| RemotingError::io("start the offset thread", e))?;
        let clients_ctx = self.context.clone();
        let expiry = self.context.config.client_channel_expiry;
        // Java scans every 10 s; a shorter expiry (tests) needs a scan at least that often.
        let clients = ServiceThread::start(
            "rmq-client-housekeeping",
            Schedule::every(expiry.min(Duration::from_secs(10))),
            move |_| {
                // Removed here, not left to the close event: events can be dropped, and a
                // group must hear at once that a member left.
                let (expired, changed) = clients_ctx.clients.remove_expired(expiry);
                for conn in expired {
                    log::info!(
                        "closing {}: no heartbeat for {} s",
                        conn.remote_addr(),
                        expiry.as_secs()
                    );
                    conn.close();
                }
                for group in changed {
                    clients_ctx.notify_consumer_ids_changed(&group);
                }
            },
        )
        .map_err(|e| RemotingError::io("start the housekeeping thread", e))?;
        let schedule_ctx = self.context.clone();
        let mut looks = 0u32;
        let schedule = ServiceThread::start(
            "rmq-schedule",
            Schedule::every(schedule_message_service::SCAN_INTERVAL),
            move |_| {
                schedule_ctx.schedule.deliver_due();
                looks += 1;
                // The offsets are saved every 10 s (Java's flushDelayOffsetInterval).
                if looks % 100 == 0 {
                    if let Err(e) = schedule_ctx.schedule.persist() {
                        log::error!("persisting delay offsets failed: {e}");
                    }
                }
            },
        )
        .map_err(|e| RemotingError::io("start the schedule thread", e))?;
        let timer_ctx = self.context.clone();
        let timer = ServiceThread::start(
            "rmq-timer",
            Schedule::every(timer::SCAN_INTERVAL),
            move |_| timer_ctx.timer.run_once(now_millis()),
        )
        .map_err(|e| RemotingError::io("start the timer thread", e))?;
        let stats_ctx = self.context.clone();
        let stats = ServiceThread::start(
            "rmq-broker-stats",
            Schedule::every(Duration::from_secs(1)),
            move |_| stats_ctx.stats.sample(stats_ctx.store.stats()),
        )
        .map_err(|e| RemotingError::io("start the stats thread", e))?;
        let tx_ctx = self.context.clone();
        let tx_check = ServiceThread::start(
            "rmq-tx-check",
            Schedule::every(self.context.config.transaction_check_interval),
            move |_| check_transactions(&tx_ctx),
        )
        .map_err(|e| RemotingError::io("start the transaction check thread", e))?;
        self.services
            .lock_unpoisoned()
            .extend([offsets, clients, schedule, timer, tx_check, stats]);
        Ok(())
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The address registered with name servers.
    pub fn broker_addr(&self) -> &str {
        &self.context.broker_addr
    }

    /// The message store (tests and tools).
    pub fn store(&self) -> &Arc<MessageStore> {
        &self.context.store
    }

    /// The topic table.
    pub fn topic_config(&self, topic: &str) -> Option<TopicConfig> {
        self.context.topics.select_topic_config(topic)
    }

    /// The offset `group` committed for a queue.
    pub fn consumer_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.context.offsets.query_offset(group, topic, queue_id)
    }

    /// Connected clients and their groups.
    pub fn clients(&self) -> &ClientManager {
        &self.context.clients
    }

    /// Pulls held for long polling right now.
    pub fn held_pulls(&self) -> usize {
        self.context.hold.held_count()
    }

    /// Pops and NOTIFICATIONs held for long polling right now.
    pub fn held_pops(&self) -> usize {
        self.pop.polling.held_count()
    }

    /// Open pop checkpoints (pops with messages neither acked nor revived yet) and the
    /// size of the checkpoint log in bytes.
    pub fn pop_checkpoints(&self) -> (usize, u64) {
        self.pop.checkpoints.stats()
    }

    /// Unregisters from the name servers, answers held pulls, stops serving, persists offsets,
    /// flushes and closes the store, and joins every thread.
    pub fn shutdown(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // The registration thread goes first: a registration still running after the
        // unregistration would put the broker back into the name servers' tables.
        if let Some(register) = self.register_service.lock_unpoisoned().take() {
            register.stop();
        }
        outer_api::unregister_broker_all(
            &self.outer,
            &self.context.config.namesrv_addrs,
            &self.identity,
        );
        for service in self.services.lock_unpoisoned().drain(..) {
            service.stop();
        }
        self.context.hold.shutdown();
        // Held pops are answered while the server can still send; the revive thread stops
        // before the store it writes to.
        self.pop.shutdown();
        self.server.shutdown();
        if let Err(e) = self.context.offsets.persist() {
            log::error!("persisting consumer offsets failed: {e}");
        }
        if let Err(e) = self.context.schedule.persist() {
            log::error!("persisting delay offsets failed: {e}");
        }
        if let Err(e) = self.context.timer.persist(now_millis()) {
            log::error!("persisting the timer checkpoint failed: {e}");
        }
        self.context.store.shutdown();
        self.outer.shutdown();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.shutdown();
    }
}
