//! Carrying a plan out: load the world, plan, then write files and kick services in the
//! plan's order. Under `--root` the file actions happen inside DIR and service actions are
//! only logged.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::world::World;
use super::{Action, first_line, plan};
use crate::config::Config;
use crate::config::uci::{self, Package};
use crate::error::{Error, Result};
use crate::system::dnsmasq::DHCP_PATH;
use crate::system::lock::StateLock;
use crate::system::root::Root;
use crate::system::uci_file::Edit;
use crate::system::{fs, services};

/// Take the state lock and finish the config writes a killed run began (`api::begin` adds
/// the rest of the clean-up).
pub fn begin(root: &Root) -> Result<StateLock> {
    let lock = StateLock::acquire(root)?;
    finish_config_writes(root, &lock)?;
    Ok(lock)
}

/// Finish the /etc/config writes a killed run began (their journals).
pub fn finish_config_writes(root: &Root, _lock: &StateLock) -> Result<()> {
    crate::system::uci_file::recover(&root.path(crate::config::CONFIG_PATH))?;
    crate::system::uci_file::recover(&root.path(DHCP_PATH))
}

/// `rpinet apply`: load, plan and carry the plan out, under the state lock. A config file
/// that `uci commit` changed while the plan was carried out is planned for again.
pub fn run(root: &Root, _lock: &StateLock) -> Result<World> {
    let (_, config) = crate::plan::world::load_config(root)?;
    let mut tries = 0;
    loop {
        let world = crate::plan::world::load_with(root, config.clone())?;
        let actions = plan(&world)?;
        warn_about(&world);
        match execute(root, &world.dhcp_text, &actions) {
            Err(e) if e.is_conflict() && tries < 3 => tries += 1,
            Err(e) => return Err(e),
            Ok(()) => return Ok(world),
        }
    }
}

/// `rpinet apply --withdraw` (the package's removal runs it): take back what rpinet wrote —
/// rpinet.conf and the host entries in dnsmasq's conf-dir, the exports block, the
/// `addnmount` entry — from the files themselves, so it works whatever state the config,
/// the network or the dhcp config is in. Node directories and images stay.
pub fn withdraw(root: &Root, _lock: &StateLock, dry: bool) -> Result<()> {
    for _ in 0..3 {
        let (dhcp_text, actions) = super::withdraw::plan(root)?;
        if dry {
            if actions.is_empty() {
                println!("nothing to do: rpinet has nothing in place");
            }
            for a in &actions {
                println!("{a}");
            }
            return Ok(());
        }
        match execute(root, &dhcp_text, &actions) {
            Err(e) if e.is_conflict() => continue,
            r => return r,
        }
    }
    Err(Error::conflict(DHCP_PATH))
}

/// `rpinet apply --dry-run`: the plan, printed; nothing is written and no lock is taken.
pub fn dry_run(root: &Root, config: Config) -> Result<World> {
    let world = crate::plan::world::load_with(root, config)?;
    let actions = plan(&world)?;
    warn_about(&world);
    if actions.is_empty() {
        println!("nothing to do: the system matches the config");
    }
    for a in &actions {
        println!("{a}");
    }
    Ok(world)
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

/// Change /etc/config/rpinet by `change` (a pure edit of the parsed file that also checks the
/// request) and apply it. The config is committed only with the work it describes: the new
/// config is planned and carried out first, then committed; when the work fails, the system
/// is put back to the config on disk (which is left as it was) and the error returned. A run
/// killed in between leaves files that the next `apply` (any command that changes state runs
/// one) puts back to the config. When `uci commit` changed the file meanwhile, the change is
/// made again on the new file.
pub fn change_config(
    root: &Root,
    lock: &StateLock,
    mut change: impl FnMut(&Package) -> Result<Package>,
) -> Result<World> {
    // One copy of the whole change in the binary, whatever the caller's closure.
    change_config_dyn(root, lock, &mut change)
}

fn change_config_dyn(
    root: &Root,
    lock: &StateLock,
    change: &mut dyn FnMut(&Package) -> Result<Package>,
) -> Result<World> {
    let path = root.path(crate::config::CONFIG_PATH);
    for _ in 0..5 {
        crate::system::uci_file::recover(&path)?;
        let before = crate::system::fs::read_opt(&path)?.unwrap_or_default();
        let old = uci::parse(&before, crate::config::CONFIG_PATH)?;
        let old_config = crate::config::from_package(&old)?;
        let mut new = change(&old)?;
        // validated again only when the change changed something (`apply` changes nothing)
        let config = if new == old {
            new = old;
            old_config
        } else {
            drop(old);
            crate::config::from_package(&new)?
        };
        let mut world = crate::plan::world::load_with(root, config)?;
        // Every node gets an address reservation (the nodes' addresses change nothing else
        // the world holds).
        if let Some(reserved) = crate::config::reserve::with_reservations(
            &new,
            &world.config,
            &world.net,
            &world.dhcp,
            &world.leases,
        )? {
            world.config = crate::config::from_package(&reserved)?;
            new = reserved;
        }
        // The file's text now: the parsed package is not needed past this (a large cluster's
        // is several times its text).
        let text = uci::serialize(&new);
        drop(new);
        let actions = plan(&world)?;
        warn_about(&world);
        if let Err(e) = execute(root, &world.dhcp_text, &actions) {
            put_back(root, lock);
            return Err(e);
        }
        let committed = crate::system::uci_file::update(&path, |now| {
            if now.unwrap_or("") != before {
                return Err(Error::conflict(crate::config::CONFIG_PATH));
            }
            if text == before {
                return Ok(Edit::Keep);
            }
            Ok(Edit::Write(text.clone()))
        });
        match committed {
            Ok(_) => return Ok(world),
            Err(e) if e.is_conflict() => continue,
            Err(e) => {
                put_back(root, lock);
                return Err(e);
            }
        }
    }
    put_back(root, lock);
    Err(Error::new(format!(
        "{} kept changing while rpinet tried to change it; try again",
        crate::config::CONFIG_PATH
    )))
}

/// After a failed change: make the system match the config on disk again, as far as it can.
fn put_back(root: &Root, lock: &StateLock) {
    if let Err(e) = run(root, lock) {
        log::warn!("could not put the system back to the config: {e}");
    }
}

/// Carry out a plan. Under `--root` the file actions happen inside DIR and service actions
/// are only logged.
/// `dhcp_text` is what /etc/config/dhcp held when the plan was made: it is written only
/// while it still holds that.
pub fn execute(root: &Root, dhcp_text: &str, actions: &[Action]) -> Result<()> {
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
                if path == DHCP_PATH {
                    // libuci's file: under its lock, and only while it holds what was planned
                    // from (else the caller plans again).
                    crate::system::uci_file::update(&p, |now| {
                        if now.unwrap_or("") != dhcp_text {
                            return Err(Error::conflict(DHCP_PATH));
                        }
                        Ok(Edit::Write(content.clone()))
                    })?;
                } else {
                    fs::replace(&p, content, *mode, on_flash(path))?
                }
            }
            Action::RemoveDir { path } => match std::fs::remove_dir(root.path(path)) {
                // Filled or removed meanwhile: not stray any more, or gone already.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {}
                Err(e) => return Err(Error::new(format!("failed to remove {path}: {e}"))),
                Ok(()) => {}
            },
            Action::Remove { path } => {
                let p = root.path(path);
                fs::remove(&p)?;
                if on_flash(path) {
                    touched.extend(p.parent().map(|d| d.to_path_buf()));
                }
            }
            Action::MountRoot {
                at,
                lower,
                upper,
                work,
            } => crate::system::overlay::mount(root, lower, upper, work, at)?,
            Action::UnmountRoot { at } => crate::system::overlay::unmount(root, at)?,
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
