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
    let pid = checked_pid(
        &text,
        std::fs::read_to_string(format!("/proc/{}/comm", text.trim()))
            .ok()
            .as_deref(),
    )
    .map_err(|why| Error::new(format!("{pid_file}: {why}; not signalled")))?;
    let Some(pid) = pid else {
        return Ok(()); // not running: it reads the hosts dir when it starts
    };
    match kill(Pid::from_raw(pid), Signal::SIGHUP) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(Error::new(format!(
            "failed to signal dnsmasq (pid {pid}): {e}"
        ))),
    }
}

/// The pid to signal, from a pid file's text and that process's /proc/PID/comm (None: no
/// such process). A pid of 0 or 1, or a process that is not dnsmasq, is refused: a stale or
/// planted pid file must not make rpinet signal init or anything else.
fn checked_pid(text: &str, comm: Option<&str>) -> std::result::Result<Option<i32>, String> {
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| "holds no pid".to_string())?;
    if pid <= 1 {
        return Err(format!("holds pid {pid}"));
    }
    match comm.map(str::trim) {
        None => Ok(None),
        Some("dnsmasq") => Ok(Some(pid)),
        Some(other) => Err(format!("pid {pid} is '{other}', not dnsmasq")),
    }
}

pub fn reload_exports() -> Result<()> {
    run("exportfs", &["-ra"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_running_dnsmasq_is_signalled() {
        assert_eq!(checked_pid("4242\n", Some("dnsmasq\n")), Ok(Some(4242)));
        assert_eq!(checked_pid("4242\n", None), Ok(None));
        assert!(checked_pid("1\n", Some("init\n")).is_err());
        assert!(checked_pid("0", Some("dnsmasq")).is_err());
        assert!(checked_pid("-1", Some("dnsmasq")).is_err());
        assert!(checked_pid("4242", Some("sshd")).is_err());
        assert!(checked_pid("x", Some("dnsmasq")).is_err());
    }
}
