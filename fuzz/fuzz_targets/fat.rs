#![no_main]
//! Any bytes as a fat partition: no panic, no write outside the target.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let d = rpinet_fuzz::workdir("fat");
    rpinet_fuzz::run_fat(data, &d);
    let _ = std::fs::remove_dir_all(&d);
});
