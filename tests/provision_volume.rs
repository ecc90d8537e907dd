//! Container volumes and identity across reimages, on a real imported image: the volume
//! file is made sparse outside the node's root and exported to that node; the node side is
//! in the root; a reimage keeps the volume, the host keys and the machine-id (fresh ones
//! with --new-identity); pi-gen's SD-card resize is masked; `node remove --purge` deletes
//! the volume.

mod image_util;

use image_util::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `node provision lion --image os` with `extra` arguments.
fn provision(root: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["node", "provision", "lion", "--image", "os"];
    args.extend_from_slice(extra);
    rpinet(root, &args)
}

fn rd(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn volume_identity_and_sd_card_units() {
    let work = scratch("provision-volume");
    let root = work.join("root");
    router(&root);
    ok(rpinet(
        &root,
        &[
            "node",
            "add",
            "lion",
            "--serial",
            "38C128C0",
            "--mac",
            "dc:a6:32:79:26:df",
            "--volume-size",
            "1G",
        ],
    ));
    std::fs::copy(shared_image().join("disk.img.xz"), root.join("os.img.xz")).unwrap();
    ok(rpinet(&root, &["image", "import", "/os.img.xz"]));
    // The image as pi-gen leaves it: resize2fs_once enabled, golden host keys and id.
    let img = root.join("mnt/rpinet/images/os/root");
    for d in ["etc/init.d", "etc/rc3.d", "etc/ssh"] {
        std::fs::create_dir_all(img.join(d)).unwrap();
    }
    std::fs::write(img.join("etc/init.d/resize2fs_once"), "#!/bin/sh\n").unwrap();
    std::os::unix::fs::symlink(
        "../init.d/resize2fs_once",
        img.join("etc/rc3.d/S01resize2fs_once"),
    )
    .unwrap();
    std::fs::write(img.join("etc/ssh/ssh_host_ed25519_key"), "GOLDEN").unwrap();
    // Debian's ssh.service, disabled (as pi-gen leaves it): also named sshd.service.
    std::fs::create_dir_all(img.join("usr/lib/systemd/system")).unwrap();
    std::fs::write(
        img.join("usr/lib/systemd/system/ssh.service"),
        "[Service]\nExecStart=/usr/sbin/sshd -D\n\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n",
    )
    .unwrap();
    std::fs::write(
        img.join("etc/machine-id"),
        "00000000000000000000000000000001\n",
    )
    .unwrap();

    let s = root.join("mnt/rpinet");
    let node = s.join("nfs/lion");
    let first = ok(provision(&root, &[]));
    assert!(
        !first.contains("reimaged"),
        "a first provision is not a reimage: {first}"
    );
    assert!(first.contains("resize2fs_once masked"), "{first}");
    assert!(
        first.contains("container volume at /var/lib/rpinet-volume"),
        "{first}"
    );
    // The volume: sparse, outside the root, exported to the node alone.
    let vol = s.join("volumes/lion/disk.img");
    let md = std::fs::metadata(&vol).unwrap();
    assert_eq!(md.len(), 1 << 30);
    assert!(md.blocks() * 512 < 1 << 20, "sparse");
    let exports = rd(&root.join("etc/exports"));
    assert!(
        exports.contains("/mnt/rpinet/volumes/lion 10.9.0.99(rw,"),
        "{exports}"
    );
    // The node side.
    let conf = rd(&node.join("etc/rpinet/volume.conf"));
    assert!(
        conf.contains("TRANSPORT=nfs-loop\nSERVER='10.9.0.1'\nEXPORT='/mnt/rpinet/volumes/lion'\n"),
        "{conf}"
    );
    assert_eq!(
        std::fs::metadata(node.join("usr/local/sbin/rpinet-volume"))
            .unwrap()
            .mode()
            & 0o777,
        0o755
    );
    let unit = "etc/systemd/system/rpinet-volume.service";
    assert!(rd(&node.join(unit)).contains("ExecStart=/usr/local/sbin/rpinet-volume start"));
    for link in [
        "multi-user.target.wants",
        "k3s.service.requires",
        "docker.service.requires",
    ] {
        let l = std::fs::read_link(
            node.join(format!("etc/systemd/system/{link}/rpinet-volume.service")),
        )
        .unwrap();
        assert_eq!(l, Path::new("/etc/systemd/system/rpinet-volume.service"));
    }
    // pi-gen's resize: masked, its SysV link gone. The golden identity: gone.
    assert_eq!(
        std::fs::read_link(node.join("etc/systemd/system/resize2fs_once.service")).unwrap(),
        Path::new("/dev/null")
    );
    assert!(!node.join("etc/rc3.d/S01resize2fs_once").exists());
    assert!(!node.join("etc/ssh/ssh_host_ed25519_key").exists());
    assert_eq!(rd(&node.join("etc/machine-id")), "");
    // ssh enabled as `systemctl enable ssh` would: wanted, and its alias there before boot.
    for link in [
        "etc/systemd/system/multi-user.target.wants/ssh.service",
        "etc/systemd/system/sshd.service",
    ] {
        assert_eq!(
            std::fs::read_link(node.join(link)).unwrap(),
            Path::new("/usr/lib/systemd/system/ssh.service"),
            "{link}"
        );
    }
    // status and node show carry the volume.
    let st: serde_json::Value =
        serde_json::from_str(&ok(rpinet(&root, &["status", "--json"]))).unwrap();
    let v = &st["nodes"][0]["volume"];
    assert_eq!(v["size"], 1u64 << 30);
    assert_eq!(v["path"], "/mnt/rpinet/volumes/lion/disk.img");
    assert_eq!(v["mount"], "/var/lib/rpinet-volume");
    assert!(v["used"].is_u64());
    assert!(
        ok(rpinet(&root, &["node", "show", "lion"]))
            .contains("volume    1G at /var/lib/rpinet-volume")
    );

    // The node boots: it makes its own identity and writes to its volume.
    let id = "0123456789abcdef0123456789abcdef\n";
    std::fs::write(node.join("etc/machine-id"), id).unwrap();
    std::fs::write(node.join("etc/ssh/ssh_host_ed25519_key"), "NODE OWN").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&vol)
        .unwrap()
        .write_all_at(b"ext4 data", 4096)
        .unwrap();

    // A reimage that grows the volume keeps identity and data.
    let again = ok(provision(&root, &["--volume-size", "2G"]));
    assert!(
        again.contains("reimaged") && again.contains("identity kept (machine-id, 1 host keys)"),
        "{again}"
    );
    assert_eq!(rd(&node.join("etc/machine-id")), id);
    assert_eq!(rd(&node.join("etc/ssh/ssh_host_ed25519_key")), "NODE OWN");
    assert_eq!(std::fs::metadata(&vol).unwrap().len(), 2 << 30);
    let mut buf = [0u8; 9];
    std::fs::File::open(&vol)
        .unwrap()
        .read_exact_at(&mut buf, 4096)
        .unwrap();
    assert_eq!(&buf, b"ext4 data");
    assert!(rd(&root.join("etc/config/rpinet")).contains("option volume_size '2G'"));
    // Never shrunk: refused before anything changes.
    let out = provision(&root, &["--volume-size", "1G"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("volumes never shrink"));
    assert_eq!(rd(&node.join("etc/machine-id")), id);
    // --new-identity: fresh ones on the next boot.
    ok(provision(&root, &["--new-identity"]));
    assert_eq!(rd(&node.join("etc/machine-id")), "");
    assert!(!node.join("etc/ssh/ssh_host_ed25519_key").exists());
    // --purge deletes the volume with the trees.
    ok(rpinet(&root, &["node", "remove", "lion", "--purge"]));
    assert!(!s.join("volumes/lion").exists());
    assert!(!rd(&root.join("etc/exports")).contains("volumes"));
}

use std::os::unix::fs::FileExt;
