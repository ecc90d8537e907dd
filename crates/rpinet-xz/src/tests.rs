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
    let first = &x.shared.blocks[0];
    let at = (first.span.start + first.span.unpadded - 1) as usize;
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
