//! `rpinet node add|remove|show`: edit the node sections of /etc/config/rpinet the way
//! `uci commit` would (whole file rewritten atomically), then apply.

use crate::api::view::{self, NodeDetail};
use crate::config::request::NodeRequest;
use crate::config::uci::Package;
use crate::config::{self, BootId, Config, DhcpMode, Model, Node};
use crate::error::{Error, Result};
use crate::plan::world;
use crate::system::root::Root;

/// The config with the node added, validated as a whole (duplicates included). Pure.
pub fn with_node(pkg: &Package, req: &NodeRequest) -> Result<(Package, Config)> {
    let node = req.parse()?;
    if let Some(i) = pkg.find(&node.name) {
        return Err(Error::new(match pkg.sections[i].kind.as_str() {
            "node" => format!("node '{}' already exists", node.name),
            // uci refuses a file where one name has two section types: take another name.
            other => format!(
                "node name '{}' is taken by the 'config {other}' section: a node needs a name no other section has",
                node.name
            ),
        }));
    }
    let mut next = pkg.clone();
    next.sections.push(node.to_section());
    let config = config::from_package(&next)?;
    Ok((next, config))
}

/// The config with the node removed. Pure.
pub fn without_node(pkg: &Package, name: &str) -> Result<(Package, Node)> {
    let config = config::from_package(pkg)?;
    let node = config
        .node(name)
        .cloned()
        .ok_or_else(|| Error::new(format!("no node named '{name}'")))?;
    let mut next = pkg.clone();
    next.sections
        .retain(|s| !(s.kind == "node" && s.name.as_deref() == Some(name)));
    Ok((next, node))
}

/// `node add`: the node is in the config once its directories, host entry and exports are
/// in place (see `plan::change_config`). Returns the node as it was added (its address
/// reservation included), from what was applied: nothing is read after the config is
/// written, so a reply never says less than what was done.
pub fn add(root: &Root, req: &NodeRequest) -> Result<view::NodeView> {
    let lock = crate::api::begin(root)?;
    let world = crate::plan::change_config(root, &lock, |pkg| Ok(with_node(pkg, req)?.0))?;
    let node = world
        .config
        .node(&req.name)
        .cloned()
        .ok_or_else(|| Error::new("node vanished after adding it"))?;
    let facts = crate::observe::facts::Facts::gather(root, &world);
    Ok(view::node(&world, &facts, &node))
}

/// `node remove [--purge]`. With `--purge` the node's directories are first moved aside
/// (`.purge-…` names, one rename each), the node is removed from the config, then they are
/// deleted; a failure puts them back, and a run killed on the way leaves names the next
/// command's sweep deletes. Returns whether directories were deleted.
pub fn remove(root: &Root, name: &str, purge: bool) -> Result<bool> {
    let lock = crate::api::begin(root)?;
    let (_, config) = world::load_config(root)?;
    let node = config
        .node(name)
        .cloned()
        .ok_or_else(|| Error::new(format!("no node named '{name}'")))?;
    let trash = if purge {
        let storage = crate::system::storage::check(root, &config).require_mounted(&config)?;
        let aside = |dir: &str, name: Vec<u8>| {
            storage
                .join(dir)
                .join(String::from_utf8_lossy(&name).as_ref())
        };
        let dirs = [
            storage.join("tftp").join(node.boot_dir()),
            storage.join("nfs").join(&node.name),
            std::path::PathBuf::from(node.volume_dir(&storage.to_string_lossy())),
            // what an image roll kept for a rollback
            aside(
                "tftp",
                crate::provision::kept_name(node.boot_dir().as_bytes()),
            ),
            aside("nfs", crate::provision::kept_name(node.name.as_bytes())),
            aside("nfs", crate::provision::kept_image_file(&node.name)),
            // a shared root's own changes, and those of its kept root
            storage.join("roots").join(&node.name),
            aside("roots", crate::provision::kept_name(node.name.as_bytes())),
        ];
        let mount_point = storage.join("nfs").join(&node.name);
        crate::system::overlay::unmount(root, &mount_point.to_string_lossy())?;
        crate::system::sweep::move_aside(root, &dirs, "purge")?
    } else {
        Vec::new()
    };
    if let Err(e) = crate::plan::change_config(root, &lock, |pkg| Ok(without_node(pkg, name)?.0)) {
        crate::system::sweep::put_back(&trash);
        // its shared root mounted again
        let _ = crate::plan::execute::run(root, &lock);
        return Err(e);
    }
    for (aside, _) in &trash {
        let r = if std::fs::symlink_metadata(aside).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(aside)
        } else {
            std::fs::remove_file(aside)
        };
        r.map_err(|e| Error::new(format!("failed to delete {}: {e}", aside.display())))?;
    }
    Ok(purge)
}

/// What the node's EEPROM needs, as `rpi-eeprom-config --edit` takes it.
pub fn eeprom_settings(
    config: &Config,
    server: std::net::Ipv4Addr,
    n: &Node,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if n.model == Model::Pi3 {
        return out; // No EEPROM: a Pi 3 boots from its ROM (see how_to).
    }
    out.push(("BOOT_ORDER".into(), "0xf21".into()));
    out.push(("TFTP_PREFIX".into(), n.boot_id.tftp_prefix().to_string()));
    if n.boot_id == BootId::Custom {
        // The loader prepends the string to every file name as it is: the '/' makes it a dir.
        out.push(("TFTP_PREFIX_STR".into(), format!("{}/", n.boot_dir())));
    }
    if config.dhcp_mode == DhcpMode::Proxy {
        out.push(("TFTP_IP".into(), server.to_string()));
    }
    out
}

/// `node show`: the node as `status` shows it, with its EEPROM lines and how to set them.
pub fn show(root: &Root, name: &str) -> Result<NodeDetail> {
    let w = world::load(root)?;
    let n = w
        .config
        .node(name)
        .ok_or_else(|| Error::new(format!("no node named '{name}'")))?;
    let facts = crate::observe::facts::Facts::gather(root, &w);
    // its last boot, as status shows it (an unreadable event log is no events)
    let events = crate::observe::events::gather(root).ok();
    let boot = crate::observe::trace::boots(
        root,
        &w.config,
        &events.as_ref().map(|l| l.events()).unwrap_or_default(),
    )
    .into_iter()
    .find(|(name, _)| name == &n.name)
    .map(|(_, b)| b);
    Ok(NodeDetail {
        node: crate::api::view::NodeView {
            boot,
            ..view::node(&w, &facts, n)
        },
        eeprom: eeprom_settings(&w.config, w.net.server, n)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        how_to: how_to(n),
        warnings: warnings(root, &w, n),
    })
}

/// What will go wrong on the node as it is provisioned: container runtimes in its root and
/// no volume for them.
fn warnings(root: &Root, w: &world::World, n: &Node) -> Vec<String> {
    let Some(storage) = w.storage.mounted_path() else {
        return Vec::new();
    };
    if w.config.volume_size_of(n).is_some() {
        return Vec::new();
    }
    let runtimes =
        crate::provision::volume::runtimes_at(root, &format!("{storage}/nfs/{}", n.name));
    if runtimes.is_empty() {
        return Vec::new();
    }
    vec![crate::provision::volume::no_volume_warning(
        &n.name, &runtimes,
    )]
}

fn how_to(n: &Node) -> Vec<String> {
    if n.model == Model::Pi3 {
        return vec![
            "A Pi 3B+ network-boots out of the box; a Pi 3B needs it enabled once: add program_usb_boot_mode=1 to config.txt on an SD card, boot, then remove the card.".into(),
            "Serial: on the Pi, grep Serial /proc/cpuinfo | cut -c 19-26 (the last 8 hex digits).".into(),
        ];
    }
    vec![
        "On the Pi (booted once from an SD card): sudo rpi-eeprom-config --edit, set the lines above, save, reboot.".into(),
        "BOOT_ORDER=0xf21 tries the SD card first, then the network; 0xf12 tries the network first.".into(),
        format!("Robust boots: {}.", crate::observe::doctor::ROBUST_EEPROM),
        "Serial: grep Serial /proc/cpuinfo | cut -c 19-26, or the 'board:' line on the HDMI diagnostics screen.".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::request::tests::req;
    use crate::config::uci;

    #[test]
    fn add_normalizes_and_validates() {
        let pkg = uci::parse("config rpinet 'main'\n", "rpinet").unwrap();
        let (next, c) =
            with_node(&pkg, &req("lion", "100000003A4B5C6D", "DC-A6-32-01-02-03")).unwrap();
        let n = c.node("lion").unwrap();
        assert_eq!(
            (n.serial.as_str(), n.mac.to_string().as_str()),
            ("3a4b5c6d", "dc:a6:32:01:02:03")
        );
        let text = uci::serialize(&next);
        assert!(text.contains("config node 'lion'\n\toption enabled '1'\n\toption serial '3a4b5c6d'\n\toption mac 'dc:a6:32:01:02:03'\n\toption model 'pi4'\n\toption boot_id 'serial'\n"), "{text}");
        let e = with_node(&next, &req("lion", "11111111", "dc:a6:32:01:02:04")).unwrap_err();
        assert_eq!(e.message(), "node 'lion' already exists");
        let e = with_node(&next, &req("cat", "3a4b5c6d", "dc:a6:32:01:02:04")).unwrap_err();
        assert!(
            e.message()
                .contains("serial 3a4b5c6d is already used by node 'lion'")
        );
        let e = with_node(&next, &req("cat", "11111111", "dc:a6:32:01:02:0")).unwrap_err();
        assert!(e.message().starts_with("node 'cat': option 'mac': "));
        let e = with_node(&next, &req("Cat'\n", "11111111", "dc:a6:32:01:02:05")).unwrap_err();
        assert!(
            e.message().starts_with("node name 'Cat\\'\\n'"),
            "{}",
            e.message()
        );
    }

    /// `node add main` beside `config rpinet 'main'` once made a file uci refuses.
    #[test]
    fn a_node_may_not_take_another_sections_name() {
        let pkg = uci::parse("config rpinet 'main'\nconfig other\n", "rpinet").unwrap();
        let e = with_node(&pkg, &req("main", "11111111", "dc:a6:32:01:02:03")).unwrap_err();
        assert_eq!(
            e.message(),
            "node name 'main' is taken by the 'config rpinet' section: a node needs a name no other section has"
        );
        // the anonymous section's uci name counts too
        let anon = pkg.section_name(1);
        let e = with_node(&pkg, &req(&anon, "11111111", "dc:a6:32:01:02:03")).unwrap_err();
        assert!(e.message().contains("'config other'"), "{e}");
    }

    /// `node add --serial 38C128C0` once stored upper case.
    #[test]
    fn add_stores_the_serial_in_lower_case() {
        let pkg = uci::parse("config rpinet 'main'\n", "rpinet").unwrap();
        let (next, _) = with_node(&pkg, &req("lion", "38C128C0", "dc:a6:32:01:02:03")).unwrap();
        assert!(uci::serialize(&next).contains("\toption serial '38c128c0'\n"));
    }

    #[test]
    fn remove_names_unknown_nodes() {
        let pkg = uci::parse(
            "config node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n",
            "rpinet",
        )
        .unwrap();
        let (next, node) = without_node(&pkg, "a").unwrap();
        assert_eq!((next.sections.len(), node.name.as_str()), (0, "a"));
        assert_eq!(
            without_node(&pkg, "b").unwrap_err().message(),
            "no node named 'b'"
        );
    }

    #[test]
    fn eeprom_lines_per_boot_id_and_mode() {
        let text = "config rpinet 'main'\n option dhcp_mode 'proxy'\nconfig node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n option boot_id 'custom'\n option boot_dir 'rack1'\n";
        let c = config::from_package(&uci::parse(text, "rpinet").unwrap()).unwrap();
        let lines = eeprom_settings(&c, "192.168.1.1".parse().unwrap(), &c.nodes[0]);
        let flat: Vec<String> = lines.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            flat,
            [
                "BOOT_ORDER=0xf21",
                "TFTP_PREFIX=1",
                "TFTP_PREFIX_STR=rack1/",
                "TFTP_IP=192.168.1.1"
            ]
        );
    }
}
