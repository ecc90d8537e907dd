//! The SSD guard: is the filesystem with `storage_uuid` mounted at `storage_path`? Or, with
//! storage on an NFS server, is `storage_server:storage_export` mounted there as nfs?
//!
//! Read from the mount table (/proc/mounts) and the device's own superblock — no udev, blkid
//! or block-mount needed. Under `--root DIR` the table is DIR/proc/mounts and a device named
//! there is read at DIR/<device>, so a filesystem image file stands in for the SSD, and a
//! line of the table for a mounted export.
//!
//! The export is mounted by rpinet itself ([`mount_server`], at `apply`): the one function
//! here that needs a kernel NFS client; what it decides (the options, what an errno means)
//! is pure and tested.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::config::{Config, NfsServer};
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

/// The mount(2) data of the export: NFSv3 over TCP, no lock daemon on the router, and a
/// soft mount, so a server that goes away makes reads fail instead of hanging dnsmasq (the
/// whole network's DHCP and DNS) on a TFTP file. `addr=` is required: the kernel does the
/// MOUNT protocol itself but resolves no names.
pub fn mount_data(ip: std::net::Ipv4Addr) -> String {
    format!("vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr={ip}")
}

/// The one line a failed mount of `server`'s export gives, by the errno the kernel
/// returned.
pub fn mount_fault(e: nix::errno::Errno, server: &NfsServer, path: &str) -> String {
    use nix::errno::Errno::*;
    let (host, export) = (&server.host, &server.export);
    match e {
        ETIMEDOUT | EHOSTUNREACH | ENETUNREACH | ECONNREFUSED | EHOSTDOWN => format!(
            "the NFS server {host} does not answer ({e}): is it on, reachable from the router and serving NFSv3?"
        ),
        ENOENT | EACCES | EPERM => format!(
            "the NFS server {host} does not export {export} to this router ({e}): add the lines `rpinet storage exports` prints to its exports"
        ),
        ENODEV => "the kernel has no NFS client: install kmod-fs-nfs and kmod-fs-nfs-v3".into(),
        EPROTONOSUPPORT => format!("the NFS server {host} does not serve NFSv3 ({e}): turn v3 on"),
        _ => format!("failed to mount {} at {path}: {e}", server.source()),
    }
}

/// The one line for an export that squashes root: the router writes roots whose files
/// belong to root, so its own writes must stay root's.
pub fn squash_fault(server: &NfsServer) -> String {
    format!(
        "the NFS server {} maps the router's root to another user on {}: export it with no_root_squash (appliances: Maproot user root)",
        server.host, server.export
    )
}

/// Mount storage_server:storage_export at storage_path when the config has storage on a
/// server, rpinet is enabled and nothing is mounted there yet (`apply`, so at boot too).
/// Only on the live system: under `--root` the mount table is a file. A mount whose writes
/// do not stay root's (root squashed) is taken back: nothing is written through it.
pub fn mount_server(root: &Root, config: &Config) -> crate::error::Result<()> {
    if !root.is_live() {
        return Ok(());
    }
    mount_export(root, config, |source, at, data| {
        let flags = nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV;
        nix::mount::mount(Some(source), at, Some("nfs"), flags, Some(data))
    })
}

/// What [`mount_server`] decides around its one mount(2) call, `mount(source, at, data)`.
fn mount_export(
    root: &Root,
    config: &Config,
    mount: impl FnOnce(&str, &Path, &str) -> nix::Result<()>,
) -> crate::error::Result<()> {
    let (Some(server), Some(path)) = (&config.server, &config.storage_path) else {
        return Ok(());
    };
    if !config.enabled || !matches!(check(root, config), Storage::NotMounted { .. }) {
        return Ok(());
    }
    let ip = match server.ip() {
        Some(ip) => ip,
        None => resolve(root, &server.host)?,
    };
    let at = root.path(path);
    std::fs::create_dir_all(&at)
        .map_err(|e| crate::error::Error::new(format!("failed to make {path}: {e}")))?;
    mount(&server.source(), &at, &mount_data(ip))
        .map_err(|e| crate::error::Error::new(mount_fault(e, server, path)))?;
    if !writes_stay_root(&at) {
        let _ = nix::mount::umount2(&at, nix::mount::MntFlags::MNT_DETACH);
        crate::bail!("{}", squash_fault(server));
    }
    Ok(())
}

/// Whether the kernel has filesystem `name` (`/proc/filesystems`); None when that file
/// cannot be read.
pub fn kernel_has(root: &Root, name: &str) -> Option<bool> {
    std::fs::read_to_string(root.path("/proc/filesystems"))
        .ok()
        .map(|t| t.lines().any(|l| l.split_whitespace().last() == Some(name)))
}

/// One thing a node's root needs from the filesystem under it, as doctor's probe tries it
/// on the storage (docs/SPEC.md §4: the `server_*` findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A file root makes and chowns to 0:0 stays root's (a squashing server makes it nobody's).
    RootOwner,
    /// A device node: mknod c 1 3 (/dev/null).
    Device,
    /// A file capability: the security.capability xattr (cap_net_raw).
    Capability,
    HardLink,
    Symlink,
    /// Renaming a file over one that is open (what every package upgrade does).
    RenameOpen,
}

/// What doctor's probe found: the needs the storage refused, with what happened, or why
/// it could not even make its directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub refused: Vec<(Need, String)>,
    pub failed: Option<String>,
}

/// Try, in a directory of its own under `storage` (removed afterwards), what a node's root
/// needs: doctor's look at an NFS server from the router.
pub fn probe(storage: &Path) -> Probe {
    use crate::system::fsys::Dir;
    let name = format!(".probe-doctor-{}", std::process::id());
    let name = name.as_bytes();
    let mut p = Probe::default();
    let dir = Dir::open_path(storage).and_then(|top| {
        let _ = top.remove_tree(name);
        top.mkdir(name, 0o700)?;
        Ok((top.open_dir(name)?, top))
    });
    match dir {
        Ok((d, top)) => {
            for need in [
                Need::RootOwner,
                Need::Device,
                Need::Capability,
                Need::HardLink,
                Need::Symlink,
                Need::RenameOpen,
            ] {
                if let Err(e) = try_need(&d, need) {
                    p.refused.push((need, e.to_string()));
                }
            }
            drop(d);
            let _ = top.remove_tree(name);
        }
        Err(e) => p.failed = Some(e.to_string()),
    }
    p
}

/// A capability set allowing cap_net_raw (vfs_cap_data revision 2, effective), as
/// `setcap cap_net_raw+ep` writes it for ping.
const NET_RAW: [u8; 20] = [
    1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn try_need(d: &crate::system::fsys::Dir, need: Need) -> std::io::Result<()> {
    use std::io::{Error, Read, Write};
    let differs = |what: &str| Err(Error::other(format!("{what} did not stay")));
    match need {
        Need::RootOwner => {
            d.create_file(b"f")?.write_all(b"old")?;
            d.chown(b"f", 0, 0)?;
            let uid = d.lstat(b"f")?.st_uid;
            if uid != 0 {
                return Err(Error::other(format!("the owner became uid {uid}")));
            }
        }
        Need::Device => {
            let dev = libc::makedev(1, 3);
            d.mknod(b"null", libc::S_IFCHR | 0o666, dev)?;
            let st = d.lstat(b"null")?;
            if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != dev {
                return differs("the device number");
            }
        }
        Need::Capability => d.set_xattr(b"f", b"security.capability", &NET_RAW)?,
        Need::HardLink => {
            d.link_from(d, b"f", b"f2")?;
            if d.lstat(b"f")?.st_nlink != 2 {
                return differs("the link count");
            }
        }
        Need::Symlink => d.symlink(b"f", b"s")?,
        Need::RenameOpen => {
            let mut open = d.open_file(b"f", libc::O_RDONLY)?;
            d.create_file(b"g")?.write_all(b"new")?;
            d.rename(b"g", d, b"f")?;
            let mut old = String::new();
            open.read_to_string(&mut old)?;
            if old != "old" {
                return differs("the open file's content");
            }
        }
    }
    Ok(())
}

/// The first IPv4 address of `host`, asked of the router's resolver — the first
/// `nameserver` of /etc/resolv.conf: on OpenWrt dnsmasq at 127.0.0.1, which answers from the
/// hosts file, its leases and upstream DNS — in one DNS query over UDP (musl's getaddrinfo
/// would cost the binary some 15 KB it has no room for).
fn resolve(root: &Root, host: &str) -> crate::error::Result<std::net::Ipv4Addr> {
    use std::net::{Ipv4Addr, UdpSocket};
    let conf = std::fs::read_to_string(root.path("/etc/resolv.conf")).unwrap_or_default();
    let ns = conf
        .lines()
        .find_map(|l| l.strip_prefix("nameserver")?.trim().parse().ok())
        .unwrap_or(Ipv4Addr::LOCALHOST);
    let id = std::process::id() as u16;
    let query = dns_query(id, host);
    let mut buf = [0u8; 512];
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).and_then(|s| {
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
        s.connect((ns, 53))?;
        Ok(s)
    });
    if let Ok(s) = sock {
        for _ in 0..3 {
            let got = s.send(&query).and_then(|_| s.recv(&mut buf));
            if let Some(ip) = got.ok().and_then(|n| dns_answer(id, &buf[..n])) {
                return Ok(ip);
            }
        }
    }
    crate::bail!(
        "cannot resolve storage_server '{host}' (asked {ns}): set it to the server's IPv4 address"
    )
}

/// A DNS query (RFC 1035 §4.1) for the A record of `host`, recursion desired.
pub fn dns_query(id: u16, host: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in host.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// The first A record of the reply `r` to query `id`; None for another id, an error code,
/// no such record or a message cut short.
pub fn dns_answer(id: u16, r: &[u8]) -> Option<std::net::Ipv4Addr> {
    let word = |at: usize| Some(u16::from_be_bytes([*r.get(at)?, *r.get(at + 1)?]));
    let flags = word(2)?; // a reply (QR), no error (RCODE 0)
    if word(0)? != id || flags & 0x8000 == 0 || flags & 0x000f != 0 {
        return None;
    }
    // a name: labels up to the root label, or up to a compression pointer
    let skip_name = |mut at: usize| -> Option<usize> {
        loop {
            match *r.get(at)? {
                0 => return Some(at + 1),
                l if l & 0xc0 == 0xc0 => return Some(at + 2),
                l => at += 1 + usize::from(l),
            }
        }
    };
    let mut at = 12;
    for _ in 0..word(4)? {
        at = skip_name(at)? + 4;
    }
    for _ in 0..word(6)? {
        at = skip_name(at)?;
        let len = usize::from(word(at + 8)?);
        let data = r.get(at + 10..at + 10 + len)?;
        if (word(at)?, word(at + 2)?, len) == (1, 1, 4) {
            return Some(std::net::Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        at += 10 + len;
    }
    None
}

/// Whether a file root makes in `dir` belongs to root (a squashing server makes it
/// nobody's, or refuses it).
fn writes_stay_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join(format!(".probe-owner-{}", std::process::id()));
    let owner = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|f| f.metadata())
        .map(|m| m.uid());
    let _ = std::fs::remove_file(&probe);
    owner.is_ok_and(|uid| uid == 0)
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
        assert!(writes_stay_root(&dir), "tests run as root");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "the probe file is gone"
        );
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

    /// On a local filesystem, as root, everything a root needs works and the probe leaves
    /// nothing behind.
    #[test]
    fn the_probe_passes_on_a_local_filesystem_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("rpinet-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(probe(&dir), Probe::default());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let gone = probe(&dir.join("missing"));
        assert!(gone.failed.is_some() && gone.refused.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A host name is asked of the router's resolver as one DNS query; its reply read for
    /// the first A record, past a CNAME and compressed names.
    #[test]
    fn a_host_name_is_one_dns_query_and_its_first_a_record() {
        let q = dns_query(0x1234, "nas.lan");
        assert_eq!(
            q,
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03nas\x03lan\x00\x00\x01\x00\x01"
        );
        // the reply: the question, then nas.lan CNAME tank.lan, then tank.lan A 192.168.1.10
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = 2;
        r.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x07\x04tank\xc0\x10");
        r.extend_from_slice(b"\xc0\x29\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\xa8\x01\x0a");
        assert_eq!(
            dns_answer(0x1234, &r),
            Some(std::net::Ipv4Addr::new(192, 168, 1, 10))
        );
        assert_eq!(dns_answer(0x1235, &r), None, "another query's reply");
        for cut in 0..r.len() {
            assert_eq!(dns_answer(0x1234, &r[..cut]), None, "cut at {cut}");
        }
        let mut nx = r.clone();
        nx[3] = 0x83; // NXDOMAIN
        assert_eq!(dns_answer(0x1234, &nx), None);
        assert_eq!(dns_answer(0x1234, &q), None, "a query is no reply");
    }

    /// Around the one mount(2) call (given here): mounted only when nothing is there, a
    /// refusal is its one line with nothing written, a squashing export is taken back.
    #[test]
    fn the_export_is_mounted_once_and_a_fault_is_one_line() {
        use nix::errno::Errno;
        let dir = std::env::temp_dir().join(format!("rpinet-mount-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        std::fs::write(dir.join("proc/mounts"), "/dev/root / squashfs ro 0 0\n").unwrap();
        let root = Root::under(&dir);
        let config = crate::config::from_package(
            &crate::config::uci::parse(
                "config rpinet 'main'\n option storage_server '10.9.0.20'\n option storage_export '/tank/rp'\n option storage_path '/mnt/rpinet'\n",
                "rpinet",
            )
            .unwrap(),
        )
        .unwrap();
        let at = dir.join("mnt/rpinet");
        let asked = std::cell::RefCell::new(Vec::new());
        let fails = |e: Errno| {
            let r = mount_export(&root, &config, |src, p, data| {
                asked
                    .borrow_mut()
                    .push(format!("{src} {} {data}", p.display()));
                Err(e)
            });
            r.unwrap_err().message().to_string()
        };
        assert!(fails(Errno::ETIMEDOUT).starts_with("the NFS server 10.9.0.20 does not answer"));
        assert!(fails(Errno::EACCES).contains("does not export /tank/rp to this router"));
        assert_eq!(
            asked.borrow()[0],
            format!(
                "10.9.0.20:/tank/rp {} vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr=10.9.0.20",
                at.display()
            )
        );
        assert_eq!(
            std::fs::read_dir(&at).unwrap().count(),
            0,
            "nothing written"
        );
        // mounted, and root's files stay root's (a local directory, as root)
        mount_export(&root, &config, |_, _, _| Ok(())).unwrap();
        assert_eq!(std::fs::read_dir(&at).unwrap().count(), 0);
        // a mount where root cannot make its own files is taken back, in one line
        let e = mount_export(&root, &config, |_, p, _| {
            std::fs::remove_dir(p).unwrap();
            std::fs::write(p, "").unwrap();
            Ok(())
        })
        .unwrap_err();
        assert!(e.message().contains(
            "maps the router's root to another user on /tank/rp: export it with no_root_squash"
        ));
        std::fs::remove_file(&at).unwrap();
        // already mounted, or rpinet disabled: no mount at all
        std::fs::write(
            dir.join("proc/mounts"),
            "10.9.0.20:/tank/rp /mnt/rpinet nfs rw,addr=10.9.0.20 0 0\n",
        )
        .unwrap();
        let never = |_: &str, _: &Path, _: &str| -> nix::Result<()> { panic!("mounted twice") };
        mount_export(&root, &config, never).unwrap();
        let off = Config {
            enabled: false,
            ..config.clone()
        };
        std::fs::write(dir.join("proc/mounts"), "").unwrap();
        mount_export(&root, &off, never).unwrap();
        // under --root the real call never runs
        mount_server(&root, &config).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_mount_is_one_line_by_its_errno() {
        use nix::errno::Errno;
        let s = NfsServer {
            host: "nas".into(),
            export: "/tank/rpinet".into(),
        };
        let says = |e| mount_fault(e, &s, "/mnt/rpinet");
        for e in [Errno::ETIMEDOUT, Errno::EHOSTUNREACH, Errno::ECONNREFUSED] {
            assert!(
                says(e).starts_with("the NFS server nas does not answer ("),
                "{}",
                says(e)
            );
        }
        for e in [Errno::ENOENT, Errno::EACCES] {
            assert!(
                says(e).starts_with(
                    "the NFS server nas does not export /tank/rpinet to this router ("
                ),
                "{}",
                says(e)
            );
        }
        assert!(says(Errno::ENODEV).contains("install kmod-fs-nfs and kmod-fs-nfs-v3"));
        assert!(says(Errno::EIO).starts_with("failed to mount nas:/tank/rpinet at /mnt/rpinet: "));
        assert!(squash_fault(&s).contains("no_root_squash"));
        assert_eq!(
            mount_data(std::net::Ipv4Addr::new(10, 0, 0, 2)),
            "vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr=10.0.0.2"
        );
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
