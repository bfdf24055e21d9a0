//! Small JSON config files written atomically (`ConfigManager.persist`).

use std::fs;
use std::io::Write;
use std::path::Path;

/// Writes `content` to `path` through a temporary file and a rename, so a crash leaves
/// either the old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(content.as_bytes())?;
    file.sync_data()?;
    drop(file);
    fs::rename(&tmp, path)
}

/// Reads a config file; None when it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
