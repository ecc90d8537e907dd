//! Boot tracing: from the event log to each node's last boot.
//!
//! A pure function of the events (see `events`), the nodes and what mountd's
//! rmtab says. A Pi's network boot shows up as:
//!
//! 1. `dhcp`: the bootloader's lease (vendor class `PXEClient…`). dnsmasq
//!    only runs its script when a lease is new or changed, so a reboot with a
//!    live lease has no dhcp event: a boot may also start at its first TFTP
//!    transfer.
//! 2. `firmware`: the first firmware file transferred (start4.elf, or
//!    config.txt on a Pi 5 whose firmware is in its EEPROM).
//! 3. `kernel`: a kernel image transferred (kernel8.img, kernel_2712.img …).
//! 4. `nfs`: mountd lists the node's root directory as mounted by its address.
//! 5. `up`: the OS's own DHCP request carrying its hostname, or the OS
//!    mounting its /boot/firmware (the TFTP dir) from fstab.
//! 6. how the boot ended, from the node's own report (`observe::report`) written during
//!    this boot: `running` (healthy), `degraded` (a unit failed, an ordering cycle cost a
//!    job, the container volume or an enabled runtime is not up) or `emergency`
//!    (emergency or rescue mode), with the reasons.
//!
//! A firmware file after a kernel, or a gap of more than [`NEW_BOOT_GAP`]
//! seconds, starts a new boot. The first required file that was not found
//! (or not readable) is the boot's error.

use std::collections::HashMap;

use crate::config::Config;
use crate::observe::events::{Event, EventKind, TIMED_OUT};
use crate::system::root::Root;

/// Seconds of silence after which the next event belongs to a new boot.
pub const NEW_BOOT_GAP: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    None,
    Dhcp,
    Firmware,
    Kernel,
    Nfs,
    Up,
    Running,
    Degraded,
    Emergency,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "none",
            Stage::Dhcp => "dhcp",
            Stage::Firmware => "firmware",
            Stage::Kernel => "kernel",
            Stage::Nfs => "nfs",
            Stage::Up => "up",
            Stage::Running => "running",
            Stage::Degraded => "degraded",
            Stage::Emergency => "emergency",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageMark {
    pub stage: Stage,
    pub time: u64,
    pub detail: String,
}

/// One node's last boot, as `status` reports it (docs/api.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Boot {
    pub stage: Stage,
    pub started: u64,
    pub updated: u64,
    pub ip: String,
    pub stages: Vec<StageMark>,
    pub error: Option<String>,
    /// No progress for longer than a Pi ever takes at this stage (see [`assess`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stalled: bool,
    /// One sentence: the likely cause and what to check (stalled or failed boots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The node's own report of this boot, once it wrote one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<crate::observe::report::Report>,
    /// Why this boot is degraded or in emergency mode, from its report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// What is wrong with what the node wrote as its report (it is not one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
}

impl Boot {
    pub fn none() -> Boot {
        Boot {
            stage: Stage::None,
            started: 0,
            updated: 0,
            ip: String::new(),
            stages: Vec::new(),
            error: None,
            stalled: false,
            hint: None,
            report: None,
            problems: Vec::new(),
            report_error: None,
        }
    }

    fn starting(time: u64) -> Boot {
        Boot {
            started: time,
            updated: time,
            ..Boot::none()
        }
    }

    fn reached(&self, s: Stage) -> bool {
        self.stage >= s
    }

    fn mark(&mut self, stage: Stage, time: u64, detail: String) {
        if self.stages.iter().any(|m| m.stage == stage) {
            return;
        }
        // kept in stage order
        let at = self.stages.partition_point(|m| m.stage < stage);
        self.stages.insert(
            at,
            StageMark {
                stage,
                time,
                detail,
            },
        );
        if stage > self.stage {
            self.stage = stage;
        }
    }
}

/// What tracing needs to know about one node.
#[derive(Debug, Clone)]
pub struct NodeKey {
    pub name: String,
    pub mac: String,
    /// Its fixed address, if it has one.
    pub ip: Option<String>,
    /// The TFTP directory name (serial, kebab MAC or custom).
    pub boot_dir: String,
    /// Router paths of its root and boot directories, as mountd records them
    /// (none when no storage is configured).
    pub nfs_dir: Option<String>,
    pub tftp_dir: Option<String>,
}

/// mountd's /var/lib/nfs/rmtab: `client:path:0xCOUNT` lines, and its mtime.
#[derive(Debug, Clone, Default)]
pub struct Rmtab {
    pub entries: Vec<(String, String)>,
    pub mtime: u64,
}

impl Rmtab {
    pub fn parse(text: &str, mtime: u64) -> Rmtab {
        let entries = text
            .lines()
            .filter_map(|l| {
                let (client, rest) = l.split_once(':')?;
                let path = match rest.rsplit_once(':') {
                    Some((p, count)) if count.starts_with("0x") => p,
                    _ => rest,
                };
                Some((client.to_string(), path.trim_end_matches('/').to_string()))
            })
            .collect();
        Rmtab { entries, mtime }
    }

    fn has(&self, ip: &str, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        self.entries.iter().any(|(c, p)| c == ip && p == path)
    }
}

/// The kind of a boot file, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Firmware,
    Kernel,
    Other,
}

/// The name in lower case, borrowed when it is already (as Pi boot files are).
fn lower(file: &str) -> std::borrow::Cow<'_, str> {
    if file.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(file.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(file)
    }
}

fn file_kind(file: &str) -> FileKind {
    let f = lower(file);
    let base = f.rsplit('/').next().unwrap_or(&f);
    if (base.starts_with("kernel") && base.ends_with(".img"))
        || base.starts_with("vmlinuz")
        || base.starts_with("vmlinux")
        || base == "zimage"
        || base == "image"
    {
        return FileKind::Kernel;
    }
    if f.contains('/') {
        return FileKind::Other; // overlays/…
    }
    if (base.starts_with("start") && base.ends_with(".elf"))
        || (base.starts_with("fixup") && base.ends_with(".dat"))
        || base == "bootcode.bin"
        || base == "config.txt"
        || base.starts_with("pieeprom.")
        || base.starts_with("recover")
        || base.starts_with("vl805.")
        || base == "autoboot.txt"
        || base == "bootcfg.txt"
    {
        return FileKind::Firmware;
    }
    FileKind::Other
}

/// Files whose absence stops a boot (the rest are probes the firmware makes
/// and shrugs off: pieeprom.sig, recovery.elf, dt-blob.bin, armstub8*.bin …).
pub fn is_required(file: &str) -> bool {
    let f = lower(file);
    if f.starts_with("overlays/") {
        return false;
    }
    let base = f.rsplit('/').next().unwrap_or(&f);
    (base.starts_with("start") && base.ends_with(".elf"))
        || (base.starts_with("fixup") && base.ends_with(".dat") && !base.contains("rc."))
        || base == "bootcode.bin"
        || base == "config.txt"
        || base == "cmdline.txt"
        || base.ends_with(".dtb")
        || file_kind(base) == FileKind::Kernel
}

fn is_pxe(vendor: &str) -> bool {
    vendor.starts_with("PXEClient")
}

/// Split a TFTP path into (dir, file) relative to the node dir it names, if
/// any: `/mnt/rpinet/tftp/91cdf03d/overlays/x.dtbo` → ("91cdf03d", "overlays/x.dtbo").
fn split_for<'a>(path: &'a str, boot_dir: &str) -> Option<&'a str> {
    if boot_dir.is_empty() {
        return None;
    }
    let needle = format!("/{boot_dir}/");
    let i = path.find(&needle)?;
    Some(&path[i + needle.len()..])
}

/// The path relative to the TFTP root (for root-level files and messages).
fn relative<'a>(path: &'a str, tftp_root: Option<&str>) -> &'a str {
    let Some(root) = tftp_root.map(|r| r.trim_end_matches('/')) else {
        return path;
    };
    path.strip_prefix(root)
        .map(|p| p.trim_start_matches('/'))
        .unwrap_or(path)
}

/// Lookups from what events carry to node indexes.
pub struct Index<'n> {
    by_dir: HashMap<&'n str, usize>,
    by_mac: HashMap<&'n str, usize>,
    by_ip: HashMap<&'n str, usize>,
}

impl<'n> Index<'n> {
    pub fn new(nodes: &'n [NodeKey]) -> Index<'n> {
        let mut ix = Index {
            by_dir: HashMap::new(),
            by_mac: HashMap::new(),
            by_ip: HashMap::new(),
        };
        for (i, n) in nodes.iter().enumerate() {
            if !n.boot_dir.is_empty() {
                ix.by_dir.entry(n.boot_dir.as_str()).or_insert(i);
            }
            ix.by_mac.entry(n.mac.as_str()).or_insert(i);
            if let Some(ip) = &n.ip {
                ix.by_ip.entry(ip.as_str()).or_insert(i);
            }
        }
        ix
    }
}

/// Which node an event belongs to, and the file name relative to its dir.
pub fn attribute<'e>(
    e: &'e Event,
    ix: &Index<'_>,
    ips: &crate::observe::events::IpMap<'_>,
    tftp_root: Option<&str>,
) -> Option<(usize, &'e str)> {
    match &e.kind {
        EventKind::Dhcp { mac, .. } => ix.by_mac.get(&**mac).map(|i| (*i, "")),
        EventKind::Tftp { addr, path, .. } | EventKind::Missing { addr, path, .. } => {
            // under the TFTP root, the first component names the dir (one lookup)
            if let Some(rel) = tftp_root
                .and_then(|root| path.strip_prefix(root.trim_end_matches('/')))
                .and_then(|r| r.strip_prefix('/'))
            {
                if let Some((dir, rest)) = rel.split_once('/') {
                    if let Some(i) = ix.by_dir.get(dir) {
                        if !rest.is_empty() {
                            return Some((*i, rest));
                        }
                    }
                }
            } else {
                // another root: the first path component that is a node's boot dir
                let mut at = 0;
                for comp in path.split('/') {
                    let end = at + comp.len();
                    if let Some(i) = ix.by_dir.get(comp) {
                        if let Some(rest) = path.get(end + 1..).filter(|r| !r.is_empty()) {
                            return Some((*i, rest));
                        }
                    }
                    at = end + 1;
                }
            }
            if addr.is_empty() {
                return None;
            }
            let i = ips
                .mac_at(addr, e.time)
                .and_then(|m| ix.by_mac.get(m))
                .or_else(|| ix.by_ip.get(&**addr))?;
            Some((*i, relative(path, tftp_root)))
        }
    }
}

/// The last boot of every node, in the order of `nodes`.
pub fn last_boots(
    nodes: &[NodeKey],
    events: &[Event],
    rmtab: &Rmtab,
    tftp_root: Option<&str>,
) -> Vec<Boot> {
    let ix = Index::new(nodes);
    let ips = crate::observe::events::IpMap::new(events);
    let mut per_node: Vec<Vec<(&Event, &str)>> = vec![Vec::new(); nodes.len()];
    for e in events {
        if let Some((i, file)) = attribute(e, &ix, &ips, tftp_root) {
            if let Some(v) = per_node.get_mut(i) {
                v.push((e, file));
            }
        }
    }
    nodes
        .iter()
        .zip(per_node.iter())
        .map(|(n, evs)| trace_node(n, evs, rmtab))
        .collect()
}

/// One node's events run through the stages: the boot going on and what may open the next.
struct Tracer<'e> {
    cur: Option<Boot>,
    /// A lease that may open the next boot (seen after a kernel, no hostname).
    pending_dhcp: Option<(u64, String)>,
    /// A firmware transfer after a silence, which opens the next boot only when another
    /// event follows it: a transfer that timed out long ago (a re-sent request dnsmasq
    /// answered to a port the Pi had closed) still ends as "sent", up to ~90 s late.
    tentative: Option<(&'e Event<'e>, &'e str)>,
    last_time: u64,
    /// files transferred in the current boot
    sent: std::collections::HashSet<&'e str>,
}

/// Run one node's events (time-ordered) through the stages.
fn trace_node<'e>(node: &NodeKey, events: &[(&'e Event<'e>, &'e str)], rmtab: &Rmtab) -> Boot {
    let mut t = Tracer {
        cur: None,
        pending_dhcp: None,
        tentative: None,
        last_time: 0,
        sent: std::collections::HashSet::new(),
    };
    for &(e, file) in events {
        if let Some((te, tfile)) = t.tentative.take() {
            if e.time <= te.time + NEW_BOOT_GAP {
                t.open(te.time);
                t.step(node, te, tfile);
            }
        }
        let gap = t.cur.is_some() && e.time > t.last_time + NEW_BOOT_GAP;
        if gap && !matches!(e.kind, EventKind::Dhcp { .. }) {
            // After a silence only the loader's first files start a boot; anything else
            // is a straggler of a transfer that began in the boot going on.
            let opener =
                matches!(e.kind, EventKind::Tftp { .. }) && file_kind(file) == FileKind::Firmware;
            if opener {
                t.tentative = Some((e, file));
            }
            continue;
        }
        t.step(node, e, file);
    }
    t.finish(node, rmtab)
}

impl<'e> Tracer<'e> {
    /// Start a new boot at `time`, taking a lease seen just before it.
    fn open(&mut self, time: u64) {
        self.sent.clear();
        let mut b = Boot::starting(time);
        if let Some((t, ip)) = self.pending_dhcp.take() {
            if time <= t + NEW_BOOT_GAP {
                b = Boot::starting(t);
                b.ip = ip.to_string();
                b.mark(Stage::Dhcp, t, format!("offered {ip}"));
            }
        }
        self.cur = Some(b);
        self.last_time = self.last_time.max(time);
    }

    fn step(&mut self, node: &NodeKey, e: &'e Event<'e>, file: &'e str) {
        let gap = self.cur.is_some() && e.time > self.last_time + NEW_BOOT_GAP;
        self.last_time = self.last_time.max(e.time);
        match &e.kind {
            EventKind::Dhcp {
                action,
                ip,
                hostname,
                vendor,
                ..
            } => {
                // a lease (add/update) or a proxy reply; a bare DISCOVER or a
                // client dnsmasq ignored is no offer
                let offer = match &**action {
                    "add" | "update" | "old" => format!("offered {ip}"),
                    "proxy" => "boot options sent (proxy DHCP)".to_string(),
                    _ => return,
                };
                let os_request = !is_pxe(vendor) && !hostname.is_empty();
                match self.cur.as_mut() {
                    // the OS's or initramfs' own request belongs to the boot that
                    // loaded the kernel, however slow the root was to come
                    Some(b) if b.reached(Stage::Kernel) && !is_pxe(vendor) => {
                        if os_request {
                            if !ip.is_empty() {
                                b.ip = ip.to_string();
                            }
                            b.updated = e.time;
                            b.mark(Stage::Up, e.time, format!("{hostname} at {ip}"));
                        } else {
                            // the initramfs' own DHCP, or the next boot's loader
                            self.pending_dhcp = Some((e.time, ip.to_string()));
                            b.updated = e.time;
                        }
                    }
                    Some(b) if !b.reached(Stage::Firmware) && !gap => {
                        if !ip.is_empty() {
                            b.ip = ip.to_string();
                        }
                        b.updated = e.time;
                        b.mark(Stage::Dhcp, e.time, offer);
                    }
                    _ => {
                        let mut b = Boot::starting(e.time);
                        if !ip.is_empty() {
                            b.ip = ip.to_string();
                        }
                        b.mark(Stage::Dhcp, e.time, offer);
                        self.cur = Some(b);
                        self.sent.clear();
                        self.pending_dhcp = None;
                    }
                }
            }
            EventKind::Tftp { addr, .. } | EventKind::Missing { addr, .. } => {
                let kind = file_kind(file);
                // A failed request only opens a boot when none is going on: syslog
                // lines merge into the log by the second, so their order among the
                // transfers of that second is not known.
                let missing = matches!(e.kind, EventKind::Missing { .. });
                let new_boot = match &self.cur {
                    None => true,
                    Some(b) => !missing && b.reached(Stage::Kernel) && kind == FileKind::Firmware,
                };
                if new_boot {
                    self.open(e.time);
                }
                let Some(b) = self.cur.as_mut() else { return };
                b.updated = b.updated.max(e.time);
                if !addr.is_empty() {
                    b.ip = addr.to_string();
                }
                match &e.kind {
                    EventKind::Tftp { .. } => {
                        self.sent.insert(file);
                        // the Pi fetched again what had timed out
                        if b.error
                            .as_deref()
                            .is_some_and(|m| m.starts_with(file) && m.contains("timed out"))
                        {
                            b.error = None;
                        }
                        match kind {
                            FileKind::Firmware => {
                                b.mark(Stage::Firmware, e.time, file.to_string());
                            }
                            FileKind::Kernel => {
                                b.mark(Stage::Firmware, e.time, file.to_string());
                                b.mark(Stage::Kernel, e.time, file.to_string());
                                // a Pi 5 falls back from kernel_2712.img to kernel8.img
                                if b.error.as_deref().is_some_and(|m| {
                                    m.split(' ')
                                        .next()
                                        .is_some_and(|f| file_kind(f) == FileKind::Kernel)
                                }) {
                                    b.error = None;
                                }
                            }
                            FileKind::Other => {}
                        }
                    }
                    EventKind::Missing { reason, .. } => {
                        // a file dnsmasq gave up sending was asked for, whatever it is
                        // (initramfs8 too); a file not found may be a probe
                        let needed = is_required(file) || reason == TIMED_OUT;
                        if b.error.is_none() && needed && !self.sent.contains(file) {
                            let place = if file.contains('/') || !in_node_dir(e, node) {
                                "the TFTP root".to_string()
                            } else {
                                format!("{}/", node.boot_dir)
                            };
                            b.error = Some(match &**reason {
                                "not found" => format!("{file} not found in {place}"),
                                TIMED_OUT => format!("{file} from {place}: transfer timed out"),
                                _ => format!("{file} in {place} cannot be read: {reason}"),
                            });
                        }
                    }
                    EventKind::Dhcp { .. } => {}
                }
            }
        }
    }

    fn finish(self, node: &NodeKey, rmtab: &Rmtab) -> Boot {
        let cur = self.cur;
        let Some(mut b) = cur else {
            return Boot::none();
        };
        // NFS and the OS's own mounts: mountd's rmtab, if written during this boot.
        if b.reached(Stage::Kernel) && !b.ip.is_empty() && rmtab.mtime >= b.started {
            let kernel_time = b
                .stages
                .iter()
                .find(|m| m.stage == Stage::Kernel)
                .map(|m| m.time)
                .unwrap_or(b.started);
            let t = rmtab.mtime.max(kernel_time);
            if let Some(nfs_dir) = node.nfs_dir.as_deref().filter(|d| rmtab.has(&b.ip, d)) {
                b.mark(Stage::Nfs, t, nfs_dir.to_string());
                b.updated = b.updated.max(t);
            }
            if let Some(tftp_dir) = node.tftp_dir.as_deref().filter(|d| rmtab.has(&b.ip, d)) {
                b.mark(Stage::Up, t, format!("mounted {tftp_dir}"));
                b.updated = b.updated.max(t);
            }
        }
        b
    }
}

fn in_node_dir(e: &Event, node: &NodeKey) -> bool {
    match &e.kind {
        EventKind::Tftp { path, .. } | EventKind::Missing { path, .. } => {
            split_for(path, &node.boot_dir).is_some()
        }
        EventKind::Dhcp { .. } => false,
    }
}

/// The longest a Pi takes to leave each stage, in seconds, when every Pi of a cluster powers
/// on at once: the loader's files under a storm with the EEPROM's default 30 s per-file
/// timeout and its retries (dhcp, firmware), the kernel and initramfs (firmware, kernel),
/// and the OS from its NFS root to its own DHCP request (nfs).
pub const STAGE_BUDGET: [(Stage, u64); 4] = [
    (Stage::Dhcp, 90),
    (Stage::Firmware, 180),
    (Stage::Kernel, 240),
    (Stage::Nfs, 300),
];

/// How long an OS that is up may take to report how its boot ended (start-up to the end,
/// with cloud-init's first boot, on a slow SD-less Pi): past this a node whose root reports
/// is stalled at `up`.
pub const REPORT_BUDGET: u64 = 900;

/// Mark `b` stalled when it has made no progress for longer than [`STAGE_BUDGET`] allows at
/// its stage by `now`, and say what to check for a stalled or failed boot.
pub fn assess(b: &mut Boot, now: u64, reports: bool) {
    b.hint = None;
    let budget = STAGE_BUDGET
        .iter()
        .find(|(s, _)| *s == b.stage)
        .map(|(_, secs)| *secs)
        .or((reports && b.stage == Stage::Up).then_some(REPORT_BUDGET));
    b.stalled = budget.is_some_and(|secs| now > b.updated.saturating_add(secs));
    if b.error.is_none() && !b.stalled {
        return;
    }
    let timed_out = b.error.as_deref().is_some_and(|e| e.contains("timed out"));
    b.hint = Some(
        match b.stage {
            _ if timed_out => {
                "a TFTP transfer timed out: the router was busy (a boot storm) or the link dropped packets; raise TFTP_FILE_TIMEOUT in the EEPROM and let BOOT_ORDER end in 0xf so the Pi retries"
            }
            Stage::None | Stage::Dhcp if b.error.is_some() => {
                "a file the loader needs is missing: provision the node or check its boot_id against the EEPROM's TFTP_PREFIX"
            }
            Stage::None | Stage::Dhcp => {
                "the Pi got an address but fetched no firmware: check that TFTP reaches the router and that TFTP_PREFIX matches the node's boot dir"
            }
            Stage::Firmware => {
                "the firmware loaded but no kernel came: check config.txt and the kernel file in the boot dir, and the Pi's console"
            }
            Stage::Kernel => {
                "the kernel loaded but never mounted its root: check cmdline.txt's nfsroot (the server address and path, vers=3), that nfsd runs with NFSv3 ('rpinet doctor'), the node's export, and that the initramfs the image boots with has NFS (Raspberry Pi OS's does)"
            }
            Stage::Nfs => {
                "the root is mounted but the OS never asked for its address: check the Pi's console (fstab, systemd) and its network setup"
            }
            Stage::Up => {
                "the OS mounted its root but never reported how its boot ended: it is waiting for something (fstab, a mount, a unit with no timeout) or stopped at a console prompt; check the Pi's console and `journalctl -b` there"
            }
            Stage::Running | Stage::Degraded | Stage::Emergency => return,
        }
        .to_string(),
    );
}

/// Take the node's report into its boot when it was written during this boot: the boot
/// ends `running`, `degraded` or `emergency`, with the reasons. A report of an earlier boot
/// is left out; one that is not a report is the boot's `report_error`.
pub fn apply_report(b: &mut Boot, report: Option<Result<crate::observe::report::Report, String>>) {
    let Some(report) = report else { return };
    let r = match report {
        Ok(r) => r,
        Err(e) => {
            b.report_error = Some(format!("its boot report {e}"));
            return;
        }
    };
    if b.stage == Stage::None || r.written < b.started {
        return;
    }
    let problems = r.problems();
    let (stage, detail) = if r.emergency() {
        (
            Stage::Emergency,
            format!("emergency mode: {}", problems.join("; ")),
        )
    } else if !problems.is_empty() {
        (Stage::Degraded, problems.join("; "))
    } else {
        let t = r.times.multi_user_ms.map_or(String::new(), |ms| {
            format!(" in {}.{} s", ms / 1000, ms % 1000 / 100)
        });
        (Stage::Running, format!("multi-user reached{t}"))
    };
    b.mark(stage, r.written, detail);
    b.updated = b.updated.max(r.written);
    b.problems = problems;
    b.report = Some(r);
}

// ---- the imperative edge ----

/// mountd's rmtab under `root`, with its mtime.
pub fn read_rmtab(root: &Root) -> Rmtab {
    let p = root.path("/var/lib/nfs/rmtab");
    let mtime = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let text = std::fs::read(&p).unwrap_or_default();
    Rmtab::parse(&String::from_utf8_lossy(&text), mtime)
}

/// The keys tracing uses for the configured nodes.
pub fn node_keys(cfg: &Config) -> Vec<NodeKey> {
    let sp = cfg.storage_path.as_deref();
    cfg.nodes
        .iter()
        .map(|n| NodeKey {
            name: n.name.clone(),
            mac: n.mac.to_string(),
            ip: n.ip.map(|i| i.to_string()),
            boot_dir: n.boot_dir(),
            nfs_dir: sp.map(|sp| format!("{sp}/nfs/{}", n.name)),
            tftp_dir: sp.map(|sp| format!("{sp}/tftp/{}", n.boot_dir())),
        })
        .collect()
}

/// The TFTP root rpinet serves from: storage_path/tftp, when storage is configured.
pub fn tftp_root(cfg: &Config) -> Option<String> {
    cfg.storage_path.as_deref().map(|sp| format!("{sp}/tftp"))
}

/// Each node's last boot, from `events`.
pub fn boots(root: &Root, cfg: &Config, events: &[Event]) -> Vec<(String, Boot)> {
    let keys = node_keys(cfg);
    let tftp_root = tftp_root(cfg);
    let mut boots = last_boots(&keys, events, &read_rmtab(root), tftp_root.as_deref());
    let now = crate::observe::events::now();
    for (k, b) in keys.iter().zip(boots.iter_mut()) {
        let nfs = k.nfs_dir.as_deref();
        // past `up` only: a boot that never mounted its root has no report to read
        if let Some(nfs) = nfs.filter(|_| b.reached(Stage::Nfs)) {
            apply_report(b, crate::observe::report::read(root, nfs));
        }
        let reports = nfs.is_some_and(|d| {
            let unit = format!(
                "{d}/etc/systemd/system/{}",
                crate::provision::report::UNIT_NAME
            );
            std::fs::symlink_metadata(root.path(unit)).is_ok_and(|m| m.is_file())
        });
        assess(b, now, reports);
    }
    keys.into_iter().map(|k| k.name).zip(boots).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> NodeKey {
        NodeKey {
            name: "running_lion".into(),
            mac: "dc:a6:32:79:26:df".into(),
            ip: None,
            boot_dir: "38c128c0".into(),
            nfs_dir: Some("/mnt/rpinet/nfs/running_lion".into()),
            tftp_dir: Some("/mnt/rpinet/tftp/38c128c0".into()),
        }
    }

    fn dhcp(t: u64, action: &str, host: &str, vendor: &str) -> Event<'static> {
        Event {
            time: t,
            kind: EventKind::Dhcp {
                action: action.to_string().into(),
                mac: "dc:a6:32:79:26:df".into(),
                ip: "192.168.1.57".into(),
                hostname: host.to_string().into(),
                vendor: vendor.to_string().into(),
            },
        }
    }
    fn sent(t: u64, f: &str) -> Event<'static> {
        Event {
            time: t,
            kind: EventKind::Tftp {
                size: 10,
                addr: "192.168.1.57".into(),
                path: format!("/mnt/rpinet/tftp/38c128c0/{f}").into(),
            },
        }
    }
    fn miss(t: u64, f: &str) -> Event<'static> {
        Event {
            time: t,
            kind: EventKind::Missing {
                addr: "".into(),
                path: format!("/mnt/rpinet/tftp/38c128c0/{f}").into(),
                reason: "not found".into(),
            },
        }
    }
    const PXE: &str = "PXEClient:Arch:00000:UNDI:002001";

    fn pi4_boot(t: u64) -> Vec<Event<'static>> {
        vec![
            dhcp(t, "add", "", PXE),
            sent(t + 1, "start4.elf"),
            sent(t + 1, "config.txt"),
            miss(t + 1, "pieeprom.sig"),
            miss(t + 1, "recover4.elf"),
            sent(t + 2, "start4.elf"),
            sent(t + 2, "fixup4.dat"),
            miss(t + 2, "dt-blob.bin"),
            sent(t + 3, "initramfs8"),
            sent(t + 3, "bcm2711-rpi-4-b.dtb"),
            sent(t + 3, "overlays/overlay_map.dtb"),
            sent(t + 3, "cmdline.txt"),
            miss(t + 3, "armstub8-gic.bin"),
            sent(t + 4, "kernel8.img"),
        ]
    }

    fn run(ev: &[Event], rmtab: &Rmtab) -> Boot {
        last_boots(&[key()], ev, rmtab, Some("/mnt/rpinet/tftp"))
            .pop()
            .unwrap()
    }

    #[test]
    fn no_events_no_boot() {
        assert_eq!(run(&[], &Rmtab::default()), Boot::none());
    }

    #[test]
    fn a_full_boot_reaches_up() {
        let mut ev = pi4_boot(1000);
        ev.push(dhcp(1020, "update", "running-lion", "dhcpcd-10.0.6:Linux"));
        let rm = Rmtab::parse(
            "192.168.1.57:/mnt/rpinet/nfs/running_lion:0x00000001\n",
            1010,
        );
        let b = run(&ev, &rm);
        assert_eq!(b.stage, Stage::Up);
        let names: Vec<_> = b.stages.iter().map(|m| m.stage.as_str()).collect();
        assert_eq!(names, ["dhcp", "firmware", "kernel", "nfs", "up"]);
        assert_eq!(b.stages[0].detail, "offered 192.168.1.57");
        assert_eq!(b.stages[1].detail, "start4.elf");
        assert_eq!(b.stages[2].detail, "kernel8.img");
        assert_eq!(b.stages[3].time, 1010);
        assert_eq!(b.error, None);
        assert_eq!((b.started, b.updated), (1000, 1020));
    }

    #[test]
    fn a_missing_kernel_stops_at_firmware() {
        let mut ev = pi4_boot(1000);
        ev.pop();
        ev.push(miss(1004, "kernel8.img"));
        let b = run(&ev, &Rmtab::default());
        assert_eq!(b.stage, Stage::Firmware);
        assert_eq!(
            b.error.as_deref(),
            Some("kernel8.img not found in 38c128c0/")
        );
    }

    #[test]
    fn a_reboot_starts_a_new_boot_without_dhcp() {
        let mut ev = pi4_boot(1000);
        ev.push(dhcp(1020, "update", "running-lion", "dhcpcd"));
        // reboot with the lease still valid: no dhcp event
        ev.push(sent(1100, "start4.elf"));
        ev.push(miss(1101, "cmdline.txt"));
        let b = run(&ev, &Rmtab::default());
        assert_eq!(b.stage, Stage::Firmware);
        assert_eq!(b.started, 1100);
        assert_eq!(
            b.error.as_deref(),
            Some("cmdline.txt not found in 38c128c0/")
        );
    }

    #[test]
    fn initramfs_dhcp_is_not_up_and_stale_rmtab_is_ignored() {
        let mut ev = pi4_boot(1000);
        ev.push(dhcp(1006, "update", "", "Linux ipconfig"));
        let rm = Rmtab::parse("192.168.1.57:/mnt/rpinet/nfs/running_lion:0x1\n", 900);
        let b = run(&ev, &rm);
        assert_eq!(b.stage, Stage::Kernel);
    }

    #[test]
    fn syslog_failures_of_the_same_second_stay_in_their_boot() {
        // logread lines merge by the second: the probes' failures land after the kernel
        let mut ev: Vec<Event> = pi4_boot(1000)
            .into_iter()
            .filter(|e| !matches!(e.kind, EventKind::Missing { .. }))
            .map(|mut e| {
                e.time = 1000;
                e
            })
            .collect();
        ev.push(miss(1000, "pieeprom.sig"));
        ev.push(miss(1000, "recover4.elf"));
        ev.push(miss(1000, "start4.elf")); // a probe, though start4.elf was sent
        let b = run(&ev, &Rmtab::default());
        assert_eq!(b.stage, Stage::Kernel);
        assert_eq!(b.error, None);
    }

    #[test]
    fn a_proxy_reply_starts_the_boot_and_a_discover_does_not() {
        let mut d = dhcp(1000, "discover", "", "");
        if let EventKind::Dhcp { ip, .. } = &mut d.kind {
            *ip = "".into();
        }
        assert_eq!(run(&[d], &Rmtab::default()), Boot::none());
        let mut p = dhcp(1000, "proxy", "", PXE);
        if let EventKind::Dhcp { ip, .. } = &mut p.kind {
            *ip = "".into();
        }
        let mut ev = vec![p];
        ev.extend(pi4_boot(1001).into_iter().skip(1));
        let b = run(&ev, &Rmtab::default());
        assert_eq!(b.stage, Stage::Kernel);
        assert_eq!(b.stages[0].detail, "boot options sent (proxy DHCP)");
        assert_eq!(b.ip, "192.168.1.57"); // from the transfers
    }

    #[test]
    fn pi5_falls_back_to_kernel8_without_error() {
        let ev = vec![
            sent(1, "config.txt"),
            sent(2, "bcm2712-rpi-5-b.dtb"),
            miss(3, "kernel_2712.img"),
            sent(4, "kernel8.img"),
        ];
        let b = run(&ev, &Rmtab::default());
        assert_eq!(b.stage, Stage::Kernel);
        assert_eq!(b.stages[0].detail, "config.txt");
        assert_eq!(b.error, None);
    }

    #[test]
    fn the_os_mounting_boot_firmware_means_up() {
        let ev = pi4_boot(1000);
        let rm = Rmtab::parse(
            "192.168.1.57:/mnt/rpinet/nfs/running_lion:0x1\n192.168.1.57:/mnt/rpinet/tftp/38c128c0:0x1\n",
            1030,
        );
        assert_eq!(run(&ev, &rm).stage, Stage::Up);
    }

    #[test]
    fn a_late_sent_never_resets_a_boot_that_made_progress() {
        // storm: a re-sent request's duplicate transfer times out on the Pi's closed port
        // and dnsmasq still reports it as "sent", 87 s after the boot's last file
        let mut ev = pi4_boot(1000);
        ev.push(sent(1091, "overlays/overlay_map.dtb"));
        ev.push(sent(1095, "start4.elf"));
        ev.push(miss(1096, "cmdline.txt"));
        let b = run(&ev, &Rmtab::default());
        // a firmware file followed within the gap by another request: a reboot
        assert_eq!(b.started, 1095);
        assert_eq!(b.stage, Stage::Firmware);
        let mut ev = pi4_boot(1000);
        ev.push(sent(1087, "overlays/overlay_map.dtb"));
        ev.push(sent(1150, "config.txt"));
        let b = run(&ev, &Rmtab::default());
        assert_eq!((b.started, b.stage), (1000, Stage::Kernel));
        assert_eq!(b.updated, 1004);
    }

    #[test]
    fn the_os_request_after_a_slow_root_is_up_not_a_new_boot() {
        let mut ev = pi4_boot(1000);
        ev.push(dhcp(1100, "update", "running-lion", "dhcpcd-10.0.6:Linux"));
        let b = run(&ev, &Rmtab::default());
        assert_eq!((b.started, b.stage), (1000, Stage::Up));
    }

    #[test]
    fn a_timed_out_transfer_is_the_boots_error_until_the_file_comes() {
        let mut ev = pi4_boot(1000);
        ev.pop();
        let mut t = miss(1040, "kernel8.img");
        if let EventKind::Missing { reason, .. } = &mut t.kind {
            *reason = TIMED_OUT.into();
        }
        ev.push(t);
        let b = run(&ev, &Rmtab::default());
        assert_eq!(b.stage, Stage::Firmware);
        assert_eq!(
            b.error.as_deref(),
            Some("kernel8.img from 38c128c0/: transfer timed out")
        );
        let mut late = b.clone();
        assess(&mut late, 1040 + 10, false);
        assert!(!late.stalled);
        assert!(late.hint.as_deref().unwrap().contains("TFTP_FILE_TIMEOUT"));
        ev.push(sent(1070, "kernel8.img"));
        let b = run(&ev, &Rmtab::default());
        assert_eq!((b.stage, b.error), (Stage::Kernel, None));
    }

    #[test]
    fn a_boot_stalls_past_its_stage_budget() {
        let b = run(&pi4_boot(1000), &Rmtab::default());
        for (now, stalled) in [(1004, false), (1004 + 240, false), (1004 + 241, true)] {
            let mut a = b.clone();
            assess(&mut a, now, false);
            assert_eq!(a.stalled, stalled, "at {now}");
            assert_eq!(a.hint.is_some(), stalled);
        }
        let mut a = b.clone();
        assess(&mut a, 1004 + 241, false);
        assert!(a.hint.unwrap().contains("nfsroot"));
        let mut none = Boot::none();
        assess(&mut none, u64::MAX, false);
        assert!(!none.stalled && none.hint.is_none());
        let json = serde_json::to_string(&b).unwrap();
        assert!(!json.contains("stalled") && !json.contains("hint"));
    }

    #[test]
    fn the_nodes_report_ends_the_boot() {
        use crate::observe::report::parse;
        let up = Boot {
            stage: Stage::Up,
            started: 1000,
            updated: 1040,
            ..Boot::none()
        };
        let report = |text: &str, written: u64| {
            let mut r = parse(format!("rpinet-boot-report 1\n{text}").as_bytes()).unwrap();
            r.written = written;
            Some(Ok(r))
        };
        let mut b = up.clone();
        apply_report(
            &mut b,
            report("state=running\nmulti_user_us=46000000\n", 1100),
        );
        assert_eq!((b.stage, b.updated), (Stage::Running, 1100));
        assert_eq!(
            b.stages.last().unwrap().detail,
            "multi-user reached in 46.0 s"
        );
        let mut b = up.clone();
        apply_report(
            &mut b,
            report("state=degraded\nfailed=resize2fs_once.service\n", 1100),
        );
        assert_eq!(b.stage, Stage::Degraded);
        assert_eq!(
            b.problems,
            ["systemd says degraded", "failed: resize2fs_once.service"]
        );
        let mut b = up.clone();
        apply_report(&mut b, report("state=maintenance\nmode=emergency\n", 1100));
        assert_eq!(b.stage, Stage::Emergency);
        // a report of an earlier boot is left out
        let mut b = up.clone();
        apply_report(&mut b, report("state=running\n", 999));
        assert_eq!((b.stage, b.report.is_none()), (Stage::Up, true));
        // what is not a report is said, and the boot stays up
        let mut b = up.clone();
        apply_report(&mut b, Some(Err("is larger than 16 KiB".into())));
        assert_eq!(b.stage, Stage::Up);
        assert_eq!(
            b.report_error.as_deref(),
            Some("its boot report is larger than 16 KiB")
        );
    }

    #[test]
    fn an_os_that_never_reports_stalls_at_up_only_where_its_root_reports() {
        let up = Boot {
            stage: Stage::Up,
            started: 1000,
            updated: 1040,
            ..Boot::none()
        };
        let mut a = up.clone();
        assess(&mut a, 1040 + REPORT_BUDGET + 1, true);
        assert!(a.stalled);
        assert!(a.hint.unwrap().contains("never reported"));
        let mut old_root = up.clone();
        assess(&mut old_root, u64::MAX, false);
        assert!(!old_root.stalled && old_root.hint.is_none());
        let mut done = Boot {
            stage: Stage::Running,
            ..up
        };
        assess(&mut done, u64::MAX, true);
        assert!(!done.stalled);
    }

    #[test]
    fn root_files_are_attributed_by_address() {
        let mut ev = vec![dhcp(1, "add", "", PXE)];
        ev.push(Event {
            time: 2,
            kind: EventKind::Missing {
                addr: "192.168.1.57".into(),
                path: "/mnt/rpinet/tftp/start4.elf".into(),
                reason: "not found".into(),
            },
        });
        let b = run(&ev, &Rmtab::default());
        assert_eq!(
            b.error.as_deref(),
            Some("start4.elf not found in the TFTP root")
        );
    }
}
