//! The one gatherer of what runs and what is served beyond the [`World`]: which dnsmasq
//! and nfsd run, what nfsd exports, which nodes are provisioned, read from /proc, /var and
//! /etc. `status` (`api::view`) and `doctor` both judge these [`Facts`], by the same rules,
//! so Overview and Diagnostics cannot disagree about a service or a node.

use std::io::Read;
use std::path::Path;

use crate::config::Node;
use crate::plan::world::World;
use crate::system::root::Root;

/// What runs and what is served.
#[derive(Debug, Clone, Default)]
pub struct Services {
    /// The dnsmasq processes that run: the instance serving the interface first (its pid
    /// file names a live process), then every other process named dnsmasq.
    pub dnsmasq: Vec<u32>,
    /// nfsd runs: it has threads (/proc/fs/nfsd/threads above 0) or a process named nfsd.
    pub nfsd_running: bool,
    /// /proc/fs/nfsd/versions ("-2 +3 +4 …") and /proc/fs/nfsd/threads.
    pub nfsd_versions: Option<String>,
    pub nfsd_threads: Option<usize>,
    /// /etc/exports and nfsd's export table (/var/lib/nfs/etab).
    pub exports: Option<String>,
    pub etab: Option<String>,
    /// The paths the export table names, looked up once for every node.
    pub exported: std::collections::BTreeSet<String>,
    /// The instance's TFTP load, when its sockets could be read.
    pub tftp: Option<TftpLoad>,
}

impl Services {
    pub fn dnsmasq_running(&self) -> bool {
        !self.dnsmasq.is_empty()
    }

    /// Whether nfsd exports `path` now (its etab names it).
    pub fn exported(&self, path: &str) -> bool {
        self.exported.contains(path)
    }

    /// Read them. `pid_file` is the dnsmasq instance's, `server` the boot address (the
    /// instance's TFTP transfers are bound to it); either may be unknown.
    pub fn gather(
        root: &Root,
        pid_file: Option<&str>,
        server: Option<std::net::Ipv4Addr>,
    ) -> Services {
        let procs = processes(root);
        let instance = pid_file
            .and_then(|f| read_small(&root.path(f), 64))
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|pid| root.path(format!("/proc/{pid}")).exists());
        let mut dnsmasq: Vec<u32> = instance.into_iter().collect();
        for (pid, comm) in &procs {
            if comm == "dnsmasq" && !dnsmasq.contains(pid) {
                dnsmasq.push(*pid);
            }
        }
        let nfsd_threads = read_small(&root.path("/proc/fs/nfsd/threads"), 32)
            .and_then(|t| t.trim().parse::<usize>().ok());
        let tftp = match (dnsmasq.first(), server) {
            (Some(pid), Some(server)) => {
                read_small(&root.path(format!("/proc/{pid}/net/udp")), 4 << 20)
                    .map(|udp| tftp_load(&udp, &socket_inodes(root, *pid), server))
            }
            _ => None,
        };
        let etab = read_small(&root.path("/var/lib/nfs/etab"), 1 << 20);
        Services {
            nfsd_running: nfsd_threads.is_some_and(|n| n > 0)
                || procs.iter().any(|(_, c)| c == "nfsd"),
            nfsd_versions: read_small(&root.path("/proc/fs/nfsd/versions"), 256),
            nfsd_threads,
            exports: read_small(&root.path("/etc/exports"), 1 << 20),
            exported: etab.as_deref().map(etab_paths).unwrap_or_default(),
            etab,
            tftp,
            dnsmasq,
        }
    }
}

/// The paths nfsd's export table names (each line's first field, up to a tab or a space).
pub fn etab_paths(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split(['\t', ' ']).next())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// A node is provisioned when its boot directory holds its loader's first file and its root
/// has an /etc. `storage` is the mounted SSD's path.
pub fn provisioned(root: &Root, storage: &str, n: &Node) -> bool {
    let boot = root.path(format!("{storage}/tftp/{}", n.boot_dir()));
    boot.join(n.model.probe_file()).is_file()
        && root.path(format!("{storage}/nfs/{}/etc", n.name)).is_dir()
}

/// What `status` and `node show` read: the services, and which nodes are provisioned.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub services: Services,
    pub provisioned: Vec<String>,
}

impl Facts {
    pub fn gather(root: &Root, world: &World) -> Facts {
        let services = Services::gather(
            root,
            Some(&world.instance.pid_file()),
            Some(world.net.server),
        );
        let provisioned = match world.storage.mounted_path() {
            None => Vec::new(),
            Some(storage) => world
                .config
                .nodes
                .iter()
                .filter(|n| provisioned(root, storage, n))
                .map(|n| n.name.clone())
                .collect(),
        };
        Facts {
            services,
            provisioned,
        }
    }
}

/// Up to `max` bytes of a file, as text; None when it cannot be read.
pub fn read_small(path: &Path, max: u64) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// (pid, comm) of every process under root's /proc.
pub fn processes(root: &Root) -> Vec<(u32, String)> {
    let Ok(rd) = std::fs::read_dir(root.path("/proc")) else {
        return Vec::new();
    };
    rd.filter_map(|e| {
        let e = e.ok()?;
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = read_small(&e.path().join("comm"), 64)?;
        Some((pid, comm.trim().to_string()))
    })
    .collect()
}

/// What dnsmasq's UDP sockets show of its TFTP work: transfers running (one socket each,
/// bound to the server address) and read requests queued on port 69 unread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TftpLoad {
    pub transfers: usize,
    /// Bytes queued on the port-69 socket (the kernel's accounting, ~1 KiB a request).
    pub waiting_bytes: u64,
    /// Requests the port-69 socket dropped (its queue was full).
    pub drops: u64,
}

impl TftpLoad {
    /// A storm fact for `status` when dnsmasq is at its limit (`max` = its tftp-max), or
    /// requests are queuing or dropped.
    pub fn storm(&self, max: Option<usize>) -> Option<String> {
        let full = max.is_some_and(|m| self.transfers >= m);
        if !full && self.waiting_bytes == 0 && self.drops == 0 {
            return None;
        }
        let mut s = match max {
            Some(m) => format!("storm: {} of {m} TFTP transfers running", self.transfers),
            None => format!("storm: {} TFTP transfers running", self.transfers),
        };
        if self.waiting_bytes > 0 {
            s.push_str(&format!(
                ", read requests waiting on port 69 ({} bytes queued)",
                self.waiting_bytes
            ));
        }
        if self.drops > 0 {
            s.push_str(&format!(", {} requests dropped", self.drops));
        }
        Some(s)
    }
}

/// dnsmasq's TFTP load from its netns' /proc/net/udp text, the socket inodes it holds and
/// the server address (transfer sockets are bound to it; DNS's random ports are not).
pub fn tftp_load(
    udp: &str,
    inodes: &std::collections::HashSet<u64>,
    server: std::net::Ipv4Addr,
) -> TftpLoad {
    let mut load = TftpLoad::default();
    // the kernel prints the address in host byte order as hex
    let server_hex = format!("{:08X}", u32::from_ne_bytes(server.octets()));
    for line in udp.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(queues), Some(inode)) = (f.get(1), f.get(4), f.get(9)) else {
            continue;
        };
        if !inode.parse::<u64>().is_ok_and(|i| inodes.contains(&i)) {
            continue;
        }
        let Some((addr, port)) = local.split_once(':') else {
            continue;
        };
        let port = u16::from_str_radix(port, 16).unwrap_or(0);
        if port == 69 {
            let rx = queues.split_once(':').map_or("0", |(_, rx)| rx);
            load.waiting_bytes += u64::from_str_radix(rx, 16).unwrap_or(0);
            load.drops += f.get(12).and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
        } else if addr == server_hex && !matches!(port, 53 | 67 | 547) {
            load.transfers += 1;
        }
    }
    load
}

/// The socket inodes a process holds (its /proc/PID/fd links `socket:[N]`).
fn socket_inodes(root: &Root, pid: u32) -> std::collections::HashSet<u64> {
    let mut out = std::collections::HashSet::new();
    let Ok(dir) = std::fs::read_dir(root.path(format!("/proc/{pid}/fd"))) else {
        return out;
    };
    for e in dir.flatten() {
        if let Ok(t) = std::fs::read_link(e.path()) {
            let t = t.to_string_lossy();
            if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                if let Ok(n) = n.parse() {
                    out.insert(n);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 00000000:0045 00000000:0000 07 00000000:00002400 00:00000000 00000000     0        0 1001 2 0000000000000000 7
  102: 0163630A:D431 0A63630A:C351 07 00000000:00000000 00:00000000 00000000     0        0 1002 2 0000000000000000 0
  103: 0163630A:D432 0B63630A:C352 07 00000000:00000000 00:00000000 00000000     0        0 1003 2 0000000000000000 0
  104: 00000000:E001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1004 2 0000000000000000 0
  105: 0163630A:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1005 2 0000000000000000 0
  106: 0163630A:D433 0C63630A:C353 07 00000000:00000000 00:00000000 00000000     0        0 9999 2 0000000000000000 0
";

    #[test]
    fn tftp_load_counts_transfer_sockets_and_the_port_69_queue() {
        let inodes = [1001, 1002, 1003, 1004, 1005].into_iter().collect();
        let server = std::net::Ipv4Addr::new(10, 99, 99, 1);
        // the kernel prints the address as the native u32: 0163630A on little-endian
        let native = format!("{:08X}", u32::from_ne_bytes(server.octets()));
        let l = tftp_load(&UDP.replace("0163630A", &native), &inodes, server);
        assert_eq!(
            l,
            TftpLoad {
                transfers: 2,
                waiting_bytes: 0x2400,
                drops: 7
            }
        );
        assert_eq!(
            l.storm(Some(2)).as_deref(),
            Some(
                "storm: 2 of 2 TFTP transfers running, read requests waiting on port 69 (9216 bytes queued), 7 requests dropped"
            )
        );
        let calm = TftpLoad {
            transfers: 3,
            ..TftpLoad::default()
        };
        assert_eq!(calm.storm(Some(64)), None);
        assert!(calm.storm(Some(3)).is_some());
    }
}
