//! How full the disk is (Java's `UtilAll.getDiskPartitionSpaceUsedPercent`), and the local
//! hour (`deleteWhen` is in local time, as Java's `Calendar`).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Measures the used fraction of the file system that holds a path. The store asks it every
/// `clean_resource_interval`; [`FileSystemUsage`] (statvfs) is the default, tests and hosts
/// whose quota is not the file system's supply their own.
pub trait DiskUsageProbe: Send + Sync + std::fmt::Debug {
    /// The used fraction, 0.0 to 1.0, of the file system holding `path`.
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64>;
}

/// The file system's own figures, from `statvfs(3)`: used / (used + available to us), rounded
/// up to the percent, as Java computes it (space reserved for root counts as used).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystemUsage;

impl DiskUsageProbe for FileSystemUsage {
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64> {
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `statvfs` writes into the zeroed struct we own and reads the NUL-terminated
        // path, which lives until the call returns.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let unit = stat.f_frsize as u128;
        let total = stat.f_blocks as u128 * unit;
        let free = stat.f_bfree as u128 * unit;
        let usable = stat.f_bavail as u128 * unit;
        used_ratio_of(total, free, usable).ok_or_else(|| {
            std::io::Error::other(format!("{} reports no space at all", path.display()))
        })
    }
}

/// Java's arithmetic: `(used * 100 / (used + usable) + (1 if there is a remainder)) / 100`.
fn used_ratio_of(total: u128, free: u128, usable: u128) -> Option<f64> {
    let used = total.checked_sub(free)?;
    let entire = used + usable;
    if total == 0 || entire == 0 {
        return None;
    }
    let round_up = u128::from((used * 100) % entire != 0);
    Some((used * 100 / entire + round_up) as f64 / 100.0)
}

/// The hour of the day, 0-23, in local time.
pub(super) fn local_hour(unix_seconds: i64) -> u8 {
    let time = unix_seconds as libc::time_t;
    // SAFETY: `localtime_r` reads `time` and fills the zeroed `tm` we own; both outlive it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let filled = unsafe { libc::localtime_r(&time, &mut tm) };
    if filled.is_null() {
        // No time zone information: UTC.
        return ((unix_seconds.rem_euclid(86_400)) / 3600) as u8;
    }
    tm.tm_hour.clamp(0, 23) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_up_to_the_percent_as_java() {
        assert_eq!(used_ratio_of(100, 50, 50), Some(0.5));
        // 1 byte used of 1000: 0.01, not 0.
        assert_eq!(used_ratio_of(1000, 999, 999), Some(0.01));
        // Root's reserve counts as used: 100 total, 20 free, 10 of them usable.
        assert_eq!(used_ratio_of(100, 20, 10), Some(0.89));
        assert_eq!(used_ratio_of(0, 0, 0), None);
    }

    #[test]
    fn the_real_file_system_is_measured() {
        let ratio = FileSystemUsage.used_ratio(&std::env::temp_dir()).unwrap();
        assert!((0.0..=1.0).contains(&ratio), "{ratio}");
        assert!(FileSystemUsage
            .used_ratio(Path::new("/no/such/dir/anywhere"))
            .is_err());
    }

    #[test]
    fn local_hours_are_hours() {
        for t in [0, 3_599, 3_600, 1_700_000_000] {
            assert!(local_hour(t) < 24);
        }
    }
}
