#![no_main]
//! Any bytes as the front of a disk image: Ok or Err, never a panic, and
//! every partition returned lies after the table and does not overlap.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parts) = rpinet_fuzz::image::partition::parse(data) {
        let mut end = 512;
        for p in parts {
            assert!(p.start >= end);
            end = p.start + p.len;
        }
    }
});
