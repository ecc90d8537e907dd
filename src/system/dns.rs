//! A host name's IPv4 address, asked of the router's resolver in one DNS query over UDP
//! (storage_server given as a name).

use crate::system::root::Root;

/// The first IPv4 address of `host`, asked of the router's resolver — the first
/// `nameserver` of /etc/resolv.conf: on OpenWrt dnsmasq at 127.0.0.1, which answers from the
/// hosts file, its leases and upstream DNS — in one DNS query over UDP (musl's getaddrinfo
/// would cost the binary some 15 KB it has no room for).
pub fn resolve(root: &Root, host: &str) -> crate::error::Result<std::net::Ipv4Addr> {
    use std::net::{Ipv4Addr, UdpSocket};
    let conf = std::fs::read_to_string(root.path("/etc/resolv.conf")).unwrap_or_default();
    let ns = conf
        .lines()
        .find_map(|l| l.strip_prefix("nameserver")?.trim().parse().ok())
        .unwrap_or(Ipv4Addr::LOCALHOST);
    let id = std::process::id() as u16;
    let query = dns_query(id, host);
    let mut buf = [0u8; 512];
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).and_then(|s| {
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
        s.connect((ns, 53))?;
        Ok(s)
    });
    if let Ok(s) = sock {
        for _ in 0..3 {
            let got = s.send(&query).and_then(|_| s.recv(&mut buf));
            if let Some(ip) = got.ok().and_then(|n| dns_answer(id, &buf[..n])) {
                return Ok(ip);
            }
        }
    }
    crate::bail!(
        "cannot resolve storage_server '{host}' (asked {ns}): set it to the server's IPv4 address"
    )
}

/// A DNS query (RFC 1035 §4.1) for the A record of `host`, recursion desired.
pub fn dns_query(id: u16, host: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in host.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// The first A record of the reply `r` to query `id`; None for another id, an error code,
/// no such record or a message cut short.
pub fn dns_answer(id: u16, r: &[u8]) -> Option<std::net::Ipv4Addr> {
    let word = |at: usize| Some(u16::from_be_bytes([*r.get(at)?, *r.get(at + 1)?]));
    let flags = word(2)?; // a reply (QR), no error (RCODE 0)
    if word(0)? != id || flags & 0x8000 == 0 || flags & 0x000f != 0 {
        return None;
    }
    // a name: labels up to the root label, or up to a compression pointer
    let skip_name = |mut at: usize| -> Option<usize> {
        loop {
            match *r.get(at)? {
                0 => return Some(at + 1),
                l if l & 0xc0 == 0xc0 => return Some(at + 2),
                l => at += 1 + usize::from(l),
            }
        }
    };
    let mut at = 12;
    for _ in 0..word(4)? {
        at = skip_name(at)? + 4;
    }
    for _ in 0..word(6)? {
        at = skip_name(at)?;
        let len = usize::from(word(at + 8)?);
        let data = r.get(at + 10..at + 10 + len)?;
        if (word(at)?, word(at + 2)?, len) == (1, 1, 4) {
            return Some(std::net::Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        at += 10 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host name is asked of the router's resolver as one DNS query; its reply read for
    /// the first A record, past a CNAME and compressed names.
    #[test]
    fn a_host_name_is_one_dns_query_and_its_first_a_record() {
        let q = dns_query(0x1234, "nas.lan");
        assert_eq!(
            q,
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03nas\x03lan\x00\x00\x01\x00\x01"
        );
        // the reply: the question, then nas.lan CNAME tank.lan, then tank.lan A 192.168.1.10
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = 2;
        r.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x07\x04tank\xc0\x10");
        r.extend_from_slice(b"\xc0\x29\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\xa8\x01\x0a");
        assert_eq!(
            dns_answer(0x1234, &r),
            Some(std::net::Ipv4Addr::new(192, 168, 1, 10))
        );
        assert_eq!(dns_answer(0x1235, &r), None, "another query's reply");
        for cut in 0..r.len() {
            assert_eq!(dns_answer(0x1234, &r[..cut]), None, "cut at {cut}");
        }
        let mut nx = r.clone();
        nx[3] = 0x83; // NXDOMAIN
        assert_eq!(dns_answer(0x1234, &nx), None);
        assert_eq!(dns_answer(0x1234, &q), None, "a query is no reply");
    }
}
