//! The views: what `status`, `node show` and `images` answer (docs/api.md), as typed structs
//! serialised by serde, built here and nowhere else. The command line's human output is
//! printed from the same structs, never from JSON read back.

use serde::Serialize;

use crate::config::{Config, DhcpMode, Match, Node};
use crate::observe::facts::Facts;
use crate::observe::trace::{Boot, Stage};
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
    pub nodes: Nodes,
    /// Over every node, before the filter and the page.
    pub summary: Summary,
    /// Nodes the filter matched (all of them without one).
    pub matched: usize,
    pub offset: usize,
    /// 0: every matched node from `offset` on.
    pub limit: usize,
    /// Nodes carry only their compact fields ([`CompactNode`]): the full list would not fit
    /// the reply cap. Ask for a page (`limit`) to get every field.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub compact: bool,
}

/// Which nodes `status` lists: LuCI's overview pages through a large cluster and filters it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusQuery {
    pub offset: usize,
    /// 0 = no limit.
    pub limit: usize,
    /// Nodes whose name, hostname, serial, mac or ip contains it (case-insensitive).
    pub filter: String,
}

/// How the nodes' last boots stand; every node counts once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    /// The OS is up: `up` (not reported yet) or `running`; `running` counts those that
    /// reported a healthy boot again.
    pub up: usize,
    pub running: usize,
    pub degraded: usize,
    pub booting: usize,
    /// A boot error, or emergency mode.
    pub failed: usize,
    pub stalled: usize,
    pub none: usize,
}

impl Summary {
    fn count(&mut self, b: &Boot) {
        self.total += 1;
        let n = match b.stage {
            Stage::None => &mut self.none,
            Stage::Running => {
                self.running += 1;
                &mut self.up
            }
            Stage::Degraded => &mut self.degraded,
            Stage::Emergency => &mut self.failed,
            Stage::Up if !b.stalled => &mut self.up,
            _ if b.error.is_some() => &mut self.failed,
            _ if b.stalled => &mut self.stalled,
            _ => &mut self.booting,
        };
        *n += 1;
    }
}

/// The listed nodes, in full or in their compact form.
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    pub list: Vec<NodeView>,
    pub compact: bool,
}

impl Serialize for Nodes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.compact {
            s.collect_seq(self.list.iter().map(CompactNode::of))
        } else {
            self.list.serialize(s)
        }
    }
}

/// A node in a `status` reply too large for every field: who it is and how its boot stands.
#[derive(Debug, Clone, Serialize)]
pub struct CompactNode<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub model: &'static str,
    pub serial: &'a str,
    pub mac: &'a str,
    pub ip: &'a str,
    pub provisioned: bool,
    pub boot: Option<CompactBoot<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompactBoot<'a> {
    pub stage: Stage,
    pub started: u64,
    pub updated: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stalled: bool,
}

impl<'a> CompactNode<'a> {
    fn of(n: &'a NodeView) -> CompactNode<'a> {
        CompactNode {
            name: &n.name,
            enabled: n.enabled,
            model: n.model,
            serial: &n.serial,
            mac: &n.mac,
            ip: &n.ip,
            provisioned: n.provisioned,
            boot: n.boot.as_ref().map(|b| CompactBoot {
                stage: b.stage,
                started: b.started,
                updated: b.updated,
                error: b.error.as_deref(),
                stalled: b.stalled,
            }),
        }
    }
}

impl NodeView {
    fn matches(&self, filter: &str) -> bool {
        filter.is_empty()
            || [
                &self.name,
                &self.hostname,
                &self.serial,
                &self.mac,
                &self.ip,
            ]
            .iter()
            .any(|f| f.to_ascii_lowercase().contains(filter))
            || self.boot.as_ref().is_some_and(|b| b.ip.contains(filter))
    }
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
    /// "storm: N of M TFTP transfers running, …" while dnsmasq is at its TFTP limit or
    /// requests queue on port 69.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storm: Option<String>,
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
    /// `shared` (the image's root under the node's own changes) or `copy`: what its root
    /// is, or for a node not provisioned what its next provision makes.
    pub root_mode: &'static str,
    /// The root an image roll kept (what `node rollback` goes back to), null when none.
    pub kept: Option<KeptView>,
    /// The node's container volume, null when it has none.
    pub volume: Option<VolumeView>,
    /// The last boot (`status` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<Boot>,
}

/// A kept root: the image it came from ("" when not known).
#[derive(Debug, Clone, Serialize)]
pub struct KeptView {
    pub image: String,
}

/// A node's container volume: its size, what the SSD holds of it (null until the file
/// exists), the router path of the file and where the node mounts it.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeView {
    pub size: u64,
    pub used: Option<u64>,
    pub path: String,
    pub mount: &'static str,
}

/// `node show`: the node and what its EEPROM needs.
#[derive(Debug, Clone, Serialize)]
pub struct NodeDetail {
    #[serde(flatten)]
    pub node: NodeView,
    pub eeprom: Vec<String>,
    pub how_to: Vec<String>,
    /// What will go wrong on this node as it is provisioned (a container runtime without a
    /// volume), one sentence each.
    pub warnings: Vec<String>,
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

/// `storage_exports`: what the NFS server holding the storage must export (the text
/// `rpinet storage exports` prints).
#[derive(Debug, Clone, Serialize)]
pub struct StorageExportsView {
    pub exports: String,
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
pub fn node(world: &World, facts: &Facts, n: &Node) -> NodeView {
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
        exported: facts.services.exported(&nfs_dir) && facts.services.exported(&tftp_dir),
        provisioned: facts.provisioned.contains(&n.name),
        root_mode: if world.shared_roots.contains_key(&n.name) {
            "shared"
        } else if facts.provisioned.contains(&n.name) {
            "copy"
        } else {
            world.config.root_mode_of(n).as_str()
        },
        kept: world.kept.get(&n.name).map(|image| KeptView {
            image: image.clone(),
        }),
        volume: world.config.volume_size_of(n).map(|size| VolumeView {
            size,
            used: world.volume_held.get(&n.name).copied(),
            path: match &world.config.storage_path {
                Some(storage) => format!(
                    "{}/{}",
                    n.volume_dir(storage),
                    crate::plan::world::VOLUME_FILE
                ),
                None => String::new(),
            },
            mount: crate::provision::volume::MOUNT,
        }),
        tftp_dir,
        nfs_dir,
        boot: None,
    }
}

/// The status of the system as `world` and `facts` show it; `pending` is the plan `apply`
/// would carry out now, `boots` each node's last boot (a node with none gets stage "none").
pub fn status(
    world: &World,
    facts: &Facts,
    pending: &[Action],
    boots: &[(String, Boot)],
    query: &StatusQuery,
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
    let by_name: std::collections::HashMap<&str, &Boot> =
        boots.iter().map(|(name, b)| (name.as_str(), b)).collect();
    let none = Boot::none();
    let mut summary = Summary::default();
    let filter = query.filter.to_ascii_lowercase();
    let mut matched = 0;
    let mut list = Vec::new();
    for n in &c.nodes {
        let boot = by_name.get(n.name.as_str()).copied().unwrap_or(&none);
        summary.count(boot);
        let view = NodeView {
            boot: Some(boot.clone()),
            ..node(world, facts, n)
        };
        if !view.matches(&filter) {
            continue;
        }
        matched += 1;
        if matched > query.offset && (query.limit == 0 || list.len() < query.limit) {
            list.push(view);
        }
    }
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
            ok: facts.services.dnsmasq_running() && conf_written && !proxy_blocked,
            running: facts.services.dnsmasq_running(),
            conf_dir: world.instance.conf_dir.clone(),
            conf_written,
            message: match (facts.services.dnsmasq_running(), conf_written) {
                _ if proxy_blocked => dnsmasq::proxy_blocked_message(&c.interface),
                (false, _) => "dnsmasq is not running".to_string(),
                (true, false) => "rpinet.conf is out of date: run 'rpinet apply'".to_string(),
                (true, true) => format!(
                    "serving {} from {}",
                    world.conf_path(),
                    world.instance.conf_dir
                ),
            },
            storm: facts.services.tftp.and_then(|t| {
                let max = world.conf.as_deref().and_then(|c| {
                    c.lines()
                        .find_map(|l| l.strip_prefix("tftp-max="))
                        .and_then(|v| v.trim().parse().ok())
                });
                t.storm(max)
            }),
        },
        nfs: NfsView {
            ok: facts.services.nfsd_running && exports_written,
            running: facts.services.nfsd_running,
            exports_written,
            message: match (facts.services.nfsd_running, exports_written) {
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
        nodes: Nodes {
            list,
            compact: false,
        },
        summary,
        matched,
        offset: query.offset,
        limit: query.limit,
        compact: false,
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
    /// The view in compact form when in full it would reach `cap` bytes of JSON.
    pub fn fit(mut self, cap: usize) -> StatusView {
        let size = serde_json::to_vec(&self).map_or(usize::MAX, |v| v.len());
        if size >= cap {
            self.compact = true;
            self.nodes.compact = true;
        }
        self
    }

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
        if let Some(storm) = &self.dnsmasq.storm {
            out.push_str(&format!("     {storm}\n"));
        }
        out.push_str(&format!(
            "server {} · dhcp_mode {} · match {}\n",
            self.server_ip, self.dhcp_mode, self.matching
        ));
        if self.nodes.list.is_empty() {
            out.push_str("no nodes: add one with 'rpinet node add NAME --serial S --mac M'\n");
        }
        for n in &self.nodes.list {
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
                "{:<16} {:<4} {:<10} {} tftp/{} {}",
                n.name, n.model, n.serial, n.mac, n.boot_dir, state
            ));
            if let Some(b) = &n.boot {
                out.push_str(&format!(" · {}", boot_text(b)));
            }
            out.push('\n');
        }
        out
    }
}

/// A node's last boot in a few words: its stage, and why it failed, stalled or ended badly.
pub fn boot_text(b: &Boot) -> String {
    let mut s = format!("boot: {}", b.stage.as_str());
    if let Some(ms) = b.report.as_ref().and_then(|r| r.times.multi_user_ms) {
        s.push_str(&format!(
            " (multi-user in {}.{} s)",
            ms / 1000,
            ms % 1000 / 100
        ));
    }
    if !b.problems.is_empty() {
        s.push_str(&format!(": {}", b.problems.join("; ")));
    } else if let Some(e) = &b.error {
        s.push_str(&format!(": {e}"));
    } else if b.stalled {
        s.push_str(" (stalled)");
    }
    if let Some(e) = &b.report_error {
        s.push_str(&format!("; {e}"));
    }
    s
}

impl VolumeView {
    /// `32G at /var/lib/rpinet-volume (1234 MiB used, /mnt/rpinet/volumes/lion/disk.img)`.
    pub fn human(&self) -> String {
        let used = match self.used {
            Some(b) => format!("{} MiB used", b >> 20),
            None => "not made yet".to_string(),
        };
        format!(
            "{} at {} ({used}, {})",
            crate::config::size_text(self.size),
            self.mount,
            self.path
        )
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
        if let Some(v) = &n.volume {
            out.push_str(&format!("  volume    {}\n", v.human()));
        }
        if let Some(b) = &n.boot {
            out.push_str(&format!("  last      {}\n", boot_text(b)));
            if let Some(h) = &b.hint {
                out.push_str(&format!("            {h}\n"));
            }
        }
        for w in &self.warnings {
            out.push_str(&format!("WARNING: {w}\n"));
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
pub fn read_status(
    root: &crate::system::root::Root,
    query: &StatusQuery,
) -> crate::error::Result<StatusView> {
    let world = crate::plan::world::load(root)?;
    // A plan that cannot be made (a broken exports block) is reported, not fatal: status
    // shows what it can, as doctor does.
    let (pending, problem) = match crate::plan::plan(&world) {
        Ok(p) => (p, None),
        Err(e) => (Vec::new(), Some(e.message().to_string())),
    };
    let facts = Facts::gather(root, &world);
    let boots = match crate::observe::events::gather(root) {
        Ok(log) => crate::observe::trace::boots(root, &world.config, &log.events()),
        Err(_) => crate::observe::trace::boots(root, &world.config, &[]),
    };
    let mut v = status(&world, &facts, &pending, &boots, query);
    if let Some(why) = problem {
        v.nfs.ok = false;
        v.nfs.exports_written = false;
        v.nfs.message = why;
    }
    Ok(v)
}

/// A view as the JSON value rpcd replies with.
pub fn json(v: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
}
