use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::config::{self, network};
use crate::system::dnsmasq::find_instance;
use crate::system::overlay::Overlay;
use crate::system::storage::Storage;

const NODES: &str = "config rpinet 'main'\n option storage_uuid 'abcd-1234'\n option storage_path '/mnt/rpinet'\n\
    config node 'lion'\n option serial '11111111'\n option mac 'dc:a6:32:00:00:01'\n\
    config node 'tiger'\n option serial '22222222'\n option mac 'dc:a6:32:00:00:02'\n";

fn world(rpinet: &str, mounted: bool) -> World {
    let config = config::from_package(&uci::parse(rpinet, "rpinet").unwrap()).unwrap();
    let network = uci::parse(
        "config interface 'lan'\n option ipaddr '192.168.1.1'\n option netmask '255.255.255.0'\n",
        "n",
    )
    .unwrap();
    let net = network::boot_net(&config, &network).unwrap();
    let dhcp = uci::parse(
        "config dnsmasq\nconfig dhcp 'lan'\n option interface 'lan'\n",
        "dhcp",
    )
    .unwrap();
    let instance = find_instance(
        &dhcp,
        "lan",
        |_| Some("conf-dir=/tmp/dnsmasq.d\n".into()),
        None,
    )
    .unwrap();
    let storage = if mounted {
        Storage::Mounted {
            path: "/mnt/rpinet".into(),
            device: "/dev/sda1".into(),
        }
    } else {
        Storage::NotMounted {
            path: "/mnt/rpinet".into(),
        }
    };
    World {
        config,
        net,
        dhcp,
        dhcp_text: String::new(),
        instance,
        storage,
        conf: None,
        host_files: BTreeMap::new(),
        exports: None,
        nfs_conf: None,
        existing_dirs: BTreeSet::new(),
        empty_strays: BTreeSet::new(),
        volume_held: BTreeMap::new(),
        leases: Vec::new(),
        shared_roots: BTreeMap::new(),
        overlays: Vec::new(),
        kept: BTreeMap::new(),
    }
}

/// Apply a plan to the snapshot, as `execute` + a fresh `load` would see it.
fn settle(mut w: World, actions: &[Action]) -> World {
    for a in actions {
        match a {
            Action::RemoveDir { path } => {
                w.empty_strays.remove(path);
            }
            Action::MakeDir { path } => {
                w.existing_dirs.insert(path.clone());
            }
            Action::Write { path, content, .. } if path == &w.conf_path() => {
                w.conf = Some(content.clone())
            }
            Action::Write { path, content, .. } if path == EXPORTS_PATH => {
                w.exports = Some(content.clone())
            }
            Action::Write { path, content, .. } if path == crate::render::nfsd::PATH => {
                w.nfs_conf = Some(content.clone())
            }
            Action::Write { path, content, .. } if path == DHCP_PATH => {
                w.dhcp = uci::parse(content, "dhcp").unwrap()
            }
            Action::Write { path, content, .. } => {
                let name = path.rsplit('/').next().unwrap().to_string();
                w.host_files.insert(name, content.clone());
            }
            Action::Remove { path } if path == &w.conf_path() => w.conf = None,
            Action::Remove { path } if path == crate::render::nfsd::PATH => w.nfs_conf = None,
            Action::Remove { path } => {
                w.host_files.remove(path.rsplit('/').next().unwrap());
            }
            Action::UnmountRoot { at } => w.overlays.retain(|o| &o.at != at),
            Action::MountRoot {
                at, lower, upper, ..
            } => w.overlays.push(Overlay {
                at: at.clone(),
                lower: lower.clone(),
                upper: upper.clone(),
            }),
            _ => {}
        }
    }
    w
}

fn kinds(actions: &[Action]) -> Vec<String> {
    actions.iter().map(first_line).collect()
}

#[test]
fn first_apply_writes_everything_and_restarts_once() {
    let w = world(NODES, true);
    let actions = plan(&w).unwrap();
    assert_eq!(
        kinds(&actions),
        [
            "create directory /mnt/rpinet/tftp",
            "create directory /mnt/rpinet/nfs",
            "create directory /mnt/rpinet/images",
            "create directory /mnt/rpinet/tftp/11111111",
            "create directory /mnt/rpinet/nfs/lion",
            "create directory /mnt/rpinet/tftp/22222222",
            "create directory /mnt/rpinet/nfs/tiger",
            "write /tmp/dnsmasq.d/rpinet.hosts/lion",
            "write /tmp/dnsmasq.d/rpinet.hosts/tiger",
            "write /tmp/dnsmasq.d/rpinet.conf",
            "write /etc/config/dhcp",
            "write /etc/exports",
            "write /etc/nfs.conf.d/rpinet.conf",
            "restart dnsmasq (/etc/init.d/dnsmasq restart)",
            "reload NFS exports (exportfs -ra)",
        ]
    );
    // Idempotent: a second run changes nothing and kicks no service.
    let w = settle(w, &actions);
    assert_eq!(plan(&w).unwrap(), vec![]);
}

#[test]
fn adding_a_node_needs_no_dnsmasq_restart_and_removing_one_only_sighup() {
    let w = world(NODES, true);
    let a = plan(&w).unwrap();
    let mut w = settle(w, &a);
    let more = format!(
        "{NODES}config node 'bear'\n option serial '33333333'\n option mac 'dc:a6:32:00:00:03'\n option ip '192.168.1.9'\n"
    );
    w.config = config::from_package(&uci::parse(&more, "rpinet").unwrap()).unwrap();
    let added = plan(&w).unwrap();
    assert_eq!(
        kinds(&added),
        [
            "create directory /mnt/rpinet/tftp/33333333",
            "create directory /mnt/rpinet/nfs/bear",
            "write /tmp/dnsmasq.d/rpinet.hosts/bear",
            "write /etc/exports",
            "reload NFS exports (exportfs -ra)",
        ]
    );
    let mut w = settle(w, &added);
    w.config.nodes.retain(|n| n.name != "lion");
    let removed = plan(&w).unwrap();
    assert_eq!(
        kinds(&removed),
        [
            "remove /tmp/dnsmasq.d/rpinet.hosts/lion",
            "write /etc/exports",
            "send SIGHUP to dnsmasq (/var/run/dnsmasq/dnsmasq.cfg01411c.pid)",
            "reload NFS exports (exportfs -ra)",
        ]
    );
}

#[test]
fn absent_ssd_creates_and_exports_nothing() {
    let w = world(NODES, false);
    let actions = plan(&w).unwrap();
    assert!(actions.iter().all(|a| !matches!(a, Action::MakeDir { .. })));
    let conf = actions
        .iter()
        .find_map(|a| match a {
            Action::Write { path, content, .. } if path.ends_with("rpinet.conf") => Some(content),
            _ => None,
        })
        .unwrap();
    assert!(!conf.contains("tftp-root") && !conf.contains("pxe-service"));
    // No block existed and none is needed: /etc/exports is left alone.
    assert!(!kinds(&actions).contains(&"write /etc/exports".to_string()));
    assert!(!kinds(&actions).contains(&"write /etc/config/dhcp".to_string()));
    // The SSD vanishing after nodes were exported empties the block and reloads nfsd.
    let mounted = world(NODES, true);
    let done = plan(&mounted).unwrap();
    let mut w = settle(mounted, &done);
    w.storage = Storage::NotMounted {
        path: "/mnt/rpinet".into(),
    };
    let gone = plan(&w).unwrap();
    let exports = gone
        .iter()
        .find_map(|a| match a {
            Action::Write { path, content, .. } if path == EXPORTS_PATH => Some(content),
            _ => None,
        })
        .unwrap();
    assert_eq!(exports.lines().filter(|l| !l.starts_with('#')).count(), 0);
    assert!(kinds(&gone).contains(&"reload NFS exports (exportfs -ra)".to_string()));
}

#[test]
fn disabling_removes_what_rpinet_wrote() {
    let w = world(NODES, true);
    let a = plan(&w).unwrap();
    let mut w = settle(w, &a);
    w.config.enabled = false;
    let off = plan(&w).unwrap();
    assert_eq!(
        kinds(&off),
        [
            "remove /tmp/dnsmasq.d/rpinet.conf",
            "remove /tmp/dnsmasq.d/rpinet.hosts/lion",
            "remove /tmp/dnsmasq.d/rpinet.hosts/tiger",
            "write /etc/exports",
            "remove /etc/nfs.conf.d/rpinet.conf",
            "restart dnsmasq (/etc/init.d/dnsmasq restart)",
            "reload NFS exports (exportfs -ra)",
        ]
    );
}

#[test]
fn broken_exports_block_is_refused_before_any_write() {
    let mut w = world(NODES, true);
    w.exports = Some("# BEGIN rpinet\n/x y\n".into());
    let e = plan(&w).unwrap_err();
    assert!(
        e.message()
            .starts_with("/etc/exports has a broken rpinet block"),
        "{}",
        e.message()
    );
}

#[test]
fn shared_roots_are_mounted_remounted_on_a_new_lower_and_strays_unmounted() {
    let mut w = world(NODES, true);
    w.shared_roots.insert("lion".into(), "bookworm".into());
    w.overlays.push(Overlay {
        at: "/mnt/rpinet/nfs/gone".into(),
        lower: "/mnt/rpinet/images/x/root".into(),
        upper: "/mnt/rpinet/roots/gone/upper".into(),
    });
    let actions = plan(&w).unwrap();
    let k = kinds(&actions);
    let mount = "mount the shared root /mnt/rpinet/nfs/lion: /mnt/rpinet/images/bookworm/root under /mnt/rpinet/roots/lion/upper";
    let pos = |s: &str| {
        k.iter()
            .position(|a| a == s)
            .unwrap_or_else(|| panic!("{s}: {k:?}"))
    };
    // the stray overlay first, the mount after its mount point is made, exports after both
    assert_eq!(pos("unmount /mnt/rpinet/nfs/gone"), 0);
    assert!(pos("create directory /mnt/rpinet/nfs/lion") < pos(mount));
    assert!(pos(mount) < pos("reload NFS exports (exportfs -ra)"));
    assert!(
        actions.iter().any(|a| matches!(a, Action::Write { path, content, .. }
            if path == EXPORTS_PATH && content.lines().any(|l| l.starts_with("/mnt/rpinet/nfs/lion ") && l.contains(",fsid=")))),
        "{k:?}"
    );
    let w = settle(w, &actions);
    assert_eq!(plan(&w).unwrap(), vec![], "a second apply does nothing");
    // a state dir that names another image: unmounted and mounted again, exports reloaded
    let mut w2 = w.clone();
    w2.shared_roots.insert("lion".into(), "trixie".into());
    let k = kinds(&plan(&w2).unwrap());
    assert_eq!(
        k,
        [
            "unmount /mnt/rpinet/nfs/lion",
            "mount the shared root /mnt/rpinet/nfs/lion: /mnt/rpinet/images/trixie/root under /mnt/rpinet/roots/lion/upper",
            "reload NFS exports (exportfs -ra)"
        ]
    );
    // rpinet disabled: every shared root unmounted
    let mut off = w.clone();
    off.config.enabled = false;
    assert!(kinds(&plan(&off).unwrap()).contains(&"unmount /mnt/rpinet/nfs/lion".to_string()));
    // a state dir naming no image mounts nothing (doctor says why)
    let mut bad = world(NODES, true);
    bad.shared_roots.insert("lion".into(), String::new());
    assert!(
        !kinds(&plan(&bad).unwrap())
            .iter()
            .any(|a| a.starts_with("mount"))
    );
}
