//! The rpcd exec-plugin protocol, driven through pipes the way rpcd drives it
//! (openwrt/rpcd exec.c/plugin.c): `rpinet list` with stdin and stderr on
//! /dev/null; `rpinet call METHOD` with the arguments written to stdin in one
//! go and stdin then closed; the first JSON value on stdout is the reply and
//! the exit code is ignored. This test plays rpcd's part; it is a stand-in.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_rpinet");

mod common;

/// The common router tree (lan 10.9.0.1/24, the SSD mounted) with one node.
struct Lab(common::Lab);

impl Lab {
    fn new(tag: &str) -> Lab {
        let lab = common::Lab::new(&format!("rpcd-{tag}"));
        lab.write(
            "etc/config/rpinet",
            &format!(
                "config rpinet 'main'\n\toption storage_uuid '{}'\n\toption storage_path '/mnt/rpinet'\n\n\
                 config node 'running_lion'\n\toption serial '38c128c0'\n\toption mac 'dc:a6:32:79:26:df'\n",
                common::UUID
            ),
        );
        Lab(lab)
    }
    fn write(&self, rel: &str, text: &str) {
        self.0.write(rel, text)
    }
    fn path(&self) -> &Path {
        self.0.dir()
    }
}

/// Run `rpinet [--root DIR] call METHOD` with `input` on stdin, as rpcd does.
fn call(root: Option<&Path>, method: &str, input: &[u8]) -> Value {
    let mut cmd = Command::new(BIN);
    if let Some(r) = root {
        cmd.arg("--root").arg(r);
    }
    let mut child = cmd
        .args(["call", method])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        // rpcd writes once and closes; a reader that stops early is fine
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let v = stream
        .next()
        .expect("a JSON value on stdout")
        .expect("valid JSON");
    assert!(v.is_object(), "reply must be an object: {text}");
    assert!(text.len() < 256 * 1024);
    v
}

fn err(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {v}"))
}

#[test]
fn list_prints_the_signatures_with_typed_samples() {
    let out = Command::new(BIN)
        .arg("list")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = v.as_object().unwrap();
    for method in [
        "status",
        "node_add",
        "node_remove",
        "image_import",
        "node_provision",
        "job",
        "images",
        "discovered",
        "doctor",
    ] {
        assert!(m.contains_key(method), "{method} missing from {v}");
    }
    assert_eq!(v["node_remove"], json!({"name": "str", "purge": true}));
    assert_eq!(v["job"], json!({"id": "str"}));
    assert_eq!(
        v["status"],
        json!({"offset": 0, "limit": 0, "filter": "str"})
    );
}

#[test]
fn status_answers_with_nodes_and_their_boot() {
    let lab = Lab::new("status");
    lab.write(
        "tmp/rpinet/events.log",
        "1000\tdhcp\tadd\tdc:a6:32:79:26:df\t192.168.1.57\t\tPXEClient:Arch:00000:UNDI:002001\n\
         1001\ttftp\t2228800\t192.168.1.57\t/mnt/rpinet/tftp/38c128c0/start4.elf\n",
    );
    let v = call(
        Some(lab.path()),
        "status",
        br#"{"ubus_rpc_session":"0123456789abcdef0123456789abcdef"}"#,
    );
    assert_eq!(v["server_ip"], "10.9.0.1");
    assert_eq!(v["storage"]["mounted"], true);
    let n = &v["nodes"][0];
    assert_eq!(n["name"], "running_lion");
    assert_eq!(n["hostname"], "running-lion");
    assert_eq!(n["boot_dir"], "38c128c0");
    assert_eq!(n["tftp_dir"], "/mnt/rpinet/tftp/38c128c0");
    assert_eq!(n["boot"]["stage"], "firmware");
    assert_eq!(n["boot"]["ip"], "192.168.1.57");
    assert_eq!(n["boot"]["stages"][0]["detail"], "offered 192.168.1.57");
    assert_eq!(n["boot"]["stages"][1]["detail"], "start4.elf");
    assert_eq!(n["boot"]["error"], Value::Null);
}

/// 1,000 nodes, each with a boot in the log: the whole list fits the reply cap (compact),
/// and a page of a filtered list has every field.
#[test]
fn status_lists_a_thousand_nodes_and_pages_a_filtered_list() {
    let lab = Lab::new("status-1000");
    let mut cfg = format!(
        "config rpinet 'main'\n\toption storage_uuid '{}'\n\toption storage_path '/mnt/rpinet'\n\n",
        common::UUID
    );
    let mut log = String::new();
    for i in 0..1000u32 {
        let mac = format!("dc:a6:32:00:{:02x}:{:02x}", i >> 8, i & 0xff);
        cfg.push_str(&format!(
            "config node 'node_{i:04}'\n\toption serial '{:08x}'\n\toption mac '{mac}'\n",
            0x91cd_0000 + i
        ));
        let ip = format!("10.9.{}.{}", 1 + i / 250, 1 + i % 250);
        log.push_str(&format!(
            "1000\tdhcp\tadd\t{mac}\t{ip}\t\tPXEClient:Arch:00000:UNDI:002001\n"
        ));
        if i % 2 == 0 {
            log.push_str(&format!(
                "1001\ttftp\t2228800\t{ip}\t/mnt/rpinet/tftp/{:08x}/start4.elf\n",
                0x91cd_0000 + i
            ));
        }
    }
    lab.write("etc/config/rpinet", &cfg);
    lab.write("tmp/rpinet/events.log", &log);
    let v = call(Some(lab.path()), "status", b"{}");
    assert_eq!(v["nodes"].as_array().unwrap().len(), 1000, "{}", v["error"]);
    assert_eq!(v["compact"], true);
    assert_eq!(v["matched"], 1000);
    assert_eq!(v["nodes"][999]["name"], "node_0999");
    assert_eq!(v["nodes"][0]["boot"]["stage"], "firmware");
    // boots of 1970 made no progress for ages: stalled (firmware) and stalled (dhcp)
    assert_eq!(
        v["summary"],
        json!({"total": 1000, "up": 0, "running": 0, "degraded": 0, "booting": 0, "failed": 0, "stalled": 1000, "none": 0})
    );
    let p = call(
        Some(lab.path()),
        "status",
        br#"{"filter": "NODE_09", "offset": 90, "limit": 20}"#,
    );
    assert_eq!(p["matched"], 100);
    assert_eq!(
        (p["offset"].clone(), p["limit"].clone()),
        (json!(90), json!(20))
    );
    let names: Vec<&str> = p["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        (990..1000)
            .map(|i| format!("node_{i:04}"))
            .collect::<Vec<_>>()
    );
    assert!(p.get("compact").is_none());
    assert_eq!(p["nodes"][0]["tftp_dir"], "/mnt/rpinet/tftp/91cd03de");
    assert_eq!(p["nodes"][0]["boot"]["stalled"], true);
    assert!(
        p["nodes"][0]["boot"]["hint"]
            .as_str()
            .unwrap()
            .contains("kernel")
    );
    assert_eq!(p["summary"]["total"], 1000);
}

#[test]
fn closed_empty_stdin_is_an_empty_request() {
    let lab = Lab::new("empty");
    let v = call(Some(lab.path()), "status", b"");
    assert!(v.get("error").is_none(), "{v}");
    assert_eq!(v["nodes"][0]["boot"]["stage"], "none");
}

#[test]
fn requests_of_64_kib_or_more_are_refused() {
    let lab = Lab::new("big");
    // exactly what rpcd delivers when it cuts a request: 65,536 bytes
    let mut big = b"{\"id\":\"".to_vec();
    big.resize(65536 - 2, b'a');
    big.extend_from_slice(b"\"}");
    let v = call(Some(lab.path()), "job", &big);
    assert!(err(&v).contains("64 KiB"), "{v}");
    // far more than that: still one clean error
    let v = call(Some(lab.path()), "status", &vec![b' '; 1 << 20]);
    assert!(err(&v).contains("64 KiB"), "{v}");
    // just under: whitespace-padded valid JSON is accepted
    let mut ok = b"{}".to_vec();
    ok.resize(65535, b' ');
    let v = call(Some(lab.path()), "status", &ok);
    assert!(v.get("error").is_none(), "{v}");
}

#[test]
fn garbage_and_wrong_types_are_errors_that_name_the_problem() {
    let lab = Lab::new("garbage");
    let root = Some(lab.path());
    assert!(err(&call(root, "status", b"{not json")).contains("not JSON"));
    assert!(err(&call(root, "status", &[0xff, 0x00, 0x13])).contains("UTF-8"));
    assert!(err(&call(root, "status", b"[1,2]")).contains("object"));
    assert!(err(&call(root, "status", b"\"x\"")).contains("object"));
    assert!(err(&call(root, "nosuch", b"{}")).contains("unknown method"));
    let v = call(root, "job", br#"{"id": 42}"#);
    assert!(err(&v).contains("'id' must be a string"), "{v}");
    let v = call(
        root,
        "node_remove",
        br#"{"name":"running_lion","purge":"yes"}"#,
    );
    assert!(err(&v).contains("'purge' must be a boolean"), "{v}");
    let v = call(root, "status", br#"{"extra": 1}"#);
    assert!(err(&v).contains("unknown argument 'extra'"), "{v}");
    let v = call(root, "job", br#"{}"#);
    assert!(err(&v).contains("'id' is required"), "{v}");
    let v = call(root, "job", br#"{"id":"../../etc/passwd"}"#);
    assert!(err(&v).contains("not a job id"), "{v}");
    let v = call(
        root,
        "node_provision",
        br#"{"name":"Bad Name","image":"x"}"#,
    );
    assert!(err(&v).contains("name 'Bad Name'"), "{v}");
    let v = call(
        root,
        "image_import",
        br#"{"path":"relative.img","name":"x"}"#,
    );
    assert!(err(&v).contains("absolute"), "{v}");
}

#[test]
fn job_reports_the_state_file() {
    let lab = Lab::new("job");
    lab.write(
        "tmp/rpinet/jobs/j1700000000-77.json",
        r#"{"id":"j1700000000-77","kind":"image_import","state":"running","progress":42,
            "bytes_done":123,"bytes_total":456,"files":1000,"message":"root: usr/lib/x"}"#,
    );
    let v = call(Some(lab.path()), "job", br#"{"id":"j1700000000-77"}"#);
    assert_eq!(v["state"], "running");
    assert_eq!(v["progress"], 42);
    assert_eq!(v["message"], "root: usr/lib/x");
    let v = call(Some(lab.path()), "job", br#"{"id":"j1-1"}"#);
    assert!(err(&v).contains("no job"));
    lab.write("tmp/rpinet/jobs/j2-2.json", "{broken");
    let v = call(Some(lab.path()), "job", br#"{"id":"j2-2"}"#);
    assert!(err(&v).contains("not JSON"));
}

#[test]
fn image_import_starts_a_detached_job_at_once() {
    let lab = Lab::new("import");
    lab.write("tmp/bookworm.img", "not really an image");
    let v = call(
        Some(lab.path()),
        "image_import",
        br#"{"path":"/tmp/bookworm.img","name":"bookworm","ubus_rpc_session":"x"}"#,
    );
    let id = v["job"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    assert!(id.starts_with('j'));
    // the job exists at once; its process reports (or is found gone) later
    let j = call(
        Some(lab.path()),
        "job",
        json!({ "id": id }).to_string().as_bytes(),
    );
    assert_eq!(j["id"], id.as_str());
    assert_eq!(j["kind"], "image_import");
    let state = j["state"].as_str().unwrap();
    assert!(["running", "done", "failed"].contains(&state), "{j}");
    // the job process ends (this build may not import yet); `job` then never says running forever
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let j = call(
            Some(lab.path()),
            "job",
            json!({ "id": id }).to_string().as_bytes(),
        );
        if j["state"] != "running" {
            break;
        }
        assert!(Instant::now() < deadline, "job still running: {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let v = call(
        Some(lab.path()),
        "image_import",
        br#"{"path":"/tmp/missing.img","name":"x"}"#,
    );
    assert!(err(&v).contains("no file"), "{v}");
    // rpcd runs it as root: not any file on the router, not through a symlink, and not from
    // where the nodes write (their NFS roots).
    lab.write("root/secret.img", "x");
    std::os::unix::fs::symlink("/root/secret.img", lab.path().join("tmp/link.img")).unwrap();
    for (path, says) in [
        ("/root/secret.img", "not under the storage path"),
        ("/tmp/link.img", "is a symlink"),
        ("/tmp/", "not an .img"),
    ] {
        let req = format!(r#"{{"path":"{path}","name":"x"}}"#);
        let v = call(Some(lab.path()), "image_import", req.as_bytes());
        assert!(err(&v).contains(says), "{path}: {v}");
    }
}

#[test]
fn discovered_lists_an_unknown_pi() {
    let lab = Lab::new("disc");
    lab.write(
        "tmp/rpinet/events.log",
        "100\tdhcp\tadd\tdc:a6:32:01:02:03\t192.168.1.60\t\tPXEClient:Arch:00000:UNDI:002001\n\
         101\ttftp\t1024\t192.168.1.60\t/mnt/rpinet/tftp/91cdf03d/config.txt\n",
    );
    let v = call(Some(lab.path()), "discovered", b"{}");
    assert_eq!(
        v["discovered"],
        json!([{"mac": "dc:a6:32:01:02:03", "serial": "91cdf03d", "model": "", "ip": "192.168.1.60",
                "first_seen": 100, "last_seen": 101, "seen": "tftp"}])
    );
}

#[test]
fn doctor_answers_with_findings() {
    let lab = Lab::new("doctor");
    let v = call(Some(lab.path()), "doctor", b"{}");
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"dnsmasq_not_running"), "{v}");
    let f = &v["findings"][0];
    for k in ["level", "code", "node", "message", "fix"] {
        assert!(f.get(k).is_some(), "{k} missing in {f}");
    }
}

#[test]
fn event_hooks_append_to_the_log() {
    let lab = Lab::new("event");
    let st = Command::new(BIN)
        .arg("--root")
        .arg(lab.path())
        .args(["event", "dhcp"])
        .env("ACTION", "add")
        .env("MACADDR", "DC:A6:32:79:26:DF")
        .env("IPADDR", "192.168.1.57")
        .env("HOSTNAME", "")
        .env("DNSMASQ_VENDOR_CLASS", "PXEClient:Arch:00000:UNDI:002001")
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new(BIN)
        .arg("--root")
        .arg(lab.path())
        .args(["event", "tftp"])
        .env("ACTION", "add")
        .env("TFTP_SIZE", "2228800")
        .env("TFTP_ADDR", "192.168.1.57")
        .env("TFTP_PATH", "/mnt/rpinet/tftp/38c128c0/start4.elf")
        .status()
        .unwrap();
    assert!(st.success());
    let log = std::fs::read_to_string(lab.path().join("tmp/rpinet/events.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].ends_with(
        "\tdhcp\tadd\tdc:a6:32:79:26:df\t192.168.1.57\t\tPXEClient:Arch:00000:UNDI:002001"
    ));
    assert!(
        lines[1].ends_with("\ttftp\t2228800\t192.168.1.57\t/mnt/rpinet/tftp/38c128c0/start4.elf")
    );
    let out = Command::new(BIN)
        .arg("--root")
        .arg(lab.path())
        .args(["event", "dhcp"])
        .env("ACTION", "bogus")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ACTION 'bogus'"));
}

#[test]
fn node_add_and_remove_go_through_the_core() {
    let lab = Lab::new("nodes");
    let v = call(
        Some(lab.path()),
        "node_add",
        br#"{"name":"quiet_owl","serial":"91CDF03D","mac":"E4:5F:01:09:02:F7","model":"pi4","boot_id":"serial","ubus_rpc_session":"s"}"#,
    );
    let n = &v["node"];
    assert_eq!(n["name"], "quiet_owl", "{v}");
    assert_eq!(n["serial"], "91cdf03d");
    assert_eq!(n["mac"], "e4:5f:01:09:02:f7");
    assert_eq!(n["tftp_dir"], "/mnt/rpinet/tftp/91cdf03d");
    assert!(n.get("boot").is_none());
    let cfg = std::fs::read_to_string(lab.path().join("etc/config/rpinet")).unwrap();
    assert!(cfg.contains("config node 'quiet_owl'"), "{cfg}");
    assert!(cfg.contains("\toption serial '91cdf03d'\n"), "{cfg}");
    // a node may not take the name of another section: uci would refuse the whole file
    let v = call(
        Some(lab.path()),
        "node_add",
        br#"{"name":"main","serial":"22222222","mac":"e4:5f:01:00:00:02"}"#,
    );
    assert!(
        err(&v).contains("taken by the 'config rpinet' section"),
        "{v}"
    );
    // the core refuses what does not validate, and says which option
    let v = call(
        Some(lab.path()),
        "node_add",
        br#"{"name":"bad_mac","serial":"12345678","mac":"zz:zz"}"#,
    );
    assert!(err(&v).contains("mac"), "{v}");
    let v = call(
        Some(lab.path()),
        "node_add",
        br#"{"name":"twin","serial":"91cdf03d","mac":"e4:5f:01:00:00:01"}"#,
    );
    assert!(err(&v).contains("already used"), "{v}");
    let v = call(
        Some(lab.path()),
        "node_remove",
        br#"{"name":"quiet_owl","purge":false}"#,
    );
    assert_eq!(v, json!({"removed": "quiet_owl", "purged": false}));
    let cfg = std::fs::read_to_string(lab.path().join("etc/config/rpinet")).unwrap();
    assert!(!cfg.contains("quiet_owl"));
    let v = call(Some(lab.path()), "node_remove", br#"{"name":"quiet_owl"}"#);
    assert!(err(&v).contains("quiet_owl"), "{v}");
}

#[test]
fn image_delete_takes_an_unused_image_away_at_once() {
    let lab = Lab::new("imgdel");
    for f in [
        "boot/config.txt",
        "root/etc/os-release",
        "root/usr/lib/a/b/c",
    ] {
        lab.write(&format!("mnt/rpinet/images/bookworm/{f}"), "x\n");
        lab.write(&format!("mnt/rpinet/images/trixie/{f}"), "x\n");
    }
    // a node provisioned from bookworm
    let cfg = std::fs::read_to_string(lab.path().join("etc/config/rpinet")).unwrap();
    lab.write(
        "etc/config/rpinet",
        &format!("{cfg}\toption image 'bookworm'\n"),
    );
    let v = call(Some(lab.path()), "image_delete", br#"{"name":"bookworm"}"#);
    assert!(err(&v).contains("used by node running_lion"), "{v}");
    assert!(
        lab.path()
            .join("mnt/rpinet/images/bookworm/root/usr/lib/a/b/c")
            .exists()
    );
    let v = call(Some(lab.path()), "image_delete", br#"{"name":"../tftp"}"#);
    assert!(err(&v).contains("not an image name"), "{v}");
    let v = call(Some(lab.path()), "image_delete", br#"{"name":"nosuch"}"#);
    assert!(err(&v).contains("no imported image"), "{v}");

    let v = call(Some(lab.path()), "image_delete", br#"{"name":"trixie"}"#);
    assert_eq!(v, json!({"deleted": "trixie"}));
    let imgs = call(Some(lab.path()), "images", b"{}");
    let names: Vec<&str> = imgs["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bookworm"], "{imgs}");
    // the detached child removes the files
    let images = lab.path().join("mnt/rpinet/images");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<String> = std::fs::read_dir(&images)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if left == ["bookworm"] {
            break;
        }
        assert!(Instant::now() < deadline, "still there: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // without the SSD nothing is touched
    lab.write("proc/mounts", "/dev/root / squashfs ro 0 0\n");
    let v = call(Some(lab.path()), "image_delete", br#"{"name":"bookworm"}"#);
    assert!(err(&v).contains("not mounted"), "{v}");
}
