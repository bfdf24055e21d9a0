//! `TransactionProducer`: messages that become visible only when a local transaction commits;
//! mirrors Java's `TransactionMQProducer` (`sendMessageInTransaction`, `endTransaction`,
//! `checkTransactionState`).
//!
//! 1. The message goes to a broker as a half message (`TRAN_MSG=true`, `PGROUP`, the prepared
//!    bit of the system flag): stored, but invisible to consumers.
//! 2. The local transaction runs ([`TransactionListener::execute_local_transaction`]).
//! 3. END_TRANSACTION, oneway, to the broker that stored the half: commit (the real message
//!    becomes visible), rollback (it never does), or unknown.
//! 4. For a half left unknown (or whose END_TRANSACTION was lost), the broker later asks a
//!    producer of the group (CHECK_TRANSACTION_STATE, the half message as body); the answer
//!    comes from [`TransactionListener::check_local_transaction`], on a bounded check pool,
//!    as another END_TRANSACTION marked `fromTransactionCheck`.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::config::ProducerBuilder;
use super::end_transaction_hook::{run_end_transaction, EndTransactionContext, EndTransactionHook};
use super::local_transaction_state::LocalTransactionState;
use super::producer::Producer;
use super::send_engine::SendEngine;
use crate::client::shared::client_instance::BrokerChoice;
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::result::{SendResult, SendStatus};
use crate::client::trace::hook::EndTransactionTraceHookImpl;
use crate::common::trace::trace_step;
use crate::protocol::codes::request_code;
use crate::protocol::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use crate::protocol::message::message_const::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_PRODUCER_GROUP, PROPERTY_TRANSACTION_PREPARED,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::protocol::message::{decode_message, decode_offset_message_id, MessageExt};
use crate::protocol::RemotingCommand;
use crate::remoting::{
    Job, PoolConfig, ProcessorError, RequestContext, RequestProcessor, ThreadPool,
};

/// What a transactional producer runs: the local transaction, and the answer to a broker's
/// question about one left unknown; mirrors Java's `TransactionListener`.
pub trait TransactionListener: Send + Sync {
    /// Runs the local transaction for `message` (stored, not yet visible), with the `arg`
    /// given to [`TransactionProducer::send_message_in_transaction`]. A panic counts as
    /// [`LocalTransactionState::Unknown`]: the broker will ask.
    fn execute_local_transaction(&self, message: &Message, arg: &dyn Any) -> LocalTransactionState;

    /// Says how the transaction of `message` ended, when the broker asks: `message` is the
    /// half message (its real topic, its unique id as transaction id). A panic counts as
    /// unknown: the broker asks again at its next check.
    fn check_local_transaction(&self, message: &MessageExt) -> LocalTransactionState;
}

/// The outcome of [`TransactionProducer::send_message_in_transaction`]; mirrors Java's
/// `TransactionSendResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionSendResult {
    /// How the half message was stored.
    pub send_result: SendResult,
    /// How the local transaction ended (what END_TRANSACTION said).
    pub local_transaction_state: LocalTransactionState,
    /// The transaction id (the message's unique id).
    pub transaction_id: String,
}

/// A producer of transactional messages; mirrors Java's `TransactionMQProducer`.
///
/// ```
/// # let cluster = rocketmq_blocking::LocalCluster::start()?;
/// use std::any::Any;
/// use rocketmq_blocking::client::{
///     LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer,
/// };
///
/// struct Orders;
/// impl TransactionListener for Orders {
///     fn execute_local_transaction(&self, _: &Message, _: &dyn Any) -> LocalTransactionState {
///         LocalTransactionState::CommitMessage // after the database commit
///     }
///     fn check_local_transaction(&self, _: &MessageExt) -> LocalTransactionState {
///         LocalTransactionState::CommitMessage // look the order up
///     }
/// }
///
/// let producer = TransactionProducer::builder("order_tx_group", Orders)
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// let sent = producer.send_message_in_transaction(&Message::new("Orders", "order 7"), &7u64)?;
/// assert_eq!(sent.local_transaction_state, LocalTransactionState::CommitMessage);
/// println!("transaction {} committed", sent.transaction_id);
/// producer.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TransactionProducer {
    producer: Producer,
    core: Arc<TransactionCore>,
}

/// The listener, the end-transaction hooks and the check pool; the
/// CHECK_TRANSACTION_STATE processor holds it weakly.
struct TransactionCore {
    listener: Arc<dyn TransactionListener>,
    end_hooks: Vec<Arc<dyn EndTransactionHook>>,
    checks: ThreadPool,
    engine: Weak<SendEngine>,
}

impl TransactionCore {
    /// Runs the end-transaction hooks (`doExecuteEndTransactionHook`).
    fn end_transaction_hooks(&self, context: impl FnOnce() -> EndTransactionContext) {
        if !self.end_hooks.is_empty() {
            run_end_transaction(&self.end_hooks, &context());
        }
    }
}

impl fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .finish()
    }
}

/// Builds a [`TransactionProducer`]: a producer's settings plus the listener and the check
/// pool's size.
pub struct TransactionProducerBuilder {
    builder: ProducerBuilder,
    listener: Arc<dyn TransactionListener>,
    end_hooks: Vec<Arc<dyn EndTransactionHook>>,
    check_threads: usize,
    check_queue_capacity: usize,
}

impl fmt::Debug for TransactionProducerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionProducerBuilder")
            .field("builder", &self.builder)
            .field("check_threads", &self.check_threads)
            .finish()
    }
}

impl TransactionProducerBuilder {
    /// Name servers (`"host:port;host:port"`; else `NAMESRV_ADDR`, else the address service:
    /// see [`ProducerBuilder::name_server_address_service`]).
    pub fn name_server(mut self, addrs: impl Into<String>) -> Self {
        self.builder = self.builder.name_server(addrs);
        self
    }

    /// Any other producer setting, on the producer builder underneath.
    pub fn producer(mut self, configure: impl FnOnce(ProducerBuilder) -> ProducerBuilder) -> Self {
        self.builder = configure(self.builder);
        self
    }

    /// Writes message trace: `Pub` records of the half messages and an `EndTransaction`
    /// record of each transaction's end (see [`ProducerBuilder::enable_trace`]).
    pub fn enable_trace(mut self) -> Self {
        self.builder = self.builder.enable_trace();
        self
    }

    /// The topic trace records go to (see [`ProducerBuilder::trace_topic`]).
    pub fn trace_topic(mut self, topic: impl Into<String>) -> Self {
        self.builder = self.builder.trace_topic(topic);
        self
    }

    /// Adds a hook run as each transaction ends, before END_TRANSACTION is sent
    /// (`registerEndTransactionHook`).
    pub fn end_transaction_hook(mut self, hook: Arc<dyn EndTransactionHook>) -> Self {
        self.end_hooks.push(hook);
        self
    }

    /// Threads answering the broker's checks (`checkThreadPoolMinSize`, 1).
    pub fn check_threads(mut self, threads: usize) -> Self {
        self.check_threads = threads.max(1);
        self
    }

    /// Checks that may wait for a thread (`checkRequestHolderMax`, 2,000); more are dropped
    /// (the broker asks again later).
    pub fn check_queue_capacity(mut self, capacity: usize) -> Self {
        self.check_queue_capacity = capacity.max(1);
        self
    }

    /// Starts the producer and its check pool (`rmq-tx-check-<i>`), and answers the brokers'
    /// CHECK_TRANSACTION_STATE from now on.
    pub fn start(self) -> Result<TransactionProducer, ClientError> {
        let producer = self.builder.start()?;
        let mut end_hooks = self.end_hooks;
        if let Some(dispatcher) = producer.trace_dispatcher() {
            let namespace = producer.engine.instance.namespace().clone();
            end_hooks.push(Arc::new(EndTransactionTraceHookImpl::new(
                dispatcher.clone(),
                namespace,
            )));
        }
        let checks = ThreadPool::new(
            "rmq-tx-check",
            self.check_threads,
            Some(self.check_queue_capacity),
        )
        .map_err(|e| crate::remoting::RemotingError::io("start the check pool", e))?;
        let core = Arc::new(TransactionCore {
            listener: self.listener,
            end_hooks,
            checks,
            engine: Arc::downgrade(&producer.engine),
        });
        producer
            .engine
            .instance
            .api()
            .remoting()
            .register_processor(
                request_code::CHECK_TRANSACTION_STATE,
                CheckTransactionStateProcessor {
                    core: Arc::downgrade(&core),
                },
                PoolConfig {
                    threads: 1,
                    queue_capacity: 1000,
                },
            )?;
        Ok(TransactionProducer { producer, core })
    }
}

impl TransactionProducer {
    /// A builder for producer group `group` with `listener` (Java's defaults otherwise).
    pub fn builder(
        group: impl Into<String>,
        listener: impl TransactionListener + 'static,
    ) -> TransactionProducerBuilder {
        TransactionProducerBuilder {
            builder: Producer::builder(group),
            listener: Arc::new(listener),
            end_hooks: Vec::new(),
            check_threads: 1,
            check_queue_capacity: 2000,
        }
    }

    /// The producer underneath, for plain sends.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `message` as a half message, runs the local transaction with `arg`, and ends
    /// the transaction by what it returned (`sendMessageInTransaction`). A delay level is
    /// ignored, as in Java. A half message stored with a flush or slave problem is rolled
    /// back without running the local transaction.
    pub fn send_message_in_transaction(
        &self,
        message: &Message,
        arg: &dyn Any,
    ) -> Result<TransactionSendResult, ClientError> {
        let mut half = message.clone();
        half.remove_system_property(PROPERTY_DELAY_TIME_LEVEL);
        half.put_system_property(PROPERTY_TRANSACTION_PREPARED, "true");
        half.put_system_property(PROPERTY_PRODUCER_GROUP, &self.producer.config().group);
        let sent = self.producer.send(&half)?;
        let transaction_id = sent.msg_id.clone();
        let (state, failure) = match sent.send_status {
            SendStatus::SendOk => {
                half.put_system_property(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &transaction_id);
                match catch_unwind(AssertUnwindSafe(|| {
                    self.core.listener.execute_local_transaction(&half, arg)
                })) {
                    Ok(state) => (state, None),
                    Err(panic) => (
                        LocalTransactionState::Unknown,
                        Some(crate::common::panic_message(&panic)),
                    ),
                }
            }
            _ => (LocalTransactionState::RollbackMessage, None),
        };
        trace_step!(
            "client",
            "transaction {transaction_id}: half stored at {} offset {}; local transaction {state:?}",
            sent.message_queue,
            sent.queue_offset
        );
        if let Err(e) = self.end_transaction(&half, &sent, state, failure) {
            // The broker will ask: the check answers what the oneway did not say.
            log::warn!("END_TRANSACTION of {transaction_id} failed: {e}");
        }
        Ok(TransactionSendResult {
            send_result: sent,
            local_transaction_state: state,
            transaction_id,
        })
    }

    /// END_TRANSACTION, oneway, to the broker that stored the half (`endTransaction`).
    fn end_transaction(
        &self,
        half: &Message,
        sent: &SendResult,
        state: LocalTransactionState,
        failure: Option<String>,
    ) -> Result<(), ClientError> {
        let engine = &self.producer.engine;
        let (_, commit_log_offset) = decode_offset_message_id(&sent.offset_msg_id)
            .map_err(|e| ClientError::invalid_response(&sent.message_queue.broker_name, e))?;
        let addr = engine
            .instance
            .find_broker_address(
                &sent.message_queue,
                BrokerChoice::Master,
                engine.config.send_timeout,
            )?
            .addr;
        let header = EndTransactionRequestHeader {
            producer_group: engine.config.group.clone(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset,
            commit_or_rollback: state.commit_or_rollback(),
            from_transaction_check: false,
            msg_id: sent.msg_id.clone(),
            transaction_id: Some(sent.msg_id.clone()),
            broker_name: Some(sent.message_queue.broker_name.clone()),
        };
        self.core.end_transaction_hooks(|| EndTransactionContext {
            producer_group: engine.config.group.clone(),
            broker_addr: addr.clone(),
            topic: engine.instance.namespace().wrap(half.topic()),
            properties: half.properties().clone(),
            msg_id: sent.msg_id.clone(),
            transaction_id: sent.msg_id.clone(),
            transaction_state: state,
            from_transaction_check: false,
        });
        let remark = failure.map(|f| format!("executeLocalTransactionBranch exception: {f}"));
        end_transaction_oneway(engine, &addr, &header, remark)
    }

    /// Stops the check pool, then the producer.
    pub fn shutdown(&self) {
        self.core.checks.shutdown();
        self.producer.shutdown();
    }
}

impl Drop for TransactionProducer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn end_transaction_oneway(
    engine: &SendEngine,
    addr: &str,
    header: &EndTransactionRequestHeader,
    remark: Option<String>,
) -> Result<(), ClientError> {
    let api = engine.instance.api();
    let mut request = api.request(request_code::END_TRANSACTION, header);
    request.remark = remark;
    api.remoting()
        .invoke_oneway(Some(addr), request, Duration::from_secs(3))?;
    Ok(())
}

/// Answers CHECK_TRANSACTION_STATE (`ClientRemotingProcessor.checkTransactionState`): the
/// check runs on the check pool and answers with END_TRANSACTION to the asking broker.
struct CheckTransactionStateProcessor {
    core: Weak<TransactionCore>,
}

impl RequestProcessor for CheckTransactionStateProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let Some(core) = self.core.upgrade() else {
            return Ok(None);
        };
        let header: CheckTransactionStateRequestHeader = request.decode_header()?;
        let (mut message, _) = decode_message(&request.body, true)?;
        let transaction_id = message
            .uniq_key()
            .map(str::to_string)
            .or_else(|| header.transaction_id.clone())
            .unwrap_or_else(|| message.msg_id.clone());
        if message.uniq_key().is_none() {
            message
                .properties
                .insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, &transaction_id);
        }
        let broker = ctx.remote_addr().to_string();
        // Java's selectProducer(PGROUP): a check for another group is not ours to answer.
        let Some(producer) = core.engine.upgrade() else {
            return Ok(None);
        };
        if message.property(PROPERTY_PRODUCER_GROUP) != Some(producer.config.group.as_str()) {
            log::warn!(
                "{broker} asked about transaction {transaction_id} of producer group {:?}, \
                 not ours ({}); ignored",
                message.property(PROPERTY_PRODUCER_GROUP),
                producer.config.group
            );
            return Ok(None);
        }
        // The listener sees its own topic name (Java: `resetTopic` with `withoutNamespace`).
        message.topic = producer.instance.namespace().unwrap(&message.topic);
        drop(producer);
        let job_core = core.clone();
        let job: Job = Box::new(move || {
            let Some(producer) = job_core.engine.upgrade() else {
                return;
            };
            let (state, failure) = match catch_unwind(AssertUnwindSafe(|| {
                job_core.listener.check_local_transaction(&message)
            })) {
                Ok(state) => (state, None),
                Err(panic) => (
                    LocalTransactionState::Unknown,
                    Some(crate::common::panic_message(&panic)),
                ),
            };
            trace_step!(
                "client",
                "check of transaction {transaction_id} from {broker}: {state:?}"
            );
            let end = EndTransactionRequestHeader {
                producer_group: producer.config.group.clone(),
                tran_state_table_offset: header.tran_state_table_offset,
                commit_log_offset: header.commit_log_offset,
                commit_or_rollback: state.commit_or_rollback(),
                from_transaction_check: true,
                msg_id: message.uniq_key().unwrap_or(&message.msg_id).to_string(),
                transaction_id: header
                    .transaction_id
                    .clone()
                    .or(Some(transaction_id.clone())),
                broker_name: header.broker_name.clone(),
            };
            job_core.end_transaction_hooks(|| EndTransactionContext {
                producer_group: producer.config.group.clone(),
                broker_addr: broker.clone(),
                topic: producer.instance.namespace().wrap(&message.topic),
                properties: message.properties.clone(),
                msg_id: end.msg_id.clone(),
                transaction_id: transaction_id.clone(),
                transaction_state: state,
                from_transaction_check: true,
            });
            let remark = failure.map(|f| format!("checkLocalTransactionState Exception: {f}"));
            if let Err(e) = end_transaction_oneway(&producer, &broker, &end, remark) {
                log::warn!("answering the check of {transaction_id} to {broker} failed: {e}");
            }
        });
        if core.checks.execute(job).is_err() {
            log::warn!(
                "the transaction check pool is full; {} will ask again",
                ctx.remote_addr()
            );
        }
        Ok(None)
    }
}
