//! `rpinet doctor`: every known cause of a failed netboot, each as a finding
//! with a level, a code, a message and the fix.
//!
//! Two halves: [`Snapshot::gather`] reads what the system shows (config,
//! mount table, superblock, processes, dnsmasq's conf-dir, exports, each
//! node's files, the boot-event log), and [`check`] is a pure function from
//! that snapshot to findings, so every finding is tested without a router.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{Value, json};

use crate::config::{Config, Model, Node};
use crate::error::Result;
use crate::observe::discover::Discovered;
use crate::observe::trace::Boot;
use crate::system::root::Root;
use crate::system::storage::Storage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub code: &'static str,
    pub node: String,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn to_json(&self) -> Value {
        json!({"level": self.level.as_str(), "code": self.code, "node": self.node,
               "message": self.message, "fix": self.fix})
    }
}

/// A file in a node's TFTP directory: name, mode, owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub mode: u32,
    pub uid: u32,
}

/// A running dnsmasq.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dnsmasq {
    pub pid: u32,
    /// conf-dirs named by its config file; None when it could not be read.
    pub conf_dirs: Option<Vec<String>>,
    /// conf-dirs (of the above) holding rpinet.conf.
    pub has_rpinet_conf: bool,
    /// Whether <storage_path>/tftp exists as the process sees its root (jail).
    pub sees_tftp: bool,
    /// When the process started and when its rpinet.conf was last written
    /// (Unix seconds), when known.
    pub started: Option<u64>,
    pub conf_mtime: Option<u64>,
}

/// What was read about one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFacts {
    pub tftp_dir_exists: bool,
    pub tftp_files: Vec<FileInfo>,
    pub nfs_dir_exists: bool,
    /// Boot files found in nfs/<node>/boot/firmware (the manual mistake).
    pub nfs_firmware_files: Vec<String>,
    pub cmdline: Option<String>,
    pub fstab: Option<String>,
    pub os_codename: Option<String>,
}

/// A node section's identity as written (lowercased), before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub serial: String,
    pub mac: String,
    pub ip: String,
}

/// The identities of the node sections of /etc/config/rpinet, unvalidated.
pub fn identities(text: &str) -> Vec<Identity> {
    let Ok(pkg) = crate::config::uci::parse(text, crate::config::CONFIG_PATH) else {
        return Vec::new();
    };
    let opt = |s: &crate::config::uci::Section, k: &str| match s.get(k) {
        Some(crate::config::uci::Value::Option(v)) => v.trim().to_ascii_lowercase(),
        _ => String::new(),
    };
    pkg.sections
        .iter()
        .filter(|s| s.kind == "node")
        .map(|s| Identity {
            name: s.name.clone().unwrap_or_default(),
            serial: opt(s, "serial"),
            mac: crate::observe::events::normalize_mac(&opt(s, "mac"))
                .unwrap_or_else(|| opt(s, "mac")),
            ip: opt(s, "ip"),
        })
        .collect()
}

/// Everything `check` looks at.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub config: Option<Config>,
    pub config_error: Option<String>,
    pub identities: Vec<Identity>,
    /// The core's SSD guard: what is mounted at storage_path and its UUID.
    pub storage: Option<Storage>,
    /// The server address the core derives (server_ip, else the interface's
    /// address in /etc/config/network), or why it cannot.
    pub server_ip: Option<String>,
    pub network_error: Option<String>,
    pub dnsmasq: Vec<Dnsmasq>,
    pub dnsmasq_uid: Option<u32>,
    pub nfsd_running: bool,
    /// /proc/fs/nfsd/versions ("-2 +3 +4 …") and /proc/fs/nfsd/threads, when nfsd runs.
    pub nfsd_versions: Option<String>,
    pub nfsd_threads: Option<usize>,
    pub exports: Option<String>,
    pub etab: Option<String>,
    /// IPv4 addresses of the boot interface (ubus), when known.
    pub iface_ipv4: Option<Vec<String>>,
    /// Filesystems present (`block info` over ubus), when known.
    pub block: Option<Vec<crate::observe::ubus::BlockDev>>,
    /// procd's dnsmasq instances (`service list` over ubus), when known.
    pub services: Option<Vec<crate::observe::ubus::Instance>>,
    pub tftp_root_files: Vec<String>,
    pub nodes: HashMap<String, NodeFacts>,
    pub boots: HashMap<String, Boot>,
    pub discovered: Vec<Discovered>,
    /// What runs that died left on the storage and could not be removed (router paths).
    pub leftovers: Vec<String>,
    /// Directories in tftp/ and nfs/ that no node names and that hold files.
    pub orphans: Vec<String>,
}

/// The EEPROM settings that carry a Pi through a boot storm (every Pi of the cluster powered
/// on at once), for `node show` and doctor.
pub const ROBUST_EEPROM: &str = "to ride out every Pi powering on at once: keep TFTP_FILE_TIMEOUT at 30000 or more (the 5000 minimum fails under load, and more so with initramfs8), set NET_BOOT_MAX_RETRIES=-1 (retry the network boot forever), and end BOOT_ORDER in f (e.g. 0xf21: restart the boot order instead of halting)";

fn find(level: Level, code: &'static str, node: &str, message: String, fix: String) -> Finding {
    Finding {
        level,
        code,
        node: node.into(),
        message,
        fix,
    }
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

fn etab_has(text: &str, path: &str) -> bool {
    text.lines()
        .any(|l| l.split('\t').next() == Some(path) || l.split_whitespace().next() == Some(path))
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

/// Every finding for a snapshot, errors first.
pub fn check(s: &Snapshot) -> Vec<Finding> {
    let mut out = check_core(s);
    out.extend(check_state(s));
    out
}

/// Exports wider than one node, leftovers of dead runs, directories no node owns.
fn check_state(s: &Snapshot) -> Vec<Finding> {
    use Level::*;
    let mut out = Vec::new();
    let Some(cfg) = &s.config else {
        return out;
    };
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
    for p in &s.leftovers {
        out.push(find(
            Warning,
            "leftover",
            "",
            format!("{p} was left by an rpinet run that died, and rpinet could not remove it"),
            format!("rm -rf '{p}' (nothing uses it)"),
        ));
    }
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

fn check_core(s: &Snapshot) -> Vec<Finding> {
    use Level::*;
    let mut out = Vec::new();
    let Some(cfg) = &s.config else {
        out.push(find(
            Error,
            "config_invalid",
            "",
            format!(
                "the configuration cannot be read: {}",
                s.config_error.as_deref().unwrap_or("unknown error")
            ),
            "fix /etc/config/rpinet (the message names the section and option)".into(),
        ));
        out.extend(duplicates(&s.identities));
        return out;
    };
    // Where the SSD is configured to be; with none, nothing on it is looked at.
    let sp = cfg.storage_path.as_deref();
    // The guard reports NotMounted and WrongFilesystem only when storage_uuid is set.
    let uuid = cfg.storage_uuid.as_deref().unwrap_or_default();

    // storage (the core's guard decides what is mounted and whether it is the SSD)
    let storage_ok = matches!(s.storage, Some(Storage::Mounted { .. }));
    match &s.storage {
        None | Some(Storage::Mounted { .. }) => {}
        Some(Storage::NotConfigured) => out.push(find(Error, "storage_not_configured", "",
            "no SSD is configured: storage_uuid and storage_path must both be set".into(),
            "set rpinet.main.storage_uuid to the UUID `block info` shows for the SSD, and storage_path to where it is mounted".into())),
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
        Some(Storage::WrongFilesystem { path, device, found }) => out.push(find(Error, "storage_wrong_uuid", "",
            format!("{device} is mounted at {path} but its UUID is {}, not {}", found.as_deref().unwrap_or("unreadable"), uuid),
            "mount the right SSD there, or set storage_uuid to the UUID `block info` shows".into())),
    }
    if let Some(e) = &s.network_error {
        out.push(find(Error, "boot_network_unknown", "",
            format!("the boot network cannot be determined: {e}"),
            "give the interface a static IPv4 address in /etc/config/network, or set rpinet.main.server_ip".into()));
    }

    // dnsmasq
    if s.dnsmasq.is_empty() {
        let known = s
            .services
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

    // NFS
    if !s.nfsd_running {
        out.push(find(
            Error,
            "nfsd_not_running",
            "",
            "the NFS server is not running: nodes cannot mount their root".into(),
            "install nfs-kernel-server and run /etc/init.d/nfsd start".into(),
        ));
    }
    if let Some(v) = s.nfsd_versions.as_deref().filter(|_| s.nfsd_running) {
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
    if let Some(t) = s.nfsd_threads.filter(|t| s.nfsd_running && *t < want) {
        out.push(find(
            Warning,
            "nfsd_threads",
            "",
            format!("nfsd runs {t} threads for {enabled} nodes: Pis that power on together queue for their roots"),
            format!("run `rpinet apply` (it writes [nfsd] threads={want} to {}), then /etc/init.d/nfsd restart", crate::render::nfsd::PATH),
        ));
    }

    // interface address
    if let (Some(ip), Some(addrs)) = (server_ip(s, cfg), &s.iface_ipv4) {
        if !addrs.contains(&ip) {
            out.push(find(Error, "server_ip_not_on_interface", "",
                format!("the server address {ip} is not an address of interface '{}' ({})", cfg.interface,
                    if addrs.is_empty() { "it has none".to_string() } else { addrs.join(", ") }),
                "clear server_ip to use the interface's address, or set it to one of the interface's addresses".into()));
        }
    }

    out.extend(duplicates(&s.identities));

    // per node
    for n in cfg.nodes.iter().filter(|n| n.enabled) {
        let f = s.nodes.get(&n.name).cloned().unwrap_or_default();
        let bd = n.boot_dir();
        // The node's directories on storage (router paths), when storage is configured.
        let dirs = sp.map(|sp| (format!("{sp}/tftp/{bd}"), format!("{sp}/nfs/{}", n.name)));
        if let (true, Some((tftp, nfs))) = (storage_ok, &dirs) {
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
                            if let Some(ip) = server_ip(s, cfg) {
                                if !server.is_empty() && server != ip {
                                    out.push(find(Error, "cmdline_wrong_server", &n.name,
                                        format!("cmdline.txt mounts the root from {server}, but this router serves it at {ip}"),
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
                    let resize = c.split_whitespace().any(|w| {
                        w == "resize" || w.contains("resize2fs") || w.contains("init_resize")
                    });
                    if first || resize {
                        out.push(find(Error, "cmdline_firstboot", &n.name,
                            "cmdline.txt still runs the SD-card first-boot/resize step, which fails on an NFS root".into(),
                            format!("remove init=…firstboot and resize from {tftp}/cmdline.txt")));
                    }
                }
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
        }
        // exports: apply writes them only while the SSD is mounted and rpinet is enabled
        match (&dirs, &s.exports) {
            (None, _) => {}
            _ if !storage_ok || !cfg.enabled => {}
            (Some((_, nfs)), Some(t)) if exports_has(t, nfs) => {
                if s.nfsd_running {
                    if let Some(e) = &s.etab {
                        if !etab_has(e, nfs) {
                            out.push(find(
                                Error,
                                "export_not_active",
                                &n.name,
                                format!("{nfs} is in /etc/exports but not exported"),
                                "run `exportfs -ra` (rpinet apply does) and read its error".into(),
                            ));
                        }
                    }
                }
            }
            (Some((_, nfs)), _) => out.push(find(
                Error,
                "export_missing",
                &n.name,
                format!("{nfs} is not in /etc/exports"),
                "run `rpinet apply`, which writes the node exports".into(),
            )),
        }
        // what the Pi asked for on its last boot
        if let Some(b) = s.boots.get(&n.name) {
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
    }
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
    out.sort_by_key(|f| f.level);
    out
}

// ---- the imperative edge: read the snapshot ----

fn read_small(path: &Path, max: u64) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// (pid, comm) of every process under root's /proc.
fn processes(root: &Root) -> Vec<(u32, String)> {
    let Ok(rd) = std::fs::read_dir(root.path("/proc")) else {
        return Vec::new();
    };
    rd.filter_map(|e| {
        let e = e.ok()?;
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = read_small(&e.path().join("comm"), 64)?;
        Some((pid, comm.trim().to_string()))
    })
    .collect()
}

/// The conf-dirs a dnsmasq's config file names (`conf-dir=DIR[,exts]`).
pub fn conf_dirs(conf: &str) -> Vec<String> {
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("conf-dir="))
        .map(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string()
        })
        .filter(|d| !d.is_empty())
        .collect()
}

/// Facts about the dnsmasq with `pid`; `storage` is the mounted SSD's path, if any.
fn dnsmasq_facts(root: &Root, pid: u32, storage: Option<&str>) -> Dnsmasq {
    let cmdline = std::fs::read(root.path(format!("/proc/{pid}/cmdline"))).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mut conf_file = None;
    for (i, a) in args.iter().enumerate() {
        if a == "-C" || a == "--conf-file" {
            conf_file = args.get(i + 1).cloned();
        } else if let Some(v) = a
            .strip_prefix("--conf-file=")
            .or_else(|| a.strip_prefix("-C").filter(|v| !v.is_empty()))
        {
            conf_file = Some(v.to_string());
        }
    }
    let conf_file = conf_file.unwrap_or_else(|| "/etc/dnsmasq.conf".into());
    let mut dirs: Option<Vec<String>> =
        read_small(&root.path(&conf_file), 256 * 1024).map(|t| conf_dirs(&t));
    for a in &args {
        if let Some(v) = a.strip_prefix("--conf-dir=") {
            dirs.get_or_insert_with(Vec::new)
                .push(v.split(',').next().unwrap_or("").to_string());
        }
    }
    let conf = dirs.as_ref().and_then(|d| {
        d.iter()
            .map(|d| root.path(format!("{d}/rpinet.conf")))
            .find(|p| p.is_file())
    });
    let has = conf.is_some();
    let conf_mtime = conf
        .and_then(|p| std::fs::metadata(p).ok())
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    // /proc/<pid>/stat field 22 is the start in clock ticks (USER_HZ, 100 on
    // Linux) after boot; /proc/stat's btime is the boot's Unix time.
    let started = read_small(&root.path(format!("/proc/{pid}/stat")), 4096)
        .and_then(|st| {
            let rest = st.rsplit_once(')')?.1;
            rest.split_whitespace().nth(19)?.parse::<u64>().ok()
        })
        .and_then(|ticks| {
            let stat = read_small(&root.path("/proc/stat"), 64 * 1024)?;
            let btime = stat
                .lines()
                .find_map(|l| l.strip_prefix("btime "))?
                .trim()
                .parse::<u64>()
                .ok()?;
            Some(btime + ticks / 100)
        });
    let jail = root.path(format!("/proc/{pid}/root"));
    let sees = storage.is_some_and(|sp| {
        jail.join(format!(
            "{}/tftp",
            sp.trim_start_matches('/').trim_end_matches('/')
        ))
        .is_dir()
    });
    Dnsmasq {
        pid,
        conf_dirs: dirs,
        has_rpinet_conf: has,
        started,
        conf_mtime,
        sees_tftp: sees,
    }
}

fn user_uid(passwd: &str, user: &str) -> Option<u32> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&user))
            .then(|| f.get(2)?.parse().ok())
            .flatten()
    })
}

fn list_files(dir: &Path, max: usize) -> Vec<FileInfo> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| {
        let e = e.ok()?;
        let m = e.metadata().ok()?;
        Some(FileInfo {
            name: e.file_name().to_string_lossy().into_owned(),
            mode: m.mode(),
            uid: m.uid(),
        })
    })
    .take(max)
    .collect()
}

impl Snapshot {
    /// Read everything `check` needs. Never fails: what cannot be read is absent.
    pub fn gather(root: &Root) -> Snapshot {
        let mut s = Snapshot::default();
        if let Some(t) = read_small(&root.path(crate::config::CONFIG_PATH), 1 << 20) {
            s.identities = identities(&t);
        }
        let cfg = match crate::plan::world::load_config(root) {
            Ok((_, c)) => c,
            Err(e) => {
                s.config_error = Some(e.message().to_string());
                return s;
            }
        };
        let storage = crate::system::storage::check(root, &cfg);
        match crate::plan::world::load_with(root, cfg.clone()) {
            Ok(w) => s.server_ip = Some(w.net.server.to_string()),
            Err(e) => s.network_error = Some(e.message().to_string()),
        }
        let procs = processes(root);
        s.dnsmasq = procs
            .iter()
            .filter(|(_, c)| c == "dnsmasq")
            .map(|(p, _)| dnsmasq_facts(root, *p, storage.mounted_path()))
            .collect();
        s.nfsd_running = procs.iter().any(|(_, c)| c == "nfsd")
            || read_small(&root.path("/proc/fs/nfsd/threads"), 32)
                .and_then(|t| t.trim().parse::<u32>().ok())
                .is_some_and(|n| n > 0);
        s.nfsd_versions = read_small(&root.path("/proc/fs/nfsd/versions"), 256);
        s.nfsd_threads =
            read_small(&root.path("/proc/fs/nfsd/threads"), 32).and_then(|t| t.trim().parse().ok());
        s.dnsmasq_uid =
            read_small(&root.path("/etc/passwd"), 1 << 20).and_then(|t| user_uid(&t, "dnsmasq"));
        s.exports = read_small(&root.path("/etc/exports"), 1 << 20);
        s.etab = read_small(&root.path("/var/lib/nfs/etab"), 1 << 20);
        let mut bus = crate::observe::ubus::Bus::open(root);
        s.iface_ipv4 = bus.interface_ipv4(&cfg.interface);
        s.block = bus.block_info();
        s.services = bus.service_instances(&["dnsmasq"]);
        // Only the mounted SSD is looked at (never the bare mount point on flash).
        let mounted = storage.mounted_path().map(str::to_string);
        if let Some(sp) = &mounted {
            s.tftp_root_files = list_files(&root.path(format!("{sp}/tftp")), 4096)
                .into_iter()
                .map(|f| f.name)
                .collect();
            let dirs: Vec<String> = ["images", "tftp", "nfs"]
                .map(|d| format!("{sp}/{d}"))
                .into();
            s.leftovers = crate::system::sweep::leftovers(root, &dirs)
                .into_iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            s.orphans = orphans(root, sp, &cfg);
        }
        for n in &cfg.nodes {
            let mut f = NodeFacts::default();
            if let Some(sp) = &mounted {
                let tftp = root.path(format!("{sp}/tftp/{}", n.boot_dir()));
                let nfs = root.path(format!("{sp}/nfs/{}", n.name));
                f.tftp_dir_exists = !n.boot_dir().is_empty() && tftp.is_dir();
                if f.tftp_dir_exists {
                    f.tftp_files = list_files(&tftp, 4096);
                    f.cmdline = read_small(&tftp.join("cmdline.txt"), 4096);
                }
                f.nfs_dir_exists = nfs.is_dir();
                f.nfs_firmware_files = list_files(&nfs.join("boot/firmware"), 4096)
                    .into_iter()
                    .map(|x| x.name)
                    .filter(|x| {
                        x == "start4.elf"
                            || x == "config.txt"
                            || x == "start.elf"
                            || (x.starts_with("kernel") && x.ends_with(".img"))
                    })
                    .collect();
                f.fstab = read_small(&nfs.join("etc/fstab"), 64 * 1024);
                f.os_codename = Some(crate::image::os_release::read_codename_at(&nfs))
                    .filter(|c| !c.is_empty());
            }
            s.nodes.insert(n.name.clone(), f);
        }
        if let Ok(log) = crate::observe::events::gather(root) {
            let (boots, disc) = crate::observe::observe(root, &cfg, &log.events());
            s.boots = boots.into_iter().collect();
            s.discovered = disc;
        }
        s.storage = Some(storage);
        s.config = Some(cfg);
        s
    }
}

/// Non-empty directories in tftp/ and nfs/ that no node of `cfg` names (router paths).
fn orphans(root: &Root, sp: &str, cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for top in ["tftp", "nfs"] {
        let Ok(rd) = std::fs::read_dir(root.path(format!("{sp}/{top}"))) else {
            continue;
        };
        for e in rd.flatten().take(4096) {
            let name = e.file_name().to_string_lossy().into_owned();
            let owned = cfg.nodes.iter().any(|n| {
                (top == "nfs" && n.name == name) || (top == "tftp" && n.boot_dir() == name)
            });
            let dir = e.file_type().is_ok_and(|t| t.is_dir());
            let empty = std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_none());
            if dir && !owned && !empty && !name.starts_with('.') {
                out.push(format!("{sp}/{top}/{name}"));
            }
        }
    }
    out.sort();
    out
}

/// The `doctor` ubus method.
pub fn reply(root: &Root) -> Result<Value> {
    let f = check(&Snapshot::gather(root));
    Ok(json!({ "findings": f.iter().map(Finding::to_json).collect::<Vec<_>>() }))
}

/// `rpinet doctor [--json]`: exit 1 when anything is an error.
pub fn run(root: &Root, as_json: bool) -> Result<i32> {
    let f = check(&Snapshot::gather(root));
    if as_json {
        println!(
            "{}",
            json!({ "findings": f.iter().map(Finding::to_json).collect::<Vec<_>>() })
        );
    } else if f.is_empty() {
        println!("no problems found");
    } else {
        for x in &f {
            let who = if x.node.is_empty() {
                String::new()
            } else {
                format!(" [{}]", x.node)
            };
            println!(
                "{:<7} {}{}: {}\n        fix: {}",
                x.level.as_str(),
                x.code,
                who,
                x.message,
                x.fix
            );
        }
    }
    Ok(if f.iter().any(|x| x.level == Level::Error) {
        1
    } else {
        0
    })
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

    #[test]
    fn conf_dirs_are_read() {
        assert_eq!(
            conf_dirs("x=1\nconf-dir=/tmp/dnsmasq.cfg01411c.d,*.conf\n"),
            ["/tmp/dnsmasq.cfg01411c.d"]
        );
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
        let codes: Vec<&str> = check_state(&s).iter().map(|f| f.code).collect();
        assert_eq!(codes, ["export_subnet", "leftover", "orphan_dir"]);
    }
}
