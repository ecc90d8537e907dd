//! The per-node files of dnsmasq's `dhcp-hostsdir`: one file a node, named after it.
//!
//! dnsmasq watches that directory with inotify, so a new node is served with no restart; a
//! removed file needs only SIGHUP. Entries carry no `set:` tag (see `dnsmasq::render`): a
//! matching entry gives the client dnsmasq's `known` tag, which is what rpinet.conf uses.

use std::collections::BTreeMap;

use super::Inputs;
use crate::config::DhcpMode;

/// File name → content, for every enabled node.
pub fn render(i: &Inputs) -> BTreeMap<String, String> {
    i.config
        .nodes
        .iter()
        .filter(|n| n.enabled && i.config.enabled)
        .map(|n| {
            // A reservation only makes sense where this dnsmasq leases addresses.
            let ip = match (i.config.dhcp_mode, n.ip) {
                (DhcpMode::Server, Some(ip)) => format!(",{ip}"),
                _ => String::new(),
            };
            let line = format!("{}{ip},{}\n", n.mac, n.hostname());
            (
                n.name.clone(),
                format!("# rpinet node '{}'\n{line}", n.name),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::inputs_with_nodes;

    #[test]
    fn one_file_per_enabled_node() {
        let nodes = "config node 'lion'\n option serial '11111111'\n option mac 'DC:A6:32:00:00:01'\n option ip '192.168.1.50'\n\
                     config node 'off'\n option serial '22222222'\n option mac 'dc:a6:32:00:00:02'\n option enabled '0'\n\
                     config node 'cat_2'\n option serial '33333333'\n option mac 'dc:a6:32:00:00:03'\n";
        let (c, net) = inputs_with_nodes("", nodes);
        let files = render(&Inputs {
            config: &c,
            net,
            storage: None,
            conf_dir: "/tmp/dnsmasq.d",
        });
        assert_eq!(files.keys().collect::<Vec<_>>(), ["cat_2", "lion"]);
        assert_eq!(
            files["lion"],
            "# rpinet node 'lion'\ndc:a6:32:00:00:01,192.168.1.50,lion\n"
        );
        assert_eq!(
            files["cat_2"],
            "# rpinet node 'cat_2'\ndc:a6:32:00:00:03,cat-2\n"
        );
        let (c, net) = inputs_with_nodes("option dhcp_mode 'proxy'\n", nodes);
        let files = render(&Inputs {
            config: &c,
            net,
            storage: None,
            conf_dir: "/x",
        });
        assert_eq!(
            files["lion"],
            "# rpinet node 'lion'\ndc:a6:32:00:00:01,lion\n"
        );
    }
}
