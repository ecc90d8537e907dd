//! `rpinet doctor` in a --root lab: a healthy router tree gives no errors;
//! then each known cause of a failed netboot is provoked, must be reported
//! with its code (and make doctor exit non-zero when it is an error), and
//! must go away once fixed.
//!
//! The lab is a --root tree as docs/SPEC.md §3 defines it: DIR/proc/mounts names
//! /dev/sda1, read at DIR/dev/sda1, a real ext4 image made by mkfs.ext4.
//! Processes are DIR/proc/<pid>/{comm,cmdline,root}; DIR/tmp/rpinet/logread.txt
//! stands in for `logread` output (the lab has no logd).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rpinet");
const UUID: &str = "6a1f0000-0000-0000-0000-000000000001";
const TFTP: &str = "mnt/rpinet/tftp/38c128c0";
const NFS: &str = "mnt/rpinet/nfs/running_lion";
const CMDLINE: &str = "console=serial0,115200 console=tty1 root=/dev/nfs \
    nfsroot=192.168.1.1:/mnt/rpinet/nfs/running_lion,vers=3 rw ip=dhcp rootwait\n";

fn config(extra: &str) -> String {
    format!(
        "config rpinet 'main'\n\toption storage_uuid '{UUID}'\n\toption storage_path '/mnt/rpinet'\n\
         \toption server_ip '192.168.1.1'\n\n\
         config node 'running_lion'\n\toption serial '38c128c0'\n\toption mac 'dc:a6:32:79:26:df'\n\
         \toption model 'pi4'\n{extra}"
    )
}

struct Lab(PathBuf);

impl Lab {
    fn healthy(tag: &str) -> Lab {
        let d = std::env::temp_dir().join(format!("rpinet-doctor-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let lab = Lab(d);
        lab.write("etc/config/rpinet", &config(""));
        lab.write(
            "etc/config/network",
            "config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n",
        );
        lab.write(
            "etc/config/dhcp",
            "config dnsmasq\n\toption domain 'lan'\n\nconfig dhcp 'lan'\n\toption interface 'lan'\n",
        );
        lab.write(
            "proc/mounts",
            "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,relatime 0 0\n",
        );
        std::fs::create_dir_all(lab.p("dev")).unwrap();
        std::fs::File::create(lab.p("dev/sda1"))
            .unwrap()
            .set_len(2 << 20)
            .unwrap();
        let st = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-U", UUID])
            .arg(lab.p("dev/sda1"))
            .status()
            .expect("mkfs.ext4 (e2fsprogs) is installed by make setup");
        assert!(st.success());
        for f in [
            "start4.elf",
            "fixup4.dat",
            "config.txt",
            "kernel8.img",
            "bcm2711-rpi-4-b.dtb",
        ] {
            lab.write(&format!("{TFTP}/{f}"), "x");
        }
        lab.write(&format!("{TFTP}/cmdline.txt"), CMDLINE);
        lab.write(
            &format!("{NFS}/etc/fstab"),
            "proc /proc proc defaults 0 0\n192.168.1.1:/mnt/rpinet/tftp/38c128c0 /boot/firmware nfs defaults,vers=3 0 0\n",
        );
        lab.write(
            &format!("{NFS}/etc/os-release"),
            "ID=debian\nVERSION_CODENAME=bookworm\n",
        );
        lab.write("proc/100/comm", "dnsmasq\n");
        lab.write(
            "proc/100/cmdline",
            "/usr/sbin/dnsmasq\0-C\0/var/etc/dnsmasq.conf.cfg01411c\0-k\0-x\0/var/run/dnsmasq/dnsmasq.cfg01411c.pid\0",
        );
        lab.write(
            "var/etc/dnsmasq.conf.cfg01411c",
            "# auto-generated config file from /etc/config/dhcp\nconf-file=/etc/dnsmasq.conf\n\
             conf-dir=/tmp/dnsmasq.cfg01411c.d\nuser=dnsmasq\n",
        );
        lab.write("tmp/dnsmasq.cfg01411c.d/rpinet.conf", "enable-tftp\n");
        std::fs::create_dir_all(lab.p("proc/100/root/mnt/rpinet/tftp")).unwrap();
        lab.write("proc/200/comm", "nfsd\n");
        lab.write("etc/passwd", "root:x:0:0:root:/root:/bin/ash\ndnsmasq:x:453:453:dnsmasq:/var/run/dnsmasq:/bin/false\n");
        lab.write(
            "etc/exports",
            "/srv/mine *(ro)\n# BEGIN rpinet\n/mnt/rpinet/nfs/running_lion 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash)\n\
             /mnt/rpinet/tftp/38c128c0 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash)\n# END rpinet\n",
        );
        lab.write(
            "var/lib/nfs/etab",
            "/mnt/rpinet/nfs/running_lion\t192.168.1.0/24(rw,sync,wdelay,hide,nocrossmnt,secure,no_root_squash)\n\
             /mnt/rpinet/tftp/38c128c0\t192.168.1.0/24(rw,sync,wdelay,hide,nocrossmnt,secure,no_root_squash)\n",
        );
        lab
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.p(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    fn rm(&self, rel: &str) {
        let p = self.p(rel);
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
    fn mv(&self, a: &str, b: &str) {
        std::fs::create_dir_all(self.p(b).parent().unwrap()).unwrap();
        std::fs::rename(self.p(a), self.p(b)).unwrap();
    }
    /// (exit code, findings)
    fn doctor(&self) -> (i32, Vec<Value>) {
        // The stand-in `ubus` first on PATH: with no bus set up it answers as ubus does
        // without ubusd (no connection).
        let path = format!(
            "{}:{}",
            standin_ubus::bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new(BIN)
            .arg("--root")
            .arg(&self.0)
            .args(["doctor", "--json"])
            .env("PATH", path)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        (
            out.status.code().unwrap_or(-1),
            v["findings"].as_array().unwrap().clone(),
        )
    }
    fn codes(&self) -> Vec<String> {
        self.doctor()
            .1
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_of(lab: &Lab) -> &Path {
    &lab.0
}

/// Provoke `code` with `broke`, check it is reported (exit 1 if an error),
/// then `fix` and check it is gone and nothing else appeared.
fn provoke(lab: &Lab, code: &str, level: &str, broke: impl Fn(&Lab), fix: impl Fn(&Lab)) {
    let before = lab.codes();
    broke(lab);
    let (exit, findings) = lab.doctor();
    let f = findings
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("{code} not reported; got {findings:#?}"));
    assert_eq!(f["level"], level, "{f}");
    assert!(!f["message"].as_str().unwrap().is_empty());
    assert!(!f["fix"].as_str().unwrap().is_empty());
    if level == "error" {
        assert_eq!(exit, 1, "doctor must fail on {code}");
    }
    fix(lab);
    let after = lab.codes();
    assert!(
        !after.contains(&code.to_string()),
        "{code} still reported after the fix: {after:?}"
    );
    assert_eq!(before, after, "fixing {code} left the lab different");
}

#[test]
fn a_healthy_lab_has_no_findings_and_doctor_succeeds() {
    let lab = Lab::healthy("ok");
    let (exit, findings) = lab.doctor();
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(exit, 0);
    let out = Command::new(BIN)
        .arg("--root")
        .arg(path_of(&lab))
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no problems found\n");
}

#[test]
fn storage_findings() {
    let lab = Lab::healthy("storage");
    {
        // With the SSD gone apply exports nothing, so doctor names the SSD, not each export.
        lab.write("proc/mounts", "/dev/root / squashfs ro 0 0\n");
        let codes = lab.codes();
        assert!(codes.contains(&"storage_absent".to_string()), "{codes:?}");
        assert!(!codes.iter().any(|c| c.starts_with("export_")), "{codes:?}");
        lab.write(
            "proc/mounts",
            "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,relatime 0 0\n",
        );
    }
    provoke(
        &lab,
        "storage_absent",
        "error",
        |l| l.write("proc/mounts", "/dev/root / squashfs ro 0 0\n"),
        |l| {
            l.write(
                "proc/mounts",
                "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,relatime 0 0\n",
            )
        },
    );
    provoke(
        &lab,
        "storage_wrong_uuid",
        "error",
        |l| {
            let st = Command::new("tune2fs")
                .args(["-U", "11111111-2222-3333-4444-555555555555"])
                .arg(l.p("dev/sda1"))
                .output()
                .unwrap();
            assert!(st.status.success());
        },
        |l| {
            let st = Command::new("tune2fs")
                .args(["-U", UUID])
                .arg(l.p("dev/sda1"))
                .output()
                .unwrap();
            assert!(st.status.success());
        },
    );
    provoke(
        &lab,
        "storage_not_configured",
        "error",
        |l| {
            l.write(
                "etc/config/rpinet",
                &config("").replace(&format!("\toption storage_uuid '{UUID}'\n"), ""),
            )
        },
        |l| l.write("etc/config/rpinet", &config("")),
    );
    provoke(
        &lab,
        "boot_network_unknown",
        "error",
        |l| l.mv("etc/config/network", "away/network"),
        |l| l.mv("away/network", "etc/config/network"),
    );
    provoke(
        &lab,
        "config_invalid",
        "error",
        |l| {
            l.write(
                "etc/config/rpinet",
                // (an option without a value is ignored, as libuci ignores it)
                "config rpinet 'main'\n\toption storage_path 'relative/path'\n",
            )
        },
        |l| l.write("etc/config/rpinet", &config("")),
    );
}

/// With no storage_path (no storage configured, as the core reads it) nothing on storage is
/// looked at: the missing setting is the finding, and no node is blamed for its directories
/// or exports, which rpinet does not make without storage.
#[test]
fn without_storage_path_nothing_on_storage_is_looked_at() {
    let lab = Lab::healthy("nostorage");
    lab.write(
        "etc/config/rpinet",
        &config("").replace("\toption storage_path '/mnt/rpinet'\n", ""),
    );
    let (exit, findings) = lab.doctor();
    let codes: Vec<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["storage_not_configured"], "{findings:#?}");
    assert_eq!(exit, 1);
    lab.rm("etc/exports");
    assert_eq!(lab.codes(), ["storage_not_configured"]);
}

#[test]
fn dnsmasq_findings() {
    let lab = Lab::healthy("dnsmasq");
    provoke(
        &lab,
        "dnsmasq_not_running",
        "error",
        |l| l.mv("proc/100", "stopped/100"),
        |l| l.mv("stopped/100", "proc/100"),
    );
    provoke(
        &lab,
        "rpinet_conf_not_loaded",
        "error",
        |l| l.rm("tmp/dnsmasq.cfg01411c.d/rpinet.conf"),
        |l| l.write("tmp/dnsmasq.cfg01411c.d/rpinet.conf", "enable-tftp\n"),
    );
    // dnsmasq started (boot at 1_700_000_000, +5000 ticks = 50 s) before rpinet.conf changed
    lab.write("proc/stat", "cpu  1 2 3 4\nbtime 1700000000\n");
    lab.write(
        "proc/100/stat",
        "100 (dnsmasq) S 1 100 100 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5000 1000 100\n",
    );
    let set_conf_time = |l: &Lab, t: u64| {
        let f = std::fs::File::options()
            .write(true)
            .open(l.p("tmp/dnsmasq.cfg01411c.d/rpinet.conf"))
            .unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t))
            .unwrap();
    };
    set_conf_time(&lab, 1_700_000_040);
    provoke(
        &lab,
        "rpinet_conf_stale",
        "warning",
        |l| set_conf_time(l, 1_700_000_100),
        |l| set_conf_time(l, 1_700_000_040),
    );
    provoke(
        &lab,
        "dnsmasq_jail_no_ssd",
        "error",
        |l| l.rm("proc/100/root/mnt"),
        |l| std::fs::create_dir_all(l.p("proc/100/root/mnt/rpinet/tftp")).unwrap(),
    );
    provoke(
        &lab,
        "tftp_unreadable",
        "error",
        |l| {
            std::fs::set_permissions(
                l.p(&format!("{TFTP}/start4.elf")),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap()
        },
        |l| {
            std::fs::set_permissions(
                l.p(&format!("{TFTP}/start4.elf")),
                std::fs::Permissions::from_mode(0o644),
            )
            .unwrap()
        },
    );
}

#[test]
fn boot_directory_findings() {
    let lab = Lab::healthy("bootdir");
    provoke(
        &lab,
        "boot_dir_missing",
        "error",
        |l| l.mv(TFTP, "away/tftp"),
        |l| l.mv("away/tftp", TFTP),
    );
    provoke(
        &lab,
        "boot_files_missing",
        "error",
        |l| l.rm(&format!("{TFTP}/start4.elf")),
        |l| l.write(&format!("{TFTP}/start4.elf"), "x"),
    );
    // a Pi 5 needs config.txt and its DTB, not start4.elf
    provoke(
        &lab,
        "boot_files_missing",
        "error",
        |l| l.write("etc/config/rpinet", &config("\toption model 'pi5'\n")),
        |l| l.write("etc/config/rpinet", &config("")),
    );
    // a Pi 3 needs bootcode.bin in the TFTP root
    provoke(
        &lab,
        "boot_files_missing",
        "error",
        |l| {
            l.write("etc/config/rpinet", &config("\toption model 'pi3'\n"));
            l.write(&format!("{TFTP}/start.elf"), "x");
        },
        |l| {
            l.write("etc/config/rpinet", &config(""));
            l.rm(&format!("{TFTP}/start.elf"));
        },
    );
    // the most common manual mistake: boot files copied into the root's /boot/firmware
    provoke(
        &lab,
        "boot_files_in_nfs",
        "error",
        |l| {
            for f in ["start4.elf", "kernel8.img", "config.txt"] {
                l.mv(&format!("{TFTP}/{f}"), &format!("{NFS}/boot/firmware/{f}"));
            }
        },
        |l| {
            for f in ["start4.elf", "kernel8.img", "config.txt"] {
                l.mv(&format!("{NFS}/boot/firmware/{f}"), &format!("{TFTP}/{f}"));
            }
            l.rm(&format!("{NFS}/boot"));
        },
    );
}

#[test]
fn cmdline_and_fstab_findings() {
    let lab = Lab::healthy("cmdline");
    let cl = format!("{TFTP}/cmdline.txt");
    let set = |t: String| {
        let cl = cl.clone();
        move |l: &Lab| l.write(&cl, &t)
    };
    for (code, broken) in [
        (
            "cmdline_no_nfsroot",
            "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n"
                .to_string(),
        ),
        (
            "cmdline_wrong_server",
            CMDLINE.replace("192.168.1.1:", "192.168.1.2:"),
        ),
        (
            "cmdline_wrong_path",
            CMDLINE.replace("nfs/running_lion", "nfs/other"),
        ),
        ("cmdline_nfs_v4", CMDLINE.replace("vers=3", "vers=4.1")),
        (
            "cmdline_firstboot",
            CMDLINE.replace(
                "rootwait",
                "rootwait init=/usr/lib/raspberrypi-sys-mods/firstboot",
            ),
        ),
    ] {
        provoke(&lab, code, "error", set(broken), set(CMDLINE.into()));
    }
    provoke(
        &lab,
        "fstab_partuuid",
        "error",
        |l| {
            l.write(&format!("{NFS}/etc/fstab"), "proc /proc proc defaults 0 0\nPARTUUID=4e639091-01 /boot/firmware vfat defaults 0 2\nPARTUUID=4e639091-02 / ext4 defaults,noatime 0 1\n")
        },
        |l| {
            l.write(&format!("{NFS}/etc/fstab"), "proc /proc proc defaults 0 0\n192.168.1.1:/mnt/rpinet/tftp/38c128c0 /boot/firmware nfs defaults,vers=3 0 0\n")
        },
    );
}

#[test]
fn nfs_findings() {
    let lab = Lab::healthy("nfs");
    let exports = std::fs::read_to_string(lab.p("etc/exports")).unwrap();
    let etab = std::fs::read_to_string(lab.p("var/lib/nfs/etab")).unwrap();
    provoke(
        &lab,
        "nfsd_not_running",
        "error",
        |l| l.rm("proc/200"),
        |l| l.write("proc/200/comm", "nfsd\n"),
    );
    let e2 = exports.clone();
    provoke(
        &lab,
        "export_missing",
        "error",
        |l| l.write("etc/exports", "/srv/mine *(ro)\n"),
        move |l| l.write("etc/exports", &e2),
    );
    provoke(
        &lab,
        "export_not_active",
        "error",
        |l| l.write("var/lib/nfs/etab", ""),
        move |l| l.write("var/lib/nfs/etab", &etab),
    );
    // OpenWrt 25.12's nfs-kernel-server-v4 runs `rpc.nfsd -N 3`
    provoke(
        &lab,
        "nfsd_no_v3",
        "error",
        |l| l.write("proc/fs/nfsd/versions", "-2 -3 +4 +4.1 +4.2\n"),
        |l| l.write("proc/fs/nfsd/versions", "-2 +3 +4 +4.1 +4.2\n"),
    );
    // nfsd's default 8 threads for more Pis than that
    let many: String = (0..9)
        .map(|i| format!("config node 'n{i}'\n\toption serial '0000000{i}'\n\toption mac 'dc:a6:32:00:00:0{i}'\n\toption enabled '0'\n"))
        .collect();
    let cfg = std::fs::read_to_string(lab.p("etc/config/rpinet")).unwrap();
    let cfg = &cfg;
    provoke(
        &lab,
        "nfsd_threads",
        "warning",
        |l| {
            l.write("proc/fs/nfsd/threads", "8\n");
            l.write(
                "etc/config/rpinet",
                &format!("{cfg}\n{}", many.replace("'0'", "'1'")),
            );
        },
        |l| {
            l.write("proc/fs/nfsd/threads", "32\n");
            l.write("etc/config/rpinet", cfg);
        },
    );
}

#[test]
fn duplicate_identity_findings() {
    let lab = Lab::healthy("dup");
    let second = |serial: &str, mac: &str, ip: &str| {
        format!(
            "\toption ip '192.168.1.50'\n\nconfig node 'other'\n\toption serial '{serial}'\n\toption mac '{mac}'\n\toption ip '{ip}'\n"
        )
    };
    for (code, extra) in [
        (
            "duplicate_serial",
            second("38c128c0", "dc:a6:32:00:00:02", "192.168.1.51"),
        ),
        (
            "duplicate_mac",
            second("11111111", "DC:A6:32:79:26:DF", "192.168.1.51"),
        ),
        (
            "duplicate_ip",
            second("11111111", "dc:a6:32:00:00:02", "192.168.1.50"),
        ),
    ] {
        let before = lab.codes();
        lab.write("etc/config/rpinet", &config(&extra));
        let codes = lab.codes();
        assert!(codes.contains(&code.to_string()), "{code}: {codes:?}");
        lab.write("etc/config/rpinet", &config(""));
        assert_eq!(lab.codes(), before);
    }
}

#[test]
fn boot_trace_findings() {
    let lab = Lab::healthy("trace");
    // the Pi asked for a kernel that is not there (dnsmasq's log, via logread)
    provoke(
        &lab,
        "boot_file_not_found",
        "error",
        |l| {
            l.write("tmp/rpinet/events.log",
                "1000\tdhcp\tadd\tdc:a6:32:79:26:df\t192.168.1.57\t\tPXEClient:Arch:00000:UNDI:002001\n\
                 1001\ttftp\t2228800\t192.168.1.57\t/mnt/rpinet/tftp/38c128c0/start4.elf\n\
                 1003\ttftp\t120\t192.168.1.57\t/mnt/rpinet/tftp/38c128c0/cmdline.txt\n");
            l.write("tmp/rpinet/logread.txt",
                "Wed Nov 25 03:00:12 2026 [1004.5] daemon.err dnsmasq-tftp[7]: file /mnt/rpinet/tftp/38c128c0/kernel8.img not found for 192.168.1.57\n");
        },
        |l| {
            l.rm("tmp/rpinet/events.log");
            l.rm("tmp/rpinet/logread.txt");
        },
    );
    // a Pi that is not a node asked to boot
    provoke(
        &lab,
        "unknown_pi",
        "info",
        |l| {
            l.write("tmp/rpinet/events.log",
            "100\tdhcp\tadd\tdc:a6:32:01:02:03\t192.168.1.60\t\tPXEClient:Arch:00000:UNDI:002001\n\
             101\tmiss\t192.168.1.60\t/mnt/rpinet/tftp/91cdf03d/start4.elf\tnot found\n")
        },
        |l| l.rm("tmp/rpinet/events.log"),
    );
    let (exit, _) = {
        lab.write(
            "tmp/rpinet/events.log",
            "100\tdhcp\tadd\tdc:a6:32:01:02:03\t192.168.1.60\t\tPXEClient:Arch:00000:UNDI:002001\n",
        );
        lab.doctor()
    };
    assert_eq!(exit, 0, "an info finding alone does not fail doctor");
}

mod standin_ubus;
use standin_ubus::{Quirk, router, start};

fn block(mounted: bool) -> Value {
    let mut d =
        serde_json::json!({"device": "/dev/sda1", "uuid": UUID, "version": "1.0", "type": "ext4"});
    if mounted {
        d["mount"] = "/mnt/rpinet".into();
    }
    serde_json::json!({ "devices": [d] })
}

fn finding<'a>(f: &'a [Value], code: &str) -> &'a Value {
    f.iter()
        .find(|x| x["code"] == code)
        .unwrap_or_else(|| panic!("{code} not in {f:#?}"))
}

#[test]
fn findings_from_the_bus() {
    let lab = Lab::healthy("ubus");
    let sock = lab.p("var/run/ubus/ubus.sock");
    let before = lab.codes();
    {
        let _bus = start(&sock, router("192.168.1.1", block(true)), Quirk::None);
        assert_eq!(lab.codes(), before, "a healthy bus adds nothing");
    }
    {
        // the server address is not (or no longer) on the interface
        let _bus = start(&sock, router("10.0.0.1", block(true)), Quirk::None);
        let (exit, f) = lab.doctor();
        let x = finding(&f, "server_ip_not_on_interface");
        assert!(
            x["message"].as_str().unwrap().contains("192.168.1.1"),
            "{x}"
        );
        assert!(x["message"].as_str().unwrap().contains("10.0.0.1"), "{x}");
        assert_eq!(exit, 1);
    }
    assert_eq!(lab.codes(), before);
    {
        // the SSD is plugged in but not mounted: block info says where it is
        lab.write("proc/mounts", "/dev/root / squashfs ro 0 0\n");
        let _bus = start(&sock, router("192.168.1.1", block(false)), Quirk::None);
        let (_, f) = lab.doctor();
        let m = finding(&f, "storage_absent")["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(m.contains("present as /dev/sda1 but not mounted"), "{m}");
        lab.write(
            "proc/mounts",
            "/dev/root / squashfs ro 0 0\n/dev/sda1 /mnt/rpinet ext4 rw,relatime 0 0\n",
        );
    }
    {
        // dnsmasq stopped: procd's instance is named
        lab.mv("proc/100", "stopped/100");
        let _bus = start(&sock, router("192.168.1.1", block(true)), Quirk::None);
        let (_, f) = lab.doctor();
        let m = finding(&f, "dnsmasq_not_running")["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(m.contains("cfg01411c"), "{m}");
        lab.mv("stopped/100", "proc/100");
    }
    assert_eq!(lab.codes(), before);
}

#[test]
fn a_misbehaving_bus_never_breaks_doctor() {
    let lab = Lab::healthy("badbus");
    let sock = lab.p("var/run/ubus/ubus.sock");
    for quirk in [
        Quirk::Fail,
        Quirk::Garbage,
        Quirk::Empty,
        Quirk::Huge,
        Quirk::Hang,
    ] {
        let _bus = start(&sock, router("10.0.0.1", block(true)), quirk);
        let t = std::time::Instant::now();
        let (exit, f) = lab.doctor();
        // Not a speed measurement: a bus that never answers must not hold doctor up
        // beyond its budget (1 s for all calls) by much.
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{quirk:?}: {:?}",
            t.elapsed()
        );
        let seen = f.iter().any(|x| x["code"] == "server_ip_not_on_interface");
        assert!(!seen, "{quirk:?}: a broken bus is no knowledge");
        assert_eq!(exit, 0, "{quirk:?}: {f:#?}");
    }
}
