//! `SequenceDiagram`: recorded steps drawn as an SVG sequence diagram, plain text any browser
//! shows, with no dependency.
//!
//! Each section is one flow (a send, a consume) with its own lanes, left to right in the
//! order the flow reaches them: one per thread, except that a pool's threads
//! (`rmq-server-proc-10-1`, `-2`, …) share their pool's lane and the store's steps have a
//! lane of their own (they run on the putting thread). Each step is a row: a dot on its lane,
//! coloured by layer, with its line beside it. A frame is a solid arrow from the lane that
//! wrote it to the lane that decoded it, labelled with its code, opaque and microseconds on
//! the way; a hand-off from one lane to another is a dashed arrow with the microseconds
//! between the two steps. A caption per layer closes the picture.
//!
//! Rows have a fixed height and text never shares a row, so ~40 steps (or 400) stay legible;
//! the width grows with the lanes, not the steps.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use super::recorder::TraceEvent;
use super::{Layer, Step};

const LANE_GAP: usize = 175;
const LEFT: usize = 80;
const ROW: usize = 22;
const HEAD: usize = 46;
const CHAR_W: usize = 7;

/// A sequence diagram of recorded steps; see the module docs.
///
/// ```
/// use rocketmq_blocking::trace::{SequenceDiagram, TraceRecorder};
///
/// let recorder = TraceRecorder::start()?;
/// rocketmq_blocking::trace::note("one step");
/// let svg = SequenceDiagram::new("A picture")
///     .section("What happened", recorder.stop())
///     .render_svg();
/// assert!(svg.starts_with("<svg") && svg.contains("one step"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SequenceDiagram {
    title: String,
    sections: Vec<(String, Vec<TraceEvent>)>,
}

/// One lane of a section: its name and what its thread does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The thread's name (a pool's name for a pool's threads; `store` for the store).
    pub name: String,
    /// What it is: `caller`, `connection writer`, `server reader`, `client reader`,
    /// `processor pool`, `store`, `callback pool`, `pull thread`, `consume pool`,
    /// `janitor`, …
    pub role: &'static str,
}

impl SequenceDiagram {
    /// An empty diagram with a title.
    pub fn new(title: impl Into<String>) -> SequenceDiagram {
        SequenceDiagram {
            title: title.into(),
            sections: Vec::new(),
        }
    }

    /// Adds a section: `events` (one flow, e.g. from
    /// [`calls_between`](super::calls_between) or [`request_flow`](super::request_flow)),
    /// drawn in time order under `caption`.
    pub fn section(mut self, caption: impl Into<String>, mut events: Vec<TraceEvent>) -> Self {
        events.sort_by_key(|e| e.at);
        self.sections.push((caption.into(), events));
        self
    }

    /// The lanes of each section, left to right.
    pub fn lanes(&self) -> Vec<Vec<Lane>> {
        self.sections
            .iter()
            .map(|(_, events)| lanes_of(events))
            .collect()
    }

    /// The picture, as SVG text.
    pub fn render_svg(&self) -> String {
        let layouts: Vec<Layout> = self
            .sections
            .iter()
            .map(|(caption, events)| Layout::new(caption, events))
            .collect();
        let width = layouts
            .iter()
            .map(|l| l.width)
            .max()
            .unwrap_or(600)
            .max(600);
        let layers: BTreeSet<Layer> = self
            .sections
            .iter()
            .flat_map(|(_, events)| events.iter().map(|e| e.layer))
            .collect();
        let legend_height = 20 + layers.len() * 16;
        let height = 40 + layouts.iter().map(|l| l.height).sum::<usize>() + legend_height;

        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"11\">\n\
             <style>\
             .life{{stroke:#c8c8c8;stroke-width:1}}\
             .frame{{stroke:#222;stroke-width:1.4}}\
             .handoff{{stroke:#777;stroke-width:1;stroke-dasharray:4 3}}\
             .t{{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}}\
             .head{{fill:#f4f4f4;stroke:#bbb}}\
             </style>\n\
             <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n\
             <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
             <text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
            escape(&self.title)
        );
        let mut top = 40;
        for layout in &layouts {
            layout.render(&mut svg, top);
            top += layout.height;
        }
        let _ = writeln!(svg, "<g class=\"legend\">");
        let mut y = top + 14;
        for layer in layers {
            let _ = writeln!(
                svg,
                "<circle cx=\"16\" cy=\"{}\" r=\"5\" fill=\"{}\"/>\
                 <text x=\"28\" y=\"{}\"><tspan font-weight=\"bold\">{}</tspan> {}</text>",
                y - 4,
                color(layer),
                y,
                layer.name(),
                escape(caption(layer))
            );
            y += 16;
        }
        svg.push_str("</g>\n</svg>\n");
        svg
    }
}

/// One caption per layer, under the picture.
fn caption(layer: Layer) -> &'static str {
    match layer {
        Layer::Client => {
            "the business layer: checks the message, finds the route, picks the queue, retries; \
             pulls and calls the listener"
        }
        Layer::Remoting => {
            "the communication layer: the response table (by opaque), connections and their \
             reader and writer threads, the pools requests and callbacks run on"
        }
        Layer::Protocol => {
            "the wire format: a frame is length, header (JSON or ROCKETMQ binary) and body"
        }
        Layer::Broker => "the broker: one processor per request code, on its own pool",
        Layer::Store => {
            "the store: commit log and consume queues, written on the processor's thread"
        }
        Layer::NameServer => "the name server: routes of topics, brokers by name",
        Layer::App => "the program's own steps",
    }
}

fn color(layer: Layer) -> &'static str {
    match layer {
        Layer::Client => "#1f77b4",
        Layer::Remoting => "#ff7f0e",
        Layer::Protocol => "#2ca02c",
        Layer::Broker => "#d62728",
        Layer::Store => "#9467bd",
        Layer::NameServer => "#8c564b",
        Layer::App => "#e377c2",
    }
}

/// The lane an event is drawn on: the store's own, else its thread's, a pool's threads
/// (`name-<index>`) sharing the pool's.
fn lane_key(event: &TraceEvent) -> String {
    if event.layer == Layer::Store {
        return "store".to_string();
    }
    let name = event.thread.as_str();
    match name.rsplit_once('-') {
        Some((pool, index))
            if name.starts_with("rmq-")
                && !index.is_empty()
                && index.bytes().all(|b| b.is_ascii_digit()) =>
        {
            pool.to_string()
        }
        _ => name.to_string(),
    }
}

fn role_of(name: &str, events: &[&TraceEvent]) -> &'static str {
    let has = |step: Step| events.iter().any(|e| e.step == step);
    if name == "store" {
        "store"
    } else if name.starts_with("rmq-writer-") || events.iter().all(|e| e.step == Step::Write) {
        // A thread whose only step is a write wrote frames others queued.
        "connection writer"
    } else if name.starts_with("rmq-reader-") {
        if has(Step::DecodeRequest) {
            "server reader"
        } else {
            "client reader"
        }
    } else if name.starts_with("rmq-server-proc") {
        if events.iter().any(|e| e.layer == Layer::NameServer) {
            "name server pool"
        } else {
            "processor pool"
        }
    } else if name.starts_with("rmq-callback") {
        "callback pool"
    } else if name == "rmq-pull" {
        "pull thread"
    } else if name == "rmq-consume" {
        "consume pool"
    } else if name.starts_with("rmq-janitor") {
        "janitor"
    } else if name.starts_with("rmq-sender") {
        "async sender pool"
    } else if has(Step::Invoke) {
        "caller"
    } else {
        "thread"
    }
}

fn lanes_of(events: &[TraceEvent]) -> Vec<Lane> {
    let mut names: Vec<String> = Vec::new();
    for event in events {
        let key = lane_key(event);
        if !names.contains(&key) {
            names.push(key);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let on_lane: Vec<&TraceEvent> = events.iter().filter(|e| lane_key(e) == name).collect();
            let role = role_of(&name, &on_lane);
            Lane { name, role }
        })
        .collect()
}

/// An arrow into a row: from `from` (a lane index), a frame or a hand-off.
struct Arrow {
    from: usize,
    frame: Option<(i32, &'static str, i32)>,
    elapsed: Duration,
}

struct Row<'a> {
    event: &'a TraceEvent,
    lane: usize,
    arrow: Option<Arrow>,
}

struct Layout<'a> {
    caption: &'a str,
    lanes: Vec<Lane>,
    rows: Vec<Row<'a>>,
    width: usize,
    height: usize,
}

impl<'a> Layout<'a> {
    fn new(caption: &'a str, events: &'a [TraceEvent]) -> Layout<'a> {
        let lanes = lanes_of(events);
        let index = |e: &TraceEvent| {
            let key = lane_key(e);
            lanes.iter().position(|l| l.name == key).unwrap_or(0)
        };
        let mut rows: Vec<Row<'a>> = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let lane = index(event);
            let arrow = match event.step {
                // A frame arrives: from the lane that wrote it (else encoded it).
                Step::DecodeRequest | Step::DecodeResponse => events[..i]
                    .iter()
                    .rev()
                    .filter(|e| e.opaque == event.opaque)
                    .find(|e| {
                        e.step == Step::Write
                            || e.step == Step::EncodeRequest
                            || e.step == Step::EncodeResponse
                    })
                    .map(|sent| Arrow {
                        from: index(sent),
                        frame: Some((
                            event.code.map_or(0, |c| c.0),
                            event.code.map_or("?", |c| c.1),
                            event.opaque.unwrap_or(0),
                        )),
                        elapsed: event.at.saturating_sub(sent.at),
                    }),
                // Anything else that changes lanes was handed over by the row before.
                _ => rows.last().and_then(|before: &Row<'_>| {
                    (before.lane != lane).then(|| Arrow {
                        from: before.lane,
                        frame: None,
                        elapsed: event.at.saturating_sub(before.event.at),
                    })
                }),
            };
            rows.push(Row { event, lane, arrow });
        }
        let longest = events.iter().map(|e| e.text.len()).max().unwrap_or(0);
        let lanes_width = LEFT + LANE_GAP * lanes.len().max(1);
        let width = lanes_width + (longest * CHAR_W).saturating_sub(LANE_GAP / 2);
        let height = 28 + HEAD + ROW * rows.len() + 24;
        Layout {
            caption,
            lanes,
            rows,
            width,
            height,
        }
    }

    fn x(&self, lane: usize) -> usize {
        LEFT + LANE_GAP / 2 + lane * LANE_GAP
    }

    fn render(&self, svg: &mut String, top: usize) {
        let _ = writeln!(
            svg,
            "<g class=\"section\">\n<text x=\"10\" y=\"{}\" font-size=\"13\" \
             font-weight=\"bold\">{}</text>",
            top + 16,
            escape(self.caption)
        );
        let head_top = top + 28;
        let rows_top = head_top + HEAD;
        let bottom = rows_top + ROW * self.rows.len() + 8;
        for (i, lane) in self.lanes.iter().enumerate() {
            let x = self.x(i);
            let w = LANE_GAP - 10;
            let _ = writeln!(
                svg,
                "<g class=\"lane\" data-lane=\"{}\" data-role=\"{}\">\
                 <rect class=\"head\" x=\"{}\" y=\"{head_top}\" width=\"{w}\" height=\"34\" rx=\"4\"/>\
                 <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text>\
                 <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" \
                 font-style=\"italic\" fill=\"#555\">{}</text>\
                 <line class=\"life\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{bottom}\"/></g>",
                escape(&lane.name),
                lane.role,
                x - w / 2,
                head_top + 14,
                escape(&shorten(&lane.name, w / 6)),
                head_top + 27,
                lane.role,
                head_top + 34,
            );
        }
        let start = self.rows.first().map_or(Duration::ZERO, |r| r.event.at);
        for (i, row) in self.rows.iter().enumerate() {
            let y = rows_top + ROW * i + ROW / 2;
            let x = self.x(row.lane);
            let _ = writeln!(
                svg,
                "<text x=\"8\" y=\"{}\" fill=\"#777\" font-size=\"10\">+{} µs</text>",
                y + 4,
                row.event.at.saturating_sub(start).as_micros()
            );
            // Text goes away from the arrow (without one, away from the nearer edge), unless
            // it would not fit on that side: then over the arrow, which its halo covers.
            let text_width =
                (row.event.layer.name().len() + 3 + row.event.text.chars().count()) * CHAR_W;
            let away = match &row.arrow {
                Some(arrow) => arrow.from <= row.lane,
                None => row.lane < self.lanes.len().div_ceil(2),
            };
            let text_right = away || x < text_width + 12;
            if let Some(arrow) = &row.arrow {
                self.render_arrow(svg, arrow, x, y);
            }
            let (tx, anchor) = if text_right {
                (x + 9, "start")
            } else {
                (x.saturating_sub(9), "end")
            };
            let _ = writeln!(
                svg,
                "<g class=\"step\" data-layer=\"{}\" data-step=\"{:?}\">\
                 <circle cx=\"{x}\" cy=\"{y}\" r=\"4.5\" fill=\"{}\"/>\
                 <text class=\"t\" x=\"{tx}\" y=\"{}\" text-anchor=\"{anchor}\">[{}] {}</text></g>",
                row.event.layer.name(),
                row.event.step,
                color(row.event.layer),
                y + 4,
                row.event.layer.name(),
                escape(&row.event.text)
            );
        }
        svg.push_str("</g>\n");
    }

    fn render_arrow(&self, svg: &mut String, arrow: &Arrow, x: usize, y: usize) {
        let from = self.x(arrow.from);
        if from == x {
            return;
        }
        // Stop at the dot's edge.
        let end = if from < x { x - 5 } else { x + 5 };
        let mid = (from + x) / 2;
        let micros = arrow.elapsed.as_micros();
        match arrow.frame {
            Some((code, name, opaque)) => {
                let _ = writeln!(
                    svg,
                    "<g class=\"arrow\" data-code=\"{code}\" data-opaque=\"{opaque}\">\
                     <line class=\"frame\" x1=\"{from}\" y1=\"{y}\" x2=\"{end}\" y2=\"{y}\" \
                     marker-end=\"url(#arrow)\"/>\
                     <text class=\"t\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" \
                     font-weight=\"bold\">{} ({code}) #{opaque} · {micros} µs</text></g>",
                    y - 4,
                    escape(name)
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    "<g class=\"handoff\"><line class=\"handoff\" x1=\"{from}\" y1=\"{y}\" \
                     x2=\"{end}\" y2=\"{y}\" marker-end=\"url(#arrow)\"/>\
                     <text class=\"t\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" \
                     fill=\"#555\">{micros} µs</text></g>",
                    y - 4
                );
            }
        }
    }
}

/// At most `max` characters: the end kept, where addresses differ.
fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max || max < 2 {
        return text.to_string();
    }
    let tail: String = text.chars().skip(count - (max - 1)).collect();
    format!("…{tail}")
}

/// Text as XML character data or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::recorder::tests::event;
    use super::*;

    fn frame(mut e: TraceEvent, code: i32, name: &'static str) -> TraceEvent {
        e.code = Some((code, name));
        e
    }

    #[test]
    fn lanes_follow_the_flow_and_pools_share_one() {
        let events = vec![
            event(
                1,
                "main",
                Layer::Remoting,
                Step::Invoke,
                Some(5),
                "registered",
            ),
            frame(
                event(2, "main", Layer::Remoting, Step::Write, Some(5), "written"),
                310,
                "SEND_MESSAGE_V2",
            ),
            frame(
                event(
                    9,
                    "rmq-reader-1.2.3.4:5",
                    Layer::Protocol,
                    Step::DecodeRequest,
                    Some(5),
                    "decoded",
                ),
                310,
                "SEND_MESSAGE_V2",
            ),
            event(
                10,
                "rmq-server-proc-10-1",
                Layer::Remoting,
                Step::Process,
                Some(5),
                "runs",
            ),
            event(
                11,
                "rmq-server-proc-10-2",
                Layer::Store,
                Step::Note,
                Some(5),
                "put <a&b>",
            ),
            event(
                12,
                "rmq-server-proc-10-2",
                Layer::Remoting,
                Step::Write,
                Some(5),
                "written",
            ),
        ];
        let diagram = SequenceDiagram::new("t").section("send", events);
        let lanes = diagram.lanes();
        let names: Vec<&str> = lanes[0].iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "main",
                "rmq-reader-1.2.3.4:5",
                "rmq-server-proc-10",
                "store"
            ]
        );
        let roles: Vec<&str> = lanes[0].iter().map(|l| l.role).collect();
        assert_eq!(
            roles,
            ["caller", "server reader", "processor pool", "store"]
        );
        let svg = diagram.render_svg();
        assert!(svg.contains("SEND_MESSAGE_V2 (310) #5 · 7 µs"), "{svg}");
        assert!(svg.contains("put &lt;a&amp;b&gt;"), "{svg}");
        assert_eq!(svg.matches("class=\"handoff\"><line").count(), 3, "{svg}");
    }

    #[test]
    fn names_are_shortened_from_the_left_and_text_escaped() {
        assert_eq!(shorten("rmq-reader-127.0.0.1:46511", 10), "…0.1:46511");
        assert_eq!(shorten("main", 10), "main");
        assert_eq!(escape("a\u{1}b\"c'"), "a\u{fffd}b&quot;c&apos;");
    }
}
