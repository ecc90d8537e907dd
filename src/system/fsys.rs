//! Directory-handle file operations: every write of an import goes through
//! an open directory and a single path component, with `O_NOFOLLOW`, so no
//! name from an image can lead a byte outside the target tree.
//!
//! Thin safe wrappers over the `*at` syscalls (libc); each takes a [`Dir`]
//! and one validated name ([`check_name`]).

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// An open directory (`O_DIRECTORY | O_NOFOLLOW`).
#[derive(Debug)]
pub struct Dir(OwnedFd);

impl AsRawFd for Dir {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cstr(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name holds NUL"))
}

/// Why a name from an image cannot be used as one path component, if it cannot.
pub fn check_name(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty name")
    } else if name == b"." || name == b".." {
        Some("name is . or ..")
    } else if name.contains(&b'/') {
        Some("name holds '/'")
    } else if name.contains(&0) {
        Some("name holds NUL")
    } else if name.len() > 255 {
        Some("name longer than 255 bytes")
    } else {
        None
    }
}

const DIR_FLAGS: libc::c_int =
    libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_RDONLY | libc::O_CLOEXEC;

/// Replace `name` in `dir` with `data`, so a reader sees the old file or the new one, never
/// a mix: a temp file of this process's own (`O_EXCL`, so two writers never share one) is
/// written beside it, given `mode` (and `owner`), fsynced when `durable`, and renamed over
/// `name`. On failure the temp file is removed. rpinet's one atomic writer: every file it
/// replaces goes through here.
pub fn replace(
    dir: &Dir,
    name: &[u8],
    data: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    durable: bool,
) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let suffix = format!(".rpinet-{}-{seq}", std::process::id());
    let mut tmp = b".".to_vec();
    tmp.extend_from_slice(&name[..name.len().min(255 - 1 - suffix.len())]);
    tmp.extend_from_slice(suffix.as_bytes());
    let mut f = dir.create_file(&tmp)?;
    let r = (|| {
        f.write_all(data)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        if durable {
            f.sync_all()?;
        }
        dir.rename(&tmp, dir, name)
    })();
    if r.is_err() {
        let _ = dir.unlink(&tmp, false);
    }
    r
}

impl Dir {
    /// Open a directory by a path rpinet chose (a router path: symlinks in it are followed,
    /// as OpenWrt's /var is one).
    pub fn open_router_path(path: &Path) -> io::Result<Dir> {
        std::fs::File::open(path).and_then(|f| {
            if f.metadata()?.is_dir() {
                Ok(Dir(OwnedFd::from(f)))
            } else {
                Err(io::Error::from_raw_os_error(libc::ENOTDIR))
            }
        })
    }

    /// Open a directory by an ordinary path (the trusted part: storage paths).
    pub fn open_path(path: &Path) -> io::Result<Dir> {
        use std::os::unix::ffi::OsStrExt;
        let c = cstr(path.as_os_str().as_bytes())?;
        let fd = cvt(unsafe { libc::open(c.as_ptr(), DIR_FLAGS) })?;
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Open the child directory `name` without following a symlink.
    pub fn open_dir(&self, name: &[u8]) -> io::Result<Dir> {
        let c = cstr(name)?;
        let fd = cvt(unsafe { libc::openat(self.fd(), c.as_ptr(), DIR_FLAGS) })?;
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn mkdir(&self, name: &[u8], mode: u32) -> io::Result<()> {
        let c = cstr(name)?;
        cvt(unsafe { libc::mkdirat(self.fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
    }

    /// Create a new regular file (fails if anything exists under `name`).
    pub fn create_file(&self, name: &[u8]) -> io::Result<File> {
        self.open_file(name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)
    }

    /// Open an existing regular file for writing (never through a symlink).
    pub fn open_file(&self, name: &[u8], flags: libc::c_int) -> io::Result<File> {
        let c = cstr(name)?;
        let fd = cvt(unsafe {
            libc::openat(
                self.fd(),
                c.as_ptr(),
                flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        })?;
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    pub fn symlink(&self, target: &[u8], name: &[u8]) -> io::Result<()> {
        let t = cstr(target)?;
        let c = cstr(name)?;
        cvt(unsafe { libc::symlinkat(t.as_ptr(), self.fd(), c.as_ptr()) }).map(drop)
    }

    pub fn mknod(&self, name: &[u8], mode: u32, rdev: u64) -> io::Result<()> {
        let c = cstr(name)?;
        cvt(unsafe {
            libc::mknodat(
                self.fd(),
                c.as_ptr(),
                mode as libc::mode_t,
                rdev as libc::dev_t,
            )
        })
        .map(drop)
    }

    /// Hard-link `from/old` as `self/new` (the link itself, never its target).
    pub fn link_from(&self, from: &Dir, old: &[u8], new: &[u8]) -> io::Result<()> {
        let o = cstr(old)?;
        let n = cstr(new)?;
        cvt(unsafe { libc::linkat(from.fd(), o.as_ptr(), self.fd(), n.as_ptr(), 0) }).map(drop)
    }

    pub fn unlink(&self, name: &[u8], dir: bool) -> io::Result<()> {
        let c = cstr(name)?;
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        cvt(unsafe { libc::unlinkat(self.fd(), c.as_ptr(), flags) }).map(drop)
    }

    /// Rename `self/old` to `to/new`; fails when `to/new` exists.
    pub fn rename_noreplace(&self, old: &[u8], to: &Dir, new: &[u8]) -> io::Result<()> {
        self.renameat2(old, to, new, 1) // RENAME_NOREPLACE
    }

    /// renameat2(2) with `flags` (libc has no wrapper for it on every target).
    fn renameat2(&self, old: &[u8], to: &Dir, new: &[u8], flags: libc::c_long) -> io::Result<()> {
        let o = cstr(old)?;
        let n = cstr(new)?;
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                self.fd() as libc::c_long,
                o.as_ptr(),
                to.fd() as libc::c_long,
                n.as_ptr(),
                flags,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Rename `self/old` to `to/new`, atomically replacing `to/new`.
    pub fn rename(&self, old: &[u8], to: &Dir, new: &[u8]) -> io::Result<()> {
        let o = cstr(old)?;
        let n = cstr(new)?;
        cvt(unsafe { libc::renameat(self.fd(), o.as_ptr(), to.fd(), n.as_ptr()) }).map(drop)
    }

    /// Swap `self/a` and `to/b` atomically (RENAME_EXCHANGE).
    pub fn exchange(&self, a: &[u8], to: &Dir, b: &[u8]) -> io::Result<()> {
        self.renameat2(a, to, b, 2) // RENAME_EXCHANGE
    }

    /// lstat of `name` in this directory.
    pub fn lstat(&self, name: &[u8]) -> io::Result<libc::stat> {
        let c = cstr(name)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        cvt(unsafe { libc::fstatat(self.fd(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
        Ok(st)
    }

    /// Owner, then mode, of `name` itself (a symlink's mode is left alone).
    pub fn chown(&self, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
        let c = cstr(name)?;
        cvt(unsafe { libc::fchownat(self.fd(), c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
            .map(drop)
    }

    pub fn chmod(&self, name: &[u8], mode: u32) -> io::Result<()> {
        let c = cstr(name)?;
        cvt(unsafe { libc::fchmodat(self.fd(), c.as_ptr(), mode as libc::mode_t, 0) }).map(drop)
    }

    /// Set access and modification time of `name` itself.
    pub fn set_times(&self, name: &[u8], atime: (i64, u32), mtime: (i64, u32)) -> io::Result<()> {
        let c = cstr(name)?;
        let ts = [timespec(atime), timespec(mtime)];
        cvt(unsafe {
            libc::utimensat(
                self.fd(),
                c.as_ptr(),
                ts.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(drop)
    }

    /// Set an extended attribute on `name` itself (not through a symlink).
    pub fn set_xattr(&self, name: &[u8], key: &[u8], value: &[u8]) -> io::Result<()> {
        let path = format!("/proc/self/fd/{}/", self.fd()).into_bytes();
        let mut p = path;
        p.extend_from_slice(name);
        let p = cstr(&p)?;
        let k = cstr(key)?;
        cvt(unsafe {
            libc::lsetxattr(
                p.as_ptr(),
                k.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        })
        .map(drop)
    }

    /// The target of the symlink `name`.
    pub fn readlink(&self, name: &[u8]) -> io::Result<Vec<u8>> {
        let c = cstr(name)?;
        let mut buf = vec![0u8; 4096];
        let n =
            unsafe { libc::readlinkat(self.fd(), c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    /// Hard-link `rel` (a path of directories this program made, below
    /// `from`) as `self/new`.
    pub fn link_path(&self, from: &Dir, rel: &[u8], new: &[u8]) -> io::Result<()> {
        self.link_from(from, rel, new)
    }

    /// Extended attributes of `name` itself (not through a symlink).
    pub fn xattrs(&self, name: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut p = format!("/proc/self/fd/{}/", self.fd()).into_bytes();
        p.extend_from_slice(name);
        let p = cstr(&p)?;
        read_xattrs(
            |buf, n| unsafe { libc::llistxattr(p.as_ptr(), buf.cast(), n) },
            |k, buf, n| unsafe { libc::lgetxattr(p.as_ptr(), k.as_ptr(), buf, n) },
        )
    }

    pub fn names(&self) -> io::Result<Vec<Vec<u8>>> {
        let fd = cvt(unsafe { libc::openat(self.fd(), c".".as_ptr(), DIR_FLAGS) })?;
        let dirp = unsafe { libc::fdopendir(fd) };
        if dirp.is_null() {
            let e = io::Error::last_os_error();
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let mut out = Vec::new();
        loop {
            let ent = unsafe { libc::readdir(dirp) };
            if ent.is_null() {
                break;
            }
            let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                out.push(name.to_vec());
            }
        }
        unsafe { libc::closedir(dirp) };
        Ok(out)
    }

    /// Remove `name` and everything below it, never following a symlink.
    pub fn remove_tree(&self, name: &[u8]) -> io::Result<()> {
        let st = match self.lstat(name) {
            Ok(st) => st,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return self.unlink(name, false);
        }
        // Iterative walk: a stack of (open directory, names left, its own name).
        let top = self.open_dir(name)?;
        let names = top.names()?;
        let mut stack: Vec<(Dir, Vec<Vec<u8>>, Vec<u8>)> = vec![(top, names, name.to_vec())];
        while let Some((dir, names, _)) = stack.last_mut() {
            match names.pop() {
                Some(n) => {
                    let st = dir.lstat(&n)?;
                    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                        // A read-only directory cannot lose its entries.
                        let _ = dir.chmod(&n, 0o700);
                        let sub = dir.open_dir(&n)?;
                        let sub_names = sub.names()?;
                        stack.push((sub, sub_names, n));
                    } else {
                        dir.unlink(&n, false)?;
                    }
                }
                None => {
                    let Some((_, _, own)) = stack.pop() else {
                        break;
                    };
                    match stack.last() {
                        Some((parent, _, _)) => parent.unlink(&own, true)?,
                        None => self.unlink(&own, true)?,
                    }
                }
            }
        }
        Ok(())
    }
}

/// True when running as root (owners and device nodes can be made).
pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn timespec((sec, nsec): (i64, u32)) -> libc::timespec {
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    t.tv_sec = sec as _;
    t.tv_nsec = nsec.min(999_999_999) as _;
    t
}

/// Owner, mode, xattrs and times of an open file (used on regular files and directories).
pub fn set_meta_fd(
    f: &impl AsRawFd,
    chown: bool,
    uid: u32,
    gid: u32,
    mode: u32,
    xattrs: &[(Vec<u8>, Vec<u8>)],
) -> Vec<String> {
    let fd = f.as_raw_fd();
    let mut errs = Vec::new();
    // chown clears setuid/setgid and capabilities: owner first, then mode, then xattrs.
    // `chown` is false without root (owners cannot be given away: ours are kept,
    // as the caller reports) or when the owner is already right.
    if chown && unsafe { libc::fchown(fd, uid, gid) } < 0 {
        errs.push(format!("chown: {}", io::Error::last_os_error()));
    }
    if unsafe { libc::fchmod(fd, (mode & 0o7777) as libc::mode_t) } < 0 {
        errs.push(format!("chmod: {}", io::Error::last_os_error()));
    }
    for (k, v) in xattrs {
        let Ok(kc) = CString::new(k.clone()) else {
            errs.push("xattr name holds NUL".into());
            continue;
        };
        if unsafe { libc::fsetxattr(fd, kc.as_ptr(), v.as_ptr().cast(), v.len(), 0) } < 0 {
            errs.push(format!(
                "xattr {}: {}",
                String::from_utf8_lossy(k),
                io::Error::last_os_error()
            ));
        }
    }
    errs
}

/// Extended attributes of an open file or directory: one syscall when it
/// has none (the usual case); none at all where the filesystem has none.
pub fn xattrs_fd(f: &impl AsRawFd) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let fd = f.as_raw_fd();
    read_xattrs(
        |buf, n| unsafe { libc::flistxattr(fd, buf.cast(), n) },
        |k, buf, n| unsafe { libc::fgetxattr(fd, k.as_ptr(), buf, n) },
    )
}

/// Every (name, value), through a list and a get call (path or fd flavour).
fn read_xattrs(
    mut list: impl FnMut(*mut libc::c_void, usize) -> libc::ssize_t,
    mut get: impl FnMut(&CString, *mut libc::c_void, usize) -> libc::ssize_t,
) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let names = match sized(&mut list) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for k in names.split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let kc = cstr(k)?;
        match sized(|p, n| get(&kc, p, n)) {
            Ok(v) => out.push((k.to_vec(), v)),
            // Removed since it was listed.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The usual dance of the xattr syscalls: ask the size, then fetch (again
/// when the value grew in between).
fn sized(mut call: impl FnMut(*mut libc::c_void, usize) -> libc::ssize_t) -> io::Result<Vec<u8>> {
    for _ in 0..8 {
        let n = call(std::ptr::null_mut(), 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; n as usize];
        let m = call(buf.as_mut_ptr().cast(), buf.len());
        if m >= 0 {
            buf.truncate(m as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) {
            return Err(e);
        }
    }
    Err(io::Error::from_raw_os_error(libc::ERANGE))
}

pub fn set_times_fd(f: &impl AsRawFd, atime: (i64, u32), mtime: (i64, u32)) -> io::Result<()> {
    let ts = [timespec(atime), timespec(mtime)];
    cvt(unsafe { libc::futimens(f.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_one_component_are_refused() {
        assert!(check_name(b"").is_some());
        assert!(check_name(b".").is_some());
        assert!(check_name(b"..").is_some());
        assert!(check_name(b"a/b").is_some());
        assert!(check_name(b"a\0b").is_some());
        assert!(check_name(&[b'x'; 256]).is_some());
        assert!(check_name(b"...").is_none());
        assert!(check_name(b".hidden").is_none());
    }
}
