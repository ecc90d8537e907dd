//! A --root tree laid out like an OpenWrt router, for driving the real binary.

#![allow(dead_code)]

pub mod netlab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const UUID: &str = "6a1f0000-1111-2222-3333-444455556666";

pub struct Lab {
    dir: PathBuf,
}

impl Lab {
    /// A router tree: lan 10.9.0.1/24, stock dhcp config with conf-dir /tmp/dnsmasq.d in the
    /// generated instance config, and an ext4 image with UUID mounted at /mnt/rpinet.
    pub fn new(name: &str) -> Lab {
        let dir = std::env::temp_dir().join(format!("rpinet-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let lab = Lab { dir };
        lab.write("etc/config/network", "\nconfig interface 'lan'\n\toption proto 'static'\n\toption ipaddr '10.9.0.1'\n\toption netmask '255.255.255.0'\n");
        lab.write("etc/config/dhcp", "\nconfig dnsmasq\n\toption domain 'lan'\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n\toption start '100'\n");
        lab.write(
            "var/etc/dnsmasq.conf.cfg01411c",
            "# auto-generated config file from /etc/config/dhcp\nconf-dir=/tmp/dnsmasq.d\n",
        );
        lab.write(
            "etc/config/rpinet",
            &format!("\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_uuid '{UUID}'\n\toption storage_path '/mnt/rpinet'\n\toption match 'registered'\n"),
        );
        lab.write("etc/exports", "# /mnt\t*(ro,all_squash,insecure,sync)\n");
        lab.write(
            "proc/mounts",
            "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,relatime 0 0\n",
        );
        std::fs::create_dir_all(lab.path("mnt/rpinet")).unwrap();
        lab.mkfs("dev/sda1", UUID);
        lab
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// A small real ext4 filesystem with `uuid` at `rel`, standing in for the SSD.
    pub fn mkfs(&self, rel: &str, uuid: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::File::create(&p).unwrap().set_len(2 << 20).unwrap();
        let st = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-U", uuid])
            .arg(&p)
            .status()
            .expect("mkfs.ext4");
        assert!(st.success());
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_rpinet"))
            .arg("--root")
            .arg(&self.dir)
            .args(args)
            .env_remove("RPINET_LOG")
            .output()
            .expect("run rpinet")
    }

    /// Run; must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "rpinet {args:?} failed: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `node add NAME --serial SERIAL --mac MAC EXTRA...`; must succeed; returns stdout.
    pub fn node_add(&self, name: &str, serial: &str, mac: &str, extra: &[&str]) -> String {
        let mut args = vec!["node", "add", name, "--serial", serial, "--mac", mac];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    /// Run; must fail with nothing on stdout; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "rpinet {args:?} succeeded");
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // shared roots' overlays first: nothing is deleted through a mount
        let table = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let under = format!("{}/", self.dir.display());
        for l in table.lines() {
            let f: Vec<&str> = l.split(' ').collect();
            if f.len() > 2 && f[2] == "overlay" && f[1].starts_with(&under) {
                let _ = nix::mount::umount2(Path::new(f[1]), nix::mount::MntFlags::MNT_DETACH);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every file and directory under `dir` with its content and mtime: equal snapshots mean
/// nothing was written.
pub fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if meta.is_dir() {
                stack.push(p.clone());
                out.insert(format!("{rel}/"), (Vec::new(), meta.modified().unwrap()));
            } else {
                out.insert(rel, (std::fs::read(&p).unwrap(), meta.modified().unwrap()));
            }
        }
    }
    out
}
