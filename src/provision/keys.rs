//! SSH keys, not passwords: the node's `ssh_key`s (the main section's and its
//! own) installed at provision so the node is reachable by ssh with no
//! password at all.
//!
//! - A cloud-init image: the keys are part of the NoCloud user-data rpinet
//!   writes ([`super::edits::nocloud_user_data`]).
//! - A bookworm-style image (this module): the first user (uid 1000 in the
//!   root's /etc/passwd, the one userconf renames) gets
//!   `~/.ssh/authorized_keys` (0600, .ssh 0700, owned by that user).
//!
//! Deciding is pure ([`first_user`], [`authorized_keys`]); [`install`] reads
//! and writes through directory handles, never through a symlink the image
//! holds.

use super::rootfs::{dir_at, read};
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

/// Install `keys` as the first user's authorized_keys in the freshly copied root; what was
/// done, for the report.
pub fn install(keys: &[String], root: &Dir) -> Result<String> {
    let n = keys.len();
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
        authorized_keys(keys).as_bytes(),
        0o600,
        Some((uid, gid)),
        true,
    )
    .ctx(|| format!("failed to write {home}/.ssh/authorized_keys"))?;
    Ok(format!("{n} ssh keys for {name}"))
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
    fn authorized_keys_is_one_key_a_line() {
        let s = authorized_keys(&[K1.into(), "ssh-rsa AAAA x".into()]);
        assert_eq!(s.lines().filter(|l| !l.starts_with('#')).count(), 2);
        assert!(s.ends_with("x\n"));
    }
}
