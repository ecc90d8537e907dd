//! ubus wire format: blob / blobmsg TLVs (libubox blob.h, blobmsg.h) and the
//! ubus message around them (ubus ubusmsg.h).
//!
//! A blob attribute is a big-endian u32 header (bit 31: extended = blobmsg,
//! bits 30..24: id or type, bits 23..0: length including the 4-byte header,
//! excluding padding) followed by its payload, padded to 4 bytes. A blobmsg
//! payload starts with a be16 name length, the name, a NUL, padding to 4,
//! then the value. A ubus message is an 8-byte header (version 0, type, be16
//! seq, be32 peer) and one blob container whose payload is the UBUS_ATTR_*
//! attributes.
//!
//! Decoding never panics and never trusts a length: every slice is checked
//! (fuzzed by fuzz/fuzz_targets/ubus_decode.rs). Self-contained (std and
//! serde_json only) so the fuzz target can include this file as it is.

use serde_json::{Map, Number, Value};

/// ubusd's limit on one message (UBUS_MAX_MSGLEN).
pub const MAX_MSGLEN: usize = 1_048_576;
/// Deepest nesting accepted in a blobmsg (tables in arrays in tables …).
pub const MAX_DEPTH: usize = 32;

pub const MSG_HELLO: u8 = 0;
pub const MSG_STATUS: u8 = 1;
pub const MSG_DATA: u8 = 2;
#[allow(dead_code)]
pub const MSG_PING: u8 = 3;
pub const MSG_LOOKUP: u8 = 4;
pub const MSG_INVOKE: u8 = 5;

pub const ATTR_STATUS: u8 = 1;
pub const ATTR_OBJPATH: u8 = 2;
pub const ATTR_OBJID: u8 = 3;
pub const ATTR_METHOD: u8 = 4;
#[allow(dead_code)]
pub const ATTR_OBJTYPE: u8 = 5;
#[allow(dead_code)]
pub const ATTR_SIGNATURE: u8 = 6;
pub const ATTR_DATA: u8 = 7;

const BLOBMSG_ARRAY: u8 = 1;
const BLOBMSG_TABLE: u8 = 2;
const BLOBMSG_STRING: u8 = 3;
const BLOBMSG_INT64: u8 = 4;
const BLOBMSG_INT32: u8 = 5;
const BLOBMSG_INT16: u8 = 6;
const BLOBMSG_INT8: u8 = 7;
const BLOBMSG_DOUBLE: u8 = 8;

/// What was wrong with bytes that came off the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad<T>(what: &str) -> Result<T, DecodeError> {
    Err(DecodeError(what.to_string()))
}

fn pad4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// One raw blob attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub id: u8,
    pub extended: bool,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    pub fn u32(&self) -> Option<u32> {
        let b: [u8; 4] = self.payload.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(b))
    }

    /// A NUL-terminated string payload.
    pub fn str(&self) -> Option<&'a str> {
        let end = self.payload.iter().position(|b| *b == 0)?;
        std::str::from_utf8(self.payload.get(..end)?).ok()
    }
}

/// Split a buffer into blob attributes, checking every length.
pub fn attrs(mut buf: &[u8]) -> Result<Vec<Attr<'_>>, DecodeError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some(h) = buf.get(..4) else {
            return bad("truncated attribute header");
        };
        let hdr = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let len = (hdr & 0x00ff_ffff) as usize;
        if len < 4 {
            return bad("attribute shorter than its header");
        }
        let Some(payload) = buf.get(4..len) else {
            return bad("attribute longer than its container");
        };
        out.push(Attr {
            id: ((hdr >> 24) & 0x7f) as u8,
            extended: hdr & 0x8000_0000 != 0,
            payload,
        });
        let next = pad4(len).min(buf.len());
        buf = buf.get(next..).unwrap_or(&[]);
    }
    Ok(out)
}

/// One blobmsg attribute: (name, value).
fn blobmsg(a: &Attr<'_>, depth: usize) -> Result<(String, Value), DecodeError> {
    if !a.extended {
        return bad("blobmsg attribute without the extended bit");
    }
    let p = a.payload;
    let Some(nl) = p.get(..2) else {
        return bad("blobmsg without a name length");
    };
    let namelen = u16::from_be_bytes([nl[0], nl[1]]) as usize;
    let hdrlen = pad4(2 + namelen + 1);
    if p.len() < hdrlen || p.get(2 + namelen) != Some(&0) {
        return bad("blobmsg name runs past its attribute");
    }
    let name = std::str::from_utf8(p.get(2..2 + namelen).unwrap_or(&[]))
        .map_err(|_| DecodeError("blobmsg name is not UTF-8".into()))?
        .to_string();
    let data = p.get(hdrlen..).unwrap_or(&[]);
    let fixed = |n: usize| -> Result<&[u8], DecodeError> {
        data.get(..n)
            .ok_or_else(|| DecodeError(format!("blobmsg '{name}' shorter than its type")))
    };
    let v = match a.id {
        0 => Value::Null,
        BLOBMSG_ARRAY | BLOBMSG_TABLE => {
            if depth >= MAX_DEPTH {
                return bad("blobmsg nested too deeply");
            }
            let inner = attrs(data)?;
            if a.id == BLOBMSG_ARRAY {
                let mut v = Vec::with_capacity(inner.len().min(4096));
                for x in &inner {
                    v.push(blobmsg(x, depth + 1)?.1);
                }
                Value::Array(v)
            } else {
                let mut m = Map::new();
                for x in &inner {
                    let (k, val) = blobmsg(x, depth + 1)?;
                    m.insert(k, val);
                }
                Value::Object(m)
            }
        }
        BLOBMSG_STRING => {
            let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
            let s = std::str::from_utf8(data.get(..end).unwrap_or(&[]))
                .map_err(|_| DecodeError(format!("blobmsg '{name}' is not UTF-8")))?;
            Value::String(s.to_string())
        }
        BLOBMSG_INT64 => {
            let b = fixed(8)?;
            let n = i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            Value::Number(n.into())
        }
        BLOBMSG_INT32 => {
            let b = fixed(4)?;
            Value::Number(i32::from_be_bytes([b[0], b[1], b[2], b[3]]).into())
        }
        BLOBMSG_INT16 => {
            let b = fixed(2)?;
            Value::Number(i16::from_be_bytes([b[0], b[1]]).into())
        }
        BLOBMSG_INT8 => Value::Bool(fixed(1)?[0] != 0),
        BLOBMSG_DOUBLE => {
            let b = fixed(8)?;
            let f = f64::from_bits(u64::from_be_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ]));
            Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        t => {
            return Err(DecodeError(format!(
                "blobmsg '{name}' has unknown type {t}"
            )));
        }
    };
    Ok((name, v))
}

/// A blobmsg table body (the payload of UBUS_ATTR_DATA) as a JSON object.
pub fn decode_table(buf: &[u8]) -> Result<Value, DecodeError> {
    let mut m = Map::new();
    for a in attrs(buf)? {
        let (k, v) = blobmsg(&a, 0)?;
        m.insert(k, v);
    }
    Ok(Value::Object(m))
}

/// A decoded ubus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub typ: u8,
    pub seq: u16,
    pub peer: u32,
    /// The container's payload: UBUS_ATTR_* attributes.
    pub body: Vec<u8>,
}

impl Msg {
    pub fn attrs(&self) -> Result<Vec<Attr<'_>>, DecodeError> {
        attrs(&self.body)
    }

    pub fn attr(&self, id: u8) -> Result<Option<Attr<'_>>, DecodeError> {
        Ok(self
            .attrs()?
            .into_iter()
            .find(|a| a.id == id && !a.extended))
    }
}

/// The 12 bytes that start a message: check them, return the bytes still to
/// read after them (the container's payload).
pub fn header_needs(h: &[u8; 12]) -> Result<usize, DecodeError> {
    if h[0] != 0 {
        return bad("ubus message version is not 0");
    }
    let raw = (u32::from_be_bytes([h[8], h[9], h[10], h[11]]) & 0x00ff_ffff) as usize;
    if raw < 4 {
        return bad("ubus message container shorter than its header");
    }
    if pad4(raw) > MAX_MSGLEN {
        return bad("ubus message larger than ubusd allows (1 MiB)");
    }
    Ok(raw - 4)
}

/// Decode one whole message (header, container, payload).
pub fn decode_msg(buf: &[u8]) -> Result<Msg, DecodeError> {
    let Some(h) = buf.get(..12) else {
        return bad("ubus message shorter than its header");
    };
    let mut hdr = [0u8; 12];
    hdr.copy_from_slice(h);
    let need = header_needs(&hdr)?;
    let Some(body) = buf.get(12..12 + need) else {
        return bad("ubus message shorter than its container says");
    };
    Ok(Msg {
        typ: hdr[1],
        seq: u16::from_be_bytes([hdr[2], hdr[3]]),
        peer: u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]),
        body: body.to_vec(),
    })
}

// ---- encoding ----

fn put_attr(out: &mut Vec<u8>, id: u8, extended: bool, payload: &[u8]) {
    let len = (4 + payload.len()) as u32;
    let hdr =
        (u32::from(id & 0x7f) << 24) | (len & 0x00ff_ffff) | if extended { 0x8000_0000 } else { 0 };
    out.extend_from_slice(&hdr.to_be_bytes());
    out.extend_from_slice(payload);
    out.resize(pad4(out.len()), 0);
}

/// A plain blob attribute holding a u32.
pub fn put_u32(out: &mut Vec<u8>, id: u8, v: u32) {
    put_attr(out, id, false, &v.to_be_bytes());
}

/// A plain blob attribute holding a NUL-terminated string.
pub fn put_str(out: &mut Vec<u8>, id: u8, s: &str) {
    let mut p = s.as_bytes().to_vec();
    p.push(0);
    put_attr(out, id, false, &p);
}

/// A plain nested attribute (e.g. UBUS_ATTR_DATA) holding `inner` as it is.
pub fn put_nested(out: &mut Vec<u8>, id: u8, inner: &[u8]) {
    put_attr(out, id, false, inner);
}

fn put_blobmsg(out: &mut Vec<u8>, name: &str, v: &Value, depth: usize) {
    let mut p = Vec::new();
    p.extend_from_slice(&(name.len().min(0xffff) as u16).to_be_bytes());
    p.extend_from_slice(name.as_bytes().get(..name.len().min(0xffff)).unwrap_or(&[]));
    p.push(0);
    p.resize(pad4(p.len()), 0);
    let typ = match v {
        Value::Null => 0,
        Value::Bool(b) => {
            p.push(u8::from(*b));
            BLOBMSG_INT8
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if let Ok(i) = i32::try_from(i) {
                    p.extend_from_slice(&i.to_be_bytes());
                    BLOBMSG_INT32
                } else {
                    p.extend_from_slice(&i.to_be_bytes());
                    BLOBMSG_INT64
                }
            } else {
                p.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_bits().to_be_bytes());
                BLOBMSG_DOUBLE
            }
        }
        Value::String(s) => {
            p.extend_from_slice(s.as_bytes());
            p.push(0);
            BLOBMSG_STRING
        }
        // deeper than a decoder accepts: sent as null
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => 0,
        Value::Array(a) => {
            for x in a {
                put_blobmsg(&mut p, "", x, depth + 1);
            }
            BLOBMSG_ARRAY
        }
        Value::Object(m) => {
            for (k, x) in m {
                put_blobmsg(&mut p, k, x, depth + 1);
            }
            BLOBMSG_TABLE
        }
    };
    put_attr(out, typ, true, &p);
}

/// A JSON object as a blobmsg table body (what UBUS_ATTR_DATA carries).
pub fn encode_table(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if let Value::Object(m) = v {
        for (k, x) in m {
            put_blobmsg(&mut out, k, x, 0);
        }
    }
    out
}

/// A whole ubus message around the attributes in `body`.
pub fn encode_msg(typ: u8, seq: u16, peer: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + body.len());
    out.push(0);
    out.push(typ);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&peer.to_be_bytes());
    put_attr(&mut out, 0, false, body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_round_trip() {
        let v = json!({"up": true, "ipv4-address": [{"address": "192.168.1.1", "mask": 24}],
                       "uptime": 5_000_000_000i64, "load": 0.5, "none": null, "name": ""});
        assert_eq!(decode_table(&encode_table(&v)).unwrap(), v);
    }

    #[test]
    fn the_research_byte_example_encodes_exactly() {
        // ADD_OBJECT `rpinet` with one no-argument method `status` (openwrt.md §5.2)
        let mut sig = Vec::new();
        put_blobmsg(&mut sig, "status", &json!({}), 0);
        let mut body = Vec::new();
        put_str(&mut body, ATTR_OBJPATH, "rpinet");
        put_nested(&mut body, ATTR_SIGNATURE, &sig);
        let m = encode_msg(6, 1, 0, &body);
        let want: Vec<u8> = vec![
            0, 6, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x24, 0x02, 0, 0, 0x0b, b'r', b'p', b'i', b'n', b'e',
            b't', 0, 0, 0x06, 0, 0, 0x14, 0x82, 0, 0, 0x10, 0, 6, b's', b't', b'a', b't', b'u',
            b's', 0, 0, 0, 0,
        ];
        assert_eq!(m, want);
        let d = decode_msg(&m).unwrap();
        assert_eq!((d.typ, d.seq, d.peer), (6, 1, 0));
        assert_eq!(d.attr(ATTR_OBJPATH).unwrap().unwrap().str(), Some("rpinet"));
    }

    #[test]
    fn crafted_inputs_are_errors_not_panics() {
        // the ubus crate 0.1.7 panics on these (research/cross-build.md §4)
        let status_empty = encode_msg(MSG_STATUS, 1, 0, &[0x01, 0, 0, 4]);
        let d = decode_msg(&status_empty).unwrap();
        assert_eq!(d.attr(ATTR_STATUS).unwrap().unwrap().u32(), None);
        assert!(decode_table(&[0x83, 0, 0, 5, 0]).is_err()); // name length missing
        assert!(decode_table(&[0x83, 0, 0, 8, 0, 1, 0xff, 0]).is_err()); // name not UTF-8
        assert!(decode_table(&[0x83, 0, 0, 0xff, 0, 0]).is_err()); // longer than buffer
        assert!(decode_table(&[0x85, 0, 0, 8, 0, 0, 0, 0]).is_err()); // int32 without value
        assert!(decode_msg(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]).is_err()); // version 1
        assert!(decode_msg(&[0; 5]).is_err());
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!([deep]);
        }
        let mut buf = Vec::new();
        put_blobmsg(&mut buf, "x", &deep, 0);
        assert!(decode_table(&buf).is_ok()); // encoder stops at MAX_DEPTH
        // a reply of more than 64 KiB is fine
        let big = json!({"x": "a".repeat(200_000)});
        assert_eq!(decode_table(&encode_table(&big)).unwrap(), big);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..20_000 {
            let len = (round % 97) as usize;
            let mut b = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.push((x & 0xff) as u8);
            }
            // bias towards plausible headers
            if len > 4 && round % 3 == 0 {
                b[0] = 0x80 | (b[0] & 0x0f);
                b[1] = 0;
                b[2] = 0;
                b[3] = (len as u8) & 0xfc;
            }
            let _ = decode_table(&b);
            let _ = decode_msg(&b);
        }
    }
}
