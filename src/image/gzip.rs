//! A `.gz` (RFC 1952) as one stream of bytes: gzip's framing written here around
//! miniz_oxide's raw inflate, every member of a file made of several (as `cat a.gz b.gz` or
//! `pigz` make them) one after another, each member's CRC32 and length checked at its end.
//! The header, its flags and the trailer are a few lines; a general gzip crate brought a
//! second CRC32 with 24 KB of tables into the router's binary.

use std::io::{self, BufRead, Read};

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xE0;
/// The longest file name or comment a header may carry (as zlib's and flate2's readers).
const MAX_FIELD: usize = 65535;

/// Where the reader is in the file.
#[derive(PartialEq, Eq)]
enum At {
    /// Before the first member's header: one is needed.
    Start,
    /// Inside a member's deflate data.
    Body,
    /// After a member's trailer: the input ends, or another member begins.
    Between,
    /// The end of the input, or an error was returned.
    End,
}

/// The decompressed bytes of every member of a gzip file, in order.
pub struct GzDecoder<R> {
    input: R,
    inflate: Box<InflateState>,
    at: At,
    /// The member's CRC32 and length (mod 2^32) so far, as its trailer has them.
    crc: u32,
    len: u32,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn ends_early() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the gzip data ends early")
}

impl<R: BufRead> GzDecoder<R> {
    pub fn new(input: R) -> GzDecoder<R> {
        GzDecoder {
            input,
            inflate: InflateState::new_boxed(DataFormat::Raw),
            at: At::Start,
            crc: 0,
            len: 0,
        }
    }

    /// The input's buffered bytes, more read when there are none (empty at its end).
    fn fill(&mut self) -> io::Result<&[u8]> {
        loop {
            match self.input.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.input.fill_buf()
    }

    fn exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut k = 0;
        while k < buf.len() {
            let have = self.fill()?;
            if have.is_empty() {
                return Err(ends_early());
            }
            let n = have.len().min(buf.len() - k);
            buf[k..k + n].copy_from_slice(&have[..n]);
            self.input.consume(n);
            k += n;
        }
        Ok(())
    }

    /// Skip `n` bytes of the header (`FEXTRA`'s data), adding them to `hcrc`.
    fn skip(&mut self, mut n: usize, hcrc: &mut u32) -> io::Result<()> {
        while n > 0 {
            let have = self.fill()?;
            if have.is_empty() {
                return Err(ends_early());
            }
            let k = have.len().min(n);
            *hcrc = rpinet_xz::crc::crc32(*hcrc, &have[..k]);
            self.input.consume(k);
            n -= k;
        }
        Ok(())
    }

    /// Skip a zero-terminated field (`FNAME`, `FCOMMENT`), adding it to `hcrc`.
    fn skip_field(&mut self, hcrc: &mut u32) -> io::Result<()> {
        let mut len = 0;
        loop {
            let have = self.fill()?;
            if have.is_empty() {
                return Err(ends_early());
            }
            let (k, end) = match have.iter().position(|&b| b == 0) {
                Some(i) => (i + 1, true),
                None => (have.len(), false),
            };
            *hcrc = rpinet_xz::crc::crc32(*hcrc, &have[..k]);
            self.input.consume(k);
            len += k;
            if len > MAX_FIELD + 1 {
                return Err(invalid("a gzip header field is too long"));
            }
            if end {
                return Ok(());
            }
        }
    }

    /// A member's header: ID1 ID2 CM FLG MTIME(4) XFL OS, then the fields FLG names.
    fn header(&mut self) -> io::Result<()> {
        let mut h = [0u8; 10];
        self.exact(&mut h)?;
        if h[..2] != [0x1F, 0x8B] {
            return Err(invalid("invalid gzip header"));
        }
        if h[2] != 8 {
            return Err(invalid("invalid gzip header (not deflate)"));
        }
        let flags = h[3];
        if flags & FRESERVED != 0 {
            return Err(invalid("invalid gzip header (reserved flags set)"));
        }
        let mut hcrc = rpinet_xz::crc::crc32(0, &h);
        if flags & FEXTRA != 0 {
            let mut xlen = [0u8; 2];
            self.exact(&mut xlen)?;
            hcrc = rpinet_xz::crc::crc32(hcrc, &xlen);
            self.skip(usize::from(u16::from_le_bytes(xlen)), &mut hcrc)?;
        }
        if flags & FNAME != 0 {
            self.skip_field(&mut hcrc)?;
        }
        if flags & FCOMMENT != 0 {
            self.skip_field(&mut hcrc)?;
        }
        if flags & FHCRC != 0 {
            let mut want = [0u8; 2];
            self.exact(&mut want)?;
            if u16::from_le_bytes(want) != hcrc as u16 {
                return Err(invalid("the gzip header does not match its CRC16"));
            }
        }
        Ok(())
    }

    /// A member's trailer: CRC32 and ISIZE, both of what was inflated.
    fn trailer(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        self.exact(&mut t)?;
        if u32::from_le_bytes([t[0], t[1], t[2], t[3]]) != self.crc {
            return Err(invalid("the gzip data does not match its CRC32"));
        }
        if u32::from_le_bytes([t[4], t[5], t[6], t[7]]) != self.len {
            return Err(invalid("the gzip data does not match its length"));
        }
        Ok(())
    }

    fn step(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.at {
                At::End => return Ok(0),
                At::Start | At::Between => {
                    if self.at == At::Between && self.fill()?.is_empty() {
                        self.at = At::End;
                        return Ok(0);
                    }
                    self.header()?;
                    self.inflate.reset(DataFormat::Raw);
                    self.crc = 0;
                    self.len = 0;
                    self.at = At::Body;
                }
                At::Body => {
                    let input = match self.input.fill_buf() {
                        Ok(b) => b,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    let eof = input.is_empty();
                    let flush = if eof { MZFlush::Finish } else { MZFlush::None };
                    let r = inflate(&mut self.inflate, input, out, flush);
                    self.input.consume(r.bytes_consumed);
                    let n = r.bytes_written;
                    self.crc = rpinet_xz::crc::crc32(self.crc, &out[..n]);
                    self.len = self.len.wrapping_add(n as u32);
                    match r.status {
                        Ok(MZStatus::StreamEnd) => {
                            self.trailer()?;
                            self.at = At::Between;
                            if n > 0 {
                                return Ok(n);
                            }
                        }
                        Ok(_) | Err(MZError::Buf) => {
                            if n > 0 {
                                return Ok(n);
                            }
                            if eof {
                                return Err(ends_early());
                            }
                        }
                        Err(_) => return Err(invalid("corrupt deflate data")),
                    }
                }
            }
        }
    }
}

impl<R: BufRead> Read for GzDecoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let r = self.step(out);
        if r.is_err() {
            // Nothing is read after an error (the caller stops at the first).
            self.at = At::End;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `gzip -c` of `data` at `level`, from the real gzip(1).
    fn gzip(data: &[u8], args: &[&str]) -> Vec<u8> {
        use std::io::Write;
        let mut c = std::process::Command::new("gzip")
            .args(args)
            .arg("-c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("gzip(1) on the PATH");
        let mut stdin = c.stdin.take().unwrap();
        let data = data.to_vec();
        let w = std::thread::spawn(move || stdin.write_all(&data));
        let out = c.wait_with_output().unwrap();
        w.join().unwrap().unwrap();
        assert!(out.status.success());
        out.stdout
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n as u32)
            .map(|i| {
                if i % 4096 < 2048 {
                    (i % 251) as u8
                } else {
                    (i.wrapping_mul(2_654_435_761) >> 13) as u8
                }
            })
            .collect()
    }

    /// Everything read through the decoder, `step` bytes a read.
    fn gunzip(gz: &[u8], step: usize) -> io::Result<Vec<u8>> {
        let mut d = GzDecoder::new(io::BufReader::with_capacity(7, gz));
        let mut out = Vec::new();
        let mut buf = vec![0u8; step];
        loop {
            match d.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn every_byte_in_order_at_any_read_size() {
        let data = sample(300_000);
        let gz = gzip(&data, &["-6"]);
        for step in [1, 100, 4096, 1 << 20] {
            assert!(gunzip(&gz, step).unwrap() == data, "read size {step}");
        }
        assert!(gunzip(&gzip(b"", &[]), 10).unwrap().is_empty());
    }

    #[test]
    fn members_back_to_back_are_one_stream() {
        let (a, b) = (sample(70_000), b"second member".to_vec());
        let mut gz = gzip(&a, &["-1"]);
        gz.extend(gzip(b"", &[]));
        gz.extend(gzip(&b, &["-9"]));
        let mut want = a;
        want.extend(b);
        assert!(gunzip(&gz, 5000).unwrap() == want);
    }

    #[test]
    fn header_fields_are_skipped_and_the_header_crc_checked() {
        // FLG = FHCRC | FEXTRA | FNAME | FCOMMENT, by hand: gzip(1) writes only FNAME.
        let body = gzip(b"hello", &["-n"]);
        let mut gz = vec![
            0x1F,
            0x8B,
            8,
            FHCRC | FEXTRA | FNAME | FCOMMENT,
            1,
            2,
            3,
            4,
            0,
            3,
        ];
        gz.extend([3, 0, b'x', b'y', b'z']);
        gz.extend(b"name.img\0a comment\0");
        let c = rpinet_xz::crc::crc32(0, &gz) as u16;
        gz.extend(c.to_le_bytes());
        gz.extend(&body[10..]);
        assert_eq!(gunzip(&gz, 3).unwrap(), b"hello");
        let last = 10 + 5 + 19 + 1;
        gz[last] ^= 1;
        let e = gunzip(&gz, 3).unwrap_err();
        assert!(e.to_string().contains("CRC16"), "{e}");
    }

    #[test]
    fn broken_input_is_an_error_that_names_what() {
        let data = sample(200_000);
        let gz = gzip(&data, &["-6"]);
        let err = |gz: &[u8]| gunzip(gz, 65536).unwrap_err().to_string();
        // cut anywhere: in the header, the deflate data, the trailer
        for at in [0, 1, 5, 12, gz.len() / 2, gz.len() - 5, gz.len() - 1] {
            assert!(err(&gz[..at]).contains("ends early"), "cut at {at}");
        }
        let mut bad = gz.clone();
        bad[0] = 0x1E;
        assert!(err(&bad).contains("invalid gzip header"));
        let mut bad = gz.clone();
        bad[2] = 7;
        assert!(err(&bad).contains("not deflate"));
        let n = gz.len();
        let mut bad = gz.clone();
        bad[n - 8] ^= 1;
        assert!(err(&bad).contains("CRC32"));
        let mut bad = gz.clone();
        bad[n - 1] ^= 1;
        assert!(err(&bad).contains("length"));
        let mut bad = gz.clone();
        for b in &mut bad[n / 2..n / 2 + 64] {
            *b ^= 0x5A;
        }
        let e = err(&bad);
        assert!(e.contains("deflate") || e.contains("CRC32"), "{e}");
        // bytes after a member that are not another member
        let mut bad = gz.clone();
        bad.extend(b"trailing junk");
        assert!(err(&bad).contains("invalid gzip header"));
    }
}
