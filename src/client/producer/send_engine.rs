//! `SendEngine`: the engine behind every send, Java's `DefaultMQProducerImpl`. Sync, async
//! and oneway sends share it: the message is prepared once, then the route, the queue of
//! each attempt, the time budget, which failures are retried, the fault items and the send
//! hooks are decided here and nowhere else.
//!
//! Mirrors `sendDefaultImpl` (the attempts, [`SendAttempts`]), `sendKernelImpl` (one attempt:
//! broker address, header, hooks) and, for async sends, the retries of
//! `MQClientAPIImpl.onExceptionImpl`. A sync send runs the attempts in a loop on the caller's
//! thread; an async send runs each attempt on an async sender thread and decides the next one
//! in the transport's callback. The engine knows nothing of who calls it: the [`Producer`]
//! façade, the request-reply and transaction layers, and a consumer sending a message back
//! through its retry topic all use it alike.
//!
//! [`Producer`]: super::Producer

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::async_sender::{AsyncSender, InFlightGuard};
use super::config::ProducerConfig;
use super::mq_fault_strategy::MqFaultStrategy;
use super::prepared_message::PreparedMessage;
use super::queue_selector::MessageQueueSelector;
use super::send_hook::{run_after, run_before, SendMessageContext, SendMessageHook};
use crate::client::shared::client_instance::{BrokerChoice, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::result::{Callback, CommunicationMode, SendResult, SendStatus};
use crate::client::shared::service_state::{ServiceState, ServiceStateCell};
use crate::client::shared::topic_publish_info::TopicPublishInfo;
use crate::client::shared::validators::{check_batch, check_body_size, check_message, check_topic};
use crate::common::clock::now_millis;
use crate::common::sync::MutexExt;
use crate::common::trace::trace_step;
use crate::protocol::header::{RecallMessageRequestHeader, SendMessageRequestHeaderV2};
use crate::protocol::message::recall_handle::RecallHandle;
use crate::protocol::message::{MessageClientIdGenerator, MessageQueue};
use crate::remoting::Rejected;

/// What sends share: the producer's settings, its client instance, the fault strategy, the
/// send hooks, the id generator and whether it still runs.
pub(crate) struct SendEngine {
    pub(crate) config: ProducerConfig,
    pub(crate) instance: Arc<MqClientInstance>,
    fault_strategy: MqFaultStrategy,
    hooks: Vec<Arc<dyn SendMessageHook>>,
    ids: MessageClientIdGenerator,
    born_host: String,
    state: ServiceStateCell,
}

impl SendEngine {
    /// A running engine sending for `config.group` through `instance`.
    pub(crate) fn new(
        config: ProducerConfig,
        instance: Arc<MqClientInstance>,
        hooks: Vec<Arc<dyn SendMessageHook>>,
    ) -> Self {
        SendEngine {
            fault_strategy: MqFaultStrategy::new(config.send_latency_fault_enable),
            ids: MessageClientIdGenerator::new(instance.client_ip()),
            born_host: instance.client_ip().to_string(),
            config,
            instance,
            hooks,
            state: ServiceStateCell::new(ServiceState::Running),
        }
    }

    /// `Err` unless running (`makeSureStateOK`).
    pub(crate) fn ensure_running(&self) -> Result<(), ClientError> {
        if self.state.is_running() {
            Ok(())
        } else {
            Err(ClientError::ShutDown)
        }
    }

    /// From now on every send fails with [`ClientError::ShutDown`]; false when that was so
    /// already.
    pub(crate) fn shut_down(&self) -> bool {
        self.state.swap(ServiceState::ShutdownAlready) != ServiceState::ShutdownAlready
    }

    /// A new unique id (`UNIQ_KEY`, a request's correlation id).
    pub(crate) fn next_id(&self) -> String {
        self.ids.next()
    }

    /// Checks a message (`checkMessage`) and prepares it: `UNIQ_KEY`, compression, flags;
    /// its topic as the cluster names it.
    pub(crate) fn prepare(&self, message: &Message) -> Result<PreparedMessage, ClientError> {
        self.ensure_running()?;
        let checked = check_message(message, self.config.max_message_size);
        trace_step!(
            "client",
            "validate: topic {}, body {} bytes (limit {}): {}",
            message.topic(),
            message.body().len(),
            self.config.max_message_size,
            match &checked {
                Ok(()) => "ok".to_string(),
                Err(e) => e.to_string(),
            }
        );
        checked?;
        let mut prepared = PreparedMessage::single(
            message,
            &self.ids,
            self.config.compress_over,
            self.config.compress_level,
        );
        self.instance.namespace().wrap_in_place(&mut prepared.topic);
        Ok(prepared)
    }

    /// Checks and prepares a batch (`batch`): one body, every message with its `UNIQ_KEY`.
    pub(crate) fn prepare_batch(
        &self,
        messages: &[Message],
    ) -> Result<PreparedMessage, ClientError> {
        self.ensure_running()?;
        check_batch(messages, self.config.max_message_size)?;
        let mut prepared = PreparedMessage::batch(messages, &self.ids)?;
        self.instance.namespace().wrap_in_place(&mut prepared.topic);
        check_body_size(prepared.body.len(), self.config.max_message_size)?;
        trace_step!(
            "client",
            "validate: batch of {} to topic {}, {} bytes encoded: ok",
            messages.len(),
            prepared.topic,
            prepared.body.len()
        );
        Ok(prepared)
    }

    /// The topic's queues, from the cache or the name servers within `timeout`.
    pub(crate) fn find_publish_info(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<Arc<TopicPublishInfo>, ClientError> {
        let (info, source) = self.instance.find_topic_publish_info(topic, timeout)?;
        trace_step!(
            "client",
            "route of {topic}: {} queue(s){} from {source}",
            info.message_queues.len(),
            if info.order_topic {
                " (ordered topic)"
            } else {
                ""
            }
        );
        Ok(info)
    }

    /// RECALL_MESSAGE to the broker the handle names (`DefaultMQProducerImpl.recallMessage`):
    /// the topic checked and namespaced, the broker found as a send finds it, within the
    /// send timeout.
    pub(crate) fn recall(&self, topic: &str, recall_handle: &str) -> Result<String, ClientError> {
        self.ensure_running()?;
        check_topic(topic)?;
        let topic = self.instance.namespace().wrap(topic);
        let handle = RecallHandle::decode(recall_handle)
            .map_err(|reason| ClientError::invalid_argument("recall handle", reason))?;
        let timeout = self.config.send_timeout;
        let queue = MessageQueue::new(topic.as_str(), handle.broker_name.as_str(), 0);
        let broker = self
            .instance
            .find_broker_address(&queue, BrokerChoice::Master, timeout)?;
        let header = RecallMessageRequestHeader {
            producer_group: Some(self.config.group.clone()),
            topic: topic.to_string(),
            recall_handle: recall_handle.to_string(),
        };
        trace_step!(
            "client",
            "recall of {} on {}",
            handle.message_id,
            broker.addr
        );
        self.instance
            .api()
            .recall_message(&broker.addr, &header, timeout)
    }

    /// Runs the "before" hooks and returns the context for the "after" call, if any hook is
    /// registered.
    fn before_hooks(
        &self,
        prepared: &PreparedMessage,
        queue: &MessageQueue,
        broker_addr: &str,
        mode: CommunicationMode,
    ) -> Option<(Vec<Arc<dyn SendMessageHook>>, SendMessageContext)> {
        if self.hooks.is_empty() {
            return None;
        }
        let context = prepared.hook_context(
            &self.config.group,
            &self.born_host,
            queue,
            broker_addr,
            mode,
        );
        run_before(&self.hooks, &context);
        Some((self.hooks.clone(), context))
    }
}

/// The SEND_MESSAGE_V2 header of an attempt of `prepared` on `queue`, born now: fields
/// `a`–`n` as Java 4.9.8 sends them, `l` only when set; `a`, `c` and `d` from the producer's
/// `config`.
pub(crate) fn request_header(
    config: &ProducerConfig,
    prepared: &PreparedMessage,
    queue: &MessageQueue,
) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        a: config.group.clone(),
        b: prepared.topic.clone(),
        c: config.create_topic_key.clone(),
        d: config.default_topic_queue_nums,
        e: queue.queue_id,
        f: prepared.sys_flag,
        g: now_millis(),
        h: prepared.flag,
        i: Some(prepared.properties_text.clone()),
        j: Some(prepared.reconsume_times),
        k: false,
        l: prepared.max_reconsume_times,
        m: prepared.batch,
        n: Some(queue.broker_name.clone()),
    }
}

/// A selector run once the route is known (async sends choose their queue on a sender
/// thread, after the route lookup).
pub(crate) type DeferredSelector =
    Box<dyn FnOnce(&[MessageQueue]) -> Option<MessageQueue> + Send + 'static>;

/// `selector` with its argument and a copy of the message, to run on the sender thread.
pub(crate) fn deferred_selector<S, A>(message: &Message, selector: S, arg: A) -> DeferredSelector
where
    S: MessageQueueSelector<A> + Send + 'static,
    A: Send + 'static,
{
    let for_selector = message.clone();
    Box::new(move |queues: &[MessageQueue]| selector.select(queues, &for_selector, &arg))
}

/// Where the attempts of a send may go.
pub(crate) enum Target {
    /// Any queue of the topic, chosen per attempt by the fault strategy.
    AnyQueue,
    /// This queue only (a send to a queue, or a selector's choice).
    Queue(MessageQueue),
    /// The queue a selector picks from the route's queues, then only that queue.
    Selected(Option<DeferredSelector>),
}

/// What the engine decided after an attempt.
pub(crate) enum Decision {
    /// Make another attempt.
    Retry,
    /// The send is over, with this outcome.
    Done(Result<SendResult, ClientError>),
}

/// One attempt: its number, its queue, and when it began.
pub(crate) struct Attempt {
    pub(crate) number: u32,
    pub(crate) queue: MessageQueue,
    pub(crate) started: Instant,
}

/// One send in progress: the prepared message, where its attempts may go, and what happened
/// so far.
pub(crate) struct SendAttempts {
    pub(crate) prepared: Arc<PreparedMessage>,
    target: Target,
    mode: CommunicationMode,
    begin: Instant,
    budget: Budget,
    max_attempts: u32,
    route: Option<Arc<TopicPublishInfo>>,
    brokers_sent: Vec<String>,
    last_queue: Option<MessageQueue>,
    last_error: Option<ClientError>,
    not_stored: Option<SendResult>,
}

impl SendAttempts {
    /// A send of `prepared` begun now, with `timeout` for all of its (at most
    /// `max_attempts`) attempts.
    pub(crate) fn new(
        prepared: PreparedMessage,
        target: Target,
        mode: CommunicationMode,
        timeout: Duration,
        max_attempts: u32,
    ) -> Self {
        let begin = Instant::now();
        SendAttempts {
            budget: Budget::new(&prepared.topic, begin, timeout),
            prepared: Arc::new(prepared),
            target,
            mode,
            begin,
            max_attempts: max_attempts.max(1),
            route: None,
            brokers_sent: Vec::new(),
            last_queue: None,
            last_error: None,
            not_stored: None,
        }
    }

    /// What is left of the time budget.
    pub(crate) fn time_left(&self) -> Duration {
        self.budget.left()
    }

    /// The next attempt, or None when there is none to make (out of attempts or time, or no
    /// route): then [`SendAttempts::give_up`] says how the send ended.
    pub(crate) fn next_attempt(&mut self, producer: &SendEngine) -> Option<Attempt> {
        let number = self.brokers_sent.len() as u32 + 1;
        if number > self.max_attempts || self.time_left().is_zero() {
            return None;
        }
        let queue = match self.choose_queue(producer) {
            Ok(queue) => queue,
            Err(error) => {
                self.last_error = Some(error);
                return None;
            }
        };
        if self.time_left().is_zero() {
            return None; // the route lookup took the whole budget
        }
        trace_step!(
            "client",
            "attempt {number} of {} on {queue}, {} ms left",
            self.max_attempts,
            self.time_left().as_millis()
        );
        self.brokers_sent.push(queue.broker_name.clone());
        self.last_queue = Some(queue.clone());
        Some(Attempt {
            number,
            queue,
            started: Instant::now(),
        })
    }

    fn choose_queue(&mut self, producer: &SendEngine) -> Result<MessageQueue, ClientError> {
        if let Target::Queue(queue) = &self.target {
            return Ok(queue.clone());
        }
        let route = match &self.route {
            Some(route) => route.clone(),
            None => {
                let route = producer.find_publish_info(&self.prepared.topic, self.time_left())?;
                self.route = Some(route.clone());
                route
            }
        };
        if let Target::Selected(selector) = &mut self.target {
            let selector = selector
                .take()
                .ok_or_else(|| no_queue(&self.prepared.topic))?;
            // The selector sees the queues under the topic name the user gave
            // (`sendSelectImpl`: `parsePublishMessageQueues`), and its choice goes back in.
            let namespace = producer.instance.namespace();
            let queues = namespace.unwrap_queues(&route.message_queues);
            // The selector is user code on a sender thread: its panic ends this send.
            let chosen = catch_unwind(AssertUnwindSafe(|| selector(&queues))).map_err(|panic| {
                ClientError::invalid_argument(
                    "selector",
                    format!("panicked: {}", crate::common::panic_message(&panic)),
                )
            })?;
            let queue = chosen.ok_or_else(|| {
                ClientError::invalid_argument(
                    "selector",
                    format!(
                        "chose no queue among the {} of topic {}",
                        route.message_queues.len(),
                        self.prepared.topic
                    ),
                )
            })?;
            let queue = namespace.wrap_queue(&queue);
            trace_step!("client", "queue chosen: {queue} (by the selector)");
            self.target = Target::Queue(queue.clone());
            return Ok(queue);
        }
        let last_broker = self.last_queue.as_ref().map(|q| q.broker_name.as_str());
        let (queue, why) = producer
            .fault_strategy
            .select_one_message_queue(&route, last_broker)
            .ok_or_else(|| no_queue(&self.prepared.topic))?;
        trace_step!("client", "queue chosen: {queue} ({why})");
        Ok(queue)
    }

    /// Records an attempt that returned `result`. Done, unless the broker stored it with a
    /// warning status and the producer retries another broker then
    /// (`retryAnotherBrokerWhenNotStoreOK`, sync sends only).
    pub(crate) fn on_success(
        &mut self,
        producer: &SendEngine,
        attempt: &Attempt,
        mut result: SendResult,
    ) -> Decision {
        // The caller sees its own topic name (`processSendResponse`: `withoutNamespace`).
        producer
            .instance
            .namespace()
            .unwrap_queue_in_place(&mut result.message_queue);
        producer.fault_strategy.update_fault_item(
            &attempt.queue.broker_name,
            attempt.started.elapsed(),
            false,
        );
        trace_step!(
            "client",
            "attempt {} succeeded: {} at offset {} of {}",
            attempt.number,
            result.send_status,
            result.queue_offset,
            result.message_queue
        );
        let retry_not_stored = self.mode == CommunicationMode::Sync
            && result.send_status != SendStatus::SendOk
            && producer.config.retry_another_broker_when_not_store_ok;
        if retry_not_stored {
            self.not_stored = Some(result);
            Decision::Retry
        } else {
            Decision::Done(Ok(result))
        }
    }

    /// Records a failed attempt: the broker's fault item, a route refresh when the broker
    /// may be gone, and whether to retry: sync sends retry transport failures and the
    /// configured broker codes, async sends only transport failures (Java never retries an
    /// async send the broker answered), oneway sends never.
    pub(crate) fn on_failure(
        &mut self,
        producer: &SendEngine,
        attempt: &Attempt,
        error: ClientError,
    ) -> Decision {
        let latency = attempt.started.elapsed();
        producer
            .fault_strategy
            .update_fault_item(&attempt.queue.broker_name, latency, true);
        if error.suggests_route_change() {
            producer.instance.request_route_refresh();
        }
        let retryable = match self.mode {
            CommunicationMode::Sync => error.is_retryable(&producer.config.retry_response_codes),
            CommunicationMode::Async => error.is_transport_failure(),
            CommunicationMode::Oneway => false,
        };
        trace_step!(
            "client",
            "attempt {} failed after {} ms ({}): {error}",
            attempt.number,
            latency.as_millis(),
            if retryable { "may retry" } else { "final" }
        );
        if !retryable {
            return Decision::Done(self.not_stored.take().ok_or(error));
        }
        log::warn!(
            "send to {} failed after {} ms, retrying: {error}",
            attempt.queue,
            latency.as_millis()
        );
        self.last_error = Some(error);
        Decision::Retry
    }

    /// How the send ended once no attempt is left: a result stored with a warning status if
    /// there was one; else the route error; else a plain timeout if no attempt could start;
    /// else every attempt, how long, which brokers, and the last cause.
    pub(crate) fn give_up(&mut self) -> Result<SendResult, ClientError> {
        if let Some(result) = self.not_stored.take() {
            return Ok(result);
        }
        let timed_out = || self.budget.exhausted();
        if self.brokers_sent.is_empty() {
            return Err(self.last_error.take().unwrap_or_else(timed_out));
        }
        Err(ClientError::SendFailed {
            attempts: self.brokers_sent.len() as u32,
            elapsed: self.begin.elapsed(),
            topic: self.prepared.topic.clone(),
            brokers_sent: std::mem::take(&mut self.brokers_sent),
            cause: Box::new(self.last_error.take().unwrap_or_else(timed_out)),
        })
    }
}

/// A send's time budget: every attempt gets what is left of it (Java gives each attempt
/// `timeout - costTime`).
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    topic: String,
    deadline: Instant,
    timeout: Duration,
}

impl Budget {
    fn new(topic: &str, begin: Instant, timeout: Duration) -> Self {
        Budget {
            topic: topic.to_string(),
            deadline: begin
                .checked_add(timeout)
                .unwrap_or_else(|| crate::common::clock::deadline_after(timeout)),
            timeout,
        }
    }

    /// What is left.
    pub(crate) fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The error of a send whose budget ran out.
    pub(crate) fn exhausted(&self) -> ClientError {
        ClientError::Timeout {
            operation: format!("send to topic {}", self.topic),
            timeout: self.timeout,
            setting: "send_timeout",
        }
    }
}

fn no_queue(topic: &str) -> ClientError {
    ClientError::NoRoute {
        topic: topic.to_string(),
        reason: "its route has no queue to send to".into(),
    }
}

impl SendEngine {
    /// A sync send (`sendDefaultImpl` in SYNC mode): attempts until one succeeds or the engine
    /// gives up, all on the calling thread.
    pub(crate) fn send_sync(&self, mut send: SendAttempts) -> Result<SendResult, ClientError> {
        loop {
            let Some(attempt) = send.next_attempt(self) else {
                return send.give_up();
            };
            let outcome = self
                .send_kernel(
                    &send.prepared,
                    &attempt.queue,
                    &send.budget,
                    CommunicationMode::Sync,
                    None,
                )
                .and_then(|result| result.ok_or_else(|| send.budget.exhausted()));
            let decision = match outcome {
                Ok(result) => send.on_success(self, &attempt, result),
                Err(error) => send.on_failure(self, &attempt, error),
            };
            if let Decision::Done(outcome) = decision {
                return outcome;
            }
        }
    }

    /// A oneway send: one attempt, written and not answered.
    pub(crate) fn send_oneway(&self, mut send: SendAttempts) -> Result<(), ClientError> {
        let Some(attempt) = send.next_attempt(self) else {
            return send.give_up().map(drop);
        };
        match self.send_kernel(
            &send.prepared,
            &attempt.queue,
            &send.budget,
            CommunicationMode::Oneway,
            None,
        ) {
            Ok(_) => {
                self.fault_strategy.update_fault_item(
                    &attempt.queue.broker_name,
                    attempt.started.elapsed(),
                    false,
                );
                Ok(())
            }
            Err(error) => match send.on_failure(self, &attempt, error) {
                Decision::Done(outcome) => outcome.map(drop),
                Decision::Retry => send.give_up().map(drop),
            },
        }
    }

    /// One attempt (`sendKernelImpl`): the broker's address, the request header, the send
    /// hooks around it, and the RPC in `mode`. An async attempt returns `Ok(None)` and its
    /// `callback` gets every outcome, failures before the request left included; its "after"
    /// hooks run in the callback, before the engine sees the outcome.
    fn send_kernel(
        &self,
        prepared: &PreparedMessage,
        queue: &MessageQueue,
        budget: &Budget,
        mode: CommunicationMode,
        callback: Option<Callback<SendResult>>,
    ) -> Result<Option<SendResult>, ClientError> {
        // A failure before the request leaves goes where the outcome would have gone.
        let fail = |callback: Option<Callback<SendResult>>, error| match callback {
            Some(callback) => {
                callback(Err(error));
                Ok(None)
            }
            None => Err(error),
        };
        let found = self
            .instance
            .find_broker_address(queue, BrokerChoice::Master, budget.left());
        let addr = match found {
            Ok(found) => found.addr,
            Err(error) => return fail(callback, error),
        };
        let left = budget.left();
        if left.is_zero() {
            return fail(callback, budget.exhausted());
        }
        let header = request_header(&self.config, prepared, queue);
        let mut hooked = self.before_hooks(prepared, queue, &addr, mode);
        let callback = match (callback, hooked.take()) {
            (Some(callback), Some((hooks, mut context))) => {
                let after_hooks: Callback<SendResult> = Box::new(move |outcome| {
                    context.send_result = outcome.as_ref().ok().cloned();
                    context.error = outcome.as_ref().err().cloned();
                    run_after(&hooks, &context);
                    callback(outcome)
                });
                Some(after_hooks)
            }
            (callback, taken) => {
                hooked = taken;
                callback
            }
        };
        let result = self.instance.api().send_message(
            &addr,
            &queue.broker_name,
            &header,
            prepared.body.clone(),
            &prepared.msg_id,
            left,
            mode,
            callback,
        );
        if let Some((hooks, mut context)) = hooked {
            context.send_result = result.as_ref().ok().cloned().flatten();
            context.error = result.as_ref().err().cloned();
            run_after(&hooks, &context);
        }
        result
    }

    /// Starts an async send of `prepared` on `sender`'s threads, with `budget` for all of its
    /// attempts: `callback` gets the outcome exactly once, unless the sender refuses the send
    /// (full, or shut down): then the error comes back here and the callback never runs.
    pub(crate) fn send_async(
        self: &Arc<Self>,
        sender: &Arc<AsyncSender>,
        prepared: PreparedMessage,
        target: Target,
        callback: Callback<SendResult>,
        budget: Duration,
    ) -> Result<(), ClientError> {
        let attempts = self
            .config
            .retry_times_when_send_async_failed
            .saturating_add(1);
        let send = SendAttempts::new(prepared, target, CommunicationMode::Async, budget, attempts);
        let send = AsyncSend::new(send, callback, sender);
        self.submit_async(send).map_err(|(error, send)| {
            send.refuse();
            error
        })
    }

    /// Runs the next attempt of an async send, on an async sender thread: every step that
    /// may block (route lookup, connect, permits) happens here, never on the caller's
    /// thread, and the outcome reaches [`SendEngine::on_async_outcome`] exactly once.
    pub(crate) fn run_async(self: &Arc<Self>, mut send: Box<AsyncSend>) {
        if let Err(error) = self.ensure_running() {
            return send.finish(Err(error));
        }
        let Some(attempt) = send.attempts.next_attempt(self) else {
            let outcome = send.attempts.give_up();
            return send.finish(outcome);
        };
        let prepared = send.attempts.prepared.clone();
        let budget = send.attempts.budget.clone();
        let queue = attempt.queue.clone();
        let engine = Arc::clone(self);
        let callback: Callback<SendResult> = Box::new(move |outcome| {
            engine.on_async_outcome(send, attempt, outcome);
        });
        // Async: Ok(None) always; every outcome went to the callback.
        let _ = self.send_kernel(
            &prepared,
            &queue,
            &budget,
            CommunicationMode::Async,
            Some(callback),
        );
    }

    /// The outcome of an async attempt (on the transport's callback pool, or on the sender
    /// thread when it failed before leaving): finish, or queue the next attempt for a sender
    /// thread (connecting to another broker must not hold a callback thread).
    fn on_async_outcome(
        self: &Arc<Self>,
        mut send: Box<AsyncSend>,
        attempt: Attempt,
        outcome: Result<SendResult, ClientError>,
    ) {
        let decision = match outcome {
            Ok(result) => send.attempts.on_success(self, &attempt, result),
            Err(error) => send.attempts.on_failure(self, &attempt, error),
        };
        match decision {
            Decision::Done(outcome) => send.finish(outcome),
            Decision::Retry => {
                if let Err((error, send)) = self.submit_async(send) {
                    send.finish(Err(error));
                }
            }
        }
    }

    /// Queues `send` for a thread of its async sender; `Err` gives it back with why the queue
    /// refused it (full, or shut down).
    fn submit_async(
        self: &Arc<Self>,
        send: Box<AsyncSend>,
    ) -> Result<(), (ClientError, Box<AsyncSend>)> {
        let sender = send.sender.clone();
        // The send waits in this slot so that a refused job gives it back.
        let slot = Arc::new(Mutex::new(Some(send)));
        let in_job = slot.clone();
        let engine = Arc::clone(self);
        let job = Box::new(move || {
            let taken = in_job.lock_unpoisoned().take();
            if let Some(send) = taken {
                engine.run_async(send);
            }
        });
        let Err(rejected) = sender.submit(job) else {
            return Ok(());
        };
        let error = match rejected {
            Rejected::Full(_) => ClientError::AsyncSendQueueFull {
                capacity: sender.capacity(),
            },
            Rejected::Shutdown(_) => ClientError::ShutDown,
        };
        let taken = slot.lock_unpoisoned().take();
        match taken {
            Some(send) => Err((error, send)),
            None => Ok(()), // unreachable: a refused job never ran
        }
    }
}

/// An async send between attempts: its engine state, the user's callback, the sender threads
/// its attempts run on, and its place in their in-flight count.
pub(crate) struct AsyncSend {
    pub(crate) attempts: SendAttempts,
    callback: Option<Callback<SendResult>>,
    sender: Arc<AsyncSender>,
    _in_flight: InFlightGuard,
}

impl AsyncSend {
    /// An async send of `attempts` on `sender`'s threads, counted in flight from now.
    pub(crate) fn new(
        attempts: SendAttempts,
        callback: Callback<SendResult>,
        sender: &Arc<AsyncSender>,
    ) -> Box<Self> {
        Box::new(AsyncSend {
            attempts,
            callback: Some(callback),
            _in_flight: sender.track(),
            sender: sender.clone(),
        })
    }

    /// Drops the callback unused: the send was refused before it was accepted, and its
    /// caller gets the error instead.
    pub(crate) fn refuse(mut self: Box<Self>) {
        self.callback = None;
    }

    /// Delivers the outcome to the user's callback; the in-flight count drops after it
    /// returns.
    pub(crate) fn finish(mut self: Box<Self>, outcome: Result<SendResult, ClientError>) {
        if let Some(callback) = self.callback.take() {
            callback(outcome);
        }
    }
}

impl Drop for AsyncSend {
    /// A send dropped without an outcome (its job was dropped by a pool shutting down, or
    /// something panicked) still calls back once.
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            // Never while unwinding: user code that panicked on the way is caught wherever
            // it runs, so this would be a bug of ours, and a second panic would abort.
            if std::thread::panicking() {
                log::error!("an async send was dropped by a panic; its callback cannot run");
                return;
            }
            callback(Err(ClientError::ShutDown));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::producer::prepared_message::tests::ids;
    use crate::client::shared::test_support::fixture;
    use crate::protocol::message::string_to_properties;
    use crate::protocol::{CommandCustomHeader, ExtFields};

    /// The settings of Java's peer producer: group, `TBW102`, 4 queues.
    fn settings() -> ProducerConfig {
        ProducerConfig::new("javapeer_producer_group".into())
    }

    fn field_names(fields: &ExtFields) -> Vec<String> {
        let mut names: Vec<_> = fields.iter().map(|(k, _)| k.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn header_has_exactly_the_fields_of_java_vector_010() {
        let java = fixture("java-4.9.8/010-req-code310-json.bin");
        let message = Message::new("TopicTest", "Hello RocketMQ 0")
            .with_tags("TagA")
            .with_keys(["KEY0"]);
        let prepared = PreparedMessage::single(&message, &ids(), 4096, 5);
        let queue = MessageQueue::new("TopicTest", "broker-a", 2);
        let mut ours = ExtFields::new();
        request_header(&settings(), &prepared, &queue).write_to(&mut ours);
        assert_eq!(field_names(&ours), field_names(&java.ext_fields));
        assert!(ours.get("l").is_none());
        // Field by field, except the time and the generated id.
        for key in ["a", "b", "c", "d", "e", "f", "h", "j", "k", "m", "n"] {
            assert_eq!(ours.get(key), java.ext_fields.get(key), "field {key}");
        }
        let g: i64 = ours.get("g").unwrap().parse().unwrap();
        assert!(g > 1_700_000_000_000);
        // The property string: name \x01 value pairs joined by \x02, no trailing \x02, with
        // the same keys and values as Java's but the UNIQ_KEY.
        let text = ours.get("i").unwrap();
        assert!(!text.ends_with('\u{2}'));
        assert!(text
            .split('\u{2}')
            .all(|pair| pair.split('\u{1}').count() == 2));
        let (ours, java) = (
            string_to_properties(text),
            string_to_properties(java.ext_fields.get("i").unwrap()),
        );
        let mut our_keys: Vec<_> = ours.iter().map(|(k, _)| k).collect();
        let mut java_keys: Vec<_> = java.iter().map(|(k, _)| k).collect();
        our_keys.sort();
        java_keys.sort();
        assert_eq!(our_keys, java_keys);
        for key in ["KEYS", "WAIT", "TAGS"] {
            assert_eq!(ours.get(key), java.get(key));
        }
        let uniq = ours.get("UNIQ_KEY").unwrap();
        assert_eq!(uniq.len(), 32);
        assert!(uniq.starts_with("0A000001"), "ip first: {uniq}");
        assert_eq!(prepared.msg_id, uniq);
    }

    #[test]
    fn max_reconsume_times_only_for_retry_topics_that_set_it() {
        let mut message = Message::new("%RETRY%G", "x");
        message.put_system_property("RECONSUME_TIME", "3");
        message.put_system_property("MAX_RECONSUME_TIMES", "16");
        let prepared = PreparedMessage::single(&message, &ids(), 4096, 5);
        let queue = MessageQueue::new("%RETRY%G", "b", 0);
        let header = request_header(&settings(), &prepared, &queue);
        assert_eq!((header.j, header.l), (Some(3), Some(16)));
        assert!(!header.i.unwrap().contains("RECONSUME"));
    }

    #[test]
    fn a_batch_header_says_batch_and_is_not_compressed() {
        let messages: Vec<_> = (0..3)
            .map(|i| Message::new("T", vec![b'z'; 5000]).with_tags(format!("t{i}")))
            .collect();
        let prepared = PreparedMessage::batch(&messages, &ids()).unwrap();
        let header = request_header(&settings(), &prepared, &MessageQueue::new("T", "b", 1));
        assert!(header.m);
        assert_eq!(header.f, 0);
    }
}
