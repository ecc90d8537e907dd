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
}

impl World {
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

/// Read everything. Fails (before anything is written) on an invalid config or when the
/// boot network cannot be determined.
pub fn load(root: &Root) -> Result<World> {
    let (_, config) = load_config(root)?;
    load_with(root, config)
}

/// Read everything but the config, which is given (a change not yet committed).
pub fn load_with(root: &Root, config: Config) -> Result<World> {
    let read_text =
        |path: &str| -> Result<String> { Ok(read_opt(&root.path(path))?.unwrap_or_default()) };
    let net = network::boot_net(
        &config,
        &uci::parse(&read_text(NETWORK_PATH)?, NETWORK_PATH)?,
    )?;
    let dhcp_text = read_text(DHCP_PATH)?;
    let dhcp = uci::parse(&dhcp_text, DHCP_PATH)?;
    let release = read_opt(&root.path("/etc/openwrt_release"))?;
    let instance = dnsmasq::find_instance(
        &dhcp,
        &config.interface,
        |section| {
            read_opt(&root.path(dnsmasq::generated_config_path(section)))
                .ok()
                .flatten()
        },
        release.as_deref(),
    )?;
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
    };
    world.existing_dirs = world
        .wanted_dirs()
        .into_iter()
        .filter(|d| root.path(d).is_dir())
        .collect();
    if let Some(sp) = world.inputs().storage.map(str::to_string) {
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
            let Ok(rd) = std::fs::read_dir(root.path(format!("{sp}/{top}"))) else {
                continue;
            };
            for e in rd.flatten().take(4096) {
                let name = e.file_name().to_string_lossy().into_owned();
                let path = format!("{sp}/{top}/{name}");
                let empty_dir = e.file_type().is_ok_and(|t| t.is_dir())
                    && std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_none());
                if !name.starts_with('.') && empty_dir && !named.contains(&path) {
                    world.empty_strays.insert(path);
                }
            }
        }
    }
    if let Some(storage) = world.storage.mounted_path().map(str::to_string) {
        for n in &world.config.nodes {
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
