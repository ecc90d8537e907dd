//! The views: what `status`, `node show` and `images` answer (docs/api.md), as typed structs
//! serialised by serde, built here and nowhere else. The command line's human output is
//! printed from the same structs, never from JSON read back.

use serde::Serialize;

use crate::config::{Config, DhcpMode, Match, Node};
use crate::observe::status::Probe;
use crate::observe::trace::Boot;
use crate::plan::world::World;
use crate::plan::{Action, world::EXPORTS_PATH};
use crate::system::dnsmasq;
use crate::system::storage::Storage;

/// The `status` reply.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub enabled: bool,
    pub storage: StorageView,
    pub dnsmasq: DnsmasqView,
    pub nfs: NfsView,
    pub server_ip: String,
    pub dhcp_mode: &'static str,
    #[serde(rename = "match")]
    pub matching: &'static str,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StorageView {
    pub ok: bool,
    pub uuid: String,
    pub path: String,
    pub mounted: bool,
    pub device: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsmasqView {
    pub ok: bool,
    pub running: bool,
    pub conf_dir: String,
    pub conf_written: bool,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NfsView {
    pub ok: bool,
    pub running: bool,
    pub exports_written: bool,
    pub message: String,
}

/// One node as `status`, `node show` and `node_add` show it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    pub name: String,
    pub hostname: String,
    pub enabled: bool,
    pub model: &'static str,
    pub serial: String,
    pub mac: String,
    pub boot_id: &'static str,
    pub boot_dir: String,
    pub ip: String,
    pub image: String,
    /// Router paths of the node's directories; empty while no storage_path is set.
    pub tftp_dir: String,
    pub nfs_dir: String,
    pub dirs_present: bool,
    pub exported: bool,
    pub provisioned: bool,
    /// The last boot (`status` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<Boot>,
}

/// `node show`: the node and what its EEPROM needs.
#[derive(Debug, Clone, Serialize)]
pub struct NodeDetail {
    #[serde(flatten)]
    pub node: NodeView,
    pub eeprom: Vec<String>,
    pub how_to: Vec<String>,
}

/// One imported image, as `images` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageView {
    pub name: String,
    pub created: u64,
    pub size: u64,
    pub os: String,
    pub used_by: Vec<String>,
}

/// `inventory`: Ansible's JSON inventory — every group by name (`all`, then
/// one per model and per image) and the hosts' variables under `_meta`.
#[derive(Debug, Clone, Default)]
pub struct InventoryView {
    /// `_meta`
    pub meta: InventoryMeta,
    /// Every group, beside `_meta` in the same object.
    pub groups: std::collections::BTreeMap<String, InventoryGroup>,
}

impl Serialize for InventoryView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.groups.len() + 1))?;
        m.serialize_entry("_meta", &self.meta)?;
        for (name, g) in &self.groups {
            m.serialize_entry(name, g)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InventoryMeta {
    /// host -> (variable -> value), values of safe characters only (see api/inventory.rs).
    pub hostvars:
        std::collections::BTreeMap<String, std::collections::BTreeMap<&'static str, String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InventoryGroup {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
}

/// `image_catalog`: the OS images of the catalog (Raspberry Pi Imager's list) and when
/// the router fetched it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CatalogView {
    pub images: Vec<CatalogImage>,
    pub fetched: u64,
}

/// One image of the catalog; sizes in bytes, 0 and "" when the list does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CatalogImage {
    pub name: String,
    pub description: String,
    pub release_date: String,
    pub url: String,
    /// The download (the .img.xz).
    pub size: u64,
    /// The .img inside.
    pub extract_size: u64,
    pub sha256: String,
    pub extract_sha256: String,
}

/// One node of an image roll, as the roll's job reports it under `nodes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollNode {
    pub name: String,
    /// pending | provisioning | booting | up | failed
    pub state: &'static str,
    /// The furthest boot stage reached on the new image.
    pub stage: &'static str,
    pub error: Option<String>,
    /// The node's boot trace, when it failed to come up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<Boot>,
}

/// A node as the world shows it.
pub fn node(world: &World, probe: &Probe, n: &Node) -> NodeView {
    let (tftp_dir, nfs_dir) = match &world.config.storage_path {
        Some(storage) => (
            format!("{storage}/tftp/{}", n.boot_dir()),
            format!("{storage}/nfs/{}", n.name),
        ),
        None => (String::new(), String::new()),
    };
    NodeView {
        name: n.name.clone(),
        hostname: n.hostname(),
        enabled: n.enabled,
        model: n.model.as_str(),
        serial: n.serial.clone(),
        mac: n.mac.to_string(),
        boot_id: n.boot_id.as_str(),
        boot_dir: n.boot_dir(),
        ip: n.ip.map(|i| i.to_string()).unwrap_or_default(),
        image: n.image.clone().unwrap_or_default(),
        dirs_present: world.existing_dirs.contains(&tftp_dir)
            && world.existing_dirs.contains(&nfs_dir),
        exported: probe.active_exports.contains(&nfs_dir)
            && probe.active_exports.contains(&tftp_dir),
        provisioned: probe.provisioned.contains(&n.name),
        tftp_dir,
        nfs_dir,
        boot: None,
    }
}

/// The status of the system as `world` and `probe` show it; `pending` is the plan `apply`
/// would carry out now, `boots` each node's last boot (a node with none gets stage "none").
pub fn status(
    world: &World,
    probe: &Probe,
    pending: &[Action],
    boots: &[(String, Boot)],
) -> StatusView {
    let c = &world.config;
    let pending_path = |p: &str| {
        pending
            .iter()
            .any(|a| matches!(a, Action::Write { path, .. } | Action::Remove { path } if path == p))
    };
    let conf_written = !pending_path(&world.conf_path());
    let exports_written = !pending_path(EXPORTS_PATH);
    let mounted = world.storage.mounted_path().is_some();
    let proxy_blocked =
        c.dhcp_mode == DhcpMode::Proxy && dnsmasq::pool_ignored(&world.dhcp, &c.interface);
    let nodes = c
        .nodes
        .iter()
        .map(|n| {
            let boot = boots
                .iter()
                .find(|(name, _)| *name == n.name)
                .map_or_else(Boot::none, |(_, b)| b.clone());
            NodeView {
                boot: Some(boot),
                ..node(world, probe, n)
            }
        })
        .collect();
    let (device, path) = match &world.storage {
        Storage::Mounted { device, path } => (device.clone(), path.clone()),
        _ => (String::new(), c.storage_path.clone().unwrap_or_default()),
    };
    StatusView {
        enabled: c.enabled,
        storage: StorageView {
            ok: mounted,
            uuid: c.storage_uuid.clone().unwrap_or_default(),
            path,
            mounted,
            device,
            message: world.storage.describe(c),
        },
        dnsmasq: DnsmasqView {
            ok: probe.dnsmasq_running && conf_written && !proxy_blocked,
            running: probe.dnsmasq_running,
            conf_dir: world.instance.conf_dir.clone(),
            conf_written,
            message: match (probe.dnsmasq_running, conf_written) {
                _ if proxy_blocked => dnsmasq::proxy_blocked_message(&c.interface),
                (false, _) => "dnsmasq is not running".to_string(),
                (true, false) => "rpinet.conf is out of date: run 'rpinet apply'".to_string(),
                (true, true) => format!(
                    "serving {} from {}",
                    world.conf_path(),
                    world.instance.conf_dir
                ),
            },
        },
        nfs: NfsView {
            ok: probe.nfsd_running && exports_written,
            running: probe.nfsd_running,
            exports_written,
            message: match (probe.nfsd_running, exports_written) {
                (false, _) => "the NFS server (nfsd) is not running".to_string(),
                (true, false) => "/etc/exports is out of date: run 'rpinet apply'".to_string(),
                (true, true) => "exports up to date".to_string(),
            },
        },
        server_ip: world.net.server.to_string(),
        dhcp_mode: if c.dhcp_mode == DhcpMode::Proxy {
            "proxy"
        } else {
            "server"
        },
        matching: if c.matching == Match::AnyPi {
            "any-pi"
        } else {
            "registered"
        },
        nodes,
    }
}

/// An image directory's entry: its image.json where present, else what the directory shows.
pub fn image(config: &Config, name: &str, dir: &std::path::Path) -> ImageView {
    let created = std::fs::symlink_metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let meta: serde_json::Value = std::fs::read(dir.join("image.json"))
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let os = meta.get("os").and_then(|v| v.as_str()).map_or_else(
        || crate::image::os_release::read_codename_at(&dir.join("root")),
        str::to_string,
    );
    ImageView {
        name: name.to_string(),
        created: meta
            .get("created")
            .and_then(|v| v.as_u64())
            .unwrap_or(created),
        size: meta.get("size").and_then(|v| v.as_u64()).unwrap_or(0),
        os,
        used_by: config
            .nodes
            .iter()
            .filter(|n| n.image.as_deref() == Some(name))
            .map(|n| n.name.clone())
            .collect(),
    }
}

impl StatusView {
    /// What `rpinet status` prints.
    pub fn human(&self) -> String {
        let mark = |ok: bool| if ok { "ok  " } else { "FAIL" };
        let mut out = String::new();
        for (ok, part, message) in [
            (self.storage.ok, "storage", &self.storage.message),
            (self.dnsmasq.ok, "dnsmasq", &self.dnsmasq.message),
            (self.nfs.ok, "nfs", &self.nfs.message),
        ] {
            out.push_str(&format!("{} {part:<8} {message}\n", mark(ok)));
        }
        out.push_str(&format!(
            "server {} · dhcp_mode {} · match {}\n",
            self.server_ip, self.dhcp_mode, self.matching
        ));
        if self.nodes.is_empty() {
            out.push_str("no nodes: add one with 'rpinet node add NAME --serial S --mac M'\n");
        }
        for n in &self.nodes {
            let state = if !n.enabled {
                "disabled"
            } else if !n.dirs_present {
                "no dirs"
            } else if !n.exported {
                "not exported"
            } else {
                "ready"
            };
            out.push_str(&format!(
                "{:<16} {:<4} {:<10} {} tftp/{} {}\n",
                n.name, n.model, n.serial, n.mac, n.boot_dir, state
            ));
        }
        out
    }
}

impl NodeDetail {
    /// What `rpinet node show` prints.
    pub fn human(&self) -> String {
        let n = &self.node;
        let mut out = format!(
            "node {} ({}): {} serial {} mac {}\n  boot dir  {}\n  root      {}\n",
            n.name, n.hostname, n.model, n.serial, n.mac, n.tftp_dir, n.nfs_dir
        );
        if !n.ip.is_empty() {
            out.push_str(&format!("  fixed ip  {}\n", n.ip));
        }
        if !self.eeprom.is_empty() {
            out.push_str("EEPROM settings (sudo rpi-eeprom-config --edit):\n");
            for line in &self.eeprom {
                out.push_str(&format!("  {line}\n"));
            }
        }
        for line in &self.how_to {
            out.push_str(&format!("{line}\n"));
        }
        out
    }
}

/// The status reply of the system as it is now (what `rpinet status --json` prints and the
/// `status` method answers). An unreadable event log counts as no events.
pub fn read_status(root: &crate::system::root::Root) -> crate::error::Result<StatusView> {
    let world = crate::plan::world::load(root)?;
    let pending = crate::plan::plan(&world)?;
    let probe = Probe::read(root, &world);
    let boots = match crate::observe::events::gather(root) {
        Ok(log) => crate::observe::trace::boots(root, &world.config, &log.events()),
        Err(_) => crate::observe::trace::boots(root, &world.config, &[]),
    };
    Ok(status(&world, &probe, &pending, &boots))
}

/// A view as the JSON value rpcd replies with.
pub fn json(v: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
}
