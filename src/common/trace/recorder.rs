//! The in-process recorder of the teaching trace, and the choice of one flow's events.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use super::{Layer, Step};
use crate::common::sync::MutexExt;

/// At most this many events are kept per recording (about 30 MB), so a recorder left
/// running on a busy process cannot take its memory; later events are counted, not kept.
const MAX_EVENTS: usize = 100_000;

/// One step, as a recorder keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceEvent {
    /// When the step happened (a write: when it began), since the recorder started.
    pub at: Duration,
    /// The thread that made the step, by name.
    pub thread: String,
    /// The same thread, told apart from others of its name.
    pub thread_id: ThreadId,
    /// The layer of the step.
    pub layer: Layer,
    /// What kind of step.
    pub step: Step,
    /// The opaque of the request the step serves (given, or the thread's current one).
    pub opaque: Option<i32>,
    /// The request or response code of a frame step, with its name.
    pub code: Option<(i32, &'static str)>,
    /// The line's text, without the layer prefix.
    pub text: String,
}

impl fmt::Display for TraceEvent {
    /// The line `RMQ_TRACE=1` prints: `[layer] text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.layer, self.text)
    }
}

static ACTIVE: AtomicBool = AtomicBool::new(false);
static SINK: Mutex<Option<Sink>> = Mutex::new(None);

struct Sink {
    start: Instant,
    events: Vec<TraceEvent>,
    dropped: usize,
}

/// True while a recorder runs.
pub(super) fn recording() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Keeps one event, if a recorder runs.
pub(super) fn record(
    layer: Layer,
    step: Step,
    opaque: Option<i32>,
    code: Option<(i32, &'static str)>,
    began: Option<Instant>,
    text: String,
) {
    let now = Instant::now();
    let thread = std::thread::current();
    let mut sink = SINK.lock_unpoisoned();
    let Some(sink) = sink.as_mut() else {
        return;
    };
    if sink.events.len() >= MAX_EVENTS {
        sink.dropped += 1;
        return;
    }
    let at = began.unwrap_or(now).saturating_duration_since(sink.start);
    sink.events.push(TraceEvent {
        at,
        thread: thread.name().unwrap_or("an unnamed thread").to_string(),
        thread_id: thread.id(),
        layer,
        step,
        opaque,
        code,
        text,
    });
}

/// Records every step of every layer in this process while it lives; one at a time.
///
/// ```
/// use rocketmq_blocking::trace::{self, TraceRecorder};
///
/// let recorder = TraceRecorder::start()?;
/// trace::note("the program's own step");
/// let events = recorder.stop();
/// assert_eq!(events[0].to_string(), "[app] the program's own step");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TraceRecorder {
    _one: (),
}

/// [`TraceRecorder::start`] while another recorder runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyRecording;

impl fmt::Display for AlreadyRecording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a trace recorder already runs in this process")
    }
}

impl std::error::Error for AlreadyRecording {}

impl TraceRecorder {
    /// Starts recording.
    pub fn start() -> Result<TraceRecorder, AlreadyRecording> {
        let mut sink = SINK.lock_unpoisoned();
        if sink.is_some() {
            return Err(AlreadyRecording);
        }
        *sink = Some(Sink {
            start: Instant::now(),
            events: Vec::new(),
            dropped: 0,
        });
        ACTIVE.store(true, Ordering::SeqCst);
        Ok(TraceRecorder { _one: () })
    }

    /// The events recorded so far, in the order they were recorded.
    pub fn events(&self) -> Vec<TraceEvent> {
        SINK.lock_unpoisoned()
            .as_ref()
            .map(|sink| sink.events.clone())
            .unwrap_or_default()
    }

    /// Events not kept because the recorder was full.
    pub fn dropped(&self) -> usize {
        SINK.lock_unpoisoned()
            .as_ref()
            .map_or(0, |sink| sink.dropped)
    }

    /// Stops recording and returns every event, in the order they were recorded.
    pub fn stop(self) -> Vec<TraceEvent> {
        take()
    }
}

impl Drop for TraceRecorder {
    fn drop(&mut self) {
        take();
    }
}

fn take() -> Vec<TraceEvent> {
    let mut sink = SINK.lock_unpoisoned();
    ACTIVE.store(false, Ordering::SeqCst);
    sink.take().map(|sink| sink.events).unwrap_or_default()
}

/// A step of the program's own (layer `app`): logged as `[app] text` and recorded with the
/// calling thread's current request, so that, called from a listener, it joins the flow of
/// the pull that brought the message.
pub fn note(text: impl fmt::Display) {
    if super::wanted() {
        super::emit(
            Layer::App,
            Step::Note,
            None,
            None,
            None,
            format_args!("{text}"),
        );
    }
}

/// The steps of the calls one thread made from event `first` to event `last` (both its
/// own): that thread's events in between, and every event, on any thread, that serves a
/// request it began then. Sorted by time.
pub fn calls_between(
    events: &[TraceEvent],
    first: &TraceEvent,
    last: &TraceEvent,
) -> Vec<TraceEvent> {
    let on_thread =
        |e: &TraceEvent| e.thread_id == first.thread_id && e.at >= first.at && e.at <= last.at;
    let opaques: BTreeSet<i32> = events
        .iter()
        .filter(|e| on_thread(e) && e.step == Step::Invoke)
        .filter_map(|e| e.opaque)
        .collect();
    sorted(
        events
            .iter()
            .filter(|e| on_thread(e) || e.opaque.is_some_and(|o| opaques.contains(&o))),
    )
}

/// The steps of request `opaque`: every event that serves it, on any thread, and the steps
/// of the thread that began it which led to it (those just before, serving no request).
/// Sorted by time.
pub fn request_flow(events: &[TraceEvent], opaque: i32) -> Vec<TraceEvent> {
    let mut chosen: Vec<&TraceEvent> = events.iter().filter(|e| e.opaque == Some(opaque)).collect();
    if let Some(begun) = chosen.iter().find(|e| e.step == Step::Invoke).copied() {
        let lead: Vec<&TraceEvent> = events
            .iter()
            .filter(|e| e.thread_id == begun.thread_id && e.at <= begun.at)
            .rev()
            .skip_while(|e| e.opaque == Some(opaque))
            .take_while(|e| e.opaque.is_none())
            .collect();
        chosen.extend(lead);
    }
    sorted(chosen.into_iter())
}

fn sorted<'a>(events: impl Iterator<Item = &'a TraceEvent>) -> Vec<TraceEvent> {
    let mut out: Vec<TraceEvent> = events.cloned().collect();
    // Stable: events of one time keep their recorded order.
    out.sort_by_key(|e| e.at);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An event for tests of what uses events.
    pub(crate) fn event(
        at_us: u64,
        thread: &str,
        layer: Layer,
        step: Step,
        opaque: Option<i32>,
        text: &str,
    ) -> TraceEvent {
        TraceEvent {
            at: Duration::from_micros(at_us),
            thread: thread.to_string(),
            thread_id: thread_id_of(thread),
            layer,
            step,
            opaque,
            code: None,
            text: text.to_string(),
        }
    }

    /// A distinct real thread id per name (ids cannot be made otherwise).
    fn thread_id_of(name: &str) -> ThreadId {
        use std::collections::HashMap;
        static IDS: Mutex<Option<HashMap<String, ThreadId>>> = Mutex::new(None);
        let mut ids = IDS.lock_unpoisoned();
        *ids.get_or_insert_with(HashMap::new)
            .entry(name.to_string())
            .or_insert_with(|| std::thread::spawn(|| {}).thread().id())
    }

    #[test]
    fn a_request_flow_is_its_opaque_and_the_steps_that_led_to_it() {
        let events = vec![
            event(1, "rmq-pull", Layer::Client, Step::Note, None, "pull q0"),
            event(
                2,
                "rmq-pull",
                Layer::Remoting,
                Step::Invoke,
                Some(7),
                "opaque 7",
            ),
            event(3, "rmq-pull", Layer::Client, Step::Note, None, "pull q1"),
            event(
                4,
                "rmq-pull",
                Layer::Remoting,
                Step::Invoke,
                Some(8),
                "opaque 8",
            ),
            event(5, "reader", Layer::Remoting, Step::Read, Some(8), "read 8"),
            event(6, "reader", Layer::Remoting, Step::Read, Some(7), "read 7"),
            event(7, "consume", Layer::App, Step::Note, Some(8), "got it"),
        ];
        let texts = |flow: Vec<TraceEvent>| flow.into_iter().map(|e| e.text).collect::<Vec<_>>();
        assert_eq!(
            texts(request_flow(&events, 8)),
            ["pull q1", "opaque 8", "read 8", "got it"]
        );
        assert_eq!(
            texts(request_flow(&events, 7)),
            ["pull q0", "opaque 7", "read 7"]
        );
        let calls = calls_between(&events, &events[2], &events[3]);
        assert_eq!(texts(calls), ["pull q1", "opaque 8", "read 8", "got it"]);
    }
}
