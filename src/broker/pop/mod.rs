//! What the broker keeps for POP consumption (5.x): the durable checkpoint store, the pops
//! held for long polling, the request modes SET_MESSAGE_REQUEST_MODE sets, the per-queue
//! pop locks and the orderly pops' records. The processors (`processor/pop_*.rs`, `query_assignment.rs`) and the revive
//! thread (`processor/pop_revive.rs`) work on these.

mod checkpoint;
mod checkpoint_store;
mod config;
mod long_polling;
mod order_info;
mod queue_lock;
mod request_mode;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub(crate) use checkpoint::PopCheckpoint;
pub(crate) use checkpoint_store::{CheckpointKey, CheckpointStore, ReviveWork};
pub use config::PopConfig;
pub(crate) use long_polling::{
    PollingResult, PopLongPollingService, PopRequest, PopRequestAnswerer, PopTarget,
};
pub(crate) use order_info::{ConsumerOrderInfoManager, OrderCommit};
pub(crate) use queue_lock::QueueLockManager;
pub(crate) use request_mode::MessageRequestModeManager;

use super::ConsumerOffsetManager;
use crate::common::clock::now_nanos;
use crate::common::sync::MutexExt;
use crate::protocol::header::POP_ORDER_REVIVE_QUEUE;

/// The broker's POP state; one per broker, shared by the POP processors.
pub(crate) struct PopService {
    /// The settings.
    pub config: PopConfig,
    /// Open checkpoints, durable.
    pub checkpoints: CheckpointStore,
    /// Pops and NOTIFICATIONs waiting for messages.
    pub polling: Arc<PopLongPollingService>,
    /// Pull or pop, per topic and group.
    pub modes: MessageRequestModeManager,
    /// One pop per queue and group at a time.
    pub locks: QueueLockManager,
    /// Orderly pops: which queue is blocked, delivery counts.
    pub orders: ConsumerOrderInfoManager,
    /// Counts checkpoints for their revive queue ids (`ckMessageNumber`).
    revive_counter: AtomicU64,
    /// A xorshift state for the retry-topic coin (Java's `Random`).
    random: AtomicU64,
    /// `rmq-pop-revive`, once started.
    revive_thread: Mutex<Option<JoinHandle<()>>>,
}

impl PopService {
    /// Opens the checkpoint log and the request-mode file under `store_dir`; `sync_flush`
    /// fsyncs every checkpoint before a pop answers, otherwise the revive thread fsyncs
    /// within `flush_interval`.
    pub(crate) fn load(
        store_dir: &Path,
        config: &PopConfig,
        sync_flush: bool,
        flush_interval: Duration,
    ) -> std::io::Result<Arc<PopService>> {
        Ok(Arc::new(PopService {
            checkpoints: CheckpointStore::open(
                store_dir,
                sync_flush,
                flush_interval,
                config.checkpoint_log_compact_bytes,
            )?,
            polling: PopLongPollingService::new(
                config.max_pop_polling_size,
                config.pop_polling_size,
            ),
            modes: MessageRequestModeManager::load(store_dir)?,
            locks: QueueLockManager::default(),
            orders: ConsumerOrderInfoManager::load(store_dir)?,
            revive_counter: AtomicU64::new(0),
            random: AtomicU64::new(now_nanos() | 1),
            revive_thread: Mutex::new(None),
            config: config.clone(),
        }))
    }

    /// Moves every consumer offset the checkpoint log says a pop got past, in case the
    /// offset file's last write was lost in a crash: popped messages are never handed out
    /// again by the queue, only by revive.
    pub(crate) fn restore_pop_offsets(&self, offsets: &ConsumerOffsetManager) {
        for (queue, offset) in self.checkpoints.pop_offsets() {
            let current = offsets.query_offset(&queue.group, &queue.topic, queue.queue_id);
            if current.is_none_or(|c| c < offset) {
                log::info!(
                    "pop offset of {}@{} queue {} restored to {offset} from the checkpoint log (was {current:?})",
                    queue.topic,
                    queue.group,
                    queue.queue_id
                );
                offsets.commit_offset(&queue.group, &queue.topic, queue.queue_id, offset);
            }
        }
    }

    /// The revive queue id of a new pop: 999 for an orderly one, else round robin.
    pub(crate) fn next_revive_qid(&self, order: bool) -> i32 {
        if order {
            return POP_ORDER_REVIVE_QUEUE;
        }
        let queues = u64::try_from(self.config.revive_queue_num.max(1)).unwrap_or(1);
        (self.revive_counter.fetch_add(1, Ordering::Relaxed) % queues) as i32
    }

    /// A number in 0..100 (Java's `random.nextInt(100)`): which queue a pop of every queue
    /// starts at, and whether it looks at the retry topic first.
    pub(crate) fn random_percent(&self) -> u32 {
        let mut x = self.random.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.store(x, Ordering::Relaxed);
        (x % 100) as u32
    }

    /// Keeps the revive thread to join at shutdown.
    pub(crate) fn set_revive_thread(&self, handle: JoinHandle<()>) {
        *self.revive_thread.lock_unpoisoned() = Some(handle);
    }

    /// Answers held pops, stops and joins the polling and revive threads, fsyncs the log.
    pub(crate) fn shutdown(&self) {
        self.polling.shutdown();
        self.checkpoints.stop();
        if let Some(handle) = self.revive_thread.lock_unpoisoned().take() {
            if handle.thread().id() != std::thread::current().id() && handle.join().is_err() {
                log::error!("the rmq-pop-revive thread panicked");
            }
        }
        self.checkpoints.flush();
    }
}

impl Drop for PopService {
    fn drop(&mut self) {
        self.shutdown();
    }
}
