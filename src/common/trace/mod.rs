//! The teaching trace: every step of a send and of a consume, in every layer, as one line of
//! text and as a structured [`TraceEvent`] (time, thread, layer, step, opaque).
//!
//! Not to be confused with message trace (`enable_trace()` on the clients, the records Apache's
//! tools read, [`client::TraceView`](crate::client::TraceView)): this trace watches this
//! process's own threads.
//!
//! - **Text.** Each step is a line under the `log` target [`TRACE_TARGET`] at level TRACE,
//!   prefixed with its layer (`[client] …`); the examples print them with `RMQ_TRACE=1`.
//! - **Events.** While a [`TraceRecorder`] runs, each step is also kept as a [`TraceEvent`].
//!   A step that serves a request carries its opaque; steps on a thread the request was
//!   handed to (the broker's processor thread, the callback that reads a pull's answer, the
//!   listener that consumes what it brought) inherit it, so one request's steps can be
//!   picked out of everything the process did ([`request_flow`], [`calls_between`]).
//! - **The picture.** [`SequenceDiagram`] draws chosen events as an SVG sequence diagram:
//!   one lane per thread (a pool's threads share one), an arrow for each frame and each
//!   hand-off between lanes.
//!
//! With neither the target enabled nor a recorder running, a step costs two atomic loads.

mod diagram;
mod recorder;

use std::cell::Cell;
use std::fmt;
use std::time::Instant;

pub use diagram::{Lane, SequenceDiagram};
pub use recorder::{
    calls_between, note, request_flow, AlreadyRecording, TraceEvent, TraceRecorder,
};

/// The `log` target of the teaching trace. Enable it at TRACE level to see every step of a
/// send: `[client]` validation, route and queue choice, attempts; `[remoting]` opaques
/// registered, bytes written, responses read and futures completed or expired; `[protocol]`
/// header types, codes and frame lengths; `[broker]`, `[namesrv]` and `[store]` what the
/// servers do with a request.
pub const TRACE_TARGET: &str = "rocketmq_blocking::trace";

/// The layer a step belongs to: the prefix of its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Layer {
    /// The business layer: producers and consumers (`[client]`).
    Client,
    /// The communication layer: connections, the response table, thread pools
    /// (`[remoting]`).
    Remoting,
    /// The wire format: frames encoded and decoded (`[protocol]`).
    Protocol,
    /// The reference broker's processors (`[broker]`).
    Broker,
    /// The reference broker's store: commit log and consume queues (`[store]`).
    Store,
    /// The reference name server (`[namesrv]`).
    NameServer,
    /// The program's own steps, from [`note`] (`[app]`).
    App,
}

impl Layer {
    /// The name in the line's prefix.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Client => "client",
            Layer::Remoting => "remoting",
            Layer::Protocol => "protocol",
            Layer::Broker => "broker",
            Layer::Store => "store",
            Layer::NameServer => "namesrv",
            Layer::App => "app",
        }
    }

    /// The layer of a line prefix (what `trace_step!` is given); an unknown one is the app's.
    pub(crate) fn tagged(name: &str) -> Layer {
        match name {
            "client" => Layer::Client,
            "remoting" => Layer::Remoting,
            "protocol" => Layer::Protocol,
            "broker" => Layer::Broker,
            "store" => Layer::Store,
            "namesrv" => Layer::NameServer,
            _ => Layer::App,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of step an event is. The remoting steps are what the diagram draws as arrows
/// (frames, hand-offs); every other layer's work is a [`Step::Note`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// A layer's own work: a check, a choice, a store write.
    Note,
    /// A call registered in the response table, or a oneway request begun.
    Invoke,
    /// A request frame encoded (the event's code is the request code).
    EncodeRequest,
    /// A response frame encoded (the event's code is the response code).
    EncodeResponse,
    /// A frame handed to the connection's writer thread.
    Queue,
    /// A frame written to the socket; the event's time is when the write began.
    Write,
    /// A request frame decoded by a reader thread.
    DecodeRequest,
    /// A response frame decoded by a reader thread.
    DecodeResponse,
    /// A command read by a reader thread.
    Read,
    /// A request handed to its processor's pool.
    Dispatch,
    /// A pool thread begins the request's processor.
    Process,
    /// A response future completed (a response, or a failure).
    Complete,
    /// A sync caller woke with its response.
    Wake,
    /// An async call's callback begins on the callback pool.
    Callback,
    /// The janitor fails a call whose response never came.
    Expire,
}

/// True when a step must be written or recorded: the target is on or a recorder runs.
pub(crate) fn wanted() -> bool {
    recorder::recording() || log::log_enabled!(target: TRACE_TARGET, log::Level::Trace)
}

/// Writes one step's line and, while a recorder runs, records it. `opaque` None: the
/// thread's current request, if any. `began`: when the step began, if not now.
pub(crate) fn emit(
    layer: Layer,
    step: Step,
    opaque: Option<i32>,
    code: Option<(i32, &'static str)>,
    began: Option<Instant>,
    args: fmt::Arguments<'_>,
) {
    log::trace!(target: TRACE_TARGET, "[{}] {}", layer.name(), args);
    if recorder::recording() {
        recorder::record(
            layer,
            step,
            opaque.or_else(current),
            code,
            began,
            args.to_string(),
        );
    }
}

/// One step that serves several requests at once (a write of several frames): one line,
/// one recorded event per opaque, each at `began`.
pub(crate) fn emit_for_each(
    layer: Layer,
    step: Step,
    opaques: &[i32],
    began: Option<Instant>,
    args: fmt::Arguments<'_>,
) {
    log::trace!(target: TRACE_TARGET, "[{}] {}", layer.name(), args);
    if recorder::recording() {
        let text = args.to_string();
        for opaque in opaques {
            recorder::record(layer, step, Some(*opaque), None, began, text.clone());
        }
    }
}

/// `trace_step!("client", "format", args...)`: a [`Step::Note`] of that layer, logged as
/// `[client] ...` under [`TRACE_TARGET`] and recorded with the thread's current opaque.
macro_rules! trace_step {
    ($layer:literal, $($arg:tt)+) => {
        if $crate::common::trace::wanted() {
            $crate::common::trace::emit(
                $crate::common::trace::Layer::tagged($layer),
                $crate::common::trace::Step::Note,
                None,
                None,
                None,
                format_args!($($arg)+),
            )
        }
    };
}

/// `trace_event!("remoting", Step::Invoke, opaque, code; "format", args...)`: a step of a
/// given kind, for a given opaque (None: the thread's current one) and request or response
/// code (`Some((code, name))`).
macro_rules! trace_event {
    ($layer:literal, $step:expr, $opaque:expr, $code:expr; $($arg:tt)+) => {
        if $crate::common::trace::wanted() {
            $crate::common::trace::emit(
                $crate::common::trace::Layer::tagged($layer),
                $step,
                $opaque,
                $code,
                None,
                format_args!($($arg)+),
            )
        }
    };
}

pub(crate) use {trace_event, trace_step};

/// The calling thread's name, for trace lines ("which thread did this step").
pub(crate) fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("an unnamed thread")
        .to_string()
}

thread_local! {
    /// The opaque of the request this thread works for now, while a recorder runs.
    static CURRENT: Cell<Option<i32>> = const { Cell::new(None) };
}

/// The opaque of the request the calling thread works for, if any.
fn current() -> Option<i32> {
    CURRENT.with(Cell::get)
}

/// The request a thread works for, carried to the thread a job is handed to, so the steps
/// there are that request's too. Empty unless a recorder runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context(Option<i32>);

impl Context {
    /// The calling thread's request (nothing, unless a recorder runs).
    pub(crate) fn capture() -> Context {
        Context(if recorder::recording() {
            current()
        } else {
            None
        })
    }

    /// Working for `opaque` (nothing, unless a recorder runs).
    pub(crate) fn of(opaque: i32) -> Context {
        Context(recorder::recording().then_some(opaque))
    }

    /// Makes this the calling thread's request until the guard drops.
    pub(crate) fn enter(self) -> ContextGuard {
        ContextGuard(
            self.0
                .map(|opaque| CURRENT.with(|c| c.replace(Some(opaque)))),
        )
    }
}

/// Restores the thread's previous request when dropped.
pub(crate) struct ContextGuard(Option<Option<i32>>);

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.0 {
            CURRENT.with(|c| c.set(previous));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_recorded_with_the_request_their_thread_serves() {
        let recorder = TraceRecorder::start().expect("the only recorder of the unit tests");
        assert_eq!(TraceRecorder::start().unwrap_err(), AlreadyRecording);
        let me = std::thread::current().id();
        trace_event!("remoting", Step::Invoke, Some(41), Some((10, "SEND_MESSAGE")); "begun");
        let context = {
            let _serving = Context::of(41).enter();
            trace_step!("client", "inherits 41");
            Context::capture()
        };
        trace_step!("client", "serves nothing");
        std::thread::spawn(move || {
            let _serving = context.enter();
            note("on another thread");
        })
        .join()
        .unwrap();
        let events = recorder.stop();
        let ours: Vec<&TraceEvent> = events
            .iter()
            .filter(|e| e.thread_id == me || e.layer == Layer::App)
            .collect();
        let seen: Vec<(String, Option<i32>)> =
            ours.iter().map(|e| (e.to_string(), e.opaque)).collect();
        assert_eq!(
            seen,
            [
                ("[remoting] begun".to_string(), Some(41)),
                ("[client] inherits 41".to_string(), Some(41)),
                ("[client] serves nothing".to_string(), None),
                ("[app] on another thread".to_string(), Some(41)),
            ]
        );
        assert_eq!(ours[0].code, Some((10, "SEND_MESSAGE")));
        assert_eq!(ours[0].step, Step::Invoke);
        // Stopped: contexts are empty again, and a new recorder may start.
        assert_eq!(Context::capture().0, None);
        assert!(TraceRecorder::start().is_ok());
    }
}
