//! The overlays of shared roots (docs/SPEC.md §2): what the kernel's mount table says is
//! mounted, and the mount and unmount that change it.
//!
//! A shared root is the image's root (the lower layer, which nothing writes once it is
//! imported) under the node's own upper and work directories on the SSD, mounted on the
//! node's nfs directory with `index=on,nfs_export=on` so that nfsd can export it and its file
//! handles stay valid across remounts (docs/facts.md §3.5). The mount table is the kernel's
//! own (`/proc/self/mounts`) also under `--root DIR`: the mounts are real; their paths are
//! mapped back to router paths.

use std::path::Path;

use crate::error::{Error, Result};
use crate::system::root::Root;
use crate::system::storage::unescape;

/// An overlay in the mount table, its paths as router paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    pub at: String,
    pub lower: String,
    pub upper: String,
}

/// The overlays of a mount table text (/proc/self/mounts), their paths mapped back through
/// `root` (an overlay outside `--root DIR` is left out).
pub fn parse(table: &str, root: &Root) -> Vec<Overlay> {
    let router = |p: &str| {
        root.router_path(Path::new(p))
            .map(|p| p.to_string_lossy().into_owned())
    };
    table
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            if f.len() < 4 || f[2] != "overlay" {
                return None;
            }
            let opt = |k: &str| {
                f[3].split(',')
                    .find_map(|o| o.strip_prefix(k))
                    .map(unescape)
            };
            Some(Overlay {
                at: router(&unescape(f[1]))?,
                lower: router(&opt("lowerdir=")?)?,
                upper: router(&opt("upperdir=")?)?,
            })
        })
        .collect()
}

/// The overlays mounted now.
pub fn mounted(root: &Root) -> Vec<Overlay> {
    parse(
        &std::fs::read_to_string("/proc/self/mounts").unwrap_or_default(),
        root,
    )
}

/// The mount options of a shared root (host paths). The kernel splits options at `,` and
/// lower layers at `:`; a path holding either, or `\`, cannot be given.
pub fn options(lower: &Path, upper: &Path, work: &Path) -> Result<String> {
    let mut out = String::new();
    for (key, p) in [("lowerdir", lower), ("upperdir", upper), ("workdir", work)] {
        let s = p.to_str().unwrap_or(",");
        if s.bytes().any(|b| matches!(b, b',' | b':' | b'\\')) {
            return Err(Error::new(format!(
                "{} cannot be an overlay layer: its path has ',', ':' or '\\'",
                p.display()
            )));
        }
        out.push_str(&format!("{key}={s},"));
    }
    // nfs_export needs the index; metacopy would conflict with it (and the kernel's default
    // may turn it on).
    out.push_str("index=on,nfs_export=on,metacopy=off");
    Ok(out)
}

/// Mount the overlay of `lower` under `upper` (with `work`) on `at` (router paths).
pub fn mount(root: &Root, lower: &str, upper: &str, work: &str, at: &str) -> Result<()> {
    let opts = options(&root.path(lower), &root.path(upper), &root.path(work))?;
    nix::mount::mount(
        Some("overlay"),
        &root.path(at),
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(opts.as_str()),
    )
    .map_err(|e| {
        Error::new(format!(
            "failed to mount the shared root on {at} (overlay of {lower} under {upper}): {e}; \
             the kernel log (dmesg | grep overlay) says why"
        ))
    })
}

/// Detach whatever is mounted on `at` (a router path); nothing mounted there is no error.
/// Detached, not unmounted: nfsd may still hold files of it, which it lets go of by itself.
pub fn unmount(root: &Root, at: &str) -> Result<()> {
    match nix::mount::umount2(&root.path(at), nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(Error::new(format!("failed to unmount {at}: {e}"))),
    }
}

/// Whether the kernel has the overlay filesystem (`/proc/filesystems`); None when that file
/// cannot be read.
pub fn supported(root: &Root) -> Option<bool> {
    crate::system::storage::kernel_has(root, "overlay")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlays_are_read_back_as_router_paths() {
        let table = "/dev/sda1 /lab/mnt/rpinet ext4 rw,relatime 0 0\n\
            overlay /lab/mnt/rpinet/nfs/lion overlay rw,relatime,lowerdir=/lab/mnt/rpinet/images/bw/root,upperdir=/lab/mnt/rpinet/roots/lion/upper,workdir=/lab/mnt/rpinet/roots/lion/work,index=on,nfs_export=on 0 0\n\
            overlay /var/lib/docker/x overlay rw,lowerdir=/a,upperdir=/b,workdir=/c 0 0\n\
            overlay /lab/sp\\040ace overlay rw,lowerdir=/lab/l\\054x,upperdir=/lab/u,workdir=/lab/w 0 0\n";
        let got = parse(table, &Root::under("/lab"));
        assert_eq!(
            got,
            vec![
                Overlay {
                    at: "/mnt/rpinet/nfs/lion".into(),
                    lower: "/mnt/rpinet/images/bw/root".into(),
                    upper: "/mnt/rpinet/roots/lion/upper".into(),
                },
                Overlay {
                    at: "/sp ace".into(),
                    lower: "/l,x".into(),
                    upper: "/u".into(),
                }
            ]
        );
        assert_eq!(parse(table, &Root::live()).len(), 3);
    }

    #[test]
    fn options_name_the_layers_and_refuse_separators() {
        let o = options(
            Path::new("/s/images/a/root"),
            Path::new("/s/u"),
            Path::new("/s/w"),
        );
        assert_eq!(
            o.unwrap(),
            "lowerdir=/s/images/a/root,upperdir=/s/u,workdir=/s/w,index=on,nfs_export=on,metacopy=off"
        );
        for bad in ["/s/a,b", "/s/a:b", "/s/a\\b"] {
            let e = options(Path::new(bad), Path::new("/u"), Path::new("/w")).unwrap_err();
            assert!(e.to_string().contains("cannot be an overlay layer"), "{e}");
        }
    }
}
