//! What doctor looks at, read once: [`Snapshot::gather`] reads the config, the SSD guard,
//! the services ([`crate::observe::facts::Services`], as `status` reads them), each dnsmasq's
//! conf-dirs and jail, each node's files and the boot-event log. Never fails: what cannot
//! be read is absent.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::config::Config;
use crate::observe::discover::Discovered;
use crate::observe::facts::{Services, read_small};
use crate::observe::trace::Boot;
use crate::system::root::Root;
use crate::system::storage::Storage;

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
    /// Container runtimes its root holds.
    pub runtimes: Vec<&'static str>,
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
    /// What runs and what is served: the facts `status` reads too.
    pub services: Services,
    /// Each running dnsmasq (of `services.dnsmasq`) as doctor looks at it.
    pub dnsmasq: Vec<Dnsmasq>,
    pub dnsmasq_uid: Option<u32>,
    /// IPv4 addresses of the boot interface (ubus), when known.
    pub iface_ipv4: Option<Vec<String>>,
    /// Filesystems present (`block info` over ubus), when known.
    pub block: Option<Vec<crate::observe::ubus::BlockDev>>,
    /// procd's dnsmasq instances (`service list` over ubus), when known.
    pub procd: Option<Vec<crate::observe::ubus::Instance>>,
    pub tftp_root_files: Vec<String>,
    pub nodes: HashMap<String, NodeFacts>,
    pub boots: HashMap<String, Boot>,
    pub discovered: Vec<Discovered>,
    /// What runs that died left on the storage and could not be removed (router paths).
    pub leftovers: Vec<String>,
    /// Directories in tftp/ and nfs/ that no node names and that hold files.
    pub orphans: Vec<String>,
    /// Whether the kernel has the overlay filesystem (None: /proc/filesystems unreadable).
    pub overlay_fs: Option<bool>,
    /// The nodes whose root is shared, with the image their state dir names ("" none).
    pub shared_roots: std::collections::BTreeMap<String, String>,
    /// Where overlays are mounted on storage/nfs (router paths).
    pub overlays: Vec<String>,
    /// The images imported (names), when the SSD is mounted.
    pub images: Vec<String>,
    /// Where the nodes reach the storage when it is on an NFS server: its address and
    /// export (the router and storage path otherwise, which `server_ip` already says).
    pub nfs_server: Option<(String, String)>,
    /// Whether the kernel has an NFS client (None: /proc/filesystems unreadable).
    pub nfs_fs: Option<bool>,
    /// What the export let the router do, tried under the mounted storage (storage on an
    /// NFS server only).
    pub probe: Option<crate::system::probe::Probe>,
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
        let world = match crate::plan::world::load_with(root, cfg.clone()) {
            Ok(w) => {
                s.server_ip = Some(w.net.server.to_string());
                Some(w)
            }
            Err(e) => {
                s.network_error = Some(e.message().to_string());
                None
            }
        };
        s.overlay_fs = crate::system::overlay::supported(root);
        s.nfs_fs = crate::system::storage::kernel_has(root, "nfs");
        if let Some(w) = world.as_ref().filter(|w| w.config.server.is_some()) {
            s.nfs_server = w
                .storage_for_nodes(root)
                .ok()
                .map(|(ip, export)| (ip.to_string(), export));
        }
        if let Some(w) = &world {
            s.shared_roots = w.shared_roots.clone();
            s.overlays = w.overlays.iter().map(|o| o.at.clone()).collect();
        }
        s.services = Services::gather(
            root,
            world.as_ref().map(|w| w.instance.pid_file()).as_deref(),
            world.as_ref().map(|w| w.net.server),
        );
        s.dnsmasq = s
            .services
            .dnsmasq
            .iter()
            .map(|p| dnsmasq_facts(root, *p, storage.mounted_path()))
            .collect();
        s.dnsmasq_uid =
            read_small(&root.path("/etc/passwd"), 1 << 20).and_then(|t| user_uid(&t, "dnsmasq"));
        let mut bus = crate::observe::ubus::Bus::open(root);
        s.iface_ipv4 = bus.interface_ipv4(&cfg.interface);
        s.block = bus.block_info();
        s.procd = bus.service_instances(&["dnsmasq"]);
        // Only the mounted SSD is looked at (never the bare mount point on flash).
        let mounted = storage.mounted_path().map(str::to_string);
        if let Some(sp) = mounted.as_ref().filter(|_| cfg.server.is_some()) {
            s.probe = Some(crate::system::probe::probe(&root.path(sp)));
        }
        if let Some(sp) = &mounted {
            s.tftp_root_files = list_files(&root.path(format!("{sp}/tftp")), 4096)
                .into_iter()
                .map(|f| f.name)
                .collect();
            let mut dirs: Vec<String> = ["images", "tftp", "nfs", "roots"]
                .map(|d| format!("{sp}/{d}"))
                .into();
            dirs.push(sp.clone());
            s.leftovers = crate::system::sweep::leftovers(root, &dirs)
                .into_iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            s.orphans = orphans(root, sp, &cfg);
            s.images = std::fs::read_dir(root.path(format!("{sp}/images")))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
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
                f.runtimes =
                    crate::provision::volume::runtimes_at(root, &format!("{sp}/nfs/{}", n.name));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_dirs_are_read() {
        assert_eq!(
            conf_dirs("x=1\nconf-dir=/tmp/dnsmasq.cfg01411c.d,*.conf\n"),
            ["/tmp/dnsmasq.cfg01411c.d"]
        );
    }
}
