//! `rpinet status`: health of storage, dnsmasq and NFS, and every node's state.
//!
//! [`report`] turns a [`World`] (plus a few facts read from the system by [`Probe`]) into
//! the JSON of docs/api.md, [`with_boots`] adds each node's last boot (from `trace`), and
//! [`read`] does all of it for the command line and the `status` ubus method; the human
//! form is printed from that same value.

use serde_json::{Value, json};

use crate::config::{DhcpMode, Match, Node};
use crate::error::Result;
use crate::observe::trace::Boot;
use crate::plan;
use crate::plan::world::World;
use crate::system::root::Root;

/// Facts about running services, read from /proc and /var.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub dnsmasq_running: bool,
    /// Paths nfsd currently exports (from /var/lib/nfs/etab).
    pub active_exports: Vec<String>,
    pub nfsd_running: bool,
    /// Nodes whose boot dir holds what their loader needs and whose root has an /etc.
    pub provisioned: Vec<String>,
}

impl Probe {
    pub fn read(root: &Root, world: &World) -> Probe {
        let pid_alive = |pid_file: &str| {
            std::fs::read_to_string(root.path(pid_file))
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
                .is_some_and(|pid| root.path(format!("/proc/{pid}")).exists())
        };
        let provisioned = match world.storage.mounted_path() {
            None => Vec::new(),
            Some(storage) => world
                .config
                .nodes
                .iter()
                .filter(|n| {
                    let boot = root.path(format!("{storage}/tftp/{}", n.boot_dir()));
                    boot.join(n.model.probe_file()).is_file()
                        && root.path(format!("{storage}/nfs/{}/etc", n.name)).is_dir()
                })
                .map(|n| n.name.clone())
                .collect(),
        };
        let etab = std::fs::read_to_string(root.path("/var/lib/nfs/etab")).unwrap_or_default();
        Probe {
            dnsmasq_running: pid_alive(&world.instance.pid_file()),
            active_exports: etab
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect(),
            provisioned,
            nfsd_running: root.path("/proc/fs/nfsd/threads").exists()
                && std::fs::read_to_string(root.path("/proc/fs/nfsd/threads"))
                    .is_ok_and(|t| t.trim() != "0"),
        }
    }
}

pub fn node_json(world: &World, probe: &Probe, n: &Node, dirs: bool) -> Value {
    // Router paths of the node's directories; empty while no storage_path is set.
    let (tftp_dir, nfs_dir) = match &world.config.storage_path {
        Some(storage) => (
            format!("{storage}/tftp/{}", n.boot_dir()),
            format!("{storage}/nfs/{}", n.name),
        ),
        None => (String::new(), String::new()),
    };
    let mut v = json!({
        "name": n.name, "hostname": n.hostname(), "enabled": n.enabled, "model": n.model.as_str(),
        "serial": n.serial, "mac": n.mac.to_string(), "boot_id": n.boot_id.as_str(),
        "boot_dir": n.boot_dir(), "ip": n.ip.map(|i| i.to_string()).unwrap_or_default(),
        "image": n.image.clone().unwrap_or_default(), "tftp_dir": tftp_dir, "nfs_dir": nfs_dir,
    });
    if dirs {
        let present =
            world.existing_dirs.contains(&tftp_dir) && world.existing_dirs.contains(&nfs_dir);
        v["dirs_present"] = json!(present);
        v["exported"] = json!(
            probe.active_exports.contains(&nfs_dir) && probe.active_exports.contains(&tftp_dir)
        );
        v["provisioned"] = json!(probe.provisioned.contains(&n.name));
    }
    v
}

/// The status reply. `pending` is the plan `apply` would carry out now.
pub fn report(world: &World, probe: &Probe, pending: &[plan::Action]) -> Value {
    let c = &world.config;
    let pending_path = |p: &str| {
        pending.iter().any(|a| matches!(a, plan::Action::Write { path, .. } | plan::Action::Remove { path } if path == p))
    };
    let conf_written = !pending_path(&world.conf_path());
    let exports_written = !pending_path(crate::plan::world::EXPORTS_PATH);
    let mounted = world.storage.mounted_path().is_some();
    let proxy_blocked = c.dhcp_mode == DhcpMode::Proxy
        && crate::system::dnsmasq::pool_ignored(&world.dhcp, &c.interface);
    let nodes: Vec<Value> = c
        .nodes
        .iter()
        .map(|n| node_json(world, probe, n, true))
        .collect();
    let (device, path) = match &world.storage {
        crate::system::storage::Storage::Mounted { device, path } => (device.clone(), path.clone()),
        _ => (String::new(), c.storage_path.clone().unwrap_or_default()),
    };
    json!({
        "enabled": c.enabled,
        "storage": {
            "ok": mounted, "uuid": c.storage_uuid.clone().unwrap_or_default(), "path": path,
            "mounted": mounted, "device": device, "message": world.storage.describe(c),
        },
        "dnsmasq": {
            "ok": probe.dnsmasq_running && conf_written && !proxy_blocked, "running": probe.dnsmasq_running,
            "conf_dir": world.instance.conf_dir, "conf_written": conf_written,
            "message": match (probe.dnsmasq_running, conf_written) {
                _ if proxy_blocked => crate::system::dnsmasq::proxy_blocked_message(&c.interface),
                (false, _) => "dnsmasq is not running".to_string(),
                (true, false) => "rpinet.conf is out of date: run 'rpinet apply'".to_string(),
                (true, true) => format!("serving {} from {}", world.conf_path(), world.instance.conf_dir),
            },
        },
        "nfs": {
            "ok": probe.nfsd_running && exports_written, "running": probe.nfsd_running,
            "exports_written": exports_written,
            "message": match (probe.nfsd_running, exports_written) {
                (false, _) => "the NFS server (nfsd) is not running".to_string(),
                (true, false) => "/etc/exports is out of date: run 'rpinet apply'".to_string(),
                (true, true) => "exports up to date".to_string(),
            },
        },
        "server_ip": world.net.server.to_string(),
        "dhcp_mode": if c.dhcp_mode == DhcpMode::Proxy { "proxy" } else { "server" },
        "match": if c.matching == Match::AnyPi { "any-pi" } else { "registered" },
        "nodes": nodes,
    })
}

/// Add each node's last boot ("boot") to a [`report`]; a node with none gets stage "none".
pub fn with_boots(status: &mut Value, boots: &[(String, Boot)]) {
    let Some(nodes) = status.get_mut("nodes").and_then(Value::as_array_mut) else {
        return;
    };
    for n in nodes {
        let boot = boots
            .iter()
            .find(|(name, _)| n.get("name").and_then(Value::as_str) == Some(name.as_str()))
            .map(|(_, b)| b.to_json())
            .unwrap_or_else(|| Boot::none().to_json());
        if let Value::Object(m) = n {
            m.insert("boot".into(), boot);
        }
    }
}

/// The status reply (what `rpinet status --json` prints and the `status` method answers):
/// [`report`] of the system as it is now, with each node's last boot. An unreadable event
/// log counts as no events.
pub fn read(root: &Root) -> Result<Value> {
    let world = crate::plan::world::load(root)?;
    let pending = plan::plan(&world)?;
    let probe = Probe::read(root, &world);
    let mut v = report(&world, &probe, &pending);
    let boots = match crate::observe::events::gather(root) {
        Ok(log) => crate::observe::trace::boots(root, &world.config, &log.events()),
        Err(_) => crate::observe::trace::boots(root, &world.config, &[]),
    };
    with_boots(&mut v, &boots);
    Ok(v)
}

/// The human form of [`report`].
pub fn human(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mark = |ok: &Value| {
        if ok.as_bool() == Some(true) {
            "ok  "
        } else {
            "FAIL"
        }
    };
    let mut out = String::new();
    for part in ["storage", "dnsmasq", "nfs"] {
        out.push_str(&format!(
            "{} {:<8} {}\n",
            mark(&v[part]["ok"]),
            part,
            s(&v[part]["message"])
        ));
    }
    out.push_str(&format!(
        "server {} · dhcp_mode {} · match {}\n",
        s(&v["server_ip"]),
        s(&v["dhcp_mode"]),
        s(&v["match"])
    ));
    let nodes = v["nodes"].as_array().cloned().unwrap_or_default();
    if nodes.is_empty() {
        out.push_str("no nodes: add one with 'rpinet node add NAME --serial S --mac M'\n");
    }
    for n in nodes {
        let state = match (
            n["enabled"].as_bool(),
            n["dirs_present"].as_bool(),
            n["exported"].as_bool(),
        ) {
            (Some(false), _, _) => "disabled",
            (_, Some(false), _) => "no dirs",
            (_, _, Some(false)) => "not exported",
            _ => "ready",
        };
        out.push_str(&format!(
            "{:<16} {:<4} {:<10} {} tftp/{} {}\n",
            s(&n["name"]),
            s(&n["model"]),
            s(&n["serial"]),
            s(&n["mac"]),
            s(&n["boot_dir"]),
            state
        ));
    }
    out
}
