//! File primitives: read-if-present and atomic replace (temp + fsync + rename).

use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Context, Result};
use crate::system::fsys::{self, Dir};

/// The file's text, or `None` when it does not exist.
pub fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).ctx(|| format!("failed to read {}", path.display())),
    }
}

/// Make renames in `dir` durable (one fsync for any number of files written into it).
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("failed to sync {}", dir.display()))
}

/// Replace `path` with `content` so a reader sees the old or the new file, never a mix (see
/// `fsys::replace`). The caller fsyncs the directory ([`sync_dir`]) once for all its files.
/// `durable` false skips the file fsync too: right for tmpfs (OpenWrt's /tmp), where a
/// crash loses the file anyway and rename alone keeps readers from seeing half a file.
pub fn replace(path: &Path, content: &str, mode: u32, durable: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    Dir::open_router_path(dir)
        .and_then(|d| fsys::replace(&d, name, content.as_bytes(), mode, None, durable))
        .ctx(|| format!("failed to write {}", path.display()))
}

/// Remove a file; a file that is already gone is fine.
pub fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(e).ctx(|| format!("failed to remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Create a directory and its parents with `mode` (0755: dnsmasq's user must read TFTP files).
pub fn make_dir(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .ctx(|| format!("failed to create {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("rpinet-fs-{}", std::process::id()));
        make_dir(&dir, 0o755).unwrap();
        let p = dir.join("f.conf");
        assert_eq!(read_opt(&p).unwrap(), None);
        replace(&p, "one\n", 0o644, true).unwrap();
        replace(&p, "two\n", 0o600, true).unwrap();
        assert_eq!(read_opt(&p).unwrap().as_deref(), Some("two\n"));
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let e = replace(&dir.join("missing/x"), "x", 0o644, true).unwrap_err();
        assert!(
            e.message()
                .starts_with(&format!("failed to write {}/missing/x: ", dir.display()))
        );
        remove(&p).unwrap();
        remove(&p).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
