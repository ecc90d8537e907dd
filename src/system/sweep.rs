//! Leftovers of runs that died. Work that takes long is staged under a name that holds the
//! owner's pid — `images/.import-NAME-PID`, `tftp|nfs/.LEAF.new-PID` (provision),
//! `images/.deleting-NAME-PID` (image delete), `tftp|nfs/.purge-LEAF-PID` (node remove
//! --purge), `.NAME.rpinet-PID-SEQ` (the atomic writer's temp files), `.probe-WHAT-PID` at
//! the storage's top (what doctor and a mount try on an NFS server) — and renamed into place
//! (or deleted) at the end. A run killed on the way leaves its staging behind; the next
//! command that changes state ([`sweep`], under the state lock) deletes every such name whose
//! owner no longer runs. `doctor` lists what is left ([`leftovers`]).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::system::lock::StateLock;
use crate::system::root::Root;

/// The owner's pid of one of rpinet's staging names, or None for any other name.
pub fn leftover_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let pid = |s: &str| s.parse::<u32>().ok().filter(|p| *p > 1);
    for tag in ["import-", "deleting-", "purge-", "probe-"] {
        if let Some(body) = rest.strip_prefix(tag) {
            return body
                .rsplit_once('-')
                .and_then(|(n, p)| (!n.is_empty()).then_some(p))
                .and_then(pid);
        }
    }
    if let Some((leaf, p)) = rest.rsplit_once(".new-") {
        return (!leaf.is_empty()).then_some(p).and_then(pid);
    }
    if let Some((_, tail)) = rest.rsplit_once(".rpinet-") {
        let (p, seq) = tail.split_once('-')?;
        seq.parse::<u32>().ok()?;
        return pid(p);
    }
    None
}

/// Leftovers of dead runs in `dirs` (router paths: the storage's images/, tftp/ and nfs/,
/// and the directories rpinet writes files in): (path, owner pid).
pub fn leftovers(root: &Root, dirs: &[String]) -> Vec<(PathBuf, u32)> {
    let mut out = Vec::new();
    for dir in dirs.iter().map(|d| root.path(d)) {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = leftover_pid(&name) {
                if !crate::system::process::alive(pid) {
                    out.push((e.path(), pid));
                }
            }
        }
    }
    out
}

/// Delete the leftovers of dead runs (the lock keeps a live run from being taken for dead
/// while it starts: every run makes its staging under the lock or under its own pid).
/// What cannot be deleted is logged; doctor reports it.
pub fn sweep(root: &Root, _lock: &StateLock, dirs: &[String]) {
    for (path, pid) in leftovers(root, dirs) {
        // A shared root's staging overlay (roots/.NODE.new-PID/merged) goes first: nothing
        // is deleted through a mount.
        let _ = nix::mount::umount2(&path.join("merged"), nix::mount::MntFlags::MNT_DETACH);
        let r = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => log::info!("deleted {} (left by pid {pid}, which died)", path.display()),
            Err(e) => log::warn!("cannot delete {}: {e}", path.display()),
        }
    }
}

/// Move each existing router path of `dirs` aside, one rename each, to `.TAG-LEAF-PID`
/// beside it. Returns (aside, original) for each one moved; on failure, those already moved
/// are put back.
pub fn move_aside(root: &Root, dirs: &[PathBuf], tag: &str) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut moved = Vec::new();
    for dir in dirs {
        let orig = root.path(dir);
        let (Some(parent), Some(leaf)) = (orig.parent(), orig.file_name()) else {
            continue;
        };
        if std::fs::symlink_metadata(&orig).is_err() {
            continue;
        }
        let aside = parent.join(format!(
            ".{tag}-{}-{}",
            leaf.to_string_lossy(),
            std::process::id()
        ));
        if let Err(e) = std::fs::rename(&orig, &aside) {
            put_back(&moved);
            return Err(Error::new(format!(
                "failed to move {} aside: {e}",
                orig.display()
            )));
        }
        moved.push((aside, orig));
    }
    Ok(moved)
}

/// Undo [`move_aside`] (best effort: what cannot go back stays for the sweep).
pub fn put_back(moved: &[(PathBuf, PathBuf)]) {
    for (aside, orig) in moved.iter().rev() {
        if let Err(e) = std::fs::rename(aside, orig) {
            log::warn!("cannot move {} back: {e}", aside.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_and_their_owners() {
        assert_eq!(leftover_pid(".import-bookworm-lite-4242"), Some(4242));
        assert_eq!(leftover_pid(".deleting-trixie-17"), Some(17));
        assert_eq!(leftover_pid(".purge-running_lion-99"), Some(99));
        assert_eq!(leftover_pid(".probe-doctor-99"), Some(99));
        assert_eq!(leftover_pid(".38c128c0.new-123"), Some(123));
        assert_eq!(leftover_pid(".running_lion.new-123"), Some(123));
        assert_eq!(leftover_pid(".rpinet.conf.rpinet-555-0"), Some(555));
        for other in [
            "bookworm",
            ".import-",
            ".import-x-",
            ".import-x-1",
            ".new-12",
            ".hidden",
            "import-x-12",
            ".x.rpinet-12",
            ".x.rpinet-ab-1",
        ] {
            assert_eq!(leftover_pid(other), None, "{other}");
        }
    }

    #[test]
    fn moved_aside_and_back() {
        let d = std::env::temp_dir().join(format!("rpinet-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("nfs/lion/etc")).unwrap();
        let root = Root::under(&d);
        let moved = move_aside(
            &root,
            &[PathBuf::from("/nfs/lion"), PathBuf::from("/nfs/none")],
            "purge",
        )
        .unwrap();
        assert_eq!(moved.len(), 1);
        assert!(!d.join("nfs/lion").exists());
        let name = moved[0]
            .0
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(leftover_pid(&name), Some(std::process::id()));
        put_back(&moved);
        assert!(d.join("nfs/lion/etc").is_dir());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
