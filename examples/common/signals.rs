//! Waiting for SIGTERM or SIGINT, so that a server example stops through its `shutdown()`
//! (state saved, threads joined) instead of dying where it stands.

/// The stop signals, caught from the moment this is made (before the server announces itself,
/// so that a signal sent right after the announcement is not lost).
pub struct StopSignals {
    #[cfg(unix)]
    signals: signal_hook::iterator::Signals,
}

impl StopSignals {
    /// Catches SIGTERM and SIGINT from now on.
    pub fn install() -> StopSignals {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let signals =
                signal_hook::iterator::Signals::new([SIGTERM, SIGINT]).unwrap_or_else(|e| {
                    eprintln!("cannot catch SIGTERM and SIGINT: {e}");
                    std::process::exit(1);
                });
            StopSignals { signals }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Blocks until a stop signal arrives and returns its name. A second signal while the
    /// server shuts down ends the process at once, for an operator who cannot wait.
    pub fn wait(self) -> &'static str {
        #[cfg(unix)]
        {
            use signal_hook::consts::SIGINT;
            let mut signals = self.signals;
            let first = signals.forever().next();
            std::thread::Builder::new()
                .name("stop-signals".into())
                .spawn(move || {
                    if signals.forever().next().is_some() {
                        eprintln!("second stop signal: exiting without finishing the shutdown");
                        std::process::exit(130);
                    }
                })
                .ok();
            if first == Some(SIGINT) {
                "SIGINT"
            } else {
                "SIGTERM"
            }
        }
        #[cfg(not(unix))]
        loop {
            std::thread::park();
        }
    }
}
