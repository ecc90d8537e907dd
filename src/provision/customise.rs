//! Apply the NFS-root edits ([`super::edits`]) to a freshly copied node:
//! read each file through directory handles (never through a symlink the
//! image holds), compute the new text, write it atomically in place.

use std::io::Read;

use super::ProvisionTarget;
use super::rootfs::{self, dir_at, mkdirs, read, unlink_if, write};
use super::{edits, keys, report, volume};
use crate::bail;
use crate::error::{Context, Result};
use crate::system::fsys::{self, Dir};

/// Every edit for an NFS root; returns what was done, for the report.
pub fn apply(
    t: &ProvisionTarget,
    boot: &Dir,
    root: &Dir,
    user: Option<(&str, &str)>,
    os: &str,
) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let nfs = t.node_path(&t.nfs_dir);
    let tftp = t.node_path(&t.tftp_dir);
    let Some(cmd) = read(boot, "cmdline.txt")? else {
        bail!("the image's boot tree has no cmdline.txt");
    };
    write(
        boot,
        "cmdline.txt",
        &edits::cmdline(&cmd, t.server_ip, &nfs),
        0o644,
    )?;
    done.push("cmdline.txt".to_string());

    let etc = dir_at(root, &["etc"]).ctx(|| "the image's root has no etc directory".into())?;
    let fst = read(&etc, "fstab")?.unwrap_or_default();
    write(
        &etc,
        "fstab",
        &edits::fstab(&fst, t.server_ip, &tftp),
        0o644,
    )?;
    write(&etc, "hostname", &format!("{}\n", t.hostname), 0o644)?;
    let h = read(&etc, "hosts")?.unwrap_or_else(|| "127.0.0.1\tlocalhost\n".into());
    write(&etc, "hosts", &edits::hosts(&h, &t.hostname), 0o644)?;
    write(&etc, "machine-id", "", 0o444)?;
    done.extend(["fstab", "hostname", "hosts", "machine-id"].map(String::from));

    // SSH: no shared host keys (regenerated on first boot), and enabled.
    if let Ok(ssh) = dir_at(&etc, &["ssh"]) {
        let mut n = 0;
        for name in ssh.names().ctx(|| "failed to list etc/ssh".into())? {
            if name.starts_with(b"ssh_host_") {
                ssh.unlink(&name, false)
                    .ctx(|| "failed to remove an SSH host key".into())?;
                n += 1;
            }
        }
        done.push(format!("{n} ssh host keys removed"));
    }
    write(boot, "ssh", "", 0o644)?;
    let unit_dir = ["lib/systemd/system", "usr/lib/systemd/system"]
        .into_iter()
        .find(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            dir_at(root, &parts)
                .and_then(|d| d.lstat(b"ssh.service"))
                .is_ok()
        });
    if let Some(dir) = unit_dir {
        enable_unit(root, &etc, dir, "ssh.service")?;
    }
    let wants = mkdirs(&etc, &["systemd", "system", "multi-user.target.wants"])
        .ctx(|| "failed to open etc/systemd/system/multi-user.target.wants".into())?;
    done.push("ssh enabled".into());
    let masked = mask_sd_card_units(&etc)?;
    if !masked.is_empty() {
        done.push(format!("{} masked", masked.join(", ")));
    }
    // No swap file on NFS.
    if unlink_if(&wants, "dphys-swapfile.service")? {
        done.push("dphys-swapfile disabled".into());
    }
    if let Some(c) = read(&etc, "dphys-swapfile")? {
        write(&etc, "dphys-swapfile", &edits::dphys_swapfile(&c), 0o644)?;
    }
    if let Some((u, h)) = user {
        write(boot, "userconf.txt", &edits::userconf(u, h)?, 0o600)?;
        done.push(format!("first user {u}"));
    }
    // Trixie and later: cloud-init reads NoCloud seed files.
    let cloud = dir_at(&etc, &["cloud"]).is_ok();
    if cloud || os == "trixie" {
        let instance = format!("rpinet-{}", t.node);
        let meta = edits::nocloud_meta_data(&instance, &t.hostname);
        let userdata = edits::nocloud_user_data(&t.hostname, user, &t.ssh_keys)?;
        let seed = mkdirs(root, &["var", "lib", "cloud", "seed", "nocloud"])
            .ctx(|| "failed to make var/lib/cloud/seed/nocloud".into())?;
        for d in [boot, &seed] {
            write(d, "meta-data", &meta, 0o600)?;
            write(d, "user-data", &userdata, 0o600)?;
        }
        if user.is_some() {
            let _ = unlink_if(boot, "userconf.txt")?;
        }
        let cfg = mkdirs(&etc, &["cloud", "cloud.cfg.d"])
            .ctx(|| "failed to make etc/cloud/cloud.cfg.d".into())?;
        write(&cfg, edits::CLOUD_CFG_NAME, &edits::cloud_cfg(), 0o644)?;
        done.push("cloud-init NoCloud seed".into());
        if !t.ssh_keys.is_empty() {
            done.push(format!(
                "{} ssh keys in cloud-init user-data",
                t.ssh_keys.len()
            ));
        }
    } else if !t.ssh_keys.is_empty() {
        done.push(keys::install(&t.ssh_keys, root)?);
    }
    if let Some(tr) = &t.volume {
        rootfs::install(root, &etc, &volume::node_files(tr), &volume::links())?;
        done.push(format!("container volume at {}", volume::MOUNT));
    } else {
        let runtimes = volume::runtimes_in(|rel| root.lstat(rel.as_bytes()).is_ok());
        if !runtimes.is_empty() {
            let w = volume::no_volume_warning(&t.node, &runtimes);
            log::warn!("{w}");
            done.push(format!("WARNING: {w}"));
        }
    }
    rootfs::install(root, &etc, &report::node_files(), &report::links())?;
    done.push(format!("boot report to the router ({})", report::PATH));
    if user.is_none() && t.ssh_keys.is_empty() {
        let w = edits::no_user_warning(&t.node);
        log::warn!("{w}");
        done.push(format!("WARNING: {w}"));
    }
    Ok(done)
}

/// Enable the image's unit `dir/name` as `systemctl enable` does: a link in the `.wants`
/// directory of each target its `[Install]` section names (multi-user.target when it names
/// none) and one for each `Alias=`. Without the alias, the node's own `systemctl enable`
/// (sshswitch, cloud-init's runcmd) adds it at boot and reloads systemd while the unit may
/// already run. When another unit names the alias (cloud-init's `Wants=sshd.service`), the
/// alias was a unit of its own, and the reload can give the running ssh.service its dead
/// state (systemd/systemd#14141, fixed after Debian trixie's 257 by #39703): the next start
/// runs a second sshd, which fails ("Address already in use"), and the boot is degraded.
fn enable_unit(root: &Dir, etc: &Dir, dir: &str, name: &str) -> Result<()> {
    let parts: Vec<&str> = dir.split('/').collect();
    // An unreadable unit (a symlink, say) is still enabled; its aliases are not known.
    let text = dir_at(root, &parts)
        .ok()
        .and_then(|d| read(&d, name).ok().flatten())
        .unwrap_or_default();
    let mut links = edits::install_links(&text);
    if links.wanted_by.is_empty() {
        links.wanted_by.push("multi-user.target".into());
    }
    let target = format!("/{dir}/{name}");
    let units =
        mkdirs(etc, &["systemd", "system"]).ctx(|| "failed to open etc/systemd/system".into())?;
    let link = |d: &Dir, link_name: &str| -> Result<()> {
        if d.lstat(link_name.as_bytes()).is_err() {
            d.symlink(target.as_bytes(), link_name.as_bytes())
                .ctx(|| format!("failed to enable {name} ({link_name})"))?;
        }
        Ok(())
    };
    for t in &links.wanted_by {
        let wants = format!("{t}.wants");
        let d = mkdirs(&units, &[&wants])
            .ctx(|| format!("failed to make etc/systemd/system/{wants}"))?;
        link(&d, name)?;
    }
    for a in &links.aliases {
        link(&units, a)?;
    }
    Ok(())
}

/// Mask the SD-card first-boot units ([`edits::SD_CARD_UNITS`]) and drop their SysV links.
/// Returns the ones the image had.
fn mask_sd_card_units(etc: &Dir) -> Result<Vec<String>> {
    let mut had = Vec::new();
    let units =
        mkdirs(etc, &["systemd", "system"]).ctx(|| "failed to open etc/systemd/system".into())?;
    for script in edits::SD_CARD_UNITS {
        let mut found = dir_at(etc, &["init.d"]).is_ok_and(|d| d.lstat(script.as_bytes()).is_ok());
        for rc in [
            "rc0.d", "rc1.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d", "rc6.d", "rcS.d",
        ] {
            let Ok(d) = dir_at(etc, &[rc]) else { continue };
            for name in d.names().ctx(|| format!("failed to list etc/{rc}"))? {
                if edits::is_rc_link(&String::from_utf8_lossy(&name), script) {
                    unlink_if(&d, &String::from_utf8_lossy(&name))?;
                    found = true;
                }
            }
        }
        let unit = format!("{script}.service");
        let _ = unlink_if(&units, &unit)?;
        units
            .symlink(b"/dev/null", unit.as_bytes())
            .ctx(|| format!("failed to mask {unit}"))?;
        if found {
            had.push(script.to_string());
        }
    }
    Ok(had)
}

/// The node side of the container volume ([`volume::node_files`]), its unit enabled and
/// required by every container runtime.
/// Pi 3 asks for bootcode.bin at the TFTP root before its own directory.
pub fn bootcode_at_tftp_root(boot: &Dir, tftp_root: &Dir) -> Result<()> {
    let f = boot
        .open_file(b"bootcode.bin", libc::O_RDONLY)
        .ctx(|| "a Pi 3 needs bootcode.bin, and the image has none".into())?;
    let mut data = Vec::new();
    f.take(4 << 20)
        .read_to_end(&mut data)
        .ctx(|| "failed to read bootcode.bin".into())?;
    fsys::replace(tftp_root, b"bootcode.bin", &data, 0o644, None, true)
        .ctx(|| "failed to place bootcode.bin at the TFTP root".into())
}
