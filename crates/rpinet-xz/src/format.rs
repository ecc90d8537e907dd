//! The .xz container, as far as parallel decoding needs it: the stream
//! header and footer, the index (where each block starts and how much it
//! holds), and block headers. Pure functions over byte slices; anything this
//! decoder does not handle (several streams, stream padding, filters other
//! than LZMA2 alone, checks other than none/CRC32/CRC64) is an error, and
//! the caller then decodes the file on one thread instead, which handles
//! all of it or says precisely what is wrong.

use super::crc::crc32;

pub const MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0];
const FOOTER_MAGIC: [u8; 2] = [b'Y', b'Z'];
const LZMA2: u64 = 0x21;

/// The integrity check after each block's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    Crc32,
    Crc64,
}

impl Check {
    pub fn size(self) -> u64 {
        match self {
            Check::None => 0,
            Check::Crc32 => 4,
            Check::Crc64 => 8,
        }
    }
}

/// One block: where its header starts in the file, and the index's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    /// Header + compressed data + check, without the padding to 4 bytes.
    pub unpadded: u64,
    pub uncompressed: u64,
}

/// A single-stream .xz file's blocks, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub check: Check,
    pub blocks: Vec<Span>,
}

/// What a block header says, for an LZMA2-only block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// Bytes of the header itself (a multiple of 4, 8..=1024).
    pub size: u64,
    pub dict_size: u32,
    pub compressed: Option<u64>,
    pub uncompressed: Option<u64>,
}

type R<T> = std::result::Result<T, String>;

/// The little-endian u32 at `b[o..]` (a stored CRC32 or size); 0 past the end, which the
/// check it feeds then refuses.
fn u32le(b: &[u8], o: usize) -> u32 {
    b.get(o..o.saturating_add(4))
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The check type from the 12-byte stream header.
pub fn stream_header(b: &[u8]) -> R<Check> {
    if b.len() < 12 || b[..6] != MAGIC {
        return Err("not an xz stream header".into());
    }
    if crc32(0, &b[6..8]) != u32le(b, 8) {
        return Err("stream header CRC32 mismatch".into());
    }
    check_type(&b[6..8])
}

fn check_type(flags: &[u8]) -> R<Check> {
    match flags {
        [0, 0] => Ok(Check::None),
        [0, 1] => Ok(Check::Crc32),
        [0, 4] => Ok(Check::Crc64),
        _ => Err(format!("stream flags {flags:02x?} not handled here")),
    }
}

/// From the 12-byte stream footer: the index size and the check type.
pub fn stream_footer(b: &[u8]) -> R<(u64, Check)> {
    if b.len() < 12 || b[10..12] != FOOTER_MAGIC {
        return Err("no xz stream footer at the end (stream padding or a cut file)".into());
    }
    if crc32(0, &b[4..10]) != u32le(b, 0) {
        return Err("stream footer CRC32 mismatch".into());
    }
    let index_size = (u64::from(u32le(b, 4)) + 1) * 4;
    Ok((index_size, check_type(&b[8..10])?))
}

/// A multibyte integer at `b[*at..]`: at most 9 bytes, no redundant zero byte.
pub(crate) fn varint(b: &[u8], at: &mut usize) -> R<u64> {
    let mut v = 0u64;
    for i in 0..9 {
        let Some(&x) = b.get(*at) else {
            return Err("xz index or header ends inside a number".into());
        };
        *at += 1;
        v |= u64::from(x & 0x7F) << (7 * i);
        if x & 0x80 == 0 {
            if x == 0 && i > 0 {
                return Err("xz number with a redundant zero byte".into());
            }
            return Ok(v);
        }
    }
    Err("xz number longer than 9 bytes".into())
}

/// The index records (unpadded size, uncompressed size), from the whole
/// index: indicator, count, records, padding, CRC32.
pub fn index(b: &[u8]) -> R<Vec<(u64, u64)>> {
    if b.len() < 8 || b.len() % 4 != 0 || b[0] != 0 {
        return Err("bad xz index".into());
    }
    let body = &b[..b.len() - 4];
    if crc32(0, body) != u32le(b, b.len() - 4) {
        return Err("xz index CRC32 mismatch".into());
    }
    let mut at = 1;
    let count = varint(body, &mut at)?;
    // Each record takes at least two bytes: a count beyond that is a lie.
    if count > (body.len() as u64) / 2 {
        return Err("xz index record count larger than the index".into());
    }
    let mut recs = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let unpadded = varint(body, &mut at)?;
        let uncompressed = varint(body, &mut at)?;
        if !(5..=(1 << 63)).contains(&unpadded) {
            return Err("xz index record with an impossible block size".into());
        }
        recs.push((unpadded, uncompressed));
    }
    if body[at..].iter().any(|&x| x != 0) || body.len() - at >= 4 {
        return Err("xz index padding is wrong".into());
    }
    Ok(recs)
}

fn pad4(n: u64) -> u64 {
    n.saturating_add(3) & !3
}

/// The blocks of a file of `file_len` bytes whose first 12 bytes are
/// `header`, whose last 12 are `footer`, and whose index (read from
/// `file_len - 12 - index.len()`) is `index`. The blocks must tile the
/// space between the stream header and the index exactly: one stream, no
/// padding, nothing unaccounted for.
pub fn layout(header: &[u8], footer: &[u8], index_bytes: &[u8], file_len: u64) -> R<Layout> {
    let check = stream_header(header)?;
    let (index_size, fcheck) = stream_footer(footer)?;
    if fcheck != check {
        return Err("stream header and footer disagree".into());
    }
    if index_size != index_bytes.len() as u64 {
        return Err("xz index size mismatch".into());
    }
    let index_start = file_len
        .checked_sub(12 + index_size)
        .filter(|&s| s >= 12)
        .ok_or("xz index larger than the file")?;
    let mut at = 12u64;
    let mut blocks = Vec::new();
    for (unpadded, uncompressed) in index(index_bytes)? {
        // Header (8+), LZMA2 data (1+), check.
        if unpadded < check.size() + 9 {
            return Err("xz block smaller than its header and check".into());
        }
        blocks.push(Span {
            start: at,
            unpadded,
            uncompressed,
        });
        at = at.saturating_add(pad4(unpadded));
        if at > index_start {
            return Err("xz blocks run past the index".into());
        }
    }
    if at != index_start {
        return Err("xz blocks do not end where the index starts (several streams?)".into());
    }
    Ok(Layout { check, blocks })
}

/// LZMA2's dictionary size from its one property byte.
fn lzma2_dict(p: u8) -> R<u32> {
    match p {
        0..=39 => Ok((2 | u32::from(p & 1)) << (p / 2 + 11)),
        40 => Ok(u32::MAX),
        _ => Err(format!("LZMA2 dictionary property {p} is invalid")),
    }
}

/// A block header (`b` starts at the header; up to 1024 bytes are looked at).
/// Only a single LZMA2 filter is accepted.
pub fn block_header(b: &[u8]) -> R<BlockHeader> {
    let Some(&first) = b.first() else {
        return Err("xz block header missing".into());
    };
    if first == 0 {
        return Err("an xz index where a block header was expected".into());
    }
    let size = (usize::from(first) + 1) * 4;
    let Some(h) = b.get(..size) else {
        return Err("xz block header cut short".into());
    };
    let body = &h[..size - 4];
    if crc32(0, body) != u32le(h, size - 4) {
        return Err("xz block header CRC32 mismatch".into());
    }
    let flags = body[1];
    if flags & 0x3C != 0 {
        return Err("xz block header uses reserved flags".into());
    }
    if flags & 0x03 != 0 {
        return Err("xz block with more than one filter (BCJ/delta): not handled here".into());
    }
    let mut at = 2;
    let compressed = (flags & 0x40 != 0)
        .then(|| varint(body, &mut at))
        .transpose()?;
    let uncompressed = (flags & 0x80 != 0)
        .then(|| varint(body, &mut at))
        .transpose()?;
    let id = varint(body, &mut at)?;
    let nprops = varint(body, &mut at)?;
    if id != LZMA2 || nprops != 1 {
        return Err(format!("xz filter {id:#x} not handled here"));
    }
    let Some(&p) = body.get(at) else {
        return Err("xz block header cut short".into());
    };
    at += 1;
    if body[at..].iter().any(|&x| x != 0) {
        return Err("xz block header padding is not zero".into());
    }
    Ok(BlockHeader {
        size: size as u64,
        dict_size: lzma2_dict(p)?,
        compressed,
        uncompressed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_crc(mut v: Vec<u8>) -> Vec<u8> {
        let c = crc32(0, &v);
        v.extend_from_slice(&c.to_le_bytes());
        v
    }

    fn header(check: u8) -> Vec<u8> {
        let mut h = MAGIC.to_vec();
        h.extend(with_crc(vec![0, check]));
        h
    }

    fn footer(index_size: u64, check: u8) -> Vec<u8> {
        let mut body = ((index_size / 4 - 1) as u32).to_le_bytes().to_vec();
        body.extend([0, check]);
        let mut f = crc32(0, &body).to_le_bytes().to_vec();
        f.extend(body);
        f.extend(FOOTER_MAGIC);
        f
    }

    fn index_of(recs: &[(u64, u64)]) -> Vec<u8> {
        fn put(v: &mut Vec<u8>, mut n: u64) {
            while n >= 0x80 {
                v.push((n as u8) | 0x80);
                n >>= 7;
            }
            v.push(n as u8);
        }
        let mut v = vec![0];
        put(&mut v, recs.len() as u64);
        for &(u, c) in recs {
            put(&mut v, u);
            put(&mut v, c);
        }
        while v.len() % 4 != 0 {
            v.push(0);
        }
        with_crc(v)
    }

    #[test]
    fn a_three_block_stream_lays_out_in_order() {
        let recs = [(101, 1000), (17, 0), (4_000_000, 25_165_824)];
        let idx = index_of(&recs);
        let data: u64 = recs.iter().map(|r| pad4(r.0)).sum();
        let len = 12 + data + idx.len() as u64 + 12;
        let l = layout(&header(4), &footer(idx.len() as u64, 4), &idx, len).unwrap();
        assert_eq!(l.check, Check::Crc64);
        assert_eq!(
            l.blocks,
            vec![
                Span {
                    start: 12,
                    unpadded: 101,
                    uncompressed: 1000
                },
                Span {
                    start: 116,
                    unpadded: 17,
                    uncompressed: 0
                },
                Span {
                    start: 136,
                    unpadded: 4_000_000,
                    uncompressed: 25_165_824
                },
            ]
        );
        // One byte more or less between the header and the index: refused.
        for bad in [len - 4, len + 4] {
            assert!(layout(&header(4), &footer(idx.len() as u64, 4), &idx, bad).is_err());
        }
        // Header and footer must agree; unknown checks are refused.
        assert!(layout(&header(1), &footer(idx.len() as u64, 4), &idx, len).is_err());
        assert!(layout(&header(10), &footer(idx.len() as u64, 10), &idx, len).is_err());
    }

    #[test]
    fn corrupt_indexes_are_refused() {
        let idx = index_of(&[(101, 1000)]);
        assert!(index(&idx).is_ok());
        for i in 0..idx.len() {
            let mut b = idx.clone();
            b[i] ^= 0x10;
            assert!(index(&b).is_err(), "flip at {i}");
        }
        assert!(index(&idx[..idx.len() - 4]).is_err());
        // A count far beyond what the bytes hold.
        assert!(index(&with_crc(vec![0, 0xFF, 0xFF, 0x7F])).is_err());
        assert!(index(&[]).is_err());
    }

    #[test]
    fn varints_follow_the_spec() {
        let mut at = 0;
        assert_eq!(varint(&[0x80, 0x01], &mut at), Ok(128));
        assert_eq!(at, 2);
        assert!(varint(&[0x80, 0x00], &mut 0).is_err());
        assert!(varint(&[0xFF; 10], &mut 0).is_err());
        assert!(varint(&[0x80], &mut 0).is_err());
    }

    #[test]
    fn block_headers_lzma2_only() {
        // xz -6: flags 0, LZMA2 with dict property 0x16 (8 MiB).
        let h = with_crc(vec![0x02, 0x00, 0x21, 0x01, 0x16, 0, 0, 0]);
        let bh = block_header(&h).unwrap();
        assert_eq!(bh.size, 12);
        assert_eq!(bh.dict_size, 8 << 20);
        assert_eq!((bh.compressed, bh.uncompressed), (None, None));
        // Sizes present (xz -T: flags 0xC0).
        let h = with_crc(vec![
            0x03, 0xC0, 0x80, 0x01, 0x10, 0x21, 0x01, 0x00, 0, 0, 0, 0,
        ]);
        let bh = block_header(&h).unwrap();
        assert_eq!((bh.compressed, bh.uncompressed), (Some(128), Some(16)));
        assert_eq!(bh.dict_size, 4096);
        // Two filters (BCJ + LZMA2), another filter, bad CRC, cut short, bad dict.
        assert!(
            block_header(&with_crc(vec![0x02, 0x01, 0x04, 0x00, 0x21, 0x01, 0x16, 0])).is_err()
        );
        assert!(block_header(&with_crc(vec![0x02, 0x00, 0x03, 0x01, 0x16, 0, 0, 0])).is_err());
        let mut h = with_crc(vec![0x02, 0x00, 0x21, 0x01, 0x16, 0, 0, 0]);
        h[4] = 0x17;
        assert!(block_header(&h).is_err());
        assert!(block_header(&h[..5]).is_err());
        assert!(block_header(&with_crc(vec![0x02, 0x00, 0x21, 0x01, 41, 0, 0, 0])).is_err());
        assert!(block_header(&[0]).is_err());
        assert!(block_header(&[]).is_err());
    }

    #[test]
    fn dictionary_sizes() {
        assert_eq!(lzma2_dict(0), Ok(4096));
        assert_eq!(lzma2_dict(1), Ok(6144));
        assert_eq!(lzma2_dict(16), Ok(1 << 20));
        assert_eq!(lzma2_dict(22), Ok(8 << 20));
        assert_eq!(lzma2_dict(40), Ok(u32::MAX));
    }

    #[test]
    fn no_input_panics() {
        // Every prefix of every structure, and random-ish bytes.
        let idx = index_of(&[(101, 1000), (9, 3)]);
        for n in 0..idx.len() {
            let _ = index(&idx[..n]);
            let _ = layout(
                &header(4)[..n.min(12)],
                &idx[..n.min(12)],
                &idx[..n],
                n as u64,
            );
            let _ = block_header(&idx[..n]);
        }
        for seed in 0..2000u32 {
            let b: Vec<u8> = (0..64u32)
                .map(|i| (seed.wrapping_mul(2654435761) >> (i % 24)) as u8)
                .collect();
            let _ = block_header(&b);
            let _ = index(&b[..(seed as usize % 64) & !3]);
            let _ = stream_footer(&b);
        }
    }
}
