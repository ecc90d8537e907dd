//! Which dnsmasq instance serves the boot interface, where its conf-dir is, and making its
//! procd jail see the SSD.
//!
//! OpenWrt ≤ 23.05 uses /tmp/dnsmasq.d, 24.10+ /tmp/dnsmasq.<section>.d, and `confdir`
//! overrides both; the truth is the `conf-dir=` line of the instance's generated
//! /var/etc/dnsmasq.conf.<section>, read first. No ubus needed.

use crate::config::uci::{Package, Value};
use crate::error::{Error, Result};

pub const DHCP_PATH: &str = "/etc/config/dhcp";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The `config dnsmasq` section's uci name (e.g. `cfg01411c`).
    pub section: String,
    index: usize,
    pub conf_dir: String,
}

impl Instance {
    pub fn pid_file(&self) -> String {
        format!("/var/run/dnsmasq/dnsmasq.{}.pid", self.section)
    }

    /// The instance's lease file: its section's `leasefile`, else OpenWrt's default.
    pub fn lease_file(&self, dhcp: &Package) -> String {
        dhcp.sections
            .get(self.index)
            .and_then(|s| match s.get("leasefile") {
                Some(crate::config::uci::Value::Option(v)) if v.starts_with('/') => Some(v.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "/tmp/dhcp.leases".into())
    }
}

pub fn generated_config_path(section: &str) -> String {
    format!("/var/etc/dnsmasq.conf.{section}")
}

/// Find the instance serving `interface`. `generated(section)` returns the text of its
/// /var/etc/dnsmasq.conf.<section> if present; `release` is /etc/openwrt_release.
pub fn find_instance(
    dhcp: &Package,
    interface: &str,
    generated: impl Fn(&str) -> Option<String>,
    release: Option<&str>,
) -> Result<Instance> {
    let instances: Vec<usize> = (0..dhcp.sections.len())
        .filter(|&k| dhcp.sections[k].kind == "dnsmasq")
        .collect();
    if instances.is_empty() {
        return Err(Error::new(format!(
            "no 'config dnsmasq' section in {DHCP_PATH}: is dnsmasq installed?"
        )));
    }
    // A `config dhcp` pool for the interface may bind it to a named instance.
    let pool = dhcp.sections.iter().enumerate().find(|(k, s)| {
        s.kind == "dhcp"
            && match s.get("interface") {
                Some(Value::Option(i)) => i == interface,
                _ => dhcp.section_name(*k) == interface,
            }
    });
    let wanted = pool.and_then(|(_, s)| match s.get("instance") {
        Some(Value::Option(name)) => Some(name.clone()),
        _ => None,
    });
    let index = match wanted {
        Some(name) => *instances
            .iter()
            .find(|&&k| dhcp.section_name(k) == name)
            .ok_or_else(|| Error::new(format!("the dhcp pool of '{interface}' names dnsmasq instance '{name}', which {DHCP_PATH} lacks")))?,
        None => instances[0],
    };
    let section = dhcp.section_name(index);
    let from_generated = generated(&section).and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("conf-dir="))
            .map(|v| v.split(',').next().unwrap_or(v).trim().to_string())
    });
    let from_uci = match dhcp.sections[index].get("confdir") {
        Some(Value::Option(d)) if d.starts_with('/') => {
            Some(d.split(',').next().unwrap_or(d).to_string())
        }
        _ => None,
    };
    let conf_dir = from_generated
        .or(from_uci)
        .unwrap_or_else(|| default_conf_dir(&section, release));
    Ok(Instance {
        section,
        index,
        conf_dir: conf_dir.trim_end_matches('/').to_string(),
    })
}

/// The default conf-dir of a release: 23.05 and older share /tmp/dnsmasq.d.
fn default_conf_dir(section: &str, release: Option<&str>) -> String {
    let version = release.and_then(|r| {
        r.lines()
            .find_map(|l| l.strip_prefix("DISTRIB_RELEASE="))
            .map(|v| v.trim_matches(['\'', '"']).to_string())
    });
    let major: Option<u32> = version
        .as_deref()
        .and_then(|v| v.split('.').next()?.parse().ok());
    match major {
        Some(m) if m <= 23 => "/tmp/dnsmasq.d".into(),
        _ => format!("/tmp/dnsmasq.{section}.d"),
    }
}

/// The `config dhcp` pool of `interface` switches DHCP off (`option ignore '1'`). OpenWrt
/// then writes `no-dhcp-interface=<dev>`, which silences rpinet's proxy replies too.
pub fn pool_ignored(dhcp: &Package, interface: &str) -> bool {
    dhcp.sections.iter().enumerate().any(|(k, s)| {
        let serves = match s.get("interface") {
            Some(Value::Option(i)) => i == interface,
            _ => dhcp.section_name(k) == interface,
        };
        s.kind == "dhcp" && serves && matches!(s.get("ignore"), Some(Value::Option(v)) if crate::config::parse_bool(v) == Some(true))
    })
}

/// What to tell a user whose proxy mode cannot work (see [`pool_ignored`]).
pub fn proxy_blocked_message(interface: &str) -> String {
    format!(
        "dhcp_mode proxy, but DHCP is switched off on '{interface}' (option ignore '1' in {DHCP_PATH}), which silences the proxy replies too: remove that option and set option dynamicdhcp '0' so dnsmasq leases nothing itself"
    )
}

/// The option of the dnsmasq section where rpinet notes the `addnmount` entry it added, so
/// it can take that one back (a changed storage_path, `apply --withdraw`) and never a user's.
pub const ADDNMOUNT_MARK: &str = "rpinet_addnmount";

/// `dhcp` with dnsmasq's jail seeing `storage` (None: already so): the entry rpinet added
/// for another path before is replaced.
pub fn with_addnmount(dhcp: &Package, instance: &Instance, storage: &str) -> Option<Package> {
    let section = dhcp.sections.get(instance.index)?;
    let marked = match section.get(ADDNMOUNT_MARK) {
        Some(Value::Option(v)) => Some(v.clone()),
        _ => None,
    };
    if has_entry(section.get("addnmount"), storage) && marked.as_deref() == Some(storage) {
        return None;
    }
    let mut out = without_addnmount(dhcp).unwrap_or_else(|| dhcp.clone());
    let sec = &mut out.sections[instance.index];
    if !has_entry(sec.get("addnmount"), storage) {
        sec.add_list("addnmount", storage);
    }
    sec.set(ADDNMOUNT_MARK, storage);
    Some(out)
}

/// `dhcp` without the `addnmount` entries rpinet added (in any dnsmasq section), or None when
/// it has none.
pub fn without_addnmount(dhcp: &Package) -> Option<Package> {
    let mut out = dhcp.clone();
    let mut changed = false;
    for sec in out.sections.iter_mut().filter(|s| s.kind == "dnsmasq") {
        let Some(Value::Option(mark)) = sec.get(ADDNMOUNT_MARK).cloned() else {
            continue;
        };
        let kept: Vec<String> = match sec.get("addnmount") {
            Some(Value::List(items)) => items.iter().filter(|i| **i != mark).cloned().collect(),
            Some(Value::Option(v)) => v
                .split_whitespace()
                .filter(|i| *i != mark)
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        sec.unset("addnmount");
        for k in &kept {
            sec.add_list("addnmount", k);
        }
        sec.unset(ADDNMOUNT_MARK);
        changed = true;
    }
    changed.then_some(out)
}

fn has_entry(v: Option<&Value>, storage: &str) -> bool {
    match v {
        Some(Value::List(items)) => items.iter().any(|i| i == storage),
        Some(Value::Option(v)) => v.split_whitespace().any(|i| i == storage),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::uci;

    const STOCK: &str = "config dnsmasq\n option domain 'lan'\n\nconfig dhcp 'lan'\n option interface 'lan'\n\nconfig dhcp 'wan'\n option interface 'wan'\n option ignore '1'\n";

    /// /etc/config/dhcp is read by the same reader as libuci reads it, so a host
    /// entry with a value over two lines, a continuation or a `#` in a word takes nothing down.
    #[test]
    fn dhcp_files_read_as_libuci_reads_them() {
        let dhcp = format!(
            "{STOCK}\nconfig host\n option name 'two\nlines'\n option mac 00:11:22:33:44:55#x\n list tag b\\\na\n"
        );
        let i = find(&dhcp, None, None).unwrap();
        assert_eq!(i.section, "cfg01411c");
    }

    fn find(dhcp: &str, generated: Option<&str>, release: Option<&str>) -> Result<Instance> {
        let pkg = uci::parse(dhcp, "dhcp").unwrap();
        find_instance(&pkg, "lan", |_| generated.map(str::to_string), release)
    }

    #[test]
    fn rpinet_takes_back_only_its_own_addnmount() {
        let user = "config dnsmasq\n list addnmount '/srv/user'\n\nconfig dhcp 'lan'\n option interface 'lan'\n";
        let pkg = uci::parse(user, "dhcp").unwrap();
        let inst = find(user, None, None).unwrap();
        let a = with_addnmount(&pkg, &inst, "/mnt/rpinet").unwrap();
        assert!(
            with_addnmount(&a, &inst, "/mnt/rpinet").is_none(),
            "idempotent"
        );
        let b = with_addnmount(&a, &inst, "/mnt/ssd").unwrap();
        let text = uci::serialize(&b);
        assert!(
            text.contains("list addnmount '/srv/user'\n\tlist addnmount '/mnt/ssd'\n"),
            "{text}"
        );
        assert!(!text.contains("/mnt/rpinet"), "{text}");
        let c = without_addnmount(&b).unwrap();
        let text = uci::serialize(&c);
        assert!(
            text.contains("list addnmount '/srv/user'\n") && !text.contains("/mnt/ssd"),
            "{text}"
        );
        assert!(!text.contains(ADDNMOUNT_MARK), "{text}");
        assert!(without_addnmount(&c).is_none());
    }

    #[test]
    fn conf_dir_from_generated_config_first() {
        let i = find(
            STOCK,
            Some("port=53\nconf-dir=/tmp/dnsmasq.cfg01411c.d,.bak\n"),
            None,
        )
        .unwrap();
        assert_eq!(
            (i.section.as_str(), i.conf_dir.as_str()),
            ("cfg01411c", "/tmp/dnsmasq.cfg01411c.d")
        );
        assert_eq!(i.pid_file(), "/var/run/dnsmasq/dnsmasq.cfg01411c.pid");
    }

    #[test]
    fn conf_dir_falls_back_to_uci_then_release() {
        let with = STOCK.replace("option domain 'lan'", "option confdir '/etc/dnsmasq.d/'");
        assert_eq!(find(&with, None, None).unwrap().conf_dir, "/etc/dnsmasq.d");
        let r23 = "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='23.05.5'\n";
        assert_eq!(
            find(STOCK, None, Some(r23)).unwrap().conf_dir,
            "/tmp/dnsmasq.d"
        );
        let r24 = "DISTRIB_RELEASE='24.10.1'\n";
        assert_eq!(
            find(STOCK, None, Some(r24)).unwrap().conf_dir,
            "/tmp/dnsmasq.cfg01411c.d"
        );
        assert_eq!(
            find(STOCK, None, Some("DISTRIB_RELEASE='SNAPSHOT'"))
                .unwrap()
                .conf_dir,
            "/tmp/dnsmasq.cfg01411c.d"
        );
    }

    #[test]
    fn pool_instance_selects_a_named_dnsmasq() {
        let text = "config dnsmasq\nconfig dnsmasq 'pis'\n option confdir '/tmp/pis.d'\nconfig dhcp 'lan'\n option interface 'lan'\n option instance 'pis'\n";
        let i = find(text, None, None).unwrap();
        assert_eq!(
            (i.section.as_str(), i.conf_dir.as_str()),
            ("pis", "/tmp/pis.d")
        );
        let e = find(
            &text.replace("instance 'pis'", "instance 'nope'"),
            None,
            None,
        )
        .unwrap_err();
        assert!(e.message().contains("names dnsmasq instance 'nope'"));
        let e = find("config dhcp 'lan'\n", None, None).unwrap_err();
        assert!(e.message().contains("no 'config dnsmasq' section"));
    }

    #[test]
    fn ignored_pool_is_seen() {
        let pkg = uci::parse(STOCK, "dhcp").unwrap();
        assert!(!pool_ignored(&pkg, "lan"));
        assert!(pool_ignored(&pkg, "wan"));
        let named = uci::parse(
            "config dhcp 'x'\n option interface 'lan'\n option ignore 'yes'\n",
            "dhcp",
        )
        .unwrap();
        assert!(pool_ignored(&named, "lan"));
    }

    #[test]
    fn addnmount_added_once() {
        let pkg = uci::parse(STOCK, "dhcp").unwrap();
        let i = find_instance(&pkg, "lan", |_| None, None).unwrap();
        let next = with_addnmount(&pkg, &i, "/mnt/rpinet").unwrap();
        assert_eq!(
            next.sections[0].get("addnmount"),
            Some(&Value::List(vec!["/mnt/rpinet".into()]))
        );
        assert!(with_addnmount(&next, &i, "/mnt/rpinet").is_none());
        assert!(uci::serialize(&next).contains("\tlist addnmount '/mnt/rpinet'\n"));
    }
}
