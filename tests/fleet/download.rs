//! `rpinet image import URL`: the download streams through the machine's own
//! HTTP client (curl here, and wget with a PATH that has only wget) from a
//! server on 127.0.0.1 into the importer. A good import, a wrong checksum, a
//! body cut short, a 404, a server that stalls and a URL that is not http(s)
//! each end with one line, and nothing is left in images/ after a failure.

use crate::image_util::http::{Reply, Server, sha256};
use crate::image_util::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn import(root: &Path, path: Option<&Path>, args: &[&str]) -> Output {
    let mut c = crate::rpinet_at(root);
    c.args(["image", "import"]).args(args);
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

fn images(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("mnt/rpinet/images"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A PATH holding only wget, so the importer picks it.
fn wget_only(work: &Path) -> PathBuf {
    let d = work.join("wget-bin");
    std::fs::create_dir_all(&d).unwrap();
    let _ = std::os::unix::fs::symlink("/usr/bin/wget", d.join("wget"));
    d
}

fn fails_with(out: &Output, what: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(what), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn good_download_imports_with_either_checksum_and_reports_progress() {
    let work = scratch("dl-good");
    let root = work.join("root");
    router(&root);
    let xz = std::fs::read(shared_image().join("disk.img.xz")).unwrap();
    let img = std::fs::read(shared_image().join("disk.img")).unwrap();
    let srv = Server::start();
    let url = srv.route(
        "/os/2025-05-13-raspios-lite.img.xz",
        Reply::Body(xz.clone()),
    );
    // the SHA-256 of the .img.xz as fetched
    let out = import(
        &root,
        None,
        &[&url, "--sha256", &sha256(&xz).to_uppercase(), "--job", "j1"],
    );
    crate::assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 2025-05-13-raspios-lite (bookworm)"),
        "{stdout}"
    );
    let image = root.join("mnt/rpinet/images/2025-05-13-raspios-lite");
    assert_eq!(
        std::fs::read(image.join("root/random.bin")).unwrap(),
        std::fs::read(shared_image().join("tree/random.bin")).unwrap()
    );
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.join("image.json")).unwrap()).unwrap();
    assert_eq!(info["source"], url.as_str());
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("tmp/rpinet/jobs/j1.json")).unwrap())
            .unwrap();
    assert_eq!(j["state"], "done");
    assert_eq!(
        j["bytes_total"],
        xz.len() as u64,
        "the size the server gave"
    );
    // the SHA-256 of the .img inside, through wget
    let out = import(
        &root,
        Some(&wget_only(&work)),
        &[&url, "--name", "by-img-sum", "--sha256", &sha256(&img)],
    );
    crate::assert_ok(&out);
    assert_eq!(images(&root), ["2025-05-13-raspios-lite", "by-img-sum"]);
}

#[test]
fn stdin_imports_with_a_name() {
    let work = scratch("dl-stdin");
    let root = work.join("root");
    router(&root);
    let f = std::fs::File::open(shared_image().join("disk.img.gz")).unwrap();
    let out = crate::rpinet_at(&root)
        .args(["image", "import", "-", "--name", "piped"])
        .stdin(f)
        .output()
        .unwrap();
    crate::assert_ok(&out);
    assert!(
        root.join("mnt/rpinet/images/piped/root/etc/os-release")
            .exists()
    );
    let out = import(&root, None, &["-"]);
    fails_with(&out, "needs --name");
}

#[test]
fn wrong_checksum_imports_nothing() {
    let work = scratch("dl-sum");
    let root = work.join("root");
    router(&root);
    let xz = std::fs::read(shared_image().join("disk.img.xz")).unwrap();
    let srv = Server::start();
    let url = srv.route("/a.img.xz", Reply::Body(xz));
    let out = import(&root, None, &[&url, "--sha256", &"0".repeat(64)]);
    fails_with(&out, "checksum mismatch: expected SHA-256 0000");
    assert!(images(&root).is_empty(), "{:?}", images(&root));
    let out = import(&root, None, &[&url, "--sha256", "abc"]);
    fails_with(&out, "is not a SHA-256");
}

#[test]
fn truncated_body_imports_nothing_with_either_client() {
    let work = scratch("dl-cut");
    let root = work.join("root");
    router(&root);
    let xz = std::fs::read(shared_image().join("disk.img.xz")).unwrap();
    let n = xz.len();
    let srv = Server::start();
    // cut near the end: the trees are complete, only the download is not
    let url = srv.route("/a.img.xz", Reply::Truncated(xz, n - 100));
    for path in [None, Some(wget_only(&work))] {
        let out = import(&root, path.as_deref(), &[&url]);
        fails_with(&out, &format!("download of {url} failed"));
        assert!(images(&root).is_empty(), "{:?}", images(&root));
    }
}

#[test]
fn not_found_names_the_http_error() {
    let work = scratch("dl-404");
    let root = work.join("root");
    router(&root);
    let srv = Server::start();
    let url = format!("{}/missing.img.xz", srv.base);
    let out = import(&root, None, &[&url]);
    fails_with(&out, "404");
    let out = import(&root, Some(&wget_only(&work)), &[&url]);
    fails_with(&out, "404");
    assert!(images(&root).is_empty());
}

#[test]
fn stalled_server_times_out() {
    let work = scratch("dl-stall");
    let root = work.join("root");
    router(&root);
    let xz = std::fs::read(shared_image().join("disk.img.xz")).unwrap();
    let srv = Server::start();
    let url = srv.route("/a.img.xz", Reply::Stall(xz, 4096));
    let t = std::time::Instant::now();
    let out = import(&root, None, &[&url, "--stall-timeout", "2", "--job", "j2"]);
    fails_with(&out, "the server sent nothing for 2 s");
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    assert!(images(&root).is_empty());
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("tmp/rpinet/jobs/j2.json")).unwrap())
            .unwrap();
    assert_eq!(j["state"], "failed");
    assert!(
        j["message"].as_str().unwrap().contains("sent nothing"),
        "{j}"
    );
}

#[test]
fn only_http_urls() {
    let work = scratch("dl-scheme");
    let root = work.join("root");
    router(&root);
    for u in ["ftp://127.0.0.1/a.img.xz", "file:///etc/passwd"] {
        let out = import(&root, None, &[u]);
        fails_with(&out, "only http:// and https:// URLs");
    }
    let out = import(&root, None, &["http://127.0.0.1/a b.img"]);
    fails_with(&out, "is not a URL");
}

#[test]
fn ubus_image_import_takes_a_url() {
    let work = scratch("dl-ubus");
    let root = work.join("root");
    router(&root);
    let xz = std::fs::read(shared_image().join("disk.img.xz")).unwrap();
    let srv = Server::start();
    let url = srv.route("/lite.img.xz", Reply::Body(xz.clone()));
    let call = |args: serde_json::Value| crate::call(&root, "image_import", &args.to_string());
    let v = call(serde_json::json!({"url": url, "sha256": sha256(&xz)}));
    let id = v["job"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let job = root.join(format!("tmp/rpinet/jobs/{id}.json"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let j: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&job).unwrap()).unwrap_or_default();
        if j["state"] == "done" {
            break;
        }
        assert!(j["state"] != "failed", "{j}");
        assert!(std::time::Instant::now() < deadline, "{j}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(images(&root), ["lite"]);
    for (args, what) in [
        (
            serde_json::json!({"url": "ftp://h/a.img"}),
            "http:// or https://",
        ),
        (serde_json::json!({}), "give 'path' or 'url'"),
        (
            serde_json::json!({"url": url, "path": "/a.img"}),
            "not both",
        ),
        (
            serde_json::json!({"url": url, "sha256": "xyz"}),
            "not a SHA-256",
        ),
    ] {
        let v = call(args);
        assert!(v["error"].as_str().unwrap_or("").contains(what), "{v}");
    }
}

#[test]
fn catalog_is_fetched_cached_and_its_image_imports() {
    let work = scratch("dl-catalog");
    let root = work.join("root");
    router(&root);
    let xz = std::fs::read(shared_image().join("disk.img.xz")).unwrap();
    let img = std::fs::read(shared_image().join("disk.img")).unwrap();
    let srv = Server::start();
    let url = srv.route("/images/raspios-lite.img.xz", Reply::Body(xz.clone()));
    let list = serde_json::json!({"os_list": [
        {"name": "Raspberry Pi OS (other)", "subitems": [
            {"name": "Raspberry Pi OS Lite (64-bit)", "description": "no desktop",
             "url": url, "release_date": "2025-05-13",
             "image_download_size": xz.len(), "image_download_sha256": sha256(&xz),
             "extract_size": img.len(), "extract_sha256": sha256(&img)}]},
        {"name": "Erase", "url": "internal://format"}
    ]});
    let cat = srv.route("/os_list.json", Reply::Body(list.to_string().into_bytes()));
    let cfg = root.join("etc/config/rpinet");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "config rpinet 'main'\n",
            &format!("config rpinet 'main'\n\toption catalog_url '{cat}'\n"),
        ),
    )
    .unwrap();
    let call = |method: &str| crate::call(&root, method, "{}");
    let v = call("image_catalog");
    let listed = v["images"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(listed.len(), 1, "{v}");
    let lite = &listed[0];
    assert_eq!(lite["name"], "Raspberry Pi OS Lite (64-bit)");
    assert_eq!(lite["size"], xz.len() as u64);
    assert_eq!(lite["extract_sha256"], sha256(&img).as_str());
    assert!(v["fetched"].as_u64().unwrap() > 0);
    // served from the cache while the server no longer has it
    srv.route("/os_list.json", Reply::Truncated(Vec::new(), 0));
    assert_eq!(call("image_catalog"), v);
    // pick it and import: the URL and checksum the catalog gave
    let out = import(
        &root,
        None,
        &[
            lite["url"].as_str().unwrap(),
            "--sha256",
            lite["sha256"].as_str().unwrap(),
        ],
    );
    crate::assert_ok(&out);
    assert_eq!(images(&root), ["raspios-lite"]);
    // a refresh from a server that no longer serves a list fails with one line
    let out = crate::rpinet_at(&root)
        .args(["image", "catalog", "--refresh"])
        .output()
        .unwrap();
    fails_with(&out, "the catalog is not JSON");
    // ubus, without a cache: the refresh it started failed, and the reply says why
    std::fs::remove_file(root.join("tmp/rpinet/catalog.json")).unwrap();
    let v = call("image_catalog");
    let e = v["error"].as_str().unwrap_or("");
    assert!(
        e.contains("could not be fetched") && e.contains("the catalog is not JSON"),
        "{v}"
    );
    // a catalog_url that is not http(s) is refused by the config
    std::fs::write(
        &cfg,
        text.replace(
            "config rpinet 'main'\n",
            "config rpinet 'main'\n\toption catalog_url 'file:///etc/shadow'\n",
        ),
    )
    .unwrap();
    let out = crate::rpinet_at(&root)
        .args(["image", "catalog"])
        .output()
        .unwrap();
    fails_with(&out, "option 'catalog_url'");
}
