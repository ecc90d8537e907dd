//! `rpinet inventory` read by Ansible itself: ansible-inventory
//! (ansible-core pinned by requirements.txt here, in the venv `make setup` makes) must
//! parse the INI, the YAML and — as an inventory script answering `--list`
//! with the ubus `inventory` reply — the JSON, and all three must give the
//! same hosts, groups and variables.

use crate::common::Lab;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// ansible-inventory from the venv `make setup` makes in target/test-tools/ansible.
fn ansible_inventory() -> PathBuf {
    let bin = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-tools/ansible/bin/ansible-inventory");
    assert!(
        bin.exists(),
        "{} is missing: `make setup` installs the pinned ansible-core",
        bin.display()
    );
    bin
}

/// What Ansible makes of the inventory at `source`: (groups -> sorted hosts, hostvars).
fn parsed(lab: &Lab, source: &Path) -> (Vec<(String, Vec<String>)>, Value) {
    let home = lab.path("ansible-home");
    let out = Command::new(ansible_inventory())
        .arg("-i")
        .arg(source)
        .arg("--list")
        .env("ANSIBLE_HOME", &home)
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "1")
        .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut groups = Vec::new();
    for (name, g) in v.as_object().unwrap() {
        if let Some(hosts) = g["hosts"].as_array() {
            let mut h: Vec<String> = hosts.iter().map(|h| h.as_str().unwrap().into()).collect();
            h.sort();
            groups.push((name.clone(), h));
        }
    }
    groups.sort();
    (groups, v["_meta"]["hostvars"].clone())
}

#[test]
fn ansible_reads_every_format_alike() {
    let lab = Lab::new("inventory");
    lab.node_add(
        "running_lion",
        "38c128c0",
        "dc:a6:32:79:26:df",
        &["--ip", "10.9.0.50"],
    );
    lab.node_add(
        "calm_owl",
        "12345678",
        "dc:a6:32:00:00:01",
        &["--model", "pi5"],
    );
    lab.node_add("quiet_fox", "0000abcd", "dc:a6:32:00:00:02", &[]);
    // two nodes run an image (what provision records)
    let cfg = lab.read("etc/config/rpinet");
    let cfg = cfg
        .replace(
            "config node 'running_lion'\n",
            "config node 'running_lion'\n\toption image 'bookworm-lite'\n",
        )
        .replace(
            "config node 'calm_owl'\n",
            "config node 'calm_owl'\n\toption image 'bookworm-lite'\n",
        );
    lab.write("etc/config/rpinet", &cfg);
    let mut results = Vec::new();
    for format in ["ini", "yaml"] {
        let text = lab.ok(&["inventory", "--format", format]);
        let file = lab.path(&format!("hosts.{format}"));
        std::fs::write(&file, text).unwrap();
        results.push(parsed(&lab, &file));
    }
    // JSON: the ubus reply, as an inventory script gives it
    let script = lab.path("inventory.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = --list ] || {{ echo '{{}}'; exit 0; }}\necho '{{}}' | exec {} --root {} call inventory\n",
            env!("CARGO_BIN_EXE_rpinet"),
            lab.dir().display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    results.push(parsed(&lab, &script));
    let (groups, vars) = &results[0];
    let g = |name: &str| {
        groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    };
    assert_eq!(g("model_pi4"), ["quiet-fox", "running-lion"]);
    assert_eq!(g("model_pi5"), ["calm-owl"]);
    assert_eq!(g("image_bookworm_lite"), ["calm-owl", "running-lion"]);
    let lion = &vars["running-lion"];
    assert_eq!(lion["ansible_host"], "10.9.0.50");
    assert_eq!(lion["rpinet_serial"], "38c128c0");
    assert_eq!(lion["rpinet_mac"], "dc:a6:32:79:26:df");
    assert_eq!(lion["rpinet_model"], "pi4");
    assert_eq!(lion["rpinet_image"], "bookworm-lite");
    assert_eq!(lion["rpinet_boot_stage"], "none");
    for (i, r) in results.iter().enumerate().skip(1) {
        assert_eq!(r, &results[0], "format {i} differs from ini");
    }
    let err = lab.fails(&["inventory", "--format", "toml"]);
    assert!(err.contains("'toml' is not an inventory format"), "{err}");
}
