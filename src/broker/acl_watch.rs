//! The ACL account table, reloaded when its file changes (Java's `PlainPermissionManager`
//! with its `FileWatchService`): a table that does not load is logged and the one in force
//! is kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::acl::{AclTableError, PlainAccessValidator};
use crate::common::sync::{MutexExt, RwLockExt};
use crate::protocol::RemotingCommand;
use crate::remoting::{AbortProcess, RpcHook};

/// How often the file is looked at (Java's `FileWatchService`: 500 ms).
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// What identifies a version of the file: its modification time, length and contents' hash.
type Stamp = (Option<SystemTime>, u64, u32);

fn stamp(path: &Path) -> Option<Stamp> {
    let bytes = std::fs::read(path).ok()?;
    let modified = std::fs::metadata(path).ok()?.modified().ok();
    Some((
        modified,
        bytes.len() as u64,
        crate::protocol::util_all::crc32(&bytes) as u32,
    ))
}

/// The broker's ACL hook: checks every request against the table in force.
pub(crate) struct ReloadingAcl {
    path: PathBuf,
    current: RwLock<Arc<PlainAccessValidator>>,
    seen: std::sync::Mutex<Option<Stamp>>,
}

impl ReloadingAcl {
    /// Loads the table in `path`; a bad table fails the start.
    pub(crate) fn load(path: &Path) -> Result<ReloadingAcl, AclTableError> {
        let seen = stamp(path);
        let validator = PlainAccessValidator::from_file(path)?;
        Ok(ReloadingAcl {
            path: path.to_path_buf(),
            current: RwLock::new(Arc::new(validator)),
            seen: std::sync::Mutex::new(seen),
        })
    }

    /// Accounts in the table in force.
    pub(crate) fn account_count(&self) -> usize {
        self.current.read_unpoisoned().account_count()
    }

    /// Looks at the file; when it changed, loads it and puts it in force, or keeps the old
    /// table if it does not load. True when a new table was put in force.
    pub(crate) fn reload_if_changed(&self) -> bool {
        let now = stamp(&self.path);
        let mut seen = self.seen.lock_unpoisoned();
        if now.is_none() || now == *seen {
            return false;
        }
        *seen = now;
        match PlainAccessValidator::from_file(&self.path) {
            Ok(validator) => {
                log::info!(
                    "ACL table {} changed: {} accounts now in force",
                    self.path.display(),
                    validator.account_count()
                );
                *self.current.write_unpoisoned() = Arc::new(validator);
                true
            }
            Err(e) => {
                log::error!(
                    "ACL table {} changed but does not load ({e}); the table in force is kept",
                    self.path.display()
                );
                false
            }
        }
    }
}

impl RpcHook for ReloadingAcl {
    fn do_before_request(
        &self,
        remote_addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess> {
        let validator = self.current.read_unpoisoned().clone();
        validator.do_before_request(remote_addr, request)
    }

    fn do_after_response(
        &self,
        remote_addr: &str,
        request: &RemotingCommand,
        response: &mut RemotingCommand,
    ) {
        let validator = self.current.read_unpoisoned().clone();
        validator.do_after_response(remote_addr, request, response);
    }
}
