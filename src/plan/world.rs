//! A snapshot of everything rpinet's decisions depend on, read once from the system.
//!
//! `apply`, `status` and the ubus methods all decide from a `World`; only this module reads
//! the files they decide from, so those decisions are pure functions of it.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::network::{self, BootNet, NETWORK_PATH};
use crate::config::uci::{self, Package};
use crate::config::{self, CONFIG_PATH, Config};
use crate::error::{Context, Result};
use crate::render::{self, Inputs};
use crate::system::dnsmasq::{self, DHCP_PATH, Instance};
use crate::system::fs::read_opt;
use crate::system::root::Root;
use crate::system::storage::{self, Storage};

pub const EXPORTS_PATH: &str = "/etc/exports";
pub const CONF_NAME: &str = "rpinet.conf";
/// The volume file in storage/volumes/<node>/ (docs/SPEC.md §2).
pub const VOLUME_FILE: &str = "disk.img";

#[derive(Debug, Clone)]
pub struct World {
    pub config: Config,
    pub net: BootNet,
    pub dhcp: Package,
    /// The text `dhcp` was parsed from ("" when the file is absent): a write of
    /// /etc/config/dhcp happens only while the file still holds it.
    pub dhcp_text: String,
    pub instance: Instance,
    pub storage: Storage,
    /// Current content of rpinet.conf in the conf-dir.
    pub conf: Option<String>,
    /// Current files of the hosts dir: name → content.
    pub host_files: BTreeMap<String, String>,
    pub exports: Option<String>,
    /// Current content of rpinet's nfs.conf drop-in.
    pub nfs_conf: Option<String>,
    /// Router paths of the storage directories that exist (only looked at when mounted).
    pub existing_dirs: BTreeSet<String>,
    /// Empty directories in tftp/ and nfs/ that no node of the config names (left by a run
    /// killed before it committed its node, or by a node removed without --purge whose
    /// directories were emptied): `apply` removes them.
    pub empty_strays: BTreeSet<String>,
    /// Bytes the SSD holds for each node's volume file (it is sparse), by node name; only
    /// nodes whose volume file exists.
    pub volume_held: BTreeMap<String, u64>,
    /// dnsmasq's leases (its lease file), for reservations inside its pool.
    pub leases: Vec<crate::config::reserve::Lease>,
    /// The nodes of the config whose root is shared (a state dir in storage/roots), with the
    /// image their state dir names.
    pub shared_roots: BTreeMap<String, String>,
    /// The overlays mounted on storage/nfs/* now.
    pub overlays: Vec<crate::system::overlay::Overlay>,
    /// The nodes of the config with a kept root (an image roll's, for `node rollback`), with
    /// the image it came from ("" when not known).
    pub kept: BTreeMap<String, String>,
}

/// The name an old tree is kept under beside `leaf` while a roll waits for the node.
pub fn kept_name(leaf: &[u8]) -> Vec<u8> {
    [b".", leaf, b".prev"].concat()
}

/// The file beside a kept root that names the image it came from.
pub fn kept_image_file(leaf: &str) -> Vec<u8> {
    [&kept_name(leaf.as_bytes())[..], b".image"].concat()
}

/// The name in a one-line file (a state dir's `image`, a kept root's image file) when it is
/// an image name.
fn image_named(path: &std::path::Path) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    let s = std::io::read_to_string(std::io::Read::take(f, 256)).ok()?;
    let s = s.trim();
    config::check_image_name(s).ok().map(|_| s.to_string())
}

impl World {
    /// Where the nodes reach the storage (server address, path there): the router and the
    /// storage path, or the NFS server and its export.
    pub fn storage_for_nodes(&self, root: &Root) -> Result<(std::net::Ipv4Addr, String)> {
        let addr = self
            .storage
            .mounted_path()
            .and_then(|p| storage::server_addr(root, p));
        self.storage.for_nodes(&self.config, self.net.server, addr)
    }

    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            config: &self.config,
            net: self.net,
            storage: if self.config.enabled {
                self.storage.mounted_path()
            } else {
                None
            },
            conf_dir: &self.instance.conf_dir,
        }
    }

    pub fn conf_path(&self) -> String {
        format!("{}/{CONF_NAME}", self.instance.conf_dir)
    }

    pub fn hosts_dir(&self) -> String {
        render::hosts_dir(&self.instance.conf_dir)
    }

    /// The directories every enabled node needs on storage, parents first.
    pub fn wanted_dirs(&self) -> Vec<String> {
        let Some(storage) = self.inputs().storage else {
            return Vec::new();
        };
        let mut dirs = vec![
            format!("{storage}/tftp"),
            format!("{storage}/nfs"),
            format!("{storage}/images"),
        ];
        let enabled = || self.config.nodes.iter().filter(|n| n.enabled);
        if enabled().any(|n| self.config.volume_size_of(n).is_some()) {
            dirs.push(format!("{storage}/volumes"));
        }
        for n in enabled() {
            dirs.push(format!("{storage}/tftp/{}", n.boot_dir()));
            dirs.push(format!("{storage}/nfs/{}", n.name));
            if self.config.volume_size_of(n).is_some() {
                dirs.push(n.volume_dir(storage));
            }
        }
        dirs
    }
}

/// Read and validate /etc/config/rpinet.
pub fn load_config(root: &Root) -> Result<(Package, Config)> {
    let text = read_opt(&root.path(CONFIG_PATH))?.unwrap_or_default();
    let pkg = uci::parse(&text, CONFIG_PATH)?;
    let config = config::from_package(&pkg)?;
    Ok((pkg, config))
}

/// The main section of /etc/config/rpinet, validated, without its nodes: what a clean-up
/// needs, read without checking every node of a large cluster.
pub fn load_main(root: &Root) -> Result<Config> {
    let text = read_opt(&root.path(CONFIG_PATH))?.unwrap_or_default();
    config::main_section(&uci::parse(&text, CONFIG_PATH)?)
}

/// Read everything. Fails (before anything is written) on an invalid config or when the
/// boot network cannot be determined.
pub fn load(root: &Root) -> Result<World> {
    let (_, config) = load_config(root)?;
    load_with(root, config)
}

/// The dnsmasq instance serving the config's interface, as /etc/config/dhcp (`dhcp`, parsed)
/// and the init script's generated configs say.
pub fn find_instance(
    root: &Root,
    config: &Config,
    dhcp: &uci::Package,
) -> Result<dnsmasq::Instance> {
    let release = read_opt(&root.path("/etc/openwrt_release"))?;
    dnsmasq::find_instance(
        dhcp,
        &config.interface,
        |section| {
            read_opt(&root.path(dnsmasq::generated_config_path(section)))
                .ok()
                .flatten()
        },
        release.as_deref(),
    )
}

/// The dnsmasq instance of the config on disk, reading no more than it needs (the config
/// and /etc/config/dhcp).
pub fn load_instance(root: &Root) -> Result<dnsmasq::Instance> {
    let config = load_main(root)?;
    let dhcp = uci::parse(
        &read_opt(&root.path(DHCP_PATH))?.unwrap_or_default(),
        DHCP_PATH,
    )?;
    find_instance(root, &config, &dhcp)
}

/// A directory's entries: name → whether it is a directory (following a symlink, as
/// `is_dir` does; the entry type saves a stat for the rest). None when it cannot be read.
fn entries(dir: &std::path::Path) -> Option<BTreeMap<String, bool>> {
    let rd = std::fs::read_dir(dir).ok()?;
    let mut out = BTreeMap::new();
    // inserted one by one: collecting would sort them first, more code for no gain
    for e in rd.flatten().take(1 << 16) {
        let is_dir = match e.file_type() {
            Ok(t) if t.is_dir() => true,
            Ok(t) if t.is_file() => false,
            _ => e.path().is_dir(),
        };
        out.insert(e.file_name().to_string_lossy().into_owned(), is_dir);
    }
    Some(out)
}

/// Read everything but the config, which is given (a change not yet committed). Per node it
/// reads only what a decision needs: its host entry, and its volume's file when it has one;
/// which node directories exist comes from one listing of each storage folder.
pub fn load_with(root: &Root, config: Config) -> Result<World> {
    let read_text =
        |path: &str| -> Result<String> { Ok(read_opt(&root.path(path))?.unwrap_or_default()) };
    let net = network::boot_net(
        &config,
        &uci::parse(&read_text(NETWORK_PATH)?, NETWORK_PATH)?,
    )?;
    let dhcp_text = read_text(DHCP_PATH)?;
    let dhcp = uci::parse(&dhcp_text, DHCP_PATH)?;
    let instance = find_instance(root, &config, &dhcp)?;
    let storage = storage::check(root, &config);
    let conf = read_opt(&root.path(format!("{}/{CONF_NAME}", instance.conf_dir)))?;
    let mut host_files = BTreeMap::new();
    let hosts_dir = root.path(render::hosts_dir(&instance.conf_dir));
    if let Ok(entries) = std::fs::read_dir(&hosts_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let text = std::fs::read_to_string(entry.path())
                .ctx(|| format!("failed to read {}", entry.path().display()))?;
            host_files.insert(name, text);
        }
    }
    let exports = read_opt(&root.path(EXPORTS_PATH))?;
    let mut world = World {
        config,
        net,
        dhcp,
        dhcp_text,
        instance,
        storage,
        conf,
        host_files,
        exports,
        nfs_conf: read_opt(&root.path(render::nfsd::PATH))?,
        existing_dirs: BTreeSet::new(),
        empty_strays: BTreeSet::new(),
        volume_held: BTreeMap::new(),
        leases: Vec::new(),
        shared_roots: BTreeMap::new(),
        overlays: Vec::new(),
        kept: BTreeMap::new(),
    };
    world.leases = crate::config::reserve::parse_leases(
        &read_opt(&root.path(world.instance.lease_file(&world.dhcp)))?.unwrap_or_default(),
    );
    if let Some(sp) = world.inputs().storage.map(str::to_string) {
        let listed: [(&str, Option<BTreeMap<String, bool>>); 3] =
            ["tftp", "nfs", "volumes"].map(|top| (top, entries(&root.path(format!("{sp}/{top}")))));
        let listing = |top: &str| listed.iter().find(|(t, _)| *t == top).map(|(_, m)| m);
        let tops = ["tftp", "nfs", "images", "volumes"].map(|d| format!("{sp}/{d}"));
        world.existing_dirs = world
            .wanted_dirs()
            .into_iter()
            .filter(|d| {
                if tops.contains(d) {
                    return root.path(d).is_dir();
                }
                let rest = d.strip_prefix(&format!("{sp}/")).unwrap_or(d);
                let (top, name) = rest.split_once('/').unwrap_or((rest, ""));
                match listing(top) {
                    Some(Some(m)) => m.get(name).copied().unwrap_or(false),
                    Some(None) => false,
                    None => root.path(d).is_dir(),
                }
            })
            .collect();
        let named: BTreeSet<String> = world
            .config
            .nodes
            .iter()
            .flat_map(|n| {
                [
                    format!("{sp}/tftp/{}", n.boot_dir()),
                    format!("{sp}/nfs/{}", n.name),
                ]
            })
            .collect();
        for top in ["tftp", "nfs"] {
            let Some(Some(m)) = listing(top) else {
                continue;
            };
            for (name, is_dir) in m.iter().take(4096) {
                let path = format!("{sp}/{top}/{name}");
                if name.starts_with('.') || !is_dir || named.contains(&path) {
                    continue;
                }
                if std::fs::read_dir(root.path(&path)).is_ok_and(|mut d| d.next().is_none()) {
                    world.empty_strays.insert(path);
                }
            }
        }
    }
    if let Some(sp) = world.storage.mounted_path().map(str::to_string) {
        let roots = entries(&root.path(format!("{sp}/roots"))).unwrap_or_default();
        let nfs = entries(&root.path(format!("{sp}/nfs"))).unwrap_or_default();
        for n in &world.config.nodes {
            if roots.get(&n.name) == Some(&true) {
                let named = image_named(&root.path(format!("{sp}/roots/{}/image", n.name)));
                world
                    .shared_roots
                    .insert(n.name.clone(), named.unwrap_or_default());
            }
            let kept = String::from_utf8_lossy(&kept_name(n.name.as_bytes())).into_owned();
            if nfs.get(&kept) == Some(&true) {
                let file = format!("{sp}/nfs/{kept}.image");
                world.kept.insert(
                    n.name.clone(),
                    image_named(&root.path(file)).unwrap_or_default(),
                );
            }
        }
        let under = format!("{sp}/nfs/");
        world.overlays = crate::system::overlay::mounted(root)
            .into_iter()
            .filter(|o| o.at.starts_with(&under))
            .collect();
    }
    if let Some(storage) = world.storage.mounted_path().map(str::to_string) {
        for n in &world.config.nodes {
            if world.config.volume_size_of(n).is_none() {
                continue;
            }
            let file = root.path(format!("{}/{}", n.volume_dir(&storage), VOLUME_FILE));
            if let Ok(md) = std::fs::symlink_metadata(&file)
                .ok()
                .filter(|m| m.is_file())
                .ok_or(())
            {
                world.volume_held.insert(
                    n.name.clone(),
                    std::os::unix::fs::MetadataExt::blocks(&md) * 512,
                );
            }
        }
    }
    Ok(world)
}
