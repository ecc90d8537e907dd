#![no_main]
//! The NFS-root text edits on any text: never a panic, and idempotent.
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let ip = Ipv4Addr::new(10, 0, 0, 1);
    let e = rpinet_fuzz::edits::cmdline(&s, ip, "/m/nfs/a");
    assert_eq!(rpinet_fuzz::edits::cmdline(&e, ip, "/m/nfs/a"), e);
    let f = rpinet_fuzz::edits::fstab(&s, ip, "/m/tftp/x");
    assert_eq!(rpinet_fuzz::edits::fstab(&f, ip, "/m/tftp/x"), f);
    let h = rpinet_fuzz::edits::hosts(&s, "n");
    assert_eq!(rpinet_fuzz::edits::hosts(&h, "n"), h);
    let _ = rpinet_fuzz::edits::dphys_swapfile(&s);
    let _ = rpinet_fuzz::edits::userconf(&s, &s);
});
