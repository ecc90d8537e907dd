//! The SSD guard: is the filesystem with `storage_uuid` mounted at `storage_path`?
//!
//! Read from the mount table (/proc/mounts) and the device's own superblock — no udev, blkid
//! or block-mount needed. Under `--root DIR` the table is DIR/proc/mounts and a device named
//! there is read at DIR/<device>, so a filesystem image file stands in for the SSD.

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

    pub fn describe(&self, config: &Config) -> String {
        let uuid = config.storage_uuid.as_deref().unwrap_or("");
        match self {
            Storage::Mounted { path, device } => format!("SSD {uuid} ({device}) mounted at {path}"),
            Storage::NotConfigured => {
                "no storage configured: set storage_uuid and storage_path".into()
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
    let (Some(uuid), Some(path)) = (&config.storage_uuid, &config.storage_path) else {
        return Storage::NotConfigured;
    };
    let table = std::fs::read_to_string(root.path("/proc/mounts")).unwrap_or_default();
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

/// The device mounted at `mount_point` (the last such line wins, as the kernel stacks them).
pub fn mounted_device(table: &str, mount_point: &str) -> Option<String> {
    table
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((unescape(f.next()?), unescape(f.next()?)))
        })
        .filter(|(_, target)| target == mount_point)
        .map(|(dev, _)| dev)
        .next_back()
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
