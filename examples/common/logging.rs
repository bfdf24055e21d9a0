//! Logging set-up shared by the examples: simplelog to stderr, so stdout stays for results.
//! With `RMQ_TRACE=1`, the teaching trace too: one line per step of every send, each starting
//! with its layer (`[client]`, `[remoting]`, `[protocol]`).

use rocketmq_blocking::TRACE_TARGET;
use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, LevelFilter, SharedLogger, TermLogger, TerminalMode,
};

/// Logs at `level` and above to stderr, plus the trace when `RMQ_TRACE=1`.
pub fn init(level: LevelFilter) {
    let plain = ConfigBuilder::new()
        .add_filter_ignore_str(TRACE_TARGET)
        .build();
    let mut loggers: Vec<Box<dyn SharedLogger>> = vec![TermLogger::new(
        level,
        plain,
        TerminalMode::Stderr,
        ColorChoice::Never,
    )];
    if std::env::var("RMQ_TRACE").is_ok_and(|v| v == "1") {
        // Bare lines: no time, level, thread or target; the line names its layer itself.
        let trace = ConfigBuilder::new()
            .add_filter_allow_str(TRACE_TARGET)
            .set_time_level(LevelFilter::Off)
            .set_max_level(LevelFilter::Off)
            .set_thread_level(LevelFilter::Off)
            .set_target_level(LevelFilter::Off)
            .set_location_level(LevelFilter::Off)
            .build();
        loggers.push(TermLogger::new(
            LevelFilter::Trace,
            trace,
            TerminalMode::Stderr,
            ColorChoice::Never,
        ));
    }
    CombinedLogger::init(loggers).ok();
}
