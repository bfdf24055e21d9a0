//! Helpers shared by the remoting integration tests.
//!
//! Everything that waits does so with a deadline ([`wait_until`], [`assert_eventually`]); no
//! test sleeps and then asserts. Servers bind `127.0.0.1:0`.

#![allow(dead_code)]

use std::io::{self, BufRead, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::thread;
use std::time::{Duration, Instant};

use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::header::PullMessageResponseHeader;
use rocketmq_blocking::protocol::message::decode_messages;
use rocketmq_blocking::protocol::{
    decode_frame, CommandCustomHeader, RemotingCommand, DEFAULT_MAX_FRAME_LENGTH,
};
use rocketmq_blocking::remoting::{
    ChannelEventListener, ClientConfig, ConnectionEvent, ConnectionEventKind, InvokeResult,
    PoolConfig, ProcessorError, RemotingClient, RemotingServer, RequestContext, ServerConfig,
};

/// Request codes the test servers serve.
pub const ECHO: i32 = 1001;
/// Blocks until the test opens a [`Gate`].
pub const BLOCK: i32 = 1002;
/// The processor returns `Err`.
pub const FAIL: i32 = 1003;
/// The processor panics.
pub const PANIC: i32 = 1004;
/// Counts requests (oneway tests).
pub const COUNT: i32 = 1005;
/// No processor is registered for this code.
pub const UNKNOWN: i32 = 4242;

/// What every processor returns.
pub type ProcResult = Result<Option<RemotingCommand>, ProcessorError>;

/// Turns a closure into a processor with the right higher-ranked signature (closures passed
/// straight to `register_processor` cannot infer it).
pub fn processor<F>(f: F) -> F
where
    F: Fn(&RequestContext, RemotingCommand) -> ProcResult + Send + Sync + 'static,
{
    f
}

/// Logs to stderr when `RMQ_TEST_LOG` is set (e.g. `RMQ_TEST_LOG=debug`).
pub fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Ok(level) = std::env::var("RMQ_TEST_LOG") {
            let level = level.parse().unwrap_or(simplelog::LevelFilter::Debug);
            let _ = simplelog::TermLogger::init(
                level,
                simplelog::Config::default(),
                simplelog::TerminalMode::Stderr,
                simplelog::ColorChoice::Never,
            );
        }
    });
}

// ------------------------------------------------------------------------------ waiting

/// Polls `cond` every 5 ms until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Panics naming `what` unless `cond` holds within `timeout`.
#[track_caller]
pub fn assert_eventually(what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
    assert!(
        wait_until(timeout, cond),
        "timed out after {timeout:?} waiting for {what}"
    );
}

/// Waits until the name server at `name_server` routes `topic` (a topic a send just created
/// is registered by the broker a moment later; a consumer started before that finds no broker
/// to ask, as Java's would).
pub fn wait_for_route(name_server: &str, topic: &str) {
    let admin = rocketmq_blocking::client::MqAdmin::builder()
        .name_server(name_server)
        .start()
        .expect("admin");
    assert_eventually(
        &format!("a route for {topic}"),
        Duration::from_secs(30),
        || admin.examine_topic_route_info(topic).is_ok(),
    );
    admin.shutdown();
}

/// This host's clock, ms since the epoch (as brokers stamp born and store times).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Checks that no call is left waiting in any client or server response table.
#[track_caller]
pub fn assert_no_pending(clients: &[&RemotingClient], servers: &[&RemotingServer]) {
    for (i, c) in clients.iter().enumerate() {
        let what = format!("client #{i} to have no pending requests");
        assert!(
            wait_until(Duration::from_secs(3), || c.pending_requests() == 0),
            "timed out waiting for {what}; still {}",
            c.pending_requests()
        );
    }
    for (i, s) in servers.iter().enumerate() {
        let what = format!("server #{i} to have no pending requests");
        assert!(
            wait_until(Duration::from_secs(3), || s.pending_requests() == 0),
            "timed out waiting for {what}; still {}",
            s.pending_requests()
        );
    }
}

/// A latch a blocking processor waits on; the test opens it. Waits are bounded so that a
/// failing test cannot hang its pool's shutdown forever.
pub struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
    entered: AtomicUsize,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate {
            open: Mutex::new(false),
            cv: Condvar::new(),
            entered: AtomicUsize::new(0),
        })
    }

    /// Blocks until opened (true) or `max` passes (false); counts the threads that entered.
    pub fn wait(&self, max: Duration) -> bool {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + max;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            open = self
                .cv
                .wait_timeout(open, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// How many waits have started.
    pub fn entered(&self) -> usize {
        self.entered.load(Ordering::SeqCst)
    }

    pub fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
}

/// Serialises the tests of one binary that measure process-wide things (RSS, fds, threads).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ------------------------------------------------------------------------------ processors

/// Echoes body and ext fields, adds the header type and code it received; returns a plain
/// `success()` so that the transport must set opaque, flag and header type itself.
pub fn echo(_ctx: &RequestContext, req: RemotingCommand) -> ProcResult {
    let mut resp = RemotingCommand::success();
    for (k, v) in req.ext_fields.iter() {
        resp.ext_fields.insert(k, v);
    }
    resp.ext_fields
        .insert("seen-type", req.serialize_type.name());
    resp.ext_fields.insert("seen-code", req.code.to_string());
    resp.ext_fields
        .insert("seen-oneway", req.is_oneway().to_string());
    resp.body = req.body;
    Ok(Some(resp))
}

// ------------------------------------------------------------------------------ set-up

/// Server defaults on 127.0.0.1:0 with a fast janitor.
pub fn server_config() -> ServerConfig {
    let mut config = ServerConfig::listen("127.0.0.1:0");
    config.common.scan_interval = Duration::from_millis(200);
    config
}

/// Client defaults with a fast janitor.
pub fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.common.scan_interval = Duration::from_millis(200);
    config
}

/// A started server with an ECHO processor.
pub fn echo_server(config: ServerConfig) -> Arc<RemotingServer> {
    init_logging();
    let server = RemotingServer::new(config).expect("bind server");
    server
        .register_processor(ECHO, echo, PoolConfig::default())
        .expect("register echo");
    server.start().expect("start server");
    Arc::new(server)
}

/// The address a client dials to reach `server`.
pub fn addr_of(server: &RemotingServer) -> String {
    server.local_addr().to_string()
}

pub fn client() -> RemotingClient {
    init_logging();
    RemotingClient::new(client_config()).expect("client")
}

/// One ECHO round trip with a unique body; panics unless it is echoed.
#[track_caller]
pub fn echo_ok(client: &RemotingClient, addr: &str) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let body = format!("probe-{}", N.fetch_add(1, Ordering::Relaxed));
    let resp = client
        .invoke_sync(
            Some(addr),
            RemotingCommand::new_request(ECHO).with_body(body.clone()),
            Duration::from_secs(5),
        )
        .expect("echo call");
    assert_eq!(resp.code, response_code::SUCCESS);
    assert_eq!(resp.body, body.as_bytes());
}

/// A port nothing listens on (bound, then released).
pub fn dead_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    addr
}

// ------------------------------------------------------------------------------ callbacks

/// Records every run of an async callback.
#[derive(Default)]
pub struct CallbackProbe {
    pub runs: AtomicUsize,
    pub results: Mutex<Vec<(InvokeResult, Instant)>>,
}

impl CallbackProbe {
    pub fn new() -> Arc<CallbackProbe> {
        Arc::new(CallbackProbe::default())
    }

    pub fn callback(self: &Arc<Self>) -> impl FnOnce(InvokeResult) + Send + 'static {
        let probe = Arc::clone(self);
        move |result| {
            probe.results.lock().unwrap().push((result, Instant::now()));
            probe.runs.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` for the run, then checks it was the only one; returns the
    /// result and when it arrived. (A callback is `FnOnce`, moved into its run: a second run
    /// of the same callback cannot happen; what can go wrong is no run, or a wrong result.)
    #[track_caller]
    pub fn expect_exactly_once(&self, timeout: Duration) -> (InvokeResult, Instant) {
        assert_eventually("the callback to run", timeout, || self.runs() >= 1);
        self.ran_once()
    }

    /// Checks, without waiting, that the callback ran exactly once; returns its result.
    #[track_caller]
    pub fn ran_once(&self) -> (InvokeResult, Instant) {
        assert_eq!(
            self.runs(),
            1,
            "callback did not run exactly once: {:?}",
            self.results.lock().unwrap()
        );
        self.results.lock().unwrap()[0].clone()
    }
}

// ------------------------------------------------------------------------------ events

/// Records connection events.
#[derive(Default)]
pub struct EventLog {
    pub events: Mutex<Vec<ConnectionEvent>>,
}

impl EventLog {
    pub fn new() -> Arc<EventLog> {
        Arc::new(EventLog::default())
    }

    /// The kinds of events seen for `remote_addr`, in order.
    pub fn kinds_for(&self, remote_addr: &str) -> Vec<ConnectionEventKind> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.remote_addr == remote_addr)
            .map(|e| e.kind)
            .collect()
    }

    pub fn all(&self) -> Vec<ConnectionEvent> {
        self.events.lock().unwrap().clone()
    }
}

impl ChannelEventListener for EventLog {
    fn on_event(&self, event: ConnectionEvent) {
        self.events.lock().unwrap().push(event);
    }
}

// ------------------------------------------------------------------------------ raw sockets

/// A raw connection with a 2 s read timeout.
pub fn raw_connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("raw connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Reads one whole frame and decodes it.
pub fn read_command(stream: &mut TcpStream) -> io::Result<RemotingCommand> {
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix)?;
    let len = i32::from_be_bytes(prefix);
    if len < 4 || len as usize + 4 > DEFAULT_MAX_FRAME_LENGTH {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad length {len}"),
        ));
    }
    let mut frame = vec![0u8; len as usize];
    stream.read_exact(&mut frame)?;
    decode_frame(&frame).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

/// Panics unless the peer closes `stream` within `within` without sending anything.
#[track_caller]
pub fn expect_closed_by_peer(stream: &mut TcpStream, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{what}: the server did not close the connection within {within:?}"
        );
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => panic!(
                "{what}: the server sent {n} bytes instead of closing: {:?}",
                &buf[..n]
            ),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                ) =>
            {
                return
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                panic!("{what}: the server did not close the connection within {within:?}")
            }
            Err(e) => panic!("{what}: unexpected read error {e}"),
        }
    }
}

// ------------------------------------------------------------------------------ /proc

/// A `kB` field of /proc/self/status, in bytes.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resident set size in bytes.
pub fn rss_bytes() -> u64 {
    status_kb("VmRSS:") * 1024
}

/// The peak resident set size since the last [`reset_peak_rss`], in bytes.
pub fn peak_rss_bytes() -> u64 {
    status_kb("VmHWM:") * 1024
}

/// Resets the peak RSS to the current RSS (Linux: `5` into /proc/self/clear_refs).
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

/// Virtual size in bytes.
pub fn vm_size_bytes() -> u64 {
    status_kb("VmSize:") * 1024
}

/// Threads in this process.
pub fn thread_count() -> u64 {
    status_kb("Threads:")
}

/// Open file descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

// ------------------------------------------------------------------------------ panics

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Installs (once) a panic hook that counts panics on any thread, then reports as usual.
pub fn count_panics() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

/// Panics counted since [`count_panics`].
pub fn panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// An example binary beside the test binaries (`target/<profile>/examples/<name>`); `cargo
/// test` builds the examples before it runs the tests.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join(name))
        .expect("target directory");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples (or run `cargo build --examples`)",
        path.display()
    );
    path
}

/// The broker example, started with `args` (stdin closed, logs dropped), killed when
/// dropped; its address is what it announced (`listening on <ip:port>`).
pub struct BrokerExample {
    child: std::process::Child,
    pub addr: String,
}

impl BrokerExample {
    pub fn start(args: &[&str]) -> BrokerExample {
        let child = std::process::Command::new(example_binary("broker"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the broker example");
        // Killed on every path from here.
        let mut broker = BrokerExample {
            child,
            addr: String::new(),
        };
        broker.addr = announced_addr(&mut broker.child);
        broker
    }
}

impl Drop for BrokerExample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reference name server and broker on loopback ports, with a scratch store that goes with
/// them; the broker's builder can be adjusted (delay levels, ACL table, ...).
#[cfg(feature = "servers")]
pub struct Servers {
    pub namesrv: rocketmq_blocking::namesrv::NameServer,
    pub broker: rocketmq_blocking::broker::Broker,
    pub dir: std::path::PathBuf,
}

#[cfg(feature = "servers")]
impl Servers {
    /// Starts both; `adjust` gets the broker's builder (listening, registered, its store in
    /// `dir/store`) and the scratch directory.
    pub fn start(
        name: &str,
        adjust: impl FnOnce(
            rocketmq_blocking::broker::BrokerBuilder,
            &std::path::Path,
        ) -> rocketmq_blocking::broker::BrokerBuilder,
    ) -> Servers {
        init_logging();
        let dir = std::env::temp_dir().join(format!("rmq-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let namesrv = rocketmq_blocking::namesrv::NameServer::builder()
            .listen("127.0.0.1:0")
            .start()
            .expect("name server");
        let builder = rocketmq_blocking::broker::Broker::builder()
            .listen("127.0.0.1:0")
            .store_dir(dir.join("store"))
            .name_server(&namesrv.local_addr().to_string())
            .register_interval(Duration::from_secs(5));
        let broker = adjust(builder, &dir).start().expect("broker");
        Servers {
            namesrv,
            broker,
            dir,
        }
    }

    /// The name server's `ip:port`.
    pub fn ns(&self) -> String {
        self.namesrv.local_addr().to_string()
    }
}

#[cfg(feature = "servers")]
impl Drop for Servers {
    fn drop(&mut self) {
        self.broker.shutdown();
        self.namesrv.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs an example binary to its end, stdin closed; returns its exit code and stdout lines
/// (its stderr is shown when it fails).
pub fn run_example(name: &str, args: &[&str]) -> (i32, Vec<String>) {
    let output = std::process::Command::new(example_binary(name))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    if !output.status.success() {
        eprintln!(
            "{name} stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (output.status.code().unwrap_or(-1), lines)
}

/// A fresh directory path under the system's temp directory (created only for `created`),
/// removed with everything in it when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// `rmq-<tag>-<pid>-<nanos>`, not created.
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        TempDir(std::env::temp_dir().join(format!("rmq-{tag}-{}-{nanos}", std::process::id())))
    }

    /// [`TempDir::new`], created.
    pub fn created(tag: &str) -> TempDir {
        let dir = TempDir::new(tag);
        std::fs::create_dir_all(&dir.0).expect("create a temp dir");
        dir
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A reference broker on a loopback port storing in `store`, as `configure` adjusts its
/// builder; registered with no name server.
#[cfg(feature = "servers")]
pub fn start_broker(
    store: &TempDir,
    configure: impl FnOnce(
        rocketmq_blocking::broker::BrokerBuilder,
    ) -> rocketmq_blocking::broker::BrokerBuilder,
) -> rocketmq_blocking::broker::Broker {
    init_logging();
    configure(
        rocketmq_blocking::broker::Broker::builder()
            .listen("127.0.0.1:0")
            .store_dir(&store.0),
    )
    .start()
    .expect("broker")
}

// ------------------------------------------------------------------------------ raw broker calls

/// SEND_MESSAGE_V2 and PULL_MESSAGE built by hand, as the broker benchmarks build theirs.
#[path = "../../examples/common/broker_requests.rs"]
pub mod raw;

/// Every message of queue `queue_id` of `topic` from offset `from` on, as (queue offset, body):
/// `group` pulls until the broker has nothing more.
pub fn pull_bodies(
    client: &RemotingClient,
    addr: &str,
    group: &str,
    topic: &str,
    queue_id: i32,
    from: i64,
) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = from;
    loop {
        let request = raw::pull_request(&raw::pull_header(group, topic, queue_id, offset));
        let response = client
            .invoke_sync(Some(addr), request, Duration::from_secs(5))
            .expect("pull");
        if response.code != response_code::SUCCESS {
            return out;
        }
        let header =
            PullMessageResponseHeader::read_from(&response.ext_fields).expect("pull header");
        for m in decode_messages(&response.body, true).expect("stored messages decode") {
            out.push((
                m.queue_offset,
                String::from_utf8(m.body.into_vec()).expect("utf-8 body"),
            ));
        }
        offset = header.next_begin_offset;
    }
}

/// Reads a broker process's stdout up to its line `listening on <ip:port>` (a child test
/// binary's comes after libtest's `test <name> ... `); returns the address.
pub fn announced_addr(child: &mut std::process::Child) -> String {
    let stdout = child.stdout.take().expect("the broker's stdout is piped");
    for line in io::BufReader::new(stdout).lines() {
        let line = line.expect("read the broker's stdout");
        if let Some((_, addr)) = line.split_once("listening on ") {
            return addr.trim().to_string();
        }
    }
    panic!("the broker ended its output without printing its address")
}

/// Runs the ignored test `name` of this test binary alone in a child process, with `envs`: a
/// broker that a test can kill. Returns the child and the address it announced.
pub fn spawn_test_child<K, V>(
    name: &str,
    envs: impl IntoIterator<Item = (K, V)>,
) -> (std::process::Child, String)
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            name,
            "--include-ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .envs(envs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the child broker");
    let addr = announced_addr(&mut child);
    (child, addr)
}

/// The answer has `code`; its remark is shown when not.
#[track_caller]
pub fn assert_code(response: &RemotingCommand, code: i32) {
    assert_eq!(response.code, code, "remark: {:?}", response.remark);
}
