//! The ubus client: connect to ubusd's socket, read its HELLO (our client
//! id), LOOKUP an object path for its id, INVOKE a method and collect the
//! DATA replies until the STATUS that ends the request (libubus.c,
//! libubus-req.c, ubusd_proto.c). Blocking, with a deadline on every read,
//! so a stuck ubusd costs at most [`TIMEOUT`].

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::codec::{self, Msg};
use crate::error::{Error, Result};
use crate::system::root::Root;

/// The most one connection may take, all calls together: rpcd gives a whole
/// `rpinet call` 2 s, and a stuck ubusd must not eat it.
pub const BUDGET: Duration = Duration::from_millis(600);
/// Most messages read for one request before giving up.
const MAX_MESSAGES: usize = 10_000;

/// ubus status codes (ubusmsg.h), for messages.
fn status_name(s: u32) -> &'static str {
    match s {
        0 => "ok",
        1 => "invalid command",
        2 => "invalid argument",
        3 => "method not found",
        4 => "not found",
        5 => "no data",
        6 => "permission denied",
        7 => "timeout",
        8 => "not supported",
        9 => "unknown error",
        10 => "connection failed",
        11 => "no memory",
        12 => "parse error",
        13 => "system error",
        _ => "unknown status",
    }
}

pub struct Client {
    sock: UnixStream,
    /// Our client id, from HELLO.
    pub id: u32,
    seq: u16,
    deadline: Instant,
    /// Set after an I/O or framing error: the stream is no longer in step.
    broken: bool,
}

impl Client {
    /// Connect to the ubusd socket at `path` and read its HELLO.
    pub fn connect(path: &Path) -> Result<Client> {
        let sock = UnixStream::connect(path).map_err(|e| {
            Error::new(format!(
                "failed to connect to ubus at {}: {e}",
                path.display()
            ))
        })?;
        Client::over(sock, BUDGET)
    }

    /// Talk over an already connected stream, within `budget`.
    pub fn over(sock: UnixStream, budget: Duration) -> Result<Client> {
        sock.set_write_timeout(Some(budget))
            .map_err(|e| Error::new(format!("ubus socket: {e}")))?;
        let mut c = Client {
            sock,
            id: 0,
            seq: 0,
            deadline: Instant::now() + budget,
            broken: false,
        };
        let hello = c.read_msg()?;
        if hello.typ != codec::MSG_HELLO {
            return Err(Error::new(format!(
                "ubus: expected HELLO from ubusd, got message type {}",
                hello.typ
            )));
        }
        c.id = hello.peer;
        Ok(c)
    }

    fn read_msg(&mut self) -> Result<Msg> {
        let r = self.read_msg_inner();
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    fn read_msg_inner(&mut self) -> Result<Msg> {
        if self.broken {
            return Err(Error::new(
                "ubus: connection unusable after an earlier error",
            ));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new("ubus: no answer in time"));
        }
        self.sock
            .set_read_timeout(Some(left))
            .map_err(|e| Error::new(format!("ubus socket: {e}")))?;
        let mut h = [0u8; 12];
        self.sock
            .read_exact(&mut h)
            .map_err(|e| Error::new(format!("ubus: reading a message: {e}")))?;
        let need = codec::header_needs(&h).map_err(|e| Error::new(format!("ubus: {e}")))?;
        let mut buf = Vec::with_capacity(12 + need);
        buf.extend_from_slice(&h);
        buf.resize(12 + need, 0);
        self.sock
            .read_exact(&mut buf[12..])
            .map_err(|e| Error::new(format!("ubus: reading a message body: {e}")))?;
        codec::decode_msg(&buf).map_err(|e| Error::new(format!("ubus: {e}")))
    }

    fn send(&mut self, typ: u8, peer: u32, body: &[u8]) -> Result<u16> {
        self.seq = self.seq.wrapping_add(1);
        let m = codec::encode_msg(typ, self.seq, peer, body);
        if self.broken {
            return Err(Error::new(
                "ubus: connection unusable after an earlier error",
            ));
        }
        if let Err(e) = self.sock.write_all(&m) {
            self.broken = true;
            return Err(Error::new(format!("ubus: sending: {e}")));
        }
        Ok(self.seq)
    }

    /// Read the replies to request `seq`: every DATA message's body, then the
    /// STATUS code.
    fn replies(&mut self, seq: u16) -> Result<(Vec<Msg>, u32)> {
        let mut data = Vec::new();
        for _ in 0..MAX_MESSAGES {
            let m = self.read_msg()?;
            if m.seq != seq {
                continue; // not ours (an event, a late reply)
            }
            match m.typ {
                codec::MSG_DATA => data.push(m),
                codec::MSG_STATUS => {
                    let s = m
                        .attr(codec::ATTR_STATUS)
                        .map_err(|e| Error::new(format!("ubus: {e}")))?
                        .and_then(|a| a.u32())
                        .ok_or_else(|| Error::new("ubus: STATUS without a status code"))?;
                    return Ok((data, s));
                }
                _ => {}
            }
        }
        Err(Error::new("ubus: no STATUS after too many messages"))
    }

    /// The object id of `path`.
    pub fn lookup(&mut self, path: &str) -> Result<u32> {
        let mut body = Vec::new();
        codec::put_str(&mut body, codec::ATTR_OBJPATH, path);
        let seq = self.send(codec::MSG_LOOKUP, 0, &body)?;
        let (data, status) = self.replies(seq)?;
        if status != 0 {
            return Err(Error::new(format!(
                "ubus: object '{path}': {}",
                status_name(status)
            )));
        }
        for m in &data {
            let id = m
                .attr(codec::ATTR_OBJID)
                .map_err(|e| Error::new(format!("ubus: {e}")))?
                .and_then(|a| a.u32());
            let p = m
                .attr(codec::ATTR_OBJPATH)
                .map_err(|e| Error::new(format!("ubus: {e}")))?
                .and_then(|a| a.str().map(str::to_string));
            if let (Some(id), Some(p)) = (id, p) {
                if p == path {
                    return Ok(id);
                }
            }
        }
        Err(Error::new(format!("ubus: object '{path}' not found")))
    }

    /// Invoke `method` on object `id` with `args` (a JSON object); the reply
    /// data (the last DATA's table, `{}` when there is none).
    pub fn invoke(&mut self, id: u32, method: &str, args: &Value) -> Result<Value> {
        let mut body = Vec::new();
        codec::put_u32(&mut body, codec::ATTR_OBJID, id);
        codec::put_str(&mut body, codec::ATTR_METHOD, method);
        codec::put_nested(&mut body, codec::ATTR_DATA, &codec::encode_table(args));
        let seq = self.send(codec::MSG_INVOKE, id, &body)?;
        let (data, status) = self.replies(seq)?;
        if status != 0 {
            return Err(Error::new(format!(
                "ubus: {method}: {}",
                status_name(status)
            )));
        }
        let mut out = json!({});
        for m in &data {
            if let Some(d) = m
                .attr(codec::ATTR_DATA)
                .map_err(|e| Error::new(format!("ubus: {e}")))?
            {
                out =
                    codec::decode_table(d.payload).map_err(|e| Error::new(format!("ubus: {e}")))?;
            }
        }
        Ok(out)
    }

    /// `ubus call PATH METHOD ARGS`.
    pub fn call(&mut self, path: &str, method: &str, args: &Value) -> Result<Value> {
        let id = self.lookup(path)?;
        self.invoke(id, method, args)
    }
}

/// ubusd's socket under `root` (24.10: /var/run/ubus/ubus.sock; older: /var/run/ubus.sock).
pub fn socket_path(root: &Root) -> Option<PathBuf> {
    ["/var/run/ubus/ubus.sock", "/var/run/ubus.sock"]
        .iter()
        .map(|p| root.path(p))
        .find(|p| p.exists())
}

/// The router's bus for a few calls: absent, failing or slow, every call is
/// just None (what ubus says is extra knowledge, never required).
pub struct Bus(Option<Client>);

impl Bus {
    pub fn open(root: &Root) -> Bus {
        Bus(socket_path(root).and_then(|p| Client::connect(&p).ok()))
    }

    /// `ubus call PATH METHOD {}`, or None.
    pub fn call(&mut self, path: &str, method: &str) -> Option<Value> {
        let c = self.0.as_mut()?;
        if c.broken {
            return None;
        }
        c.call(path, method, &json!({})).ok()
    }

    /// IPv4 addresses of a logical interface (`network.interface.<iface> status`).
    pub fn interface_ipv4(&mut self, iface: &str) -> Option<Vec<String>> {
        let v = self.call(&format!("network.interface.{iface}"), "status")?;
        Some(parse_ipv4(&v))
    }

    /// `block info`: the filesystems present (fstools' blockd).
    pub fn block_info(&mut self) -> Option<Vec<BlockDev>> {
        let v = self.call("block", "info")?;
        Some(parse_block_info(&v))
    }

    /// `service list`: the procd instances of `services`, running or not.
    pub fn service_instances(&mut self, services: &[&str]) -> Option<Vec<Instance>> {
        let v = self.call("service", "list")?;
        Some(parse_services(&v, services))
    }
}

pub fn parse_ipv4(status: &Value) -> Vec<String> {
    status
        .get("ipv4-address")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("address").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A block device `block info` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDev {
    pub device: String,
    pub uuid: String,
    pub fstype: String,
    pub mount: String,
}

pub fn parse_block_info(v: &Value) -> Vec<BlockDev> {
    let s = |x: &Value, k: &str| x.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    v.get("devices")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|d| BlockDev {
                    device: s(d, "device"),
                    uuid: s(d, "uuid"),
                    fstype: s(d, "type"),
                    mount: s(d, "mount"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A running procd instance of a service (`service list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub service: String,
    pub name: String,
    pub running: bool,
    pub pid: u64,
    pub command: Vec<String>,
}

pub fn parse_services(v: &Value, services: &[&str]) -> Vec<Instance> {
    let mut out = Vec::new();
    for svc in services {
        let Some(inst) = v
            .get(*svc)
            .and_then(|s| s.get("instances"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (name, i) in inst {
            out.push(Instance {
                service: svc.to_string(),
                name: name.clone(),
                running: i.get("running").and_then(Value::as_bool).unwrap_or(false),
                pid: i.get("pid").and_then(Value::as_u64).unwrap_or(0),
                command: i
                    .get("command")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use codec::{
        ATTR_DATA, ATTR_OBJID, ATTR_OBJPATH, ATTR_STATUS, MSG_DATA, MSG_HELLO, MSG_STATUS,
    };

    fn hello() -> Vec<u8> {
        codec::encode_msg(MSG_HELLO, 0, 0x2a, &[])
    }
    fn status(seq: u16, code: u32) -> Vec<u8> {
        let mut b = Vec::new();
        codec::put_u32(&mut b, ATTR_STATUS, code);
        codec::encode_msg(MSG_STATUS, seq, 0, &b)
    }
    fn lookup_reply(seq: u16, path: &str, id: u32) -> Vec<u8> {
        let mut b = Vec::new();
        codec::put_str(&mut b, ATTR_OBJPATH, path);
        codec::put_u32(&mut b, ATTR_OBJID, id);
        codec::encode_msg(MSG_DATA, seq, 0, &b)
    }
    fn data(seq: u16, id: u32, table: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        codec::put_u32(&mut b, ATTR_OBJID, id);
        codec::put_nested(&mut b, ATTR_DATA, table);
        codec::encode_msg(MSG_DATA, seq, id, &b)
    }

    /// A client whose "ubusd" is a thread that reads our requests and writes
    /// `script` (pre-made bytes) back.
    fn scripted(script: Vec<Vec<u8>>) -> Result<Client> {
        let (a, b) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let mut b = b;
            let mut sink = [0u8; 65536];
            for (i, chunk) in script.iter().enumerate() {
                if i > 0 {
                    let _ = b.read(&mut sink); // one request per scripted reply
                }
                if b.write_all(chunk).is_err() {
                    return;
                }
            }
            let _ = b.read(&mut sink);
        });
        Client::over(a, Duration::from_millis(300))
    }

    #[test]
    fn a_normal_call_returns_the_data() {
        let t =
            codec::encode_table(&json!({"up": true, "ipv4-address": [{"address": "10.0.0.1"}]}));
        let mut lk = lookup_reply(1, "network.interface.lan", 7);
        lk.extend(status(1, 0));
        let mut inv = status(99, 0); // someone else's reply: ignored
        inv.extend(data(2, 7, &t));
        inv.extend(status(2, 0));
        let mut c = scripted(vec![hello(), lk, inv]).unwrap();
        assert_eq!(c.id, 0x2a);
        let v = c
            .call("network.interface.lan", "status", &json!({}))
            .unwrap();
        assert_eq!(parse_ipv4(&v), ["10.0.0.1"]);
    }

    #[test]
    fn crafted_replies_are_errors() {
        // first message not HELLO
        assert!(scripted(vec![status(0, 0)]).is_err());
        // STATUS without a code
        let empty_status = codec::encode_msg(MSG_STATUS, 1, 0, &[0x01, 0, 0, 4]);
        let mut c = scripted(vec![hello(), empty_status]).unwrap();
        assert!(
            c.lookup("x")
                .unwrap_err()
                .message()
                .contains("without a status")
        );
        // unknown object / method
        let mut c = scripted(vec![hello(), status(1, 4)]).unwrap();
        assert!(
            c.lookup("nope")
                .unwrap_err()
                .message()
                .contains("not found")
        );
        let mut lk = lookup_reply(1, "o", 1);
        lk.extend(status(1, 0));
        let mut c = scripted(vec![hello(), lk, status(2, 3)]).unwrap();
        assert!(
            c.call("o", "m", &json!({}))
                .unwrap_err()
                .message()
                .contains("method not found")
        );
        // a blobmsg name that is not UTF-8
        let mut lk = lookup_reply(1, "o", 1);
        lk.extend(status(1, 0));
        let mut inv = data(2, 1, &[0x83, 0, 0, 10, 0, 1, 0xff, 0, b'x', 0, 0, 0]);
        inv.extend(status(2, 0));
        let mut c = scripted(vec![hello(), lk, inv]).unwrap();
        assert!(c.call("o", "m", &json!({})).is_err());
        // a header announcing more than ubusd's 1 MiB: refused before reading it
        let mut huge = hello();
        huge[9] = 0x7f;
        assert!(scripted(vec![huge]).is_err());
        // silence: the budget ends the wait
        let start = Instant::now();
        let mut c = scripted(vec![hello()]).unwrap();
        assert!(c.lookup("x").is_err());
        assert!(start.elapsed() < Duration::from_secs(2));
        // and the connection stays refused after that
        assert!(c.lookup("x").unwrap_err().message().contains("unusable"));
    }

    #[test]
    fn replies_over_64_kib_are_read() {
        let big = json!({"x": "a".repeat(300_000)});
        let mut lk = lookup_reply(1, "service", 3);
        lk.extend(status(1, 0));
        let mut inv = data(2, 3, &codec::encode_table(&big));
        inv.extend(status(2, 0));
        let mut c = scripted(vec![hello(), lk, inv]).unwrap();
        assert_eq!(c.call("service", "list", &json!({})).unwrap(), big);
    }

    #[test]
    fn replies_are_parsed() {
        let s = json!({"up": true, "ipv4-address": [{"address": "192.168.1.1", "mask": 24}]});
        assert_eq!(parse_ipv4(&s), ["192.168.1.1"]);
        assert!(parse_ipv4(&json!({"up": false})).is_empty());
        let b = json!({"devices": [{"device": "/dev/sda1", "uuid": "6a1f", "type": "ext4", "mount": "/mnt/rpinet"}]});
        assert_eq!(parse_block_info(&b)[0].mount, "/mnt/rpinet");
        let l = json!({"dnsmasq": {"instances": {"cfg01411c": {"running": true, "pid": 1234,
            "command": ["/usr/sbin/dnsmasq", "-C", "/var/etc/dnsmasq.conf.cfg01411c", "-k"]}}}});
        let i = parse_services(&l, &["dnsmasq", "nfsd"]);
        assert_eq!(i.len(), 1);
        assert!(i[0].running);
        assert_eq!(i[0].command[2], "/var/etc/dnsmasq.conf.cfg01411c");
    }
}
