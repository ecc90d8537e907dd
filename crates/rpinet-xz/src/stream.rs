//! Parallel decoding of an .xz that arrives in order (a download, stdin), where nothing can
//! be read twice and the index comes last.
//!
//! `xz -T` writes each block's compressed and decoded sizes into its header, so the stream
//! can be cut into blocks as it arrives: a reader thread reads header, data, padding and
//! check of one block after another and hands each to the workers as bytes in memory, at
//! most a few blocks and [`AHEAD_BYTES`] ahead of the block being read (memory: those
//! blocks' compressed bytes on top of the file decoder's budget). At the end of each stream it reads the index and
//! footer and checks them against the blocks it saw; stream padding and further streams are
//! read as the format allows. Whatever goes wrong is told after the blocks before it.
//!
//! [`ParXz::stream`] looks at the stream header and the first block header first; when
//! they do not allow this (no sizes in the header, other filters or checks, a dictionary
//! past the limit, fewer than two workers fit) it gives the input back, those bytes first,
//! for the one-thread decoder.

use std::io::{self, Read};
use std::sync::Arc;

use super::format::{self, BlockHeader, Check, MAGIC, Span};
use super::{Block, Limits, ParXz, Progress, Shared, State, threads};

/// What the stream is read from.
pub type Input = Box<dyn Read + Send>;

/// A block's compressed bytes are held in memory whole: more than this is refused.
const BLOCK_MAX: u64 = 256 << 20;

/// Compressed bytes held for the blocks not yet read, at most (a larger block is held alone):
/// two or three blocks of a Raspberry Pi OS image (24 MiB blocks, ~6 MiB compressed).
const AHEAD_BYTES: usize = 16 << 20;

impl ParXz {
    /// Decode the .xz arriving on `input` on several threads (see the module doc), or give
    /// `input` back, unchanged to its reader, when it cannot be.
    pub fn stream(
        mut input: Input,
        limits: Limits,
        progress: Progress,
    ) -> std::result::Result<ParXz, Input> {
        let mut seen = Vec::new();
        let first = (|| {
            take(&mut input, &mut seen, 12).ok()?;
            let check = format::stream_header(&seen).ok()?;
            let at = seen.len();
            take(&mut input, &mut seen, 1).ok()?;
            if seen[at] == 0 {
                return None; // no blocks at all
            }
            let rest = usize::from(seen[at]) * 4 + 3;
            take(&mut input, &mut seen, rest).ok()?;
            let header = format::block_header(&seen[at..]).ok()?;
            header.compressed?;
            header.uncompressed?;
            let dict = u64::from(header.dict_size).max(4096);
            let workers = threads(&limits, dict);
            (dict <= limits.dict_max && workers >= 2).then(|| {
                let bytes = seen[at..].to_vec();
                (check, header, bytes, dict, workers)
            })
        })();
        let Some((check, header, bytes, dict, workers)) = first else {
            return Err(Box::new(io::Cursor::new(seen).chain(input)));
        };
        progress(12); // the stream header; the block's bytes are counted with it
        let Some(par) = Self::start(None, Vec::new(), false, dict, workers, limits, progress)
        else {
            return Err(Box::new(io::Cursor::new(seen).chain(input)));
        };
        let sh = Arc::clone(&par.shared);
        let reader = std::thread::Builder::new()
            .name("xz-in".into())
            .spawn(move || read_blocks(&sh, input, check, (header, bytes), workers + 1));
        if reader.is_err() {
            let mut g = par.shared.lock();
            g.failed = Some("cannot start the xz stream reader".into());
            g.complete = true;
        }
        Ok(par)
    }
}

/// Whether a block of `size` bytes may be read now: when no block waits to be read, else
/// while fewer than `ahead` blocks wait and all of them fit in [`AHEAD_BYTES`] with it.
fn room(g: &State, ahead: usize, size: usize) -> bool {
    let waiting = g.blocks.get(g.current..).unwrap_or_default();
    let bytes: usize = waiting
        .iter()
        .filter_map(|b| b.data.as_ref())
        .map(|d| d.len())
        .sum();
    waiting.is_empty() || (waiting.len() < ahead && bytes + size <= AHEAD_BYTES)
}

/// Read exactly `n` more bytes of `input` onto `buf`.
fn take(input: &mut Input, buf: &mut Vec<u8>, n: usize) -> io::Result<()> {
    let got = input.by_ref().take(n as u64).read_to_end(buf)?;
    if got < n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// The reader thread: blocks to the workers, then the end told ([`State::complete`], and
/// [`State::failed`] when it went wrong). Waits while `ahead` blocks wait to be read.
fn read_blocks(
    sh: &Shared,
    mut input: Input,
    check: Check,
    first: (BlockHeader, Vec<u8>),
    ahead: usize,
) {
    let r = read_streams(sh, &mut input, check, first, ahead);
    let mut g = sh.lock();
    g.complete = true;
    if let Err(e) = r {
        g.failed = Some(e);
    }
    sh.cv.notify_all();
}

fn read_streams(
    sh: &Shared,
    input: &mut Input,
    mut check: Check,
    first: (BlockHeader, Vec<u8>),
    ahead: usize,
) -> std::result::Result<(), String> {
    let mut next = Some(first);
    let cut = |what: &str| format!("the xz data ends inside {what} (a cut download?)");
    loop {
        let mut records = Vec::new();
        loop {
            let (header, mut bytes) = match next.take() {
                Some(h) => h,
                None => {
                    let mut b = Vec::new();
                    take(input, &mut b, 1).map_err(|_| cut("a block header"))?;
                    if b[0] == 0 {
                        break; // the index
                    }
                    let rest = usize::from(b[0]) * 4 + 3;
                    take(input, &mut b, rest).map_err(|_| cut("a block header"))?;
                    let n = sh.lock().blocks.len() + 1;
                    let h = format::block_header(&b).map_err(|e| format!("xz block {n}: {e}"))?;
                    (h, b)
                }
            };
            let n = sh.lock().blocks.len() + 1;
            let (Some(compressed), Some(uncompressed)) = (header.compressed, header.uncompressed)
            else {
                return Err(format!(
                    "xz block {n}: its header gives no sizes, which a download decoded in parallel needs"
                ));
            };
            if u64::from(header.dict_size).min(uncompressed) > sh.dict {
                return Err(format!(
                    "xz block {n}: a larger dictionary than the first block's"
                ));
            }
            let unpadded = header.size + compressed + check.size();
            if compressed == 0 || unpadded > BLOCK_MAX {
                return Err(format!(
                    "xz block {n}: {compressed} compressed bytes is not a block this decoder holds"
                ));
            }
            let padded = (unpadded + 3) & !3;
            let want = (padded - header.size) as usize;
            // Room for it first: its bytes are read only when they may be held.
            {
                let mut g = sh.lock();
                while !g.stop && !room(&g, ahead, padded as usize) {
                    g = sh.wait(g);
                }
                if g.stop {
                    return Ok(());
                }
            }
            bytes.reserve_exact(want); // held until the block is read: not a byte more
            take(input, &mut bytes, want).map_err(|_| cut(&format!("block {n}")))?;
            (sh.progress)(bytes.len() as u64);
            records.push((unpadded, uncompressed));
            let block = Block {
                span: Span {
                    start: 0,
                    unpadded,
                    uncompressed,
                },
                header,
                check,
                data: Some(Arc::new(bytes)),
            };
            let mut g = sh.lock();
            if g.stop {
                return Ok(());
            }
            g.blocks.push(block);
            sh.cv.notify_all();
        }
        // The index (its indicator read), then the footer.
        let index = read_index(input, records.len()).map_err(|_| cut("the index"))?;
        if format::index(&index)? != records {
            return Err("the xz index does not match the blocks".into());
        }
        let mut foot = Vec::new();
        take(input, &mut foot, 12).map_err(|_| cut("the stream footer"))?;
        let (size, foot_check) = format::stream_footer(&foot)?;
        if size != index.len() as u64 || foot_check != check {
            return Err("the xz stream footer does not match its index and header".into());
        }
        (sh.progress)((index.len() + 12) as u64);
        // Stream padding, another stream, or the end.
        loop {
            let mut four = Vec::new();
            let got = input
                .by_ref()
                .take(4)
                .read_to_end(&mut four)
                .map_err(|e| format!("failed to read the xz data: {e}"))?;
            (sh.progress)(got as u64);
            match (got, four.as_slice()) {
                (0, _) => return Ok(()),
                (4, [0, 0, 0, 0]) => continue,
                (4, m) if m == &MAGIC[..4] => {
                    take(input, &mut four, 8).map_err(|_| cut("a stream header"))?;
                    check = format::stream_header(&four)?;
                    (sh.progress)(8);
                    break;
                }
                _ => return Err("data after the xz stream that is no xz stream".into()),
            }
        }
    }
}

/// The index's bytes after its indicator (already read), from a stream of `blocks` blocks:
/// count, records, padding and CRC32, with the indicator in front.
fn read_index(input: &mut Input, blocks: usize) -> io::Result<Vec<u8>> {
    let mut b = vec![0u8];
    // One number's bytes: up to the one without the high bit (format::varint decodes them).
    let number = |input: &mut Input, b: &mut Vec<u8>| -> io::Result<()> {
        for _ in 0..9 {
            take(input, b, 1)?;
            if b[b.len() - 1] & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(io::ErrorKind::InvalidData.into())
    };
    number(input, &mut b)?;
    if format::varint(&b, &mut 1) != Ok(blocks as u64) {
        return Err(io::ErrorKind::InvalidData.into());
    }
    for _ in 0..blocks * 2 {
        number(input, &mut b)?;
    }
    let pad = (4 - b.len() % 4) % 4;
    take(input, &mut b, pad + 4)?;
    Ok(b)
}
