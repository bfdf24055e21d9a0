//! `FrameWriter`: a connection's bounded outbound queue and the one rule for who writes it.
//!
//! Any thread may hand a frame to a connection, but no thread other than the connection's own
//! writer may wait on its socket: a peer that stops reading must not hold a processor thread
//! that serves everyone else. So a frame is written by the thread that brings it only when
//! the socket takes it within [`DIRECT_WRITE_PATIENCE`]; whatever the socket does not take goes
//! onto the queue, which the connection's writer thread (`rmq-writer-<addr>`) sends, waiting
//! as long as the peer makes progress (up to the write timeout without any). The queue is
//! bounded: past the limit, a reply closes the connection, a client's own request waits for
//! room until its deadline.
//!
//! With TLS, bytes the socket has not taken may also wait inside the stream, encrypted
//! ([`Stream::has_pending_output`]); they count as unwritten: the writer thread is woken for
//! them and `flush` waits for them.

use std::io;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::socket::is_timeout;
use super::stream::Stream;
use crate::common::sync::{CondvarExt, MutexExt};
use crate::common::trace;

/// How long a thread writing a frame directly waits for the socket before handing the rest
/// to the writer thread. Long enough for a reading peer to make room; short enough that a
/// peer that does not read costs a processor thread once, briefly.
pub(crate) const DIRECT_WRITE_PATIENCE: Duration = Duration::from_millis(2);

/// Buffers larger than this are released after use instead of kept for the next burst.
const KEEP_BUFFER_CAPACITY: usize = 1024 * 1024;

/// Bodies smaller than this are copied next to their header and written in one call.
const GATHER_THRESHOLD: usize = 8 * 1024;

/// What to do with a frame when the queue is over its limit.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WhenFull {
    /// Refuse it; the connection is closed (replies, and requests a server sends).
    Close,
    /// Wait for room until `deadline` (a client's own request, within its timeout).
    Wait {
        /// When to give up.
        deadline: Instant,
    },
}

/// How a frame is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handover {
    /// Written by the calling thread when nothing else is being written (sync calls,
    /// responses): a lone caller pays no thread hand-off.
    Direct,
    /// Queued for the writer thread (async and oneway calls, late answers), so a burst from
    /// one thread leaves in few syscalls.
    Queued,
}

/// Why a frame was not accepted.
#[derive(Debug)]
pub(crate) enum WriteRefused {
    /// The connection is closed.
    Closed,
    /// An earlier write failed; the connection is dead.
    Broken(String),
    /// The queue holds `queued` bytes and this frame would pass the limit.
    Overflow {
        /// Bytes waiting, not yet taken by the peer.
        queued: usize,
    },
    /// No room came free before the deadline.
    NoRoom,
    /// The socket failed under this write.
    Io(io::Error),
}

/// What the caller must do after a frame was accepted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// Nothing: written, or queued for a running writer thread.
    Done,
    /// The frame is queued and the connection has no writer thread yet: start one running
    /// [`FrameWriter::writer_loop`].
    StartWriter,
}

/// The outbound side of one connection.
pub(crate) struct FrameWriter {
    /// The peer, for trace lines.
    addr: std::sync::Arc<str>,
    /// Bytes the queue may hold before it refuses more.
    limit: usize,
    /// How long the writer thread waits for a peer that takes no bytes.
    stall_timeout: Duration,
    state: Mutex<WriterState>,
    /// The writer thread waits here for bytes to write.
    work: Condvar,
    /// Threads waiting for queue room, or for the queue to drain, wait here.
    progress: Condvar,
}

#[derive(Default)]
struct WriterState {
    /// Encoded frames waiting for the socket, in order; may start with the unwritten rest of
    /// a frame.
    queued: Vec<u8>,
    /// Opaques of the frames in `queued`, kept only while the trace is on.
    queued_opaques: Vec<i32>,
    /// Some thread is writing to the socket; only it may touch the socket's write timeout.
    writing: bool,
    /// The socket's write timeout is the writer thread's (long), not the direct writers'.
    long_timeout: bool,
    broken: Option<String>,
    closed: bool,
    writer_started: bool,
    /// The writer thread is waiting on `work`. Waking costs a syscall, so only a waiter is woken.
    writer_parked: bool,
    /// Threads waiting on `progress`.
    progress_waiters: usize,
}

impl FrameWriter {
    /// A writer for `addr`; the socket's write timeout must be [`DIRECT_WRITE_PATIENCE`].
    pub(crate) fn new(addr: std::sync::Arc<str>, limit: usize, stall_timeout: Duration) -> Self {
        FrameWriter {
            addr,
            limit,
            stall_timeout,
            state: Mutex::new(WriterState::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WriterState> {
        self.state.lock_unpoisoned()
    }

    /// Bytes waiting for the socket.
    #[cfg(test)]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().queued.len()
    }

    /// Hands one frame (`head` then `body`) over. Never waits on the socket for longer than
    /// [`DIRECT_WRITE_PATIENCE`]; waits for queue room only as `when_full` allows.
    pub(crate) fn write(
        &self,
        stream: &Stream,
        head: Vec<u8>,
        body: &[u8],
        opaque: i32,
        handover: Handover,
        when_full: WhenFull,
    ) -> Result<Accepted, WriteRefused> {
        let frame_len = head.len() + body.len();
        let mut state = self.wait_for_room(self.lock(), frame_len, when_full)?;
        if handover == Handover::Queued || state.writing || !state.queued.is_empty() {
            state.queued.extend_from_slice(&head);
            state.queued.extend_from_slice(body);
            if trace::wanted() {
                state.queued_opaques.push(opaque);
            }
            return Ok(self.wake_writer(state, stream));
        }
        state.writing = true;
        let set_patience = std::mem::take(&mut state.long_timeout);
        drop(state);
        if set_patience {
            if let Err(e) = stream.tcp().set_write_timeout(Some(DIRECT_WRITE_PATIENCE)) {
                return Err(self.fail(self.lock(), e));
            }
        }
        self.write_direct(stream, head, body, opaque)
    }

    /// Checks the connection is usable and the frame fits the queue, waiting for room if
    /// `when_full` allows. A frame always fits an empty queue.
    fn wait_for_room<'a>(
        &'a self,
        mut state: MutexGuard<'a, WriterState>,
        frame_len: usize,
        when_full: WhenFull,
    ) -> Result<MutexGuard<'a, WriterState>, WriteRefused> {
        loop {
            if let Some(reason) = &state.broken {
                return Err(WriteRefused::Broken(reason.clone()));
            }
            if state.closed {
                return Err(WriteRefused::Closed);
            }
            let queued = state.queued.len();
            if queued == 0 || queued + frame_len <= self.limit {
                return Ok(state);
            }
            match when_full {
                WhenFull::Close => return Err(WriteRefused::Overflow { queued }),
                WhenFull::Wait { deadline } => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(WriteRefused::NoRoom);
                    }
                    state = self.wait_for_progress(state, deadline - now);
                }
            }
        }
    }

    fn wait_for_progress<'a>(
        &'a self,
        mut state: MutexGuard<'a, WriterState>,
        timeout: Duration,
    ) -> MutexGuard<'a, WriterState> {
        state.progress_waiters += 1;
        let mut state = self.progress.wait_timeout_unpoisoned(state, timeout);
        state.progress_waiters -= 1;
        state
    }

    /// Bytes left the queue or a write ended: wakes those waiting for that, if any.
    fn report_progress(&self, state: &WriterState) {
        if state.progress_waiters > 0 {
            self.progress.notify_all();
        }
    }

    /// Writes a frame from the calling thread, then the frames others queued meanwhile, as
    /// long as the socket takes them promptly; whatever it does not take is queued, in order,
    /// for the writer thread.
    fn write_direct(
        &self,
        stream: &Stream,
        mut head: Vec<u8>,
        body: &[u8],
        opaque: i32,
    ) -> Result<Accepted, WriteRefused> {
        let frame_len = head.len() + body.len();
        let began = trace::wanted().then(Instant::now);
        let written = if body.len() < GATHER_THRESHOLD {
            head.extend_from_slice(body);
            write_patiently(stream, &head, &[])
        } else {
            write_patiently(stream, &head, body)
        };
        let mut state = self.lock();
        match written {
            Err(e) => return Err(self.fail(state, e)),
            Ok(n) if n < frame_len => {
                // The peer is slow: the rest goes first in the queue, for the writer thread.
                let rest = if body.len() < GATHER_THRESHOLD {
                    head[n..].to_vec()
                } else if n < head.len() {
                    let mut rest = head[n..].to_vec();
                    rest.extend_from_slice(body);
                    rest
                } else {
                    body[n - head.len()..].to_vec()
                };
                prepend(&mut state.queued, rest);
                if trace::wanted() {
                    state.queued_opaques.insert(0, opaque);
                }
                state.writing = false;
                return Ok(self.wake_writer(state, stream));
            }
            Ok(_) => {
                if let Some(began) = began {
                    self.trace_written(&[opaque], frame_len, began);
                }
            }
        }
        // Frames others queued while we wrote leave in one syscall, from this thread.
        let mut batch = head;
        while !state.queued.is_empty() {
            batch.clear();
            std::mem::swap(&mut batch, &mut state.queued);
            let opaques = std::mem::take(&mut state.queued_opaques);
            self.report_progress(&state); // room for those waiting
            drop(state);
            // Opaques are kept only while tracing: only then is the time worth taking.
            let began = (!opaques.is_empty()).then(Instant::now);
            let written = write_patiently(stream, &batch, &[]);
            state = self.lock();
            match written {
                Err(e) => return Err(self.fail(state, e)),
                Ok(n) if n < batch.len() => {
                    prepend(&mut state.queued, batch[n..].to_vec());
                    break;
                }
                Ok(n) => {
                    if let Some(began) = began {
                        self.trace_written(&opaques, n, began);
                    }
                }
            }
        }
        state.writing = false;
        if state.queued.is_empty() && state.queued.capacity() > KEEP_BUFFER_CAPACITY {
            state.queued = Vec::new();
        }
        Ok(self.wake_writer(state, stream))
    }

    /// After queueing or writing: wakes the writer thread if there is work only it will do
    /// (queued frames, or output pending in the stream), or asks for one.
    fn wake_writer(&self, mut state: MutexGuard<'_, WriterState>, stream: &Stream) -> Accepted {
        self.report_progress(&state);
        if state.writing || (state.queued.is_empty() && !stream.has_pending_output()) {
            return Accepted::Done;
        }
        if state.writer_parked {
            self.work.notify_one();
        }
        if state.writer_started {
            return Accepted::Done;
        }
        state.writer_started = true;
        Accepted::StartWriter
    }

    /// The stream made output of its own (with TLS: an alert, a key-update answer) or holds
    /// some a writer left: makes sure a writer sends it.
    pub(crate) fn kick(&self, stream: &Stream) -> Accepted {
        let state = self.lock();
        if state.closed || state.broken.is_some() {
            return Accepted::Done;
        }
        self.wake_writer(state, stream)
    }

    /// Marks the writer broken by `e`; the connection must close.
    fn fail(&self, mut state: MutexGuard<'_, WriterState>, e: io::Error) -> WriteRefused {
        state.writing = false;
        state.broken = Some(e.to_string());
        state.queued = Vec::new();
        self.work.notify_all();
        self.progress.notify_all();
        WriteRefused::Io(e)
    }

    /// The writer thread: sends queued bytes until the connection closes, waiting on the
    /// socket as long as the peer takes bytes at least every `stall_timeout`. Returns the
    /// error that broke the connection, if any.
    pub(crate) fn writer_loop(&self, stream: &Stream) -> io::Result<()> {
        let mut state = self.lock();
        let mut batch = Vec::new();
        loop {
            while !state.closed
                && state.broken.is_none()
                && (state.writing || (state.queued.is_empty() && !stream.has_pending_output()))
            {
                state.writer_parked = true;
                state = self.work.wait_unpoisoned(state);
                state.writer_parked = false;
            }
            if state.closed || state.broken.is_some() {
                return Ok(());
            }
            state.writing = true;
            let set_stall_timeout = !std::mem::replace(&mut state.long_timeout, true);
            batch.clear();
            std::mem::swap(&mut batch, &mut state.queued);
            let opaques = std::mem::take(&mut state.queued_opaques);
            self.report_progress(&state);
            drop(state);
            let began = (!opaques.is_empty()).then(Instant::now);
            let mut result = Ok(());
            if set_stall_timeout {
                result = stream.tcp().set_write_timeout(Some(self.stall_timeout));
            }
            if result.is_ok() {
                result = write_all_or_stall(stream, &batch, self.stall_timeout);
            }
            state = self.lock();
            if let Err(e) = result {
                self.fail(state, io::Error::new(e.kind(), e.to_string()));
                return Err(e);
            }
            if let Some(began) = began {
                self.trace_written(&opaques, batch.len(), began);
            }
            state.writing = false;
            if batch.capacity() > KEEP_BUFFER_CAPACITY {
                batch = Vec::new();
            }
            self.report_progress(&state);
        }
    }

    /// A write of the frames of `opaques` that began at `began`: one line, one recorded
    /// event per frame, timed at the write's start so it comes before the peer's read.
    fn trace_written(&self, opaques: &[i32], bytes: usize, began: Instant) {
        if !trace::wanted() {
            return;
        }
        trace::emit_for_each(
            trace::Layer::Remoting,
            trace::Step::Write,
            opaques,
            Some(began),
            format_args!(
                "opaque {}: {bytes} bytes written to {} by {}",
                opaques
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                self.addr,
                trace::thread_name()
            ),
        );
    }

    /// Waits up to `deadline` for everything queued to be written (before a graceful close).
    pub(crate) fn flush(&self, stream: &Stream, deadline: Instant) {
        let mut state = self.lock();
        while (state.writing || !state.queued.is_empty() || stream.has_pending_output())
            && state.broken.is_none()
            && !state.closed
        {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            state = self.wait_for_progress(state, deadline - now);
        }
    }

    /// Refuses further frames and wakes the writer thread so it exits.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
        self.progress.notify_all();
    }
}

/// Puts `front` before what `queue` holds.
fn prepend(queue: &mut Vec<u8>, mut front: Vec<u8>) {
    front.extend_from_slice(queue);
    *queue = front;
}

/// Writes `a` then `b` until the socket stops taking bytes within its (short) write timeout.
/// Returns how many bytes were written; an error only when the socket failed.
fn write_patiently(stream: &Stream, mut a: &[u8], mut b: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while !a.is_empty() || !b.is_empty() {
        let n = match stream.write_some(a, b) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Ok(written),
            Err(e) => return Err(e),
        };
        written += n;
        if n < a.len() {
            a = &a[n..];
        } else {
            b = &b[n - a.len()..];
            a = &[];
        }
    }
    Ok(written)
}

/// Writes all of `bytes`, and whatever output the stream still holds; fails when the peer
/// takes nothing for `stall_timeout` (the socket's write timeout).
fn write_all_or_stall(stream: &Stream, mut bytes: &[u8], stall: Duration) -> io::Result<()> {
    let stalled = |left: usize| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the peer took no bytes for {} ms ({left} bytes still to write)",
                stall.as_millis(),
            ),
        )
    };
    while !bytes.is_empty() {
        match stream.write_some(bytes, &[]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(stalled(bytes.len())),
            Err(e) => return Err(e),
        }
    }
    while stream.has_pending_output() {
        match stream.send_pending() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(stalled(0)),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn pair() -> (Stream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client
            .set_write_timeout(Some(DIRECT_WRITE_PATIENCE))
            .unwrap();
        (Stream::Plain(client), server)
    }

    #[test]
    fn a_peer_that_does_not_read_gets_queued_bytes_then_a_refusal() {
        let (ours, _theirs) = pair(); // the peer never reads
        let writer = FrameWriter::new("peer".into(), 1 << 20, Duration::from_secs(10));
        let frame = vec![7u8; 256 * 1024];
        let mut accepted = 0usize;
        let refused = loop {
            let begin = Instant::now();
            match writer.write(
                &ours,
                frame.clone(),
                &[],
                1,
                Handover::Direct,
                WhenFull::Close,
            ) {
                Ok(_) => accepted += 1,
                Err(refused) => break refused,
            }
            // No call waits on the socket for long, however full it is.
            assert!(
                begin.elapsed() < Duration::from_secs(1),
                "{:?}",
                begin.elapsed()
            );
            assert!(accepted < 1000, "the queue never filled");
        };
        assert!(matches!(refused, WriteRefused::Overflow { queued } if queued > 0));
        assert!(writer.queued_bytes() <= (1 << 20) + frame.len());
        // A client's request waits for room only until its deadline.
        let deadline = Instant::now() + Duration::from_millis(30);
        assert!(matches!(
            writer.write(
                &ours,
                frame,
                &[],
                2,
                Handover::Queued,
                WhenFull::Wait { deadline }
            ),
            Err(WriteRefused::NoRoom)
        ));
    }

    #[test]
    fn bytes_leave_in_order_across_direct_and_queued_writes() {
        use std::io::Read;
        let (ours, mut theirs) = pair();
        let writer = std::sync::Arc::new(FrameWriter::new(
            "peer".into(),
            64 << 20,
            Duration::from_secs(10),
        ));
        let ours = std::sync::Arc::new(ours);
        let (w, s) = (writer.clone(), ours.clone());
        let flusher = std::thread::spawn(move || w.writer_loop(&s));
        // Frames of 100 KiB numbered 0..40; the reader checks they arrive whole and in order.
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut frame = vec![0u8; 100 * 1024];
            for _ in 0..40 {
                theirs.read_exact(&mut frame).unwrap();
                assert!(frame.iter().all(|&b| b == frame[0]));
                got.push(frame[0]);
            }
            got
        });
        let mut writer_started = false;
        for i in 0..40u8 {
            let handover = if i % 3 == 0 {
                Handover::Queued
            } else {
                Handover::Direct
            };
            let accepted = writer
                .write(
                    &ours,
                    vec![i; 100 * 1024],
                    &[],
                    i as i32,
                    handover,
                    WhenFull::Close,
                )
                .unwrap();
            writer_started |= accepted == Accepted::StartWriter;
        }
        assert!(writer_started, "queued frames asked for the writer thread");
        assert_eq!(reader.join().unwrap(), (0..40).collect::<Vec<u8>>());
        writer.close();
        flusher.join().unwrap().unwrap();
    }

    /// The writer with TLS streams (feature `tls`).
    #[cfg(feature = "tls")]
    mod tls {
        use super::*;
        use crate::remoting::tls::{
            connect, TlsAcceptor, TlsClientConfig, TlsMode, PLAINTEXT_CHUNK,
        };
        use std::io::Read;
        use std::path::{Path, PathBuf};
        use std::sync::Arc;

        fn fixture(name: &str) -> PathBuf {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/tls")
                .join(name)
        }

        /// A TLS connection over loopback: (client side, server side).
        fn tls_pair() -> (Stream, Stream) {
            let acceptor = TlsAcceptor::new(
                TlsMode::Enforcing,
                Some(&fixture("server.pem")),
                Some(&fixture("server.key")),
                None,
                Duration::from_secs(10),
            )
            .unwrap()
            .unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let server = std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    let (tcp, _) = listener.accept().unwrap();
                    acceptor.accept(tcp).unwrap()
                })
                .unwrap();
            let config = TlsClientConfig::with_ca_file(fixture("ca.pem"))
                .build()
                .unwrap();
            let tcp = TcpStream::connect(&addr).unwrap();
            let client = connect(
                tcp,
                &addr,
                &config,
                Instant::now() + Duration::from_secs(10),
            )
            .unwrap();
            (client.into(), server.join().unwrap().into())
        }

        /// Client handshakes run on whatever thread connects first (some library threads have
        /// 128 KiB stacks); both sides fit in that, debug build included.
        #[test]
        fn a_handshake_fits_a_128_kib_stack() {
            let (client, server) = std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(tls_pair)
                .unwrap()
                .join()
                .unwrap();
            assert!(client.is_tls() && server.is_tls());
        }

        /// Ciphertext the socket did not take after the whole frame was encrypted is the writer
        /// thread's to send: the frame must not wait for the next write.
        #[test]
        fn ciphertext_left_pending_is_sent_by_the_writer_thread() {
            let (ours, theirs) = tls_pair();
            ours.tcp()
                .set_write_timeout(Some(DIRECT_WRITE_PATIENCE))
                .unwrap();
            let writer = Arc::new(FrameWriter::new(
                "peer".into(),
                64 << 20,
                Duration::from_secs(10),
            ));
            let ours = Arc::new(ours);
            // The peer does not read yet: frames of one plaintext chunk fill the socket until one
            // is encrypted whole but only partly sent.
            let frame = vec![0x5a_u8; PLAINTEXT_CHUNK];
            let mut frames = 0usize;
            let mut start_writer = false;
            while !ours.has_pending_output() {
                let accepted = writer
                    .write(
                        &ours,
                        frame.clone(),
                        &[],
                        1,
                        Handover::Direct,
                        WhenFull::Close,
                    )
                    .unwrap();
                start_writer |= accepted == Accepted::StartWriter;
                frames += 1;
                assert!(frames < 10_000, "the socket never filled");
            }
            assert!(
                start_writer,
                "pending ciphertext asked for no writer thread"
            );
            let (w, s) = (writer.clone(), ours.clone());
            let flusher = std::thread::spawn(move || w.writer_loop(&s));
            // Now the peer reads: every byte of every frame arrives, though nothing more is written.
            theirs
                .tcp()
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = theirs.reader();
            let mut got = vec![0u8; frames * frame.len()];
            reader.read_exact(&mut got).unwrap();
            assert!(got.iter().all(|&b| b == 0x5a));
            writer.flush(&ours, Instant::now() + Duration::from_secs(10));
            assert!(!ours.has_pending_output());
            writer.close();
            flusher.join().unwrap().unwrap();
        }
    }
}
