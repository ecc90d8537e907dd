//! Shared roots on real overlays (docs/SPEC.md §2): a node's root is its image's root under
//! an overlay of its own changes, mounted by rpinet on the node's nfs dir. Provisioning costs
//! the SSD only the edits; each node sees only its own writes; the image's tree is never
//! changed (inode, size, mtime and content of every entry, before and after); apply mounts
//! what is missing; a reimage keeps the identity in a fresh upper; image delete is refused
//! while a shared root is over the image; remove --purge unmounts and deletes; a node goes
//! from copy to shared and back. Needs root (mount(2)), as every lab does.

mod image_util;

use image_util::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The lab root, its overlays unmounted when the test ends (whatever it ended with).
struct Lab(PathBuf);

impl Drop for Lab {
    fn drop(&mut self) {
        for at in overlays(&self.0) {
            let _ = nix::mount::umount2(Path::new(&at), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Host paths of the overlays mounted under `root`.
fn overlays(root: &Path) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let root = root.to_string_lossy();
    table
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[2] == "overlay" && f[1].starts_with(&*root)).then(|| f[1].to_string())
        })
        .collect()
}

fn ok(root: &Path, args: &[&str]) -> String {
    let out = rpinet(root, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn setup(name: &str) -> Lab {
    let work = scratch(name);
    let root = work.join("root");
    router(&root);
    let cfg = root.join("etc/config/rpinet");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\toption root_mode 'shared'\n");
    std::fs::write(&cfg, text).unwrap();
    // a 2 MiB ext4 SSD is not enough for the copies: the storage is the scratch disk
    for (n, serial, mac) in [
        ("lion", "11111111", "dc:a6:32:00:00:01"),
        ("tiger", "22222222", "dc:a6:32:00:00:02"),
    ] {
        ok(&root, &["node", "add", n, "--serial", serial, "--mac", mac]);
    }
    std::fs::copy(shared_image().join("disk.img.xz"), root.join("os.img.xz")).unwrap();
    ok(&root, &["image", "import", "/os.img.xz"]);
    Lab(root)
}

/// Every entry of a tree with what identifies its inode and content: a lower layer that
/// changed shows here.
fn fingerprint(top: &Path) -> Vec<(String, u64, i64, i64, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![top.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            let rel = e.path().strip_prefix(top).unwrap().display().to_string();
            out.push((rel, m.ino(), m.mtime(), m.ctime(), m.size()));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn du(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            total += m.blocks() * 512;
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}

#[test]
fn shared_roots_cost_only_their_changes_and_never_touch_the_image() {
    let lab = setup("shared-roots");
    let root = &lab.0;
    let s = root.join("mnt/rpinet");
    let lower = s.join("images/os/root");
    let before = fingerprint(&lower);
    for n in ["lion", "tiger"] {
        let out = ok(root, &["node", "provision", n, "--image", "os"]);
        assert!(out.contains("shared root over image 'os'"), "{out}");
    }
    let mounted = overlays(root);
    for n in ["lion", "tiger"] {
        let at = s.join("nfs").join(n).display().to_string();
        assert!(mounted.contains(&at), "{at} not in {mounted:?}");
    }
    // The node sees the image's root with the NFS-root edits, as a copy would be.
    let node = s.join("nfs/lion");
    let edited = [
        "etc/fstab",
        "etc/hostname",
        "etc/hosts",
        "etc/machine-id",
        "etc/systemd",
        "etc/hostname.hardlink",
        "usr/hostname.hardlink2",
        "usr/local",
    ];
    let d = diff(&lower, &node, &["etc", "usr", ""], &edited);
    assert!(d.is_empty(), "{}", d.join("\n"));
    let fstab = std::fs::read_to_string(node.join("etc/fstab")).unwrap();
    assert!(fstab.contains("10.9.0.1:/mnt/rpinet/tftp/11111111 /boot/firmware nfs"));
    // Its own changes only: the upper holds the edits, a small part of the image.
    let (upper, image) = (du(&s.join("roots/lion")), du(&lower));
    assert!(
        upper * 4 < image,
        "upper {upper} B of an image of {image} B"
    );
    // What one node writes, only it sees; the image never.
    std::fs::write(node.join("etc/mine"), "lion's").unwrap();
    std::fs::write(node.join("etc/os-release"), "changed by lion").unwrap();
    assert!(!s.join("nfs/tiger/etc/mine").exists());
    assert_ne!(
        std::fs::read_to_string(s.join("nfs/tiger/etc/os-release")).unwrap(),
        "changed by lion"
    );
    assert!(!lower.join("etc/mine").exists());
    // Exported with an fsid of its own (an overlay has no device for nfsd to name).
    let exports = std::fs::read_to_string(root.join("etc/exports")).unwrap();
    let line = exports
        .lines()
        .find(|l| l.starts_with("/mnt/rpinet/nfs/lion "))
        .unwrap();
    assert!(line.contains(",fsid="), "{line}");
    // Status says so.
    let st: serde_json::Value = serde_json::from_str(&ok(root, &["status", "--json"])).unwrap();
    let lion = st["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "lion")
        .unwrap();
    assert_eq!(lion["root_mode"], "shared");
    assert_eq!(lion["kept"], serde_json::Value::Null);

    // A router reboot (or a crash) unmounts it: apply mounts it again, writes kept.
    for at in overlays(root) {
        nix::mount::umount2(Path::new(&at), nix::mount::MntFlags::empty()).unwrap();
    }
    let out = rpinet(root, &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("shared_root_unmounted") || text.contains("is not mounted on"),
        "{text}"
    );
    ok(root, &["apply"]);
    assert_eq!(overlays(root).len(), 2);
    assert_eq!(
        std::fs::read_to_string(node.join("etc/mine")).unwrap(),
        "lion's"
    );

    // A reimage: a fresh upper (the node's writes gone), its identity kept.
    let id = std::fs::read_to_string(node.join("etc/machine-id")).unwrap();
    std::fs::write(
        node.join("etc/machine-id"),
        "0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    ok(root, &["node", "provision", "lion", "--image", "os"]);
    assert!(!node.join("etc/mine").exists());
    assert_eq!(
        std::fs::read_to_string(node.join("etc/machine-id")).unwrap(),
        "0123456789abcdef0123456789abcdef\n",
        "machine-id not kept (was {id:?})"
    );
    assert_eq!(overlays(root).len(), 2, "the old overlay is unmounted");

    // Back to a copy, then shared again.
    let cfg = root.join("etc/config/rpinet");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("root_mode 'shared'", "root_mode 'copy'")).unwrap();
    ok(root, &["node", "provision", "tiger", "--image", "os"]);
    assert!(!s.join("roots/tiger").exists());
    assert_eq!(overlays(root).len(), 1);
    assert!(s.join("nfs/tiger/etc/fstab").is_file());
    std::fs::write(&cfg, text).unwrap();
    ok(root, &["node", "provision", "tiger", "--image", "os"]);
    assert_eq!(overlays(root).len(), 2);

    // remove --purge: unmounted, its changes deleted.
    ok(root, &["node", "remove", "tiger", "--purge"]);
    assert_eq!(overlays(root).len(), 1);
    assert!(!s.join("roots/tiger").exists() && !s.join("nfs/tiger").exists());
    // remove without --purge: unmounted, its changes kept for when it comes back.
    ok(root, &["node", "remove", "lion"]);
    assert!(overlays(root).is_empty());
    assert!(s.join("roots/lion/upper").is_dir());
    // The image cannot go while a shared root is over it, even that of a removed node.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rpinet"))
        .args([
            "--root",
            &root.display().to_string(),
            "call",
            "image_delete",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"{\"name\":\"os\"}").unwrap();
    let out = child.wait_with_output().unwrap();
    let reply = String::from_utf8_lossy(&out.stdout);
    assert!(reply.contains("shared root"), "{reply}");

    ok(
        root,
        &[
            "node",
            "add",
            "lion",
            "--serial",
            "11111111",
            "--mac",
            "dc:a6:32:00:00:01",
        ],
    );
    assert_eq!(overlays(root).len(), 1);
    assert!(node.join("etc/fstab").is_file());

    // Through all of it the image's tree did not change.
    assert_eq!(before, fingerprint(&lower));
}
