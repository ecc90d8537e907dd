//! `.xz` decoding on several threads, one xz block per thread, in bounded
//! memory. A Raspberry Pi OS image is made by `xz -T0`: one stream of 24 MiB
//! blocks (at -6), each of which decodes on its own. Workers take blocks in
//! order; the reader hands out the bytes in order. The worker on the block
//! being read streams it; the others run ahead into a shared buffer budget
//! and wait when it is full, so memory is threads x dictionary + the budget,
//! whatever the image size.
//!
//! [`ParXz::open`] says `None` when the file is not such a stream (one block,
//! several streams, other filters or checks, dictionaries past the memory
//! limit, a broken index): the caller then decodes it on one thread, which
//! handles every valid .xz and names what is wrong with an invalid one.
//!
//! [`ParXz::stream`] does the same for bytes that arrive in order (a download,
//! stdin): a reader thread cuts the stream into blocks by the sizes in their
//! headers (which `xz -T` writes), a few blocks ahead of the reader, and
//! checks the index against them at the end ([`stream`]).

pub mod crc;
pub mod format;
mod stream;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use format::{BlockHeader, Check, Layout, Span};

/// How much memory the decoding may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes per chunk handed from a worker to the reader.
    pub chunk: usize,
    /// Decoded bytes held, in all: workers ahead of the reader wait while
    /// this is spent (the block being read may still be behind them).
    pub held: usize,
    /// Decoded bytes the worker on the block being read may hold.
    pub current: usize,
    /// Most worker threads.
    pub threads: usize,
    /// The dictionaries of all workers together (8 MiB each at xz -6).
    pub dicts: u64,
    /// The largest dictionary accepted at all.
    pub dict_max: u64,
}

impl Limits {
    /// For an image on a router: at xz -6 with 2 threads, 2 x 8 MiB
    /// dictionaries + 16 MiB of decoded bytes held + 1 MiB for the block
    /// being read + chunks in hand; ~40 MiB peak RSS measured, against 12 MiB
    /// for one thread (and the import as a whole stays under 64 MiB).
    pub fn router(threads: usize, dict_max: u64) -> Limits {
        Limits {
            chunk: 512 << 10,
            held: 16 << 20,
            current: 1 << 20,
            threads: threads.min(4),
            // Two workers at xz -6 whatever the cores: the import stays under
            // 64 MiB on a quad-core router too (its third core still serves
            // the writer); xz -9's 64 MiB dictionary gets one thread.
            dicts: 16 << 20,
            dict_max,
        }
    }
}

/// Counts the compressed bytes the workers have read (for progress).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

struct Block {
    span: Span,
    header: BlockHeader,
    check: Check,
    /// The block's bytes (header to check) when they came from a stream (`span.start`
    /// is then 0); None for a file, read with pread, and once the block is read.
    data: Option<Arc<Vec<u8>>>,
}

#[derive(Default)]
struct Slot {
    chunks: VecDeque<(Vec<u8>, usize)>,
    bytes: usize,
    done: bool,
    err: Option<String>,
}

struct State {
    /// The blocks: all of a file's from the start; a stream's as they arrive.
    blocks: Vec<Block>,
    /// No more blocks will come (the stream ended, or failed: `failed`).
    complete: bool,
    /// What went wrong reading the stream, told once the blocks before it are read.
    failed: Option<String>,
    /// The next block a worker will take.
    next: usize,
    /// The block being read, and the slots of it and the blocks after it.
    current: usize,
    slots: VecDeque<Slot>,
    /// Decoded bytes held, in all slots.
    held: usize,
    free: Vec<Vec<u8>>,
    stop: bool,
}

struct Shared {
    /// The file the blocks are read from; None for a stream.
    file: Option<File>,
    /// Every worker's dictionary: the largest any block needs.
    dict: u64,
    limits: Limits,
    state: Mutex<State>,
    cv: Condvar,
    progress: Progress,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.cv.wait(g).unwrap_or_else(|e| e.into_inner())
    }
}

/// The decoded bytes of a multi-block .xz file, in order.
pub struct ParXz {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    chunk: Option<(Vec<u8>, usize)>,
    at: usize,
}

fn read_at(file: &File, off: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut b = vec![0u8; len];
    file.read_exact_at(&mut b, off)?;
    Ok(b)
}

/// The file's blocks when they can be decoded in parallel (see the module doc).
fn plan(file: &File, mem_limit: u64) -> std::result::Result<Vec<Block>, String> {
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let e = |e: io::Error| e.to_string();
    if len < 32 {
        return Err("too small".into());
    }
    let head = read_at(file, 0, 12).map_err(e)?;
    let foot = read_at(file, len - 12, 12).map_err(e)?;
    let (index_size, _) = format::stream_footer(&foot)?;
    if index_size > (16 << 20) || index_size > len - 24 {
        return Err("index too large".into());
    }
    let index = read_at(file, len - 12 - index_size, index_size as usize).map_err(e)?;
    let Layout { check, blocks } = format::layout(&head, &foot, &index, len)?;
    if blocks.len() < 2 {
        return Err("one block".into());
    }
    let mut out = Vec::with_capacity(blocks.len());
    for span in blocks {
        let n = (span.unpadded.min(1024)) as usize;
        let header = format::block_header(&read_at(file, span.start, n).map_err(e)?)?;
        let data = span.unpadded.checked_sub(header.size + check.size());
        if data.is_none_or(|d| header.compressed.is_some_and(|c| c != d)) {
            return Err("block header and index disagree on the compressed size".into());
        }
        if header.uncompressed.is_some_and(|u| u != span.uncompressed) {
            return Err("block header and index disagree on the decoded size".into());
        }
        if u64::from(header.dict_size).min(span.uncompressed) > mem_limit {
            return Err("dictionary beyond the memory limit".into());
        }
        out.push(Block {
            span,
            header,
            check,
            data: None,
        });
    }
    Ok(out)
}

impl ParXz {
    /// Decode `file` within `limits`, `None` when it cannot be (or is not
    /// worth it: fewer than two threads fit).
    pub fn open(file: File, limits: Limits, progress: Progress) -> Option<ParXz> {
        let blocks = plan(&file, limits.dict_max).ok()?;
        let dict = blocks.iter().map(dict_size).max().unwrap_or(0).max(1);
        let threads = threads(&limits, dict).min(blocks.len());
        if threads < 2 {
            return None;
        }
        Self::start(Some(file), blocks, true, dict, threads, limits, progress)
    }

    fn start(
        file: Option<File>,
        blocks: Vec<Block>,
        complete: bool,
        dict: u64,
        threads: usize,
        limits: Limits,
        progress: Progress,
    ) -> Option<ParXz> {
        let shared = Arc::new(Shared {
            file,
            dict,
            limits,
            state: Mutex::new(State {
                blocks,
                complete,
                failed: None,
                next: 0,
                current: 0,
                slots: VecDeque::new(),
                held: 0,
                free: Vec::new(),
                stop: false,
            }),
            cv: Condvar::new(),
            progress,
        });
        let mut workers = Vec::new();
        for _ in 0..threads {
            let s = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name("xz".into())
                .spawn(move || worker(&s))
            {
                Ok(h) => workers.push(h),
                Err(_) => break,
            }
        }
        if workers.is_empty() {
            return None;
        }
        Some(ParXz {
            shared,
            workers,
            chunk: None,
            at: 0,
        })
    }

    /// Decoded bytes into `buf`; 0 at the end; an error names the block.
    pub fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, String> {
        loop {
            if let Some((c, len)) = &self.chunk
                && self.at < *len
            {
                let n = buf.len().min(len - self.at);
                buf[..n].copy_from_slice(&c[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            let old = self.chunk.take();
            let sh = &self.shared;
            let mut g = sh.lock();
            if let Some((c, _)) = old {
                g.free.push(c);
            }
            loop {
                if g.current >= g.blocks.len() {
                    if let Some(e) = g.failed.take() {
                        g.stop = true;
                        sh.cv.notify_all();
                        return Err(e);
                    }
                    if g.complete {
                        return Ok(0);
                    }
                }
                if let Some(slot) = g.slots.front_mut() {
                    if let Some((c, len)) = slot.chunks.pop_front() {
                        slot.bytes -= len;
                        g.held -= len;
                        self.chunk = Some((c, len));
                        self.at = 0;
                        sh.cv.notify_all();
                        break;
                    }
                    if let Some(e) = slot.err.take() {
                        g.stop = true;
                        sh.cv.notify_all();
                        return Err(e);
                    }
                    if slot.done {
                        g.slots.pop_front();
                        let c = g.current;
                        if let Some(b) = g.blocks.get_mut(c) {
                            b.data = None; // a stream's block: its bytes go
                        }
                        g.current += 1;
                        sh.cv.notify_all();
                        continue;
                    }
                }
                g = sh.wait(g);
            }
        }
    }
}

impl Drop for ParXz {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.cv.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// How many workers fit in `limits` with dictionaries of `dict` bytes.
fn threads(limits: &Limits, dict: u64) -> usize {
    limits.threads.min((limits.dicts / dict.max(1)) as usize)
}

/// The dictionary a block's decoder needs: never more than the block holds.
fn dict_size(b: &Block) -> u64 {
    u64::from(b.header.dict_size)
        .min(b.span.uncompressed)
        .max(4096)
}

/// The compressed bytes of one block: read with pread from the file (workers share it), or
/// from the block's bytes a stream gave.
struct BlockData<'a> {
    file: Option<&'a File>,
    mem: Option<Arc<Vec<u8>>>,
    pos: u64,
    end: u64,
    progress: &'a Progress,
}

impl Read for BlockData<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = ((self.end - self.pos) as usize).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = match (&self.mem, self.file) {
            (Some(m), _) => {
                let at = self.pos as usize;
                let src = m.get(at..at + want).ok_or(io::ErrorKind::UnexpectedEof)?;
                buf[..want].copy_from_slice(src);
                want
            }
            (None, Some(f)) => {
                let n = f.read_at(&mut buf[..want], self.pos)?;
                (self.progress)(n as u64);
                n
            }
            (None, None) => return Err(io::ErrorKind::UnexpectedEof.into()),
        };
        self.pos += n as u64;
        Ok(n)
    }
}

/// `len` bytes of block `blk` at offset `off` (of the file, or of the block's bytes).
fn block_bytes(sh: &Shared, blk: &Block, off: u64, len: usize) -> io::Result<Vec<u8>> {
    match (&blk.data, &sh.file) {
        (Some(m), _) => usize::try_from(off)
            .ok()
            .and_then(|o| m.get(o..o.checked_add(len)?))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into()),
        (None, Some(f)) => read_at(f, off, len),
        (None, None) => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

enum Stop {
    Stopped,
    Failed(String),
}

type Decoder<'a> = lzma_rust2::Lzma2Reader<BufReader<BlockData<'a>>>;

fn worker(sh: &Shared) {
    // One decoder for every block this worker takes: its dictionary is
    // allocated once (see `decode_block`).
    let input = BlockData {
        file: sh.file.as_ref(),
        mem: None,
        pos: 0,
        end: 0,
        progress: &sh.progress,
    };
    let mut lz = lzma_rust2::Lzma2Reader::new(
        BufReader::with_capacity(64 << 10, input),
        sh.dict as u32,
        None,
    );
    loop {
        let (b, blk, n) = {
            let mut g = sh.lock();
            loop {
                if g.stop || (g.complete && g.next >= g.blocks.len()) {
                    return;
                }
                if g.next < g.blocks.len() {
                    break;
                }
                g = sh.wait(g); // a stream's next block has not come yet
            }
            let b = g.next;
            g.next += 1;
            g.slots.push_back(Slot::default());
            let blk = &g.blocks[b];
            let copy = Block {
                span: blk.span,
                header: blk.header,
                check: blk.check,
                data: blk.data.clone(),
            };
            (b, copy, if g.complete { g.blocks.len() } else { 0 })
        };
        let of = |n: usize| {
            if n > 0 {
                format!(" of {n}")
            } else {
                String::new()
            }
        };
        let r = decode_block(sh, b, &blk, &mut lz);
        drop(blk); // a stream's bytes are not held while this worker waits for its next block
        match r {
            Ok(()) => {
                let mut g = sh.lock();
                if let Some(s) = slot(&mut g, b) {
                    s.done = true;
                }
                sh.cv.notify_all();
            }
            Err(Stop::Stopped) => return,
            Err(Stop::Failed(e)) => {
                let mut g = sh.lock();
                if let Some(s) = slot(&mut g, b) {
                    s.err = Some(format!("xz block {}{}: {e}", b + 1, of(n)));
                }
                sh.cv.notify_all();
                return;
            }
        }
    }
}

fn slot(g: &mut State, b: usize) -> Option<&mut Slot> {
    let i = b.checked_sub(g.current)?;
    g.slots.get_mut(i)
}

/// Hand a decoded chunk to the reader, waiting while the budget is spent.
fn push(sh: &Shared, b: usize, chunk: Vec<u8>, len: usize) -> Result<(), Stop> {
    let mut g = sh.lock();
    loop {
        if g.stop {
            return Err(Stop::Stopped);
        }
        let room = if b > g.current {
            g.held + len <= sh.limits.held.max(len)
        } else {
            let cap = sh.limits.current.max(len);
            slot(&mut g, b).is_some_and(|s| s.bytes + len <= cap)
        };
        if room {
            break;
        }
        g = sh.wait(g);
    }
    let Some(s) = slot(&mut g, b) else {
        return Err(Stop::Stopped);
    };
    s.chunks.push_back((chunk, len));
    s.bytes += len;
    g.held += len;
    sh.cv.notify_all();
    Ok(())
}

fn take_buffer(sh: &Shared) -> Vec<u8> {
    match sh.lock().free.pop() {
        Some(b) => b,
        None => vec![0u8; sh.limits.chunk.max(1)],
    }
}

/// Decode block `b` with the worker's decoder. The block's LZMA2 data is
/// fed to it without its end marker (a 0x00 byte, checked here), and the
/// block starts with a dictionary reset (also checked), so one decoder
/// decodes block after block as one LZMA2 stream: exactly the index's
/// uncompressed size is asked of it, so it never reads past the block.
fn decode_block(sh: &Shared, b: usize, blk: &Block, lz: &mut Decoder<'_>) -> Result<(), Stop> {
    let fail = |m: String| Stop::Failed(m);
    let data_start = blk.span.start + blk.header.size;
    let data_len = blk.span.unpadded - blk.header.size - blk.check.size();
    let byte = |at: u64| {
        block_bytes(sh, blk, at, 1)
            .map(|v| v[0])
            .map_err(|e| fail(format!("cannot read the block: {e}")))
    };
    let (first, last) = (byte(data_start)?, byte(data_start + data_len - 1)?);
    let starts_fresh = first == 0x01 || first >= 0xE0;
    if last != 0 || (blk.span.uncompressed > 0 && !starts_fresh) {
        return Err(fail(
            "LZMA2 data does not start with a reset or end with an end marker".into(),
        ));
    }
    let input = lz.inner_mut().get_mut();
    input.mem = blk.data.clone();
    input.pos = data_start;
    input.end = data_start + data_len - 1;
    let mut total = 0u64;
    let mut c32 = 0u32;
    let mut c64 = 0u64;
    while total < blk.span.uncompressed {
        let mut buf = take_buffer(sh);
        let want = ((blk.span.uncompressed - total) as usize).min(buf.len());
        let mut k = 0;
        while k < want {
            match lz.read(&mut buf[k..want]) {
                Ok(0) => return Err(fail("decodes to less than the index says".into())),
                Ok(m) => k += m,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail(e.to_string())),
            }
        }
        total += k as u64;
        match blk.check {
            Check::None => {}
            Check::Crc32 => c32 = crc::crc32(c32, &buf[..k]),
            Check::Crc64 => c64 = crc::crc64(c64, &buf[..k]),
        }
        push(sh, b, buf, k)?;
    }
    let rest = lz.inner_mut();
    let unread = !rest.buffer().is_empty() || rest.get_ref().pos != rest.get_ref().end;
    rest.get_mut().mem = None; // a stream's block: its bytes go once it is read
    if unread {
        return Err(fail(
            "compressed data does not end where the index says".into(),
        ));
    }
    // Block padding (zeros to a multiple of 4), then the check.
    let after = data_start + data_len;
    let pad = (4 - blk.span.unpadded % 4) % 4;
    let tail = block_bytes(sh, blk, after, (pad + blk.check.size()) as usize)
        .map_err(|e| fail(format!("cannot read the check: {e}")))?;
    let (padding, stored) = tail.split_at(pad as usize);
    if padding.iter().any(|&x| x != 0) {
        return Err(fail("block padding is not zero".into()));
    }
    let ok = match blk.check {
        Check::None => true,
        Check::Crc32 => stored == c32.to_le_bytes(),
        Check::Crc64 => stored == c64.to_le_bytes(),
    };
    if !ok {
        return Err(fail(format!(
            "{:?} check mismatch: the image is corrupt",
            blk.check
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
