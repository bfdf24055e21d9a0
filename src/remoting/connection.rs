//! `Connection`: one TCP connection (one socket, one file descriptor, plain or TLS), its
//! outbound queue and its reader loop.

use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::CommonConfig;
use super::error::RemotingError;
use super::frame_writer::{
    Accepted, FrameWriter, Handover, WhenFull, WriteRefused, DIRECT_WRITE_PATIENCE,
};
use super::permits::{BudgetCharge, ByteBudget};
use super::socket::{is_timeout, TLS_HANDSHAKE_BYTE};
use super::stream::Stream;
use super::threads::ThreadSet;
use crate::common::clock::{deadline_after, monotonic_millis};
use crate::common::trace::{self, trace_event, Step};
use crate::protocol::{FrameDecoder, RemotingCommand};

/// Why a connection ended when this side closed it: pending calls fail with this reason, so
/// that a caller can tell its own close from the peer's.
pub(crate) const CLOSED_LOCALLY: &str = "closed locally";

/// What a connection's reader thread hands its frames and its end to.
pub(crate) trait ConnectionHandler: Send + Sync {
    /// A whole command arrived.
    fn on_command(&self, conn: &Arc<Connection>, cmd: RemotingCommand);
    /// The peer sent bytes that do not decode; the connection closes next.
    fn on_exception(&self, conn: &Arc<Connection>, reason: &str);
    /// The connection closed (peer, error or us); called once, after the last command.
    fn on_close(&self, conn: &Arc<Connection>, reason: &str);
}

/// The reader's staging buffer starts this small (an idle connection costs little)...
const READ_BUFFER_INITIAL: usize = 4 * 1024;
/// ...and grows, each time a read fills it, up to this much per read syscall.
const READ_BUFFER_MAX: usize = 64 * 1024;
/// Bodies this large bypass the staging buffer: read straight into the decoder's body.
const DIRECT_READ_THRESHOLD: usize = 16 * 1024;
/// Frames up to this size are not counted against the frame memory budget (see
/// [`CommonConfig::frame_memory_budget`]).
const UNCOUNTED_FRAME_SIZE: usize = 64 * 1024;
/// How often a reader waiting for frame memory checks whether its peer gave up.
const BUDGET_WAIT_STEP: Duration = Duration::from_millis(100);
/// How long that check waits for the socket.
const PEEK_TIMEOUT: Duration = Duration::from_millis(1);
/// The writer thread only copies bytes to the socket...
const WRITER_STACK_SIZE: usize = 64 * 1024;
/// ...or, for TLS, encrypts them too (rustls and ring want more stack than a copy).
const TLS_WRITER_STACK_SIZE: usize = 256 * 1024;

/// What every connection of one server or client shares: its limits and its frame budget.
pub(crate) struct ConnectionSettings {
    pub(crate) max_frame: usize,
    pub(crate) max_ext_fields: usize,
    pub(crate) write_timeout: Duration,
    pub(crate) outbound_queue_limit: usize,
    pub(crate) frame_deadline: Duration,
    pub(crate) frame_budget: Arc<ByteBudget>,
    pub(crate) threads: Arc<ThreadSet>,
}

impl ConnectionSettings {
    pub(crate) fn new(config: &CommonConfig, threads: Arc<ThreadSet>) -> Arc<Self> {
        Arc::new(ConnectionSettings {
            max_frame: config.max_frame_length,
            max_ext_fields: config.max_ext_fields,
            write_timeout: config.write_timeout,
            outbound_queue_limit: config.outbound_queue_limit,
            frame_deadline: config.frame_deadline,
            frame_budget: ByteBudget::new(config.frame_memory_budget),
            threads,
        })
    }
}

/// One TCP connection carrying requests both ways; mirrors a Netty `Channel`.
///
/// Any thread may write; a frame is never interleaved with another, and no thread but the
/// connection's own writer ever waits on a slow peer. A single reader thread (started by the
/// server or client that owns the connection) reads and dispatches frames. Reader and writer
/// share the one socket (plain, or one TLS session over it), so a connection costs one file
/// descriptor.
pub struct Connection {
    id: u64,
    remote_addr: Arc<str>,
    stream: Stream,
    writer: FrameWriter,
    settings: Arc<ConnectionSettings>,
    closed: AtomicBool,
    last_active_ms: AtomicU64,
    /// When the frame being read began (monotonic ms, 0 between frames); the janitor closes
    /// a connection whose frame is overdue.
    frame_began_ms: AtomicU64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("remote_addr", &self.remote_addr)
            .field("tls", &self.stream.is_tls())
            .finish()
    }
}

impl Connection {
    /// Wraps a connected stream; sets TCP_NODELAY and the short write timeout direct writers
    /// use. A writer thread, if one is needed, is started in the settings' thread set.
    pub(crate) fn new(
        stream: Stream,
        remote_addr: String,
        settings: Arc<ConnectionSettings>,
    ) -> io::Result<Arc<Self>> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        stream.tcp().set_nodelay(true)?;
        stream
            .tcp()
            .set_write_timeout(Some(DIRECT_WRITE_PATIENCE))?;
        let remote_addr: Arc<str> = remote_addr.into();
        let writer = FrameWriter::new(
            remote_addr.clone(),
            settings.outbound_queue_limit,
            settings.write_timeout,
        );
        Ok(Arc::new(Connection {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote_addr,
            stream,
            writer,
            settings,
            closed: AtomicBool::new(false),
            last_active_ms: AtomicU64::new(monotonic_millis()),
            frame_began_ms: AtomicU64::new(0),
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

    /// True when the connection speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Time since the last frame was read or written.
    pub(crate) fn idle_for(&self) -> Duration {
        Duration::from_millis(
            monotonic_millis().saturating_sub(self.last_active_ms.load(Ordering::Relaxed)),
        )
    }

    /// How long the frame being read has been arriving, if one is.
    pub(crate) fn frame_in_progress_for(&self) -> Option<Duration> {
        match self.frame_began_ms.load(Ordering::Relaxed) {
            0 => None,
            began => Some(Duration::from_millis(
                monotonic_millis().saturating_sub(began),
            )),
        }
    }

    fn touch(&self) {
        self.last_active_ms
            .store(monotonic_millis(), Ordering::Relaxed);
    }

    /// Waits up to `timeout` for queued frames to reach the socket (before a graceful close).
    pub(crate) fn flush(self: &Arc<Self>, timeout: Duration) {
        self.kick_writer();
        self.writer.flush(&self.stream, deadline_after(timeout));
    }

    /// Output the stream holds (TLS: encrypted but not yet sent, or made by the session
    /// itself) gets a writer.
    fn kick_writer(self: &Arc<Self>) {
        if self.stream.has_pending_output()
            && self.writer.kick(&self.stream) == Accepted::StartWriter
        {
            let _ = self.start_writer(); // on failure it closes the connection
        }
    }

    /// Closes the socket; the reader thread then sees the end and fails pending calls.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
        self.writer.close();
    }

    /// Writes one command as a frame from the calling thread when the socket takes it at once
    /// (sync calls, responses); otherwise queues it for the connection's writer thread.
    pub(crate) fn write_command(
        self: &Arc<Self>,
        cmd: &RemotingCommand,
        when_full: WhenFull,
    ) -> Result<(), RemotingError> {
        self.write(cmd, Handover::Direct, when_full)
    }

    /// Queues one command for the connection's writer thread (async and oneway calls, late
    /// answers), so a burst from one thread leaves in few syscalls. Order with other writes
    /// is kept.
    pub(crate) fn write_command_queued(
        self: &Arc<Self>,
        cmd: &RemotingCommand,
        when_full: WhenFull,
    ) -> Result<(), RemotingError> {
        trace_event!(
            "remoting",
            Step::Queue,
            Some(cmd.opaque),
            None;
            "opaque {}: queued for rmq-writer-{}",
            cmd.opaque,
            self.remote_addr
        );
        self.write(cmd, Handover::Queued, when_full)
    }

    fn write(
        self: &Arc<Self>,
        cmd: &RemotingCommand,
        handover: Handover,
        when_full: WhenFull,
    ) -> Result<(), RemotingError> {
        let head = self.encode_checked(cmd)?;
        let accepted = self.writer.write(
            &self.stream,
            head,
            &cmd.body,
            cmd.opaque,
            handover,
            when_full,
        );
        match accepted {
            Ok(Accepted::Done) => Ok(()),
            Ok(Accepted::StartWriter) => self.start_writer(),
            Err(refused) => Err(self.refused(refused, when_full)),
        }
    }

    fn encode_checked(&self, cmd: &RemotingCommand) -> Result<Vec<u8>, RemotingError> {
        if self.is_closed() {
            return Err(self.closed_error("closed before the write"));
        }
        let head = cmd.encode_without_body()?;
        let frame_len = head.len() + cmd.body.len();
        if frame_len > self.settings.max_frame {
            return Err(RemotingError::Encode(
                crate::protocol::EncodeError::FrameTooLarge {
                    length: frame_len,
                    max: self.settings.max_frame,
                },
            ));
        }
        self.touch();
        Ok(head)
    }

    /// Turns a refused write into the caller's error, closing the connection when it cannot
    /// carry on.
    fn refused(&self, refused: WriteRefused, when_full: WhenFull) -> RemotingError {
        match refused {
            WriteRefused::Closed => self.closed_error("closed before the write"),
            WriteRefused::Broken(reason) => {
                self.close();
                self.send_error(io::Error::new(io::ErrorKind::BrokenPipe, reason))
            }
            WriteRefused::Io(e) => {
                self.close();
                self.send_error(e)
            }
            WriteRefused::Overflow { queued } => {
                let reason = format!(
                    "{queued} bytes queued that the peer has not read, over the {}-byte \
                     outbound limit",
                    self.settings.outbound_queue_limit
                );
                log::warn!("closing the connection to {}: {reason}", self.remote_addr);
                self.close();
                self.closed_error(&reason)
            }
            WriteRefused::NoRoom => RemotingError::Timeout {
                addr: self.remote_addr.to_string(),
                timeout: match when_full {
                    WhenFull::Wait { deadline } => {
                        deadline.saturating_duration_since(Instant::now())
                    }
                    WhenFull::Close => Duration::ZERO,
                },
            },
        }
    }

    fn closed_error(&self, reason: &str) -> RemotingError {
        RemotingError::ConnectionClosed {
            addr: self.remote_addr.to_string(),
            reason: reason.to_string(),
        }
    }

    fn send_error(&self, e: io::Error) -> RemotingError {
        RemotingError::SendRequest {
            addr: self.remote_addr.to_string(),
            source: Arc::new(e),
        }
    }

    /// Starts `rmq-writer-<addr>`, which sends what the queue holds until the connection
    /// closes; a peer that takes no bytes for the write timeout breaks the connection.
    fn start_writer(self: &Arc<Self>) -> Result<(), RemotingError> {
        let conn = Arc::clone(self);
        let spawned = self.settings.threads.spawn(
            format!("rmq-writer-{}", self.remote_addr),
            if self.stream.is_tls() {
                TLS_WRITER_STACK_SIZE
            } else {
                WRITER_STACK_SIZE
            },
            move || {
                if let Err(e) = conn.writer.writer_loop(&conn.stream) {
                    log::warn!("closing the connection to {}: {e}", conn.remote_addr);
                    conn.close(); // the reader sees it and fails the calls pending here
                }
            },
        );
        spawned.map_err(|e| {
            self.close();
            RemotingError::io(
                format!("start the writer thread for {}", self.remote_addr),
                e,
            )
        })
    }

    /// Reads frames until the peer closes or misbehaves, handing each to `handler`; then
    /// closes and tells the handler. Runs on the connection's reader thread.
    pub(crate) fn run_reader(self: &Arc<Self>, handler: &dyn ConnectionHandler) {
        let reason = self.read_loop(handler);
        self.frame_began_ms.store(0, Ordering::Relaxed);
        self.close();
        handler.on_close(self, &reason);
    }

    /// Reads the socket into a staging buffer and feeds the bytes to the connection's
    /// [`FrameDecoder`] (the sans-I/O decoder the fuzzer tests); a large body is read straight
    /// into the decoder's body buffer instead, so it is copied once. Returns why it stopped.
    fn read_loop(self: &Arc<Self>, handler: &dyn ConnectionHandler) -> String {
        let mut decoder = FrameDecoder::new(self.settings.max_frame)
            .with_max_ext_fields(self.settings.max_ext_fields);
        let mut staging = vec![0u8; READ_BUFFER_INITIAL];
        let mut frame = FrameInProgress::default();
        let mut stream = self.stream.reader();
        let mut first_read = true;
        loop {
            if let Some((body, wanted)) = decoder.body_buffer() {
                if wanted >= DIRECT_READ_THRESHOLD {
                    let read = (&mut stream).take(wanted as u64).read_to_end(body);
                    self.kick_writer();
                    match read {
                        Ok(n) if n < wanted => return self.read_error(truncated()),
                        Ok(_) => {}
                        Err(e) => return self.read_error(e),
                    }
                    if let Err(reason) = self.dispatch(&mut decoder, &[], handler) {
                        return reason;
                    }
                    if let Err(reason) = self.track_frame(&decoder, &mut frame) {
                        return reason;
                    }
                    continue;
                }
            }
            let read = stream.read(&mut staging);
            self.kick_writer();
            let n = match read {
                Ok(0) if decoder.in_frame() => return self.read_error(truncated()),
                // Our own close ends the read as the peer's would: say which it was.
                Ok(0) if self.is_closed() => return CLOSED_LOCALLY.into(),
                Ok(0) => return "closed by peer".into(),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.read_error(e),
            };
            if std::mem::take(&mut first_read)
                && staging[0] == TLS_HANDSHAKE_BYTE
                && !self.stream.is_tls()
                && self.settings.max_frame < 0x1600_0000
            {
                // Not a frame (it would announce 352 MiB): a TLS handshake, say so.
                let reason = format!(
                    "{} started a TLS handshake on a plain connection (TLS is disabled here)",
                    self.remote_addr
                );
                log::warn!("{reason}; closing the connection");
                handler.on_exception(self, &reason);
                return reason;
            }
            if let Err(reason) = self.dispatch(&mut decoder, &staging[..n], handler) {
                return reason;
            }
            if let Err(reason) = self.track_frame(&decoder, &mut frame) {
                return reason;
            }
            if n == staging.len() && staging.len() < READ_BUFFER_MAX {
                // A busy connection: bigger reads, fewer syscalls.
                staging.resize(staging.len() * 4, 0);
            }
        }
    }

    /// After each read: notes when a frame left incomplete began (the janitor enforces the
    /// frame deadline) and counts a large one against the frame memory budget before any
    /// more of it is read, waiting for room at most until its deadline.
    fn track_frame(
        &self,
        decoder: &FrameDecoder,
        frame: &mut FrameInProgress,
    ) -> Result<(), String> {
        if !decoder.in_frame() {
            if frame.began.take().is_some() {
                self.frame_began_ms.store(0, Ordering::Relaxed);
            }
            frame.charge = None;
            return Ok(());
        }
        let seq = decoder.frames_decoded();
        if frame.began.is_none_or(|(began_seq, _)| began_seq != seq) {
            let now = Instant::now();
            frame.began = Some((seq, now));
            frame.charge = None;
            self.frame_began_ms
                .store(monotonic_millis().max(1), Ordering::Relaxed);
        }
        let (Some(announced), None) = (decoder.announced_length(), &frame.charge) else {
            return Ok(());
        };
        if announced <= UNCOUNTED_FRAME_SIZE {
            return Ok(());
        }
        let budget = &self.settings.frame_budget;
        let began = frame.began.map_or_else(Instant::now, |(_, at)| at);
        let deadline = began + self.settings.frame_deadline;
        loop {
            // Waits in short steps, so that a peer that gives up meanwhile is noticed.
            let step = deadline.min(Instant::now() + BUDGET_WAIT_STEP);
            if let Some(charge) = budget.charge(announced, step) {
                frame.charge = Some(charge);
                return Ok(());
            }
            if self.is_closed() {
                return Err(CLOSED_LOCALLY.into());
            }
            if self.peer_has_closed() {
                return Err("closed by peer while its frame waited for memory".into());
            }
            if Instant::now() >= deadline {
                let reason = format!(
                    "a frame of {announced} bytes found no room in the {}-byte frame memory \
                     budget within its {} ms deadline",
                    budget.limit(),
                    self.settings.frame_deadline.as_millis()
                );
                log::warn!("closing the connection from {}: {reason}", self.remote_addr);
                return Err(reason);
            }
        }
    }

    /// True when the peer has closed its side and sent nothing more (a reader that is not
    /// reading cannot otherwise tell). Only the reader thread calls it: it alone reads.
    fn peer_has_closed(&self) -> bool {
        let mut probe = [0u8; 1];
        let tcp = self.stream.tcp();
        if tcp.set_read_timeout(Some(PEEK_TIMEOUT)).is_err() {
            return true;
        }
        let closed = match tcp.peek(&mut probe) {
            Ok(n) => n == 0,
            Err(e) => !is_timeout(&e),
        };
        let _ = tcp.set_read_timeout(None);
        closed
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
                        trace_event!(
                            "remoting",
                            Step::Read,
                            Some(command.opaque),
                            None;
                            "{} opaque {} read from {} by {}",
                            if command.is_response() {
                                "response"
                            } else {
                                "request"
                            },
                            command.opaque,
                            self.remote_addr,
                            trace::thread_name()
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
            CLOSED_LOCALLY.into()
        } else {
            format!("read failed: {e}")
        }
    }
}

/// The frame a reader is in the middle of: which one (by the decoder's count), since when,
/// and its charge on the frame memory budget (given back when it is dropped).
#[derive(Default)]
struct FrameInProgress {
    began: Option<(u64, Instant)>,
    charge: Option<BudgetCharge>,
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "frame truncated")
}
