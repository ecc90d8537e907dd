//! A streaming FAT12/16/32 reader: turns the sectors of a FAT partition,
//! delivered once and in order, into a [`Tree`] with long names, and the
//! content of each file (written by id into a scratch directory).
//!
//! Why not the fatfs crate: it needs random access (Read + Seek over the
//! whole partition), so a compressed image would have to be unpacked to a
//! temporary copy first. Here the reserved sectors, the FATs and the FAT12/16
//! root directory (a few hundred KiB) are kept in memory; then each data
//! cluster goes to the file or directory whose chain holds it, or waits in
//! [`Pending`] when its directory entry has not been read yet.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;

use super::blocks::{Pending, is_zero};
use super::le::{u16le, u32le};
use super::tree::{Kind, Node, Skips, Tree, scratch_name};
use crate::bail;
use crate::error::{Context, Error, Result};
use crate::system::fsys::Dir;

/// The most metadata (reserved sectors + FATs + root directory) kept in memory.
const MAX_META: u64 = 64 << 20;
/// The most clusters one directory may span.
const MAX_DIR_CLUSTERS: u64 = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatType {
    Fat12,
    Fat16,
    Fat32,
}

#[derive(Debug, Clone)]
pub struct Bpb {
    pub sector: usize,
    pub cluster: usize,
    pub fat_start: u64,
    pub root_start: u64,
    pub root_sectors: u64,
    pub data_start: u64,
    pub clusters: u64,
    pub root_cluster: u32,
    pub fat_type: FatType,
}

/// Does this look like a FAT boot sector?
pub fn probe(head: &[u8]) -> bool {
    head.len() >= 512
        && u16le(head, 510) == 0xAA55
        && matches!(u16le(head, 11), 512 | 1024 | 2048 | 4096)
        && head.get(13).is_some_and(|s| s.is_power_of_two())
        && u16le(head, 14) > 0
        && head.get(16).is_some_and(|&n| n >= 1)
}

pub fn parse_bpb(head: &[u8], part_bytes: u64) -> Result<Bpb> {
    if !probe(head) {
        bail!("fat: no FAT boot sector");
    }
    let sector = u16le(head, 11) as usize;
    let spc = head[13] as usize;
    let reserved = u16le(head, 14) as u64;
    let nfats = head[16] as u64;
    let root_entries = u16le(head, 17) as u64;
    let total = match u16le(head, 19) {
        0 => u32le(head, 32) as u64,
        n => n as u64,
    };
    let fat_sectors = match u16le(head, 22) {
        0 => u32le(head, 36) as u64,
        n => n as u64,
    };
    if fat_sectors == 0 {
        bail!("fat: FAT size is zero");
    }
    let root_sectors = (root_entries * 32).div_ceil(sector as u64);
    let root_start = reserved + nfats * fat_sectors;
    let data_start = root_start + root_sectors;
    if total <= data_start || total * sector as u64 > part_bytes {
        bail!("fat: sector counts do not fit the partition");
    }
    if data_start * sector as u64 > MAX_META {
        bail!(
            "fat: metadata region of {} sectors is too large",
            data_start
        );
    }
    let clusters = (total - data_start) / spc as u64;
    let fat_type = if clusters < 4085 {
        FatType::Fat12
    } else if clusters < 65525 {
        FatType::Fat16
    } else {
        FatType::Fat32
    };
    let entry_bits = match fat_type {
        FatType::Fat12 => 12,
        FatType::Fat16 => 16,
        FatType::Fat32 => 32,
    };
    if (clusters + 2) * entry_bits / 8 > fat_sectors * sector as u64 {
        bail!("fat: the FAT is too small for {} clusters", clusters);
    }
    Ok(Bpb {
        sector,
        cluster: sector * spc,
        fat_start: reserved,
        root_start,
        root_sectors,
        data_start,
        clusters,
        root_cluster: if fat_type == FatType::Fat32 {
            u32le(head, 44)
        } else {
            0
        },
        fat_type,
    })
}

#[derive(Debug, Clone, Copy)]
enum Claim {
    Dir(u64),
    File { id: u64, index: u64 },
}

pub struct Fat {
    bpb: Bpb,
    meta: Vec<u8>,
    pos: u64,
    cluster_buf: Vec<u8>,
    claims: HashMap<u32, Claim>,
    pending: Pending,
    /// Kept clusters a new claim wants, handled one at a time.
    queue: VecDeque<u64>,
    nodes: HashMap<u64, Node>,
    next_id: u64,
    scratch: Dir,
    open: Option<(u64, File)>,
    pub skips: Skips,
}

impl Fat {
    pub fn new(
        bpb: Bpb,
        scratch: Dir,
        make_spill: Box<dyn FnMut() -> std::io::Result<File>>,
    ) -> Fat {
        let mut nodes = HashMap::new();
        let mut root = Node::new(Kind::Dir);
        root.perm = 0o755;
        nodes.insert(1, root);
        Fat {
            pending: Pending::new(bpb.cluster, 2 << 20, make_spill),
            cluster_buf: Vec::with_capacity(bpb.cluster),
            meta: Vec::new(),
            bpb,
            pos: 0,
            claims: HashMap::new(),
            queue: VecDeque::new(),
            nodes,
            next_id: 2,
            scratch,
            open: None,
            skips: Skips::default(),
        }
    }

    pub fn sector_size(&self) -> usize {
        self.bpb.sector
    }

    /// Sectors the filesystem spans (the rest of the partition is skipped).
    pub fn sectors(&self) -> u64 {
        self.bpb.data_start + self.bpb.clusters * (self.bpb.cluster / self.bpb.sector) as u64
    }

    /// Take the next sector of the stream.
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        let s = self.pos;
        self.pos += 1;
        if s < self.bpb.data_start {
            self.meta.extend_from_slice(data);
            if s + 1 == self.bpb.data_start {
                self.start_data();
            }
            return Ok(());
        }
        if s >= self.sectors() {
            return Ok(());
        }
        self.cluster_buf.extend_from_slice(data);
        if self.cluster_buf.len() >= self.bpb.cluster {
            let c = (s - self.bpb.data_start) / (self.bpb.cluster / self.bpb.sector) as u64 + 2;
            let buf = std::mem::take(&mut self.cluster_buf);
            self.process(c, &buf)?;
            self.cluster_buf = buf;
            self.cluster_buf.clear();
            while let Some(c) = self.queue.pop_front() {
                if let Some(d) = self.pending.take(c)? {
                    self.process(c, &d)?;
                }
            }
        }
        Ok(())
    }

    fn next_cluster(&self, c: u32) -> Option<u32> {
        let base = (self.bpb.fat_start as usize) * self.bpb.sector;
        let v = match self.bpb.fat_type {
            FatType::Fat12 => {
                let o = base + c as usize * 3 / 2;
                let w = u16le(&self.meta, o) as u32;
                if c & 1 == 1 { w >> 4 } else { w & 0xFFF }
            }
            FatType::Fat16 => u16le(&self.meta, base + c as usize * 2) as u32,
            FatType::Fat32 => u32le(&self.meta, base + c as usize * 4) & 0x0FFF_FFFF,
        };
        let eoc = match self.bpb.fat_type {
            FatType::Fat12 => 0xFF7,
            FatType::Fat16 => 0xFFF7,
            FatType::Fat32 => 0x0FFF_FFF7,
        };
        (v >= 2 && v < eoc).then_some(v)
    }

    fn allocated(&self, c: u32) -> bool {
        let base = (self.bpb.fat_start as usize) * self.bpb.sector;
        let v = match self.bpb.fat_type {
            FatType::Fat12 => {
                let w = u16le(&self.meta, base + c as usize * 3 / 2) as u32;
                if c & 1 == 1 { w >> 4 } else { w & 0xFFF }
            }
            FatType::Fat16 => u16le(&self.meta, base + c as usize * 2) as u32,
            FatType::Fat32 => u32le(&self.meta, base + c as usize * 4) & 0x0FFF_FFFF,
        };
        v != 0
    }

    fn start_data(&mut self) {
        if self.bpb.fat_type == FatType::Fat32 {
            let rc = self.bpb.root_cluster;
            self.claim_chain(rc, None, Claim::Dir(1), "/");
        } else {
            let s = (self.bpb.root_start as usize) * self.bpb.sector;
            let e = s + (self.bpb.root_sectors as usize) * self.bpb.sector;
            let root = self.meta.get(s..e).unwrap_or(&[]).to_vec();
            self.parse_dir(1, &root);
        }
    }

    /// Claim the chain from `first`: `count` clusters, or to its end for a directory.
    fn claim_chain(&mut self, first: u32, count: Option<u64>, c: Claim, path: &str) {
        let max = count.unwrap_or(MAX_DIR_CLUSTERS);
        let mut cur = first;
        let mut i = 0u64;
        while i < max {
            if cur < 2 || cur as u64 >= self.bpb.clusters + 2 {
                self.skips.add(format!(
                    "fat: {path}: cluster {cur} is outside the filesystem"
                ));
                return;
            }
            if self.claims.contains_key(&cur) {
                self.skips.add(format!(
                    "fat: {path}: cluster {cur} is claimed twice (cross-linked)"
                ));
                return;
            }
            let claim = match c {
                Claim::Dir(id) => Claim::Dir(id),
                Claim::File { id, .. } => Claim::File { id, index: i },
            };
            self.claims.insert(cur, claim);
            if self.cluster_passed(cur) {
                self.queue
                    .extend(self.pending.keys_in(cur as u64, cur as u64 + 1));
            }
            i += 1;
            if i == max {
                break;
            }
            match self.next_cluster(cur) {
                Some(n) => cur = n,
                None => {
                    if count.is_some() {
                        self.skips.add(format!(
                            "fat: {path}: cluster chain shorter than the file size"
                        ));
                    }
                    return;
                }
            }
        }
    }

    fn cluster_passed(&self, c: u32) -> bool {
        let spc = (self.bpb.cluster / self.bpb.sector) as u64;
        let first_sector = self.bpb.data_start + (c as u64 - 2) * spc;
        first_sector + spc <= self.pos
    }

    fn process(&mut self, c: u64, data: &[u8]) -> Result<()> {
        let Ok(c32) = u32::try_from(c) else {
            return Ok(());
        };
        match self.claims.get(&c32).copied() {
            Some(Claim::Dir(id)) => self.parse_dir(id, data),
            Some(Claim::File { id, index }) => self.file_data(id, index, data)?,
            None => {
                if self.allocated(c32) && !is_zero(data) {
                    self.pending.put(c, data)?;
                }
            }
        }
        Ok(())
    }

    fn file_data(&mut self, id: u64, index: u64, data: &[u8]) -> Result<()> {
        let Some(size) = self.nodes.get(&id).map(|n| n.size) else {
            return Ok(());
        };
        let off = index * self.bpb.cluster as u64;
        if off >= size || is_zero(data) {
            return Ok(());
        }
        let n = (size - off).min(data.len() as u64) as usize;
        if self.open.as_ref().map(|(i, _)| *i) != Some(id) {
            let f = self
                .scratch
                .create_file(&scratch_name(id))
                .or_else(|_| self.scratch.open_file(&scratch_name(id), libc::O_WRONLY))
                .ctx(|| format!("failed to create a scratch file for FAT file {id}"))?;
            self.open = Some((id, f));
        }
        if let Some((_, f)) = &self.open {
            f.write_all_at(&data[..n], off)
                .ctx(|| "failed to write a FAT file's content".into())?;
        }
        Ok(())
    }

    fn parse_dir(&mut self, dir: u64, data: &[u8]) {
        let mut lfn: Vec<(u8, u8, [u16; 13])> = Vec::new();
        let dpath = format!("dir {dir}");
        for e in data.chunks_exact(32) {
            let first = e[0];
            if first == 0 {
                break;
            }
            if first == 0xE5 {
                lfn.clear();
                continue;
            }
            let attr = e[11];
            if attr & 0x3F == 0x0F {
                let mut chars = [0u16; 13];
                for (k, o) in (1..11)
                    .step_by(2)
                    .chain((14..26).step_by(2))
                    .chain((28..32).step_by(2))
                    .enumerate()
                {
                    chars[k] = u16le(e, o);
                }
                lfn.push((first, e[13], chars));
                continue;
            }
            if attr & 0x08 != 0 {
                lfn.clear();
                continue; // volume label
            }
            let short = short_name(e);
            let name = long_name(&lfn, e).unwrap_or_else(|| short.clone());
            lfn.clear();
            if name == b"." || name == b".." {
                continue;
            }
            let is_dir = attr & 0x10 != 0;
            let first_cluster = (u16le(e, 20) as u32) << 16 | u16le(e, 26) as u32;
            let size = u32le(e, 28) as u64;
            let mut node = Node::new(if is_dir { Kind::Dir } else { Kind::File });
            node.perm = if is_dir { 0o755 } else { 0o644 };
            node.mtime = (fat_time(u16le(e, 24), u16le(e, 22)), 0);
            node.atime = node.mtime;
            node.size = if is_dir { 0 } else { size };
            let id = self.next_id;
            self.next_id += 1;
            self.nodes.insert(id, node);
            if let Some(p) = self.nodes.get_mut(&dir) {
                p.children.push((name.clone(), id));
            }
            let path = format!("{dpath}/{}", String::from_utf8_lossy(&name));
            if is_dir {
                if first_cluster != 0 {
                    self.claim_chain(first_cluster, None, Claim::Dir(id), &path);
                }
            } else if size > 0 {
                let n = size.div_ceil(self.bpb.cluster as u64);
                self.claim_chain(first_cluster, Some(n), Claim::File { id, index: 0 }, &path);
            }
        }
    }

    pub fn finish(mut self) -> Result<(Tree, Skips, u64)> {
        self.open = None;
        if self.pos < self.bpb.data_start {
            return Err(Error::new("fat: the partition ended inside its metadata"));
        }
        for (&id, n) in &self.nodes {
            if n.kind != Kind::File {
                continue;
            }
            let name = scratch_name(id);
            let f = match self.scratch.open_file(&name, libc::O_WRONLY) {
                Ok(f) => f,
                Err(_) => self
                    .scratch
                    .create_file(&name)
                    .ctx(|| format!("failed to create a scratch file for FAT file {id}"))?,
            };
            f.set_len(n.size)
                .ctx(|| format!("failed to size FAT file {id}"))?;
        }
        let peak = self.pending.peak_bytes;
        Ok((
            Tree {
                nodes: self.nodes,
                root: 1,
            },
            self.skips,
            peak,
        ))
    }
}

fn short_name(e: &[u8]) -> Vec<u8> {
    let lower_base = e[12] & 0x08 != 0;
    let lower_ext = e[12] & 0x10 != 0;
    let mut base: Vec<u8> = e[0..8].to_vec();
    if base[0] == 0x05 {
        base[0] = 0xE5;
    }
    while base.last() == Some(&b' ') {
        base.pop();
    }
    let mut ext: Vec<u8> = e[8..11].to_vec();
    while ext.last() == Some(&b' ') {
        ext.pop();
    }
    if lower_base {
        base.make_ascii_lowercase();
    }
    if lower_ext {
        ext.make_ascii_lowercase();
    }
    if !ext.is_empty() {
        base.push(b'.');
        base.extend_from_slice(&ext);
    }
    base
}

fn lfn_checksum(e: &[u8]) -> u8 {
    e[0..11]
        .iter()
        .fold(0u8, |s, &c| s.rotate_right(1).wrapping_add(c))
}

/// The long name from the LFN entries before a short entry, if they are whole.
fn long_name(parts: &[(u8, u8, [u16; 13])], short: &[u8]) -> Option<Vec<u8>> {
    if parts.is_empty() {
        return None;
    }
    let sum = lfn_checksum(short);
    let n = parts.len();
    // Stored last part first: sequence numbers n..1, the first flagged 0x40.
    if parts[0].0 & 0x40 == 0 || (parts[0].0 & 0x1F) as usize != n {
        return None;
    }
    let mut units = Vec::with_capacity(n * 13);
    for (k, (seq, cs, chars)) in parts.iter().rev().enumerate() {
        if (seq & 0x1F) as usize != k + 1 || *cs != sum {
            return None;
        }
        for &c in chars {
            if c == 0 {
                break;
            }
            units.push(c);
        }
    }
    String::from_utf16(&units).ok().map(String::into_bytes)
}

/// FAT local date and time (taken as UTC) to Unix seconds.
fn fat_time(date: u16, time: u16) -> i64 {
    let y = 1980 + (date >> 9) as i64;
    let m = ((date >> 5) & 0xF).clamp(1, 12) as i64;
    let d = (date & 0x1F).max(1) as i64;
    let days = crate::calendar::days_from_civil(y, m, d);
    let hh = (time >> 11) as i64;
    let mm = ((time >> 5) & 0x3F) as i64;
    let ss = ((time & 0x1F) * 2) as i64;
    days * 86400 + hh * 3600 + mm * 60 + ss
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fat_dates_convert_to_unix_time() {
        // 2024-03-01 12:34:56
        let date = ((2024 - 1980) << 9) | (3 << 5) | 1;
        let time = (12 << 11) | (34 << 5) | 28;
        assert_eq!(fat_time(date, time), 1709296496);
    }

    #[test]
    fn short_names_honour_case_flags() {
        let mut e = [b' '; 32];
        e[0..6].copy_from_slice(b"CONFIG");
        e[8..11].copy_from_slice(b"TXT");
        e[12] = 0x18;
        assert_eq!(short_name(&e), b"config.txt");
    }
}
