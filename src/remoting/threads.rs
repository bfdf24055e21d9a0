//! Bookkeeping for the threads a component starts, so that shutdown can join every one.

use std::sync::Mutex;
use std::thread::{self, JoinHandle};

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
/// ones start, so the set stays as large as the live connections.
#[derive(Default)]
pub(crate) struct ThreadSet {
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl ThreadSet {
    /// Starts a named thread and remembers it.
    pub(crate) fn spawn<F>(&self, name: String, stack_size: usize, f: F) -> std::io::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let handle = thread::Builder::new()
            .name(name)
            .stack_size(stack_size)
            .spawn(f)?;
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        let (finished, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *handles)
            .into_iter()
            .partition(|h| h.is_finished());
        *handles = running;
        handles.push(handle);
        drop(handles);
        join_all_except_current(finished);
        Ok(())
    }

    /// Joins every thread started so far.
    pub(crate) fn join_all(&self) {
        let handles = std::mem::take(&mut *self.handles.lock().unwrap_or_else(|e| e.into_inner()));
        join_all_except_current(handles);
    }
}
