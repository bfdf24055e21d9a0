//! The janitor: a thread that runs a periodic scan (expired futures, idle connections).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

/// A named thread running `task` every `interval` until stopped; Java's `scanResponseTable` timer.
pub(crate) struct Janitor {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Janitor {
    /// Starts the thread `name`.
    pub(crate) fn start(
        name: String,
        interval: Duration,
        task: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = bounded::<()>(1);
        let thread = thread::Builder::new().name(name).spawn(move || loop {
            match stopped.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {
                    // A panicking scan must not end the janitor: nothing would expire again.
                    if catch_unwind(AssertUnwindSafe(&task)).is_err() {
                        log::error!("a janitor scan panicked");
                    }
                }
                _ => return,
            }
        })?;
        Ok(Janitor { stop, thread })
    }

    /// Stops the thread and joins it.
    pub(crate) fn stop(self) {
        let _ = self.stop.try_send(());
        super::threads::join_all_except_current(vec![self.thread]);
    }
}
