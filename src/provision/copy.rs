//! Copy an image tree to a node: reflink where the filesystem can
//! (FICLONE), else an in-kernel copy of the data ranges only (holes stay
//! holes); hard links inside the tree stay hard links, and nothing is ever
//! hard-linked into the image. Owner, mode, xattrs and times are kept. All
//! through directory handles; symlinks are copied, never followed.
//!
//! One walker thread makes the tree's shape (directories, symlinks, special
//! files, hard links) and opens the source and the new copy of each regular
//! file; a few worker threads copy the data (CPU-bound work in the kernel)
//! and then set the file's owner, mode, xattrs and, last, its times. A
//! directory gets its own metadata and times when the walker leaves it:
//! creating entries changes a directory's mtime, writing file data does not.
//! The first error stops the walk and the workers, and is the one returned.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::{Context, Error, Result};
use crate::system::fsys::{self, Dir};

#[derive(Debug, Default, Clone)]
pub struct CopyStats {
    pub files: u64,
    pub bytes: u64,
    pub reflinked: u64,
}

/// Worker threads: two a core (while one waits for the disk the other
/// copies; 4 were 1.2-1.5x faster than 2 on 2 cores, cold caches), at
/// least two, at most four.
const WORKERS_PER_CORE: usize = 2;
const MIN_WORKERS: usize = 2;
const MAX_WORKERS: usize = 4;
/// Regular files handed to a worker at once (fewer wake-ups), unless
/// they reach this many bytes first.
const BATCH: usize = 8;
const BATCH_BYTES: u64 = 4 << 20;
/// Batches waiting for a worker. With those the workers are filling and
/// the one being collected, at most (QUEUE + MAX_WORKERS + 1) * BATCH
/// regular files are open, two descriptors each.
const QUEUE: usize = 4;
/// How often the walker reports progress while the workers finish.
const TICK: Duration = Duration::from_millis(100);
/// Buffer of the plain read/write copy, where no in-kernel copy works.
const BUF: usize = 128 << 10;

/// A regular file the walker opened and created, for a worker to fill.
struct FileJob {
    src: File,
    dst: File,
    st: libc::stat,
    /// Its path below the top of the copy (for messages).
    rel: Vec<u8>,
}

/// When the new copy of an entry needs a chown (decided once per copy).
#[derive(Debug, Clone, Copy)]
enum Chown {
    /// Not root: owners cannot be given away; ours are kept.
    Never,
    Always,
    /// Root, and new entries are made with this owner: chown the others only.
    Unless(u32, u32),
}

/// Counters, the first error and the number of running workers.
#[derive(Default)]
struct Tally {
    stats: CopyStats,
    error: Option<Error>,
    running: usize,
}

/// What the walker and the workers share.
struct Shared<'a> {
    what: &'a str,
    chown: Chown,
    /// Open sources with O_NOATIME (root): reading the image leaves it alone.
    noatime: bool,
    tally: Mutex<Tally>,
    /// Signalled when a worker stops.
    changed: Condvar,
    /// Set by the first error: the walk stops, workers only drain the queue.
    stop: AtomicBool,
    /// FICLONE may work here (cleared when it fails as unsupported).
    reflink: AtomicBool,
    /// copy_file_range may work here (cleared when it fails as unsupported).
    in_kernel: AtomicBool,
}

impl Shared<'_> {
    fn show(&self, rel: &[u8]) -> String {
        if rel.is_empty() {
            self.what.to_string()
        } else {
            format!("{}/{}", self.what, String::from_utf8_lossy(rel))
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tally> {
        // Nothing panics while holding it; a poisoned tally is still right.
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record `e` unless an error came first, and stop everyone.
    fn fail(&self, e: Error) {
        let mut t = self.lock();
        if t.error.is_none() {
            t.error = Some(e);
        }
        self.stop.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn progress(&self) -> (u64, u64) {
        let t = self.lock();
        (t.stats.bytes, t.stats.files)
    }
}

/// Copy the contents of `src` into the empty directory `dst` (and `dst`'s
/// own metadata from `src`'s). `progress` is told the bytes and files
/// copied so far; it is called from this thread only.
pub fn copy_tree(
    src: &Dir,
    dst: &Dir,
    what: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CopyStats> {
    let root = fsys::is_root();
    let chown = if !root {
        Chown::Never
    } else {
        let top = fstat(dst).ctx(|| format!("failed to stat the new {what}"))?;
        let (uid, gid) = (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
        // New entries take the top directory's group when it is setgid (and
        // on grpid mounts): a group of our own either way, or chown always.
        if top.st_gid == gid {
            Chown::Unless(uid, gid)
        } else {
            Chown::Always
        }
    };
    let sh = Shared {
        what,
        chown,
        noatime: root,
        tally: Mutex::new(Tally::default()),
        changed: Condvar::new(),
        stop: AtomicBool::new(false),
        reflink: AtomicBool::new(true),
        in_kernel: AtomicBool::new(true),
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_mul(WORKERS_PER_CORE)
        .clamp(MIN_WORKERS, MAX_WORKERS);
    let (tx, rx) = sync_channel::<Vec<FileJob>>(QUEUE);
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        let mut spawned = 0;
        for i in 0..workers {
            sh.lock().running += 1;
            let b = std::thread::Builder::new().name(format!("copy-{i}"));
            if b.spawn_scoped(s, || work(&sh, &rx)).is_ok() {
                spawned += 1;
            } else {
                sh.lock().running -= 1;
            }
        }
        let handoff = Handoff {
            sh: &sh,
            // No worker could start: the walker fills each file itself.
            tx: (spawned > 0).then_some(tx),
            batch: Vec::new(),
            bytes: 0,
        };
        // The queue closes when walk drops the handoff.
        if let Err(e) = walk(&sh, src, dst, handoff, progress) {
            sh.fail(e);
        }
        // Workers drain the queue and stop; report progress meanwhile.
        let mut t = sh.lock();
        while t.running > 0 {
            t = match sh.changed.wait_timeout(t, TICK) {
                Ok((t, _)) => t,
                Err(e) => e.into_inner().0,
            };
            let (b, f) = (t.stats.bytes, t.stats.files);
            drop(t);
            progress(b, f);
            t = sh.lock();
        }
    });
    let t = sh
        .tally
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    match t.error {
        Some(e) => Err(e),
        None => {
            progress(t.stats.bytes, t.stats.files);
            Ok(t.stats)
        }
    }
}

/// A worker: fill batches from the queue until it closes; after an
/// error, only drain it (closing the files) so the walker never blocks.
fn work(sh: &Shared, rx: &Mutex<Receiver<Vec<FileJob>>>) {
    loop {
        let batch = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(batch) = batch else { break };
        fill_batch(sh, batch);
    }
    sh.lock().running -= 1;
    sh.changed.notify_all();
}

/// Fill a batch of files and count them; stop at the first error
/// (anyone's). Each file is closed as soon as it is done.
fn fill_batch(sh: &Shared, batch: Vec<FileJob>) {
    let mut done = CopyStats::default();
    for job in batch {
        if sh.stopped() {
            break;
        }
        match fill(sh, &job) {
            Ok(reflinked) => {
                done.files += 1;
                done.bytes += job.st.st_size as u64;
                done.reflinked += u64::from(reflinked);
            }
            Err(e) => {
                sh.fail(e);
                break;
            }
        }
    }
    let mut t = sh.lock();
    t.stats.files += done.files;
    t.stats.bytes += done.bytes;
    t.stats.reflinked += done.reflinked;
}

/// The walker's end of the queue: regular files collected into batches for
/// the workers, or filled right here when no worker could start.
struct Handoff<'a, 's> {
    sh: &'a Shared<'s>,
    tx: Option<SyncSender<Vec<FileJob>>>,
    batch: Vec<FileJob>,
    bytes: u64,
}

impl Handoff<'_, '_> {
    fn push(&mut self, job: FileJob) {
        self.bytes += job.st.st_size as u64;
        self.batch.push(job);
        if self.batch.len() >= BATCH || self.bytes >= BATCH_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return;
        }
        let batch = match &self.tx {
            Some(tx) => match tx.send(batch) {
                Ok(()) => return,
                // Every worker is gone (cannot happen while the queue is open).
                Err(e) => e.0,
            },
            None => batch,
        };
        fill_batch(self.sh, batch);
    }
}

/// Copy a file's data, then its owner, mode and xattrs, then its times
/// (written data would change the mtime). Returns whether it was reflinked.
fn fill(sh: &Shared, job: &FileJob) -> Result<bool> {
    let (src, dst, st) = (&job.src, &job.dst, &job.st);
    let reflinked =
        copy_data(sh, src, dst, st).ctx(|| format!("failed to copy {}", sh.show(&job.rel)))?;
    let xa = fsys::xattrs_fd(src)
        .ctx(|| format!("failed to read the xattrs of {}", sh.show(&job.rel)))?;
    set_meta(dst, st, &xa, sh.chown)
        .map_err(|e| Error::new(format!("{}: {e}", sh.show(&job.rel))))?;
    fsys::set_times_fd(dst, atime(st), mtime(st))
        .ctx(|| format!("failed to set times of {}", sh.show(&job.rel)))?;
    Ok(reflinked)
}

/// A directory being walked, with the names still to copy.
struct Frame {
    src: Dir,
    dst: Dir,
    st: libc::stat,
    names: Vec<Vec<u8>>,
    rel: Vec<u8>,
}

/// Make the tree's shape and hand regular files to the workers through
/// `handoff`. Returns at the first error, or as soon as a worker has failed.
fn walk(
    sh: &Shared,
    src: &Dir,
    dst: &Dir,
    mut handoff: Handoff,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let what = sh.what;
    let top_src = src
        .open_dir(b".")
        .ctx(|| format!("failed to open {what}"))?;
    let top_dst = dst
        .open_dir(b".")
        .ctx(|| format!("failed to open {what}"))?;
    // Stat before listing: reading a directory may change its atime.
    let st = fstat(&top_src).ctx(|| format!("failed to stat {what}"))?;
    let names = top_src.names().ctx(|| format!("failed to list {what}"))?;
    let mut stack = vec![Frame {
        src: top_src,
        dst: top_dst,
        st,
        names,
        rel: Vec::new(),
    }];
    // Inodes with more than one link: the path of their first copy.
    let mut links: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    while let Some(top) = stack.last_mut() {
        if sh.stopped() {
            return Ok(());
        }
        let Some(name) = top.names.pop() else {
            if let Some(f) = stack.pop() {
                finish_dir(sh, &f)?;
            }
            continue;
        };
        let mut rel = top.rel.clone();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(&name);
        let st = top
            .src
            .lstat(&name)
            .ctx(|| format!("failed to stat {}", sh.show(&rel)))?;
        let fmt = st.st_mode & libc::S_IFMT;
        if fmt == libc::S_IFDIR {
            // Owner-only until its content is made (see finish_dir).
            top.dst
                .mkdir(&name, 0o700)
                .ctx(|| format!("failed to create {}", sh.show(&rel)))?;
            let s = top
                .src
                .open_dir(&name)
                .ctx(|| format!("failed to open {}", sh.show(&rel)))?;
            let d = top
                .dst
                .open_dir(&name)
                .ctx(|| format!("failed to open {}", sh.show(&rel)))?;
            let names = s
                .names()
                .ctx(|| format!("failed to list {}", sh.show(&rel)))?;
            stack.push(Frame {
                src: s,
                dst: d,
                st,
                names,
                rel,
            });
            continue;
        }
        if st.st_nlink > 1 {
            let key = inode(&st);
            if let Some(first) = links.get(&key) {
                top.dst
                    .link_path(dst, first, &name)
                    .ctx(|| format!("failed to link {}", sh.show(&rel)))?;
                continue;
            }
            links.insert(key, rel.clone());
        }
        if fmt == libc::S_IFREG {
            handoff.push(open_file(sh, top, &name, st, rel)?);
        } else {
            make_other(sh, top, &name, &st, &rel)?;
            sh.lock().stats.files += 1;
        }
        let (b, f) = sh.progress();
        progress(b, f);
    }
    handoff.flush();
    Ok(())
}

/// Open a regular file of the image and create its copy (empty, 0600).
fn open_file(
    sh: &Shared,
    top: &Frame,
    name: &[u8],
    st: libc::stat,
    rel: Vec<u8>,
) -> Result<FileJob> {
    let plain = || top.src.open_file(name, libc::O_RDONLY);
    let src = if sh.noatime {
        match top.src.open_file(name, libc::O_RDONLY | libc::O_NOATIME) {
            // O_NOATIME is for the file's owner (or root in its namespace) only.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => plain(),
            r => r,
        }
    } else {
        plain()
    };
    let src = src.ctx(|| format!("failed to open {}", sh.show(&rel)))?;
    let dst = top
        .dst
        .create_file(name)
        .ctx(|| format!("failed to create {}", sh.show(&rel)))?;
    Ok(FileJob { src, dst, st, rel })
}

/// Copy a symlink, device, fifo or socket with its owner, mode, xattrs and times.
fn make_other(sh: &Shared, top: &Frame, name: &[u8], st: &libc::stat, rel: &[u8]) -> Result<()> {
    let xa = top.src.xattrs(name).unwrap_or_default();
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        let t = top
            .src
            .readlink(name)
            .ctx(|| format!("failed to read {}", sh.show(rel)))?;
        top.dst
            .symlink(&t, name)
            .ctx(|| format!("failed to create {}", sh.show(rel)))?;
        top.dst
            .chown(name, st.st_uid, st.st_gid)
            .ctx(|| format!("failed to chown {}", sh.show(rel)))?;
    } else {
        top.dst
            .mknod(name, st.st_mode, rdev(st))
            .ctx(|| format!("failed to create {}", sh.show(rel)))?;
        top.dst
            .chown(name, st.st_uid, st.st_gid)
            .ctx(|| format!("failed to chown {}", sh.show(rel)))?;
        top.dst
            .chmod(name, st.st_mode & 0o7777)
            .ctx(|| format!("failed to chmod {}", sh.show(rel)))?;
    }
    for (k, v) in &xa {
        match top.dst.set_xattr(name, k, v) {
            Err(e) if !fsys::no_xattrs(&e) => {
                return Err(e).ctx(|| format!("failed to set an xattr on {}", sh.show(rel)));
            }
            _ => {}
        }
    }
    top.dst
        .set_times(name, atime(st), mtime(st))
        .ctx(|| format!("failed to set times of {}", sh.show(rel)))
}

/// A directory's content is made: its owner, mode, xattrs, then its times.
fn finish_dir(sh: &Shared, f: &Frame) -> Result<()> {
    let xa = fsys::xattrs_fd(&f.src)
        .ctx(|| format!("failed to read the xattrs of {}", sh.show(&f.rel)))?;
    set_meta(&f.dst, &f.st, &xa, sh.chown)
        .map_err(|e| Error::new(format!("{}: {e}", sh.show(&f.rel))))?;
    fsys::set_times_fd(&f.dst, atime(&f.st), mtime(&f.st))
        .ctx(|| format!("failed to set times of {}", sh.show(&f.rel)))
}

/// Owner (when it must change), mode, then xattrs; the first error, naming the step.
fn set_meta(
    f: &impl AsRawFd,
    st: &libc::stat,
    xattrs: &[(Vec<u8>, Vec<u8>)],
    chown: Chown,
) -> std::result::Result<(), String> {
    let needed = match chown {
        Chown::Never => false,
        Chown::Always => true,
        Chown::Unless(u, g) => (u, g) != (st.st_uid, st.st_gid),
    };
    let errs = fsys::set_meta_fd(f, needed, st.st_uid, st.st_gid, st.st_mode, xattrs);
    errs.into_iter().next().map_or(Ok(()), Err)
}

/// An error meaning "this filesystem (pair) cannot do that at all".
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EOPNOTSUPP
                | libc::ENOTTY
                | libc::EXDEV
                | libc::EINVAL
                | libc::EBADF
                | libc::ENOSYS
        )
    )
}

/// Copy the `st_size` bytes of data of `src` to the empty `dst`: a reflink
/// where it works, else the data ranges only, so holes stay holes. Returns
/// whether it was reflinked.
fn copy_data(sh: &Shared, src: &File, dst: &File, st: &libc::stat) -> io::Result<bool> {
    let len = st.st_size as u64;
    if len == 0 {
        return Ok(false);
    }
    if sh.reflink.load(Ordering::Relaxed) {
        // SAFETY: FICLONE takes the source descriptor as its argument (no pointer); both
        // files are borrowed, so both descriptors are open for the call.
        if unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) } == 0 {
            return Ok(true);
        }
        if unsupported(&io::Error::last_os_error()) {
            sh.reflink.store(false, Ordering::Relaxed);
        }
    }
    // A file of at most one block with a block allocated has no hole.
    let one_block = len <= st.st_blksize as u64 && st.st_blocks > 0;
    let end = if one_block {
        copy_range(sh, src, dst, 0, len)?
    } else {
        copy_extents(sh, src, dst, len)?
    };
    // A hole at the end (or a source that shrank): the length still holds.
    if end < len {
        dst.set_len(len)?;
    }
    Ok(false)
}

/// Copy the data ranges of the first `len` bytes (found with SEEK_DATA and
/// SEEK_HOLE); returns where the last one ended.
fn copy_extents(sh: &Shared, src: &File, dst: &File, len: u64) -> io::Result<u64> {
    use nix::unistd::{Whence, lseek};
    let (mut off, mut end) = (0i64, 0u64);
    let len_i = len as i64;
    while off < len_i {
        let data = match lseek(src, off as libc::off_t, Whence::SeekData) {
            Ok(d) => d,
            Err(nix::errno::Errno::ENXIO) => break, // only a hole remains
            Err(e) => return Err(e.into()),
        };
        if data >= len_i {
            break;
        }
        let hole =
            lseek(src, data as libc::off_t, Whence::SeekHole).map_or(len_i, |h| h.min(len_i));
        end = copy_range(sh, src, dst, data as u64, (hole - data) as u64)?;
        if end < hole as u64 {
            break; // the source is shorter than it was
        }
        off = hole;
    }
    Ok(end)
}

/// Copy `len` bytes at `start` to the same place in `dst`, in the kernel
/// where it can; returns where the copy ended (early at the source's end).
fn copy_range(sh: &Shared, src: &File, dst: &File, start: u64, len: u64) -> io::Result<u64> {
    let mut done = 0u64;
    while done < len && sh.in_kernel.load(Ordering::Relaxed) {
        let mut a = (start + done) as i64;
        let mut b = a;
        // SAFETY: raw copy_file_range(2) (libc lacks the wrapper on some router targets):
        // both descriptors are borrowed and open, the offset pointers point at locals that
        // outlive the call, and the kernel writes only those two.
        let n = unsafe {
            libc::syscall(
                libc::SYS_copy_file_range,
                src.as_raw_fd() as libc::c_long,
                &mut a as *mut i64,
                dst.as_raw_fd() as libc::c_long,
                &mut b as *mut i64,
                (len - done).min(1 << 30) as libc::size_t,
                0 as libc::c_uint,
            )
        };
        if n > 0 {
            done += n as u64;
            continue;
        }
        if n == 0 {
            return Ok(start + done);
        }
        let e = io::Error::last_os_error();
        if unsupported(&e) {
            sh.in_kernel.store(false, Ordering::Relaxed);
        }
        // Any failure: plain reads and writes say what is wrong, if anything.
        break;
    }
    if done < len {
        let mut buf = vec![0u8; ((len - done) as usize).min(BUF)];
        while done < len {
            let want = ((len - done) as usize).min(buf.len());
            let k = src.read_at(&mut buf[..want], start + done)?;
            if k == 0 {
                break;
            }
            dst.write_all_at(&buf[..k], start + done)?;
            done += k as u64;
        }
    }
    Ok(start + done)
}

fn fstat(d: &impl std::os::fd::AsFd) -> io::Result<libc::stat> {
    nix::sys::stat::fstat(d).map_err(io::Error::from)
}

// The types of libc's stat fields differ between targets: the casts are
// no-ops on some only.
#[allow(clippy::unnecessary_cast)]
fn inode(st: &libc::stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

#[allow(clippy::unnecessary_cast)]
fn rdev(st: &libc::stat) -> u64 {
    st.st_rdev as u64
}

#[allow(clippy::unnecessary_cast)]
fn atime(st: &libc::stat) -> (i64, u32) {
    (st.st_atime as i64, st.st_atime_nsec as u32)
}

#[allow(clippy::unnecessary_cast)]
fn mtime(st: &libc::stat) -> (i64, u32) {
    (st.st_mtime as i64, st.st_mtime_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    use std::path::{Path, PathBuf};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rpinet-copy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn c(p: &Path) -> CString {
        CString::new(p.as_os_str().as_bytes()).unwrap()
    }

    fn ok(r: libc::c_int, what: &str, p: &Path) {
        assert_eq!(
            r,
            0,
            "{what} {}: {}",
            p.display(),
            io::Error::last_os_error()
        );
    }

    fn set_times(p: &Path, a: (i64, i64), m: (i64, i64)) {
        use nix::sys::time::TimeSpec;
        let ts = |(s, n): (i64, i64)| TimeSpec::new(s as _, n as _);
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            p,
            &ts(a),
            &ts(m),
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap_or_else(|e| panic!("utimensat {}: {e}", p.display()));
    }

    fn owner(p: &Path, uid: u32, gid: u32) {
        std::os::unix::fs::lchown(p, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("lchown {}: {e}", p.display()));
    }

    fn mode(p: &Path, m: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
    }

    fn xattr(p: &Path, k: &str, v: &[u8]) {
        let k = CString::new(k).unwrap();
        // SAFETY: path and key are NUL-terminated CStrings, `v` a live slice with its length.
        let r =
            unsafe { libc::lsetxattr(c(p).as_ptr(), k.as_ptr(), v.as_ptr().cast(), v.len(), 0) };
        ok(r, "lsetxattr", p);
    }

    /// A file of `size` bytes holding data only at `at` (the rest are holes).
    fn sparse(p: &Path, size: u64, at: &[(u64, usize)]) {
        let f = File::create(p).unwrap();
        f.set_len(size).unwrap();
        for &(off, n) in at {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8 + 1).collect();
            f.write_all_at(&data, off).unwrap();
        }
        f.sync_all().unwrap();
    }

    /// Everything the copy must keep about one entry (besides the content).
    #[derive(Debug, PartialEq)]
    struct Meta {
        mode: u32,
        uid: u32,
        gid: u32,
        nlink: u64,
        size: u64,
        rdev: u64,
        mtime: (i64, i64),
        /// Regular files and fifos only: walking reads directories and
        /// symlinks, which may change their atime.
        atime: Option<(i64, i64)>,
        /// Data ranges (SEEK_DATA/SEEK_HOLE) of regular files.
        data: Vec<(i64, i64)>,
        target: Vec<u8>,
        xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
        /// All names of this inode in the tree.
        links: Vec<String>,
    }

    struct Snap {
        meta: BTreeMap<String, Meta>,
        content: BTreeMap<String, Vec<u8>>,
        inodes: BTreeMap<String, u64>,
    }

    fn xattrs_of(p: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut names = vec![0u8; 65536];
        // SAFETY: the path is NUL-terminated and `names` a live buffer of the length passed.
        let n = unsafe { libc::llistxattr(c(p).as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        assert!(n >= 0, "llistxattr {}", p.display());
        let mut out = BTreeMap::new();
        for k in names[..n as usize]
            .split(|&b| b == 0)
            .filter(|k| !k.is_empty())
        {
            let kc = CString::new(k).unwrap();
            let mut v = vec![0u8; 65536];
            // SAFETY: path and key are NUL-terminated, `v` a live buffer of the length passed.
            let m = unsafe {
                libc::lgetxattr(c(p).as_ptr(), kc.as_ptr(), v.as_mut_ptr().cast(), v.len())
            };
            assert!(m >= 0, "lgetxattr {}", p.display());
            v.truncate(m as usize);
            out.insert(k.to_vec(), v);
        }
        out
    }

    fn data_ranges(f: &File, size: i64) -> Vec<(i64, i64)> {
        use nix::unistd::{Whence, lseek};
        let (mut out, mut off) = (Vec::new(), 0);
        while off < size {
            let Ok(d) = lseek(f, off as _, Whence::SeekData) else {
                break;
            };
            let h = lseek(f, d, Whence::SeekHole).unwrap_or(-1);
            out.push((d, h as i64));
            off = h as i64;
        }
        out
    }

    /// Every entry below `top` ("" is `top`), read without touching atimes
    /// of regular files (O_NOATIME; the tests that use it run as root).
    fn snapshot(top: &Path) -> Snap {
        let mut s = Snap {
            meta: BTreeMap::new(),
            content: BTreeMap::new(),
            inodes: BTreeMap::new(),
        };
        let mut by_inode: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
        let mut todo = vec![String::new()];
        while let Some(rel) = todo.pop() {
            let p = if rel.is_empty() {
                top.to_path_buf()
            } else {
                top.join(&rel)
            };
            let md = std::fs::symlink_metadata(&p).unwrap();
            let fmt = md.mode() & libc::S_IFMT;
            let mut m = Meta {
                mode: md.mode(),
                uid: md.uid(),
                gid: md.gid(),
                nlink: if fmt == libc::S_IFDIR { 0 } else { md.nlink() },
                size: if fmt == libc::S_IFDIR { 0 } else { md.size() },
                rdev: md.rdev(),
                mtime: (md.mtime(), md.mtime_nsec()),
                atime: None,
                data: Vec::new(),
                target: Vec::new(),
                xattrs: xattrs_of(&p),
                links: Vec::new(),
            };
            if fmt == libc::S_IFREG || fmt == libc::S_IFIFO {
                m.atime = Some((md.atime(), md.atime_nsec()));
            }
            if fmt == libc::S_IFREG {
                let mut f = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOATIME)
                    .open(&p)
                    .unwrap();
                m.data = data_ranges(&f, md.size() as i64);
                let mut v = Vec::new();
                io::Read::read_to_end(&mut f, &mut v).unwrap();
                s.content.insert(rel.clone(), v);
            } else if fmt == libc::S_IFLNK {
                m.target = std::fs::read_link(&p)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec();
            } else if fmt == libc::S_IFDIR {
                for e in std::fs::read_dir(&p).unwrap() {
                    let n = e.unwrap().file_name().to_string_lossy().into_owned();
                    todo.push(if rel.is_empty() {
                        n
                    } else {
                        format!("{rel}/{n}")
                    });
                }
            }
            if fmt != libc::S_IFDIR {
                by_inode
                    .entry((md.dev(), md.ino()))
                    .or_default()
                    .push(rel.clone());
            }
            s.inodes.insert(rel.clone(), md.ino());
            s.meta.insert(rel, m);
        }
        for names in by_inode.values() {
            let mut names = names.clone();
            names.sort();
            for n in &names {
                if let Some(m) = s.meta.get_mut(n) {
                    m.links = names.clone();
                }
            }
        }
        s
    }

    fn copy(src: &Path, dst: &Path) -> (Result<CopyStats>, Vec<(u64, u64)>) {
        let s = Dir::open_path(src).unwrap();
        let d = Dir::open_path(dst).unwrap();
        let mut calls = Vec::new();
        let r = copy_tree(&s, &d, "t", &mut |b, f| calls.push((b, f)));
        (r, calls)
    }

    /// Directories d0..d9 of files of many sizes.
    fn many_files(top: &Path) {
        let sizes = [0usize, 1, 100, 4095, 4096, 4097, 65543, 200_000];
        for d in 0..10 {
            let dir = top.join(format!("d{d}"));
            std::fs::create_dir(&dir).unwrap();
            for i in 0..30 {
                let n = sizes[(d + i) % sizes.len()];
                let data: Vec<u8> = (0..n).map(|k| ((k * 31 + i * 7 + d) % 256) as u8).collect();
                std::fs::write(dir.join(format!("f{i:03}")), data).unwrap();
            }
        }
    }

    #[test]
    fn a_copy_keeps_every_entry_its_data_holes_links_and_metadata() {
        if !fsys::is_root() {
            eprintln!("skipped: owners and O_NOATIME need root");
            return;
        }
        let w = scratch("full");
        let (src, dst) = (w.join("src"), w.join("dst"));
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&dst).unwrap();
        many_files(&src);
        // Holes: in the middle, at the end, at the start, everywhere.
        std::fs::create_dir(src.join("sparse")).unwrap();
        let mib = 1 << 20;
        sparse(&src.join("sparse/mid"), mib, &[(0, 4096), (mib / 2, 4096)]);
        sparse(&src.join("sparse/tail"), mib, &[(0, 8192)]);
        sparse(&src.join("sparse/lead"), mib, &[(mib - 4096, 4096)]);
        sparse(&src.join("sparse/all-hole"), 65536, &[]);
        sparse(&src.join("sparse/small-hole"), 100, &[]);
        // Hard links: three names across directories, and a pair.
        std::fs::hard_link(src.join("d0/f001"), src.join("d9/link-to-f001")).unwrap();
        std::fs::hard_link(src.join("d0/f001"), src.join("hl")).unwrap();
        std::fs::create_dir(src.join("sub")).unwrap();
        std::fs::write(src.join("pair-a"), b"pair").unwrap();
        std::fs::hard_link(src.join("pair-a"), src.join("sub/pair-b")).unwrap();
        // Symlinks are copied, never followed.
        std::os::unix::fs::symlink("../../nowhere", src.join("sym-dangling")).unwrap();
        std::os::unix::fs::symlink("d0", src.join("sym-dir")).unwrap();
        owner(&src.join("sym-dir"), 1000, 1000);
        let fifo = src.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .unwrap_or_else(|e| panic!("mkfifo {}: {e}", fifo.display()));
        owner(&fifo, 2000, 3000);
        mode(&fifo, 0o640);
        xattr(&fifo, "trusted.rpinet", b"fifo");
        // Owners, then setuid/setgid (a chown clears them).
        std::fs::write(src.join("suid"), b"#!/bin/sh\n").unwrap();
        mode(&src.join("suid"), 0o4755);
        std::fs::write(src.join("sgid"), b"x").unwrap();
        owner(&src.join("sgid"), 1000, 50);
        mode(&src.join("sgid"), 0o2711);
        owner(&src.join("d3/f004"), 1000, 1000);
        owner(&src.join("d3/f005"), 0, 1000);
        // Directories whose mode would stop the copy if it came first.
        std::fs::create_dir(src.join("ro")).unwrap();
        std::fs::write(src.join("ro/inside"), b"inside").unwrap();
        std::fs::create_dir(src.join("ro/deeper")).unwrap();
        std::fs::write(src.join("ro/deeper/more"), b"more").unwrap();
        mode(&src.join("ro/deeper"), 0o500);
        mode(&src.join("ro"), 0o555);
        std::fs::create_dir(src.join("sticky")).unwrap();
        mode(&src.join("sticky"), 0o1777);
        std::fs::create_dir(src.join("sgid-dir")).unwrap();
        std::fs::write(src.join("sgid-dir/f"), b"f").unwrap();
        owner(&src.join("sgid-dir"), 0, 50);
        mode(&src.join("sgid-dir"), 0o2775);
        std::fs::create_dir(src.join("private")).unwrap();
        owner(&src.join("private"), 1000, 1000);
        mode(&src.join("private"), 0o700);
        // Extended attributes on files and a directory.
        xattr(&src.join("d1/f002"), "user.rpinet", b"hello\0world");
        xattr(&src.join("d1/f002"), "user.empty", b"");
        xattr(&src.join("d1/f003"), "user.big", &[7u8; 3000]);
        xattr(&src.join("d2"), "user.dir", b"x");
        mode(&src, 0o751);
        // Odd times everywhere (one before 1970), set after all entries exist.
        let all = snapshot(&src);
        for (i, rel) in all.meta.keys().enumerate() {
            let p = if rel.is_empty() {
                src.clone()
            } else {
                src.join(rel)
            };
            let i = i as i64;
            let m = if i == 3 {
                (-86400 * 400, 5)
            } else {
                (1_000_000_000 + i * 7919, (i * 123_457) % 1_000_000_000)
            };
            set_times(&p, (1_100_000_000 + i, (i * 999) % 1_000_000_000), m);
        }
        let before = snapshot(&src);

        let (r, calls) = copy(&src, &dst);
        let stats = r.unwrap();

        let after = snapshot(&src);
        assert!(before.meta == after.meta, "the copy changed the source");
        let copied = snapshot(&dst);
        assert_eq!(
            before.meta.keys().collect::<Vec<_>>(),
            copied.meta.keys().collect::<Vec<_>>()
        );
        for (rel, m) in &before.meta {
            assert_eq!(Some(m), copied.meta.get(rel), "entry '{rel}'");
            assert!(
                before.content.get(rel) == copied.content.get(rel),
                "content of '{rel}'"
            );
        }
        // Nothing of the image is linked into the copy.
        for (rel, ino) in &before.inodes {
            assert_ne!(
                Some(ino),
                copied.inodes.get(rel),
                "'{rel}' is the image's inode"
            );
        }
        // Hard links inside the tree stayed links (and the holes, holes).
        assert_eq!(copied.meta["hl"].nlink, 3);
        assert_eq!(copied.meta["sparse/mid"].data.len(), 2);
        assert!(copied.meta["sparse/all-hole"].data.is_empty());
        // Every inode but directories counted once; bytes of regular files.
        let mut inodes = BTreeMap::new();
        for (rel, m) in &before.meta {
            if m.mode & libc::S_IFMT != libc::S_IFDIR {
                inodes.insert(before.inodes[rel], m);
            }
        }
        assert_eq!(stats.files, inodes.len() as u64);
        let bytes: u64 = inodes
            .values()
            .filter(|m| m.mode & libc::S_IFMT == libc::S_IFREG)
            .map(|m| m.size)
            .sum();
        assert_eq!(stats.bytes, bytes);
        assert_eq!(calls.last(), Some(&(stats.bytes, stats.files)));
        assert!(
            calls
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        let _ = std::fs::remove_dir_all(&w);
    }

    #[test]
    fn an_entry_already_in_the_copy_is_reported_by_name() {
        let w = scratch("exists");
        let (src, dst) = (w.join("src"), w.join("dst"));
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&dst).unwrap();
        many_files(&src);
        std::fs::write(src.join("zz"), b"new").unwrap();
        std::fs::write(dst.join("zz"), b"old").unwrap();
        let (r, _) = copy(&src, &dst);
        let e = r.unwrap_err();
        assert!(
            e.message().starts_with("failed to create t/zz: "),
            "{}",
            e.message()
        );
        assert_eq!(std::fs::read(dst.join("zz")).unwrap(), b"old");
        let _ = std::fs::remove_dir_all(&w);
    }

    #[test]
    fn a_full_disk_stops_the_workers_and_names_the_file() {
        if !fsys::is_root() {
            eprintln!("skipped: mounting a tmpfs needs root");
            return;
        }
        let w = scratch("full-disk");
        let (src, dst) = (w.join("src"), w.join("dst"));
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&dst).unwrap();
        many_files(&src);
        for i in 0..8 {
            std::fs::write(src.join(format!("big{i}")), vec![b'b'; 512 << 10]).unwrap();
        }
        let mounted = nix::mount::mount(
            Some("tmpfs"),
            &dst,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=1m"),
        );
        if let Err(e) = mounted {
            eprintln!("skipped: cannot mount a tmpfs: {e}");
            return;
        }
        let (r, _) = copy(&src, &dst);
        let _ = nix::mount::umount2(&dst, nix::mount::MntFlags::MNT_DETACH);
        let e = r.unwrap_err();
        assert!(
            e.message().contains(" t/") && e.message().contains("No space left on device"),
            "{}",
            e.message()
        );
        let _ = std::fs::remove_dir_all(&w);
    }
}
