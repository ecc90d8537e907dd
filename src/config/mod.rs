//! /etc/config/rpinet as typed values (docs/SPEC.md §1), validated once at the edge.
//!
//! Every option is checked against its type here, with an error that names the section and
//! the option; nothing downstream ever sees an unvalidated string, so no value can smuggle a
//! newline, quote or comma into a generated dnsmasq or exports file.

pub mod network;
pub mod request;
pub mod reserve;
pub mod ssh_key;
pub mod uci;

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use crate::bail;
use crate::config::uci::{Package, Section, Value};
use crate::error::{Error, Result};

pub const CONFIG_PATH: &str = "/etc/config/rpinet";

/// Ethernet OUIs of Raspberry Pi boards (Raspberry Pi Ltd and the Foundation): how a Pi 3 or
/// older loader, which sends no FourCC, is told apart, in dnsmasq and in discovery.
pub const PI_OUIS: [&str; 7] = [
    "b8:27:eb", "dc:a6:32", "e4:5f:01", "28:cd:c1", "d8:3a:dd", "2c:cf:67", "88:a2:9e",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Pi3,
    Pi4,
    Pi5,
}

impl Model {
    /// The file the loader probes for in its TFTP directory: without it, the directory is
    /// not used (the prefix is dropped and files come from the TFTP root).
    pub fn probe_file(self) -> &'static str {
        match self {
            Model::Pi3 => "start.elf",
            Model::Pi4 => "start4.elf",
            Model::Pi5 => "config.txt",
        }
    }

    /// Every model, as the `model` option names it.
    pub const CHOICES: [(&'static str, Model); 3] = [
        ("pi3", Model::Pi3),
        ("pi4", Model::Pi4),
        ("pi5", Model::Pi5),
    ];

    pub fn as_str(self) -> &'static str {
        choice_name(&Self::CHOICES, self)
    }
}

/// The option value that names `v` in `choices` (each value is named there once).
fn choice_name<T: PartialEq>(choices: &[(&'static str, T)], v: T) -> &'static str {
    choices
        .iter()
        .find(|(_, c)| *c == v)
        .map_or("", |(name, _)| name)
}

/// How the Pi names its TFTP directory: the EEPROM's TFTP_PREFIX 0, 2 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootId {
    Serial,
    Mac,
    Custom,
}

impl BootId {
    /// Every mode, as the `boot_id` option names it.
    pub const CHOICES: [(&'static str, BootId); 3] = [
        ("serial", BootId::Serial),
        ("mac", BootId::Mac),
        ("custom", BootId::Custom),
    ];

    pub fn as_str(self) -> &'static str {
        choice_name(&Self::CHOICES, self)
    }

    /// The EEPROM TFTP_PREFIX value for this mode.
    pub fn tftp_prefix(self) -> u8 {
        match self {
            BootId::Serial => 0,
            BootId::Custom => 1,
            BootId::Mac => 2,
        }
    }
}

/// What a node's root is (`root_mode`): the image's root, read-only and shared, under the
/// node's own changes (an overlay on the router), or a private full copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootMode {
    Shared,
    Copy,
}

impl RootMode {
    pub const CHOICES: [(&'static str, RootMode); 2] =
        [("shared", RootMode::Shared), ("copy", RootMode::Copy)];

    /// A node's root when neither its section nor the main section says.
    pub const DEFAULT: RootMode = RootMode::Shared;

    pub fn as_str(self) -> &'static str {
        choice_name(&Self::CHOICES, self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpMode {
    Server,
    Proxy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Registered,
    AnyPi,
}

/// A MAC address; displays lowercase and ':'-separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Accepts either case, ':' or '-' separated (people copy MACs from stickers).
    pub fn parse(s: &str) -> Option<Mac> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for byte in out.iter_mut() {
            let p = parts.next()?;
            if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            *byte = u8::from_str_radix(p, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(out))
    }

    /// The kebab form a Pi uses as its TFTP directory with TFTP_PREFIX=2.
    pub fn kebab(&self) -> String {
        self.to_string().replace(':', "-")
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub enabled: bool,
    /// 8 lowercase hex digits.
    pub serial: String,
    pub mac: Mac,
    pub model: Model,
    pub boot_id: BootId,
    /// TFTP_PREFIX_STR, set only when `boot_id` is custom.
    pub custom_dir: Option<String>,
    pub ip: Option<Ipv4Addr>,
    pub image: Option<String>,
    /// `volume_size` in bytes as the node's section gives it; `Some(0)` turns off the main
    /// section's default for this node ([`Config::volume_size_of`]).
    pub volume_size: Option<u64>,
    /// `list ssh_key`: this node's own keys (the main section's are added at provision).
    pub ssh_keys: Vec<String>,
    /// `root_mode`: None takes the main section's ([`Config::root_mode_of`]).
    pub root_mode: Option<RootMode>,
}

impl Node {
    /// The node's hostname: its name with '-' for '_'.
    pub fn hostname(&self) -> String {
        self.name.replace('_', "-")
    }

    /// The router path of the node's container volume directory (docs/SPEC.md §2).
    pub fn volume_dir(&self, storage: &str) -> String {
        format!("{storage}/volumes/{}", self.name)
    }

    /// The node's directory under tftp/ (docs/SPEC.md §2).
    pub fn boot_dir(&self) -> String {
        match self.boot_id {
            BootId::Serial => self.serial.clone(),
            BootId::Mac => self.mac.kebab(),
            BootId::Custom => self.custom_dir.clone().unwrap_or_default(),
        }
    }
}

/// Storage on an existing NFS server (`storage_server`, `storage_export`) instead of an SSD
/// on the router: rpinet mounts `host:export` at `storage_path` (NFSv3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsServer {
    /// An IPv4 address or a host name (lowercase).
    pub host: String,
    /// The exported directory, absolute.
    pub export: String,
}

impl NfsServer {
    /// The mount source, as the kernel shows it in the mount table: `host:/export`.
    pub fn source(&self) -> String {
        format!("{}:{}", self.host, self.export)
    }

    /// The address when `host` is one (a name is resolved by the mount).
    pub fn ip(&self) -> Option<Ipv4Addr> {
        self.host.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub enabled: bool,
    pub storage_uuid: Option<String>,
    pub storage_path: Option<String>,
    /// Storage on an NFS server: set instead of `storage_uuid`.
    pub server: Option<NfsServer>,
    pub interface: String,
    pub server_ip: Option<Ipv4Addr>,
    pub dhcp_mode: DhcpMode,
    pub matching: Match,
    /// Export every node's directories to the whole boot subnet (`export_subnet '1'`) instead
    /// of to the node's own address: only when the user asks for it (doctor warns).
    pub export_subnet: bool,
    /// The main section's `volume_size`: every node's volume unless its own says otherwise.
    pub volume_size: Option<u64>,
    /// The main section's `root_mode`: every node's unless its own says otherwise.
    pub root_mode: RootMode,
    pub nodes: Vec<Node>,
    /// The fleet settings of the main section.
    pub fleet: Fleet,
}

/// The main section's fleet options: keys for every node, the image catalog, the roll size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// `list ssh_key`: installed on every node.
    pub ssh_keys: Vec<String>,
    /// `catalog_url`: the JSON list of OS images (Raspberry Pi Imager's by default).
    pub catalog_url: String,
    /// `roll_batch`: how many nodes an image roll reimages at once.
    pub roll_batch: u32,
}

/// Raspberry Pi Imager's list of operating systems.
pub const CATALOG_URL: &str = "https://downloads.raspberrypi.com/os_list_imagingutility_v4.json";

impl Default for Fleet {
    fn default() -> Fleet {
        Fleet {
            ssh_keys: Vec::new(),
            catalog_url: CATALOG_URL.into(),
            roll_batch: 2,
        }
    }
}

impl Config {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The size of `n`'s container volume in bytes, None when it has none.
    pub fn volume_size_of(&self, n: &Node) -> Option<u64> {
        n.volume_size.or(self.volume_size).filter(|&s| s > 0)
    }

    /// The root `n` gets at its next provision.
    pub fn root_mode_of(&self, n: &Node) -> RootMode {
        n.root_mode.unwrap_or(self.root_mode)
    }

    /// The keys a node gets: every node's, then its own, each once.
    pub fn ssh_keys_of(&self, node: &Node) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in self.fleet.ssh_keys.iter().chain(&node.ssh_keys) {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }
}

/// Validate a parsed /etc/config/rpinet.
pub fn from_package(pkg: &Package) -> Result<Config> {
    read_package(pkg, true)
}

/// The main section alone (no nodes, none of them checked): what a command's clean-up needs
/// (the storage and the interface) from a config of any size.
pub fn main_section(pkg: &Package) -> Result<Config> {
    read_package(pkg, false)
}

fn read_package(pkg: &Package, with_nodes: bool) -> Result<Config> {
    let mut config = Config {
        enabled: true,
        storage_uuid: None,
        storage_path: None,
        server: None,
        interface: "lan".into(),
        server_ip: None,
        dhcp_mode: DhcpMode::Server,
        matching: Match::Registered,
        export_subnet: false,
        volume_size: None,
        root_mode: RootMode::DEFAULT,
        nodes: Vec::new(),
        fleet: Fleet::default(),
    };
    let mut seen_main = false;
    let mut names = BTreeMap::new();
    for (i, section) in pkg.sections.iter().enumerate() {
        let name = pkg.section_name(i);
        // uci refuses a whole file in which one name has two sections (a node 'main' beside
        // 'config rpinet main'); a file read from disk never has it, a change could.
        if let Some(other) = names.insert(name.clone(), section.kind.as_str()) {
            return Err(Error::new(format!(
                "section '{name}': the name is used by a 'config {other}' section too (uci refuses the file)"
            )));
        }
        match section.kind.as_str() {
            "rpinet" => {
                if seen_main {
                    return Err(Error::new(format!(
                        "section '{name}': a second 'config rpinet' section (only one is allowed)"
                    )));
                }
                seen_main = true;
                read_main(&mut config, section, &name)?;
            }
            "node" if !with_nodes => {}
            "node" => {
                if section.name.is_none() {
                    return Err(Error::new(format!(
                        "section '{name}': a node section needs a name (config node 'NAME')"
                    )));
                }
                let node = read_node(section, &name)?;
                if let Some(m) = node.root_mode {
                    check_root_mode(&config, m, &format!("node '{name}'"))?;
                }
                config.nodes.push(node);
            }
            _ => {} // Unknown section types belong to someone else (or a newer rpinet).
        }
    }
    check_unique(&config.nodes)?;
    Ok(config)
}

fn read_main(config: &mut Config, s: &Section, name: &str) -> Result<()> {
    let o = Options {
        section: s,
        label: format!("section '{name}'"),
    };
    config.enabled = o.bool("enabled", true)?;
    config.storage_uuid = o.parsed("storage_uuid", parse_uuid, "a filesystem UUID")?;
    config.storage_path = o.parsed("storage_path", parse_storage_path, "an absolute path")?;
    let host = o.parsed(
        "storage_server",
        parse_host,
        "an IPv4 address or a host name",
    )?;
    let export = o.parsed("storage_export", parse_export, "an absolute path")?;
    config.server = match (host, export) {
        (None, None) => None,
        (Some(host), Some(export)) => Some(NfsServer { host, export }),
        (h, _) => bail!(
            "{}: options 'storage_server' and 'storage_export' go together: '{}' is missing",
            o.label,
            if h.is_some() {
                "storage_export"
            } else {
                "storage_server"
            }
        ),
    };
    if config.server.is_some() && config.storage_uuid.is_some() {
        bail!(
            "{}: storage_uuid (an SSD on the router) and storage_server (an NFS server) both name the storage: keep one",
            o.label
        );
    }
    if let Some(i) = o.parsed("interface", parse_interface, "a network name")? {
        config.interface = i;
    }
    config.server_ip = o.parsed("server_ip", parse_ipv4, "an IPv4 address")?;
    config.dhcp_mode = o
        .choice(
            "dhcp_mode",
            &[("server", DhcpMode::Server), ("proxy", DhcpMode::Proxy)],
        )?
        .unwrap_or(DhcpMode::Server);
    config.matching = o
        .choice(
            "match",
            &[("registered", Match::Registered), ("any-pi", Match::AnyPi)],
        )?
        .unwrap_or(Match::Registered);
    config.export_subnet = o.bool("export_subnet", false)?;
    config.volume_size = o.parsed("volume_size", parse_size, SIZE_WHAT)?;
    if let Some(m) = o.choice("root_mode", &RootMode::CHOICES)? {
        check_root_mode(config, m, &o.label)?;
        config.root_mode = m;
    }
    if config.server.is_some() {
        config.root_mode = RootMode::Copy;
    }
    config.fleet.ssh_keys = o.keys()?;
    if let Some(u) = o.parsed("catalog_url", parse_url, "an http:// or https:// URL")? {
        config.fleet.catalog_url = u;
    }
    if let Some(n) = o.parsed("roll_batch", parse_batch, "a number from 1 to 64")? {
        config.fleet.roll_batch = n;
    }
    Ok(())
}

pub(crate) fn read_node(s: &Section, name: &str) -> Result<Node> {
    let label = format!("node '{name}'");
    if !valid_node_name(name) {
        return Err(Error::new(format!(
            "{label}: the name must be 1 to 32 of a-z, 0-9 and _"
        )));
    }
    let o = Options {
        section: s,
        label: label.clone(),
    };
    let serial = o
        .parsed("serial", parse_serial, "8 hex digits")?
        .ok_or_else(|| Error::new(format!("{label}: option 'serial' is missing")))?;
    let mac = o
        .parsed(
            "mac",
            |v| Mac::parse(v).filter(|_| !v.contains('-')),
            "a MAC like dc:a6:32:01:02:03",
        )?
        .ok_or_else(|| Error::new(format!("{label}: option 'mac' is missing")))?;
    let model = o.choice("model", &Model::CHOICES)?.unwrap_or(Model::Pi4);
    let boot_id = o
        .choice("boot_id", &BootId::CHOICES)?
        .unwrap_or(BootId::Serial);
    let custom_dir = o.parsed(
        "boot_dir",
        parse_boot_dir,
        "1 to 31 of A-Z a-z 0-9 . _ - (not starting with .)",
    )?;
    let custom_dir = match (boot_id, custom_dir) {
        (BootId::Custom, None) => {
            return Err(Error::new(format!(
                "{label}: option 'boot_dir' is required when boot_id is 'custom'"
            )));
        }
        (BootId::Custom, dir) => dir,
        (_, _) => None, // boot_dir only means something for custom; ignore a leftover value.
    };
    Ok(Node {
        name: name.to_string(),
        enabled: o.bool("enabled", true)?,
        serial,
        mac,
        model,
        boot_id,
        custom_dir,
        ip: o.parsed("ip", parse_ipv4, "an IPv4 address")?,
        image: o.parsed(
            "image",
            parse_image_name,
            "an image name (1 to 64 of A-Z a-z 0-9 . _ -)",
        )?,
        volume_size: o.parsed("volume_size", parse_size, SIZE_WHAT)?,
        ssh_keys: o.keys()?,
        root_mode: o.choice("root_mode", &RootMode::CHOICES)?,
    })
}

/// A shared root is an overlay whose upper holds the node's changes; the kernel refuses an
/// upper on NFS, so nodes on an NFS server get copies.
fn check_root_mode(config: &Config, mode: RootMode, label: &str) -> Result<()> {
    if mode == RootMode::Shared && config.server.is_some() {
        bail!(
            "{label}: option 'root_mode': 'shared' cannot be used with storage_server (an overlay's upper directory cannot be on NFS): use 'copy'"
        );
    }
    Ok(())
}

/// Two nodes may not share a serial, MAC, boot directory or fixed address.
fn check_unique(nodes: &[Node]) -> Result<()> {
    let mut seen: BTreeMap<(&str, String), &str> = BTreeMap::new();
    for n in nodes {
        let keys = [
            ("serial", n.serial.clone()),
            ("mac", n.mac.to_string()),
            ("boot directory", n.boot_dir()),
            ("ip", n.ip.map(|i| i.to_string()).unwrap_or_default()),
        ];
        for (what, value) in keys {
            if value.is_empty() {
                continue;
            }
            if let Some(other) = seen.insert((what, value.clone()), &n.name) {
                return Err(Error::new(format!(
                    "node '{}': {what} {value} is already used by node '{other}'",
                    n.name
                )));
            }
        }
    }
    Ok(())
}

/// Typed access to one section's options, with errors that name the section and option.
struct Options<'a> {
    section: &'a Section,
    label: String,
}

impl Options<'_> {
    fn raw(&self, option: &str) -> Result<Option<&str>> {
        match self.section.get(option) {
            None => Ok(None),
            Some(Value::Option(v)) => Ok(Some(v)),
            Some(Value::List(_)) => Err(Error::new(format!(
                "{}: option '{option}' must be a single value, not a list",
                self.label
            ))),
        }
    }

    fn parsed<T>(
        &self,
        option: &str,
        parse: impl Fn(&str) -> Option<T>,
        what: &str,
    ) -> Result<Option<T>> {
        match self.raw(option)? {
            None | Some("") => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| {
                Error::new(format!(
                    "{}: option '{option}': {} is not {what}",
                    self.label,
                    shown(v)
                ))
            }),
        }
    }

    fn choice<T: Copy>(&self, option: &str, choices: &[(&str, T)]) -> Result<Option<T>> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let what = format!("one of {}", names.join(", "));
        self.parsed(
            option,
            |v| choices.iter().find(|(n, _)| *n == v).map(|(_, t)| *t),
            &what,
        )
    }

    /// `list ssh_key` (or one `option ssh_key`): every value a valid key.
    fn keys(&self) -> Result<Vec<String>> {
        let values: Vec<&str> = match self.section.get("ssh_key") {
            None => Vec::new(),
            Some(Value::Option(v)) => vec![v.as_str()],
            Some(Value::List(vs)) => vs.iter().map(String::as_str).collect(),
        };
        let mut out = Vec::new();
        for (i, v) in values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.trim().is_empty())
        {
            let k = ssh_key::parse(v).ok_or_else(|| {
                Error::new(format!(
                    "{}: ssh_key {}: {} is not an OpenSSH public key line (one key a line: {} …)",
                    self.label,
                    i + 1,
                    shown(v),
                    ssh_key::TYPES[..3].join(" | ")
                ))
            })?;
            out.push(k);
        }
        Ok(out)
    }

    fn bool(&self, option: &str, default: bool) -> Result<bool> {
        Ok(self
            .parsed(
                option,
                parse_bool,
                "a boolean (1/0, yes/no, on/off, true/false)",
            )?
            .unwrap_or(default))
    }
}

/// Quote a bad value for an error message, escaping anything unprintable.
fn shown(v: &str) -> String {
    let cut: String = v.chars().take(64).collect();
    let more = if v.chars().count() > 64 { "…" } else { "" };
    format!("'{}{more}'", cut.escape_debug())
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "yes" | "on" | "true" | "enabled" => Some(true),
        "0" | "no" | "off" | "false" | "disabled" => Some(false),
        _ => None,
    }
}

pub fn valid_node_name(v: &str) -> bool {
    (1..=32).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// 8 hex digits, any case, stored lowercase.
pub fn parse_serial(v: &str) -> Option<String> {
    (v.len() == 8 && v.bytes().all(|b| b.is_ascii_hexdigit())).then(|| v.to_ascii_lowercase())
}

pub fn parse_ipv4(v: &str) -> Option<Ipv4Addr> {
    let ip: Ipv4Addr = v.parse().ok()?;
    (!ip.is_unspecified() && !ip.is_broadcast() && !ip.is_multicast()).then_some(ip)
}

/// A filesystem UUID as `block info` prints it: 8-4-4-4-12 hex (ext4, btrfs, xfs) or
/// XXXX-XXXX (FAT). Compared case-insensitively, stored lowercase.
pub fn parse_uuid(v: &str) -> Option<String> {
    let groups: Vec<&str> = v.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let shape_ok = lens == [8, 4, 4, 4, 12] || lens == [4, 4];
    (shape_ok
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit())))
    .then(|| v.to_ascii_lowercase())
}

/// The router's own filesystems: a storage path there would fill its flash or RAM.
const ROUTER_DIRS: [&str; 16] = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/overlay", "/proc", "/rom", "/root",
    "/sbin", "/sys", "/tmp", "/usr", "/var", "/www",
];

/// An absolute path of plain components, not `/` itself, no `.`/`..`, and not in the
/// router's own filesystems (/etc, /tmp, /overlay, /rom, ...): an SSD is mounted elsewhere,
/// as under /mnt.
pub fn parse_storage_path(v: &str) -> Option<String> {
    let v = parse_export(v)?;
    let own = ROUTER_DIRS
        .iter()
        .any(|d| v == *d || v.strip_prefix(d).is_some_and(|rest| rest.starts_with('/')));
    (!own).then_some(v)
}

/// An absolute path of plain components (A-Z a-z 0-9 . _ -), not `/` itself, no `.`/`..`,
/// at most 128 bytes: a directory an NFS server exports (`storage_export`).
pub fn parse_export(v: &str) -> Option<String> {
    let v = v.trim_end_matches('/');
    let ok = v.starts_with('/')
        && v.len() <= 128
        && v[1..].split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    ok.then(|| v.to_string())
}

/// An IPv4 address, or a host name (labels of a-z 0-9 -, not starting or ending with `-`,
/// at most 253 bytes), stored lowercase: `storage_server`.
pub fn parse_host(v: &str) -> Option<String> {
    if let Some(ip) = parse_ipv4(v) {
        return Some(ip.to_string());
    }
    let v = v.to_ascii_lowercase();
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    // all digits and dots is an address that did not parse, not a name
    let numeric = v.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (v.len() <= 253 && !numeric && v.split('.').all(label)).then_some(v)
}

/// An http(s) URL (the catalog's), as the downloader accepts it.
pub fn parse_url(v: &str) -> Option<String> {
    check_url(v).ok().map(|_| v.to_string())
}

/// A URL rpinet will fetch: `http://` or `https://`, a host, at most 2048
/// bytes, no spaces or control characters (it is one argument of a client).
pub fn check_url(url: &str) -> Result<()> {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
    else {
        bail!("'{}' is not an http:// or https:// URL", url.escape_debug());
    };
    if url.len() > 2048 || url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        bail!(
            "'{}' is not a URL (spaces, control characters or over 2048 bytes)",
            url.escape_debug()
        );
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with('-') || host.contains('@') {
        bail!("'{}' names no host", url.escape_debug());
    }
    Ok(())
}

/// How many nodes a roll reimages at once.
pub fn parse_batch(v: &str) -> Option<u32> {
    v.parse().ok().filter(|n| (1..=64).contains(n))
}

pub fn parse_interface(v: &str) -> Option<String> {
    ((1..=15).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| v.to_string())
}

fn safe_dir_name(v: &str, max: usize) -> bool {
    (1..=max).contains(&v.len())
        && !v.starts_with('.')
        && !v.starts_with('-')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The directory named by TFTP_PREFIX_STR: the EEPROM takes up to 32 characters including
/// the trailing '/', so 31 here, of what is safe in a path.
pub fn parse_boot_dir(v: &str) -> Option<String> {
    safe_dir_name(v, 31).then(|| v.to_string())
}

const SIZE_WHAT: &str = "a size like 32G (M, G or T; 256M to 16T, or 0 for none)";

/// A volume size: a number and M, G or T (binary units, either case), between 256 MiB and
/// 16 TiB (ext4 without the 64bit feature), or 0 for none.
pub fn parse_size(v: &str) -> Option<u64> {
    if v == "0" {
        return Some(0);
    }
    let (digits, unit) = v.split_at(v.char_indices().last()?.0);
    let shift = match unit {
        "M" | "m" => 20,
        "G" | "g" => 30,
        "T" | "t" => 40,
        _ => return None,
    };
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bytes = digits.parse::<u64>().ok()?.checked_shl(shift)?;
    ((256 << 20)..=(16 << 40)).contains(&bytes).then_some(bytes)
}

/// A size as [`parse_size`] reads it back: the largest unit that divides it.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        0 => "0".into(),
        b if b % (1 << 40) == 0 => format!("{}T", b >> 40),
        b if b % (1 << 30) == 0 => format!("{}G", b >> 30),
        b => format!("{}M", b >> 20),
    }
}

pub fn parse_image_name(v: &str) -> Option<String> {
    safe_dir_name(v, 64).then(|| v.to_string())
}

/// An image name given in a request (the config's `image` rule), or the one line that says
/// what is wrong with it.
pub fn check_image_name(v: &str) -> Result<String> {
    parse_image_name(v).ok_or_else(|| {
        Error::new(format!(
            "'{}' is not an image name (1-64 of A-Z a-z 0-9 . _ -, not starting with '.' or '-')",
            v.escape_debug()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::uci;

    #[test]
    fn only_http_and_https_urls() {
        assert!(check_url("http://127.0.0.1:8080/a.img.xz").is_ok());
        assert!(check_url("HTTPS://downloads.raspberrypi.com/x.img.xz?x=1").is_ok());
        for bad in [
            "ftp://h/a.img",
            "file:///etc/passwd",
            "/tmp/a.img",
            "http://",
            "http:///a",
            "http://h/a b",
            "http://-oProxy/a",
            "http://user@h/a",
            "http://h/a\n",
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(!e.message().contains('\n'), "{bad}: {e}");
        }
    }

    fn load(text: &str) -> Result<Config> {
        from_package(&uci::parse(text, "rpinet")?)
    }

    const GOOD: &str = "
config rpinet 'main'
	option storage_uuid '6A1F0000-1111-2222-3333-444455556666'
	option storage_path '/mnt/rpinet/'
	option dhcp_mode 'proxy'
	option match 'any-pi'

config node 'running_lion'
	option serial '38C128C0'
	option mac 'DC:A6:32:79:26:DF'
	option model 'pi5'
	option boot_id 'mac'
	option ip '192.168.1.50'

config node 'b'
	option serial '0000abcd'
	option mac 'dc:a6:32:00:00:01'
	option boot_id 'custom'
	option boot_dir 'rack1-b'
	option enabled '0'
";

    #[test]
    fn reads_every_option_and_applies_defaults() {
        let c = load(GOOD).unwrap();
        assert!(c.enabled);
        assert_eq!(
            c.storage_uuid.as_deref(),
            Some("6a1f0000-1111-2222-3333-444455556666")
        );
        assert_eq!(c.storage_path.as_deref(), Some("/mnt/rpinet"));
        assert_eq!(c.interface, "lan");
        assert_eq!((c.dhcp_mode, c.matching), (DhcpMode::Proxy, Match::AnyPi));
        let lion = c.node("running_lion").unwrap();
        assert_eq!(lion.serial, "38c128c0");
        assert_eq!(lion.mac.to_string(), "dc:a6:32:79:26:df");
        assert_eq!(lion.boot_dir(), "dc-a6-32-79-26-df");
        assert_eq!(lion.hostname(), "running-lion");
        assert_eq!(lion.model, Model::Pi5);
        let b = c.node("b").unwrap();
        assert_eq!(
            (b.model, b.enabled, b.boot_dir().as_str()),
            (Model::Pi4, false, "rack1-b")
        );
        let empty = load("").unwrap();
        assert_eq!(
            (empty.dhcp_mode, empty.matching, empty.storage_path),
            (DhcpMode::Server, Match::Registered, None)
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let base = "config node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n";
        let cases = [
            (
                "config rpinet 'a'\n",
                "'config node' above and 'config rpinet' here",
            ),
            (
                "config node 'b'\n option serial '11111111'\n option mac '02:00:00:00:00:02'\n",
                "serial 11111111 is already used by node 'a'",
            ),
            (
                "config node 'b'\n option serial '22222222'\n option mac '02:00:00:00:00:01'\n",
                "mac 02:00:00:00:00:01",
            ),
            (
                "config node 'b'\n option serial '22222222'\n option mac '02:00:00:00:00:02'\n option boot_id 'custom'\n option boot_dir '11111111'\n",
                "boot directory 11111111",
            ),
        ];
        for (second, want) in cases {
            let e = load(&format!("{base}{second}")).unwrap_err();
            assert!(e.message().contains(want), "{} lacks {want}", e.message());
        }
    }

    /// Every option, fed every kind of hostile value, is refused with its section and name.
    #[test]
    fn hostile_values_are_refused_naming_section_and_option() {
        let hostile = [
            "a\nb", "a'b", "a\"b", "a,b", "a#b", "a=b", "a b", "a\0b", "ünï", "../x", "x;reboot",
        ];
        let long = "a".repeat(300);
        let main_opts = [
            "storage_uuid",
            "storage_path",
            "interface",
            "server_ip",
            "dhcp_mode",
            "match",
            "enabled",
            "volume_size",
            "storage_server",
            "storage_export",
        ];
        let node_opts = [
            "serial",
            "mac",
            "model",
            "boot_id",
            "ip",
            "image",
            "enabled",
            "volume_size",
        ];
        for v in hostile.iter().copied().chain([long.as_str()]) {
            for opt in main_opts {
                let mut s = Section::new("rpinet", Some("main"));
                s.set(opt, v);
                let e = from_package(&Package { sections: vec![s] }).unwrap_err();
                assert!(
                    e.message()
                        .starts_with(&format!("section 'main': option '{opt}': ")),
                    "{}",
                    e.message()
                );
            }
            for opt in node_opts.iter().chain(["boot_dir"].iter()) {
                let mut s = Section::new("node", Some("n"));
                s.set("serial", "0000abcd");
                s.set("mac", "02:00:00:00:00:01");
                s.set(
                    "boot_id",
                    if *opt == "boot_dir" {
                        "custom"
                    } else {
                        "serial"
                    },
                );
                s.set("boot_dir", "ok");
                s.set(opt, v);
                let e = from_package(&Package { sections: vec![s] }).unwrap_err();
                assert!(
                    e.message()
                        .starts_with(&format!("node 'n': option '{opt}': ")),
                    "{}",
                    e.message()
                );
            }
        }
    }

    /// A value libuci takes but the schema does not is refused naming section and
    /// option; an option rpinet does not use never stops it, whatever it holds.
    #[test]
    fn values_uci_accepts_are_checked_only_where_rpinet_uses_them() {
        let node = "config node 'n'\n option serial '0000abcd'\n option mac '02:00:00:00:00:01'\n";
        let e = load(&format!("{node} option ip '10.0.0.1\n10.0.0.2'\n")).unwrap_err();
        assert_eq!(
            e.message(),
            "node 'n': option 'ip': '10.0.0.1\\n10.0.0.2' is not an IPv4 address"
        );
        let e = load(&format!(
            "{node} option model pi4#5\n option boot_id \\\nmac\n"
        ))
        .unwrap();
        assert_eq!(
            (e.nodes[0].model, e.nodes[0].boot_id),
            (Model::Pi4, BootId::Mac)
        );
        let c = load(&format!(
            "{node} option note 'two\nlines'\n list tags a\n option empty\nconfig extra 'x'\n option v \"a\\\\b\"\n"
        ))
        .unwrap();
        assert_eq!(c.nodes.len(), 1);
        let e = from_package(&Package {
            sections: vec![
                Section::new("rpinet", Some("n")),
                Section::new("node", Some("n")),
            ],
        })
        .unwrap_err();
        assert!(
            e.message()
                .contains("used by a 'config rpinet' section too"),
            "{e}"
        );
    }

    #[test]
    fn node_names_and_missing_options() {
        let e = load("config node 'Bad'\n").unwrap_err();
        assert!(e.message().contains("node 'Bad': the name must be"));
        let e = load("config node\n option serial '11111111'\n").unwrap_err();
        assert!(e.message().contains("needs a name"));
        let e = load("config node 'x'\n option mac '02:00:00:00:00:01'\n").unwrap_err();
        assert_eq!(e.message(), "node 'x': option 'serial' is missing");
        let e = load("config node 'x'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n option boot_id 'custom'\n").unwrap_err();
        assert!(e.message().contains("'boot_dir' is required"));
        let e = load("config node 'x'\n list serial '11111111'\n").unwrap_err();
        assert!(e.message().contains("must be a single value"));
        let e = load(&format!("config node '{}'\n", "a".repeat(33))).unwrap_err();
        assert!(e.message().contains("the name must be"));
    }

    #[test]
    fn value_parsers() {
        assert_eq!(
            Mac::parse("DC-A6-32-01-02-03").unwrap().to_string(),
            "dc:a6:32:01:02:03"
        );
        for bad in [
            "dc:a6:32:01:02",
            "dc:a6:32:01:02:03:04",
            "dc:a6:32:01:02:0g",
            "dca6.3201.0203",
            "d:a6:32:01:02:03",
        ] {
            assert!(Mac::parse(bad).is_none(), "{bad}");
        }
        assert!(parse_serial("1234567").is_none() && parse_serial("123456789").is_none());
        assert!(parse_ipv4("0.0.0.0").is_none() && parse_ipv4("1.2.3").is_none());
        assert!(parse_uuid("ABCD-1234").is_some() && parse_uuid("abcd").is_none());
        assert!(parse_storage_path("/").is_none() && parse_storage_path("mnt").is_none());
        for own in [
            "/overlay", "/etc", "/tmp", "/rom", "/tmp/ssd", "/etc/x", "/var/lib",
        ] {
            assert!(parse_storage_path(own).is_none(), "{own}");
        }
        for ok in ["/mnt/rpinet", "/srv/ssd", "/data", "/mnt/etc", "/tmpfs"] {
            assert!(parse_storage_path(ok).is_some(), "{ok}");
        }
        assert!(parse_image_name("-rf").is_none() && parse_boot_dir("-x").is_none());
        assert!(
            parse_storage_path("/mnt//x").is_none() && parse_storage_path("/mnt/./x").is_none()
        );
        assert!(parse_boot_dir(".hidden").is_none() && parse_boot_dir("a/b").is_none());
        assert_eq!(parse_size("32G"), Some(32 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("16T"), Some(16 << 40));
        assert_eq!(parse_size("0"), Some(0));
        for bad in [
            "",
            "G",
            "32",
            "32GB",
            "1.5G",
            "-1G",
            "255M",
            "17T",
            "99999999999T",
            "0G",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        for b in [256 << 20, 3 << 30, 1 << 40, (1 << 30) + (1 << 20), 0] {
            assert_eq!(parse_size(&size_text(b)), Some(b));
        }
    }

    #[test]
    fn storage_on_an_nfs_server() {
        let main = "config rpinet 'main'\n option storage_path '/mnt/rpinet'\n";
        let c = load(&format!(
            "{main} option storage_server 'NAS.lan'\n option storage_export '/mnt/tank/rpinet/'\n"
        ))
        .unwrap();
        let s = c.server.clone().unwrap();
        assert_eq!(
            (s.host.as_str(), s.export.as_str()),
            ("nas.lan", "/mnt/tank/rpinet")
        );
        assert_eq!(
            (s.source(), s.ip()),
            ("nas.lan:/mnt/tank/rpinet".into(), None)
        );
        // nodes on a server get copies: an overlay's upper cannot be on NFS
        assert_eq!(c.root_mode, RootMode::Copy);
        let c = load(&format!(
            "{main} option storage_server '10.0.0.2'\n option storage_export '/volume1/rpinet'\n"
        ))
        .unwrap();
        assert_eq!(c.server.unwrap().ip(), Some(Ipv4Addr::new(10, 0, 0, 2)));
        let cases = [
            (
                " option storage_server '10.0.0.2'\n",
                "section 'main': options 'storage_server' and 'storage_export' go together: 'storage_export' is missing",
            ),
            (
                " option storage_export '/x'\n",
                "section 'main': options 'storage_server' and 'storage_export' go together: 'storage_server' is missing",
            ),
            (
                " option storage_server 'nas'\n option storage_export '/x'\n option storage_uuid 'abcd-1234'\n",
                "section 'main': storage_uuid (an SSD on the router) and storage_server (an NFS server) both name the storage: keep one",
            ),
            (
                " option storage_server 'nas'\n option storage_export '/x'\n option root_mode 'shared'\n",
                "section 'main': option 'root_mode': 'shared' cannot be used with storage_server (an overlay's upper directory cannot be on NFS): use 'copy'",
            ),
            (
                " option storage_server 'nas'\n option storage_export '/x'\nconfig node 'n'\n option serial '0000abcd'\n option mac '02:00:00:00:00:01'\n option root_mode 'shared'\n",
                "node 'n': option 'root_mode': 'shared' cannot be used with storage_server (an overlay's upper directory cannot be on NFS): use 'copy'",
            ),
            (
                " option storage_server '10.0.0.256'\n option storage_export '/x'\n",
                "section 'main': option 'storage_server': '10.0.0.256' is not an IPv4 address or a host name",
            ),
            (
                " option storage_server 'nas'\n option storage_export 'tank'\n",
                "section 'main': option 'storage_export': 'tank' is not an absolute path",
            ),
        ];
        for (extra, want) in cases {
            assert_eq!(load(&format!("{main}{extra}")).unwrap_err().message(), want);
        }
        // 'copy' may be said, and an export may be anywhere on the server (its /etc too)
        load(&format!("{main} option storage_server 'nas'\n option storage_export '/etc/x'\n option root_mode 'copy'\n")).unwrap();
        for bad in [
            "-nas", "nas-", "a..b", "a_b", "nas:2049", "", "1.2.3", "a b",
        ] {
            assert_eq!(parse_host(bad), None, "{bad}");
        }
        assert_eq!(
            parse_host("Pi-Store.Home.arpa").as_deref(),
            Some("pi-store.home.arpa")
        );
        assert_eq!(parse_export("/"), None);
        assert_eq!(parse_export("/a,b"), None);
    }

    #[test]
    fn a_node_volume_overrides_the_default() {
        let text = "config rpinet 'main'\n option volume_size '32G'\n\
                    config node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n\
                    config node 'b'\n option serial '22222222'\n option mac '02:00:00:00:00:02'\n option volume_size '1T'\n\
                    config node 'c'\n option serial '33333333'\n option mac '02:00:00:00:00:03'\n option volume_size '0'\n";
        let c = load(text).unwrap();
        let sizes: Vec<Option<u64>> = c.nodes.iter().map(|n| c.volume_size_of(n)).collect();
        assert_eq!(sizes, [Some(32 << 30), Some(1 << 40), None]);
        let none =
            load("config node 'a'\n option serial '11111111'\n option mac '02:00:00:00:00:01'\n")
                .unwrap();
        assert_eq!(none.volume_size_of(&none.nodes[0]), None);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const MAIN: [&str; 7] = [
            "storage_uuid",
            "storage_path",
            "interface",
            "server_ip",
            "dhcp_mode",
            "match",
            "enabled",
        ];
        const NODE: [&str; 8] = [
            "serial", "mac", "model", "boot_id", "boot_dir", "ip", "image", "enabled",
        ];

        /// Characters a value may have once it reached a typed field.
        fn safe(s: &str) -> bool {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
        }

        fn node_with(option: &str, value: &str) -> Section {
            let mut s = Section::new("node", Some("n"));
            s.set("serial", "0000abcd");
            s.set("mac", "02:00:00:00:00:01");
            s.set(
                "boot_id",
                if option == "boot_dir" {
                    "custom"
                } else {
                    "serial"
                },
            );
            s.set("boot_dir", "ok");
            s.set(option, value);
            s
        }

        proptest! {
            // PROPTEST_CASES lowers this where cases are slow (under qemu-user).
            #![proptest_config(ProptestConfig::with_cases(
                std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
            ))]

            /// Any value for any option is either refused naming the section and option, or
            /// lands in a typed field holding only safe characters.
            #[test]
            fn any_value_is_refused_or_safe(value in "\\PC{0,40}|[\\x00-\\x7f]{0,12}", m in 0usize..7, k in 0usize..8) {
                let mut main = Section::new("rpinet", Some("main"));
                main.set(MAIN[m], &value);
                match from_package(&Package { sections: vec![main] }) {
                    Err(e) => {
                        let want = format!("section 'main': option '{}': ", MAIN[m]);
                        prop_assert!(e.message().starts_with(&want), "{}", e.message());
                    }
                    Ok(c) => {
                        let fields = [c.storage_uuid.unwrap_or_default(), c.storage_path.unwrap_or_default(), c.interface,
                                      c.server_ip.map(|i| i.to_string()).unwrap_or_default()];
                        prop_assert!(fields.iter().all(|f| safe(f)), "{:?}", fields);
                    }
                }
                match from_package(&Package { sections: vec![node_with(NODE[k], &value)] }) {
                    Err(e) => {
                        let want = format!("node 'n': option '{}'", NODE[k]);
                        prop_assert!(e.message().starts_with(&want), "{}", e.message());
                    }
                    Ok(c) => {
                        let n = &c.nodes[0];
                        let fields = [n.serial.clone(), n.mac.to_string(), n.boot_dir(), n.image.clone().unwrap_or_default(),
                                      n.ip.map(|i| i.to_string()).unwrap_or_default()];
                        prop_assert!(fields.iter().all(|f| safe(f)), "{:?}", fields);
                    }
                }
            }

            /// What `uci commit` would write reads back as the same package.
            #[test]
            fn uci_round_trip(values in proptest::collection::vec("[^\\x00]{0,20}", 1..6), name in "[a-z0-9_]{1,12}") {
                let mut s = Section::new("node", Some(&name));
                for (k, v) in values.iter().enumerate() {
                    if k % 2 == 0 { s.set(&format!("o{k}"), v) } else { s.add_list("l", v) }
                }
                let pkg = Package { sections: vec![s, Section::new("rpinet", None)] };
                prop_assert_eq!(uci::parse(&uci::serialize(&pkg), "t").unwrap(), pkg);
            }

            /// The reader never panics, whatever the file holds.
            #[test]
            fn uci_parse_never_panics(text in "\\PC{0,200}") {
                let _ = uci::parse(&text, "t").map(|p| from_package(&p));
            }
        }
    }
}
