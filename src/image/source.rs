//! The image as one forward stream of bytes: a raw `.img`, or a `.img.xz` or
//! `.img.gz` decompressed once, on other threads so decompression and writing
//! overlap: an .xz block by block on every core ([`super::xz`]) when the file
//! is made of several blocks, as `xz -T0` makes them, else on one thread.
//! Counts the input bytes consumed for progress.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

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
    fn add(&self, n: u64) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *g = g.saturating_add(n);
    }

    pub fn get(&self) -> u64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Counting<R> {
    inner: R,
    n: SharedCount,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.add(k as u64);
        Ok(k)
    }
}

/// How many of `remaining` bytes (or units) to take at once, at most `max`: the count stays
/// in u64 until it is below `max`, so a gap of 4 GiB or more is never cut to 0 (or to a
/// wrong size) by a 32-bit `usize`, as on armv7 and MIPS routers.
pub fn span(remaining: u64, max: usize) -> usize {
    remaining.min(max as u64) as usize
}

/// The decompressed image, read front to back.
pub struct Source {
    par: Option<rpinet_xz::ParXz>,
    rx: Option<Receiver<std::result::Result<Vec<u8>, String>>>,
    raw: Option<Counting<File>>,
    chunk: Vec<u8>,
    at: usize,
    /// Bytes of the image (decompressed) delivered so far.
    pub pos: u64,
    /// Bytes of the input file consumed so far, and its size.
    pub input_done: SharedCount,
    pub input_len: u64,
    pub compressed: bool,
}

impl Source {
    pub fn open(path: &Path) -> Result<Source> {
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
        let input_len = meta.len();
        let mut magic = [0u8; 6];
        let n = f
            .read(&mut magic)
            .ctx(|| format!("failed to read {}", path.display()))?;
        let magic = &magic[..n];
        use std::io::Seek;
        f.rewind()
            .ctx(|| format!("failed to read {}", path.display()))?;
        let done = SharedCount::default();
        let mut s = Source {
            par: None,
            rx: None,
            raw: None,
            chunk: Vec::new(),
            at: 0,
            pos: 0,
            input_done: done.clone(),
            input_len,
            compressed: false,
        };
        let counting = Counting { inner: f, n: done };
        if magic.starts_with(&rpinet_xz::format::MAGIC) {
            s.compressed = true;
            match parallel_xz(path, &s.input_done) {
                Some(p) => s.par = Some(p),
                None => {
                    let input = io::BufReader::with_capacity(256 << 10, counting);
                    let xz = lzma_rust2::XzReader::new_mem_limit(input, true, XZ_MEM_KB);
                    s.rx = Some(decoder_thread("xz", xz));
                }
            }
        } else if magic.starts_with(&[0x1F, 0x8B]) {
            s.compressed = true;
            let input = io::BufReader::with_capacity(256 << 10, counting);
            s.rx = Some(decoder_thread(
                "gzip",
                flate2::read::MultiGzDecoder::new(input),
            ));
        } else if magic.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
            bail!(
                "{}: zstd images are not supported; use .img, .img.xz or .img.gz",
                path.display()
            );
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
        if let Some(raw) = &mut self.raw {
            use std::io::Seek;
            let gap = to - self.pos;
            let at = raw
                .inner
                .seek(io::SeekFrom::Start(to))
                .map_err(|e| crate::error::Error::new(format!("failed to read the image: {e}")))?;
            if at > self.input_len {
                bail!("the image ends early, at byte {}", self.input_len);
            }
            raw.n.add(gap);
            self.pos = to;
            return Ok(());
        }
        let mut sink = vec![0u8; CHUNK];
        while self.pos < to {
            let want = span(to - self.pos, CHUNK);
            self.read_exact(&mut sink[..want])?;
        }
        Ok(())
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
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
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limits = rpinet_xz::Limits::router(threads, u64::from(XZ_MEM_KB) << 10);
    let n = done.clone();
    let file = File::open(path).ok()?;
    rpinet_xz::ParXz::open(file, limits, Arc::new(move |k| n.add(k)))
}

/// A decoder (any .xz on one thread, .gz) run on its own thread, its
/// output sent over a channel in chunks.
fn decoder_thread(
    what: &'static str,
    mut dec: impl Read + Send + 'static,
) -> Receiver<std::result::Result<Vec<u8>, String>> {
    let (tx, rx) = sync_channel(4);
    std::thread::spawn(move || {
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
        let mut s = Source::open(&p).unwrap();
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
