//! The seam between the ubus/tracing/doctor code and the core (`config`,
//! `status`, `node`). Everything this branch needs from the core goes through
//! here, so switching to the core's own types is a change in this file only.
//!
//! Until the core lands in main this holds a small stand-in: a read-only UCI
//! reader for /etc/config/rpinet that yields the same field names the core's
//! typed `Config` uses. It validates only what the tracing and doctor code
//! rely on; the core's `config` module is the authority.

use serde_json::{Value, json};

use crate::error::{Context, Error, Result};
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
    /// The hostname: the node name with '-' for '_'.
    pub fn hostname(&self) -> String {
        self.name.replace('_', "-")
    }

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
    /// Read /etc/config/rpinet under `root`.
    pub fn load(root: &Root) -> Result<Config> {
        let path = root.path("/etc/config/rpinet");
        let text =
            std::fs::read_to_string(&path).ctx(|| format!("failed to read {}", path.display()))?;
        parse_uci(&text)
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
pub fn node_add(_root: &Root, n: &NewNode) -> Result<Value> {
    Err(Error::new(format!(
        "node_add '{}': adding nodes is not in this build yet (the core's `node add`)",
        n.name
    )))
}

/// `node_remove`: the core's `node remove`.
pub fn node_remove(_root: &Root, name: &str, _purge: bool) -> Result<Value> {
    Err(Error::new(format!(
        "node_remove '{name}': removing nodes is not in this build yet (the core's `node remove`)"
    )))
}

/// One node as `status` lists it, without "boot" (docs/api.md).
pub fn node_json(
    cfg: &Config,
    n: &Node,
    facts: Option<&crate::doctor::NodeFacts>,
    exported: bool,
) -> Value {
    let sp = cfg.main.storage_path.trim_end_matches('/');
    let tftp_dir = format!("{sp}/tftp/{}", n.boot_dir());
    let nfs_dir = format!("{sp}/nfs/{}", n.name);
    let dirs = facts.is_some_and(|f| f.tftp_dir_exists && f.nfs_dir_exists);
    let provisioned = facts.is_some_and(|f| {
        f.tftp_files
            .iter()
            .any(|x| x.name.starts_with("kernel") && x.name.ends_with(".img"))
    });
    json!({
        "name": n.name, "hostname": n.hostname(), "enabled": n.enabled, "model": n.model,
        "serial": n.serial, "mac": n.mac, "boot_id": n.boot_id, "boot_dir": n.boot_dir(),
        "ip": n.ip, "image": n.image, "tftp_dir": tftp_dir, "nfs_dir": nfs_dir,
        "dirs_present": dirs, "exported": exported, "provisioned": provisioned,
    })
}

/// `status`: health and every node with its last boot. Stand-in for the
/// core's `status` (which will supply everything but "boot").
pub fn status(root: &Root) -> Result<Value> {
    let snap = crate::doctor::Snapshot::gather(root);
    let Some(cfg) = &snap.config else {
        return Err(Error::new(
            snap.config_error
                .unwrap_or_else(|| "no configuration".into()),
        ));
    };
    let sp = cfg.main.storage_path.trim_end_matches('/');
    let findings = crate::doctor::check(&snap);
    let has = |code: &str| findings.iter().any(|f| f.code == code);
    let storage_ok = snap.mount.is_some() && !has("storage_wrong_uuid");
    let running = !snap.dnsmasq.is_empty();
    let conf_dir = snap
        .dnsmasq
        .iter()
        .find_map(|d| d.conf_dirs.as_ref().and_then(|v| v.first().cloned()))
        .unwrap_or_default();
    let conf_written = snap.dnsmasq.iter().any(|d| d.has_rpinet_conf);
    let exports = snap.exports.clone().unwrap_or_default();
    let nodes: Vec<Value> = cfg
        .nodes
        .iter()
        .map(|n| {
            let nfs = format!("{sp}/nfs/{}", n.name);
            let exported = exports
                .lines()
                .any(|l| l.split_whitespace().next() == Some(nfs.as_str()));
            let mut v = node_json(cfg, n, snap.nodes.get(&n.name), exported);
            let boot = snap
                .boots
                .get(&n.name)
                .cloned()
                .unwrap_or_else(crate::trace::Boot::none);
            if let Value::Object(m) = &mut v {
                m.insert("boot".into(), boot.to_json());
            }
            v
        })
        .collect();
    Ok(json!({
        "enabled": cfg.main.enabled,
        "storage": {"ok": storage_ok, "uuid": cfg.main.storage_uuid, "path": sp,
                    "mounted": snap.mount.is_some(),
                    "device": snap.mount.as_ref().map(|m| m.0.clone()).unwrap_or_default(),
                    "message": if storage_ok { format!("SSD mounted at {sp}") }
                               else if snap.mount.is_none() { format!("nothing mounted at {sp}") }
                               else { format!("the filesystem at {sp} is not the one with UUID {}", cfg.main.storage_uuid) }},
        "dnsmasq": {"ok": running && conf_written, "running": running, "conf_dir": conf_dir,
                    "conf_written": conf_written,
                    "message": if !running { "dnsmasq is not running" } else if !conf_written { "rpinet.conf is not in dnsmasq's conf-dir" } else { "dnsmasq serves rpinet.conf" }},
        "nfs": {"ok": snap.nfsd_running && !has("export_missing"), "running": snap.nfsd_running,
                "exports_written": exports.contains("# BEGIN rpinet"),
                "message": if snap.nfsd_running { "nfsd running" } else { "nfsd is not running" }},
        "server_ip": crate::doctor::server_ip(&snap, cfg).unwrap_or_default(),
        "dhcp_mode": cfg.main.dhcp_mode,
        "match": cfg.main.matching,
        "nodes": nodes,
    }))
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

/// Split one UCI line into words, honouring single and double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                any = true;
            }
            None if c == '#' && !any && cur.is_empty() => break,
            None if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            None => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn flag(v: &str) -> bool {
    matches!(v, "1" | "yes" | "on" | "true" | "enabled")
}

/// Parse the text of /etc/config/rpinet.
pub fn parse_uci(text: &str) -> Result<Config> {
    let mut main = Main::default();
    let mut nodes: Vec<Node> = Vec::new();
    enum Sec {
        None,
        Main,
        Node,
        Other,
    }
    let mut sec = Sec::None;
    for (i, line) in text.lines().enumerate() {
        let w = words(line);
        let Some(kw) = w.first() else { continue };
        match kw.as_str() {
            "config" => {
                let ty = w.get(1).map(String::as_str).unwrap_or("");
                let name = w.get(2).cloned().unwrap_or_default();
                sec = match ty {
                    "rpinet" => Sec::Main,
                    "node" => {
                        nodes.push(Node {
                            name,
                            enabled: true,
                            serial: String::new(),
                            mac: String::new(),
                            model: "pi4".into(),
                            boot_id: "serial".into(),
                            custom_dir: String::new(),
                            ip: String::new(),
                            image: String::new(),
                        });
                        Sec::Node
                    }
                    _ => Sec::Other,
                };
            }
            "option" | "list" => {
                let (Some(k), Some(v)) = (w.get(1), w.get(2)) else {
                    return Err(Error::new(format!(
                        "/etc/config/rpinet line {}: option without a value",
                        i + 1
                    )));
                };
                match sec {
                    Sec::Main => match k.as_str() {
                        "enabled" => main.enabled = flag(v),
                        "storage_uuid" => main.storage_uuid = v.to_lowercase(),
                        "storage_path" => main.storage_path = v.clone(),
                        "interface" => main.interface = v.clone(),
                        "server_ip" => main.server_ip = v.clone(),
                        "dhcp_mode" => main.dhcp_mode = v.clone(),
                        "match" => main.matching = v.clone(),
                        _ => {}
                    },
                    Sec::Node => {
                        if let Some(n) = nodes.last_mut() {
                            match k.as_str() {
                                "enabled" => n.enabled = flag(v),
                                "serial" => n.serial = v.to_lowercase(),
                                "mac" => n.mac = v.to_lowercase(),
                                "model" => n.model = v.clone(),
                                "boot_id" => n.boot_id = v.clone(),
                                "boot_dir" => n.custom_dir = v.clone(),
                                "ip" => n.ip = v.clone(),
                                "image" => n.image = v.clone(),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(Config { main, nodes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_main_and_nodes() {
        let c = parse_uci(
            "config rpinet 'main'\n\toption storage_uuid '6A1F'\n\toption storage_path \"/mnt/x\"\n\n\
             config node 'running_lion'\n\toption serial '38C128C0'\n\toption mac 'DC:A6:32:79:26:DF'\n\
             \toption boot_id mac # comment\n",
        )
        .unwrap();
        assert_eq!(c.main.storage_uuid, "6a1f");
        assert_eq!(c.main.storage_path, "/mnt/x");
        assert_eq!(c.nodes.len(), 1);
        let n = &c.nodes[0];
        assert_eq!(n.hostname(), "running-lion");
        assert_eq!(n.boot_dir(), "dc-a6-32-79-26-df");
        assert_eq!(n.serial, "38c128c0");
    }
}
