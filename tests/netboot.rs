//! Netboot integration: simulated Raspberry Pis (tools/pisim, the project's own bootloader
//! simulator) boot through a real dnsmasq (Debian's) that serves what `rpinet --root DIR
//! apply` wrote, inside network namespaces made by scripts/lab.sh.
//!
//! Each test builds its own lab (namespaces, an OpenWrt-like --root tree, a UUID-labelled
//! ext4 image as the SSD), so the tests run side by side; a Drop guard tears it down even
//! when an assertion fails. Needs root, `ip netns` and dnsmasq (`make setup`); without them
//! each test fails saying what is missing.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::netlab::{self, running};
use serde_json::Value;

const MENU: &str = "Raspberry Pi Boot   ";
const ROUTER_IP: &str = "10.99.0.1";
const DHCPD_IP: &str = "10.99.0.2";

/// One simulated boot: exit code, the JSON report and the progress lines.
struct Boot {
    code: i32,
    report: Value,
    log: String,
}

impl Boot {
    fn file(&self, path: &str) -> &Value {
        self.report["files"]
            .as_array()
            .and_then(|fs| fs.iter().rev().find(|f| f["path"] == path))
            .unwrap_or_else(|| panic!("{path} was not requested:\n{}", self.log))
    }

    fn menu(&self) -> bool {
        self.report["dhcp"]["boot_menu"] == true
    }

    fn leased_ip(&self) -> String {
        self.report["dhcp"]["lease"]["ip"]
            .as_str()
            .unwrap_or_else(|| panic!("no lease:\n{}", self.log))
            .to_string()
    }
}

use netlab::Lab;

/// The netboot lab's own steps on the shared lab.
impl Lab {
    fn start_dnsmasq(&self) -> u32 {
        let pid = self.lab_sh(&["dnsmasq-start"]);
        pid.parse()
            .unwrap_or_else(|_| panic!("dnsmasq-start printed {pid:?}, not a pid"))
    }

    fn dnsmasq_pid(&self) -> u32 {
        self.lab_sh(&["dnsmasq-pid"]).parse().unwrap_or(0)
    }

    /// The boot files of one node, each naming the node, as an image would provide them.
    fn fill_boot_dir(&self, boot_dir: &str, node: &str, model: &str) {
        let files: &[&str] = match model {
            "pi5" => &[
                "config.txt",
                "bcm2712-rpi-5-b.dtb",
                "overlays/overlay_map.dtb",
                "cmdline.txt",
                "kernel_2712.img",
            ],
            "pi3" => &[
                "start.elf",
                "config.txt",
                "fixup.dat",
                "bcm2710-rpi-3-b.dtb",
                "overlays/overlay_map.dtb",
                "cmdline.txt",
                "kernel8.img",
            ],
            _ => &netlab::PI4_BOOT_FILES,
        };
        let dir = self.path("mnt/rpinet/tftp").join(boot_dir);
        for f in files {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap_or(&dir)).expect("mkdir boot dir");
            let content = if *f == "cmdline.txt" {
                format!(
                    "console=serial0,115200 root=/dev/nfs nfsroot={ROUTER_IP}:/mnt/rpinet/nfs/{node},vers=3 rw ip=dhcp rootwait node={node}\n"
                )
            } else {
                format!("{f} of node {node}\n")
            };
            std::fs::write(&p, content).expect("write boot file");
        }
    }

    /// Start a simulated machine on its own port of the LAN (a fresh namespace).
    fn spawn(&self, name: &str, mac: &str, pisim_args: &[&str]) -> (String, Child) {
        let child = self
            .pisim_on_port(name, mac, pisim_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pisim");
        (name.to_string(), child)
    }

    /// Wait for a spawned pisim (bounded: pisim bounds itself, this is a backstop).
    fn finish(&self, (name, mut child): (String, Child)) -> Boot {
        netlab::wait_bounded(&mut child);
        let out = child.wait_with_output().expect("pisim output");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        // RPINET_NETBOOT_LOG=1 cargo test --test netboot -- --nocapture: every boot's log.
        if std::env::var_os("RPINET_NETBOOT_LOG").is_some() {
            eprintln!("[{name}]\n{log}");
        }
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{name}: pisim printed no JSON report ({e}):\n{}\n{log}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        Boot {
            code: out.status.code().unwrap_or(-1),
            report,
            log: format!("[{name}]\n{log}"),
        }
    }

    fn boot(&self, name: &str, mac: &str, pisim_args: &[&str]) -> Boot {
        let c = self.spawn(name, mac, pisim_args);
        self.finish(c)
    }

    /// Start a simulated Pi 4 with `serial`.
    fn spawn_pi4(&self, name: &str, mac: &str, serial: &str) -> (String, Child) {
        self.spawn(name, mac, &["--kind", "pi4", "--serial", serial])
    }

    /// Boot a simulated Pi 4 with `serial`.
    fn boot_pi4(&self, name: &str, mac: &str, serial: &str) -> Boot {
        let c = self.spawn_pi4(name, mac, serial);
        self.finish(c)
    }

    /// The Pi 3 ROM reads bootcode.bin from the TFTP root before any prefix.
    fn write_bootcode(&self) {
        std::fs::write(self.path("mnt/rpinet/tftp/bootcode.bin"), "bootcode.bin\n")
            .expect("bootcode");
    }

    /// Register lion (a Pi 4), apply, and put its boot files in place.
    fn add_lion(&self) {
        self.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
        self.rpinet(&["apply"]);
        self.fill_boot_dir("38c128c0", "lion", "pi4");
    }
}

/// A registered Pi booted: the menu (exact bytes), the server, its own dir, every file.
fn assert_booted(b: &Boot, node: &str, prefix: &str, kernel: &str) {
    assert_eq!(b.code, 0, "{node} did not boot:\n{}", b.log);
    assert_eq!(b.report["result"], "booted");
    assert_eq!(b.report["dhcp"]["menu_text"], MENU, "{}", b.log);
    assert_eq!(b.report["dhcp"]["tftp_server"], ROUTER_IP);
    assert_eq!(b.report["prefix"], format!("{prefix}/"), "{}", b.log);
    for f in b.report["files"].as_array().into_iter().flatten() {
        if f["optional"] == false {
            assert_eq!(f["status"], "ok", "{node}: {f}\n{}", b.log);
        }
    }
    let cmdline = b.file(&format!("{prefix}/cmdline.txt"));
    let text = cmdline["text"].as_str().unwrap_or("");
    assert!(
        text.contains(&format!(
            "nfsroot={ROUTER_IP}:/mnt/rpinet/nfs/{node},vers=3"
        )) && text.ends_with(&format!("node={node}\n")),
        "{node} got someone else's cmdline.txt: {text:?}"
    );
    assert_eq!(
        b.file(&format!("{prefix}/{kernel}"))["text"],
        format!("{kernel} of node {node}\n")
    );
}

/// No boot menu, and no option 66 either: a Pi 4/5 loader TFTP-boots from option 66 alone
/// (docs/facts.md §1.2). `pxe_only` relaxes the latter for a client that is not a PXE ROM.
fn assert_no_menu_for(b: &Boot, what: &str, pxe_only: bool) {
    assert!(!b.menu(), "{what} was offered the boot menu:\n{}", b.log);
    for r in b.report["dhcp"]["replies"].as_array().into_iter().flatten() {
        assert_eq!(r["pi_menu"], false, "{what}: {r}");
        let menu = &r["opt43"]["menu"];
        assert!(
            menu.is_null() || menu.as_array().is_some_and(|m| m.is_empty()),
            "{what} got a PXE menu: {r}"
        );
        if !pxe_only {
            assert!(r["opt66"].is_null(), "{what} got option 66: {r}");
        }
    }
    assert!(
        b.report["files"].is_null(),
        "{what} fetched files:\n{}",
        b.log
    );
}

fn assert_no_menu(b: &Boot, what: &str) {
    assert_no_menu_for(b, what, false)
}

/// SIGHUP the dnsmasq the test started, as OpenWrt's reload does, and wait until it has
/// reread its hosts directory: it logs `read …/rpinet.hosts/<kept>` for a node that stays.
fn sighup(lab: &Lab, pid: u32, kept: &str) {
    let needle = format!("rpinet.hosts/{kept}");
    let reads = |log: &str| log.matches(needle.as_str()).count();
    let before = reads(&lab.read("tmp/dnsmasq.log"));
    // SAFETY: kill(2) on the dnsmasq this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGHUP) }, 0);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let log = lab.read("tmp/dnsmasq.log");
        if reads(&log) > before {
            return;
        }
        assert!(
            Instant::now() < until,
            "dnsmasq did not reread {needle} after SIGHUP:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn registered_pis_boot_their_own_files_and_others_get_no_menu() {
    let Some(lab) = Lab::up("netboot", false, "registered", &[]) else {
        return;
    };
    lab.node_add("lion", "38C128C0", "DC:A6:32:79:26:DF", &[]);
    lab.node_add(
        "tiger",
        "0badcafe",
        "e4:5f:01:00:00:02",
        &["--boot-id", "mac"],
    );
    lab.node_add(
        "bear",
        "d137e638",
        "2c:cf:67:00:00:03",
        &[
            "--model",
            "pi5",
            "--boot-id",
            "custom",
            "--boot-dir",
            "bear-boot",
        ],
    );
    lab.node_add(
        "owl",
        "b66c4c16",
        "b8:27:eb:6c:4c:16",
        &["--model", "pi3", "--ip", "10.99.0.42"],
    );
    lab.node_add("empty", "00c0ffee", "dc:a6:32:00:00:05", &[]);
    lab.rpinet(&["apply"]);
    lab.fill_boot_dir("38c128c0", "lion", "pi4");
    lab.fill_boot_dir("e4-5f-01-00-00-02", "tiger", "pi4");
    lab.fill_boot_dir("bear-boot", "bear", "pi5");
    lab.fill_boot_dir("b66c4c16", "owl", "pi3");
    lab.write_bootcode();
    lab.start_dnsmasq();

    let lion = lab.spawn_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    let tiger = lab.spawn(
        "tiger",
        "e4:5f:01:00:00:02",
        &[
            "--kind",
            "pi4",
            "--serial",
            "0badcafe",
            "--boot-id",
            "mac",
            "--fourcc",
            "old",
        ],
    );
    let bear = lab.spawn(
        "bear",
        "2c:cf:67:00:00:03",
        &[
            "--kind",
            "pi5",
            "--serial",
            "9d00ce41d137e638",
            "--boot-id",
            "custom:bear-boot",
        ],
    );
    let owl = lab.spawn(
        "owl",
        "b8:27:eb:6c:4c:16",
        &["--kind", "pi3", "--serial", "b66c4c16"],
    );
    let laptop = lab.spawn("laptop", "02:11:22:33:44:55", &["--kind", "laptop"]);
    let x86 = lab.spawn("x86", "00:1e:67:11:22:33", &["--kind", "x86-pxe"]);
    // A Pi that is not a node: same OUI and FourCC as the nodes.
    // A node whose boot dir is still empty: the loader drops the prefix, finds nothing at
    // the root either, and gives up quickly (no hang).
    let empty = lab.spawn_pi4("empty", "dc:a6:32:00:00:05", "00c0ffee");
    let stray = lab.spawn_pi4("stray", "dc:a6:32:00:00:99", "5b154510");

    let (lion, tiger, bear, owl) = (
        lab.finish(lion),
        lab.finish(tiger),
        lab.finish(bear),
        lab.finish(owl),
    );
    let (laptop, x86, stray) = (lab.finish(laptop), lab.finish(x86), lab.finish(stray));
    let empty = lab.finish(empty);

    assert_booted(&lion, "lion", "38c128c0", "kernel8.img");
    assert_booted(&tiger, "tiger", "e4-5f-01-00-00-02", "kernel8.img");
    assert_booted(&bear, "bear", "bear-boot", "kernel_2712.img");
    assert_booted(&owl, "owl", "b66c4c16", "kernel8.img");
    assert_eq!(empty.code, 3, "{}", empty.log);
    assert!(empty.menu());
    assert_eq!(empty.report["prefix_wanted"], "00c0ffee/");
    assert_eq!(
        empty.report["prefix"], "",
        "the prefix is dropped:\n{}",
        empty.log
    );
    assert_eq!(empty.file("00c0ffee/start4.elf")["status"], "not found");
    assert_eq!(empty.file("kernel8.img")["status"], "not found");
    assert_eq!(owl.file("bootcode.bin")["status"], "ok");
    // the fixed address of the reservation
    assert_eq!(owl.leased_ip(), "10.99.0.42");
    // the existence probe came first and was early-terminated
    assert_eq!(lion.report["files"][0]["path"], "38c128c0/start4.elf");
    assert_eq!(lion.report["files"][0]["probe"], true);

    // What dnsmasq itself says it did: every node's kernel sent from its own directory.
    let log = lab.wait_log("tmp/dnsmasq.log", "kernel_2712.img to");
    for (dir, kernel) in [
        ("38c128c0", "kernel8.img"),
        ("e4-5f-01-00-00-02", "kernel8.img"),
        ("bear-boot", "kernel_2712.img"),
        ("b66c4c16", "kernel8.img"),
    ] {
        assert!(
            log.contains(&format!("sent /mnt/rpinet/tftp/{dir}/{kernel} to ")),
            "dnsmasq did not send {dir}/{kernel}:\n{log}"
        );
    }
    assert!(
        log.contains("error 0 Early terminate received from"),
        "{log}"
    );
    let script = lab.wait_log("tmp/dhcp-script.log", "bear-boot/kernel_2712.img");
    assert!(
        script.contains("/mnt/rpinet/tftp/bear-boot/kernel_2712.img"),
        "{script}"
    );
    assert!(
        log.contains("lion"),
        "the ACK names the node's hostname:\n{log}"
    );

    assert_eq!(laptop.code, 0, "{}", laptop.log);
    assert_eq!(laptop.report["result"], "leased");
    assert!(laptop.leased_ip().starts_with("10.99.0."));
    assert_no_menu(&laptop, "a laptop");
    assert_eq!(x86.code, 2, "{}", x86.log);
    assert_no_menu(&x86, "an x86 PXE client");
    assert_eq!(stray.code, 2, "{}", stray.log);
    assert_no_menu(&stray, "an unregistered Pi");
    assert!(
        stray.leased_ip().starts_with("10.99.0."),
        "it still gets an address"
    );
}

#[test]
fn match_any_pi_serves_unregistered_pis_by_fourcc_and_by_oui() {
    let Some(lab) = Lab::up("netboot", false, "anypi", &["--match", "any-pi"]) else {
        return;
    };
    lab.rpinet(&["apply"]);
    // No nodes: boot dirs as a user would make them for Pis seen on the network.
    lab.fill_boot_dir("5b154510", "newfourcc", "pi4");
    lab.fill_boot_dir("6e87a417", "oldfourcc", "pi4");
    lab.fill_boot_dir("d137e638", "pifive", "pi5");
    lab.fill_boot_dir("b66c4c16", "pithree", "pi3");
    lab.write_bootcode();
    lab.start_dnsmasq();

    // FourCC only: locally administered MACs, nothing Pi-like but option 97.
    let a = lab.spawn_pi4("a", "02:00:00:00:00:0a", "5b154510");
    let b = lab.spawn(
        "b",
        "02:00:00:00:00:0b",
        &["--kind", "pi4", "--serial", "6e87a417", "--fourcc", "old"],
    );
    let c = lab.spawn(
        "c",
        "02:00:00:00:00:0c",
        &["--kind", "pi5", "--serial", "d137e638"],
    );
    // OUI only: the Pi 3 GUID carries no FourCC.
    let d = lab.spawn(
        "d",
        "b8:27:eb:6c:4c:16",
        &["--kind", "pi3", "--serial", "b66c4c16"],
    );
    // A Pi running Linux (Pi OUI, plain DHCP) and an x86 PXE ROM: no menu.
    let e = lab.spawn("e", "dc:a6:32:00:00:0e", &["--kind", "laptop"]);
    let f = lab.spawn("f", "00:1e:67:00:00:0f", &["--kind", "x86-pxe"]);
    let (a, b, c, d, e, f) = (
        lab.finish(a),
        lab.finish(b),
        lab.finish(c),
        lab.finish(d),
        lab.finish(e),
        lab.finish(f),
    );
    assert_booted(&a, "newfourcc", "5b154510", "kernel8.img");
    assert_booted(&b, "oldfourcc", "6e87a417", "kernel8.img");
    assert_booted(&c, "pifive", "d137e638", "kernel_2712.img");
    assert_booted(&d, "pithree", "b66c4c16", "kernel8.img");
    assert_eq!(e.code, 0, "{}", e.log);
    // It is tagged by its OUI, so dnsmasq forces option 66 on it too; no PXE client, no harm.
    assert_no_menu_for(&e, "a Pi running Linux (no PXE)", true);
    assert_eq!(f.code, 2, "{}", f.log);
    assert_no_menu(&f, "an x86 PXE client");
}

#[test]
fn proxy_mode_adds_boot_options_beside_another_dhcp_server() {
    let Some(lab) = Lab::up("netboot", false, "proxy", &["--dhcp-mode", "proxy"]) else {
        return;
    };
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    lab.node_add("bear", "d137e638", "2c:cf:67:00:00:03", &["--model", "pi5"]);
    lab.rpinet(&["apply"]);
    let conf = lab.read("tmp/dnsmasq.d/rpinet.conf");
    assert!(
        conf.contains(",proxy"),
        "proxy mode writes a proxy range:\n{conf}"
    );
    lab.fill_boot_dir("38c128c0", "lion", "pi4");
    lab.fill_boot_dir("d137e638", "bear", "pi5");
    lab.lab_sh(&["dhcpd-start"]);
    lab.start_dnsmasq();

    let lion = lab.spawn_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    let bear = lab.spawn(
        "bear",
        "2c:cf:67:00:00:03",
        &["--kind", "pi5", "--serial", "d137e638"],
    );
    let laptop = lab.spawn("laptop", "02:11:22:33:44:55", &["--kind", "laptop"]);
    let stray = lab.spawn_pi4("stray", "dc:a6:32:00:00:99", "5b154510");
    let (lion, bear, laptop, stray) = (
        lab.finish(lion),
        lab.finish(bear),
        lab.finish(laptop),
        lab.finish(stray),
    );

    for (b, node, dir, kernel) in [
        (&lion, "lion", "38c128c0", "kernel8.img"),
        (&bear, "bear", "d137e638", "kernel_2712.img"),
    ] {
        assert_booted(b, node, dir, kernel);
        // the address came from the other server, the boot menu from rpinet's dnsmasq
        assert_eq!(b.report["dhcp"]["lease"]["server"], DHCPD_IP, "{}", b.log);
        let ip = b.leased_ip();
        let last: u8 = ip
            .rsplit('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(
            (50..=99).contains(&last),
            "{node} leased {ip} outside the other server's pool"
        );
        let replies = b.report["dhcp"]["replies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            replies
                .iter()
                .any(|r| r["from"] == format!("{ROUTER_IP}:67")
                    && r["yiaddr"].is_null()
                    && r["pi_menu"] == true),
            "no proxy offer with the menu:\n{}",
            b.log
        );
    }
    assert_eq!(laptop.code, 0, "{}", laptop.log);
    assert_eq!(laptop.report["dhcp"]["lease"]["server"], DHCPD_IP);
    assert_no_menu(&laptop, "a laptop");
    assert_eq!(stray.code, 2, "{}", stray.log);
    assert_no_menu(&stray, "an unregistered Pi");

    // rpinet's dnsmasq leased nothing; it answered as a proxy.
    assert_eq!(
        lab.read("tmp/dhcp.leases").trim(),
        "",
        "the router leased in proxy mode"
    );
    let log = lab.wait_log("tmp/dnsmasq.log", "proxy");
    assert!(log.contains("proxy"), "{log}");
    assert!(lab.read("dhcpd/leases").contains("dc:a6:32:79:26:df"));
}

#[test]
fn a_node_added_while_dnsmasq_runs_boots_through_the_same_process() {
    let Some(lab) = Lab::up("netboot", false, "hotadd", &[]) else {
        return;
    };
    lab.add_lion();
    let pid = lab.start_dnsmasq();

    let before = lab.boot_pi4("tiger", "e4:5f:01:00:00:02", "0badcafe");
    assert_eq!(before.code, 2, "{}", before.log);
    assert_no_menu(&before, "tiger before it was added");

    lab.node_add("tiger", "0badcafe", "e4:5f:01:00:00:02", &[]);
    lab.rpinet(&["apply"]);
    lab.fill_boot_dir("0badcafe", "tiger", "pi4");
    let log = lab.wait_log("tmp/dnsmasq.log", "rpinet.hosts/tiger");
    assert!(
        log.contains("read /tmp/dnsmasq.d/rpinet.hosts/tiger"),
        "dnsmasq did not pick up the new host file (inotify):\n{log}"
    );

    let after = lab.boot_pi4("tiger", "e4:5f:01:00:00:02", "0badcafe");
    assert_booted(&after, "tiger", "0badcafe", "kernel8.img");
    assert_eq!(lab.dnsmasq_pid(), pid, "dnsmasq was restarted");
    assert!(running(pid), "dnsmasq died");
    let log = lab.read("tmp/dnsmasq.log");
    assert_eq!(log.matches("started, version").count(), 1, "{log}");
    // and the node that was there all along still boots
    let lion = lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    assert_booted(&lion, "lion", "38c128c0", "kernel8.img");
}

#[test]
fn without_the_ssd_dnsmasq_still_starts_and_leases() {
    let Some(lab) = Lab::up("netboot", false, "nossd", &["--no-ssd"]) else {
        return;
    };
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    lab.rpinet(&["apply"]);
    let entries = std::fs::read_dir(lab.path("mnt/rpinet"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        entries, 0,
        "apply wrote to the router's flash where the SSD should be"
    );
    // The SSD is not mounted: dnsmasq sees no /mnt/rpinet at all, and must still start.
    lab.start_dnsmasq();
    let laptop = lab.boot("laptop", "02:11:22:33:44:55", &["--kind", "laptop"]);
    assert_eq!(laptop.code, 0, "{}", laptop.log);
    assert!(laptop.leased_ip().starts_with("10.99.0."));
    let lion = lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    assert_eq!(
        lion.code, 2,
        "no boot menu while the SSD is absent:\n{}",
        lion.log
    );
    assert!(lion.leased_ip().starts_with("10.99.0."));
}

/// Removal: apply deletes the node's host file, and dnsmasq forgets a host record only on
/// SIGHUP (dnsmasq(8), --dhcp-hostsdir), which the live system sends (--root does not).
///
/// Debian's (and OpenWrt 23.05/24.10's) dnsmasq 2.90 segfaults when, after a SIGHUP, a
/// client whose dhcp-hostsdir entry carries a `set:` tag sends DHCP; rpinet's entries carry
/// none (registered nodes are dnsmasq's `known` hosts), and this proves it stays up.
#[test]
fn a_removed_node_is_forgotten_on_sighup_without_a_restart() {
    let Some(lab) = Lab::up("netboot", false, "remove", &[]) else {
        return;
    };
    for (name, serial, mac) in [
        ("lion", "38c128c0", "dc:a6:32:79:26:df"),
        ("tiger", "0badcafe", "e4:5f:01:00:00:02"),
    ] {
        lab.node_add(name, serial, mac, &[]);
    }
    lab.rpinet(&["apply"]);
    lab.fill_boot_dir("38c128c0", "lion", "pi4");
    lab.fill_boot_dir("0badcafe", "tiger", "pi4");
    let pid = lab.start_dnsmasq();
    let before = lab.boot_pi4("tiger", "e4:5f:01:00:00:02", "0badcafe");
    assert_booted(&before, "tiger", "0badcafe", "kernel8.img");

    lab.rpinet(&["node", "remove", "tiger"]);
    lab.rpinet(&["apply"]);
    assert!(!lab.path("tmp/dnsmasq.d/rpinet.hosts/tiger").exists());
    sighup(&lab, pid, "lion");

    let after = lab.boot_pi4("tiger", "e4:5f:01:00:00:02", "0badcafe");
    assert!(
        running(pid),
        "dnsmasq (pid {pid}) died after SIGHUP when the removed node asked for an address; \
         its log ends:\n{}",
        {
            let log = lab.read("tmp/dnsmasq.log");
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(8)..].join("\n")
        }
    );
    assert_eq!(after.code, 2, "{}", after.log);
    assert_no_menu(&after, "tiger after it was removed");
    let lion = lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    assert_booted(&lion, "lion", "38c128c0", "kernel8.img");
    assert_eq!(lab.dnsmasq_pid(), pid, "dnsmasq was restarted");
    assert!(running(pid), "dnsmasq died");
}

/// Proxy mode on a router whose lan DHCP was switched off the stock OpenWrt way
/// (`option ignore '1'` in /etc/config/dhcp): dnsmasq.init then writes
/// `no-dhcp-interface=br-lan`, which silences rpinet's proxy range on that interface too.
/// rpinet cannot undo that from its conf-dir file, so `apply` warns and `status` says why and
/// what to change — and the Pi indeed gets no boot menu.
#[test]
fn proxy_mode_on_an_ignored_lan_pool_is_explained() {
    let Some(lab) = Lab::up(
        "netboot",
        false,
        "proxyignore",
        &["--dhcp-mode", "proxy", "--lan-ignore"],
    ) else {
        return;
    };
    lab.add_lion();
    lab.lab_sh(&["dhcpd-start"]);
    lab.start_dnsmasq();
    let lion = lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    assert_eq!(lion.code, 2, "expected no boot menu:\n{}", lion.log);
    let status = lab.rpinet(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&status).expect("status json");
    assert_eq!(v["dnsmasq"]["ok"], false);
    let msg = v["dnsmasq"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("option ignore '1'") && msg.contains("dynamicdhcp '0'"),
        "{msg}"
    );
}

/// OpenWrt sends dnsmasq SIGHUP on every `/etc/init.d/dnsmasq reload` (interface events, `uci
/// commit dhcp`, ...). A registered node must keep booting across one.
///
/// (dnsmasq 2.90 would segfault here if host entries carried `set:` tags: they carry none.)
#[test]
fn a_node_keeps_booting_across_a_dnsmasq_reload() {
    let Some(lab) = Lab::up("netboot", false, "reload", &[]) else {
        return;
    };
    lab.add_lion();
    let pid = lab.start_dnsmasq();
    let first = lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    assert_booted(&first, "lion", "38c128c0", "kernel8.img");
    sighup(&lab, pid, "lion");
    let second = lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0");
    assert!(
        running(pid),
        "dnsmasq (pid {pid}) died after SIGHUP:\n{}",
        second.log
    );
    assert_booted(&second, "lion", "38c128c0", "kernel8.img");
}
