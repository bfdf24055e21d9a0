//! `AsyncTraceDispatcher`: trace records from the hooks, batched onto a thread of its own and
//! sent to the trace topic by an inner producer; mirrors Java's class of that name (5.3.3).
//!
//! A hook only offers its record to a bounded queue (2,048): when the queue is full the
//! record is dropped, counted, and logged at most once a second, so tracing never blocks or
//! fails a send or a consume. The dispatcher thread takes up to `batch_num` (10) records, or
//! what came within 5 s, groups them by the traced message's topic, and sends each group as
//! one message of up to 128,000 characters (more are split), its keys the traced messages'
//! ids and keys, so that a query by message id finds it. Sends are async; one that fails is
//! logged, never retried by the dispatcher (the producer's own retries apply).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, Receiver, Sender, TrySendError};

use super::trace_context::TraceContext;
use super::trace_data_encoder::{add_key, encoder_from_context_bean, TraceTransferBean};
use super::trace_dispatcher::TraceDispatcher;
use crate::client::producer::Producer;
use crate::client::shared::client_config::ClientSettings;
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::common::clock::monotonic_millis;
use crate::common::sync::MutexExt;
use crate::remoting::RpcHook;

/// The trace topic when none is given (`TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Records waiting to be sent, at most (`traceContextQueue`, 2048).
const QUEUE_CAPACITY: usize = 2048;
/// Records per batch (`traceMsgBatchNum` 10, at most 20).
const BATCH_NUM: usize = 10;
/// A batch leaves at least this often while records wait (`flushTraceInterval`).
const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// The largest trace message body (`maxMsgSize`, 128,000).
const MAX_MSG_SIZE: usize = 128_000;
/// How long shutdown waits for the last trace sends.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// The inner producer's group prefix (`TraceConstants.GROUP_NAME_PREFIX`).
const GROUP_NAME_PREFIX: &str = "_INNER_TRACE_PRODUCER";
/// The inner producer's instance name prefix (`TraceConstants.TRACE_INSTANCE_NAME`).
const TRACE_INSTANCE_NAME: &str = "PID_CLIENT_INNER_TRACE_PRODUCER";

/// Whose records a dispatcher sends (`TraceDispatcher.Type`), in its producer's group name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DispatcherType {
    Produce,
    Consume,
}

impl DispatcherType {
    fn name(self) -> &'static str {
        match self {
            DispatcherType::Produce => "PRODUCE",
            DispatcherType::Consume => "CONSUME",
        }
    }
}

/// The hooks' side of the bounded queue (`traceContextQueue` and `append`).
struct TraceQueue {
    sender: Sender<TraceContext>,
    /// A token that wakes the dispatcher thread when a whole batch waits: it is not woken
    /// for each record (on a busy producer that would be a thread switch per send).
    batch_ready: Sender<()>,
    discarded: AtomicU64,
    /// When the next "queue full" line may be logged (monotonic ms).
    next_discard_log_ms: AtomicU64,
}

/// The dispatcher thread's side of a [`TraceQueue`]: the records, and the batch tokens.
struct QueueReceiver {
    records: Receiver<TraceContext>,
    batch_ready: Receiver<()>,
}

impl TraceQueue {
    fn new(capacity: usize) -> (TraceQueue, QueueReceiver) {
        let (sender, records) = bounded(capacity);
        let (batch_ready, ready) = bounded(1);
        let queue = TraceQueue {
            sender,
            batch_ready,
            discarded: AtomicU64::new(0),
            next_discard_log_ms: AtomicU64::new(0),
        };
        (
            queue,
            QueueReceiver {
                records,
                batch_ready: ready,
            },
        )
    }

    /// Offers a record; never waits. A full queue drops it (counted, and logged at most once
    /// a second). False when dropped.
    fn offer(&self, context: TraceContext) -> bool {
        match self.sender.try_send(context) {
            Ok(()) => {
                if self.sender.len() >= BATCH_NUM {
                    // A token already waiting will do.
                    let _ = self.batch_ready.try_send(());
                }
                true
            }
            Err(TrySendError::Full(_)) => {
                let discarded = self.discarded.fetch_add(1, Ordering::Relaxed) + 1;
                let now = monotonic_millis();
                let next = self.next_discard_log_ms.load(Ordering::Relaxed);
                if now >= next
                    && self
                        .next_discard_log_ms
                        .compare_exchange(next, now + 1000, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    log::warn!(
                        "the trace queue is full ({} records): {discarded} trace records \
                         dropped so far",
                        self.sender.capacity().unwrap_or(0)
                    );
                }
                false
            }
            // Shut down: records of sends still finishing are not traced.
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// See the module docs.
pub(crate) struct AsyncTraceDispatcher {
    queue: TraceQueue,
    trace_topic: String,
    /// Dropped to stop the dispatcher thread.
    stop: Mutex<Option<Sender<()>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    producer: Arc<Producer>,
}

impl std::fmt::Debug for AsyncTraceDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncTraceDispatcher")
            .field("trace_topic", &self.trace_topic)
            .field("discarded", &self.queue.discarded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl AsyncTraceDispatcher {
    /// Starts the inner producer and the dispatcher thread for the host client `group` (as
    /// the cluster knows it, namespaced: Java names its trace producer
    /// `_INNER_TRACE_PRODUCER-<ns%group>-<type>-<n>`). The inner producer has the host's name
    /// servers, credentials, TLS and RPC hooks; like Java's, it has no namespace (the trace
    /// topic is the cluster's, and records name topics and groups without the namespace).
    pub(crate) fn start(
        group: &str,
        kind: DispatcherType,
        trace_topic: Option<&str>,
        client: &ClientSettings,
        rpc_hooks: Vec<Arc<dyn RpcHook>>,
    ) -> Result<Arc<AsyncTraceDispatcher>, ClientError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let trace_topic = trace_topic
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(RMQ_SYS_TRACE_TOPIC)
            .to_string();
        let number = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        let mut settings = client.clone();
        settings.namespace = None;
        settings.instance_name = Some(format!(
            "{TRACE_INSTANCE_NAME}_{}",
            client.name_server_addrs.join(";")
        ));
        let name_servers = settings.name_server_addrs.join(";");
        let mut builder = Producer::builder(format!(
            "{GROUP_NAME_PREFIX}-{group}-{}-{number}",
            kind.name()
        ))
        .client_settings(settings)
        .name_server(name_servers)
        .send_timeout(Duration::from_secs(5))
        .max_message_size(MAX_MSG_SIZE)
        .async_sender_threads(1);
        for hook in rpc_hooks {
            builder = builder.rpc_hook(hook);
        }
        let producer = Arc::new(builder.start()?);
        let (queue, records) = TraceQueue::new(QUEUE_CAPACITY);
        let (stop, stopped) = bounded(0);
        let dispatcher = Arc::new(AsyncTraceDispatcher {
            queue,
            trace_topic,
            stop: Mutex::new(Some(stop)),
            worker: Mutex::new(None),
            producer,
        });
        let worker = Worker {
            queue: records,
            stopped,
            producer: dispatcher.producer.clone(),
            trace_topic: dispatcher.trace_topic.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("rmq-trace-dispatcher-{number}"))
            .spawn(move || worker.run())
            .map_err(|e| crate::remoting::RemotingError::io("start the trace dispatcher", e))?;
        *dispatcher.worker.lock_unpoisoned() = Some(handle);
        Ok(dispatcher)
    }

    /// Sends what waits (`flush`), waits up to 5 s for the sends, then stops the inner
    /// producer. Idempotent.
    pub(crate) fn shutdown(&self) {
        drop(self.stop.lock_unpoisoned().take());
        if let Some(worker) = self.worker.lock_unpoisoned().take() {
            if worker.join().is_err() {
                log::error!("the trace dispatcher thread panicked");
            }
            if let Err(e) = self.producer.flush(SHUTDOWN_WAIT) {
                log::warn!("trace records may be lost at shutdown: {e}");
            }
        }
        self.producer.shutdown();
    }
}

impl TraceDispatcher for AsyncTraceDispatcher {
    fn trace_topic(&self) -> &str {
        &self.trace_topic
    }

    /// Never waits: a full queue drops the record.
    fn append(&self, context: TraceContext) {
        self.queue.offer(context);
    }
}

impl Drop for AsyncTraceDispatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The dispatcher thread's side.
struct Worker {
    queue: QueueReceiver,
    stopped: Receiver<()>,
    producer: Arc<Producer>,
    trace_topic: String,
}

impl Worker {
    /// Java's `flushTraceContext` loop: a batch leaves when `BATCH_NUM` records wait, or
    /// when records have waited since the last batch for `FLUSH_INTERVAL`.
    fn run(self) {
        let records = &self.queue.records;
        let mut last_flush = Instant::now();
        loop {
            let wait = FLUSH_INTERVAL.saturating_sub(last_flush.elapsed());
            select! {
                recv(self.queue.batch_ready) -> _ => {
                    while records.len() >= BATCH_NUM {
                        let batch: Vec<TraceContext> = records.try_iter().take(BATCH_NUM).collect();
                        self.send_trace_data(&batch);
                    }
                }
                recv(self.stopped) -> _ => {
                    // Shutdown: what waits leaves now (Java's flush).
                    let batch: Vec<TraceContext> = records.try_iter().collect();
                    for chunk in batch.chunks(BATCH_NUM) {
                        self.send_trace_data(chunk);
                    }
                    return;
                }
                default(wait) => {
                    let batch: Vec<TraceContext> = records.try_iter().take(BATCH_NUM).collect();
                    if !batch.is_empty() {
                        self.send_trace_data(&batch);
                    }
                }
            }
            last_flush = Instant::now();
        }
    }

    /// `sendTraceData`: the records grouped by the traced message's topic, each group one
    /// message or more.
    fn send_trace_data(&self, contexts: &[TraceContext]) {
        let mut groups: Vec<(&str, Vec<TraceTransferBean>)> = Vec::new();
        for context in contexts.iter().filter(|c| !c.trace_beans.is_empty()) {
            let encoded = encoder_from_context_bean(context);
            match groups
                .iter_mut()
                .find(|(topic, _)| *topic == context.topic())
            {
                Some((_, beans)) => beans.push(encoded),
                None => groups.push((context.topic(), vec![encoded])),
            }
        }
        for (_, beans) in groups {
            self.flush_data(beans);
        }
    }

    /// `flushData`: records appended until the body reaches the size limit.
    fn flush_data(&self, beans: Vec<TraceTransferBean>) {
        let mut buffer = String::with_capacity(1024);
        let mut keys: Vec<String> = Vec::new();
        for bean in beans {
            buffer.push_str(&bean.trans_data);
            for key in &bean.trans_key {
                add_key(&mut keys, key);
            }
            if buffer.len() >= MAX_MSG_SIZE {
                self.send_trace_data_by_mq(&keys, std::mem::take(&mut buffer));
                keys.clear();
            }
        }
        if !buffer.is_empty() {
            self.send_trace_data_by_mq(&keys, buffer);
        }
    }

    /// `sendTraceDataByMQ`: one trace message, sent async.
    fn send_trace_data_by_mq(&self, keys: &[String], data: String) {
        let message = Message::new(self.trace_topic.as_str(), data).with_keys(keys.to_vec());
        let topic = self.trace_topic.clone();
        let sent = self.producer.send_async(&message, move |result| {
            if let Err(e) = result {
                log::warn!("sending trace data to {topic} failed: {e}");
            }
        });
        if let Err(e) = sent {
            log::warn!("sending trace data to {} failed: {e}", self.trace_topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::trace::trace_context::TraceType;

    #[test]
    fn a_full_queue_drops_records_at_once_and_counts_them() {
        let (queue, receiver) = TraceQueue::new(BATCH_NUM + 2);
        let record = || TraceContext::new(TraceType::Pub, 1);
        for n in 1..=BATCH_NUM + 2 {
            assert!(queue.offer(record()));
            // The dispatcher is woken once a whole batch waits, not for each record.
            assert_eq!(
                receiver.batch_ready.len(),
                usize::from(n >= BATCH_NUM),
                "{n}"
            );
        }
        // Nobody drains: offers return at once, dropped and counted.
        for _ in 0..1000 {
            assert!(!queue.offer(record()));
        }
        assert_eq!(queue.discarded.load(Ordering::Relaxed), 1000);
        assert_eq!(receiver.records.try_iter().count(), BATCH_NUM + 2);
        assert!(queue.offer(record()));
        drop(receiver);
        assert!(!queue.offer(record()), "after shutdown nothing is kept");
        assert_eq!(
            queue.discarded.load(Ordering::Relaxed),
            1000,
            "nor counted as dropped"
        );
    }
}
