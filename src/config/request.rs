//! Requests typed at the edge. What the command line or a ubus call asks for arrives as
//! strings; here, in one place, it becomes typed values by the same rules the config file
//! obeys (the option parsers of [`super`]), before anything is stored. A `node add` is a
//! [`Node`] once [`NodeRequest::parse`] returns, and only a `Node` is ever written.

use super::uci::Section;
use super::{BootId, Mac, Node, valid_node_name};
use crate::error::{Error, Result};

/// What `node add` was asked for, as given on the command line or over ubus.
#[derive(Debug, Clone, Default)]
pub struct NodeRequest {
    pub name: String,
    pub serial: String,
    pub mac: String,
    pub model: Option<String>,
    pub boot_id: Option<String>,
    pub boot_dir: Option<String>,
    pub ip: Option<String>,
    /// `volume_size`, e.g. `32G`.
    pub volume_size: Option<String>,
}

impl NodeRequest {
    /// The node asked for, every value checked and in its stored form (lower-case serial,
    /// the 8 digits a Pi's TFTP directory uses, a ':' MAC), or the one error that names what
    /// was wrong.
    pub fn parse(&self) -> Result<Node> {
        if !valid_node_name(&self.name) {
            return Err(Error::new(format!(
                "node name '{}': must be 1 to 32 of a-z, 0-9 and _",
                self.name.escape_debug()
            )));
        }
        let mut s = Section::new("node", Some(&self.name));
        s.set("serial", &short_serial(&self.serial));
        // Either separator is accepted here (people copy MACs from stickers); the file holds ':'.
        let mac = Mac::parse(&self.mac).map_or_else(|| self.mac.clone(), |m| m.to_string());
        s.set("mac", &mac);
        for (option, value) in [
            ("model", &self.model),
            ("boot_id", &self.boot_id),
            ("boot_dir", &self.boot_dir),
            ("ip", &self.ip),
            ("volume_size", &self.volume_size),
        ] {
            if let Some(v) = value {
                s.set(option, v);
            }
        }
        let node = super::read_node(&s, &self.name)?;
        if self.boot_dir.is_some() && node.boot_id != BootId::Custom {
            return Err(Error::new(format!(
                "node '{}': --boot-dir needs --boot-id custom (the directory is the serial or MAC otherwise)",
                self.name
            )));
        }
        Ok(node)
    }
}

/// The serial as the Pi's TFTP directory uses it: /proc/cpuinfo's 16 digits are cut to
/// their low 32 bits (`10000000abcdef12` → `abcdef12`).
fn short_serial(s: &str) -> String {
    if s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        s[8..].to_string()
    } else {
        s.to_string()
    }
}

impl Node {
    /// The node as a `config node` section, options in the order `node add` writes them.
    pub fn to_section(&self) -> Section {
        let mut s = Section::new("node", Some(&self.name));
        s.set("enabled", if self.enabled { "1" } else { "0" });
        s.set("serial", &self.serial);
        s.set("mac", &self.mac.to_string());
        s.set("model", self.model.as_str());
        s.set("boot_id", self.boot_id.as_str());
        if let (BootId::Custom, Some(dir)) = (self.boot_id, &self.custom_dir) {
            s.set("boot_dir", dir);
        }
        if let Some(ip) = self.ip {
            s.set("ip", &ip.to_string());
        }
        if let Some(image) = &self.image {
            s.set("image", image);
        }
        if let Some(size) = self.volume_size {
            s.set("volume_size", &super::size_text(size));
        }
        s
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A request with only the required values.
    pub(crate) fn req(name: &str, serial: &str, mac: &str) -> NodeRequest {
        NodeRequest {
            name: name.into(),
            serial: serial.into(),
            mac: mac.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_becomes_a_node_in_stored_form() {
        let n = req("lion", "100000003A4B5C6D", "DC-A6-32-01-02-03")
            .parse()
            .unwrap();
        assert_eq!(n.serial, "3a4b5c6d");
        assert_eq!(n.mac.to_string(), "dc:a6:32:01:02:03");
        let n = req("lion", "38C128C0", "dc:a6:32:01:02:03")
            .parse()
            .unwrap();
        assert_eq!(n.serial, "38c128c0");
        let mut r = req("lion", "38C128C0", "dc:a6:32:01:02:03");
        r.volume_size = Some("32g".into());
        let n = r.parse().unwrap();
        assert_eq!(n.volume_size, Some(32 << 30));
        assert_eq!(
            n.to_section().get("volume_size"),
            Some(&crate::config::uci::Value::Option("32G".into()))
        );
        r.volume_size = Some("32".into());
        let e = r.parse().unwrap_err();
        assert!(
            e.message()
                .starts_with("node 'lion': option 'volume_size': '32' is not a size"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        let e = req("cat", "11111111", "dc:a6:32:01:02:0")
            .parse()
            .unwrap_err();
        assert!(e.message().starts_with("node 'cat': option 'mac': "), "{e}");
        let e = req("cat", "1111111", "dc:a6:32:01:02:03")
            .parse()
            .unwrap_err();
        assert!(
            e.message().starts_with("node 'cat': option 'serial': "),
            "{e}"
        );
        let e = req("Cat'\n", "11111111", "dc:a6:32:01:02:05")
            .parse()
            .unwrap_err();
        assert!(e.message().starts_with("node name 'Cat\\'\\n'"), "{e}");
    }
}
