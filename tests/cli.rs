//! The rpinet binary against --root trees laid out like an OpenWrt router: what `apply`,
//! `node add/remove` and `status` write, and that bad input writes nothing.

mod common;

use common::{Lab, snapshot};

#[test]
fn node_add_applies_and_second_apply_is_a_no_op() {
    let lab = Lab::new("idem");
    lab.node_add("lion", "38C128C0", "DC:A6:32:79:26:DF", &[]);
    lab.node_add(
        "tiger",
        "10000000abcdef12",
        "dc-a6-32-00-00-02",
        &["--model", "pi5", "--boot-id", "mac"],
    );
    lab.node_add(
        "bear",
        "0000beef",
        "e4:5f:01:00:00:03",
        &[
            "--boot-id",
            "custom",
            "--boot-dir",
            "rack1-bear",
            "--ip",
            "10.9.0.50",
        ],
    );
    for dir in [
        "tftp/38c128c0",
        "nfs/lion",
        "tftp/dc-a6-32-00-00-02",
        "nfs/tiger",
        "tftp/rack1-bear",
        "nfs/bear",
    ] {
        assert!(lab.path(&format!("mnt/rpinet/{dir}")).is_dir(), "{dir}");
    }
    let conf = lab.read("tmp/dnsmasq.d/rpinet.conf");
    assert!(conf.contains("tftp-root=/mnt/rpinet/tftp\n"), "{conf}");
    assert!(conf.contains("dhcp-hostsdir=/tmp/dnsmasq.d/rpinet.hosts\n"));
    assert!(
        conf.contains("dhcp-option-force=tag:known,tag:rpinet-pi,tag:rpinet-pxe,66,10.9.0.1\n")
    );
    assert_eq!(
        lab.read("tmp/dnsmasq.d/rpinet.hosts/bear"),
        "# rpinet node 'bear'\ne4:5f:01:00:00:03,10.9.0.50,bear\n"
    );
    let exports = lab.read("etc/exports");
    assert!(
        exports.starts_with("# /mnt\t*(ro,all_squash,insecure,sync)\n# BEGIN rpinet\n"),
        "{exports}"
    );
    assert!(exports.contains("/mnt/rpinet/tftp/rack1-bear 10.9.0.50(rw,sync,no_subtree_check,no_root_squash,mp=/mnt/rpinet)\n"));
    assert!(
        lab.read("etc/config/dhcp")
            .contains("\tlist addnmount '/mnt/rpinet'\n")
    );
    let config = lab.read("etc/config/rpinet");
    assert!(config.contains("config node 'tiger'\n\toption enabled '1'\n\toption serial 'abcdef12'\n\toption mac 'dc:a6:32:00:00:02'\n\toption model 'pi5'\n\toption boot_id 'mac'\n"), "{config}");

    let before = snapshot(lab.dir());
    assert_eq!(
        lab.ok(&["apply", "--dry-run"]),
        "nothing to do: the system matches the config\n"
    );
    lab.ok(&["apply"]);
    assert_eq!(snapshot(lab.dir()), before, "a second apply changed files");
}

/// Files libuci reads keep status and apply working, the dhcp file keeps
/// what it held when apply adds to it, and a node may not take another section's name.
#[test]
fn files_libuci_reads_keep_rpinet_working() {
    let lab = Lab::new("libuci");
    let main = lab.read("etc/config/rpinet");
    lab.write(
        "etc/config/rpinet",
        &format!(
            "{main}\toption note 'set by\nuci set'\n\toption x\n\toption dhcp_mode server#comment\n\toption match \\\nregistered\n\nconfig rpinet 'main'\n\toption interface 'lan'\n"
        ),
    );
    let dhcp = lab.read("etc/config/dhcp");
    lab.write(
        "etc/config/dhcp",
        &format!(
            "{dhcp}\nconfig host\n\toption name 'two\nlines'\n\toption mac 02:00:00:00:00:09#x\n"
        ),
    );
    lab.ok(&["status", "--json"]);
    lab.node_add("lion", "38C128C0", "DC:A6:32:79:26:DF", &[]);
    let config = lab.read("etc/config/rpinet");
    assert!(config.contains("\toption serial '38c128c0'\n"), "{config}");
    assert!(
        config.contains("\toption note 'set by\nuci set'\n"),
        "{config}"
    );
    let dhcp = lab.read("etc/config/dhcp");
    assert!(dhcp.contains("\tlist addnmount '/mnt/rpinet'\n"), "{dhcp}");
    assert!(
        dhcp.contains(
            "config host\n\toption name 'two\nlines'\n\toption mac '02:00:00:00:00:09'\n"
        ),
        "{dhcp}"
    );
    let before = snapshot(lab.dir());
    let e = lab.fails(&[
        "node",
        "add",
        "main",
        "--serial",
        "22222222",
        "--mac",
        "dc:a6:32:00:00:09",
    ]);
    assert!(
        e.contains("node name 'main' is taken by the 'config rpinet' section"),
        "{e}"
    );
    assert_eq!(
        snapshot(lab.dir()),
        before,
        "a refused node add wrote something"
    );
}

#[test]
fn user_exports_lines_are_kept_byte_for_byte() {
    let lab = Lab::new("exports");
    let user_top = "# mine\r\n/srv/share  192.168.7.0/24(ro,sync)   \n\n";
    let user_bottom = "/srv/other *(rw)\n# trailing comment without newline";
    lab.write(
        "etc/exports",
        &format!("{user_top}# BEGIN rpinet\nstale line\n# END rpinet\n{user_bottom}"),
    );
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    let exports = lab.read("etc/exports");
    assert!(
        exports.starts_with(&format!("{user_top}# BEGIN rpinet\n")),
        "{exports:?}"
    );
    assert!(
        exports.ends_with(&format!("# END rpinet\n{user_bottom}")),
        "{exports:?}"
    );
    assert!(!exports.contains("stale line"));
    lab.write("etc/exports", "# BEGIN rpinet\n/x y\n");
    let before = snapshot(lab.dir());
    let err = lab.fails(&[
        "node",
        "add",
        "tiger",
        "--serial",
        "11111111",
        "--mac",
        "dc:a6:32:00:00:02",
    ]);
    assert_eq!(
        err,
        "rpinet: /etc/exports has a broken rpinet block (one '# BEGIN rpinet' line, then one '# END rpinet' line expected); fix it by hand, then run 'rpinet apply' again\n"
    );
    // Refused before anything was written, the config included.
    assert_eq!(snapshot(lab.dir()), before);
    // status degrades: it answers, with the problem on the NFS line.
    let v: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    assert_eq!(v["nfs"]["ok"], false);
    assert!(
        v["nfs"]["message"]
            .as_str()
            .unwrap()
            .contains("broken rpinet block"),
        "{v}"
    );
    assert_eq!(v["nodes"][0]["name"], "lion");
}

#[test]
fn hostile_values_are_refused_and_nothing_is_written() {
    let lab = Lab::new("hostile");
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    let before = snapshot(lab.dir());
    let long = "a".repeat(300);
    let hostile = [
        "x\ny",
        "x'y",
        "x\"y",
        "x,y",
        "#x",
        "x=y",
        "x y",
        "ünï",
        "../../etc",
        " ",
        long.as_str(),
    ];
    let base = [
        "node",
        "add",
        "n",
        "--serial",
        "11111111",
        "--mac",
        "dc:a6:32:00:00:09",
    ];
    let opts = [
        ("--serial", "serial"),
        ("--mac", "mac"),
        ("--model", "model"),
        ("--boot-id", "boot_id"),
        ("--ip", "ip"),
    ];
    for value in hostile {
        for (flag, option) in opts {
            let mut args: Vec<&str> = base.to_vec();
            match args.iter().position(|a| *a == flag) {
                Some(k) => args[k + 1] = value,
                None => args.extend([flag, value]),
            }
            let err = lab.fails(&args);
            assert!(
                err.starts_with(&format!("rpinet: node 'n': option '{option}': ")),
                "{flag} {value:?}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let mut args = base.to_vec();
        args.extend(["--boot-id", "custom", "--boot-dir", value]);
        assert!(
            lab.fails(&args)
                .starts_with("rpinet: node 'n': option 'boot_dir': ")
        );
        let mut args = base.to_vec();
        args[2] = value;
        assert!(
            lab.fails(&args).starts_with("rpinet: node name '"),
            "{value:?}"
        );
    }
    // NUL cannot even be passed in argv; in the config file it is refused like the rest.
    assert_eq!(snapshot(lab.dir()), before);
    let config = lab.read("etc/config/rpinet");
    lab.write(
        "etc/config/rpinet",
        &config.replace("option model 'pi4'", "option model 'pi4\0'"),
    );
    let before = snapshot(lab.dir());
    // libuci drops what follows a NUL on its line and reads on into the next (rpinet reads
    // as it does): here the quote never closes, and the file is refused naming the NUL.
    let err = lab.fails(&["apply"]);
    assert!(
        err.ends_with(
            "a ' quote is never closed (line 12 has a NUL byte: uci drops the rest of it)\n"
        ),
        "{err}"
    );
    assert_eq!(snapshot(lab.dir()), before);
}

#[test]
fn absent_or_wrong_ssd_creates_and_exports_nothing() {
    for case in ["absent", "wrong-uuid"] {
        let lab = Lab::new(case);
        match case {
            "absent" => lab.write("proc/mounts", "/dev/root / squashfs ro 0 0\n"),
            _ => lab.mkfs("dev/sda1", "00000000-0000-0000-0000-000000000001"),
        }
        lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
        assert_eq!(
            std::fs::read_dir(lab.path("mnt/rpinet")).unwrap().count(),
            0,
            "{case}: storage written"
        );
        let conf = lab.read("tmp/dnsmasq.d/rpinet.conf");
        assert!(
            !conf.contains("tftp-root") && !conf.contains("enable-tftp"),
            "{case}: {conf}"
        );
        assert!(
            lab.read("etc/exports").lines().all(|l| l.starts_with('#')),
            "{case}"
        );
        assert!(!lab.read("etc/config/dhcp").contains("addnmount"));
        let status = lab.ok(&["status"]);
        assert!(status.starts_with("FAIL storage "), "{status}");
        if case == "wrong-uuid" {
            assert!(
                status.contains("has UUID 00000000-0000-0000-0000-000000000001, not storage_uuid"),
                "{status}"
            );
        }
    }
}

#[test]
fn remove_with_purge_deletes_the_node_everywhere() {
    let lab = Lab::new("remove");
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    lab.node_add("tiger", "11111111", "dc:a6:32:00:00:02", &[]);
    lab.write("mnt/rpinet/nfs/lion/etc/hostname", "lion\n");
    assert_eq!(lab.ok(&["node", "remove", "lion"]), "removed node 'lion'\n");
    assert!(
        lab.path("mnt/rpinet/nfs/lion/etc/hostname").exists(),
        "removal without --purge keeps data"
    );
    assert!(!lab.path("tmp/dnsmasq.d/rpinet.hosts/lion").exists());
    assert!(!lab.read("etc/exports").contains("/lion "));
    assert!(!lab.read("etc/config/rpinet").contains("lion"));
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    assert_eq!(
        lab.ok(&["node", "remove", "lion", "--purge"]),
        "removed node 'lion' and deleted its directories\n"
    );
    assert!(
        !lab.path("mnt/rpinet/nfs/lion").exists() && !lab.path("mnt/rpinet/tftp/38c128c0").exists()
    );
    assert!(lab.path("mnt/rpinet/nfs/tiger").is_dir());
    assert_eq!(
        lab.fails(&["node", "remove", "lion"]),
        "rpinet: no node named 'lion'\n"
    );
}

#[test]
fn status_json_follows_the_api() {
    let lab = Lab::new("status");
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    let v: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    assert_eq!(v["storage"]["ok"], true);
    assert_eq!(v["storage"]["device"], "/dev/sda1");
    assert_eq!(v["dnsmasq"]["conf_dir"], "/tmp/dnsmasq.d");
    assert_eq!(v["dnsmasq"]["conf_written"], true);
    assert_eq!(v["server_ip"], "10.9.0.1");
    let n = &v["nodes"][0];
    assert_eq!(
        (
            n["name"].as_str(),
            n["hostname"].as_str(),
            n["boot_dir"].as_str()
        ),
        (Some("lion"), Some("lion"), Some("38c128c0"))
    );
    assert_eq!(n["dirs_present"], true);
    assert_eq!(n["tftp_dir"], "/mnt/rpinet/tftp/38c128c0");
    // A change not yet applied shows as pending.
    lab.write(
        "etc/config/rpinet",
        &lab.read("etc/config/rpinet")
            .replace("option match 'registered'", "option match 'any-pi'"),
    );
    let v: serde_json::Value = serde_json::from_str(&lab.ok(&["status", "--json"])).unwrap();
    assert_eq!(v["dnsmasq"]["conf_written"], false);
}

#[test]
fn withdraw_takes_back_everything_but_the_config_and_data() {
    let lab = Lab::new("withdraw");
    let user_dhcp = lab.read("etc/config/dhcp").replace(
        "config dnsmasq\n",
        "config dnsmasq\n\tlist addnmount '/srv/user'\n",
    );
    lab.write("etc/config/dhcp", &user_dhcp);
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    assert!(
        lab.read("etc/config/dhcp")
            .contains("list addnmount '/mnt/rpinet'")
    );
    let config = lab.read("etc/config/rpinet");
    lab.ok(&["apply", "--withdraw"]);
    assert!(!lab.path("tmp/dnsmasq.d/rpinet.conf").exists());
    assert!(
        !lab.path("tmp/dnsmasq.d/rpinet.hosts").exists(),
        "hosts dir gone"
    );
    assert_eq!(
        lab.read("etc/exports"),
        "# /mnt\t*(ro,all_squash,insecure,sync)\n",
        "no empty block left"
    );
    let dhcp = lab.read("etc/config/dhcp");
    assert!(
        !dhcp.contains("/mnt/rpinet") && !dhcp.contains("rpinet_addnmount"),
        "{dhcp}"
    );
    assert!(
        dhcp.contains("list addnmount '/srv/user'"),
        "the user's entry stays: {dhcp}"
    );
    assert_eq!(lab.read("etc/config/rpinet"), config);
    assert!(lab.path("mnt/rpinet/nfs/lion").is_dir(), "node data kept");
    // A plain apply brings it all back.
    lab.ok(&["apply"]);
    assert!(lab.path("tmp/dnsmasq.d/rpinet.hosts/lion").exists());
    // Withdrawing needs no valid config: the interface gone from the network config, and no
    // `config dnsmasq` section left (as when dnsmasq was removed first).
    lab.write(
        "etc/config/network",
        "\nconfig interface 'wan'\n\toption proto 'dhcp'\n",
    );
    lab.write(
        "etc/config/dhcp",
        &lab.read("etc/config/dhcp")
            .replace("config dnsmasq\n", "config dnsmasq_gone\n"),
    );
    lab.write(
        "etc/config/rpinet",
        "config rpinet 'main'\n\toption storage_path 'not a path'\n",
    );
    lab.ok(&["apply", "--withdraw"]);
    assert!(!lab.path("tmp/dnsmasq.d/rpinet.conf").exists());
    assert!(!lab.read("etc/exports").contains("rpinet"));
}

/// A read-only SSD (a tmpfs mounted read-only over the storage path): `node add` fails and
/// the config, host entries and exports stay as they were; `node remove`, which needs no
/// write on the SSD, removes the node whole.
#[test]
fn a_failed_change_leaves_the_config_as_it_was() {
    let lab = Lab::new("readonly");
    lab.node_add("lion", "38c128c0", "dc:a6:32:79:26:df", &[]);
    let ssd = lab.path("mnt/rpinet");
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=1m", "rpinet-test"])
        .arg(&ssd)
        .output()
        .expect("mount(8) runs (util-linux; `make setup` installs it)");
    assert!(
        out.status.success(),
        "this test needs root to mount a read-only tmpfs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = lab.read("etc/config/rpinet");
    let exports = lab.read("etc/exports");
    let err = lab.fails(&[
        "node",
        "add",
        "tiger",
        "--serial",
        "11111111",
        "--mac",
        "dc:a6:32:00:00:02",
    ]);
    let umount = || {
        let _ = std::process::Command::new("umount").arg(&ssd).status();
    };
    if !err.contains("Read-only file system") {
        umount();
        panic!("{err}");
    }
    let same = (lab.read("etc/config/rpinet"), lab.read("etc/exports"));
    let hosts = lab.path("tmp/dnsmasq.d/rpinet.hosts/tiger").exists();
    umount();
    assert_eq!(same, (config, exports), "nothing of the failed add stays");
    assert!(!hosts, "no host entry for the node that was not added");
    // Retrying once the SSD is writable works (no "already exists").
    lab.node_add("tiger", "11111111", "dc:a6:32:00:00:02", &[]);
}

/// OpenWrt's default lan (a /24, the pool .100-.249) holds 103 addresses outside the pool:
/// the 104th node and later are reserved inside it, skipping what another client leases
/// (dnsmasq's lease file), and the node already leasing an address keeps it.
#[test]
fn past_103_nodes_on_a_default_lan_reservations_go_inside_the_pool() {
    let lab = Lab::new("pool");
    lab.write(
        "tmp/dhcp.leases",
        "1765000000 aa:bb:cc:00:00:01 10.9.0.100 laptop *\n1765000000 dc:a6:32:00:00:6e 10.9.0.180 n110 *\n",
    );
    // 103 nodes with their addresses written at once, as a large config arrives
    let mut cfg = lab.read("etc/config/rpinet");
    for i in 0..103 {
        cfg.push_str(&format!(
            "\nconfig node 'n{i}'\n\toption serial '{i:08x}'\n\toption mac 'dc:a6:32:00:00:{i:02x}'\n"
        ));
    }
    lab.write("etc/config/rpinet", &cfg);
    lab.ok(&["apply"]);
    let ip_of = |name: &str| -> String {
        let c = lab.read("etc/config/rpinet");
        let sec = c.split(&format!("config node '{name}'")).nth(1).unwrap();
        let sec = sec.split("\nconfig ").next().unwrap();
        sec.lines()
            .find_map(|l| l.trim().strip_prefix("option ip '"))
            .map(|v| v.trim_end_matches('\'').to_string())
            .unwrap_or_default()
    };
    assert_eq!(ip_of("n0"), "10.9.0.99");
    assert_eq!(ip_of("n102"), "10.9.0.254");
    // outside the pool is full: .100 is leased to a laptop, .101 is free
    lab.node_add("n103", "00000067", "dc:a6:32:00:00:67", &[]);
    assert_eq!(ip_of("n103"), "10.9.0.101");
    // a node that already holds a lease keeps its address
    lab.node_add("n110", "0000006e", "dc:a6:32:00:00:6e", &[]);
    assert_eq!(ip_of("n110"), "10.9.0.180");
    let hosts = lab.read("tmp/dnsmasq.d/rpinet.hosts/n110");
    assert!(hosts.contains("10.9.0.180"), "{hosts}");
}
