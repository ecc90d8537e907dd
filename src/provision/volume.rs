//! A node's container volume (docs/SPEC.md §2, "Container volumes"): a sparse file
//! on the SSD, outside the node's root (a reimage keeps it), that the node attaches as a
//! block device, checks (or formats as ext4 on first use) and mounts at [`MOUNT`], with the
//! container runtimes' state directories bound onto it — containerd's overlayfs snapshotter
//! and Docker's overlay2 need a local filesystem, which an NFS root is not.
//!
//! The node side is three files written into the root at provision ([`node_files`]): the
//! transport's settings (`/etc/rpinet/volume.conf`), the script that mounts, and its
//! systemd unit. Only the script's attach/detach know the [`Transport`]; a second one
//! (nbd-server, one export per node) is a new variant here and a new case there.

use std::io;
use std::net::Ipv4Addr;

use super::rootfs::NodeFile;
use crate::bail;
use crate::error::{Context, Result};
use crate::system::fsys::Dir;
use crate::system::root::Root;

/// Where the node mounts its volume.
pub const MOUNT: &str = "/var/lib/rpinet-volume";
/// The volume file's name inside storage/volumes/<node>/.
pub const FILE: &str = crate::plan::world::VOLUME_FILE;
/// The state directories under /var/lib bound onto the volume (one filesystem).
pub const STATE_DIRS: [&str; 5] = ["rancher", "containerd", "docker", "kubelet", "k0s"];
pub const UNIT_NAME: &str = "rpinet-volume.service";
const SCRIPT: &str = include_str!("node/rpinet-volume");
const UNIT: &str = include_str!("node/rpinet-volume.service");

/// How the node reaches its volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// The volume's directory is an NFS export of its own (to this node only); the node
    /// mounts it and loop-attaches the file.
    NfsLoop { server: Ipv4Addr, export: String },
}

/// /etc/rpinet/volume.conf: shell assignments the script sources. The values are a
/// validated address and router path, quoted all the same.
pub fn conf(t: &Transport) -> String {
    let mut s = String::from("# Written by rpinet at provision: this node's container volume.\n");
    match t {
        Transport::NfsLoop { server, export } => {
            s.push_str(&format!(
                "TRANSPORT=nfs-loop\nSERVER='{server}'\nEXPORT='{export}'\nFILE='{FILE}'\n"
            ));
        }
    }
    s.push_str(&format!(
        "MOUNT='{MOUNT}'\nDIRS='{}'\n",
        STATE_DIRS.join(" ")
    ));
    s
}

/// The services that need the volume: the unit's `RequiredBy=` (each gets a `.requires`
/// link, so none of them starts without it).
pub fn required_by() -> Vec<&'static str> {
    UNIT.lines()
        .find_map(|l| l.strip_prefix("RequiredBy="))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default()
}

/// The files, then the links that enable the unit (`(dir, name)` → the unit's path).
pub fn node_files(t: &Transport) -> Vec<NodeFile> {
    vec![
        NodeFile {
            dir: &["etc", "rpinet"],
            name: "volume.conf",
            text: conf(t),
            mode: 0o644,
        },
        NodeFile::script("rpinet-volume", SCRIPT),
        NodeFile::unit(UNIT_NAME, UNIT),
    ]
}

/// The `*.wants`/`*.requires` directories (under etc/systemd/system) that link the unit.
pub fn enable_dirs() -> Vec<String> {
    let mut v = vec!["multi-user.target.wants".to_string()];
    v.extend(required_by().iter().map(|s| format!("{s}.requires")));
    v
}

/// The links that enable the unit: `(directory, unit)`.
pub fn links() -> Vec<(String, &'static str)> {
    enable_dirs().into_iter().map(|d| (d, UNIT_NAME)).collect()
}

/// Container runtimes an image may carry, each with the files that give it away (relative
/// to the root): Debian's docker.io and Docker's own docker-ce, containerd, k3s, k0s,
/// kubelet, CRI-O.
pub const RUNTIMES: [(&str, &[&str]); 6] = [
    ("docker", &["usr/sbin/dockerd", "usr/bin/dockerd"]),
    ("containerd", &["usr/bin/containerd"]),
    ("k3s", &["usr/local/bin/k3s", "usr/bin/k3s"]),
    ("k0s", &["usr/local/bin/k0s", "usr/bin/k0s"]),
    ("kubelet", &["usr/bin/kubelet"]),
    ("crio", &["usr/bin/crio"]),
];

/// The runtimes a root holds, `exists` answering for a path relative to it.
pub fn runtimes_in(exists: impl Fn(&str) -> bool) -> Vec<&'static str> {
    RUNTIMES
        .iter()
        .filter(|(_, files)| files.iter().any(|f| exists(f)))
        .map(|(name, _)| *name)
        .collect()
}

/// The runtimes in the root at router path `nfs_root` (none when it cannot be read). The
/// files are looked at, never followed out of the root.
pub fn runtimes_at(root: &Root, nfs_root: &str) -> Vec<&'static str> {
    runtimes_in(|rel| {
        std::fs::symlink_metadata(root.path(format!("{nfs_root}/{rel}"))).is_ok_and(|m| !m.is_dir())
    })
}

/// What to say of a node whose image has container runtimes but which has no volume: on an
/// NFS root they start and then fail at the first container (docs/facts.md §2.4).
pub fn no_volume_warning(node: &str, runtimes: &[&str]) -> String {
    format!(
        "node '{node}' has {} but no container volume: on an NFS root the first container fails (\"read-only file system\" under /var/lib/docker); give it one: --volume-size 32G (uci: volume_size)",
        runtimes.join(", ")
    )
}

/// What happens to a volume file of `current` bytes (None: none yet) asked to be `wanted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create(u64),
    Grow { from: u64, to: u64 },
    Keep(u64),
}

/// Volumes grow, never shrink (the filesystem on it would be cut).
pub fn change(node: &str, current: Option<u64>, wanted: u64) -> Result<Change> {
    Ok(match current {
        None => Change::Create(wanted),
        Some(c) if c == wanted => Change::Keep(c),
        Some(c) if c < wanted => Change::Grow {
            from: c,
            to: wanted,
        },
        Some(c) => bail!(
            "node '{node}': its volume is {} and volumes never shrink (asked for {})",
            crate::config::size_text(c),
            crate::config::size_text(wanted)
        ),
    })
}

/// A warning when the volumes could outgrow the SSD: they are sparse, so what they may still
/// take (size minus what they hold) is set against the free space.
pub fn overcommit(free: u64, volumes: &[(u64, u64)]) -> Option<String> {
    let may_take: u64 = volumes
        .iter()
        .map(|&(size, held)| size.saturating_sub(held))
        .sum();
    (may_take > free).then(|| {
        format!(
            "the volumes may still grow by {} GiB but the SSD has {} GiB free: a node that fills its volume will see write errors",
            may_take >> 30,
            free >> 30
        )
    })
}

/// The size and allocated bytes of the volume file in `dir` (a router path), None when there
/// is none.
pub fn stat(root: &Root, dir: &str) -> Option<(u64, u64)> {
    let d = Dir::open_path(&root.path(dir)).ok()?;
    let st = d.lstat(FILE.as_bytes()).ok()?;
    (st.st_mode & libc::S_IFMT == libc::S_IFREG)
        .then(|| (st.st_size as u64, st.st_blocks as u64 * 512))
}

/// Make the volume file in `dir` (a router path) `size` bytes: created whole (a temp file
/// renamed into place) or grown in place by one truncate; never shrunk.
pub fn ensure(root: &Root, node: &str, dir: &str, size: u64) -> Result<Change> {
    let path = root.path(dir);
    std::fs::create_dir_all(&path).ctx(|| format!("failed to create {dir}"))?;
    let d = Dir::open_path(&path).ctx(|| format!("failed to open {dir}"))?;
    let current = match d.lstat(FILE.as_bytes()) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => Some(st.st_size as u64),
        Ok(_) => bail!("{dir}/{FILE} is not a regular file"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => bail!("failed to read {dir}/{FILE}: {e}"),
    };
    let ch = change(node, current, size)?;
    let sized = |f: &std::fs::File| -> io::Result<()> {
        f.set_len(size)?;
        f.sync_all()
    };
    match ch {
        Change::Keep(_) => {}
        Change::Grow { .. } => {
            let f = d
                .open_file(FILE.as_bytes(), libc::O_WRONLY)
                .and_then(|f| sized(&f).map(|_| f));
            f.ctx(|| format!("failed to grow {dir}/{FILE}"))?;
        }
        Change::Create(_) => {
            let tmp = format!(".{FILE}.new-{}", std::process::id());
            let _ = d.unlink(tmp.as_bytes(), false);
            let made = d.create_file(tmp.as_bytes()).and_then(|f| {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                sized(&f)?;
                d.rename_noreplace(tmp.as_bytes(), &d, FILE.as_bytes())
            });
            if let Err(e) = made {
                let _ = d.unlink(tmp.as_bytes(), false);
                bail!("failed to create {dir}/{FILE}: {e}");
            }
        }
    }
    Ok(ch)
}

/// Free bytes on the filesystem holding `dir` (a router path).
pub fn free_bytes(root: &Root, dir: &str) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(&root.path(dir)).ok()?;
    Some(st.blocks_available() as u64 * st.fragment_size() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_names_transport_and_dirs() {
        let t = Transport::NfsLoop {
            server: Ipv4Addr::new(10, 0, 0, 1),
            export: "/mnt/rpinet/volumes/lion".into(),
        };
        assert_eq!(
            conf(&t),
            "# Written by rpinet at provision: this node's container volume.\n\
             TRANSPORT=nfs-loop\nSERVER='10.0.0.1'\nEXPORT='/mnt/rpinet/volumes/lion'\nFILE='disk.img'\n\
             MOUNT='/var/lib/rpinet-volume'\nDIRS='rancher containerd docker kubelet k0s'\n"
        );
    }

    #[test]
    fn runtimes_are_found_by_their_files() {
        let have = |rel: &str| ["usr/sbin/dockerd", "usr/bin/containerd"].contains(&rel);
        assert_eq!(runtimes_in(have), ["docker", "containerd"]);
        assert!(runtimes_in(|_| false).is_empty());
        let w = no_volume_warning("lion", &["docker", "containerd"]);
        assert!(w.starts_with("node 'lion' has docker, containerd but no container volume"));
        assert!(w.contains("--volume-size"));
    }

    #[test]
    fn the_unit_orders_itself_before_every_runtime_it_is_required_by() {
        let req = required_by();
        assert!(req.contains(&"k3s.service") && req.contains(&"containerd.service"));
        let before = UNIT
            .lines()
            .find_map(|l| l.strip_prefix("Before="))
            .unwrap();
        for r in &req {
            assert!(before.split_whitespace().any(|b| b == *r), "{r}");
        }
        assert!(UNIT.contains("After=network-online.target remote-fs.target"));
        assert!(UNIT.contains(&"ExecStart=/usr/local/sbin/rpinet-volume start".to_string()));
        assert_eq!(enable_dirs()[0], "multi-user.target.wants");
        assert!(enable_dirs().contains(&"docker.service.requires".to_string()));
    }

    #[test]
    fn the_script_uses_only_stock_tools_and_never_formats_a_filesystem_it_finds() {
        for tool in [
            "losetup",
            "blkid -p",
            "mkfs.ext4",
            "fsck.ext4 -p",
            "resize2fs",
            "mount --bind",
        ] {
            assert!(SCRIPT.contains(tool), "{tool}");
        }
        // mkfs only in the branch where blkid found no signature at all.
        let mkfs = SCRIPT.find("mkfs.ext4 -q").unwrap();
        let empty_case = SCRIPT.find("\t\"\")").unwrap();
        let ext4_case = SCRIPT.find("\text4)").unwrap();
        assert!(empty_case < mkfs && mkfs < ext4_case);
        for d in STATE_DIRS {
            assert!(
                conf(&Transport::NfsLoop {
                    server: Ipv4Addr::LOCALHOST,
                    export: "/x".into()
                })
                .contains(d)
            );
        }
    }

    #[test]
    fn volumes_grow_and_never_shrink() {
        let g = 1u64 << 30;
        assert_eq!(change("a", None, 32 * g).unwrap(), Change::Create(32 * g));
        assert_eq!(
            change("a", Some(32 * g), 32 * g).unwrap(),
            Change::Keep(32 * g)
        );
        assert_eq!(
            change("a", Some(32 * g), 64 * g).unwrap(),
            Change::Grow {
                from: 32 * g,
                to: 64 * g
            }
        );
        let e = change("a", Some(64 * g), 32 * g).unwrap_err();
        assert_eq!(
            e.message(),
            "node 'a': its volume is 64G and volumes never shrink (asked for 32G)"
        );
    }

    #[test]
    fn overcommit_counts_what_sparse_files_may_still_take() {
        let g = 1u64 << 30;
        assert_eq!(overcommit(100 * g, &[(32 * g, 0), (32 * g, 0)]), None);
        assert_eq!(overcommit(60 * g, &[(32 * g, 10 * g), (32 * g, 0)]), None);
        let w = overcommit(50 * g, &[(32 * g, 0), (32 * g, 0)]).unwrap();
        assert!(w.contains("64 GiB") && w.contains("50 GiB free"), "{w}");
        assert_eq!(overcommit(0, &[]), None);
    }

    #[test]
    fn ensure_creates_sparse_grows_and_refuses_to_shrink() {
        let tmp = std::env::temp_dir().join(format!("rpinet-vol-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let root = Root::under(&tmp);
        let dir = "/mnt/rpinet/volumes/lion";
        let g = 1u64 << 30;
        assert_eq!(ensure(&root, "lion", dir, g).unwrap(), Change::Create(g));
        let (size, held) = stat(&root, dir).unwrap();
        assert_eq!(size, g);
        assert!(held < 1 << 20, "sparse: {held} bytes allocated");
        assert_eq!(ensure(&root, "lion", dir, g).unwrap(), Change::Keep(g));
        assert_eq!(
            ensure(&root, "lion", dir, 2 * g).unwrap(),
            Change::Grow { from: g, to: 2 * g }
        );
        assert!(ensure(&root, "lion", dir, g).is_err());
        assert_eq!(stat(&root, dir).unwrap().0, 2 * g);
        let names: Vec<_> = std::fs::read_dir(root.path(dir))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(FILE)], "no temp file left");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
