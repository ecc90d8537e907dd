//! pisim: a simulated Raspberry Pi network bootloader for rpinet's lab.
//!
//! It does on one network interface what a Pi's bootloader does on its
//! Ethernet port: DHCP with the Pi's PXE options, then TFTP reads of its boot
//! files in the model's order, and prints a JSON report on stdout (progress
//! lines on stderr). Also simulates a laptop and an x86 PXE ROM, for the
//! negative cases.
//!
//! Exit status: 0 booted (kernel fetched; for a laptop: leased), 1 usage or
//! system error, 2 no "Raspberry Pi Boot" menu was offered, 3 TFTP failed,
//! 4 no lease.

mod boot;
mod dhcp;
mod net;
mod report;
mod tftp;

use std::time::Duration;

use boot::Limits;
use dhcp::{FourccOrder, Identity, Kind};
use report::Json;

const USAGE: &str = "usage: pisim [--iface IF] [--kind pi3|pi4|pi5|laptop|x86-pxe]
             [--serial HEX8] [--boot-id serial|mac|custom:DIR] [--fourcc new|old]
             [--board-rev HEX] [--offer-window-ms N] [--discover-wait-ms N]
             [--dhcp-tries N] [--tftp-timeout-ms N] [--tftp-retries N]
             [--file-timeout-ms N] [--resend yes|no] [--initramfs yes|no]
Runs on IF (default eth0, its own MAC). JSON report on stdout, progress on stderr.
Exit: 0 booted (laptop: leased), 1 error, 2 no boot menu, 3 TFTP failed, 4 no lease.";

/// The parsed command line.
#[derive(Debug)]
struct Args {
    iface: String,
    kind: Kind,
    serial: u32,
    boot_id: String,
    fourcc: FourccOrder,
    board_rev: Option<u32>,
    limits: Limits,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        iface: "eth0".into(),
        kind: Kind::Pi4,
        serial: 0x1234_5678,
        boot_id: "serial".into(),
        fourcc: FourccOrder::New,
        board_rev: None,
        limits: Limits::default(),
    };
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        let ms = || {
            value
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("{flag}: not a number of milliseconds: {value}"))
        };
        let hex = || {
            u32::from_str_radix(value.trim_start_matches("0x"), 16)
                .map_err(|_| format!("{flag}: not hex: {value}"))
        };
        match flag.as_str() {
            "--iface" => a.iface = value.to_string(),
            "--kind" => a.kind = Kind::parse(value).ok_or(format!("unknown kind {value}"))?,
            "--serial" => {
                // 16-digit serials: the bootloader uses the low 32 bits.
                let low = value.get(value.len().saturating_sub(8)..).unwrap_or("");
                a.serial = u32::from_str_radix(low, 16)
                    .map_err(|_| format!("--serial: not hex: {value}"))?;
            }
            "--boot-id" => {
                if !(value == "serial" || value == "mac" || value.starts_with("custom:")) {
                    return Err(format!("--boot-id: serial, mac or custom:DIR, not {value}"));
                }
                a.boot_id = value.to_string();
            }
            "--fourcc" => {
                a.fourcc = match value {
                    "new" => FourccOrder::New,
                    "old" => FourccOrder::Old,
                    _ => return Err(format!("--fourcc: new or old, not {value}")),
                }
            }
            "--board-rev" => a.board_rev = Some(hex()?),
            "--offer-window-ms" => a.limits.offer_window = ms()?,
            "--discover-wait-ms" => a.limits.discover_wait = ms()?,
            "--tftp-timeout-ms" => a.limits.tftp_timeout = ms()?,
            "--file-timeout-ms" => a.limits.file_timeout = ms()?,
            "--resend" | "--initramfs" => {
                let on = match value {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(format!("{flag}: yes or no, not {value}")),
                };
                if flag == "--resend" {
                    a.limits.resend = on;
                } else {
                    a.limits.initramfs = on;
                }
            }
            "--dhcp-tries" | "--tftp-retries" => {
                let n = value
                    .parse::<u32>()
                    .map_err(|_| format!("{flag}: not a number: {value}"))?;
                if flag == "--dhcp-tries" {
                    a.limits.dhcp_tries = n.max(1);
                } else {
                    a.limits.tftp_retries = n;
                }
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

/// The directory prefix the EEPROM's TFTP_PREFIX gives (with its '/').
fn prefix_for(boot_id: &str, serial: u32, mac: &[u8; 6]) -> String {
    match boot_id {
        "serial" => format!("{serial:08x}/"),
        "mac" => format!("{}/", dhcp::mac_string(mac, '-')),
        custom => {
            let dir = custom.trim_start_matches("custom:").trim_matches('/');
            if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            }
        }
    }
}

fn default_board_rev(kind: Kind) -> u32 {
    match kind {
        Kind::Pi3 => 0xa020d3,
        Kind::Pi5 => 0xd04170,
        _ => 0xd03114,
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("pisim: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(1);
        }
    };
    match run(&args) {
        Ok((report, code)) => {
            println!("{}", report.to_pretty());
            std::process::exit(code);
        }
        Err(e) => {
            eprintln!("pisim: {e}");
            std::process::exit(1);
        }
    }
}

fn run(args: &Args) -> Result<(Json, i32), String> {
    let mac = net::hwaddr(&args.iface)
        .map_err(|e| format!("failed to read the MAC of {}: {e}", args.iface))?;
    let id = Identity {
        kind: args.kind,
        mac,
        serial: args.serial,
        board_rev: args.board_rev.unwrap_or(default_board_rev(args.kind)),
        fourcc_order: args.fourcc,
    };
    let sock = net::udp_on(&args.iface, 68)
        .map_err(|e| format!("failed to open the DHCP socket on {}: {e}", args.iface))?;
    let d = boot::run_dhcp(&sock, &id, &args.limits);
    drop(sock);

    let mut report = Json::obj()
        .with("kind", args.kind.name())
        .with("iface", args.iface.as_str())
        .with("mac", dhcp::mac_string(&mac, ':'))
        .with("serial", format!("{:08x}", args.serial))
        .with("guid", dhcp::guid(&id).map(|g| dhcp::hex(&g)));
    let replies: Vec<Json> = d
        .replies
        .iter()
        .map(|(from, r)| boot::reply_json(from, r))
        .collect();
    let lease = d.lease.as_ref().map(|l| {
        Json::obj()
            .with("ip", l.ip.to_string())
            .with("netmask", l.netmask.to_string())
            .with("server", l.server.map(|s| s.to_string()))
    });
    let tftp_server = d.menu.as_ref().and_then(dhcp::tftp_server);
    let menu_text = d
        .menu
        .as_ref()
        .and_then(|r| r.pxe.as_ref())
        .and_then(|p| p.menu.first())
        .map(|m| String::from_utf8_lossy(&m.text).into_owned());
    report = report.with(
        "dhcp",
        Json::obj()
            .with("replies", replies)
            .with("lease", lease.unwrap_or(Json::Null))
            .with("boot_menu", d.menu.is_some())
            .with("menu_text", menu_text.clone())
            .with("tftp_server", tftp_server.map(|s| s.to_string())),
    );

    // One line for people: what this machine got, printed whatever the outcome.
    let summary = |result: &str, tail: &str| {
        let lease = d.lease.as_ref().map_or("no lease".to_string(), |l| {
            let from = l.server.map_or("?".to_string(), |s| s.to_string());
            format!("lease {} from {from}", l.ip)
        });
        let menu = menu_text
            .as_ref()
            .map_or("no boot menu".to_string(), |m| format!("menu {m:?}"));
        eprintln!(
            "pisim {} {}: RESULT {result}: {lease}, {menu}{tail}",
            args.kind.name(),
            dhcp::mac_string(&mac, ':')
        );
    };

    let Some(lease) = d.lease.clone() else {
        summary("no lease", "");
        return Ok((report.with("result", "no lease"), 4));
    };
    if args.kind == Kind::Laptop {
        summary("leased", "");
        return Ok((report.with("result", "leased"), 0));
    }
    if d.menu.is_none() || !args.kind.is_pi() {
        let (result, code) = if d.menu.is_some() {
            ("boot menu", 0)
        } else {
            ("no boot menu", 2)
        };
        summary(result, "");
        return Ok((report.with("result", result), code));
    }
    let Some(server) = tftp_server else {
        summary("no tftp server", "");
        return Ok((report.with("result", "no tftp server"), 3));
    };

    net::set_address(&args.iface, lease.ip, lease.netmask)
        .map_err(|e| format!("failed to set {} on {}: {e}", lease.ip, args.iface))?;
    eprintln!(
        "pisim {} {}: NET {} {} tftp {server}",
        args.kind.name(),
        dhcp::mac_string(&mac, ':'),
        lease.ip,
        lease.netmask
    );
    let wanted = prefix_for(&args.boot_id, args.serial, &mac);
    let open = || net::udp_on(&args.iface, 0);
    let t = boot::run_tftp(&open, &id, server, &wanted, &args.limits);
    let files: Vec<Json> = t.files.iter().map(boot::file_json).collect();
    let code = if t.kernel_ok { 0 } else { 3 };
    let result = if t.kernel_ok { "booted" } else { "tftp failed" };
    let needed: Vec<_> = t.files.iter().filter(|f| !f.optional).collect();
    let ok = needed
        .iter()
        .filter(|f| f.status == boot::Status::Ok)
        .count();
    let dir = if t.prefix.is_empty() {
        "the TFTP root".to_string()
    } else {
        format!("{server}:{}", t.prefix)
    };
    summary(result, &format!(", {ok}/{} files from {dir}", needed.len()));
    report = report
        .with("prefix_wanted", t.prefix_wanted.as_str())
        .with("prefix", t.prefix.as_str())
        .with("files", files)
        .with("result", result);
    Ok((report, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Args, String> {
        parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn prefixes_per_boot_id() {
        let mac = [0xdc, 0xa6, 0x32, 0x79, 0x26, 0xdf];
        assert_eq!(prefix_for("serial", 0x0c8f7e5c, &mac), "0c8f7e5c/");
        assert_eq!(prefix_for("mac", 1, &mac), "dc-a6-32-79-26-df/");
        assert_eq!(prefix_for("custom:lion", 1, &mac), "lion/");
        assert_eq!(prefix_for("custom:", 1, &mac), "");
    }

    #[test]
    fn parses_the_command_line() {
        let a = args(&[
            "--kind",
            "pi5",
            "--serial",
            "9d00ce41d137e638",
            "--boot-id",
            "mac",
        ])
        .unwrap();
        assert_eq!(a.kind, Kind::Pi5);
        assert_eq!(a.serial, 0xd137e638);
        assert_eq!(a.boot_id, "mac");
        assert!(args(&["--kind"]).is_err());
        assert!(args(&["--kind", "pi9"]).is_err());
        assert!(args(&["--boot-id", "x"]).is_err());
        assert!(args(&["--serial", "zz"]).is_err());
        assert!(args(&["--bogus", "1"]).is_err());
    }
}
