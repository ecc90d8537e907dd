//! Logging through the `log` crate: to syslog (/dev/log, what `logread` shows) on the
//! router, to stderr elsewhere (a terminal, or any `--root` run).
//!
//! A few lines of our own rather than the syslog crate: one datagram per record in the
//! RFC 3164 form that OpenWrt's logd reads, with nothing else pulled into the binary.

use std::io::Write;
use std::os::unix::net::UnixDatagram;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Logger {
    syslog: Option<UnixDatagram>,
    level: LevelFilter,
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        match &self.syslog {
            Some(sock) => {
                // Facility daemon (3); severity from the level.
                let severity = match r.level() {
                    Level::Error => 3,
                    Level::Warn => 4,
                    Level::Info => 6,
                    Level::Debug | Level::Trace => 7,
                };
                let line = format!(
                    "<{}>rpinet[{}]: {}",
                    3 * 8 + severity,
                    std::process::id(),
                    r.args()
                );
                let _ = sock.send(line.as_bytes());
            }
            None => {
                let _ = writeln!(
                    std::io::stderr(),
                    "rpinet: {}: {}",
                    r.level().as_str().to_lowercase(),
                    r.args()
                );
            }
        }
    }

    fn flush(&self) {}
}

/// Install the logger. `to_syslog` is true on the live router; a failed connect falls
/// back to stderr. `RPINET_LOG` (error|warn|info|debug) sets the level; default info on
/// syslog, warn on stderr.
pub fn init(to_syslog: bool) {
    let syslog = to_syslog
        .then(|| {
            UnixDatagram::unbound()
                .ok()
                .filter(|s| s.connect("/dev/log").is_ok())
        })
        .flatten();
    let default = if syslog.is_some() {
        LevelFilter::Info
    } else {
        LevelFilter::Warn
    };
    let level = std::env::var("RPINET_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    if log::set_boxed_logger(Box::new(Logger { syslog, level })).is_ok() {
        log::set_max_level(level);
    }
}
