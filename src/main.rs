//! rpinet: turns an OpenWrt router into the network-boot server of a
//! Raspberry Pi cluster. See SPEC.md for the contract; this file only parses
//! the command line and hands over to the command modules.

mod apply;
mod cli;
mod config;
mod discover;
mod doctor;
mod error;
mod events;
mod images;
mod logger;
mod network;
mod node;
mod render;
mod root;
mod rpcd;
mod status;
mod system;
mod trace;
mod ubus;
mod uci;
mod world;

use cli::{Cli, Command, NodeCommand};
use error::{Error, Result};
use root::Root;

fn main() {
    let cli: Cli = argh::from_env();
    let root = match &cli.root {
        Some(dir) => Root::under(dir),
        None => Root::live(),
    };
    logger::init(root.is_live() && !std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match run(&root, cli.command) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            log::debug!("failed: {e}");
            eprintln!("rpinet: {e}");
            std::process::exit(1);
        }
    }
}

fn print_json(v: &serde_json::Value) {
    println!("{v}");
}

/// Run one command; the returned code is the process exit status.
fn run(root: &Root, command: Command) -> Result<i32> {
    match command {
        Command::List(_) => rpcd::list(),
        Command::Call(a) => rpcd::call(root, &a.method),
        Command::Event(a) => events::record_from_env(root, &a.kind).map(|_| 0),
        Command::Doctor(a) => doctor::run(root, a.json),
        Command::Apply(a) if a.withdraw => {
            let (_, mut config) = world::load_config(root)?;
            config.enabled = false;
            apply::run_with(root, config, a.dry_run)?;
            Ok(0)
        }
        Command::Apply(a) => {
            apply::run(root, a.dry_run)?;
            Ok(0)
        }
        Command::Status(a) => {
            let v = status::read(root)?;
            if a.json {
                print_json(&v)
            } else {
                print!("{}", status::human(&v))
            }
            Ok(0)
        }
        Command::Node(n) => match n.command {
            NodeCommand::Add(a) => {
                let req = node::NodeRequest {
                    name: a.name,
                    serial: a.serial,
                    mac: a.mac,
                    model: a.model,
                    boot_id: a.boot_id,
                    boot_dir: a.boot_dir,
                    ip: a.ip,
                };
                let added = node::add(root, &req)?;
                println!(
                    "added node '{}' (boot dir tftp/{})",
                    added.name,
                    added.boot_dir()
                );
                Ok(0)
            }
            NodeCommand::Remove(a) => {
                let purged = node::remove(root, &a.name, a.purge)?;
                let how = if purged {
                    " and deleted its directories"
                } else {
                    ""
                };
                println!("removed node '{}'{how}", a.name);
                Ok(0)
            }
            NodeCommand::Show(a) => {
                let v = node::show_json(root, &a.name)?;
                if a.json {
                    print_json(&v)
                } else {
                    print!("{}", node::show_human(&v))
                }
                Ok(0)
            }
            NodeCommand::Provision(_) => Err(Error::new("node provision is not built yet")),
        },
        _ => Err(Error::new("this command is not built yet")),
    }
}
