//! rpinet.conf: what dnsmasq needs to serve Raspberry Pis (TFTP + the PXE boot menu).

use std::fmt::Write;

use super::{HEADER, Inputs, PI_TAG, PXE_TAG, hosts_dir};
use crate::config::{DhcpMode, Match};

/// Option 97 prefixes of Pi 4 and Pi 5 bootloaders: `00` + FourCC `RPi4`/`RPi5`, in both
/// byte orders seen in the field.
const FOURCC_MATCHES: [&str; 4] = [
    "0:34:69:50:52",
    "0:52:50:69:34",
    "0:35:69:50:52",
    "0:52:50:69:35",
];

/// The boot menu text: three trailing spaces for the Pi 3B ROM, harmless to later loaders.
pub const BOOT_MENU: &str = "Raspberry Pi Boot   ";

/// Registered nodes are told apart by dnsmasq's own `known` tag (a host entry matched), not
/// by a `set:` tag in their host entries: dnsmasq 2.90 (OpenWrt 23.05/24.10) crashes on the
/// first request after a SIGHUP when hosts-dir entries carry `set:` tags, and OpenWrt sends
/// SIGHUP on every dnsmasq reload.
pub fn render(i: &Inputs) -> String {
    let c = i.config;
    let mut out = String::new();
    let _ = writeln!(out, "# {HEADER}");
    let _ = writeln!(out, "dhcp-hostsdir={}", hosts_dir(i.conf_dir));
    let Some(storage) = i.storage else {
        let _ = writeln!(
            out,
            "# The {} is not mounted at {}: no TFTP and no boot menu until it is.",
            match (&c.server, &c.storage_uuid) {
                (Some(s), _) => format!("NFS export {}", s.source()),
                (None, u) => format!("SSD (storage_uuid {})", u.as_deref().unwrap_or("unset")),
            },
            c.storage_path.as_deref().unwrap_or("(storage_path unset)")
        );
        return out;
    };
    let _ = writeln!(out, "enable-tftp");
    let _ = writeln!(out, "tftp-root={storage}/tftp");
    let slots = tftp_max(c.nodes.iter().filter(|n| n.enabled).count());
    let _ = writeln!(
        out,
        "# Every Pi may power on at once: room for each one's transfer and a re-sent request"
    );
    let _ = writeln!(out, "tftp-max={slots}");
    let _ = writeln!(
        out,
        "# Raspberry Pis: by the option 97 FourCC of Pi 4/5 loaders, or by Ethernet OUI"
    );
    for m in FOURCC_MATCHES {
        let _ = writeln!(out, "dhcp-match=set:{PI_TAG},97,{m}");
    }
    for oui in crate::config::PI_OUIS {
        let _ = writeln!(out, "dhcp-mac=set:{PI_TAG},{oui}:*:*:*");
    }
    let _ = writeln!(
        out,
        "# The bootloader's request; the OS's own DHCP requests get nothing from here"
    );
    let _ = writeln!(out, "dhcp-vendorclass=set:{PXE_TAG},PXEClient");
    if c.dhcp_mode == DhcpMode::Proxy {
        let _ = writeln!(
            out,
            "# dhcp_mode proxy: another server leases addresses; only boot options from here"
        );
        let _ = writeln!(
            out,
            "dhcp-range={},proxy,{}",
            i.net.subnet.network(),
            prefix_mask(i.net.subnet.prefix)
        );
    }
    let tags = if c.matching == Match::AnyPi {
        let _ = writeln!(out, "# match any-pi: every Raspberry Pi gets the boot menu");
        format!("tag:{PI_TAG}")
    } else {
        let _ = writeln!(
            out,
            "# match registered: only Pis with a node entry in the hosts directory ('known')"
        );
        format!("tag:known,tag:{PI_TAG}")
    };
    let _ = writeln!(out, "pxe-service={tags},0,\"{BOOT_MENU}\"");
    let _ = writeln!(
        out,
        "dhcp-option-force={tags},tag:{PXE_TAG},66,{}",
        i.net.server
    );
    out
}

/// dnsmasq's default `tftp-max`; below it nothing changes.
const TFTP_MAX_DEFAULT: usize = 50;
/// The most transfers the file descriptors allow: dnsmasq needs 2n+10 descriptors for n
/// transfers of different files (every node has its own boot dir), under the 1,024 that
/// procd leaves it, less the ~100 its DNS side and listeners keep.
const TFTP_MAX_FDS: usize = 448;

/// Concurrent TFTP transfers for `nodes` Pis powered on together. A loader fetches one file
/// at a time, but a request re-sent while dnsmasq is busy becomes a second transfer of its
/// own: two slots a Pi. Once the slots run out dnsmasq stops reading port 69 and the queued
/// requests turn into duplicates that hold the slots for a whole timeout, and then no Pi
/// boots (bench-storm: 0 of 60 booted at the default 50). Rounded up to a power of two so
/// that adding a node rarely changes rpinet.conf (which restarts dnsmasq).
pub fn tftp_max(nodes: usize) -> usize {
    (2 * nodes)
        .max(TFTP_MAX_DEFAULT)
        .next_power_of_two()
        .min(TFTP_MAX_FDS)
}

fn prefix_mask(prefix: u8) -> std::net::Ipv4Addr {
    let m = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    std::net::Ipv4Addr::from(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::inputs;

    #[test]
    fn server_mode_registered() {
        let (c, net) = inputs("option storage_path '/mnt/rpinet'\n");
        let text = render(&Inputs {
            config: &c,
            net,
            storage: Some("/mnt/rpinet"),
            conf_dir: "/tmp/dnsmasq.d",
        });
        let want = "# Written by rpinet from /etc/config/rpinet; do not edit: change the config and run 'rpinet apply'.
dhcp-hostsdir=/tmp/dnsmasq.d/rpinet.hosts
enable-tftp
tftp-root=/mnt/rpinet/tftp
# Every Pi may power on at once: room for each one's transfer and a re-sent request
tftp-max=64
# Raspberry Pis: by the option 97 FourCC of Pi 4/5 loaders, or by Ethernet OUI
dhcp-match=set:rpinet-pi,97,0:34:69:50:52
dhcp-match=set:rpinet-pi,97,0:52:50:69:34
dhcp-match=set:rpinet-pi,97,0:35:69:50:52
dhcp-match=set:rpinet-pi,97,0:52:50:69:35
dhcp-mac=set:rpinet-pi,b8:27:eb:*:*:*
dhcp-mac=set:rpinet-pi,dc:a6:32:*:*:*
dhcp-mac=set:rpinet-pi,e4:5f:01:*:*:*
dhcp-mac=set:rpinet-pi,28:cd:c1:*:*:*
dhcp-mac=set:rpinet-pi,d8:3a:dd:*:*:*
dhcp-mac=set:rpinet-pi,2c:cf:67:*:*:*
dhcp-mac=set:rpinet-pi,88:a2:9e:*:*:*
# The bootloader's request; the OS's own DHCP requests get nothing from here
dhcp-vendorclass=set:rpinet-pxe,PXEClient
# match registered: only Pis with a node entry in the hosts directory ('known')
pxe-service=tag:known,tag:rpinet-pi,0,\"Raspberry Pi Boot   \"
dhcp-option-force=tag:known,tag:rpinet-pi,tag:rpinet-pxe,66,192.168.1.1
";
        assert_eq!(text, want);
    }

    #[test]
    fn proxy_any_pi() {
        let (c, net) = inputs(
            "option dhcp_mode 'proxy'\n option match 'any-pi'\n option server_ip '192.168.1.2'\n",
        );
        let text = render(&Inputs {
            config: &c,
            net,
            storage: Some("/srv/x"),
            conf_dir: "/tmp/dnsmasq.cfg01411c.d/",
        });
        assert!(text.contains("dhcp-hostsdir=/tmp/dnsmasq.cfg01411c.d/rpinet.hosts\n"));
        assert!(text.contains("tftp-root=/srv/x/tftp\n"));
        assert!(text.contains("dhcp-range=192.168.1.0,proxy,255.255.255.0\n"));
        assert!(text.contains("pxe-service=tag:rpinet-pi,0,\"Raspberry Pi Boot   \"\n"));
        assert!(text.contains("dhcp-option-force=tag:rpinet-pi,tag:rpinet-pxe,66,192.168.1.2\n"));
        assert!(!text.contains("known"));
    }

    #[test]
    fn tftp_slots_grow_with_the_cluster_in_steps_and_stay_within_the_fds() {
        assert_eq!(tftp_max(0), 64);
        assert_eq!(tftp_max(32), 64);
        assert_eq!(tftp_max(33), 128);
        assert_eq!(tftp_max(60), 128);
        assert_eq!(tftp_max(100), 256);
        assert_eq!(tftp_max(1000), TFTP_MAX_FDS);
        const { assert!(2 * TFTP_MAX_FDS + 10 <= 1024 - 100) };
        for n in 0..2000 {
            assert!(tftp_max(n) >= (2 * n).min(TFTP_MAX_FDS));
        }
        let nodes: String = (0..100)
            .map(|i| {
                format!(
                    "config node 'n{i}'\n option serial '{i:08x}'\n option mac 'dc:a6:32:00:00:{:02x}'\n",
                    i
                )
            })
            .collect();
        let (c, net) =
            crate::render::tests::inputs_with_nodes("option storage_path '/mnt/rpinet'", &nodes);
        let text = render(&Inputs {
            config: &c,
            net,
            storage: Some("/mnt/rpinet"),
            conf_dir: "/tmp/dnsmasq.d",
        });
        assert!(text.contains("\ntftp-max=256\n"));
    }

    #[test]
    fn absent_ssd_serves_no_tftp_so_dnsmasq_still_starts() {
        let (c, net) =
            inputs("option storage_uuid 'abcd-1234'\n option storage_path '/mnt/rpinet'\n");
        let text = render(&Inputs {
            config: &c,
            net,
            storage: None,
            conf_dir: "/tmp/dnsmasq.d",
        });
        assert!(!text.contains("tftp") || !text.contains("enable-tftp"));
        assert!(!text.contains("pxe-service"));
        assert!(text.contains("not mounted at /mnt/rpinet"));
    }
}
