//! rpinet: turns an OpenWrt router into the network-boot server of a
//! Raspberry Pi cluster. See SPEC.md for the contract; this file only parses
//! the command line and hands over to the command modules.

mod cli;
mod error;
mod image;
mod job;
mod provision;
mod root;

use cli::{Cli, Command, ImageCommand, NodeCommand};
use error::{Error, Result};
use root::Root;
use std::path::{Path, PathBuf};

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
        Command::Image(cli::ImageArgs {
            command: ImageCommand::Import(a),
        }) => {
            let storage = storage_stand_in(root)?;
            let file = root_file(root, &a.file);
            let rep = image::import(root, &storage, &file, a.name.as_deref(), a.job.as_deref())?;
            for m in &rep.skipped.messages {
                eprintln!("rpinet: skipped: {m}");
            }
            println!("{}", rep.summary());
            Ok(0)
        }
        Command::Node(cli::NodeArgs {
            command: NodeCommand::Provision(a),
        }) => {
            let storage = storage_stand_in(root)?;
            let target = provision::target_stand_in(root, &storage, &a.name)?;
            let opts = provision::ProvisionOptions {
                user: a.user,
                password_hash: a.password_hash,
                job: a.job,
            };
            let image_dir = storage.join("images").join(&a.image);
            let rep = provision::provision(root, &target, &image_dir, &opts)?;
            println!("{}", rep.summary());
            Ok(0)
        }
        _ => Err(Error::new("this command is not built yet")),
    }
}

/// A path named on the command line: absolute ones are router paths (SPEC §3).
fn root_file(root: &Root, f: &str) -> PathBuf {
    if Path::new(f).is_absolute() {
        root.path(f)
    } else {
        PathBuf::from(f)
    }
}

/// Stand-in until the core's SSD guard is merged: storage_path from
/// /etc/config/rpinet (default /mnt/rpinet), not checked to be mounted.
fn storage_stand_in(root: &Root) -> Result<PathBuf> {
    let text = std::fs::read_to_string(root.path("/etc/config/rpinet")).unwrap_or_default();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() >= 3 && w[0] == "option" && w[1] == "storage_path" {
            return Ok(PathBuf::from(w[2].trim_matches(|c| c == '\'' || c == '"')));
        }
    }
    Ok(PathBuf::from("/mnt/rpinet"))
}
