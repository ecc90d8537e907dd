//! DHCP packets as the simulated clients send them, and the decoding of the
//! replies (RFC 2131/2132, PXE option 43 from RFC 4578 / the PXE spec).
//!
//! Pure functions only: the socket work lives in `net`. What each model puts
//! in its requests follows docs/facts.md §1.1.

use std::net::Ipv4Addr;

/// The kind of machine being simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pi3,
    Pi4,
    Pi5,
    /// A plain DHCP client with no PXE options.
    Laptop,
    /// An x86 BIOS PXE ROM: the same option 60 as a Pi, a GUID without FourCC.
    X86Pxe,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "pi3" => Some(Kind::Pi3),
            "pi4" => Some(Kind::Pi4),
            "pi5" => Some(Kind::Pi5),
            "laptop" => Some(Kind::Laptop),
            "x86-pxe" => Some(Kind::X86Pxe),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Pi3 => "pi3",
            Kind::Pi4 => "pi4",
            Kind::Pi5 => "pi5",
            Kind::Laptop => "laptop",
            Kind::X86Pxe => "x86-pxe",
        }
    }

    pub fn is_pi(self) -> bool {
        matches!(self, Kind::Pi3 | Kind::Pi4 | Kind::Pi5)
    }

    pub fn is_pxe(self) -> bool {
        self != Kind::Laptop
    }
}

/// Byte order of the FourCC in option 97 (both are seen in the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FourccOrder {
    /// Current loaders: `34 69 50 52` ("4iPR").
    New,
    /// Older Pi 4 loaders: `52 50 69 34` ("RPi4").
    Old,
}

/// Everything that identifies the simulated client on the wire.
#[derive(Debug, Clone)]
pub struct Identity {
    pub kind: Kind,
    pub mac: [u8; 6],
    /// Low 32 bits of the board serial.
    pub serial: u32,
    pub board_rev: u32,
    pub fourcc_order: FourccOrder,
}

pub const VENDOR_CLASS: &str = "PXEClient:Arch:00000:UNDI:002001";
pub const MAGIC: [u8; 4] = [99, 130, 83, 99];

pub const DISCOVER: u8 = 1;
pub const OFFER: u8 = 2;
pub const REQUEST: u8 = 3;
pub const ACK: u8 = 5;
pub const NAK: u8 = 6;

pub fn message_name(t: u8) -> &'static str {
    match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        _ => "UNKNOWN",
    }
}

/// The 17-byte client GUID (option 97) this identity sends, if any.
pub fn guid(id: &Identity) -> Option<Vec<u8>> {
    let serial = id.serial.to_le_bytes();
    match id.kind {
        Kind::Laptop => None,
        Kind::Pi3 => {
            // Pi 3B+ ROM: type 0, then the serial (little-endian) four times.
            let mut g = vec![0u8];
            for _ in 0..4 {
                g.extend_from_slice(&serial);
            }
            Some(g)
        }
        Kind::Pi4 | Kind::Pi5 => {
            let digit = if id.kind == Kind::Pi4 { b'4' } else { b'5' };
            let fourcc = match id.fourcc_order {
                FourccOrder::New => [digit, b'i', b'P', b'R'],
                FourccOrder::Old => [b'R', b'P', b'i', digit],
            };
            let mut g = vec![0u8];
            g.extend_from_slice(&fourcc);
            g.extend_from_slice(&id.board_rev.to_le_bytes());
            g.extend_from_slice(&id.mac[2..6]);
            g.extend_from_slice(&serial);
            Some(g)
        }
        Kind::X86Pxe => {
            // An SMBIOS UUID: nothing Pi-like in it, derived from the MAC so
            // runs are repeatable.
            let mut g = vec![0u8];
            g.extend_from_slice(&[0x4c, 0x4c, 0x45, 0x44, 0x00, 0x10, 0x80, 0x31]);
            g.extend_from_slice(&[0x80, 0x00]);
            g.extend_from_slice(&id.mac);
            Some(g)
        }
    }
}

/// The parameter request list (option 55) of each kind (docs/facts.md §1.1).
pub fn parameter_list(kind: Kind) -> Vec<u8> {
    let pxe_tail = [128u8, 129, 130, 131, 132, 133, 134, 135];
    match kind {
        Kind::Pi3 => {
            let mut v = vec![1, 3, 43, 60, 67];
            v.extend_from_slice(&pxe_tail);
            v.push(66);
            v
        }
        Kind::Pi4 | Kind::Pi5 => {
            let mut v = vec![1, 3, 43, 60, 66, 67];
            v.extend_from_slice(&pxe_tail);
            v
        }
        Kind::Laptop => vec![1, 3, 6, 12, 15, 28, 51, 58, 59, 119],
        Kind::X86Pxe => {
            let mut v = vec![
                1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 66, 67,
            ];
            v.extend_from_slice(&pxe_tail);
            v
        }
    }
}

/// Build a DISCOVER (`requested` and `server` None) or a REQUEST.
pub fn encode_request(
    id: &Identity,
    xid: u32,
    msg_type: u8,
    requested: Option<Ipv4Addr>,
    server: Option<Ipv4Addr>,
) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 1; // BOOTREQUEST
    p[1] = 1; // Ethernet
    p[2] = 6;
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[10] = 0x80; // broadcast flag: we have no address to receive unicast on
    p[28..34].copy_from_slice(&id.mac);
    p.extend_from_slice(&MAGIC);

    let mut opt = |code: u8, data: &[u8]| {
        p.push(code);
        p.push(data.len() as u8);
        p.extend_from_slice(data);
    };
    opt(53, &[msg_type]);
    if let Some(ip) = requested {
        opt(50, &ip.octets());
    }
    if let Some(ip) = server {
        opt(54, &ip.octets());
    }
    if id.kind == Kind::Laptop {
        let mut cid = vec![1u8];
        cid.extend_from_slice(&id.mac);
        opt(61, &cid);
        opt(12, b"laptop");
    } else {
        opt(57, &1500u16.to_be_bytes());
    }
    opt(55, &parameter_list(id.kind));
    if id.kind.is_pxe() {
        opt(93, &[0, 0]);
        opt(94, &[1, 2, 1]);
        if let Some(g) = guid(id) {
            opt(97, &g);
        }
        opt(60, VENDOR_CLASS.as_bytes());
    }
    p.push(255);
    // Some servers ignore requests shorter than a BOOTP packet (300 bytes).
    while p.len() < 300 {
        p.push(0);
    }
    p
}

/// One item of the PXE boot menu (option 43, sub-option 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    pub boot_type: u16,
    /// The description, byte for byte (trailing spaces kept).
    pub text: Vec<u8>,
}

/// Option 43 decoded as PXE sub-options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pxe {
    /// Every sub-option as (code, data).
    pub sub: Vec<(u8, Vec<u8>)>,
    pub menu: Vec<MenuItem>,
}

/// A decoded server reply.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub msg_type: u8,
    pub xid: u32,
    pub chaddr: [u8; 6],
    pub yiaddr: Option<Ipv4Addr>,
    pub siaddr: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub router: Option<Ipv4Addr>,
    /// Option 66 as text (the Pi wants a dotted quad there).
    pub tftp_server: Option<String>,
    pub vendor_class: Option<String>,
    pub pxe: Option<Pxe>,
    pub options: Vec<(u8, Vec<u8>)>,
}

fn nonzero(ip: Ipv4Addr) -> Option<Ipv4Addr> {
    if ip.is_unspecified() { None } else { Some(ip) }
}

fn ip4(data: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = data.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

/// Parse a DHCP options area (after the magic cookie) into (code, data).
/// Malformed tails are ignored: the client is as lenient as the bootloader.
pub fn parse_options(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some((&code, rest)) = b.split_first() {
        match code {
            0 => b = rest,
            255 => break,
            _ => {
                let Some((&len, rest)) = rest.split_first() else {
                    break;
                };
                let Some(data) = rest.get(..len as usize) else {
                    break;
                };
                out.push((code, data.to_vec()));
                b = &rest[len as usize..];
            }
        }
    }
    out
}

/// Decode option 43 as PXE vendor sub-options.
pub fn decode_pxe(data: &[u8]) -> Pxe {
    let sub = parse_options(data);
    let mut menu = Vec::new();
    for (code, d) in &sub {
        if *code == 9 {
            let mut m: &[u8] = d;
            while m.len() >= 3 {
                let boot_type = u16::from_be_bytes([m[0], m[1]]);
                let len = m[2] as usize;
                let Some(text) = m.get(3..3 + len) else { break };
                menu.push(MenuItem {
                    boot_type,
                    text: text.to_vec(),
                });
                m = &m[3 + len..];
            }
        }
    }
    Pxe { sub, menu }
}

/// Decode a BOOTREPLY; None when it is not a DHCP reply at all.
pub fn decode_reply(p: &[u8]) -> Option<Reply> {
    if p.len() < 240 || p[0] != 2 || p.get(236..240)? != MAGIC {
        return None;
    }
    let mut r = Reply {
        xid: u32::from_be_bytes(p[4..8].try_into().ok()?),
        chaddr: p[28..34].try_into().ok()?,
        yiaddr: nonzero(ip4(&p[16..20])?),
        siaddr: nonzero(ip4(&p[20..24])?),
        options: parse_options(&p[240..]),
        ..Reply::default()
    };
    for (code, d) in r.options.clone() {
        match code {
            53 => r.msg_type = d.first().copied().unwrap_or(0),
            54 => r.server_id = ip4(&d),
            1 => r.netmask = ip4(&d),
            3 => r.router = ip4(&d),
            66 => r.tftp_server = Some(String::from_utf8_lossy(&d).into_owned()),
            60 => r.vendor_class = Some(String::from_utf8_lossy(&d).into_owned()),
            43 => r.pxe = Some(decode_pxe(&d)),
            _ => {}
        }
    }
    if r.msg_type == 0 {
        return None;
    }
    Some(r)
}

/// The menu text the Pi looks for (later loaders match it as a substring).
pub const PI_MENU: &[u8] = b"Raspberry Pi Boot";

/// True when a reply carries the pseudo-PXE "Raspberry Pi Boot" menu the
/// bootloader needs: option 60 `PXEClient` and a menu item naming it.
pub fn has_pi_menu(r: &Reply) -> bool {
    let class_ok = r
        .vendor_class
        .as_deref()
        .is_some_and(|c| c.starts_with("PXEClient"));
    let menu_ok = r.pxe.as_ref().is_some_and(|p| {
        p.menu
            .iter()
            .any(|m| m.text.windows(PI_MENU.len()).any(|w| w == PI_MENU))
    });
    class_ok && menu_ok
}

/// The TFTP server a Pi takes from a reply with the menu: option 66 (a
/// dotted quad), else siaddr, else the server identifier (docs/facts.md §1.2).
pub fn tftp_server(r: &Reply) -> Option<Ipv4Addr> {
    if let Some(s) = &r.tftp_server
        && let Ok(ip) = s.trim_end_matches('\0').parse()
    {
        return Some(ip);
    }
    r.siaddr.or(r.server_id)
}

pub fn mac_string(mac: &[u8; 6], sep: char) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(&sep.to_string())
}

pub fn hex(b: &[u8]) -> String {
    let parts: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pi4(order: FourccOrder) -> Identity {
        Identity {
            kind: Kind::Pi4,
            mac: [0xe4, 0x5f, 0x01, 0x09, 0x02, 0xf7],
            serial: 0x91cdf03d,
            board_rev: 0xd03114,
            fourcc_order: order,
        }
    }

    fn option(p: &[u8], code: u8) -> Option<Vec<u8>> {
        parse_options(&p[240..])
            .into_iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d)
    }

    #[test]
    fn pi4_guid_matches_the_real_log() {
        // pipxe log: 00:34:69:50:52:14:31:d0:00:01:09:02:f7:3d... (docs/facts.md §1.1)
        let g = guid(&pi4(FourccOrder::New)).unwrap();
        assert_eq!(
            g,
            [
                0x00, 0x34, 0x69, 0x50, 0x52, 0x14, 0x31, 0xd0, 0x00, 0x01, 0x09, 0x02, 0xf7, 0x3d,
                0xf0, 0xcd, 0x91
            ]
        );
        let old = guid(&pi4(FourccOrder::Old)).unwrap();
        assert_eq!(&old[..5], &[0x00, 0x52, 0x50, 0x69, 0x34]);
        assert_eq!(old.len(), 17);
    }

    #[test]
    fn pi5_and_pi3_guids() {
        let mut id = pi4(FourccOrder::New);
        id.kind = Kind::Pi5;
        assert_eq!(&guid(&id).unwrap()[..5], &[0, 0x35, 0x69, 0x50, 0x52]);
        id.kind = Kind::Pi3;
        id.serial = 0xb66c4c16;
        let g = guid(&id).unwrap();
        assert_eq!(g.len(), 17);
        assert_eq!(
            &g[..9],
            &[0, 0x16, 0x4c, 0x6c, 0xb6, 0x16, 0x4c, 0x6c, 0xb6]
        );
        id.kind = Kind::X86Pxe;
        let g = guid(&id).unwrap();
        assert_eq!(g.len(), 17);
        assert!(!g.windows(3).any(|w| w == b"RPi" || w == b"iPR"));
        id.kind = Kind::Laptop;
        assert!(guid(&id).is_none());
    }

    #[test]
    fn discover_carries_the_pxe_options() {
        let p = encode_request(&pi4(FourccOrder::New), 0x1234, DISCOVER, None, None);
        assert_eq!(p[0], 1);
        assert_eq!(&p[4..8], &[0, 0, 0x12, 0x34]);
        assert_eq!(p[10], 0x80);
        assert_eq!(&p[28..34], &[0xe4, 0x5f, 0x01, 0x09, 0x02, 0xf7]);
        assert_eq!(&p[236..240], &MAGIC);
        assert_eq!(option(&p, 53).unwrap(), [1]);
        assert_eq!(option(&p, 60).unwrap(), VENDOR_CLASS.as_bytes());
        assert_eq!(option(&p, 93).unwrap(), [0, 0]);
        assert_eq!(option(&p, 94).unwrap(), [1, 2, 1]);
        assert_eq!(option(&p, 97).unwrap().len(), 17);
        assert_eq!(
            option(&p, 55).unwrap(),
            [1, 3, 43, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135]
        );
        assert!(option(&p, 50).is_none());
        assert!(p.len() >= 300);
    }

    #[test]
    fn request_names_address_and_server() {
        let ip = Ipv4Addr::new(10, 99, 0, 150);
        let srv = Ipv4Addr::new(10, 99, 0, 1);
        let p = encode_request(&pi4(FourccOrder::New), 7, REQUEST, Some(ip), Some(srv));
        assert_eq!(option(&p, 53).unwrap(), [3]);
        assert_eq!(option(&p, 50).unwrap(), ip.octets());
        assert_eq!(option(&p, 54).unwrap(), srv.octets());
    }

    #[test]
    fn laptop_sends_no_pxe_options() {
        let mut id = pi4(FourccOrder::New);
        id.kind = Kind::Laptop;
        let p = encode_request(&id, 1, DISCOVER, None, None);
        for code in [60, 93, 94, 97] {
            assert!(option(&p, code).is_none(), "option {code}");
        }
        assert_eq!(option(&p, 61).unwrap()[0], 1);
    }

    /// A reply as dnsmasq builds it for `pxe-service=0,"Raspberry Pi Boot   "`.
    fn offer(menu: &[u8], opt66: Option<&str>) -> Vec<u8> {
        let mut p = vec![0u8; 236];
        p[0] = 2;
        p[4..8].copy_from_slice(&9u32.to_be_bytes());
        p[16..20].copy_from_slice(&[10, 99, 0, 150]);
        p[20..24].copy_from_slice(&[10, 99, 0, 1]);
        p[28..34].copy_from_slice(&[0xdc, 0xa6, 0x32, 1, 2, 3]);
        p.extend_from_slice(&MAGIC);
        p.extend_from_slice(&[53, 1, 2, 54, 4, 10, 99, 0, 2, 1, 4, 255, 255, 255, 0]);
        p.extend_from_slice(&[60, 9]);
        p.extend_from_slice(b"PXEClient");
        let mut o43 = vec![6, 1, 3, 10, 4, 0, b'P', b'X', b'E'];
        o43.push(9);
        o43.push(3 + menu.len() as u8);
        o43.extend_from_slice(&[0, 0, menu.len() as u8]);
        o43.extend_from_slice(menu);
        o43.push(255);
        p.push(43);
        p.push(o43.len() as u8);
        p.extend_from_slice(&o43);
        if let Some(s) = opt66 {
            p.push(66);
            p.push(s.len() as u8);
            p.extend_from_slice(s.as_bytes());
        }
        p.push(255);
        p
    }

    #[test]
    fn decodes_the_option_43_bytes_dnsmasq_sends() {
        // docs/facts.md §1.2: the exact bytes dnsmasq sends for pxe-service=0,"Raspberry Pi Boot"
        let o43 = [
            0x06, 0x01, 0x03, 0x0a, 0x04, 0x00, 0x50, 0x58, 0x45, 0x09, 0x14, 0x00, 0x00, 0x11,
            0x52, 0x61, 0x73, 0x70, 0x62, 0x65, 0x72, 0x72, 0x79, 0x20, 0x50, 0x69, 0x20, 0x42,
            0x6f, 0x6f, 0x74, 0xff,
        ];
        let pxe = decode_pxe(&o43);
        assert_eq!(pxe.menu.len(), 1);
        assert_eq!(pxe.menu[0].boot_type, 0);
        assert_eq!(pxe.menu[0].text, b"Raspberry Pi Boot");
        assert_eq!(pxe.sub.iter().map(|s| s.0).collect::<Vec<_>>(), [6, 10, 9]);
    }

    #[test]
    fn decodes_an_offer_and_picks_the_tftp_server() {
        let r = decode_reply(&offer(b"Raspberry Pi Boot   ", None)).unwrap();
        assert_eq!(r.msg_type, OFFER);
        assert_eq!(r.xid, 9);
        assert_eq!(r.yiaddr, Some(Ipv4Addr::new(10, 99, 0, 150)));
        assert_eq!(r.server_id, Some(Ipv4Addr::new(10, 99, 0, 2)));
        assert_eq!(r.netmask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(
            r.pxe.as_ref().unwrap().menu[0].text,
            b"Raspberry Pi Boot   "
        );
        assert!(has_pi_menu(&r));
        // siaddr beats option 54 ...
        assert_eq!(tftp_server(&r), Some(Ipv4Addr::new(10, 99, 0, 1)));
        // ... and option 66 beats both.
        let r = decode_reply(&offer(b"Raspberry Pi Boot", Some("10.99.0.7"))).unwrap();
        assert_eq!(tftp_server(&r), Some(Ipv4Addr::new(10, 99, 0, 7)));
        // substring match, as later loaders do
        let r = decode_reply(&offer(b"~~Raspberry Pi Boot~~", None)).unwrap();
        assert!(has_pi_menu(&r));
        let r = decode_reply(&offer(b"Install Linux", None)).unwrap();
        assert!(!has_pi_menu(&r));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(decode_reply(&[]).is_none());
        assert!(decode_reply(&[2; 239]).is_none());
        let mut p = offer(b"x", None);
        p.truncate(245); // cut inside the options
        let _ = decode_reply(&p);
        for n in 0..300 {
            let v: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            let _ = decode_reply(&v);
            let _ = decode_pxe(&v);
        }
        // a menu item whose length runs past its sub-option
        let pxe = decode_pxe(&[9, 4, 0, 0, 200, b'R', 255]);
        assert!(pxe.menu.is_empty());
    }

    #[test]
    fn mac_formatting() {
        assert_eq!(
            mac_string(&[0xdc, 0xa6, 0x32, 1, 2, 0xf], '-'),
            "dc-a6-32-01-02-0f"
        );
        assert_eq!(hex(&[0, 0xab]), "00:ab");
    }
}
