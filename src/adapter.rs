//! The seam between the ubus/tracing/doctor code and the core (`config`,
//! `world`, `status`, `node`). The tracing and doctor code read a plain view
//! of the core's validated `Config` ([`Config::load`] goes through
//! `world::load_config`, so validation is the core's); `status`, `node_add`
//! and `node_remove` are the core's own functions, the ones the CLI runs.

use serde_json::{Value, json};

use crate::error::Result;
use crate::root::Root;

/// The `main` section (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Main {
    pub enabled: bool,
    pub storage_uuid: String,
    pub storage_path: String,
    pub interface: String,
    pub server_ip: String,
    pub dhcp_mode: String,
    pub matching: String,
}

/// One `node` section (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub enabled: bool,
    pub serial: String,
    pub mac: String,
    pub model: String,
    pub boot_id: String,
    pub custom_dir: String,
    pub ip: String,
    pub image: String,
}

impl Node {
    /// The TFTP directory name under tftp/ (SPEC §2).
    pub fn boot_dir(&self) -> String {
        match self.boot_id.as_str() {
            "mac" => self.mac.replace(':', "-"),
            "custom" => self.custom_dir.clone(),
            _ => self.serial.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub main: Main,
    pub nodes: Vec<Node>,
}

impl Default for Main {
    fn default() -> Self {
        Main {
            enabled: true,
            storage_uuid: String::new(),
            storage_path: "/mnt/rpinet".into(),
            interface: "lan".into(),
            server_ip: String::new(),
            dhcp_mode: "server".into(),
            matching: "registered".into(),
        }
    }
}

impl Config {
    /// Read and validate /etc/config/rpinet under `root` (the core's reader).
    pub fn load(root: &Root) -> Result<Config> {
        let (_, c) = crate::world::load_config(root)?;
        Ok(Config::from_core(&c))
    }

    /// The plain view of the core's typed config.
    pub fn from_core(c: &crate::config::Config) -> Config {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        Config {
            main: Main {
                enabled: c.enabled,
                storage_uuid: opt(&c.storage_uuid),
                storage_path: c
                    .storage_path
                    .clone()
                    .unwrap_or_else(|| "/mnt/rpinet".into()),
                interface: c.interface.clone(),
                server_ip: c.server_ip.map(|i| i.to_string()).unwrap_or_default(),
                dhcp_mode: match c.dhcp_mode {
                    crate::config::DhcpMode::Proxy => "proxy".into(),
                    _ => "server".into(),
                },
                matching: match c.matching {
                    crate::config::Match::AnyPi => "any-pi".into(),
                    _ => "registered".into(),
                },
            },
            nodes: c
                .nodes
                .iter()
                .map(|n| Node {
                    name: n.name.clone(),
                    enabled: n.enabled,
                    serial: n.serial.clone(),
                    mac: n.mac.to_string(),
                    model: n.model.as_str().into(),
                    boot_id: n.boot_id.as_str().into(),
                    custom_dir: opt(&n.custom_dir),
                    ip: n.ip.map(|i| i.to_string()).unwrap_or_default(),
                    image: opt(&n.image),
                })
                .collect(),
        }
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// The arguments of `node_add` (already type-checked by rpcd.rs).
pub struct NewNode<'a> {
    pub name: &'a str,
    pub serial: &'a str,
    pub mac: &'a str,
    pub model: Option<&'a str>,
    pub boot_id: Option<&'a str>,
    pub boot_dir: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// `node_add`: the core's `node add` (the same code the CLI runs).
pub fn node_add(root: &Root, n: &NewNode) -> Result<Value> {
    let own = |o: Option<&str>| o.filter(|s| !s.is_empty()).map(str::to_string);
    let req = crate::node::NodeRequest {
        name: n.name.into(),
        serial: n.serial.into(),
        mac: n.mac.into(),
        model: own(n.model),
        boot_id: own(n.boot_id),
        boot_dir: own(n.boot_dir),
        ip: own(n.ip),
    };
    let added = crate::node::add(root, &req)?;
    let world = crate::world::load(root)?;
    let probe = crate::status::Probe::read(root, &world);
    Ok(json!({ "node": crate::status::node_json(&world, &probe, &added, true) }))
}

/// `node_remove`: the core's `node remove`.
pub fn node_remove(root: &Root, name: &str, purge: bool) -> Result<Value> {
    let purged = crate::node::remove(root, name, purge)?;
    Ok(json!({ "removed": name, "purged": purged }))
}

/// Add each node's last boot ("boot") to a status reply.
pub fn add_boots(root: &Root, config: &crate::config::Config, status: &mut Value) {
    let cfg = Config::from_core(config);
    let events = match crate::events::gather(root) {
        Ok(log) => crate::trace::boots(root, &cfg, &log.events()),
        Err(_) => crate::trace::boots(root, &cfg, &[]),
    };
    let boots = events;
    if let Some(nodes) = status.get_mut("nodes").and_then(Value::as_array_mut) {
        for n in nodes {
            let name = n
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let boot = boots
                .iter()
                .find(|(b, _)| *b == name)
                .map(|(_, b)| b.to_json())
                .unwrap_or_else(|| crate::trace::Boot::none().to_json());
            if let Value::Object(m) = n {
                m.insert("boot".into(), boot);
            }
        }
    }
}

/// `status`: the core's status report (what `rpinet status --json` prints)
/// with each node's last boot added.
pub fn status(root: &Root) -> Result<Value> {
    let world = crate::world::load(root)?;
    let pending = crate::apply::plan(&world)?;
    let probe = crate::status::Probe::read(root, &world);
    let mut v = crate::status::report(&world, &probe, &pending);
    add_boots(root, &world.config, &mut v);
    Ok(v)
}

/// `images`: the imported images under storage_path/images/.
pub fn images(root: &Root) -> Result<Value> {
    let cfg = Config::load(root)?;
    let dir = root.path(format!(
        "{}/images",
        cfg.main.storage_path.trim_end_matches('/')
    ));
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten().take(1024) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.path().is_dir() {
                continue;
            }
            let created = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let meta: Value = std::fs::read(e.path().join("image.json"))
                .ok()
                .and_then(|t| serde_json::from_slice(&t).ok())
                .unwrap_or(Value::Null);
            let os = std::fs::read_to_string(e.path().join("root/etc/os-release"))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
                        .map(|v| v.trim_matches('"').to_string())
                })
                .unwrap_or_default();
            let used_by: Vec<&str> = cfg
                .nodes
                .iter()
                .filter(|n| n.image == name)
                .map(|n| n.name.as_str())
                .collect();
            out.push(json!({
                "name": name,
                "created": meta.get("created").and_then(Value::as_u64).unwrap_or(created),
                "size": meta.get("size").and_then(Value::as_u64).unwrap_or(0),
                "os": meta.get("os").and_then(Value::as_str).map(str::to_string).unwrap_or(os),
                "used_by": used_by,
            }));
        }
    }
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(json!({ "images": out }))
}
