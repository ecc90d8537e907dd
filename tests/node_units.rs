//! The systemd units a node boots with, judged by this machine's own systemd: for each image
//! style (Debian's docker.io with containerd, containerd alone, k3s) the real binary
//! provisions a node with a container volume, and `systemd-analyze --root=<node root> verify`
//! must find no ordering cycle in the boot to multi-user.target nor in emergency and rescue
//! mode. A cycle is no error to systemd: it deletes one of the jobs (the volume's, the
//! socket's, a target's: it varies) and the node still reports running, so nothing but
//! a check like this one shows it before a node boots without its volume.
//!
//! The image units are fixtures under tests/fixtures/units/<dir>/ (stand-ins for the
//! packages' own, see their headers), enabled with the links the packages make, with a stub
//! for every program they run. The targets, emergency.service and rescue.service come from
//! this machine's /lib/systemd/system at run time: the nodes run Debian's systemd too.

mod common;

use common::Lab;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An image as a runtime's packages leave it: the fixture directories its units come from.
struct Style {
    name: &'static str,
    fixtures: &'static [&'static str],
}

const DOCKER: Style = Style {
    name: "docker",
    // docker.io depends on containerd: an image with one has both.
    fixtures: &["docker", "containerd"],
};
const CONTAINERD: Style = Style {
    name: "containerd",
    fixtures: &["containerd"],
};
const K3S: Style = Style {
    name: "k3s",
    fixtures: &["k3s"],
};

const HOST_UNITS: &str = "/lib/systemd/system";
const VOLUME_UNIT: &str = "rpinet-volume.service";

#[test]
fn docker_image_boots_without_an_ordering_cycle() {
    check(&DOCKER);
}

#[test]
fn containerd_image_boots_without_an_ordering_cycle() {
    check(&CONTAINERD);
}

#[test]
fn k3s_image_boots_without_an_ordering_cycle() {
    check(&K3S);
}

fn check(style: &Style) {
    let lab = Lab::new(&format!("units-{}", style.name));
    let units = fixture_units(style);
    image(&lab, &units);
    lab.node_add("lion", "38C128C0", "dc:a6:32:79:26:df", &[]);
    let out = lab.ok(&[
        "node",
        "provision",
        "lion",
        "--image",
        "os",
        "--volume-size",
        "1G",
    ]);
    assert!(
        out.contains("container volume at /var/lib/rpinet-volume"),
        "{out}"
    );
    let node = lab.path("mnt/rpinet/nfs/lion");
    host_units(&node);
    for rpinet_unit in [
        VOLUME_UNIT,
        "rpinet-report.service",
        "rpinet-report-emergency.service",
    ] {
        assert!(
            node.join("etc/systemd/system").join(rpinet_unit).is_file(),
            "provisioning wrote no {rpinet_unit}"
        );
    }

    // The normal boot, with every unit of the image and of rpinet named too: verify checks
    // the files (keys, programs) of the units it is given only, not of their dependencies.
    let mut normal = vec!["multi-user.target", VOLUME_UNIT, "rpinet-report.service"];
    normal.extend(units.iter().map(|u| u.name.as_str()));
    verify(&node, &normal);
    // Emergency and rescue mode: the report unit there has no default dependencies.
    verify(
        &node,
        &["emergency.target", "rpinet-report-emergency.service"],
    );
    verify(&node, &["rescue.target", "rpinet-report-emergency.service"]);

    // The volume is still mounted first: ordered before every runtime service of the image
    // and required by it (the .requires link is what systemd reads at boot).
    let volume = read(&node.join("etc/systemd/system").join(VOLUME_UNIT));
    let before = values(&volume, "Unit", "Before");
    let required_by = values(&volume, "Install", "RequiredBy");
    let services: Vec<&str> = units
        .iter()
        .map(|u| u.name.as_str())
        .filter(|n| n.ends_with(".service"))
        .collect();
    assert!(!services.is_empty(), "style {} has no service", style.name);
    for svc in &services {
        assert!(
            before.iter().any(|b| b == svc),
            "{VOLUME_UNIT} is not ordered before {svc}: Before={before:?}"
        );
        assert!(
            required_by.iter().any(|r| r == svc),
            "{VOLUME_UNIT} is not required by {svc}: RequiredBy={required_by:?}"
        );
        let link = node.join(format!("etc/systemd/system/{svc}.requires/{VOLUME_UNIT}"));
        let target =
            std::fs::read_link(&link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
        assert_eq!(target, Path::new("/etc/systemd/system").join(VOLUME_UNIT));
    }
    // Before a socket or a target is where the cycles come from (sockets.target and the
    // targets basic.target pulls in come before every service with default dependencies).
    for b in &before {
        assert!(
            !b.ends_with(".socket") && !b.ends_with(".target"),
            "{VOLUME_UNIT} is ordered before {b}: Before={before:?}"
        );
    }
}

/// `systemd-analyze --root=NODE verify UNITS...`: no ordering cycle, no job deleted to break
/// one, and nothing else to say (any other line is a fixture or stub that is wrong).
fn verify(node: &Path, units: &[&str]) {
    let out = Command::new("systemd-analyze")
        .arg(format!("--root={}", node.display()))
        .arg("verify")
        .args(units)
        // Messages on stderr at the default level, wherever the test runs (under a unit,
        // systemd's tools may log to the journal instead, and the test would see nothing).
        .env("SYSTEMD_LOG_TARGET", "console")
        .env("SYSTEMD_LOG_LEVEL", "info")
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze: {e} (install systemd: scripts/setup-debian.sh does)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let show = format!(
        "systemd-analyze --root={} verify {}\n{text}",
        node.display(),
        units.join(" ")
    );
    assert!(!text.contains("ordering cycle"), "ordering cycle:\n{show}");
    assert!(
        !text.contains("deleted to break"),
        "job deleted to break a cycle:\n{show}"
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "verify complained (a fixture or stub is wrong?):\n{show}"
    );
    // Seen with --nocapture: what was verified, and that it said nothing.
    println!("{show}(no output)");
}

/// A fixture unit: its name and text.
struct Unit {
    name: String,
    text: String,
}

fn fixture_units(style: &Style) -> Vec<Unit> {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/units");
    let mut units = Vec::new();
    for dir in style.fixtures {
        let d = top.join(dir);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            units.push(Unit {
                name: p.file_name().unwrap().to_string_lossy().into_owned(),
                text: read(&p),
            });
        }
    }
    assert!(!units.is_empty(), "no fixture units for {}", style.name);
    units
}

/// images/os laid out as `image import` leaves it: a bookworm root (merged /usr, as Debian
/// 12 is) holding the units under usr/lib/systemd/system, each enabled by a link in
/// etc/systemd/system/<target>.wants as the package's postinst makes it, and a stub for
/// each program they run.
fn image(lab: &Lab, units: &[Unit]) {
    lab.write(
        "mnt/rpinet/images/os/boot/cmdline.txt",
        "console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n",
    );
    let root = lab.path("mnt/rpinet/images/os/root");
    lab.write(
        "mnt/rpinet/images/os/root/etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\n",
    );
    lab.write(
        "mnt/rpinet/images/os/root/etc/fstab",
        "proc /proc proc defaults 0 0\nPARTUUID=1234-01 /boot/firmware vfat defaults 0 2\nPARTUUID=1234-02 / ext4 defaults,noatime 0 1\n",
    );
    for d in ["bin", "sbin", "lib"] {
        std::fs::create_dir_all(root.join("usr").join(d)).unwrap();
        std::os::unix::fs::symlink(format!("usr/{d}"), root.join(d)).unwrap();
    }
    let unit_dir = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&unit_dir).unwrap();
    for u in units {
        std::fs::write(unit_dir.join(&u.name), &u.text).unwrap();
        let wanted_by = values(&u.text, "Install", "WantedBy");
        assert!(!wanted_by.is_empty(), "fixture {} has no WantedBy=", u.name);
        for t in wanted_by {
            let wants = root.join(format!("etc/systemd/system/{t}.wants"));
            std::fs::create_dir_all(&wants).unwrap();
            std::os::unix::fs::symlink(
                format!("/lib/systemd/system/{}", u.name),
                wants.join(&u.name),
            )
            .unwrap();
        }
        for prog in programs(u) {
            let p = root.join(prog.trim_start_matches('/'));
            if p.exists() {
                continue;
            }
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

/// The programs a unit's Exec*= lines run (their prefixes such as `-` taken off).
fn programs(u: &Unit) -> Vec<String> {
    let mut out = Vec::new();
    for line in u.text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !key.trim().starts_with("Exec") {
            continue;
        }
        let cmd = value.trim().trim_start_matches(['-', '@', ':', '+', '!']);
        let prog = cmd.split_whitespace().next().unwrap_or_default();
        assert!(
            prog.starts_with('/'),
            "fixture {}: {line}: want an absolute path to stub",
            u.name
        );
        out.push(prog.to_string());
    }
    out
}

/// The host's targets (aliases kept as links) and the two services emergency.target and
/// rescue.target require, copied into the node root where the image has none of its own.
fn host_units(node: &Path) {
    let host = Path::new(HOST_UNITS);
    assert!(
        host.join("basic.target").is_file(),
        "{HOST_UNITS}/basic.target: missing (install systemd: scripts/setup-debian.sh does)"
    );
    let dst = node.join("usr/lib/systemd/system");
    for e in std::fs::read_dir(host).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".target") || name == "emergency.service" || name == "rescue.service") {
            continue;
        }
        let to = dst.join(&name);
        if std::fs::symlink_metadata(&to).is_ok() {
            continue;
        }
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        if md.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &to).unwrap();
        } else if md.is_file() {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
    for need in ["emergency.service", "rescue.service", "multi-user.target"] {
        assert!(
            dst.join(need).exists(),
            "{HOST_UNITS}/{need}: missing on this machine"
        );
    }
}

/// The words of every `key=` line in `[section]`; an empty assignment clears the list, as
/// systemd reads it.
fn values(text: &str, section: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut here = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            here = line == format!("[{section}]");
            continue;
        }
        if !here || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if k.trim() == key => {
                if v.trim().is_empty() {
                    out.clear();
                }
                out.extend(v.split_whitespace().map(String::from));
            }
            _ => {}
        }
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
