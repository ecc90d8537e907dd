//! Files of a node's root (or boot directory) read and written through directory handles,
//! never through a symlink the image holds: the one way `customise` and `keys` touch a
//! freshly copied tree.

use std::io::Read;

use crate::bail;
use crate::error::{Context, Result};
use crate::system::fsys::{self, Dir};

/// Open `path` (components) below `top`, refusing symlinks on the way.
pub fn dir_at(top: &Dir, path: &[&str]) -> std::io::Result<Dir> {
    let mut d = top.open_dir(b".")?;
    for c in path {
        d = d.open_dir(c.as_bytes())?;
    }
    Ok(d)
}

/// Make the directories of `path` below `top` as needed (0755, root-owned).
pub fn mkdirs(top: &Dir, path: &[&str]) -> std::io::Result<Dir> {
    let mut d = top.open_dir(b".")?;
    for c in path {
        match d.mkdir(c.as_bytes(), 0o755) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        d = d.open_dir(c.as_bytes())?;
    }
    Ok(d)
}

/// The text of `dir/name`; None when it does not exist.
pub fn read(dir: &Dir, name: &str) -> Result<Option<String>> {
    match dir.open_file(name.as_bytes(), libc::O_RDONLY) {
        Ok(f) => {
            let mut s = Vec::new();
            f.take(1 << 20)
                .read_to_end(&mut s)
                .ctx(|| format!("failed to read {name}"))?;
            Ok(Some(String::from_utf8_lossy(&s).into_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::error::Error::new(format!(
            "failed to open {name}: {e}"
        ))),
    }
}

/// Replace `dir/name` atomically, keeping the old file's owner and mode
/// (else root and `mode`).
pub fn write(dir: &Dir, name: &str, text: &str, mode: u32) -> Result<()> {
    let (uid, gid, mode) = match dir.lstat(name.as_bytes()) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => {
            (st.st_uid, st.st_gid, st.st_mode & 0o7777)
        }
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
            bail!("{name} is a directory in the image")
        }
        _ => (0, 0, mode),
    };
    fsys::replace(
        dir,
        name.as_bytes(),
        text.as_bytes(),
        mode,
        Some((uid, gid)),
        true,
    )
    .ctx(|| format!("failed to replace {name}"))
}

/// Remove `dir/name`; false when it was not there.
pub fn unlink_if(dir: &Dir, name: &str) -> Result<bool> {
    match dir.unlink(name.as_bytes(), false) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(crate::error::Error::new(format!(
            "failed to remove {name}: {e}"
        ))),
    }
}

/// One file rpinet puts into a node's root: directory components below the root, name,
/// content, mode.
pub struct NodeFile {
    pub dir: &'static [&'static str],
    pub name: &'static str,
    pub text: String,
    pub mode: u32,
}

impl NodeFile {
    /// A script of rpinet's in /usr/local/sbin.
    pub fn script(name: &'static str, text: &str) -> NodeFile {
        NodeFile {
            dir: &["usr", "local", "sbin"],
            name,
            text: text.to_string(),
            mode: 0o755,
        }
    }

    /// A unit of rpinet's in /etc/systemd/system.
    pub fn unit(name: &'static str, text: &str) -> NodeFile {
        NodeFile {
            dir: &["etc", "systemd", "system"],
            name,
            text: text.to_string(),
            mode: 0o644,
        }
    }
}

/// Write `files` into the root (modes as given, whatever the image had) and link each
/// `(dir, unit)` of `links` (a `*.wants`/`*.requires` directory under etc/systemd/system) to
/// /etc/systemd/system/UNIT, as `systemctl enable` would.
pub fn install(root: &Dir, etc: &Dir, files: &[NodeFile], links: &[(String, &str)]) -> Result<()> {
    for f in files {
        let d = mkdirs(root, f.dir).ctx(|| format!("failed to make {}", f.dir.join("/")))?;
        write(&d, f.name, &f.text, f.mode)?;
        // write() keeps an image file's mode; these are ours.
        d.chmod(f.name.as_bytes(), f.mode)
            .ctx(|| format!("failed to set the mode of {}", f.name))?;
    }
    for (sub, unit) in links {
        let d = mkdirs(etc, &["systemd", "system", sub])
            .ctx(|| format!("failed to make etc/systemd/system/{sub}"))?;
        let _ = unlink_if(&d, unit)?;
        let target = format!("/etc/systemd/system/{unit}");
        d.symlink(target.as_bytes(), unit.as_bytes())
            .ctx(|| format!("failed to link {unit} into {sub}"))?;
    }
    Ok(())
}
