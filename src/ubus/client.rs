//! The ubus client: connect to ubusd's socket, read its HELLO (our client
//! id), LOOKUP an object path for its id, INVOKE a method and collect the
//! DATA replies until the STATUS that ends the request (libubus.c,
//! libubus-req.c, ubusd_proto.c). Blocking, with a deadline on every read,
//! so a stuck ubusd costs at most [`TIMEOUT`].

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::codec::{self, Msg};
use crate::error::{Error, Result};
use crate::root::Root;

/// Longest wait for any one message from ubusd.
pub const TIMEOUT: Duration = Duration::from_millis(800);
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
        sock.set_read_timeout(Some(TIMEOUT))
            .and_then(|_| sock.set_write_timeout(Some(TIMEOUT)))
            .map_err(|e| Error::new(format!("ubus socket: {e}")))?;
        let mut c = Client {
            sock,
            id: 0,
            seq: 0,
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
        self.sock
            .write_all(&m)
            .map_err(|e| Error::new(format!("ubus: sending: {e}")))?;
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

/// One call on the router's bus, or None when there is no bus or it fails.
pub fn call(root: &Root, path: &str, method: &str) -> Option<Value> {
    let sock = socket_path(root)?;
    let mut c = Client::connect(&sock).ok()?;
    c.call(path, method, &json!({})).ok()
}

/// IPv4 addresses of a logical interface (`network.interface.<iface> status`).
pub fn interface_ipv4(root: &Root, iface: &str) -> Option<Vec<String>> {
    let v = call(root, &format!("network.interface.{iface}"), "status")?;
    Some(parse_ipv4(&v))
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

/// `block info`: the filesystems present (fstools' blockd).
pub fn block_info(root: &Root) -> Option<Vec<BlockDev>> {
    let v = call(root, "block", "info")?;
    Some(parse_block_info(&v))
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

/// `service list`: dnsmasq's and nfsd's instances, running or not.
pub fn service_instances(root: &Root, services: &[&str]) -> Option<Vec<Instance>> {
    let v = call(root, "service", "list")?;
    Some(parse_services(&v, services))
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
