//! The image as one forward stream of bytes: a raw `.img`, or a `.img.xz` or
//! `.img.gz` decompressed once, on other threads so decompression and writing
//! overlap: an .xz block by block on every core (rpinet_xz) when it is made of
//! several blocks, as `xz -T0` makes them — a file read where it lies, a
//! download or stdin cut into blocks as it arrives — else on one thread.
//! Counts the input bytes consumed for progress, and when asked computes the
//! SHA-256 of the input and of the image while streaming (a checksum may be
//! of either: Raspberry Pi's list gives both).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use super::sha256::Sha256;
use crate::bail;
use crate::error::{Context, Result};

const CHUNK: usize = 1 << 20;
/// The xz decoder's memory limit (KiB): enough for `xz -9` (64 MiB dictionary).
const XZ_MEM_KB: u32 = 80 * 1024;

/// A byte count shared with the decoder thread. A mutex, not an AtomicU64: 32-bit MIPS has
/// no 64-bit atomics, and a u32 would wrap past 4 GiB.
#[derive(Clone, Default)]
pub struct SharedCount(Arc<std::sync::Mutex<u64>>);

impl SharedCount {
    pub fn add(&self, n: u64) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *g = g.saturating_add(n);
    }

    pub fn get(&self) -> u64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Set the count (a size learnt after the stream opened).
    pub fn set(&self, n: u64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = n;
    }
}

/// The SHA-256 of the input as it is read (shared with the decoder thread).
type InputDigest = Arc<std::sync::Mutex<Sha256>>;

struct Counting<R> {
    inner: R,
    n: SharedCount,
    digest: Option<InputDigest>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.add(k as u64);
        if let Some(d) = &self.digest {
            d.lock()
                .unwrap_or_else(|e| e.into_inner())
                .update(&buf[..k]);
        }
        Ok(k)
    }
}

/// How many of `remaining` bytes (or units) to take at once, at most `max`: the count stays
/// in u64 until it is below `max`, so a gap of 4 GiB or more is never cut to 0 (or to a
/// wrong size) by a 32-bit `usize`, as on armv7 and MIPS routers.
pub fn span(remaining: u64, max: usize) -> usize {
    remaining.min(max as u64) as usize
}

/// The SHA-256 digests a finished stream had, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// Of the bytes read (the compressed file, or the .img itself).
    pub input: String,
    /// Of the image (the .img inside).
    pub image: String,
}

impl Digests {
    /// Whether `want` (hex, any case) is either digest.
    pub fn matches(&self, want: &str) -> bool {
        let w = want.to_ascii_lowercase();
        w == self.input || w == self.image
    }
}

/// The decompressed image, read front to back.
pub struct Source {
    par: Option<rpinet_xz::ParXz>,
    rx: Option<Receiver<std::result::Result<Vec<u8>, String>>>,
    raw: Option<Counting<Input>>,
    input_digest: Option<InputDigest>,
    image_digest: Option<Sha256>,
    chunk: Vec<u8>,
    at: usize,
    /// Bytes of the image (decompressed) delivered so far.
    pub pos: u64,
    /// Bytes of the input consumed so far, and its size (0 while unknown: a
    /// download whose server gave no length, or stdin).
    pub input_done: SharedCount,
    pub input_len: SharedCount,
    pub compressed: bool,
}

/// What the bytes come from: a file (a raw one is skipped through by seeking), or a stream
/// (a download, stdin) after the bytes already read to tell its format.
enum Input {
    File(File),
    Stream(io::Chain<io::Cursor<Vec<u8>>, Box<dyn Read + Send>>),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File(f) => f.read(buf),
            Input::Stream(s) => s.read(buf),
        }
    }
}

/// The first bytes of `input`, which tell its format (fewer only at its end).
fn read_magic(input: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut magic = vec![0u8; 6];
    let mut n = 0;
    while n < magic.len() {
        match input.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    magic.truncate(n);
    Ok(magic)
}

impl Source {
    /// The image in the file at `path`. With `digest`, the SHA-256s are
    /// computed as it streams (the .xz is then cut into blocks as it is read).
    pub fn open(path: &Path, digest: bool) -> Result<Source> {
        // Opened without blocking (a FIFO would wait for a writer forever), then refused
        // unless it is a regular file: a device, FIFO or socket may never end or give data.
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .ctx(|| format!("failed to open {}", path.display()))?;
        let meta = f
            .metadata()
            .ctx(|| format!("failed to stat {}", path.display()))?;
        if !meta.is_file() {
            return Err(crate::error::Error::new(format!(
                "{} is not a regular file (an image file is needed)",
                path.display()
            )));
        }
        nix::fcntl::fcntl(
            &f,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
        )
        .map_err(|e| crate::error::Error::new(format!("failed to read {}: {e}", path.display())))?;
        let magic = read_magic(&mut f).ctx(|| format!("failed to read {}", path.display()))?;
        use std::io::Seek;
        f.rewind()
            .ctx(|| format!("failed to read {}", path.display()))?;
        let total = SharedCount::default();
        total.set(meta.len());
        Self::build(Input::File(f), &magic, Some(path), total, digest)
            .ctx(|| path.display().to_string())
    }

    /// The image in a stream (a download, stdin) whose size, when known,
    /// arrives in `total`.
    pub fn stream(
        mut input: Box<dyn Read + Send>,
        total: SharedCount,
        digest: bool,
    ) -> Result<Source> {
        let magic = read_magic(&mut input).ctx(|| "failed to read".into())?;
        let input = Input::Stream(io::Cursor::new(magic.clone()).chain(input));
        Self::build(input, &magic, None, total, digest)
    }

    fn build(
        input: Input,
        magic: &[u8],
        path: Option<&Path>,
        total: SharedCount,
        digest: bool,
    ) -> Result<Source> {
        let done = SharedCount::default();
        let input_digest = digest.then(InputDigest::default);
        let mut s = Source {
            par: None,
            rx: None,
            raw: None,
            input_digest: input_digest.clone(),
            image_digest: digest.then(Sha256::default),
            chunk: Vec::new(),
            at: 0,
            pos: 0,
            input_done: done.clone(),
            input_len: total,
            compressed: false,
        };
        let counting = Counting {
            inner: input,
            n: done,
            digest: input_digest,
        };
        if magic.starts_with(&rpinet_xz::format::MAGIC) {
            s.compressed = true;
            let par = match path {
                Some(p) if !digest => parallel_xz(p, &s.input_done),
                _ => None,
            };
            // Else (a download, stdin, or digests wanted: the bytes in order) the stream is
            // cut into blocks as it arrives; one that cannot be goes to one thread.
            match par {
                Some(p) => s.par = Some(p),
                None => match rpinet_xz::ParXz::stream(
                    Box::new(counting),
                    xz_limits(),
                    Arc::new(|_| {}),
                ) {
                    Ok(p) => s.par = Some(p),
                    Err(back) => {
                        let input = io::BufReader::with_capacity(256 << 10, back);
                        let xz = lzma_rust2::XzReader::new_mem_limit(input, true, XZ_MEM_KB);
                        s.rx = Some(decoder_thread("xz", xz));
                    }
                },
            }
        } else if magic.starts_with(&[0x1F, 0x8B]) {
            s.compressed = true;
            let input = io::BufReader::with_capacity(256 << 10, counting);
            s.rx = Some(decoder_thread("gzip", super::gzip::GzDecoder::new(input)));
        } else if magic.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
            bail!("zstd images are not supported; use .img, .img.xz or .img.gz");
        } else {
            s.raw = Some(counting);
        }
        Ok(s)
    }

    /// Fill `buf` completely; an early end of the image is an error.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        let mut k = 0;
        while k < buf.len() {
            let n = self.read_some(&mut buf[k..])?;
            if n == 0 {
                bail!("the image ends early, at byte {}", self.pos);
            }
            k += n;
        }
        Ok(())
    }

    /// Read to the end, so the xz integrity checks (at the end of each xz
    /// block, often the end of the file) are verified.
    pub fn drain(&mut self) -> Result<()> {
        let mut sink = vec![0u8; CHUNK];
        while self.read_some(&mut sink)? > 0 {}
        Ok(())
    }

    /// Read and drop bytes up to image offset `to` (a raw image seeks there).
    pub fn skip_to(&mut self, to: u64) -> Result<()> {
        if self.pos >= to {
            return Ok(());
        }
        // A raw file whose bytes need no digest: seek over the gap.
        if let Some(Counting {
            inner: Input::File(f),
            n,
            digest: None,
        }) = &mut self.raw
        {
            if self.image_digest.is_none() {
                use std::io::Seek;
                let gap = to - self.pos;
                let at = f.seek(io::SeekFrom::Start(to)).map_err(|e| {
                    crate::error::Error::new(format!("failed to read the image: {e}"))
                })?;
                let len = self.input_len.get();
                if at > len {
                    bail!("the image ends early, at byte {len}");
                }
                n.add(gap);
                self.pos = to;
                return Ok(());
            }
        }
        let mut sink = vec![0u8; CHUNK];
        while self.pos < to {
            let want = span(to - self.pos, CHUNK);
            self.read_exact(&mut sink[..want])?;
        }
        Ok(())
    }

    /// The digests of everything read, once the stream is drained; None
    /// unless asked for at open.
    pub fn digests(&mut self) -> Option<Digests> {
        let input = self.input_digest.take()?;
        let input = std::mem::take(&mut *input.lock().unwrap_or_else(|e| e.into_inner()));
        let image = self.image_digest.take()?;
        Some(Digests {
            input: input.hex(),
            image: image.hex(),
        })
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = self.read_raw(buf)?;
        if let Some(d) = &mut self.image_digest {
            d.update(&buf[..n]);
        }
        Ok(n)
    }

    fn read_raw(&mut self, buf: &mut [u8]) -> Result<usize> {
        if let Some(p) = &mut self.par {
            let n = p.read(buf).map_err(|e| {
                crate::error::Error::new(format!(
                    "failed to decompress the image at byte {}: {e}",
                    self.pos
                ))
            })?;
            self.pos += n as u64;
            return Ok(n);
        }
        if let Some(raw) = &mut self.raw {
            let n = loop {
                match raw.read(buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => bail!("failed to read the image: {e}"),
                }
            };
            self.pos += n as u64;
            return Ok(n);
        }
        if self.at >= self.chunk.len() {
            let Some(rx) = &self.rx else { return Ok(0) };
            match rx.recv() {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.at = 0;
                }
                Ok(Err(e)) => bail!("failed to decompress the image at byte {}: {e}", self.pos),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A multi-block .xz decoded on every core, when it is one (see [`super::xz`]).
fn parallel_xz(path: &Path, done: &SharedCount) -> Option<rpinet_xz::ParXz> {
    let n = done.clone();
    let file = File::open(path).ok()?;
    rpinet_xz::ParXz::open(file, xz_limits(), Arc::new(move |k| n.add(k)))
}

/// The parallel xz decoder's budget on this machine.
fn xz_limits() -> rpinet_xz::Limits {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    rpinet_xz::Limits::router(threads, u64::from(XZ_MEM_KB) << 10)
}

/// A decoder (any .xz on one thread, .gz) run on its own thread, its
/// output sent over a channel in chunks.
fn decoder_thread(
    what: &'static str,
    mut dec: impl Read + Send + 'static,
) -> Receiver<std::result::Result<Vec<u8>, String>> {
    let (tx, rx) = sync_channel(4);
    crate::system::alloc::thread(what, move || {
        loop {
            let mut buf = vec![0u8; CHUNK];
            let mut k = 0;
            while k < CHUNK {
                match dec.read(&mut buf[k..]) {
                    Ok(0) => break,
                    Ok(m) => k += m,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(format!("{what}: {e}")));
                        return;
                    }
                }
            }
            if k == 0 {
                return;
            }
            buf.truncate(k);
            if tx.send(Ok(buf)).is_err() {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_past_4_gib_are_not_cut_by_usize() {
        assert_eq!(span(4 << 30, CHUNK), CHUNK);
        assert_eq!(span((4 << 30) + 5, CHUNK), CHUNK);
        assert_eq!(span(u64::MAX, 7), 7);
        assert_eq!(span(3, CHUNK), 3);
    }

    #[test]
    fn a_raw_image_is_read_past_4_gib() {
        // A sparse file: a marker 512 bytes past 5 GiB (a partition that starts there).
        let p = std::env::temp_dir().join(format!("rpinet-source-{}.img", std::process::id()));
        let f = File::create(&p).unwrap();
        let at: u64 = 5 << 30;
        use std::os::unix::fs::FileExt;
        f.write_all_at(b"past four gibibytes", at + 512).unwrap();
        f.set_len(at + 4096).unwrap();
        drop(f);
        let mut s = Source::open(&p, false).unwrap();
        let mut head = vec![0u8; 512];
        s.read_exact(&mut head).unwrap();
        s.skip_to(at).unwrap();
        let mut buf = vec![0u8; 1024];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[512..531], b"past four gibibytes");
        assert_eq!(s.pos, at + 1024);
        assert!(
            s.skip_to(at + 8192).is_err(),
            "a skip past the end is an error"
        );
        std::fs::remove_file(&p).unwrap();
    }
}
