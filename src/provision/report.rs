//! The node's account of each boot (docs/SPEC.md §2, "Boot reports"): what rpinet puts into
//! every node root so that, when a boot ends — multi-user reached (running or degraded),
//! or emergency or rescue mode — the node writes systemd's state, its failed units, the
//! boot's ordering-cycle messages and other warnings, its start-up times, its kernel, its
//! container volume's and runtimes' state to [`PATH`] in its own root. The router reads it
//! there through the storage (`observe::report`): no daemon on the router, no port, nothing
//! new installed on either side; a node that cannot write its root cannot boot anyway.

use super::edits;
use super::rootfs::NodeFile;

/// Where the node writes its report, in its root.
pub const PATH: &str = "/var/lib/rpinet/boot-report";
/// [`PATH`]'s components, for directory-handle reads.
pub const PATH_PARTS: [&str; 4] = ["var", "lib", "rpinet", "boot-report"];

const SCRIPT: &str = include_str!("node/rpinet-report");
const UNIT: &str = include_str!("node/rpinet-report.service");
const EMERGENCY_UNIT: &str = include_str!("node/rpinet-report-emergency.service");
pub const UNIT_NAME: &str = "rpinet-report.service";
pub const EMERGENCY_UNIT_NAME: &str = "rpinet-report-emergency.service";

/// The script and its two units.
pub fn node_files() -> Vec<NodeFile> {
    vec![
        NodeFile::script("rpinet-report", SCRIPT),
        NodeFile::unit(UNIT_NAME, UNIT),
        NodeFile::unit(EMERGENCY_UNIT_NAME, EMERGENCY_UNIT),
    ]
}

/// The links `systemctl enable` would make for both units (their `WantedBy=`).
pub fn links() -> Vec<(String, &'static str)> {
    [(UNIT, UNIT_NAME), (EMERGENCY_UNIT, EMERGENCY_UNIT_NAME)]
        .into_iter()
        .flat_map(|(text, name)| {
            edits::install_links(text)
                .wanted_by
                .into_iter()
                .map(move |t| (format!("{t}.wants"), name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_units_are_linked_where_their_install_sections_say() {
        assert_eq!(
            links(),
            [
                ("multi-user.target.wants".to_string(), UNIT_NAME),
                ("emergency.target.wants".to_string(), EMERGENCY_UNIT_NAME),
                ("rescue.target.wants".to_string(), EMERGENCY_UNIT_NAME),
            ]
        );
    }

    #[test]
    fn the_script_writes_where_the_router_reads_with_stock_tools_only() {
        assert!(SCRIPT.contains("dir=/var/lib/rpinet\nout=$dir/boot-report\n"));
        assert_eq!(PATH, format!("/{}", PATH_PARTS.join("/")));
        assert!(SCRIPT.starts_with("#!/bin/sh\n"));
        for tool in ["systemctl", "journalctl", "findmnt"] {
            assert!(SCRIPT.contains(tool), "{tool}");
        }
        // written whole: a temp file renamed over the report
        assert!(SCRIPT.contains("mv -f \"$tmp\" \"$out\""));
        // each unit runs the script in its mode
        assert!(UNIT.contains("ExecStart=/usr/local/sbin/rpinet-report multi-user"));
        assert!(EMERGENCY_UNIT.contains("ExecStart=/usr/local/sbin/rpinet-report emergency"));
        assert!(EMERGENCY_UNIT.contains("DefaultDependencies=no"));
    }
}
