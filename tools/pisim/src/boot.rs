//! The boot sequence of one simulated client: DHCP (DISCOVER, collect
//! OFFERs, REQUEST, ACK), then the TFTP requests of its model. Every wait is
//! bounded; the outcome is data that `main` turns into the JSON report.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use crate::dhcp::{self, Identity, Kind, Reply};
use crate::net;
use crate::report::Json;
use crate::tftp::{self, Packet};

/// Timing and retry limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long to wait for the first OFFER of a DISCOVER (DHCP_REQ_TIMEOUT).
    pub discover_wait: Duration,
    /// How long to keep collecting OFFERs after the first one.
    pub offer_window: Duration,
    /// DISCOVER rounds before giving up.
    pub dhcp_tries: u32,
    /// Wait for one TFTP packet before resending.
    pub tftp_timeout: Duration,
    /// Resends of one TFTP packet before the transfer fails.
    pub tftp_retries: u32,
    /// Cap on one file (TFTP_FILE_TIMEOUT).
    pub file_timeout: Duration,
    /// Re-send a read request nobody answered (as the loader does); off, the request is
    /// sent once and waited on until the file timeout.
    pub resend: bool,
    /// Ask for initramfs8 after the kernel (Raspberry Pi OS's auto_initramfs).
    pub initramfs: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            discover_wait: Duration::from_millis(4000),
            offer_window: Duration::from_millis(800),
            dhcp_tries: 3,
            tftp_timeout: Duration::from_millis(1000),
            tftp_retries: 4,
            file_timeout: Duration::from_secs(30),
            resend: true,
            initramfs: false,
        }
    }
}

/// Print one progress line on stderr, the way the bootloader's UART does.
fn say(id: &Identity, msg: &str) {
    eprintln!(
        "pisim {} {}: {msg}",
        id.kind.name(),
        dhcp::mac_string(&id.mac, ':')
    );
}

/// What the DHCP phase ended with.
#[derive(Debug, Default)]
pub struct DhcpOutcome {
    pub replies: Vec<(SocketAddr, Reply)>,
    pub lease: Option<Lease>,
    /// The reply whose "Raspberry Pi Boot" menu the Pi acts on.
    pub menu: Option<Reply>,
}

#[derive(Debug, Clone)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub netmask: Ipv4Addr,
    pub server: Option<Ipv4Addr>,
}

fn recv_reply(
    sock: &UdpSocket,
    until: Instant,
    xid: u32,
    mac: &[u8; 6],
) -> Option<(SocketAddr, Reply)> {
    let mut buf = [0u8; 1500];
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
            return None;
        }
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Some(r) = buf.get(..n).and_then(dhcp::decode_reply)
                    && r.xid == xid
                    && &r.chaddr == mac
                {
                    return Some((from, r));
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return None;
            }
            Err(_) => return None,
        }
    }
}

fn describe(r: &Reply) -> String {
    let ip = |o: Option<Ipv4Addr>| o.map_or("-".to_string(), |i| i.to_string());
    let menu = r
        .pxe
        .as_ref()
        .and_then(|p| p.menu.first())
        .map_or("-".to_string(), |m| {
            format!("{:?}", String::from_utf8_lossy(&m.text))
        });
    format!(
        "DHCP {} yiaddr {} siaddr {} server-id {} opt66 {} opt60 {} menu {}",
        dhcp::message_name(r.msg_type),
        ip(r.yiaddr),
        ip(r.siaddr),
        ip(r.server_id),
        r.tftp_server
            .as_deref()
            .map_or("-", |s| s.trim_end_matches('\0')),
        r.vendor_class.as_deref().unwrap_or("-"),
        menu
    )
}

const BROADCAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);

/// DISCOVER → OFFERs → REQUEST → ACK, with bounded waits and retries.
pub fn run_dhcp(sock: &UdpSocket, id: &Identity, lim: &Limits) -> DhcpOutcome {
    let mut out = DhcpOutcome::default();
    for attempt in 0..lim.dhcp_tries {
        let xid = net::random_u32();
        let discover = dhcp::encode_request(id, xid, dhcp::DISCOVER, None, None);
        if let Err(e) = sock.send_to(&discover, BROADCAST) {
            say(id, &format!("DHCP DISCOVER send failed: {e}"));
            std::thread::sleep(lim.tftp_timeout);
            continue;
        }
        say(
            id,
            &format!("DHCP DISCOVER xid {xid:08x} (try {})", attempt + 1),
        );

        // Collect OFFERs: wait for the first, then a short window for more
        // (a proxy server and the leasing server answer separately).
        let mut offers: Vec<(SocketAddr, Reply)> = Vec::new();
        let mut until = Instant::now() + lim.discover_wait;
        while let Some((from, r)) = recv_reply(sock, until, xid, &id.mac) {
            if r.msg_type != dhcp::OFFER {
                continue;
            }
            say(id, &format!("from {from}: {}", describe(&r)));
            if offers.is_empty() {
                until = Instant::now() + lim.offer_window;
            }
            offers.push((from, r));
            let leased = offers.iter().any(|(_, o)| o.yiaddr.is_some());
            let menu = offers.iter().any(|(_, o)| dhcp::has_pi_menu(o));
            if leased && (menu || id.kind == Kind::Laptop) {
                break;
            }
        }
        out.replies.extend(offers.iter().cloned());
        if out.menu.is_none() {
            out.menu = offers
                .iter()
                .find(|(_, o)| dhcp::has_pi_menu(o))
                .map(|(_, o)| o.clone());
        }
        let Some((_, offer)) = offers.iter().find(|(_, o)| o.yiaddr.is_some()) else {
            say(id, "DHCP no OFFER with an address");
            continue;
        };
        let (Some(yiaddr), server) = (offer.yiaddr, offer.server_id) else {
            continue;
        };

        let request = dhcp::encode_request(id, xid, dhcp::REQUEST, Some(yiaddr), server);
        for _ in 0..2 {
            if sock.send_to(&request, BROADCAST).is_err() {
                continue;
            }
            say(id, &format!("DHCP REQUEST {yiaddr}"));
            let until = Instant::now() + lim.discover_wait / 2;
            while let Some((from, r)) = recv_reply(sock, until, xid, &id.mac) {
                if r.msg_type != dhcp::ACK && r.msg_type != dhcp::NAK {
                    continue;
                }
                if server.is_some() && r.server_id.is_some() && r.server_id != server {
                    continue; // another server's answer to our broadcast
                }
                say(id, &format!("from {from}: {}", describe(&r)));
                out.replies.push((from, r.clone()));
                if r.msg_type == dhcp::NAK {
                    break;
                }
                if dhcp::has_pi_menu(&r) {
                    out.menu = Some(r.clone());
                }
                out.lease = Some(Lease {
                    ip: r.yiaddr.unwrap_or(yiaddr),
                    netmask: r
                        .netmask
                        .or(offer.netmask)
                        .unwrap_or(Ipv4Addr::new(255, 255, 255, 0)),
                    server: r.server_id.or(server),
                });
                return out;
            }
        }
    }
    out
}

/// How one file request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok,
    NotFound,
    Error(String),
}

#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: String,
    pub probe: bool,
    pub optional: bool,
    pub status: Status,
    /// The first [`KEEP`] bytes (enough for the text checks; boot files run to 12 MB).
    pub data: Vec<u8>,
    /// Bytes received in all.
    pub bytes: u64,
    pub tsize: Option<u64>,
    /// When the request went out and how long the file took, in ms from the TFTP phase's start.
    pub start_ms: u64,
    pub ms: u64,
}

/// Bytes of each file kept for the report.
pub const KEEP: usize = 4097;

/// Read one file over TFTP. `probe`: stop after the size answer, the way the
/// bootloader early-terminates its existence checks.
pub fn fetch(
    sock: &UdpSocket,
    server: Ipv4Addr,
    path: &str,
    blksize: Option<usize>,
    probe: bool,
    lim: &Limits,
) -> (Status, Vec<u8>, Option<u64>) {
    let mut opts = vec![("tsize", "0".to_string())];
    if let Some(b) = blksize {
        opts.push(("blksize", b.to_string()));
    }
    let rrq = tftp::rrq(path, &opts);
    let mut dest = SocketAddr::V4(SocketAddrV4::new(server, 69));
    let mut tid: Option<SocketAddr> = None;
    let mut last = rrq;
    let mut block_size = 512usize;
    let mut expect: u16 = 1;
    let mut data = Vec::new();
    let mut bytes = 0u64;
    let mut tsize = None;
    let mut retries = lim.tftp_retries;
    let deadline = Instant::now() + lim.file_timeout;
    let mut buf = vec![0u8; 65536];

    if let Err(e) = sock.send_to(&last, dest) {
        return (Status::Error(format!("send failed: {e}")), data, tsize);
    }
    loop {
        let now = Instant::now();
        if now >= deadline {
            return (Status::Error("file timeout".into()), data, tsize);
        }
        let wait = lim.tftp_timeout.min(deadline - now);
        if sock.set_read_timeout(Some(wait)).is_err() {
            return (
                Status::Error("socket timeout setup failed".into()),
                data,
                tsize,
            );
        }
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => {
                if tid.is_none() && !lim.resend {
                    continue; // the request went out once; wait for the file timeout
                }
                if retries == 0 {
                    return (Status::Error("timeout".into()), data, tsize);
                }
                retries -= 1;
                let _ = sock.send_to(&last, dest);
                continue;
            }
        };
        if from.ip() != std::net::IpAddr::V4(server) {
            continue;
        }
        match tid {
            None => {
                tid = Some(from);
                dest = from;
            }
            Some(t) if t != from => {
                let _ = sock.send_to(&tftp::error(5, "Unknown transfer ID"), from);
                continue;
            }
            Some(_) => {}
        }
        let Some(pkt) = buf.get(..n).and_then(tftp::decode) else {
            continue;
        };
        retries = lim.tftp_retries;
        match pkt {
            Packet::Oack(o) => {
                for (k, v) in &o {
                    match k.as_str() {
                        "tsize" => tsize = v.parse().ok(),
                        "blksize" => block_size = v.parse().unwrap_or(512),
                        _ => {}
                    }
                }
                if probe {
                    let _ = sock.send_to(&tftp::error(0, "Early terminate"), dest);
                    return (Status::Ok, data, tsize);
                }
                last = tftp::ack(0);
                let _ = sock.send_to(&last, dest);
            }
            Packet::Data { block, data: d } => {
                if probe {
                    let _ = sock.send_to(&tftp::error(0, "Early terminate"), dest);
                    return (Status::Ok, data, tsize);
                }
                if block == expect {
                    let room = KEEP.saturating_sub(data.len()).min(d.len());
                    data.extend_from_slice(&d[..room]);
                    bytes += d.len() as u64;
                    last = tftp::ack(block);
                    let _ = sock.send_to(&last, dest);
                    expect = expect.wrapping_add(1);
                    if d.len() < block_size {
                        // a stale transfer's bytes would not match the size announced
                        if tsize.is_some_and(|t| t != bytes) {
                            let why = format!("{bytes} bytes, tsize said {}", tsize.unwrap_or(0));
                            return (Status::Error(why), data, tsize);
                        }
                        return (Status::Ok, data, Some(bytes));
                    }
                } else if block == expect.wrapping_sub(1) {
                    let _ = sock.send_to(&last, dest); // our ACK was lost
                }
            }
            Packet::Error { code, message } => {
                return if code == 1 {
                    (Status::NotFound, data, tsize)
                } else {
                    (
                        Status::Error(format!("error {code}: {message}")),
                        data,
                        tsize,
                    )
                };
            }
        }
    }
}

/// What the TFTP phase ended with.
#[derive(Debug, Default)]
pub struct TftpOutcome {
    pub prefix_wanted: String,
    pub prefix: String,
    pub files: Vec<Fetched>,
    pub kernel_ok: bool,
}

/// The TFTP phase of a Pi: ROM files, prefix probe, then its boot files.
pub fn run_tftp(
    open: &dyn Fn() -> std::io::Result<UdpSocket>,
    id: &Identity,
    server: Ipv4Addr,
    prefix_wanted: &str,
    lim: &Limits,
) -> TftpOutcome {
    let blk = tftp::blksize(id.kind);
    let mac = dhcp::mac_string(&id.mac, ':');
    let mut out = TftpOutcome {
        prefix_wanted: prefix_wanted.to_string(),
        ..TftpOutcome::default()
    };
    let t0 = Instant::now();
    let get = |out: &mut TftpOutcome, path: String, probe: bool, optional: bool| {
        say(id, &format!("TFTP_GET: {mac} {server} {path}"));
        let start = t0.elapsed();
        // a new source port for every request, as the loader does: a late answer to an
        // earlier request never lands in this one
        let (status, data, tsize) = match open() {
            Ok(sock) => fetch(&sock, server, &path, blk, probe, lim),
            Err(e) => (Status::Error(format!("socket: {e}")), Vec::new(), None),
        };
        let ms = (t0.elapsed() - start).as_millis() as u64;
        let shown = match &status {
            Status::Ok if probe => format!("found (tsize {})", tsize.unwrap_or(0)),
            Status::Ok => format!("complete {}", tsize.unwrap_or(data.len() as u64)),
            Status::NotFound => "not found".to_string(),
            Status::Error(e) => format!("error: {e}"),
        };
        say(id, &format!("TFTP {path}: {shown}"));
        out.files.push(Fetched {
            path,
            probe,
            optional,
            status: status.clone(),
            bytes: match status {
                Status::Ok if !probe => tsize.unwrap_or(data.len() as u64),
                _ => 0,
            },
            data,
            tsize,
            start_ms: start.as_millis() as u64,
            ms,
        });
        status
    };
    for step in tftp::rom_steps(id.kind) {
        let path = tftp::full_path("", &step);
        get(&mut out, path, step.probe, step.optional);
    }
    out.prefix = prefix_wanted.to_string();
    if let Some(probe) = tftp::prefix_probe(id.kind)
        && !prefix_wanted.is_empty()
    {
        let st = get(&mut out, format!("{prefix_wanted}{probe}"), true, false);
        if st != Status::Ok {
            say(
                id,
                "prefix not bootable: dropped, reading from the TFTP root",
            );
            out.prefix.clear();
        }
    }
    let mut steps = tftp::boot_steps(id.kind);
    if lim.initramfs {
        steps.extend(tftp::initramfs(id.kind));
    }
    for step in steps {
        let path = tftp::full_path(&out.prefix.clone(), &step);
        let st = get(&mut out, path, step.probe, step.optional);
        if Some(step.file) == tftp::kernel(id.kind) {
            out.kernel_ok = st == Status::Ok;
        }
        if !step.optional && matches!(st, Status::Error(_)) {
            break; // a dead server: do not wait out every other file
        }
    }
    out
}

/// The first bytes of a small file, when it is text (for content checks).
pub fn text_head(data: &[u8]) -> Option<String> {
    if data.len() > 4096 {
        return None;
    }
    let head = &data[..data.len().min(256)];
    let s = match std::str::from_utf8(head) {
        Ok(s) => s,
        // cut inside a multi-byte character: keep the whole ones
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    if s.chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t')
    {
        Some(s.to_string())
    } else {
        None
    }
}

pub fn reply_json(from: &SocketAddr, r: &Reply) -> Json {
    let ip = |o: Option<Ipv4Addr>| o.map(|i| i.to_string());
    let pxe = r.pxe.as_ref().map(|p| {
        let sub: Vec<Json> = p
            .sub
            .iter()
            .map(|(c, d)| {
                Json::obj()
                    .with("code", *c as i64)
                    .with("hex", dhcp::hex(d))
            })
            .collect();
        let menu: Vec<Json> = p
            .menu
            .iter()
            .map(|m| {
                Json::obj()
                    .with("type", m.boot_type as i64)
                    .with("text", String::from_utf8_lossy(&m.text).into_owned())
                    .with("hex", dhcp::hex(&m.text))
            })
            .collect();
        Json::obj().with("sub", sub).with("menu", menu)
    });
    Json::obj()
        .with("type", dhcp::message_name(r.msg_type))
        .with("from", from.to_string())
        .with("yiaddr", ip(r.yiaddr))
        .with("siaddr", ip(r.siaddr))
        .with("server_id", ip(r.server_id))
        .with("netmask", ip(r.netmask))
        .with("opt66", r.tftp_server.clone())
        .with("opt60", r.vendor_class.clone())
        .with("opt43", pxe.unwrap_or(Json::Null))
        .with("pi_menu", dhcp::has_pi_menu(r))
}

pub fn file_json(f: &Fetched) -> Json {
    let status = match &f.status {
        Status::Ok => "ok",
        Status::NotFound => "not found",
        Status::Error(_) => "error",
    };
    let err = match &f.status {
        Status::Error(e) => Some(e.clone()),
        _ => None,
    };
    Json::obj()
        .with("path", f.path.as_str())
        .with("status", status)
        .with("probe", f.probe)
        .with("optional", f.optional)
        .with("bytes", f.bytes as i64)
        .with("start_ms", f.start_ms as i64)
        .with("ms", f.ms as i64)
        .with("tsize", f.tsize.map(|t| t as i64))
        .with("text", if f.probe { None } else { text_head(&f.data) })
        .with("error", err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_head_only_for_small_text() {
        assert_eq!(
            text_head(b"console=serial0 node=lion\n").as_deref(),
            Some("console=serial0 node=lion\n")
        );
        assert_eq!(text_head(&[0u8, 1, 2]), None);
        assert_eq!(text_head(&[b'a'; 5000]), None);
        assert_eq!(text_head(&[b'a'; 300]).map(|s| s.len()), Some(256));
    }
}
