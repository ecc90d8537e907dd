//! Address reservations: every node of a server-mode dnsmasq gets a fixed address, so its
//! exports name that address and no other host on the LAN can mount its root. A node added
//! without `--ip` (or by LuCI, or in a config from before) is given one here and it is
//! written to the config as its `ip`, so it is stable and shown everywhere.
//!
//! The address is picked in the boot subnet outside dnsmasq's pool for the interface
//! (/etc/config/dhcp `start`, `limit`; OpenWrt's defaults 100 and 150), so no lease can take
//! it: first downwards from just below the pool, then upwards from just above it. When those
//! run out (OpenWrt's default /24 has 103 of them), inside the pool: the address the node
//! itself holds a lease on, else one no other client holds a lease on (dnsmasq gives a
//! reserved address to its host alone from then on). Never the router's address, the network
//! or broadcast address, another node's address or a static lease (`config host` ... `ip`).
//! Pure: the same files give the same addresses.

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
    leases: &[Lease],
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
    let mut outside = below.chain(above).filter(|a| !taken.contains(a));
    // inside the pool: addresses no client but the node itself holds a lease on
    let leased_by = |a: u32| leases.iter().find(|l| l.ip == a).map(|l| l.mac.as_str());
    let mut inside: Vec<u32> = (first.max(lo)..=last.min(hi))
        .filter(|a| !taken.contains(a) && leased_by(*a).is_none())
        .collect();
    inside.reverse(); // popped from the front of the pool
    let mut given: BTreeSet<u32> = BTreeSet::new();
    let mut next = pkg.clone();
    for n in config.nodes.iter().filter(|n| n.ip.is_none()) {
        let mac = n.mac.to_string();
        let own = leases
            .iter()
            .find(|l| l.mac == mac && (first..=last).contains(&l.ip))
            .map(|l| l.ip)
            .filter(|a| !taken.contains(a) && !given.contains(a));
        let picked = outside.next().or(own).or_else(|| {
            while let Some(a) = inside.pop() {
                if !given.contains(&a) {
                    return Some(a);
                }
            }
            None
        });
        let Some(ip) = picked else {
            return Err(Error::new(format!(
                "node '{}': no free address in {} to reserve (outside the DHCP pool {}-{} every one is taken, and inside it every one is leased or reserved); set its ip or widen the subnet",
                n.name,
                net.subnet.cidr(),
                Ipv4Addr::from(first),
                Ipv4Addr::from(last)
            )));
        };
        given.insert(ip);
        if let Some(i) = next.find(&n.name) {
            next.sections[i].set("ip", &Ipv4Addr::from(ip).to_string());
        }
    }
    Ok(Some(next))
}

/// One line of dnsmasq's lease file: the client's MAC (lower case) and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub mac: String,
    pub ip: u32,
}

/// dnsmasq's lease file (`EXPIRY MAC IP HOSTNAME CLIENT-ID` a line); lines that are not
/// IPv4 leases are passed over.
pub fn parse_leases(text: &str) -> Vec<Lease> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, mac, ip) = (f.next()?, f.next()?, f.next()?);
            let ip: Ipv4Addr = ip.parse().ok()?;
            Some(Lease {
                mac: mac.to_ascii_lowercase(),
                ip: u32::from(ip),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{from_package, network, uci};

    fn reserve(rpinet: &str, dhcp: &str) -> Result<Vec<(String, String)>> {
        reserve_with(rpinet, dhcp, &[])
    }

    /// The config of `rpinet` with its reservations, on lan 10.9.0.1/24.
    fn reserved(rpinet: &str, dhcp: &str, leases: &[Lease]) -> Result<Config> {
        let pkg = uci::parse(rpinet, "rpinet").unwrap();
        let config = from_package(&pkg).unwrap();
        let netpkg = uci::parse(
            "config interface 'lan'\n option ipaddr '10.9.0.1'\n option netmask '255.255.255.0'\n",
            "network",
        )
        .unwrap();
        let net = network::boot_net(&config, &netpkg).unwrap();
        let dhcp = uci::parse(dhcp, "dhcp").unwrap();
        let next = with_reservations(&pkg, &config, &net, &dhcp, leases)?.unwrap_or(pkg);
        Ok(from_package(&next).unwrap())
    }

    fn reserve_with(rpinet: &str, dhcp: &str, leases: &[Lease]) -> Result<Vec<(String, String)>> {
        let c = reserved(rpinet, dhcp, leases)?;
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
        // the pool is the whole subnet: inside it, then nothing when every address is leased
        let dhcp =
            "config dhcp 'lan'\n option interface 'lan'\n option start '1'\n option limit '254'\n";
        let got = reserve(NODES, dhcp).unwrap();
        assert_eq!(
            (got[0].1.as_str(), got[2].1.as_str()),
            ("10.9.0.2", "10.9.0.3")
        );
        let all: String = (2..=254)
            .map(|i| format!("1765000000 aa:bb:cc:dd:ee:{i:02x} 10.9.0.{i} h *\n"))
            .collect();
        let e = reserve_with(NODES, dhcp, &parse_leases(&all)).unwrap_err();
        assert!(
            e.message()
                .starts_with("node 'a': no free address in 10.9.0.0/24"),
            "{e}"
        );
    }

    #[test]
    fn past_a_full_outside_the_pool_own_leases_then_free_pool_addresses() {
        // OpenWrt's default lan: .1 the router, the pool .100-.249: 103 addresses outside it
        let mut text = String::from("config rpinet 'main'\n");
        for i in 0..250 {
            text.push_str(&format!(
                "config node 'n{i}'\n option serial '{i:08x}'\n option mac '02:00:00:00:{:02x}:{:02x}'\n",
                i >> 8,
                i & 255
            ));
        }
        let dhcp = "config dhcp 'lan'\n option interface 'lan'\n";
        // node n200 holds a lease on .150; a laptop holds .100 and .101
        let leases = parse_leases(
            "1765000000 02:00:00:00:00:c8 10.9.0.150 n200 *\n1765000000 AA:BB:CC:00:00:01 10.9.0.100 laptop *\n\
             1765000000 aa:bb:cc:00:00:02 10.9.0.101 phone 01:aa\nduid 00:01:00:01\n",
        );
        assert_eq!(leases.len(), 3);
        assert_eq!(leases[1].mac, "aa:bb:cc:00:00:01");
        let c = reserved(&text, dhcp, &leases).unwrap();
        let ip = |name: &str| c.node(name).unwrap().ip.unwrap().to_string();
        assert_eq!(ip("n0"), "10.9.0.99");
        assert_eq!(ip("n97"), "10.9.0.2");
        assert_eq!(ip("n98"), "10.9.0.250");
        assert_eq!(ip("n102"), "10.9.0.254");
        // inside the pool: the first free one not leased to another client
        assert_eq!(ip("n103"), "10.9.0.102");
        // the node's own lease
        assert_eq!(ip("n200"), "10.9.0.150");
        let all: BTreeSet<String> = c.nodes.iter().map(|n| n.ip.unwrap().to_string()).collect();
        assert_eq!(all.len(), 250, "every node its own address");
        for taken in [
            "10.9.0.1",
            "10.9.0.100",
            "10.9.0.101",
            "10.9.0.0",
            "10.9.0.255",
        ] {
            assert!(!all.contains(taken), "{taken}");
        }
        // 252 nodes on the same lan: only .100 and .101 (leased to others) and .1 are left
        let more = text
            + "config node 'n250'\n option serial 'aaaaaaaa'\n option mac '02:00:00:00:fa:fa'\nconfig node 'n251'\n option serial 'bbbbbbbb'\n option mac '02:00:00:00:fb:fb'\n";
        let e = reserved(&more, dhcp, &leases).unwrap_err();
        assert!(
            e.message()
                .starts_with("node 'n251': no free address in 10.9.0.0/24 to reserve"),
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
