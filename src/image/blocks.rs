//! Reading a filesystem from a stream: who wants which block, and the blocks
//! that went by before anyone wanted them.
//!
//! A compressed image can only be read front to back, once. A filesystem
//! reader registers *claims* (a run of blocks and what they are: file data,
//! directory, extent node...) as it learns them. Each block the stream
//! delivers either goes to its claim, or — when it may still be needed (in use
//! or not known to be free, and not all zeros) — into the [`Pending`] store,
//! from which a later claim takes it. The store keeps up to a few MiB in
//! memory and spills the rest to a file in the scratch directory; its peak
//! size is reported (it is the one thing kept that is not output).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::error::{Context, Result};

/// Runs of claimed blocks: start -> (length, claim).
#[derive(Debug)]
pub struct Claims<C> {
    runs: BTreeMap<u64, (u64, C)>,
}

impl<C: Clone> Claims<C> {
    pub fn new() -> Self {
        Claims {
            runs: BTreeMap::new(),
        }
    }

    /// The claim covering `block`, with the run's start.
    pub fn get(&self, block: u64) -> Option<(u64, &C)> {
        let (&start, (len, c)) = self.runs.range(..=block).next_back()?;
        (block < start + len).then_some((start, c))
    }

    /// Claim `len` blocks from `start`; false when any of them is claimed already.
    pub fn add(&mut self, start: u64, len: u64, c: C) -> bool {
        if len == 0 {
            return true;
        }
        let Some(end) = start.checked_add(len) else {
            return false;
        };
        if let Some((&s, (l, _))) = self.runs.range(..=start).next_back() {
            if start < s + l {
                return false;
            }
        }
        if self.runs.range(start..end).next().is_some() {
            return false;
        }
        self.runs.insert(start, (len, c));
        true
    }
}

enum Loc {
    Mem(Vec<u8>),
    Spill(u64),
}

/// Blocks kept for a claim that may come later.
pub struct Pending {
    map: BTreeMap<u64, Loc>,
    mem: usize,
    mem_cap: usize,
    spill: Option<File>,
    spill_end: u64,
    free_spill: Vec<u64>,
    block_size: usize,
    make_spill: Box<dyn FnMut() -> std::io::Result<File>>,
    pub peak_bytes: u64,
    bytes: u64,
}

impl Pending {
    pub fn new(
        block_size: usize,
        mem_cap: usize,
        make_spill: Box<dyn FnMut() -> std::io::Result<File>>,
    ) -> Self {
        Pending {
            map: BTreeMap::new(),
            mem: 0,
            mem_cap,
            spill: None,
            spill_end: 0,
            free_spill: Vec::new(),
            block_size,
            make_spill,
            peak_bytes: 0,
            bytes: 0,
        }
    }

    pub fn put(&mut self, block: u64, data: &[u8]) -> Result<()> {
        if self.map.contains_key(&block) {
            return Ok(());
        }
        let loc = if self.mem + data.len() <= self.mem_cap {
            self.mem += data.len();
            Loc::Mem(data.to_vec())
        } else {
            if self.spill.is_none() {
                self.spill =
                    Some((self.make_spill)().ctx(|| "failed to make a spill file".into())?);
            }
            let off = match self.free_spill.pop() {
                Some(o) => o,
                None => {
                    let o = self.spill_end;
                    self.spill_end += self.block_size as u64;
                    o
                }
            };
            if let Some(f) = &self.spill {
                f.write_all_at(data, off)
                    .ctx(|| "failed to write the spill file".into())?;
            }
            Loc::Spill(off)
        };
        self.map.insert(block, loc);
        self.bytes += data.len() as u64;
        self.peak_bytes = self.peak_bytes.max(self.bytes);
        Ok(())
    }

    /// The kept blocks in `start..end` (their numbers; [`Pending::take`]
    /// gives each one back, so no more than one is loaded at a time).
    pub fn keys_in(&self, start: u64, end: u64) -> Vec<u64> {
        if self.map.is_empty() || start >= end {
            return Vec::new();
        }
        self.map.range(start..end).map(|(k, _)| *k).collect()
    }

    /// Take one kept block.
    pub fn take(&mut self, block: u64) -> Result<Option<Vec<u8>>> {
        let Some(loc) = self.map.remove(&block) else {
            return Ok(None);
        };
        let data = match loc {
            Loc::Mem(v) => {
                self.mem -= v.len();
                v
            }
            Loc::Spill(off) => {
                let mut v = vec![0u8; self.block_size];
                if let Some(f) = &self.spill {
                    f.read_exact_at(&mut v, off)
                        .ctx(|| "failed to read the spill file".into())?;
                }
                self.free_spill.push(off);
                v
            }
        };
        self.bytes -= data.len() as u64;
        Ok(Some(data))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

pub fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_refuse_overlaps() {
        let mut c = Claims::new();
        assert!(c.add(10, 5, 'a'));
        assert!(!c.add(12, 1, 'b'));
        assert!(!c.add(5, 6, 'b'));
        assert!(c.add(15, 1, 'b'));
        assert!(!c.add(u64::MAX, 2, 'c'));
        assert_eq!(c.get(14), Some((10, &'a')));
        assert_eq!(c.get(15), Some((15, &'b')));
        assert_eq!(c.get(16), None);
        assert_eq!(c.get(9), None);
    }

    #[test]
    fn pending_spills_and_gives_back() {
        let dir = std::env::temp_dir();
        let mut p = Pending::new(4, 8, Box::new(move || tempfile_in(&dir)));
        for b in 0..5u64 {
            p.put(b, &[b as u8; 4]).unwrap();
        }
        assert_eq!(p.peak_bytes, 20);
        let keys = p.keys_in(1, 4);
        assert_eq!(keys, vec![1, 2, 3]);
        for k in keys {
            assert_eq!(p.take(k).unwrap(), Some(vec![k as u8; 4]));
        }
        assert_eq!(p.take(3).unwrap(), None);
        assert_eq!(p.len(), 2);
    }

    fn tempfile_in(dir: &std::path::Path) -> std::io::Result<File> {
        let p = dir.join(format!("rpinet-pending-test-{}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)?;
        std::fs::remove_file(&p)?;
        Ok(f)
    }
}
