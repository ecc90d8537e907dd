//! rpinet: turns an OpenWrt router into the network-boot server of a
//! Raspberry Pi cluster. See docs/SPEC.md for the contract; this file only parses
//! the command line and hands over to the command modules.

mod api;
mod calendar;
mod cli;
mod config;
mod error;
mod image;
mod observe;
mod plan;
mod provision;
mod render;
mod system;

use cli::{Cli, Command, ImageCommand, NodeCommand};
use error::Result;
use std::path::{Path, PathBuf};
use system::root::Root;

#[global_allocator]
static ALLOC: system::alloc::ExitOnOom = system::alloc::ExitOnOom;

fn main() {
    let cli: Cli = cli::from_env();
    let root = match &cli.root {
        Some(dir) => Root::under(dir),
        None => Root::live(),
    };
    system::logger::init(root.is_live() && !std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match run(&root, cli.command) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            log::debug!("failed: {e}");
            eprintln!("rpinet: {}", e.one_line());
            std::process::exit(1);
        }
    }
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", api::view::json(v));
}

/// Run one command; the returned code is the process exit status.
fn run(root: &Root, command: Command) -> Result<i32> {
    // Leftovers of killed runs go with the next command of any kind (hotplug events aside:
    // they come in bursts and touch only the event log). `apply` takes the state lock and
    // cleans up under it (`api::begin`) itself.
    let begins = matches!(&command, Command::Apply(a) if !a.dry_run && !a.withdraw);
    if !begins && !matches!(command, Command::Event(_) | Command::List(_)) {
        api::tidy(root);
    }
    match command {
        Command::List(_) => api::rpcd::list(),
        Command::Call(a) => api::rpcd::call(root, &a.method),
        Command::Event(a) => observe::events::record_from_env(root, &a.kind).map(|_| 0),
        Command::Doctor(a) => observe::doctor::run(root, a.json),
        Command::Storage(s) => match s.command {
            cli::StorageCommand::Exports(_) => {
                print!("{}", api::storage::server_exports(root)?);
                Ok(0)
            }
        },
        Command::Inventory(a) => {
            print!("{}", api::inventory::render(root, &a.format)?);
            Ok(0)
        }
        Command::Apply(a) if a.withdraw => {
            let lock = plan::begin(root)?;
            plan::withdraw(root, &lock, a.dry_run)?;
            Ok(0)
        }
        Command::Apply(a) if a.dry_run => {
            let (_, config) = plan::world::load_config(root)?;
            plan::dry_run(root, config)?;
            Ok(0)
        }
        Command::Apply(_) => {
            let lock = api::begin(root)?;
            // Storage on an NFS server is mounted first; when that fails, the rest is still
            // made to match (dnsmasq without TFTP, as with an absent SSD), then the one line.
            let mounted = plan::world::load_config(root)
                .and_then(|(_, c)| system::nfs_mount::mount_server(root, &c));
            // Through a config change: nodes without an address get their reservation.
            let changed = plan::change_config(root, &lock, |pkg| Ok(pkg.clone()));
            // both failed, each its own way: the mount's line last, as why nothing is served
            if let (Err(m), Err(e)) = (&mounted, &changed) {
                if m.message() != e.message() {
                    log::error!("{e}");
                }
            }
            mounted?;
            changed?;
            Ok(0)
        }
        Command::Status(a) => {
            let v = api::view::read_status(root, &api::view::StatusQuery::default())?;
            if a.json {
                print_json(&v)
            } else {
                print!("{}", v.human())
            }
            Ok(0)
        }
        Command::Node(n) => match n.command {
            NodeCommand::Add(a) => {
                let req = config::request::NodeRequest {
                    name: a.name,
                    serial: a.serial,
                    mac: a.mac,
                    model: a.model,
                    boot_id: a.boot_id,
                    boot_dir: a.boot_dir,
                    ip: a.ip,
                    volume_size: a.volume_size,
                };
                let added = api::node::add(root, &req)?;
                let ip = if added.ip.is_empty() {
                    String::new()
                } else {
                    format!(", address {}", added.ip)
                };
                println!(
                    "added node '{}' (boot dir tftp/{}{ip})",
                    added.name, added.boot_dir
                );
                Ok(0)
            }
            NodeCommand::Remove(a) => {
                let purged = api::node::remove(root, &a.name, a.purge)?;
                let how = if purged {
                    " and deleted its directories"
                } else {
                    ""
                };
                println!("removed node '{}'{how}", a.name);
                Ok(0)
            }
            NodeCommand::Show(a) => {
                let v = api::node::show(root, &a.name)?;
                if a.json {
                    print_json(&v)
                } else {
                    print!("{}", v.human())
                }
                Ok(0)
            }
            NodeCommand::Rollback(a) => {
                println!("{}", api::roll::rollback(root, &a.name)?);
                Ok(0)
            }
            NodeCommand::Provision(a) => {
                let opts = provision::ProvisionOptions {
                    user: a.user,
                    password_hash: a.password_hash,
                    job: a.job,
                    volume_size: a.volume_size,
                    new_identity: a.new_identity,
                    keep_previous: false,
                };
                let rep = api::provision::provision_node(root, &a.name, &a.image, &opts)?;
                println!("{}", rep.summary());
                Ok(0)
            }
        },
        Command::Image(cli::ImageArgs {
            command: ImageCommand::Roll(a),
        }) => {
            let req = api::roll::RollRequest {
                image: a.image,
                from: a.from,
                nodes: a
                    .nodes
                    .as_deref()
                    .map(api::roll::split_names)
                    .unwrap_or_default(),
                batch: a.batch,
                boot_timeout: std::time::Duration::from_secs(a.boot_timeout),
                job: a.job,
            };
            println!("{}", api::roll::run(root, &req)?);
            Ok(0)
        }
        Command::Image(cli::ImageArgs {
            command: ImageCommand::Catalog(a),
        }) => {
            let v = api::catalog::command(root, a.refresh)?;
            if a.json {
                print_json(&v)
            } else {
                print!("{}", v.human())
            }
            Ok(0)
        }
        Command::Image(cli::ImageArgs {
            command: ImageCommand::Import(a),
        }) => {
            let arg = if a.file == cli::STDIN { "-" } else { &a.file };
            let origin = image::Origin::parse(arg, |f| root_file(root, f))?;
            let opts = image::ImportOptions {
                name: a.name,
                job: a.job,
                sha256: a.sha256,
                stall: std::time::Duration::from_secs(a.stall_timeout.clamp(1, 3600)),
            };
            let rep = api::images::import(root, &origin, &opts)?;
            for m in &rep.skipped.messages {
                eprintln!("rpinet: skipped: {m}");
            }
            println!("{}", rep.summary());
            Ok(0)
        }
    }
}

/// A path named on the command line: absolute ones are router paths (docs/SPEC.md §3).
fn root_file(root: &Root, f: &str) -> PathBuf {
    if Path::new(f).is_absolute() {
        root.path(f)
    } else {
        PathBuf::from(f)
    }
}
