//! `RebalanceImpl`: which queues this member of a group consumes, and the process queue and
//! pull request of each; mirrors Java's `RebalanceImpl`.
//!
//! Every 20 s, and at once when the broker says the group changed, each member reads the
//! group's member list from a broker, sorts it and the topic's queues, and runs the same
//! allocation strategy: each takes its own share. Queues it no longer holds are dropped (their
//! offsets committed first; an orderly consumer unlocks them at the broker); queues it gains
//! get a process queue and a first pull request from the offset the group committed (or, for
//! a new group, where `consume_from` says).
//!
//! A push consumer built with `client_rebalance(false)` asks a broker instead
//! (QUERY_ASSIGNMENT, Java's `getRebalanceResultFromBroker`): the broker answers each queue
//! with PULL or POP, as `mqadmin setConsumeMode` set the group. Pulled queues are held as
//! above; popped ones (usually queue -1, every queue of the topic on a broker) get a pop
//! process queue and a pop request instead, for the pop loop. A broker that does not know
//! QUERY_ASSIGNMENT (4.x) gets the client's own sharing instead, where Java's consumer would
//! take no queue.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use super::offset_store::{committed_offset, OffsetStore};
use super::pop_process_queue::PopProcessQueue;
use super::process_queue::ProcessQueue;
use crate::client::consumer::allocate::AllocateMessageQueueStrategy;
use crate::client::consumer::consume_from::ConsumeFrom;
use crate::client::consumer::subscription::{build_subscription_data, SUB_ALL};
use crate::client::shared::client_instance::{BrokerChoice, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::sync::{MutexExt, RwLockExt};
use crate::common::trace::trace_step;
use crate::protocol::body::{
    ConsumeType, LockBatchRequestBody, MessageModel, MessageQueueAssignment, MessageRequestMode,
    QueryAssignmentRequestBody, SubscriptionData, UnlockBatchRequestBody,
};
use crate::protocol::codes::response_code;
use crate::protocol::header::pop_retry_topic_v1;
use crate::protocol::message::MessageQueue;

/// The next pull of one queue; mirrors Java's `PullRequest`.
#[derive(Clone)]
pub(crate) struct PullRequest {
    /// The queue.
    pub(crate) message_queue: MessageQueue,
    /// Its process queue (dropped when the queue is taken away).
    pub(crate) process_queue: Arc<ProcessQueue>,
    /// The offset to pull from.
    pub(crate) next_offset: i64,
    /// Orderly: the first pull after the lock re-reads the committed offset.
    pub(crate) previously_locked: bool,
}

/// The next pop of one queue; mirrors Java's `PopRequest`.
#[derive(Clone)]
pub(crate) struct PopRequest {
    /// The queue (queue id -1: every queue of the topic on its broker).
    pub(crate) message_queue: MessageQueue,
    /// Its pop process queue (dropped when the queue is taken away).
    pub(crate) process_queue: Arc<PopProcessQueue>,
    /// Where a group without an offset starts (`ConsumeInitMode`).
    pub(crate) init_mode: i32,
}

impl std::fmt::Debug for PopRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PopRequest[{}]", self.message_queue)
    }
}

impl std::fmt::Debug for PullRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PullRequest[{} from {}]",
            self.message_queue, self.next_offset
        )
    }
}

/// What the consumer does when its share changes (Java's `RebalancePushImpl` and
/// `RebalanceLitePullImpl` overrides, implemented once by the consumer engine).
pub(crate) trait RebalanceHandler: Send + Sync {
    /// The queues of `topic` held changed (`messageQueueChanged`).
    fn message_queue_changed(&self, topic: &str, all: &[MessageQueue], held: &[MessageQueue]);
    /// Lets go of `queue` (commits its offset; an orderly consumer also unlocks it). False
    /// when it cannot be let go now (an orderly listener is running on it): the next
    /// rebalance tries again.
    fn remove_unnecessary_message_queue(&self, queue: &MessageQueue, pq: &ProcessQueue) -> bool;
    /// Starts pulling newly held queues (`dispatchPullRequest`).
    fn dispatch_pull_requests(&self, requests: Vec<PullRequest>);
    /// Starts popping newly assigned queues (`dispatchPopPullRequest`).
    fn dispatch_pop_requests(&self, requests: Vec<PopRequest>);
}

/// One consumer's share of its group.
pub(crate) struct RebalanceImpl {
    group: String,
    model: MessageModel,
    /// Push or pull: a push consumer also drops queues whose pulls stopped.
    consume_type: ConsumeType,
    /// Orderly: queues are locked at their brokers before they are taken.
    orderly: bool,
    /// The member shares queues itself; false: a broker assigns them (QUERY_ASSIGNMENT).
    client_rebalance: bool,
    strategy: Arc<dyn AllocateMessageQueueStrategy>,
    /// Where a newly held queue starts when the group has no offset for it.
    consume_from: ConsumeFrom,
    offsets: Arc<dyn OffsetStore>,
    instance: Arc<MqClientInstance>,
    /// Topic → subscription (`subscriptionInner`).
    subscriptions: RwLock<BTreeMap<String, SubscriptionData>>,
    /// Queue → process queue, of the queues held (`processQueueTable`).
    process_queues: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    /// Queue → pop process queue, of the queues popped (`popProcessQueueTable`).
    pop_process_queues: Mutex<HashMap<MessageQueue, Arc<PopProcessQueue>>>,
    /// One rebalance at a time (the periodic thread, a notification, a reset).
    running: Mutex<()>,
}

/// What a rebalance is made of.
pub(crate) struct RebalanceParts {
    pub(crate) group: String,
    pub(crate) model: MessageModel,
    pub(crate) consume_type: ConsumeType,
    pub(crate) orderly: bool,
    /// Java's `clientRebalance`, already forced on for an orderly or broadcasting consumer.
    pub(crate) client_rebalance: bool,
    pub(crate) strategy: Arc<dyn AllocateMessageQueueStrategy>,
    pub(crate) consume_from: ConsumeFrom,
    pub(crate) offsets: Arc<dyn OffsetStore>,
    pub(crate) instance: Arc<MqClientInstance>,
}

impl RebalanceImpl {
    pub(crate) fn new(parts: RebalanceParts) -> Self {
        RebalanceImpl {
            group: parts.group,
            model: parts.model,
            consume_type: parts.consume_type,
            orderly: parts.orderly,
            client_rebalance: parts.client_rebalance,
            strategy: parts.strategy,
            consume_from: parts.consume_from,
            offsets: parts.offsets,
            instance: parts.instance,
            subscriptions: RwLock::new(BTreeMap::new()),
            process_queues: Mutex::new(HashMap::new()),
            pop_process_queues: Mutex::new(HashMap::new()),
            running: Mutex::new(()),
        }
    }

    /// Adds or replaces the subscription of its topic.
    pub(crate) fn subscribe(&self, subscription: SubscriptionData) {
        self.subscriptions
            .write_unpoisoned()
            .insert(subscription.topic.clone(), subscription);
    }

    /// Drops the subscription of `topic`.
    pub(crate) fn unsubscribe(&self, topic: &str) {
        self.subscriptions.write_unpoisoned().remove(topic);
    }

    pub(crate) fn subscription(&self, topic: &str) -> Option<SubscriptionData> {
        self.subscriptions.read_unpoisoned().get(topic).cloned()
    }

    /// Whether this member shares queues itself (false: a broker assigns them).
    pub(crate) fn client_rebalance(&self) -> bool {
        self.client_rebalance
    }

    pub(crate) fn subscriptions(&self) -> Vec<SubscriptionData> {
        self.subscriptions
            .read_unpoisoned()
            .values()
            .cloned()
            .collect()
    }

    /// The queues held now with their process queues.
    pub(crate) fn process_queues(&self) -> Vec<(MessageQueue, Arc<ProcessQueue>)> {
        let mut held: Vec<_> = self
            .process_queues
            .lock_unpoisoned()
            .iter()
            .map(|(q, pq)| (q.clone(), pq.clone()))
            .collect();
        held.sort_by(|a, b| a.0.cmp(&b.0));
        held
    }

    /// The queues popped now with their pop process queues.
    pub(crate) fn pop_process_queues(&self) -> Vec<(MessageQueue, Arc<PopProcessQueue>)> {
        let mut popped: Vec<_> = self
            .pop_process_queues
            .lock_unpoisoned()
            .iter()
            .map(|(q, pq)| (q.clone(), pq.clone()))
            .collect();
        popped.sort_by(|a, b| a.0.cmp(&b.0));
        popped
    }

    pub(crate) fn process_queue(&self, queue: &MessageQueue) -> Option<Arc<ProcessQueue>> {
        self.process_queues.lock_unpoisoned().get(queue).cloned()
    }

    /// Drops a queue's process queue without letting go of it at the broker (an offset reset
    /// re-adds it at the next rebalance).
    pub(crate) fn remove_process_queue(&self, queue: &MessageQueue) -> Option<Arc<ProcessQueue>> {
        let removed = self.process_queues.lock_unpoisoned().remove(queue);
        if let Some(pq) = &removed {
            pq.set_dropped(true);
        }
        removed
    }

    /// Re-reads the group and re-shares every subscribed topic (`doRebalance`).
    pub(crate) fn do_rebalance(&self, handler: &dyn RebalanceHandler) {
        let _one_at_a_time = self.running.lock_unpoisoned();
        let subscriptions = self.subscriptions();
        for subscription in &subscriptions {
            let topic = &subscription.topic;
            let rebalanced = if self.client_rebalance {
                self.rebalance_by_topic(handler, topic)
            } else {
                match self.rebalance_by_broker(handler, topic) {
                    // A 4.x broker assigns nothing: share the queues as ever.
                    Err(e)
                        if e.response_code() == Some(response_code::REQUEST_CODE_NOT_SUPPORTED) =>
                    {
                        log::info!(
                            "group {}: the broker of {topic} does not assign queues ({e}); \
                             sharing them in the client",
                            self.group
                        );
                        self.rebalance_by_topic(handler, topic)
                    }
                    other => other,
                }
            };
            if let Err(e) = rebalanced {
                if !subscription.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
                    log::warn!(
                        "rebalance of topic {} for group {} failed: {e}",
                        subscription.topic,
                        self.group
                    );
                }
            }
        }
        self.drop_queues_of_other_topics(&subscriptions);
    }

    fn rebalance_by_topic(
        &self,
        handler: &dyn RebalanceHandler,
        topic: &str,
    ) -> Result<(), ClientError> {
        let all = match self.instance.cached_subscribe_queues(topic) {
            Some(queues) => queues,
            None => {
                self.instance
                    .update_topic_route(topic, self.instance.api_timeout_default())?;
                self.instance
                    .cached_subscribe_queues(topic)
                    .unwrap_or_default()
            }
        };
        let held = match self.model {
            MessageModel::Broadcasting => all.clone(),
            MessageModel::Clustering => {
                let addr = self
                    .instance
                    .find_broker_address_by_topic(topic)
                    .ok_or_else(|| ClientError::NoRoute {
                        topic: topic.to_string(),
                        reason: "no broker to ask for the group's members".into(),
                    })?;
                let me = self.instance.client_id();
                let mut members = self.members(&addr)?;
                if !members.iter().any(|m| m == me) {
                    // That broker has not had our heartbeat yet (it was not in any route when
                    // the last one went out): send one now and ask again.
                    self.instance.send_heartbeat_now();
                    members = self.members(&addr)?;
                }
                if !members.iter().any(|m| m == me) {
                    // Our heartbeat has not reached that broker yet: take nothing rather
                    // than guess at a share.
                    log::info!(
                        "group {} has no member {me} at {addr} yet; rebalance of {topic} put off",
                        self.group
                    );
                    return Ok(());
                }
                let mut held = self.strategy.allocate(&self.group, me, &all, &members);
                held.sort();
                held.dedup();
                trace_step!(
                    "client",
                    "rebalance {topic}: {} members, {} queues, strategy {}, {me} takes {}",
                    members.len(),
                    all.len(),
                    self.strategy.name(),
                    held.iter()
                        .map(|q| q.queue_id.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                );
                held
            }
        };
        if self.update_process_queue_table(handler, topic, &held) {
            handler.message_queue_changed(topic, &all, &held);
        }
        Ok(())
    }

    /// Asks a broker of `topic` which queues this member takes and whether it pulls or pops
    /// each (`getRebalanceResultFromBroker`); no answer keeps what is held.
    fn rebalance_by_broker(
        &self,
        handler: &dyn RebalanceHandler,
        topic: &str,
    ) -> Result<(), ClientError> {
        let timeout = self.instance.api_timeout_default();
        let addr = match self.instance.find_broker_address_by_topic(topic) {
            Some(addr) => addr,
            None => {
                self.instance.update_topic_route(topic, timeout)?;
                self.instance
                    .find_broker_address_by_topic(topic)
                    .ok_or_else(|| ClientError::NoRoute {
                        topic: topic.to_string(),
                        reason: "no broker to ask for the assignment".into(),
                    })?
            }
        };
        let body = assignment_request(
            topic,
            &self.group,
            self.instance.client_id(),
            &*self.strategy,
            self.model,
        );
        let Some(assignments) = self
            .instance
            .api()
            .query_assignment(&addr, &body, timeout)?
        else {
            log::info!(
                "group {}: {addr} has no assignment of {topic} for us",
                self.group
            );
            return Ok(());
        };
        let held: Vec<MessageQueue> = assignments
            .iter()
            .map(|a| a.message_queue.clone())
            .collect();
        if self.update_message_queue_assignment(handler, topic, &assignments) {
            handler.message_queue_changed(topic, &[], &held);
        }
        Ok(())
    }

    /// Holds what the broker assigned (`updateMessageQueueAssignment`): pulled queues as a
    /// rebalance holds them, popped ones with a pop process queue each. A topic that goes
    /// from pop to pull also reads its pop retry topic (what was popped and not acked comes
    /// back there), and stops reading it when it goes back to pop, where pops read it.
    fn update_message_queue_assignment(
        &self,
        handler: &dyn RebalanceHandler,
        topic: &str,
        assignments: &[MessageQueueAssignment],
    ) -> bool {
        let (popped, pulled): (Vec<&MessageQueueAssignment>, Vec<&MessageQueueAssignment>) =
            assignments
                .iter()
                .partition(|a| a.mode == MessageRequestMode::Pop);
        let popped: Vec<MessageQueue> = popped.iter().map(|a| a.message_queue.clone()).collect();
        let pulled: Vec<MessageQueue> = pulled.iter().map(|a| a.message_queue.clone()).collect();
        if !topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            let retry = pop_retry_topic_v1(topic, &self.group);
            if popped.is_empty() && !pulled.is_empty() {
                if self.subscription(&retry).is_none() {
                    if let Ok(subscription) = build_subscription_data(&retry, &SUB_ALL.into()) {
                        self.subscribe(subscription);
                    }
                }
            } else if !popped.is_empty() && pulled.is_empty() {
                self.unsubscribe(&retry);
            }
        }
        let mut changed = self.update_process_queue_table(handler, topic, &pulled);

        let current: Vec<(MessageQueue, Arc<PopProcessQueue>)> = self
            .pop_process_queues
            .lock_unpoisoned()
            .iter()
            .filter(|(q, _)| q.topic == topic)
            .map(|(q, pq)| (q.clone(), pq.clone()))
            .collect();
        for (queue, pq) in current {
            let let_go = if !popped.contains(&queue) {
                true
            } else if pq.is_pull_expired() {
                log::error!(
                    "pops of {queue} stopped for 120 s; dropping it so that the next rebalance restarts it"
                );
                true
            } else {
                false
            };
            if let_go {
                pq.set_dropped(true);
                self.pop_process_queues.lock_unpoisoned().remove(&queue);
                log::info!("group {}: no longer pops {queue}", self.group);
                changed = true;
            }
        }
        let init_mode = self.consume_from.pop_init_mode();
        let mut requests = Vec::new();
        for queue in popped {
            let pq = {
                let mut table = self.pop_process_queues.lock_unpoisoned();
                if table.contains_key(&queue) {
                    continue;
                }
                let pq = Arc::new(PopProcessQueue::default());
                table.insert(queue.clone(), pq.clone());
                pq
            };
            log::info!("group {}: pops {queue}", self.group);
            requests.push(PopRequest {
                message_queue: queue,
                process_queue: pq,
                init_mode,
            });
            changed = true;
        }
        handler.dispatch_pop_requests(requests);
        changed
    }

    /// The group's members as `addr` knows them, sorted. A broker that knows no member
    /// answers an error; that is an empty group.
    fn members(&self, addr: &str) -> Result<Vec<String>, ClientError> {
        let listed = self.instance.api().get_consumer_id_list(
            addr,
            &self.group,
            self.instance.api_timeout_default(),
        );
        let mut members = match listed {
            Ok(members) => members,
            Err(e) if e.response_code().is_some() => Vec::new(),
            Err(e) => return Err(e),
        };
        members.sort();
        Ok(members)
    }

    /// Where a newly held queue starts (`computePullFromWhereWithException`): the offset the
    /// group committed, else where `consume_from` says (a retry topic from its start, or, by
    /// timestamp, from its end).
    pub(crate) fn compute_pull_from_where(&self, queue: &MessageQueue) -> Result<i64, ClientError> {
        if let Some(committed) = committed_offset(&*self.offsets, queue)? {
            return Ok(committed);
        }
        let retry = queue.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        let timeout = self.instance.api_timeout_default();
        match self.consume_from {
            ConsumeFrom::FirstOffset => Ok(0),
            ConsumeFrom::LastOffset if retry => Ok(0),
            ConsumeFrom::LastOffset => self.instance.max_offset(queue, timeout),
            ConsumeFrom::Timestamp(_) if retry => self.instance.max_offset(queue, timeout),
            ConsumeFrom::Timestamp(at) => self.instance.search_offset(queue, at, timeout),
        }
    }

    /// Drops queues no longer held, adds new ones (`updateProcessQueueTableInRebalance`).
    /// True when anything changed.
    fn update_process_queue_table(
        &self,
        handler: &dyn RebalanceHandler,
        topic: &str,
        held: &[MessageQueue],
    ) -> bool {
        let mut changed = false;
        let current: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .process_queue_snapshot()
            .into_iter()
            .filter(|(q, _)| q.topic == topic)
            .collect();
        for (queue, pq) in &current {
            let let_go = if !held.contains(queue) {
                true
            } else if pq.is_pull_expired() && self.consume_type == ConsumeType::ConsumePassively {
                log::error!(
                    "pulls of {queue} stopped for 120 s; dropping it so that the next rebalance restarts it"
                );
                true
            } else {
                false
            };
            if let_go {
                pq.set_dropped(true);
                if handler.remove_unnecessary_message_queue(queue, pq) {
                    self.process_queues.lock_unpoisoned().remove(queue);
                    log::info!("group {}: let go of {queue}", self.group);
                    changed = true;
                }
            }
        }
        let mut requests = Vec::new();
        for queue in held {
            if self.process_queues.lock_unpoisoned().contains_key(queue) {
                continue;
            }
            if self.orderly && !self.lock(queue) {
                log::warn!(
                    "group {}: not taking {queue}: its lock is held by another member",
                    self.group
                );
                continue;
            }
            // Forget what memory says (`removeDirtyOffset`): the store says where to start.
            self.offsets.remove_offset(queue);
            let pq = Arc::new(ProcessQueue::default());
            pq.set_locked(true);
            let next_offset = match self.compute_pull_from_where(queue) {
                Ok(offset) if offset >= 0 => offset,
                Ok(offset) => {
                    log::warn!(
                        "group {}: no start offset for {queue} ({offset})",
                        self.group
                    );
                    continue;
                }
                Err(e) => {
                    log::info!("group {}: no start offset for {queue}: {e}", self.group);
                    continue;
                }
            };
            let added = {
                let mut table = self.process_queues.lock_unpoisoned();
                if table.contains_key(queue) {
                    false
                } else {
                    table.insert(queue.clone(), pq.clone());
                    true
                }
            };
            if added {
                log::info!(
                    "group {}: took {queue} from offset {next_offset}",
                    self.group
                );
                requests.push(PullRequest {
                    message_queue: queue.clone(),
                    process_queue: pq,
                    next_offset,
                    previously_locked: false,
                });
                changed = true;
            }
        }
        handler.dispatch_pull_requests(requests);
        changed
    }

    fn process_queue_snapshot(&self) -> Vec<(MessageQueue, Arc<ProcessQueue>)> {
        self.process_queues
            .lock_unpoisoned()
            .iter()
            .map(|(q, pq)| (q.clone(), pq.clone()))
            .collect()
    }

    /// Holds exactly `queues` (a lite pull consumer's `assign`): the same process-queue
    /// bookkeeping as a rebalance, without asking the group.
    pub(crate) fn assign(&self, handler: &dyn RebalanceHandler, queues: &[MessageQueue]) {
        let _one_at_a_time = self.running.lock_unpoisoned();
        let mut topics: Vec<&str> = queues.iter().map(|q| q.topic.as_str()).collect();
        for (held, pq) in self.process_queue_snapshot() {
            if !queues.iter().any(|q| q.topic == held.topic) {
                pq.set_dropped(true);
                self.process_queues.lock_unpoisoned().remove(&held);
            }
        }
        topics.sort();
        topics.dedup();
        for topic in topics {
            let of_topic: Vec<MessageQueue> = queues
                .iter()
                .filter(|q| q.topic == topic)
                .cloned()
                .collect();
            if self.update_process_queue_table(handler, topic, &of_topic) {
                handler.message_queue_changed(topic, &of_topic, &of_topic);
            }
        }
    }

    /// Replaces the process queue of a held queue with a fresh one (a lite pull consumer's
    /// `seek`): the old one is dropped, so what its pulls bring is discarded.
    pub(crate) fn replace_process_queue(&self, queue: &MessageQueue) -> Option<Arc<ProcessQueue>> {
        let mut table = self.process_queues.lock_unpoisoned();
        let old = table.get(queue)?.clone();
        old.set_dropped(true);
        let fresh = Arc::new(ProcessQueue::default());
        fresh.set_locked(true);
        table.insert(queue.clone(), fresh.clone());
        Some(fresh)
    }

    /// Drops the queues of topics no longer subscribed (`truncateMessageQueueNotMyTopic`).
    fn drop_queues_of_other_topics(&self, subscriptions: &[SubscriptionData]) {
        self.pop_process_queues
            .lock_unpoisoned()
            .retain(|queue, pq| {
                let keep = subscriptions.iter().any(|s| s.topic == queue.topic);
                if !keep {
                    pq.set_dropped(true);
                }
                keep
            });
        let mut table = self.process_queues.lock_unpoisoned();
        table.retain(|queue, pq| {
            let keep = subscriptions.iter().any(|s| s.topic == queue.topic);
            if !keep {
                pq.set_dropped(true);
                log::info!(
                    "group {}: {queue} belongs to no subscription now",
                    self.group
                );
            }
            keep
        });
    }

    /// Lets go of every queue (shutdown; `destroy`).
    pub(crate) fn drop_all(&self) {
        for (_, pq) in self.process_queues.lock_unpoisoned().drain() {
            pq.set_dropped(true);
        }
        for (_, pq) in self.pop_process_queues.lock_unpoisoned().drain() {
            pq.set_dropped(true);
        }
    }

    // ----- orderly locks ------------------------------------------------------------------

    /// Locks one queue at its broker's master (`lock`); true when we hold it.
    pub(crate) fn lock(&self, queue: &MessageQueue) -> bool {
        let Some(addr) = self.master_of(queue) else {
            return false;
        };
        let body = LockBatchRequestBody {
            consumer_group: self.group.clone(),
            client_id: self.instance.client_id().to_string(),
            only_this_broker: None,
            mq_set: [queue.clone()].into_iter().collect(),
        };
        match self
            .instance
            .api()
            .lock_batch_mq(&addr, &body, self.instance.api_timeout_default())
        {
            Ok(locked) => {
                for q in &locked {
                    if let Some(pq) = self.process_queue(q) {
                        pq.set_locked(true);
                    }
                }
                locked.contains(queue)
            }
            Err(e) => {
                log::warn!("locking {queue} at {addr} failed: {e}");
                false
            }
        }
    }

    /// Renews the locks of every queue held, broker by broker (`lockAll`, every 20 s):
    /// queues the broker no longer locks for us stop being consumed until they are locked.
    pub(crate) fn lock_all(&self) {
        for (_, queues) in self.held_by_broker() {
            let Some(addr) = queues.first().and_then(|q| self.master_of(q)) else {
                continue;
            };
            let body = LockBatchRequestBody {
                consumer_group: self.group.clone(),
                client_id: self.instance.client_id().to_string(),
                only_this_broker: None,
                mq_set: queues.clone(),
            };
            match self.instance.api().lock_batch_mq(
                &addr,
                &body,
                self.instance.api_timeout_default(),
            ) {
                Ok(locked) => {
                    for queue in &queues {
                        if let Some(pq) = self.process_queue(queue) {
                            let ours = locked.contains(queue);
                            if !ours && pq.is_locked() {
                                log::warn!("group {}: lost the lock of {queue}", self.group);
                            }
                            pq.set_locked(ours);
                        }
                    }
                }
                Err(e) => log::warn!("renewing locks at {addr} failed: {e}"),
            }
        }
    }

    /// Unlocks one queue at its broker (`unlock`).
    pub(crate) fn unlock(&self, queue: &MessageQueue, oneway: bool) {
        let Some(addr) = self.master_of(queue) else {
            return;
        };
        let body = UnlockBatchRequestBody {
            consumer_group: self.group.clone(),
            client_id: self.instance.client_id().to_string(),
            only_this_broker: None,
            mq_set: [queue.clone()].into_iter().collect(),
        };
        if let Err(e) = self.instance.api().unlock_batch_mq(
            &addr,
            &body,
            oneway,
            self.instance.api_timeout_default(),
        ) {
            log::warn!("unlocking {queue} at {addr} failed: {e}");
        }
    }

    /// Unlocks every queue held (`unlockAll`, at shutdown).
    pub(crate) fn unlock_all(&self, oneway: bool) {
        for (_, queues) in self.held_by_broker() {
            let Some(addr) = queues.first().and_then(|q| self.master_of(q)) else {
                continue;
            };
            let body = UnlockBatchRequestBody {
                consumer_group: self.group.clone(),
                client_id: self.instance.client_id().to_string(),
                only_this_broker: None,
                mq_set: queues.clone(),
            };
            if let Err(e) = self.instance.api().unlock_batch_mq(
                &addr,
                &body,
                oneway,
                self.instance.api_timeout_default(),
            ) {
                log::warn!("unlocking queues at {addr} failed: {e}");
            }
            for queue in &queues {
                if let Some(pq) = self.process_queue(queue) {
                    pq.set_locked(false);
                }
            }
        }
    }

    fn held_by_broker(&self) -> BTreeMap<String, BTreeSet<MessageQueue>> {
        let mut by_broker: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for (queue, _) in self.process_queue_snapshot() {
            by_broker
                .entry(queue.broker_name.clone())
                .or_default()
                .insert(queue);
        }
        by_broker
    }

    /// The master of `queue`'s broker; none known is logged and skipped (the next round of
    /// locks tries again).
    fn master_of(&self, queue: &MessageQueue) -> Option<String> {
        let timeout = self.instance.api_timeout_default();
        match self
            .instance
            .find_broker_address(queue, BrokerChoice::Master, timeout)
        {
            Ok(found) => Some(found.addr),
            Err(e) => {
                log::debug!("no master for {queue}: {e}");
                None
            }
        }
    }
}

/// What a member asks a broker for its share of `topic` (`queryAssignment`): its group, id,
/// allocation strategy and model, as a Java 5.3.3 consumer sends them.
fn assignment_request(
    topic: &str,
    group: &str,
    client_id: &str,
    strategy: &dyn AllocateMessageQueueStrategy,
    model: MessageModel,
) -> QueryAssignmentRequestBody {
    QueryAssignmentRequestBody {
        topic: topic.to_string(),
        consumer_group: group.to_string(),
        client_id: client_id.to_string(),
        strategy_name: strategy.name().to_string(),
        message_model: Some(model),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::consumer::allocate::AllocateAveragely;
    use crate::client::shared::test_support::fixture_body;

    #[test]
    fn the_assignment_request_is_what_a_java_consumer_sends() {
        // 070: a Java 5.3.3 push consumer with clientRebalance(false) asking for CapPop5.
        let body = assignment_request(
            "CapPop5",
            "CapPopG5",
            "192.0.2.2@23204#7587576566205",
            &AllocateAveragely,
            MessageModel::Clustering,
        );
        assert_eq!(
            body.to_json().as_bytes(),
            &fixture_body("java-5.3.3/070-req-code400-json.bin")[..]
        );
    }
}
