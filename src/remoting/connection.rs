//! `Connection`: one TCP connection, its frame writer and its reader loop.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::RemotingError;
use super::threads::ThreadSet;
use crate::common::clock::{deadline_after, monotonic_millis};
use crate::common::sync::{CondvarExt, MutexExt};
use crate::common::trace::{self, trace_step};
use crate::protocol::{FrameDecoder, RemotingCommand};

/// What a connection's reader thread hands its frames and its end to.
pub(crate) trait ConnectionHandler: Send + Sync {
    /// A whole command arrived.
    fn on_command(&self, conn: &Arc<Connection>, cmd: RemotingCommand);
    /// The peer sent bytes that do not decode; the connection closes next.
    fn on_exception(&self, conn: &Arc<Connection>, reason: &str);
    /// The connection closed (peer, error or us); called once, after the last command.
    fn on_close(&self, conn: &Arc<Connection>, reason: &str);
}

/// The reader's staging buffer: one read syscall takes up to this much.
const READ_BUFFER_SIZE: usize = 64 * 1024;
/// Buffers larger than this are released after use instead of kept for the next frame.
const KEEP_BUFFER_CAPACITY: usize = 1024 * 1024;
/// Bodies this large bypass the staging buffer: read straight into the decoder's body.
const DIRECT_READ_THRESHOLD: usize = 16 * 1024;
/// Writers wait while this much is queued behind a blocked socket write.
const WRITE_HIGH_WATER: usize = 4 * 1024 * 1024;
/// The flusher only copies bytes to the socket.
const FLUSHER_STACK_SIZE: usize = 128 * 1024;
/// Bodies smaller than this are copied next to their header and written in one call.
const GATHER_THRESHOLD: usize = 8 * 1024;

/// One TCP connection carrying requests both ways; mirrors a Netty `Channel`.
///
/// Any thread may write; a frame is never interleaved with another. A single reader thread
/// (started by the server or client that owns the connection) reads and dispatches frames.
pub struct Connection {
    id: u64,
    remote_addr: Arc<str>,
    stream: TcpStream,
    writer: Arc<FrameWriter>,
    threads: Arc<ThreadSet>,
    closed: AtomicBool,
    last_active_ms: AtomicU64,
    max_frame: usize,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("remote_addr", &self.remote_addr)
            .finish()
    }
}

impl Connection {
    /// Wraps a connected stream; sets TCP_NODELAY and the write timeout. A flusher thread, if
    /// one is needed, is started in `threads`.
    pub(crate) fn new(
        stream: TcpStream,
        remote_addr: String,
        max_frame: usize,
        write_timeout: Duration,
        threads: Arc<ThreadSet>,
    ) -> io::Result<Arc<Self>> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(write_timeout))?;
        let remote_addr: Arc<str> = remote_addr.into();
        let writer = Arc::new(FrameWriter::new(stream.try_clone()?, remote_addr.clone()));
        Ok(Arc::new(Connection {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote_addr,
            stream,
            writer,
            threads,
            closed: AtomicBool::new(false),
            last_active_ms: AtomicU64::new(monotonic_millis()),
            max_frame,
        }))
    }

    /// A process-unique id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The peer's address as `ip:port` (for a client connection: the address dialled).
    pub fn remote_addr(&self) -> &str {
        &self.remote_addr
    }

    /// The peer's address, shared (futures keep it without copying).
    pub(crate) fn shared_addr(&self) -> Arc<str> {
        Arc::clone(&self.remote_addr)
    }

    /// True once closed by either side.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Time since the last frame was read or written.
    pub(crate) fn idle_for(&self) -> Duration {
        Duration::from_millis(
            monotonic_millis().saturating_sub(self.last_active_ms.load(Ordering::Relaxed)),
        )
    }

    fn touch(&self) {
        self.last_active_ms
            .store(monotonic_millis(), Ordering::Relaxed);
    }

    /// Waits up to `timeout` for queued frames to reach the socket (before a graceful close).
    pub(crate) fn flush(&self, timeout: Duration) {
        self.writer.flush(deadline_after(timeout));
    }

    /// Closes the socket; the reader thread then sees the end and fails pending calls.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
        self.writer.close();
    }

    /// Writes one command as a frame from the calling thread (sync calls, responses).
    /// A write failure closes the connection.
    pub(crate) fn write_command(&self, cmd: &RemotingCommand) -> Result<(), RemotingError> {
        let head = self.encode_checked(cmd)?;
        let result = self.writer.write_now(head, &cmd.body, cmd.opaque);
        self.after_write(result)
    }

    /// Queues one command for the connection's flusher thread (async and oneway calls), so a
    /// burst from one thread leaves in few syscalls. Order with other writes is kept.
    pub(crate) fn write_command_queued(&self, cmd: &RemotingCommand) -> Result<(), RemotingError> {
        let head = self.encode_checked(cmd)?;
        trace_step!(
            "remoting",
            "opaque {}: {} bytes queued for rmq-writer-{}",
            cmd.opaque,
            head.len() + cmd.body.len(),
            self.remote_addr
        );
        let result = match self.writer.write_queued(&head, &cmd.body, cmd.opaque) {
            Ok(Queued::Done) => Ok(()),
            Ok(Queued::StartFlusher) => self.start_flusher(),
            Err(e) => Err(e),
        };
        self.after_write(result)
    }

    fn encode_checked(&self, cmd: &RemotingCommand) -> Result<Vec<u8>, RemotingError> {
        if self.is_closed() {
            return Err(RemotingError::ConnectionClosed {
                addr: self.remote_addr.to_string(),
                reason: "closed before the write".into(),
            });
        }
        let head = cmd.encode_without_body()?;
        let frame_len = head.len() + cmd.body.len();
        if frame_len > self.max_frame {
            return Err(RemotingError::Encode(
                crate::protocol::EncodeError::FrameTooLarge {
                    length: frame_len,
                    max: self.max_frame,
                },
            ));
        }
        self.touch();
        Ok(head)
    }

    fn after_write(&self, result: io::Result<()>) -> Result<(), RemotingError> {
        result.map_err(|e| {
            self.close();
            RemotingError::SendRequest {
                addr: self.remote_addr.to_string(),
                source: Arc::new(e),
            }
        })
    }

    fn start_flusher(&self) -> io::Result<()> {
        let writer = Arc::clone(&self.writer);
        let stream = self.stream.try_clone()?;
        self.threads.spawn(
            format!("rmq-writer-{}", self.remote_addr),
            FLUSHER_STACK_SIZE,
            move || {
                if let Err(e) = writer.flush_loop() {
                    log::warn!("write to {:?} failed: {e}", stream.peer_addr());
                    // The reader sees the shutdown and fails the calls pending on this connection.
                    let _ = stream.shutdown(Shutdown::Both);
                }
            },
        )
    }

    /// Reads frames until the peer closes or misbehaves, handing each to `handler`; then
    /// closes and tells the handler. Runs on the connection's reader thread.
    pub(crate) fn run_reader(self: &Arc<Self>, handler: &dyn ConnectionHandler) {
        let reason = self.read_loop(handler);
        self.close();
        handler.on_close(self, &reason);
    }

    /// Reads the socket into a staging buffer and feeds the bytes to the connection's
    /// [`FrameDecoder`] (the sans-I/O decoder the fuzzer tests); a large body is read straight
    /// into the decoder's body buffer instead, so it is copied once. Returns why it stopped.
    fn read_loop(self: &Arc<Self>, handler: &dyn ConnectionHandler) -> String {
        let mut decoder = FrameDecoder::new(self.max_frame);
        let mut staging = vec![0u8; READ_BUFFER_SIZE];
        let mut stream = &self.stream;
        loop {
            if let Some((body, wanted)) = decoder.body_buffer() {
                if wanted >= DIRECT_READ_THRESHOLD {
                    match stream.take(wanted as u64).read_to_end(body) {
                        Ok(n) if n < wanted => return self.read_error(truncated()),
                        Ok(_) => {}
                        Err(e) => return self.read_error(e),
                    }
                    if let Err(reason) = self.dispatch(&mut decoder, &[], handler) {
                        return reason;
                    }
                    continue;
                }
            }
            let n = match stream.read(&mut staging) {
                Ok(0) if decoder.in_frame() => return self.read_error(truncated()),
                Ok(0) => return "closed by peer".into(),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.read_error(e),
            };
            if let Err(reason) = self.dispatch(&mut decoder, &staging[..n], handler) {
                return reason;
            }
        }
    }

    /// Feeds `bytes` to the decoder and hands every command completed to `handler`; `Err`
    /// with the reason when the bytes do not decode.
    fn dispatch(
        self: &Arc<Self>,
        decoder: &mut FrameDecoder,
        mut bytes: &[u8],
        handler: &dyn ConnectionHandler,
    ) -> Result<(), String> {
        loop {
            match decoder.feed(bytes) {
                Ok((used, command)) => {
                    bytes = &bytes[used..];
                    if let Some(command) = command {
                        self.touch();
                        trace_step!(
                            "remoting",
                            "{} opaque {} read from {} by {}",
                            if command.is_response() {
                                "response"
                            } else {
                                "request"
                            },
                            command.opaque,
                            self.remote_addr,
                            current_thread_name()
                        );
                        handler.on_command(self, command);
                    } else if bytes.is_empty() {
                        return Ok(());
                    }
                }
                Err(e) => {
                    let reason = format!("bad frame from {}: {e}", self.remote_addr);
                    log::warn!("{reason}; closing the connection");
                    handler.on_exception(self, &reason);
                    return Err(reason);
                }
            }
        }
    }

    fn read_error(&self, e: io::Error) -> String {
        if self.is_closed() {
            "closed locally".into()
        } else {
            format!("read failed: {e}")
        }
    }
}

/// The calling thread's name, for trace lines.
pub(crate) fn current_thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("an unnamed thread")
        .to_string()
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "frame truncated")
}

/// Writes frames from many threads without interleaving, coalescing under load.
///
/// A frame written "now" (sync calls, responses) goes straight to the socket from the calling
/// thread when no write is in progress, so a lone caller pays no hand-off. Frames arriving
/// while a write is in progress are appended to a queue, which the writing thread sends next
/// in one syscall. A "queued" frame (async and oneway calls) is only appended, and the
/// connection's flusher thread writes it, so one thread firing requests back to back still
/// gets batched syscalls. Bytes leave in the order they were handed in.
pub(crate) struct FrameWriter {
    stream: TcpStream,
    /// The peer, for trace lines.
    addr: Arc<str>,
    state: Mutex<WriterState>,
    changed: Condvar,
}

#[derive(Default)]
struct WriterState {
    queued: Vec<u8>,
    /// Opaques of the frames in `queued`, kept only while the trace is on.
    queued_opaques: Vec<i32>,
    writing: bool,
    broken: Option<String>,
    closed: bool,
    flusher_started: bool,
}

/// What a queued write asks of its caller.
enum Queued {
    /// The frame is queued and the flusher will write it.
    Done,
    /// The frame is queued; the caller must start the flusher thread.
    StartFlusher,
}

impl FrameWriter {
    fn new(stream: TcpStream, addr: Arc<str>) -> Self {
        FrameWriter {
            stream,
            addr,
            state: Mutex::new(WriterState::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WriterState> {
        self.state.lock_unpoisoned()
    }

    fn broken(state: &WriterState) -> Option<io::Error> {
        state
            .broken
            .as_ref()
            .map(|reason| io::Error::new(io::ErrorKind::BrokenPipe, reason.clone()))
    }

    /// Waits while the queue is over the high-water mark behind a blocked write.
    /// Waits while the queue is over the high-water mark. A frame written now only waits
    /// behind a write in progress; a queued frame also waits for the flusher to catch up, so
    /// a fast sender cannot queue without bound.
    fn wait_for_room<'a>(
        &'a self,
        mut state: MutexGuard<'a, WriterState>,
        queued: bool,
    ) -> io::Result<MutexGuard<'a, WriterState>> {
        loop {
            if let Some(e) = Self::broken(&state) {
                return Err(e);
            }
            if state.closed {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "connection closed",
                ));
            }
            let busy = state.writing || queued;
            if !busy || state.queued.len() < WRITE_HIGH_WATER {
                return Ok(state);
            }
            state = self.changed.wait_unpoisoned(state);
        }
    }

    /// Writes a frame from the calling thread, or queues it behind the write in progress.
    fn write_now(&self, mut head: Vec<u8>, body: &[u8], opaque: i32) -> io::Result<()> {
        let mut state = self.wait_for_room(self.lock(), false)?;
        if state.writing {
            state.queued.extend_from_slice(&head);
            state.queued.extend_from_slice(body);
            if trace::enabled() {
                state.queued_opaques.push(opaque);
            }
            return Ok(());
        }
        state.writing = true;
        let earlier = std::mem::take(&mut state.queued);
        let mut opaques = std::mem::take(&mut state.queued_opaques);
        drop(state);
        let bytes = earlier.len() + head.len() + body.len();
        let result = if !earlier.is_empty() {
            // Queued frames not yet picked up by the flusher go first.
            let mut all = earlier;
            all.extend_from_slice(&head);
            all.extend_from_slice(body);
            head = all;
            (&self.stream).write_all(&head)
        } else if body.len() < GATHER_THRESHOLD {
            head.extend_from_slice(body);
            (&self.stream).write_all(&head)
        } else {
            write_all_two(&self.stream, &head, body)
        };
        if result.is_ok() && trace::enabled() {
            opaques.push(opaque);
            self.trace_written(&opaques, bytes);
        }
        self.drain(self.lock(), head, result).1
    }

    fn trace_written(&self, opaques: &[i32], bytes: usize) {
        trace_step!(
            "remoting",
            "opaque {}: {bytes} bytes written to {} by {}",
            opaques
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.addr,
            current_thread_name()
        );
    }

    /// Appends a frame for the flusher thread.
    fn write_queued(&self, head: &[u8], body: &[u8], opaque: i32) -> io::Result<Queued> {
        let mut state = self.wait_for_room(self.lock(), true)?;
        state.queued.extend_from_slice(head);
        state.queued.extend_from_slice(body);
        if trace::enabled() {
            state.queued_opaques.push(opaque);
        }
        if state.writing {
            return Ok(Queued::Done); // the writer in progress takes it next
        }
        self.changed.notify_all();
        if state.flusher_started {
            Ok(Queued::Done)
        } else {
            state.flusher_started = true;
            Ok(Queued::StartFlusher)
        }
    }

    /// Sends the queue until it is empty; called by the thread that set `writing`.
    fn drain<'a>(
        &'a self,
        mut state: MutexGuard<'a, WriterState>,
        mut batch: Vec<u8>,
        mut result: io::Result<()>,
    ) -> (MutexGuard<'a, WriterState>, io::Result<()>) {
        while result.is_ok() && !state.queued.is_empty() {
            batch.clear();
            std::mem::swap(&mut batch, &mut state.queued);
            let opaques = std::mem::take(&mut state.queued_opaques);
            self.changed.notify_all();
            drop(state);
            result = (&self.stream).write_all(&batch);
            if result.is_ok() && !opaques.is_empty() {
                self.trace_written(&opaques, batch.len());
            }
            state = self.lock();
        }
        state.writing = false;
        if let Err(e) = &result {
            state.broken = Some(e.to_string());
            state.queued = Vec::new();
        }
        // The buffers swap roles; one that grew for a burst is not kept for the connection's life.
        if state.queued.is_empty() && state.queued.capacity() > KEEP_BUFFER_CAPACITY {
            state.queued = Vec::new();
        }
        self.changed.notify_all();
        (state, result)
    }

    /// The flusher thread: writes queued frames until the connection closes.
    fn flush_loop(&self) -> io::Result<()> {
        let mut state = self.lock();
        loop {
            while !state.closed
                && state.broken.is_none()
                && (state.writing || state.queued.is_empty())
            {
                state = self.changed.wait_unpoisoned(state);
            }
            if state.closed || state.broken.is_some() {
                return Ok(());
            }
            state.writing = true;
            let (next, result) = self.drain(state, Vec::new(), Ok(()));
            result?;
            state = next;
        }
    }

    /// Waits until everything queued has been written, at most until `deadline`.
    fn flush(&self, deadline: Instant) {
        let mut state = self.lock();
        while (state.writing || !state.queued.is_empty()) && state.broken.is_none() && !state.closed
        {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            state = self.changed.wait_timeout_unpoisoned(state, deadline - now);
        }
    }

    /// Wakes the flusher so it exits.
    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// `write_all` for two buffers with vectored writes (std's `write_all_vectored` is unstable).
fn write_all_two(mut stream: &TcpStream, mut a: &[u8], mut b: &[u8]) -> io::Result<()> {
    while !a.is_empty() {
        let n = match stream.write_vectored(&[IoSlice::new(a), IoSlice::new(b)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n < a.len() {
            a = &a[n..];
        } else {
            b = &b[n - a.len()..];
            a = &[];
        }
    }
    stream.write_all(b)
}
