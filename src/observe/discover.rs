//! Discovery: Raspberry Pis that asked to boot but are not nodes yet.
//!
//! Pure over the event log. A Pi shows itself by its DHCP vendor class
//! (`PXEClient:Arch:00000:UNDI:002001`, which x86 BIOS PXE also sends, so only
//! together with a Pi MAC prefix or a later TFTP request under a serial dir),
//! by a Raspberry Pi MAC prefix, or by TFTP requests under an 8-hex-digit
//! directory that is no node's (the serial the EEPROM sends as TFTP prefix).
//! The model is guessed from the files it asked for (start4.elf → pi4,
//! bootcode.bin → pi3, bcm2712 DTB or kernel_2712.img → pi5) or the MAC prefix.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::observe::events::{Event, EventKind};

/// At most this many entries are reported (the newest).
pub const MAX_DISCOVERED: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub mac: String,
    pub serial: String,
    pub model: String,
    pub ip: String,
    pub first_seen: u64,
    pub last_seen: u64,
    pub seen: String,
    /// Files it asked for that do not exist (the first few).
    pub missing: Vec<String>,
}

impl Discovered {
    pub fn to_json(&self) -> Value {
        json!({
            "mac": self.mac, "serial": self.serial, "model": self.model, "ip": self.ip,
            "first_seen": self.first_seen, "last_seen": self.last_seen, "seen": self.seen,
        })
    }
}

pub fn is_pi_mac(mac: &str) -> bool {
    crate::config::PI_OUIS.iter().any(|o| mac.starts_with(o))
}

fn model_from_mac(mac: &str) -> &'static str {
    if mac.starts_with("b8:27:eb") {
        "pi3"
    } else if mac.starts_with("2c:cf:67") {
        "pi5"
    } else {
        ""
    }
}

fn model_from_file(file: &str) -> &'static str {
    let f = file.to_ascii_lowercase();
    let base = f.rsplit('/').next().unwrap_or(&f);
    if base.starts_with("bcm2712") || base.contains("2712") {
        "pi5"
    } else if base == "start4.elf" || base.starts_with("bcm2711") || base == "fixup4.dat" {
        "pi4"
    } else if base == "bootcode.bin" || base.starts_with("bcm2710") || base.starts_with("bcm2837") {
        "pi3"
    } else {
        ""
    }
}

fn is_serial(s: &str) -> bool {
    s.len() == 8
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The 8-hex-digit first component of a TFTP path under the root, if any.
fn serial_dir(path: &str, tftp_root: Option<&str>) -> Option<String> {
    let root = tftp_root?.trim_end_matches('/');
    let rel = path.strip_prefix(root)?.trim_start_matches('/');
    let (dir, rest) = rel.split_once('/')?;
    (is_serial(dir) && !rest.is_empty()).then(|| dir.to_string())
}

/// Every Pi seen that is not a node: known MACs, IPs and boot dirs are nodes'.
pub fn discover(
    events: &[Event],
    node_macs: &[String],
    node_dirs: &[String],
    tftp_root: Option<&str>,
) -> Vec<Discovered> {
    let node_macs: std::collections::HashSet<&str> = node_macs.iter().map(String::as_str).collect();
    let node_dirs: std::collections::HashSet<&str> = node_dirs.iter().map(String::as_str).collect();
    // keyed by MAC when known, else by "serial:<s>"
    let mut found: HashMap<String, Discovered> = HashMap::new();
    let ips = crate::observe::events::IpMap::new(events);
    let mut pxe_macs: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let touch = |found: &mut HashMap<String, Discovered>, key: String, t: u64, seen: &str| {
        let d = found.entry(key).or_insert_with(|| Discovered {
            mac: String::new(),
            serial: String::new(),
            model: String::new(),
            ip: String::new(),
            first_seen: t,
            last_seen: t,
            seen: seen.into(),
            missing: Vec::new(),
        });
        d.first_seen = d.first_seen.min(t);
        if t >= d.last_seen {
            d.last_seen = t;
            d.seen = seen.into();
        }
    };
    for e in events {
        match &e.kind {
            EventKind::Dhcp {
                mac,
                ip,
                vendor,
                action,
                ..
            } => {
                let (mac, ip): (&str, &str) = (mac, ip);
                if action == "remove" || action == "del" {
                    continue;
                }
                if vendor.starts_with("PXEClient") {
                    pxe_macs.insert(mac);
                }
                if node_macs.contains(mac) || !is_pi_mac(mac) {
                    continue;
                }
                touch(&mut found, mac.to_string(), e.time, "dhcp");
                if let Some(d) = found.get_mut(mac) {
                    d.mac = mac.to_string();
                    if !ip.is_empty() {
                        d.ip = ip.to_string();
                    }
                    if d.model.is_empty() {
                        d.model = model_from_mac(mac).into();
                    }
                }
            }
            EventKind::Tftp { addr, path, .. } | EventKind::Missing { addr, path, .. } => {
                let (addr, path): (&str, &str) = (addr, path);
                let serial = serial_dir(path, tftp_root);
                if let Some(s) = &serial {
                    if node_dirs.contains(s.as_str()) {
                        continue;
                    }
                }
                let mac: Option<String> = ips.mac_at(addr, e.time).map(str::to_string);
                if mac.as_ref().is_some_and(|m| node_macs.contains(m.as_str())) {
                    continue;
                }
                let key = match (&mac, &serial) {
                    (Some(m), _)
                        if is_pi_mac(m) || pxe_macs.contains(m.as_str()) || serial.is_some() =>
                    {
                        m.clone()
                    }
                    (_, Some(s)) => format!("serial:{s}"),
                    _ => continue,
                };
                // a serial first seen alone, then matched to a MAC: merge
                if let (Some(m), Some(s)) = (&mac, &serial) {
                    if let Some(old) = found.remove(&format!("serial:{s}")) {
                        let d = found.entry(m.clone()).or_insert(old.clone());
                        d.first_seen = d.first_seen.min(old.first_seen);
                    }
                }
                touch(&mut found, key.clone(), e.time, "tftp");
                if let Some(d) = found.get_mut(&key) {
                    if let Some(m) = &mac {
                        d.mac = m.clone();
                    }
                    if let Some(s) = &serial {
                        d.serial = s.clone();
                    }
                    if !addr.is_empty() {
                        d.ip = addr.to_string();
                    }
                    let m = model_from_file(path);
                    if !m.is_empty() {
                        d.model = m.into();
                    }
                    if matches!(e.kind, EventKind::Missing { .. }) && d.missing.len() < 8 {
                        let rel = tftp_root
                            .and_then(|r| path.strip_prefix(r.trim_end_matches('/')))
                            .unwrap_or(path)
                            .trim_start_matches('/')
                            .to_string();
                        if !d.missing.contains(&rel) {
                            d.missing.push(rel);
                        }
                    }
                }
            }
        }
    }
    let mut out: Vec<Discovered> = found.into_values().collect();
    out.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.mac.cmp(&b.mac)));
    out.truncate(MAX_DISCOVERED);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dhcp(t: u64, mac: &str, ip: &str, vendor: &str) -> Event<'static> {
        Event {
            time: t,
            kind: EventKind::Dhcp {
                action: "add".into(),
                mac: mac.to_string().into(),
                ip: ip.to_string().into(),
                hostname: "".into(),
                vendor: vendor.to_string().into(),
            },
        }
    }
    fn tftp(t: u64, ip: &str, path: &str, missing: bool) -> Event<'static> {
        Event {
            time: t,
            kind: if missing {
                EventKind::Missing {
                    addr: ip.to_string().into(),
                    path: path.to_string().into(),
                    reason: "not found".into(),
                }
            } else {
                EventKind::Tftp {
                    size: 1,
                    addr: ip.to_string().into(),
                    path: path.to_string().into(),
                }
            },
        }
    }
    const PXE: &str = "PXEClient:Arch:00000:UNDI:002001";
    const ROOT: Option<&str> = Some("/mnt/rpinet/tftp");

    #[test]
    fn an_unknown_pi4_is_found_with_serial_and_model() {
        let ev = vec![
            dhcp(100, "dc:a6:32:01:02:03", "192.168.1.60", PXE),
            tftp(
                101,
                "192.168.1.60",
                "/mnt/rpinet/tftp/91cdf03d/start4.elf",
                true,
            ),
            tftp(
                101,
                "192.168.1.60",
                "/mnt/rpinet/tftp/91cdf03d/start.elf",
                true,
            ),
            tftp(102, "192.168.1.60", "/mnt/rpinet/tftp/start4.elf", true),
        ];
        let d = discover(&ev, &[], &[], ROOT);
        assert_eq!(d.len(), 1);
        let p = &d[0];
        assert_eq!(
            (
                p.mac.as_str(),
                p.serial.as_str(),
                p.model.as_str(),
                p.ip.as_str()
            ),
            ("dc:a6:32:01:02:03", "91cdf03d", "pi4", "192.168.1.60")
        );
        assert_eq!(
            (p.first_seen, p.last_seen, p.seen.as_str()),
            (100, 102, "tftp")
        );
        assert_eq!(p.missing[0], "91cdf03d/start4.elf");
    }

    #[test]
    fn a_pi_dnsmasq_ignores_in_proxy_mode_is_found() {
        let ev = vec![Event {
            time: 9,
            kind: EventKind::Dhcp {
                action: "ignored".into(),
                mac: "d8:3a:dd:00:00:01".into(),
                ip: "".into(),
                hostname: "".into(),
                vendor: "PXEClient".into(),
            },
        }];
        let d = discover(&ev, &[], &[], ROOT);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].mac.as_str(), d[0].ip.as_str()),
            ("d8:3a:dd:00:00:01", "")
        );
    }

    #[test]
    fn nodes_and_non_pis_are_not_discovered() {
        let ev = vec![
            dhcp(1, "dc:a6:32:79:26:df", "192.168.1.57", PXE),
            tftp(
                2,
                "192.168.1.57",
                "/mnt/rpinet/tftp/38c128c0/start4.elf",
                false,
            ),
            dhcp(3, "00:11:22:33:44:55", "192.168.1.9", ""),
            tftp(4, "192.168.1.9", "/mnt/rpinet/tftp/notaserial/x", false),
        ];
        let d = discover(
            &ev,
            &["dc:a6:32:79:26:df".into()],
            &["38c128c0".into()],
            ROOT,
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn a_serial_alone_is_reported_then_merged_with_its_mac() {
        let ev = vec![tftp(5, "", "/mnt/rpinet/tftp/d137e638/config.txt", true)];
        let d = discover(&ev, &[], &[], ROOT);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].serial.as_str(), d[0].mac.as_str()), ("d137e638", ""));
        let ev = vec![
            tftp(5, "", "/mnt/rpinet/tftp/d137e638/config.txt", true),
            dhcp(6, "2c:cf:67:00:00:01", "192.168.1.61", PXE),
            tftp(
                7,
                "192.168.1.61",
                "/mnt/rpinet/tftp/d137e638/bcm2712-rpi-5-b.dtb",
                true,
            ),
        ];
        let d = discover(&ev, &[], &[], ROOT);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].serial, "d137e638");
        assert_eq!(d[0].mac, "2c:cf:67:00:00:01");
        assert_eq!(d[0].model, "pi5");
        assert_eq!(d[0].first_seen, 5);
    }
}
