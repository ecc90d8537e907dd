//! The network-namespace lab shared by the netboot and trace tests: scripts/lab.sh makes the
//! namespaces, Debian's dnsmasq serves what `rpinet --root DIR` wrote, and tools/pisim (the
//! project's own bootloader simulator) plays the Pis on their own LAN ports. A Drop guard
//! tears the lab down even when an assertion fails (and keeps its files for inspection).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

pub const RPINET: &str = env!("CARGO_BIN_EXE_rpinet");

/// What a Pi 4 loads from its boot dir, in order, the kernel last.
pub const PI4_BOOT_FILES: [&str; 7] = [
    "start4.elf",
    "config.txt",
    "fixup4.dat",
    "bcm2711-rpi-4-b.dtb",
    "overlays/overlay_map.dtb",
    "cmdline.txt",
    "kernel8.img",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lab_sh() -> Command {
    Command::new(repo().join("scripts/lab.sh"))
}

/// pisim is built with the workspace (`make test` does `cargo build --workspace`), next to
/// the rpinet binary cargo built for this test.
pub fn pisim_path() -> PathBuf {
    Path::new(RPINET)
        .parent()
        .map(|d| d.join("pisim"))
        .unwrap_or_default()
}

/// pisim, which must have been built.
pub fn pisim() -> PathBuf {
    let p = pisim_path();
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (cargo build --workspace; make test does)",
        p.display()
    );
    p
}

/// True when the `what` lab can run here (root, `ip netns`, dnsmasq and, with `need_pisim`,
/// a built pisim); otherwise the test fails with the reason. A lab never skips itself: the
/// tiers that cannot run it leave its test binary out by name (CONTRIBUTING.md).
pub fn lab_available(what: &str, need_pisim: bool) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let netns = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success());
    let dnsmasq = Command::new("dnsmasq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let pisim = !need_pisim || pisim_path().exists();
    if root && netns && dnsmasq && pisim {
        return true;
    }
    let why = if need_pisim {
        format!(
            "{what} lab needs root ({root}), `ip netns` ({netns}), dnsmasq ({dnsmasq}) and pisim built ({pisim})"
        )
    } else {
        format!("{what} lab needs root ({root}), `ip netns` ({netns}) and dnsmasq ({dnsmasq})")
    };
    panic!("{why}; `make setup` installs what it needs (run as root)");
}

/// Run; must succeed.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// True while `pid` runs; a zombie (orphans are reaped by init, maybe late) counts as gone.
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next())
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// Wait for a spawned pisim, bounded (pisim bounds itself, this is a backstop): its exit
/// status, or None when it was killed for taking too long.
pub fn wait_bounded(child: &mut Child) -> Option<ExitStatus> {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if Instant::now() > until {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One lab: its namespaces and its --root tree under a temporary directory.
pub struct Lab {
    dir: PathBuf,
}

impl Lab {
    /// Make a `what` lab (`lab.sh up DIR ARGS`); None (skip) when this machine cannot run one.
    pub fn up(what: &str, need_pisim: bool, name: &str, args: &[&str]) -> Option<Lab> {
        if !lab_available(what, need_pisim) {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("rpinet-{what}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let lab = Lab { dir };
        run(lab_sh().arg("up").arg(&lab.dir).args(args));
        Some(lab)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `lab.sh ARGS[0] DIR ARGS[1..]`; must succeed; returns its trimmed stdout.
    pub fn lab_sh(&self, args: &[&str]) -> String {
        let out = run(lab_sh().arg(args[0]).arg(&self.dir).args(&args[1..]));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `rpinet --root DIR ARGS`; must succeed; returns stdout.
    pub fn rpinet(&self, args: &[&str]) -> String {
        let out = run(Command::new(RPINET).arg("--root").arg(&self.dir).args(args));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `rpinet node add NAME --serial SERIAL --mac MAC EXTRA...`.
    pub fn node_add(&self, name: &str, serial: &str, mac: &str, extra: &[&str]) {
        let mut args = vec!["node", "add", name, "--serial", serial, "--mac", mac];
        args.extend_from_slice(extra);
        self.rpinet(&args);
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The file's text, or "" when it is not there (yet).
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    /// dnsmasq and its script write asynchronously: wait (bounded) for `needle` in `rel`.
    pub fn wait_log(&self, rel: &str, needle: &str) -> String {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.read(rel);
            if log.contains(needle) || Instant::now() > until {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Plug a fresh machine `name` with `mac` into its own port of the LAN (a new namespace);
    /// returns the command that runs pisim there with `pisim_args`.
    pub fn pisim_on_port(&self, name: &str, mac: &str, pisim_args: &[&str]) -> Command {
        let _ = lab_sh().arg("client-del").arg(&self.dir).arg(name).output();
        self.lab_sh(&["client", name, mac]);
        let mut cmd = lab_sh();
        cmd.arg("run")
            .arg(&self.dir)
            .arg(name)
            .arg(pisim())
            .args(pisim_args);
        cmd
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = lab_sh().arg("down").arg(&self.dir).output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("lab kept for inspection: {}", self.dir.display());
        }
    }
}
