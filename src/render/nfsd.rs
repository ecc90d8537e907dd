//! /etc/nfs.conf.d/rpinet.conf: nfsd's thread count for the cluster.
//!
//! OpenWrt's nfsd init runs `rpc.nfsd` (or `nfsdctl autostart`) without a count, so nfsd
//! takes `[nfsd] threads=` from nfs.conf and its conf.d files, else 8; there is no UCI
//! option. Eight threads serialise the metadata storm of many Pis mounting their roots and
//! starting systemd at once.

use std::fmt::Write;

use super::{HEADER, Inputs};

/// Where rpinet's nfs.conf drop-in lives (nfs-utils reads /etc/nfs.conf.d/*.conf after
/// /etc/nfs.conf; a `threads=` set there by hand wins).
pub const PATH: &str = "/etc/nfs.conf.d/rpinet.conf";

/// nfsd's own default.
pub const DEFAULT_THREADS: usize = 8;
/// The most rpinet asks for: each thread holds a request buffer of up to 1 MiB.
const MAX_THREADS: usize = 32;

/// Threads for `nodes` Pis: two a node, in power-of-two steps, 8 to 32.
pub fn threads(nodes: usize) -> usize {
    (2 * nodes)
        .next_power_of_two()
        .clamp(DEFAULT_THREADS, MAX_THREADS)
}

/// The drop-in, or None when nothing is exported (no storage, storage on an NFS server, or
/// rpinet disabled).
pub fn render(i: &Inputs) -> Option<String> {
    i.storage.filter(|_| i.config.server.is_none())?;
    let n = i.config.nodes.iter().filter(|n| n.enabled).count();
    let mut out = String::new();
    let _ = writeln!(out, "# {HEADER}");
    let _ = writeln!(
        out,
        "# nfsd threads for the cluster (two a node, 8 to 32); read when nfsd starts"
    );
    let _ = writeln!(out, "[nfsd]");
    let _ = writeln!(out, "threads={}", threads(n));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::inputs;

    #[test]
    fn threads_grow_with_the_cluster_within_bounds() {
        assert_eq!(threads(0), 8);
        assert_eq!(threads(4), 8);
        assert_eq!(threads(5), 16);
        assert_eq!(threads(8), 16);
        assert_eq!(threads(9), 32);
        assert_eq!(threads(1000), 32);
    }

    #[test]
    fn the_drop_in_sets_the_nfsd_section_only_when_serving() {
        let (c, net) = inputs("option storage_path '/mnt/rpinet'\n");
        let mut i = Inputs {
            config: &c,
            net,
            storage: Some("/mnt/rpinet"),
            conf_dir: "/tmp/dnsmasq.d",
        };
        let text = render(&i).unwrap();
        assert!(text.starts_with("# Written by rpinet"));
        assert!(text.ends_with("[nfsd]\nthreads=8\n"), "{text}");
        i.storage = None;
        assert_eq!(render(&i), None);
    }
}
