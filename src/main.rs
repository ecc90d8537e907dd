//! rpinet: turns an OpenWrt router into the network-boot server of a
//! Raspberry Pi cluster. See SPEC.md for the contract; this file only parses
//! the command line and hands over to the command modules.

mod cli;
mod config;
mod error;
mod network;
mod render;
mod root;
mod uci;

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
fn run(_root: &Root, command: Command) -> Result<i32> {
    match command {
        _ => Err(Error::new("this command is not built yet")),
    }
}
