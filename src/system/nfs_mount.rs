//! Mounting the storage from an NFS server (`storage_server:storage_export` at
//! `storage_path`, at `apply`): the one mount(2) call that needs a kernel NFS client, and
//! what is decided around it (its options, what an errno means, an export that squashes
//! root taken back) — pure and tested with a stand-in for the call.

use std::path::Path;

use crate::config::{Config, NfsServer};
use crate::system::root::Root;
use crate::system::storage::{Storage, check};

/// The mount(2) data of the export: NFSv3 over TCP, no lock daemon on the router, and a
/// soft mount, so a server that goes away makes reads fail instead of hanging dnsmasq (the
/// whole network's DHCP and DNS) on a TFTP file. `addr=` is required: the kernel does the
/// MOUNT protocol itself but resolves no names.
pub fn mount_data(ip: std::net::Ipv4Addr) -> String {
    format!("vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr={ip}")
}

/// The one line a failed mount of `server`'s export gives, by the errno the kernel
/// returned.
pub fn mount_fault(e: nix::errno::Errno, server: &NfsServer, path: &str) -> String {
    use nix::errno::Errno::*;
    let (host, export) = (&server.host, &server.export);
    match e {
        ETIMEDOUT | EHOSTUNREACH | ENETUNREACH | ECONNREFUSED | EHOSTDOWN => format!(
            "the NFS server {host} does not answer ({e}): is it on, reachable from the router and serving NFSv3?"
        ),
        ENOENT | EACCES | EPERM => format!(
            "the NFS server {host} does not export {export} to this router ({e}): add the lines `rpinet storage exports` prints to its exports"
        ),
        ENODEV => "the kernel has no NFS client: install kmod-fs-nfs and kmod-fs-nfs-v3".into(),
        EPROTONOSUPPORT => format!("the NFS server {host} does not serve NFSv3 ({e}): turn v3 on"),
        _ => format!("failed to mount {} at {path}: {e}", server.source()),
    }
}

/// The one line for an export that squashes root: the router writes roots whose files
/// belong to root, so its own writes must stay root's.
pub fn squash_fault(server: &NfsServer) -> String {
    format!(
        "the NFS server {} maps the router's root to another user on {}: export it with no_root_squash (appliances: Maproot user root)",
        server.host, server.export
    )
}

/// Mount storage_server:storage_export at storage_path when the config has storage on a
/// server, rpinet is enabled and nothing is mounted there yet (`apply`, so at boot too).
/// Only on the live system: under `--root` the mount table is a file. A mount whose writes
/// do not stay root's (root squashed) is taken back: nothing is written through it.
pub fn mount_server(root: &Root, config: &Config) -> crate::error::Result<()> {
    if !root.is_live() {
        return Ok(());
    }
    mount_export(root, config, |source, at, data| {
        let flags = nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV;
        nix::mount::mount(Some(source), at, Some("nfs"), flags, Some(data))
    })
}

/// What [`mount_server`] decides around its one mount(2) call, `mount(source, at, data)`.
fn mount_export(
    root: &Root,
    config: &Config,
    mount: impl FnOnce(&str, &Path, &str) -> nix::Result<()>,
) -> crate::error::Result<()> {
    let (Some(server), Some(path)) = (&config.server, &config.storage_path) else {
        return Ok(());
    };
    if !config.enabled || !matches!(check(root, config), Storage::NotMounted { .. }) {
        return Ok(());
    }
    let ip = match server.ip() {
        Some(ip) => ip,
        None => crate::system::dns::resolve(root, &server.host)?,
    };
    let at = root.path(path);
    std::fs::create_dir_all(&at)
        .map_err(|e| crate::error::Error::new(format!("failed to make {path}: {e}")))?;
    mount(&server.source(), &at, &mount_data(ip))
        .map_err(|e| crate::error::Error::new(mount_fault(e, server, path)))?;
    if !writes_stay_root(&at) {
        let _ = nix::mount::umount2(&at, nix::mount::MntFlags::MNT_DETACH);
        crate::bail!("{}", squash_fault(server));
    }
    Ok(())
}

/// Whether a file root makes in `dir` belongs to root (a squashing server makes it
/// nobody's, or refuses it).
pub(crate) fn writes_stay_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join(format!(".probe-owner-{}", std::process::id()));
    let owner = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|f| f.metadata())
        .map(|m| m.uid());
    let _ = std::fs::remove_file(&probe);
    owner.is_ok_and(|uid| uid == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Around the one mount(2) call (given here): mounted only when nothing is there, a
    /// refusal is its one line with nothing written, a squashing export is taken back.
    #[test]
    fn the_export_is_mounted_once_and_a_fault_is_one_line() {
        use nix::errno::Errno;
        let dir = std::env::temp_dir().join(format!("rpinet-mount-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        std::fs::write(dir.join("proc/mounts"), "/dev/root / squashfs ro 0 0\n").unwrap();
        let root = Root::under(&dir);
        let config = crate::config::from_package(
            &crate::config::uci::parse(
                "config rpinet 'main'\n option storage_server '10.9.0.20'\n option storage_export '/tank/rp'\n option storage_path '/mnt/rpinet'\n",
                "rpinet",
            )
            .unwrap(),
        )
        .unwrap();
        let at = dir.join("mnt/rpinet");
        let asked = std::cell::RefCell::new(Vec::new());
        let fails = |e: Errno| {
            let r = mount_export(&root, &config, |src, p, data| {
                asked
                    .borrow_mut()
                    .push(format!("{src} {} {data}", p.display()));
                Err(e)
            });
            r.unwrap_err().message().to_string()
        };
        assert!(fails(Errno::ETIMEDOUT).starts_with("the NFS server 10.9.0.20 does not answer"));
        assert!(fails(Errno::EACCES).contains("does not export /tank/rp to this router"));
        assert_eq!(
            asked.borrow()[0],
            format!(
                "10.9.0.20:/tank/rp {} vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr=10.9.0.20",
                at.display()
            )
        );
        assert_eq!(
            std::fs::read_dir(&at).unwrap().count(),
            0,
            "nothing written"
        );
        // mounted, and root's files stay root's (a local directory, as root)
        mount_export(&root, &config, |_, _, _| Ok(())).unwrap();
        assert_eq!(std::fs::read_dir(&at).unwrap().count(), 0);
        // a mount where root cannot make its own files is taken back, in one line
        let e = mount_export(&root, &config, |_, p, _| {
            std::fs::remove_dir(p).unwrap();
            std::fs::write(p, "").unwrap();
            Ok(())
        })
        .unwrap_err();
        assert!(e.message().contains(
            "maps the router's root to another user on /tank/rp: export it with no_root_squash"
        ));
        std::fs::remove_file(&at).unwrap();
        // already mounted, or rpinet disabled: no mount at all
        std::fs::write(
            dir.join("proc/mounts"),
            "10.9.0.20:/tank/rp /mnt/rpinet nfs rw,addr=10.9.0.20 0 0\n",
        )
        .unwrap();
        let never = |_: &str, _: &Path, _: &str| -> nix::Result<()> { panic!("mounted twice") };
        mount_export(&root, &config, never).unwrap();
        let off = Config {
            enabled: false,
            ..config.clone()
        };
        std::fs::write(dir.join("proc/mounts"), "").unwrap();
        mount_export(&root, &off, never).unwrap();
        // under --root the real call never runs
        mount_server(&root, &config).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_mount_is_one_line_by_its_errno() {
        use nix::errno::Errno;
        let s = NfsServer {
            host: "nas".into(),
            export: "/tank/rpinet".into(),
        };
        let says = |e| mount_fault(e, &s, "/mnt/rpinet");
        for e in [Errno::ETIMEDOUT, Errno::EHOSTUNREACH, Errno::ECONNREFUSED] {
            assert!(
                says(e).starts_with("the NFS server nas does not answer ("),
                "{}",
                says(e)
            );
        }
        for e in [Errno::ENOENT, Errno::EACCES] {
            assert!(
                says(e).starts_with(
                    "the NFS server nas does not export /tank/rpinet to this router ("
                ),
                "{}",
                says(e)
            );
        }
        assert!(says(Errno::ENODEV).contains("install kmod-fs-nfs and kmod-fs-nfs-v3"));
        assert!(says(Errno::EIO).starts_with("failed to mount nas:/tank/rpinet at /mnt/rpinet: "));
        assert!(squash_fault(&s).contains("no_root_squash"));
        assert_eq!(
            mount_data(std::net::Ipv4Addr::new(10, 0, 0, 2)),
            "vers=3,proto=tcp,nolock,soft,timeo=100,retrans=3,addr=10.0.0.2"
        );
    }
}
