#![no_main]
//! Any bytes as an .xz file: the container parser on every slice, and the
//! parallel decoder (tiny budgets, so workers wait) on the whole file, read
//! where it lies and as a stream. An
//! error or a clean end, never a panic or a hang; a file it decodes yields
//! exactly what its index says.
use libfuzzer_sys::fuzz_target;
use rpinet_xz::{Limits, ParXz, format};
use std::io::Write;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let _ = format::block_header(data);
    let _ = format::index(data);
    if data.len() >= 24 {
        let n = data.len();
        let _ = format::layout(&data[..12], &data[n - 12..], &data[12..n - 12], n as u64);
    }
    let tmp = std::env::temp_dir().join(format!("rpinet-fuzz-xz-{}", std::process::id()));
    // A file whose name is gone already: nothing is left behind, whatever happens.
    let Ok(mut f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
    else {
        return;
    };
    let _ = std::fs::remove_file(&tmp);
    if f.write_all(data).is_err() {
        return;
    }
    let limits = Limits {
        chunk: 4096,
        held: 8192,
        current: 4096,
        threads: 3,
        dicts: 64 << 20,
        dict_max: 16 << 20,
    };
    let drain = |mut x: ParXz| {
        let mut buf = vec![0u8; 5000];
        let mut total = 0u64;
        loop {
            match x.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => total += k as u64,
            }
            assert!(total <= 1 << 30);
        }
    };
    if let Some(x) = ParXz::open(f, limits, Arc::new(|_| {})) {
        drain(x);
    }
    // The same bytes as a download: cut into blocks as they arrive.
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(x) = ParXz::stream(input, limits, Arc::new(|_| {})) {
        drain(x);
    }
});
