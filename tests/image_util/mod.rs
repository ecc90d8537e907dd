//! Shared helpers of the image tests: build real images with the system's
//! mkfs tools, run rpinet, and compare trees entry by entry.
#![allow(dead_code)]

pub mod http;

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    unmount_under(&d);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Detach the overlays (shared roots) a run left mounted under `dir`: nothing is deleted
/// through a mount.
pub fn unmount_under(dir: &Path) {
    let table = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let under = format!("{}/", dir.display());
    for l in table.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        if f.len() > 2 && f[2] == "overlay" && f[1].starts_with(&under) {
            let _ = nix::mount::umount2(Path::new(f[1]), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

pub fn sh(cmd: &str) {
    let out = Command::new("bash").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The 4 KiB-block test image, built once per test binary.
pub fn shared_image() -> &'static Path {
    static IMG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    IMG.get_or_init(|| {
        let d = scratch("shared-4k");
        mkimage(&d, 4096, "");
        d
    })
}

/// Build an image with tests/image/mkimage.sh.
pub fn mkimage(out: &Path, bs: u32, feat: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/image/mkimage.sh");
    sh(&format!(
        "{} {} {bs} '{feat}'",
        script.display(),
        out.display()
    ));
}

pub const UUID: &str = "6a1f0000-1111-2222-3333-444455556666";

/// Lay out `root` like a router with the SSD mounted: lan 10.9.0.1/24, the
/// stock dhcp config, rpinet's main section, and an ext4 image with the
/// storage UUID named in proc/mounts as mounted at /mnt/rpinet.
pub fn router(root: &Path) {
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w(
        "etc/config/network",
        "\nconfig interface 'lan'\n\toption proto 'static'\n\toption ipaddr '10.9.0.1'\n\toption netmask '255.255.255.0'\n",
    );
    w(
        "etc/config/dhcp",
        "\nconfig dnsmasq\n\toption domain 'lan'\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n\toption start '100'\n",
    );
    w(
        "var/etc/dnsmasq.conf.cfg01411c",
        "# auto-generated config file from /etc/config/dhcp\nconf-dir=/tmp/dnsmasq.d\n",
    );
    w(
        "etc/config/rpinet",
        &format!(
            "\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_uuid '{UUID}'\n\toption storage_path '/mnt/rpinet'\n"
        ),
    );
    w(
        "proc/mounts",
        "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,relatime 0 0\n",
    );
    std::fs::create_dir_all(root.join("mnt/rpinet")).unwrap();
    let dev = root.join("dev/sda1");
    std::fs::create_dir_all(dev.parent().unwrap()).unwrap();
    std::fs::File::create(&dev)
        .unwrap()
        .set_len(2 << 20)
        .unwrap();
    sh(&format!("mkfs.ext4 -q -F -U {UUID} {}", dev.display()));
}

pub fn rpinet(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rpinet"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub size: u64,
    pub content: Option<Vec<u8>>,
    pub target: Option<Vec<u8>>,
    pub rdev: u64,
    pub xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Names of the other hard links of this inode (relative), sorted.
    pub links: Vec<String>,
}

fn xattrs(p: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 65536];
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    let mut out = BTreeMap::new();
    if n <= 0 {
        return out;
    }
    for k in names[..n as usize]
        .split(|&b| b == 0)
        .filter(|k| !k.is_empty())
    {
        let kc = CString::new(k).unwrap();
        let mut v = vec![0u8; 65536];
        let m = unsafe { libc::lgetxattr(c.as_ptr(), kc.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
        if m >= 0 {
            v.truncate(m as usize);
            out.insert(k.to_vec(), v);
        }
    }
    out
}

/// Every entry under `top` (relative path -> entry); "" is `top` itself.
pub fn walk(top: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut inodes: HashMap<u64, Vec<String>> = HashMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let p = top.join(&rel);
        let md = std::fs::symlink_metadata(&p).unwrap();
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else if ft.is_fifo() {
            "fifo"
        } else {
            "socket"
        };
        let key = rel.to_string_lossy().into_owned();
        if ft.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(rel.join(e.unwrap().file_name()));
            }
        } else {
            inodes.entry(md.ino()).or_default().push(key.clone());
        }
        out.insert(
            key,
            Entry {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime: md.mtime(),
                size: if ft.is_file() { md.size() } else { 0 },
                content: ft.is_file().then(|| std::fs::read(&p).unwrap()),
                target: ft.is_symlink().then(|| {
                    std::fs::read_link(&p)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec()
                }),
                rdev: if ft.is_char_device() || ft.is_block_device() {
                    md.rdev()
                } else {
                    0
                },
                xattrs: xattrs(&p),
                links: Vec::new(),
            },
        );
    }
    for names in inodes.values() {
        for n in names {
            let mut others: Vec<String> = names.iter().filter(|x| *x != n).cloned().collect();
            others.sort();
            if let Some(e) = out.get_mut(n) {
                e.links = others;
            }
        }
    }
    out
}

/// Compare two trees; `skip_mtime` lists entries whose mtime the test
/// setup changed after staging. Returns the differences.
pub fn diff(want: &Path, got: &Path, skip_mtime: &[&str], skip: &[&str]) -> Vec<String> {
    let a = walk(want);
    let b = walk(got);
    let mut out = Vec::new();
    for k in a.keys().chain(b.keys()) {
        if skip
            .iter()
            .any(|s| k == s || k.starts_with(&format!("{s}/")))
        {
            continue;
        }
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => {
                let mut y = y.clone();
                if skip_mtime
                    .iter()
                    .any(|s| k == s || (!s.is_empty() && k.starts_with(&format!("{s}/"))))
                {
                    y.mtime = x.mtime;
                }
                if *x != y {
                    let mut x = x.clone();
                    x.content = x.content.map(|c| c.len().to_le_bytes().to_vec());
                    y.content = y.content.map(|c| c.len().to_le_bytes().to_vec());
                    out.push(format!("{k}: want {x:?}\n got {y:?}"));
                }
            }
            (Some(_), None) => out.push(format!("{k}: missing")),
            (None, Some(_)) => out.push(format!("{k}: unexpected")),
            (None, None) => {}
        }
    }
    out.dedup();
    out
}
