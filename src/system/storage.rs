//! The SSD guard: is the filesystem with `storage_uuid` mounted at `storage_path`? Or, with
//! storage on an NFS server, is `storage_server:storage_export` mounted there as nfs?
//!
//! Read from the mount table (/proc/mounts) and the device's own superblock — no udev, blkid
//! or block-mount needed. Under `--root DIR` the table is DIR/proc/mounts and a device named
//! there is read at DIR/<device>, so a filesystem image file stands in for the SSD, and a
//! line of the table for a mounted export.
//!
//! The export is mounted by rpinet itself, at `apply` (`nfs_mount`, beside this module).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::config::Config;
use crate::system::root::Root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// The right filesystem is mounted: serve and export from `path`.
    Mounted {
        path: String,
        device: String,
    },
    NotConfigured,
    NotMounted {
        path: String,
    },
    WrongFilesystem {
        path: String,
        device: String,
        found: Option<String>,
    },
    /// Storage is on a server, and something else is mounted at `path`: `found` is its
    /// source and type.
    WrongExport {
        path: String,
        found: String,
    },
}

impl Storage {
    pub fn mounted_path(&self) -> Option<&str> {
        match self {
            Storage::Mounted { path, .. } => Some(path),
            _ => None,
        }
    }

    /// One line for status and logs.
    /// The SSD guard (docs/SPEC.md §2): the storage path, only when the configured filesystem is
    /// mounted there; nothing is imported or provisioned otherwise.
    pub fn require_mounted(&self, config: &Config) -> crate::error::Result<std::path::PathBuf> {
        match self.mounted_path() {
            Some(p) => Ok(std::path::PathBuf::from(p)),
            None => Err(crate::error::Error::new(format!(
                "{}: nothing is imported or provisioned until it is",
                self.describe(config)
            ))),
        }
    }

    /// Where the nodes reach the storage: the server's address and its export when storage
    /// is on a server (`mounted_addr`: the `addr=` of the mount, for a server named by host
    /// name), else the router's address and the storage path. None unless it is mounted.
    pub fn for_nodes(
        &self,
        config: &Config,
        router: std::net::Ipv4Addr,
        mounted_addr: Option<std::net::Ipv4Addr>,
    ) -> crate::error::Result<(std::net::Ipv4Addr, String)> {
        let path = self.require_mounted(config)?;
        let Some(server) = &config.server else {
            return Ok((router, path.to_string_lossy().into_owned()));
        };
        match server.ip().or(mounted_addr) {
            Some(ip) => Ok((ip, server.export.clone())),
            None => crate::bail!(
                "the mount table gives no address for {} (no addr= option): mount it again with `rpinet apply`",
                server.source()
            ),
        }
    }

    pub fn describe(&self, config: &Config) -> String {
        let uuid = config.storage_uuid.as_deref().unwrap_or("");
        if let (Some(server), Storage::Mounted { path, .. } | Storage::NotMounted { path }) =
            (&config.server, self)
        {
            let not = if self.mounted_path().is_some() {
                ""
            } else {
                "not "
            };
            return format!(
                "the NFS export {} is {not}mounted at {path}",
                server.source()
            );
        }
        match self {
            Storage::Mounted { path, device } => format!("SSD {uuid} ({device}) mounted at {path}"),
            Storage::NotConfigured => {
                "no storage configured: set storage_path and storage_uuid (or storage_server and storage_export)".into()
            }
            Storage::NotMounted { path } => {
                format!("the SSD with UUID {uuid} is not mounted at {path}")
            }
            Storage::WrongFilesystem {
                path,
                device,
                found,
            } => format!(
                "{device} mounted at {path} has UUID {}, not storage_uuid {uuid}",
                found.as_deref().unwrap_or("(unreadable)")
            ),
            Storage::WrongExport { path, found } => format!(
                "{found} is mounted at {path}, not the NFS export {}",
                config.server.as_ref().map(|s| s.source()).unwrap_or_default()
            ),
        }
    }
}

/// The guard's verdict as a warning, when storage is configured but not usable.
pub fn problem(storage: &Storage, config: &Config) -> Option<String> {
    match storage {
        Storage::Mounted { .. } | Storage::NotConfigured => None,
        other => Some(format!(
            "{}: nothing is served or exported until it is",
            other.describe(config)
        )),
    }
}

/// Check the guard against the live (or --root) system.
pub fn check(root: &Root, config: &Config) -> Storage {
    let table = std::fs::read_to_string(root.path("/proc/mounts")).unwrap_or_default();
    if let (Some(server), Some(path)) = (&config.server, &config.storage_path) {
        return export_guard(&table, path, &server.source());
    }
    let (Some(uuid), Some(path)) = (&config.storage_uuid, &config.storage_path) else {
        return Storage::NotConfigured;
    };
    let Some(device) = mounted_device(&table, path) else {
        return Storage::NotMounted { path: path.clone() };
    };
    let found = read_uuid(&root.path(&device));
    if found.as_deref() == Some(uuid.as_str()) {
        Storage::Mounted {
            path: path.clone(),
            device,
        }
    } else {
        Storage::WrongFilesystem {
            path: path.clone(),
            device,
            found,
        }
    }
}

/// The guard for storage on a server: the export `source` (`host:/export`) mounted at `path`
/// as nfs (NFSv3; v4 shows as nfs4), and nothing else.
pub fn export_guard(table: &str, path: &str, source: &str) -> Storage {
    match mount_at(table, path) {
        None => Storage::NotMounted { path: path.into() },
        Some((dev, fstype, _)) if dev == source && fstype == "nfs" => Storage::Mounted {
            path: path.into(),
            device: dev,
        },
        Some((dev, fstype, _)) => Storage::WrongExport {
            path: path.into(),
            found: format!("{dev} ({fstype})"),
        },
    }
}

/// The address of the server whose export is mounted at `path`: the kernel lists it as
/// `addr=` among an NFS mount's options (a host name was resolved when it was mounted).
pub fn server_addr(root: &Root, path: &str) -> Option<std::net::Ipv4Addr> {
    let table = std::fs::read_to_string(root.path("/proc/mounts")).ok()?;
    let (_, _, options) = mount_at(&table, path)?;
    options
        .split(',')
        .find_map(|o| o.strip_prefix("addr=")?.parse().ok())
}

/// The device mounted at `mount_point` (the last such line wins, as the kernel stacks them).
pub fn mounted_device(table: &str, mount_point: &str) -> Option<String> {
    mount_at(table, mount_point).map(|(dev, _, _)| dev)
}

/// What is mounted at `mount_point`: its source, type and options (the last such line).
fn mount_at(table: &str, mount_point: &str) -> Option<(String, String, String)> {
    table
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, target) = (unescape(f.next()?), unescape(f.next()?));
            (target == mount_point).then(|| {
                let fstype = f.next().unwrap_or("").to_string();
                (dev, fstype, f.next().unwrap_or("").to_string())
            })
        })
        .next_back()
}

/// Whether the kernel has filesystem `name` (`/proc/filesystems`); None when that file
/// cannot be read.
pub fn kernel_has(root: &Root, name: &str) -> Option<bool> {
    std::fs::read_to_string(root.path("/proc/filesystems"))
        .ok()
        .map(|t| t.lines().any(|l| l.split_whitespace().last() == Some(name)))
}

/// /proc/mounts escapes space, tab, newline and backslash as \ooo.
pub(crate) fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut k = 0;
    while k < b.len() {
        let oct = b
            .get(k + 1..k + 4)
            .filter(|d| b[k] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                out.push(
                    d.iter()
                        .fold(0u8, |acc, c| acc.wrapping_mul(8).wrapping_add(c - b'0')),
                );
                k += 4;
            }
            None => {
                out.push(b[k]);
                k += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The filesystem UUID from the superblock (ext2/3/4, btrfs, xfs), lowercase 8-4-4-4-12.
pub fn read_uuid(device: &Path) -> Option<String> {
    let mut f = File::open(device).ok()?;
    let mut read_at = |off: u64, len: usize| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        f.seek(SeekFrom::Start(off)).ok()?;
        f.read_exact(&mut buf).ok()?;
        Some(buf)
    };
    // ext2/3/4: superblock at 1024, magic 0xEF53 at +0x38, UUID at +0x68.
    if let Some(sb) = read_at(1024, 0x78) {
        if sb.get(0x38..0x3a) == Some(&[0x53, 0xef]) {
            return sb.get(0x68..0x78).map(format_uuid);
        }
    }
    // xfs: "XFSB" at 0, UUID at 32.
    if let Some(sb) = read_at(0, 48) {
        if sb.get(0..4) == Some(b"XFSB") {
            return sb.get(32..48).map(format_uuid);
        }
    }
    // btrfs: superblock at 64 KiB, fsid at +0x20, magic "_BHRfS_M" at +0x40.
    if let Some(sb) = read_at(0x10000, 0x48) {
        if sb.get(0x40..0x48) == Some(b"_BHRfS_M") {
            return sb.get(0x20..0x30).map(format_uuid);
        }
    }
    None
}

fn format_uuid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_device_at_a_mount_point() {
        let table = "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw 0 0\n\
                     /dev/sdb1 /mnt/with\\040space ext4 rw 0 0\n";
        assert_eq!(
            mounted_device(table, "/mnt/rpinet").as_deref(),
            Some("/dev/sda1")
        );
        assert_eq!(
            mounted_device(table, "/mnt/with space").as_deref(),
            Some("/dev/sdb1")
        );
        assert_eq!(mounted_device(table, "/mnt"), None);
        assert_eq!(mounted_device("garbage\n\n \\777 \\0", "/"), None);
    }

    #[test]
    fn the_export_is_mounted_when_the_table_says_so() {
        let src = "nas.lan:/mnt/tank/rpinet";
        let table = "/dev/root / squashfs ro 0 0\n\
                     nas.lan:/mnt/tank/rpinet /mnt/rpinet nfs rw,nosuid,nodev,vers=3,soft,proto=tcp,addr=192.168.1.10 0 0\n";
        assert_eq!(
            export_guard(table, "/mnt/rpinet", src),
            Storage::Mounted {
                path: "/mnt/rpinet".into(),
                device: src.into()
            }
        );
        assert_eq!(
            export_guard(table, "/mnt/other", src),
            Storage::NotMounted {
                path: "/mnt/other".into()
            }
        );
        // another export, a v4 mount of it, the SSD: none is the export
        for (line, found) in [
            (
                "nas.lan:/mnt/tank /mnt/rpinet nfs rw 0 0",
                "nas.lan:/mnt/tank (nfs)",
            ),
            (
                "nas.lan:/mnt/tank/rpinet /mnt/rpinet nfs4 rw 0 0",
                "nas.lan:/mnt/tank/rpinet (nfs4)",
            ),
            ("/dev/sda1 /mnt/rpinet ext4 rw 0 0", "/dev/sda1 (ext4)"),
        ] {
            let g = export_guard(&format!("{table}{line}\n"), "/mnt/rpinet", src);
            assert_eq!(
                g,
                Storage::WrongExport {
                    path: "/mnt/rpinet".into(),
                    found: found.into()
                }
            );
        }
        let dir = std::env::temp_dir().join(format!("rpinet-nfs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        std::fs::write(dir.join("proc/mounts"), table).unwrap();
        let root = Root::under(&dir);
        assert_eq!(
            server_addr(&root, "/mnt/rpinet"),
            Some(std::net::Ipv4Addr::new(192, 168, 1, 10))
        );
        assert_eq!(server_addr(&root, "/"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nodes_reach_the_server_or_the_router() {
        let load = |main: &str| {
            crate::config::from_package(
                &crate::config::uci::parse(
                    &format!("config rpinet 'main'\n option storage_path '/mnt/rpinet'\n{main}"),
                    "rpinet",
                )
                .unwrap(),
            )
            .unwrap()
        };
        let router = std::net::Ipv4Addr::new(10, 0, 0, 1);
        let nas = std::net::Ipv4Addr::new(10, 0, 0, 9);
        let mounted = |device: &str| Storage::Mounted {
            path: "/mnt/rpinet".into(),
            device: device.into(),
        };
        let ssd = load(" option storage_uuid 'abcd-1234'\n");
        assert_eq!(
            mounted("/dev/sda1").for_nodes(&ssd, router, None).unwrap(),
            (router, "/mnt/rpinet".to_string())
        );
        let by_name = load(" option storage_server 'nas'\n option storage_export '/tank/rp'\n");
        let m = mounted("nas:/tank/rp");
        assert_eq!(
            m.for_nodes(&by_name, router, Some(nas)).unwrap(),
            (nas, "/tank/rp".to_string())
        );
        assert!(
            m.for_nodes(&by_name, router, None)
                .unwrap_err()
                .message()
                .contains("no address for nas:/tank/rp")
        );
        let by_ip = load(" option storage_server '10.0.0.8'\n option storage_export '/tank/rp'\n");
        assert_eq!(
            m.for_nodes(&by_ip, router, Some(nas)).unwrap().0,
            std::net::Ipv4Addr::new(10, 0, 0, 8)
        );
        let absent = Storage::NotMounted {
            path: "/mnt/rpinet".into(),
        };
        assert!(absent.for_nodes(&by_ip, router, None).is_err());
    }

    #[test]
    fn reads_ext4_uuid_from_a_real_image() {
        let dir = std::env::temp_dir().join(format!("rpinet-sb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("sda1");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(4 << 20)
            .unwrap();
        let uuid = "6a1f0000-1111-2222-3333-444455556666";
        let ok = std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F", "-U", uuid])
            .arg(&img)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "mkfs.ext4 failed (scripts/setup-debian.sh installs e2fsprogs)"
        );
        assert_eq!(read_uuid(&img).as_deref(), Some(uuid));
        std::fs::write(&img, b"not a filesystem").unwrap();
        assert_eq!(read_uuid(&img), None);
        assert_eq!(read_uuid(&dir.join("missing")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
