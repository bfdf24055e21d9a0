//! Name-server discovery: the address service URL and one HTTP/1.1 GET of the
//! `host:port;host:port` list it serves; mirrors Java's `TopAddressing` and
//! `MixAll.getWSAddr`.
//!
//! Only `http://` is spoken (as Java's default URL uses); the GET is written here on a
//! `TcpStream` rather than pulling in an HTTP crate: one request, `Connection: close`, a status
//! line that must say 200, a body framed by `Content-Length`, chunks or the end of the
//! stream, and never more than [`MAX_BODY`] bytes kept whatever the peer claims.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::address::parse_address_list;
use crate::common::sync::MutexExt;

/// The environment variable naming the address service's host (`host` or `host:port`);
/// Java's system property `rocketmq.namesrv.domain`.
pub const NAMESRV_DOMAIN_ENV: &str = "ROCKETMQ_NAMESRV_DOMAIN";

/// The environment variable naming the address service's subgroup (the last path segment);
/// Java's system property `rocketmq.namesrv.domain.subgroup`.
pub const NAMESRV_DOMAIN_SUBGROUP_ENV: &str = "ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP";

/// The address service host when [`NAMESRV_DOMAIN_ENV`] is unset (Java's
/// `DEFAULT_NAMESRV_ADDR_LOOKUP`).
pub const DEFAULT_NAMESRV_DOMAIN: &str = "jmenv.tbsite.net";

/// The subgroup when [`NAMESRV_DOMAIN_SUBGROUP_ENV`] is unset.
pub const DEFAULT_NAMESRV_DOMAIN_SUBGROUP: &str = "nsaddr";

/// The most body bytes kept: a name server list is a few hundred bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The most bytes of status line and headers kept.
const MAX_HEAD: usize = 16 * 1024;

/// The most raw bytes read: body, head, and chunk framing (tiny chunks may double a body).
const MAX_RAW: usize = MAX_HEAD + 2 * MAX_BODY;

/// `http://<domain>:8080/rocketmq/<subgroup>`, or without `:8080` when the domain has its
/// own port (`MixAll.getWSAddr`).
pub(crate) fn ws_addr(domain: &str, subgroup: &str) -> String {
    if domain.contains(':') {
        format!("http://{domain}/rocketmq/{subgroup}")
    } else {
        format!("http://{domain}:8080/rocketmq/{subgroup}")
    }
}

/// [`ws_addr`] of [`NAMESRV_DOMAIN_ENV`] and [`NAMESRV_DOMAIN_SUBGROUP_ENV`], else of the
/// defaults (a blank variable counts as unset).
pub(crate) fn ws_addr_from_env() -> String {
    let read = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    ws_addr(
        &read(NAMESRV_DOMAIN_ENV, DEFAULT_NAMESRV_DOMAIN),
        &read(NAMESRV_DOMAIN_SUBGROUP_ENV, DEFAULT_NAMESRV_DOMAIN_SUBGROUP),
    )
}

/// The URL asked for a unit: `<url>-<unit>?nofix=1` (`TopAddressing.fetchNSAddr`).
pub(crate) fn with_unit(url: &str, unit: Option<&str>) -> String {
    match unit.map(str::trim).filter(|u| !u.is_empty()) {
        Some(unit) => format!("{url}-{unit}?nofix=1"),
        None => url.to_string(),
    }
}

/// An `http://` URL cut into what the request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    /// Host as written, IPv6 without brackets.
    pub(crate) host: String,
    /// Port (80 when absent).
    pub(crate) port: u16,
    /// `Host` header value, as written in the URL.
    pub(crate) authority: String,
    /// Path and query (`/` when absent).
    pub(crate) target: String,
}

/// Parses `http://host[:port][/path][?query]`; anything else (https, user info, a fragment,
/// blanks) is refused with the reason.
pub(crate) fn parse_http_url(url: &str) -> Result<HttpUrl, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            "https is not supported; the address service must be http://".into()
        } else {
            "expected http://host[:port]/path".into()
        });
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
        return Err("blanks, control characters and fragments are not allowed".into());
    }
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    if authority.contains('@') {
        return Err("user info in the URL is not supported".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("unclosed [ in the host")?;
        match after {
            "" => (host, None),
            p => (
                host,
                Some(p.strip_prefix(':').ok_or("expected :port after ]")?),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || (host.contains(':') && !authority.starts_with('[')) {
        return Err("expected http://host[:port]/path".into());
    }
    let port = match port {
        None => 80,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("bad port {p:?}")),
        },
    };
    Ok(HttpUrl {
        host: host.to_string(),
        port,
        authority: authority.to_string(),
        target,
    })
}

/// Lets a shutdown cut short a GET in flight: the stream being read is shut down, and no
/// GET starts after.
#[derive(Debug, Default)]
pub(crate) struct FetchAbort {
    aborted: AtomicBool,
    stream: Mutex<Option<TcpStream>>,
}

impl FetchAbort {
    /// Ends the GET in flight, if any, and every later one at once.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        if let Some(stream) = self.stream.lock_unpoisoned().take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Keeps a handle on `stream` for [`FetchAbort::abort`]; false when already aborted.
    fn register(&self, stream: &TcpStream) -> bool {
        let mut slot = self.stream.lock_unpoisoned();
        // Checked under the lock: an abort either sees this stream or is seen here.
        if self.is_aborted() {
            return false;
        }
        *slot = stream.try_clone().ok();
        true
    }

    fn unregister(&self) {
        self.stream.lock_unpoisoned().take();
    }
}

/// Fetches the name server list from `url` within `timeout` (`fetchNSAddr`): the body is
/// trimmed and cut at its first line break, as Java does, then parsed as `host:port;...`. An
/// empty or unparsable list is an error: the caller keeps the list it has.
pub(crate) fn fetch_name_server_list(
    url: &str,
    timeout: Duration,
    abort: Option<&FetchAbort>,
) -> Result<Vec<String>, String> {
    let parsed = parse_http_url(url)?;
    let body = http_get(&parsed, timeout, abort)?;
    parse_name_server_list(&body)
}

/// The list in an address service's answer (`clearNewLine`, then split on `;`).
pub(crate) fn parse_name_server_list(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_string())?;
    let text = text.trim();
    let first_line = text.split(['\r', '\n']).next().unwrap_or_default();
    let addrs = parse_address_list(first_line).map_err(|e| format!("bad list: {e}"))?;
    if addrs.is_empty() {
        return Err("the answer holds no address".into());
    }
    Ok(addrs)
}

/// One GET of `url`, all of it (resolve, connect, write, read) within `timeout` except the
/// name lookup, which the system resolver bounds; the body of a 200 answer.
pub(crate) fn http_get(
    url: &HttpUrl,
    timeout: Duration,
    abort: Option<&FetchAbort>,
) -> Result<Vec<u8>, String> {
    if abort.is_some_and(FetchAbort::is_aborted) {
        return Err("the client is shutting down".into());
    }
    let deadline = Instant::now() + timeout;
    let left = || {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(format!("no answer within {} ms", timeout.as_millis()))
        } else {
            Ok(left)
        }
    };
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .collect();
    let mut last_error = format!("{} resolves to no address", url.host);
    let mut connected = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, left()?) {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(e) => last_error = format!("connect to {addr} failed: {e}"),
        }
    }
    let mut stream = connected.ok_or(last_error)?;
    if abort.is_some_and(|a| !a.register(&stream)) {
        return Err("the client is shutting down".into());
    }
    let result = exchange(&mut stream, url, left);
    if let Some(abort) = abort {
        abort.unregister();
        if abort.is_aborted() {
            return Err("the client is shutting down".into());
        }
    }
    result
}

/// Writes the request and reads the answer on a connected stream.
fn exchange(
    stream: &mut TcpStream,
    url: &HttpUrl,
    left: impl Fn() -> Result<Duration, String>,
) -> Result<Vec<u8>, String> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rocketmq-blocking\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        url.target, url.authority
    );
    let io = |what: &str, e: std::io::Error| format!("{what} failed: {e}");
    stream
        .set_write_timeout(Some(left()?))
        .map_err(|e| io("set a timeout", e))?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| io("sending the request", e))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(response) = parse_response(&raw, false)? {
            return Ok(response);
        }
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| io("set a timeout", e))?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                // Report the deadline, not the OS's word for it.
                left()?;
                return Err(io("reading the answer", e));
            }
            Err(e) => return Err(io("reading the answer", e)),
        };
        if n == 0 {
            return parse_response(&raw, true)?
                .ok_or_else(|| "the connection closed mid-answer".to_string());
        }
        if raw.len() + n > MAX_RAW {
            return Err(format!("the answer is over {} KiB", MAX_RAW / 1024));
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

/// How a body is framed.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// The body of a complete 200 answer in `raw`; None while more bytes are needed (`eof`: no
/// more will come). Any other status, a malformed head or a body over [`MAX_BODY`] is an
/// error, found as soon as the bytes show it.
pub(crate) fn parse_response(raw: &[u8], eof: bool) -> Result<Option<Vec<u8>>, String> {
    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        if raw.len() > MAX_HEAD {
            return Err(format!("the headers are over {} KiB", MAX_HEAD / 1024));
        }
        return if eof {
            Err("the connection closed before the headers ended".into())
        } else {
            Ok(None)
        };
    };
    if head_end > MAX_HEAD {
        return Err(format!("the headers are over {} KiB", MAX_HEAD / 1024));
    }
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "the headers are not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(format!("not an HTTP/1.x status line: {status_line:.80?}"));
    }
    match code.map(str::parse::<u16>) {
        Some(Ok(200)) => {}
        Some(Ok(code)) => {
            let reason = parts.next().unwrap_or_default();
            return Err(format!("status {code} {reason:.80}"));
        }
        _ => return Err(format!("bad status line: {status_line:.80?}")),
    }
    let mut framing = Framing::UntilClose;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line: {line:.80?}"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("chunked") {
                return Err(format!("unsupported transfer-encoding {value:.40}"));
            }
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("content-length")
            && !matches!(framing, Framing::Chunked)
        {
            let length: u64 = value
                .parse()
                .map_err(|_| format!("bad content-length {value:.40}"))?;
            match usize::try_from(length) {
                Ok(n) if n <= MAX_BODY => framing = Framing::Length(n),
                _ => return Err(too_large()),
            }
        }
    }
    let body = &raw[head_end + 4..];
    let complete = match framing {
        Framing::Length(n) if body.len() >= n => Some(body[..n].to_vec()),
        Framing::Length(_) => None,
        Framing::Chunked => decode_chunked(body)?,
        Framing::UntilClose if body.len() > MAX_BODY => return Err(too_large()),
        Framing::UntilClose => eof.then(|| body.to_vec()),
    };
    match complete {
        None if eof => Err("the connection closed mid-body".into()),
        other => Ok(other),
    }
}

fn too_large() -> String {
    format!("the body is over {} KiB", MAX_BODY / 1024)
}

/// The body of a complete chunked encoding, trailers skipped; None while incomplete.
fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:.20?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            // Trailers, each a line, end with an empty line.
            loop {
                let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                if end == 0 {
                    return Ok(Some(body));
                }
                data = &data[end + 2..];
            }
        }
        if size > MAX_BODY - body.len() {
            return Err(too_large());
        }
        // `size` is at most MAX_BODY here, so the sum cannot overflow.
        if data.len() < size + 2 {
            return Ok(None);
        }
        if &data[size..size + 2] != b"\r\n" {
            return Err("a chunk does not end with CRLF".into());
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn urls_are_built_like_java() {
        assert_eq!(
            ws_addr("jmenv.tbsite.net", "nsaddr"),
            "http://jmenv.tbsite.net:8080/rocketmq/nsaddr"
        );
        assert_eq!(
            ws_addr("127.0.0.1:9000", "g"),
            "http://127.0.0.1:9000/rocketmq/g"
        );
        assert_eq!(
            with_unit("http://h:1/rocketmq/nsaddr", Some("u1")),
            "http://h:1/rocketmq/nsaddr-u1?nofix=1"
        );
        assert_eq!(with_unit("http://h/x", Some(" ")), "http://h/x");
        assert_eq!(with_unit("http://h/x", None), "http://h/x");
    }

    #[test]
    fn http_urls_are_parsed_and_others_refused() {
        let url = parse_http_url("http://jmenv.tbsite.net:8080/rocketmq/nsaddr").unwrap();
        assert_eq!(
            url,
            HttpUrl {
                host: "jmenv.tbsite.net".into(),
                port: 8080,
                authority: "jmenv.tbsite.net:8080".into(),
                target: "/rocketmq/nsaddr".into(),
            }
        );
        let url = parse_http_url("http://h").unwrap();
        assert_eq!((url.port, url.target.as_str()), (80, "/"));
        let url = parse_http_url("http://h?nofix=1").unwrap();
        assert_eq!(url.target, "/?nofix=1");
        let url = parse_http_url("http://[::1]:81/a-u?nofix=1").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 81));
        assert_eq!(url.target, "/a-u?nofix=1");
        for (bad, why) in [
            ("https://h/x", "https"),
            ("ftp://h/x", "expected http://"),
            ("h:80/x", "expected http://"),
            ("http:///x", "expected http://"),
            ("http://h:0/x", "bad port"),
            ("http://h:99999/x", "bad port"),
            ("http://h:x/x", "bad port"),
            ("http://u@h/x", "user info"),
            ("http://h/x y", "blanks"),
            ("http://h/x#f", "fragments"),
            ("http://::1/x", "expected http://"),
            ("http://[::1/x", "unclosed"),
        ] {
            let error = parse_http_url(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn the_list_is_the_trimmed_first_line() {
        assert_eq!(
            parse_name_server_list(b"  10.0.0.1:9876;10.0.0.2:9876\r\n").unwrap(),
            ["10.0.0.1:9876", "10.0.0.2:9876"]
        );
        // Java's clearNewLine keeps the first line only.
        assert_eq!(parse_name_server_list(b"a:1\nb:2").unwrap(), ["a:1"]);
        assert!(parse_name_server_list(b" \r\n ")
            .unwrap_err()
            .contains("no address"));
        assert!(parse_name_server_list(b";;")
            .unwrap_err()
            .contains("no address"));
        assert!(parse_name_server_list(b"<html>")
            .unwrap_err()
            .contains("bad list"));
        assert!(parse_name_server_list(b"\xff")
            .unwrap_err()
            .contains("UTF-8"));
    }

    #[test]
    fn responses_are_framed_by_length_chunks_or_close() {
        let ok = |raw: &[u8], eof| parse_response(raw, eof).unwrap();
        // Content-Length: complete once that many bytes are there; extra bytes ignored.
        assert_eq!(
            ok(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", false),
            None
        );
        assert_eq!(
            ok(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcX", false),
            Some(b"abc".to_vec())
        );
        // Chunked, with an extension and a trailer.
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        3;x=y\r\na:1\r\n2\r\n;b\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(ok(chunked, false), Some(b"a:1;b".to_vec()));
        assert_eq!(ok(&chunked[..chunked.len() - 2], false), None);
        // Neither: the body ends with the connection.
        let until_close = b"HTTP/1.0 200 OK\r\n\r\na:1";
        assert_eq!(ok(until_close, false), None);
        assert_eq!(ok(until_close, true), Some(b"a:1".to_vec()));
        assert_eq!(ok(b"HTTP/1.1 200", false), None);
    }

    #[test]
    fn bad_responses_are_refused_with_the_reason() {
        let big = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", u64::MAX);
        let huge_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n";
        let mut long_body = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        long_body.resize(long_body.len() + MAX_BODY + 1, b'a');
        let long_head = vec![b'a'; MAX_HEAD + 1];
        for (raw, eof, why) in [
            (
                &b"HTTP/1.1 404 Not Found\r\n\r\n"[..],
                false,
                "status 404 Not Found",
            ),
            (b"HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n", false, ""),
            (b"SSH-2.0-OpenSSH\r\n\r\n", false, "not an HTTP/1.x"),
            (b"HTTP/1.1 abc\r\n\r\n", false, "bad status line"),
            (b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", false, "bad header"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                false,
                "content-length",
            ),
            (big.as_bytes(), false, "over 64 KiB"),
            (huge_chunk, false, "over 64 KiB"),
            (&long_body, false, "over 64 KiB"),
            (&long_head, false, "headers are over"),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                false,
                "unsupported",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false,
                "bad chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
                false,
                "CRLF",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
                true,
                "mid-body",
            ),
            (b"HTTP/1.1 200 OK\r\n", true, "before the headers ended"),
        ] {
            match parse_response(raw, eof) {
                // The 500 whose head is still arriving is not yet known to be a 500.
                Ok(None) if why.is_empty() => {}
                Err(error) => assert!(error.contains(why), "{why}: {error}"),
                Ok(other) => panic!("{why}: accepted as {other:?}"),
            }
        }
    }

    /// Serves one connection with `answer` (None: reads and never answers) on loopback.
    fn serve_once(answer: Option<&'static [u8]>) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/rocketmq/nsaddr", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            assert!(request.starts_with(b"GET /rocketmq/nsaddr HTTP/1.1\r\n"));
            match answer {
                Some(answer) => {
                    let _ = stream.write_all(answer);
                }
                // Hold the connection until the client gives up.
                None => while matches!(stream.read(&mut buf), Ok(n) if n > 0) {},
            }
        });
        (url, thread)
    }

    #[test]
    fn a_get_reads_the_list_and_gives_up_on_time() {
        let (url, server) = serve_once(Some(
            b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n127.0.0.1:9876",
        ));
        let list = fetch_name_server_list(&url, Duration::from_secs(10), None).unwrap();
        assert_eq!(list, ["127.0.0.1:9876"]);
        server.join().unwrap();

        let (url, server) = serve_once(None);
        let begin = Instant::now();
        let error = fetch_name_server_list(&url, Duration::from_millis(300), None).unwrap_err();
        assert!(error.contains("no answer within 300 ms"), "{error}");
        assert!(begin.elapsed() < Duration::from_secs(5));
        server.join().unwrap();

        // A port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x");
        let error = fetch_name_server_list(&url, Duration::from_secs(10), None).unwrap_err();
        assert!(error.contains("connect to"), "{error}");
    }

    #[test]
    fn an_abort_ends_a_get_in_flight_and_refuses_later_ones() {
        let (url, server) = serve_once(None);
        let abort = std::sync::Arc::new(FetchAbort::default());
        let (tx, rx) = crossbeam_channel::bounded(1);
        let fetcher = {
            let abort = abort.clone();
            std::thread::spawn(move || {
                let _ = tx.send(fetch_name_server_list(
                    &url,
                    Duration::from_secs(30),
                    Some(&abort),
                ));
            })
        };
        // Abort once the GET holds its stream (the server read the request by then or soon).
        let deadline = Instant::now() + Duration::from_secs(10);
        while abort.stream.lock_unpoisoned().is_none() {
            assert!(Instant::now() < deadline, "the GET never connected");
            std::thread::yield_now();
        }
        abort.abort();
        let result = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(result.unwrap_err().contains("shutting down"));
        fetcher.join().unwrap();
        server.join().unwrap();
        // A listener that would accept: the aborted GET does not even connect.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let error = fetch_name_server_list(&url, Duration::from_secs(10), Some(&abort));
        assert!(error.unwrap_err().contains("shutting down"));
    }
}
