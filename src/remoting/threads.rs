//! Bookkeeping for the threads a component starts, so that shutdown can join every one.

use std::sync::Mutex;
use std::thread::{self, JoinHandle};

use crate::common::sync::MutexExt;

/// Joins every handle except the calling thread's own (a callback may call shutdown).
pub(crate) fn join_all_except_current(handles: Vec<JoinHandle<()>>) {
    let me = thread::current().id();
    for handle in handles {
        if handle.thread().id() != me && handle.join().is_err() {
            log::error!("a remoting thread panicked");
        }
    }
}

/// The set of per-connection threads a component started; finished ones are reaped as new
/// ones start, so the set stays as large as the live connections. Once joined it refuses new
/// threads, so none can start behind a shutdown's back.
#[derive(Default)]
pub(crate) struct ThreadSet {
    state: Mutex<ThreadSetState>,
}

#[derive(Default)]
struct ThreadSetState {
    handles: Vec<JoinHandle<()>>,
    closed: bool,
}

impl ThreadSet {
    /// Starts a named thread and remembers it; fails once the set has been joined.
    pub(crate) fn spawn<F>(&self, name: String, stack_size: usize, f: F) -> std::io::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let mut state = self.state.lock_unpoisoned();
        if state.closed {
            return Err(std::io::Error::other("shutting down: no new threads"));
        }
        let handle = thread::Builder::new()
            .name(name)
            .stack_size(stack_size)
            .spawn(f)?;
        let (finished, running): (Vec<_>, Vec<_>) = std::mem::take(&mut state.handles)
            .into_iter()
            .partition(|h| h.is_finished());
        state.handles = running;
        state.handles.push(handle);
        drop(state);
        join_all_except_current(finished);
        Ok(())
    }

    /// Refuses new threads, then joins every thread started so far.
    pub(crate) fn join_all(&self) {
        let handles = {
            let mut state = self.state.lock_unpoisoned();
            state.closed = true;
            std::mem::take(&mut state.handles)
        };
        join_all_except_current(handles);
    }
}
