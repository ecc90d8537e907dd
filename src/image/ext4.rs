//! A streaming ext4 reader: turns the blocks of an ext4 filesystem, delivered
//! once and in disk order, into a [`Tree`] plus the content of every regular
//! file (written, by inode number, into a scratch directory).
//!
//! Why not ext4-view: it needs random access (a compressed stream has none)
//! and gives no device numbers, inode numbers/link counts or xattrs, and
//! refuses inline_data and meta_bg. This reader handles the superblock, 32 and
//! 64-bit group descriptors (meta_bg too), block/inode bitmaps, inode tables,
//! extent trees of any depth, ext2/3 block maps, directories (htree read
//! linearly), inline data, fast and slow symlinks, xattrs in the inode and in a
//! block (POSIX ACLs converted to the kernel's xattr format), device numbers
//! and holes. Blocks that arrive before their owner is known wait in
//! [`Pending`]. Every number from the image is checked against the
//! filesystem's size before use; a bad entry is skipped and reported.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Extended attributes as (name, value) pairs.
type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

use super::blocks::{Claims, Pending, is_zero};
use super::le::{u16le, u32le};
use super::tree::{Kind, Node, Skips, Tree, scratch_name};
use crate::bail;
use crate::error::{Context, Error, Result};
use crate::system::fsys::Dir;

const INCOMPAT_FILETYPE: u32 = 0x2;
const INCOMPAT_RECOVER: u32 = 0x4;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_UNSUPPORTED: u32 = 0x1 | 0x8 | 0x1000 | 0x10000; // compression, journal dev, dirdata, encrypt
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const RO_COMPAT_BIGALLOC: u32 = 0x200;
const COMPAT_SPARSE_SUPER2: u32 = 0x200;

const FL_EXTENTS: u32 = 0x80000;
const FL_INLINE: u32 = 0x1000_0000;

/// Bytes of one file's content gathered before one write.
const WRITE_BATCH: usize = 1 << 20;

const BG_INODE_UNINIT: u16 = 1;
const BG_BLOCK_UNINIT: u16 = 2;

/// The superblock fields this reader uses, checked.
#[derive(Debug, Clone)]
pub struct Super {
    pub block_size: usize,
    pub blocks_count: u64,
    pub first_data_block: u64,
    pub blocks_per_group: u64,
    pub inodes_per_group: u32,
    pub inodes_count: u32,
    pub inode_size: usize,
    pub first_ino: u32,
    pub desc_size: usize,
    pub incompat: u32,
    pub ro_compat: u32,
    pub compat: u32,
    pub first_meta_bg: u32,
    pub groups: u64,
}

/// Parse the superblock from the first 2048 bytes of the partition.
pub fn parse_super(head: &[u8], part_bytes: u64) -> Result<Super> {
    let sb = head
        .get(1024..2048)
        .ok_or_else(|| Error::new("ext4: partition shorter than a superblock"))?;
    if u16le(sb, 0x38) != 0xEF53 {
        bail!("ext4: no ext2/3/4 superblock (bad magic)");
    }
    let log = u32le(sb, 0x18);
    if log > 6 {
        bail!("ext4: block size 2^{} KiB is out of range", log);
    }
    let bs = 1024usize << log;
    let incompat = u32le(sb, 0x60);
    let ro_compat = u32le(sb, 0x64);
    let compat = u32le(sb, 0x5C);
    if incompat & INCOMPAT_UNSUPPORTED != 0 {
        bail!(
            "ext4: unsupported features (incompat {:#x})",
            incompat & INCOMPAT_UNSUPPORTED
        );
    }
    if ro_compat & RO_COMPAT_BIGALLOC != 0 {
        bail!("ext4: bigalloc is not supported");
    }
    let is64 = incompat & INCOMPAT_64BIT != 0;
    let mut blocks_count = u32le(sb, 0x4) as u64;
    if is64 {
        blocks_count |= (u32le(sb, 0x150) as u64) << 32;
    }
    let first_data_block = u32le(sb, 0x14) as u64;
    let bpg = u32le(sb, 0x20) as u64;
    let ipg = u32le(sb, 0x28);
    let rev = u32le(sb, 0x4C);
    let (first_ino, inode_size) = if rev == 0 {
        (11, 128)
    } else {
        (u32le(sb, 0x54), u16le(sb, 0x58) as usize)
    };
    let desc_size = if is64 { u16le(sb, 0xFE) as usize } else { 32 };
    if bpg != 8 * bs as u64 {
        bail!("ext4: {} blocks per group is not supported", bpg);
    }
    if ipg == 0 || ipg as u64 > 8 * bs as u64 {
        bail!("ext4: {} inodes per group is out of range", ipg);
    }
    if inode_size < 128 || inode_size > bs || !inode_size.is_power_of_two() {
        bail!("ext4: inode size {} is out of range", inode_size);
    }
    if !(32..=1024).contains(&desc_size) || !desc_size.is_power_of_two() {
        bail!("ext4: group descriptor size {} is out of range", desc_size);
    }
    if first_data_block > 1 || blocks_count <= first_data_block {
        bail!("ext4: block counts are inconsistent");
    }
    if blocks_count.saturating_mul(bs as u64) > part_bytes {
        bail!(
            "ext4: filesystem of {} blocks is larger than its partition ({} bytes)",
            blocks_count,
            part_bytes
        );
    }
    let groups = (blocks_count - first_data_block).div_ceil(bpg);
    let inodes_count = u32le(sb, 0x0);
    if inodes_count as u64 > groups * ipg as u64 {
        bail!("ext4: inode count exceeds the groups' room");
    }
    Ok(Super {
        block_size: bs,
        blocks_count,
        first_data_block,
        blocks_per_group: bpg,
        inodes_per_group: ipg,
        inodes_count,
        inode_size,
        first_ino: first_ino.max(3),
        desc_size,
        incompat,
        ro_compat,
        compat,
        first_meta_bg: u32le(sb, 0x104),
        groups,
    })
}

impl Super {
    fn has_super(&self, g: u64) -> bool {
        if g <= 1 || self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return false; // backups at two recorded groups only; not needed here
        }
        for p in [3u64, 5, 7] {
            let mut x = p;
            while x < g {
                x *= p;
            }
            if x == g {
                return true;
            }
        }
        false
    }

    fn group_first_block(&self, g: u64) -> u64 {
        self.first_data_block + g * self.blocks_per_group
    }

    /// Where the group descriptor blocks are: (block, index of the first group it describes).
    fn gdt_blocks(&self) -> Vec<(u64, u64)> {
        let per = (self.block_size / self.desc_size) as u64;
        let nblocks = self.groups.div_ceil(per);
        let mut out = Vec::new();
        if self.incompat & INCOMPAT_META_BG == 0 {
            for i in 0..nblocks {
                out.push((self.first_data_block + 1 + i, i * per));
            }
        } else {
            let first_meta = (self.first_meta_bg as u64).min(nblocks);
            for i in 0..first_meta {
                out.push((self.first_data_block + 1 + i, i * per));
            }
            for m in first_meta..nblocks {
                let g = m * per;
                let b = self.group_first_block(g) + u64::from(self.has_super(g));
                out.push((b, g));
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default)]
struct Group {
    block_bitmap: u64,
    inode_bitmap: u64,
    inode_table: u64,
    flags: u16,
    itable_unused: u32,
    known: bool,
}

#[derive(Debug, Clone)]
enum Claim {
    Gdt(u64),
    BlockBitmap(u64),
    InodeBitmap(u64),
    InodeTable(u64),
    /// An extent tree node of `ino`, expected at `depth`.
    Extent {
        ino: u32,
        depth: u16,
    },
    /// An ext2/3 indirect block: entries map `level` levels down from `logical`.
    Indirect {
        ino: u32,
        level: u8,
        logical: u64,
    },
    /// Content of `ino` from logical block `logical` at the run's start.
    Data {
        ino: u32,
        logical: u64,
    },
    Xattr,
    Ignore,
}

/// The ext4 reader's state while the partition streams by.
pub struct Ext4 {
    sb: Super,
    bs: usize,
    groups: Vec<Group>,
    block_bitmaps: HashMap<u64, Vec<u8>>,
    inode_bitmaps: HashMap<u64, Vec<u8>>,
    claims: Claims<Claim>,
    pending: Pending,
    /// Kept blocks a new claim wants, handled one at a time.
    queue: VecDeque<u64>,
    pos: u64,
    /// By inode number (u64 as in [`Tree`], so finishing moves the map instead of copying it).
    nodes: HashMap<u64, Node>,
    /// Inodes whose blocks are dropped (journal, resize inode...).
    ignored: std::collections::HashSet<u32>,
    xattr_waiters: HashMap<u64, Vec<u32>>,
    /// "." and ".." entries seen per directory (more than two is hostile).
    dots: HashMap<u32, u8>,
    xattr_done: HashMap<u64, Xattrs>,
    scratch: Dir,
    open: Option<(u32, File)>,
    /// Content not yet written: inode, offset, bytes.
    wbuf: (u32, u64, Vec<u8>),
    /// How far each scratch file's content reaches: those that reach their
    /// size need no truncate at the end.
    data_end: HashMap<u64, u64>,
    pub skips: Skips,
    pub data_bytes: u64,
}

fn extent_entries(
    node: &[u8],
    want_depth: Option<u16>,
) -> std::result::Result<(u16, Vec<&[u8]>), String> {
    if u16le(node, 0) != 0xF30A {
        return Err("bad extent header magic".into());
    }
    let n = u16le(node, 2) as usize;
    let depth = u16le(node, 6);
    if depth > 5 {
        return Err(format!("extent tree depth {depth} is too deep"));
    }
    if let Some(w) = want_depth {
        if w != depth {
            return Err(format!("extent node depth {depth}, expected {w}"));
        }
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let o = 12 + i * 12;
        match node.get(o..o + 12) {
            Some(e) => out.push(e),
            None => return Err("extent count exceeds its node".into()),
        }
    }
    Ok((depth, out))
}

impl Ext4 {
    pub fn new(
        sb: Super,
        scratch: Dir,
        make_spill: Box<dyn FnMut() -> std::io::Result<File>>,
    ) -> Ext4 {
        let bs = sb.block_size;
        let mut e = Ext4 {
            groups: vec![Group::default(); sb.groups as usize],
            bs,
            block_bitmaps: HashMap::new(),
            inode_bitmaps: HashMap::new(),
            claims: Claims::new(),
            pending: Pending::new(bs, 2 << 20, make_spill),
            queue: VecDeque::new(),
            pos: 0,
            nodes: HashMap::new(),
            ignored: Default::default(),
            xattr_waiters: HashMap::new(),
            dots: HashMap::new(),
            xattr_done: HashMap::new(),
            scratch,
            open: None,
            wbuf: (0, 0, Vec::with_capacity(WRITE_BATCH + 65536)),
            data_end: HashMap::new(),
            skips: Skips::default(),
            data_bytes: 0,
            sb,
        };
        if e.sb.incompat & INCOMPAT_RECOVER != 0 {
            e.skips
                .add("ext4: the journal holds unreplayed changes; they are not applied".into());
        }
        for (b, g) in e.sb.gdt_blocks() {
            e.claims.add(b, 1, Claim::Gdt(g));
        }
        e
    }

    pub fn block_size(&self) -> usize {
        self.bs
    }

    pub fn blocks(&self) -> u64 {
        self.sb.blocks_count
    }

    /// Take the next block of the stream (blocks come in order from 0).
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        let b = self.pos;
        self.pos += 1;
        if b >= self.sb.blocks_count {
            return Ok(());
        }
        self.process(b, data)?;
        while let Some(b) = self.queue.pop_front() {
            if let Some(d) = self.pending.take(b)? {
                self.process(b, &d)?;
            }
        }
        Ok(())
    }

    fn process(&mut self, b: u64, data: &[u8]) -> Result<()> {
        match self.claims.get(b) {
            Some((start, c)) => {
                let c = c.clone();
                self.handle(c, start, b, data)
            }
            None => {
                if self.maybe_needed(b) && !is_zero(data) {
                    self.pending.put(b, data)?;
                }
                Ok(())
            }
        }
    }

    fn maybe_needed(&self, b: u64) -> bool {
        let Some(rel) = b.checked_sub(self.sb.first_data_block) else {
            return false;
        };
        let g = rel / self.sb.blocks_per_group;
        let i = (rel % self.sb.blocks_per_group) as usize;
        if let Some(bm) = self.block_bitmaps.get(&g) {
            return bm.get(i / 8).is_some_and(|x| x & (1 << (i % 8)) != 0);
        }
        match self.groups.get(g as usize) {
            Some(gr) if gr.known => gr.flags & BG_BLOCK_UNINIT == 0,
            _ => true,
        }
    }

    /// Register a claim; blocks of it that already went by are taken from
    /// the pending store (or reported missing when they were metadata).
    fn claim(&mut self, start: u64, len: u64, c: Claim, what: impl Fn() -> String) {
        if len == 0 {
            return;
        }
        let end = start.saturating_add(len);
        if start < self.sb.first_data_block || end > self.sb.blocks_count {
            self.skips.add(format!(
                "{}: blocks {}..{} lie outside the filesystem",
                what(),
                start,
                end
            ));
            return;
        }
        let is_data = matches!(c, Claim::Data { .. } | Claim::Ignore);
        if !self.claims.add(start, len, c) {
            self.skips.add(format!(
                "{}: blocks {}..{} are claimed twice",
                what(),
                start,
                end
            ));
            return;
        }
        if start < self.pos {
            let upto = end.min(self.pos);
            let got = self.pending.keys_in(start, upto);
            if !is_data && (got.len() as u64) < upto - start {
                self.skips.add(format!(
                    "{}: block {} went by as free or zero",
                    what(),
                    start
                ));
            }
            self.queue.extend(got);
        }
    }

    fn handle(&mut self, c: Claim, start: u64, b: u64, data: &[u8]) -> Result<()> {
        match c {
            Claim::Gdt(first) => self.parse_gdt(first, data),
            Claim::BlockBitmap(g) => {
                self.block_bitmaps.insert(g, data.to_vec());
            }
            Claim::InodeBitmap(g) => {
                self.inode_bitmaps.insert(g, data.to_vec());
            }
            Claim::InodeTable(g) => {
                let idx = b - start;
                self.parse_inode_block(g, idx, data);
            }
            Claim::Extent { ino, depth } => self.parse_extent_node(ino, depth, data),
            Claim::Indirect {
                ino,
                level,
                logical,
            } => self.parse_indirect(ino, level, logical, data),
            Claim::Data { ino, logical } => {
                let l = logical + (b - start);
                self.data(ino, l, data)?;
            }
            Claim::Xattr => self.parse_xattr_block(b, data),
            Claim::Ignore => {}
        }
        Ok(())
    }

    fn parse_gdt(&mut self, first: u64, data: &[u8]) {
        let ds = self.sb.desc_size;
        let per = self.bs / ds;
        for i in 0..per {
            let g = first + i as u64;
            if g >= self.sb.groups {
                break;
            }
            let d = &data[i * ds..(i + 1) * ds];
            let wide = ds >= 64;
            let hi = |o: usize| if wide { (u32le(d, o) as u64) << 32 } else { 0 };
            let gr = Group {
                block_bitmap: u32le(d, 0) as u64 | hi(0x20),
                inode_bitmap: u32le(d, 4) as u64 | hi(0x24),
                inode_table: u32le(d, 8) as u64 | hi(0x28),
                flags: u16le(d, 0x12),
                itable_unused: u16le(d, 0x1C) as u32
                    | if wide {
                        (u16le(d, 0x32) as u32) << 16
                    } else {
                        0
                    },
                known: true,
            };
            let what = move || format!("ext4: group {g}");
            if gr.flags & BG_BLOCK_UNINIT == 0 {
                self.claim(gr.block_bitmap, 1, Claim::BlockBitmap(g), what);
            }
            if gr.flags & BG_INODE_UNINIT == 0 {
                self.claim(gr.inode_bitmap, 1, Claim::InodeBitmap(g), what);
                let tbl = (self.sb.inodes_per_group as u64 * self.sb.inode_size as u64)
                    .div_ceil(self.bs as u64);
                self.claim(gr.inode_table, tbl, Claim::InodeTable(g), what);
            }
            if let Some(slot) = self.groups.get_mut(g as usize) {
                *slot = gr;
            }
        }
    }

    fn inode_in_use(&self, g: u64, idx: u32) -> bool {
        let Some(gr) = self.groups.get(g as usize) else {
            return false;
        };
        if gr.flags & BG_INODE_UNINIT != 0 {
            return false;
        }
        if gr.itable_unused > 0 && idx >= self.sb.inodes_per_group.saturating_sub(gr.itable_unused)
        {
            return false;
        }
        match self.inode_bitmaps.get(&g) {
            Some(bm) => bm
                .get(idx as usize / 8)
                .is_some_and(|x| x & (1 << (idx % 8)) != 0),
            None => true,
        }
    }

    fn parse_inode_block(&mut self, g: u64, blk_idx: u64, data: &[u8]) {
        let isz = self.sb.inode_size;
        let per = self.bs / isz;
        for i in 0..per {
            let idx = blk_idx * per as u64 + i as u64;
            if idx >= self.sb.inodes_per_group as u64 {
                break;
            }
            let ino64 = g * self.sb.inodes_per_group as u64 + idx + 1;
            if ino64 > self.sb.inodes_count as u64 || ino64 > u32::MAX as u64 {
                break;
            }
            let ino = ino64 as u32;
            if !self.inode_in_use(g, idx as u32) {
                continue;
            }
            let raw = &data[i * isz..(i + 1) * isz];
            self.parse_inode(ino, raw);
        }
    }

    fn parse_inode(&mut self, ino: u32, raw: &[u8]) {
        let mode = u16le(raw, 0) as u32;
        let links = u16le(raw, 0x1A);
        if mode == 0 || links == 0 {
            return;
        }
        let flags = u32le(raw, 0x20);
        let iblock = &raw[0x28..0x28 + 60];
        let size = u32le(raw, 4) as u64 | (u32le(raw, 0x6C) as u64) << 32;
        let what = move || format!("ext4: inode {ino}");
        // Reserved inodes other than the root: drop their blocks (journal, resize inode...).
        if ino < self.sb.first_ino && ino != 2 {
            self.ignored.insert(ino);
            if flags & FL_EXTENTS != 0 {
                self.map_extents(ino, iblock, None);
            }
            return;
        }
        let kind = match mode & 0xF000 {
            0x8000 => Kind::File,
            0x4000 => Kind::Dir,
            0xA000 => Kind::Symlink(Vec::new()),
            0x2000 => Kind::CharDev(decode_dev(iblock)),
            0x6000 => Kind::BlockDev(decode_dev(iblock)),
            0x1000 => Kind::Fifo,
            0xC000 => Kind::Socket,
            t => {
                self.skips
                    .add(format!("{}: unknown file type {:#o}", what(), t));
                return;
            }
        };
        let mut node = Node::new(kind);
        node.perm = mode & 0o7777;
        node.uid = u16le(raw, 2) as u32 | (u16le(raw, 0x78) as u32) << 16;
        node.gid = u16le(raw, 0x18) as u32 | (u16le(raw, 0x7A) as u32) << 16;
        node.size = size;
        let extra = if self.sb.inode_size > 128 {
            u16le(raw, 0x80) as usize
        } else {
            0
        };
        let time = |base: usize, ex: usize| -> (i64, u32) {
            let s = u32le(raw, base) as i32 as i64;
            if extra >= ex - 0x80 + 4 {
                let e = u32le(raw, ex);
                (s + (((e & 3) as i64) << 32), e >> 2)
            } else {
                (s, 0)
            }
        };
        node.mtime = time(0x10, 0x88);
        node.atime = time(0x08, 0x8C);
        // In-inode xattrs.
        let mut inline_tail: Vec<u8> = Vec::new();
        let ibody = 128 + extra;
        if self.sb.inode_size > 128 && ibody + 4 <= raw.len() && u32le(raw, ibody) == 0xEA02_0000 {
            let region = &raw[ibody + 4..];
            for (k, v) in parse_xattr_entries(region, region, &mut self.skips, ino) {
                if k == b"system.data" {
                    inline_tail = v;
                } else {
                    node.xattrs.push((k, v));
                }
            }
        }
        let acl = u32le(raw, 0x68) as u64 | (u16le(raw, 0x76) as u64) << 32;
        let is_dir = node.kind == Kind::Dir;
        let is_file = node.kind == Kind::File;
        let is_link = matches!(node.kind, Kind::Symlink(_));
        let mut content_inline: Option<Vec<u8>> = None;
        if flags & FL_INLINE != 0 {
            let mut v = iblock.to_vec();
            v.extend_from_slice(&inline_tail);
            content_inline = Some(v);
        } else if is_link {
            let acl_blocks = if acl != 0 { (self.bs / 512) as u32 } else { 0 };
            let iblocks = u32le(raw, 0x1C);
            if flags & FL_EXTENTS == 0 && iblocks.saturating_sub(acl_blocks) == 0 && size <= 60 {
                node.kind = Kind::Symlink(iblock[..size as usize].to_vec());
            } else if size == 0 || size > 4096 {
                self.skips
                    .add(format!("{}: symlink target of {} bytes", what(), size));
                return;
            } else {
                node.kind = Kind::Symlink(vec![0; size as usize]);
                self.map_content(ino, iblock, flags);
            }
        } else if is_dir || is_file {
            self.map_content(ino, iblock, flags);
        }
        if acl != 0 {
            if let Some(x) = self.xattr_done.get(&acl) {
                node.xattrs.extend(x.iter().cloned());
            } else if let Some(w) = self.xattr_waiters.get_mut(&acl) {
                w.push(ino);
            } else {
                self.xattr_waiters.insert(acl, vec![ino]);
                self.claim(acl, 1, Claim::Xattr, what);
            }
        }
        self.nodes.insert(ino.into(), node);
        if let Some(v) = content_inline {
            if is_dir {
                // 4 bytes of parent inode, then entries; the xattr part is entries too.
                let (a, b) = v.split_at(60.min(v.len()));
                let a = a.get(4..).unwrap_or(&[]);
                self.parse_dir_entries(ino, a);
                let b = b.to_vec();
                self.parse_dir_entries(ino, &b);
            } else if is_link {
                let t = v.get(..size as usize).unwrap_or(&v).to_vec();
                if let Some(n) = self.nodes.get_mut(&u64::from(ino)) {
                    n.kind = Kind::Symlink(t);
                }
            } else if is_file {
                let n = (size as usize).min(v.len());
                if let Err(e) = self.write_file(ino, 0, &v[..n]) {
                    self.skips.add(format!("{}: {}", what(), e));
                }
            }
        }
    }

    fn map_content(&mut self, ino: u32, iblock: &[u8], flags: u32) {
        if flags & FL_EXTENTS != 0 {
            self.map_extents(ino, iblock, None);
        } else {
            // ext2/3 block map: 12 direct, then single, double, triple indirect.
            let per = (self.bs / 4) as u64;
            for i in 0..12u64 {
                let blk = u32le(iblock, i as usize * 4) as u64;
                if blk != 0 {
                    self.claim(blk, 1, Claim::Data { ino, logical: i }, || {
                        format!("ext4: inode {ino}")
                    });
                }
            }
            let mut base = 12u64;
            for level in 1..=3u8 {
                let blk = u32le(iblock, (11 + level as usize) * 4) as u64;
                if blk != 0 {
                    self.claim(
                        blk,
                        1,
                        Claim::Indirect {
                            ino,
                            level,
                            logical: base,
                        },
                        || format!("ext4: inode {ino}"),
                    );
                }
                base = base.saturating_add(per.saturating_pow(level as u32));
            }
        }
    }

    fn parse_indirect(&mut self, ino: u32, level: u8, logical: u64, data: &[u8]) {
        let per = (self.bs / 4) as u64;
        let span = per.saturating_pow(level as u32 - 1);
        for i in 0..per {
            let blk = u32le(data, i as usize * 4) as u64;
            if blk == 0 {
                continue;
            }
            let l = logical.saturating_add(i * span);
            let what = || format!("ext4: inode {ino}");
            if level == 1 {
                self.claim(blk, 1, Claim::Data { ino, logical: l }, what);
            } else {
                self.claim(
                    blk,
                    1,
                    Claim::Indirect {
                        ino,
                        level: level - 1,
                        logical: l,
                    },
                    what,
                );
            }
        }
    }

    fn map_extents(&mut self, ino: u32, node: &[u8], want: Option<u16>) {
        let what = move || format!("ext4: inode {ino}");
        let (depth, entries) = match extent_entries(node, want) {
            Ok(x) => x,
            Err(e) => {
                self.skips.add(format!("{}: {}", what(), e));
                return;
            }
        };
        let ignore = self.ignored.contains(&ino);
        for e in entries {
            if depth == 0 {
                let logical = u32le(e, 0) as u64;
                let mut len = u16le(e, 4) as u64;
                let start = u32le(e, 8) as u64 | (u16le(e, 6) as u64) << 32;
                let uninit = len > 32768;
                if uninit {
                    len -= 32768;
                }
                let c = if uninit || ignore {
                    Claim::Ignore
                } else {
                    Claim::Data { ino, logical }
                };
                self.claim(start, len, c, what);
            } else {
                let leaf = u32le(e, 4) as u64 | (u16le(e, 8) as u64) << 32;
                self.claim(
                    leaf,
                    1,
                    Claim::Extent {
                        ino,
                        depth: depth - 1,
                    },
                    what,
                );
            }
        }
    }

    fn parse_extent_node(&mut self, ino: u32, depth: u16, data: &[u8]) {
        self.map_extents(ino, data, Some(depth));
    }

    fn data(&mut self, ino: u32, logical: u64, data: &[u8]) -> Result<()> {
        let bs = self.bs as u64;
        let Some(node) = self.nodes.get_mut(&u64::from(ino)) else {
            return Ok(());
        };
        let Some(off) = logical.checked_mul(bs) else {
            return Ok(());
        };
        match &mut node.kind {
            Kind::File => {
                if off >= node.size || is_zero(data) {
                    return Ok(());
                }
                let n = ((node.size - off).min(bs)) as usize;
                self.write_file(ino, off, &data[..n])?;
            }
            Kind::Symlink(t) => {
                let Ok(o) = usize::try_from(off) else {
                    return Ok(());
                };
                if o < t.len() {
                    let n = (t.len() - o).min(data.len());
                    t[o..o + n].copy_from_slice(&data[..n]);
                }
            }
            Kind::Dir => self.parse_dir_entries(ino, data),
            _ => {}
        }
        Ok(())
    }

    /// Queue file content; contiguous blocks of one file are written in one call.
    fn write_file(&mut self, ino: u32, off: u64, data: &[u8]) -> Result<()> {
        let (bino, boff, buf) = &mut self.wbuf;
        if *bino == ino && *boff + buf.len() as u64 == off && buf.len() < WRITE_BATCH {
            buf.extend_from_slice(data);
            return Ok(());
        }
        self.flush()?;
        self.wbuf.0 = ino;
        self.wbuf.1 = off;
        self.wbuf.2.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let (ino, off) = (self.wbuf.0, self.wbuf.1);
        if self.wbuf.2.is_empty() {
            return Ok(());
        }
        if self.open.as_ref().map(|(i, _)| *i) != Some(ino) {
            let f = scratch_file(&self.scratch, ino as u64)?;
            self.open = Some((ino, f));
        }
        if let Some((_, f)) = &self.open {
            f.write_all_at(&self.wbuf.2, off)
                .ctx(|| format!("failed to write inode {ino}'s content"))?;
            self.data_bytes += self.wbuf.2.len() as u64;
            let end = off + self.wbuf.2.len() as u64;
            let e = self.data_end.entry(ino.into()).or_insert(0);
            *e = (*e).max(end);
        }
        self.wbuf.2.clear();
        Ok(())
    }

    fn parse_dir_entries(&mut self, ino: u32, data: &[u8]) {
        let filetype = self.sb.incompat & INCOMPAT_FILETYPE != 0;
        let mut o = 0usize;
        let mut found = Vec::new();
        while o + 8 <= data.len() {
            let child = u32le(data, o);
            let mut rec = u16le(data, o + 4) as usize;
            if self.bs >= 65536 && (rec == 0 || rec == 65535) {
                rec = 65536;
            }
            let name_len = if filetype {
                data[o + 6] as usize
            } else {
                u16le(data, o + 6) as usize
            };
            if rec < 8 || o + rec > data.len() || 8 + name_len > rec {
                if !is_zero(&data[o..]) || o == 0 {
                    self.skips.add(format!(
                        "ext4: directory inode {ino}: corrupt entry at byte {o}"
                    ));
                }
                break;
            }
            if child != 0 {
                let name = data[o + 8..o + 8 + name_len].to_vec();
                if name == b"." || name == b".." {
                    let n = self.dots.entry(ino).or_insert(0);
                    *n += 1;
                    if *n > 2 {
                        self.skips.add(format!(
                            "ext4: directory inode {ino}: extra entry named {}",
                            String::from_utf8_lossy(&name)
                        ));
                    }
                } else {
                    if child as u64 > self.sb.inodes_count as u64 {
                        self.skips.add(format!(
                            "ext4: directory inode {ino}: entry names inode {child}, beyond the inode count"
                        ));
                    } else {
                        found.push((name, child as u64));
                    }
                }
            }
            o += rec;
        }
        if let Some(n) = self.nodes.get_mut(&u64::from(ino)) {
            n.children.extend(found);
        }
    }

    fn parse_xattr_block(&mut self, b: u64, data: &[u8]) {
        let waiters = self.xattr_waiters.remove(&b).unwrap_or_default();
        let attrs = if u32le(data, 0) != 0xEA02_0000 || u32le(data, 8) != 1 {
            self.skips.add(format!("ext4: xattr block {b}: bad header"));
            Vec::new()
        } else {
            let entries = data.get(32..).unwrap_or(&[]);
            parse_xattr_entries(
                entries,
                data,
                &mut self.skips,
                waiters.first().copied().unwrap_or(0),
            )
        };
        for ino in waiters {
            if let Some(n) = self.nodes.get_mut(&u64::from(ino)) {
                n.xattrs.extend(attrs.iter().cloned());
            }
        }
        self.xattr_done.insert(b, attrs);
    }

    /// After the last block: give every regular file its length (holes at the
    /// end stay holes) and hand over the tree.
    pub fn finish(mut self) -> Result<(Tree, Skips, u64)> {
        self.flush()?;
        self.open = None;
        if !self.nodes.contains_key(&2) {
            bail!("ext4: the root directory (inode 2) was not found");
        }
        let mut bad = Vec::new();
        for (&ino, n) in &self.nodes {
            let reached = self.data_end.get(&ino) == Some(&n.size);
            if n.kind != Kind::File || reached {
                continue;
            }
            let f = scratch_file(&self.scratch, ino)?;
            if let Err(e) = f.set_len(n.size) {
                self.skips.add(format!(
                    "ext4: inode {ino}: size {} cannot be set: {e}",
                    n.size
                ));
                bad.push(ino);
            }
        }
        for ino in bad {
            self.nodes.remove(&ino);
            let _ = self.scratch.unlink(&scratch_name(ino), false);
        }
        Ok((
            Tree {
                nodes: self.nodes,
                root: 2,
            },
            self.skips,
            self.pending.peak_bytes,
        ))
    }
}

fn decode_dev(iblock: &[u8]) -> u64 {
    let old = u32le(iblock, 0);
    let (major, minor) = if old != 0 {
        ((old >> 8) & 0xff, old & 0xff)
    } else {
        let d = u32le(iblock, 4);
        ((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00))
    };
    libc::makedev(major, minor)
}

/// Parse xattr entries from `entries`; values are at offsets into `values_base`.
fn parse_xattr_entries(entries: &[u8], values_base: &[u8], skips: &mut Skips, ino: u32) -> Xattrs {
    let mut out = Vec::new();
    let mut o = 0usize;
    while o + 16 <= entries.len() {
        if u32le(entries, o) == 0 {
            break;
        }
        let name_len = entries[o] as usize;
        let index = entries[o + 1];
        let voff = u16le(entries, o + 2) as usize;
        let vinum = u32le(entries, o + 4);
        let vsize = u32le(entries, o + 8) as usize;
        let Some(name) = entries.get(o + 16..o + 16 + name_len) else {
            skips.add(format!("ext4: inode {ino}: xattr name beyond its block"));
            break;
        };
        o += (16 + name_len + 3) & !3;
        let prefix: &[u8] = match index {
            1 => b"user.",
            2 => b"system.posix_acl_access",
            3 => b"system.posix_acl_default",
            4 => b"trusted.",
            6 => b"security.",
            7 => b"system.",
            8 => b"system.richacl",
            _ => {
                skips.add(format!(
                    "ext4: inode {ino}: xattr with unknown index {index}"
                ));
                continue;
            }
        };
        let mut key = prefix.to_vec();
        key.extend_from_slice(name);
        if vinum != 0 {
            skips.add(format!(
                "ext4: inode {ino}: xattr {} is stored in an inode (ea_inode), not copied",
                String::from_utf8_lossy(&key)
            ));
            continue;
        }
        let Some(v) = values_base.get(voff..voff.saturating_add(vsize)) else {
            skips.add(format!("ext4: inode {ino}: xattr value beyond its block"));
            continue;
        };
        let v = if index == 2 || index == 3 {
            match acl_to_xattr(v) {
                Some(a) => a,
                None => {
                    skips.add(format!("ext4: inode {ino}: malformed ACL"));
                    continue;
                }
            }
        } else {
            v.to_vec()
        };
        out.push((key, v));
    }
    out
}

/// ext4's on-disk ACL (version 1, short entries) to the kernel xattr form (version 2).
fn acl_to_xattr(v: &[u8]) -> Option<Vec<u8>> {
    if u32le(v, 0) != 1 {
        return None;
    }
    let mut out = 2u32.to_le_bytes().to_vec();
    let mut o = 4;
    while o < v.len() {
        let tag = u16le(v, o);
        let perm = u16le(v, o + 2);
        let (id, step) = match tag {
            2 | 8 => (u32le(v, o + 4), 8),
            1 | 4 | 0x10 | 0x20 => (u32::MAX, 4),
            _ => return None,
        };
        if o + step > v.len() {
            return None;
        }
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&perm.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
        o += step;
    }
    Some(out)
}

/// The scratch file of inode `ino`, opened for writing (made when it is not there yet).
fn scratch_file(scratch: &Dir, ino: u64) -> Result<std::fs::File> {
    let name = scratch_name(ino);
    match scratch.open_file(&name, libc::O_WRONLY) {
        Ok(f) => Ok(f),
        Err(_) => scratch
            .create_file(&name)
            .ctx(|| format!("failed to create scratch file for inode {ino}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_short_and_long_entries_convert() {
        let mut v = 1u32.to_le_bytes().to_vec();
        v.extend_from_slice(&[1, 0, 6, 0]); // user_obj rw
        v.extend_from_slice(&[2, 0, 4, 0, 0xe8, 3, 0, 0]); // user 1000 r
        let x = acl_to_xattr(&v).unwrap();
        assert_eq!(u32le(&x, 0), 2);
        assert_eq!(u32le(&x, 8), u32::MAX);
        assert_eq!(u32le(&x, 16), 1000);
        assert!(acl_to_xattr(&[1, 0, 0, 0, 2, 0]).is_none());
    }

    #[test]
    fn device_numbers_decode_old_and_new() {
        let mut ib = [0u8; 60];
        ib[0..4].copy_from_slice(&0x0801u32.to_le_bytes());
        assert_eq!(decode_dev(&ib), libc::makedev(8, 1));
        let mut ib = [0u8; 60];
        // major 259, minor 300: (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
        let d = (300 & 0xff) | (259 << 8) | ((300 & !0xff) << 12);
        ib[4..8].copy_from_slice(&(d as u32).to_le_bytes());
        assert_eq!(decode_dev(&ib), libc::makedev(259, 300));
    }

    #[test]
    fn superblock_checks_refuse_garbage() {
        assert!(parse_super(&[0u8; 100], 1 << 20).is_err());
        assert!(parse_super(&[0u8; 4096], 1 << 20).is_err());
    }
}
