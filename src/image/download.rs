//! An image straight from the network: the body of an http(s) download, read
//! as it arrives, through the router's own HTTP client (uclient-fetch on
//! OpenWrt; curl or wget where that is what exists) run once with its output
//! on a pipe. Nothing is stored: the importer reads the pipe.
//!
//! The client is the edge; deciding is pure: [`check_url`] (only http and
//! https), [`Client::args`] (the command line of each client) and
//! [`content_length`] (the size from the headers the client prints). A server
//! that sends nothing for the stall time ends the download: the client is
//! killed and the reader fails with one line saying so.

use std::io::{self, BufRead, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bail;
use crate::error::{Error, Result};
use crate::image::source::SharedCount;

pub use crate::config::check_url;

/// The image name a URL suggests: its last path segment, as for a file.
pub fn name_from_url(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or("");
    crate::image::name_from_file(Path::new(last))
}

/// The HTTP clients rpinet knows, in the order it prefers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    UclientFetch,
    Curl,
    Wget,
}

impl Client {
    pub const ALL: [(&'static str, Client); 3] = [
        ("uclient-fetch", Client::UclientFetch),
        ("curl", Client::Curl),
        ("wget", Client::Wget),
    ];

    /// The arguments that write the body of `url` to stdout and the response
    /// headers (where the client can) to stderr, failing on an HTTP error,
    /// trying once.
    pub fn args(self, url: &str, stall: Duration) -> Vec<String> {
        let t = stall.as_secs().max(1).to_string();
        let v: Vec<&str> = match self {
            // -T is uclient-fetch's connect/request timeout; it prints no headers.
            Client::UclientFetch => vec!["-q", "-T", &t, "-O", "-", url],
            Client::Curl => vec![
                "-sS",
                "-f",
                "-L",
                "--proto",
                "=http,https",
                "--proto-redir",
                "=http,https",
                "--connect-timeout",
                &t,
                "-D",
                "/dev/stderr",
                "-o",
                "-",
                "--",
                url,
            ],
            Client::Wget => vec!["-nv", "-S", "-t", "1", "-T", &t, "-O", "-", "--", url],
        };
        v.into_iter().map(String::from).collect()
    }
}

/// The first client found on `path` (a PATH value).
pub fn find_client(path: &str) -> Option<(Client, PathBuf)> {
    Client::ALL.iter().find_map(|(name, c)| {
        std::env::split_paths(path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .map(|p| (*c, p))
    })
}

/// The size a header line gives (`Content-Length: N`, any case, indented as
/// wget prints it); a redirect's headers come first and are overwritten.
pub fn content_length(line: &str) -> Option<u64> {
    let (k, v) = line.trim().split_once(':')?;
    k.trim()
        .eq_ignore_ascii_case("content-length")
        .then(|| v.trim().parse().ok())?
}

/// The client's error line named once: curl names itself ("curl: (7) ..."), wget does not.
fn said_by(client: &str, said: &str) -> String {
    match said.strip_prefix(client) {
        Some(rest) if rest.starts_with(':') => said.to_string(),
        _ => format!("{client}: {said}"),
    }
}

/// Whether a line of the client's stderr says what went wrong (headers and
/// chatter do not; wget indents its header lines).
pub fn error_line(line: &str) -> bool {
    const WORDS: [&str; 12] = [
        "error",
        "fail",
        "refused",
        "timed out",
        "closed",
        "reset",
        "giving up",
        "resolve",
        "not found",
        "unable",
        "denied",
        "no route",
    ];
    let lower = line.to_ascii_lowercase();
    !line.starts_with(' ')
        && !lower.starts_with("http/")
        && content_length(line).is_none()
        && WORDS.iter().any(|w| lower.contains(w))
}

/// A running download: the client, what its stderr said, and whether the
/// reader gave up on it.
pub struct Download {
    child: Child,
    client: &'static str,
    url: String,
    /// The size, when the server gave it.
    pub total: SharedCount,
    last_error: Arc<Mutex<String>>,
    stalled: Arc<Mutex<Option<String>>>,
    stderr: Option<std::thread::JoinHandle<()>>,
}

/// The body of a download, as it arrives.
pub struct Body {
    out: ChildStdout,
    stall: Duration,
    stalled: Arc<Mutex<Option<String>>>,
    pid: u32,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let ms = u32::try_from(self.stall.as_millis()).unwrap_or(u32::MAX);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        loop {
            let mut fds = [PollFd::new(self.out.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) => {
                    let msg = format!(
                        "the server sent nothing for {} s",
                        self.stall.as_secs().max(1)
                    );
                    *self.stalled.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(self.pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    return Err(io::Error::new(io::ErrorKind::TimedOut, msg));
                }
                Ok(_) => return self.out.read(buf),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(io::Error::from(e)),
            }
        }
    }
}

impl Download {
    /// Start fetching `url` with the first client on PATH.
    pub fn start(url: &str, stall: Duration) -> Result<(Download, Body)> {
        check_url(url)?;
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
        let Some((client, exe)) = find_client(&path) else {
            bail!("no HTTP client to download with: install uclient-fetch, curl or wget");
        };
        let name = Client::ALL
            .iter()
            .find(|(_, c)| *c == client)
            .map_or("client", |(n, _)| *n);
        let mut child = Command::new(&exe)
            .args(client.args(url, stall))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::new(format!("failed to run {}: {e}", exe.display())))?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("failed to connect to {name}'s output");
        };
        let total = SharedCount::default();
        let last_error = Arc::new(Mutex::new(String::new()));
        let stderr = {
            let (total, last_error) = (total.clone(), last_error.clone());
            crate::system::alloc::thread("download", move || {
                for line in io::BufReader::new(err).lines().map_while(|l| l.ok()) {
                    if let Some(n) = content_length(&line) {
                        total.set(n);
                    } else if error_line(&line) {
                        let cut: String = line.trim().chars().take(200).collect();
                        *last_error.lock().unwrap_or_else(|e| e.into_inner()) = cut;
                    }
                }
            })
        };
        let stalled = Arc::new(Mutex::new(None));
        let body = Body {
            out,
            stall,
            stalled: stalled.clone(),
            pid: child.id(),
        };
        Ok((
            Download {
                child,
                client: name,
                url: url.to_string(),
                total,
                last_error,
                stalled,
                stderr: Some(stderr),
            },
            body,
        ))
    }

    /// End the download and say how it went: Ok when the client fetched the
    /// whole body, else the one line that names why not. `abandon` (the
    /// importer failed first) stops a client still running.
    pub fn finish(mut self, abandon: bool) -> Result<()> {
        if abandon && matches!(self.child.try_wait(), Ok(None)) {
            // give an exiting client a moment, so its own error is the one reported
            std::thread::sleep(Duration::from_millis(50));
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.kill();
            }
        }
        let status = self.child.wait();
        if let Some(t) = self.stderr.take() {
            let _ = t.join();
        }
        let what = format!("download of {} failed", self.url);
        if let Some(msg) = self
            .stalled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            bail!("{what}: {msg}");
        }
        let said = self
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) if s.code().is_some() => {
                let said = if said.is_empty() {
                    format!(
                        "{} exited with status {}",
                        self.client,
                        s.code().unwrap_or(0)
                    )
                } else {
                    said_by(self.client, &said)
                };
                bail!("{what}: {said}")
            }
            // killed by rpinet after the import failed: the import's error stands
            Ok(_) if abandon => Ok(()),
            Ok(s) => bail!("{what}: {} ended by {s}", self.client),
            Err(e) => bail!("{what}: {e}"),
        }
    }
}

/// A small body (a catalog), whole, in memory: at most `max` bytes.
pub fn fetch(url: &str, stall: Duration, max: usize) -> Result<Vec<u8>> {
    let (d, body) = Download::start(url, stall)?;
    let mut buf = Vec::new();
    let r = body.take(max as u64 + 1).read_to_end(&mut buf);
    let too_big = buf.len() > max;
    d.finish(r.is_err() || too_big)?;
    if let Err(e) = r {
        bail!("download of {url} failed: {e}");
    }
    if too_big {
        bail!("{url} is larger than {} KiB", max >> 10);
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_segment() {
        assert_eq!(
            name_from_url(
                "https://d/raspios_lite_arm64/images/2025-05-13-raspios-bookworm-arm64-lite.img.xz?dl=1"
            ),
            "2025-05-13-raspios-bookworm-arm64-lite"
        );
        assert_eq!(name_from_url("http://h/"), "image");
    }

    #[test]
    fn client_args_stream_to_stdout_and_fail_on_http_errors() {
        let u = "http://h/a.img";
        let c = Client::Curl.args(u, Duration::from_secs(7));
        assert!(c.contains(&"-f".to_string()) && c.ends_with(&["--".into(), u.into()]));
        assert!(c.windows(2).any(|w| w == ["-o", "-"]));
        let w = Client::Wget.args(u, Duration::from_secs(7));
        assert!(w.windows(2).any(|w| w == ["-t", "1"]) && w.windows(2).any(|w| w == ["-T", "7"]));
        let f = Client::UclientFetch.args(u, Duration::from_millis(10));
        assert_eq!(f, ["-q", "-T", "1", "-O", "-", u]);
    }

    #[test]
    fn sizes_and_errors_from_client_output() {
        assert_eq!(content_length("  Content-Length: 1234"), Some(1234));
        assert_eq!(content_length("content-length:7\r"), Some(7));
        assert_eq!(content_length("Content-Type: text/plain"), None);
        assert!(error_line(
            "curl: (22) The requested URL returned error: 404"
        ));
        assert!(error_line("HTTP error 404"));
        assert_eq!(said_by("curl", "curl: (7) refused"), "curl: (7) refused");
        assert_eq!(said_by("wget", "HTTP error 404"), "wget: HTTP error 404");
        assert!(!error_line("HTTP/1.0 200 OK"));
        assert!(!error_line("Content-Length: 5"));
        assert!(!error_line("Connecting to 127.0.0.1:80"));
        assert!(!error_line("Content-Type: text/plain"));
        assert!(!error_line("  Content-Type: text/plain"));
    }
}
