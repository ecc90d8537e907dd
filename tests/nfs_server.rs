//! Storage on an existing NFS server, in a --root lab. The lab's kernel may have no NFS
//! client and a --root run never mounts: "the export is mounted at storage_path" is the
//! lab's DIR/proc/mounts line, which the guard reads as it reads the SSD's (docs/SPEC.md §3).
//! What this leaves unchecked — the mount(2) call itself against a real server — is said in
//! README.md (Storage on an NFS server).

mod common;

use common::Lab;

const SERVER: &str = "\nconfig rpinet 'main'\n\toption enabled '1'\n\toption storage_server 'nas.lan'\n\
                      \toption storage_export '/tank/rpinet'\n\toption storage_path '/mnt/rpinet'\n";
const MOUNTED: &str = "/dev/root / squashfs ro 0 0\n\
    nas.lan:/tank/rpinet /mnt/rpinet nfs rw,nosuid,nodev,relatime,vers=3,soft,proto=tcp,timeo=100,retrans=3,addr=10.9.0.20 0 0\n";

fn lab(name: &str) -> Lab {
    let lab = Lab::new(name);
    lab.write("etc/config/rpinet", SERVER);
    lab
}

/// Mounted: apply makes the node's directories on the export and writes the boot settings,
/// and nothing into /etc/exports or nfsd's config (the server exports the trees).
#[test]
fn apply_serves_from_the_mounted_export_and_exports_nothing() {
    let lab = lab("nfs-apply");
    lab.write("proc/mounts", MOUNTED);
    lab.node_add(
        "lion",
        "38c128c0",
        "dc:a6:32:79:26:df",
        &["--ip", "10.9.0.50", "--volume-size", "1G"],
    );
    lab.ok(&["apply"]);
    assert!(lab.path("mnt/rpinet/tftp/38c128c0").is_dir());
    assert!(lab.path("mnt/rpinet/nfs/lion").is_dir());
    let conf = lab.read("tmp/dnsmasq.d/rpinet.conf");
    assert!(conf.contains("tftp-root=/mnt/rpinet/tftp"), "{conf}");
    let exports = lab.read("etc/exports");
    assert!(!exports.contains("/mnt/rpinet/"), "{exports}");
    assert!(!lab.path("etc/nfs.conf.d/rpinet.conf").exists());
    let out = lab.ok(&["status"]);
    assert!(
        out.contains("nas.lan:/tank/rpinet is mounted at /mnt/rpinet"),
        "{out}"
    );

    // what the server must export: the router for the whole export, the node its trees
    let text = lab.ok(&["storage", "exports"]);
    let o = "(rw,sync,no_subtree_check,no_root_squash)";
    for line in [
        format!("/tank/rpinet 10.9.0.1{o}"),
        format!("/tank/rpinet/nfs/lion 10.9.0.50{o}"),
        format!("/tank/rpinet/tftp/38c128c0 10.9.0.50{o}"),
        format!("/tank/rpinet/volumes/lion 10.9.0.50{o}"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    let reply = call(&lab, "storage_exports");
    assert_eq!(reply["exports"].as_str(), Some(text.as_str()));

    // doctor tries what a root needs under the storage (here a local filesystem: all of
    // it works), leaves nothing there, and asks nothing of the router's nfsd or exports
    let out = lab.run(&["doctor", "--json"]);
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = found["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["code"].as_str()).collect())
        .unwrap_or_default();
    for c in &codes {
        assert!(
            !c.starts_with("server_") && !c.starts_with("nfsd") && !c.starts_with("export"),
            "{codes:?}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(lab.path("mnt/rpinet"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.iter()
            .all(|n| !n.to_string_lossy().starts_with(".probe")),
        "{left:?}"
    );
}

/// Not mounted: apply serves nothing from the mount point (the router's flash) and says so;
/// a node cannot be provisioned; doctor names the export and how to get it mounted.
#[test]
fn an_export_not_mounted_fills_nothing() {
    let lab = lab("nfs-absent");
    lab.write("proc/mounts", "/dev/root / squashfs ro 0 0\n");
    lab.node_add(
        "lion",
        "38c128c0",
        "dc:a6:32:79:26:df",
        &["--ip", "10.9.0.50"],
    );
    lab.ok(&["apply"]);
    assert_eq!(
        std::fs::read_dir(lab.path("mnt/rpinet")).unwrap().count(),
        0
    );
    let conf = lab.read("tmp/dnsmasq.d/rpinet.conf");
    assert!(
        conf.contains("# The NFS export nas.lan:/tank/rpinet is not mounted at /mnt/rpinet"),
        "{conf}"
    );
    let err = lab.fails(&["node", "provision", "lion", "--image", "x"]);
    assert!(
        err.contains("the NFS export nas.lan:/tank/rpinet is not mounted at /mnt/rpinet"),
        "{err}"
    );
    // something else mounted there is not the export either
    lab.write("proc/mounts", "/dev/sda1 /mnt/rpinet ext4 rw 0 0\n");
    let out = lab.run(&["doctor", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("storage_wrong_export"), "{text}");
    assert_eq!(
        std::fs::read_dir(lab.path("mnt/rpinet")).unwrap().count(),
        0
    );
}

/// Bad storage options are one line naming the section and option, and nothing is written.
#[test]
fn bad_server_options_are_one_line() {
    let lab = lab("nfs-bad");
    // what a failed command may not touch (its lock file aside)
    let written = |lab: &Lab| {
        (
            common::snapshot(&lab.path("etc")),
            common::snapshot(&lab.path("mnt")),
        )
    };
    for (extra, want) in [
        (
            "\toption storage_uuid '6a1f0000-1111-2222-3333-444455556666'\n",
            "storage_uuid (an SSD on the router) and storage_server (an NFS server) both name the storage",
        ),
        (
            "\toption root_mode 'shared'\n",
            "option 'root_mode': 'shared' cannot be used with storage_server",
        ),
    ] {
        lab.write("etc/config/rpinet", &format!("{SERVER}{extra}"));
        let before = written(&lab);
        let err = lab.fails(&["apply"]);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
        assert!(written(&lab) == before, "a refused apply wrote something");
    }
    lab.write(
        "etc/config/rpinet",
        "\nconfig rpinet 'main'\n\toption storage_export '/x'\n",
    );
    let err = lab.fails(&["storage", "exports"]);
    assert!(err.contains("'storage_server' is missing"), "{err}");
}

fn call(lab: &Lab, method: &str) -> serde_json::Value {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rpinet"))
        .arg("--root")
        .arg(lab.dir())
        .args(["call", method])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"{}").unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}
