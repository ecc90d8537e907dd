//! `rpinet apply`: make the system match the config.
//!
//! [`plan`] decides, from a [`World`] snapshot, which files change and which services need
//! a kick; it is pure, and `--dry-run` prints it. [`execute`] carries a plan out. Files are
//! only written when their content changes, so apply is idempotent and a no-op run touches
//! nothing — not even dnsmasq.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::render::{dnsmasq, exports, hosts};
use crate::root::Root;
use crate::system::dnsmasq::DHCP_PATH;
use crate::system::{fs, services};
use crate::uci;
use crate::world::{EXPORTS_PATH, World};

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
    /// rpinet.conf or the jail mounts changed: dnsmasq re-reads neither on SIGHUP.
    RestartDnsmasq,
    /// A host entry was removed: inotify only sees additions and changes.
    SignalDnsmasq {
        pid_file: String,
    },
    /// The exports block changed.
    ReloadExports,
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
            Action::RestartDnsmasq => write!(f, "restart dnsmasq (/etc/init.d/dnsmasq restart)"),
            Action::SignalDnsmasq { pid_file } => write!(f, "send SIGHUP to dnsmasq ({pid_file})"),
            Action::ReloadExports => write!(f, "reload NFS exports (exportfs -ra)"),
        }
    }
}

/// What must change for the system to match `world.config`, in the order to do it.
pub fn plan(world: &World) -> Result<Vec<Action>> {
    let inputs = world.inputs();
    let mut actions = Vec::new();
    let mut restart = false;
    let mut removed_host = false;

    for dir in world.wanted_dirs() {
        if !world.existing_dirs.contains(&dir) {
            actions.push(Action::MakeDir { path: dir });
        }
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

    let existing = world.exports.clone().unwrap_or_default();
    let merged = exports::merge(&existing, &exports::render(&inputs)).map_err(|why| {
        Error::new(format!(
            "{EXPORTS_PATH} {why}; fix it by hand, then run 'rpinet apply' again"
        ))
    })?;
    // No block to write and none there: leave the user's file (or its absence) alone.
    let nothing_to_export = exports::is_empty(&inputs) && !existing.contains(exports::BEGIN);
    let exports_changed = merged != existing && !nothing_to_export;
    if exports_changed {
        actions.push(Action::Write {
            path: EXPORTS_PATH.into(),
            content: merged,
            mode: 0o644,
        });
    }

    if restart {
        actions.push(Action::RestartDnsmasq);
    } else if removed_host {
        actions.push(Action::SignalDnsmasq {
            pid_file: world.instance.pid_file(),
        });
    }
    if exports_changed {
        actions.push(Action::ReloadExports);
    }
    Ok(actions)
}

/// Load, plan and (unless `dry_run`) execute; returns the snapshot the plan was made from
/// and the plan.
pub fn run(root: &Root, dry_run: bool) -> Result<World> {
    let (_, config) = crate::world::load_config(root)?;
    run_with(root, config, dry_run)
}

/// [`run`] for a config that is not (or not yet) the one on disk.
pub fn run_with(root: &Root, config: crate::config::Config, dry_run: bool) -> Result<World> {
    let world = crate::world::load_with(root, config)?;
    let actions = plan(&world)?;
    warn_about(&world);
    report_or_execute(root, world, actions, dry_run)
}

/// Say what will keep Pis from booting although every file is right.
fn warn_about(world: &World) {
    let c = &world.config;
    if let Some(msg) = crate::system::storage::problem(&world.storage, c) {
        log::warn!("{msg}");
    }
    if c.dhcp_mode == crate::config::DhcpMode::Proxy
        && crate::system::dnsmasq::pool_ignored(&world.dhcp, &c.interface)
    {
        log::warn!(
            "{}",
            crate::system::dnsmasq::proxy_blocked_message(&c.interface)
        );
    }
}

/// Commit a changed config and apply it — but only once the whole plan for it has been made,
/// so a change that cannot be applied writes nothing, the config included.
pub fn commit_and_run(
    root: &Root,
    pkg: &crate::uci::Package,
    config: crate::config::Config,
) -> Result<World> {
    let world = crate::world::load_with(root, config)?;
    let actions = plan(&world)?;
    warn_about(&world);
    fs::write_atomic(
        &root.path(crate::config::CONFIG_PATH),
        &uci::serialize(pkg),
        0o644,
    )?;
    report_or_execute(root, world, actions, false)
}

fn report_or_execute(
    root: &Root,
    world: World,
    actions: Vec<Action>,
    dry_run: bool,
) -> Result<World> {
    if dry_run {
        if actions.is_empty() {
            println!("nothing to do: the system matches the config");
        }
        for a in &actions {
            println!("{a}");
        }
    } else {
        execute(root, &actions)?;
    }
    Ok(world)
}

/// Carry out a plan. Under `--root` the file actions happen inside DIR and service actions
/// are only logged.
pub fn execute(root: &Root, actions: &[Action]) -> Result<()> {
    // Directories whose renames must be made durable before any service is kicked.
    let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
    // Parents already made for writes (a thousand host files share one).
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    for action in actions {
        if matches!(
            action,
            Action::RestartDnsmasq | Action::SignalDnsmasq { .. } | Action::ReloadExports
        ) {
            for dir in std::mem::take(&mut touched) {
                fs::sync_dir(&dir)?;
            }
        }
        log::info!("{}", first_line(action));
        match action {
            Action::MakeDir { path } => fs::make_dir(&root.path(path), 0o755)?,
            Action::Write {
                path,
                content,
                mode,
            } => {
                let p = root.path(path);
                if let Some(parent) = p.parent() {
                    if parents.insert(parent.to_path_buf()) {
                        fs::make_dir(parent, 0o755)?;
                    }
                    if on_flash(path) {
                        touched.insert(parent.to_path_buf());
                    }
                }
                fs::replace(&p, content, *mode, on_flash(path))?
            }
            Action::Remove { path } => {
                let p = root.path(path);
                fs::remove(&p)?;
                if on_flash(path) {
                    touched.extend(p.parent().map(|d| d.to_path_buf()));
                }
            }
            service if !root.is_live() => log::debug!("--root: not done: {}", first_line(service)),
            Action::RestartDnsmasq => services::restart_dnsmasq()?,
            Action::SignalDnsmasq { pid_file } => services::signal_dnsmasq(pid_file)?,
            Action::ReloadExports => services::reload_exports()?,
        }
    }
    for dir in touched {
        fs::sync_dir(&dir)?;
    }
    Ok(())
}

/// Whether a router path outlives a reboot (OpenWrt's /tmp and /var are tmpfs): only those
/// writes are worth an fsync.
fn on_flash(router_path: &str) -> bool {
    !(router_path.starts_with("/tmp/") || router_path.starts_with("/var/"))
}

fn first_line(a: &Action) -> String {
    a.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_string()
}

#[cfg(test)]
mod tests;
