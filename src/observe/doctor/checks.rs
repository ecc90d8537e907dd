//! doctor's checks: pure functions from a [`Snapshot`] to findings, one a concern, each
//! tested without a router. [`check`] runs them all.

use std::collections::HashMap;

use super::snapshot::{FileInfo, Identity, NodeFacts, Snapshot};
use super::{Finding, Level, ROBUST_EEPROM, find};
use crate::config::{Config, Model, Node};
use crate::system::storage::Storage;
use Level::{Error, Info, Warning};

type Check = fn(&Snapshot, &Config) -> Vec<Finding>;
type NodeCheck = fn(&Snapshot, &Config, &Node) -> Vec<Finding>;

/// The checks of the system and the cluster, in the order their findings are listed (then
/// sorted, errors first).
const SYSTEM: &[Check] = &[
    storage,
    boot_network,
    dnsmasq,
    nfsd,
    interface_address,
    identities,
    nodes,
    disabled_nodes_booting,
    unknown_pis,
    shared_roots,
    server_probe,
];
/// The checks of each enabled node.
const NODE: &[NodeCheck] = &[node_boot_files, node_exports, node_last_boot];
/// Housekeeping, listed after the rest: exports wider than a node, what dead runs left,
/// directories no node owns.
const STATE: &[Check] = &[wide_exports, leftovers, orphans];

/// Every finding for a snapshot: the system's and the nodes', errors first, then
/// housekeeping.
pub fn check(s: &Snapshot) -> Vec<Finding> {
    let Some(cfg) = &s.config else {
        let mut out = vec![config_invalid(s)];
        out.extend(duplicates(&s.identities));
        return out;
    };
    let found: Vec<Finding> = SYSTEM.iter().flat_map(|c| c(s, cfg)).collect();
    // errors first, then warnings, then information, each in the order found
    let mut out: Vec<Finding> = Vec::with_capacity(found.len());
    for level in [Level::Error, Level::Warning, Level::Info] {
        out.extend(found.iter().filter(|f| f.level == level).cloned());
    }
    out.extend(STATE.iter().flat_map(|c| c(s, cfg)));
    out
}

/// The configuration cannot be read at all.
fn config_invalid(s: &Snapshot) -> Finding {
    find(
        Level::Error,
        "config_invalid",
        "",
        format!(
            "the configuration cannot be read: {}",
            s.config_error.as_deref().unwrap_or("unknown error")
        ),
        "fix /etc/config/rpinet (the message names the section and option)".into(),
    )
}

/// Each enabled node's checks.
fn nodes(s: &Snapshot, cfg: &Config) -> Vec<Finding> {
    cfg.nodes
        .iter()
        .filter(|n| n.enabled)
        .flat_map(|n| NODE.iter().flat_map(move |c| c(s, cfg, n)))
        .collect()
}

/// The SSD is mounted and is the configured one.
fn storage_ok(s: &Snapshot) -> bool {
    matches!(s.storage, Some(Storage::Mounted { .. }))
}

/// A node's directories on storage (router paths), when storage is configured.
fn node_dirs(cfg: &Config, n: &Node) -> Option<(String, String)> {
    let sp = cfg.storage_path.as_deref()?;
    Some((
        format!("{sp}/tftp/{}", n.boot_dir()),
        format!("{sp}/nfs/{}", n.name),
    ))
}

/// The server address: the core's, else the override, else the interface's first IPv4.
pub fn server_ip(s: &Snapshot, cfg: &Config) -> Option<String> {
    if let Some(ip) = &s.server_ip {
        return Some(ip.clone());
    }
    if let Some(ip) = cfg.server_ip {
        return Some(ip.to_string());
    }
    s.iface_ipv4.as_ref().and_then(|v| v.first().cloned())
}

/// The files a model's TFTP dir needs, as (description, present?).
fn required_boot_files(n: &Node, f: &NodeFacts, root_files: &[String]) -> Vec<String> {
    let has = |name: &str| f.tftp_files.iter().any(|x| x.name == name);
    let has_prefix = |p: &str, s: &str| {
        f.tftp_files
            .iter()
            .any(|x| x.name.starts_with(p) && x.name.ends_with(s))
    };
    let mut missing = Vec::new();
    match n.model {
        Model::Pi5 => {
            if !has("config.txt") {
                missing.push("config.txt".to_string());
            }
            if !has_prefix("bcm2712", ".dtb") {
                missing.push("bcm2712-rpi-5-b.dtb".to_string());
            }
        }
        Model::Pi3 => {
            if !root_files.iter().any(|x| x == "bootcode.bin") {
                missing.push("bootcode.bin (in the TFTP root)".to_string());
            }
            if !has("start.elf") {
                missing.push("start.elf".to_string());
            }
        }
        Model::Pi4 => {
            if !has("start4.elf") {
                missing.push("start4.elf".to_string());
            }
        }
    }
    if !has_prefix("kernel", ".img") {
        missing.push("a kernel (kernel8.img)".to_string());
    }
    missing
}

/// Unreadable for dnsmasq: not world-readable and not owned+readable by its user.
fn unreadable(fi: &FileInfo, dnsmasq_uid: Option<u32>) -> bool {
    let other = fi.mode & 0o004 != 0;
    let owner = dnsmasq_uid.is_some_and(|u| u == fi.uid) && fi.mode & 0o400 != 0;
    !(other || owner)
}

/// The `nfsroot=SERVER:PATH[,opts]` of a kernel command line.
fn nfsroot(cmdline: &str) -> Option<(String, String, String)> {
    let v = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("nfsroot="))?;
    let (target, opts) = v.split_once(',').unwrap_or((v, ""));
    let (server, path) = target.split_once(':').unwrap_or(("", target));
    Some((
        server.into(),
        path.trim_end_matches('/').into(),
        opts.into(),
    ))
}

/// Whether nfsd's versions line turns NFSv3 on ("+3"); a kernel without the file is v3.
fn nfs_v3_on(versions: &str) -> bool {
    versions.split_whitespace().any(|v| v == "+3")
}

fn exports_has(text: &str, path: &str) -> bool {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.split_whitespace().next() == Some(path))
}

/// Two nodes sharing a serial, MAC or fixed IP. Read from the raw UCI
/// sections, because the core refuses such a config as a whole.
fn duplicates(ids: &[Identity]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (what, code, get) in [
        (
            "serial",
            "duplicate_serial",
            (|i: &Identity| i.serial.clone()) as fn(&Identity) -> String,
        ),
        ("MAC", "duplicate_mac", |i: &Identity| i.mac.clone()),
        ("IP", "duplicate_ip", |i: &Identity| i.ip.clone()),
    ] {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for n in ids {
            let v = get(n);
            if v.is_empty() {
                continue;
            }
            if let Some(first) = seen.get(&v) {
                out.push(find(
                    Level::Error,
                    code,
                    &n.name,
                    format!("nodes '{first}' and '{}' have the same {what} {v}", n.name),
                    format!("a {what} belongs to one Pi: correct one of them (`rpinet node remove` the stale one)"),
                ));
            } else {
                seen.insert(v, &n.name);
            }
        }
    }
    out
}

/// The SSD: configured, present, mounted where storage_path says, the right filesystem.
fn storage(s: &Snapshot, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    let uuid = cfg.storage_uuid.as_deref().unwrap_or_default();
    if let Some(server) = &cfg.server {
        if s.nfs_fs == Some(false) {
            out.push(find(Error, "nfs_client_missing", "",
                format!("the kernel has no NFS client, so the export {} cannot be mounted", server.source()),
                "install kmod-fs-nfs and kmod-fs-nfs-v3 (opkg install / apk add), then `rpinet apply`".into()));
        }
        if let Some(st @ Storage::NotMounted { .. }) = &s.storage {
            out.push(find(Error, "storage_absent", "", st.describe(cfg),
                "run `rpinet apply`: it mounts the export, or says in one line why it cannot; `rpinet storage exports` prints what the server must export".into()));
            return out;
        }
    }
    // the core's guard decides what is mounted and whether it is the SSD
    match &s.storage {
        None | Some(Storage::Mounted { .. }) => {}
        Some(Storage::NotConfigured) => out.push(find(Error, "storage_not_configured", "",
            "no SSD is configured: storage_uuid and storage_path must both be set".into(),
            "set rpinet.main.storage_uuid to the UUID `block info` shows for the SSD, and storage_path to where it is mounted (or, for an NFS server, storage_server and storage_export instead of storage_uuid)".into())),
        Some(Storage::NotMounted { path }) => {
            let present = s.block.as_ref().and_then(|b| b.iter().find(|d| d.uuid.eq_ignore_ascii_case(uuid)));
            let (message, fix) = match (present, &s.block) {
                (Some(d), _) => (
                    format!("the SSD with UUID {} is present as {} but {}", uuid, d.device,
                        if d.mount.is_empty() { format!("not mounted (it should be at {path})") } else { format!("mounted at {} instead of {path}", d.mount) }),
                    format!("mount it at {path}: a block-mount `config mount` section with option uuid '{}' and target '{path}', then `block mount`", uuid)),
                (None, Some(b)) => (
                    format!("no disk with UUID {} is connected ({})", uuid,
                        if b.is_empty() { "block info lists no filesystems".to_string() } else { format!("block info lists {}", b.iter().map(|d| format!("{} {}", d.device, d.uuid)).collect::<Vec<_>>().join(", ")) }),
                    "plug in the SSD, or set storage_uuid to the UUID `block info` shows for it".into()),
                (None, None) => (
                    format!("the SSD with UUID {} is not mounted at {path}", uuid),
                    format!("plug in the SSD and mount it at {path} (block-mount: a mount section with its UUID), or set storage_uuid to the UUID `block info` shows")),
            };
            out.push(find(Error, "storage_absent", "", message, fix));
        }
        Some(w @ Storage::WrongExport { .. }) => out.push(find(Error, "storage_wrong_export", "",
            w.describe(cfg),
            format!("unmount it (umount {}), then `rpinet apply` mounts the export", cfg.storage_path.as_deref().unwrap_or_default()))),
        Some(Storage::WrongFilesystem { path, device, found }) => out.push(find(Error, "storage_wrong_uuid", "",
            format!("{device} is mounted at {path} but its UUID is {}, not {}", found.as_deref().unwrap_or("unreadable"), uuid),
            "mount the right SSD there, or set storage_uuid to the UUID `block info` shows".into())),
    }
    out
}

/// Storage on an NFS server: one finding for each thing a root needs that the export
/// refused the router (doctor's probe), naming the export option that allows it.
fn server_probe(s: &Snapshot, cfg: &Config) -> Vec<Finding> {
    use crate::system::probe::Need;
    let (Some(server), Some(p)) = (&cfg.server, &s.probe) else {
        return Vec::new();
    };
    let on = server.source();
    let squash =
        "export it with no_root_squash (TrueNAS: Maproot User root; Synology: Squash No mapping)";
    let mut out = Vec::new();
    if let Some(why) = &p.failed {
        out.push(find(
            Error,
            "server_not_writable",
            "",
            format!("the router cannot write to the NFS export {on} ({why})"),
            format!("export it read-write to the router; {squash}"),
        ));
    }
    for (need, why) in &p.refused {
        let (level, code, what, fix) = match need {
            Need::RootOwner => (
                Error,
                "server_root_squash",
                "to keep a file root made root's",
                squash,
            ),
            Need::Device => (
                Error,
                "server_no_devices",
                "device nodes (mknod c 1 3)",
                squash,
            ),
            Need::Capability => (
                Info,
                "server_no_xattrs",
                "file capabilities (the security.capability xattr)",
                "none needed: NFSv3 carries no xattrs, so nodes see no file capabilities from any NFSv3 server (the router's nfsd too); roots are copied without them",
            ),
            Need::HardLink => (
                Error,
                "server_no_hard_links",
                "hard links",
                "export a directory of a POSIX filesystem (ext4, xfs, zfs, btrfs), not FAT/exFAT or an SMB-backed one",
            ),
            Need::Symlink => (
                Error,
                "server_no_symlinks",
                "symbolic links",
                "export a directory of a POSIX filesystem (ext4, xfs, zfs, btrfs), not FAT/exFAT or an SMB-backed one",
            ),
            Need::RenameOpen => (
                Error,
                "server_rename_open",
                "renaming a file over an open one (what a package upgrade does)",
                "export it with no_root_squash and sync; a server that answers ESTALE here breaks upgrades on the nodes",
            ),
        };
        out.push(find(
            level,
            code,
            "",
            format!("the NFS export {on} refuses {what}: {why}"),
            fix.into(),
        ));
    }
    out
}

/// Shared roots: the kernel can mount them, each is mounted, and its image is there.
fn shared_roots(s: &Snapshot, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    let wanted: Vec<&str> = cfg
        .nodes
        .iter()
        .filter(|n| {
            s.shared_roots.contains_key(&n.name)
                || cfg.root_mode_of(n) == crate::config::RootMode::Shared
        })
        .map(|n| n.name.as_str())
        .collect();
    if s.overlay_fs == Some(false) && !wanted.is_empty() {
        out.push(find(Error, "overlay_missing", "",
            format!("the kernel has no overlay filesystem, which the shared roots of {} need", wanted.join(", ")),
            "set root_mode to 'copy' (each node gets a private copy of its image) and provision them again, or run a kernel built with overlayfs (CONFIG_OVERLAY_FS: OpenWrt's own kernels have it)".into()));
        return out;
    }
    if !storage_ok(s) || !cfg.enabled {
        return out;
    }
    let sp = cfg.storage_path.as_deref().unwrap_or_default();
    for (name, image) in &s.shared_roots {
        if image.is_empty() || !s.images.contains(image) {
            out.push(find(Error, "shared_root_image_missing", name,
                format!("the shared root of {name} is over image '{image}', which is not in {sp}/images"),
                format!("provision {name} again from an imported image (its own changes in {sp}/roots/{name} are lost with it)")));
        } else if !s.overlays.contains(&format!("{sp}/nfs/{name}")) {
            out.push(find(Error, "shared_root_unmounted", name,
                format!("the shared root of {name} is not mounted on {sp}/nfs/{name}: the node cannot boot"),
                "apply the configuration (rpinet mounts it); if that fails, the kernel log says why (dmesg: overlayfs)".into()));
        }
    }
    out
}

/// The boot network's server address can be found.
fn boot_network(s: &Snapshot, _: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(e) = &s.network_error {
        out.push(find(Error, "boot_network_unknown", "",
            format!("the boot network cannot be determined: {e}"),
            "give the interface a static IPv4 address in /etc/config/network, or set rpinet.main.server_ip".into()));
    }
    out
}

/// dnsmasq runs, reads rpinet.conf, started after it was written, and sees the SSD.
fn dnsmasq(s: &Snapshot, _: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    // dnsmasq
    if s.dnsmasq.is_empty() {
        let known = s
            .procd
            .as_ref()
            .map(|v| {
                v.iter()
                    .filter(|i| i.service == "dnsmasq")
                    .map(|i| i.name.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        out.push(find(Error, "dnsmasq_not_running", "",
            if known.is_empty() { "dnsmasq is not running: nothing answers the Pis' DHCP and TFTP requests".into() }
            else { format!("dnsmasq is not running (procd knows instance {} but it is stopped): nothing answers the Pis' DHCP and TFTP requests", known.join(", ")) },
            "start it: /etc/init.d/dnsmasq restart, then read `logread -e dnsmasq` for why it stopped".into()));
    } else {
        if s.dnsmasq.iter().all(|d| d.conf_dirs.is_some())
            && !s.dnsmasq.iter().any(|d| d.has_rpinet_conf)
        {
            let dirs: Vec<String> = s
                .dnsmasq
                .iter()
                .flat_map(|d| d.conf_dirs.clone().unwrap_or_default())
                .collect();
            out.push(find(Error, "rpinet_conf_not_loaded", "",
                format!("no running dnsmasq reads rpinet.conf (its conf-dirs: {})", if dirs.is_empty() { "none".to_string() } else { dirs.join(", ") }),
                "run `rpinet apply`, which writes rpinet.conf into the conf-dir of the dnsmasq instance serving the interface and reloads it".into()));
        }
        for d in &s.dnsmasq {
            if let (true, Some(start), Some(written)) = (d.has_rpinet_conf, d.started, d.conf_mtime)
            {
                if written > start + 1 {
                    out.push(find(Warning, "rpinet_conf_stale", "",
                        format!("dnsmasq (pid {}) started before rpinet.conf was last written, so it runs without the latest boot settings", d.pid),
                        "restart dnsmasq: /etc/init.d/dnsmasq restart (`rpinet apply` does when rpinet.conf changes)".into()));
                }
            }
        }
        if let (Some(Storage::Mounted { path: sp, .. }), false) =
            (&s.storage, s.dnsmasq.iter().any(|d| d.sees_tftp))
        {
            out.push(find(Error, "dnsmasq_jail_no_ssd", "",
                format!("dnsmasq runs in a jail that does not contain {sp}/tftp, so it cannot serve boot files"),
                format!("run `rpinet apply` (it sets tftp_root / addnmount for {sp}) and restart dnsmasq; the SSD must be mounted before dnsmasq starts")));
        }
    }
    out
}

/// nfsd runs, serves NFSv3, with threads enough for the cluster.
fn nfsd(s: &Snapshot, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    // storage on an NFS server: that server serves the nodes, not the router's nfsd
    if cfg.server.is_some() {
        return out;
    }
    if !s.services.nfsd_running {
        out.push(find(
            Error,
            "nfsd_not_running",
            "",
            "the NFS server is not running: nodes cannot mount their root".into(),
            "install nfs-kernel-server and run /etc/init.d/nfsd start".into(),
        ));
    }
    if let Some(v) = s
        .services
        .nfsd_versions
        .as_deref()
        .filter(|_| s.services.nfsd_running)
    {
        if !nfs_v3_on(v) {
            out.push(find(
                Error,
                "nfsd_no_v3",
                "",
                format!("nfsd serves no NFSv3 (/proc/fs/nfsd/versions: {}): Raspberry Pi OS's initramfs mounts its root with vers=3, so every node stops at NFS root", v.trim()),
                "install the NFSv3 server in place of the v4 one (OpenWrt 25.12: apk del nfs-kernel-server-v4 && apk add nfs-kernel-server), then /etc/init.d/nfsd restart".into(),
            ));
        }
    }
    let enabled = cfg.nodes.iter().filter(|n| n.enabled).count();
    let want = crate::render::nfsd::threads(enabled);
    if let Some(t) = s
        .services
        .nfsd_threads
        .filter(|t| s.services.nfsd_running && *t < want)
    {
        out.push(find(
            Warning,
            "nfsd_threads",
            "",
            format!("nfsd runs {t} threads for {enabled} nodes: Pis that power on together queue for their roots"),
            format!("run `rpinet apply` (it writes [nfsd] threads={want} to {}), then /etc/init.d/nfsd restart", crate::render::nfsd::PATH),
        ));
    }
    out
}

/// The server address is one of the boot interface's.
fn interface_address(s: &Snapshot, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    // interface address
    if let (Some(ip), Some(addrs)) = (server_ip(s, cfg), &s.iface_ipv4) {
        if !addrs.contains(&ip) {
            out.push(find(Error, "server_ip_not_on_interface", "",
                format!("the server address {ip} is not an address of interface '{}' ({})", cfg.interface,
                    if addrs.is_empty() { "it has none".to_string() } else { addrs.join(", ") }),
                "clear server_ip to use the interface's address, or set it to one of the interface's addresses".into()));
        }
    }
    out
}

/// Two nodes sharing a serial, MAC or fixed IP.
fn identities(s: &Snapshot, _: &Config) -> Vec<Finding> {
    duplicates(&s.identities)
}

/// A node's boot directory: there, holding what its model needs (not in the root), readable by dnsmasq; its cmdline.txt and the root's fstab fit an NFS root.
fn node_boot_files(s: &Snapshot, cfg: &Config, n: &Node) -> Vec<Finding> {
    let mut out = Vec::new();
    let f = s.nodes.get(&n.name).cloned().unwrap_or_default();
    let Some((tftp, nfs)) = node_dirs(cfg, n).filter(|_| storage_ok(s)) else {
        return out;
    };
    if !f.tftp_dir_exists {
        out.push(find(Error, "boot_dir_missing", &n.name, format!("the boot directory {tftp} does not exist"),
            format!("run `rpinet node provision {} --image IMAGE` (or `rpinet apply` to create it empty)", n.name)));
    } else {
        let missing = required_boot_files(n, &f, &s.tftp_root_files);
        let in_nfs: Vec<&String> = f
            .nfs_firmware_files
            .iter()
            .filter(|x| !f.tftp_files.iter().any(|t| &&t.name == x))
            .collect();
        if !missing.is_empty() && !in_nfs.is_empty() {
            out.push(find(Error, "boot_files_in_nfs", &n.name,
                format!("the boot files are in {nfs}/boot/firmware but not in {tftp}, where the Pi fetches them over TFTP"),
                format!("move them: the TFTP dir {tftp} is the boot partition (nodes NFS-mount it as /boot/firmware); `rpinet node provision {}` does this", n.name)));
        } else if !missing.is_empty() {
            out.push(find(Error, "boot_files_missing", &n.name,
                format!("{tftp} lacks what a {} needs to boot: {}", n.model.as_str(), missing.join(", ")),
                format!("run `rpinet node provision {} --image IMAGE`, or copy the image's boot partition into {tftp}", n.name)));
        }
        let bad: Vec<&str> = f
            .tftp_files
            .iter()
            .filter(|x| unreadable(x, s.dnsmasq_uid))
            .map(|x| x.name.as_str())
            .take(5)
            .collect();
        if !bad.is_empty() {
            out.push(find(
                Error,
                "tftp_unreadable",
                &n.name,
                format!(
                    "dnsmasq (user dnsmasq) cannot read {} in {tftp}",
                    bad.join(", ")
                ),
                format!("chmod -R a+rX {tftp}"),
            ));
        }
        match &f.cmdline {
            None => {}
            Some(c) => match nfsroot(c) {
                None => out.push(find(Error, "cmdline_no_nfsroot", &n.name,
                    format!("{tftp}/cmdline.txt has no nfsroot=, so the kernel looks for a local root"),
                    format!("use root=/dev/nfs nfsroot=SERVER:{nfs},vers=3 rw ip=dhcp rootwait (`rpinet node provision` writes it)"))),
                Some((server, path, opts)) => {
                    // on an NFS server, the node's root is there, under its export
                    let (want_ip, nfs) = match &s.nfs_server {
                        Some((ip, export)) => (Some(ip.clone()), format!("{export}/nfs/{}", n.name)),
                        None => (server_ip(s, cfg), nfs.clone()),
                    };
                    if let Some(ip) = want_ip {
                        if !server.is_empty() && server != ip {
                            out.push(find(Error, "cmdline_wrong_server", &n.name,
                                format!("cmdline.txt mounts the root from {server}, but it is served at {ip}"),
                                format!("set nfsroot={ip}:{nfs},vers=3 in {tftp}/cmdline.txt")));
                        }
                    }
                    if path != *nfs {
                        out.push(find(Error, "cmdline_wrong_path", &n.name,
                            format!("cmdline.txt mounts {path}, but the node's root is {nfs}"),
                            format!("set the nfsroot path to {nfs} in {tftp}/cmdline.txt")));
                    }
                    let v4 = opts.split(',').any(|o| o.starts_with("vers=4") || o.starts_with("nfsvers=4"));
                    if v4 && f.os_codename.as_deref().is_none_or(|c| c == "bookworm") {
                        out.push(find(Error, "cmdline_nfs_v4", &n.name,
                            "cmdline.txt asks for NFS version 4, which the bookworm initramfs (klibc nfsmount) cannot mount".into(),
                            "use vers=3 in nfsroot=".into()));
                    }
                }
            },
        }
        if let Some(c) = &f.cmdline {
            let first = c
                .split_whitespace()
                .any(|w| w.starts_with("init=") && w.contains("firstboot"));
            let resize = c
                .split_whitespace()
                .any(|w| w == "resize" || w.contains("resize2fs") || w.contains("init_resize"));
            if first || resize {
                out.push(find(Error, "cmdline_firstboot", &n.name,
                    "cmdline.txt still runs the SD-card first-boot/resize step, which fails on an NFS root".into(),
                    format!("remove init=…firstboot and resize from {tftp}/cmdline.txt")));
            }
        }
    }
    if !f.runtimes.is_empty() && cfg.volume_size_of(n).is_none() {
        out.push(find(
            Warning,
            "runtime_without_volume",
            &n.name,
            crate::provision::volume::no_volume_warning(&n.name, &f.runtimes),
            format!("uci set rpinet.{}.volume_size='32G' && uci commit rpinet, then `rpinet node provision {} --image IMAGE` (the volume is made and holds /var/lib/docker, containerd and rancher)", n.name, n.name),
        ));
    }
    if let Some(fs) = &f.fstab {
        if fs
            .lines()
            .map(str::trim)
            .any(|l| l.starts_with("PARTUUID=") || l.starts_with("/dev/mmcblk"))
        {
            out.push(find(Error, "fstab_partuuid", &n.name,
                format!("{nfs}/etc/fstab still mounts the SD card's partitions (PARTUUID=…), so boot waits for a disk that is not there"),
                format!("delete those lines and mount /boot/firmware from SERVER:{tftp} over NFS (vers=3)")));
        }
    }
    out
}

/// A node's root and boot directory are in /etc/exports and exported by nfsd (apply writes
/// them only while the SSD is mounted and rpinet is enabled): the same rule as `status`'s
/// `exported`, both directories.
fn node_exports(s: &Snapshot, cfg: &Config, n: &Node) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some((tftp, nfs)) = node_dirs(cfg, n) else {
        return out;
    };
    if !storage_ok(s) || !cfg.enabled || cfg.server.is_some() {
        return out;
    }
    for dir in [nfs, tftp] {
        match &s.services.exports {
            Some(t) if exports_has(t, &dir) => {
                if s.services.nfsd_running
                    && s.services.etab.is_some()
                    && !s.services.exported(&dir)
                {
                    out.push(find(
                        Error,
                        "export_not_active",
                        &n.name,
                        format!("{dir} is in /etc/exports but not exported"),
                        "run `exportfs -ra` (rpinet apply does) and read its error".into(),
                    ));
                }
            }
            _ => out.push(find(
                Error,
                "export_missing",
                &n.name,
                format!("{dir} is not in /etc/exports"),
                "run `rpinet apply`, which writes the node exports".into(),
            )),
        }
    }
    out
}

/// What the Pi asked for on its last boot and did not get.
fn node_last_boot(s: &Snapshot, cfg: &Config, n: &Node) -> Vec<Finding> {
    let mut out = Vec::new();
    let bd = n.boot_dir();
    let dirs = node_dirs(cfg, n);
    // what the Pi asked for on its last boot
    if let Some(b) = s.boots.get(&n.name) {
        match b.stage {
            crate::observe::trace::Stage::Emergency => out.push(find(
                Error,
                "node_emergency",
                &n.name,
                format!("its last boot ended in emergency or rescue mode: {}", b.problems.join("; ")),
                "look at the node's console (`journalctl -b` there names what failed), fix it and reboot".into(),
            )),
            crate::observe::trace::Stage::Degraded => out.push(find(
                Warning,
                "node_degraded",
                &n.name,
                format!("its last boot ended degraded: {}", b.problems.join("; ")),
                "on the node, `systemctl --failed` and `journalctl -b -p warning` say why; an ordering cycle means a unit's Before=/After= lines contradict each other".into(),
            )),
            _ => {}
        }
        if let Some(e) = &b.report_error {
            out.push(find(
                Warning,
                "report_invalid",
                &n.name,
                format!("{e}, so how its boot ended is unknown"),
                format!("provision the node again (`rpinet node provision {}`), which puts the report writer back", n.name),
            ));
        }
        if let Some(e) = b.error.as_deref().filter(|e| e.ends_with("timed out")) {
            out.push(find(
                Warning,
                "boot_tftp_timeout",
                &n.name,
                format!(
                    "on its last boot (stage {}) a transfer timed out: {e}",
                    b.stage.as_str()
                ),
                ROBUST_EEPROM.into(),
            ));
        } else if let Some(e) = &b.error {
            out.push(find(
                Error,
                "boot_file_not_found",
                &n.name,
                format!(
                    "on its last boot (stage {}) the Pi asked for what is not there: {e}",
                    b.stage.as_str()
                ),
                format!(
                    "check {}: `rpinet node provision {}` rebuilds it",
                    dirs.as_ref()
                        .map_or(format!("tftp/{bd}"), |(t, _)| t.clone()),
                    n.name
                ),
            ));
        }
    }
    out
}

/// A disabled node whose Pi asks to boot.
fn disabled_nodes_booting(s: &Snapshot, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in cfg.nodes.iter().filter(|n| !n.enabled) {
        if let Some(b) = s
            .boots
            .get(&n.name)
            .filter(|b| b.stage != crate::observe::trace::Stage::None)
        {
            out.push(find(
                Warning,
                "disabled_node_booting",
                &n.name,
                format!(
                    "node '{}' is disabled, but its Pi asked to boot (last seen at stage {})",
                    n.name,
                    b.stage.as_str()
                ),
                format!(
                    "enable it (uci set rpinet.{}.enabled=1; rpinet apply) or power the Pi off",
                    n.name
                ),
            ));
        }
    }
    out
}

/// Pis that asked to boot and are not nodes.
fn unknown_pis(s: &Snapshot, _: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in &s.discovered {
        let who = if d.serial.is_empty() {
            d.mac.clone()
        } else {
            format!("{} (serial {})", d.mac, d.serial)
        };
        out.push(find(
            Info,
            "unknown_pi",
            "",
            format!(
                "a Pi{} {} asked to boot but is not a node{}",
                if d.model.is_empty() {
                    String::new()
                } else {
                    format!(" {}", d.model)
                },
                who.trim(),
                if d.missing.is_empty() {
                    String::new()
                } else {
                    format!("; it asked for {}", d.missing.join(", "))
                }
            ),
            format!(
                "rpinet node add NAME --serial {} --mac {}",
                if d.serial.is_empty() {
                    "SERIAL"
                } else {
                    &d.serial
                },
                if d.mac.is_empty() { "MAC" } else { &d.mac }
            ),
        ));
    }
    out
}

/// Exports wider than one node.
fn wide_exports(_: &Snapshot, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    if cfg.server.is_some() {
        return out; // the server's exports are its own (`rpinet storage exports`)
    }
    if cfg.export_subnet {
        out.push(find(Warning, "export_subnet", "",
            "every node's root and boot directory is exported read-write, as root, to the whole boot subnet (export_subnet '1'): any host on the LAN can mount them".into(),
            "uci set rpinet.main.export_subnet='0' && uci commit rpinet: each node is then exported to its own address only".into()));
    } else if cfg.dhcp_mode == crate::config::DhcpMode::Proxy {
        for n in cfg.nodes.iter().filter(|n| n.enabled && n.ip.is_none()) {
            out.push(find(Warning, "exported_to_subnet", &n.name,
                format!("node '{}' has no fixed address, so in proxy mode its root is exported to the whole boot subnet", n.name),
                format!("reserve an address for {} on your DHCP server, then: rpinet node remove {} && rpinet node add {} ... --ip ADDRESS (or uci set rpinet.{}.ip=ADDRESS)", n.mac, n.name, n.name, n.name)));
        }
    }
    out
}

/// Leftovers of dead runs that could not be removed.
fn leftovers(s: &Snapshot, _: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &s.leftovers {
        out.push(find(
            Warning,
            "leftover",
            "",
            format!("{p} was left by an rpinet run that died, and rpinet could not remove it"),
            format!("rm -rf '{p}' (nothing uses it)"),
        ));
    }
    out
}

/// Directories no node owns.
fn orphans(s: &Snapshot, _: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &s.orphans {
        out.push(find(
            Info,
            "orphan_dir",
            "",
            format!("{p} belongs to no node (a node removed without --purge, or renamed)"),
            format!("add the node back, or delete it: rm -rf '{p}'"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfsroot_is_split() {
        assert_eq!(
            nfsroot("console=tty1 root=/dev/nfs nfsroot=192.168.1.1:/mnt/rpinet/nfs/a/,vers=3 rw"),
            Some((
                "192.168.1.1".into(),
                "/mnt/rpinet/nfs/a".into(),
                "vers=3".into()
            ))
        );
        assert_eq!(nfsroot("root=PARTUUID=1234-02"), None);
    }

    /// Storage on an NFS server: the kernel's client, the mount, the nodes' cmdline.txt
    /// against the server's address and export; nothing about the router's nfsd or exports.
    #[test]
    fn storage_on_a_server_is_checked_there() {
        let pkg = crate::config::uci::parse(
            "config rpinet 'main'\n option storage_server 'nas'\n option storage_export '/tank/rp'\n option storage_path '/mnt/rpinet'\n\
             config node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n",
            "rpinet",
        )
        .unwrap();
        let cfg = crate::config::from_package(&pkg).unwrap();
        let mut s = Snapshot {
            config: Some(cfg.clone()),
            storage: Some(Storage::NotMounted {
                path: "/mnt/rpinet".into(),
            }),
            nfs_fs: Some(false),
            server_ip: Some("10.0.0.1".into()),
            ..Snapshot::default()
        };
        let codes =
            |s: &Snapshot| -> Vec<&'static str> { check(s).iter().map(|f| f.code).collect() };
        let f = storage(&s, &cfg);
        assert_eq!(
            f.iter().map(|f| f.code).collect::<Vec<_>>(),
            ["nfs_client_missing", "storage_absent"]
        );
        assert!(
            f[0].fix.contains("kmod-fs-nfs and kmod-fs-nfs-v3"),
            "{}",
            f[0].fix
        );
        assert_eq!(
            f[1].message,
            "the NFS export nas:/tank/rp is not mounted at /mnt/rpinet"
        );
        s.nfs_fs = Some(true);
        s.storage = Some(Storage::Mounted {
            path: "/mnt/rpinet".into(),
            device: "nas:/tank/rp".into(),
        });
        s.nfs_server = Some(("10.0.0.9".into(), "/tank/rp".into()));
        let node = |cmdline: &str| NodeFacts {
            tftp_dir_exists: true,
            nfs_dir_exists: true,
            cmdline: Some(cmdline.into()),
            ..NodeFacts::default()
        };
        let right = "root=/dev/nfs nfsroot=10.0.0.9:/tank/rp/nfs/a,vers=3 rw ip=dhcp rootwait";
        s.nodes.insert("a".into(), node(right));
        let all = codes(&s);
        for gone in [
            "nfsd_not_running",
            "export_missing",
            "cmdline_wrong_server",
            "cmdline_wrong_path",
            "storage_absent",
        ] {
            assert!(!all.contains(&gone), "{gone} in {all:?}");
        }
        let router = "root=/dev/nfs nfsroot=10.0.0.1:/mnt/rpinet/nfs/a,vers=3 rw ip=dhcp rootwait";
        s.nodes.insert("a".into(), node(router));
        let all = codes(&s);
        assert!(
            all.contains(&"cmdline_wrong_server") && all.contains(&"cmdline_wrong_path"),
            "{all:?}"
        );
    }

    /// Each thing the server refused is one finding with its code, naming the export.
    #[test]
    fn each_refusal_of_the_server_is_a_finding() {
        use crate::system::probe::{Need, Probe};
        let pkg = crate::config::uci::parse(
            "config rpinet 'main'\n option storage_server 'nas'\n option storage_export '/tank/rp'\n option storage_path '/mnt/rpinet'\n",
            "rpinet",
        )
        .unwrap();
        let cfg = crate::config::from_package(&pkg).unwrap();
        let mut s = Snapshot {
            probe: Some(Probe::default()),
            ..Snapshot::default()
        };
        assert!(server_probe(&s, &cfg).is_empty());
        for (need, code, level, fix) in [
            (
                Need::RootOwner,
                "server_root_squash",
                Level::Error,
                "no_root_squash",
            ),
            (
                Need::Device,
                "server_no_devices",
                Level::Error,
                "no_root_squash",
            ),
            (
                Need::Capability,
                "server_no_xattrs",
                Level::Info,
                "NFSv3 carries no xattrs",
            ),
            (
                Need::HardLink,
                "server_no_hard_links",
                Level::Error,
                "POSIX filesystem",
            ),
            (
                Need::Symlink,
                "server_no_symlinks",
                Level::Error,
                "POSIX filesystem",
            ),
            (
                Need::RenameOpen,
                "server_rename_open",
                Level::Error,
                "no_root_squash",
            ),
        ] {
            s.probe = Some(Probe {
                refused: vec![(need, "Operation not permitted (os error 1)".into())],
                failed: None,
            });
            let f = server_probe(&s, &cfg);
            assert_eq!(f.len(), 1);
            assert_eq!((f[0].code, f[0].level), (code, level));
            assert!(
                f[0].message
                    .starts_with("the NFS export nas:/tank/rp refuses "),
                "{}",
                f[0].message
            );
            assert!(
                f[0].message
                    .ends_with(": Operation not permitted (os error 1)")
            );
            assert!(f[0].fix.contains(fix), "{}", f[0].fix);
        }
        s.probe = Some(Probe {
            refused: Vec::new(),
            failed: Some("Permission denied (os error 13)".into()),
        });
        let f = server_probe(&s, &cfg);
        assert_eq!((f.len(), f[0].code), (1, "server_not_writable"));
        // an SSD is never probed
        let ssd = crate::config::from_package(
            &crate::config::uci::parse(
                "config rpinet 'main'\n option storage_uuid 'abcd-1234'\n",
                "rpinet",
            )
            .unwrap(),
        )
        .unwrap();
        assert!(server_probe(&s, &ssd).is_empty());
    }

    #[test]
    fn wide_exports_leftovers_and_orphans_are_reported() {
        let pkg = crate::config::uci::parse(
            "config rpinet 'main'\n option export_subnet '1'\nconfig node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n",
            "rpinet",
        )
        .unwrap();
        let s = Snapshot {
            config: Some(crate::config::from_package(&pkg).unwrap()),
            leftovers: vec!["/mnt/rpinet/images/.import-x-77".into()],
            orphans: vec!["/mnt/rpinet/nfs/gone".into()],
            ..Snapshot::default()
        };
        let cfg = s.config.as_ref().unwrap();
        let codes: Vec<&str> = STATE
            .iter()
            .flat_map(|c| c(&s, cfg))
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, ["export_subnet", "leftover", "orphan_dir"]);
    }

    #[test]
    fn shared_roots_need_the_overlay_filesystem_a_mount_and_their_image() {
        let pkg = crate::config::uci::parse(
            "config rpinet 'main'\n option storage_uuid 'abcd-1234'\n option storage_path '/mnt/rpinet'\n option root_mode 'shared'\n\
             config node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n\
             config node 'b'\n option serial '22222222'\n option mac '02:00:00:00:00:02'\n\
             config node 'c'\n option serial '33333333'\n option mac '02:00:00:00:00:03'\n option root_mode 'copy'\n",
            "rpinet",
        )
        .unwrap();
        let cfg = crate::config::from_package(&pkg).unwrap();
        let mut s = Snapshot {
            storage: Some(Storage::Mounted {
                path: "/mnt/rpinet".into(),
                device: "/dev/sda1".into(),
            }),
            overlay_fs: Some(true),
            shared_roots: [("a", "bw"), ("b", "gone")]
                .map(|(n, i)| (n.to_string(), i.to_string()))
                .into(),
            overlays: vec!["/mnt/rpinet/nfs/b".into()],
            images: vec!["bw".into()],
            ..Snapshot::default()
        };
        let found = |s: &Snapshot| -> Vec<(String, &'static str)> {
            shared_roots(s, &cfg)
                .into_iter()
                .map(|f| (f.node, f.code))
                .collect()
        };
        assert_eq!(
            found(&s),
            [
                ("a".to_string(), "shared_root_unmounted"),
                ("b".to_string(), "shared_root_image_missing")
            ]
        );
        s.overlay_fs = Some(false);
        let f = shared_roots(&s, &cfg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "overlay_missing");
        assert!(f[0].message.contains("a, b"), "{}", f[0].message);
        assert!(f[0].fix.contains("root_mode"), "{}", f[0].fix);
    }
}
