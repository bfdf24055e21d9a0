//! `ServiceThread`: one named thread that runs a task periodically, can be woken early, and is
//! stopped and joined as one step; mirrors Java's `ServiceThread` and the scheduled executors
//! behind the janitor, the client's route and heartbeat tasks and the servers' scans.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

/// When a service thread runs its task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// Wait before the first run.
    pub(crate) first_delay: Duration,
    /// Wait between the end of one run and the start of the next.
    pub(crate) interval: Duration,
    /// A wake-up this soon after the last run is put off until the gap has passed
    /// (on-demand runs are rate-limited, not lost).
    pub(crate) min_wake_gap: Duration,
}

impl Schedule {
    /// Every `interval`, the first run one interval after start.
    pub(crate) fn every(interval: Duration) -> Self {
        Schedule {
            first_delay: interval,
            interval,
            min_wake_gap: Duration::ZERO,
        }
    }

    /// The first run after `delay` instead.
    pub(crate) fn first_after(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// Wake-ups within `gap` of the last run are put off until it has passed.
    pub(crate) fn min_wake_gap(mut self, gap: Duration) -> Self {
        self.min_wake_gap = gap;
        self
    }
}

/// What a running task sees of its thread's stop request, so that a long run (one call per
/// broker, one per topic) can give up between items when shutdown begins.
#[derive(Debug, Clone)]
pub(crate) struct Stopping(Arc<AtomicBool>);

impl Stopping {
    /// For running a task outside its thread (a heartbeat sent now): never stopped.
    pub(crate) fn never() -> Stopping {
        Stopping(Arc::new(AtomicBool::new(false)))
    }

    /// True once `stop` was called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Asks a service thread to run now; clone it freely.
#[derive(Debug, Clone)]
pub(crate) struct Waker(Sender<()>);

impl Waker {
    /// A waker and the wake-ups it sends, for a thread started later with
    /// [`ServiceThread::start_with`].
    pub(crate) fn pair() -> (Waker, Wakeups) {
        let (tx, rx) = bounded(1);
        (Waker(tx), Wakeups(rx))
    }

    /// Asks for a run now; a request already pending absorbs this one.
    pub(crate) fn wake(&self) {
        let _ = self.0.try_send(());
    }
}

/// The receiving end of a [`Waker`].
#[derive(Debug)]
pub(crate) struct Wakeups(Receiver<()>);

/// A running service thread; `stop` (or dropping it) stops and joins it.
#[derive(Debug)]
pub(crate) struct ServiceThread {
    waker: Waker,
    stopping: Stopping,
    thread: Option<JoinHandle<()>>,
}

impl ServiceThread {
    /// Starts thread `name` running `task` on `schedule`. A panicking run is logged and the
    /// thread carries on: a janitor that died would never expire anything again.
    pub(crate) fn start(
        name: impl Into<String>,
        schedule: Schedule,
        task: impl FnMut(&Stopping) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (waker, wakeups) = Waker::pair();
        Self::start_with(name, schedule, waker, wakeups, task)
    }

    /// [`ServiceThread::start`] with a waker made beforehand (for state that must hold the
    /// waker before the thread exists).
    pub(crate) fn start_with(
        name: impl Into<String>,
        schedule: Schedule,
        waker: Waker,
        wakeups: Wakeups,
        mut task: impl FnMut(&Stopping) + Send + 'static,
    ) -> std::io::Result<Self> {
        let name = name.into();
        let stopping = Stopping(Arc::new(AtomicBool::new(false)));
        let seen = stopping.clone();
        let thread_name = name.clone();
        let thread = thread::Builder::new().name(name).spawn(move || {
            let mut next_run = Instant::now() + schedule.first_delay;
            let mut last_run: Option<Instant> = None;
            loop {
                let received = wakeups
                    .0
                    .recv_timeout(next_run.saturating_duration_since(Instant::now()));
                if seen.is_stopped() {
                    return;
                }
                match received {
                    Err(RecvTimeoutError::Disconnected) => return,
                    Ok(()) => match last_run {
                        // Too soon after the last run: run once the gap has passed, not never.
                        Some(last) if last.elapsed() < schedule.min_wake_gap => {
                            next_run = next_run.min(last + schedule.min_wake_gap);
                            continue;
                        }
                        _ => {}
                    },
                    Err(RecvTimeoutError::Timeout) => {}
                }
                if catch_unwind(AssertUnwindSafe(|| task(&seen))).is_err() {
                    log::error!("a run of {thread_name} panicked; the thread carries on");
                }
                last_run = Some(Instant::now());
                next_run = Instant::now() + schedule.interval;
            }
        })?;
        Ok(ServiceThread {
            waker,
            stopping,
            thread: Some(thread),
        })
    }

    /// A handle that asks for a run now.
    pub(crate) fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Sets the stop flag and wakes the thread, without waiting for it: a run in progress
    /// sees the flag through [`Stopping`]. [`ServiceThread::stop`] joins.
    pub(crate) fn request_stop(&self) {
        self.stopping.0.store(true, Ordering::SeqCst);
        self.waker.wake();
    }

    /// Sets the stop flag, wakes the thread and joins it (unless called from the thread
    /// itself). A run in progress finishes first; [`Stopping`] lets it finish early.
    pub(crate) fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stopping.0.store(true, Ordering::SeqCst);
        self.waker.wake();
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != thread::current().id() && thread.join().is_err() {
                log::error!("a service thread panicked outside its task");
            }
        }
    }
}

impl Drop for ServiceThread {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// A service-thread task that runs `task` on `owner` while the owner lives: the thread holds
/// only a weak reference, so dropping the owner is not kept from ending it.
pub(crate) fn while_alive<T: Send + Sync + 'static>(
    owner: &Arc<T>,
    task: impl Fn(&T, &Stopping) + Send + 'static,
) -> impl FnMut(&Stopping) + Send + 'static {
    let owner = Arc::downgrade(owner);
    move |stopping| {
        if let Some(owner) = owner.upgrade() {
            task(&owner, stopping);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn wakes_on_demand_survives_panics_and_joins_on_stop() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = bounded::<usize>(16);
        let counted = runs.clone();
        let service = ServiceThread::start(
            "test-service",
            Schedule::every(Duration::from_secs(3600)),
            move |_| {
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = done_tx.send(n);
                if n == 1 {
                    panic!("first run fails");
                }
            },
        )
        .unwrap();
        // No run before the (hour-long) first delay unless woken.
        service.waker().wake();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(10)), Ok(1));
        service.waker().wake();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(10)), Ok(2));
        service.stop();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_wake_up_within_the_gap_runs_once_the_gap_has_passed() {
        let (ran_tx, ran_rx) = bounded::<Instant>(4);
        let gap = Duration::from_millis(200);
        let service = ServiceThread::start(
            "test-defer",
            Schedule::every(Duration::from_secs(3600))
                .first_after(Duration::ZERO)
                .min_wake_gap(gap),
            move |_| {
                let _ = ran_tx.send(Instant::now());
            },
        )
        .unwrap();
        let first = ran_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        service.waker().wake(); // within the gap: put off, not dropped
        let second = ran_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(second.duration_since(first) >= gap);
        service.stop();
    }

    #[test]
    fn wake_ups_within_the_gap_are_put_off_and_a_run_sees_the_stop() {
        let (started_tx, started_rx) = bounded::<()>(4);
        let (stopped_tx, stopped_rx) = bounded::<bool>(4);
        let service = ServiceThread::start(
            "test-gap",
            Schedule::every(Duration::from_secs(3600))
                .first_after(Duration::ZERO)
                .min_wake_gap(Duration::from_secs(3600)),
            move |stopping| {
                let _ = started_tx.send(());
                // Hold the run until stop is requested, as a long refresh would.
                while !stopping.is_stopped() {
                    std::thread::yield_now();
                }
                let _ = stopped_tx.send(true);
            },
        )
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        service.waker().wake(); // within the gap: put off past the stop
        service.stop();
        assert_eq!(stopped_rx.try_recv(), Ok(true));
        assert!(started_rx.try_recv().is_err());
    }
}
