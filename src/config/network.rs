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
    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & self.mask())
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !self.mask())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Why `ip` cannot be a host's address here (outside the subnet, its network or
    /// broadcast address, the server's own), if it cannot.
    pub fn host_problem(&self, ip: Ipv4Addr, server: Ipv4Addr) -> Option<String> {
        if !self.contains(ip) {
            Some(format!("{ip} is outside the boot subnet {}", self.cidr()))
        } else if self.prefix < 31 && (ip == self.network() || ip == self.broadcast()) {
            Some(format!(
                "{ip} is the network or broadcast address of {}",
                self.cidr()
            ))
        } else if ip == server {
            Some(format!("{ip} is the router's own address"))
        } else {
            None
        }
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
        // A dynamic interface (`proto dhcp`): the address is server_ip's, the prefix the
        // section's netmask, else /24 (a home LAN).
        let Some(server) = config.server_ip else {
            return Err(Error::new(format!(
                "interface '{iface}' has no static IPv4 address in {NETWORK_PATH}; set rpinet.main.server_ip"
            )));
        };
        let prefix = match section.get("netmask") {
            Some(Value::Option(m)) => mask_prefix(m).unwrap_or(24),
            _ => 24,
        };
        return Ok(BootNet {
            server,
            subnet: Subnet {
                address: server,
                prefix,
            },
        });
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

    #[test]
    fn a_dynamic_interface_takes_server_ip() {
        let n = net(
            "config rpinet 'main'\n option server_ip '192.168.7.2'\n",
            "config interface 'lan'\n option proto 'dhcp'\n",
        )
        .unwrap();
        assert_eq!(n.server.to_string(), "192.168.7.2");
        assert_eq!(n.subnet.cidr(), "192.168.7.0/24");
        let e = net(
            "config rpinet 'main'\n",
            "config interface 'lan'\n option proto 'dhcp'\n",
        )
        .unwrap_err();
        assert!(e.message().contains("set rpinet.main.server_ip"), "{e}");
    }

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
