//! Boot tracing fed by a real dnsmasq: the netboot lab (scripts/lab.sh, Debian's dnsmasq
//! in network namespaces, tools/pisim as the Pis) with dnsmasq's --dhcp-script doing what
//! OpenWrt's /usr/lib/dnsmasq/dhcp-script.sh does — export ACTION, MACADDR, IPADDR,
//! HOSTNAME (lease add/old/del → add/update/remove) or TFTP_SIZE, TFTP_ADDR, TFTP_PATH
//! (completed transfers) — with hotplug-call's part (running /etc/hotplug.d/{dhcp,tftp}/
//! hooks) done directly: `rpinet event dhcp|tftp`, as rpinet's hooks do.
//!
//! Stand-ins: the lab has no logd, so dnsmasq's own log file is copied to where `--root`
//! reads logread output (DIR/tmp/rpinet/logread.txt); and no NFS mount happens, so mountd's
//! rmtab is written as mountd would for the NFS-root step.
//!
//! Needs root, `ip netns` and dnsmasq (`make setup`); fails saying what is missing otherwise.

mod common;

use std::process::{Command, Stdio};

use common::netlab::{self, Lab, RPINET};
use serde_json::Value;

/// The trace lab's own steps on the shared lab.
impl Lab {
    /// `rpinet call METHOD` as rpcd runs it.
    fn call(&self, method: &str) -> Value {
        let out = Command::new(RPINET)
            .arg("--root")
            .arg(self.dir())
            .args(["call", method])
            .stdin(Stdio::null())
            .output()
            .expect("rpinet call");
        serde_json::from_slice(&out.stdout).expect("one JSON object")
    }

    /// dnsmasq's --dhcp-script: OpenWrt's dhcp-script.sh with rpinet's hooks inlined.
    /// dnsmasq runs it in the lab's mount namespace, where DIR is /mnt/.lab and /tmp is the
    /// lab's own: the binary is copied into DIR so the script finds it wherever the checkout is.
    fn install_dhcp_script(&self) {
        std::fs::create_dir_all(self.path("bin")).expect("mkdir bin");
        std::fs::copy(RPINET, self.path("bin/rpinet")).expect("copy rpinet into the lab");
        let script = format!(
            r#"#!/bin/sh
case "$1" in
	add) export ACTION=add MACADDR="$2" IPADDR="$3" HOSTNAME="$4"; exec {rpinet} --root /mnt/.lab event dhcp ;;
	del) export ACTION=remove MACADDR="$2" IPADDR="$3" HOSTNAME="$4"; exec {rpinet} --root /mnt/.lab event dhcp ;;
	old) export ACTION=update MACADDR="$2" IPADDR="$3" HOSTNAME="$4"; exec {rpinet} --root /mnt/.lab event dhcp ;;
	tftp) export ACTION=add TFTP_SIZE="$2" TFTP_ADDR="$3" TFTP_PATH="$4"; exec {rpinet} --root /mnt/.lab event tftp ;;
esac
"#,
            rpinet = "/mnt/.lab/bin/rpinet"
        );
        std::fs::write(self.path("dhcp-script.sh"), script).expect("write dhcp-script.sh");
    }

    fn fill_pi4(&self, boot_dir: &str, node: &str, with_kernel: bool) {
        let dir = self.path("mnt/rpinet/tftp").join(boot_dir);
        // PI4_BOOT_FILES ends with the kernel.
        let files = &netlab::PI4_BOOT_FILES[..if with_kernel { 7 } else { 6 }];
        for f in files {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("{f} of {node}\n")).unwrap();
        }
    }

    /// Boot a simulated Pi 4 with `serial` on its own LAN port; returns pisim's exit code.
    fn boot_pi4(&self, name: &str, mac: &str, serial: &str) -> i32 {
        let mut child = self
            .pisim_on_port(name, mac, &["--kind", "pi4", "--serial", serial])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pisim");
        netlab::wait_bounded(&mut child).map_or(-1, |st| st.code().unwrap_or(-1))
    }

    /// The logd stand-in: what logread would print is dnsmasq's own log.
    fn logread_from_dnsmasq_log(&self) {
        std::fs::copy(
            self.path("tmp/dnsmasq.log"),
            self.path("tmp/rpinet/logread.txt"),
        )
        .unwrap();
    }

    /// Wait (bounded) until the event log mentions `needle`: the script runs after the fact.
    fn wait_event(&self, needle: &str) -> String {
        self.wait_log("tmp/rpinet/events.log", needle)
    }
}

fn node<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["nodes"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == name))
        .unwrap_or_else(|| panic!("no node {name} in {status}"))
}

fn stages(boot: &Value) -> Vec<String> {
    boot["stages"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["stage"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn real_dnsmasq_events_give_each_pi_its_boot_stages() {
    let Some(lab) = Lab::up("trace", true, "stages", &["--match", "any-pi"]) else {
        return;
    };
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    lab.node_add("tiger", "0badcafe", "e4:5f:01:00:00:02", &[]);
    lab.rpinet(&["apply"]);
    lab.fill_pi4("38c128c0", "lion", true);
    lab.fill_pi4("0badcafe", "tiger", false); // stuck: no kernel
    lab.install_dhcp_script();
    lab.lab_sh(&["dnsmasq-start"]);

    assert_eq!(lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0"), 0);
    let tiger = lab.boot_pi4("tiger", "e4:5f:01:00:00:02", "0badcafe");
    assert_ne!(tiger, 0, "tiger has no kernel and cannot boot");
    // a Pi that is no node (match any-pi serves it): it asks for its serial's dir
    lab.boot_pi4("stray", "dc:a6:32:00:00:99", "5b154510");

    lab.wait_event("\tdc:a6:32:00:00:99\t");
    let log = lab.wait_event("/38c128c0/kernel8.img");
    assert!(log.contains("\tdhcp\tadd\tdc:a6:32:79:26:df\t"), "{log}");
    assert!(
        log.contains("\tPXEClient:Arch:00000:UNDI:002001"),
        "the vendor class comes through: {log}"
    );
    assert!(log.contains("\ttftp\t"), "{log}");
    // what logd would hold: dnsmasq's log lines (TFTP failures never reach the script)
    lab.logread_from_dnsmasq_log();

    let status = lab.call("status");
    let lion = &node(&status, "lion")["boot"];
    assert_eq!(lion["stage"], "kernel", "{lion}");
    assert_eq!(stages(lion), ["dhcp", "firmware", "kernel"], "{lion}");
    assert_eq!(lion["stages"][1]["detail"], "start4.elf");
    assert_eq!(lion["stages"][2]["detail"], "kernel8.img");
    assert_eq!(lion["error"], Value::Null, "{lion}");
    let lion_ip = lion["ip"].as_str().unwrap().to_string();
    assert!(lion_ip.starts_with("10.99.0."), "{lion}");

    let tiger = &node(&status, "tiger")["boot"];
    assert_eq!(tiger["stage"], "firmware", "{tiger}");
    assert_eq!(
        tiger["error"], "kernel8.img not found in 0badcafe/",
        "{tiger}"
    );

    let disc = lab.call("discovered");
    let stray = disc["discovered"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["mac"] == "dc:a6:32:00:00:99"))
        .unwrap_or_else(|| panic!("stray not discovered: {disc}"));
    assert_eq!(stray["serial"], "5b154510", "{stray}");
    assert_eq!(stray["model"], "pi4", "{stray}");
    assert_eq!(
        disc["discovered"].as_array().unwrap().len(),
        1,
        "only the stray: {disc}"
    );

    let doctor = lab.call("doctor");
    let codes: Vec<&str> = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"boot_file_not_found"), "{doctor}");
    assert!(codes.contains(&"unknown_pi"), "{doctor}");

    // mountd records the NFS root mount, then the OS mounts /boot/firmware from fstab
    std::fs::create_dir_all(lab.path("var/lib/nfs")).unwrap();
    std::fs::write(
        lab.path("var/lib/nfs/rmtab"),
        format!("{lion_ip}:/mnt/rpinet/nfs/lion:0x00000001\n"),
    )
    .unwrap();
    let lion = lab.call("status");
    assert_eq!(node(&lion, "lion")["boot"]["stage"], "nfs");
    std::fs::write(
        lab.path("var/lib/nfs/rmtab"),
        format!(
            "{lion_ip}:/mnt/rpinet/nfs/lion:0x00000001\n{lion_ip}:/mnt/rpinet/tftp/38c128c0:0x00000001\n"
        ),
    )
    .unwrap();
    let lion = lab.call("status");
    let b = &node(&lion, "lion")["boot"];
    assert_eq!(b["stage"], "up", "{b}");
    assert_eq!(stages(b), ["dhcp", "firmware", "kernel", "nfs", "up"]);
}

#[test]
fn proxy_mode_boots_are_traced_from_dnsmasq_log_lines() {
    let Some(lab) = Lab::up("trace", true, "proxy", &["--dhcp-mode", "proxy"]) else {
        return;
    };
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    lab.rpinet(&["apply"]);
    lab.fill_pi4("38c128c0", "lion", true);
    lab.install_dhcp_script();
    lab.lab_sh(&["dhcpd-start"]);
    lab.lab_sh(&["dnsmasq-start"]);
    assert_eq!(lab.boot_pi4("lion", "dc:a6:32:79:26:df", "38c128c0"), 0);
    // a Pi that is not a node: dnsmasq does not serve it
    lab.boot_pi4("stray", "dc:a6:32:00:00:99", "5b154510");
    lab.wait_event("/38c128c0/kernel8.img");
    lab.logread_from_dnsmasq_log();
    let log = std::fs::read_to_string(lab.path("tmp/rpinet/events.log")).unwrap();
    assert!(
        !log.contains("\tdhcp\t"),
        "proxy mode makes no leases here: {log}"
    );

    let status = lab.call("status");
    let lion = &node(&status, "lion")["boot"];
    assert_eq!(stages(lion), ["dhcp", "firmware", "kernel"], "{lion}");
    assert_eq!(
        lion["stages"][0]["detail"], "boot options sent (proxy DHCP)",
        "{lion}"
    );
    let disc = lab.call("discovered");
    assert!(
        disc["discovered"]
            .as_array()
            .is_some_and(|a| a.iter().any(|d| d["mac"] == "dc:a6:32:00:00:99")),
        "the stray Pi is seen in dnsmasq's log: {disc}\n{}",
        std::fs::read_to_string(lab.path("tmp/dnsmasq.log")).unwrap_or_default()
    );
}

/// A small storm: ten Pi 4s power on together (initramfs8 too) through the real dnsmasq with
/// rpinet's config and hooks; every one boots and its traced stage is what it fetched.
#[test]
fn ten_pis_powered_on_together_are_each_traced_as_what_they_fetched() {
    let Some(lab) = Lab::up("trace", true, "storm", &[]) else {
        return;
    };
    let pis: Vec<(String, String, String)> = (0..10u32)
        .map(|i| {
            (
                format!("s{i}"),
                format!("{:08x}", 0x5a00_0000 + i),
                format!("dc:a6:32:5a:00:{i:02x}"),
            )
        })
        .collect();
    for (name, serial, mac) in &pis {
        lab.node_add(name, serial, mac, &[]);
    }
    lab.rpinet(&["apply"]);
    let conf = lab.read("tmp/dnsmasq.d/rpinet.conf");
    assert!(conf.contains("\ntftp-max=64\n"), "{conf}");
    for (name, serial, _) in &pis {
        lab.fill_pi4(serial, name, true);
        std::fs::write(
            lab.path("mnt/rpinet/tftp").join(serial).join("initramfs8"),
            vec![7u8; 300_000],
        )
        .unwrap();
    }
    lab.install_dhcp_script();
    lab.lab_sh(&["dnsmasq-start"]);
    let mut children: Vec<_> = pis
        .iter()
        .map(|(name, serial, mac)| {
            lab.pisim_on_port(
                name,
                mac,
                &["--kind", "pi4", "--serial", serial, "--initramfs", "yes"],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pisim")
        })
        .collect();
    for c in &mut children {
        let code = netlab::wait_bounded(c).map_or(-1, |st| st.code().unwrap_or(-1));
        assert_eq!(code, 0, "every Pi boots");
    }
    for (_, serial, _) in &pis {
        lab.wait_event(&format!("/{serial}/initramfs8"));
    }
    lab.logread_from_dnsmasq_log();
    let status = lab.call("status");
    assert_eq!(status["summary"]["total"], 10, "{}", status["summary"]);
    for (name, _, _) in &pis {
        let b = &node(&status, name)["boot"];
        assert_eq!(b["stage"], "kernel", "{name}: {b}");
        assert_eq!(b["error"], Value::Null, "{name}: {b}");
    }
}
