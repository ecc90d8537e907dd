//! A reimaged node keeps who it is: its SSH host keys (so `ssh` does not
//! warn of a changed host) and its machine-id (so DHCP, journald and
//! anything keyed on it see the same machine) are carried from the root it
//! ran before into the new one. Regular files only, read and written through
//! directory handles; a key the old root lacks is simply not carried.

use std::io::Read;

use super::customise::dir_at;
use crate::error::{Context, Result};
use crate::system::fsys::{self, Dir};

/// The identity files: (directory below the root, whether a name belongs).
const FILES: [(&[&str], fn(&[u8]) -> bool); 2] = [
    (&["etc", "ssh"], |n| n.starts_with(b"ssh_host_")),
    (&["etc"], |n| n == b"machine-id"),
];

/// Copy the identity files of `old` (a node root) into `new`; how many were carried.
pub fn carry(old: &Dir, new: &Dir) -> Result<usize> {
    let mut n = 0;
    for (path, wanted) in FILES {
        let (Ok(from), Ok(to)) = (dir_at(old, path), dir_at(new, path)) else {
            continue;
        };
        for name in from
            .names()
            .ctx(|| format!("failed to list {}", path.join("/")))?
        {
            if !wanted(&name) {
                continue;
            }
            let Ok(st) = from.lstat(&name) else { continue };
            if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_size > 64 << 10 {
                continue;
            }
            let shown = String::from_utf8_lossy(&name).into_owned();
            let mut data = Vec::new();
            from.open_file(&name, libc::O_RDONLY)
                .and_then(|f| f.take(64 << 10).read_to_end(&mut data))
                .ctx(|| format!("failed to read {shown} of the previous root"))?;
            fsys::replace(
                &to,
                &name,
                &data,
                st.st_mode & 0o7777,
                Some((st.st_uid, st.st_gid)),
                true,
            )
            .ctx(|| format!("failed to carry {shown} into the new root"))?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keys_and_machine_id_are_carried() {
        let t = std::env::temp_dir().join(format!("rpinet-identity-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        for d in ["old/etc/ssh", "new/etc/ssh"] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
        std::fs::write(t.join("old/etc/machine-id"), "m1\n").unwrap();
        std::fs::write(t.join("old/etc/ssh/ssh_host_ed25519_key"), "k1\n").unwrap();
        std::fs::write(t.join("old/etc/ssh/sshd_config"), "not identity\n").unwrap();
        std::fs::write(t.join("new/etc/machine-id"), "").unwrap();
        let old = Dir::open_path(&t.join("old")).unwrap();
        let new = Dir::open_path(&t.join("new")).unwrap();
        assert_eq!(carry(&old, &new).unwrap(), 2);
        assert_eq!(
            std::fs::read_to_string(t.join("new/etc/machine-id")).unwrap(),
            "m1\n"
        );
        assert_eq!(
            std::fs::read_to_string(t.join("new/etc/ssh/ssh_host_ed25519_key")).unwrap(),
            "k1\n"
        );
        assert!(!t.join("new/etc/ssh/sshd_config").exists());
        std::fs::remove_dir_all(&t).unwrap();
    }
}
