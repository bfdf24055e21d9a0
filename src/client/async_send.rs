//! `AsyncSend`: one async send and its retries; mirrors Java's `MQClientAPIImpl.sendMessageAsync`
//! and `onExceptionImpl`.
//!
//! The first attempt starts on the caller's thread. Each later step runs in the transport's
//! callback for the previous attempt: a failure that may be retried starts the next attempt on
//! another broker (or the same queue, for a send to a chosen queue) with what is left of the
//! send timeout; the final outcome goes to the user's callback, exactly once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::ClientError;
use super::message::SendResult;
use super::mq_client_api::process_send_response;
use super::producer::{send_failed, ProducerInner};
use super::send_hook::{run_after, CommunicationMode, SendMessageContext, SendMessageHook};
use super::send_kernel::PreparedMessage;
use super::topic_publish_info::TopicPublishInfo;
use crate::common::sync::MutexExt;
use crate::protocol::message::MessageQueue;
use crate::remoting::{InvokeResult, RemotingError};

/// The user's async callback, called once with the outcome; Java's `SendCallback`
/// (`onSuccess` / `onException`) as one closure.
pub type SendCallback = Box<dyn FnOnce(Result<SendResult, ClientError>) + Send + 'static>;

/// Where the attempts of an async send may go.
pub(crate) enum AsyncTarget {
    /// Any queue of the topic's route, chosen per attempt by the fault strategy.
    Route(Arc<TopicPublishInfo>),
    /// This queue only (send to a queue, or a selector's choice).
    Queue(MessageQueue),
}

/// One async send in progress.
pub(crate) struct AsyncSend {
    producer: Arc<ProducerInner>,
    prepared: PreparedMessage<'static>,
    target: AsyncTarget,
    queue: MessageQueue,
    begin: Instant,
    timeout: Duration,
    max_attempts: u32,
    brokers_sent: Vec<String>,
    last_error: Option<ClientError>,
    hooked: Option<(Vec<Arc<dyn SendMessageHook>>, SendMessageContext)>,
    callback: Option<SendCallback>,
}

/// A failure that ends the send, with the send (to finish or give back to the caller).
type Ended = (Box<AsyncSend>, ClientError);

impl AsyncSend {
    /// Starts the send on the caller's thread. `Ok`: an attempt is in flight and `callback`
    /// will run exactly once. `Err`: every attempt failed before a request was in flight and
    /// `callback` will never run.
    pub(crate) fn start(
        producer: Arc<ProducerInner>,
        prepared: PreparedMessage<'static>,
        target: AsyncTarget,
        begin: Instant,
        callback: SendCallback,
    ) -> Result<(), ClientError> {
        let first_queue = match &target {
            AsyncTarget::Queue(queue) => Some(queue.clone()),
            AsyncTarget::Route(info) => {
                producer.fault_strategy.select_one_message_queue(info, None)
            }
        };
        let Some(queue) = first_queue else {
            return Err(ClientError::NoWritableQueue {
                topic: prepared.topic.clone(),
            });
        };
        let max_attempts = producer
            .config
            .retry_times_when_send_async_failed
            .saturating_add(1);
        let timeout = producer.config.send_timeout;
        let send = Box::new(AsyncSend {
            producer,
            prepared,
            target,
            queue,
            begin,
            timeout,
            max_attempts,
            brokers_sent: Vec::new(),
            last_error: None,
            hooked: None,
            callback: Some(callback),
        });
        send.attempt_until_in_flight().map_err(|(mut send, error)| {
            // Nothing is in flight: the caller gets the error, the callback never runs.
            send.callback = None;
            send.run_after_hooks(Err(&error));
            error
        })
    }

    /// Starts attempts until one is in flight (`Ok`) or the send has failed for good.
    fn attempt_until_in_flight(mut self: Box<Self>) -> Result<(), Ended> {
        loop {
            let left = self.timeout.saturating_sub(self.begin.elapsed());
            if left.is_zero() || self.brokers_sent.len() as u32 >= self.max_attempts {
                let error = self.final_error();
                return Err((self, error));
            }
            if !self.brokers_sent.is_empty() {
                self.choose_next_queue();
            }
            self.brokers_sent.push(self.queue.broker_name.clone());
            let started = Instant::now();
            match self.launch(left, started) {
                Ok(()) => return Ok(()),
                Err((send, error)) => {
                    self = send;
                    if let Err(error) = self.note_failure(error, started) {
                        return Err((self, error));
                    }
                }
            }
        }
    }

    /// The queue of the next attempt: another broker's, if the route allows.
    fn choose_next_queue(&mut self) {
        if let AsyncTarget::Route(info) = &self.target {
            let last = self.queue.broker_name.clone();
            if let Some(queue) = self
                .producer
                .fault_strategy
                .select_one_message_queue(info, Some(&last))
            {
                self.queue = queue;
            }
        }
    }

    /// Writes one attempt. `Err` gives the send back when the request could not be handed to
    /// the transport (its callback will not run).
    fn launch(mut self: Box<Self>, left: Duration, started: Instant) -> Result<(), Ended> {
        let producer = self.producer.clone();
        let (addr, request) = match producer.build_request(&self.prepared, &self.queue, left) {
            Ok(built) => built,
            Err(error) => return Err((self, error)),
        };
        if self.hooked.is_none() {
            self.hooked =
                producer.before_hooks(&self.prepared, &self.queue, &addr, CommunicationMode::Async);
        }
        let left = self.timeout.saturating_sub(self.begin.elapsed());
        if left.is_zero() {
            let error = self.final_error();
            return Err((self, error));
        }
        // The send lives in this slot while the request is in flight; whoever takes it owns it.
        let slot = Arc::new(Mutex::new(Some(self)));
        let in_callback = slot.clone();
        let response_addr = addr.clone();
        let handed =
            producer
                .instance
                .api()
                .send_message_async(&addr, request, left, move |outcome| {
                    if let Some(send) = take(&in_callback) {
                        send.on_outcome(outcome, &response_addr, started);
                    }
                });
        match handed {
            Ok(()) => Ok(()),
            Err(error) => match take(&slot) {
                Some(send) => Err((send, error.into())),
                None => Ok(()), // the callback took it: it carries on from there
            },
        }
    }

    /// The transport's answer to an attempt: finish, or retry after a retryable failure.
    fn on_outcome(mut self: Box<Self>, outcome: InvokeResult, addr: &str, started: Instant) {
        let result = outcome.map_err(ClientError::from).and_then(|response| {
            process_send_response(
                &self.prepared.topic,
                &self.queue.broker_name,
                &self.prepared.msg_id,
                &response,
                addr,
            )
        });
        match result {
            Ok(sent) => {
                self.producer.fault_strategy.update_fault_item(
                    &self.queue.broker_name,
                    started.elapsed(),
                    false,
                );
                self.finish(Ok(sent));
            }
            Err(error) => {
                if let Err(error) = self.note_failure(error, started) {
                    return self.finish(Err(error));
                }
                if let Err((send, error)) = self.attempt_until_in_flight() {
                    send.finish(Err(error));
                }
            }
        }
    }

    /// Records a failed attempt; `Err` with the error when it may not be retried.
    fn note_failure(&mut self, error: ClientError, started: Instant) -> Result<(), ClientError> {
        self.producer
            .note_failed_attempt(&self.queue.broker_name, started.elapsed(), &error);
        if !error.is_retryable(&self.producer.config.retry_response_codes) {
            return Err(error);
        }
        log::warn!(
            "async send to {} failed after {} ms: {error}",
            self.queue,
            started.elapsed().as_millis()
        );
        self.last_error = Some(error);
        Ok(())
    }

    fn final_error(&mut self) -> ClientError {
        send_failed(
            &self.prepared.topic,
            self.begin,
            self.timeout,
            std::mem::take(&mut self.brokers_sent),
            self.last_error.take(),
        )
    }

    fn run_after_hooks(&mut self, result: Result<&SendResult, &ClientError>) {
        if let Some((hooks, mut context)) = self.hooked.take() {
            context.send_result = result.ok().cloned();
            context.error = result.err().cloned();
            run_after(&hooks, &context);
        }
    }

    /// Delivers the outcome: "after" hooks, then the user's callback.
    fn finish(mut self: Box<Self>, result: Result<SendResult, ClientError>) {
        self.run_after_hooks(result.as_ref());
        if let Some(callback) = self.callback.take() {
            callback(result);
        }
    }
}

impl Drop for AsyncSend {
    /// A send dropped without an outcome (only if something panicked) still calls back once.
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            callback(Err(ClientError::Remoting(RemotingError::Shutdown)));
        }
    }
}

fn take(slot: &Mutex<Option<Box<AsyncSend>>>) -> Option<Box<AsyncSend>> {
    slot.lock_unpoisoned().take()
}
