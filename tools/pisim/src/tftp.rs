//! TFTP packets (RFC 1350, options RFC 2347/2348/2349) and the order in
//! which each Pi model asks for its boot files (docs/facts.md §1.4).
//!
//! Pure functions only; the transfer loop is in `net`.

use crate::dhcp::Kind;

pub const RRQ: u16 = 1;
pub const DATA: u16 = 3;
pub const ACK: u16 = 4;
pub const ERROR: u16 = 5;
pub const OACK: u16 = 6;

/// A read request with options (name, value) in the order given.
pub fn rrq(path: &str, options: &[(&str, String)]) -> Vec<u8> {
    let mut p = RRQ.to_be_bytes().to_vec();
    p.extend_from_slice(path.as_bytes());
    p.push(0);
    p.extend_from_slice(b"octet\0");
    for (k, v) in options {
        p.extend_from_slice(k.as_bytes());
        p.push(0);
        p.extend_from_slice(v.as_bytes());
        p.push(0);
    }
    p
}

pub fn ack(block: u16) -> Vec<u8> {
    let mut p = ACK.to_be_bytes().to_vec();
    p.extend_from_slice(&block.to_be_bytes());
    p
}

pub fn error(code: u16, msg: &str) -> Vec<u8> {
    let mut p = ERROR.to_be_bytes().to_vec();
    p.extend_from_slice(&code.to_be_bytes());
    p.extend_from_slice(msg.as_bytes());
    p.push(0);
    p
}

/// A packet from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Data { block: u16, data: Vec<u8> },
    Error { code: u16, message: String },
    Oack(Vec<(String, String)>),
}

/// Decode a server packet; None for anything a client does not expect.
pub fn decode(p: &[u8]) -> Option<Packet> {
    let op = u16::from_be_bytes([*p.first()?, *p.get(1)?]);
    let rest = &p[2..];
    match op {
        DATA => Some(Packet::Data {
            block: u16::from_be_bytes([*rest.first()?, *rest.get(1)?]),
            data: rest[2..].to_vec(),
        }),
        ERROR => {
            let code = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
            let msg = &rest[2..];
            let end = msg.iter().position(|&b| b == 0).unwrap_or(msg.len());
            Some(Packet::Error {
                code,
                message: String::from_utf8_lossy(&msg[..end]).into_owned(),
            })
        }
        OACK => {
            let mut fields = rest.split(|&b| b == 0).map(|f| String::from_utf8_lossy(f));
            let mut opts = Vec::new();
            while let (Some(k), Some(v)) = (fields.next(), fields.next()) {
                if k.is_empty() {
                    break;
                }
                opts.push((k.to_ascii_lowercase(), v.into_owned()));
            }
            Some(Packet::Oack(opts))
        }
        _ => None,
    }
}

/// The block size each model asks for; None = no option (512-byte blocks).
pub fn blksize(kind: Kind) -> Option<usize> {
    match kind {
        // the 2022-10 EEPROMs ask for 1468 (TFTP_MAX_BLOCKSIZE); dnsmasq caps it at MTU-32
        Kind::Pi4 => Some(1468),
        Kind::Pi5 => Some(1468),
        _ => None,
    }
}

/// One step of a boot: a file to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Path relative to the prefix (or to the TFTP root when `at_root`).
    pub file: &'static str,
    /// Size probe: ask with tsize, abort after the OACK ("Early terminate").
    pub probe: bool,
    /// Fetched from the TFTP root whatever the prefix (Pi 3 ROM: bootcode.bin).
    pub at_root: bool,
    /// A miss is normal (self-update and recovery probes).
    pub optional: bool,
}

const fn get(file: &'static str) -> Step {
    Step {
        file,
        probe: false,
        at_root: false,
        optional: false,
    }
}

const fn optional(file: &'static str) -> Step {
    Step {
        file,
        probe: false,
        at_root: false,
        optional: true,
    }
}

/// The file that proves the prefixed directory is bootable, probed first.
pub fn prefix_probe(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Pi3 => Some("start.elf"),
        Kind::Pi4 => Some("start4.elf"),
        Kind::Pi5 => Some("config.txt"),
        _ => None,
    }
}

/// The files a model asks for after the prefix probe, in order.
pub fn boot_steps(kind: Kind) -> Vec<Step> {
    match kind {
        Kind::Pi4 => vec![
            get("start4.elf"),
            get("config.txt"),
            optional("pieeprom.sig"),
            optional("recovery.elf"),
            get("fixup4.dat"),
            get("bcm2711-rpi-4-b.dtb"),
            get("overlays/overlay_map.dtb"),
            get("cmdline.txt"),
            optional("armstub8-gic.bin"),
            get("kernel8.img"),
        ],
        Kind::Pi5 => vec![
            get("config.txt"),
            optional("pieeprom.sig"),
            get("bcm2712-rpi-5-b.dtb"),
            get("overlays/overlay_map.dtb"),
            get("cmdline.txt"),
            optional("armstub8-2712.bin"),
            get("kernel_2712.img"),
        ],
        Kind::Pi3 => vec![
            get("start.elf"),
            get("config.txt"),
            get("fixup.dat"),
            get("bcm2710-rpi-3-b.dtb"),
            get("overlays/overlay_map.dtb"),
            get("cmdline.txt"),
            get("kernel8.img"),
        ],
        _ => Vec::new(),
    }
}

/// The initramfs the firmware loads after the kernel when config.txt has auto_initramfs=1
/// (Raspberry Pi OS's default).
pub fn initramfs(kind: Kind) -> Option<Step> {
    match kind {
        Kind::Pi3 | Kind::Pi4 => Some(get("initramfs8")),
        Kind::Pi5 => Some(get("initramfs_2712")),
        _ => None,
    }
}

/// What the ROM fetches before any prefix is considered (Pi 3 only).
pub fn rom_steps(kind: Kind) -> Vec<Step> {
    match kind {
        Kind::Pi3 => vec![Step {
            file: "bootcode.bin",
            probe: false,
            at_root: true,
            optional: false,
        }],
        _ => Vec::new(),
    }
}

/// The kernel: a boot succeeded when this file arrived.
pub fn kernel(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Pi3 | Kind::Pi4 => Some("kernel8.img"),
        Kind::Pi5 => Some("kernel_2712.img"),
        _ => None,
    }
}

/// Join the prefix (with its trailing '/', or empty) and a file name.
pub fn full_path(prefix: &str, step: &Step) -> String {
    if step.at_root {
        step.file.to_string()
    } else {
        format!("{prefix}{}", step.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrq_layout() {
        let p = rrq(
            "38c128c0/start4.elf",
            &[("tsize", "0".into()), ("blksize", "1024".into())],
        );
        assert_eq!(
            p,
            b"\x00\x0138c128c0/start4.elf\x00octet\x00tsize\x000\x00blksize\x001024\x00"
        );
    }

    #[test]
    fn ack_and_error_layout() {
        assert_eq!(ack(258), [0, 4, 1, 2]);
        assert_eq!(
            error(0, "Early terminate"),
            b"\x00\x05\x00\x00Early terminate\x00"
        );
    }

    #[test]
    fn decodes_server_packets() {
        assert_eq!(
            decode(b"\x00\x03\x00\x07abc"),
            Some(Packet::Data {
                block: 7,
                data: b"abc".to_vec()
            })
        );
        assert_eq!(
            decode(b"\x00\x05\x00\x01file x not found\x00"),
            Some(Packet::Error {
                code: 1,
                message: "file x not found".into()
            })
        );
        assert_eq!(
            decode(b"\x00\x06tsize\x00123\x00BLKSIZE\x001024\x00"),
            Some(Packet::Oack(vec![
                ("tsize".into(), "123".into()),
                ("blksize".into(), "1024".into())
            ]))
        );
        assert_eq!(decode(b"\x00\x03\x00"), None);
        assert_eq!(decode(b""), None);
        assert_eq!(decode(b"\x00\x01x"), None);
        for n in 0..64u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(91)).collect();
            let _ = decode(&v);
        }
    }

    #[test]
    fn boot_orders_follow_the_real_logs() {
        let names = |k| {
            boot_steps(k)
                .into_iter()
                .filter(|s| !s.optional)
                .map(|s| s.file)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(Kind::Pi4),
            [
                "start4.elf",
                "config.txt",
                "fixup4.dat",
                "bcm2711-rpi-4-b.dtb",
                "overlays/overlay_map.dtb",
                "cmdline.txt",
                "kernel8.img"
            ]
        );
        assert_eq!(
            names(Kind::Pi5),
            [
                "config.txt",
                "bcm2712-rpi-5-b.dtb",
                "overlays/overlay_map.dtb",
                "cmdline.txt",
                "kernel_2712.img"
            ]
        );
        assert_eq!(names(Kind::Pi3)[0], "start.elf");
        assert_eq!(rom_steps(Kind::Pi3)[0].file, "bootcode.bin");
        assert_eq!(prefix_probe(Kind::Pi5), Some("config.txt"));
        assert_eq!(blksize(Kind::Pi5), Some(1468));
        assert!(boot_steps(Kind::Laptop).is_empty());
    }

    #[test]
    fn paths_join_prefix() {
        let s = get("cmdline.txt");
        assert_eq!(full_path("38c128c0/", &s), "38c128c0/cmdline.txt");
        assert_eq!(full_path("", &s), "cmdline.txt");
        assert_eq!(full_path("x/", &rom_steps(Kind::Pi3)[0]), "bootcode.bin");
    }
}
