//! Parallel decoding against files made by the real xz(1): every byte in
//! order, every check type, budgets small enough that workers wait, and
//! corrupt or unusual files either refused (left to the one-thread decoder)
//! or failing at the block that is broken.

use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rpinet-xz-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// 3 MiB of mixed content: text-like, zeros, and noise.
fn sample() -> Vec<u8> {
    let mut v = Vec::with_capacity(3 << 20);
    let mut x = 0x1234_5678u32;
    for i in 0..(3usize << 20) {
        let b = match (i >> 16) % 4 {
            0 => b"the quick brown fox jumps over the lazy dog\n"[i % 44],
            1 => 0,
            _ => {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if (i >> 16) % 4 == 2 {
                    (x % 7) as u8 + b'a'
                } else {
                    x as u8
                }
            }
        };
        v.push(b);
    }
    v
}

fn xz(d: &Path, data: &[u8], args: &str) -> PathBuf {
    let raw = d.join("data");
    std::fs::write(&raw, data).unwrap();
    let out = d.join(format!("data-{}.xz", args.replace([' ', '='], "_")));
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "xz -c {args} {} > {}",
            raw.display(),
            out.display()
        ))
        .status()
        .unwrap();
    assert!(st.success(), "xz {args}");
    out
}

fn tiny(threads: usize) -> Limits {
    Limits {
        chunk: 4096,
        held: 8192,
        current: 4096,
        threads,
        dicts: 1 << 30,
        dict_max: 64 << 20,
    }
}

fn none() -> Progress {
    Arc::new(|_| {})
}

fn read_all(p: &mut ParXz, step: usize) -> std::result::Result<Vec<u8>, (Vec<u8>, String)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        match p.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err((out, e)),
        }
    }
}

#[test]
fn every_byte_in_order_whatever_the_threads_and_budgets() {
    let d = dir("order");
    let data = sample();
    // Single-threaded xz with small blocks (sizes not in the block headers)
    // and multi-threaded xz (sizes in the headers).
    for args in ["-T1 -1 --block-size=100KiB", "-T2 -0 --block-size=64KiB"] {
        let f = xz(&d, &data, args);
        let compressed = std::fs::metadata(&f).unwrap().len();
        for (limits, step) in [
            (tiny(2), 1000),
            (tiny(3), 4096),
            (tiny(4), 65536),
            (Limits::router(2, 64 << 20), 1 << 20),
        ] {
            let seen = Arc::new(AtomicUsize::new(0));
            let s2 = Arc::clone(&seen);
            let progress: Progress = Arc::new(move |n| {
                s2.fetch_add(n as usize, Ordering::Relaxed);
            });
            let mut p = ParXz::open(File::open(&f).unwrap(), limits, progress)
                .unwrap_or_else(|| panic!("{args}: not decoded in parallel"));
            let got = read_all(&mut p, step).unwrap_or_else(|(_, e)| panic!("{args}: {e}"));
            assert!(got == data, "{args} {limits:?}: output differs");
            drop(p);
            let read = seen.load(Ordering::Relaxed) as u64;
            assert!(
                read > compressed / 2 && read <= compressed,
                "{args}: read {read} of {compressed}"
            );
        }
    }
}

#[test]
fn crc32_and_no_check_decode_and_others_are_left_to_one_thread() {
    let d = dir("checks");
    let data = sample();
    for check in ["crc32", "crc64", "none"] {
        let f = xz(
            &d,
            &data,
            &format!("-T1 -0 --block-size=256KiB --check={check}"),
        );
        let mut p = ParXz::open(File::open(&f).unwrap(), tiny(2), none()).unwrap();
        assert!(read_all(&mut p, 7777).unwrap() == data, "{check}");
    }
    let f = xz(&d, &data, "-T1 -0 --block-size=256KiB --check=sha256");
    assert!(ParXz::open(File::open(&f).unwrap(), tiny(2), none()).is_none());
    // One block, one thread, BCJ filter, two concatenated streams, a dictionary over the limit.
    let one = xz(&d, &data, "-T1 -0");
    assert!(ParXz::open(File::open(&one).unwrap(), tiny(2), none()).is_none());
    let multi = xz(&d, &data, "-T1 -0 --block-size=256KiB");
    assert!(ParXz::open(File::open(&multi).unwrap(), tiny(1), none()).is_none());
    let bcj = xz(&d, &data, "-T1 --block-size=256KiB --x86 --lzma2=preset=0");
    assert!(ParXz::open(File::open(&bcj).unwrap(), tiny(2), none()).is_none());
    let mut two = std::fs::read(&multi).unwrap();
    two.extend(std::fs::read(&multi).unwrap());
    let cat = d.join("cat.xz");
    std::fs::write(&cat, &two).unwrap();
    assert!(ParXz::open(File::open(&cat).unwrap(), tiny(2), none()).is_none());
    let mut small = tiny(2);
    small.dict_max = 4096;
    assert!(ParXz::open(File::open(&multi).unwrap(), small, none()).is_none());
    // The dictionary budget allows one thread only.
    let mut one_dict = tiny(4);
    one_dict.dicts = 300 << 10;
    assert!(ParXz::open(File::open(&multi).unwrap(), one_dict, none()).is_none());
}

#[test]
fn a_corrupt_block_fails_there_after_every_byte_before_it() {
    let d = dir("corrupt");
    let data = sample();
    let f = xz(&d, &data, "-T1 -0 --block-size=256KiB");
    let good = std::fs::read(&f).unwrap();
    // Flip bytes in the middle of the file: inside some block's data.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 16] {
        *b ^= 0x55;
    }
    let p = d.join("bad.xz");
    std::fs::write(&p, &bad).unwrap();
    for threads in [2, 4] {
        let mut x = ParXz::open(File::open(&p).unwrap(), tiny(threads), none()).unwrap();
        let (before, e) = read_all(&mut x, 5000).expect_err("corrupt data decoded");
        assert!(e.starts_with("xz block "), "{e}");
        assert!(
            before.len() % (256 << 10) == 0 && before.len() < data.len(),
            "{}",
            before.len()
        );
        assert!(before[..] == data[..before.len()]);
    }
    // A wrong CRC64 in the first block's check: the block's bytes are read, then it fails.
    let x = ParXz::open(File::open(&f).unwrap(), tiny(2), none()).unwrap();
    let at = {
        let g = x.shared.lock();
        (g.blocks[0].span.start + g.blocks[0].span.unpadded - 1) as usize
    };
    drop(x);
    let mut bad = good.clone();
    bad[at] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    let mut x = ParXz::open(File::open(&p).unwrap(), tiny(2), none()).unwrap();
    let (before, e) = read_all(&mut x, 4096).expect_err("bad check accepted");
    assert!(e.contains("check mismatch"), "{e}");
    assert_eq!(before.len(), 256 << 10);
}

#[test]
fn dropping_the_reader_early_stops_the_workers() {
    let d = dir("drop");
    let f = xz(&d, &sample(), "-T1 -0 --block-size=64KiB");
    for _ in 0..20 {
        let mut x = ParXz::open(File::open(&f).unwrap(), tiny(4), none()).unwrap();
        let mut buf = [0u8; 10000];
        x.read(&mut buf).unwrap();
        drop(x); // joins every worker; a hang here fails the test by timeout
    }
}

/// A stream that gives at most `step` bytes a read, as a download does.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn trickle(data: Vec<u8>, step: usize) -> stream::Input {
    Box::new(Trickle { data, at: 0, step })
}

#[test]
fn a_stream_decodes_in_parallel_every_byte_in_order() {
    let d = dir("stream");
    let data = sample();
    let f = std::fs::read(xz(&d, &data, "-T2 -0 --block-size=64KiB")).unwrap();
    for (limits, step, read) in [
        (tiny(2), 1, 1000),
        (tiny(3), 4096, 4096),
        (tiny(4), 65536, 65536),
        (Limits::router(2, 64 << 20), 1 << 20, 1 << 20),
    ] {
        let seen = Arc::new(AtomicUsize::new(0));
        let s2 = Arc::clone(&seen);
        let progress: Progress = Arc::new(move |n| {
            s2.fetch_add(n as usize, Ordering::Relaxed);
        });
        let Ok(mut p) = ParXz::stream(trickle(f.clone(), step), limits, progress) else {
            panic!("{limits:?}: not decoded in parallel");
        };
        let got = read_all(&mut p, read).unwrap_or_else(|(_, e)| panic!("{e}"));
        assert!(got == data, "{limits:?} step {step}: output differs");
        drop(p);
        assert_eq!(seen.load(Ordering::Relaxed), f.len(), "every byte counted");
    }
    // Two streams with stream padding between them, as `cat` and the format allow.
    let mut two = f.clone();
    two.extend([0u8; 8]);
    two.extend(&f);
    let mut p = ParXz::stream(trickle(two, 5000), tiny(2), none())
        .ok()
        .unwrap();
    let got = read_all(&mut p, 7000).unwrap_or_else(|(_, e)| panic!("{e}"));
    assert!(got.len() == 2 * data.len() && got[data.len()..] == data[..]);
}

#[test]
fn a_stream_it_cannot_cut_is_given_back_whole() {
    let d = dir("stream-back");
    let data = sample();
    // No sizes in the block headers (single-threaded xz), one block, SHA-256, no budget.
    for (args, limits) in [
        ("-T1 -0 --block-size=256KiB", tiny(2)),
        ("-T1 -0", tiny(2)),
        ("-T2 -0 --block-size=64KiB --check=sha256", tiny(2)),
        ("-T2 -0 --block-size=64KiB", tiny(1)),
    ] {
        let f = std::fs::read(xz(&d, &data, args)).unwrap();
        let Err(mut back) = ParXz::stream(trickle(f.clone(), 100), limits, none()) else {
            panic!("{args}: taken");
        };
        let mut again = Vec::new();
        back.read_to_end(&mut again).unwrap();
        assert!(again == f, "{args}: the input given back differs");
    }
    // Not xz at all.
    let Err(mut back) = ParXz::stream(trickle(b"hello".to_vec(), 2), tiny(2), none()) else {
        panic!("taken");
    };
    let mut again = Vec::new();
    back.read_to_end(&mut again).unwrap();
    assert_eq!(again, b"hello");
}

#[test]
fn a_broken_stream_fails_after_every_byte_before_the_break() {
    let d = dir("stream-bad");
    let data = sample();
    let good = std::fs::read(xz(&d, &data, "-T2 -0 --block-size=256KiB")).unwrap();
    let run = |bytes: Vec<u8>| {
        let mut p = ParXz::stream(trickle(bytes, 3000), tiny(2), none())
            .ok()
            .unwrap();
        read_all(&mut p, 5000).expect_err("decoded")
    };
    // Cut in the middle: the blocks before the cut, then one line.
    let (before, e) = run(good[..good.len() / 2].to_vec());
    assert!(e.contains("ends inside block"), "{e}");
    assert!(before.len() % (256 << 10) == 0 && before[..] == data[..before.len()]);
    // Cut in the index or footer: every byte, then the error.
    let (before, e) = run(good[..good.len() - 6].to_vec());
    assert!(e.contains("ends inside"), "{e}");
    assert!(before == data);
    // Flipped bytes in a block's data.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 16] {
        *b ^= 0x55;
    }
    let (before, e) = run(bad);
    assert!(e.starts_with("xz block "), "{e}");
    assert!(before.len() % (256 << 10) == 0 && before[..] == data[..before.len()]);
    // Garbage after the stream.
    let mut tail = good.clone();
    tail.extend(b"junk");
    let (before, e) = run(tail);
    assert!(e.contains("no xz stream"), "{e}");
    assert!(before == data);
}

#[test]
fn dropping_a_stream_reader_early_stops_everything() {
    let d = dir("stream-drop");
    let f = std::fs::read(xz(&d, &sample(), "-T2 -0 --block-size=64KiB")).unwrap();
    for _ in 0..20 {
        let mut x = ParXz::stream(trickle(f.clone(), 4096), tiny(4), none())
            .ok()
            .unwrap();
        let mut buf = [0u8; 10000];
        x.read(&mut buf).unwrap();
        drop(x); // joins every worker; the stream reader ends at its next block
    }
}
