//! Address reservations: every node of a server-mode dnsmasq gets a fixed address, so its
//! exports name that address and no other host on the LAN can mount its root. A node added
//! without `--ip` (or by LuCI, or in a config from before) is given one here and it is
//! written to the config as its `ip`, so it is stable and shown everywhere.
//!
//! The address is picked in the boot subnet outside dnsmasq's pool for the interface
//! (/etc/config/dhcp `start`, `limit`; OpenWrt's defaults 100 and 150), so no lease can take
//! it: first downwards from just below the pool, then upwards from just above it; never the
//! router's address, the network or broadcast address, another node's address or a static
//! lease (`config host` ... `ip`). Pure: the same files give the same addresses.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::network::BootNet;
use super::uci::{Package, Value};
use super::{Config, DhcpMode};
use crate::error::{Error, Result};

/// The dnsmasq pool of `iface` as (first, last) address, from /etc/config/dhcp.
pub fn pool(dhcp: &Package, iface: &str, net: &BootNet) -> (u32, u32) {
    let section = dhcp
        .sections
        .iter()
        .find(|s| s.kind == "dhcp" && opt(s.get("interface")) == Some(iface));
    let num = |k: &str, d: u32| {
        section
            .and_then(|s| opt(s.get(k)))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(d)
    };
    let base = u32::from(net.subnet.network());
    let first = base.saturating_add(num("start", 100));
    (first, first.saturating_add(num("limit", 150).max(1) - 1))
}

fn opt(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::Option(s)) => Some(s),
        _ => None,
    }
}

/// `pkg` with an `ip` for every node that has none (server mode only: in proxy mode another
/// server leases the addresses, so none can be reserved here); None when no node needs one.
pub fn with_reservations(
    pkg: &Package,
    config: &Config,
    net: &BootNet,
    dhcp: &Package,
) -> Result<Option<Package>> {
    if config.dhcp_mode == DhcpMode::Proxy || config.nodes.iter().all(|n| n.ip.is_some()) {
        return Ok(None);
    }
    let mut taken: BTreeSet<u32> = config
        .nodes
        .iter()
        .filter_map(|n| n.ip)
        .map(u32::from)
        .collect();
    taken.insert(u32::from(net.server));
    for s in dhcp.sections.iter().filter(|s| s.kind == "host") {
        if let Some(ip) = opt(s.get("ip")).and_then(|v| v.parse::<Ipv4Addr>().ok()) {
            taken.insert(u32::from(ip));
        }
    }
    let (first, last) = pool(dhcp, &config.interface, net);
    let lo = u32::from(net.subnet.network()) + 1;
    let hi = u32::from(net.subnet.broadcast()).saturating_sub(1);
    let below = (lo..first.min(hi + 1)).rev();
    let above = last.saturating_add(1).max(lo)..=hi;
    let mut free = below.chain(above).filter(|a| !taken.contains(a));
    let mut next = pkg.clone();
    for n in config.nodes.iter().filter(|n| n.ip.is_none()) {
        let Some(ip) = free.next() else {
            return Err(Error::new(format!(
                "node '{}': no free address in {} outside the DHCP pool ({}-{}) to reserve; set its ip",
                n.name,
                net.subnet.cidr(),
                Ipv4Addr::from(first),
                Ipv4Addr::from(last)
            )));
        };
        if let Some(i) = next.find(&n.name) {
            next.sections[i].set("ip", &Ipv4Addr::from(ip).to_string());
        }
    }
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{from_package, network, uci};

    fn reserve(rpinet: &str, dhcp: &str) -> Result<Vec<(String, String)>> {
        let pkg = uci::parse(rpinet, "rpinet").unwrap();
        let config = from_package(&pkg).unwrap();
        let netpkg = uci::parse(
            "config interface 'lan'\n option ipaddr '10.9.0.1'\n option netmask '255.255.255.0'\n",
            "network",
        )
        .unwrap();
        let net = network::boot_net(&config, &netpkg).unwrap();
        let dhcp = uci::parse(dhcp, "dhcp").unwrap();
        let next = with_reservations(&pkg, &config, &net, &dhcp)?.unwrap_or(pkg);
        let c = from_package(&next).unwrap();
        Ok(c.nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    n.ip.map(|i| i.to_string()).unwrap_or_default(),
                )
            })
            .collect())
    }

    const NODES: &str = "config rpinet 'main'\nconfig node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\nconfig node 'b'\n option serial '22222222'\n option mac '02:00:00:00:00:02'\n option ip '10.9.0.99'\nconfig node 'c'\n option serial '33333333'\n option mac '02:00:00:00:00:03'\n";

    #[test]
    fn addresses_below_the_pool_skipping_what_is_taken() {
        let dhcp = "config dhcp 'lan'\n option interface 'lan'\n option start '100'\n option limit '150'\nconfig host\n option ip '10.9.0.98'\n";
        assert_eq!(
            reserve(NODES, dhcp).unwrap(),
            [
                ("a".into(), "10.9.0.97".into()),
                ("b".into(), "10.9.0.99".into()),
                ("c".into(), "10.9.0.96".into())
            ]
        );
    }

    #[test]
    fn above_the_pool_when_below_is_full_and_an_error_when_all_is() {
        let dhcp =
            "config dhcp 'lan'\n option interface 'lan'\n option start '1'\n option limit '250'\n";
        let got = reserve(NODES, dhcp).unwrap();
        assert_eq!(got[0].1, "10.9.0.251");
        assert_eq!(got[2].1, "10.9.0.252");
        let dhcp =
            "config dhcp 'lan'\n option interface 'lan'\n option start '1'\n option limit '254'\n";
        let e = reserve(NODES, dhcp).unwrap_err();
        assert!(
            e.message()
                .starts_with("node 'a': no free address in 10.9.0.0/24"),
            "{e}"
        );
    }

    #[test]
    fn proxy_mode_reserves_nothing() {
        let text = NODES.replace(
            "config rpinet 'main'\n",
            "config rpinet 'main'\n option dhcp_mode 'proxy'\n",
        );
        let got = reserve(&text, "").unwrap();
        assert_eq!(got[0].1, "");
    }
}
