//! The plan of `apply --withdraw`: what rpinet wrote, found in the files themselves. It needs
//! no valid config, network or dhcp pool (the package's removal script runs it on routers in
//! any state): the conf-dirs are those of every dnsmasq instance OpenWrt generated, the
//! `addnmount` entry is the one rpinet marked (`system::dnsmasq::ADDNMOUNT_MARK`), the
//! exports block is the one between rpinet's markers.

use super::Action;
use crate::config::uci;
use crate::error::{Error, Result};
use crate::plan::world::{CONF_NAME, EXPORTS_PATH};
use crate::render::exports;
use crate::system::dnsmasq::{self, DHCP_PATH};
use crate::system::fs::read_opt;
use crate::system::root::Root;

/// (the text of /etc/config/dhcp the plan was made from, the actions).
pub fn plan(root: &Root) -> Result<(String, Vec<Action>)> {
    let mut actions = Vec::new();
    let mut restart = false;
    for dir in conf_dirs(root) {
        let conf = format!("{dir}/{CONF_NAME}");
        if root.path(&conf).is_file() {
            actions.push(Action::Remove { path: conf });
            restart = true;
        }
        let hosts = crate::render::hosts_dir(&dir);
        if let Ok(rd) = std::fs::read_dir(root.path(&hosts)) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                actions.push(Action::Remove {
                    path: format!("{hosts}/{name}"),
                });
                restart = true;
            }
            actions.push(Action::RemoveDir { path: hosts });
        }
    }
    let dhcp_text = read_opt(&root.path(DHCP_PATH))?.unwrap_or_default();
    // A dhcp file rpinet cannot read is left alone: it holds nothing rpinet can find.
    if let Ok(dhcp) = uci::parse(&dhcp_text, DHCP_PATH) {
        if let Some(next) = dnsmasq::without_addnmount(&dhcp) {
            actions.push(Action::Write {
                path: DHCP_PATH.into(),
                content: uci::serialize(&next),
                mode: 0o644,
            });
            restart = true;
        }
    }
    let existing = read_opt(&root.path(EXPORTS_PATH))?.unwrap_or_default();
    let reload = match exports::without_block(&existing) {
        Ok(Some(text)) => {
            actions.push(Action::Write {
                path: EXPORTS_PATH.into(),
                content: text,
                mode: 0o644,
            });
            true
        }
        Ok(None) => false,
        Err(why) => {
            return Err(Error::new(format!(
                "{EXPORTS_PATH} {why}; remove the rpinet lines by hand"
            )));
        }
    };
    if restart {
        actions.push(Action::RestartDnsmasq);
    }
    if reload {
        actions.push(Action::ReloadExports);
    }
    // The shared roots rpinet mounted, known by their shape alone (S/nfs/N over an upper
    // S/roots/N/upper): no config needed.
    for o in crate::system::overlay::mounted(root) {
        if let Some((storage, node)) = o.at.rsplit_once("/nfs/") {
            if o.upper == format!("{storage}/roots/{node}/upper") {
                actions.push(Action::UnmountRoot { at: o.at });
            }
        }
    }
    Ok((dhcp_text, actions))
}

/// Every conf-dir a dnsmasq instance reads: from OpenWrt's generated instance configs
/// (/var/etc/dnsmasq.conf.*), the `confdir` options of /etc/config/dhcp, and the default of
/// releases up to 23.05.
fn conf_dirs(root: &Root) -> Vec<String> {
    let mut dirs = vec!["/tmp/dnsmasq.d".to_string()];
    if let Ok(rd) = std::fs::read_dir(root.path("/var/etc")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("dnsmasq.conf.") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            dirs.extend(
                text.lines()
                    .filter_map(|l| l.strip_prefix("conf-dir="))
                    .map(|v| v.split(',').next().unwrap_or(v).trim().to_string()),
            );
        }
    }
    if let Ok(Some(text)) = read_opt(&root.path(DHCP_PATH)) {
        if let Ok(pkg) = uci::parse(&text, DHCP_PATH) {
            for s in pkg.sections.iter().filter(|s| s.kind == "dnsmasq") {
                if let Some(uci::Value::Option(d)) = s.get("confdir") {
                    dirs.push(d.clone());
                }
            }
        }
    }
    dirs.retain(|d| d.starts_with('/'));
    dirs.sort();
    dirs.dedup();
    dirs
}
