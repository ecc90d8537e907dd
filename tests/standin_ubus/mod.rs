//! The stand-in `ubus` command (tests/standin_ubus/ubus, a shell script; what it mimics of
//! OpenWrt's ubus/cli.c and what not is written at its top), set up for one doctor run:
//! one reply file per object and method, and the quirk.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// How the bus misbehaves, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    None,
    /// every call fails (a ubus error status)
    Fail,
    /// half a JSON document
    Garbage,
    /// success with no reply at all
    Empty,
    /// a reply of 2 MiB
    Huge,
    /// never answers
    Hang,
}

impl Quirk {
    fn name(self) -> &'static str {
        match self {
            Quirk::None => "none",
            Quirk::Fail => "fail",
            Quirk::Garbage => "garbage",
            Quirk::Empty => "empty",
            Quirk::Huge => "huge",
            Quirk::Hang => "hang",
        }
    }
}

/// The directory holding the stand-in, for PATH.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standin_ubus")
}

/// A bus answering for `objects` ({PATH: {METHOD: REPLY}}) at `socket` until dropped.
pub struct StandIn(Vec<PathBuf>);

impl Drop for StandIn {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn beside(socket: &Path, suffix: &str) -> PathBuf {
    let mut p = socket.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

pub fn start(socket: &Path, objects: Value, quirk: Quirk) -> StandIn {
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    std::fs::write(socket, b"").unwrap();
    let mut files = vec![socket.to_path_buf()];
    let q = beside(socket, ".quirk");
    std::fs::write(&q, quirk.name()).unwrap();
    files.push(q);
    for (path, methods) in objects.as_object().unwrap() {
        for (method, reply) in methods.as_object().unwrap() {
            let f = beside(socket, &format!(".{path}.{method}.json"));
            std::fs::write(&f, format!("{reply}\n")).unwrap();
            files.push(f);
        }
    }
    StandIn(files)
}

/// A router whose LAN has `lan_ip`, with `block` as blockd's answer and one dnsmasq
/// instance as procd lists it.
pub fn router(lan_ip: &str, block: Value) -> Value {
    json!({
        "network.interface.lan": {"status": {"up": true, "pending": false, "available": true,
            "l3_device": "br-lan", "proto": "static", "uptime": 4242,
            "ipv4-address": [{"address": lan_ip, "mask": 24}],
            "ipv6-address": [], "route": [], "dns-server": [], "data": {}}},
        "block": {"info": block},
        "service": {"list": {"dnsmasq": {"instances": {"cfg01411c": {"running": false,
            "command": ["/usr/sbin/dnsmasq", "-C", "/var/etc/dnsmasq.conf.cfg01411c", "-k"],
            "term_timeout": 5, "respawn": true}}}}},
    })
}
