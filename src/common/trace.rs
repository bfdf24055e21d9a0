//! The teaching trace: one line per step of every send, prefixed with its layer.
//!
//! Lines go to the `log` crate at level TRACE under the target [`TRACE_TARGET`], so a program
//! turns them on like any log target (the examples do it when `RMQ_TRACE=1`). With the target
//! off, a step costs the `log` crate's level check: one atomic load.

/// The `log` target of the teaching trace. Enable it at TRACE level to see every step of a
/// send: `[client]` validation, route and queue choice, attempts; `[remoting]` opaques
/// registered, bytes written, responses read and futures completed or expired; `[protocol]`
/// header types, codes and frame lengths.
pub const TRACE_TARGET: &str = "rocketmq_blocking::trace";

/// `trace_step!("client", "format", args...)`: logs `[client] ...` under [`TRACE_TARGET`].
macro_rules! trace_step {
    ($layer:literal, $($arg:tt)+) => {
        log::trace!(
            target: $crate::common::trace::TRACE_TARGET,
            "[{}] {}",
            $layer,
            format_args!($($arg)+)
        )
    };
}

pub(crate) use trace_step;

/// True when trace lines are wanted, for a step that must keep something to say later.
pub(crate) fn enabled() -> bool {
    log::log_enabled!(target: TRACE_TARGET, log::Level::Trace)
}

/// The calling thread's name, for trace lines ("which thread did this step").
pub(crate) fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("an unnamed thread")
        .to_string()
}
