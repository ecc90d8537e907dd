//! Carrying a plan out: load the world, plan, then write files and kick services in the
//! plan's order. Under `--root` the file actions happen inside DIR and service actions are
//! only logged.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::world::World;
use super::{Action, first_line, plan};
use crate::config::uci;
use crate::error::Result;
use crate::system::root::Root;
use crate::system::{fs, services};

/// Load, plan and (unless `dry_run`) execute; returns the snapshot the plan was made from
/// and the plan.
pub fn run(root: &Root, dry_run: bool) -> Result<World> {
    let (_, config) = crate::plan::world::load_config(root)?;
    run_with(root, config, dry_run)
}

/// [`run`] for a config that is not (or not yet) the one on disk.
pub fn run_with(root: &Root, config: crate::config::Config, dry_run: bool) -> Result<World> {
    let world = crate::plan::world::load_with(root, config)?;
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
    pkg: &crate::config::uci::Package,
    config: crate::config::Config,
) -> Result<World> {
    let world = crate::plan::world::load_with(root, config)?;
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
