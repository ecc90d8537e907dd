//! Locks. rpinet runs many times at once (LuCI tabs, rpcd, procd reloads, hotplug events,
//! background jobs), so every read-modify-write of its state — its config, the dnsmasq
//! settings it owns, the hosts dir, the exports block, node and image directories — runs
//! under one lock: [`StateLock`], an exclusive `flock` on `/var/lock/rpinet.lock` (tmpfs on
//! OpenWrt; the kernel drops it when the holder dies, so a killed run never leaves it held).
//! A command that must wait says so after [`SAY_AFTER`] and gives up after [`GIVE_UP`].
//!
//! A `StateLock` value is the proof that the lock is held: the functions that change state
//! take `&StateLock`, so none of them can run without it. It is taken once per process.
//!
//! [`FileLock`] is the same wait on another file: libuci's lock on an /etc/config file (see
//! `system::uci_file`) and a node's or an image's own lock.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};
use crate::system::root::Root;

/// The router path of rpinet's lock.
pub const LOCK_PATH: &str = "/var/lock/rpinet.lock";
/// A waiting command says so after this long.
pub const SAY_AFTER: Duration = Duration::from_secs(1);
/// ... and gives up after this long (an import's final rename or a provision's switch holds
/// the lock for seconds at most; a minute means something is stuck).
pub const GIVE_UP: Duration = Duration::from_secs(60);

/// rpinet's state lock, held until dropped.
pub struct StateLock {
    _file: Flock<File>,
}

impl StateLock {
    /// Take the lock, waiting for another rpinet as long as [`GIVE_UP`].
    pub fn acquire(root: &Root) -> Result<StateLock> {
        let path = root.path(LOCK_PATH);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::new(format!("failed to create {}: {e}", dir.display())))?;
        }
        let file = wait_for(&path, "another rpinet command")?;
        Ok(StateLock { _file: file })
    }

    /// The lock when no one holds it, without waiting (the file is made when absent: /var/lock
    /// is emptied at boot, while what a killed import left on the SSD is still there); None
    /// when someone holds it or the file cannot be made.
    pub fn try_acquire(root: &Root) -> Option<StateLock> {
        let path = root.path(LOCK_PATH);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .ok()?;
        try_lock(f, true).map(|f| StateLock { _file: f })
    }
}

/// A lock on another file (libuci's on a config file, a node's, an image's).
pub struct FileLock(pub Flock<File>);

/// Open `path` (created when absent, mode 0644) and take an exclusive lock on it, waiting as
/// [`StateLock::acquire`] does; `holder` names who is waited for in the messages.
pub fn lock_file(path: &Path, holder: &str) -> Result<FileLock> {
    wait_for(path, holder).map(FileLock)
}

/// Take a lock without waiting: None when someone holds it.
pub fn try_lock(file: File, exclusive: bool) -> Option<Flock<File>> {
    let arg = if exclusive {
        FlockArg::LockExclusiveNonblock
    } else {
        FlockArg::LockSharedNonblock
    };
    Flock::lock(file, arg).ok()
}

fn wait_for(path: &Path, holder: &str) -> Result<Flock<File>> {
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| Error::new(format!("failed to open {}: {e}", path.display())))
    };
    let start = Instant::now();
    let mut said = false;
    let mut file = open()?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => {
                if said {
                    eprintln!("rpinet: got the lock after {} s", start.elapsed().as_secs());
                }
                return Ok(l);
            }
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => file = f,
            Err((_, e)) => {
                return Err(Error::new(format!(
                    "failed to lock {}: {e}",
                    path.display()
                )));
            }
        }
        let waited = start.elapsed();
        if waited >= GIVE_UP {
            return Err(Error::new(format!(
                "{holder} has held {} for {} s; gave up waiting (try again when it is done)",
                path.display(),
                waited.as_secs()
            )));
        }
        if !said && waited >= SAY_AFTER {
            eprintln!(
                "rpinet: waiting for {holder} to finish (it holds {})…",
                path.display()
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_lock_is_exclusive_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("rpinet-lock-{}", std::process::id()));
        let root = Root::under(&dir);
        let held = StateLock::acquire(&root).unwrap();
        let other = std::fs::File::open(root.path(LOCK_PATH)).unwrap();
        let other = try_lock(other, true);
        assert!(other.is_none(), "a second holder got the lock");
        drop(held);
        let again = std::fs::File::open(root.path(LOCK_PATH)).unwrap();
        assert!(try_lock(again, true).is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
