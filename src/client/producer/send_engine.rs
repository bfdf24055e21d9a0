//! The attempt engine behind every send. Sync, async and oneway sends share it: the route,
//! the queue of each attempt, the time budget, which failures are retried, the fault items
//! and the send hooks are decided here and nowhere else.
//!
//! Mirrors Java's `DefaultMQProducerImpl.sendDefaultImpl` (the attempts), `sendKernelImpl`
//! (one attempt: broker address, header, hooks) and, for async sends, the retries of
//! `MQClientAPIImpl.onExceptionImpl`. A sync send runs the attempts in a loop on the
//! caller's thread; an async send runs each attempt on an async sender thread and decides
//! the next one in the transport's callback.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::async_sender::InFlightGuard;
use super::prepared_message::PreparedMessage;
use super::send_hook::{run_after, CommunicationMode};
use super::ProducerInner;
use crate::client::shared::client_instance::BrokerChoice;
use crate::client::shared::error::ClientError;
use crate::client::shared::mq_client_api::{SendCallback, SendMode};
use crate::client::shared::result::{SendResult, SendStatus};
use crate::client::shared::topic_publish_info::TopicPublishInfo;
use crate::common::sync::MutexExt;
use crate::common::trace::trace_step;
use crate::protocol::message::MessageQueue;
use crate::remoting::Rejected;

/// A selector run once the route is known (async sends choose their queue on a sender
/// thread, after the route lookup).
pub(crate) type DeferredSelector =
    Box<dyn FnOnce(&[MessageQueue]) -> Option<MessageQueue> + Send + 'static>;

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
    pub(crate) fn next_attempt(&mut self, producer: &ProducerInner) -> Option<Attempt> {
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

    fn choose_queue(&mut self, producer: &ProducerInner) -> Result<MessageQueue, ClientError> {
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
        producer: &ProducerInner,
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
        producer: &ProducerInner,
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

impl ProducerInner {
    /// A sync send (`sendDefaultImpl` in SYNC mode): attempts until one succeeds or the engine
    /// gives up, all on the calling thread.
    pub(crate) fn send_sync(&self, mut send: SendAttempts) -> Result<SendResult, ClientError> {
        loop {
            let Some(attempt) = send.next_attempt(self) else {
                return send.give_up();
            };
            let outcome = self
                .send_kernel(&send.prepared, &attempt.queue, &send.budget, SendMode::Sync)
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
            SendMode::Oneway,
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
    /// callback gets every outcome, failures before the request left included; its "after"
    /// hooks run in the callback, before the engine sees the outcome.
    fn send_kernel(
        &self,
        prepared: &PreparedMessage,
        queue: &MessageQueue,
        budget: &Budget,
        mode: SendMode,
    ) -> Result<Option<SendResult>, ClientError> {
        let addr =
            match self
                .instance
                .find_broker_address(queue, BrokerChoice::Master, budget.left())
            {
                Ok(found) => found.addr,
                Err(error) => return mode.fail(error),
            };
        let left = budget.left();
        if left.is_zero() {
            return mode.fail(budget.exhausted());
        }
        let header = prepared.request_header(&self.header_settings(), queue);
        let kind = match &mode {
            SendMode::Sync => CommunicationMode::Sync,
            SendMode::Async(_) => CommunicationMode::Async,
            SendMode::Oneway => CommunicationMode::Oneway,
        };
        let mut hooked = self.before_hooks(prepared, queue, &addr, kind);
        let mode = match (mode, hooked.take()) {
            (SendMode::Async(callback), Some((hooks, mut context))) => {
                SendMode::Async(Box::new(move |outcome: Result<SendResult, ClientError>| {
                    context.send_result = outcome.as_ref().ok().cloned();
                    context.error = outcome.as_ref().err().cloned();
                    run_after(&hooks, &context);
                    callback(outcome)
                }))
            }
            (mode, taken) => {
                hooked = taken;
                mode
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
        );
        if let Some((hooks, mut context)) = hooked {
            context.send_result = result.as_ref().ok().cloned().flatten();
            context.error = result.as_ref().err().cloned();
            run_after(&hooks, &context);
        }
        result
    }

    /// Runs the next attempt of an async send, on an async sender thread: every step that
    /// may block (route lookup, connect, permits) happens here, never on the caller's
    /// thread, and the outcome reaches [`ProducerInner::on_async_outcome`] exactly once.
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
        let producer = Arc::clone(self);
        let callback: SendCallback = Box::new(move |outcome| {
            producer.on_async_outcome(send, attempt, outcome);
        });
        // Async: Ok(None) always; every outcome went to the callback.
        let _ = self.send_kernel(&prepared, &queue, &budget, SendMode::Async(callback));
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

    /// Queues `send` for a sender thread; `Err` gives it back with why the queue refused it
    /// (full, or shut down).
    pub(crate) fn submit_async(
        self: &Arc<Self>,
        send: Box<AsyncSend>,
    ) -> Result<(), (ClientError, Box<AsyncSend>)> {
        // The send waits in this slot so that a refused job gives it back.
        let slot = Arc::new(Mutex::new(Some(send)));
        let in_job = slot.clone();
        let producer = Arc::clone(self);
        let job = Box::new(move || {
            let taken = in_job.lock_unpoisoned().take();
            if let Some(send) = taken {
                producer.run_async(send);
            }
        });
        let Err(rejected) = self.async_sender.submit(job) else {
            return Ok(());
        };
        let error = match rejected {
            Rejected::Full(_) => ClientError::AsyncSendQueueFull {
                capacity: self.async_sender.capacity(),
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

/// The user's callback of an async send.
pub(crate) type UserCallback = Box<dyn FnOnce(Result<SendResult, ClientError>) + Send + 'static>;

/// An async send between attempts: its engine state, the user's callback, and its place in
/// the in-flight count.
pub(crate) struct AsyncSend {
    pub(crate) attempts: SendAttempts,
    callback: Option<UserCallback>,
    _in_flight: InFlightGuard,
}

impl AsyncSend {
    pub(crate) fn new(
        attempts: SendAttempts,
        callback: UserCallback,
        in_flight: InFlightGuard,
    ) -> Box<Self> {
        Box::new(AsyncSend {
            attempts,
            callback: Some(callback),
            _in_flight: in_flight,
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
