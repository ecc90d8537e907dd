//! Many writers at once: 20 `node add` and 20 `node remove` started together in one tree
//! (two LuCI tabs, rpcd, procd's reload and hotplug events do this on a router), while a
//! libuci client (real libuci, as `uci set` + `uci commit` and LuCI's Save & Apply write)
//! commits a change to the same file 20 times. Every command must succeed, and the config
//! must hold exactly what the successful commands made of it — every node added, none of
//! those removed, libuci's last value — with host entries and exports that follow it. RPINET_TRIALS trials (3 by default;
//! `make test-crash` runs 20).

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::Lab;

fn trials() -> usize {
    std::env::var("RPINET_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn node_args(name: &str, i: usize) -> Vec<String> {
    [
        "node".to_string(),
        "add".into(),
        name.into(),
        "--serial".into(),
        format!("{:08x}", 0x2000_0000 + i),
        "--mac".into(),
        format!("dc:a6:32:00:{:02x}:{:02x}", i >> 8, i & 0xff),
    ]
    .to_vec()
}

fn names_in(text: &str, prefix: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|l| l.split(['\'', ' ']).next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn parallel_adds_and_removes_lose_nothing() {
    let mut lost = 0;
    for trial in 0..trials() {
        let lab = Lab::new(&format!("parallel-{trial}"));
        for i in 0..20 {
            lab.ok(&node_args(&format!("old{i}"), 100 + i)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>());
        }
        let confdir = lab.path("etc/config");
        let savedir = lab.path("tmp/.uci");
        std::fs::create_dir_all(&savedir).unwrap();
        let uci = std::thread::spawn(move || {
            (0..20).all(|k| libuci::set_and_commit(&confdir, &savedir, &format!("v{k}")))
        });
        let mut children = Vec::new();
        for i in 0..20 {
            let add = node_args(&format!("new{i}"), i);
            let remove = vec!["node".to_string(), "remove".into(), format!("old{i}")];
            for args in [add, remove] {
                children.push((
                    args.join(" "),
                    Command::new(env!("CARGO_BIN_EXE_rpinet"))
                        .arg("--root")
                        .arg(lab.dir())
                        .args(&args)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap(),
                ));
            }
        }
        for (what, child) in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "trial {trial}: `{what}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(uci.join().unwrap(), "trial {trial}: a libuci commit failed");
        let want: BTreeSet<String> = (0..20).map(|i| format!("new{i}")).collect();
        let text = lab.read("etc/config/rpinet");
        assert!(
            text.contains("\toption note 'v19'\n"),
            "trial {trial}: libuci's last commit lost:\n{text}"
        );
        let config = names_in(&text, "config node '");
        lost += want.difference(&config).count() + config.difference(&want).count();
        assert_eq!(config, want, "trial {trial}: the config");
        let hosts: BTreeSet<String> = std::fs::read_dir(lab.path("tmp/dnsmasq.d/rpinet.hosts"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(hosts, want, "trial {trial}: host entries");
        let exported = names_in(&lab.read("etc/exports"), "/mnt/rpinet/nfs/");
        assert_eq!(exported, want, "trial {trial}: exports");
    }
    println!("parallel writers: {} trials, {lost} lost updates", trials());
}

/// `uci set rpinet.main.note=VALUE && uci commit rpinet` through real libuci (the
/// libuci-sys dev-dependency builds OpenWrt's uci sources), with its config and delta
/// directories in the lab.
mod libuci {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    use libuci_sys::*;

    pub fn set_and_commit(confdir: &Path, savedir: &Path, value: &str) -> bool {
        let conf = CString::new(confdir.as_os_str().as_bytes()).unwrap();
        let save = CString::new(savedir.as_os_str().as_bytes()).unwrap();
        let expr = CString::new(format!("rpinet.main.note={value}"))
            .unwrap()
            .into_raw();
        // SAFETY: a fresh context, freed before returning; `expr` is a NUL-terminated buffer
        // libuci may cut in place (extended lookup), freed after the context; `ptr` is
        // zeroed as uci_lookup_ptr expects and filled by it.
        unsafe {
            let ctx = uci_alloc_context();
            assert!(!ctx.is_null());
            let mut rc = uci_set_confdir(ctx, conf.as_ptr()) | uci_set_savedir(ctx, save.as_ptr());
            let mut ptr: uci_ptr = std::mem::zeroed();
            rc |= uci_lookup_ptr(ctx, &mut ptr, expr, true);
            if rc == 0 {
                rc |= uci_set(ctx, &mut ptr);
                rc |= uci_save(ctx, ptr.p);
                rc |= uci_commit(ctx, &mut ptr.p, false);
            }
            uci_free_context(ctx);
            drop(CString::from_raw(expr));
            rc == 0
        }
    }
}
