//! Logging set-up shared by the examples: simplelog to stderr, so stdout stays for results.

/// Logs at `level` and above to stderr.
pub fn init(level: simplelog::LevelFilter) {
    simplelog::TermLogger::init(
        level,
        simplelog::Config::default(),
        simplelog::TerminalMode::Stderr,
        simplelog::ColorChoice::Never,
    )
    .ok();
}
