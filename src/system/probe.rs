//! doctor's look at the storage from the router: what a node's root needs of the
//! filesystem under it (a root-owned file, a device node, a file capability, a hard link, a
//! symlink, a rename over an open file), tried in a directory of its own and removed after.

use std::path::Path;

/// One thing a node's root needs from the filesystem under it, as doctor's probe tries it
/// on the storage (docs/SPEC.md §4: the `server_*` findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A file root makes and chowns to 0:0 stays root's (a squashing server makes it nobody's).
    RootOwner,
    /// A device node: mknod c 1 3 (/dev/null).
    Device,
    /// A file capability: the security.capability xattr (cap_net_raw).
    Capability,
    HardLink,
    Symlink,
    /// Renaming a file over one that is open (what every package upgrade does).
    RenameOpen,
}

/// What doctor's probe found: the needs the storage refused, with what happened, or why
/// it could not even make its directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub refused: Vec<(Need, String)>,
    pub failed: Option<String>,
}

/// Try, in a directory of its own under `storage` (removed afterwards), what a node's root
/// needs: doctor's look at an NFS server from the router.
pub fn probe(storage: &Path) -> Probe {
    use crate::system::fsys::Dir;
    let name = format!(".probe-doctor-{}", std::process::id());
    let name = name.as_bytes();
    let mut p = Probe::default();
    let dir = Dir::open_path(storage).and_then(|top| {
        let _ = top.remove_tree(name);
        top.mkdir(name, 0o700)?;
        Ok((top.open_dir(name)?, top))
    });
    match dir {
        Ok((d, top)) => {
            for need in [
                Need::RootOwner,
                Need::Device,
                Need::Capability,
                Need::HardLink,
                Need::Symlink,
                Need::RenameOpen,
            ] {
                if let Err(e) = try_need(&d, need) {
                    p.refused.push((need, e.to_string()));
                }
            }
            drop(d);
            let _ = top.remove_tree(name);
        }
        Err(e) => p.failed = Some(e.to_string()),
    }
    p
}

/// A capability set allowing cap_net_raw (vfs_cap_data revision 2, effective), as
/// `setcap cap_net_raw+ep` writes it for ping.
const NET_RAW: [u8; 20] = [
    1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn try_need(d: &crate::system::fsys::Dir, need: Need) -> std::io::Result<()> {
    use std::io::{Error, Read, Write};
    let differs = |what: &str| Err(Error::other(format!("{what} did not stay")));
    match need {
        Need::RootOwner => {
            d.create_file(b"f")?.write_all(b"old")?;
            d.chown(b"f", 0, 0)?;
            let uid = d.lstat(b"f")?.st_uid;
            if uid != 0 {
                return Err(Error::other(format!("the owner became uid {uid}")));
            }
        }
        Need::Device => {
            let dev = libc::makedev(1, 3);
            d.mknod(b"null", libc::S_IFCHR | 0o666, dev)?;
            let st = d.lstat(b"null")?;
            if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != dev {
                return differs("the device number");
            }
        }
        Need::Capability => d.set_xattr(b"f", b"security.capability", &NET_RAW)?,
        Need::HardLink => {
            d.link_from(d, b"f", b"f2")?;
            if d.lstat(b"f")?.st_nlink != 2 {
                return differs("the link count");
            }
        }
        Need::Symlink => d.symlink(b"f", b"s")?,
        Need::RenameOpen => {
            let mut open = d.open_file(b"f", libc::O_RDONLY)?;
            d.create_file(b"g")?.write_all(b"new")?;
            d.rename(b"g", d, b"f")?;
            let mut old = String::new();
            open.read_to_string(&mut old)?;
            if old != "old" {
                return differs("the open file's content");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a local filesystem, as root, everything a root needs works and the probe leaves
    /// nothing behind.
    #[test]
    fn the_probe_passes_on_a_local_filesystem_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("rpinet-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(probe(&dir), Probe::default());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let gone = probe(&dir.join("missing"));
        assert!(gone.failed.is_some() && gone.refused.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
