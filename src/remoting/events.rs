//! Connection events (CONNECT, CLOSE, IDLE, EXCEPTION) delivered to a listener on its own thread.

use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Sender, TrySendError};

/// What happened to a connection; mirrors Java's `NettyEventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEventKind {
    /// A connection was established.
    Connect,
    /// A connection closed.
    Close,
    /// A connection saw no traffic for the idle timeout and is being closed.
    Idle,
    /// A connection failed (undecodable bytes, write failure).
    Exception,
}

/// One connection event; mirrors Java's `NettyEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionEvent {
    /// What happened.
    pub kind: ConnectionEventKind,
    /// The peer address.
    pub remote_addr: String,
}

/// Receives connection events; mirrors Java's `ChannelEventListener`.
pub trait ChannelEventListener: Send + Sync {
    /// Called on the events thread, in the order the events happened.
    fn on_event(&self, event: ConnectionEvent);
}

/// Queue length before events are dropped (Java's `NettyEventExecutor` limit).
const MAX_QUEUED_EVENTS: usize = 10_000;

/// Queues events to the listener's thread, `rmq-events-<component>`.
pub(crate) struct EventDispatcher {
    sender: Option<Sender<ConnectionEvent>>,
    thread: Option<JoinHandle<()>>,
}

impl EventDispatcher {
    /// A dispatcher with no listener: events are discarded.
    pub(crate) fn none() -> Self {
        EventDispatcher {
            sender: None,
            thread: None,
        }
    }

    /// Starts the listener thread.
    pub(crate) fn start(
        component: &str,
        listener: Arc<dyn ChannelEventListener>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = bounded::<ConnectionEvent>(MAX_QUEUED_EVENTS);
        let thread = thread::Builder::new()
            .name(format!("rmq-events-{component}"))
            .spawn(move || {
                for event in rx.iter() {
                    listener.on_event(event);
                }
            })?;
        Ok(EventDispatcher {
            sender: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues an event; drops it with a warning when the queue is full.
    pub(crate) fn emit(&self, kind: ConnectionEventKind, remote_addr: &str) {
        if let Some(tx) = &self.sender {
            let event = ConnectionEvent {
                kind,
                remote_addr: remote_addr.to_string(),
            };
            if let Err(TrySendError::Full(event)) = tx.try_send(event) {
                log::warn!("event queue full ({MAX_QUEUED_EVENTS}); dropping {event:?}");
            }
        }
    }

    /// Delivers what is queued, then joins the thread.
    pub(crate) fn shutdown(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            super::threads::join_all_except_current(vec![thread]);
        }
    }
}
