//! The tree a filesystem reader produces, and the writer that puts it on disk.
//!
//! A reader fills a [`Tree`]: one [`Node`] per inode (id = inode number or a
//! counter) and, for directories, their named children. The content of each
//! regular file is already in a scratch directory, in a file named by its id.
//! [`write_tree`] then makes every non-directory inode once in the scratch
//! directory (symlink, device, fifo, socket), sets its owner, mode, xattrs and
//! times there, and hard-links it under every name it has — so hard links stay
//! hard links — and makes directories with `mkdirat`, setting their metadata
//! after their content. Only single validated names are ever used, relative to
//! open directory handles; directory cycles and hard links to directories are
//! skipped and reported.

use std::collections::{HashMap, HashSet};

use crate::error::{Context, Result};
use crate::system::fsys::{self, Dir, check_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink(Vec<u8>),
    CharDev(u64),
    BlockDev(u64),
    Fifo,
    Socket,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// Permission bits including setuid/setgid/sticky (07777).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub atime: (i64, u32),
    pub mtime: (i64, u32),
    pub size: u64,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub children: Vec<(Vec<u8>, u64)>,
}

impl Node {
    pub fn new(kind: Kind) -> Node {
        Node {
            kind,
            perm: 0o644,
            uid: 0,
            gid: 0,
            atime: (0, 0),
            mtime: (0, 0),
            size: 0,
            xattrs: Vec::new(),
            children: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Tree {
    pub nodes: HashMap<u64, Node>,
    pub root: u64,
}

/// What was made, and what was skipped and why.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub specials: u64,
    pub hardlinks: u64,
    pub bytes: u64,
}

/// Skipped entries: the first few messages and how many there were.
#[derive(Debug, Default, Clone)]
pub struct Skips {
    pub count: u64,
    pub messages: Vec<String>,
}

impl Skips {
    pub const KEEP: usize = 50;
    pub fn add(&mut self, msg: String) {
        self.count += 1;
        if self.messages.len() < Self::KEEP {
            self.messages.push(msg);
        }
    }
}

/// The scratch name of inode `id`.
pub fn scratch_name(id: u64) -> Vec<u8> {
    id.to_string().into_bytes()
}

/// Deepest directory nesting written; deeper entries are skipped.
const MAX_DEPTH: usize = 256;

fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).escape_debug().to_string()
}

/// Make the non-directory inodes in `scratch` (regular files are there already)
/// and set their metadata once.
fn make_inodes(tree: &Tree, scratch: &Dir, skips: &mut Skips) -> HashSet<u64> {
    let root = fsys::is_root();
    let mut made = HashSet::new();
    for (&id, node) in &tree.nodes {
        let name = scratch_name(id);
        let mode = node.perm & 0o7777;
        // A regular file is made with its content already, or now when it has none.
        let r = match &node.kind {
            Kind::Dir => continue,
            Kind::File => scratch
                .open_file(&name, libc::O_RDONLY | libc::O_CREAT)
                .map(Some),
            Kind::Symlink(t) => scratch.symlink(t, &name).map(|_| None),
            Kind::CharDev(d) => scratch.mknod(&name, libc::S_IFCHR | mode, *d).map(|_| None),
            Kind::BlockDev(d) => scratch.mknod(&name, libc::S_IFBLK | mode, *d).map(|_| None),
            Kind::Fifo => scratch.mknod(&name, libc::S_IFIFO | mode, 0).map(|_| None),
            Kind::Socket => scratch.mknod(&name, libc::S_IFSOCK | mode, 0).map(|_| None),
        };
        let file = match r {
            Ok(f) => f,
            Err(e) => {
                skips.add(format!("inode {id}: cannot make it: {e}"));
                continue;
            }
        };
        let mut errs = Vec::new();
        match file {
            Some(f) => {
                errs = fsys::set_meta_fd(&f, root, node.uid, node.gid, node.perm, &node.xattrs);
                if let Err(e) = fsys::set_times_fd(&f, node.atime, node.mtime) {
                    errs.push(format!("times: {e}"));
                }
            }
            None => {
                if !root {
                } else if let Err(e) = scratch.chown(&name, node.uid, node.gid) {
                    errs.push(format!("chown: {e}"));
                }
                if !matches!(node.kind, Kind::Symlink(_)) {
                    if let Err(e) = scratch.chmod(&name, mode) {
                        errs.push(format!("chmod: {e}"));
                    }
                }
                for (k, v) in &node.xattrs {
                    if let Err(e) = scratch.set_xattr(&name, k, v) {
                        errs.push(format!("xattr {}: {e}", show(k)));
                    }
                }
                if let Err(e) = scratch.set_times(&name, node.atime, node.mtime) {
                    errs.push(format!("times: {e}"));
                }
            }
        }
        for e in errs {
            skips.add(format!("inode {id}: {e}"));
        }
        made.insert(id);
    }
    made
}

struct Frame {
    dir: Dir,
    id: u64,
    next: usize,
    path: String,
}

/// Write `tree` under the (empty) directory `target`, taking regular file
/// content from `scratch`; the scratch entries are removed afterwards.
pub fn write_tree(
    tree: &Tree,
    scratch: &Dir,
    target: Dir,
    label: &str,
    skips: &mut Skips,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let root = fsys::is_root();
    if !root {
        skips.add(format!(
            "{label} not running as root: owners are not kept and device nodes are not made"
        ));
    }
    let made = make_inodes(tree, scratch, skips);
    let mut linked: HashSet<u64> = HashSet::new();
    let mut seen_dirs: HashSet<u64> = HashSet::new();
    seen_dirs.insert(tree.root);
    let mut stack = vec![Frame {
        dir: target,
        id: tree.root,
        next: 0,
        path: label.to_string(),
    }];
    loop {
        let depth = stack.len();
        let Some(top) = stack.last_mut() else { break };
        let Some(dnode) = tree.nodes.get(&top.id) else {
            stack.pop();
            continue;
        };
        let Some((name, child)) = dnode.children.get(top.next) else {
            // Directory done: its metadata last, so its mtime stays.
            let Some(f) = stack.pop() else { break };
            for e in fsys::set_meta_fd(
                &f.dir,
                root,
                dnode.uid,
                dnode.gid,
                dnode.perm,
                &dnode.xattrs,
            ) {
                skips.add(format!("{}/: {e}", f.path));
            }
            if let Err(e) = fsys::set_times_fd(&f.dir, dnode.atime, dnode.mtime) {
                skips.add(format!("{}/: times: {e}", f.path));
            }
            continue;
        };
        top.next += 1;
        let path = format!("{}/{}", top.path, show(name));
        if let Some(why) = check_name(name) {
            skips.add(format!("{path}: {why}"));
            continue;
        }
        let Some(node) = tree.nodes.get(child) else {
            skips.add(format!("{path}: refers to a missing inode {child}"));
            continue;
        };
        if node.kind == Kind::Dir {
            if !seen_dirs.insert(*child) {
                skips.add(format!(
                    "{path}: directory inode {child} has a second name (cycle or hard link to a directory)"
                ));
                continue;
            }
            if depth > MAX_DEPTH {
                skips.add(format!("{path}: nested deeper than {MAX_DEPTH}"));
                continue;
            }
            if let Err(e) = top.dir.mkdir(name, 0o700) {
                skips.add(format!("{path}: mkdir: {e}"));
                continue;
            }
            let sub = top
                .dir
                .open_dir(name)
                .ctx(|| format!("failed to open {path}"))?;
            counts.dirs += 1;
            stack.push(Frame {
                dir: sub,
                id: *child,
                next: 0,
                path,
            });
            continue;
        }
        if !made.contains(child) {
            continue; // reported when making it
        }
        if let Err(e) = top.dir.link_from(scratch, &scratch_name(*child), name) {
            skips.add(format!("{path}: {e}"));
            continue;
        }
        if !linked.insert(*child) {
            counts.hardlinks += 1;
            continue;
        }
        match node.kind {
            Kind::File => {
                counts.files += 1;
                counts.bytes += node.size;
            }
            Kind::Symlink(_) => counts.symlinks += 1,
            _ => counts.specials += 1,
        }
    }
    // Drop the scratch names: each inode now lives under its real names.
    for id in made {
        let _ = scratch.unlink(&scratch_name(id), false);
    }
    Ok(counts)
}
