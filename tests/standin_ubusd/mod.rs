//! A stand-in for ubusd (no Debian package ships one): a Unix socket server in
//! a test's temp dir that speaks the ubus wire protocol the way openwrt/ubus
//! does (ubusmsg.h, ubusd_proto.c), written here independently of rpinet's
//! own codec so the two check each other.
//!
//! On accept it sends HELLO (seq 0, peer = the client id, empty container).
//! LOOKUP {OBJPATH} answers one DATA {OBJPATH, OBJID, OBJTYPE, SIGNATURE} per
//! matching object (exact path, or prefix ending in '*', or all when the path
//! is absent) then STATUS {STATUS}; INVOKE {OBJID, METHOD, DATA} answers DATA
//! {OBJID, DATA} and STATUS {STATUS, OBJID} as the object's owner would via
//! ubusd (peer = the object id, seq echoed), or only STATUS with NOT_FOUND /
//! METHOD_NOT_FOUND. Objects here are canned replies. `quirk` makes it
//! misbehave for robustness tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quirk {
    None,
    /// An unrelated DATA (another seq) before every reply, like a late answer.
    Interleave,
    /// STATUS whose STATUS attribute has no payload.
    EmptyStatus,
    /// The first message is a STATUS, not HELLO.
    NoHello,
    /// Never answer requests.
    Silent,
    /// Announce a container bigger than ubusd's 1 MiB limit.
    Oversized,
    /// Close the connection in the middle of a reply.
    Truncate,
}

pub struct Object {
    pub path: String,
    pub methods: Vec<(String, Value)>,
}

pub struct StandIn {
    pub socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.socket); // wake accept()
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

// ---- an independent little encoder, straight from blob.h / blobmsg.h ----

fn align4(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

fn blob(id: u8, extended: bool, payload: &[u8]) -> Vec<u8> {
    let len = 4 + payload.len() as u32;
    let mut hdr = ((id as u32) << 24) | len;
    if extended {
        hdr |= 1 << 31;
    }
    let mut v = hdr.to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    align4(&mut v);
    v
}

fn blobmsg(name: &str, value: &Value) -> Vec<u8> {
    let mut p = (name.len() as u16).to_be_bytes().to_vec();
    p.extend_from_slice(name.as_bytes());
    p.push(0);
    align4(&mut p);
    let ty = match value {
        Value::Null => 0,
        Value::Array(a) => {
            for x in a {
                p.extend(blobmsg("", x));
            }
            1
        }
        Value::Object(m) => {
            for (k, x) in m {
                p.extend(blobmsg(k, x));
            }
            2
        }
        Value::String(s) => {
            p.extend_from_slice(s.as_bytes());
            p.push(0);
            3
        }
        Value::Number(n) if n.is_i64() && i32::try_from(n.as_i64().unwrap()).is_err() => {
            p.extend_from_slice(&n.as_i64().unwrap().to_be_bytes());
            4
        }
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            p.extend_from_slice(&(n.as_i64().unwrap_or(0) as i32).to_be_bytes());
            5
        }
        Value::Bool(b) => {
            p.push(*b as u8);
            7
        }
        Value::Number(n) => {
            p.extend_from_slice(&n.as_f64().unwrap().to_bits().to_be_bytes());
            8
        }
    };
    blob(ty, true, &p)
}

fn table_body(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if let Value::Object(m) = v {
        for (k, x) in m {
            out.extend(blobmsg(k, x));
        }
    }
    out
}

fn message(ty: u8, seq: u16, peer: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0u8, ty];
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&peer.to_be_bytes());
    out.extend(blob(0, false, &attrs.concat()));
    out
}

fn u32_attr(id: u8, v: u32) -> Vec<u8> {
    blob(id, false, &v.to_be_bytes())
}

fn str_attr(id: u8, s: &str) -> Vec<u8> {
    let mut p = s.as_bytes().to_vec();
    p.push(0);
    blob(id, false, &p)
}

// ---- decoding requests (trusted enough: the client is ours, but checked) ----

/// (type, seq, peer, attributes as (id, payload))
type Request = (u8, u16, u32, Vec<(u8, Vec<u8>)>);

fn read_request(s: &mut UnixStream) -> Option<Request> {
    let mut h = [0u8; 12];
    s.read_exact(&mut h).ok()?;
    let len = (u32::from_be_bytes([h[8], h[9], h[10], h[11]]) & 0xff_ffff) as usize;
    let mut body = vec![0u8; len.checked_sub(4)?];
    s.read_exact(&mut body).ok()?;
    let mut attrs = Vec::new();
    let mut at = 0;
    while at + 4 <= body.len() {
        let hdr = u32::from_be_bytes(body[at..at + 4].try_into().ok()?);
        let l = (hdr & 0xff_ffff) as usize;
        if l < 4 || at + l > body.len() {
            return None;
        }
        attrs.push((((hdr >> 24) & 0x7f) as u8, body[at + 4..at + l].to_vec()));
        at += (l + 3) & !3;
    }
    Some((
        h[1],
        u16::from_be_bytes([h[2], h[3]]),
        u32::from_be_bytes(h[4..8].try_into().ok()?),
        attrs,
    ))
}

fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or(&[])).into_owned()
}

const HELLO: u8 = 0;
const STATUS: u8 = 1;
const DATA: u8 = 2;
const LOOKUP: u8 = 4;
const INVOKE: u8 = 5;
const A_STATUS: u8 = 1;
const A_OBJPATH: u8 = 2;
const A_OBJID: u8 = 3;
const A_METHOD: u8 = 4;
const A_OBJTYPE: u8 = 5;
const A_SIGNATURE: u8 = 6;
const A_DATA: u8 = 7;
const NOT_FOUND: u32 = 4;
const METHOD_NOT_FOUND: u32 = 3;

fn serve(mut s: UnixStream, client_id: u32, objects: &[Object], quirk: Quirk) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let hello = if quirk == Quirk::NoHello {
        message(STATUS, 0, client_id, &[u32_attr(A_STATUS, 0)])
    } else {
        message(HELLO, 0, client_id, &[])
    };
    if s.write_all(&hello).is_err() {
        return;
    }
    let obj_id = |i: usize| 0x1000_0000u32 + i as u32;
    while let Some((ty, seq, peer, attrs)) = read_request(&mut s) {
        if quirk == Quirk::Silent {
            continue;
        }
        let get = |id: u8| attrs.iter().find(|(a, _)| *a == id).map(|(_, p)| p.clone());
        let mut out = Vec::new();
        if quirk == Quirk::Interleave {
            out.extend(message(
                DATA,
                seq.wrapping_add(7),
                0,
                &[u32_attr(A_OBJID, 1)],
            ));
        }
        let status = |code: u32, extra: Vec<Vec<u8>>| {
            if quirk == Quirk::EmptyStatus {
                return message(STATUS, seq, peer, &[blob(A_STATUS, false, &[])]);
            }
            let mut a = vec![u32_attr(A_STATUS, code)];
            a.extend(extra);
            message(STATUS, seq, peer, &a)
        };
        match ty {
            LOOKUP => {
                let want = get(A_OBJPATH).map(|p| cstr(&p));
                let mut found = 0;
                for (i, o) in objects.iter().enumerate() {
                    let hit = match &want {
                        None => true,
                        Some(w) if w.ends_with('*') => o.path.starts_with(&w[..w.len() - 1]),
                        Some(w) => &o.path == w,
                    };
                    if !hit {
                        continue;
                    }
                    found += 1;
                    let sig: Vec<u8> = o
                        .methods
                        .iter()
                        .flat_map(|(m, _)| blobmsg(m, &Value::Object(Default::default())))
                        .collect();
                    out.extend(message(
                        DATA,
                        seq,
                        peer,
                        &[
                            str_attr(A_OBJPATH, &o.path),
                            u32_attr(A_OBJID, obj_id(i)),
                            u32_attr(A_OBJTYPE, 0x2000_0000 + i as u32),
                            blob(A_SIGNATURE, false, &sig),
                        ],
                    ));
                }
                out.extend(status(
                    if found == 0 && want.is_some() {
                        NOT_FOUND
                    } else {
                        0
                    },
                    vec![],
                ));
            }
            INVOKE => {
                let id = get(A_OBJID).and_then(|p| {
                    p.get(..4)
                        .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
                });
                let method = get(A_METHOD).map(|p| cstr(&p)).unwrap_or_default();
                let obj = id.and_then(|id| (0..objects.len()).find(|i| obj_id(*i) == id));
                match obj {
                    None => out.extend(status(NOT_FOUND, vec![])),
                    Some(i) => match objects[i].methods.iter().find(|(m, _)| *m == method) {
                        None => {
                            out.extend(status(METHOD_NOT_FOUND, vec![u32_attr(A_OBJID, obj_id(i))]))
                        }
                        Some((_, reply)) => {
                            let mut d = message(
                                DATA,
                                seq,
                                obj_id(i),
                                &[
                                    u32_attr(A_OBJID, obj_id(i)),
                                    blob(A_DATA, false, &table_body(reply)),
                                ],
                            );
                            if quirk == Quirk::Oversized {
                                d[9] = 0x20; // container length past 1 MiB
                            }
                            if quirk == Quirk::Truncate {
                                d.truncate(d.len() / 2);
                                let _ = s.write_all(&d);
                                return;
                            }
                            out.extend(d);
                            out.extend(message(
                                STATUS,
                                seq,
                                obj_id(i),
                                &[u32_attr(A_STATUS, 0), u32_attr(A_OBJID, obj_id(i))],
                            ));
                        }
                    },
                }
            }
            _ => out.extend(status(1, vec![])), // INVALID_COMMAND
        }
        if s.write_all(&out).is_err() {
            return;
        }
    }
}

/// Start the stand-in at `socket` serving `objects`.
pub fn start(socket: &Path, objects: Vec<Object>, quirk: Quirk) -> StandIn {
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let objects = Arc::new(objects);
    let thread = std::thread::spawn(move || {
        let mut next_id = 0x0100_0000u32;
        for conn in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let Ok(conn) = conn else { continue };
            next_id += 1;
            let objs = objects.clone();
            let id = next_id;
            std::thread::spawn(move || serve(conn, id, &objs, quirk));
        }
    });
    StandIn {
        socket: socket.to_path_buf(),
        stop,
        thread: Some(thread),
    }
}

/// The objects of a small router: lan's address, block info and service list.
pub fn router(lan_ip: &str, block: Value) -> Vec<Object> {
    vec![
        Object {
            path: "network.interface.lan".into(),
            methods: vec![(
                "status".into(),
                serde_json::json!({"up": true, "pending": false, "available": true,
                    "l3_device": "br-lan", "proto": "static", "uptime": 4242,
                    "ipv4-address": [{"address": lan_ip, "mask": 24}],
                    "ipv6-address": [], "route": [], "dns-server": [], "data": {}}),
            )],
        },
        Object {
            path: "block".into(),
            methods: vec![("info".into(), block)],
        },
        Object {
            path: "service".into(),
            methods: vec![(
                "list".into(),
                serde_json::json!({"dnsmasq": {"instances": {"cfg01411c": {"running": false,
                    "command": ["/usr/sbin/dnsmasq", "-C", "/var/etc/dnsmasq.conf.cfg01411c", "-k"],
                    "term_timeout": 5, "respawn": true}}}}),
            )],
        },
    ]
}
