//! `PopLongPollingService`: pops (and NOTIFICATIONs) that found nothing wait here until a
//! message arrives for their topic, queue or retry topic, or their poll time passes. Its own
//! holder and thread (`rmq-pop-polling`), apart from the pull hold: pops are keyed by topic,
//! group and queue (-1 for every queue), and a message revived into a group's retry topic
//! wakes that group's pops of the topic.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};

use crate::common::sync::MutexExt;
use crate::protocol::codes::request_code;
use crate::protocol::header::pop_retry_topic_v1;
use crate::protocol::RemotingCommand;
use crate::remoting::RequestContext;

/// What a held request waits for messages of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PopTarget {
    pub topic: String,
    pub group: String,
    /// A queue, -1 for every queue.
    pub queue_id: i32,
    /// An orderly pop: blocked queues do not count, the retry topic is not read.
    pub order: bool,
    /// The orderly pop's attempt (a queue it blocked itself does not block it).
    pub attempt_id: Option<String>,
}

/// A held request; mirrors Java's `longpolling.PopRequest`.
pub(crate) struct PopRequest {
    /// Where to answer.
    pub ctx: RequestContext,
    /// The request, run again when woken.
    pub request: RemotingCommand,
    /// What it waits on.
    pub target: PopTarget,
    /// When it is answered with nothing.
    pub deadline: Instant,
    /// When it is run again if no message wakes it sooner: its deadline, or earlier when an
    /// orderly queue it waits on unblocks then.
    pub wake_at: Instant,
}

/// What [`PopLongPollingService::polling`] did with a request (`PollingResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollingResult {
    /// Held: it is answered later.
    Suspended,
    /// Too many wait: answer POLLING_FULL.
    Full,
    /// Its time is up (or it asked for no wait, or the service stops): answer POLLING_TIMEOUT.
    Timeout,
}

/// What answers held requests: runs a woken request again and answers it. Defined here so
/// that this service does not depend on the processors that use it.
pub(crate) trait PopRequestAnswerer: Send + Sync {
    /// Runs `request` again (its deadline already set) and answers it.
    fn execute_when_wakeup(&self, request: PopRequest);
    /// Whether a pop of `target` would find a message now.
    fn has_message(&self, target: &PopTarget) -> bool;
}

type Key = (String, String, i32);

/// Held requests by key, with the indexes arrivals look them up by.
#[derive(Default)]
struct Held {
    by_key: HashMap<Key, VecDeque<PopRequest>>,
    /// Held requests per topic, per group.
    topics: HashMap<String, HashMap<String, usize>>,
    /// A group's retry topic of a topic -> (topic, group), while any of theirs are held.
    retry_topics: HashMap<String, (String, String)>,
    total: usize,
    /// No request's wake-up time is earlier.
    earliest_deadline: Option<Instant>,
}

impl Held {
    fn insert(&mut self, request: PopRequest) {
        self.earliest_deadline = Some(
            self.earliest_deadline
                .map_or(request.wake_at, |d| d.min(request.wake_at)),
        );
        let target = &request.target;
        let count = self
            .topics
            .entry(target.topic.clone())
            .or_default()
            .entry(target.group.clone())
            .or_insert(0);
        if *count == 0 {
            self.retry_topics.insert(
                pop_retry_topic_v1(&target.topic, &target.group),
                (target.topic.clone(), target.group.clone()),
            );
        }
        *count += 1;
        self.total += 1;
        let key = (target.topic.clone(), target.group.clone(), target.queue_id);
        self.by_key.entry(key).or_default().push_back(request);
    }

    /// Bookkeeping for a request taken out.
    fn forget(&mut self, topic: &str, group: &str) {
        self.total -= 1;
        let Some(groups) = self.topics.get_mut(topic) else {
            return;
        };
        if let Some(count) = groups.get_mut(group) {
            *count -= 1;
            if *count == 0 {
                groups.remove(group);
                self.retry_topics.remove(&pop_retry_topic_v1(topic, group));
            }
        }
        if groups.is_empty() {
            self.topics.remove(topic);
        }
    }

    /// Takes the oldest request held under `key`.
    fn take_first(&mut self, key: &Key) -> Option<PopRequest> {
        let queue = self.by_key.get_mut(key)?;
        let request = queue.pop_front();
        if queue.is_empty() {
            self.by_key.remove(key);
        }
        if let Some(request) = &request {
            self.forget(&request.target.topic, &request.target.group);
        }
        request
    }

    /// Takes every request matching `pred` and recomputes the earliest deadline.
    fn take_all(&mut self, pred: impl Fn(&PopRequest) -> bool) -> Vec<PopRequest> {
        let mut out = Vec::new();
        for queue in self.by_key.values_mut() {
            let (take, keep): (Vec<_>, Vec<_>) = std::mem::take(queue).into_iter().partition(&pred);
            *queue = keep.into();
            out.extend(take);
        }
        self.by_key.retain(|_, queue| !queue.is_empty());
        for request in &out {
            self.forget(&request.target.topic, &request.target.group);
        }
        self.earliest_deadline = self.by_key.values().flatten().map(|r| r.wake_at).min();
        out
    }

    /// Which keys a message arriving in `topic`'s queue `queue_id` wakes one request of:
    /// for a group's retry topic, that group's requests of the topic (any queue); otherwise
    /// every group's requests of every queue and of that queue (Java's
    /// `notifyMessageArriving`, which also reads V1 retry topics here).
    fn keys_to_wake(&self, topic: &str, queue_id: i32) -> Vec<Key> {
        if let Some((normal, group)) = self.retry_topics.get(topic) {
            let mut keys: Vec<Key> = self
                .by_key
                .keys()
                .filter(|(t, g, _)| t == normal && g == group)
                .cloned()
                .collect();
            // Pops of every queue first, as Java notifies them first.
            keys.sort_by_key(|(_, _, q)| *q != -1);
            keys.truncate(1);
            return keys;
        }
        let Some(groups) = self.topics.get(topic) else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        for group in groups.keys() {
            for q in [-1, queue_id] {
                let key = (topic.to_string(), group.clone(), q);
                if self.by_key.contains_key(&key) && !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys
    }
}

enum Event {
    /// A message was stored in a queue.
    Arrived {
        topic: String,
        queue_id: i32,
    },
    /// A pop that left messages behind asks for one more held pop of its key to run.
    Wake(Key),
    /// A request was just held: a message stored between its read and now woke nobody, so
    /// its key is looked at once (checkHoldRequest).
    Recheck(Key),
    Stop,
}

/// How often every held request is checked against its deadline and its connection,
/// whatever else happens.
const FULL_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Holds pops and NOTIFICATIONs; mirrors Java's `PopLongPollingService`.
pub(crate) struct PopLongPollingService {
    held: Mutex<Held>,
    events: Sender<Event>,
    receiver: Mutex<Option<Receiver<Event>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stopped: AtomicBool,
    max_total: usize,
    max_per_key: usize,
}

impl PopLongPollingService {
    /// A service that holds at most `max_total` requests, `max_per_key` per key
    /// (`maxPopPollingSize`, `popPollingSize`); its thread starts with `start`.
    pub(crate) fn new(max_total: usize, max_per_key: usize) -> Arc<Self> {
        let (events, receiver) = unbounded();
        Arc::new(PopLongPollingService {
            held: Mutex::new(Held::default()),
            events,
            receiver: Mutex::new(Some(receiver)),
            thread: Mutex::new(None),
            stopped: AtomicBool::new(false),
            max_total,
            max_per_key,
        })
    }

    /// Starts `rmq-pop-polling`, which runs woken requests through `answerer`.
    pub(crate) fn start(
        self: &Arc<Self>,
        answerer: Arc<dyn PopRequestAnswerer>,
    ) -> std::io::Result<()> {
        let Some(receiver) = self.receiver.lock_unpoisoned().take() else {
            return Ok(());
        };
        let service = Arc::clone(self);
        let handle = thread::Builder::new()
            .name("rmq-pop-polling".into())
            .spawn(move || service.run(receiver, answerer))?;
        *self.thread.lock_unpoisoned() = Some(handle);
        Ok(())
    }

    /// Holds `request` until its deadline (`polling`): Full when too many wait, Timeout when
    /// the deadline has passed or the service is stopping.
    pub(crate) fn polling(&self, mut request: PopRequest) -> PollingResult {
        if request.deadline <= Instant::now() {
            return PollingResult::Timeout;
        }
        // Only the header is read again: a body a peer attached is not held for a minute.
        request.request.body = Default::default();
        let key = (
            request.target.topic.clone(),
            request.target.group.clone(),
            request.target.queue_id,
        );
        {
            let mut held = self.held.lock_unpoisoned();
            // Checked under the lock: the thread's last drain, after the flag is set, finds
            // every request held before it.
            if self.stopped.load(Ordering::SeqCst) {
                return PollingResult::Timeout;
            }
            if held.total >= self.max_total
                || held
                    .by_key
                    .get(&key)
                    .is_some_and(|q| q.len() >= self.max_per_key)
            {
                return PollingResult::Full;
            }
            held.insert(request);
        }
        let _ = self.events.send(Event::Recheck(key));
        PollingResult::Suspended
    }

    /// A message was stored in `topic`'s queue `queue_id`; called from the store after every
    /// put, so it only takes a look when something is held for the topic.
    pub(crate) fn notify_message_arriving(&self, topic: &str, queue_id: i32) {
        {
            let held = self.held.lock_unpoisoned();
            if !held.topics.contains_key(topic) && !held.retry_topics.contains_key(topic) {
                return;
            }
        }
        let _ = self.events.send(Event::Arrived {
            topic: topic.to_string(),
            queue_id,
        });
    }

    /// A pop found more than it could take: run one more held pop of its key
    /// (`notifyMessageArriving(topic, queueId, cid)` after a pop with `restNum > 0`).
    pub(crate) fn wake_one(&self, topic: &str, group: &str, queue_id: i32) {
        let key = (topic.to_string(), group.to_string(), queue_id);
        if self.held.lock_unpoisoned().by_key.contains_key(&key) {
            let _ = self.events.send(Event::Wake(key));
        }
    }

    /// Pops (not NOTIFICATIONs) held on a key (POLLING_INFO).
    pub(crate) fn polling_num(&self, topic: &str, group: &str, queue_id: i32) -> usize {
        self.held
            .lock_unpoisoned()
            .by_key
            .get(&(topic.to_string(), group.to_string(), queue_id))
            .map_or(0, |q| {
                q.iter()
                    .filter(|r| r.request.code == request_code::POP_MESSAGE)
                    .count()
            })
    }

    /// Every request held (tests, runtime figures).
    pub(crate) fn held_count(&self) -> usize {
        self.held.lock_unpoisoned().total
    }

    fn run(&self, receiver: Receiver<Event>, answerer: Arc<dyn PopRequestAnswerer>) {
        let mut next_full_scan = Instant::now() + FULL_SCAN_INTERVAL;
        loop {
            let wake_at = self
                .held
                .lock_unpoisoned()
                .earliest_deadline
                .map_or(next_full_scan, |d| d.min(next_full_scan));
            let woken: Vec<PopRequest> =
                match receiver.recv_timeout(wake_at.saturating_duration_since(Instant::now())) {
                    Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                    Ok(Event::Arrived { topic, queue_id }) => {
                        let mut held = self.held.lock_unpoisoned();
                        held.keys_to_wake(&topic, queue_id)
                            .iter()
                            .filter_map(|key| held.take_first(key))
                            .collect()
                    }
                    Ok(Event::Wake(key)) => self
                        .held
                        .lock_unpoisoned()
                        .take_first(&key)
                        .into_iter()
                        .collect(),
                    Ok(Event::Recheck(key)) => {
                        let target = self
                            .held
                            .lock_unpoisoned()
                            .by_key
                            .get(&key)
                            .and_then(|q| q.back())
                            .map(|r| r.target.clone());
                        // Looked at outside the lock: the store's arrival callback takes it.
                        match target {
                            Some(target) if answerer.has_message(&target) => self
                                .held
                                .lock_unpoisoned()
                                .take_first(&key)
                                .into_iter()
                                .collect(),
                            _ => Vec::new(),
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => Vec::new(),
                };
            for request in woken {
                self.answer(&*answerer, request);
            }
            let now = Instant::now();
            let full_scan = now >= next_full_scan;
            if full_scan {
                next_full_scan = now + FULL_SCAN_INTERVAL;
            }
            let due = self
                .held
                .lock_unpoisoned()
                .earliest_deadline
                .is_some_and(|d| d <= now);
            if full_scan || due {
                let expired = self.held.lock_unpoisoned().take_all(|r| {
                    r.wake_at <= now || (full_scan && r.ctx.connection().is_closed())
                });
                for request in expired {
                    self.answer(&*answerer, request);
                }
            }
        }
        // Stopping: every held request is answered (with nothing) so no client waits on.
        // Taken first: answering runs the request, which takes the lock.
        let left = self.held.lock_unpoisoned().take_all(|_| true);
        for request in left {
            self.answer(&*answerer, request);
        }
    }

    /// Runs a taken request again, unless nobody is there to read the answer.
    fn answer(&self, answerer: &dyn PopRequestAnswerer, request: PopRequest) {
        if !request.ctx.connection().is_closed() {
            answerer.execute_when_wakeup(request);
        }
    }

    /// Stops holding, answers what is held and joins the thread.
    pub(crate) fn shutdown(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = self.events.send(Event::Stop);
        if let Some(handle) = self.thread.lock_unpoisoned().take() {
            if handle.thread().id() != thread::current().id() && handle.join().is_err() {
                log::error!("the rmq-pop-polling thread panicked");
            }
        }
    }
}
