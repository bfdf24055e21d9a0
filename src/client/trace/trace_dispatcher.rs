//! `TraceDispatcher`: where the hooks hand their records; mirrors Java's interface of that
//! name. [`AsyncTraceDispatcher`](super::async_trace_dispatcher::AsyncTraceDispatcher) is the
//! one that sends them.

use super::trace_context::TraceContext;

/// Takes records from the hooks; never waits.
pub(crate) trait TraceDispatcher: Send + Sync {
    /// The topic records go to (a hook does not trace its own trace messages).
    fn trace_topic(&self) -> &str;

    /// Takes one record (`append`); may drop it, never waits.
    fn append(&self, context: TraceContext);
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::common::sync::MutexExt;

    /// Keeps what it is given, for the hooks' tests.
    #[derive(Default)]
    pub(crate) struct Collected(pub(crate) Mutex<Vec<TraceContext>>);

    impl TraceDispatcher for Collected {
        fn trace_topic(&self) -> &str {
            "RMQ_SYS_TRACE_TOPIC"
        }

        fn append(&self, context: TraceContext) {
            self.0.lock_unpoisoned().push(context);
        }
    }

    impl Collected {
        pub(crate) fn take(&self) -> Vec<TraceContext> {
            std::mem::take(&mut *self.0.lock_unpoisoned())
        }
    }
}
