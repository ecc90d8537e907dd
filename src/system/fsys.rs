//! Directory-handle file operations: every write of an import goes through
//! an open directory and a single path component, with `O_NOFOLLOW`, so no
//! name from an image can lead a byte outside the target tree.
//!
//! Thin safe wrappers over the `*at` syscalls (through `nix`); each takes a
//! [`Dir`] and one validated name ([`check_name`]). `unsafe` remains only
//! where nix has no wrapper on every router target: the xattr calls and
//! renameat2 (nix offers it for glibc only).

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::sys::time::TimeSpec;

/// An open directory (`O_DIRECTORY | O_NOFOLLOW`).
#[derive(Debug)]
pub struct Dir(OwnedFd);

impl AsRawFd for Dir {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// A nix result as an io one.
fn nx<T>(r: nix::Result<T>) -> io::Result<T> {
    r.map_err(io::Error::from)
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

const DIR_FLAGS: OFlag = OFlag::O_DIRECTORY
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_RDONLY)
    .union(OFlag::O_CLOEXEC);

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
        nx(nix::fcntl::open(path, DIR_FLAGS, Mode::empty())).map(Dir)
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Open the child directory `name` without following a symlink.
    pub fn open_dir(&self, name: &[u8]) -> io::Result<Dir> {
        nx(nix::fcntl::openat(self, name, DIR_FLAGS, Mode::empty())).map(Dir)
    }

    pub fn mkdir(&self, name: &[u8], mode: u32) -> io::Result<()> {
        nx(nix::sys::stat::mkdirat(
            self,
            name,
            Mode::from_bits_truncate(mode as libc::mode_t),
        ))
    }

    /// Create a new regular file (fails if anything exists under `name`).
    pub fn create_file(&self, name: &[u8]) -> io::Result<File> {
        self.open_file(name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)
    }

    /// Open an existing regular file for writing (never through a symlink).
    pub fn open_file(&self, name: &[u8], flags: libc::c_int) -> io::Result<File> {
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        nx(nix::fcntl::openat(
            self,
            name,
            flags,
            Mode::from_bits_truncate(0o600),
        ))
        .map(File::from)
    }

    pub fn symlink(&self, target: &[u8], name: &[u8]) -> io::Result<()> {
        nx(nix::unistd::symlinkat(target, self, name))
    }

    /// Make a device node, fifo or socket; `mode` holds the type bits and the permissions.
    pub fn mknod(&self, name: &[u8], mode: u32, rdev: u64) -> io::Result<()> {
        let mode = mode as libc::mode_t;
        nx(nix::sys::stat::mknodat(
            self,
            name,
            SFlag::from_bits_truncate(mode & libc::S_IFMT),
            Mode::from_bits_truncate(mode & 0o7777),
            rdev as libc::dev_t,
        ))
    }

    /// Hard-link `from/old` as `self/new` (the link itself, never its target).
    pub fn link_from(&self, from: &Dir, old: &[u8], new: &[u8]) -> io::Result<()> {
        nx(nix::unistd::linkat(from, old, self, new, AtFlags::empty()))
    }

    pub fn unlink(&self, name: &[u8], dir: bool) -> io::Result<()> {
        let flags = if dir {
            nix::unistd::UnlinkatFlags::RemoveDir
        } else {
            nix::unistd::UnlinkatFlags::NoRemoveDir
        };
        nx(nix::unistd::unlinkat(self, name, flags))
    }

    /// Rename `self/old` to `to/new`; fails when `to/new` exists. Where the filesystem takes
    /// no renameat2 flags (NFS: EINVAL), a look first and a plain rename: every writer of
    /// rpinet's trees holds the state lock, so nothing comes between the two.
    pub fn rename_noreplace(&self, old: &[u8], to: &Dir, new: &[u8]) -> io::Result<()> {
        match self.renameat2(old, to, new, 1) {
            // RENAME_NOREPLACE
            Err(e) if e.raw_os_error() != Some(libc::EINVAL) => Err(e),
            Err(_) if to.lstat(new).is_ok() => Err(io::Error::from_raw_os_error(libc::EEXIST)),
            Err(_) => self.rename(old, to, new),
            Ok(()) => Ok(()),
        }
    }

    /// renameat2(2) with `flags` (libc has no wrapper for it on every target).
    fn renameat2(&self, old: &[u8], to: &Dir, new: &[u8], flags: libc::c_long) -> io::Result<()> {
        let o = cstr(old)?;
        let n = cstr(new)?;
        // SAFETY: both names are NUL-terminated CStrings that outlive the call, and both
        // descriptors are open directories borrowed for its length; the kernel reads
        // nothing else.
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
        nx(nix::fcntl::renameat(self, old, to, new))
    }

    /// Swap `self/a` and `to/b` atomically (RENAME_EXCHANGE). EINVAL where the filesystem
    /// takes no renameat2 flags (NFS): the caller decides what a swap in steps may cost.
    pub fn exchange(&self, a: &[u8], to: &Dir, b: &[u8]) -> io::Result<()> {
        self.renameat2(a, to, b, 2) // RENAME_EXCHANGE
    }

    /// lstat of `name` in this directory.
    pub fn lstat(&self, name: &[u8]) -> io::Result<libc::stat> {
        nx(nix::sys::stat::fstatat(
            self,
            name,
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ))
    }

    /// Owner, then mode, of `name` itself (a symlink's mode is left alone).
    pub fn chown(&self, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
        nx(nix::unistd::fchownat(
            self,
            name,
            Some(uid.into()),
            Some(gid.into()),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ))
    }

    pub fn chmod(&self, name: &[u8], mode: u32) -> io::Result<()> {
        nx(nix::sys::stat::fchmodat(
            self,
            name,
            Mode::from_bits_truncate(mode as libc::mode_t),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        ))
    }

    /// Set access and modification time of `name` itself.
    pub fn set_times(&self, name: &[u8], atime: (i64, u32), mtime: (i64, u32)) -> io::Result<()> {
        nx(nix::sys::stat::utimensat(
            self,
            name,
            &timespec(atime),
            &timespec(mtime),
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        ))
    }

    /// Set an extended attribute on `name` itself (not through a symlink).
    pub fn set_xattr(&self, name: &[u8], key: &[u8], value: &[u8]) -> io::Result<()> {
        let path = format!("/proc/self/fd/{}/", self.fd()).into_bytes();
        let mut p = path;
        p.extend_from_slice(name);
        let p = cstr(&p)?;
        let k = cstr(key)?;
        // SAFETY: path and key are NUL-terminated CStrings and `value` a live slice whose
        // length is passed with it; nothing is kept after the call.
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
        use std::os::unix::ffi::OsStringExt;
        nx(nix::fcntl::readlinkat(self, name)).map(|t| t.into_vec())
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
            // SAFETY: `p` and `k` are NUL-terminated and `buf` holds `n` bytes (read_xattrs
            // and sized pass a live buffer and its length, or null and 0 to ask the size).
            |buf, n| unsafe { libc::llistxattr(p.as_ptr(), buf.cast(), n) },
            // SAFETY: as above.
            |k, buf, n| unsafe { libc::lgetxattr(p.as_ptr(), k.as_ptr(), buf, n) },
        )
    }

    /// The names in this directory, without . and ..
    pub fn names(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut d = nx(nix::dir::Dir::openat(self, ".", DIR_FLAGS, Mode::empty()))?;
        let mut out = Vec::new();
        for e in d.iter() {
            let name = nx(e)?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                out.push(name);
            }
        }
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
    nix::unistd::geteuid().is_root()
}

fn timespec((sec, nsec): (i64, u32)) -> TimeSpec {
    TimeSpec::new(sec as _, nsec.min(999_999_999) as _)
}

/// The filesystem keeps no extended attributes at all: storage on an NFSv3 server (the
/// protocol carries none, so no node would see them over NFSv3 from any server, the
/// router's nfsd included). Copies go on without them.
pub fn no_xattrs(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EOPNOTSUPP)
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
    // SAFETY: `f` is borrowed for the whole function, so its descriptor stays open.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut errs = Vec::new();
    // chown clears setuid/setgid and capabilities: owner first, then mode, then xattrs.
    // `chown` is false without root (owners cannot be given away: ours are kept,
    // as the caller reports) or when the owner is already right.
    if chown {
        if let Err(e) = nix::unistd::fchown(bfd, Some(uid.into()), Some(gid.into())) {
            errs.push(format!("chown: {}", io::Error::from(e)));
        }
    }
    let mode = Mode::from_bits_truncate((mode & 0o7777) as libc::mode_t);
    if let Err(e) = nix::sys::stat::fchmod(bfd, mode) {
        errs.push(format!("chmod: {}", io::Error::from(e)));
    }
    for (k, v) in xattrs {
        let Ok(kc) = CString::new(k.clone()) else {
            errs.push("xattr name holds NUL".into());
            continue;
        };
        // SAFETY: `fd` is open (borrowed above), `kc` NUL-terminated, `v` a live slice whose
        // length goes with it.
        if unsafe { libc::fsetxattr(fd, kc.as_ptr(), v.as_ptr().cast(), v.len(), 0) } < 0 {
            let e = io::Error::last_os_error();
            if !no_xattrs(&e) {
                errs.push(format!("xattr {}: {e}", String::from_utf8_lossy(k)));
            }
        }
    }
    errs
}

/// Extended attributes of an open file or directory: one syscall when it
/// has none (the usual case); none at all where the filesystem has none.
pub fn xattrs_fd(f: &impl AsRawFd) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let fd = f.as_raw_fd();
    read_xattrs(
        // SAFETY: `f` is borrowed, so `fd` is open; `buf` holds `n` bytes (or is null with 0).
        |buf, n| unsafe { libc::flistxattr(fd, buf.cast(), n) },
        // SAFETY: as above, and `k` is NUL-terminated.
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

pub fn set_times_fd(f: &impl AsFd, atime: (i64, u32), mtime: (i64, u32)) -> io::Result<()> {
    nx(nix::sys::stat::futimens(
        f,
        &timespec(atime),
        &timespec(mtime),
    ))
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
