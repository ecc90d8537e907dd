//! The network the Pis boot on: the server address and subnet of `interface`.
//!
//! Read from /etc/config/network (a static `proto`'s `ipaddr`/`netmask`, either form OpenWrt
//! accepts: `192.168.1.1` + `netmask`, or `192.168.1.1/24`, as an option or a list), with
//! `server_ip` overriding the address.

use std::net::Ipv4Addr;

use crate::config::Config;
use crate::config::uci::{Package, Value};
use crate::error::{Error, Result};

pub const NETWORK_PATH: &str = "/etc/config/network";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn network(&self) -> Ipv4Addr {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        };
        Ipv4Addr::from(u32::from(self.address) & mask)
    }

    /// `192.168.1.0/24`, as exports and dnsmasq write it.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.network(), self.prefix)
    }
}

/// Where the Pis boot: the address they fetch from and the subnet they are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootNet {
    pub server: Ipv4Addr,
    pub subnet: Subnet,
}

/// Find the boot network of `config.interface` in a parsed /etc/config/network.
pub fn boot_net(config: &Config, network: &Package) -> Result<BootNet> {
    let iface = &config.interface;
    let section = network
        .find(iface)
        .and_then(|i| network.sections.get(i))
        .filter(|s| s.kind == "interface")
        .ok_or_else(|| Error::new(format!("interface '{iface}' is not in {NETWORK_PATH}")))?;
    let first = match section.get("ipaddr") {
        Some(Value::Option(v)) => v.split_whitespace().next().map(str::to_string),
        Some(Value::List(items)) => items.first().cloned(),
        None => None,
    };
    let Some(first) = first else {
        return Err(Error::new(format!(
            "interface '{iface}' has no static IPv4 address in {NETWORK_PATH}; set rpinet.main.server_ip"
        )));
    };
    let bad = || {
        Error::new(format!(
            "interface '{iface}': cannot read ipaddr '{}'",
            first.escape_debug()
        ))
    };
    let (addr, prefix) = match first.split_once('/') {
        Some((a, p)) => (
            a,
            p.parse::<u8>().ok().filter(|p| *p <= 32).ok_or_else(bad)?,
        ),
        None => {
            let mask = match section.get("netmask") {
                Some(Value::Option(m)) => m.as_str(),
                _ => "255.255.255.0",
            };
            (first.as_str(), mask_prefix(mask).ok_or_else(bad)?)
        }
    };
    let address: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let subnet = Subnet { address, prefix };
    Ok(BootNet {
        server: config.server_ip.unwrap_or(address),
        subnet,
    })
}

fn mask_prefix(mask: &str) -> Option<u8> {
    let m = u32::from(mask.parse::<Ipv4Addr>().ok()?);
    let prefix = m.leading_ones();
    (m.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, uci};

    fn net(rpinet: &str, network: &str) -> Result<BootNet> {
        let c = config::from_package(&uci::parse(rpinet, "rpinet")?)?;
        boot_net(&c, &uci::parse(network, "network")?)
    }

    #[test]
    fn reads_both_address_forms() {
        let n = net("", "config interface 'lan'\n option ipaddr '192.168.1.1'\n option netmask '255.255.255.0'\n").unwrap();
        assert_eq!(
            (n.server, n.subnet.cidr()),
            ("192.168.1.1".parse().unwrap(), "192.168.1.0/24".to_string())
        );
        let n = net(
            "config rpinet 'main'\n option interface 'pis'\n option server_ip '10.0.0.9'\n",
            "config interface 'pis'\n list ipaddr '10.0.0.1/16'\n",
        )
        .unwrap();
        assert_eq!(
            (n.server.to_string(), n.subnet.cidr()),
            ("10.0.0.9".to_string(), "10.0.0.0/16".to_string())
        );
    }

    #[test]
    fn explains_what_is_missing() {
        let e = net("", "config interface 'wan'\n").unwrap_err();
        assert_eq!(e.message(), "interface 'lan' is not in /etc/config/network");
        let e = net("", "config interface 'lan'\n option proto 'dhcp'\n").unwrap_err();
        assert!(e.message().contains("no static IPv4 address"));
        let e = net(
            "",
            "config interface 'lan'\n option ipaddr '1.2.3.4'\n option netmask '255.0.255.0'\n",
        )
        .unwrap_err();
        assert!(e.message().contains("cannot read ipaddr"));
    }
}
