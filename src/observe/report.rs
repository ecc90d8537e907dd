//! A node's own account of its last boot, read from its root (`provision::report` puts the
//! writer there). What a node writes is hostile input: the file is read through directory
//! handles without following a symlink, only when it is a regular file of at most
//! [`MAX_BYTES`]; the parser takes only its own format and bounded lists, and anything
//! else is one line naming what is wrong.

use std::io::Read;

use serde::Serialize;

use crate::provision::report::PATH_PARTS;
use crate::system::fsys::Dir;
use crate::system::root::Root;

/// The largest report read (the writer's bounds keep it under 8 KiB).
pub const MAX_BYTES: u64 = 16 * 1024;
/// The most lines of one list a report may hold.
const MAX_LIST: usize = 32;
/// The longest value a report may hold, in bytes.
const MAX_VALUE: usize = 256;
const MAGIC: &str = "rpinet-boot-report 1";

/// The report, as `status` shows it under a node's `boot.report` (docs/api.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// systemd's state when the boot ended: running, degraded, maintenance, starting …
    pub state: String,
    /// multi-user, or emergency (emergency or rescue mode).
    pub mode: String,
    pub kernel: String,
    /// The kernel's boot id (32 hex digits): one report a boot.
    pub boot_id: String,
    /// Milliseconds spent in the kernel, the initramfs and userspace (to the end of
    /// start-up), and from power-on of the kernel to multi-user.target; null when unknown.
    pub times: Times,
    pub failed_units: Vec<String>,
    /// systemd's "Found ordering cycle" / "… deleted to break ordering cycle" lines.
    pub ordering_cycles: Vec<String>,
    /// Start jobs that failed without leaving a failed unit ("Dependency failed for …",
    /// "Timed out waiting for device …").
    pub failed_jobs: Vec<String>,
    pub warnings: Vec<String>,
    /// The container volume: `active ext4`, `failed unmounted` …; null without a volume.
    pub volume: Option<String>,
    pub runtimes: Vec<Runtime>,
    /// When the router saw the report written (Unix seconds: the file's mtime).
    pub written: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Times {
    pub kernel_ms: Option<u64>,
    pub initrd_ms: Option<u64>,
    pub userspace_ms: Option<u64>,
    pub multi_user_ms: Option<u64>,
}

/// A container runtime's service: its name, `is-active` and `is-enabled`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Runtime {
    pub name: String,
    pub active: String,
    pub enabled: String,
}

impl Report {
    /// Why this boot is not healthy, one reason a line; empty when it is. A degraded or
    /// maintenance state, failed units, a broken ordering cycle (systemd deletes a job to
    /// break it and still says running), a volume not mounted, an enabled runtime not
    /// running.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.state.as_str() {
            "running" => {}
            "starting" | "initializing" => out.push(
                "systemd was still starting when the report was written (a job never finished)"
                    .into(),
            ),
            s => out.push(format!("systemd says {s}")),
        }
        if !self.failed_units.is_empty() {
            out.push(format!("failed: {}", self.failed_units.join(", ")));
        }
        if let Some(c) = self.ordering_cycles.first() {
            out.push(format!("ordering cycle: {c}"));
        }
        if let Some(j) = self.failed_jobs.first() {
            out.push(format!("a start job failed: {j}"));
        }
        if let Some(v) = self
            .volume
            .as_deref()
            .filter(|v| !v.starts_with("active ext4"))
        {
            out.push(format!("container volume not mounted ({v})"));
        }
        for r in &self.runtimes {
            if r.enabled == "enabled" && r.active != "active" {
                out.push(format!("{} is enabled but {}", r.name, r.active));
            }
        }
        out
    }

    /// Emergency or rescue mode.
    pub fn emergency(&self) -> bool {
        self.mode == "emergency" || self.state == "maintenance"
    }
}

/// Parse a report's bytes; `Err` names the first thing wrong.
pub fn parse(bytes: &[u8]) -> Result<Report, String> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("larger than {} KiB", MAX_BYTES / 1024));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(format!("does not start with '{MAGIC}'"));
    }
    let mut r = Report::default();
    let (mut initrd, mut userspace, mut finish, mut multi_user) = (0u64, 0u64, 0u64, 0u64);
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {n}: not key=value"))?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!("line {n}: '{}' is not a key", clip(key)));
        }
        if value.len() > MAX_VALUE {
            return Err(format!("line {n}: {key} is longer than {MAX_VALUE} bytes"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("line {n}: {key} holds a control character"));
        }
        let number = |v: &str| -> Result<u64, String> {
            if v.is_empty() {
                return Ok(0);
            }
            v.parse::<u64>()
                .map_err(|_| format!("line {n}: {key} is not a number"))
        };
        let push = |list: &mut Vec<String>, v: &str| -> Result<(), String> {
            if list.len() == MAX_LIST {
                return Err(format!("line {n}: more than {MAX_LIST} {key} lines"));
            }
            list.push(v.to_string());
            Ok(())
        };
        match key {
            "state" => {
                if !value.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') || value.is_empty() {
                    return Err(format!(
                        "line {n}: '{}' is not a systemd state",
                        clip(value)
                    ));
                }
                r.state = value.into();
            }
            "mode" => match value {
                "multi-user" | "emergency" => r.mode = value.into(),
                _ => return Err(format!("line {n}: '{}' is not a mode", clip(value))),
            },
            "boot" => {
                if !(value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())) {
                    return Err(format!("line {n}: '{}' is not a boot id", clip(value)));
                }
                r.boot_id = value.into();
            }
            "kernel" => r.kernel = value.into(),
            "initrd_us" => initrd = number(value)?,
            "userspace_us" => userspace = number(value)?,
            "finish_us" => finish = number(value)?,
            "multi_user_us" => multi_user = number(value)?,
            "failed" => push(&mut r.failed_units, value)?,
            "cycle" => push(&mut r.ordering_cycles, value)?,
            "job" => push(&mut r.failed_jobs, value)?,
            "warning" => push(&mut r.warnings, value)?,
            "volume" => r.volume = Some(value.into()),
            "runtime" => {
                let mut w = value.split_whitespace();
                let (Some(name), active, enabled) = (w.next(), w.next(), w.next()) else {
                    return Err(format!("line {n}: runtime without a name"));
                };
                if r.runtimes.len() == MAX_LIST {
                    return Err(format!("line {n}: more than {MAX_LIST} runtime lines"));
                }
                r.runtimes.push(Runtime {
                    name: name.into(),
                    active: active.unwrap_or("unknown").into(),
                    enabled: enabled.unwrap_or("unknown").into(),
                });
            }
            // a newer writer's keys: kept out, not refused
            _ => {}
        }
    }
    if r.state.is_empty() {
        return Err("no state line".into());
    }
    if r.mode.is_empty() {
        r.mode = "multi-user".into();
    }
    // monotonic microseconds since the kernel started -> the phases, in ms
    let ms = |us: u64| us / 1000;
    let nonzero = |v: u64| (v > 0).then_some(v);
    let first_user = nonzero(initrd).or(nonzero(userspace));
    r.times = Times {
        kernel_ms: first_user.map(ms),
        initrd_ms: (initrd > 0 && userspace > initrd).then(|| ms(userspace - initrd)),
        userspace_ms: (userspace > 0 && finish > userspace).then(|| ms(finish - userspace)),
        multi_user_ms: nonzero(multi_user).map(ms),
    };
    Ok(r)
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The report in the root `nfs_root` (a router path), with its mtime: None when there is
/// none; `Err` when what is there is not a report (a symlink, a device, too large, garbage).
pub fn read(root: &Root, nfs_root: &str) -> Option<Result<Report, String>> {
    let (dirs, name) = PATH_PARTS.split_at(PATH_PARTS.len() - 1);
    let mut d = Dir::open_path(&root.path(nfs_root)).ok()?;
    for c in dirs {
        d = d.open_dir(c.as_bytes()).ok()?;
    }
    let f = match d.open_file(name[0].as_bytes(), libc::O_RDONLY | libc::O_NONBLOCK) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("cannot be opened: {e}"))),
    };
    let md = match f.metadata() {
        Ok(m) => m,
        Err(e) => return Some(Err(format!("cannot be read: {e}"))),
    };
    if !md.is_file() {
        return Some(Err("is not a regular file".into()));
    }
    if md.len() > MAX_BYTES {
        return Some(Err(format!("is larger than {} KiB", MAX_BYTES / 1024)));
    }
    let mut buf = Vec::new();
    if let Err(e) = f.take(MAX_BYTES + 1).read_to_end(&mut buf) {
        return Some(Err(format!("cannot be read: {e}")));
    }
    let written = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Some(parse(&buf).map(|mut r| {
        r.written = written;
        r
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "rpinet-boot-report 1\nstate=running\nmode=multi-user\nboot=0123456789abcdef0123456789abcdef\nkernel=6.1.0-21-arm64\ninitrd_us=2500000\nuserspace_us=7500000\nfinish_us=47500000\nmulti_user_us=46000000\nvolume=active ext4\nruntime=docker active enabled\nruntime=containerd active enabled\n";

    #[test]
    fn a_healthy_report() {
        let r = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(r.state, "running");
        assert_eq!(r.kernel, "6.1.0-21-arm64");
        assert_eq!(
            r.times,
            Times {
                kernel_ms: Some(2500),
                initrd_ms: Some(5000),
                userspace_ms: Some(40000),
                multi_user_ms: Some(46000)
            }
        );
        assert_eq!(r.runtimes.len(), 2);
        assert!(r.problems().is_empty(), "{:?}", r.problems());
        assert!(!r.emergency());
    }

    #[test]
    fn what_makes_a_boot_unhealthy() {
        let degraded =
            GOOD.replace("state=running", "state=degraded") + "failed=resize2fs_once.service\n";
        let r = parse(degraded.as_bytes()).unwrap();
        assert_eq!(
            r.problems(),
            ["systemd says degraded", "failed: resize2fs_once.service"]
        );
        // systemd says running, yet deleted a job to break a cycle
        let cycle = GOOD.to_string() + "cycle=Found ordering cycle on docker.socket/start\n";
        assert_eq!(
            parse(cycle.as_bytes()).unwrap().problems(),
            ["ordering cycle: Found ordering cycle on docker.socket/start"]
        );
        let idle = GOOD.replace(
            "runtime=docker active enabled",
            "runtime=docker inactive enabled",
        );
        assert_eq!(
            parse(idle.as_bytes()).unwrap().problems(),
            ["docker is enabled but inactive"]
        );
        let job = GOOD.to_string()
            + "job=Dependency failed for serial-getty@ttyS0.service - Serial Getty on ttyS0.\n";
        assert_eq!(
            parse(job.as_bytes()).unwrap().problems(),
            [
                "a start job failed: Dependency failed for serial-getty@ttyS0.service - Serial Getty on ttyS0."
            ]
        );
        let novol = GOOD.replace("volume=active ext4", "volume=failed unmounted");
        assert_eq!(
            parse(novol.as_bytes()).unwrap().problems(),
            ["container volume not mounted (failed unmounted)"]
        );
        let em = GOOD
            .replace("state=running", "state=maintenance")
            .replace("mode=multi-user", "mode=emergency");
        assert!(parse(em.as_bytes()).unwrap().emergency());
    }

    #[test]
    fn garbage_is_one_line_naming_what_is_wrong() {
        for (bytes, want) in [
            (b"hello".to_vec(), "does not start with"),
            (vec![0xff, 0xfe], "not UTF-8"),
            (
                format!("{MAGIC}\nstate=running\nnoequals\n").into_bytes(),
                "line 3: not key=value",
            ),
            (
                format!("{MAGIC}\nState=running\n").into_bytes(),
                "line 2: 'State' is not a key",
            ),
            (
                format!("{MAGIC}\nstate=run ning\n").into_bytes(),
                "is not a systemd state",
            ),
            (
                format!("{MAGIC}\nstate=running\nkernel=a\u{1b}[31mred\n").into_bytes(),
                "control character",
            ),
            (
                format!("{MAGIC}\nstate=running\nboot=xyz\n").into_bytes(),
                "not a boot id",
            ),
            (
                format!("{MAGIC}\nstate=running\ninitrd_us=-1\n").into_bytes(),
                "not a number",
            ),
            (format!("{MAGIC}\nkernel=x\n").into_bytes(), "no state line"),
            (
                format!("{MAGIC}\nstate=running\nkernel={}\n", "k".repeat(300)).into_bytes(),
                "longer than 256",
            ),
            (vec![b'a'; 17 * 1024], "larger than 16 KiB"),
        ] {
            let e = parse(&bytes).unwrap_err();
            assert!(e.contains(want), "{e} / {want}");
            assert!(!e.contains('\n'));
        }
        let many = format!(
            "{MAGIC}\nstate=degraded\n{}",
            "failed=x.service\n".repeat(33)
        );
        assert!(
            parse(many.as_bytes())
                .unwrap_err()
                .contains("more than 32 failed lines")
        );
        // a newer writer's key is left out
        let newer = GOOD.to_string() + "future_key=1\n";
        assert_eq!(
            parse(newer.as_bytes()).unwrap(),
            parse(GOOD.as_bytes()).unwrap()
        );
    }

    #[test]
    fn a_symlink_or_a_device_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("rpinet-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let var = dir.join("nfs/lion/var/lib/rpinet");
        std::fs::create_dir_all(&var).unwrap();
        let root = Root::under(&dir);
        assert!(read(&root, "/nfs/lion").is_none());
        std::fs::write(dir.join("secret"), GOOD).unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), var.join("boot-report")).unwrap();
        assert!(read(&root, "/nfs/lion").unwrap().is_err());
        std::fs::remove_file(var.join("boot-report")).unwrap();
        std::fs::write(var.join("boot-report"), GOOD).unwrap();
        let r = read(&root, "/nfs/lion").unwrap().unwrap();
        assert_eq!(r.state, "running");
        assert!(r.written > 0);
        // a symlinked directory on the way is not followed either
        std::fs::remove_dir_all(dir.join("nfs/lion/var/lib/rpinet")).unwrap();
        std::os::unix::fs::symlink(dir.join("nfs"), dir.join("nfs/lion/var/lib/rpinet")).unwrap();
        assert!(read(&root, "/nfs/lion").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
