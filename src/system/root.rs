//! Where absolute paths land: the real `/` on a router, or `--root DIR`.
//!
//! docs/SPEC.md §3: with `--root DIR` every absolute path rpinet reads or writes is
//! taken under DIR and no service is reloaded or signalled. Generated files
//! still name router paths; only the place they are written to moves.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    base: Option<PathBuf>,
}

impl Root {
    /// The live system: paths are used as they are and services are touched.
    pub fn live() -> Self {
        Root { base: None }
    }

    /// A `--root DIR` tree: paths are mapped under `dir`, services are left alone.
    pub fn under(dir: impl Into<PathBuf>) -> Self {
        Root {
            base: Some(dir.into()),
        }
    }

    /// True when rpinet may reload or signal services (no `--root`).
    pub fn is_live(&self) -> bool {
        self.base.is_none()
    }

    /// Map a router path (absolute) to where it is on this machine.
    pub fn path(&self, router_path: impl AsRef<Path>) -> PathBuf {
        let p = router_path.as_ref();
        match &self.base {
            None => p.to_path_buf(),
            Some(base) => base.join(p.strip_prefix("/").unwrap_or(p)),
        }
    }

    /// The router path of a path on this machine (None: it is outside `--root DIR`).
    pub fn router_path(&self, host: &Path) -> Option<PathBuf> {
        match &self.base {
            None => Some(host.to_path_buf()),
            Some(base) => host.strip_prefix(base).ok().map(|r| Path::new("/").join(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_paths_are_unchanged() {
        assert_eq!(
            Root::live().path("/etc/config/rpinet"),
            PathBuf::from("/etc/config/rpinet")
        );
        assert!(Root::live().is_live());
    }

    #[test]
    fn root_maps_absolute_paths_under_dir() {
        let r = Root::under("/tmp/lab");
        assert_eq!(
            r.path("/etc/exports"),
            PathBuf::from("/tmp/lab/etc/exports")
        );
        assert_eq!(r.path("mnt/x"), PathBuf::from("/tmp/lab/mnt/x"));
        assert_eq!(
            r.router_path(Path::new("/tmp/lab/mnt/x")),
            Some(PathBuf::from("/mnt/x"))
        );
        assert_eq!(r.router_path(Path::new("/tmp/other")), None);
        assert!(!r.is_live());
    }
}
