//! The rpinet block of /etc/exports, and putting it into the user's file.
//!
//! Each enabled node exports its root (nfs/<node>) and its boot dir (tftp/<boot-id>, mounted
//! by the node as /boot/firmware) to that node only: its `ip` (every node of a server-mode
//! dnsmasq has one: `config::reserve` picks it when none was given). The whole boot subnet
//! is named only when the user sets `export_subnet`, or for a node without an address in
//! proxy mode (another server leases it; doctor warns).
//! `mp=` makes nfsd export nothing while the SSD is not mounted. A shared root (an overlay:
//! no device, no filesystem UUID for nfsd to name it by) is exported with an `fsid=` of its
//! own, the same for the node's whole life (its file handles name it).

use std::collections::BTreeMap;

use super::Inputs;

pub const BEGIN: &str = "# BEGIN rpinet";
pub const END: &str = "# END rpinet";
const OPTIONS: &str = "rw,sync,no_subtree_check,no_root_squash";

/// The block, BEGIN and END lines included. `shared`: the nodes whose root is shared (by
/// name). Empty when storage is on an NFS server: that server exports the nodes' trees.
pub fn render(i: &Inputs, shared: &BTreeMap<String, String>) -> String {
    let mut out = format!("{BEGIN}\n# {}\n", super::HEADER);
    if let Some(storage) = i.storage.filter(|_| i.config.server.is_none()) {
        for n in i
            .config
            .nodes
            .iter()
            .filter(|n| n.enabled && i.config.enabled)
        {
            let client = match (i.config.export_subnet, n.ip) {
                (false, Some(ip)) => ip.to_string(),
                _ => i.net.subnet.cidr(),
            };
            let opts = format!("{client}({OPTIONS},mp={storage})");
            match shared.contains_key(&n.name) {
                true => out.push_str(&format!(
                    "{storage}/nfs/{} {client}({OPTIONS},mp={storage},fsid={})\n",
                    n.name,
                    fsid(i.config.storage_uuid.as_deref().unwrap_or(""), &n.name)
                )),
                false => out.push_str(&format!("{storage}/nfs/{} {opts}\n", n.name)),
            }
            out.push_str(&format!("{storage}/tftp/{} {opts}\n", n.boot_dir()));
            out.push_str(&volume_line(i, n, storage, &opts));
        }
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The `fsid=` of node `name`'s shared root: a UUID made from the SSD's and the node's
/// names (two FNV-1a hashes of them), so it stays while both do and no two nodes share one.
pub fn fsid(storage_uuid: &str, name: &str) -> String {
    let fnv = |seed: &[u8]| {
        [seed, storage_uuid.as_bytes(), b"/", name.as_bytes()]
            .concat()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            })
    };
    let hex = format!(
        "{:016x}{:016x}",
        fnv(b"rpinet root a"),
        fnv(b"rpinet root b")
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The node's container volume directory, exported like its root (to that node alone),
/// when it has a volume; else nothing.
fn volume_line(i: &Inputs, n: &crate::config::Node, storage: &str, opts: &str) -> String {
    match i.config.volume_size_of(n) {
        Some(_) => format!("{} {opts}\n", n.volume_dir(storage)),
        None => String::new(),
    }
}

/// What an NFS server holding the storage must export (`rpinet storage exports`): its
/// /etc/exports lines when it runs Linux — the router writes every tree (roots belong to
/// root: no_root_squash), each node mounts its own — then the same as an appliance's share
/// settings, as comments, so the whole text is a valid exports file.
pub fn for_server(i: &Inputs, server: &crate::config::NfsServer) -> String {
    let export = &server.export;
    let router = i.net.server;
    let mut out = format!(
        "# /etc/exports of {} (a Linux server; then `exportfs -ra`): written by rpinet from /etc/config/rpinet\n\
         {export} {router}({OPTIONS})\n",
        server.host
    );
    let mut clients = vec![router.to_string()];
    for n in i.config.nodes.iter().filter(|n| n.enabled) {
        let client = match (i.config.export_subnet, n.ip) {
            (false, Some(ip)) => ip.to_string(),
            _ => i.net.subnet.cidr(),
        };
        let opts = format!("{client}({OPTIONS})");
        out.push_str(&format!("{export}/nfs/{} {opts}\n", n.name));
        out.push_str(&format!("{export}/tftp/{} {opts}\n", n.boot_dir()));
        out.push_str(&volume_line(i, n, export, &opts));
        if !clients.contains(&client) {
            clients.push(client);
        }
    }
    out.push_str(&format!(
        "#\n# An appliance (TrueNAS, Synology, QNAP, ...): one NFS share of {export}\n\
         #   NFSv3 on; hosts allowed: {}\n\
         #   root not squashed: TrueNAS \"Maproot User: root\", \"Maproot Group: wheel\"; Synology \"Squash: No mapping\"; QNAP \"Squash: No squash\"\n\
         #   subdirectories mountable: TrueNAS CORE \"All dirs\"; Synology \"Allow users to access mounted subfolders\"\n\
         #   writes synchronous: Synology \"Asynchronous: No\"; read-write for every host above\n",
        clients.join(" ")
    ));
    out
}

/// True when no node is exported (SSD absent, rpinet disabled, or no enabled node).
pub fn is_empty(i: &Inputs) -> bool {
    i.storage.is_none()
        || i.config.server.is_some()
        || !i.config.enabled
        || !i.config.nodes.iter().any(|n| n.enabled)
}

/// Replace the rpinet block in `existing` (or append it); every other line is kept byte for
/// byte. A BEGIN without END (or the reverse) is refused rather than guessed at.
pub fn merge(existing: &str, block: &str) -> Result<String, String> {
    Ok(merge_if_changed(existing, block)?.unwrap_or_else(|| existing.to_string()))
}

/// [`merge`], or None when `existing` already holds exactly `block` (nothing to write, and
/// no copy of a large file made to find that out).
pub fn merge_if_changed(existing: &str, block: &str) -> Result<Option<String>, String> {
    let is = |l: &str, marker: &str| l.trim_end_matches(['\n', '\r']).trim_end() == marker;
    // (byte offset, line) of every line
    let mut at = 0;
    let lines: Vec<(usize, &str)> = existing
        .split_inclusive('\n')
        .map(|l| {
            let start = at;
            at += l.len();
            (start, l)
        })
        .collect();
    let begins: Vec<usize> = (0..lines.len())
        .filter(|&k| is(lines[k].1, BEGIN))
        .collect();
    let ends: Vec<usize> = (0..lines.len()).filter(|&k| is(lines[k].1, END)).collect();
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => {
            let mut out = existing.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(block);
            Ok(Some(out))
        }
        ([b], [e]) if b < e => {
            let (start, end) = (lines[*b].0, lines[*e].0 + lines[*e].1.len());
            if &existing[start..end] == block {
                return Ok(None);
            }
            let mut out = String::with_capacity(existing.len() - (end - start) + block.len());
            out.push_str(&existing[..start]);
            out.push_str(block);
            out.push_str(&existing[end..]);
            Ok(Some(out))
        }
        _ => Err(format!(
            "has a broken rpinet block (one '{BEGIN}' line, then one '{END}' line expected)"
        )),
    }
}

/// `existing` without the rpinet block (None: it has none); a broken block is refused as
/// [`merge`] refuses it.
pub fn without_block(existing: &str) -> Result<Option<String>, String> {
    if !existing.contains(BEGIN) && !existing.contains(END) {
        return Ok(None);
    }
    // Merging an empty block, then dropping its lines, keeps every user line as it was.
    let marker = format!("{BEGIN}\n{END}\n");
    let merged = merge(existing, &marker)?;
    Ok(Some(merged.replacen(&marker, "", 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::inputs_with_nodes;

    fn render(i: &Inputs) -> String {
        super::render(i, &BTreeMap::new())
    }

    #[test]
    fn a_shared_root_is_exported_with_an_fsid_of_its_own() {
        let (c, net) = inputs_with_nodes("", NODES);
        let i = Inputs {
            config: &c,
            net,
            storage: Some("/mnt/rpinet"),
            conf_dir: "/x",
        };
        let shared = BTreeMap::from([("lion".to_string(), "bw".to_string())]);
        let block = super::render(&i, &shared);
        let lion: Vec<&str> = block.lines().filter(|l| l.contains("/nfs/lion")).collect();
        let id = fsid("", "lion");
        assert_eq!(
            lion,
            [format!(
                "/mnt/rpinet/nfs/lion 192.168.1.50(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet,fsid={id})"
            )]
        );
        assert!(!block.contains(
            "tftp/11111111 192.168.1.50(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet,fsid"
        ));
        assert_eq!(id.len(), 36);
        assert_eq!(id, fsid("", "lion"));
        let ids: std::collections::BTreeSet<String> =
            (0..5000).map(|k| fsid("6a1f", &format!("n{k}"))).collect();
        assert_eq!(ids.len(), 5000);
        assert_ne!(fsid("6a1f", "lion"), fsid("6a20", "lion"));
    }

    const NODES: &str = "config node 'lion'\n option serial '11111111'\n option mac 'dc:a6:32:00:00:01'\n option ip '192.168.1.50'\n\
                         config node 'tiger'\n option serial '22222222'\n option mac 'dc:a6:32:00:00:02'\n option boot_id 'mac'\n\
                         config node 'off'\n option serial '33333333'\n option mac 'dc:a6:32:00:00:03'\n option enabled '0'\n";

    #[test]
    fn block_exports_root_and_boot_dir_to_each_node() {
        let (c, net) = inputs_with_nodes("", NODES);
        let block = render(&Inputs {
            config: &c,
            net,
            storage: Some("/mnt/rpinet"),
            conf_dir: "/x",
        });
        let want = "# BEGIN rpinet
# Written by rpinet from /etc/config/rpinet; do not edit: change the config and run 'rpinet apply'.
/mnt/rpinet/nfs/lion 192.168.1.50(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet)
/mnt/rpinet/tftp/11111111 192.168.1.50(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet)
/mnt/rpinet/nfs/tiger 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet)
/mnt/rpinet/tftp/dc-a6-32-00-00-02 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet)
# END rpinet
";
        assert_eq!(block, want);
        let empty = render(&Inputs {
            config: &c,
            net,
            storage: None,
            conf_dir: "/x",
        });
        assert_eq!(empty.lines().count(), 3);
        // storage on an NFS server: that server exports the trees, the router nothing
        let (c, net) = inputs_with_nodes(
            "option storage_server 'nas'\n option storage_export '/tank/rp'\n option storage_path '/mnt/rpinet'",
            NODES,
        );
        let i = Inputs {
            config: &c,
            net,
            storage: Some("/mnt/rpinet"),
            conf_dir: "/x",
        };
        assert_eq!(render(&i).lines().count(), 3);
        assert!(is_empty(&i));
        assert_eq!(crate::render::nfsd::render(&i), None);
    }

    #[test]
    fn a_node_with_a_volume_exports_its_volume_dir_to_itself_only() {
        let (c, net) = inputs_with_nodes(
            "option volume_size '32G'",
            &format!(
                "{NODES}config node 'cub'\n option serial '44444444'\n option mac 'dc:a6:32:00:00:04'\n option ip '192.168.1.54'\n option volume_size '0'\n"
            ),
        );
        let block = render(&Inputs {
            config: &c,
            net,
            storage: Some("/mnt/rpinet"),
            conf_dir: "/x",
        });
        let volumes: Vec<&str> = block.lines().filter(|l| l.contains("/volumes/")).collect();
        assert_eq!(
            volumes,
            [
                "/mnt/rpinet/volumes/lion 192.168.1.50(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet)",
                "/mnt/rpinet/volumes/tiger 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet)"
            ]
        );
    }

    #[test]
    fn a_server_is_told_what_to_export() {
        let (c, net) = inputs_with_nodes(
            "option storage_server 'nas'\n option storage_export '/tank/rp'\n option storage_path '/mnt/rpinet'\n option volume_size '32G'",
            NODES,
        );
        let i = Inputs {
            config: &c,
            net,
            storage: None,
            conf_dir: "/x",
        };
        let text = for_server(&i, c.server.as_ref().unwrap());
        let o = "(rw,sync,no_subtree_check,no_root_squash)";
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                format!("/tank/rp 192.168.1.1{o}"),
                format!("/tank/rp/nfs/lion 192.168.1.50{o}"),
                format!("/tank/rp/tftp/11111111 192.168.1.50{o}"),
                format!("/tank/rp/volumes/lion 192.168.1.50{o}"),
                format!("/tank/rp/nfs/tiger 192.168.1.0/24{o}"),
                format!("/tank/rp/tftp/dc-a6-32-00-00-02 192.168.1.0/24{o}"),
                format!("/tank/rp/volumes/tiger 192.168.1.0/24{o}"),
            ]
        );
        assert!(text.starts_with("# /etc/exports of nas (a Linux server"));
        assert!(
            text.contains("#   NFSv3 on; hosts allowed: 192.168.1.1 192.168.1.50 192.168.1.0/24\n")
        );
        assert!(text.contains("\"Maproot User: root\"") && text.contains("\"Squash: No mapping\""));
        // what it says is an exports file: every line an export or a comment, the merge takes it
        assert!(
            text.lines()
                .all(|l| l.starts_with('#') || l.starts_with("/tank/rp"))
        );
    }

    #[test]
    fn merge_keeps_user_lines_byte_for_byte() {
        let block = "# BEGIN rpinet\nnew\n# END rpinet\n";
        assert_eq!(merge("", block).unwrap(), block);
        assert_eq!(
            merge("/a *(ro)", block).unwrap(),
            format!("/a *(ro)\n{block}")
        );
        let user = "# /mnt\t*(ro,all_squash,insecure,sync)\r\n/b  host(rw)\n";
        let old = format!("{user}# BEGIN rpinet\nold\nold2\n# END rpinet\n/c x(ro)\n\n");
        assert_eq!(
            merge(&old, block).unwrap(),
            format!("{user}{block}/c x(ro)\n\n")
        );
        let no_newline = "/x y\n# BEGIN rpinet\n# END rpinet";
        assert_eq!(merge(no_newline, block).unwrap(), format!("/x y\n{block}"));
        for broken in [
            "# BEGIN rpinet\n",
            "# END rpinet\n",
            "# END rpinet\n# BEGIN rpinet\n",
            "# BEGIN rpinet\n# BEGIN rpinet\n# END rpinet\n",
        ] {
            assert!(merge(broken, block).is_err(), "{broken:?}");
        }
    }
}
