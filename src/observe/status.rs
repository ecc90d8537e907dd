//! The facts `status` needs beyond the [`World`]: which services run, what nfsd exports,
//! which nodes are provisioned, read from /proc and /var by [`Probe`]. `api::view::status`
//! turns them into the reply.

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
