//! `rpinet node provision` of private copies (root_mode 'copy') on a real imported image:
//! the node's trees equal the image's except for the NFS-root edits, reprovisioning swaps
//! whole trees, and nothing is hard-linked into the image.

mod image_util;

use image_util::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn setup(name: &str) -> PathBuf {
    let work = scratch(name);
    let root = work.join("root");
    router(&root);
    // private copies (tests/shared_roots.rs has the shared ones)
    let cfg = root.join("etc/config/rpinet");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}\toption root_mode 'copy'\n")).unwrap();
    for args in [
        &[
            "node",
            "add",
            "running_lion",
            "--serial",
            "38C128C0",
            "--mac",
            "dc:a6:32:79:26:df",
            "--model",
            "pi3",
        ][..],
        &[
            "node",
            "add",
            "calm_owl",
            "--serial",
            "12345678",
            "--mac",
            "dc:a6:32:00:00:01",
            "--boot-id",
            "mac",
        ],
    ] {
        let out = rpinet(&root, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::copy(shared_image().join("disk.img.xz"), root.join("os.img.xz")).unwrap();
    let out = rpinet(&root, &["image", "import", "/os.img.xz"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root
}

fn provision(root: &Path, node: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["node", "provision", node, "--image", "os"];
    args.extend_from_slice(extra);
    rpinet(root, &args)
}

#[test]
fn provision_copies_everything_and_makes_an_nfs_root() {
    let root = setup("provision");
    let out = provision(
        &root,
        "running_lion",
        &[
            "--user",
            "pi",
            "--password-hash",
            "$6$salt$0123456789abcdef",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = root.join("mnt/rpinet");
    let node = s.join("nfs/running_lion");
    let boot = s.join("tftp/38c128c0");
    // Everything but the edited files is as in the image.
    let edited = [
        "etc/fstab",
        "etc/hostname",
        "etc/hosts",
        "etc/machine-id",
        "etc/systemd",
        // etc/hostname was replaced, so its old hard links form their own pair
        "etc/hostname.hardlink",
        "usr/hostname.hardlink2",
        // what rpinet adds: the boot report's writer (its units are under etc/systemd)
        "usr/local",
    ];
    // usr gained usr/local: its mtime is the node's own
    let d = diff(&s.join("images/os/root"), &node, &["etc", "usr"], &edited);
    assert!(d.is_empty(), "{}", d.join("\n"));
    let d = diff(
        &s.join("images/os/boot"),
        &boot,
        &[""],
        &["cmdline.txt", "ssh", "userconf.txt"],
    );
    assert!(d.is_empty(), "{}", d.join("\n"));
    // Never a hard link into the image; links inside the tree kept.
    let a = std::fs::metadata(node.join("etc/hostname.hardlink")).unwrap();
    let i = std::fs::metadata(s.join("images/os/root/etc/hostname.hardlink")).unwrap();
    assert_ne!(a.ino(), i.ino());
    let b = std::fs::metadata(node.join("usr/hostname.hardlink2")).unwrap();
    assert_eq!(a.ino(), b.ino());
    let sparse = std::fs::metadata(node.join("sparse")).unwrap();
    assert!(sparse.blocks() * 512 < 1 << 20);
    // The edits.
    let rd = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        rd(&boot.join("cmdline.txt")),
        "console=serial0,115200 console=tty1 quiet root=/dev/nfs nfsroot=10.9.0.1:/mnt/rpinet/nfs/running_lion,vers=3 rw ip=dhcp rootwait\n"
    );
    assert_eq!(
        rd(&node.join("etc/fstab")),
        "proc /proc proc defaults 0 0\n10.9.0.1:/mnt/rpinet/tftp/38c128c0 /boot/firmware nfs defaults,vers=3 0 0\n"
    );
    assert_eq!(rd(&node.join("etc/hostname")), "running-lion\n");
    assert_eq!(
        rd(&node.join("etc/hosts")),
        "127.0.0.1\tlocalhost\n127.0.1.1\trunning-lion\n"
    );
    assert_eq!(rd(&node.join("etc/machine-id")), "");
    assert_eq!(rd(&boot.join("ssh")), "");
    assert_eq!(
        rd(&boot.join("userconf.txt")),
        "pi:$6$salt$0123456789abcdef\n"
    );
    assert_eq!(
        std::fs::metadata(boot.join("userconf.txt")).unwrap().mode() & 0o777,
        0o600
    );
    // The node's image option records what it runs.
    let config = std::fs::read_to_string(root.join("etc/config/rpinet")).unwrap();
    let sec = &config[config.find("config node 'running_lion'").unwrap()..];
    let sec = &sec[..sec[1..].find("config ").map(|i| i + 1).unwrap_or(sec.len())];
    assert!(sec.contains("\toption image 'os'\n"), "{config}");
    // Pi 3: bootcode.bin at the TFTP root.
    assert_eq!(
        std::fs::read(s.join("tftp/bootcode.bin")).unwrap(),
        std::fs::read(boot.join("bootcode.bin")).unwrap()
    );
    // Reprovisioning swaps whole trees: a file made since is gone, nothing staged is left.
    std::fs::write(node.join("etc/made-since"), "x").unwrap();
    let out = provision(&root, "running_lion", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("reimaged"));
    assert!(!node.join("etc/made-since").exists());
    assert!(!boot.join("userconf.txt").exists());
    for dir in ["nfs", "tftp"] {
        let names: Vec<String> = std::fs::read_dir(s.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }
}

#[test]
fn trixie_gets_nocloud_and_bad_input_changes_nothing() {
    let root = setup("provision-trixie");
    let img = root.join("mnt/rpinet/images/os/root");
    std::fs::write(img.join("etc/os-release"), "VERSION_CODENAME=trixie\n").unwrap();
    std::fs::create_dir_all(img.join("etc/cloud")).unwrap();
    // A plain password is refused before anything is written.
    let out = provision(
        &root,
        "calm_owl",
        &["--user", "pi", "--password-hash", "raspberry"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("crypt(3) hash"));
    assert!(!root.join("mnt/rpinet/nfs/calm_owl/etc").exists());
    let out = provision(
        &root,
        "calm_owl",
        &["--user", "pi", "--password-hash", "$6$s$h"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let boot = root.join("mnt/rpinet/tftp/dc-a6-32-00-00-01");
    let node = root.join("mnt/rpinet/nfs/calm_owl");
    let ud = std::fs::read_to_string(boot.join("user-data")).unwrap();
    assert!(
        ud.starts_with("#cloud-config\nhostname: \"calm-owl\"\n"),
        "{ud}"
    );
    assert!(ud.contains("passwd: \"$6$s$h\""));
    assert_eq!(
        std::fs::read_to_string(node.join("var/lib/cloud/seed/nocloud/meta-data")).unwrap(),
        "instance-id: rpinet-calm_owl\nlocal-hostname: calm-owl\n"
    );
    assert!(!boot.join("userconf.txt").exists());
    // Missing image: clear error.
    let out = rpinet(&root, &["node", "provision", "calm_owl", "--image", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'nope' is not imported"));
}

/// Storage on an NFS server (the lab's mount table holds the export, with the address the
/// kernel resolved): the node's cmdline.txt, fstab and volume name the server and paths
/// under its export, not the router and storage_path.
#[test]
fn a_node_on_an_nfs_server_mounts_its_trees_from_the_server() {
    let work = scratch("nfs-server");
    let root = work.join("root");
    router(&root);
    std::fs::write(
        root.join("etc/config/rpinet"),
        "\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_server 'nas'\n\
         \toption storage_export '/tank/rp'\n\toption storage_path '/mnt/rpinet'\n",
    )
    .unwrap();
    std::fs::write(
        root.join("proc/mounts"),
        "/dev/root / squashfs ro 0 0\nnas:/tank/rp /mnt/rpinet nfs rw,vers=3,addr=10.9.0.20 0 0\n",
    )
    .unwrap();
    let ok = |args: &[&str]| {
        let out = rpinet(&root, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&[
        "node",
        "add",
        "lion",
        "--serial",
        "38c128c0",
        "--mac",
        "dc:a6:32:79:26:df",
        "--ip",
        "10.9.0.50",
        "--volume-size",
        "1G",
    ]);
    std::fs::copy(shared_image().join("disk.img.xz"), root.join("os.img.xz")).unwrap();
    ok(&["image", "import", "/os.img.xz", "--name", "os"]);
    ok(&["node", "provision", "lion", "--image", "os"]);
    let read = |rel: &str| {
        std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let cmdline = read("mnt/rpinet/tftp/38c128c0/cmdline.txt");
    assert!(
        cmdline.contains(" nfsroot=10.9.0.20:/tank/rp/nfs/lion,vers=3 "),
        "{cmdline}"
    );
    let fstab = read("mnt/rpinet/nfs/lion/etc/fstab");
    assert!(
        fstab.contains("10.9.0.20:/tank/rp/tftp/38c128c0 /boot/firmware nfs "),
        "{fstab}"
    );
    let volume = read("mnt/rpinet/nfs/lion/etc/rpinet/volume.conf");
    assert!(
        volume.contains("SERVER='10.9.0.20'\nEXPORT='/tank/rp/volumes/lion'\n"),
        "{volume}"
    );
    // the server exports the trees: the router's /etc/exports gets nothing
    let exports = std::fs::read_to_string(root.join("etc/exports")).unwrap_or_default();
    assert!(!exports.contains("/mnt/rpinet"), "{exports}");
}
