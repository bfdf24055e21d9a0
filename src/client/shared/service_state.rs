//! `ServiceState`: where a producer or consumer is in its life; mirrors Java's
//! `ServiceState`.

use std::sync::atomic::{AtomicU8, Ordering};

/// Where a client is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceState {
    /// Made, not started (`CREATE_JUST`).
    CreateJust,
    /// Started (`RUNNING`).
    Running,
    /// Shut down, or shutting down (`SHUTDOWN_ALREADY`).
    ShutdownAlready,
}

/// A [`ServiceState`] that every thread of a client reads (every send and every pull asks
/// it, so it is an atomic, not a lock).
#[derive(Debug)]
pub(crate) struct ServiceStateCell(AtomicU8);

impl ServiceStateCell {
    pub(crate) fn new(state: ServiceState) -> Self {
        ServiceStateCell(AtomicU8::new(state as u8))
    }

    pub(crate) fn get(&self) -> ServiceState {
        from_u8(self.0.load(Ordering::SeqCst))
    }

    /// Sets `state` and returns the one it replaced.
    pub(crate) fn swap(&self, state: ServiceState) -> ServiceState {
        from_u8(self.0.swap(state as u8, Ordering::SeqCst))
    }

    pub(crate) fn is_running(&self) -> bool {
        self.get() == ServiceState::Running
    }
}

fn from_u8(value: u8) -> ServiceState {
    match value {
        v if v == ServiceState::CreateJust as u8 => ServiceState::CreateJust,
        v if v == ServiceState::Running as u8 => ServiceState::Running,
        _ => ServiceState::ShutdownAlready,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_goes_round_through_the_cell() {
        let cell = ServiceStateCell::new(ServiceState::CreateJust);
        assert!(!cell.is_running());
        assert_eq!(cell.swap(ServiceState::Running), ServiceState::CreateJust);
        assert!(cell.is_running());
        assert_eq!(
            cell.swap(ServiceState::ShutdownAlready),
            ServiceState::Running
        );
        assert_eq!(cell.get(), ServiceState::ShutdownAlready);
    }
}
