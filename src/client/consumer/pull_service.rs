//! `PullMessageService`: the consumer's one pull thread (`rmq-pull`); mirrors Java's
//! `PullMessageService`.
//!
//! Pull requests wait in a delay queue until due; the thread takes each and starts its pull,
//! which is asynchronous: the answer comes back on the transport's callback pool, which puts
//! the queue's next request back here. So one thread keeps every queue's long poll going.

use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::rebalance::PullRequest;
use crate::common::delay_queue::DelayQueue;
use crate::common::sync::MutexExt;

/// What starts a pull for a request (the push or lite consumer).
pub(crate) trait PullTarget: Send + Sync {
    /// Starts the pull `request` asks for; its answer schedules the next one.
    fn pull_message(&self, request: PullRequest);
}

/// The pull thread and its queue of requests.
pub(crate) struct PullMessageService {
    queue: Arc<DelayQueue<PullRequest>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl PullMessageService {
    /// Starts `rmq-pull`, which hands due requests to `target` while it lives.
    pub(crate) fn start(target: Weak<dyn PullTarget>) -> std::io::Result<Self> {
        let queue: Arc<DelayQueue<PullRequest>> = Arc::new(DelayQueue::default());
        let requests = queue.clone();
        let thread = thread::Builder::new()
            .name("rmq-pull".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                while let Some(request) = requests.pop() {
                    let Some(target) = target.upgrade() else {
                        return;
                    };
                    if request.process_queue.is_dropped() {
                        continue;
                    }
                    target.pull_message(request);
                }
            })?;
        Ok(PullMessageService {
            queue,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Pulls for `request` as soon as the thread gets to it (`executePullRequestImmediately`).
    pub(crate) fn execute_now(&self, request: PullRequest) {
        self.queue.push_now(request);
    }

    /// Pulls for `request` after `delay` (`executePullRequestLater`).
    pub(crate) fn execute_later(&self, request: PullRequest, delay: Duration) {
        self.queue.push_after(request, delay);
    }

    /// Drops the requests waiting and joins the thread (unless called from it).
    pub(crate) fn shutdown(&self) {
        self.queue.close();
        if let Some(handle) = self.thread.lock_unpoisoned().take() {
            if handle.thread().id() != thread::current().id() && handle.join().is_err() {
                log::error!("the rmq-pull thread panicked");
            }
        }
    }
}

impl Drop for PullMessageService {
    fn drop(&mut self) {
        self.shutdown();
    }
}
