//! A node keeps who it is across reimages: its SSH host keys and machine-id are carried from
//! its old root into the new one, so ssh clients still know it and Kubernetes sees the same
//! machine. They are only ever the node's own, made by its first boot: an image's are
//! removed at every provision ([`super::customise`]) before these are carried over.

use std::io::Read;

use crate::error::{Context, Result};
use crate::system::fsys::{self, Dir};

/// The units that would throw carried keys away on the next boot: Raspberry Pi OS's
/// regenerate_ssh_host_keys deletes every host key and makes new ones, then disables itself.
pub const KEY_REGENERATORS: [&str; 1] = ["regenerate_ssh_host_keys.service"];

/// An SSH host key file, private or public (`ssh_host_ed25519_key`, `….pub`).
pub fn is_host_key(name: &[u8]) -> bool {
    let Ok(n) = std::str::from_utf8(name) else {
        return false;
    };
    let base = n.strip_suffix(".pub").unwrap_or(n);
    base.strip_prefix("ssh_host_")
        .and_then(|t| t.strip_suffix("_key"))
        .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A machine-id as systemd writes it: 32 lowercase hex digits and a newline. Anything else
/// (empty, "uninitialized") is not an identity worth keeping.
pub fn is_machine_id(text: &[u8]) -> bool {
    text.len() == 33
        && text[32] == b'\n'
        && text[..32]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// What was carried, for the provision report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Carried {
    pub machine_id: bool,
    pub host_keys: usize,
}

fn read_small(dir: &Dir, name: &[u8]) -> Option<(Vec<u8>, libc::stat)> {
    let st = dir.lstat(name).ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let mut data = Vec::new();
    let f = dir.open_file(name, libc::O_RDONLY).ok()?;
    f.take(64 << 10).read_to_end(&mut data).ok()?;
    Some((data, st))
}

/// Copy the machine-id and host keys of `old` (the node's current root) into `new` (its
/// freshly customised root), each file with its old mode and owner.
pub fn carry(old: &Dir, new: &Dir) -> Result<Carried> {
    let mut done = Carried::default();
    let (Ok(old_etc), Ok(new_etc)) = (old.open_dir(b"etc"), new.open_dir(b"etc")) else {
        return Ok(done);
    };
    if let Some((id, st)) = read_small(&old_etc, b"machine-id").filter(|(d, _)| is_machine_id(d)) {
        fsys::replace(
            &new_etc,
            b"machine-id",
            &id,
            st.st_mode & 0o7777,
            Some((st.st_uid, st.st_gid)),
            true,
        )
        .ctx(|| "failed to carry etc/machine-id".into())?;
        done.machine_id = true;
    }
    let (Ok(old_ssh), Ok(new_ssh)) = (old_etc.open_dir(b"ssh"), new_etc.open_dir(b"ssh")) else {
        return Ok(done);
    };
    let names = old_ssh
        .names()
        .ctx(|| "failed to list the old etc/ssh".into())?;
    for name in names.iter().filter(|n| is_host_key(n)) {
        if let Some((data, st)) = read_small(&old_ssh, name).filter(|(d, _)| !d.is_empty()) {
            fsys::replace(
                &new_ssh,
                name,
                &data,
                st.st_mode & 0o7777,
                Some((st.st_uid, st.st_gid)),
                true,
            )
            .ctx(|| format!("failed to carry etc/ssh/{}", String::from_utf8_lossy(name)))?;
            done.host_keys += 1;
        }
    }
    if done.host_keys > 0 {
        if let Ok(wants) = new_etc
            .open_dir(b"systemd")
            .and_then(|d| d.open_dir(b"system"))
            .and_then(|d| d.open_dir(b"multi-user.target.wants"))
        {
            for unit in KEY_REGENERATORS {
                match wants.unlink(unit.as_bytes(), false) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => crate::bail!("failed to disable {unit}: {e}"),
                }
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_names() {
        for ok in [
            "ssh_host_ed25519_key",
            "ssh_host_rsa_key.pub",
            "ssh_host_ecdsa_key",
        ] {
            assert!(is_host_key(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "ssh_host__key",
            "sshd_config",
            "ssh_host_rsa_key.bak",
            "moduli",
            "ssh_host_a b_key",
            "ssh_host_rsa_key-cert.pub",
        ] {
            assert!(!is_host_key(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn machine_ids() {
        assert!(is_machine_id(b"0123456789abcdef0123456789abcdef\n"));
        for bad in [
            &b""[..],
            b"uninitialized\n",
            b"0123456789ABCDEF0123456789abcdef\n",
            b"0123456789abcdef0123456789abcdef",
        ] {
            assert!(!is_machine_id(bad));
        }
    }

    fn tree(base: &std::path::Path, files: &[(&str, &str, u32)]) -> Dir {
        for (p, text, mode) in files {
            let f = base.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, text).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        std::fs::create_dir_all(base.join("etc/ssh")).unwrap();
        Dir::open_path(base).unwrap()
    }

    #[test]
    fn carry_copies_keys_and_id_with_their_modes() {
        let tmp = std::env::temp_dir().join(format!("rpinet-id-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let id = "0123456789abcdef0123456789abcdef\n";
        let old = tree(
            &tmp.join("old"),
            &[
                ("etc/machine-id", id, 0o444),
                ("etc/ssh/ssh_host_ed25519_key", "PRIVATE", 0o600),
                ("etc/ssh/ssh_host_ed25519_key.pub", "PUBLIC", 0o644),
                ("etc/ssh/sshd_config", "old config", 0o644),
                ("etc/ssh/ssh_host_rsa_key", "", 0o600),
            ],
        );
        let new = tree(
            &tmp.join("new"),
            &[
                ("etc/machine-id", "", 0o444),
                ("etc/ssh/sshd_config", "new config", 0o644),
                (
                    "etc/systemd/system/multi-user.target.wants/regenerate_ssh_host_keys.service",
                    "",
                    0o644,
                ),
            ],
        );
        let c = carry(&old, &new).unwrap();
        assert_eq!(
            c,
            Carried {
                machine_id: true,
                host_keys: 2
            }
        );
        let read = |p: &str| std::fs::read_to_string(tmp.join("new").join(p)).unwrap();
        assert_eq!(read("etc/machine-id"), id);
        assert_eq!(read("etc/ssh/ssh_host_ed25519_key"), "PRIVATE");
        assert_eq!(read("etc/ssh/sshd_config"), "new config");
        assert!(
            !tmp.join("new/etc/ssh/ssh_host_rsa_key").exists(),
            "an empty key is not carried"
        );
        assert!(
            !tmp.join(
                "new/etc/systemd/system/multi-user.target.wants/regenerate_ssh_host_keys.service"
            )
            .exists(),
            "the unit that deletes host keys is disabled"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.join("new/etc/ssh/ssh_host_ed25519_key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // An old root that never booted has nothing to carry.
        let blank = tree(&tmp.join("blank"), &[("etc/machine-id", "", 0o444)]);
        assert_eq!(carry(&blank, &new).unwrap(), Carried::default());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
