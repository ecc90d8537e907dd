//! Putting a node's new boot and root in place together.
//!
//! The boot tree (tftp/<boot-id>) and the root (nfs/<node>) are two directories; each is
//! swapped in by one atomic `renameat2(RENAME_EXCHANGE)` (or a rename when the node has none
//! yet), so a reader sees each whole, old or new. That the two change *together* is a
//! journal's work: before the first swap, a journal `nfs/.switch-NODE` (written atomically,
//! fsynced) names both swaps by the inode numbers of the new trees and the image. After the
//! second swap the image is recorded in the config; the old trees, left under the staging
//! names, are renamed to `.purge-LEAF-PID` (a name the sweep deletes when its run is dead);
//! then the journal is removed and they are deleted. A run killed anywhere in between leaves the
//! journal: the next command that takes the state lock ([`recover`]) finishes what it says —
//! each side whose live directory is not yet the new inode is swapped, the image recorded —
//! so a node never runs a new root with an old boot, or the reverse.
//!
//! An image roll keeps the old trees (`keep`): they are renamed to `.LEAF.prev` before the
//! journal goes, for `node rollback`, which is a switch too: its new trees are the kept ones
//! (staged under `.LEAF.prev`), and the trees it replaces are deleted.
//!
//! A shared root adds a third side: its state dir (roots/<node>: the overlay's upper and
//! work dirs and the name of its image), while nfs/<node> becomes the overlay's empty mount
//! point. A side with inode 0 only takes the live directory away (a shared root's state dir
//! when the node gets a copy). The overlay on nfs/<node> is unmounted before the swaps and
//! mounted again from the state dir in place after them, so a killed switch is finished the
//! same way whatever it had done.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{Built, ProvisionReport, ProvisionTarget, Slot};
use crate::bail;
use crate::error::{Context, Error, Result};
use crate::system::fsys::{self, Dir};
use crate::system::lock::{self, StateLock};
use crate::system::root::Root;

/// One side of a switch as the journal holds it: the router path of the live directory,
/// its staging name, and the inode of the new tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub live: PathBuf,
    pub staging: String,
    pub ino: u64,
}

/// A journal: what a switch is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    pub node: String,
    pub image: String,
    /// The `volume_size` to record with the image ("" for none given).
    pub volume_size: String,
    /// Keep the old trees as `.LEAF.prev` instead of deleting them.
    pub keep: bool,
    pub sides: Vec<Side>,
}

impl Journal {
    pub fn render(&self) -> String {
        let mut out = format!(
            "rpinet-switch 1\nnode {}\nimage {}\nvolume {}\n{}",
            self.node,
            self.image,
            self.volume_size,
            if self.keep { "keep\n" } else { "" }
        );
        for s in &self.sides {
            out.push_str(&format!(
                "side {} {} {}\n",
                s.ino,
                s.staging,
                s.live.display()
            ));
        }
        out.push_str("end\n");
        out
    }

    /// The journal in `text`, or None when it is not one (a torn or foreign file).
    pub fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.lines();
        (lines.next()? == "rpinet-switch 1").then_some(())?;
        let node = lines.next()?.strip_prefix("node ")?.to_string();
        let image = lines.next()?.strip_prefix("image ")?.to_string();
        let volume_size = lines.next()?.strip_prefix("volume ")?.to_string();
        let mut sides = Vec::new();
        let mut ended = false;
        let mut keep = false;
        for l in lines {
            if l == "keep" && sides.is_empty() {
                keep = true;
                continue;
            }
            if l == "end" {
                ended = true;
                break;
            }
            let rest = l.strip_prefix("side ")?;
            let (ino, rest) = rest.split_once(' ')?;
            let (staging, live) = rest.split_once(' ')?;
            sides.push(Side {
                live: PathBuf::from(live),
                staging: staging.to_string(),
                ino: ino.parse().ok()?,
            });
        }
        (ended && (2..=3).contains(&sides.len())).then_some(Journal {
            node,
            image,
            volume_size,
            keep,
            sides,
        })
    }
}

fn journal_name(node: &str) -> String {
    format!(".switch-{node}")
}

/// Switch `built` in for `target`, record `image` in the config, delete the old trees (or
/// keep them, `keep`).
pub fn switch(
    root: &Root,
    lock: &StateLock,
    target: &ProvisionTarget,
    image: &str,
    volume_size: Option<&str>,
    keep: bool,
    built: Built,
) -> Result<ProvisionReport> {
    let Built {
        mut report,
        boot,
        root: rootfs,
        state,
    } = built;
    let side = |s: &Slot, live: &Path| -> Result<Side> {
        let st = s
            .parent
            .lstat(&s.staging)
            .ctx(|| format!("the new tree of {} is gone", s.shown))?;
        Ok(Side {
            live: live.to_path_buf(),
            staging: String::from_utf8_lossy(&s.staging).into_owned(),
            ino: st.st_ino,
        })
    };
    let journal = Journal {
        node: target.node.clone(),
        image: image.to_string(),
        volume_size: volume_size.unwrap_or("").to_string(),
        keep,
        sides: vec![
            side(&rootfs, &target.nfs_dir)?,
            side(&boot, &target.tftp_dir)?,
        ],
    };
    let mut journal = journal;
    match &state {
        Some(st) => journal.sides.push(side(st, &target.state_dir)?),
        None if root.path(&target.state_dir).exists() => {
            journal.sides.push(removal(&target.state_dir))
        }
        None => {}
    }
    report.reimaged = [&rootfs, &boot].iter().any(|s| {
        s.parent
            .lstat(&s.leaf)
            .is_ok_and(|st| !is_empty_dir(&s.parent, &s.leaf, st))
    });
    carry_out(root, lock, &rootfs.parent, &journal)?;
    Ok(report)
}

/// A side that takes `live` away (renamed to a staging name, then deleted or kept).
pub fn removal(live: &Path) -> Side {
    let leaf = live.file_name().unwrap_or_default().to_string_lossy();
    Side {
        live: live.to_path_buf(),
        staging: format!(".{leaf}.new-{}", std::process::id()),
        ino: 0,
    }
}

/// Write `journal` in `jdir` (the nfs dir: [`recover`] looks there) and carry it out.
pub fn carry_out(root: &Root, lock: &StateLock, jdir: &Dir, journal: &Journal) -> Result<()> {
    fsys::replace(
        jdir,
        journal_name(&journal.node).as_bytes(),
        journal.render().as_bytes(),
        0o600,
        None,
        true,
    )
    .ctx(|| {
        format!(
            "failed to write the switch journal of node '{}'",
            journal.node
        )
    })?;
    finish(root, lock, journal)
}

/// A node dir that `node add` made and nothing filled yet (so a first provision is no
/// reimage).
fn is_empty_dir(parent: &Dir, leaf: &[u8], st: libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
        && parent
            .open_dir(leaf)
            .and_then(|d| d.names())
            .is_ok_and(|n| n.is_empty())
}

/// Carry out `journal` from wherever it stopped: swap each side not yet swapped, record the
/// image, keep the old trees if asked, remove the journal, delete the old trees.
fn finish(root: &Root, lock: &StateLock, journal: &Journal) -> Result<()> {
    let mount_point = journal.sides[0].live.to_string_lossy().into_owned();
    crate::system::overlay::unmount(root, &mount_point)?;
    let mut dirs = Vec::new();
    for s in &journal.sides {
        let live = root.path(&s.live);
        let (Some(parent), Some(leaf)) = (live.parent(), live.file_name()) else {
            bail!("{} is not a directory path", s.live.display());
        };
        let dir = Dir::open_path(parent).ctx(|| format!("failed to open {}", parent.display()))?;
        let leaf = leaf.as_encoded_bytes();
        let ino_of = |name: &[u8]| dir.lstat(name).ok().map(|st| st.st_ino);
        if s.ino == 0 {
            if ino_of(leaf).is_some() && ino_of(s.staging.as_bytes()).is_none() {
                dir.rename_noreplace(leaf, &dir, s.staging.as_bytes())
                    .ctx(|| format!("failed to move {} aside", s.live.display()))?;
            }
        } else if ino_of(leaf) != Some(s.ino) {
            if ino_of(s.staging.as_bytes()) != Some(s.ino) {
                bail!(
                    "switch of node '{}': the new tree for {} is neither in place nor staged",
                    journal.node,
                    s.live.display()
                );
            }
            if ino_of(leaf).is_some() {
                swap(&dir, s.staging.as_bytes(), leaf)
                    .ctx(|| format!("failed to swap in the new {}", s.live.display()))?;
            } else {
                dir.rename_noreplace(s.staging.as_bytes(), &dir, leaf)
                    .ctx(|| format!("failed to move the new tree to {}", s.live.display()))?;
            }
            nix::unistd::fsync(&dir)
                .map_err(|e| Error::new(format!("failed to sync {}: {e}", parent.display())))?;
        }
        dirs.push((dir, leaf.to_vec()));
    }
    if let Some(state) = journal.sides.get(2).filter(|s| s.ino != 0) {
        mount_shared(root, &state.live, &mount_point)?;
    }
    // The node may be gone from the config (removed after a killed provision): nothing to record.
    let (_, config) = crate::plan::world::load_config(root)?;
    if config.node(&journal.node).is_some() && !journal.image.is_empty() {
        let size = Some(journal.volume_size.as_str()).filter(|v| !v.is_empty());
        super::record_image(root, lock, &journal.node, &journal.image, size)?;
    }
    // The old trees, now under the staging names: kept (a roll), or renamed to names the
    // sweep knows (`.purge-LEAF-PID`) before the journal goes, so that a run killed while
    // deleting them leaves nothing a later rollback could take for a kept tree.
    let mut trash = Vec::new();
    for ((dir, leaf), s) in dirs.iter().zip(&journal.sides) {
        let old = s.staging.as_bytes();
        if dir.lstat(old).is_err() {
            continue; // kept or moved already
        }
        let to = if journal.keep {
            let kept = super::kept_name(leaf);
            let _ = dir.remove_tree(&kept);
            kept
        } else {
            let t = format!(
                ".purge-{}-{}",
                String::from_utf8_lossy(leaf),
                std::process::id()
            );
            trash.push((dir, t.clone()));
            t.into_bytes()
        };
        dir.rename(old, dir, &to)
            .ctx(|| format!("failed to move the old tree of {} aside", s.live.display()))?;
    }
    let first = root.path(&journal.sides[0].live);
    let jdir = first.parent().unwrap_or(Path::new("/"));
    let _ = std::fs::remove_file(jdir.join(journal_name(&journal.node)));
    for (dir, t) in trash {
        if let Err(e) = dir.remove_tree(t.as_bytes()) {
            log::warn!("cannot delete the old tree {t}: {e}");
        }
    }
    Ok(())
}

/// Swap the new tree `staged` with the live `leaf` in `dir`: atomically, or where the
/// filesystem cannot (NFS has no RENAME_EXCHANGE) in three renames, the old tree first to a
/// name the sweep deletes (`.purge-LEAF-PID`). Killed between them, the next run finds the
/// new tree staged or in place, as after the atomic swap, and the old one is swept: a roll
/// killed there keeps no root to roll back to.
fn swap(dir: &Dir, staged: &[u8], leaf: &[u8]) -> std::io::Result<()> {
    match dir.exchange(staged, dir, leaf) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let aside = [
                b".purge-",
                leaf,
                format!("-{}", std::process::id()).as_bytes(),
            ]
            .concat();
            dir.rename_noreplace(leaf, dir, &aside)?;
            dir.rename_noreplace(staged, dir, leaf)?;
            dir.rename(&aside, dir, staged)
        }
        r => r,
    }
}

/// Mount the shared root whose state dir is `state` (storage/roots/<node>) on `at`: its
/// image's root, named in the state dir, under its upper dir.
pub fn mount_shared(root: &Root, state: &Path, at: &str) -> Result<()> {
    let storage = state
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    let named = std::fs::read(root.path(state.join(OsStr::from_bytes(super::STATE_IMAGE))))
        .ctx(|| format!("{} names no image", state.display()))?;
    let image = String::from_utf8_lossy(&named).trim().to_string();
    crate::config::check_image_name(&image)
        .ctx(|| format!("{} names no image", state.display()))?;
    let s = state.display();
    crate::system::overlay::mount(
        root,
        &format!("{}/images/{image}/root", storage.display()),
        &format!("{s}/upper"),
        &format!("{s}/work"),
        at,
    )?;
    if root.is_live() {
        // nfsd resolves the export's path again: the new root, not the detached one.
        crate::system::services::reload_exports()?;
    }
    Ok(())
}

/// Finish every switch a killed run left under the storage `sp` (router path).
pub fn recover(root: &Root, lock: &StateLock, sp: &str) {
    let dir = root.path(format!("{sp}/nfs"));
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(".switch-") {
            continue;
        }
        match std::fs::read_to_string(e.path())
            .ok()
            .as_deref()
            .and_then(Journal::parse)
        {
            Some(j) => match finish(root, lock, &j) {
                Ok(()) => log::info!(
                    "finished the switch of node '{}' a killed run began",
                    j.node
                ),
                Err(err) => log::warn!("{err}"),
            },
            None => {
                log::warn!("{} is not a switch journal; removed", e.path().display());
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Held while a node is provisioned: a second provision of the node is refused.
pub struct NodeBusy(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

pub fn node_busy(root: &Root, node: &str) -> Result<NodeBusy> {
    let path = root.path(format!("/var/lock/rpinet-node-{node}.lock"));
    if let Some(d) = path.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx(|| format!("failed to open {}", path.display()))?;
    match lock::try_lock(f, true) {
        Some(l) => Ok(NodeBusy(l)),
        None => Err(Error::new(format!(
            "node '{node}' is being provisioned already; wait for that job to end"
        ))),
    }
}

/// Held while an image is copied: `image_delete` refuses an image in use.
pub struct ImageInUse(#[allow(dead_code)] Option<nix::fcntl::Flock<std::fs::File>>);

pub fn image_in_use(root: &Root, image_dir: &Path) -> Result<ImageInUse> {
    let Ok(f) = std::fs::File::open(root.path(image_dir)) else {
        return Ok(ImageInUse(None)); // the copy says what is wrong with it
    };
    Ok(ImageInUse(lock::try_lock(f, false)))
}

/// Whether some run copies the image at `dir` (an exclusive lock cannot be had).
pub fn image_busy(dir: &Path) -> bool {
    std::fs::File::open(dir).is_ok_and(|f| lock::try_lock(f, true).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journals_read_back_and_torn_ones_are_refused() {
        let j = Journal {
            node: "lion".into(),
            image: "bookworm".into(),
            volume_size: "32G".into(),
            keep: true,
            sides: vec![
                Side {
                    live: "/mnt/rpinet/nfs/lion".into(),
                    staging: ".lion.new-42".into(),
                    ino: 12,
                },
                Side {
                    live: "/mnt/rpinet/tftp/38c128c0".into(),
                    staging: ".38c128c0.new-42".into(),
                    ino: 13,
                },
            ],
        };
        let text = j.render();
        assert_eq!(Journal::parse(&text), Some(j.clone()));
        let plain = Journal { keep: false, ..j };
        assert_eq!(Journal::parse(&plain.render()), Some(plain));
        for cut in 0..text.len() - 1 {
            if text.is_char_boundary(cut) {
                assert_eq!(Journal::parse(&text[..cut]), None, "{cut}");
            }
        }
    }
}
