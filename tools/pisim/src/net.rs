//! The thin system edge: UDP sockets tied to one interface, and the ioctls
//! that read the interface's MAC and give it the leased address.

use std::ffi::CString;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::FromRawFd;

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn setopt(fd: libc::c_int, level: libc::c_int, name: libc::c_int, val: &[u8]) -> io::Result<()> {
    // SAFETY: val is a valid buffer of the given length for the call's duration.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            val.as_ptr().cast(),
            val.len() as libc::socklen_t,
        )
    })
}

/// A UDP socket bound to `port` (0 = any) on `iface` only, allowed to
/// broadcast: a DHCP client's socket before it has an address.
pub fn udp_on(iface: &str, port: u16) -> io::Result<UdpSocket> {
    // SAFETY: plain socket(2); the fd is owned by the UdpSocket below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(fd)?;
    // SAFETY: fd is a fresh socket we own.
    let sock = unsafe { UdpSocket::from_raw_fd(fd) };
    let one = 1i32.to_ne_bytes();
    setopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one)?;
    setopt(fd, libc::SOL_SOCKET, libc::SO_BROADCAST, &one)?;
    setopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_BINDTODEVICE,
        iface.as_bytes(),
    )?;
    // SAFETY: sockaddr_in is plain data; zeroed is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = port.to_be();
    // SAFETY: sa is a valid sockaddr_in of the length passed.
    check(unsafe {
        libc::bind(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    })?;
    Ok(sock)
}

fn ifreq(iface: &str) -> io::Result<libc::ifreq> {
    let name = CString::new(iface).map_err(|_| io::Error::other("interface name has a NUL"))?;
    let bytes = name.as_bytes_with_nul();
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { zeroed() };
    if bytes.len() > req.ifr_name.len() {
        return Err(io::Error::other("interface name too long"));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(req)
}

struct Fd(libc::c_int);
impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

fn ctl_socket() -> io::Result<Fd> {
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(fd)?;
    Ok(Fd(fd))
}

fn ioctl(fd: &Fd, req: libc::c_ulong, ifr: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: ifr is a valid ifreq for these SIOC* requests.
    check(unsafe { libc::ioctl(fd.0, req as _, ifr as *mut libc::ifreq) })
}

/// The interface's hardware (MAC) address.
pub fn hwaddr(iface: &str) -> io::Result<[u8; 6]> {
    let fd = ctl_socket()?;
    let mut req = ifreq(iface)?;
    ioctl(&fd, libc::SIOCGIFHWADDR, &mut req)?;
    // SAFETY: SIOCGIFHWADDR filled the ifru_hwaddr member.
    let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok(mac)
}

fn sockaddr(ip: Ipv4Addr) -> libc::sockaddr {
    // SAFETY: sockaddr_in is plain data.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_addr.s_addr = u32::from_ne_bytes(ip.octets());
    // SAFETY: sockaddr_in and sockaddr have the same size on Linux.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sa) }
}

/// Give the interface the leased address and netmask, and bring it up: what
/// the bootloader's IP stack does after the ACK.
pub fn set_address(iface: &str, ip: Ipv4Addr, mask: Ipv4Addr) -> io::Result<()> {
    let fd = ctl_socket()?;
    let mut req = ifreq(iface)?;
    req.ifr_ifru.ifru_addr = sockaddr(ip);
    ioctl(&fd, libc::SIOCSIFADDR, &mut req)?;
    let mut req = ifreq(iface)?;
    req.ifr_ifru.ifru_netmask = sockaddr(mask);
    ioctl(&fd, libc::SIOCSIFNETMASK, &mut req)?;
    let mut req = ifreq(iface)?;
    ioctl(&fd, libc::SIOCGIFFLAGS, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled ifru_flags.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    ioctl(&fd, libc::SIOCSIFFLAGS, &mut req)
}

/// A random transaction id (from the kernel; time as a fallback).
pub fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    // SAFETY: b is a valid 4-byte buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 4, 0) };
    if n == 4 {
        u32::from_ne_bytes(b)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ std::process::id())
            .unwrap_or(0x5eed)
    }
}
