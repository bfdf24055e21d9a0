//! Helpers every layer shares, below even the wire format: the clock, poison-tolerant locks
//! and the periodic service thread; mirrors the parts of Java's `rocketmq-common` that the
//! layers above use (`UtilAll` time helpers, `ServiceThread`).

pub(crate) mod clock;
pub(crate) mod delay_queue;
pub(crate) mod in_flight;
pub(crate) mod service_thread;
pub(crate) mod sync;
#[cfg(any(feature = "servers", test))]
pub(crate) mod temp_dir;
pub mod trace;

/// The message of a caught panic (`&str` or `String` payloads), for logs and errors.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// For an error's `Display`: with `{:#}`, appends the chain of sources, `: cause: cause...`,
/// so that one line tells everything; with `{}`, nothing (a reporter walks `source()`).
pub(crate) fn write_sources(
    f: &mut std::fmt::Formatter<'_>,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> std::fmt::Result {
    if f.alternate() {
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
    }
    Ok(())
}
