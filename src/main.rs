//! rpinet: turns an OpenWrt router into the network-boot server of a
//! Raspberry Pi cluster. See SPEC.md for the contract; this file only parses
//! the command line and hands over to the command modules.

mod adapter;
mod cli;
mod discover;
mod doctor;
mod error;
mod events;
mod root;
mod rpcd;
mod trace;
mod ubus;

use cli::{Cli, Command};
use error::{Error, Result};
use root::Root;

fn main() {
    let cli: Cli = argh::from_env();
    let root = match &cli.root {
        Some(dir) => Root::under(dir),
        None => Root::live(),
    };
    match run(&root, cli.command) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("rpinet: {e}");
            std::process::exit(1);
        }
    }
}

/// Run one command; the returned code is the process exit status.
fn run(root: &Root, command: Command) -> Result<i32> {
    match command {
        Command::List(_) => rpcd::list(),
        Command::Call(a) => rpcd::call(root, &a.method),
        Command::Event(a) => events::record_from_env(root, &a.kind).map(|_| 0),
        Command::Doctor(a) => doctor::run(root, a.json),
        _ => Err(Error::new("this command is not built yet")),
    }
}
