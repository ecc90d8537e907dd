//! Kicking the router's services: each through the router's own interface, once, with its
//! result checked. Only ever called on the live system (never under `--root`).

use std::process::Command;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Context, Error, Result};

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .ctx(|| format!("failed to run {program}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(Error::new(format!(
        "{program} {} failed ({}): {}",
        args.join(" "),
        out.status,
        stderr.lines().next().unwrap_or("no message")
    )))
}

pub fn restart_dnsmasq() -> Result<()> {
    run("/etc/init.d/dnsmasq", &["restart"])
}

/// SIGHUP the dnsmasq instance whose pid file is given; a dnsmasq that is not running needs
/// nothing (it reads the hosts dir when it starts).
pub fn signal_dnsmasq(pid_file: &str) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return Ok(());
    };
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| Error::new(format!("{pid_file} holds no pid")))?;
    match kill(Pid::from_raw(pid), Signal::SIGHUP) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(Error::new(format!(
            "failed to signal dnsmasq (pid {pid}): {e}"
        ))),
    }
}

pub fn reload_exports() -> Result<()> {
    run("exportfs", &["-ra"])
}
