//! `ConsumerEngine`: the one engine behind the push and the lite pull consumer; Java's
//! `DefaultMQPushConsumerImpl` and `DefaultLitePullConsumerImpl`, which share everything but
//! where pulled messages go.
//!
//! The engine owns its parts, each in its own file, each holding only what it uses:
//!
//! - `rebalance.rs`: [`RebalanceImpl`], who holds which queue: subscriptions, the process
//!   queue of each held queue (`process_queue.rs`), orderly locks, where a new queue starts.
//! - `pull_message_service.rs`: [`PullMessageService`], the pull loop (`rmq-pull`), with
//!   `pull_api.rs` (one pull: which broker, which flags, tag filtering).
//! - `pop_message_service.rs`: `PopMessageService`, the POP loop (`rmq-pop`) beside it, for
//!   the queues a broker assigned to be popped (`pop_process_queue.rs` counts what waits for
//!   its ack), with `pop_api.rs` (one pop; acks and invisibility changes, which a simple
//!   consumer also makes).
//! - `delivery.rs`: [`Delivery`], where pulled messages go: a concurrent or orderly listener
//!   on the consume pool (`consume_concurrently.rs`, `consume_orderly.rs`, sharing
//!   `consume_service.rs` and `send_back.rs`; popped messages through
//!   `consume_pop_concurrently.rs`, to acks), a queue `poll` drains (`poll_queue.rs`), or
//!   the caller of a simple consumer's `receive`.
//! - `offset_store.rs`: where consumed offsets go (the brokers, or a local file).
//! - `consume_stats.rs`: rates for running info.
//! - `client_remoting_processor.rs`: what brokers ask of the consumer.
//!
//! The engine itself: start and shutdown in Java's order, the threads that drive the parts
//! (`rmq-rebalance`, `rmq-offsets`, `rmq-upkeep`), what the instance announces in heartbeats,
//! and what brokers ask (running info, offset resets).

mod client_remoting_processor;
mod consume_concurrently;
mod consume_orderly;
mod consume_pop_concurrently;
mod consume_service;
mod consume_stats;
mod delivery;
mod offset_store;
mod poll_queue;
mod pop_api;
mod pop_message_service;
mod pop_process_queue;
mod process_queue;
mod pull_api;
mod pull_message_service;
mod rebalance;
mod send_back;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

pub(crate) use self::client_remoting_processor::ConsumerInner;
use self::client_remoting_processor::{ClientRemotingProcessor, CLIENT_REQUEST_CODES};
use self::consume_concurrently::ConsumeConcurrently;
use self::consume_orderly::ConsumeOrderly;
use self::consume_service::ConsumeParts;
use self::consume_stats::ConsumeStats;
pub(crate) use self::delivery::Delivery;
use self::offset_store::{LocalFileOffsetStore, RemoteBrokerOffsetStore};
pub(crate) use self::offset_store::{OffsetStore, ReadOffsetType};
pub(crate) use self::poll_queue::PollQueue;
pub(crate) use self::pop_api::{PopApiWrapper, PopSpec};
pub(crate) use self::pop_message_service::PopSettings;
use self::pop_message_service::{PopMessageService, PopParts};
use self::process_queue::ProcessQueue;
use self::pull_api::PullApiWrapper;
pub(crate) use self::pull_message_service::PullSettings;
use self::pull_message_service::{PullMessageService, PullParts};
pub(crate) use self::rebalance::RebalanceImpl;
use self::rebalance::{PopRequest, PullRequest, RebalanceHandler, RebalanceParts};
use self::send_back::SendBack;
use crate::client::consumer::allocate::AllocateMessageQueueStrategy;
use crate::client::consumer::consume_from::ConsumeFrom;
use crate::client::consumer::consume_hook::{ConsumeHooks, ConsumeMessageHook};
use crate::client::consumer::listener::Listener;
use crate::client::consumer::subscription::{
    build_subscription_data, EXPRESSION_TYPE_SQL92, SUB_ALL,
};
use crate::client::shared::client_config::ClientSettings;
use crate::client::shared::client_instance::MqClientInstance;
use crate::client::shared::error::ClientError;
use crate::client::shared::service_state::{ServiceState, ServiceStateCell};
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::clock::now_millis;
use crate::common::delay_queue::Scheduler;
use crate::common::service_thread::{while_alive, Schedule, ServiceThread, Waker, Wakeups};
use crate::common::sync::MutexExt;
use crate::protocol::body::{
    running_info_property as prop, ConsumeMessageDirectlyResult, ConsumerData, ConsumerRunningInfo,
    MessageModel, SubscriptionData,
};
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::remoting::{PoolConfig, RemotingError, ThreadPool};

/// An orderly queue let go while it still holds messages is unlocked this much later, so a
/// listener in progress finishes before another member takes it (`UNLOCK_DELAY_TIME_MILLS`).
const UNLOCK_DELAY: Duration = Duration::from_secs(20);
/// How long a rebalance waits for an orderly listener to finish before keeping the queue.
const CONSUME_LOCK_WAIT: Duration = Duration::from_secs(1);
/// Orderly: queue locks are renewed this often (`REBALANCE_LOCK_INTERVAL`).
const LOCK_RENEW_INTERVAL: Duration = Duration::from_secs(20);
/// How long shutdown waits for the answers to acks already sent (the async timeout).
const ACKS_AWAIT_AT_SHUTDOWN: Duration = Duration::from_secs(3);

/// What a group consumer is configured with, from its public config.
pub(crate) struct EngineSettings {
    /// The group, namespaced.
    pub(crate) group: String,
    pub(crate) client: ClientSettings,
    pub(crate) message_model: MessageModel,
    pub(crate) consume_from: ConsumeFrom,
    pub(crate) allocate_strategy: Arc<dyn AllocateMessageQueueStrategy>,
    pub(crate) pull: PullSettings,
    /// How queues a broker assigns to be popped are popped (and whether to ask it).
    pub(crate) pop: PopSettings,
    /// How often queues are re-shared without a notification.
    pub(crate) rebalance_interval: Duration,
    /// Broadcasting: where local offset files go.
    pub(crate) local_offset_store_dir: PathBuf,
    pub(crate) delivery: DeliverySettings,
    /// Run around each listener call, or each batch `poll` returns.
    pub(crate) consume_hooks: Vec<Arc<dyn ConsumeMessageHook>>,
}

/// Where pulled messages go, with the settings of that.
pub(crate) enum DeliverySettings {
    /// A push consumer's listener.
    Listener {
        listener: Listener,
        /// Consume pool threads (`consumeThreadMin`).
        consume_threads: usize,
        /// Messages per listener call (`consumeMessageBatchMaxSize`).
        batch_size: usize,
        /// Redeliveries before the dead-letter topic.
        max_reconsume_times: i32,
        /// Orderly: how long a suspended queue rests.
        suspend_time: Duration,
        /// A listener running longer than this on a message has it sent back.
        consume_timeout: Duration,
        /// How long shutdown waits for listeners in progress.
        await_termination: Duration,
        /// How often offsets are committed (`persistConsumerOffsetInterval`).
        persist_interval: Duration,
    },
    /// A lite pull consumer's `poll`.
    Poll {
        /// Commit polled offsets every this often (`autoCommitIntervalMillis`), or never
        /// without being asked.
        auto_commit: Option<Duration>,
        /// How often the offsets thread runs (`autoCommitIntervalMillis`).
        commit_interval: Duration,
    },
    /// A simple consumer's `receive`: it pops for its caller; no queue is held, nothing is
    /// pulled, no offset is committed.
    Receive,
}

/// The threads the engine starts itself (the instance, the pull loop, the scheduler and the
/// consume pool own theirs).
struct Threads {
    rebalance: ServiceThread,
    offsets: ServiceThread,
    /// Push only: orderly lock renewal, or concurrent expired-message cleaning.
    upkeep: Option<ServiceThread>,
}

/// The machinery of one group consumer; see the module docs. Its public handle owns it.
pub(crate) struct ConsumerEngine {
    settings: EngineSettings,
    instance: Arc<MqClientInstance>,
    rebalance: Arc<RebalanceImpl>,
    offsets: Arc<dyn OffsetStore>,
    stats: Arc<ConsumeStats>,
    /// `rmq-consume-timer`: pulls, batches and unlocks put off.
    scheduler: Arc<Scheduler>,
    pulls: Arc<PullMessageService>,
    /// The POP loop: popped queues (a broker's assignment), acks, invisibility changes.
    pops: Arc<PopMessageService>,
    pop_api: Arc<PopApiWrapper>,
    delivery: Arc<Delivery>,
    state: ServiceStateCell,
    /// Lite pull `assign`: the queues are the caller's, not the group's.
    assigned: AtomicBool,
    rebalance_waker: Waker,
    rebalance_wakeups: Mutex<Option<Wakeups>>,
    threads: Mutex<Option<Threads>>,
    start_ms: i64,
}

impl ConsumerEngine {
    /// Makes the engine and starts it with `subscriptions` (namespaced): its threads, the
    /// instance's, a heartbeat, and the first share of the queues, all before this returns
    /// (Java's `start` does the same).
    pub(crate) fn start(
        settings: EngineSettings,
        subscriptions: Vec<SubscriptionData>,
    ) -> Result<Arc<ConsumerEngine>, ClientError> {
        let engine = Arc::new(ConsumerEngine::new(settings)?);
        for subscription in &subscriptions {
            engine.check_subscription(subscription)?;
        }
        for subscription in subscriptions {
            engine.rebalance.subscribe(subscription);
        }
        engine.start_threads()?;
        Ok(engine)
    }

    /// `checkClientInBroker`: a SQL92 subscription is shown to a broker of its topic
    /// (CHECK_CLIENT_CONFIG) before it is used, so an expression the broker cannot compile,
    /// or a broker that does not filter by properties, fails `start` or `subscribe` with the
    /// broker's code and remark instead of every pull. Tag subscriptions need no check; a
    /// topic with no broker known yet is not checked (as in Java).
    pub(crate) fn check_subscription(
        &self,
        subscription: &SubscriptionData,
    ) -> Result<(), ClientError> {
        if subscription.expression_type.as_deref() != Some(EXPRESSION_TYPE_SQL92) {
            return Ok(());
        }
        let timeout = self.instance.api_timeout_default();
        if let Err(e) = self
            .instance
            .update_topic_route(&subscription.topic, timeout)
        {
            log::debug!("route of {}: {e}", subscription.topic);
        }
        let Some(addr) = self
            .instance
            .find_broker_address_by_topic(&subscription.topic)
        else {
            return Ok(());
        };
        self.instance.api().check_client_in_broker(
            &addr,
            &self.settings.group,
            self.instance.client_id(),
            subscription,
            timeout,
        )
    }

    fn new(settings: EngineSettings) -> Result<ConsumerEngine, ClientError> {
        let io = |what: &str, e| ClientError::from(RemotingError::io(what, e));
        let instance = MqClientInstance::new(settings.client.clone(), None, Vec::new())?;
        let offsets: Arc<dyn OffsetStore> = match settings.message_model {
            MessageModel::Clustering => Arc::new(RemoteBrokerOffsetStore::new(
                instance.clone(),
                settings.group.clone(),
            )),
            MessageModel::Broadcasting => {
                let store = LocalFileOffsetStore::new(
                    &settings.local_offset_store_dir,
                    instance.client_id(),
                    &settings.group,
                );
                store.load()?;
                Arc::new(store)
            }
        };
        let stats = Arc::new(ConsumeStats::default());
        let scheduler = Arc::new(
            Scheduler::start("rmq-consume-timer").map_err(|e| io("start the consume timer", e))?,
        );
        let orderly = matches!(
            settings.delivery,
            DeliverySettings::Listener {
                listener: Listener::Orderly(_),
                ..
            }
        );
        let poll = matches!(settings.delivery, DeliverySettings::Poll { .. });
        let receive = matches!(settings.delivery, DeliverySettings::Receive);
        // Java asks the broker only for a concurrent push consumer in clustering
        // (`RebalancePushImpl.clientRebalance`).
        let client_rebalance = settings.pop.client_rebalance
            || orderly
            || poll
            || receive
            || settings.message_model == MessageModel::Broadcasting;
        let pop_api = Arc::new(PopApiWrapper::new(instance.clone(), settings.group.clone()));
        let consume_timeout = match &settings.delivery {
            DeliverySettings::Listener {
                consume_timeout, ..
            } => *consume_timeout,
            DeliverySettings::Poll { .. } | DeliverySettings::Receive => Duration::ZERO,
        };
        let hooks = ConsumeHooks::new(
            settings.consume_hooks.clone(),
            settings.group.clone(),
            settings
                .client
                .namespace
                .clone()
                .filter(|ns| !ns.is_empty()),
            instance.client_ip(),
            consume_timeout,
        );
        let rebalance = Arc::new(RebalanceImpl::new(RebalanceParts {
            group: settings.group.clone(),
            model: settings.message_model,
            consume_type: if poll {
                crate::protocol::body::ConsumeType::ConsumeActively
            } else {
                crate::protocol::body::ConsumeType::ConsumePassively
            },
            orderly,
            client_rebalance,
            strategy: settings.allocate_strategy.clone(),
            consume_from: settings.consume_from,
            offsets: offsets.clone(),
            instance: instance.clone(),
        }));
        let delivery = Arc::new(match &settings.delivery {
            DeliverySettings::Listener {
                listener,
                consume_threads,
                batch_size,
                max_reconsume_times,
                suspend_time,
                ..
            } => {
                let pool = ThreadPool::new("rmq-consume", *consume_threads, None)
                    .map_err(|e| io("start the consume pool", e))?;
                let parts = ConsumeParts {
                    group: settings.group.clone(),
                    namespace: instance.namespace().clone(),
                    model: settings.message_model,
                    batch_size: *batch_size,
                    offsets: offsets.clone(),
                    stats: stats.clone(),
                    scheduler: scheduler.clone(),
                    send_back: SendBack::new(
                        &settings.group,
                        *max_reconsume_times,
                        instance.clone(),
                    ),
                    hooks,
                    pop_api: pop_api.clone(),
                };
                match listener {
                    Listener::Concurrently(listener) => Delivery::Concurrently(Arc::new(
                        ConsumeConcurrently::new(listener.clone(), pool, parts),
                    )),
                    Listener::Orderly(listener) => {
                        Delivery::Orderly(Arc::new(ConsumeOrderly::new(
                            listener.clone(),
                            pool,
                            parts,
                            *suspend_time,
                            rebalance.clone(),
                        )))
                    }
                }
            }
            DeliverySettings::Poll { auto_commit, .. } => {
                Delivery::Poll(PollQueue::new(*auto_commit, hooks))
            }
            DeliverySettings::Receive => Delivery::Receive,
        });
        let pulls = Arc::new(PullMessageService::new(PullParts {
            settings: settings.pull.clone(),
            model: settings.message_model,
            group: settings.group.clone(),
            namespace: instance.namespace().clone(),
            pull_api: Arc::new(PullApiWrapper::new(
                instance.clone(),
                settings.group.clone(),
            )),
            rebalance: rebalance.clone(),
            offsets: offsets.clone(),
            stats: stats.clone(),
            scheduler: scheduler.clone(),
            delivery: delivery.clone(),
        }));
        let pops = Arc::new(PopMessageService::new(PopParts {
            settings: settings.pop.clone(),
            group: settings.group.clone(),
            namespace: instance.namespace().clone(),
            pop_api: pop_api.clone(),
            rebalance: rebalance.clone(),
            stats: stats.clone(),
            delivery: delivery.clone(),
        }));
        let (rebalance_waker, rebalance_wakeups) = Waker::pair();
        Ok(ConsumerEngine {
            settings,
            instance,
            rebalance,
            offsets,
            stats,
            scheduler,
            pulls,
            pops,
            pop_api,
            delivery,
            state: ServiceStateCell::new(ServiceState::CreateJust),
            assigned: AtomicBool::new(false),
            rebalance_waker,
            rebalance_wakeups: Mutex::new(Some(rebalance_wakeups)),
            threads: Mutex::new(None),
            start_ms: now_millis(),
        })
    }

    /// Java's start order: what brokers ask reaches the engine, the pull loop runs, the
    /// instance's route and heartbeat threads, the engine's own threads; then routes for the
    /// subscriptions, a heartbeat so the brokers know the group, and the first rebalance.
    fn start_threads(self: &Arc<Self>) -> Result<(), ClientError> {
        let thread = |name: &'static str| {
            move |e| ClientError::from(RemotingError::io(format!("start {name}"), e))
        };
        self.instance.register_consumer(self.consumer_data());
        self.instance
            .api()
            .remoting()
            .register_processor_for_codes(
                &CLIENT_REQUEST_CODES,
                Arc::new(ClientRemotingProcessor::new(
                    Arc::downgrade(self) as Weak<dyn ConsumerInner>
                )),
                PoolConfig {
                    threads: 2,
                    queue_capacity: 1000,
                },
            )?;
        let receive = matches!(*self.delivery, Delivery::Receive);
        if !receive {
            self.pulls.start().map_err(thread("rmq-pull"))?;
        }
        if !self.rebalance.client_rebalance() {
            self.pops.start().map_err(thread("rmq-pop"))?;
        }
        self.instance.start_background_tasks()?;
        self.state.swap(ServiceState::Running);
        if receive {
            // A simple consumer holds no queue: its callers pop; nothing to share or commit.
            self.prepare_first_rebalance();
            return Ok(());
        }

        let wakeups = self
            .rebalance_wakeups
            .lock_unpoisoned()
            .take()
            .ok_or(ClientError::ShutDown)?;
        let rebalance = ServiceThread::start_with(
            "rmq-rebalance",
            Schedule::every(self.settings.rebalance_interval),
            self.rebalance_waker.clone(),
            wakeups,
            while_alive(self, |engine: &ConsumerEngine, _| engine.do_rebalance()),
        )
        .map_err(thread("rmq-rebalance"))?;
        let offsets = ServiceThread::start(
            "rmq-offsets",
            Schedule::every(self.persist_interval()),
            while_alive(self, |engine: &ConsumerEngine, _| {
                if engine.commits_periodically() {
                    engine.persist_offsets();
                }
            }),
        )
        .map_err(thread("rmq-offsets"))?;
        let upkeep = match &self.settings.delivery {
            DeliverySettings::Listener {
                consume_timeout, ..
            } => {
                let every = if self.delivery.is_orderly() {
                    LOCK_RENEW_INTERVAL
                } else {
                    *consume_timeout
                };
                let thread = ServiceThread::start(
                    "rmq-upkeep",
                    Schedule::every(every).first_after(Duration::from_secs(1).min(every)),
                    while_alive(self, |engine: &ConsumerEngine, _| engine.upkeep()),
                )
                .map_err(thread("rmq-upkeep"))?;
                Some(thread)
            }
            DeliverySettings::Poll { .. } | DeliverySettings::Receive => None,
        };
        *self.threads.lock_unpoisoned() = Some(Threads {
            rebalance,
            offsets,
            upkeep,
        });
        self.prepare_first_rebalance();
        self.do_rebalance();
        Ok(())
    }

    /// Before the first rebalance: the routes of the subscribed topics (a group's retry topic
    /// may have none yet: not worth a warning), then a heartbeat, so the brokers know the
    /// group.
    fn prepare_first_rebalance(&self) {
        let timeout = self.instance.api_timeout_default();
        for subscription in self.rebalance.subscriptions() {
            if let Err(e) = self
                .instance
                .update_topic_route(&subscription.topic, timeout)
            {
                if !subscription.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
                    log::warn!("route of {}: {e}", subscription.topic);
                }
            }
        }
        self.instance.send_heartbeat_now();
    }

    // ----- the parts, for the handles -----------------------------------------------------

    pub(crate) fn instance(&self) -> &Arc<MqClientInstance> {
        &self.instance
    }

    pub(crate) fn rebalance(&self) -> &RebalanceImpl {
        &self.rebalance
    }

    pub(crate) fn offsets(&self) -> &dyn OffsetStore {
        &*self.offsets
    }

    /// Pops, acks and invisibility changes (a simple consumer's every call).
    pub(crate) fn pop_api(&self) -> &Arc<PopApiWrapper> {
        &self.pop_api
    }

    /// Suspends or resumes pulling and popping (a push consumer's `suspend` and `resume`).
    pub(crate) fn set_suspended(&self, suspended: bool) {
        self.pulls.set_suspended(suspended);
        self.pops.set_suspended(suspended);
    }

    /// The lite pull consumer's queue (None for a push consumer).
    pub(crate) fn poll_queue(&self) -> Option<&PollQueue> {
        match &*self.delivery {
            Delivery::Poll(polls) => Some(polls),
            Delivery::Concurrently(_) | Delivery::Orderly(_) | Delivery::Receive => None,
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.state.is_running()
    }

    // ----- membership -----------------------------------------------------------------------

    /// What heartbeats announce: group, model, subscriptions (none for a lite consumer that
    /// assigned itself its queues).
    pub(crate) fn consumer_data(&self) -> ConsumerData {
        let assigned = self.is_assigned();
        ConsumerData {
            group_name: self.settings.group.clone(),
            consume_type: Some(self.delivery.consume_type()),
            message_model: Some(self.settings.message_model),
            consume_from_where: Some(self.settings.consume_from.java()),
            subscription_data_set: if assigned {
                Vec::new()
            } else {
                self.rebalance.subscriptions()
            },
            unit_mode: false,
        }
    }

    /// Adds or replaces a subscription; the brokers hear of it at once, and the queues are
    /// re-shared.
    pub(crate) fn subscribe(&self, subscription: SubscriptionData) {
        self.rebalance.subscribe(subscription);
        self.instance.register_consumer(self.consumer_data());
        self.instance.send_heartbeat_now();
        self.rebalance_now();
    }

    /// Drops the subscription of `topic`; its queues are let go at the rebalance.
    pub(crate) fn unsubscribe(&self, topic: &str) {
        self.rebalance.unsubscribe(topic);
        self.instance.register_consumer(self.consumer_data());
        self.rebalance_now();
    }

    /// Lite pull `assign`: consumes exactly `queues` (namespaced), outside the group's
    /// sharing; a topic not subscribed yet is read whole (`*`).
    pub(crate) fn assign(&self, queues: &[MessageQueue]) -> Result<(), ClientError> {
        self.assigned.store(true, Ordering::SeqCst);
        for queue in queues {
            if self.rebalance.subscription(&queue.topic).is_none() {
                self.rebalance
                    .subscribe(build_subscription_data(&queue.topic, &SUB_ALL.into())?);
            }
        }
        self.instance.register_consumer(self.consumer_data());
        self.rebalance.assign(self, queues);
        Ok(())
    }

    /// Lite pull: the queues were given with `assign`.
    pub(crate) fn is_assigned(&self) -> bool {
        self.assigned.load(Ordering::SeqCst)
    }

    /// Re-shares the queues now (a notification; `rebalanceImmediately`).
    pub(crate) fn rebalance_now(&self) {
        self.rebalance_waker.wake();
    }

    /// Re-shares the queues (the rebalance thread, a notification, start), unless the
    /// consumer's queues were assigned.
    fn do_rebalance(&self) {
        if !self.is_assigned() && !self.pulls.is_suspended() {
            self.rebalance.do_rebalance(self);
        }
    }

    // ----- offsets ----------------------------------------------------------------------------

    fn persist_interval(&self) -> Duration {
        match &self.settings.delivery {
            DeliverySettings::Listener {
                persist_interval, ..
            } => *persist_interval,
            DeliverySettings::Poll {
                commit_interval, ..
            } => *commit_interval,
            // Never asked: a simple consumer has no offsets thread.
            DeliverySettings::Receive => Duration::MAX,
        }
    }

    /// Whether the offsets thread commits: always for a push consumer, with auto-commit for
    /// a lite one.
    fn commits_periodically(&self) -> bool {
        self.poll_queue().is_none_or(PollQueue::auto_commit)
    }

    /// Commits the offsets of every queue held (`persistConsumerOffset`; a lite consumer's
    /// `commitAll`, which first takes the offsets `poll` reached), oneway to the brokers.
    pub(crate) fn persist_offsets(&self) {
        self.commit_offsets(false);
    }

    /// [`ConsumerEngine::persist_offsets`], waiting for each broker to take its offsets (a
    /// lite consumer's `commit_sync`: a `committed` right after reads what was committed).
    pub(crate) fn persist_offsets_sync(&self) {
        self.commit_offsets(true);
    }

    fn commit_offsets(&self, sync: bool) {
        let held: Vec<MessageQueue> = self
            .rebalance
            .process_queues()
            .into_iter()
            .map(|(q, _)| q)
            .collect();
        if let Some(polls) = self.poll_queue() {
            let consumed = polls.consume_offsets();
            for queue in &held {
                if let Some(offset) = consumed.get(queue) {
                    self.offsets.update_offset(queue, *offset, false);
                }
            }
        }
        if sync {
            for queue in &held {
                self.offsets.persist(queue);
            }
        } else {
            self.offsets.persist_all(&held);
        }
    }

    /// Lite pull `seek`: the next pulls of `queue` start at `offset`; what was pulled and not
    /// polled is dropped.
    pub(crate) fn seek(&self, queue: &MessageQueue, offset: i64) -> Result<(), ClientError> {
        let Some(pq) = self.rebalance.replace_process_queue(queue) else {
            return Err(ClientError::invalid_argument(
                "queue",
                format!("{queue} is not held by this consumer"),
            ));
        };
        if let Some(polls) = self.poll_queue() {
            polls.set_consume_offset(queue, offset);
        }
        self.pulls.pull_now(PullRequest {
            message_queue: queue.clone(),
            process_queue: pq,
            next_offset: offset,
            previously_locked: false,
        });
        Ok(())
    }

    // ----- upkeep and shutdown ---------------------------------------------------------------

    /// Push: an orderly consumer renews its locks; a concurrent one sends back messages stuck
    /// in a listener.
    fn upkeep(&self) {
        match &*self.delivery {
            Delivery::Orderly(_) => {
                if self.settings.message_model == MessageModel::Clustering {
                    self.rebalance.lock_all();
                }
            }
            Delivery::Concurrently(service) => {
                if let DeliverySettings::Listener {
                    consume_timeout, ..
                } = &self.settings.delivery
                {
                    service.clean_expired(&self.rebalance.process_queues(), *consume_timeout);
                }
            }
            Delivery::Poll(_) | Delivery::Receive => {}
        }
    }

    /// Stops pulling, waits for listeners in progress, commits offsets (an orderly consumer
    /// unlocks its queues), unregisters from the brokers and joins every thread. The periodic
    /// threads stop before the brokers' connections close.
    pub(crate) fn shutdown(&self) {
        if self.state.swap(ServiceState::ShutdownAlready) != ServiceState::Running {
            return;
        }
        self.instance.begin_shutdown();
        self.pulls.shutdown();
        self.pops.shutdown();
        if let Some(threads) = self.threads.lock_unpoisoned().take() {
            threads.rebalance.stop();
            if let Some(upkeep) = threads.upkeep {
                upkeep.stop();
            }
            threads.offsets.stop();
        }
        if let DeliverySettings::Listener {
            await_termination, ..
        } = &self.settings.delivery
        {
            let still_running = self.delivery.shutdown(*await_termination);
            if still_running > 0 {
                log::warn!(
                    "group {}: {still_running} listener(s) still running after {} ms; their \
                     messages are not committed and will come again",
                    self.settings.group,
                    await_termination.as_millis()
                );
            }
        }
        self.scheduler.shutdown();
        // Acks sent by listeners that finished: their answers, before connections close.
        let unanswered = self.pop_api.await_in_flight(ACKS_AWAIT_AT_SHUTDOWN);
        if unanswered > 0 {
            log::warn!(
                "group {}: {unanswered} ack(s) unanswered at shutdown; those messages may come again",
                self.settings.group
            );
        }
        if self.commits_periodically() {
            self.persist_offsets();
        }
        if self.delivery.is_orderly() && self.settings.message_model == MessageModel::Clustering {
            self.rebalance.unlock_all(false);
        }
        self.rebalance.drop_all();
        self.instance.shutdown();
    }
}

/// What brokers ask of the consumer (`client_remoting_processor.rs`).
impl ConsumerInner for ConsumerEngine {
    fn group(&self) -> &str {
        &self.settings.group
    }

    /// The state `mqadmin consumerStatus` shows (GET_CONSUMER_RUNNING_INFO).
    fn running_info(&self) -> ConsumerRunningInfo {
        let settings = &self.settings;
        let mut info = ConsumerRunningInfo::default();
        let p = &mut info.properties;
        p.insert(
            prop::PROP_NAMESERVER_ADDR.into(),
            settings.client.name_server_addrs.join(";"),
        );
        if let DeliverySettings::Listener {
            consume_threads, ..
        } = &settings.delivery
        {
            p.insert(
                prop::PROP_THREADPOOL_CORE_SIZE.into(),
                consume_threads.to_string(),
            );
        }
        p.insert(
            prop::PROP_CONSUME_ORDERLY.into(),
            self.delivery.is_orderly().to_string(),
        );
        p.insert(
            prop::PROP_CONSUME_TYPE.into(),
            self.delivery.consume_type().name().into(),
        );
        p.insert(prop::PROP_CLIENT_VERSION.into(), "V4_9_8".into());
        p.insert(
            prop::PROP_CONSUMER_START_TIMESTAMP.into(),
            self.start_ms.to_string(),
        );
        p.insert("consumerGroup".into(), settings.group.clone());
        p.insert("messageModel".into(), settings.message_model.name().into());
        match &settings.delivery {
            DeliverySettings::Listener {
                batch_size,
                max_reconsume_times,
                ..
            } => {
                p.insert(
                    "consumeFromWhere".into(),
                    settings.consume_from.java().name().into(),
                );
                p.insert(
                    "allocateMessageQueueStrategy".into(),
                    settings.allocate_strategy.name().into(),
                );
                p.insert("pullBatchSize".into(), settings.pull.batch_size.to_string());
                p.insert("consumeMessageBatchMaxSize".into(), batch_size.to_string());
                p.insert("maxReconsumeTimes".into(), max_reconsume_times.to_string());
            }
            DeliverySettings::Poll { auto_commit, .. } => {
                p.insert("autoCommit".into(), auto_commit.is_some().to_string());
            }
            DeliverySettings::Receive => {}
        }
        if !self.rebalance.client_rebalance() {
            p.insert("clientRebalance".into(), "false".into());
            let pop = &settings.pop;
            p.insert(
                "popInvisibleTime".into(),
                pop.effective_invisible_time().as_millis().to_string(),
            );
            p.insert("popBatchNums".into(), pop.batch_size.to_string());
            p.insert(
                "popThresholdForQueue".into(),
                pop.threshold_for_queue.to_string(),
            );
        }
        info.subscription_set = self.rebalance.subscriptions();
        let consumed = self.poll_queue().map(PollQueue::consume_offsets);
        for (queue, pq) in self.rebalance.process_queues() {
            let committed = match &consumed {
                Some(consumed) => consumed.get(&queue).copied().unwrap_or(-1),
                None => self.offsets.read_offset(&queue, ReadOffsetType::Memory),
            };
            info.mq_table.insert(queue, pq.info(committed));
        }
        for (queue, pq) in self.rebalance.pop_process_queues() {
            info.mq_pop_table.insert(queue, pq.info());
        }
        if self.poll_queue().is_none() {
            for subscription in &info.subscription_set {
                info.status_table.insert(
                    subscription.topic.clone(),
                    self.stats.status(&subscription.topic),
                );
            }
        }
        info
    }

    /// Moves the offsets of `topic`'s queues (RESET_CONSUMER_CLIENT_OFFSET). A push consumer
    /// suspends, drops the queues, commits the new offsets and resumes (Java's
    /// `resetOffset`); the next rebalance takes the queues again. A lite consumer seeks.
    fn reset_offset(&self, topic: &str, offsets: &BTreeMap<MessageQueue, i64>) {
        if self.poll_queue().is_some() {
            for (queue, offset) in offsets.iter().filter(|(q, _)| q.topic == topic) {
                if let Err(e) = self.seek(queue, *offset) {
                    log::info!("reset of {queue}: {e}");
                    self.offsets.update_offset(queue, *offset, false);
                }
            }
            return self.persist_offsets();
        }
        self.pulls.set_suspended(true);
        let held: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .rebalance
            .process_queues()
            .into_iter()
            .filter(|(q, _)| q.topic == topic && offsets.contains_key(q))
            .collect();
        for (_, pq) in &held {
            pq.set_dropped(true);
            pq.clear();
        }
        for (queue, offset) in offsets {
            self.offsets.update_offset(queue, *offset, false);
            self.offsets.persist(queue);
        }
        for (queue, _) in &held {
            self.rebalance.remove_process_queue(queue);
        }
        self.pulls.set_suspended(false);
        self.rebalance_now();
    }

    /// The offsets held in memory for `topic` (GET_CONSUMER_STATUS_FROM_CLIENT).
    fn consumer_status(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.offsets.offsets_of(topic)
    }

    /// Consumes one message now and says how (CONSUME_MESSAGE_DIRECTLY).
    fn consume_message_directly(
        &self,
        message: MessageExt,
        broker_name: Option<&str>,
    ) -> ConsumeMessageDirectlyResult {
        let queue = MessageQueue::new(&message.topic, broker_name.unwrap_or(""), message.queue_id);
        let auto_commit = self.poll_queue().is_none_or(PollQueue::auto_commit);
        self.delivery.consume_directly(message, &queue, auto_commit)
    }

    fn rebalance_now(&self) {
        ConsumerEngine::rebalance_now(self);
    }
}

impl std::fmt::Debug for ConsumerEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerEngine")
            .field("group", &self.settings.group)
            .field("client_id", &self.instance.client_id())
            .field("state", &self.state.get())
            .field("queues", &self.rebalance.process_queues().len())
            .finish()
    }
}

impl RebalanceHandler for ConsumerEngine {
    fn message_queue_changed(&self, topic: &str, _all: &[MessageQueue], held: &[MessageQueue]) {
        log::info!(
            "group {}: now holds {} queue(s) of {topic}",
            self.settings.group,
            held.len()
        );
        if self.poll_queue().is_none() {
            // Brokers learn the new share (and the subscription version, and a pop retry
            // topic an assignment added or dropped) at once.
            self.instance.register_consumer(self.consumer_data());
            self.instance.send_heartbeat_now();
        }
    }

    fn remove_unnecessary_message_queue(&self, queue: &MessageQueue, pq: &ProcessQueue) -> bool {
        if let Some(offset) = self
            .poll_queue()
            .and_then(|polls| polls.take_consume_offset(queue))
        {
            self.offsets.update_offset(queue, offset, false);
        }
        self.offsets.persist(queue);
        self.offsets.remove_offset(queue);
        if !(self.delivery.is_orderly() && self.settings.message_model == MessageModel::Clustering)
        {
            return true;
        }
        // Orderly: unlock at the broker only once no listener runs on the queue, waiting for
        // one to finish its batch at most CONSUME_LOCK_WAIT.
        let Some(_consuming) = pq.try_lock_consume(CONSUME_LOCK_WAIT) else {
            pq.inc_try_unlock_times();
            log::warn!("{queue} is being consumed; keeping it until the next rebalance");
            return false;
        };
        if pq.has_messages() {
            let (rebalance, queue) = (self.rebalance.clone(), queue.clone());
            self.scheduler
                .schedule(UNLOCK_DELAY, move || rebalance.unlock(&queue, true));
        } else {
            self.rebalance.unlock(queue, true);
        }
        true
    }

    fn dispatch_pull_requests(&self, requests: Vec<PullRequest>) {
        for request in requests {
            if let Some(polls) = self.poll_queue() {
                polls.set_consume_offset(&request.message_queue, request.next_offset);
            }
            self.pulls.pull_now(request);
        }
    }

    fn dispatch_pop_requests(&self, requests: Vec<PopRequest>) {
        for request in requests {
            self.pops.pop_now(request);
        }
    }
}
