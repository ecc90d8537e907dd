//! What the router's ubus knows that no file shows (the boot interface's addresses, the
//! block devices, procd's instances), asked through the router's own `ubus` command:
//! `ubus -S -t 1 call PATH METHOD` prints the reply as one line of JSON. Extra knowledge,
//! never required: no `ubus` (a `--root` lab), an error status, a reply that is not JSON,
//! larger than [`MAX_REPLY`] or later than [`BUDGET`] all count as "not known".
//!
//! Why not a ubus client of our own: rpinet had one (a blobmsg codec and a socket client,
//! ~940 lines, plus a stand-in ubusd for its tests), used by `doctor` alone for three calls.
//! The command costs one process per call on a path that runs once per `doctor`, is on
//! every OpenWrt image (package `ubus`), and is the interface OpenWrt documents.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::system::root::Root;

/// All calls of one [`Bus`] together get this long (rpcd calls must answer within 2 s, docs/SPEC.md §4).
pub const BUDGET: Duration = Duration::from_secs(1);
/// A reply longer than this is not read (`service list` of a busy router is ~20 KiB).
pub const MAX_REPLY: u64 = 1 << 20;

/// The router's bus for a few calls.
pub struct Bus {
    /// `-s SOCKET` under `--root`; the default socket on the router.
    socket: Option<PathBuf>,
    /// False under a `--root` with no ubusd socket: no call is tried.
    present: bool,
    deadline: Instant,
}

impl Bus {
    pub fn open(root: &Root) -> Bus {
        let socket = (!root.is_live()).then(|| root.path("/var/run/ubus/ubus.sock"));
        Bus {
            present: socket.as_ref().is_none_or(|s| s.exists()),
            socket,
            deadline: Instant::now() + BUDGET,
        }
    }

    /// `ubus call PATH METHOD`, or None.
    pub fn call(&mut self, path: &str, method: &str) -> Option<Value> {
        if !self.present {
            return None;
        }
        let left = self.deadline.checked_duration_since(Instant::now())?;
        let mut cmd = Command::new("ubus");
        if let Some(s) = &self.socket {
            cmd.arg("-s").arg(s);
        }
        cmd.args(["-S", "-t", "1", "call", path, method])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().ok()?;
        let mut out = child.stdout.take()?;
        let reader = crate::system::alloc::thread("ubus", move || {
            let mut buf = Vec::new();
            let whole = (&mut out).take(MAX_REPLY + 1).read_to_end(&mut buf).is_ok();
            (whole && buf.len() as u64 <= MAX_REPLY).then_some(buf)
        });
        let end = Instant::now() + left;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(5)),
                _ => break None,
            }
        };
        if !status.is_some_and(|s| s.success()) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        let reply = reader.join().ok()??;
        serde_json::from_slice::<Value>(&reply)
            .ok()
            .filter(Value::is_object)
    }

    /// IPv4 addresses of a logical interface (`network.interface.<iface> status`).
    pub fn interface_ipv4(&mut self, iface: &str) -> Option<Vec<String>> {
        let v = self.call(&format!("network.interface.{iface}"), "status")?;
        Some(parse_ipv4(&v))
    }

    /// `block info`: the filesystems present (fstools' blockd).
    pub fn block_info(&mut self) -> Option<Vec<BlockDev>> {
        let v = self.call("block", "info")?;
        Some(parse_block_info(&v))
    }

    /// `service list`: the procd instances of `services`, running or not.
    pub fn service_instances(&mut self, services: &[&str]) -> Option<Vec<Instance>> {
        let v = self.call("service", "list")?;
        Some(parse_services(&v, services))
    }
}

pub fn parse_ipv4(status: &Value) -> Vec<String> {
    status
        .get("ipv4-address")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("address").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A block device `block info` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDev {
    pub device: String,
    pub uuid: String,
    pub fstype: String,
    pub mount: String,
}

pub fn parse_block_info(v: &Value) -> Vec<BlockDev> {
    let s = |x: &Value, k: &str| x.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    v.get("devices")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|d| BlockDev {
                    device: s(d, "device"),
                    uuid: s(d, "uuid"),
                    fstype: s(d, "type"),
                    mount: s(d, "mount"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A running procd instance of a service (`service list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub service: String,
    pub name: String,
    pub running: bool,
    pub pid: u64,
    pub command: Vec<String>,
}

pub fn parse_services(v: &Value, services: &[&str]) -> Vec<Instance> {
    let mut out = Vec::new();
    for svc in services {
        let Some(inst) = v
            .get(*svc)
            .and_then(|s| s.get("instances"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (name, i) in inst {
            out.push(Instance {
                service: svc.to_string(),
                name: name.clone(),
                running: i.get("running").and_then(Value::as_bool).unwrap_or(false),
                pid: i.get("pid").and_then(Value::as_u64).unwrap_or(0),
                command: i
                    .get("command")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_are_parsed() {
        let s = json!({"up": true, "ipv4-address": [{"address": "192.168.1.1", "mask": 24}]});
        assert_eq!(parse_ipv4(&s), ["192.168.1.1"]);
        assert!(parse_ipv4(&json!({"up": false})).is_empty());
        let b = json!({"devices": [{"device": "/dev/sda1", "uuid": "6a1f", "type": "ext4", "mount": "/mnt/rpinet"}]});
        assert_eq!(parse_block_info(&b)[0].mount, "/mnt/rpinet");
        let l = json!({"dnsmasq": {"instances": {"cfg01411c": {"running": true, "pid": 1234,
            "command": ["/usr/sbin/dnsmasq", "-C", "/var/etc/dnsmasq.conf.cfg01411c", "-k"]}}}});
        let i = parse_services(&l, &["dnsmasq", "nfsd"]);
        assert_eq!(i.len(), 1);
        assert!(i[0].running);
        assert_eq!(i[0].command[2], "/var/etc/dnsmasq.conf.cfg01411c");
    }
}
