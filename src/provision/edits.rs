//! Pure edits of the files that make an imported image boot as an NFS root
//! (docs/facts.md §2.2): text in, text out, tested exhaustively.

use std::net::Ipv4Addr;

use crate::bail;
use crate::error::Result;
use crate::render::yaml::{self, Yaml};

/// Lines without their '\n' (a '\r' before it stays part of the line, so
/// an edit given its own output changes nothing).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
}

/// Tokens that only make sense on an SD card, or that we set ourselves.
fn dropped(tok: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "root=",
        "rootfstype=",
        "fsck.repair=",
        "init=",
        "systemd.run",
        "nfsroot=",
        "ip=",
    ];
    PREFIXES.iter().any(|p| tok.starts_with(p))
        || matches!(tok, "resize" | "rw" | "ro" | "rootwait")
}

/// cmdline.txt for an NFS root: SD-card root, fsck, firstboot/resize and
/// systemd.run* removed; console= and the rest kept in order; then
/// `root=/dev/nfs nfsroot=<server>:<path>,vers=3 rw ip=dhcp rootwait`
/// (bookworm's initramfs nfsmount knows only NFS v2/v3 and no proto=).
pub fn cmdline(old: &str, server: Ipv4Addr, nfs_path: &str) -> String {
    let mut out: Vec<String> = old
        .split_whitespace()
        .filter(|t| !dropped(t))
        .map(str::to_string)
        .collect();
    out.push("root=/dev/nfs".into());
    out.push(format!("nfsroot={server}:{nfs_path},vers=3"));
    out.extend(["rw", "ip=dhcp", "rootwait"].map(String::from));
    format!("{}\n", out.join(" "))
}

/// etc/fstab: the SD card's / and /boot/firmware (or /boot) lines dropped,
/// the node's TFTP directory mounted at /boot/firmware over NFS v3 so kernel
/// updates land where the Pi boots from. Comments and other lines kept.
pub fn fstab(old: &str, server: Ipv4Addr, tftp_path: &str) -> String {
    let mut out = String::new();
    for line in lines(old) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let is_entry = f.len() >= 2 && !f[0].starts_with('#');
        if is_entry && matches!(f[1], "/" | "/boot" | "/boot/firmware" | "/boot/firmware/") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        "{server}:{tftp_path} /boot/firmware nfs defaults,vers=3 0 0\n"
    ));
    out
}

/// etc/hosts with the 127.0.1.1 line naming `hostname` (added when absent).
pub fn hosts(old: &str, hostname: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in lines(old) {
        if line.split_whitespace().next() == Some("127.0.1.1") {
            if !done {
                out.push_str(&format!("127.0.1.1\t{hostname}\n"));
                done = true;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !done {
        out.push_str(&format!("127.0.1.1\t{hostname}\n"));
    }
    out
}

/// etc/dphys-swapfile with no swap file (a swap file on NFS is a bad idea).
pub fn dphys_swapfile(old: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in lines(old) {
        if line.trim_start().starts_with("CONF_SWAPSIZE=") {
            if !done {
                out.push_str("CONF_SWAPSIZE=0\n");
                done = true;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !done {
        out.push_str("CONF_SWAPSIZE=0\n");
    }
    out
}

/// A Linux user name as Raspberry Pi OS accepts it.
pub fn check_user(user: &str) -> Result<()> {
    let ok = !user.is_empty()
        && user.len() <= 32
        && user
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && user
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        bail!(
            "user '{}' must match [a-z_][a-z0-9_-]{{0,31}}",
            user.escape_debug()
        );
    }
    Ok(())
}

/// A crypt(3) hash such as `openssl passwd -6` prints — never a plain password.
pub fn check_hash(hash: &str) -> Result<()> {
    let parts: Vec<&str> = hash.split('$').collect();
    let ok = hash.starts_with('$')
        && parts.len() >= 4
        && !parts[1].is_empty()
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'$' | b'.' | b'/' | b'=' | b','));
    if !ok {
        bail!(
            "--password-hash must be a crypt(3) hash like `openssl passwd -6` prints ($6$salt$hash)"
        );
    }
    Ok(())
}

/// userconf.txt: `user:hash`, read by userconfig.service on first boot.
pub fn userconf(user: &str, hash: &str) -> Result<String> {
    check_user(user)?;
    check_hash(hash)?;
    Ok(format!("{user}:{hash}\n"))
}

/// cloud-init NoCloud meta-data (trixie images).
pub fn nocloud_meta_data(instance: &str, hostname: &str) -> String {
    format!("instance-id: {instance}\nlocal-hostname: {hostname}\n")
}

/// cloud-init NoCloud user-data: hostname, SSH on, optional first user, SSH keys (the first
/// user's when there is one, else the image's default user's). The host keys are never
/// deleted by cloud-init (`ssh_deletekeys: false`): the image's are already gone, and a
/// reimaged node's own are carried over ([`super::identity`]); missing ones are made. No
/// partition or root filesystem to grow on an NFS root (cloud-init's resize2fs_once).
pub fn nocloud_user_data(
    hostname: &str,
    user: Option<(&str, &str)>,
    keys: &[String],
) -> Result<String> {
    let keys_value = || Yaml::Seq(keys.iter().map(Yaml::str).collect());
    let mut doc = vec![
        ("hostname", Yaml::str(hostname)),
        ("manage_etc_hosts", Yaml::Bool(true)),
        ("ssh_pwauth", Yaml::Bool(true)),
        ("ssh_deletekeys", Yaml::Bool(false)),
        ("resize_rootfs", Yaml::Bool(false)),
        ("growpart", Yaml::Map(vec![("mode", Yaml::str("off"))])),
    ];
    if let Some((u, h)) = user {
        check_user(u)?;
        check_hash(h)?;
        let mut entry = vec![("name", Yaml::str(u))];
        if !keys.is_empty() {
            entry.push(("ssh_authorized_keys", keys_value()));
        }
        entry.extend([
            ("groups", Yaml::str(FIRST_USER_GROUPS)),
            ("shell", Yaml::str("/bin/bash")),
            ("lock_passwd", Yaml::Bool(false)),
            ("passwd", Yaml::str(h)),
            ("sudo", Yaml::str("ALL=(ALL) NOPASSWD:ALL")),
        ]);
        doc.push(("users", Yaml::Seq(vec![Yaml::Map(entry)])));
    } else if !keys.is_empty() {
        doc.push(("ssh_authorized_keys", keys_value()));
    }
    doc.push((
        "runcmd",
        Yaml::Seq(vec![Yaml::Seq(
            ["systemctl", "enable", "--now", "ssh"]
                .map(Yaml::str)
                .to_vec(),
        )]),
    ));
    Ok(yaml::document("#cloud-config", &Yaml::Map(doc)))
}

/// The groups Raspberry Pi OS gives its first user.
const FIRST_USER_GROUPS: &str =
    "users,adm,dialout,audio,netdev,video,plugdev,cdrom,games,input,gpio,spi,i2c,render,sudo";

/// Where rpinet seeds cloud-init's NoCloud datasource inside the node's root.
pub const NOCLOUD_SEED: &str = "/var/lib/cloud/seed/nocloud/";

/// The cloud.cfg.d file that sorts after Raspberry Pi OS's 99_raspberry-pi.cfg.
pub const CLOUD_CFG_NAME: &str = "99_rpinet.cfg";

/// etc/cloud/cloud.cfg.d/99_rpinet.cfg. Raspberry Pi OS points NoCloud's `seedfrom` at
/// file:///boot/firmware, an NFS mount that is not there yet when cloud-init's local stage
/// runs on an NFS root: the seed is not found and cloud-init falls back to DataSourceNone
/// and a default network config that takes the NFS root down. NoCloud reads its seed dir
/// first and then `seedfrom` (which wins for user-data), so both name rpinet's seed in the
/// root; the kernel's ip=dhcp owns the network.
pub fn cloud_cfg() -> String {
    format!(
        "# Written by rpinet: the node's seed is in its root; its network is the kernel's (NFS root).\n\
         datasource_list: [NoCloud, None]\n\
         datasource:\n  NoCloud:\n    seedfrom: file://{NOCLOUD_SEED}\n\
         network:\n  config: disabled\n"
    )
}

/// First-boot units of pi-gen and raspberrypi-sys-mods that only make sense on an SD card
/// (they resize its partition or filesystem, and fail on every boot from NFS): masked.
pub const SD_CARD_UNITS: [&str; 3] = ["resize2fs_once", "rpi-resize", "apply_noobs_os_config"];

/// A SysV start/stop link in etc/rc?.d for `script` (`S01resize2fs_once`).
pub fn is_rc_link(name: &str, script: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 3
        && matches!(b[0], b'S' | b'K')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && &name[3..] == script
}

/// The links `systemctl enable` makes for a unit: the targets that want it (`WantedBy=`)
/// and its other names (`Alias=`; Debian's ssh.service is also sshd.service).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InstallLinks {
    pub wanted_by: Vec<String>,
    pub aliases: Vec<String>,
}

/// A unit file's [`InstallLinks`], from its `[Install]` section as systemd reads it: a list
/// is space-separated and may be given over several lines, an empty value clears it. Names
/// with a specifier (`%i`) or a path, and dot names, are left out.
pub fn install_links(unit: &str) -> InstallLinks {
    let mut links = InstallLinks::default();
    let mut in_install = false;
    for line in lines(unit).map(str::trim) {
        if line.starts_with('[') {
            in_install = line == "[Install]";
            continue;
        }
        if !in_install || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let list = match key.trim() {
            "WantedBy" => &mut links.wanted_by,
            "Alias" => &mut links.aliases,
            _ => continue,
        };
        if value.trim().is_empty() {
            list.clear();
        }
        for name in value.split_whitespace() {
            let plain = !name.contains(['%', '/']) && !name.starts_with('.');
            if plain && !list.iter().any(|n| n == name) {
                list.push(name.to_string());
            }
        }
    }
    links
}

/// What to say when a node gets no user anyone can log in with: Raspberry Pi OS has none
/// until one is configured (bookworm's userconfig waits at the console for it).
pub fn no_user_warning(node: &str) -> String {
    format!(
        "node '{node}' has no login user: Raspberry Pi OS makes none by itself; provision again with --user NAME --password-hash HASH, or give it an ssh_key"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRV: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

    #[test]
    fn cmdline_from_imager_bookworm() {
        let old = "console=serial0,115200 console=tty1 root=PARTUUID=a3f161f3-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot cfg80211.ieee80211_regdom=JP systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target\n";
        assert_eq!(
            cmdline(old, SRV, "/mnt/rpinet/nfs/lion"),
            "console=serial0,115200 console=tty1 quiet cfg80211.ieee80211_regdom=JP systemd.unit=kernel-command-line.target root=/dev/nfs nfsroot=192.168.1.1:/mnt/rpinet/nfs/lion,vers=3 rw ip=dhcp rootwait\n"
        );
    }

    #[test]
    fn cmdline_with_resize_and_old_nfs_is_replaced_not_doubled() {
        let old = "console=tty1 root=/dev/nfs nfsroot=10.0.0.1:/x,vers=4.1,proto=tcp rw ip=dhcp rootwait resize";
        let c = cmdline(old, SRV, "/s/nfs/a");
        assert_eq!(
            c,
            "console=tty1 root=/dev/nfs nfsroot=192.168.1.1:/s/nfs/a,vers=3 rw ip=dhcp rootwait\n"
        );
        assert_eq!(cmdline(&c, SRV, "/s/nfs/a"), c, "idempotent");
        assert!(!c.contains("proto="));
    }

    #[test]
    fn fstab_drops_sd_lines_and_mounts_tftp_dir() {
        let old = "proc            /proc           proc    defaults          0       0\nPARTUUID=1234-01  /boot/firmware  vfat    defaults          0       2\nPARTUUID=1234-02  /               ext4    defaults,noatime  0       1\n# a comment / kept\n";
        assert_eq!(
            fstab(old, SRV, "/mnt/rpinet/tftp/38c128c0"),
            "proc            /proc           proc    defaults          0       0\n# a comment / kept\n192.168.1.1:/mnt/rpinet/tftp/38c128c0 /boot/firmware nfs defaults,vers=3 0 0\n"
        );
        let again = fstab(&fstab(old, SRV, "/t"), SRV, "/t");
        assert_eq!(again.matches("/boot/firmware").count(), 1);
    }

    #[test]
    fn hosts_gets_one_127_0_1_1_line() {
        assert_eq!(
            hosts(
                "127.0.0.1\tlocalhost\n127.0.1.1\t\traspberrypi\n",
                "running-lion"
            ),
            "127.0.0.1\tlocalhost\n127.0.1.1\trunning-lion\n"
        );
        assert_eq!(hosts("", "a"), "127.0.1.1\ta\n");
    }

    #[test]
    fn dphys_swapfile_is_zeroed() {
        assert_eq!(
            dphys_swapfile("# size\nCONF_SWAPSIZE=100\nX=1\n"),
            "# size\nCONF_SWAPSIZE=0\nX=1\n"
        );
        assert_eq!(dphys_swapfile(""), "CONF_SWAPSIZE=0\n");
    }

    #[test]
    fn userconf_takes_only_hashes() {
        let h = "$6$salt$abcdefghijklmnopqrstuvwxyz0123456789./ABC";
        assert_eq!(userconf("pi", h).unwrap(), format!("pi:{h}\n"));
        assert!(userconf("pi", "raspberry").is_err());
        assert!(userconf("pi", "$6$x$y\nroot::0").is_err());
        assert!(userconf("Root", h).is_err());
        assert!(userconf("a:b", h).is_err());
        assert!(userconf("", h).is_err());
    }

    #[test]
    fn nocloud_files_carry_hostname_and_user() {
        let h = "$6$s$h";
        let u = nocloud_user_data("lion", Some(("pi", h)), &[]).unwrap();
        assert!(u.starts_with("#cloud-config\nhostname: \"lion\"\n"));
        assert!(u.contains("    passwd: \"$6$s$h\"\n"));
        assert!(!u.contains("ssh_authorized_keys"));
        assert!(nocloud_user_data("lion", Some(("pi", "plain")), &[]).is_err());
        assert!(!u.contains("enable_ssh"), "not a cloud-init key");
        assert!(u.contains("\nssh_deletekeys: false\n"));
        assert!(u.ends_with("runcmd:\n  - [\"systemctl\", \"enable\", \"--now\", \"ssh\"]\n"));
        let k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyEX1c94vp3DjRjwFTDYovAwueRgKlBt991Kgff39ha lion@lab";
        let with_user = nocloud_user_data("lion", Some(("pi", h)), &[k.into()]).unwrap();
        assert!(
            with_user.contains(&format!(
                "  - name: \"pi\"\n    ssh_authorized_keys:\n      - \"{k}\"\n"
            )),
            "{with_user}"
        );
        let default_user = nocloud_user_data("lion", None, &[k.into()]).unwrap();
        assert!(default_user.contains(&format!("\nssh_authorized_keys:\n  - \"{k}\"\nruncmd:")));
        assert!(u.contains("\nresize_rootfs: false\ngrowpart:\n  mode: \"off\"\n"));
        assert_eq!(
            nocloud_meta_data("rpinet-lion-1", "lion"),
            "instance-id: rpinet-lion-1\nlocal-hostname: lion\n"
        );
    }

    #[test]
    fn cloud_cfg_seeds_from_the_root_and_leaves_the_network_alone() {
        let c = cloud_cfg();
        assert!(c.contains("datasource_list: [NoCloud, None]\n"));
        assert!(c.contains("    seedfrom: file:///var/lib/cloud/seed/nocloud/\n"));
        assert!(c.ends_with("network:\n  config: disabled\n"));
        assert!(
            CLOUD_CFG_NAME > "99_raspberry-pi.cfg",
            "read after the image's"
        );
    }

    #[test]
    fn install_links_as_systemctl_enable_reads_them() {
        // Debian trixie's ssh.service.
        let ssh = "[Unit]\nDescription=OpenBSD Secure Shell server\nAfter=network.target\n\n[Service]\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS\nType=notify\n\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n";
        assert_eq!(
            install_links(ssh),
            InstallLinks {
                wanted_by: vec!["multi-user.target".into()],
                aliases: vec!["sshd.service".into()],
            }
        );
        let odd = "[Service]\nAlias=not-install.service\n[Install]\n# Alias=commented.service\nWantedBy = a.target b.target\nWantedBy=a.target\nAlias=x.service\nAlias=\nAlias=y.service %i.service ../z.service\nAlso=other.socket\n[X-Other]\nWantedBy=c.target\n";
        assert_eq!(
            install_links(odd),
            InstallLinks {
                wanted_by: vec!["a.target".into(), "b.target".into()],
                aliases: vec!["y.service".into()],
            }
        );
        assert_eq!(install_links("[Unit]\n"), InstallLinks::default());
    }

    #[test]
    fn rc_links() {
        assert!(is_rc_link("S01resize2fs_once", "resize2fs_once"));
        assert!(is_rc_link("K99resize2fs_once", "resize2fs_once"));
        for bad in [
            "resize2fs_once",
            "S1resize2fs_once",
            "S01resize2fs_once.bak",
            "X01resize2fs_once",
            "S01",
        ] {
            assert!(!is_rc_link(bad, "resize2fs_once"), "{bad}");
        }
    }

    #[test]
    fn edits_are_idempotent_on_carriage_returns() {
        // Found by the edits fuzz target (fuzz/regressions/edits/).
        for old in ["5\u{fffd}\r", "a\r\nb\r", "\r", "x\n\r\n"] {
            let f = fstab(old, SRV, "/t");
            assert_eq!(fstab(&f, SRV, "/t"), f, "{old:?}");
            let h = hosts(old, "n");
            assert_eq!(hosts(&h, "n"), h, "{old:?}");
            let d = dphys_swapfile(old);
            assert_eq!(dphys_swapfile(&d), d, "{old:?}");
        }
    }
}
