//! `ResponseTable`: requests waiting for their response, keyed by opaque.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::error::RemotingError;
use super::permits::Permit;
use super::spin_policy::SpinPolicy;
use crate::common::clock::deadline_after;
use crate::common::sync::{CondvarExt, MutexExt};
use crate::protocol::RemotingCommand;

/// The outcome of a call: the response command, or why there is none.
pub type InvokeResult = Result<RemotingCommand, RemotingError>;

/// What an async call runs when it completes: exactly once, on the callback pool.
pub(crate) type InvokeCallback = Box<dyn FnOnce(InvokeResult) + Send + 'static>;

/// One request waiting for its response; mirrors Java's `ResponseFuture`.
///
/// A sync caller waits on the condvar for the slot to fill; an async call carries a callback
/// instead. Whoever removes the future from the [`ResponseTable`] completes it, so it
/// completes exactly once.
pub(crate) struct ResponseFuture {
    opaque: i32,
    connection_id: u64,
    addr: Arc<str>,
    begin: Instant,
    timeout: Duration,
    state: Mutex<FutureState>,
    done: Condvar,
    filled: AtomicBool,
}

/// Whether lone sync callers poll, as measured in this process.
static SPIN_POLICY: SpinPolicy = SpinPolicy::new();

/// Sync calls waiting right now, process-wide. Only a caller that is alone polls: with many
/// waiters the responses keep the cores busy anyway, and polling would steal one from the
/// reader and processor threads.
static SYNC_WAITERS: AtomicUsize = AtomicUsize::new(0);

struct FutureState {
    result: Option<InvokeResult>,
    callback: Option<InvokeCallback>,
    permit: Option<Permit>,
}

impl ResponseFuture {
    /// A future for a request on connection `connection_id`; `callback` None means sync.
    pub(crate) fn new(
        opaque: i32,
        connection_id: u64,
        addr: Arc<str>,
        timeout: Duration,
        callback: Option<InvokeCallback>,
        permit: Option<Permit>,
    ) -> Arc<Self> {
        Arc::new(ResponseFuture {
            opaque,
            connection_id,
            addr,
            begin: Instant::now(),
            timeout,
            state: Mutex::new(FutureState {
                result: None,
                callback,
                permit,
            }),
            done: Condvar::new(),
            filled: AtomicBool::new(false),
        })
    }

    /// The same call under another opaque: its callback and permit move to the new future.
    pub(crate) fn rekey(&self, opaque: i32) -> Arc<ResponseFuture> {
        let mut state = self.state.lock_unpoisoned();
        Arc::new(ResponseFuture {
            opaque,
            connection_id: self.connection_id,
            addr: Arc::clone(&self.addr),
            begin: self.begin,
            timeout: self.timeout,
            state: Mutex::new(FutureState {
                result: None,
                callback: state.callback.take(),
                permit: state.permit.take(),
            }),
            done: Condvar::new(),
            filled: AtomicBool::new(false),
        })
    }

    /// The request's opaque.
    pub(crate) fn opaque(&self) -> i32 {
        self.opaque
    }

    /// The timeout the call was given.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The peer address.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// True once `begin + timeout + 1 s` has passed (Java's expiry rule).
    pub(crate) fn is_expired(&self, now: Instant) -> bool {
        // checked: a caller may pass a timeout near Duration::MAX for "no limit".
        self.timeout
            .checked_add(Duration::from_secs(1))
            .and_then(|grace| self.begin.checked_add(grace))
            .is_some_and(|expiry| now >= expiry)
    }

    /// Delivers the outcome and releases the permit. For an async future it returns the
    /// callback with its argument, for the caller to run on the callback pool.
    pub(crate) fn complete(&self, result: InvokeResult) -> Option<(InvokeCallback, InvokeResult)> {
        let mut state = self.state.lock_unpoisoned();
        state.permit.take();
        if let Some(callback) = state.callback.take() {
            return Some((callback, result));
        }
        state.result = Some(result);
        self.filled.store(true, Ordering::Release);
        self.done.notify_all();
        None
    }

    /// Waits up to `timeout` for the slot to fill; None if it did not.
    ///
    /// A caller that is the only sync waiter in the process may first poll for up to `spin`:
    /// a loopback round trip costs about what waking a sleeping thread costs, so polling saves
    /// a wake-up when one thread makes calls one after another, as long as a core is free.
    /// Whether it polls is decided by timing calls both ways ([`SpinPolicy`]).
    pub(crate) fn wait(&self, timeout: Duration, spin: Duration) -> Option<InvokeResult> {
        let deadline = deadline_after(timeout);
        let alone = SYNC_WAITERS.fetch_add(1, Ordering::AcqRel) == 0;
        let measured = alone && !spin.is_zero();
        let poll = measured && SPIN_POLICY.should_poll();
        let begin = Instant::now();
        let result = self.wait_until(deadline, if poll { spin } else { Duration::ZERO });
        if measured && result.is_some() {
            SPIN_POLICY.record(poll, begin.elapsed());
        }
        SYNC_WAITERS.fetch_sub(1, Ordering::AcqRel);
        result
    }

    fn wait_until(&self, deadline: Instant, spin: Duration) -> Option<InvokeResult> {
        if !spin.is_zero() {
            self.spin_until_filled(deadline.min(deadline_after(spin)));
        }
        let mut state = self.state.lock_unpoisoned();
        loop {
            if let Some(result) = state.result.take() {
                return Some(result);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self.done.wait_timeout_unpoisoned(state, deadline - now);
        }
    }
}

impl ResponseFuture {
    fn spin_until_filled(&self, until: Instant) {
        if SYNC_WAITERS.load(Ordering::Acquire) == 1 {
            while !self.filled.load(Ordering::Acquire) && Instant::now() < until {
                for _ in 0..64 {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// All pending requests of a component, by opaque; mirrors Java's `responseTable`.
#[derive(Default)]
pub(crate) struct ResponseTable {
    futures: Mutex<HashMap<i32, Arc<ResponseFuture>>>,
}

impl ResponseTable {
    /// An empty table.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Arc<ResponseFuture>>> {
        self.futures.lock_unpoisoned()
    }

    /// Registers a future under its opaque.
    #[cfg(test)]
    pub(crate) fn insert(&self, future: Arc<ResponseFuture>) {
        self.lock().insert(future.opaque, future);
    }

    /// Takes the future for `opaque`; the taker must complete it.
    pub(crate) fn remove(&self, opaque: i32) -> Option<Arc<ResponseFuture>> {
        self.lock().remove(&opaque)
    }

    /// Registers a future unless its opaque is already pending; false if it is.
    pub(crate) fn insert_if_absent(&self, future: Arc<ResponseFuture>) -> bool {
        match self.lock().entry(future.opaque) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(future);
                true
            }
        }
    }

    /// Takes the future for `opaque` only if it waits on connection `connection_id`.
    pub(crate) fn remove_if_from(
        &self,
        opaque: i32,
        connection_id: u64,
    ) -> Option<Arc<ResponseFuture>> {
        let mut table = self.lock();
        if table.get(&opaque)?.connection_id != connection_id {
            return None;
        }
        table.remove(&opaque)
    }

    /// Takes every future whose expiry time has passed.
    pub(crate) fn remove_expired(&self, now: Instant) -> Vec<Arc<ResponseFuture>> {
        self.remove_where(|f| f.is_expired(now))
    }

    /// Takes every future pending on connection `connection_id`.
    pub(crate) fn remove_for_connection(&self, connection_id: u64) -> Vec<Arc<ResponseFuture>> {
        self.remove_where(|f| f.connection_id == connection_id)
    }

    /// Takes every future.
    pub(crate) fn remove_all(&self) -> Vec<Arc<ResponseFuture>> {
        self.lock().drain().map(|(_, f)| f).collect()
    }

    fn remove_where(&self, pred: impl Fn(&ResponseFuture) -> bool) -> Vec<Arc<ResponseFuture>> {
        let mut table = self.lock();
        let opaques: Vec<i32> = table
            .values()
            .filter(|f| pred(f))
            .map(|f| f.opaque)
            .collect();
        opaques.iter().filter_map(|o| table.remove(o)).collect()
    }

    /// Requests still waiting; tests use it to check nothing leaks.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is waiting.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_future_fills_once_and_expires_by_rule() {
        let table = ResponseTable::new();
        let f = ResponseFuture::new(7, 1, "a".into(), Duration::from_millis(10), None, None);
        table.insert(f.clone());
        assert!(!f.is_expired(Instant::now()));
        assert!(f.is_expired(Instant::now() + Duration::from_millis(1011)));
        assert_eq!(table.remove_expired(Instant::now()).len(), 0);
        let taken = table.remove(7).unwrap();
        assert!(table.remove(7).is_none());
        assert!(taken.complete(Ok(RemotingCommand::success())).is_none());
        assert!(f.wait(Duration::ZERO, Duration::ZERO).unwrap().is_ok());
        assert!(table.is_empty());
    }

    #[test]
    fn insert_if_absent_refuses_a_pending_opaque_and_rekey_moves_the_callback() {
        let table = ResponseTable::new();
        assert!(table.insert_if_absent(ResponseFuture::new(
            5,
            1,
            "a".into(),
            Duration::from_secs(1),
            None,
            None
        )));
        let twin = ResponseFuture::new(
            5,
            1,
            "a".into(),
            Duration::from_secs(1),
            Some(Box::new(|_| {})),
            None,
        );
        assert!(!table.insert_if_absent(twin.clone()));
        let rekeyed = twin.rekey(6);
        assert!(table.insert_if_absent(rekeyed.clone()));
        assert!(
            twin.complete(Ok(RemotingCommand::success())).is_none(),
            "the callback moved away"
        );
        assert!(rekeyed.complete(Ok(RemotingCommand::success())).is_some());
    }

    #[test]
    fn async_future_hands_back_its_callback_and_connection_sweep_works() {
        let table = ResponseTable::new();
        let f = ResponseFuture::new(
            1,
            9,
            "a".into(),
            Duration::from_secs(1),
            Some(Box::new(|_| {})),
            None,
        );
        table.insert(f);
        table.insert(ResponseFuture::new(
            2,
            8,
            "b".into(),
            Duration::from_secs(1),
            None,
            None,
        ));
        let swept = table.remove_for_connection(9);
        assert_eq!(swept.len(), 1);
        assert!(swept[0].complete(Err(RemotingError::Shutdown)).is_some());
        assert_eq!(table.len(), 1);
        assert_eq!(table.remove_all().len(), 1);
    }
}
