#![no_main]
//! Any bytes as a ext4 partition: no panic, no write outside the target.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let d = rpinet_fuzz::workdir("ext4");
    rpinet_fuzz::run_ext4(data, &d);
    let _ = std::fs::remove_dir_all(&d);
});
