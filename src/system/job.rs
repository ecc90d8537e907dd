//! Progress of a long command: a bar on stderr when it is a terminal, and a
//! state file `/tmp/rpinet/jobs/<id>.json` (written atomically) that the
//! `job` ubus method reads (docs/api.md: id, kind, state, progress 0–100,
//! bytes_done, bytes_total, files, message).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::bail;
use crate::error::{Context, Result};
use crate::system::root::Root;

/// Where job state files live (a router path).
pub const JOBS_DIR: &str = "/tmp/rpinet/jobs";

/// A job id: [A-Za-z0-9_-]{1,64}, so it is one safe file name.
pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!(
            "'{}' is not a job id (1-64 of A-Z a-z 0-9 _ -)",
            id.escape_debug()
        );
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub id: String,
    pub kind: String,
    pub state: &'static str,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files: u64,
    pub message: String,
    /// Per-node progress of a job over several nodes (an image roll), as `nodes`.
    pub nodes: Option<serde_json::Value>,
}

impl State {
    /// A job at its start or end, with no bytes counted yet.
    pub fn new(id: &str, kind: &str, state: &'static str, message: &str) -> State {
        State {
            id: id.to_string(),
            kind: kind.to_string(),
            state,
            bytes_done: 0,
            bytes_total: 0,
            files: 0,
            message: message.to_string(),
            nodes: None,
        }
    }

    pub fn progress(&self) -> u64 {
        if self.state == "done" {
            return 100;
        }
        if self.bytes_total == 0 {
            return 0;
        }
        (self.bytes_done.min(self.bytes_total) * 100 / self.bytes_total).min(99)
    }

    /// The JSON the `job` method returns.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::json!({
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": self.progress(),
            "bytes_done": self.bytes_done,
            "bytes_total": self.bytes_total,
            "files": self.files,
            "message": self.message,
        });
        if let (Some(n), Some(m)) = (&self.nodes, v.as_object_mut()) {
            m.insert("nodes".into(), n.clone());
        }
        v.to_string()
    }
}

/// The bar line: percent, bytes, files, rate and time left.
pub fn bar_line(s: &State, elapsed: Duration) -> String {
    let pct = s.progress();
    let filled = (pct as usize * 30) / 100;
    // Integer arithmetic only: float formatting costs ~15 KiB of binary.
    let ms = (elapsed.as_millis() as u64).max(1);
    let rate = s.bytes_done.saturating_mul(1000) / ms; // bytes per second
    let eta = if rate > 0 && s.bytes_total > s.bytes_done {
        (s.bytes_total - s.bytes_done) / rate
    } else {
        0
    };
    let tenths = rate.saturating_mul(10) >> 20; // MiB/s in tenths
    if s.bytes_total == 0 {
        // a download whose server gave no size: bytes and rate only
        return format!(
            "{} MiB  {} files  {}.{} MiB/s",
            s.bytes_done >> 20,
            s.files,
            tenths / 10,
            tenths % 10
        );
    }
    format!(
        "[{}{}] {:3}% {} / {} MiB  {} files  {}.{} MiB/s  ETA {}:{:02}",
        "#".repeat(filled),
        " ".repeat(30 - filled),
        pct,
        s.bytes_done >> 20,
        s.bytes_total >> 20,
        s.files,
        tenths / 10,
        tenths % 10,
        eta / 60,
        eta % 60
    )
}

pub struct Job {
    file: Option<PathBuf>,
    tty: bool,
    start: Instant,
    last: Option<Instant>,
    pub state: State,
}

impl Job {
    /// Start reporting; `id` names the state file (none: terminal bar only).
    pub fn start(root: &Root, id: Option<&str>, kind: &str) -> Result<Job> {
        let file = match id {
            Some(id) => {
                check_id(id)?;
                let dir = root.path(JOBS_DIR);
                std::fs::create_dir_all(&dir)
                    .ctx(|| format!("failed to create {}", dir.display()))?;
                Some(dir.join(format!("{id}.json")))
            }
            None => None,
        };
        let mut j = Job {
            file,
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: None,
            state: State {
                id: id.unwrap_or("").to_string(),
                kind: kind.to_string(),
                state: "running",
                bytes_done: 0,
                bytes_total: 0,
                files: 0,
                message: String::new(),
                nodes: None,
            },
        };
        j.write(true);
        Ok(j)
    }

    /// New progress; written at most a few times a second.
    pub fn update(&mut self, done: u64, total: u64, files: u64, message: &str) {
        self.state.bytes_done = done;
        self.state.bytes_total = total;
        self.state.files = files;
        if self.state.message != message {
            self.state.message = message.to_string();
        }
        self.write(false);
    }

    /// New per-node progress (and message), written at once.
    pub fn nodes(&mut self, nodes: serde_json::Value, message: &str) {
        self.state.nodes = Some(nodes);
        self.state.message = message.to_string();
        self.write(true);
    }

    pub fn finish(&mut self, ok: bool, message: &str) {
        self.state.state = if ok { "done" } else { "failed" };
        if ok {
            self.state.bytes_done = self.state.bytes_total;
        }
        self.state.message = message.to_string();
        self.write(true);
        if self.tty {
            eprintln!();
        }
    }

    fn write(&mut self, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .last
                .is_some_and(|l| now - l < Duration::from_millis(250))
        {
            return;
        }
        self.last = Some(now);
        if self.tty {
            let line = bar_line(&self.state, now - self.start);
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r{line}\x1b[K");
            let _ = e.flush();
        }
        if let Some(f) = &self.file {
            // Progress is advisory: a failed write must not stop the work.
            let _ = crate::system::fs::replace(f, &self.state.to_json(), 0o644, true);
        }
    }
}

/// Run `work` as job `id` of `kind`: the state file says running while it works, then done
/// with `summary` of the result, or failed with the error (also when the job cannot start).
pub fn run<T>(
    root: &Root,
    id: Option<&str>,
    kind: &str,
    work: impl FnOnce(&mut Job) -> Result<T>,
    summary: impl Fn(&T) -> String,
) -> Result<T> {
    let mut job = match Job::start(root, id, kind) {
        Ok(j) => j,
        Err(e) => {
            fail(root, id, kind, e.message());
            return Err(e);
        }
    };
    let r = work(&mut job);
    match &r {
        Ok(v) => job.finish(true, &summary(v)),
        Err(e) => job.finish(false, e.message()),
    }
    r
}

/// Mark job `id` failed with `message` (for errors before the job's work
/// started, e.g. the SSD guard); a bad id or an unwritable file is ignored.
pub fn fail(root: &Root, id: Option<&str>, kind: &str, message: &str) {
    let Some(id) = id.filter(|i| check_id(i).is_ok()) else {
        return;
    };
    let _ = write_state(root, &State::new(id, kind, "failed", message));
}

/// Write a job's state file (the `job` method's answer) atomically.
pub fn write_state(root: &Root, s: &State) -> Result<()> {
    let dir = root.path(JOBS_DIR);
    std::fs::create_dir_all(&dir).ctx(|| format!("failed to create {}", dir.display()))?;
    crate::system::fs::replace(
        &dir.join(format!("{}.json", s.id)),
        &s.to_json(),
        0o644,
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_single_safe_names() {
        assert!(check_id("j1700000000-1234").is_ok());
        assert!(check_id("../x").is_err());
        assert!(check_id("").is_err());
        assert!(check_id("a b").is_err());
    }

    #[test]
    fn state_json_and_bar_carry_the_numbers() {
        let s = State {
            id: "j1".into(),
            kind: "image_import".into(),
            state: "running",
            bytes_done: 50 << 20,
            bytes_total: 200 << 20,
            files: 7,
            message: "root".into(),
            nodes: None,
        };
        let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(v["progress"], 25);
        assert_eq!(v["state"], "running");
        assert_eq!(v["files"], 7);
        let line = bar_line(&s, Duration::from_secs(10));
        assert!(
            line.contains(" 25% 50 / 200 MiB  7 files  5.0 MiB/s  ETA 0:30"),
            "{line}"
        );
        let unknown = State {
            bytes_total: 0,
            ..s.clone()
        };
        assert_eq!(
            bar_line(&unknown, Duration::from_secs(10)),
            "50 MiB  7 files  5.0 MiB/s"
        );
    }

    #[test]
    fn job_file_is_written_under_root() {
        let dir = std::env::temp_dir().join(format!("rpinet-job-test-{}", std::process::id()));
        let root = Root::under(&dir);
        let mut j = Job::start(&root, Some("j1"), "image_import").unwrap();
        j.update(10, 100, 1, "boot");
        j.finish(true, "imported");
        let txt = std::fs::read_to_string(dir.join("tmp/rpinet/jobs/j1.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&txt).unwrap();
        assert_eq!(v["state"], "done");
        assert_eq!(v["progress"], 100);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
