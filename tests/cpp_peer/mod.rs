//! Runs the Apache C++ client (PyPI `rocketmq==0.4.4`, via tests/interop/cpp_peer.py).
//!
//! The client lives in a venv under `target/interop-venv`, made on first use (`.ci/run` makes
//! it up front); set `RMQ_CPP_PYTHON` to use another interpreter that has `rocketmq`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the peer says about one message it produced or consumed.
pub type Record = serde_json::Value;

fn target_dir() -> PathBuf {
    // tests run from target/<profile>/deps/<binary>
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The interpreter with the C++ client installed, set up once per machine.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Ok(python) = std::env::var("RMQ_CPP_PYTHON") {
                return PathBuf::from(python);
            }
            let venv = target_dir().join("interop-venv");
            let python = venv.join("bin").join("python");
            if has_client(&python) {
                return python;
            }
            // Several test binaries may get here at once: one installs, the others wait.
            let lock = target_dir().join("interop-venv.lock");
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                match OpenOptions::new().write(true).create_new(true).open(&lock) {
                    Ok(_) => break,
                    Err(_) if Instant::now() < deadline => {
                        if has_client(&python) {
                            return python;
                        }
                        thread::sleep(Duration::from_millis(500));
                    }
                    Err(e) => panic!("waiting for {lock:?}: {e}"),
                }
            }
            let result = (|| {
                run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
                run(Command::new(venv.join("bin").join("pip")).args([
                    "install",
                    "--quiet",
                    "rocketmq==0.4.4",
                ]))
            })();
            let _ = fs::remove_file(&lock);
            if let Err(e) = result {
                panic!("cannot install the C++ client (pip install rocketmq==0.4.4): {e}");
            }
            assert!(
                has_client(&python),
                "rocketmq==0.4.4 installed but does not import"
            );
            python
        })
        .clone()
}

fn has_client(python: &Path) -> bool {
    python.exists()
        && Command::new(python)
            .args(["-c", "import rocketmq.client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `cpp_peer.py` with `args` and a scratch HOME (the client writes logs under it);
/// returns the JSON lines it printed. Fails the test if it exits non-zero.
pub fn run_peer(args: &[&str]) -> Vec<Record> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/cpp_peer.py");
    let home = std::env::temp_dir().join(format!(
        "rmq-cpp-home-{}-{:?}",
        std::process::id(),
        thread::current().id()
    ));
    fs::create_dir_all(&home).expect("scratch home");
    let out: Output = Command::new(python())
        .arg(&script)
        .args(args)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .output()
        .expect("run cpp_peer.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cpp_peer.py {args:?} failed ({}):\n{}\n{}",
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    // The client's logs are kept only when it fails (the assertion above), for debugging.
    let _ = fs::remove_dir_all(&home);
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The body cpp_peer.py gives message `i` of `size` bytes (must match `message_body` there).
pub fn message_body(i: u64, size: usize) -> String {
    let head = format!("body-{i}-");
    if size <= head.len() {
        return head;
    }
    let filler: String = (0..size - head.len())
        .map(|j| (b'a' + ((i as usize * 7 + j * 13) % 26) as u8) as char)
        .collect();
    head + &filler
}

/// A fresh, empty directory for a test broker's store, unique to this process and moment.
pub fn temp_store(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir =
        std::env::temp_dir().join(format!("rmq-interop-{name}-{}-{nanos}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// Consumed records by their `seq` property; panics on a duplicate or a record without one.
pub fn consumed_by_seq(what: &str, records: &[Record]) -> BTreeMap<u64, Record> {
    let mut out = BTreeMap::new();
    for r in records.iter().filter(|r| r.get("summary").is_none()) {
        let seq: u64 = r["seq"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{what}: no seq in {r}"));
        assert!(
            out.insert(seq, r.clone()).is_none(),
            "{what}: message {seq} delivered twice"
        );
    }
    out
}
