//! The broker's side of transactions: stores half messages, ends them, and finds the ones
//! left open; mirrors Java's `TransactionalMessageServiceImpl`.
//!
//! A half message waits in queue 0 of `RMQ_SYS_TRANS_HALF_TOPIC`. Ending it writes an op
//! record (queue 0 of `RMQ_SYS_TRANS_OP_HALF_TOPIC`, body = the half's queue offset) and, for
//! a commit, the real message. The check scan walks the half queue from its progress offset:
//! an ended half is passed, an open one older than the transaction timeout is copied to the
//! end of the queue with its check count raised and its producer group is asked about the
//! copy. Both progress offsets are kept as group `CID_RMQ_SYS_TRANS` in the consumer offsets,
//! so everything, and the set of ended halves (re-read from the op queue), survives a restart.
//!
//! One rule more than Java, so that a transaction ends once: every copy names the first half
//! of its transaction (`TRAN_PREPARED_QUEUE_OFFSET`), and an END_TRANSACTION for any copy ends
//! the transaction's live copy, the newest one not yet passed by the scan. An END for a
//! transaction that has already ended, been given up, or names no half message is logged and
//! ignored: a late or repeated answer to a check changes nothing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bridge::{
    check_immunity_millis, check_times, committed_message, discarded_message, first_half_offset,
    half_message, op_half_offset, op_message, renewed_half, CID_SYS_RMQ_TRANS,
};
use crate::broker::consumer_offset_manager::ConsumerOffsetManager;
use crate::broker::store::{
    GetMessageStatus, MessageStore, PutMessageResult, PutMessageStatus, StoreError,
};
use crate::broker::topic_config_manager::{
    TopicConfigManager, RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
};
use crate::common::clock::now_millis;
use crate::common::sync::MutexExt;
use crate::protocol::body::perm_name;
use crate::protocol::message::message_const::PROPERTY_PRODUCER_GROUP;
use crate::protocol::message::{decode_message, MessageExt};

/// How long one scan may run (`MAX_PROCESS_TIME_LIMIT`, 60 s).
const MAX_PROCESS_TIME: Duration = Duration::from_secs(60);

/// Records read per store call when re-reading the queues at start.
const READ_BATCH: i32 = 64;

/// What a producer asked END_TRANSACTION to do (`commitOrRollback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndAction {
    /// Write the real message, then end the half.
    Commit,
    /// End the half; nothing is delivered.
    Rollback,
}

/// END_TRANSACTION's request, as the service needs it.
#[derive(Debug, Clone)]
pub(crate) struct EndRequest<'a> {
    /// The producer group that claims the transaction.
    pub(crate) producer_group: &'a str,
    /// The half's queue offset (`tranStateTableOffset`).
    pub(crate) queue_offset: i64,
    /// The half's commit log offset.
    pub(crate) commit_log_offset: i64,
    /// Commit or roll back.
    pub(crate) action: EndAction,
}

/// Why an END_TRANSACTION did nothing, with Java's remarks where Java has one.
#[derive(Debug)]
pub(crate) enum EndError {
    /// No half message at that commit log offset (`Find prepared transaction message failed`).
    NotFound,
    /// The half belongs to another group, or the offsets disagree (Java's remarks).
    Mismatch(&'static str),
    /// The transaction has already ended or was given up: ignored.
    AlreadyEnded {
        /// The live copy's queue offset.
        live_offset: i64,
    },
    /// The store refused the real message or the op record.
    Store(StoreError),
}

/// What one check scan found.
#[derive(Debug, Default)]
pub(crate) struct CheckRound {
    /// Copies of open halves whose producer groups must be asked, positions set.
    pub(crate) to_check: Vec<MessageExt>,
    /// Halves checked `transactionCheckMax` times, moved to `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub(crate) discarded: usize,
    /// Whether the progress offsets moved (then they want persisting).
    pub(crate) progressed: bool,
}

/// The scan's bookkeeping; guarded by one mutex so that an END and the scan never both act
/// on one half.
struct State {
    /// The next half queue offset the scan looks at: halves below it are no longer open.
    half_progress: i64,
    /// Ended halves at or above `half_progress`: half queue offset → op queue offset.
    ended: BTreeMap<i64, i64>,
    /// Transactions that were copied: first half's offset → the live copy's offset.
    moved: BTreeMap<i64, i64>,
}

impl State {
    /// The offset of the live copy of the transaction whose first half is at `first`.
    fn live_offset(&self, first: i64) -> i64 {
        self.moved.get(&first).copied().unwrap_or(first)
    }

    fn is_open(&self, offset: i64) -> bool {
        offset >= self.half_progress && !self.ended.contains_key(&offset)
    }

    /// Moves the scan's progress to `offset` and forgets what lies below it.
    fn advance_to(&mut self, offset: i64) {
        self.half_progress = offset;
        self.ended = self.ended.split_off(&offset);
        self.moved.retain(|_, live| *live >= offset);
    }
}

/// Stores, ends and checks transactional half messages.
pub(crate) struct TransactionalMessageService {
    store: Arc<MessageStore>,
    store_host: SocketAddr,
    state: Mutex<State>,
}

impl TransactionalMessageService {
    /// The service over `store`, resuming from the progress offsets in `offsets` and
    /// re-reading the op records and the open halves after them.
    pub(crate) fn load(
        store: Arc<MessageStore>,
        store_host: SocketAddr,
        offsets: &ConsumerOffsetManager,
    ) -> Self {
        let progress = |topic: &str| {
            offsets
                .query_offset(CID_SYS_RMQ_TRANS, topic, 0)
                .unwrap_or_else(|| store.min_offset_in_queue(topic, 0))
        };
        let half_progress = progress(RMQ_SYS_TRANS_HALF_TOPIC);
        let op_progress = progress(RMQ_SYS_TRANS_OP_HALF_TOPIC);
        let mut state = State {
            half_progress,
            ended: BTreeMap::new(),
            moved: BTreeMap::new(),
        };
        for_each_record(
            &store,
            RMQ_SYS_TRANS_OP_HALF_TOPIC,
            op_progress,
            |op| match op_half_offset(op) {
                Some(half) if half >= half_progress => {
                    state.ended.insert(half, op.queue_offset);
                }
                Some(_) => {}
                None => log::error!(
                    "op record {} of {RMQ_SYS_TRANS_OP_HALF_TOPIC} names no half; skipped",
                    op.queue_offset
                ),
            },
        );
        for_each_record(&store, RMQ_SYS_TRANS_HALF_TOPIC, half_progress, |half| {
            let first = first_half_offset(half);
            if first != half.queue_offset {
                // Offsets only grow: the last copy read is the live one.
                state.moved.insert(first, half.queue_offset);
            }
        });
        if !state.ended.is_empty() || !state.moved.is_empty() {
            log::info!(
                "transactions: resuming at half offset {half_progress}, {} ended and {} copied \
                 transaction(s) ahead",
                state.ended.len(),
                state.moved.len()
            );
        }
        TransactionalMessageService {
            store,
            store_host,
            state: Mutex::new(state),
        }
    }

    /// `prepareMessage`: stores a half message (its topic and queue are the real ones). The
    /// result's queue offset is the half's, which the producer sends back to end it.
    pub(crate) fn prepare(
        &self,
        topics: &TopicConfigManager,
        message: MessageExt,
    ) -> Result<PutMessageResult, StoreError> {
        ensure_topic(topics, RMQ_SYS_TRANS_HALF_TOPIC);
        self.store.put_message(half_message(message))
    }

    /// END_TRANSACTION: validates the request against the half it names, and commits or
    /// rolls back the transaction's live copy. Returns the real message's put result for a
    /// commit.
    pub(crate) fn end(
        &self,
        topics: &TopicConfigManager,
        request: &EndRequest<'_>,
    ) -> Result<Option<PutMessageResult>, EndError> {
        let half = self
            .store
            .look_message_by_offset(request.commit_log_offset)
            .filter(|m| m.topic == RMQ_SYS_TRANS_HALF_TOPIC)
            .ok_or(EndError::NotFound)?;
        // checkPrepareMessage
        if half.property(PROPERTY_PRODUCER_GROUP) != Some(request.producer_group) {
            return Err(EndError::Mismatch("The producer group wrong"));
        }
        if half.queue_offset != request.queue_offset {
            return Err(EndError::Mismatch(
                "The transaction state table offset wrong",
            ));
        }
        if half.commit_log_offset != request.commit_log_offset {
            return Err(EndError::Mismatch("The commit log offset wrong"));
        }
        let mut state = self.state.lock_unpoisoned();
        let live_offset = state.live_offset(first_half_offset(&half));
        if !state.is_open(live_offset) {
            return Err(EndError::AlreadyEnded { live_offset });
        }
        let put = match request.action {
            EndAction::Commit => {
                let Some(real) = committed_message(&half, request.commit_log_offset) else {
                    return Err(EndError::Mismatch("The half message names no real topic"));
                };
                let put = self.store.put_message(real).map_err(EndError::Store)?;
                Some(put)
            }
            EndAction::Rollback => None,
        };
        ensure_topic(topics, RMQ_SYS_TRANS_OP_HALF_TOPIC);
        let op = self
            .store
            .put_message(op_message(live_offset, self.store_host, now_millis()));
        match op {
            Ok(op) => {
                state.ended.insert(live_offset, op.queue_offset);
            }
            // The real message is stored; the scan will ask the producer again and a second
            // commit may follow. Nothing acknowledged is lost.
            Err(e) if put.is_some() => log::error!(
                "transaction at half offset {live_offset} committed, but its op record was \
                 not stored ({e}); it may be checked and delivered again"
            ),
            Err(e) => return Err(EndError::Store(e)),
        }
        Ok(put)
    }

    /// One look at the open halves (`TransactionalMessageServiceImpl.check`): returns the
    /// copies whose producers must be asked. `timeout` is how old a half must be before it is
    /// checked; after `check_max` checks a half is moved to `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub(crate) fn check(
        &self,
        topics: &TopicConfigManager,
        offsets: &ConsumerOffsetManager,
        timeout: Duration,
        check_max: i32,
    ) -> CheckRound {
        let mut round = CheckRound::default();
        let mut state = self.state.lock_unpoisoned();
        let start = now_millis();
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let mut i = state.half_progress;
        loop {
            let now = now_millis();
            if now - start > MAX_PROCESS_TIME.as_millis() as i64 {
                break;
            }
            if state.ended.contains_key(&i) {
                i += 1;
                continue;
            }
            let found = self
                .store
                .get_message(RMQ_SYS_TRANS_HALF_TOPIC, 0, i, 1, None);
            let record = match found.status {
                GetMessageStatus::Found => &found.messages[0],
                GetMessageStatus::OffsetTooSmall if found.next_begin_offset > i => {
                    i = found.next_begin_offset;
                    continue;
                }
                GetMessageStatus::OffsetOverflowBadly => {
                    i = found.next_begin_offset;
                    break;
                }
                _ => break,
            };
            let half = match decode_message(record, false) {
                Ok((half, _)) => half,
                Err(e) => {
                    log::error!("half message at offset {i} does not decode ({e}); skipped");
                    i += 1;
                    continue;
                }
            };
            let first = first_half_offset(&half);
            if state.live_offset(first) != i {
                // An older copy: its transaction lives on in a newer one.
                i += 1;
                continue;
            }
            if half.store_timestamp >= start {
                // Stored since this look began (a copy it made, among others): the producer
                // asked about it gets until the next look to answer.
                break;
            }
            let checks = check_times(&half);
            if checks >= check_max {
                ensure_topic(topics, RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC);
                if let Err(e) = self.store.put_message(discarded_message(&half)) {
                    log::warn!("moving half message {i} aside failed ({e}); retrying later");
                    break;
                }
                log::warn!(
                    "transaction {} of group {:?} checked {checks} time(s) without an answer; \
                     moved to {RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC}",
                    half.uniq_key().unwrap_or(&half.msg_id),
                    half.property(PROPERTY_PRODUCER_GROUP)
                );
                round.discarded += 1;
                i += 1;
                continue;
            }
            let age = now - half.born_timestamp;
            let immunity = check_immunity_millis(&half, timeout_ms);
            let copy_checks = if (0..immunity).contains(&age) {
                if immunity == timeout_ms {
                    // Halves are in store order: the rest are younger still.
                    break;
                }
                // The producer asked for a longer quiet time: keep the half open at the end
                // of the queue, not counted as a check, and look further.
                None
            } else {
                Some(checks + 1)
            };
            let copy = renewed_half(&half, copy_checks.unwrap_or(checks));
            let put = match self.store.put_message(copy.clone()) {
                Ok(put) if put.status == PutMessageStatus::PutOk => put,
                Ok(put) => {
                    log::warn!(
                        "copying half message {i} failed ({:?}); retrying",
                        put.status
                    );
                    break;
                }
                Err(e) => {
                    log::warn!("copying half message {i} failed ({e}); retrying later");
                    break;
                }
            };
            state.moved.insert(first, put.queue_offset);
            if copy_checks.is_some() {
                round.to_check.push(MessageExt {
                    queue_offset: put.queue_offset,
                    commit_log_offset: put.commit_log_offset,
                    msg_id: put.msg_id,
                    store_timestamp: put.store_timestamp,
                    ..copy
                });
            }
            i += 1;
        }
        if i != state.half_progress {
            state.advance_to(i);
            round.progressed = true;
        }
        // The op queue is read again from the op record of the oldest open-window half.
        let op_progress = state.ended.values().min().copied().unwrap_or_else(|| {
            self.store
                .max_offset_in_queue(RMQ_SYS_TRANS_OP_HALF_TOPIC, 0)
        });
        offsets.commit_offset(CID_SYS_RMQ_TRANS, RMQ_SYS_TRANS_HALF_TOPIC, 0, i);
        offsets.commit_offset(
            CID_SYS_RMQ_TRANS,
            RMQ_SYS_TRANS_OP_HALF_TOPIC,
            0,
            op_progress,
        );
        round
    }
}

/// Creates one of the transaction topics (one queue, read and write) the first time it is
/// used, as `createTopicInSendMessageBackMethod` does; a failure to persist is logged, the
/// store works without the config.
fn ensure_topic(topics: &TopicConfigManager, topic: &str) {
    if let Err(e) =
        topics.create_topic_if_absent(topic, 1, perm_name::PERM_READ | perm_name::PERM_WRITE)
    {
        log::warn!("persisting the config of {topic} failed: {e}");
    }
}

/// Calls `visit` with each decodable record of queue 0 of `topic` from `offset` on.
fn for_each_record(
    store: &MessageStore,
    topic: &str,
    mut offset: i64,
    mut visit: impl FnMut(&MessageExt),
) {
    loop {
        let found = store.get_message(topic, 0, offset, READ_BATCH, None);
        match found.status {
            GetMessageStatus::Found => {}
            GetMessageStatus::OffsetTooSmall => {
                offset = found.next_begin_offset;
                continue;
            }
            _ => return,
        }
        let before = offset;
        for record in &found.messages {
            match decode_message(record, false) {
                Ok((message, _)) => {
                    visit(&message);
                    offset = message.queue_offset + 1;
                }
                Err(e) => log::error!("a record of {topic} does not decode ({e}); skipped"),
            }
        }
        offset = offset.max(found.next_begin_offset);
        if offset <= before {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::store::StoreConfig;
    use crate::common::temp_dir::TempDir;
    use crate::protocol::message::message_const::{
        PROPERTY_TRANSACTION_PREPARED, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
    };

    const TIMEOUT: Duration = Duration::from_secs(6);

    struct Broker {
        dir: TempDir,
        store: Arc<MessageStore>,
        topics: TopicConfigManager,
        offsets: ConsumerOffsetManager,
        service: TransactionalMessageService,
    }

    fn host() -> SocketAddr {
        "10.1.2.3:10911".parse().unwrap()
    }

    impl Broker {
        fn open(dir: TempDir) -> Broker {
            let store = Arc::new(MessageStore::open(StoreConfig::new(dir.path())).unwrap());
            let topics = TopicConfigManager::load(dir.path(), "b", "c", true, 4).unwrap();
            let offsets = ConsumerOffsetManager::load(dir.path()).unwrap();
            let service = TransactionalMessageService::load(store.clone(), host(), &offsets);
            Broker {
                dir,
                store,
                topics,
                offsets,
                service,
            }
        }

        fn restart(self) -> Broker {
            self.offsets.persist().unwrap();
            self.store.shutdown();
            Broker::open(self.dir)
        }

        /// Sends a half for "Orders" queue 1, born `age_ms` ago.
        fn prepare(&self, id: &str, age_ms: i64) -> PutMessageResult {
            let mut m = MessageExt {
                topic: "Orders".into(),
                queue_id: 1,
                body: id.as_bytes().into(),
                born_timestamp: now_millis() - age_ms,
                store_host: host(),
                ..MessageExt::default()
            };
            m.properties.insert(PROPERTY_TRANSACTION_PREPARED, "true");
            m.properties.insert(PROPERTY_PRODUCER_GROUP, "PG");
            m.properties
                .insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
            self.service.prepare(&self.topics, m).unwrap()
        }

        fn end(&self, half: &PutMessageResult, action: EndAction) -> Result<(), EndError> {
            self.end_as("PG", half.queue_offset, half.commit_log_offset, action)
        }

        fn end_as(
            &self,
            group: &str,
            queue_offset: i64,
            commit_log_offset: i64,
            action: EndAction,
        ) -> Result<(), EndError> {
            let request = EndRequest {
                producer_group: group,
                queue_offset,
                commit_log_offset,
                action,
            };
            self.service.end(&self.topics, &request).map(|_| ())
        }

        fn check(&self, check_max: i32) -> CheckRound {
            // A copy made by the last look is only looked at by a later millisecond.
            let last = now_millis();
            while now_millis() == last {
                std::hint::spin_loop();
            }
            self.service
                .check(&self.topics, &self.offsets, TIMEOUT, check_max)
        }

        fn delivered(&self) -> Vec<String> {
            let found = self.store.get_message("Orders", 1, 0, 100, None);
            found
                .messages
                .iter()
                .map(|r| {
                    String::from_utf8(decode_message(r, false).unwrap().0.body.into_vec()).unwrap()
                })
                .collect()
        }
    }

    fn broker(name: &str) -> Broker {
        Broker::open(TempDir::new(name).unwrap())
    }

    #[test]
    fn a_commit_delivers_once_and_a_rollback_never() {
        let b = broker("tx-end");
        let committed = b.prepare("a", 0);
        let rolled_back = b.prepare("b", 0);
        assert!(b.delivered().is_empty(), "halves are not delivered");
        b.end(&committed, EndAction::Commit).unwrap();
        b.end(&rolled_back, EndAction::Rollback).unwrap();
        assert_eq!(b.delivered(), ["a"]);
        // Ended twice, either way: nothing changes.
        for action in [EndAction::Commit, EndAction::Rollback] {
            assert!(matches!(
                b.end(&committed, action),
                Err(EndError::AlreadyEnded { live_offset: 0 })
            ));
            assert!(matches!(
                b.end(&rolled_back, action),
                Err(EndError::AlreadyEnded { live_offset: 1 })
            ));
        }
        assert_eq!(b.delivered(), ["a"]);
        // The ended halves are passed without a check, even when old.
        let round = b.check(15);
        assert!(round.to_check.is_empty());
        assert!(round.progressed);
    }

    #[test]
    fn a_bad_end_names_what_is_wrong() {
        let b = broker("tx-bad");
        let half = b.prepare("a", 0);
        let (q, c) = (half.queue_offset, half.commit_log_offset);
        let commit = EndAction::Commit;
        assert!(matches!(
            b.end_as("other", q, c, commit),
            Err(EndError::Mismatch("The producer group wrong"))
        ));
        assert!(matches!(
            b.end_as("PG", q + 5, c, commit),
            Err(EndError::Mismatch(
                "The transaction state table offset wrong"
            ))
        ));
        assert!(matches!(
            b.end_as("PG", q, c + 1, commit),
            Err(EndError::NotFound)
        ));
        b.end(&half, commit).unwrap();
        // The committed message is no half: ending it again finds nothing.
        let real = b.store.get_message("Orders", 1, 0, 1, None);
        let (real, _) = decode_message(&real.messages[0], false).unwrap();
        assert!(matches!(
            b.end_as("PG", real.queue_offset, real.commit_log_offset, commit),
            Err(EndError::NotFound)
        ));
        assert_eq!(b.delivered(), ["a"]);
    }

    #[test]
    fn an_open_half_is_checked_through_a_copy_and_ends_once() {
        let b = broker("tx-check");
        let young = b.prepare("young", 0);
        let round = b.check(15);
        assert!(round.to_check.is_empty(), "younger than the timeout");
        assert!(!round.progressed);
        b.end(&young, EndAction::Rollback).unwrap();

        let old = b.prepare("old", 60_000);
        let round = b.check(15);
        assert_eq!(round.to_check.len(), 1);
        let copy = &round.to_check[0];
        assert_eq!(copy.property("TRANSACTION_CHECK_TIMES"), Some("1"));
        assert_eq!(copy.queue_offset, old.queue_offset + 1);
        assert_ne!(copy.commit_log_offset, old.commit_log_offset);
        // The producer's own late commit ends the live copy ...
        b.end(&old, EndAction::Commit).unwrap();
        // ... so the answer to the check changes nothing, nor does a second one.
        let answer = (copy.queue_offset, copy.commit_log_offset);
        for _ in 0..2 {
            assert!(matches!(
                b.end_as("PG", answer.0, answer.1, EndAction::Commit),
                Err(EndError::AlreadyEnded { .. })
            ));
        }
        assert_eq!(b.delivered(), ["old"]);
        assert!(b.check(15).to_check.is_empty());
    }

    #[test]
    fn a_half_checked_too_often_is_moved_aside() {
        let b = broker("tx-max");
        b.prepare("stuck", 60_000);
        assert_eq!(b.check(2).to_check.len(), 1);
        let second = b.check(2);
        assert_eq!(second.to_check.len(), 1);
        assert_eq!(
            second.to_check[0].property("TRANSACTION_CHECK_TIMES"),
            Some("2")
        );
        let third = b.check(2);
        assert!(third.to_check.is_empty());
        assert_eq!(third.discarded, 1);
        assert_eq!(
            b.store
                .max_offset_in_queue(RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, 0),
            1
        );
        assert!(b.check(2).to_check.is_empty());
        assert!(b.delivered().is_empty());
    }

    #[test]
    fn halves_ends_and_copies_survive_a_restart() {
        let b = broker("tx-restart");
        let ended = b.prepare("ended", 60_000);
        let copied = b.prepare("copied", 60_000);
        let waiting = b.prepare("waiting", 0);
        b.end(&ended, EndAction::Commit).unwrap();
        let round = b.check(15);
        assert_eq!(round.to_check.len(), 1, "only the old open one");
        let b = b.restart();
        // The first half of a copied transaction still ends it, once.
        b.end(&copied, EndAction::Commit).unwrap();
        assert!(matches!(
            b.end(&copied, EndAction::Commit),
            Err(EndError::AlreadyEnded { .. })
        ));
        assert!(matches!(
            b.end(&ended, EndAction::Commit),
            Err(EndError::AlreadyEnded { .. })
        ));
        b.end(&waiting, EndAction::Commit).unwrap();
        assert_eq!(b.delivered(), ["ended", "copied", "waiting"]);
        // Restarted before the scan saved its progress: ends are re-read from the op queue.
        let b = b.restart();
        assert!(b.check(15).to_check.is_empty());
        assert_eq!(b.delivered().len(), 3);
    }
}
