//! SSH keys, not passwords: the node's `ssh_key`s (the main section's and its
//! own) installed at provision so the node is reachable by ssh with no
//! password at all.
//!
//! - A cloud-init image (its NoCloud seed was just written): the keys go into
//!   the seed's user-data — the first user's `ssh_authorized_keys` when a
//!   first user is made, else the top-level list (the image's default user).
//! - A bookworm-style image: the first user (uid 1000 in the root's
//!   /etc/passwd, the one userconf renames) gets `~/.ssh/authorized_keys`
//!   (0600, .ssh 0700, owned by that user).
//!
//! Deciding is pure ([`first_user`], [`with_keys`], [`authorized_keys`]);
//! [`install`] reads and writes through directory handles, never through a
//! symlink the image holds.

use super::ProvisionTarget;
use super::customise::{dir_at, read};
use crate::bail;
use crate::error::{Context, Error, Result};
use crate::system::fsys::{self, Dir};

/// The image's first user: (name, uid, gid, home) of uid 1000 in passwd text.
pub fn first_user(passwd: &str) -> Option<(String, u32, u32, String)> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let (name, uid, gid, home) = (f.first()?, f.get(2)?, f.get(3)?, f.get(5)?);
        (*uid == "1000").then_some(())?;
        Some((
            name.to_string(),
            uid.parse().ok()?,
            gid.parse().ok()?,
            home.to_string(),
        ))
    })
}

/// authorized_keys: one key a line.
pub fn authorized_keys(keys: &[String]) -> String {
    let mut s = String::from("# written by rpinet from /etc/config/rpinet (ssh_key)\n");
    for k in keys {
        s.push_str(k);
        s.push('\n');
    }
    s
}

/// cloud-init user-data with the keys: under the first user's entry when
/// `user` has one, else as the top-level list (the default user's). The keys
/// are validated lines without `"` or `\`, so each is one quoted YAML string.
pub fn with_keys(user_data: &str, keys: &[String], user: Option<&str>) -> String {
    let list = |indent: &str| -> String {
        keys.iter()
            .map(|k| format!("{indent}- \"{k}\"\n"))
            .collect()
    };
    if let Some(u) = user {
        let entry = format!("  - name: {u}\n");
        if let Some(at) = user_data.find(&entry) {
            let at = at + entry.len();
            return format!(
                "{}    ssh_authorized_keys:\n{}{}",
                &user_data[..at],
                list("      "),
                &user_data[at..]
            );
        }
    }
    let mut s = user_data.to_string();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str("ssh_authorized_keys:\n");
    s.push_str(&list("  "));
    s
}

/// Install `t.ssh_keys` in the freshly copied node; what was done, for the report.
pub fn install(
    t: &ProvisionTarget,
    boot: &Dir,
    root: &Dir,
    user: Option<&str>,
) -> Result<Vec<String>> {
    if t.ssh_keys.is_empty() {
        return Ok(Vec::new());
    }
    let n = t.ssh_keys.len();
    let seed = dir_at(root, &["var", "lib", "cloud", "seed", "nocloud"]).ok();
    if let Some(seed) = seed.filter(|s| s.lstat(b"user-data").is_ok()) {
        for d in [&seed, boot] {
            let Some(text) = read(d, "user-data")? else {
                continue;
            };
            fsys::replace(
                d,
                b"user-data",
                with_keys(&text, &t.ssh_keys, user).as_bytes(),
                0o600,
                None,
                true,
            )
            .ctx(|| "failed to write the keys into user-data".into())?;
        }
        return Ok(vec![format!("{n} ssh keys in cloud-init user-data")]);
    }
    let etc = root
        .open_dir(b"etc")
        .ctx(|| "the image's root has no etc directory".into())?;
    let passwd = read(&etc, "passwd")?.unwrap_or_default();
    let Some((name, uid, gid, home)) = first_user(&passwd) else {
        bail!(
            "ssh_key: the image has no first user (uid 1000 in /etc/passwd) to install the keys for"
        );
    };
    let parts: Vec<&str> = home.split('/').filter(|c| !c.is_empty()).collect();
    if parts.is_empty() || parts.iter().any(|c| *c == "." || *c == "..") {
        bail!(
            "ssh_key: the first user {name} has home '{home}', which is no directory to put keys in"
        );
    }
    let d = dir_at(root, &parts)
        .ctx(|| format!("ssh_key: the first user's home {home} is not in the image"))?;
    match d.mkdir(b".ssh", 0o700) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::new(format!("failed to create {home}/.ssh: {e}"))),
    }
    d.chown(b".ssh", uid, gid)
        .and_then(|_| d.chmod(b".ssh", 0o700))
        .ctx(|| format!("failed to give {home}/.ssh to {name}"))?;
    let ssh = d
        .open_dir(b".ssh")
        .ctx(|| format!("{home}/.ssh is not a directory"))?;
    fsys::replace(
        &ssh,
        b"authorized_keys",
        authorized_keys(&t.ssh_keys).as_bytes(),
        0o600,
        Some((uid, gid)),
        true,
    )
    .ctx(|| format!("failed to write {home}/.ssh/authorized_keys"))?;
    Ok(vec![format!("{n} ssh keys for {name}")])
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyEX1c94vp3DjRjwFTDYovAwueRgKlBt991Kgff39ha lion@lab";

    #[test]
    fn the_first_user_is_uid_1000() {
        let p = "root:x:0:0:root:/root:/bin/bash\nsystemd-network:x:998:998::/:/usr/sbin/nologin\npi:x:1000:1000:,,,:/home/pi:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n";
        assert_eq!(
            first_user(p),
            Some(("pi".into(), 1000, 1000, "/home/pi".into()))
        );
        assert_eq!(first_user("root:x:0:0:root:/root:/bin/bash\n"), None);
    }

    #[test]
    fn cloud_init_keys_go_to_the_first_user_or_the_default_one() {
        let keys = vec![K1.to_string()];
        let ud = "#cloud-config\nhostname: a\nusers:\n  - name: admin\n    shell: /bin/bash\nruncmd:\n  - [x]\n";
        let out = with_keys(ud, &keys, Some("admin"));
        assert_eq!(
            out,
            format!(
                "#cloud-config\nhostname: a\nusers:\n  - name: admin\n    ssh_authorized_keys:\n      - \"{K1}\"\n    shell: /bin/bash\nruncmd:\n  - [x]\n"
            )
        );
        let out = with_keys("#cloud-config\nhostname: a", &keys, None);
        assert_eq!(
            out,
            format!("#cloud-config\nhostname: a\nssh_authorized_keys:\n  - \"{K1}\"\n")
        );
    }

    #[test]
    fn authorized_keys_is_one_key_a_line() {
        let s = authorized_keys(&[K1.into(), "ssh-rsa AAAA x".into()]);
        assert_eq!(s.lines().filter(|l| !l.starts_with('#')).count(), 2);
        assert!(s.ends_with("x\n"));
    }
}
