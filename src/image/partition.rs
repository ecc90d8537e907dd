//! The partition table at the front of a disk image: MBR, or GPT behind a
//! protective MBR. Pure parsing of the first sectors; sizes are in bytes.

use crate::bail;
use crate::error::Result;

/// Bytes to read before parsing: MBR, GPT header and 128 GPT entries.
pub const HEAD: usize = 34 * 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// 1-based number as the kernel would name it.
    pub number: u32,
    pub start: u64,
    pub len: u64,
}

use super::le::u64le;

/// A 32-bit field widened to u64 (sector numbers are compared with 64-bit ones).
fn u32le(b: &[u8], o: usize) -> u64 {
    u64::from(super::le::u32le(b, o))
}

/// Parse the table from the image's first [`HEAD`] bytes; partitions come
/// back sorted by start, checked not to overlap the table or each other.
pub fn parse(head: &[u8]) -> Result<Vec<Partition>> {
    if head.len() < 512 || head[510] != 0x55 || head[511] != 0xAA {
        bail!("no partition table: the image does not start with an MBR");
    }
    let mut parts = Vec::new();
    let mut gpt = false;
    for i in 0..4 {
        let e = &head[446 + i * 16..446 + (i + 1) * 16];
        let ty = e[4];
        let start = u32le(e, 8);
        let count = u32le(e, 12);
        if ty == 0 || count == 0 {
            continue;
        }
        if ty == 0xEE {
            gpt = true;
            break;
        }
        if matches!(ty, 0x05 | 0x0F | 0x85) {
            continue; // extended partitions: logical partitions are not read
        }
        parts.push(Partition {
            number: i as u32 + 1,
            start: start * 512,
            len: count * 512,
        });
    }
    if gpt {
        parts = parse_gpt(head)?;
    }
    parts.sort_by_key(|p| p.start);
    let mut end = 512u64;
    if gpt {
        end = HEAD as u64;
    }
    for p in &parts {
        if p.start < end {
            bail!(
                "partition {} starts at byte {}, inside the partition table or another partition",
                p.number,
                p.start
            );
        }
        end = p.start.saturating_add(p.len);
    }
    if parts.is_empty() {
        bail!("the partition table lists no partitions");
    }
    Ok(parts)
}

fn parse_gpt(head: &[u8]) -> Result<Vec<Partition>> {
    let h = head.get(512..1024).unwrap_or(&[]);
    if h.get(0..8) != Some(b"EFI PART") {
        bail!("protective MBR without a GPT header");
    }
    let lba = u64le(h, 72);
    let n = u32le(h, 80);
    let size = u32le(h, 84);
    if !(128..=4096).contains(&size) || n > 1024 {
        bail!("GPT header has out-of-range entries ({n} of {size} bytes)");
    }
    let mut parts = Vec::new();
    for i in 0..n {
        let o = lba
            .checked_mul(512)
            .and_then(|x| x.checked_add(i * size))
            .unwrap_or(u64::MAX);
        let Some(e) = usize::try_from(o)
            .ok()
            .and_then(|o| head.get(o..o + size as usize))
        else {
            bail!("GPT entries lie beyond the first {} bytes", HEAD);
        };
        if e[0..16].iter().all(|&b| b == 0) {
            continue;
        }
        let first = u64le(e, 32);
        let last = u64le(e, 40);
        if last < first || last > u64::MAX / 512 - 1 {
            bail!("GPT entry {} has a bad range", i + 1);
        }
        parts.push(Partition {
            number: i as u32 + 1,
            start: first * 512,
            len: (last - first + 1) * 512,
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbr(entries: &[(u8, u32, u32)]) -> Vec<u8> {
        let mut h = vec![0u8; HEAD];
        for (i, (ty, s, c)) in entries.iter().enumerate() {
            let e = &mut h[446 + i * 16..446 + (i + 1) * 16];
            e[4] = *ty;
            e[8..12].copy_from_slice(&s.to_le_bytes());
            e[12..16].copy_from_slice(&c.to_le_bytes());
        }
        h[510] = 0x55;
        h[511] = 0xAA;
        h
    }

    #[test]
    fn raspios_layout_parses() {
        let p = parse(&mbr(&[(0x0c, 8192, 1048576), (0x83, 1056768, 4194304)])).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].start, 8192 * 512);
        assert_eq!(p[1].len, 4194304 * 512);
    }

    #[test]
    fn overlaps_and_garbage_are_refused() {
        assert!(parse(&[0u8; 512]).is_err());
        assert!(parse(&mbr(&[(0x0c, 8192, 100000), (0x83, 9000, 10)])).is_err());
        assert!(parse(&mbr(&[(0x83, 0, 10)])).is_err());
        assert!(parse(&mbr(&[(0xee, 1, u32::MAX)])).is_err());
        assert!(parse(&mbr(&[])).is_err());
    }

    #[test]
    fn gpt_entries_parse() {
        let mut h = mbr(&[(0xee, 1, u32::MAX)]);
        h[512..520].copy_from_slice(b"EFI PART");
        h[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
        h[512 + 80..512 + 84].copy_from_slice(&4u32.to_le_bytes());
        h[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
        let e = &mut h[1024..1024 + 128];
        e[0] = 1;
        e[32..40].copy_from_slice(&2048u64.to_le_bytes());
        e[40..48].copy_from_slice(&4095u64.to_le_bytes());
        let p = parse(&h).unwrap();
        assert_eq!(
            p,
            vec![Partition {
                number: 1,
                start: 2048 * 512,
                len: 2048 * 512
            }]
        );
    }
}
