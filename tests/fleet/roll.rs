//! `rpinet image roll` over three nodes where one never comes up: the boots
//! are simulated with `rpinet event` as dnsmasq's hooks would record them.
//! The first batch comes up and loses its kept roots; the last node does not,
//! the roll stops and reports it with its boot trace, its previous root is
//! kept, and `node rollback` puts it back.

use crate::image_util::*;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const NODES: [(&str, &str, &str, &str); 3] = [
    ("a", "11111111", "dc:a6:32:00:00:0a", "10.9.0.50"),
    ("b", "22222222", "dc:a6:32:00:00:0b", "10.9.0.51"),
    ("c", "33333333", "dc:a6:32:00:00:0c", "10.9.0.52"),
];

fn ok(root: &Path, args: &[&str]) -> String {
    let out = rpinet(root, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One event as the dhcp or tftp hook records it.
fn event(root: &Path, kind: &str, env: &[(&str, &str)]) {
    let out = crate::rpinet_at(root)
        .args(["event", kind])
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    crate::assert_ok(&out);
}

/// A Pi 4 netboot to a running OS: loader DHCP, firmware, kernel, the OS's DHCP with its hostname.
fn boot(root: &Path, (name, serial, mac, ip): (&str, &str, &str, &str)) {
    let pxe = "PXEClient:Arch:00000:UNDI:002001";
    event(
        root,
        "dhcp",
        &[
            ("ACTION", "add"),
            ("MACADDR", mac),
            ("IPADDR", ip),
            ("DNSMASQ_VENDOR_CLASS", pxe),
        ],
    );
    for f in ["start4.elf", "kernel8.img"] {
        let path = format!("/mnt/rpinet/tftp/{serial}/{f}");
        event(
            root,
            "tftp",
            &[
                ("ACTION", "add"),
                ("TFTP_SIZE", "1000"),
                ("TFTP_ADDR", ip),
                ("TFTP_PATH", &path),
            ],
        );
    }
    event(
        root,
        "dhcp",
        &[
            ("ACTION", "old"),
            ("MACADDR", mac),
            ("IPADDR", ip),
            ("HOSTNAME", name),
        ],
    );
    // and the node's own report of a healthy boot, written into its root as its
    // rpinet-report.service does
    let dir = root.join(format!("mnt/rpinet/nfs/{name}/var/lib/rpinet"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("boot-report"),
        "rpinet-boot-report 1\nstate=running\nmode=multi-user\nkernel=6.1.0\nmulti_user_us=30000000\n",
    )
    .unwrap();
}

fn image_of(root: &Path, node: &str) -> String {
    let cfg = std::fs::read_to_string(root.join("etc/config/rpinet")).unwrap();
    let sec = cfg.split(&format!("config node '{node}'")).nth(1).unwrap();
    let sec = sec.split("\nconfig ").next().unwrap();
    sec.lines()
        .find_map(|l| l.trim().strip_prefix("option image "))
        .unwrap_or("")
        .trim_matches('\'')
        .to_string()
}

#[test]
fn roll_over_three_nodes_stops_at_the_one_that_never_comes_up() {
    roll_over_three_nodes("copy");
}

/// The same roll on shared roots: each node's kept root is its old upper over the old
/// image (roots/.NODE.prev), its new one a fresh upper over the new image.
#[test]
fn roll_over_three_shared_roots() {
    roll_over_three_nodes("shared");
}

fn roll_over_three_nodes(mode: &str) {
    let work = scratch(&format!("roll-{mode}"));
    let root = work.join("root");
    router(&root);
    let cfg = root.join("etc/config/rpinet");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}\toption root_mode '{mode}'\n")).unwrap();
    std::fs::copy(shared_image().join("disk.img.xz"), root.join("os.img.xz")).unwrap();
    for name in ["old", "new"] {
        ok(&root, &["image", "import", "/os.img.xz", "--name", name]);
    }
    std::fs::write(root.join("mnt/rpinet/images/new/root/etc/rolled"), "new\n").unwrap();
    for i in ["old", "new"] {
        std::fs::create_dir_all(root.join(format!("mnt/rpinet/images/{i}/root/etc/ssh"))).unwrap();
    }
    for (name, serial, mac, _) in NODES {
        ok(
            &root,
            &["node", "add", name, "--serial", serial, "--mac", mac],
        );
        ok(&root, &["node", "provision", name, "--image", "old"]);
    }
    let s = root.join("mnt/rpinet");
    // where a node's kept root is: a copy, or a shared root's upper
    let kept = |name: &str| match mode {
        "shared" => s.join(format!("roots/.{name}.prev/upper")),
        _ => s.join(format!("nfs/.{name}.prev")),
    };
    // what the nodes made of themselves on first boot: their identity
    for (name, ..) in NODES {
        let etc = s.join(format!("nfs/{name}/etc"));
        std::fs::write(etc.join("machine-id"), machine_id(name)).unwrap();
        std::fs::create_dir_all(etc.join("ssh")).unwrap();
        std::fs::write(
            etc.join("ssh/ssh_host_ed25519_key"),
            format!("{name}-key\n"),
        )
        .unwrap();
    }
    let job = root.join("tmp/rpinet/jobs/jroll.json");
    let mut roll = crate::rpinet_at(&root)
        .args([
            "image",
            "roll",
            "new",
            "--from",
            "old",
            "--batch",
            "2",
            "--boot-timeout",
            "8",
            "--job",
            "jroll",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // boot a and b once the roll has switched them; c never boots
    let mut booted = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while roll.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the roll did not end");
        let j: Value = std::fs::read(&job)
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default();
        for n in j["nodes"].as_array().into_iter().flatten() {
            let name = n["name"].as_str().unwrap();
            if n["state"] == "booting" && name != "c" && !booted.contains(&name.to_string()) {
                // while it boots, its previous root is kept beside the new one
                assert!(kept(name).join("etc").is_dir(), "{name}: no kept root");
                boot(&root, NODES.iter().copied().find(|x| x.0 == name).unwrap());
                booted.push(name.to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = roll.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("image roll stopped: c did not come up on new: no boot seen within 8 s"),
        "{err}"
    );
    assert!(err.contains("rpinet node rollback c"), "{err}");
    let j: Value = serde_json::from_slice(&std::fs::read(&job).unwrap()).unwrap();
    assert_eq!(j["state"], "failed");
    let states: Vec<(&str, &str)> = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap(), n["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("a", "up"), ("b", "up"), ("c", "failed")]);
    assert_eq!(
        j["nodes"][0]["stage"], "running",
        "a reported a healthy boot: {j}"
    );
    assert_eq!(
        j["nodes"][2]["boot"]["stage"], "none",
        "c is reported with its boot trace: {j}"
    );
    // a and b run the new image, their kept roots are gone
    for n in ["a", "b"] {
        assert_eq!(image_of(&root, n), "new");
        assert_eq!(
            std::fs::read_to_string(s.join(format!("nfs/{n}/etc/rolled"))).unwrap(),
            "new\n"
        );
        assert!(!s.join(format!("nfs/.{n}.prev")).exists());
        assert!(!s.join(format!("roots/.{n}.prev")).exists());
        // its identity survived the reimage
        let etc = s.join(format!("nfs/{n}/etc"));
        assert_eq!(
            std::fs::read_to_string(etc.join("machine-id")).unwrap(),
            machine_id(n)
        );
        assert_eq!(
            std::fs::read_to_string(etc.join("ssh/ssh_host_ed25519_key")).unwrap(),
            format!("{n}-key\n")
        );
    }
    // c is on the new image with its old root kept; rollback puts it back
    assert_eq!(image_of(&root, "c"), "new");
    assert!(kept("c").join("etc").is_dir() && s.join("tftp/.33333333.prev").is_dir());
    let st: Value = serde_json::from_str(&ok(&root, &["status", "--json"])).unwrap();
    let c = st["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "c")
        .unwrap();
    assert_eq!(c["kept"]["image"], "old", "{c}");
    assert_eq!(c["root_mode"], mode);
    let said = ok(&root, &["node", "rollback", "c"]);
    assert!(
        said.contains("rolled c back to its kept root (old)"),
        "{said}"
    );
    assert_eq!(image_of(&root, "c"), "old");
    assert!(!s.join("nfs/c/etc/rolled").exists());
    assert!(s.join("nfs/c/etc/os-release").exists());
    let names: Vec<String> = std::fs::read_dir(s.join("nfs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    // nothing kept any more
    let out = rpinet(&root, &["node", "rollback", "c"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no kept root"));
    // ubus: the same checks before a job starts
    for (method, args, want) in [
        (
            "image_roll",
            r#"{"image":"new","nodes":"a x"}"#,
            "no node 'x'",
        ),
        (
            "image_roll",
            r#"{"image":"new","from":"old","batch":"0"}"#,
            "batch '0'",
        ),
        ("image_roll", r#"{"image":"new"}"#, "name the nodes"),
        ("node_rollback", r#"{"name":"a"}"#, "has no kept root"),
    ] {
        let v = crate::call(&root, method, args);
        assert!(
            v["error"].as_str().unwrap_or("").contains(want),
            "{method} {args}: {v}"
        );
    }
}

/// A machine-id as systemd writes it (32 hex digits), one per node.
fn machine_id(node: &str) -> String {
    format!(
        "{:0>32}\n",
        node.bytes().map(|b| format!("{b:x}")).collect::<String>()
    )
}
