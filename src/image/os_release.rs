//! An OS tree's os-release: which release an image or a node root holds. Read once, here,
//! through directory handles (an image's /etc/os-release is a symlink; an absolute one must
//! not lead out of the tree, so only the two places the spec names are opened, no link
//! followed), and parsed by a pure function.

use std::io::Read;

use crate::system::fsys::Dir;

/// VERSION_CODENAME from os-release text ("" when absent).
pub fn codename(text: &str) -> String {
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("VERSION_CODENAME=") {
            return v.trim().trim_matches('"').trim_matches('\'').to_string();
        }
    }
    String::new()
}

/// The codename of the OS tree at `root_dir` (etc/os-release, else usr/lib/os-release, as
/// os-release(5) says); "" when neither can be read.
pub fn read_codename(root_dir: &Dir) -> String {
    let read = || -> Option<String> {
        let etc = root_dir.open_dir(b"etc").ok()?;
        let mut f = etc.open_file(b"os-release", libc::O_RDONLY).ok();
        if f.is_none() {
            // usually a symlink to ../usr/lib/os-release
            let usr = root_dir.open_dir(b"usr").ok()?.open_dir(b"lib").ok()?;
            f = usr.open_file(b"os-release", libc::O_RDONLY).ok();
        }
        let mut s = String::new();
        f?.take(64 << 10).read_to_string(&mut s).ok()?;
        Some(codename(&s))
    };
    read().unwrap_or_default()
}

/// [`read_codename`] of the tree at a path (the path itself is trusted: a node's or an
/// image's root directory that rpinet made).
pub fn read_codename_at(root_dir: &std::path::Path) -> String {
    Dir::open_path(root_dir)
        .map(|d| read_codename(&d))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codename_is_read_from_os_release() {
        assert_eq!(codename("ID=debian\nVERSION_CODENAME=trixie\n"), "trixie");
        assert_eq!(codename("VERSION_CODENAME=\"bookworm\""), "bookworm");
        assert_eq!(codename(""), "");
    }
}
