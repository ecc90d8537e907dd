//! The boot-event log: what dnsmasq told us about each Pi's boot.
//!
//! OpenWrt's dnsmasq runs /usr/lib/dnsmasq/dhcp-script.sh for every lease
//! change and every completed TFTP transfer; that script exports ACTION,
//! MACADDR, IPADDR, HOSTNAME (dhcp) or TFTP_SIZE, TFTP_ADDR, TFTP_PATH (tftp)
//! and runs the /etc/hotplug.d/{dhcp,tftp}/ hooks, which call `rpinet event
//! dhcp|tftp`. Each call appends one line to /tmp/rpinet/events.log under an
//! exclusive flock. When the file passes [`MAX_FILE`] it is renamed to
//! events.log.1 (replacing the older one), so the log never holds more than
//! two files: [`MAX_TOTAL`] bytes in RAM-backed /tmp.
//!
//! Transfers that failed never reach the script; dnsmasq logs them to syslog
//! ("file … not found for …", "cannot access …"). [`parse_logread`] turns
//! `logread -t` output into the same events at read time.
//!
//! One line per event, tab-separated, values stripped of control characters:
//! `TIME dhcp ACTION MAC IP HOSTNAME VENDORCLASS`,
//! `TIME tftp SIZE ADDR PATH`, `TIME miss ADDR PATH REASON`.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;

use crate::calendar::days_from_civil;
use crate::error::{Context, Error, Result};
use crate::system::root::Root;

/// The reason of a transfer dnsmasq gave up on (`failed sending …`): the client stopped
/// acknowledging.
pub const TIMED_OUT: &str = "timed out";

/// Rotate the log when it passes this size.
pub const MAX_FILE: u64 = 192 * 1024;
/// The most the log (current + rotated file) ever holds, plus one line.
#[cfg_attr(not(test), allow(dead_code))] // the bound; tests check it
pub const MAX_TOTAL: u64 = 2 * MAX_FILE;
/// Longest value kept from the environment.
const MAX_FIELD: usize = 255;

pub const DIR: &str = "/tmp/rpinet";
pub const LOG: &str = "/tmp/rpinet/events.log";
pub const LOG_OLD: &str = "/tmp/rpinet/events.log.1";
pub const LOCK: &str = "/tmp/rpinet/events.lock";

/// Values borrow from the log text they were parsed from (no copy per field).
pub type Str<'a> = Cow<'a, str>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind<'a> {
    /// A lease was added, updated or removed (dnsmasq add/old/del).
    Dhcp {
        action: Str<'a>,
        mac: Str<'a>,
        ip: Str<'a>,
        hostname: Str<'a>,
        vendor: Str<'a>,
    },
    /// A TFTP transfer completed.
    Tftp {
        size: u64,
        addr: Str<'a>,
        path: Str<'a>,
    },
    /// A TFTP request for a file that does not exist or cannot be read.
    Missing {
        addr: Str<'a>,
        path: Str<'a>,
        reason: Str<'a>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub time: u64,
    pub kind: EventKind<'a>,
}

/// Strip tabs, newlines and other control characters and bound the length.
fn clean(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).collect();
    if out.len() > MAX_FIELD {
        let mut cut = MAX_FIELD;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// A MAC address in lower case with ':' separators, or None (either separator, any case,
/// as dnsmasq and people write them).
pub fn normalize_mac(s: &str) -> Option<String> {
    crate::config::Mac::parse(&s.trim().replace('-', ":")).map(|m| m.to_string())
}

fn valid_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Build the event for `rpinet event KIND` from the hook's environment.
/// Returns None for events rpinet has no use for (e.g. an IPv6 lease).
pub fn from_env(
    kind: &str,
    env: &dyn Fn(&str) -> Option<String>,
    now: u64,
) -> Result<Option<Event<'static>>> {
    let get = |k: &str| env(k).map(|v| clean(&v)).unwrap_or_default();
    match kind {
        "dhcp" => {
            let action = get("ACTION");
            if !matches!(action.as_str(), "add" | "update" | "remove" | "old" | "del") {
                return Err(Error::new(format!(
                    "event dhcp: ACTION '{action}' is not add, update or remove"
                )));
            }
            // dnsmasq replays its lease file at startup ("old" with
            // DNSMASQ_DATA_MISSING=1): no client asked for anything then
            if get("DNSMASQ_DATA_MISSING") == "1" {
                return Ok(None);
            }
            let raw_mac = get("MACADDR");
            let Some(mac) = normalize_mac(&raw_mac) else {
                // dnsmasq passes non-Ethernet hardware addresses too; not a Pi.
                return Ok(None);
            };
            let ip = get("IPADDR");
            if !valid_ipv4(&ip) {
                return Ok(None);
            }
            Ok(Some(Event {
                time: now,
                kind: EventKind::Dhcp {
                    action: action.into(),
                    mac: mac.into(),
                    ip: ip.into(),
                    hostname: get("HOSTNAME").into(),
                    vendor: get("DNSMASQ_VENDOR_CLASS").into(),
                },
            }))
        }
        "tftp" => {
            let path = get("TFTP_PATH");
            if path.is_empty() {
                return Err(Error::new("event tftp: TFTP_PATH is not set"));
            }
            let size = get("TFTP_SIZE").parse::<u64>().unwrap_or(0);
            let addr = get("TFTP_ADDR");
            Ok(Some(Event {
                time: now,
                kind: EventKind::Tftp {
                    size,
                    addr: addr.into(),
                    path: path.into(),
                },
            }))
        }
        other => Err(Error::new(format!(
            "event: unknown kind '{other}' (expected dhcp or tftp)"
        ))),
    }
}

/// The log line of an event (with its trailing newline).
pub fn to_line(e: &Event) -> String {
    match &e.kind {
        EventKind::Dhcp {
            action,
            mac,
            ip,
            hostname,
            vendor,
        } => format!(
            "{}\tdhcp\t{}\t{}\t{}\t{}\t{}\n",
            e.time,
            clean(action),
            clean(mac),
            clean(ip),
            clean(hostname),
            clean(vendor)
        ),
        EventKind::Tftp { size, addr, path } => {
            format!(
                "{}\ttftp\t{}\t{}\t{}\n",
                e.time,
                size,
                clean(addr),
                clean(path)
            )
        }
        EventKind::Missing { addr, path, reason } => format!(
            "{}\tmiss\t{}\t{}\t{}\n",
            e.time,
            clean(addr),
            clean(path),
            clean(reason)
        ),
    }
}

/// Parse one log line; None for anything malformed (a torn or foreign line).
pub fn parse_line(line: &str) -> Option<Event<'_>> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let mut f = line.split('\t');
    let time = f.next()?.parse::<u64>().ok()?;
    let kind = f.next()?;
    let mut take = || f.next().map(Cow::Borrowed);
    let kind = match kind {
        "dhcp" => EventKind::Dhcp {
            action: take()?,
            mac: take()?,
            ip: take()?,
            hostname: take()?,
            vendor: take()?,
        },
        "tftp" => EventKind::Tftp {
            size: take()?.parse().ok()?,
            addr: take()?,
            path: take()?,
        },
        "miss" => EventKind::Missing {
            addr: take()?,
            path: take()?,
            reason: take()?,
        },
        _ => return None,
    };
    if f.next().is_some() {
        return None; // more fields than the kind has: not ours
    }
    Some(Event { time, kind })
}

/// Parse every well-formed line of a log text.
pub fn parse_log(text: &str) -> Vec<Event<'_>> {
    text.lines().filter_map(parse_line).collect()
}

/// Parse `logread -t` output into Missing events for dnsmasq's TFTP failures:
/// `Wed Nov 25 03:00:12 2026 [1764039612.123] daemon.err dnsmasq-tftp[7]: file /x/y not found for 10.0.0.5`
/// (dnsmasq ≥ 2.86 adds " for ADDR"; older ones end at "not found").
pub fn parse_logread(text: &str) -> Vec<Event<'static>> {
    parse_logread_in(text, now())
}

/// The time of a syslog line (the part before the tag): `logread -t`'s
/// `[SECS.MS]` stamp, else a ctime date with its year (`logread`), else the
/// syslog `Mmm dd HH:MM:SS` of dnsmasq's own log file in `year`. Dates are
/// taken as UTC, OpenWrt's default zone; `-t` avoids the question.
pub fn line_time(head: &str, year: i64) -> Option<u64> {
    if let Some(open) = head.find(" [") {
        let stamp = head.get(open + 2..)?.split(']').next()?;
        return stamp.split('.').next()?.parse::<u64>().ok();
    }
    let w: Vec<&str> = head.split_whitespace().collect();
    let (mon, day, hms, yr) = match w.as_slice() {
        [_, m, d, t, y, ..] if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => {
            (*m, *d, *t, y.parse().ok()?)
        }
        [m, d, t, ..] => (*m, *d, *t, year),
        _ => return None,
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == mon)? as i64 + 1;
    let d: i64 = day.parse().ok()?;
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let (ny, nm) = if m == 12 { (yr + 1, 1) } else { (yr, m + 1) };
    let month_days = days_from_civil(ny, nm, 1) - days_from_civil(yr, m, 1);
    if d < 1 || d > month_days || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let secs = days_from_civil(yr, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs).ok()
}

/// The (UTC) year of a Unix time.
fn year_of(t: u64) -> i64 {
    let mut y = 1970 + (t / 31_556_952) as i64;
    while days_from_civil(y, 1, 1) * 86400 > t as i64 {
        y -= 1;
    }
    while days_from_civil(y + 1, 1, 1) * 86400 <= t as i64 {
        y += 1;
    }
    y
}

/// `now` places dates without a year: in this year, or the last one when
/// that would be in the future (a December line read in January).
fn parse_logread_in(text: &str, now: u64) -> Vec<Event<'static>> {
    let year = year_of(now);
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(tag) = line
            .find("dnsmasq-tftp[")
            .or_else(|| line.find("dnsmasq-dhcp["))
        else {
            continue;
        };
        let Some(mut time) = line_time(&line[..tag], year) else {
            continue;
        };
        if time > now + 86_400 {
            time = line_time(&line[..tag], year - 1).unwrap_or(time);
        }
        let Some(msg) = line[tag..].find("]: ").map(|c| &line[tag + c + 3..]) else {
            continue;
        };
        if line[tag..].starts_with("dnsmasq-dhcp[") {
            out.extend(dhcp_log_event(msg, time));
            continue;
        }
        if let Some(rest) = msg.strip_prefix("file ") {
            // "file PATH not found" or "file PATH not found for ADDR"
            let (path, addr) = match rest.rfind(" not found for ") {
                Some(i) => (&rest[..i], &rest[i + 15..]),
                None => match rest.strip_suffix(" not found") {
                    Some(p) => (p, ""),
                    None => continue,
                },
            };
            out.push(Event {
                time,
                kind: EventKind::Missing {
                    addr: clean(addr.trim()).into(),
                    path: clean(path).into(),
                    reason: "not found".into(),
                },
            });
        } else if let Some(rest) = msg.strip_prefix("failed sending ") {
            // "failed sending PATH to ADDR": dnsmasq gave up (the client stopped
            // acknowledging), and runs no script for it
            let Some(i) = rest.rfind(" to ") else {
                continue;
            };
            out.push(Event {
                time,
                kind: EventKind::Missing {
                    addr: clean(rest[i + 4..].trim()).into(),
                    path: clean(&rest[..i]).into(),
                    reason: TIMED_OUT.into(),
                },
            });
        } else if let Some(rest) = msg.strip_prefix("cannot access ") {
            // "cannot access PATH: Permission denied"
            let Some(i) = rest.rfind(": ") else { continue };
            out.push(Event {
                time,
                kind: EventKind::Missing {
                    addr: "".into(),
                    path: clean(&rest[..i]).into(),
                    reason: clean(&rest[i + 2..]).into(),
                },
            });
        }
    }
    out
}

/// A dnsmasq-dhcp log line that says a client asked, for when no lease event
/// comes (proxy mode, or a client dnsmasq ignores): `[XID ]TYPE(IFACE) [IP ]MAC[ TEXT]`.
/// `DHCPDISCOVER` → action "discover"; `PXE … proxy` → "proxy" (boot options
/// sent beside another DHCP server); `PXE … proxy-ignored` → "ignored". Both
/// PXE forms come only from PXE clients, so the vendor class is PXEClient.
fn dhcp_log_event(msg: &str, time: u64) -> Option<Event<'static>> {
    let mut w = msg.split_whitespace();
    let mut first = w.next()?;
    if first.bytes().all(|b| b.is_ascii_digit()) {
        first = w.next()?; // log-dhcp's transaction id
    }
    let (kind, _) = first.split_once('(')?;
    let rest: Vec<&str> = w.collect();
    let (action, vendor) = match kind {
        "DHCPDISCOVER" => ("discover", ""),
        "PXE" if rest.last() == Some(&"proxy") => ("proxy", "PXEClient"),
        "PXE" if rest.last() == Some(&"proxy-ignored") => ("ignored", "PXEClient"),
        _ => return None,
    };
    // the MAC is the first word that is one; an address may come before it
    let mac = rest.iter().find_map(|x| normalize_mac(x))?;
    let ip = rest
        .first()
        .filter(|x| valid_ipv4(x))
        .map(|x| x.to_string())
        .unwrap_or_default();
    Some(Event {
        time,
        kind: EventKind::Dhcp {
            action: action.into(),
            mac: mac.into(),
            ip: ip.into(),
            hostname: "".into(),
            vendor: vendor.into(),
        },
    })
}

fn lock(root: &Root, exclusive: bool) -> Result<nix::fcntl::Flock<File>> {
    let dir = root.path(DIR);
    std::fs::create_dir_all(&dir).ctx(|| format!("failed to create {}", dir.display()))?;
    let path = root.path(LOCK);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx(|| format!("failed to open {}", path.display()))?;
    let arg = if exclusive {
        nix::fcntl::FlockArg::LockExclusive
    } else {
        nix::fcntl::FlockArg::LockShared
    };
    nix::fcntl::Flock::lock(f, arg)
        .map_err(|(_, e)| Error::new(format!("failed to lock {}: {e}", path.display())))
}

/// Append one event to the log, rotating it first when it is full.
pub fn append(root: &Root, e: &Event) -> Result<()> {
    let _guard = lock(root, true)?;
    let log: PathBuf = root.path(LOG);
    let line = to_line(e);
    let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    if size + line.len() as u64 > MAX_FILE {
        let old = root.path(LOG_OLD);
        std::fs::rename(&log, &old)
            .ctx(|| format!("failed to rotate {} to {}", log.display(), old.display()))?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .ctx(|| format!("failed to open {}", log.display()))?;
    f.write_all(line.as_bytes())
        .ctx(|| format!("failed to write {}", log.display()))?;
    Ok(())
}

fn read_bounded(path: &std::path::Path) -> Result<String> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => {
            return Err(Error::new(format!(
                "failed to open {}: {e}",
                path.display()
            )));
        }
    };
    let mut buf = Vec::new();
    f.take(MAX_FILE + 4096)
        .read_to_end(&mut buf)
        .ctx(|| format!("failed to read {}", path.display()))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The log's text (rotated file first): parse it with [`parse_log`].
pub fn read_all(root: &Root) -> Result<String> {
    let _guard = lock(root, false)?;
    let mut text = read_bounded(&root.path(LOG_OLD))?;
    text.push_str(&read_bounded(&root.path(LOG))?);
    Ok(text)
}

/// dnsmasq's TFTP failures from syslog. On a router: `logread -t -e
/// dnsmasq-tftp`. Under --root the file DIR/tmp/rpinet/logread.txt stands in
/// for logread's output (a lab has no logd).
pub fn read_syslog_failures(root: &Root) -> Vec<Event<'static>> {
    if !root.is_live() {
        let p = root.path("/tmp/rpinet/logread.txt");
        return read_bounded(&p)
            .map(|t| parse_logread(&t))
            .unwrap_or_default();
    }
    let out = std::process::Command::new("logread")
        .args(["-t", "-e", "dnsmasq-"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => parse_logread(&String::from_utf8_lossy(&o.stdout)),
        _ => Vec::new(),
    }
}

/// Which MAC held an address when: from every lease event, so that a TFTP
/// request can be tied to its client even when syslog's line for it sorts
/// before the lease event of the same second.
pub struct IpMap<'a> {
    by_ip: std::collections::HashMap<&'a str, Vec<(u64, &'a str)>>,
}

impl<'a> IpMap<'a> {
    pub fn new(events: &'a [Event<'a>]) -> IpMap<'a> {
        let mut by_ip: std::collections::HashMap<&str, Vec<(u64, &str)>> =
            std::collections::HashMap::new();
        for e in events {
            if let EventKind::Dhcp {
                action, mac, ip, ..
            } = &e.kind
            {
                if !ip.is_empty() && action != "remove" && action != "del" {
                    by_ip.entry(&**ip).or_default().push((e.time, &**mac));
                }
            }
        }
        IpMap { by_ip }
    }

    /// The MAC that last leased `ip` up to a second after `time`.
    pub fn mac_at(&self, ip: &str, time: u64) -> Option<&'a str> {
        self.by_ip
            .get(ip)?
            .iter()
            .rev()
            .find(|(t, _)| *t <= time + 1)
            .map(|(_, m)| *m)
    }
}

/// What the system recorded about boots: the event log and syslog failures.
pub struct Gathered {
    text: String,
    syslog: Vec<Event<'static>>,
}

impl Gathered {
    /// Every event, in time order. Within one second syslog's lines come
    /// first: they are DHCP exchanges (which precede the transfers they allow)
    /// and failed requests (whose place in a boot the trace does not need).
    pub fn events(&self) -> Vec<Event<'_>> {
        let mut ev: Vec<Event<'_>> = self.syslog.to_vec();
        ev.extend(parse_log(&self.text));
        ev.sort_by_key(|e| e.time); // stable
        ev
    }
}

/// Read the event log and syslog's TFTP failures.
pub fn gather(root: &Root) -> Result<Gathered> {
    Ok(Gathered {
        text: read_all(root)?,
        syslog: read_syslog_failures(root),
    })
}

/// `rpinet event dhcp|tftp`: record what the hook's environment says.
pub fn record_from_env(root: &Root, kind: &str) -> Result<()> {
    let now = now();
    let env = |k: &str| std::env::var(k).ok();
    if let Some(e) = from_env(kind, &env, now)? {
        append(root, &e)?;
    }
    Ok(())
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        move |k: &str| v.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone())
    }

    #[test]
    fn dhcp_env_becomes_a_line_and_back() {
        let env = env_of(&[
            ("ACTION", "add"),
            ("MACADDR", "DC:A6:32:01:02:03"),
            ("IPADDR", "192.168.1.60"),
            ("HOSTNAME", "pi\tx\n"),
            ("DNSMASQ_VENDOR_CLASS", "PXEClient:Arch:00000:UNDI:002001"),
        ]);
        let e = from_env("dhcp", &env, 100).unwrap().unwrap();
        let line = to_line(&e);
        assert_eq!(
            line,
            "100\tdhcp\tadd\tdc:a6:32:01:02:03\t192.168.1.60\tpix\tPXEClient:Arch:00000:UNDI:002001\n"
        );
        assert_eq!(parse_line(&line), Some(e));
    }

    #[test]
    fn tftp_env_becomes_a_line_and_back() {
        let env = env_of(&[
            ("ACTION", "add"),
            ("TFTP_SIZE", "2228800"),
            ("TFTP_ADDR", "192.168.1.60"),
            ("TFTP_PATH", "/mnt/rpinet/tftp/91cdf03d/start4.elf"),
        ]);
        let e = from_env("tftp", &env, 7).unwrap().unwrap();
        assert_eq!(parse_line(&to_line(&e)), Some(e));
    }

    #[test]
    fn bad_env_is_refused_or_skipped() {
        assert!(from_env("dhcp", &env_of(&[("ACTION", "boom")]), 1).is_err());
        assert!(from_env("tftp", &env_of(&[]), 1).is_err());
        assert!(from_env("neigh", &env_of(&[]), 1).is_err());
        let replay = env_of(&[
            ("ACTION", "update"),
            ("MACADDR", "dc:a6:32:01:02:03"),
            ("IPADDR", "192.168.1.60"),
            ("HOSTNAME", "lion"),
            ("DNSMASQ_DATA_MISSING", "1"),
        ]);
        assert_eq!(from_env("dhcp", &replay, 1).unwrap(), None);
        let v6 = env_of(&[("ACTION", "add"), ("MACADDR", "x"), ("IPADDR", "fe80::1")]);
        assert_eq!(from_env("dhcp", &v6, 1).unwrap(), None);
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let t = "junk\n12\ttftp\tNaN\ta\tb\n5\ttftp\t1\ta\t/p\n\n9\tdhcp\tadd\n";
        let ev = parse_log(t);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].time, 5);
    }

    #[test]
    fn logread_lines_become_missing_events() {
        let t = "Wed Nov 25 03:00:12 2026 [1764039612.123] daemon.err dnsmasq-tftp[7]: file /mnt/rpinet/tftp/91cdf03d/kernel8.img not found for 192.168.1.60\n\
                 Wed Nov 25 03:00:13 2026 [1764039613.001] daemon.err dnsmasq-tftp[7]: file /srv/x/start4.elf not found\n\
                 Wed Nov 25 03:00:14 2026 [1764039614.001] daemon.err dnsmasq-tftp[7]: cannot access /mnt/rpinet/tftp/a/config.txt: Permission denied\n\
                 Wed Nov 25 03:00:15 2026 [1764039615.001] daemon.info dnsmasq-tftp[7]: sent /x to 1.2.3.4\n\
                 Wed Nov 25 03:00:15 2026 daemon.info dnsmasq-tftp[7]: sent /x to 1.2.3.4\n\
                 Wed Nov 25 03:00:16 2026 [1764039616.001] daemon.info dnsmasq-tftp[7]: failed sending /mnt/rpinet/tftp/a/initramfs8 to 192.168.1.61\n";
        let ev = parse_logread(t);
        assert_eq!(ev.len(), 4);
        assert_eq!(
            ev[3].kind,
            EventKind::Missing {
                addr: "192.168.1.61".into(),
                path: "/mnt/rpinet/tftp/a/initramfs8".into(),
                reason: TIMED_OUT.into()
            }
        );
        assert_eq!(
            ev[0],
            Event {
                time: 1764039612,
                kind: EventKind::Missing {
                    addr: "192.168.1.60".into(),
                    path: "/mnt/rpinet/tftp/91cdf03d/kernel8.img".into(),
                    reason: "not found".into()
                }
            }
        );
        assert!(matches!(&ev[1].kind, EventKind::Missing { addr, .. } if addr.is_empty()));
        assert!(
            matches!(&ev[2].kind, EventKind::Missing { reason, .. } if reason == "Permission denied")
        );
    }

    #[test]
    fn dhcp_log_lines_become_dhcp_events() {
        let t = "Wed Nov 25 03:00:12 2026 [1764039612.1] daemon.info dnsmasq-dhcp[7]: PXE(br-lan) dc:a6:32:01:02:03 proxy\n\
                 Wed Nov 25 03:00:12 2026 [1764039612.2] daemon.info dnsmasq-dhcp[7]: 2713259800 PXE(br-lan) DC:A6:32:01:02:04 proxy-ignored\n\
                 Wed Nov 25 03:00:12 2026 [1764039612.3] daemon.info dnsmasq-dhcp[7]: DHCPDISCOVER(br-lan) 10.0.0.5 dc:a6:32:01:02:05 no address available\n\
                 Wed Nov 25 03:00:12 2026 [1764039612.4] daemon.info dnsmasq-dhcp[7]: DHCPACK(br-lan) 10.0.0.6 dc:a6:32:01:02:06 lion\n\
                 Wed Nov 25 03:00:12 2026 [1764039612.5] daemon.info dnsmasq-dhcp[7]: 2713259800 vendor class: PXEClient:Arch:00000:UNDI:002001\n";
        let ev = parse_logread(t);
        let got: Vec<(String, String, String, String)> = ev
            .iter()
            .map(|e| match &e.kind {
                EventKind::Dhcp {
                    action,
                    mac,
                    ip,
                    vendor,
                    ..
                } => (
                    action.to_string(),
                    mac.to_string(),
                    ip.to_string(),
                    vendor.to_string(),
                ),
                _ => panic!("{e:?}"),
            })
            .collect();
        let want = [
            ("proxy", "dc:a6:32:01:02:03", "", "PXEClient"),
            ("ignored", "dc:a6:32:01:02:04", "", "PXEClient"),
            ("discover", "dc:a6:32:01:02:05", "10.0.0.5", ""),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1.as_str(), g.2.as_str(), g.3.as_str()), w);
        }
    }

    #[test]
    fn syslog_dates_are_read() {
        // logread without -t: ctime with the year
        let t = "Wed Nov 25 03:00:15 2026 daemon.err dnsmasq-tftp[7]: file /a/b not found\n\
                 Nov  5 00:00:01 dnsmasq-tftp[9]: file /c/d not found for 10.0.0.2\n\
                 Feb 30 00:00:01 dnsmasq-tftp[9]: file /bad/date not found\n";
        let ev = parse_logread_in(t, 1_795_600_000); // late 2026
        let jan = parse_logread_in(
            "Dec 31 23:59:00 dnsmasq-tftp[9]: file /x not found\n",
            1_798_848_000,
        ); // 2027-01-01
        assert_eq!(jan[0].time, 1_798_761_540); // 2026-12-31 23:59:00 UTC
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(ev[0].time, 1_795_575_615); // date -u -d '2026-11-25 03:00:15' +%s
        assert_eq!(ev[1].time, 1_793_836_801); // 2026-11-05 00:00:01 UTC
        assert_eq!(year_of(1_795_575_615), 2026);
        assert_eq!(year_of(0), 1970);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn the_log_is_bounded() {
        let dir = std::env::temp_dir().join(format!("rpinet-ev-{}", std::process::id()));
        let root = Root::under(&dir);
        let e = Event {
            time: 1,
            kind: EventKind::Tftp {
                size: 1,
                addr: "192.168.1.2".into(),
                path: "/mnt/rpinet/tftp/91cdf03d/overlays/some-long-overlay-name.dtbo".into(),
            },
        };
        let n = (MAX_TOTAL as usize / to_line(&e).len()) * 2;
        for _ in 0..n {
            append(&root, &e).unwrap();
        }
        let a = std::fs::metadata(root.path(LOG)).unwrap().len();
        let b = std::fs::metadata(root.path(LOG_OLD)).unwrap().len();
        assert!(a <= MAX_FILE && b <= MAX_FILE, "{a} {b}");
        let text = read_all(&root).unwrap();
        let all = parse_log(&text);
        assert!(all.len() as u64 * to_line(&e).len() as u64 > MAX_FILE);
        std::fs::remove_dir_all(&dir).ok();
    }
}
