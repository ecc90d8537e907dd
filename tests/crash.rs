//! kill -9 at random moments of every command that changes state, then the next command
//! (`rpinet apply`, as procd runs it at boot and on every config change): the system must be
//! wholly as before or wholly as after — never mixed — and nothing a dead run staged may be
//! left. RPINET_CRASH_RUNS moments per command (3 by default; `make test-crash` runs 100 and
//! prints the table).

mod common;
mod image_util;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Lab;

fn runs() -> usize {
    std::env::var("RPINET_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// What the --root tree holds after the next command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Old,
    New,
    Mixed,
}

#[derive(Default, Debug)]
struct Tally {
    old: usize,
    new: usize,
    mixed: usize,
    leftovers: usize,
    killed: usize,
}

/// A tiny deterministic generator: the moments differ from run to run, reproducibly.
fn moment(i: usize, max: Duration) -> Duration {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    max.mul_f64((x % 10_000) as f64 / 10_000.0)
}

/// Names rpinet stages under, journals and temp files included.
fn is_leftover(name: &str) -> bool {
    name.starts_with('.')
        && [".rpinet-", ".new-", ".switch-", "rpinet-journal"]
            .iter()
            .any(|t| name.contains(t))
        || [".import-", ".deleting-", ".purge-"]
            .iter()
            .any(|t| name.starts_with(t))
}

fn leftovers(lab: &Lab) -> Vec<String> {
    let mut out = Vec::new();
    for d in [
        "mnt/rpinet/images",
        "mnt/rpinet/tftp",
        "mnt/rpinet/nfs",
        "mnt/rpinet/roots",
        "etc",
        "etc/config",
        "tmp/dnsmasq.d",
        "tmp/dnsmasq.d/rpinet.hosts",
    ] {
        if let Ok(rd) = std::fs::read_dir(lab.path(d)) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if is_leftover(&n) {
                    out.push(format!("{d}/{n}"));
                }
            }
        }
    }
    out
}

/// Node names in the config.
fn config_nodes(lab: &Lab) -> BTreeSet<String> {
    lab.read("etc/config/rpinet")
        .lines()
        .filter_map(|l| l.strip_prefix("config node '"))
        .map(|l| l.trim_end_matches('\'').to_string())
        .collect()
}

/// Whether the generated files agree with the config: a host entry and an export for every
/// node and for no other.
fn files_follow_config(lab: &Lab) -> bool {
    let nodes = config_nodes(lab);
    let hosts: BTreeSet<String> = std::fs::read_dir(lab.path("tmp/dnsmasq.d/rpinet.hosts"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    let exports = std::fs::read_to_string(lab.path("etc/exports")).unwrap_or_default();
    let exported: BTreeSet<String> = exports
        .lines()
        .filter_map(|l| l.strip_prefix("/mnt/rpinet/nfs/"))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    hosts == nodes && exported == nodes
}

/// Run `args` under the lab, kill it after `after` (if it still runs), and say whether it
/// was killed.
fn kill_after(lab: &Lab, args: &[&str], after: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rpinet"))
        .arg("--root")
        .arg(lab.dir())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    killed
}

/// How long `args` takes uninterrupted on a lab made by `setup`.
fn duration(setup: &dyn Fn(&str) -> Lab, args: &[&str]) -> Duration {
    let lab = setup("timing");
    let t = Instant::now();
    lab.ok(args);
    t.elapsed()
}

/// kill -9 `args` at `runs()` moments; after each, `rpinet apply`, then `state` of the tree.
fn crash(
    what: &str,
    setup: &dyn Fn(&str) -> Lab,
    args: &[&str],
    state: &dyn Fn(&Lab) -> State,
) -> Tally {
    let full = duration(setup, args);
    let mut t = Tally::default();
    for i in 0..runs() {
        let lab = setup(&format!("{i}"));
        t.killed += kill_after(&lab, args, moment(i, full.mul_f64(1.1))) as usize;
        lab.ok(&["apply"]);
        let left = leftovers(&lab);
        if !left.is_empty() {
            eprintln!("{what} run {i}: left {left:?}");
        }
        t.leftovers += left.len();
        match state(&lab) {
            State::Old => t.old += 1,
            State::New => t.new += 1,
            State::Mixed => {
                eprintln!("{what} run {i}: mixed state");
                t.mixed += 1
            }
        }
    }
    println!(
        "crash: {what:<16} runs {:>3}  killed {:>3}  old {:>3}  new {:>3}  mixed {}  leftovers {}",
        runs(),
        t.killed,
        t.old,
        t.new,
        t.mixed,
        t.leftovers
    );
    t
}

fn assert_clean(t: &Tally) {
    assert_eq!((t.mixed, t.leftovers), (0, 0), "{t:?}");
}

/// A lab with `n` nodes in the config (applied when `applied`).
/// The main section's root_mode (the lab's main section is the config's last).
fn set_root_mode(lab: &Lab, mode: &str) {
    let cfg = lab.read("etc/config/rpinet");
    lab.write(
        "etc/config/rpinet",
        &format!("{cfg}\toption root_mode '{mode}'\n"),
    );
}

fn lab_with_nodes(tag: &str, n: usize, applied: bool) -> Lab {
    let lab = Lab::new(tag);
    // A /16: a thousand nodes each get an address reservation.
    lab.write(
        "etc/config/network",
        "\nconfig interface 'lan'\n\toption proto 'static'\n\toption ipaddr '10.9.0.1'\n\toption netmask '255.255.0.0'\n",
    );
    let mut text = lab.read("etc/config/rpinet");
    for i in 0..n {
        text.push_str(&format!(
            "\nconfig node 'n{i}'\n\toption serial '{:08x}'\n\toption mac 'dc:a6:32:{:02x}:{:02x}:{:02x}'\n",
            0x1000_0000 + i,
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff
        ));
    }
    lab.write("etc/config/rpinet", &text);
    if applied {
        lab.ok(&["apply"]);
    }
    lab
}

#[test]
fn apply_of_1000_nodes() {
    let setup = |tag: &str| lab_with_nodes(&format!("crash-apply-{tag}"), 1000, false);
    let t = crash("apply 1000", &setup, &["apply"], &|lab| {
        if files_follow_config(lab) {
            State::New
        } else {
            State::Mixed
        }
    });
    assert_clean(&t);
}

#[test]
fn node_add_and_remove_purge() {
    let setup = |tag: &str| lab_with_nodes(&format!("crash-add-{tag}"), 20, true);
    let add = &[
        "node",
        "add",
        "lion",
        "--serial",
        "38c128c0",
        "--mac",
        "dc:a6:32:79:26:df",
    ];
    let t = crash("node add", &setup, add, &|lab| {
        let has = config_nodes(lab).contains("lion");
        let dirs = lab.path("mnt/rpinet/nfs/lion").is_dir();
        match (files_follow_config(lab), has, dirs) {
            (true, false, false) => State::Old,
            (true, true, true) => State::New,
            _ => State::Mixed,
        }
    });
    assert_clean(&t);

    let setup = |tag: &str| {
        let lab = lab_with_nodes(&format!("crash-rm-{tag}"), 20, true);
        // Something to delete: a root of a few thousand files.
        let root = lab.path("mnt/rpinet/nfs/n3");
        for d in 0..20 {
            let dir = root.join(format!("usr/d{d}"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..100 {
                std::fs::write(dir.join(format!("f{f}")), b"x").unwrap();
            }
        }
        lab
    };
    let t = crash(
        "node remove",
        &setup,
        &["node", "remove", "n3", "--purge"],
        &|lab| {
            let has = config_nodes(lab).contains("n3");
            let root = lab.path("mnt/rpinet/nfs/n3/usr/d19/f99").exists();
            let dir = lab.path("mnt/rpinet/nfs/n3").exists();
            match (files_follow_config(lab), has, root, dir) {
                (true, true, true, _) => State::Old,
                // Killed after the move aside: the node stays, its directories were swept
                // (empty again after apply): a retry removes it.
                (true, true, false, true) => State::Old,
                (true, false, false, false) => State::New,
                _ => State::Mixed,
            }
        },
    );
    assert_clean(&t);
}

/// An image directory `images/NAME` whose every file says `mark`.
fn fake_image(lab: &Lab, name: &str, mark: &str) {
    let base = lab.path(&format!("mnt/rpinet/images/{name}"));
    std::fs::create_dir_all(base.join("boot")).unwrap();
    std::fs::write(
        base.join("boot/cmdline.txt"),
        "console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n",
    )
    .unwrap();
    std::fs::write(base.join("boot/start4.elf"), mark).unwrap();
    std::fs::write(base.join("boot/mark"), mark).unwrap();
    std::fs::create_dir_all(base.join("root/etc")).unwrap();
    std::fs::write(base.join("root/etc/mark"), mark).unwrap();
    std::fs::write(
        base.join("root/etc/fstab"),
        "PARTUUID=1234-01 /boot/firmware vfat defaults 0 2\n",
    )
    .unwrap();
    for d in 0..10 {
        let dir = base.join(format!("root/usr/d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(dir.join(format!("f{f}")), mark.repeat(100)).unwrap();
        }
    }
}

fn marks(lab: &Lab, node: &str, boot_dir: &str) -> (String, String) {
    let r = |p: &str| std::fs::read_to_string(lab.path(p)).unwrap_or_default();
    (
        r(&format!("mnt/rpinet/tftp/{boot_dir}/mark")),
        r(&format!("mnt/rpinet/nfs/{node}/etc/mark")),
    )
}

fn image_recorded(lab: &Lab) -> Option<String> {
    lab.read("etc/config/rpinet")
        .split("config node 'lion'")
        .nth(1)?
        .split("\nconfig ")
        .next()?
        .lines()
        .find_map(|l| l.trim().strip_prefix("option image '"))
        .map(|v| v.trim_end_matches('\'').to_string())
}

#[test]
fn first_provision_and_reimage() {
    provision_and_reimage("copy");
}

/// The same on shared roots: the overlay mounted by the next command (apply) shows the node's
/// root whole, old or new, and no staging overlay stays mounted.
#[test]
fn first_provision_and_reimage_shared() {
    provision_and_reimage("shared");
}

fn provision_and_reimage(mode: &str) {
    let base = |tag: &str| {
        let lab = lab_with_nodes(&format!("{mode}-{tag}"), 0, false);
        set_root_mode(&lab, mode);
        lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
        fake_image(&lab, "alpha", "A");
        fake_image(&lab, "beta", "B");
        lab
    };
    let state = |old: &str, new: &str| {
        let old = old.to_string();
        let new = new.to_string();
        move |lab: &Lab| -> State {
            let (b, r) = marks(lab, "lion", "38c128c0");
            let rec = image_recorded(lab).unwrap_or_default();
            let want = |m: &str| {
                if m == "A" {
                    "alpha"
                } else if m == "B" {
                    "beta"
                } else {
                    ""
                }
            };
            let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
            let staged = format!("{}/mnt/rpinet/roots/.", lab.dir().display());
            if mounts.lines().any(|l| l.contains(&staged)) {
                eprintln!("a staging overlay is still mounted");
                return State::Mixed;
            }
            match (b == r, b.as_str()) {
                (true, m) if m == new && rec == want(m) => State::New,
                (true, m) if m == old && rec == want(m) => State::Old,
                _ => State::Mixed,
            }
        }
    };
    let setup = |tag: &str| base(&format!("crash-prov-{tag}"));
    let t = crash(
        &format!("first provision ({mode})"),
        &setup,
        &["node", "provision", "lion", "--image", "alpha"],
        &state("", "A"),
    );
    assert_clean(&t);
    let setup = |tag: &str| {
        let lab = base(&format!("crash-reimage-{tag}"));
        lab.ok(&["node", "provision", "lion", "--image", "alpha"]);
        lab
    };
    let t = crash(
        &format!("reimage ({mode})"),
        &setup,
        &["node", "provision", "lion", "--image", "beta"],
        &state("A", "B"),
    );
    assert_clean(&t);
}

/// `node rollback` after an image roll kept the node's alpha trees and put it on beta: the
/// node is on beta or back on alpha, boot and root alike, the config saying which; and a
/// rollback that finished leaves no tree a second rollback could take.
#[test]
fn rollback() {
    let setup = |tag: &str| {
        let lab = lab_with_nodes(&format!("crash-rollback-{tag}"), 0, false);
        // the roll below is staged by renaming copies: a shared root is a mount point
        set_root_mode(&lab, "copy");
        lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
        fake_image(&lab, "alpha", "A");
        fake_image(&lab, "beta", "B");
        lab.ok(&["node", "provision", "lion", "--image", "alpha"]);
        // what a roll leaves while it waits for the node
        for (from, to) in [
            ("nfs/lion", "nfs/.lion.prev"),
            ("tftp/38c128c0", "tftp/.38c128c0.prev"),
        ] {
            let p = |rel: &str| lab.path(&format!("mnt/rpinet/{rel}"));
            std::fs::rename(p(from), p(to)).unwrap();
        }
        lab.write("mnt/rpinet/nfs/.lion.prev.image", "alpha");
        lab.ok(&["node", "provision", "lion", "--image", "beta"]);
        lab
    };
    let state = |lab: &Lab| -> State {
        let (b, r) = marks(lab, "lion", "38c128c0");
        let rec = image_recorded(lab).unwrap_or_default();
        let kept = lab.path("mnt/rpinet/nfs/.lion.prev").exists()
            || lab.path("mnt/rpinet/tftp/.38c128c0.prev").exists();
        match (b.as_str(), r.as_str(), rec.as_str(), kept) {
            ("B", "B", "beta", true) => State::Old,
            ("A", "A", "alpha", false) => State::New,
            _ => State::Mixed,
        }
    };
    let t = crash("rollback", &setup, &["node", "rollback", "lion"], &state);
    assert_clean(&t);
}

#[test]
fn image_import() {
    let img = image_util::shared_image().join("disk.img.xz");
    let setup = |tag: &str| {
        let lab = lab_with_nodes(&format!("crash-import-{tag}"), 0, true);
        std::fs::copy(&img, lab.path("os.img.xz")).unwrap();
        lab
    };
    let t = crash(
        "image import",
        &setup,
        // An absolute path is a router path: the lab's own copy.
        &["image", "import", "/os.img.xz", "--name", "os"],
        &|lab| {
            let dir = lab.path("mnt/rpinet/images/os");
            match (dir.exists(), dir.join("image.json").is_file()) {
                (false, _) => State::Old,
                (true, true) => State::New,
                (true, false) => State::Mixed,
            }
        },
    );
    assert_clean(&t);
}
