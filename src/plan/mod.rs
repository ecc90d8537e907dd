//! `rpinet apply`: make the system match the config.
//!
//! [`plan`] decides, from a [`World`] snapshot, which files change and which services need
//! a kick; it is pure, and `--dry-run` prints it. [`execute`] carries a plan out. Files are
//! only written when their content changes, so apply is idempotent and a no-op run touches
//! nothing — not even dnsmasq.

pub mod execute;
pub mod withdraw;
pub mod world;

pub use execute::{begin, change_config, dry_run, finish_config_writes, withdraw};

use std::fmt;

use crate::config::uci;
use crate::error::{Error, Result};
use crate::plan::world::{EXPORTS_PATH, World};
use crate::render::{dnsmasq, exports, hosts, nfsd};
use crate::system::dnsmasq::DHCP_PATH;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    MakeDir {
        path: String,
    },
    Write {
        path: String,
        content: String,
        mode: u32,
    },
    Remove {
        path: String,
    },
    /// An empty directory no node names.
    RemoveDir {
        path: String,
    },
    /// rpinet.conf or the jail mounts changed: dnsmasq re-reads neither on SIGHUP.
    RestartDnsmasq,
    /// A host entry was removed: inotify only sees additions and changes.
    SignalDnsmasq {
        pid_file: String,
    },
    /// The exports block changed, or a shared root was mounted again.
    ReloadExports,
    /// A shared root: the image's root (`lower`) under the node's `upper` and `work`, on
    /// its nfs dir `at`.
    MountRoot {
        at: String,
        lower: String,
        upper: String,
        work: String,
    },
    /// An overlay on an nfs dir that no shared root wants there.
    UnmountRoot {
        at: String,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::MakeDir { path } => write!(f, "create directory {path}"),
            Action::Write { path, content, .. } => {
                write!(f, "write {path}:")?;
                for line in content.lines() {
                    write!(f, "\n    {line}")?;
                }
                Ok(())
            }
            Action::Remove { path } => write!(f, "remove {path}"),
            Action::RemoveDir { path } => write!(f, "remove empty directory {path}"),
            Action::RestartDnsmasq => write!(f, "restart dnsmasq (/etc/init.d/dnsmasq restart)"),
            Action::SignalDnsmasq { pid_file } => write!(f, "send SIGHUP to dnsmasq ({pid_file})"),
            Action::ReloadExports => write!(f, "reload NFS exports (exportfs -ra)"),
            Action::MountRoot {
                at, lower, upper, ..
            } => write!(f, "mount the shared root {at}: {lower} under {upper}"),
            Action::UnmountRoot { at } => write!(f, "unmount {at}"),
        }
    }
}

/// What must change for the system to match `world.config`, in the order to do it.
pub fn plan(world: &World) -> Result<Vec<Action>> {
    for n in &world.config.nodes {
        if let Some(why) =
            n.ip.and_then(|ip| world.net.subnet.host_problem(ip, world.net.server))
        {
            return Err(Error::new(format!("node '{}': option 'ip': {why}", n.name)));
        }
    }
    let inputs = world.inputs();
    let mut actions = Vec::new();
    let mut restart = false;
    let mut removed_host = false;

    let (unmounts, mounts) = shared_roots(world);
    let remounted = !unmounts.is_empty() || !mounts.is_empty();
    actions.extend(unmounts);
    for dir in world.wanted_dirs() {
        if !world.existing_dirs.contains(&dir) {
            actions.push(Action::MakeDir { path: dir });
        }
    }
    actions.extend(mounts);
    for dir in &world.empty_strays {
        actions.push(Action::RemoveDir { path: dir.clone() });
    }

    // Host entries first: when dnsmasq restarts for rpinet.conf it reads them all at once.
    let hosts_dir = world.hosts_dir();
    let wanted_hosts = hosts::render(&inputs);
    for (name, content) in &wanted_hosts {
        if world.host_files.get(name) != Some(content) {
            actions.push(Action::Write {
                path: format!("{hosts_dir}/{name}"),
                content: content.clone(),
                mode: 0o644,
            });
        }
    }

    let conf = world.config.enabled.then(|| dnsmasq::render(&inputs));
    match (&conf, &world.conf) {
        (Some(new), old) if old.as_ref() != Some(new) => {
            actions.push(Action::Write {
                path: world.conf_path(),
                content: new.clone(),
                mode: 0o644,
            });
            restart = true;
        }
        (None, Some(_)) => {
            actions.push(Action::Remove {
                path: world.conf_path(),
            });
            restart = true;
        }
        _ => {}
    }

    if let Some(storage) = inputs.storage {
        if let Some(dhcp) =
            crate::system::dnsmasq::with_addnmount(&world.dhcp, &world.instance, storage)
        {
            actions.push(Action::Write {
                path: DHCP_PATH.into(),
                content: uci::serialize(&dhcp),
                mode: 0o644,
            });
            restart = true;
        }
    }

    for name in world
        .host_files
        .keys()
        .filter(|n| !wanted_hosts.contains_key(*n))
    {
        actions.push(Action::Remove {
            path: format!("{hosts_dir}/{name}"),
        });
        removed_host = true;
    }

    let existing = world.exports.as_deref().unwrap_or_default();
    let merged =
        exports::merge_if_changed(existing, &exports::render(&inputs, &world.shared_roots))
            .map_err(|why| {
                Error::new(format!(
                    "{EXPORTS_PATH} {why}; fix it by hand, then run 'rpinet apply' again"
                ))
            })?
            .filter(|m| m != existing);
    // No block to write and none there: leave the user's file (or its absence) alone.
    let nothing_to_export = exports::is_empty(&inputs) && !existing.contains(exports::BEGIN);
    let exports_changed = merged.is_some() && !nothing_to_export;
    if let Some(merged) = merged.filter(|_| exports_changed) {
        actions.push(Action::Write {
            path: EXPORTS_PATH.into(),
            content: merged,
            mode: 0o644,
        });
    }

    // nfsd reads its thread count when it starts; doctor says when it runs fewer
    match (nfsd::render(&inputs), &world.nfs_conf) {
        (Some(new), old) if old.as_ref() != Some(&new) => actions.push(Action::Write {
            path: nfsd::PATH.into(),
            content: new,
            mode: 0o644,
        }),
        (None, Some(_)) => actions.push(Action::Remove {
            path: nfsd::PATH.into(),
        }),
        _ => {}
    }

    if restart {
        actions.push(Action::RestartDnsmasq);
    } else if removed_host {
        actions.push(Action::SignalDnsmasq {
            pid_file: world.instance.pid_file(),
        });
    }
    if exports_changed || remounted {
        actions.push(Action::ReloadExports);
    }
    Ok(actions)
}

/// What makes the overlays on storage/nfs/* the shared roots of the config's nodes: each
/// mounted from its state dir (again, when what is mounted there has another lower or upper
/// layer); every other overlay there unmounted (its node removed, rpinet disabled).
fn shared_roots(world: &World) -> (Vec<Action>, Vec<Action>) {
    let (mut unmounts, mut mounts) = (Vec::new(), Vec::new());
    let mut wanted = std::collections::BTreeSet::new();
    if let Some(sp) = world.inputs().storage {
        for (name, image) in world.shared_roots.iter().filter(|(_, i)| !i.is_empty()) {
            let at = format!("{sp}/nfs/{name}");
            let (lower, upper) = (
                format!("{sp}/images/{image}/root"),
                format!("{sp}/roots/{name}/upper"),
            );
            let now = world.overlays.iter().find(|o| o.at == at);
            if now.is_some_and(|o| o.lower == lower && o.upper == upper) {
                wanted.insert(at);
                continue;
            }
            if now.is_some() {
                unmounts.push(Action::UnmountRoot { at: at.clone() });
            }
            mounts.push(Action::MountRoot {
                at: at.clone(),
                lower,
                upper,
                work: format!("{sp}/roots/{name}/work"),
            });
            wanted.insert(at);
        }
    }
    for o in &world.overlays {
        if !wanted.contains(&o.at) {
            unmounts.push(Action::UnmountRoot { at: o.at.clone() });
        }
    }
    (unmounts, mounts)
}

/// The first line of an action's dry-run text: what the log says when it is carried out.
pub(crate) fn first_line(a: &Action) -> String {
    a.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_string()
}

#[cfg(test)]
mod tests;
