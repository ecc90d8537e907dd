//! Pure renderers: validated config in, the text of each generated file out.
//!
//! Nothing here reads or writes a file; `apply` decides what to do with the text.

pub mod dnsmasq;
pub mod exports;
pub mod hosts;
pub mod nfsd;
pub mod yaml;

use crate::config::Config;
use crate::config::network::BootNet;

/// Everything the renderers need, resolved by the system edge beforehand.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub config: &'a Config,
    pub net: BootNet,
    /// The storage path when the SSD with `storage_uuid` is mounted there; `None` otherwise,
    /// and then nothing on storage is served or exported.
    pub storage: Option<&'a str>,
    /// The dnsmasq instance's conf-dir (a router path).
    pub conf_dir: &'a str,
}

/// The tag dnsmasq sets on Raspberry Pis (by option 97 FourCC or by Ethernet OUI).
pub const PI_TAG: &str = "rpinet-pi";
/// The tag dnsmasq sets on a bootloader's PXE request (option 60 `PXEClient…`).
pub const PXE_TAG: &str = "rpinet-pxe";

/// First line of every generated file.
pub const HEADER: &str = "Written by rpinet from /etc/config/rpinet; do not edit: change the config and run 'rpinet apply'.";

/// The hosts directory dnsmasq watches: inside the conf-dir, so procd's jail (which mounts
/// the conf-dir) sees it with no extra mount.
pub fn hosts_dir(conf_dir: &str) -> String {
    format!("{}/rpinet.hosts", conf_dir.trim_end_matches('/'))
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::config::network::{self, BootNet};
    use crate::config::uci;
    use crate::config::{self, Config};

    /// A config with extra `main` options, on a 192.168.1.1/24 lan.
    pub fn inputs(main_options: &str) -> (Config, BootNet) {
        inputs_with_nodes(main_options, "")
    }

    pub fn inputs_with_nodes(main_options: &str, nodes: &str) -> (Config, BootNet) {
        let text = format!("config rpinet 'main'\n {main_options}\n{nodes}");
        let c = config::from_package(&uci::parse(&text, "rpinet").unwrap()).unwrap();
        let net = uci::parse(
            "config interface 'lan'\n option ipaddr '192.168.1.1/24'\n",
            "network",
        )
        .unwrap();
        let n = network::boot_net(&c, &net).unwrap();
        (c, n)
    }
}
