//! Helpers every layer shares, below even the wire format: the clock, poison-tolerant locks
//! and the periodic service thread; mirrors the parts of Java's `rocketmq-common` that the
//! layers above use (`UtilAll` time helpers, `ServiceThread`).

pub(crate) mod clock;
pub(crate) mod service_thread;
pub(crate) mod sync;
#[cfg(feature = "servers")]
pub(crate) mod temp_dir;
pub(crate) mod trace;
