//! SSH keys at provision: `list ssh_key` in the main section and
//! in a node's, installed as the first user's authorized_keys in a
//! bookworm-style root and in the cloud-init user-data of a trixie one; a
//! key that is not one is refused with the section named, nothing written.

use crate::image_util::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const MAIN_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyEX1c94vp3DjRjwFTDYovAwueRgKlBt991Kgff39ha lion@lab";
const NODE_KEY: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBD5gTgBLbwSlbALr4L2NKuUsJDH/tWioUrO7pcNkNI1/K1HfM9E5OHRNZyzRobHPvdLO/JavBe35mcB/dYWcKdc= owl";

fn setup(name: &str) -> PathBuf {
    let work = scratch(name);
    let root = work.join("root");
    router(&root);
    let out = rpinet(
        &root,
        &[
            "node",
            "add",
            "calm_owl",
            "--serial",
            "12345678",
            "--mac",
            "dc:a6:32:00:00:01",
        ],
    );
    crate::assert_ok(&out);
    std::fs::copy(shared_image().join("disk.img.xz"), root.join("os.img.xz")).unwrap();
    let out = rpinet(&root, &["image", "import", "/os.img.xz"]);
    crate::assert_ok(&out);
    let cfg = root.join("etc/config/rpinet");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text
        .replace(
            "config rpinet 'main'\n",
            &format!("config rpinet 'main'\n\tlist ssh_key '{MAIN_KEY}'\n"),
        )
        .replace(
            "config node 'calm_owl'\n",
            &format!(
                "config node 'calm_owl'\n\tlist ssh_key '{NODE_KEY}'\n\tlist ssh_key '{MAIN_KEY}'\n"
            ),
        );
    std::fs::write(&cfg, text).unwrap();
    // the image's first user, as pi-gen makes it
    std::fs::write(
        root.join("mnt/rpinet/images/os/root/etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n",
    )
    .unwrap();
    root
}

fn provision(root: &Path, extra: &[&str]) {
    let mut args = vec!["node", "provision", "calm_owl", "--image", "os"];
    args.extend_from_slice(extra);
    let out = rpinet(root, &args);
    crate::assert_ok(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 ssh keys"), "{said}");
}

#[test]
fn bookworm_root_gets_the_first_users_authorized_keys() {
    let root = setup("keys-bookworm");
    provision(&root, &[]);
    let ssh = root.join("mnt/rpinet/nfs/calm_owl/home/pi/.ssh");
    let keys = std::fs::read_to_string(ssh.join("authorized_keys")).unwrap();
    let lines: Vec<&str> = keys.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines, [MAIN_KEY, NODE_KEY], "each key once, main first");
    let d = std::fs::metadata(&ssh).unwrap();
    let f = std::fs::metadata(ssh.join("authorized_keys")).unwrap();
    assert_eq!((d.uid(), d.gid(), d.mode() & 0o7777), (1000, 1000, 0o700));
    assert_eq!((f.uid(), f.gid(), f.mode() & 0o7777), (1000, 1000, 0o600));
    // the image itself is untouched
    assert!(!root.join("mnt/rpinet/images/os/root/home/pi/.ssh").exists());
}

#[test]
fn cloud_init_root_gets_the_keys_in_user_data() {
    let root = setup("keys-trixie");
    let img = root.join("mnt/rpinet/images/os/root");
    std::fs::write(img.join("etc/os-release"), "VERSION_CODENAME=trixie\n").unwrap();
    std::fs::create_dir_all(img.join("etc/cloud")).unwrap();
    provision(&root, &["--user", "admin", "--password-hash", "$6$s$h"]);
    let seed = root.join("mnt/rpinet/nfs/calm_owl/var/lib/cloud/seed/nocloud/user-data");
    let boot = root.join("mnt/rpinet/tftp/12345678/user-data");
    for f in [&seed, &boot] {
        let ud = std::fs::read_to_string(f).unwrap();
        assert!(
            ud.contains(&format!(
                "  - name: \"admin\"\n    ssh_authorized_keys:\n      - \"{MAIN_KEY}\"\n      - \"{NODE_KEY}\"\n"
            )),
            "{ud}"
        );
    }
    // without a first user the keys are the default user's
    provision(&root, &[]);
    let ud = std::fs::read_to_string(&seed).unwrap();
    assert!(
        ud.contains(&format!(
            "\nssh_authorized_keys:\n  - \"{MAIN_KEY}\"\n  - \"{NODE_KEY}\"\n"
        )),
        "{ud}"
    );
    assert!(!root.join("mnt/rpinet/nfs/calm_owl/home/pi/.ssh").exists());
}

#[test]
fn a_bad_key_is_refused_with_its_section() {
    let root = setup("keys-bad");
    let cfg = root.join("etc/config/rpinet");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let bad = text.replace(NODE_KEY, "ssh-dss AAAAB3NzaC1kc3MAAACBAP nobody");
    std::fs::write(&cfg, &bad).unwrap();
    let out = rpinet(&root, &["node", "provision", "calm_owl", "--image", "os"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("node 'calm_owl': ssh_key 1:"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!root.join("mnt/rpinet/nfs/calm_owl/etc").exists());
}
