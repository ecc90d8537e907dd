//! `rpinet inventory [--format ini|yaml|json]` and ubus `inventory`: every node
//! for Ansible — hostname, address (its reservation, else the address of its
//! last boot), model, serial, MAC, image and boot state — grouped by model
//! (`model_pi4`) and by image (`image_<name>`), in Ansible's three inventory
//! formats. The groups are decided once ([`inventory`], pure, from the status
//! view); the formats only print them.
//!
//! Every value is of characters that need no quoting in any of the formats
//! (host names a-z 0-9 -, addresses, hex, image names A-Z a-z 0-9 . _ -),
//! because each comes from a validated config value or a stage name.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::api::view::{InventoryGroup, InventoryView, NodeView};
use crate::bail;
use crate::error::Result;
use crate::system::root::Root;

/// The inventory formats, as `--format` names them.
pub const FORMATS: [&str; 3] = ["ini", "yaml", "json"];

/// An Ansible group name for `prefix` and a value: [A-Za-z0-9_].
fn group_name(prefix: &str, v: &str) -> String {
    let tail: String = v
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{tail}")
}

/// The inventory of `nodes` (as `status` shows them).
pub fn inventory(nodes: &[NodeView]) -> InventoryView {
    let mut inv = InventoryView::default();
    let mut groups: BTreeMap<String, InventoryGroup> = BTreeMap::new();
    for n in nodes {
        let mut vars = BTreeMap::new();
        let boot = n.boot.as_ref();
        let address = if n.ip.is_empty() {
            boot.map(|b| b.ip.clone()).unwrap_or_default()
        } else {
            n.ip.clone()
        };
        let stage = boot.map_or("none", |b| b.stage.as_str());
        for (k, v) in [
            ("ansible_host", address),
            ("rpinet_node", n.name.clone()),
            ("rpinet_model", n.model.to_string()),
            ("rpinet_serial", n.serial.clone()),
            ("rpinet_mac", n.mac.clone()),
            ("rpinet_image", n.image.clone()),
            ("rpinet_boot_stage", stage.to_string()),
        ] {
            if !v.is_empty() {
                vars.insert(k, v);
            }
        }
        inv.meta.hostvars.insert(n.hostname.clone(), vars);
        let mut member = |g: String| groups.entry(g).or_default().hosts.push(n.hostname.clone());
        member(group_name("model", n.model));
        if !n.image.is_empty() {
            member(group_name("image", &n.image));
        }
    }
    let all = InventoryGroup {
        hosts: inv.meta.hostvars.keys().cloned().collect(),
        children: groups.keys().cloned().collect(),
    };
    groups.insert("all".into(), all);
    inv.groups = groups;
    inv
}

/// INI: the hosts with their variables under `[all]`, then each group's hosts.
/// Ansible reads a host line's values as Python literals (a serial 12345678
/// would be a number, an image 2024.1 a float): each value is written
/// `'"…"'`, which Ansible's INI reader keeps as the string inside.
pub fn ini(inv: &InventoryView) -> String {
    let mut s = String::from("# written by rpinet inventory from /etc/config/rpinet\n[all]\n");
    for (host, vars) in &inv.meta.hostvars {
        s.push_str(host);
        for (k, v) in vars {
            let _ = write!(s, " {k}='\"{v}\"'");
        }
        s.push('\n');
    }
    for (name, g) in inv.groups.iter().filter(|(n, _)| *n != "all") {
        let _ = write!(s, "\n[{name}]\n");
        for h in &g.hosts {
            let _ = writeln!(s, "{h}");
        }
    }
    s
}

/// YAML: `all` with every host's variables, and each group as a child of `all`.
pub fn yaml(inv: &InventoryView) -> String {
    let mut s =
        String::from("# written by rpinet inventory from /etc/config/rpinet\nall:\n  hosts:\n");
    if inv.meta.hostvars.is_empty() {
        s = s.replace("  hosts:\n", "  hosts: {}\n");
    }
    for (host, vars) in &inv.meta.hostvars {
        let _ = writeln!(s, "    {host}:");
        for (k, v) in vars {
            let _ = writeln!(s, "      {k}: \"{v}\"");
        }
    }
    let children: Vec<_> = inv.groups.iter().filter(|(n, _)| *n != "all").collect();
    if !children.is_empty() {
        s.push_str("  children:\n");
    }
    for (name, g) in children {
        let _ = writeln!(s, "    {name}:\n      hosts:");
        for h in &g.hosts {
            let _ = writeln!(s, "        {h}: {{}}");
        }
    }
    s
}

/// `inventory` as the command line prints it in `format`.
pub fn render(root: &Root, format: &str) -> Result<String> {
    let inv = inventory(
        &crate::api::view::read_status(root, &Default::default())?
            .nodes
            .list,
    );
    Ok(match format {
        "ini" => ini(&inv),
        "yaml" => yaml(&inv),
        "json" => format!("{}\n", crate::api::view::json(&inv)),
        other => bail!(
            "'{}' is not an inventory format (one of {})",
            other.escape_debug(),
            FORMATS.join(", ")
        ),
    })
}

/// The ubus `inventory` reply.
pub fn reply(root: &Root) -> Result<serde_json::Value> {
    let inv = inventory(
        &crate::api::view::read_status(root, &Default::default())?
            .nodes
            .list,
    );
    Ok(crate::api::view::json(&inv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, model: &'static str, image: &str, ip: &str) -> NodeView {
        NodeView {
            name: name.into(),
            hostname: name.replace('_', "-"),
            enabled: true,
            model,
            serial: "38c128c0".into(),
            mac: "dc:a6:32:79:26:df".into(),
            boot_id: "serial",
            boot_dir: "38c128c0".into(),
            ip: ip.into(),
            image: image.into(),
            tftp_dir: String::new(),
            nfs_dir: String::new(),
            dirs_present: true,
            exported: true,
            provisioned: true,
            root_mode: "copy",
            kept: None,
            boot: None,
            volume: None,
        }
    }

    #[test]
    fn groups_by_model_and_image() {
        let inv = inventory(&[
            node("running_lion", "pi4", "bookworm-lite", "10.9.0.50"),
            node("calm_owl", "pi5", "bookworm-lite", ""),
            node("b", "pi4", "", ""),
        ]);
        let hosts = |g: &str| inv.groups[g].hosts.clone();
        assert_eq!(hosts("model_pi4"), ["running-lion", "b"]);
        assert_eq!(hosts("model_pi5"), ["calm-owl"]);
        assert_eq!(hosts("image_bookworm_lite"), ["running-lion", "calm-owl"]);
        assert_eq!(
            inv.groups["all"].children,
            ["image_bookworm_lite", "model_pi4", "model_pi5"]
        );
        let lion = &inv.meta.hostvars["running-lion"];
        assert_eq!(lion["ansible_host"], "10.9.0.50");
        assert_eq!(lion["rpinet_boot_stage"], "none");
        assert!(!inv.meta.hostvars["calm-owl"].contains_key("ansible_host"));
        let ini = ini(&inv);
        assert!(ini.contains("\n[model_pi5]\ncalm-owl\n"), "{ini}");
        assert!(
            ini.contains("running-lion ansible_host='\"10.9.0.50\"' rpinet_boot_stage='\"none\"'"),
            "{ini}"
        );
        let y = yaml(&inv);
        assert!(
            y.contains("    running-lion:\n      ansible_host: \"10.9.0.50\"\n"),
            "{y}"
        );
        assert!(
            y.contains("    model_pi5:\n      hosts:\n        calm-owl: {}\n"),
            "{y}"
        );
    }

    #[test]
    fn an_empty_fleet_is_a_valid_inventory() {
        let inv = inventory(&[]);
        assert!(yaml(&inv).contains("hosts: {}"));
        assert_eq!(ini(&inv).lines().filter(|l| !l.starts_with('#')).count(), 1);
    }
}
