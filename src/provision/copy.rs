//! Copy an image tree to a node: reflink where the filesystem can
//! (FICLONE), else an in-kernel copy of the data ranges only (holes stay
//! holes); hard links inside the tree stay hard links, and nothing is ever
//! hard-linked into the image. Owner, mode, xattrs and times are kept. All
//! through directory handles; symlinks are copied, never followed.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use crate::error::{Context, Result};
use crate::image::fsys::{self, Dir};

#[derive(Debug, Default, Clone)]
pub struct CopyStats {
    pub files: u64,
    pub bytes: u64,
    pub reflinked: u64,
}

const FICLONE: libc::c_ulong = 0x4004_9409;

fn copy_data(src: &File, dst: &File, len: u64, stats: &mut CopyStats) -> io::Result<()> {
    if len > 0 && unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE as _, src.as_raw_fd()) } == 0 {
        stats.reflinked += 1;
        return Ok(());
    }
    let s = src.as_raw_fd();
    let mut off: i64 = 0;
    let end = len as i64;
    while off < end {
        let data = unsafe { libc::lseek(s, off, libc::SEEK_DATA) };
        if data < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole remains
            }
            return Err(e);
        }
        let hole = unsafe { libc::lseek(s, data, libc::SEEK_HOLE) };
        let hole = if hole < 0 { end } else { hole.min(end) };
        copy_range(src, dst, data as u64, (hole - data) as u64)?;
        off = hole;
    }
    dst.set_len(len)
}

fn copy_range(src: &File, dst: &File, start: u64, len: u64) -> io::Result<()> {
    let mut done = 0u64;
    while done < len {
        let mut a = (start + done) as i64;
        let mut b = a;
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
            break;
        }
        // No in-kernel copy here: plain reads and writes.
        let mut buf = vec![0u8; 1 << 20];
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
    Ok(())
}

/// Copy the contents of `src` into the empty directory `dst` (and `dst`'s
/// own metadata from `src`'s). `progress` is told the bytes copied so far.
pub fn copy_tree(
    src: &Dir,
    dst: &Dir,
    what: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CopyStats> {
    let mut stats = CopyStats::default();
    let mut links: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    struct Frame {
        src: Dir,
        dst: Dir,
        names: Vec<Vec<u8>>,
        rel: Vec<u8>,
    }
    let top_src = src
        .open_dir(b".")
        .ctx(|| format!("failed to open {what}"))?;
    let top_dst = dst
        .open_dir(b".")
        .ctx(|| format!("failed to open {what}"))?;
    let names = top_src.names().ctx(|| format!("failed to list {what}"))?;
    let mut stack = vec![Frame {
        src: top_src,
        dst: top_dst,
        names,
        rel: Vec::new(),
    }];
    let show = |rel: &[u8]| format!("{what}/{}", String::from_utf8_lossy(rel));
    loop {
        let Some(top) = stack.last_mut() else { break };
        let Some(name) = top.names.pop() else {
            let Some(f) = stack.pop() else { break };
            let st = fstat(&f.src).ctx(|| format!("failed to stat {}", show(&f.rel)))?;
            let xa = f.src.xattrs(b".").unwrap_or_default();
            let errs = fsys::set_meta_fd(&f.dst, st.st_uid, st.st_gid, st.st_mode, &xa);
            if let Some(e) = errs.first() {
                return Err(crate::error::Error::new(format!("{}: {e}", show(&f.rel))));
            }
            fsys::set_times_fd(&f.dst, atime(&st), mtime(&st))
                .ctx(|| format!("failed to set times of {}", show(&f.rel)))?;
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
            .ctx(|| format!("failed to stat {}", show(&rel)))?;
        let fmt = st.st_mode & libc::S_IFMT;
        if fmt == libc::S_IFDIR {
            top.dst
                .mkdir(&name, 0o700)
                .ctx(|| format!("failed to create {}", show(&rel)))?;
            let s = top
                .src
                .open_dir(&name)
                .ctx(|| format!("failed to open {}", show(&rel)))?;
            let d = top
                .dst
                .open_dir(&name)
                .ctx(|| format!("failed to open {}", show(&rel)))?;
            let names = s.names().ctx(|| format!("failed to list {}", show(&rel)))?;
            stack.push(Frame {
                src: s,
                dst: d,
                names,
                rel,
            });
            continue;
        }
        let key = (st.st_dev as u64, st.st_ino as u64);
        if st.st_nlink > 1 {
            if let Some(first) = links.get(&key) {
                let root = &stack[0].dst;
                let top = stack.last().map(|f| &f.dst).unwrap_or(root);
                top.link_path(root, first, &name)
                    .ctx(|| format!("failed to link {}", show(&rel)))?;
                continue;
            }
            links.insert(key, rel.clone());
        }
        let Some(top) = stack.last_mut() else { break };
        let xa = top.src.xattrs(&name).unwrap_or_default();
        if fmt == libc::S_IFREG {
            let s = top
                .src
                .open_file(&name, libc::O_RDONLY)
                .ctx(|| format!("failed to open {}", show(&rel)))?;
            let d = top
                .dst
                .create_file(&name)
                .ctx(|| format!("failed to create {}", show(&rel)))?;
            copy_data(&s, &d, st.st_size as u64, &mut stats)
                .ctx(|| format!("failed to copy {}", show(&rel)))?;
            let errs = fsys::set_meta_fd(&d, st.st_uid, st.st_gid, st.st_mode, &xa);
            if let Some(e) = errs.first() {
                return Err(crate::error::Error::new(format!("{}: {e}", show(&rel))));
            }
            fsys::set_times_fd(&d, atime(&st), mtime(&st))
                .ctx(|| format!("failed to set times of {}", show(&rel)))?;
            stats.files += 1;
            stats.bytes += st.st_size as u64;
            progress(stats.bytes, stats.files);
            continue;
        }
        if fmt == libc::S_IFLNK {
            let t = top
                .src
                .readlink(&name)
                .ctx(|| format!("failed to read {}", show(&rel)))?;
            top.dst
                .symlink(&t, &name)
                .ctx(|| format!("failed to create {}", show(&rel)))?;
        } else {
            top.dst
                .mknod(&name, st.st_mode, st.st_rdev as u64)
                .ctx(|| format!("failed to create {}", show(&rel)))?;
            top.dst
                .chown(&name, st.st_uid, st.st_gid)
                .ctx(|| format!("failed to chown {}", show(&rel)))?;
            top.dst
                .chmod(&name, st.st_mode & 0o7777)
                .ctx(|| format!("failed to chmod {}", show(&rel)))?;
        }
        if fmt == libc::S_IFLNK {
            top.dst
                .chown(&name, st.st_uid, st.st_gid)
                .ctx(|| format!("failed to chown {}", show(&rel)))?;
        }
        for (k, v) in &xa {
            top.dst
                .set_xattr(&name, k, v)
                .ctx(|| format!("failed to set an xattr on {}", show(&rel)))?;
        }
        top.dst
            .set_times(&name, atime(&st), mtime(&st))
            .ctx(|| format!("failed to set times of {}", show(&rel)))?;
        stats.files += 1;
    }
    Ok(stats)
}

fn fstat(d: &Dir) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(d.as_raw_fd(), &mut st) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn atime(st: &libc::stat) -> (i64, u32) {
    (st.st_atime as i64, st.st_atime_nsec as u32)
}

fn mtime(st: &libc::stat) -> (i64, u32) {
    (st.st_mtime as i64, st.st_mtime_nsec as u32)
}
